// Focal loss from Go through cgo: the C header is included as it is, so the
// struct floss_options, the functions and the FLOSS_* constants come straight
// from include/floss.h (nothing re-typed). The program computes a
// multi-class focal loss from logits with its gradient, checks them against
// the formula and against finite differences, then passes a bad label and
// prints floss's error message. It exits 1 if a check fails.
//
// Build and run against an installed floss (make install PREFIX=...):
//
//	PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig LD_LIBRARY_PATH=$PREFIX/lib go run .
//
// `make test-go` does that with a staging prefix under build/.
package main

/*
#cgo pkg-config: floss
#include <stdlib.h>
#include <floss.h>
*/
import "C"

import (
	"fmt"
	"math"
	"os"
	"strings"
	"unsafe"
)

const n, c = 2, 3

// focal calls floss_focal_loss_f64 on logits; out has n values (reduction
// NONE) or 1 (SUM); grad is nil or n*c values.
func focal(logits []float64, labels []int64, gamma float64, reduction C.uint32_t, out, grad []float64) C.floss_status {
	var opts C.floss_options
	// The header's floss_options_init(opts) is a macro (cgo cannot call
	// those): call what it expands to, with the struct's size.
	if s := C.floss_options_init_sized(&opts, C.sizeof_floss_options); s != C.FLOSS_OK {
		return s
	}
	opts.input = C.FLOSS_INPUT_LOGITS
	opts.reduction = reduction
	var g *C.double
	if grad != nil {
		g = (*C.double)(unsafe.Pointer(&grad[0]))
	}
	return C.floss_focal_loss_f64(
		(*C.double)(unsafe.Pointer(&logits[0])),
		(*C.int64_t)(unsafe.Pointer(&labels[0])),
		n, c, nil, C.double(gamma), &opts,
		(*C.double)(unsafe.Pointer(&out[0])), g, nil)
}

func lastError() string {
	buf := make([]byte, 512)
	length := C.floss_last_error((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	if int(length) < len(buf) {
		return string(buf[:length])
	}
	return string(buf[:len(buf)-1])
}

func main() {
	failures := 0
	expect := func(what string, got, want, tol float64) {
		verdict := "ok"
		if math.Abs(got-want) > tol {
			verdict = "FAILED"
			failures++
		}
		fmt.Printf("  %-26s %.15g (expected %.15g) %s\n", what, got, want, verdict)
	}

	logits := []float64{2.0, 0.5, -1.0, 0.1, 0.2, 3.0}
	labels := []int64{0, 1}
	gamma := 2.0
	fmt.Printf("floss %s from Go (header %d.%d.%d)\n", C.GoString(C.floss_version()),
		C.FLOSS_VERSION_MAJOR, C.FLOSS_VERSION_MINOR, C.FLOSS_VERSION_PATCH)

	out := make([]float64, n)
	grad := make([]float64, n*c)
	if s := focal(logits, labels, gamma, C.FLOSS_REDUCTION_NONE, out, grad); s != C.FLOSS_OK {
		fmt.Println("unexpected status:", C.GoString(C.floss_status_str(s)), lastError())
		os.Exit(1)
	}
	for i := 0; i < n; i++ {
		row := logits[i*c : (i+1)*c]
		sum := 0.0
		for _, z := range row {
			sum += math.Exp(z)
		}
		p := math.Exp(row[labels[i]]) / sum
		expect(fmt.Sprintf("loss[%d] = -(1-p)^2 ln p", i), out[i], -math.Pow(1-p, gamma)*math.Log(p), 1e-13)
	}
	// The gradient of the per-row losses is the gradient of their sum.
	for k := range logits {
		h := 1e-6
		plus := append([]float64(nil), logits...)
		minus := append([]float64(nil), logits...)
		plus[k] += h
		minus[k] -= h
		fp, fm := make([]float64, 1), make([]float64, 1)
		focal(plus, labels, gamma, C.FLOSS_REDUCTION_SUM, fp, nil)
		focal(minus, labels, gamma, C.FLOSS_REDUCTION_SUM, fm, nil)
		expect(fmt.Sprintf("grad[%d] vs finite diff", k), grad[k], (fp[0]-fm[0])/(2*h), 1e-8)
	}

	bad := []int64{0, 5}
	s := focal(logits, bad, gamma, C.FLOSS_REDUCTION_NONE, out, grad)
	msg := lastError()
	fmt.Printf("  bad label: %s\n    %s\n", C.GoString(C.floss_status_str(s)), msg)
	if s != C.FLOSS_ERR_LABEL || !strings.Contains(msg, "labels[1] = 5") {
		fmt.Println("  expected FLOSS_ERR_LABEL naming labels[1] = 5: FAILED")
		failures++
	}

	if failures > 0 {
		fmt.Printf("go example: %d FAILED\n", failures)
		os.Exit(1)
	}
	fmt.Println("go example: all ok")
}

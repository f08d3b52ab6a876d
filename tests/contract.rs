//! Contract details stated in the header, through the C exports: -0.0 is
//! 0, a zero loss is +0.0, a negative alpha (-Inf included) means no
//! alpha, only the option fields a function reads are validated, and an
//! empty array accepts any pointer.

// The helpers mirror C signatures.
#![allow(clippy::too_many_arguments)]

mod common;

use common::default_options;
use floss::ffi::binary::*;
use floss::ffi::class_weights::*;
use floss::ffi::cross_entropy::*;
use floss::ffi::differential_entropy::*;
use floss::ffi::entropy::*;
use floss::ffi::focal::*;
use floss::ffi::types::*;

/// Every loss export taking predictions (f64).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fun {
    Entropy,
    CrossEntropy,
    Kl,
    Sparse,
    Balanced,
    Focal,
    BinaryCrossEntropy,
    BinaryFocal,
}

const ALL: [Fun; 8] = [
    Fun::Entropy,
    Fun::CrossEntropy,
    Fun::Kl,
    Fun::Sparse,
    Fun::Balanced,
    Fun::Focal,
    Fun::BinaryCrossEntropy,
    Fun::BinaryFocal,
];

/// Arguments of one call: n rows of c (c = 1 for the binary functions).
#[derive(Clone, Copy)]
struct Args {
    pred: *const f64,
    target: *const f64,
    labels: *const i64,
    n: usize,
    c: usize,
    opts: *const floss_options,
    out: *mut f64,
    grad: *mut f64,
    hess: *mut f64,
}

/// # Safety
/// The pointers are valid for the sizes `a` gives, or those sizes are 0.
unsafe fn call(fun: Fun, a: Args) -> floss_status {
    let none = core::ptr::null();
    unsafe {
        match fun {
            Fun::Entropy => floss_entropy_f64(a.pred, a.n, a.c, a.opts, a.out, a.grad, a.hess),
            Fun::CrossEntropy => {
                floss_cross_entropy_f64(a.pred, a.target, a.n, a.c, a.opts, a.out, a.grad, a.hess)
            }
            Fun::Kl => {
                floss_kl_divergence_f64(a.pred, a.target, a.n, a.c, a.opts, a.out, a.grad, a.hess)
            }
            Fun::Sparse => floss_sparse_cross_entropy_f64(
                a.pred, a.labels, a.n, a.c, none, a.opts, a.out, a.grad, a.hess,
            ),
            Fun::Balanced => floss_balanced_cross_entropy_f64(
                a.pred, a.labels, a.n, a.c, none, a.opts, a.out, a.grad, a.hess,
            ),
            Fun::Focal => floss_focal_loss_f64(
                a.pred, a.labels, a.n, a.c, none, 0.5, a.opts, a.out, a.grad, a.hess,
            ),
            Fun::BinaryCrossEntropy => floss_binary_cross_entropy_f64(
                a.pred, a.target, a.n, 2.0, a.opts, a.out, a.grad, a.hess,
            ),
            Fun::BinaryFocal => floss_binary_focal_loss_f64(
                a.pred, a.target, a.n, 0.25, 0.5, a.opts, a.out, a.grad, a.hess,
            ),
        }
    }
}

fn binary(fun: Fun) -> bool {
    matches!(fun, Fun::BinaryCrossEntropy | Fun::BinaryFocal)
}

/// Status and the bits of out, grad and hess of `fun` on rows of
/// `pred` (probabilities unless `opts` says logits) with dense `target`
/// rows and `labels`.
fn run(
    fun: Fun,
    pred: &[f64],
    target: &[f64],
    labels: &[i64],
    opts: &floss_options,
) -> (floss_status, Vec<u64>) {
    let n = labels.len();
    let c = if binary(fun) { 1 } else { pred.len() / n };
    let n = if binary(fun) { pred.len() } else { n };
    let out_len = if opts.reduction == FLOSS_REDUCTION_NONE {
        n
    } else {
        1
    };
    let mut out = vec![f64::NAN; out_len];
    let (mut grad, mut hess) = (vec![f64::NAN; pred.len()], vec![f64::NAN; pred.len()]);
    let args = Args {
        pred: pred.as_ptr(),
        target: target.as_ptr(),
        labels: labels.as_ptr(),
        n,
        c,
        opts,
        out: out.as_mut_ptr(),
        grad: grad.as_mut_ptr(),
        hess: hess.as_mut_ptr(),
    };
    // SAFETY: every array is as long as `args` says.
    let status = unsafe { call(fun, args) };
    let bits = out
        .iter()
        .chain(&grad)
        .chain(&hess)
        .map(|v| v.to_bits())
        .collect();
    (status, bits)
}

fn opts(input: u32, reduction: u32) -> floss_options {
    let mut o = default_options();
    o.input = input;
    o.reduction = reduction;
    o
}

#[test]
fn negative_zero_is_zero_in_predictions_and_targets() {
    // Rows of 3 classes (binary: 6 elements), one entry +0.0 or -0.0.
    let pred = |z: f64| vec![z, 0.4, 0.6, 0.5, 0.5, z];
    let target = |z: f64| vec![z, 0.5, 0.5, 1.0, z, 0.0];
    let labels = [1, 0];
    for reduction in [FLOSS_REDUCTION_NONE, FLOSS_REDUCTION_SUM] {
        let o = opts(FLOSS_INPUT_PROBS, reduction);
        for fun in ALL {
            let positive = run(fun, &pred(0.0), &target(0.0), &labels, &o);
            assert_eq!(positive.0, FLOSS_OK, "{fun:?}");
            let negative = run(fun, &pred(-0.0), &target(-0.0), &labels, &o);
            assert_eq!(negative, positive, "{fun:?} reduction {reduction}");
        }
    }
    // The entropy Hessian -1/p is -Inf at both zeros.
    let mut hess = [0.0f32; 2];
    let mut out = [0.0f32];
    let o = opts(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_SUM);
    for z in [0.0f32, -0.0] {
        let pred = [z, 1.0];
        // SAFETY: 1 x 2 probabilities, 1 output, 2 Hessian entries.
        let status = unsafe {
            floss_entropy_f32(
                pred.as_ptr(),
                1,
                2,
                &o,
                out.as_mut_ptr(),
                core::ptr::null_mut(),
                hess.as_mut_ptr(),
            )
        };
        assert_eq!(status, FLOSS_OK);
        assert_eq!(hess[0], f32::NEG_INFINITY, "p = {z}");
    }
}

#[test]
fn a_zero_loss_is_positive_zero() {
    let zero = 0.0f64.to_bits();
    for reduction in [
        FLOSS_REDUCTION_NONE,
        FLOSS_REDUCTION_SUM,
        FLOSS_REDUCTION_MEAN,
    ] {
        for log_base in [0.0, 0.5, 2.0] {
            // A -Inf logit with target 0 (it gave -0.0), and a certain
            // prediction of its target.
            let mut o = opts(FLOSS_INPUT_LOGITS, reduction);
            o.log_base = log_base;
            for fun in [Fun::BinaryCrossEntropy, Fun::BinaryFocal] {
                let (status, bits) = run(fun, &[f64::NEG_INFINITY], &[0.0], &[0], &o);
                assert_eq!(
                    (status, bits[0]),
                    (FLOSS_OK, zero),
                    "{fun:?} {reduction} {log_base}"
                );
            }
            o.input = FLOSS_INPUT_PROBS;
            for fun in ALL {
                let (pred, target) = if binary(fun) {
                    (vec![1.0], vec![1.0])
                } else {
                    (vec![1.0, 0.0], vec![1.0, 0.0])
                };
                let (status, bits) = run(fun, &pred, &target, &[0], &o);
                assert_eq!(
                    (status, bits[0]),
                    (FLOSS_OK, zero),
                    "{fun:?} {reduction} {log_base}"
                );
            }
        }
    }
}

#[test]
fn every_negative_alpha_means_no_alpha() {
    let o = opts(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_NONE);
    let (pred, target) = ([-3.0, 0.5, 2.0], [1.0, 0.3, 0.0]);
    let call = |alpha: f64| {
        let (mut out, mut grad, mut hess) = ([0.0; 3], [0.0; 3], [0.0; 3]);
        // SAFETY: 3 elements everywhere.
        let status = unsafe {
            floss_binary_focal_loss_f64(
                pred.as_ptr(),
                target.as_ptr(),
                3,
                alpha,
                2.0,
                &o,
                out.as_mut_ptr(),
                grad.as_mut_ptr(),
                hess.as_mut_ptr(),
            )
        };
        (status, out, grad, hess)
    };
    let no_alpha = call(-1.0);
    assert_eq!(no_alpha.0, FLOSS_OK);
    for alpha in [-f64::MIN_POSITIVE, -1e300, -f64::MAX, f64::NEG_INFINITY] {
        assert_eq!(call(alpha), no_alpha, "alpha = {alpha}");
    }
    for alpha in [f64::NAN, 1.5, f64::INFINITY] {
        assert_eq!(call(alpha).0, FLOSS_ERR_ARGUMENT, "alpha = {alpha}");
    }
}

#[test]
fn only_the_option_fields_a_function_reads_are_validated() {
    let pred = [0.2, 0.8, 0.5, 0.5];
    let target = [0.0, 1.0, 0.5, 0.5];
    let labels = [1, 0];
    let base = opts(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE);
    // label_smoothing: read by every loss but entropy.
    let mut smoothing = base;
    smoothing.label_smoothing = f64::NAN;
    for fun in ALL {
        let (status, bits) = run(fun, &pred, &target, &labels, &smoothing);
        if fun == Fun::Entropy {
            assert_eq!((status, bits), run(fun, &pred, &target, &labels, &base));
        } else {
            assert_eq!(status, FLOSS_ERR_ARGUMENT, "{fun:?}");
        }
    }
    // input, reduction, label_smoothing, hessian: read by every loss, by
    // neither differential-entropy function.
    type Edit = (&'static str, fn(&mut floss_options));
    let edits: [Edit; 5] = [
        ("input", |o| o.input = 7),
        ("reduction", |o| o.reduction = 9),
        ("label_smoothing", |o| o.label_smoothing = -1.0),
        ("hessian", |o| o.hessian = 99),
        ("hessian_floor", |o| {
            o.hessian = FLOSS_HESSIAN_FLOOR;
            o.hessian_floor = f64::NAN;
        }),
    ];
    let samples = [0.5, 1.5, -2.0, 3.25, 0.0, 7.0];
    let density = [0.1, 0.4, 0.3, 0.2];
    let estimates = |o: &floss_options| {
        let (mut a, mut b) = (f64::NAN, f64::NAN);
        // SAFETY: 6 samples and 4 density values; one output each.
        let status = unsafe {
            (
                floss_differential_entropy_f64(
                    samples.as_ptr(),
                    6,
                    FLOSS_DIFFERENTIAL_ENTROPY_CORREA,
                    1,
                    o,
                    &mut a,
                ),
                floss_differential_entropy_density_f64(density.as_ptr(), 4, 0.5, o, &mut b),
            )
        };
        (status, a.to_bits(), b.to_bits())
    };
    let want = estimates(&base);
    assert_eq!((want.0 .0, want.0 .1), (FLOSS_OK, FLOSS_OK));
    for (field, edit) in edits {
        let mut o = base;
        edit(&mut o);
        assert_eq!(
            estimates(&o),
            want,
            "differential entropy with a bad {field}"
        );
        for fun in ALL {
            let (status, _) = run(fun, &pred, &target, &labels, &o);
            let read = field != "label_smoothing" || fun != Fun::Entropy;
            if read {
                assert_eq!(status, FLOSS_ERR_ARGUMENT, "{fun:?} with a bad {field}");
            }
        }
    }
    // log_base and size are always read.
    let mut o = base;
    o.log_base = 1.0;
    assert_eq!(estimates(&o).0, (FLOSS_ERR_ARGUMENT, FLOSS_ERR_ARGUMENT));
    o = base;
    o.size = 12;
    assert_eq!(estimates(&o).0, (FLOSS_ERR_ARGUMENT, FLOSS_ERR_ARGUMENT));
}

#[test]
fn an_empty_array_accepts_any_pointer() {
    let mut word = [0u64; 4];
    let odd = word.as_mut_ptr().cast::<u8>().wrapping_add(1);
    let o = opts(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE);
    for fun in ALL {
        let args = Args {
            pred: odd.cast(),
            target: odd.cast(),
            labels: odd.cast(),
            n: 0,
            c: if binary(fun) { 1 } else { 3 },
            opts: &o,
            out: odd.cast(),
            grad: odd.cast(),
            hess: odd.cast(),
        };
        // SAFETY: n = 0: no array is read or written.
        assert_eq!(unsafe { call(fun, args) }, FLOSS_OK, "{fun:?}");
    }
    let mut weights = [0.0f64; 2];
    // SAFETY: no label; two weights written.
    let status = unsafe {
        floss_class_weights_f64(
            odd.cast(),
            0,
            2,
            FLOSS_WEIGHTS_INVERSE_FREQUENCY,
            0.0,
            FLOSS_NO_IGNORE,
            weights.as_mut_ptr(),
        )
    };
    assert_eq!(status, FLOSS_OK);
    // A non-empty array still must be aligned.
    let pred = [0.5f64; 2];
    let args = Args {
        pred: pred.as_ptr(),
        target: pred.as_ptr(),
        labels: core::ptr::null(),
        n: 2,
        c: 1,
        opts: &o,
        out: odd.cast(),
        grad: core::ptr::null_mut(),
        hess: core::ptr::null_mut(),
    };
    // SAFETY: refused before `out` is touched.
    assert_eq!(
        unsafe { call(Fun::BinaryCrossEntropy, args) },
        FLOSS_ERR_ALIGNMENT
    );
}

#!/usr/bin/env python3
"""Speed of floss (through its Python binding) against PyTorch, in one process.

    make bench                       # builds the library, then runs this
    python3 bench/bench.py [--reps 9] [--output bench/results.md]

Needs numpy and torch (`pip install torch`; torchvision is used for the binary
focal loss when installed). Not part of the tests or CI.

Each workload computes a mean loss and its gradient with respect to the logits:
floss in one call (value + gradient), PyTorch with autograd (forward +
backward), and PyTorch forward only (under no_grad). Both get the same
arrays (torch.from_numpy shares the memory) and their results are checked to
agree before anything is timed. Timings are the median of --reps runs after
warm-up, with time.perf_counter. floss runs single-threaded; PyTorch with
torch.set_num_threads(1), and again with its default thread count.
"""

import argparse
import datetime
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
if "FLOSS_LIBRARY" not in os.environ:
    lib = os.path.join(ROOT, "target", "release", "libfloss.so")
    if os.path.exists(lib):
        os.environ["FLOSS_LIBRARY"] = lib

import numpy as np  # noqa: E402

import floss  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("bench.py needs PyTorch: pip install torch "
             "(CPU wheels: --index-url https://download.pytorch.org/whl/cpu)")
try:
    import torchvision
    from torchvision.ops import sigmoid_focal_loss as tv_sigmoid_focal_loss
except Exception:  # absent, or not matching the torch build
    torchvision = tv_sigmoid_focal_loss = None

GAMMA = 2.0
ALPHA = 0.25


# ------------------------------------------------------------ workloads --
# Each returns (floss_call, torch_loss, torch_input, floss_has_grad):
# floss_call() -> (value, grad or None); torch_loss(x) -> scalar tensor.

def sparse_ce(n, c, dtype, rng):
    x = rng.standard_normal((n, c)).astype(dtype)
    y = rng.integers(0, c, n)
    yt = torch.from_numpy(y)
    return (lambda: floss.sparse_cross_entropy(x, y, logits=True, grad=True)[:2],
            lambda t: F.cross_entropy(t, yt), x, True)


def focal(n, c, dtype, rng):
    x = rng.standard_normal((n, c)).astype(dtype)
    y = rng.integers(0, c, n)
    yt = torch.from_numpy(y)

    def torch_focal(t):
        logpt = F.log_softmax(t, dim=1).gather(1, yt[:, None]).squeeze(1)
        return (-(1 - logpt.exp()) ** GAMMA * logpt).mean()

    return (lambda: floss.focal_loss(x, y, logits=True, gamma=GAMMA, grad=True)[:2],
            torch_focal, x, True)


def entropy(n, c, dtype, rng):
    x = rng.standard_normal((n, c)).astype(dtype)

    def torch_entropy(t):
        logp = F.log_softmax(t, dim=1)
        return -(logp.exp() * logp).sum(1).mean()

    return (lambda: floss.entropy(x, logits=True, grad=True)[:2], torch_entropy, x, True)


def binary_focal(n, dtype, rng):
    x = (2 * rng.standard_normal(n)).astype(dtype)
    t = (rng.random(n) < 0.1).astype(dtype)
    tt = torch.from_numpy(t)
    if tv_sigmoid_focal_loss is not None:
        def torch_bfl(z):
            return tv_sigmoid_focal_loss(z, tt, alpha=ALPHA, gamma=GAMMA, reduction="mean")
    else:  # torchvision's formula, written out
        def torch_bfl(z):
            p = torch.sigmoid(z)
            ce = F.binary_cross_entropy_with_logits(z, tt, reduction="none")
            p_t = p * tt + (1 - p) * (1 - tt)
            a_t = ALPHA * tt + (1 - ALPHA) * (1 - tt)
            return (a_t * ce * (1 - p_t) ** GAMMA).mean()
    return (lambda: floss.binary_focal_loss(x, t, alpha=ALPHA, gamma=GAMMA, logits=True,
                                            grad=True)[:2], torch_bfl, x, True)


def differential_entropy(n, dtype, rng):
    x = rng.standard_normal(n).astype(dtype)
    m = int(np.floor(np.sqrt(n) + 0.5))

    def torch_vasicek(t):  # SciPy's Vasicek estimator
        s = torch.sort(t).values
        padded = torch.cat([s[:1].expand(m), s, s[-1:].expand(m)])
        return torch.log(n / (2 * m) * (padded[2 * m:] - padded[:-2 * m])).mean()

    return (lambda: (floss.differential_entropy(x, "vasicek"), None), torch_vasicek, x, False)


WORKLOADS = [
    # (label, floss function needed, builder)
    ("sparse CE, logits, 65536 x 10", "sparse_cross_entropy", lambda d, r: sparse_ce(65536, 10, d, r)),
    ("sparse CE, logits, 4096 x 1000", "sparse_cross_entropy", lambda d, r: sparse_ce(4096, 1000, d, r)),
    ("focal, logits, gamma 2, 65536 x 10", "focal_loss", lambda d, r: focal(65536, 10, d, r)),
    ("focal, logits, gamma 2, 4096 x 1000", "focal_loss", lambda d, r: focal(4096, 1000, d, r)),
    ("binary focal, logits, n = 1e6", "binary_focal_loss", lambda d, r: binary_focal(10 ** 6, d, r)),
    ("entropy, logits, 65536 x 10", "entropy", lambda d, r: entropy(65536, 10, d, r)),
    ("entropy, logits, 4096 x 1000", "entropy", lambda d, r: entropy(4096, 1000, d, r)),
    ("differential entropy (Vasicek), n = 1e5, value only", "differential_entropy",
     lambda d, r: differential_entropy(10 ** 5, d, r)),
]


# --------------------------------------------------------------- timing --

def median_ms(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def torch_runner(loss, x, backward):
    t = torch.from_numpy(x)
    if not backward:
        def forward():
            with torch.no_grad():
                return loss(t)
        return forward
    t.requires_grad_(True)

    def step():
        t.grad = None
        value = loss(t)
        value.backward()
        return value, t.grad
    return step


def check_agreement(label, dtype, floss_call, loss, x, has_grad):
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    value, grad = floss_call()
    if has_grad:
        tv, tg = torch_runner(loss, x, True)()
        tg = tg.numpy()
        scale = float(np.abs(tg).max())
        if not np.allclose(grad, tg, rtol=rtol, atol=rtol * scale):
            raise AssertionError("%s %s: gradients differ (max |diff| %g, max |grad| %g)"
                                 % (label, dtype.__name__, np.abs(grad - tg).max(), scale))
    else:
        tv = torch_runner(loss, x, False)()
    tv = float(tv)
    if not abs(value - tv) <= rtol * max(1.0, abs(tv)):
        raise AssertionError("%s %s: floss %r, torch %r" % (label, dtype.__name__, value, tv))


def machine():
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "%s, %d logical cores (os.cpu_count), %s" % (model, os.cpu_count(), platform.platform())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=9, help="timed repetitions (>= 7 advised)")
    ap.add_argument("--output", default=os.path.join(HERE, "results.md"),
                    help="markdown file to write ('' = print only)")
    args = ap.parse_args()

    load_before = os.getloadavg()
    default_threads = torch.get_num_threads()
    floss.set_num_threads(1)
    rng = np.random.default_rng(20240607)
    rows = []
    skipped = []
    for label, needed, build in WORKLOADS:
        if not floss.has_function(needed):
            skipped.append("%s: this libfloss lacks floss_%s" % (label, needed))
            continue
        for dtype in (np.float32, np.float64):
            floss_call, loss, x, has_grad = build(dtype, rng)
            torch.set_num_threads(1)
            check_agreement(label, dtype, floss_call, loss, x, has_grad)
            t_floss = median_ms(floss_call, args.reps)
            t_fwd = median_ms(torch_runner(loss, x, False), args.reps)
            t_step = median_ms(torch_runner(loss, x, True), args.reps) if has_grad else None
            torch.set_num_threads(default_threads)
            t_multi = median_ms(torch_runner(loss, x, has_grad), args.reps)
            torch.set_num_threads(1)
            floss.set_num_threads(default_threads)
            t_floss_multi = median_ms(floss_call, args.reps)
            floss.set_num_threads(1)
            rows.append((label, dtype.__name__, t_floss, t_step, t_fwd, t_multi, t_floss_multi, has_grad))
            print("  %-55s %-7s done" % (label, dtype.__name__), file=sys.stderr, flush=True)

    def ms(v):
        return "—" if v is None else "%.3f" % v

    def ratio(a, b):
        return "—" if a is None else "%.2f" % (a / b)

    head = ("| workload | dtype | floss ms (value + grad, 1 thread) | torch ms (fwd + bwd, 1 thread) "
            "| ratio torch/floss | torch ms (fwd only, 1 thread) | ratio fwd-only/floss "
            "| floss ms (%d threads) | torch ms (%s, %d threads) | ratio |"
            % (default_threads, "fwd + bwd", default_threads))
    lines = [head, "|" + "---|" * 10]
    for label, dt, tf, ts, tw, tm, tfm, has_grad in rows:
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, dt, ms(tf), ms(ts), ratio(ts, tf), ms(tw), ratio(tw, tf),
            ms(tfm), ms(tm), ratio(tm, tfm)))
    table = "\n".join(lines)
    command = " ".join(shlex.quote(a) for a in [os.path.basename(sys.executable)] + sys.argv)
    notes = [
        "Differential entropy: floss computes the value only; its torch columns are forward "
        "only (sort + spacings, SciPy's Vasicek estimator), the last one with %d threads."
        % default_threads,
    ] + ["Skipped %s." % s for s in skipped]
    versions = ("floss %s (%s), Python %s, numpy %s, torch %s, torchvision %s"
                % (floss.version(), os.path.relpath(floss.library_path, ROOT), platform.python_version(),
                   np.__version__, torch.__version__,
                   torchvision.__version__ if torchvision else "not installed (formula in torch)"))
    report = "\n".join([
        "# floss vs PyTorch",
        "",
        "- Date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "- Machine: %s" % machine(),
        "- Versions: %s" % versions,
        "- Command: `%s` (from the repository root; `make bench` runs the same)" % command,
        "- Load average (1, 5, 15 min) at start %s, at end %s: other processes share the "
        "cores, so compare ratios within a row rather than absolute times" % (
            "/".join("%.1f" % v for v in load_before),
            "/".join("%.1f" % v for v in os.getloadavg())),
        "- Threads: floss_set_num_threads(1) and torch.set_num_threads(1) for the 1-thread "
        "columns; both set to torch's default, %d, for the last three (floss uses threads for "
        "the multi-class functions only)" % default_threads,
        "- Timing: median of %d runs after 2 warm-up runs, time.perf_counter, one process; "
        "floss and torch results checked to agree first (f32 rtol 1e-4, f64 rtol 1e-9). "
        "Mean reduction; the gradient is with respect to the logits. floss's time includes "
        "the Python binding and allocating its outputs." % args.reps,
        "",
        table,
        "",
    ] + ["- " + n for n in notes] + [""])
    print(report)
    if args.output:
        with open(args.output, "w") as f:
            f.write(report)
        print("written to %s" % os.path.relpath(args.output), file=sys.stderr)


if __name__ == "__main__":
    main()

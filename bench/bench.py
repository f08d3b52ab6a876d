#!/usr/bin/env python3
"""floss against PyTorch, kornia and torchvision: issue 7's target table.

    make bench                      # builds the library, sets the malloc variables, runs this
    python3 bench/bench.py [--reps 15] [--output bench/results.md] [--plot bench/ns_per_element.png]

Needs numpy, torch, torchvision, kornia and matplotlib (`pip install numpy
torch torchvision kornia matplotlib`; CPU wheels: `--index-url
https://download.pytorch.org/whl/cpu`). Not part of the tests or CI.

How it measures. f32 (and f64 for the f64 ratios), one thread each
(floss_set_num_threads(1), torch.set_num_threads(1)), ns per element of the
prediction array. The floss instruction-set level is fixed per process
(FLOSS_SIMD, read once), so the script runs one worker process per level the
CPU supports; each worker times floss and the anchor (PyTorch, kornia,
torchvision) side by side, interleaved (floss, anchor, floss, anchor, ...),
and reports the median of the calling thread's CPU time
(time.thread_time_ns) over --reps runs after warm-up. Ratios are taken
within one worker (one process), so that the load of a shared machine
affects both sides alike. floss's time includes the Python binding and
allocating its outputs. Before timing, floss and the anchor are checked to
agree. The parent process then measures the f32 accuracy figure and the
ns/element plot (at the default level).
"""

import argparse
import datetime
import json
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

PIP = "pip install numpy torch torchvision kornia matplotlib"
try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    import kornia
    import torchvision
    from torchvision.ops import sigmoid_focal_loss
except ImportError as e:
    sys.exit("bench.py needs numpy, torch, torchvision, kornia, matplotlib (%s): %s" % (e, PIP))

import floss  # noqa: E402

GAMMA = 2.0
ALPHA = 0.25
LEVELS = ("avx512", "avx2", "baseline")


# ------------------------------------------------------------ workloads --
# Each builder returns (floss_call, anchor_call, anchor_name, check, reused)
# for a dtype; check() raises if floss and the anchor disagree; reused is
# floss_call writing its gradient (and Hessian) into arrays allocated once
# (grad=array), or None where floss_call has no array output that large.

def _close(a, b, dtype, what):
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(1e-30, float(np.abs(b).max()))
    if not np.allclose(a, b, rtol=rtol, atol=rtol * scale):
        raise AssertionError("%s: floss and anchor differ (max |diff| %g)"
                             % (what, float(np.abs(a - b).max())))


def _torch_step(loss, t, backward):
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


def sparse_ce(n, c, grad):
    def build(dtype, rng):
        x = rng.normal(0.0, 4.0, (n, c)).astype(dtype)
        y = rng.integers(0, c, n)
        yt, t = torch.from_numpy(y), torch.from_numpy(x.copy())
        loss = (lambda z: F.cross_entropy(z, yt))
        f = (lambda: floss.sparse_cross_entropy(x, y, logits=True, grad=True)) if grad else \
            (lambda: floss.sparse_cross_entropy(x, y, logits=True))
        grad_buf = np.empty_like(x) if grad else None
        reused = (lambda: floss.sparse_cross_entropy(x, y, logits=True, grad=grad_buf)) \
            if grad else None
        anchor = _torch_step(loss, t, grad)

        def check():
            if grad:
                v, g, _ = f()
                tv, tg = anchor()
                _close(g, tg.numpy(), dtype, "sparse CE grad")
            else:
                v, tv = f(), anchor()
            _close(v, float(tv.detach()), dtype, "sparse CE")
        return f, anchor, "PyTorch F.cross_entropy" + (" fwd+bwd" if grad else ""), check, reused
    return build


def focal(n, c):
    def build(dtype, rng):
        x = rng.normal(0.0, 4.0, (n, c)).astype(dtype)
        y = rng.integers(0, c, n)
        yt, t = torch.from_numpy(y), torch.from_numpy(x.copy())
        # kornia's "mean" averages over n x c entries: its sum / n is floss's mean.
        loss = (lambda z: kornia.losses.focal_loss(z, yt, alpha=None, gamma=GAMMA,
                                                   reduction="sum") / n)
        f = (lambda: floss.focal_loss(x, y, logits=True, gamma=GAMMA, grad=True))
        grad_buf = np.empty_like(x)
        reused = (lambda: floss.focal_loss(x, y, logits=True, gamma=GAMMA, grad=grad_buf))
        anchor = _torch_step(loss, t, True)

        def check():
            v, g, _ = f()
            tv, tg = anchor()
            _close(v, float(tv.detach()), dtype, "focal")
            _close(g, tg.numpy(), dtype, "focal grad")
        return f, anchor, "kornia focal_loss fwd+bwd", check, reused
    return build


def entropy_rows(n, c):
    def build(dtype, rng):
        x = rng.normal(0.0, 4.0, (n, c)).astype(dtype)
        t = torch.from_numpy(x.copy())
        f = (lambda: floss.entropy(x, logits=True, reduction="none"))

        def anchor():
            with torch.no_grad():
                return torch.special.entr(F.softmax(t, dim=1)).sum(1)

        def check():
            _close(f(), anchor().numpy(), dtype, "entropy rows")
        return f, anchor, "torch.special.entr(softmax).sum", check, None
    return build


def binary_focal(n):
    def build(dtype, rng):
        x = (2 * rng.standard_normal(n)).astype(dtype)
        tgt = (rng.random(n) < 0.1).astype(dtype)
        tt, t = torch.from_numpy(tgt), torch.from_numpy(x.copy())
        loss = (lambda z: sigmoid_focal_loss(z, tt, alpha=ALPHA, gamma=GAMMA, reduction="mean"))
        f = (lambda: floss.binary_focal_loss(x, tgt, alpha=ALPHA, gamma=GAMMA, logits=True,
                                             grad=True, hess=True))
        grad_buf, hess_buf = np.empty_like(x), np.empty_like(x)
        reused = (lambda: floss.binary_focal_loss(x, tgt, alpha=ALPHA, gamma=GAMMA, logits=True,
                                                  grad=grad_buf, hess=hess_buf))
        anchor = _torch_step(loss, t, True)

        def check():
            v, g, _ = f()
            tv, tg = anchor()
            _close(v, float(tv.detach()), dtype, "binary focal")
            _close(g, tg.numpy(), dtype, "binary focal grad")
        return f, anchor, "torchvision sigmoid_focal_loss fwd+bwd", check, reused
    return build


# (label, elements, builder, goal in ns/element)
WORKLOADS = [
    ("sparse CE forward, LOGITS, 4096x1000", 4096 * 1000, sparse_ce(4096, 1000, False), 0.30),
    ("sparse CE forward, 256x32000", 256 * 32000, sparse_ce(256, 32000, False), 0.30),
    ("sparse CE forward+grad, 4096x1000", 4096 * 1000, sparse_ce(4096, 1000, True), 0.40),
    ("sparse CE forward, 65536x10", 65536 * 10, sparse_ce(65536, 10, False), 0.7),
    ("sparse CE forward+grad, 65536x10", 65536 * 10, sparse_ce(65536, 10, True), 0.8),
    ("focal forward+grad, gamma 2, 4096x1000", 4096 * 1000, focal(4096, 1000), 0.6),
    ("entropy rows from logits, 4096x1000", 4096 * 1000, entropy_rows(4096, 1000), 0.45),
    ("binary focal forward+grad+hess, 4M", 4 * 2 ** 20, binary_focal(4 * 2 ** 20), 1.0),
]


# --------------------------------------------------------------- timing --

def interleaved(calls, reps, warmup=2, clock=time.thread_time_ns):
    """Median time (ns) of each call, the calls run in turn reps times."""
    for _ in range(warmup):
        for c in calls:
            c()
    times = [[] for _ in calls]
    for _ in range(reps):
        for k, c in enumerate(calls):
            t0 = clock()
            c()
            times[k].append(clock() - t0)
    return [statistics.median(t) for t in times]


def worker(reps):
    """Times every workload at this process's level; prints JSON."""
    floss.set_num_threads(1)
    torch.set_num_threads(1)
    rng = np.random.default_rng(7)
    result = {"level": floss.simd_level(), "rows": {}, "threads": {}}
    for label, elements, build, _ in WORKLOADS:
        row = {}
        for dtype in (np.float32, np.float64):
            f, anchor, anchor_name, check, reused = build(dtype, rng)
            check()
            if reused is None:
                tf, ta = interleaved([f, anchor], reps)
                tr = tf
            else:
                if not np.array_equal(reused()[1], f()[1]):
                    raise AssertionError("%s: grad=array and grad=True differ" % label)
                tf, ta, tr = interleaved([f, anchor, reused], reps)
            row[dtype.__name__] = {"floss": tf / elements, "anchor": ta / elements,
                                   "reused": tr / elements}
            row["anchor_name"] = anchor_name
            if dtype == np.float32 and label in ("sparse CE forward+grad, 4096x1000",
                                                 "binary focal forward+grad+hess, 4M"):
                def with_threads(k):
                    def call():
                        floss.set_num_threads(k)
                        f()
                        floss.set_num_threads(1)
                    return call
                # Wall time: the second thread's work is not the caller's CPU time.
                t1, t2 = interleaved([with_threads(1), with_threads(2)], reps,
                                     clock=time.perf_counter_ns)
                result["threads"][label] = {"1": t1 / elements, "2": t2 / elements}
        result["rows"][label] = row
        print("  [%s] %s done" % (result["level"], label), file=sys.stderr, flush=True)
    print(json.dumps(result))


def run_worker(level, reps):
    env = dict(os.environ, FLOSS_SIMD=level)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", "--reps", str(reps)],
                         env=env, capture_output=True, text=True)
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        raise SystemExit("the worker at FLOSS_SIMD=%s failed" % level)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------- accuracy --

def accuracy():
    """Max per-row relative error of f32 sparse CE, 2048x1000 logits
    N(0, 10^2), against an f64 reference on the same rounded inputs (f64 is
    ~1e-16 relative here, far below the f32 errors measured); floss and
    PyTorch."""
    rng = np.random.default_rng(11)
    x = rng.normal(0.0, 10.0, (2048, 1000)).astype(np.float32)
    y = rng.integers(0, 1000, 2048)
    z = x.astype(np.float64)
    m = z.max(axis=1)
    # Row sums of exps in f64, pairwise (numpy's sum): exact to ~1e-16.
    ref = m + np.log(np.exp(z - m[:, None]).sum(axis=1)) - z[np.arange(2048), y]
    got = floss.sparse_cross_entropy(x, y, logits=True, reduction="none").astype(np.float64)
    with torch.no_grad():
        tor = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(y), reduction="none").numpy()
    rel = lambda v: float(np.max(np.abs(v - ref) / np.abs(ref)))
    return rel(got), rel(tor.astype(np.float64))


# ----------------------------------------------------------------- plot --

PLOT_CS = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000, 4000, 8000, 16000, 32000]


def plot(path, reps):
    floss.set_num_threads(1)
    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    fl, to = [], []
    for c in PLOT_CS:
        n = max(1, 2 ** 21 // c)
        x = rng.normal(0.0, 4.0, (n, c)).astype(np.float32)
        y = rng.integers(0, c, n)
        t, yt = torch.from_numpy(x.copy()), torch.from_numpy(y)

        def anchor():
            with torch.no_grad():
                return F.cross_entropy(t, yt)
        a, b = interleaved([lambda: floss.sparse_cross_entropy(x, y, logits=True), anchor], reps)
        fl.append(a / (n * c))
        to.append(b / (n * c))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(PLOT_CS, fl, "o-", label="floss (%s)" % floss.simd_level())
    ax.loglog(PLOT_CS, to, "s-", label="PyTorch F.cross_entropy")
    ax.set_xlabel("classes c (n x c ~ 2^21 logits)")
    ax.set_ylabel("ns per element (f32, 1 thread, CPU time)")
    ax.set_title("Sparse cross-entropy forward, from logits")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return list(zip(PLOT_CS, fl, to))


# ----------------------------------------------------------------- main --

def machine():
    model, flags = platform.machine(), ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == platform.machine():
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    have = set(line.split(":", 1)[1].split())
                    flags = " ".join(x for x in ("sse2", "avx2", "fma", "avx512f", "avx512bw",
                                                 "avx512vl", "avx512dq") if x in have)
    except OSError:
        pass
    return "%s, %d logical cores, %s; ISA flags: %s" % (model, os.cpu_count(),
                                                       platform.platform(), flags)


def supported_levels():
    levels = []
    for level in LEVELS:
        out = subprocess.run([sys.executable, "-c", "import floss; print(floss.simd_level())"],
                             env=dict(os.environ, FLOSS_SIMD=level,
                                      PYTHONPATH=os.path.join(ROOT, "python")),
                             capture_output=True, text=True)
        if out.stdout.strip() == level:
            levels.append(level)
    return levels


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=15, help="timed repetitions per call")
    ap.add_argument("--output", default=os.path.join(HERE, "results.md"),
                    help="markdown file to write ('' = print only)")
    ap.add_argument("--plot", default=os.path.join(HERE, "ns_per_element.png"),
                    help="PNG of ns/element against c ('' = none)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.reps)

    start = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    levels = supported_levels()
    print("levels: %s" % " ".join(levels), file=sys.stderr)
    results = {level: run_worker(level, args.reps) for level in levels}
    best = results[levels[0]]
    err_floss, err_torch = accuracy()
    curve = plot(args.plot, max(5, args.reps // 2)) if args.plot else []

    def f(v):
        return "%.3f" % v if v >= 0.1 else "%.4f" % v

    cols = " | ".join("floss %s" % level for level in levels)
    lines = ["| workload (f32, 1 thread, ns/element) | goal | %s | anchor | anchor ns/el | "
             "anchor / floss %s | avx2 / avx512 | f64 / f32 (floss %s) | f64 / f32, outputs reused |"
             % (cols, levels[0], levels[0]),
             "|---|---|" + "---|" * len(levels) + "---|---|---|---|---|---|"]
    for label, _, _, goal in WORKLOADS:
        row = best["rows"][label]
        ns = [results[level]["rows"][label]["float32"]["floss"] for level in levels]
        a = row["float32"]["anchor"]
        avx = ("%.2f" % (results["avx2"]["rows"][label]["float32"]["floss"]
                         / results["avx512"]["rows"][label]["float32"]["floss"])
               if "avx2" in results and "avx512" in results else "—")
        lines.append("| %s | <= %s | %s | %s | %s | %.2f | %s | %.2f | %.2f |" % (
            label, goal, " | ".join(f(v) for v in ns), row["anchor_name"], f(a),
            a / ns[0], avx, row["float64"]["floss"] / row["float32"]["floss"],
            row["float64"]["reused"] / row["float32"]["reused"]))
    table = "\n".join(lines)

    f64 = ["| workload (f64, 1 thread, ns/element) | %s | anchor ns/el |" % cols,
           "|---|" + "---|" * len(levels) + "---|"]
    for label, _, _, _ in WORKLOADS:
        f64.append("| %s | %s | %s |" % (
            label, " | ".join(f(results[level]["rows"][label]["float64"]["floss"]) for level in levels),
            f(best["rows"][label]["float64"]["anchor"])))

    threads = ["| workload (f32, wall time, ns/element, level %s) | 1 thread | 2 threads | speed-up |"
               % levels[0], "|---|---|---|---|"]
    for label, t in best["threads"].items():
        threads.append("| %s | %s | %s | %.2f |" % (label, f(t["1"]), f(t["2"]), t["1"] / t["2"]))

    curve_lines = ["| c | floss ns/el | PyTorch ns/el |", "|---|---|---|"]
    curve_lines += ["| %d | %s | %s |" % (c, f(a), f(b)) for c, a, b in curve]

    command = " ".join(shlex.quote(a) for a in ["python3"] + sys.argv)
    report = "\n".join([
        "# floss vs PyTorch, kornia, torchvision (issue 7 targets)",
        "",
        "- Date: %s UTC" % start.strftime("%Y-%m-%d %H:%M"),
        "- Machine: %s" % machine(),
        "- Versions: floss %s (%s), Python %s, numpy %s, torch %s, kornia %s, torchvision %s" % (
            floss.version(), os.path.relpath(floss.library_path, ROOT), platform.python_version(),
            np.__version__, torch.__version__, kornia.__version__, torchvision.__version__),
        "- Command: `%s` (`make bench` runs it with MALLOC_MMAP_THRESHOLD_=33554432 "
        "MALLOC_TRIM_THRESHOLD_=4294967296)" % command,
        "- floss levels measured (one worker process each, FLOSS_SIMD=<level>): %s"
        % ", ".join(levels),
        "- Timing: median of %d runs of the calling thread's CPU time (time.thread_time_ns), "
        "floss and its anchor interleaved in one process, one thread each; the anchor column "
        "and the ratio come from the %s worker. floss's time includes the Python binding and "
        "allocating its outputs, except in the last column: there the gradient and Hessian "
        "go into arrays allocated once (grad=array), timed interleaved with the others. A "
        "4M-entry f64 output is 32 MiB, which glibc (at this MALLOC_MMAP_THRESHOLD_, and at its "
        "default maximum) maps fresh on every call: the kernel zeroes its pages in the "
        "call's time, while f32 outputs are reused from the heap." % (args.reps, levels[0]),
        "- Load average (1, 5, 15 min) at start %s, at end %s: the machine is shared; compare "
        "ratios (same process, interleaved) rather than absolute times." % (
            "/".join("%.1f" % v for v in load_before),
            "/".join("%.1f" % v for v in os.getloadavg())),
        "",
        table,
        "",
        "f32 accuracy: sparse CE 2048x1000, logits N(0, 10^2), max per-row relative error "
        "against an f64 reference on the same f32 inputs: floss %.2e, PyTorch %.2e (goal <= 1e-7)."
        % (err_floss, err_torch),
        "",
        "\n".join(f64),
        "",
        "Threads (item 6; goal 2 threads >= 1.7x one thread; wall time, medians, interleaved):",
        "",
        "\n".join(threads),
        "",
        "Sparse CE forward against c (`%s`, level %s, median of %d):"
        % (os.path.relpath(args.plot, ROOT) if args.plot else "no plot", levels[0],
           max(5, args.reps // 2)),
        "",
        "\n".join(curve_lines),
        "",
    ])
    print(report)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(report)
        print("written to %s" % os.path.relpath(args.output), file=sys.stderr)


if __name__ == "__main__":
    main()

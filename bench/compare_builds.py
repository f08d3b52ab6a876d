"""Times two builds of libfloss on issue 7's floss workloads, f32, one
thread: each build in its own process (FLOSS_LIBRARY=<path>), the two
alternated ROUNDS times, medians of the calling thread's CPU time per run,
ns per element. For a before/after figure of a change:

    git worktree add /tmp/old <commit> && (cd /tmp/old && cargo build --release)
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 \\
        python3 bench/compare_builds.py /tmp/old/target/release/libfloss.so target/release/libfloss.so

Needs numpy; PyTorch is not involved.
"""
import os
import subprocess
import sys
import time

ROUNDS = 2
REPS = 21


def workloads():
    import numpy as np
    import floss
    rng = np.random.default_rng(0)

    def make(n, c):
        return (2 * rng.standard_normal((n, c))).astype(np.float32), rng.integers(0, c, n)
    x1, y1 = make(4096, 1000)
    x2, y2 = make(65536, 10)
    x3, y3 = make(256, 32000)
    ce = floss.sparse_cross_entropy
    return [
        ("sparse CE forward, 4096x1000", x1.size, lambda: ce(x1, y1, logits=True)),
        ("sparse CE forward, 256x32000", x3.size, lambda: ce(x3, y3, logits=True)),
        ("sparse CE forward+grad, 4096x1000", x1.size, lambda: ce(x1, y1, logits=True, grad=True)),
        ("sparse CE forward, 65536x10", x2.size, lambda: ce(x2, y2, logits=True)),
        ("sparse CE forward+grad, 65536x10", x2.size, lambda: ce(x2, y2, logits=True, grad=True)),
        ("focal forward+grad, gamma 2, 4096x1000", x1.size,
         lambda: floss.focal_loss(x1, y1, logits=True, gamma=2.0, grad=True)),
        ("entropy rows from logits, 4096x1000", x1.size,
         lambda: floss.entropy(x1, logits=True, reduction="none")),
    ]


def worker():
    """Prints name<TAB>ns/element for each workload, with FLOSS_LIBRARY's build."""
    for name, n, f in workloads():
        f()
        times = []
        for _ in range(REPS):
            t = time.thread_time_ns()
            f()
            times.append(time.thread_time_ns() - t)
        times.sort()
        print(f"{name}\t{times[REPS // 2] / n}", flush=True)


def main():
    if sys.argv[1:] == ["--worker"]:
        return worker()
    if len(sys.argv) != 3:
        sys.exit("usage: compare_builds.py OLD_LIBRARY NEW_LIBRARY")
    libs = [os.path.abspath(p) for p in sys.argv[1:]]
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.path.join(here, "..", "python"))
    runs = {lib: {} for lib in libs}
    for _ in range(ROUNDS):
        for lib in libs:
            out = subprocess.run([sys.executable, __file__, "--worker"], check=True, text=True,
                                 capture_output=True, env=dict(env, FLOSS_LIBRARY=lib)).stdout
            for line in out.splitlines():
                name, ns = line.split("\t")
                runs[lib].setdefault(name, []).append(float(ns))
    print(f"| workload (f32, 1 thread, ns/element; best of {ROUNDS} medians) | old | new | old / new |")
    print("|---|---|---|---|")
    for name in runs[libs[0]]:
        old, new = min(runs[libs[0]][name]), min(runs[libs[1]][name])
        print(f"| {name} | {old:.3f} | {new:.3f} | {old / new:.2f} |")


if __name__ == "__main__":
    main()

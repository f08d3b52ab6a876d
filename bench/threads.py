"""One thread against two on the two threaded rows of `make bench`.

floss only (numpy, no PyTorch): f32 sparse CE forward+grad at 4096x1000
(also with the batch's second half ignored, work that the threads must
share unevenly) and binary focal loss forward+grad+hess at 4M elements,
each called with set_num_threads(1) and set_num_threads(2) in turn,
--reps times; prints the medians of the wall time per element and the
speed-up. A quicker check of bench.py's thread table, for when that
table looks disturbed by another process on a shared machine.

    python3 bench/threads.py [--reps 41]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
if "FLOSS_LIBRARY" not in os.environ:
    lib = os.path.join(ROOT, "target", "release", "libfloss.so")
    if os.path.exists(lib):
        os.environ["FLOSS_LIBRARY"] = lib

import floss  # noqa: E402


def workloads(rng):
    x = rng.normal(0.0, 4.0, (4096, 1000)).astype(np.float32)
    y = rng.integers(0, 1000, 4096)
    n = 4 * 2 ** 20
    z = (2 * rng.standard_normal(n)).astype(np.float32)
    t = (rng.random(n) < 0.1).astype(np.float32)
    # A padded batch: its second half ignored (cheap rows), which a fixed
    # half per thread would leave to one thread.
    padded = y.copy()
    padded[2048:] = -100
    return [
        ("sparse CE forward+grad, 4096x1000", x.size,
         lambda: floss.sparse_cross_entropy(x, y, logits=True, grad=True)),
        ("same, second half ignore_index", x.size,
         lambda: floss.sparse_cross_entropy(x, padded, logits=True, grad=True,
                                            ignore_index=-100)),
        ("binary focal forward+grad+hess, 4M", n,
         lambda: floss.binary_focal_loss(z, t, alpha=0.25, gamma=2.0, logits=True,
                                         grad=True, hess=True)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=41)
    reps = parser.parse_args().reps
    print("floss %s, level %s" % (floss.version(), floss.simd_level()))
    for label, elements, call in workloads(np.random.default_rng(7)):
        times = {1: [], 2: []}
        for rep in range(reps + 2):
            for k in (1, 2):
                floss.set_num_threads(k)
                t0 = time.perf_counter_ns()
                call()
                if rep >= 2:  # two warm-up rounds
                    times[k].append(time.perf_counter_ns() - t0)
        floss.set_num_threads(1)
        one, two = (statistics.median(times[k]) / elements for k in (1, 2))
        print("%-36s 1 thread %.3f ns/el, 2 threads %.3f, speed-up %.2f"
              % (label, one, two, one / two))


if __name__ == "__main__":
    main()

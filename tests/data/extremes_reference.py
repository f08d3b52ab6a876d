"""High-precision reference values of tests/extremes.rs (mpmath, 400 digits).

Run: python3 tests/data/extremes_reference.py (needs mpmath). Every input is
converted from its exact binary value (f32 inputs rounded to f32 first), so
the printed values are the exact results for the inputs the tests pass,
rounded once to the output type.
"""

import struct

import mpmath as mp

mp.mp.dps = 400


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def binary_focal_probs(p, t, alpha, gamma):
    """Value, d/dp and d2/dp2 of alpha_t m^gamma B (no pos_weight), exact."""
    p, t, g = mp.mpf(p), mp.mpf(t), mp.mpf(gamma)
    a = mp.mpf(1) if alpha < 0 else mp.mpf(alpha) * t + (1 - mp.mpf(alpha)) * (1 - t)
    f = lambda q: a * (q * (1 - t) + (1 - q) * t) ** g * -(t * mp.log(q) + (1 - t) * mp.log(1 - q))
    # Central differences with a step far below p (400 digits leave room).
    h = p * mp.mpf(10) ** -150
    return f(p), mp.diff(f, p, 1, h=h), mp.diff(f, p, 2, h=h)


def correa(x, m):
    x = sorted(mp.mpf(v) for v in x)
    n = len(x)
    total = mp.mpf(0)
    for i in range(n):
        js = range(i - m, i + m + 1)
        xs = [x[min(max(j, 0), n - 1)] for j in js]
        mean = sum(xs) / len(xs)
        num = sum((j - i) * (v - mean) for j, v in zip(js, xs))
        den = n * sum((v - mean) ** 2 for v in xs)
        total += mp.log(num / den)
    return -total / n


def show(name, values):
    print(name, ", ".join(mp.nstr(v, 17) for v in values))


show("focal f64 p=5e-324 t=1e-16 a=.25 g=.25", binary_focal_probs(5e-324, 1e-16, 0.25, 0.25))
show("focal f64 p=5e-324 t=1e-30 a=.25 g=.25", binary_focal_probs(5e-324, 1e-30, 0.25, 0.25))
show("focal f64 p=1e-300 t=1e-16 a=.25 g=.25", binary_focal_probs(1e-300, 1e-16, 0.25, 0.25))
show("focal f32 p=1e-45 t=0.001 a=-1 g=2", binary_focal_probs(f32(1e-45), f32(0.001), -1, 2))
show("focal f32 p=1e-40 t=0.5 a=-1 g=0.5", binary_focal_probs(f32(1e-40), f32(0.5), -1, 0.5))
show("correa {1, 1e308, 2, -1e308, 5} m=1", [correa([1, 1e308, 2, -1e308, 5], 1)])
show("correa {0, 1e-310, ..., 4e-310} m=1", [correa([0, 1e-310, 2e-310, 3e-310, 4e-310], 1)])
show("correa {eps, DBL_MAX, eps, -168} m=1",
     [correa([2.220446049250313e-16, 1.7976931348623157e308, 2.220446049250313e-16, -168], 1)])


def spacing_estimators(x, m):
    """Vasicek, van Es and Ebrahimi (the formulas of src/differential_entropy.rs)."""
    x = sorted(mp.mpf(v) for v in x)
    n = len(x)
    clip = lambda j: x[min(max(j, 0), n - 1)]
    vasicek = sum(mp.log(n / mp.mpf(2 * m) * (clip(i + m) - clip(i - m))) for i in range(n)) / n
    van_es = sum(mp.log(mp.mpf(n + 1) / m * (x[i + m] - x[i])) for i in range(n - m)) / (n - m)
    van_es += sum(mp.mpf(1) / k for k in range(m, n + 1)) + mp.log(mp.mpf(m) / (n + 1))
    ebrahimi = 0
    for i in range(1, n + 1):
        c = 1 + mp.mpf(i - 1) / m if i <= m else (1 + mp.mpf(n - i) / m if i >= n - m + 1 else 2)
        ebrahimi += mp.log(n * (clip(i - 1 + m) - clip(i - 1 - m)) / (c * m))
    return vasicek, van_es, ebrahimi / n


show("vasicek, van es, ebrahimi {1, 1e308, 2, -1e308, 5} m=1",
     spacing_estimators([1, 1e308, 2, -1e308, 5], 1))
show("vasicek, van es, ebrahimi {-DBL_MAX, DBL_MAX, 0, 1, 2} m=1",
     spacing_estimators([-1.7976931348623157e308, 1.7976931348623157e308, 0, 1, 2], 1))
show("correa {-DBL_MAX, DBL_MAX, 0, 1, 2} m=1",
     [correa([-1.7976931348623157e308, 1.7976931348623157e308, 0, 1, 2], 1)])
show("correa {0, -5.510779987732372e303, 2e-310, 3e-310, 4e-310} m=1",
     [correa([0, -5.510779987732372e303, 2e-310, 3e-310, 4e-310], 1)])

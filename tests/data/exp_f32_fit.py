"""The f32 exponential's polynomial (src/kernels/math.rs, exp_parts_f32).

Run: python3 tests/data/exp_f32_fit.py (needs numpy). exp(r) = 1 + r +
r^2 q(r) for |r| <= ln 2 / 2 (the reduced argument, with a little room for
the rounding of k): q, of degree 4, minimises the largest relative error of
exp(r) (iteratively reweighted least squares on Chebyshev nodes, in long
double). Prints the coefficients rounded to f32, that error, and the largest
error in f32 ulps of the polynomial evaluated in f32 (with and without fused
multiply-adds) next to the degree-7 series it replaced.
"""

import numpy as np

HALF_WIDTH = 0.3466  # ln 2 / 2 = 0.34657...
NODES = 4000


def fit():
    r = (np.cos(np.pi * (np.arange(NODES) + 0.5) / NODES) * HALF_WIDTH).astype(np.longdouble)
    q = (np.exp(r) - 1 - r) / r ** 2
    weight = r ** 2 / np.exp(r)  # error of q -> relative error of exp(r)
    a = np.vander(r, 5, increasing=True)
    lawson = np.ones(NODES, dtype=np.longdouble)
    for _ in range(60):
        w = weight * np.sqrt(lawson)
        c, *_ = np.linalg.lstsq((a * w[:, None]).astype(np.float64),
                                (q * w).astype(np.float64), rcond=None)
        err = np.abs((a @ c.astype(np.longdouble) - q) * weight)
        lawson = lawson * err
        lawson /= lawson.sum()
    return c, float(err.max())


def max_ulps(coefs, fused):
    """Largest error in f32 ulps of Horner's rule in f32 over |r| <= 0.35."""
    x = np.linspace(-0.35, 0.35, 200001).astype(np.float32)
    p = np.full_like(x, coefs[0])
    for c in coefs[1:]:
        if fused:  # one rounding per step
            p = (p.astype(np.float64) * x.astype(np.float64) + np.float64(c)).astype(np.float32)
        else:
            p = (p * x).astype(np.float32) + np.float32(c)
    true = np.exp(x.astype(np.longdouble))
    ulp = np.spacing(true.astype(np.float32)).astype(np.longdouble)
    return float(np.max(np.abs(p.astype(np.longdouble) - true) / ulp))


def main():
    c, err = fit()
    c32 = [np.float32(v) for v in c]
    print("q coefficients, r^0 .. r^4 (f32):", ", ".join("%.8e" % v for v in c32))
    print("largest relative error of the fit: %.2e" % err)
    minimax = c32[::-1] + [np.float32(1.0), np.float32(1.0)]
    series = [np.float32(v) for v in (1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5, 1.0, 1.0)]
    for fused in (True, False):
        print("%s: degree 6 (this fit) %.3f ulp, degree-7 series %.3f ulp"
              % ("fused" if fused else "unfused", max_ulps(minimax, fused),
                 max_ulps(series, fused)))


if __name__ == "__main__":
    main()

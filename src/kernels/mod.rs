//! Row kernels: the per-row loops over classes, written as plain passes over
//! slices so that they can be vectorised without touching their callers.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::validate;

pub(crate) mod math;

/// Per-class quantities of one row, in buffers of length c reused across rows.
#[derive(Debug, Clone)]
pub(crate) struct RowScratch<T> {
    /// ln p_j.
    pub log_p: Vec<T>,
    /// p_j.
    pub p: Vec<T>,
    /// ln(1 - p_j), filled only when asked for.
    pub log_q: Vec<T>,
    /// 1 - p_j, filled only when asked for.
    pub q: Vec<T>,
}

impl<T: Float> RowScratch<T> {
    pub(crate) fn new(c: usize) -> Self {
        RowScratch {
            log_p: vec![T::ZERO; c],
            p: vec![T::ZERO; c],
            log_q: vec![T::ZERO; c],
            q: vec![T::ZERO; c],
        }
    }
}

/// Below this, `1 - p` of the top class is recomputed from the other logits
/// (sqrt of the smallest normal: ~1.5e-154 in f64, ~1.1e-19 in f32).
fn small<T: Float>() -> T {
    T::MIN_POSITIVE.sqrt()
}

/// Lanes of the reductions below: independent accumulators that the
/// compiler keeps in SIMD registers. The combination order is fixed, so
/// results do not depend on the hardware.
const LANES: usize = 8;

/// The sum of `xs`, in a fixed order over [`LANES`] accumulators.
#[inline]
pub(crate) fn sum<T: Float>(xs: &[T]) -> T {
    let mut acc = [T::ZERO; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a += x;
        }
    }
    let mut total =
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &x in tail {
        total += x;
    }
    total
}

/// The largest entry of a non-empty row, and whether the row holds a value
/// that `ok` refuses (NaN compares false, so it always counts as refused).
#[inline]
fn max_and_any_bad<T: Float>(row: &[T], ok: impl Fn(T) -> bool) -> (T, bool) {
    let mut acc = [T::NEG_INFINITY; LANES];
    let mut bad = [false; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for ((a, b), &z) in acc.iter_mut().zip(bad.iter_mut()).zip(chunk) {
            *a = if z > *a { z } else { *a };
            *b |= !ok(z);
        }
    }
    let mut max = acc
        .iter()
        .fold(T::NEG_INFINITY, |m, &a| if a > m { a } else { m });
    let mut any_bad = bad.iter().any(|&b| b);
    for &z in tail {
        max = if z > max { z } else { max };
        any_bad |= !ok(z);
    }
    (max, any_bad)
}

/// Log-softmax of one row of logits, validated (NaN and +Inf refused, -Inf
/// a masked class). Fills `log_p`, `p` and `q[top]`, and all of `log_q`,
/// `q` when `complement` is set; returns the top class (the first largest
/// logit).
///
/// ln p_j = (z_j - m) - ln(1 + r) with m = max z and r = sum of e^(z_k - m)
/// over k != top, so the top class's ln p = -ln(1 + r) keeps its digits when
/// r is tiny, and its 1 - p = r / (1 + r) is formed from r (the gradient
/// needs it). For k != top, p_k <= 1/2, so 1 - p_k is exact to an ulp and
/// ln(1 - p_k) is accurate in absolute terms, which is all that
/// (1 - p)^gamma = exp(gamma ln(1 - p)) needs; for the top class,
/// ln(1 - p) = ln r - ln(1 + r), or, when r is tiny, a second log-sum-exp
/// over the other logits, so that it stays finite for every finite row.
pub(crate) fn log_softmax<T: Float>(
    row: &[T],
    first_index: usize,
    scratch: &mut RowScratch<T>,
    complement: bool,
) -> Result<usize> {
    let (max, any_bad) = max_and_any_bad(row, |z| z < T::INFINITY);
    if any_bad {
        for (j, &z) in row.iter().enumerate() {
            validate::logit("pred", first_index + j, z)?;
        }
    }
    if max == T::NEG_INFINITY {
        return Err(Error::NonFinite {
            arg: "pred",
            index: first_index,
            value: max.to_f64(),
            why: "every logit of the row is -Inf: no class is possible",
        });
    }
    let top = row.iter().position(|&z| z == max).unwrap_or(0);
    let c = row.len();
    let (log_p, p) = (&mut scratch.log_p[..c], &mut scratch.p[..c]);
    for ((lp, e), &z) in log_p.iter_mut().zip(p.iter_mut()).zip(row) {
        *lp = z - max;
        *e = lp.exp();
    }
    p[top] = T::ZERO;
    let rest = sum(p);
    let log_norm = rest.ln_1p();
    let inv_norm = T::ONE / (T::ONE + rest);
    for (lp, e) in log_p.iter_mut().zip(p.iter_mut()) {
        *lp -= log_norm;
        *e *= inv_norm;
    }
    p[top] = inv_norm;
    if complement {
        for ((lq, q), &pj) in scratch
            .log_q
            .iter_mut()
            .zip(scratch.q.iter_mut())
            .zip(p.iter())
        {
            *q = T::ONE - pj;
            *lq = q.ln();
        }
        scratch.log_q[top] = if rest >= small::<T>() {
            rest.ln() - log_norm
        } else {
            log_sum_exp_except(row, top) - max - log_norm
        };
    }
    scratch.q[top] = rest * inv_norm;
    Ok(top)
}

/// ln of the sum of e^(z_k) over k != skip (-Inf if there is none).
fn log_sum_exp_except<T: Float>(row: &[T], skip: usize) -> T {
    let others = || {
        row.iter()
            .enumerate()
            .filter(|&(k, _)| k != skip)
            .map(|(_, &z)| z)
    };
    let max = others().fold(T::NEG_INFINITY, T::max);
    if max == T::NEG_INFINITY {
        return max;
    }
    max + others().fold(T::ZERO, |acc, z| acc + (z - max).exp()).ln()
}

/// One row of probabilities, validated (finite, in [0, 1]). Fills `log_p`
/// and `p`, and `log_q`, `q` when `complement` is set (ln(1 - p) is
/// accurate in absolute terms, as (1 - p)^gamma needs).
pub(crate) fn log_probs<T: Float>(
    row: &[T],
    first_index: usize,
    scratch: &mut RowScratch<T>,
    complement: bool,
) -> Result<()> {
    let (_, any_bad) = max_and_any_bad(row, |v| v >= T::ZERO && v <= T::ONE);
    if any_bad {
        for (j, &v) in row.iter().enumerate() {
            validate::probability("pred", first_index + j, v)?;
        }
    }
    for ((lp, p), &v) in scratch.log_p.iter_mut().zip(scratch.p.iter_mut()).zip(row) {
        *p = v;
        *lp = v.ln();
    }
    if complement {
        for ((lq, q), &v) in scratch.log_q.iter_mut().zip(scratch.q.iter_mut()).zip(row) {
            *q = T::ONE - v;
            *lq = q.ln();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_keeps_the_complement_of_a_dominant_class() {
        let row = [1e300f64, 0.0, -1e300];
        let mut s = RowScratch::new(3);
        let top = log_softmax(&row, 0, &mut s, true).unwrap();
        assert_eq!(top, 0);
        assert_eq!(s.log_p[0], 0.0);
        assert_eq!(s.log_p[1], -1e300);
        assert_eq!(s.log_q[0], -1e300);
        assert_eq!(s.q[1], 1.0);
    }

    #[test]
    fn log_softmax_matches_the_direct_formula_on_a_mild_row() {
        let row = [0.5f64, -1.0, 2.0, 0.0];
        let mut s = RowScratch::new(4);
        let top = log_softmax(&row, 0, &mut s, true).unwrap();
        assert_eq!(top, 2);
        let norm: f64 = row.iter().map(|z| z.exp()).sum();
        for (j, z) in row.iter().enumerate() {
            let p = z.exp() / norm;
            assert!((s.p[j] - p).abs() < 1e-15);
            assert!((s.log_p[j] - p.ln()).abs() < 1e-15);
            assert!((s.log_q[j] - (1.0 - p).ln()).abs() < 1e-15);
        }
    }

    #[test]
    fn a_row_of_minus_infinity_is_refused() {
        let row = [f32::NEG_INFINITY; 2];
        let mut s = RowScratch::new(2);
        assert!(matches!(
            log_softmax(&row, 4, &mut s, false),
            Err(Error::NonFinite { index: 4, .. })
        ));
    }
}

//! Row kernels: the per-row loops over classes, written as plain passes over
//! slices so that they can be vectorised without touching their callers.

use crate::error::{Error, Result};
use crate::float::{select, Float};
use crate::validate;

pub(crate) mod math;

/// Lanes of the row loops: accumulators kept in SIMD registers, and the
/// multiple that rows are padded to, so that no loop has a scalar tail.
pub(crate) const LANES: usize = 4;

/// `c` rounded up to a multiple of [`LANES`].
pub(crate) fn padded_len(c: usize) -> usize {
    c.div_ceil(LANES) * LANES
}

/// Adds lane accumulators in a fixed order (results independent of hardware).
#[inline(always)]
pub(crate) fn combine<T: Float>(acc: [T; LANES]) -> T {
    (acc[0] + acc[2]) + (acc[1] + acc[3])
}

/// The sum of a padded slice (length a multiple of [`LANES`]), in a fixed order.
#[inline]
pub(crate) fn sum<T: Float>(xs: &[T]) -> T {
    let mut acc = [T::ZERO; LANES];
    for chunk in xs.chunks_exact(LANES) {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a += x;
        }
    }
    combine(acc)
}

/// e^x of every entry, in place (one long loop the compiler vectorises).
#[inline]
pub(crate) fn exp_in_place<T: Float>(xs: &mut [T]) {
    for x in xs {
        *x = x.exp();
    }
}

/// Below this, `1 - p` of the top class is recomputed from the other logits
/// (sqrt of the smallest normal: ~1.5e-154 in f64, ~1.1e-19 in f32).
fn small<T: Float>() -> T {
    T::MIN_POSITIVE.sqrt()
}

/// ln(1 + x) for x >= 0 from the vectorisable ln: x ln(u) / (u - 1) with
/// u = 1 + x corrects the rounding of u (Goldberg 1991, theorem 4).
#[inline(always)]
fn ln_1p<T: Float>(x: T) -> T {
    let u = T::ONE + x;
    select(u == T::ONE, x, u.ln() * (x / (u - T::ONE)))
}

/// Copies `row` into the padded `dst` and returns its largest entry and
/// whether some entry fails `ok` (NaN fails every comparison).
#[inline]
pub(crate) fn load_row<T: Float>(row: &[T], dst: &mut [T], ok: impl Fn(T) -> bool) -> (T, bool) {
    dst[..row.len()].copy_from_slice(row);
    let mut max = [T::NEG_INFINITY; LANES];
    let mut bad = [false; LANES];
    for chunk in dst.chunks_exact(LANES) {
        for ((m, b), &z) in max.iter_mut().zip(bad.iter_mut()).zip(chunk) {
            *m = select(z > *m, z, *m);
            *b |= !ok(z);
        }
    }
    let top = max
        .iter()
        .fold(T::NEG_INFINITY, |m, &a| select(a > m, a, m));
    (top, bad.iter().any(|&b| b))
}

/// Loads one row of logits into the padded `shifted` (padding -Inf),
/// validated (NaN and +Inf refused, -Inf a masked class), and leaves
/// z_j - max there; returns the max.
pub(crate) fn load_logits<T: Float>(row: &[T], first_index: usize, shifted: &mut [T]) -> Result<T> {
    let (max, any_bad) = load_row(row, shifted, |z| z < T::INFINITY);
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
    for d in shifted.iter_mut() {
        *d -= max;
    }
    Ok(max)
}

/// Loads one row of probabilities into the padded `dst` (padding 0),
/// validated: finite and in [0, 1].
pub(crate) fn load_probs<T: Float>(row: &[T], first_index: usize, dst: &mut [T]) -> Result<()> {
    let (_, any_bad) = load_row(row, dst, |v| v >= T::ZERO && v <= T::ONE);
    if any_bad {
        for (j, &v) in row.iter().enumerate() {
            validate::probability("pred", first_index + j, v)?;
        }
    }
    Ok(())
}

/// Softmax of one row, what the gradient needs of its top class.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TopClass<T> {
    /// The first class with the largest logit.
    pub index: usize,
    /// 1 - p of the top class, r / (1 + r).
    pub q: T,
    /// ln(1 - p) of the top class.
    pub log_q: T,
}

/// Turns a row of shifted logits d_j = z_j - m (`log_p`) and their
/// exponentials e^(d_j) (`p`) into ln p and p, in place, and returns the top
/// class.
///
/// Stable form: with r = sum of e^(d_k) over k != top,
/// ln p_j = d_j - ln(1 + r), so the top class's ln p = -ln(1 + r) keeps its
/// digits when r is tiny, and its 1 - p = r / (1 + r) is formed from r,
/// never as 1 - p. Its ln(1 - p) = ln r - ln(1 + r), or, when r is tiny, a
/// second log-sum-exp over the other logits, so that it stays finite for
/// every finite row. (For the other classes p <= 1/2: 1 - p is exact to an
/// ulp and ln(1 - p) accurate in absolute terms, all that
/// (1 - p)^gamma = exp(gamma ln(1 - p)) needs.)
pub(crate) fn normalise<T: Float>(c: usize, log_p: &mut [T], p: &mut [T]) -> TopClass<T> {
    // r leaves out one of the (possibly tied) largest logits, where d = 0;
    // the other tied ones count 1 each.
    let mut others = [T::ZERO; LANES];
    let mut ties = [T::ZERO; LANES];
    for (ds, es) in log_p.chunks_exact(LANES).zip(p.chunks_exact(LANES)) {
        for l in 0..LANES {
            let at_max = ds[l] == T::ZERO;
            others[l] += select(at_max, T::ZERO, es[l]);
            ties[l] += select(at_max, T::ONE, T::ZERO);
        }
    }
    let rest = combine(others) + (combine(ties) - T::ONE);
    let index = log_p[..c].iter().position(|&d| d == T::ZERO).unwrap_or(0);
    let log_norm = ln_1p(rest);
    let inv_norm = T::ONE / (T::ONE + rest);
    let log_q = if rest >= small::<T>() {
        rest.ln() - log_norm
    } else {
        log_sum_exp_except(&log_p[..c], index) - log_norm
    };
    for (lp, e) in log_p.iter_mut().zip(p.iter_mut()) {
        *lp -= log_norm;
        *e *= inv_norm;
    }
    TopClass {
        index,
        q: rest * inv_norm,
        log_q,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn softmax_of(row: &[f64]) -> (Vec<f64>, Vec<f64>, TopClass<f64>) {
        let w = padded_len(row.len());
        let mut log_p = vec![f64::NEG_INFINITY; w];
        load_logits(row, 0, &mut log_p).unwrap();
        let mut p = log_p.clone();
        exp_in_place(&mut p);
        let top = normalise(row.len(), &mut log_p, &mut p);
        (log_p, p, top)
    }

    #[test]
    fn the_top_class_keeps_its_complement_at_huge_logits() {
        let (log_p, _, top) = softmax_of(&[1e300, 0.0, -1e300]);
        assert_eq!((top.index, log_p[0], log_p[1]), (0, 0.0, -1e300));
        assert_eq!((top.q, top.log_q), (0.0, -1e300));
    }

    #[test]
    fn softmax_quantities_match_the_direct_formula() {
        let row = [0.5f64, -1.0, 2.0, 0.0, 2.0 - 1e-9];
        let (log_p, p, top) = softmax_of(&row);
        assert_eq!(top.index, 2);
        let norm: f64 = row.iter().map(|z| z.exp()).sum();
        for j in 0..5 {
            assert!((p[j] - row[j].exp() / norm).abs() < 1e-15);
            assert!((log_p[j] - (row[j] - norm.ln())).abs() < 1e-14);
        }
        assert!((top.q - (1.0 - p[2])).abs() < 1e-15);
        assert!((top.log_q - (1.0 - p[2]).ln()).abs() < 1e-14);
        assert!(
            p[5..].iter().all(|&e| e == 0.0),
            "padding is a class of probability 0"
        );
    }

    #[test]
    fn tied_largest_logits_count_in_the_rest() {
        let (_, p, top) = softmax_of(&[1.0, 1.0, 1.0]);
        assert_eq!(top.index, 0);
        assert!((p[0] - 1.0 / 3.0).abs() < 1e-15 && (top.q - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn a_row_of_minus_infinity_is_refused() {
        let row = [f32::NEG_INFINITY; 2];
        let mut buf = vec![f32::NEG_INFINITY; 4];
        assert!(matches!(
            load_logits(&row, 4, &mut buf),
            Err(Error::NonFinite { index: 4, .. })
        ));
    }

    #[test]
    fn ln_1p_is_accurate_for_tiny_and_large_arguments() {
        for x in [0.0f64, 1e-300, 1e-17, 1e-10, 1e-3, 0.5, 3.0, 1e10] {
            let want = x.ln_1p();
            assert!((ln_1p(x) - want).abs() <= 4.0 * f64::EPSILON * want, "{x}");
        }
    }
}

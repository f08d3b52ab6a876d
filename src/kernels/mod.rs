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

/// Per-class buffers of one row, padded to [`padded_len`] and reused across
/// rows. Padding entries hold a class of probability 0 (a -Inf logit or a
/// zero probability) with coefficient 0, so they contribute exactly 0.
#[derive(Debug, Clone)]
pub(crate) struct RowScratch<T> {
    /// The row's predictions (logits or probabilities), then padding.
    pub input: Vec<T>,
    /// p_j (for logits, first e^(z_j - max)).
    pub p: Vec<T>,
    /// ln p_j.
    pub log_p: Vec<T>,
    /// 1 - p_j.
    pub q: Vec<T>,
    /// ln(1 - p_j), filled only when asked for.
    pub log_q: Vec<T>,
}

impl<T: Float> RowScratch<T> {
    /// Buffers for rows of `c` classes; `padding` is the input value of the
    /// padding classes (-Inf for logits, 0 for probabilities).
    pub(crate) fn new(c: usize, padding: T) -> Self {
        let len = padded_len(c);
        let mut input = vec![padding; len];
        input[..c].fill(T::ZERO);
        RowScratch {
            input,
            p: vec![T::ZERO; len],
            log_p: vec![T::ZERO; len],
            q: vec![T::ONE; len],
            log_q: vec![T::ZERO; len],
        }
    }
}

/// Below this, `1 - p` of the top class is recomputed from the other logits
/// (sqrt of the smallest normal: ~1.5e-154 in f64, ~1.1e-19 in f32).
fn small<T: Float>() -> T {
    T::MIN_POSITIVE.sqrt()
}

/// Adds lane accumulators in a fixed order (results independent of hardware).
#[inline(always)]
pub(crate) fn combine<T: Float>(acc: [T; LANES]) -> T {
    (acc[0] + acc[2]) + (acc[1] + acc[3])
}

/// ln(1 + x) for x >= 0 from the vectorisable ln: x ln(u) / (u - 1) with
/// u = 1 + x corrects the rounding of u (Goldberg 1991, theorem 4).
#[inline(always)]
fn ln_1p<T: Float>(x: T) -> T {
    let u = T::ONE + x;
    select(u == T::ONE, x, u.ln() * (x / (u - T::ONE)))
}

/// Copies `row` into the padded `input` buffer and returns its largest entry
/// and whether some entry fails `ok` (NaN fails every comparison).
#[inline]
fn load<T: Float>(row: &[T], input: &mut [T], ok: impl Fn(T) -> bool) -> (T, bool) {
    input[..row.len()].copy_from_slice(row);
    let mut max = [T::NEG_INFINITY; LANES];
    let mut bad = [false; LANES];
    for chunk in input.chunks_exact(LANES) {
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

/// What the per-class pass over a row of logits needs besides the logits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Softmax<T> {
    /// The largest logit m; ln p_j = (z_j - m) - log_norm.
    pub max: T,
    /// ln(1 + r), r = sum of e^(z_k - m) over k != top.
    pub log_norm: T,
    /// 1 / (1 + r); p_j = e^(z_j - m) / (1 + r).
    pub inv_norm: T,
    /// The first class with the largest logit.
    pub top: usize,
    /// 1 - p of the top class, r / (1 + r).
    pub q_top: T,
    /// ln(1 - p) of the top class.
    pub log_q_top: T,
}

/// Loads and validates one row of logits (NaN and +Inf refused, -Inf a
/// masked class) and fills `p` with e^(z_j - m).
///
/// Stable form: with m = max z and r = sum of e^(z_k - m) over k != top,
/// ln p_j = (z_j - m) - ln(1 + r), so the top class's ln p = -ln(1 + r)
/// keeps its digits when r is tiny, and its 1 - p = r / (1 + r) is formed
/// from r, never as 1 - p. For k != top, p_k <= 1/2, so 1 - p_k is exact to
/// an ulp and ln(1 - p_k) is accurate in absolute terms, which is all that
/// (1 - p)^gamma = exp(gamma ln(1 - p)) needs. The top class's
/// ln(1 - p) = ln r - ln(1 + r), or, when r is tiny, a second log-sum-exp
/// over the other logits, so that it stays finite for every finite row.
pub(crate) fn load_logits<T: Float>(
    row: &[T],
    first_index: usize,
    scratch: &mut RowScratch<T>,
) -> Result<Softmax<T>> {
    let (max, any_bad) = load(row, &mut scratch.input, |z| z < T::INFINITY);
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
    // r excludes one of the (possibly tied) largest logits: the others
    // count 1 each.
    let mut others = [T::ZERO; LANES];
    let mut ties = [T::ZERO; LANES];
    for (zs, es) in scratch
        .input
        .chunks_exact(LANES)
        .zip(scratch.p.chunks_exact_mut(LANES))
    {
        for l in 0..LANES {
            let e = (zs[l] - max).exp();
            es[l] = e;
            let at_max = zs[l] == max;
            others[l] += select(at_max, T::ZERO, e);
            ties[l] += select(at_max, T::ONE, T::ZERO);
        }
    }
    let rest = combine(others) + (combine(ties) - T::ONE);
    let top = row.iter().position(|&z| z == max).unwrap_or(0);
    let log_norm = ln_1p(rest);
    let inv_norm = T::ONE / (T::ONE + rest);
    let log_q_top = if rest >= small::<T>() {
        rest.ln() - log_norm
    } else {
        log_sum_exp_except(row, top) - max - log_norm
    };
    Ok(Softmax {
        max,
        log_norm,
        inv_norm,
        top,
        q_top: rest * inv_norm,
        log_q_top,
    })
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

/// Loads and validates one row of probabilities (finite, in [0, 1]).
pub(crate) fn load_probs<T: Float>(
    row: &[T],
    first_index: usize,
    scratch: &mut RowScratch<T>,
) -> Result<()> {
    let (_, any_bad) = load(row, &mut scratch.input, |v| v >= T::ZERO && v <= T::ONE);
    if any_bad {
        for (j, &v) in row.iter().enumerate() {
            validate::probability("pred", first_index + j, v)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_class_keeps_its_complement_at_huge_logits() {
        let row = [1e300f64, 0.0, -1e300];
        let mut s = RowScratch::new(3, f64::NEG_INFINITY);
        let sm = load_logits(&row, 0, &mut s).unwrap();
        assert_eq!((sm.top, sm.max, sm.log_norm), (0, 1e300, 0.0));
        assert_eq!(sm.log_q_top, -1e300);
        assert_eq!(sm.q_top, 0.0);
    }

    #[test]
    fn softmax_quantities_match_the_direct_formula() {
        let row = [0.5f64, -1.0, 2.0, 0.0, 2.0 - 1e-9];
        let mut s = RowScratch::new(5, f64::NEG_INFINITY);
        let sm = load_logits(&row, 0, &mut s).unwrap();
        assert_eq!(sm.top, 2);
        let norm: f64 = row.iter().map(|z| z.exp()).sum();
        let p_top = row[2].exp() / norm;
        assert!((sm.inv_norm - p_top).abs() < 1e-15);
        assert!((sm.q_top - (1.0 - p_top)).abs() < 1e-15);
        assert!((sm.log_q_top - (1.0 - p_top).ln()).abs() < 1e-14);
        assert!(((sm.max + sm.log_norm) - norm.ln()).abs() < 1e-14);
        assert!(
            s.p[5..].iter().all(|&e| e == 0.0),
            "padding is a class of probability 0"
        );
    }

    #[test]
    fn tied_largest_logits_count_in_the_rest() {
        let row = [1.0f32, 1.0, 1.0];
        let mut s = RowScratch::new(3, f32::NEG_INFINITY);
        let sm = load_logits(&row, 0, &mut s).unwrap();
        assert_eq!(sm.top, 0);
        assert!((sm.inv_norm - 1.0 / 3.0).abs() < 1e-7);
    }

    #[test]
    fn a_row_of_minus_infinity_is_refused() {
        let row = [f32::NEG_INFINITY; 2];
        let mut s = RowScratch::new(2, f32::NEG_INFINITY);
        assert!(matches!(
            load_logits(&row, 4, &mut s),
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

//! Kernels: the loops that carry the arithmetic, written so that the
//! compiler vectorises them (straight-line bodies, long loops without
//! dependencies between iterations), without touching their callers.

use crate::engine::try_filled;
use crate::float::{select, Float};

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
pub(crate) mod lanes;
pub(crate) mod math;
pub(crate) mod prefetch;

/// Below this, `1 - p` of the top class is recomputed from the other logits
/// (sqrt of the smallest normal: ~1.5e-154 in f64, ~1.1e-19 in f32).
pub(crate) fn small<T: Float>() -> T {
    T::MIN_POSITIVE.sqrt()
}

/// ln(1 + x) for x >= 0 from the vectorisable ln: x ln(u) / (u - 1) with
/// u = 1 + x corrects the rounding of u (Goldberg 1991, theorem 4).
#[inline(always)]
fn ln_1p<T: Float>(x: T) -> T {
    let u = T::ONE + x;
    select(u == T::ONE, x, u.ln() * (x / (u - T::ONE)))
}

/// A block of rows stored class-major: entry (j, r), class j of the
/// block's row r, is at `j * stride + r`. Every per-class loop then runs
/// over the rows of one class, a long loop without dependencies between
/// iterations, which the compiler vectorises whatever c is; reductions over
/// classes become element-wise accumulations, in a fixed order.
pub(crate) struct Columns {
    /// Rows the buffers have room for.
    pub stride: usize,
    /// Rows in use.
    pub rows: usize,
}

impl Columns {
    /// Class j's entries of the rows in use.
    #[inline(always)]
    pub(crate) fn of<'a, T>(&self, buf: &'a [T], j: usize) -> &'a [T] {
        &buf[j * self.stride..][..self.rows]
    }

    /// Class j's entries of the rows in use, mutable.
    #[inline(always)]
    pub(crate) fn of_mut<'a, T>(&self, buf: &'a mut [T], j: usize) -> &'a mut [T] {
        &mut buf[j * self.stride..][..self.rows]
    }
}

/// Copies `cols.rows` row-major rows of `c` entries from `src` into
/// [`Columns`] layout in `dst`.
#[inline(always)]
pub(crate) fn to_columns<T: Copy>(src: &[T], c: usize, cols: &Columns, dst: &mut [T]) {
    transpose(src, c, dst, cols.stride, cols.rows, c);
}

/// The inverse of [`to_columns`]: the block's rows, row-major, into `dst`.
#[inline(always)]
pub(crate) fn from_columns<T: Copy>(src: &[T], c: usize, cols: &Columns, dst: &mut [T]) {
    transpose(src, cols.stride, dst, c, c, cols.rows);
}

/// dst[j * dst_stride + i] = src[i * src_stride + j] for i < rows, j < width:
/// 4 x 4 tiles (which the compiler turns into register shuffles), and at
/// the edges groups of 4 contiguous entries on one side.
#[allow(clippy::needless_range_loop)] // j indexes four rows at once
#[inline(always)]
fn transpose<T: Copy>(
    src: &[T],
    src_stride: usize,
    dst: &mut [T],
    dst_stride: usize,
    rows: usize,
    width: usize,
) {
    let (rows4, width4) = (rows / 4 * 4, width / 4 * 4);
    for i0 in (0..rows4).step_by(4) {
        let quad: [&[T]; 4] = core::array::from_fn(|a| &src[(i0 + a) * src_stride..][..width]);
        for j0 in (0..width4).step_by(4) {
            for b in 0..4 {
                let at = (j0 + b) * dst_stride + i0;
                let column = [
                    quad[0][j0 + b],
                    quad[1][j0 + b],
                    quad[2][j0 + b],
                    quad[3][j0 + b],
                ];
                dst[at..at + 4].copy_from_slice(&column);
            }
        }
        for j in width4..width {
            let at = j * dst_stride + i0;
            dst[at..at + 4].copy_from_slice(&[quad[0][j], quad[1][j], quad[2][j], quad[3][j]]);
        }
    }
    for i in rows4..rows {
        let row = &src[i * src_stride..][..width];
        for (j, &x) in row.iter().enumerate() {
            dst[j * dst_stride + i] = x;
        }
    }
}

/// Per-row results of [`softmax`].
#[derive(Debug, Clone)]
pub(crate) struct Softmax<T> {
    /// The first class with the largest logit, per row.
    pub top: Vec<u32>,
    /// 1 - p of the top class, r / (1 + r).
    pub q_top: Vec<T>,
    /// ln(1 - p) of the top class.
    pub log_q_top: Vec<T>,
    /// The largest logit, per row (-Inf: no possible class).
    pub max: Vec<T>,
    /// Per-row sums over classes and what is formed from them, in f64
    /// whatever T (a sum of c terms in f32 loses digits when c is large).
    rest: Vec<f64>,
    /// The sum of exps of a chunk of [`CHUNK`] classes, in T.
    partial: Vec<T>,
    ties: Vec<T>,
    log_norm: Vec<f64>,
    inv_norm: Vec<T>,
    /// The row's entropy, if asked for: ln s + (1/s) sum_j e_j (m - z_j)
    /// (s = 1 + r), with ln s once in f64, not rounded into every class's
    /// -p ln p in T (in a row of equal f32 logits those roundings are all
    /// the same and add up: 9e-8 at c = 100).
    pub entropy: Vec<f64>,
}

/// Classes whose exps are summed in T before the sum joins the f64 total:
/// the per-class loop stays in T (as fast as it can be), and the rounding
/// of a sum of at most 16 terms is a few ulps of T, of the chunk only.
const CHUNK: usize = 16;

impl<T: Float> Softmax<T> {
    /// The buffers, or [`crate::Error::Memory`] (never an abort).
    pub(crate) fn new(rows: usize) -> crate::Result<Self> {
        let zeros = || try_filled(rows, T::ZERO, "softmax block");
        let wide = || try_filled(rows, 0.0f64, "softmax block");
        Ok(Softmax {
            top: try_filled(rows, 0, "softmax block")?,
            q_top: zeros()?,
            log_q_top: zeros()?,
            max: zeros()?,
            rest: wide()?,
            partial: zeros()?,
            ties: zeros()?,
            log_norm: wide()?,
            inv_norm: zeros()?,
            entropy: wide()?,
        })
    }
}

/// Row-wise softmax of a block of logits in [`Columns`] layout: `log_p`
/// holds the (validated, not all -Inf) logits z and receives ln p; `p`
/// receives p.
///
/// Stable form: with m = max z and r = sum of e^(z_k - m) over k != top
/// (summed in f64 by chunks of [`CHUNK`] classes, ln(1 + r) formed in f64,
/// so that ln p is rounded once)
/// (the first largest logit), ln p_j = (z_j - m) - ln(1 + r), so the top
/// class's ln p = -ln(1 + r) keeps its digits when r is tiny, and its
/// 1 - p = r / (1 + r) is formed from r, never as 1 - p. Its
/// ln(1 - p) = ln r - ln(1 + r), or, when r is tiny, a second log-sum-exp
/// over the other logits, so that it stays finite for every finite row.
/// (For the other classes p <= 1/2: 1 - p is exact to an ulp and ln(1 - p)
/// accurate in absolute terms, all that (1 - p)^gamma = exp(gamma ln(1 - p))
/// needs.)
#[inline(always)]
pub(crate) fn softmax<T: Float>(
    cols: &Columns,
    c: usize,
    log_p: &mut [T],
    p: &mut [T],
    with_entropy: bool,
    out: &mut Softmax<T>,
) {
    let n = cols.rows;
    let max = &mut out.max[..n];
    max.fill(T::NEG_INFINITY);
    for j in 0..c {
        max_column(cols.of(log_p, j), max);
    }
    let (rest, ties, top) = (&mut out.rest[..n], &mut out.ties[..n], &mut out.top[..n]);
    let partial = &mut out.partial[..n];
    rest.fill(0.0);
    ties.fill(T::ZERO);
    top.fill(u32::MAX);
    for chunk in (0..c).step_by(CHUNK) {
        partial.fill(T::ZERO);
        for j in chunk..c.min(chunk + CHUNK) {
            exp_column(
                j as u32,
                cols.of(log_p, j),
                cols.of_mut(p, j),
                max,
                partial,
                ties,
                top,
            );
        }
        for (r, &part) in rest.iter_mut().zip(partial.iter()) {
            *r += part.to_f64();
        }
    }
    let (log_norm, inv_norm) = (&mut out.log_norm[..n], &mut out.inv_norm[..n]);
    let (q_top, log_q_top) = (&mut out.q_top[..n], &mut out.log_q_top[..n]);
    for (((((r, &t), ln), inv), qt), lqt) in rest
        .iter_mut()
        .zip(ties.iter())
        .zip(log_norm.iter_mut())
        .zip(inv_norm.iter_mut())
        .zip(q_top.iter_mut())
        .zip(log_q_top.iter_mut())
    {
        *r += (t - T::ONE).to_f64();
        *ln = ln_1p(*r);
        let inv_wide = 1.0 / (1.0 + *r);
        *inv = T::from_f64(inv_wide);
        *qt = T::from_f64(*r * inv_wide);
        *lqt = T::from_f64(Float::ln(*r) - *ln);
    }
    for i in 0..n {
        if rest[i] < small::<T>().to_f64() {
            let others = (0..c)
                .filter(|&j| j != top[i] as usize)
                .map(|j| cols.of(log_p, j)[i] - max[i]);
            log_q_top[i] = T::from_f64(log_sum_exp(others).to_f64() - log_norm[i]);
        }
    }
    if with_entropy {
        let h = &mut out.entropy[..n];
        h.fill(0.0);
        for j in 0..c {
            shifted_column(cols.of(log_p, j), cols.of(p, j), max, h);
        }
        for ((h, &r), &ln) in h.iter_mut().zip(rest.iter()).zip(log_norm.iter()) {
            *h = ln + *h / (1.0 + r);
        }
    }
    for j in 0..c {
        normalise_column(
            cols.of_mut(log_p, j),
            cols.of_mut(p, j),
            max,
            log_norm,
            inv_norm,
        );
    }
}

// Column kernels take each array as its own slice argument: Rust tells the
// compiler that such arguments do not alias, so the loops vectorise without
// runtime overlap checks.

/// max = max(max, z), entry by entry.
#[inline(always)]
fn max_column<T: Float>(z: &[T], max: &mut [T]) {
    for (m, &zj) in max.iter_mut().zip(z) {
        *m = select(zj > *m, zj, *m);
    }
}

/// Class j: e = e^d with d = z - m, and the row sums: r leaves out
/// one of the (possibly tied) largest logits, where d = 0, the other tied
/// ones count 1 each; the top class is the least j with d = 0.
#[inline(always)]
fn exp_column<T: Float>(
    j: u32,
    z: &[T],
    e: &mut [T],
    max: &[T],
    rest: &mut [T],
    ties: &mut [T],
    top: &mut [u32],
) {
    let n = z.len();
    let (e, max, rest, ties, top) = (
        &mut e[..n],
        &max[..n],
        &mut rest[..n],
        &mut ties[..n],
        &mut top[..n],
    );
    for r in 0..n {
        let dj = z[r] - max[r];
        let ej = dj.exp();
        e[r] = ej;
        let at_max = dj == T::ZERO;
        rest[r] += select(at_max, T::ZERO, ej);
        ties[r] += select(at_max, T::ONE, T::ZERO);
        // A min, not a select that may keep the old value, which the
        // compiler would turn into a conditional store (not vectorised).
        top[r] = top[r].min(select(at_max, j, u32::MAX));
    }
}

/// h += e (m - z) in f64 (0 where e = 0, also for z = -Inf).
#[inline(always)]
fn shifted_column<T: Float>(z: &[T], e: &[T], max: &[T], h: &mut [f64]) {
    let n = z.len();
    let (e, max, h) = (&e[..n], &max[..n], &mut h[..n]);
    for r in 0..n {
        let shifted = e[r].to_f64() * (max[r].to_f64() - z[r].to_f64());
        h[r] += select(e[r] == T::ZERO, 0.0, shifted);
    }
}

/// ln p = (z - m) - ln(1 + r) in place of z, rounded once to T (z - m is
/// exact in f64 for f32 logits), and p = e / (1 + r).
#[inline(always)]
fn normalise_column<T: Float>(
    log_p: &mut [T],
    p: &mut [T],
    max: &[T],
    log_norm: &[f64],
    inv_norm: &[T],
) {
    let n = log_p.len();
    let (p, max, log_norm, inv_norm) = (&mut p[..n], &max[..n], &log_norm[..n], &inv_norm[..n]);
    for r in 0..n {
        log_p[r] = T::from_f64((log_p[r].to_f64() - max[r].to_f64()) - log_norm[r]);
        p[r] *= inv_norm[r];
    }
}

/// ln of the sum of e^z over `zs` (-Inf if empty).
pub(crate) fn log_sum_exp<T: Float>(zs: impl Iterator<Item = T> + Clone) -> T {
    let max = zs.clone().fold(T::NEG_INFINITY, T::max);
    if max == T::NEG_INFINITY {
        return max;
    }
    max + zs.fold(T::ZERO, |acc, z| acc + (z - max).exp()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Softmax of single rows through the block layout (stride 2: one spare row).
    fn softmax_of(row: &[f64]) -> (Vec<f64>, Vec<f64>, u32, f64, f64) {
        let c = row.len();
        let cols = Columns { stride: 2, rows: 1 };
        let mut log_p = vec![0.0; 2 * c];
        for (j, &z) in row.iter().enumerate() {
            log_p[2 * j] = z;
        }
        let mut p = vec![0.0; 2 * c];
        let mut out = Softmax::new(2).unwrap();
        softmax(&cols, c, &mut log_p, &mut p, false, &mut out);
        let pick = |v: &[f64]| (0..c).map(|j| v[2 * j]).collect::<Vec<_>>();
        (
            pick(&log_p),
            pick(&p),
            out.top[0],
            out.q_top[0],
            out.log_q_top[0],
        )
    }

    #[test]
    fn the_top_class_keeps_its_complement_at_huge_logits() {
        let (log_p, _, top, q_top, log_q_top) = softmax_of(&[1e300, 0.0, -1e300]);
        assert_eq!((top, log_p[0], log_p[1]), (0, 0.0, -1e300));
        assert_eq!((q_top, log_q_top), (0.0, -1e300));
    }

    #[test]
    fn softmax_quantities_match_the_direct_formula() {
        let row = [0.5f64, -1.0, 2.0, 0.0, 2.0 - 1e-9];
        let (log_p, p, top, q_top, log_q_top) = softmax_of(&row);
        assert_eq!(top, 2);
        let norm: f64 = row.iter().map(|z| z.exp()).sum();
        for j in 0..5 {
            assert!((p[j] - row[j].exp() / norm).abs() < 1e-15);
            assert!((log_p[j] - (row[j] - norm.ln())).abs() < 1e-14);
        }
        assert!((q_top - (1.0 - p[2])).abs() < 1e-15);
        assert!((log_q_top - (1.0 - p[2]).ln()).abs() < 1e-14);
    }

    #[test]
    fn tied_largest_logits_count_in_the_rest() {
        let (_, p, top, q_top, _) = softmax_of(&[1.0, 1.0, 1.0]);
        assert_eq!(top, 0);
        assert!((p[0] - 1.0 / 3.0).abs() < 1e-15 && (q_top - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn transposes_round_trip_for_every_shape() {
        for (rows, c) in [(1, 1), (3, 2), (4, 4), (5, 7), (9, 1000), (16, 3)] {
            let cols = Columns {
                stride: rows + 3,
                rows,
            };
            let src: Vec<f64> = (0..rows * c).map(|k| k as f64).collect();
            let mut block = vec![-1.0; c * cols.stride];
            to_columns(&src, c, &cols, &mut block);
            for i in 0..rows {
                for j in 0..c {
                    assert_eq!(block[j * cols.stride + i], src[i * c + j]);
                }
            }
            let mut back = vec![0.0; rows * c];
            from_columns(&block, c, &cols, &mut back);
            assert_eq!(back, src);
        }
    }

    #[test]
    fn ln_1p_is_accurate_for_tiny_and_large_arguments() {
        for x in [0.0f64, 1e-300, 1e-17, 1e-10, 1e-3, 0.5, 3.0, 1e10] {
            let want = x.ln_1p();
            assert!((ln_1p(x) - want).abs() <= 4.0 * f64::EPSILON * want, "{x}");
        }
    }
}

//! The row-major engine: rows of c logits with one-hot targets (integer
//! labels without smoothing: sparse and balanced cross-entropy, focal
//! loss), each row in a few passes while it is in cache, with no working
//! memory beyond the caller's outputs. Row z, label y, coefficient a:
//!
//!   m = max_j z_j,  e_j = exp(z_j - m),  r = sum_{j != y} e_j,  s = e_y + r
//!   ln p_y = (z_y - m) - ln s   (ln s = ln_1p(r) when z_y = m)
//!   1 - p_y = r / s,  ln(1 - p_y) = ln r - ln s
//!
//! r excludes the label, so 1 - p_y keeps its digits as p_y -> 1; the sums
//! run in the lanes of [`crate::kernels::lanes`] (f64 lane sums for f32
//! data), the row's scalars in f64. The label's term (the only nonzero one)
//! gives u = dG/dl and w = (1 - p_y) d^2G/dl^2 ([`super`]), and then
//!
//!   dL/dz_k     = -p_k u                          (k != y)
//!   dL/dz_y     = (1 - p_y) u
//!   d^2L/dz_k^2 = p_k (-(1 - p_k) u + (e_k / r) w)  (k != y; e_k / r <= 1)
//!   d^2L/dz_y^2 = (1 - p_y) (w - p_y u)
//!
//! which are [`super`]'s formulas with S = u and V = w / (1 - p_y), written
//! so that no infinity meets a zero (w / (1 - p_y) is never formed). The
//! Fisher surrogate C p_k (1 - p_k) is the same formula with u = -C and
//! w = 0. For the largest logit's class t != y, 1 - p_t = r_t / s with r_t
//! the sum of the other e_j (not 1 - p_t, which cancels as p_t -> 1).
//!
//! The exponentials are kept in the gradient's (or the Hessian's) row, and
//! rescaled in place; without either, only the sums are formed.

use super::{row_error, ClassPoint, ClassTerm, Layout, Targets};
use crate::error::Result;
use crate::float::{select, Float};
use crate::hessian::{self, floored};
use crate::kernels::lanes::{self, LaneSum};
use crate::options::Options;
use crate::parallel::{self, split_off};
use crate::reduce::{Outputs, Reducer};
use crate::simd::{self, Isa, Kernel};

/// Rows of at least this many classes go row-major; narrower ones are
/// faster class-major, where the per-row scalar work is vectorised across
/// rows. Measured (`FLOSS_ENGINE=row|class cargo bench --bench
/// throughput`, sparse CE f32, ns per element): c = 64 row 3.7, class
/// 2.3; c = 128 row 2.0, class 2.3; c = 1000 row 1.4, class 2.9.
pub(crate) const FROM_CLASSES: usize = 96;

/// Entries of the rows whose losses make one partial sum: blocks do not
/// depend on the number of threads, nor then does any result.
const BLOCK: usize = 8192;

/// Whether the row-major engine can compute this call: rows (not
/// channels-first), logits, one-hot targets.
pub(crate) fn can(layout: &Layout, logits: bool, one_hot: bool) -> bool {
    layout.positions == 1 && logits && one_hot
}

/// Computes a multi-class loss over the rows of `pred` (n x c logits)
/// whose `targets` are one-hot ([`Targets::one_hot`]); see [`can`].
pub(crate) fn compute<T: Float, Term: ClassTerm<T>>(
    pred: &[T],
    c: usize,
    opts: &Options,
    term: &Term,
    targets: &impl Targets<T>,
    mut reducer: Reducer,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    let rows = pred.len() / c;
    let block_rows = (BLOCK / c).max(1);
    let setup = Setup {
        pred,
        c,
        block_rows,
        scale: reducer.derivative_scale::<T>(),
        floor: hessian::floor_of::<T>(opts.hessian)?,
        term,
        targets,
        reducer: &reducer,
    };
    let mut out = reducer.per_sample().then_some(&mut outputs.out[..]);
    let (mut grad, mut hess) = (outputs.grad.as_deref_mut(), outputs.hess.as_deref_mut());
    let segments: Vec<Segment<T>> = parallel::segments(rows, c, block_rows, opts.threads)
        .into_iter()
        .map(|range| Segment {
            first_row: range.start,
            rows: range.len(),
            out: split_off(&mut out, range.len()),
            grad: split_off(&mut grad, range.len() * c),
            hess: split_off(&mut hess, range.len() * c),
        })
        .collect();
    let results = parallel::map(segments, |seg| {
        simd::dispatch(RunSegment { setup: &setup, seg })
    });
    // Block sums in block order: the same additions for any thread count.
    for partials in results {
        for sum in partials? {
            reducer.add_partial(sum);
        }
    }
    reducer.finish(outputs.out);
    Ok(())
}

/// What every segment of one computation shares.
struct Setup<'a, T, Term, Tg> {
    pred: &'a [T],
    c: usize,
    block_rows: usize,
    /// The reduction's factor of every derivative.
    scale: T,
    /// The FLOOR mode's floor (-Inf: none).
    floor: T,
    term: &'a Term,
    targets: &'a Tg,
    reducer: &'a Reducer,
}

/// A contiguous range of rows and its part of the outputs.
struct Segment<'a, T> {
    first_row: usize,
    rows: usize,
    /// Per-sample losses (`Reduction::None` only).
    out: Option<&'a mut [T]>,
    grad: Option<&'a mut [T]>,
    hess: Option<&'a mut [T]>,
}

/// [`Setup::run`] as a [`Kernel`].
struct RunSegment<'s, 'a, T, Term, Tg> {
    setup: &'s Setup<'a, T, Term, Tg>,
    seg: Segment<'s, T>,
}

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Kernel for RunSegment<'_, '_, T, Term, Tg> {
    type Output = Result<Vec<f64>>;
    #[inline(always)]
    fn run<S: Isa>(self) -> Self::Output {
        self.setup.run::<S>(self.seg)
    }
}

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Setup<'_, T, Term, Tg> {
    /// Computes one segment row by row; returns each block's loss sum (in
    /// f64, rows in order) unless the losses are written per sample.
    #[inline(always)]
    fn run<S: Isa>(&self, mut seg: Segment<T>) -> Result<Vec<f64>> {
        let c = self.c;
        let mut sums = Vec::new();
        let mut block_sum = 0.0;
        for r in 0..seg.rows {
            let g = seg.first_row + r;
            let z = &self.pred[g * c..][..c];
            let grad = seg.grad.as_deref_mut().map(|x| &mut x[r * c..][..c]);
            let hess = seg.hess.as_deref_mut().map(|x| &mut x[r * c..][..c]);
            let value = if self.targets.counted(g) {
                let (y, a) = self.targets.one_hot(g);
                self.row::<S>(g, z, y, a, grad, hess)?
            } else {
                // Ignored: loss and derivatives 0, predictions unread.
                for x in [grad, hess].into_iter().flatten() {
                    x.fill(T::ZERO);
                }
                0.0
            };
            match seg.out.as_deref_mut() {
                Some(out) => out[r] = T::from_f64(self.reducer.sample_value(value)),
                None => {
                    block_sum += value;
                    if (r + 1) % self.block_rows == 0 || r + 1 == seg.rows {
                        sums.push(block_sum);
                        block_sum = 0.0;
                    }
                }
            }
        }
        Ok(sums)
    }

    /// Row g (logits `z`, label `y`, coefficient `a`): writes its gradient
    /// and Hessian rows if asked, returns its loss (module docs).
    #[inline(always)]
    fn row<S: Isa>(
        &self,
        g: usize,
        z: &[T],
        y: usize,
        a: T,
        mut grad: Option<&mut [T]>,
        mut hess: Option<&mut [T]>,
    ) -> Result<f64> {
        let m = lanes::max(z);
        let dy = z[y].to_f64() - m.to_f64();
        // The crate's exp and ln (inlined, within 2 ulp), not libm's calls.
        let e_y = Float::exp(dy);
        let exp = |v: T| S::exp(v - m);
        let mut rest = LaneSum::new();
        // The exponentials go to the gradient's row, else the Hessian's.
        let kept = match grad.as_deref_mut() {
            Some(e) => Some(e),
            None => hess.as_deref_mut(),
        };
        match kept {
            Some(e) => {
                lanes::map_sum::<T, true>(z, y, T::NEG_INFINITY, exp, e, &mut rest);
                e[y] = T::from_f64(e_y);
            }
            None => lanes::map_sum::<T, false>(z, y, T::NEG_INFINITY, exp, &mut [], &mut rest),
        }
        let r = rest.total();
        let s = e_y + r;
        if !(m > T::NEG_INFINITY && m < T::INFINITY && s.is_finite()) {
            return Err(row_error(&Layout::new(self.c, 1), self.pred, g, true));
        }
        let ln_s = if dy == 0.0 {
            Float::ln_1p(r)
        } else {
            Float::ln(s)
        };
        let (p, q) = (e_y / s, r / s);
        let at = ClassPoint {
            log_p: T::from_f64(dy - ln_s),
            p: T::from_f64(p),
            log_q: if self.term.needs_complement() {
                T::from_f64(Float::ln(r) - ln_s)
            } else {
                T::ZERO
            },
            q: T::from_f64(q),
        };
        let d = self.term.log_space(a, at);
        let live = self.scale != T::ZERO;
        if let Some(h) = hess {
            let (u, w) = if self.term.reports_fisher_weights() {
                (-d.second, T::ZERO)
            } else {
                (d.first, d.second)
            };
            let e = grad.as_deref().map(|x| &x[..]);
            self.hessian_row(z, m, y, (r, s), at, (u, w), e, h);
        }
        if let Some(grad) = grad {
            let u = d.first.to_f64();
            let sc = self.scale.to_f64();
            // (+ 0: a zero weight gives +0, not -0.)
            let factor = T::from_f64(-(u * sc) / s + 0.0);
            for x in grad.iter_mut() {
                *x = select(live, *x * factor, T::ZERO);
            }
            grad[y] = select(live, T::from_f64(u * q * sc), T::ZERO);
        }
        Ok(d.value.to_f64())
    }

    /// The Hessian row (module docs) from the exponentials in `e` (the
    /// gradient's row), or in `h` itself when `e` is `None`; scaled and
    /// floored.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn hessian_row(
        &self,
        z: &[T],
        m: T,
        y: usize,
        (r, s): (f64, f64),
        at: ClassPoint<T>,
        (u, w): (T, T),
        e: Option<&[T]>,
        h: &mut [T],
    ) {
        let (scale, floor, live) = (self.scale, self.floor, self.scale != T::ZERO);
        let finish = |v: T| floored(select(live, v * scale, T::ZERO), floor);
        // The largest logit's class, if not the label: its 1 - p from the
        // sum of the others (e_t = 1).
        let top = if z[y] == m {
            None
        } else {
            z.iter().position(|&v| v == m)
        };
        let q_top = top.map(|t| {
            let e = e.unwrap_or(h);
            let mut others = LaneSum::new();
            lanes::sum_except(e, t, &mut others);
            others.total() / s
        });
        let inv_s = T::from_f64(1.0 / s);
        let r_t = T::from_f64(r);
        let nu = -u;
        let entry = |ek: T| {
            let pk = ek * inv_s;
            let ratio = select(ek == T::ZERO, T::ZERO, ek / r_t);
            finish(pk * (nu * (T::ONE - pk) + select(w == T::ZERO, T::ZERO, ratio * w)))
        };
        match e {
            Some(e) => {
                for (hk, &ek) in h.iter_mut().zip(e) {
                    *hk = entry(ek);
                }
            }
            None => {
                for hk in h.iter_mut() {
                    *hk = entry(*hk);
                }
            }
        }
        h[y] = finish(at.q * (w - at.p * u));
        if let (Some(t), Some(q_t)) = (top, q_top) {
            let p_t = inv_s;
            let ratio = T::from_f64(1.0 / r);
            h[t] = finish(p_t * (nu * T::from_f64(q_t) + ratio * w));
        }
    }
}

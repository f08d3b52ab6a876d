//! Rows of logits with one-hot targets (integer labels without smoothing:
//! sparse and balanced cross-entropy, focal loss). Row z, label y,
//! coefficient a:
//!
//!   m = max_j z_j,  e_j = exp(z_j - m),  r = sum_{j != y} e_j,  s = e_y + r
//!   ln p_y = (z_y - m) - ln s   (ln s from s and its rounding error:
//!                                [`crate::float::ln_sum`], ln_1p(r) when z_y = m)
//!   1 - p_y = r / s,  ln(1 - p_y) = ln r - ln s
//!
//! r excludes the label, so 1 - p_y keeps its digits as p_y -> 1; the sums
//! run in the lanes of [`crate::kernels::lanes`] (f64 lane sums for f32
//! data), the row's scalars in f64. The label's term (the only nonzero one)
//! gives u = dG/dl and w = (1 - p_y) d^2G/dl^2 ([`crate::engine`]), and then
//!
//!   dL/dz_k     = -p_k u                          (k != y)
//!   dL/dz_y     = (1 - p_y) u
//!   d^2L/dz_k^2 = p_k (-(1 - p_k) u + (e_k / r) w)  (k != y; e_k / r <= 1)
//!   d^2L/dz_y^2 = (1 - p_y) (w - p_y u)
//!
//! which are [`crate::engine`]'s formulas with S = u and V = w / (1 - p_y), written
//! so that no infinity meets a zero (w / (1 - p_y) is never formed). The
//! Fisher surrogate C p_k (1 - p_k) is the same formula with u = -C and
//! w = 0. For the largest logit's class t != y, 1 - p_t = r_t / s with r_t
//! the sum of the other e_j (not 1 - p_t, which cancels as p_t -> 1).
//!
//! The exponentials are kept in the gradient's (or the Hessian's) row, and
//! rescaled in place; without either, only the sums are formed.

use super::Setup;
use crate::engine::{p_times, row_error, times_scale, ClassPoint, ClassTerm, Layout, Targets};
use crate::error::Result;
use crate::float::{ln_sum, select, Float};
use crate::hessian::floored;
use crate::kernels::lanes::{self, LaneSum};
use crate::simd::Isa;

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Setup<'_, T, Term, Tg> {
    /// Row g (logits `z`, label `y`, coefficient `a`): writes its gradient
    /// and Hessian rows if asked, returns its loss (module docs).
    #[inline(always)]
    pub(super) fn one_hot_row<S: Isa>(
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
                lanes::map_sum::<S, T, T, true>(z, y, T::NEG_INFINITY, exp, e, &mut rest);
                e[y] = T::from_f64(e_y);
            }
            None => {
                lanes::map_sum::<S, T, T, false>(z, y, T::NEG_INFINITY, exp, &mut [], &mut rest)
            }
        }
        let label = self.label_term(dy, rest.total(), a);
        if !(m > T::NEG_INFINITY && m < T::INFINITY && label.curv.s.is_finite()) {
            return Err(row_error(&Layout::new(self.c, 1), self.pred, g, true));
        }
        if let Some(h) = hess {
            let e = grad.as_deref();
            self.hessian_row(z, m, y, &label.curv, e, h);
        }
        if let Some(grad) = grad {
            for x in grad.iter_mut() {
                // x = e_k: p_k times the factor.
                *x = p_times(*x, label.factor);
            }
            grad[y] = label.grad_y;
        }
        Ok(label.value)
    }

    /// The label's term of a row from dy = z_y - m and r, with coefficient
    /// `a` (module docs): the loss, the gradient's factor and label entry,
    /// and what its Hessian needs.
    #[inline(always)]
    pub(super) fn label_term(&self, dy: f64, r: f64, a: T) -> LabelTerm<T> {
        let e_y = Float::exp(dy);
        let s = e_y + r;
        // ln_1p(r) where z_y = m (e_y = 1), one logarithm either way.
        let ln_s = ln_sum(e_y, r);
        let q = r / s;
        let at = ClassPoint {
            log_p: T::from_f64(dy - ln_s),
            p: T::from_f64(e_y / s),
            log_q: if self.term.needs_complement() {
                T::from_f64(Float::ln(r) - ln_s)
            } else {
                T::ZERO
            },
            q: T::from_f64(q),
        };
        let d = self.term.log_space(a, at);
        let (u, sc) = (d.first.to_f64(), self.scale.to_f64());
        let fisher = self.term.reports_fisher_weights();
        LabelTerm {
            value: d.value.to_f64(),
            // (+ 0: a zero weight gives +0, not -0.)
            factor: T::from_f64(times_scale(-u / s, sc) + 0.0),
            grad_y: T::from_f64(times_scale(u * q, sc)),
            curv: Curvature {
                u: select(fisher, -d.second, d.first),
                w: select(fisher, T::ZERO, d.second),
                p: at.p,
                q: at.q,
                s,
                r,
            },
        }
    }

    /// d^2L/dz_k^2 for k != y, from e_k (module docs), scaled and floored.
    #[inline(always)]
    pub(super) fn hessian_entry(&self, ek: T, inv_s: T, r: T, label: (T, T)) -> T {
        let (u, w) = label;
        let pk = ek * inv_s;
        let ratio = select(ek == T::ZERO, T::ZERO, ek / r);
        self.finish(p_times(
            pk,
            -u * (T::ONE - pk) + select(w == T::ZERO, T::ZERO, ratio * w),
        ))
    }

    /// d^2L/dz_y^2 (module docs), scaled and floored.
    #[inline(always)]
    pub(super) fn label_hessian(&self, label: &Curvature<T>) -> T {
        self.finish(label.q * (label.w - label.p * label.u))
    }

    /// d^2L/dz_t^2 of the largest logit's class t != y, from the sum of
    /// the other e_j (e_t = 1), scaled and floored.
    #[inline(always)]
    pub(super) fn top_hessian(&self, others: f64, label: &Curvature<T>) -> T {
        let q_t = T::from_f64(others / label.s);
        let (inv_s, inv_r) = (T::from_f64(1.0 / label.s), T::from_f64(1.0 / label.r));
        self.finish(inv_s * (-label.u * q_t + inv_r * label.w))
    }

    /// A Hessian entry times the reduction's scale, floored.
    #[inline(always)]
    fn finish(&self, v: T) -> T {
        floored(times_scale(v, self.scale), self.floor)
    }

    /// The Hessian row (module docs) from the exponentials in `e` (the
    /// gradient's row), or in `h` itself when `e` is `None`; scaled and
    /// floored.
    #[inline(always)]
    fn hessian_row(
        &self,
        z: &[T],
        m: T,
        y: usize,
        label: &Curvature<T>,
        e: Option<&[T]>,
        h: &mut [T],
    ) {
        // The largest logit's class, if not the label.
        let top = if z[y] == m {
            None
        } else {
            z.iter().position(|&v| v == m)
        };
        let others = top.map(|t| {
            let mut others = LaneSum::new();
            lanes::sum_except(e.unwrap_or(h), t, &mut others);
            others.total()
        });
        let (inv_s, r) = (T::from_f64(1.0 / label.s), T::from_f64(label.r));
        let uw = (label.u, label.w);
        match e {
            Some(e) => {
                for (hk, &ek) in h.iter_mut().zip(e) {
                    *hk = self.hessian_entry(ek, inv_s, r, uw);
                }
            }
            None => {
                for hk in h.iter_mut() {
                    *hk = self.hessian_entry(*hk, inv_s, r, uw);
                }
            }
        }
        h[y] = self.label_hessian(label);
        if let (Some(t), Some(others)) = (top, others) {
            h[t] = self.top_hessian(others, label);
        }
    }
}

/// The label's term of a row ([`Setup::label_term`]).
pub(super) struct LabelTerm<T> {
    /// The row's loss.
    pub value: f64,
    /// dL/dz_k = e_k times this (k != y), scaled.
    pub factor: T,
    /// dL/dz_y, scaled.
    pub grad_y: T,
    pub curv: Curvature<T>,
}

/// What a row's Hessian needs of its label's term: u and w (Fisher: -C
/// and 0), p_y and 1 - p_y, s and r.
#[derive(Clone, Copy)]
pub(super) struct Curvature<T> {
    pub u: T,
    pub w: T,
    pub p: T,
    pub q: T,
    pub s: f64,
    pub r: f64,
}

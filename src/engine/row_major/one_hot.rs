//! Rows of logits with one-hot targets (integer labels without smoothing:
//! sparse and balanced cross-entropy, focal loss). Row z, label y,
//! coefficient a:
//!
//!   m = max_j z_j,  e_j = exp(z_j - m),  r = sum_{j != y} e_j,  s = e_y + r
//!   ln p_y = (z_y - m) - ln s   (ln s = ln_1p(r) when z_y = m)
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
use crate::float::{select, Float};
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
                lanes::map_sum::<T, T, true>(z, y, T::NEG_INFINITY, exp, e, &mut rest);
                e[y] = T::from_f64(e_y);
            }
            None => lanes::map_sum::<T, T, false>(z, y, T::NEG_INFINITY, exp, &mut [], &mut rest),
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
        if let Some(h) = hess {
            let (u, w) = if self.term.reports_fisher_weights() {
                (-d.second, T::ZERO)
            } else {
                (d.first, d.second)
            };
            let e = grad.as_deref();
            self.hessian_row(z, m, y, (r, s), at, (u, w), e, h);
        }
        if let Some(grad) = grad {
            let u = d.first.to_f64();
            let sc = self.scale.to_f64();
            // (+ 0: a zero weight gives +0, not -0.)
            let factor = T::from_f64(times_scale(-u / s, sc) + 0.0);
            for x in grad.iter_mut() {
                // x = e_k: p_k times the factor.
                *x = p_times(*x, factor);
            }
            grad[y] = T::from_f64(times_scale(u * q, sc));
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
        let (scale, floor) = (self.scale, self.floor);
        let finish = |v: T| floored(times_scale(v, scale), floor);
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
            finish(p_times(
                pk,
                nu * (T::ONE - pk) + select(w == T::ZERO, T::ZERO, ratio * w),
            ))
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

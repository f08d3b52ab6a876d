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
//! Rows go a few at a time ([`Setup::one_hot_rows`]): each row's max and
//! sums, then the label terms of all of them at once, row l in vector lane
//! l (the f64 exp, logarithm and divisions of a row cost as much as a
//! hundred of its classes when run once per row), then each row's
//! derivatives. The exponentials are kept in the gradient's (or the
//! Hessian's) row, and rescaled in place; without either, only the sums
//! are formed.

use super::Setup;
use crate::engine::{p_times, row_error, times_scale, ClassPoint, ClassTerm, Layout, Targets};
use crate::error::Result;
use crate::float::{ln_sum_with, select, Float};
use crate::hessian::floored;
use crate::kernels::lanes::{self, LaneSum, Lanes, LANES};
use crate::simd::Isa;

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Setup<'_, T, Term, Tg> {
    /// Rows `g0..g0 + live` (`live` <= [`LANES`]): the max and sum of each
    /// row in turn, then the label terms of all of them at once (row l in
    /// lane l: the logarithms and divisions run in vector lanes across the
    /// rows, not once per row), then each row's gradient and Hessian rows
    /// (`live` x c) if asked. Returns their losses (lanes from `live` on:
    /// 0); fails on the first invalid counted row, before any of their
    /// derivatives is final (module docs).
    #[inline(always)]
    pub(super) fn one_hot_rows<S: Isa>(
        &self,
        g0: usize,
        live: usize,
        mut grad: Option<&mut [T]>,
        mut hess: Option<&mut [T]>,
    ) -> Result<Lanes<f64>> {
        let c = self.c;
        let mut rows = RowLanes::new();
        for l in 0..live {
            let g = g0 + l;
            let z = &self.pred[g * c..][..c];
            let grad = grad.as_deref_mut().map(|x| &mut x[l * c..][..c]);
            let hess = hess.as_deref_mut().map(|x| &mut x[l * c..][..c]);
            if !self.targets.counted(g) {
                // Ignored: loss and derivatives 0, predictions unread.
                for x in [grad, hess].into_iter().flatten() {
                    x.fill(T::ZERO);
                }
                continue;
            }
            let (y, a) = self.targets.one_hot(g);
            let m = lanes::max(z);
            // The crate's exp (inlined, within 2 ulp), not libm's call.
            let exp = lanes::ExpBelow::<S, T>::new(m);
            let mut rest = LaneSum::new();
            // The exponentials go to the gradient's row, else the Hessian's.
            match grad.or(hess) {
                Some(e) => lanes::map_sum::<S, T, T, true>(z, y, exp, e, &mut rest),
                None => lanes::map_sum::<S, T, T, false>(z, y, exp, &mut [], &mut rest),
            }
            rows.set(l, true, (y, a), m, z[y].to_f64() - m.to_f64(), rest.total());
        }
        let terms = self.label_terms::<S>(&rows);
        if let Some(l) = terms.first_invalid() {
            return Err(row_error(&Layout::new(c, 1), self.pred, g0 + l, true));
        }
        for l in (0..live).filter(|&l| rows.counted[l]) {
            let (g, y) = (g0 + l, rows.label[l]);
            let mut grad = grad.as_deref_mut().map(|x| &mut x[l * c..][..c]);
            if let Some(e) = grad
                .as_deref_mut()
                .or(hess.as_deref_mut().map(|x| &mut x[l * c..][..c]))
            {
                e[y] = T::from_f64(terms.e_y[l]);
            }
            if let Some(h) = hess.as_deref_mut().map(|x| &mut x[l * c..][..c]) {
                let z = &self.pred[g * c..][..c];
                self.hessian_row(z, rows.m[l], y, &terms.curv.at(l), grad.as_deref(), h);
            }
            if let Some(grad) = grad {
                for x in grad.iter_mut() {
                    // x = e_k: p_k times the factor.
                    *x = p_times(*x, terms.factor[l]);
                }
                grad[y] = terms.grad_y[l];
            }
        }
        Ok(terms.value)
    }

    /// The label terms of the rows of `rows` ([`Setup::label_term`]), in
    /// lanes (vectorised across the rows); rows not counted give 0.
    #[inline(always)]
    pub(super) fn label_terms<S: Isa>(&self, rows: &RowLanes<T>) -> LabelLanes<T> {
        let mut t = LabelLanes {
            value: [0.0; LANES],
            factor: [T::ZERO; LANES],
            grad_y: [T::ZERO; LANES],
            e_y: [0.0; LANES],
            curv: CurvatureLanes::new(),
            valid: [true; LANES],
        };
        for l in 0..LANES {
            let (m, counted) = (rows.m[l], rows.counted[l]);
            let label = self.label_term::<S>(rows.dy[l], rows.rest[l], rows.coef[l]);
            let finite = (m > T::NEG_INFINITY) & (m < T::INFINITY) & label.curv.s.is_finite();
            t.valid[l] = !counted | finite;
            t.value[l] = select(counted, label.value, 0.0);
            t.factor[l] = select(counted, label.factor, T::ZERO);
            t.grad_y[l] = select(counted, label.grad_y, T::ZERO);
            t.e_y[l] = label.e_y;
            t.curv.set(l, label.curv);
        }
        t
    }

    /// The label's term of a row from dy = z_y - m and r, with coefficient
    /// `a` (module docs): the loss, the gradient's factor and label entry,
    /// and what its Hessian needs.
    #[inline(always)]
    pub(super) fn label_term<S: Isa>(&self, dy: f64, r: f64, a: T) -> LabelTerm<T> {
        let e_y = S::exp(dy);
        // ln_1p(r) where z_y = m (e_y = 1), one logarithm either way; s
        // >= 1 (the largest logit's e_j is 1) unless the row is invalid.
        let (ln_s, s, inv_s) = ln_sum_with(e_y, r, S::ln_normal);
        let q = r * inv_s;
        let at = ClassPoint {
            log_p: T::from_f64(dy - ln_s),
            p: T::from_f64(e_y * inv_s),
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
            e_y,
            // (+ 0: a zero weight gives +0, not -0.)
            factor: T::from_f64(times_scale(-u * inv_s, sc) + 0.0),
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
    /// exp(z_y - m).
    pub e_y: f64,
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

/// What the label terms of up to [`LANES`] rows are computed from, row l
/// in lane l: whether it is counted, its label and coefficient, its
/// largest logit m, dy = z_y - m and r (the other classes' sum). Lanes of
/// rows not counted hold a harmless row (dy = 0, r = 1).
pub(super) struct RowLanes<T> {
    pub counted: [bool; LANES],
    pub label: [usize; LANES],
    pub coef: Lanes<T>,
    pub m: Lanes<T>,
    pub dy: Lanes<f64>,
    pub rest: Lanes<f64>,
}

impl<T: Float> RowLanes<T> {
    #[inline(always)]
    pub(super) fn new() -> Self {
        RowLanes {
            counted: [false; LANES],
            label: [0; LANES],
            coef: [T::ZERO; LANES],
            m: [T::ZERO; LANES],
            dy: [0.0; LANES],
            rest: [1.0; LANES],
        }
    }

    /// Lane l: a row, counted or not (then the harmless row, without a
    /// branch, so that a tile's loop over its lanes stays vectorised).
    #[inline(always)]
    pub(super) fn set(
        &mut self,
        l: usize,
        counted: bool,
        (y, a): (usize, T),
        m: T,
        dy: f64,
        rest: f64,
    ) {
        self.counted[l] = counted;
        (self.label[l], self.coef[l], self.m[l]) = (y, a, m);
        self.dy[l] = select(counted, dy, 0.0);
        self.rest[l] = select(counted, rest, 1.0);
    }
}

/// The label terms of up to [`LANES`] rows ([`Setup::label_terms`]), lane l
/// for row l ([`LabelTerm`]'s fields, e_y, and whether the row is valid).
pub(super) struct LabelLanes<T> {
    pub value: Lanes<f64>,
    pub factor: Lanes<T>,
    pub grad_y: Lanes<T>,
    pub e_y: Lanes<f64>,
    pub curv: CurvatureLanes<T>,
    pub valid: [bool; LANES],
}

impl<T> LabelLanes<T> {
    /// The first row whose maximum or sum is not finite.
    pub(super) fn first_invalid(&self) -> Option<usize> {
        self.valid.iter().position(|&ok| !ok)
    }
}

/// The [`Curvature`] of up to [`LANES`] rows, lane l for row l (lanes of
/// values, not an array of structures, so that the loop that fills them
/// stays vectorised).
pub(super) struct CurvatureLanes<T> {
    pub u: Lanes<T>,
    pub w: Lanes<T>,
    pub p: Lanes<T>,
    pub q: Lanes<T>,
    pub s: Lanes<f64>,
    pub r: Lanes<f64>,
}

impl<T: Float> CurvatureLanes<T> {
    #[inline(always)]
    fn new() -> Self {
        let zeros = [T::ZERO; LANES];
        CurvatureLanes {
            u: zeros,
            w: zeros,
            p: zeros,
            q: zeros,
            s: [1.0; LANES],
            r: [0.0; LANES],
        }
    }

    #[inline(always)]
    fn set(&mut self, l: usize, v: Curvature<T>) {
        (self.u[l], self.w[l], self.p[l], self.q[l]) = (v.u, v.w, v.p, v.q);
        (self.s[l], self.r[l]) = (v.s, v.r);
    }

    #[inline(always)]
    pub(super) fn at(&self, l: usize) -> Curvature<T> {
        Curvature {
            u: self.u[l],
            w: self.w[l],
            p: self.p[l],
            q: self.q[l],
            s: self.s[l],
            r: self.r[l],
        }
    }
}

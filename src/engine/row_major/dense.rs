//! Rows whose every class's term is evaluated: dense or smoothed targets,
//! entropy, KL, and every row of probabilities. A row goes through in
//! groups of [`LANES`] classes, each class's term evaluated in the group's
//! lanes, its u = dG/dl (or dG/dp) kept in the gradient's row and its
//! w = (1 - p) d^2G/dl^2 (or d^2G/dp^2) in the Hessian's, so no working
//! memory is needed whatever c is.
//!
//! Logits, row z: the first largest logit's class t, m = z_t,
//!
//!   r = sum_{j != t} e^(z_j - m),  s = 1 + r,  ln p_j = (z_j - m) - ln_1p(r)
//!   1 - p_t = r / s,  ln(1 - p_t) = ln r - ln s
//!
//! (a log-sum-exp over the other logits when r is tiny, so that ln(1 - p_t)
//! stays finite for every finite row; p_j <= 1/2 for j != t, where 1 - p_j
//! is exact to an ulp). Then, pass by pass over the row:
//!
//! 1. max and t; 2. r; 3. the terms: the loss, S_rest = sum_{j != t} u_j,
//!    V_rest = sum_{j != t} w_j / (1 - p_j) and, for the Fisher surrogate,
//!    C = sum_j c_j, all summed in f64 lanes;
//! 4. [`crate::engine`]'s derivatives, with S = S_rest + u_t:
//!
//!   dL/dz_k     = u_k - p_k S                     (top: u_t (1 - p_t) - p_t S_rest)
//!   d^2L/dz_k^2 = w_k / q_k (1 - 2 p_k) - p_k q_k S + p_k^2 V_rest + p_k (p_k / q_t) w_t
//!   d^2L/dz_t^2 = w_t q_t - p_t q_t S + p_t^2 V_rest
//!
//! with q = 1 - p and p_k / q_t = min(e^(ln p_k - ln q_t), 1); Fisher:
//! C p_k q_k. These are the class-major engine's formulas, evaluated along
//! the row instead of across rows.
//!
//! Probabilities: each class's term gives its own derivatives, in one pass.

use super::Setup;
use crate::engine::{row_error, ClassPoint, ClassTerm, Derivatives, Layout, Targets};
use crate::error::Result;
use crate::float::{select, Float};
use crate::hessian::floored;
use crate::kernels::lanes::{self, LaneSum, Lanes, LANES};
use crate::kernels::{log_sum_exp, small};
use crate::simd::Isa;

/// A row's softmax in the stable form of the module docs.
struct RowSoftmax<T> {
    /// The largest logit m and its first class t.
    max: T,
    top: usize,
    /// ln s = ln(1 + r) in f64.
    log_norm: f64,
    /// 1 / s.
    inv_norm: T,
    /// 1 - p_t and ln(1 - p_t).
    q_top: T,
    log_q_top: T,
}

impl<T: Float> RowSoftmax<T> {
    /// A class's point from its logit z and e = e^(z - m) (`is_top`: the
    /// class t); ln(1 - p) only `with_log`.
    #[inline(always)]
    fn point(&self, is_top: bool, z: T, e: T, with_log: bool) -> ClassPoint<T> {
        let p = e * self.inv_norm;
        let q = select(is_top, self.q_top, T::ONE - p);
        ClassPoint {
            log_p: T::from_f64((z.to_f64() - self.max.to_f64()) - self.log_norm),
            p,
            log_q: select(
                is_top,
                self.log_q_top,
                if with_log { q.ln() } else { T::ZERO },
            ),
            q,
        }
    }
}

/// The row sums of pass 3, rounded once to T, and the top class's u and w.
struct RowTotals<T> {
    s_rest: T,
    s_all: T,
    v_rest: T,
    fisher: T,
    w_top: T,
}

/// Group `at` of `x` (its [`LANES`] entries from `at` on, the missing ones `pad`).
#[inline(always)]
fn load<T: Float>(x: &[T], at: usize, pad: T) -> Lanes<T> {
    lanes::group(x, at, usize::MAX, pad)
}

/// Writes the live entries of group `v` to `x` from `at` on.
#[inline(always)]
fn store<T: Float>(x: &mut [T], at: usize, v: &Lanes<T>) {
    let live = (x.len() - at).min(LANES);
    x[at..at + live].copy_from_slice(&v[..live]);
}

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Setup<'_, T, Term, Tg> {
    /// The coefficients of group `at` of row g (0 past the row's end).
    #[inline(always)]
    fn coefficients(&self, g: usize, at: usize) -> Lanes<T> {
        let mut coef = [T::ZERO; LANES];
        let live = (self.c - at).min(LANES);
        self.targets.fill_row(self.c, g, at, &mut coef[..live]);
        coef
    }

    /// A derivative times the reduction's scale (exact zeros for a zero
    /// scale, also where the derivative is infinite).
    #[inline(always)]
    fn scaled(&self, v: T) -> T {
        select(self.scale != T::ZERO, v * self.scale, T::ZERO)
    }

    /// Passes 1 and 2 over row g of logits `z` (module docs); fails on an
    /// invalid row.
    #[inline(always)]
    fn softmax<S: Isa>(&self, g: usize, z: &[T]) -> Result<RowSoftmax<T>> {
        let m = lanes::max(z);
        let top = lanes::first_index_of(z, m);
        let mut rest = LaneSum::new();
        let exp = |v: T| S::exp(v - m);
        lanes::map_sum::<T, false>(z, top, T::NEG_INFINITY, exp, &mut [], &mut rest);
        let r = rest.total();
        if !(m > T::NEG_INFINITY && m < T::INFINITY && r.is_finite()) {
            return Err(row_error(&Layout::new(self.c, 1), self.pred, g, true));
        }
        let log_norm = Float::ln_1p(r);
        let log_q_top = if r < small::<T>().to_f64() {
            log_rest(z, top, m) - log_norm
        } else {
            Float::ln(r) - log_norm
        };
        Ok(RowSoftmax {
            max: m,
            top,
            log_norm,
            inv_norm: T::from_f64(1.0 / (1.0 + r)),
            q_top: T::from_f64(r / (1.0 + r)),
            log_q_top: T::from_f64(log_q_top),
        })
    }

    /// Row g of logits `z`: writes its gradient and Hessian rows if asked,
    /// returns its loss (module docs).
    #[inline(always)]
    pub(super) fn logits_row<S: Isa>(
        &self,
        g: usize,
        z: &[T],
        mut grad: Option<&mut [T]>,
        mut hess: Option<&mut [T]>,
    ) -> Result<f64> {
        let c = self.c;
        let sm = self.softmax::<S>(g, z)?;
        let exp = |v: T| S::exp(v - sm.max);
        let (mut value, mut s_rest, mut v_rest, mut fisher) =
            (LaneSum::new(), LaneSum::new(), LaneSum::new(), LaneSum::new());
        let with_log = self.complement;
        for start in (0..c).step_by(LANES) {
            let zg = load(z, start, T::NEG_INFINITY);
            let coef = self.coefficients(g, start);
            let live = c - start;
            let mut sums = [[0.0; LANES]; 4];
            let (mut u, mut w) = ([T::ZERO; LANES], [T::ZERO; LANES]);
            for l in 0..LANES {
                let is_top = start + l == sm.top;
                let at = sm.point(is_top, zg[l], exp(zg[l]), with_log);
                let d = self.term.log_space(coef[l], at);
                let (counts, other) = (l < live, l < live && !is_top);
                (u[l], w[l]) = (d.first, d.second);
                sums[0][l] = select(counts, d.value.to_f64(), 0.0);
                sums[1][l] = select(other, d.first.to_f64(), 0.0);
                sums[2][l] = select(other, (d.second / at.q).to_f64(), 0.0);
                sums[3][l] = select(counts, d.second.to_f64(), 0.0);
            }
            let [v, s, vr, f] = sums;
            value.add(v);
            s_rest.add(s);
            if let Some(x) = grad.as_deref_mut() {
                store(x, start, &u);
            }
            if let Some(x) = hess.as_deref_mut() {
                store(x, start, &w);
                v_rest.add(vr);
                fisher.add(f);
            }
        }
        if grad.is_none() && hess.is_none() {
            return Ok(value.total());
        }
        // The top class's term once more, for u_t and w_t.
        let mut coef_t = [T::ZERO];
        self.targets.fill_row(c, g, sm.top, &mut coef_t);
        let d_t = self.term.log_space(coef_t[0], sm.point(true, sm.max, T::ONE, with_log));
        let s_rest = s_rest.total();
        let totals = RowTotals {
            s_rest: T::from_f64(s_rest),
            s_all: T::from_f64(s_rest + d_t.first.to_f64()),
            v_rest: T::from_f64(v_rest.total()),
            fisher: T::from_f64(fisher.total()),
            w_top: d_t.second,
        };
        match (grad, hess) {
            (Some(gr), Some(h)) => self.derivatives::<S, true, true>(z, &sm, &totals, gr, h),
            (Some(gr), None) => self.derivatives::<S, true, false>(z, &sm, &totals, gr, &mut []),
            (None, Some(h)) => self.derivatives::<S, false, true>(z, &sm, &totals, &mut [], h),
            (None, None) => {}
        }
        Ok(value.total())
    }

    /// Pass 4 (module docs): the gradient in place of u in `grad` (if
    /// `GRAD`), the Hessian in place of w in `hess` (if `HESS`), scaled
    /// and floored.
    #[inline(always)]
    fn derivatives<S: Isa, const GRAD: bool, const HESS: bool>(
        &self,
        z: &[T],
        sm: &RowSoftmax<T>,
        t: &RowTotals<T>,
        grad: &mut [T],
        hess: &mut [T],
    ) {
        let fisher = self.term.reports_fisher_weights();
        for start in (0..self.c).step_by(LANES) {
            let zg = load(z, start, T::NEG_INFINITY);
            let u = if GRAD { load(grad, start, T::ZERO) } else { [T::ZERO; LANES] };
            let w = if HESS { load(hess, start, T::ZERO) } else { [T::ZERO; LANES] };
            let (mut gv, mut hv) = ([T::ZERO; LANES], [T::ZERO; LANES]);
            for l in 0..LANES {
                let is_top = start + l == sm.top;
                let at = sm.point(is_top, zg[l], S::exp(zg[l] - sm.max), false);
                let (p, q) = (at.p, at.q);
                if GRAD {
                    let top = u[l] * q - p * t.s_rest;
                    gv[l] = self.scaled(select(is_top, top, u[l] - p * t.s_all));
                }
                if HESS {
                    let common = -p * q * t.s_all + p * p * t.v_rest;
                    let ratio = select(
                        p == T::ZERO,
                        T::ZERO,
                        (at.log_p - sm.log_q_top).exp().min(T::ONE),
                    );
                    let other = w[l] / q * (T::ONE - T::TWO * p) + common + p * ratio * t.w_top;
                    let exact = select(is_top, w[l] * q + common, other);
                    let h = select(fisher, t.fisher * p * q, exact);
                    hv[l] = floored(self.scaled(h), self.floor);
                }
            }
            if GRAD {
                store(grad, start, &gv);
            }
            if HESS {
                store(hess, start, &hv);
            }
        }
    }

    /// Row g of probabilities `x`: each class's derivatives are its
    /// term's, written scaled (and the Hessian floored); returns the loss.
    /// Fails on an entry outside [0, 1].
    #[inline(always)]
    pub(super) fn probability_row(
        &self,
        g: usize,
        x: &[T],
        mut grad: Option<&mut [T]>,
        mut hess: Option<&mut [T]>,
    ) -> Result<f64> {
        let c = self.c;
        let with_log = self.complement;
        let mut value = LaneSum::new();
        let mut valid = [true; LANES];
        for start in (0..c).step_by(LANES) {
            // Past the row's end: p = 1 with coefficient 0, a valid entry
            // whose terms are 0.
            let pg = load(x, start, T::ONE);
            let coef = self.coefficients(g, start);
            let live = c - start;
            let mut v = [0.0; LANES];
            let (mut first, mut second) = ([T::ZERO; LANES], [T::ZERO; LANES]);
            for l in 0..LANES {
                let p = pg[l];
                valid[l] &= (p >= T::ZERO) & (p <= T::ONE);
                let q = T::ONE - p;
                let at = ClassPoint {
                    log_p: p.ln(),
                    p,
                    log_q: if with_log { q.ln() } else { T::ZERO },
                    q,
                };
                let d: Derivatives<T> = self.term.prob_space(coef[l], at);
                v[l] = select(l < live, d.value.to_f64(), 0.0);
                first[l] = self.scaled(d.first);
                second[l] = floored(self.scaled(d.second), self.floor);
            }
            value.add(v);
            if let Some(x) = grad.as_deref_mut() {
                store(x, start, &first);
            }
            if let Some(x) = hess.as_deref_mut() {
                store(x, start, &second);
            }
        }
        if valid.contains(&false) {
            return Err(row_error(&Layout::new(c, 1), self.pred, g, false));
        }
        Ok(value.total())
    }
}

/// ln of the sum of e^(z_j - m) over j != t, when that sum is too small
/// for its own logarithm to be formed from it (f64).
#[cold]
#[inline(never)]
fn log_rest<T: Float>(z: &[T], t: usize, m: T) -> f64 {
    let others = z.iter().enumerate().filter(|&(j, _)| j != t);
    log_sum_exp(others.map(|(_, &v)| v - m)).to_f64()
}

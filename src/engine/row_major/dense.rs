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
//! The entropy's loss, -sum_j p_j ln p_j with ln p_j = (z_j - m) - ln s, is
//! summed as H = ln s + (1/s) sum_j e_j (m - z_j): ln s enters once, in
//! f64, instead of being rounded into each class's term in T (where, in a
//! row of equal logits, every term's rounding is the same and c of them
//! add up: f32 relative error 1.1e-7 at c = 10^5, now that of ln s).
//!
//! Probabilities: each class's term gives its own derivatives, in one pass.

use super::Setup;
use crate::engine::{p_times, row_error, times_scale, ClassPoint, ClassTerm, Layout, Targets};
use crate::error::Result;
use crate::float::{select, Float};
use crate::hessian::floored;
use crate::kernels::lanes::{self, LaneSum, LANES};
use crate::kernels::{log_sum_exp, small};
use crate::simd::Isa;

/// A row's softmax in the stable form of the module docs.
struct RowSoftmax<T> {
    /// The largest logit m and its first class t.
    max: T,
    top: usize,
    /// s = 1 + r and ln s, in f64.
    norm: f64,
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
                // ln_1p(-p), not ln(1 - p), which is 0 for p < eps/2.
                if with_log { (-p).ln_1p() } else { T::ZERO },
            ),
            q,
        }
    }
}

/// The row sums of pass 3, rounded once to T, and the top class's w.
struct RowTotals<T> {
    s_rest: T,
    s_all: T,
    /// V_rest, or for the Fisher surrogate C.
    v_rest: T,
    w_top: T,
    fisher: bool,
}

/// Classes evaluated per chunk: the per-class loops run over stack
/// buffers of this many entries (vectorised like the class-major engine's
/// column loops), and their sums join the row's f64 lane sums.
const CHUNK: usize = 256;

/// The chunks of a row of c classes, (first class, classes): [`CHUNK`]
/// each but the last two, the last one never shorter than [`LANES`] in a
/// row that is not, so that its sums put each class in the lane a pass
/// over the whole row does ([`lanes::group`]'s last group).
fn chunks(c: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut from = 0;
    core::iter::from_fn(move || {
        let left = c - from;
        let mut n = left.min(CHUNK);
        if (1..LANES).contains(&(left - n)) {
            n -= LANES;
        }
        let chunk = (from, n);
        from += n;
        (n > 0).then_some(chunk)
    })
}

/// A chunk's per-class results (module docs), before their sums: one per
/// segment (not per row: zeroing it costs about as much as a row of 1000
/// classes' loop).
pub(super) struct Chunk<T> {
    coef: [T; CHUNK],
    /// u and w where the caller asked for neither gradient nor Hessian.
    u: [T; CHUNK],
    w: [T; CHUNK],
    value: [f64; CHUNK],
    /// u, and w / q (Fisher: c), of the classes other than the top one.
    u_rest: [f64; CHUNK],
    v_rest: [f64; CHUNK],
}

impl<T: Float> Chunk<T> {
    pub(super) fn new() -> Self {
        Chunk {
            coef: [T::ZERO; CHUNK],
            u: [T::ZERO; CHUNK],
            w: [T::ZERO; CHUNK],
            value: [0.0; CHUNK],
            u_rest: [0.0; CHUNK],
            v_rest: [0.0; CHUNK],
        }
    }
}

/// Entries `from..from + n` of an output row, or of the chunk's scratch
/// when the caller did not ask for that output.
#[inline(always)]
fn row_or_scratch<'a, T>(
    out: Option<&'a mut [T]>,
    scratch: &'a mut [T],
    from: usize,
    n: usize,
) -> &'a mut [T] {
    match out {
        Some(x) => &mut x[from..from + n],
        None => &mut scratch[..n],
    }
}

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Setup<'_, T, Term, Tg> {
    /// A derivative times the reduction's scale ([`times_scale`]).
    #[inline(always)]
    fn scaled(&self, v: T) -> T {
        times_scale(v, self.scale)
    }

    /// Passes 1 and 2 over row g of logits `z` (module docs): m, the top
    /// class t (the first largest logit) and r = sum_{j != t} e_j, with
    /// the sum of `extra(z_j, e_j, m)` over j != t from the same exp pass
    /// in the same lanes; fails on an invalid row (m or r not finite).
    #[inline(always)]
    fn exp_pass<S: Isa>(
        &self,
        g: usize,
        z: &[T],
        extra: impl Fn(T, T, T) -> f64,
    ) -> Result<ExpPass<T>> {
        let m = lanes::max(z);
        let top = lanes::first_index_of(z, m);
        let (mut rest, mut extras) = (LaneSum::new(), LaneSum::new());
        let exp = lanes::ExpBelow::<S, T>::new(m);
        lanes::map_sums::<S, T, T, f64, false>(
            z,
            top,
            exp,
            |v, e| extra(v, e, m),
            &mut [],
            &mut rest,
            &mut extras,
        );
        let r = rest.total();
        if !(m > T::NEG_INFINITY && m < T::INFINITY && r.is_finite()) {
            return Err(row_error(&Layout::new(self.c, 1), self.pred, g, true));
        }
        Ok(ExpPass {
            max: m,
            top,
            rest: r,
            extra: extras.total(),
        })
    }

    /// Passes 1 and 2 over row g of logits `z` (module docs); fails on an
    /// invalid row.
    #[inline(always)]
    fn softmax<S: Isa>(&self, g: usize, z: &[T]) -> Result<RowSoftmax<T>> {
        // (Adding -0 is no addition: the compiler drops the second sum.)
        let ExpPass {
            max: m,
            top,
            rest: r,
            ..
        } = self.exp_pass::<S>(g, z, |_, _, _| -0.0)?;
        let log_norm = Float::ln_1p(r);
        let log_q_top = if r < small::<T>().to_f64() {
            log_rest(z, top, m) - log_norm
        } else {
            Float::ln(r) - log_norm
        };
        Ok(RowSoftmax {
            max: m,
            top,
            norm: 1.0 + r,
            log_norm,
            inv_norm: T::from_f64(1.0 / (1.0 + r)),
            q_top: T::from_f64(r / (1.0 + r)),
            log_q_top: T::from_f64(log_q_top),
        })
    }

    /// The entropy of row g of logits `z` without derivatives: passes 1
    /// and 2 with the sum of e_j (m - z_j) in the pass of r (the top
    /// class's share is 0 either way), in the lanes of the chunk loop's
    /// sum, so the same bits as with derivatives.
    #[inline(always)]
    fn entropy_value<S: Isa>(&self, g: usize, z: &[T]) -> Result<f64> {
        let pass = self.exp_pass::<S>(g, z, |v, e, m| shifted(e, m, v))?;
        Ok(Float::ln_1p(pass.rest) + pass.extra / (1.0 + pass.rest))
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
        ch: &mut Chunk<T>,
    ) -> Result<f64> {
        let c = self.c;
        let derivs = grad.is_some() || hess.is_some();
        if self.term.is_entropy() && !derivs {
            return self.entropy_value::<S>(g, z);
        }
        let sm = self.softmax::<S>(g, z)?;
        let (mut value, mut s_rest, mut v_rest) = (LaneSum::new(), LaneSum::new(), LaneSum::new());
        let fisher = self.term.reports_fisher_weights();
        for (from, n) in chunks(c) {
            self.targets.fill_row(c, g, from, &mut ch.coef[..n]);
            let u = row_or_scratch(grad.as_deref_mut(), &mut ch.u, from, n);
            let w = row_or_scratch(hess.as_deref_mut(), &mut ch.w, from, n);
            // Flags as constants, so that the loop holds only what it needs
            // (a runtime flag is if-converted: ln(1 - p) would be formed
            // anyway); direct calls, which inline into the instruction
            // set's function (a function pointer would not).
            let top = (sm.top.wrapping_sub(from), fisher, self.term.is_entropy());
            let sums = (&mut ch.value[..n], &mut ch.u_rest[..n], &mut ch.v_rest[..n]);
            let (z, coef) = (&z[from..from + n], &ch.coef[..n]);
            let term = self.term;
            match (derivs, self.complement) {
                (true, true) => {
                    log_space_chunk::<S, T, Term, true, true>(term, &sm, top, z, coef, u, w, sums)
                }
                (true, false) => {
                    log_space_chunk::<S, T, Term, true, false>(term, &sm, top, z, coef, u, w, sums)
                }
                (false, true) => {
                    log_space_chunk::<S, T, Term, false, true>(term, &sm, top, z, coef, u, w, sums)
                }
                (false, false) => {
                    log_space_chunk::<S, T, Term, false, false>(term, &sm, top, z, coef, u, w, sums)
                }
            }
            lanes::sum_except(&ch.value[..n], usize::MAX, &mut value);
            if derivs {
                lanes::sum_except(&ch.u_rest[..n], usize::MAX, &mut s_rest);
            }
            if hess.is_some() {
                lanes::sum_except(&ch.v_rest[..n], usize::MAX, &mut v_rest);
            }
        }
        let value = if self.term.is_entropy() {
            sm.log_norm + value.total() / sm.norm
        } else {
            value.total()
        };
        if grad.is_none() && hess.is_none() {
            return Ok(value);
        }
        // The top class's term once more, for u_t and w_t.
        let mut coef_t = [T::ZERO];
        self.targets.fill_row(c, g, sm.top, &mut coef_t);
        let d_t = self
            .term
            .log_space(coef_t[0], sm.point(true, sm.max, T::ONE, self.complement));
        let s_rest = s_rest.total();
        let totals = RowTotals {
            s_rest: T::from_f64(s_rest),
            s_all: T::from_f64(s_rest + d_t.first.to_f64()),
            // Fisher: C = sum of every c_j.
            v_rest: T::from_f64(v_rest.total() + select(fisher, d_t.second.to_f64(), 0.0)),
            w_top: d_t.second,
            fisher,
        };
        match (grad, hess) {
            (Some(gr), Some(h)) => derivatives::<S, T, true, true>(self, z, &sm, &totals, gr, h),
            (Some(gr), None) => {
                derivatives::<S, T, true, false>(self, z, &sm, &totals, gr, &mut [])
            }
            (None, Some(h)) => derivatives::<S, T, false, true>(self, z, &sm, &totals, &mut [], h),
            (None, None) => {}
        }
        Ok(value)
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
        ch: &mut Chunk<T>,
    ) -> Result<f64> {
        let c = self.c;
        if self.targets.is_one_hot() {
            return self.one_hot_probability_row(g, x, grad, hess);
        }
        let mut value = LaneSum::new();
        let mut valid = true;
        for (from, n) in chunks(c) {
            self.targets.fill_row(c, g, from, &mut ch.coef[..n]);
            let first = row_or_scratch(grad.as_deref_mut(), &mut ch.u, from, n);
            let second = row_or_scratch(hess.as_deref_mut(), &mut ch.w, from, n);
            valid &= prob_space_chunk(
                self.term,
                (self.complement, self.scale, self.floor),
                &x[from..from + n],
                &ch.coef[..n],
                first,
                second,
                &mut ch.value[..n],
            );
            lanes::sum_except(&ch.value[..n], usize::MAX, &mut value);
        }
        if !valid {
            return Err(row_error(&Layout::new(c, 1), self.pred, g, false));
        }
        Ok(value.total())
    }
}

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Setup<'_, T, Term, Tg> {
    /// [`Setup::probability_row`] with one-hot targets: the label's term
    /// is the only nonzero one (the others' coefficients are 0), so only it
    /// is evaluated, after the whole row is validated.
    #[inline(always)]
    fn one_hot_probability_row(
        &self,
        g: usize,
        x: &[T],
        grad: Option<&mut [T]>,
        hess: Option<&mut [T]>,
    ) -> Result<f64> {
        let valid = x
            .iter()
            .fold(true, |ok, &p| ok & (p >= T::ZERO) & (p <= T::ONE));
        if !valid {
            return Err(row_error(&Layout::new(self.c, 1), self.pred, g, false));
        }
        let (y, a) = self.targets.one_hot(g);
        let (mut first, mut second, mut value) = ([T::ZERO], [T::ZERO], [0.0]);
        prob_space_chunk(
            self.term,
            (self.complement, self.scale, self.floor),
            &x[y..y + 1],
            &[a],
            &mut first,
            &mut second,
            &mut value,
        );
        // The other classes: gradient 0, Hessian 0 raised to the floor.
        for (out, d, other) in [
            (grad, first[0], T::ZERO),
            (hess, second[0], floored(T::ZERO, self.floor)),
        ] {
            if let Some(out) = out {
                out.fill(other);
                out[y] = d;
            }
        }
        Ok(value[0])
    }
}

// The chunk kernels take every buffer as its own slice argument (no
// aliasing, so the loops vectorise without overlap checks).

/// Pass 3 over a chunk of a row's classes (`top`: the top class's index
/// in the chunk, if there): u and w of each class, its loss, and (if
/// `SUMS`: derivatives are asked for) its shares of S_rest and V_rest
/// (Fisher: of C); ln(1 - p) only if `LOG`. The entropy's value is
/// e (m - z) (module docs).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn log_space_chunk<S: Isa, T: Float, Term: ClassTerm<T>, const SUMS: bool, const LOG: bool>(
    term: &Term,
    sm: &RowSoftmax<T>,
    (top, fisher, entropy): (usize, bool, bool),
    z: &[T],
    coef: &[T],
    u: &mut [T],
    w: &mut [T],
    (value, u_rest, v_rest): (&mut [f64], &mut [f64], &mut [f64]),
) {
    let n = z.len();
    let (coef, u, w) = (&coef[..n], &mut u[..n], &mut w[..n]);
    let (value, u_rest, v_rest) = (&mut value[..n], &mut u_rest[..n], &mut v_rest[..n]);
    for k in 0..n {
        let is_top = k == top;
        let e = S::exp(z[k] - sm.max);
        let at = sm.point(is_top, z[k], e, LOG);
        let d = term.log_space(coef[k], at);
        (u[k], w[k]) = (d.first, d.second);
        value[k] = select(entropy, shifted(e, sm.max, z[k]), d.value.to_f64());
        if SUMS {
            u_rest[k] = select(is_top, 0.0, d.first.to_f64());
            let v = select(fisher, d.second, d.second / at.q);
            v_rest[k] = select(is_top, 0.0, v.to_f64());
        }
    }
}

/// A class's share e (m - z) of the entropy's sum (module docs), in f64;
/// 0 where e = 0, also for z = -Inf.
#[inline(always)]
fn shifted<T: Float>(e: T, m: T, z: T) -> f64 {
    select(e == T::ZERO, 0.0, e.to_f64() * (m.to_f64() - z.to_f64()))
}

/// What [`Setup::exp_pass`] finds of a row.
struct ExpPass<T> {
    max: T,
    top: usize,
    /// r = sum_{j != top} e_j.
    rest: f64,
    /// The sum of the pass's extra terms.
    extra: f64,
}

/// Pass 4 (module docs): the gradient in place of u in `grad` (if `GRAD`),
/// the Hessian in place of w in `hess` (if `HESS`), scaled and floored.
#[inline(always)]
fn derivatives<S: Isa, T: Float, const GRAD: bool, const HESS: bool>(
    setup: &Setup<'_, T, impl ClassTerm<T>, impl Targets<T>>,
    z: &[T],
    sm: &RowSoftmax<T>,
    t: &RowTotals<T>,
    grad: &mut [T],
    hess: &mut [T],
) {
    let n = z.len();
    let grad = if GRAD { &mut grad[..n] } else { grad };
    let hess = if HESS { &mut hess[..n] } else { hess };
    for k in 0..n {
        let is_top = k == sm.top;
        let at = sm.point(is_top, z[k], S::exp(z[k] - sm.max), false);
        let (p, q) = (at.p, at.q);
        if GRAD {
            let u = grad[k];
            let top = u * q - p_times(p, t.s_rest);
            grad[k] = setup.scaled(select(is_top, top, u - p_times(p, t.s_all)));
        }
        if HESS {
            let w = hess[k];
            let common = p_times(p, -q * t.s_all + p * t.v_rest);
            let ratio = select(
                p == T::ZERO,
                T::ZERO,
                (at.log_p - sm.log_q_top).exp().min(T::ONE),
            );
            let other = w / q * (T::ONE - T::TWO * p) + common + p_times(p, ratio * t.w_top);
            let exact = select(is_top, w * q + common, other);
            // Fisher: C p q, C in place of V_rest.
            let h = select(t.fisher, p_times(p, t.v_rest * q), exact);
            hess[k] = floored(setup.scaled(h), setup.floor);
        }
    }
}

/// A chunk of a row of probabilities: each class's loss and its scaled
/// (and, the Hessian, floored) derivatives; whether every entry is in
/// [0, 1].
#[inline(always)]
fn prob_space_chunk<T: Float, Term: ClassTerm<T>>(
    term: &Term,
    (with_log, scale, floor): (bool, T, T),
    x: &[T],
    coef: &[T],
    first: &mut [T],
    second: &mut [T],
    value: &mut [f64],
) -> bool {
    let n = x.len();
    let (coef, first, second, value) = (
        &coef[..n],
        &mut first[..n],
        &mut second[..n],
        &mut value[..n],
    );
    let mut valid = true;
    for k in 0..n {
        let p = x[k];
        valid &= (p >= T::ZERO) & (p <= T::ONE);
        let q = T::ONE - p;
        let at = ClassPoint {
            log_p: p.ln(),
            p,
            log_q: if with_log { (-p).ln_1p() } else { T::ZERO },
            q,
        };
        let d = term.prob_space(coef[k], at);
        value[k] = d.value.to_f64();
        first[k] = times_scale(d.first, scale);
        second[k] = floored(times_scale(d.second, scale), floor);
    }
    valid
}

/// ln of the sum of e^(z_j - m) over j != t, when that sum is too small
/// for its own logarithm to be formed from it (f64).
#[cold]
#[inline(never)]
fn log_rest<T: Float>(z: &[T], t: usize, m: T) -> f64 {
    let others = z.iter().enumerate().filter(|&(j, _)| j != t);
    log_sum_exp(others.map(|(_, &v)| v - m)).to_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_row_in_whole_groups_with_a_long_last_chunk() {
        for c in [
            1usize, 15, 16, 17, 255, 256, 257, 271, 272, 520, 1000, 1024, 1031,
        ] {
            let all: Vec<_> = chunks(c).collect();
            let mut next = 0;
            for &(from, n) in &all {
                assert_eq!(from, next, "c {c}");
                assert!(from % LANES == 0 && n > 0 && n <= CHUNK, "c {c}: {all:?}");
                next = from + n;
            }
            assert_eq!(next, c);
            assert!(all.last().unwrap().1 >= LANES.min(c), "c {c}: {all:?}");
        }
    }
}

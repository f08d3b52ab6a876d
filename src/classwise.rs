//! The engine of every multi-class loss: a row's loss is a sum of per-class
//! terms, L = sum_j G_j(p_j), and one implementation turns the terms'
//! derivatives into gradients and Hessian diagonals for probabilities and
//! for logits, under every reduction.
//!
//! With logits, p = softmax(z) and l_j = ln p_j, so d l_j / d z_k =
//! [j = k] - p_k. Writing u_j = dG_j/dl_j, v_j = d^2 G_j/dl_j^2, S = sum u_j
//! and V = sum v_j:
//!
//!   dL/dz_k     = u_k - p_k S   (top class: u_k (1 - p_k) - p_k (S - u_k))
//!   d^2L/dz_k^2 = v_k (1 - 2 p_k) - p_k (1 - p_k) S + p_k^2 V
//!
//! A focal term with gamma < 1 has v_j growing like (1 - p_j)^(gamma - 1)
//! as p_j -> 1, so terms report w_j = (1 - p_j) v_j instead, which stays
//! finite, and the top class (the only one that can have p > 1/2) is
//! assembled as w (1 - p) - p (1 - p) S + p^2 V_rest, where V_rest sums the
//! other classes: no infinity ever meets a zero.

use crate::error::Result;
use crate::float::select;
use crate::float::Float;
use crate::kernels::{self, RowScratch, Softmax, LANES};
use crate::options::{Input, Options};
use crate::reduce::{Outputs, Reducer};

/// Where one class's term is evaluated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClassPoint<T> {
    /// ln p.
    pub log_p: T,
    pub p: T,
    /// ln(1 - p) (only meaningful when the term asked for the complement).
    pub log_q: T,
    /// 1 - p (likewise).
    pub q: T,
}

/// A term's value and its first and second derivative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Derivatives<T> {
    pub value: T,
    pub first: T,
    pub second: T,
}

impl<T: Float> Derivatives<T> {
    pub(crate) const ZERO: Self = Derivatives {
        value: T::ZERO,
        first: T::ZERO,
        second: T::ZERO,
    };
}

/// One class's contribution G(p) to a row's loss, scaled by a per-class
/// coefficient (target probability times class weight, 1 for entropy).
pub(crate) trait ClassTerm<T: Float> {
    /// Whether the term needs ln(1 - p) and 1 - p.
    fn needs_complement(&self) -> bool;
    /// G, dG/dl and (1 - p) d^2G/dl^2, at l = ln p (the logits path).
    fn log_space(&self, coef: T, at: ClassPoint<T>) -> Derivatives<T>;
    /// G, dG/dp and d^2G/dp^2 (the probabilities path).
    fn prob_space(&self, coef: T, at: ClassPoint<T>) -> Derivatives<T>;
}

/// Computes a multi-class loss over the rows of `pred` (c classes each).
///
/// `coefficients(i, coef)` fills row i's per-class coefficients and returns
/// false if the row is ignored (its loss, gradient and Hessian are 0).
pub(crate) fn compute<T, Term, Coefs>(
    pred: &[T],
    c: usize,
    opts: &Options,
    term: &Term,
    mut coefficients: Coefs,
    mut reducer: Reducer,
    outputs: &mut Outputs<T>,
) -> Result<()>
where
    T: Float,
    Term: ClassTerm<T>,
    Coefs: FnMut(usize, &mut [T]) -> bool,
{
    let want_hess = outputs.hess.is_some();
    let complement = term.needs_complement() || want_hess;
    let scale = reducer.derivative_scale::<T>();
    let logits = opts.input == Input::Logits;
    let padding = if logits { T::NEG_INFINITY } else { T::ZERO };
    let mut scratch = RowScratch::new(c, padding);
    let len = scratch.input.len();
    let mut coef = vec![T::ZERO; len];
    let mut first = vec![T::ZERO; len];
    let mut second = vec![T::ZERO; len];
    for (i, row) in pred.chunks_exact(c).enumerate() {
        let span = i * c..(i + 1) * c;
        if !coefficients(i, &mut coef[..c]) {
            reducer.add(outputs.out, i, T::ZERO);
            for buf in [&mut outputs.grad, &mut outputs.hess].into_iter().flatten() {
                buf[span.clone()].fill(T::ZERO);
            }
            continue;
        }
        if logits {
            let sm = kernels::load_logits(row, i * c, &mut scratch)?;
            let (value, s_rest) = if complement {
                logits_pass::<T, Term, true>(
                    term,
                    &sm,
                    &coef,
                    &mut scratch,
                    &mut first,
                    &mut second,
                )
            } else {
                logits_pass::<T, Term, false>(
                    term,
                    &sm,
                    &coef,
                    &mut scratch,
                    &mut first,
                    &mut second,
                )
            };
            reducer.add(outputs.out, i, value);
            let s = s_rest + first[sm.top];
            if let Some(grad) = outputs.grad.as_deref_mut() {
                let grad = &mut grad[span.clone()];
                for ((g, &u), &p) in grad.iter_mut().zip(&first).zip(&scratch.p) {
                    *g = (u - p * s) * scale;
                }
                // Top class: u - p S = u (1 - p) - p S_rest, without the
                // cancellation of u - p S when p -> 1.
                grad[sm.top] = (first[sm.top] * sm.q_top - sm.inv_norm * s_rest) * scale;
            }
            if let Some(hess) = outputs.hess.as_deref_mut() {
                softmax_hessian(&mut hess[span], &second, s, sm.top, &scratch, scale);
            }
        } else {
            kernels::load_probs(row, i * c, &mut scratch)?;
            let value = if complement {
                probs_pass::<T, Term, true>(term, &coef, &mut scratch, &mut first, &mut second)
            } else {
                probs_pass::<T, Term, false>(term, &coef, &mut scratch, &mut first, &mut second)
            };
            reducer.add(outputs.out, i, value);
            for (buf, src) in [(&mut outputs.grad, &first), (&mut outputs.hess, &second)] {
                if let Some(buf) = buf.as_deref_mut() {
                    for (d, &s) in buf[span.clone()].iter_mut().zip(src.iter()) {
                        *d = s * scale;
                    }
                }
            }
        }
    }
    reducer.finish(outputs.out);
    Ok(())
}

/// The per-class pass over a row of logits: forms ln p, p, 1 - p and (with
/// `COMPLEMENT`) ln(1 - p) of every class, evaluates the terms into `first`
/// and `second`, and returns the row's loss and the sum S_rest of the
/// terms' dG/dl over the classes other than the top one. One straight loop
/// over padded chunks, which the compiler vectorises.
#[inline(always)]
fn logits_pass<T: Float, Term: ClassTerm<T>, const COMPLEMENT: bool>(
    term: &Term,
    sm: &Softmax<T>,
    coef: &[T],
    at: &mut RowScratch<T>,
    first: &mut [T],
    second: &mut [T],
) -> (T, T) {
    let mut value = [T::ZERO; LANES];
    let mut s_rest = [T::ZERO; LANES];
    let chunks = at
        .input
        .chunks_exact(LANES)
        .zip(at.p.chunks_exact_mut(LANES))
        .zip(at.log_p.chunks_exact_mut(LANES))
        .zip(at.q.chunks_exact_mut(LANES))
        .zip(at.log_q.chunks_exact_mut(LANES))
        .zip(coef.chunks_exact(LANES))
        .zip(
            first
                .chunks_exact_mut(LANES)
                .zip(second.chunks_exact_mut(LANES)),
        );
    for (k, ((((((z, p), log_p), q), log_q), a), (u, w))) in chunks.enumerate() {
        for l in 0..LANES {
            let is_top = k * LANES + l == sm.top;
            log_p[l] = (z[l] - sm.max) - sm.log_norm;
            p[l] *= sm.inv_norm;
            q[l] = select(is_top, sm.q_top, T::ONE - p[l]);
            if COMPLEMENT {
                log_q[l] = select(is_top, sm.log_q_top, q[l].ln());
            }
            let point = ClassPoint {
                log_p: log_p[l],
                p: p[l],
                log_q: log_q[l],
                q: q[l],
            };
            let d = term.log_space(a[l], point);
            (u[l], w[l]) = (d.first, d.second);
            value[l] += d.value;
            s_rest[l] += select(is_top, T::ZERO, d.first);
        }
    }
    (kernels::combine(value), kernels::combine(s_rest))
}

/// The per-class pass over a row of probabilities: forms ln p, 1 - p and
/// (with `COMPLEMENT`) ln(1 - p), evaluates the terms' derivatives with
/// respect to p into `first` and `second`, and returns the row's loss.
#[inline(always)]
fn probs_pass<T: Float, Term: ClassTerm<T>, const COMPLEMENT: bool>(
    term: &Term,
    coef: &[T],
    at: &mut RowScratch<T>,
    first: &mut [T],
    second: &mut [T],
) -> T {
    let mut value = [T::ZERO; LANES];
    let chunks = at
        .input
        .chunks_exact(LANES)
        .zip(coef.chunks_exact(LANES))
        .zip(
            first
                .chunks_exact_mut(LANES)
                .zip(second.chunks_exact_mut(LANES)),
        );
    for ((p, a), (u, w)) in chunks {
        for l in 0..LANES {
            let q = T::ONE - p[l];
            let point = ClassPoint {
                log_p: p[l].ln(),
                p: p[l],
                log_q: if COMPLEMENT { q.ln() } else { T::ZERO },
                q,
            };
            let d = term.prob_space(a[l], point);
            (u[l], w[l]) = (d.first, d.second);
            value[l] += d.value;
        }
    }
    kernels::combine(value)
}

/// The Hessian diagonal with respect to the logits (module docs), from
/// w = (1 - p) v (`second`) and S = sum u.
fn softmax_hessian<T: Float>(
    hess: &mut [T],
    second: &[T],
    s: T,
    top: usize,
    at: &RowScratch<T>,
    scale: T,
) {
    let c = hess.len();
    let (p, q, log_p) = (&at.p[..c], &at.q[..c], &at.log_p[..c]);
    let second = &second[..c];
    // V_rest = sum over the other classes of v_j = w_j / q_j (q_j >= 1/2 there).
    let v_rest = (0..c)
        .filter(|&j| j != top)
        .fold(T::ZERO, |acc, j| acc + second[j] / q[j]);
    let w_top = second[top];
    let log_q_top = at.log_q[top];
    for j in 0..c {
        let (pj, qj) = (p[j], q[j]);
        // p_j^2 v_top = p_j (p_j / q_top) w_top, with p_j / q_top <= 1.
        let ratio = select(
            pj == T::ZERO,
            T::ZERO,
            (log_p[j] - log_q_top).exp().min(T::ONE),
        );
        let h = second[j] / qj * (T::ONE - T::TWO * pj) - pj * qj * s
            + pj * pj * v_rest
            + pj * ratio * w_top;
        hess[j] = h * scale;
    }
    let (pt, qt) = (p[top], q[top]);
    hess[top] = (w_top * qt - pt * qt * s + pt * pt * v_rest) * scale;
}

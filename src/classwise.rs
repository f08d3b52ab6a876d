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
use crate::float::Float;
use crate::kernels::{self, RowScratch};
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

/// Computes a multi-class loss over `n` rows of `c` predictions.
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
    let complement = term.needs_complement() || (want_hess && opts.input == Input::Logits);
    let scale = reducer.derivative_scale::<T>();
    let mut scratch = RowScratch::new(c);
    let mut coef = vec![T::ZERO; c];
    let mut values = vec![T::ZERO; c];
    let mut first = vec![T::ZERO; c];
    let mut second = vec![T::ZERO; c];
    for (i, row) in pred.chunks_exact(c).enumerate() {
        let span = i * c..(i + 1) * c;
        if !coefficients(i, &mut coef) {
            reducer.add(outputs.out, i, T::ZERO);
            for buf in [&mut outputs.grad, &mut outputs.hess].into_iter().flatten() {
                buf[span.clone()].fill(T::ZERO);
            }
            continue;
        }
        let top = match opts.input {
            Input::Logits => Some(kernels::log_softmax(row, i * c, &mut scratch, complement)?),
            Input::Probs => {
                kernels::log_probs(row, i * c, &mut scratch, complement)?;
                None
            }
        };
        let value = evaluate_terms(
            term,
            top.is_some(),
            &coef,
            &scratch,
            &mut values,
            &mut first,
            &mut second,
        );
        reducer.add(outputs.out, i, value);
        match top {
            None => {
                if let Some(grad) = outputs.grad.as_deref_mut() {
                    scaled_copy(&mut grad[span.clone()], &first, scale);
                }
                if let Some(hess) = outputs.hess.as_deref_mut() {
                    scaled_copy(&mut hess[span], &second, scale);
                }
            }
            Some(top) => {
                let u_top = first[top];
                first[top] = T::ZERO;
                let s_rest = kernels::sum(&first);
                first[top] = u_top;
                let s = s_rest + u_top;
                if let Some(grad) = outputs.grad.as_deref_mut() {
                    let grad = &mut grad[span.clone()];
                    for ((g, &u), &p) in grad.iter_mut().zip(&first).zip(&scratch.p) {
                        *g = (u - p * s) * scale;
                    }
                    // Top class: u - p S = u (1 - p) - p S_rest, without the
                    // cancellation of u - p S when p -> 1.
                    let (u, p, q) = (first[top], scratch.p[top], scratch.q[top]);
                    grad[top] = (u * q - p * s_rest) * scale;
                }
                if let Some(hess) = outputs.hess.as_deref_mut() {
                    softmax_hessian(&mut hess[span], &second, s, top, &scratch, scale);
                }
            }
        }
    }
    reducer.finish(outputs.out);
    Ok(())
}

/// Evaluates the term of every class of a row into `values`, `first` and
/// `second` (one straight pass over equal-length slices, which the compiler
/// vectorises); returns the row's loss.
#[inline(always)]
fn evaluate_terms<T: Float, Term: ClassTerm<T>>(
    term: &Term,
    log_space: bool,
    coef: &[T],
    at: &RowScratch<T>,
    values: &mut [T],
    first: &mut [T],
    second: &mut [T],
) -> T {
    let c = coef.len();
    let (log_p, p, log_q, q) = (&at.log_p[..c], &at.p[..c], &at.log_q[..c], &at.q[..c]);
    let (values, first, second) = (&mut values[..c], &mut first[..c], &mut second[..c]);
    for j in 0..c {
        let point = ClassPoint {
            log_p: log_p[j],
            p: p[j],
            log_q: log_q[j],
            q: q[j],
        };
        let d = if log_space {
            term.log_space(coef[j], point)
        } else {
            term.prob_space(coef[j], point)
        };
        values[j] = d.value;
        first[j] = d.first;
        second[j] = d.second;
    }
    kernels::sum(values)
}

fn scaled_copy<T: Float>(dst: &mut [T], src: &[T], scale: T) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s * scale;
    }
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
    let (p, q) = (&at.p, &at.q);
    // V_rest = sum over the other classes of v_j = w_j / q_j (q_j >= 1/2 there).
    let v_rest = (0..hess.len())
        .filter(|&j| j != top)
        .fold(T::ZERO, |acc, j| acc + second[j] / q[j]);
    let w_top = second[top];
    let log_q_top = at.log_q[top];
    for j in 0..hess.len() {
        let (pj, qj) = (p[j], q[j]);
        let h = if j == top {
            w_top * qj - pj * qj * s + pj * pj * v_rest
        } else {
            // p_j^2 v_top = p_j (p_j / q_top) w_top, with p_j / q_top <= 1.
            let ratio = if pj == T::ZERO {
                T::ZERO
            } else {
                (at.log_p[j] - log_q_top).exp().min(T::ONE)
            };
            second[j] / qj * (T::ONE - T::TWO * pj) - pj * qj * s
                + pj * pj * v_rest
                + pj * ratio * w_top
        };
        hess[j] = h * scale;
    }
}

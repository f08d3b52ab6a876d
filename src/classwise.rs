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
use crate::kernels::{self, padded_len, TopClass};
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

/// Elements per block: rows are processed in blocks of about this many
/// (padded) entries, so that the per-element passes are long loops even
/// when c is small, and the buffers stay in the L1/L2 cache.
const BLOCK: usize = 2048;

/// Buffers of one block of rows, each row padded to `width` entries.
struct Block<T> {
    width: usize,
    coef: Vec<T>,
    p: Vec<T>,
    log_p: Vec<T>,
    q: Vec<T>,
    log_q: Vec<T>,
    values: Vec<T>,
    first: Vec<T>,
    second: Vec<T>,
    counted: Vec<bool>,
    top: Vec<TopClass<T>>,
}

impl<T: Float> Block<T> {
    fn new(c: usize, rows: usize) -> Self {
        let width = padded_len(c);
        let len = rows * width;
        Block {
            width,
            coef: vec![T::ZERO; len],
            p: vec![T::ZERO; len],
            log_p: vec![T::NEG_INFINITY; len],
            q: vec![T::ONE; len],
            log_q: vec![T::ZERO; len],
            values: vec![T::ZERO; len],
            first: vec![T::ZERO; len],
            second: vec![T::ZERO; len],
            counted: vec![false; rows],
            top: vec![
                TopClass {
                    index: 0,
                    q: T::ZERO,
                    log_q: T::ZERO
                };
                rows
            ],
        }
    }

    fn row(&self, r: usize) -> core::ops::Range<usize> {
        r * self.width..(r + 1) * self.width
    }
}

/// Computes a multi-class loss over the rows of `pred` (c classes each).
///
/// `coefficients(i, coef)` fills row i's per-class coefficients and returns
/// false if the row is ignored (its loss, gradient and Hessian are 0, its
/// predictions are not read).
///
/// Rows go through in blocks: per-row steps (loading and validating, the
/// softmax normalisation, sums, the gradient) alternate with passes over
/// the whole block (exp, ln(1 - p), the terms), which vectorise well
/// whatever c is.
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
    let logits = opts.input == Input::Logits;
    let complement = term.needs_complement() || outputs.hess.is_some();
    let scale = reducer.derivative_scale::<T>();
    let rows_per_block = (BLOCK / padded_len(c)).max(1);
    let mut b = Block::new(c, rows_per_block);
    for (block_index, rows) in pred.chunks(rows_per_block * c).enumerate() {
        let first_row = block_index * rows_per_block;
        let n_rows = rows.len() / c;
        let len = n_rows * b.width;
        // Per row: coefficients, then load and validate the predictions.
        for (r, row) in rows.chunks_exact(c).enumerate() {
            let span = b.row(r);
            let i = first_row + r;
            b.counted[r] = coefficients(i, &mut b.coef[span.start..span.start + c]);
            if !b.counted[r] {
                b.log_p[span.clone()].fill(T::NEG_INFINITY);
                b.p[span].fill(T::ZERO);
            } else if logits {
                kernels::load_logits(row, i * c, &mut b.log_p[span])?;
            } else {
                kernels::load_probs(row, i * c, &mut b.p[span])?;
            }
        }
        if logits {
            b.p[..len].copy_from_slice(&b.log_p[..len]);
            kernels::exp_in_place(&mut b.p[..len]);
            for r in 0..n_rows {
                let span = b.row(r);
                b.top[r] = kernels::normalise(c, &mut b.log_p[span.clone()], &mut b.p[span]);
            }
        } else {
            for (lp, &p) in b.log_p[..len].iter_mut().zip(&b.p[..len]) {
                *lp = p.ln();
            }
        }
        complements(
            &b.p[..len],
            &mut b.q[..len],
            &mut b.log_q[..len],
            complement,
        );
        if logits {
            // The top class's complement, formed from the other classes.
            for r in 0..n_rows {
                let at = b.row(r).start + b.top[r].index;
                (b.q[at], b.log_q[at]) = (b.top[r].q, b.top[r].log_q);
            }
        }
        evaluate_terms(term, logits, &mut b, len);
        // Per row: reduce, and write the derivatives.
        for r in 0..n_rows {
            let i = first_row + r;
            let (span, out) = (b.row(r), i * c..(i + 1) * c);
            if !b.counted[r] {
                reducer.add(outputs.out, i, T::ZERO);
                for buf in [&mut outputs.grad, &mut outputs.hess].into_iter().flatten() {
                    buf[out.clone()].fill(T::ZERO);
                }
                continue;
            }
            reducer.add(outputs.out, i, kernels::sum(&b.values[span.clone()]));
            if logits {
                softmax_derivatives(&mut b, r, c, scale, outputs, out);
            } else {
                for (buf, src) in [
                    (&mut outputs.grad, &b.first),
                    (&mut outputs.hess, &b.second),
                ] {
                    if let Some(buf) = buf.as_deref_mut() {
                        for (d, &s) in buf[out.clone()].iter_mut().zip(&src[span.clone()]) {
                            *d = s * scale;
                        }
                    }
                }
            }
        }
    }
    reducer.finish(outputs.out);
    Ok(())
}

/// q = 1 - p and, when asked, ln q, over a whole block.
fn complements<T: Float>(p: &[T], q: &mut [T], log_q: &mut [T], with_log: bool) {
    for (qj, &pj) in q.iter_mut().zip(p) {
        *qj = T::ONE - pj;
    }
    if with_log {
        for (lq, &qj) in log_q.iter_mut().zip(q.iter()) {
            *lq = qj.ln();
        }
    }
}

/// Evaluates the term of every class of the block into `values`, `first`
/// and `second`: one straight loop, which the compiler vectorises.
fn evaluate_terms<T: Float, Term: ClassTerm<T>>(
    term: &Term,
    logits: bool,
    b: &mut Block<T>,
    len: usize,
) {
    let (coef, p, log_p, q, log_q) = (
        &b.coef[..len],
        &b.p[..len],
        &b.log_p[..len],
        &b.q[..len],
        &b.log_q[..len],
    );
    let (values, first, second) = (
        &mut b.values[..len],
        &mut b.first[..len],
        &mut b.second[..len],
    );
    let point = |j: usize| ClassPoint {
        log_p: log_p[j],
        p: p[j],
        log_q: log_q[j],
        q: q[j],
    };
    // Two loops rather than a branch inside one, so that each vectorises.
    if logits {
        for j in 0..len {
            let d = term.log_space(coef[j], point(j));
            (values[j], first[j], second[j]) = (d.value, d.first, d.second);
        }
    } else {
        for j in 0..len {
            let d = term.prob_space(coef[j], point(j));
            (values[j], first[j], second[j]) = (d.value, d.first, d.second);
        }
    }
}

/// Writes row r's gradient and Hessian diagonal with respect to the logits
/// (module docs) to the rows `out` of the outputs.
fn softmax_derivatives<T: Float>(
    b: &mut Block<T>,
    r: usize,
    c: usize,
    scale: T,
    outputs: &mut Outputs<T>,
    out: core::ops::Range<usize>,
) {
    let span = b.row(r);
    let top = b.top[r];
    let k = top.index;
    // S_rest = sum of u over the classes other than the top one (summed
    // without it, not subtracted).
    let u_top = b.first[span.start + k];
    b.first[span.start + k] = T::ZERO;
    let s_rest = kernels::sum(&b.first[span.clone()]);
    b.first[span.start + k] = u_top;
    let s = s_rest + u_top;
    let (u, p) = (&b.first[span.clone()], &b.p[span.clone()]);
    if let Some(grad) = outputs.grad.as_deref_mut() {
        let grad = &mut grad[out.clone()];
        for ((g, &uj), &pj) in grad.iter_mut().zip(u).zip(p) {
            *g = (uj - pj * s) * scale;
        }
        // Top class: u - p S = u (1 - p) - p S_rest, without the
        // cancellation of u - p S when p -> 1.
        grad[k] = (u[k] * top.q - p[k] * s_rest) * scale;
    }
    if let Some(hess) = outputs.hess.as_deref_mut() {
        let (q, log_p, w) = (&b.q[span.clone()], &b.log_p[span.clone()], &b.second[span]);
        softmax_hessian(
            &mut hess[out],
            &w[..c],
            &p[..c],
            &q[..c],
            &log_p[..c],
            s,
            top,
            scale,
        );
    }
}

/// The Hessian diagonal with respect to the logits, from w = (1 - p) v
/// (`second`) and S = sum u.
#[allow(clippy::too_many_arguments)]
fn softmax_hessian<T: Float>(
    hess: &mut [T],
    second: &[T],
    p: &[T],
    q: &[T],
    log_p: &[T],
    s: T,
    top: TopClass<T>,
    scale: T,
) {
    let k = top.index;
    // V_rest = sum over the other classes of v_j = w_j / q_j (q_j >= 1/2 there).
    let v_rest = (0..hess.len())
        .filter(|&j| j != k)
        .fold(T::ZERO, |acc, j| acc + second[j] / q[j]);
    let w_top = second[k];
    for j in 0..hess.len() {
        let (pj, qj) = (p[j], q[j]);
        // p_j^2 v_top = p_j (p_j / q_top) w_top, with p_j / q_top <= 1.
        let ratio = select(
            pj == T::ZERO,
            T::ZERO,
            (log_p[j] - top.log_q).exp().min(T::ONE),
        );
        let h = second[j] / qj * (T::ONE - T::TWO * pj) - pj * qj * s
            + pj * pj * v_rest
            + pj * ratio * w_top;
        hess[j] = h * scale;
    }
    let (pk, qk) = (p[k], top.q);
    hess[k] = (w_top * qk - pk * qk * s + pk * pk * v_rest) * scale;
}

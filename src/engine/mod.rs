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
//!
//! Layouts: [`class_major`] evaluates blocks of rows stored class-major
//! (one long loop over rows per class). The caller's arrays are either rows
//! of c values (n x c) or PyTorch's channels-first (N, C, S) ([`Layout`]);
//! a "row" of the engine is then one position of one sample, and the block
//! loads and stores copy each class's contiguous run of positions, so both
//! layouts share every loop (and give the same bits).
//!
//! Hessian modes ([`crate::hessian`]): FLOOR raises the stored entries of
//! counted rows; FISHER evaluates the terms through [`Fisher`], whose
//! `second` is the weight c_j (logits: the engine forms C p_k (1 - p_k))
//! or c_j / p_j^2 (probabilities), unless the exact Hessian already is the
//! Fisher one ([`ClassTerm::exact_is_fisher`]).

mod class_major;
mod layout;
mod row_major;
#[cfg(test)]
mod tests;

use crate::float::{select, Float};
use crate::kernels::Columns;

use crate::error::{Error, Result};
use crate::hessian::Fisher;
use crate::options::{HessianMode, Input, Options};
use crate::reduce::{Outputs, Reducer};
use crate::validate;
pub(crate) use layout::Layout;

/// The error of a failed allocation of `len` values of type `T`.
pub(crate) fn memory_error<T>(len: usize, what: &'static str) -> crate::error::Error {
    crate::error::Error::Memory {
        bytes: len.saturating_mul(core::mem::size_of::<T>()),
        what,
    }
}

/// `len` copies of `value`, or [`crate::error::Error::Memory`] if they
/// cannot be allocated (never an abort).
pub(crate) fn try_filled<T: Clone>(len: usize, value: T, what: &'static str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| memory_error::<T>(len, what))?;
    v.resize(len, value);
    Ok(v)
}

/// Adds the segments' block sums to `reducer` in block order (so that the
/// result does not depend on the number of threads), or returns the first
/// error in row order; then writes the reduction to `out`.
pub(crate) fn reduce_segments<T: Float>(
    mut reducer: Reducer,
    results: Vec<Result<Vec<f64>>>,
    out: &mut [T],
) -> Result<()> {
    for partials in results {
        for sum in partials? {
            reducer.add_partial(sum);
        }
    }
    reducer.finish(out);
    Ok(())
}

/// p x, and 0 for a class of probability 0 whatever x: a row sum x may have
/// overflowed (absurd weights or gamma) where its true product with an
/// underflowed p is 0, not NaN.
#[inline(always)]
pub(crate) fn p_times<T: Float>(p: T, x: T) -> T {
    select(p == T::ZERO, T::ZERO, p * x)
}

/// A derivative v times the reduction's scale: +0 for a zero scale (also
/// where v is infinite), and v itself where v = 0 (also where the scale
/// overflowed T, under a WEIGHTED_MEAN of absurdly tiny counted weights:
/// the truth is 0 there, not 0 x Inf = NaN).
#[inline(always)]
pub(crate) fn times_scale<T: Float>(v: T, scale: T) -> T {
    select(
        scale == T::ZERO,
        T::ZERO,
        select(v == T::ZERO, v, v * scale),
    )
}

/// The error of row g of `pred`, known to be invalid: its first entry
/// that is not a valid logit (finite or -Inf) or probability, or, for
/// logits, the row having no possible class (every logit -Inf).
#[cold]
pub(crate) fn row_error<T: Float>(layout: &Layout, pred: &[T], g: usize, logits: bool) -> Error {
    for j in 0..layout.c {
        let at = layout.index(g, j);
        let checked = if logits {
            validate::logit("pred", at, pred[at])
        } else {
            validate::probability("pred", at, pred[at])
        };
        if let Err(e) = checked {
            return e;
        }
    }
    Error::NonFinite {
        arg: "pred",
        index: layout.index(g, 0),
        value: f64::NEG_INFINITY,
        why: "every logit of the row is -Inf: no class is possible",
    }
}

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
pub(crate) trait ClassTerm<T: Float>: Sync {
    /// Whether the term needs ln(1 - p) and 1 - p.
    fn needs_complement(&self) -> bool;
    /// G, dG/dl and (1 - p) d^2G/dl^2, at l = ln p (the logits path).
    fn log_space(&self, coef: T, at: ClassPoint<T>) -> Derivatives<T>;
    /// G, dG/dp and d^2G/dp^2 (the probabilities path).
    fn prob_space(&self, coef: T, at: ClassPoint<T>) -> Derivatives<T>;
    /// The weight c of the term written as c (-ln p) with its modulating
    /// factor held fixed ([`crate::hessian`], FISHER).
    fn fisher_weight(&self, coef: T, at: ClassPoint<T>) -> T;
    /// Whether c does not depend on p (G = -coef ln p), so that the exact
    /// Hessian already is the Fisher one.
    fn exact_is_fisher(&self) -> bool {
        false
    }
    /// Whether `second` holds the weights of [`Fisher`] (logits) instead of
    /// (1 - p) d^2G/dl^2.
    fn reports_fisher_weights(&self) -> bool {
        false
    }
    /// Whether the term is the entropy's -p ln p, whose row sum from logits
    /// both engines form as ln s + (1/s) sum_j e_j (m - z_j): ln s once,
    /// not rounded into every class's term.
    fn is_entropy(&self) -> bool {
        false
    }
}

/// Computes a multi-class loss of `term`s (see [`class_major::compute`]),
/// with `hess` as `opts.hessian` says.
pub(crate) fn compute<T: Float, Term: ClassTerm<T>>(
    pred: &[T],
    c: usize,
    opts: &Options,
    term: &Term,
    targets: &impl Targets<T>,
    reducer: Reducer,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    let fisher =
        opts.hessian == HessianMode::Fisher && outputs.hess.is_some() && !term.exact_is_fisher();
    if fisher {
        by_layout(pred, c, opts, &Fisher(term), targets, reducer, outputs)
    } else {
        by_layout(pred, c, opts, term, targets, reducer, outputs)
    }
}

/// The engine for the call: [`row_major`] for rows ([`row_major::can`]) of
/// at least [`row_major::from_classes`] classes, else [`class_major`]
/// (channels-first, few classes). `FLOSS_ENGINE` = `row` or `class` (read
/// once) forces one where both can, for tests and benchmarks.
fn by_layout<T: Float, Term: ClassTerm<T>>(
    pred: &[T],
    c: usize,
    opts: &Options,
    term: &Term,
    targets: &impl Targets<T>,
    reducer: Reducer,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    let layout = Layout::new(c, opts.positions);
    let logits = opts.input == Input::Logits;
    let row_major = row_major::can(&layout)
        && match forced_engine() {
            Some(engine) => engine == "row",
            None => c >= row_major::from_classes(logits, targets.is_one_hot()),
        };
    if row_major {
        row_major::compute(pred, c, opts, term, targets, reducer, outputs)
    } else {
        class_major::compute(pred, c, opts, term, targets, reducer, outputs)
    }
}

#[cfg(test)]
thread_local! {
    /// The engine the unit tests force on their thread (before `FLOSS_ENGINE`).
    static TEST_ENGINE: core::cell::Cell<Option<&'static str>> = const { core::cell::Cell::new(None) };
}

/// `FLOSS_ENGINE`, if it names an engine (`row`, `class`).
fn forced_engine() -> Option<&'static str> {
    #[cfg(test)]
    if let Some(engine) = TEST_ENGINE.get() {
        return Some(engine);
    }
    static ENGINE: std::sync::OnceLock<Option<&'static str>> = std::sync::OnceLock::new();
    *ENGINE.get_or_init(|| match std::env::var("FLOSS_ENGINE").ok()?.trim() {
        "row" => Some("row"),
        "class" => Some("class"),
        _ => None,
    })
}

/// The per-class coefficients a_ij of a loss's rows (a target probability
/// times a class weight; 1 for entropy), filled a block at a time.
pub(crate) trait Targets<T: Float>: Sync {
    /// Whether row i counts (false: ignored, loss and derivatives 0).
    fn counted(&self, _i: usize) -> bool {
        true
    }
    /// Fills `coef` ([`Columns`] layout) for the block's rows from `first_row` on.
    fn fill(&self, layout: &Layout, cols: &Columns, first_row: usize, coef: &mut [T]);
    /// Fills `coef` with the coefficients of classes `from..from +
    /// coef.len()` of row g of rows of `c` classes (the row-major engine).
    fn fill_row(&self, c: usize, g: usize, from: usize, coef: &mut [T]);
    /// Whether every counted row has a single nonzero coefficient (integer
    /// labels without smoothing); then [`Targets::one_hot`] replaces
    /// [`Targets::fill`] and only that class's term is evaluated.
    fn is_one_hot(&self) -> bool {
        false
    }
    /// The class and coefficient of counted row i, for one-hot targets.
    fn one_hot(&self, _i: usize) -> (usize, T) {
        (0, T::ZERO)
    }
}

/// Every coefficient 1 (entropy, whose term ignores it).
pub(crate) struct Uniform;

impl<T: Float> Targets<T> for Uniform {
    fn fill(&self, _: &Layout, _: &Columns, _: usize, coef: &mut [T]) {
        coef.fill(T::ONE);
    }

    #[inline(always)]
    fn fill_row(&self, _: usize, _: usize, _: usize, coef: &mut [T]) {
        coef.fill(T::ONE);
    }
}

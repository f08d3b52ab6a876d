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
//! (one long loop over rows per class).
//!
//! Hessian modes ([`crate::hessian`]): FLOOR raises the stored entries of
//! counted rows; FISHER evaluates the terms through [`Fisher`], whose
//! `second` is the weight c_j (logits: the engine forms C p_k (1 - p_k))
//! or c_j / p_j^2 (probabilities), unless the exact Hessian already is the
//! Fisher one ([`ClassTerm::exact_is_fisher`]).

mod class_major;

use crate::float::Float;
use crate::kernels::Columns;

use crate::error::Result;
use crate::hessian::Fisher;
use crate::options::{HessianMode, Options};
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
        class_major::compute(pred, c, opts, &Fisher(term), targets, reducer, outputs)
    } else {
        class_major::compute(pred, c, opts, term, targets, reducer, outputs)
    }
}

/// The per-class coefficients a_ij of a loss's rows (a target probability
/// times a class weight; 1 for entropy), filled a block at a time.
pub(crate) trait Targets<T: Float>: Sync {
    /// Whether row i counts (false: ignored, loss and derivatives 0).
    fn counted(&self, _i: usize) -> bool {
        true
    }
    /// Fills `coef` ([`Columns`] layout) for the block's rows from `first_row` on.
    fn fill(&self, cols: &Columns, c: usize, first_row: usize, coef: &mut [T]);
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
    fn fill(&self, _: &Columns, _: usize, _: usize, coef: &mut [T]) {
        coef.fill(T::ONE);
    }
}

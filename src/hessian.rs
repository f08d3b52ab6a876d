//! How `hess` is reported ([`HessianMode`]): the exact Hessian diagonal, the
//! exact one raised to a floor, or a Fisher (expected, Gauss-Newton)
//! surrogate that is positive by construction.
//!
//! # Why a surrogate
//!
//! Gradient boosting (LightGBM, XGBoost) fits each tree by Newton steps:
//! a leaf's value is -sum g / sum h over its samples, so it needs h > 0.
//! The focal loss is not convex in the logit: for t = 1 and gamma = 2 its
//! exact second derivative is negative for x < -2.79 (p < 0.058), which is
//! where every rare positive starts when training starts from the prior
//! log-odds. XGBoost clips such h to 0 silently (dmlc/xgboost#10105); a floor
//! max(h, 1e-6) turns -g / h into steps of 10^6 logits (LightGBM then
//! diverges). What the trackers suggest instead is the expected (Fisher)
//! Hessian.
//!
//! # FLOOR
//!
//! `hess = max(h, floor)` with h the exact entry AFTER the reduction's
//! scaling (what a gradient-boosting library receives), for every entry of
//! every counted sample; entries of ignored samples (`ignore_index`) stay
//! 0, and NaN is kept (never hidden). In f32 the floor is rounded to f32; a
//! floor that rounds to 0 or overflows is refused.
//!
//! # FISHER
//!
//! Every loss here is a weighted sum of negative log-probabilities,
//!
//!   L = sum_j c_j (-ln p_j),   c_j >= 0,
//!
//! where the weights may themselves depend on the prediction:
//!
//! | loss                          | c_j                                   |
//! |-------------------------------|---------------------------------------|
//! | cross-entropy, KL, sparse, balanced | w_j t_j (constant)              |
//! | focal                         | alpha_j t_j (1 - p_j)^gamma           |
//! | entropy                       | p_j                                   |
//! | binary (c_1 on -ln p, c_0 on -ln(1 - p)) | c_1 = alpha_t m^gamma w t, c_0 = alpha_t m^gamma (1 - t), m = 1 - p_t |
//!
//! With logits, -ln p_j has the same Hessian for every j: diag(p) - p p^T,
//! the Fisher information of the softmax (sigmoid: p (1 - p)) model, which
//! is also its expected Hessian. The FISHER mode reports that information
//! times the loss's total weight, i.e. the Hessian with the weights c held
//! fixed (what Fisher scoring / IRLS does with observation weights):
//!
//!   hess_k = C p_k (1 - p_k),   C = sum_j c_j      (logits; binary: (c_1 + c_0) p (1 - p))
//!   hess_k = c_k / p_k^2                           (probabilities; binary: c_1 / p^2 + c_0 / (1 - p)^2)
//!
//! times the reduction's factor (1/n for MEAN, ...). Its properties:
//!
//! - never negative, never NaN for valid input; > 0 wherever C > 0 and
//!   0 < p_k < 1 (from logits it underflows to 0 only where p_k (1 - p_k)
//!   does, or where (1 - p)^gamma does);
//! - equal to the exact Hessian where the weights are constant: cross-
//!   entropy, KL, sparse and balanced CE, focal with gamma = 0, binary
//!   cross-entropy (there the exact Hessian already is the Fisher one, and
//!   floss returns it unchanged, bit for bit);
//! - bounded Newton steps: for focal loss with a hard label, the per-sample
//!   step |g / h| is at most (1 + gamma) times cross-entropy's at the same
//!   point (true class: (1 + gamma p r) / p against 1 / p, where
//!   p r = -p ln p / (1 - p) is in [0, 1]; other classes likewise with
//!   1 - p_k), so a boosting round moves no sample's margin much further
//!   than logistic regression would;
//! - the gradient is untouched (exact).
//!
//! Alternatives considered: Gauss-Newton on p (the loss is convex in p for a
//! hard label, hess = d^2L/dp^2 (dp/dz)^2) gives w_y (1 - p)^2 for
//! cross-entropy instead of its exact p (1 - p), so it fails to agree where
//! the exact Hessian is right; the expectation of the exact Hessian over
//! labels drawn from the model mixes in the other classes' alpha and is not
//! positive by construction; |h| is 0 where h changes sign.
//!
//! Probabilities input: the frozen-weight Hessian taken in p, c_k / p_k^2
//! (exact for cross-entropy, infinite at p_k = 0 where c_k > 0, like the
//! exact one; 0 where c_k = 0).

use crate::engine::{ClassPoint, ClassTerm, Derivatives};
use crate::error::{argument_error, Result};
use crate::float::{select, Float};
use crate::options::HessianMode;

/// The floor that [`floored`] applies under `mode`, in T: the floor of
/// [`HessianMode::Floor`] (refused if it rounds to 0 or to infinity in T),
/// else -Inf (no floor).
pub(crate) fn floor_of<T: Float>(mode: HessianMode) -> Result<T> {
    match mode {
        HessianMode::Floor(floor) => {
            let rounded = T::from_f64(floor);
            if rounded > T::ZERO && rounded.is_finite() {
                Ok(rounded)
            } else {
                Err(argument_error!(
                    "opts->hessian_floor = {floor:?} is {rounded:?} in {}: it must stay finite and > 0",
                    T::C_NAME
                ))
            }
        }
        HessianMode::Exact | HessianMode::Fisher => Ok(T::NEG_INFINITY),
    }
}

/// max(h, floor), keeping NaN; with floor = -Inf, h unchanged.
#[inline(always)]
pub(crate) fn floored<T: Float>(h: T, floor: T) -> T {
    select(h < floor, floor, h)
}

/// Raises every entry to at least `floor` ([`floored`]).
#[inline(always)]
pub(crate) fn raise<T: Float>(hess: &mut [T], floor: T) {
    for h in hess {
        *h = floored(*h, floor);
    }
}

/// A class term whose `second` reports the Fisher surrogate's ingredients
/// (module docs) instead of the exact second derivative: from logits, the
/// weight c_j (the engine then forms C p_k (1 - p_k)); from probabilities,
/// c_j / p_j^2 itself. Value and first derivative are the term's own.
pub(crate) struct Fisher<'a, Term>(pub &'a Term);

impl<T: Float, Term: ClassTerm<T>> ClassTerm<T> for Fisher<'_, Term> {
    fn needs_complement(&self) -> bool {
        self.0.needs_complement()
    }

    #[inline(always)]
    fn log_space(&self, coef: T, at: ClassPoint<T>) -> Derivatives<T> {
        Derivatives {
            second: self.0.fisher_weight(coef, at),
            ..self.0.log_space(coef, at)
        }
    }

    #[inline(always)]
    fn prob_space(&self, coef: T, at: ClassPoint<T>) -> Derivatives<T> {
        let c = self.0.fisher_weight(coef, at);
        Derivatives {
            // (c / p) / p: p^2 underflows where c / p^2 may be finite.
            second: select(c == T::ZERO, T::ZERO, c / at.p / at.p),
            ..self.0.prob_space(coef, at)
        }
    }

    #[inline(always)]
    fn fisher_weight(&self, coef: T, at: ClassPoint<T>) -> T {
        self.0.fisher_weight(coef, at)
    }

    fn reports_fisher_weights(&self) -> bool {
        true
    }

    fn is_entropy(&self) -> bool {
        self.0.is_entropy()
    }
}

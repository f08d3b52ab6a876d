//! Focal loss (Lin et al. 2017), multi-class:
//!
//!   FL = -sum_j alpha_j t_j (1 - p_j)^gamma ln p_j
//!
//! with t the (smoothed) one-hot target; without smoothing it is
//! -alpha_y (1 - p_y)^gamma ln p_y. gamma = 0 is (weighted) cross-entropy,
//! and then [`CrossEntropyTerm`] is used, so that the two agree bitwise.
//!
//! Stable form: (1 - p)^gamma = exp(gamma ln(1 - p)) with ln(1 - p) from the
//! logits ([`crate::kernels::log_softmax`]); the derivatives use
//! r = -ln p / (1 - p), which tends to 1 as p -> 1, so that no power
//! (1 - p)^(gamma - 1) is ever formed on the logits path (autograd through
//! `pow` gives NaN there for gamma < 1).

use crate::cross_entropy::CrossEntropyTerm;
use crate::engine::{ClassPoint, ClassTerm, Derivatives};
use crate::error::Result;
use crate::float::{pow_from_ln, select, Float};
use crate::options::Options;
use crate::reduce::Outputs;
use crate::sparse_targets::{self, ClassWeights};
use crate::validate;

/// The term -a (1 - p)^gamma ln p of one class, a = alpha_j t_j
/// (gamma = 0 is [`CrossEntropyTerm`], which [`focal_loss`] uses then).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FocalTerm<T> {
    pub gamma: T,
}

/// r = -ln p / (1 - p), taken as its limit 1 when 1 - p is tiny.
#[inline(always)]
fn log_ratio<T: Float>(at: &ClassPoint<T>) -> T {
    select(at.q >= T::MIN_POSITIVE.sqrt(), -at.log_p / at.q, T::ONE)
}

// Both evaluations are straight-line code with selects for the special
// cases (a = 0: no term; p = 0: a masked class), so that the per-class loop
// vectorises.
impl<T: Float> ClassTerm<T> for FocalTerm<T> {
    fn needs_complement(&self) -> bool {
        true
    }

    /// G = -a q^g l, G' = -a q^g (1 + g p r),
    /// (1 - p) G'' = a g p q^g (2 + l + (g - 1) p r), with q = 1 - p.
    #[inline(always)]
    fn log_space(&self, a: T, at: ClassPoint<T>) -> Derivatives<T> {
        let g = self.gamma;
        let qg = pow_from_ln(g, at.log_q);
        let masked = at.p == T::ZERO;
        let pr = select(masked, T::ZERO, at.p * log_ratio(&at));
        // Where q^g underflows, the derivatives are 0 even if a factor
        // with g in it overflows (absurd gamma or alpha).
        let vanished = qg == T::ZERO;
        Derivatives {
            value: select(a == T::ZERO, T::ZERO, -a * qg * at.log_p),
            first: select(vanished, T::ZERO, -a * qg * (T::ONE + g * pr)),
            second: select(
                masked || vanished,
                T::ZERO,
                a * qg * at.p * g * (T::TWO + at.log_p + (g - T::ONE) * pr),
            ),
        }
    }

    /// G = -a q^g ln p, G' = -q^g (a g r + a/p),
    /// G'' = q^g (a/p) / p + g q^(g-1) ((g - 1) a r + 2 a/p); at p = 0 the
    /// value and Hessian are +Inf and the gradient -Inf. a / p is formed
    /// first: 1 / p overflows for a subnormal p where a / p is finite, and
    /// a small a g (scaled weights, tiny gamma) then met it as 0 x Inf.
    /// A power q^g or q^(g-1) that underflowed to 0 (absurd gamma) makes
    /// its product 0 even where the other factor overflowed (a / p / p for
    /// a tiny p, a factor with g in it), instead of 0 x Inf = NaN.
    #[inline(always)]
    fn prob_space(&self, a: T, at: ClassPoint<T>) -> Derivatives<T> {
        let g = self.gamma;
        // -0.0 is 0 (+ 0 makes it +0): a / p = +Inf.
        let p = at.p + T::ZERO;
        let a_over_p = a / p;
        let qg = pow_from_ln(g, at.log_q);
        let qg_less_one = pow_from_ln(g - T::ONE, at.log_q);
        let ar = a * log_ratio(&at);
        let bend = select(
            g == T::ZERO || qg_less_one == T::ZERO,
            T::ZERO,
            g * qg_less_one * ((g - T::ONE) * ar + T::TWO * a_over_p),
        );
        let vanished = qg == T::ZERO;
        let first = select(vanished, T::ZERO, -qg * (g * ar + a_over_p));
        let second = select(vanished, T::ZERO, qg * (a_over_p / p)) + bend;
        let none = a == T::ZERO;
        let masked = at.p == T::ZERO;
        Derivatives {
            value: select(none, T::ZERO, -a * qg * at.log_p),
            first: select(none, T::ZERO, select(masked, T::NEG_INFINITY, first)),
            second: select(none, T::ZERO, select(masked, T::INFINITY, second)),
        }
    }

    /// c = a (1 - p)^gamma.
    #[inline(always)]
    fn fisher_weight(&self, a: T, at: ClassPoint<T>) -> T {
        a * pow_from_ln(self.gamma, at.log_q)
    }
}

/// Focal loss of `n` rows of `c` predictions against integer labels.
///
/// `alpha`: `None` (all 1) or `c` class weights >= 0. `gamma` >= 0.
/// WEIGHTED_MEAN divides by the sum of alpha over the counted labels.
/// Reads every option field.
pub fn focal_loss<T: Float>(
    pred: &[T],
    labels: &[i64],
    c: usize,
    alpha: Option<&[T]>,
    gamma: T,
    opts: &Options,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    validate::non_negative("gamma", gamma)?;
    let weights = match alpha {
        Some(a) => ClassWeights::Given(a, "alpha"),
        None => ClassWeights::Ones,
    };
    if gamma == T::ZERO {
        sparse_targets::compute(pred, labels, c, weights, &CrossEntropyTerm, opts, outputs)
    } else {
        sparse_targets::compute(
            pred,
            labels,
            c,
            weights,
            &FocalTerm { gamma },
            opts,
            outputs,
        )
    }
}

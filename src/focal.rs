//! Focal loss (Lin et al. 2017), multi-class:
//!
//!   FL = -sum_j alpha_j t_j (1 - p_j)^gamma ln p_j
//!
//! with t the (smoothed) one-hot target; without smoothing it is
//! -alpha_y (1 - p_y)^gamma ln p_y. gamma = 0 is (weighted) cross-entropy,
//! and [`FocalTerm`] with gamma = 0 is the cross-entropy term of the whole
//! library.
//!
//! Stable form: (1 - p)^gamma = exp(gamma ln(1 - p)) with ln(1 - p) from the
//! logits ([`crate::kernels::log_softmax`]); the derivatives use
//! r = -ln p / (1 - p), which tends to 1 as p -> 1, so that no power
//! (1 - p)^(gamma - 1) is ever formed on the logits path (autograd through
//! `pow` gives NaN there for gamma < 1).

use crate::classwise::{ClassPoint, ClassTerm, Derivatives};
use crate::error::Result;
use crate::float::{pow_from_ln, Float};
use crate::options::Options;
use crate::reduce::Outputs;
use crate::sparse_targets::{self, ClassWeights};
use crate::validate;

/// The term -a (1 - p)^gamma ln p of one class, a = alpha_j t_j.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FocalTerm<T> {
    pub gamma: T,
}

impl<T: Float> FocalTerm<T> {
    /// The cross-entropy term -a ln p.
    pub(crate) fn cross_entropy() -> Self {
        FocalTerm { gamma: T::ZERO }
    }
}

/// r = -ln p / (1 - p), taken as its limit 1 when 1 - p is tiny.
#[inline(always)]
fn log_ratio<T: Float>(at: &ClassPoint<T>) -> T {
    if at.q >= T::MIN_POSITIVE.sqrt() {
        -at.log_p / at.q
    } else {
        T::ONE
    }
}

impl<T: Float> ClassTerm<T> for FocalTerm<T> {
    fn needs_complement(&self) -> bool {
        self.gamma != T::ZERO
    }

    /// G = -a q^g l, G' = -a q^g (1 + g p r),
    /// (1 - p) G'' = a g p q^g (2 + l + (g - 1) p r), with q = 1 - p.
    #[inline(always)]
    fn log_space(&self, a: T, at: ClassPoint<T>) -> Derivatives<T> {
        if a == T::ZERO {
            return Derivatives::ZERO;
        }
        let g = self.gamma;
        if g == T::ZERO {
            return Derivatives {
                value: -a * at.log_p,
                first: -a,
                second: T::ZERO,
            };
        }
        let qg = pow_from_ln(g, at.log_q);
        if at.p == T::ZERO {
            // A masked class (l = -Inf): only the value and u = -a q^g survive.
            return Derivatives {
                value: -a * qg * at.log_p,
                first: -a * qg,
                second: T::ZERO,
            };
        }
        let pr = at.p * log_ratio(&at);
        Derivatives {
            value: -a * qg * at.log_p,
            first: -a * qg * (T::ONE + g * pr),
            second: a * g * at.p * qg * (T::TWO + at.log_p + (g - T::ONE) * pr),
        }
    }

    /// G = -a q^g ln p, G' = -a q^g (g r + 1/p),
    /// G'' = a q^g / p^2 + a g q^(g-1) ((g - 1) r + 2/p).
    #[inline(always)]
    fn prob_space(&self, a: T, at: ClassPoint<T>) -> Derivatives<T> {
        if a == T::ZERO {
            return Derivatives::ZERO;
        }
        if at.p == T::ZERO {
            return Derivatives {
                value: T::INFINITY,
                first: T::NEG_INFINITY,
                second: T::INFINITY,
            };
        }
        let g = self.gamma;
        let inv_p = T::ONE / at.p;
        if g == T::ZERO {
            return Derivatives {
                value: -a * at.log_p,
                first: -a * inv_p,
                second: a * inv_p * inv_p,
            };
        }
        let qg = pow_from_ln(g, at.log_q);
        let r = log_ratio(&at);
        let q_g_minus_1 = pow_from_ln(g - T::ONE, at.log_q);
        Derivatives {
            value: -a * qg * at.log_p,
            first: -a * qg * (g * r + inv_p),
            second: a * qg * inv_p * inv_p
                + a * g * q_g_minus_1 * ((g - T::ONE) * r + T::TWO * inv_p),
        }
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

//! Shannon entropy of each row: H(p) = -sum_j p_j log_b p_j, with 0 log 0 = 0.
//!
//! From logits, p = softmax(z) and ln p is the log-softmax, so H is finite
//! for every finite row (and a -Inf logit is a class of probability 0).

use crate::engine::{self, ClassPoint, ClassTerm, Derivatives};
use crate::error::Result;
use crate::float::{select, Float};
use crate::options::Options;
use crate::reduce::{divisor, Outputs, Reducer};
use crate::validate;

/// The term -p ln p.
struct EntropyTerm;

impl<T: Float> ClassTerm<T> for EntropyTerm {
    fn needs_complement(&self) -> bool {
        false
    }

    fn is_entropy(&self) -> bool {
        true
    }

    /// G = -p l, G' = -p (l + 1), (1 - p) G'' = -(1 - p) p (l + 2); 0 at p = 0.
    #[inline(always)]
    fn log_space(&self, _: T, at: ClassPoint<T>) -> Derivatives<T> {
        let masked = at.p == T::ZERO;
        Derivatives {
            value: select(masked, T::ZERO, -at.p * at.log_p),
            first: select(masked, T::ZERO, -at.p * (at.log_p + T::ONE)),
            second: select(masked, T::ZERO, -at.q * at.p * (at.log_p + T::TWO)),
        }
    }

    /// G = -p ln p, G' = -(ln p + 1), G'' = -1/p (+Inf and -Inf at p = 0).
    #[inline(always)]
    fn prob_space(&self, _: T, at: ClassPoint<T>) -> Derivatives<T> {
        Derivatives {
            value: select(at.p == T::ZERO, T::ZERO, -at.p * at.log_p),
            first: -(at.log_p + T::ONE),
            // -0.0 is 0 (+ 0 makes it +0): -1/p = -Inf.
            second: -T::ONE / (at.p + T::ZERO),
        }
    }

    /// H = sum_j p_j (-ln p_j): c = p.
    #[inline(always)]
    fn fisher_weight(&self, _: T, at: ClassPoint<T>) -> T {
        at.p
    }
}

/// Entropy of each of the `pred.len() / c` rows of `c` probabilities (or
/// logits). Reads `input`, `reduction` and `log_base`; MEAN and
/// WEIGHTED_MEAN divide by the number of rows.
pub fn entropy<T: Float>(
    pred: &[T],
    c: usize,
    opts: &Options,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    opts.validate()?;
    let n = validate::rows(pred.len(), c)?;
    validate::positions("pred", n, opts)?;
    outputs.check(opts.reduction, n, pred.len())?;
    let reducer = Reducer::new(
        opts.reduction,
        opts.log_scale::<f64>(),
        divisor(opts.reduction, n, n as f64),
    );
    engine::compute(
        pred,
        c,
        opts,
        &EntropyTerm,
        &engine::Uniform,
        reducer,
        outputs,
    )
}

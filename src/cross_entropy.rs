//! Cross-entropy and KL divergence against dense targets, and
//! cross-entropy against integer labels (sparse, and balanced by alpha).
//!
//! - H(t, p) = -sum_j t_j log_b p_j, t the (smoothed) target row;
//! - KL(t || p) = sum_j t_j log_b(t_j / p_j), computed as t_j (ln t_j - ln p_j)
//!   term by term (never as H(t, p) - H(t), which cancels when p is near t);
//! - sparse: -sum_j w_j t_j log_b p_j with t the smoothed one-hot label:
//!   PyTorch `F.cross_entropy(input, target, weight, ignore_index,
//!   label_smoothing)`;
//! - balanced: the same with w = alpha, by default the inverse class
//!   frequency of the counted labels.
//!
//! Targets are smoothed as (1 - eps) t + eps / c and are not renormalised.

use crate::engine::{self, ClassPoint, ClassTerm, Derivatives, Layout, Targets};
use crate::error::Result;
use crate::float::{select, Float};
use crate::kernels::Columns;
use crate::options::Options;
use crate::reduce::{divisor, Outputs, Reducer};
use crate::sparse_targets::{self, ClassWeights};
use crate::validate;

/// The term -a ln p of one class, a = w_j t_j: the weighted cross-entropy
/// term (and the focal term at gamma = 0). Straight-line with selects, so
/// the per-class loop vectorises.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CrossEntropyTerm;

impl<T: Float> ClassTerm<T> for CrossEntropyTerm {
    fn needs_complement(&self) -> bool {
        false
    }

    /// G = -a l, G' = -a, G'' = 0.
    #[inline(always)]
    fn log_space(&self, a: T, at: ClassPoint<T>) -> Derivatives<T> {
        Derivatives {
            value: select(a == T::ZERO, T::ZERO, -a * at.log_p),
            first: -a,
            second: T::ZERO,
        }
    }

    /// G = -a ln p, G' = -a / p, G'' = a / p^2 (infinite at p = 0 if a > 0).
    /// a / p is formed first: 1 / p overflows for a subnormal p where a / p
    /// (say 3e-40 / 1e-40) is finite.
    #[inline(always)]
    fn prob_space(&self, a: T, at: ClassPoint<T>) -> Derivatives<T> {
        // -0.0 is 0 (+ 0 makes it +0): a / p = +Inf.
        let ratio = a / (at.p + T::ZERO);
        let none = a == T::ZERO;
        Derivatives {
            value: select(none, T::ZERO, -a * at.log_p),
            first: select(none, T::ZERO, -ratio),
            second: select(none, T::ZERO, ratio / (at.p + T::ZERO)),
        }
    }

    /// c = a: the weight does not depend on p.
    #[inline(always)]
    fn fisher_weight(&self, a: T, _: ClassPoint<T>) -> T {
        a
    }

    fn exact_is_fisher(&self) -> bool {
        true
    }
}

/// The KL term t (ln t - l): the cross-entropy term's derivatives, and a
/// value that vanishes where p = t.
struct KlTerm;

impl<T: Float> ClassTerm<T> for KlTerm {
    fn needs_complement(&self) -> bool {
        false
    }

    #[inline(always)]
    fn log_space(&self, t: T, at: ClassPoint<T>) -> Derivatives<T> {
        let d = CrossEntropyTerm.log_space(t, at);
        Derivatives {
            value: kl_value(t, at.log_p),
            ..d
        }
    }

    #[inline(always)]
    fn prob_space(&self, t: T, at: ClassPoint<T>) -> Derivatives<T> {
        let d = CrossEntropyTerm.prob_space(t, at);
        Derivatives {
            value: kl_value(t, at.log_p),
            ..d
        }
    }

    #[inline(always)]
    fn fisher_weight(&self, t: T, at: ClassPoint<T>) -> T {
        CrossEntropyTerm.fisher_weight(t, at)
    }

    fn exact_is_fisher(&self) -> bool {
        true
    }
}

#[inline(always)]
fn kl_value<T: Float>(t: T, log_p: T) -> T {
    select(t == T::ZERO, T::ZERO, t * (t.ln() - log_p))
}

/// Cross-entropy H(t, p) of each row. `target` has the shape of `pred`,
/// entries in [0, 1]. Reads `input`, `reduction`, `log_base`,
/// `label_smoothing`; the means divide by the number of rows.
pub fn cross_entropy<T: Float>(
    pred: &[T],
    target: &[T],
    c: usize,
    opts: &Options,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    dense(pred, target, c, &CrossEntropyTerm, opts, outputs)
}

/// KL divergence KL(t || p) of each row; as [`cross_entropy`].
pub fn kl_divergence<T: Float>(
    pred: &[T],
    target: &[T],
    c: usize,
    opts: &Options,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    dense(pred, target, c, &KlTerm, opts, outputs)
}

fn dense<T: Float, Term: ClassTerm<T>>(
    pred: &[T],
    target: &[T],
    c: usize,
    term: &Term,
    opts: &Options,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    opts.validate()?;
    let n = validate::rows(pred.len(), c)?;
    validate::positions("pred", n, opts)?;
    validate::len("target", target, pred.len())?;
    outputs.check(opts.reduction, n, pred.len())?;
    validate::probabilities("target", target)?;
    let reducer = Reducer::new(
        opts.reduction,
        opts.log_scale::<f64>(),
        divisor(opts.reduction, n, n as f64),
    );
    let targets = Dense {
        target,
        keep: T::from_f64(1.0 - opts.label_smoothing),
        off: T::from_f64(opts.label_smoothing / c as f64),
    };
    engine::compute(pred, c, opts, term, &targets, reducer, outputs)
}

/// Rows given by dense target rows t: a_ij = (1 - eps) t_ij + eps / c.
struct Dense<'a, T> {
    target: &'a [T],
    keep: T,
    off: T,
}

impl<T: Float> Dense<'_, T> {
    /// (1 - eps) t + eps / c.
    #[inline(always)]
    fn smoothed(&self, t: T) -> T {
        self.keep * t + self.off
    }
}

impl<T: Float> Targets<T> for Dense<'_, T> {
    #[inline(always)]
    fn fill(&self, layout: &Layout, cols: &Columns, first_row: usize, coef: &mut [T]) {
        layout.gather(self.target, first_row, cols, coef);
        for j in 0..layout.c {
            for a in cols.of_mut(coef, j) {
                *a = self.smoothed(*a);
            }
        }
    }

    #[inline(always)]
    fn fill_row(&self, c: usize, g: usize, from: usize, coef: &mut [T]) {
        let target = &self.target[g * c + from..][..coef.len()];
        for (a, &t) in coef.iter_mut().zip(target) {
            *a = self.smoothed(t);
        }
    }
}

/// Cross-entropy against integer labels with optional class weights
/// (`None` = all 1): PyTorch `F.cross_entropy`. Reads every option field;
/// WEIGHTED_MEAN divides by the sum of the counted labels' weights.
pub fn sparse_cross_entropy<T: Float>(
    pred: &[T],
    labels: &[i64],
    c: usize,
    weight: Option<&[T]>,
    opts: &Options,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    let weights = weight.map_or(ClassWeights::Ones, |w| ClassWeights::Given(w, "weight"));
    sparse_targets::compute(pred, labels, c, weights, &CrossEntropyTerm, opts, outputs)
}

/// Balanced cross-entropy -alpha_y log_b p_y: [`sparse_cross_entropy`] with
/// weight alpha, by default (`None`) the inverse class frequency
/// n / (c n_k) of the counted labels of the call.
pub fn balanced_cross_entropy<T: Float>(
    pred: &[T],
    labels: &[i64],
    c: usize,
    alpha: Option<&[T]>,
    opts: &Options,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    let weights = alpha.map_or(ClassWeights::InverseFrequency, |a| {
        ClassWeights::Given(a, "alpha")
    });
    sparse_targets::compute(pred, labels, c, weights, &CrossEntropyTerm, opts, outputs)
}

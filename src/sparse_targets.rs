//! Integer-label targets shared by sparse cross-entropy, balanced
//! cross-entropy and focal loss: the label of row i, the class weights and
//! label smoothing give the per-class coefficients
//!
//!   a_ij = w_j ((1 - eps) [j = y_i] + eps / c),
//!
//! and WEIGHTED_MEAN divides by sum over counted rows of w_(y_i), as PyTorch
//! `F.cross_entropy(weight=..., label_smoothing=...)` does.

use std::borrow::Cow;

use crate::class_weights::{class_weights, WeightScheme};
use crate::engine::{self, try_filled, ClassTerm, Layout, Targets};
use crate::error::Result;
use crate::float::select;
use crate::float::Float;
use crate::kernels::Columns;
use crate::options::{Options, Reduction};
use crate::reduce::{divisor, weight_cap, weight_scale, Outputs, Reducer};
use crate::validate;

/// Where the per-class weights come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ClassWeights<'a, T> {
    /// All 1.
    Ones,
    /// Given by the caller (`c` values >= 0), named for messages.
    Given(&'a [T], &'static str),
    /// The inverse class frequency of the counted labels of the call.
    InverseFrequency,
}

/// Computes a loss of per-class `term`s over labelled rows.
pub(crate) fn compute<T: Float, Term: ClassTerm<T>>(
    pred: &[T],
    labels: &[i64],
    c: usize,
    weights: ClassWeights<T>,
    term: &Term,
    opts: &Options,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    opts.validate()?;
    let n = labels.len();
    validate::positions("labels", n, opts)?;
    let len = validate::matrix_len(n, c)?;
    validate::len("pred", pred, len)?;
    outputs.check(opts.reduction, n, len)?;
    let counted = validate::labels(labels, c, opts)?;
    // All-1 weights are no array: a call's working memory stays
    // independent of c where the engine needs none.
    let mut weights: Cow<[T]> = match weights {
        ClassWeights::Ones => Cow::Borrowed(&[]),
        ClassWeights::Given(w, name) => {
            validate::class_weights(name, w, c)?;
            Cow::Borrowed(w)
        }
        ClassWeights::InverseFrequency => {
            let mut w = try_filled(c, T::ZERO, "class weights")?;
            class_weights(
                labels,
                c,
                WeightScheme::InverseFrequency,
                opts.ignore_index,
                &mut w,
            )?;
            Cow::Owned(w)
        }
    };
    let kept = |y: &&i64| !opts.ignores(**y);
    // Weights times a power of two s when the largest is huge or tiny
    // ([`weight_scale`]): the terms and their derivatives stay finite
    // (a weight of DBL_MAX made dG/dl overflow, and u - p S NaN). A
    // WEIGHTED_MEAN divides s out; the other reductions scale by 1 / s,
    // exactly (a power of two), so moderate results do not change a bit.
    // Without weights (all 1) the passes over the labels are skipped: at
    // 10 classes they took a tenth of a forward call.
    let unweighted = weights.is_empty();
    let counted_largest = if unweighted {
        select(counted > 0, T::ONE, T::ZERO)
    } else {
        labels
            .iter()
            .filter(kept)
            .fold(T::ZERO, |m, &y| m.max(weight(&weights, y as usize)))
    };
    // Smoothing reaches every class's weight.
    let reached_largest = if opts.label_smoothing > 0.0 {
        weights.iter().fold(counted_largest, |m, &w| m.max(w))
    } else {
        counted_largest
    };
    // A WEIGHTED_MEAN scales by its divisor's weights, the counted labels'
    // (tiny ones made 1 / divisor overflow), but never so far that a weight
    // smoothing reaches exceeds 2^64 (counted weights of 2e-38 took a weight
    // of 710 to 4e39 = Inf in f32, and the gradient to Inf - Inf = NaN).
    let s = match opts.reduction {
        Reduction::WeightedMean => weight_scale(counted_largest).min(weight_cap(reached_largest)),
        _ => weight_scale(reached_largest),
    };
    // In f64 from the weights before scaling: a counted weight that the
    // scaling takes below T's range still counts.
    let weight_sum: f64 = if unweighted {
        counted as f64 * s.to_f64()
    } else {
        labels
            .iter()
            .filter(kept)
            .map(|&y| weight(&weights, y as usize).to_f64() * s.to_f64())
            .sum()
    };
    if s != T::ONE {
        let mut scaled = try_filled(c, T::ZERO, "class weights")?;
        for (j, to) in scaled.iter_mut().enumerate() {
            *to = weight(&weights, j) * s;
        }
        weights = Cow::Owned(scaled);
    }
    let unscale = if opts.reduction == Reduction::WeightedMean {
        1.0
    } else {
        1.0 / s.to_f64()
    };
    let reducer = Reducer::new(
        opts.reduction,
        opts.log_scale::<f64>(),
        divisor(opts.reduction, counted, weight_sum),
    )
    .unscaled(unscale);
    let eps = opts.label_smoothing;
    let targets = Labelled {
        labels,
        weights: &weights,
        off: T::from_f64(eps / c as f64),
        on: T::from_f64(1.0 - eps + eps / c as f64),
        opts,
    };
    engine::compute(pred, c, opts, term, &targets, reducer, outputs)
}

/// Class j's weight: `weights[j]`, or 1 when `weights` is empty (all 1).
#[inline(always)]
fn weight<T: Float>(weights: &[T], j: usize) -> T {
    weights.get(j).copied().unwrap_or(T::ONE)
}

/// Rows given by integer labels: a_ij = w_j (on if j = y_i else off).
struct Labelled<'a, T> {
    labels: &'a [i64],
    /// Class weights; empty: all 1.
    weights: &'a [T],
    off: T,
    on: T,
    opts: &'a Options,
}

impl<T: Float> Labelled<'_, T> {
    /// Class j's coefficient in a row labelled j, and in any other row.
    #[inline(always)]
    fn on_off(&self, j: usize) -> (T, T) {
        let w = weight(self.weights, j);
        (w * self.on, w * self.off)
    }
}

impl<T: Float> Targets<T> for Labelled<'_, T> {
    fn counted(&self, i: usize) -> bool {
        !self.opts.ignores(self.labels[i])
    }

    fn is_one_hot(&self) -> bool {
        self.off == T::ZERO
    }

    fn one_hot(&self, i: usize) -> (usize, T) {
        let y = self.labels[i] as usize;
        (y, self.on_off(y).0)
    }

    #[inline(always)]
    fn fill(&self, layout: &Layout, cols: &Columns, first_row: usize, coef: &mut [T]) {
        let labels = &self.labels[first_row..first_row + cols.rows];
        for j in 0..layout.c {
            let (on, off) = self.on_off(j);
            for (a, &y) in cols.of_mut(coef, j).iter_mut().zip(labels) {
                *a = select(y == j as i64, on, off);
            }
        }
    }

    #[inline(always)]
    fn fill_row(&self, _: usize, g: usize, from: usize, coef: &mut [T]) {
        match self.weights.get(from..from + coef.len()) {
            Some(w) => {
                for (a, &w) in coef.iter_mut().zip(w) {
                    *a = w * self.off;
                }
            }
            None => coef.fill(self.off),
        }
        let y = self.labels[g] as usize;
        if let Some(a) = y.checked_sub(from).and_then(|k| coef.get_mut(k)) {
            *a = self.on_off(y).0;
        }
    }
}

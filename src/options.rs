//! Options shared by the losses: input kind, reduction, log base, ignore
//! index and label smoothing, with their validation.

use crate::error::{argument_error, Result};
use crate::float::Float;

/// What the prediction array holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Input {
    /// Probabilities in [0, 1], used as given.
    #[default]
    Probs,
    /// Raw scores: softmax (row-wise) or sigmoid (binary) is applied in log space.
    Logits,
}

/// How per-sample losses are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// One loss per row (per element for binary functions).
    None,
    /// The sum over counted samples.
    Sum,
    /// The sum divided by the number of counted (non-ignored) samples.
    #[default]
    Mean,
    /// The sum divided by the sum of the counted samples' weight factors.
    WeightedMean,
}

/// How the Hessian diagonal is reported.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum HessianMode {
    /// The exact second derivative.
    #[default]
    Exact,
    /// max(exact, floor), floor finite and > 0.
    Floor(f64),
    /// The expected (Fisher / Gauss-Newton) Hessian, positive by construction.
    Fisher,
}

/// Options of a loss computation. `Options::default()` is the C default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    pub input: Input,
    pub reduction: Reduction,
    /// Base b of every logarithm; 0 means e.
    pub log_base: f64,
    /// Label whose samples are skipped, if any.
    pub ignore_index: Option<i64>,
    /// eps in [0, 1]: targets become (1 - eps) t + eps / c.
    pub label_smoothing: f64,
    /// Threads a computation may use (0 or 1: the calling thread only).
    /// Results are bitwise identical for every value.
    pub threads: usize,
    /// How `hess` is reported.
    pub hessian: HessianMode,
    /// Multi-class functions: positions per sample S of the channels-first
    /// layout (N, C, S); 0 (and 1) means rows of c values. With S > 1 the
    /// slices are N x C x S (`pred`, dense targets, grad, hess; class stride
    /// S) and N x S (labels, a NONE `out`: one value per position).
    pub positions: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            input: Input::Probs,
            reduction: Reduction::Mean,
            log_base: 0.0,
            ignore_index: None,
            label_smoothing: 0.0,
            threads: 1,
            hessian: HessianMode::Exact,
            positions: 0,
        }
    }
}

impl Options {
    /// Checks `log_base` and `label_smoothing`.
    pub fn validate(&self) -> Result<()> {
        log_scale(self.log_base)?;
        let eps = self.label_smoothing;
        if !(0.0..=1.0).contains(&eps) {
            return Err(argument_error!(
                "opts->label_smoothing = {eps} is outside [0, 1]"
            ));
        }
        if let HessianMode::Floor(floor) = self.hessian {
            if !(floor.is_finite() && floor > 0.0) {
                return Err(argument_error!(
                    "opts->hessian_floor = {floor} must be finite and > 0 with FLOSS_HESSIAN_FLOOR"
                ));
            }
        }
        Ok(())
    }

    /// `1 / ln(b)`, the factor turning natural logarithms into base-b ones.
    pub(crate) fn log_scale<T: Float>(&self) -> T {
        T::from_f64(log_scale(self.log_base).unwrap_or(1.0))
    }

    /// Whether samples labelled `label` are skipped.
    #[inline]
    pub(crate) fn ignores(&self, label: i64) -> bool {
        self.ignore_index == Some(label)
    }
}

/// `1 / ln(b)` for a valid base b (0 meaning e), else an argument error.
pub(crate) fn log_scale(log_base: f64) -> Result<f64> {
    if log_base == 0.0 {
        Ok(1.0)
    } else if log_base.is_finite() && log_base > 0.0 && log_base != 1.0 {
        Ok(1.0 / log_base.ln())
    } else {
        Err(argument_error!(
            "opts->log_base = {log_base} must be 0 (natural log) or positive, finite and != 1"
        ))
    }
}

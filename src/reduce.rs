//! Output buffers and reductions: how per-sample losses become `out`, and
//! the factor every gradient and Hessian row is multiplied by.

use crate::error::{shape_error, Result};
use crate::float::Float;
use crate::options::Reduction;

/// Where a loss writes its results. `grad` and `hess`, when given, have the
/// length of the prediction array; `out` has one entry per sample for
/// [`Reduction::None`] and one entry otherwise.
#[derive(Debug)]
pub struct Outputs<'a, T> {
    pub out: &'a mut [T],
    pub grad: Option<&'a mut [T]>,
    pub hess: Option<&'a mut [T]>,
}

impl<'a, T: Float> Outputs<'a, T> {
    /// Only the loss value.
    pub fn value(out: &'a mut [T]) -> Self {
        Outputs {
            out,
            grad: None,
            hess: None,
        }
    }

    /// Checks the buffer lengths against `samples` and the prediction length.
    pub(crate) fn check(
        &self,
        reduction: Reduction,
        samples: usize,
        pred_len: usize,
    ) -> Result<()> {
        let want = if reduction == Reduction::None {
            samples
        } else {
            1
        };
        if self.out.len() != want {
            return Err(shape_error!(
                "out has {} entries, expected {want}",
                self.out.len()
            ));
        }
        for (name, buf) in [("grad", &self.grad), ("hess", &self.hess)] {
            if let Some(buf) = buf {
                if buf.len() != pred_len {
                    return Err(shape_error!(
                        "{name} has {} entries, expected {pred_len} (the prediction length)",
                        buf.len()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Combines per-sample losses as the reduction says.
///
/// Losses are computed in natural log; `log_scale = 1 / ln b` converts them.
/// Means divide by `divisor` (number of counted samples, or the sum of their
/// weight factors); a mean over nothing (divisor 0) is 0 with zero gradient.
/// Sums accumulate in `f64` whatever the element type.
#[derive(Debug)]
pub(crate) struct Reducer {
    reduction: Reduction,
    scale: f64,
    /// A power of two undoing a scaling of the weights ([`Reducer::unscaled`]).
    unscale: f64,
    sum: f64,
}

impl Reducer {
    pub(crate) fn new(reduction: Reduction, log_scale: f64, divisor: f64) -> Self {
        let scale = match reduction {
            Reduction::None | Reduction::Sum => log_scale,
            Reduction::Mean | Reduction::WeightedMean if divisor == 0.0 => 0.0,
            Reduction::Mean | Reduction::WeightedMean => log_scale / divisor,
        };
        Reducer {
            reduction,
            scale,
            unscale: 1.0,
            sum: 0.0,
        }
    }

    /// The reducer of losses computed with every weight times s
    /// ([`weight_scale`]; `unscale` = 1 / s, a power of two): values are
    /// multiplied by `unscale` after the scale, so that a zero loss stays 0
    /// even where scale x unscale overflows (e.g. a weight of 1e308 and
    /// log base 1 - 1e-16: 0 x Inf was NaN).
    pub(crate) fn unscaled(self, unscale: f64) -> Self {
        Reducer { unscale, ..self }
    }

    /// The factor applied to every gradient and Hessian entry.
    #[inline]
    pub(crate) fn derivative_scale<T: Float>(&self) -> T {
        T::from_f64(self.scale * self.unscale)
    }

    /// Whether every sample's loss is written (`Reduction::None`).
    pub(crate) fn per_sample(&self) -> bool {
        self.reduction == Reduction::None
    }

    /// The value written for one sample's (natural-log) loss under `None`;
    /// a zero loss is +0, never -0 (+ 0 turns -0 into +0).
    #[inline]
    pub(crate) fn sample_value<T: Float>(&self, value: T) -> T {
        T::from_f64(value.to_f64() * self.scale * self.unscale + 0.0)
    }

    /// Adds a partial sum (of a block of samples, in f64).
    pub(crate) fn add_partial(&mut self, sum: f64) {
        self.sum += sum;
    }

    /// Writes the reduced value (nothing to do for `None`).
    pub(crate) fn finish<T: Float>(self, out: &mut [T]) {
        if self.reduction != Reduction::None {
            out[0] = if self.scale == 0.0 {
                T::ZERO
            } else {
                T::from_f64(self.sum * self.scale * self.unscale + 0.0)
            };
        }
    }
}

/// The power of two s that brings the largest weight factor of a
/// WEIGHTED_MEAN into [1, 2) (as far as `T` can hold s; 1 for 0). Weights
/// multiplied by s give the same mean (s cancels exactly, being a power of
/// two), but a sum of huge weights no longer overflows and tiny ones keep
/// their digits (a divisor of 5e-324 made 1 / divisor infinite).
pub(crate) fn weight_scale<T: Float>(largest: T) -> T {
    let m = largest.to_f64();
    // Moderate weights are left alone (the results are then those of the
    // unscaled formulas, bit for bit).
    if !(m > 0.0 && m.is_finite()) || (2f64.powi(-64)..=2f64.powi(64)).contains(&m) {
        return T::ONE;
    }
    power_to::<T>(m, 0.0)
}

/// The power of two s that brings m > 0 into [2^e, 2^(e + 1)), with
/// |log2 s| 4 below the exponent of T's smallest normal number (so that s
/// and m s are normal in T).
fn power_to<T: Float>(m: f64, e: f64) -> T {
    let limit = -T::MIN_POSITIVE.to_f64().log2() - 4.0;
    let exponent = (e - m.log2().floor()).clamp(-limit, limit);
    T::from_f64(exponent.exp2())
}

/// The power of two s that brings `largest` (a weight that smoothing
/// reaches) into [2^63, 2^64): a cap on a WEIGHTED_MEAN's [`weight_scale`],
/// under which no weight overflows T; as far as T can hold s (+Inf for 0:
/// no cap).
pub(crate) fn weight_cap<T: Float>(largest: T) -> T {
    let m = largest.to_f64();
    if !(m > 0.0 && m.is_finite()) {
        return T::INFINITY;
    }
    power_to::<T>(m, 63.0)
}

/// Divisor of a reduction: the counted samples for `Mean`, the sum of their
/// weight factors for `WeightedMean`; unused otherwise.
pub(crate) fn divisor(reduction: Reduction, counted: usize, weight_sum: f64) -> f64 {
    match reduction {
        Reduction::WeightedMean => weight_sum,
        _ => counted as f64,
    }
}

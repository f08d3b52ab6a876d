//! Binary (sigmoid) losses of n independent elements: a prediction p in
//! [0, 1] (or a logit x, p = sigmoid(x)) against a target t in [0, 1]:
//!
//!   binary cross-entropy  B  = -(w t ln p + (1 - t) ln(1 - p)),  w = pos_weight
//!   binary focal loss     FL = alpha_t (1 - p_t)^gamma B|_(w = 1),
//!     p_t = p t + (1 - p)(1 - t),  alpha_t = alpha t + (1 - alpha)(1 - t)
//!
//! (PyTorch `binary_cross_entropy_with_logits(pos_weight=w)` and torchvision
//! `sigmoid_focal_loss`). One implementation computes the general element
//! loss L = alpha_t m^gamma B with m = 1 - p_t = p (1 - t) + (1 - p) t, a sum
//! of non-negative terms (no cancellation): cross-entropy is gamma = 0
//! without alpha (alpha_t = 1), focal loss is w = 1. Label smoothing eps
//! turns t into (1 - eps) t + eps / 2 before anything else.
//!
//! Logits (derivatives in x; every quantity finite for every finite x):
//!
//!   ln p = -softplus(-x), ln(1 - p) = -softplus(x)
//!   B   = w t softplus(-x) + (1 - t) softplus(x)
//!   B'  = (1 - t) p - w t (1 - p),   B'' = p (1 - p) (w t + 1 - t)
//!   ln m = log_add_exp(ln p + ln(1 - t), ln(1 - p) + ln t)
//!   rho = m' / m = (1 - 2t) exp(ln p + ln(1 - p) - ln m),  |rho| <= |1 - 2t|
//!   L'  = alpha_t m^g (g rho B + B')
//!   L'' = alpha_t m^g (g rho ((g - 1) rho B + (1 - 2p) B + 2 B') + B'')
//!
//! m^g = exp(g ln m) and rho never form (1 - p_t)^(g - 1), so gamma in (0, 1)
//! stays finite as p_t -> 1, where autograd through `pow` gives NaN.
//!
//! Probabilities (derivatives in p; s = 1 - 2t = dm/dp):
//!
//!   B_p  = -w t / p + (1 - t) / (1 - p),  B_pp = w t / p^2 + (1 - t) / (1 - p)^2
//!   L_p  = alpha_t m^g (g s B/m + B_p)
//!   L_pp = alpha_t (g s m^(g-1) ((g - 1) s B/m + 2 B_p) + m^g B_pp)
//!
//! with B/m taken as its limit w t + (1 - t) at m = 0 (t in {0, 1}, p = t).
//! Terms with a zero coefficient are 0 even at p = 0 or 1; a probability of 0
//! or 1 that the target needs gives an infinite loss, never a clamp.

use crate::classwise::Derivatives;
use crate::error::{argument_error, Result};
use crate::float::{log_add_exp, pow_from_ln, Float};
use crate::options::{Input, Options};
use crate::reduce::{divisor, Outputs, Reducer};
use crate::validate;

/// Binary cross-entropy of `pred` (probabilities or logits) against
/// `target` (in [0, 1], soft targets allowed), `pos_weight` > 0 weighting
/// the positive term.
///
/// Reads `input`, `reduction`, `log_base` and `label_smoothing`. MEAN
/// divides by n; WEIGHTED_MEAN by the sum of w t + (1 - t) over the
/// (smoothed) targets.
pub fn binary_cross_entropy<T: Float>(
    pred: &[T],
    target: &[T],
    pos_weight: T,
    opts: &Options,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    if !(pos_weight.is_finite() && pos_weight > T::ZERO) {
        return Err(argument_error!(
            "pos_weight = {pos_weight} must be finite and > 0"
        ));
    }
    let loss = BinaryLoss {
        pos_weight,
        alpha: None,
        gamma: T::ZERO,
    };
    loss.compute(pred, target, opts, outputs)
}

/// Binary focal loss of `pred` (probabilities or logits) against `target`
/// (in [0, 1], soft targets allowed). `alpha` in [0, 1], or negative for no
/// alpha (alpha_t = 1); `gamma` >= 0.
///
/// Reads `input`, `reduction`, `log_base` and `label_smoothing`. MEAN
/// divides by n; WEIGHTED_MEAN by the sum of alpha_t over the (smoothed)
/// targets (by n without alpha).
pub fn binary_focal_loss<T: Float>(
    pred: &[T],
    target: &[T],
    alpha: T,
    gamma: T,
    opts: &Options,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    if !(alpha.is_finite() && alpha <= T::ONE) {
        return Err(argument_error!(
            "alpha = {alpha} must be finite and in [0, 1], or negative for no alpha"
        ));
    }
    validate::non_negative("gamma", gamma)?;
    let loss = BinaryLoss {
        pos_weight: T::ONE,
        alpha: (alpha >= T::ZERO).then_some(alpha),
        gamma,
    };
    loss.compute(pred, target, opts, outputs)
}

/// The general element loss L = alpha_t m^gamma B (module docs).
#[derive(Debug, Clone, Copy)]
struct BinaryLoss<T> {
    pos_weight: T,
    /// `None`: alpha_t = 1.
    alpha: Option<T>,
    gamma: T,
}

/// A target after label smoothing, with the coefficients it gives.
#[derive(Debug, Clone, Copy)]
struct Target<T> {
    t: T,
    /// 1 - t, smoothed on its own so that it never rounds below 0.
    one_minus_t: T,
    /// w t, the coefficient of -ln p in B.
    positive: T,
    alpha_t: T,
}

/// p and 1 - p with their logarithms.
#[derive(Debug, Clone, Copy)]
struct Point<T> {
    p: T,
    q: T,
    log_p: T,
    log_q: T,
}

impl<T: Float> Point<T> {
    /// p = sigmoid(x) from one exponential: with e = exp(-|x|),
    /// softplus(-|x|) = ln(1 + e) and the larger of p, 1 - p is 1 / (1 + e).
    /// x = -Inf gives p = 0, ln p = -Inf exactly.
    fn from_logit(x: T) -> Self {
        let e = (-x.abs()).exp();
        let log_big = -e.ln_1p();
        let big = T::ONE / (T::ONE + e);
        let log_small = -x.abs() + log_big;
        let small = e * big;
        if x >= T::ZERO {
            Point {
                p: big,
                q: small,
                log_p: log_big,
                log_q: log_small,
            }
        } else {
            Point {
                p: small,
                q: big,
                log_p: log_small,
                log_q: log_big,
            }
        }
    }

    fn from_probability(p: T) -> Self {
        Point {
            p,
            q: T::ONE - p,
            log_p: p.ln(),
            log_q: (-p).ln_1p(),
        }
    }
}

/// `c v` with 0 v = 0 (a term whose coefficient is zero is absent, even
/// where v is infinite).
#[inline(always)]
fn times<T: Float>(c: T, v: T) -> T {
    if c == T::ZERO {
        T::ZERO
    } else {
        c * v
    }
}

/// `c / v` with 0 / v = 0, as [`times`].
#[inline(always)]
fn over<T: Float>(c: T, v: T) -> T {
    if c == T::ZERO {
        T::ZERO
    } else {
        c / v
    }
}

impl<T: Float> BinaryLoss<T> {
    /// Validates, reduces and writes every output.
    fn compute(
        &self,
        pred: &[T],
        target: &[T],
        opts: &Options,
        outputs: &mut Outputs<T>,
    ) -> Result<()> {
        opts.validate()?;
        let n = pred.len();
        validate::len("target", target, n)?;
        outputs.check(opts.reduction, n, n)?;
        let eps = opts.label_smoothing;
        let (keep, add) = (T::from_f64(1.0 - eps), T::from_f64(eps / 2.0));
        let smooth = |i: usize| {
            let raw = target[i];
            self.target(keep * raw + add, keep * (T::ONE - raw) + add)
        };
        let mut weight_sum = 0.0;
        for (i, &t) in target.iter().enumerate() {
            validate::probability("target", i, t)?;
            let at = smooth(i);
            weight_sum += (at.alpha_t * (at.positive + at.one_minus_t)).to_f64();
        }
        let mut reducer = Reducer::new(
            opts.reduction,
            opts.log_scale::<f64>(),
            divisor(opts.reduction, n, weight_sum),
        );
        let scale = reducer.derivative_scale::<T>();
        for (i, &x) in pred.iter().enumerate() {
            let d = match opts.input {
                Input::Logits => {
                    validate::logit("pred", i, x)?;
                    self.log_space(&smooth(i), Point::from_logit(x))
                }
                Input::Probs => {
                    validate::probability("pred", i, x)?;
                    self.prob_space(&smooth(i), Point::from_probability(x))
                }
            };
            reducer.add(outputs.out, i, d.value);
            if let Some(grad) = outputs.grad.as_deref_mut() {
                grad[i] = d.first * scale;
            }
            if let Some(hess) = outputs.hess.as_deref_mut() {
                hess[i] = d.second * scale;
            }
        }
        reducer.finish(outputs.out);
        Ok(())
    }

    fn target(&self, t: T, one_minus_t: T) -> Target<T> {
        Target {
            t,
            one_minus_t,
            positive: self.pos_weight * t,
            alpha_t: match self.alpha {
                Some(a) => a * t + (T::ONE - a) * one_minus_t,
                None => T::ONE,
            },
        }
    }

    /// B = -(w t ln p + (1 - t) ln(1 - p)).
    fn cross_entropy(at: &Target<T>, x: &Point<T>) -> T {
        -(times(at.positive, x.log_p) + times(at.one_minus_t, x.log_q))
    }

    /// L, dL/dx and d^2L/dx^2 of a logit (module docs).
    fn log_space(&self, at: &Target<T>, x: Point<T>) -> Derivatives<T> {
        let a = at.alpha_t;
        if a == T::ZERO {
            return Derivatives::ZERO;
        }
        let b = Self::cross_entropy(at, &x);
        let b1 = at.one_minus_t * x.p - at.positive * x.q;
        let b2 = x.p * x.q * (at.positive + at.one_minus_t);
        let g = self.gamma;
        if g == T::ZERO {
            return Derivatives {
                value: a * b,
                first: a * b1,
                second: a * b2,
            };
        }
        let log_m = log_add_exp(x.log_p + at.one_minus_t.ln(), x.log_q + at.t.ln());
        let am = a * pow_from_ln(g, log_m);
        if x.p == T::ZERO {
            // x = -Inf, or p underflowed: rho ~ p vanishes faster than B
            // grows (p ln p -> 0), and so does B''.
            return Derivatives {
                value: am * b,
                first: am * b1,
                second: T::ZERO,
            };
        }
        let rho = (at.one_minus_t - at.t) * (x.log_p + x.log_q - log_m).exp();
        Derivatives {
            value: am * b,
            first: am * (g * rho * b + b1),
            second: am * (g * rho * ((g - T::ONE) * rho * b + (x.q - x.p) * b + T::TWO * b1) + b2),
        }
    }

    /// L, dL/dp and d^2L/dp^2 of a probability (module docs).
    fn prob_space(&self, at: &Target<T>, x: Point<T>) -> Derivatives<T> {
        let a = at.alpha_t;
        if a == T::ZERO {
            return Derivatives::ZERO;
        }
        let b = Self::cross_entropy(at, &x);
        let b_positive = over(at.positive, x.p);
        let b_negative = over(at.one_minus_t, x.q);
        let b1 = b_negative - b_positive;
        let b2 = over(b_positive, x.p) + over(b_negative, x.q);
        let g = self.gamma;
        if g == T::ZERO {
            return Derivatives {
                value: a * b,
                first: a * b1,
                second: a * b2,
            };
        }
        let m = x.p * at.one_minus_t + x.q * at.t;
        let log_m = m.ln();
        let mg = pow_from_ln(g, log_m);
        if !b1.is_finite() {
            // p = 0 (or subnormal) where the target needs it, or p = 1
            // likewise: B_p ~ 1/p and B_pp ~ 1/p^2 outgrow the focal terms.
            return Derivatives {
                value: a * mg * b,
                first: a * mg * b1,
                second: T::INFINITY,
            };
        }
        let s = at.one_minus_t - at.t;
        let b_over_m = if m == T::ZERO {
            at.positive + at.one_minus_t
        } else {
            b / m
        };
        let mg1 = pow_from_ln(g - T::ONE, log_m);
        Derivatives {
            value: a * mg * b,
            first: a * mg * (g * s * b_over_m + b1),
            second: a * (g * s * mg1 * ((g - T::ONE) * s * b_over_m + T::TWO * b1) + mg * b2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_point_is_exact_in_both_tails() {
        let far = Point::from_logit(-800.0f64);
        assert_eq!(far.log_p, -800.0);
        assert_eq!(far.q, 1.0);
        assert_eq!(far.log_q, 0.0);
        let near = Point::from_logit(40.0f64);
        assert_eq!(near.p, 1.0);
        assert!((near.q / (-40.0f64).exp() - 1.0).abs() < 1e-15);
        assert_eq!(near.log_q, -40.0 - (-40.0f64).exp().ln_1p());
        let masked = Point::from_logit(f64::NEG_INFINITY);
        assert_eq!((masked.p, masked.log_p), (0.0, f64::NEG_INFINITY));
        assert_eq!((masked.q, masked.log_q), (1.0, 0.0));
    }
}

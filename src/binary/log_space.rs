//! The one-element formulas of the binary losses in log space (see the
//! parent module's docs): sigmoid points, the exact per-element path
//! that the block loops defer to, and the small helpers both share.

use super::{BinaryLoss, Target};
use crate::engine::Derivatives;
use crate::float::{log_add_exp, pow_from_ln, select, Float};
use crate::simd::{Baseline, Isa};

/// p and 1 - p with their logarithms.
#[derive(Debug, Clone, Copy)]
pub(super) struct Point<T> {
    pub(super) p: T,
    pub(super) q: T,
    pub(super) log_p: T,
    pub(super) log_q: T,
}

impl<T: Float> Point<T> {
    /// p = sigmoid(x) from one exponential: with e = exp(-|x|),
    /// softplus(-|x|) = ln(1 + e) and the larger of p, 1 - p is 1 / (1 + e).
    /// x = -Inf gives p = 0, ln p = -Inf exactly. Branch-free; also returns e.
    /// (u = 1 + e is in [1, 2]: ln_normal is ln there.)
    #[inline(always)]
    pub(super) fn from_logit(x: T) -> (Self, T) {
        let e = (-x.abs()).exp();
        (Self::from_logit_exp::<Baseline>(x, e), e)
    }

    /// [`Point::from_logit`] with its e = exp(-|x|) at hand (the block
    /// loops take a group's exps at once), the logarithm at level S.
    #[inline(always)]
    pub(super) fn from_logit_exp<S: Isa>(x: T, e: T) -> Self {
        let u = T::ONE + e;
        let big = T::ONE / u;
        // ln(1 + e) = ln u + c / u with c = e - (u - 1) the rounding error
        // of u (exact: Fast2Sum, e <= 1), as in kernels::math::ln_1p but
        // with the 1 / u already at hand.
        let log_big = -(S::ln_normal(u) + (e - (u - T::ONE)) * big);
        let log_small = -x.abs() + log_big;
        let small = e * big;
        let positive = x >= T::ZERO;
        Point {
            p: select(positive, big, small),
            q: select(positive, small, big),
            log_p: select(positive, log_big, log_small),
            log_q: select(positive, log_small, log_big),
        }
    }

    #[inline(always)]
    pub(super) fn from_probability(p: T) -> Self {
        // -0.0 is 0: adding +0 turns it into +0 (ln p = -Inf, 1/p = +Inf).
        let p = p + T::ZERO;
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
pub(super) fn times<T: Float>(c: T, v: T) -> T {
    select(c == T::ZERO, T::ZERO, c * v)
}

/// `c / v` with 0 / v = 0, as [`times`].
#[inline(always)]
pub(super) fn over<T: Float>(c: T, v: T) -> T {
    select(c == T::ZERO, T::ZERO, c / v)
}

/// B = -(w t ln p + (1 - t) ln(1 - p)); +0, never -0, where it is 0.
#[inline(always)]
pub(super) fn cross_entropy<T: Float>(at: &Target<T>, x: &Point<T>) -> T {
    -(times(at.positive, x.log_p) + times(at.negative, x.log_q)) + T::ZERO
}

/// Zero where alpha_t = 0 (the element is absent, even where B is infinite).
#[inline(always)]
pub(super) fn unless_absent<T: Float>(alpha_t: T, d: Derivatives<T>) -> Derivatives<T> {
    let absent = alpha_t == T::ZERO;
    Derivatives {
        value: select(absent, T::ZERO, d.value),
        first: select(absent, T::ZERO, d.first),
        second: select(absent, T::ZERO, d.second),
    }
}

impl<T: Float> BinaryLoss<T> {
    /// L, dL/dx and d^2L/dx^2 of a logit in log space (module docs): the
    /// one-element path for what the block loop leaves out (gamma > 0).
    pub(super) fn log_space(&self, at: &Target<T>, x: Point<T>) -> Derivatives<T> {
        let a = at.alpha_t;
        if a == T::ZERO {
            return Derivatives::ZERO;
        }
        let b = cross_entropy(at, &x);
        let b1 = at.negative * x.p - at.positive * x.q;
        let b2 = x.p * x.q * (at.positive + at.negative);
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
        if x.p == T::ZERO || am == T::ZERO {
            // x = -Inf, or p underflowed: rho ~ p vanishes faster than B
            // grows (p ln p -> 0), and so does B''. B = +Inf (x = -Inf, t > 0)
            // makes L infinite even where m^gamma underflows to 0. Where
            // alpha_t m^gamma underflows, the derivatives are 0 even if a
            // factor with gamma in it overflows (absurd gamma).
            return Derivatives {
                value: select(b == T::INFINITY, b, am * b),
                first: select(am == T::ZERO, T::ZERO, am * b1),
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
}

impl<T: Float> BinaryLoss<T> {
    /// The FISHER Hessian ([`crate::hessian`]): L = c_1 (-ln p) +
    /// c_0 (-ln(1 - p)) with c_1 = alpha_t m^gamma w t and
    /// c_0 = alpha_t m^gamma (1 - t) held fixed, giving (c_1 + c_0) p (1 - p)
    /// in the logit and c_1 / p^2 + c_0 / (1 - p)^2 in the probability
    /// (0 where alpha_t m^gamma is 0, even where the curvature is infinite).
    #[inline(always)]
    pub(super) fn fisher(&self, at: &Target<T>, x: &Point<T>, logits: bool) -> T {
        let log_m = log_add_exp(x.log_p + at.one_minus_t.ln(), x.log_q + at.t.ln());
        let weight = at.alpha_t * pow_from_ln(self.gamma, log_m);
        let curvature = select(
            logits,
            x.p * x.q * (at.positive + at.one_minus_t),
            over(at.positive, x.p * x.p) + over(at.one_minus_t, x.q * x.q),
        );
        times(weight, curvature)
    }
}

//! The one float trait the core is generic over: `f32` and `f64`.

use crate::kernels::math;
use core::fmt::{Debug, Display};
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point element type of the library (`f32` or `f64`).
///
/// Only what the formulas need: arithmetic, the transcendental functions and
/// lossless conversion to `f64` (used for reductions, which always accumulate
/// in `f64`).
pub trait Float:
    Copy
    + Debug
    + Display
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    const ZERO: Self;
    const ONE: Self;
    const TWO: Self;
    const HALF: Self;
    const INFINITY: Self;
    const NEG_INFINITY: Self;
    /// Smallest positive normal number.
    const MIN_POSITIVE: Self;
    /// The C name of the type, for messages.
    const C_NAME: &'static str;

    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn from_usize(x: usize) -> Self {
        Self::from_f64(x as f64)
    }

    /// e^x, vectorisable ([`crate::kernels::math`]), within 2 ulp.
    fn exp(self) -> Self;
    /// [`Float::exp`] with fused multiply-adds: a libm call per step unless
    /// compiled with FMA; use it through [`crate::simd::Isa::exp`].
    fn exp_fused(self) -> Self;
    fn exp_m1(self) -> Self;
    /// ln x, vectorisable ([`crate::kernels::math`]), within 2 ulp.
    fn ln(self) -> Self;
    /// ln x for a positive normal finite x, as [`Float::ln`] there; an
    /// unspecified value otherwise (no special cases: cheaper in loops
    /// that know their arguments' range).
    fn ln_normal(self) -> Self;
    /// [`Float::ln_normal`] with fused multiply-adds, as
    /// [`Float::exp_fused`]: use it through [`crate::simd::Isa::ln_normal`].
    fn ln_normal_fused(self) -> Self;
    /// ln(1 + x), vectorisable ([`crate::kernels::math`]), within 2 ulp.
    fn ln_1p(self) -> Self;
    /// self * a + b with one rounding. A libm call unless the code is
    /// compiled with FMA: use it through [`crate::simd::Isa::mul_add`].
    fn mul_add(self, a: Self, b: Self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn floor(self) -> Self;
    fn max(self, other: Self) -> Self;
    fn min(self, other: Self) -> Self;
    fn is_finite(self) -> bool;
    fn is_nan(self) -> bool;
}

macro_rules! impl_float {
    ($t:ident, $c_name:literal, $exp:path, $exp_fused:path, $ln:path, $ln_normal:path, $ln_normal_fused:path, $ln_1p:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const TWO: Self = 2.0;
            const HALF: Self = 0.5;
            const INFINITY: Self = $t::INFINITY;
            const NEG_INFINITY: Self = $t::NEG_INFINITY;
            const MIN_POSITIVE: Self = $t::MIN_POSITIVE;
            const C_NAME: &'static str = $c_name;

            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn exp_fused(self) -> Self {
                $exp_fused(self)
            }
            #[inline(always)]
            fn exp_m1(self) -> Self {
                $t::exp_m1(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline(always)]
            fn ln_normal(self) -> Self {
                $ln_normal(self)
            }
            #[inline(always)]
            fn ln_normal_fused(self) -> Self {
                $ln_normal_fused(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                $ln_1p(self)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                $t::mul_add(self, a, b)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline(always)]
            fn floor(self) -> Self {
                $t::floor(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                $t::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                $t::min(self, other)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
        }
    };
}

impl_float!(
    f32,
    "float",
    math::exp_f32,
    math::exp_fused_f32,
    math::ln_f32,
    math::ln_normal_f32,
    math::ln_normal_fused_f32,
    math::ln_1p_f32
);
impl_float!(
    f64,
    "double",
    math::exp_f64,
    math::exp_fused_f64,
    math::ln_f64,
    math::ln_normal_f64,
    math::ln_normal_fused_f64,
    math::ln_1p_f64
);

/// `yes` if `cond`, else `no`: a select the compiler keeps branch-free,
/// so that per-class loops with special cases still vectorise.
#[inline(always)]
pub fn select<T: Copy>(cond: bool, yes: T, no: T) -> T {
    if cond {
        yes
    } else {
        no
    }
}

/// `x^gamma` given `log_x = ln x`, with `x^0 = 1` for every x (also x = 0).
///
/// Computing the power from the logarithm keeps `(1 - p)^gamma` exact when
/// `1 - p` underflows but its logarithm does not.
#[inline(always)]
pub fn pow_from_ln<T: Float>(gamma: T, log_x: T) -> T {
    select(gamma == T::ZERO, T::ZERO, gamma * log_x).exp()
}

/// `ln(a + b)` for a, b >= 0 not both 0: the logarithm of the rounded sum
/// s plus the sum's rounding error over s (TwoSum: a + b = s + err
/// exactly), ln(s) + err / s. Where a = 1 this is `ln_1p(b)`'s formula
/// (the same exact error, added the same way), with one logarithm instead
/// of a choice between two.
#[inline(always)]
pub fn ln_sum<T: Float>(a: T, b: T) -> T {
    ln_sum_with(a, b, T::ln).0
}

/// [`ln_sum`] with the logarithm `ln` (for a caller that knows a + b is
/// normal: `ln_normal`) and err / s as err (1 / s): returns ln(a + b), s
/// and 1 / s, for the caller's other quotients by s (one division for
/// all of them).
#[inline(always)]
pub fn ln_sum_with<T: Float>(a: T, b: T, ln: impl Fn(T) -> T) -> (T, T, T) {
    let s = a + b;
    let b_rounded = s - a;
    let err = (a - (s - b_rounded)) + (b - b_rounded);
    let inv_s = T::ONE / s;
    (ln(s) + err * inv_s, s, inv_s)
}

/// `ln(1 + e^x)`, finite for every finite x; branch-free (vectorisable).
#[inline(always)]
pub fn softplus<T: Float>(x: T) -> T {
    select(x > T::ZERO, x, T::ZERO) + (-x.abs()).exp().ln_1p()
}

/// `ln(e^a + e^b)`, with -Inf arguments allowed (both: -Inf); branch-free
/// (vectorisable).
#[inline(always)]
pub fn log_add_exp<T: Float>(a: T, b: T) -> T {
    let a_high = a >= b;
    let (hi, lo) = (select(a_high, a, b), select(a_high, b, a));
    select(lo == T::NEG_INFINITY, hi, hi + (lo - hi).exp().ln_1p())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the label is the top class (e_y = 1) the row-major rows used
    /// ln_1p(r); ln_sum gives its value, to the rounding of err / s (err
    /// (1 / s) here): within 1 ulp.
    #[test]
    fn ln_sum_of_one_and_r_is_ln_1p() {
        let ulps = |a: f64, b: f64| (a.to_bits() as i64 - b.to_bits() as i64).abs();
        let mut r = 1e-300f64;
        while r < 1e300 {
            assert!(ulps(ln_sum(1.0, r), Float::ln_1p(r)) <= 1, "r = {r:e}");
            r *= 1.618;
        }
        let mut r = 1e-44f32;
        while r < 1e37 {
            let (a, b) = (ln_sum(1.0, r), Float::ln_1p(r));
            assert!(
                (a.to_bits() as i64 - b.to_bits() as i64).abs() <= 1,
                "r = {r:e}"
            );
            r *= 1.618;
        }
    }

    /// ln(a + b) of the exact sum: f32 arguments whose sum f64 holds
    /// exactly, against f64's logarithm of it, also where a + b rounds to
    /// about 1 (ln of the rounded sum alone is then off by up to half its
    /// own size).
    #[test]
    fn ln_sum_is_the_log_of_the_exact_sum() {
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut worst = 0.0f64;
        for i in 0..200_000 {
            let a = (1e-3 + next()) as f32;
            let b = if i % 2 == 0 {
                (next() * 1e3) as f32
            } else {
                // a + b close to 1.
                (1.0 - a as f64 + (next() - 0.5) * 1e-6) as f32
            };
            let want = (a as f64 + b as f64).ln();
            if want == 0.0 {
                continue;
            }
            let ulp = ((want.abs() as f32).to_bits() + 1) as f64;
            let ulp = f32::from_bits(ulp as u32) as f64 - want.abs() as f32 as f64;
            let err = (ln_sum(a, b) as f64 - want).abs() / ulp;
            worst = worst.max(err);
        }
        eprintln!("ln_sum f32: worst error {worst:.2} ulp");
        assert!(worst <= 3.0, "{worst} ulp");
    }
}

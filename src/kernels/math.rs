//! exp and ln written for vectorisation: straight-line code (selects, no
//! branches, no calls) that the compiler turns into SIMD loops over slices,
//! where libm's scalar calls would not vectorise.
//!
//! exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 (ln 2 split in a
//! high part with trailing zeros and a low part, so k ln2_hi is exact),
//! |r| <= ln(2)/2, exp(r) by its Taylor polynomial to degree 12 (f64) or
//! by 1 + r + r^2 q(r) with q a minimax polynomial of degree 4 (f32), whose
//! approximation error is below half an ulp; 2^k is built from
//! its bits in two halves so that subnormal results are rounded once
//! (AVX-512's `vscalef`, one instruction, rounds p 2^k once too: the same
//! bits).
//!
//! ln(x) = e ln 2 + ln m with x = m 2^e, m in [sqrt(1/2), sqrt(2)), and
//! ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m - 1)/(m + 1),
//! |s| <= 0.1716, summed to s^11 (f32), or 2s + s^3 P(s^2) with fdlibm's
//! minimax P of degree 6 (f64, where the series needs s^23).
//!
//! Both are within 2 ulp of the correctly rounded result over the whole
//! range (checked against libm in the tests), with exp(-Inf) = 0,
//! exp(+Inf) = +Inf, ln(0) = -Inf, ln(+Inf) = +Inf, ln(x < 0) = NaN.
//!
//! ln_1p(x) = ln(u) + c / u with u = 1 + x rounded and c = (1 + x) - u its
//! rounding error, exact by Fast2Sum (the larger of 1 and x first):
//! ln(1 + x) = ln(u (1 + c/u)) and |c/u| <= 2^-53 (f64) or 2^-24 (f32), so
//! the first-order term is enough. Within 2 ulp of libm over the whole
//! range, exactly x where 1 + x rounds to 1 (tiny and subnormal x, -0),
//! with ln_1p(-1) = -Inf, ln_1p(+Inf) = +Inf, ln_1p(x < -1) = NaN.

/// Rounds x by to the nearest integer by the 1.5 * 2^52 trick (SSE2 has
/// no rounding instruction); returns the rounded value and the integer in
/// the low bits of the sum.
#[inline(always)]
fn round_f64<const FUSED: bool>(x: f64, by: f64) -> (f64, i64) {
    const MAGIC: f64 = 6755399441055744.0; // 1.5 * 2^52
    let t = horner::<_, FUSED>(x, by, MAGIC);
    (t - MAGIC, (t.to_bits() as i64) - (MAGIC.to_bits() as i64))
}

#[inline(always)]
fn round_f32<const FUSED: bool>(x: f32, by: f32) -> (f32, i32) {
    const MAGIC: f32 = 12582912.0; // 1.5 * 2^23
    let t = horner::<_, FUSED>(x, by, MAGIC);
    (t - MAGIC, (t.to_bits() as i32) - (MAGIC.to_bits() as i32))
}

/// exp for f64.
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    exp_f64_with::<false>(x)
}

/// [`exp_f64`] with its polynomial in fused multiply-adds (for code
/// compiled with FMA: [`crate::simd::Isa::exp`]).
#[inline(always)]
pub fn exp_fused_f64(x: f64) -> f64 {
    exp_f64_with::<true>(x)
}

/// p r + c, fused or not.
#[inline(always)]
fn horner<T: crate::Float, const FUSED: bool>(p: T, r: T, c: T) -> T {
    if FUSED {
        p.mul_add(r, c)
    } else {
        p * r + c
    }
}

#[inline(always)]
fn exp_f64_with<const FUSED: bool>(x: f64) -> f64 {
    let (p, _, ki) = exp_parts_f64::<FUSED>(x);
    let k1 = ki >> 1;
    let k2 = ki - k1;
    let scale1 = f64::from_bits(((k1 + 1023) as u64) << 52);
    let scale2 = f64::from_bits(((k2 + 1023) as u64) << 52);
    // (A NaN x went through the clamp, so r and p are NaN.)
    p * scale1 * scale2
}

/// exp(x) = p 2^k for f64 (module docs): p, k and k as an integer, x
/// clamped first.
#[inline(always)]
pub fn exp_parts_f64<const FUSED: bool>(x: f64) -> (f64, f64, i64) {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const INV_LN2: f64 = core::f64::consts::LOG2_E;
    // Beyond these, the result is 0 or +Inf anyway; the clamp keeps k small.
    let xc = x.clamp(-746.0, 710.0);
    let (k, ki) = round_f64::<FUSED>(xc, INV_LN2);
    // (xc - k ln2_hi) - k ln2_lo, the first product exact.
    let r = horner::<_, FUSED>(-k, LN2_LO, horner::<_, FUSED>(-k, LN2_HI, xc));
    let mut p = 1.0 / 479_001_600.0; // 1/12!
    for c in [
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = horner::<_, FUSED>(p, r, c);
    }
    (p, k, ki)
}

/// exp for f32.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp_f32_with::<false>(x)
}

/// [`exp_f32`] with its polynomial in fused multiply-adds.
#[inline(always)]
pub fn exp_fused_f32(x: f32) -> f32 {
    exp_f32_with::<true>(x)
}

#[inline(always)]
fn exp_f32_with<const FUSED: bool>(x: f32) -> f32 {
    let (p, _, ki) = exp_parts_f32::<FUSED>(x);
    let k1 = ki >> 1;
    let k2 = ki - k1;
    let scale1 = f32::from_bits(((k1 + 127) as u32) << 23);
    let scale2 = f32::from_bits(((k2 + 127) as u32) << 23);
    // (A NaN x went through the clamp, so r and p are NaN.)
    p * scale1 * scale2
}

/// exp(x) = p 2^k for f32 (module docs): p, k and k as an integer, x
/// clamped first. (AVX-512 scales p by 2^k in one instruction:
/// [`crate::simd::Isa::exp_lanes`].)
#[inline(always)]
pub fn exp_parts_f32<const FUSED: bool>(x: f32) -> (f32, f32, i32) {
    const LN2_HI: f32 = 355.0 / 512.0; // exact in f32, so k * LN2_HI is exact
    const LN2_LO: f32 = -2.121_944_4e-4;
    const INV_LN2: f32 = core::f32::consts::LOG2_E;
    let xc = x.clamp(-104.0, 89.0);
    let (k, ki) = round_f32::<FUSED>(xc, INV_LN2);
    // (xc - k ln2_hi) - k ln2_lo, the first product exact.
    let r = horner::<_, FUSED>(-k, LN2_LO, horner::<_, FUSED>(-k, LN2_HI, xc));
    // 1 + r + r^2 q(r), q a minimax fit of degree 4 for |r| <= 0.3466
    // (relative error 3.1e-9, far below f32's 6e-8; tests/data/exp_f32_fit.py):
    // as accurate as the degree-7 series it replaced, one step shorter.
    let mut p = 1.381_46e-3;
    for c in [
        8.368_716e-3,
        4.166_839e-2,
        1.666_652_1e-1,
        4.999_999_4e-1,
        1.0,
        1.0,
    ] {
        p = horner::<_, FUSED>(p, r, c);
    }
    (p, k, ki)
}

/// ln of `xs` 2^-shift for a positive normal finite `xs`: the reduction
/// and polynomial of ln_f64 without its special cases.
#[inline(always)]
fn ln_scaled_f64<const FUSED: bool>(xs: f64, shift: i64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let bits = xs.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023 - shift;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let high = m > core::f64::consts::SQRT_2;
    m = if high { m * 0.5 } else { m };
    e += high as i64;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // (ln m - 2s) / s^3 for s^2 <= 0.0295: fdlibm's minimax polynomial
    // (e_log.c, Lg1..Lg7; within 2^-58.45 of it), 7 terms where the
    // series 2/3 + 2/5 s^2 + ... needs 11.
    let mut p = 1.479_819_860_511_658_6e-1;
    for c in [
        1.531_383_769_920_937_3e-1,
        1.818_357_216_161_805e-1,
        2.222_219_843_214_978_4e-1,
        2.857_142_874_366_239e-1,
        3.999_999_999_940_942e-1,
        6.666_666_666_666_735e-1,
    ] {
        p = horner::<_, FUSED>(p, s2, c);
    }
    let ln_m = 2.0 * s + s * s2 * p;
    let ef = e as f64;
    ef * LN2_HI + (ef * LN2_LO + ln_m)
}

/// ln for f64.
#[inline(always)]
pub fn ln_f64(x: f64) -> f64 {
    const TWO_54: f64 = 18014398509481984.0;
    let subnormal = x < f64::MIN_POSITIVE;
    let xs = if subnormal { x * TWO_54 } else { x };
    let y = ln_scaled_f64::<false>(xs, if subnormal { 54 } else { 0 });
    if x == 0.0 {
        f64::NEG_INFINITY
    } else if x == f64::INFINITY {
        x
    } else if x < 0.0 || x.is_nan() {
        f64::NAN
    } else {
        y
    }
}

/// ln for a positive normal finite f64, as ln_f64 there; any other
/// argument gives an unspecified value. Without the special cases, for
/// loops that know their arguments' range.
#[inline(always)]
pub fn ln_normal_f64(x: f64) -> f64 {
    ln_scaled_f64::<false>(x, 0)
}

/// [`ln_normal_f64`] with its polynomial in fused multiply-adds (for code
/// compiled with FMA: [`crate::simd::Isa::ln_normal`]).
#[inline(always)]
pub fn ln_normal_fused_f64(x: f64) -> f64 {
    ln_scaled_f64::<true>(x, 0)
}

/// ln of `xs` 2^-shift for a positive normal finite `xs`, as
/// [`ln_scaled_f64`].
#[inline(always)]
fn ln_scaled_f32<const FUSED: bool>(xs: f32, shift: i32) -> f32 {
    const LN2_HI: f32 = 355.0 / 512.0; // exact in f32, so k * LN2_HI is exact
    const LN2_LO: f32 = -2.121_944_4e-4;
    let bits = xs.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127 - shift;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let high = m > core::f32::consts::SQRT_2;
    m = if high { m * 0.5 } else { m };
    e += high as i32;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = 2.0 / 11.0;
    for c in [2.0 / 9.0, 2.0 / 7.0, 2.0 / 5.0, 2.0 / 3.0] {
        p = horner::<_, FUSED>(p, s2, c);
    }
    let ln_m = 2.0 * s + s * s2 * p;
    let ef = e as f32;
    ef * LN2_HI + (ef * LN2_LO + ln_m)
}

/// ln for f32.
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    const TWO_25: f32 = 33554432.0;
    let subnormal = x < f32::MIN_POSITIVE;
    let xs = if subnormal { x * TWO_25 } else { x };
    let y = ln_scaled_f32::<false>(xs, if subnormal { 25 } else { 0 });
    if x == 0.0 {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        x
    } else if x < 0.0 || x.is_nan() {
        f32::NAN
    } else {
        y
    }
}

/// ln for a positive normal finite f32, as [`ln_normal_f64`].
#[inline(always)]
pub fn ln_normal_f32(x: f32) -> f32 {
    ln_scaled_f32::<false>(x, 0)
}

/// [`ln_normal_f32`] with its polynomial in fused multiply-adds.
#[inline(always)]
pub fn ln_normal_fused_f32(x: f32) -> f32 {
    ln_scaled_f32::<true>(x, 0)
}

macro_rules! ln_1p {
    ($name:ident, $t:ident, $ln:ident) => {
        /// ln(1 + x) for the type (module docs).
        #[inline(always)]
        pub fn $name(x: $t) -> $t {
            let u = 1.0 + x;
            // Fast2Sum: the rounding error of 1 + x, exactly.
            let c = if x >= 1.0 {
                1.0 - (u - x)
            } else {
                x - (u - 1.0)
            };
            let y = $ln(u) + c / u;
            if u == 1.0 {
                x
            } else if u == 0.0 || u == $t::INFINITY {
                $ln(u)
            } else {
                y
            }
        }
    };
}
ln_1p!(ln_1p_f64, f64, ln_f64);
ln_1p!(ln_1p_f32, f32, ln_f32);

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place, through the ordered bit patterns.
    fn ulps64(a: f64, b: f64) -> u64 {
        let key = |x: f64| {
            let i = x.to_bits() as i64;
            if i < 0 {
                i64::MIN - i
            } else {
                i
            }
        };
        key(a).abs_diff(key(b))
    }
    fn ulps32(a: f32, b: f32) -> u32 {
        let key = |x: f32| {
            let i = x.to_bits() as i32;
            if i < 0 {
                i32::MIN - i
            } else {
                i
            }
        };
        key(a).abs_diff(key(b))
    }

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut rng = Lcg(1);
        let mut worst = (0u64, 0u32);
        for _ in 0..400_000 {
            let x = rng.next() * 1500.0 - 760.0;
            worst.0 = worst.0.max(ulps64(exp_f64(x), x.exp()));
            let y = (rng.next() * 200.0 - 110.0) as f32;
            worst.1 = worst.1.max(ulps32(exp_f32(y), y.exp()));
            let small = (rng.next() - 0.5) * 1e-3;
            worst.0 = worst.0.max(ulps64(exp_f64(small), small.exp()));
            worst.0 = worst.0.max(ulps64(exp_fused_f64(x), x.exp()));
            worst.1 = worst.1.max(ulps32(exp_fused_f32(y), y.exp()));
        }
        assert!(worst.0 <= 2 && worst.1 <= 2, "worst ulps {worst:?}");
        assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f64(f64::NAN).is_nan() && exp_f32(f32::NAN).is_nan());
        assert!(exp_fused_f64(f64::NAN).is_nan() && exp_fused_f32(f32::NAN).is_nan());
        assert_eq!(exp_fused_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_fused_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_fused_f64(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_fused_f64(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn ln_is_within_two_ulp_of_libm() {
        let mut rng = Lcg(2);
        let mut worst = (0u64, 0u32);
        for _ in 0..400_000 {
            let x = (rng.next() * 1400.0 - 700.0).exp() * (1.0 + rng.next());
            worst.0 = worst.0.max(ulps64(ln_f64(x), x.ln()));
            let near_one = 1.0 + (rng.next() - 0.5) * 1e-6;
            worst.0 = worst.0.max(ulps64(ln_f64(near_one), near_one.ln()));
            let y = ((rng.next() * 170.0 - 85.0).exp() * (1.0 + rng.next())) as f32;
            worst.1 = worst.1.max(ulps32(ln_f32(y), y.ln()));
        }
        for x in [5e-324, 1e-310, 2.2e-308, 0.5, 1.0, 2.0, f64::MAX] {
            worst.0 = worst.0.max(ulps64(ln_f64(x), x.ln()));
        }
        for y in [1e-45f32, 1e-40, 1.2e-38, 0.5, 1.0, f32::MAX] {
            worst.1 = worst.1.max(ulps32(ln_f32(y), y.ln()));
        }
        assert!(worst.0 <= 2 && worst.1 <= 2, "worst ulps {worst:?}");
        assert_eq!(ln_f64(0.0), f64::NEG_INFINITY);
        assert_eq!(ln_f64(f64::INFINITY), f64::INFINITY);
        assert!(ln_f64(-1.0).is_nan() && ln_f32(-1.0).is_nan());
        assert_eq!(ln_f32(0.0), f32::NEG_INFINITY);
        assert_eq!(ln_f64(1.0), 0.0);
        assert_eq!(ln_f32(1.0), 0.0);
    }

    #[test]
    fn ln_1p_is_within_two_ulp_of_libm() {
        let mut rng = Lcg(3);
        let mut worst = (0u64, 0u32);
        let mut check = |x: f64| {
            worst.0 = worst.0.max(ulps64(ln_1p_f64(x), x.ln_1p()));
            let y = x as f32;
            if y > -1.0 {
                worst.1 = worst.1.max(ulps32(ln_1p_f32(y), y.ln_1p()));
            }
        };
        for _ in 0..400_000 {
            // Magnitudes from subnormal to huge, both signs (above -1).
            let m = (rng.next() * 1460.0 - 745.0).exp() * (1.0 + rng.next());
            check(m);
            check(-(m.min(1.0)));
            // Near 0, where 1 + x rounds, and near -1.
            let small = (rng.next() - 0.5) * 1e-6;
            check(small);
            check(-1.0 + rng.next() * 1e-6);
            check(rng.next() * 3.0 - 1.0);
            check(rng.next() * 100.0);
        }
        for x in [
            5e-324,
            -5e-324,
            1e-310,
            1e-300,
            1e-17,
            -1e-17,
            1.1e-16,
            2.2e-16,
            1e-8,
            0.5,
            1.0,
            2.0,
            1e16,
            1e300,
            f64::MAX,
            -0.5,
            -0.9999999999999999,
        ] {
            check(x);
        }
        assert!(worst.0 <= 2 && worst.1 <= 2, "worst ulps {worst:?}");
        assert_eq!(ln_1p_f64(0.0), 0.0);
        assert_eq!(ln_1p_f64(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(ln_1p_f64(1e-300), 1e-300);
        assert_eq!(ln_1p_f32(1e-30), 1e-30);
        assert_eq!(ln_1p_f64(-1.0), f64::NEG_INFINITY);
        assert_eq!(ln_1p_f32(-1.0), f32::NEG_INFINITY);
        assert_eq!(ln_1p_f64(f64::INFINITY), f64::INFINITY);
        assert_eq!(ln_1p_f32(f32::INFINITY), f32::INFINITY);
        assert!(ln_1p_f64(-1.5).is_nan() && ln_1p_f32(-1.5).is_nan());
        assert!(ln_1p_f64(f64::NAN).is_nan() && ln_1p_f32(f32::NAN).is_nan());
        assert!(ln_1p_f64(f64::NEG_INFINITY).is_nan());
    }

    #[test]
    fn fused_ln_normal_is_within_two_ulp_of_libm() {
        let mut rng = Lcg(5);
        let mut worst = (0u64, 0u32);
        for _ in 0..200_000 {
            let x = (rng.next() * 1400.0 - 700.0).exp() * (1.0 + rng.next());
            worst.0 = worst.0.max(ulps64(ln_normal_fused_f64(x), x.ln()));
            let y = ((rng.next() * 170.0 - 85.0).exp() * (1.0 + rng.next())) as f32;
            worst.1 = worst.1.max(ulps32(ln_normal_fused_f32(y), y.ln()));
            // [1, 2], where the binary losses take ln(1 + e^-|x|).
            let u = 1.0 + rng.next();
            worst.0 = worst.0.max(ulps64(ln_normal_fused_f64(u), u.ln()));
            worst.1 = worst
                .1
                .max(ulps32(ln_normal_fused_f32(u as f32), (u as f32).ln()));
        }
        assert!(worst.0 <= 2 && worst.1 <= 2, "worst ulps {worst:?}");
        assert_eq!(ln_normal_fused_f64(1.0), 0.0);
        assert_eq!(ln_normal_fused_f32(1.0), 0.0);
    }

    #[test]
    fn ln_normal_is_ln_on_normal_numbers() {
        let mut rng = Lcg(4);
        for _ in 0..100_000 {
            let x = (rng.next() * 1400.0 - 700.0).exp() * (1.0 + rng.next());
            assert_eq!(ln_normal_f64(x).to_bits(), ln_f64(x).to_bits(), "{x}");
            let y = ((rng.next() * 170.0 - 85.0).exp() * (1.0 + rng.next())) as f32;
            assert_eq!(ln_normal_f32(y).to_bits(), ln_f32(y).to_bits(), "{y}");
        }
        for x in [f64::MIN_POSITIVE, 1.0, 2.0, f64::MAX] {
            assert_eq!(ln_normal_f64(x), ln_f64(x));
        }
        for y in [f32::MIN_POSITIVE, 1.0, 2.0, f32::MAX] {
            assert_eq!(ln_normal_f32(y), ln_f32(y));
        }
    }
}

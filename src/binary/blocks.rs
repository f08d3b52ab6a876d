//! Block loops of the binary losses.
//!
//! Implementation: elements go through in blocks of
//! [`BLOCK_BYTES`](super::BLOCK_BYTES), each a few
//! straight-line loops (selects, no branches, no calls: the vectorisable
//! exp, ln and ln_1p of [`crate::kernels::math`]) that the compiler turns
//! into SIMD code; every array is its own slice argument, so that it knows
//! they do not alias. Sums accumulate in f64 over a fixed pattern of
//! [`LANES`] lanes, so results do not depend on the vector width.
//!
//! A hard target (t = 0 or 1 after smoothing) makes m = 1 - p_t one of p,
//! 1 - p: ln m is ln p or ln(1 - p), rho is 1 - p or -p, with no further
//! logarithm, and at gamma = 2 (logits) m^gamma is m m, with no exponential. Otherwise, with logits and gamma > 0, the block loop uses,
//! with e = exp(-|x|) and "big" the larger of p, 1 - p (= 1 / (1 + e)),
//!
//!   m = big v,  v = c_big + e c_small,  ln m = ln big + ln v,
//!   rho = (1 - 2t) small / v,
//!
//! where c_big is the target coefficient of the larger probability (1 - t
//! for x >= 0, t otherwise) and c_small the other: v is a sum of
//! non-negative terms, and 2 exp + 2 ln per element replace the log-space
//! form's 4 + 4. Soft-target elements where e or v is below the smallest
//! normal number (|x| beyond ~87 in f32 or ~708 in f64, -Inf logits,
//! targets within ~1e-38 or ~1e-308 of 0 or 1) are recomputed one by one
//! in log space (the formulas above), which stays exact in both tails.
//! Each element's results depend on that element only (not on the others,
//! nor on where it falls in a block or vector).

use super::log_space::{cross_entropy, over, times, unless_absent, Point};
use super::{Params, Target};
use crate::engine::Derivatives;
use crate::float::{pow_from_ln, select, Float};
use crate::kernels::lanes::{Lanes, LANES};
use crate::simd::Isa;

// The block loops take every array as its own slice argument (Rust tells
// the compiler that such arguments do not alias, so it vectorises them
// without runtime overlap checks), and write every output unconditionally.

/// Intermediate buffers of a block of logits (one entry per element).
pub(super) struct Scratch<T> {
    /// e = exp(-|x|).
    pub(super) e: Vec<T>,
    pub(super) p: Vec<T>,
    pub(super) q: Vec<T>,
    pub(super) log_p: Vec<T>,
    pub(super) log_q: Vec<T>,
    /// ln m and rho of the focal loss (general form only).
    pub(super) log_m: Vec<T>,
    pub(super) rho: Vec<T>,
}

impl<T: Float> Scratch<T> {
    pub(super) fn new(len: usize) -> Self {
        let zeros = || vec![T::ZERO; len];
        Scratch {
            e: zeros(),
            p: zeros(),
            q: zeros(),
            log_p: zeros(),
            log_q: zeros(),
            log_m: zeros(),
            rho: zeros(),
        }
    }
}

/// L, dL/dx, d^2L/dx^2 of a block of logits, in passes short enough for
/// the processor to overlap the iterations of each (its long dependency
/// chains: one exp or ln after another). `FOCAL`: gamma > 0, and then
/// `slow` marks the elements to recompute in log space (module docs).
/// Hard targets (0 or 1 after smoothing) take ln m = ln p or ln(1 - p)
/// and are never slow; `HARD` (with `FOCAL`) says every target is hard,
/// and skips the general form (same results). `first` and `second` get
/// the derivatives times `scale` (they are the caller's gradient and
/// Hessian: no copy); without `HESS`, `second` is not written.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn logits_block<
    S: Isa,
    T: Float,
    const FOCAL: bool,
    const HARD: bool,
    const HESS: bool,
>(
    params: &Params<T>,
    x: &[T],
    target: &[T],
    scale: T,
    value: &mut [T],
    first: &mut [T],
    second: &mut [T],
    slow: &mut [bool],
    s: &mut Scratch<T>,
) {
    let n = x.len();
    sigmoid_pass::<S, T>(
        x,
        &mut s.e[..n],
        &mut s.p[..n],
        &mut s.q[..n],
        &mut s.log_p[..n],
        &mut s.log_q[..n],
    );
    if FOCAL && !HARD {
        focal_form_pass(
            params,
            target,
            &s.e[..n],
            &s.p[..n],
            &s.q[..n],
            &s.log_p[..n],
            &s.log_q[..n],
            &mut s.log_m[..n],
            &mut s.rho[..n],
            slow,
        );
    }
    let value = &mut value[..n];
    // gamma = 2 (the usual choice): m^2 where m is p or 1 - p (hard
    // targets) instead of exp(2 ln m), one exponential less per element.
    if FOCAL && params.gamma == T::TWO {
        logits_loss_pass::<S, T, FOCAL, HARD, HESS, true>(
            params, target, scale, s, value, first, second,
        );
    } else {
        logits_loss_pass::<S, T, FOCAL, HARD, HESS, false>(
            params, target, scale, s, value, first, second,
        );
    }
}

/// e = exp(-|x|), p, 1 - p and their logarithms ([`Point::from_logit`]),
/// at level S.
#[inline(always)]
pub(super) fn sigmoid_pass<S: Isa, T: Float>(
    x: &[T],
    e: &mut [T],
    p: &mut [T],
    q: &mut [T],
    log_p: &mut [T],
    log_q: &mut [T],
) {
    let n = x.len();
    let (e, p, q, log_p, log_q) = (
        &mut e[..n],
        &mut p[..n],
        &mut q[..n],
        &mut log_p[..n],
        &mut log_q[..n],
    );
    // The exps a group at a time (at AVX-512, their last step in one
    // vscalef: Isa::exp_lanes), the level's bits.
    let mut groups = x.chunks_exact(LANES);
    for (gx, ge) in (&mut groups).zip(e.chunks_exact_mut(LANES)) {
        let gx: &Lanes<T> = gx.try_into().unwrap();
        ge.copy_from_slice(&S::exp_lanes(gx.map(|v| -v.abs()), [T::ZERO; LANES]));
    }
    let whole = n - groups.remainder().len();
    for r in whole..n {
        e[r] = S::exp(-x[r].abs());
    }
    for r in 0..n {
        let point = Point::from_logit_exp::<S>(x[r], e[r]);
        (p[r], q[r], log_p[r], log_q[r]) = (point.p, point.q, point.log_p, point.log_q);
    }
}

/// ln m and rho of the focal loss (module docs), and which elements are
/// slow; hard targets as in [`logits_loss_pass`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn focal_form_pass<T: Float>(
    params: &Params<T>,
    target: &[T],
    e: &[T],
    p: &[T],
    q: &[T],
    log_p: &[T],
    log_q: &[T],
    log_m: &mut [T],
    rho: &mut [T],
    slow: &mut [bool],
) {
    let n = e.len();
    let (target, p, q, log_p, log_q) = (&target[..n], &p[..n], &q[..n], &log_p[..n], &log_q[..n]);
    let (log_m, rho, slow) = (&mut log_m[..n], &mut rho[..n], &mut slow[..n]);
    for r in 0..n {
        let at = params.target(target[r]);
        let x = Point {
            p: p[r],
            q: q[r],
            log_p: log_p[r],
            log_q: log_q[r],
        };
        let hard = hard_focal_form(&at, &x);
        // m = big (c_big + e c_small) and rho (module docs).
        let positive = x.p >= x.q;
        let c_big = select(positive, at.one_minus_t, at.t);
        let c_small = select(positive, at.t, at.one_minus_t);
        let big = select(positive, x.p, x.q);
        let log_big = select(positive, x.log_p, x.log_q);
        let v = c_big + e[r] * c_small;
        slow[r] = !hard.hard & !((e[r] >= T::MIN_POSITIVE) & (v >= T::MIN_POSITIVE));
        // ln_normal: v is normal except where the element is slow.
        log_m[r] = select(hard.hard, hard.log_m, log_big + v.ln_normal());
        rho[r] = select(
            hard.hard,
            hard.rho,
            (at.one_minus_t - at.t) * (e[r] * big / v),
        );
    }
}

/// A target's focal form where it is hard (0 or 1 after smoothing):
/// m = 1 - p_t is p or 1 - p, rho is 1 - p or -p.
pub(super) struct HardForm<T> {
    /// Whether the target is hard (the other fields are meaningful).
    pub(super) hard: bool,
    pub(super) m: T,
    pub(super) log_m: T,
    pub(super) rho: T,
}

#[inline(always)]
pub(super) fn hard_focal_form<T: Float>(at: &Target<T>, x: &Point<T>) -> HardForm<T> {
    let t_one = at.one_minus_t == T::ZERO;
    HardForm {
        hard: t_one | (at.t == T::ZERO),
        m: select(t_one, x.q, x.p),
        log_m: select(t_one, x.log_q, x.log_p),
        rho: select(t_one, -x.p, x.q),
    }
}

/// L, scale dL/dx, scale d^2L/dx^2 of the first `value.len()` elements
/// from the scratch's p, 1 - p, their logarithms and (general focal form
/// only) ln m and rho. `SQUARE`: gamma = 2, and hard targets take m^2.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn logits_loss_pass<
    S: Isa,
    T: Float,
    const FOCAL: bool,
    const HARD: bool,
    const HESS: bool,
    const SQUARE: bool,
>(
    params: &Params<T>,
    target: &[T],
    scale: T,
    s: &Scratch<T>,
    value: &mut [T],
    first: &mut [T],
    second: &mut [T],
) {
    let n = value.len();
    let (p, q, log_p, log_q) = (&s.p[..n], &s.q[..n], &s.log_p[..n], &s.log_q[..n]);
    let (target, log_m, rho) = (&target[..n], &s.log_m[..n], &s.rho[..n]);
    let (first, second) = (&mut first[..n], &mut second[..n]);
    let g = params.gamma;
    for r in 0..n {
        let at = params.target(target[r]);
        let x = Point {
            p: p[r],
            q: q[r],
            log_p: log_p[r],
            log_q: log_q[r],
        };
        let b = cross_entropy(&at, &x);
        let b1 = at.negative * x.p - at.positive * x.q;
        let b2 = x.p * x.q * (at.positive + at.negative);
        let a = at.alpha_t;
        let d = if FOCAL {
            let hard = hard_focal_form(&at, &x);
            let (log_m, rho) = if HARD {
                (hard.log_m, hard.rho)
            } else {
                (log_m[r], rho[r])
            };
            let am = if SQUARE {
                // Under !HARD too, so that an element's bits do not depend
                // on whether the call's other targets are all hard.
                let square = a * (hard.m * hard.m);
                select(HARD || hard.hard, square, a * S::exp(g * log_m))
            } else {
                a * S::exp(g * log_m)
            };
            // p = 0 (x = -Inf, or p underflowed; only hard targets get
            // here): rho ~ p vanishes faster than B grows, and so does B''
            // (as in log_space). Where alpha_t m^gamma underflows, the
            // derivatives are 0 even if a factor with gamma in it
            // overflows (absurd gamma).
            let p_zero = x.p == T::ZERO;
            let vanished = am == T::ZERO;
            Derivatives {
                value: am * b,
                first: select(vanished, T::ZERO, am * select(p_zero, b1, g * rho * b + b1)),
                second: select(
                    p_zero | vanished,
                    T::ZERO,
                    am * (g * rho * ((g - T::ONE) * rho * b + (x.q - x.p) * b + T::TWO * b1) + b2),
                ),
            }
        } else {
            Derivatives {
                value: a * b,
                first: a * b1,
                second: a * b2,
            }
        };
        let d = unless_absent(a, d);
        (value[r], first[r]) = (d.value, d.first * scale);
        if HESS {
            second[r] = d.second * scale;
        }
    }
}

/// L, dL/dp, d^2L/dp^2 of a block of probabilities (module docs), in
/// passes as [`logits_block`]; `FOCAL`: gamma > 0; `HARD`, `HESS` and
/// `scale`: as there; `slow` is not used.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn probs_block<T: Float, const FOCAL: bool, const HARD: bool, const HESS: bool>(
    params: &Params<T>,
    pred: &[T],
    target: &[T],
    scale: T,
    value: &mut [T],
    first: &mut [T],
    second: &mut [T],
    _slow: &mut [bool],
    s: &mut Scratch<T>,
) {
    let n = pred.len();
    probability_pass(pred, &mut s.q[..n], &mut s.log_p[..n], &mut s.log_q[..n]);
    if FOCAL && !HARD {
        probs_log_m_pass(
            params,
            pred,
            target,
            &s.q[..n],
            &s.log_p[..n],
            &s.log_q[..n],
            &mut s.log_m[..n],
        );
    }
    probs_loss_pass::<T, FOCAL, HARD, HESS>(
        params,
        pred,
        target,
        scale,
        &s.q[..n],
        &s.log_p[..n],
        &s.log_q[..n],
        &s.log_m[..n],
        value,
        first,
        second,
    );
}

/// 1 - p, ln p and ln(1 - p) ([`Point::from_probability`]).
#[inline(always)]
pub(super) fn probability_pass<T: Float>(p: &[T], q: &mut [T], log_p: &mut [T], log_q: &mut [T]) {
    let n = p.len();
    let (q, log_p, log_q) = (&mut q[..n], &mut log_p[..n], &mut log_q[..n]);
    for r in 0..n {
        let point = Point::from_probability(p[r]);
        (q[r], log_p[r], log_q[r]) = (point.q, point.log_p, point.log_q);
    }
}

/// m = p (1 - t) + (1 - p) t of a probability.
#[inline(always)]
pub(super) fn probs_m<T: Float>(at: &Target<T>, x: &Point<T>) -> T {
    x.p * at.one_minus_t + x.q * at.t
}

/// ln m of the focal loss from probabilities; hard targets as in
/// [`probs_loss_pass`].
#[inline(always)]
pub(super) fn probs_log_m_pass<T: Float>(
    params: &Params<T>,
    p: &[T],
    target: &[T],
    q: &[T],
    log_p: &[T],
    log_q: &[T],
    log_m: &mut [T],
) {
    let n = p.len();
    let (target, q, log_p, log_q, log_m) = (
        &target[..n],
        &q[..n],
        &log_p[..n],
        &log_q[..n],
        &mut log_m[..n],
    );
    for r in 0..n {
        let at = params.target(target[r]);
        let x = Point {
            p: p[r] + T::ZERO, // -0.0 is 0 (1/p = +Inf)
            q: q[r],
            log_p: log_p[r],
            log_q: log_q[r],
        };
        let hard = hard_focal_form(&at, &x);
        log_m[r] = select(hard.hard, hard.log_m, probs_m(&at, &x).ln());
    }
}

/// L, scale dL/dp, scale d^2L/dp^2 from p, 1 - p, their logarithms and
/// (general focal form only) ln m.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn probs_loss_pass<T: Float, const FOCAL: bool, const HARD: bool, const HESS: bool>(
    params: &Params<T>,
    p: &[T],
    target: &[T],
    scale: T,
    q: &[T],
    log_p: &[T],
    log_q: &[T],
    log_m: &[T],
    value: &mut [T],
    first: &mut [T],
    second: &mut [T],
) {
    let n = p.len();
    let (target, q, log_p, log_q, log_m) =
        (&target[..n], &q[..n], &log_p[..n], &log_q[..n], &log_m[..n]);
    let (value, first, second) = (&mut value[..n], &mut first[..n], &mut second[..n]);
    let g = params.gamma;
    for r in 0..n {
        let at = params.target(target[r]);
        let x = Point {
            p: p[r] + T::ZERO, // -0.0 is 0 (1/p = +Inf)
            q: q[r],
            log_p: log_p[r],
            log_q: log_q[r],
        };
        let a = at.alpha_t;
        let b = cross_entropy(&at, &x);
        let b_positive = over(at.positive, x.p);
        let b_negative = over(at.negative, x.q);
        let b1 = b_negative - b_positive;
        let b2 = over(b_positive, x.p) + over(b_negative, x.q);
        let d = if FOCAL {
            let m = probs_m(&at, &x);
            let log_m = if HARD {
                hard_focal_form(&at, &x).log_m
            } else {
                log_m[r]
            };
            let mg = pow_from_ln(g, log_m);
            let mg1 = pow_from_ln(g - T::ONE, log_m);
            let s = at.one_minus_t - at.t;
            let b_over_m = select(m == T::ZERO, at.positive + at.negative, b / m);
            // The factors of B_p and B_pp, alpha_t m^gamma and alpha_t
            // gamma s m^(gamma - 1), go into the coefficients of 1/p and
            // 1/(1 - p) before the divisions: a derivative stays finite
            // where B_p alone overflows (p subnormal, a finite loss).
            let am = a * mg;
            let ak = a * g * s * mg1;
            let first =
                am * g * s * b_over_m + over(am * at.negative, x.q) - over(am * at.positive, x.p);
            let second = ak * (g - T::ONE) * s * b_over_m
                + T::TWO * (over(times(at.negative, ak), x.q) - over(times(at.positive, ak), x.p))
                + over(over(am * at.negative, x.q), x.q)
                + over(over(am * at.positive, x.p), x.p);
            // Inf - Inf: the positive 1/p^2 (or 1/(1 - p)^2) term outgrows
            // the 1/p one, and m^(gamma - 1) = Inf (p = t in {0, 1},
            // gamma < 1) makes L_pp +Inf.
            let second = select(second.is_nan(), T::INFINITY, second);
            // Where the target needs a probability of 0 or 1 that it does
            // not get, L and L_p are infinite with B and B_p, and L_pp is
            // +Inf, even where m^gamma underflows to 0 (absurd gamma).
            // Elsewhere, where m^gamma (and, for L_pp, m^(gamma - 1))
            // underflows, the derivatives are 0 even if a factor with
            // gamma in it overflows.
            let needed = ((x.p == T::ZERO) & (at.positive != T::ZERO))
                | ((x.q == T::ZERO) & (at.negative != T::ZERO));
            let vanished = mg == T::ZERO;
            Derivatives {
                value: select(b == T::INFINITY, b, am * b),
                first: select(needed, b1, select(vanished, T::ZERO, first)),
                second: select(
                    needed,
                    T::INFINITY,
                    select(vanished & (mg1 == T::ZERO), T::ZERO, second),
                ),
            }
        } else {
            Derivatives {
                value: a * b,
                first: a * b1,
                second: a * b2,
            }
        };
        let d = unless_absent(a, d);
        (value[r], first[r]) = (d.value, d.first * scale);
        if HESS {
            second[r] = d.second * scale;
        }
    }
}

/// One block through [`logits_block`] (`LOGITS`) or [`probs_block`], at
/// level S.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn block<
    S: Isa,
    T: Float,
    const LOGITS: bool,
    const FOCAL: bool,
    const HARD: bool,
    const HESS: bool,
>(
    params: &Params<T>,
    pred: &[T],
    target: &[T],
    scale: T,
    value: &mut [T],
    first: &mut [T],
    second: &mut [T],
    slow: &mut [bool],
    scratch: &mut Scratch<T>,
) {
    let kernel = if LOGITS {
        logits_block::<S, T, FOCAL, HARD, HESS>
    } else {
        probs_block::<T, FOCAL, HARD, HESS>
    };
    kernel(
        params, pred, target, scale, value, first, second, slow, scratch,
    );
}

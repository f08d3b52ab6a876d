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
//!
//! Implementation: elements go through in blocks of [`BLOCK`], each a few
//! straight-line loops (selects, no branches, no calls: the vectorisable
//! exp, ln and ln_1p of [`crate::kernels::math`]) that the compiler turns
//! into SIMD code; every array is its own slice argument, so that it knows
//! they do not alias. Sums accumulate in f64 over a fixed pattern of
//! [`LANES`] lanes, so results do not depend on the vector width.
//!
//! A hard target (t = 0 or 1 after smoothing) makes m = 1 - p_t one of p,
//! 1 - p: ln m is ln p or ln(1 - p), rho is 1 - p or -p, with no further
//! logarithm. Otherwise, with logits and gamma > 0, the block loop uses,
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

use crate::classwise::Derivatives;
use crate::error::{argument_error, Result};
use crate::float::{log_add_exp, pow_from_ln, select, Float};
use crate::options::{Input, Options, Reduction};
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

/// Elements per block: the block's dozen buffers stay in the L1 cache (f32)
/// or close to it (f64).
const BLOCK: usize = 512;
/// Lanes of the f64 sums (a fixed pattern: [`sum_lanes`]).
const LANES: usize = 8;

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

/// The per-call constants of the element loss: label smoothing and the
/// loss parameters, as the block loops use them.
#[derive(Debug, Clone, Copy)]
struct Params<T> {
    /// t' = keep t + add, 1 - t' = keep (1 - t) + add.
    keep: T,
    add: T,
    pos_weight: T,
    /// Meaningful when `has_alpha`.
    alpha: T,
    has_alpha: bool,
    gamma: T,
}

impl<T: Float> Params<T> {
    /// The smoothed target of a raw one (branch-free).
    #[inline(always)]
    fn target(&self, raw: T) -> Target<T> {
        let t = self.keep * raw + self.add;
        let one_minus_t = self.keep * (T::ONE - raw) + self.add;
        let a = self.alpha;
        Target {
            t,
            one_minus_t,
            positive: self.pos_weight * t,
            alpha_t: select(self.has_alpha, a * t + (T::ONE - a) * one_minus_t, T::ONE),
        }
    }
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
    /// x = -Inf gives p = 0, ln p = -Inf exactly. Branch-free; also returns e.
    /// (u = 1 + e is in [1, 2]: ln_normal is ln there.)
    #[inline(always)]
    fn from_logit(x: T) -> (Self, T) {
        let e = (-x.abs()).exp();
        let u = T::ONE + e;
        let big = T::ONE / u;
        // ln(1 + e) = ln u + c / u with c = e - (u - 1) the rounding error
        // of u (exact: Fast2Sum, e <= 1), as in kernels::math::ln_1p but
        // with the 1 / u already at hand.
        let log_big = -(u.ln_normal() + (e - (u - T::ONE)) * big);
        let log_small = -x.abs() + log_big;
        let small = e * big;
        let positive = x >= T::ZERO;
        let point = Point {
            p: select(positive, big, small),
            q: select(positive, small, big),
            log_p: select(positive, log_big, log_small),
            log_q: select(positive, log_small, log_big),
        };
        (point, e)
    }

    #[inline(always)]
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
    select(c == T::ZERO, T::ZERO, c * v)
}

/// `c / v` with 0 / v = 0, as [`times`].
#[inline(always)]
fn over<T: Float>(c: T, v: T) -> T {
    select(c == T::ZERO, T::ZERO, c / v)
}

/// B = -(w t ln p + (1 - t) ln(1 - p)).
#[inline(always)]
fn cross_entropy<T: Float>(at: &Target<T>, x: &Point<T>) -> T {
    -(times(at.positive, x.log_p) + times(at.one_minus_t, x.log_q))
}

/// Zero where alpha_t = 0 (the element is absent, even where B is infinite).
#[inline(always)]
fn unless_absent<T: Float>(alpha_t: T, d: Derivatives<T>) -> Derivatives<T> {
    let absent = alpha_t == T::ZERO;
    Derivatives {
        value: select(absent, T::ZERO, d.value),
        first: select(absent, T::ZERO, d.first),
        second: select(absent, T::ZERO, d.second),
    }
}

/// Buffers of one block of elements.
struct Block<T> {
    value: Vec<T>,
    first: Vec<T>,
    second: Vec<T>,
    /// Elements the block loop leaves to [`BinaryLoss::log_space`].
    slow: Vec<bool>,
    scratch: Scratch<T>,
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
        let params = Params {
            keep: T::from_f64(1.0 - eps),
            add: T::from_f64(eps / 2.0),
            pos_weight: self.pos_weight,
            alpha: self.alpha.unwrap_or(T::ONE),
            has_alpha: self.alpha.is_some(),
            gamma: self.gamma,
        };
        // Every target first, so that a bad target is reported before any
        // prediction.
        let (valid, hard) = check_targets(target);
        if !valid {
            check_each(target, 0, "target", validate::probability)?;
        }
        // Every target hard (0 or 1, unsmoothed): the block loops can skip
        // the general focal form.
        let hard = hard && eps == 0.0;
        let weight_sum = if opts.reduction == Reduction::WeightedMean {
            sum_lanes(target, |raw| {
                let at = params.target(raw);
                at.alpha_t * (at.positive + at.one_minus_t)
            })
        } else {
            0.0
        };
        let mut reducer = Reducer::new(
            opts.reduction,
            opts.log_scale::<f64>(),
            divisor(opts.reduction, n, weight_sum),
        );
        let scale = reducer.derivative_scale::<T>();
        let logits = opts.input == Input::Logits;
        let focal = self.gamma != T::ZERO;
        let block = block_loop::<T>(logits, focal, hard, outputs.hess.is_some());
        let len = n.min(BLOCK);
        let mut b = Block {
            value: vec![T::ZERO; len],
            first: vec![T::ZERO; len],
            second: vec![T::ZERO; len],
            slow: vec![false; len],
            scratch: Scratch::new(len),
        };
        for (k, (x, t)) in pred.chunks(BLOCK).zip(target.chunks(BLOCK)).enumerate() {
            let start = k * BLOCK;
            let m = x.len();
            let (value, first, second) = (&mut b.value[..m], &mut b.first[..m], &mut b.second[..m]);
            let slow = &mut b.slow[..m];
            if logits && !all_logits(x) {
                check_each(x, start, "pred", validate::logit)?;
            }
            if !logits && !all_probabilities(x) {
                check_each(x, start, "pred", validate::probability)?;
            }
            block(&params, x, t, value, first, second, slow, &mut b.scratch);
            if logits && focal && !hard && slow.iter().fold(false, |any, &s| any | s) {
                for r in 0..m {
                    if slow[r] {
                        let (point, _) = Point::from_logit(x[r]);
                        let d = self.log_space(&params.target(t[r]), point);
                        (value[r], first[r], second[r]) = (d.value, d.first, d.second);
                    }
                }
            }
            if let Some(grad) = outputs.grad.as_deref_mut() {
                scale_into(first, scale, &mut grad[start..start + m]);
            }
            if let Some(hess) = outputs.hess.as_deref_mut() {
                scale_into(second, scale, &mut hess[start..start + m]);
            }
            if reducer.per_sample() {
                sample_values(&reducer, value, &mut outputs.out[start..start + m]);
            } else {
                reducer.add_partial(sum_lanes(value, |v| v));
            }
        }
        reducer.finish(outputs.out);
        Ok(())
    }

    /// L, dL/dx and d^2L/dx^2 of a logit in log space (module docs): the
    /// one-element path for what the block loop leaves out (gamma > 0).
    fn log_space(&self, at: &Target<T>, x: Point<T>) -> Derivatives<T> {
        let a = at.alpha_t;
        if a == T::ZERO {
            return Derivatives::ZERO;
        }
        let b = cross_entropy(at, &x);
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

// The block loops take every array as its own slice argument (Rust tells
// the compiler that such arguments do not alias, so it vectorises them
// without runtime overlap checks), and write every output unconditionally.

/// Intermediate buffers of a block of logits (one entry per element).
struct Scratch<T> {
    /// e = exp(-|x|).
    e: Vec<T>,
    p: Vec<T>,
    q: Vec<T>,
    log_p: Vec<T>,
    log_q: Vec<T>,
    /// ln m and rho of the focal loss (general form only).
    log_m: Vec<T>,
    rho: Vec<T>,
}

impl<T: Float> Scratch<T> {
    fn new(len: usize) -> Self {
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
/// and skips the general form (same results). Without `HESS`, `second` is
/// not written.
#[allow(clippy::too_many_arguments)]
fn logits_block<T: Float, const FOCAL: bool, const HARD: bool, const HESS: bool>(
    params: &Params<T>,
    x: &[T],
    target: &[T],
    value: &mut [T],
    first: &mut [T],
    second: &mut [T],
    slow: &mut [bool],
    s: &mut Scratch<T>,
) {
    let n = x.len();
    sigmoid_pass(
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
    logits_loss_pass::<T, FOCAL, HARD, HESS>(
        params,
        target,
        &s.p[..n],
        &s.q[..n],
        &s.log_p[..n],
        &s.log_q[..n],
        &s.log_m[..n],
        &s.rho[..n],
        value,
        first,
        second,
    );
}

/// e = exp(-|x|), p, 1 - p and their logarithms ([`Point::from_logit`]).
#[inline(never)]
fn sigmoid_pass<T: Float>(
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
    for r in 0..n {
        let (point, exp) = Point::from_logit(x[r]);
        (p[r], q[r], log_p[r], log_q[r], e[r]) = (point.p, point.q, point.log_p, point.log_q, exp);
    }
}

/// ln m and rho of the focal loss (module docs), and which elements are
/// slow; hard targets as in [`logits_loss_pass`].
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn focal_form_pass<T: Float>(
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
        let (hard, hard_log_m, hard_rho) = hard_focal_form(&at, &x);
        // m = big (c_big + e c_small) and rho (module docs).
        let positive = x.p >= x.q;
        let c_big = select(positive, at.one_minus_t, at.t);
        let c_small = select(positive, at.t, at.one_minus_t);
        let big = select(positive, x.p, x.q);
        let log_big = select(positive, x.log_p, x.log_q);
        let v = c_big + e[r] * c_small;
        slow[r] = !hard & !((e[r] >= T::MIN_POSITIVE) & (v >= T::MIN_POSITIVE));
        // ln_normal: v is normal except where the element is slow.
        log_m[r] = select(hard, hard_log_m, log_big + v.ln_normal());
        rho[r] = select(hard, hard_rho, (at.one_minus_t - at.t) * (e[r] * big / v));
    }
}

/// Whether a target is hard (0 or 1 after smoothing), and then ln m and
/// rho: m = 1 - p_t is p or 1 - p, rho is 1 - p or -p.
#[inline(always)]
fn hard_focal_form<T: Float>(at: &Target<T>, x: &Point<T>) -> (bool, T, T) {
    let t_one = at.one_minus_t == T::ZERO;
    (
        t_one | (at.t == T::ZERO),
        select(t_one, x.log_q, x.log_p),
        select(t_one, -x.p, x.q),
    )
}

/// L, dL/dx, d^2L/dx^2 from p, 1 - p, their logarithms and (general focal
/// form only) ln m and rho.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn logits_loss_pass<T: Float, const FOCAL: bool, const HARD: bool, const HESS: bool>(
    params: &Params<T>,
    target: &[T],
    p: &[T],
    q: &[T],
    log_p: &[T],
    log_q: &[T],
    log_m: &[T],
    rho: &[T],
    value: &mut [T],
    first: &mut [T],
    second: &mut [T],
) {
    let n = p.len();
    let (target, q, log_p, log_q) = (&target[..n], &q[..n], &log_p[..n], &log_q[..n]);
    let (log_m, rho) = (&log_m[..n], &rho[..n]);
    let (value, first, second) = (&mut value[..n], &mut first[..n], &mut second[..n]);
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
        let b1 = at.one_minus_t * x.p - at.positive * x.q;
        let b2 = x.p * x.q * (at.positive + at.one_minus_t);
        let a = at.alpha_t;
        let d = if FOCAL {
            let (log_m, rho) = if HARD {
                let (_, log_m, rho) = hard_focal_form(&at, &x);
                (log_m, rho)
            } else {
                (log_m[r], rho[r])
            };
            let am = a * (g * log_m).exp();
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
        (value[r], first[r]) = (d.value, d.first);
        if HESS {
            second[r] = d.second;
        }
    }
}

/// L, dL/dp, d^2L/dp^2 of a block of probabilities (module docs), in
/// passes as [`logits_block`]; `FOCAL`: gamma > 0; `HARD` and `HESS`: as
/// there; `slow` is not used.
#[allow(clippy::too_many_arguments)]
fn probs_block<T: Float, const FOCAL: bool, const HARD: bool, const HESS: bool>(
    params: &Params<T>,
    pred: &[T],
    target: &[T],
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
#[inline(never)]
fn probability_pass<T: Float>(p: &[T], q: &mut [T], log_p: &mut [T], log_q: &mut [T]) {
    let n = p.len();
    let (q, log_p, log_q) = (&mut q[..n], &mut log_p[..n], &mut log_q[..n]);
    for r in 0..n {
        let point = Point::from_probability(p[r]);
        (q[r], log_p[r], log_q[r]) = (point.q, point.log_p, point.log_q);
    }
}

/// m = p (1 - t) + (1 - p) t of a probability.
#[inline(always)]
fn probs_m<T: Float>(at: &Target<T>, x: &Point<T>) -> T {
    x.p * at.one_minus_t + x.q * at.t
}

/// ln m of the focal loss from probabilities; hard targets as in
/// [`probs_loss_pass`].
#[inline(never)]
fn probs_log_m_pass<T: Float>(
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
            p: p[r],
            q: q[r],
            log_p: log_p[r],
            log_q: log_q[r],
        };
        let (hard, hard_log_m, _) = hard_focal_form(&at, &x);
        log_m[r] = select(hard, hard_log_m, probs_m(&at, &x).ln());
    }
}

/// L, dL/dp, d^2L/dp^2 from p, 1 - p, their logarithms and (general focal
/// form only) ln m.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn probs_loss_pass<T: Float, const FOCAL: bool, const HARD: bool, const HESS: bool>(
    params: &Params<T>,
    p: &[T],
    target: &[T],
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
            p: p[r],
            q: q[r],
            log_p: log_p[r],
            log_q: log_q[r],
        };
        let a = at.alpha_t;
        let b = cross_entropy(&at, &x);
        let b_positive = over(at.positive, x.p);
        let b_negative = over(at.one_minus_t, x.q);
        let b1 = b_negative - b_positive;
        let b2 = over(b_positive, x.p) + over(b_negative, x.q);
        let d = if FOCAL {
            let m = probs_m(&at, &x);
            let log_m = if HARD {
                hard_focal_form(&at, &x).1
            } else {
                log_m[r]
            };
            let mg = pow_from_ln(g, log_m);
            let mg1 = pow_from_ln(g - T::ONE, log_m);
            let s = at.one_minus_t - at.t;
            let b_over_m = select(m == T::ZERO, at.positive + at.one_minus_t, b / m);
            // Where B_p is infinite (p = 0 or 1, or subnormal, that the
            // target needs), B_p and B_pp ~ 1/p^2 outgrow the focal terms;
            // L and L_p are infinite with B and B_p even where m^gamma
            // underflows to 0 (alpha_t m^gamma > 0). Where m^gamma (and,
            // for L_pp, m^(gamma - 1)) underflows, the derivatives are 0
            // even if a factor with gamma in it overflows (absurd gamma).
            let finite = b1.is_finite();
            let vanished = mg == T::ZERO;
            let first = a * mg * (g * s * b_over_m + b1);
            let second = a * (g * s * mg1 * ((g - T::ONE) * s * b_over_m + T::TWO * b1) + mg * b2);
            Derivatives {
                value: select(b == T::INFINITY, b, a * mg * b),
                first: select(finite, select(vanished, T::ZERO, first), b1),
                second: select(
                    finite,
                    select(vanished & (mg1 == T::ZERO), T::ZERO, second),
                    T::INFINITY,
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
        (value[r], first[r]) = (d.value, d.first);
        if HESS {
            second[r] = d.second;
        }
    }
}

/// A block loop: parameters, predictions, targets, then the outputs
/// value, first, second and slow, and the scratch buffers.
type BlockLoop<T> =
    fn(&Params<T>, &[T], &[T], &mut [T], &mut [T], &mut [T], &mut [bool], &mut Scratch<T>);

/// The block loop for the input kind, the loss (`focal`: gamma > 0),
/// whether every target is hard and whether the Hessian is wanted.
fn block_loop<T: Float>(logits: bool, focal: bool, hard: bool, hess: bool) -> BlockLoop<T> {
    macro_rules! pick {
        ($kernel:ident) => {
            match (focal, hard, hess) {
                // Cross-entropy's Hessian costs next to nothing.
                (false, _, _) => $kernel::<T, false, false, true>,
                (true, true, true) => $kernel::<T, true, true, true>,
                (true, true, false) => $kernel::<T, true, true, false>,
                (true, false, true) => $kernel::<T, true, false, true>,
                (true, false, false) => $kernel::<T, true, false, false>,
            }
        };
    }
    if logits {
        pick!(logits_block)
    } else {
        pick!(probs_block)
    }
}

/// Whether every target is a probability (finite, in [0, 1]), and whether
/// every one is 0 or 1; vectorised.
#[inline(never)]
fn check_targets<T: Float>(t: &[T]) -> (bool, bool) {
    t.iter().fold((true, true), |(ok, hard), &v| {
        (
            ok & (v >= T::ZERO) & (v <= T::ONE),
            hard & ((v == T::ZERO) | (v == T::ONE)),
        )
    })
}

/// Whether every entry is a probability (finite, in [0, 1]); vectorised.
#[inline(never)]
fn all_probabilities<T: Float>(x: &[T]) -> bool {
    x.iter()
        .fold(true, |ok, &v| ok & (v >= T::ZERO) & (v <= T::ONE))
}

/// Whether every entry is a valid logit (finite or -Inf); vectorised.
#[inline(never)]
fn all_logits<T: Float>(x: &[T]) -> bool {
    x.iter().fold(true, |ok, &v| ok & (v < T::INFINITY))
}

/// The error of the first entry `check` refuses (`start` is the index of
/// `x[0]`).
fn check_each<T: Float>(
    x: &[T],
    start: usize,
    arg: &'static str,
    check: fn(&'static str, usize, T) -> Result<()>,
) -> Result<()> {
    x.iter()
        .enumerate()
        .try_for_each(|(i, &v)| check(arg, start + i, v))
}

/// `dst = src * scale`.
#[inline(never)]
fn scale_into<T: Float>(src: &[T], scale: T, dst: &mut [T]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s * scale;
    }
}

/// Per-element losses of the NONE reduction, as the reducer writes them.
#[inline(never)]
fn sample_values<T: Float>(reducer: &Reducer, src: &[T], dst: &mut [T]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = reducer.sample_value(s);
    }
}

/// The f64 sum of `f(x)` over `x`: entry i goes to lane i mod [`LANES`]
/// (within whole groups of LANES), the lanes are added in order, then the
/// remainder. A fixed pattern, whatever the vector width.
#[inline(always)]
fn sum_lanes<T: Float>(x: &[T], f: impl Fn(T) -> T) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let mut groups = x.chunks_exact(LANES);
    for group in &mut groups {
        for (lane, &v) in lanes.iter_mut().zip(group) {
            *lane += f(v).to_f64();
        }
    }
    let mut total = 0.0;
    for lane in lanes {
        total += lane;
    }
    for &v in groups.remainder() {
        total += f(v).to_f64();
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_point_is_exact_in_both_tails() {
        let (far, _) = Point::from_logit(-800.0f64);
        assert_eq!(far.log_p, -800.0);
        assert_eq!(far.q, 1.0);
        assert_eq!(far.log_q, 0.0);
        let (near, _) = Point::from_logit(40.0f64);
        assert_eq!(near.p, 1.0);
        assert!((near.q / (-40.0f64).exp() - 1.0).abs() < 1e-15);
        assert_eq!(near.log_q, -40.0 - (-40.0f64).exp().ln_1p());
        let (masked, _) = Point::from_logit(f64::NEG_INFINITY);
        assert_eq!((masked.p, masked.log_p), (0.0, f64::NEG_INFINITY));
        assert_eq!((masked.q, masked.log_q), (1.0, 0.0));
    }

    impl<T: Float> BinaryLoss<T> {
        /// The one-element probability path as written before the block
        /// loops (branches instead of selects), with the infinite cases
        /// fixed: the reference of the tests.
        fn prob_space_reference(&self, at: &Target<T>, x: Point<T>) -> Derivatives<T> {
            let a = at.alpha_t;
            if a == T::ZERO {
                return Derivatives::ZERO;
            }
            let b = cross_entropy(at, &x);
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
                // (Before the block loops: a * mg * b and a * mg * b1, NaN
                // where mg underflows to 0.)
                return Derivatives {
                    value: if b == T::INFINITY { b } else { a * mg * b },
                    first: b1,
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
            if mg == T::ZERO {
                // (Before the block loops: NaN where a factor with gamma
                // overflows.)
                return Derivatives {
                    value: a * mg * b,
                    first: T::ZERO,
                    second: if mg1 == T::ZERO {
                        T::ZERO
                    } else {
                        a * (g * s * mg1 * ((g - T::ONE) * s * b_over_m + T::TWO * b1) + mg * b2)
                    },
                };
            }
            Derivatives {
                value: a * mg * b,
                first: a * mg * (g * s * b_over_m + b1),
                second: a * (g * s * mg1 * ((g - T::ONE) * s * b_over_m + T::TWO * b1) + mg * b2),
            }
        }
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

    fn losses<T: Float>() -> Vec<BinaryLoss<T>> {
        let mut all = vec![];
        for w in [1.0, 3.5] {
            all.push(BinaryLoss {
                pos_weight: T::from_f64(w),
                alpha: None,
                gamma: T::ZERO,
            });
        }
        for g in [0.5, 1.0, 2.0, 3.5] {
            for alpha in [None, Some(T::from_f64(0.25))] {
                all.push(BinaryLoss {
                    pos_weight: T::ONE,
                    alpha,
                    gamma: T::from_f64(g),
                });
            }
        }
        all
    }

    /// Logits or probabilities: random ones and the extremes.
    fn predictions(logits: bool) -> Vec<f64> {
        let mut rng = Lcg(5);
        let mut x: Vec<f64> = if logits {
            let mut x = vec![f64::NEG_INFINITY, 0.0, 1e-30, -1e-30];
            for m in [
                3.0, 20.0, 40.0, 86.0, 88.0, 100.0, 110.0, 700.0, 720.0, 760.0, 1e4, 1e30,
            ] {
                x.extend([m, -m]);
            }
            x.extend((0..40).map(|_| rng.next() * 16.0 - 8.0));
            x
        } else {
            let mut x = vec![0.0, 1.0, 1e-320, 1e-40, 1e-30, 0.5, 1.0 - 1e-7, 1.0 - 1e-16];
            x.extend((0..40).map(|_| rng.next()));
            x
        };
        x.extend((0..8).map(|_| rng.next() * 0.1));
        x
    }

    fn targets() -> Vec<f64> {
        let mut rng = Lcg(6);
        let mut t = vec![0.0, 1.0, 0.5, 1e-40, 1e-300, 1.0 - 1e-7, 1.0 - 1e-16, 0.3];
        t.extend((0..6).map(|_| rng.next()));
        t
    }

    /// Largest error of `compute` (block loops, slow path) against the
    /// one-element paths, in units of |reference| + 1 (the scale of the
    /// formulas' terms, which cancel where a derivative crosses zero).
    fn worst<T: Float>(logits: bool, hard_only: bool, eps: f64, hess: bool) -> f64 {
        let mut worst = 0.0f64;
        for loss in losses::<T>() {
            let opts = Options {
                input: if logits { Input::Logits } else { Input::Probs },
                reduction: Reduction::None,
                label_smoothing: eps,
                ..Options::default()
            };
            let mut pred = vec![];
            let mut target = vec![];
            for &x in &predictions(logits) {
                for &t in &targets() {
                    if !hard_only || t == 0.0 || t == 1.0 {
                        pred.push(T::from_f64(x));
                        target.push(T::from_f64(t));
                    }
                }
            }
            let n = pred.len();
            let (mut out, mut grad, mut hessian) =
                (vec![T::ZERO; n], vec![T::ZERO; n], vec![T::ZERO; n]);
            let mut outputs = Outputs {
                out: &mut out,
                grad: Some(&mut grad),
                hess: if hess { Some(&mut hessian) } else { None },
            };
            loss.compute(&pred, &target, &opts, &mut outputs).unwrap();
            let params = Params {
                keep: T::from_f64(1.0 - eps),
                add: T::from_f64(eps / 2.0),
                pos_weight: loss.pos_weight,
                alpha: loss.alpha.unwrap_or(T::ONE),
                has_alpha: loss.alpha.is_some(),
                gamma: loss.gamma,
            };
            for i in 0..n {
                let at = params.target(target[i]);
                let want = if logits {
                    loss.log_space(&at, Point::from_logit(pred[i]).0)
                } else {
                    loss.prob_space_reference(&at, Point::from_probability(pred[i]))
                };
                let mut pairs = vec![(out[i], want.value), (grad[i], want.first)];
                if hess {
                    pairs.push((hessian[i], want.second));
                }
                for (got, want) in pairs {
                    let (g, w) = (got.to_f64(), want.to_f64());
                    let what = format!("{loss:?} x = {}, t = {}, eps {eps}", pred[i], target[i]);
                    if !w.is_finite() || !g.is_finite() {
                        // NaN only where the reference has it: 0 * Inf in
                        // the Hessian when m^gamma underflows while B_pp
                        // overflows (subnormal p, target ~1e-300).
                        assert!(g == w || (g.is_nan() && w.is_nan()), "{what}: {g} vs {w}");
                    } else {
                        worst = worst.max((g - w).abs() / (w.abs() + 1.0));
                    }
                }
            }
        }
        worst
    }

    #[test]
    fn block_loops_match_the_one_element_paths() {
        for logits in [true, false] {
            for hard_only in [true, false] {
                for eps in [0.0, 0.1] {
                    for hess in [true, false] {
                        let what =
                            format!("logits {logits} hard {hard_only} eps {eps} hess {hess}");
                        let double = worst::<f64>(logits, hard_only, eps, hess);
                        assert!(double <= 32.0 * f64::EPSILON, "f64 {what}: {double:e}");
                        let single = worst::<f32>(logits, hard_only, eps, hess);
                        assert!(
                            single <= 32.0 * f32::EPSILON as f64,
                            "f32 {what}: {single:e}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn sums_use_a_fixed_lane_pattern() {
        let x: Vec<f64> = (0..37).map(|i| 1.0 + i as f64 * 1e-3).collect();
        let mut lanes = [0.0; LANES];
        for (i, &v) in x[..32].iter().enumerate() {
            lanes[i % LANES] += v;
        }
        let mut want = 0.0;
        for lane in lanes {
            want += lane;
        }
        for &v in &x[32..] {
            want += v;
        }
        assert_eq!(sum_lanes(&x, |v| v), want);
        assert_eq!(sum_lanes(&x[..3], |v| v), (x[0] + x[1]) + x[2]);
    }
}

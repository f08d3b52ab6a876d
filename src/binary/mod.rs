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
//! Hessian modes ([`crate::hessian`]): FISHER replaces the focal loss's
//! Hessian by (c_1 + c_0) p (1 - p) (logits) or c_1 / p^2 + c_0 / (1 - p)^2
//! (probabilities), c_1 = alpha_t m^gamma w t and c_0 = alpha_t m^gamma (1 - t);
//! cross-entropy's exact Hessian already is that. FLOOR raises every entry
//! of `hess` to the floor after the reduction's scaling.
//!
//! Layout: [`log_space`] holds the one-element formulas (the exact path,
//! and the reference the block loops must agree with); [`blocks`] the
//! vectorised block loops; this file the entry points and the driver.

mod blocks;
mod log_space;
#[cfg(test)]
mod tests;

use crate::error::{argument_error, Result};
use crate::float::{select, Float};
use crate::hessian;
use crate::options::{HessianMode, Input, Options, Reduction};
use crate::parallel::{self, split_off, Cost};
use crate::reduce::{divisor, weight_scale, Outputs, Reducer};
use crate::simd::{self, Isa, Kernel};
use crate::validate;
use blocks::Scratch;
use log_space::Point;

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
/// (in [0, 1], soft targets allowed). `alpha` in [0, 1], or negative (-Inf
/// included) for no alpha (alpha_t = 1); `gamma` >= 0.
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
    // Every negative alpha, -Inf included, means no alpha.
    if alpha.is_nan() || alpha > T::ONE {
        return Err(argument_error!(
            "alpha = {alpha} must be in [0, 1], or negative for no alpha"
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

/// Bytes of each array's part in a block: the block's dozen buffers
/// (about 12 KiB) stay in the L1 cache. Measured on f32 and f64 binary
/// focal loss at 4M elements: 1 KiB (256 f32, 128 f64) beat 512 bytes and
/// 2 KiB; a block as long in f64 as in f32 (4 KiB) left the L1 cache and
/// took f64 from 2.2 to 3.2-3.7 ns per element.
const BLOCK_BYTES: usize = 1024;

/// Elements per block of T ([`BLOCK_BYTES`]).
const fn block_len<T>() -> usize {
    BLOCK_BYTES / std::mem::size_of::<T>()
}
/// Lanes of the f64 sums (a fixed pattern: [`sum_lanes`]); 4 vectors of f64
/// at AVX-512 (one was a chain of dependent additions: 7% of binary focal).
const LANES: usize = 32;

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
    /// 1 - t, the coefficient of -ln(1 - p) in B (times the weight scale).
    negative: T,
    alpha_t: T,
}

/// The per-call constants of the element loss: label smoothing and the
/// loss parameters, as the block loops use them.
#[derive(Debug, Clone, Copy)]
///
/// WEIGHTED_MEAN multiplies every weight factor by one power of two s
/// ([`weight_scale`]): the coefficients of B (w s and s) for cross-entropy,
/// alpha_t (alpha s and (1 - alpha) s) for focal loss. The mean is the same
/// (s cancels, exactly), but no factor overflows or loses its digits to
/// underflow.
struct Params<T> {
    /// t' = keep t + add, 1 - t' = keep (1 - t) + add.
    keep: T,
    add: T,
    /// Coefficients of t ln p and (1 - t) ln(1 - p) in B: w and 1, times s.
    pos_weight: T,
    neg_weight: T,
    /// alpha and 1 - alpha, times s; meaningful when `has_alpha`.
    alpha_positive: T,
    alpha_negative: T,
    has_alpha: bool,
    gamma: T,
}

impl<T: Float> Params<T> {
    /// The smoothed target of a raw one (branch-free).
    #[inline(always)]
    fn target(&self, raw: T) -> Target<T> {
        let t = self.keep * raw + self.add;
        let one_minus_t = self.keep * (T::ONE - raw) + self.add;
        let alpha_t = self.alpha_positive * t + self.alpha_negative * one_minus_t;
        Target {
            t,
            one_minus_t,
            positive: self.pos_weight * t,
            negative: self.neg_weight * one_minus_t,
            alpha_t: select(self.has_alpha, alpha_t, T::ONE),
        }
    }

    /// The weight factor of an element under WEIGHTED_MEAN.
    #[inline(always)]
    fn weight(&self, raw: T) -> T {
        let at = self.target(raw);
        at.alpha_t * (at.positive + at.negative)
    }

    /// These parameters with every weight factor multiplied by `s`: the
    /// coefficients of B without alpha, alpha_t with it.
    fn scaled(self, s: T) -> Self {
        if self.has_alpha {
            Params {
                alpha_positive: self.alpha_positive * s,
                alpha_negative: self.alpha_negative * s,
                ..self
            }
        } else {
            Params {
                pos_weight: self.pos_weight * s,
                neg_weight: self.neg_weight * s,
                ..self
            }
        }
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
        let alpha = self.alpha.unwrap_or(T::ONE);
        let mut params = Params {
            keep: T::from_f64(1.0 - eps),
            add: T::from_f64(eps / 2.0),
            pos_weight: self.pos_weight,
            neg_weight: T::ONE,
            alpha_positive: alpha,
            alpha_negative: T::ONE - alpha,
            has_alpha: self.alpha.is_some(),
            gamma: self.gamma,
        };
        // Every target first, so that a bad target is reported before any
        // prediction.
        // A read of the targets: at most 1 cost unit per element.
        let check_segments =
            parallel::segments(n, 1, block_len::<T>(), opts.threads, Cost::of::<T>(1));
        let checks = parallel::map(check_segments, opts.threads, |range| {
            simd::dispatch(TargetCheck(&target[range]))
        });
        let (valid, hard) = checks
            .into_iter()
            .fold((true, true), |(v, h), (sv, sh)| (v & sv, h & sh));
        if !valid {
            check_each(target, 0, "target", validate::probability)?;
        }
        // Every target hard (0 or 1, unsmoothed): the block loops can skip
        // the general focal form.
        let hard = hard && eps == 0.0;
        let weight_sum = if opts.reduction == Reduction::WeightedMean {
            let largest = target
                .iter()
                .fold(T::ZERO, |m, &raw| m.max(params.weight(raw)));
            params = params.scaled(weight_scale(largest));
            sum_lanes(target, |raw| params.weight(raw))
        } else {
            0.0
        };
        let mut reducer = Reducer::new(
            opts.reduction,
            opts.log_scale::<f64>(),
            divisor(opts.reduction, n, weight_sum),
        );
        let logits = opts.input == Input::Logits;
        let focal = self.gamma != T::ZERO;
        // Cross-entropy's exact Hessian already is the Fisher one.
        let fisher = opts.hessian == HessianMode::Fisher && focal;
        let run = Run {
            loss: self,
            params,
            scale: reducer.derivative_scale::<T>(),
            floor: hessian::floor_of::<T>(opts.hessian)?,
            fisher,
            reducer: &reducer,
            logits,
            slow_path: logits && focal && !hard,
        };
        let segment = segment_fn::<T>(logits, focal, hard, outputs.hess.is_some() && !fisher);
        // Pieces for the threads (parallel::segments), in whole blocks,
        // each with its part of the outputs.
        let mut out = reducer.per_sample().then_some(&mut outputs.out[..]);
        let (mut grad, mut hess) = (outputs.grad.as_deref_mut(), outputs.hess.as_deref_mut());
        // Focal loss costs 4 units per element, cross-entropy 2 (see
        // parallel::Cost). Focal with its derivatives now takes about 1 ns
        // in f32 at AVX-512, less than 4 units, so a second thread starts
        // from 262144 elements, where it still pays: 1.15x there (wall
        // time, alternating; 1.36x at 393216, 1.53x at 1M).
        let cost = Cost::of::<T>(if focal { 4 } else { 2 });
        let segments: Vec<_> = parallel::segments(n, 1, block_len::<T>(), opts.threads, cost)
            .into_iter()
            .map(|range| {
                let m = range.len();
                Segment {
                    start: range.start,
                    pred: &pred[range.clone()],
                    target: &target[range],
                    out: split_off(&mut out, m),
                    grad: split_off(&mut grad, m),
                    hess: split_off(&mut hess, m),
                }
            })
            .collect();
        let results = parallel::map(segments, opts.threads, |seg| segment(&run, seg));
        // The first error in element order; block sums added in block
        // order, whatever the number of threads.
        for partials in results {
            for sum in partials? {
                reducer.add_partial(sum);
            }
        }
        reducer.finish(outputs.out);
        Ok(())
    }
}

/// A contiguous range of elements and its part of the outputs.
struct Segment<'a, T> {
    /// Index of the segment's first element in the whole input.
    start: usize,
    pred: &'a [T],
    target: &'a [T],
    /// Per-element losses (`Reduction::None` only).
    out: Option<&'a mut [T]>,
    grad: Option<&'a mut [T]>,
    hess: Option<&'a mut [T]>,
}

/// What every segment of one computation shares.
struct Run<'a, T> {
    loss: &'a BinaryLoss<T>,
    params: Params<T>,
    /// The factor of every gradient and Hessian entry.
    scale: T,
    /// The FLOOR mode's floor (-Inf: none).
    floor: T,
    /// Whether `hess` is the FISHER one ([`BinaryLoss::fisher`]).
    fisher: bool,
    reducer: &'a Reducer,
    logits: bool,
    /// Whether elements may be left to the log-space path (focal loss of
    /// logits with some soft target).
    slow_path: bool,
}

/// A segment's computation, compiled for the process's instruction set.
type SegmentFn<T> = fn(&Run<T>, Segment<T>) -> Result<Vec<f64>>;

/// The segment computation for the input kind, the loss (`focal`: gamma >
/// 0), whether every target is hard and whether the Hessian is wanted.
fn segment_fn<T: Float>(logits: bool, focal: bool, hard: bool, hess: bool) -> SegmentFn<T> {
    macro_rules! pick {
        ($logits:literal) => {
            match (focal, hard, hess) {
                // Cross-entropy's Hessian costs next to nothing.
                (false, _, _) => dispatched::<T, $logits, false, false, true>,
                (true, true, true) => dispatched::<T, $logits, true, true, true>,
                (true, true, false) => dispatched::<T, $logits, true, true, false>,
                (true, false, true) => dispatched::<T, $logits, true, false, true>,
                (true, false, false) => dispatched::<T, $logits, true, false, false>,
            }
        };
    }
    if logits {
        pick!(true)
    } else {
        pick!(false)
    }
}

/// [`Run::segment`] through [`simd::dispatch`].
fn dispatched<
    T: Float,
    const LOGITS: bool,
    const FOCAL: bool,
    const HARD: bool,
    const HESS: bool,
>(
    run: &Run<T>,
    seg: Segment<T>,
) -> Result<Vec<f64>> {
    simd::dispatch(SegmentCall::<T, LOGITS, FOCAL, HARD, HESS> { run, seg })
}

/// [`Run::segment`]'s arguments, as a [`Kernel`].
struct SegmentCall<
    'a,
    'b,
    T,
    const LOGITS: bool,
    const FOCAL: bool,
    const HARD: bool,
    const HESS: bool,
> {
    run: &'a Run<'b, T>,
    seg: Segment<'a, T>,
}

impl<T: Float, const LOGITS: bool, const FOCAL: bool, const HARD: bool, const HESS: bool> Kernel
    for SegmentCall<'_, '_, T, LOGITS, FOCAL, HARD, HESS>
{
    type Output = Result<Vec<f64>>;
    #[inline(always)]
    fn run<S: Isa>(self) -> Self::Output {
        self.run.segment::<S, LOGITS, FOCAL, HARD, HESS>(self.seg)
    }
}

impl<T: Float> Run<'_, T> {
    /// Computes one segment block by block; returns each block's loss sum
    /// (in f64) unless the losses are written per element.
    #[inline(always)]
    fn segment<
        S: Isa,
        const LOGITS: bool,
        const FOCAL: bool,
        const HARD: bool,
        const HESS: bool,
    >(
        &self,
        mut seg: Segment<T>,
    ) -> Result<Vec<f64>> {
        let block = block_len::<T>();
        let len = seg.pred.len().min(block);
        let mut b = Block {
            value: vec![T::ZERO; len],
            first: vec![T::ZERO; len],
            second: vec![T::ZERO; len],
            slow: vec![false; len],
            scratch: Scratch::new(len),
        };
        let mut sums = Vec::with_capacity(seg.pred.len().div_ceil(block));
        let blocks = seg.pred.chunks(block).zip(seg.target.chunks(block));
        let hess_wanted = seg.hess.is_some();
        for (k, (x, t)) in blocks.enumerate() {
            let (local, m) = (k * block, x.len());
            let start = seg.start + local;
            let value = &mut b.value[..m];
            // The block writes the scaled derivatives straight into the
            // caller's arrays (its own buffers where one is not wanted).
            let first = match seg.grad.as_deref_mut() {
                Some(grad) => &mut grad[local..local + m],
                None => &mut b.first[..m],
            };
            let second = match seg.hess.as_deref_mut() {
                Some(hess) => &mut hess[local..local + m],
                None => &mut b.second[..m],
            };
            let slow = &mut b.slow[..m];
            if self.logits && !all_logits(x) {
                check_each(x, start, "pred", validate::logit)?;
            }
            if !self.logits && !all_probabilities(x) {
                check_each(x, start, "pred", validate::probability)?;
            }
            blocks::block::<S, T, LOGITS, FOCAL, HARD, HESS>(
                &self.params,
                x,
                t,
                self.scale,
                value,
                first,
                second,
                slow,
                &mut b.scratch,
            );
            if self.slow_path && slow.iter().fold(false, |any, &s| any | s) {
                for r in 0..m {
                    if slow[r] {
                        let (point, _) = Point::from_logit(x[r]);
                        let d = self.loss.log_space(&self.params.target(t[r]), point);
                        value[r] = d.value;
                        (first[r], second[r]) = (d.first * self.scale, d.second * self.scale);
                    }
                }
            }
            if hess_wanted {
                if self.fisher {
                    self.loss
                        .fisher_block(&self.params, self.logits, x, t, self.scale, second);
                }
                if self.floor > T::NEG_INFINITY {
                    hessian::raise(second, self.floor);
                }
            }
            match seg.out.as_deref_mut() {
                Some(out) => sample_values(self.reducer, value, &mut out[local..local + m]),
                None => sums.push(sum_lanes(value, |v| v)),
            }
        }
        Ok(sums)
    }
}

impl<T: Float> BinaryLoss<T> {
    /// The FISHER Hessian of a block ([`BinaryLoss::fisher`]) times `scale`
    /// into `second`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn fisher_block(
        &self,
        params: &Params<T>,
        logits: bool,
        x: &[T],
        t: &[T],
        scale: T,
        second: &mut [T],
    ) {
        for ((h, &x), &t) in second.iter_mut().zip(x).zip(t) {
            let point = if logits {
                Point::from_logit(x).0
            } else {
                Point::from_probability(x)
            };
            *h = self.fisher(&params.target(t), &point, logits) * scale;
        }
    }
}

/// [`check_targets`] at the process's level ([`simd::dispatch`]).
struct TargetCheck<'a, T>(&'a [T]);

impl<T: Float> Kernel for TargetCheck<'_, T> {
    type Output = (bool, bool);
    #[inline(always)]
    fn run<S: Isa>(self) -> (bool, bool) {
        check_targets(self.0)
    }
}

/// Whether every target is a probability (finite, in [0, 1]), and whether
/// every one is 0 or 1; vectorised.
#[inline(always)]
fn check_targets<T: Float>(t: &[T]) -> (bool, bool) {
    t.iter().fold((true, true), |(ok, hard), &v| {
        (
            ok & (v >= T::ZERO) & (v <= T::ONE),
            hard & ((v == T::ZERO) | (v == T::ONE)),
        )
    })
}

/// Whether every entry is a probability (finite, in [0, 1]); vectorised,
/// at the level of the segment that calls it. (valgrind 3.19's emulation
/// of the AVX2 compares LLVM emits here lets a NaN through, which native
/// AVX2 refuses: `make test-valgrind` runs the hostile test at baseline.)
#[inline(always)]
fn all_probabilities<T: Float>(x: &[T]) -> bool {
    x.iter()
        .fold(true, |ok, &v| ok & (v >= T::ZERO) & (v <= T::ONE))
}

/// Whether every entry is a valid logit (finite or -Inf); vectorised, as
/// [`all_probabilities`].
#[inline(always)]
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

/// Per-element losses of the NONE reduction, as the reducer writes them.
#[inline(always)]
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

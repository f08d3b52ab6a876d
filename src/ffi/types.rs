//! The C-visible types and constants (cbindgen turns these into `floss.h`).

#![allow(non_camel_case_types)]

/// Status returned by every computing function. The numbers never change.
pub type floss_status = u32;

/// Success.
pub const FLOSS_OK: floss_status = 0;
/// A required pointer is NULL (NULL is fine for an array of length 0 and for
/// documented optional pointers).
pub const FLOSS_ERR_NULL_POINTER: floss_status = 1;
/// A size is invalid: c == 0, n * c overflows, too few samples for a window, ...
pub const FLOSS_ERR_SHAPE: floss_status = 2;
/// A parameter or option field is outside its domain.
pub const FLOSS_ERR_ARGUMENT: floss_status = 3;
/// A label is outside [0, c) and is not the ignore index.
pub const FLOSS_ERR_LABEL: floss_status = 4;
/// A probability or target is outside [0, 1].
pub const FLOSS_ERR_PROBABILITY: floss_status = 5;
/// NaN or +Inf in an input (a -Inf logit is allowed: a masked class).
pub const FLOSS_ERR_NON_FINITE: floss_status = 6;
/// An output buffer overlaps an input or another output.
pub const FLOSS_ERR_OVERLAP: floss_status = 7;
/// A pointer to a non-empty array is not aligned for its element type (an
/// array of length 0 is never dereferenced: any pointer is accepted).
pub const FLOSS_ERR_ALIGNMENT: floss_status = 8;
/// An internal error was caught; a bug to report.
pub const FLOSS_ERR_PANIC: floss_status = 9;
/// Working memory could not be allocated (the call wrote no output).
pub const FLOSS_ERR_MEMORY: floss_status = 10;

/// `floss_options.input`: predictions are probabilities in [0, 1] (default).
pub const FLOSS_INPUT_PROBS: u32 = 0;
/// `floss_options.input`: predictions are logits (softmax / sigmoid applied in log space).
pub const FLOSS_INPUT_LOGITS: u32 = 1;

/// `floss_options.reduction`: one loss per row (per element for binary functions).
pub const FLOSS_REDUCTION_NONE: u32 = 0;
/// `floss_options.reduction`: the sum over counted samples.
pub const FLOSS_REDUCTION_SUM: u32 = 1;
/// `floss_options.reduction`: the sum divided by the number of counted samples (default).
pub const FLOSS_REDUCTION_MEAN: u32 = 2;
/// `floss_options.reduction`: the sum divided by the sum of the counted
/// samples' weight factors (PyTorch `reduction='mean'` with `weight=`).
pub const FLOSS_REDUCTION_WEIGHTED_MEAN: u32 = 3;

/// `floss_options.hessian`: the exact Hessian diagonal (default).
pub const FLOSS_HESSIAN_EXACT: u32 = 0;
/// `floss_options.hessian`: the exact Hessian diagonal h, reported as
/// max(h, `floss_options.hessian_floor`) AFTER the reduction's scaling (the
/// value a gradient-boosting library receives), for every entry of every
/// counted sample (ignored samples keep 0; NaN is never hidden). Warning:
/// where the exact Hessian is negative (focal loss of a badly misclassified
/// sample) the Newton step -g / floor is huge; prefer FLOSS_HESSIAN_FISHER.
pub const FLOSS_HESSIAN_FLOOR: u32 = 1;
/// `floss_options.hessian`: the Fisher (expected, Gauss-Newton) Hessian, a
/// surrogate that is >= 0 by construction (never NaN for valid input). Every
/// loss is L = sum_j c_j (-ln p_j) with weights c_j >= 0 (cross-entropy,
/// KL: w_j t_j; focal: alpha_j t_j (1 - p_j)^gamma; entropy: p_j; binary:
/// c_1 = alpha_t (1 - p_t)^gamma w t on -ln p, c_0 = alpha_t (1 - p_t)^gamma
/// (1 - t) on -ln(1 - p)). Holding the weights fixed gives
///
///   logits:        hess_k = (sum_j c_j) p_k (1 - p_k)
///   probabilities: hess_k = c_k / p_k^2     (binary: c_1 / p^2 + c_0 / (1 - p)^2)
///
/// times the reduction's factor: the Fisher information of the softmax
/// (sigmoid) model times the loss's total weight. It equals the exact
/// Hessian where the weights are constant (cross-entropy, KL, sparse and
/// balanced cross-entropy, focal with gamma = 0, binary cross-entropy:
/// there the exact values are returned), and for focal loss it bounds each
/// sample's Newton step |g / h| by (1 + gamma) times cross-entropy's.
/// The gradient is always exact.
pub const FLOSS_HESSIAN_FISHER: u32 = 2;

/// `floss_options.ignore_index` default: no label is ignored (INT64_MIN).
pub const FLOSS_NO_IGNORE: i64 = -9223372036854775807 - 1;

/// Major version of this header.
pub const FLOSS_VERSION_MAJOR: u32 = 0;
/// Minor version of this header.
pub const FLOSS_VERSION_MINOR: u32 = 2;
/// Patch version of this header.
pub const FLOSS_VERSION_PATCH: u32 = 0;

/// Options of a loss call. Initialise with `floss_options_init`, then set
/// fields; `NULL` where a `const floss_options *` is expected means the
/// defaults. Each function documents which fields it reads, and validates
/// only those: a field a function does not read is ignored, whatever its
/// value (`size` is always checked).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct floss_options {
    /// `sizeof(floss_options)`, set by `floss_options_init`; checked.
    pub size: u32,
    /// `FLOSS_INPUT_PROBS` (default) or `FLOSS_INPUT_LOGITS`.
    pub input: u32,
    /// `FLOSS_REDUCTION_NONE`, `_SUM`, `_MEAN` (default) or `_WEIGHTED_MEAN`.
    pub reduction: u32,
    /// Base b of every logarithm: 0 (default) = natural log; else > 0 and != 1.
    pub log_base: f64,
    /// Label whose samples are skipped; `FLOSS_NO_IGNORE` (default) for none.
    pub ignore_index: i64,
    /// eps in [0, 1] (default 0): targets become (1 - eps) t + eps / c
    /// (binary functions: (1 - eps) t + eps / 2).
    pub label_smoothing: f64,
    /// How `hess` is reported: `FLOSS_HESSIAN_EXACT` (default), the exact
    /// diagonal; `FLOSS_HESSIAN_FLOOR`, max(exact, `hessian_floor`) after the
    /// reduction's scaling; `FLOSS_HESSIAN_FISHER`, the expected (Fisher)
    /// Hessian, (sum_j c_j) p_k (1 - p_k) from logits (formulas at the
    /// constants). Read by every function with a `hess` output. Since 0.2.0.
    pub hessian: u32,
    /// The floor of `FLOSS_HESSIAN_FLOOR`: finite and > 0 (default 1e-6),
    /// and still so when rounded to the element type (f32 functions refuse
    /// a floor below the smallest f32 or above its largest). Since 0.2.0.
    pub hessian_floor: f64,
    /// Multi-class functions: positions per sample S for PyTorch's
    /// channels-first layout (N, C, d1, ..., dk), S = d1 * ... * dk; 0
    /// (default) = rows of c values. Since 0.2.0.
    pub positions: usize,
}

/// `sizeof(floss_options)` of version 0.1 (the first five fields), still
/// accepted in `size`: the fields added since take their defaults.
pub const FLOSS_OPTIONS_SIZE_V0_1: u32 = 40;

//! C exports: binary cross-entropy and binary focal loss.

use super::types::*;
use super::{dense_loss, guard};

/// Binary cross-entropy of n independent elements (any shape, flattened):
/// L_i = -(w t_i log_b p_i + (1 - t_i) log_b(1 - p_i)) with w = `pos_weight`.
/// With logits it is PyTorch `binary_cross_entropy_with_logits(pos_weight=w)`,
/// computed as (w t softplus(-x) + (1 - t) softplus(x)) / ln b: finite for
/// every finite logit.
///
/// - `pred`: n probabilities in [0, 1], used as given (a 0 or 1 that the
///   target needs gives +Inf, never a silent clamp) or, with
///   `FLOSS_INPUT_LOGITS`, n logits x (p = sigmoid(x); -Inf means p = 0
///   exactly, +Inf is refused).
/// - `target`: n targets in [0, 1] (soft targets allowed); with
///   `opts->label_smoothing` eps each becomes (1 - eps) t + eps / 2.
/// - `pos_weight`: finite and > 0 (1 = unweighted).
/// - `opts` (NULL = defaults): reads `input`, `reduction`, `log_base`,
///   `label_smoothing`, `hessian`, `hessian_floor`; not `ignore_index`.
///   MEAN divides by n, WEIGHTED_MEAN by the sum of w t_i + (1 - t_i) over
///   the smoothed targets (both give 0 when n == 0).
/// - `out`: n values for `FLOSS_REDUCTION_NONE`, else 1.
/// - `grad`, `hess` (NULL = not computed; else n): the derivative and second
///   derivative of what `out` holds with respect to each prediction. Logits:
///   (1 - t) p - w t (1 - p) and p (1 - p) (w t + 1 - t) (>= 0: convex, safe
///   for gradient boosting). Probabilities: -w t / p + (1 - t) / (1 - p) and
///   w t / p^2 + (1 - t) / (1 - p)^2, infinite where the loss is (and
///   where they overflow: p or 1 - p subnormal). -0.0 is 0 (same results);
///   a zero loss is +0.0.
///   `FLOSS_HESSIAN_FISHER` gives these exact values (they already are the
///   Fisher ones); `FLOSS_HESSIAN_FLOOR` raises them to the floor.
///
/// `pred` and `target` may be NULL when n == 0, `out` too for
/// `FLOSS_REDUCTION_NONE`. Returns FLOSS_OK, FLOSS_ERR_NULL_POINTER,
/// FLOSS_ERR_SHAPE (n * sizeof(float) exceeds the address space),
/// FLOSS_ERR_ARGUMENT (`pos_weight`, options), FLOSS_ERR_PROBABILITY (a
/// target, or a probability in `pred`, outside [0, 1]),
/// FLOSS_ERR_NON_FINITE (NaN or an infinity in `target` or in
/// probabilities; NaN or +Inf logit), FLOSS_ERR_OVERLAP,
/// FLOSS_ERR_ALIGNMENT or FLOSS_ERR_PANIC.
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_binary_cross_entropy_f32(
    pred: *const f32,
    target: *const f32,
    n: usize,
    pos_weight: f32,
    opts: *const floss_options,
    out: *mut f32,
    grad: *mut f32,
    hess: *mut f32,
) -> floss_status {
    guard("floss_binary_cross_entropy_f32", || unsafe {
        dense_loss(
            pred,
            target,
            n,
            1,
            opts,
            out,
            grad,
            hess,
            |p, t, _, o, outputs| crate::binary::binary_cross_entropy(p, t, pos_weight, o, outputs),
        )
    })
}

/// `double` version of `floss_binary_cross_entropy_f32`, same semantics.
///
/// # Safety
/// As `floss_binary_cross_entropy_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_binary_cross_entropy_f64(
    pred: *const f64,
    target: *const f64,
    n: usize,
    pos_weight: f64,
    opts: *const floss_options,
    out: *mut f64,
    grad: *mut f64,
    hess: *mut f64,
) -> floss_status {
    guard("floss_binary_cross_entropy_f64", || unsafe {
        dense_loss(
            pred,
            target,
            n,
            1,
            opts,
            out,
            grad,
            hess,
            |p, t, _, o, outputs| crate::binary::binary_cross_entropy(p, t, pos_weight, o, outputs),
        )
    })
}

/// Binary focal loss of n independent elements (Lin et al. 2017):
/// L_i = alpha_t (1 - p_t)^gamma BCE_i with BCE_i = -(t log_b p + (1 - t)
/// log_b(1 - p)), p_t = p t + (1 - p)(1 - t) and alpha_t = alpha t +
/// (1 - alpha)(1 - t). With logits it is torchvision `sigmoid_focal_loss`;
/// soft targets are allowed. gamma = 0 without alpha is binary
/// cross-entropy.
///
/// Stable form: 1 - p_t = p (1 - t) + (1 - p) t, a sum of non-negative
/// terms, raised to gamma as exp(gamma ln(1 - p_t)) with ln(1 - p_t) from
/// the log-sigmoids; the derivatives never form (1 - p_t)^(gamma - 1), so
/// gamma in (0, 1) gives finite gradients and Hessians for every finite
/// logit (autograd through `pow` gives NaN as p_t -> 1).
///
/// - `pred`, `target`: as in `floss_binary_cross_entropy_f32`.
/// - `alpha`: in [0, 1], or negative (-Inf included) for no alpha
///   (alpha_t = 1); NaN and values above 1 are refused. An element
///   with alpha_t = 0 contributes 0, even where BCE is infinite.
/// - `gamma`: finite and >= 0.
/// - `opts` (NULL = defaults): reads `input`, `reduction`, `log_base`,
///   `label_smoothing`, `hessian`, `hessian_floor`; not `ignore_index`.
///   MEAN divides by n, WEIGHTED_MEAN by the sum of alpha_t over the
///   smoothed targets (n without alpha; 0 when that sum is 0).
/// - `out`: n values for `FLOSS_REDUCTION_NONE`, else 1.
/// - `grad`, `hess` (NULL = not computed; else n): the derivative and second
///   derivative of what `out` holds with respect to each prediction (logit
///   or probability). With probabilities they are infinite where the loss
///   is, and the Hessian also at p = t in {0, 1} when gamma < 1; elsewhere
///   they are finite unless their true value overflows (p or 1 - p
///   subnormal).
///
/// The Hessian can be NEGATIVE for gamma > 0: the focal loss is not convex
/// in the logit for badly misclassified elements (t = 1: x < -2.79, i.e.
/// p < 0.058, at gamma = 2; x < -4.02 at gamma = 0.5). Gradient-boosting
/// users (LightGBM, XGBoost) should set `opts->hessian` to
/// `FLOSS_HESSIAN_FISHER`, which reports, with m = 1 - p_t,
///
///   logits:        alpha_t m^gamma (t + 1 - t) p (1 - p) = alpha_t m^gamma p (1 - p)
///   probabilities: alpha_t m^gamma (t / p^2 + (1 - t) / (1 - p)^2)
///
/// (>= 0, > 0 for 0 < p < 1 unless alpha_t m^gamma underflows; gamma = 0
/// gives the exact Hessian), rather than a floor: where the exact value is
/// negative, a floored one turns -g / h into steps of millions of logits.
///
/// `pred` and `target` may be NULL when n == 0, `out` too for
/// `FLOSS_REDUCTION_NONE`. Returns FLOSS_OK, FLOSS_ERR_NULL_POINTER,
/// FLOSS_ERR_SHAPE (n * sizeof(float) exceeds the address space),
/// FLOSS_ERR_ARGUMENT (`alpha`, `gamma`, options), FLOSS_ERR_PROBABILITY (a
/// target, or a probability in `pred`, outside [0, 1]),
/// FLOSS_ERR_NON_FINITE (NaN or an infinity in `target` or in
/// probabilities; NaN or +Inf logit), FLOSS_ERR_OVERLAP,
/// FLOSS_ERR_ALIGNMENT or FLOSS_ERR_PANIC.
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_binary_focal_loss_f32(
    pred: *const f32,
    target: *const f32,
    n: usize,
    alpha: f32,
    gamma: f32,
    opts: *const floss_options,
    out: *mut f32,
    grad: *mut f32,
    hess: *mut f32,
) -> floss_status {
    guard("floss_binary_focal_loss_f32", || unsafe {
        dense_loss(
            pred,
            target,
            n,
            1,
            opts,
            out,
            grad,
            hess,
            |p, t, _, o, outputs| crate::binary::binary_focal_loss(p, t, alpha, gamma, o, outputs),
        )
    })
}

/// `double` version of `floss_binary_focal_loss_f32`, same semantics.
///
/// # Safety
/// As `floss_binary_focal_loss_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_binary_focal_loss_f64(
    pred: *const f64,
    target: *const f64,
    n: usize,
    alpha: f64,
    gamma: f64,
    opts: *const floss_options,
    out: *mut f64,
    grad: *mut f64,
    hess: *mut f64,
) -> floss_status {
    guard("floss_binary_focal_loss_f64", || unsafe {
        dense_loss(
            pred,
            target,
            n,
            1,
            opts,
            out,
            grad,
            hess,
            |p, t, _, o, outputs| crate::binary::binary_focal_loss(p, t, alpha, gamma, o, outputs),
        )
    })
}

//! C exports: multi-class focal loss.

use super::types::*;
use super::{guard, labelled_loss};

/// Focal loss (Lin et al. 2017), multi-class (softmax):
/// L_i = -alpha_y (1 - p_y)^gamma log_b p_y; with label smoothing
/// -sum_j alpha_j t_ij (1 - p_ij)^gamma log_b p_ij, t_i = (1 - eps) onehot + eps / c
/// (Keras `CategoricalFocalCrossentropy`, without its 1e-7 clipping).
/// gamma = 0 with alpha NULL is `floss_sparse_cross_entropy_f32`.
///
/// Stable form: with logits, ln p is the log-softmax and ln(1 - p) is taken
/// from the other classes' log-sum-exp (no cancellation as p -> 1);
/// (1 - p)^gamma = exp(gamma ln(1 - p)); the derivatives never form
/// (1 - p)^(gamma - 1), so out, grad and hess are finite for every finite
/// logit, including 0 < gamma < 1 where autograd through `pow` gives NaN.
///
/// - `pred`: n x c, probabilities in [0, 1] or (`FLOSS_INPUT_LOGITS`) logits.
/// - `labels`: n labels in [0, c) or `opts->ignore_index`.
/// - `alpha`: NULL (all 1) or c class weights, finite and >= 0.
/// - `gamma`: focusing parameter, finite and >= 0.
/// - `opts` (NULL = defaults): reads every field. MEAN divides by the number
///   of counted rows, WEIGHTED_MEAN by the sum of alpha[labels[i]] over them.
/// - `out`: n values for `FLOSS_REDUCTION_NONE`, else 1.
/// - `grad`, `hess` (NULL = not computed; else n x c): derivative and
///   Hessian diagonal of what `out` holds w.r.t. `pred`. With probabilities
///   and 0 < gamma < 1 the Hessian is +Inf where p = 1 (the true value).
///   The exact Hessian can be negative (the loss is not convex for gamma >
///   0); for gradient boosting set `opts->hessian = FLOSS_HESSIAN_FISHER`:
///   from logits hess_k = C p_k (1 - p_k) with C = sum_j alpha_j t_ij (1 -
///   p_ij)^gamma (without smoothing alpha_y (1 - p_y)^gamma); from
///   probabilities alpha_k t_ik (1 - p_ik)^gamma / p_ik^2. gamma = 0 gives
///   the exact (cross-entropy) Hessian.
///
/// Returns FLOSS_OK, FLOSS_ERR_NULL_POINTER, FLOSS_ERR_SHAPE,
/// FLOSS_ERR_ARGUMENT (options, gamma < 0 or NaN, a bad alpha),
/// FLOSS_ERR_LABEL, FLOSS_ERR_PROBABILITY, FLOSS_ERR_NON_FINITE,
/// FLOSS_ERR_OVERLAP, FLOSS_ERR_ALIGNMENT or FLOSS_ERR_PANIC.
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_focal_loss_f32(
    pred: *const f32,
    labels: *const i64,
    n: usize,
    c: usize,
    alpha: *const f32,
    gamma: f32,
    opts: *const floss_options,
    out: *mut f32,
    grad: *mut f32,
    hess: *mut f32,
) -> floss_status {
    guard("floss_focal_loss_f32", || unsafe {
        labelled_loss(
            pred,
            labels,
            n,
            c,
            (alpha, "alpha"),
            opts,
            out,
            grad,
            hess,
            |p, y, a, o, outs| crate::focal::focal_loss(p, y, c, a, gamma, o, outs),
        )
    })
}

/// `double` version of `floss_focal_loss_f32`, same semantics.
///
/// # Safety
/// As `floss_focal_loss_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_focal_loss_f64(
    pred: *const f64,
    labels: *const i64,
    n: usize,
    c: usize,
    alpha: *const f64,
    gamma: f64,
    opts: *const floss_options,
    out: *mut f64,
    grad: *mut f64,
    hess: *mut f64,
) -> floss_status {
    guard("floss_focal_loss_f64", || unsafe {
        labelled_loss(
            pred,
            labels,
            n,
            c,
            (alpha, "alpha"),
            opts,
            out,
            grad,
            hess,
            |p, y, a, o, outs| crate::focal::focal_loss(p, y, c, a, gamma, o, outs),
        )
    })
}

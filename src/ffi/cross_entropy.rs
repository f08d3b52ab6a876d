//! C exports: cross-entropy, KL divergence, sparse and balanced cross-entropy.

use super::types::*;
use super::{dense_loss, guard, labelled_loss};
use crate::cross_entropy as core_ce;

/// Cross-entropy of each row against a dense target row:
/// H_i = -sum_j t_ij log_b p_ij, with t = (1 - eps) target + eps / c.
///
/// - `pred`: n x c row-major; probabilities in [0, 1] (used as given, not
///   renormalised; a zero probability where t > 0 gives +Inf) or, with
///   `FLOSS_INPUT_LOGITS`, logits (log-softmax by max-shifted log-sum-exp:
///   finite for every finite logit; a -Inf logit is a masked class).
/// - `target`: n x c, entries in [0, 1] (rows are not required to sum to 1).
/// - `opts` (NULL = defaults): reads `input`, `reduction`, `log_base`,
///   `label_smoothing`, `hessian`, `hessian_floor`. MEAN and WEIGHTED_MEAN
///   divide by n (0 when n == 0).
/// - `out`: n values for `FLOSS_REDUCTION_NONE`, else 1.
/// - `grad`, `hess` (NULL = not computed; else n x c): derivative and
///   Hessian diagonal of what `out` holds w.r.t. `pred`. With logits:
///   grad = p sum(t) - t, hess = p (1 - p) sum(t). `FLOSS_HESSIAN_FISHER`
///   gives the exact Hessian (it already is the Fisher one);
///   `FLOSS_HESSIAN_FLOOR` raises it to the floor.
///
/// `pred`, `target` may be NULL when n == 0. Returns FLOSS_OK,
/// FLOSS_ERR_NULL_POINTER, FLOSS_ERR_SHAPE (c == 0, n * c overflows),
/// FLOSS_ERR_ARGUMENT (options), FLOSS_ERR_PROBABILITY (a probability or
/// target outside [0, 1]), FLOSS_ERR_NON_FINITE (NaN or +Inf; a row of -Inf
/// logits), FLOSS_ERR_OVERLAP, FLOSS_ERR_ALIGNMENT or FLOSS_ERR_PANIC.
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_cross_entropy_f32(
    pred: *const f32,
    target: *const f32,
    n: usize,
    c: usize,
    opts: *const floss_options,
    out: *mut f32,
    grad: *mut f32,
    hess: *mut f32,
) -> floss_status {
    guard("floss_cross_entropy_f32", || unsafe {
        dense_loss(
            pred,
            target,
            n,
            c,
            opts,
            out,
            grad,
            hess,
            core_ce::cross_entropy,
        )
    })
}

/// `double` version of `floss_cross_entropy_f32`, same semantics.
///
/// # Safety
/// As `floss_cross_entropy_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_cross_entropy_f64(
    pred: *const f64,
    target: *const f64,
    n: usize,
    c: usize,
    opts: *const floss_options,
    out: *mut f64,
    grad: *mut f64,
    hess: *mut f64,
) -> floss_status {
    guard("floss_cross_entropy_f64", || unsafe {
        dense_loss(
            pred,
            target,
            n,
            c,
            opts,
            out,
            grad,
            hess,
            core_ce::cross_entropy,
        )
    })
}

/// Kullback-Leibler divergence of each row:
/// KL_i = sum_j t_ij log_b(t_ij / p_ij), with 0 log 0 = 0 and
/// t = (1 - eps) target + eps / c. Computed term by term as
/// t (ln t - ln p), so it is exactly 0 where p equals t and never negative
/// from cancellation.
///
/// Shapes, NULL rules, options read, gradients and statuses as
/// `floss_cross_entropy_f32` (the gradient and Hessian are those of the
/// cross-entropy: the two differ by a constant in `pred`).
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_kl_divergence_f32(
    pred: *const f32,
    target: *const f32,
    n: usize,
    c: usize,
    opts: *const floss_options,
    out: *mut f32,
    grad: *mut f32,
    hess: *mut f32,
) -> floss_status {
    guard("floss_kl_divergence_f32", || unsafe {
        dense_loss(
            pred,
            target,
            n,
            c,
            opts,
            out,
            grad,
            hess,
            core_ce::kl_divergence,
        )
    })
}

/// `double` version of `floss_kl_divergence_f32`, same semantics.
///
/// # Safety
/// As `floss_kl_divergence_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_kl_divergence_f64(
    pred: *const f64,
    target: *const f64,
    n: usize,
    c: usize,
    opts: *const floss_options,
    out: *mut f64,
    grad: *mut f64,
    hess: *mut f64,
) -> floss_status {
    guard("floss_kl_divergence_f64", || unsafe {
        dense_loss(
            pred,
            target,
            n,
            c,
            opts,
            out,
            grad,
            hess,
            core_ce::kl_divergence,
        )
    })
}

/// Cross-entropy against integer labels, PyTorch `F.cross_entropy(input,
/// target, weight, ignore_index, reduction, label_smoothing)`:
/// L_i = -sum_j w_j t_ij log_b p_ij with t_i = (1 - eps) onehot(labels[i]) + eps / c
/// (without smoothing: -w_y log_b p_y).
///
/// - `pred`: n x c, probabilities in [0, 1] or (`FLOSS_INPUT_LOGITS`) logits,
///   as in `floss_cross_entropy_f32`.
/// - `labels`: n labels in [0, c), or `opts->ignore_index` (row skipped:
///   loss, gradient and Hessian 0, not counted).
/// - `weight`: NULL (all 1) or c class weights, finite and >= 0.
/// - `opts` (NULL = defaults): reads every field. MEAN divides by the number
///   of counted rows; WEIGHTED_MEAN by the sum of weight[labels[i]] over
///   counted rows (PyTorch's `reduction='mean'` with `weight=`, smoothing
///   included); a mean over nothing is 0 with a zero gradient.
/// - `out`: n values for `FLOSS_REDUCTION_NONE`, else 1.
/// - `grad`, `hess` (NULL = not computed; else n x c). With logits and no
///   smoothing: grad = w_y (p - onehot), hess = w_y p (1 - p).
///   `FLOSS_HESSIAN_FISHER` gives the exact Hessian (it already is the
///   Fisher one); `FLOSS_HESSIAN_FLOOR` raises it to the floor for counted
///   rows (ignored rows keep 0).
///
/// Labels are checked before anything is written. Returns FLOSS_OK,
/// FLOSS_ERR_NULL_POINTER, FLOSS_ERR_SHAPE, FLOSS_ERR_ARGUMENT (options, a
/// negative or non-finite weight), FLOSS_ERR_LABEL (with the row and value),
/// FLOSS_ERR_PROBABILITY, FLOSS_ERR_NON_FINITE, FLOSS_ERR_OVERLAP,
/// FLOSS_ERR_ALIGNMENT or FLOSS_ERR_PANIC.
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_sparse_cross_entropy_f32(
    pred: *const f32,
    labels: *const i64,
    n: usize,
    c: usize,
    weight: *const f32,
    opts: *const floss_options,
    out: *mut f32,
    grad: *mut f32,
    hess: *mut f32,
) -> floss_status {
    guard("floss_sparse_cross_entropy_f32", || unsafe {
        labelled_loss(
            pred,
            labels,
            n,
            c,
            (weight, "weight"),
            opts,
            out,
            grad,
            hess,
            |p, y, w, o, outs| core_ce::sparse_cross_entropy(p, y, c, w, o, outs),
        )
    })
}

/// `double` version of `floss_sparse_cross_entropy_f32`, same semantics.
///
/// # Safety
/// As `floss_sparse_cross_entropy_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_sparse_cross_entropy_f64(
    pred: *const f64,
    labels: *const i64,
    n: usize,
    c: usize,
    weight: *const f64,
    opts: *const floss_options,
    out: *mut f64,
    grad: *mut f64,
    hess: *mut f64,
) -> floss_status {
    guard("floss_sparse_cross_entropy_f64", || unsafe {
        labelled_loss(
            pred,
            labels,
            n,
            c,
            (weight, "weight"),
            opts,
            out,
            grad,
            hess,
            |p, y, w, o, outs| core_ce::sparse_cross_entropy(p, y, c, w, o, outs),
        )
    })
}

/// Class-balanced cross-entropy: L_i = -alpha_y log_b p_y (with smoothing
/// -sum_j alpha_j t_ij log_b p_ij), i.e. `floss_sparse_cross_entropy_f32`
/// with weight = alpha.
///
/// - `alpha`: c weights, finite and >= 0, or NULL for the inverse class
///   frequency of this call's counted labels, alpha_k = n_counted / (c n_k)
///   (scikit-learn's 'balanced'; absent classes get 0). See
///   `floss_class_weights_f32` for other schemes.
/// - WEIGHTED_MEAN divides by the sum of alpha[labels[i]] over counted rows.
///
/// Other arguments, options read, NULL rules and statuses as
/// `floss_sparse_cross_entropy_f32` (FLOSS_ERR_ARGUMENT for a bad alpha).
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_balanced_cross_entropy_f32(
    pred: *const f32,
    labels: *const i64,
    n: usize,
    c: usize,
    alpha: *const f32,
    opts: *const floss_options,
    out: *mut f32,
    grad: *mut f32,
    hess: *mut f32,
) -> floss_status {
    guard("floss_balanced_cross_entropy_f32", || unsafe {
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
            |p, y, a, o, outs| core_ce::balanced_cross_entropy(p, y, c, a, o, outs),
        )
    })
}

/// `double` version of `floss_balanced_cross_entropy_f32`, same semantics.
///
/// # Safety
/// As `floss_balanced_cross_entropy_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_balanced_cross_entropy_f64(
    pred: *const f64,
    labels: *const i64,
    n: usize,
    c: usize,
    alpha: *const f64,
    opts: *const floss_options,
    out: *mut f64,
    grad: *mut f64,
    hess: *mut f64,
) -> floss_status {
    guard("floss_balanced_cross_entropy_f64", || unsafe {
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
            |p, y, a, o, outs| core_ce::balanced_cross_entropy(p, y, c, a, o, outs),
        )
    })
}

//! C exports: entropy.

use super::types::*;
use super::{guard, loss_outputs, out_len, read_options, Buffer, Reads};
use crate::error::Result;
use crate::float::Float;
use crate::validate;

unsafe fn entropy<T: Float>(
    pred: *const T,
    n: usize,
    c: usize,
    opts: *const floss_options,
    out: *mut T,
    grad: *mut T,
    hess: *mut T,
) -> Result<()> {
    let len = validate::matrix_len(n, c)?;
    let pred = Buffer::new(pred, len, "pred")?;
    let opts = unsafe { read_options(opts, Reads::Loss) }?;
    let mut outputs = unsafe {
        loss_outputs(
            out,
            grad,
            hess,
            out_len(opts.reduction, n),
            len,
            &[pred.span()],
        )
    }?;
    crate::entropy::entropy(unsafe { pred.as_slice() }, c, &opts, &mut outputs)
}

/// Shannon entropy of each row: H_i = -sum_j p_ij log_b p_ij, with 0 log 0 = 0.
///
/// - `pred`: n x c row-major; probabilities in [0, 1] (rows used as given,
///   not renormalised) or, with `FLOSS_INPUT_LOGITS`, logits (p = softmax of
///   the row, computed in log space; a -Inf logit is a class of probability 0).
/// - `opts` (NULL = defaults): reads `input`, `reduction`, `log_base`,
///   `hessian`, `hessian_floor`; not `label_smoothing` nor `ignore_index`
///   (not validated).
///   MEAN and WEIGHTED_MEAN divide by n (0 when n == 0).
/// - `out`: n values for `FLOSS_REDUCTION_NONE`, else 1.
/// - `grad`, `hess` (NULL = not computed; else n x c): dH/dpred and the
///   diagonal of d2H/dpred2 of what `out` holds. With probabilities they are
///   -(log p + 1) and -1/p (divided by ln b): +Inf and -Inf at p = 0
///   (-0.0 is 0: the same results as +0.0).
///   `FLOSS_HESSIAN_FISHER` (H = sum_j p_j (-ln p_j) with the weights p_j
///   held fixed): p_k (1 - p_k) from logits, 1 / p_k from probabilities
///   (0 at p_k = 0).
///
/// `pred` may be NULL when n == 0. Returns FLOSS_OK, FLOSS_ERR_NULL_POINTER,
/// FLOSS_ERR_SHAPE (c == 0, n * c overflows), FLOSS_ERR_ARGUMENT (options),
/// FLOSS_ERR_PROBABILITY (a probability outside [0, 1]),
/// FLOSS_ERR_NON_FINITE (NaN, +Inf, -Inf probability, or a row of -Inf
/// logits), FLOSS_ERR_OVERLAP, FLOSS_ERR_ALIGNMENT or FLOSS_ERR_PANIC.
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_entropy_f32(
    pred: *const f32,
    n: usize,
    c: usize,
    opts: *const floss_options,
    out: *mut f32,
    grad: *mut f32,
    hess: *mut f32,
) -> floss_status {
    guard("floss_entropy_f32", || unsafe {
        entropy(pred, n, c, opts, out, grad, hess)
    })
}

/// `double` version of `floss_entropy_f32`, same semantics.
///
/// # Safety
/// As `floss_entropy_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_entropy_f64(
    pred: *const f64,
    n: usize,
    c: usize,
    opts: *const floss_options,
    out: *mut f64,
    grad: *mut f64,
    hess: *mut f64,
) -> floss_status {
    guard("floss_entropy_f64", || unsafe {
        entropy(pred, n, c, opts, out, grad, hess)
    })
}

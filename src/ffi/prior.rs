//! C exports: prior init scores for gradient boosting.

use super::types::*;
use super::{guard, Buffer};
use crate::error::Result;
use crate::float::Float;
use crate::prior;

unsafe fn log_odds<T: Float>(
    target: *const T,
    n: usize,
    weight: *const T,
    out: *mut T,
) -> Result<()> {
    let target = Buffer::new(target, n, "target")?;
    let weight = Buffer::optional(weight, n, "weight")?;
    let out = Buffer::new(out, 1, "out")?;
    out.span().disjoint_from(&target.span())?;
    if let Some(w) = &weight {
        out.span().disjoint_from(&w.span())?;
    }
    // SAFETY: checked above; `out` is disjoint from the inputs.
    let (target, weight, out) = unsafe {
        (
            target.as_slice(),
            weight.map(|w| w.as_slice()),
            out.as_mut_slice(),
        )
    };
    out[0] = prior::prior_log_odds(target, weight)?;
    Ok(())
}

unsafe fn log_probs<T: Float>(
    labels: *const i64,
    n: usize,
    c: usize,
    weight: *const T,
    ignore_index: i64,
    out: *mut T,
) -> Result<()> {
    let labels = Buffer::new(labels, n, "labels")?;
    let weight = Buffer::optional(weight, n, "weight")?;
    let out = Buffer::new(out, c, "out")?;
    out.span().disjoint_from(&labels.span())?;
    if let Some(w) = &weight {
        out.span().disjoint_from(&w.span())?;
    }
    let ignore = (ignore_index != FLOSS_NO_IGNORE).then_some(ignore_index);
    // SAFETY: checked above; `out` is disjoint from the inputs.
    let (labels, weight, out) = unsafe {
        (
            labels.as_slice(),
            weight.map(|w| w.as_slice()),
            out.as_mut_slice(),
        )
    };
    prior::prior_log_probs(labels, c, weight, ignore, out)
}

/// The prior init score of a binary (sigmoid) model, for gradient boosting
/// (LightGBM `init_score`, XGBoost `base_margin`): the log-odds of the
/// (weighted) mean target, `*out` = ln(S_1 / S_0) with S_1 = sum w_i t_i
/// and S_0 = sum w_i (1 - t_i).
///
/// A class sum below half a sample of the mean weight (e.g. no positive
/// at all) counts as that much, W / (2 n) with W = sum w_i, so the score is
/// finite: n targets all 0 give ln(0.5 / n).
///
/// - `target`: n targets in [0, 1] (soft targets allowed).
/// - `weight`: NULL (all 1) or n sample weights, finite and >= 0.
/// - `out`: 1 value.
///
/// `target` and `weight` may be NULL when n == 0 (which is refused: no
/// prior). Returns FLOSS_OK, FLOSS_ERR_NULL_POINTER, FLOSS_ERR_SHAPE,
/// FLOSS_ERR_ARGUMENT (a negative or non-finite weight, with its index; n
/// == 0 or every weight 0), FLOSS_ERR_PROBABILITY (a target outside [0, 1]),
/// FLOSS_ERR_NON_FINITE (NaN or an infinite target), FLOSS_ERR_OVERLAP,
/// FLOSS_ERR_ALIGNMENT or FLOSS_ERR_PANIC. Since 0.2.0.
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_prior_log_odds_f32(
    target: *const f32,
    n: usize,
    weight: *const f32,
    out: *mut f32,
) -> floss_status {
    guard("floss_prior_log_odds_f32", || unsafe {
        log_odds(target, n, weight, out)
    })
}

/// `double` version of `floss_prior_log_odds_f32`, same semantics.
///
/// # Safety
/// As `floss_prior_log_odds_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_prior_log_odds_f64(
    target: *const f64,
    n: usize,
    weight: *const f64,
    out: *mut f64,
) -> floss_status {
    guard("floss_prior_log_odds_f64", || unsafe {
        log_odds(target, n, weight, out)
    })
}

/// The prior init scores of a multi-class (softmax) model, for gradient
/// boosting: the log-priors out[k] = ln(W_k / W), W_k the (weighted) count
/// of class k among the labels other than `ignore_index`, W = sum_k W_k
/// (so sum_k exp(out[k]) = 1).
///
/// A class whose W_k is below half a sample of the mean weight (e.g. absent)
/// counts as that much, W / (2 N) with N the counted labels, and the W_k are
/// renormalised: every score is finite.
///
/// - `labels`: n labels in [0, c) or `ignore_index`.
/// - `weight`: NULL (all 1) or n sample weights, finite and >= 0.
/// - `ignore_index`: a label to skip, or `FLOSS_NO_IGNORE`.
/// - `out`: c values.
///
/// `labels` and `weight` may be NULL when n == 0 (which is refused: no
/// prior). Returns FLOSS_OK, FLOSS_ERR_NULL_POINTER, FLOSS_ERR_SHAPE (c ==
/// 0, n * c overflows), FLOSS_ERR_ARGUMENT (a negative or non-finite
/// weight, with its index; no counted label, or their weights all 0),
/// FLOSS_ERR_LABEL (with its index and value), FLOSS_ERR_OVERLAP,
/// FLOSS_ERR_ALIGNMENT or FLOSS_ERR_PANIC. Since 0.2.0.
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_prior_log_probs_f32(
    labels: *const i64,
    n: usize,
    c: usize,
    weight: *const f32,
    ignore_index: i64,
    out: *mut f32,
) -> floss_status {
    guard("floss_prior_log_probs_f32", || unsafe {
        log_probs(labels, n, c, weight, ignore_index, out)
    })
}

/// `double` version of `floss_prior_log_probs_f32`, same semantics.
///
/// # Safety
/// As `floss_prior_log_probs_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_prior_log_probs_f64(
    labels: *const i64,
    n: usize,
    c: usize,
    weight: *const f64,
    ignore_index: i64,
    out: *mut f64,
) -> floss_status {
    guard("floss_prior_log_probs_f64", || unsafe {
        log_probs(labels, n, c, weight, ignore_index, out)
    })
}

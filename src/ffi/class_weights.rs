//! C exports: class weights from label counts.

use super::types::*;
use super::{guard, Buffer};
use crate::class_weights::{class_weights as core_class_weights, WeightScheme};
use crate::error::{argument_error, Result};
use crate::float::Float;

/// `floss_class_weights` scheme: n / (c n_k) (scikit-learn 'balanced').
pub const FLOSS_WEIGHTS_INVERSE_FREQUENCY: u32 = 0;
/// `floss_class_weights` scheme: sqrt(n / (c n_k)).
pub const FLOSS_WEIGHTS_INVERSE_SQRT_FREQUENCY: u32 = 1;
/// `floss_class_weights` scheme: (1 - beta) / (1 - beta^n_k) (Cui et al. 2019).
pub const FLOSS_WEIGHTS_EFFECTIVE_NUMBER: u32 = 2;

unsafe fn class_weights<T: Float>(
    labels: *const i64,
    n: usize,
    c: usize,
    scheme: u32,
    beta: f64,
    ignore_index: i64,
    weights: *mut T,
) -> Result<()> {
    let labels = Buffer::new(labels, n, "labels")?;
    let out = Buffer::new(weights, c, "weights")?;
    out.span().disjoint_from(&labels.span())?;
    let scheme = match scheme {
        FLOSS_WEIGHTS_INVERSE_FREQUENCY => WeightScheme::InverseFrequency,
        FLOSS_WEIGHTS_INVERSE_SQRT_FREQUENCY => WeightScheme::InverseSqrtFrequency,
        FLOSS_WEIGHTS_EFFECTIVE_NUMBER => WeightScheme::EffectiveNumber { beta },
        other => {
            return Err(argument_error!(
                "scheme = {other} is not a FLOSS_WEIGHTS_* value (0 to 2)"
            ))
        }
    };
    let ignore = (ignore_index != FLOSS_NO_IGNORE).then_some(ignore_index);
    // SAFETY: checked above and disjoint.
    let (labels, out) = unsafe { (labels.as_slice(), out.as_mut_slice()) };
    core_class_weights(labels, c, scheme, ignore, out)
}

/// Per-class weights from the labels' class counts, the usual choices of
/// alpha for `floss_balanced_cross_entropy_f32` and `floss_focal_loss_f32`.
/// With n the number of labels other than `ignore_index` and n_k those of
/// class k:
///
/// - `FLOSS_WEIGHTS_INVERSE_FREQUENCY`: n / (c n_k) (scikit-learn
///   `compute_class_weight('balanced')`);
/// - `FLOSS_WEIGHTS_INVERSE_SQRT_FREQUENCY`: sqrt(n / (c n_k));
/// - `FLOSS_WEIGHTS_EFFECTIVE_NUMBER`: (1 - beta) / (1 - beta^n_k), scaled so
///   the present classes' weights sum to their number (Cui et al. 2019,
///   "Class-Balanced Loss Based on Effective Number of Samples").
///
/// A class without samples gets 0. `beta` is read only by
/// EFFECTIVE_NUMBER and must be in [0, 1). `ignore_index`: a label to skip,
/// or `FLOSS_NO_IGNORE`. `weights`: c outputs. `labels` may be NULL when
/// n == 0.
///
/// Returns FLOSS_OK, FLOSS_ERR_NULL_POINTER, FLOSS_ERR_SHAPE (c == 0),
/// FLOSS_ERR_ARGUMENT (unknown scheme, beta outside [0, 1)), FLOSS_ERR_LABEL
/// (a label outside [0, c), with its index), FLOSS_ERR_OVERLAP,
/// FLOSS_ERR_ALIGNMENT or FLOSS_ERR_PANIC.
///
/// # Safety
/// `labels` is NULL (n == 0) or valid for n elements; `weights` for c.
#[no_mangle]
pub unsafe extern "C" fn floss_class_weights_f32(
    labels: *const i64,
    n: usize,
    c: usize,
    scheme: u32,
    beta: f64,
    ignore_index: i64,
    weights: *mut f32,
) -> floss_status {
    guard("floss_class_weights_f32", || unsafe {
        class_weights(labels, n, c, scheme, beta, ignore_index, weights)
    })
}

/// `double` version of `floss_class_weights_f32`, same semantics.
///
/// # Safety
/// As `floss_class_weights_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_class_weights_f64(
    labels: *const i64,
    n: usize,
    c: usize,
    scheme: u32,
    beta: f64,
    ignore_index: i64,
    weights: *mut f64,
) -> floss_status {
    guard("floss_class_weights_f64", || unsafe {
        class_weights(labels, n, c, scheme, beta, ignore_index, weights)
    })
}

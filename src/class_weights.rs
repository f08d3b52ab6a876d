//! Class weights from label counts, the usual choices of alpha:
//!
//! - inverse frequency  w_k = n / (c n_k)  (scikit-learn 'balanced'),
//! - its square root,
//! - effective number   w_k = (1 - beta) / (1 - beta^n_k)  (Cui et al.
//!   2019), scaled so that the present classes' weights sum to their count.
//!
//! n counts the non-ignored labels, n_k those of class k; a class with no
//! sample gets weight 0.

use crate::error::{argument_error, Error, Result};
use crate::float::Float;
use crate::validate;

/// How weights are derived from class counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightScheme {
    InverseFrequency,
    InverseSqrtFrequency,
    /// beta in [0, 1).
    EffectiveNumber {
        beta: f64,
    },
}

/// Calls `f(i, y)` for each label `y = labels[i]` other than
/// `ignore_index`, in order; fails on the first outside [0, c).
pub(crate) fn for_each_label(
    labels: &[i64],
    c: usize,
    ignore_index: Option<i64>,
    mut f: impl FnMut(usize, usize),
) -> Result<()> {
    for (i, &y) in labels.iter().enumerate() {
        if ignore_index == Some(y) {
            continue;
        }
        if y < 0 || y as u64 >= c as u64 {
            return Err(Error::Label {
                arg: "labels",
                index: i,
                value: y,
                classes: c,
            });
        }
        f(i, y as usize);
    }
    Ok(())
}

/// Fills `weights` (length c) from `labels` (each in [0, c) or `ignore_index`).
pub fn class_weights<T: Float>(
    labels: &[i64],
    c: usize,
    scheme: WeightScheme,
    ignore_index: Option<i64>,
    weights: &mut [T],
) -> Result<()> {
    validate::matrix_len(labels.len(), c)?;
    validate::len("weights", weights, c)?;
    if let WeightScheme::EffectiveNumber { beta } = scheme {
        if !(0.0..1.0).contains(&beta) {
            return Err(argument_error!("beta = {beta} is outside [0, 1)"));
        }
    }
    let mut counts = crate::engine::try_filled(c, 0usize, "class counts")?;
    for_each_label(labels, c, ignore_index, |_, y| counts[y] += 1)?;
    let counted: usize = counts.iter().sum();
    let present = counts.iter().filter(|&&k| k > 0).count();
    let raw = |k: usize| -> f64 {
        let frequency_weight = counted as f64 / (c as f64 * k as f64);
        match scheme {
            WeightScheme::InverseFrequency => frequency_weight,
            WeightScheme::InverseSqrtFrequency => frequency_weight.sqrt(),
            // 1 - beta^k as -expm1(k ln beta), exact for beta near 1.
            WeightScheme::EffectiveNumber { beta: 0.0 } => 1.0,
            WeightScheme::EffectiveNumber { beta } => {
                (1.0 - beta) / -(k as f64 * beta.ln()).exp_m1()
            }
        }
    };
    let mut raw_weights = crate::engine::try_filled(c, 0.0f64, "class weights")?;
    for (r, &k) in raw_weights.iter_mut().zip(&counts) {
        *r = if k > 0 { raw(k) } else { 0.0 };
    }
    let normaliser = match scheme {
        WeightScheme::EffectiveNumber { .. } if present > 0 => {
            present as f64 / raw_weights.iter().sum::<f64>()
        }
        _ => 1.0,
    };
    for (w, r) in weights.iter_mut().zip(raw_weights) {
        *w = T::from_f64(r * normaliser);
    }
    Ok(())
}

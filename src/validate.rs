//! Checks of shapes, parameters and data shared by every function.

use crate::error::{argument_error, shape_error, Error, Result};
use crate::float::Float;
use crate::options::Options;

/// `n * c` for an `n` x `c` matrix with `c >= 1`, without overflow.
pub fn matrix_len(n: usize, c: usize) -> Result<usize> {
    if c == 0 {
        return Err(shape_error!(
            "c = 0: a distribution needs at least one class"
        ));
    }
    n.checked_mul(c)
        .ok_or_else(|| shape_error!("n * c = {n} * {c} overflows size_t"))
}

/// Number of rows of a row-major array of `len` entries and `c` columns.
pub(crate) fn rows(len: usize, c: usize) -> Result<usize> {
    matrix_len(0, c)?;
    if len.is_multiple_of(c) {
        Ok(len / c)
    } else {
        Err(shape_error!(
            "pred has {len} entries, not a multiple of c = {c}"
        ))
    }
}

/// Checks that a slice has the length its shape implies.
pub(crate) fn len<T>(arg: &'static str, data: &[T], expected: usize) -> Result<()> {
    if data.len() == expected {
        Ok(())
    } else {
        Err(shape_error!(
            "{arg} has {} entries, expected {expected}",
            data.len()
        ))
    }
}

/// A finite value (NaN and both infinities refused).
#[inline]
pub(crate) fn finite<T: Float>(arg: &'static str, index: usize, value: T) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite {
            arg,
            index,
            value: value.to_f64(),
            why: "NaN and infinities are refused",
        })
    }
}

/// A probability: finite and in [0, 1].
#[inline]
pub(crate) fn probability<T: Float>(arg: &'static str, index: usize, value: T) -> Result<()> {
    finite(arg, index, value)?;
    if value >= T::ZERO && value <= T::ONE {
        Ok(())
    } else {
        Err(Error::Probability {
            arg,
            index,
            value: value.to_f64(),
        })
    }
}

/// A logit: finite, or -Inf (a masked class).
#[inline]
pub(crate) fn logit<T: Float>(arg: &'static str, index: usize, value: T) -> Result<()> {
    if value.is_finite() || value == T::NEG_INFINITY {
        Ok(())
    } else {
        Err(Error::NonFinite {
            arg,
            index,
            value: value.to_f64(),
            why: "a logit must be finite or -Inf",
        })
    }
}

/// Every entry a probability in [0, 1].
pub(crate) fn probabilities<T: Float>(arg: &'static str, data: &[T]) -> Result<()> {
    data.iter()
        .enumerate()
        .try_for_each(|(i, &v)| probability(arg, i, v))
}

/// Per-class weights: `c` finite values >= 0.
pub(crate) fn class_weights<T: Float>(arg: &'static str, weights: &[T], c: usize) -> Result<()> {
    len(arg, weights, c)?;
    for (j, &w) in weights.iter().enumerate() {
        if !(w.is_finite() && w >= T::ZERO) {
            return Err(argument_error!("{arg}[{j}] = {w} must be finite and >= 0"));
        }
    }
    Ok(())
}

/// A scalar parameter that must be finite and >= 0 (gamma).
pub(crate) fn non_negative<T: Float>(arg: &'static str, value: T) -> Result<()> {
    if value.is_finite() && value >= T::ZERO {
        Ok(())
    } else {
        Err(argument_error!("{arg} = {value} must be finite and >= 0"))
    }
}

/// Labels in [0, c) or the ignore index. Returns how many are counted.
pub(crate) fn labels(labels: &[i64], c: usize, opts: &Options) -> Result<usize> {
    let mut counted = 0;
    for (i, &y) in labels.iter().enumerate() {
        if opts.ignores(y) {
            continue;
        }
        if y < 0 || (y as u64) >= c as u64 {
            return Err(Error::Label {
                arg: "labels",
                index: i,
                value: y,
                classes: c,
            });
        }
        counted += 1;
    }
    Ok(counted)
}

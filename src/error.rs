//! The core's error type. Each variant maps to one C status code.

/// Why a computation was refused. The message names the argument and, for
/// data errors, the first offending index and value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A required pointer is NULL (raised by the C layer only).
    #[error("{arg} is NULL")]
    NullPointer { arg: &'static str },
    /// A size is invalid.
    #[error("{0}")]
    Shape(String),
    /// A parameter or option field is outside its domain.
    #[error("{0}")]
    Argument(String),
    /// A label outside [0, c) that is not the ignore index.
    #[error("{arg}[{index}] = {value} is outside [0, {classes})")]
    Label {
        arg: &'static str,
        index: usize,
        value: i64,
        classes: usize,
    },
    /// A probability or target outside [0, 1].
    #[error("{arg}[{index}] = {value} is outside [0, 1]")]
    Probability {
        arg: &'static str,
        index: usize,
        value: f64,
    },
    /// A density value below 0 (reported as `FLOSS_ERR_PROBABILITY`).
    #[error("{arg}[{index}] = {value} is negative: a density is >= 0")]
    NegativeDensity {
        arg: &'static str,
        index: usize,
        value: f64,
    },
    /// NaN or +Inf (or -Inf where it is not allowed) in an input.
    #[error("{arg}[{index}] = {value} is not allowed ({why})")]
    NonFinite {
        arg: &'static str,
        index: usize,
        value: f64,
        why: &'static str,
    },
    /// An output buffer overlaps an input or another output (C layer only).
    #[error("{output} overlaps {other}")]
    Overlap {
        output: &'static str,
        other: &'static str,
    },
    /// A pointer not aligned for its element type (C layer only).
    #[error("{arg} = {address:#x} is not aligned to {align} bytes")]
    Alignment {
        arg: &'static str,
        address: usize,
        align: usize,
    },
    /// Working memory could not be allocated.
    #[error("could not allocate {bytes} bytes of working memory ({what})")]
    Memory { bytes: usize, what: &'static str },
    /// A panic caught at the C boundary: a bug.
    #[error("internal error (please report): {0}")]
    Panic(String),
}

/// Result of every fallible core function.
pub type Result<T> = core::result::Result<T, Error>;

/// Shorthand for an [`Error::Argument`] built with `format!`.
macro_rules! argument_error {
    ($($fmt:tt)*) => { $crate::error::Error::Argument(format!($($fmt)*)) };
}
/// Shorthand for an [`Error::Shape`] built with `format!`.
macro_rules! shape_error {
    ($($fmt:tt)*) => { $crate::error::Error::Shape(format!($($fmt)*)) };
}
pub(crate) use argument_error;
pub(crate) use shape_error;

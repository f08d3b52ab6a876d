//! The C boundary: the only module with `extern "C"` and `unsafe`.
//!
//! Every exported function follows the same steps: catch panics
//! ([`guard`]), check each pointer ([`Buffer`]: NULL, alignment, byte size,
//! overlap of outputs), read the options ([`read_options`]), build slices,
//! call the safe core, and turn its error into a status plus the
//! thread-local message read by `floss_last_error`.

#![allow(unsafe_code)]
// C signatures are as long as the contract says.
#![allow(clippy::too_many_arguments)]

pub mod types;

pub mod binary;
pub mod class_weights;
pub mod cross_entropy;
pub mod differential_entropy;
pub mod entropy;
pub mod focal;
pub mod utility;

use core::cell::RefCell;
use core::mem::{align_of, size_of};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{argument_error, Error, Result};
use crate::options::{HessianMode, Input, Options, Reduction};
use crate::reduce::Outputs;
use types::*;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The status code of a core error.
pub(crate) fn status_of(error: &Error) -> floss_status {
    match error {
        Error::NullPointer { .. } => FLOSS_ERR_NULL_POINTER,
        Error::Shape(_) => FLOSS_ERR_SHAPE,
        Error::Argument(_) => FLOSS_ERR_ARGUMENT,
        Error::Label { .. } => FLOSS_ERR_LABEL,
        Error::Probability { .. } | Error::NegativeDensity { .. } => FLOSS_ERR_PROBABILITY,
        Error::NonFinite { .. } => FLOSS_ERR_NON_FINITE,
        Error::Overlap { .. } => FLOSS_ERR_OVERLAP,
        Error::Alignment { .. } => FLOSS_ERR_ALIGNMENT,
        Error::Memory { .. } => FLOSS_ERR_MEMORY,
        Error::Panic(_) => FLOSS_ERR_PANIC,
    }
}

/// Runs the body of an exported function: a panic becomes
/// `FLOSS_ERR_PANIC`, an error its status; both set the thread's message.
pub(crate) fn guard(function: &str, body: impl FnOnce() -> Result<()>) -> floss_status {
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return FLOSS_OK,
        Ok(Err(error)) => error,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            Error::Panic(what)
        }
    };
    let status = status_of(&error);
    LAST_ERROR.with(|m| *m.borrow_mut() = format!("{function}: {error}"));
    status
}

/// Copies the calling thread's last message into `buf` (snprintf semantics).
pub(crate) fn copy_last_error(buf: &mut [u8]) -> usize {
    LAST_ERROR.with(|m| {
        let message = m.borrow();
        let bytes = message.as_bytes();
        if let Some(room) = buf.len().checked_sub(1) {
            let k = bytes.len().min(room);
            buf[..k].copy_from_slice(&bytes[..k]);
            buf[k] = 0;
        }
        bytes.len()
    })
}

/// A caller's array, checked: non-NULL and aligned unless empty, at most
/// `isize::MAX` bytes. Slices are made from it only after the overlap check.
pub(crate) struct Buffer<T> {
    ptr: *mut T,
    len: usize,
    name: &'static str,
}

impl<T> Clone for Buffer<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Buffer<T> {}

impl<T> Buffer<T> {
    /// A required array of `len` elements.
    pub(crate) fn new(ptr: *const T, len: usize, name: &'static str) -> Result<Self> {
        if ptr.is_null() && len > 0 {
            return Err(Error::NullPointer { arg: name });
        }
        Self::checked(ptr as *mut T, len, name)
    }

    /// An optional array: `None` when `ptr` is NULL.
    pub(crate) fn optional(ptr: *const T, len: usize, name: &'static str) -> Result<Option<Self>> {
        if ptr.is_null() {
            Ok(None)
        } else {
            Self::checked(ptr as *mut T, len, name).map(Some)
        }
    }

    fn checked(ptr: *mut T, len: usize, name: &'static str) -> Result<Self> {
        let address = ptr as usize;
        // An empty array is never dereferenced: any pointer will do.
        if len > 0 && !address.is_multiple_of(align_of::<T>()) {
            return Err(Error::Alignment {
                arg: name,
                address,
                align: align_of::<T>(),
            });
        }
        let bytes = len
            .checked_mul(size_of::<T>())
            .filter(|&b| b <= isize::MAX as usize);
        match bytes {
            Some(b) if ptr.is_null() || address.checked_add(b).is_some() => {
                Ok(Buffer { ptr, len, name })
            }
            _ => Err(crate::error::shape_error!(
                "{name} would hold {len} elements of {} bytes: more than isize::MAX bytes",
                size_of::<T>()
            )),
        }
    }

    /// The bytes this array covers, for overlap checks.
    pub(crate) fn span(&self) -> Span {
        let start = self.ptr as usize;
        Span {
            start,
            end: start + self.len * size_of::<T>(),
            name: self.name,
        }
    }

    /// # Safety
    /// `ptr` must point to `len` readable elements valid for `'a`, not
    /// written through any other pointer during `'a`.
    pub(crate) unsafe fn as_slice<'a>(&self) -> &'a [T] {
        if self.len == 0 {
            &[]
        } else {
            // SAFETY: non-NULL, aligned, size-checked; validity is the caller's contract.
            unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
        }
    }

    /// # Safety
    /// As [`Buffer::as_slice`], writable, and disjoint from every other
    /// slice in use (checked with [`Span::disjoint_from`]).
    pub(crate) unsafe fn as_mut_slice<'a>(&self) -> &'a mut [T] {
        if self.len == 0 {
            &mut []
        } else {
            // SAFETY: as above; disjointness was checked by the caller.
            unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
        }
    }
}

/// The byte range of a checked array, whatever its element type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    start: usize,
    end: usize,
    name: &'static str,
}

impl Span {
    /// Fails if this output span shares a byte with `other`.
    pub(crate) fn disjoint_from(&self, other: &Span) -> Result<()> {
        let both_nonempty = self.start < self.end && other.start < other.end;
        if both_nonempty && self.start < other.end && other.start < self.end {
            Err(Error::Overlap {
                output: self.name,
                other: other.name,
            })
        } else {
            Ok(())
        }
    }
}

/// Checks `out` (required, `out_len`), `grad` and `hess` (optional,
/// `pred_len` each) and their overlaps with `inputs` and each other, then
/// makes the output slices.
///
/// # Safety
/// The pointers must satisfy the C contract of the calling function.
pub(crate) unsafe fn loss_outputs<'a, T>(
    out: *mut T,
    grad: *mut T,
    hess: *mut T,
    out_len: usize,
    pred_len: usize,
    inputs: &[Span],
) -> Result<Outputs<'a, T>> {
    let out = Buffer::new(out, out_len, "out")?;
    let grad = Buffer::optional(grad, pred_len, "grad")?;
    let hess = Buffer::optional(hess, pred_len, "hess")?;
    let spans: Vec<Span> = [Some(out), grad, hess]
        .iter()
        .flatten()
        .map(Buffer::span)
        .collect();
    for (k, output) in spans.iter().enumerate() {
        for other in inputs.iter().chain(&spans[k + 1..]) {
            output.disjoint_from(other)?;
        }
    }
    // SAFETY: each region was checked above and is disjoint from the others.
    unsafe {
        Ok(Outputs {
            out: out.as_mut_slice(),
            grad: grad.map(|g| g.as_mut_slice()),
            hess: hess.map(|h| h.as_mut_slice()),
        })
    }
}

/// The shared body of the functions on labelled rows (sparse and balanced
/// cross-entropy, focal loss): checks `pred` (n x c), `labels` (n), the
/// optional per-class `weights` (c), the options and the outputs, then calls
/// `core` on slices.
///
/// # Safety
/// The pointers must satisfy the C contract of the calling function.
pub(crate) unsafe fn labelled_loss<T: crate::float::Float>(
    pred: *const T,
    labels: *const i64,
    n: usize,
    c: usize,
    weights: (*const T, &'static str),
    opts: *const floss_options,
    out: *mut T,
    grad: *mut T,
    hess: *mut T,
    core: impl FnOnce(&[T], &[i64], Option<&[T]>, &Options, &mut Outputs<T>) -> Result<()>,
) -> Result<()> {
    let len = crate::validate::matrix_len(n, c)?;
    let pred = Buffer::new(pred, len, "pred")?;
    let labels = Buffer::new(labels, n, "labels")?;
    let weights = Buffer::optional(weights.0, c, weights.1)?;
    let opts = unsafe { read_options(opts, Reads::Targets) }?;
    let mut inputs = vec![pred.span(), labels.span()];
    inputs.extend(weights.map(|w| w.span()));
    let mut outputs =
        unsafe { loss_outputs(out, grad, hess, out_len(opts.reduction, n), len, &inputs) }?;
    // SAFETY: checked above; inputs are only read.
    let (pred, labels, weights) = unsafe {
        (
            pred.as_slice(),
            labels.as_slice(),
            weights.map(|w| w.as_slice()),
        )
    };
    core(pred, labels, weights, &opts, &mut outputs)
}

/// The shared body of the functions on dense target rows (cross-entropy,
/// KL divergence; the binary losses with c = 1): checks `pred` and `target`
/// (n x c each), the options and the outputs, then calls
/// `core(pred, target, c, options, outputs)` on slices.
///
/// # Safety
/// The pointers must satisfy the C contract of the calling function.
pub(crate) unsafe fn dense_loss<T: crate::float::Float>(
    pred: *const T,
    target: *const T,
    n: usize,
    c: usize,
    opts: *const floss_options,
    out: *mut T,
    grad: *mut T,
    hess: *mut T,
    core: impl FnOnce(&[T], &[T], usize, &Options, &mut Outputs<T>) -> Result<()>,
) -> Result<()> {
    let len = crate::validate::matrix_len(n, c)?;
    let pred = Buffer::new(pred, len, "pred")?;
    let target = Buffer::new(target, len, "target")?;
    let opts = unsafe { read_options(opts, Reads::Targets) }?;
    let inputs = [pred.span(), target.span()];
    let mut outputs =
        unsafe { loss_outputs(out, grad, hess, out_len(opts.reduction, n), len, &inputs) }?;
    // SAFETY: checked above; inputs are only read.
    let (pred, target) = unsafe { (pred.as_slice(), target.as_slice()) };
    core(pred, target, c, &opts, &mut outputs)
}

/// The size of `floss_options` as stored in its `size` field.
pub(crate) const OPTIONS_SIZE: u32 = size_of::<floss_options>() as u32;

/// The defaults `floss_options_init` writes.
pub(crate) fn default_options() -> floss_options {
    floss_options {
        size: OPTIONS_SIZE,
        input: FLOSS_INPUT_PROBS,
        reduction: FLOSS_REDUCTION_MEAN,
        log_base: 0.0,
        ignore_index: FLOSS_NO_IGNORE,
        label_smoothing: 0.0,
        hessian: FLOSS_HESSIAN_EXACT,
        hessian_floor: 1e-6,
        positions: 0,
    }
}

/// The `floss_options` fields a function reads besides `size` and
/// `log_base` (read by every function). Only the fields read are validated:
/// the others take their defaults, whatever the caller put there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reads {
    /// Nothing more (differential entropy).
    LogBase,
    /// `input`, `reduction`, `hessian` and `hessian_floor` (entropy).
    Loss,
    /// Those and `label_smoothing` (every other loss; `ignore_index` and
    /// `positions` accept any value).
    Targets,
}

/// Reads and validates the fields of `opts` (NULL = defaults) that a
/// function `reads`.
///
/// # Safety
/// `opts` is NULL or points to a readable `floss_options`.
pub(crate) unsafe fn read_options(opts: *const floss_options, reads: Reads) -> Result<Options> {
    let mut raw = if opts.is_null() {
        default_options()
    } else {
        Buffer::new(opts, 1, "opts")?;
        // SAFETY: non-NULL and aligned (checked); readability is the caller's contract.
        let size = unsafe { core::ptr::addr_of!((*opts).size).read() };
        if size == OPTIONS_SIZE {
            // SAFETY: as above, and the size says the whole struct is there.
            unsafe { opts.read() }
        } else if size == FLOSS_OPTIONS_SIZE_V0_1 {
            // A program compiled with the 0.1 header: read its five fields
            // (the first 40 bytes) and default the rest.
            let mut raw = default_options();
            // SAFETY: the caller's struct has the 0.1 layout, a prefix of today's.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    opts.cast::<u8>(),
                    core::ptr::addr_of_mut!(raw).cast::<u8>(),
                    FLOSS_OPTIONS_SIZE_V0_1 as usize,
                );
            }
            raw.size = OPTIONS_SIZE;
            raw
        } else {
            return Err(argument_error!(
                "opts->size = {size}, expected sizeof(floss_options) = {OPTIONS_SIZE} (or {FLOSS_OPTIONS_SIZE_V0_1} for the 0.1 layout): call floss_options_init"
            ));
        }
    };
    let defaults = default_options();
    if reads == Reads::LogBase {
        raw.input = defaults.input;
        raw.reduction = defaults.reduction;
        raw.hessian = defaults.hessian;
        raw.hessian_floor = defaults.hessian_floor;
    }
    if reads != Reads::Targets {
        raw.label_smoothing = defaults.label_smoothing;
    }
    let input = match raw.input {
        FLOSS_INPUT_PROBS => Input::Probs,
        FLOSS_INPUT_LOGITS => Input::Logits,
        other => {
            return Err(argument_error!(
                "opts->input = {other} is not FLOSS_INPUT_PROBS (0) or FLOSS_INPUT_LOGITS (1)"
            ))
        }
    };
    let reduction = match raw.reduction {
        FLOSS_REDUCTION_NONE => Reduction::None,
        FLOSS_REDUCTION_SUM => Reduction::Sum,
        FLOSS_REDUCTION_MEAN => Reduction::Mean,
        FLOSS_REDUCTION_WEIGHTED_MEAN => Reduction::WeightedMean,
        other => {
            return Err(argument_error!(
                "opts->reduction = {other} is not a FLOSS_REDUCTION_* value (0 to 3)"
            ))
        }
    };
    let options = Options {
        input,
        reduction,
        log_base: raw.log_base,
        ignore_index: (raw.ignore_index != FLOSS_NO_IGNORE).then_some(raw.ignore_index),
        label_smoothing: raw.label_smoothing,
        threads: utility::floss_get_num_threads(),
        hessian: match raw.hessian {
            FLOSS_HESSIAN_EXACT => HessianMode::Exact,
            FLOSS_HESSIAN_FLOOR => HessianMode::Floor(raw.hessian_floor),
            FLOSS_HESSIAN_FISHER => HessianMode::Fisher,
            other => {
                return Err(argument_error!(
                    "opts->hessian = {other} is not a FLOSS_HESSIAN_* value (0 to 2)"
                ))
            }
        },
        positions: raw.positions,
    };
    options.validate()?;
    Ok(options)
}

/// Number of `out` entries for `samples` samples under `reduction`.
pub(crate) fn out_len(reduction: Reduction, samples: usize) -> usize {
    if reduction == Reduction::None {
        samples
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_panic_status_with_its_message() {
        let status = guard("floss_test", || panic!("deliberate test panic"));
        assert_eq!(status, FLOSS_ERR_PANIC);
        let mut buf = [0u8; 128];
        let len = copy_last_error(&mut buf);
        let text = core::str::from_utf8(&buf[..len]).unwrap();
        assert!(text.contains("deliberate test panic"), "{text}");
        assert!(text.starts_with("floss_test: internal error"), "{text}");
    }

    #[test]
    fn overlapping_regions_are_refused_and_touching_ones_accepted() {
        let data = [0.0f64; 8];
        let whole = Buffer::new(data.as_ptr(), 8, "pred").unwrap().span();
        let tail = Buffer::new(data[4..].as_ptr(), 4, "out").unwrap().span();
        let head = Buffer::new(data.as_ptr(), 4, "grad").unwrap().span();
        assert!(matches!(
            tail.disjoint_from(&whole),
            Err(Error::Overlap { .. })
        ));
        assert!(head.disjoint_from(&tail).is_ok());
    }
}

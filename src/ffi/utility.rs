//! C exports: options, status names, error messages, version, threads,
//! instruction-set level.

use core::ffi::c_char;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use super::types::*;
use super::{copy_last_error, default_options, guard, OPTIONS_SIZE};
use crate::error::{argument_error, Error};

/// Sets every field of `*opts` to its default: `size = sizeof(floss_options)`,
/// `input = FLOSS_INPUT_PROBS`, `reduction = FLOSS_REDUCTION_MEAN`,
/// `log_base = 0` (natural log), `ignore_index = FLOSS_NO_IGNORE`,
/// `label_smoothing = 0`, `hessian = FLOSS_HESSIAN_EXACT`,
/// `hessian_floor = 1e-6`, `positions = 0`, writing exactly `size` bytes.
/// `size` must be the `sizeof(floss_options)` of a released header: 64
/// (0.2) or `FLOSS_OPTIONS_SIZE_V0_1` = 40 (0.1, the first five fields).
/// The header maps `floss_options_init(opts)` to
/// `floss_options_init_sized(opts, sizeof(floss_options))`, so that a
/// program never gets more bytes written than its struct holds. Since 0.2.0.
///
/// Returns `FLOSS_ERR_NULL_POINTER` for a NULL `opts`, `FLOSS_ERR_ARGUMENT`
/// for any other `size` (nothing is written).
///
/// # Safety
/// `opts` is NULL or points to `size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn floss_options_init_sized(
    opts: *mut floss_options,
    size: usize,
) -> floss_status {
    guard("floss_options_init_sized", || {
        if opts.is_null() {
            return Err(Error::NullPointer { arg: "opts" });
        }
        if size != OPTIONS_SIZE as usize && size != FLOSS_OPTIONS_SIZE_V0_1 as usize {
            return Err(argument_error!(
                "size = {size} is not the size of a released floss_options layout ({OPTIONS_SIZE} or {FLOSS_OPTIONS_SIZE_V0_1})"
            ));
        }
        // SAFETY: opts is non-NULL and the caller provides size writable bytes.
        unsafe { write_defaults(opts, size) };
        Ok(())
    })
}

/// The 0.1 entry point, kept for programs compiled against the 0.1 header:
/// writes the 0.1 layout's 40 bytes (`size = FLOSS_OPTIONS_SIZE_V0_1`; the
/// fields added since then take their defaults in every call). Programs
/// compiled with this header call `floss_options_init_sized` through the
/// `floss_options_init` macro instead. Does nothing when `opts` is NULL.
///
/// # Safety
/// `opts` is NULL or points to 40 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn floss_options_init(opts: *mut floss_options) {
    if !opts.is_null() {
        // SAFETY: non-NULL; a 0.1 caller provides its 40-byte struct.
        unsafe { write_defaults(opts, FLOSS_OPTIONS_SIZE_V0_1 as usize) };
    }
}

/// Writes the first `size` bytes of the defaults, with `size` in the size field.
///
/// # Safety
/// `opts` points to `size` writable bytes; `size` is 40 or the full size.
unsafe fn write_defaults(opts: *mut floss_options, size: usize) {
    let d = default_options();
    // Field by field into zeroed memory, so that the padding bytes copied
    // to the caller are zeros, not uninitialised (valgrind reports a
    // memcmp of the struct otherwise).
    let mut zeroed = core::mem::MaybeUninit::<floss_options>::zeroed();
    let p = zeroed.as_mut_ptr();
    // SAFETY: p points to a local floss_options; writing its fields through
    // raw pointers leaves the zeroed padding alone. Both regions of the copy
    // hold at least `size` bytes (size <= sizeof) and cannot overlap.
    unsafe {
        core::ptr::addr_of_mut!((*p).size).write(size as u32);
        core::ptr::addr_of_mut!((*p).input).write(d.input);
        core::ptr::addr_of_mut!((*p).reduction).write(d.reduction);
        core::ptr::addr_of_mut!((*p).log_base).write(d.log_base);
        core::ptr::addr_of_mut!((*p).ignore_index).write(d.ignore_index);
        core::ptr::addr_of_mut!((*p).label_smoothing).write(d.label_smoothing);
        core::ptr::addr_of_mut!((*p).hessian).write(d.hessian);
        core::ptr::addr_of_mut!((*p).hessian_floor).write(d.hessian_floor);
        core::ptr::addr_of_mut!((*p).positions).write(d.positions);
        core::ptr::copy_nonoverlapping(p.cast::<u8>(), opts.cast::<u8>(), size);
    }
}

/// The static, NUL-terminated name and meaning of a status, e.g.
/// "FLOSS_ERR_SHAPE: a size is invalid". Never NULL; an unknown value gives
/// "unknown status".
#[no_mangle]
pub extern "C" fn floss_status_str(status: floss_status) -> *const c_char {
    let text: &'static core::ffi::CStr = match status {
        FLOSS_OK => c"FLOSS_OK: success",
        FLOSS_ERR_NULL_POINTER => c"FLOSS_ERR_NULL_POINTER: a required pointer is NULL",
        FLOSS_ERR_SHAPE => c"FLOSS_ERR_SHAPE: a size is invalid",
        FLOSS_ERR_ARGUMENT => c"FLOSS_ERR_ARGUMENT: a parameter or option is outside its domain",
        FLOSS_ERR_LABEL => c"FLOSS_ERR_LABEL: a label is outside [0, c) and not the ignore index",
        FLOSS_ERR_PROBABILITY => {
            c"FLOSS_ERR_PROBABILITY: a probability or target is outside [0, 1]"
        }
        FLOSS_ERR_NON_FINITE => c"FLOSS_ERR_NON_FINITE: NaN or +Inf in an input",
        FLOSS_ERR_OVERLAP => c"FLOSS_ERR_OVERLAP: an output overlaps an input or another output",
        FLOSS_ERR_ALIGNMENT => {
            c"FLOSS_ERR_ALIGNMENT: a pointer is not aligned for its element type"
        }
        FLOSS_ERR_PANIC => c"FLOSS_ERR_PANIC: internal error (a bug to report)",
        FLOSS_ERR_MEMORY => c"FLOSS_ERR_MEMORY: working memory could not be allocated",
        _ => c"unknown status",
    };
    text.as_ptr()
}

/// Copies the calling thread's message about its most recent failed call,
/// e.g. "floss_sparse_cross_entropy_f64: labels[17] = 12 is outside [0, 10)",
/// into `buf`: at most `len` bytes including the terminating NUL. Returns the
/// full message length without the NUL (snprintf semantics: it was
/// truncated if the return value is len or more). `buf` may be NULL when `len` is 0. The
/// message is empty before the first failure; a successful call does not
/// change it.
///
/// # Safety
/// `buf` is NULL with `len == 0`, or points to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn floss_last_error(buf: *mut c_char, len: usize) -> usize {
    let buf: &mut [u8] = if buf.is_null() || len == 0 {
        &mut []
    } else {
        // SAFETY: the caller provides len writable bytes at buf.
        unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) }
    };
    copy_last_error(buf)
}

/// The library version as a static string "MAJOR.MINOR.PATCH"; compare with
/// `FLOSS_VERSION_MAJOR`, `FLOSS_VERSION_MINOR`, `FLOSS_VERSION_PATCH` of the
/// header the program was compiled with.
#[no_mangle]
pub extern "C" fn floss_version() -> *const c_char {
    const VERSION: &core::ffi::CStr = match core::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => panic!("version string"),
    };
    VERSION.as_ptr()
}

static THREADS: OnceLock<AtomicUsize> = OnceLock::new();

fn threads() -> &'static AtomicUsize {
    THREADS.get_or_init(|| {
        let from_env = std::env::var("FLOSS_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&k| k > 0);
        AtomicUsize::new(from_env.unwrap_or(1))
    })
}

/// Sets the number of threads computations may use (0 means 1), for every
/// thread of the process. The multi-class and binary functions split their
/// rows (elements) into at most this many contiguous segments, the first
/// computed on the calling thread and each other on a thread started for
/// the call. Each segment has work enough to pay for its thread (about
/// 250 us): 2^19 f32 values of a forward cross-entropy over rows of 96
/// classes or more, 2^18 with derivatives or for binary cross-entropy,
/// 2^17 for narrower rows, the channels-first layout and binary focal
/// loss; half as many in f64. A call with less than two segments' worth
/// never starts a thread. The differential-entropy functions run on the
/// calling thread. Results are bitwise identical for every thread count.
#[no_mangle]
pub extern "C" fn floss_set_num_threads(threads_wanted: usize) {
    threads().store(threads_wanted.max(1), Ordering::Relaxed);
}

/// The thread count set by `floss_set_num_threads`, initially the
/// `FLOSS_NUM_THREADS` environment variable if it is a positive integer, else 1.
#[no_mangle]
pub extern "C" fn floss_get_num_threads() -> usize {
    threads().load(Ordering::Relaxed)
}

/// The instruction-set level the computations use in this process, as a
/// static NUL-terminated string: "avx512" (x86-64 with AVX-512 F, BW, VL,
/// DQ), "avx2" (x86-64 with AVX2 and FMA) or "baseline" (SSE2 on x86-64,
/// NEON on aarch64). Never NULL.
///
/// The library contains code for every level and picks, once per process,
/// the best one the CPU supports, capped by the environment variable
/// `FLOSS_SIMD` (`avx512`, `avx2` or `baseline`; also `sse2`, `neon`,
/// `none`; case-insensitive), which is read at the first call that
/// computes (or at this call, if it comes first). A level the CPU lacks
/// gives the best supported level below it; an empty or unknown value is
/// ignored. AVX2 and AVX-512 give bitwise identical results.
#[no_mangle]
pub extern "C" fn floss_simd_level() -> *const c_char {
    crate::simd::level().c_name().as_ptr()
}

//! Software prefetch: asking for the cache lines of the rows a loop will
//! read next, where the hardware prefetcher falls behind.
//!
//! Its `unsafe` is the intrinsic's: a prefetch is a hint that never
//! faults and changes no value the program sees.
#![allow(unsafe_code)]

/// Bytes of a cache line.
const LINE: usize = 64;

/// Asks for every cache line of `data` to be brought into L1 (on x86-64;
/// nothing elsewhere). The result of no computation depends on it.
#[inline(always)]
pub(crate) fn read<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let base = data.as_ptr().cast::<i8>();
        for offset in (0..core::mem::size_of_val(data)).step_by(LINE) {
            // SAFETY: SSE is part of x86-64; the address is within `data`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

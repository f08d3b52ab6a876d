//! AVX2 intrinsics the compiler does not produce from loops: a narrow
//! tile's transposition from its rows to its class columns
//! ([`crate::simd::Isa::transpose_rows`]) in registers, for f32. Written
//! as loops, it was a fifth of a 16-class tile's time at AVX2.
//!
//! A tile is [`LANES`] rows of c values; column j of the tile holds class
//! j of every row, rows 0-7 in its first 8 lanes and 8-15 in the others.
//! Each block of 8 rows and 8 columns is transposed with unpacks and
//! shuffles (24 instructions), its rows loaded with masks where the block
//! is narrower than 8 columns: a row's entries past c, ignored rows and
//! rows past the tile's end are never touched.
//!
//! The only `unsafe` of these functions is the CPU's: every one must run
//! on a CPU with AVX2 (the callers are inside [`crate::simd`]'s AVX2
//! and AVX-512 dispatch); bounds are checked here.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::kernels::lanes::{Lanes, LANES};

/// `cols[j][l] = rows[l * c + j]` (c = `cols.len()`) for the rows l set in
/// `take`, 0 in the other lanes (their entries unread).
///
/// # Panics
/// If a row set in `take` is not in `rows`.
///
/// # Safety
/// The CPU has AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn columns_of_f32(rows: &[f32], take: u16, cols: &mut [Lanes<f32>]) {
    let c = cols.len();
    let last = (0..LANES).rev().find(|&l| take >> l & 1 == 1);
    assert!(last.is_none_or(|l| (l + 1) * c <= rows.len()));
    for (j0, block) in (0..c).step_by(8).zip(cols.chunks_mut(8)) {
        let width = block.len();
        // Lanes below `width` set.
        let in_row = _mm256_cmpgt_epi32(
            _mm256_set1_epi32(width as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        for half in 0..2 {
            let mut v = [_mm256_setzero_ps(); 8];
            for (i, v) in v.iter_mut().enumerate() {
                let l = 8 * half + i;
                if take >> l & 1 == 1 {
                    // SAFETY: entries j0..j0 + width of row l, a row in
                    // `rows` (asserted); the masked load reads no others.
                    let at = unsafe { rows.as_ptr().add(l * c + j0) };
                    *v = if width == 8 {
                        unsafe { _mm256_loadu_ps(at) }
                    } else {
                        unsafe { _mm256_maskload_ps(at, in_row) }
                    };
                }
            }
            transpose_8x8(&mut v);
            for (k, col) in block.iter_mut().enumerate() {
                // SAFETY: a store of 8 values of one column's 16.
                unsafe { _mm256_storeu_ps(col.as_mut_ptr().add(8 * half), v[k]) };
            }
        }
    }
}

/// Transposes an 8 x 8 f32 matrix held as 8 rows.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose_8x8(v: &mut [__m256; 8]) {
    // Pairs of rows interleaved within 128-bit lanes: t[2k] = v[2k]0
    // v[2k+1]0 v[2k]1 v[2k+1]1 | ..4..; t[2k+1] from 2, 3 | 6, 7.
    let mut t = [_mm256_setzero_ps(); 8];
    for k in 0..4 {
        t[2 * k] = _mm256_unpacklo_ps(v[2 * k], v[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_ps(v[2 * k], v[2 * k + 1]);
    }
    // Fours of rows: u[4q + k] holds rows 4q..4q + 3 of columns k and
    // k + 4 (one per 128-bit lane).
    let mut u = [_mm256_setzero_ps(); 8];
    for q in 0..2 {
        for k in 0..2 {
            let (a, b) = (t[4 * q + k], t[4 * q + k + 2]);
            u[4 * q + 2 * k] = _mm256_shuffle_ps::<0x44>(a, b);
            u[4 * q + 2 * k + 1] = _mm256_shuffle_ps::<0xee>(a, b);
        }
    }
    // Column k from the low halves of u[k] and u[4 + k], column k + 4
    // from their high halves.
    for k in 0..4 {
        v[k] = _mm256_permute2f128_ps::<0x20>(u[k], u[4 + k]);
        v[k + 4] = _mm256_permute2f128_ps::<0x31>(u[k], u[4 + k]);
    }
}

//! AVX-512 intrinsics the compiler does not produce from loops: the
//! transposition of a narrow tile of rows into class columns
//! ([`crate::simd::Isa::transpose_rows`]) in registers.
//!
//! A tile is [`LANES`] rows of c values; column j of the tile holds class
//! j of every row. Written as loops, LLVM made it scatters (slow on AMD);
//! gathers from a copy of the rows still took a quarter of a 32-class
//! tile's time. Here each block of 16 columns (8 in f64) is loaded a row
//! at a time with masked loads (a row's entries past c, ignored rows and
//! rows past the tile's end are never read: 0) and transposed with
//! unpack and 128-bit-lane shuffles: 64 shuffles for 16 x 16 f32, 24 for
//! 8 x 8 f64.
//!
//! The only `unsafe` of these functions is the CPU's: every one must run
//! on a CPU with AVX-512 F (the callers are inside
//! [`crate::simd`]'s AVX-512 dispatch); bounds are checked here.
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
/// The CPU has AVX-512 F.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn transpose_f32(rows: &[f32], take: u16, cols: &mut [Lanes<f32>]) {
    let c = cols.len();
    let last = (0..LANES).rev().find(|&l| take >> l & 1 == 1);
    assert!(last.is_none_or(|l| (l + 1) * c <= rows.len()));
    for (j0, block) in (0..c).step_by(16).zip(cols.chunks_mut(16)) {
        let width = block.len();
        let in_row = if width == 16 {
            u16::MAX
        } else {
            (1 << width) - 1
        };
        let mut v = [_mm512_setzero_ps(); 16];
        for (l, v) in v.iter_mut().enumerate() {
            if take >> l & 1 == 1 {
                // SAFETY: entries j0..j0 + width of row l, a row in `rows`
                // (asserted); AVX-512 F: the caller's.
                *v = unsafe { _mm512_maskz_loadu_ps(in_row, rows.as_ptr().add(l * c + j0)) };
            }
        }
        let v = transpose_16x16(v);
        for (col, v) in block.iter_mut().zip(v) {
            // SAFETY: a store of the 16 values of one column.
            unsafe { _mm512_storeu_ps(col.as_mut_ptr(), v) };
        }
    }
}

/// [`transpose_f32`] for f64: each column is two vectors (rows 0-7, 8-15).
///
/// # Panics
/// If a row set in `take` is not in `rows`.
///
/// # Safety
/// The CPU has AVX-512 F.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn transpose_f64(rows: &[f64], take: u16, cols: &mut [Lanes<f64>]) {
    let c = cols.len();
    let last = (0..LANES).rev().find(|&l| take >> l & 1 == 1);
    assert!(last.is_none_or(|l| (l + 1) * c <= rows.len()));
    for (j0, block) in (0..c).step_by(8).zip(cols.chunks_mut(8)) {
        let width = block.len();
        let in_row = if width == 8 {
            u8::MAX
        } else {
            (1 << width) - 1
        };
        for half in 0..2 {
            let mut v = [_mm512_setzero_pd(); 8];
            for (i, v) in v.iter_mut().enumerate() {
                let l = 8 * half + i;
                if take >> l & 1 == 1 {
                    // SAFETY: as in transpose_f32.
                    *v = unsafe { _mm512_maskz_loadu_pd(in_row, rows.as_ptr().add(l * c + j0)) };
                }
            }
            let v = transpose_8x8(v);
            for (col, v) in block.iter_mut().zip(v) {
                // SAFETY: a store of 8 values of one column's 16.
                unsafe { _mm512_storeu_pd(col.as_mut_ptr().add(8 * half), v) };
            }
        }
    }
}

/// The transpose of a 16 x 16 f32 matrix held as 16 rows.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose_16x16(r: [__m512; 16]) -> [__m512; 16] {
    // Pairs of rows interleaved within 128-bit lanes: t[2k] = r[2k]0 r[2k+1]0
    // r[2k]1 r[2k+1]1 | ..4.. | ..8.. | ..12..; t[2k+1] the same from 2, 3.
    let t: [__m512; 16] = core::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_ps(a, b)
        } else {
            _mm512_unpackhi_ps(a, b)
        }
    });
    // Fours of rows: u[4q + k] holds rows 4q..4q + 3 of columns k, k + 4,
    // k + 8, k + 12 (one per 128-bit lane).
    let u: [__m512; 16] = core::array::from_fn(|i| {
        let (q, k) = (i / 4, i % 4);
        let (a, b) = (
            _mm512_castps_pd(t[4 * q + k / 2]),
            _mm512_castps_pd(t[4 * q + k / 2 + 2]),
        );
        _mm512_castpd_ps(if k % 2 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        })
    });
    // Eights of rows: w[k] (w[8 + k]) holds rows 0-7 (8-15) of columns k and
    // k + 8, w[4 + k] (w[12 + k]) of columns k + 4 and k + 12, k < 4.
    let w: [__m512; 16] = core::array::from_fn(|i| {
        let (h, odd, k) = (i / 8, (i / 4) % 2, i % 4);
        let (a, b) = (u[8 * h + k], u[8 * h + 4 + k]);
        if odd == 0 {
            _mm512_shuffle_f32x4::<0x88>(a, b)
        } else {
            _mm512_shuffle_f32x4::<0xdd>(a, b)
        }
    });
    // Columns: column k + 4s (s < 4) from w[k + 4 (s % 2)] and w[8 + ...].
    core::array::from_fn(|j| {
        let (k, s) = (j % 4, j / 4);
        let (a, b) = (w[k + 4 * (s % 2)], w[8 + k + 4 * (s % 2)]);
        if s / 2 == 0 {
            _mm512_shuffle_f32x4::<0x88>(a, b)
        } else {
            _mm512_shuffle_f32x4::<0xdd>(a, b)
        }
    })
}

/// The transpose of an 8 x 8 f64 matrix held as 8 rows.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose_8x8(r: [__m512d; 8]) -> [__m512d; 8] {
    // t[2k] = r[2k]0 r[2k+1]0 | ..2.. | ..4.. | ..6..; t[2k+1] from 1, 3, 5, 7.
    let t: [__m512d; 8] = core::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        }
    });
    // u[4h + k]: rows 4h..4h + 3 of columns (k = 0) 0, 4; (1) 2, 6; (2) 1, 5;
    // (3) 3, 7, two rows per 128-bit lane.
    let u: [__m512d; 8] = core::array::from_fn(|i| {
        let (h, k) = (i / 4, i % 4);
        let (a, b) = (t[4 * h + k / 2], t[4 * h + k / 2 + 2]);
        if k % 2 == 0 {
            _mm512_shuffle_f64x2::<0x88>(a, b)
        } else {
            _mm512_shuffle_f64x2::<0xdd>(a, b)
        }
    });
    // Column j from u[k] and u[4 + k], k the u holding j.
    core::array::from_fn(|j| {
        let k = [0, 2, 1, 3][j % 4];
        let (a, b) = (u[k], u[4 + k]);
        if j < 4 {
            _mm512_shuffle_f64x2::<0x88>(a, b)
        } else {
            _mm512_shuffle_f64x2::<0xdd>(a, b)
        }
    })
}

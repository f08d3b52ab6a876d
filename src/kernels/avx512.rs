//! AVX-512 intrinsics the compiler does not produce from loops: the
//! transpositions of a narrow tile between its rows and its class columns
//! ([`crate::simd::Isa::transpose_rows`], [`crate::simd::Isa::transpose_columns`])
//! in registers, and exp's last step, p 2^k, in one `vscalef`
//! ([`crate::simd::Isa::exp_lanes`]).
//!
//! A tile is [`LANES`] rows of c values; column j of the tile holds class
//! j of every row. Written as loops, LLVM made them scatters (slow on
//! AMD); gathers from a copy of the rows still took a quarter of a
//! 32-class tile's time. Here each block of 16 columns (8 in f64) is
//! transposed with unpack and 128-bit-lane shuffles (64 shuffles for
//! 16 x 16 f32, 24 for 8 x 8 f64), its rows loaded or stored with masks:
//! a row's entries past c, ignored rows and rows past the tile's end are
//! never touched.
//!
//! The only `unsafe` of these functions is the CPU's: every one must run
//! on a CPU with AVX-512 F (the callers are inside [`crate::simd`]'s
//! AVX-512 dispatch); bounds are checked here. Arrays of vectors are
//! indexed, never iterated by value (an array's `into_iter` copied it
//! through memory: +30% at 64 classes), and built by loops, not
//! `array::from_fn` (whose closures were left as calls).
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
pub(crate) unsafe fn columns_of_f32(rows: &[f32], take: u16, cols: &mut [Lanes<f32>]) {
    let c = cols.len();
    let last = (0..LANES).rev().find(|&l| take >> l & 1 == 1);
    assert!(last.is_none_or(|l| (l + 1) * c <= rows.len()));
    for (j0, block) in (0..c).step_by(16).zip(cols.chunks_mut(16)) {
        let in_row = row_mask(block.len());
        let mut v = [_mm512_setzero_ps(); 16];
        for (l, v) in v.iter_mut().enumerate() {
            if take >> l & 1 == 1 {
                // SAFETY: entries j0..j0 + block.len() of row l, a row in
                // `rows` (asserted).
                *v = unsafe { _mm512_maskz_loadu_ps(in_row, rows.as_ptr().add(l * c + j0)) };
            }
        }
        transpose_16x16(&mut v);
        for (k, col) in block.iter_mut().enumerate() {
            // SAFETY: a store of the 16 values of one column.
            unsafe { _mm512_storeu_ps(col.as_mut_ptr(), v[k]) };
        }
    }
}

/// [`columns_of_f32`] for f64: each column is two vectors (rows 0-7, 8-15).
///
/// # Panics
/// If a row set in `take` is not in `rows`.
///
/// # Safety
/// The CPU has AVX-512 F.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn columns_of_f64(rows: &[f64], take: u16, cols: &mut [Lanes<f64>]) {
    let c = cols.len();
    let last = (0..LANES).rev().find(|&l| take >> l & 1 == 1);
    assert!(last.is_none_or(|l| (l + 1) * c <= rows.len()));
    for (j0, block) in (0..c).step_by(8).zip(cols.chunks_mut(8)) {
        let in_row = row_mask(block.len()) as u8;
        for half in 0..2 {
            let mut v = [_mm512_setzero_pd(); 8];
            for (i, v) in v.iter_mut().enumerate() {
                let l = 8 * half + i;
                if take >> l & 1 == 1 {
                    // SAFETY: as in columns_of_f32.
                    *v = unsafe { _mm512_maskz_loadu_pd(in_row, rows.as_ptr().add(l * c + j0)) };
                }
            }
            transpose_8x8(&mut v);
            for (k, col) in block.iter_mut().enumerate() {
                // SAFETY: a store of 8 values of one column's 16.
                unsafe { _mm512_storeu_pd(col.as_mut_ptr().add(8 * half), v[k]) };
            }
        }
    }
}

/// The inverse of [`columns_of_f32`] for one block of columns: `rows[l *
/// c + j0 + k] = block[k][l]` (k < `block.len()` <= 16) for the rows l <
/// `rows.len() / c` (at most [`LANES`]).
///
/// Full blocks are stored with plain stores: masked ones are slow on AMD
/// (f32 sparse CE + grad, c = 64: 1.24 against 0.91 ns/el). Storing the
/// rows of a partial block whole (their excess overwritten by the next
/// rows) measured the same as masking them, so they are masked.
///
/// # Panics
/// If the block is not within the rows' c columns.
///
/// # Safety
/// The CPU has AVX-512 F.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn rows_of_f32(block: &[Lanes<f32>], rows: &mut [f32], c: usize, j0: usize) {
    assert!(block.len() <= 16 && j0 + block.len() <= c);
    let live = rows.len().checked_div(c).unwrap_or(0).min(LANES);
    let mut v = [_mm512_setzero_ps(); 16];
    for (v, col) in v.iter_mut().zip(block) {
        // SAFETY: a load of the 16 values of one column.
        *v = unsafe { _mm512_loadu_ps(col.as_ptr()) };
    }
    transpose_16x16(&mut v);
    for (l, v) in v.iter().enumerate().take(live) {
        // SAFETY: entries j0..j0 + block.len() of row l < live, in `rows`
        // (asserted).
        unsafe {
            let at = rows.as_mut_ptr().add(l * c + j0);
            if block.len() == 16 {
                _mm512_storeu_ps(at, *v)
            } else {
                _mm512_mask_storeu_ps(at, row_mask(block.len()), *v)
            }
        }
    }
}

/// [`rows_of_f32`] for f64 (two halves of 8 columns).
///
/// # Panics
/// If the block is not within the rows' c columns.
///
/// # Safety
/// The CPU has AVX-512 F.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn rows_of_f64(block: &[Lanes<f64>], rows: &mut [f64], c: usize, j0: usize) {
    assert!(block.len() <= 16 && j0 + block.len() <= c);
    let live = rows.len().checked_div(c).unwrap_or(0).min(LANES);
    for (j8, part) in (j0..).step_by(8).zip(block.chunks(8)) {
        for half in 0..2 {
            let mut v = [_mm512_setzero_pd(); 8];
            for (v, col) in v.iter_mut().zip(part) {
                // SAFETY: a load of 8 values of one column's 16.
                *v = unsafe { _mm512_loadu_pd(col.as_ptr().add(8 * half)) };
            }
            transpose_8x8(&mut v);
            let rows_here = live.saturating_sub(8 * half).min(8);
            for (i, v) in v.iter().enumerate().take(rows_here) {
                // SAFETY: as in rows_of_f32.
                unsafe {
                    let at = rows.as_mut_ptr().add((8 * half + i) * c + j8);
                    if part.len() == 8 {
                        _mm512_storeu_pd(at, *v)
                    } else {
                        _mm512_mask_storeu_pd(at, row_mask(part.len()) as u8, *v)
                    }
                }
            }
        }
    }
}

/// `p[l] 2^k[l]` for integral k, rounded once (`vscalefps`): what
/// [`crate::kernels::math`]'s exp computes from the bits of 2^(k/2) and
/// 2^(k - k/2) in nine instructions (f32 sparse CE forward at 4096 x
/// 1000: 0.394 -> 0.319 ns/el, CHANGELOG).
///
/// Where the result is below the smallest normal number (k <= -126, p <
/// 2), it is formed without a subnormal or underflowing operation, which
/// Intel cores finish in a microcode assist (~150 cycles; f32 sparse CE
/// over logits spread over +-120, most of whose exps underflow: 6.5
/// against 0.5 ns/el): p 2^(k + 149) is a normal number, and rounded to
/// an integer it is the bits of the result, whose unit is 2^-149.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn scale_f32(p: &Lanes<f32>, k: &Lanes<f32>) -> Lanes<f32> {
    let mut out = [0.0; LANES];
    // SAFETY: loads and a store of 16 f32, the length of each array.
    unsafe {
        let (p, k) = (_mm512_loadu_ps(p.as_ptr()), _mm512_loadu_ps(k.as_ptr()));
        let tiny = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(k, _mm512_set1_ps(-126.0));
        let e = if tiny == 0 {
            _mm512_scalef_ps(p, k)
        } else {
            let k = _mm512_mask_add_ps(k, tiny, k, _mm512_set1_ps(149.0));
            let e = _mm512_scalef_ps(p, k);
            let bits =
                _mm512_cvt_roundps_epi32::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(e);
            _mm512_mask_mov_ps(e, tiny, _mm512_castsi512_ps(bits))
        };
        _mm512_storeu_ps(out.as_mut_ptr(), e);
    }
    out
}

/// [`scale_f32`] for f64 (`vscalefpd`), the lanes two vectors; below the
/// smallest normal number (k <= -1022) from p 2^(k + 1074), whose
/// rounding to an integer is the result's bits.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) fn scale_f64(p: &Lanes<f64>, k: &Lanes<f64>) -> Lanes<f64> {
    let mut out = [0.0; LANES];
    for h in [0, 8] {
        // SAFETY: loads and a store of 8 f64 from h < 16 - 8 in arrays of 16.
        unsafe {
            let p = _mm512_loadu_pd(p.as_ptr().add(h));
            let k = _mm512_loadu_pd(k.as_ptr().add(h));
            let tiny = _mm512_cmp_pd_mask::<_CMP_LE_OQ>(k, _mm512_set1_pd(-1022.0));
            let k = _mm512_mask_add_pd(k, tiny, k, _mm512_set1_pd(1074.0));
            let e = _mm512_scalef_pd(p, k);
            let bits =
                _mm512_cvt_roundpd_epi64::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(e);
            let e = _mm512_mask_mov_pd(e, tiny, _mm512_castsi512_pd(bits));
            _mm512_storeu_pd(out.as_mut_ptr().add(h), e);
        }
    }
    out
}

/// The mask of a row's first `width` (at most 16) entries.
#[inline(always)]
fn row_mask(width: usize) -> u16 {
    u16::MAX >> (16 - width.min(16))
}

/// Transposes a 16 x 16 f32 matrix held as 16 rows.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose_16x16(v: &mut [__m512; 16]) {
    // Pairs of rows interleaved within 128-bit lanes: t[2k] = v[2k]0
    // v[2k+1]0 v[2k]1 v[2k+1]1 | ..4.. | ..8.. | ..12..; t[2k+1] from 2, 3.
    let mut t = [_mm512_setzero_ps(); 16];
    for k in 0..8 {
        t[2 * k] = _mm512_unpacklo_ps(v[2 * k], v[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(v[2 * k], v[2 * k + 1]);
    }
    // Fours of rows: u[4q + k] holds rows 4q..4q + 3 of columns k, k + 4,
    // k + 8, k + 12 (one per 128-bit lane).
    let mut u = [_mm512_setzero_ps(); 16];
    for q in 0..4 {
        for k in 0..2 {
            let a = _mm512_castps_pd(t[4 * q + k]);
            let b = _mm512_castps_pd(t[4 * q + k + 2]);
            u[4 * q + 2 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            u[4 * q + 2 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        }
    }
    // Eights of rows: w[8h + k] holds rows 8h..8h + 7 of columns k and
    // k + 8, w[8h + 4 + k] of columns k + 4 and k + 12 (k < 4).
    for h in 0..2 {
        for k in 0..4 {
            let (a, b) = (u[8 * h + k], u[8 * h + 4 + k]);
            t[8 * h + k] = _mm512_shuffle_f32x4::<0x88>(a, b);
            t[8 * h + 4 + k] = _mm512_shuffle_f32x4::<0xdd>(a, b);
        }
    }
    // Columns k + 4s (s = 0, 1) and k + 8 + 4s from the two halves.
    for k in 0..4 {
        for s in 0..2 {
            let (a, b) = (t[4 * s + k], t[8 + 4 * s + k]);
            v[4 * s + k] = _mm512_shuffle_f32x4::<0x88>(a, b);
            v[8 + 4 * s + k] = _mm512_shuffle_f32x4::<0xdd>(a, b);
        }
    }
}

/// Transposes an 8 x 8 f64 matrix held as 8 rows.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose_8x8(v: &mut [__m512d; 8]) {
    // t[2k] = v[2k]0 v[2k+1]0 | ..2.. | ..4.. | ..6..; t[2k+1] from 1, 3, 5, 7.
    let mut t = [_mm512_setzero_pd(); 8];
    for k in 0..4 {
        t[2 * k] = _mm512_unpacklo_pd(v[2 * k], v[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_pd(v[2 * k], v[2 * k + 1]);
    }
    // u[4h + 2i + o]: rows 4h..4h + 3 of columns i + 2o and i + 2o + 4
    // (i: 0 the even columns' t, 1 the odd ones'), two rows per 128-bit lane.
    let mut u = [_mm512_setzero_pd(); 8];
    for h in 0..2 {
        for i in 0..2 {
            let (a, b) = (t[4 * h + i], t[4 * h + i + 2]);
            u[4 * h + 2 * i] = _mm512_shuffle_f64x2::<0x88>(a, b);
            u[4 * h + 2 * i + 1] = _mm512_shuffle_f64x2::<0xdd>(a, b);
        }
    }
    // Column j = i + 2o (+ 4) from u[2i + o] and u[4 + 2i + o].
    for i in 0..2 {
        for o in 0..2 {
            let (a, b) = (u[2 * i + o], u[4 + 2 * i + o]);
            v[i + 2 * o] = _mm512_shuffle_f64x2::<0x88>(a, b);
            v[i + 2 * o + 4] = _mm512_shuffle_f64x2::<0xdd>(a, b);
        }
    }
}

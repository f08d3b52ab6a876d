//! Runtime instruction-set dispatch: the library is built for the baseline
//! of its target (SSE2 on x86-64, NEON on aarch64), and its hot loops are
//! compiled a second and third time for AVX2 + FMA and for AVX-512; the
//! best level the CPU supports is chosen once per process.
//!
//! Mechanism: a hot loop is a [`Kernel`], a value holding its arguments
//! whose `run` is `#[inline(always)]` and generic over the instruction set
//! ([`Isa`]); [`dispatch`] calls `run` inside one of three functions, two
//! of them `#[target_feature(enable = ...)]`, so the kernel's body, and
//! every `#[inline(always)]` function it calls (the `Float` methods, the
//! exp/ln of `kernels::math`, the column and block loops), is compiled for
//! each level. A helper the body calls that is not inlined is compiled for
//! the baseline only, so kernels mark their helpers `#[inline(always)]`.
//!
//! Results: the loops use no fused multiply-add unless they ask for one
//! through [`Isa::mul_add`] (which fuses at AVX2 and AVX-512, and on
//! aarch64, but not on the x86-64 baseline, where `f64::mul_add` would be a
//! libm call), and Rust never reassociates floating-point arithmetic, so
//! every level computes the same operations in the same order: AVX2 and
//! AVX-512 give bitwise identical results, and so does the baseline while
//! no kernel uses [`Isa::mul_add`] (tested: `tests/simd.rs`).
//!
//! The level: the best the CPU supports (`is_x86_feature_detected!`),
//! capped by the environment variable `FLOSS_SIMD` (read once, at the
//! first call that computes): `avx512`, `avx2` or `baseline` (also `sse2`,
//! `neon`, `none`), case-insensitive. A level the CPU lacks gives the best
//! supported level below it; an empty or unknown value is ignored (the
//! best level). Under valgrind, which presents a CPU without AVX-512, the
//! AVX2 level is chosen.
//!
//! This module and [`crate::kernels::avx512`] (intrinsics) are the core's
//! only `unsafe`: calling a `#[target_feature]` function is unsafe because
//! the CPU must have the features, and [`dispatch`] calls one only after
//! [`level`] found them; and the casts that hand f32 and f64 tiles to the
//! intrinsics of [`Isa::transpose_rows`] at AVX-512.
#![allow(unsafe_code)]

use core::any::TypeId;
use std::sync::OnceLock;

use crate::kernels::lanes::{Lanes, LANES};

/// An instruction-set level of the dispatched kernels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The target's baseline: SSE2 on x86-64, NEON on aarch64.
    Baseline,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// x86-64 with AVX-512 F, BW, VL, DQ (and AVX2, FMA).
    Avx512,
}

impl Level {
    /// Every level, best first.
    pub const ALL: [Level; 3] = [Level::Avx512, Level::Avx2, Level::Baseline];

    /// The name `FLOSS_SIMD` and `floss_simd_level()` use.
    pub fn name(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// [`Level::name`], NUL-terminated, for the C ABI.
    pub(crate) fn c_name(self) -> &'static core::ffi::CStr {
        match self {
            Level::Baseline => c"baseline",
            Level::Avx2 => c"avx2",
            Level::Avx512 => c"avx512",
        }
    }

    /// The level a `FLOSS_SIMD` value names, if any.
    pub fn from_name(name: &str) -> Option<Level> {
        match name.trim().to_ascii_lowercase().as_str() {
            "avx512" | "avx-512" | "avx512f" => Some(Level::Avx512),
            "avx2" => Some(Level::Avx2),
            "baseline" | "sse2" | "neon" | "none" => Some(Level::Baseline),
            _ => None,
        }
    }

    /// Whether this CPU can run the level.
    pub fn is_supported(self) -> bool {
        match self {
            Level::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => {
                Level::Avx2.is_supported()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// The levels this CPU supports, best first.
pub fn supported_levels() -> Vec<Level> {
    Level::ALL
        .into_iter()
        .filter(|l| l.is_supported())
        .collect()
}

/// The best supported level not above `cap` (`None`: no cap).
pub fn best_level(cap: Option<Level>) -> Level {
    Level::ALL
        .into_iter()
        .find(|&l| cap.is_none_or(|cap| l <= cap) && l.is_supported())
        .unwrap_or(Level::Baseline)
}

/// The level the kernels run at in this process: [`best_level`] capped by
/// `FLOSS_SIMD` (module docs); chosen at the first call.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cap = std::env::var("FLOSS_SIMD")
            .ok()
            .and_then(|v| Level::from_name(&v));
        best_level(cap)
    })
}

/// An instruction set a [`Kernel`] is compiled for, as a type: kernels that
/// want a fused multiply-add use [`Isa::mul_add`].
#[allow(dead_code)] // mul_add: for kernels that fuse
pub(crate) trait Isa {
    /// Whether `mul_add` is a single instruction at this level.
    const FMA: bool;

    /// `a * b + c`, fused (one rounding) where [`Isa::FMA`], else two
    /// roundings: never a libm call.
    #[inline(always)]
    fn mul_add<T: crate::Float>(a: T, b: T, c: T) -> T {
        if Self::FMA {
            a.mul_add(b, c)
        } else {
            a * b + c
        }
    }

    /// e^x, its polynomial fused where [`Isa::FMA`] (the same within 2 ulp;
    /// a different rounding, so the baseline's results may differ).
    #[inline(always)]
    fn exp<T: crate::Float>(x: T) -> T {
        if Self::FMA {
            x.exp_fused()
        } else {
            x.exp()
        }
    }

    /// ln x for a positive normal x ([`Float::ln_normal`](crate::Float::ln_normal)),
    /// its polynomial fused where [`Isa::FMA`] (as [`Isa::exp`]).
    #[inline(always)]
    fn ln_normal<T: crate::Float>(x: T) -> T {
        if Self::FMA {
            x.ln_normal_fused()
        } else {
            x.ln_normal()
        }
    }

    /// e^(x_l - m_l) in every lane: [`Isa::exp`]'s bits. At AVX-512, its
    /// last step (p 2^k) is one `vscalef` ([`crate::kernels::avx512`]).
    #[inline(always)]
    fn exp_lanes<T: crate::Float>(x: Lanes<T>, m: Lanes<T>) -> Lanes<T> {
        let mut e = x;
        for l in 0..LANES {
            e[l] = Self::exp(x[l] - m[l]);
        }
        e
    }

    /// Whether the narrow tiles ask for their rows two tiles ahead
    /// ([`crate::kernels::prefetch`]). At AVX-512 the tiles outran the
    /// hardware prefetcher: f32 sparse CE, 4M logits from memory, forward
    /// / + grad, ns/el: c = 10 1.47-1.63 / 1.90-1.93 -> 1.19-1.21 /
    /// 1.41-1.52, c = 64 0.51-0.72 / 0.90-1.00 -> 0.42-0.43 / 0.68-0.69
    /// (in cache, c = 10: 1.25 / 1.33); at AVX2, which computes more
    /// slowly, it cost 5% (c = 32, + grad: 1.26 -> 1.33).
    const PREFETCH_TILES: bool = false;

    /// Whether [`map_sums`](crate::kernels::lanes::map_sums) maps a tile
    /// of groups before adding them up (`store`: it also stores the
    /// images). Measured, f32 rows of 1000 logits in cache, min of 4-6
    /// alternating runs, tiles against one loop: AVX2 entropy 1.32x, CE
    /// 1.06x, CE + grad 1.10x, focal + grad 1.09x; AVX-512 entropy 1.13x,
    /// CE 1.03x, but 0.95x where it stores; the baseline 0.80x on CE
    /// (1.32x on entropy). The same sums in the same order either way.
    #[inline(always)]
    fn maps_in_tiles(_store: bool) -> bool {
        false
    }

    /// A tile's transposition: `cols[j][l] = rows[l * c + j]` (j < c =
    /// `cols.len()`) for each row l < `rows.len() / c` with `take[l]`, 0 in
    /// the other lanes (their entries unread). Written as loops, the
    /// compiler made it scatters at AVX-512 (30% of a 32-class tile's
    /// time), so AVX-512 transposes in registers
    /// ([`crate::kernels::avx512`]), and so does AVX2 for f32
    /// ([`crate::kernels::avx2`]; f32 sparse CE from memory, ns/el: c = 8
    /// 1.86 -> 1.72, c = 16 1.29 -> 1.15, c = 32 1.00 -> 0.85).
    #[inline(always)]
    fn transpose_rows<T: crate::Float>(rows: &[T], take: &[bool; LANES], cols: &mut [Lanes<T>]) {
        for (row, l) in rows.chunks_exact(cols.len()).zip(0..LANES) {
            for (col, &v) in cols.iter_mut().zip(row) {
                col[l] = v;
            }
        }
        let live = rows.len().checked_div(cols.len()).unwrap_or(0);
        for l in (0..LANES).filter(|&l| l >= live || !take[l]) {
            for col in cols.iter_mut() {
                col[l] = T::ZERO;
            }
        }
    }

    /// The inverse of [`Isa::transpose_rows`], mapped: `rows[l * c + j] =
    /// map(cols[j][l], l)` (j < c = `cols.len()`) for each row l <
    /// `rows.len() / c` (at most [`LANES`]); `scratch` holds at least c
    /// columns. At AVX-512 every column is mapped into `scratch`, then
    /// transposed in registers (mapping 16 columns at a time into a stack
    /// array was twice as slow: f32 sparse CE + grad, c = 64, 1.22 against
    /// 0.59 ns/el); elsewhere the loops (the mapping pass lost at AVX2:
    /// 1.23 against 1.05).
    #[inline(always)]
    fn transpose_columns<T: crate::Float>(
        cols: &[Lanes<T>],
        rows: &mut [T],
        map: impl Fn(T, usize) -> T,
        _scratch: &mut [Lanes<T>],
    ) {
        for (row, l) in rows.chunks_exact_mut(cols.len()).zip(0..LANES) {
            for (x, col) in row.iter_mut().zip(cols) {
                *x = map(col[l], l);
            }
        }
    }
}

/// The target's baseline (aarch64 always has a fused multiply-add).
pub(crate) struct Baseline;
impl Isa for Baseline {
    const FMA: bool = cfg!(target_arch = "aarch64");
}

/// AVX2 + FMA.
pub(crate) struct Avx2;
impl Isa for Avx2 {
    const FMA: bool = true;

    #[inline(always)]
    fn maps_in_tiles(_store: bool) -> bool {
        true
    }

    #[inline(always)]
    fn transpose_rows<T: crate::Float>(rows: &[T], take: &[bool; LANES], cols: &mut [Lanes<T>]) {
        columns_in_registers::<T, false>(rows, take, cols)
    }
}

/// AVX-512 (F, BW, VL, DQ) + AVX2 + FMA.
pub(crate) struct Avx512;
impl Isa for Avx512 {
    const FMA: bool = true;
    const PREFETCH_TILES: bool = true;

    #[inline(always)]
    fn maps_in_tiles(store: bool) -> bool {
        !store
    }

    #[inline(always)]
    fn exp_lanes<T: crate::Float>(x: Lanes<T>, m: Lanes<T>) -> Lanes<T> {
        exp_by_scale(x, m)
    }

    #[inline(always)]
    fn transpose_rows<T: crate::Float>(rows: &[T], take: &[bool; LANES], cols: &mut [Lanes<T>]) {
        columns_in_registers::<T, true>(rows, take, cols)
    }

    #[inline(always)]
    fn transpose_columns<T: crate::Float>(
        cols: &[Lanes<T>],
        rows: &mut [T],
        map: impl Fn(T, usize) -> T,
        scratch: &mut [Lanes<T>],
    ) {
        rows_in_registers(cols, rows, map, scratch)
    }
}

/// A hot loop with its arguments. `run` must be `#[inline(always)]`, and so
/// must every function of the crate it calls in its loops (module docs).
pub(crate) trait Kernel {
    type Output;
    fn run<S: Isa>(self) -> Self::Output;
}

/// Runs `kernel` compiled for the process's [`level`].
#[inline]
pub(crate) fn dispatch<K: Kernel>(kernel: K) -> K::Output {
    match level() {
        // SAFETY: level() returns Avx512 only if the CPU has every feature
        // run_avx512 enables (Level::is_supported).
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { run_avx512(kernel) },
        // SAFETY: likewise, AVX2 and FMA were detected.
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { run_avx2(kernel) },
        _ => kernel.run::<Baseline>(),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn run_avx512<K: Kernel>(kernel: K) -> K::Output {
    kernel.run::<Avx512>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.run::<Avx2>()
}

/// [`Isa::exp_lanes`] at AVX-512: p and k of [`crate::kernels::math`]'s
/// exp in a loop (vectorised), p 2^k by `vscalef` for f32 and f64; any
/// other `Float` takes the loop of [`Isa::exp`]. Only reached inside
/// [`run_avx512`], as [`columns_in_registers`].
#[inline(always)]
fn exp_by_scale<T: crate::Float>(x: Lanes<T>, m: Lanes<T>) -> Lanes<T> {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::kernels::{avx512, math};
        if let (Some(x), Some(m)) = (cast::<_, Lanes<f32>>(&x), cast::<_, Lanes<f32>>(&m)) {
            let (mut p, mut k) = ([0.0; LANES], [0.0; LANES]);
            for l in 0..LANES {
                (p[l], k[l], _) = math::exp_parts_f32::<true>(x[l] - m[l]);
            }
            // SAFETY: AVX-512 F, see columns_in_registers.
            if let Some(e) = cast(&unsafe { avx512::scale_f32(&p, &k) }) {
                return e;
            }
        }
        if let (Some(x), Some(m)) = (cast::<_, Lanes<f64>>(&x), cast::<_, Lanes<f64>>(&m)) {
            let (mut p, mut k) = ([0.0; LANES], [0.0; LANES]);
            for l in 0..LANES {
                (p[l], k[l], _) = math::exp_parts_f64::<true>(x[l] - m[l]);
            }
            // SAFETY: AVX-512 F and DQ, see columns_in_registers.
            if let Some(e) = cast(&unsafe { avx512::scale_f64(&p, &k) }) {
                return e;
            }
        }
    }
    let mut e = x;
    for l in 0..LANES {
        e[l] = Avx512::exp(x[l] - m[l]);
    }
    e
}

/// [`Isa::transpose_rows`] in registers: at AVX-512 (`WIDE`) for f32 and
/// f64 ([`crate::kernels::avx512`]), at AVX2 for f32
/// ([`crate::kernels::avx2`]); any other case (the `Float` trait is
/// public) takes the loops. Only reached inside [`run_avx512`] (`WIDE`) or
/// [`run_avx2`] (through `#[inline(always)]` callers), so the CPU has the
/// level's features.
#[inline(always)]
fn columns_in_registers<T: crate::Float, const WIDE: bool>(
    rows: &[T],
    take: &[bool; LANES],
    cols: &mut [Lanes<T>],
) {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::kernels::{avx2, avx512};
        let live = rows.len().checked_div(cols.len()).unwrap_or(0).min(LANES);
        let mask = (take.iter().enumerate().take(live))
            .fold(0u16, |mask, (l, &taken)| mask | u16::from(taken) << l);
        // SAFETY (all): the level's features, see above; the rows in
        // `mask` are below `live`, in `rows`.
        if let (Some(rows), Some(cols)) = (same_type::<T, f32>(rows), same_type_mut(cols)) {
            return if WIDE {
                unsafe { avx512::columns_of_f32(rows, mask, cols) }
            } else {
                unsafe { avx2::columns_of_f32(rows, mask, cols) }
            };
        }
        if let (true, Some(rows), Some(cols)) =
            (WIDE, same_type::<T, f64>(rows), same_type_mut(cols))
        {
            return unsafe { avx512::columns_of_f64(rows, mask, cols) };
        }
    }
    Baseline::transpose_rows(rows, take, cols)
}

/// [`Isa::transpose_columns`] at AVX-512, as [`columns_in_registers`]:
/// the columns mapped into `scratch`, then transposed 16 at a time.
#[inline(always)]
fn rows_in_registers<T: crate::Float>(
    cols: &[Lanes<T>],
    rows: &mut [T],
    map: impl Fn(T, usize) -> T,
    scratch: &mut [Lanes<T>],
) {
    #[cfg(target_arch = "x86_64")]
    if [TypeId::of::<f32>(), TypeId::of::<f64>()].contains(&TypeId::of::<T>()) {
        use crate::kernels::avx512;
        let c = cols.len();
        let mapped = &mut scratch[..c];
        for (m, col) in mapped.iter_mut().zip(cols) {
            for l in 0..LANES {
                m[l] = map(col[l], l);
            }
        }
        for (j0, block) in (0..c).step_by(16).zip(mapped.chunks(16)) {
            // SAFETY (both): AVX-512 F, see columns_in_registers.
            if let (Some(b), Some(r)) = (same_type::<_, Lanes<f32>>(block), same_type_mut(rows)) {
                unsafe { avx512::rows_of_f32(b, r, c, j0) };
            }
            if let (Some(b), Some(r)) = (same_type::<_, Lanes<f64>>(block), same_type_mut(rows)) {
                unsafe { avx512::rows_of_f64(b, r, c, j0) };
            }
        }
        return;
    }
    Baseline::transpose_columns(cols, rows, map, scratch)
}

/// `value` as a U if T is U.
#[inline(always)]
fn cast<T: 'static, U: Copy + 'static>(value: &T) -> Option<U> {
    // SAFETY: T and U are the same type. (Not `Any::downcast_ref`, a call
    // through a vtable until the optimiser removes it.)
    (TypeId::of::<T>() == TypeId::of::<U>()).then(|| unsafe { core::mem::transmute_copy(value) })
}

/// `values` as a slice of U if T is U.
fn same_type<T: 'static, U: 'static>(values: &[T]) -> Option<&[U]> {
    // SAFETY: T and U are the same type.
    (TypeId::of::<T>() == TypeId::of::<U>())
        .then(|| unsafe { core::slice::from_raw_parts(values.as_ptr().cast(), values.len()) })
}

/// [`same_type`] for a mutable slice.
fn same_type_mut<T: 'static, U: 'static>(values: &mut [T]) -> Option<&mut [U]> {
    // SAFETY: T and U are the same type.
    (TypeId::of::<T>() == TypeId::of::<U>()).then(|| unsafe {
        core::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), values.len())
    })
}

/// Runs `kernel` at `level` if the CPU supports it (tests: every level
/// the machine has, whatever `FLOSS_SIMD` says).
#[cfg(test)]
pub(crate) fn run_at<K: Kernel>(level: Level, kernel: K) -> Option<K::Output> {
    match level {
        _ if !level.is_supported() => None,
        // SAFETY (both): the CPU has the level's features.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => Some(unsafe { run_avx512(kernel) }),
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => Some(unsafe { run_avx2(kernel) }),
        _ => Some(kernel.run::<Baseline>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for l in Level::ALL {
            assert_eq!(Level::from_name(l.name()), Some(l));
            assert_eq!(l.c_name().to_str().unwrap(), l.name());
        }
        assert_eq!(Level::from_name(" AVX2 "), Some(Level::Avx2));
        assert_eq!(Level::from_name("sse2"), Some(Level::Baseline));
        assert_eq!(Level::from_name("avx9"), None);
    }

    #[test]
    fn the_level_is_supported_and_capped() {
        assert!(level().is_supported());
        assert_eq!(best_level(Some(Level::Baseline)), Level::Baseline);
        let best = best_level(None);
        assert_eq!(Some(&best), supported_levels().first());
        for cap in Level::ALL {
            let l = best_level(Some(cap));
            assert!(l <= cap && l.is_supported());
        }
    }

    struct Dot<'a>(&'a [f64], &'a [f64]);
    impl Kernel for Dot<'_> {
        type Output = f64;
        #[inline(always)]
        fn run<S: Isa>(self) -> f64 {
            self.0
                .iter()
                .zip(self.1)
                .fold(0.0, |acc, (&a, &b)| S::mul_add(a, b, acc))
        }
    }

    struct Transpose<'a, T> {
        rows: &'a [T],
        take: [bool; LANES],
        c: usize,
    }
    /// A tile's columns, and its rows again from them, each value v of
    /// lane l mapped to 2 v + l (`rows.len() + c` values, the last c of
    /// which must stay -7).
    type Transposed<T> = (Vec<Lanes<T>>, Vec<T>);
    impl<T: crate::Float> Kernel for Transpose<'_, T> {
        type Output = Transposed<T>;
        #[inline(always)]
        fn run<S: Isa>(self) -> Transposed<T> {
            // Poisoned: every lane must be written.
            let mut cols = vec![[T::from_f64(f64::NAN); LANES]; self.c];
            S::transpose_rows(self.rows, &self.take, &mut cols);
            let mut back = vec![T::from_f64(-7.0); self.rows.len() + self.c];
            let twice_plus_lane = |v: T, l: usize| v + v + T::from_f64(l as f64);
            let mut scratch = vec![[T::ZERO; LANES]; self.c];
            let back_rows = &mut back[..self.rows.len()];
            S::transpose_columns(&cols, back_rows, twice_plus_lane, &mut scratch);
            (cols, back)
        }
    }

    fn transposes_at_every_level<T: crate::Float>() {
        for c in [1, 3, 10, 16, 33, 127] {
            for live in [0, 1, 7, 9, LANES] {
                let rows: Vec<T> = (0..live * c).map(|i| T::from_f64(i as f64 + 0.5)).collect();
                let take = core::array::from_fn(|l| l % 3 != 1);
                let kernel = || Transpose {
                    rows: &rows,
                    take,
                    c,
                };
                let taken = |l: usize, j: usize| {
                    if l < live && take[l] {
                        rows[l * c + j]
                    } else {
                        T::ZERO
                    }
                };
                let cols: Vec<Lanes<T>> = (0..c)
                    .map(|j| core::array::from_fn(|l| taken(l, j)))
                    .collect();
                let back: Vec<T> = (0..live * c)
                    .map(|i| {
                        let v = taken(i / c, i % c);
                        v + v + T::from_f64((i / c) as f64)
                    })
                    .chain((0..c).map(|_| T::from_f64(-7.0)))
                    .collect();
                let expected = (cols, back);
                assert_eq!(
                    kernel().run::<Baseline>(),
                    expected,
                    "baseline c={c} live={live}"
                );
                for l in Level::ALL {
                    if let Some(got) = run_at(l, kernel()) {
                        assert_eq!(got, expected, "{} c={c} live={live}", l.name());
                    }
                }
            }
        }
    }

    #[test]
    fn tiles_transpose_alike_at_every_level() {
        transposes_at_every_level::<f32>();
        transposes_at_every_level::<f64>();
    }

    /// [`Isa::exp_lanes`] and [`Isa::exp`] at level S, lane by lane.
    struct ExpLanes<T>(Vec<T>);
    impl<T: crate::Float> Kernel for ExpLanes<T> {
        type Output = Vec<(T, T)>;
        #[inline(always)]
        fn run<S: Isa>(self) -> Vec<(T, T)> {
            let mut pairs = Vec::new();
            for group in self.0.chunks_exact(LANES) {
                let x: Lanes<T> = group.try_into().unwrap();
                let m = core::array::from_fn(|l| T::from_f64(l as f64 / 8.0 - 1.0));
                let e = S::exp_lanes(x, m);
                pairs.extend((0..LANES).map(|l| (e[l], S::exp(x[l] - m[l]))));
            }
            pairs
        }
    }

    /// Arguments over exp's whole range, subnormal and overflowing results,
    /// the clamps, infinities and NaN.
    fn exp_arguments<T: crate::Float>(lo: f64, hi: f64) -> Vec<T> {
        let mut x: Vec<f64> = (0..4000)
            .map(|i| lo + (hi - lo) * i as f64 / 3999.0)
            .collect();
        x.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e30,
        ]);
        x.resize(x.len().next_multiple_of(LANES), 0.5);
        x.into_iter().map(T::from_f64).collect()
    }

    fn exp_lanes_are_exp<T: crate::Float>(lo: f64, hi: f64) {
        let x = exp_arguments::<T>(lo, hi);
        let bits = |v: T| v.to_f64().to_bits();
        let fused = run_at(Level::Avx2, ExpLanes(x.clone()));
        for level in Level::ALL {
            let Some(pairs) = run_at(level, ExpLanes(x.clone())) else {
                continue;
            };
            for (i, &(lanes, one)) in pairs.iter().enumerate() {
                assert_eq!(bits(lanes), bits(one), "{} x = {}", level.name(), x[i]);
                if let (Some(f), true) = (&fused, level >= Level::Avx2) {
                    assert_eq!(bits(lanes), bits(f[i].1), "{} x = {}", level.name(), x[i]);
                }
            }
        }
    }

    #[test]
    fn exp_lanes_give_exp_bits_at_every_level() {
        exp_lanes_are_exp::<f32>(-110.0, 95.0);
        exp_lanes_are_exp::<f64>(-760.0, 720.0);
    }

    #[test]
    fn kernels_run_at_every_level() {
        let (a, b) = ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]);
        assert_eq!(dispatch(Dot(&a, &b)), 32.0);
        assert_eq!(Dot(&a, &b).run::<Baseline>(), 32.0);
    }
}

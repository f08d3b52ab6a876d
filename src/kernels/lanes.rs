//! Passes over one row of a row-major array (the row-major engine's
//! loops), in a fixed pattern of logical lanes: the loops vectorise at
//! every instruction set, and every instruction set adds the same numbers
//! in the same order, so the results are bitwise the same.
//!
//! A row is cut into groups of [`LANES`] entries, entry l of a group going
//! to lane l; a last group of fewer entries is the row's last [`LANES`]
//! entries, those of the previous group counting as 0 (a row shorter
//! than [`LANES`] is padded). Each lane
//! adds its entries to its sum in f64 whatever T (a conversion is exact, and
//! an f32 sum over classes then keeps the digits of an f64 one at the
//! speed of an f32 one: the exps cost more than the two f64 additions of
//! a group of f32); the total adds the lanes pairwise.

#![allow(clippy::needless_range_loop)] // constant-length lane loops (above)

use crate::float::{select, Float};
use crate::simd::{Baseline, Isa};

/// Lanes of a group: one AVX-512 vector of f32, two of f64. (The exp of a
/// group takes longer than the additions' latency, so one accumulator per
/// lane keeps the pipeline full.) Measured against partial sums in f32
/// moved to f64 every 8 groups: the same speed (sparse CE, c = 1000).
pub(crate) const LANES: usize = 16;

/// [`LANES`] values.
///
/// (Every loop over lanes is [`LANES`] long with constant indices and works
/// on values, not through references, so that the compiler keeps the lanes
/// in vector registers; an array indexed by a variable lives in memory,
/// where each group would wait for the previous group's store.)
pub(crate) type Lanes<T> = [T; LANES];

/// [`LANES`] running sums (module docs).
pub(crate) struct LaneSum<T> {
    wide: Lanes<f64>,
    of: core::marker::PhantomData<T>,
}

impl<T: Float> LaneSum<T> {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        LaneSum {
            wide: [0.0; LANES],
            of: core::marker::PhantomData,
        }
    }

    /// The sum of every value added: the lanes added pairwise.
    #[inline(always)]
    pub(crate) fn total(self) -> f64 {
        let mut v = self.wide;
        let mut width = LANES;
        while width > 1 {
            width /= 2;
            for l in 0..width {
                v[l] += v[l + width];
            }
        }
        v[0]
    }
}

/// `wide` plus the group `v`, value l to lane l (by value: a loop that
/// adds through `&mut LaneSum` kept the lanes in memory, each group
/// waiting for the previous group's store, twice the time of the exps).
#[inline(always)]
pub(crate) fn add_lanes<T: Float>(mut wide: Lanes<f64>, v: Lanes<T>) -> Lanes<f64> {
    for l in 0..LANES {
        wide[l] += v[l].to_f64();
    }
    wide
}

/// The group of `x` from `at` on, with the index of `x` its lane 0 holds:
/// the [`LANES`] entries from `at`, or, where fewer are left, the last
/// [`LANES`] entries of `x` (lane l holding entry len - LANES + l, the
/// entries before `at` set to `pad`: a load and a select, not a copy
/// through memory), or, in a row shorter than [`LANES`], its entries
/// padded. Entry `skip` (if in the group) is set to `pad`.
#[inline(always)]
pub(crate) fn group<T: Float>(x: &[T], at: usize, skip: usize, pad: T) -> (Lanes<T>, usize) {
    let (mut g, padded, base) = marked_group(x, at, skip);
    for l in 0..LANES {
        g[l] = select(padded[l], pad, g[l]);
    }
    (g, base)
}

/// [`group`] with the lanes to pad marked (`true`) instead of padded: they
/// hold entries of `x` (in a row shorter than [`LANES`], its first), so
/// that a map of the group sees only the row's values. (A map's image of
/// a pad, exp(-Inf) = 0, is an underflow, which Intel cores finish in a
/// microcode assist: one per row cost f32 sparse CE at c = 1000 a quarter
/// of its time on a Xeon with AVX-512.)
#[inline(always)]
fn marked_group<T: Float>(x: &[T], at: usize, skip: usize) -> (Lanes<T>, Lanes<bool>, usize) {
    let (g, base) = match (x[at..].first_chunk::<LANES>(), x.last_chunk::<LANES>()) {
        (Some(full), _) => (*full, at),
        (None, Some(last)) => (*last, x.len() - LANES),
        (None, None) => return short_group(x, skip),
    };
    // Lane numbers as u32, so that the masks are one vector compare each,
    // joined by `|`: with `||` the compiler made a branch and a scalar
    // load of each lane.
    let live_from = (at - base) as u32;
    let skip_lane = skip.wrapping_sub(base).min(LANES) as u32;
    let mut padded = [false; LANES];
    for (l, p) in padded.iter_mut().enumerate() {
        let l = l as u32;
        *p = (l < live_from) | (l == skip_lane);
    }
    (g, padded, base)
}

/// [`marked_group`] of a row shorter than [`LANES`] (not empty): the
/// lanes past its end and at `skip` marked, holding its first entry; lane
/// by lane and inlined (as a call, to it or to memcpy, it made the loops
/// that use [`group`] keep their vectors in memory across it: c = 100-128
/// rows 1.1-1.3x slower).
#[inline(always)]
fn short_group<T: Float>(x: &[T], skip: usize) -> (Lanes<T>, Lanes<bool>, usize) {
    let (mut g, mut padded) = ([x[0]; LANES], [true; LANES]);
    for l in 0..LANES {
        if l < x.len() && l != skip {
            (g[l], padded[l]) = (x[l], false);
        }
    }
    (g, padded, 0)
}

/// Maxima kept apart in the max pass: a max waits for the previous one in
/// its lane, so one vector of lanes would wait for each group.
const MAX_WAYS: usize = 4;

/// The largest entry of `x` (-Inf if empty); NaN entries are passed over
/// and +Inf is returned as such (callers check the row apart).
#[inline(always)]
pub(crate) fn max<T: Float>(x: &[T]) -> T {
    let mut m = [[T::NEG_INFINITY; LANES]; MAX_WAYS];
    let mut quads = x.chunks_exact(LANES * MAX_WAYS);
    for q in &mut quads {
        for (w, g) in q.chunks_exact(LANES).enumerate() {
            let g: &Lanes<T> = g.try_into().unwrap();
            m[w] = max_lanes(m[w], *g);
        }
    }
    // The rest as groups of the whole row, so that only a row shorter than
    // LANES needs padding.
    let mut at = x.len() - quads.remainder().len();
    while at < x.len() {
        m[0] = max_lanes(m[0], group(x, at, usize::MAX, T::NEG_INFINITY).0);
        at += LANES;
    }
    // The maximum does not depend on the order.
    let mut v = max_lanes(max_lanes(m[0], m[1]), max_lanes(m[2], m[3]));
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            v[l] = select(v[l + width] > v[l], v[l + width], v[l]);
        }
    }
    v[0]
}

/// The larger of `a` and `b` lane by lane (`a`'s where `b` is NaN).
#[inline(always)]
fn max_lanes<T: Float>(mut a: Lanes<T>, b: Lanes<T>) -> Lanes<T> {
    for l in 0..LANES {
        a[l] = select(b[l] > a[l], b[l], a[l]);
    }
    a
}

/// The index of the first entry of `x` equal to `v` (`x.len()` if none).
#[inline(always)]
pub(crate) fn first_index_of<T: Float>(x: &[T], v: T) -> usize {
    let mut groups = x.chunks_exact(LANES);
    let mut at = 0;
    for g in &mut groups {
        // Whole groups compared at once (vectorised), the one with a hit
        // searched entry by entry.
        let g: &Lanes<T> = g.try_into().unwrap();
        if g.iter().fold(false, |hit, &e| hit | (e == v)) {
            break;
        }
        at += LANES;
    }
    at + x[at..].iter().position(|&e| e == v).unwrap_or(x.len() - at)
}

/// Adds f(x_j) (of any float type U; [`GroupMap`]) over `x` to `sum` in
/// the lanes' pattern, except at index `skip` (`usize::MAX`: none), which
/// counts as 0, as do the missing entries of the last group; when `STORE`,
/// also writes f(x_j) to `images` (the length of `x`; 0 at `skip`).
#[inline(always)]
pub(crate) fn map_sum<S: Isa, T: Float, U: Float, const STORE: bool>(
    x: &[T],
    skip: usize,
    f: impl GroupMap<T, U>,
    images: &mut [U],
    sum: &mut LaneSum<U>,
) {
    // (Adding -0 is no addition: the compiler drops the second sum.)
    let mut none = LaneSum::<f64>::new();
    map_sums::<S, T, U, f64, STORE>(x, skip, f, |_, _| -0.0, images, sum, &mut none);
}

/// [`map_sum`] that also adds g(x_j, f(x_j)) to `second` in the same pass
/// (0 at `skip` and past the end).
///
/// The whole groups around the skipped one run in a loop without a call
/// (a call, even a cold one, makes the compiler keep the lanes and the
/// loop's constants in memory: measured 0.56 against 0.45 ns per element);
/// the skipped entry's group and the padded last one go through [`group`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn map_sums<S: Isa, T: Float, U: Float, V: Float, const STORE: bool>(
    x: &[T],
    skip: usize,
    f: impl GroupMap<T, U>,
    g: impl Fn(T, U) -> V,
    images: &mut [U],
    first: &mut LaneSum<U>,
    second: &mut LaneSum<V>,
) {
    let whole = x.len() / LANES * LANES;
    // The first entry of the skipped entry's group, if it is whole.
    let split = if skip < whole {
        skip / LANES * LANES
    } else {
        whole
    };
    let mut wide = (first.wide, second.wide);
    // (Functions, not closures: a closure holding the map's body was
    // left as a call, compiled without the level's features.)
    wide = whole_groups::<S, T, U, V, STORE>(&x[..split], (&f, &g), images, 0, wide);
    let mut at = split;
    while at < x.len() {
        let (lanes, padded, base) = marked_group(x, at, skip);
        let (mut v, mut w) = map_group(&f, &g, &lanes);
        for l in 0..LANES {
            // f(pad) and g(pad, f(pad)), which are 0: -0 adds nothing.
            v[l] = select(padded[l], U::ZERO, v[l]);
            w[l] = select(padded[l], -V::ZERO, w[l]);
        }
        if STORE {
            let end = (base + LANES).min(x.len());
            images[at..end].copy_from_slice(&v[at - base..end - base]);
        }
        wide = (add_lanes(wide.0, v), add_lanes(wide.1, w));
        at += LANES;
        if at < whole {
            // After the skipped entry's group, the whole groups left.
            wide = whole_groups::<S, T, U, V, STORE>(&x[at..whole], (&f, &g), images, at, wide);
            at = whole;
        }
    }
    (first.wide, second.wide) = wide;
}

/// f and g of a group.
#[inline(always)]
fn map_group<T: Float, U: Float, V: Float>(
    f: &impl GroupMap<T, U>,
    g: &impl Fn(T, U) -> V,
    x: &Lanes<T>,
) -> (Lanes<U>, Lanes<V>) {
    let (v, mut w) = (f.map(*x), [V::ZERO; LANES]);
    for l in 0..LANES {
        w[l] = g(x[l], v[l]);
    }
    (v, w)
}

/// [`map_sums`] over whole groups (`x.len()` a multiple of [`LANES`]),
/// the images (if `STORE`) to `images` from `from` on: in tiles or in one
/// loop ([`Isa::maps_in_tiles`]).
#[inline(always)]
fn whole_groups<S: Isa, T: Float, U: Float, V: Float, const STORE: bool>(
    x: &[T],
    (f, g): (&impl GroupMap<T, U>, &impl Fn(T, U) -> V),
    images: &mut [U],
    from: usize,
    wide: (Lanes<f64>, Lanes<f64>),
) -> (Lanes<f64>, Lanes<f64>) {
    if S::maps_in_tiles(STORE) {
        map_tiles::<T, U, V, STORE>(x, f, g, images, from, wide)
    } else {
        map_whole_groups::<T, U, V, STORE>(x, (f, g), images, from, wide)
    }
}

/// [`whole_groups`] in one loop.
#[inline(always)]
fn map_whole_groups<T: Float, U: Float, V: Float, const STORE: bool>(
    x: &[T],
    (f, g): (&impl GroupMap<T, U>, &impl Fn(T, U) -> V),
    images: &mut [U],
    from: usize,
    mut wide: (Lanes<f64>, Lanes<f64>),
) -> (Lanes<f64>, Lanes<f64>) {
    let groups = x.chunks_exact(LANES);
    if STORE {
        // Zipped, not indexed: no bounds check in the loop.
        let out = images[from..from + x.len()].chunks_exact_mut(LANES);
        for (gx, out) in groups.zip(out) {
            let (v, w) = map_group(f, g, gx.try_into().unwrap());
            out.copy_from_slice(&v);
            wide = (add_lanes(wide.0, v), add_lanes(wide.1, w));
        }
    } else {
        for gx in groups {
            let (v, w) = map_group(f, g, gx.try_into().unwrap());
            wide = (add_lanes(wide.0, v), add_lanes(wide.1, w));
        }
    }
    wide
}

/// Groups per tile of [`map_tiles`].
const TILE_GROUPS: usize = 8;

/// [`map_whole_groups`] a tile of groups at a time: the tile's images
/// first (stored to `images` if `STORE`, else to a buffer on the stack),
/// then g's in one flat loop over the tile (group by group, the compiler
/// split entropy's f64 terms into pairs of lanes: 0.69 against 0.50 ns
/// per element), then their sums. In one loop, the f64 sums lead the
/// compiler to map at their width (4 f32 lanes of a vector at AVX2, 8 at
/// AVX-512); apart, the map runs at the full width of T
/// ([`Isa::maps_in_tiles`]).
#[inline(always)]
fn map_tiles<T: Float, U: Float, V: Float, const STORE: bool>(
    x: &[T],
    f: &impl GroupMap<T, U>,
    g: &impl Fn(T, U) -> V,
    images: &mut [U],
    from: usize,
    mut wide: (Lanes<f64>, Lanes<f64>),
) -> (Lanes<f64>, Lanes<f64>) {
    let mut tile = [U::ZERO; TILE_GROUPS * LANES];
    let mut at = from;
    for xs in x.chunks(TILE_GROUPS * LANES) {
        let out = if STORE {
            &mut images[at..at + xs.len()]
        } else {
            &mut tile[..xs.len()]
        };
        for (gx, o) in xs.chunks_exact(LANES).zip(out.chunks_exact_mut(LANES)) {
            o.copy_from_slice(&f.map(gx.try_into().unwrap()));
        }
        let mut terms = [V::ZERO; TILE_GROUPS * LANES];
        let out = &out[..xs.len()];
        for ((w, &xv), &v) in terms.iter_mut().zip(xs).zip(out) {
            *w = g(xv, v);
        }
        for (o, w) in out.chunks_exact(LANES).zip(terms.chunks_exact(LANES)) {
            let v: Lanes<U> = *<&Lanes<U>>::try_from(o).unwrap();
            let w: Lanes<V> = *<&Lanes<V>>::try_from(w).unwrap();
            wide = (add_lanes(wide.0, v), add_lanes(wide.1, w));
        }
        at += xs.len();
    }
    wide
}

/// The map f of a group ([`map_sums`]): a type, not a closure, so that
/// it is always inlined (a closure cannot be marked `#[inline(always)]`:
/// the exp's was left as a call, compiled without the level's features,
/// 40 times slower).
pub(crate) trait GroupMap<T, U> {
    fn map(&self, x: Lanes<T>) -> Lanes<U>;
}

/// The identity.
pub(crate) struct Same;

impl<T: Float> GroupMap<T, T> for Same {
    #[inline(always)]
    fn map(&self, x: Lanes<T>) -> Lanes<T> {
        x
    }
}

/// e^(x - m) at level S ([`Isa::exp_lanes`]).
pub(crate) struct ExpBelow<S, T> {
    m: T,
    isa: core::marker::PhantomData<S>,
}

impl<S, T> ExpBelow<S, T> {
    #[inline(always)]
    pub(crate) fn new(m: T) -> Self {
        ExpBelow {
            m,
            isa: core::marker::PhantomData,
        }
    }
}

impl<S: Isa, T: Float> GroupMap<T, T> for ExpBelow<S, T> {
    #[inline(always)]
    fn map(&self, x: Lanes<T>) -> Lanes<T> {
        S::exp_lanes(x, [self.m; LANES])
    }
}

/// The sum of `x` but its entry `skip` in the lanes' pattern.
#[inline(always)]
pub(crate) fn sum_except<T: Float>(x: &[T], skip: usize, acc: &mut LaneSum<T>) {
    // No map to tile: the single loop, at every level.
    map_sum::<Baseline, T, T, false>(x, skip, Same, &mut [], acc);
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::simd::{run_at, Kernel, Level};

    #[test]
    fn sums_every_entry_once_for_every_length() {
        // Baseline sums in one loop, AVX2 in tiles, AVX-512 in either.
        // (The bitwise comparison of the two is the next test.)
        for level in Level::ALL {
            run_at(level, EveryEntryOnce);
        }
    }

    struct EveryEntryOnce;
    impl Kernel for EveryEntryOnce {
        type Output = ();
        #[inline(always)]
        fn run<S: Isa>(self) {
            sums_every_entry_once::<S>()
        }
    }

    fn sums_every_entry_once<S: Isa>() {
        for len in [
            0usize, 1, 15, 16, 17, 63, 64, 65, 100, 511, 512, 513, 1000, 4099,
        ] {
            let x: Vec<f64> = (0..len).map(|j| (j % 7) as f64 + 0.5).collect();
            let mut acc = LaneSum::new();
            sum_except(&x, usize::MAX, &mut acc);
            assert_eq!(acc.total(), x.iter().sum::<f64>(), "len {len}");
            // In a whole group, in the last one, in the padded tail, none.
            for skip in [len / 3, len.saturating_sub(1), 16, usize::MAX] {
                let mut images = vec![0.0; len];
                let mut acc = LaneSum::new();
                map_sum::<S, f64, f64, true>(
                    &x,
                    skip,
                    ExpBelow::<S, _>::new(1.0),
                    &mut images,
                    &mut acc,
                );
                for (j, (i, &v)) in images.iter().zip(&x).enumerate() {
                    assert_eq!(*i, if j == skip { 0.0 } else { S::exp(v - 1.0) });
                }
                let want: f64 = images
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != skip)
                    .map(|(_, v)| v)
                    .sum();
                assert!(
                    (acc.total() - want).abs() <= 1e-12 * want.max(1.0),
                    "len {len} skip {skip}"
                );
            }
        }
    }

    /// Both sums and the images of [`map_sums`] at a level.
    struct BothSums<'a, const STORE: bool>(&'a [f32], usize);
    type Sums = (f64, f64, Vec<f32>);
    impl<const STORE: bool> Kernel for BothSums<'_, STORE> {
        type Output = Sums;
        #[inline(always)]
        fn run<S: Isa>(self) -> Sums {
            let (x, skip) = (self.0, self.1);
            let mut images = vec![0.0; if STORE { x.len() } else { 0 }];
            let (mut first, mut second) = (LaneSum::new(), LaneSum::new());
            map_sums::<S, f32, f32, f64, STORE>(
                x,
                skip,
                ExpBelow::<S, _>::new(3.0),
                |v, e| select(e == 0.0, 0.0, e as f64 * v as f64),
                &mut images,
                &mut first,
                &mut second,
            );
            (first.total(), second.total(), images)
        }
    }

    #[test]
    fn tiles_and_one_loop_give_the_same_bits() {
        // AVX2 maps in tiles with and without storing, AVX-512 without,
        // the baseline never (Isa::maps_in_tiles). The baseline's exp is
        // not fused: its sums are compared with themselves.
        let bits = |s: &Sums| (s.0.to_bits(), s.1.to_bits());
        for len in [5usize, 16, 100, 127, 128, 129, 300, 1000, 4099] {
            let x: Vec<f32> = (0..len)
                .map(|j| (j * 37 % 101) as f32 * 0.173 - 8.0)
                .collect();
            for skip in [0, len / 3, 200, len - 1, usize::MAX] {
                let base = run_at(Level::Baseline, BothSums::<true>(&x, skip)).unwrap();
                let base_tiled = run_at(Level::Baseline, BothSums::<false>(&x, skip)).unwrap();
                assert_eq!(bits(&base_tiled), bits(&base));
                let Some(one_loop) = run_at(Level::Avx2, BothSums::<true>(&x, skip)) else {
                    continue;
                };
                for level in [Level::Avx2, Level::Avx512] {
                    if let Some(stored) = run_at(level, BothSums::<true>(&x, skip)) {
                        assert_eq!(stored, one_loop, "{}", level.name());
                    }
                    if let Some(tiled) = run_at(level, BothSums::<false>(&x, skip)) {
                        assert_eq!(bits(&tiled), bits(&one_loop), "{}", level.name());
                    }
                }
            }
        }
    }

    #[test]
    fn f32_sums_keep_their_digits() {
        // 10^6 terms of 0.1f32: a sequential f32 sum is off by ~1%; the
        // lanes' f64 sums by at most a few ulps of f32 (the rounding of 0.1f32 aside).
        let x = vec![0.1f32; 1_000_000];
        let mut acc = LaneSum::new();
        sum_except(&x, usize::MAX, &mut acc);
        let want = 0.1f32 as f64 * 1e6;
        let sequential = x.iter().sum::<f32>() as f64;
        assert!((sequential - want).abs() / want > 1e-3);
        assert!((acc.total() - want).abs() / want < 1e-7);
    }

    #[test]
    fn finds_the_first_equal_entry() {
        let x: Vec<f64> = (0..100).map(|j| (j % 37) as f64).collect();
        assert_eq!(first_index_of(&x, 5.0), 5);
        assert_eq!(first_index_of(&x, 36.0), 36);
        assert_eq!(first_index_of(&x[40..], 0.0), 34);
        assert_eq!(first_index_of(&x, 99.0), 100);
        assert_eq!(first_index_of::<f64>(&[], 1.0), 0);
    }

    #[test]
    fn max_skips_nan_and_keeps_infinities() {
        assert_eq!(max::<f32>(&[]), f32::NEG_INFINITY);
        let mut x: Vec<f32> = (0..200).map(|j| j as f32).collect();
        x[70] = f32::NAN;
        assert_eq!(max(&x), 199.0);
        x[3] = f32::INFINITY;
        assert_eq!(max(&x), f32::INFINITY);
        // The largest entry at every place of rows of every length around
        // the group sizes (whole groups of 4, the rest, a short row).
        for len in [1usize, 7, 15, 16, 17, 63, 64, 65, 80, 100, 129] {
            for at in 0..len {
                let mut x: Vec<f32> = (0..len).map(|j| -((j % 5) as f32)).collect();
                x[at] = 3.0;
                assert_eq!(max(&x), 3.0, "len {len} at {at}");
            }
        }
    }
}

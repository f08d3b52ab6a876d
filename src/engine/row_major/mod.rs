//! The row-major engine: rows of c values (n x c), each row in a few
//! passes while it is in cache, vectorised along the row, with no working
//! memory beyond the caller's outputs (so a call's memory does not grow
//! with c). Two kinds of rows:
//!
//! - [`one_hot`]: logits with one-hot targets (integer labels without
//!   smoothing: sparse and balanced cross-entropy, focal loss), where only
//!   the label's term is evaluated;
//! - [`dense`]: every other row (dense or smoothed targets, entropy, KL,
//!   probabilities), where every class's term is.
//!
//! Sums over a row run in the lanes of [`crate::kernels::lanes`] (f64 lane
//! sums for f32 data), the row's scalars in f64; the block sums of the
//! losses do not depend on the number of threads.

mod dense;
mod narrow;
mod one_hot;

use super::{ClassTerm, Layout, Targets};
use crate::error::Result;
use crate::float::Float;
use crate::hessian;
use crate::kernels::lanes::LANES;
use crate::kernels::prefetch;
use crate::options::{Input, Options};
use crate::parallel::{self, split_off};
use crate::reduce::{Outputs, Reducer};
use crate::simd::{self, Isa, Kernel};

/// Rows of at least this many classes go row-major; narrower ones are
/// faster class-major, where the per-row scalar work is vectorised across
/// rows, except one-hot logits, whose [`narrow`] tiles vectorise it too
/// (and take every call, with or without derivatives, so that asking for
/// fewer outputs gives the same bits). Measured (`FLOSS_ENGINE=row|class
/// FLOSS_BENCH_ONLY="sparse CE" FLOSS_BENCH_C=<c> cargo bench --bench
/// throughput`, f32, ns per element; the machine was shared, so read the
/// comparisons):
/// - one-hot logits, narrow tiles (row) against class-major, value /
///   value + grad / value + grad + hess: c = 3 row 5.4 / 6.1 / 12.0,
///   class 8.9 / 9.4 / 13.5; c = 10 row 3.0 / 4.2 / 9.9, class 3.5 / 4.1
///   / 7.6; c = 32 row 1.7 / 2.7 / 6.8, class 2.4 / 3.1 / 7.3; c = 64 row
///   1.4 / 2.0 / 5.0, class 1.8 / 2.7 / 7.4. With the tile's Hessian
///   computed a class at a time across its rows (2026-12-02, a quiet
///   machine): c = 3 row 6.5 / 7.7 / 11.3, class 8.5 / 8.4 / 12.2; c = 10
///   row 2.9 / 3.6 / 5.6, class 3.1 / 3.8 / 7.0; c = 32 row 1.5 / 2.1 /
///   5.3, class 2.0 / 2.7 / 6.8; c = 64 row 1.3 / 1.7 / 2.9, class 2.0 /
///   2.8 / 6.6;
/// - one-hot probabilities (only the label's term): c = 64 row 0.60,
///   class 1.44;
/// - dense logits (entropy, dense CE), value / value + grad: c = 128 row
///   5.2 / 5.1, class 3.1 / 4.9; c = 256 row 4.8 / 5.4, class 4.0 / 5.5;
///   c = 1000 row 3.1 / 3.9, class 3.6 / 5.6. (The row-major engine's
///   memory does not grow with c either: a class-major block holds 8 c
///   values per row of the block.)
/// - dense rows again after the row-major kernels' rework (2026-12-03,
///   prof harness, min of 3 alternating runs; entropy value / + grad,
///   dense CE value / + grad): logits c = 64 row 2.2 / 4.7, 4.6 / 5.2,
///   class 2.7 / 3.8, 3.9 / 5.1; c = 96 row 2.0 / 4.2, 3.2 / 5.2, class
///   3.7 / 4.5, 5.5 / 6.3; c = 256 row 1.2 / 3.2, 2.2 / 3.7, class 3.7 /
///   5.0, 5.7 / 6.7. Probabilities (dense CE value / + grad): c = 16 row
///   3.6 / 3.8, class 3.2 / 4.2; c = 32 row 2.1 / 2.2, class 3.2 / 3.9;
///   c = 256 row 1.9 / 2.0, class 4.4 / 5.3.
pub(crate) fn from_classes(logits: bool, one_hot: bool) -> usize {
    match (logits, one_hot) {
        (true, true) => 1,
        (false, true) => 96,
        (true, false) => 96,
        (false, false) => 32,
    }
}

/// Entries of the rows whose losses make one partial sum: blocks do not
/// depend on the number of threads, nor then does any result.
const BLOCK: usize = 8192;

/// Entries of the one-hot rows of logits taken at a time
/// (`Setup::one_hot_rows`; at most [`LANES`] rows): their label terms are
/// computed together, and the rows' exponentials, kept in the gradient's
/// rows, wait in L1 for their scaling. Against a row at a time (f32 sparse
/// CE, AVX2, ns/el): c = 128 1.63 -> 1.27, c = 256 1.19 -> 0.98, c = 1000
/// (4 rows) unchanged.
const BATCH: usize = 4096;

/// Whether the row-major engine can compute this call: rows, not
/// channels-first (whose classes are S values apart).
pub(crate) fn can(layout: &Layout) -> bool {
    layout.positions == 1
}

/// Computes a multi-class loss over the rows of `pred` (n x c logits or
/// probabilities); see [`can`].
pub(crate) fn compute<T: Float, Term: ClassTerm<T>>(
    pred: &[T],
    c: usize,
    opts: &Options,
    term: &Term,
    targets: &impl Targets<T>,
    reducer: Reducer,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    let rows = pred.len() / c;
    let block_rows = (BLOCK / c).max(1);
    let logits = opts.input == Input::Logits;
    let setup = Setup {
        pred,
        c,
        kind: RowKind::of(logits && targets.is_one_hot(), c),
        block_rows,
        scale: reducer.derivative_scale::<T>(),
        floor: hessian::floor_of::<T>(opts.hessian)?,
        logits,
        complement: term.needs_complement() || outputs.hess.is_some(),
        term,
        targets,
        reducer: &reducer,
    };
    let mut out = reducer.per_sample().then_some(&mut outputs.out[..]);
    let (mut grad, mut hess) = (outputs.grad.as_deref_mut(), outputs.hess.as_deref_mut());
    // Narrow tiles cost about 4 units per entry, other rows 1 (2 with
    // derivatives); see parallel::Cost.
    let derivatives = grad.is_some() || hess.is_some();
    let units = match (setup.kind, derivatives) {
        (RowKind::Tiles, _) => 4,
        (_, true) => 2,
        (_, false) => 1,
    };
    let cost = parallel::Cost::of::<T>(units);
    let segments: Vec<Segment<T>> = parallel::segments(rows, c, block_rows, opts.threads, cost)
        .into_iter()
        .map(|range| Segment {
            first_row: range.start,
            rows: range.len(),
            out: split_off(&mut out, range.len()),
            grad: split_off(&mut grad, range.len() * c),
            hess: split_off(&mut hess, range.len() * c),
        })
        .collect();
    let results = parallel::map(segments, opts.threads, |seg| {
        simd::dispatch(RunSegment { setup: &setup, seg })
    });
    super::reduce_segments(reducer, results, outputs.out)
}

/// How a call's rows are taken, chosen once from the call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RowKind {
    /// One-hot logits of at most [`narrow::NARROW`] classes: [`narrow`]'s
    /// tiles of [`LANES`] rows.
    Tiles,
    /// Wider one-hot logits: [`one_hot`]'s rows, as many as [`BATCH`]
    /// entries hold (at least 1, at most [`LANES`]).
    Batches,
    /// Every other row ([`dense`], one-hot probabilities): one at a time.
    Single,
}

impl RowKind {
    /// The kind of rows of c classes, of one-hot logits or not.
    fn of(one_hot_logits: bool, c: usize) -> Self {
        match (one_hot_logits, c <= narrow::NARROW) {
            (true, true) => RowKind::Tiles,
            (true, false) => RowKind::Batches,
            (false, _) => RowKind::Single,
        }
    }

    /// Rows taken at a time.
    fn step(self, c: usize) -> usize {
        match self {
            RowKind::Tiles => LANES,
            RowKind::Batches => (BATCH / c).clamp(1, LANES),
            RowKind::Single => 1,
        }
    }
}

/// What every segment of one computation shares.
struct Setup<'a, T, Term, Tg> {
    pred: &'a [T],
    c: usize,
    kind: RowKind,
    block_rows: usize,
    /// The reduction's factor of every derivative.
    scale: T,
    /// The FLOOR mode's floor (-Inf: none).
    floor: T,
    logits: bool,
    /// Whether the terms need ln(1 - p) ([`dense`]).
    complement: bool,
    term: &'a Term,
    targets: &'a Tg,
    reducer: &'a Reducer,
}

/// The loss sums of a segment's blocks ([`BLOCK`]), and the block being
/// summed.
#[derive(Default)]
struct BlockSums {
    sums: Vec<f64>,
    sum: f64,
    rows: usize,
}

/// A contiguous range of rows and its part of the outputs.
struct Segment<'a, T> {
    first_row: usize,
    rows: usize,
    /// Per-sample losses (`Reduction::None` only).
    out: Option<&'a mut [T]>,
    grad: Option<&'a mut [T]>,
    hess: Option<&'a mut [T]>,
}

/// [`Setup::run`] as a [`Kernel`].
struct RunSegment<'s, 'a, T, Term, Tg> {
    setup: &'s Setup<'a, T, Term, Tg>,
    seg: Segment<'s, T>,
}

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Kernel for RunSegment<'_, '_, T, Term, Tg> {
    type Output = Result<Vec<f64>>;
    #[inline(always)]
    fn run<S: Isa>(self) -> Self::Output {
        self.setup.run::<S>(self.seg)
    }
}

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Setup<'_, T, Term, Tg> {
    /// Computes one segment row by row (narrow one-hot rows a tile at a
    /// time, [`narrow`]); returns each block's loss sum (in f64, rows in
    /// order) unless the losses are written per sample.
    #[inline(always)]
    fn run<S: Isa>(&self, mut seg: Segment<T>) -> Result<Vec<f64>> {
        let c = self.c;
        let step = self.kind.step(c);
        let mut blocks = BlockSums::default();
        let mut chunk = dense::Chunk::new();
        let mut tile = narrow::Tile::new();
        let mut r = 0;
        while r < seg.rows {
            let live = step.min(seg.rows - r);
            let grad = seg.grad.as_deref_mut().map(|x| &mut x[r * c..][..live * c]);
            let hess = seg.hess.as_deref_mut().map(|x| &mut x[r * c..][..live * c]);
            let g0 = seg.first_row + r;
            if S::PREFETCH_TILES && self.kind == RowKind::Tiles {
                // The tile after the next one.
                let ahead = ((g0 + 2 * step) * c).min(self.pred.len());
                prefetch::read(&self.pred[ahead..(ahead + step * c).min(self.pred.len())]);
            }
            let tiled = match self.kind {
                RowKind::Tiles => Some(self.one_hot_tile::<S>(g0, live, grad, hess, &mut tile)?),
                RowKind::Batches => Some(self.one_hot_rows::<S>(g0, live, grad, hess)?),
                RowKind::Single => None,
            };
            match (tiled, seg.out.as_deref_mut()) {
                (Some(values), None) => {
                    self.add_to_blocks(&values[..live], r, seg.rows, &mut blocks)
                }
                (tiled, _) => {
                    for i in 0..live {
                        let value = match tiled {
                            Some(values) => values[i],
                            None => self.row::<S>(&mut seg, r + i, &mut chunk)?,
                        };
                        match seg.out.as_deref_mut() {
                            Some(out) => out[r + i] = T::from_f64(self.reducer.sample_value(value)),
                            None => self.add_to_blocks(&[value], r + i, seg.rows, &mut blocks),
                        }
                    }
                }
            }
            r += live;
        }
        Ok(blocks.sums)
    }

    /// Adds the losses of rows `r..r + values.len()` of a segment of `rows`
    /// rows to their blocks' sums, in order.
    #[inline(always)]
    fn add_to_blocks(&self, values: &[f64], r: usize, rows: usize, blocks: &mut BlockSums) {
        let mut i = 0;
        while i < values.len() {
            // The rows up to the block's end in a loop without a call (a
            // sum live across the push's call stayed in memory, each row's
            // addition waiting for the last one's store: a tenth of a row's
            // time at c = 10).
            let end = values.len().min(i + self.block_rows - blocks.rows);
            let mut sum = blocks.sum;
            for &v in &values[i..end] {
                sum += v;
            }
            (blocks.sum, blocks.rows) = (sum, blocks.rows + end - i);
            i = end;
            if blocks.rows == self.block_rows || r + i == rows {
                blocks.sums.push(blocks.sum);
                (blocks.sum, blocks.rows) = (0.0, 0);
            }
        }
    }

    /// Row r of the segment: writes its gradient and Hessian rows if asked,
    /// returns its loss.
    #[inline(always)]
    fn row<S: Isa>(
        &self,
        seg: &mut Segment<T>,
        r: usize,
        chunk: &mut dense::Chunk<T>,
    ) -> Result<f64> {
        let c = self.c;
        let g = seg.first_row + r;
        let z = &self.pred[g * c..][..c];
        let grad = seg.grad.as_deref_mut().map(|x| &mut x[r * c..][..c]);
        let hess = seg.hess.as_deref_mut().map(|x| &mut x[r * c..][..c]);
        if !self.targets.counted(g) {
            // Ignored: loss and derivatives 0, predictions unread.
            for x in [grad, hess].into_iter().flatten() {
                x.fill(T::ZERO);
            }
            Ok(0.0)
        } else if !self.logits {
            self.probability_row(g, z, grad, hess, chunk)
        } else {
            self.logits_row::<S>(g, z, grad, hess, chunk)
        }
    }
}

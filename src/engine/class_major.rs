//! The class-major layout: rows go through in blocks stored class-major
//! ([`Columns`]), so that each per-class step is a long loop over rows,
//! vectorised whatever c is, and threads take whole blocks.

use super::{p_times, times_scale, try_filled, ClassPoint, ClassTerm, Layout, Targets};
use crate::error::{shape_error, Error, Result};
use crate::float::{select, Float};
use crate::hessian::{self, floored};
use crate::kernels::{self, Columns, Softmax};
use crate::options::{Input, Options};
use crate::parallel::{self, split_off};
use crate::reduce::{Outputs, Reducer};
use crate::simd::{self, Isa, Kernel};

/// Entries per block (c x rows): small enough for the buffers to stay in
/// cache, large enough for long loops.
const BLOCK: usize = 8192;
/// Fewest rows per block, so that loops over rows stay vectorised for
/// large c (up to [`MAX_BUFFER_BYTES`]).
const MIN_ROWS: usize = 32;
/// Most bytes of one buffer of a block (c x rows values) whatever c, down
/// to one row: the 7 buffers of [`Block`] then hold at most 14 MiB
/// (channels-first inputs with over 16384 f32 or 8192 f64 classes; they
/// held 32 rows, 7 x 32 x C values).
const MAX_BUFFER_BYTES: usize = 2 << 20;

/// Buffers of one block of rows, class-major ([`Columns`]).
struct Block<T> {
    coef: Vec<T>,
    log_p: Vec<T>,
    p: Vec<T>,
    q: Vec<T>,
    log_q: Vec<T>,
    first: Vec<T>,
    second: Vec<T>,
    /// Per row: counted (not ignored), loss, and the softmax's quantities.
    counted: Vec<bool>,
    valid: Vec<bool>,
    /// Per-row sums over classes accumulate in f64 whatever T: the loss,
    /// and S_rest (`s_wide`), then rounded once to T: S_rest and S.
    value: Vec<f64>,
    s_wide: Vec<f64>,
    s_rest: Vec<T>,
    s_all: Vec<T>,
    u_top: Vec<T>,
    softmax: Softmax<T>,
}

impl<T: Float> Block<T> {
    /// The buffers, or [`Error::Memory`] (never an abort).
    fn new(c: usize, stride: usize) -> Result<Self> {
        let len = c.checked_mul(stride).ok_or(Error::Memory {
            bytes: usize::MAX,
            what: "class-major block",
        })?;
        let zeros = |k: usize| try_filled(k, T::ZERO, "class-major block");
        let filled = |k: usize, v| try_filled(k, v, "class-major block");
        let wide = |k: usize| try_filled(k, 0.0f64, "class-major block");
        Ok(Block {
            coef: zeros(len)?,
            log_p: zeros(len)?,
            p: zeros(len)?,
            q: zeros(len)?,
            log_q: zeros(len)?,
            first: zeros(len)?,
            second: zeros(len)?,
            counted: filled(stride, false)?,
            valid: filled(stride, true)?,
            value: wide(stride)?,
            s_wide: wide(stride)?,
            s_rest: zeros(stride)?,
            s_all: zeros(stride)?,
            u_top: zeros(stride)?,
            softmax: Softmax::new(stride)?,
        })
    }
}

/// Computes a multi-class loss over the rows of `pred` (c classes each, in
/// the [`Layout`] `opts.positions` gives: a row is then one position).
///
/// `targets` gives each row's per-class coefficients, or says the row is
/// ignored (its loss, gradient and Hessian are 0 and its predictions are
/// not validated).
///
/// Rows go through in blocks stored class-major ([`Columns`]), so that
/// every step is a long vectorised loop over rows, whatever c is. Blocks are
/// the same runs of `stride` rows in both layouts (a block may span samples
/// or part of one), so a channels-first call gives the bits of the row call
/// on its transposition, reductions included.
pub(crate) fn compute<T: Float, Term: ClassTerm<T>>(
    pred: &[T],
    c: usize,
    opts: &Options,
    term: &Term,
    targets: &impl Targets<T>,
    reducer: Reducer,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    if c > u32::MAX as usize {
        return Err(shape_error!(
            "c = {c} classes: at most 2^32 - 1 are supported"
        ));
    }
    let layout = Layout::new(c, opts.positions);
    let rows = pred.len() / c;
    // No more rows per block than the call has.
    let stride = (BLOCK / c)
        .max(MIN_ROWS)
        .min((MAX_BUFFER_BYTES / core::mem::size_of::<T>() / c).max(1))
        .min(rows.max(1));
    let complement = term.needs_complement() || outputs.hess.is_some();
    let floor = hessian::floor_of::<T>(opts.hessian)?.to_f64();
    // Split the rows and their outputs into pieces for the threads, in
    // whole blocks (a segment may start inside a channels-first sample).
    // About 4 cost units per entry (1-3 ns in f32); see parallel::Cost.
    let cost = parallel::Cost::of::<T>(4);
    let bounds: Vec<(usize, usize)> = parallel::segments(rows, c, stride, opts.threads, cost)
        .into_iter()
        .map(|range| (range.start, range.end))
        .collect();
    let mut out = reducer.per_sample().then_some(&mut outputs.out[..]);
    let grad = split_classes(outputs.grad.as_deref_mut(), &layout, &bounds);
    let hess = split_classes(outputs.hess.as_deref_mut(), &layout, &bounds);
    let segments: Vec<Segment<T>> = bounds
        .iter()
        .zip(grad.zip(hess))
        .map(|(&(first_row, end), (grad, hess))| Segment {
            first_row,
            rows: end - first_row,
            out: split_off(&mut out, end - first_row),
            grad,
            hess,
        })
        .collect();
    let setup = Setup {
        pred,
        layout,
        stride,
        logits: opts.input == Input::Logits,
        complement,
        floor,
        term,
        targets,
        reducer: &reducer,
    };
    let results = parallel::map(segments, opts.threads, |seg| setup.run(seg));
    super::reduce_segments(reducer, results, outputs.out)
}

/// A segment's share of a per-class output (grad or hess), as disjoint
/// mutable slices of the caller's array.
enum Part<'a, T> {
    /// Whole samples (or rows), `rows` rows from row `first` on.
    Whole {
        first: usize,
        rows: usize,
        buf: &'a mut [T],
    },
    /// Rows `first..first + rows` of one sample (channels-first, a sample
    /// shared with another segment): class j's run is `runs[j]`.
    Runs {
        first: usize,
        rows: usize,
        runs: Vec<&'a mut [T]>,
    },
}

impl<T> Part<'_, T> {
    fn contains(&self, g: usize) -> bool {
        let (Part::Whole { first, rows, .. } | Part::Runs { first, rows, .. }) = self;
        (*first..first + rows).contains(&g)
    }
}

/// Splits a per-class output array into each segment's [`Part`]s (one
/// `None` per segment when the output is not asked for). Segments start at
/// block boundaries, which in channels-first need not be sample boundaries:
/// a sample shared by two segments is split class run by class run.
fn split_classes<'a, T>(
    buf: Option<&'a mut [T]>,
    layout: &Layout,
    bounds: &[(usize, usize)],
) -> impl Iterator<Item = Option<Vec<Part<'a, T>>>> {
    let Some(mut rest) = buf else {
        return Vec::from_iter(bounds.iter().map(|_| None)).into_iter();
    };
    let (c, s) = (layout.c, layout.positions);
    let split_runs = |runs: Vec<&'a mut [T]>, at: usize| -> (Vec<_>, Vec<_>) {
        runs.into_iter().map(|run| run.split_at_mut(at)).unzip()
    };
    // `rest` starts at the sample boundary `next`; `pending` holds the
    // runs of the rows of a split sample not yet given to a segment.
    let (mut next, mut pending) = (0, Vec::new());
    let mut result = Vec::with_capacity(bounds.len());
    for &(first, end) in bounds {
        let (mut g, mut parts) = (first, Vec::new());
        if !pending.is_empty() {
            let until = end.min(next);
            let (left, right) = split_runs(std::mem::take(&mut pending), until - g);
            parts.push(Part::Runs {
                first: g,
                rows: until - g,
                runs: left,
            });
            if until < next {
                pending = right;
            }
            g = until;
        }
        if g < end {
            let whole = (end - g) / s * s;
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(whole * c);
            rest = tail;
            if whole > 0 {
                parts.push(Part::Whole {
                    first: g,
                    rows: whole,
                    buf: head,
                });
            }
            g += whole;
            next = g;
            if g < end {
                let (sample, tail) = std::mem::take(&mut rest).split_at_mut(s * c);
                rest = tail;
                next = g + s;
                let (left, right) = split_runs(sample.chunks_mut(s).collect(), end - g);
                parts.push(Part::Runs {
                    first: g,
                    rows: end - g,
                    runs: left,
                });
                pending = right;
            }
        }
        result.push(Some(parts));
    }
    result.into_iter()
}

/// A contiguous range of rows and its part of the outputs.
struct Segment<'a, T> {
    /// Index of the segment's first row in the whole input.
    first_row: usize,
    rows: usize,
    /// Per-sample losses (`Reduction::None` only).
    out: Option<&'a mut [T]>,
    grad: Option<Vec<Part<'a, T>>>,
    hess: Option<Vec<Part<'a, T>>>,
}

/// What every segment of one computation shares.
struct Setup<'a, T, Term, Tg> {
    pred: &'a [T],
    layout: Layout,
    stride: usize,
    logits: bool,
    complement: bool,
    /// The FLOOR mode's floor (-Inf: none).
    floor: f64,
    term: &'a Term,
    targets: &'a Tg,
    reducer: &'a Reducer,
}

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Setup<'_, T, Term, Tg> {
    /// Computes one segment block by block, compiled for the process's
    /// instruction set ([`simd::dispatch`]); returns each block's loss sum
    /// (in f64, rows in order) unless the losses are written per sample.
    fn run(&self, seg: Segment<T>) -> Result<Vec<f64>> {
        simd::dispatch(RunSegment { setup: self, seg })
    }

    /// The body of [`Setup::run`].
    #[inline(always)]
    fn run_here(&self, mut seg: Segment<T>) -> Result<Vec<f64>> {
        let (layout, logits) = (&self.layout, self.logits);
        let c = layout.c;
        let scale = self.reducer.derivative_scale::<T>();
        let floor = T::from_f64(self.floor);
        let mut b = Block::new(c, self.stride)?;
        let mut sums = Vec::new();
        for local_row in (0..seg.rows).step_by(self.stride) {
            let first_row = seg.first_row + local_row;
            let cols = Columns {
                stride: self.stride,
                rows: self.stride.min(seg.rows - local_row),
            };
            load(
                layout,
                &cols,
                self.pred,
                first_row,
                logits,
                self.targets,
                &mut b,
            );
            if logits {
                let entropy = self.term.is_entropy();
                kernels::softmax(&cols, c, &mut b.log_p, &mut b.p, entropy, &mut b.softmax);
            }
            check_rows(layout, &cols, self.pred, first_row, logits, &b)?;
            if self.targets.is_one_hot() {
                if logits && seg.hess.is_some() {
                    complements(&cols, c, true, false, &mut b);
                }
                one_hot_terms(&cols, c, self.term, self.targets, logits, first_row, &mut b);
            } else {
                if !logits {
                    for (lp, &p) in b.log_p.iter_mut().zip(&b.p) {
                        *lp = p.ln();
                    }
                }
                complements(&cols, c, logits, self.complement, &mut b);
                evaluate_terms(&cols, c, self.term, logits, &mut b);
            }
            let at = Place {
                layout,
                cols: &cols,
                first_row,
            };
            if logits {
                softmax_derivatives(
                    &at,
                    (scale, floor),
                    self.term.reports_fisher_weights(),
                    seg.grad.as_deref_mut(),
                    seg.hess.as_deref_mut(),
                    &mut b,
                );
            } else {
                if let Some(grad) = seg.grad.as_deref_mut() {
                    store(
                        &at,
                        &mut b.first,
                        (scale, T::NEG_INFINITY),
                        &b.counted,
                        grad,
                    );
                }
                if let Some(hess) = seg.hess.as_deref_mut() {
                    store(&at, &mut b.second, (scale, floor), &b.counted, hess);
                }
            }
            let values = (0..cols.rows).map(|r| select(b.counted[r], b.value[r], 0.0));
            match seg.out.as_deref_mut() {
                Some(out) => {
                    for (o, v) in out[local_row..].iter_mut().zip(values) {
                        *o = T::from_f64(self.reducer.sample_value(v));
                    }
                }
                None => sums.push(values.fold(0.0, |acc, v| acc + v)),
            }
        }
        Ok(sums)
    }
}

/// A block's place in the caller's arrays.
struct Place<'a> {
    layout: &'a Layout,
    cols: &'a Columns,
    first_row: usize,
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
        self.setup.run_here(self.seg)
    }
}

/// Fills the block's coefficients and predictions from `pred`, and notes
/// which rows are valid: logits finite or -Inf, probabilities finite and in
/// [0, 1] ([`check_rows`] reports the offending entry).
#[inline(always)]
fn load<T: Float>(
    layout: &Layout,
    cols: &Columns,
    pred: &[T],
    first_row: usize,
    logits: bool,
    targets: &impl Targets<T>,
    b: &mut Block<T>,
) {
    let (c, n) = (layout.c, cols.rows);
    targets.fill(layout, cols, first_row, &mut b.coef);
    for (r, counted) in b.counted[..n].iter_mut().enumerate() {
        *counted = targets.counted(first_row + r);
    }
    for j in 0..c {
        for (a, &k) in cols.of_mut(&mut b.coef, j).iter_mut().zip(&b.counted) {
            *a = select(k, *a, T::ZERO);
        }
    }
    let dst = if logits { &mut b.log_p } else { &mut b.p };
    layout.gather(pred, first_row, cols, dst);
    let valid = &mut b.valid[..n];
    valid.fill(true);
    for j in 0..c {
        for (ok, &v) in valid.iter_mut().zip(cols.of(dst, j)) {
            *ok &= if logits {
                v < T::INFINITY
            } else {
                (v >= T::ZERO) & (v <= T::ONE)
            };
        }
    }
    for r in 0..n {
        if !(b.counted[r] && b.valid[r]) {
            // Ignored or invalid rows get a harmless distribution, so that
            // the block's arithmetic stays finite.
            for j in 0..c {
                dst[j * cols.stride + r] = if logits { T::ZERO } else { T::ONE };
            }
        }
    }
}

/// Fails on the first counted row (in order) that is invalid or, for
/// logits, has no possible class (every logit -Inf), naming the entry.
fn check_rows<T: Float>(
    layout: &Layout,
    cols: &Columns,
    pred: &[T],
    first_row: usize,
    logits: bool,
    b: &Block<T>,
) -> Result<()> {
    for r in 0..cols.rows {
        let no_class = logits && b.softmax.max[r] == T::NEG_INFINITY;
        if !b.counted[r] || (b.valid[r] && !no_class) {
            continue;
        }
        return Err(super::row_error(layout, pred, first_row + r, logits));
    }
    Ok(())
}

/// q = 1 - p and, `with_log`, ln q, for every class of the block; for
/// logits the top class's are those formed from the other classes.
#[inline(always)]
fn complements<T: Float>(cols: &Columns, c: usize, logits: bool, with_log: bool, b: &mut Block<T>) {
    let len = c * cols.stride;
    for (q, &p) in b.q[..len].iter_mut().zip(&b.p[..len]) {
        *q = T::ONE - p;
    }
    if with_log {
        // ln_1p(-p), not ln(1 - p), which is 0 for p < eps/2 (then
        // (1 - p)^gamma was 1 at any gamma, and its derivatives overflowed).
        for (lq, &p) in b.log_q[..len].iter_mut().zip(&b.p[..len]) {
            *lq = (-p).ln_1p();
        }
    }
    if logits {
        for r in 0..cols.rows {
            let at = b.softmax.top[r] as usize * cols.stride + r;
            (b.q[at], b.log_q[at]) = (b.softmax.q_top[r], b.softmax.log_q_top[r]);
        }
    }
}

/// One-hot targets: evaluates only the labelled class's term of each row
/// (the other classes' terms are 0), into the same buffers as
/// [`evaluate_terms`], with the same results.
#[inline(always)]
fn one_hot_terms<T: Float, Term: ClassTerm<T>>(
    cols: &Columns,
    c: usize,
    term: &Term,
    targets: &impl Targets<T>,
    logits: bool,
    first_row: usize,
    b: &mut Block<T>,
) {
    let len = c * cols.stride;
    b.first[..len].fill(T::ZERO);
    b.second[..len].fill(T::ZERO);
    for r in 0..cols.rows {
        (b.value[r], b.s_wide[r], b.u_top[r]) = (0.0, 0.0, T::ZERO);
        if !b.counted[r] {
            continue;
        }
        let (y, a) = targets.one_hot(first_row + r);
        let at = y * cols.stride + r;
        let p = b.p[at];
        let top = b.softmax.top[r] as usize;
        let (q, log_q) = if logits && y == top {
            (b.softmax.q_top[r], b.softmax.log_q_top[r])
        } else {
            (T::ONE - p, (-p).ln_1p())
        };
        let point = ClassPoint {
            log_p: if logits { b.log_p[at] } else { p.ln() },
            p,
            log_q,
            q,
        };
        let d = if logits {
            term.log_space(a, point)
        } else {
            term.prob_space(a, point)
        };
        (b.value[r], b.first[at], b.second[at]) = (d.value.to_f64(), d.first, d.second);
        if logits {
            let is_top = y == top;
            b.s_wide[r] = select(is_top, 0.0, d.first.to_f64());
            b.u_top[r] = select(is_top, d.first, T::ZERO);
        }
    }
    round_sums(cols.rows, b);
}

/// Evaluates the term of every class of the block: `first`, `second`, the
/// row losses `value`, and for logits the top class's dG/dl (`u_top`) and
/// the sum of the others' (`s_rest`).
#[inline(always)]
fn evaluate_terms<T: Float, Term: ClassTerm<T>>(
    cols: &Columns,
    c: usize,
    term: &Term,
    logits: bool,
    b: &mut Block<T>,
) {
    let n = cols.rows;
    b.value[..n].fill(0.0);
    b.s_wide[..n].fill(0.0);
    for j in 0..c {
        if logits {
            log_space_column(
                term,
                j as u32,
                &b.softmax.top[..n],
                cols.of(&b.coef, j),
                cols.of(&b.p, j),
                cols.of(&b.log_p, j),
                cols.of(&b.q, j),
                cols.of(&b.log_q, j),
                cols.of_mut(&mut b.first, j),
                cols.of_mut(&mut b.second, j),
                &mut b.value[..n],
                &mut b.s_wide[..n],
            );
        } else {
            prob_space_column(
                term,
                cols.of(&b.coef, j),
                cols.of(&b.p, j),
                cols.of(&b.log_p, j),
                cols.of(&b.q, j),
                cols.of(&b.log_q, j),
                cols.of_mut(&mut b.first, j),
                cols.of_mut(&mut b.second, j),
                &mut b.value[..n],
            );
        }
    }
    if logits {
        for r in 0..n {
            b.u_top[r] = b.first[b.softmax.top[r] as usize * cols.stride + r];
        }
        if term.is_entropy() {
            b.value[..n].copy_from_slice(&b.softmax.entropy[..n]);
        }
    }
    round_sums(n, b);
}

/// S_rest and S = S_rest + u_top from the f64 sum, each rounded once.
#[inline(always)]
fn round_sums<T: Float>(n: usize, b: &mut Block<T>) {
    for r in 0..n {
        b.s_rest[r] = T::from_f64(b.s_wide[r]);
        b.s_all[r] = T::from_f64(b.s_wide[r] + b.u_top[r].to_f64());
    }
}

// The column kernels take every buffer as its own slice argument: Rust
// tells the compiler that such arguments do not alias, which is what lets
// it vectorise loops over a dozen arrays without runtime overlap checks.

/// Class j of every row, from logits: evaluates the term and accumulates
/// the row sums.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn log_space_column<T: Float, Term: ClassTerm<T>>(
    term: &Term,
    j: u32,
    top: &[u32],
    coef: &[T],
    p: &[T],
    log_p: &[T],
    q: &[T],
    log_q: &[T],
    first: &mut [T],
    second: &mut [T],
    value: &mut [f64],
    s_rest: &mut [f64],
) {
    let n = top.len();
    let (coef, p, log_p, q, log_q) = (&coef[..n], &p[..n], &log_p[..n], &q[..n], &log_q[..n]);
    let (first, second, value, s_rest) = (
        &mut first[..n],
        &mut second[..n],
        &mut value[..n],
        &mut s_rest[..n],
    );
    for r in 0..n {
        let at = ClassPoint {
            log_p: log_p[r],
            p: p[r],
            log_q: log_q[r],
            q: q[r],
        };
        let d = term.log_space(coef[r], at);
        (first[r], second[r]) = (d.first, d.second);
        value[r] += d.value.to_f64();
        s_rest[r] += select(top[r] == j, 0.0, d.first.to_f64());
    }
}

/// Class j of every row, from probabilities.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn prob_space_column<T: Float, Term: ClassTerm<T>>(
    term: &Term,
    coef: &[T],
    p: &[T],
    log_p: &[T],
    q: &[T],
    log_q: &[T],
    first: &mut [T],
    second: &mut [T],
    value: &mut [f64],
) {
    let n = coef.len();
    let (p, log_p, q, log_q) = (&p[..n], &log_p[..n], &q[..n], &log_q[..n]);
    let (first, second, value) = (&mut first[..n], &mut second[..n], &mut value[..n]);
    for r in 0..n {
        let at = ClassPoint {
            log_p: log_p[r],
            p: p[r],
            log_q: log_q[r],
            q: q[r],
        };
        let d = term.prob_space(coef[r], at);
        (first[r], second[r]) = (d.first, d.second);
        value[r] += d.value.to_f64();
    }
}

/// Class j's gradient from logits, in place of u: u - p S, and for the top
/// class u (1 - p) - p S_rest, without the cancellation of u - p S when
/// p -> 1.
#[inline(always)]
fn gradient_column<T: Float>(
    j: u32,
    top: &[u32],
    s_rest: &[T],
    s_all: &[T],
    q_top: &[T],
    p: &[T],
    u: &mut [T],
) {
    let n = top.len();
    let (s_rest, s_all, q_top, p, u) =
        (&s_rest[..n], &s_all[..n], &q_top[..n], &p[..n], &mut u[..n]);
    for r in 0..n {
        let s = s_all[r];
        u[r] = select(
            top[r] == j,
            u[r] * q_top[r] - p_times(p[r], s_rest[r]),
            u[r] - p_times(p[r], s),
        );
    }
}

/// Writes a block buffer, times `scale` and raised to `floor` (-Inf: none;
/// [`floored`]), into the caller's output `parts` (zero for ignored rows);
/// the buffer is scaled in place first.
#[inline(always)]
fn store<T: Float>(
    at: &Place,
    src: &mut [T],
    (scale, floor): (T, T),
    counted: &[bool],
    parts: &mut [Part<T>],
) {
    let (layout, cols) = (at.layout, at.cols);
    let c = layout.c;
    for j in 0..c {
        scale_column(cols.of_mut(src, j), &counted[..cols.rows], scale, floor);
    }
    if layout.positions == 1 {
        // Rows: the segment is one part, and the block a transposition.
        let Some(Part::Whole { first, buf, .. }) = parts.first_mut() else {
            unreachable!("a row segment is one whole part")
        };
        kernels::from_columns(src, c, cols, &mut buf[(at.first_row - *first) * c..]);
        return;
    }
    for (g, len) in layout.runs(at.first_row, cols.rows) {
        let part = parts.iter_mut().find(|part| part.contains(g));
        let Some(part) = part else {
            unreachable!("row {g} is outside its segment")
        };
        match part {
            Part::Whole { first, buf, .. } => {
                let base = layout.index(*first, 0);
                for j in 0..c {
                    let from = &src[j * cols.stride + g - at.first_row..][..len];
                    buf[layout.index(g, j) - base..][..len].copy_from_slice(from);
                }
            }
            Part::Runs { first, runs, .. } => {
                for (j, run) in runs.iter_mut().enumerate() {
                    let from = &src[j * cols.stride + g - at.first_row..][..len];
                    run[g - *first..][..len].copy_from_slice(from);
                }
            }
        }
    }
}

/// x = max(x * scale, floor) ([`times_scale`]), or 0 for an ignored row; a zero scale (a
/// mean over nothing, or over samples whose weights are all 0) gives exact
/// zeros before the floor, also where a per-sample derivative is infinite.
#[inline(always)]
fn scale_column<T: Float>(x: &mut [T], counted: &[bool], scale: T, floor: T) {
    for (v, &k) in x.iter_mut().zip(counted) {
        *v = select(k, floored(times_scale(*v, scale), floor), T::ZERO);
    }
}

/// Gradient and Hessian diagonal with respect to the logits (module docs;
/// `fisher`: the Fisher surrogate from the weights in `second`), written to
/// the block's rows of `grad` and `hess`, `hess` scaled and floored by
/// `(scale, floor)`.
#[inline(always)]
fn softmax_derivatives<T: Float>(
    at: &Place,
    (scale, floor): (T, T),
    fisher: bool,
    grad: Option<&mut [Part<T>]>,
    hess: Option<&mut [Part<T>]>,
    b: &mut Block<T>,
) {
    let (cols, c) = (at.cols, at.layout.c);
    let n = cols.rows;
    if let Some(hess) = hess {
        if fisher {
            fisher_hessian(at, b);
        } else {
            softmax_hessian(at, b);
        }
        store(at, &mut b.second, (scale, floor), &b.counted, hess);
    }
    if let Some(grad) = grad {
        for j in 0..c {
            gradient_column(
                j as u32,
                &b.softmax.top[..n],
                &b.s_rest[..n],
                &b.s_all[..n],
                &b.softmax.q_top[..n],
                cols.of(&b.p, j),
                cols.of_mut(&mut b.first, j),
            );
        }
        store(at, &mut b.first, (scale, T::NEG_INFINITY), &b.counted, grad);
    }
}

/// The Fisher surrogate C p_k (1 - p_k), C the row's sum of the weights
/// c_j that `second` holds ([`crate::hessian`]), in place of the weights.
#[inline(always)]
fn fisher_hessian<T: Float>(at: &Place, b: &mut Block<T>) {
    let (cols, c) = (at.cols, at.layout.c);
    let n = cols.rows;
    let mut total = vec![0.0f64; n];
    for j in 0..c {
        for (s, &w) in total.iter_mut().zip(cols.of(&b.second, j)) {
            *s += w.to_f64();
        }
    }
    for j in 0..c {
        let (p, q) = (cols.of(&b.p, j), cols.of(&b.q, j));
        let h = cols.of_mut(&mut b.second, j);
        for r in 0..n {
            h[r] = p_times(p[r], T::from_f64(total[r]) * q[r]);
        }
    }
}

/// d^2L/dz_k^2 = v_k (1 - 2 p_k) - p_k (1 - p_k) S + p_k^2 V from
/// w = (1 - p) v (`second`): the top class as w q - p q S + p^2 V_rest, the
/// others with p_k^2 v_top = p_k (p_k / q_top) w_top, p_k / q_top <= 1.
#[inline(always)]
fn softmax_hessian<T: Float>(at: &Place, b: &mut Block<T>) {
    let (cols, c) = (at.cols, at.layout.c);
    let n = cols.rows;
    let top = &b.softmax.top[..n];
    let log_q_top = &b.softmax.log_q_top[..n];
    let s_all = &b.s_all[..n];
    // V_rest = sum of v_j = w_j / q_j over the other classes (q_j >= 1/2
    // there), and w of the top class.
    let mut v_wide = vec![0.0f64; n];
    let mut w_top = vec![T::ZERO; n];
    for j in 0..c {
        let (w, q) = (cols.of(&b.second, j), cols.of(&b.q, j));
        for r in 0..n {
            let is_top = top[r] == j as u32;
            v_wide[r] += select(is_top, 0.0, (w[r] / q[r]).to_f64());
            w_top[r] = select(is_top, w[r], w_top[r]);
        }
    }
    let v_rest: Vec<T> = v_wide.into_iter().map(T::from_f64).collect();
    for j in 0..c {
        let (p, q, log_p) = (cols.of(&b.p, j), cols.of(&b.q, j), cols.of(&b.log_p, j));
        let w = cols.of_mut(&mut b.second, j);
        for r in 0..n {
            let s = s_all[r];
            let (pj, qj) = (p[r], q[r]);
            let ratio = select(
                pj == T::ZERO,
                T::ZERO,
                (log_p[r] - log_q_top[r]).exp().min(T::ONE),
            );
            let common = p_times(pj, -qj * s + pj * v_rest[r]);
            let other = w[r] / qj * (T::ONE - T::TWO * pj) + common + p_times(pj, ratio * w_top[r]);
            let top_class = w_top[r] * qj + common;
            w[r] = select(top[r] == j as u32, top_class, other);
        }
    }
}

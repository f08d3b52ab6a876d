//! The class-major layout: rows go through in blocks stored class-major
//! ([`Columns`]), so that each per-class step is a long loop over rows,
//! vectorised whatever c is, and threads take whole blocks.

use super::{ClassPoint, ClassTerm, Targets};
use crate::error::{shape_error, Error, Result};
use crate::float::{select, Float};
use crate::hessian::{self, floored};
use crate::kernels::{self, Columns, Softmax};
use crate::options::{Input, Options};
use crate::parallel::{self, split_off};
use crate::reduce::{Outputs, Reducer};
use crate::simd::{self, Isa, Kernel};
use crate::validate;

/// Entries per block (c x rows): small enough for the buffers to stay in
/// cache, large enough for long loops.
const BLOCK: usize = 8192;
/// Fewest rows per block, so that loops over rows stay vectorised for
/// large c.
const MIN_ROWS: usize = 32;

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
    value: Vec<T>,
    s_rest: Vec<T>,
    u_top: Vec<T>,
    softmax: Softmax<T>,
}

impl<T: Float> Block<T> {
    fn new(c: usize, stride: usize) -> Self {
        let len = c * stride;
        let zeros = |k: usize| vec![T::ZERO; k];
        Block {
            coef: zeros(len),
            log_p: zeros(len),
            p: zeros(len),
            q: zeros(len),
            log_q: zeros(len),
            first: zeros(len),
            second: zeros(len),
            counted: vec![false; stride],
            valid: vec![true; stride],
            value: zeros(stride),
            s_rest: zeros(stride),
            u_top: zeros(stride),
            softmax: Softmax::new(stride),
        }
    }
}

/// Computes a multi-class loss over the rows of `pred` (c classes each).
///
/// `targets` gives each row's per-class coefficients, or says the row is
/// ignored (its loss, gradient and Hessian are 0 and its predictions are
/// not validated).
///
/// Rows go through in blocks stored class-major ([`Columns`]), so that
/// every step is a long vectorised loop over rows, whatever c is.
pub(crate) fn compute<T: Float, Term: ClassTerm<T>>(
    pred: &[T],
    c: usize,
    opts: &Options,
    term: &Term,
    targets: &impl Targets<T>,
    mut reducer: Reducer,
    outputs: &mut Outputs<T>,
) -> Result<()> {
    if c > u32::MAX as usize {
        return Err(shape_error!(
            "c = {c} classes: at most 2^32 - 1 are supported"
        ));
    }
    let stride = (BLOCK / c).max(MIN_ROWS);
    let complement = term.needs_complement() || outputs.hess.is_some();
    let floor = hessian::floor_of::<T>(opts.hessian)?.to_f64();
    // Split the rows and their outputs into one segment per thread, in
    // whole blocks.
    let mut out = reducer.per_sample().then_some(&mut outputs.out[..]);
    let (mut grad, mut hess) = (outputs.grad.as_deref_mut(), outputs.hess.as_deref_mut());
    let segments: Vec<_> = parallel::segments(pred.len() / c, c, stride, opts.threads)
        .into_iter()
        .map(|rows| {
            let n = rows.len();
            Segment {
                pred: &pred[rows.start * c..rows.end * c],
                first_row: rows.start,
                out: split_off(&mut out, n),
                grad: split_off(&mut grad, n * c),
                hess: split_off(&mut hess, n * c),
            }
        })
        .collect();
    let setup = Setup {
        c,
        stride,
        logits: opts.input == Input::Logits,
        complement,
        floor,
        term,
        targets,
        reducer: &reducer,
    };
    let results = parallel::map(segments, |seg| setup.run(seg));
    // The first error in row order; block sums added in block order, so the
    // result does not depend on the number of threads.
    for partials in results {
        for sum in partials? {
            reducer.add_partial(sum);
        }
    }
    reducer.finish(outputs.out);
    Ok(())
}

/// A contiguous range of rows and its part of the outputs.
struct Segment<'a, T> {
    pred: &'a [T],
    /// Index of the segment's first row in the whole input.
    first_row: usize,
    /// Per-sample losses (`Reduction::None` only).
    out: Option<&'a mut [T]>,
    grad: Option<&'a mut [T]>,
    hess: Option<&'a mut [T]>,
}

/// What every segment of one computation shares.
struct Setup<'a, Term, Tg> {
    c: usize,
    stride: usize,
    logits: bool,
    complement: bool,
    /// The FLOOR mode's floor (-Inf: none).
    floor: f64,
    term: &'a Term,
    targets: &'a Tg,
    reducer: &'a Reducer,
}

impl<Term, Tg> Setup<'_, Term, Tg> {
    /// Computes one segment block by block, compiled for the process's
    /// instruction set ([`simd::dispatch`]); returns each block's loss sum
    /// (in f64, rows in order) unless the losses are written per sample.
    fn run<T: Float>(&self, seg: Segment<T>) -> Result<Vec<f64>>
    where
        Term: ClassTerm<T>,
        Tg: Targets<T>,
    {
        simd::dispatch(RunSegment { setup: self, seg })
    }

    /// The body of [`Setup::run`].
    #[inline(always)]
    fn run_here<T: Float>(&self, mut seg: Segment<T>) -> Result<Vec<f64>>
    where
        Term: ClassTerm<T>,
        Tg: Targets<T>,
    {
        let (c, logits) = (self.c, self.logits);
        let scale = self.reducer.derivative_scale::<T>();
        let floor = T::from_f64(self.floor);
        let mut b = Block::new(c, self.stride);
        let mut sums = Vec::new();
        for (block_index, rows) in seg.pred.chunks(self.stride * c).enumerate() {
            let local_row = block_index * self.stride;
            let first_row = seg.first_row + local_row;
            let cols = Columns {
                stride: self.stride,
                rows: rows.len() / c,
            };
            load(&cols, c, rows, first_row, logits, self.targets, &mut b);
            if logits {
                kernels::softmax(&cols, c, &mut b.log_p, &mut b.p, &mut b.softmax);
            }
            check_rows(&cols, c, rows, first_row, logits, &b)?;
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
            if logits {
                softmax_derivatives(
                    &cols,
                    c,
                    (scale, floor),
                    self.term.reports_fisher_weights(),
                    local_row,
                    seg.grad.as_deref_mut(),
                    seg.hess.as_deref_mut(),
                    &mut b,
                );
            } else {
                if let Some(grad) = seg.grad.as_deref_mut() {
                    store(
                        &cols,
                        c,
                        local_row,
                        &mut b.first,
                        (scale, T::NEG_INFINITY),
                        &b.counted,
                        grad,
                    );
                }
                if let Some(hess) = seg.hess.as_deref_mut() {
                    store(
                        &cols,
                        c,
                        local_row,
                        &mut b.second,
                        (scale, floor),
                        &b.counted,
                        hess,
                    );
                }
            }
            let values = (0..cols.rows).map(|r| select(b.counted[r], b.value[r], T::ZERO));
            match seg.out.as_deref_mut() {
                Some(out) => {
                    for (o, v) in out[local_row..].iter_mut().zip(values) {
                        *o = self.reducer.sample_value(v);
                    }
                }
                None => sums.push(values.fold(0.0, |acc, v| acc + v.to_f64())),
            }
        }
        Ok(sums)
    }
}

/// [`Setup::run`] as a [`Kernel`].
struct RunSegment<'s, 'a, Term, Tg, T> {
    setup: &'s Setup<'a, Term, Tg>,
    seg: Segment<'s, T>,
}

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Kernel for RunSegment<'_, '_, Term, Tg, T> {
    type Output = Result<Vec<f64>>;
    #[inline(always)]
    fn run<S: Isa>(self) -> Self::Output {
        self.setup.run_here(self.seg)
    }
}

/// Fills the block's coefficients and predictions from `rows` (row-major),
/// and notes which rows are valid: logits finite or -Inf, probabilities
/// finite and in [0, 1] ([`check_rows`] reports the offending entry).
#[inline(always)]
fn load<T: Float>(
    cols: &Columns,
    c: usize,
    rows: &[T],
    first_row: usize,
    logits: bool,
    targets: &impl Targets<T>,
    b: &mut Block<T>,
) {
    targets.fill(cols, c, first_row, &mut b.coef);
    for r in 0..cols.rows {
        b.counted[r] = targets.counted(first_row + r);
        let row = &rows[r * c..(r + 1) * c];
        b.valid[r] = if logits {
            row.iter().fold(true, |ok, &z| ok & (z < T::INFINITY))
        } else {
            row.iter()
                .fold(true, |ok, &v| ok & (v >= T::ZERO) & (v <= T::ONE))
        };
    }
    for j in 0..c {
        for (a, &k) in cols.of_mut(&mut b.coef, j).iter_mut().zip(&b.counted) {
            *a = select(k, *a, T::ZERO);
        }
    }
    let dst = if logits { &mut b.log_p } else { &mut b.p };
    kernels::to_columns(rows, c, cols, dst);
    for r in 0..cols.rows {
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
    cols: &Columns,
    c: usize,
    rows: &[T],
    first_row: usize,
    logits: bool,
    b: &Block<T>,
) -> Result<()> {
    for r in 0..cols.rows {
        let no_class = logits && b.softmax.max[r] == T::NEG_INFINITY;
        if !b.counted[r] || (b.valid[r] && !no_class) {
            continue;
        }
        let first_index = (first_row + r) * c;
        for (j, &z) in rows[r * c..(r + 1) * c].iter().enumerate() {
            if logits {
                validate::logit("pred", first_index + j, z)?;
            } else {
                validate::probability("pred", first_index + j, z)?;
            }
        }
        return Err(Error::NonFinite {
            arg: "pred",
            index: first_index,
            value: f64::NEG_INFINITY,
            why: "every logit of the row is -Inf: no class is possible",
        });
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
        for (lq, &q) in b.log_q[..len].iter_mut().zip(&b.q[..len]) {
            *lq = q.ln();
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
        (b.value[r], b.s_rest[r], b.u_top[r]) = (T::ZERO, T::ZERO, T::ZERO);
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
            (T::ONE - p, (T::ONE - p).ln())
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
        (b.value[r], b.first[at], b.second[at]) = (d.value, d.first, d.second);
        if logits {
            let is_top = y == top;
            b.s_rest[r] = select(is_top, T::ZERO, d.first);
            b.u_top[r] = select(is_top, d.first, T::ZERO);
        }
    }
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
    b.value[..n].fill(T::ZERO);
    b.s_rest[..n].fill(T::ZERO);
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
                &mut b.s_rest[..n],
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
    value: &mut [T],
    s_rest: &mut [T],
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
        value[r] += d.value;
        s_rest[r] += select(top[r] == j, T::ZERO, d.first);
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
    value: &mut [T],
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
        value[r] += d.value;
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
    u_top: &[T],
    q_top: &[T],
    p: &[T],
    u: &mut [T],
) {
    let n = top.len();
    let (s_rest, u_top, q_top, p, u) =
        (&s_rest[..n], &u_top[..n], &q_top[..n], &p[..n], &mut u[..n]);
    for r in 0..n {
        let s = s_rest[r] + u_top[r];
        u[r] = select(
            top[r] == j,
            u[r] * q_top[r] - p[r] * s_rest[r],
            u[r] - p[r] * s,
        );
    }
}

/// Writes a block buffer, times `scale` and raised to `floor` (-Inf: none;
/// [`floored`]), into the row-major output (zero for ignored rows); the
/// buffer is scaled in place first.
#[inline(always)]
fn store<T: Float>(
    cols: &Columns,
    c: usize,
    first_row: usize,
    src: &mut [T],
    (scale, floor): (T, T),
    counted: &[bool],
    dst: &mut [T],
) {
    for j in 0..c {
        scale_column(cols.of_mut(src, j), &counted[..cols.rows], scale, floor);
    }
    kernels::from_columns(src, c, cols, &mut dst[first_row * c..]);
}

/// x = max(x * scale, floor), or 0 for an ignored row; a zero scale (a
/// mean over nothing, or over samples whose weights are all 0) gives exact
/// zeros before the floor, also where a per-sample derivative is infinite.
#[inline(always)]
fn scale_column<T: Float>(x: &mut [T], counted: &[bool], scale: T, floor: T) {
    let live = scale != T::ZERO;
    for (v, &k) in x.iter_mut().zip(counted) {
        *v = select(
            k,
            floored(select(live, *v * scale, T::ZERO), floor),
            T::ZERO,
        );
    }
}

/// Gradient and Hessian diagonal with respect to the logits (module docs;
/// `fisher`: the Fisher surrogate from the weights in `second`), written to
/// the block's rows of `grad` and `hess` (from `first_row`), `hess` scaled
/// and floored by `(scale, floor)`.
#[inline(always)]
fn softmax_derivatives<T: Float>(
    cols: &Columns,
    c: usize,
    (scale, floor): (T, T),
    fisher: bool,
    first_row: usize,
    grad: Option<&mut [T]>,
    hess: Option<&mut [T]>,
    b: &mut Block<T>,
) {
    let n = cols.rows;
    if let Some(hess) = hess {
        if fisher {
            fisher_hessian(cols, c, b);
        } else {
            softmax_hessian(cols, c, b);
        }
        store(
            cols,
            c,
            first_row,
            &mut b.second,
            (scale, floor),
            &b.counted,
            hess,
        );
    }
    if let Some(grad) = grad {
        for j in 0..c {
            gradient_column(
                j as u32,
                &b.softmax.top[..n],
                &b.s_rest[..n],
                &b.u_top[..n],
                &b.softmax.q_top[..n],
                cols.of(&b.p, j),
                cols.of_mut(&mut b.first, j),
            );
        }
        store(
            cols,
            c,
            first_row,
            &mut b.first,
            (scale, T::NEG_INFINITY),
            &b.counted,
            grad,
        );
    }
}

/// The Fisher surrogate C p_k (1 - p_k), C the row's sum of the weights
/// c_j that `second` holds ([`crate::hessian`]), in place of the weights.
#[inline(always)]
fn fisher_hessian<T: Float>(cols: &Columns, c: usize, b: &mut Block<T>) {
    let n = cols.rows;
    let mut total = vec![T::ZERO; n];
    for j in 0..c {
        for (s, &w) in total.iter_mut().zip(cols.of(&b.second, j)) {
            *s += w;
        }
    }
    for j in 0..c {
        let (p, q) = (cols.of(&b.p, j), cols.of(&b.q, j));
        let h = cols.of_mut(&mut b.second, j);
        for r in 0..n {
            h[r] = total[r] * p[r] * q[r];
        }
    }
}

/// d^2L/dz_k^2 = v_k (1 - 2 p_k) - p_k (1 - p_k) S + p_k^2 V from
/// w = (1 - p) v (`second`): the top class as w q - p q S + p^2 V_rest, the
/// others with p_k^2 v_top = p_k (p_k / q_top) w_top, p_k / q_top <= 1.
#[inline(always)]
fn softmax_hessian<T: Float>(cols: &Columns, c: usize, b: &mut Block<T>) {
    let n = cols.rows;
    let top = &b.softmax.top[..n];
    let log_q_top = &b.softmax.log_q_top[..n];
    let (s_rest, u_top) = (&b.s_rest[..n], &b.u_top[..n]);
    // V_rest = sum of v_j = w_j / q_j over the other classes (q_j >= 1/2
    // there), and w of the top class.
    let mut v_rest = vec![T::ZERO; n];
    let mut w_top = vec![T::ZERO; n];
    for j in 0..c {
        let (w, q) = (cols.of(&b.second, j), cols.of(&b.q, j));
        for r in 0..n {
            let is_top = top[r] == j as u32;
            v_rest[r] += select(is_top, T::ZERO, w[r] / q[r]);
            w_top[r] = select(is_top, w[r], w_top[r]);
        }
    }
    for j in 0..c {
        let (p, q, log_p) = (cols.of(&b.p, j), cols.of(&b.q, j), cols.of(&b.log_p, j));
        let w = cols.of_mut(&mut b.second, j);
        for r in 0..n {
            let s = s_rest[r] + u_top[r];
            let (pj, qj) = (p[r], q[r]);
            let ratio = select(
                pj == T::ZERO,
                T::ZERO,
                (log_p[r] - log_q_top[r]).exp().min(T::ONE),
            );
            let other = w[r] / qj * (T::ONE - T::TWO * pj) - pj * qj * s
                + pj * pj * v_rest[r]
                + pj * ratio * w_top[r];
            let top_class = w_top[r] * qj - pj * qj * s + pj * pj * v_rest[r];
            w[r] = select(top[r] == j as u32, top_class, other);
        }
    }
}

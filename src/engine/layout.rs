//! The caller's layouts: rows of c values (n x c), or PyTorch's
//! channels-first (N, C, d1, ..., dk) with S = d1 ... dk positions per
//! sample, where class j of sample i is a contiguous run of S values.

use crate::kernels::{self, Columns};

/// How the caller's per-class arrays (predictions, dense targets, grad,
/// hess) are laid out. The engine's rows are numbered g = 0, 1, ... in the
/// caller's order: a row of c values, or position s of sample i, g = i S + s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Classes.
    pub c: usize,
    /// Positions per sample S; 1 for rows of c values (the same memory
    /// layout as channels-first with S = 1).
    pub positions: usize,
}

impl Layout {
    /// The layout `opts.positions` describes (0 and 1: rows).
    pub(crate) fn new(c: usize, positions: usize) -> Self {
        Layout {
            c,
            positions: positions.max(1),
        }
    }

    /// Flat index of class j of row g: (i C + j) S + s.
    #[inline(always)]
    pub(crate) fn index(&self, g: usize, j: usize) -> usize {
        let s = self.positions;
        (g / s * self.c + j) * s + g % s
    }

    /// The runs of `rows` rows from `first_row` on that lie within one
    /// sample each: (first row, length). Class j of such a run is
    /// contiguous in the caller's arrays, from `index(first, j)`.
    #[inline(always)]
    pub(crate) fn runs(
        &self,
        first_row: usize,
        rows: usize,
    ) -> impl Iterator<Item = (usize, usize)> {
        let (s, end) = (self.positions, first_row + rows);
        let mut g = first_row;
        core::iter::from_fn(move || {
            (g < end).then(|| {
                let run = (end - g).min(s - g % s);
                g += run;
                (g - run, run)
            })
        })
    }

    /// Copies the block's rows (from `first_row`) of the caller's array
    /// `src` into [`Columns`] layout in `dst`: a transposition for rows, one
    /// contiguous copy per class and run for channels-first.
    #[inline(always)]
    pub(crate) fn gather<T: Copy>(
        &self,
        src: &[T],
        first_row: usize,
        cols: &Columns,
        dst: &mut [T],
    ) {
        if self.positions == 1 {
            kernels::to_columns(&src[first_row * self.c..], self.c, cols, dst);
            return;
        }
        for (g, len) in self.runs(first_row, cols.rows) {
            for j in 0..self.c {
                let at = j * cols.stride + g - first_row;
                dst[at..at + len].copy_from_slice(&src[self.index(g, j)..][..len]);
            }
        }
    }
}

//! Narrow rows of logits with one-hot targets (integer labels without
//! smoothing, at most [`NARROW`] classes): a tile of
//! [`LANES`] rows at a time, row l in lane l, so that the per-row scalar
//! work of [`super::one_hot`] (the sum's logarithm, the label's term, the
//! gradient's factor) runs in vector lanes across rows instead of once per
//! row. The formulas are [`super::one_hot`]'s: row z, label y,
//! coefficient a,
//!
//!   m = max_j z_j,  e_j = exp(z_j - m),  r = sum_{j != y} e_j,  s = e_y + r
//!   ln p_y = (z_y - m) - ln s   (ln s from s and its rounding error:
//!                                [`crate::float::ln_sum`], ln_1p(r) when z_y = m)
//!   1 - p_y = r / s,  ln(1 - p_y) = ln r - ln s
//!   dL/dz_k = -p_k u  (k != y),  dL/dz_y = (1 - p_y) u,  u = dG/dl
//!
//! and its Hessian (w = (1 - p_y) d^2G/dl^2; t the largest logit's first
//! class, 1 - p_t from the sum of the other e_j when t != y):
//!
//!   d^2L/dz_k^2 = p_k (-(1 - p_k) u + (e_k / r) w)  (k != y),
//!   d^2L/dz_y^2 = (1 - p_y) (w - p_y u),  d^2L/dz_t^2 = p_t (-(1 - p_t) u + w / r)
//!
//! r summed over classes in order in f64, the row's scalars in f64. A
//! tile is transposed into a stack array (class j of the tile's rows in
//! one [`Lanes`]); its last tile may have fewer live rows, the others
//! lanes being ignored rows, so that every row takes this path whatever
//! the segments (the same bits for every number of threads). The gradient
//! is formed from the e_k as the tile goes back to its rows, the Hessian a
//! class at a time across the rows before it does
//! ([`Isa::transpose_columns`]). A tile with an invalid counted row fails
//! before writing anything, naming the first such row's offending entry.

use super::one_hot::{CurvatureLanes, RowLanes};
use super::Setup;
use crate::engine::{p_times, row_error, ClassTerm, Layout, Targets};
use crate::error::Result;
use crate::float::{select, Float};
use crate::kernels::lanes::{self, Lanes, LANES};
use crate::simd::Isa;

/// The most classes a narrow row has (the tile's size). Tiles against
/// [`super::one_hot`]'s batches of rows (f32 sparse CE, AVX2, ns per
/// element, value / + grad / + grad + hess, min of 6 alternating rounds
/// of the thread's CPU time): c = 97 1.42 / 1.64 / 3.35 against 2.15 /
/// 2.53 / 3.63; c = 113 1.38 / 1.71 / 3.09 against 1.96 / 2.17 / 3.41;
/// c = 127 1.58 / 1.78 / 3.35 against 1.62 / 1.89 / 3.01 (the Hessian
/// alone loses there); c = 128, a whole number of groups, is the batches'
/// (1.27 / 1.42 / 2.40).
pub(super) const NARROW: usize = 127;

/// A tile's rows, class-major: `cols[j][l]` is class j of row l (its logit,
/// then its e_j).
pub(super) struct Tile<T> {
    cols: [Lanes<T>; NARROW],
    /// Scratch for [`Isa::transpose_columns`].
    scratch: [Lanes<T>; NARROW],
}

impl<T: Float> Tile<T> {
    pub(super) fn new() -> Self {
        Tile {
            cols: [[T::ZERO; LANES]; NARROW],
            scratch: [[T::ZERO; LANES]; NARROW],
        }
    }
}

impl<T: Float, Term: ClassTerm<T>, Tg: Targets<T>> Setup<'_, T, Term, Tg> {
    /// Rows `g0..g0 + live` (`live` <= [`LANES`], c <= [`NARROW`]): writes
    /// their gradient and Hessian rows (`live` x c) if asked, returns
    /// their losses (lanes from `live` on: 0); fails, writing nothing, on
    /// the first invalid counted row.
    #[inline(always)]
    pub(super) fn one_hot_tile<S: Isa>(
        &self,
        g0: usize,
        live: usize,
        grad: Option<&mut [T]>,
        hess: Option<&mut [T]>,
        tile: &mut Tile<T>,
    ) -> Result<Lanes<f64>> {
        let c = self.c;
        let (cols, scratch) = (&mut tile.cols[..c], &mut tile.scratch);
        let (mut y, mut a, mut counted) = ([0u32; LANES], [T::ZERO; LANES], [false; LANES]);
        for l in 0..live {
            let g = g0 + l;
            counted[l] = self.targets.counted(g);
            if counted[l] {
                let (label, coef) = self.targets.one_hot(g);
                (y[l], a[l]) = (label as u32, coef);
            }
        }
        // The transposition; ignored rows (their logits unread) and the
        // lanes past `live` hold 0.
        let z = &self.pred[g0 * c..][..live * c];
        S::transpose_rows(z, &counted, cols);
        let mut m = [T::NEG_INFINITY; LANES];
        for col in cols.iter() {
            for l in 0..LANES {
                m[l] = select(col[l] > m[l], col[l], m[l]);
            }
        }
        // The label as a T (exact: c <= NARROW), so that every lane loop
        // below is of one width (the compiler vectorises them).
        let label = y.map(|v| T::from_f64(v as f64));
        let (mut z_y, mut rest) = ([T::ZERO; LANES], [0.0f64; LANES]);
        for (j, col) in cols.iter_mut().enumerate() {
            let (v, class) = (*col, T::from_f64(j as f64));
            for l in 0..LANES {
                z_y[l] = select(class == label[l], v[l], z_y[l]);
            }
            *col = S::exp_lanes(v, m);
        }
        // The other classes' exps are added to the f64 sums in a loop of
        // their own: in the exp loop, the compiler ran the exps at the
        // width of those sums (half a vector).
        for (j, e) in cols.iter().enumerate() {
            let class = T::from_f64(j as f64);
            let mut others = [T::ZERO; LANES];
            for l in 0..LANES {
                others[l] = select(class == label[l], T::ZERO, e[l]);
            }
            rest = lanes::add_lanes(rest, others);
        }
        let mut rows = RowLanes::new();
        for l in 0..LANES {
            let dy = z_y[l].to_f64() - m[l].to_f64();
            rows.set(l, counted[l], (y[l] as usize, a[l]), m[l], dy, rest[l]);
        }
        let terms = self.label_terms::<S>(&rows);
        if let Some(l) = terms.first_invalid() {
            // Before anything of the tile is written.
            return Err(row_error(&Layout::new(c, 1), self.pred, g0 + l, true));
        }
        let (value, factor, grad_y, curv) = (terms.value, terms.factor, terms.grad_y, &terms.curv);
        if let Some(grad) = grad {
            // e_k: p_k times the factor.
            S::transpose_columns(cols, grad, |e, l| p_times(e, factor[l]), scratch);
            for (l, row) in grad.chunks_exact_mut(c).enumerate() {
                if counted[l] {
                    row[y[l] as usize] = grad_y[l];
                }
            }
        }
        if let Some(hess) = hess {
            // The largest logit's first class, where it is not the label's
            // (-1: none).
            let mut top = [-T::ONE; LANES];
            for (l, z) in z.chunks_exact(c).enumerate() {
                if counted[l] && z_y[l] != m[l] {
                    if let Some(t) = z.iter().position(|&v| v == m[l]) {
                        top[l] = T::from_f64(t as f64);
                    }
                }
            }
            self.tile_hessian::<S>(cols, (&label, &top, &counted), curv, (hess, scratch));
        }
        Ok(value)
    }

    /// The Hessian rows of a tile (module docs), from the e_k in `cols`,
    /// each row's label, largest logit's class t (-1: none, or the label)
    /// and [`Curvature`]: scaled and floored, ignored rows 0. Computed a
    /// class at a time across the rows (each column then replaces its
    /// e_k in `cols`), and transposed to the rows (`scratch`: [`Isa::transpose_columns`]).
    #[inline(always)]
    fn tile_hessian<S: Isa>(
        &self,
        cols: &mut [Lanes<T>],
        (label, top, counted): (&Lanes<T>, &Lanes<T>, &[bool; LANES]),
        curv: &CurvatureLanes<T>,
        (hess, scratch): (&mut [T], &mut [Lanes<T>]),
    ) {
        // 1 - p_t from the sum of the other e_j (e_t = 1), in class order.
        let mut others = [-0.0f64; LANES];
        for (j, col) in cols.iter().enumerate() {
            let class = T::from_f64(j as f64);
            for l in 0..LANES {
                others[l] += select(class == top[l], -0.0, col[l].to_f64());
            }
        }
        let (mut inv_s, mut r, mut at_label, mut at_top) = (
            [T::ZERO; LANES],
            [T::ZERO; LANES],
            [T::ZERO; LANES],
            [T::ZERO; LANES],
        );
        for l in 0..LANES {
            let row = curv.at(l);
            (inv_s[l], r[l]) = (T::from_f64(1.0 / row.s), T::from_f64(row.r));
            at_label[l] = self.label_hessian(&row);
            at_top[l] = self.top_hessian(others[l], &row);
        }
        for (j, col) in cols.iter_mut().enumerate() {
            let class = T::from_f64(j as f64);
            let mut h = [T::ZERO; LANES];
            for l in 0..LANES {
                let entry = self.hessian_entry(col[l], inv_s[l], r[l], (curv.u[l], curv.w[l]));
                let v = select(class == top[l], at_top[l], entry);
                h[l] = select(
                    counted[l],
                    select(class == label[l], at_label[l], v),
                    T::ZERO,
                );
            }
            *col = h;
        }
        S::transpose_columns(cols, hess, |h, _| h, scratch);
    }
}

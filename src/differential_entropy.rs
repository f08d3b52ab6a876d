//! Differential entropy of a continuous variable, H(X) = -∫ f(x) log_b f(x) dx,
//! estimated from samples or integrated from a sampled density.
//!
//! # From samples: spacing estimators
//!
//! These are SciPy's `scipy.stats.differential_entropy` estimators, term for
//! term. Let X(1) <= ... <= X(n) be the sorted sample and m the window
//! (`window`, default floor(sqrt(n) + 0.5)), with 1 <= m and 2m < n. Indices
//! outside [1, n] are clipped to it (X(i) = X(1) for i < 1, X(n) for i > n).
//!
//! - Vasicek (1976):
//!   H_V = 1/n sum_i ln( n / (2m) (X(i+m) - X(i-m)) ).
//! - van Es (1992), with spacings of order m and no clipping:
//!   H_VE = 1/(n-m) sum_{i=1}^{n-m} ln( (n+1)/m (X(i+m) - X(i)) ) +
//!   sum_{k=m}^{n} 1/k + ln(m / (n+1)),
//!   computed as 1/(n-m) sum ln(X(i+m) - X(i)) + sum_{k=m}^{n} 1/k (the
//!   logarithms of (n+1)/m cancel).
//! - Ebrahimi, Pflughoeft and Soofi (1994):
//!   H_E = 1/n sum_i ln( n (X(i+m) - X(i-m)) / (c_i m) ),
//!   c_i = 1 + (i-1)/m for i <= m, 1 + (n-i)/m for i >= n-m+1, 2 otherwise.
//!   c_i m is the number of spacings the clipped window spans, so each term
//!   is ln(n times the mean spacing of its window): on evenly spaced points
//!   of step h every term, hence H_E, is exactly ln(n h).
//! - Correa (1995), a local linear regression of X on the rank:
//!   H_C = -1/n sum_i ln( sum_j (j-i)(X(j) - Xbar_i) / (n sum_j (X(j) - Xbar_i)^2) ),
//!   j from i-m to i+m (X(j) clipped, j - i not), Xbar_i the mean of those 2m+1.
//! - Auto: van Es for n <= 10, Ebrahimi for n <= 1000, Vasicek above
//!   (SciPy's choice).
//!
//! Error: an estimate is random, with a standard deviation of order
//! 1/sqrt(n) (sqrt(Var ln f(X) / n) = 0.0022 nats for 10^5 standard normal
//! samples), and biased; all are consistent (they converge to H as
//! n -> inf, m -> inf, m/n -> 0). Vasicek's clipped end windows are divided
//! by 2m although they span fewer spacings, which biases it low for small
//! n; Ebrahimi divides by the spacings spanned (each of its terms is >= the
//! Vasicek term). van Es's spacings leave out the outer m/(2n) of the
//! probability at each end, so with the default m ~ sqrt(n) it is biased
//! low for large n (hence SciPy's choice of it for n <= 10 only). Mean error
//! in nats for standard normal samples, default window, 40 draws each:
//!
//! | n    | Vasicek | van Es | Ebrahimi | Correa |
//! |------|---------|--------|----------|--------|
//! | 100  | -0.09   | -0.15  | -0.02    | -0.02  |
//! | 1000 | -0.011  | -0.080 | +0.009   | +0.011 |
//! | 10^4 | +0.001  | -0.036 | +0.007   | +0.008 |
//! | 10^5 | +0.002  | -0.014 | +0.004   | +0.004 |
//!
//! Repeated values: a window of equal values (a zero spacing) makes a
//! logarithm -Inf, and the estimate is -Inf, as SciPy returns for Vasicek,
//! van Es and Ebrahimi. For Correa SciPy computes 0/0 there and returns NaN;
//! floss returns the limit -Inf (the window's term tends to -Inf as its
//! values merge). Every finite sample gives a finite value or -Inf, never
//! NaN or +Inf: a spacing wider than the largest double is taken in halves
//! (ln d = ln(d / 2) + ln 2), and Correa's window moments are scaled by
//! powers of two (see [`correa`]), also for subnormal spreads.
//!
//! Cost: one sorted `f64` copy of the samples (O(n log n) time, O(n)
//! memory); every estimator is then O(n). Correa's window moments are slid
//! with a two-stack queue of mergeable moments, so no sum is ever updated by
//! subtraction and each term is as accurate as SciPy's two-pass one.
//!
//! # From a density: Simpson's rule
//!
//! f_0, ..., f_{n-1} sampled at x_0 + k dx: H = -∫ f ln f dx over
//! [x_0, x_{n-1}], with 0 ln 0 = 0, by composite Simpson (weights dx/3 (1, 4,
//! 2, 4, ..., 4, 1)). With an even n the last interval uses the quadratic
//! through the last three points, dx (-f_{n-3} + 8 f_{n-2} + 5 f_{n-1}) / 12,
//! as `scipy.integrate.simpson` does; n = 2 is the trapezoid rule. The error
//! is O(dx^4) (for odd n, -(b - a) dx^4 g''''(xi) / 180 for the integrand
//! g = -f ln f) when g has four continuous derivatives, e.g. a density
//! positive on the grid; it is O(dx^2) for n = 2, and the order drops where
//! f reaches 0 (g' = -(ln f + 1) f' is unbounded there). A density that
//! decays to negligible values at both ends of the grid, like a normal density
//! sampled over ±12 sigma, integrates to near rounding error.

use crate::error::{shape_error, Error, Result};
use crate::float::Float;
use crate::options::log_scale;
use crate::validate;

/// Spacing estimator of [`differential_entropy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DifferentialEntropyMethod {
    /// van Es for n <= 10, Ebrahimi for n <= 1000, Vasicek above.
    #[default]
    Auto,
    Vasicek,
    VanEs,
    Ebrahimi,
    Correa,
}

impl DifferentialEntropyMethod {
    /// The estimator used for `n` sorted samples: `Auto` resolved as SciPy does.
    fn estimator(self, n: usize) -> fn(&[f64], usize) -> f64 {
        match self {
            Self::Auto if n <= 10 => van_es,
            Self::Auto if n <= 1000 => ebrahimi,
            Self::Auto | Self::Vasicek => vasicek,
            Self::VanEs => van_es,
            Self::Ebrahimi => ebrahimi,
            Self::Correa => correa,
        }
    }
}

/// SciPy's default window, floor(sqrt(n) + 0.5).
pub fn default_window(n: usize) -> usize {
    ((n as f64).sqrt() + 0.5).floor() as usize
}

/// Estimate of the differential entropy (in base `log_base`, 0 meaning e) of
/// the distribution `samples` were drawn from. `window` 0 means
/// [`default_window`]; the window m must satisfy 2m < n.
pub fn differential_entropy<T: Float>(
    samples: &[T],
    method: DifferentialEntropyMethod,
    window: usize,
    log_base: f64,
) -> Result<f64> {
    let scale = log_scale(log_base)?;
    let n = samples.len();
    let m = if window == 0 {
        default_window(n)
    } else {
        window
    };
    if m == 0 || m.checked_mul(2).is_none_or(|width| width >= n) {
        let which = if window == 0 {
            "the default window floor(sqrt(n) + 0.5)"
        } else {
            "window"
        };
        return Err(shape_error!(
            "{which} = {m} needs n > 2 * window samples, but n = {n}"
        ));
    }
    for (i, &x) in samples.iter().enumerate() {
        validate::finite("samples", i, x)?;
    }
    let mut sorted: Vec<f64> = samples.iter().map(|x| x.to_f64()).collect();
    sorted.sort_unstable_by(f64::total_cmp);
    let nats = method.estimator(n)(&sorted, m);
    Ok(nats * scale)
}

/// The clipped window around sorted index `i`: (lowest, highest) index.
#[inline]
fn clipped_window(n: usize, i: usize, m: usize) -> (usize, usize) {
    (i.saturating_sub(m), (i + m).min(n - 1))
}

/// ln((hi - lo) / k) of a spacing of sorted samples, also where hi - lo
/// overflows (samples spanning more than the largest double).
fn ln_spacing(hi: f64, lo: f64, k: f64) -> f64 {
    let spacing = hi - lo;
    if spacing.is_finite() {
        (spacing / k).ln()
    } else {
        (hi * 0.5 - lo * 0.5).ln() + core::f64::consts::LN_2 - k.ln()
    }
}

/// H_V = mean_i ln(n / (2m) (X(i+m) - X(i-m))).
fn vasicek(x: &[f64], m: usize) -> f64 {
    let n = x.len();
    let log_factor = (n as f64 / (2 * m) as f64).ln();
    let sum: f64 = (0..n)
        .map(|i| {
            let (lo, hi) = clipped_window(n, i, m);
            ln_spacing(x[hi], x[lo], 1.0)
        })
        .sum();
    sum / n as f64 + log_factor
}

/// H_E = mean_i ln(n (X(i+m) - X(i-m)) / (c_i m)), c_i m = hi - lo.
fn ebrahimi(x: &[f64], m: usize) -> f64 {
    let n = x.len();
    let sum: f64 = (0..n)
        .map(|i| {
            let (lo, hi) = clipped_window(n, i, m);
            ln_spacing(x[hi], x[lo], (hi - lo) as f64)
        })
        .sum();
    sum / n as f64 + (n as f64).ln()
}

/// H_VE = mean_{i < n-m} ln(X(i+m) - X(i)) + sum_{k=m}^{n} 1/k.
fn van_es(x: &[f64], m: usize) -> f64 {
    let n = x.len();
    let log_spacings: f64 = x.windows(m + 1).map(|w| ln_spacing(w[m], w[0], 1.0)).sum();
    // Smallest terms first.
    let harmonic: f64 = (m..=n).rev().map(|k| 1.0 / k as f64).sum();
    log_spacings / (n - m) as f64 + harmonic
}

/// Count, means and centred second moments of a run of (rank, value) points.
#[derive(Debug, Clone, Copy)]
struct Moments {
    count: f64,
    mean_rank: f64,
    mean_value: f64,
    /// sum (value - mean_value)^2
    value_m2: f64,
    /// sum (rank - mean_rank)(value - mean_value)
    co_moment: f64,
}

impl Moments {
    const EMPTY: Moments = Moments {
        count: 0.0,
        mean_rank: 0.0,
        mean_value: 0.0,
        value_m2: 0.0,
        co_moment: 0.0,
    };

    fn point(rank: usize, value: f64) -> Self {
        Moments {
            count: 1.0,
            mean_rank: rank as f64,
            mean_value: value,
            ..Self::EMPTY
        }
    }

    /// The moments of `self` followed by `later` (Chan, Golub and LeVeque's
    /// pairwise update). `later` holds higher ranks and values no smaller,
    /// so every added term is >= 0: nothing cancels.
    fn then(self, later: Moments) -> Moments {
        if self.count == 0.0 {
            return later;
        }
        if later.count == 0.0 {
            return self;
        }
        let count = self.count + later.count;
        let later_share = later.count / count;
        let pair_weight = self.count * later_share;
        let rank_gap = later.mean_rank - self.mean_rank;
        let value_gap = later.mean_value - self.mean_value;
        Moments {
            count,
            mean_rank: self.mean_rank + rank_gap * later_share,
            mean_value: self.mean_value + value_gap * later_share,
            value_m2: self.value_m2 + later.value_m2 + value_gap * value_gap * pair_weight,
            co_moment: self.co_moment + later.co_moment + rank_gap * value_gap * pair_weight,
        }
    }
}

/// H_C = mean_i ln(n sum_j (X(j) - Xbar_i)^2 / sum_j (j-i)(X(j) - Xbar_i)).
///
/// Each window's term is scale-free up to a logarithm: for samples times
/// s, its ratio is s times the original, so the term grows by ln s. The
/// window moments square deviations, so every window is evaluated on the
/// samples times a power of two that puts its largest magnitude where
/// squares neither overflow nor underflow: first the one that brings the
/// largest sample into [1, 2), then, for windows still below
/// [`SMALL_WINDOW`] (samples spanning both ~1e-300 and ~1e300, or
/// subnormal spreads), passes scaled up by 2^[`RESCALE`] more. Scaling by
/// a power of two is exact, and ordinary samples need one pass.
fn correa(x: &[f64], m: usize) -> f64 {
    let n = x.len();
    let largest = x.iter().fold(0.0f64, |acc, v| acc.max(v.abs()));
    // The exponent that brings the largest magnitude into [1, 2).
    let mut exponent = if largest > 0.0 {
        -(largest.log2().floor() as i32)
    } else {
        0
    };
    let mut terms: Vec<Option<f64>> = vec![None; n];
    loop {
        let scaled: Vec<f64> = x.iter().map(|&v| times_power_of_two(v, exponent)).collect();
        // After the largest exponent a sample can need, resolve every window.
        let last = exponent > 2200;
        let mut pending = false;
        correa_windows(&scaled, m, |i, term| {
            if terms[i].is_some() {
                return;
            }
            let (lo, hi) = clipped_window(n, i, m);
            let magnitude = scaled[lo].abs().max(scaled[hi].abs());
            // Zeros only in the samples themselves: scaled ones may have
            // underflowed to 0.
            let zeros = x[lo] == 0.0 && x[hi] == 0.0;
            if last || zeros || magnitude >= SMALL_WINDOW {
                terms[i] = Some(term - f64::from(exponent) * core::f64::consts::LN_2);
            } else {
                pending = true;
            }
        });
        if !pending {
            break;
        }
        exponent += RESCALE;
    }
    terms.iter().map(|t| t.unwrap_or(f64::NAN)).sum::<f64>() / n as f64
}

/// Below this largest magnitude (about 2^-400) a window's squared
/// deviations may lose digits to underflow.
const SMALL_WINDOW: f64 = 1e-120;
/// The exponent each further pass of [`correa`] scales up by.
const RESCALE: i32 = 600;

/// `v 2^k`, exactly unless the result is subnormal, for any k (in steps
/// whose factors are normal numbers).
fn times_power_of_two(mut v: f64, mut k: i32) -> f64 {
    let power = |k: i32| f64::from_bits(((1023 + k) as u64) << 52);
    while k > 1000 {
        v *= power(1000);
        k -= 1000;
    }
    while k < -1000 {
        v *= power(-1000);
        k += 1000;
    }
    v * power(k)
}

/// Calls `visit(i, term)` with the term ln(n sum_j (X(j) - Xbar_i)^2 /
/// sum_j (j-i)(X(j) - Xbar_i)) of every window i of the sorted `x`.
///
/// Window i covers ranks i..i+2m of the padded sequence Z(r) = X(r - m)
/// (clipped). The windows slide through a two-stack queue: `suffix` holds the
/// moments of every suffix of the front run, `back` those of the run pushed
/// since; a window is one merge of the two, and each rank enters a suffix
/// once, so the whole pass is O(n). Only ranks of window i enter its
/// moments.
fn correa_windows(x: &[f64], m: usize, mut visit: impl FnMut(usize, f64)) {
    let n = x.len();
    let width = 2 * m + 1;
    let padded = |rank: usize| x[rank.saturating_sub(m).min(n - 1)];
    let mut suffix = vec![Moments::EMPTY; width];
    let (mut front_start, mut front_end) = (0, 0);
    let (mut back, mut back_end) = (Moments::EMPTY, 0);
    let log_n = (n as f64).ln();
    for i in 0..n {
        while back_end < i + width {
            back = back.then(Moments::point(back_end, padded(back_end)));
            back_end += 1;
        }
        if i == front_end {
            let mut tail = Moments::EMPTY;
            for rank in (i..back_end).rev() {
                tail = Moments::point(rank, padded(rank)).then(tail);
                suffix[rank - i] = tail;
            }
            (front_start, front_end) = (i, back_end);
            back = Moments::EMPTY;
        }
        let window = suffix[i - front_start].then(back);
        // A window of equal values: 0/0, whose limit is ln 0.
        visit(
            i,
            if window.co_moment == 0.0 {
                f64::NEG_INFINITY
            } else {
                log_n + window.value_m2.ln() - window.co_moment.ln()
            },
        );
    }
}

/// -∫ f log_b f dx (0 log 0 = 0) for `density` sampled every `dx`, by
/// composite Simpson (see the module documentation). Needs n >= 2 values,
/// each finite and >= 0, and a finite dx > 0.
pub fn differential_entropy_density<T: Float>(density: &[T], dx: T, log_base: f64) -> Result<f64> {
    let scale = log_scale(log_base)?;
    let n = density.len();
    if n < 2 {
        return Err(shape_error!(
            "density has n = {n} values: the integral needs at least 2"
        ));
    }
    if !(dx.is_finite() && dx > T::ZERO) {
        return Err(crate::error::argument_error!(
            "dx = {dx} must be finite and > 0"
        ));
    }
    let mut sum = 0.0;
    for (i, &f) in density.iter().enumerate() {
        validate::finite("density", i, f)?;
        if f < T::ZERO {
            return Err(Error::NegativeDensity {
                arg: "density",
                index: i,
                value: f.to_f64(),
            });
        }
        let f = f.to_f64();
        if f > 0.0 {
            sum -= simpson_weight(i, n) * f * f.ln();
        }
    }
    Ok(sum * dx.to_f64() * scale)
}

/// Weight of point `i` of `n` in Simpson's rule on a unit step.
fn simpson_weight(i: usize, n: usize) -> f64 {
    if n == 2 {
        return 0.5; // the trapezoid rule on the only interval
    }
    // Composite Simpson over the first odd number of points (all n if n is
    // odd, else n - 1) ...
    let simpson_points = if n % 2 == 1 { n } else { n - 1 };
    let composite = if i >= simpson_points {
        0.0
    } else if i == 0 || i == simpson_points - 1 {
        1.0 / 3.0
    } else if i % 2 == 1 {
        4.0 / 3.0
    } else {
        2.0 / 3.0
    };
    // ... and, for even n, the last interval by the quadratic through the
    // last three points: (-1, 8, 5) / 12.
    let last_interval = match (n % 2, n - 1 - i) {
        (0, 0) => 5.0 / 12.0,
        (0, 1) => 8.0 / 12.0,
        (0, 2) => -1.0 / 12.0,
        _ => 0.0,
    };
    composite + last_interval
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simpson_weights_sum_to_the_number_of_intervals() {
        for n in 2..12 {
            let total: f64 = (0..n).map(|i| simpson_weight(i, n)).sum();
            assert!((total - (n - 1) as f64).abs() < 1e-12, "n = {n}: {total}");
        }
    }

    #[test]
    fn simpson_weights_integrate_cubics_exactly() {
        // Exact for cubics on an odd number of points and, with the last
        // interval's quadratic rule, for quadratics on an even number.
        for n in 2..12 {
            let degree = if n % 2 == 1 { 3 } else { 2 };
            let degree = if n == 2 { 1 } else { degree };
            for p in 0..=degree {
                let got: f64 = (0..n)
                    .map(|i| simpson_weight(i, n) * (i as f64).powi(p))
                    .sum();
                let want = ((n - 1) as f64).powi(p + 1) / (p + 1) as f64;
                assert!((got - want).abs() < 1e-9 * want.max(1.0), "n {n} p {p}");
            }
        }
    }

    #[test]
    fn merged_moments_equal_two_pass_ones() {
        let values = [0.5, 0.5, 1.0, 2.5, 2.5, 7.0, 7.25];
        let merged = values
            .iter()
            .enumerate()
            .fold(Moments::EMPTY, |acc, (r, &v)| {
                acc.then(Moments::point(r, v))
            });
        let k = values.len() as f64;
        let mean_value = values.iter().sum::<f64>() / k;
        let mean_rank = (k - 1.0) / 2.0;
        let m2: f64 = values.iter().map(|v| (v - mean_value).powi(2)).sum();
        let co: f64 = values
            .iter()
            .enumerate()
            .map(|(r, v)| (r as f64 - mean_rank) * (v - mean_value))
            .sum();
        assert!((merged.value_m2 - m2).abs() < 1e-12 * m2);
        assert!((merged.co_moment - co).abs() < 1e-12 * co);
        assert!((merged.mean_value - mean_value).abs() < 1e-15 * mean_value);
    }
}

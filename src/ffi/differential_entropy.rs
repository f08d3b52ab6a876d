//! C exports: differential_entropy, differential_entropy_density.

use super::types::*;
use super::{guard, read_options, Buffer, Reads};
use crate::differential_entropy::DifferentialEntropyMethod;
use crate::error::{argument_error, Result};
use crate::float::Float;

/// `method` of `floss_differential_entropy_*`: van Es for n <= 10, Ebrahimi
/// for n <= 1000, Vasicek above (SciPy's `method='auto'`).
pub const FLOSS_DIFFERENTIAL_ENTROPY_AUTO: u32 = 0;
/// `method`: Vasicek (1976), mean of ln(n / (2m) (X(i+m) - X(i-m))).
pub const FLOSS_DIFFERENTIAL_ENTROPY_VASICEK: u32 = 1;
/// `method`: van Es (1992), spacings X(i+m) - X(i) plus a bias correction.
pub const FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES: u32 = 2;
/// `method`: Ebrahimi, Pflughoeft and Soofi (1994), Vasicek with the end
/// windows divided by the number of spacings they span.
pub const FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI: u32 = 3;
/// `method`: Correa (1995), local linear regression of the sample on its rank.
pub const FLOSS_DIFFERENTIAL_ENTROPY_CORREA: u32 = 4;

fn method_of(method: u32) -> Result<DifferentialEntropyMethod> {
    Ok(match method {
        FLOSS_DIFFERENTIAL_ENTROPY_AUTO => DifferentialEntropyMethod::Auto,
        FLOSS_DIFFERENTIAL_ENTROPY_VASICEK => DifferentialEntropyMethod::Vasicek,
        FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES => DifferentialEntropyMethod::VanEs,
        FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI => DifferentialEntropyMethod::Ebrahimi,
        FLOSS_DIFFERENTIAL_ENTROPY_CORREA => DifferentialEntropyMethod::Correa,
        other => {
            return Err(argument_error!(
                "method = {other} is not a FLOSS_DIFFERENTIAL_ENTROPY_* value (0 to 4)"
            ))
        }
    })
}

/// Checks `out` (one element, disjoint from `input`), runs `compute` on the
/// input slice and stores its result.
///
/// # Safety
/// `out` is NULL or valid for one element; `input` satisfies the C contract.
unsafe fn write_scalar<T: Float>(
    input: Buffer<T>,
    out: *mut T,
    compute: impl FnOnce(&[T]) -> Result<f64>,
) -> Result<()> {
    let out = Buffer::new(out, 1, "out")?;
    out.span().disjoint_from(&input.span())?;
    // SAFETY: checked above; the caller's contract makes both valid.
    let value = compute(unsafe { input.as_slice() })?;
    let out = unsafe { out.as_mut_slice() };
    out[0] = T::from_f64(value);
    Ok(())
}

unsafe fn differential_entropy<T: Float>(
    samples: *const T,
    n: usize,
    method: u32,
    window: usize,
    opts: *const floss_options,
    out: *mut T,
) -> Result<()> {
    let samples = Buffer::new(samples, n, "samples")?;
    let method = method_of(method)?;
    let opts = unsafe { read_options(opts, Reads::LogBase) }?;
    unsafe {
        write_scalar(samples, out, |samples| {
            crate::differential_entropy::differential_entropy(
                samples,
                method,
                window,
                opts.log_base,
            )
        })
    }
}

unsafe fn differential_entropy_density<T: Float>(
    density: *const T,
    n: usize,
    dx: T,
    opts: *const floss_options,
    out: *mut T,
) -> Result<()> {
    let density = Buffer::new(density, n, "density")?;
    let opts = unsafe { read_options(opts, Reads::LogBase) }?;
    unsafe {
        write_scalar(density, out, |density| {
            crate::differential_entropy::differential_entropy_density(density, dx, opts.log_base)
        })
    }
}

/// Estimate of the differential entropy H = -integral f log_b f dx of the
/// distribution `samples` were drawn from: SciPy's
/// `scipy.stats.differential_entropy(samples, window_length=window,
/// method=..., base=b)`.
///
/// With X(1) <= ... <= X(n) the sorted samples, m the window and indices
/// clipped to [1, n]:
/// - `FLOSS_DIFFERENTIAL_ENTROPY_VASICEK`: mean_i ln(n / (2m) (X(i+m) - X(i-m)));
/// - `_VAN_ES`: 1/(n-m) sum_{i=1}^{n-m} ln((n+1)/m (X(i+m) - X(i))) +
///   sum_{k=m}^{n} 1/k + ln(m / (n+1));
/// - `_EBRAHIMI`: mean_i ln(n (X(i+m) - X(i-m)) / (c_i m)), c_i = 1 + (i-1)/m
///   for i <= m, 1 + (n-i)/m for i > n-m, else 2;
/// - `_CORREA`: -mean_i ln(sum_j (j-i)(X(j) - Xbar_i) / (n sum_j (X(j) - Xbar_i)^2)),
///   j = i-m..i+m, Xbar_i the mean of those X(j);
/// - `_AUTO`: van Es for n <= 10, Ebrahimi for n <= 1000, Vasicek above.
///
/// - `samples`: n finite values, any order (a sorted copy is made; the
///   input is not modified). O(n log n) time, O(n) memory.
/// - `window`: m, 0 for SciPy's default floor(sqrt(n) + 0.5); needs
///   1 <= m and 2m < n (so n >= 3, and n >= 5 with the default window).
///   For van Es it is the order of the spacings X(i+m) - X(i).
/// - `opts` (NULL = defaults): reads only `log_base` (the other fields are
///   not validated).
/// - `out`: one value. Repeated values that make a window's spread 0 give
///   -Inf (SciPy: -inf, or NaN for Correa).
///
/// Returns FLOSS_OK, FLOSS_ERR_NULL_POINTER, FLOSS_ERR_SHAPE (2m >= n),
/// FLOSS_ERR_ARGUMENT (unknown method, options), FLOSS_ERR_NON_FINITE (a
/// NaN or infinite sample), FLOSS_ERR_OVERLAP (`out` overlaps `samples`),
/// FLOSS_ERR_ALIGNMENT or FLOSS_ERR_PANIC.
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_differential_entropy_f32(
    samples: *const f32,
    n: usize,
    method: u32,
    window: usize,
    opts: *const floss_options,
    out: *mut f32,
) -> floss_status {
    guard("floss_differential_entropy_f32", || unsafe {
        differential_entropy(samples, n, method, window, opts, out)
    })
}

/// `double` version of `floss_differential_entropy_f32`, same semantics.
///
/// # Safety
/// As `floss_differential_entropy_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_differential_entropy_f64(
    samples: *const f64,
    n: usize,
    method: u32,
    window: usize,
    opts: *const floss_options,
    out: *mut f64,
) -> floss_status {
    guard("floss_differential_entropy_f64", || unsafe {
        differential_entropy(samples, n, method, window, opts, out)
    })
}

/// Differential entropy of a sampled density: H = -integral f log_b f dx over
/// [x_0, x_{n-1}], with f_k = f(x_0 + k dx) and 0 log 0 = 0.
///
/// Composite Simpson's rule, weights dx/3 (1, 4, 2, 4, ..., 4, 1); for even
/// n the last interval uses dx (-f_{n-3} + 8 f_{n-2} + 5 f_{n-1}) / 12 (as
/// `scipy.integrate.simpson`), and n = 2 is the trapezoid rule. Error
/// O(dx^4) when -f ln f is smooth on the grid (a density positive on it);
/// lower order where f reaches 0 (-f ln f has an unbounded slope there). A
/// density that decays to negligible values at both ends (a normal density
/// over +-12 sigma) integrates to near rounding error.
///
/// - `density`: n >= 2 values, each finite and >= 0 (not modified; it need
///   not integrate to 1, no renormalisation is done).
/// - `dx`: the grid step, finite and > 0.
/// - `opts` (NULL = defaults): reads only `log_base` (the other fields are
///   not validated).
/// - `out`: one value.
///
/// Returns FLOSS_OK, FLOSS_ERR_NULL_POINTER, FLOSS_ERR_SHAPE (n < 2),
/// FLOSS_ERR_ARGUMENT (dx, options), FLOSS_ERR_PROBABILITY (a negative
/// density value), FLOSS_ERR_NON_FINITE (NaN or infinite density value),
/// FLOSS_ERR_OVERLAP (`out` overlaps `density`), FLOSS_ERR_ALIGNMENT or
/// FLOSS_ERR_PANIC.
///
/// # Safety
/// Pointers are NULL or valid for the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn floss_differential_entropy_density_f32(
    density: *const f32,
    n: usize,
    dx: f32,
    opts: *const floss_options,
    out: *mut f32,
) -> floss_status {
    guard("floss_differential_entropy_density_f32", || unsafe {
        differential_entropy_density(density, n, dx, opts, out)
    })
}

/// `double` version of `floss_differential_entropy_density_f32`, same semantics.
///
/// # Safety
/// As `floss_differential_entropy_density_f32`.
#[no_mangle]
pub unsafe extern "C" fn floss_differential_entropy_density_f64(
    density: *const f64,
    n: usize,
    dx: f64,
    opts: *const floss_options,
    out: *mut f64,
) -> floss_status {
    guard("floss_differential_entropy_density_f64", || unsafe {
        differential_entropy_density(density, n, dx, opts, out)
    })
}

//! `floss_differential_entropy_*` and `floss_differential_entropy_density_*`
//! through the C exports: SciPy's reference values, closed forms, an
//! independent transcription of SciPy's estimators, every reachable status.

mod common;

use common::*;
use floss::ffi::differential_entropy::*;
use floss::ffi::types::*;
use std::f64::consts::{E, LN_2, PI};

const METHODS: [u32; 4] = [
    FLOSS_DIFFERENTIAL_ENTROPY_VASICEK,
    FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES,
    FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI,
    FLOSS_DIFFERENTIAL_ENTROPY_CORREA,
];

fn opts_ptr(opts: &Option<floss_options>) -> *const floss_options {
    opts.as_ref().map_or(core::ptr::null(), |o| o as *const _)
}

/// (status, value) of the f64 sample estimator.
fn estimate(
    samples: &[f64],
    method: u32,
    window: usize,
    opts: Option<floss_options>,
) -> (u32, f64) {
    let mut out = f64::NAN;
    let status = unsafe {
        floss_differential_entropy_f64(
            samples.as_ptr(),
            samples.len(),
            method,
            window,
            opts_ptr(&opts),
            &mut out,
        )
    };
    (status, out)
}

fn estimate_f32(
    samples: &[f32],
    method: u32,
    window: usize,
    opts: Option<floss_options>,
) -> (u32, f32) {
    let mut out = f32::NAN;
    let status = unsafe {
        floss_differential_entropy_f32(
            samples.as_ptr(),
            samples.len(),
            method,
            window,
            opts_ptr(&opts),
            &mut out,
        )
    };
    (status, out)
}

/// The f64 estimate, which must succeed.
fn entropy_of(samples: &[f64], method: u32, window: usize) -> f64 {
    let (status, h) = estimate(samples, method, window, None);
    assert_eq!(status, FLOSS_OK, "{}", last_error());
    h
}

fn integrate(density: &[f64], dx: f64, opts: Option<floss_options>) -> (u32, f64) {
    let mut out = f64::NAN;
    let status = unsafe {
        floss_differential_entropy_density_f64(
            density.as_ptr(),
            density.len(),
            dx,
            opts_ptr(&opts),
            &mut out,
        )
    };
    (status, out)
}

fn integrate_f32(density: &[f32], dx: f32, opts: Option<floss_options>) -> (u32, f32) {
    let mut out = f32::NAN;
    let status = unsafe {
        floss_differential_entropy_density_f32(
            density.as_ptr(),
            density.len(),
            dx,
            opts_ptr(&opts),
            &mut out,
        )
    };
    (status, out)
}

fn density_entropy(density: &[f64], dx: f64) -> f64 {
    let (status, h) = integrate(density, dx, None);
    assert_eq!(status, FLOSS_OK, "{}", last_error());
    h
}

fn with_log_base(log_base: f64) -> Option<floss_options> {
    let mut opts = default_options();
    opts.log_base = log_base;
    Some(opts)
}

fn method_code(name: &str) -> u32 {
    match name {
        "auto" => FLOSS_DIFFERENTIAL_ENTROPY_AUTO,
        "vasicek" => FLOSS_DIFFERENTIAL_ENTROPY_VASICEK,
        "van es" => FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES,
        "ebrahimi" => FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI,
        "correa" => FLOSS_DIFFERENTIAL_ENTROPY_CORREA,
        other => panic!("unknown method {other}"),
    }
}

/// Standard normal draws: splitmix64 and Box–Muller, fixed seed.
fn normal_samples(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    let mut uniform = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64 // in (0, 1)
    };
    (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// An independent transcription of SciPy's `_entropy.py` (padding by
// repetition, the c_i of Ebrahimi, van Es without simplification, Correa's
// two-pass window means), O(n m), to check the O(n) implementation against.

fn scipy_default_window(n: usize) -> usize {
    ((n as f64).sqrt() + 0.5).floor() as usize
}

fn padded(sorted: &[f64], m: usize) -> Vec<f64> {
    let n = sorted.len();
    let mut p = vec![sorted[0]; m];
    p.extend_from_slice(sorted);
    p.resize(n + 2 * m, sorted[n - 1]);
    p
}

fn naive(samples: &[f64], method: u32, m: usize) -> f64 {
    let mut x = samples.to_vec();
    x.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = x.len();
    let nf = n as f64;
    let mf = m as f64;
    let p = padded(&x, m);
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    match method {
        FLOSS_DIFFERENTIAL_ENTROPY_VASICEK => mean(
            (0..n)
                .map(|i| (nf / (2.0 * mf) * (p[i + 2 * m] - p[i])).ln())
                .collect(),
        ),
        FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES => {
            let term1 = (0..n - m)
                .map(|i| ((nf + 1.0) / mf * (x[i + m] - x[i])).ln())
                .sum::<f64>()
                / (nf - mf);
            let harmonic: f64 = (m..=n).map(|k| 1.0 / k as f64).sum();
            term1 + harmonic + mf.ln() - (nf + 1.0).ln()
        }
        FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI => mean(
            (1..=n)
                .map(|i| {
                    let i_f = i as f64;
                    let mut ci = if i <= m { 1.0 + (i_f - 1.0) / mf } else { 2.0 };
                    if i > n - m {
                        ci = 1.0 + (nf - i_f) / mf;
                    }
                    (nf * (p[i - 1 + 2 * m] - p[i - 1]) / (ci * mf)).ln()
                })
                .collect(),
        ),
        FLOSS_DIFFERENTIAL_ENTROPY_CORREA => {
            let logs: Vec<f64> = (1..=n)
                .map(|i| {
                    let window: Vec<f64> = (0..=2 * m).map(|d| p[i - 1 + d]).collect();
                    let xbar = window.iter().sum::<f64>() / window.len() as f64;
                    let num: f64 = window
                        .iter()
                        .enumerate()
                        .map(|(d, v)| (d as f64 - mf) * (v - xbar))
                        .sum();
                    let den: f64 = nf * window.iter().map(|v| (v - xbar).powi(2)).sum::<f64>();
                    (num / den).ln()
                })
                .collect();
            -mean(logs)
        }
        _ => unreachable!(),
    }
}

// ---------------------------------------------------------------------------
// Reference values (SciPy 1.17).

#[test]
fn scipy_reference_values_f64() {
    for case in cases("differential_entropy") {
        let samples = case.floats("samples");
        assert_eq!(samples.len(), case.size("n"));
        let method = method_code(case.param("method").as_str().unwrap());
        let window = case.param("window").as_u64().unwrap() as usize;
        let (status, h) = estimate(&samples, method, window, Some(case.options()));
        assert_eq!(status, FLOSS_OK, "{}: {}", case.name(), last_error());
        let tol = case.tolerance().map_or(F64_VALUE, |t| Tolerance {
            rel: t,
            abs: F64_VALUE.abs,
        });
        assert_close(&[h], &case.expected("out").unwrap(), tol, &case.name());
    }
}

#[test]
fn scipy_reference_values_f32() {
    for case in cases("differential_entropy") {
        let samples: Vec<f32> = case.floats("samples").iter().map(|&x| x as f32).collect();
        let method = method_code(case.param("method").as_str().unwrap());
        let window = case.param("window").as_u64().unwrap() as usize;
        let (status, h) = estimate_f32(&samples, method, window, Some(case.options()));
        assert_eq!(status, FLOSS_OK, "{}: {}", case.name(), last_error());
        assert_close(
            &[h as f64],
            &case.expected("out").unwrap(),
            F32_VALUE,
            &case.name(),
        );
    }
}

#[test]
fn density_reference_values_f64() {
    for case in cases("differential_entropy_density") {
        let density = case.floats("density");
        assert_eq!(density.len(), case.size("n"));
        let dx = case.param("dx").as_f64().unwrap();
        let (status, h) = integrate(&density, dx, Some(case.options()));
        assert_eq!(status, FLOSS_OK, "{}: {}", case.name(), last_error());
        let tol = case.tolerance().map_or(F64_VALUE, |t| Tolerance {
            rel: t,
            abs: F64_VALUE.abs,
        });
        assert_close(&[h], &case.expected("out").unwrap(), tol, &case.name());
    }
}

#[test]
fn density_reference_values_f32() {
    for case in cases("differential_entropy_density") {
        let density: Vec<f32> = case.floats("density").iter().map(|&x| x as f32).collect();
        let dx = case.param("dx").as_f64().unwrap() as f32;
        let (status, h) = integrate_f32(&density, dx, Some(case.options()));
        assert_eq!(status, FLOSS_OK, "{}: {}", case.name(), last_error());
        assert_close(
            &[h as f64],
            &case.expected("out").unwrap(),
            F32_VALUE,
            &case.name(),
        );
    }
}

// ---------------------------------------------------------------------------
// Against the transcription of SciPy's code, including ties.

#[test]
fn every_method_and_window_matches_scipys_formulas() {
    for n in 3..48 {
        let samples: Vec<f64> = normal_samples(n, n as u64)
            .iter()
            .map(|x| 3.0 * x - 1.0)
            .collect();
        for m in 1..=(n - 1) / 2 {
            for method in METHODS {
                let got = entropy_of(&samples, method, m);
                let want = naive(&samples, method, m);
                assert_close(
                    &[got],
                    &[want],
                    F64_VALUE,
                    &format!("method {method}, n {n}, m {m}"),
                );
            }
        }
    }
}

#[test]
fn tied_samples_match_scipys_formulas() {
    // 300 normal draws rounded to 0.1: up to ~20 per value near 0, so many
    // spacings are 0. The windows of 2m + 1 = 35 values (Vasicek, Ebrahimi,
    // Correa) all have a positive spread, and the estimates are finite;
    // some m-spacing X(i+17) - X(i) of van Es is 0, and SciPy's van Es is
    // -inf.
    let samples: Vec<f64> = normal_samples(300, 7)
        .iter()
        .map(|x| (x * 10.0).round() / 10.0)
        .collect();
    let zero_spacings = {
        let mut s = samples.clone();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        s.windows(2).filter(|w| w[0] == w[1]).count()
    };
    assert!(zero_spacings > 200, "{zero_spacings}");
    let m = scipy_default_window(samples.len());
    for method in METHODS {
        let got = entropy_of(&samples, method, 0);
        let want = naive(&samples, method, m);
        if method == FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES {
            assert_eq!((got, want), (f64::NEG_INFINITY, f64::NEG_INFINITY));
        } else {
            assert!(want.is_finite(), "method {method}");
            assert_close(&[got], &[want], F64_VALUE, &format!("method {method}"));
        }
    }
}

#[test]
fn a_window_of_equal_samples_gives_minus_infinity() {
    // Five equal values: with m = 2 the windows around them have spread 0.
    // SciPy takes ln 0 = -inf (Vasicek, van Es, Ebrahimi); for Correa it
    // computes 0/0 = NaN, and floss returns the limit -Inf.
    let samples = [0.3, -1.2, 2.0, 2.0, 2.0, 2.0, 2.0, 4.5, 0.9, -0.1, 3.3];
    for method in METHODS {
        let h = entropy_of(&samples, method, 2);
        assert_eq!(h, f64::NEG_INFINITY, "method {method}");
        if method != FLOSS_DIFFERENTIAL_ENTROPY_CORREA {
            assert_eq!(naive(&samples, method, 2), f64::NEG_INFINITY);
        }
    }
    let constant = [1.5f32; 9];
    for method in METHODS {
        assert_eq!(
            estimate_f32(&constant, method, 0, None),
            (FLOSS_OK, f32::NEG_INFINITY)
        );
    }
}

#[test]
fn auto_picks_van_es_then_ebrahimi_then_vasicek() {
    for (n, chosen) in [
        (5, FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES),
        (10, FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES),
        (11, FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI),
        (1000, FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI),
        (1001, FLOSS_DIFFERENTIAL_ENTROPY_VASICEK),
    ] {
        let samples = normal_samples(n, 3);
        let auto = entropy_of(&samples, FLOSS_DIFFERENTIAL_ENTROPY_AUTO, 0);
        for method in METHODS {
            let h = entropy_of(&samples, method, 0);
            assert_eq!(h == auto, method == chosen, "n {n}: method {method}");
        }
    }
}

// ---------------------------------------------------------------------------
// Closed forms and invariances.

/// n points k h + x0, shuffled (the estimators sort a copy).
fn evenly_spaced(n: usize, h: f64, x0: f64) -> Vec<f64> {
    let mut x: Vec<f64> = (0..n).map(|k| x0 + k as f64 * h).collect();
    x.reverse();
    x.swap(1, n / 2);
    x
}

#[test]
fn ebrahimi_on_evenly_spaced_points_is_ln_n_h() {
    // Term i is ln(n (X(hi) - X(lo)) / (c_i m)) with c_i m = hi - lo, the
    // number of steps the clipped window spans: every term is ln(n h).
    for (n, h) in [(5, 0.25), (12, 1.0), (101, 0.01), (1000, 3.5)] {
        let x = evenly_spaced(n, h, -2.0);
        for m in [1, (n - 1) / 2, scipy_default_window(n).min((n - 1) / 2)] {
            let got = entropy_of(&x, FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI, m);
            let want = (n as f64 * h).ln();
            assert_close(&[got], &[want], F64_VALUE, &format!("n {n}, m {m}"));
        }
    }
}

#[test]
fn vasicek_and_van_es_on_evenly_spaced_points() {
    // Vasicek: interior terms ln(n h); the first and last m windows span
    // m + k steps (k = 0..m-1), so each end adds sum_k ln((m + k) / (2m)).
    // van Es: every spacing X(i+m) - X(i) is m h, so H = ln(m h) + sum_{k=m}^{n} 1/k.
    for (n, h) in [(7, 0.5), (40, 2.0), (333, 0.003)] {
        let x = evenly_spaced(n, h, 10.0);
        for m in [1, 2, (n - 1) / 2] {
            let ends: f64 = (0..m).map(|k| ((m + k) as f64 / (2 * m) as f64).ln()).sum();
            let vasicek = (n as f64 * h).ln() + 2.0 * ends / n as f64;
            let van_es = (m as f64 * h).ln() + (m..=n).map(|k| 1.0 / k as f64).sum::<f64>();
            let what = format!("n {n}, m {m}");
            let got = entropy_of(&x, FLOSS_DIFFERENTIAL_ENTROPY_VASICEK, m);
            assert_close(&[got], &[vasicek], F64_VALUE, &what);
            let got = entropy_of(&x, FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES, m);
            assert_close(&[got], &[van_es], F64_VALUE, &what);
        }
    }
}

#[test]
fn estimates_shift_with_location_and_scale() {
    // Every estimator is a mean of logarithms of differences:
    // H(a X + b) = H(X) + ln a.
    let x = normal_samples(257, 11);
    let y: Vec<f64> = x.iter().map(|v| 0.125 * v + 40.0).collect();
    for method in METHODS {
        let hx = entropy_of(&x, method, 0);
        let hy = entropy_of(&y, method, 0);
        assert_close(
            &[hy],
            &[hx + 0.125f64.ln()],
            F64_VALUE,
            &format!("method {method}"),
        );
    }
}

#[test]
fn log_base_divides_by_ln_b() {
    let x = normal_samples(100, 5);
    for method in METHODS {
        let nats = entropy_of(&x, method, 0);
        let (status, bits) = estimate(&x, method, 0, with_log_base(2.0));
        assert_eq!(status, FLOSS_OK);
        assert_close(
            &[bits],
            &[nats / LN_2],
            F64_VALUE,
            &format!("method {method}"),
        );
    }
}

#[test]
fn large_normal_samples_approach_the_closed_form() {
    // H(N(0, 1)) = 0.5 ln(2 pi e); 10^5 draws, default window 316. The
    // estimates' standard deviation is about 0.003; van Es is biased low by
    // about 0.014 at this n (its spacings miss the outer m/(2n) of each tail).
    let x = normal_samples(100_000, 2024);
    let exact = 0.5 * (2.0 * PI * E).ln();
    for method in METHODS {
        let h = entropy_of(&x, method, 0);
        let tolerance = if method == FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES {
            0.03
        } else {
            0.01
        };
        assert!(
            (h - exact).abs() < tolerance,
            "method {method}: {h} vs {exact}"
        );
    }
}

#[test]
fn moderate_samples_match_scipys_formulas() {
    let x: Vec<f64> = normal_samples(5000, 99).iter().map(|v| v.exp()).collect();
    for method in METHODS {
        let got = entropy_of(&x, method, 0);
        let want = naive(&x, method, scipy_default_window(x.len()));
        assert_close(&[got], &[want], F64_VALUE, &format!("method {method}"));
    }
}

#[test]
fn normal_density_on_a_fine_grid() {
    // 0.5 ln(2 pi e sigma^2) for N(1, 0.7^2) over ±12 sigma, odd and even n.
    let sigma: f64 = 0.7;
    let exact = 0.5 * (2.0 * PI * E * sigma * sigma).ln();
    for n in [801usize, 800, 2001, 2000] {
        let dx = 24.0 * sigma / (n - 1) as f64;
        let f: Vec<f64> = (0..n)
            .map(|k| {
                let z = (k as f64 * dx - 12.0 * sigma) / sigma;
                (-0.5 * z * z).exp() / (sigma * (2.0 * PI).sqrt())
            })
            .collect();
        assert_close(
            &[density_entropy(&f, dx)],
            &[exact],
            F64_VALUE,
            &format!("n {n}"),
        );
        let (status, bits) = integrate(&f, dx, with_log_base(2.0));
        assert_eq!(status, FLOSS_OK);
        assert_close(&[bits], &[exact / LN_2], F64_VALUE, &format!("n {n}, bits"));
    }
}

#[test]
fn uniform_density_gives_ln_width() {
    for w in [0.25, 1.0, 7.5] {
        for n in [2usize, 3, 4, 10, 11] {
            let f = vec![1.0 / w; n];
            let dx = w / (n - 1) as f64;
            assert_close(
                &[density_entropy(&f, dx)],
                &[f64::ln(w)],
                F64_VALUE,
                &format!("w {w}, n {n}"),
            );
        }
    }
}

#[test]
fn simpson_error_falls_as_dx_to_the_fourth() {
    // f(x) = e^x on [0, 1] (positive, smooth): -∫ f ln f = -∫ x e^x = -1.
    let error = |n: usize| {
        let dx = 1.0 / (n - 1) as f64;
        let f: Vec<f64> = (0..n).map(|k| (k as f64 * dx).exp()).collect();
        (density_entropy(&f, dx) + 1.0).abs()
    };
    // error * (intervals)^4 stays about constant (O(dx^4)), for odd n
    // (plain Simpson) and even n (with the last interval's rule).
    for sizes in [[11, 21, 41, 81], [10, 20, 40, 80]] {
        let scaled: Vec<f64> = sizes
            .iter()
            .map(|&n| error(n) * ((n - 1) as f64).powi(4))
            .collect();
        for pair in scaled.windows(2) {
            let ratio = pair[1] / pair[0];
            assert!((0.8..1.25).contains(&ratio), "{sizes:?}: {scaled:?}");
        }
    }
    assert!(error(41) < 1e-7, "{}", error(41));
    // Two points: the trapezoid rule, (e^0 ln e^0 + e ln e) / 2 = e / 2.
    assert_close(
        &[density_entropy(&[1.0, E], 1.0)],
        &[-E / 2.0],
        F64_VALUE,
        "trapezoid",
    );
}

#[test]
fn zero_density_values_contribute_zero() {
    // Triangular density 1 - |x - 1| on [0, 2]: H = 1/2 nat; f = 0 at both
    // ends, where f ln f is continuous but not differentiable.
    let n = 2001;
    let dx = 2.0 / (n - 1) as f64;
    let f: Vec<f64> = (0..n).map(|k| 1.0 - (k as f64 * dx - 1.0).abs()).collect();
    assert_eq!(f[0], 0.0);
    let h = density_entropy(&f, dx);
    assert!((h - 0.5).abs() < 1e-6, "{h}");
}

// ---------------------------------------------------------------------------
// Inputs, statuses and messages.

#[test]
fn inputs_are_not_modified() {
    let samples = normal_samples(200, 9);
    let copy = samples.clone();
    for method in [FLOSS_DIFFERENTIAL_ENTROPY_AUTO].iter().chain(&METHODS) {
        entropy_of(&samples, *method, 0);
        assert_eq!(
            samples.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            copy.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
    let samples32: Vec<f32> = copy.iter().map(|&x| x as f32).collect();
    let copy32 = samples32.clone();
    assert_eq!(
        estimate_f32(&samples32, FLOSS_DIFFERENTIAL_ENTROPY_CORREA, 0, None).0,
        FLOSS_OK
    );
    assert_eq!(samples32, copy32);
    let density = vec![0.0, 0.5, 1.5, 0.25, 0.0, 2.0];
    let copy = density.clone();
    density_entropy(&density, 0.1);
    assert_eq!(density, copy);
}

fn assert_failed(status: u32, want: u32, message_parts: &[&str]) {
    assert_eq!(status, want, "{}", last_error());
    let message = last_error();
    for part in message_parts {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
}

#[test]
fn sample_statuses() {
    let x = normal_samples(20, 1);
    let mut out = 0.0f64;
    let null = core::ptr::null();

    let status = unsafe { floss_differential_entropy_f64(null, 20, 0, 0, null.cast(), &mut out) };
    assert_failed(
        status,
        FLOSS_ERR_NULL_POINTER,
        &["floss_differential_entropy_f64", "samples is NULL"],
    );
    let status = unsafe {
        floss_differential_entropy_f64(x.as_ptr(), 20, 0, 0, null.cast(), core::ptr::null_mut())
    };
    assert_failed(status, FLOSS_ERR_NULL_POINTER, &["out is NULL"]);

    // 2 window < n, as SciPy's `2 <= 2 * window_length < n`.
    assert_eq!(
        estimate(&x[..9], FLOSS_DIFFERENTIAL_ENTROPY_VASICEK, 4, None).0,
        FLOSS_OK
    );
    let (status, _) = estimate(&x[..8], FLOSS_DIFFERENTIAL_ENTROPY_VASICEK, 4, None);
    assert_failed(status, FLOSS_ERR_SHAPE, &["window = 4", "n = 8"]);
    // Default windows: n = 4 gives m = 2 (too large), n = 5 gives m = 2.
    let (status, _) = estimate(&x[..4], FLOSS_DIFFERENTIAL_ENTROPY_AUTO, 0, None);
    assert_failed(status, FLOSS_ERR_SHAPE, &["default window", "n = 4"]);
    assert_eq!(
        estimate(&x[..5], FLOSS_DIFFERENTIAL_ENTROPY_AUTO, 0, None).0,
        FLOSS_OK
    );
    for n in 0..3 {
        assert_eq!(estimate(&x[..n], 0, 1, None).0, FLOSS_ERR_SHAPE, "n {n}");
    }
    let status = unsafe { floss_differential_entropy_f64(null, 0, 0, 0, null.cast(), &mut out) };
    assert_eq!(status, FLOSS_ERR_SHAPE);
    assert_eq!(estimate(&x, 1, usize::MAX, None).0, FLOSS_ERR_SHAPE);

    let (status, _) = estimate(&x, 5, 0, None);
    assert_failed(status, FLOSS_ERR_ARGUMENT, &["method = 5"]);
    let (status, _) = estimate(&x, 0, 0, with_log_base(1.0));
    assert_failed(status, FLOSS_ERR_ARGUMENT, &["log_base = 1"]);
    let mut bad_size = default_options();
    bad_size.size = 3;
    assert_failed(
        estimate(&x, 0, 0, Some(bad_size)).0,
        FLOSS_ERR_ARGUMENT,
        &["opts->size = 3"],
    );

    let mut bad = x.clone();
    bad[13] = f64::NAN;
    assert_failed(
        estimate(&bad, 0, 0, None).0,
        FLOSS_ERR_NON_FINITE,
        &["samples[13] = NaN"],
    );
    bad[13] = 0.0;
    bad[4] = f64::NEG_INFINITY;
    assert_failed(
        estimate(&bad, 0, 0, None).0,
        FLOSS_ERR_NON_FINITE,
        &["samples[4] = -inf"],
    );
    let bad32: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| if i == 7 { f32::INFINITY } else { v as f32 })
        .collect();
    assert_failed(
        estimate_f32(&bad32, 0, 0, None).0,
        FLOSS_ERR_NON_FINITE,
        &["floss_differential_entropy_f32", "samples[7] = inf"],
    );

    let mut buf = x.clone();
    let p = buf.as_mut_ptr();
    let status = unsafe { floss_differential_entropy_f64(p, 20, 0, 0, null.cast(), p.add(19)) };
    assert_failed(status, FLOSS_ERR_OVERLAP, &["out overlaps samples"]);

    let status = unsafe {
        floss_differential_entropy_f64(
            p.cast::<u8>().add(1).cast(),
            19,
            0,
            0,
            null.cast(),
            &mut out,
        )
    };
    assert_failed(
        status,
        FLOSS_ERR_ALIGNMENT,
        &["samples", "aligned to 8 bytes"],
    );
    let status = unsafe {
        floss_differential_entropy_f64(
            x.as_ptr(),
            20,
            0,
            0,
            null.cast(),
            p.cast::<u8>().add(4).cast(),
        )
    };
    assert_failed(status, FLOSS_ERR_ALIGNMENT, &["out"]);
}

#[test]
fn density_statuses() {
    let f = [0.1, 0.4, 0.9, 0.4, 0.1];
    let mut out = 0.0f64;
    let null = core::ptr::null();

    let status =
        unsafe { floss_differential_entropy_density_f64(null, 5, 0.1, null.cast(), &mut out) };
    assert_failed(status, FLOSS_ERR_NULL_POINTER, &["density is NULL"]);
    let status = unsafe {
        floss_differential_entropy_density_f64(
            f.as_ptr(),
            5,
            0.1,
            null.cast(),
            core::ptr::null_mut(),
        )
    };
    assert_failed(status, FLOSS_ERR_NULL_POINTER, &["out is NULL"]);

    assert_failed(integrate(&f[..1], 0.1, None).0, FLOSS_ERR_SHAPE, &["n = 1"]);
    assert_eq!(integrate(&[], 0.1, None).0, FLOSS_ERR_SHAPE);
    assert_eq!(integrate(&f[..2], 0.1, None).0, FLOSS_OK);

    for dx in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        assert_failed(integrate(&f, dx, None).0, FLOSS_ERR_ARGUMENT, &["dx = "]);
    }
    assert_failed(
        integrate(&f, 0.1, with_log_base(-2.0)).0,
        FLOSS_ERR_ARGUMENT,
        &["log_base = -2"],
    );

    let mut bad = f;
    bad[2] = -0.5;
    assert_failed(
        integrate(&bad, 0.1, None).0,
        FLOSS_ERR_PROBABILITY,
        &["density[2] = -0.5", "negative"],
    );
    bad[2] = f64::NAN;
    assert_failed(
        integrate(&bad, 0.1, None).0,
        FLOSS_ERR_NON_FINITE,
        &["density[2] = NaN"],
    );
    bad[2] = f64::INFINITY;
    assert_failed(
        integrate(&bad, 0.1, None).0,
        FLOSS_ERR_NON_FINITE,
        &["density[2] = inf"],
    );
    let bad32 = [0.5f32, -1e-30, 1.0];
    assert_failed(
        integrate_f32(&bad32, 0.5, None).0,
        FLOSS_ERR_PROBABILITY,
        &["floss_differential_entropy_density_f32", "density[1]"],
    );

    let mut buf = f;
    let p = buf.as_mut_ptr();
    let status =
        unsafe { floss_differential_entropy_density_f64(p, 5, 0.1, null.cast(), p.add(2)) };
    assert_failed(status, FLOSS_ERR_OVERLAP, &["out overlaps density"]);
    let status = unsafe {
        floss_differential_entropy_density_f64(
            p.cast::<u8>().add(2).cast(),
            4,
            0.1,
            null.cast(),
            &mut out,
        )
    };
    assert_failed(status, FLOSS_ERR_ALIGNMENT, &["density"]);
}

// ---------------------------------------------------------------------------

/// Timing, not a check: `cargo test --release --test differential_entropy --
/// --ignored --nocapture` prints the time per method for 10^6 samples.
#[test]
#[ignore]
fn time_a_million_samples() {
    let x = normal_samples(1_000_000, 42);
    let exact = 0.5 * (2.0 * PI * E).ln();
    for method in [FLOSS_DIFFERENTIAL_ENTROPY_AUTO].iter().chain(&METHODS) {
        let start = std::time::Instant::now();
        let h = entropy_of(&x, *method, 0);
        let elapsed = start.elapsed();
        println!(
            "method {method}: H = {h:.6} (exact {exact:.6}) in {:.1} ms",
            elapsed.as_secs_f64() * 1e3
        );
    }
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let start = std::time::Instant::now();
    let (status, h) = estimate_f32(&x32, FLOSS_DIFFERENTIAL_ENTROPY_CORREA, 0, None);
    assert_eq!(status, FLOSS_OK);
    println!(
        "f32 Correa: H = {h:.6} in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
}

/// Fuzzing finding 4: Correa's window moments overflowed for samples beyond
/// ~1e154. Scaling the sample scales the estimate by ln s exactly.
#[test]
fn correa_is_finite_for_huge_samples_and_scales_by_ln_s() {
    let small = [1.0f64, 3.0, 2.0, -4.0, 5.0, 0.5, 7.0];
    let huge: Vec<f64> = small.iter().map(|v| v * 1e300).collect();
    let correa = |xs: &[f64]| {
        let mut out = 0.0f64;
        let status = unsafe {
            floss::ffi::differential_entropy::floss_differential_entropy_f64(
                xs.as_ptr(),
                xs.len(),
                floss::ffi::differential_entropy::FLOSS_DIFFERENTIAL_ENTROPY_CORREA,
                1,
                core::ptr::null(),
                &mut out,
            )
        };
        assert_eq!(status, 0);
        out
    };
    let (h_small, h_huge) = (correa(&small), correa(&huge));
    assert!(h_huge.is_finite(), "{h_huge}");
    assert!(
        (h_huge - (h_small + 1e300f64.ln())).abs() < 1e-9,
        "{h_huge} vs {h_small}"
    );
}

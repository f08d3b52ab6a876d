//! The two engines against each other: every call the row-major engine
//! can compute gives the class-major engine's results within a few ulps,
//! at ordinary and at extreme logits, for every function and every option
//! it reads: one-hot rows (labels), dense rows (dense and smoothed
//! targets, entropy, KL) and rows of probabilities.

use super::TEST_ENGINE;
use crate::{
    balanced_cross_entropy, cross_entropy, entropy, focal_loss, kl_divergence,
    sparse_cross_entropy, Float, HessianMode, Input, Options, Outputs, Reduction, Result,
};

/// What one call returns: status, out, grad, hess.
type Results<T> = (Result<()>, Vec<T>, Vec<T>, Vec<T>);

/// One call on `engine`, asking for the gradient and the Hessian as
/// `(grad, hess)` says (one not asked for is returned as 7s).
fn run<T: Float>(
    engine: &'static str,
    call: &dyn Fn(&mut Outputs<T>) -> Result<()>,
    out_len: usize,
    len: usize,
    (with_grad, with_hess): (bool, bool),
) -> Results<T> {
    TEST_ENGINE.set(Some(engine));
    let (mut out, mut grad, mut hess) = (
        vec![T::from_f64(7.0); out_len],
        vec![T::from_f64(7.0); len],
        vec![T::from_f64(7.0); len],
    );
    let status = call(&mut Outputs {
        out: &mut out,
        grad: with_grad.then_some(&mut grad[..]),
        hess: with_hess.then_some(&mut hess[..]),
    });
    TEST_ENGINE.set(None);
    (status, out, grad, hess)
}

/// |a - b| within `ulps` units of the larger of |a|, |b| and `scale` (and
/// of the smallest normal number, for results that underflow differently),
/// times the condition of a value formed in log space.
fn close<T: Float>(a: T, b: T, ulps: f64, scale: T) -> bool {
    let (a, b) = (a.to_f64(), b.to_f64());
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let eps = T::from_f64(1.0).to_f64()
        * if core::mem::size_of::<T>() == 4 {
            f32::EPSILON as f64
        } else {
            f64::EPSILON
        };
    let scale = a
        .abs()
        .max(b.abs())
        .max(scale.to_f64())
        .max(T::MIN_POSITIVE.to_f64() / eps);
    // Tiny values are powers formed as exp(g ln q): an error of an ulp in
    // ln q is |ln q| ulps of the result.
    let condition = scale.ln().abs().max(1.0);
    (a - b).abs() <= ulps * eps * scale * condition
}

fn compare<T: Float>(
    what: &str,
    call: &dyn Fn(&mut Outputs<T>) -> Result<()>,
    (out_len, len, c): (usize, usize, usize),
    ulps: f64,
) {
    // The class-major engine adds a row's c terms one after another in f64
    // (an error of up to c/2 ulps, which f64 results show: 255 ulps of a
    // gradient at c = 1000, where mpmath shows the row-major engine's lane
    // sums within 7); the row-major engine adds them in lanes.
    let ulps = ulps + c as f64 / 2.0;
    // Without a Hessian (and without derivatives), one-hot logits take
    // the row-major engine's narrow tiles (`row_major::narrow`).
    for derivs in [(true, true), (true, false), (false, false)] {
        compare_once(what, call, (out_len, len, c), ulps, derivs);
    }
}

fn compare_once<T: Float>(
    what: &str,
    call: &dyn Fn(&mut Outputs<T>) -> Result<()>,
    (out_len, len, c): (usize, usize, usize),
    ulps: f64,
    derivs: (bool, bool),
) {
    let what = &format!("{what} (grad, hess) {derivs:?}");
    let (s_row, out_row, g_row, h_row) = run("row", call, out_len, len, derivs);
    let (s_col, out_col, g_col, h_col) = run("class", call, out_len, len, derivs);
    match (&s_row, &s_col) {
        (Ok(()), Ok(())) => {}
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{what}: different errors");
            return;
        }
        _ => panic!("{what}: row {s_row:?}, class {s_col:?}"),
    }
    for (k, (&x, &y)) in out_row.iter().zip(&out_col).enumerate() {
        assert!(
            close(x, y, ulps, T::ZERO),
            "{what}: out[{k}] row {x:?} class {y:?}"
        );
    }
    // A derivative is a difference of terms (it cancels), so it is compared
    // in ulps of its row's largest entry.
    for (name, a, b) in [("grad", &g_row, &g_col), ("hess", &h_row, &h_col)] {
        for (i, (ra, rb)) in a.chunks(c).zip(b.chunks(c)).enumerate() {
            let scale = ra.iter().chain(rb).fold(T::ZERO, |m, &v| m.max(v.abs()));
            for (j, (&x, &y)) in ra.iter().zip(rb).enumerate() {
                assert!(
                    close(x, y, ulps, scale),
                    "{what}: {name} row {i} class {j}: row {x:?} class {y:?}"
                );
            }
        }
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Logit rows of a few kinds: N(0, spread^2)-like, ties at the maximum,
/// -Inf entries, a label far above (or below) the rest.
fn logits(rng: &mut Rng, n: usize, c: usize, kind: usize) -> Vec<f64> {
    let mut z: Vec<f64> = (0..n * c).map(|_| (rng.next() - 0.5) * 8.0).collect();
    for i in 0..n {
        let row = &mut z[i * c..(i + 1) * c];
        match (kind + i) % 6 {
            1 => row.iter_mut().step_by(3).for_each(|v| *v = 3.0),
            2 => row
                .iter_mut()
                .step_by(2)
                .for_each(|v| *v = f64::NEG_INFINITY),
            3 => row[i % c] = 80.0,
            4 => row[i % c] = -90.0,
            5 => row.iter_mut().for_each(|v| *v *= 1e3),
            _ => {}
        }
        if row.iter().all(|v| *v == f64::NEG_INFINITY) {
            row[0] = 0.0;
        }
    }
    z
}

/// Each row's softmax (probability rows from logit rows).
fn softmax_rows(z: &[f64], c: usize) -> Vec<f64> {
    z.chunks(c)
        .flat_map(|row| {
            let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            let e: Vec<f64> = row.iter().map(|&v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(move |v| v / s)
        })
        .collect()
}

/// Dense target rows: nonnegative, some entries 0, rows summing to 1.
fn target_rows(rng: &mut Rng, n: usize, c: usize) -> Vec<f64> {
    let t: Vec<f64> = (0..n * c)
        .map(|k| if k % 3 == 1 { 0.0 } else { rng.next() })
        .collect();
    t.chunks(c)
        .flat_map(|row| {
            let s: f64 = row.iter().sum::<f64>().max(1e-300);
            row.iter().map(move |&v| if s > 0.0 { v / s } else { v })
        })
        .collect()
}

fn check_all<T: Float>(ulps: f64) {
    let mut rng = Rng(7);
    let cast = |v: Vec<f64>| -> Vec<T> { v.into_iter().map(T::from_f64).collect() };
    for &c in &[1usize, 2, 3, 17, 100, 127, 128, 257, 1000] {
        let n = 13;
        for kind in 0..6 {
            let z = logits(&mut rng, n, c, kind);
            let probs = cast(softmax_rows(&z, c));
            let pred = cast(z);
            let target = cast(target_rows(&mut rng, n, c));
            // Labels: row i's labels include the largest logit's class (rows of kind 3).
            let labels: Vec<i64> = (0..n)
                .map(|i| if i % 5 == 4 { -100 } else { (i % c) as i64 })
                .collect();
            let weights: Vec<T> = (0..c).map(|j| T::from_f64(0.25 + (j % 4) as f64)).collect();
            for (input, smoothing, reduction, hessian) in option_cases(kind) {
                let x = if input == Input::Logits {
                    &pred
                } else {
                    &probs
                };
                let opts = Options {
                    input,
                    reduction,
                    ignore_index: Some(-100),
                    hessian,
                    label_smoothing: smoothing,
                    log_base: if kind == 2 { 2.0 } else { core::f64::consts::E },
                    ..Options::default()
                };
                let out_len = if reduction == Reduction::None { n } else { 1 };
                let what = format!(
                    "c {c} kind {kind} {input:?} eps {smoothing} {reduction:?} {hessian:?}"
                );
                let shape = (out_len, n * c, c);
                compare::<T>(
                    &format!("sparse CE {what}"),
                    &|o| sparse_cross_entropy(x, &labels, c, Some(&weights), &opts, o),
                    shape,
                    ulps,
                );
                compare::<T>(
                    &format!("balanced CE {what}"),
                    &|o| balanced_cross_entropy(x, &labels, c, None, &opts, o),
                    shape,
                    ulps,
                );
                for gamma in [0.5, 2.0] {
                    compare::<T>(
                        &format!("focal {gamma} {what}"),
                        &|o| {
                            let gamma = T::from_f64(gamma);
                            focal_loss(x, &labels, c, Some(&weights), gamma, &opts, o)
                        },
                        shape,
                        ulps,
                    );
                }
                compare::<T>(
                    &format!("dense CE {what}"),
                    &|o| cross_entropy(x, &target, c, &opts, o),
                    shape,
                    ulps,
                );
                compare::<T>(
                    &format!("KL {what}"),
                    &|o| kl_divergence(x, &target, c, &opts, o),
                    shape,
                    ulps,
                );
                compare::<T>(
                    &format!("entropy {what}"),
                    &|o| entropy(x, c, &opts, o),
                    shape,
                    ulps,
                );
            }
        }
    }
}

/// The options each kind of row is tried with: every reduction and
/// Hessian mode on logits without smoothing, and a sample of the rest
/// (smoothing, probabilities).
fn option_cases(kind: usize) -> Vec<(Input, f64, Reduction, HessianMode)> {
    let reductions = [
        Reduction::None,
        Reduction::Mean,
        Reduction::Sum,
        Reduction::WeightedMean,
    ];
    let hessians = [
        HessianMode::Exact,
        HessianMode::Floor(1e-3),
        HessianMode::Fisher,
    ];
    let mut cases = Vec::new();
    for (k, &reduction) in reductions.iter().enumerate() {
        for (h, &hessian) in hessians.iter().enumerate() {
            cases.push((Input::Logits, 0.0, reduction, hessian));
            let smoothing = if (k + h + kind).is_multiple_of(2) {
                0.1
            } else {
                0.0
            };
            cases.push((Input::Probs, smoothing, reduction, hessian));
            if (k + h + kind).is_multiple_of(3) {
                cases.push((Input::Logits, 0.1, reduction, hessian));
            }
        }
    }
    cases
}

#[test]
fn the_engines_agree_in_f64() {
    check_all::<f64>(64.0);
}

#[test]
fn the_engines_agree_in_f32() {
    check_all::<f32>(64.0);
}

#[test]
fn the_engines_report_the_same_bad_entry() {
    let c = 200;
    for bad in [f64::NAN, f64::INFINITY] {
        let mut pred = vec![0.5f64; 3 * c];
        pred[c + 17] = bad;
        pred[c + 150] = f64::NAN;
        let labels = [1i64, 2, 3];
        let opts = Options {
            input: Input::Logits,
            ..Options::default()
        };
        compare::<f64>(
            "bad entry",
            &|o| sparse_cross_entropy(&pred, &labels, c, None, &opts, o),
            (1, 3 * c, c),
            0.0,
        );
        // Narrow rows (`row_major::narrow`'s tiles, 20 rows of 10): the
        // first bad entry in row order, in a tile with a later bad row.
        let mut narrow = vec![0.5f64; 200];
        (narrow[34], narrow[170]) = (bad, f64::NAN);
        let narrow_labels: Vec<i64> = (0..20).map(|i| i % 10).collect();
        compare::<f64>(
            "bad entry, narrow rows",
            &|o| sparse_cross_entropy(&narrow, &narrow_labels, 10, None, &opts, o),
            (1, 200, 10),
            0.0,
        );
        compare::<f64>(
            "bad entry, entropy",
            &|o| entropy(&pred, c, &opts, o),
            (1, 3 * c, c),
            0.0,
        );
        let mut probs = vec![1.0 / c as f64; 3 * c];
        probs[2 * c + 9] = if bad.is_nan() { bad } else { 1.5 };
        probs[2 * c + 100] = -0.5;
        let opts = Options {
            input: Input::Probs,
            ..Options::default()
        };
        compare::<f64>(
            "bad probability",
            &|o| kl_divergence(&probs, &probs, c, &opts, o),
            (1, 3 * c, c),
            0.0,
        );
    }
    let mut pred = vec![f64::NEG_INFINITY; 2 * c];
    pred[3] = 0.0;
    let opts = Options {
        input: Input::Logits,
        ..Options::default()
    };
    compare::<f64>(
        "no class",
        &|o| sparse_cross_entropy(&pred, &[0, 1], c, None, &opts, o),
        (1, 2 * c, c),
        0.0,
    );
}

#[test]
fn ln_1p_of_minus_one_is_minus_infinity() {
    assert_eq!((-1.0f64).ln_1p(), f64::NEG_INFINITY);
    assert_eq!((-1.0f32).ln_1p(), f32::NEG_INFINITY);
    assert_eq!((-0.0f64).ln_1p(), 0.0);
    assert_eq!((-1e-20f64).ln_1p(), -1e-20);
}

/// Focal loss at gamma = DBL_MAX of one row labelled 3 of 4 logits, with
/// the fuzz findings' weights (one of 1e30), WEIGHTED_MEAN, log base 10 and
/// smoothing ~1, on both engines: every value and derivative is a number;
/// returns each engine's Hessian.
fn absurd_gamma_focal_is_never_nan(
    pred: [f64; 4],
    weights: [f64; 4],
) -> Vec<(&'static str, Vec<f64>)> {
    let opts = Options {
        input: Input::Logits,
        reduction: Reduction::WeightedMean,
        log_base: 10.0,
        label_smoothing: 0.9999999999999999,
        ..Options::default()
    };
    let call =
        |o: &mut Outputs<f64>| focal_loss(&pred, &[3], 4, Some(&weights), f64::MAX, &opts, o);
    ["row", "class"]
        .into_iter()
        .map(|engine| {
            let (status, out, grad, hess) = run::<f64>(engine, &call, 1, 4, (true, true));
            assert!(status.is_ok(), "{engine}: {status:?}");
            for v in out.iter().chain(&grad).chain(&hess) {
                assert!(!v.is_nan(), "{engine}: {out:?} {grad:?} {hess:?}");
            }
            (engine, hess)
        })
        .collect()
}

#[test]
fn tiny_probabilities_keep_their_focal_factor_at_absurd_gamma() {
    // Found by fuzzing: p = 2.9e-20 made ln(1 - p) = 0, so (1 - p)^gamma = 1
    // at gamma = DBL_MAX, the terms' derivatives overflowed and the
    // gradient was Inf - Inf = NaN (class-major); ln_1p(-p) keeps -p.
    absurd_gamma_focal_is_never_nan(
        [51.19921875, 46.19921875, 46.35546875, 91.1796875],
        [0.313720703125, 9.126220703125, 1e30, 5.455322265625],
    );
}

#[test]
fn a_class_of_probability_0_gets_finite_derivatives_at_absurd_gamma() {
    // Found by fuzzing (`multiclass:row`): gamma = DBL_MAX and a weight of
    // 1e30 make a row's sums overflow; the class of logit -1e6 has p = 0,
    // and p times an infinite sum was NaN in its Hessian, on both engines.
    let hessians = absurd_gamma_focal_is_never_nan(
        [61.1796875, 4.1796875, -1e6, 71.27734375],
        [4.56298828125, 9.16064453125, 1e30, 5.455322265625],
    );
    for (engine, hess) in hessians {
        // Its own term's dG/dl stays (-a at p = 0); its Hessian entry,
        // v (1 - 2 p) at p = 0, is the focal term's v = 0.
        assert_eq!(hess[2], 0.0, "{engine}: the class of p = 0");
    }
}

#[test]
fn focal_derivatives_at_a_subnormal_probability_under_scaled_weights() {
    // Found by fuzzing (`multiclass:row`, FINDINGS 11): the weights are
    // scaled so that the largest (5.6e112) is in [1, 2); the class of
    // p = 5e-324 then has a = 4.5e-84, a gamma underflowed to 0 and met
    // 1 / p = +Inf in the Hessian (NaN), on both engines. Its gradient and
    // Hessian truly overflow; the other classes' are finite.
    let pred = [0.239, 5e-324, 0.997, 0.723];
    let weights = [9.16, 1e30, 5.455, 5.613e112];
    for reduction in [
        Reduction::None,
        Reduction::Sum,
        Reduction::Mean,
        Reduction::WeightedMean,
    ] {
        for hessian in [HessianMode::Exact, HessianMode::Fisher] {
            let opts = Options {
                input: Input::Probs,
                reduction,
                hessian,
                log_base: 10.0,
                label_smoothing: 0.9999999999999999,
                ..Options::default()
            };
            let call = |o: &mut Outputs<f64>| {
                focal_loss(&pred, &[1], 4, Some(&weights), 1.7669e-284, &opts, o)
            };
            for engine in ["row", "class"] {
                let (status, out, grad, hess) = run::<f64>(engine, &call, 1, 4, (true, true));
                let what = format!("{engine} {reduction:?} {hessian:?}: {out:?} {grad:?} {hess:?}");
                assert!(status.is_ok() && out[0].is_finite(), "{what}");
                assert_eq!(
                    (grad[1], hess[1]),
                    (f64::NEG_INFINITY, f64::INFINITY),
                    "{what}"
                );
                for k in [0, 2, 3] {
                    assert!(grad[k].is_finite() && hess[k].is_finite(), "{what}");
                }
            }
        }
    }
}

/// Found by fuzzing (`multiclass`, FINDINGS 12): at gamma = MAX, the class
/// of p = 2.6e-163 (f64) or 1e-30 (f32) under smoothing has
/// (1 - p)^gamma = exp(-gamma p) = 0 while a / p / p overflows; their
/// product in the Hessian was 0 x Inf = NaN, on both engines. The true
/// Hessian is 0 to every digit (exp(-4.7e145) / p^2), and so is the
/// gradient, for every Hessian mode.
fn an_underflowed_focal_factor_times_an_overflowed_a_over_p_squared<T: Float>(
    tiny: f64,
    gamma_max: T,
) {
    let pred: Vec<T> = [0.18, tiny, 0.18, 0.5]
        .iter()
        .map(|&x| T::from_f64(x))
        .collect();
    let weights = [T::from_f64(3.7), T::from_f64(0.0009765625)];
    for hessian in [
        HessianMode::Exact,
        HessianMode::Floor(1e-30),
        HessianMode::Fisher,
    ] {
        let opts = Options {
            input: Input::Probs,
            reduction: Reduction::Mean,
            hessian,
            log_base: 10.0,
            label_smoothing: 0.5,
            ..Options::default()
        };
        let call =
            |o: &mut Outputs<T>| focal_loss(&pred, &[0, 0], 2, Some(&weights), gamma_max, &opts, o);
        for engine in ["row", "class"] {
            let (status, out, grad, hess) = run::<T>(engine, &call, 1, 4, (true, true));
            let what = format!("{engine} {hessian:?}: {out:?} {grad:?} {hess:?}");
            assert!(status.is_ok() && out[0].is_finite(), "{what}");
            assert!(grad.iter().chain(&hess).all(|v| !v.is_nan()), "{what}");
            if hessian == HessianMode::Exact {
                assert_eq!((grad[1], hess[1]), (T::ZERO, T::ZERO), "{what}");
            }
        }
    }
}

#[test]
fn an_underflowed_focal_factor_meets_an_overflowed_a_over_p_squared_f64() {
    an_underflowed_focal_factor_times_an_overflowed_a_over_p_squared::<f64>(
        2.6204582316233388e-163,
        f64::MAX,
    );
}

#[test]
fn an_underflowed_focal_factor_meets_an_overflowed_a_over_p_squared_f32() {
    an_underflowed_focal_factor_times_an_overflowed_a_over_p_squared::<f32>(1e-30, f32::MAX);
}

//! Extreme inputs that once gave NaN or a wrong infinity (issue 8: fuzzing
//! and review findings), through the C exports, against values computed
//! with mpmath at 400 digits by `tests/data/extremes_reference.py`
//! (printed there to 17 digits).

// The helpers mirror C signatures; the references are mpmath's 17 digits.
#![allow(clippy::too_many_arguments, clippy::excessive_precision)]

use floss::ffi::binary::*;
use floss::ffi::cross_entropy::*;
use floss::ffi::differential_entropy::*;
use floss::ffi::types::*;

mod common;

fn options(input: u32, reduction: u32) -> floss_options {
    let mut opts = common::default_options();
    opts.input = input;
    opts.reduction = reduction;
    opts
}

/// `out`, `grad`, `hess` of a binary loss call that must succeed.
type Results<T> = (Vec<T>, Vec<T>, Vec<T>);

/// Calls one binary export (`focal`: alpha and gamma, else pos_weight).
trait Binary: Copy + Default + PartialEq + core::fmt::Debug {
    unsafe fn bce(
        p: *const Self,
        t: *const Self,
        n: usize,
        w: Self,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> floss_status;
    unsafe fn focal(
        p: *const Self,
        t: *const Self,
        n: usize,
        a: Self,
        gamma: Self,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> floss_status;
}

impl Binary for f32 {
    unsafe fn bce(
        p: *const Self,
        t: *const Self,
        n: usize,
        w: Self,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> floss_status {
        unsafe { floss_binary_cross_entropy_f32(p, t, n, w, o, out, g, h) }
    }
    unsafe fn focal(
        p: *const Self,
        t: *const Self,
        n: usize,
        a: Self,
        gamma: Self,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> floss_status {
        unsafe { floss_binary_focal_loss_f32(p, t, n, a, gamma, o, out, g, h) }
    }
}

impl Binary for f64 {
    unsafe fn bce(
        p: *const Self,
        t: *const Self,
        n: usize,
        w: Self,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> floss_status {
        unsafe { floss_binary_cross_entropy_f64(p, t, n, w, o, out, g, h) }
    }
    unsafe fn focal(
        p: *const Self,
        t: *const Self,
        n: usize,
        a: Self,
        gamma: Self,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> floss_status {
        unsafe { floss_binary_focal_loss_f64(p, t, n, a, gamma, o, out, g, h) }
    }
}

/// A binary call: `Some((alpha, gamma))` for focal loss, else BCE with
/// `pos_weight`.
fn binary<T: Binary>(
    focal: Option<(T, T)>,
    pos_weight: T,
    pred: &[T],
    target: &[T],
    opts: &floss_options,
) -> Results<T> {
    let n = pred.len();
    let out_len = if opts.reduction == FLOSS_REDUCTION_NONE {
        n
    } else {
        1
    };
    let (mut out, mut grad, mut hess) = (
        vec![T::default(); out_len],
        vec![T::default(); n],
        vec![T::default(); n],
    );
    // SAFETY: every array is as long as the call says.
    let status = unsafe {
        match focal {
            Some((alpha, gamma)) => T::focal(
                pred.as_ptr(),
                target.as_ptr(),
                n,
                alpha,
                gamma,
                opts,
                out.as_mut_ptr(),
                grad.as_mut_ptr(),
                hess.as_mut_ptr(),
            ),
            None => T::bce(
                pred.as_ptr(),
                target.as_ptr(),
                n,
                pos_weight,
                opts,
                out.as_mut_ptr(),
                grad.as_mut_ptr(),
                hess.as_mut_ptr(),
            ),
        }
    };
    assert_eq!(status, FLOSS_OK);
    (out, grad, hess)
}

/// Equal within 4 ulp (relative 1e-15) entry by entry.
fn assert_near(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (&g, &w) in got.iter().zip(want) {
        close(g, w, 1e-15, what);
    }
}

fn close(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: got {got:e}, want {want:e}"
    );
}

#[test]
fn binary_focal_derivatives_at_subnormal_probabilities_are_exact_or_overflow() {
    let opts = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE);
    // (p, t, loss, gradient); the Hessians (about 1e580 to 1e627) overflow.
    let cases = [
        (
            5e-324,
            1e-16,
            5.5833005394103589e-18,
            -1.5180168998048295e303,
        ),
        (
            5e-324,
            1e-30,
            1.7655946565783444e-35,
            -4.8003909300108743e285,
        ),
        (
            1e-300,
            1e-16,
            5.1808164592366023e-18,
            -7.4999999999999991e279,
        ),
    ];
    for (p, t, loss, gradient) in cases {
        let (out, grad, hess) = binary::<f64>(Some((0.25, 0.25)), 1.0, &[p], &[t], &opts);
        let what = format!("p = {p:e}, t = {t:e}");
        close(out[0], loss, 1e-12, &what);
        close(grad[0], gradient, 1e-12, &what);
        assert_eq!(hess[0], f64::INFINITY, "{what}");
    }
    // Every target from 1e-30 to 1e-16 (the fuzzer's range), both tails.
    for k in 16..=30 {
        let t = 10f64.powi(-k);
        for (p, t) in [(5e-324, t), (1.0 - f64::EPSILON / 2.0, 1.0 - t)] {
            let (out, grad, hess) = binary::<f64>(Some((0.25, 0.25)), 1.0, &[p], &[t], &opts);
            assert!(
                out[0].is_finite() && grad[0].is_finite(),
                "p {p} t {t}: {out:?} {grad:?}"
            );
            assert!(!hess[0].is_nan(), "p {p} t {t}");
        }
    }
    // f32: the gradient, about -7e35, no longer overflows to -Inf (finding
    // 2); the Hessian, about 5e80, does.
    let opts = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE);
    let (out, grad, hess) = binary::<f32>(Some((-1.0, 2.0)), 1.0, &[1e-45], &[0.001], &opts);
    close(f64::from(out[0]), 1.0327894461989038e-7, 1e-5, "f32 loss");
    close(
        f64::from(grad[0]),
        -7.1362394803892645e35,
        1e-5,
        "f32 gradient",
    );
    assert_eq!(hess[0], f32::INFINITY);
    // Where the true gradient overflows f32 (-3.5e39) it is -Inf.
    let (out, grad, _) = binary::<f32>(Some((-1.0, 0.5)), 1.0, &[1e-40], &[0.5], &opts);
    close(f64::from(out[0]), 32.563472575921435, 1e-5, "f32 loss");
    assert_eq!(grad[0], f32::NEG_INFINITY);
}

/// Sparse cross-entropy f64 with class weights: (out, grad, hess).
fn sparse(pred: &[f64], labels: &[i64], weight: &[f64], input: u32) -> Results<f64> {
    let (n, c) = (labels.len(), weight.len());
    let opts = options(input, FLOSS_REDUCTION_WEIGHTED_MEAN);
    let (mut out, mut grad, mut hess) = (vec![0.0], vec![0.0; n * c], vec![0.0; n * c]);
    // SAFETY: every array is as long as the call says.
    let status = unsafe {
        floss_sparse_cross_entropy_f64(
            pred.as_ptr(),
            labels.as_ptr(),
            n,
            c,
            weight.as_ptr(),
            &opts,
            out.as_mut_ptr(),
            grad.as_mut_ptr(),
            hess.as_mut_ptr(),
        )
    };
    assert_eq!(status, FLOSS_OK);
    (out, grad, hess)
}

/// Sparse cross-entropy f32 with class weights under `opts`: (out, grad, hess).
fn sparse_f32(pred: &[f32], labels: &[i64], weight: &[f32], opts: &floss_options) -> Results<f32> {
    let (n, c) = (labels.len(), weight.len());
    let (mut out, mut grad, mut hess) = (vec![0.0], vec![0.0; n * c], vec![0.0; n * c]);
    // SAFETY: every array is as long as the call says.
    let status = unsafe {
        floss_sparse_cross_entropy_f32(
            pred.as_ptr(),
            labels.as_ptr(),
            n,
            c,
            weight.as_ptr(),
            opts,
            out.as_mut_ptr(),
            grad.as_mut_ptr(),
            hess.as_mut_ptr(),
        )
    };
    assert_eq!(status, FLOSS_OK);
    (out, grad, hess)
}

#[test]
fn a_weighted_mean_does_not_depend_on_the_scale_of_the_weights() {
    // Finding 3: a subnormal divisor made out +Inf and the derivatives NaN,
    // an overflowing one made out 0. Equal weights of any size give the
    // results of weight 1, bit for bit (they are scaled by a power of two).
    let pred = [0.3, 0.7, 0.6, 0.4, 0.5, 0.5];
    let labels = [0, 0, 1];
    for input in [FLOSS_INPUT_PROBS, FLOSS_INPUT_LOGITS] {
        let unit = sparse(&pred, &labels, &[1.0, 1.0], input);
        if input == FLOSS_INPUT_PROBS {
            let want = (-(0.3f64.ln()) - 0.6f64.ln() - 0.5f64.ln()) / 3.0;
            close(unit.0[0], want, 1e-15, "probs");
        }
        for w in [5e-324, 2f64.powi(-70), 2f64.powi(70), 2f64.powi(1023)] {
            assert_eq!(
                sparse(&pred, &labels, &[w, w], input),
                unit,
                "weight {w:e} input {input}"
            );
        }
        for w in [1e-310, 1e-300, 1e300, f64::MAX] {
            let (out, grad, hess) = sparse(&pred, &labels, &[w, w], input);
            let what = format!("weight {w:e} input {input}");
            assert_near(&out, &unit.0, &what);
            assert_near(&grad, &unit.1, &what);
            assert_near(&hess, &unit.2, &what);
        }
    }
    // The reproducers: weight {5e-324, 1} on label 0 alone, and
    // {DBL_MAX, 1} on two rows of label 0.
    let (out, grad, hess) = sparse(&[0.5, 0.5], &[0], &[5e-324, 1.0], FLOSS_INPUT_PROBS);
    assert_eq!(out[0], core::f64::consts::LN_2);
    assert_eq!((grad, hess), (vec![-2.0, 0.0], vec![4.0, 0.0]));
    let (out, grad, _) = sparse(
        &[0.3, 0.7, 0.6, 0.4],
        &[0, 0],
        &[f64::MAX, 1.0],
        FLOSS_INPUT_PROBS,
    );
    close(
        out[0],
        (-(0.3f64.ln()) - 0.6f64.ln()) / 2.0,
        1e-15,
        "DBL_MAX weight",
    );
    close(grad[0], -1.0 / 0.6, 1e-15, "grad[0]");
    close(grad[2], -1.0 / 1.2, 1e-15, "grad[2]");
    // Unequal weights: the mean weighs the rows as their weights say.
    let (out, _, _) = sparse(
        &[0.3, 0.7, 0.6, 0.4],
        &[0, 1],
        &[f64::MAX, f64::MAX / 4.0],
        FLOSS_INPUT_PROBS,
    );
    close(
        out[0],
        (-4.0 * 0.3f64.ln() - 0.4f64.ln()) / 5.0,
        1e-15,
        "ratio 4",
    );
    let (out, _, _) = sparse(
        &[0.3, 0.7, 0.6, 0.4],
        &[0, 1],
        &[4e-323, 1e-323],
        FLOSS_INPUT_PROBS,
    );
    close(
        out[0],
        (-4.0 * 0.3f64.ln() - 0.4f64.ln()) / 5.0,
        1e-15,
        "subnormal ratio 4",
    );
    // f32.
    let opts = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_WEIGHTED_MEAN);
    let unit = sparse_f32(&[0.3, 0.7], &[0], &[1.0, 1.0], &opts);
    for w in [1e-45, 2f32.powi(-140), 2f32.powi(127)] {
        assert_eq!(
            sparse_f32(&[0.3, 0.7], &[0], &[w, 1.0], &opts),
            unit,
            "f32 weight {w:e}"
        );
    }
}

#[test]
fn binary_weighted_means_do_not_depend_on_the_scale_of_the_weights() {
    // Finding 3: pos_weight = DBL_MAX gave out 0 and NaN derivatives.
    let opts = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_WEIGHTED_MEAN);
    let (pred, target) = ([0.25, 0.5], [1.0, 1.0]);
    let unit = binary::<f64>(None, 1.0, &pred, &target, &opts);
    close(unit.0[0], (4f64.ln() + 2f64.ln()) / 2.0, 1e-15, "unit");
    for w in [5e-324, 1e-300, 1e300, f64::MAX] {
        // alpha_t = alpha with t = 1.
        let focal = binary::<f64>(Some((w.min(1.0), 0.0)), 1.0, &pred, &target, &opts);
        for (got, what) in [
            (binary::<f64>(None, w, &pred, &target, &opts), "pos_weight"),
            (focal, "alpha"),
        ] {
            let what = format!("{what} {w:e}");
            if w == 5e-324 {
                assert_eq!(got, unit, "{what}");
            }
            assert_near(&got.0, &unit.0, &what);
            assert_near(&got.1, &unit.1, &what);
            assert_near(&got.2, &unit.2, &what);
        }
    }
    let unit32 = binary::<f32>(None, 1.0, &[0.25, 0.5], &[1.0, 1.0], &opts);
    for w in [1e-45, 2f32.powi(127)] {
        assert_eq!(
            binary::<f32>(None, w, &[0.25, 0.5], &[1.0, 1.0], &opts),
            unit32,
            "f32 pos_weight {w:e}"
        );
    }
    let max32 = binary::<f32>(None, f32::MAX, &[0.25, 0.5], &[1.0, 1.0], &opts);
    assert!(
        (max32.0[0] - unit32.0[0]).abs() <= 2.0 * f32::EPSILON * unit32.0[0],
        "f32 pos_weight MAX: {max32:?}"
    );
    // Soft targets and logits: finite, and the huge positive term dominates.
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_WEIGHTED_MEAN);
    let (out, grad, hess) = binary::<f64>(None, f64::MAX, &[0.0, 1.0], &[0.5, 0.0], &opts);
    close(out[0], 2f64.ln(), 1e-15, "soft");
    assert!(
        grad.iter().chain(&hess).all(|v| v.is_finite()),
        "{grad:?} {hess:?}"
    );
}

fn differential_entropy(samples: &[f64], method: u32, window: usize) -> f64 {
    let mut out = f64::NAN;
    // SAFETY: `samples` holds n values, `out` one.
    let status = unsafe {
        floss_differential_entropy_f64(
            samples.as_ptr(),
            samples.len(),
            method,
            window,
            core::ptr::null(),
            &mut out,
        )
    };
    assert_eq!(status, FLOSS_OK);
    out
}

#[test]
fn spacing_estimators_are_exact_for_samples_of_any_spread() {
    const CORREA: u32 = FLOSS_DIFFERENTIAL_ENTROPY_CORREA;
    // Finding 4: spanning 1e-308 and 1e308 gave -Inf.
    let wide = [1.0, 1e308, 2.0, -1e308, 5.0];
    close(
        differential_entropy(&wide, CORREA, 1),
        568.79667071732712,
        1e-13,
        "Correa wide",
    );
    close(
        differential_entropy(&wide, FLOSS_DIFFERENTIAL_ENTROPY_VASICEK, 1),
        568.55051651783099,
        1e-13,
        "Vasicek wide",
    );
    close(
        differential_entropy(&wide, FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES, 1),
        357.1560907265834,
        1e-13,
        "van Es wide",
    );
    close(
        differential_entropy(&wide, FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI, 1),
        568.82777539005497,
        1e-13,
        "Ebrahimi wide",
    );
    // Spacings beyond DBL_MAX (they gave +Inf).
    let widest = [-f64::MAX, f64::MAX, 0.0, 1.0, 2.0];
    close(
        differential_entropy(&widest, CORREA, 1),
        569.11123614065477,
        1e-13,
        "Correa widest",
    );
    close(
        differential_entropy(&widest, FLOSS_DIFFERENTIAL_ENTROPY_VASICEK, 1),
        568.88109048269334,
        1e-13,
        "Vasicek widest",
    );
    close(
        differential_entropy(&widest, FLOSS_DIFFERENTIAL_ENTROPY_VAN_ES, 1),
        357.17468978002533,
        1e-13,
        "van Es widest",
    );
    close(
        differential_entropy(&widest, FLOSS_DIFFERENTIAL_ENTROPY_EBRAHIMI, 1),
        569.15834935491732,
        1e-13,
        "Ebrahimi widest",
    );
    // Subnormal spreads (they gave NaN): evenly spaced, as the others.
    let tiny = [0.0, 1e-310, 2e-310, 3e-310, 4e-310];
    close(
        differential_entropy(&tiny, CORREA, 1),
        -712.35412695896333,
        1e-9,
        "Correa subnormal",
    );
    // Subnormal windows beside a huge sample: they underflow to 0 at the
    // huge sample's scale, and were taken for windows of zeros (-Inf; the
    // fuzzer found it after the first fix).
    let both = [0.0, -5.510779987732372e303, 2e-310, 3e-310, 4e-310];
    close(
        differential_entropy(&both, CORREA, 1),
        -147.07030615930176,
        1e-12,
        "Correa both",
    );
    // A window of repeated values is -Inf (it gave NaN).
    assert_eq!(
        differential_entropy(&[0.0, 5e-324, 0.0, 5e-324, 0.0], CORREA, 1),
        f64::NEG_INFINITY
    );
    // A zero-spread window among huge values (it gave NaN).
    let mixed = [
        2.220446049250313e-16,
        f64::MAX,
        2.220446049250313e-16,
        -168.0,
    ];
    close(
        differential_entropy(&mixed, CORREA, 1),
        358.43416768940535,
        1e-13,
        "Correa mixed",
    );
}

/// The CE and KL gradient from probabilities at a subnormal p is -t/p,
/// finite (-3 here); -t (1/p) overflowed to -Inf (issue 7). The Hessian
/// t/p^2 = 3e40 (f32) and 3e310 (f64) does overflow: +Inf is right there.
#[test]
fn cross_entropy_derivatives_at_a_subnormal_probability_are_finite_ratios() {
    fn check<T: floss::Float + core::fmt::Debug>(p0: f64, t0: f64) {
        let pred: Vec<T> = [p0, 0.5, 0.5].map(T::from_f64).to_vec();
        let target: Vec<T> = [t0, 0.5, 0.5].map(T::from_f64).to_vec();
        let opts = floss::Options {
            input: floss::Input::Probs,
            reduction: floss::Reduction::Sum,
            ..floss::Options::default()
        };
        for kl in [false, true] {
            let (mut out, mut grad, mut hess) = ([T::ZERO], [T::ZERO; 3], [T::ZERO; 3]);
            let mut o = floss::Outputs {
                out: &mut out,
                grad: Some(&mut grad),
                hess: Some(&mut hess),
            };
            if kl {
                floss::kl_divergence(&pred, &target, 3, &opts, &mut o).unwrap();
            } else {
                floss::cross_entropy(&pred, &target, 3, &opts, &mut o).unwrap();
            }
            // The ratio of the inputs as rounded to T (subnormals keep few digits).
            let want = -(target[0].to_f64() / pred[0].to_f64());
            assert!(
                (grad[0].to_f64() - want).abs() <= 1e-6 * want.abs(),
                "kl {kl}: grad[0] = {:?}, want {want}",
                grad[0]
            );
            assert_eq!(grad[1].to_f64(), -1.0);
            assert_eq!(hess[0].to_f64(), f64::INFINITY, "kl {kl}");
            assert_eq!(hess[1].to_f64(), 2.0);
        }
    }
    check::<f32>(1e-40, 3e-40);
    check::<f64>(1e-310, 3e-310);
}

/// Fuzzing finding (multiclass, this session): focal loss with a class
/// weight of DBL_MAX, reduction NONE and a tiny smoothing made dG/dl
/// overflow to -Inf and the gradient u - p S NaN. Huge weights are now
/// scaled by a power of two for every reduction, not only WEIGHTED_MEAN.
#[test]
fn a_weight_of_dbl_max_gives_finite_focal_derivatives() {
    let pred = [
        5.01953125,
        55.22265625,
        -1e6,
        -1e6,
        -1e6,
        -1e6,
        -1e6,
        -1e6,
        -1e6,
        1e300,
        1.0,
        2.220446049250313e-16,
    ];
    let labels = [1i64, 1, 0, 1, 0, 0];
    let weights = [4.454833984375, f64::MAX];
    for smoothing in [0.0, 5e-324] {
        let opts = floss::Options {
            input: floss::Input::Logits,
            reduction: floss::Reduction::None,
            label_smoothing: smoothing,
            hessian: floss::HessianMode::Floor(1e-6),
            threads: 4,
            ..floss::Options::default()
        };
        let (mut out, mut grad, mut hess) = ([0.0; 6], [0.0; 12], [0.0; 12]);
        floss::focal_loss(
            &pred,
            &labels,
            2,
            Some(&weights),
            2.220446049250313e-16,
            &opts,
            &mut floss::Outputs {
                out: &mut out,
                grad: Some(&mut grad),
                hess: Some(&mut hess),
            },
        )
        .unwrap();
        for (name, v) in [("out", &out[..]), ("grad", &grad[..]), ("hess", &hess[..])] {
            assert!(
                v.iter().all(|x| x.is_finite()),
                "smoothing {smoothing}: {name} {v:?}"
            );
        }
        // Row 1: logits (-1e6, -1e6), label 1 of weight DBL_MAX: the loss is
        // about DBL_MAX ln 2 (> DBL_MAX? no: ln 2 < 1), its gradient
        // -DBL_MAX / 2 on class 1 and +DBL_MAX / 2 on class 0.
        assert!(
            (grad[3] / (-f64::MAX / 2.0) - 1.0).abs() < 1e-6,
            "{}",
            grad[3]
        );
        assert!(
            (grad[2] / (f64::MAX / 2.0) - 1.0).abs() < 1e-6,
            "{}",
            grad[2]
        );
    }
}

/// Fuzzing (this session): one class (p = 1, a zero loss), a weight of
/// DBL_MAX (scaled down by 2^-1023) and log base 1 - 1e-16 (1 / ln b about
/// -9e15): the undoing of the weight scale times 1 / ln b overflowed, and
/// 0 x Inf made the loss NaN for every reduction but WEIGHTED_MEAN. The
/// loss is 0, and a loss that is not 0 keeps its value.
#[test]
fn a_zero_loss_stays_zero_under_a_huge_weight_and_log_base() {
    let pred = [-1e6, -1e6, 80.99609375];
    for reduction in [
        floss::Reduction::None,
        floss::Reduction::Sum,
        floss::Reduction::Mean,
    ] {
        let opts = floss::Options {
            input: floss::Input::Logits,
            reduction,
            log_base: 0.9999999999999999,
            ..floss::Options::default()
        };
        let mut out = [1.0; 3];
        let out = &mut out[..if reduction == floss::Reduction::None {
            3
        } else {
            1
        }];
        floss::balanced_cross_entropy(
            &pred,
            &[0, 0, 0],
            1,
            Some(&[f64::MAX]),
            &opts,
            &mut floss::Outputs::value(out),
        )
        .unwrap();
        assert!(out.iter().all(|&v| v == 0.0), "{reduction:?}: {out:?}");
    }
    // Two classes at equal logits, label weight DBL_MAX, base e^4: the
    // loss DBL_MAX ln 2 / 4 is finite (the weight scaled by 2^-1023, the
    // loss unscaled after the log base's factor).
    let opts = floss::Options {
        input: floss::Input::Logits,
        reduction: floss::Reduction::Sum,
        log_base: 4f64.exp(),
        ..floss::Options::default()
    };
    let mut out = [0.0];
    floss::balanced_cross_entropy(
        &[0.0, 0.0],
        &[1],
        2,
        Some(&[1.0, f64::MAX]),
        &opts,
        &mut floss::Outputs::value(&mut out),
    )
    .unwrap();
    close(
        out[0],
        f64::MAX * 2f64.ln() / 4.0,
        1e-15,
        "DBL_MAX ln 2 / 4",
    );
}

/// Smoothed sparse cross-entropy f32 from logits, WEIGHTED_MEAN, checked
/// against an f64 reference on the same inputs (a_j = w_j t_j, t the
/// smoothed one-hot row, divided by the counted labels' weights): entries
/// within f32's range to `rel`, the others the infinity of their sign.
fn smoothed_weighted_mean_f32(pred: &[f32], labels: &[i64], weight: &[f32], eps: f64, rel: f64) {
    let (n, c) = (labels.len(), weight.len());
    let mut opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_WEIGHTED_MEAN);
    opts.label_smoothing = eps;
    let (out, grad, _) = sparse_f32(pred, labels, weight, &opts);
    let w: Vec<f64> = weight.iter().map(|&w| w as f64).collect();
    let divisor: f64 = labels.iter().map(|&y| w[y as usize]).sum();
    let (mut loss, mut want_grad) = (0.0, vec![0.0; n * c]);
    for (i, row) in pred.chunks(c).enumerate() {
        let z: Vec<f64> = row.iter().map(|&v| v as f64).collect();
        let m = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        let on = |j: usize| {
            if j as i64 == labels[i] {
                1.0 - eps
            } else {
                0.0
            }
        };
        let a: Vec<f64> = (0..c).map(|j| w[j] * (eps / c as f64 + on(j))).collect();
        let total: f64 = a.iter().sum();
        for j in 0..c {
            loss += a[j] * (lse - z[j]) / divisor;
            // p as f32 holds it (0 where it underflows there).
            let p = (z[j] - lse).exp() as f32 as f64;
            want_grad[i * c + j] = (p * total - a[j]) / divisor;
        }
    }
    let check = |got: f32, want: f64, what: &str| {
        if want.abs() <= f32::MAX as f64 {
            close(got as f64, want, rel, what);
        } else {
            assert_eq!(
                got as f64,
                want.signum() * f64::INFINITY,
                "{what}: want {want:e}"
            );
        }
    };
    check(out[0], loss, "out");
    for (k, (&g, &want)) in grad.iter().zip(&want_grad).enumerate() {
        check(g, want, &format!("grad[{k}] of weights {weight:?}"));
    }
}

#[test]
fn a_smoothed_weighted_mean_scales_no_weight_to_infinity() {
    // Fuzzing (FINDINGS 9): counted labels' weights of 2e-38 scaled every
    // weight by 2^122, which took the weight 710 that smoothing reaches to
    // +Inf in f32: out +Inf, grad NaN. The true mean is 1e36.
    let pred = [0.5f32, -1.0, 2.0, 0.0, 0.0, 0.0];
    smoothed_weighted_mean_f32(&pred, &[2, 2], &[710.0, 15.8, 2.35e-38], 1e-3, 1e-5);
    // And with the scale capped, counted weights of 1e-45 against 10.7 or
    // 3e38: the mean overflows (Inf, as the reference says), and a class of
    // weight 0 and p = 0 keeps a gradient of 0 (was 0 x Inf = NaN).
    let pred = [0.0f32, 78.3, -84.3, 86.7, -84.3, -84.3, -84.3, -84.3];
    for big in [10.73f32, 3e38] {
        smoothed_weighted_mean_f32(&pred, &[3, 3], &[big, 1.48, 0.0, 1e-45], 0.1, 1e-5);
    }
}

//! Binary cross-entropy and binary focal loss through the exported C
//! functions: reference vectors, finite differences, identities, extreme
//! logits and every reachable status.

mod common;

use common::*;
use floss::ffi::binary::*;
use floss::ffi::types::*;

/// Which binary loss, with its parameters.
#[derive(Clone, Copy, Debug)]
enum Loss {
    CrossEntropy { pos_weight: f64 },
    Focal { alpha: f64, gamma: f64 },
}

/// An element type of the C API, and the two exported functions for it.
trait Element: Copy + PartialEq + core::fmt::Debug + 'static {
    fn of(x: f64) -> Self;
    fn to(self) -> f64;
    /// # Safety
    /// As the exported functions.
    #[allow(clippy::too_many_arguments)]
    unsafe fn call(
        loss: Loss,
        pred: *const Self,
        target: *const Self,
        n: usize,
        opts: *const floss_options,
        out: *mut Self,
        grad: *mut Self,
        hess: *mut Self,
    ) -> floss_status;
}

macro_rules! element {
    ($t:ty, $bce:ident, $focal:ident) => {
        impl Element for $t {
            fn of(x: f64) -> Self {
                x as $t
            }
            fn to(self) -> f64 {
                self as f64
            }
            unsafe fn call(
                loss: Loss,
                pred: *const Self,
                target: *const Self,
                n: usize,
                opts: *const floss_options,
                out: *mut Self,
                grad: *mut Self,
                hess: *mut Self,
            ) -> floss_status {
                match loss {
                    Loss::CrossEntropy { pos_weight } => unsafe {
                        $bce(pred, target, n, pos_weight as $t, opts, out, grad, hess)
                    },
                    Loss::Focal { alpha, gamma } => unsafe {
                        $focal(
                            pred,
                            target,
                            n,
                            alpha as $t,
                            gamma as $t,
                            opts,
                            out,
                            grad,
                            hess,
                        )
                    },
                }
            }
        }
    };
}
element!(
    f32,
    floss_binary_cross_entropy_f32,
    floss_binary_focal_loss_f32
);
element!(
    f64,
    floss_binary_cross_entropy_f64,
    floss_binary_focal_loss_f64
);

/// `out`, `grad` and `hess` of one successful call, widened to f64.
#[derive(Debug)]
struct Results {
    out: Vec<f64>,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

/// Calls the loss in element type T (inputs rounded to T) and checks FLOSS_OK.
fn run<T: Element>(loss: Loss, pred: &[f64], target: &[f64], opts: &floss_options) -> Results {
    let pred: Vec<T> = pred.iter().map(|&x| T::of(x)).collect();
    let target: Vec<T> = target.iter().map(|&x| T::of(x)).collect();
    let n = pred.len();
    let out_len = if opts.reduction == FLOSS_REDUCTION_NONE {
        n
    } else {
        1
    };
    let mut out = vec![T::of(f64::NAN); out_len];
    let mut grad = vec![T::of(f64::NAN); n];
    let mut hess = vec![T::of(f64::NAN); n];
    let status = unsafe {
        T::call(
            loss,
            pred.as_ptr(),
            target.as_ptr(),
            n,
            opts,
            out.as_mut_ptr(),
            grad.as_mut_ptr(),
            hess.as_mut_ptr(),
        )
    };
    assert_eq!(status, FLOSS_OK, "{loss:?}: {}", last_error());
    let widen = |v: Vec<T>| v.into_iter().map(T::to).collect();
    Results {
        out: widen(out),
        grad: widen(grad),
        hess: widen(hess),
    }
}

fn options(input: u32, reduction: u32) -> floss_options {
    let mut opts = default_options();
    opts.input = input;
    opts.reduction = reduction;
    opts
}

fn loss_of(case: &Case) -> Loss {
    match case.json["fn"].as_str() {
        Some("binary_cross_entropy") => Loss::CrossEntropy {
            pos_weight: float(case.param("pos_weight")),
        },
        Some("binary_focal_loss") => Loss::Focal {
            alpha: float(case.param("alpha")),
            gamma: float(case.param("gamma")),
        },
        other => panic!("not a binary loss: {other:?}"),
    }
}

fn reference_cases<T: Element>(value: Tolerance, derivative: Tolerance) {
    for name in ["binary_cross_entropy", "binary_focal_loss"] {
        for case in cases(name) {
            let n = case.size("n");
            let pred = case.floats("pred");
            let target = case.floats("target");
            assert_eq!((pred.len(), target.len()), (n, n), "{}", case.name());
            let got = run::<T>(loss_of(&case), &pred, &target, &case.options());
            let what = case.name();
            let want = |key| case.expected(key).expect("expected output");
            assert_close(&got.out, &want("out"), value, &format!("{what} out"));
            assert_close(
                &got.grad,
                &want("grad"),
                derivative,
                &format!("{what} grad"),
            );
            assert_close(
                &got.hess,
                &want("hess"),
                derivative,
                &format!("{what} hess"),
            );
        }
    }
}

#[test]
fn reference_vectors_f64() {
    reference_cases::<f64>(F64_VALUE, F64_DERIVATIVE);
}

#[test]
fn reference_vectors_f32() {
    reference_cases::<f32>(F32_VALUE, F32_DERIVATIVE);
}

/// A small deterministic generator (xorshift64*), uniform in [0, 1).
struct Random(u64);

impl Random {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

/// The losses the property tests run over: cross-entropy with and without
/// pos_weight, focal loss with gamma 0, 0.5, 1, 2 and 3.5, with and without alpha.
fn losses() -> Vec<Loss> {
    let mut all = vec![
        Loss::CrossEntropy { pos_weight: 1.0 },
        Loss::CrossEntropy { pos_weight: 3.5 },
    ];
    for gamma in [0.0, 0.5, 1.0, 2.0, 3.5] {
        for alpha in [-1.0, 0.25] {
            all.push(Loss::Focal { alpha, gamma });
        }
    }
    all
}

/// Random predictions (logits in [-6, 6] or probabilities in [0.05, 0.95])
/// and targets: hard ones and soft ones.
fn random_inputs(random: &mut Random, input: u32, n: usize) -> (Vec<f64>, Vec<f64>) {
    let pred = (0..n)
        .map(|_| match input {
            FLOSS_INPUT_LOGITS => random.uniform(-6.0, 6.0),
            _ => random.uniform(0.05, 0.95),
        })
        .collect();
    let target = (0..n)
        .map(|i| match i % 3 {
            0 => 0.0,
            1 => 1.0,
            _ => random.next(),
        })
        .collect();
    (pred, target)
}

/// Central differences of `out` (reduction NONE, element by element) for
/// `grad`, and of `grad` for `hess`.
fn check_finite_differences<T: Element>(logit_step: f64, prob_step: f64, tolerance: Tolerance) {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    for input in [FLOSS_INPUT_LOGITS, FLOSS_INPUT_PROBS] {
        for smoothing in [0.0, 0.2] {
            for loss in losses() {
                let mut opts = options(input, FLOSS_REDUCTION_NONE);
                opts.label_smoothing = smoothing;
                let (pred, target) = random_inputs(&mut random, input, 12);
                let step = match input {
                    FLOSS_INPUT_LOGITS => logit_step,
                    _ => prob_step,
                };
                // Evaluate at points exactly representable in T.
                let pred: Vec<f64> = pred.iter().map(|&x| T::of(x).to()).collect();
                let at = run::<T>(loss, &pred, &target, &opts);
                let shifted = |h: f64| {
                    let moved: Vec<f64> = pred.iter().map(|&x| x + h).collect();
                    run::<T>(loss, &moved, &target, &opts)
                };
                let (up, down) = (shifted(step), shifted(-step));
                let difference = |a: &[f64], b: &[f64]| -> Vec<f64> {
                    a.iter()
                        .zip(b)
                        .map(|(a, b)| (a - b) / (2.0 * step))
                        .collect()
                };
                let what = format!("{loss:?} input {input} smoothing {smoothing}");
                assert_close(
                    &at.grad,
                    &difference(&up.out, &down.out),
                    tolerance,
                    &format!("{what}: grad vs differences of out"),
                );
                assert_close(
                    &at.hess,
                    &difference(&up.grad, &down.grad),
                    tolerance,
                    &format!("{what}: hess vs differences of grad"),
                );
            }
        }
    }
}

#[test]
fn derivatives_match_finite_differences_f64() {
    check_finite_differences::<f64>(
        1e-5,
        1e-6,
        Tolerance {
            rel: 1e-6,
            abs: 1e-7,
        },
    );
}

#[test]
fn derivatives_match_finite_differences_f32() {
    check_finite_differences::<f32>(
        1e-2,
        1e-3,
        Tolerance {
            rel: 2e-2,
            abs: 2e-3,
        },
    );
}

#[test]
fn focal_loss_without_focus_or_alpha_is_cross_entropy() {
    let mut random = Random(7);
    for input in [FLOSS_INPUT_LOGITS, FLOSS_INPUT_PROBS] {
        let (pred, target) = random_inputs(&mut random, input, 9);
        let mut opts = options(input, FLOSS_REDUCTION_NONE);
        opts.label_smoothing = 0.1;
        let focal = Loss::Focal {
            alpha: -1.0,
            gamma: 0.0,
        };
        let a = run::<f64>(focal, &pred, &target, &opts);
        let b = run::<f64>(
            Loss::CrossEntropy { pos_weight: 1.0 },
            &pred,
            &target,
            &opts,
        );
        let exact = Tolerance { rel: 0.0, abs: 0.0 };
        assert_close(&a.out, &b.out, exact, "out");
        assert_close(&a.grad, &b.grad, exact, "grad");
        assert_close(&a.hess, &b.hess, exact, "hess");
    }
}

#[test]
fn focal_loss_with_gamma_zero_is_alpha_t_times_cross_entropy() {
    let (pred, target) = ([-1.5, 0.2, 2.0, 0.7], [1.0, 0.0, 0.3, 0.9]);
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_NONE);
    let alpha = 0.25;
    let focal = run::<f64>(Loss::Focal { alpha, gamma: 0.0 }, &pred, &target, &opts);
    let bce = run::<f64>(
        Loss::CrossEntropy { pos_weight: 1.0 },
        &pred,
        &target,
        &opts,
    );
    for (i, &t) in target.iter().enumerate() {
        let alpha_t = alpha * t + (1.0 - alpha) * (1.0 - t);
        for (f, b) in [
            (focal.out[i], bce.out[i]),
            (focal.grad[i], bce.grad[i]),
            (focal.hess[i], bce.hess[i]),
        ] {
            assert!(
                (f - alpha_t * b).abs() <= 1e-15 * b.abs(),
                "{i}: {f} vs {alpha_t} * {b}"
            );
        }
    }
}

/// -(w t ln p + (1 - t) ln(1 - p)) written out, for a probability p.
fn direct_cross_entropy(p: f64, t: f64, w: f64) -> f64 {
    -(w * t * p.ln() + (1.0 - t) * (1.0 - p).ln())
}

#[test]
fn values_match_the_definitions_written_out() {
    let (x, t, w) = ([-2.0, -0.3, 0.0, 1.1, 3.0], [0.0, 1.0, 0.4, 1.0, 0.75], 2.5);
    let p: Vec<f64> = x.iter().map(|&x: &f64| 1.0 / (1.0 + (-x).exp())).collect();
    let none = |input| options(input, FLOSS_REDUCTION_NONE);
    let bce = Loss::CrossEntropy { pos_weight: w };
    let (alpha, gamma) = (0.3, 1.5);
    let focal = Loss::Focal { alpha, gamma };
    let from_logits = run::<f64>(bce, &x, &t, &none(FLOSS_INPUT_LOGITS));
    let from_probs = run::<f64>(bce, &p, &t, &none(FLOSS_INPUT_PROBS));
    let focal_logits = run::<f64>(focal, &x, &t, &none(FLOSS_INPUT_LOGITS));
    for i in 0..5 {
        let want = direct_cross_entropy(p[i], t[i], w);
        assert!((from_logits.out[i] - want).abs() <= 1e-14 * want, "{i}");
        assert!((from_probs.out[i] - want).abs() <= 1e-14 * want, "{i}");
        let p_t = p[i] * t[i] + (1.0 - p[i]) * (1.0 - t[i]);
        let alpha_t = alpha * t[i] + (1.0 - alpha) * (1.0 - t[i]);
        let want = alpha_t * (1.0 - p_t).powf(gamma) * direct_cross_entropy(p[i], t[i], 1.0);
        assert!((focal_logits.out[i] - want).abs() <= 1e-13 * want, "{i}");
    }
}

#[test]
fn reductions_agree_with_the_per_element_losses() {
    let mut random = Random(11);
    for input in [FLOSS_INPUT_LOGITS, FLOSS_INPUT_PROBS] {
        for loss in losses() {
            let (pred, target) = random_inputs(&mut random, input, 10);
            let with = |reduction, smoothing| {
                let mut opts = options(input, reduction);
                opts.label_smoothing = smoothing;
                run::<f64>(loss, &pred, &target, &opts)
            };
            let none = with(FLOSS_REDUCTION_NONE, 0.2);
            let total: f64 = none.out.iter().sum();
            let tol = Tolerance {
                rel: 1e-14,
                abs: 0.0,
            };
            let sum = with(FLOSS_REDUCTION_SUM, 0.2);
            assert_close(&sum.out, &[total], tol, "SUM is the sum of NONE");
            assert_close(&sum.grad, &none.grad, tol, "SUM grad");
            assert_close(&sum.hess, &none.hess, tol, "SUM hess");
            let mean = with(FLOSS_REDUCTION_MEAN, 0.2);
            assert_close(&mean.out, &[total / 10.0], tol, "MEAN divides by n");
            let tenth: Vec<f64> = none.grad.iter().map(|g| g / 10.0).collect();
            assert_close(&mean.grad, &tenth, tol, "MEAN grad");
            // WEIGHTED_MEAN divides by the weight factors of the smoothed
            // targets t' = 0.8 t + 0.1.
            let factors: f64 = target
                .iter()
                .map(|&t| {
                    let t = 0.8 * t + 0.1;
                    match loss {
                        Loss::CrossEntropy { pos_weight } => pos_weight * t + (1.0 - t),
                        Loss::Focal { alpha, .. } if alpha >= 0.0 => {
                            alpha * t + (1.0 - alpha) * (1.0 - t)
                        }
                        Loss::Focal { .. } => 1.0,
                    }
                })
                .sum();
            let weighted = with(FLOSS_REDUCTION_WEIGHTED_MEAN, 0.2);
            assert_close(&weighted.out, &[total / factors], tol, "WEIGHTED_MEAN");
            let scaled: Vec<f64> = none.hess.iter().map(|h| h / factors).collect();
            assert_close(&weighted.hess, &scaled, tol, "WEIGHTED_MEAN hess");
        }
    }
}

#[test]
fn log_base_divides_every_output_by_its_logarithm() {
    let (pred, target) = ([-0.5, 2.0, 0.1], [1.0, 0.2, 0.0]);
    let loss = Loss::Focal {
        alpha: 0.25,
        gamma: 2.0,
    };
    let mut opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_SUM);
    let natural = run::<f64>(loss, &pred, &target, &opts);
    opts.log_base = 2.0;
    let bits = run::<f64>(loss, &pred, &target, &opts);
    let ln2 = 2f64.ln();
    let tol = Tolerance {
        rel: 1e-15,
        abs: 0.0,
    };
    let div = |v: &[f64]| v.iter().map(|x| x / ln2).collect::<Vec<_>>();
    assert_close(&bits.out, &div(&natural.out), tol, "out");
    assert_close(&bits.grad, &div(&natural.grad), tol, "grad");
    assert_close(&bits.hess, &div(&natural.hess), tol, "hess");
}

#[test]
fn a_mean_over_nothing_is_zero() {
    for reduction in [
        FLOSS_REDUCTION_SUM,
        FLOSS_REDUCTION_MEAN,
        FLOSS_REDUCTION_WEIGHTED_MEAN,
    ] {
        for loss in losses() {
            let opts = options(FLOSS_INPUT_LOGITS, reduction);
            let mut out = f64::NAN;
            let null = core::ptr::null_mut();
            let status = unsafe { f64::call(loss, null, null, 0, &opts, &mut out, null, null) };
            assert_eq!(status, FLOSS_OK, "{}", last_error());
            assert_eq!(out, 0.0, "{loss:?} reduction {reduction}");
        }
    }
    // Every alpha_t zero: a weighted mean over nothing, with zero gradient.
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_WEIGHTED_MEAN);
    let loss = Loss::Focal {
        alpha: 0.0,
        gamma: 2.0,
    };
    let got = run::<f64>(loss, &[-3.0, 4.0], &[1.0, 1.0], &opts);
    assert_eq!(
        (got.out, got.grad, got.hess),
        (vec![0.0], vec![0.0; 2], vec![0.0; 2])
    );
}

#[test]
fn extreme_logits_f64_give_the_exact_asymptotes() {
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_NONE);
    let bce = Loss::CrossEntropy { pos_weight: 1.0 };
    let weighted = Loss::CrossEntropy { pos_weight: 3.0 };
    let focal = Loss::Focal {
        alpha: 0.25,
        gamma: 2.0,
    };
    let half = Loss::Focal {
        alpha: -1.0,
        gamma: 0.5,
    };
    // (loss, x, t, out, grad, hess)
    let expected = [
        (bce, -1e300, 1.0, 1e300, -1.0, 0.0),
        (bce, 1e300, 1.0, 0.0, 0.0, 0.0),
        (bce, 1e300, 0.0, 1e300, 1.0, 0.0),
        (bce, -1e300, 0.0, 0.0, 0.0, 0.0),
        (bce, -1e300, 0.25, 0.25e300, -0.25, 0.0),
        (weighted, -1e300, 1.0, 3e300, -3.0, 0.0),
        (weighted, 1e300, 0.5, 0.5e300, 0.5, 0.0),
        (focal, -1e300, 1.0, 0.25e300, -0.25, 0.0),
        (focal, 1e300, 0.0, 0.75e300, 0.75, 0.0),
        (focal, 1e300, 1.0, 0.0, 0.0, 0.0),
        (focal, -1e300, 0.0, 0.0, 0.0, 0.0),
        (half, 1e300, 1.0, 0.0, 0.0, 0.0),
        (
            half,
            -1e300,
            0.5,
            0.5f64.sqrt() * 0.5e300,
            -0.5f64.sqrt() * 0.5,
            0.0,
        ),
    ];
    for (loss, x, t, out, grad, hess) in expected {
        let got = run::<f64>(loss, &[x], &[t], &opts);
        let tol = Tolerance {
            rel: 1e-15,
            abs: 0.0,
        };
        let what = format!("{loss:?} x = {x:e}, t = {t}");
        assert_close(&got.out, &[out], tol, &format!("{what}: out"));
        assert_close(&got.grad, &[grad], tol, &format!("{what}: grad"));
        assert_close(&got.hess, &[hess], tol, &format!("{what}: hess"));
    }
    // Everything finite across the whole range.
    for loss in losses() {
        let x: Vec<f64> = [1e300, 1e100, 1e10, 800.0, 40.0, 1.0]
            .iter()
            .flat_map(|&x| [x, -x])
            .collect();
        for t in [0.0, 0.3, 1.0] {
            let got = run::<f64>(loss, &x, &vec![t; x.len()], &opts);
            for v in got.out.iter().chain(&got.grad).chain(&got.hess) {
                assert!(v.is_finite(), "{loss:?} t = {t}: {got:?}");
            }
        }
    }
}

#[test]
fn extreme_logits_f32_are_finite_and_match_the_f64_evaluation() {
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_NONE);
    let x = [
        -1e4, -1e3, -100.0, -20.0, -3.0, 0.0, 3.0, 20.0, 100.0, 1e3, 1e4,
    ];
    for loss in losses() {
        for t in [0.0, 0.2, 0.5, 1.0] {
            let target = vec![t; x.len()];
            let single = run::<f32>(loss, &x, &target, &opts);
            let double = run::<f64>(loss, &x, &target, &opts);
            for v in single.out.iter().chain(&single.grad).chain(&single.hess) {
                assert!(v.is_finite(), "{loss:?} t = {t}: {single:?}");
            }
            let what = format!("{loss:?} t = {t}");
            assert_close(&single.out, &double.out, F32_VALUE, &format!("{what}: out"));
            assert_close(
                &single.grad,
                &double.grad,
                F32_DERIVATIVE,
                &format!("{what}: grad"),
            );
            assert_close(
                &single.hess,
                &double.hess,
                F32_DERIVATIVE,
                &format!("{what}: hess"),
            );
        }
    }
    // The asymptotes: loss |x| (times the weight of the wrong side), grad -1 or 0.
    let bce = Loss::CrossEntropy { pos_weight: 1.0 };
    let got = run::<f32>(bce, &[-1e4, 1e4, 1e4, -1e4], &[1.0, 1.0, 0.0, 0.0], &opts);
    assert_eq!(got.out, [1e4, 0.0, 1e4, 0.0]);
    assert_eq!(got.grad, [-1.0, 0.0, 1.0, 0.0]);
    assert_eq!(got.hess, [0.0; 4]);
}

#[test]
fn focus_below_one_stays_finite_as_p_t_goes_to_one() {
    // t = 1, x large: 1 - p_t = e^-x, L ~ e^-(1 + g) x, so
    // dL/dx ~ -(1 + g) L and d2L/dx2 ~ (1 + g)^2 L. Autograd through
    // (1 - p_t)^(g - 1) gives NaN here (kornia#918, optax#1267).
    let gamma = 0.5;
    let loss = Loss::Focal { alpha: -1.0, gamma };
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_NONE);
    let x = [20.0, 40.0, 300.0];
    let got = run::<f64>(loss, &x, &[1.0; 3], &opts);
    for (i, &x) in x.iter().enumerate() {
        let value = (-(1.0 + gamma) * x).exp();
        assert!((got.out[i] / value - 1.0).abs() < 1e-8, "{got:?}");
        assert!(
            (got.grad[i] / (-(1.0 + gamma) * value) - 1.0).abs() < 1e-8,
            "{got:?}"
        );
        assert!(
            (got.hess[i] / ((1.0 + gamma).powi(2) * value) - 1.0).abs() < 1e-8,
            "{got:?}"
        );
    }
    let single = run::<f32>(loss, &[10.0, 40.0, 1e4], &[1.0; 3], &opts);
    for v in single.out.iter().chain(&single.grad).chain(&single.hess) {
        assert!(v.is_finite(), "{single:?}");
    }
    // Probabilities: finite up to p = 1; at p = t = 1 the loss and gradient
    // are 0 and the Hessian, ~ (1 - p)^(g - 1), is +Inf.
    let probs = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE);
    let got = run::<f64>(
        loss,
        &[1.0 - 1e-12, 1.0 - 1e-16 * 1.1, 1.0],
        &[1.0; 3],
        &probs,
    );
    for i in 0..2 {
        assert!(
            got.grad[i].is_finite() && got.hess[i].is_finite(),
            "{got:?}"
        );
    }
    assert_eq!(
        (got.out[2], got.grad[2], got.hess[2]),
        (0.0, 0.0, f64::INFINITY)
    );
}

#[test]
fn a_minus_infinity_logit_is_probability_zero() {
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_NONE);
    let x = [f64::NEG_INFINITY; 3];
    let t = [0.0, 1.0, 0.5];
    let got = run::<f64>(Loss::CrossEntropy { pos_weight: 2.0 }, &x, &t, &opts);
    assert_eq!(got.out, [0.0, f64::INFINITY, f64::INFINITY]);
    assert_eq!(got.grad, [0.0, -2.0, -1.0]);
    assert_eq!(got.hess, [0.0; 3]);
    let focal = Loss::Focal {
        alpha: 0.25,
        gamma: 2.0,
    };
    let got = run::<f64>(focal, &x, &t, &opts);
    assert_eq!(got.out, [0.0, f64::INFINITY, f64::INFINITY]);
    assert_eq!(got.grad, [0.0, -0.25, -0.5 * 0.25 * 0.5]);
    assert_eq!(got.hess, [0.0; 3]);
}

#[test]
fn a_probability_the_target_needs_at_zero_gives_infinity_not_a_clamp() {
    let opts = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE);
    for loss in [
        Loss::CrossEntropy { pos_weight: 1.0 },
        Loss::Focal {
            alpha: 0.25,
            gamma: 2.0,
        },
    ] {
        let got = run::<f64>(loss, &[0.0, 1.0, 0.0, 1.0], &[1.0, 0.0, 0.0, 1.0], &opts);
        let inf = f64::INFINITY;
        assert_eq!(got.out, [inf, inf, 0.0, 0.0], "{loss:?}");
        assert_eq!(got.grad[..2], [-inf, inf], "{loss:?}");
        assert_eq!(got.hess[..2], [inf, inf], "{loss:?}");
        assert!(got.grad[2..]
            .iter()
            .chain(&got.hess[2..])
            .all(|v| v.is_finite()));
    }
}

#[test]
fn a_subnormal_probability_overflows_the_derivatives_without_nan() {
    let opts = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE);
    let inf = f64::INFINITY;
    for loss in losses() {
        // pred 1e-320: ln p ~ -737 is finite, dL/dp ~ -0.3 / p overflows.
        let got = run::<f64>(loss, &[1e-320], &[0.3], &opts);
        assert!(
            got.out[0].is_finite() && got.out[0] > 0.0,
            "{loss:?}: {got:?}"
        );
        assert_eq!((got.grad[0], got.hess[0]), (-inf, inf), "{loss:?}");
        // In float the focal factor m^gamma can bring dL/dp back into range
        // (it is multiplied in before the division by p): the float
        // results are the double ones rounded, infinite where those
        // overflow float.
        let single = run::<f32>(loss, &[1e-40], &[0.3], &opts);
        let double = run::<f64>(loss, &[f64::from(1e-40f32)], &[f64::from(0.3f32)], &opts);
        assert!(single.out[0].is_finite(), "{loss:?}: {single:?}");
        for (got, want) in [
            (single.grad[0], double.grad[0]),
            (single.hess[0], double.hess[0]),
        ] {
            let want = f64::from(want as f32);
            assert!(
                got == want || (got - want).abs() <= 1e-5 * want.abs(),
                "{loss:?}: {got:e} vs {want:e}"
            );
        }
    }
}

#[test]
fn inputs_are_never_modified() {
    let pred = [0.3f32, 0.9, 0.01, 0.5];
    let target = [1.0f32, 0.0, 0.25, 1.0];
    let (pred_before, target_before) = (pred, target);
    let opts = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE);
    let (mut out, mut grad, mut hess) = ([0f32; 4], [0f32; 4], [0f32; 4]);
    for loss in losses() {
        let status = unsafe {
            f32::call(
                loss,
                pred.as_ptr(),
                target.as_ptr(),
                4,
                &opts,
                out.as_mut_ptr(),
                grad.as_mut_ptr(),
                hess.as_mut_ptr(),
            )
        };
        assert_eq!(status, FLOSS_OK);
        assert_eq!(pred.map(f32::to_bits), pred_before.map(f32::to_bits));
        assert_eq!(target.map(f32::to_bits), target_before.map(f32::to_bits));
    }
}

// ---- statuses ----------------------------------------------------------

const BCE: Loss = Loss::CrossEntropy { pos_weight: 1.0 };
const FOCAL: Loss = Loss::Focal {
    alpha: 0.25,
    gamma: 2.0,
};

/// Calls `loss` on three elements in f64 and returns the status and message.
fn status_of(
    loss: Loss,
    pred: &[f64; 3],
    target: &[f64; 3],
    opts: &floss_options,
) -> (floss_status, String) {
    let (mut out, mut grad) = ([0.0; 3], [0.0; 3]);
    let null = core::ptr::null_mut();
    let status = unsafe {
        f64::call(
            loss,
            pred.as_ptr(),
            target.as_ptr(),
            3,
            opts,
            out.as_mut_ptr(),
            grad.as_mut_ptr(),
            null,
        )
    };
    (status, last_error())
}

fn assert_status(got: (floss_status, String), status: floss_status, needles: &[&str]) {
    assert_eq!(got.0, status, "{}", got.1);
    for needle in needles {
        assert!(
            got.1.contains(needle),
            "{:?} does not mention {needle:?}",
            got.1
        );
    }
}

const PRED: [f64; 3] = [0.2, 0.7, 0.5];
const TARGET: [f64; 3] = [0.0, 1.0, 0.5];

fn none(input: u32) -> floss_options {
    options(input, FLOSS_REDUCTION_NONE)
}

#[test]
fn null_pointers_are_refused() {
    let opts = none(FLOSS_INPUT_PROBS);
    let (mut out, null_in, null_out) = ([0.0; 2], core::ptr::null(), core::ptr::null_mut());
    for (loss, name) in [(BCE, "binary_cross_entropy"), (FOCAL, "binary_focal_loss")] {
        let call = |pred, target, out| unsafe {
            let s = f64::call(loss, pred, target, 2, &opts, out, null_out, null_out);
            (s, last_error())
        };
        let data = [0.5; 2];
        let wanted = format!("floss_{name}_f64");
        assert_status(
            call(null_in, data.as_ptr(), out.as_mut_ptr()),
            FLOSS_ERR_NULL_POINTER,
            &[&wanted, "pred is NULL"],
        );
        assert_status(
            call(data.as_ptr(), null_in, out.as_mut_ptr()),
            FLOSS_ERR_NULL_POINTER,
            &["target is NULL"],
        );
        assert_status(
            call(data.as_ptr(), data.as_ptr(), null_out),
            FLOSS_ERR_NULL_POINTER,
            &["out is NULL"],
        );
    }
}

#[test]
fn a_length_beyond_the_address_space_is_a_shape_error() {
    let data = [0.5f32; 1];
    let mut out = [0f32; 1];
    let opts = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_SUM);
    let n = usize::MAX / 4 + 1;
    for loss in [BCE, FOCAL] {
        let null = core::ptr::null_mut();
        let status = unsafe {
            f32::call(
                loss,
                data.as_ptr(),
                data.as_ptr(),
                n,
                &opts,
                out.as_mut_ptr(),
                null,
                null,
            )
        };
        assert_status(
            (status, last_error()),
            FLOSS_ERR_SHAPE,
            &["pred", &n.to_string()],
        );
    }
}

#[test]
fn parameters_outside_their_domain_are_argument_errors() {
    let opts = none(FLOSS_INPUT_LOGITS);
    for pos_weight in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let got = status_of(Loss::CrossEntropy { pos_weight }, &PRED, &TARGET, &opts);
        assert_status(
            got,
            FLOSS_ERR_ARGUMENT,
            &["pos_weight", &pos_weight.to_string()],
        );
    }
    for alpha in [1.5, f64::NAN, f64::INFINITY] {
        let got = status_of(Loss::Focal { alpha, gamma: 2.0 }, &PRED, &TARGET, &opts);
        assert_status(got, FLOSS_ERR_ARGUMENT, &["alpha", &alpha.to_string()]);
    }
    for gamma in [-0.5, f64::NAN, f64::INFINITY] {
        let got = status_of(Loss::Focal { alpha: 0.5, gamma }, &PRED, &TARGET, &opts);
        assert_status(got, FLOSS_ERR_ARGUMENT, &["gamma", &gamma.to_string()]);
    }
    for loss in [BCE, FOCAL] {
        let mut bad = opts;
        bad.log_base = 1.0;
        assert_status(
            status_of(loss, &PRED, &TARGET, &bad),
            FLOSS_ERR_ARGUMENT,
            &["log_base"],
        );
        let mut bad = opts;
        bad.label_smoothing = 1.5;
        let got = status_of(loss, &PRED, &TARGET, &bad);
        assert_status(got, FLOSS_ERR_ARGUMENT, &["label_smoothing", "1.5"]);
        let mut bad = opts;
        bad.reduction = 7;
        assert_status(
            status_of(loss, &PRED, &TARGET, &bad),
            FLOSS_ERR_ARGUMENT,
            &["reduction = 7"],
        );
        let mut bad = opts;
        bad.input = 2;
        assert_status(
            status_of(loss, &PRED, &TARGET, &bad),
            FLOSS_ERR_ARGUMENT,
            &["input = 2"],
        );
        let mut bad = opts;
        bad.size = 3;
        assert_status(
            status_of(loss, &PRED, &TARGET, &bad),
            FLOSS_ERR_ARGUMENT,
            &["size = 3"],
        );
    }
}

#[test]
fn probabilities_and_targets_outside_zero_one_are_refused() {
    for loss in [BCE, FOCAL] {
        let got = status_of(loss, &[0.2, 1.5, 0.5], &TARGET, &none(FLOSS_INPUT_PROBS));
        assert_status(got, FLOSS_ERR_PROBABILITY, &["pred[1] = 1.5", "[0, 1]"]);
        for input in [FLOSS_INPUT_PROBS, FLOSS_INPUT_LOGITS] {
            let got = status_of(loss, &PRED, &[0.0, 1.0, -0.25], &none(input));
            assert_status(got, FLOSS_ERR_PROBABILITY, &["target[2] = -0.25"]);
        }
    }
}

#[test]
fn non_finite_inputs_are_refused() {
    for loss in [BCE, FOCAL] {
        let probs = none(FLOSS_INPUT_PROBS);
        let logits = none(FLOSS_INPUT_LOGITS);
        let got = status_of(loss, &[0.2, 0.3, f64::NAN], &TARGET, &probs);
        assert_status(got, FLOSS_ERR_NON_FINITE, &["pred[2] = NaN"]);
        let got = status_of(loss, &[f64::NEG_INFINITY, 0.3, 0.1], &TARGET, &probs);
        assert_status(got, FLOSS_ERR_NON_FINITE, &["pred[0] = -inf"]);
        let got = status_of(loss, &[0.0, f64::INFINITY, 1.0], &TARGET, &logits);
        assert_status(got, FLOSS_ERR_NON_FINITE, &["pred[1] = inf"]);
        let got = status_of(loss, &[0.0, f64::NAN, 1.0], &TARGET, &logits);
        assert_status(got, FLOSS_ERR_NON_FINITE, &["pred[1] = NaN"]);
        let got = status_of(loss, &PRED, &[f64::INFINITY, 0.0, 1.0], &logits);
        assert_status(got, FLOSS_ERR_NON_FINITE, &["target[0] = inf"]);
    }
}

#[test]
fn outputs_overlapping_inputs_are_refused() {
    let opts = none(FLOSS_INPUT_LOGITS);
    for loss in [BCE, FOCAL] {
        let mut pred = [0.1, -0.2, 0.3, 0.4];
        let target = [0.0, 1.0, 1.0];
        let mut out = [0.0; 3];
        let mut grad = [0.0; 3];
        let null = core::ptr::null_mut();
        let p = pred.as_mut_ptr();
        let call = |out: *mut f64, grad: *mut f64, hess: *mut f64| unsafe {
            let s = f64::call(loss, p, target.as_ptr(), 3, &opts, out, grad, hess);
            (s, last_error())
        };
        // out and grad on the prediction (shifted by one element: a partial overlap).
        let shifted = unsafe { p.add(1) };
        assert_status(
            call(shifted, null, null),
            FLOSS_ERR_OVERLAP,
            &["out overlaps pred"],
        );
        assert_status(
            call(out.as_mut_ptr(), p, null),
            FLOSS_ERR_OVERLAP,
            &["grad overlaps pred"],
        );
        let t = target.as_ptr() as *mut f64;
        assert_status(
            call(out.as_mut_ptr(), null, t),
            FLOSS_ERR_OVERLAP,
            &["hess overlaps target"],
        );
        let g = grad.as_mut_ptr();
        assert_status(
            call(out.as_mut_ptr(), g, g),
            FLOSS_ERR_OVERLAP,
            &["grad overlaps hess"],
        );
        assert_eq!(pred, [0.1, -0.2, 0.3, 0.4]);
    }
}

#[test]
fn misaligned_pointers_are_refused() {
    let storage = [0u64; 8];
    let misaligned = unsafe { (storage.as_ptr() as *const u8).add(1) } as *const f64;
    let target = [0.0; 3];
    let mut out = [0.0; 3];
    let opts = none(FLOSS_INPUT_LOGITS);
    let null = core::ptr::null_mut();
    for loss in [BCE, FOCAL] {
        let status = unsafe {
            f64::call(
                loss,
                misaligned,
                target.as_ptr(),
                3,
                &opts,
                out.as_mut_ptr(),
                null,
                null,
            )
        };
        let address = format!("{:#x}", misaligned as usize);
        assert_status(
            (status, last_error()),
            FLOSS_ERR_ALIGNMENT,
            &["pred", &address, "8 bytes"],
        );
        let status = unsafe {
            f64::call(
                loss,
                target.as_ptr(),
                target.as_ptr(),
                3,
                &opts,
                misaligned as *mut f64,
                null,
                null,
            )
        };
        assert_status(
            (status, last_error()),
            FLOSS_ERR_ALIGNMENT,
            &["out", "8 bytes"],
        );
    }
}

#[test]
fn a_successful_call_keeps_the_last_error() {
    let opts = none(FLOSS_INPUT_LOGITS);
    let got = status_of(BCE, &PRED, &TARGET, &{
        let mut bad = opts;
        bad.log_base = -2.0;
        bad
    });
    assert_eq!(got.0, FLOSS_ERR_ARGUMENT);
    let ok = status_of(FOCAL, &PRED, &TARGET, &opts);
    assert_eq!(ok, (FLOSS_OK, got.1));
}

/// Predictions mixing ordinary values with the extremes (logits up to
/// +-1e30 and -Inf; probabilities 0, 1, subnormal), and targets mixing hard,
/// soft and nearly hard ones: `n` of each, the targets all hard if asked.
fn mixed_inputs(input: u32, n: usize, hard: bool) -> (Vec<f64>, Vec<f64>) {
    let mut random = Random(0x5eed);
    let logits = [
        f64::NEG_INFINITY,
        -1e30,
        -800.0,
        -100.0,
        -30.0,
        0.0,
        30.0,
        100.0,
        800.0,
        1e30,
    ];
    let probs = [0.0, 1e-320, 1e-40, 1e-12, 0.5, 1.0 - 1e-12, 1.0];
    let pred = (0..n)
        .map(|i| match (input, i % 7) {
            (FLOSS_INPUT_LOGITS, 0) => logits[(i / 7) % logits.len()],
            (FLOSS_INPUT_LOGITS, _) => random.uniform(-8.0, 8.0),
            (_, 0) => probs[(i / 7) % probs.len()],
            _ => random.next(),
        })
        .collect();
    let target = (0..n)
        .map(|i| match (hard, i % 5) {
            (true, _) => (random.next() < 0.5) as u8 as f64,
            (false, 0) => 0.0,
            (false, 1) => 1.0,
            (false, 2) => [1e-40, 1e-7, 1.0 - 1e-7, 0.5][(i / 5) % 4],
            _ => random.next(),
        })
        .collect();
    (pred, target)
}

/// The loss of each element of a long array (several blocks, vector
/// loops and their remainders) is exactly the loss of that element alone.
fn check_elements_alone<T: Element>() {
    let n = 2100;
    for input in [FLOSS_INPUT_LOGITS, FLOSS_INPUT_PROBS] {
        for hard in [false, true] {
            let (pred, target) = mixed_inputs(input, n, hard);
            for smoothing in [0.0, 0.2] {
                let mut opts = options(input, FLOSS_REDUCTION_NONE);
                opts.label_smoothing = smoothing;
                for loss in losses() {
                    let all = run::<T>(loss, &pred, &target, &opts);
                    for i in (0..n).step_by(3) {
                        let one = run::<T>(loss, &pred[i..i + 1], &target[i..i + 1], &opts);
                        let what = format!(
                            "{loss:?} input {input} smoothing {smoothing} [{i}] x = {:e}, t = {:e}",
                            pred[i], target[i]
                        );
                        for (a, b) in [
                            (all.out[i], one.out[0]),
                            (all.grad[i], one.grad[0]),
                            (all.hess[i], one.hess[0]),
                        ] {
                            assert!(
                                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                                "{what}: {a:e} in the array, {b:e} alone"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn each_element_of_a_long_array_gets_its_result_alone_f64() {
    check_elements_alone::<f64>();
}

#[test]
fn each_element_of_a_long_array_gets_its_result_alone_f32() {
    check_elements_alone::<f32>();
}

#[test]
fn long_arrays_stay_finite_wherever_the_loss_is() {
    // Logits: every output finite, except the loss (and only the loss) of
    // a -Inf logit with a target > 0.
    let (pred, target) = mixed_inputs(FLOSS_INPUT_LOGITS, 3000, false);
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_NONE);
    for loss in losses() {
        for got in [
            run::<f64>(loss, &pred, &target, &opts),
            run::<f32>(loss, &pred, &target, &opts),
        ] {
            for i in 0..pred.len() {
                let masked = pred[i] == f64::NEG_INFINITY && target[i] > 0.0;
                let what = format!("{loss:?} x = {:e}, t = {:e}", pred[i], target[i]);
                assert!(
                    got.out[i].is_finite() || (masked && got.out[i] == f64::INFINITY),
                    "{what}: out {}",
                    got.out[i]
                );
                assert!(got.grad[i].is_finite(), "{what}: grad {}", got.grad[i]);
                assert!(got.hess[i].is_finite(), "{what}: hess {}", got.hess[i]);
            }
        }
    }
}

#[test]
fn long_reductions_are_sums_of_the_elements() {
    let n = 5003;
    for input in [FLOSS_INPUT_LOGITS, FLOSS_INPUT_PROBS] {
        let mut random = Random(3);
        let (pred, target) = random_inputs(&mut random, input, n);
        for loss in losses() {
            let none = run::<f64>(loss, &pred, &target, &options(input, FLOSS_REDUCTION_NONE));
            let total: f64 = none.out.iter().sum();
            let sum = run::<f64>(loss, &pred, &target, &options(input, FLOSS_REDUCTION_SUM));
            let tol = Tolerance {
                rel: 1e-13,
                abs: 0.0,
            };
            assert_close(&sum.out, &[total], tol, &format!("{loss:?} SUM"));
            let mean = run::<f64>(loss, &pred, &target, &options(input, FLOSS_REDUCTION_MEAN));
            assert_close(&mean.out, &[total / n as f64], tol, "MEAN");
            // f32: the element losses are summed in f64, then rounded once.
            let none = run::<f32>(loss, &pred, &target, &options(input, FLOSS_REDUCTION_NONE));
            let total: f64 = none.out.iter().sum();
            let sum = run::<f32>(loss, &pred, &target, &options(input, FLOSS_REDUCTION_SUM));
            let tol = Tolerance {
                rel: f32::EPSILON as f64,
                abs: 0.0,
            };
            assert_close(&sum.out, &[total], tol, &format!("{loss:?} f32 SUM"));
        }
    }
}

#[test]
fn a_bad_entry_far_into_the_array_is_reported_at_its_index() {
    let n = 5000;
    let mut pred = vec![0.25; n];
    let mut target = vec![1.0; n];
    let mut out = vec![0.0; n];
    let null = core::ptr::null_mut();
    let call = |pred: &[f64], target: &[f64], out: &mut [f64], input| {
        let opts = none(input);
        let s = unsafe {
            f64::call(
                FOCAL,
                pred.as_ptr(),
                target.as_ptr(),
                n,
                &opts,
                out.as_mut_ptr(),
                null,
                null,
            )
        };
        (s, last_error())
    };
    pred[4321] = f64::NAN;
    pred[4400] = 2.0;
    let got = call(&pred, &target, &mut out, FLOSS_INPUT_LOGITS);
    assert_status(got, FLOSS_ERR_NON_FINITE, &["pred[4321] = NaN"]);
    pred[4321] = 0.5;
    let got = call(&pred, &target, &mut out, FLOSS_INPUT_PROBS);
    assert_status(got, FLOSS_ERR_PROBABILITY, &["pred[4400] = 2"]);
    // Every target is checked before any prediction.
    target[4999] = -1.0;
    let got = call(&pred, &target, &mut out, FLOSS_INPUT_PROBS);
    assert_status(got, FLOSS_ERR_PROBABILITY, &["target[4999] = -1"]);
}

#[test]
fn absurd_gamma_gives_no_nan() {
    // Where alpha_t (1 - p_t)^gamma underflows, a factor with gamma in it
    // may overflow: the derivatives are then 0 (or the infinity of B'),
    // never NaN.
    let logits = [
        -97.38281,
        -20.0,
        -1.0,
        0.0,
        0.5,
        3.0,
        50.0,
        120.0,
        f64::NEG_INFINITY,
    ];
    let probs = [0.0, 1e-40, 0.1, 0.566_414_9, 0.9, 1.0];
    for gamma in [f32::MAX as f64, 1e30, 1e10, 200.0] {
        for (input, pred) in [
            (FLOSS_INPUT_LOGITS, &logits[..]),
            (FLOSS_INPUT_PROBS, &probs[..]),
        ] {
            for smoothing in [0.0, 0.3] {
                let mut opts = options(input, FLOSS_REDUCTION_NONE);
                opts.label_smoothing = smoothing;
                for t in [0.0, 1.0, 0.5, 0.1] {
                    for alpha in [-1.0, 0.25] {
                        let loss = Loss::Focal { alpha, gamma };
                        let target = vec![t; pred.len()];
                        for got in [
                            run::<f32>(loss, pred, &target, &opts),
                            run::<f64>(loss, pred, &target, &opts),
                        ] {
                            assert!(
                                got.out
                                    .iter()
                                    .chain(&got.grad)
                                    .chain(&got.hess)
                                    .all(|v| !v.is_nan()),
                                "{loss:?} input {input} smoothing {smoothing} t = {t}: {got:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}

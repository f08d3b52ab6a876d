//! Multi-class functions through the C exports: every reference case in
//! both dtypes, finite differences, identities, extreme logits, and one
//! test per reachable status.

// The helpers mirror C signatures.
#![allow(clippy::too_many_arguments)]

mod common;

use common::*;
use floss::ffi::class_weights::*;
use floss::ffi::cross_entropy::*;
use floss::ffi::entropy::*;
use floss::ffi::focal::*;
use floss::ffi::types::*;
use floss::Float;

/// The exported functions of one element type.
trait Api: Float {
    const VALUE: Tolerance;
    const DERIVATIVE: Tolerance;
    unsafe fn entropy(
        p: *const Self,
        n: usize,
        c: usize,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> u32;
    unsafe fn cross_entropy(
        p: *const Self,
        t: *const Self,
        n: usize,
        c: usize,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> u32;
    unsafe fn kl_divergence(
        p: *const Self,
        t: *const Self,
        n: usize,
        c: usize,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> u32;
    unsafe fn sparse(
        p: *const Self,
        y: *const i64,
        n: usize,
        c: usize,
        w: *const Self,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> u32;
    unsafe fn balanced(
        p: *const Self,
        y: *const i64,
        n: usize,
        c: usize,
        a: *const Self,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> u32;
    #[allow(clippy::too_many_arguments)]
    unsafe fn focal(
        p: *const Self,
        y: *const i64,
        n: usize,
        c: usize,
        a: *const Self,
        gamma: Self,
        o: *const floss_options,
        out: *mut Self,
        g: *mut Self,
        h: *mut Self,
    ) -> u32;
    unsafe fn class_weights(
        y: *const i64,
        n: usize,
        c: usize,
        scheme: u32,
        beta: f64,
        ignore: i64,
        w: *mut Self,
    ) -> u32;
}

macro_rules! api {
    ($t:ty, $e:ident, $ce:ident, $kl:ident, $sp:ident, $bal:ident, $fo:ident, $cw:ident, $v:expr, $d:expr) => {
        impl Api for $t {
            const VALUE: Tolerance = $v;
            const DERIVATIVE: Tolerance = $d;
            unsafe fn entropy(p: *const Self, n: usize, c: usize, o: *const floss_options, out: *mut Self, g: *mut Self, h: *mut Self) -> u32 {
                $e(p, n, c, o, out, g, h)
            }
            unsafe fn cross_entropy(p: *const Self, t: *const Self, n: usize, c: usize, o: *const floss_options, out: *mut Self, g: *mut Self, h: *mut Self) -> u32 {
                $ce(p, t, n, c, o, out, g, h)
            }
            unsafe fn kl_divergence(p: *const Self, t: *const Self, n: usize, c: usize, o: *const floss_options, out: *mut Self, g: *mut Self, h: *mut Self) -> u32 {
                $kl(p, t, n, c, o, out, g, h)
            }
            unsafe fn sparse(p: *const Self, y: *const i64, n: usize, c: usize, w: *const Self, o: *const floss_options, out: *mut Self, g: *mut Self, h: *mut Self) -> u32 {
                $sp(p, y, n, c, w, o, out, g, h)
            }
            unsafe fn balanced(p: *const Self, y: *const i64, n: usize, c: usize, a: *const Self, o: *const floss_options, out: *mut Self, g: *mut Self, h: *mut Self) -> u32 {
                $bal(p, y, n, c, a, o, out, g, h)
            }
            unsafe fn focal(p: *const Self, y: *const i64, n: usize, c: usize, a: *const Self, gamma: Self, o: *const floss_options, out: *mut Self, g: *mut Self, h: *mut Self) -> u32 {
                $fo(p, y, n, c, a, gamma, o, out, g, h)
            }
            unsafe fn class_weights(y: *const i64, n: usize, c: usize, scheme: u32, beta: f64, ignore: i64, w: *mut Self) -> u32 {
                $cw(y, n, c, scheme, beta, ignore, w)
            }
        }
    };
}
api!(
    f32,
    floss_entropy_f32,
    floss_cross_entropy_f32,
    floss_kl_divergence_f32,
    floss_sparse_cross_entropy_f32,
    floss_balanced_cross_entropy_f32,
    floss_focal_loss_f32,
    floss_class_weights_f32,
    F32_VALUE,
    F32_DERIVATIVE
);
api!(
    f64,
    floss_entropy_f64,
    floss_cross_entropy_f64,
    floss_kl_divergence_f64,
    floss_sparse_cross_entropy_f64,
    floss_balanced_cross_entropy_f64,
    floss_focal_loss_f64,
    floss_class_weights_f64,
    F64_VALUE,
    F64_DERIVATIVE
);

/// Which multi-class function a call goes to, with its own arguments.
#[derive(Clone, Debug)]
enum Loss<T> {
    Entropy,
    CrossEntropy(Vec<T>),
    Kl(Vec<T>),
    Sparse(Vec<i64>, Option<Vec<T>>),
    Balanced(Vec<i64>, Option<Vec<T>>),
    Focal(Vec<i64>, Option<Vec<T>>, T),
}

/// Results of one call.
struct Computed {
    status: u32,
    out: Vec<f64>,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

fn to<T: Float>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::from_f64(x)).collect()
}
fn back<T: Float>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}
fn opt_ptr<T>(v: &Option<Vec<T>>) -> *const T {
    v.as_ref().map_or(core::ptr::null(), |w| w.as_ptr())
}

/// Which derivatives a call asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Derivatives {
    None,
    Grad,
    Both,
}

fn call<T: Api>(loss: &Loss<T>, pred: &[T], n: usize, c: usize, opts: &floss_options) -> Computed {
    call_with(loss, pred, n, c, opts, Derivatives::Both)
}

fn call_with<T: Api>(
    loss: &Loss<T>,
    pred: &[T],
    n: usize,
    c: usize,
    opts: &floss_options,
    want: Derivatives,
) -> Computed {
    let out_len = if opts.reduction == FLOSS_REDUCTION_NONE {
        n
    } else {
        1
    };
    let mut out = vec![T::ZERO; out_len];
    let mut grad = vec![T::ZERO; n * c];
    let mut hess = vec![T::ZERO; n * c];
    let pg = match want {
        Derivatives::None => core::ptr::null_mut(),
        _ => grad.as_mut_ptr(),
    };
    let ph = match want {
        Derivatives::Both => hess.as_mut_ptr(),
        _ => core::ptr::null_mut(),
    };
    let (p, o, po) = (pred.as_ptr(), opts as *const _, out.as_mut_ptr());
    let status = unsafe {
        match loss {
            Loss::Entropy => T::entropy(p, n, c, o, po, pg, ph),
            Loss::CrossEntropy(t) => T::cross_entropy(p, t.as_ptr(), n, c, o, po, pg, ph),
            Loss::Kl(t) => T::kl_divergence(p, t.as_ptr(), n, c, o, po, pg, ph),
            Loss::Sparse(y, w) => T::sparse(p, y.as_ptr(), n, c, opt_ptr(w), o, po, pg, ph),
            Loss::Balanced(y, a) => T::balanced(p, y.as_ptr(), n, c, opt_ptr(a), o, po, pg, ph),
            Loss::Focal(y, a, g) => T::focal(p, y.as_ptr(), n, c, opt_ptr(a), *g, o, po, pg, ph),
        }
    };
    Computed {
        status,
        out: back(&out),
        grad: back(&grad),
        hess: back(&hess),
    }
}

fn optional_floats(case: &Case, key: &str) -> Option<Vec<f64>> {
    let v = case.param(key);
    (!v.is_null()).then(|| floats(v))
}

fn loss_of_case<T: Float>(case: &Case) -> Loss<T> {
    let weights = |key| optional_floats(case, key).map(|w| to::<T>(&w));
    match case.json["fn"].as_str().unwrap() {
        "entropy" => Loss::Entropy,
        "cross_entropy" => Loss::CrossEntropy(to(&case.floats("target"))),
        "kl_divergence" => Loss::Kl(to(&case.floats("target"))),
        "sparse_cross_entropy" => Loss::Sparse(case.labels("labels"), weights("weight")),
        "balanced_cross_entropy" => Loss::Balanced(case.labels("labels"), weights("alpha")),
        "focal_loss" => Loss::Focal(
            case.labels("labels"),
            weights("alpha"),
            T::from_f64(float(case.param("gamma"))),
        ),
        other => panic!("not a multi-class loss: {other}"),
    }
}

fn check_reference<T: Api>(name: &str) {
    for case in cases(name) {
        let what = format!("{} {}", case.name(), T::C_NAME);
        let (n, c) = (case.size("n"), case.size("c"));
        let pred: Vec<T> = to(&case.floats("pred"));
        let loss = loss_of_case::<T>(&case);
        let r = call(&loss, &pred, n, c, &case.options());
        assert_eq!(r.status, FLOSS_OK, "{what}: {}", last_error());
        // Asking for less computes the same: the value alone, or with the gradient.
        for want in [Derivatives::None, Derivatives::Grad] {
            let fewer = call_with(&loss, &pred, n, c, &case.options(), want);
            assert_eq!(fewer.out, r.out, "{what}: out with {want:?}");
            if want == Derivatives::Grad {
                assert_eq!(fewer.grad, r.grad, "{what}: grad without hess");
            }
        }
        assert_close(
            &r.out,
            &case.expected("out").unwrap(),
            T::VALUE,
            &format!("{what} out"),
        );
        assert_close(
            &r.grad,
            &case.expected("grad").unwrap(),
            T::DERIVATIVE,
            &format!("{what} grad"),
        );
        assert_close(
            &r.hess,
            &case.expected("hess").unwrap(),
            T::DERIVATIVE,
            &format!("{what} hess"),
        );
    }
}

macro_rules! reference_tests {
    ($($test:ident: $name:literal,)*) => {$(
        #[test]
        fn $test() {
            check_reference::<f64>($name);
            check_reference::<f32>($name);
        }
    )*};
}

reference_tests! {
    entropy_matches_the_reference: "entropy",
    cross_entropy_matches_the_reference: "cross_entropy",
    kl_divergence_matches_the_reference: "kl_divergence",
    sparse_cross_entropy_matches_pytorch: "sparse_cross_entropy",
    balanced_cross_entropy_matches_the_reference: "balanced_cross_entropy",
    focal_loss_matches_the_reference: "focal_loss",
}

fn check_class_weights<T: Api>() {
    for case in cases("class_weights") {
        let labels = case.labels("labels");
        let (n, c) = (case.size("n"), case.size("c"));
        let scheme = match case.param("scheme").as_str().unwrap() {
            "inverse_frequency" => FLOSS_WEIGHTS_INVERSE_FREQUENCY,
            "inverse_sqrt_frequency" => FLOSS_WEIGHTS_INVERSE_SQRT_FREQUENCY,
            "effective_number" => FLOSS_WEIGHTS_EFFECTIVE_NUMBER,
            other => panic!("{other}"),
        };
        let beta = float(case.param("beta"));
        let ignore = case.param("ignore_index").as_i64().unwrap();
        let mut w = vec![T::ZERO; c];
        let status = unsafe {
            T::class_weights(labels.as_ptr(), n, c, scheme, beta, ignore, w.as_mut_ptr())
        };
        assert_eq!(status, FLOSS_OK, "{}", last_error());
        assert_close(
            &back(&w),
            &case.expected("out").unwrap(),
            T::VALUE,
            &case.name(),
        );
    }
}

#[test]
fn class_weights_match_scikit_learn_and_cui() {
    check_class_weights::<f64>();
    check_class_weights::<f32>();
}

/// A small deterministic generator for test inputs (splitmix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
    fn label(&mut self, c: usize) -> i64 {
        (self.next() * c as f64) as i64
    }
}

fn options(input: u32, reduction: u32, log_base: f64, smoothing: f64) -> floss_options {
    floss_options {
        input,
        reduction,
        log_base,
        label_smoothing: smoothing,
        ..default_options()
    }
}

/// Every multi-class loss on one random problem (n x c), for FD checks.
fn random_losses(rng: &mut Rng, n: usize, c: usize) -> Vec<(&'static str, Loss<f64>)> {
    let labels: Vec<i64> = (0..n).map(|_| rng.label(c)).collect();
    let target: Vec<f64> = (0..n * c).map(|_| rng.uniform(0.0, 1.0)).collect();
    let weights: Vec<f64> = (0..c).map(|_| rng.uniform(0.2, 2.0)).collect();
    vec![
        ("entropy", Loss::Entropy),
        ("cross_entropy", Loss::CrossEntropy(target.clone())),
        ("kl_divergence", Loss::Kl(target)),
        (
            "sparse",
            Loss::Sparse(labels.clone(), Some(weights.clone())),
        ),
        ("balanced", Loss::Balanced(labels.clone(), None)),
        (
            "focal 2",
            Loss::Focal(labels.clone(), Some(weights.clone()), 2.0),
        ),
        ("focal 0.5", Loss::Focal(labels.clone(), None, 0.5)),
        ("focal 1", Loss::Focal(labels, Some(weights), 1.0)),
    ]
}

/// Asking for fewer outputs gives the same bits in wide rows (the
/// row-major engine's dense rows sum a row in chunks when derivatives are
/// asked and in one pass when not), for row lengths whose last group is
/// whole, partial, or in a chunk of its own, both input kinds, f32 and f64.
#[test]
fn wide_rows_give_the_same_bits_whatever_is_asked() {
    fn check<T: Api>(rng: &mut Rng, c: usize, input: u32) {
        let n = 3;
        let pred: Vec<f64> = (0..n * c)
            .map(|_| match input {
                FLOSS_INPUT_LOGITS => rng.uniform(-6.0, 6.0),
                _ => rng.uniform(0.0, 2.0 / c as f64),
            })
            .collect();
        let pred: Vec<T> = to(&pred);
        for (what, loss) in random_losses(rng, n, c) {
            let loss = match loss {
                Loss::Entropy => Loss::Entropy,
                Loss::CrossEntropy(t) => Loss::CrossEntropy(to::<T>(&t)),
                Loss::Kl(t) => Loss::Kl(to::<T>(&t)),
                Loss::Sparse(y, w) => Loss::Sparse(y, w.map(|w| to::<T>(&w))),
                Loss::Balanced(y, a) => Loss::Balanced(y, a.map(|a| to::<T>(&a))),
                Loss::Focal(y, a, g) => Loss::Focal(y, a.map(|a| to::<T>(&a)), T::from_f64(g)),
            };
            for smoothing in [0.0, 0.1] {
                let o = options(input, FLOSS_REDUCTION_NONE, 0.0, smoothing);
                let all = call(&loss, &pred, n, c, &o);
                assert_eq!(all.status, FLOSS_OK, "{what} c {c}: {}", last_error());
                for want in [Derivatives::None, Derivatives::Grad] {
                    let fewer = call_with(&loss, &pred, n, c, &o, want);
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    let at = format!(
                        "{what} c {c} input {input} smoothing {smoothing} {}",
                        T::C_NAME
                    );
                    assert_eq!(bits(&fewer.out), bits(&all.out), "{at}: out with {want:?}");
                    if want == Derivatives::Grad {
                        assert_eq!(bits(&fewer.grad), bits(&all.grad), "{at}: grad");
                    }
                }
            }
        }
    }
    let mut rng = Rng(11);
    for c in [512, 520, 527, 528, 775, 1000, 1031] {
        for input in [FLOSS_INPUT_LOGITS, FLOSS_INPUT_PROBS] {
            check::<f32>(&mut rng, c, input);
            check::<f64>(&mut rng, c, input);
        }
    }
}

/// grad matches central differences of out, and hess those of grad, for
/// every loss, both input kinds, with smoothing and a log base.
#[test]
fn derivatives_match_central_differences() {
    let mut rng = Rng(7);
    let (n, c, h) = (3, 4, 1e-5);
    for input in [FLOSS_INPUT_LOGITS, FLOSS_INPUT_PROBS] {
        for (name, loss) in random_losses(&mut rng, n, c) {
            let opts = options(input, FLOSS_REDUCTION_SUM, 3.0, 0.1);
            let pred: Vec<f64> = (0..n * c)
                .map(|_| {
                    if input == FLOSS_INPUT_LOGITS {
                        rng.uniform(-3.0, 3.0)
                    } else {
                        rng.uniform(0.05, 0.95)
                    }
                })
                .collect();
            let at = call(&loss, &pred, n, c, &opts);
            assert_eq!(at.status, FLOSS_OK, "{name}: {}", last_error());
            for k in 0..n * c {
                let mut plus = pred.clone();
                let mut minus = pred.clone();
                plus[k] += h;
                minus[k] -= h;
                let (up, down) = (
                    call(&loss, &plus, n, c, &opts),
                    call(&loss, &minus, n, c, &opts),
                );
                let fd_grad = (up.out[0] - down.out[0]) / (2.0 * h);
                let fd_hess = (up.grad[k] - down.grad[k]) / (2.0 * h);
                let what = format!("{name} input {input} entry {k}");
                assert_close(
                    &[at.grad[k]],
                    &[fd_grad],
                    Tolerance {
                        rel: 1e-6,
                        abs: 1e-7,
                    },
                    &format!("{what} grad"),
                );
                assert_close(
                    &[at.hess[k]],
                    &[fd_hess],
                    Tolerance {
                        rel: 1e-5,
                        abs: 1e-6,
                    },
                    &format!("{what} hess"),
                );
            }
        }
    }
}

/// The f32 path agrees with the f64 path on the same (f32-representable) inputs.
#[test]
fn f32_agrees_with_f64() {
    let mut rng = Rng(11);
    let (n, c) = (16, 5);
    for input in [FLOSS_INPUT_LOGITS, FLOSS_INPUT_PROBS] {
        for (name, loss) in random_losses(&mut rng, n, c) {
            let opts = options(input, FLOSS_REDUCTION_NONE, 0.0, 0.05);
            let pred: Vec<f64> = (0..n * c)
                .map(|_| {
                    (if input == FLOSS_INPUT_LOGITS {
                        rng.uniform(-8.0, 8.0)
                    } else {
                        rng.uniform(0.01, 1.0)
                    }) as f32 as f64
                })
                .collect();
            let loss32 = match &loss {
                Loss::Entropy => Loss::Entropy,
                Loss::CrossEntropy(t) => Loss::CrossEntropy(to::<f32>(t)),
                Loss::Kl(t) => Loss::Kl(to::<f32>(t)),
                Loss::Sparse(y, w) => Loss::Sparse(y.clone(), w.as_ref().map(|w| to::<f32>(w))),
                Loss::Balanced(y, a) => Loss::Balanced(y.clone(), a.as_ref().map(|a| to::<f32>(a))),
                Loss::Focal(y, a, g) => {
                    Loss::Focal(y.clone(), a.as_ref().map(|a| to::<f32>(a)), *g as f32)
                }
            };
            let loss64 = match loss32.clone() {
                Loss::Entropy => Loss::Entropy,
                Loss::CrossEntropy(t) => Loss::CrossEntropy(back(&t)),
                Loss::Kl(t) => Loss::Kl(back(&t)),
                Loss::Sparse(y, w) => Loss::Sparse(y, w.map(|w| back(&w))),
                Loss::Balanced(y, a) => Loss::Balanced(y, a.map(|a| back(&a))),
                Loss::Focal(y, a, g) => Loss::Focal(y, a.map(|a| back(&a)), g as f64),
            };
            let single = call(&loss32, &to::<f32>(&pred), n, c, &opts);
            let double = call(&loss64, &pred, n, c, &opts);
            let tol = Tolerance {
                rel: 1e-4,
                abs: 1e-5,
            };
            assert_close(
                &single.out,
                &double.out,
                tol,
                &format!("{name} {input} out"),
            );
            assert_close(
                &single.grad,
                &double.grad,
                tol,
                &format!("{name} {input} grad"),
            );
            assert_close(
                &single.hess,
                &double.hess,
                Tolerance {
                    rel: 1e-3,
                    abs: 1e-4,
                },
                &format!("{name} {input} hess"),
            );
        }
    }
}

#[test]
fn focal_with_gamma_zero_is_sparse_cross_entropy() {
    let mut rng = Rng(3);
    let (n, c) = (32, 6);
    let labels: Vec<i64> = (0..n).map(|_| rng.label(c)).collect();
    let weights: Vec<f64> = (0..c).map(|_| rng.uniform(0.1, 3.0)).collect();
    for input in [FLOSS_INPUT_LOGITS, FLOSS_INPUT_PROBS] {
        let pred: Vec<f64> = (0..n * c).map(|_| rng.uniform(0.01, 0.99)).collect();
        for reduction in [
            FLOSS_REDUCTION_NONE,
            FLOSS_REDUCTION_SUM,
            FLOSS_REDUCTION_MEAN,
            FLOSS_REDUCTION_WEIGHTED_MEAN,
        ] {
            let opts = options(input, reduction, 2.0, 0.15);
            let focal = call(
                &Loss::Focal(labels.clone(), Some(weights.clone()), 0.0),
                &pred,
                n,
                c,
                &opts,
            );
            let sparse = call(
                &Loss::Sparse(labels.clone(), Some(weights.clone())),
                &pred,
                n,
                c,
                &opts,
            );
            let balanced = call(
                &Loss::Balanced(labels.clone(), Some(weights.clone())),
                &pred,
                n,
                c,
                &opts,
            );
            for other in [&sparse, &balanced] {
                assert_eq!(focal.out, other.out);
                assert_eq!(focal.grad, other.grad);
                assert_eq!(focal.hess, other.hess);
            }
        }
    }
}

#[test]
fn balanced_without_alpha_uses_inverse_frequency_of_counted_labels() {
    let labels = vec![0i64, 0, 0, 1, -1, 2, 0, 1];
    let (n, c) = (labels.len(), 3);
    let mut rng = Rng(5);
    let pred: Vec<f64> = (0..n * c).map(|_| rng.uniform(-2.0, 2.0)).collect();
    let mut opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_WEIGHTED_MEAN, 0.0, 0.0);
    opts.ignore_index = -1;
    let mut alpha = vec![0.0; c];
    let status = unsafe {
        floss_class_weights_f64(
            labels.as_ptr(),
            n,
            c,
            FLOSS_WEIGHTS_INVERSE_FREQUENCY,
            0.0,
            -1,
            alpha.as_mut_ptr(),
        )
    };
    assert_eq!(status, FLOSS_OK);
    // 7 counted labels: 4 zeros, 2 ones, 1 two.
    assert_close(
        &alpha,
        &[7.0 / 12.0, 7.0 / 6.0, 7.0 / 3.0],
        F64_VALUE,
        "alpha",
    );
    let implicit = call(&Loss::Balanced(labels.clone(), None), &pred, n, c, &opts);
    let explicit = call(&Loss::Sparse(labels, Some(alpha)), &pred, n, c, &opts);
    assert_eq!(implicit.out, explicit.out);
    assert_eq!(implicit.grad, explicit.grad);
}

#[test]
fn reductions_agree_and_means_divide_as_the_contract_says() {
    let mut rng = Rng(9);
    let (n, c) = (10, 4);
    let mut labels: Vec<i64> = (0..n).map(|_| rng.label(c)).collect();
    labels[2] = 99;
    labels[7] = 99;
    let weights: Vec<f64> = (0..c).map(|_| rng.uniform(0.5, 2.0)).collect();
    let pred: Vec<f64> = (0..n * c).map(|_| rng.uniform(-2.0, 2.0)).collect();
    let loss = Loss::Focal(labels.clone(), Some(weights.clone()), 1.5);
    let run = |reduction| {
        let mut o = options(FLOSS_INPUT_LOGITS, reduction, 0.0, 0.1);
        o.ignore_index = 99;
        call(&loss, &pred, n, c, &o)
    };
    let none = run(FLOSS_REDUCTION_NONE);
    let sum = run(FLOSS_REDUCTION_SUM);
    let mean = run(FLOSS_REDUCTION_MEAN);
    let weighted = run(FLOSS_REDUCTION_WEIGHTED_MEAN);
    assert_eq!(none.out[2], 0.0);
    assert!(none.grad[2 * c..3 * c].iter().all(|&g| g == 0.0));
    let total: f64 = none.out.iter().sum();
    assert_close(&sum.out, &[total], F64_VALUE, "sum of none");
    assert_close(&none.grad, &sum.grad, F64_VALUE, "grad of none and sum");
    assert_close(
        &mean.out,
        &[total / 8.0],
        F64_VALUE,
        "mean over 8 counted rows",
    );
    let weight_sum: f64 = labels
        .iter()
        .filter(|&&y| y != 99)
        .map(|&y| weights[y as usize])
        .sum();
    assert_close(
        &weighted.out,
        &[total / weight_sum],
        F64_VALUE,
        "weighted mean",
    );
    let scaled: Vec<f64> = sum.grad.iter().map(|g| g / weight_sum).collect();
    assert_close(&weighted.grad, &scaled, F64_VALUE, "weighted mean grad");
}

#[test]
fn a_mean_over_nothing_is_zero_with_zero_gradient() {
    let pred = [0.3f64, 1.0, -2.0, 0.5];
    let labels = [5i64, 5];
    let mut opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_MEAN, 0.0, 0.0);
    opts.ignore_index = 5;
    for reduction in [FLOSS_REDUCTION_MEAN, FLOSS_REDUCTION_WEIGHTED_MEAN] {
        opts.reduction = reduction;
        let r = call(&Loss::Focal(labels.to_vec(), None, 2.0), &pred, 2, 2, &opts);
        assert_eq!(r.status, FLOSS_OK);
        assert_eq!(r.out, vec![0.0]);
        assert!(r.grad.iter().chain(&r.hess).all(|&g| g == 0.0));
        let empty = call(&Loss::<f64>::Sparse(vec![], None), &[], 0, 3, &opts);
        assert_eq!((empty.status, empty.out), (FLOSS_OK, vec![0.0]));
    }
    // NULL arrays are fine when n == 0.
    let mut out = [1.0f64];
    let status = unsafe {
        floss_sparse_cross_entropy_f64(
            core::ptr::null(),
            core::ptr::null(),
            0,
            3,
            core::ptr::null(),
            core::ptr::null(),
            out.as_mut_ptr(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        )
    };
    assert_eq!((status, out[0]), (FLOSS_OK, 0.0));
}

#[test]
fn kl_is_zero_at_the_target_and_cross_entropy_is_entropy_plus_kl() {
    let t = [0.1f64, 0.2, 0.7, 0.25, 0.25, 0.5];
    let opts = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE, 2.0, 0.0);
    let kl = call(&Loss::Kl(t.to_vec()), &t, 2, 3, &opts);
    assert_eq!(kl.out, vec![0.0, 0.0]);
    let p = [0.3f64, 0.3, 0.4, 0.6, 0.2, 0.2];
    let ce = call(&Loss::CrossEntropy(t.to_vec()), &p, 2, 3, &opts);
    let h = call(&Loss::Entropy, &t, 2, 3, &opts);
    let kl = call(&Loss::Kl(t.to_vec()), &p, 2, 3, &opts);
    for i in 0..2 {
        assert_close(
            &[ce.out[i]],
            &[h.out[i] + kl.out[i]],
            F64_VALUE,
            "H(t,p) = H(t) + KL",
        );
    }
    // Entropy in bits of a fair 4-sided die is exactly 2.
    let die = [0.25f64; 4];
    let bits = call(&Loss::Entropy, &die, 1, 4, &opts);
    assert_close(&bits.out, &[2.0], F64_VALUE, "fair die");
}

/// Independent 2-class formulas, with d = z0 - z1, q = sigmoid(-d),
/// S = softplus(-d) = -ln p0: focal on class 0 is L = q^g S,
/// dL/dz0 = -q^g (g p S + q), d2L/dz0^2 = p q^g (g^2 p S + 2 g q - g q S + q).
fn two_class_focal(d: f64, g: f64) -> [f64; 3] {
    let softplus = |x: f64| {
        if x > 0.0 {
            x + (-x).exp().ln_1p()
        } else {
            x.exp().ln_1p()
        }
    };
    let s = softplus(-d);
    let p = (-s).exp();
    let log_q = -softplus(d);
    let q = log_q.exp();
    let qg = (g * log_q).exp();
    [
        qg * s,
        -qg * (g * p * s + q),
        p * qg * (g * g * p * s + 2.0 * g * q - g * q * s + q),
    ]
}

#[test]
fn focal_is_finite_and_exact_at_extreme_logits() {
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_SUM, 0.0, 0.0);
    for d in [
        -1e300, -1e6, -700.0, -30.0, -1.0, 0.0, 2.0, 30.0, 50.0, 700.0, 1e6, 1e300,
    ] {
        for g in [0.0, 0.25, 0.5, 1.0, 2.0, 3.5] {
            let r = call(&Loss::Focal(vec![0], None, g), &[d, 0.0], 1, 2, &opts);
            assert_eq!(r.status, FLOSS_OK);
            let [value, grad, hess] = two_class_focal(d, g);
            let what = format!("d = {d:e}, gamma = {g}");
            assert!(
                r.out[0].is_finite() && r.grad.iter().chain(&r.hess).all(|x| x.is_finite()),
                "{what}"
            );
            let tol = Tolerance {
                rel: 1e-12,
                abs: 1e-300,
            };
            assert_close(&r.out, &[value], tol, &format!("{what} out"));
            assert_close(&r.grad, &[grad, -grad], tol, &format!("{what} grad"));
            assert_close(
                &r.hess,
                &[hess, hess],
                Tolerance {
                    rel: 1e-10,
                    abs: 1e-300,
                },
                &format!("{what} hess"),
            );
        }
    }
}

#[test]
fn f32_focal_is_finite_and_matches_f64_at_extreme_logits() {
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_SUM, 0.0, 0.0);
    for d in [
        -1e30f32, -1e4, -80.0, -10.0, 0.0, 10.0, 17.0, 80.0, 1e4, 3e38,
    ] {
        for g in [0.0f32, 0.5, 2.0] {
            for label in [0i64, 1] {
                let row = [d, -d.min(1e4), 0.0];
                let single = call(&Loss::Focal(vec![label], None, g), &row, 1, 3, &opts);
                let double = call(
                    &Loss::Focal(vec![label], None, g as f64),
                    &back(&row),
                    1,
                    3,
                    &opts,
                );
                let what = format!("d = {d:e}, gamma = {g}, label {label}");
                assert_eq!(single.status, FLOSS_OK, "{what}: {}", last_error());
                assert!(
                    single
                        .out
                        .iter()
                        .chain(&single.grad)
                        .chain(&single.hess)
                        .all(|x| x.is_finite()),
                    "{what}"
                );
                let to32 = |v: &[f64]| v.iter().map(|&x| x as f32 as f64).collect::<Vec<_>>();
                let tol = Tolerance {
                    rel: 1e-5,
                    abs: 1e-6,
                };
                assert_close(&single.out, &to32(&double.out), tol, &format!("{what} out"));
                assert_close(
                    &single.grad,
                    &to32(&double.grad),
                    tol,
                    &format!("{what} grad"),
                );
                assert_close(
                    &single.hess,
                    &to32(&double.hess),
                    tol,
                    &format!("{what} hess"),
                );
            }
        }
    }
}

#[test]
fn every_loss_is_finite_for_huge_finite_logits() {
    let mut rng = Rng(21);
    let (n, c) = (4, 3);
    for (name, loss) in random_losses(&mut rng, n, c) {
        let pred: Vec<f64> = (0..n * c)
            .map(|k| [1e300, -1e300, 0.0, 5e299][k % 4])
            .collect();
        let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_NONE, 0.0, 0.1);
        let r = call(&loss, &pred, n, c, &opts);
        assert_eq!(r.status, FLOSS_OK, "{name}");
        assert!(
            r.out
                .iter()
                .chain(&r.grad)
                .chain(&r.hess)
                .all(|x| x.is_finite()),
            "{name}: {:?}",
            r.out
        );
    }
}

#[test]
fn minus_infinity_masks_a_class_and_on_the_target_gives_infinity() {
    let opts = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_NONE, 0.0, 0.0);
    let pred = [f64::NEG_INFINITY, 1.0, 2.0];
    let masked = call(&Loss::Focal(vec![2], None, 2.0), &pred, 1, 3, &opts);
    let two = call(&Loss::Focal(vec![1], None, 2.0), &[1.0, 2.0], 1, 2, &opts);
    assert_eq!(masked.status, FLOSS_OK);
    assert_close(&masked.out, &two.out, F64_VALUE, "masked class is absent");
    assert_eq!(masked.grad[0], 0.0);
    let on_target = call(&Loss::Sparse(vec![0], None), &pred, 1, 3, &opts);
    assert_eq!(on_target.out, vec![f64::INFINITY]);
    // Probabilities: a zero on the target is +Inf, never clamped.
    let probs = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE, 0.0, 0.0);
    let zero = call(&Loss::Sparse(vec![0], None), &[0.0, 1.0], 1, 2, &probs);
    assert_eq!(zero.out, vec![f64::INFINITY]);
}

/// Results are bitwise identical for every thread count, and the first
/// invalid entry in row order is the one reported.
#[test]
fn threads_do_not_change_results_or_errors() {
    use floss::ffi::utility::{floss_get_num_threads, floss_set_num_threads};
    let mut rng = Rng(33);
    // 2 x 10^5 entries, at 8 cost units each in f64 (parallel::Cost): work
    // for three threads (2^19 units each at least).
    let (n, c) = (20_000, 10);
    let pred: Vec<f64> = (0..n * c).map(|_| rng.uniform(-6.0, 6.0)).collect();
    let before = floss_get_num_threads();
    for (name, loss) in random_losses(&mut rng, n, c) {
        for reduction in [FLOSS_REDUCTION_NONE, FLOSS_REDUCTION_MEAN] {
            let opts = options(FLOSS_INPUT_LOGITS, reduction, 0.0, 0.05);
            floss_set_num_threads(1);
            let one = call(&loss, &pred, n, c, &opts);
            for threads in [3, 8] {
                floss_set_num_threads(threads);
                let many = call(&loss, &pred, n, c, &opts);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&one.out),
                    bits(&many.out),
                    "{name}: out with {threads} threads"
                );
                assert_eq!(
                    bits(&one.grad),
                    bits(&many.grad),
                    "{name}: grad with {threads} threads"
                );
                assert_eq!(
                    bits(&one.hess),
                    bits(&many.hess),
                    "{name}: hess with {threads} threads"
                );
            }
        }
    }
    let mut bad = pred.clone();
    bad[(n - 10) * c + 3] = f64::NAN;
    bad[(n / 2) * c + 1] = f64::INFINITY;
    floss_set_num_threads(4);
    let r = call(
        &Loss::Sparse(vec![0; n], None),
        &bad,
        n,
        c,
        &options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_MEAN, 0.0, 0.0),
    );
    floss_set_num_threads(before);
    assert_eq!(r.status, FLOSS_ERR_NON_FINITE);
    assert!(
        last_error().contains(&format!("pred[{}] = inf", (n / 2) * c + 1)),
        "{}",
        last_error()
    );
}

/// Fuzzing finding 1: where (1 - p)^gamma underflows, a factor with gamma
/// in it may overflow; the derivatives are then 0, not NaN.
#[test]
fn absurd_gamma_or_alpha_gives_zero_derivatives_not_nan() {
    let probs = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_NONE, 0.0, 0.0);
    let r = call(
        &Loss::Focal(vec![0], None, f32::MAX),
        &[0.566_414_9f32],
        1,
        1,
        &probs,
    );
    assert_eq!(r.status, FLOSS_OK);
    assert_eq!((r.grad[0], r.hess[0]), (0.0, 0.0));
    let logits = options(FLOSS_INPUT_LOGITS, FLOSS_REDUCTION_NONE, 0.0, 0.5);
    let r = call(
        &Loss::Focal(vec![0], Some(vec![f32::MAX]), 2.0),
        &[-97.382_81f32],
        1,
        1,
        &logits,
    );
    assert_eq!(r.status, FLOSS_OK);
    assert!(
        r.out
            .iter()
            .chain(&r.grad)
            .chain(&r.hess)
            .all(|x| !x.is_nan()),
        "{:?} {:?}",
        r.grad,
        r.hess
    );
}

/// Fuzzing finding 3: WEIGHTED_MEAN over counted samples whose weights are
/// all 0 is 0 with exactly zero derivatives (even where a per-sample
/// derivative is infinite), like a mean over nothing.
#[test]
fn a_weighted_mean_over_zero_weights_is_zero_with_zero_derivatives() {
    let opts = options(FLOSS_INPUT_PROBS, FLOSS_REDUCTION_WEIGHTED_MEAN, 0.0, 1e-3);
    let r = call(
        &Loss::Sparse(vec![0], Some(vec![0.0, 1.0, 1.0])),
        &[0.5f64, 0.0, 0.5],
        1,
        3,
        &opts,
    );
    assert_eq!(r.status, FLOSS_OK);
    assert_eq!(r.out, vec![0.0]);
    assert!(
        r.grad.iter().chain(&r.hess).all(|&x| x == 0.0),
        "{:?} {:?}",
        r.grad,
        r.hess
    );
}

//! Multi-class functions through the C exports: every reference case in
//! both dtypes, finite differences, identities, extreme logits, and one
//! test per reachable status.

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

fn call<T: Api>(loss: &Loss<T>, pred: &[T], n: usize, c: usize, opts: &floss_options) -> Computed {
    let out_len = if opts.reduction == FLOSS_REDUCTION_NONE {
        n
    } else {
        1
    };
    let mut out = vec![T::ZERO; out_len];
    let mut grad = vec![T::ZERO; n * c];
    let mut hess = vec![T::ZERO; n * c];
    let (p, o, po, pg, ph) = (
        pred.as_ptr(),
        opts as *const _,
        out.as_mut_ptr(),
        grad.as_mut_ptr(),
        hess.as_mut_ptr(),
    );
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
        let r = call(&loss_of_case::<T>(&case), &pred, n, c, &case.options());
        assert_eq!(r.status, FLOSS_OK, "{what}: {}", last_error());
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

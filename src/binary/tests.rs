use super::log_space::{cross_entropy, over, Point};
use super::*;
use crate::engine::Derivatives;
use crate::float::pow_from_ln;

#[test]
fn sigmoid_point_is_exact_in_both_tails() {
    let (far, _) = Point::from_logit(-800.0f64);
    assert_eq!(far.log_p, -800.0);
    assert_eq!(far.q, 1.0);
    assert_eq!(far.log_q, 0.0);
    let (near, _) = Point::from_logit(40.0f64);
    assert_eq!(near.p, 1.0);
    assert!((near.q / (-40.0f64).exp() - 1.0).abs() < 1e-15);
    assert_eq!(near.log_q, -40.0 - (-40.0f64).exp().ln_1p());
    let (masked, _) = Point::from_logit(f64::NEG_INFINITY);
    assert_eq!((masked.p, masked.log_p), (0.0, f64::NEG_INFINITY));
    assert_eq!((masked.q, masked.log_q), (1.0, 0.0));
}

impl<T: Float> BinaryLoss<T> {
    /// The one-element probability path as written before the block
    /// loops (branches instead of selects), with the infinite cases
    /// fixed: the reference of the tests.
    fn prob_space_reference(&self, at: &Target<T>, x: Point<T>) -> Derivatives<T> {
        let a = at.alpha_t;
        if a == T::ZERO {
            return Derivatives::ZERO;
        }
        let b = cross_entropy(at, &x);
        let b_positive = over(at.positive, x.p);
        let b_negative = over(at.negative, x.q);
        let b1 = b_negative - b_positive;
        let b2 = over(b_positive, x.p) + over(b_negative, x.q);
        let g = self.gamma;
        if g == T::ZERO {
            return Derivatives {
                value: a * b,
                first: a * b1,
                second: a * b2,
            };
        }
        let m = x.p * at.one_minus_t + x.q * at.t;
        let log_m = m.ln();
        let mg = pow_from_ln(g, log_m);
        let needed = (x.p == T::ZERO && at.positive != T::ZERO)
            || (x.q == T::ZERO && at.negative != T::ZERO);
        if needed {
            // (Before the block loops: a * mg * b and a * mg * b1, NaN
            // where mg underflows to 0.)
            return Derivatives {
                value: if b == T::INFINITY { b } else { a * mg * b },
                first: b1,
                second: T::INFINITY,
            };
        }
        let s = at.one_minus_t - at.t;
        let b_over_m = if m == T::ZERO {
            at.positive + at.negative
        } else {
            b / m
        };
        let mg1 = pow_from_ln(g - T::ONE, log_m);
        // Coefficients multiplied in before dividing by p or 1 - p.
        let (am, ak) = (a * mg, a * g * s * mg1);
        let by = |k: T, c: T, v: T| {
            if c == T::ZERO {
                T::ZERO
            } else {
                over(k * c, v)
            }
        };
        let second = ak * (g - T::ONE) * s * b_over_m
            + T::TWO * (by(ak, at.negative, x.q) - by(ak, at.positive, x.p))
            + over(by(am, at.negative, x.q), x.q)
            + over(by(am, at.positive, x.p), x.p);
        let second = if second.is_nan() { T::INFINITY } else { second };
        if mg == T::ZERO {
            // (Before the block loops: NaN where a factor with gamma
            // overflows.)
            return Derivatives {
                value: a * mg * b,
                first: T::ZERO,
                second: if mg1 == T::ZERO { T::ZERO } else { second },
            };
        }
        Derivatives {
            value: a * mg * b,
            first: am * g * s * b_over_m + by(am, at.negative, x.q) - by(am, at.positive, x.p),
            second,
        }
    }
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn losses<T: Float>() -> Vec<BinaryLoss<T>> {
    let mut all = vec![];
    for w in [1.0, 3.5] {
        all.push(BinaryLoss {
            pos_weight: T::from_f64(w),
            alpha: None,
            gamma: T::ZERO,
        });
    }
    for g in [0.5, 1.0, 2.0, 3.5] {
        for alpha in [None, Some(T::from_f64(0.25))] {
            all.push(BinaryLoss {
                pos_weight: T::ONE,
                alpha,
                gamma: T::from_f64(g),
            });
        }
    }
    all
}

/// Logits or probabilities: random ones and the extremes.
fn predictions(logits: bool) -> Vec<f64> {
    let mut rng = Lcg(5);
    let mut x: Vec<f64> = if logits {
        let mut x = vec![f64::NEG_INFINITY, 0.0, 1e-30, -1e-30];
        for m in [
            3.0, 20.0, 40.0, 86.0, 88.0, 100.0, 110.0, 700.0, 720.0, 760.0, 1e4, 1e30,
        ] {
            x.extend([m, -m]);
        }
        x.extend((0..40).map(|_| rng.next() * 16.0 - 8.0));
        x
    } else {
        let mut x = vec![0.0, 1.0, 1e-320, 1e-40, 1e-30, 0.5, 1.0 - 1e-7, 1.0 - 1e-16];
        x.extend((0..40).map(|_| rng.next()));
        x
    };
    x.extend((0..8).map(|_| rng.next() * 0.1));
    x
}

fn targets() -> Vec<f64> {
    let mut rng = Lcg(6);
    let mut t = vec![0.0, 1.0, 0.5, 1e-40, 1e-300, 1.0 - 1e-7, 1.0 - 1e-16, 0.3];
    t.extend((0..6).map(|_| rng.next()));
    t
}

/// Largest error of `compute` (block loops, slow path) against the
/// one-element paths, in units of |reference| + 1 (the scale of the
/// formulas' terms, which cancel where a derivative crosses zero).
fn worst<T: Float>(logits: bool, hard_only: bool, eps: f64, hess: bool) -> f64 {
    let mut worst = 0.0f64;
    for loss in losses::<T>() {
        let opts = Options {
            input: if logits { Input::Logits } else { Input::Probs },
            reduction: Reduction::None,
            label_smoothing: eps,
            ..Options::default()
        };
        let mut pred = vec![];
        let mut target = vec![];
        for &x in &predictions(logits) {
            for &t in &targets() {
                if !hard_only || t == 0.0 || t == 1.0 {
                    pred.push(T::from_f64(x));
                    target.push(T::from_f64(t));
                }
            }
        }
        let n = pred.len();
        let (mut out, mut grad, mut hessian) =
            (vec![T::ZERO; n], vec![T::ZERO; n], vec![T::ZERO; n]);
        let mut outputs = Outputs {
            out: &mut out,
            grad: Some(&mut grad),
            hess: if hess { Some(&mut hessian) } else { None },
        };
        loss.compute(&pred, &target, &opts, &mut outputs).unwrap();
        let alpha = loss.alpha.unwrap_or(T::ONE);
        let params = Params {
            keep: T::from_f64(1.0 - eps),
            add: T::from_f64(eps / 2.0),
            pos_weight: loss.pos_weight,
            neg_weight: T::ONE,
            alpha_positive: alpha,
            alpha_negative: T::ONE - alpha,
            has_alpha: loss.alpha.is_some(),
            gamma: loss.gamma,
        };
        for i in 0..n {
            let at = params.target(target[i]);
            let want = if logits {
                loss.log_space(&at, Point::from_logit(pred[i]).0)
            } else {
                loss.prob_space_reference(&at, Point::from_probability(pred[i]))
            };
            let mut pairs = vec![(out[i], want.value), (grad[i], want.first)];
            if hess {
                pairs.push((hessian[i], want.second));
            }
            for (got, want) in pairs {
                let (g, w) = (got.to_f64(), want.to_f64());
                let what = format!("{loss:?} x = {}, t = {}, eps {eps}", pred[i], target[i]);
                if !w.is_finite() || !g.is_finite() {
                    assert!(!g.is_nan(), "{what}: NaN");
                    assert_eq!(g, w, "{what}");
                } else {
                    worst = worst.max((g - w).abs() / (w.abs() + 1.0));
                }
            }
        }
    }
    worst
}

#[test]
fn block_loops_match_the_one_element_paths() {
    for logits in [true, false] {
        for hard_only in [true, false] {
            for eps in [0.0, 0.1] {
                for hess in [true, false] {
                    let what = format!("logits {logits} hard {hard_only} eps {eps} hess {hess}");
                    let double = worst::<f64>(logits, hard_only, eps, hess);
                    assert!(double <= 32.0 * f64::EPSILON, "f64 {what}: {double:e}");
                    let single = worst::<f32>(logits, hard_only, eps, hess);
                    assert!(
                        single <= 32.0 * f32::EPSILON as f64,
                        "f32 {what}: {single:e}"
                    );
                }
            }
        }
    }
}

#[test]
fn sums_use_a_fixed_lane_pattern() {
    let x: Vec<f64> = (0..37).map(|i| 1.0 + i as f64 * 1e-3).collect();
    let mut lanes = [0.0; LANES];
    for (i, &v) in x[..32].iter().enumerate() {
        lanes[i % LANES] += v;
    }
    let mut want = 0.0;
    for lane in lanes {
        want += lane;
    }
    for &v in &x[32..] {
        want += v;
    }
    assert_eq!(sum_lanes(&x, |v| v), want);
    assert_eq!(sum_lanes(&x[..3], |v| v), (x[0] + x[1]) + x[2]);
}

/// Results are bitwise identical for every thread count (segments are whole
/// blocks, block sums added in order), and the first invalid element in
/// order is the one reported.
#[test]
fn threads_do_not_change_results_or_errors() {
    let n = 200_003; // enough for 6 threads of 2^15 elements, and a partial block
    let mut seed = 5u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let x: Vec<f64> = (0..n)
        .map(|k| {
            if k % 1001 == 0 {
                -900.0
            } else {
                (next() - 0.5) * 40.0
            }
        })
        .collect();
    let soft: Vec<f64> = (0..n).map(|_| next()).collect();
    let p: Vec<f64> = (0..n).map(|_| next()).collect();
    let run = |pred: &[f64], input, reduction, threads| {
        let opts = Options {
            input,
            reduction,
            threads,
            ..Options::default()
        };
        let mut out = vec![0.0; if reduction == Reduction::None { n } else { 1 }];
        let (mut grad, mut hess) = (vec![0.0; n], vec![0.0; n]);
        let mut o = Outputs {
            out: &mut out,
            grad: Some(&mut grad),
            hess: Some(&mut hess),
        };
        binary_focal_loss(pred, &soft, 0.25, 2.0, &opts, &mut o).unwrap();
        let all: Vec<u64> = out
            .iter()
            .chain(&grad)
            .chain(&hess)
            .map(|v| v.to_bits())
            .collect();
        all
    };
    for (pred, input) in [(&x, Input::Logits), (&p, Input::Probs)] {
        for reduction in [Reduction::Mean, Reduction::None, Reduction::WeightedMean] {
            let one = run(pred, input, reduction, 1);
            for threads in [2, 3, 8] {
                assert!(
                    one == run(pred, input, reduction, threads),
                    "{input:?} {reduction:?}: {threads} threads differ from 1"
                );
            }
        }
    }
    let mut bad = x.clone();
    bad[150_000] = f64::NAN;
    bad[120_000] = f64::INFINITY;
    let opts = Options {
        input: Input::Logits,
        threads: 4,
        ..Options::default()
    };
    let mut out = [0.0];
    let err = binary_focal_loss(&bad, &soft, 0.25, 2.0, &opts, &mut Outputs::value(&mut out))
        .unwrap_err();
    assert!(err.to_string().contains("pred[120000] = inf"), "{err}");
}

/// Focal loss at gamma = 2 of f32 logits against hard targets, per element
/// (m = 1 - p_t squared, blocks.rs): value and gradient within 16
/// ulp-sized relative steps of an f64 evaluation of the same formula,
/// wherever the loss is a normal f32 (the gradient, ~ alpha_t p^3, carries
/// the exponential's 2 ulp three times).
#[test]
fn focal_at_gamma_2_matches_an_f64_evaluation_in_both_tails() {
    let xs: Vec<f32> = (-1700..=1700).map(|k| k as f32 / 40.0).collect();
    for t in [0.0f32, 1.0] {
        let targets = vec![t; xs.len()];
        let opts = Options {
            input: Input::Logits,
            reduction: Reduction::None,
            ..Options::default()
        };
        let (mut out, mut grad) = (vec![0.0f32; xs.len()], vec![0.0f32; xs.len()]);
        let mut outputs = Outputs {
            out: &mut out,
            grad: Some(&mut grad),
            hess: None,
        };
        binary_focal_loss(&xs, &targets, 0.25, 2.0, &opts, &mut outputs).unwrap();
        for (k, &x) in xs.iter().enumerate() {
            // s = 1 - 2t, z = s x: m = sigmoid(z), B = softplus(z) (= -ln p_t),
            // in f64 and without cancellation.
            let (x, s) = (x as f64, 1.0 - 2.0 * t as f64);
            let z = s * x;
            let m = 1.0 / (1.0 + (-z).exp());
            let one_minus_m = 1.0 / (1.0 + z.exp());
            let b = if z > 0.0 {
                z + (-z).exp().ln_1p()
            } else {
                z.exp().ln_1p()
            };
            let alpha_t = if t == 1.0 { 0.25 } else { 0.75 };
            // L = alpha_t m^2 B; dL/dz = alpha_t (2 m m' B + m^2 m), with
            // m' = m (1 - m) and dB/dz = m; dL/dx = s dL/dz.
            let value = alpha_t * m * m * b;
            let dz = alpha_t * (2.0 * m * m * one_minus_m * b + m * m * m);
            let gradient = s * dz;
            if value < f32::MIN_POSITIVE as f64 * 16.0 {
                continue;
            }
            for (what, got, want) in [("value", out[k], value), ("grad", grad[k], gradient)] {
                let rel = (got as f64 - want).abs() / want.abs();
                assert!(
                    rel <= 16.0 * f32::EPSILON as f64,
                    "t = {t}, x = {x}: {what} {got} for {want} ({rel:e})"
                );
            }
        }
    }
}

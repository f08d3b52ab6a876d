//! Hessian modes (`floss_options.hessian`): FISHER against formulas written
//! out independently in f64, its positivity over grids reaching the
//! extreme logits, its identity with the exact Hessian where the loss is
//! convex, its bounded Newton steps; FLOOR after the reduction's scaling;
//! and the C statuses of both, and of the prior init scores.

use floss::ffi::prior::*;
use floss::ffi::types::*;
use floss::ffi::utility::{floss_last_error, floss_options_init_sized};
use floss::*;

/// The options of one call.
fn opts(logits: bool, reduction: Reduction, hessian: HessianMode) -> Options {
    Options {
        input: if logits { Input::Logits } else { Input::Probs },
        reduction,
        hessian,
        ..Options::default()
    }
}

/// (grad, hess) of a loss call over `len` predictions and `samples` samples.
fn derivatives<T: Float>(
    len: usize,
    samples: usize,
    opts: &Options,
    call: impl Fn(&Options, &mut Outputs<T>) -> Result<()>,
) -> (Vec<T>, Vec<T>) {
    let out_len = if opts.reduction == Reduction::None {
        samples
    } else {
        1
    };
    let mut out = vec![T::from_f64(f64::NAN); out_len];
    let mut grad = vec![T::from_f64(f64::NAN); len];
    let mut hess = vec![T::from_f64(f64::NAN); len];
    call(
        opts,
        &mut Outputs {
            out: &mut out,
            grad: Some(&mut grad),
            hess: Some(&mut hess),
        },
    )
    .unwrap();
    (grad, hess)
}

fn to<T: Float>(x: &[f64]) -> Vec<T> {
    x.iter().map(|&v| T::from_f64(v)).collect()
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    got == want || (got - want).abs() <= rel * want.abs()
}

/// Deterministic pseudo-random numbers (xorshift), for reproducible inputs.
struct Random(u64);

impl Random {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

/// Logits from -800 to 800: dense near 0, then the tails, and -Inf.
fn logit_grid() -> Vec<f64> {
    let mut x: Vec<f64> = (-400..=400).map(|k| k as f64 * 0.1).collect();
    for big in [50.0, 88.0, 100.0, 104.0, 200.0, 700.0, 745.0, 800.0] {
        x.extend([-big, big]);
    }
    x.push(f64::NEG_INFINITY);
    x
}

fn sigmoid_pair(x: f64) -> (f64, f64) {
    (1.0 / (1.0 + (-x).exp()), 1.0 / (1.0 + x.exp()))
}

/// Softmax of a row in f64, as p and 1 - p (the latter from the other
/// classes' sum, without cancellation).
fn softmax(z: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let top = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|&v| (v - top).exp()).collect();
    let sum: f64 = e.iter().sum();
    let p = e.iter().map(|v| v / sum).collect();
    let q = (0..z.len())
        .map(|k| {
            let others: f64 = (0..z.len()).filter(|&j| j != k).map(|j| e[j]).sum();
            others / sum
        })
        .collect();
    (p, q)
}

// ------------------------------------------------------------ identities --

/// Hessians of every loss whose exact Hessian already is the Fisher one
/// (weights that do not depend on the prediction): FISHER returns them
/// bit for bit, in both dtypes, for probabilities and logits, under every
/// reduction.
fn fisher_is_exact_where_convex<T: Float>() {
    let mut random = Random(7);
    let (n, c) = (37, 4);
    let logits: Vec<f64> = (0..n * c).map(|_| random.uniform(-6.0, 6.0)).collect();
    let probs: Vec<f64> = (0..n * c).map(|_| random.uniform(0.01, 0.99)).collect();
    let soft: Vec<f64> = (0..n * c).map(|_| random.next()).collect();
    let labels: Vec<i64> = (0..n).map(|i| (i * 7 % c) as i64).collect();
    let weight = to::<T>(&[0.5, 2.0, 1.0, 3.0]);
    let binary_target: Vec<f64> = (0..n * c).map(|i| [0.0, 1.0, 0.3][i % 3]).collect();
    for logits_input in [false, true] {
        let pred = to::<T>(if logits_input { &logits } else { &probs });
        for reduction in [Reduction::None, Reduction::Sum, Reduction::Mean] {
            type Call<'a, T> = Box<dyn Fn(&Options, &mut Outputs<T>) -> Result<()> + 'a>;
            let (target, bt) = (to::<T>(&soft), to::<T>(&binary_target));
            let calls: Vec<(&str, usize, Call<T>)> = vec![
                (
                    "cross_entropy",
                    n,
                    Box::new(|o, out| cross_entropy(&pred, &target, c, o, out)),
                ),
                (
                    "kl_divergence",
                    n,
                    Box::new(|o, out| kl_divergence(&pred, &target, c, o, out)),
                ),
                (
                    "sparse",
                    n,
                    Box::new(|o, out| {
                        let o = Options {
                            ignore_index: Some(2),
                            label_smoothing: 0.1,
                            ..*o
                        };
                        sparse_cross_entropy(&pred, &labels, c, Some(&weight), &o, out)
                    }),
                ),
                (
                    "balanced",
                    n,
                    Box::new(|o, out| balanced_cross_entropy(&pred, &labels, c, None, o, out)),
                ),
                (
                    "focal gamma 0",
                    n,
                    Box::new(|o, out| {
                        focal_loss(&pred, &labels, c, Some(&weight), T::ZERO, o, out)
                    }),
                ),
                (
                    "binary_cross_entropy",
                    n * c,
                    Box::new(|o, out| binary_cross_entropy(&pred, &bt, T::from_f64(2.0), o, out)),
                ),
                (
                    "binary_focal gamma 0",
                    n * c,
                    Box::new(|o, out| {
                        binary_focal_loss(&pred, &bt, T::from_f64(0.25), T::ZERO, o, out)
                    }),
                ),
            ];
            for (name, samples, call) in &calls {
                let exact = derivatives(
                    n * c,
                    *samples,
                    &opts(logits_input, reduction, HessianMode::Exact),
                    call,
                );
                let fisher = derivatives(
                    n * c,
                    *samples,
                    &opts(logits_input, reduction, HessianMode::Fisher),
                    call,
                );
                let bits = |v: &Vec<T>| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&exact.1),
                    bits(&fisher.1),
                    "{name} hess, logits {logits_input}, {reduction:?}"
                );
                assert_eq!(bits(&exact.0), bits(&fisher.0), "{name} grad");
            }
        }
    }
}

#[test]
fn fisher_is_the_exact_hessian_where_the_loss_is_convex() {
    fisher_is_exact_where_convex::<f64>();
    fisher_is_exact_where_convex::<f32>();
}

// ---------------------------------------------------------------- binary --

/// alpha_t m^gamma (w t + 1 - t) p (1 - p), written out in f64.
fn binary_fisher_reference(x: f64, t: f64, alpha: Option<f64>, gamma: f64) -> f64 {
    let (p, q) = sigmoid_pair(x);
    let alpha_t = alpha.map_or(1.0, |a| a * t + (1.0 - a) * (1.0 - t));
    let m = p * (1.0 - t) + q * t;
    alpha_t * m.powf(gamma) * p * q
}

fn binary_fisher_on_the_grid<T: Float>(rel: f64, moderate: f64) {
    let x = logit_grid();
    for gamma in [0.25, 0.5, 1.0, 2.0, 5.0] {
        for alpha in [None, Some(0.25)] {
            for t in [0.0, 1.0, 0.3, 1e-6] {
                let target = vec![T::from_f64(t); x.len()];
                let pred = to::<T>(&x);
                let a = T::from_f64(alpha.unwrap_or(-1.0));
                let o = opts(true, Reduction::None, HessianMode::Fisher);
                let (_, hess) = derivatives(x.len(), x.len(), &o, |o, out| {
                    binary_focal_loss(&pred, &target, a, T::from_f64(gamma), o, out)
                });
                for (i, &h) in hess.iter().enumerate() {
                    let h = h.to_f64();
                    let at = format!("x = {}, t = {t}, gamma = {gamma}, alpha = {alpha:?}", x[i]);
                    assert!(h >= 0.0 && h.is_finite(), "{at}: hess = {h}");
                    if x[i].abs() <= moderate {
                        let want = binary_fisher_reference(pred[i].to_f64(), t, alpha, gamma);
                        assert!(h > 0.0, "{at}: hess = 0");
                        assert!(close(h, want, rel), "{at}: hess = {h}, formula {want}");
                    }
                }
            }
        }
    }
}

#[test]
fn binary_focal_fisher_is_positive_and_matches_its_formula() {
    binary_fisher_on_the_grid::<f64>(1e-11, 30.0);
    binary_fisher_on_the_grid::<f32>(2e-5, 15.0);
}

#[test]
fn binary_focal_fisher_from_probabilities() {
    let p = [1e-3, 0.1, 0.5, 0.9, 0.999];
    for t in [0.0, 1.0, 0.3] {
        let target = vec![t; p.len()];
        let o = opts(false, Reduction::None, HessianMode::Fisher);
        let (_, hess) = derivatives(p.len(), p.len(), &o, |o, out| {
            binary_focal_loss(&p, &target, 0.25, 2.0, o, out)
        });
        for (i, &pi) in p.iter().enumerate() {
            let alpha_t = 0.25 * t + 0.75 * (1.0 - t);
            let m: f64 = pi * (1.0 - t) + (1.0 - pi) * t;
            let want = alpha_t * m * m * (t / (pi * pi) + (1.0 - t) / ((1.0 - pi) * (1.0 - pi)));
            assert!(
                close(hess[i], want, 1e-13),
                "p = {pi}, t = {t}: {} vs {want}",
                hess[i]
            );
        }
    }
    // A 0 or 1 that the target needs: infinite like the exact Hessian; one
    // it does not need: 0 (the term is absent).
    let o = opts(false, Reduction::None, HessianMode::Fisher);
    let (_, hess) = derivatives(2, 2, &o, |o, out| {
        binary_focal_loss(&[0.0, 1.0], &[1.0, 1.0], -1.0, 2.0, o, out)
    });
    assert_eq!(hess, [f64::INFINITY, 0.0]);
}

/// Per-sample Newton steps |g / h|: FISHER's are at most (1 + gamma) times
/// cross-entropy's at the same point, for hard targets (module docs).
#[test]
fn fisher_newton_steps_stay_within_one_plus_gamma_of_cross_entropy() {
    let x: Vec<f64> = (-300..=300).map(|k| k as f64 * 0.1).collect();
    for gamma in [0.5, 2.0, 5.0] {
        for t in [0.0, 1.0] {
            let target = vec![t; x.len()];
            let o = opts(true, Reduction::None, HessianMode::Fisher);
            let (g, h) = derivatives(x.len(), x.len(), &o, |o, out| {
                binary_focal_loss(&x, &target, -1.0, gamma, o, out)
            });
            let (g0, h0) = derivatives(x.len(), x.len(), &o, |o, out| {
                binary_cross_entropy(&x, &target, 1.0, o, out)
            });
            for i in 0..x.len() {
                let (focal, ce) = ((g[i] / h[i]).abs(), (g0[i] / h0[i]).abs());
                assert!(
                    focal <= (1.0 + gamma) * ce * (1.0 + 1e-9),
                    "x = {}, t = {t}, gamma = {gamma}: step {focal} vs cross-entropy {ce}",
                    x[i]
                );
            }
        }
    }
    // Multi-class, one-hot labels.
    let mut random = Random(3);
    let (n, c) = (500, 5);
    let z: Vec<f64> = (0..n * c).map(|_| random.uniform(-12.0, 12.0)).collect();
    let labels: Vec<i64> = (0..n).map(|i| (i % c) as i64).collect();
    let o = opts(true, Reduction::None, HessianMode::Fisher);
    let (g, h) = derivatives(n * c, n, &o, |o, out| {
        focal_loss(&z, &labels, c, None, 2.0, o, out)
    });
    let (g0, h0) = derivatives(n * c, n, &o, |o, out| {
        sparse_cross_entropy(&z, &labels, c, None, o, out)
    });
    for k in 0..n * c {
        if h0[k] > 1e-300 {
            let (focal, ce) = ((g[k] / h[k]).abs(), (g0[k] / h0[k]).abs());
            assert!(
                focal <= 3.0 * ce * (1.0 + 1e-9),
                "entry {k}: {focal} vs {ce}"
            );
        }
    }
}

// ----------------------------------------------------------- multi-class --

fn multiclass_fisher<T: Float>(rel: f64) {
    let mut random = Random(11);
    let (n, c) = (400, 4);
    let mut z: Vec<f64> = (0..n * c).map(|_| random.uniform(-8.0, 8.0)).collect();
    // Extreme rows: a confident right or wrong class, huge logits, a
    // masked class.
    let extremes = [
        [700.0, -700.0, 0.0, 1.0],
        [-50.0, 50.0, 49.0, 0.0],
        [30.0, 0.0, 0.0, f64::NEG_INFINITY],
        [-1e4, -1e4, 1e4, 1e4],
    ];
    for (r, row) in extremes.iter().enumerate() {
        z[r * c..(r + 1) * c].copy_from_slice(row);
    }
    let labels: Vec<i64> = (0..n).map(|i| ((i * 3 + 1) % c) as i64).collect();
    let alpha = [0.25, 1.0, 2.0, 0.5];
    let pred = to::<T>(&z);
    for gamma in [0.5, 2.0, 5.0] {
        for smoothing in [0.0, 0.1] {
            let o = Options {
                label_smoothing: smoothing,
                ..opts(true, Reduction::None, HessianMode::Fisher)
            };
            let a = to::<T>(&alpha);
            let (_, hess) = derivatives(n * c, n, &o, |o, out| {
                focal_loss(&pred, &labels, c, Some(&a), T::from_f64(gamma), o, out)
            });
            for i in 0..n {
                let row: Vec<f64> = pred[i * c..(i + 1) * c]
                    .iter()
                    .map(|v| v.to_f64())
                    .collect();
                let (p, q) = softmax(&row);
                // C = sum_j alpha_j t_j (1 - p_j)^gamma.
                let total: f64 = (0..c)
                    .map(|j| {
                        let t = (1.0 - smoothing) * ((j as i64 == labels[i]) as u8 as f64)
                            + smoothing / c as f64;
                        alpha[j] * t * q[j].powf(gamma)
                    })
                    .sum();
                for k in 0..c {
                    let h = hess[i * c + k].to_f64();
                    let want = total * p[k] * q[k];
                    let at = format!("row {i} {row:?}, class {k}, gamma {gamma}, eps {smoothing}");
                    assert!(h >= 0.0 && h.is_finite(), "{at}: hess = {h}");
                    // Below the smallest normal number, precision is absolute.
                    let tiny = T::MIN_POSITIVE.to_f64();
                    assert!(
                        close(h, want, rel) || (h - want).abs() < tiny,
                        "{at}: {h} vs {want}"
                    );
                    if want > 1e-30 {
                        assert!(h > 0.0, "{at}");
                    }
                }
            }
        }
    }
}

#[test]
fn multiclass_focal_fisher_is_positive_and_matches_its_formula() {
    multiclass_fisher::<f64>(1e-11);
    multiclass_fisher::<f32>(3e-5);
}

#[test]
fn multiclass_focal_fisher_from_probabilities() {
    let p = [0.7, 0.2, 0.1, 0.05, 0.05, 0.9];
    let o = opts(false, Reduction::None, HessianMode::Fisher);
    let (_, hess) = derivatives(6, 2, &o, |o, out| {
        focal_loss(&p, &[0, 2], 3, Some(&[0.5, 1.0, 2.0]), 2.0, o, out)
    });
    let want = [
        0.5 * 0.3f64.powi(2) / 0.49,
        0.0,
        0.0,
        0.0,
        0.0,
        2.0 * 0.1f64.powi(2) / 0.81,
    ];
    for k in 0..6 {
        assert!(close(hess[k], want[k], 1e-13), "{hess:?} vs {want:?}");
    }
}

#[test]
fn fisher_focal_tends_to_the_cross_entropy_hessian_as_gamma_tends_to_0() {
    let mut random = Random(5);
    let (n, c) = (50, 3);
    let z: Vec<f64> = (0..n * c).map(|_| random.uniform(-10.0, 10.0)).collect();
    let labels: Vec<i64> = (0..n).map(|i| (i % c) as i64).collect();
    let target: Vec<f64> = (0..n * c).map(|i| (i % 2) as f64).collect();
    let o = opts(true, Reduction::Mean, HessianMode::Fisher);
    let (_, focal) = derivatives(n * c, n, &o, |o, out| {
        focal_loss(&z, &labels, c, None, 1e-9, o, out)
    });
    let (_, ce) = derivatives(n * c, n, &o, |o, out| {
        sparse_cross_entropy(&z, &labels, c, None, o, out)
    });
    let (_, binary) = derivatives(n * c, n * c, &o, |o, out| {
        binary_focal_loss(&z, &target, -1.0, 1e-9, o, out)
    });
    let (_, bce) = derivatives(n * c, n * c, &o, |o, out| {
        binary_cross_entropy(&z, &target, 1.0, o, out)
    });
    for k in 0..n * c {
        assert!(
            close(focal[k], ce[k], 1e-7),
            "{k}: {} vs {}",
            focal[k],
            ce[k]
        );
        assert!(
            close(binary[k], bce[k], 1e-7),
            "{k}: {} vs {}",
            binary[k],
            bce[k]
        );
    }
}

#[test]
fn entropy_fisher_is_the_softmax_information() {
    let z = [2.0, 0.5, -1.0, 0.0, 0.0, f64::NEG_INFINITY];
    let o = opts(true, Reduction::None, HessianMode::Fisher);
    let (_, hess) = derivatives(6, 2, &o, |o, out| entropy(&z, 3, o, out));
    for r in 0..2 {
        let (p, q) = softmax(&z[r * 3..r * 3 + 3]);
        for k in 0..3 {
            assert!(close(hess[r * 3 + k], p[k] * q[k], 1e-14), "{hess:?}");
        }
    }
    let p = [0.5, 0.25, 0.25, 1.0, 0.0, 0.0];
    let o = opts(false, Reduction::None, HessianMode::Fisher);
    let (_, hess) = derivatives(6, 2, &o, |o, out| entropy(&p, 3, o, out));
    assert_eq!(hess, [2.0, 4.0, 4.0, 1.0, 0.0, 0.0]);
}

#[test]
fn fisher_does_not_depend_on_the_number_of_threads() {
    let mut random = Random(9);
    // 3 x 10^5 entries at 4 cost units each (f32 narrow tiles): work for
    // two threads (2^19 units each at least).
    let (n, c) = (50000, 6);
    let z: Vec<f32> = (0..n * c)
        .map(|_| random.uniform(-9.0, 9.0) as f32)
        .collect();
    let labels: Vec<i64> = (0..n).map(|i| (i * 5 % c) as i64).collect();
    let run = |threads| {
        let o = Options {
            threads,
            ..opts(true, Reduction::Mean, HessianMode::Fisher)
        };
        derivatives(n * c, n, &o, |o, out| {
            focal_loss(&z, &labels, c, None, 2.0, o, out)
        })
    };
    assert_eq!(run(1), run(4));
}

// ----------------------------------------------------------------- floor --

#[test]
fn floor_raises_the_scaled_hessian_of_counted_samples() {
    // Binary focal, MEAN over 4: the exact entries, already divided by 4,
    // straddle the floor; one is negative (t = 1, x = -4).
    let x = [-4.0, 0.0, -2.0, -6.0];
    let t = [1.0, 1.0, 0.0, 0.0];
    let floor = 0.01;
    let exact = derivatives(
        4,
        4,
        &opts(true, Reduction::Mean, HessianMode::Exact),
        |o, out| binary_focal_loss(&x, &t, 0.25, 2.0, o, out),
    );
    let floored = derivatives(
        4,
        4,
        &opts(true, Reduction::Mean, HessianMode::Floor(floor)),
        |o, out| binary_focal_loss(&x, &t, 0.25, 2.0, o, out),
    );
    assert!(exact.1[0] < 0.0, "{:?}", exact.1);
    assert!(
        exact.1.iter().any(|&h| h > floor) && exact.1.iter().any(|&h| (0.0..floor).contains(&h))
    );
    assert_eq!(exact.0, floored.0);
    for k in 0..4 {
        assert_eq!(floored.1[k], exact.1[k].max(floor), "{k}");
    }
    // Multi-class with an ignored row: it keeps 0.
    let z = [3.0, 0.0, -3.0, 1.0, 1.0, 1.0, 20.0, 0.0, 0.0];
    let labels = [0, -100, 0];
    let o = Options {
        ignore_index: Some(-100),
        ..opts(true, Reduction::Sum, HessianMode::Exact)
    };
    let call = |o: &Options, out: &mut Outputs<f32>| {
        focal_loss(&to::<f32>(&z), &labels, 3, None, 2.0, o, out)
    };
    let exact = derivatives(9, 3, &o, call);
    let floored = derivatives(
        9,
        3,
        &Options {
            hessian: HessianMode::Floor(1e-3),
            ..o
        },
        call,
    );
    for k in 0..9 {
        let want = if (3..6).contains(&k) {
            0.0
        } else {
            exact.1[k].max(1e-3)
        };
        assert_eq!(
            floored.1[k], want,
            "{k}: {:?} from {:?}",
            floored.1, exact.1
        );
    }
    assert!(
        exact.1[6..].iter().all(|&h| h < 1e-3),
        "the confident row is floored"
    );
}

#[test]
fn a_floor_that_vanishes_in_f32_is_refused() {
    let o = opts(true, Reduction::Sum, HessianMode::Floor(1e-50));
    let mut out = [0.0f32];
    let mut hess = [0.0f32; 2];
    let err = binary_focal_loss(
        &[0.0f32, 1.0],
        &[1.0, 0.0],
        0.25,
        2.0,
        &o,
        &mut Outputs {
            out: &mut out,
            grad: None,
            hess: Some(&mut hess),
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::Argument(_)), "{err}");
    assert!(
        err.to_string().contains("opts->hessian_floor = 1e-50"),
        "{err}"
    );
    let mut hess = [0.0f32; 3];
    let err = focal_loss(
        &[0.0f32, 1.0, 2.0],
        &[1],
        3,
        None,
        2.0,
        &Options {
            hessian: HessianMode::Floor(1e300),
            ..o
        },
        &mut Outputs {
            out: &mut out,
            grad: None,
            hess: Some(&mut hess),
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("1e300 is inf in float"), "{err}");
    // f64 takes it.
    let (_, hess) = derivatives(
        2,
        2,
        &opts(true, Reduction::None, HessianMode::Floor(1e-50)),
        |o, out| binary_focal_loss(&[0.0f64, 1.0], &[1.0, 0.0], 0.25, 2.0, o, out),
    );
    assert!(hess.iter().all(|&h| h > 1e-50));
}

// ----------------------------------------------------------- C statuses --

fn last_error() -> String {
    let mut buf = [0u8; 512];
    let len = unsafe { floss_last_error(buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..len.min(511)]).into_owned()
}

#[test]
fn hessian_options_through_c() {
    let mut o = floss::ffi::types::floss_options {
        size: 0,
        input: 0,
        reduction: 0,
        log_base: 0.0,
        ignore_index: 0,
        label_smoothing: 0.0,
        hessian: 0,
        hessian_floor: 0.0,
        positions: 0,
    };
    let size = core::mem::size_of::<floss_options>();
    assert_eq!(unsafe { floss_options_init_sized(&mut o, size) }, FLOSS_OK);
    o.input = FLOSS_INPUT_LOGITS;
    o.reduction = FLOSS_REDUCTION_NONE;
    let x = [-3.0f32, 0.5];
    let t = [1.0f32, 0.0];
    let mut out = [0.0f32; 2];
    let mut hess = [0.0f32; 2];
    let call = |o: &floss_options, out: &mut [f32], hess: &mut [f32]| unsafe {
        floss::ffi::binary::floss_binary_focal_loss_f32(
            x.as_ptr(),
            t.as_ptr(),
            2,
            -1.0,
            2.0,
            o,
            out.as_mut_ptr(),
            core::ptr::null_mut(),
            hess.as_mut_ptr(),
        )
    };
    o.hessian = FLOSS_HESSIAN_FISHER;
    assert_eq!(call(&o, &mut out, &mut hess), FLOSS_OK);
    for i in 0..2 {
        let want = binary_fisher_reference(x[i] as f64, t[i] as f64, None, 2.0);
        assert!(close(hess[i] as f64, want, 1e-5), "{hess:?}");
    }
    o.hessian = FLOSS_HESSIAN_FLOOR;
    o.hessian_floor = 1e-45 / 10.0;
    assert_eq!(call(&o, &mut out, &mut hess), FLOSS_ERR_ARGUMENT);
    assert!(
        last_error().starts_with("floss_binary_focal_loss_f32: opts->hessian_floor = "),
        "{}",
        last_error()
    );
    o.hessian_floor = 0.0;
    assert_eq!(call(&o, &mut out, &mut hess), FLOSS_ERR_ARGUMENT);
    o.hessian = 3;
    assert_eq!(call(&o, &mut out, &mut hess), FLOSS_ERR_ARGUMENT);
    assert!(
        last_error().contains("opts->hessian = 3"),
        "{}",
        last_error()
    );
}

#[test]
fn prior_scores_through_c() {
    let target = [0.0f64, 1.0, 0.0, 0.0];
    let mut out = [0.0f64; 3];
    let status = unsafe {
        floss_prior_log_odds_f64(target.as_ptr(), 4, core::ptr::null(), out.as_mut_ptr())
    };
    assert_eq!(status, FLOSS_OK);
    assert!((out[0] - (1.0f64 / 3.0).ln()).abs() < 1e-15);
    let status = unsafe {
        floss_prior_log_odds_f64(core::ptr::null(), 4, core::ptr::null(), out.as_mut_ptr())
    };
    assert_eq!(status, FLOSS_ERR_NULL_POINTER);
    let status = unsafe {
        floss_prior_log_odds_f64(
            target.as_ptr(),
            4,
            core::ptr::null(),
            target.as_ptr().cast_mut(),
        )
    };
    assert_eq!(status, FLOSS_ERR_OVERLAP);
    let nan = [0.5f32, f32::NAN];
    let mut out32 = [0.0f32; 3];
    let status =
        unsafe { floss_prior_log_odds_f32(nan.as_ptr(), 2, core::ptr::null(), out32.as_mut_ptr()) };
    assert_eq!(status, FLOSS_ERR_NON_FINITE);
    assert!(last_error().contains("target[1] = NaN"), "{}", last_error());

    let labels = [0i64, 2, 2, 7, 2];
    let weight = [1.0f32, 1.0, 2.0, 5.0, 1.0];
    let status = unsafe {
        floss_prior_log_probs_f32(
            labels.as_ptr(),
            5,
            3,
            weight.as_ptr(),
            7,
            out32.as_mut_ptr(),
        )
    };
    assert_eq!(status, FLOSS_OK, "{}", last_error());
    // W = (1, 0 -> 5 / 8, 4): class 1 is absent, raised to W / (2 N) = 5 / 8.
    let total = 1.0 + 0.625 + 4.0;
    for (k, w) in [1.0f32, 0.625, 4.0].iter().enumerate() {
        assert!((out32[k] - (w / total).ln()).abs() < 1e-6, "{out32:?}");
    }
    let status = unsafe {
        floss_prior_log_probs_f32(
            labels.as_ptr(),
            5,
            3,
            weight.as_ptr(),
            FLOSS_NO_IGNORE,
            out32.as_mut_ptr(),
        )
    };
    assert_eq!(status, FLOSS_ERR_LABEL);
    assert!(
        last_error().ends_with("labels[3] = 7 is outside [0, 3)"),
        "{}",
        last_error()
    );
    let bad = [1.0f32, f32::INFINITY, 1.0, 1.0, 1.0];
    let status = unsafe {
        floss_prior_log_probs_f32(labels.as_ptr(), 5, 3, bad.as_ptr(), 7, out32.as_mut_ptr())
    };
    assert_eq!(status, FLOSS_ERR_ARGUMENT);
    assert!(last_error().contains("weight[1] = inf"), "{}", last_error());
}

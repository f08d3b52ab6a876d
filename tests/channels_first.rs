//! The channels-first layout (N, C, d1, ..., dk), `Options::positions` = S:
//! reference values from PyTorch `F.cross_entropy` and kornia `focal_loss`
//! (`tests/data/channels_first.json`, from `tests/data/gen_channels_first.py`)
//! in f64 and f32; S = 1 equals the row layout bit for bit; every function
//! in channels-first equals its row-layout call on the transposed arrays bit
//! for bit (values, reductions, gradients, Hessians, threads), except where
//! the row call takes the row-major engine (one-hot logits, rows of at
//! least 96 classes, 32 of dense probabilities): there within 64 ulps;
//! shape statuses and messages.

use floss::ffi::cross_entropy::*;
use floss::ffi::entropy::*;
use floss::ffi::focal::*;
use floss::ffi::types::*;
use floss::{Float, Input, Options, Outputs, Reduction};
use serde_json::Value;

/// A multi-class function with its extra arguments (f64, converted).
#[derive(Clone, Debug)]
enum Loss {
    Entropy,
    CrossEntropy(Vec<f64>),
    Kl(Vec<f64>),
    Sparse(Vec<i64>, Option<Vec<f64>>),
    Balanced(Vec<i64>, Option<Vec<f64>>),
    Focal(Vec<i64>, Option<Vec<f64>>, f64),
}

impl Loss {
    fn name(&self) -> &'static str {
        match self {
            Loss::Entropy => "entropy",
            Loss::CrossEntropy(_) => "cross_entropy",
            Loss::Kl(_) => "kl_divergence",
            Loss::Sparse(..) => "sparse_cross_entropy",
            Loss::Balanced(..) => "balanced_cross_entropy",
            Loss::Focal(..) => "focal_loss",
        }
    }
}

/// out, grad, hess of one call.
type Results<T> = (Vec<T>, Vec<T>, Vec<T>);

fn cast<T: Float>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::from_f64(x)).collect()
}

/// Calls `loss` through the safe core on `pred` with `c` classes; `samples`
/// is the number of rows (or positions) for the size of `out`.
fn call<T: Float>(
    loss: &Loss,
    pred: &[f64],
    c: usize,
    opts: &Options,
) -> floss::Result<Results<T>> {
    let pred: Vec<T> = cast(pred);
    let samples = pred.len() / c;
    let mut out = vec![
        T::ZERO;
        if opts.reduction == Reduction::None {
            samples
        } else {
            1
        }
    ];
    let (mut grad, mut hess) = (vec![T::ZERO; pred.len()], vec![T::ZERO; pred.len()]);
    let mut outputs = Outputs {
        out: &mut out,
        grad: Some(&mut grad),
        hess: Some(&mut hess),
    };
    let opt = |w: &Option<Vec<f64>>| w.as_deref().map(cast::<T>);
    match loss {
        Loss::Entropy => floss::entropy(&pred, c, opts, &mut outputs),
        Loss::CrossEntropy(t) => floss::cross_entropy(&pred, &cast(t), c, opts, &mut outputs),
        Loss::Kl(t) => floss::kl_divergence(&pred, &cast(t), c, opts, &mut outputs),
        Loss::Sparse(y, w) => {
            floss::sparse_cross_entropy(&pred, y, c, opt(w).as_deref(), opts, &mut outputs)
        }
        Loss::Balanced(y, a) => {
            floss::balanced_cross_entropy(&pred, y, c, opt(a).as_deref(), opts, &mut outputs)
        }
        Loss::Focal(y, a, g) => floss::focal_loss(
            &pred,
            y,
            c,
            opt(a).as_deref(),
            T::from_f64(*g),
            opts,
            &mut outputs,
        ),
    }?;
    Ok((out, grad, hess))
}

fn reduction(name: &str) -> Reduction {
    match name {
        "none" => Reduction::None,
        "sum" => Reduction::Sum,
        "mean" => Reduction::Mean,
        "weighted_mean" => Reduction::WeightedMean,
        other => panic!("unknown reduction {other}"),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn reference_cases() -> Vec<Value> {
    let root: Value =
        serde_json::from_str(include_str!("data/channels_first.json")).expect("parses");
    root["cases"].as_array().expect("cases").clone()
}

/// The case's loss, classes, options (channels-first) and expected results.
fn reference(case: &Value) -> (Loss, usize, Options, [Vec<f64>; 3], f64) {
    let shape: Vec<usize> = case["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let c = shape[1];
    let labels = || -> Vec<i64> {
        case["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|y| y.as_i64().unwrap())
            .collect()
    };
    let optional = |key: &str| (!case[key].is_null()).then(|| floats(&case[key]));
    let loss = match case["function"].as_str().unwrap() {
        "sparse_cross_entropy" => Loss::Sparse(labels(), optional("weight")),
        "cross_entropy" => Loss::CrossEntropy(floats(&case["target"])),
        "focal_loss" => Loss::Focal(labels(), optional("alpha"), case["gamma"].as_f64().unwrap()),
        other => panic!("unknown function {other}"),
    };
    let opts = Options {
        input: Input::Logits,
        reduction: reduction(case["reduction"].as_str().unwrap()),
        ignore_index: case["ignore_index"].as_i64(),
        label_smoothing: case["label_smoothing"].as_f64().unwrap(),
        positions: shape[2..].iter().product(),
        ..Options::default()
    };
    let expected = [
        floats(&case["out"]),
        floats(&case["grad"]),
        floats(&case["hess"]),
    ];
    let divide_by = case["divide_by"].as_f64().unwrap_or(1.0);
    (loss, c, opts, expected, divide_by)
}

fn assert_close(what: &str, got: &[f64], want: &[f64], rel: f64, abs: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(
            err <= rel * w.abs() + abs,
            "{what}[{k}]: got {g:e}, want {w:e} (error {err:e})"
        );
    }
}

fn check_reference<T: Float>(rel: f64, abs: f64, rel_derivative: f64) {
    let cases = reference_cases();
    assert!(cases.len() >= 60, "reference cases missing");
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let (loss, c, opts, [out, grad, hess], divide_by) = reference(case);
        // f32: the inputs are rounded to f32 first, and so is the reference's input.
        let (got_out, got_grad, got_hess) = call::<T>(&loss, &floats(&case["pred"]), c, &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let widen = |v: Vec<T>| v.into_iter().map(|x| x.to_f64()).collect::<Vec<_>>();
        let got_out: Vec<f64> = widen(got_out).into_iter().map(|v| v / divide_by).collect();
        let scale = 1.0 / divide_by;
        let got_grad: Vec<f64> = widen(got_grad).into_iter().map(|v| v * scale).collect();
        let got_hess: Vec<f64> = widen(got_hess).into_iter().map(|v| v * scale).collect();
        assert_close(&format!("{name} out"), &got_out, &out, rel, abs);
        assert_close(
            &format!("{name} grad"),
            &got_grad,
            &grad,
            rel_derivative,
            abs,
        );
        assert_close(
            &format!("{name} hess"),
            &got_hess,
            &hess,
            rel_derivative,
            abs,
        );
    }
}

#[test]
fn matches_pytorch_and_kornia_in_f64() {
    check_reference::<f64>(1e-9, 1e-13, 1e-9);
}

#[test]
fn matches_pytorch_and_kornia_in_f32() {
    check_reference::<f32>(1e-5, 1e-6, 1e-4);
}

/// A deterministic pseudo-random sequence in [0, 1).
fn uniform(seed: u64, len: usize) -> Vec<f64> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// (N, C, S) channels-first to (N S, C) rows.
fn to_rows<T: Copy>(v: &[T], n: usize, c: usize, s: usize) -> Vec<T> {
    let mut rows = Vec::with_capacity(v.len());
    for i in 0..n {
        for p in 0..s {
            rows.extend((0..c).map(|j| v[(i * c + j) * s + p]));
        }
    }
    rows
}

/// Every function, channels-first (N, C, S), with its per-class inputs.
fn losses(n: usize, c: usize, s: usize, seed: u64) -> (Vec<f64>, Vec<Loss>) {
    let len = n * c * s;
    let logits: Vec<f64> = uniform(seed, len).iter().map(|u| 12.0 * u - 6.0).collect();
    // Targets: a softmax over the class axis of other logits.
    let raw = uniform(seed + 1, len);
    let mut target = vec![0.0; len];
    for i in 0..n {
        for p in 0..s {
            let at = |j: usize| (i * c + j) * s + p;
            let norm: f64 = (0..c).map(|j| (3.0 * raw[at(j)]).exp()).sum();
            for j in 0..c {
                target[at(j)] = (3.0 * raw[at(j)]).exp() / norm;
            }
        }
    }
    let labels: Vec<i64> = uniform(seed + 2, n * s)
        .iter()
        .enumerate()
        .map(|(k, u)| {
            if k % 7 == 3 {
                -1
            } else {
                (u * c as f64) as i64
            }
        })
        .collect();
    let weight: Vec<f64> = uniform(seed + 3, c).iter().map(|u| u + 0.25).collect();
    let losses = vec![
        Loss::Entropy,
        Loss::CrossEntropy(target.clone()),
        Loss::Kl(target),
        Loss::Sparse(labels.clone(), Some(weight.clone())),
        Loss::Balanced(labels.clone(), None),
        Loss::Focal(labels.clone(), Some(weight), 2.0),
        Loss::Focal(labels, None, 0.5),
    ];
    (logits, losses)
}

/// Whether the row call may take the row-major engine
/// (`engine::row_major::from_classes`): one-hot logits (labels without
/// smoothing) whatever c, every row of at least 96 classes.
fn row_major(loss: &Loss, opts: &Options, c: usize) -> bool {
    let labels = matches!(
        loss,
        Loss::Sparse(..) | Loss::Balanced(..) | Loss::Focal(..)
    );
    let one_hot = labels && opts.label_smoothing == 0.0;
    // The engine's switch points (src/engine/row_major/mod.rs).
    let from = match (opts.input == Input::Logits, one_hot) {
        (true, true) => 1,
        (false, true) | (true, false) => 96,
        (false, false) => 32,
    };
    c >= from
}

/// The same loss on the rows of the transposed arrays.
fn transposed(loss: &Loss, n: usize, c: usize, s: usize) -> Loss {
    match loss {
        Loss::CrossEntropy(t) => Loss::CrossEntropy(to_rows(t, n, c, s)),
        Loss::Kl(t) => Loss::Kl(to_rows(t, n, c, s)),
        other => other.clone(),
    }
}

fn bits<T: Float>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

fn same_bits<T: Float>(what: &str, a: &Results<T>, b: &Results<T>) {
    assert_eq!(bits(&a.0), bits(&b.0), "{what}: out");
    assert_eq!(bits(&a.1), bits(&b.1), "{what}: grad");
    assert_eq!(bits(&a.2), bits(&b.2), "{what}: hess");
}

/// Within 64 ulps of T, relative to each row's largest magnitude
/// (derivatives are differences of terms) times the condition of a value
/// formed in log space (|ln| of that magnitude, at least 1).
fn near<T: Float>(what: &str, a: &Results<T>, b: &Results<T>) {
    let eps = if core::mem::size_of::<T>() == 4 {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    };
    for (name, x, y) in [
        ("out", &a.0, &b.0),
        ("grad", &a.1, &b.1),
        ("hess", &a.2, &b.2),
    ] {
        let scale = x
            .iter()
            .chain(y.iter())
            .fold(0.0f64, |m, v| m.max(v.to_f64().abs()))
            .max(1e-300);
        for (k, (u, v)) in x.iter().zip(y.iter()).enumerate() {
            let (u, v) = (u.to_f64(), v.to_f64());
            let tol = 64.0 * eps * scale * scale.ln().abs().max(1.0);
            assert!(
                u == v || (u - v).abs() <= tol,
                "{what}: {name}[{k}] {u} vs {v}"
            );
        }
    }
}

/// Every input kind, reduction and smoothing (`all`), or a few (for large
/// shapes, which only matter for the block and thread boundaries).
fn every_option(s: usize, threads: usize, all_options: bool) -> Vec<Options> {
    let mut all = Vec::new();
    let reductions: &[Reduction] = if all_options {
        &[
            Reduction::None,
            Reduction::Sum,
            Reduction::Mean,
            Reduction::WeightedMean,
        ]
    } else {
        &[Reduction::None, Reduction::Mean]
    };
    for input in [Input::Logits, Input::Probs] {
        for &reduction in reductions {
            for label_smoothing in [0.0, 0.1] {
                all.push(Options {
                    input,
                    reduction,
                    ignore_index: Some(-1),
                    label_smoothing,
                    threads,
                    positions: s,
                    ..Options::default()
                });
            }
        }
    }
    all
}

/// Probabilities from logits, per position (for the PROBS input).
fn probabilities(logits: &[f64], n: usize, c: usize, s: usize) -> Vec<f64> {
    let mut p = logits.to_vec();
    for i in 0..n {
        for q in 0..s {
            let at = |j: usize| (i * c + j) * s + q;
            let norm: f64 = (0..c).map(|j| logits[at(j)].exp()).sum();
            for j in 0..c {
                p[at(j)] = logits[at(j)].exp() / norm;
            }
        }
    }
    p
}

fn equals_transposed_rows<T: Float>(n: usize, c: usize, s: usize, threads: usize) {
    let (logits, losses) = losses(n, c, s, (n * 1000 + c * 10 + s) as u64);
    let probs = probabilities(&logits, n, c, s);
    for loss in &losses {
        let rows_loss = transposed(loss, n, c, s);
        for opts in every_option(s, threads, n * c * s < 10_000) {
            let pred = if opts.input == Input::Logits {
                &logits
            } else {
                &probs
            };
            let what = format!("{} n={n} c={c} s={s} {opts:?}", loss.name());
            let channels =
                call::<T>(loss, pred, c, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
            let row_opts = Options {
                positions: 0,
                ..opts
            };
            let rows = call::<T>(&rows_loss, &to_rows(pred, n, c, s), c, &row_opts).unwrap();
            let back = (
                rows.0.clone(),
                to_channels(&rows.1, n, c, s),
                to_channels(&rows.2, n, c, s),
            );
            // The row call may take the row-major engine, which
            // channels-first does not use: the same values to rounding
            // there, bit for bit everywhere else.
            if row_major(loss, &opts, c) {
                near(&what, &channels, &back);
            } else {
                same_bits(&what, &channels, &back);
            }
        }
    }
}

/// (N S, C) rows back to (N, C, S).
fn to_channels<T: Copy>(v: &[T], n: usize, c: usize, s: usize) -> Vec<T> {
    let mut out = v.to_vec();
    for i in 0..n {
        for p in 0..s {
            for j in 0..c {
                out[(i * c + j) * s + p] = v[(i * s + p) * c + j];
            }
        }
    }
    out
}

#[test]
fn channels_first_equals_the_transposed_row_call_bitwise() {
    // Blocks within a sample, across samples (c = 300: 32-position blocks),
    // two positions per sample, and two threads (at 4 cost units per f32
    // entry, 2^18 entries at least) with a sample split between them.
    for (n, c, s, threads) in [
        (2, 5, 12, 1),
        (3, 300, 20, 1),
        (4, 3, 2, 1),
        (5, 7, 8000, 2),
        (2, 2, 70000, 2),
    ] {
        equals_transposed_rows::<f64>(n, c, s, threads);
        equals_transposed_rows::<f32>(n, c, s, threads);
    }
}

#[test]
fn threads_give_the_same_bits_in_channels_first() {
    // 396000 entries at 4 cost units each in f32: work for three threads.
    let (n, c, s) = (3, 11, 12000);
    let (logits, losses) = losses(n, c, s, 5);
    for loss in &losses {
        for opts in every_option(s, 1, false) {
            let pred = if opts.input == Input::Logits {
                logits.clone()
            } else {
                probabilities(&logits, n, c, s)
            };
            let one = call::<f32>(loss, &pred, c, &opts).unwrap();
            for threads in [2, 3] {
                let many = call::<f32>(loss, &pred, c, &Options { threads, ..opts }).unwrap();
                same_bits(&format!("{} {threads} threads", loss.name()), &one, &many);
            }
        }
    }
}

#[test]
fn one_position_is_the_row_layout_bit_for_bit() {
    let (n, c) = (700, 6);
    let (logits, losses) = losses(n, c, 1, 9);
    let probs = probabilities(&logits, n, c, 1);
    for loss in &losses {
        for opts in every_option(1, 2, true) {
            let pred = if opts.input == Input::Logits {
                &logits
            } else {
                &probs
            };
            let one = call::<f32>(loss, pred, c, &opts).unwrap();
            let rows = call::<f32>(
                loss,
                pred,
                c,
                &Options {
                    positions: 0,
                    ..opts
                },
            )
            .unwrap();
            same_bits(&format!("{} {opts:?}", loss.name()), &one, &rows);
        }
    }
}

/// The message of the last error of this thread.
fn last_error() -> String {
    let mut buf = [0 as std::ffi::c_char; 512];
    unsafe { floss::ffi::utility::floss_last_error(buf.as_mut_ptr(), buf.len()) };
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn c_options(positions: usize, reduction: u32) -> floss_options {
    let mut opts = std::mem::MaybeUninit::<floss_options>::uninit();
    unsafe {
        let status = floss::ffi::utility::floss_options_init_sized(
            opts.as_mut_ptr(),
            std::mem::size_of::<floss_options>(),
        );
        assert_eq!(status, FLOSS_OK);
        let mut opts = opts.assume_init();
        opts.positions = positions;
        opts.reduction = reduction;
        opts.input = FLOSS_INPUT_LOGITS;
        opts
    }
}

#[test]
fn the_c_exports_read_n_as_the_batch_and_write_one_value_per_position() {
    // (N, C, S) = (2, 3, 4): labels and out have 8 entries.
    let (n, c, s) = (2, 3, 4);
    let pred: Vec<f32> = uniform(1, n * c * s)
        .iter()
        .map(|u| *u as f32 * 4.0)
        .collect();
    let labels: Vec<i64> = (0..(n * s) as i64).map(|k| k % 3).collect();
    let opts = c_options(s, FLOSS_REDUCTION_NONE);
    let mut out = vec![f32::NAN; n * s];
    let mut grad = vec![f32::NAN; n * c * s];
    let status = unsafe {
        floss_sparse_cross_entropy_f32(
            pred.as_ptr(),
            labels.as_ptr(),
            n,
            c,
            std::ptr::null(),
            &opts,
            out.as_mut_ptr(),
            grad.as_mut_ptr(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(status, FLOSS_OK, "{}", last_error());
    // The safe core's channels-first call (which equals the row call on
    // the transposed arrays: `equals_transposed_rows`; bit for bit
    // except on the row-major engine, which one-hot logits take).
    let core = call::<f32>(
        &Loss::Sparse(labels.clone(), None),
        &pred.iter().map(|&x| x as f64).collect::<Vec<_>>(),
        c,
        &Options {
            input: Input::Logits,
            reduction: Reduction::None,
            positions: s,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(bits(&out), bits(&core.0));
    assert_eq!(bits(&grad), bits(&core.1));
    // Entropy and dense cross-entropy likewise.
    let mut h = vec![f32::NAN; n * s];
    let status = unsafe {
        floss_entropy_f32(
            pred.as_ptr(),
            n,
            c,
            &opts,
            h.as_mut_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(status, FLOSS_OK, "{}", last_error());
    assert!(h.iter().all(|v| v.is_finite() && *v >= 0.0));
    let target: Vec<f64> = probabilities(&uniform(2, n * c * s), n, c, s);
    let target32: Vec<f32> = target.iter().map(|&t| t as f32).collect();
    let mut ce = vec![f32::NAN; n * s];
    let status = unsafe {
        floss_cross_entropy_f64(
            std::ptr::null(),
            std::ptr::null(),
            0,
            c,
            &opts,
            std::ptr::null_mut::<f64>(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    // n = 0 under NONE: nothing to read or write, out may be NULL.
    assert_eq!(status, FLOSS_OK, "{}", last_error());
    let status = unsafe {
        floss_cross_entropy_f32(
            pred.as_ptr(),
            target32.as_ptr(),
            n,
            c,
            &opts,
            ce.as_mut_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(status, FLOSS_OK, "{}", last_error());
    assert!(ce
        .iter()
        .zip(&h)
        .all(|(x, e)| x.is_finite() && *x >= *e - 1e-5));
}

#[test]
fn bad_shapes_give_statuses_and_messages() {
    let opts = c_options(usize::MAX / 2, FLOSS_REDUCTION_SUM);
    let mut out = [0.0f64];
    let one = [0.0f64];
    let label = [0i64];
    let (p, y, o, none) = (
        one.as_ptr(),
        label.as_ptr(),
        out.as_mut_ptr(),
        std::ptr::null_mut(),
    );
    // n * c * S overflows, in each function.
    let statuses = unsafe {
        [
            floss_sparse_cross_entropy_f64(p, y, 3, 2, std::ptr::null(), &opts, o, none, none),
            floss_entropy_f64(p, 3, 2, &opts, o, none, none),
            floss_kl_divergence_f64(p, p, 3, 2, &opts, o, none, none),
            floss_focal_loss_f64(p, y, 3, 2, std::ptr::null(), 2.0, &opts, o, none, none),
        ]
    };
    assert_eq!(statuses, [FLOSS_ERR_SHAPE; 4], "{}", last_error());
    assert!(last_error().contains("opts->positions"), "{}", last_error());
    // The core: labels or rows that are not whole samples.
    let opts = Options {
        positions: 4,
        input: Input::Logits,
        ..Options::default()
    };
    let err = call::<f64>(&Loss::Sparse(vec![0; 6], None), &[0.0; 12], 2, &opts).unwrap_err();
    assert!(matches!(err, floss::Error::Shape(_)), "{err}");
    let err = call::<f64>(&Loss::Entropy, &[0.0; 12], 2, &opts).unwrap_err();
    assert!(matches!(err, floss::Error::Shape(_)), "{err}");
    // NONE: out needs N S entries.
    let mut small = vec![0.0f64; 3];
    let pred = vec![0.0f64; 16];
    let none = Options {
        reduction: Reduction::None,
        ..opts
    };
    let err = floss::entropy(&pred, 2, &none, &mut Outputs::value(&mut small)).unwrap_err();
    assert!(matches!(err, floss::Error::Shape(_)), "{err}");
    // Messages name the flat index into pred and labels.
    let (n, c, s) = (2, 3, 4);
    let mut pred = vec![0.0f64; n * c * s];
    let bad = (c + 2) * s + 3; // sample 1, class 2, position 3
    pred[bad] = f64::NAN;
    let err = call::<f64>(&Loss::Sparse(vec![0; n * s], None), &pred, c, &opts).unwrap_err();
    assert!(
        matches!(err, floss::Error::NonFinite { arg: "pred", index, .. } if index == bad),
        "{err}"
    );
    let mut labels = vec![0i64; n * s];
    labels[6] = 3;
    let err =
        call::<f64>(&Loss::Sparse(labels, None), &vec![0.0; n * c * s], c, &opts).unwrap_err();
    assert!(
        matches!(
            err,
            floss::Error::Label {
                index: 6,
                value: 3,
                ..
            }
        ),
        "{err}"
    );
}

/// Normal deviates (Box-Muller) from [`uniform`].
fn normal(seed: u64, len: usize, sigma: f64) -> Vec<f64> {
    let u = uniform(seed, 2 * len);
    (0..len)
        .map(|k| {
            let (a, b) = (u[2 * k].max(1e-300), u[2 * k + 1]);
            sigma * (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
        })
        .collect()
}

/// The largest relative error over positions of f32 cross-entropy against
/// a reference computed in f64 on the same (f32-rounded) logits: per
/// position ln sum_j e^(z_j - m) + m - z_y, whose f64 rounding (~1e-15) is
/// far below the f32 errors measured.
fn worst_f32_error(n: usize, c: usize, s: usize, sigma: f64, threads: usize) -> f64 {
    let logits: Vec<f64> = normal(11, n * c * s, sigma)
        .into_iter()
        .map(|z| z as f32 as f64)
        .collect();
    let labels: Vec<i64> = uniform(12, n * s)
        .iter()
        .map(|u| (u * c as f64) as i64)
        .collect();
    let opts = Options {
        input: Input::Logits,
        reduction: Reduction::None,
        positions: s,
        threads,
        ..Options::default()
    };
    let (out, _, _) = call::<f32>(&Loss::Sparse(labels.clone(), None), &logits, c, &opts).unwrap();
    let mut worst = 0.0f64;
    for i in 0..n {
        for p in 0..s {
            let z = |j: usize| logits[(i * c + j) * s + p];
            let m = (0..c).map(z).fold(f64::NEG_INFINITY, f64::max);
            let mut terms: Vec<f64> = (0..c).map(|j| (z(j) - m).exp()).collect();
            terms.sort_by(f64::total_cmp);
            let sum: f64 = terms.iter().sum();
            let want = sum.ln() + m - z(labels[i * s + p] as usize);
            let got = out[i * s + p] as f64;
            worst = worst.max((got - want).abs() / want);
        }
    }
    worst
}

#[test]
fn f32_cross_entropy_of_a_thousand_channels_keeps_its_digits() {
    // Logits N(0, 10^2), C = 1000 channels-first: per-position relative
    // error at most 1e-7 (PyTorch: 8.1e-8 on the row layout).
    let worst = worst_f32_error(4, 1000, 96, 10.0, 1);
    eprintln!("f32 CE, C = 1000 channels-first, N(0, 10^2): worst relative error {worst:.3e}");
    assert!(worst <= 1e-7, "worst relative error {worst:e}");
}

#[test]
fn f32_entropy_of_wide_uniform_positions_is_ln_c() {
    // Sums over classes accumulate in f64 and ln s enters once: a uniform
    // distribution over c classes has entropy ln c to f32 rounding (it lost
    // 1.2e-4 at c = 10^4 with f32 sums, then 6.5e-8 at c = 2 10^5 with ln s
    // in every term; torch.special.entr: 5.5e-8), and a gradient of 0 to
    // well below its terms' size.
    for c in [10_000usize, 200_000] {
        let s = 3;
        let opts = Options {
            input: Input::Logits,
            reduction: Reduction::None,
            positions: s,
            ..Options::default()
        };
        let (out, grad, _) = call::<f32>(&Loss::Entropy, &vec![0.25; c * s], c, &opts).unwrap();
        let want = (c as f64).ln();
        for h in out {
            let err = (h as f64 - want).abs() / want;
            eprintln!("entropy of {c} equal f32 logits: relative error {err:.2e}");
            assert!(err <= 5.5e-8, "c = {c}: {h} for {want}");
        }
        // The gradient is 0; each of its terms is about p ln p = ln(c) / c.
        let worst = grad.iter().fold(0.0f64, |m, g| m.max(g.abs() as f64));
        eprintln!(
            "  gradient: largest |entry| {worst:.2e}, scale {:.2e}",
            want / c as f64
        );
        assert!(
            worst <= 1e-6 * want / c as f64,
            "gradient of a uniform row: {worst:e}"
        );
    }
}

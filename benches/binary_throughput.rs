//! Throughput of the binary losses (ns per element, value + gradient, MEAN
//! reduction, one thread): `cargo bench --bench binary_throughput`.
//! Targets are hard (0 or 1, as in detection), except in the "soft t"
//! focal rows (uniform in [0, 1]), which take the general focal form.
//!
//! FLOSS_BENCH_ONLY="<substring>" (e.g. "focal f32 logits") runs only the
//! matching workloads; FLOSS_BENCH_N (default 1e6) and FLOSS_BENCH_REPS
//! (default 7, best taken) make it usable under callgrind, where
//! `--toggle-collect='*binary_throughput::measured*'` counts only the loss calls.

use floss::{binary_cross_entropy, binary_focal_loss, Float, Input, Options, Outputs, Reduction};
use std::time::Instant;

#[derive(Clone, Copy)]
enum Loss {
    CrossEntropy,
    Focal,
}

/// One call of the loss: the only code the measurement covers.
#[inline(never)]
fn measured<T: Float>(
    loss: Loss,
    pred: &[T],
    target: &[T],
    opts: &Options,
    out: &mut [T],
    grad: &mut [T],
) {
    let mut o = Outputs {
        out,
        grad: Some(grad),
        hess: None,
    };
    match loss {
        Loss::CrossEntropy => binary_cross_entropy(pred, target, T::ONE, opts, &mut o),
        Loss::Focal => binary_focal_loss(pred, target, T::from_f64(0.25), T::TWO, opts, &mut o),
    }
    .unwrap();
}

fn workload<T: Float>(name: &str, loss: Loss, input: Input, soft: bool, n: usize, reps: usize) {
    let mut seed = 1u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let pred: Vec<T> = (0..n)
        .map(|_| match input {
            Input::Logits => T::from_f64(next() * 8.0 - 4.0),
            Input::Probs => T::from_f64(0.01 + 0.98 * next()),
        })
        .collect();
    let target: Vec<T> = (0..n)
        .map(|_| match soft {
            true => T::from_f64(next()),
            false => T::from_f64((next() < 0.5) as u8 as f64),
        })
        .collect();
    let opts = Options {
        input,
        reduction: Reduction::Mean,
        ..Options::default()
    };
    let mut out = [T::ZERO];
    let mut grad = vec![T::ZERO; n];
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        measured(loss, &pred, &target, &opts, &mut out, &mut grad);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{name:32} n={n}: {:8.3} ms, {:6.2} ns/element (value + grad)",
        best * 1e3,
        best * 1e9 / n as f64
    );
}

fn main() {
    let only = std::env::var("FLOSS_BENCH_ONLY").ok();
    let env = |key: &str, default: usize| {
        std::env::var(key)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(default, |v| v as usize)
    };
    let n = env("FLOSS_BENCH_N", 1_000_000);
    let reps = env("FLOSS_BENCH_REPS", 7).max(1);
    let rows = [
        ("binary CE", Loss::CrossEntropy, false),
        ("binary focal", Loss::Focal, false),
        ("binary focal (soft t)", Loss::Focal, true),
    ];
    for (loss_name, loss, soft) in rows {
        for ty in ["f32", "f64"] {
            for (input_name, input) in [("logits", Input::Logits), ("probs", Input::Probs)] {
                let name = format!("{loss_name} {ty} {input_name}");
                if only.as_deref().is_some_and(|o| !name.contains(o)) {
                    continue;
                }
                match ty {
                    "f32" => workload::<f32>(&name, loss, input, soft, n, reps),
                    _ => workload::<f64>(&name, loss, input, soft, n, reps),
                }
            }
        }
    }
}

//! Throughput of the core on typical shapes (ns per element), without
//! PyTorch: `cargo bench --bench throughput`. The comparison against
//! PyTorch is `make bench` (bench/bench.py).

use floss::{
    cross_entropy, entropy, focal_loss, sparse_cross_entropy, Input, Options, Outputs, Reduction,
};
use std::time::Instant;

fn main() {
    // FLOSS_BENCH_ONLY="<name>" (e.g. "sparse CE") runs one workload, for profiling.
    let only = std::env::var("FLOSS_BENCH_ONLY").ok();
    let only_c: Option<usize> = std::env::var("FLOSS_BENCH_C")
        .ok()
        .and_then(|v| v.parse().ok());
    // (n, c, positions): rows, and one channels-first segmentation shape
    // (N, C, H W) = (8, 21, 64 x 64).
    for &(n, c, s) in &[
        (30000usize, 3usize, 0usize),
        (65536, 10, 0),
        (65536, 16, 0),
        (32768, 32, 0),
        (16384, 64, 0),
        (8192, 128, 0),
        (4096, 256, 0),
        (4096, 1000, 0),
        (256, 32000, 0),
        (8, 21, 4096),
    ] {
        if only_c.is_some_and(|k| k != c) {
            continue;
        }
        let mut seed = 1u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let samples = n * s.max(1);
        let pred: Vec<f32> = (0..samples * c)
            .map(|_| (next() * 8.0 - 4.0) as f32)
            .collect();
        let labels: Vec<i64> = (0..samples).map(|_| (next() * c as f64) as i64).collect();
        // Probability rows, and dense targets (the same rows).
        let probs: Vec<f32> = pred
            .chunks(c)
            .flat_map(|row| {
                let e: Vec<f32> = row.iter().map(|v| v.exp()).collect();
                let sum: f32 = e.iter().sum();
                e.into_iter().map(move |v| v / sum)
            })
            .collect();
        let opts = Options {
            input: Input::Logits,
            reduction: Reduction::Mean,
            positions: s,
            ..Options::default()
        };
        let mut out = [0.0f32];
        let mut grad = vec![0.0f32; samples * c];
        let mut hess = vec![0.0f32; samples * c];
        let layout = if s > 0 {
            format!("N={n} C={c} S={s}")
        } else {
            format!("n={n:6} c={c:5}")
        };
        let probs_opts = Options {
            input: Input::Probs,
            ..opts
        };
        for name in ["sparse CE", "focal g=2", "entropy", "dense CE", "CE probs"] {
            if only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            // Value, value + grad, value + grad + hess.
            for derivs in 0..3 {
                let mut best = f64::INFINITY;
                for _ in 0..7 {
                    let t = Instant::now();
                    let mut o = Outputs {
                        out: &mut out,
                        grad: (derivs > 0).then_some(&mut grad[..]),
                        hess: (derivs > 1).then_some(&mut hess[..]),
                    };
                    match name {
                        "sparse CE" => sparse_cross_entropy(&pred, &labels, c, None, &opts, &mut o),
                        "focal g=2" => focal_loss(&pred, &labels, c, None, 2.0, &opts, &mut o),
                        "entropy" => entropy(&pred, c, &opts, &mut o),
                        "dense CE" => cross_entropy(&pred, &probs, c, &opts, &mut o),
                        _ => sparse_cross_entropy(&probs, &labels, c, None, &probs_opts, &mut o),
                    }
                    .unwrap();
                    best = best.min(t.elapsed().as_secs_f64());
                }
                println!(
                    "{name:10} f32 {layout}: {:7.2} ms, {:6.2} ns/element ({})",
                    best * 1e3,
                    best * 1e9 / (samples * c) as f64,
                    ["value", "value + grad", "value + grad + hess"][derivs]
                );
            }
        }
    }
}

//! Same answer on every instruction-set level: the key computations run
//! once per level the CPU supports, each in a child process (this test
//! binary re-executed with `FLOSS_SIMD=<level>`, running the ignored test
//! `digest_child`, which writes every output's bits to a file), and the
//! results are compared bit for bit.
//!
//! AVX2 and AVX-512 must agree bitwise. The baseline must too while no
//! kernel uses a fused multiply-add (`simd::Isa::mul_add`, which fuses at
//! AVX2/AVX-512 but not on the SSE2 baseline); where it differs, it must
//! stay within 64 ulp-sized relative steps (f32 4e-6, f64 1e-14) and the
//! test says so on stderr.

use floss::simd::{self, Level};
use floss::{
    balanced_cross_entropy, binary_cross_entropy, binary_focal_loss, cross_entropy, entropy,
    focal_loss, kl_divergence, sparse_cross_entropy, Float, Input, Options, Outputs, Reduction,
};
use std::process::Command;

/// Deterministic inputs: logits N(0, s^2)-like with a few extremes.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn logits<T: Float>(&mut self, len: usize, scale: f64) -> Vec<T> {
        (0..len)
            .map(|k| match k % 97 {
                0 => T::from_f64(80.0),
                1 => T::from_f64(-1e3),
                2 => T::NEG_INFINITY,
                _ => T::from_f64((self.next() - 0.5) * 2.0 * scale),
            })
            .collect()
    }
    fn probs<T: Float>(&mut self, n: usize, c: usize) -> Vec<T> {
        let mut v = Vec::with_capacity(n * c);
        for i in 0..n {
            let row: Vec<f64> = (0..c)
                .map(|j| if (i + j) % 13 == 0 { 0.0 } else { self.next() })
                .collect();
            let sum: f64 = row.iter().sum();
            v.extend(row.iter().map(|x| T::from_f64(x / sum)));
        }
        v
    }
    fn labels(&mut self, n: usize, c: usize) -> Vec<i64> {
        (0..n)
            .map(|i| {
                if i % 11 == 5 {
                    -100
                } else {
                    (self.next() * c as f64) as i64
                }
            })
            .collect()
    }
}

/// Every output of one call: out, grad, hess, as f64 (lossless).
fn run<T: Float>(
    samples: usize,
    len: usize,
    opts: &Options,
    call: impl FnOnce(&Options, &mut Outputs<T>) -> floss::Result<()>,
) -> Vec<f64> {
    let mut out = vec![
        T::ZERO;
        if opts.reduction == Reduction::None {
            samples
        } else {
            1
        }
    ];
    let (mut grad, mut hess) = (vec![T::ZERO; len], vec![T::ZERO; len]);
    let mut o = Outputs {
        out: &mut out,
        grad: Some(&mut grad),
        hess: Some(&mut hess),
    };
    call(opts, &mut o).expect("computation failed");
    out.iter()
        .chain(&grad)
        .chain(&hess)
        .map(|v| v.to_f64())
        .collect()
}

/// The key computations of the library in one element type.
fn suite<T: Float>(results: &mut Vec<(String, Vec<f64>)>) {
    let mut rng = Lcg(7);
    let opts = |input, reduction| Options {
        input,
        reduction,
        ignore_index: Some(-100),
        ..Options::default()
    };
    for &(n, c) in &[(300usize, 7usize), (70, 1000), (5, 33)] {
        let z: Vec<T> = rng.logits(n * c, 10.0);
        let p: Vec<T> = rng.probs(n, c);
        let t: Vec<T> = rng.probs(n, c);
        let y = rng.labels(n, c);
        let w: Vec<T> = (0..c).map(|j| T::from_f64(0.5 + (j % 5) as f64)).collect();
        let name = |what: &str| format!("{} {what} {n}x{c}", T::C_NAME);
        for reduction in [Reduction::Mean, Reduction::None] {
            let lg = opts(Input::Logits, reduction);
            let smooth = Options {
                label_smoothing: 0.1,
                ..lg
            };
            let r = format!("{reduction:?}");
            results.push((
                name(&format!("sparse CE logits {r}")),
                run(n, z.len(), &lg, |o, out| {
                    sparse_cross_entropy(&z, &y, c, Some(&w), o, out)
                }),
            ));
            results.push((
                name(&format!("sparse CE logits smoothed {r}")),
                run(n, z.len(), &smooth, |o, out| {
                    sparse_cross_entropy(&z, &y, c, None, o, out)
                }),
            ));
            for gamma in [0.5, 2.0] {
                results.push((
                    name(&format!("focal {gamma} logits {r}")),
                    run(n, z.len(), &lg, |o, out| {
                        focal_loss(&z, &y, c, Some(&w), T::from_f64(gamma), o, out)
                    }),
                ));
            }
            results.push((
                name(&format!("balanced CE logits {r}")),
                run(n, z.len(), &lg, |o, out| {
                    balanced_cross_entropy(&z, &y, c, None, o, out)
                }),
            ));
            results.push((
                name(&format!("entropy logits {r}")),
                run(n, z.len(), &lg, |o, out| entropy(&z, c, o, out)),
            ));
            results.push((
                name(&format!("cross-entropy logits {r}")),
                run(n, z.len(), &lg, |o, out| cross_entropy(&z, &t, c, o, out)),
            ));
            let pr = opts(Input::Probs, reduction);
            results.push((
                name(&format!("entropy probs {r}")),
                run(n, p.len(), &pr, |o, out| entropy(&p, c, o, out)),
            ));
            results.push((
                name(&format!("KL probs {r}")),
                run(n, p.len(), &pr, |o, out| kl_divergence(&p, &t, c, o, out)),
            ));
        }
    }
    // Binary: several blocks, soft and hard targets, extreme logits (the
    // slow path), probabilities.
    let n = 5000;
    let x: Vec<T> = rng.logits(n, 30.0);
    let soft: Vec<T> = (0..n).map(|_| T::from_f64(rng.next())).collect();
    let hard: Vec<T> = (0..n)
        .map(|k| T::from_f64((k % 3 == 0) as u8 as f64))
        .collect();
    let p: Vec<T> = (0..n).map(|_| T::from_f64(rng.next())).collect();
    for reduction in [Reduction::Mean, Reduction::None] {
        let r = format!("{reduction:?}");
        for (input, pred) in [(Input::Logits, &x), (Input::Probs, &p)] {
            let o = Options {
                input,
                reduction,
                ..Options::default()
            };
            for (tname, target) in [("soft", &soft), ("hard", &hard)] {
                for (gamma, alpha) in [(2.0, 0.25), (0.5, -1.0)] {
                    results.push((
                        format!("{} binary focal {gamma} {input:?} {tname} {r}", T::C_NAME),
                        run(n, n, &o, |o, out| {
                            binary_focal_loss(
                                pred,
                                target,
                                T::from_f64(alpha),
                                T::from_f64(gamma),
                                o,
                                out,
                            )
                        }),
                    ));
                }
                results.push((
                    format!("{} binary CE {input:?} {tname} {r}", T::C_NAME),
                    run(n, n, &o, |o, out| {
                        binary_cross_entropy(pred, target, T::from_f64(1.5), o, out)
                    }),
                ));
            }
        }
    }
}

fn all_results() -> Vec<(String, Vec<f64>)> {
    let mut results = Vec::new();
    suite::<f32>(&mut results);
    suite::<f64>(&mut results);
    results
}

/// Run by [`every_level_gives_the_same_results`] in a child process:
/// writes the level in use and every result's bits to `FLOSS_SIMD_DUMP`.
#[test]
#[ignore = "helper of every_level_gives_the_same_results (needs FLOSS_SIMD_DUMP)"]
fn digest_child() {
    let path = std::env::var("FLOSS_SIMD_DUMP").expect("FLOSS_SIMD_DUMP");
    let mut text = format!("level {}\n", simd::level().name());
    for (name, values) in all_results() {
        text.push_str(&name);
        text.push('\t');
        for v in values {
            text.push_str(&format!(" {:x}", v.to_bits()));
        }
        text.push('\n');
    }
    std::fs::write(path, text).expect("write the dump");
}

/// Runs [`digest_child`] at `level`; returns the lines it wrote.
fn results_at(level: Level) -> Vec<String> {
    let path = std::env::temp_dir().join(format!(
        "floss-simd-{}-{}.txt",
        std::process::id(),
        level.name()
    ));
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "digest_child", "--ignored", "--test-threads=1"])
        .env("FLOSS_SIMD", level.name())
        .env("FLOSS_SIMD_DUMP", &path)
        .status()
        .expect("re-run the test binary");
    assert!(status.success(), "the child at {} failed", level.name());
    let text = std::fs::read_to_string(&path).expect("read the dump");
    let _ = std::fs::remove_file(&path);
    let lines: Vec<String> = text.lines().map(String::from).collect();
    assert_eq!(
        lines[0],
        format!("level {}", level.name()),
        "FLOSS_SIMD={} did not select that level",
        level.name()
    );
    lines
}

/// Name and values of a dump line ("name<TAB>bits bits ...").
fn parse(line: &str) -> (String, Vec<f64>) {
    let (name, bits) = line.split_once('\t').expect("a dump line");
    let values = bits
        .split_whitespace()
        .map(|w| f64::from_bits(u64::from_str_radix(w, 16).unwrap()))
        .collect();
    (name.to_string(), values)
}

#[test]
fn every_level_gives_the_same_results() {
    let levels = simd::supported_levels();
    let reference = results_at(levels[0]);
    assert!(
        reference.len() > 100,
        "too few results: {}",
        reference.len()
    );
    for &level in &levels[1..] {
        let other = results_at(level);
        assert_eq!(other.len(), reference.len());
        let exact = level >= Level::Avx2;
        let mut differing = 0;
        for (a, b) in reference[1..].iter().zip(&other[1..]) {
            if a == b {
                continue;
            }
            let ((name, va), (name_b, vb)) = (parse(a), parse(b));
            assert_eq!(name, name_b);
            assert!(
                !exact,
                "{name}: {} and {} differ",
                levels[0].name(),
                level.name()
            );
            let tol = if name.starts_with("float") {
                4e-6
            } else {
                1e-14
            };
            // An entry formed by cancellation (a soft target's focal
            // gradient near 0) carries the rounding of its terms, which
            // are about the size of the result's entries: compare entries
            // at least 100 times smaller than its largest at that scale.
            let floor = va
                .iter()
                .filter(|v| v.is_finite())
                .fold(1e-30f64, |m, v| m.max(v.abs() / 100.0));
            for (k, (&x, &y)) in va.iter().zip(&vb).enumerate() {
                let same = x.to_bits() == y.to_bits()
                    || (x - y).abs() <= tol * x.abs().max(y.abs()).max(floor);
                assert!(same, "{name}[{k}]: {x} at {} vs {y}", level.name());
            }
            differing += 1;
        }
        if differing > 0 {
            eprintln!(
                "{}: {differing} of {} results differ from {} (within tolerance)",
                level.name(),
                reference.len() - 1,
                levels[0].name()
            );
        }
    }
}

/// Under `make test-simd` (FLOSS_SIMD set), the level asked for is the one
/// in use when the CPU has it: a cap that silently does nothing fails here.
#[test]
fn the_level_asked_for_is_the_level_in_use() {
    let level = simd::level();
    assert!(level.is_supported());
    let name = unsafe { std::ffi::CStr::from_ptr(floss::ffi::utility::floss_simd_level()) };
    assert_eq!(name.to_str().unwrap(), level.name());
    if let Some(asked) = std::env::var("FLOSS_SIMD")
        .ok()
        .and_then(|v| Level::from_name(&v))
    {
        assert_eq!(level, simd::best_level(Some(asked)));
        if asked.is_supported() {
            assert_eq!(level, asked);
        }
    } else {
        assert_eq!(level, simd::best_level(None));
    }
}

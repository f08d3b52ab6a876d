//! `floss_class_weights_f32/f64` through their C signatures, with each
//! scheme's weights recomputed from the label counts.
#![no_main]

use core::mem::size_of;

use floss::ffi::class_weights::*;
use floss::ffi::types::*;
use floss_fuzz::*;
use libfuzzer_sys::fuzz_target;

const DOCUMENTED: [floss_status; 8] = [0, 1, 2, 3, 4, 7, 8, 9];

#[derive(Debug)]
struct Case {
    n: usize,
    c: usize,
    labels: Array<i64>,
    scheme: u32,
    beta: f64,
    ignore_index: i64,
    threads: usize,
    room: usize,
}

impl Case {
    fn arbitrary(u: &mut Unstructured, elem: usize) -> Result<Self> {
        let n = vector_len(u, size_of::<i64>(), 300)?;
        let c = match u.int_in_range(0..=31u8)? {
            0 => 0,
            1 => isize::MAX as usize / elem + 1,
            2..=5 => u.int_in_range(1..=300)?,
            _ => u.int_in_range(1..=8)?,
        };
        let ignore_index = match u.int_in_range(0..=3u8)? {
            0 | 1 => FLOSS_NO_IGNORE,
            2 => u.int_in_range(-1..=c as i64)?,
            _ => u.arbitrary()?,
        };
        let labels = (0..allocation(n))
            .map(|_| label(u, c, ignore_index))
            .collect::<Result<_>>()?;
        let scheme = if u.ratio(15u8, 16u8)? {
            u.int_in_range(0..=2)?
        } else {
            u.arbitrary()?
        };
        let beta = param::<f64>(
            u,
            &[0.0, 0.9, 0.99, 0.999, 0.9999, 1.0 - f64::EPSILON / 2.0],
        )?;
        let (threads, room) = call_settings(u)?;
        Ok(Case {
            n,
            c,
            labels: Array::new(labels, input_place(u)?),
            scheme,
            beta,
            ignore_index,
            threads,
            room,
        })
    }

    fn counted(&self, label: i64) -> bool {
        self.ignore_index == FLOSS_NO_IGNORE || label != self.ignore_index
    }

    fn expectation<T: Real>(&self, weights: &Output<T>) -> Expectation {
        let mut e = Expectation::default();
        if self.c == 0 || self.c > isize::MAX as usize / size_of::<T>() {
            e.refuse(FLOSS_ERR_SHAPE, format!("c = {}", self.c));
        }
        if self.n > isize::MAX as usize / size_of::<i64>() {
            e.refuse(FLOSS_ERR_SHAPE, format!("n = {}", self.n));
        }
        self.labels.expect(&mut e, "labels", self.n, true);
        weights.expect(&mut e, true);
        if self.scheme > FLOSS_WEIGHTS_EFFECTIVE_NUMBER {
            e.refuse(FLOSS_ERR_ARGUMENT, format!("scheme = {}", self.scheme));
        }
        // beta is read (and validated) by EFFECTIVE_NUMBER only.
        let beta_read = self.scheme == FLOSS_WEIGHTS_EFFECTIVE_NUMBER;
        if beta_read && !(0.0..1.0).contains(&self.beta) {
            e.refuse(FLOSS_ERR_ARGUMENT, format!("beta = {}", self.beta));
        }
        if self.labels.place == Place::Own {
            for (i, &l) in self.labels.data.iter().enumerate() {
                if !(0..self.c as i64).contains(&l) && self.counted(l) {
                    e.refuse(FLOSS_ERR_LABEL, format!("labels[{i}] = {l}"));
                }
            }
        }
        e
    }

    /// The weights recomputed in f64 from the class counts.
    fn reference(&self) -> Vec<f64> {
        let mut counts = vec![0usize; self.c];
        for &l in self.labels.data.iter().filter(|&&l| self.counted(l)) {
            counts[l as usize] += 1;
        }
        let total: usize = counts.iter().sum();
        let present = counts.iter().filter(|&&k| k > 0).count() as f64;
        let inverse = |k: usize| total as f64 / (self.c as f64 * k as f64);
        // (1 - beta) / (1 - beta^k), with 1 - beta^k = -expm1(k ln beta)
        // accurate for beta near 1.
        let effective =
            |k: usize| (1.0 - self.beta) / -(k as f64 * (self.beta - 1.0).ln_1p()).exp_m1();
        let effective_sum: f64 = counts
            .iter()
            .filter(|&&k| k > 0)
            .map(|&k| effective(k))
            .sum();
        counts
            .iter()
            .map(|&k| match (k, self.scheme) {
                (0, _) => 0.0,
                (k, FLOSS_WEIGHTS_INVERSE_FREQUENCY) => inverse(k),
                (k, FLOSS_WEIGHTS_INVERSE_SQRT_FREQUENCY) => inverse(k).sqrt(),
                (k, _) => effective(k) * present / effective_sum,
            })
            .collect()
    }

    /// Absent classes get exactly 0, present ones the scheme's weight.
    fn check<T: Real>(&self, weights: &[T]) -> Result<(), String> {
        let tolerance = if T::SUFFIX == "f32" { 1e-5 } else { 1e-9 };
        for (k, (w, expected)) in weights.iter().zip(self.reference()).enumerate() {
            let w = w.to_f64();
            let close = if expected == 0.0 {
                w.to_bits() == 0
            } else {
                (w - expected).abs() <= tolerance * expected
            };
            if !close {
                return Err(format!("weights[{k}] = {w:e}, expected {expected:e}"));
            }
        }
        Ok(())
    }
}

/// Calls `floss_class_weights` of the element type.
trait ClassWeights: Real {
    /// # Safety
    /// `labels` is valid for n elements and `weights` for c, or the call is
    /// refused before they are touched.
    unsafe fn call(case: &Case, weights: *mut Self) -> floss_status;
}

macro_rules! class_weights {
    ($t:ty, $f:ident) => {
        impl ClassWeights for $t {
            unsafe fn call(case: &Case, weights: *mut Self) -> floss_status {
                let c = case;
                unsafe {
                    $f(
                        c.labels.ptr(),
                        c.n,
                        c.c,
                        c.scheme,
                        c.beta,
                        c.ignore_index,
                        weights,
                    )
                }
            }
        }
    };
}

class_weights!(f32, floss_class_weights_f32);
class_weights!(f64, floss_class_weights_f64);

fn run<T: ClassWeights>(u: &mut Unstructured) -> Result<()> {
    let case = Case::arbitrary(u, size_of::<T>())?;
    let mut outputs = [Output::<T>::new("weights", case.c, output_place(u, false)?)];
    resolve_outputs(case.labels.region().into_iter().collect(), &mut outputs);
    if tracing() {
        eprintln!("case {case:?}");
    }
    let expect = case.expectation(&outputs[0]);
    let result = check_call(
        Call {
            function: format!("floss_class_weights_{}", T::SUFFIX),
            documented: &DOCUMENTED,
            expect: &expect,
            inputs: &|| case.labels.bits(),
            outputs: &mut outputs,
            // SAFETY: the arrays are as long as n and c say, or the call
            // must be refused before touching them.
            invoke: &mut |_, o| unsafe { T::call(&case, o[0]) },
            threads: case.threads,
            room: case.room,
        },
        |o| case.check(o[0].values().unwrap_or(&[])),
    );
    if let Err(violation) = result {
        panic!("{violation}\n{case:#?}\nexpected: {expect:?}");
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = match u.arbitrary::<bool>() {
        Ok(true) => run::<f32>(&mut u),
        _ => run::<f64>(&mut u),
    };
});

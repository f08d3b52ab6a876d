//! `floss_differential_entropy_*` (spacing estimators on samples) and
//! `floss_differential_entropy_density_*` (Simpson's rule on a sampled
//! density), f32 and f64, through their C signatures. Both read only
//! `log_base`: the second call of each pair changes every other option
//! field (to valid values) and must give the same bits.
#![no_main]

use core::mem::size_of;

use floss::ffi::differential_entropy::*;
use floss::ffi::types::*;
use floss_fuzz::*;
use libfuzzer_sys::fuzz_target;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Function {
    Samples,
    Density,
}

const DOCUMENTED_SAMPLES: [floss_status; 8] = [0, 1, 2, 3, 6, 7, 8, 9];
const DOCUMENTED_DENSITY: [floss_status; 9] = [0, 1, 2, 3, 5, 6, 7, 8, 9];

#[derive(Debug)]
struct Case<T> {
    function: Function,
    n: usize,
    /// Samples or density values.
    values: Array<T>,
    method: u32,
    window: usize,
    dx: T,
    opts: Opts,
    variant: Option<Opts>,
    threads: usize,
    room: usize,
}

impl<T: Real> Case<T> {
    fn arbitrary(u: &mut Unstructured) -> Result<Self> {
        let function = *u.choose(&[Function::Samples, Function::Density])?;
        // Up to 1100 samples, so that AUTO also picks Vasicek (n > 1000).
        let n = vector_len(u, size_of::<T>(), 1100)?;
        let values = match function {
            Function::Density => reals(u, allocation(n), Domain::Density)?,
            // Sometimes drawn from a few values: repeats make zero spacings.
            Function::Samples if u.ratio(1u8, 4u8)? => {
                let pool: Vec<T> = reals(u, 3, Domain::Sample)?;
                (0..allocation(n))
                    .map(|_| u.choose(&pool).copied())
                    .collect::<Result<_>>()?
            }
            Function::Samples => reals(u, allocation(n), Domain::Sample)?,
        };
        let method = if u.ratio(15u8, 16u8)? {
            u.int_in_range(0..=4)?
        } else {
            u.arbitrary()?
        };
        let window = match u.int_in_range(0..=9u8)? {
            0..=3 => 0,
            4..=7 => u.int_in_range(1..=n.min(1100) / 2 + 1)?,
            _ => *u.choose(&[
                usize::MAX,
                usize::MAX / 2,
                usize::MAX / 2 + 1,
                isize::MAX as usize,
            ])?,
        };
        let opts = Opts::arbitrary(u, 2)?;
        let (threads, room) = call_settings(u)?;
        Ok(Case {
            function,
            n,
            values: Array::new(values, input_place(u)?),
            method,
            window,
            dx: param(u, &[0.01, 0.1, 0.5, 1.0])?,
            variant: opts.variant(u, Unread::AllButLogBase)?,
            opts,
            threads,
            room,
        })
    }

    fn name(&self) -> String {
        let stem = match self.function {
            Function::Samples => "differential_entropy",
            Function::Density => "differential_entropy_density",
        };
        format!("floss_{stem}_{}", T::SUFFIX)
    }

    fn inputs(&self) -> Vec<u64> {
        let mut bits = self.values.bits();
        bits.extend(self.opts.bits());
        bits.extend(self.variant.iter().flat_map(Opts::bits));
        bits
    }

    fn expectation(&self, out: &Output<T>) -> Expectation {
        let mut e = Expectation::default();
        let size_ok = expect_shape(&mut e, self.n, 1, size_of::<T>());
        let (name, enough) = match self.function {
            Function::Samples => {
                let m = if self.window == 0 {
                    ((self.n as f64).sqrt() + 0.5).floor() as usize
                } else {
                    self.window
                };
                ("samples", m >= 1 && m < self.n.div_ceil(2))
            }
            Function::Density => ("density", self.n >= 2),
        };
        if !enough {
            e.refuse(
                FLOSS_ERR_SHAPE,
                format!("n = {}, window = {}", self.n, self.window),
            );
        }
        self.values.expect(&mut e, name, self.n, true);
        self.opts.expect(&mut e, Reads::LogBase);
        out.expect(&mut e, true);
        match self.function {
            Function::Samples if self.method > FLOSS_DIFFERENTIAL_ENTROPY_CORREA => {
                e.refuse(FLOSS_ERR_ARGUMENT, format!("method = {}", self.method))
            }
            Function::Density if !(self.dx.to_f64().is_finite() && self.dx.to_f64() > 0.0) => {
                e.refuse(FLOSS_ERR_ARGUMENT, format!("dx = {:?}", self.dx))
            }
            _ => {}
        }
        if !size_ok || self.values.place != Place::Own {
            return e;
        }
        for (i, x) in self.values.data.iter().enumerate() {
            let x = x.to_f64();
            let why = format!("{name}[{i}] = {x}");
            if !x.is_finite() {
                e.refuse(FLOSS_ERR_NON_FINITE, why.clone());
            }
            if self.function == Function::Density && x < 0.0 {
                e.refuse(FLOSS_ERR_PROBABILITY, why);
            }
        }
        e
    }

    /// Never NaN. From samples: finite unless two samples are equal (a
    /// window of zero spread: -Inf nats, +Inf for b < 1) or b is near 1,
    /// whatever their magnitudes. From a density: finite unless a value or
    /// dx is beyond `T::TAME` or b is near 1.
    fn check(&self, out: &[T]) -> Result<(), String> {
        let mut values: Vec<f64> = self.values.data.iter().map(|x| x.to_f64()).collect();
        let tame = match self.function {
            Function::Samples => {
                values.sort_by(f64::total_cmp);
                self.opts.tame() && values.windows(2).all(|w| w[0] != w[1])
            }
            Function::Density => {
                self.opts.tame()
                    && self.dx.to_f64() <= T::TAME
                    && values.iter().all(|x| x.abs() <= T::TAME)
            }
        };
        check_values("out", out, |_| !tame)
    }
}

/// Calls the differential-entropy exports of the element type.
trait DifferentialEntropy: Real {
    /// # Safety
    /// `values` is valid for n elements and `out` for one, or the call is
    /// refused before they are touched.
    unsafe fn call(case: &Case<Self>, opts: *const floss_options, out: *mut Self) -> floss_status;
}

macro_rules! differential_entropy {
    ($t:ty, $samples:ident, $density:ident) => {
        impl DifferentialEntropy for $t {
            unsafe fn call(
                case: &Case<Self>,
                opts: *const floss_options,
                out: *mut Self,
            ) -> floss_status {
                let (values, n) = (case.values.ptr(), case.n);
                unsafe {
                    match case.function {
                        Function::Samples => {
                            $samples(values, n, case.method, case.window, opts, out)
                        }
                        Function::Density => $density(values, n, case.dx, opts, out),
                    }
                }
            }
        }
    };
}

differential_entropy!(
    f32,
    floss_differential_entropy_f32,
    floss_differential_entropy_density_f32
);
differential_entropy!(
    f64,
    floss_differential_entropy_f64,
    floss_differential_entropy_density_f64
);

fn run<T: DifferentialEntropy>(u: &mut Unstructured) -> Result<()> {
    let case = Case::<T>::arbitrary(u)?;
    let mut outputs = [Output::new("out", 1, output_place(u, false)?)];
    resolve_outputs(case.values.region().into_iter().collect(), &mut outputs);
    if tracing() {
        eprintln!("case {case:?}");
    }
    let expect = case.expectation(&outputs[0]);
    let documented: &[floss_status] = match case.function {
        Function::Samples => &DOCUMENTED_SAMPLES,
        Function::Density => &DOCUMENTED_DENSITY,
    };
    let result = check_call(
        Call {
            function: case.name(),
            documented,
            expect: &expect,
            inputs: &|| case.inputs(),
            outputs: &mut outputs,
            // SAFETY: `values` is as long as n says, or n is invalid and the
            // call must be refused before reading.
            invoke: &mut |round, o| {
                let opts = match &case.variant {
                    Some(variant) if round == 1 => variant,
                    _ => &case.opts,
                };
                unsafe { T::call(&case, opts.ptr(), o[0]) }
            },
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

//! The binary exports (binary cross-entropy, binary focal loss), f32 and
//! f64, through their C signatures. They do not read `ignore_index`: the
//! second call of each pair changes it and must give the same bits. No
//! input is exempt from the checks.
#![no_main]

use core::mem::size_of;

use floss::ffi::binary::*;
use floss::ffi::types::*;
use floss_fuzz::*;
use libfuzzer_sys::fuzz_target;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Function {
    CrossEntropy,
    FocalLoss,
}

const DOCUMENTED: [floss_status; 9] = [0, 1, 2, 3, 5, 6, 7, 8, 9];

#[derive(Debug)]
struct Case<T> {
    function: Function,
    n: usize,
    pred: Array<T>,
    target: Array<T>,
    /// Cross-entropy only.
    pos_weight: T,
    /// Focal only.
    alpha: T,
    gamma: T,
    opts: Opts,
    /// `opts` with another `ignore_index`, for the second call.
    variant: Option<Opts>,
    threads: usize,
    room: usize,
}

impl<T: Real> Case<T> {
    fn arbitrary(u: &mut Unstructured) -> Result<Self> {
        let function = *u.choose(&[Function::CrossEntropy, Function::FocalLoss])?;
        let n = vector_len(u, size_of::<T>(), 300)?;
        let opts = Opts::arbitrary(u, 2)?;
        let domain = if opts.logits() {
            Domain::Logit
        } else {
            Domain::Probability
        };
        let pred = Array::new(reals(u, allocation(n), domain)?, input_place(u)?);
        let target = Array::new(
            reals(u, allocation(n), Domain::Probability)?,
            input_place(u)?,
        );
        let (threads, room) = call_settings(u)?;
        Ok(Case {
            function,
            n,
            pred,
            target,
            pos_weight: param(u, &[1.0, 1.0, 0.5, 2.0, 10.0])?,
            alpha: param(u, &[-1.0, -1.0, 0.25, 0.0, 1.0, 0.75])?,
            gamma: param(u, &[0.0, 0.25, 0.5, 1.0, 2.0, 2.0, 5.0])?,
            variant: opts.variant(u, Unread::IgnoreIndex)?,
            opts,
            threads,
            room,
        })
    }

    fn name(&self) -> String {
        let stem = match self.function {
            Function::CrossEntropy => "binary_cross_entropy",
            Function::FocalLoss => "binary_focal_loss",
        };
        format!("floss_{stem}_{}", T::SUFFIX)
    }

    fn inputs(&self) -> Vec<u64> {
        let mut bits = self.pred.bits();
        bits.extend(self.target.bits());
        bits.extend(self.opts.bits());
        bits.extend(self.variant.iter().flat_map(Opts::bits));
        bits
    }

    fn expectation(&self, outputs: &[Output<T>]) -> Expectation {
        let mut e = Expectation::default();
        let shape_ok = expect_shape(&mut e, self.n, 1, size_of::<T>());
        self.pred.expect(&mut e, "pred", self.n, true);
        self.target.expect(&mut e, "target", self.n, true);
        self.opts.expect(&mut e, Reads::Targets);
        outputs[0].expect(&mut e, true);
        outputs[1].expect(&mut e, false);
        outputs[2].expect(&mut e, false);
        let (w, alpha, gamma) = (
            self.pos_weight.to_f64(),
            self.alpha.to_f64(),
            self.gamma.to_f64(),
        );
        match self.function {
            Function::CrossEntropy => {
                if !(w.is_finite() && w > 0.0) {
                    e.refuse(FLOSS_ERR_ARGUMENT, format!("pos_weight = {w}"));
                }
            }
            Function::FocalLoss => {
                // Every negative alpha, -Inf included, means no alpha.
                if alpha.is_nan() || alpha > 1.0 {
                    e.refuse(FLOSS_ERR_ARGUMENT, format!("alpha = {alpha}"));
                }
                if !(gamma.is_finite() && gamma >= 0.0) {
                    e.refuse(FLOSS_ERR_ARGUMENT, format!("gamma = {gamma}"));
                }
            }
        }
        if !shape_ok {
            return e;
        }
        if self.pred.place == Place::Own {
            for (i, x) in self.pred.data.iter().enumerate() {
                if !self.opts.logits() {
                    expect_probability(&mut e, "pred", i, *x);
                } else if x.to_f64().is_nan() || x.to_f64() == f64::INFINITY {
                    e.refuse(FLOSS_ERR_NON_FINITE, format!("logit {i} = {x:?}"));
                }
            }
        }
        if self.target.place == Place::Own {
            for (i, t) in self.target.data.iter().enumerate() {
                expect_probability(&mut e, "target", i, *t);
            }
        }
        e
    }

    fn tame(&self) -> bool {
        let parameters_tame = match self.function {
            Function::CrossEntropy => self.pos_weight.to_f64() <= TAME_WEIGHT,
            Function::FocalLoss => self.gamma.to_f64() <= TAME_GAMMA,
        };
        let logits_tame = !self.opts.logits() || tame_logits(&self.pred.data);
        self.opts.tame() && parameters_tame && logits_tame
    }

    /// Infinite only where the (smoothed) target needs a probability of 0
    /// or 1 that it does not get, or, for PROBS derivatives, at p in
    /// {0, 1} and where 1/p^2 overflows.
    fn check(&self, outputs: &[Output<T>]) -> Result<(), String> {
        let logits = self.opts.logits();
        let eps = self.opts.smoothing();
        let elements = || self.pred.data.iter().zip(&self.target.data);
        let samples = Samples {
            tame: self.tame(),
            infinite_loss: elements()
                .map(|(x, t)| {
                    let (x, t) = (x.to_f64(), (1.0 - eps) * t.to_f64() + eps / 2.0);
                    if logits {
                        x == f64::NEG_INFINITY && t > 0.0
                    } else {
                        (x == 0.0 && t > 0.0) || (x == 1.0 && t < 1.0)
                    }
                })
                .collect(),
            steep: elements()
                .map(|(p, _)| {
                    let p = p.to_f64();
                    !logits && (p < T::SMALL || p == 1.0)
                })
                .collect(),
            counted: vec![true; self.pred.data.len()],
        };
        samples.check(outputs, 1, &self.opts)
    }
}

/// Calls a binary export of the element type.
trait Binary: Real {
    /// # Safety
    /// The case's arrays are valid for what its sizes say, or the call is
    /// refused before they are read.
    unsafe fn call(case: &Case<Self>, opts: *const floss_options, o: &[*mut Self]) -> floss_status;
}

macro_rules! binary {
    ($t:ty, $cross_entropy:ident, $focal:ident) => {
        impl Binary for $t {
            unsafe fn call(
                case: &Case<Self>,
                opts: *const floss_options,
                o: &[*mut Self],
            ) -> floss_status {
                let (pred, target, n) = (case.pred.ptr(), case.target.ptr(), case.n);
                unsafe {
                    match case.function {
                        Function::CrossEntropy => {
                            $cross_entropy(pred, target, n, case.pos_weight, opts, o[0], o[1], o[2])
                        }
                        Function::FocalLoss => $focal(
                            pred, target, n, case.alpha, case.gamma, opts, o[0], o[1], o[2],
                        ),
                    }
                }
            }
        }
    };
}

binary!(
    f32,
    floss_binary_cross_entropy_f32,
    floss_binary_focal_loss_f32
);
binary!(
    f64,
    floss_binary_cross_entropy_f64,
    floss_binary_focal_loss_f64
);

fn run<T: Binary>(u: &mut Unstructured) -> Result<()> {
    let case = Case::<T>::arbitrary(u)?;
    let mut outputs = [
        Output::new("out", case.opts.out_len(case.n), output_place(u, false)?),
        Output::new("grad", case.n, output_place(u, true)?),
        Output::new("hess", case.n, output_place(u, true)?),
    ];
    let regions = case
        .pred
        .region()
        .into_iter()
        .chain(case.target.region())
        .collect();
    resolve_outputs(regions, &mut outputs);
    if tracing() {
        eprintln!("case {case:?}");
    }
    let expect = case.expectation(&outputs);
    let result = check_call(
        Call {
            function: case.name(),
            documented: &DOCUMENTED,
            expect: &expect,
            inputs: &|| case.inputs(),
            outputs: &mut outputs,
            // SAFETY: every array is as long as n says, or n is invalid and
            // the call must be refused before reading.
            invoke: &mut |round, o| {
                let opts = match &case.variant {
                    Some(variant) if round == 1 => variant,
                    _ => &case.opts,
                };
                unsafe { T::call(&case, opts.ptr(), o) }
            },
            threads: case.threads,
            room: case.room,
        },
        |o| case.check(o),
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

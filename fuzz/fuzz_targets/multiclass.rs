//! The multi-class exports (entropy, cross-entropy, KL divergence, sparse
//! and balanced cross-entropy, focal loss), f32 and f64, through their C
//! signatures.
#![no_main]

use core::mem::size_of;

use floss::ffi::cross_entropy::*;
use floss::ffi::entropy::*;
use floss::ffi::focal::*;
use floss::ffi::types::*;
use floss_fuzz::*;
use libfuzzer_sys::fuzz_target;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Function {
    Entropy,
    CrossEntropy,
    KlDivergence,
    SparseCrossEntropy,
    BalancedCrossEntropy,
    FocalLoss,
}

impl Function {
    const ALL: [Function; 6] = [
        Function::Entropy,
        Function::CrossEntropy,
        Function::KlDivergence,
        Function::SparseCrossEntropy,
        Function::BalancedCrossEntropy,
        Function::FocalLoss,
    ];

    fn stem(self) -> &'static str {
        match self {
            Function::Entropy => "entropy",
            Function::CrossEntropy => "cross_entropy",
            Function::KlDivergence => "kl_divergence",
            Function::SparseCrossEntropy => "sparse_cross_entropy",
            Function::BalancedCrossEntropy => "balanced_cross_entropy",
            Function::FocalLoss => "focal_loss",
        }
    }

    /// Takes a dense target matrix.
    fn dense(self) -> bool {
        matches!(self, Function::CrossEntropy | Function::KlDivergence)
    }

    /// Takes labels and optional class weights.
    fn labelled(self) -> bool {
        matches!(
            self,
            Function::SparseCrossEntropy | Function::BalancedCrossEntropy | Function::FocalLoss
        )
    }

    fn documented(self) -> &'static [floss_status] {
        if self.labelled() {
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        } else {
            &[0, 1, 2, 3, 5, 6, 7, 8, 9]
        }
    }
}

#[derive(Debug)]
struct Case<T> {
    function: Function,
    n: usize,
    c: usize,
    pred: Array<T>,
    target: Array<T>,
    labels: Array<i64>,
    /// `weight` (sparse) or `alpha` (balanced, focal).
    weights: Array<T>,
    gamma: T,
    opts: Opts,
    /// Entropy: `opts` with the fields it does not read changed, for the
    /// second call (same bits expected).
    variant: Option<Opts>,
    threads: usize,
    room: usize,
}

impl<T: Real> Case<T> {
    fn arbitrary(u: &mut Unstructured) -> Result<Self> {
        let function = *u.choose(&Function::ALL)?;
        let (n, c) = matrix_shape(u, size_of::<T>())?;
        let len = n.checked_mul(c).map_or(0, allocation);
        let opts = Opts::arbitrary(u, c)?;
        let domain = if opts.logits() {
            Domain::Logit
        } else {
            Domain::Probability
        };
        let pred = Array::new(reals(u, len, domain)?, input_place(u)?);
        let target = if function.dense() {
            Array::new(reals(u, len, Domain::Probability)?, input_place(u)?)
        } else {
            Array::new(Vec::new(), Place::Null)
        };
        let (labels, weights) = if function.labelled() {
            let labels = (0..allocation(n))
                .map(|_| label(u, c, opts.effective().ignore_index))
                .collect::<Result<_>>()?;
            let weights = reals(u, allocation(c), Domain::Weight)?;
            let place = match u.int_in_range(0..=7u8)? {
                0..=3 => Place::Null,
                4 => Place::Misaligned,
                _ => Place::Own,
            };
            (
                Array::new(labels, input_place(u)?),
                Array::new(weights, place),
            )
        } else {
            (
                Array::new(Vec::new(), Place::Null),
                Array::new(Vec::new(), Place::Null),
            )
        };
        let gamma = param(u, &[0.0, 0.25, 0.5, 1.0, 2.0, 2.0, 5.0])?;
        let (threads, room) = call_settings(u)?;
        let variant = if function == Function::Entropy {
            opts.variant(u, Unread::IgnoreIndexAndSmoothing)?
        } else {
            None
        };
        Ok(Case {
            function,
            n,
            c,
            pred,
            target,
            labels,
            weights,
            gamma,
            opts,
            variant,
            threads,
            room,
        })
    }

    fn name(&self) -> String {
        format!("floss_{}_{}", self.function.stem(), T::SUFFIX)
    }

    /// n * c, saturated when it overflows (the call is refused then).
    fn len(&self) -> usize {
        self.n.saturating_mul(self.c)
    }

    /// The inputs the function reads, in its argument order.
    fn inputs(&self) -> Vec<u64> {
        let mut bits = self.pred.bits();
        bits.extend(self.target.bits());
        bits.extend(self.labels.bits());
        bits.extend(self.weights.bits());
        bits.extend(self.opts.bits());
        bits.extend(self.variant.iter().flat_map(Opts::bits));
        bits
    }

    fn outputs(&self, places: [Place; 3]) -> [Output<T>; 3] {
        [
            Output::new("out", self.opts.out_len(self.n), places[0]),
            Output::new("grad", self.len(), places[1]),
            Output::new("hess", self.len(), places[2]),
        ]
    }

    /// Row `i`'s label, when the function takes labels and they are passed.
    fn label(&self, i: usize) -> Option<i64> {
        (self.function.labelled() && self.labels.place == Place::Own).then(|| self.labels.data[i])
    }

    /// Whether row `i` counts (is not skipped for its label).
    fn counted(&self, i: usize) -> bool {
        self.label(i).is_none_or(|l| !self.opts.ignores(l))
    }

    /// Whether class `j` of row `i` has a positive (smoothed) target.
    fn is_target(&self, i: usize, j: usize) -> bool {
        let smoothed = self.opts.smoothing() > 0.0;
        match self.function {
            Function::Entropy => false,
            Function::CrossEntropy | Function::KlDivergence => {
                smoothed || self.target.data[i * self.c + j] > T::from_f64(0.0)
            }
            _ => self.counted(i) && (smoothed || self.label(i) == Some(j as i64)),
        }
    }

    fn row(&self, i: usize) -> &[T] {
        &self.pred.data[i * self.c..(i + 1) * self.c]
    }

    fn weights_passed(&self) -> bool {
        self.function.labelled() && self.weights.place == Place::Own
    }

    fn expectation(&self, outputs: &[Output<T>]) -> Expectation {
        let mut e = Expectation::default();
        let shape_ok = expect_shape(&mut e, self.n, self.c, size_of::<T>());
        let f = self.function;
        self.pred.expect(&mut e, "pred", self.len(), true);
        if f.dense() {
            self.target.expect(&mut e, "target", self.len(), true);
        }
        if f.labelled() {
            self.labels.expect(&mut e, "labels", self.n, true);
            self.weights.expect(&mut e, "weights", self.c, false);
        }
        let reads = if f == Function::Entropy {
            Reads::Loss
        } else {
            Reads::Targets
        };
        self.opts.expect(&mut e, reads);
        outputs[0].expect(&mut e, true);
        outputs[1].expect(&mut e, false);
        outputs[2].expect(&mut e, false);
        let gamma = self.gamma.to_f64();
        if f == Function::FocalLoss && !(gamma.is_finite() && gamma >= 0.0) {
            e.refuse(FLOSS_ERR_ARGUMENT, format!("gamma = {gamma}"));
        }
        if !shape_ok {
            return e;
        }
        if self.weights_passed() {
            if let Some(w) = self
                .weights
                .data
                .iter()
                .find(|w| !(w.to_f64() >= 0.0 && w.to_f64().is_finite()))
            {
                e.refuse(FLOSS_ERR_ARGUMENT, format!("weight {w:?}"));
            }
        }
        for i in 0..self.n {
            if let Some(l) = self.label(i) {
                if !(0..self.c as i64).contains(&l) && !self.opts.ignores(l) {
                    e.refuse(FLOSS_ERR_LABEL, format!("labels[{i}] = {l}"));
                }
            }
        }
        if self.pred.place == Place::Own {
            for i in 0..self.n {
                let mut row = Expectation::default();
                expect_pred_row(&mut row, self.row(i), self.opts.logits(), i);
                // Ignored rows are not read (CHANGELOG 0.1.0).
                if self.counted(i) {
                    e.refusals.extend(row.refusals);
                }
            }
        }
        if f.dense() && self.target.place == Place::Own {
            for (k, t) in self.target.data.iter().enumerate() {
                expect_probability(&mut e, "target", k, *t);
            }
        }
        e
    }

    /// No result may overflow: finite logits, weights, gamma and log scale
    /// far from the limits of `T`. WEIGHTED_MEAN divides by the counted
    /// labels' weights, and with label smoothing every class's weight
    /// enters the sum: those weights over the divisor must be tame too
    /// (else the true mean may overflow, e.g. weights {10.7, 1.5, 0, 1e-45}
    /// with every label 3 in float).
    fn tame(&self) -> bool {
        let logits_tame = !self.opts.logits() || tame_logits(&self.pred.data);
        let weights_tame = !self.weights_passed() || {
            // (A successful call's counted labels are classes.)
            let divisor: f64 = (0..self.n)
                .filter_map(|i| self.label(i).filter(|_| self.counted(i)))
                .map(|l| self.weights.data[l as usize].to_f64())
                .sum();
            let smoothed_mean = self.opts.reduction() == FLOSS_REDUCTION_WEIGHTED_MEAN
                && self.opts.smoothing() > 0.0
                && divisor > 0.0;
            self.weights.data.iter().all(|w| {
                let w = w.to_f64();
                w <= TAME_WEIGHT && !(smoothed_mean && w / divisor > TAME_WEIGHT)
            })
        };
        let gamma_tame = self.function != Function::FocalLoss || self.gamma.to_f64() <= TAME_GAMMA;
        self.opts.tame() && logits_tame && weights_tame && gamma_tame
    }

    /// The values of a successful call: infinite only where a target class
    /// has probability 0 (a -Inf logit, or PROBS with a 0), or, for
    /// derivatives with PROBS, where 1/p^2 overflows or a focal p = 1 makes
    /// the Hessian infinite.
    fn check(&self, outputs: &[Output<T>]) -> Result<(), String> {
        let logits = self.opts.logits();
        let rows = 0..self.n;
        let samples = Samples {
            tame: self.tame(),
            infinite_loss: rows
                .clone()
                .map(|i| {
                    self.row(i).iter().enumerate().any(|(j, p)| {
                        let p = p.to_f64();
                        self.is_target(i, j) && p == if logits { f64::NEG_INFINITY } else { 0.0 }
                    })
                })
                .collect(),
            steep: rows
                .clone()
                .map(|i| {
                    !logits
                        && self.row(i).iter().any(|p| {
                            let p = p.to_f64();
                            p < T::SMALL || (self.function == Function::FocalLoss && p == 1.0)
                        })
                })
                .collect(),
            counted: rows.map(|i| self.counted(i)).collect(),
        };
        samples.check(outputs, self.c, &self.opts)
    }
}

/// Refusals for one row of predictions.
fn expect_pred_row<T: Real>(e: &mut Expectation, row: &[T], logits: bool, i: usize) {
    if logits {
        for (j, x) in row.iter().enumerate() {
            let x = x.to_f64();
            if x.is_nan() || x == f64::INFINITY {
                e.refuse(FLOSS_ERR_NON_FINITE, format!("logit [{i}, {j}] = {x}"));
            }
        }
        if !row.is_empty() && row.iter().all(|x| x.to_f64() == f64::NEG_INFINITY) {
            e.refuse(FLOSS_ERR_NON_FINITE, format!("row {i} of -Inf logits"));
        }
    } else {
        for (j, p) in row.iter().enumerate() {
            expect_probability(e, "pred", i * row.len() + j, *p);
        }
    }
}

/// Calls a multi-class export of the element type.
trait MultiClass: Real {
    /// # Safety
    /// The case's arrays are valid for what its sizes say, or the call is
    /// refused before they are read.
    unsafe fn call(
        case: &Case<Self>,
        opts: *const floss_options,
        outputs: &[*mut Self],
    ) -> floss_status;
}

macro_rules! multi_class {
    ($t:ty, $entropy:ident, $ce:ident, $kl:ident, $sparse:ident, $balanced:ident, $focal:ident) => {
        impl MultiClass for $t {
            unsafe fn call(
                case: &Case<Self>,
                opts: *const floss_options,
                o: &[*mut Self],
            ) -> floss_status {
                let (pred, n, c) = (case.pred.ptr(), case.n, case.c);
                let (target, labels, weights) =
                    (case.target.ptr(), case.labels.ptr(), case.weights.ptr());
                unsafe {
                    match case.function {
                        Function::Entropy => $entropy(pred, n, c, opts, o[0], o[1], o[2]),
                        Function::CrossEntropy => $ce(pred, target, n, c, opts, o[0], o[1], o[2]),
                        Function::KlDivergence => $kl(pred, target, n, c, opts, o[0], o[1], o[2]),
                        Function::SparseCrossEntropy => {
                            $sparse(pred, labels, n, c, weights, opts, o[0], o[1], o[2])
                        }
                        Function::BalancedCrossEntropy => {
                            $balanced(pred, labels, n, c, weights, opts, o[0], o[1], o[2])
                        }
                        Function::FocalLoss => $focal(
                            pred, labels, n, c, weights, case.gamma, opts, o[0], o[1], o[2],
                        ),
                    }
                }
            }
        }
    };
}

multi_class!(
    f32,
    floss_entropy_f32,
    floss_cross_entropy_f32,
    floss_kl_divergence_f32,
    floss_sparse_cross_entropy_f32,
    floss_balanced_cross_entropy_f32,
    floss_focal_loss_f32
);
multi_class!(
    f64,
    floss_entropy_f64,
    floss_cross_entropy_f64,
    floss_kl_divergence_f64,
    floss_sparse_cross_entropy_f64,
    floss_balanced_cross_entropy_f64,
    floss_focal_loss_f64
);

fn run<T: MultiClass>(u: &mut Unstructured) -> Result<()> {
    let case = Case::<T>::arbitrary(u)?;
    let places = [
        output_place(u, false)?,
        output_place(u, true)?,
        output_place(u, true)?,
    ];
    let mut outputs = case.outputs(places);
    let mut regions = vec![];
    regions.extend(case.pred.region());
    if case.function.dense() {
        regions.extend(case.target.region());
    }
    if case.function.labelled() {
        regions.extend(case.labels.region());
        regions.extend(case.weights.region());
    }
    resolve_outputs(regions, &mut outputs);
    if tracing() {
        eprintln!("case {case:?}");
    }
    let expect = case.expectation(&outputs);
    let result = check_call(
        Call {
            function: case.name(),
            documented: case.function.documented(),
            expect: &expect,
            inputs: &|| case.inputs(),
            outputs: &mut outputs,
            // SAFETY: every array is as long as the sizes say, or the sizes
            // are invalid and the call must be refused before reading.
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

//! Every status each multi-class export can return, with its message; and
//! that failing and succeeding calls never write to their inputs.

// The helpers mirror C signatures.
#![allow(clippy::too_many_arguments)]

mod common;

use common::*;
use floss::ffi::class_weights::*;
use floss::ffi::cross_entropy::*;
use floss::ffi::entropy::*;
use floss::ffi::focal::*;
use floss::ffi::types::*;
use floss::ffi::utility::floss_status_str;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fun {
    Entropy,
    CrossEntropy,
    Kl,
    Sparse,
    Balanced,
    Focal,
}
const ALL: [Fun; 6] = [
    Fun::Entropy,
    Fun::CrossEntropy,
    Fun::Kl,
    Fun::Sparse,
    Fun::Balanced,
    Fun::Focal,
];

/// Raw arguments of one call; tests mutate them into bad ones.
#[derive(Clone, Copy)]
struct Raw {
    pred: *const f64,
    target: *const f64,
    labels: *const i64,
    weight: *const f64,
    n: usize,
    c: usize,
    gamma: f64,
    opts: *const floss_options,
    out: *mut f64,
    grad: *mut f64,
    hess: *mut f64,
}

unsafe fn invoke(fun: Fun, a: Raw) -> u32 {
    match fun {
        Fun::Entropy => floss_entropy_f64(a.pred, a.n, a.c, a.opts, a.out, a.grad, a.hess),
        Fun::CrossEntropy => {
            floss_cross_entropy_f64(a.pred, a.target, a.n, a.c, a.opts, a.out, a.grad, a.hess)
        }
        Fun::Kl => {
            floss_kl_divergence_f64(a.pred, a.target, a.n, a.c, a.opts, a.out, a.grad, a.hess)
        }
        Fun::Sparse => floss_sparse_cross_entropy_f64(
            a.pred, a.labels, a.n, a.c, a.weight, a.opts, a.out, a.grad, a.hess,
        ),
        Fun::Balanced => floss_balanced_cross_entropy_f64(
            a.pred, a.labels, a.n, a.c, a.weight, a.opts, a.out, a.grad, a.hess,
        ),
        Fun::Focal => floss_focal_loss_f64(
            a.pred, a.labels, a.n, a.c, a.weight, a.gamma, a.opts, a.out, a.grad, a.hess,
        ),
    }
}

/// Valid buffers for a 2 x 3 problem; `with` builds raw arguments from them.
struct Problem {
    pred: Vec<f64>,
    target: Vec<f64>,
    labels: Vec<i64>,
    weight: Vec<f64>,
    opts: floss_options,
    out: Vec<f64>,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

impl Problem {
    fn new() -> Self {
        let mut opts = default_options();
        opts.reduction = FLOSS_REDUCTION_NONE;
        Problem {
            pred: vec![0.2, 0.3, 0.5, 0.6, 0.3, 0.1],
            target: vec![0.0, 0.0, 1.0, 0.5, 0.5, 0.0],
            labels: vec![2, 0],
            weight: vec![1.0, 2.0, 0.5],
            opts,
            out: vec![-7.0; 2],
            grad: vec![-7.0; 6],
            hess: vec![-7.0; 6],
        }
    }
    fn raw(&mut self) -> Raw {
        Raw {
            pred: self.pred.as_ptr(),
            target: self.target.as_ptr(),
            labels: self.labels.as_ptr(),
            weight: self.weight.as_ptr(),
            n: 2,
            c: 3,
            gamma: 2.0,
            opts: &self.opts,
            out: self.out.as_mut_ptr(),
            grad: self.grad.as_mut_ptr(),
            hess: self.hess.as_mut_ptr(),
        }
    }
}

impl Raw {
    /// Replaces the pointers an edit left as they were by `fresh` ones
    /// taken after it: `&mut Problem` invalidates pointers derived before
    /// (Miri's Stacked Borrows), and the call must not use such a pointer.
    fn refresh(&mut self, untouched: &Raw, fresh: Raw) {
        macro_rules! keep_fresh {
            ($($field:ident),*) => {$(
                if self.$field == untouched.$field {
                    self.$field = fresh.$field;
                }
            )*};
        }
        keep_fresh!(pred, target, labels, weight, opts, out, grad, hess);
    }
}

/// Calls `fun` on the problem after `edit`, expects `status` and a message
/// containing each of `words`, and checks the inputs are untouched.
fn expect(fun: Fun, status: u32, words: &[&str], edit: impl Fn(&mut Problem, &mut Raw)) {
    let mut p = Problem::new();
    let mut raw = p.raw();
    let untouched = raw;
    edit(&mut p, &mut raw);
    raw.refresh(&untouched, p.raw());
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let before = (
        bits(&p.pred),
        bits(&p.target),
        p.labels.clone(),
        bits(&p.weight),
    );
    let got = unsafe { invoke(fun, raw) };
    let message = last_error();
    assert_eq!(
        got, status,
        "{fun:?}: got {got}, want {status}; message: {message}"
    );
    for w in words {
        assert!(
            message.contains(w),
            "{fun:?}: message {message:?} lacks {w:?}"
        );
    }
    if status != FLOSS_OK {
        assert!(
            message.contains("floss_"),
            "{fun:?}: message {message:?} names no function"
        );
    }
    let after = (
        bits(&p.pred),
        bits(&p.target),
        p.labels.clone(),
        bits(&p.weight),
    );
    assert_eq!(before, after, "{fun:?}: an input was modified");
}

fn uses_target(f: Fun) -> bool {
    matches!(f, Fun::CrossEntropy | Fun::Kl)
}
fn uses_labels(f: Fun) -> bool {
    matches!(f, Fun::Sparse | Fun::Balanced | Fun::Focal)
}

#[test]
fn valid_calls_succeed_and_leave_inputs_alone() {
    for fun in ALL {
        expect(fun, FLOSS_OK, &[], |_, _| {});
    }
}

#[test]
fn null_pointers() {
    for fun in ALL {
        expect(fun, FLOSS_ERR_NULL_POINTER, &["pred is NULL"], |_, r| {
            r.pred = core::ptr::null()
        });
        expect(fun, FLOSS_ERR_NULL_POINTER, &["out is NULL"], |_, r| {
            r.out = core::ptr::null_mut()
        });
        if uses_target(fun) {
            expect(fun, FLOSS_ERR_NULL_POINTER, &["target is NULL"], |_, r| {
                r.target = core::ptr::null()
            });
        }
        if uses_labels(fun) {
            expect(fun, FLOSS_ERR_NULL_POINTER, &["labels is NULL"], |_, r| {
                r.labels = core::ptr::null()
            });
        }
    }
}

#[test]
fn shapes() {
    for fun in ALL {
        expect(fun, FLOSS_ERR_SHAPE, &["c = 0"], |_, r| r.c = 0);
        expect(fun, FLOSS_ERR_SHAPE, &["overflows"], |_, r| {
            r.n = usize::MAX / 2
        });
        expect(fun, FLOSS_ERR_SHAPE, &["isize::MAX"], |_, r| {
            r.n = usize::MAX / 8;
            r.c = 1;
        });
    }
}

#[test]
fn option_fields() {
    for fun in ALL {
        for base in [1.0, 0.0 - 2.0, f64::NAN, f64::INFINITY] {
            expect(fun, FLOSS_ERR_ARGUMENT, &["log_base"], |p, r| {
                p.opts.log_base = base;
                r.opts = &p.opts;
            });
        }
        // Entropy does not read label_smoothing, so it does not validate
        // it (tests/contract.rs).
        for eps in [-0.1, 1.5, f64::NAN] {
            if fun == Fun::Entropy {
                continue;
            }
            expect(fun, FLOSS_ERR_ARGUMENT, &["label_smoothing"], |p, r| {
                p.opts.label_smoothing = eps;
                r.opts = &p.opts;
            });
        }
        expect(fun, FLOSS_ERR_ARGUMENT, &["opts->input = 7"], |p, r| {
            p.opts.input = 7;
            r.opts = &p.opts;
        });
        expect(fun, FLOSS_ERR_ARGUMENT, &["opts->reduction = 9"], |p, r| {
            p.opts.reduction = 9;
            r.opts = &p.opts;
        });
        expect(fun, FLOSS_ERR_ARGUMENT, &["opts->size = 12"], |p, r| {
            p.opts.size = 12;
            r.opts = &p.opts;
        });
    }
}

#[test]
fn probabilities_outside_the_unit_interval() {
    for fun in ALL {
        expect(fun, FLOSS_ERR_PROBABILITY, &["pred[4] = 1.5"], |p, r| {
            p.pred[4] = 1.5;
            r.pred = p.pred.as_ptr();
        });
        expect(fun, FLOSS_ERR_PROBABILITY, &["pred[1] = -0.1"], |p, r| {
            p.pred[1] = -0.1;
            r.pred = p.pred.as_ptr();
        });
        if uses_target(fun) {
            expect(fun, FLOSS_ERR_PROBABILITY, &["target[3] = 1.5"], |p, r| {
                p.target[3] = 1.5;
                r.target = p.target.as_ptr();
            });
        }
    }
}

#[test]
fn non_finite_inputs() {
    for fun in ALL {
        for input in [FLOSS_INPUT_PROBS, FLOSS_INPUT_LOGITS] {
            for (bad, text) in [
                (f64::NAN, "pred[5] = NaN"),
                (f64::INFINITY, "pred[5] = inf"),
            ] {
                expect(fun, FLOSS_ERR_NON_FINITE, &[text], |p, r| {
                    p.pred[5] = bad;
                    p.opts.input = input;
                    r.pred = p.pred.as_ptr();
                    r.opts = &p.opts;
                });
            }
        }
        // A row of -Inf logits has no distribution.
        expect(
            fun,
            FLOSS_ERR_NON_FINITE,
            &["every logit of the row is -Inf"],
            |p, r| {
                p.pred[3..].fill(f64::NEG_INFINITY);
                p.opts.input = FLOSS_INPUT_LOGITS;
                r.pred = p.pred.as_ptr();
                r.opts = &p.opts;
            },
        );
        if uses_target(fun) {
            expect(fun, FLOSS_ERR_NON_FINITE, &["target[0] = NaN"], |p, r| {
                p.target[0] = f64::NAN;
                r.target = p.target.as_ptr();
            });
        }
    }
}

#[test]
fn overlapping_outputs() {
    for fun in ALL {
        expect(fun, FLOSS_ERR_OVERLAP, &["out overlaps pred"], |p, r| {
            r.out = p.pred.as_mut_ptr()
        });
        expect(fun, FLOSS_ERR_OVERLAP, &["grad overlaps pred"], |p, r| {
            r.grad = p.pred.as_mut_ptr()
        });
        // hess runs 3 entries past grad's end, so it may also cover `out`
        // when the allocator put `out` there (checked first): the message
        // names hess and one of the outputs it overlaps.
        expect(fun, FLOSS_ERR_OVERLAP, &["hess", "overlaps"], |_, r| {
            r.hess = unsafe { r.grad.add(3) }
        });
        expect(fun, FLOSS_ERR_OVERLAP, &["out overlaps grad"], |_, r| {
            r.out = unsafe { r.grad.add(5) }
        });
        if uses_target(fun) {
            expect(fun, FLOSS_ERR_OVERLAP, &["grad overlaps target"], |p, r| {
                r.grad = p.target.as_mut_ptr()
            });
        }
    }
}

#[test]
fn misaligned_pointers() {
    for fun in ALL {
        expect(
            fun,
            FLOSS_ERR_ALIGNMENT,
            &["pred", "not aligned to 8 bytes"],
            |_, r| {
                r.pred = unsafe { r.pred.cast::<u8>().add(1).cast() };
            },
        );
        expect(
            fun,
            FLOSS_ERR_ALIGNMENT,
            &["grad", "not aligned"],
            |_, r| {
                r.grad = unsafe { r.grad.cast::<u8>().add(4).cast() };
            },
        );
        if uses_labels(fun) {
            expect(
                fun,
                FLOSS_ERR_ALIGNMENT,
                &["labels", "not aligned"],
                |_, r| {
                    r.labels = unsafe { r.labels.cast::<u8>().add(2).cast() };
                },
            );
        }
    }
}

#[test]
fn labels_out_of_range_are_refused_before_anything_is_written() {
    for fun in ALL.into_iter().filter(|&f| uses_labels(f)) {
        for bad in [3i64, -1, i64::MAX] {
            expect(
                fun,
                FLOSS_ERR_LABEL,
                &[&format!("labels[1] = {bad} is outside [0, 3)")],
                |p, r| {
                    p.labels[1] = bad;
                    r.labels = p.labels.as_ptr();
                },
            );
        }
        let mut p = Problem::new();
        p.labels[1] = 3;
        let raw = p.raw();
        assert_eq!(unsafe { invoke(fun, raw) }, FLOSS_ERR_LABEL);
        assert!(
            p.out
                .iter()
                .chain(&p.grad)
                .chain(&p.hess)
                .all(|&v| v == -7.0),
            "{fun:?} wrote before failing"
        );
        // The ignore index is not an error.
        expect(fun, FLOSS_OK, &[], |p, r| {
            p.labels[1] = -100;
            p.opts.ignore_index = -100;
            r.labels = p.labels.as_ptr();
            r.opts = &p.opts;
        });
    }
}

#[test]
fn parameters_outside_their_domain() {
    for fun in [Fun::Sparse, Fun::Balanced, Fun::Focal] {
        let name = if fun == Fun::Sparse {
            "weight[1]"
        } else {
            "alpha[1]"
        };
        for bad in [-0.5, f64::NAN, f64::INFINITY] {
            expect(fun, FLOSS_ERR_ARGUMENT, &[name], |p, r| {
                p.weight[1] = bad;
                r.weight = p.weight.as_ptr();
            });
        }
    }
    for gamma in [-1.0, f64::NAN, f64::INFINITY] {
        expect(Fun::Focal, FLOSS_ERR_ARGUMENT, &["gamma"], |_, r| {
            r.gamma = gamma
        });
    }
}

#[test]
fn class_weights_statuses() {
    let labels = [0i64, 1, 1, 2];
    let mut w = [0.0f64; 3];
    let run = |labels: *const i64, n, c, scheme, beta, w: *mut f64| unsafe {
        floss_class_weights_f64(labels, n, c, scheme, beta, FLOSS_NO_IGNORE, w)
    };
    assert_eq!(
        run(
            labels.as_ptr(),
            4,
            3,
            FLOSS_WEIGHTS_INVERSE_FREQUENCY,
            0.0,
            w.as_mut_ptr()
        ),
        FLOSS_OK
    );
    assert_eq!(
        run(core::ptr::null(), 4, 3, 0, 0.0, w.as_mut_ptr()),
        FLOSS_ERR_NULL_POINTER
    );
    assert_eq!(
        run(labels.as_ptr(), 4, 3, 0, 0.0, core::ptr::null_mut()),
        FLOSS_ERR_NULL_POINTER
    );
    assert_eq!(
        run(labels.as_ptr(), 4, 0, 0, 0.0, w.as_mut_ptr()),
        FLOSS_ERR_SHAPE
    );
    assert_eq!(
        run(labels.as_ptr(), 4, 3, 5, 0.0, w.as_mut_ptr()),
        FLOSS_ERR_ARGUMENT
    );
    assert!(last_error().contains("scheme = 5"));
    for beta in [1.0, -0.1, f64::NAN] {
        assert_eq!(
            run(
                labels.as_ptr(),
                4,
                3,
                FLOSS_WEIGHTS_EFFECTIVE_NUMBER,
                beta,
                w.as_mut_ptr()
            ),
            FLOSS_ERR_ARGUMENT
        );
        assert!(last_error().contains("beta"));
    }
    assert_eq!(
        run(labels.as_ptr(), 4, 2, 0, 0.0, w.as_mut_ptr()),
        FLOSS_ERR_LABEL
    );
    assert!(
        last_error().contains("labels[3] = 2 is outside [0, 2)"),
        "{}",
        last_error()
    );
    let mut both = [0i64; 4];
    let overlapping = both.as_mut_ptr().cast::<f64>();
    assert_eq!(
        run(both.as_ptr(), 4, 3, 0, 0.0, overlapping),
        FLOSS_ERR_OVERLAP
    );
    let misaligned = unsafe { w.as_mut_ptr().cast::<u8>().add(1).cast::<f64>() };
    assert_eq!(
        run(labels.as_ptr(), 4, 2, 0, 0.0, misaligned),
        FLOSS_ERR_ALIGNMENT
    );
}

#[test]
fn status_strings_and_the_error_buffer_follow_the_contract() {
    for s in 0..=9u32 {
        let text = unsafe { core::ffi::CStr::from_ptr(floss_status_str(s)) }
            .to_str()
            .unwrap();
        assert!(text.starts_with("FLOSS_"), "{s}: {text}");
    }
    let unknown = unsafe { core::ffi::CStr::from_ptr(floss_status_str(1234)) };
    assert_eq!(unknown.to_str().unwrap(), "unknown status");
    expect(Fun::Sparse, FLOSS_ERR_LABEL, &["labels[0]"], |p, r| {
        p.labels[0] = 40;
        r.labels = p.labels.as_ptr();
    });
    let full = last_error();
    // snprintf semantics: truncation, NUL termination, NULL with len 0.
    let len = unsafe { floss::ffi::utility::floss_last_error(core::ptr::null_mut(), 0) };
    assert_eq!(len, full.len());
    let mut small = [0x55u8; 8];
    let len =
        unsafe { floss::ffi::utility::floss_last_error(small.as_mut_ptr().cast(), small.len()) };
    assert_eq!(len, full.len());
    assert_eq!(&small[..7], &full.as_bytes()[..7]);
    assert_eq!(small[7], 0);
    // A successful call leaves the message as it was.
    expect(Fun::Entropy, FLOSS_OK, &[], |_, _| {});
    assert_eq!(last_error(), full);
}

#[test]
fn the_last_error_is_per_thread() {
    expect(Fun::Sparse, FLOSS_ERR_LABEL, &[], |p, r| {
        p.labels[0] = 40;
        r.labels = p.labels.as_ptr();
    });
    let other = std::thread::spawn(last_error).join().unwrap();
    assert_eq!(other, "");
    assert!(last_error().contains("labels[0] = 40"));
}

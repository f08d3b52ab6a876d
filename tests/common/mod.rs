//! Shared test support: the reference vectors (`tests/data/vectors.json`,
//! copied from the reference set computed with PyTorch, torchvision and
//! SciPy), option conversion, and tolerance checks.
#![allow(dead_code)]

use floss::ffi::types::*;
use serde_json::Value;

/// Tolerances of the reference checks: f64 relative 1e-9 on values and 1e-7
/// on derivatives; f32 (inputs rounded to f32 first) relative 2e-3 and 5e-3,
/// each with an absolute floor for entries near 0.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub rel: f64,
    pub abs: f64,
}

pub const F64_VALUE: Tolerance = Tolerance {
    rel: 1e-9,
    abs: 1e-12,
};
pub const F64_DERIVATIVE: Tolerance = Tolerance {
    rel: 1e-7,
    abs: 1e-10,
};
pub const F32_VALUE: Tolerance = Tolerance {
    rel: 2e-3,
    abs: 1e-5,
};
pub const F32_DERIVATIVE: Tolerance = Tolerance {
    rel: 5e-3,
    abs: 1e-4,
};

/// One reference case.
pub struct Case {
    pub index: usize,
    pub json: Value,
}

impl Case {
    pub fn name(&self) -> String {
        format!(
            "case #{} ({})",
            self.index,
            self.json["fn"].as_str().unwrap_or("?")
        )
    }
    pub fn input(&self, key: &str) -> &Value {
        &self.json["inputs"][key]
    }
    pub fn param(&self, key: &str) -> &Value {
        &self.json["params"][key]
    }
    pub fn floats(&self, key: &str) -> Vec<f64> {
        floats(self.input(key))
    }
    pub fn size(&self, key: &str) -> usize {
        self.input(key).as_u64().expect("size") as usize
    }
    pub fn labels(&self, key: &str) -> Vec<i64> {
        self.input(key)
            .as_array()
            .expect("labels")
            .iter()
            .map(|v| v.as_i64().expect("label"))
            .collect()
    }
    /// Expected `out`, `grad` or `hess`, if present.
    pub fn expected(&self, key: &str) -> Option<Vec<f64>> {
        let v = &self.json["expected"][key];
        (!v.is_null()).then(|| floats(v))
    }
    /// A case-specific tolerance, if the case states one.
    pub fn tolerance(&self) -> Option<f64> {
        self.json["tolerance"].as_f64()
    }
    /// The case's options as a C `floss_options`.
    pub fn options(&self) -> floss_options {
        let o = &self.json["options"];
        let mut opts = default_options();
        if o.is_null() {
            return opts;
        }
        if let Some(s) = o["input"].as_str() {
            opts.input = match s {
                "probs" => FLOSS_INPUT_PROBS,
                "logits" => FLOSS_INPUT_LOGITS,
                other => panic!("unknown input {other}"),
            };
        }
        if let Some(s) = o["reduction"].as_str() {
            opts.reduction = match s {
                "none" => FLOSS_REDUCTION_NONE,
                "sum" => FLOSS_REDUCTION_SUM,
                "mean" => FLOSS_REDUCTION_MEAN,
                "weighted_mean" => FLOSS_REDUCTION_WEIGHTED_MEAN,
                other => panic!("unknown reduction {other}"),
            };
        }
        if let Some(b) = o["log_base"].as_f64() {
            opts.log_base = b;
        }
        if let Some(k) = o["ignore_index"].as_i64() {
            opts.ignore_index = k;
        }
        if let Some(e) = o["label_smoothing"].as_f64() {
            opts.label_smoothing = e;
        }
        opts
    }
}

/// A JSON number or one of "inf", "-inf", "nan".
pub fn float(v: &Value) -> f64 {
    match v {
        Value::Number(x) => x.as_f64().unwrap(),
        Value::String(s) => match s.as_str() {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            other => panic!("not a number: {other}"),
        },
        other => panic!("not a number: {other}"),
    }
}

pub fn floats(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(items) => items.iter().map(float).collect(),
        scalar => vec![float(scalar)],
    }
}

/// Every reference case of function `name` (without `floss_` and dtype).
pub fn cases(name: &str) -> Vec<Case> {
    let text = include_str!("../data/vectors.json");
    let root: Value = serde_json::from_str(text).expect("vectors.json parses");
    let all = root["cases"].as_array().expect("cases");
    let found: Vec<Case> = all
        .iter()
        .enumerate()
        .filter(|(_, c)| c["fn"] == name)
        .map(|(index, json)| Case {
            index,
            json: json.clone(),
        })
        .collect();
    assert!(!found.is_empty(), "no reference case for {name}");
    found
}

/// `floss_options` with the defaults (as `floss_options_init` writes them
/// through the header's macro).
pub fn default_options() -> floss_options {
    let mut opts = core::mem::MaybeUninit::<floss_options>::uninit();
    unsafe {
        let status = floss::ffi::utility::floss_options_init_sized(
            opts.as_mut_ptr(),
            core::mem::size_of::<floss_options>(),
        );
        assert_eq!(status, floss::ffi::types::FLOSS_OK);
        opts.assume_init()
    }
}

/// Asserts |got - want| <= abs + rel |want| entrywise (equal infinities and
/// NaN positions match exactly).
pub fn assert_close(got: &[f64], want: &[f64], tol: Tolerance, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= tol.abs + tol.rel * w.abs()
        };
        assert!(
            ok,
            "{what}[{k}]: got {g:e}, want {w:e} (rel {:e}, abs {:e})",
            tol.rel, tol.abs
        );
    }
}

/// The calling thread's `floss_last_error` text.
pub fn last_error() -> String {
    let mut buf = vec![0u8; 512];
    let len = unsafe { floss::ffi::utility::floss_last_error(buf.as_mut_ptr().cast(), buf.len()) };
    buf.truncate(len.min(511));
    String::from_utf8(buf).unwrap()
}

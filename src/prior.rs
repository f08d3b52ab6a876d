//! Prior init scores for gradient boosting: the constant model that the
//! first tree starts from, the class priors in the link's scale.
//!
//! - binary (sigmoid): the log-odds ln(S_1 / S_0), S_1 = sum w_i t_i and
//!   S_0 = sum w_i (1 - t_i), i.e. logit(pbar) with pbar the (weighted)
//!   mean target;
//! - multi-class (softmax): the log-priors ln(W_k / W), W_k the (weighted)
//!   count of class k among the counted labels, W = sum_k W_k.
//!
//! A class that is absent (or nearly: a sum below half a sample) would get
//! an infinite score, which no booster survives, so every class sum is
//! raised to at least half a sample of the mean weight, W / (2 N) with N the
//! number of counted samples, before the logarithm (the multi-class sums
//! are then renormalised, so that exp of the scores sums to 1). Sums
//! accumulate in f64.

use crate::error::{argument_error, Error, Result};
use crate::float::Float;
use crate::validate;

/// The binary prior log-odds of `target` (n values in [0, 1]) with
/// optional per-sample `weight`s (n values, finite and >= 0).
pub fn prior_log_odds<T: Float>(target: &[T], weight: Option<&[T]>) -> Result<T> {
    validate::probabilities("target", target)?;
    let weight = sample_weights(weight, target.len())?;
    let (mut positive, mut negative) = (0.0f64, 0.0f64);
    for (i, &t) in target.iter().enumerate() {
        let w = weight.map_or(1.0, |w| w[i].to_f64());
        positive += w * t.to_f64();
        negative += w * (1.0 - t.to_f64());
    }
    let least = half_sample(positive + negative, target.len())?;
    Ok(T::from_f64(
        positive.max(least).ln() - negative.max(least).ln(),
    ))
}

/// The multi-class prior log-probabilities of `labels` (n labels in [0, c)
/// or `ignore_index`) with optional per-sample `weight`s, into `out` (c).
pub fn prior_log_probs<T: Float>(
    labels: &[i64],
    c: usize,
    weight: Option<&[T]>,
    ignore_index: Option<i64>,
    out: &mut [T],
) -> Result<()> {
    validate::matrix_len(labels.len(), c)?;
    validate::len("out", out, c)?;
    let weight = sample_weights(weight, labels.len())?;
    let mut sums = vec![0.0f64; c];
    let mut counted = 0;
    for (i, &y) in labels.iter().enumerate() {
        if ignore_index == Some(y) {
            continue;
        }
        if y < 0 || y as u64 >= c as u64 {
            return Err(Error::Label {
                arg: "labels",
                index: i,
                value: y,
                classes: c,
            });
        }
        sums[y as usize] += weight.map_or(1.0, |w| w[i].to_f64());
        counted += 1;
    }
    let least = half_sample(sums.iter().sum(), counted)?;
    for s in &mut sums {
        *s = s.max(least);
    }
    let log_total = sums.iter().sum::<f64>().ln();
    for (o, s) in out.iter_mut().zip(sums) {
        *o = T::from_f64(s.ln() - log_total);
    }
    Ok(())
}

/// Checks optional per-sample weights: `n` values, finite and >= 0.
fn sample_weights<T: Float>(weight: Option<&[T]>, n: usize) -> Result<Option<&[T]>> {
    if let Some(w) = weight {
        validate::len("weight", w, n)?;
        if let Some(i) = w.iter().position(|&v| !(v.is_finite() && v >= T::ZERO)) {
            return Err(argument_error!(
                "weight[{i}] = {} must be finite and >= 0",
                w[i]
            ));
        }
    }
    Ok(weight)
}

/// Half a sample of the mean weight, W / (2 N); refuses N = 0 or W = 0.
fn half_sample(total: f64, counted: usize) -> Result<f64> {
    if counted == 0 || total <= 0.0 {
        return Err(argument_error!(
            "no sample to take a prior from ({counted} counted samples, total weight {total})"
        ));
    }
    Ok(total / (2.0 * counted as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_log_odds_are_the_logit_of_the_mean_target() {
        let t = [1.0f64, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        let got = prior_log_odds(&t, None).unwrap();
        assert!((got - (2.0f64 / 6.0).ln()).abs() < 1e-15, "{got}");
        // Weights count samples: doubling the positives' weight doubles S_1.
        let w = [2.0f64, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0];
        let got = prior_log_odds(&t, Some(&w)).unwrap();
        assert!((got - (4.0f64 / 6.0).ln()).abs() < 1e-15, "{got}");
        // Soft targets: pbar = 0.3.
        let got = prior_log_odds(&[0.3f32, 0.3], None).unwrap();
        assert!((got - (0.3f32 / 0.7).ln()).abs() < 1e-6, "{got}");
    }

    #[test]
    fn an_absent_class_counts_as_half_a_sample() {
        let got = prior_log_odds(&[0.0f64; 10], None).unwrap();
        assert!((got - (0.5f64 / 10.0).ln()).abs() < 1e-15, "{got}");
        let mut out = [0.0f64; 3];
        prior_log_probs::<f64>(&[0, 0, 1, 1, 1, -1], 3, None, Some(-1), &mut out).unwrap();
        let total = 5.5f64;
        let want = [(2.0 / total).ln(), (3.0 / total).ln(), (0.5 / total).ln()];
        for (g, w) in out.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{out:?} vs {want:?}");
        }
    }

    #[test]
    fn multi_class_log_priors_are_log_frequencies() {
        let labels = [0i64, 1, 1, 2, 2, 2, 2, 2];
        let mut out = [0.0f32; 3];
        prior_log_probs::<f32>(&labels, 3, None, None, &mut out).unwrap();
        for (k, &count) in [1.0f32, 2.0, 5.0].iter().enumerate() {
            assert!((out[k] - (count / 8.0).ln()).abs() < 1e-6, "{out:?}");
        }
    }

    #[test]
    fn bad_input_is_refused_with_its_index() {
        let err = prior_log_odds(&[0.5f64, 1.5], None).unwrap_err();
        assert!(matches!(err, Error::Probability { index: 1, .. }), "{err}");
        let err = prior_log_odds(&[0.5f64, 0.5], Some(&[1.0, -1.0])).unwrap_err();
        assert_eq!(err.to_string(), "weight[1] = -1 must be finite and >= 0");
        let err = prior_log_odds(&[0.5f64, 0.5], Some(&[0.0, 0.0])).unwrap_err();
        assert!(err.to_string().starts_with("no sample"), "{err}");
        assert!(prior_log_odds::<f64>(&[], None).is_err());
        let mut out = [0.0f64; 2];
        let err = prior_log_probs::<f64>(&[0, 2], 2, None, None, &mut out).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Label {
                    index: 1,
                    value: 2,
                    ..
                }
            ),
            "{err}"
        );
        let err = prior_log_probs::<f64>(&[0, 1], 0, None, None, &mut []).unwrap_err();
        assert!(matches!(err, Error::Shape(_)), "{err}");
        let err = prior_log_probs::<f64>(&[-1], 2, None, Some(-1), &mut out).unwrap_err();
        assert!(err.to_string().starts_with("no sample"), "{err}");
    }
}

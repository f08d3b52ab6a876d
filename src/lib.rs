//! floss: entropy, cross-entropy, balanced cross-entropy and focal loss,
//! with gradients and Hessian diagonals, for C and for Rust.
//!
//! The core (every module but [`ffi`]) is safe, generic Rust over `f32` and
//! `f64` ([`Float`]) working on slices; [`ffi`] is the C ABI described in
//! `include/floss.h`.

#![deny(unsafe_code)]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod binary;
pub mod class_weights;
pub mod cross_entropy;
pub mod differential_entropy;
mod engine;
pub mod entropy;
pub mod error;
pub mod ffi;
pub mod float;
pub mod focal;
pub mod hessian;
mod kernels;
pub mod options;
mod parallel;
pub mod prior;
pub mod reduce;
pub mod simd;
mod sparse_targets;
pub mod validate;

pub use binary::{binary_cross_entropy, binary_focal_loss};
pub use class_weights::{class_weights, WeightScheme};
pub use cross_entropy::{
    balanced_cross_entropy, cross_entropy, kl_divergence, sparse_cross_entropy,
};
pub use differential_entropy::{
    differential_entropy, differential_entropy_density, DifferentialEntropyMethod,
};
pub use entropy::entropy;
pub use error::{Error, Result};
pub use float::Float;
pub use focal::focal_loss;
pub use options::{HessianMode, Input, Options, Reduction};
pub use prior::{prior_log_odds, prior_log_probs};
pub use reduce::Outputs;

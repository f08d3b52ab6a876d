//! C exports: differential_entropy.

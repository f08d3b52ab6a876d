//! C exports: cross_entropy.

//! C exports: class_weights.

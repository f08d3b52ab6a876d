//! C exports: binary.

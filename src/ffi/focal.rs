//! C exports: focal.

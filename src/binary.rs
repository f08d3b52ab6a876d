//! Binary (sigmoid) losses: binary cross-entropy and binary focal loss.
//! (Implemented by the classification-loss issue.)

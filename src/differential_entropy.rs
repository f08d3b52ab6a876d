//! Differential entropy of a continuous variable, from samples and from a
//! sampled density. (Implemented by the continuous-entropy issue.)

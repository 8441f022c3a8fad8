//! One integration-test binary; each module covers one area.

mod bad_input;
/// Every backend held to the CPU reference kernels.
mod conformance;
mod eval;
mod format;

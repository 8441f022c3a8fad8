//! One integration-test binary; each module covers one area.
/// Every backend held to the CPU reference kernels.
mod conformance;

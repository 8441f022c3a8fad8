//! One integration-test binary; each module covers one area.

mod bad_input;
mod browser;
mod cli;
mod conformance;
mod eval;
mod format;
mod roundtrip;

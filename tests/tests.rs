//! One integration-test binary; each module covers one area.

mod bad_input;
mod browser;
mod cli;
mod eval;
mod format;

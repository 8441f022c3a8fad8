//! One integration-test binary; each module covers one area.
mod browser;

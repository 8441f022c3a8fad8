//! Every input the fuzzer found that once crashed, hung or over-allocated a reader (placeholder).

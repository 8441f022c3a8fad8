//! Helpers shared by the benches, included by each with `mod common;` (not a bench itself:
//! `autobenches = false` in Cargo.toml, every bench listed as a `[[bench]]`).

// Each bench uses only some of these.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// The environment variable `name` as a whole number, or `default` when unset or not one.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The shortest of `reps` timed calls of `f` (zero when `reps` is 0).
pub fn best(reps: usize, mut f: impl FnMut()) -> Duration {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

//! Progress events. The library reports what it is doing through [`Progress`]; the command
//! line decides how to show it (bars, log lines, nothing).

/// One thing worth telling the user about long-running work.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A stage started; `total` is its number of steps when known.
    Start { stage: &'a str, total: Option<u64> },
    /// `done` of the current stage's steps are finished.
    Step { done: u64 },
    /// The current stage ended after `secs` seconds.
    Finish { stage: &'a str, secs: f64 },
    /// A one-line remark worth showing (the backend chosen, a fallback).
    Note(&'a str),
}

/// Receives [`Event`]s. `()` ignores them.
pub trait Progress: Sync {
    /// Called from the thread running the work, never concurrently.
    fn event(&self, event: Event<'_>);
}

impl Progress for () {
    fn event(&self, _: Event<'_>) {}
}

/// Runs `work` as a named stage: emits Start and Finish around it and returns its result and seconds.
pub fn stage<T>(
    progress: &dyn Progress,
    name: &str,
    total: Option<u64>,
    work: impl FnOnce() -> T,
) -> (T, f64) {
    progress.event(Event::Start { stage: name, total });
    let start = std::time::Instant::now();
    let out = work();
    let secs = start.elapsed().as_secs_f64();
    progress.event(Event::Finish { stage: name, secs });
    (out, secs)
}

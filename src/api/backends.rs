//! The backends one job (or one batch worker) runs on: opened on first use and kept, so that a
//! worker compressing a thousand scenes loads the CUDA kernels or creates the wgpu device once.
//! Under `auto` a backend that is unavailable is remembered as such, and one that fails while
//! running hands the scene to the next candidate and is reopened for the next scene.

use crate::backend::Backend;
use crate::backend::select::{self, AnyBackend, Choice, PassedOver};
use crate::encode::{self, Encoded};
use crate::progress::{Event, Progress};
use crate::{Error, Result, Scene};

use super::compress::{BackendReport, Hooks};

/// A candidate backend: opened, or why it could not be.
enum Slot {
    Open(AnyBackend),
    Unavailable(String),
}

/// The backends `choice` names, in the order they are tried, each opened at most once.
pub(crate) struct Backends {
    choice: Choice,
    cuda_device: usize,
    hooks: Hooks,
    slots: Vec<(Choice, Option<Slot>)>,
}

impl Backends {
    /// Nothing is opened until the first [`Backends::encode`].
    pub(crate) fn new(choice: Choice, cuda_device: usize, hooks: Hooks) -> Self {
        Backends {
            choice,
            cuda_device,
            hooks,
            slots: select::candidates(choice)
                .into_iter()
                .map(|c| (c, None))
                .collect(),
        }
    }

    /// Encodes `scene` on the first candidate that opens and runs it. Under [`Choice::Auto`]
    /// a backend that is unavailable, or fails while running (device lost, out of memory),
    /// hands over to the next one; each hand-over is an [`Event::Note`] and an entry of
    /// [`BackendReport::passed_over`]. An explicit choice fails with its backend's error.
    pub(crate) fn encode(
        &mut self,
        scene: &Scene,
        options: &encode::Options,
        progress: &dyn Progress,
    ) -> Result<(Encoded, encode::Report, BackendReport)> {
        let ((encoded, report), chosen) = self.run(&mut EncodeJob { scene, options }, progress)?;
        Ok((encoded, report, chosen))
    }

    /// Runs `job` on the first candidate that opens and runs it, with [`Backends::encode`]'s
    /// fallback rules (a job that fails on one backend starts again on the next).
    pub(crate) fn run<J: Job>(
        &mut self,
        job: &mut J,
        progress: &dyn Progress,
    ) -> Result<(J::Output, BackendReport)> {
        let under_auto = self.choice == Choice::Auto;
        let hooks = self.hooks;
        let mut passed_over = Vec::new();
        let mut last_error = None;
        for index in 0..self.slots.len() {
            let which = self.slots[index].0;
            let backend = match self.slot(index) {
                Ok(backend) => backend,
                Err(e) if under_auto => {
                    let reason = select::reason(&e);
                    progress.event(Event::Note(&format!(
                        "{} unavailable: {reason}",
                        which.name()
                    )));
                    passed_over.push(PassedOver {
                        backend: which.name(),
                        reason,
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            let device = backend.describe();
            progress.event(Event::Note(&format!("backend: {device}")));
            let result = match backend {
                AnyBackend::Cpu(b) => run_hooked(b, job, progress, &hooks),
                #[cfg(feature = "wgpu")]
                AnyBackend::Wgpu(b) => run_hooked(b.as_ref(), job, progress, &hooks),
                #[cfg(feature = "cuda")]
                AnyBackend::Cuda(b) => run_hooked(b.as_ref(), job, progress, &hooks),
            };
            match result {
                Ok(output) => {
                    let chosen = BackendReport {
                        chosen: which.name(),
                        device,
                        passed_over,
                    };
                    return Ok((output, chosen));
                }
                Err(e @ Error::Backend { .. }) if under_auto => {
                    let reason = format!("failed while running: {}", select::reason(&e));
                    progress.event(Event::Note(&format!(
                        "{} {reason}; falling back to the next backend",
                        which.name()
                    )));
                    passed_over.push(PassedOver {
                        backend: which.name(),
                        reason,
                    });
                    // A device that failed is opened afresh for the next scene: an out-of-memory
                    // on one large scene says nothing about the next, and a lost device fails
                    // again at once when reopened.
                    self.slots[index].1 = None;
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Scene("no backend could run".into())))
    }

    /// The candidate at `index`, opened on first use. An unavailable backend stays so (its
    /// error is rebuilt from the remembered reason).
    fn slot(&mut self, index: usize) -> Result<&AnyBackend> {
        let (which, slot) = &mut self.slots[index];
        let which = *which;
        if slot.is_none() {
            let software_ok = which == Choice::Wgpu && self.hooks.auto_accepts_software_wgpu();
            let under_auto = self.choice == Choice::Auto && !software_ok;
            *slot = Some(match select::open(which, self.cuda_device, under_auto) {
                Ok(backend) => Slot::Open(backend),
                Err(e) if self.choice == Choice::Auto => Slot::Unavailable(select::reason(&e)),
                Err(e) => return Err(e),
            });
        }
        match slot {
            Some(Slot::Open(backend)) => Ok(backend),
            Some(Slot::Unavailable(reason)) => Err(Error::Backend {
                backend: which.name(),
                message: reason.clone(),
            }),
            None => unreachable!("the slot was filled above"),
        }
    }
}

/// Work that runs on one backend, whichever it is: encoding a scene, decimating one.
pub(crate) trait Job {
    type Output;
    /// Runs the whole job on `backend`; may be called again on another after a failure.
    fn run<B: Backend>(&mut self, backend: &B, progress: &dyn Progress) -> Result<Self::Output>;
}

/// Encoding one scene.
struct EncodeJob<'a> {
    scene: &'a Scene,
    options: &'a encode::Options,
}

impl Job for EncodeJob<'_> {
    type Output = (Encoded, encode::Report);

    fn run<B: Backend>(&mut self, backend: &B, progress: &dyn Progress) -> Result<Self::Output> {
        encode::encode_with(backend, self.scene, self.options, progress)
    }
}

/// Runs `job` on `backend`, through the failure-injecting wrapper when a hook names it.
fn run_hooked<B: Backend, J: Job>(
    backend: &B,
    job: &mut J,
    progress: &dyn Progress,
    hooks: &Hooks,
) -> Result<J::Output> {
    #[cfg(feature = "test-hooks")]
    if let Some(fail) = hooks.inject_failure.filter(|f| f.backend == backend.name()) {
        let faulty = crate::backend::faulty::Faulty::new(backend, fail.after_calls);
        return job.run(&faulty, progress);
    }
    let _ = hooks;
    job.run(backend, progress)
}

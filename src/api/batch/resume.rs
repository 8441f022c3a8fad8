//! `--resume`: whether a scene's output from an earlier run is complete. Checked, not assumed:
//! the output must be newer than the input, read back as SOG, follow the engine's rules and
//! hold as many splats as the input has after sanitising.

use crate::formats::{self, Format, sog};

use super::Job;

/// An output found complete.
pub struct Complete {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub splats: usize,
}

/// `Some` when `job`'s output is complete; `None` when it is missing, older than the input,
/// unreadable, breaks a rule, or holds another count (then the scene is compressed again).
pub fn complete(job: &Job) -> Option<Complete> {
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&job.output)? < modified(&job.input)? {
        return None;
    }
    if formats::detect(&job.output).ok()? != Format::Sog {
        return None;
    }
    let file = sog::read(&job.output).ok()?;
    if !sog::check::check(&file).is_empty() {
        return None;
    }
    let written = sog::decode::decode(&file).ok()?;
    let (input, _) = formats::read(&job.input).ok()?.sanitize();
    (written.len() == input.len()).then(|| Complete {
        bytes_in: formats::size_on_disk(&job.input),
        bytes_out: formats::size_on_disk(&job.output),
        splats: written.len(),
    })
}

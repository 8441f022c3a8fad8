//! `splatpress batch`: many scenes, one summary.

use crate::{BatchOptions, BatchSummary, Error};

use super::BatchArgs;
use super::Failure;
use super::commands::{options, print_json, print_text};
use super::progress::Reporter;

pub fn batch(args: BatchArgs) -> Result<(), Failure> {
    let reporter = Reporter::new(args.quiet || args.json);
    let options = BatchOptions {
        compress: options(&args.encode)?,
        jobs: args.jobs,
        resume: args.resume,
    };
    let summary = crate::batch(&args.inputs, &args.output_dir, &options, &reporter)?;
    if args.json {
        print_json(&summary)?;
    } else if !args.quiet {
        print_text(&summary_text(&summary))?;
    }
    if summary.all_ok() {
        return Ok(());
    }
    Err(Failure::Run(Error::Scene(format!(
        "{} of {} scenes failed (each is listed with its error in {})",
        summary.totals.failed,
        summary.totals.scenes,
        summary.path().display()
    ))))
}

/// The closing lines of a batch.
fn summary_text(summary: &BatchSummary) -> String {
    let t = &summary.totals;
    let w = &summary.workers;
    let mut text = format!(
        "{} scenes: {} compressed, {} failed, {} skipped",
        t.scenes, t.ok, t.failed, t.skipped
    );
    if t.ok > 0 {
        text += &format!(
            "; {} → {} bytes ({:.1}x)",
            t.bytes_in,
            t.bytes_out,
            t.bytes_in as f64 / t.bytes_out.max(1) as f64
        );
    }
    text += &format!(
        " in {:.1} s on {} cuda, {} wgpu, {} cpu workers\nsummary: {}\n",
        t.seconds,
        w.cuda,
        w.wgpu,
        w.cpu,
        summary.path().display()
    );
    text
}

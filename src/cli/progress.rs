//! Shows library progress events as indicatif bars on a terminal, as plain stage lines
//! otherwise, or not at all (`--quiet`, `--json`).

use std::io::IsTerminal;
use std::sync::Mutex;

use crate::{Event, Progress};
use indicatif::{ProgressBar, ProgressStyle};

/// How progress is shown.
pub struct Reporter {
    bar: Mutex<Option<ProgressBar>>,
    terminal: bool,
    quiet: bool,
}

impl Reporter {
    /// Bars on a terminal stderr, stage lines otherwise; nothing when `quiet`.
    pub fn new(quiet: bool) -> Self {
        Reporter {
            bar: Mutex::new(None),
            terminal: std::io::stderr().is_terminal(),
            quiet,
        }
    }
}

impl Progress for Reporter {
    fn event(&self, event: Event<'_>) {
        if self.quiet {
            return;
        }
        let mut slot = self.bar.lock().unwrap();
        match event {
            Event::Start { stage, total } => {
                if !self.terminal {
                    return;
                }
                let bar = match total {
                    Some(total) => ProgressBar::new(total).with_style(
                        ProgressStyle::with_template("  {msg:10} [{bar:30}] {pos}/{len} {elapsed}")
                            .unwrap()
                            .progress_chars("=> "),
                    ),
                    None => ProgressBar::new_spinner().with_style(
                        ProgressStyle::with_template("  {msg:10} {spinner} {elapsed}").unwrap(),
                    ),
                };
                bar.set_message(stage.to_string());
                bar.enable_steady_tick(std::time::Duration::from_millis(200));
                *slot = Some(bar);
            }
            Event::Step { done } => {
                if let Some(bar) = &*slot {
                    bar.set_position(done);
                }
            }
            Event::Note(text) => match &*slot {
                Some(bar) => bar.println(format!("  {text}")),
                None => eprintln!("  {text}"),
            },
            Event::Finish { stage, secs } => {
                if let Some(bar) = slot.take() {
                    bar.finish_and_clear();
                }
                eprintln!("  {stage:10} {secs:.2} s");
            }
        }
    }
}

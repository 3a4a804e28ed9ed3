//! Progress on the terminal: the `Progress` events of the libraries drawn
//! as indicatif bars, and a spinner for work of unknown length. The only
//! place devex draws progress.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use ingest::sources::{Progress, ProgressEvent};

/// A spinner on a terminal (hidden otherwise) for work of unknown length.
pub fn spinner(message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Progress bars per scope and resource on a terminal (bytes of a file,
/// teams of the demo, pages of a sync); plain lines for waits and finished
/// resources otherwise, so logs show them too.
pub struct Bars {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    /// Bars when `draw` (a terminal, work worth a bar), lines otherwise.
    pub fn new(draw: bool) -> Bars {
        Bars {
            multi: draw.then(MultiProgress::new),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, scope: &str, resource: &str, unit: &str) -> Option<ProgressBar> {
        let multi = self.multi.as_ref()?;
        let mut bars = self.bars.lock().ok()?;
        let bar = bars
            .entry(format!("{scope} {resource}"))
            .or_insert_with(|| {
                let bar = multi.add(ProgressBar::new(0));
                let template = if unit == ingest::progress::BYTES {
                    "{prefix:<40} [{bar:24}] {bytes}/{total_bytes} ({eta})"
                } else {
                    "{prefix:<40} [{bar:24}] {pos}/{len} {msg}"
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(format!("{scope} {resource}"));
                bar
            })
            .clone();
        Some(bar)
    }

    pub fn clear(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}

impl Progress for Bars {
    fn event(&self, event: ProgressEvent<'_>) {
        match event {
            ProgressEvent::Started { scope, resource } => {
                if let Some(bar) = self.bar(scope, resource, "") {
                    bar.set_message("listing");
                }
            }
            ProgressEvent::Advanced {
                scope,
                resource,
                done,
                total,
                unit,
            } => {
                if let Some(bar) = self.bar(scope, resource, unit) {
                    bar.set_length(total.unwrap_or(done).max(done));
                    bar.set_position(done);
                    bar.set_message(unit.to_string());
                }
            }
            ProgressEvent::Finished {
                scope,
                resource,
                stored,
                duplicates,
            } => {
                let line = format!("{stored} stored, {duplicates} already in the lake");
                match self.bar(scope, resource, "") {
                    Some(bar) => {
                        bar.set_length(bar.length().unwrap_or(0).max(1));
                        bar.set_position(bar.length().unwrap_or(1));
                        bar.finish_with_message(line);
                    }
                    None => eprintln!("{scope} {resource}: {line}"),
                }
            }
            ProgressEvent::Waiting { message, .. } => match &self.multi {
                Some(multi) => {
                    let _ = multi.println(&message);
                }
                None => eprintln!("{message}"),
            },
        }
    }
}

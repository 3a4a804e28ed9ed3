//! `devex ingest <source>`: runs a collector of the `ingest` registry with a
//! progress bar per repository and resource, then brings the derived tables
//! up to date. The collector does the work; this module only wires the
//! configuration, draws progress and prints the summary.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use ingest::lake::Lake;
use ingest::sources::{Progress, ProgressEvent, Registry, SyncContext, SyncReport, SyncRequest};

use crate::config::Config;
use crate::error::Result;

/// What `devex ingest` was asked.
pub struct IngestRequest {
    pub source: String,
    pub owners: Vec<String>,
    pub repos: Vec<String>,
    pub since: Option<chrono::NaiveDate>,
    pub resync: bool,
    pub base_url: Option<String>,
    pub json: bool,
}

pub async fn ingest(config: &Config, request: &IngestRequest) -> Result<SyncReport> {
    let mut sections = config.sources.clone();
    if let Some(url) = &request.base_url {
        let section = sections
            .entry(request.source.clone())
            .or_insert_with(|| serde_json::json!({}));
        if !section.is_object() {
            *section = serde_json::json!({});
        }
        section["base_url"] = serde_json::Value::String(url.clone());
    }
    let source = Registry::builtin().collector(&request.source, &sections)?;
    let lake = Arc::new(Lake::create_or_open(&config.lake)?);
    let pseudonymizer = crate::cli::pseudonymizer(config, &lake)?;
    let services = match analytics::LakeQueries::open(lake.clone()).await {
        Ok(queries) => analytics::catalog::repository_services(&queries).await?,
        Err(_) => HashMap::new(),
    };
    let since = match request.since {
        Some(date) => date,
        None => (chrono::Utc::now() - chrono::Duration::days(365)).date_naive(),
    };
    let sync_request = SyncRequest {
        owners: request.owners.clone(),
        repos: request.repos.clone(),
        since: since.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
        resync: request.resync,
    };
    let progress = Bars::new(std::io::stderr().is_terminal());
    let context = SyncContext {
        lake: &lake,
        pseudonymizer: &pseudonymizer,
        services: &services,
        progress: &progress,
    };
    let report = source.sync(&context, &sync_request).await;
    progress.clear();
    let report = report?;
    if report.stored() > 0 {
        crate::cli::derive_after_write(config, lake).await?;
    }
    Ok(report)
}

/// The summary printed after a sync.
pub fn summary(report: &SyncReport) -> String {
    let mut out =
        String::from("repository                      resource     stored  duplicates  requests\n");
    for r in &report.resources {
        out.push_str(&format!(
            "{:<31} {:<12} {:>6}  {:>10}  {:>8}\n",
            r.scope, r.resource, r.stored, r.duplicates, r.requests
        ));
    }
    out.push_str(&format!(
        "{} rows stored, {} already in the lake; {} HTTP requests ({} rate-limited and waited out, {} retried after a server error). The next run fetches only what changed.",
        report.stored(),
        report.duplicates(),
        report.requests,
        report.rate_limited,
        report.retried
    ));
    out
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

//! `devex ingest <source>`: runs a collector of the `ingest` registry with a
//! progress bar per repository and resource, then brings the derived tables
//! up to date. The collector does the work; this module only wires the
//! configuration, draws progress and prints the summary.

use std::io::IsTerminal;
use std::sync::Arc;

use ingest::lake::Lake;
use ingest::sources::{Registry, SyncContext, SyncReport, SyncRequest};

use super::progress::Bars;
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
    pub token: Option<String>,
    /// OpenCost: how far back, and by what.
    pub window: Option<String>,
    pub aggregate: Option<String>,
    /// Copilot: an enterprise's report rather than an organisation's.
    pub enterprise: Option<String>,
    pub json: bool,
}

pub async fn ingest(config: &Config, request: &IngestRequest) -> Result<SyncReport> {
    let mut sections = config.sources.clone();
    for (key, value) in [
        ("base_url", &request.base_url),
        ("token", &request.token),
        ("window", &request.window),
        ("aggregate", &request.aggregate),
        ("enterprise", &request.enterprise),
    ] {
        if let Some(value) = value {
            let section = sections
                .entry(request.source.clone())
                .or_insert_with(|| serde_json::json!({}));
            if !section.is_object() {
                *section = serde_json::json!({});
            }
            section[key] = serde_json::Value::String(value.clone());
        }
    }
    let source = Registry::builtin().collector(&request.source, &sections)?;
    let lake = Arc::new(Lake::create_or_open(&config.lake)?);
    let pseudonymizer = super::commands::pseudonymizer(config, &lake).await?;
    let queries = analytics::LakeQueries::open(lake.clone()).await?;
    let catalog = analytics::catalog::view(&queries).await?;
    let current_catalog = analytics::catalog::current_catalog(&queries).await?;
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
    let ai = config.ai_attribution()?;
    let context = SyncContext {
        lake: &lake,
        ai: &ai,
        pseudonymizer: &pseudonymizer,
        catalog: &catalog,
        current_catalog: &current_catalog,
        progress: &progress,
    };
    let report = source.sync(&context, &sync_request).await;
    progress.clear();
    let report = report?;
    if report.stored() > 0 {
        super::commands::derive_after_write(config, lake).await?;
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

//! `devex ingest copilot --org O | --enterprise E [--since D]`: for each day
//! from the cursor (or `--since`) to yesterday, `GET {scope}/copilot/
//! metrics/reports/users-1-day?day=D` answers with download links to the
//! day's NDJSON files, one user record per line (see [`super::records`]).
//!
//! - A day without a report (404, or no links) is skipped: before the
//!   newest day read it had no data, after it GitHub has not published it
//!   yet. The cursor is the newest day read, so the next run asks again.
//! - Every run reads the last `reread_days` days again, because GitHub
//!   completes a day's report over the following days; unchanged records
//!   store nothing.
//! - The links are signed URLs on another host: they are fetched without
//!   the GitHub token, and named in errors without their signature.
//! - Rate limits are waited out and failures retried like the GitHub
//!   collector's (the same client).

use chrono::NaiveDate;
use futures::future::BoxFuture;

use super::config::CopilotConfig;
use super::records;
use crate::error::{Error, Result};
use crate::sources::github::client::{Client, Patience};
use crate::sources::http::ToolClient;
use crate::sources::{
    Cursor, Cursors, ProgressEvent, Source, SourceSection, SyncContext, SyncReport, SyncRequest,
};

const RESOURCE: &str = "usage";

/// GitHub publishes these reports from 2025-10-10 on, a year back at most.
fn first_day_available(today: NaiveDate) -> NaiveDate {
    let published_from = NaiveDate::from_ymd_opt(2025, 10, 10).unwrap_or(NaiveDate::MIN);
    published_from.max(today - chrono::Duration::days(365))
}

pub struct Copilot {
    client: Client,
    downloads: ToolClient,
    config: CopilotConfig,
}

impl Copilot {
    pub fn build(section: &SourceSection) -> Result<Box<dyn Source>> {
        let config = CopilotConfig::from_section(section)?;
        let client = Client::new(
            config
                .base_url
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("https://api.github.com"),
            config.token.as_deref().filter(|s| !s.is_empty()),
            Patience::default(),
        )?;
        let downloads = ToolClient::new(
            "GitHub's report storage",
            None,
            "The report's links expire after a while; run the sync again for new ones",
            Patience::default(),
        )?;
        Ok(Box::new(Copilot {
            client,
            downloads,
            config,
        }))
    }

    /// The report scopes: `orgs/O` or `enterprises/E`, from the flags (one
    /// or more `--org`) or the section.
    fn scopes(&self, request: &SyncRequest) -> Result<Vec<String>> {
        let mut scopes: Vec<String> = request
            .owners
            .iter()
            .map(|org| format!("orgs/{org}"))
            .collect();
        if scopes.is_empty() {
            if let Some(enterprise) = self.config.enterprise.as_deref().filter(|e| !e.is_empty()) {
                scopes.push(format!("enterprises/{enterprise}"));
            } else if let Some(org) = self.config.org.as_deref().filter(|o| !o.is_empty()) {
                scopes.push(format!("orgs/{org}"));
            }
        }
        if scopes.is_empty() {
            return Err(Error::SourceConfig {
                message: "Copilot's usage reports are per organisation or enterprise: pass --org ORG or --enterprise SLUG (or set [copilot] org or enterprise)".into(),
            });
        }
        Ok(scopes)
    }

    async fn run(&self, context: &SyncContext<'_>, request: &SyncRequest) -> Result<SyncReport> {
        let mut cursors = Cursors::load(context.lake, "copilot").await?;
        let today = chrono::Utc::now().date_naive();
        let mut resources = Vec::new();
        for scope in self.scopes(request)? {
            let cursor = if request.resync {
                None
            } else {
                cursors.get(&scope, RESOURCE).cloned()
            };
            let last_read = cursor
                .as_ref()
                .and_then(|c| chrono::DateTime::from_timestamp_micros(c.at))
                .map(|at| at.date_naive());
            let start = match last_read {
                Some(day) => day - chrono::Duration::days(i64::from(self.config.reread_days) - 1),
                None => request.since.date_naive(),
            }
            .max(first_day_available(today));
            let days: Vec<NaiveDate> = start.iter_days().take_while(|day| *day < today).collect();
            context.progress.event(ProgressEvent::Started {
                scope: &scope,
                resource: RESOURCE,
            });
            let mut rows = Vec::new();
            let mut newest = last_read;
            for (done, day) in days.iter().enumerate() {
                if let Some(day_rows) = self.day(&scope, *day, context).await? {
                    rows.extend(day_rows);
                    newest = newest.max(Some(*day));
                }
                context.progress.event(ProgressEvent::Advanced {
                    scope: &scope,
                    resource: RESOURCE,
                    done: done as u64 + 1,
                    total: Some(days.len() as u64),
                    unit: "days",
                });
            }
            let cursor = Cursor {
                at: newest
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map_or(0, |d| d.and_utc().timestamp_micros()),
                ..Cursor::default()
            };
            let requests = self.client.counts().requests + self.downloads.counts().requests;
            resources.push(
                cursors
                    .store(context, (&scope, RESOURCE), rows, cursor, requests)
                    .await?,
            );
        }
        let mut counts = self.client.counts();
        let downloads = self.downloads.counts();
        counts.requests += downloads.requests;
        counts.rate_limited += downloads.rate_limited;
        counts.retried += downloads.retried;
        Ok(SyncReport::new("copilot", resources, counts))
    }

    /// The rows of one day's report; `None` when GitHub has not published
    /// it yet.
    async fn day(
        &self,
        scope: &str,
        day: NaiveDate,
        context: &SyncContext<'_>,
    ) -> Result<Option<crate::canonical::Rows>> {
        let url = format!(
            "{}/{scope}/copilot/metrics/reports/users-1-day?day={day}",
            self.client.base()
        );
        let index = self
            .client
            .get(&url, context.progress)
            .await
            .map_err(|e| refused_report(e, scope))?;
        let Some(index) = index else {
            return Ok(None);
        };
        let links: Vec<&str> = index.body["download_links"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str())
            .collect();
        if links.is_empty() {
            return Ok(None);
        }
        let reported_at = chrono::Utc::now().timestamp_micros();
        let mut rows = Vec::new();
        for link in links {
            // The signature is a secret: errors name the file without it.
            let shown = link.split('?').next().unwrap_or(link);
            let Some(file) = self
                .downloads
                .get_text(
                    link,
                    "application/x-ndjson, application/json",
                    context.progress,
                )
                .await
                .map_err(|e| without_signature(e, link, shown))?
            else {
                return Err(Error::SourceRequest {
                    url: shown.to_string(),
                    message: format!(
                        "the report of {day} is gone (404); run the sync again for new links"
                    ),
                });
            };
            for (n, line) in file.body.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let record: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| Error::SourcePayload {
                        url: shown.to_string(),
                        message: format!("line {}: not JSON ({e})", n + 1),
                    })?;
                rows.extend(
                    records::rows(&record, context.pseudonymizer, reported_at).map_err(|e| {
                        Error::SourcePayload {
                            url: shown.to_string(),
                            message: format!("line {}: {}", n + 1, e.0),
                        }
                    })?,
                );
            }
        }
        Ok(Some(rows))
    }
}

/// A refused token, explained for Copilot's reports (GitHub's client
/// explains it for repositories).
fn refused_report(error: Error, scope: &str) -> Error {
    match error {
        Error::SourceAuth { .. } => Error::SourceAuth {
            message: format!(
                "GitHub refused the Copilot usage report of {scope}. The token needs, classic: `read:org` for an organisation, `manage_billing:copilot` or `read:enterprise` for an enterprise; fine-grained: the organisation's (or enterprise's) Copilot metrics read permission. The \"Copilot usage metrics\" policy must be enabled too. Set COPILOT_TOKEN (or [copilot] token) and run again"
            ),
        },
        other => other,
    }
}

/// `error` with the signed `link` replaced by `shown` wherever it appears.
fn without_signature(error: Error, link: &str, shown: &str) -> Error {
    match error {
        Error::SourceRequest { message, .. } => Error::SourceRequest {
            url: shown.to_string(),
            message: message.replace(link, shown),
        },
        Error::SourcePayload { message, .. } => Error::SourcePayload {
            url: shown.to_string(),
            message: message.replace(link, shown),
        },
        Error::SourceAuth { message } => Error::SourceAuth {
            message: message.replace(link, shown),
        },
        other => other,
    }
}

impl Source for Copilot {
    fn name(&self) -> &'static str {
        "copilot"
    }

    fn sync<'a>(
        &'a self,
        context: &'a SyncContext<'a>,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncReport>> {
        Box::pin(self.run(context, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_a_report_file_without_its_signature() {
        let link = "https://reports.example/u.ndjson?sv=1&sig=SECRET";
        let shown = "https://reports.example/u.ndjson";
        let error = Error::SourceRequest {
            url: link.into(),
            message: format!("no answer from {link}"),
        };
        let text = without_signature(error, link, shown).to_string();
        assert!(!text.contains("SECRET") && text.contains(shown), "{text}");
    }

    #[test]
    fn a_refused_token_names_the_copilot_permissions() {
        let refused = Error::SourceAuth {
            message: "GitHub refused ... `repo` ...".into(),
        };
        let text = refused_report(refused, "orgs/acme").to_string();
        assert!(
            text.contains("orgs/acme") && text.contains("read:org"),
            "{text}"
        );
        assert!(!text.contains("`repo`"), "{text}");
    }

    #[test]
    fn reports_start_when_github_publishes_them_and_a_year_back() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(first_day_available(day(2026, 3, 1)), day(2025, 10, 10));
        assert_eq!(first_day_available(day(2027, 3, 1)), day(2026, 3, 1));
    }
}

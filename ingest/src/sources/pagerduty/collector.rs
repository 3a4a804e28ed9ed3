//! `devex ingest pagerduty [--since D]`: incidents from the REST API.
//!
//! `GET /incidents` (created since the cursor, in pages of 100 while `more`)
//! and each incident's log (`GET /incidents/{id}/log_entries`): its trigger,
//! acknowledgements and resolution become the same rows a webhook would
//! give. An incident not resolved yet stays pending in the cursor and is read
//! again next time; one whose service the catalog does not know is kept under
//! `_devex/sources/pagerduty/unmapped/` with the reason, not stored.

use chrono::SecondsFormat;
use futures::future::BoxFuture;
use serde_json::Value as Json;

use super::config::PagerdutyConfig;
use super::rows;
use crate::canonical::Rows;
use crate::error::{Error, Result};
use crate::sources::http::{api_root, encode, Patience, ToolClient};
use crate::sources::json::{optional_text, text, time};
use crate::sources::{
    Cursor, Cursors, ProgressEvent, Source, SourceSection, SyncContext, SyncReport, SyncRequest,
};

/// The cursor's scope: the account the token reads.
const SCOPE: &str = "account";
const RESOURCE: &str = "incidents";

pub struct PagerDuty {
    client: ToolClient,
    base: String,
}

impl PagerDuty {
    pub fn build(section: &SourceSection) -> Result<Box<dyn Source>> {
        let config = PagerdutyConfig::from_section(section)?;
        let token = config.token.filter(|t| !t.is_empty()).ok_or_else(|| Error::SourceAuth {
            message: "PagerDuty needs an API key: create a read-only REST API key (Integrations > API Access Keys), then set PAGERDUTY_TOKEN or [pagerduty] token and run again".into(),
        })?;
        let client = ToolClient::new(
            "PagerDuty",
            Some(("authorization", format!("Token token={token}"))),
            "Create a read-only REST API key (Integrations > API Access Keys), then set PAGERDUTY_TOKEN or [pagerduty] token and run again",
            Patience::default(),
        )?;
        let base = api_root(config.base_url, "https://api.pagerduty.com");
        Ok(Box::new(PagerDuty { client, base }))
    }

    /// The rows of one incident from its log, if its service maps.
    async fn incident_rows(
        &self,
        incident: &Json,
        context: &SyncContext<'_>,
        rows: &mut Rows,
    ) -> Result<bool> {
        let id = text(incident, "id").map_err(|e| self.payload("/incidents", e.0))?;
        let service = match rows::service(context.catalog, incident)
            .map_err(|e| self.payload("/incidents", e.0))?
        {
            Ok(service) => service,
            Err(reason) => {
                let kept = serde_json::json!({"reason": reason, "incident": incident});
                context
                    .lake
                    .write_state_file(
                        &format!(
                            "sources/pagerduty/unmapped/{}.json",
                            crate::sources::webhook::file_safe_id(&id)
                        ),
                        kept.to_string().as_bytes(),
                    )
                    .await?;
                return Ok(false);
            }
        };
        let url = format!(
            "{}/incidents/{}/log_entries?is_overview=true&time_zone=UTC&limit=100",
            self.base,
            encode(&id)
        );
        let Some(page) = self.client.get(&url, context.progress).await? else {
            return Ok(false);
        };
        for entry in page.body["log_entries"].as_array().into_iter().flatten() {
            let state = match entry["type"].as_str() {
                Some("trigger_log_entry") => "triggered",
                Some("acknowledge_log_entry") => "acknowledged",
                Some("resolve_log_entry") => "resolved",
                _ => continue,
            };
            let at = time(entry, "created_at").map_err(|e| self.payload(&url, e.0))?;
            rows.push(
                rows::incident(incident, state, at, service.clone())
                    .map_err(|e| self.payload(&url, e.0))?,
            );
        }
        Ok(true)
    }

    fn payload(&self, url: &str, message: String) -> Error {
        Error::SourcePayload {
            url: format!(
                "{}{url}",
                if url.starts_with('/') { &self.base } else { "" }
            ),
            message,
        }
    }

    async fn run(&self, context: &SyncContext<'_>, request: &SyncRequest) -> Result<SyncReport> {
        let progress = context.progress;
        progress.event(ProgressEvent::Started {
            scope: SCOPE,
            resource: RESOURCE,
        });
        let mut cursors = Cursors::load(context.lake, "pagerduty").await?;
        let stored = if request.resync {
            None
        } else {
            cursors.get(SCOPE, RESOURCE).cloned()
        };
        let since = request.since.timestamp_micros();
        let mut cursor = Cursor::or_since(stored.as_ref(), since);
        let from = chrono::DateTime::from_timestamp_micros(cursor.at)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        let until = chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut incidents: Vec<Json> = Vec::new();
        let mut offset = 0;
        loop {
            let url = format!(
                "{}/incidents?since={}&until={}&time_zone=UTC&sort_by=created_at:asc&limit=100&offset={offset}",
                self.base,
                encode(&from),
                encode(&until)
            );
            let Some(page) = self.client.get(&url, progress).await? else {
                break;
            };
            let items = page.body["incidents"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            offset += items.len();
            incidents.extend(items);
            if page.body["more"].as_bool() != Some(true) || offset == 0 {
                break;
            }
        }
        // Incidents still open last time, read again whatever their age.
        for id in std::mem::take(&mut cursor.pending) {
            if incidents
                .iter()
                .any(|i| i["id"].as_str() == Some(id.as_str()))
            {
                continue;
            }
            let url = format!("{}/incidents/{}", self.base, encode(&id));
            if let Some(page) = self.client.get(&url, progress).await? {
                incidents.push(page.body["incident"].clone());
            }
        }
        let mut rows: Rows = Vec::new();
        let total = incidents.len() as u64;
        for (done, incident) in incidents.iter().enumerate() {
            self.incident_rows(incident, context, &mut rows).await?;
            if let Ok(created) = time(incident, "created_at") {
                cursor.at = cursor.at.max(created);
            }
            if optional_text(incident, "status").as_deref() != Some("resolved") {
                if let Some(id) = optional_text(incident, "id") {
                    cursor.pending.push(id);
                }
            }
            progress.event(ProgressEvent::Advanced {
                scope: SCOPE,
                resource: RESOURCE,
                done: done as u64 + 1,
                total: Some(total),
                unit: "incidents",
            });
        }
        cursor.pending.sort();
        cursor.pending.dedup();
        let stored = cursors
            .store(
                context,
                (SCOPE, RESOURCE),
                rows,
                cursor,
                self.client.counts().requests,
            )
            .await?;
        Ok(SyncReport::new(
            "pagerduty",
            vec![stored],
            self.client.counts(),
        ))
    }
}

impl Source for PagerDuty {
    fn name(&self) -> &'static str {
        "pagerduty"
    }

    fn sync<'a>(
        &'a self,
        context: &'a SyncContext<'a>,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncReport>> {
        Box::pin(self.run(context, request))
    }
}

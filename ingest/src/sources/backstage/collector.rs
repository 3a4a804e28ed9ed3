//! `devex ingest backstage --url URL`: a live catalog's entities
//! (`GET /api/catalog/entities`, in pages of `limit` from `offset`), planned
//! against the lake's current catalog exactly like `devex import catalog`.

use futures::future::BoxFuture;
use serde_json::Value as Json;

use super::catalog::plan;
use super::config::BackstageConfig;
use super::entities::Entity;
use crate::error::{Error, Result};
use crate::sources::http::{encode, Patience, ToolClient};
use crate::sources::{
    append_rows, ProgressEvent, ResourceReport, Source, SourceSection, SyncContext, SyncReport,
    SyncRequest,
};

/// Entities per page.
const PAGE: usize = 500;

pub struct Backstage {
    client: ToolClient,
    base: String,
}

impl Backstage {
    pub fn build(section: &SourceSection) -> Result<Box<dyn Source>> {
        let config = BackstageConfig::from_section(section)?;
        let base = config
            .base_url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Error::SourceConfig {
                message: "no Backstage to read: give --url https://backstage.example.com (or [backstage] base_url)".into(),
            })?
            .trim_end_matches('/')
            .to_string();
        let client = ToolClient::new(
            "Backstage",
            config
                .token
                .filter(|t| !t.is_empty())
                .map(|t| ("authorization", format!("Bearer {t}"))),
            "Make a static token the catalog accepts (backend.auth.externalAccess in app-config), then set BACKSTAGE_TOKEN or [backstage] token and run again",
            Patience::default(),
        )?;
        Ok(Box::new(Backstage { client, base }))
    }

    async fn run(&self, context: &SyncContext<'_>) -> Result<SyncReport> {
        let progress = context.progress;
        progress.event(ProgressEvent::Started {
            scope: &self.base,
            resource: "entities",
        });
        let mut entities: Vec<Entity> = Vec::new();
        loop {
            let url = format!(
                "{}/api/catalog/entities?limit={PAGE}&offset={}",
                self.base,
                encode(&entities.len().to_string())
            );
            let Some(page) = self.client.get(&url, progress).await? else {
                return Err(Error::SourceConfig {
                    message: format!("{url} answered 404: is {} a Backstage backend (its catalog API under /api/catalog)?", self.base),
                });
            };
            let items = page
                .body
                .as_array()
                .cloned()
                .ok_or_else(|| Error::SourcePayload {
                    url: url.clone(),
                    message: "the answer is not a list of entities".into(),
                })?;
            let count = items.len();
            for item in items {
                entities.push(entity(&item, &url)?);
            }
            progress.event(ProgressEvent::Advanced {
                scope: &self.base,
                resource: "entities",
                done: entities.len() as u64,
                total: None,
                unit: "entities",
            });
            if count < PAGE {
                break;
            }
        }
        let as_of = chrono::Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp_micros();
        let planned = plan(
            &entities,
            context.current_catalog,
            as_of,
            context.pseudonymizer,
        )?;
        let summary = append_rows(context.lake, planned.rows).await?;
        super::aliases::save(context.lake, &planned.user_aliases)?;
        progress.event(ProgressEvent::Finished {
            scope: &self.base,
            resource: "entities",
            stored: summary.rows_written,
            duplicates: summary.duplicates,
        });
        let counts = self.client.counts();
        let resource = ResourceReport {
            scope: self.base.clone(),
            resource: "entities".into(),
            stored: summary.rows_written,
            duplicates: summary.duplicates,
            requests: counts.requests,
        };
        Ok(SyncReport::new("backstage", vec![resource], counts))
    }
}

/// An entity of the catalog API (the same shape as a YAML document).
fn entity(item: &Json, url: &str) -> Result<Entity> {
    let text = |value: &Json| value.as_str().map(str::to_string);
    let bad = |field: &str| Error::SourcePayload {
        url: url.to_string(),
        message: format!("an entity has no {field}"),
    };
    Ok(Entity {
        kind: text(&item["kind"]).ok_or_else(|| bad("kind"))?,
        name: text(&item["metadata"]["name"]).ok_or_else(|| bad("metadata.name"))?,
        namespace: text(&item["metadata"]["namespace"]).unwrap_or_else(|| "default".into()),
        metadata: item["metadata"].clone(),
        spec: item["spec"].clone(),
        file: url.to_string(),
    })
}

impl Source for Backstage {
    fn name(&self) -> &'static str {
        "backstage"
    }

    fn sync<'a>(
        &'a self,
        context: &'a SyncContext<'a>,
        _request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncReport>> {
        Box::pin(self.run(context))
    }
}

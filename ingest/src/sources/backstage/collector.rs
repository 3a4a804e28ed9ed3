//! `devex ingest backstage --url URL`: a live catalog's entities
//! (`GET /api/catalog/entities`, in pages of `limit` from `offset`), planned
//! against the lake's current catalog exactly like `devex import catalog`;
//! then the scaffolder's tasks (`GET /api/scaffolder/v2/tasks`), each
//! finished one a use of a template. A Backstage without the scaffolder
//! (404) has no tasks.

use futures::future::BoxFuture;
use serde_json::Value as Json;

use super::catalog::plan;
use super::config::BackstageConfig;
use super::entities::Entity;
use super::scaffolder::{task_row, tasks_of, People};
use crate::error::{Error, Result};
use crate::lake::AppendSummary;
use crate::rows::Value;
use crate::sources::http::{encode, Patience, ToolClient};
use crate::sources::{
    append_rows, ProgressEvent, ResourceReport, Source, SourceSection, SyncContext, SyncReport,
    SyncRequest,
};
use std::collections::HashMap;

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
        // Who is in which team, after this import, for the tasks' users.
        let mut teams: HashMap<String, String> = context
            .current_catalog
            .memberships
            .keys()
            .map(|(developer, team)| (developer.clone(), team.clone()))
            .collect();
        for row in &planned.rows {
            if let (Some(Value::Text(developer)), Some(Value::Text(team)), Some(Value::Null)) =
                (row.1.get(1), row.1.get(2), row.1.get(4))
            {
                if row.0.name == "team_members" {
                    teams.insert(developer.clone(), team.clone());
                }
            }
        }
        let summary = append_rows(context.lake, planned.rows).await?;
        super::aliases::save(context.lake, &planned.user_aliases).await?;
        let aliases = super::aliases::load(context.lake).await?;
        progress.event(ProgressEvent::Finished {
            scope: &self.base,
            resource: "entities",
            stored: summary.rows_written,
            duplicates: summary.duplicates,
        });
        let entity_requests = self.client.counts().requests;
        let people = People {
            pseudonymizer: context.pseudonymizer,
            aliases: &aliases,
            teams: &teams,
        };
        let tasks = self.tasks(context, &people).await?;
        let counts = self.client.counts();
        let resources = vec![
            ResourceReport {
                scope: self.base.clone(),
                resource: "entities".into(),
                stored: summary.rows_written,
                duplicates: summary.duplicates,
                requests: entity_requests,
            },
            ResourceReport {
                scope: self.base.clone(),
                resource: "scaffolder tasks".into(),
                stored: tasks.rows_written,
                duplicates: tasks.duplicates,
                requests: counts.requests - entity_requests,
            },
        ];
        Ok(SyncReport::new("backstage", resources, counts))
    }

    /// The scaffolder's finished tasks, stored as platform usage.
    async fn tasks(&self, context: &SyncContext<'_>, people: &People<'_>) -> Result<AppendSummary> {
        let progress = context.progress;
        progress.event(ProgressEvent::Started {
            scope: &self.base,
            resource: "scaffolder tasks",
        });
        let mut rows = Vec::new();
        let mut read = 0usize;
        loop {
            let url = format!(
                "{}/api/scaffolder/v2/tasks?limit={PAGE}&offset={read}",
                self.base
            );
            // No scaffolder plugin: no tasks to read.
            let Some(page) = self.client.get(&url, progress).await? else {
                break;
            };
            let tasks = tasks_of(&page.body).ok_or_else(|| Error::SourcePayload {
                url: url.clone(),
                message: "the answer is neither {\"tasks\": [...]} nor a list of tasks".into(),
            })?;
            for task in tasks {
                if let Some(row) =
                    task_row(task, people).map_err(|message| Error::SourcePayload {
                        url: url.clone(),
                        message,
                    })?
                {
                    rows.push(row);
                }
            }
            read += tasks.len();
            progress.event(ProgressEvent::Advanced {
                scope: &self.base,
                resource: "scaffolder tasks",
                done: read as u64,
                total: page.body["totalTasks"].as_u64(),
                unit: "tasks",
            });
            // Older releases answer every task at once, without paging.
            if tasks.len() < PAGE || page.body.is_array() {
                break;
            }
        }
        let summary = append_rows(context.lake, rows).await?;
        progress.event(ProgressEvent::Finished {
            scope: &self.base,
            resource: "scaffolder tasks",
            stored: summary.rows_written,
            duplicates: summary.duplicates,
        });
        Ok(summary)
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

//! Where events come from besides files: collectors that pull from a tool's
//! API, and the parsers that turn its payloads into canonical rows.
//!
//! Every collector implements [`Source`] and has one line in [`REGISTRY`];
//! the CLI (`devex ingest <source>`) and anything else that syncs find it
//! there by name. Adding GitLab or PagerDuty is a new module plus a registry
//! line, as with Vector's sources.
//!
//! A sync is incremental: a source keeps a cursor per scope and resource in
//! the lake's state folder ([`Cursors`]) and advances it only after the rows
//! it covers are durably appended, so an interrupted sync repeats work but
//! never skips it, and the lake's `event_id` deduplication makes repeated
//! rows no-ops.

pub mod argocd;
pub mod backstage;
pub mod backstage_analytics;
pub mod catalog;
pub mod cdevents;
pub mod copilot;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod json;
pub mod opencost;
pub mod pagerduty;
pub mod webhook;

/// The published payloads the tests read (`tests/fixtures/payloads`).
#[cfg(test)]
pub(crate) mod fixtures {
    use std::path::PathBuf;

    pub fn path(relative: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/payloads")
            .join(relative)
    }

    pub fn bytes(relative: &str) -> Vec<u8> {
        std::fs::read(path(relative)).unwrap()
    }

    pub fn json(relative: &str) -> serde_json::Value {
        serde_json::from_slice(&bytes(relative)).unwrap()
    }
}

pub use crate::canonical::{Row, Rows};
pub use catalog::CatalogView;
pub use webhook::{DeliveryId, Parsed, PayloadError, WebhookContext, WebhookReceiver};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::error::{Error, Result};
use crate::identity::Pseudonymizer;
use crate::lake::{AppendSummary, Lake};
use crate::rows::TableBuilder;

/// What to sync, in the terms every source shares.
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    /// Owners to sync every repository (project, service) of: a GitHub
    /// organisation or user, a GitLab group.
    pub owners: Vec<String>,
    /// Single repositories (`owner/name`), in addition to the owners'.
    pub repos: Vec<String>,
    /// Where a first sync of a repository starts; later syncs continue from
    /// their cursor.
    pub since: DateTime<Utc>,
    /// Ignore stored cursors and start again from `since`.
    pub resync: bool,
}

/// What a sync needs from its caller.
pub struct SyncContext<'a> {
    pub lake: &'a Lake,
    pub pseudonymizer: &'a Pseudonymizer,
    /// The catalog as sources map by it (repository -> service, annotations).
    pub catalog: &'a CatalogView,
    /// The catalog's current versions, which a catalog source compares with.
    pub current_catalog: &'a backstage::CurrentCatalog,
    /// Which commits and pull requests are AI-assisted (`[ai]`).
    pub ai: &'a crate::ai_attribution::AiAttribution,
    pub progress: &'a dyn Progress,
}

pub use crate::progress::{NoProgress, Progress, ProgressEvent};

/// What only a pull (not a webhook) knows of a pull or merge request,
/// from its commits and changed files.
#[derive(Debug, Default)]
pub struct PullDetails {
    /// Author time of its earliest commit.
    pub first_commit_at: Option<i64>,
    pub files: Option<Vec<String>>,
    /// The AI assistant one of its commits names.
    pub commit_tool: Option<String>,
}

/// What one resource of one scope brought.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResourceReport {
    pub scope: String,
    pub resource: String,
    pub stored: usize,
    pub duplicates: usize,
    pub requests: u64,
}

/// What a sync brought, and what it cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub source: String,
    pub resources: Vec<ResourceReport>,
    /// HTTP requests sent, retries and rate-limited ones included.
    pub requests: u64,
    /// Requests GitHub refused for a rate limit, then repeated after the wait.
    pub rate_limited: u64,
    /// Requests repeated after a 5xx or a connection failure.
    pub retried: u64,
}

impl SyncReport {
    /// The report of `source`'s resources, with what its client sent.
    pub fn new(source: &str, resources: Vec<ResourceReport>, counts: http::Counts) -> SyncReport {
        SyncReport {
            source: source.to_string(),
            resources,
            requests: counts.requests,
            rate_limited: counts.rate_limited,
            retried: counts.retried,
        }
    }

    pub fn stored(&self) -> usize {
        self.resources.iter().map(|r| r.stored).sum()
    }

    pub fn duplicates(&self) -> usize {
        self.resources.iter().map(|r| r.duplicates).sum()
    }
}

/// A collector: pulls a tool's history into the lake, incrementally.
pub trait Source: Send + Sync {
    /// The registry name, e.g. `github`.
    fn name(&self) -> &'static str;

    fn sync<'a>(
        &'a self,
        context: &'a SyncContext<'a>,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncReport>>;
}

/// A source's section of the configuration (`[github]`), with what the
/// environment adds; the source's own module deserialises it into its typed
/// config, so a misspelt key is an error naming it.
pub type SourceSection = serde_json::Value;

/// Deserialises the `[name]` section into a source's typed settings; a
/// missing section is the defaults, a misspelt key an error naming it.
pub fn read_section<T: serde::de::DeserializeOwned + Default>(
    name: &str,
    section: &SourceSection,
) -> Result<T> {
    match section {
        serde_json::Value::Null => Ok(T::default()),
        section => serde_json::from_value(section.clone()).map_err(|e| Error::SourceConfig {
            message: format!("[{name}]: {e}; see the README's configuration section"),
        }),
    }
}

/// Builds a source's pull collector from its section.
pub type BuildCollector = fn(&SourceSection) -> Result<Box<dyn Source>>;

/// Builds a source's webhook receiver from its section.
pub type BuildReceiver = fn(&SourceSection) -> Result<Box<dyn WebhookReceiver>>;

/// One source: its name, its typed settings, and what it can do. Adding a
/// source is a module and one line in [`Registry::builtin`].
#[derive(Clone, Copy)]
pub struct SourceEntry {
    /// The registry name: `devex ingest <name>`, `[<name>]`, `/webhooks/<name>`.
    pub name: &'static str,
    /// One line for `devex ingest --help` and `devex sources`.
    pub about: &'static str,
    /// Environment variables that fill a key the section leaves out, e.g.
    /// `GITHUB_TOKEN` for `token` (`DEVEX_<NAME>__<KEY>` works for every key).
    pub environment: &'static [(&'static str, &'static str)],
    /// Deserialises and checks the section: `Err` names the bad key.
    pub check: fn(&SourceSection) -> Result<()>,
    /// The pull collector, when the source has an API to pull from.
    pub collector: Option<BuildCollector>,
    /// The webhook receiver, when the source pushes events.
    pub webhook: Option<BuildReceiver>,
}

/// Every source devex knows, by name.
#[derive(Clone)]
pub struct Registry {
    entries: Vec<SourceEntry>,
}

impl Registry {
    /// The sources devex ships.
    pub fn builtin() -> Registry {
        Registry {
            entries: vec![
                github::ENTRY,
                gitlab::ENTRY,
                pagerduty::ENTRY,
                cdevents::ENTRY,
                argocd::ENTRY,
                backstage::ENTRY,
                backstage_analytics::ENTRY,
                opencost::ENTRY,
                copilot::ENTRY,
            ],
        }
    }

    /// This registry with one more source (or one replaced by name).
    pub fn with(mut self, entry: SourceEntry) -> Registry {
        self.entries.retain(|e| e.name != entry.name);
        self.entries.push(entry);
        self
    }

    pub fn entries(&self) -> &[SourceEntry] {
        &self.entries
    }

    /// The known names, comma-separated, for error messages.
    pub fn names(&self) -> String {
        self.entries
            .iter()
            .map(|e| e.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The source called `name`. `_` stands for `-`, so that
    /// `DEVEX_BACKSTAGE_ANALYTICS__TOKEN` reaches `[backstage-analytics]`.
    pub fn entry(&self, name: &str) -> Result<&SourceEntry> {
        self.entries
            .iter()
            .find(|e| e.name == name || e.name.replace('-', "_") == name)
            .ok_or_else(|| Error::UnknownSource {
                name: name.to_string(),
                known: self.names(),
            })
    }

    /// The section of `name` from the configuration's sections, with the
    /// entry's environment variables filling keys the file leaves out or empty.
    pub fn section(
        &self,
        name: &str,
        sections: &BTreeMap<String, SourceSection>,
    ) -> Result<SourceSection> {
        let entry = self.entry(name)?;
        // The file's `[backstage-analytics]`, then the environment's
        // `backstage_analytics` keys over it.
        let mut section = serde_json::json!({});
        for spelling in [entry.name.to_string(), entry.name.replace('-', "_")] {
            if let Some(serde_json::Value::Object(keys)) = sections.get(&spelling) {
                for (key, value) in keys {
                    section[key] = value.clone();
                }
            }
        }
        for (variable, key) in entry.environment {
            if section[*key].as_str().is_none_or(str::is_empty) {
                if let Ok(value) = std::env::var(variable) {
                    section[*key] = serde_json::Value::String(value);
                }
            }
        }
        Ok(section)
    }

    /// Checks every section of the configuration: each object section must
    /// name a known source and deserialise into its typed settings. (Other
    /// values are not sections: `DEVEX_LOG` lands here as a string.)
    pub fn check(&self, sections: &BTreeMap<String, SourceSection>) -> Result<()> {
        for (name, value) in sections {
            if value.is_object() {
                let entry = self.entry(name).map_err(|_| Error::SourceConfig {
                    message: format!(
                        "[{name}] is not a section devex knows; sources: {}",
                        self.names()
                    ),
                })?;
                (entry.check)(&self.section(name, sections)?)?;
            }
        }
        Ok(())
    }

    /// The pull collector of `name`, built from its section.
    pub fn collector(
        &self,
        name: &str,
        sections: &BTreeMap<String, SourceSection>,
    ) -> Result<Box<dyn Source>> {
        let entry = self.entry(name)?;
        let Some(build) = entry.collector else {
            let pulling: Vec<&str> = self
                .entries
                .iter()
                .filter(|e| e.collector.is_some())
                .map(|e| e.name)
                .collect();
            return Err(Error::SourceConfig {
                message: format!(
                    "{name} has no pull collector: it sends its events to POST /webhooks/{name}; sources that pull: {}",
                    pulling.join(", ")
                ),
            });
        };
        build(&self.section(name, sections)?)
    }

    /// Every webhook receiver, by source name, built from its section.
    pub fn receivers(
        &self,
        sections: &BTreeMap<String, SourceSection>,
    ) -> Result<BTreeMap<&'static str, Box<dyn WebhookReceiver>>> {
        let mut receivers = BTreeMap::new();
        for entry in &self.entries {
            if let Some(build) = entry.webhook {
                receivers.insert(entry.name, build(&self.section(entry.name, sections)?)?);
            }
        }
        Ok(receivers)
    }
}

/// Canonical rows grouped into one batch per table.
pub fn batches(rows: Rows) -> Result<Vec<RecordBatchOf>> {
    let mut builders: Vec<TableBuilder> = Vec::new();
    for (table, values) in rows {
        let index = match builders.iter().position(|b| b.spec().name == table.name) {
            Some(i) => i,
            None => {
                builders.push(TableBuilder::new(table));
                builders.len() - 1
            }
        };
        builders[index].push(values)?;
    }
    builders
        .into_iter()
        .map(|mut b| Ok((b.spec(), b.finish()?)))
        .collect()
}

pub use crate::group_commit::RecordBatchOf;

/// Appends canonical rows of any tables; returns what was stored.
pub async fn append_rows(lake: &Lake, rows: Rows) -> Result<AppendSummary> {
    let mut summary = AppendSummary::default();
    for (table, batch) in batches(rows)? {
        summary.add(&lake.append(table, &batch).await?);
    }
    Ok(summary)
}

/// Where one resource of one scope was synced to.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    /// The newest change seen, microseconds since the epoch.
    pub at: i64,
    /// Keys of the items changed exactly at `at`: sources filter by whole
    /// seconds, so these come again and are skipped, while an item changed
    /// in the same second but not yet seen is still taken.
    #[serde(default)]
    pub seen_at: Vec<String>,
    /// Items to look at again whatever their time (e.g. deployments without
    /// a final status).
    #[serde(default)]
    pub pending: Vec<String>,
}

impl Cursor {
    /// Where a sync starts: the stored cursor, else `since`.
    pub fn or_since(cursor: Option<&Cursor>, since: i64) -> Cursor {
        cursor.cloned().unwrap_or(Cursor {
            at: since,
            ..Cursor::default()
        })
    }

    /// Whether an item changed at `at` with `key` is new to this cursor.
    pub fn is_new(&self, at: i64, key: &str) -> bool {
        at > self.at || (at == self.at && !self.seen_at.iter().any(|k| k == key))
    }

    /// Records an item as seen.
    pub fn observe(&mut self, at: i64, key: &str) {
        if at > self.at {
            self.at = at;
            self.seen_at.clear();
        }
        if at == self.at && !self.seen_at.iter().any(|k| k == key) {
            self.seen_at.push(key.to_string());
        }
    }
}

/// The cursors of one source, kept in the lake's state folder.
pub struct Cursors {
    file: String,
    cursors: BTreeMap<String, Cursor>,
}

impl Cursors {
    /// Loads `sources/<source>/cursors.json`; none yet is an empty set.
    pub async fn load(lake: &Lake, source: &str) -> Result<Cursors> {
        let file = format!("sources/{source}/cursors.json");
        let cursors = match lake.read_state_file(&file).await? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::InvalidFile {
                file: lake.state_location(&file),
                message: format!(
                    "not a cursor file ({e}); delete it to sync again from --since (stored rows are kept, and repeated ones are skipped)"
                ),
            })?,
            None => BTreeMap::new(),
        };
        Ok(Cursors { file, cursors })
    }

    pub fn get(&self, scope: &str, resource: &str) -> Option<&Cursor> {
        self.cursors.get(&format!("{scope}:{resource}"))
    }

    /// Appends one resource's rows, then (only then) moves its cursor on,
    /// and says so: what a sync does after fetching each resource.
    pub async fn store(
        &mut self,
        context: &SyncContext<'_>,
        (scope, resource): (&str, &str),
        rows: Rows,
        cursor: Cursor,
        requests: u64,
    ) -> Result<ResourceReport> {
        let summary = append_rows(context.lake, rows).await?;
        self.save(context.lake, scope, resource, cursor).await?;
        context.progress.event(ProgressEvent::Finished {
            scope,
            resource,
            stored: summary.rows_written,
            duplicates: summary.duplicates,
        });
        Ok(ResourceReport {
            scope: scope.to_string(),
            resource: resource.to_string(),
            stored: summary.rows_written,
            duplicates: summary.duplicates,
            requests,
        })
    }

    /// Stores a resource's cursor, durably; call it only after the rows it
    /// covers are appended.
    pub async fn save(
        &mut self,
        lake: &Lake,
        scope: &str,
        resource: &str,
        cursor: Cursor,
    ) -> Result<()> {
        self.cursors.insert(format!("{scope}:{resource}"), cursor);
        let bytes = serde_json::to_vec_pretty(&self.cursors)
            .map_err(|e| Error::Internal(format!("cursors do not serialise: {e}")))?;
        lake.write_state_file(&self.file, &bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_skips_what_it_saw_in_its_last_second_only() {
        let mut cursor = Cursor::default();
        cursor.observe(10, "a");
        cursor.observe(10, "b");
        assert!(!cursor.is_new(10, "a"));
        assert!(cursor.is_new(10, "c"));
        assert!(!cursor.is_new(9, "z"));
        cursor.observe(11, "c");
        assert_eq!(cursor.seen_at, vec!["c".to_string()]);
        assert!(cursor.is_new(11, "a"));
        // An older item does not move the cursor back.
        cursor.observe(5, "old");
        assert_eq!((cursor.at, cursor.seen_at.len()), (11, 1));
    }

    #[test]
    fn unknown_sources_and_sections_list_the_known_ones() {
        let registry = Registry::builtin();
        let err = registry
            .collector("nosuch", &BTreeMap::new())
            .err()
            .expect("no such source");
        assert!(err.to_string().contains("github"), "{err}");
        let sections = BTreeMap::from([
            ("nosuch".to_string(), serde_json::json!({"a": 1})),
            // Not a section: an environment variable such as DEVEX_LOG.
            ("log".to_string(), serde_json::json!("debug")),
        ]);
        let err = registry.check(&sections).unwrap_err().to_string();
        assert!(err.contains("[nosuch]") && err.contains("github"), "{err}");
        let sections = BTreeMap::from([(
            "github".to_string(),
            serde_json::json!({"incident_lable": "x"}),
        )]);
        let err = registry.check(&sections).unwrap_err().to_string();
        assert!(err.contains("incident_lable"), "{err}");
        assert!(registry.check(&BTreeMap::new()).is_ok());
    }

    #[tokio::test]
    async fn cursors_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let mut cursors = Cursors::load(&lake, "github").await.unwrap();
        assert!(cursors.get("a/b", "pulls").is_none());
        let cursor = Cursor {
            at: 42,
            seen_at: vec!["7".into()],
            pending: vec![],
        };
        cursors
            .save(&lake, "a/b", "pulls", cursor.clone())
            .await
            .unwrap();
        let again = Cursors::load(&lake, "github").await.unwrap();
        assert_eq!(again.get("a/b", "pulls"), Some(&cursor));
        std::fs::write(lake.root().join("_devex/sources/github/cursors.json"), b"{").unwrap();
        let err = Cursors::load(&lake, "github").await.err().unwrap();
        assert!(err.to_string().contains("delete it"), "{err}");
    }
}

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

pub mod github;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::error::{Error, Result};
use crate::identity::Pseudonymizer;
use crate::lake::{AppendSummary, Lake};
use crate::rows::{TableBuilder, Value};
use crate::schema::TableSpec;

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
    /// Repository (`owner/name`) -> service, from the catalog.
    pub services: &'a HashMap<String, String>,
    pub progress: &'a dyn Progress,
}

pub use crate::progress::{NoProgress, Progress, ProgressEvent};

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

/// A source's settings: its section of the configuration file, plus what the
/// environment gives (tokens), as JSON.
pub type SourceSettings = serde_json::Value;

/// One collector the CLI can run.
pub struct SourceEntry {
    pub name: &'static str,
    /// One line for `devex ingest --help`.
    pub about: &'static str,
    pub build: fn(&SourceSettings) -> Result<Box<dyn Source>>,
}

/// Every collector, by name.
pub static REGISTRY: &[SourceEntry] = &[github::ENTRY];

/// The collector called `name`, built from its settings.
pub fn build(name: &str, settings: &SourceSettings) -> Result<Box<dyn Source>> {
    match REGISTRY.iter().find(|entry| entry.name == name) {
        Some(entry) => (entry.build)(settings),
        None => Err(Error::UnknownSource {
            name: name.to_string(),
            known: REGISTRY
                .iter()
                .map(|e| e.name)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Canonical rows grouped into one batch per table.
pub fn batches(rows: Vec<(&'static TableSpec, Vec<Value>)>) -> Result<Vec<RecordBatchOf>> {
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
pub async fn append_rows(
    lake: &Lake,
    rows: Vec<(&'static TableSpec, Vec<Value>)>,
) -> Result<AppendSummary> {
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
    pub fn load(lake: &Lake, source: &str) -> Result<Cursors> {
        let file = format!("sources/{source}/cursors.json");
        let path = lake.state_path(&file);
        let cursors = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::InvalidFile {
                file: path.display().to_string(),
                message: format!(
                    "not a cursor file ({e}); delete it to sync again from --since (stored rows are kept, and repeated ones are skipped)"
                ),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(Error::Io { path, source }),
        };
        Ok(Cursors { file, cursors })
    }

    pub fn get(&self, scope: &str, resource: &str) -> Option<&Cursor> {
        self.cursors.get(&format!("{scope}:{resource}"))
    }

    /// Stores a resource's cursor, durably; call it only after the rows it
    /// covers are appended.
    pub fn save(&mut self, lake: &Lake, scope: &str, resource: &str, cursor: Cursor) -> Result<()> {
        self.cursors.insert(format!("{scope}:{resource}"), cursor);
        let bytes = serde_json::to_vec_pretty(&self.cursors)
            .map_err(|e| Error::Internal(format!("cursors do not serialise: {e}")))?;
        lake.write_state_file(&self.file, &bytes)
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
    fn unknown_sources_list_the_known_ones() {
        let err = build("gitlab", &serde_json::json!({}))
            .err()
            .expect("no such source");
        assert!(err.to_string().contains("github"), "{err}");
    }

    #[tokio::test]
    async fn cursors_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let mut cursors = Cursors::load(&lake, "github").unwrap();
        assert!(cursors.get("a/b", "pulls").is_none());
        let cursor = Cursor {
            at: 42,
            seen_at: vec!["7".into()],
            pending: vec![],
        };
        cursors.save(&lake, "a/b", "pulls", cursor.clone()).unwrap();
        let again = Cursors::load(&lake, "github").unwrap();
        assert_eq!(again.get("a/b", "pulls"), Some(&cursor));
        std::fs::write(lake.state_path("sources/github/cursors.json"), b"{").unwrap();
        let err = Cursors::load(&lake, "github").err().unwrap();
        assert!(err.to_string().contains("delete it"), "{err}");
    }
}

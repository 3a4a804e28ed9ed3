//! The commit-graph walk of the derive stage, done once per change of its inputs
//! instead of on every query (the reason DevLake's refdiff is slow and its
//! first-deployment numbers wrong).
//!
//! Rule (devex's DORA contract, lead time for changes): the changes of a
//! production deployment are the commits reachable from its sha through
//! `parents` that no earlier production deployment of the same service already
//! included. Where a commit's parents are unknown, the push before/after chains
//! give them. The service's first production deployment (the baseline) includes
//! its whole history but brings no changes: when those commits were first
//! deployed is unknown. A commit deployed once is never a change again, even
//! after a rollback and a redeploy. Commits known only from a push (no author
//! time) are walked through but are not changes.
//!
//! Services inside a monorepo: a service whose catalog entry owns paths
//! (`services.paths`, globs such as `services/payments/**`) takes only the
//! commits that touch one of them (`commits.files`); the others are walked
//! through. A commit whose files are unknown (an API pull's list) stays a
//! change of every service, as without paths. A service without paths takes
//! every commit, as before.
//!
//! Each service is walked over the history of its own repositories (the
//! catalog's `services.repos`), or of the whole lake when it has none; a
//! walk after new events visits only the services they can change
//! (`super::walk_scope`). The result, `deployment_changes` (service,
//! deployment_id, sha), is a generation under `_derived/deployment_changes/`
//! in parts by service (`super::walk_store`), named by the production
//! pattern and a fingerprint of the input files, so another process or a
//! restart reuses it and any new deployment, commit or push makes a new one.
//! Each walk visits every commit at most once per service. Reading the
//! walk's inputs, and what a server keeps of them between derives, is
//! `super::walk_inputs`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use sha2::{Digest, Sha256};

use super::walk_scope::{ServiceHistories, WalkFiles, WalkManifest};
use super::walk_store;
use crate::error::{Error, Result};
use crate::LakeQueries;

/// Bumped whenever the walk's rule changes, so stored results are redone.
const DERIVE_VERSION: &str = "deployment_changes/4";

/// Folder of the walk's results, relative to the lake's `_derived/`.
const DERIVED_FOLDER: &str = "deployment_changes";

/// Results kept registered per pattern in one process.
const KEPT_GENERATIONS: usize = 2;

/// One change of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeploymentChange {
    pub service: String,
    pub deployment_id: String,
    pub sha: String,
}

/// A successful production deployment, as the walk needs it.
#[derive(Debug, Clone)]
pub struct WalkDeployment {
    pub service: String,
    pub deployment_id: String,
    pub sha: String,
}

/// What the walk reads: deployments in order per service, and the graph.
/// Shas are interned: each is stored once and the graph holds their ids
/// (a lake's history is millions of commits; strings per edge made loading
/// it most of the walk's time).
#[derive(Debug, Default)]
pub struct CommitGraph {
    ids: rustc_hash::FxHashMap<Box<str>, u32>,
    /// Parents by id, from `commits.parents`, else from push chains;
    /// `None`: unknown.
    parents: Vec<Option<Vec<u32>>>,
    /// Whether the id is a commit of the commits table: only these can be
    /// changes.
    known: Vec<bool>,
    /// The files each commit touched, where known.
    files: HashMap<u32, Vec<String>>,
    /// The paths of path-scoped services.
    scopes: HashMap<String, globset::GlobSet>,
}

impl CommitGraph {
    /// The id of `sha`, given one if new.
    fn id(&mut self, sha: &str) -> u32 {
        if let Some(&id) = self.ids.get(sha) {
            return id;
        }
        let id = self.parents.len() as u32;
        self.ids.insert(sha.into(), id);
        self.parents.push(None);
        self.known.push(false);
        id
    }

    /// Adds a commit; parents `None` means unknown (a push chain may fill them).
    pub fn add_commit(&mut self, sha: String, parents: Option<Vec<String>>) {
        self.commit(&sha, parents.as_ref().map(|p| p.iter().map(String::as_str)));
    }

    /// As [`Self::add_commit`], from borrowed shas. Known parents replace
    /// what a push chain said.
    pub(crate) fn commit<'a>(&mut self, sha: &str, parents: Option<impl Iterator<Item = &'a str>>) {
        let id = self.id(sha);
        self.known[id as usize] = true;
        if let Some(parents) = parents {
            let parents: Vec<u32> = parents.map(|p| self.id(p)).collect();
            self.parents[id as usize] = Some(parents);
        }
    }

    /// Records the files a commit touched.
    pub fn add_files(&mut self, sha: String, files: Vec<String>) {
        let id = self.id(&sha);
        self.files.insert(id, files);
    }

    /// Scopes a service to the files matching `globs`; a bad glob is an
    /// error naming it.
    pub fn add_scope(&mut self, service: &str, globs: &[String]) -> Result<()> {
        let set = crate::paths::glob_set(service, globs)?;
        self.scopes.insert(service.to_string(), set);
        Ok(())
    }

    /// Whether a service it walks has paths (otherwise commits' files do
    /// not matter).
    pub(crate) fn has_scopes(&self) -> bool {
        !self.scopes.is_empty()
    }

    /// Whether a commit is a change of a service: always without paths or
    /// without known files, else when it touches one of its paths.
    fn touches(&self, service: &str, id: u32) -> bool {
        match (self.scopes.get(service), self.files.get(&id)) {
            (Some(scope), Some(files)) => files.iter().any(|f| scope.is_match(f)),
            _ => true,
        }
    }

    /// Adds a push, pushes oldest first: each pushed commit's parent is the
    /// one before it, the first one's is `before`. Never overrides parents
    /// that are known already.
    pub fn add_push(&mut self, before: Option<&str>, after: Option<&str>, shas: &[String]) {
        self.push(before, after, shas.iter().map(String::as_str));
    }

    pub(crate) fn push<'a>(
        &mut self,
        before: Option<&str>,
        after: Option<&str>,
        shas: impl ExactSizeIterator<Item = &'a str>,
    ) {
        let is_real = |sha: &&str| !sha.is_empty() && !sha.bytes().all(|b| b == b'0');
        let mut previous = before.filter(is_real).map(|sha| self.id(sha));
        if shas.len() == 0 {
            if let (Some(before), Some(after)) = (previous, after.filter(is_real)) {
                let after = self.id(after);
                self.parents[after as usize].get_or_insert_with(|| vec![before]);
            }
            return;
        }
        for sha in shas {
            let id = self.id(sha);
            if let Some(parent) = previous.take() {
                self.parents[id as usize].get_or_insert_with(|| vec![parent]);
            }
            previous = Some(id);
        }
    }
}

/// Walks the graph for deployments given in order (per service, by
/// `started_at`). Returns the changes, in walk order.
pub fn walk(deployments: &[WalkDeployment], graph: &CommitGraph) -> Vec<DeploymentChange> {
    let mut changes = Vec::new();
    let mut included: HashMap<&str, rustc_hash::FxHashSet<u32>> = HashMap::new();
    let mut shas: Vec<&str> = vec![""; graph.parents.len()];
    for (sha, &id) in &graph.ids {
        shas[id as usize] = sha;
    }
    let mut stack: Vec<u32> = Vec::new();
    for deployment in deployments {
        let baseline = !included.contains_key(deployment.service.as_str());
        let seen = included.entry(deployment.service.as_str()).or_default();
        // A sha the graph has never heard of has no changes.
        let Some(&start) = graph.ids.get(deployment.sha.as_str()) else {
            continue;
        };
        stack.clear();
        stack.push(start);
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if !baseline && graph.known[id as usize] && graph.touches(&deployment.service, id) {
                changes.push(DeploymentChange {
                    service: deployment.service.clone(),
                    deployment_id: deployment.deployment_id.clone(),
                    sha: shas[id as usize].to_string(),
                });
            }
            if let Some(parents) = &graph.parents[id as usize] {
                stack.extend(parents.iter().copied());
            }
        }
    }
    changes
}

pub(super) fn changes_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("service", DataType::Utf8, false),
        Field::new("deployment_id", DataType::Utf8, false),
        Field::new("sha", DataType::Utf8, false),
    ]))
}

pub(super) fn changes_batch<'a>(
    changes: impl Iterator<Item = &'a DeploymentChange>,
) -> Result<RecordBatch> {
    let mut service = StringBuilder::new();
    let mut deployment_id = StringBuilder::new();
    let mut sha = StringBuilder::new();
    for change in changes {
        service.append_value(&change.service);
        deployment_id.append_value(&change.deployment_id);
        sha.append_value(&change.sha);
    }
    RecordBatch::try_new(
        changes_schema(),
        vec![
            Arc::new(service.finish()),
            Arc::new(deployment_id.finish()),
            Arc::new(sha.finish()),
        ],
    )
    .map_err(|e| Error::Internal(format!("deployment_changes batch: {e}")))
}

/// Name of the derived result for a production pattern and the current
/// inputs: `<pattern hash>-<input hash>`.
pub(super) async fn fingerprint(
    queries: &LakeQueries,
    production_pattern: &str,
) -> Result<(String, String)> {
    let lake = queries.lake();
    let mut inputs = Sha256::new();
    inputs.update(DERIVE_VERSION.as_bytes());
    for table in [
        &ingest::schema::DEPLOYMENTS,
        &ingest::schema::COMMITS,
        &ingest::schema::PUSHES,
        &ingest::schema::SERVICES,
    ] {
        // The rows, not the files: a compaction keeps the fingerprint.
        let files = lake.data_files(table).await?;
        inputs.update(table.name.as_bytes());
        inputs.update(ingest::lake::content_fingerprint(&files).as_bytes());
    }
    let pattern = hex::encode(&Sha256::digest(production_pattern.as_bytes())[..6]);
    Ok((pattern, hex::encode(&inputs.finalize()[..12])))
}

/// Makes sure the changes for `production_pattern` and the lake's current
/// content are registered in the query context, deriving them when needed,
/// and returns the table name to query.
pub async fn deployment_changes_table(
    queries: &LakeQueries,
    production_pattern: &str,
    production_deployments_sql: &str,
) -> Result<String> {
    let (pattern_hash, input_hash) = fingerprint(queries, production_pattern).await?;
    let table_name = format!("deployment_changes_{pattern_hash}_{input_hash}");
    let mut registered = queries.derived_tables().lock().await;
    if registered
        .get(&pattern_hash)
        .and_then(|names| names.last())
        .map(|(name, _)| name)
        == Some(&table_name)
    {
        return Ok(table_name);
    }
    let unit = format!("{DERIVED_FOLDER}/{pattern_hash}-{input_hash}");
    // Held before looking for the generation, so it cannot go in between
    // (none on a lake that cannot be written: nothing is removed there).
    let lease = queries.lake().lease_derived(&unit).ok().map(Arc::new);
    // Read where it lies: a report decodes the few columns it needs.
    let parts = match walk_store::parts(queries, &unit) {
        Some(parts) => parts,
        None => {
            let walked =
                derive_changes(queries, production_deployments_sql, &pattern_hash, &unit).await?;
            tracing::debug!(
                services_visited = ?walked.visited.as_ref().map(|v| v.len()),
                "walk stored"
            );
            // Older generations for this pattern are outdated now.
            queries
                .lake()
                .remove_derived_files(DERIVED_FOLDER, |name| {
                    !name.starts_with(&format!("{pattern_hash}-"))
                        || name.starts_with(&unit[DERIVED_FOLDER.len() + 1..])
                })
                .await?;
            walk_store::parts(queries, &unit)
                .ok_or_else(|| Error::Internal(format!("{unit} was not written")))?
        }
    };
    let table = walk_store::table(&parts)?;
    let context = queries.context();
    // The previous result stays registered a while: a query planned just
    // before new data arrived may still name it.
    let names = registered.entry(pattern_hash).or_default();
    names.push((table_name.clone(), lease));
    if names.len() > KEPT_GENERATIONS {
        let (old, _lease) = names.remove(0);
        let _ = context.deregister_table(old.as_str());
    }
    context
        .register_table(table_name.as_str(), table)
        .map_err(Error::Engine)?;
    // The main context holds what it has registered; a query planned on a
    // generation it no longer registers keeps that one's lease until it ends.
    let held = registered
        .values()
        .flatten()
        .filter_map(|(_, lease)| lease.clone())
        .collect();
    crate::generations::hold(context, held);
    Ok(table_name)
}

/// What a walk did.
pub(super) struct Walked {
    /// The services it visited; `None`: every one.
    pub visited: Option<std::collections::BTreeSet<String>>,
}

/// Walks the lake's current content into generation `unit`: from the
/// previous generation for the pattern, visiting only the services new
/// events can change, or whole (see `super::walk_scope`).
pub(super) async fn derive_changes(
    queries: &LakeQueries,
    production_deployments_sql: &str,
    pattern_hash: &str,
    unit: &str,
) -> Result<Walked> {
    let started = std::time::Instant::now();
    // Listed first: rows added while the walk runs are the next walk's.
    let files = WalkFiles::list(queries.lake()).await?;
    let histories = ServiceHistories::read(queries).await?;
    let base = walk_store::previous(queries, DERIVED_FOLDER, &format!("{pattern_hash}-"))
        .await
        .filter(|(_, manifest, _)| manifest.version == DERIVE_VERSION);
    let added = base
        .as_ref()
        .and_then(|(_, manifest, _)| super::walk_scope::visit_after(&manifest.files, &files));
    let visited = match &added {
        None => None,
        Some(added) => {
            let (deployed, repos) = added.keys(queries).await?;
            let anywhere = if repos.is_empty() {
                Default::default()
            } else {
                super::walk_inputs::deployed_services(queries).await?
            };
            Some(histories.touched_by(deployed, &repos, &anywhere))
        }
    };
    let deployments = super::walk_inputs::production_deployments(
        queries,
        production_deployments_sql,
        visited.as_ref(),
    )
    .await?;
    let walked_deployments: usize = deployments.values().map(Vec::len).sum();
    let read = started.elapsed();
    let (mut changes, everywhere) = super::walk_scope::walk_each(
        queries,
        (&histories, &files),
        deployments,
        visited.is_none(),
    )
    .await?;
    if !everywhere.is_empty() {
        let mut kept = queries.kept_walk().lock().await;
        let graph = kept.graph(queries, &files).await?;
        changes.extend(walk(&everywhere, graph));
        if !queries.keeps_derive_state() {
            *kept = super::walk_inputs::KeptWalk::default();
        }
    }
    let walked = started.elapsed();
    let manifest = WalkManifest {
        version: DERIVE_VERSION.to_string(),
        files,
    };
    let from_base = match (&visited, &base) {
        (Some(visited), Some((base_unit, _, _))) => Some((visited, base_unit.as_str())),
        _ => None,
    };
    walk_store::write(queries, unit, &changes, from_base, &manifest)?;
    tracing::info!(
        services = visited.as_ref().map(|v| v.len()),
        deployments = walked_deployments,
        changes = changes.len(),
        inputs_ms = read.as_millis() as u64,
        walk_ms = (walked - read).as_millis() as u64,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "derived deployment_changes"
    );
    Ok(Walked { visited })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(service: &str, id: &str, sha: &str) -> WalkDeployment {
        WalkDeployment {
            service: service.into(),
            deployment_id: id.into(),
            sha: sha.into(),
        }
    }

    fn shas(changes: &[DeploymentChange], id: &str) -> Vec<String> {
        let mut out: Vec<String> = changes
            .iter()
            .filter(|c| c.deployment_id == id)
            .map(|c| c.sha.clone())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn baseline_brings_no_changes_and_later_ones_only_new_commits() {
        let mut graph = CommitGraph::default();
        graph.add_commit("a".into(), Some(vec![]));
        graph.add_commit("b".into(), Some(vec!["a".into()]));
        graph.add_commit("c".into(), Some(vec!["b".into()]));
        // A merge: d merges side branch x into c.
        graph.add_commit("x".into(), Some(vec!["a".into()]));
        graph.add_commit("d".into(), Some(vec!["c".into(), "x".into()]));
        let deployments = [
            deployment("s", "1", "b"),
            deployment("s", "2", "d"),
            deployment("s", "3", "b"), // rollback: nothing new
            deployment("s", "4", "d"), // and forward again: nothing new either
        ];
        let changes = walk(&deployments, &graph);
        assert!(shas(&changes, "1").is_empty());
        assert_eq!(shas(&changes, "2"), ["c", "d", "x"]);
        assert!(shas(&changes, "3").is_empty());
        assert!(shas(&changes, "4").is_empty());
    }

    #[test]
    fn services_are_walked_apart() {
        let mut graph = CommitGraph::default();
        graph.add_commit("a".into(), Some(vec![]));
        graph.add_commit("b".into(), Some(vec!["a".into()]));
        let changes = walk(
            &[
                deployment("one", "1", "a"),
                deployment("two", "2", "a"),
                deployment("one", "3", "b"),
                deployment("two", "4", "b"),
            ],
            &graph,
        );
        assert_eq!(shas(&changes, "3"), ["b"]);
        assert_eq!(shas(&changes, "4"), ["b"]);
    }

    #[test]
    fn push_chains_fill_unknown_parents_and_unknown_shas_are_not_changes() {
        let mut graph = CommitGraph::default();
        graph.add_commit("a".into(), None);
        graph.add_commit("b".into(), None);
        graph.add_commit("c".into(), None);
        graph.add_push(Some("0000000"), Some("a"), &["a".into()]);
        // "p" is known only from the push: walked through, never a change.
        graph.add_push(Some("a"), Some("c"), &["p".into(), "b".into(), "c".into()]);
        let changes = walk(
            &[deployment("s", "1", "a"), deployment("s", "2", "c")],
            &graph,
        );
        assert_eq!(shas(&changes, "2"), ["b", "c"]);
        // A deployment of a sha nobody knows has no changes and breaks nothing.
        let changes = walk(
            &[deployment("s", "1", "a"), deployment("s", "2", "zzz")],
            &graph,
        );
        assert!(changes.is_empty());
    }
}

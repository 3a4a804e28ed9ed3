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
//! The result, `deployment_changes` (service, deployment_id, sha), is kept in
//! the lake under `_derived/deployment_changes/`, named by the production
//! pattern and a fingerprint of the input files (which are named by content),
//! so another process or a restart reuses it and any new deployment, commit or
//! push makes a new one. Each walk visits every commit at most once per service.
//!
//! Loading the graph is most of a walk's time (millions of commits decoded
//! from Parquet); the walk itself is a fraction of it. A server therefore
//! keeps the graph between derives ([`KeptGraph`]) and reads only the
//! commits and pushes files added since; it loads the whole graph again
//! when a file it read is gone (a compaction, the quarantine), the catalog
//! changed (path scopes), or a new push is not newer than every push it
//! holds (push chains fill unknown parents in push order).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::parquet::arrow::ArrowWriter;
use sha2::{Digest, Sha256};

use crate::columns::Columns;
use crate::error::{Error, Result};
use crate::LakeQueries;

/// Bumped whenever the walk's rule changes, so stored results are redone.
const DERIVE_VERSION: &str = "deployment_changes/2";

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
    fn commit<'a>(&mut self, sha: &str, parents: Option<impl Iterator<Item = &'a str>>) {
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

    fn push<'a>(
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

fn changes_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("service", DataType::Utf8, false),
        Field::new("deployment_id", DataType::Utf8, false),
        Field::new("sha", DataType::Utf8, false),
    ]))
}

fn changes_batch(changes: &[DeploymentChange]) -> Result<RecordBatch> {
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
async fn fingerprint(queries: &LakeQueries, production_pattern: &str) -> Result<(String, String)> {
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
    let file_name = format!("{pattern_hash}-{input_hash}.parquet");
    // Held before looking for the file, so it cannot go in between (none
    // on a lake that cannot be written: nothing is removed there).
    let lease = queries
        .lake()
        .lease_derived(&format!("{DERIVED_FOLDER}/{file_name}"))
        .ok()
        .map(Arc::new);
    let path = queries
        .lake()
        .derived_path(&format!("{DERIVED_FOLDER}/{file_name}"));
    // Read where it lies: a report decodes the few columns it needs.
    let table: Arc<dyn TableProvider> = match crate::parquet_file_table(&path) {
        Some(table) => table,
        None => {
            let started = std::time::Instant::now();
            let mut kept = queries.kept_walk().lock().await;
            let deployments =
                current_deployments(queries, production_deployments_sql, &mut kept.deployments)
                    .await?;
            let loaded_deployments = started.elapsed();
            let graph = current_graph(queries, &mut kept.graph).await?;
            let loaded_graph = started.elapsed();
            let changes = walk(&deployments, graph);
            if !queries.keeps_derive_state() {
                *kept = KeptWalk::default();
            }
            drop(kept);
            tracing::debug!(
                deployments_ms = loaded_deployments.as_millis() as u64,
                graph_ms = (loaded_graph - loaded_deployments).as_millis() as u64,
                walk_ms = (started.elapsed() - loaded_graph).as_millis() as u64,
                "walked the commit graph"
            );
            let batch = changes_batch(&changes)?;
            store_result(queries.lake(), &file_name, &batch, &pattern_hash).await?;
            tracing::info!(
                deployments = deployments.len(),
                changes = changes.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "derived deployment_changes"
            );
            match crate::parquet_file_table(&path) {
                Some(table) => table,
                None => Arc::new(
                    MemTable::try_new(changes_schema(), vec![vec![batch]])
                        .map_err(Error::Engine)?,
                ),
            }
        }
    };
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

async fn store_result(
    lake: &ingest::lake::Lake,
    file_name: &str,
    batch: &RecordBatch,
    pattern_hash: &str,
) -> Result<()> {
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, changes_schema(), None)
        .map_err(|e| Error::Internal(format!("writing deployment_changes: {e}")))?;
    writer
        .write(batch)
        .and_then(|_| writer.close().map(|_| ()))
        .map_err(|e| Error::Internal(format!("writing deployment_changes: {e}")))?;
    lake.write_derived_file(&format!("{DERIVED_FOLDER}/{file_name}"), &buffer)?;
    // Older results for this pattern are outdated now.
    lake.remove_derived_files(DERIVED_FOLDER, |name| {
        !name.starts_with(&format!("{pattern_hash}-")) || name == file_name
    })
    .await?;
    Ok(())
}

/// What a server keeps between walks.
#[derive(Default)]
pub(crate) struct KeptWalk {
    graph: Option<KeptGraph>,
    deployments: Option<KeptDeployments>,
}

/// The production deployments the walk read, per service in order, with
/// the SQL and the deployments files they came from. A service's list
/// depends on its own deployments only, so new files make only the services
/// they name read again.
struct KeptDeployments {
    sql: String,
    files: Vec<String>,
    by_service: std::collections::BTreeMap<String, Vec<WalkDeployment>>,
}

/// The production deployments in walk order (by service, then `seq`).
async fn current_deployments(
    queries: &LakeQueries,
    production_deployments_sql: &str,
    kept: &mut Option<KeptDeployments>,
) -> Result<Vec<WalkDeployment>> {
    let files: Vec<String> = queries
        .lake()
        .data_files(&ingest::schema::DEPLOYMENTS)
        .await?
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    let reusable = kept.take().filter(|k| {
        k.sql == production_deployments_sql
            && k.files.iter().all(|f| files.binary_search(f).is_ok())
    });
    let mut current = match reusable {
        Some(mut known) => {
            let added: Vec<&String> = files
                .iter()
                .filter(|f| known.files.binary_search(f).is_err())
                .collect();
            if !added.is_empty() {
                let work = queries.scratch_context().await?;
                let delta =
                    super::incremental::files_table(queries, &ingest::schema::DEPLOYMENTS, &added)?;
                register(&work, "new_deployments", delta)?;
                let touched = queries
                    .read_only_sql_on(&work, "SELECT DISTINCT service FROM new_deployments")
                    .await?;
                let touched: Vec<String> = Columns::new(&touched.batches)
                    .text("service")?
                    .into_iter()
                    .flatten()
                    .collect();
                // Only the touched services' deployments, by a literal list
                // (row groups are pruned by their statistics).
                let list: Vec<datafusion::prelude::Expr> = touched
                    .iter()
                    .map(|s| datafusion::prelude::lit(s.as_str()))
                    .collect();
                let only = work
                    .table("deployments")
                    .await
                    .map_err(Error::Engine)?
                    .filter(datafusion::prelude::col("service").in_list(list, false))
                    .map_err(Error::Engine)?
                    .into_view();
                work.deregister_table("deployments")
                    .map_err(Error::Engine)?;
                register(&work, "deployments", only)?;
                let fresh = load_deployments(queries, &work, production_deployments_sql).await?;
                for service in &touched {
                    known.by_service.remove(service);
                }
                for (service, list) in fresh {
                    known.by_service.insert(service, list);
                }
                tracing::debug!(
                    services = touched.len(),
                    "production deployments read again for the services new files name"
                );
            }
            known.files = files;
            known
        }
        None => KeptDeployments {
            sql: production_deployments_sql.to_string(),
            by_service: load_deployments(queries, queries.context(), production_deployments_sql)
                .await?,
            files,
        },
    };
    let ordered = current.by_service.values().flatten().cloned().collect();
    if queries.keeps_derive_state() {
        *kept = Some(current);
    } else {
        current.by_service.clear();
    }
    Ok(ordered)
}

async fn load_deployments(
    queries: &LakeQueries,
    context: &datafusion::prelude::SessionContext,
    production_deployments_sql: &str,
) -> Result<std::collections::BTreeMap<String, Vec<WalkDeployment>>> {
    let sql = format!(
        "WITH production_deployments AS ({production_deployments_sql}) \
         SELECT service, deployment_id, sha FROM production_deployments ORDER BY service, seq"
    );
    let result = queries.read_only_sql_on(context, &sql).await?;
    let columns = Columns::new(&result.batches);
    let services = columns.text("service")?;
    let ids = columns.text("deployment_id")?;
    let shas = columns.text("sha")?;
    let mut by_service: std::collections::BTreeMap<String, Vec<WalkDeployment>> =
        Default::default();
    for ((service, id), sha) in services.into_iter().zip(ids).zip(shas) {
        if let (Some(service), Some(deployment_id), Some(sha)) = (service, id, sha) {
            by_service
                .entry(service.clone())
                .or_default()
                .push(WalkDeployment {
                    service,
                    deployment_id,
                    sha,
                });
        }
    }
    Ok(by_service)
}

/// The files the graph is read from: commits, pushes, and the catalog
/// (path scopes).
#[derive(Debug, Clone, PartialEq, Eq)]
struct GraphFiles {
    commits: Vec<String>,
    pushes: Vec<String>,
    services: Vec<(String, u64)>,
}

impl GraphFiles {
    async fn list(lake: &ingest::lake::Lake) -> Result<GraphFiles> {
        let names = |files: Vec<(String, u64)>| files.into_iter().map(|(path, _)| path).collect();
        Ok(GraphFiles {
            commits: names(lake.data_files(&ingest::schema::COMMITS).await?),
            pushes: names(lake.data_files(&ingest::schema::PUSHES).await?),
            services: lake.data_files(&ingest::schema::SERVICES).await?,
        })
    }

    /// Files of `now` that `self` (an earlier listing) did not have, when
    /// `now` only added files to `self` and left the catalog as it was.
    fn added_in(&self, now: &GraphFiles) -> Option<(Vec<String>, Vec<String>)> {
        let added = |before: &[String], after: &[String]| {
            let kept = before.iter().all(|f| after.binary_search(f).is_ok());
            kept.then(|| {
                after
                    .iter()
                    .filter(|f| before.binary_search(f).is_err())
                    .cloned()
                    .collect::<Vec<_>>()
            })
        };
        if self.services != now.services {
            return None;
        }
        Some((
            added(&self.commits, &now.commits)?,
            added(&self.pushes, &now.pushes)?,
        ))
    }
}

/// The commit graph a server keeps between derives, with the files it was
/// read from and the newest push it applied.
pub(crate) struct KeptGraph {
    graph: CommitGraph,
    files: GraphFiles,
    newest_push: Option<PushOrder>,
}

/// Where a push falls in the order push chains are applied.
type PushOrder = (i64, String);

/// The graph of the lake's current content: `kept` brought up to date with
/// the files added since it was read, or read whole.
async fn current_graph<'a>(
    queries: &LakeQueries,
    kept: &'a mut Option<KeptGraph>,
) -> Result<&'a CommitGraph> {
    let files = GraphFiles::list(queries.lake()).await?;
    let added = kept.as_ref().and_then(|k| k.files.added_in(&files));
    let updated = match (kept.take(), added) {
        (Some(mut graph), Some((commits, pushes))) => {
            let work = queries.scratch_context().await?;
            let table = |spec: &'static ingest::schema::TableSpec, new: &[String]| {
                let new: Vec<&String> = new.iter().collect();
                super::incremental::files_table(queries, spec, &new)
            };
            register(
                &work,
                "new_commits",
                table(&ingest::schema::COMMITS, &commits)?,
            )?;
            register(
                &work,
                "new_pushes",
                table(&ingest::schema::PUSHES, &pushes)?,
            )?;
            let pushes = read_pushes(queries, &work, "new_pushes").await?;
            // A push older than one applied would have filled parents first.
            let in_order = match (&graph.newest_push, pushes.first_order()) {
                (Some(newest), Some(first)) => first.as_ref().is_some_and(|f| f > newest),
                _ => true,
            };
            if in_order {
                add_commits(&mut graph.graph, queries, &work, "new_commits").await?;
                if let Some(newest) = pushes.apply(&mut graph.graph)? {
                    graph.newest_push = Some(newest);
                }
                graph.files = files.clone();
                tracing::debug!(
                    commit_files = commits.len(),
                    push_files = pushes.rows(),
                    "kept commit graph brought up to date"
                );
                Some(graph)
            } else {
                None
            }
        }
        _ => None,
    };
    let graph = match updated {
        Some(graph) => graph,
        None => load_graph(queries, files).await?,
    };
    Ok(&kept.insert(graph).graph)
}

fn register(
    context: &datafusion::prelude::SessionContext,
    name: &str,
    table: Arc<dyn TableProvider>,
) -> Result<()> {
    context.register_table(name, table).map_err(Error::Engine)?;
    Ok(())
}

async fn load_graph(queries: &LakeQueries, files: GraphFiles) -> Result<KeptGraph> {
    let mut graph = CommitGraph::default();
    let context = queries.context();
    add_commits(&mut graph, queries, context, "commits").await?;
    let newest_push = read_pushes(queries, context, "pushes")
        .await?
        .apply(&mut graph)?;
    // Path-scoped services, as the catalog says today.
    let scopes = queries
        .read_only_sql(&format!(
            "SELECT service, paths FROM {} WHERE cardinality(paths) > 0",
            crate::catalog::CURRENT_SERVICES
        ))
        .await?;
    let columns = Columns::new(&scopes.batches);
    let mut paths_by_service: HashMap<String, Vec<String>> = HashMap::new();
    for (service, paths) in columns
        .text("service")?
        .into_iter()
        .zip(columns.text_lists("paths")?)
    {
        if let (Some(service), Some(paths)) = (service, paths) {
            paths_by_service.entry(service).or_default().extend(paths);
        }
    }
    for (service, paths) in paths_by_service {
        graph.add_scope(&service, &paths)?;
    }
    Ok(KeptGraph {
        graph,
        files,
        newest_push,
    })
}

/// Adds the commits of `table` (in `context`) to the graph.
async fn add_commits(
    graph: &mut CommitGraph,
    queries: &LakeQueries,
    context: &datafusion::prelude::SessionContext,
    table: &str,
) -> Result<()> {
    use arrow::array::{Array, AsArray};
    let text = DataType::Utf8;
    let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    let commits = queries
        .read_only_sql_on(context, &format!("SELECT sha, parents, files FROM {table}"))
        .await?;
    let columns = Columns::new(&commits.batches);
    for ((shas, parents), files) in columns
        .cast_column("sha", &text)?
        .iter()
        .zip(columns.cast_column("parents", &list)?)
        .zip(columns.cast_column("files", &list)?)
    {
        let (shas, parents, files) = (
            shas.as_string::<i32>(),
            parents.as_list::<i32>(),
            files.as_list::<i32>(),
        );
        for row in 0..shas.len() {
            if shas.is_null(row) {
                continue;
            }
            let sha = shas.value(row);
            if files.is_valid(row) {
                let touched = files.value(row);
                let touched = touched.as_string::<i32>();
                graph.add_files(
                    sha.to_string(),
                    touched.iter().flatten().map(str::to_string).collect(),
                );
            }
            // The same commit may arrive twice (a push and an API pull): a
            // known parent list wins over an unknown one.
            if parents.is_valid(row) {
                let listed = parents.value(row);
                let listed = listed.as_string::<i32>();
                graph.commit(sha, Some(listed.iter().flatten()));
            } else {
                graph.commit(sha, None::<std::iter::Empty<&str>>);
            }
        }
    }
    Ok(())
}

/// Pushes in the order their chains are applied.
struct Pushes(crate::QueryResult);

async fn read_pushes(
    queries: &LakeQueries,
    context: &datafusion::prelude::SessionContext,
    table: &str,
) -> Result<Pushes> {
    let sql = format!(
        "SELECT before_sha, after_sha, commit_shas, CAST(pushed_at AS BIGINT) AS pushed_at, \
         event_id FROM {table} ORDER BY pushed_at, event_id"
    );
    Ok(Pushes(queries.read_only_sql_on(context, &sql).await?))
}

impl Pushes {
    fn rows(&self) -> usize {
        self.0.num_rows()
    }

    /// The first push's place in the order (`Some(None)`: it has none, so
    /// it cannot be placed after others).
    fn first_order(&self) -> Option<Option<PushOrder>> {
        let columns = Columns::new(&self.0.batches);
        if columns.is_empty() {
            return None;
        }
        let at = columns.int("pushed_at").ok()?;
        let id = columns.text("event_id").ok()?;
        Some(at[0].zip(id[0].clone()))
    }

    /// Applies the push chains to the graph; returns the newest push's place.
    fn apply(&self, graph: &mut CommitGraph) -> Result<Option<PushOrder>> {
        use arrow::array::{Array, AsArray};
        let text = DataType::Utf8;
        let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        let columns = Columns::new(&self.0.batches);
        for ((before, after), shas) in columns
            .cast_column("before_sha", &text)?
            .iter()
            .zip(columns.cast_column("after_sha", &text)?)
            .zip(columns.cast_column("commit_shas", &list)?)
        {
            let (before, after, shas) = (
                before.as_string::<i32>(),
                after.as_string::<i32>(),
                shas.as_list::<i32>(),
            );
            for row in 0..before.len() {
                let pushed = shas.is_valid(row).then(|| shas.value(row));
                let pushed = pushed.as_ref().map(|p| p.as_string::<i32>());
                let pushed: Vec<&str> = pushed
                    .map(|p| p.iter().flatten().collect())
                    .unwrap_or_default();
                graph.push(
                    before.is_valid(row).then(|| before.value(row)),
                    after.is_valid(row).then(|| after.value(row)),
                    pushed.into_iter(),
                );
            }
        }
        let n = columns.len();
        if n == 0 {
            return Ok(None);
        }
        let at = columns.int("pushed_at")?;
        let id = columns.text("event_id")?;
        // Nulls sort last: a push without a time makes every later one
        // "not newer", so the graph is read whole next time.
        Ok(at[n - 1].zip(id[n - 1].clone()))
    }
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

    /// The changes as `deployment:sha` rows, sorted.
    async fn changes_of(queries: &LakeQueries) -> Vec<String> {
        let settings = crate::dora::DoraSettings::default();
        let sql = crate::dora::walk_order_sql(&settings).unwrap();
        let table = deployment_changes_table(queries, &settings.production_pattern, &sql)
            .await
            .unwrap();
        let rows = queries
            .read_only_sql(&format!(
                "SELECT deployment_id || ':' || sha AS row FROM {table} ORDER BY row"
            ))
            .await
            .unwrap();
        Columns::new(&rows.batches)
            .text("row")
            .unwrap()
            .into_iter()
            .flatten()
            .collect()
    }

    /// A server's kept graph, brought up to date with new commits and
    /// pushes (a parent learnt late, a push after the others, then a push
    /// older than one applied), walks as a graph read whole does.
    #[tokio::test]
    async fn a_kept_graph_brought_up_to_date_walks_as_one_read_whole() {
        use crate::test_rows::{append_commit, append_deployment, append_push};
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(ingest::lake::Lake::create_or_open(dir.path()).unwrap());
        let server = LakeQueries::open(lake.clone()).await.unwrap();
        server.answer_while_deriving();
        append_commit(&lake, "a", Some(&[]), "2026-03-01T09:00:00Z").await;
        // b's parents are unknown yet.
        append_commit(&lake, "b", None, "2026-03-02T09:00:00Z").await;
        append_deployment(&lake, "1", "a", "2026-03-01T10:00:00Z").await;
        append_deployment(&lake, "2", "b", "2026-03-02T10:00:00Z").await;
        assert_eq!(changes_of(&server).await, ["2:b"]);
        assert!(server.kept_walk().lock().await.graph.is_some(), "kept");

        // b's parent is x, whose parent is a; c follows b and e follows c
        // through pushes.
        append_commit(&lake, "b", Some(&["x"]), "2026-03-02T09:00:00Z").await;
        append_commit(&lake, "x", Some(&["a"]), "2026-03-01T12:00:00Z").await;
        append_commit(&lake, "c", None, "2026-03-03T09:00:00Z").await;
        append_commit(&lake, "e", None, "2026-03-04T09:00:00Z").await;
        append_push(&lake, "1", "b", &["c"], "2026-03-03T09:05:00Z").await;
        append_push(&lake, "2", "c", &["e"], "2026-03-04T09:05:00Z").await;
        append_deployment(&lake, "3", "c", "2026-03-03T10:00:00Z").await;
        assert_eq!(changes_of(&server).await, ["2:b", "2:x", "3:c"]);
        let newest = server
            .kept_walk()
            .lock()
            .await
            .graph
            .as_ref()
            .unwrap()
            .newest_push
            .clone();
        assert_eq!(newest.map(|(_, id)| id).as_deref(), Some("p-2"));

        // A push older than p-2 says e came after d: read in push order, it
        // fills e's parent first, so the graph is read whole.
        append_commit(&lake, "d", None, "2026-03-01T09:30:00Z").await;
        append_push(&lake, "0", "a", &["d", "e"], "2026-03-01T09:35:00Z").await;
        append_deployment(&lake, "4", "e", "2026-03-04T10:00:00Z").await;
        let expected = ["2:b", "2:x", "3:c", "4:d", "4:e"];
        assert_eq!(changes_of(&server).await, expected);
        let fresh = LakeQueries::open(lake.clone()).await.unwrap();
        assert_eq!(changes_of(&fresh).await, expected);
        assert!(
            fresh.kept_walk().lock().await.graph.is_none(),
            "a command keeps nothing"
        );
    }
}

//! The walk's inputs, read from the lake: the production deployments in walk
//! order and the commit graphs, of a few repositories at a time (see
//! `super::walk_scope`) or of the whole lake. A server keeps its graphs
//! between derives ([`KeptWalk`]): every repository group's, and the whole
//! lake's for the services the catalog gives no repository. It adds only the
//! commits and pushes files added since, and reads them whole again when a
//! file it read is gone (a compaction, the quarantine), the catalog changed
//! (repositories, path scopes), or a new push is not newer than every push
//! applied (push chains fill unknown parents in push order).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field};
use datafusion::catalog::TableProvider;

use super::commit_graph::{CommitGraph, WalkDeployment};
use super::walk_scope::{added_files, WalkFiles};
use crate::columns::Columns;
use crate::error::{Error, Result};
use crate::LakeQueries;

/// What a server keeps between walks.
#[derive(Default)]
pub(crate) struct KeptWalk {
    graph: Option<KeptGraph>,
    histories: Option<KeptHistories>,
}

impl KeptWalk {
    /// The commit graph of the whole lake's current content (`files`, as the
    /// walk listed them).
    pub(crate) async fn graph(
        &mut self,
        queries: &LakeQueries,
        files: &WalkFiles,
    ) -> Result<&CommitGraph> {
        let files = GraphFiles::of(files);
        let added = self.graph.as_ref().and_then(|k| k.files.added_in(&files));
        if let (Some(mut kept), Some(added)) = (self.graph.take(), added) {
            let all = [0];
            let route = |_: Option<&str>| &all[..];
            let graphs = std::slice::from_mut(&mut kept.graph);
            if add_new_files(queries, graphs, &route, &mut kept.newest_push, added).await? {
                kept.files = files;
                return Ok(&self.graph.insert(kept).graph);
            }
        }
        let graph = load_graph(queries, files).await?;
        Ok(&self.graph.insert(graph).graph)
    }

    /// The graph of every repository group of the catalog, brought up to
    /// date with the commits and pushes files added since they were read,
    /// or read whole.
    pub(crate) async fn histories(
        &mut self,
        queries: &LakeQueries,
        catalog: &super::walk_scope::ServiceHistories,
        files: &WalkFiles,
    ) -> Result<&KeptHistories> {
        let files = GraphFiles::of(files);
        let added = self
            .histories
            .as_ref()
            .and_then(|k| k.files.added_in(&files));
        if let (Some(mut kept), Some(added)) = (self.histories.take(), added) {
            let routes = routes_of(&kept.groups);
            let route = |repo: Option<&str>| -> &[usize] {
                repo.and_then(|r| routes.get(r))
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
            };
            let up_to_date = add_new_files(
                queries,
                &mut kept.graphs,
                &route,
                &mut kept.newest_push,
                added,
            )
            .await?;
            drop(routes);
            if up_to_date {
                kept.files = files;
                return Ok(self.histories.insert(kept));
            }
        }
        let groups: Vec<Vec<String>> = catalog
            .groups()
            .into_iter()
            .map(|(repos, _)| repos)
            .collect();
        let mut graphs = Vec::with_capacity(groups.len());
        for (_, services) in catalog.groups() {
            let mut graph = CommitGraph::default();
            catalog.scope(&mut graph, &services)?;
            graphs.push(graph);
        }
        let routes = routes_of(&groups);
        let newest_push = read_histories(queries, None, &routes, &mut graphs).await?;
        drop(routes);
        Ok(self.histories.insert(KeptHistories {
            index: groups
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, g)| (g, i))
                .collect(),
            groups,
            graphs,
            files,
            newest_push,
        }))
    }
}

/// Adds the commits and pushes files `added` (commits, pushes) to kept
/// `graphs`, each row to those `route` names for its repository. Returns
/// false, adding nothing, when a new push is not newer than `newest_push`:
/// read in push order it would have filled parents first, so the graphs
/// are read whole again.
async fn add_new_files<'r>(
    queries: &LakeQueries,
    graphs: &mut [CommitGraph],
    route: &(dyn Fn(Option<&str>) -> &'r [usize] + Sync),
    newest_push: &mut Option<PushOrder>,
    (commits, pushes): (Vec<String>, Vec<String>),
) -> Result<bool> {
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
    let new_pushes = read_pushes(queries, &work, "new_pushes").await?;
    let in_order = match (&*newest_push, new_pushes.first_order()) {
        (Some(newest), Some(first)) => first.as_ref().is_some_and(|f| f > newest),
        _ => true,
    };
    if !in_order {
        return Ok(false);
    }
    add_commit_rows(graphs, queries, &work, "new_commits", route).await?;
    if let Some(newest) = new_pushes.apply_routed(graphs, route)? {
        *newest_push = Some(newest);
    }
    tracing::debug!(
        commit_files = commits.len(),
        push_files = new_pushes.rows(),
        "kept commit graphs brought up to date"
    );
    Ok(true)
}

/// The graphs of every repository group a server keeps.
pub(crate) struct KeptHistories {
    /// Each graph's repositories (sorted).
    groups: Vec<Vec<String>>,
    index: HashMap<Vec<String>, usize>,
    graphs: Vec<CommitGraph>,
    files: GraphFiles,
    newest_push: Option<PushOrder>,
}

impl KeptHistories {
    /// The graph of the services deployed from `repos`.
    pub(crate) fn graph_of(&self, repos: &[String]) -> Option<&CommitGraph> {
        self.index.get(repos).map(|&i| &self.graphs[i])
    }
}

/// Which graphs each repository's rows go to.
fn routes_of(groups: &[Vec<String>]) -> HashMap<&str, Vec<usize>> {
    let mut routes: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, repos) in groups.iter().enumerate() {
        for repo in repos {
            routes.entry(repo.as_str()).or_default().push(i);
        }
    }
    routes
}

/// The production deployments per service, in walk order (`seq`): of every
/// service, or of `only` (read by a literal list, so that row groups of
/// other services are skipped by their statistics).
pub(crate) async fn production_deployments(
    queries: &LakeQueries,
    production_deployments_sql: &str,
    only: Option<&BTreeSet<String>>,
) -> Result<BTreeMap<String, Vec<WalkDeployment>>> {
    let Some(only) = only else {
        return load_deployments(queries, queries.context(), production_deployments_sql).await;
    };
    if only.is_empty() {
        return Ok(BTreeMap::new());
    }
    let work = queries.scratch_context().await?;
    let list: Vec<datafusion::prelude::Expr> = only
        .iter()
        .map(|s| datafusion::prelude::lit(s.as_str()))
        .collect();
    let restricted = work
        .table("deployments")
        .await
        .map_err(Error::Engine)?
        .filter(datafusion::prelude::col("service").in_list(list, false))
        .map_err(Error::Engine)?
        .into_view();
    work.deregister_table("deployments")
        .map_err(Error::Engine)?;
    register(&work, "deployments", restricted)?;
    load_deployments(queries, &work, production_deployments_sql).await
}

/// The services with any deployment.
pub(crate) async fn deployed_services(queries: &LakeQueries) -> Result<BTreeSet<String>> {
    let result = queries
        .read_only_sql("SELECT DISTINCT service FROM deployments")
        .await?;
    Ok(Columns::new(&result.batches)
        .text("service")?
        .into_iter()
        .flatten()
        .collect())
}

/// Reads the commits and pushes of `repos` (`None`: of every repository)
/// into `graphs`: each row into the graphs `routes` names for its
/// repository, pushes in push order. Every repository's are read a month
/// at a time, so only the graphs are held whole, never the rows read.
pub(crate) async fn read_histories(
    queries: &LakeQueries,
    repos: Option<&[&str]>,
    routes: &HashMap<&str, Vec<usize>>,
    graphs: &mut [CommitGraph],
) -> Result<Option<PushOrder>> {
    use ingest::schema::{COMMITS, PARTITION_COLUMN, PUSHES};
    let route = |repo: Option<&str>| -> &[usize] {
        repo.and_then(|r| routes.get(r))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    };
    let slices = |table: &str, months: Vec<String>| -> Vec<String> {
        match repos {
            Some(repos) => {
                let list = repos
                    .iter()
                    .map(|r| crate::template::sql_text(r))
                    .collect::<Vec<_>>()
                    .join(", ");
                vec![format!("(SELECT * FROM {table} WHERE repo IN ({list}))")]
            }
            None => months
                .iter()
                .map(|m| {
                    format!(
                        "(SELECT * FROM {table} WHERE {PARTITION_COLUMN} = {})",
                        crate::template::sql_text(m)
                    )
                })
                .collect(),
        }
    };
    for slice in slices("commits", months(queries, &COMMITS).await?) {
        add_commit_rows(graphs, queries, queries.context(), &slice, &route).await?;
    }
    // Pushes are partitioned by their time: month by month, each in time
    // order, is push order.
    let mut newest = None;
    for slice in slices("pushes", months(queries, &PUSHES).await?) {
        let applied = read_pushes(queries, queries.context(), &slice)
            .await?
            .apply_routed(graphs, &route)?;
        newest = applied.or(newest);
    }
    Ok(newest)
}

/// The month partitions of a table, in order.
async fn months(queries: &LakeQueries, table: &ingest::schema::TableSpec) -> Result<Vec<String>> {
    let prefix = format!("{}=", ingest::schema::PARTITION_COLUMN);
    let months: BTreeSet<String> = queries
        .lake()
        .data_files(table)
        .await?
        .into_iter()
        .filter_map(|(path, _)| {
            path.split('/')
                .find_map(|part| part.strip_prefix(&prefix).map(str::to_string))
        })
        .collect();
    Ok(months.into_iter().collect())
}

async fn load_deployments(
    queries: &LakeQueries,
    context: &datafusion::prelude::SessionContext,
    production_deployments_sql: &str,
) -> Result<BTreeMap<String, Vec<WalkDeployment>>> {
    let sql = format!(
        "WITH production_deployments AS ({production_deployments_sql}) \
         SELECT service, deployment_id, sha FROM production_deployments ORDER BY service, seq"
    );
    let result = queries.read_only_sql_on(context, &sql).await?;
    let columns = Columns::new(&result.batches);
    let services = columns.text("service")?;
    let ids = columns.text("deployment_id")?;
    let shas = columns.text("sha")?;
    let mut by_service: BTreeMap<String, Vec<WalkDeployment>> = BTreeMap::new();
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
    fn of(files: &WalkFiles) -> GraphFiles {
        GraphFiles {
            commits: files.commits.clone(),
            pushes: files.pushes.clone(),
            services: files.services.clone(),
        }
    }

    /// Files of `now` that `self` (an earlier listing) did not have, when
    /// `now` only added files to `self` and left the catalog as it was.
    fn added_in(&self, now: &GraphFiles) -> Option<(Vec<String>, Vec<String>)> {
        if self.services != now.services {
            return None;
        }
        Some((
            added_files(&self.commits, &now.commits)?,
            added_files(&self.pushes, &now.pushes)?,
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
    // Path-scoped services, as the catalog says today (first: a graph
    // keeps commits' files only when a service it walks has paths).
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
    let context = queries.context();
    add_commits(&mut graph, queries, context, "commits").await?;
    let newest_push = read_pushes(queries, context, "pushes")
        .await?
        .apply(&mut graph)?;
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
    let all = [0];
    add_commit_rows(
        std::slice::from_mut(graph),
        queries,
        context,
        table,
        &|_| &all[..],
    )
    .await
}

/// Adds the commits of `table` (in `context`) to the graphs `route` names
/// for each commit's repository.
async fn add_commit_rows<'r>(
    graphs: &mut [CommitGraph],
    queries: &LakeQueries,
    context: &datafusion::prelude::SessionContext,
    table: &str,
    route: &(dyn Fn(Option<&str>) -> &'r [usize] + Sync),
) -> Result<()> {
    use arrow::array::{Array, AsArray};
    let text = DataType::Utf8;
    let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    let commits = queries
        .read_only_sql_on(
            context,
            &format!("SELECT repo, sha, parents, files FROM {table}"),
        )
        .await?;
    let columns = Columns::new(&commits.batches);
    for (((repos, shas), parents), files) in columns
        .cast_column("repo", &text)?
        .iter()
        .zip(columns.cast_column("sha", &text)?)
        .zip(columns.cast_column("parents", &list)?)
        .zip(columns.cast_column("files", &list)?)
    {
        let (repos, shas, parents, files) = (
            repos.as_string::<i32>(),
            shas.as_string::<i32>(),
            parents.as_list::<i32>(),
            files.as_list::<i32>(),
        );
        for row in 0..shas.len() {
            if shas.is_null(row) {
                continue;
            }
            let sha = shas.value(row);
            let listed_files = files.is_valid(row).then(|| files.value(row));
            let listed_parents = parents.is_valid(row).then(|| parents.value(row));
            for &target in route(repos.is_valid(row).then(|| repos.value(row))) {
                let graph = &mut graphs[target];
                if let Some(touched) = listed_files.as_ref().filter(|_| graph.has_scopes()) {
                    let touched = touched.as_string::<i32>();
                    graph.add_files(
                        sha.to_string(),
                        touched.iter().flatten().map(str::to_string).collect(),
                    );
                }
                // The same commit may arrive twice (a push and an API pull): a
                // known parent list wins over an unknown one.
                match &listed_parents {
                    Some(listed) => {
                        let listed = listed.as_string::<i32>();
                        graph.commit(sha, Some(listed.iter().flatten()));
                    }
                    None => graph.commit(sha, None::<std::iter::Empty<&str>>),
                }
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
        "SELECT repo, before_sha, after_sha, commit_shas, CAST(pushed_at AS BIGINT) AS pushed_at, \
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
        let all = [0];
        self.apply_routed(std::slice::from_mut(graph), &|_| &all[..])
    }

    /// Applies each push to the graphs `route` names for its repository.
    fn apply_routed<'r>(
        &self,
        graphs: &mut [CommitGraph],
        route: &(dyn Fn(Option<&str>) -> &'r [usize] + Sync),
    ) -> Result<Option<PushOrder>> {
        use arrow::array::{Array, AsArray};
        let text = DataType::Utf8;
        let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        let columns = Columns::new(&self.0.batches);
        for (((repos, before), after), shas) in columns
            .cast_column("repo", &text)?
            .iter()
            .zip(columns.cast_column("before_sha", &text)?)
            .zip(columns.cast_column("after_sha", &text)?)
            .zip(columns.cast_column("commit_shas", &list)?)
        {
            let (repos, before, after, shas) = (
                repos.as_string::<i32>(),
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
                for &target in route(repos.is_valid(row).then(|| repos.value(row))) {
                    graphs[target].push(
                        before.is_valid(row).then(|| before.value(row)),
                        after.is_valid(row).then(|| after.value(row)),
                        pushed.iter().copied(),
                    );
                }
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
    use crate::derive::commit_graph::deployment_changes_table;

    /// The changes as `deployment:sha` rows, sorted.
    async fn changes_of(queries: &LakeQueries) -> Vec<String> {
        let settings = crate::dora::DoraSettings::default();
        let sql = crate::dora::walk_order_sql(&settings).unwrap();
        let table = deployment_changes_table(queries, &settings.production_pattern, &sql)
            .await
            .unwrap();
        let sql = format!("SELECT deployment_id || ':' || sha AS row FROM {table} ORDER BY row");
        crate::test_rows::row_texts(queries, queries.context(), &sql).await
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

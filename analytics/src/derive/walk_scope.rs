//! Which services a walk visits, and over which history.
//!
//! Each service is walked over the history of its own repositories (the
//! catalog's `services.repos`), read for those repositories alone: commits
//! and pushes are sorted by repository, so a filter on it reads few row
//! groups. A service the catalog gives no repository is walked over the
//! whole lake's history. So a walk never holds more than a few
//! repositories' graphs at once, and a walk after new events visits only
//! the services they can change:
//!
//! - those named by new deployments;
//! - those whose repositories new commits or pushes belong to (a parent
//!   learnt late changes what a later deployment brought);
//! - when any commit or push is new, those walked over the whole history.
//!
//! Every other service keeps the rows of the previous walk, which records
//! the files it read ([`WalkManifest`], see `super::walk_store`). Everything is
//! walked again when there is no previous walk, the catalog changed (repos,
//! paths) or an input file is gone (a compaction or the quarantine).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::commit_graph::{CommitGraph, WalkDeployment};
use crate::columns::Columns;
use crate::error::{Error, Result};
use crate::LakeQueries;

/// Repositories whose history one query reads: few enough that the filter
/// still prunes row groups by their statistics.
const REPOS_PER_READ: usize = 16;

/// The input files a walk read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WalkFiles {
    pub deployments: Vec<String>,
    pub commits: Vec<String>,
    pub pushes: Vec<String>,
    /// With sizes: a catalog file is small and replaced often.
    pub services: Vec<(String, u64)>,
}

impl WalkFiles {
    pub(crate) async fn list(lake: &ingest::lake::Lake) -> Result<WalkFiles> {
        use ingest::schema::{COMMITS, DEPLOYMENTS, PUSHES, SERVICES};
        let names = |files: Vec<(String, u64)>| files.into_iter().map(|(path, _)| path).collect();
        Ok(WalkFiles {
            deployments: names(lake.data_files(&DEPLOYMENTS).await?),
            commits: names(lake.data_files(&COMMITS).await?),
            pushes: names(lake.data_files(&PUSHES).await?),
            services: lake.data_files(&SERVICES).await?,
        })
    }
}

/// What a stored walk records of itself.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WalkManifest {
    pub version: String,
    pub files: WalkFiles,
}

/// The catalog as the walk needs it.
pub(crate) struct ServiceHistories {
    /// Each service's repositories, sorted (services without any absent).
    repos: BTreeMap<String, Vec<String>>,
    /// Path-scoped services' globs.
    paths: HashMap<String, Vec<String>>,
}

impl ServiceHistories {
    pub(crate) async fn read(queries: &LakeQueries) -> Result<ServiceHistories> {
        let result = queries
            .read_only_sql(&format!(
                "SELECT service, repos, paths FROM {}",
                crate::catalog::CURRENT_SERVICES
            ))
            .await?;
        let columns = Columns::new(&result.batches);
        let mut repos: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut paths: HashMap<String, Vec<String>> = HashMap::new();
        for ((service, listed), globs) in columns
            .text("service")?
            .into_iter()
            .zip(columns.text_lists("repos")?)
            .zip(columns.text_lists("paths")?)
        {
            let Some(service) = service else { continue };
            let listed: Vec<String> = listed.unwrap_or_default();
            if !listed.is_empty() {
                repos.entry(service.clone()).or_default().extend(listed);
            }
            if let Some(globs) = globs.filter(|g| !g.is_empty()) {
                paths.entry(service).or_default().extend(globs);
            }
        }
        Ok(ServiceHistories {
            repos: repos
                .into_iter()
                .map(|(service, repos)| (service, repos.into_iter().collect()))
                .collect(),
            paths,
        })
    }

    /// The repositories a service is walked over; `None`: the whole lake.
    pub(crate) fn repos_of(&self, service: &str) -> Option<&[String]> {
        self.repos.get(service).map(Vec::as_slice)
    }

    /// The services new events can change (see the module doc).
    pub(crate) fn touched_by(
        &self,
        deployed: BTreeSet<String>,
        repos: &BTreeSet<String>,
        deployed_anywhere: &BTreeSet<String>,
    ) -> BTreeSet<String> {
        let mut touched = deployed;
        if repos.is_empty() {
            return touched;
        }
        for service in deployed_anywhere {
            match self.repos_of(service) {
                Some(own) if !own.iter().any(|r| repos.contains(r)) => {}
                _ => {
                    touched.insert(service.clone());
                }
            }
        }
        touched
    }

    /// Every repository group (services sharing repositories share one
    /// graph) and its services.
    pub(crate) fn groups(&self) -> Vec<(Vec<String>, Vec<String>)> {
        let mut groups: BTreeMap<&Vec<String>, Vec<String>> = BTreeMap::new();
        for (service, repos) in &self.repos {
            groups.entry(repos).or_default().push(service.clone());
        }
        groups
            .into_iter()
            .map(|(repos, services)| (repos.clone(), services))
            .collect()
    }

    /// Adds the path scopes of `services` to a graph.
    pub(crate) fn scope(&self, graph: &mut CommitGraph, services: &[String]) -> Result<()> {
        for service in services {
            if let Some(globs) = self.paths.get(service) {
                graph.add_scope(service, globs)?;
            }
        }
        Ok(())
    }
}

/// Walks the deployments of each service (given per service, in walk order)
/// over its own history. Returns the changes, and the deployments of the
/// services without repositories, which the caller walks over the whole
/// lake's history.
///
/// Walking every service, the whole lake's commits and pushes are read in one
/// pass (row groups hold many repositories until compaction sorts them, so
/// reads of a few would each read most of the lake); walking a few, a few
/// repositories are read at a time.
pub(crate) async fn walk_each(
    queries: &LakeQueries,
    (histories, files): (&ServiceHistories, &WalkFiles),
    mut deployments: BTreeMap<String, Vec<WalkDeployment>>,
    every_service: bool,
) -> Result<(Vec<super::DeploymentChange>, Vec<WalkDeployment>)> {
    // Services sharing repositories (a monorepo) share one graph.
    let mut groups: BTreeMap<&[String], Vec<String>> = BTreeMap::new();
    let mut everywhere = Vec::new();
    for service in deployments.keys() {
        match histories.repos_of(service) {
            Some(repos) => groups.entry(repos).or_default().push(service.clone()),
            None => everywhere.push(service.clone()),
        }
    }
    let everywhere: Vec<WalkDeployment> = everywhere
        .iter()
        .flat_map(|s| deployments.remove(s).unwrap_or_default())
        .collect();
    let groups: Vec<(&[String], Vec<String>)> = groups.into_iter().collect();
    let mut changes = Vec::new();
    if queries.keeps_derive_state() {
        // A server keeps every group's graph and adds what is new.
        let mut kept = queries.kept_walk().lock().await;
        let kept = kept.histories(queries, histories, files).await?;
        for (repos, services) in &groups {
            let graph = kept
                .graph_of(repos)
                .ok_or_else(|| Error::Internal(format!("no kept history of {repos:?}")))?;
            let walked: Vec<WalkDeployment> = services
                .iter()
                .flat_map(|s| deployments.remove(s).unwrap_or_default())
                .collect();
            changes.extend(super::walk(&walked, graph));
        }
        return Ok((changes, everywhere));
    }
    let mut start = 0;
    while start < groups.len() {
        // As many groups as fit one read.
        let mut end = start;
        let mut repos: BTreeSet<&str> = BTreeSet::new();
        while end < groups.len()
            && (every_service
                || end == start
                || repos.len() + groups[end].0.len() <= REPOS_PER_READ)
        {
            repos.extend(groups[end].0.iter().map(String::as_str));
            end += 1;
        }
        let chunk = &groups[start..end];
        let mut graphs: Vec<CommitGraph> = chunk.iter().map(|_| CommitGraph::default()).collect();
        let mut routes: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, (group_repos, services)) in chunk.iter().enumerate() {
            for repo in group_repos.iter() {
                routes.entry(repo.as_str()).or_default().push(i);
            }
            histories.scope(&mut graphs[i], services)?;
        }
        let repos: Option<Vec<&str>> = (!every_service).then(|| repos.into_iter().collect());
        super::walk_inputs::read_histories(queries, repos.as_deref(), &routes, &mut graphs).await?;
        for ((_, services), graph) in chunk.iter().zip(&graphs) {
            let walked: Vec<WalkDeployment> = services
                .iter()
                .flat_map(|s| deployments.remove(s).unwrap_or_default())
                .collect();
            changes.extend(super::walk(&walked, graph));
        }
        start = end;
    }
    Ok((changes, everywhere))
}

/// Which services a walk after `base` visits, given the files now.
pub(crate) fn visit_after(base: &WalkFiles, now: &WalkFiles) -> Option<Added> {
    if base.services != now.services {
        return None;
    }
    Some(Added {
        deployments: added_files(&base.deployments, &now.deployments)?,
        commits: added_files(&base.commits, &now.commits)?,
        pushes: added_files(&base.pushes, &now.pushes)?,
    })
}

/// The files of `after` (sorted) that `before` (sorted) did not have, when
/// `after` still has every file of `before`.
pub(crate) fn added_files(before: &[String], after: &[String]) -> Option<Vec<String>> {
    let kept = before.iter().all(|f| after.binary_search(f).is_ok());
    kept.then(|| {
        after
            .iter()
            .filter(|f| before.binary_search(f).is_err())
            .cloned()
            .collect()
    })
}

/// Input files added since a previous walk.
pub(crate) struct Added {
    pub deployments: Vec<String>,
    pub commits: Vec<String>,
    pub pushes: Vec<String>,
}

impl Added {
    /// The services named by the new deployments, and the repositories of
    /// the new commits and pushes.
    pub(crate) async fn keys(
        &self,
        queries: &LakeQueries,
    ) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
        use ingest::schema::{COMMITS, DEPLOYMENTS, PUSHES};
        let work = queries.scratch_context().await?;
        let mut services = BTreeSet::new();
        let mut repos = BTreeSet::new();
        for (spec, files, column) in [
            (&DEPLOYMENTS, &self.deployments, "service"),
            (&COMMITS, &self.commits, "repo"),
            (&PUSHES, &self.pushes, "repo"),
        ] {
            if files.is_empty() {
                continue;
            }
            let files: Vec<&String> = files.iter().collect();
            let table = super::incremental::files_table(queries, spec, &files)?;
            let name = format!("added_{}", spec.name);
            work.register_table(name.as_str(), table)
                .map_err(Error::Engine)?;
            let result = queries
                .read_only_sql_on(
                    &work,
                    &format!("SELECT DISTINCT {column} AS key FROM {name}"),
                )
                .await?;
            let keys = Columns::new(&result.batches)
                .text("key")?
                .into_iter()
                .flatten();
            if column == "service" {
                services.extend(keys);
            } else {
                repos.extend(keys);
            }
        }
        Ok((services, repos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::commit_graph::{deployment_changes_table, derive_changes, fingerprint};
    use crate::test_rows::{append_commit_to, append_deployment_of, append_service};
    use std::sync::Arc;

    /// The changes stored in generation `unit`, as `service/deployment:sha`
    /// rows, sorted.
    async fn rows(queries: &LakeQueries, unit: &str) -> Vec<String> {
        let parts = crate::derive::walk_store::parts(queries, unit).unwrap();
        let work = queries.scratch_context().await.unwrap();
        work.register_table("walked", crate::derive::walk_store::table(&parts).unwrap())
            .unwrap();
        let sql =
            "SELECT service || '/' || deployment_id || ':' || sha AS row FROM walked ORDER BY row";
        crate::test_rows::row_texts(queries, &work, sql).await
    }

    /// After a parent learnt late in one repository, the walk visits that
    /// repository's service and the one without a repository, keeps the
    /// other service's rows, and equals a walk from scratch.
    #[tokio::test]
    async fn a_walk_after_new_commits_visits_only_the_services_they_can_change() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(ingest::lake::Lake::create_or_open(dir.path()).unwrap());
        append_service(&lake, "pay", &["acme/pay"]).await;
        append_service(&lake, "shop", &["acme/shop"]).await;
        append_commit_to(&lake, "acme/pay", "a", Some(&[]), "2026-03-01T09:00:00Z").await;
        append_commit_to(&lake, "acme/pay", "b", None, "2026-03-02T09:00:00Z").await;
        append_commit_to(&lake, "acme/shop", "s1", Some(&[]), "2026-03-01T09:00:00Z").await;
        append_commit_to(
            &lake,
            "acme/shop",
            "s2",
            Some(&["s1"]),
            "2026-03-02T09:00:00Z",
        )
        .await;
        for (service, id, sha, at) in [
            ("pay", "p1", "a", "2026-03-01T10:00:00Z"),
            ("pay", "p2", "b", "2026-03-02T10:00:00Z"),
            ("shop", "s1", "s1", "2026-03-01T10:00:00Z"),
            ("shop", "s2", "s2", "2026-03-02T10:00:00Z"),
            // Not in the catalog: walked over the whole lake's history.
            ("legacy", "l1", "a", "2026-03-01T11:00:00Z"),
            ("legacy", "l2", "b", "2026-03-02T11:00:00Z"),
        ] {
            append_deployment_of(&lake, service, id, sha, at).await;
        }
        let settings = crate::dora::DoraSettings::default();
        let sql = crate::dora::walk_order_sql(&settings).unwrap();
        let queries = crate::LakeQueries::open(lake.clone()).await.unwrap();
        deployment_changes_table(&queries, &settings.production_pattern, &sql)
            .await
            .unwrap();

        // b's parent is x, whose parent is a.
        append_commit_to(&lake, "acme/pay", "b", Some(&["x"]), "2026-03-02T09:00:00Z").await;
        append_commit_to(&lake, "acme/pay", "x", Some(&["a"]), "2026-03-01T12:00:00Z").await;
        let (pattern, _) = fingerprint(&queries, &settings.production_pattern)
            .await
            .unwrap();
        let unit = "deployment_changes/test-after";
        let walked = derive_changes(&queries, &sql, &pattern, unit)
            .await
            .unwrap();
        let visited: Vec<&str> = walked
            .visited
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        assert_eq!(visited, ["legacy", "pay"]);
        let expected = [
            "legacy/l2:b",
            "legacy/l2:x",
            "pay/p2:b",
            "pay/p2:x",
            "shop/s2:s2",
        ];
        assert_eq!(rows(&queries, unit).await, expected);

        let scratch = tempfile::tempdir().unwrap();
        for table in ["services", "commits", "deployments"] {
            std::process::Command::new("cp")
                .args(["-r"])
                .arg(dir.path().join(table))
                .arg(scratch.path())
                .status()
                .unwrap();
        }
        let fresh = crate::LakeQueries::open(Arc::new(
            ingest::lake::Lake::create_or_open(scratch.path()).unwrap(),
        ))
        .await
        .unwrap();
        let whole = derive_changes(&fresh, &sql, &pattern, unit).await.unwrap();
        assert_eq!(whole.visited, None);
        assert_eq!(rows(&fresh, unit).await, expected);
    }

    fn histories() -> ServiceHistories {
        ServiceHistories {
            repos: BTreeMap::from([
                ("checkout".to_string(), vec!["acme/mono".to_string()]),
                ("cart".to_string(), vec!["acme/mono".to_string()]),
                ("search".to_string(), vec!["acme/search".to_string()]),
            ]),
            paths: HashMap::new(),
        }
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn new_commits_touch_the_services_of_their_repository_and_those_without_one() {
        let deployed_anywhere = set(&["checkout", "cart", "search", "legacy"]);
        let touched =
            histories().touched_by(set(&["search"]), &set(&["acme/mono"]), &deployed_anywhere);
        // legacy has no repository in the catalog: walked over everything.
        assert_eq!(touched, set(&["cart", "checkout", "legacy", "search"]));
        let only_deployed = histories().touched_by(set(&["search"]), &set(&[]), &deployed_anywhere);
        assert_eq!(only_deployed, set(&["search"]));
    }

    #[test]
    fn a_gone_file_or_a_catalog_change_walks_everything_again() {
        let base = WalkFiles {
            deployments: vec!["d/1".into()],
            commits: vec!["c/1".into(), "c/2".into()],
            pushes: vec![],
            services: vec![("s/1".into(), 10)],
        };
        let mut now = base.clone();
        now.commits.push("c/3".into());
        let added = visit_after(&base, &now).unwrap();
        assert_eq!(added.commits, ["c/3"]);
        assert!(added.deployments.is_empty());
        now.commits.remove(0);
        assert!(visit_after(&base, &now).is_none(), "compacted");
        let mut catalog = base.clone();
        catalog.services[0].1 = 11;
        assert!(visit_after(&base, &catalog).is_none(), "catalog");
    }
}

//! The catalog as the rest of devex looks it up: which service a repository
//! belongs to, which team owns a service, a developer's current team, and
//! which names (teams, services, repositories) exist at all, so that a typo
//! in a filter is an error naming the closest known names, never an empty
//! report.

use std::collections::HashMap;

use crate::columns::Columns;

/// The catalog's current version of every service: the `services` rows with
/// the service's latest `valid_from` (a null one is the oldest), as a
/// subquery to select from.
pub const CURRENT_SERVICES: &str = "(SELECT * FROM (SELECT *, rank() OVER (PARTITION BY service ORDER BY valid_from DESC NULLS LAST) AS version FROM services) WHERE version = 1)";

/// Each service's owners over time: (service, team, valid_from, valid_to),
/// a version holding from its `valid_from` (null: since always) until the
/// next one's; rows of one version merge (max owner_team). A subquery to
/// join on `valid_from <= t < valid_to`, for "the team that owned it then".
pub const SERVICE_OWNERSHIP: &str = "(SELECT service, team, valid_from, lead(valid_from) OVER (PARTITION BY service ORDER BY valid_from ASC NULLS FIRST) AS valid_to FROM (SELECT service, valid_from, max(owner_team) AS team FROM services GROUP BY service, valid_from))";
use crate::error::{Error, NameKind, Result};
use crate::LakeQueries;

/// Repository (`owner/name`) -> service, from `services.repos`.
pub async fn repository_services(queries: &LakeQueries) -> Result<HashMap<String, String>> {
    pairs(
        queries,
        &format!("SELECT unnest(repos) AS repo, service FROM {CURRENT_SERVICES}"),
        "repo",
        "service",
    )
    .await
}

/// What sources look up while mapping events: repository -> service, the
/// catalog's service names and its entities' annotations.
pub async fn view(queries: &LakeQueries) -> Result<ingest::sources::CatalogView> {
    let repository_services = repository_services(queries).await?;
    let result = queries
        .read_only_sql(&format!(
            "SELECT service, annotations FROM {CURRENT_SERVICES}"
        ))
        .await?;
    let columns = Columns::new(&result.batches);
    let names = columns.text("service")?;
    let mut services: std::collections::BTreeSet<String> =
        names.iter().flatten().cloned().collect();
    services.extend(repository_services.values().cloned());
    let mut annotations = HashMap::new();
    for (service, text) in names.into_iter().zip(columns.text("annotations")?) {
        let (Some(service), Some(text)) = (service, text) else {
            continue;
        };
        // Written by the catalog import as a JSON object of strings.
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) else {
            continue;
        };
        for (key, value) in map {
            if let Some(value) = value.as_str() {
                annotations.insert((key, value.to_string()), service.clone());
            }
        }
    }
    Ok(ingest::sources::CatalogView {
        repository_services,
        services,
        annotations,
        developer_teams: current_teams(queries).await?,
        backstage_users: ingest::sources::backstage::aliases::load(queries.lake()).await?,
    })
}

/// The current catalog an import of Backstage entities is compared with:
/// each service's and team's latest version, and the open memberships.
pub async fn current_catalog(
    queries: &LakeQueries,
) -> Result<ingest::sources::backstage::CurrentCatalog> {
    use ingest::sources::backstage::{CurrentCatalog, ServiceVersion, TeamVersion};
    let mut current = CurrentCatalog::default();
    let services = queries
        .read_only_sql(&format!(
            "SELECT service, owner_team, system, repos, lifecycle, annotations, paths FROM {CURRENT_SERVICES}"
        ))
        .await?;
    let c = Columns::new(&services.batches);
    let mut repos = c.text_lists("repos")?.into_iter();
    let mut paths = c.text_lists("paths")?.into_iter();
    let mut owners = c.text("owner_team")?.into_iter();
    let mut systems = c.text("system")?.into_iter();
    let mut lifecycles = c.text("lifecycle")?.into_iter();
    let mut annotations = c.text("annotations")?.into_iter();
    for service in c.text("service")? {
        let version = ServiceVersion {
            owner_team: owners.next().flatten().unwrap_or_default(),
            system: systems.next().flatten(),
            repos: {
                let mut list = repos.next().flatten().unwrap_or_default();
                list.sort();
                list
            },
            lifecycle: lifecycles.next().flatten(),
            annotations: annotations.next().flatten(),
            paths: paths.next().flatten().unwrap_or_default(),
        };
        if let Some(service) = service {
            current.services.insert(service, version);
        }
    }
    let teams = queries
        .read_only_sql(
            "SELECT team, parent, members_count FROM (SELECT *, rank() OVER (PARTITION BY team ORDER BY valid_from DESC NULLS LAST) AS version FROM teams) WHERE version = 1",
        )
        .await?;
    let c = Columns::new(&teams.batches);
    for ((team, parent), count) in c
        .text("team")?
        .into_iter()
        .zip(c.text("parent")?)
        .zip(c.int("members_count")?)
    {
        if let Some(team) = team {
            current.teams.insert(
                team,
                TeamVersion {
                    parent,
                    members_count: count,
                },
            );
        }
    }
    let members = queries
        .read_only_sql(
            "SELECT developer, team, min(valid_from) AS valid_from FROM team_members \
             WHERE valid_to IS NULL GROUP BY developer, team",
        )
        .await?;
    let c = Columns::new(&members.batches);
    current.memberships = c
        .text("developer")?
        .into_iter()
        .zip(c.text("team")?)
        .zip(c.micros("valid_from")?)
        .filter_map(|((developer, team), from)| Some(((developer?, team?), from?)))
        .collect();
    Ok(current)
}

/// Service -> owning team.
pub async fn service_owners(queries: &LakeQueries) -> Result<HashMap<String, String>> {
    pairs(
        queries,
        &format!(
            "SELECT service, max(owner_team) AS team FROM {CURRENT_SERVICES} GROUP BY service"
        ),
        "service",
        "team",
    )
    .await
}

/// Team -> its parent group, in the catalog's latest version of each team.
pub async fn team_parents(queries: &LakeQueries) -> Result<HashMap<String, String>> {
    pairs(
        queries,
        "SELECT team, parent FROM (SELECT *, rank() OVER (PARTITION BY team ORDER BY valid_from DESC NULLS LAST) AS version FROM teams) WHERE version = 1 AND parent IS NOT NULL",
        "team",
        "parent",
    )
    .await
}

/// Developer -> their current team (the latest membership still open).
pub async fn current_teams(queries: &LakeQueries) -> Result<HashMap<String, String>> {
    pairs(
        queries,
        "SELECT developer, team FROM team_members WHERE valid_to IS NULL ORDER BY valid_from",
        "developer",
        "team",
    )
    .await
}

/// Every known name of a kind: from the catalog and from the events that
/// name it.
pub async fn known_names(queries: &LakeQueries, kind: NameKind) -> Result<Vec<String>> {
    let sql = match kind {
        NameKind::Team => {
            "SELECT team AS name FROM teams UNION SELECT owner_team AS name FROM services \
             UNION SELECT team AS name FROM team_members"
        }
        NameKind::Service => {
            "SELECT service AS name FROM services UNION SELECT service AS name FROM deployments"
        }
        NameKind::Repository => {
            "SELECT unnest(repos) AS name FROM services \
             UNION SELECT repo AS name FROM pull_requests UNION SELECT repo AS name FROM ci_runs"
        }
        NameKind::Survey => "SELECT DISTINCT survey_id AS name FROM survey_responses",
        NameKind::Deployment => "SELECT DISTINCT deployment_id AS name FROM deployments",
    };
    let result = queries.read_only_sql(sql).await?;
    let mut names: Vec<String> = Columns::new(&result.batches)
        .text("name")?
        .into_iter()
        .flatten()
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Refuses a name nobody knows, naming the closest known ones.
pub async fn check_known(queries: &LakeQueries, kind: NameKind, name: &str) -> Result<()> {
    let known = known_names(queries, kind).await?;
    if known.iter().any(|k| k == name) {
        return Ok(());
    }
    Err(Error::unknown_name(kind, name, &known))
}

/// At most this many close suggestions.
pub(crate) const MOST_SUGGESTIONS: usize = 5;
/// At most this many names listed when none is close.
const MOST_LISTED: usize = 20;

/// The known names closest to `name`: those it is a prefix or part of, and
/// those within a few edits, nearest first; when none is close, the first
/// twenty known names.
pub fn closest(name: &str, known: &[String]) -> Vec<String> {
    let wanted = name.to_lowercase();
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .filter_map(|k| {
            let candidate = k.to_lowercase();
            let distance = strsim::levenshtein(&wanted, &candidate);
            let related = candidate.contains(&wanted) || wanted.contains(&candidate);
            let limit = (wanted.chars().count() / 3).max(2);
            (related || distance <= limit).then_some((if related { 0 } else { distance }, k))
        })
        .collect();
    scored.sort();
    let close: Vec<String> = scored
        .into_iter()
        .take(MOST_SUGGESTIONS)
        .map(|(_, k)| k.clone())
        .collect();
    if close.is_empty() {
        return known.iter().take(MOST_LISTED).cloned().collect();
    }
    close
}

async fn pairs(
    queries: &LakeQueries,
    sql: &str,
    key: &str,
    value: &str,
) -> Result<HashMap<String, String>> {
    let result = queries.read_only_sql(sql).await?;
    let columns = Columns::new(&result.batches);
    Ok(columns.text_pairs(key, value)?.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn closest_names_come_first() {
        let known = names(&["checkout", "payments", "payments-risk", "search"]);
        assert_eq!(
            closest("payment", &known),
            names(&["payments", "payments-risk"])
        );
        assert_eq!(closest("serch", &known), names(&["search"]));
        // Nothing close: the first known names, so the user sees some.
        assert_eq!(closest("zzzzzzzz", &known).len(), 4);
        assert!(closest("x", &[]).is_empty());
    }
}

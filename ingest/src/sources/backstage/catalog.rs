//! Backstage entities to catalog rows, keeping history: an import compares
//! each Component and Group with the lake's current version and writes a new
//! version only when something changed, valid from the import's day. The
//! first version of an entity holds since always, so history before the
//! first import keeps today's behaviour.
//!
//! * Component -> `services`: owner (`spec.owner`), system, lifecycle,
//!   repositories (`github.com/project-slug`, `gitlab.com/project-slug`,
//!   `backstage.io/source-location`), every annotation, and the paths it owns
//!   in them (`devex.io/paths`: globs, comma- or line-separated).
//! * Group -> `teams` (`spec.parent`); User `spec.memberOf` and Group
//!   `spec.members` -> `team_members` of the user's e-mail (and GitHub
//!   login, `github.com/user-login`), as pseudonyms.
//!
//! A membership the lake holds open for a Group of the import, which the
//! import no longer lists, ends on the import's day (a row with the same
//! `valid_from` and a `valid_to`; queries merge the two). Entities missing
//! from an import are left as they are: an import of some files is not a
//! deletion of the others.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::entities::{ref_name, Entity};
use crate::canonical::{Micros, Rows, Service, Team, TeamMember};
use crate::error::Result;
use crate::identity::Pseudonymizer;

/// A service as the catalog describes it; two equal ones are one version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceVersion {
    pub owner_team: String,
    pub system: Option<String>,
    pub repos: Vec<String>,
    pub lifecycle: Option<String>,
    /// JSON object, keys sorted.
    pub annotations: Option<String>,
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamVersion {
    pub parent: Option<String>,
    pub members_count: Option<i64>,
}

/// The lake's current catalog (each entity's latest version), which an
/// import is compared with.
#[derive(Debug, Clone, Default)]
pub struct CurrentCatalog {
    pub services: HashMap<String, ServiceVersion>,
    pub teams: HashMap<String, TeamVersion>,
    /// (developer pseudonym, team) of open memberships, with their valid_from.
    pub memberships: HashMap<(String, String), i64>,
}

/// What an import writes and what it found.
#[derive(Debug, Clone, Default)]
pub struct CatalogPlan {
    pub rows: Rows,
    pub services_new: usize,
    pub services_changed: usize,
    pub teams_new: usize,
    pub teams_changed: usize,
    pub memberships_new: usize,
    pub memberships_ended: usize,
    pub unchanged: usize,
    /// Pseudonym of `backstage-user:<name>` -> the developer id the import
    /// gave the user (see [`super::aliases`]).
    pub user_aliases: std::collections::BTreeMap<String, String>,
}

/// `owner/name` of a repository URL or slug.
fn repository(location: &str) -> Option<String> {
    let url = location.trim().trim_start_matches("url:");
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => url,
    };
    // GitLab: group/sub/project/-/tree/...; GitHub: owner/repo/tree/...
    let path = path.split("/-/").next().unwrap_or(path).trim_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let repo = if url.contains("/-/") {
        segments.join("/")
    } else {
        segments
            .iter()
            .take(2)
            .copied()
            .collect::<Vec<_>>()
            .join("/")
    };
    let repo = repo.trim_end_matches(".git").to_string();
    repo.contains('/').then_some(repo)
}

fn service_version(entity: &Entity) -> Result<ServiceVersion> {
    let owner = entity.spec["owner"].as_str().ok_or_else(|| {
        entity.error(
            "spec.owner",
            "is missing; every Component names its owner group",
        )
    })?;
    let mut repos: BTreeSet<String> = BTreeSet::new();
    for key in ["github.com/project-slug", "gitlab.com/project-slug"] {
        if let Some(slug) = entity.annotation(key) {
            if !slug.contains('/') {
                return Err(entity.error(
                    &format!("metadata.annotations.{key}"),
                    &format!("`{slug}` is not OWNER/NAME"),
                ));
            }
            repos.insert(slug.trim_matches('/').to_string());
        }
    }
    if let Some(location) = entity.annotation("backstage.io/source-location") {
        repos.extend(repository(&location));
    }
    let annotations: BTreeMap<String, String> = entity.annotations().into_iter().collect();
    let paths: Vec<String> = entity
        .annotation("devex.io/paths")
        .map(|globs| {
            globs
                .split([',', '\n', ' '])
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(ServiceVersion {
        owner_team: ref_name(owner),
        system: entity.spec["system"].as_str().map(ref_name),
        repos: repos.into_iter().collect(),
        lifecycle: entity.spec["lifecycle"].as_str().map(str::to_string),
        annotations: (!annotations.is_empty())
            .then(|| serde_json::to_string(&annotations).unwrap_or_default()),
        paths,
    })
}

/// A short, stable digest of a version, for its event id.
fn digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(parts.join("\u{1f}").as_bytes())[..8])
}

/// The rows an import of `entities` as of `as_of` (UTC midnight, micros)
/// adds to `current`.
pub fn plan(
    entities: &[Entity],
    current: &CurrentCatalog,
    as_of: i64,
    pseudonymizer: &Pseudonymizer,
) -> Result<CatalogPlan> {
    let mut plan = CatalogPlan::default();
    for entity in entities
        .iter()
        .filter(|e| e.kind.eq_ignore_ascii_case("component"))
    {
        let version = service_version(entity)?;
        let valid_from = match current.services.get(&entity.name) {
            Some(existing) if *existing == version => {
                plan.unchanged += 1;
                continue;
            }
            Some(_) => {
                plan.services_changed += 1;
                Some(as_of)
            }
            None => {
                plan.services_new += 1;
                None
            }
        };
        let key = digest(&[
            &version.owner_team,
            version.system.as_deref().unwrap_or(""),
            &version.repos.join(","),
            version.lifecycle.as_deref().unwrap_or(""),
            version.annotations.as_deref().unwrap_or(""),
            &version.paths.join(","),
        ]);
        plan.rows.push(
            Service {
                event_id: format!(
                    "backstage:service:{}:{}:{key}",
                    entity.name,
                    valid_from.map_or("initial".to_string(), |t| t.to_string())
                ),
                service: entity.name.clone(),
                owner_team: version.owner_team,
                system: version.system,
                repos: version.repos,
                lifecycle: version.lifecycle,
                annotations: version.annotations,
                paths: version.paths,
                valid_from: valid_from.map(Micros),
            }
            .into(),
        );
    }
    // Memberships: from users' memberOf and groups' members.
    let users: HashMap<&str, &Entity> = entities
        .iter()
        .filter(|e| e.kind.eq_ignore_ascii_case("user"))
        .map(|e| (e.name.as_str(), e))
        .collect();
    let mut members: BTreeSet<(String, String)> = BTreeSet::new();
    for user in users.values() {
        for group in user.spec["memberOf"].as_array().into_iter().flatten() {
            if let Some(group) = group.as_str() {
                members.insert((user.name.clone(), ref_name(group)));
            }
        }
    }
    let groups: Vec<&Entity> = entities
        .iter()
        .filter(|e| e.kind.eq_ignore_ascii_case("group"))
        .collect();
    for group in &groups {
        for member in group.spec["members"].as_array().into_iter().flatten() {
            if let Some(member) = member.as_str() {
                members.insert((ref_name(member), group.name.clone()));
            }
        }
    }
    for group in &groups {
        let version = TeamVersion {
            parent: group.spec["parent"].as_str().map(ref_name),
            members_count: Some(members.iter().filter(|(_, g)| *g == group.name).count() as i64),
        };
        let valid_from = match current.teams.get(&group.name) {
            Some(existing) if *existing == version => {
                plan.unchanged += 1;
                continue;
            }
            Some(_) => {
                plan.teams_changed += 1;
                Some(as_of)
            }
            None => {
                plan.teams_new += 1;
                None
            }
        };
        let key = digest(&[
            version.parent.as_deref().unwrap_or(""),
            &version.members_count.unwrap_or(0).to_string(),
        ]);
        plan.rows.push(
            Team {
                event_id: format!(
                    "backstage:team:{}:{}:{key}",
                    group.name,
                    valid_from.map_or("initial".to_string(), |t| t.to_string())
                ),
                team: group.name.clone(),
                parent: version.parent,
                members_count: version.members_count,
                valid_from: valid_from.map(Micros),
            }
            .into(),
        );
    }
    // A first import's memberships hold since always; later ones from the
    // import's day.
    let since = if current.memberships.is_empty() {
        0
    } else {
        as_of
    };
    let mut listed: HashSet<(String, String)> = HashSet::new();
    for (user, team) in members {
        let entity = users.get(user.as_str());
        let mut identities: Vec<String> = Vec::new();
        match entity.and_then(|u| u.spec["profile"]["email"].as_str()) {
            Some(email) => identities.push(email.to_string()),
            None => identities.push(super::aliases::user_identity(&user)),
        }
        if let Some(login) = entity.and_then(|u| u.annotation("github.com/user-login")) {
            identities.push(login);
        }
        if let Some(first) = identities.first() {
            plan.user_aliases.insert(
                pseudonymizer.pseudonym(&super::aliases::user_identity(&user)),
                pseudonymizer.pseudonym(first),
            );
        }
        for identity in identities {
            let developer = pseudonymizer.pseudonym(&identity);
            listed.insert((developer.clone(), team.clone()));
            if current
                .memberships
                .contains_key(&(developer.clone(), team.clone()))
            {
                plan.unchanged += 1;
                continue;
            }
            plan.memberships_new += 1;
            plan.rows.push(
                TeamMember {
                    event_id: format!("backstage:team_member:{team}:{developer}:{since}"),
                    developer,
                    team: team.clone(),
                    valid_from: Micros(since),
                    valid_to: None,
                }
                .into(),
            );
        }
    }
    // Memberships of the imported groups that the import no longer lists.
    let imported: HashSet<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    let mut ended: Vec<(&(String, String), &i64)> = current
        .memberships
        .iter()
        .filter(|(key, _)| imported.contains(key.1.as_str()) && !listed.contains(*key))
        .collect();
    ended.sort();
    for ((developer, team), valid_from) in ended {
        plan.memberships_ended += 1;
        plan.rows.push(
            TeamMember {
                event_id: format!("backstage:team_member:{team}:{developer}:{valid_from}:ended"),
                developer: developer.clone(),
                team: team.clone(),
                valid_from: Micros(*valid_from),
                valid_to: Some(Micros(as_of)),
            }
            .into(),
        );
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::Value;
    use crate::sources::backstage::entities;

    fn catalog(text: &str) -> Vec<Entity> {
        entities::parse(text, "catalog-info.yaml").unwrap()
    }

    const SHOP: &str = "kind: Component
metadata:
  name: payments
  annotations:
    github.com/project-slug: acme/shop
    pagerduty.com/service-id: PA2P440
    devex.io/paths: services/payments/**, libs/pay/**
spec:
  type: service
  owner: group:default/team-pay
  system: shop
  lifecycle: production
---
kind: Group
metadata:
  name: team-pay
spec:
  type: team
  parent: engineering
---
kind: User
metadata:
  name: ana
spec:
  profile:
    email: ana@example.com
  memberOf: [team-pay]
";

    #[test]
    fn a_first_import_holds_since_always_and_a_repeat_adds_nothing() {
        let p = Pseudonymizer::new(b"k");
        let first = plan(&catalog(SHOP), &CurrentCatalog::default(), 1_000, &p).unwrap();
        assert_eq!(
            (first.services_new, first.teams_new, first.memberships_new),
            (1, 1, 1)
        );
        let (table, service) = &first.rows[0];
        assert_eq!(table.name, "services");
        assert_eq!(
            service[1..],
            [
                Value::text("payments"),
                Value::text("team-pay"),
                Value::text("shop"),
                Value::TextList(vec!["acme/shop".into()]),
                Value::text("production"),
                Value::text(
                    r#"{"devex.io/paths":"services/payments/**, libs/pay/**","github.com/project-slug":"acme/shop","pagerduty.com/service-id":"PA2P440"}"#
                ),
                Value::TextList(vec!["services/payments/**".into(), "libs/pay/**".into()]),
                Value::Null,
            ]
        );
        let (_, membership) = &first.rows[2];
        assert_eq!(
            (&membership[2], &membership[3]),
            (&Value::text("team-pay"), &Value::Timestamp(0))
        );
        assert!(!format!("{:?}", first.rows).contains("ana@example.com"));
        // The lake now holds that version: importing it again adds nothing.
        let current = CurrentCatalog {
            services: [(
                "payments".to_string(),
                service_version(&catalog(SHOP)[0]).unwrap(),
            )]
            .into(),
            teams: [(
                "team-pay".to_string(),
                TeamVersion {
                    parent: Some("engineering".into()),
                    members_count: Some(1),
                },
            )]
            .into(),
            memberships: [((p.pseudonym("ana@example.com"), "team-pay".to_string()), 0)].into(),
        };
        let again = plan(&catalog(SHOP), &current, 2_000, &p).unwrap();
        assert!(again.rows.is_empty(), "{:?}", again.rows);
        assert_eq!(again.unchanged, 3);
        // A new owner is a new version from the import's day.
        let moved = SHOP.replace("owner: group:default/team-pay", "owner: team-core");
        let changed = plan(&catalog(&moved), &current, 2_000, &p).unwrap();
        assert_eq!(changed.services_changed, 1);
        assert_eq!(changed.rows[0].1[2], Value::text("team-core"));
        assert_eq!(changed.rows[0].1[8], Value::Timestamp(2_000));
        // Ana leaves team-pay: her membership ends on the import's day, and
        // one of another group's (not imported) stays open.
        let mut current = current;
        current
            .memberships
            .insert((p.pseudonym("bo@example.com"), "team-core".to_string()), 0);
        let left = SHOP.replace("  memberOf: [team-pay]\n", "  memberOf: []\n");
        let ended = plan(&catalog(&left), &current, 3_000, &p).unwrap();
        assert_eq!(ended.memberships_ended, 1);
        let (table, row) = ended.rows.last().unwrap();
        assert_eq!(table.name, "team_members");
        assert_eq!(
            row[1..],
            [
                Value::text(p.pseudonym("ana@example.com")),
                Value::text("team-pay"),
                Value::Timestamp(0),
                Value::Timestamp(3_000),
            ]
        );
    }

    #[test]
    fn repositories_from_slugs_and_source_locations() {
        assert_eq!(
            repository("url:https://github.com/acme/shop/tree/main/services/pay").as_deref(),
            Some("acme/shop")
        );
        assert_eq!(
            repository("https://gitlab.com/acme/platform/shop/-/tree/main").as_deref(),
            Some("acme/platform/shop")
        );
        assert_eq!(
            repository("url:https://github.com/acme/shop.git").as_deref(),
            Some("acme/shop")
        );
        assert_eq!(repository("url:https://example.com/"), None);
        let missing_owner =
            catalog("kind: Component\nmetadata:\n  name: x\nspec:\n  type: service\n");
        let err = plan(
            &missing_owner,
            &CurrentCatalog::default(),
            0,
            &Pseudonymizer::new(b"k"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("catalog-info.yaml") && err.contains("component:default/x: spec.owner"),
            "{err}"
        );
    }

    #[test]
    fn the_published_examples_import() {
        let dir = crate::sources::fixtures::path("backstage");
        let entities = entities::read(&[dir]).unwrap();
        let imported = plan(
            &entities,
            &CurrentCatalog::default(),
            0,
            &Pseudonymizer::new(b"k"),
        )
        .unwrap();
        let services: Vec<(String, String)> = imported
            .rows
            .iter()
            .filter(|(t, _)| t.name == "services")
            .map(|(_, v)| match (&v[1], &v[2]) {
                (Value::Text(s), Value::Text(o)) => (s.clone(), o.clone()),
                _ => unreachable!(),
            })
            .collect();
        assert!(
            services.contains(&("artist-lookup".into(), "team-a".into())),
            "{services:?}"
        );
        assert!(
            services.contains(&("backstage-demo".into(), "maintainers".into())),
            "{services:?}"
        );
        // team-a's users, the namespaced guest included (memberOf group:default/team-a).
        assert!(
            imported.memberships_new >= 4,
            "{}",
            imported.memberships_new
        );
    }
}

//! The teams and services devex knows, for `GET /api/v1/catalog` and the MCP
//! tool `list_teams_services`: the names every report filter accepts.

use std::collections::BTreeMap;

use analytics::error::NameKind;
use analytics::LakeQueries;

use crate::error::Result;

/// Every team and service, with the current ownership and hierarchy.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TeamsAndServices {
    /// Each team (from the catalog and from the events that name one), its
    /// parent group and the services it owns now.
    pub teams: Vec<TeamEntry>,
    /// Each service and its current owner (null when the catalog has none).
    pub services: Vec<ServiceEntry>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TeamEntry {
    pub team: String,
    pub parent: Option<String>,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ServiceEntry {
    pub service: String,
    pub owner_team: Option<String>,
}

pub async fn teams_and_services(queries: &LakeQueries) -> Result<TeamsAndServices> {
    let owners = analytics::catalog::service_owners(queries).await?;
    let parents = analytics::catalog::team_parents(queries).await?;
    let mut owned: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let services: Vec<ServiceEntry> = analytics::catalog::known_names(queries, NameKind::Service)
        .await?
        .into_iter()
        .map(|service| {
            let owner_team = owners.get(&service).cloned();
            ServiceEntry {
                service,
                owner_team,
            }
        })
        .collect();
    for entry in &services {
        if let Some(team) = &entry.owner_team {
            owned.entry(team).or_default().push(entry.service.clone());
        }
    }
    let teams = analytics::catalog::known_names(queries, NameKind::Team)
        .await?
        .into_iter()
        .map(|team| TeamEntry {
            parent: parents.get(&team).cloned(),
            services: owned.get(team.as_str()).cloned().unwrap_or_default(),
            team,
        })
        .collect();
    Ok(TeamsAndServices { teams, services })
}

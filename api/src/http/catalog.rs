//! `/api/v1/tables` (what the lake holds), `/api/v1/catalog` (the teams and
//! services) and the Backstage entity scorecard.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use ingest::lake::TableStats;

use super::extract::ApiQuery;
use super::state::AppState;
use crate::error::{Error, Result};
use crate::reports::dora::DoraParams;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tables", get(tables))
        .route("/catalog", get(catalog))
        .route(
            "/entities/{kind}/{namespace}/{name}/scorecard",
            get(entity_scorecard),
        )
}

/// The teams and services every report filter accepts.
///
/// Each team with its parent group and the services it owns now; each
/// service with its current owner.
#[utoipa::path(get, path = "/api/v1/catalog", tag = "catalog",
    responses((status = 200, description = "Teams and services",
        body = crate::reports::catalog::TeamsAndServices)))]
async fn catalog(
    State(state): State<AppState>,
) -> Result<Json<crate::reports::catalog::TeamsAndServices>> {
    Ok(Json(
        crate::reports::catalog::teams_and_services(&state.queries).await?,
    ))
}

/// Rows, files and bytes of each canonical table, and its quarantined files.
#[utoipa::path(get, path = "/api/v1/tables", tag = "lake",
    responses((status = 200, description = "One entry per table", body = Vec<TableStats>)))]
async fn tables(State(state): State<AppState>) -> Result<Json<Vec<TableStats>>> {
    Ok(Json(state.lake.table_stats().await?))
}

/// A Backstage entity's measures in one call.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Scorecard {
    /// `kind:namespace/name`.
    pub entity_ref: String,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub levels_source: String,
    /// The DORA metrics of the service, or of the services the team owned.
    pub dora: analytics::dora::DoraMetrics,
    /// The last full month's cost before the window's end.
    pub cost: crate::reports::cost::LastMonthCost,
    /// A team's DevEx measures (groups only; null when the team has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devex: Option<Option<analytics::devex::DevexMetrics>>,
}

/// A Backstage component's (service) or group's (team) measures.
///
/// Keyed by its entity ref: DORA, last month's cost and, for a group, the
/// DevEx measures.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/scorecard", tag = "catalog",
    params(
        ("kind" = String, Path, description = "`component` (a service) or `group` (a team)"),
        ("namespace" = String, Path, description = "The Backstage namespace, e.g. default"),
        ("name" = String, Path, description = "The entity's name: a service or a team"),
        ScorecardParams,
    ),
    responses((status = 200, description = "The scorecard", body = Scorecard)))]
async fn entity_scorecard(
    State(state): State<AppState>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    ApiQuery(params): ApiQuery<ScorecardParams>,
) -> Result<Json<Scorecard>> {
    let kind = kind.to_lowercase();
    let entity_ref = format!("{kind}:{namespace}/{name}");
    let (service, team) = match kind.as_str() {
        "component" => (Some(name.clone()), None),
        "group" => (None, Some(name.clone())),
        other => {
            return Err(Error::NotFound(format!(
                "entity kind `{other}` has no scorecard; devex knows component (a service) and group (a team)"
            )))
        }
    };
    let request = DoraParams {
        from: params.from.clone(),
        to: params.to.clone(),
        service,
        team: team.clone(),
        group_by: Some("none".into()),
        ..DoraParams::default()
    }
    .request(&state.config)?;
    let report = analytics::dora::report(&state.queries, &request).await?;
    // The last full month before the window's end.
    let owner = match &team {
        Some(team) => crate::reports::cost::CostOwner::Team(team),
        None => crate::reports::cost::CostOwner::Service(&name),
    };
    let cost =
        crate::reports::cost::last_full_month(&state.queries, &state.config, report.to, owner)
            .await?;
    let mut devex = None;
    if let Some(team) = team {
        let request = crate::reports::devex::DevexParams {
            from: Some(report.from.to_string()),
            to: Some(report.to.to_string()),
            team: Some(team.clone()),
            ..Default::default()
        }
        .request(&state.config)?;
        let loops = analytics::devex::report(&state.queries, &request).await?;
        devex = Some(
            loops
                .groups
                .into_iter()
                .find(|g| g.key.label() == Some(team.as_str()))
                .map(|g| g.metrics),
        );
    }
    Ok(Json(Scorecard {
        entity_ref,
        from: report.from,
        to: report.to,
        levels_source: report.levels_source,
        dora: report.overall,
        cost,
        devex,
    }))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ScorecardParams {
    /// First day (inclusive); default 90 days before `to`.
    #[param(value_type = Option<chrono::NaiveDate>)]
    from: Option<String>,
    /// Day after the window (exclusive); default tomorrow.
    #[param(value_type = Option<chrono::NaiveDate>)]
    to: Option<String>,
}

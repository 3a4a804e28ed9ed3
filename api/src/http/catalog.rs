//! `/api/v1/tables` (what the lake holds) and the Backstage entity
//! scorecard.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use ingest::lake::TableStats;

use super::extract::ApiQuery;
use super::state::AppState;
use crate::error::{Error, Result};
use crate::reports::dora::DoraParams;

pub fn routes() -> Router<AppState> {
    Router::new().route("/tables", get(tables)).route(
        "/entities/{kind}/{namespace}/{name}/scorecard",
        get(entity_scorecard),
    )
}

async fn tables(State(state): State<AppState>) -> Result<Json<Vec<TableStats>>> {
    Ok(Json(state.lake.table_stats().await?))
}

/// `?from&to`: a Backstage entity's measures in one call. A `component` is a
/// service, a `group` a team.
async fn entity_scorecard(
    State(state): State<AppState>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    ApiQuery(params): ApiQuery<ScorecardParams>,
) -> Result<Json<serde_json::Value>> {
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
    let mut body = serde_json::json!({
        "entity_ref": entity_ref,
        "from": report.from,
        "to": report.to,
        "levels_source": report.levels_source,
        "dora": report.overall,
    });
    // The last full month before the window's end.
    let owner = match &team {
        Some(team) => crate::reports::cost::CostOwner::Team(team),
        None => crate::reports::cost::CostOwner::Service(&name),
    };
    let cost =
        crate::reports::cost::last_full_month(&state.queries, &state.config, report.to, owner)
            .await?;
    body["cost"] = serde_json::to_value(&cost).map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(team) = team {
        let devex = crate::reports::devex::DevexParams {
            from: Some(report.from.to_string()),
            to: Some(report.to.to_string()),
            team: Some(team.clone()),
            ..Default::default()
        }
        .request(&state.config)?;
        let loops = analytics::devex::report(&state.queries, &devex).await?;
        body["devex"] = serde_json::to_value(
            loops
                .groups
                .iter()
                .find(|g| g.key.label() == Some(team.as_str()))
                .map(|g| &g.metrics),
        )
        .map_err(|e| Error::Internal(e.to_string()))?;
    }
    Ok(Json(body))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ScorecardParams {
    from: Option<String>,
    to: Option<String>,
}

//! The DevEx tables: the SQL files filled and materialized for a request,
//! and the derive stage's part.

use super::*;

/// The derive stage's share of the DevEx measures: materializes their
/// per-row tables for the default time zone (UTC) now, when events arrive,
/// so the first report after them does not pay for it.
pub async fn derive(
    queries: &LakeQueries,
    settings: &DevexSettings,
    dora: &DoraSettings,
) -> Result<()> {
    materialize_for(queries, chrono_tz::UTC, settings, dora)
        .await
        .map(|_| ())
}

/// The per-row tables, materialized once per lake content and time zone.
pub(super) async fn materialize(
    queries: &LakeQueries,
    request: &DevexRequest,
) -> Result<SessionContext> {
    materialize_for(queries, request.tz, &request.settings, &request.dora).await
}

pub(super) async fn materialize_for(
    queries: &LakeQueries,
    tz: Tz,
    settings: &DevexSettings,
    dora_settings: &DoraSettings,
) -> Result<SessionContext> {
    let dora = crate::dora::materialized_context(queries, dora_settings).await?;
    let change_lead_times = dora
        .table_provider("change_lead_times")
        .await
        .map_err(Error::Engine)?;
    let content = crate::template::content_key(queries, &crate::derive::DEVEX_INPUTS).await?;
    let key = format!(
        "devex:{content}:{}:{}:{}",
        tz.name(),
        dora_settings.production_pattern,
        settings.exclude_weekends
    );
    let tz_value = [("tz", tz.name().to_string())];
    let hours = if settings.exclude_weekends {
        "weekday_hours"
    } else {
        "elapsed_hours"
    };
    if let Some(context) = crate::template::materialized(queries, &key).await {
        return Ok(context);
    }
    // Services inside monorepos: which services each change belongs to.
    let mut functions = crate::paths::ServicePaths::load(queries).await?.functions();
    functions.extend([
        crate::durations::elapsed_hours_udf(),
        crate::durations::weekday_hours_udf(tz),
    ]);
    let tables = [
        ("repository_teams", REPOSITORY_TEAMS.to_string()),
        ("commit_scopes", COMMIT_SCOPES.to_string()),
        ("pull_request_scopes", PULL_REQUEST_SCOPES.to_string()),
        ("ci_attempts", CI_ATTEMPTS.to_string()),
        ("ci_flaky", CI_FLAKY.to_string()),
        (
            "pull_request_phases",
            fill(PULL_REQUEST_PHASES, &[("hours", hours.to_string())])?,
        ),
        ("pull_request_handoffs", PULL_REQUEST_HANDOFFS.to_string()),
        ("pull_request_lifetimes", PULL_REQUEST_LIFETIMES.to_string()),
        ("developer_days", fill(DEVELOPER_DAYS, &tz_value)?),
    ];
    // Unsorted: sorting ten million CI attempts costs more than the
    // team filter it would speed up.
    crate::template::materialize(
        queries,
        key,
        &tables,
        &[],
        &[("change_lead_times", change_lead_times)],
        crate::generations::held(&dora),
        functions,
    )
    .await
}

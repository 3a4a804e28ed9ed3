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
    let settings_key = format!(
        "{}:{}:{}",
        tz.name(),
        dora_settings.production_pattern,
        settings.exclude_weekends
    );
    let key = format!("devex:{content}:{settings_key}");
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
    let plan = crate::derive::incremental::Plan {
        key,
        settings: format!("devex:{settings_key}"),
        inputs: &crate::derive::DEVEX_INPUTS,
        rederive_all_on: &CATALOG,
        upstream: vec![crate::derive::incremental::Upstream {
            name: "change_lead_times",
            provider: change_lead_times,
            changes: CHANGED_DEPLOYMENTS.to_string(),
        }],
        steps: super::steps::steps(tz, hours)?,
        functions,
        leases: crate::generations::held(&dora),
    };
    crate::derive::incremental::materialize(queries, plan).await
}

/// The catalog decides every row's team and services: a change to it
/// derives every table again.
static CATALOG: [&ingest::schema::TableSpec; 2] =
    [&ingest::schema::SERVICES, &ingest::schema::TEAM_MEMBERS];

/// The merge commits whose first production deployment moved (a pull
/// request's deploy phase ends there).
const CHANGED_DEPLOYMENTS: &str = "\
    SELECT DISTINCT sha FROM ( \
        (SELECT sha, min(deployed_at) AS deployed_at FROM change_lead_times GROUP BY sha \
         EXCEPT SELECT sha, min(deployed_at) AS deployed_at FROM old_change_lead_times GROUP BY sha) \
        UNION ALL \
        (SELECT sha, min(deployed_at) AS deployed_at FROM old_change_lead_times GROUP BY sha \
         EXCEPT SELECT sha, min(deployed_at) AS deployed_at FROM change_lead_times GROUP BY sha))";

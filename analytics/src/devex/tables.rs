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
/// The per-row tables a report reads: over the lake's current content, or
/// in a server the newest derived while the next is derived (see
/// [`crate::published`]).
pub(crate) async fn materialize(
    queries: &LakeQueries,
    request: &DevexRequest,
) -> Result<SessionContext> {
    let (tz, settings, dora) = (request.tz, request.settings.clone(), request.dora.clone());
    let derive: crate::published::Derive = std::sync::Arc::new(move |queries| {
        let (settings, dora) = (settings.clone(), dora.clone());
        Box::pin(async move { materialize_for(&queries, tz, &settings, &dora).await })
    });
    let family = family(request.tz, &request.settings, &request.dora);
    crate::published::context(queries, &family, derive).await
}

/// The settings the DevEx tables depend on: generations with the same
/// family can be each other's base.
fn family(tz: Tz, settings: &DevexSettings, dora: &DoraSettings) -> String {
    format!(
        "devex:{}:{}:{}",
        tz.name(),
        dora.production_pattern,
        settings.exclude_weekends
    )
}

pub(super) async fn materialize_for(
    queries: &LakeQueries,
    tz: Tz,
    settings: &DevexSettings,
    dora_settings: &DoraSettings,
) -> Result<SessionContext> {
    // Before anything of the derive lists the lake.
    let data_as_of = crate::freshness::data_as_of(queries, &crate::derive::DEVEX_INPUTS).await?;
    let dora = crate::dora::derived_context(queries, dora_settings).await?;
    let change_lead_times = dora
        .table_provider("change_lead_times")
        .await
        .map_err(Error::Engine)?;
    let content = crate::template::content_key(queries, &crate::derive::DEVEX_INPUTS).await?;
    let family = family(tz, settings, dora_settings);
    let key = format!("{family}:{content}");
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
        settings: family,
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
        data_as_of,
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

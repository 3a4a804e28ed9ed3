//! The DORA tables: the SQL files filled and materialized in order, the
//! derive stage's part (the walk order) and the views exposed to `devex query`.

use super::*;

/// The per-deployment tables (production_deployments, incident_attribution,
/// change_lead_times, deployment_outcomes), computed once per lake content
/// and settings and kept in a small context, plus the template values of one
/// request. Reports then only aggregate a few thousand rows.
pub(super) struct DoraSql {
    pub(super) context: datafusion::prelude::SessionContext,
    pub(super) values: Vec<(&'static str, String)>,
}

impl DoraSql {
    pub(super) async fn prepare(
        queries: &LakeQueries,
        request: &DoraRequest,
        granularity: Option<Granularity>,
    ) -> Result<DoraSql> {
        let context = materialized_context(queries, &request.settings).await?;
        let period_unit = match granularity {
            Some(Granularity::Month) => "month",
            Some(Granularity::Week) => "week",
            None => "day",
        };
        let mut filter = String::new();
        if let Some(service) = &request.service {
            filter.push_str(&format!(" AND service = {}", sql_text(service)));
        }
        if let Some(team) = &request.team {
            filter.push_str(&format!(" AND team = {}", sql_text(team)));
        }
        let values = vec![
            // A chrono-tz name: letters, digits, `/`, `_`, `-`, `+`; safe inside quotes.
            ("tz", request.tz.name().to_string()),
            ("period_unit", period_unit.to_string()),
            ("filter", filter),
            ("from", sql_instant(request.start_of(request.from))),
            ("to", sql_instant(request.start_of(request.to))),
        ];
        let sql = DoraSql { context, values };
        sql.check_filter(queries, request).await?;
        Ok(sql)
    }

    /// A filter on a service or team nobody has heard of is a typo, not an
    /// empty report: say so, with the closest names that exist.
    pub(super) async fn check_filter(
        &self,
        queries: &LakeQueries,
        request: &DoraRequest,
    ) -> Result<()> {
        for (kind, value, sql) in [
            (
                NameKind::Service,
                &request.service,
                "SELECT service AS name FROM production_deployments \
                 UNION SELECT service AS name FROM services ORDER BY name",
            ),
            (
                NameKind::Team,
                &request.team,
                "SELECT team AS name FROM production_deployments WHERE team IS NOT NULL \
                 UNION SELECT owner_team AS name FROM services \
                 UNION SELECT team AS name FROM teams ORDER BY name",
            ),
        ] {
            let Some(value) = value else { continue };
            let result = self.query(queries, sql).await?;
            let known: Vec<String> = Columns::new(&result.batches)
                .text("name")?
                .into_iter()
                .flatten()
                .collect();
            if !known.contains(value) {
                return Err(Error::unknown_name(kind, value, &known));
            }
        }
        Ok(())
    }

    /// Runs one of the summary files with a group key and a period key.
    pub(super) async fn summary(
        &self,
        queries: &LakeQueries,
        template: &str,
        group_key: &str,
        period_key: &str,
    ) -> Result<crate::QueryResult> {
        let mut values = self.values.clone();
        values.push(("group_key", group_key.to_string()));
        let period_key = match period_key {
            "period_start" => {
                "date_trunc('{{period_unit}}', to_local_time(deployed_at AT TIME ZONE '{{tz}}'))"
            }
            other => other,
        };
        let sql = fill(&template.replace("{{period_key}}", period_key), &values)?;
        // Exact percentiles: one partition holds each value once (see
        // `read_only_sql_on_one_partition`).
        queries.metric_sql_on(&self.context, &sql, true).await
    }

    /// Runs a query over the materialized tables.
    pub(super) async fn query(
        &self,
        queries: &LakeQueries,
        body: &str,
    ) -> Result<crate::QueryResult> {
        let sql = fill(body, &self.values)?;
        queries.metric_sql_on(&self.context, &sql, false).await
    }
}

/// The four per-deployment tables for these settings over the lake's current
/// content, from the cache or computed now (one query per table, each reading
/// the previous ones from memory).
pub(super) async fn materialize(
    queries: &LakeQueries,
    settings: &DoraSettings,
    changes_table: &str,
    data_as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<datafusion::prelude::SessionContext> {
    let content = crate::template::content_key(queries, &crate::derive::DORA_INPUTS).await?;
    let family = family(settings)?;
    let key = format!("{family}:{content}:{changes_table}");

    let rework_message_match = if settings.rework_message_pattern.is_empty() {
        "false".to_string()
    } else {
        format!(
            "regexp_like(c.message_summary, {}, 'i')",
            sql_text(&settings.rework_message_pattern)
        )
    };
    let rework_label_match = if settings.rework_labels.is_empty() {
        "false".to_string()
    } else {
        // Labels match whatever their case, as on GitHub and GitLab.
        let labels: Vec<String> = settings
            .rework_labels
            .iter()
            .map(|l| sql_text(&l.to_lowercase()))
            .collect();
        format!(
            "coalesce(array_has_any(string_to_array(lower(array_to_string(labels, chr(31))), chr(31)), make_array({})), false)",
            labels.join(", ")
        )
    };
    let values = [
        ("production_pattern", sql_text(&settings.production_pattern)),
        ("ownership", crate::catalog::SERVICE_OWNERSHIP.to_string()),
        ("rework_message_match", rework_message_match),
        ("rework_label_match", rework_label_match),
        ("deployment_changes", "deployment_changes".to_string()),
    ];
    let changes = queries
        .context()
        .table_provider(changes_table)
        .await
        .map_err(Error::Engine)?;
    let plan = crate::derive::incremental::Plan {
        key,
        settings: family,
        inputs: &crate::derive::DORA_INPUTS,
        // The catalog decides every deployment's team.
        rederive_all_on: &CATALOG,
        upstream: vec![crate::derive::incremental::Upstream {
            name: "deployment_changes",
            provider: changes,
            changes: super::steps::CHANGED_WALK.to_string(),
        }],
        steps: super::steps::steps(&values)?,
        functions: vec![],
        // The deployment_changes generations the main context holds.
        leases: crate::generations::held(queries.context()),
        data_as_of,
    };
    crate::derive::incremental::materialize(queries, plan).await
}

static CATALOG: [&ingest::schema::TableSpec; 1] = [&ingest::schema::SERVICES];

/// The settings the DORA tables depend on: generations with the same
/// family can be each other's base.
fn family(settings: &DoraSettings) -> Result<String> {
    let key = serde_json::to_string(&(
        &settings.production_pattern,
        &settings.rework_message_pattern,
        &settings.rework_labels,
    ))
    .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(format!("dora:{key}"))
}

/// The DORA per-deployment tables a report reads, for the DORA measures and
/// others that need them (e.g. when a merge reached production): over the
/// lake's current content, or in a server the newest derived while the
/// next is derived (see [`crate::published`]).
pub(crate) async fn materialized_context(
    queries: &LakeQueries,
    settings: &DoraSettings,
) -> Result<datafusion::prelude::SessionContext> {
    let owned = settings.clone();
    let derive: crate::published::Derive = std::sync::Arc::new(move |queries| {
        let settings = owned.clone();
        Box::pin(async move { derived_context(&queries, &settings).await })
    });
    crate::published::context(queries, &family(settings)?, derive).await
}

/// The DORA per-deployment tables over the lake's current content, derived
/// now when they are not yet.
pub(crate) async fn derived_context(
    queries: &LakeQueries,
    settings: &DoraSettings,
) -> Result<datafusion::prelude::SessionContext> {
    // Before the walk lists the lake.
    let data_as_of = crate::freshness::data_as_of(queries, &crate::derive::DORA_INPUTS).await?;
    let changes_table = crate::derive::deployment_changes_table(
        queries,
        &settings.production_pattern,
        &walk_order_sql(settings)?,
    )
    .await?;
    materialize(queries, settings, &changes_table, data_as_of).await
}

/// Runs the derive stage for these settings now, so that the walk and the
/// per-deployment tables are computed when events arrive rather than in the
/// first report after them. Reports check the derived result is current and
/// derive on their own when it is not.
pub async fn derive(queries: &LakeQueries, settings: &DoraSettings) -> Result<()> {
    derived_context(queries, settings).await.map(|_| ())
}

/// production_deployments as the walk reads it (time zone and periods do
/// not matter there).
pub(crate) fn walk_order_sql(settings: &DoraSettings) -> Result<String> {
    fill(
        PRODUCTION_DEPLOYMENTS,
        &[
            ("production_pattern", sql_text(&settings.production_pattern)),
            ("ownership", crate::catalog::SERVICE_OWNERSHIP.to_string()),
            ("tz", "UTC".into()),
            ("period_unit", "day".into()),
        ],
    )
}

/// Registers the DORA per-deployment tables for `settings` under their own
/// names (production_deployments, incident_attribution, change_lead_times,
/// deployment_outcomes, deployment_changes) in the lake's query context, so
/// read-only SQL can explain any number row by row.
pub async fn expose(queries: &LakeQueries, settings: &DoraSettings) -> Result<()> {
    let context = materialized_context(queries, settings).await?;
    let main = queries.context();
    for name in [
        "production_deployments",
        "incident_attribution",
        "change_lead_times",
        "deployment_outcomes",
        "deployment_changes",
    ] {
        let provider = context.table_provider(name).await.map_err(Error::Engine)?;
        let _ = main.deregister_table(name);
        main.register_table(name, provider).map_err(Error::Engine)?;
    }
    Ok(())
}

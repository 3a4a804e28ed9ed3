//! What every metric module needs to run its SQL files: filling `{{name}}`
//! template values safely, windows of local days as UTC instants, and
//! per-row tables materialized once per lake content.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};
use crate::LakeQueries;

/// Materialized contexts kept per process (lake content x settings).
const KEPT_MATERIALIZED: usize = 6;

/// Quotes a value as a SQL string literal.
pub fn sql_text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A UTC instant as a SQL timestamp literal of the lake's type.
pub(crate) fn sql_instant(at: DateTime<Utc>) -> String {
    format!(
        "arrow_cast({}, 'Timestamp(µs, \"UTC\")')",
        at.timestamp_micros()
    )
}

/// Fills `{{name}}` placeholders; every placeholder must get a value.
pub(crate) fn fill(template: &str, values: &[(&str, String)]) -> Result<String> {
    let mut sql = template.to_string();
    for (name, value) in values {
        sql = sql.replace(&format!("{{{{{name}}}}}"), value);
    }
    match sql.find("{{") {
        Some(at) => Err(Error::Internal(format!(
            "unfilled template value near `{}`",
            &sql[at..(at + 40).min(sql.len())]
        ))),
        None => Ok(sql),
    }
}

/// The first instant of a local calendar day. Where midnight does not exist
/// (a DST gap at midnight), the first minute that does.
pub fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=24 * 60)
        .find_map(|minute| {
            tz.from_local_datetime(&(midnight + chrono::Duration::minutes(minute)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// A hash of the data files of `tables`: changes whenever any of them gains
/// or loses a file (files are named by content).
pub(crate) async fn content_key(
    queries: &LakeQueries,
    tables: &[&ingest::schema::TableSpec],
) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut key = Sha256::new();
    for table in tables {
        key.update(table.name.as_bytes());
        for (path, size) in queries.lake().data_files(table).await? {
            key.update(path.as_bytes());
            key.update(size.to_le_bytes());
        }
    }
    Ok(hex::encode(key.finalize()))
}

/// Runs `tables` (name, SQL) in order into in-memory tables of a scratch
/// context, each query able to read the ones before it, and keeps the
/// context under `key` so the next request with the same key reuses it.
pub(crate) async fn materialize(
    queries: &LakeQueries,
    key: String,
    tables: &[(&str, String)],
    extra_tables: &[(&str, Arc<dyn TableProvider>)],
    functions: Vec<datafusion::logical_expr::ScalarUDF>,
) -> Result<SessionContext> {
    let mut cache = queries.materialized().lock().await;
    if let Some((_, context)) = cache.iter().find(|(k, _)| *k == key) {
        return Ok(context.clone());
    }
    let started = std::time::Instant::now();
    let context = queries.scratch_context().await?;
    for function in functions {
        context.register_udf(function);
    }
    for (name, provider) in extra_tables {
        context
            .register_table(*name, provider.clone())
            .map_err(Error::Engine)?;
    }
    for (name, sql) in tables {
        let result = queries.read_only_sql_on(&context, sql).await?;
        // The batches' own schema: the plan's may differ in nullability.
        let schema = result
            .batches
            .first()
            .map(|b| b.schema())
            .unwrap_or(result.schema);
        let table = datafusion::datasource::MemTable::try_new(schema, vec![result.batches])
            .map_err(Error::Engine)?;
        context
            .register_table(*name, Arc::new(table))
            .map_err(Error::Engine)?;
    }
    tracing::debug!(
        key = %key,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "materialized tables"
    );
    cache.push((key, context.clone()));
    if cache.len() > KEPT_MATERIALIZED {
        cache.remove(0);
    }
    Ok(context)
}

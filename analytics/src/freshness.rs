//! How fresh an answer is: `data_as_of`, the newest event an answer's input
//! tables hold. Each event table's own time is its partition column (a
//! deployment's start, a commit's author date, a CI run's queue time, a
//! cost line's charge period start, an AI usage row's day), so only the newest month partition of
//! each table is read. Catalog tables have no event time and do not count.
//!
//! Kept per content of the tables (`template::content_key`): a report over an
//! unchanged lake does not read the tables again.

use chrono::{DateTime, TimeZone, Utc};
use ingest::schema::{ColumnKind, TableSpec, PARTITION_COLUMN};

use crate::error::Result;
use crate::LakeQueries;

/// The newest event time in `tables`, or `None` when they hold no events.
pub async fn data_as_of(
    queries: &LakeQueries,
    tables: &[&TableSpec],
) -> Result<Option<DateTime<Utc>>> {
    let key = format!(
        "{}:{}",
        tables.iter().map(|t| t.name).collect::<Vec<_>>().join(","),
        crate::template::content_key(queries, tables).await?
    );
    if let Some(known) = queries.freshness().lock().await.get(&key) {
        return Ok(*known);
    }
    let mut parts = Vec::new();
    for table in tables {
        let Some(column) = table.partition_by else {
            continue;
        };
        let files = queries.lake().data_files(table).await?;
        let newest_month = files.iter().filter_map(|(path, _)| month_of(path)).max();
        if let Some(month) = newest_month {
            // A day column counts from the day's start (UTC): an answer is
            // never said to be fresher than what it holds.
            let newest = match table.column(column) {
                Some((_, c)) if c.kind == ColumnKind::Date => format!(
                    "arrow_cast(max(\"{column}\"), 'Timestamp(Microsecond, Some(\"UTC\"))')"
                ),
                _ => format!("max(\"{column}\")"),
            };
            parts.push(format!(
                "SELECT {newest} AS at FROM {} WHERE {PARTITION_COLUMN} = '{month}'",
                table.name
            ));
        }
    }
    let newest = if parts.is_empty() {
        None
    } else {
        let sql = format!(
            "SELECT CAST(max(at) AS BIGINT) AS micros FROM ({})",
            parts.join(" UNION ALL ")
        );
        let result = queries.read_only_sql(&sql).await?;
        result
            .batches
            .first()
            .and_then(|batch| {
                batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .filter(|values| arrow::array::Array::is_valid(values, 0))
                    .map(|values| values.value(0))
            })
            .and_then(|micros| Utc.timestamp_micros(micros).single())
    };
    let mut known = queries.freshness().lock().await;
    if known.len() >= 64 {
        known.clear();
    }
    known.insert(key, newest);
    Ok(newest)
}

/// `data_as_of` of an answer read from `context`: its generation's (which
/// may be older than the lake while a newer one is derived), or the lake's
/// when `context` is not a generation.
pub(crate) async fn of_answer(
    queries: &LakeQueries,
    context: &datafusion::prelude::SessionContext,
    tables: &[&TableSpec],
) -> Result<Option<DateTime<Utc>>> {
    match crate::generations::data_as_of(context) {
        Some(at) => Ok(at),
        None => data_as_of(queries, tables).await,
    }
}

/// `YYYY-MM` from a data file's `month=YYYY-MM` partition folder.
fn month_of(path: &str) -> Option<&str> {
    path.split('/')
        .find_map(|part| part.strip_prefix("month="))
        .filter(|month| {
            month.len() == 7
                && month.bytes().enumerate().all(|(i, b)| {
                    if i == 4 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rows::append_deployment;
    use ingest::lake::Lake;
    use ingest::schema::{DEPLOYMENTS, INCIDENTS, SERVICES};
    use std::sync::Arc;

    #[tokio::test]
    async fn the_newest_event_of_the_newest_month_and_none_for_an_empty_lake() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
        let queries = LakeQueries::open(lake.clone()).await.unwrap();
        let tables = [&DEPLOYMENTS, &INCIDENTS, &SERVICES];
        assert_eq!(data_as_of(&queries, &tables).await.unwrap(), None);
        // 00:30 on February 1st at +01:00 is still January in UTC (the
        // partition's month), and the newest event.
        append_deployment(&lake, "1", "abc", "2026-01-31T23:00:00Z").await;
        append_deployment(&lake, "2", "abc", "2026-02-01T00:30:00+01:00").await;
        append_deployment(&lake, "3", "abc", "2026-01-15T08:00:00Z").await;
        let at = data_as_of(&queries, &tables).await.unwrap().unwrap();
        assert_eq!(at.to_rfc3339(), "2026-01-31T23:30:00+00:00");
        // A new month's file changes the content: the answer follows.
        append_deployment(&lake, "4", "abc", "2026-02-20T09:15:00Z").await;
        let at = data_as_of(&queries, &tables).await.unwrap().unwrap();
        assert_eq!(at.to_rfc3339(), "2026-02-20T09:15:00+00:00");
    }

    #[tokio::test]
    async fn a_day_counts_from_its_start_beside_timestamps() {
        use ingest::rows::{TableBuilder, Value};
        use ingest::schema::AI_USAGE;
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
        let queries = LakeQueries::open(lake.clone()).await.unwrap();
        append_deployment(&lake, "1", "abc", "2026-03-30T10:00:00Z").await;
        let mut usage = TableBuilder::new(&AI_USAGE);
        let mut row = vec![Value::Null; AI_USAGE.columns.len()];
        row[0] = Value::text("u1");
        row[1] = Value::text("pseudonym");
        row[2] = Value::text("copilot");
        // 2026-03-31 is day 20,543 since 1970-01-01.
        row[3] = Value::Date(20_543);
        row[4] = Value::text("ide");
        usage.push(row).unwrap();
        lake.append(&AI_USAGE, &usage.finish().unwrap())
            .await
            .unwrap();
        let at = data_as_of(&queries, &[&DEPLOYMENTS, &AI_USAGE])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(at.to_rfc3339(), "2026-03-31T00:00:00+00:00");
        let at = data_as_of(&queries, &[&AI_USAGE]).await.unwrap().unwrap();
        assert_eq!(at.to_rfc3339(), "2026-03-31T00:00:00+00:00");
    }

    #[test]
    fn the_month_comes_from_the_partition_folder_only_when_well_formed() {
        assert_eq!(
            month_of("deployments/month=2026-11/part-abc.parquet"),
            Some("2026-11")
        );
        assert_eq!(month_of("deployments/part-abc.parquet"), None);
        assert_eq!(month_of("deployments/month=2026-1x/part.parquet"), None);
        assert_eq!(month_of("deployments/month=2026'--/part.parquet"), None);
    }
}

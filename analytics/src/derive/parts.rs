//! Derived tables stored in parts: one Parquet file per month of a table's
//! time column (`<table>/<YYYY-MM>.parquet`, `none` for rows without one,
//! `all` for tables without a time column). An incremental derive rewrites
//! only the parts whose rows changed and links the others from the previous
//! generation: a file swap, not a rewrite of the table.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, StringArray};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::LakeQueries;

/// The column the writer routes rows by; never stored.
const PART_COLUMN: &str = "__devex_part";

/// The part of a table without any row: it gives the table its schema.
pub(crate) const EMPTY_PART: &str = "empty";

/// SQL naming the part of a row: the month of `month_of`, or `all`.
pub(crate) fn part_label_sql(month_of: Option<&str>) -> String {
    match month_of {
        Some(column) => {
            format!("coalesce(to_char(date_trunc('month', \"{column}\"), '%Y-%m'), 'none')")
        }
        None => "'all'".to_string(),
    }
}

/// The file of part `label` of `table` in generation folder `folder`
/// (relative to `_derived/`).
pub(crate) fn part_file(folder: &str, table: &str, label: &str) -> String {
    format!("{folder}/{table}/{label}.parquet")
}

/// Runs `sql` and writes its rows into the parts of `table` under `folder`,
/// each row to the part `part_label_sql(month_of)` names, sorted by those
/// of `sort_by` it has (a filter on them then skips most row groups).
/// Streams: a part holds at most one row group in memory; only the sort
/// holds every row. A result without rows still writes the schema (the
/// `empty` part). Returns the labels written.
pub(crate) async fn write_parts(
    queries: &LakeQueries,
    context: &SessionContext,
    sql: &str,
    (month_of, sort_by): (Option<&str>, &[&str]),
    folder: &str,
    table: &str,
) -> Result<Vec<String>> {
    let labelled = format!(
        "SELECT *, {} AS {PART_COLUMN} FROM ({sql})",
        part_label_sql(month_of)
    );
    let frame = context.sql(&labelled).await.map_err(Error::Engine)?;
    let sort: Vec<_> = sort_by
        .iter()
        .filter(|name| frame.schema().fields().iter().any(|f| f.name() == *name))
        .map(|name| datafusion::prelude::ident(*name).sort(true, true))
        .collect();
    let frame = if sort.is_empty() {
        frame
    } else {
        frame.sort(sort).map_err(Error::Engine)?
    };
    let plan_schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
    let stored = stored_schema(&plan_schema);
    let mut stream = frame.execute_stream().await.map_err(Error::Engine)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(65_536))
        .build();
    let mut writers: HashMap<String, ArrowWriter<ingest::lake::DerivedFile>> = HashMap::new();
    let open = |label: &str| -> Result<ArrowWriter<ingest::lake::DerivedFile>> {
        let file = queries
            .lake()
            .create_derived_file(&part_file(folder, table, label))?;
        ArrowWriter::try_new(file, stored.clone(), Some(properties.clone()))
            .map_err(|e| Error::Internal(format!("writing {table}: {e}")))
    };
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(Error::Engine)?;
        let labels = batch
            .column(batch.num_columns() - 1)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::Internal("part label is not text".into()))?
            .clone();
        let values = RecordBatch::try_new(
            stored.clone(),
            batch.columns()[..batch.num_columns() - 1].to_vec(),
        )
        .map_err(|e| Error::Internal(format!("writing {table}: {e}")))?;
        let mut distinct: Vec<&str> = labels.iter().flatten().collect();
        distinct.sort_unstable();
        distinct.dedup();
        for label in distinct {
            let mask: BooleanArray = labels.iter().map(|l| Some(l == Some(label))).collect();
            let rows = arrow::compute::filter_record_batch(&values, &mask)
                .map_err(|e| Error::Internal(format!("writing {table}: {e}")))?;
            let writer = match writers.get_mut(label) {
                Some(writer) => writer,
                None => writers.entry(label.to_string()).or_insert(open(label)?),
            };
            writer
                .write(&rows)
                .map_err(|e| Error::Internal(format!("writing {table}: {e}")))?;
        }
    }
    if writers.is_empty() {
        writers.insert(EMPTY_PART.to_string(), open(EMPTY_PART)?);
    }
    let mut labels = Vec::new();
    for (label, writer) in writers {
        let file = writer
            .into_inner()
            .map_err(|e| Error::Internal(format!("writing {table}: {e}")))?;
        file.commit()?;
        labels.push(label);
    }
    labels.sort();
    Ok(labels)
}

/// The stored schema: the plan's without the label, every column nullable
/// (plans of the same SQL differ in nullability; parts must not).
fn stored_schema(plan: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = plan
        .fields()
        .iter()
        .filter(|f| f.name() != PART_COLUMN)
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// The labels of the parts of `table` in generation `folder`.
pub(crate) fn labels(queries: &LakeQueries, folder: &str, table: &str) -> Vec<String> {
    let dir = queries.lake().derived_path(&format!("{folder}/{table}"));
    let mut labels: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".parquet")
                        .filter(|_| !name.starts_with('.'))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    labels
}

/// The parts `labels` of `table` in generation `folder` as one table (all
/// of them when `labels` is `None`), read where they lie. `None` when the
/// table has no part.
pub(crate) fn table(
    queries: &LakeQueries,
    folder: &str,
    table: &str,
    labels: Option<&[String]>,
) -> Result<Option<Arc<dyn TableProvider>>> {
    let all = self::labels(queries, folder, table);
    if all.is_empty() {
        return Ok(None);
    }
    let chosen: Vec<&String> = match labels {
        Some(wanted) => all.iter().filter(|l| wanted.contains(l)).collect(),
        None => all.iter().collect(),
    };
    if chosen.is_empty() {
        // No rows, with the table's schema (any part has it).
        let any = files_table(queries, &[part_file(folder, table, &all[0])])?;
        let empty = datafusion::datasource::MemTable::try_new(any.schema(), vec![vec![]])
            .map_err(Error::Engine)?;
        return Ok(Some(Arc::new(empty)));
    }
    let files: Vec<String> = chosen
        .iter()
        .map(|label| part_file(folder, table, label))
        .collect();
    files_table(queries, &files).map(Some)
}

/// Derived files (relative to `_derived/`) as one table, with the first
/// one's schema.
pub(crate) fn files_table(
    queries: &LakeQueries,
    files: &[String],
) -> Result<Arc<dyn TableProvider>> {
    let paths: Vec<_> = files
        .iter()
        .map(|f| queries.lake().derived_path(f))
        .collect();
    crate::parquet_files_table(&paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rows_go_to_the_part_of_their_month_and_an_empty_result_keeps_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(ingest::lake::Lake::create_or_open(dir.path()).unwrap());
        let queries = LakeQueries::open(lake).await.unwrap();
        let context = SessionContext::new();
        let sql = "SELECT * FROM (VALUES \
            (1, arrow_cast('2026-01-31T23:59:59Z', 'Timestamp(Microsecond, Some(\"UTC\"))')), \
            (2, arrow_cast('2026-02-01T00:00:00Z', 'Timestamp(Microsecond, Some(\"UTC\"))')), \
            (3, arrow_cast(NULL, 'Timestamp(Microsecond, Some(\"UTC\"))'))) AS t(n, at)";
        let labels = write_parts(&queries, &context, sql, (Some("at"), &[]), "g", "t")
            .await
            .unwrap();
        assert_eq!(labels, ["2026-01", "2026-02", "none"]);
        let february = table(&queries, "g", "t", Some(&["2026-02".to_string()]))
            .unwrap()
            .unwrap();
        context.register_table("february", february).unwrap();
        let rows = context
            .sql("SELECT n FROM february")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let n = rows[0]
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        assert_eq!(n.values(), &[2]);

        let empty = write_parts(
            &queries,
            &context,
            &format!("{sql} WHERE n > 5"),
            (None, &["n"]),
            "g",
            "e",
        )
        .await
        .unwrap();
        assert_eq!(empty, [EMPTY_PART]);
        let provider = table(&queries, "g", "e", None).unwrap().unwrap();
        assert_eq!(provider.schema().fields().len(), 2);
        assert!(table(&queries, "g", "missing", None).unwrap().is_none());
    }
}

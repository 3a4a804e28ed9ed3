//! Incremental equals from scratch: the demo's events, split into random
//! batches (mostly in time order, some rows arriving late), derived one
//! batch at a time, leave every table equal to a derive from scratch of a
//! copy of the same lake.

use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use ingest::lake::Lake;
use ingest::schema::TableSpec;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

use super::*;
use crate::devex::DevexSettings;
use crate::dora::DoraSettings;

/// Every input row of the derive stage in the demo (small scale, two
/// months), by table, generated once.
fn demo_rows() -> &'static Vec<(&'static TableSpec, RecordBatch)> {
    static ROWS: std::sync::OnceLock<Vec<(&'static TableSpec, RecordBatch)>> =
        std::sync::OnceLock::new();
    ROWS.get_or_init(|| {
        runtime().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
            let options = ingest::demo::DemoOptions {
                seed: 11,
                scale: 0.1,
                end: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                months: 2,
            };
            ingest::demo::generate(&lake, &options, &ingest::progress::NoProgress)
                .await
                .unwrap();
            let queries = LakeQueries::open(lake).await.unwrap();
            let mut rows = Vec::new();
            for table in crate::derive::INPUTS {
                let columns: Vec<String> = table
                    .columns
                    .iter()
                    .map(|c| format!("\"{}\"", c.name))
                    .collect();
                let result = queries
                    .read_only_sql(&format!(
                        "SELECT {} FROM {}",
                        columns.join(", "),
                        table.name
                    ))
                    .await
                    .unwrap();
                let all = arrow::compute::concat_batches(&result.schema, &result.batches).unwrap();
                let canonical =
                    RecordBatch::try_new(table.schema(), all.columns().to_vec()).unwrap();
                rows.push((table, canonical));
            }
            rows
        })
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Each row's batch: its place in time order, or with `late` odds a later
/// batch; the catalog comes first.
fn batches_of(
    table: &TableSpec,
    rows: &RecordBatch,
    count: usize,
    late: f64,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); count];
    let Some(time) = table.partition_by else {
        out[0] = (0..rows.num_rows() as u32).collect();
        return out;
    };
    let times = rows.column_by_name(time).unwrap();
    let times = arrow::compute::cast(times, &arrow::datatypes::DataType::Int64).unwrap();
    let times = times
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap();
    let mut order: Vec<u32> = (0..rows.num_rows() as u32).collect();
    order.sort_by_key(|&i| times.value(i as usize));
    for (rank, &row) in order.iter().enumerate() {
        let in_time = rank * count / order.len().max(1);
        let batch = if rng.gen_bool(late) {
            rng.gen_range(in_time..count)
        } else {
            in_time
        };
        out[batch].push(row);
    }
    out
}

/// The rows of `table` in the newest generation of `lake`, as sorted text.
async fn table_rows(queries: &LakeQueries, table: &str) -> Vec<String> {
    let files = queries
        .lake()
        .derived_files(crate::template::MATERIALIZED_FOLDER)
        .await
        .unwrap();
    let mut newest: Option<(u64, String)> = None;
    for (path, _) in files {
        if let Some(generation) = path.strip_suffix("/manifest.json") {
            let folder = format!("{}/{generation}", crate::template::MATERIALIZED_FOLDER);
            let manifest = read_manifest(queries, &folder).unwrap();
            if manifest.settings.starts_with("devex:")
                && newest
                    .as_ref()
                    .is_none_or(|(g, _)| manifest.generation > *g)
            {
                newest = Some((manifest.generation, folder));
            }
        }
    }
    let (_, folder) = newest.unwrap();
    let provider = parts::table(queries, &folder, table, None)
        .unwrap()
        .unwrap();
    let context = SessionContext::new();
    context.register_table("t", provider).unwrap();
    let batches = context
        .sql("SELECT * FROM t")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let options = FormatOptions::default().with_null("∅");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            rows.push(cells.join(" | "));
        }
    }
    rows.sort();
    rows
}

/// How the newest devex generation of the lake was made.
async fn newest_made(queries: &LakeQueries) -> String {
    let root = crate::template::MATERIALIZED_FOLDER;
    let mut newest: Option<Manifest> = None;
    for (path, _) in queries.lake().derived_files(root).await.unwrap() {
        if let Some(generation) = path.strip_suffix("/manifest.json") {
            let manifest = read_manifest(queries, &format!("{root}/{generation}")).unwrap();
            if newest
                .as_ref()
                .is_none_or(|n| manifest.generation > n.generation)
            {
                newest = Some(manifest);
            }
        }
    }
    newest.map(|m| m.made).unwrap_or_default()
}

/// Copies the lake's data (not its derived tables) to a new folder.
fn copy_data(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        let target = to.join(&name);
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_data(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

const TABLES: [&str; 9] = [
    "repository_teams",
    "commit_scopes",
    "pull_request_scopes",
    "ci_attempts",
    "ci_flaky",
    "pull_request_phases",
    "pull_request_handoffs",
    "pull_request_lifetimes",
    "developer_days",
];

async fn derive(queries: &LakeQueries) {
    crate::derive::run(queries, &DoraSettings::default(), &DevexSettings::default())
        .await
        .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_from_scratch(seed in any::<u64>(), count in 2usize..=4, late in 0.0f64..0.3) {
        let rows = demo_rows();
        runtime().block_on(async {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let split: Vec<_> = rows
                .iter()
                .map(|(table, batch)| (*table, batch, batches_of(table, batch, count, late, &mut rng)))
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
            let queries = LakeQueries::open(lake.clone()).await.unwrap();
            for n in 0..count {
                for (table, batch, batches) in &split {
                    let indices = UInt32Array::from(batches[n].clone());
                    let part = arrow::compute::take_record_batch(batch, &indices).unwrap();
                    lake.append(table, &part).await.unwrap();
                }
                derive(&queries).await;
                let made = newest_made(&queries).await;
                if n == 0 {
                    prop_assert!(made.starts_with("from scratch"), "{made}");
                } else {
                    prop_assert!(made.starts_with("incremental"), "batch {n}: {made}");
                }
                let scratch_dir = tempfile::tempdir().unwrap();
                copy_data(dir.path(), scratch_dir.path());
                let scratch = LakeQueries::open(Arc::new(Lake::create_or_open(scratch_dir.path()).unwrap()))
                    .await
                    .unwrap();
                derive(&scratch).await;
                for table in TABLES {
                    let incremental = table_rows(&queries, table).await;
                    let full = table_rows(&scratch, table).await;
                    prop_assert_eq!(
                        incremental.len(), full.len(),
                        "{} after batch {} of {} (late {})", table, n, count, late
                    );
                    for (a, b) in incremental.iter().zip(&full) {
                        prop_assert_eq!(a, b, "{} after batch {}", table, n);
                    }
                }
            }
            Ok(())
        })?;
    }
}

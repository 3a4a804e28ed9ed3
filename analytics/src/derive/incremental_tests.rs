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

/// Each row's batch: the one its time falls in (`cuts` are the batches'
/// first instants after the first's), or with `late` odds a later batch.
/// A table skips a batch now and then (its source delivers later, all at
/// once), so a batch may bring incidents and no deployments. The catalog
/// comes first.
fn batches_of(
    table: &TableSpec,
    rows: &RecordBatch,
    cuts: &[i64],
    late: f64,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Vec<Vec<u32>> {
    let count = cuts.len() + 1;
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
    let delivers: Vec<bool> = (0..count)
        .map(|b| b == count - 1 || rng.gen_bool(0.6))
        .collect();
    let delivered = |batch: usize| (batch..count).find(|&b| delivers[b]).unwrap_or(count - 1);
    for row in 0..rows.num_rows() {
        let slice = cuts.partition_point(|&cut| cut <= times.value(row));
        let batch = if rng.gen_bool(late) {
            rng.gen_range(slice..count)
        } else {
            slice
        };
        let batch = delivered(batch);
        out[batch].push(row as u32);
    }
    out
}

/// `count - 1` random cut instants over the demo's two months (2026-01 and
/// -02), the last now and then in the final hours: a small batch, as from
/// a few webhook deliveries, touches only some services.
fn cuts(count: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<i64> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .timestamp_micros();
    let end = start + 59 * 86_400_000_000;
    let mut cuts: Vec<i64> = (1..count).map(|_| rng.gen_range(start..end)).collect();
    cuts.sort_unstable();
    if rng.gen_bool(0.5) {
        if let Some(last) = cuts.last_mut() {
            *last = end - rng.gen_range(1..48) * 3_600_000_000;
        }
    }
    cuts
}

/// The folder of the newest generation whose settings start with `kind`.
async fn newest_folder(queries: &LakeQueries, kind: &str) -> String {
    let root = crate::template::MATERIALIZED_FOLDER;
    let mut newest: Option<(u64, String)> = None;
    for (path, _) in queries.lake().derived_files(root).await.unwrap() {
        if let Some(generation) = path.strip_suffix("/manifest.json") {
            let folder = format!("{root}/{generation}");
            let manifest = read_manifest(queries, &folder).unwrap();
            if manifest.settings.starts_with(kind)
                && newest
                    .as_ref()
                    .is_none_or(|(g, _)| manifest.generation > *g)
            {
                newest = Some((manifest.generation, folder));
            }
        }
    }
    newest.unwrap().1
}

/// The rows of `table` in the newest generation of `kind`, as sorted text.
async fn table_rows(queries: &LakeQueries, kind: &str, table: &str) -> Vec<String> {
    let folder = newest_folder(queries, kind).await;
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

/// Every generation in the lake, for a failure's message.
async fn generations_seen(queries: &LakeQueries) -> String {
    let root = crate::template::MATERIALIZED_FOLDER;
    let mut out = String::new();
    for (path, written) in queries.lake().derived_files(root).await.unwrap() {
        out.push_str(&format!("{path} {written}\n"));
        if let Some(generation) = path.strip_suffix("/manifest.json") {
            let folder = format!("{root}/{generation}");
            if let Some(m) = read_manifest(queries, &folder) {
                let tables = m.tables.clone();
                out.push_str(&format!(
                    "  generation {} settings {} made {} readable {} tables {:?}\n",
                    m.generation,
                    m.settings,
                    m.made,
                    readable(queries, &folder, &tables),
                    tables
                ));
            }
        }
    }
    out
}

/// How the newest generation of `kind` was made.
async fn newest_made(queries: &LakeQueries, kind: &str) -> String {
    let folder = newest_folder(queries, kind).await;
    read_manifest(queries, &folder).unwrap().made
}

/// Derives whose tables could not be kept (a lake error), by lake folder:
/// a derive that falls back to memory writes no generation, and a test
/// should say why rather than find the previous one.
static NOT_KEPT: std::sync::Mutex<Vec<(std::path::PathBuf, String)>> =
    std::sync::Mutex::new(Vec::new());

pub(super) fn not_kept(queries: &LakeQueries, error: &ingest::Error) {
    let root = queries.lake().derived_path("");
    NOT_KEPT.lock().unwrap().push((root, error.to_string()));
}

fn assert_kept(queries: &LakeQueries) {
    let root = queries.lake().derived_path("");
    let errors: Vec<String> = NOT_KEPT
        .lock()
        .unwrap()
        .iter()
        .filter(|(r, _)| *r == root)
        .map(|(_, e)| e.clone())
        .collect();
    assert!(errors.is_empty(), "derived tables not kept: {errors:?}");
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

const TABLES: [(&str, &str); 13] = [
    ("dora:", "production_deployments"),
    ("dora:", "incident_attribution"),
    ("dora:", "change_lead_times"),
    ("dora:", "deployment_outcomes"),
    ("devex:", "repository_teams"),
    ("devex:", "commit_scopes"),
    ("devex:", "pull_request_scopes"),
    ("devex:", "ci_attempts"),
    ("devex:", "ci_flaky"),
    ("devex:", "pull_request_phases"),
    ("devex:", "pull_request_handoffs"),
    ("devex:", "pull_request_lifetimes"),
    ("devex:", "developer_days"),
];

async fn derive(queries: &LakeQueries) {
    crate::derive::run(queries, &DoraSettings::default(), &DevexSettings::default())
        .await
        .unwrap();
}

/// Every table of the newest generations equals a derive from scratch of
/// a copy of the lake's data.
async fn assert_equals_from_scratch(dir: &std::path::Path, queries: &LakeQueries, what: &str) {
    let scratch_dir = tempfile::tempdir().unwrap();
    copy_data(dir, scratch_dir.path());
    let scratch = LakeQueries::open(Arc::new(Lake::create_or_open(scratch_dir.path()).unwrap()))
        .await
        .unwrap();
    derive(&scratch).await;
    for (kind, table) in TABLES {
        let incremental = table_rows(queries, kind, table).await;
        let full = table_rows(&scratch, kind, table).await;
        assert_eq!(incremental, full, "{table} {what}");
    }
}

/// Only the parts whose rows changed are written again: the other
/// service's February row stays, in a part linked from the base.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_alone_fails_the_deployment_before_it_in_the_next_generation() {
    use crate::test_rows::append_deployment_of;
    use ingest::rows::{TableBuilder, Value};
    let dir = tempfile::tempdir().unwrap();
    let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
    let queries = LakeQueries::open(lake.clone()).await.unwrap();
    append_deployment_of(&lake, "pay", "0", "sha0", "2026-02-10T10:00:00Z").await;
    append_deployment_of(&lake, "shop", "s", "shas", "2026-02-11T10:00:00Z").await;
    append_deployment_of(&lake, "pay", "1", "sha1", "2026-03-02T10:00:00Z").await;
    append_deployment_of(&lake, "pay", "2", "sha2", "2026-03-05T10:00:00Z").await;
    derive(&queries).await;

    // Opened between 1 and 2: the first one's, by time.
    let mut incident = TableBuilder::new(&ingest::schema::INCIDENTS);
    let opened = chrono::DateTime::parse_from_rfc3339("2026-03-03T12:00:00Z").unwrap();
    incident
        .push(vec![
            Value::text("inc-1"),
            Value::text("pay"),
            Value::text("1"),
            Value::Null,
            Value::Timestamp(opened.timestamp_micros()),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ])
        .unwrap();
    lake.append(&ingest::schema::INCIDENTS, &incident.finish().unwrap())
        .await
        .unwrap();
    derive(&queries).await;
    assert_eq!(newest_made(&queries, "dora:").await, "incremental (2 keys)");
    let folder = newest_folder(&queries, "dora:").await;
    let context = SessionContext::new();
    let outcomes = parts::table(&queries, &folder, "deployment_outcomes", None)
        .unwrap()
        .unwrap();
    context.register_table("outcomes", outcomes).unwrap();
    let rows = context
        .sql("SELECT deployment_id || ':' || incidents || ':' || failed AS row FROM outcomes ORDER BY deployment_id")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let rows = crate::columns::Columns::new(&rows).text("row").unwrap();
    assert_eq!(
        rows,
        [
            Some("0:0:false".to_string()),
            Some("1:1:true".to_string()),
            Some("2:0:false".to_string()),
            Some("s:0:false".to_string()),
        ]
    );
    let folder_files = |table: &str| parts::labels(&queries, &folder, table);
    assert_eq!(folder_files("deployment_outcomes"), ["2026-02", "2026-03"]);
    assert_equals_from_scratch(dir.path(), &queries, "after an incident alone").await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_from_scratch(seed in any::<u64>(), count in 2usize..=5, late in 0.0f64..0.3) {
        let rows = demo_rows();
        runtime().block_on(async {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let cuts = cuts(count, &mut rng);
            let split: Vec<_> = rows
                .iter()
                .map(|(table, batch)| (*table, batch, batches_of(table, batch, &cuts, late, &mut rng)))
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
            let serving = LakeQueries::open(lake.clone()).await.unwrap();
            // Keeps its commit graph between derives.
            serving.answer_while_deriving();
            for n in 0..count {
                // The server's background derive, started by the previous
                // batch's reads, ends first: this test is about incremental
                // equals from scratch, not about two derives at once.
                crate::published::background_idle(&serving).await;
                for (table, batch, batches) in &split {
                    let indices = UInt32Array::from(batches[n].clone());
                    let part = arrow::compute::take_record_batch(batch, &indices).unwrap();
                    lake.append(table, &part).await.unwrap();
                }
                // As a server (holding earlier generations) and as a CLI
                // process (holding nothing) would.
                let fresh;
                let queries: &LakeQueries = if n % 2 == 1 {
                    fresh = LakeQueries::open(lake.clone()).await.unwrap();
                    &fresh
                } else {
                    &serving
                };
                derive(queries).await;
                assert_kept(queries);
                for kind in ["dora:", "devex:"] {
                    let made = newest_made(queries, kind).await;
                    if n > 0 && made.starts_with("from scratch") {
                        eprintln!("{}", generations_seen(queries).await);
                    }
                    if n == 0 {
                        prop_assert!(made.starts_with("from scratch"), "{kind} {made}");
                    } else {
                        prop_assert!(made.starts_with("incremental"), "{kind} batch {n}: {made}");
                    }
                }
                assert_equals_from_scratch(
                    dir.path(),
                    queries,
                    &format!("after batch {n} of {count} (late {late})"),
                )
                .await;
            }
            crate::published::background_idle(&serving).await;
            Ok(())
        })?;
    }
}

#[test]
#[ignore = "diagnostics: many two-batch runs"]
fn many_two_batch_runs() {
    let rows = demo_rows();
    let first: u64 = std::env::var("SEED0")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    for seed in first..first + 200 {
        runtime().block_on(async {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let cuts = cuts(2, &mut rng);
            let split: Vec<_> = rows
                .iter()
                .map(|(table, batch)| {
                    (
                        *table,
                        batch,
                        batches_of(table, batch, &cuts, 0.1, &mut rng),
                    )
                })
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
            let serving = LakeQueries::open(lake.clone()).await.unwrap();
            serving.answer_while_deriving();
            for n in 0..2 {
                for (table, batch, batches) in &split {
                    let indices = UInt32Array::from(batches[n].clone());
                    let part = arrow::compute::take_record_batch(batch, &indices).unwrap();
                    lake.append(table, &part).await.unwrap();
                }
                let fresh;
                let queries: &LakeQueries = if n == 1 {
                    fresh = LakeQueries::open(lake.clone()).await.unwrap();
                    &fresh
                } else {
                    &serving
                };
                if n == 1 {
                    eprintln!("seed {seed} before: {}", generations_seen(queries).await);
                }
                derive(queries).await;
                assert_kept(queries);
                for kind in ["dora:", "devex:"] {
                    let made = newest_made(queries, kind).await;
                    if n == 1 && !made.starts_with("incremental") {
                        panic!(
                            "seed {seed} {kind} {made}\n{}",
                            generations_seen(queries).await
                        );
                    }
                }
            }
        });
        eprintln!("seed {seed} ok");
    }
}

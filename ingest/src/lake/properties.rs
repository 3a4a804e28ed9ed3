//! Property: whatever the order and duplication of appended batches, the
//! lake ends up with each event once, and the same rows.

use std::collections::BTreeMap;

use arrow::array::{Array, StringArray};
use proptest::prelude::*;

use super::Lake;
use crate::rows::{TableBuilder, Value};
use crate::schema::INCIDENTS;

/// An incident row of id `n`, opened on a day of March or April 2026 (two
/// partitions), its sha telling which id it is.
fn incident(n: u8) -> Vec<Value> {
    let day = 1 + i64::from(n % 50);
    let opened = chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .unwrap()
        .timestamp_micros()
        + day * 86_400_000_000;
    vec![
        Value::text(format!("incident-{n}")),
        Value::text("payments"),
        Value::text(format!("INC-{n}")),
        Value::Null,
        Value::Timestamp(opened),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::text(format!("sha{n}")),
    ]
}

/// event id -> sha, over every data file of the incidents table.
fn contents(dir: &std::path::Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.join("incidents")];
    while let Some(folder) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "parquet") {
                continue;
            }
            let file = std::fs::File::open(&path).unwrap();
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .unwrap()
                    .build()
                    .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                let ids = batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap();
                let title = batch
                    .column_by_name("sha")
                    .unwrap()
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap();
                for i in 0..batch.num_rows() {
                    let previous = out.insert(ids.value(i).to_string(), title.value(i).to_string());
                    assert!(previous.is_none(), "{} stored twice", ids.value(i));
                }
            }
        }
    }
    out
}

fn store(batches: &[Vec<u8>]) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let lake = Lake::create_or_open(dir.path()).unwrap();
        for ids in batches {
            let mut builder = TableBuilder::new(&INCIDENTS);
            for id in ids {
                builder.push(incident(*id)).unwrap();
            }
            lake.append(&INCIDENTS, &builder.finish().unwrap())
                .await
                .unwrap();
        }
    });
    contents(dir.path())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_order_and_duplication_gives_the_same_lake(
        batches in prop::collection::vec(prop::collection::vec(0u8..40, 0..12), 1..8),
        seed in any::<u64>(),
    ) {
        // The same events, every batch sent again and the order shuffled.
        let mut again: Vec<Vec<u8>> = batches.iter().chain(batches.iter()).cloned().collect();
        let mut state = seed;
        for i in (1..again.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            again.swap(i, (state >> 33) as usize % (i + 1));
        }
        let once = store(&batches);
        let shuffled = store(&again);
        let expected: BTreeMap<String, String> = batches
            .iter()
            .flatten()
            .map(|n| (format!("incident-{n}"), format!("sha{n}")))
            .collect();
        prop_assert_eq!(&once, &expected);
        prop_assert_eq!(&shuffled, &expected);
    }
}

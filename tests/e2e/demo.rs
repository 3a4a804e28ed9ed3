//! The demo generator is reproducible: the same seed and end date give the
//! same lake, file for file and byte for byte.

use crate::support::*;

fn demo(seed: &str) -> tempfile::TempDir {
    let lake = tempfile::tempdir().unwrap();
    let output = demo_into(lake.path(), seed);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("rows stored"),
        "{}",
        stdout(&output)
    );
    lake
}

fn demo_into(lake: &std::path::Path, seed: &str) -> std::process::Output {
    run(&[
        "demo",
        "--lake",
        lake.to_str().unwrap(),
        "--seed",
        seed,
        "--scale",
        "0.25",
        "--months",
        "4",
        "--end",
        "2026-06-01",
    ])
}

fn contents(lake: &tempfile::TempDir) -> Vec<(String, Vec<u8>)> {
    snapshot(lake.path())
        .into_iter()
        // Materialized tables are caches of parallel queries: the same rows,
        // not always in the same order (the report tests check their numbers).
        .filter(|(p, _)| !p.starts_with("_devex") && !p.starts_with("_derived/materialized"))
        .collect()
}

#[test]
fn same_seed_same_lake_other_seed_other_lake() {
    let a = demo("11");
    let b = demo("11");
    let c = demo("12");
    let (a, b, c) = (contents(&a), contents(&b), contents(&c));
    assert!(
        a.len() >= 14,
        "expected files for every table, got {}",
        a.len()
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn running_the_demo_twice_adds_nothing() {
    let lake = demo("5");
    let before = contents(&lake);
    let output = demo_into(lake.path(), "5");
    assert!(output.status.success());
    assert!(
        stdout(&output).contains(": 0 rows stored"),
        "{}",
        stdout(&output)
    );
    assert_eq!(contents(&lake), before);
}

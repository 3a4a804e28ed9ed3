//! `devex import` and `devex query`: dedup, rejection of bad files, clear errors.

use crate::support::*;

#[test]
fn importing_the_same_file_twice_changes_nothing() {
    let lake = tempfile::tempdir().unwrap();
    let file = fixture("deployments.jsonl");
    let first = import("deployments", &file, lake.path());
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("4 rows read, 4 stored, 0 already in the lake"),
        "{}",
        stdout(&first)
    );
    let files = snapshot(lake.path());

    let second = import("deployments", &file, lake.path());
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("4 rows read, 0 stored, 4 already in the lake"),
        "{}",
        stdout(&second)
    );
    assert_eq!(
        snapshot(lake.path()),
        files,
        "a re-import must not touch the lake"
    );
    assert_eq!(count(lake.path(), "deployments"), 4);

    // Offsets are normalised to UTC and partitions follow the UTC month.
    let rows = query_json(
        lake.path(),
        "SELECT deployment_id, CAST(finished_at AS VARCHAR) AS finished, month FROM deployments WHERE deployment_id = '501'",
    );
    assert_eq!(rows[0]["finished"], "2026-03-27T08:20:30Z");
    assert_eq!(rows[0]["month"], "2026-03");
}

#[test]
fn a_bad_line_rejects_the_file_and_leaves_the_lake_as_it_was() {
    let lake = tempfile::tempdir().unwrap();
    let ok = import("deployments", fixture("deployments.jsonl"), lake.path());
    assert!(ok.status.success());
    let before = snapshot(lake.path());

    let bad = fixture("incidents-bad-line.jsonl");
    let output = import("incidents", &bad, lake.path());
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "{}:3: opened_at: \"not-a-time\" is not an RFC 3339 timestamp",
            bad.display()
        )),
        "{message}"
    );
    assert!(message.contains("nothing from it was stored"), "{message}");
    assert_eq!(snapshot(lake.path()), before);
    assert_eq!(count(lake.path(), "incidents"), 0);
}

#[test]
fn csv_import_pseudonymises_people() {
    let lake = tempfile::tempdir().unwrap();
    let output = import(
        "commits",
        fixture("commits.csv"),
        lake.path().to_str().unwrap(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let rows = query_json(lake.path(), "SELECT author, parents, CAST(authored_at AS VARCHAR) AS at FROM commits ORDER BY authored_at");
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let author = row["author"].as_str().unwrap();
        assert!(
            author.starts_with("dev_") && !author.contains('@'),
            "{author}"
        );
    }
    assert_eq!(rows[1]["at"], "2018-06-15T20:01:51Z");
    assert_eq!(
        rows[1]["parents"],
        serde_json::json!(["1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"])
    );
    assert_eq!(rows[0]["parents"], serde_json::json!([]));
}

#[test]
fn unknown_table_and_unwritable_lake_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let lake_arg = dir.path().join("lake");
    let output = import("deploys", fixture("deployments.jsonl"), &lake_arg);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("unknown table 'deploys'") && message.contains("deployments"),
        "{message}"
    );
    assert!(message.contains("devex tables"), "{message}");

    // A lake path under a regular file cannot be created, even by root.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let blocked = file.join("lake");
    let output = import("deployments", fixture("deployments.jsonl"), &blocked);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("is not writable") && message.contains(blocked.to_str().unwrap()),
        "{message}"
    );
    assert!(message.contains("choose another --lake"), "{message}");
}

#[test]
fn a_corrupt_parquet_file_is_quarantined_and_nothing_else_is_lost() {
    let lake = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    let ok = import("deployments", fixture("deployments.jsonl"), lake.path());
    assert!(ok.status.success());
    let corrupt = lake
        .path()
        .join("deployments/month=2026-03/part-corrupt.parquet");
    std::fs::write(&corrupt, b"PAR1 this is not a parquet file PAR1").unwrap();

    // The query moves the file to the quarantine, says so, and answers
    // from the rest.
    let output = run(&[
        "query",
        "--lake",
        lake_arg,
        "--format",
        "json",
        "SELECT count(*) AS n FROM deployments",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(rows[0]["n"], 4);
    let message = stderr(&output);
    assert!(
        message.contains("part-corrupt.parquet") && message.contains("quarantine"),
        "{message}"
    );
    assert!(!corrupt.exists());
    assert!(lake
        .path()
        .join("_devex/quarantine/deployments/month=2026-03/part-corrupt.parquet")
        .exists());

    // Imports go on; the table says it is incomplete.
    let output = import("deployments", fixture("deployments.jsonl"), lake.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(count(lake.path(), "deployments"), 4);
}

#[test]
fn query_output_formats_and_read_only() {
    let lake = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    assert!(
        import("deployments", fixture("deployments.jsonl"), lake.path())
            .status
            .success()
    );
    let sql = "SELECT count(*) AS n FROM deployments WHERE status = 'success'";
    assert_eq!(
        stdout(&run(&[
            "query", "--lake", lake_arg, "--format", "json", sql
        ]))
        .trim(),
        r#"[{"n":3}]"#
    );
    assert_eq!(
        stdout(&run(&["query", "--lake", lake_arg, "--format", "csv", sql])).trim(),
        "n\n3"
    );
    assert!(stdout(&run(&["query", "--lake", lake_arg, sql])).contains("| 3 |"));

    let output = run(&["query", "--lake", lake_arg, "DELETE FROM deployments"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(count(lake.path(), "deployments"), 4);

    let output = run(&[
        "query",
        "--lake",
        lake.path().join("missing").to_str().unwrap(),
        sql,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("devex demo --lake"),
        "{}",
        stderr(&output)
    );
}

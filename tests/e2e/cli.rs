//! The command line as a user meets it: exit codes by kind of mistake, a
//! reader that stops early, answers that end with a newline, SHOW TABLES.

use std::io::Read;
use std::process::Stdio;

use crate::support::*;

/// Each kind of mistake, its exit code, and a word the message must carry.
#[test]
fn mistakes_exit_with_their_code_and_say_what_to_do() {
    let lake = demo_lake().to_str().unwrap();
    let missing = fixture("no-such-file.jsonl");
    let bad_line = fixture("incidents-bad-line.jsonl");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        // Usage: the command line itself (clap).
        (
            vec!["report", "dora", "--no-such-flag"],
            2,
            "--no-such-flag",
        ),
        // Usage: a flag's value.
        (
            vec!["report", "dora", "--lake", lake, "--from", "yesterday"],
            2,
            "yesterday",
        ),
        (
            vec!["report", "dora", "--lake", lake, "--tz", "Mars/Olympus"],
            2,
            "Mars/Olympus",
        ),
        (
            vec!["report", "dora", "--lake", lake, "--team", "payment"],
            2,
            "payments",
        ),
        (
            vec![
                "import",
                "incidentz",
                bad_line.to_str().unwrap(),
                "--lake",
                lake,
            ],
            2,
            "incidents",
        ),
        (vec!["query", "--lake", lake, "SELEC 1"], 2, "SELEC"),
        // A lake URL of a scheme devex cannot store in: refused, not made
        // a local folder named `hdfs:`.
        (
            vec!["report", "dora", "--lake", "hdfs://bucket/devex"],
            2,
            "are not supported",
        ),
        (
            vec!["demo", "--lake", "hdfs://bucket/devex"],
            2,
            "local folder",
        ),
        (
            vec!["query", "--lake", lake, "DROP TABLE deployments"],
            2,
            "read-only",
        ),
        // Configuration.
        (
            vec![
                "report",
                "dora",
                "--lake",
                lake,
                "--config",
                "/no/such/devex.toml",
            ],
            2,
            "does not exist",
        ),
        // Failures of the input, not of the usage.
        (
            vec![
                "import",
                "incidents",
                missing.to_str().unwrap(),
                "--lake",
                lake,
            ],
            1,
            "no-such-file",
        ),
    ];
    for (args, code, says) in cases {
        let output = run(&args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {message}");
        assert!(message.contains(says), "{args:?}: {message}");
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
    assert!(
        !std::path::Path::new("hdfs:").exists(),
        "a folder named hdfs: was made"
    );
}

/// `devex ... | head`: the reader stops early; devex ends quietly with 0.
#[test]
fn a_closed_pipe_ends_quietly() {
    let lake = demo_lake().to_str().unwrap();
    for args in [
        vec![
            "report",
            "dora",
            "--lake",
            lake,
            "--deployments",
            "--from",
            "2026-01-01",
            "--to",
            "2026-11-01",
        ],
        vec!["query", "--lake", lake, "SELECT * FROM commits"],
    ] {
        let mut child = devex()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The pipe is closed here, long before the answer's end.
        let output = child.wait_with_output().unwrap();
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {message}");
        assert!(!message.contains("panicked"), "{message}");
    }
}

#[test]
fn answers_end_with_a_newline_and_show_tables_lists_the_tables() {
    let lake = demo_lake().to_str().unwrap();
    let output = run(&["query", "--lake", lake, "SHOW TABLES", "--format", "csv"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text:?}");
    let names: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert!(
        names.contains(&"deployments") && names.contains(&"team_members"),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with("deployment_changes_") && *n != "team_member_rows"),
        "internal tables shown: {names:?}"
    );
    let help = stdout(
        &devex()
            .env("DEVEX_CONFIG", "/etc/secret-place.toml")
            .arg("--help")
            .output()
            .unwrap(),
    );
    assert!(!help.contains("secret-place"), "{help}");
}

/// The Kubernetes example's configuration starts a server as written (its
/// identity provider is asked only at the first sign-in).
#[tokio::test]
async fn the_kubernetes_example_configuration_starts() {
    let manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/kubernetes.yaml"),
    )
    .unwrap();
    let block: Vec<&str> = manifest
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("devex.toml: |"))
        .skip(1)
        .take_while(|l| l.starts_with("    ") || l.trim().is_empty())
        .map(|l| l.strip_prefix("    ").unwrap_or(""))
        .collect();
    assert!(block.iter().any(|l| l.contains("[auth.oidc]")), "{block:?}");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("devex.toml");
    std::fs::write(&config, block.join("\n")).unwrap();
    let server = crate::serve::Server::start_on(
        &dir.path().join("lake"),
        "0.0.0.0:0",
        &["--config", config.to_str().unwrap()],
        &[("DEVEX_AUTH__OIDC__CLIENT_SECRET", "example")],
    );
    assert_eq!(server.get("/healthz").await.0, 200);
    assert!(server.terminate().success());
}

/// Every report's table fits 120 columns (wider detail is in JSON and
/// CSV) and ends with one newline.
#[test]
fn every_report_table_fits_120_columns() {
    let lake = demo_lake().to_str().unwrap();
    let window = ["--from", "2026-08-01", "--to", "2026-11-01"];
    let reports: Vec<Vec<&str>> = vec![
        vec!["report", "dora"],
        vec!["report", "dora", "--group-by", "team"],
        vec!["report", "dora", "--series", "week", "--group-by", "team"],
        vec!["report", "dora", "--deployments"],
        vec!["report", "devex"],
        vec!["report", "devex", "--group-by", "repo"],
        vec!["report", "devex", "--series", "month"],
        vec!["report", "space"],
        vec!["report", "cost"],
        vec!["report", "cost", "--lines"],
        vec![
            "report",
            "adoption",
            "--funnels",
            "--cohorts",
            "--golden-paths",
        ],
        vec!["report", "onboarding"],
        vec!["report", "ai", "--impact", "--rollout"],
        vec!["report", "ai", "--group-by", "tool"],
    ];
    let mut runs: Vec<Vec<&str>> = reports
        .into_iter()
        .map(|mut args| {
            args.extend(window);
            args
        })
        .collect();
    runs.extend([
        vec!["report", "survey", "--survey", "devex-2026-q3"],
        vec![
            "report",
            "survey",
            "--survey",
            "devex-2026-q3",
            "--compare",
            "devex-2026-q2",
        ],
        vec![
            "report",
            "survey",
            "--survey",
            "devex-2026-q3",
            "--perceived-vs-measured",
        ],
        vec![
            "report",
            "compare",
            "--metric",
            "pr_cycle_time",
            "--a-from",
            "2026-08-01",
            "--a-to",
            "2026-09-01",
            "--b-from",
            "2026-09-01",
            "--b-to",
            "2026-10-01",
        ],
        vec!["tables"],
        vec!["audit"],
    ]);
    for mut args in runs {
        args.extend(["--lake", lake]);
        let output = run(&args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        let text = stdout(&output);
        assert!(
            text.ends_with('\n') && !text.ends_with("\n\n"),
            "{args:?}: {text:?}"
        );
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest <= 120, "{args:?}: {widest} columns\n{text}");
    }
}

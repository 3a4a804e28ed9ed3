//! Running the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn devex() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_devex"));
    // Tests never depend on the developer's own configuration.
    command
        .env_remove("DEVEX_LAKE")
        .env_remove("DEVEX_CONFIG")
        .env("DEVEX_IDENTITY_SECRET", "e2e-secret");
    command
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// Runs devex with the arguments and returns its output.
pub fn run(args: &[&str]) -> Output {
    devex().args(args).output().expect("devex runs")
}

/// `devex import TABLE FILE --lake LAKE`.
pub fn import(table: &str, file: impl AsRef<Path>, lake: impl AsRef<Path>) -> Output {
    let (file, lake) = (file.as_ref(), lake.as_ref());
    run(&[
        "import",
        table,
        file.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ])
}

/// Runs devex with `args` and `--format json`; it must succeed, and its
/// output is the JSON answer.
pub fn run_json(args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a query and returns its JSON rows.
pub fn query_json(lake: &Path, sql: &str) -> serde_json::Value {
    let output = run(&[
        "query",
        "--lake",
        lake.to_str().unwrap(),
        "--format",
        "json",
        sql,
    ]);
    assert!(output.status.success(), "query failed: {}", stderr(&output));
    serde_json::from_str(stdout(&output).trim()).expect("query prints JSON")
}

pub fn count(lake: &Path, table: &str) -> i64 {
    query_json(lake, &format!("SELECT count(*) AS n FROM {table}"))[0]["n"]
        .as_i64()
        .unwrap()
}

/// Every file under a folder (but the audit log's), relative path and
/// content, sorted. A file that vanishes while the walk runs (a writer's
/// temporary file, renamed) is left out.
pub fn snapshot(root: &Path) -> Vec<(String, Vec<u8>)> {
    paths(root)
        .into_iter()
        .filter_map(|relative| {
            let bytes = std::fs::read(root.join(&relative)).ok()?;
            Some((relative, bytes))
        })
        .collect()
}

/// Every file's path under a folder (but the audit log's and the writer
/// lock's), sorted.
fn paths(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    // The audit log records every command, so it grows by design.
    // The writer lock counts write turns, taken by a re-import too (so a
    // server knows to list the lake again); it is not lake content.
    out.retain(|path| !path.starts_with("audit/") && path != "_devex/writer.lock");
    out.sort();
    out
}

/// Data files only (what readers see).
pub fn data_files(root: &Path) -> Vec<String> {
    paths(root)
        .into_iter()
        .filter(|p| !p.starts_with("_devex"))
        .collect()
}

/// A small demo lake of its own (scale 0.25, `months` to 2026-11-01), for
/// a test that changes it (tokens, corrupt files).
pub fn small_demo_lake(months: &str) -> tempfile::TempDir {
    let lake = tempfile::tempdir().unwrap();
    let output = run(&[
        "demo",
        "--lake",
        lake.path().to_str().unwrap(),
        "--scale",
        "0.25",
        "--months",
        months,
        "--end",
        "2026-11-01",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    lake
}

/// One demo lake (scale 1: 8 teams, 40 services, 12 months to 2026-11-01),
/// shared by the report tests.
pub fn demo_lake() -> &'static std::path::Path {
    static LAKE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    LAKE.get_or_init(|| {
        let lake = tempfile::tempdir().unwrap();
        let output = run(&[
            "demo",
            "--lake",
            lake.path().to_str().unwrap(),
            "--months",
            "12",
            "--end",
            "2026-11-01",
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        lake
    })
    .path()
}

/// A free loopback port, for a server whose address must be known before
/// it starts (a callback URL, a scrape target).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

//! Crash safety: a writer that dies mid-write leaves the lake readable, with
//! no partial file where readers look.

use std::time::{Duration, Instant};

use crate::support::*;

fn incidents_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("incidents.jsonl");
    std::fs::write(
        &path,
        concat!(
            "{\"service\":\"payments\",\"incident_id\":\"PD-1\",\"opened_at\":\"2026-03-30T11:00:00Z\",\"deployment_id\":\"503\"}\n",
            "{\"service\":\"payments\",\"incident_id\":\"PD-2\",\"opened_at\":\"2026-04-02T08:00:00Z\"}\n",
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_writer_killed_before_the_rename_leaves_no_partial_file() {
    let lake = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    assert!(
        import("deployments", fixture("deployments.jsonl"), lake.path())
            .status
            .success()
    );
    let visible_before = data_files(lake.path());

    let file = incidents_file(input.path());
    let crashed = devex()
        .env("DEVEX_FAILPOINT", "lake:before-rename")
        .args([
            "import",
            "incidents",
            file.to_str().unwrap(),
            "--lake",
            lake_arg,
        ])
        .output()
        .unwrap();
    assert!(
        !crashed.status.success(),
        "the failpoint must stop the writer"
    );
    let after = data_files(lake.path());
    let temporaries: Vec<_> = after.iter().filter(|p| p.contains("/.tmp-")).collect();
    assert_eq!(
        temporaries.len(),
        1,
        "the writer died holding one written, fsynced temporary file: {after:?}"
    );
    let visible: Vec<_> = after
        .iter()
        .filter(|p| !p.contains("/.tmp-"))
        .cloned()
        .collect();
    assert_eq!(visible, visible_before);
    // Readers see a consistent lake.
    assert_eq!(count(lake.path(), "incidents"), 0);
    assert_eq!(count(lake.path(), "deployments"), 4);
    assert!(run(&["tables", "--lake", lake_arg]).status.success());

    // The next writer cleans up and the import completes.
    let retry = import("incidents", &file, lake.path());
    assert!(retry.status.success(), "{}", stderr(&retry));
    assert_eq!(count(lake.path(), "incidents"), 2);
    assert!(data_files(lake.path())
        .iter()
        .all(|p| !p.contains("/.tmp-")));
}

#[test]
fn a_demo_killed_with_sigkill_leaves_a_readable_lake() {
    let lake = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    let mut child = devex()
        .args([
            "demo",
            "--lake",
            lake_arg,
            "--seed",
            "3",
            "--scale",
            "0.5",
            "--months",
            "6",
            "--end",
            "2026-06-01",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as it has committed a first data file, mid-run.
    let deadline = Instant::now() + Duration::from_secs(120);
    while data_files(lake.path())
        .iter()
        .all(|p| !p.ends_with(".parquet") || p.contains("/.tmp-"))
    {
        assert!(
            Instant::now() < deadline,
            "the demo wrote nothing in two minutes"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();

    // Every visible file is a whole Parquet file: `tables` reads every footer.
    let output = run(&["tables", "--lake", lake_arg]);
    assert!(output.status.success(), "{}", stderr(&output));
    for table in ["commits", "deployments", "teams"] {
        count(lake.path(), table);
    }
}

/// A data file truncated under a running server (a disk fault, a bad copy):
/// the next query moves it to the quarantine and answers from the rest,
/// answers name the incomplete table, and /metrics counts the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_file_is_quarantined_and_the_server_keeps_answering() {
    let lake = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    let demo = run(&[
        "demo",
        "--lake",
        lake_arg,
        "--scale",
        "0.25",
        "--months",
        "3",
        "--end",
        "2026-11-01",
    ]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let server = crate::serve::Server::start_with_env(
        lake.path(),
        &[("DEVEX_METRICS__REFRESH_SECONDS", "1")],
    );
    let url = "/api/v1/dora?from=2026-08-01&to=2026-11-01";
    let (status, before) = server.get(url).await;
    assert_eq!(status, 200, "{before}");
    // Truncate one incidents file to half its size, in place.
    let victim = data_files(lake.path())
        .into_iter()
        .find(|p| p.starts_with("incidents/") && p.ends_with(".parquet"))
        .unwrap();
    let path = lake.path().join(&victim);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();

    let response = reqwest::get(format!("{}{url}", server.base)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-devex-incomplete-tables"], "incidents");
    assert!(lake.path().join("_devex/quarantine").join(&victim).exists());
    assert!(!path.exists());
    // The gauge counts it once the next refresh ran.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, metrics) = server.get("/metrics").await;
        if metrics.contains("devex_quarantined_files{table=\"incidents\"} 1") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(server.terminate().success());
}

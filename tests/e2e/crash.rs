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
/// the next read of the table moves it to the quarantine and answers from
/// the rest, answers name the incomplete table, and /metrics counts the
/// file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_file_is_quarantined_and_the_server_keeps_answering() {
    let lake = small_demo_lake("3");
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

    // The derived tables are keyed by the rows the files are named after,
    // so they stand; the next read of the table itself finds the damage,
    // moves the file out and answers from the rest.
    let response = reqwest::get(format!("{}/api/v1/tables", server.base))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-devex-incomplete-tables"], "incidents");
    assert!(lake.path().join("_devex/quarantine").join(&victim).exists());
    assert!(!path.exists());
    // Reports then answer without its rows, and say the table is incomplete.
    let response = reqwest::get(format!("{}{url}", server.base)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-devex-incomplete-tables"], "incidents");
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

/// A loopback load of authenticated webhooks (CDEvents with a bearer
/// token), `devex serve` killed with SIGKILL at a random moment, restarted,
/// and the sender retrying what was not acknowledged: every acknowledged
/// delivery is stored, and nothing twice. Ten runs, ten kill points.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_webhooks_survive_a_kill() {
    use futures::StreamExt;
    use rand::Rng;
    const DELIVERIES: usize = 150;
    let lake = tempfile::tempdir().unwrap();
    crate::sources::catalog(
        lake.path(),
        r#"{"service":"mySubject123","owner_team":"ops","repos":["acme/app"]}"#,
    );
    let template: serde_json::Value = serde_json::from_slice(&crate::sources::payload(
        "cdevents-spec-v0.5.1/conformance/service_deployed.json",
    ))
    .unwrap();
    let env = [("DEVEX_CDEVENTS__TOKEN", "kill-token")];
    let body = |run: usize, n: usize| {
        let mut event = template.clone();
        event["context"]["id"] = serde_json::json!(format!("kill-{run}-{n}"));
        serde_json::to_vec(&event).unwrap()
    };
    let send = |base: String, bytes: Vec<u8>| async move {
        let answer = reqwest::Client::new()
            .post(format!("{base}/webhooks/cdevents"))
            .header("authorization", "Bearer kill-token")
            .header("content-type", "application/json")
            .body(bytes)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await;
        matches!(answer, Ok(a) if a.status().as_u16() == 200)
    };
    let mut rng = rand::thread_rng();
    let (mut acknowledged_before_kill, mut stored_total) = (0, 0);
    for run in 0..10 {
        let server = crate::serve::Server::start_with_env(lake.path(), &env);
        let base = server.base.clone();
        // Kill once a random number of deliveries were acknowledged: mid-load.
        let kill_at = rng.gen_range(5..DELIVERIES - 10);
        let acks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sender = tokio::spawn({
            let base = base.clone();
            let acks = acks.clone();
            let bodies: Vec<Vec<u8>> = (0..DELIVERIES).map(|n| body(run, n)).collect();
            async move {
                futures::stream::iter(bodies.into_iter().enumerate())
                    .map(|(n, bytes)| {
                        let (base, acks) = (base.clone(), acks.clone());
                        async move {
                            let ok = send(base, bytes).await;
                            if ok {
                                acks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            }
                            (n, ok)
                        }
                    })
                    .buffer_unordered(8)
                    .collect::<Vec<(usize, bool)>>()
                    .await
            }
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while acks.load(std::sync::atomic::Ordering::SeqCst) < kill_at {
            assert!(
                std::time::Instant::now() < deadline,
                "run {run}: no progress"
            );
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        server.kill();
        let answers = sender.await.unwrap();
        let acked: Vec<usize> = answers
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(n, _)| *n)
            .collect();
        acknowledged_before_kill += acked.len();
        // Restarted, the sender retries what was not acknowledged, once each
        // until it is (and some acknowledged ones again, as senders do).
        let server = crate::serve::Server::start_with_env(lake.path(), &env);
        for n in 0..DELIVERIES {
            if acked.contains(&n) && n % 10 != 0 {
                continue;
            }
            // A sender retries a delivery that timed out (a machine busy
            // with the other tests can take a while after a restart).
            let mut tries = 1;
            while !send(server.base.clone(), body(run, n)).await {
                assert!(
                    tries < 5,
                    "run {run}, delivery {n}: not acknowledged in {tries} tries\n{}",
                    server.log_tail()
                );
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
        assert!(server.terminate().success());
        let rows = query_json(
            lake.path(),
            &format!(
                "SELECT count(*) AS n, count(DISTINCT deployment_id) AS distinct_ids \
                 FROM deployments WHERE deployment_id LIKE 'kill-{run}-%'"
            ),
        );
        assert_eq!(rows[0]["n"], DELIVERIES, "run {run}: {rows}");
        assert_eq!(rows[0]["distinct_ids"], DELIVERIES, "run {run}: {rows}");
        stored_total += rows[0]["n"].as_u64().unwrap();
        println!(
            "kill run {run}: killed after {} acknowledgements, {} of {DELIVERIES} acknowledged in all before the kill, all {DELIVERIES} stored once",
            kill_at,
            acked.len()
        );
    }
    println!(
        "kill test: {acknowledged_before_kill} deliveries acknowledged before the kills, {stored_total} stored, over 10 runs of {DELIVERIES}"
    );
}

/// A lake on a small file system that fills up: webhooks answer 503 with
/// Retry-After and are not acknowledged, what was acknowledged stays, and
/// once there is room again the server takes deliveries by itself. As root
/// the test also mounts a small tmpfs and fills it for real; everywhere the
/// lake's `lake:full-while:PATH` failpoint makes writes fail with ENOSPC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_deliveries_until_there_is_room() {
    struct Mount(std::path::PathBuf);
    impl Drop for Mount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let failpoint = tempfile::tempdir().unwrap();
    full_disk(failpoint.path(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if mounted {
        let _mount = Mount(dir.path().to_path_buf());
        full_disk(dir.path(), true).await;
    } else {
        println!("full-disk test: no tmpfs here (not root); the failpoint only");
    }
}

/// The full-disk scenario in `dir`: a tmpfs filled by a file, or else the
/// failpoint's marker file.
async fn full_disk(dir: &std::path::Path, mounted: bool) {
    // Fills the disk: a file as large as the tmpfs allows, or the
    // failpoint's marker.
    let filler = dir.join("filler");
    let failpoint = format!("lake:full-while:{}", filler.display());
    let lake = dir.join("lake");
    std::fs::create_dir_all(&lake).unwrap();
    crate::sources::catalog(
        &lake,
        r#"{"service":"mySubject123","owner_team":"ops","repos":["acme/app"]}"#,
    );
    let template: serde_json::Value = serde_json::from_slice(&crate::sources::payload(
        "cdevents-spec-v0.5.1/conformance/service_deployed.json",
    ))
    .unwrap();
    let mut env = vec![("DEVEX_CDEVENTS__TOKEN", "disk-token")];
    if !mounted {
        env.push(("DEVEX_FAILPOINT", failpoint.as_str()));
    }
    let server = crate::serve::Server::start_with_env(&lake, &env);
    let deliver = |n: usize| {
        let mut event = template.clone();
        event["context"]["id"] = serde_json::json!(format!("disk-{n}"));
        reqwest::Client::new()
            .post(format!("{}/webhooks/cdevents", server.base))
            .header("authorization", "Bearer disk-token")
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&event).unwrap())
            .send()
    };
    for n in 0..20 {
        assert_eq!(deliver(n).await.unwrap().status().as_u16(), 200);
    }
    if mounted {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 1 << 20];
        while file
            .write_all(&block)
            .and_then(|()| file.sync_all())
            .is_ok()
        {}
    } else {
        std::fs::write(&filler, b"full").unwrap();
    }
    let refused = deliver(20).await.unwrap();
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(refused.headers()["retry-after"], "30");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "lake_not_writable", "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("full"),
        "{body}"
    );
    // Room again: the same delivery, retried, is taken without a restart.
    std::fs::remove_file(&filler).unwrap();
    let taken = deliver(20).await.unwrap();
    assert_eq!(taken.status().as_u16(), 200);
    assert!(server.terminate().success());
    let rows = query_json(
        &lake,
        "SELECT count(*) AS n, count(DISTINCT deployment_id) AS ids FROM deployments WHERE deployment_id LIKE 'disk-%'",
    );
    assert_eq!(rows, serde_json::json!([{"n": 21, "ids": 21}]));
}

/// Compaction killed before and after its swap: every time the lake reads
/// every row exactly once, and the next run finishes the job.
#[test]
fn a_compaction_killed_at_either_side_of_its_swap_loses_and_doubles_nothing() {
    let lake = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    // Eight single-incident imports in March (eight small files), one in April.
    for (i, day) in [
        "2026-03-02",
        "2026-03-05",
        "2026-03-09",
        "2026-03-11",
        "2026-03-15",
        "2026-03-20",
        "2026-03-24",
        "2026-03-30",
        "2026-04-02",
    ]
    .iter()
    .enumerate()
    {
        let file = input.path().join(format!("incident-{i}.jsonl"));
        std::fs::write(
            &file,
            format!("{{\"service\":\"payments\",\"incident_id\":\"PD-{i}\",\"opened_at\":\"{day}T11:00:00Z\"}}\n"),
        )
        .unwrap();
        let output = run(&[
            "import",
            "incidents",
            file.to_str().unwrap(),
            "--lake",
            lake_arg,
            "--no-derive",
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let march = |lake: &std::path::Path| {
        data_files(lake)
            .iter()
            .filter(|p| p.starts_with("incidents/month=2026-03/"))
            .count()
    };
    let rows = |lake: &std::path::Path| {
        let answer = query_json(
            lake,
            "SELECT count(*) AS n, count(DISTINCT event_id) AS distinct_ids FROM incidents",
        );
        (
            answer[0]["n"].as_i64().unwrap(),
            answer[0]["distinct_ids"].as_i64().unwrap(),
        )
    };
    assert_eq!((march(lake.path()), rows(lake.path())), (8, (9, 9)));

    for (failpoint, march_files) in [
        ("lake:compact-before-swap", 8),
        ("lake:compact-after-swap", 1),
    ] {
        let crashed = devex()
            .env("DEVEX_FAILPOINT", failpoint)
            .args(["compact", "--lake", lake_arg])
            .output()
            .unwrap();
        assert!(
            !crashed.status.success(),
            "{failpoint} must stop the compaction"
        );
        assert!(
            lake.path().join("_devex/compaction").exists(),
            "{failpoint}"
        );
        assert_eq!(
            (march(lake.path()), rows(lake.path())),
            (march_files, (9, 9)),
            "{failpoint}"
        );
    }
    // The next run removes what the crash left; March is already one file.
    let output = run(&["compact", "--lake", lake_arg]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("nothing to compact"),
        "{}",
        stdout(&output)
    );
    assert!(!lake.path().join("_devex/compaction").exists());
    assert_eq!((march(lake.path()), rows(lake.path())), (1, (9, 9)));
    // Deduplication holds across the merged file: a re-import adds nothing.
    let again = input.path().join("incident-3.jsonl");
    let output = run(&[
        "import",
        "incidents",
        again.to_str().unwrap(),
        "--lake",
        lake_arg,
        "--no-derive",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(rows(lake.path()), (9, 9));
}

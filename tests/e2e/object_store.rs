//! The lake on object storage: every command against a real S3 API on
//! loopback (the `moto` server from PyPI, which `scripts/test` installs),
//! with the credentials and endpoint from the standard AWS variables.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A moto S3 server on a free loopback port, stopped when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let program = std::env::var("DEVEX_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Never the test's own output: a server left running would keep
            // the pipe of whoever runs the tests open.
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `{program}` ({e}): install it with pip install 'moto[server]' (scripts/test does), or set DEVEX_MOTO_SERVER")
            });
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Creates a bucket (S3 `CreateBucket`; moto takes it unsigned). Plain
    /// HTTP on a socket: no runtime, so async tests may call it too.
    pub fn bucket(&self, name: &str) {
        use std::io::{Read, Write};
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("moto answers");
        write!(
            stream,
            "PUT /{name} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "CreateBucket {name}: {answer}"
        );
    }

    /// A signed client of `bucket`, as devex makes one.
    fn client(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id("devex-test")
            .with_secret_access_key("devex-test-secret")
            .build()
            .unwrap()
    }

    /// The stored object's bytes, or `None`.
    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        use object_store::ObjectStoreExt;
        let client = self.client(bucket);
        block_on(async move {
            let found = client.get(&key.into()).await.ok()?;
            Some(found.bytes().await.unwrap().to_vec())
        })
    }

    /// Stores an object.
    pub fn put_object(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        use object_store::ObjectStoreExt;
        let client = self.client(bucket);
        block_on(async move { client.put(&key.into(), bytes.into()).await.unwrap() });
    }

    /// `devex` with the AWS variables that point it at this server, and a
    /// cache folder of its own for derived files.
    pub fn devex(&self, cache: &Path) -> Command {
        let mut command = devex();
        command.envs(self.env(cache));
        command
    }

    /// The AWS variables that point devex at this server, and a cache
    /// folder of its own for derived files.
    pub fn env<'a>(&'a self, cache: &'a Path) -> Vec<(&'a str, &'a str)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "devex-test"),
            ("AWS_SECRET_ACCESS_KEY", "devex-test-secret"),
            ("AWS_REGION", "us-east-1"),
            (
                "DEVEX_CACHE_DIR",
                cache.to_str().expect("a UTF-8 temporary path"),
            ),
        ]
    }

    pub fn run(&self, cache: &Path, args: &[&str]) -> Output {
        self.devex(cache).args(args).output().expect("devex runs")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

#[test]
fn a_lake_on_s3_answers_as_the_same_lake_on_disk() {
    let moto = Moto::start();
    moto.bucket("devex-same");
    let cache = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let url = "s3://devex-same/org/lake";
    let on_disk = local.path().to_str().unwrap();
    // The same command on the lake on disk and on the lake in S3; `LAKE`
    // stands for the lake.
    let on_both = |args: &[&str]| {
        (
            ok(run(&with_lake(args, on_disk))),
            ok(moto.run(cache.path(), &with_lake(args, url))),
        )
    };
    let (_, stored) = on_both(&[
        "demo",
        "--lake",
        "LAKE",
        "--scale",
        "0.05",
        "--months",
        "3",
        "--end",
        "2026-11-01",
    ]);
    assert!(stored.contains("in s3://devex-same/org/lake"), "{stored}");
    // Parquet files in the bucket under the prefix, in Hive partitions.
    let listing = reqwest::blocking::get(format!(
        "{}/devex-same?list-type=2&prefix=org/lake/deployments/",
        moto.endpoint
    ))
    .unwrap()
    .text()
    .unwrap();
    assert!(
        listing.contains("org/lake/deployments/month=2026-08/part-"),
        "{listing}"
    );
    assert!(!Path::new("s3:").exists());

    let window = [
        "--from",
        "2026-08-01",
        "--to",
        "2026-11-01",
        "--format",
        "json",
    ];
    for report in ["dora", "devex"] {
        let args: Vec<&str> = ["report", report, "--lake", "LAKE"]
            .into_iter()
            .chain(window)
            .collect();
        let (from_disk, from_s3) = on_both(&args);
        assert_eq!(from_s3, from_disk, "{report}");
    }
    // A fresh cache (another machine): derived again from the bucket alone.
    let elsewhere = tempfile::tempdir().unwrap();
    let dora = |cache: &Path| {
        let args: Vec<&str> = ["report", "dora", "--lake", url]
            .into_iter()
            .chain(window)
            .collect();
        ok(moto.run(cache, &args))
    };
    assert_eq!(dora(elsewhere.path()), dora(cache.path()));

    let counts = "SELECT (SELECT count(*) FROM commits) AS commits, (SELECT count(*) FROM deployments) AS deployments, (SELECT count(*) FROM incidents) AS incidents";
    let (from_disk, from_s3) = on_both(&["query", "--lake", "LAKE", "--format", "json", counts]);
    assert_eq!(from_s3, from_disk);

    // Compaction needs an atomic folder swap: refused with what to do.
    let compact = moto.run(cache.path(), &["compact", "--lake", url]);
    assert!(!compact.status.success());
    assert!(
        stderr(&compact).contains("object store"),
        "{}",
        stderr(&compact)
    );
}

/// `args` with `LAKE` replaced by `lake`.
fn with_lake<'a>(args: &[&'a str], lake: &'a str) -> Vec<&'a str> {
    args.iter()
        .map(|&a| if a == "LAKE" { lake } else { a })
        .collect()
}

/// `n` deployments, one a day from 2026-01-01, numbered from `first`.
fn deployments(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
                + chrono::Days::new((i % 300) as u64);
            format!(
                "{{\"event_id\":\"test:deployment:{i}\",\"service\":\"svc-{}\",\"environment\":\"production\",\"sha\":\"{i:040x}\",\"deployment_id\":\"{i}\",\"status\":\"success\",\"started_at\":\"{day}T10:00:00Z\",\"finished_at\":\"{day}T10:05:00Z\",\"source\":\"test\"}}\n",
                i % 7
            )
        })
        .collect()
}

#[test]
fn concurrent_writers_never_store_an_event_twice_and_a_dead_writer_blocks_no_one() {
    let moto = Moto::start();
    moto.bucket("devex-writers");
    let files = tempfile::tempdir().unwrap();
    let first = files.path().join("first.jsonl");
    let overlapping = files.path().join("overlapping.jsonl");
    std::fs::write(&first, deployments(0, 600)).unwrap();
    // Half of it again, and 300 new.
    std::fs::write(&overlapping, deployments(300, 600)).unwrap();
    let url = "s3://devex-writers/lake";
    let caches: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    // Four processes at once, each with its own cache (four machines).
    let writers: Vec<_> = [&first, &overlapping, &first, &overlapping]
        .iter()
        .zip(&caches)
        .map(|(file, cache)| {
            moto.devex(cache.path())
                .args([
                    "import",
                    "deployments",
                    file.to_str().unwrap(),
                    "--lake",
                    url,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut stored = 0;
    for writer in writers {
        let output = ok(writer.wait_with_output().unwrap());
        let n: usize = output
            .split(" stored")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no stored count in: {output}"));
        stored += n;
    }
    assert_eq!(stored, 900, "every event stored by exactly one writer");
    let cache = caches[0].path();
    let count = |moto: &Moto| {
        let out = ok(moto.run(
            cache,
            &[
                "query",
                "--lake",
                url,
                "--format",
                "json",
                "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM deployments",
            ],
        ));
        let rows: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        (
            rows[0]["n"].as_i64().unwrap(),
            rows[0]["ids"].as_i64().unwrap(),
        )
    };
    assert_eq!(count(&moto), (900, 900));

    // A writer that died holding the lease: the next one waits out its
    // expiry, then writes.
    let lease = moto
        .object("devex-writers", "lake/_devex/writer.lease")
        .unwrap();
    let lease: serde_json::Value = serde_json::from_slice(&lease).unwrap();
    let turns = lease["turns"].as_u64().unwrap();
    assert!(turns >= 4, "{lease}");
    let expires = chrono::Utc::now().timestamp_millis() + 3_000;
    moto.put_object(
        "devex-writers",
        "lake/_devex/writer.lease",
        serde_json::json!({"holder": "dead-host:1:x", "expires_at_ms": expires, "turns": turns})
            .to_string()
            .into_bytes(),
    );
    let more = files.path().join("more.jsonl");
    std::fs::write(&more, deployments(900, 10)).unwrap();
    let started = Instant::now();
    let output = ok(moto.run(
        cache,
        &[
            "import",
            "deployments",
            more.to_str().unwrap(),
            "--lake",
            url,
        ],
    ));
    assert!(output.contains("10 stored"), "{output}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the live lease was not waited for"
    );
    assert_eq!(count(&moto), (910, 910));
}

/// Two servers behind a (pretend) load balancer, sharing one lake in S3:
/// each stores the deliveries it gets, a redelivery to the other server is
/// recognised, and each reads the other's rows on its next query and in its
/// derived reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_lake_and_never_count_twice() {
    use crate::serve::Server;
    use crate::webhooks::{deliver, SECRET};
    use serde_json::json;

    let moto = Moto::start();
    moto.bucket("devex-pair");
    let url = Path::new("s3://devex-pair/lake");
    let caches = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let servers: Vec<Server> = caches
        .iter()
        .map(|cache| {
            let mut env = moto.env(cache.path());
            env.extend([
                ("DEVEX_GITHUB__WEBHOOK_SECRET", SECRET),
                ("DEVEX_METRICS__REFRESH_SECONDS", "2"),
            ]);
            Server::start_on(url, "127.0.0.1:0", &[], &env)
        })
        .collect();
    let template: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(
            "payloads/octokit-webhooks/api.github.com/workflow_run/completed.payload.json",
        ))
        .unwrap(),
    )
    .unwrap();
    // 40 runs, half to each server; every fourth delivered again to the
    // other one, as a load balancer does after a timeout.
    let (mut stored, mut duplicates) = (0, 0);
    for run in 0..40u64 {
        let mut payload = template.clone();
        payload["repository"]["full_name"] = json!("acme/shop");
        payload["workflow_run"]["id"] = json!(700_000 + run);
        payload["workflow_run"]["created_at"] = json!("2026-10-05T16:33:24Z");
        payload["workflow_run"]["run_started_at"] = json!("2026-10-05T16:33:49Z");
        payload["workflow_run"]["updated_at"] = json!("2026-10-05T16:40:49Z");
        let first = &servers[(run % 2) as usize];
        let mut targets = vec![first];
        if run % 4 == 0 {
            targets.push(&servers[((run + 1) % 2) as usize]);
        }
        for server in targets {
            let delivery = format!("pair-{run}");
            let (status, body) = deliver(server, "workflow_run", &delivery, &payload, SECRET).await;
            assert_eq!(status, 200, "{body}\n{}", server.log_tail());
            stored += body["stored"].as_u64().unwrap();
            duplicates += body["duplicates"].as_u64().unwrap();
        }
    }
    assert_eq!((stored, duplicates), (40, 10));

    // The next read of either server sees every run once.
    for server in &servers {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v1/query", server.base))
            .header("content-type", "application/json")
            .body(
                r#"{"sql": "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM ci_runs"}"#,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let row = &answer[0];
        assert_eq!(
            (row["n"].as_i64(), row["ids"].as_i64()),
            (Some(40), Some(40)),
            "{answer}"
        );
    }
    // And each one's derived report counts the other's runs too.
    for server in &servers {
        server
            .get_json_until("/api/v1/devex?from=2026-10-01&to=2026-10-31", |report| {
                let runs: u64 = report["groups"]
                    .as_array()
                    .map(|groups| groups.iter().filter_map(|g| g["ci_runs"].as_u64()).sum())
                    .unwrap_or(0);
                runs == 40
            })
            .await;
    }
}

//! Distributed queries: a Ballista scheduler and two executors on loopback
//! (started from the ballista crates in this test process, as the stock
//! binaries start them: the S3 store from the standard settings), over a
//! lake in a moto S3 server. `devex report` and `devex serve` with
//! `--engine ballista` must answer exactly as in-process, and the executors
//! must have read the lake themselves.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use ballista_core::extension::SessionConfigExt;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionConfig;
use futures::stream::BoxStream;
use object_store::path::Path as StorePath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use crate::object_store::{block_on, Moto};
use crate::serve::Server;
use crate::support::*;

/// A scheduler and two executors, on a runtime of their own (stopped when
/// dropped).
struct Cluster {
    scheduler: String,
    /// Object reads by the scheduler and executors.
    reads: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl Cluster {
    fn start(moto: &Moto, bucket: &str) -> Cluster {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let reads = Arc::new(AtomicUsize::new(0));
        let store = Arc::new(Counted {
            inner: object_store::aws::AmazonS3Builder::new()
                .with_endpoint(&moto.endpoint)
                .with_allow_http(true)
                .with_bucket_name(bucket)
                .with_region("us-east-1")
                .with_access_key_id("devex-test")
                .with_secret_access_key("devex-test-secret")
                .build()
                .unwrap(),
            reads: reads.clone(),
        });
        let bucket_url = url::Url::parse(&format!("s3://{bucket}")).unwrap();
        let port = runtime.block_on(async move {
            let environment = RuntimeEnvBuilder::new().build_arc().unwrap();
            environment.register_object_store(&bucket_url, store);
            let state = SessionStateBuilder::new()
                .with_config(SessionConfig::new_with_ballista())
                .with_runtime_env(environment)
                .with_default_features()
                .build();
            let address =
                ballista_scheduler::standalone::new_standalone_scheduler_from_state(&state)
                    .await
                    .unwrap();
            let endpoint = format!("http://localhost:{}", address.port());
            let client = loop {
                match ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient::connect(endpoint.clone()).await {
                    Ok(client) => break client,
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                }
            };
            for _ in 0..2 {
                ballista_executor::new_standalone_executor_from_state(client.clone(), 2, &state)
                    .await
                    .unwrap();
            }
            address.port()
        });
        Cluster {
            scheduler: format!("df://localhost:{port}"),
            reads,
            _runtime: runtime,
        }
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[test]
fn ballista_answers_as_in_process() {
    let moto = Moto::start();
    moto.bucket("devex-cluster");
    let lake = "s3://devex-cluster/lake";
    let cache = tempfile::tempdir().unwrap();
    let run_ok = |args: &[&str]| {
        let output = moto.run(cache.path(), args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    };
    let demo = [
        "demo",
        "--lake",
        lake,
        "--scale",
        "0.05",
        "--months",
        "3",
        "--end",
        "2026-11-01",
    ];
    run_ok(&demo);
    // No cluster there yet: said as such, with what to check.
    let unreachable = moto.run(
        cache.path(),
        &[
            "report",
            "dora",
            "--lake",
            lake,
            "--engine",
            "ballista",
            "--scheduler",
            "df://127.0.0.1:1",
        ],
    );
    assert!(!unreachable.status.success());
    assert!(
        stderr(&unreachable).contains("the Ballista cluster at df://127.0.0.1:1 cannot be reached"),
        "{}",
        stderr(&unreachable)
    );
    let cluster = Cluster::start(&moto, "devex-cluster");
    let on_cluster = ["--engine", "ballista", "--scheduler", &cluster.scheduler];
    let window = [
        "--from",
        "2026-08-01",
        "--to",
        "2026-11-01",
        "--format",
        "json",
    ];
    let reports: [&[&str]; 4] = [
        &["report", "dora", "--group-by", "team"],
        &["report", "dora", "--deployments"],
        &["report", "devex"],
        &["report", "space"],
    ];
    for report in reports {
        let args: Vec<&str> = report
            .iter()
            .copied()
            .chain(["--lake", lake])
            .chain(window)
            .collect();
        let in_process = run_ok(&args);
        let reads_before = cluster.reads();
        let distributed = run_ok(&[args.as_slice(), &on_cluster].concat());
        assert_eq!(distributed, in_process, "{report:?}");
        assert!(
            cluster.reads() > reads_before,
            "{report:?}: the executors read nothing, so the answer was not theirs"
        );
        assert!(
            in_process.len() > 200,
            "{report:?} says little: {in_process}"
        );
    }
    // Each generation read on the cluster was copied into the lake once.
    let listing = reqwest::blocking::get(format!(
        "{}/devex-cluster?list-type=2&prefix=lake/_derived/materialized/",
        moto.endpoint
    ))
    .unwrap()
    .text()
    .unwrap();
    assert!(listing.contains(".parquet</Key>"), "{listing}");

    // A server on the cluster gives the drill-down the in-process one gives.
    let drill_down = "/api/v1/dora/deployments?from=2026-08-01&to=2026-11-01";
    let answers: Vec<serde_json::Value> = [&[][..], &on_cluster[..]]
        .into_iter()
        .map(|extra| {
            let server_cache = tempfile::tempdir().unwrap();
            let server = Server::start_on(
                Path::new(lake),
                "127.0.0.1:0",
                extra,
                &moto.env(server_cache.path()),
            );
            let answer = block_on(server.get_json(drill_down));
            assert!(
                answer["deployments"]
                    .as_array()
                    .is_some_and(|d| !d.is_empty()),
                "{answer}\n{}",
                server.log_tail()
            );
            answer
        })
        .collect();
    assert_eq!(answers[1], answers[0]);
}

/// A store that counts the objects read through it.
#[derive(Debug)]
struct Counted {
    inner: object_store::aws::AmazonS3,
    reads: Arc<AtomicUsize>,
}

impl std::fmt::Display for Counted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counted({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Counted {
    async fn put_opts(
        &self,
        location: &StorePath,
        payload: PutPayload,
        options: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, options).await
    }

    async fn put_multipart_opts(
        &self,
        location: &StorePath,
        options: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, options).await
    }

    async fn get_opts(
        &self,
        location: &StorePath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<StorePath>>,
    ) -> BoxStream<'static, object_store::Result<StorePath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&StorePath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&StorePath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &StorePath,
        to: &StorePath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

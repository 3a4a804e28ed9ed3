//! A Ballista scheduler and executors in one process, for trying
//! `--engine ballista` on one machine and for `bench/`: the executors read
//! an S3 lake with the standard AWS variables (`AWS_ENDPOINT_URL`,
//! `AWS_ALLOW_HTTP`, ...), as the stock `ballista-executor` does.
//!
//! ```sh
//! cargo run --release -p devex-api --example ballista_cluster -- BUCKET [EXECUTORS] [TASKS]
//! ```
//!
//! Prints `df://localhost:PORT` and runs until stopped. A production
//! cluster runs the stock `ballista-scheduler` and `ballista-executor`
//! binaries instead (see the README, "Running at scale").

use std::sync::Arc;

use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionConfig;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bucket = args
        .next()
        .ok_or("usage: ballista_cluster BUCKET [EXECUTORS] [TASKS]")?;
    let executors: usize = args.next().map_or(Ok(2), |n| n.parse())?;
    let tasks: usize = args.next().map_or(Ok(2), |n| n.parse())?;
    let store = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(&bucket)
        .build()?;
    let environment = RuntimeEnvBuilder::new().build_arc()?;
    environment.register_object_store(
        &url::Url::parse(&format!("s3://{bucket}"))?,
        Arc::new(store),
    );
    let state = SessionStateBuilder::new()
        .with_config(SessionConfig::new_with_ballista())
        .with_runtime_env(environment)
        .with_default_features()
        .build();
    let address =
        ballista_scheduler::standalone::new_standalone_scheduler_from_state(&state).await?;
    let endpoint = format!("http://localhost:{}", address.port());
    let client = loop {
        match SchedulerGrpcClient::connect(endpoint.clone()).await {
            Ok(client) => break client,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    for _ in 0..executors {
        ballista_executor::new_standalone_executor_from_state(client.clone(), tasks, &state)
            .await?;
    }
    println!("df://localhost:{}", address.port());
    tokio::signal::ctrl_c().await?;
    Ok(())
}

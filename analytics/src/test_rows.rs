//! Rows the unit tests append: one production deployment at a time.

use ingest::lake::Lake;
use ingest::rows::{TableBuilder, Value};
use ingest::schema::DEPLOYMENTS;

/// Appends one successful production deployment of `pay` (event `d-<id>`,
/// deployment `id`, commit `sha`) started at `at` (RFC 3339) and finished a
/// minute later; it must be new to the lake.
pub(crate) async fn append_deployment(lake: &Lake, id: &str, sha: &str, at: &str) {
    append_deployment_of(lake, "pay", id, sha, at).await;
}

/// As [`append_deployment`], of `service`.
pub(crate) async fn append_deployment_of(
    lake: &Lake,
    service: &str,
    id: &str,
    sha: &str,
    at: &str,
) {
    let micros = chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .timestamp_micros();
    let mut b = TableBuilder::new(&DEPLOYMENTS);
    b.push(vec![
        Value::text(format!("d-{id}")),
        Value::text(service),
        Value::text("production"),
        Value::text(sha),
        Value::text(id),
        Value::text("success"),
        Value::Timestamp(micros),
        Value::Timestamp(micros + 60_000_000),
        Value::text("import"),
    ])
    .unwrap();
    let summary = lake
        .append(&DEPLOYMENTS, &b.finish().unwrap())
        .await
        .unwrap();
    assert_eq!(summary.rows_written, 1);
}

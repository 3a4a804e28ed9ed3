//! Rows the unit tests append: one production deployment, commit or push
//! at a time.

use ingest::lake::Lake;
use ingest::rows::{TableBuilder, Value};
use ingest::schema::{COMMITS, DEPLOYMENTS, PUSHES, SERVICES};

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

fn micros(at: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .timestamp_micros()
}

fn texts(shas: &[&str]) -> Value {
    Value::TextList(shas.iter().map(|s| s.to_string()).collect())
}

/// Appends commit `sha` of `acme/pay` authored at `at`, with `parents`
/// (`None`: unknown); a row of a new event id each time.
pub(crate) async fn append_commit(lake: &Lake, sha: &str, parents: Option<&[&str]>, at: &str) {
    append_commit_to(lake, "acme/pay", sha, parents, at).await;
}

/// As [`append_commit`], of `repo`.
pub(crate) async fn append_commit_to(
    lake: &Lake,
    repo: &str,
    sha: &str,
    parents: Option<&[&str]>,
    at: &str,
) {
    let mut b = TableBuilder::new(&COMMITS);
    let event = format!("c-{repo}-{sha}-{}", parents.map_or(0, |p| p.len() + 1));
    b.push(vec![
        Value::text(event),
        Value::text(repo),
        Value::text(sha),
        parents.map_or(Value::Null, texts),
        Value::text("dev-1"),
        Value::Timestamp(micros(at)),
        Value::Timestamp(micros(at)),
        Value::text("change"),
        Value::Null,
        Value::Null,
    ])
    .unwrap();
    lake.append(&COMMITS, &b.finish().unwrap()).await.unwrap();
}

/// Appends push `id` to `acme/pay` main: `before` then `shas`, at `at`.
pub(crate) async fn append_push(lake: &Lake, id: &str, before: &str, shas: &[&str], at: &str) {
    let mut b = TableBuilder::new(&PUSHES);
    b.push(vec![
        Value::text(format!("p-{id}")),
        Value::text("acme/pay"),
        Value::text("refs/heads/main"),
        Value::text(before),
        Value::text(*shas.last().unwrap()),
        texts(shas),
        Value::Timestamp(micros(at)),
        Value::text("dev-1"),
    ])
    .unwrap();
    lake.append(&PUSHES, &b.finish().unwrap()).await.unwrap();
}

/// Appends the catalog entry of `service`, owned by team `core`, deployed
/// from `repos`.
pub(crate) async fn append_service(lake: &Lake, service: &str, repos: &[&str]) {
    let mut b = TableBuilder::new(&SERVICES);
    b.push(vec![
        Value::text(format!("s-{service}")),
        Value::text(service),
        Value::text("core"),
        Value::Null,
        texts(repos),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
    ])
    .unwrap();
    lake.append(&SERVICES, &b.finish().unwrap()).await.unwrap();
}

/// The `row` column of `sql`, run read-only on `context`, in order.
pub(crate) async fn row_texts(
    queries: &crate::LakeQueries,
    context: &datafusion::prelude::SessionContext,
    sql: &str,
) -> Vec<String> {
    let result = queries.read_only_sql_on(context, sql).await.unwrap();
    crate::columns::Columns::new(&result.batches)
        .text("row")
        .unwrap()
        .into_iter()
        .flatten()
        .collect()
}

//! Answers from the lake: the lake as DataFusion tables, read-only SQL, the
//! derive stage, metric SQL and performance levels.
//!
//! This crate owns [`LakeQueries`]: a DataFusion `SessionContext` with one
//! listing table per canonical table of `ingest::schema`, registered with its
//! canonical schema so that empty tables still answer, and Hive partition
//! pruning on `month`. It owns the derive stage ([`derive`]: the commit-graph
//! walk, kept as derived files in the lake) and the metric definitions
//! ([`dora`]: SQL files with the rule each implements). It does not write
//! canonical tables (that is `ingest::lake`) and does not render or serve
//! results (that is `api`). Its answer types derive `utoipa::ToSchema`
//! beside `Serialize`, so the API's OpenAPI schemas are these types.
//!
//! ```no_run
//! # async fn example() -> analytics::Result<()> {
//! let lake = std::sync::Arc::new(ingest::lake::Lake::open_existing("devex-lake")?);
//! let queries = analytics::LakeQueries::open(lake).await?;
//! let batches = queries.read_only_sql("SELECT count(*) AS n FROM deployments").await?;
//! # Ok(()) }
//! ```

pub mod adoption;
pub mod ai;
pub mod audit;
pub mod background;
pub mod catalog;
pub mod columns;
pub mod cost;
pub mod definitions;
pub mod derive;
pub mod devex;
pub mod dora;
pub mod durations;
pub mod engine;
pub mod error;
pub mod freshness;
mod generations;
pub mod onboarding;
pub mod paths;
pub mod privacy;
mod published;
pub mod stats;
pub(crate) mod template;
#[cfg(test)]
mod test_rows;
pub mod window;

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use ingest::lake::Lake;
use ingest::schema::{TableSpec, PARTITION_COLUMN, TABLES};

pub use datafusion::error::DataFusionError as EngineError;
pub use error::{Error, NameKind, Result};
pub use template::sql_text;

/// Partitions DataFusion plans for. On 2 cores 8 beats the default by 15-20%
/// on skewed services (see PERFORMANCE-NOTES).
const TARGET_PARTITIONS: usize = 8;

/// Read access to the lake through DataFusion. A clone shares everything
/// (the caches too): background derives hold one.
#[derive(Clone)]
pub struct LakeQueries {
    lake: Arc<Lake>,
    context: SessionContext,
    /// Derived tables registered in `context`, by input key (see `derive`).
    derived: Arc<tokio::sync::Mutex<DerivedTables>>,
    /// Materialized per-deployment tables by lake content and settings (see
    /// `dora`), newest last.
    materialized: Arc<tokio::sync::Mutex<Vec<(String, SessionContext)>>>,
    /// The commit graph and production deployments a server keeps between
    /// derives (see `derive::commit_graph`).
    kept_walk: Arc<tokio::sync::Mutex<derive::walk_inputs::KeptWalk>>,
    /// The newest generation of each settings family (see [`published`]).
    published: Arc<std::sync::Mutex<published::Published>>,
    /// Answers already given, by materialized context and request (see
    /// [`LakeQueries::remembered`]).
    answers: Arc<std::sync::Mutex<Answers>>,
    /// The newest event time of table sets, by their content (see
    /// [`freshness`]).
    freshness: Arc<tokio::sync::Mutex<Freshness>>,
    /// Where metric SQL runs (see [`engine`]).
    engine: engine::Engine,
}

/// Derived tables registered in the main context by key, oldest first, each
/// with the lease on its generation.
type DerivedTables = std::collections::HashMap<String, Vec<(String, DerivedHold)>>;
type DerivedHold = Option<Arc<ingest::lake::DerivedLease>>;

type Freshness = std::collections::HashMap<String, Option<chrono::DateTime<chrono::Utc>>>;

/// Reports already computed, newest last, within a budget of approximate
/// bytes. An answer is keyed by the session id of the materialized context it
/// was computed from, and that context exists for one lake content and
/// settings only: new data makes a new context, so a remembered answer is
/// never stale, and old ones age out.
#[derive(Default)]
struct Answers {
    entries: std::collections::VecDeque<(String, usize, Arc<dyn std::any::Any + Send + Sync>)>,
}

impl Answers {
    /// Approximate bytes of every remembered answer.
    fn bytes(&self) -> usize {
        self.entries.iter().map(|(_, bytes, _)| bytes).sum()
    }
}

/// What remembered answers may take, in approximate bytes.
const ANSWER_BUDGET_BYTES: usize = 64 << 20;

/// The rows of a query and their schema (kept even when there are no rows).
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

impl LakeQueries {
    /// Registers every canonical table of the lake.
    pub async fn open(lake: Arc<Lake>) -> Result<LakeQueries> {
        let runtime = runtime_env()?;
        // A lake in an object store: its table URLs resolve to its bucket.
        if let Some((bucket_url, bucket)) = lake.remote_store() {
            runtime.register_object_store(&bucket_url, bucket);
        }
        let context = SessionContext::new_with_config_rt(session_config(), runtime);
        for table in TABLES {
            register_table(&context, &lake, table).map_err(Error::Engine)?;
        }
        merge_memberships(&context).await?;
        context.register_udf(cost::tag_value_udf());
        Ok(LakeQueries {
            lake,
            context,
            derived: Default::default(),
            materialized: Default::default(),
            published: Default::default(),
            kept_walk: Default::default(),
            freshness: Default::default(),
            engine: Default::default(),
            answers: Default::default(),
        })
    }

    pub fn context(&self) -> &SessionContext {
        &self.context
    }

    pub fn lake(&self) -> &Arc<Lake> {
        &self.lake
    }

    /// An answer computed before for `request` over `context` (a
    /// materialized context: one lake content and settings).
    pub(crate) fn remembered<T: Clone + Send + Sync + 'static>(
        &self,
        context: &SessionContext,
        request: &str,
    ) -> Option<T> {
        let key = format!("{}\n{request}", context.session_id());
        let answers = self.answers.lock().ok()?;
        answers
            .entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .and_then(|(_, _, answer)| answer.downcast_ref::<T>().cloned())
    }

    /// Keeps an answer for [`LakeQueries::remembered`]; `bytes` is its
    /// approximate size. The oldest answers go first when over budget.
    pub(crate) fn remember<T: Send + Sync + 'static>(
        &self,
        context: &SessionContext,
        request: &str,
        answer: T,
        bytes: usize,
    ) {
        if bytes > ANSWER_BUDGET_BYTES / 4 {
            return;
        }
        let key = format!("{}\n{request}", context.session_id());
        let Ok(mut answers) = self.answers.lock() else {
            return;
        };
        answers.entries.retain(|(k, _, _)| *k != key);
        while answers.bytes() + bytes > ANSWER_BUDGET_BYTES && !answers.entries.is_empty() {
            answers.entries.pop_front();
        }
        answers.entries.push_back((key, bytes, Arc::new(answer)));
    }

    pub(crate) fn freshness(&self) -> &tokio::sync::Mutex<Freshness> {
        &self.freshness
    }

    pub(crate) fn materialized(&self) -> &tokio::sync::Mutex<Vec<(String, SessionContext)>> {
        &self.materialized
    }

    pub(crate) fn published(&self) -> &std::sync::Mutex<published::Published> {
        &self.published
    }

    pub(crate) fn kept_walk(&self) -> &tokio::sync::Mutex<derive::walk_inputs::KeptWalk> {
        &self.kept_walk
    }

    /// A fresh context (same settings) over the same canonical tables, for
    /// intermediate results of one computation.
    pub(crate) async fn scratch_context(&self) -> Result<SessionContext> {
        // The same runtime: one memory budget for every query of the process.
        let scratch =
            SessionContext::new_with_config_rt(session_config(), self.context.runtime_env());
        // The lake's own functions, as on the main context.
        scratch.register_udf(cost::tag_value_udf());
        for name in TABLES.iter().map(|t| t.name) {
            let provider = self
                .context
                .table_provider(name)
                .await
                .map_err(Error::Engine)?;
            scratch
                .register_table(name, provider)
                .map_err(Error::Engine)?;
        }
        Ok(scratch)
    }

    pub(crate) fn derived_tables(&self) -> &tokio::sync::Mutex<DerivedTables> {
        &self.derived
    }

    /// Runs one read-only SQL statement. A failure caused by a corrupt lake
    /// file is reported with that file's name.
    pub async fn read_only_sql(&self, sql: &str) -> Result<QueryResult> {
        self.read_only_sql_on(&self.context, sql).await
    }

    /// As [`Self::read_only_sql`], on another context over this lake.
    pub(crate) async fn read_only_sql_on(
        &self,
        context: &SessionContext,
        sql: &str,
    ) -> Result<QueryResult> {
        self.run_guarded(context, sql, None).await
    }

    /// Raw SQL as admins may run it over HTTP: read-only, over the tables
    /// without a person-level column and without survey answers (the
    /// reports are the way to those, with their group minimums), and at
    /// most `max_rows` rows: more is an error saying to aggregate or limit.
    pub async fn shared_sql(&self, sql: &str, max_rows: usize) -> Result<QueryResult> {
        let context =
            SessionContext::new_with_config_rt(session_config(), self.context.runtime_env());
        for table in shareable_tables() {
            register_table(&context, &self.lake, table).map_err(Error::Engine)?;
        }
        context.register_udf(cost::tag_value_udf());
        let result = self
            .run_guarded(&context, sql, Some(max_rows + 1))
            .await
            .map_err(|e| match e {
                Error::InvalidQuery(message) if message.contains("not found") => {
                    Error::InvalidQuery(format!(
                        "{message}; over HTTP, SQL reads only {} (tables about people are reached through the reports, which keep their group minimums)",
                        shareable_tables()
                            .iter()
                            .map(|t| t.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
                other => other,
            })?;
        if result.num_rows() > max_rows {
            return Err(Error::InvalidQuery(format!(
                "the query returns more than {max_rows} rows; aggregate, or add a LIMIT"
            )));
        }
        Ok(result)
    }

    async fn run_guarded(
        &self,
        context: &SessionContext,
        sql: &str,
        limit: Option<usize>,
    ) -> Result<QueryResult> {
        let sql = &show_tables_without_internals(sql);
        // Run on a task of its own: a malformed file can make the Parquet
        // decoder panic, and that must become an error naming the file, not
        // take the process down. A query that fails on a corrupt file moves
        // it to the quarantine and runs again over the rest.
        let mut retried = false;
        loop {
            let context = context.clone();
            let sql = sql.to_string();
            let task = AbortOnDrop(tokio::spawn(async move {
                run_read_only(&context, &sql, limit).await
            }));
            let failure = match task.join().await {
                Ok(Ok(result)) => return Ok(result),
                Ok(Err(Failure::Planning(e))) => match classify_planning_error(e) {
                    Error::Engine(e) => e,
                    user_error => return Err(user_error),
                },
                Ok(Err(Failure::Execution(e))) => e,
                Err(join_error) => {
                    DataFusionError::Execution(format!("the query engine failed: {join_error}"))
                }
            };
            // A cluster out of reach is not a corrupt file: no footer scan.
            if failure.to_string().contains("tonic::transport") {
                return Err(Error::Engine(failure));
            }
            if !retried && !self.lake.quarantine_corrupt_files().await?.is_empty() {
                retried = true;
                continue;
            }
            return Err(self.explain_execution_error(failure).await);
        }
    }

    /// [`LakeQueries::read_only_sql_on`] planned for one partition. For
    /// exact percentiles over millions of rows this is both leaner and
    /// faster on few cores: DataFusion's `percentile_cont` otherwise keeps
    /// every value in a partial state per partition and again in the final
    /// one (at scale 75 the CI summary needs 1.4 GiB in 1.1 s on 8
    /// partitions, 0.6 GiB in 0.5 s on one).
    pub(crate) async fn read_only_sql_on_one_partition(
        &self,
        context: &SessionContext,
        sql: &str,
    ) -> Result<QueryResult> {
        let mut state = context.state();
        state.config_mut().options_mut().execution.target_partitions = 1;
        // The same catalog, functions and runtime; only the plan differs.
        let single = SessionContext::new_with_state(state);
        self.read_only_sql_on(&single, sql).await
    }

    /// Execution errors from Parquet decoding rarely say which file: look for
    /// a corrupt file and name it.
    pub(crate) async fn explain_execution_error(&self, error: DataFusionError) -> Error {
        match self.lake.find_corrupt_files().await {
            Ok(corrupt) if !corrupt.is_empty() => corrupt
                .into_iter()
                .next()
                .map(Error::Lake)
                .unwrap_or(Error::Engine(error)),
            _ => Error::Engine(error),
        }
    }
}

/// A spawned query that stops when whoever waits for it goes away (a request
/// that timed out, a client that hung up), instead of running on unseen.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> std::result::Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The query memory budget, when `DEVEX_QUERY_MEMORY_MIB` sets one: sorts
/// and aggregations past it spill to temporary files, and a query that still
/// needs more fails with the operators that wanted it. Unset, queries take
/// what they need: answering needs little (reports read the derived tables
/// from disk), but the derive stage's self-joins over a large lake cannot
/// spill (bench/RESULTS.md has its peak).
fn runtime_env() -> Result<Arc<datafusion::execution::runtime_env::RuntimeEnv>> {
    use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    // No cache of file listings: DataFusion's keeps a table's first listing
    // forever, and a running `devex serve` would never see the files that
    // webhooks and imports add. Listing a local folder costs microseconds.
    let mut builder = RuntimeEnvBuilder::new().with_object_list_cache_limit(0);
    if let Ok(value) = std::env::var("DEVEX_QUERY_MEMORY_MIB") {
        let mib = value.trim().parse::<usize>().ok().filter(|m| *m >= 64).ok_or_else(|| {
            Error::InvalidSetting(format!(
                "DEVEX_QUERY_MEMORY_MIB: `{value}` is not a number of MiB of at least 64; unset it to let queries take what they need"
            ))
        })?;
        // Tracking the largest consumers makes a "resources exhausted" error
        // say which operator wanted the memory.
        let pool = TrackConsumersPool::new(
            FairSpillPool::new(mib * 1024 * 1024),
            std::num::NonZeroUsize::new(5).unwrap_or(std::num::NonZeroUsize::MIN),
        );
        builder = builder.with_memory_pool(Arc::new(pool));
    }
    builder.build_arc().map_err(Error::Engine)
}

fn session_config() -> SessionConfig {
    SessionConfig::new()
        .with_target_partitions(TARGET_PARTITIONS)
        .with_information_schema(true)
}

enum Failure {
    Planning(DataFusionError),
    Execution(DataFusionError),
}

/// Plans one statement, refusing DDL, DML and other statements.
async fn plan_read_only(
    context: &SessionContext,
    sql: &str,
) -> std::result::Result<datafusion::dataframe::DataFrame, Failure> {
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    context
        .sql_with_options(sql, options)
        .await
        .map_err(Failure::Planning)
}

/// The tables raw SQL over HTTP may read: no person-level column, no survey
/// answers.
pub fn shareable_tables() -> Vec<&'static ingest::schema::TableSpec> {
    TABLES
        .iter()
        .copied()
        .filter(|t| t.name != "survey_responses" && !t.columns.iter().any(|c| c.person))
        .collect()
}

async fn run_read_only(
    context: &SessionContext,
    sql: &str,
    limit: Option<usize>,
) -> std::result::Result<QueryResult, Failure> {
    let frame = plan_read_only(context, sql).await?;
    let frame = match limit {
        Some(rows) => frame.limit(0, Some(rows)).map_err(Failure::Planning)?,
        None => frame,
    };
    let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await.map_err(Failure::Execution)?;
    Ok(QueryResult { schema, batches })
}

/// Parquet files as one table, read where they lie, with the first one's
/// schema (they must share it).
pub(crate) fn parquet_files_table(
    paths: &[std::path::PathBuf],
) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let first = paths
        .first()
        .ok_or_else(|| Error::Internal("a table without files".into()))?;
    let broken = |e: String| Error::Internal(format!("{}: {e}", first.display()));
    let file = std::fs::File::open(first).map_err(|e| broken(e.to_string()))?;
    let schema = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| broken(e.to_string()))?
        .schema()
        .as_ref()
        .clone()
        // A file's key-value metadata (e.g. a walk's manifest) is not the table's.
        .with_metadata(Default::default());
    let urls: Vec<String> = paths
        .iter()
        .map(|path| format!("file://{}", path.display()))
        .collect();
    listing_table(&urls, Arc::new(schema))
}

/// Parquet files (by URL: `file://...`, `s3://...`) as one table of
/// `schema`, read where they lie.
pub(crate) fn listing_table(
    urls: &[String],
    schema: SchemaRef,
) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    let urls = urls
        .iter()
        .map(|url| ListingTableUrl::parse(url).map_err(Error::Engine))
        .collect::<Result<Vec<_>>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema);
    Ok(Arc::new(
        ListingTable::try_new(config).map_err(Error::Engine)?,
    ))
}

fn classify_planning_error(error: DataFusionError) -> Error {
    let message = error.strip_backtrace();
    match error.find_root() {
        DataFusionError::Plan(m)
            if m.contains("not supported")
                || m.contains("DDL")
                || m.contains("DML")
                || m.contains("Statement") =>
        {
            Error::NotReadOnly(message)
        }
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_) => Error::InvalidQuery(message),
        _ => Error::Engine(error),
    }
}

/// `SHOW TABLES` as users mean it: the lake's tables and the derived ones,
/// by name, without the engine's catalog views, the memberships' stored
/// rows or the derive stage's per-setting caches
/// (`deployment_changes_<hash>_<hash>`). Any other SQL is left alone.
fn show_tables_without_internals(sql: &str) -> std::borrow::Cow<'_, str> {
    let statement = sql.trim().trim_end_matches(';').trim();
    let words: Vec<&str> = statement.split_whitespace().collect();
    if words.len() != 2
        || !words[0].eq_ignore_ascii_case("show")
        || !words[1].eq_ignore_ascii_case("tables")
    {
        return std::borrow::Cow::Borrowed(sql);
    }
    std::borrow::Cow::Owned(format!(
        "SELECT table_name, table_type FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '{TEAM_MEMBER_ROWS}' \
         AND NOT regexp_like(table_name, '^deployment_changes_[0-9a-f]+_[0-9a-f]+$') \
         ORDER BY table_name"
    ))
}

/// Rows of `team_members` as stored: a membership's first row, and the row
/// that ends it when a catalog import finds it gone.
pub const TEAM_MEMBER_ROWS: &str = "team_member_rows";

/// `team_members` as every query reads it: one row per membership
/// (developer, team, valid_from), ended by the earliest `valid_to` any of
/// its rows gives. The lake only appends, so an ended membership is its
/// first row plus a row that ends it.
async fn merge_memberships(context: &SessionContext) -> Result<()> {
    let name = ingest::schema::TEAM_MEMBERS.name;
    let rows = context.deregister_table(name).map_err(Error::Engine)?;
    let Some(rows) = rows else {
        return Ok(());
    };
    context
        .register_table(TEAM_MEMBER_ROWS, rows)
        .map_err(Error::Engine)?;
    context
        .sql(&format!(
            "CREATE VIEW {name} AS SELECT min(event_id) AS event_id, developer, team, valid_from, \
             min(valid_to) AS valid_to FROM {TEAM_MEMBER_ROWS} GROUP BY developer, team, valid_from"
        ))
        .await
        .map_err(Error::Engine)?;
    Ok(())
}

pub(crate) fn register_table(
    context: &SessionContext,
    lake: &Lake,
    table: &'static TableSpec,
) -> datafusion::error::Result<()> {
    let url = ListingTableUrl::parse(lake.table_url(table))?;
    let mut options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    if table.partition_by.is_some() {
        options =
            options.with_table_partition_cols(vec![(PARTITION_COLUMN.to_string(), DataType::Utf8)]);
    }
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(table.schema());
    context.register_table(table.name, Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    use ingest::rows::{TableBuilder, Value};
    use ingest::schema::DEPLOYMENTS;

    async fn lake_with_deployments() -> (tempfile::TempDir, LakeQueries) {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
        let mut b = TableBuilder::new(&DEPLOYMENTS);
        for (i, at) in ["2026-01-05T10:00:00Z", "2026-02-05T10:00:00Z"]
            .iter()
            .enumerate()
        {
            let micros = chrono::DateTime::parse_from_rfc3339(at)
                .unwrap()
                .timestamp_micros();
            b.push(vec![
                Value::text(format!("d{i}")),
                Value::text("pay"),
                Value::text("production"),
                Value::text("abc"),
                Value::text(format!("{i}")),
                Value::text("success"),
                Value::Timestamp(micros),
                Value::Timestamp(micros + 60_000_000),
                Value::text("import"),
            ])
            .unwrap();
        }
        lake.append(&DEPLOYMENTS, &b.finish().unwrap())
            .await
            .unwrap();
        let queries = LakeQueries::open(lake).await.unwrap();
        (dir, queries)
    }

    #[tokio::test]
    async fn a_remembered_report_is_never_older_than_the_lake() {
        let (_dir, queries) = lake_with_deployments().await;
        let request = dora::DoraRequest::parse(
            "2026-01-01",
            "2026-03-01",
            None,
            None,
            None,
            Some("service"),
            dora::DoraSettings::default(),
        )
        .unwrap();
        // Two deployments of one sha: the baseline, then a redeploy.
        let first = dora::report(&queries, &request).await.unwrap();
        assert_eq!(first.overall.deployments, 1);
        assert_eq!(queries.answers.lock().unwrap().entries.len(), 1);
        assert_eq!(dora::report(&queries, &request).await.unwrap(), first);
        assert_eq!(queries.answers.lock().unwrap().entries.len(), 1);

        crate::test_rows::append_deployment(queries.lake(), "9", "def", "2026-02-10T10:00:00Z")
            .await;
        let after = dora::report(&queries, &request).await.unwrap();
        assert_eq!(after.overall.deployments, 2, "new data, new answer");
        assert_eq!(queries.answers.lock().unwrap().entries.len(), 2);
    }

    #[tokio::test]
    async fn remembered_answers_stay_within_their_budget() {
        let (_dir, queries) = lake_with_deployments().await;
        let context = queries.context().clone();
        let quarter = ANSWER_BUDGET_BYTES / 4;
        for i in 0..6 {
            queries.remember(&context, &format!("q{i}"), i, quarter);
        }
        let answers = queries.answers.lock().unwrap();
        assert_eq!(answers.bytes(), ANSWER_BUDGET_BYTES);
        let kept: Vec<&str> = answers.entries.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(kept.len(), 4, "the two oldest went first");
        assert!(kept[0].ends_with("\nq2"), "{kept:?}");
        drop(answers);
        assert_eq!(queries.remembered::<i32>(&context, "q5"), Some(5));
        assert_eq!(queries.remembered::<i32>(&context, "q1"), None);
        // Too large to keep at all.
        queries.remember(&context, "huge", 7, quarter + 1);
        assert_eq!(queries.remembered::<i32>(&context, "huge"), None);
    }

    fn single_i64(result: &QueryResult) -> i64 {
        result.batches[0]
            .column(0)
            .as_primitive::<Int64Type>()
            .value(0)
    }

    #[tokio::test]
    async fn a_query_sees_files_added_after_the_first_one() {
        let (_dir, queries) = lake_with_deployments().await;
        let count = "SELECT count(*) FROM deployments";
        assert_eq!(single_i64(&queries.read_only_sql(count).await.unwrap()), 2);
        crate::test_rows::append_deployment(queries.lake(), "9", "def", "2026-02-10T10:00:00Z")
            .await;
        assert_eq!(single_i64(&queries.read_only_sql(count).await.unwrap()), 3);
    }

    #[tokio::test]
    async fn reads_tables_with_partitions_and_empty_tables() {
        let (_dir, queries) = lake_with_deployments().await;
        let all = queries
            .read_only_sql("SELECT count(*) FROM deployments")
            .await
            .unwrap();
        assert_eq!(single_i64(&all), 2);
        let pruned = queries
            .read_only_sql("SELECT count(*) FROM deployments WHERE month = '2026-02'")
            .await
            .unwrap();
        assert_eq!(single_i64(&pruned), 1);
        let empty = queries
            .read_only_sql("SELECT count(*) FROM incidents")
            .await
            .unwrap();
        assert_eq!(single_i64(&empty), 0);
    }

    /// A lake written before a column was added (`commits.ai_tool`) reads
    /// the column as null in its old files.
    #[tokio::test]
    async fn files_written_before_a_column_existed_read_it_as_null() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
        crate::test_rows::append_commit_to(&lake, "acme/pay", "new", None, "2026-03-02T10:00:00Z")
            .await;
        // The same commit shape, written without the newest column.
        let spec = &ingest::schema::COMMITS;
        let old_fields: Vec<_> = spec.schema().fields().iter().take(9).cloned().collect();
        let old_schema = Arc::new(arrow::datatypes::Schema::new(old_fields));
        let mut rows = ingest::rows::TableBuilder::new(spec);
        rows.push(vec![
            ingest::rows::Value::text("old"),
            ingest::rows::Value::text("acme/pay"),
            ingest::rows::Value::text("old"),
            ingest::rows::Value::Null,
            ingest::rows::Value::text("dev-1"),
            ingest::rows::Value::Timestamp(1_772_445_600_000_000),
            ingest::rows::Value::Null,
            ingest::rows::Value::text("change"),
            ingest::rows::Value::Null,
            ingest::rows::Value::Null,
        ])
        .unwrap();
        let batch = rows.finish().unwrap();
        let old =
            arrow::array::RecordBatch::try_new(old_schema.clone(), batch.columns()[..9].to_vec())
                .unwrap();
        let folder = dir.path().join("commits/month=2026-03");
        let file = std::fs::File::create(folder.join("part-old.parquet")).unwrap();
        let mut writer =
            datafusion::parquet::arrow::ArrowWriter::try_new(file, old_schema, None).unwrap();
        writer.write(&old).unwrap();
        writer.close().unwrap();
        let queries = LakeQueries::open(lake).await.unwrap();
        let result = queries
            .read_only_sql("SELECT count(*) FROM commits WHERE ai_tool IS NULL")
            .await
            .unwrap();
        assert_eq!(single_i64(&result), 2);
    }

    #[tokio::test]
    async fn refuses_writes_and_explains_bad_sql() {
        let (_dir, queries) = lake_with_deployments().await;
        for sql in [
            "DROP TABLE deployments",
            "CREATE TABLE x AS SELECT 1",
            "INSERT INTO deployments SELECT * FROM deployments",
        ] {
            let err = queries.read_only_sql(sql).await.err().unwrap();
            assert!(err.is_user_error(), "{sql}: {err}");
        }
        let err = queries
            .read_only_sql("SELECT nope FROM deployments")
            .await
            .err()
            .unwrap();
        assert!(matches!(err, Error::InvalidQuery(_)), "{err}");
    }

    #[tokio::test]
    async fn a_corrupt_file_is_quarantined_and_the_rest_answers() {
        let (dir, queries) = lake_with_deployments().await;
        let all = queries
            .read_only_sql("SELECT count(*) AS n FROM deployments")
            .await
            .unwrap();
        let bad = dir.path().join("deployments/month=2026-02/part-zz.parquet");
        std::fs::write(&bad, b"PAR1 garbage").unwrap();
        let queries = LakeQueries::open(queries.lake().clone()).await.unwrap();
        let rest = queries
            .read_only_sql("SELECT count(*) AS n FROM deployments")
            .await
            .unwrap();
        let count = |r: &QueryResult| crate::columns::Columns::new(&r.batches).int("n").unwrap()[0];
        assert_eq!(count(&rest), count(&all));
        assert!(!bad.exists());
        assert_eq!(
            queries.lake().quarantined_files().await.unwrap(),
            vec!["deployments/month=2026-02/part-zz.parquet".to_string()]
        );
    }
}

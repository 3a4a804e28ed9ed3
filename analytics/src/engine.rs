//! Where metric SQL runs: in this process (the default), or on a DataFusion
//! Ballista cluster (`[engine] kind = "ballista"`).
//!
//! On a cluster, a report's queries are planned here and sent to the
//! scheduler as logical plans; executors read the tables themselves. So
//! every table a report reads must be one the executors can open:
//! - canonical tables are listing tables over the lake's URLs (`s3://...`),
//!   which executors reach with their own credentials;
//! - derived tables live in this machine's cache, so their generation is
//!   copied into the lake's `_derived/` first (once; see
//!   `Lake::share_derived`) and read from there;
//! - an empty table held in memory becomes an empty view, which serializes.
//!
//! The derive stage itself (the commit-graph walk in Rust, and the steps
//! with devex's own functions such as `weekday_hours`) stays in this
//! process: reports read its results, and their SQL calls no function a
//! stock Ballista executor lacks, so no extension codec is needed.

use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::{MemTable, ViewTable};
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::{cast, lit, LogicalPlanBuilder};
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};
use crate::LakeQueries;

/// The engine metric SQL runs on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    #[default]
    InProcess,
    /// A Ballista cluster, by its scheduler's URL (`df://HOST:PORT`).
    Ballista { scheduler: String },
}

impl Engine {
    /// The engine named in settings: `in-process` (or `local`), or
    /// `ballista` with the scheduler's `df://HOST:PORT`.
    pub fn from_settings(kind: &str, scheduler: Option<&str>) -> Result<Engine> {
        match (kind, scheduler) {
            ("in-process" | "local", _) => Ok(Engine::InProcess),
            ("ballista", Some(url)) => {
                let parsed = url::Url::parse(url).ok().filter(|u| {
                    u.scheme() == "df" && u.host_str().is_some_and(|h| !h.is_empty())
                });
                match parsed {
                    Some(_) => Ok(Engine::Ballista {
                        scheduler: url.to_string(),
                    }),
                    None => Err(Error::InvalidSetting(format!(
                        "the Ballista scheduler `{url}` is not a df://HOST:PORT URL (the scheduler's gRPC address, port 50050 by default)"
                    ))),
                }
            }
            ("ballista", None) => Err(Error::InvalidSetting(
                "the ballista engine needs its scheduler: --scheduler df://HOST:PORT (or [engine] scheduler)".into(),
            )),
            (other, _) => Err(Error::InvalidSetting(format!(
                "unknown engine `{other}`; use `in-process` or `ballista`"
            ))),
        }
    }
}

impl LakeQueries {
    /// These queries with metric SQL on `engine` (see [`crate::engine`]).
    pub fn on_engine(mut self, engine: Engine) -> LakeQueries {
        self.engine = engine;
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs one read-only metric query over `context`'s tables on the
    /// configured engine; on one partition when `one_partition` (exact
    /// percentiles, see [`LakeQueries::read_only_sql_on_one_partition`]).
    pub(crate) async fn metric_sql_on(
        &self,
        context: &SessionContext,
        sql: &str,
        one_partition: bool,
    ) -> Result<crate::QueryResult> {
        match &self.engine {
            Engine::InProcess if one_partition => {
                self.read_only_sql_on_one_partition(context, sql).await
            }
            Engine::InProcess => self.read_only_sql_on(context, sql).await,
            Engine::Ballista { scheduler } => {
                let cluster = self.on_cluster(context, scheduler, one_partition).await?;
                self.read_only_sql_on(&cluster, sql)
                    .await
                    .map_err(|e| unreachable_cluster(e, scheduler))
            }
        }
    }

    /// A Ballista context with `context`'s tables and functions, each table
    /// readable by the executors.
    async fn on_cluster(
        &self,
        context: &SessionContext,
        scheduler: &str,
        one_partition: bool,
    ) -> Result<SessionContext> {
        let mut config = crate::session_config();
        if one_partition {
            config.options_mut().execution.target_partitions = 1;
        }
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(context.runtime_env())
            .with_default_features()
            .build();
        let cluster = SessionContext::remote_with_state(scheduler, state)
            .await
            .map_err(|e| {
                Error::InvalidSetting(format!("the Ballista scheduler `{scheduler}`: {e}"))
            })?;
        // devex's own functions (the built-in ones are there already).
        let known = cluster.state().scalar_functions().clone();
        let state = context.state();
        for (name, function) in state.scalar_functions() {
            if !known.contains_key(name) {
                cluster.register_udf(function.as_ref().clone());
            }
        }
        let options = &state.config().options().catalog;
        let schema = context
            .catalog(&options.default_catalog)
            .and_then(|catalog| catalog.schema(&options.default_schema))
            .ok_or_else(|| Error::Internal("a context without its default schema".into()))?;
        for name in schema.table_names() {
            let Some(provider) = schema.table(&name).await.map_err(Error::Engine)? else {
                continue;
            };
            let provider = self.readable_by_executors(&name, provider).await?;
            cluster
                .register_table(name.as_str(), provider)
                .map_err(Error::Engine)?;
        }
        Ok(cluster)
    }

    /// `provider` as executors can read it (see the module's doc).
    async fn readable_by_executors(
        &self,
        name: &str,
        provider: Arc<dyn TableProvider>,
    ) -> Result<Arc<dyn TableProvider>> {
        if let Some(listing) = provider.downcast_ref::<ListingTable>() {
            return self.shared_listing(&provider, listing).await;
        }
        if let Some(memory) = provider.downcast_ref::<MemTable>() {
            return empty_view(name, memory);
        }
        if provider.downcast_ref::<ViewTable>().is_some() {
            return Ok(provider);
        }
        Err(Error::Internal(format!(
            "table `{name}` is not files or a view, and a Ballista cluster cannot read it"
        )))
    }

    /// A listing table whose derived files (in this machine's cache) are
    /// replaced by their copies in the lake.
    async fn shared_listing(
        &self,
        provider: &Arc<dyn TableProvider>,
        listing: &ListingTable,
    ) -> Result<Arc<dyn TableProvider>> {
        let derived_root = url::Url::from_directory_path(self.lake().derived_path(""))
            .map_err(|()| Error::Internal("the derived folder is not an absolute path".into()))?;
        let mut paths = Vec::with_capacity(listing.table_paths().len());
        let mut moved = false;
        for path in listing.table_paths() {
            match path.as_str().strip_prefix(derived_root.as_str()) {
                Some(relative) => {
                    let shared = self.lake().share_derived(relative).await?;
                    moved |= shared != path.as_str();
                    paths.push(ListingTableUrl::parse(&shared).map_err(Error::Engine)?);
                }
                None => paths.push(path.clone()),
            }
        }
        if !moved {
            return Ok(provider.clone());
        }
        let options = listing.options().clone();
        let partition_columns: Vec<&str> = options
            .table_partition_cols
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        let table_schema = listing.schema();
        let file_schema = arrow::datatypes::Schema::new(
            table_schema
                .fields()
                .iter()
                .filter(|f| !partition_columns.contains(&f.name().as_str()))
                .cloned()
                .collect::<Vec<_>>(),
        );
        let config = ListingTableConfig::new_with_multi_paths(paths)
            .with_listing_options(options)
            .with_schema(Arc::new(file_schema));
        Ok(Arc::new(
            ListingTable::try_new(config).map_err(Error::Engine)?,
        ))
    }
}

/// A failure to connect (gRPC transport) said as what it is, with what to
/// check; other errors as they are.
fn unreachable_cluster(error: Error, scheduler: &str) -> Error {
    match &error {
        Error::Engine(e) if e.to_string().contains("tonic::transport") => Error::EngineUnavailable(format!(
            "the Ballista cluster at {scheduler} cannot be reached ({}); check that its scheduler and executors run and that --scheduler (or [engine] scheduler) names the scheduler's gRPC address",
            e.strip_backtrace()
        )),
        _ => error,
    }
}

/// An empty in-memory table as a view of no rows with its columns: a plan
/// holding a memory table cannot be sent to a cluster, a view can.
fn empty_view(name: &str, memory: &MemTable) -> Result<Arc<dyn TableProvider>> {
    let rows: usize = memory
        .batches
        .iter()
        .filter_map(|partition| partition.try_read().ok())
        .map(|batches| batches.iter().map(|b| b.num_rows()).sum::<usize>())
        .sum();
    if rows > 0 {
        return Err(Error::Internal(format!(
            "table `{name}` is held in memory ({rows} rows), and a Ballista cluster cannot read it"
        )));
    }
    let columns: Vec<_> = memory
        .schema()
        .fields()
        .iter()
        .map(|f| cast(lit(ScalarValue::Null), f.data_type().clone()).alias(f.name()))
        .collect();
    let plan = LogicalPlanBuilder::empty(true)
        .project(columns)
        .and_then(|b| b.filter(lit(false)))
        .and_then(|b| b.build())
        .map_err(Error::Engine)?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

#[cfg(test)]
mod tests {
    use super::Engine;

    #[test]
    fn engine_settings_name_the_scheduler() {
        assert_eq!(
            Engine::from_settings("in-process", None).unwrap(),
            Engine::InProcess
        );
        assert_eq!(
            Engine::from_settings("ballista", Some("df://scheduler:50050")).unwrap(),
            Engine::Ballista {
                scheduler: "df://scheduler:50050".into()
            }
        );
        let missing = Engine::from_settings("ballista", None)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("--scheduler df://HOST:PORT"), "{missing}");
        let wrong = Engine::from_settings("ballista", Some("http://x:1"))
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("df://HOST:PORT"), "{wrong}");
        let unknown = Engine::from_settings("spark", None)
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("in-process") && unknown.contains("ballista"),
            "{unknown}"
        );
    }
}

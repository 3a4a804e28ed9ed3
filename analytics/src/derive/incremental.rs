//! The incremental derive: a new generation of derived tables from the
//! previous one and the events added since, recomputing only the keys the
//! new events touch.
//!
//! A generation is a folder `materialized/<key>/` holding each table in
//! parts (see [`super::parts`]) and a `manifest.json`, written last, that
//! records the input files it was derived from. The next generation for the
//! same settings starts from the newest complete one:
//!
//! 1. the *delta* of each input is the rows of its files the base did not
//!    read (a compaction's merged files count as new: recomputing a key whose
//!    rows did not change gives the same rows);
//! 2. each [`Step`], in order, names the keys the delta touches (its
//!    `touched` SQL, which may read earlier steps' `touched_<name>`,
//!    `replaced_<name>` and `recomputed_<name>`), recomputes exactly those
//!    keys from every input row they have (its `restricted` inputs), and
//!    writes the parts holding a touched key again: the base's rows of
//!    untouched keys plus the recomputed rows. Other parts are linked.
//!
//! Everything is derived again, from scratch, when there is no base, when an
//! input the steps read whole changed (`rederive_all_on`: the catalog), when
//! an input lost rows (a quarantined file), or when an upstream derived table
//! changed and the base's copy of it is gone. A property test derives random
//! batches of the demo's events one at a time and checks that every table
//! equals a derive from scratch.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;
use ingest::lake::DerivedLease;
use ingest::schema::TableSpec;
use serde::{Deserialize, Serialize};

use super::parts;
use crate::error::{Error, Result};
use crate::LakeQueries;

/// Bumped when the manifest or the parts change meaning.
const FORMAT: u32 = 1;

/// One derived table of a generation.
pub(crate) struct Step {
    pub name: &'static str,
    /// Its SQL, over the inputs, the upstream tables and earlier steps.
    pub sql: String,
    /// The columns that identify a group of its rows: a touched key is
    /// recomputed whole.
    pub key: &'static [&'static str],
    /// The time column whose month names a row's part (`None`: one part).
    pub month_of: Option<&'static str>,
    /// Columns each part is sorted by (those it has), so a filter on them
    /// reads few row groups.
    pub sort_by: &'static [&'static str],
    /// SQL of the keys (columns `key`) the new events touch; `None` when the
    /// table reads only `rederive_all_on` inputs.
    pub touched: Option<String>,
    /// The inputs (canonical tables or earlier steps) read only for the
    /// touched keys: name, and SQL of the rows of `touched_<step>`'s keys.
    pub restricted: Vec<(&'static str, String)>,
}

/// A derived table computed elsewhere that the steps read (e.g. DORA's
/// `change_lead_times`).
pub(crate) struct Upstream {
    pub name: &'static str,
    pub provider: Arc<dyn TableProvider>,
    /// SQL over `<name>` and `old_<name>` (the base's) of what changed in
    /// it, registered as `changed_<name>` for the touched queries. It runs
    /// over only the files the two do not share, so it must name every
    /// changed key given those alone: a symmetric difference of rows does,
    /// and so does one of per-key minimums (a shared file's rows hold on
    /// both sides); naming more keys only recomputes more.
    pub changes: String,
}

/// What to derive.
pub(crate) struct Plan {
    /// Names the generation: the inputs' content and the settings.
    pub key: String,
    /// Generations with the same settings can be each other's base; a
    /// server's reports read the newest one published under it.
    pub settings: String,
    pub inputs: &'static [&'static TableSpec],
    /// Inputs whose change derives everything again.
    pub rederive_all_on: &'static [&'static TableSpec],
    pub upstream: Vec<Upstream>,
    pub steps: Vec<Step>,
    pub functions: Vec<ScalarUDF>,
    /// Leases of the generations the upstream tables live in.
    pub leases: Vec<Arc<DerivedLease>>,
    /// The newest event of the inputs, read before anything of the
    /// derive (the upstream tables included) listed them: a generation is
    /// never said to be fresher than what it holds.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
}

/// Rows of `input` (aliased `i`) whose `columns` are a key of `touched`
/// (`columns` renamed to `key` there).
pub(crate) fn rows_of(input: &str, touched: &str, columns: &[&str], key: &[&str]) -> String {
    let on = columns
        .iter()
        .zip(key)
        // Parenthesized: IS NOT DISTINCT FROM binds looser than AND.
        .map(|(c, k)| format!("(i.{c} IS NOT DISTINCT FROM t.{k})"))
        .collect::<Vec<_>>()
        .join(" AND ");
    format!("SELECT i.* FROM {input} i LEFT SEMI JOIN {touched} t ON {on}")
}

/// The data files of each input table.
type InputFiles = BTreeMap<String, Vec<String>>;
/// The derived files each upstream table reads (`None`: not files).
type UpstreamFiles = BTreeMap<String, Option<Vec<String>>>;

/// What a complete generation records.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    settings: String,
    generation: u64,
    /// The data files of each input it read.
    inputs: InputFiles,
    /// The files each upstream table was read from.
    upstream: UpstreamFiles,
    /// The generation's own links to those files: the next generation
    /// compares against them even after the upstream removed its own.
    #[serde(default)]
    upstream_copies: BTreeMap<String, Vec<String>>,
    tables: Vec<String>,
    /// How it was made, for whoever looks: `kept`, `incremental (N keys)`
    /// or `from scratch (why)`.
    made: String,
}

/// How a generation was made, for the log and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Made {
    Kept,
    Incremental { touched: usize },
    FromScratch(String),
}

impl std::fmt::Display for Made {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Made::Kept => write!(f, "kept"),
            Made::Incremental { touched } => write!(f, "incremental ({touched} keys)"),
            Made::FromScratch(why) => write!(f, "from scratch ({why})"),
        }
    }
}

/// The generation for `plan.key`: kept, or made from the previous one, or
/// from scratch; a context reading its tables (and the upstream ones).
pub(crate) async fn materialize(queries: &LakeQueries, plan: Plan) -> Result<SessionContext> {
    // One derive per settings family at a time (DORA's and DevEx's run side
    // by side); publishing under it keeps the newest content published last.
    let family = crate::published::derive_lock(queries, &plan.settings);
    let _deriving = family.lock().await;
    let cached = queries
        .materialized()
        .lock()
        .await
        .iter()
        .find(|(k, _)| *k == plan.key)
        .map(|(_, context)| context.clone());
    if let Some(context) = cached {
        crate::published::publish(queries, &plan.settings, &context);
        return Ok(context);
    }
    let as_of = plan.data_as_of;
    let (context, made) = match generation(queries, &plan).await {
        // Keeping is what makes answers cheap, but a lake that cannot be
        // written (a full disk) must still answer: from memory.
        Err(Error::Lake(e)) => {
            tracing::warn!(error = %e, "derived tables not kept; computed in memory");
            #[cfg(test)]
            tests::not_kept(queries, &e);
            let context = in_memory(queries, &plan).await?;
            crate::generations::set_data_as_of(&context, as_of);
            crate::published::publish(queries, &plan.settings, &context);
            return Ok(context);
        }
        // Decoding errors rarely say which file: name a corrupt one.
        Err(Error::Engine(e)) => return Err(queries.explain_execution_error(e).await),
        outcome => outcome?,
    };
    match &made {
        Made::Kept => {}
        made => {
            tracing::info!(%made, tables = plan.steps.len(), "derived a generation");
            crate::template::remove_old_generations(queries).await;
        }
    }
    crate::generations::set_data_as_of(&context, as_of);
    let mut cache = queries.materialized().lock().await;
    cache.push((plan.key.clone(), context.clone()));
    crate::template::trim_materialized(&mut cache);
    drop(cache);
    crate::published::publish(queries, &plan.settings, &context);
    Ok(context)
}

/// Every step computed from scratch into memory, nothing written.
async fn in_memory(queries: &LakeQueries, plan: &Plan) -> Result<SessionContext> {
    let context = queries.scratch_context().await?;
    crate::generations::hold(&context, plan.leases.clone());
    for function in &plan.functions {
        context.register_udf(function.clone());
    }
    for table in &plan.upstream {
        register(&context, table.name, table.provider.clone())?;
    }
    for step in &plan.steps {
        let rows = queries.read_only_sql_on(&context, &step.sql).await?;
        let schema = rows
            .batches
            .first()
            .map(|b| b.schema())
            .unwrap_or(rows.schema);
        let table = MemTable::try_new(schema, vec![rows.batches]).map_err(Error::Engine)?;
        register(&context, step.name, Arc::new(table))?;
    }
    Ok(context)
}

/// The folder of the generation `key` (relative to `_derived/`).
fn folder_of(key: &str) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "{}/{}",
        crate::template::MATERIALIZED_FOLDER,
        hex::encode(Sha256::digest(key.as_bytes()))
    )
}

async fn generation(queries: &LakeQueries, plan: &Plan) -> Result<(SessionContext, Made)> {
    let lake = queries.lake();
    let folder = folder_of(&plan.key);
    let mut leases = vec![Arc::new(lake.lease_derived(&folder)?)];
    leases.extend(plan.leases.iter().cloned());
    let tables: Vec<String> = plan.steps.iter().map(|s| s.name.to_string()).collect();
    if read_manifest(queries, &folder).is_some_and(|m| m.format == FORMAT && m.tables == tables) {
        if readable(queries, &folder, &tables) {
            let context = reading_context(queries, plan, &folder, leases).await?;
            return Ok((context, Made::Kept));
        }
        // A broken part (a crash, a disk error): made again, whole.
        tracing::warn!(generation = %folder, "a kept derived table does not read; deriving it again");
        lake.clear_derived_folder(&folder)?;
    }
    let mut inputs = BTreeMap::new();
    for table in plan.inputs {
        let files = lake.data_files(table).await?;
        inputs.insert(
            table.name.to_string(),
            files.into_iter().map(|(path, _)| path).collect::<Vec<_>>(),
        );
    }
    let upstream: UpstreamFiles = plan
        .upstream
        .iter()
        .map(|u| (u.name.to_string(), files_of(&u.provider, queries)))
        .collect();
    let base = newest_base(queries, plan, &tables).await?;
    let generation = base.as_ref().map_or(1, |(_, m)| m.generation + 1);
    let work = queries.scratch_context().await?;
    for function in &plan.functions {
        work.register_udf(function.clone());
    }
    for table in &plan.upstream {
        work.register_table(table.name, table.provider.clone())
            .map_err(Error::Engine)?;
    }
    let quarantined = queries.lake().quarantined_files().await.unwrap_or_default();
    let made = match base.map(|(base_folder, manifest)| {
        let reason = rederive_reason(queries, plan, (&manifest, &quarantined), &inputs, &upstream);
        (base_folder, manifest, reason)
    }) {
        None => Made::FromScratch("no earlier generation".into()),
        Some((_, _, Some(reason))) => Made::FromScratch(reason),
        Some((base_folder, manifest, None)) => {
            // Held while its parts are read and linked.
            let base_lease = lake.lease_derived(&base_folder)?;
            let touched = incremental(
                queries,
                plan,
                &work,
                (&folder, &base_folder),
                &manifest,
                (&inputs, &upstream),
            )
            .await?;
            drop(base_lease);
            Made::Incremental { touched }
        }
    };
    if let Made::FromScratch(_) = made {
        for step in &plan.steps {
            parts::write_parts(
                queries,
                &work,
                &step.sql,
                (step.month_of, step.sort_by),
                &folder,
                step.name,
            )
            .await?;
            register_parts(queries, &work, &folder, step.name)?;
        }
    }
    let mut upstream_copies = BTreeMap::new();
    for (name, files) in &upstream {
        let mut copies = Vec::new();
        for (n, file) in files.iter().flatten().enumerate() {
            let copy = format!("{folder}/upstream/{name}/{n}.parquet");
            lake.link_derived_file(file, &copy)?;
            copies.push(copy);
        }
        upstream_copies.insert(name.clone(), copies);
    }
    let manifest = Manifest {
        format: FORMAT,
        settings: plan.settings.clone(),
        generation,
        inputs,
        upstream,
        upstream_copies,
        tables,
        made: made.to_string(),
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    lake.write_derived_file(&format!("{folder}/manifest.json"), &json)?;
    let context = reading_context(queries, plan, &folder, leases).await?;
    Ok((context, made))
}

/// Why the base cannot be brought up to date key by key, if it cannot.
fn rederive_reason(
    queries: &LakeQueries,
    plan: &Plan,
    (base, quarantined): (&Manifest, &[String]),
    inputs: &InputFiles,
    upstream: &UpstreamFiles,
) -> Option<String> {
    for table in plan.rederive_all_on {
        if base.inputs.get(table.name) != inputs.get(table.name) {
            return Some(format!("{} changed", table.name));
        }
    }
    for (table, files) in &base.inputs {
        let now = inputs.get(table).cloned().unwrap_or_default();
        // Most of a table merged into new files (a first compaction): every
        // key would be touched, and recomputing each from the base costs
        // more than deriving afresh.
        let kept = files
            .iter()
            .filter(|f| now.binary_search(f).is_ok())
            .count();
        if files.len() >= 8 && kept * 2 < files.len() {
            return Some(format!("most of {table} was rewritten"));
        }
        for gone in files.iter().filter(|f| now.binary_search(f).is_err()) {
            // Compaction merges files into new ones (read as new); a
            // quarantined file's rows are gone, and so are its keys' rows.
            if quarantined.contains(gone)
                || !gone
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.starts_with("part-"))
            {
                return Some(format!("{table} lost the rows of {gone}"));
            }
        }
    }
    for (name, file) in upstream {
        let before = base.upstream.get(name).cloned().flatten();
        if before.as_ref() == file.as_ref() {
            continue;
        }
        if file.is_none() || earlier_copy(queries, base, name).is_none() {
            return Some(format!("{name} changed and its earlier copy is gone"));
        }
    }
    None
}

/// The files of `old` and of `new` (relative to `_derived/`) that are not
/// the same file (a hard link) as one of the other list.
fn not_shared(queries: &LakeQueries, old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    use std::os::unix::fs::MetadataExt;
    let identity = |f: &String| {
        std::fs::metadata(queries.lake().derived_path(f))
            .ok()
            .map(|m| (m.dev(), m.ino()))
    };
    let ids = |files: &[String]| -> std::collections::HashSet<(u64, u64)> {
        files.iter().filter_map(identity).collect()
    };
    let (old_ids, new_ids) = (ids(old), ids(new));
    let only = |files: &[String], other: &std::collections::HashSet<(u64, u64)>| {
        files
            .iter()
            .filter(|f| identity(f).is_none_or(|id| !other.contains(&id)))
            .cloned()
            .collect()
    };
    (only(old, &new_ids), only(new, &old_ids))
}

/// Derived files as a table of `schema` (no file: no row).
fn files_or_empty(
    queries: &LakeQueries,
    files: &[String],
    schema: &arrow::datatypes::SchemaRef,
) -> Result<Arc<dyn TableProvider>> {
    if files.is_empty() {
        let empty = MemTable::try_new(schema.clone(), vec![vec![]]).map_err(Error::Engine)?;
        return Ok(Arc::new(empty));
    }
    parts::files_table(queries, files)
}

/// The base's copy of upstream table `name`, when all of it is still there.
fn earlier_copy(queries: &LakeQueries, base: &Manifest, name: &str) -> Option<Vec<String>> {
    let exists = |files: &Vec<String>| {
        !files.is_empty()
            && files
                .iter()
                .all(|f| queries.lake().derived_path(f).exists())
    };
    base.upstream_copies
        .get(name)
        .filter(|files| exists(files))
        .or_else(|| {
            base.upstream
                .get(name)?
                .as_ref()
                .filter(|files| exists(files))
        })
        .cloned()
}

/// Brings the base's tables up to date key by key into `folder`; returns
/// how many keys were recomputed.
async fn incremental(
    queries: &LakeQueries,
    plan: &Plan,
    work: &SessionContext,
    (folder, base_folder): (&str, &str),
    base: &Manifest,
    (inputs, upstream): (&InputFiles, &UpstreamFiles),
) -> Result<usize> {
    for table in plan.inputs {
        let known = base.inputs.get(table.name).cloned().unwrap_or_default();
        let new: Vec<&String> = inputs
            .get(table.name)
            .map(|files| {
                files
                    .iter()
                    .filter(|f| known.binary_search(f).is_err())
                    .collect()
            })
            .unwrap_or_default();
        let delta = files_table(queries, table, &new)?;
        work.register_table(format!("delta_{}", table.name), delta)
            .map_err(Error::Engine)?;
    }
    for table in &plan.upstream {
        let before = base.upstream.get(table.name).cloned().flatten();
        let now = upstream.get(table.name).cloned().flatten();
        register(work, &format!("old_{}", table.name), table.provider.clone())?;
        let changed = match before.filter(|b| Some(b) != now.as_ref()) {
            Some(_) => {
                let copy = earlier_copy(queries, base, table.name).ok_or_else(|| {
                    Error::Internal(format!("the earlier {} is gone", table.name))
                })?;
                // Rows of a file both hold cancel out in the comparison
                // (a symmetric difference): only the others are compared.
                let (old_only, new_only) = match &now {
                    Some(now) => not_shared(queries, &copy, now),
                    None => (copy, Vec::new()),
                };
                let schema = table.provider.schema();
                let old = files_or_empty(queries, &old_only, &schema)?;
                register(work, &format!("old_{}", table.name), old)?;
                if now.is_some() {
                    let new = files_or_empty(queries, &new_only, &schema)?;
                    register(work, table.name, new)?;
                }
                let changed = collect(work, &table.changes).await?;
                register(work, table.name, table.provider.clone())?;
                tracing::debug!(
                    upstream = table.name,
                    changed = changed.num_rows(),
                    "compared an upstream table with the base's copy"
                );
                changed
            }
            // Unchanged: nothing differs (planned only, for the columns).
            None => {
                let frame = work.sql(&table.changes).await.map_err(Error::Engine)?;
                Rows {
                    schema: Arc::new(frame.schema().as_arrow().clone()),
                    batches: vec![],
                }
            }
        };
        register(
            work,
            &format!("changed_{}", table.name),
            changed.into_table()?,
        )?;
    }
    let mut recomputed_keys = 0;
    for step in &plan.steps {
        let started = std::time::Instant::now();
        let base_labels = parts::labels(queries, base_folder, step.name);
        let Some(touched_sql) = &step.touched else {
            link(queries, base_folder, folder, step.name, &base_labels)?;
            register_parts(queries, work, folder, step.name)?;
            continue;
        };
        let touched = collect(work, touched_sql).await?;
        recomputed_keys += touched.num_rows();
        register(
            work,
            &format!("touched_{}", step.name),
            touched.into_table()?,
        )?;
        let old = parts::table(queries, base_folder, step.name, None)?
            .ok_or_else(|| Error::Internal(format!("{base_folder} has no {}", step.name)))?;
        register(work, &format!("old_{}", step.name), old)?;
        let on = |left: &str, right: &str| {
            step.key
                .iter()
                // Parenthesized: IS NOT DISTINCT FROM binds looser than AND.
                .map(|c| format!("({left}.\"{c}\" IS NOT DISTINCT FROM {right}.\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let name = step.name;
        let replaced = collect(
            work,
            &format!(
                "SELECT o.* FROM old_{name} o LEFT SEMI JOIN touched_{name} t ON {}",
                on("o", "t")
            ),
        )
        .await?;
        register(work, &format!("replaced_{name}"), replaced.into_table()?)?;
        let recomputed = recompute(queries, plan, work, step).await?;
        register(
            work,
            &format!("recomputed_{name}"),
            recomputed.into_table()?,
        )?;
        // Only parts whose rows differ are written again: a touched service
        // keeps most of its history exactly as it was.
        let label = parts::part_label_sql(step.month_of);
        let affected_rows = collect(
            work,
            &format!(
                "SELECT DISTINCT {label} AS label FROM ( \
                     (SELECT * FROM replaced_{name} EXCEPT ALL SELECT * FROM recomputed_{name}) \
                     UNION ALL \
                     (SELECT * FROM recomputed_{name} EXCEPT ALL SELECT * FROM replaced_{name}))"
            ),
        )
        .await?;
        let mut affected: Vec<String> = crate::columns::Columns::new(&affected_rows.batches)
            .text("label")?
            .into_iter()
            .flatten()
            .collect();
        affected.sort();
        let kept: Vec<String> = base_labels
            .iter()
            .filter(|l| !affected.contains(l))
            .cloned()
            .collect();
        link(queries, base_folder, folder, name, &kept)?;
        if !affected.is_empty() {
            let old_affected = parts::table(queries, base_folder, name, Some(&affected))?
                .ok_or_else(|| Error::Internal(format!("{base_folder} has no {name}")))?;
            register(work, &format!("old_affected_{name}"), old_affected)?;
            // Only the affected parts: a recomputed row of another part
            // equals the row it has, and writing it would replace that
            // whole part with it.
            let labels: Vec<String> = affected.iter().map(|l| crate::sql_text(l)).collect();
            let sql = format!(
                "SELECT o.* FROM old_affected_{name} o LEFT ANTI JOIN touched_{name} t ON {} \
                 UNION ALL SELECT * FROM recomputed_{name} WHERE {label} IN ({})",
                on("o", "t"),
                labels.join(", ")
            );
            parts::write_parts(
                queries,
                work,
                &sql,
                (step.month_of, step.sort_by),
                folder,
                name,
            )
            .await?;
        }
        register_parts(queries, work, folder, name)?;
        tracing::debug!(
            table = name,
            touched = recomputed_keys,
            rewritten_parts = affected.len(),
            linked_parts = kept.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "derived a table incrementally"
        );
    }
    Ok(recomputed_keys)
}

/// The step's rows for its touched keys: its SQL on a context where each
/// restricted input holds only those keys' rows.
async fn recompute(
    queries: &LakeQueries,
    plan: &Plan,
    work: &SessionContext,
    step: &Step,
) -> Result<Rows> {
    let context = queries.scratch_context().await?;
    for function in &plan.functions {
        context.register_udf(function.clone());
    }
    let mut names: Vec<&str> = plan.upstream.iter().map(|u| u.name).collect();
    names.extend(
        plan.steps
            .iter()
            .map(|s| s.name)
            .take_while(|n| *n != step.name),
    );
    for name in names {
        let provider = work.table_provider(name).await.map_err(Error::Engine)?;
        context
            .register_table(name, provider)
            .map_err(Error::Engine)?;
    }
    for (input, sql) in &step.restricted {
        let rows = work.sql(sql).await.map_err(Error::Engine)?.into_view();
        let _ = context.deregister_table(*input);
        context
            .register_table(*input, rows)
            .map_err(Error::Engine)?;
    }
    collect(&context, &step.sql).await
}

/// A small result held in memory (keys, recomputed rows).
struct Rows {
    schema: arrow::datatypes::SchemaRef,
    batches: Vec<arrow::record_batch::RecordBatch>,
}

impl Rows {
    fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    fn into_table(self) -> Result<Arc<dyn TableProvider>> {
        Ok(Arc::new(
            MemTable::try_new(self.schema, vec![self.batches]).map_err(Error::Engine)?,
        ))
    }
}

async fn collect(context: &SessionContext, sql: &str) -> Result<Rows> {
    let frame = context.sql(sql).await.map_err(Error::Engine)?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await.map_err(Error::Engine)?;
    // The batches' own schema: the plan's may differ in nullability.
    let schema = batches.first().map(|b| b.schema()).unwrap_or(schema);
    Ok(Rows { schema, batches })
}

fn register(context: &SessionContext, name: &str, table: Arc<dyn TableProvider>) -> Result<()> {
    let _ = context.deregister_table(name);
    context.register_table(name, table).map_err(Error::Engine)?;
    Ok(())
}

fn link(
    queries: &LakeQueries,
    base_folder: &str,
    folder: &str,
    table: &str,
    labels: &[String],
) -> Result<()> {
    for label in labels {
        queries.lake().link_derived_file(
            &parts::part_file(base_folder, table, label),
            &parts::part_file(folder, table, label),
        )?;
    }
    Ok(())
}

fn register_parts(
    queries: &LakeQueries,
    context: &SessionContext,
    folder: &str,
    table: &str,
) -> Result<()> {
    let provider = parts::table(queries, folder, table, None)?
        .ok_or_else(|| Error::Internal(format!("{folder} has no {table}")))?;
    register(context, table, provider)
}

/// The given data files of `table` as a table (without the partition
/// column), or no rows.
pub(crate) fn files_table(
    queries: &LakeQueries,
    table: &'static TableSpec,
    files: &[&String],
) -> Result<Arc<dyn TableProvider>> {
    if files.is_empty() {
        let empty = MemTable::try_new(table.schema(), vec![vec![]]).map_err(Error::Engine)?;
        return Ok(Arc::new(empty));
    }
    let urls: Vec<String> = files.iter().map(|f| queries.lake().data_url(f)).collect();
    crate::listing_table(&urls, table.schema())
}

/// The derived files a table reads, relative to `_derived/`, when it reads
/// derived files.
fn files_of(provider: &Arc<dyn TableProvider>, queries: &LakeQueries) -> Option<Vec<String>> {
    let listing = provider.downcast_ref::<ListingTable>()?;
    let root = queries.lake().derived_path("");
    listing
        .table_paths()
        .iter()
        .map(|url| {
            let absolute = std::path::Path::new("/").join(url.prefix().as_ref());
            absolute
                .strip_prefix(&root)
                .ok()
                .map(|p| p.display().to_string())
        })
        .collect()
}

/// Whether every part of every table in generation `folder` has a footer
/// that reads.
fn readable(queries: &LakeQueries, folder: &str, tables: &[String]) -> bool {
    use datafusion::parquet::file::reader::SerializedFileReader;
    tables.iter().all(|table| {
        let labels = parts::labels(queries, folder, table);
        !labels.is_empty()
            && labels.iter().all(|label| {
                let path = queries
                    .lake()
                    .derived_path(&parts::part_file(folder, table, label));
                std::fs::File::open(path)
                    .ok()
                    .is_some_and(|file| SerializedFileReader::new(file).is_ok())
            })
    })
}

fn read_manifest(queries: &LakeQueries, folder: &str) -> Option<Manifest> {
    let path = queries
        .lake()
        .derived_path(&format!("{folder}/manifest.json"));
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The newest complete generation with the plan's settings and tables whose
/// parts all read (only the candidates tried are opened, newest first).
async fn newest_base(
    queries: &LakeQueries,
    plan: &Plan,
    tables: &[String],
) -> Result<Option<(String, Manifest)>> {
    let root = crate::template::MATERIALIZED_FOLDER;
    let files = queries.lake().derived_files(root).await?;
    let mut candidates: Vec<(String, Manifest)> = files
        .iter()
        .filter_map(|(path, _)| path.strip_suffix("/manifest.json"))
        .map(|generation| format!("{root}/{generation}"))
        .filter_map(|folder| read_manifest(queries, &folder).map(|m| (folder, m)))
        .filter(|(_, m)| m.format == FORMAT && m.settings == plan.settings && m.tables == tables)
        .collect();
    candidates.sort_by_key(|(_, m)| std::cmp::Reverse(m.generation));
    Ok(candidates
        .into_iter()
        .find(|(folder, _)| readable(queries, folder, tables)))
}

/// A context reading the generation in `folder`, holding `leases`.
async fn reading_context(
    queries: &LakeQueries,
    plan: &Plan,
    folder: &str,
    leases: Vec<Arc<DerivedLease>>,
) -> Result<SessionContext> {
    let context = queries.scratch_context().await?;
    crate::generations::hold(&context, leases);
    for function in &plan.functions {
        context.register_udf(function.clone());
    }
    for table in &plan.upstream {
        context
            .register_table(table.name, table.provider.clone())
            .map_err(Error::Engine)?;
    }
    for step in &plan.steps {
        register_parts(queries, &context, folder, step.name)?;
    }
    Ok(context)
}

#[cfg(test)]
#[path = "incremental_tests.rs"]
mod tests;

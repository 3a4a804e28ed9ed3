//! What the commands do beyond printing: imports, the demo, DevEx reports,
//! the derive stage after a write, each calling the libraries.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use ingest::identity::Pseudonymizer;
use ingest::lake::Lake;

use super::args::{DemoArgs, DevexArgs, EngineArg, ImportArgs, LakeArg, PROGRESS_MIN_BYTES};
use super::progress::{spinner, Bars};
use crate::config::Config;
use crate::error::{Error, Result};

/// The pseudonym key: from configuration, else the lake's own.
pub async fn pseudonymizer(config: &Config, lake: &Lake) -> Result<Pseudonymizer> {
    Ok(Pseudonymizer::for_developers(lake, config.identity_secret.as_deref()).await?)
}

pub async fn devex_report(
    config: &mut Config,
    args: DevexArgs,
    view: crate::reports::devex::DevexView,
) -> Result<()> {
    apply_lake(config, &args.window.lake);
    apply_engine(config, &args.window.engine);
    let lake = Arc::new(Lake::open_existing(&config.lake)?);
    let queries = config.queries(lake).await?;
    let params = crate::reports::devex::DevexParams {
        from: args.window.from,
        to: args.window.to,
        tz: args.window.tz,
        team: args.window.team,
        repo: args.window.repo,
        service: args.service,
        group_by: Some(args.group_by),
        exclude_weekends: args.exclude_weekends.then_some(true),
        granularity: args.series,
        format: None,
    };
    let spinner = spinner("computing measures");
    let output = crate::reports::devex::run(&queries, config, &params, view, args.format).await;
    spinner.finish_and_clear();
    super::output::print(&output?)?;
    Ok(())
}

/// Runs the derive stage after new events arrived, so reports start warm.
pub async fn derive_after_write(config: &Config, lake: Arc<Lake>) -> Result<()> {
    let spinner = spinner("deriving (commit graph walk, per-deployment and per-run tables)");
    let queries = analytics::LakeQueries::open(lake).await?;
    let result = derive(&queries, config).await;
    spinner.finish_and_clear();
    result
}

/// The derive stage: the commit-graph walk and the tables every report
/// aggregates, kept in the lake's `_derived` folder.
pub async fn derive(queries: &analytics::LakeQueries, config: &Config) -> Result<()> {
    Ok(analytics::derive::run(queries, &config.dora, &config.devex).await?)
}

/// `devex compact`: merges small files, table by table, and says what it did.
pub async fn compact(config: &Config, only: Option<&str>) -> Result<()> {
    let lake = Lake::open_existing(&config.lake)?;
    let tables: Vec<&'static ingest::schema::TableSpec> = match only {
        Some(name) => vec![ingest::schema::table(name)?],
        None => ingest::schema::TABLES.to_vec(),
    };
    let started = std::time::Instant::now();
    let mut total = ingest::lake::CompactSummary::default();
    for table in tables {
        let spinner = spinner(&format!("compacting {}", table.name));
        let summary = lake.compact(table).await;
        spinner.finish_and_clear();
        let summary = summary?;
        if summary.partitions > 0 {
            crate::cli::output::print(&format!(
                "{}: {} partitions, {} files -> {} ({} rows merged)",
                table.name,
                summary.partitions,
                summary.files_before,
                summary.files_after,
                summary.rows_merged
            ))?;
        }
        total.add(&summary);
    }
    crate::cli::output::print(&if total.partitions == 0 {
        format!(
            "nothing to compact: no partition has more than one small file ({:.2} s)",
            started.elapsed().as_secs_f64()
        )
    } else {
        format!(
            "compacted {} partitions: {} files -> {} ({:.2} s); the same rows, so the derived tables stand",
            total.partitions,
            total.files_before,
            total.files_after,
            started.elapsed().as_secs_f64()
        )
    })
}

/// Whether a file is large enough for a progress bar, on a terminal.
pub fn byte_progress(path: &Path) -> bool {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    size >= PROGRESS_MIN_BYTES && std::io::stderr().is_terminal()
}

pub async fn import(config: &Config, args: &ImportArgs) -> Result<()> {
    match args.table.as_str() {
        "survey" => return import_survey(config, args).await,
        "catalog" => return import_catalog(config, args).await,
        "focus" => return import_focus(config, args).await,
        _ => {}
    }
    let table = ingest::schema::table(&args.table)?;
    let lake = Arc::new(Lake::create_or_open(&config.lake)?);
    let pseudonymizer = pseudonymizer(config, &lake).await?;
    let mut stored = 0;
    for file in &args.files {
        let progress = Bars::new(byte_progress(file));
        let report =
            ingest::import::import_file(&lake, table, file, args.format, &pseudonymizer, &progress)
                .await;
        progress.clear();
        let report = report?;
        super::output::print(&format!(
            "Imported {} into {}: {} rows read, {} stored, {} already in the lake ({} files written).",
            file.display(),
            report.table,
            report.rows_read,
            report.stored.rows_written,
            report.stored.duplicates,
            report.stored.files_written
        ))?;
        stored += report.stored.rows_written;
    }
    if stored > 0 && analytics::derive::reads(table.name) && !args.no_derive {
        derive_after_write(config, lake).await?;
    }
    Ok(())
}

/// `devex import focus FILE... [--rates FILE]`: FOCUS billing exports,
/// streamed into `costs`.
pub async fn import_focus(config: &Config, args: &ImportArgs) -> Result<()> {
    let lake = Lake::create_or_open(&config.lake)?;
    let options = ingest::focus::FocusOptions {
        rates: match &args.rates {
            Some(path) => Some(ingest::focus::Rates::read(path, &config.cost.currency)?),
            None => None,
        },
    };
    for file in &args.files {
        let started = std::time::Instant::now();
        let progress = Bars::new(byte_progress(file));
        let summary = ingest::focus::import(&lake, file, &options, &progress).await;
        progress.clear();
        let summary = summary?;
        super::output::print(&format!(
            "Imported {} into costs: {} rows read ({} converted to {}), {} stored, {} already in the lake, in {:.1}s.",
            file.display(),
            summary.rows_read,
            summary.converted,
            config.cost.currency,
            summary.stored.rows_written,
            summary.stored.duplicates,
            started.elapsed().as_secs_f64()
        ))?;
    }
    Ok(())
}

/// `devex import catalog PATH...`: Backstage entities compared with the
/// lake's current catalog; changes become versions valid from `--as-of`.
pub async fn import_catalog(config: &Config, args: &ImportArgs) -> Result<()> {
    let entities = ingest::sources::backstage::read(&args.files)?;
    let lake = Arc::new(Lake::create_or_open(&config.lake)?);
    let pseudonymizer = pseudonymizer(config, &lake).await?;
    let queries = analytics::LakeQueries::open(lake.clone()).await?;
    let current = analytics::catalog::current_catalog(&queries).await?;
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().date_naive())
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp_micros();
    let plan = ingest::sources::backstage::plan(&entities, &current, as_of, &pseudonymizer)?;
    let summary = ingest::sources::append_rows(&lake, plan.rows).await?;
    ingest::sources::backstage::aliases::save(&lake, &plan.user_aliases).await?;
    super::output::print(&format!(
        "Read {} catalog entities from {} path(s): services {} new, {} changed; teams {} new, {} changed; memberships {} new, {} ended; {} unchanged. {} rows stored, {} already in the lake.",
        entities.len(),
        args.files.len(),
        plan.services_new,
        plan.services_changed,
        plan.teams_new,
        plan.teams_changed,
        plan.memberships_new,
        plan.memberships_ended,
        plan.unchanged,
        summary.rows_written,
        summary.duplicates
    ))?;
    if summary.rows_written > 0 && !args.no_derive {
        derive_after_write(config, lake).await?;
    }
    Ok(())
}

pub async fn import_survey(config: &Config, args: &ImportArgs) -> Result<()> {
    let survey_id = args.survey.clone().ok_or_else(|| {
        Error::invalid_parameter(
            "survey",
            "--survey is required with `import survey`: the wave this export belongs to, e.g. --survey devex-2026-q3",
        )
    })?;
    let [file] = args.files.as_slice() else {
        return Err(Error::invalid_parameter(
            "file",
            "`import survey` takes one export at a time (one wave); run it once per file",
        ));
    };
    let (definition, _) = crate::reports::surveys::setup(config)?;
    let mapping = match &args.mapping {
        Some(path) => surveys::import::Mapping::read(path)?,
        None => surveys::import::Mapping::default(),
    };
    let lake = Arc::new(Lake::create_or_open(&config.lake)?);
    let developers = pseudonymizer(config, &lake).await?;
    // Respondent ids use their own key, so answers never join to activity.
    let respondents = Pseudonymizer::for_survey_respondents(&lake).await?;
    let queries = analytics::LakeQueries::open(lake.clone()).await?;
    let teams = analytics::catalog::current_teams(&queries).await?;
    let identities = surveys::import::Identities {
        respondents,
        developers: &developers,
        teams,
    };
    let report =
        surveys::import::import_export(&lake, &definition, &survey_id, file, &mapping, &identities)
            .await?;
    super::output::print(&format!(
        "Imported {} ({} export) into survey {survey_id}: {} responses, {} answers, {} stored, {} already in the lake.",
        file.display(),
        report.tool.name(),
        report.responses,
        report.answers,
        report.stored.rows_written,
        report.stored.duplicates
    ))?;
    Ok(())
}

pub async fn demo(config: &Config, args: &DemoArgs) -> Result<()> {
    let scale = args.scale.unwrap_or(config.demo.scale);
    if !(scale > 0.0 && scale.is_finite()) {
        return Err(Error::invalid_parameter(
            "scale",
            format!("--scale {scale} must be a positive number, e.g. 1 or 0.25"),
        ));
    }
    let mut options =
        ingest::demo::DemoOptions::ending_today(args.seed.unwrap_or(config.demo.seed), scale);
    options.months = args.months.unwrap_or(config.demo.months);
    if let Some(end) = args.end {
        options.end = end;
    }
    let lake = Arc::new(Lake::create_or_open(&config.lake)?);
    let progress = Bars::new(std::io::stderr().is_terminal());
    let started = std::time::Instant::now();
    let summaries = ingest::demo::generate(&lake, &options, &progress).await;
    progress.clear();
    let summaries = summaries?;
    let written: usize = summaries.iter().map(|(_, s)| s.rows_written).sum();
    let duplicates: usize = summaries.iter().map(|(_, s)| s.duplicates).sum();
    super::output::print(&format!(
        "Demo organisation (seed {}, scale {}, {} months to {}) in {}: {written} rows stored, {duplicates} already there, in {:.1}s.",
        options.seed,
        options.scale,
        options.months,
        options.end,
        config.lake.display(),
        started.elapsed().as_secs_f64()
    ))?;
    if args.no_derive {
        return Ok(());
    }
    derive_after_write(config, lake).await
}

/// `--lake` wins over the configuration.
/// The engine flags over the configuration's `[engine]`.
pub fn apply_engine(config: &mut Config, arg: &EngineArg) {
    if let Some(kind) = &arg.engine {
        config.engine.kind = kind.clone();
    }
    if let Some(scheduler) = &arg.scheduler {
        config.engine.scheduler = Some(scheduler.clone());
        // A scheduler alone means the cluster.
        if arg.engine.is_none() {
            config.engine.kind = "ballista".into();
        }
    }
}

pub fn apply_lake(config: &mut Config, arg: &LakeArg) {
    if let Some(lake) = &arg.lake {
        config.lake = lake.clone();
    }
}

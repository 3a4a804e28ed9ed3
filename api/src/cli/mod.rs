//! The `devex` command line. Each subcommand calls the same library functions
//! as the HTTP API; this module only parses flags, shows progress and prints.

pub mod sync;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use indicatif::ProgressBar;
use ingest::identity::Pseudonymizer;
use ingest::import::InputFormat;
use ingest::lake::Lake;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::{render, OutputFormat};

/// Files larger than this get a progress bar on a terminal.
const PROGRESS_MIN_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Parser)]
#[command(
    name = "devex",
    version,
    about = "DevEx metrics and feedback analytics: DORA, SPACE and DevEx measures, platform adoption, surveys and cost, from one binary."
)]
pub struct Cli {
    /// Configuration file (default: ./devex.toml when present).
    #[arg(long, global = true, env = "DEVEX_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API, the portal and /metrics.
    Serve(ServeArgs),
    /// Import JSON Lines or CSV rows of a canonical table into the lake.
    Import(ImportArgs),
    /// Pull a tool's history into the lake; later runs fetch only what changed.
    Ingest(IngestArgs),
    /// Run read-only SQL over the lake.
    Query(QueryArgs),
    /// Generate the demo organisation into the lake.
    Demo(DemoArgs),
    /// Show each table's rows, files and bytes.
    Tables(LakeArg),
    /// Bring the derived tables up to date now (import, ingest, demo and
    /// serve do this on their own) and say how long it took.
    Derive(LakeArg),
    /// Compute a report over the lake.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Survey definitions.
    #[command(subcommand)]
    Survey(SurveyCommand),
}

#[derive(Debug, Subcommand)]
enum SurveyCommand {
    /// Print the shipped DevEx quarterly survey definition (TOML).
    Template,
}

#[derive(Debug, Args)]
struct SurveyReportArgs {
    #[command(flatten)]
    lake: LakeArg,
    /// The survey wave, e.g. devex-2026-q3.
    #[arg(long)]
    survey: String,
    /// Compare with this earlier wave (Welch's t-test per dimension and question).
    #[arg(long)]
    compare: Option<String>,
    /// A group of the catalog hierarchy (default: the whole organisation).
    #[arg(long)]
    team: Option<String>,
    /// Also show the group's subgroups.
    #[arg(long, value_parser = ["team", "none"], default_value = "none")]
    group_by: String,
    /// Each team's dimension scores beside its DevEx workflow measures of
    /// the 90 days before the wave closed (JSON).
    #[arg(long, conflicts_with = "compare")]
    perceived_vs_measured: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// DORA metrics per service, team or overall: deployment frequency, lead
    /// time for changes, change failure rate, failed deployment recovery time,
    /// rework rate, with performance levels.
    Dora(DoraArgs),
    /// DevEx measures per team (or repository): CI and pull request feedback
    /// loops, context switches, flow and work in progress, each with its n.
    Devex(DevexArgs),
    /// SPACE activity and collaboration per team: merged pull requests per
    /// developer-week, review participation, reviewer concentration,
    /// cross-team reviews.
    Space(DevexArgs),
    /// Compare a measure between two periods: medians, their difference with
    /// a 95% interval, and a Mann-Whitney U test.
    Compare(CompareArgs),
    /// Survey results of a wave (or its change from another wave), only for
    /// groups the anonymity rules allow.
    Survey(SurveyReportArgs),
}

#[derive(Debug, Args)]
struct DevexArgs {
    #[command(flatten)]
    lake: LakeArg,
    /// First day of the window, YYYY-MM-DD (default: 90 days before --to).
    #[arg(long)]
    from: Option<String>,
    /// Day after the window, YYYY-MM-DD (default: tomorrow).
    #[arg(long)]
    to: Option<String>,
    /// IANA time zone of the window's days (default UTC).
    #[arg(long)]
    tz: Option<String>,
    /// Only this team.
    #[arg(long)]
    team: Option<String>,
    /// Only this repository (owner/name).
    #[arg(long)]
    repo: Option<String>,
    /// Only the repositories of this service (from the catalog).
    #[arg(long)]
    service: Option<String>,
    /// A column per team, or per repository (repository measures only).
    #[arg(long, value_parser = ["team", "repo"], default_value = "team")]
    group_by: String,
    /// Leave Saturdays and Sundays out of pull request phase durations.
    #[arg(long)]
    exclude_weekends: bool,
    /// The report per week or month (CSV rows in table and CSV formats).
    #[arg(long, value_parser = ["week", "month"])]
    series: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Debug, Args)]
struct CompareArgs {
    #[command(flatten)]
    lake: LakeArg,
    /// ci_duration, ci_queue, pr_coding, pr_pickup, pr_review, pr_deploy,
    /// pr_cycle_time, lead_time or context_switches.
    #[arg(long)]
    metric: String,
    /// Only this team.
    #[arg(long)]
    team: Option<String>,
    #[arg(long)]
    tz: Option<String>,
    /// First period, YYYY-MM-DD: its first day and the day after its last.
    #[arg(long)]
    a_from: String,
    #[arg(long)]
    a_to: String,
    /// Second period.
    #[arg(long)]
    b_from: String,
    #[arg(long)]
    b_to: String,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Debug, Args)]
struct DoraArgs {
    #[command(flatten)]
    lake: LakeArg,
    /// First day of the window, YYYY-MM-DD (default: 90 days before --to).
    #[arg(long)]
    from: Option<String>,
    /// Day after the window, YYYY-MM-DD (default: tomorrow, so today counts).
    #[arg(long)]
    to: Option<String>,
    /// IANA time zone of the window's days, e.g. Europe/Berlin (default UTC).
    #[arg(long)]
    tz: Option<String>,
    /// Only this service.
    #[arg(long)]
    service: Option<String>,
    /// Only the services this team owns.
    #[arg(long)]
    team: Option<String>,
    /// Regular expression (case-insensitive) of production environment names
    /// (default from the configuration: ^(prod|production)$).
    #[arg(long)]
    environment_pattern: Option<String>,
    /// Rows per service, per team, or none (overall only).
    #[arg(long, value_parser = ["service", "team", "none"], default_value = "service")]
    group_by: String,
    /// Which DORA report's performance levels to grade with (2023 or 2024).
    #[arg(long)]
    levels_year: Option<u16>,
    /// List every production deployment with its class, changes, failure
    /// causes and recovery: the rows behind the numbers.
    #[arg(long, conflicts_with = "series")]
    deployments: bool,
    /// A row per week or month instead of one for the whole window.
    #[arg(long, value_parser = ["week", "month"])]
    series: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Debug, Args)]
struct LakeArg {
    /// The lake folder (default from the configuration: ./devex-lake).
    #[arg(long)]
    lake: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    lake: LakeArg,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    addr: Option<std::net::SocketAddr>,
    /// Create the demo organisation first when the lake is empty.
    #[arg(long)]
    demo: bool,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// Canonical table, e.g. deployments, incidents, commits; or `survey`
    /// for a survey tool's export (Google Forms, Typeform, Qualtrics CSV,
    /// Microsoft Forms xlsx).
    table: String,
    /// JSON Lines (.jsonl) or CSV (.csv) file; for `survey`, the export.
    file: PathBuf,
    #[command(flatten)]
    lake: LakeArg,
    /// Input format, when the extension does not tell.
    #[arg(long, value_parser = parse_input_format)]
    format: Option<InputFormat>,
    /// For `survey`: the wave the export belongs to, e.g. devex-2026-q3.
    #[arg(long)]
    survey: Option<String>,
    /// For `survey`: a TOML file mapping columns to question ids, labels to
    /// numbers, and naming the team and e-mail columns.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Leave the derive stage to `devex derive` (or the next report): for
    /// loading many files in a row, then deriving once.
    #[arg(long)]
    no_derive: bool,
}

fn parse_input_format(s: &str) -> std::result::Result<InputFormat, String> {
    s.parse()
}

#[derive(Debug, Args)]
struct QueryArgs {
    /// A read-only SQL statement, e.g. "SELECT count(*) AS n FROM deployments".
    sql: String,
    #[command(flatten)]
    lake: LakeArg,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Debug, Args)]
struct IngestArgs {
    /// The source to pull from.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(ingest::sources::Registry::builtin().entries().iter().map(|s| s.name)))]
    source: String,
    /// An organisation (or user) to sync every repository of; repeatable.
    #[arg(long = "org", value_name = "ORG")]
    owners: Vec<String>,
    /// A repository as OWNER/NAME; repeatable.
    #[arg(long = "repo", value_name = "OWNER/NAME")]
    repos: Vec<String>,
    /// Where a repository's first sync starts, YYYY-MM-DD (default: a year
    /// ago); later runs continue from where the last one stopped.
    #[arg(long)]
    since: Option<chrono::NaiveDate>,
    /// Forget where earlier syncs stopped and start again from --since
    /// (rows already stored are skipped, never doubled).
    #[arg(long)]
    resync: bool,
    /// API root, e.g. https://ghe.example.com/api/v3 for GitHub Enterprise
    /// Server (default: [github] base_url, else https://api.github.com).
    #[arg(long)]
    base_url: Option<String>,
    /// Print the sync report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    lake: LakeArg,
}

#[derive(Debug, Args)]
struct DemoArgs {
    #[command(flatten)]
    lake: LakeArg,
    /// Random seed: the same seed (and end date) gives the same lake.
    #[arg(long)]
    seed: Option<u64>,
    /// Multiplies the organisation (teams, services, developers).
    #[arg(long)]
    scale: Option<f64>,
    /// Months of history.
    #[arg(long)]
    months: Option<u32>,
    /// First day after the history, YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    end: Option<chrono::NaiveDate>,
}

/// Parses the command line, runs the command and turns errors into a message
/// with a hint and an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = matches!(cli.command, Command::Serve(_));
    init_logging(verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("devex: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("devex: {error}");
            if let Some(hint) = hint(&error) {
                eprintln!("hint: {hint}");
            }
            match error {
                Error::Config(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn init_logging(verbose: bool) {
    // octocrab logs every failed request as an error; the GitHub collector
    // reports them itself, with what it does about them.
    let default = if verbose {
        "info,octocrab=off"
    } else {
        "warn,octocrab=off"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DEVEX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn hint(error: &Error) -> Option<&'static str> {
    match error {
        Error::Analytics(analytics::Error::InvalidQuery(_)) => Some("list tables with `devex query \"SHOW TABLES\"` and columns with `devex query \"DESCRIBE deployments\"`"),
        Error::Ingest(ingest::Error::UnknownTable { .. }) => Some("`devex tables` lists the canonical tables; survey exports import with `devex import survey FILE --survey ID`"),
        Error::Surveys(surveys::Error::InvalidExport { .. }) => Some("fix the rows listed, or map columns and labels with --mapping; `devex survey template` shows the question ids"),
        _ => None,
    }
}

async fn run(cli: Cli) -> Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => {
            apply_lake(&mut config, &args.lake);
            if let Some(addr) = args.addr {
                config.addr = addr;
            }
            crate::http::serve(&config, args.demo).await
        }
        Command::Import(args) => {
            apply_lake(&mut config, &args.lake);
            import(&config, &args).await
        }
        Command::Ingest(args) => {
            apply_lake(&mut config, &args.lake);
            let request = crate::cli::sync::IngestRequest {
                source: args.source,
                owners: args.owners,
                repos: args.repos,
                since: args.since,
                resync: args.resync,
                base_url: args.base_url,
                json: args.json,
            };
            let report = crate::cli::sync::ingest(&config, &request).await?;
            if request.json {
                let json = serde_json::to_string_pretty(&report)
                    .map_err(|e| Error::Internal(format!("report does not serialise: {e}")))?;
                println!("{json}");
            } else {
                println!("{}", crate::cli::sync::summary(&report));
            }
            Ok(())
        }
        Command::Query(args) => {
            apply_lake(&mut config, &args.lake);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = analytics::LakeQueries::open(lake).await?;
            // The DORA per-deployment tables are queryable by name, so any
            // number can be explained row by row.
            if let Err(e) = analytics::dora::expose(&queries, &config.dora).await {
                tracing::warn!(error = %e, "The DORA tables are not queryable by name this time.");
            }
            let result = queries.read_only_sql(&args.sql).await?;
            println!("{}", render(&result, args.format)?);
            Ok(())
        }
        Command::Demo(args) => {
            apply_lake(&mut config, &args.lake);
            demo(&config, &args).await
        }
        Command::Report(ReportCommand::Dora(args)) => {
            apply_lake(&mut config, &args.lake);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = analytics::LakeQueries::open(lake).await?;
            let params = crate::reports::dora::DoraParams {
                from: args.from,
                to: args.to,
                tz: args.tz,
                service: args.service,
                team: args.team,
                group_by: Some(args.group_by),
                environment_pattern: args.environment_pattern,
                levels_year: args.levels_year,
                granularity: args.series.clone(),
                format: None,
            };
            let view = match (args.deployments, args.series.is_some()) {
                (true, _) => crate::reports::dora::DoraView::Deployments,
                (false, true) => crate::reports::dora::DoraView::Series,
                (false, false) => crate::reports::dora::DoraView::Report,
            };
            let spinner = spinner("computing DORA metrics");
            let output =
                crate::reports::dora::run(&queries, &config, &params, view, args.format).await;
            spinner.finish_and_clear();
            println!("{}", output?.trim_end());
            Ok(())
        }
        Command::Report(ReportCommand::Devex(args)) => {
            devex_report(&mut config, args, crate::reports::devex::DevexView::Devex).await
        }
        Command::Report(ReportCommand::Space(args)) => {
            devex_report(&mut config, args, crate::reports::devex::DevexView::Space).await
        }
        Command::Report(ReportCommand::Compare(args)) => {
            apply_lake(&mut config, &args.lake);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = analytics::LakeQueries::open(lake).await?;
            let params = crate::reports::devex::CompareParams {
                metric: Some(args.metric),
                team: args.team,
                tz: args.tz,
                a_from: Some(args.a_from),
                a_to: Some(args.a_to),
                b_from: Some(args.b_from),
                b_to: Some(args.b_to),
                format: None,
            };
            let spinner = spinner("comparing periods");
            let output =
                crate::reports::devex::compare(&queries, &config, &params, args.format).await;
            spinner.finish_and_clear();
            println!("{}", output?.trim_end());
            Ok(())
        }
        Command::Survey(SurveyCommand::Template) => {
            print!("{}", surveys::definition::DEVEX_QUARTERLY);
            Ok(())
        }
        Command::Report(ReportCommand::Survey(args)) => {
            apply_lake(&mut config, &args.lake);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = analytics::LakeQueries::open(lake).await?;
            let output = match &args.compare {
                None if args.perceived_vs_measured => {
                    crate::reports::surveys::perceived_vs_measured(&queries, &config, &args.survey)
                        .await?
                }
                Some(earlier) => {
                    let params = crate::reports::surveys::SurveyCompareParams {
                        a: Some(earlier.clone()),
                        b: Some(args.survey.clone()),
                        team: args.team.clone(),
                        group_by: Some(args.group_by.clone()),
                        format: None,
                    };
                    crate::reports::surveys::compare(&queries, &config, &params, args.format)
                        .await?
                }
                None => {
                    let params = crate::reports::surveys::SurveyParams {
                        team: args.team.clone(),
                        group_by: Some(args.group_by.clone()),
                        format: None,
                    };
                    crate::reports::surveys::results(
                        &queries,
                        &config,
                        &args.survey,
                        &params,
                        args.format,
                    )
                    .await?
                }
            };
            println!("{}", output.trim_end());
            Ok(())
        }
        Command::Derive(args) => {
            apply_lake(&mut config, &args);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let started = std::time::Instant::now();
            derive_after_write(&config, lake).await?;
            println!(
                "derived tables are up to date ({:.2} s)",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Tables(args) => {
            apply_lake(&mut config, &args);
            let lake = Lake::open_existing(&config.lake)?;
            println!(
                "{:<18} {:>12} {:>6} {:>14}",
                "table", "rows", "files", "bytes"
            );
            for t in lake.table_stats().await? {
                println!(
                    "{:<18} {:>12} {:>6} {:>14}",
                    t.table, t.rows, t.files, t.bytes
                );
            }
            Ok(())
        }
    }
}

fn apply_lake(config: &mut Config, arg: &LakeArg) {
    if let Some(lake) = &arg.lake {
        config.lake = lake.clone();
    }
}

/// The pseudonym key: from configuration, else the lake's own.
pub fn pseudonymizer(config: &Config, lake: &Lake) -> Result<Pseudonymizer> {
    Ok(Pseudonymizer::for_developers(
        lake,
        config.identity_secret.as_deref(),
    )?)
}

async fn devex_report(
    config: &mut Config,
    args: DevexArgs,
    view: crate::reports::devex::DevexView,
) -> Result<()> {
    apply_lake(config, &args.lake);
    let lake = Arc::new(Lake::open_existing(&config.lake)?);
    let queries = analytics::LakeQueries::open(lake).await?;
    let params = crate::reports::devex::DevexParams {
        from: args.from,
        to: args.to,
        tz: args.tz,
        team: args.team,
        repo: args.repo,
        service: args.service,
        group_by: Some(args.group_by),
        exclude_weekends: args.exclude_weekends.then_some(true),
        granularity: args.series,
        format: None,
    };
    let spinner = spinner("computing measures");
    let output = crate::reports::devex::run(&queries, config, &params, view, args.format).await;
    spinner.finish_and_clear();
    println!("{}", output?.trim_end());
    Ok(())
}

/// A spinner on a terminal (hidden otherwise) for work of unknown length.
fn spinner(message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Runs the derive stage after new events arrived, so reports start warm.
pub(crate) async fn derive_after_write(config: &Config, lake: Arc<Lake>) -> Result<()> {
    let spinner = spinner("deriving (commit graph walk, per-deployment and per-run tables)");
    let queries = analytics::LakeQueries::open(lake).await?;
    let result = derive(&queries, config).await;
    spinner.finish_and_clear();
    result
}

/// The derive stage: the commit-graph walk and the tables every report
/// aggregates, kept in the lake's `_derived` folder.
pub(crate) async fn derive(queries: &analytics::LakeQueries, config: &Config) -> Result<()> {
    Ok(analytics::derive::run(queries, &config.dora, &config.devex).await?)
}

/// Whether a file is large enough for a progress bar, on a terminal.
fn byte_progress(path: &Path) -> bool {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    size >= PROGRESS_MIN_BYTES && std::io::stderr().is_terminal()
}

async fn import(config: &Config, args: &ImportArgs) -> Result<()> {
    if args.table == "survey" {
        return import_survey(config, args).await;
    }
    let table = ingest::schema::table(&args.table)?;
    let lake = Arc::new(Lake::create_or_open(&config.lake)?);
    let pseudonymizer = pseudonymizer(config, &lake)?;
    let progress = crate::cli::sync::Bars::new(byte_progress(&args.file));
    let report = ingest::import::import_file(
        &lake,
        table,
        &args.file,
        args.format,
        &pseudonymizer,
        &progress,
    )
    .await;
    progress.clear();
    let report = report?;
    println!(
        "Imported {} into {}: {} rows read, {} stored, {} already in the lake ({} files written).",
        args.file.display(),
        report.table,
        report.rows_read,
        report.stored.rows_written,
        report.stored.duplicates,
        report.stored.files_written
    );
    if report.stored.rows_written > 0 && analytics::derive::reads(table.name) && !args.no_derive {
        derive_after_write(config, lake).await?;
    }
    Ok(())
}

async fn import_survey(config: &Config, args: &ImportArgs) -> Result<()> {
    let survey_id = args.survey.clone().ok_or_else(|| {
        Error::invalid_parameter(
            "survey",
            "--survey is required with `import survey`: the wave this export belongs to, e.g. --survey devex-2026-q3",
        )
    })?;
    let (definition, _) = crate::reports::surveys::setup(config)?;
    let mapping = match &args.mapping {
        Some(path) => surveys::import::Mapping::read(path)?,
        None => surveys::import::Mapping::default(),
    };
    let lake = Arc::new(Lake::create_or_open(&config.lake)?);
    let developers = pseudonymizer(config, &lake)?;
    // Respondent ids use their own key, so answers never join to activity.
    let respondents = Pseudonymizer::for_survey_respondents(&lake)?;
    let queries = analytics::LakeQueries::open(lake.clone()).await?;
    let teams = analytics::catalog::current_teams(&queries).await?;
    let identities = surveys::import::Identities {
        respondents,
        developers: &developers,
        teams,
    };
    let report = surveys::import::import_export(
        &lake,
        &definition,
        &survey_id,
        &args.file,
        &mapping,
        &identities,
    )
    .await?;
    println!(
        "Imported {} ({} export) into survey {survey_id}: {} responses, {} answers, {} stored, {} already in the lake.",
        args.file.display(),
        report.tool.name(),
        report.responses,
        report.answers,
        report.stored.rows_written,
        report.stored.duplicates
    );
    Ok(())
}

async fn demo(config: &Config, args: &DemoArgs) -> Result<()> {
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
    let progress = crate::cli::sync::Bars::new(std::io::stderr().is_terminal());
    let started = std::time::Instant::now();
    let summaries = ingest::demo::generate(&lake, &options, &progress).await;
    progress.clear();
    let summaries = summaries?;
    let written: usize = summaries.iter().map(|(_, s)| s.rows_written).sum();
    let duplicates: usize = summaries.iter().map(|(_, s)| s.duplicates).sum();
    println!(
        "Demo organisation (seed {}, scale {}, {} months to {}) in {}: {written} rows stored, {duplicates} already there, in {:.1}s.",
        options.seed,
        options.scale,
        options.months,
        options.end,
        config.lake.display(),
        started.elapsed().as_secs_f64()
    );
    derive_after_write(config, lake).await
}

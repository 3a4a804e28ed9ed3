//! The `devex` command line. Each subcommand calls the same library functions
//! as the HTTP API; this module only parses flags, shows progress and prints.

pub mod args;
pub mod commands;
pub mod output;
pub mod progress;
pub mod sync;
pub mod token;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use ingest::lake::Lake;

use args::*;
use commands::*;
use progress::spinner;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::render;

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
            if let Some(hint) = error.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(output::exit_code(&error))
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
        // Colours only for a terminal, never into a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Records a command in the audit log (imports, ingests, queries); the
/// command's own outcome wins over a failure to record it, which is logged.
async fn audit<T, E: std::fmt::Display>(
    config: &Config,
    action: &str,
    target: &str,
    result: &std::result::Result<T, E>,
) {
    let outcome = match result {
        Ok(_) => "ok".to_string(),
        Err(e) => crate::render::truncate(&format!("error: {e}"), 500),
    };
    let entry = ingest::audit::entry(
        &ingest::audit::local_actor(),
        action,
        Some(&crate::render::truncate(target, 2000)),
        Some("cli"),
        &outcome,
    );
    // A lake that does not exist (a mistyped --lake) is not created for it.
    let Ok(lake) = Lake::open_existing(&config.lake) else {
        return;
    };
    let recorded = ingest::audit::record(&lake, vec![entry]).await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, action, "Not written to the audit log.");
    }
}

async fn run(cli: Cli) -> Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => {
            apply_lake(&mut config, &args.lake);
            apply_engine(&mut config, &args.engine);
            if let Some(addr) = args.addr {
                config.addr = addr;
            }
            crate::http::serve(&config, args.demo, args.insecure_no_auth).await
        }
        Command::Import(args) => {
            apply_lake(&mut config, &args.lake);
            let result = import(&config, &args).await;
            let files: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
            let target = format!("{}: {}", args.table, files.join(", "));
            audit(&config, "import", &target, &result).await;
            result
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
                token: args.token,
                window: args.window,
                aggregate: args.aggregate,
                enterprise: args.enterprise,
                json: args.json,
            };
            let report = crate::cli::sync::ingest(&config, &request).await;
            audit(&config, "ingest", &request.source, &report).await;
            let report = report?;
            if request.json {
                let json = serde_json::to_string_pretty(&report)
                    .map_err(|e| Error::Internal(format!("report does not serialise: {e}")))?;
                output::print(&json)?;
            } else {
                output::print(&crate::cli::sync::summary(&report))?;
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
            let result = queries.read_only_sql(&args.sql).await;
            audit(&config, "query", &args.sql, &result).await;
            output::print(&render(&result?, args.format)?)?;
            Ok(())
        }
        Command::Demo(args) => {
            apply_lake(&mut config, &args.lake);
            demo(&config, &args).await
        }
        Command::Report(ReportCommand::Dora(args)) => {
            apply_lake(&mut config, &args.lake);
            apply_engine(&mut config, &args.engine);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = config.queries(lake).await?;
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
            output::print(&output?)?;
            Ok(())
        }
        Command::Report(ReportCommand::Adoption(args)) => {
            apply_lake(&mut config, &args.lake);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = analytics::LakeQueries::open(lake).await?;
            let params = crate::reports::adoption::AdoptionParams {
                from: args.from,
                to: args.to,
                tz: args.tz,
                group_by: Some(args.group_by),
                funnels: Some(args.funnels),
                cohorts: Some(args.cohorts),
                golden_paths: Some(args.golden_paths),
                format: None,
            };
            let spinner = spinner("measuring adoption");
            let output =
                crate::reports::adoption::run(&queries, &config, &params, args.format).await;
            spinner.finish_and_clear();
            output::print(&output?)?;
            Ok(())
        }
        Command::Report(ReportCommand::Ai(args)) => {
            apply_lake(&mut config, &args.lake);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = analytics::LakeQueries::open(lake).await?;
            let params = crate::reports::ai::AiParams {
                from: args.from,
                to: args.to,
                tz: args.tz,
                team: args.team,
                group_by: Some(args.group_by),
                impact: Some(args.impact),
                rollout: Some(args.rollout),
                format: None,
            };
            let spinner = spinner("measuring AI assistants");
            let output = crate::reports::ai::run(&queries, &config, &params, args.format).await;
            spinner.finish_and_clear();
            output::print(&output?)?;
            Ok(())
        }
        Command::Report(ReportCommand::Onboarding(args)) => {
            apply_lake(&mut config, &args.lake);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = analytics::LakeQueries::open(lake).await?;
            let params = crate::reports::onboarding::OnboardingParams {
                from: args.from,
                to: args.to,
                tz: args.tz,
                group_by: Some(args.group_by),
                format: None,
            };
            let spinner = spinner("measuring onboarding");
            let output =
                crate::reports::onboarding::run(&queries, &config, &params, args.format).await;
            spinner.finish_and_clear();
            output::print(&output?)?;
            Ok(())
        }
        Command::Report(ReportCommand::Cost(args)) => {
            apply_lake(&mut config, &args.lake);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = analytics::LakeQueries::open(lake).await?;
            let params = crate::reports::cost::CostParams {
                from: args.from,
                to: args.to,
                group_by: Some(args.group_by),
                measure: Some(args.measure),
                unattributed: Some(args.unattributed),
                format: None,
            };
            let spinner = spinner("attributing cost");
            let output = if args.lines {
                let lines = crate::reports::cost::CostLinesParams {
                    from: params.from,
                    to: params.to,
                    measure: params.measure,
                    team: args.team,
                    service: args.service,
                    rule: args.rule,
                    limit: args.limit,
                    format: None,
                };
                crate::reports::cost::lines(&queries, &config, &lines, args.format).await
            } else {
                crate::reports::cost::run(&queries, &config, &params, args.format).await
            };
            spinner.finish_and_clear();
            output::print(&output?)?;
            Ok(())
        }
        Command::Report(ReportCommand::Devex(args)) => {
            devex_report(&mut config, args, crate::reports::devex::DevexView::Devex).await
        }
        Command::Report(ReportCommand::Space(args)) => {
            devex_report(
                &mut config,
                args.into_devex(),
                crate::reports::devex::DevexView::Space,
            )
            .await
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
            output::print(&output?)?;
            Ok(())
        }
        Command::Token(command) => token::run(&mut config, command).await,
        Command::Audit(args) => {
            apply_lake(&mut config, &args.lake);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = analytics::LakeQueries::open(lake).await?;
            let params = crate::reports::audit::AuditParams {
                since: args.since,
                limit: args.limit,
                format: None,
            };
            let output = crate::reports::audit::run(&queries, &params, args.format).await?;
            output::print(&output)?;
            Ok(())
        }
        Command::Argocd(ArgocdCommand::Template { url }) => {
            let url = url.unwrap_or_else(|| format!("http://{}", config.addr));
            output::print(&ingest::sources::argocd::template::config_map(&url))?;
            Ok(())
        }
        Command::Survey(SurveyCommand::Template) => {
            output::print(surveys::definition::DEVEX_QUARTERLY)?;
            Ok(())
        }
        Command::Report(ReportCommand::Survey(args)) => {
            apply_lake(&mut config, &args.lake);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = analytics::LakeQueries::open(lake).await?;
            let output = match &args.compare {
                None if args.perceived_vs_measured => {
                    crate::reports::surveys::perceived_vs_measured(
                        &queries,
                        &config,
                        &args.survey,
                        args.format,
                    )
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
            output::print(&output)?;
            Ok(())
        }
        Command::Mcp(args) => {
            apply_lake(&mut config, &args.lake);
            apply_engine(&mut config, &args.engine);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let queries = Arc::new(config.queries(lake).await?);
            crate::mcp::serve_stdio(queries, Arc::new(config)).await
        }
        Command::Derive(args) => {
            apply_lake(&mut config, &args);
            let lake = Arc::new(Lake::open_existing(&config.lake)?);
            let started = std::time::Instant::now();
            derive_after_write(&config, lake).await?;
            output::print(&format!(
                "derived tables are up to date ({:.2} s)",
                started.elapsed().as_secs_f64()
            ))?;
            Ok(())
        }
        Command::Compact(args) => {
            apply_lake(&mut config, &args.lake);
            commands::compact(&config, args.table.as_deref()).await
        }
        Command::Tables(args) => {
            apply_lake(&mut config, &args);
            let lake = Lake::open_existing(&config.lake)?;
            output::print(&format!(
                "{:<18} {:>12} {:>6} {:>14}",
                "table", "rows", "files", "bytes"
            ))?;
            for t in lake.table_stats().await? {
                output::print(&format!(
                    "{:<18} {:>12} {:>6} {:>14}",
                    t.table, t.rows, t.files, t.bytes
                ))?;
            }
            Ok(())
        }
    }
}

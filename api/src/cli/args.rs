//! The command line's flags and subcommands (clap): what each command
//! takes, with its help text. The commands themselves are in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ingest::import::InputFormat;

use crate::render::OutputFormat;

/// Files larger than this get a progress bar on a terminal.
pub const PROGRESS_MIN_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Parser)]
#[command(
    name = "devex",
    version,
    about = "DevEx metrics and feedback analytics: DORA, SPACE and DevEx measures, platform adoption, surveys and cost, from one binary."
)]
pub struct Cli {
    /// Configuration file (default: ./devex.toml when present).
    #[arg(long, global = true, env = "DEVEX_CONFIG", hide_env_values = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Answer an assistant (VS Code, Claude Code, Cursor) over the Model
    /// Context Protocol on stdin/stdout: read-only tools over the reports,
    /// the metric definitions as resources, and guided prompts.
    Mcp(McpArgs),
    /// Bring the derived tables up to date now (import, ingest, demo and
    /// serve do this on their own) and say how long it took.
    Derive(LakeArg),
    /// Merge each partition's small files (one per append or webhook
    /// delivery) into sorted files of the normal size; `serve` does this on
    /// its own every `[compaction] interval_seconds`.
    Compact(CompactArgs),
    /// Compute a report over the lake.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Survey definitions.
    #[command(subcommand)]
    Survey(SurveyCommand),
    /// Argo CD: the notifications set-up that sends devex deployments.
    #[command(subcommand)]
    Argocd(ArgocdCommand),
    /// API tokens: create (printed once), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit log, newest first: who did what, when, from where, and
    /// the outcome.
    Audit(AuditArgs),
}

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub engine: EngineArg,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    /// Only this table (default: every table).
    #[arg(long)]
    pub table: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    /// Entries on or after this day (UTC), YYYY-MM-DD.
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many (default 1000).
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, alone, on standard output (the only
    /// time it is shown; only its hash is kept).
    Create {
        #[command(flatten)]
        lake: LakeArg,
        /// What the token is for, e.g. prometheus or ci-ingest.
        #[arg(long)]
        name: String,
        /// viewer (reports, portal, /metrics), ingest (posts events) or
        /// admin (everything).
        #[arg(long, value_parser = ["viewer", "ingest", "admin"])]
        role: String,
        /// How long it lives: e.g. 90d, 12h, 4w, or never.
        #[arg(long, default_value = "90d")]
        expires: String,
    },
    /// List the tokens: name, role, created, expires, state.
    List {
        #[command(flatten)]
        lake: LakeArg,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Revoke the token with this name; a running server refuses it at once.
    Revoke {
        #[command(flatten)]
        lake: LakeArg,
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ArgocdCommand {
    /// Print the argocd-notifications-cm service, template and trigger to
    /// paste (the receiver reads exactly this body).
    Template {
        /// Where Argo CD reaches devex (default: http://ADDR of the configuration).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SurveyCommand {
    /// Print the shipped DevEx quarterly survey definition (TOML).
    Template,
}

#[derive(Debug, Args)]
pub struct SurveyReportArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    /// The survey wave, e.g. devex-2026-q3.
    #[arg(long)]
    pub survey: String,
    /// Compare with this earlier wave (Welch's t-test per dimension and question).
    #[arg(long)]
    pub compare: Option<String>,
    /// A group of the catalog hierarchy (default: the whole organisation).
    #[arg(long)]
    pub team: Option<String>,
    /// Also show the group's subgroups.
    #[arg(long, value_parser = ["team", "none"], default_value = "none")]
    pub group_by: String,
    /// Each team's dimension scores beside its DevEx workflow measures of
    /// the 90 days before the wave closed (JSON).
    #[arg(long, conflicts_with = "compare")]
    pub perceived_vs_measured: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
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
    Space(SpaceArgs),
    /// Compare a measure between two periods: medians, their difference with
    /// a 95% interval, and a Mann-Whitney U test.
    Compare(CompareArgs),
    /// Survey results of a wave (or its change from another wave), only for
    /// groups the anonymity rules allow.
    Survey(SurveyReportArgs),
    /// Cost per team, service, provider or month: each row placed by the
    /// first rule that applies (service tag, team tag, namespace, shared
    /// split), the unattributed rest shown, and the total reconciled.
    Cost(CostArgs),
    /// Platform adoption per tool, feature or team: active users, daily and
    /// weekly means, stickiness, events; per team, the share of its
    /// developers using the platform (small teams hidden).
    Adoption(AdoptionArgs),
    /// Onboarding of developers who started in the window: median days to
    /// their first merged pull request, first change in production and
    /// tenth merged pull request, per team or start-month cohort (small
    /// groups hidden; those not there yet counted apart).
    Onboarding(OnboardingArgs),
    /// AI coding assistants per team or tool: AI-active developers and
    /// their share, acceptance, AI-assisted pull requests, usage cohorts and
    /// cost; with --impact, AI-assisted against other pull requests; with
    /// --rollout, each team's rollout effect (small groups hidden).
    Ai(AiArgs),
}

#[derive(Debug, Args)]
pub struct AiArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    /// First day of the window, YYYY-MM-DD (default: 90 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Day after the window, YYYY-MM-DD (default: tomorrow).
    #[arg(long)]
    pub to: Option<String>,
    /// IANA time zone of pull requests' merge days (default UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Only this team.
    #[arg(long)]
    pub team: Option<String>,
    /// A line per team or per tool.
    #[arg(long, value_parser = ["team", "tool"], default_value = "team")]
    pub group_by: String,
    /// Also AI-assisted against other merged pull requests: medians and
    /// rates with n, p-values, 95% intervals, by size.
    #[arg(long)]
    pub impact: bool,
    /// Also each team's rollout month and its difference-in-differences
    /// effect on cycle time, change failure and rework rates.
    #[arg(long)]
    pub rollout: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct OnboardingArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    /// First day of the starts counted, YYYY-MM-DD (default: 365 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Day after the last start counted, YYYY-MM-DD (default: tomorrow).
    #[arg(long)]
    pub to: Option<String>,
    /// IANA time zone of the days and start months (default UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// A line per team (with the groups above it) or per start month.
    #[arg(long, value_parser = ["team", "cohort"], default_value = "team")]
    pub group_by: String,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct AdoptionArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    /// First day of the window, YYYY-MM-DD (default: 90 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Day after the window, YYYY-MM-DD (default: tomorrow).
    #[arg(long)]
    pub to: Option<String>,
    /// IANA time zone of the window's days and weeks (default UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// A line per tool, feature or team.
    #[arg(long, value_parser = ["tool", "feature", "team"], default_value = "tool")]
    pub group_by: String,
    /// Also the configured funnels (`[adoption.funnels]`): users at each
    /// step, their share, the median days between steps.
    #[arg(long)]
    pub funnels: bool,
    /// Also the monthly retention cohorts: users by the month of their first
    /// event, and the share active in each month since.
    #[arg(long)]
    pub cohorts: bool,
    /// Also the golden paths per team: new services created from a
    /// template, production deployments built by the platform's pipeline
    /// (`[adoption] platform_pipelines`).
    #[arg(long)]
    pub golden_paths: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    /// First day of the window (UTC), YYYY-MM-DD (default: 90 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Day after the window (UTC), YYYY-MM-DD (default: tomorrow).
    #[arg(long)]
    pub to: Option<String>,
    /// A line per team (shared cost split across teams), service, provider,
    /// provider service (FOCUS ServiceName) or month.
    #[arg(long, value_parser = ["team", "service", "provider", "provider_service", "month"], default_value = "team")]
    pub group_by: String,
    /// FOCUS EffectiveCost (else BilledCost), BilledCost, or ListCost (else BilledCost).
    #[arg(long, value_parser = ["effective", "billed", "list"], default_value = "effective")]
    pub measure: String,
    /// List the unattributed remainder's top resources, to ask their owners for tags.
    #[arg(long)]
    pub unattributed: bool,
    /// The rows behind the numbers instead, each with the rule that placed
    /// it (largest first; with --team, --service, --rule, --limit).
    #[arg(long)]
    pub lines: bool,
    /// With --lines: only this team's rows.
    #[arg(long, requires = "lines")]
    pub team: Option<String>,
    /// With --lines: only this service's rows.
    #[arg(long, requires = "lines")]
    pub service: Option<String>,
    /// With --lines: service_tag, team_tag, namespace, shared or unattributed.
    #[arg(long, requires = "lines")]
    pub rule: Option<String>,
    /// With --lines: at most this many rows (default 100).
    #[arg(long, requires = "lines")]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// The window and filters the DevEx and SPACE reports share.
#[derive(Debug, Args)]
pub struct TeamWindowArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub engine: EngineArg,
    /// First day of the window, YYYY-MM-DD (default: 90 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Day after the window, YYYY-MM-DD (default: tomorrow).
    #[arg(long)]
    pub to: Option<String>,
    /// IANA time zone of the window's days (default UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Only this team.
    #[arg(long)]
    pub team: Option<String>,
    /// Only this repository (owner/name).
    #[arg(long)]
    pub repo: Option<String>,
}

#[derive(Debug, Args)]
pub struct DevexArgs {
    #[command(flatten)]
    pub window: TeamWindowArgs,
    /// Only the repositories of this service (from the catalog).
    #[arg(long)]
    pub service: Option<String>,
    /// A column per team, or per repository (repository measures only).
    #[arg(long, value_parser = ["team", "repo"], default_value = "team")]
    pub group_by: String,
    /// Leave Saturdays and Sundays out of pull request phase durations.
    #[arg(long)]
    pub exclude_weekends: bool,
    /// The report per week or month.
    #[arg(long, value_parser = ["week", "month"])]
    pub series: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// `report space`: SPACE measures are per team over the window, so it takes
/// no grouping, series, service or weekend flags.
#[derive(Debug, Args)]
pub struct SpaceArgs {
    #[command(flatten)]
    pub window: TeamWindowArgs,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

impl SpaceArgs {
    /// The DevEx arguments the SPACE report runs with.
    pub fn into_devex(self) -> DevexArgs {
        DevexArgs {
            window: self.window,
            service: None,
            group_by: "team".into(),
            exclude_weekends: false,
            series: None,
            format: self.format,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    /// ci_duration, ci_queue, pr_coding, pr_pickup, pr_review, pr_deploy,
    /// pr_cycle_time, lead_time or context_switches.
    #[arg(long)]
    pub metric: String,
    /// Only this team.
    #[arg(long)]
    pub team: Option<String>,
    #[arg(long)]
    pub tz: Option<String>,
    /// First period, YYYY-MM-DD: its first day and the day after its last.
    #[arg(long)]
    pub a_from: String,
    #[arg(long)]
    pub a_to: String,
    /// Second period.
    #[arg(long)]
    pub b_from: String,
    #[arg(long)]
    pub b_to: String,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct DoraArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub engine: EngineArg,
    /// First day of the window, YYYY-MM-DD (default: 90 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Day after the window, YYYY-MM-DD (default: tomorrow, so today counts).
    #[arg(long)]
    pub to: Option<String>,
    /// IANA time zone of the window's days, e.g. Europe/Berlin (default UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Only this service.
    #[arg(long)]
    pub service: Option<String>,
    /// Only the services this team owns.
    #[arg(long)]
    pub team: Option<String>,
    /// Regular expression (case-insensitive) of production environment names
    /// (default from the configuration: ^(prod|production)$).
    #[arg(long)]
    pub environment_pattern: Option<String>,
    /// Rows per service, per team, or none (overall only).
    #[arg(long, value_parser = ["service", "team", "none"], default_value = "service")]
    pub group_by: String,
    /// Which DORA report's performance levels to grade with (2023 or 2024).
    #[arg(long)]
    pub levels_year: Option<u16>,
    /// List every production deployment with its class, changes, failure
    /// causes and recovery: the rows behind the numbers.
    #[arg(long, conflicts_with = "series")]
    pub deployments: bool,
    /// A row per week or month instead of one for the whole window.
    #[arg(long, value_parser = ["week", "month"])]
    pub series: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct LakeArg {
    /// The lake folder (default from the configuration: ./devex-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
}

/// Where the reports' metric SQL runs.
#[derive(Debug, Args, Default)]
pub struct EngineArg {
    /// `in-process` (default), or `ballista` to run the DORA and DevEx
    /// reports' SQL on a Ballista cluster (see --scheduler).
    #[arg(long, value_parser = ["in-process", "ballista"])]
    pub engine: Option<String>,
    /// The Ballista scheduler, df://HOST:PORT (with --engine ballista).
    #[arg(long)]
    pub scheduler: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub engine: EngineArg,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub addr: Option<std::net::SocketAddr>,
    /// Create the demo organisation first when the lake is empty.
    #[arg(long)]
    pub demo: bool,
    /// Serve an address other than loopback without tokens (only when
    /// something in front of devex authenticates); the portal says so.
    #[arg(long)]
    pub insecure_no_auth: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Canonical table, e.g. deployments, incidents, commits; `survey` for a
    /// survey tool's export (Google Forms, Typeform, Qualtrics CSV,
    /// Microsoft Forms xlsx); `catalog` for Backstage catalog-info.yaml files;
    /// `focus` for FOCUS 1.0-1.3 billing exports (CSV).
    pub table: String,
    /// JSON Lines (.jsonl) or CSV (.csv) files; for `survey`, the export;
    /// for `catalog`, YAML files or folders of them.
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub lake: LakeArg,
    /// Input format, when the extension does not tell.
    #[arg(long, value_parser = parse_input_format)]
    pub format: Option<InputFormat>,
    /// For `survey`: the wave the export belongs to, e.g. devex-2026-q3.
    #[arg(long)]
    pub survey: Option<String>,
    /// For `survey`: a TOML file mapping columns to question ids, labels to
    /// numbers, and naming the team and e-mail columns.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Leave the derive stage to `devex derive` (or the next report): for
    /// loading many files in a row, then deriving once.
    #[arg(long)]
    pub no_derive: bool,
    /// For `catalog`: the day changes take effect (default today, UTC).
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
    /// For `focus`: a CSV of `currency,month,rate` (month YYYY-MM) that
    /// converts rows billed in other currencies to `[cost] currency`.
    #[arg(long)]
    pub rates: Option<PathBuf>,
}

fn parse_input_format(s: &str) -> std::result::Result<InputFormat, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// A read-only SQL statement, e.g. "SELECT count(*) AS n FROM deployments".
    pub sql: String,
    #[command(flatten)]
    pub lake: LakeArg,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The source to pull from.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(ingest::sources::Registry::builtin().entries().iter().map(|s| s.name)))]
    pub source: String,
    /// An organisation (or user) to sync every repository of; repeatable.
    #[arg(long = "org", value_name = "ORG")]
    pub owners: Vec<String>,
    /// A repository as OWNER/NAME; repeatable.
    #[arg(long = "repo", value_name = "OWNER/NAME")]
    pub repos: Vec<String>,
    /// Where a repository's first sync starts, YYYY-MM-DD (default: a year
    /// ago); later runs continue from where the last one stopped.
    #[arg(long)]
    pub since: Option<chrono::NaiveDate>,
    /// Forget where earlier syncs stopped and start again from --since
    /// (rows already stored are skipped, never doubled).
    #[arg(long)]
    pub resync: bool,
    /// API root, e.g. https://ghe.example.com/api/v3 for GitHub Enterprise
    /// Server (default: [github] base_url, else https://api.github.com); for
    /// backstage, the Backstage backend.
    #[arg(long, visible_alias = "url")]
    pub base_url: Option<String>,
    /// The source's token (prefer its environment variable, e.g.
    /// BACKSTAGE_TOKEN: a flag shows in the process list).
    #[arg(long)]
    pub token: Option<String>,
    /// For opencost: how far back to read, e.g. 30d (default [opencost] window).
    #[arg(long)]
    pub window: Option<String>,
    /// For opencost: `namespace` or `label:KEY` (default [opencost] aggregate).
    #[arg(long)]
    pub aggregate: Option<String>,
    /// For copilot: the enterprise (its slug) whose usage report to read,
    /// instead of an organisation's (--org).
    #[arg(long, value_name = "SLUG")]
    pub enterprise: Option<String>,
    /// Print the sync report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub lake: LakeArg,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    /// Random seed: the same seed (and end date) gives the same lake.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Multiplies the organisation (teams, services, developers).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Months of history.
    #[arg(long)]
    pub months: Option<u32>,
    /// First day after the history, YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    pub end: Option<chrono::NaiveDate>,
    /// Leave the derive stage to `devex derive` (or the first report).
    #[arg(long)]
    pub no_derive: bool,
}

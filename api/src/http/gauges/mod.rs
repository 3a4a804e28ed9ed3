//! The headline measures as Prometheus gauges: computed for a rolling window
//! on a schedule (not on every scrape, so a scrape is cheap) and exposed by a
//! collector that encodes the latest snapshot. Labels are team, service,
//! environment, percentile, metric and level; never a person. Durations
//! are in seconds (Prometheus base units), percentiles a `percentile` label
//! (`quantile` belongs to summaries).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use analytics::devex::{DevexMetrics, DevexRequest};
use analytics::dora::{DoraMetrics, DoraRequest, Level};
use analytics::LakeQueries;
use chrono::{Days, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::config::Config;
use crate::error::Result;

mod ai;
mod cost;
mod platform;

type Labels = Vec<(String, String)>;

/// One gauge family and its samples.
#[derive(Debug, Clone)]
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(Labels, f64)>,
}

/// The latest snapshot, shared by the refresh task and the collector.
#[derive(Debug, Clone, Default)]
pub struct Scorecard {
    families: Arc<RwLock<Vec<Family>>>,
    /// Wakes the refresh task early, after new events were stored.
    stale: Arc<tokio::sync::Notify>,
    /// When the first delivery not yet in the derived tables was stored.
    pending_since: Arc<std::sync::Mutex<Option<Instant>>>,
}

pub(super) fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) struct Builder {
    families: Vec<Family>,
}

impl Builder {
    pub(super) fn push(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: Labels,
        value: Option<f64>,
    ) {
        let Some(value) = value else { return };
        match self.families.iter_mut().find(|f| f.name == name) {
            Some(family) => family.samples.push((labels, value)),
            None => self.families.push(Family {
                name,
                help,
                samples: vec![(labels, value)],
            }),
        }
    }

    fn dora(&mut self, base: &[(&str, &str)], m: &DoraMetrics) {
        let with = |extra: &[(&str, &str)]| {
            let mut l = labels(base);
            l.extend(labels(extra));
            l
        };
        self.push(
            "devex_dora_deployments",
            "Counted production deployments in the window",
            with(&[]),
            Some(m.deployments as f64),
        );
        self.push(
            "devex_dora_deployments_per_week",
            "Counted production deployments per week in the window",
            with(&[]),
            Some(m.deployments_per_week),
        );
        for (q, v) in [
            ("50", m.lead_time_median_hours),
            ("90", m.lead_time_p90_hours),
        ] {
            self.push(
                "devex_dora_lead_time_seconds",
                "Lead time for changes (first commit to production), by percentile",
                with(&[("percentile", q)]),
                hours_to_seconds(v),
            );
        }
        self.push(
            "devex_dora_change_failure_rate",
            "Failed deployments / counted deployments",
            with(&[]),
            m.change_failure_rate,
        );
        for (q, v) in [
            ("50", m.recovery_time_median_hours),
            ("90", m.recovery_time_p90_hours),
        ] {
            self.push(
                "devex_dora_recovery_time_seconds",
                "Failed deployment recovery time, by percentile",
                with(&[("percentile", q)]),
                hours_to_seconds(v),
            );
        }
        self.push(
            "devex_dora_unrecovered_deployments",
            "Failed deployments not recovered yet",
            with(&[]),
            Some(m.unrecovered as f64),
        );
        self.push(
            "devex_dora_rework_rate",
            "Share of counted deployments that are unplanned fixes",
            with(&[]),
            m.rework_rate,
        );
        for (metric, current) in [
            ("deployment_frequency", m.levels.deployment_frequency),
            ("lead_time_for_changes", m.levels.lead_time_for_changes),
            ("change_failure_rate", m.levels.change_failure_rate),
            (
                "failed_deployment_recovery_time",
                m.levels.failed_deployment_recovery_time,
            ),
        ] {
            let Some(current) = current else { continue };
            for level in [
                Level::Elite,
                Level::High,
                Level::Medium,
                Level::Low,
                Level::InsufficientData,
            ] {
                self.push(
                    "devex_dora_performance_level",
                    "1 for the current DORA performance level of a metric, 0 for the others",
                    with(&[("metric", metric), ("level", level.name())]),
                    Some(if level == current { 1.0 } else { 0.0 }),
                );
            }
        }
    }

    fn devex(&mut self, team: &str, m: &DevexMetrics) {
        let l = |extra: &[(&str, &str)]| {
            let mut out = labels(&[("team", team)]);
            out.extend(labels(extra));
            out
        };
        for (q, v) in [
            ("50", m.ci_duration_median_minutes),
            ("90", m.ci_duration_p90_minutes),
        ] {
            self.push(
                "devex_cicd_pipeline_run_duration_seconds",
                "CI pipeline run duration, by percentile (OpenTelemetry CI/CD cicd.pipeline.run.duration)",
                l(&[("percentile", q)]),
                v.map(|minutes| minutes * 60.0),
            );
        }
        for (q, v) in [
            ("50", m.ci_queue_median_minutes),
            ("90", m.ci_queue_p90_minutes),
        ] {
            self.push(
                "devex_ci_queue_seconds",
                "CI queue wait, by percentile",
                l(&[("percentile", q)]),
                v.map(|minutes| minutes * 60.0),
            );
        }
        self.push(
            "devex_ci_flaky_rate",
            "Share of (repo, pipeline, sha) with a failure then a success",
            l(&[]),
            m.flaky_rate,
        );
        for (phase, v) in [
            ("coding", m.pr_coding_median_hours),
            ("pickup", m.pr_pickup_median_hours),
            ("review", m.pr_review_median_hours),
            ("deploy", m.pr_deploy_median_hours),
        ] {
            self.push(
                "devex_pr_phase_seconds",
                "Median pull request phase",
                l(&[("phase", phase)]),
                hours_to_seconds(v),
            );
        }
        for (q, v) in [
            ("50", m.pr_cycle_time_median_hours),
            ("90", m.pr_cycle_time_p90_hours),
        ] {
            self.push(
                "devex_pr_cycle_time_seconds",
                "Pull request cycle time, by percentile",
                l(&[("percentile", q)]),
                hours_to_seconds(v),
            );
        }
        self.push(
            "devex_pr_unreviewed_merge_share",
            "Share of merged pull requests without a review",
            l(&[]),
            m.unreviewed_merge_share,
        );
        for (q, v) in [
            ("50", m.context_switches_median),
            ("90", m.context_switches_p90),
        ] {
            self.push(
                "devex_context_switches",
                "Work items per developer-day, by percentile (teams above the minimum size)",
                l(&[("percentile", q)]),
                v,
            );
        }
        self.push(
            "devex_focus_day_share",
            "Share of developer-days with a 2-hour focus block",
            l(&[]),
            m.focus_day_share,
        );
    }
}

/// What the last derive took, for its gauges.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeriveTimes {
    seconds: f64,
    lag_seconds: f64,
}

impl Scorecard {
    /// Derives, then recomputes every gauge.
    pub async fn refresh(&self, queries: &LakeQueries, config: &Config) -> Result<()> {
        let derived = self.derive(queries, config).await?;
        self.compute_gauges(queries, config, derived).await
    }

    /// Brings the derived tables up to date with the events stored so far.
    pub async fn derive(&self, queries: &LakeQueries, config: &Config) -> Result<DeriveTimes> {
        let started = Instant::now();
        // Events stored from here on wait for the next derive.
        let pending = self
            .pending_since
            .lock()
            .map(|mut pending| pending.take())
            .unwrap_or_default();
        if let Err(e) = analytics::derive::run(queries, &config.dora, &config.devex).await {
            // Still waiting: the next derive counts from the same moment.
            if let (Some(since), Ok(mut waiting)) = (pending, self.pending_since.lock()) {
                *waiting = Some(waiting.map_or(since, |w| w.min(since)));
            }
            return Err(e.into());
        }
        Ok(DeriveTimes {
            seconds: started.elapsed().as_secs_f64(),
            lag_seconds: pending.map_or(0.0, |since| since.elapsed().as_secs_f64()),
        })
    }

    /// Recomputes every gauge for the window ending `end` (inclusive), with
    /// the last derive's times.
    pub async fn compute_gauges(
        &self,
        queries: &LakeQueries,
        config: &Config,
        derived: DeriveTimes,
    ) -> Result<()> {
        let started = Instant::now();
        let (derive_seconds, lag_seconds) = (derived.seconds, derived.lag_seconds);
        let end = config
            .metrics
            .end
            .unwrap_or_else(|| Utc::now().date_naive());
        let to = end + Days::new(1);
        let from = to - Days::new(u64::from(config.metrics.window_days.max(1)));
        let (from_text, to_text) = (from.to_string(), to.to_string());
        let mut builder = Builder {
            families: Vec::new(),
        };
        let dora = |group_by: &str| {
            DoraRequest::parse(
                &from_text,
                &to_text,
                None,
                None,
                None,
                Some(group_by),
                config.dora.clone(),
            )
        };
        let by_service = analytics::dora::report(queries, &dora("service")?).await?;
        let owners = analytics::catalog::service_owners(queries).await?;
        for group in &by_service.groups {
            let service = group.key.label().unwrap_or("");
            let team = owners.get(service).cloned().unwrap_or_default();
            builder.dora(
                &[
                    ("team", &team),
                    ("service", service),
                    ("environment", "production"),
                ],
                &group.metrics,
            );
        }
        let by_team = analytics::dora::report(queries, &dora("team")?).await?;
        for group in &by_team.groups {
            let team = group.key.label().unwrap_or("");
            builder.dora(
                &[("team", team), ("environment", "production")],
                &group.metrics,
            );
        }
        builder.dora(
            &[("team", "all"), ("environment", "production")],
            &by_team.overall,
        );
        let devex = DevexRequest::parse(
            &from_text,
            &to_text,
            None,
            None,
            None,
            Some("team"),
            config.devex.clone(),
            config.dora.clone(),
        )?;
        for group in analytics::devex::report(queries, &devex).await?.groups {
            if let Some(team) = group.key.label() {
                builder.devex(team, &group.metrics);
            }
        }
        cost::cost_gauges(&mut builder, queries, config, end, &owners).await?;
        platform::platform_gauges(&mut builder, queries, config, from, to).await?;
        ai::ai_gauges(&mut builder, queries, config, from, to).await?;
        // Corrupt files moved out of their tables: alert on any.
        let quarantined = queries.lake().quarantined_files().await?;
        for table in ingest::schema::TABLES {
            let prefix = format!("{}/", table.name);
            let count = quarantined
                .iter()
                .filter(|f| f.starts_with(&prefix))
                .count();
            builder.push(
                "devex_quarantined_files",
                "Corrupt data files moved to the lake's _devex/quarantine/, by table: the table is incomplete until they are re-imported or re-synced",
                labels(&[("table", table.name)]),
                Some(count as f64),
            );
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        builder.push(
            "devex_metrics_window_seconds",
            "Length of the rolling window the gauges cover",
            vec![],
            Some(f64::from(config.metrics.window_days) * 86_400.0),
        );
        builder.push(
            "devex_last_refresh_timestamp_seconds",
            "When the gauges were last computed",
            vec![],
            Some(now),
        );
        builder.push(
            "devex_derive_duration_seconds",
            "How long the last refresh took to bring the derived tables up to date (near 0 when nothing changed)",
            vec![],
            Some(derive_seconds),
        );
        builder.push(
            "devex_derive_lag_seconds",
            "From the first event stored after the previous derive to the end of the derive that includes it; 0 when nothing was waiting",
            vec![],
            Some(lag_seconds),
        );
        builder.push(
            "devex_refresh_duration_seconds",
            "How long the last computation took",
            vec![],
            Some(started.elapsed().as_secs_f64()),
        );
        if let Ok(mut families) = self.families.write() {
            *families = builder.families;
        }
        Ok(())
    }

    /// Two tasks until the process ends. One derives now, then every
    /// `refresh_seconds` and at once after ingest (see
    /// [`Scorecard::ingested`]), so reports see new events without waiting
    /// for the gauges. The other computes the gauges after each derive, at
    /// most once per twice its own duration. Under a steady stream each
    /// takes at most about a third of the time, leaving the cores to the
    /// webhook writer and the reports.
    pub fn spawn_refresh(&self, queries: Arc<LakeQueries>, config: Arc<Config>) {
        let period = Duration::from_secs(config.metrics.refresh_seconds.max(1));
        let times = Arc::new(std::sync::Mutex::new(DeriveTimes::default()));
        let derived = Arc::new(tokio::sync::Notify::new());
        let (scorecard, deriving) = (self.clone(), (queries.clone(), config.clone()));
        let (latest, signal) = (times.clone(), derived.clone());
        analytics::background::spawn(async move {
            let (queries, config) = deriving;
            loop {
                let started = Instant::now();
                match scorecard.derive(&queries, &config).await {
                    Ok(took) => {
                        if let Ok(mut latest) = latest.lock() {
                            *latest = took;
                        }
                        signal.notify_one();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "Deriving failed; reports answer from the last derived tables.")
                    }
                }
                let took = started.elapsed();
                tokio::select! {
                    () = tokio::time::sleep(period) => {}
                    () = scorecard.stale.notified() => {
                        // A burst of deliveries makes one derive, not one each.
                        tokio::time::sleep(took.saturating_mul(2).max(Duration::from_secs(1))).await;
                    }
                }
            }
        });
        let scorecard = self.clone();
        analytics::background::spawn(async move {
            loop {
                // After a derive (the first one included).
                derived.notified().await;
                let started = Instant::now();
                let last = times.lock().map(|t| *t).unwrap_or_default();
                if let Err(e) = scorecard.compute_gauges(&queries, &config, last).await {
                    tracing::warn!(error = %e, "Refreshing the /metrics gauges failed; keeping the last ones.");
                }
                tokio::time::sleep(
                    started
                        .elapsed()
                        .saturating_mul(2)
                        .max(Duration::from_secs(1)),
                )
                .await;
            }
        });
    }

    /// Tells the refresh task that new events were stored.
    pub fn ingested(&self) {
        if let Ok(mut pending) = self.pending_since.lock() {
            pending.get_or_insert_with(Instant::now);
        }
        self.stale.notify_one();
    }
}

impl Collector for Scorecard {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::result::Result<(), std::fmt::Error> {
        let families = match self.families.read() {
            Ok(families) => families.clone(),
            Err(_) => return Ok(()),
        };
        for family in families {
            let mut metric =
                encoder.encode_descriptor(family.name, family.help, None, MetricType::Gauge)?;
            for (labels, value) in &family.samples {
                let sample = metric.encode_family(labels)?;
                ConstGauge::new(*value).encode(sample)?;
            }
        }
        Ok(())
    }
}

/// Hours (the reports' unit) in seconds (Prometheus' base unit).
pub(super) fn hours_to_seconds(hours: Option<f64>) -> Option<f64> {
    hours.map(|h| h * 3600.0)
}

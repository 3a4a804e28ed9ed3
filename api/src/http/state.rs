//! What every handler shares: the lake, its queries, the configuration, the
//! /metrics registry and gauges, and the webhook intake.

use std::sync::Arc;

use analytics::LakeQueries;
use ingest::lake::Lake;
use ingest::sources::Registry;

use super::gauges::Scorecard;
use super::intake::Intake;
use super::metrics::Metrics;
use crate::auth::guard::{Exposure, Guard};
use crate::config::Config;
use crate::error::Result;

#[derive(Clone)]
pub struct AppState {
    pub lake: Arc<Lake>,
    pub queries: Arc<LakeQueries>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// The /metrics gauges, to refresh after ingest.
    pub scorecard: Scorecard,
    /// The webhook receivers, writer (group commit) and caches.
    pub intake: Arc<Intake>,
    /// Who may call what (tokens, roles, the Host allowlist).
    pub guard: Guard,
}

impl AppState {
    /// The state of a server with the sources devex ships.
    pub async fn new(lake: Arc<Lake>, config: Config) -> Result<AppState> {
        AppState::with_sources(lake, config, &Registry::builtin()).await
    }

    /// The state of a server whose webhooks are `registry`'s receivers.
    pub async fn with_sources(
        lake: Arc<Lake>,
        config: Config,
        registry: &Registry,
    ) -> Result<AppState> {
        let queries = Arc::new(config.queries(lake.clone()).await?);
        let scorecard = Scorecard::default();
        let intake = Arc::new(Intake::start(lake.clone(), &config, registry)?);
        // Until `serve` knows its address: no Host check, on loopback.
        let guard = Guard::new(
            &lake,
            &config.auth,
            std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
            Exposure::Loopback,
        )?
        .with_audit(intake.committer.clone());
        Ok(AppState {
            guard,
            intake,
            lake,
            queries,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::with_scorecard(scorecard.clone())),
            scorecard,
        })
    }

    /// New events were stored: the gauges and the reports' derived tables
    /// follow, in the background.
    pub fn ingested(&self) {
        self.scorecard.ingested();
        self.queries.derive_in_background();
    }

    /// Makes the /metrics gauges refresh on the configured schedule.
    pub fn refresh_metrics(self) -> AppState {
        self.scorecard
            .spawn_refresh(self.queries.clone(), self.config.clone());
        self
    }
}

//! Golden paths: per team, the share of new services created from a
//! template and of production deployments built by the platform's pipeline
//! (`golden_paths.sql` holds the definition).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{window_values, AdoptionRequest};
use crate::columns::Columns;
use crate::error::{Error, Result};
use crate::template::{fill, sql_text};
use crate::LakeQueries;

const GOLDEN_PATHS: &str = include_str!("golden_paths.sql");

/// One team's (or the organisation's) golden-path counts and shares.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct GoldenPathShares {
    pub services_created: u64,
    pub services_from_template: u64,
    /// services_from_template / services_created.
    pub template_share: Option<f64>,
    pub production_deployments: u64,
    pub platform_pipeline_deployments: u64,
    /// platform_pipeline_deployments / production_deployments.
    pub pipeline_share: Option<f64>,
}

impl GoldenPathShares {
    fn add(&mut self, other: &GoldenPathShares) {
        self.services_created += other.services_created;
        self.services_from_template += other.services_from_template;
        self.production_deployments += other.production_deployments;
        self.platform_pipeline_deployments += other.platform_pipeline_deployments;
    }

    fn with_shares(mut self) -> GoldenPathShares {
        let share = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        self.template_share = share(self.services_from_template, self.services_created);
        self.pipeline_share = share(
            self.platform_pipeline_deployments,
            self.production_deployments,
        );
        self
    }
}

/// A team's golden-path shares; `team` null for services or deployments
/// whose owner the catalog does not know.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct GoldenPathTeam {
    pub team: Option<String>,
    #[serde(flatten)]
    pub shares: GoldenPathShares,
}

/// Golden paths per team and overall.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct GoldenPaths {
    /// The pattern of the platform's pipelines (`adoption.platform_pipelines`).
    pub platform_pipelines: String,
    pub teams: Vec<GoldenPathTeam>,
    pub overall: GoldenPathShares,
}

pub(super) async fn golden_paths(
    queries: &LakeQueries,
    request: &AdoptionRequest,
) -> Result<GoldenPaths> {
    let dora = crate::dora::materialized_context(queries, &request.dora).await?;
    let production_deployments = dora
        .table_provider("production_deployments")
        .await
        .map_err(Error::Engine)?;
    let context = queries.scratch_context().await?;
    context
        .register_table("production_deployments", production_deployments)
        .map_err(Error::Engine)?;
    let mut values = window_values(request);
    values.push((
        "platform_pipelines",
        sql_text(&request.adoption.platform_pipelines),
    ));
    let result = queries
        .read_only_sql_on(&context, &fill(GOLDEN_PATHS, &values)?)
        .await?;
    let c = Columns::new(&result.batches);
    let mut teams: BTreeMap<Option<String>, GoldenPathShares> = BTreeMap::new();
    let counts = [
        c.int("services_created")?,
        c.int("services_from_template")?,
        c.int("production_deployments")?,
        c.int("platform_pipeline_deployments")?,
    ];
    for (i, team) in c.text("team")?.into_iter().enumerate() {
        let [created, templated, deployments, platform] = counts
            .each_ref()
            .map(|column| column[i].unwrap_or(0) as u64);
        teams.entry(team).or_default().add(&GoldenPathShares {
            services_created: created,
            services_from_template: templated,
            production_deployments: deployments,
            platform_pipeline_deployments: platform,
            ..GoldenPathShares::default()
        });
    }
    let mut overall = GoldenPathShares::default();
    for shares in teams.values() {
        overall.add(shares);
    }
    Ok(GoldenPaths {
        platform_pipelines: request.adoption.platform_pipelines.clone(),
        teams: teams
            .into_iter()
            .map(|(team, shares)| GoldenPathTeam {
                team,
                shares: shares.with_shares(),
            })
            .collect(),
        overall: overall.with_shares(),
    })
}

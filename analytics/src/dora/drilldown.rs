//! The per-deployment drill-down: each production deployment with its class,
//! changes, failure causes and recovery.

use super::*;

/// How a deployment is classed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentClass {
    Baseline,
    Counted,
    Redeploy,
    Rollback,
}

impl DeploymentClass {
    /// The class's name, as it appears in JSON.
    pub fn name(self) -> &'static str {
        match self {
            DeploymentClass::Baseline => "baseline",
            DeploymentClass::Counted => "counted",
            DeploymentClass::Redeploy => "redeploy",
            DeploymentClass::Rollback => "rollback",
        }
    }
}

/// One change of a deployment and its lead time.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChangeDetail {
    pub sha: String,
    pub message_summary: Option<String>,
    pub pull_request: Option<i64>,
    pub started_at: DateTime<Utc>,
    /// `authored_at`, or `pull_request_first_commit` for a squash or rebase merge.
    pub started_from: String,
    pub lead_time_hours: f64,
    pub rework: bool,
}

/// Why a deployment counts as failed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureCause {
    /// An incident attributed by `linked_deployment_id`, `linked_sha` or `time`.
    Incident {
        incident_id: String,
        /// The tool that reported it (`pagerduty`, `gitlab`, `github`, ...).
        source: String,
        attribution: String,
        opened_at: Option<DateTime<Utc>>,
        resolved_at: Option<DateTime<Utc>>,
    },
    Rollback {
        deployment_id: String,
        deployed_at: Option<DateTime<Utc>>,
    },
}

/// One production deployment, explained.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeploymentDetail {
    pub service: String,
    pub team: Option<String>,
    pub deployment_id: String,
    pub environment: Option<String>,
    /// The tool that reported it (`argocd`, `cdevents`, `github`, ...).
    pub source: Option<String>,
    pub sha: String,
    pub started_at: Option<DateTime<Utc>>,
    pub deployed_at: Option<DateTime<Utc>>,
    pub class: DeploymentClass,
    /// For a rollback: the counted deployment it marked as rolled back.
    pub rolls_back: Option<String>,
    pub changes: Vec<ChangeDetail>,
    pub failed: bool,
    pub failure_causes: Vec<FailureCause>,
    pub recovered_at: Option<DateTime<Utc>>,
    pub recovery_hours: Option<f64>,
    pub unrecovered: bool,
    pub rework: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeploymentsReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    /// The newest event the answer's input tables hold (each table's own
    /// event time: a deployment's start, a commit's author date, ...), in
    /// UTC; null when they hold none.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
    pub production_pattern: String,
    pub deployments: Vec<DeploymentDetail>,
}

/// Every successful production deployment in the window (all classes), with
/// its changes, failure causes and recovery: the rows behind every number of
/// [`report`].
/// The most deployments one drill-down lists.
pub const MAX_DEPLOYMENTS: usize = 50_000;

pub async fn deployments(
    queries: &LakeQueries,
    request: &DoraRequest,
) -> Result<DeploymentsReport> {
    request.validate()?;
    let sql = DoraSql::prepare(queries, request, None).await?;
    let in_window = "deployed_at >= {{from}} AND deployed_at < {{to}} {{filter}}";
    let rows = sql
        .query(
            queries,
            &format!(
                "SELECT * FROM (SELECT p.*, o.failed, o.recovered_at, o.recovery_hours, o.rework \
                 FROM production_deployments p LEFT JOIN deployment_outcomes o \
                 ON o.service = p.service AND o.deployment_id = p.deployment_id) \
                 WHERE {in_window} ORDER BY deployed_at, service, seq LIMIT {}",
                MAX_DEPLOYMENTS + 1
            ),
        )
        .await?;
    if Columns::new(&rows.batches).len() > MAX_DEPLOYMENTS {
        return Err(Error::invalid_parameter(
            "from",
            format!(
                "more than {MAX_DEPLOYMENTS} deployments in the window; narrow it, or filter by team or service"
            ),
        ));
    }
    let changes = sql
        .query(
            queries,
            &format!(
                "SELECT * FROM change_lead_times WHERE {in_window} \
                 ORDER BY service, deployment_id, change_started_at, sha"
            ),
        )
        .await?;
    let incidents = sql
        .query(
            queries,
            &format!(
                "SELECT * FROM (SELECT a.*, p.deployed_at, p.team FROM incident_attribution a \
                 JOIN production_deployments p ON p.service = a.service AND p.deployment_id = a.deployment_id) \
                 WHERE {in_window} ORDER BY opened_at, incident_id"
            ),
        )
        .await?;

    let mut changes_by: HashMap<(String, String), Vec<ChangeDetail>> = HashMap::new();
    {
        let c = Columns::new(&changes.batches);
        let service = c.text("service")?;
        let id = c.text("deployment_id")?;
        let sha = c.text("sha")?;
        let message = c.text("message_summary")?;
        let pr = c.int("pull_request")?;
        let started = c.micros("change_started_at")?;
        let from = c.text("started_from")?;
        let lead = c.float("lead_time_hours")?;
        let rework = c.boolean("rework")?;
        for i in 0..c.len() {
            let (Some(service), Some(id)) = (service[i].clone(), id[i].clone()) else {
                continue;
            };
            changes_by
                .entry((service, id))
                .or_default()
                .push(ChangeDetail {
                    sha: sha[i].clone().unwrap_or_default(),
                    message_summary: message[i].clone(),
                    pull_request: pr[i],
                    started_at: micros_to_utc(started[i]).unwrap_or_default(),
                    started_from: from[i].clone().unwrap_or_default(),
                    lead_time_hours: lead[i].unwrap_or_default(),
                    rework: rework[i].unwrap_or(false),
                });
        }
    }
    let mut causes_by: HashMap<(String, String), Vec<FailureCause>> = HashMap::new();
    {
        let c = Columns::new(&incidents.batches);
        let service = c.text("service")?;
        let id = c.text("deployment_id")?;
        let incident = c.text("incident_id")?;
        let source = c.text("source")?;
        let attribution = c.text("attribution")?;
        let opened = c.micros("opened_at")?;
        let resolved = c.micros("resolved_at")?;
        for i in 0..c.len() {
            let (Some(service), Some(id)) = (service[i].clone(), id[i].clone()) else {
                continue;
            };
            causes_by
                .entry((service, id))
                .or_default()
                .push(FailureCause::Incident {
                    incident_id: incident[i].clone().unwrap_or_default(),
                    source: source[i].clone().unwrap_or_default(),
                    attribution: attribution[i].clone().unwrap_or_default(),
                    opened_at: micros_to_utc(opened[i]),
                    resolved_at: micros_to_utc(resolved[i]),
                });
        }
    }

    let c = Columns::new(&rows.batches);
    let service = c.text("service")?;
    let team = c.text("team")?;
    let id = c.text("deployment_id")?;
    let environment = c.text("environment")?;
    let source = c.text("source")?;
    let sha = c.text("sha")?;
    let started = c.micros("started_at")?;
    let deployed = c.micros("deployed_at")?;
    let class = c.text("class")?;
    let rolls_back = c.text("rolls_back")?;
    let rolled_back_by = c.text("rolled_back_by")?;
    let rolled_back_at = c.micros("rolled_back_at")?;
    let failed = c.boolean("failed")?;
    let recovered = c.micros("recovered_at")?;
    let recovery = c.float("recovery_hours")?;
    let rework = c.boolean("rework")?;
    let mut out = Vec::with_capacity(c.len());
    for i in 0..c.len() {
        let service_name = service[i].clone().unwrap_or_default();
        let deployment_id = id[i].clone().unwrap_or_default();
        let key = (service_name.clone(), deployment_id.clone());
        let class = match class[i].as_deref() {
            Some("baseline") => DeploymentClass::Baseline,
            Some("counted") => DeploymentClass::Counted,
            Some("redeploy") => DeploymentClass::Redeploy,
            Some("rollback") => DeploymentClass::Rollback,
            other => {
                return Err(Error::Internal(format!(
                    "unknown deployment class {other:?}"
                )))
            }
        };
        let mut failure_causes = causes_by.remove(&key).unwrap_or_default();
        if let Some(by) = rolled_back_by[i].clone() {
            failure_causes.push(FailureCause::Rollback {
                deployment_id: by,
                deployed_at: micros_to_utc(rolled_back_at[i]),
            });
        }
        let failed = failed[i].unwrap_or(false);
        out.push(DeploymentDetail {
            service: service_name,
            team: team[i].clone(),
            deployment_id,
            environment: environment[i].clone(),
            source: source[i].clone(),
            sha: sha[i].clone().unwrap_or_default(),
            started_at: micros_to_utc(started[i]),
            deployed_at: micros_to_utc(deployed[i]),
            class,
            rolls_back: rolls_back[i].clone(),
            changes: changes_by.remove(&key).unwrap_or_default(),
            failed,
            failure_causes,
            recovered_at: micros_to_utc(recovered[i]),
            recovery_hours: recovery[i],
            unrecovered: failed && recovered[i].is_none(),
            rework: rework[i].unwrap_or(false),
        });
    }
    Ok(DeploymentsReport {
        from: request.from,
        data_as_of: crate::freshness::of_answer(queries, &sql.context, &crate::derive::DORA_INPUTS)
            .await?,
        to: request.to,
        tz: request.tz.name().to_string(),
        production_pattern: request.settings.production_pattern.clone(),
        deployments: out,
    })
}

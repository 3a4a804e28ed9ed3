//! PagerDuty incidents to canonical rows, shared by the webhook receiver and
//! the pull collector: one `incidents` row per observed state (triggered,
//! acknowledged, resolved, reopened), keyed by the incident, the state and
//! when it happened, so a webhook and a pull of one state are one row.

use serde_json::Value as Json;

use crate::canonical::{Incident, Micros, Row};
use crate::sources::catalog::annotation::PAGERDUTY_SERVICE_ID;
use crate::sources::catalog::CatalogView;
use crate::sources::json::{optional_text, optional_time, text};
use crate::sources::webhook::PayloadError;

/// `P1`..`P5` (PagerDuty's default priorities, P1 the most urgent) as
/// `sev1`..`sev5`; other priority schemes are left unset.
pub fn severity(incident: &Json) -> Option<String> {
    let priority = optional_text(incident, "priority.summary")?;
    let level = priority.strip_prefix('P').or(priority.strip_prefix('p'))?;
    matches!(level, "1" | "2" | "3" | "4" | "5").then(|| format!("sev{level}"))
}

/// The devex service of an incident's PagerDuty service: by the catalog
/// annotation `pagerduty.com/service-id`, else by name. `Err` is why not,
/// said so the user can fix the catalog.
pub fn service(
    catalog: &CatalogView,
    incident: &Json,
) -> Result<Result<String, String>, PayloadError> {
    let service_id = text(incident, "service.id")?;
    let service_name = optional_text(incident, "service.summary");
    Ok(
        match catalog.service_by(PAGERDUTY_SERVICE_ID, &service_id, service_name.as_deref()) {
            Some(service) => Ok(service),
            None => Err(format!(
                "PagerDuty service {service_id} ({}) maps to no devex service; annotate its catalog component with `{PAGERDUTY_SERVICE_ID}: {service_id}`",
                service_name.as_deref().unwrap_or("no name")
            )),
        },
    )
}

/// The row of `incident` (a PagerDuty incident object) in `state` at `at`.
pub fn incident(
    incident: &Json,
    state: &str,
    at: i64,
    service: String,
) -> Result<Row, PayloadError> {
    let incident_id = text(incident, "id")?;
    // Incidents carry `created_at` in the REST API and newer webhooks;
    // otherwise the trigger is the opening, and later states lean on the
    // triggered row (rows of one incident merge to the earliest opening).
    let opened_at = optional_time(incident, "created_at")?.unwrap_or(at);
    Ok(Incident {
        event_id: format!("pagerduty:incident:{incident_id}:{state}:{at}"),
        service,
        incident_id,
        severity: severity(incident),
        opened_at: Micros(opened_at),
        acknowledged_at: (state == "acknowledged").then_some(Micros(at)),
        resolved_at: (state == "resolved").then_some(Micros(at)),
        deployment_id: None,
        sha: None,
    }
    .into())
}

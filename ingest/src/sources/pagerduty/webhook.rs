//! The PagerDuty V3 webhook receiver.
//!
//! * `X-PagerDuty-Signature` lists one or more `v1=<hex>` signatures (more
//!   than one while a secret is rotated): each the HMAC-SHA256 of the raw body
//!   under the subscription's secret. Any match accepts; each is compared in
//!   constant time.
//! * A delivery is named by its `event.id`, which a redelivery repeats.
//! * `incident.triggered`, `.acknowledged`, `.resolved` and `.reopened`
//!   become `incidents` rows, one per observed state, keyed by the incident,
//!   the event type and when it occurred; other events are kept raw.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde_json::Value as Json;
use sha2::Sha256;

use super::config::PagerdutyConfig;
use super::rows;
use crate::sources::json::{text, time};
use crate::sources::webhook::{
    file_safe_id, DeliveryId, Parsed, PayloadError, WebhookContext, WebhookReceiver,
};

pub struct PagerdutyWebhook {
    secret: Option<String>,
}

impl PagerdutyWebhook {
    pub fn new(config: &PagerdutyConfig) -> PagerdutyWebhook {
        PagerdutyWebhook {
            secret: config.webhook_secret.clone().filter(|s| !s.is_empty()),
        }
    }
}

/// Whether any `v1=` signature of the header is the HMAC of `body` under
/// `secret` (the secret's UTF-8 bytes as they are, not base64-decoded).
pub fn verify_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(header) = header else {
        return false;
    };
    header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|hex_digest| hex::decode(hex_digest).ok())
        .any(|expected| {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                return false;
            };
            mac.update(body);
            // Never short-circuits on a prefix: `verify_slice` is constant-time.
            mac.verify_slice(&expected).is_ok()
        })
}

/// The incident states devex stores, by V3 event type.
const INCIDENT_EVENTS: [&str; 4] = [
    "incident.triggered",
    "incident.acknowledged",
    "incident.resolved",
    "incident.reopened",
];

impl WebhookReceiver for PagerdutyWebhook {
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
        let Some(secret) = &self.secret else {
            return Err("no webhook secret is configured; set pagerduty.webhook_secret or DEVEX_PAGERDUTY__WEBHOOK_SECRET to the subscription's signing secret".into());
        };
        let header = headers
            .get("x-pagerduty-signature")
            .and_then(|v| v.to_str().ok());
        if verify_signature(secret.as_bytes(), body, header) {
            Ok(())
        } else {
            Err(
                "X-PagerDuty-Signature is missing or no v1 signature matches the configured secret"
                    .into(),
            )
        }
    }

    fn identify(&self, _headers: &HeaderMap, body: &[u8]) -> Result<DeliveryId, String> {
        let payload: Json = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let id = text(&payload, "event.id").map_err(|e| e.0)?;
        let event = text(&payload, "event.event_type").map_err(|e| e.0)?;
        let id = file_safe_id(&id);
        if id.is_empty() {
            return Err("`event.id` is not an event id".into());
        }
        Ok(DeliveryId { id, event })
    }

    fn parse(
        &self,
        delivery: &DeliveryId,
        body: &[u8],
        context: &WebhookContext<'_>,
    ) -> Result<Parsed, PayloadError> {
        if !INCIDENT_EVENTS.contains(&delivery.event.as_str()) {
            return Ok(Parsed::Kept(format!(
                "PagerDuty `{}` events map to no rows; devex stores incident.triggered, .acknowledged, .resolved and .reopened",
                delivery.event
            )));
        }
        let payload: Json =
            serde_json::from_slice(body).map_err(|e| PayloadError(format!("not JSON: {e}")))?;
        let incident = &payload["event"]["data"];
        let service = match rows::service(context.catalog, incident)? {
            Ok(service) => service,
            Err(reason) => return Ok(Parsed::Kept(reason)),
        };
        let occurred_at = time(&payload, "event.occurred_at")?;
        let state = delivery.event.trim_start_matches("incident.");
        Ok(Parsed::Rows(vec![rows::incident(
            incident,
            state,
            occurred_at,
            service,
        )?]))
    }

    fn keeps_header(&self, name: &str) -> bool {
        (name.starts_with("x-webhook-") || name == "user-agent" || name == "content-type")
            && name != "x-pagerduty-signature"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Pseudonymizer;
    use crate::rows::Value;
    use crate::sources::catalog::annotation::PAGERDUTY_SERVICE_ID;
    use crate::sources::CatalogView;

    use crate::sources::fixtures::bytes as fixture;

    #[test]
    fn the_published_test_vector_verifies() {
        let vector: Json = serde_json::from_slice(&fixture(
            "pagerduty-go-pagerduty/webhookv3-signature-test-vector.json",
        ))
        .unwrap();
        let secret = vector["secret"].as_str().unwrap().as_bytes();
        let body = fixture("pagerduty-go-pagerduty/webhookv3_test.defaultBody.json");
        for case in vector["cases"].as_array().unwrap() {
            let header = case["header"].as_str().unwrap();
            let body = case["body"]
                .as_str()
                .map_or(body.clone(), |b| b.as_bytes().to_vec());
            let valid = verify_signature(secret, &body, Some(header));
            assert_eq!(valid, case["expect"] == "valid", "{}", case["name"]);
        }
        // Rotation: any of several signatures accepts.
        let good = vector["cases"][0]["header"].as_str().unwrap();
        let rotated = format!("v1=00ff, {good}");
        assert!(verify_signature(secret, &body, Some(&rotated)));
        assert!(!verify_signature(secret, &body, None));
    }

    fn parse(name: &str, catalog: &CatalogView) -> Parsed {
        let receiver = PagerdutyWebhook::new(&PagerdutyConfig::default());
        let body = fixture(&format!("zulip-pagerduty/{name}"));
        let delivery = receiver.identify(&HeaderMap::new(), &body).unwrap();
        let pseudonymizer = Pseudonymizer::new(b"k");
        let context = WebhookContext {
            pseudonymizer: &pseudonymizer,
            catalog,
            ai: crate::ai_attribution::AiAttribution::defaults(),
        };
        receiver.parse(&delivery, &body, &context).unwrap()
    }

    #[test]
    fn incident_states_become_rows_of_the_annotated_service() {
        let catalog = CatalogView {
            services: ["checkout".to_string(), "pig208".to_string()].into(),
            annotations: [(
                (PAGERDUTY_SERVICE_ID.to_string(), "PA2P440".to_string()),
                "checkout".to_string(),
            )]
            .into(),
            ..CatalogView::default()
        };
        let micros = |t: &str| {
            chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .timestamp_micros()
        };
        let Parsed::Rows(rows) = parse("triggered_v3.json", &catalog) else {
            panic!("a trigger is a row")
        };
        let (table, values) = &rows[0];
        assert_eq!(table.name, "incidents");
        assert_eq!(
            values,
            &vec![
                Value::text(format!(
                    "pagerduty:incident:PFQZPSY:triggered:{}",
                    micros("2021-06-04T13:35:29.781Z")
                )),
                // The annotation wins over the service named pig208.
                Value::text("checkout"),
                Value::text("PFQZPSY"),
                Value::Null,
                Value::Timestamp(micros("2021-06-04T13:35:29.781Z")),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ]
        );
        let Parsed::Rows(rows) = parse("acknowledged_v3.json", &catalog) else {
            panic!()
        };
        assert!(matches!(rows[0].1[5], Value::Timestamp(_)));
        let Parsed::Rows(rows) = parse("resolved_v3.json", &catalog) else {
            panic!()
        };
        assert_eq!(
            rows[0].1[6],
            Value::Timestamp(micros("2021-06-04T13:16:53.816Z"))
        );
        // By name when nothing is annotated.
        let by_name = CatalogView {
            services: ["Pig208".to_string()].into(),
            ..CatalogView::default()
        };
        let Parsed::Rows(rows) = parse("triggered_v3.json", &by_name) else {
            panic!()
        };
        assert_eq!(rows[0].1[1], Value::text("Pig208"));
        // A service the catalog does not know: kept raw, saying how to map it.
        let Parsed::Kept(reason) = parse("triggered_v3.json", &CatalogView::default()) else {
            panic!("an unmapped service is not stored")
        };
        assert!(
            reason.contains("pagerduty.com/service-id: PA2P440"),
            "{reason}"
        );
    }

    #[test]
    fn other_events_are_kept_and_priorities_become_severities() {
        let parsed = {
            let receiver = PagerdutyWebhook::new(&PagerdutyConfig::default());
            let body = fixture("pagerduty-go-pagerduty/webhookv3_test.defaultBody.json");
            let delivery = receiver.identify(&HeaderMap::new(), &body).unwrap();
            assert_eq!(delivery.event, "incident.priority_updated");
            let pseudonymizer = Pseudonymizer::new(b"k");
            let catalog = CatalogView::default();
            receiver
                .parse(
                    &delivery,
                    &body,
                    &WebhookContext {
                        pseudonymizer: &pseudonymizer,
                        catalog: &catalog,
                        ai: crate::ai_attribution::AiAttribution::defaults(),
                    },
                )
                .unwrap()
        };
        let Parsed::Kept(reason) = parsed else {
            panic!("a priority update is kept raw")
        };
        assert!(reason.contains("incident.priority_updated"), "{reason}");
        let incident = serde_json::json!({"priority": {"summary": "P2"}});
        assert_eq!(rows::severity(&incident).as_deref(), Some("sev2"));
        assert_eq!(rows::severity(&serde_json::json!({"priority": null})), None);
        assert_eq!(
            rows::severity(&serde_json::json!({"priority": {"summary": "Urgent"}})),
            None
        );
        let receiver = PagerdutyWebhook::new(&PagerdutyConfig::default());
        assert!(receiver.identify(&HeaderMap::new(), b"{").is_err());
        assert!(receiver
            .verify(&HeaderMap::new(), b"{}")
            .unwrap_err()
            .contains("no webhook secret"));
    }
}

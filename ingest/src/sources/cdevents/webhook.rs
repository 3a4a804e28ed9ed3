//! The CDEvents receiver: a bearer token, then the CloudEvent's id and type
//! from the `ce-*` headers (binary mode) or the envelope (structured mode).

use http::HeaderMap;
use serde_json::Value as Json;

use super::config::CdeventsConfig;
use super::rows;
use crate::sources::json::text;
use crate::sources::webhook::{
    file_safe_id, header, verify_bearer, DeliveryId, Parsed, PayloadError, WebhookContext,
    WebhookReceiver,
};

pub struct CdeventsWebhook {
    token: Option<String>,
}

impl CdeventsWebhook {
    pub fn new(config: &CdeventsConfig) -> CdeventsWebhook {
        CdeventsWebhook {
            token: config.token.clone().filter(|s| !s.is_empty()),
        }
    }
}

/// Structured mode: the body is a CloudEvent whose `data` is the CDEvent.
fn is_structured(headers: &HeaderMap) -> bool {
    header(headers, "content-type")
        .is_some_and(|t| t.trim_start().starts_with("application/cloudevents+json"))
}

impl WebhookReceiver for CdeventsWebhook {
    fn verify(&self, headers: &HeaderMap, _body: &[u8]) -> Result<(), String> {
        verify_bearer(
            headers,
            self.token.as_deref(),
            "cdevents",
            "DEVEX_CDEVENTS__TOKEN",
        )
    }

    fn identify(&self, headers: &HeaderMap, body: &[u8]) -> Result<DeliveryId, String> {
        let (id, event) = if let (Some(id), Some(kind)) =
            (header(headers, "ce-id"), header(headers, "ce-type"))
        {
            (id.to_string(), kind.to_string())
        } else {
            let payload: Json =
                serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
            if is_structured(headers) {
                (
                    text(&payload, "id").map_err(|e| e.0)?,
                    text(&payload, "type").map_err(|e| e.0)?,
                )
            } else {
                // A bare CDEvent: its context names it.
                (
                    text(&payload, "context.id")
                        .map_err(|e| format!("{e} (and no ce-id header)"))?,
                    text(&payload, "context.type")
                        .map_err(|e| format!("{e} (and no ce-type header)"))?,
                )
            }
        };
        let safe = file_safe_id(&id);
        if safe.is_empty() {
            return Err(format!("`{id}` is not an event id"));
        }
        Ok(DeliveryId { id: safe, event })
    }

    fn parse(
        &self,
        delivery: &DeliveryId,
        body: &[u8],
        context: &WebhookContext<'_>,
    ) -> Result<Parsed, PayloadError> {
        // Parsing needs the headers' mode; `identify` already read them, and
        // a structured body is recognised by its envelope too.
        let payload: Json =
            serde_json::from_slice(body).map_err(|e| PayloadError(format!("not JSON: {e}")))?;
        let event = if payload.get("context").is_none() && payload["data"].is_object() {
            payload["data"].clone()
        } else {
            payload
        };
        rows::parse(&delivery.event, &event, context)
    }

    fn keeps_header(&self, name: &str) -> bool {
        name.starts_with("ce-") || name == "user-agent" || name == "content-type"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Pseudonymizer;
    use crate::rows::Value;
    use crate::sources::CatalogView;

    fn fixture(name: &str) -> Vec<u8> {
        crate::sources::fixtures::bytes(&format!("cdevents-spec-v0.5.1/{name}"))
    }

    fn receiver() -> CdeventsWebhook {
        CdeventsWebhook::new(&CdeventsConfig {
            token: Some("t0ken".into()),
        })
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    }

    fn parse(headers: &HeaderMap, body: &[u8]) -> (DeliveryId, Parsed) {
        let receiver = receiver();
        let delivery = receiver.identify(headers, body).unwrap();
        let pseudonymizer = Pseudonymizer::new(b"k");
        let catalog = CatalogView {
            services: ["mySubject123".to_string(), "myapp".to_string()].into(),
            ..CatalogView::default()
        };
        let context = WebhookContext {
            pseudonymizer: &pseudonymizer,
            catalog: &catalog,
            ai: crate::ai_attribution::AiAttribution::defaults(),
        };
        let parsed = receiver.parse(&delivery, body, &context).unwrap();
        (delivery, parsed)
    }

    fn rows(parsed: Parsed) -> Vec<Value> {
        match parsed {
            Parsed::Rows(mut rows) => rows.remove(0).1,
            Parsed::Kept(reason) => panic!("kept: {reason}"),
        }
    }

    fn micros(t: &str) -> Value {
        Value::Timestamp(
            chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .timestamp_micros(),
        )
    }

    #[test]
    fn the_bearer_token_is_required() {
        let receiver = receiver();
        assert!(receiver
            .verify(&headers(&[("authorization", "Bearer t0ken")]), b"")
            .is_ok());
        assert!(receiver
            .verify(&headers(&[("authorization", "Bearer t0kem")]), b"")
            .is_err());
        assert!(receiver.verify(&HeaderMap::new(), b"").is_err());
        let unset = CdeventsWebhook::new(&CdeventsConfig::default());
        assert!(unset
            .verify(&headers(&[("authorization", "Bearer ")]), b"")
            .unwrap_err()
            .contains("DEVEX_CDEVENTS__TOKEN"));
    }

    #[test]
    fn deployments_in_binary_structured_and_bare_form_are_one_row() {
        let body = fixture("conformance/service_deployed.json");
        let expected = vec![
            Value::text("cdevents:271069a8-fc18-44f1-b38f-9d70a1695819"),
            Value::text("mySubject123"),
            Value::text("test123"),
            // The artifact's digest, percent-decoded, stands for the commit.
            Value::text("sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427"),
            Value::text("271069a8-fc18-44f1-b38f-9d70a1695819"),
            Value::text("success"),
            micros("2023-03-20T14:27:05.315384Z"),
            micros("2023-03-20T14:27:05.315384Z"),
            Value::text("cdevents"),
        ];
        // Bare: the CDEvent's context names it.
        let (delivery, parsed) = parse(&HeaderMap::new(), &body);
        assert_eq!(delivery.event, "dev.cdevents.service.deployed.0.3.0");
        assert_eq!(rows(parsed), expected);
        // Binary mode: ce-* headers (the binding example's), the CDEvent as body.
        let example: Json = serde_json::from_slice(&fixture(
            "cloudevents-binding.binary-mode-example.headers.json",
        ))
        .unwrap();
        let mut binary: Vec<(&str, &str)> = example["headers"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| name.starts_with("ce-"))
            .map(|(name, value)| (name.as_str(), value.as_str().unwrap()))
            .collect();
        binary.retain(|(name, _)| *name != "ce-type" && *name != "ce-id");
        binary.push(("ce-type", "dev.cdevents.service.deployed.0.3.0"));
        binary.push(("ce-id", "271069a8-fc18-44f1-b38f-9d70a1695819"));
        let (delivery, parsed) = parse(&headers(&binary), &body);
        assert_eq!(delivery.id, "271069a8-fc18-44f1-b38f-9d70a1695819");
        assert_eq!(rows(parsed), expected);
        // Structured mode: a CloudEvent envelope with the CDEvent in `data`.
        let envelope = serde_json::json!({
            "specversion": "1.0",
            "id": "271069a8-fc18-44f1-b38f-9d70a1695819",
            "source": "/event/source/123",
            "type": "dev.cdevents.service.deployed.0.3.0",
            "datacontenttype": "application/json",
            "data": serde_json::from_slice::<Json>(&body).unwrap(),
        });
        let structured = headers(&[("content-type", "application/cloudevents+json")]);
        let (_, parsed) = parse(&structured, envelope.to_string().as_bytes());
        assert_eq!(rows(parsed), expected);
    }

    #[test]
    fn commits_come_from_custom_data_or_the_purl() {
        let event = serde_json::json!({"customData": {"sha": "abc123"}});
        assert_eq!(
            rows::artifact_commit(&event, Some("pkg:oci/x@sha256%3A00")).as_deref(),
            Some("abc123")
        );
        let none = serde_json::json!({});
        assert_eq!(
            rows::artifact_commit(
                &none,
                Some("pkg:oci/app@sha256%3A00?vcs_url=git%2Bhttps%3A%2F%2Fgithub.com%2Facme%2Fapp%40e1f2a3")
            )
            .as_deref(),
            Some("e1f2a3")
        );
        assert_eq!(rows::artifact_commit(&none, None), None);
    }

    #[test]
    fn runs_tasks_changes_incidents_and_rollbacks() {
        let (_, parsed) = parse(
            &HeaderMap::new(),
            &fixture("conformance/pipelinerun_finished.json"),
        );
        let run = rows(parsed);
        assert_eq!(
            (&run[2], &run[3], &run[11]),
            (
                &Value::text("myPipeline"),
                &Value::text("mySubject123"),
                &Value::text("failure")
            )
        );
        let (_, parsed) = parse(
            &HeaderMap::new(),
            &fixture("conformance/taskrun_finished.json"),
        );
        let job = rows(parsed);
        assert_eq!(
            (&job[5], &job[6], &job[10]),
            (
                &Value::text("myTask"),
                &Value::text("completed"),
                &Value::text("failure")
            )
        );
        let (_, parsed) = parse(
            &HeaderMap::new(),
            &fixture("conformance/change_merged.json"),
        );
        let change = rows(parsed);
        assert_eq!(change[1], Value::text("TestRepo/TestOrg"));
        assert_eq!(change[8], micros("2023-03-20T14:27:05.315384Z"));
        let (_, parsed) = parse(
            &HeaderMap::new(),
            &fixture("conformance/incident_detected.json"),
        );
        let incident = rows(parsed);
        // `myApp` is the catalog's `myapp`; the artifact names the commit.
        assert_eq!(
            (&incident[1], &incident[2]),
            (&Value::text("myapp"), &Value::text("incident-123"))
        );
        assert_eq!(incident[6], Value::Null);
        assert!(matches!(&incident[8], Value::Text(sha) if sha.starts_with("sha256:")));
        let (_, parsed) = parse(
            &HeaderMap::new(),
            &fixture("conformance/incident_resolved.json"),
        );
        assert_eq!(rows(parsed)[6], micros("2022-11-11T13:52:20.079Z"));
        let (_, parsed) = parse(
            &HeaderMap::new(),
            &fixture("conformance/service_rolledback.json"),
        );
        assert_eq!(
            rows(parsed)[0].clone(),
            Value::text("cdevents:271069a8-fc18-44f1-b38f-9d70a1695819")
        );
        // Not mapped: kept raw with the reason.
        let (_, parsed) = parse(
            &HeaderMap::new(),
            &fixture("conformance/artifact_published.json"),
        );
        assert!(matches!(parsed, Parsed::Kept(reason) if reason.contains("artifact.published")));
    }
}

//! The Argo CD receiver: a bearer token, then the body of
//! [`super::template`], checked field by field.

use std::collections::BTreeMap;

use http::HeaderMap;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::config::ArgocdConfig;
use super::template::BODY_VERSION;
use crate::canonical::{Deployment, Micros};
use crate::sources::catalog::annotation::ARGOCD_APP_NAME;
use crate::sources::json::{optional_text, time};
use crate::sources::webhook::{
    verify_bearer, DeliveryId, Parsed, PayloadError, WebhookContext, WebhookReceiver,
};

pub struct ArgocdWebhook {
    token: Option<String>,
    environments: BTreeMap<String, String>,
}

impl ArgocdWebhook {
    pub fn new(config: &ArgocdConfig) -> ArgocdWebhook {
        ArgocdWebhook {
            token: config.token.clone().filter(|s| !s.is_empty()),
            environments: config.environments.clone(),
        }
    }

    /// The environment of a destination: configured by namespace, cluster
    /// name or cluster URL, else the app's label.
    fn environment(&self, body: &Json) -> Option<String> {
        [
            "destination.namespace",
            "destination.name",
            "destination.server",
        ]
        .iter()
        .filter_map(|path| optional_text(body, path))
        .find_map(|key| self.environments.get(&key).cloned())
        .or_else(|| optional_text(body, "environment"))
    }
}

/// The body, or an error saying it is not the template's.
fn template_body(body: &[u8]) -> Result<Json, String> {
    let value: Json = serde_json::from_slice(body).map_err(|e| {
        format!("not JSON ({e}); set up the notification with `devex argocd template`")
    })?;
    if value["version"].as_str() != Some(BODY_VERSION) {
        return Err(format!(
            "`version` is not `{BODY_VERSION}`: this is not the body of `devex argocd template`; print it again and update argocd-notifications-cm"
        ));
    }
    Ok(value)
}

fn required(body: &Json, field: &str) -> Result<String, PayloadError> {
    optional_text(body, field).ok_or_else(|| {
        PayloadError(format!(
            "`{field}` is missing or empty (the app has no finished sync operation yet?); the body must be the one `devex argocd template` prints"
        ))
    })
}

impl WebhookReceiver for ArgocdWebhook {
    fn verify(&self, headers: &HeaderMap, _body: &[u8]) -> Result<(), String> {
        // The token also goes in argocd-notifications-secret as devex-token.
        verify_bearer(
            headers,
            self.token.as_deref(),
            "argocd",
            "DEVEX_ARGOCD__TOKEN",
        )
    }

    /// Argo CD sends no delivery id: a notification is named by its app,
    /// revision, operation start, phase and health, which a resend repeats.
    fn identify(&self, _headers: &HeaderMap, body: &[u8]) -> Result<DeliveryId, String> {
        let value = template_body(body)?;
        let key: Vec<String> = ["app", "revision", "startedAt", "phase", "health"]
            .iter()
            .map(|field| optional_text(&value, field).unwrap_or_default())
            .collect();
        let digest = hex::encode(&Sha256::digest(key.join("\n").as_bytes())[..12]);
        Ok(DeliveryId {
            id: format!("argocd-{digest}"),
            event: format!(
                "sync {} / {}",
                optional_text(&value, "phase").unwrap_or_default(),
                optional_text(&value, "health").unwrap_or_default()
            ),
        })
    }

    fn parse(
        &self,
        _delivery: &DeliveryId,
        body: &[u8],
        context: &WebhookContext<'_>,
    ) -> Result<Parsed, PayloadError> {
        let body = template_body(body).map_err(PayloadError)?;
        let app = required(&body, "app")?;
        let phase = required(&body, "phase")?;
        let health = optional_text(&body, "health").unwrap_or_default();
        let status = match (phase.as_str(), health.as_str()) {
            ("Failed" | "Error", _) | (_, "Degraded") => "failure",
            ("Succeeded", "Healthy") => "success",
            _ => {
                return Ok(Parsed::Kept(format!(
                    "sync {phase}, health {health}: not finished yet; devex takes a sync that succeeded and became Healthy, failed, or degraded"
                )))
            }
        };
        let Some(service) = context
            .catalog
            .service_by(ARGOCD_APP_NAME, &app, Some(&app))
        else {
            return Ok(Parsed::Kept(format!(
                "Argo CD app `{app}` is no devex service; annotate its catalog component with `{ARGOCD_APP_NAME}: {app}`"
            )));
        };
        let Some(environment) = self.environment(&body) else {
            return Ok(Parsed::Kept(format!(
                "Argo CD app `{app}` has no environment: map its destination in [argocd] environments, or label the app devex.io/environment"
            )));
        };
        let revision = required(&body, "revision")?;
        let started_at = time(&body, "startedAt")?;
        let finished_at = match optional_text(&body, "finishedAt") {
            Some(_) => Some(time(&body, "finishedAt")?),
            None => None,
        };
        let deployment_id = format!("{app}@{started_at}");
        Ok(Parsed::Rows(vec![Deployment {
            event_id: format!("argocd:{deployment_id}:{status}"),
            service,
            environment,
            sha: revision,
            deployment_id,
            status: status.into(),
            started_at: Micros(started_at),
            finished_at: finished_at.map(Micros),
            source: "argocd".into(),
        }
        .into()]))
    }

    fn keeps_header(&self, name: &str) -> bool {
        name == "user-agent" || name == "content-type"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Pseudonymizer;
    use crate::rows::Value;
    use crate::sources::CatalogView;

    fn body(phase: &str, health: &str) -> Vec<u8> {
        serde_json::json!({
            "version": BODY_VERSION,
            "app": "checkout-prod",
            "project": "default",
            "revision": "a1b2c3d4",
            "phase": phase,
            "startedAt": "2026-10-05T09:00:00Z",
            "finishedAt": "2026-10-05T09:03:30Z",
            "health": health,
            "destination": {"server": "https://kubernetes.default.svc", "name": "", "namespace": "shop-prod"},
            "environment": ""
        })
        .to_string()
        .into_bytes()
    }

    fn parse(receiver: &ArgocdWebhook, body: &[u8], catalog: &CatalogView) -> Parsed {
        let delivery = receiver.identify(&HeaderMap::new(), body).unwrap();
        let pseudonymizer = Pseudonymizer::new(b"k");
        receiver
            .parse(
                &delivery,
                body,
                &WebhookContext {
                    pseudonymizer: &pseudonymizer,
                    catalog,
                    ai: crate::ai_attribution::AiAttribution::defaults(),
                },
            )
            .unwrap()
    }

    fn receiver() -> ArgocdWebhook {
        ArgocdWebhook::new(&ArgocdConfig {
            token: Some("argo".into()),
            environments: [("shop-prod".to_string(), "production".to_string())].into(),
        })
    }

    fn catalog() -> CatalogView {
        CatalogView {
            services: ["checkout".to_string()].into(),
            annotations: [(
                (ARGOCD_APP_NAME.to_string(), "checkout-prod".to_string()),
                "checkout".to_string(),
            )]
            .into(),
            ..CatalogView::default()
        }
    }

    #[test]
    fn healthy_syncs_succeed_and_failed_or_degraded_ones_fail() {
        let micros = |t: &str| {
            chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .timestamp_micros()
        };
        let Parsed::Rows(rows) = parse(&receiver(), &body("Succeeded", "Healthy"), &catalog())
        else {
            panic!("a healthy sync is a deployment")
        };
        let start = micros("2026-10-05T09:00:00Z");
        assert_eq!(
            rows[0].1,
            vec![
                Value::text(format!("argocd:checkout-prod@{start}:success")),
                Value::text("checkout"),
                Value::text("production"),
                Value::text("a1b2c3d4"),
                Value::text(format!("checkout-prod@{start}")),
                Value::text("success"),
                Value::Timestamp(start),
                Value::Timestamp(micros("2026-10-05T09:03:30Z")),
                Value::text("argocd"),
            ]
        );
        for (phase, health) in [
            ("Failed", "Healthy"),
            ("Error", "Missing"),
            ("Succeeded", "Degraded"),
        ] {
            let Parsed::Rows(rows) = parse(&receiver(), &body(phase, health), &catalog()) else {
                panic!("{phase}/{health}")
            };
            assert_eq!(rows[0].1[5], Value::text("failure"), "{phase}/{health}");
        }
        let Parsed::Kept(reason) = parse(&receiver(), &body("Running", "Progressing"), &catalog())
        else {
            panic!("a running sync is not a deployment yet")
        };
        assert!(reason.contains("not finished"), "{reason}");
    }

    #[test]
    fn unknown_apps_environments_and_bodies_say_what_to_do() {
        let Parsed::Kept(reason) = parse(
            &receiver(),
            &body("Succeeded", "Healthy"),
            &CatalogView::default(),
        ) else {
            panic!()
        };
        assert!(
            reason.contains("argocd/app-name: checkout-prod"),
            "{reason}"
        );
        let unmapped = ArgocdWebhook::new(&ArgocdConfig::default());
        let Parsed::Kept(reason) = parse(&unmapped, &body("Succeeded", "Healthy"), &catalog())
        else {
            panic!()
        };
        assert!(reason.contains("[argocd] environments"), "{reason}");
        // The app's label gives the environment when nothing is configured.
        let mut labelled: Json = serde_json::from_slice(&body("Succeeded", "Healthy")).unwrap();
        labelled["environment"] = "staging".into();
        let Parsed::Rows(rows) = parse(&unmapped, labelled.to_string().as_bytes(), &catalog())
        else {
            panic!()
        };
        assert_eq!(rows[0].1[2], Value::text("staging"));
        // Anything but the template's body is refused, saying so.
        let err = unmapped
            .identify(&HeaderMap::new(), br#"{"state": "success"}"#)
            .unwrap_err();
        assert!(err.contains("devex argocd template"), "{err}");
        // A resend is the same delivery; another phase is another.
        let a = unmapped
            .identify(&HeaderMap::new(), &body("Succeeded", "Healthy"))
            .unwrap();
        let b = unmapped
            .identify(&HeaderMap::new(), &body("Succeeded", "Healthy"))
            .unwrap();
        let c = unmapped
            .identify(&HeaderMap::new(), &body("Succeeded", "Degraded"))
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a.id, c.id);
        assert!(receiver().verify(&HeaderMap::new(), b"").is_err());
    }
}

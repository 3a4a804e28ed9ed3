//! The GitHub webhook receiver: `X-Hub-Signature-256` (HMAC-SHA256 of the
//! raw body under the configured secret, compared in constant time),
//! `X-GitHub-Delivery` and `X-GitHub-Event`, and [`super::rows::parse`].

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

use super::config::GithubConfig;
use super::rows::{parse, Context};
use crate::sources::webhook::{
    file_safe_id, header, DeliveryId, Parsed, PayloadError, WebhookContext, WebhookReceiver,
};

pub struct GithubWebhook {
    secret: Option<String>,
    incident_label: String,
}

impl GithubWebhook {
    pub fn new(config: &GithubConfig) -> GithubWebhook {
        GithubWebhook {
            secret: config.webhook_secret.clone().filter(|s| !s.is_empty()),
            incident_label: config.incident_label.clone(),
        }
    }
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC of `body` under `secret`.
pub fn verify_signature(secret: &[u8], body: &[u8], signature: Option<&str>) -> bool {
    let Some(hex_digest) = signature.and_then(|s| s.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

impl WebhookReceiver for GithubWebhook {
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
        let Some(secret) = &self.secret else {
            return Err("no webhook secret is configured; set github.webhook_secret or DEVEX_GITHUB_WEBHOOK_SECRET".into());
        };
        if verify_signature(
            secret.as_bytes(),
            body,
            header(headers, "x-hub-signature-256"),
        ) {
            Ok(())
        } else {
            Err("X-Hub-Signature-256 is missing or does not match the configured secret".into())
        }
    }

    fn identify(&self, headers: &HeaderMap, _body: &[u8]) -> Result<DeliveryId, String> {
        let event = header(headers, "x-github-event")
            .ok_or("X-GitHub-Event header is missing")?
            .to_string();
        let delivery =
            header(headers, "x-github-delivery").ok_or("X-GitHub-Delivery header is missing")?;
        // Delivery ids are GUIDs; anything else cannot become a path.
        let id = file_safe_id(delivery);
        if id.is_empty() {
            return Err("X-GitHub-Delivery is not a delivery id".into());
        }
        Ok(DeliveryId { id, event })
    }

    fn parse(
        &self,
        delivery: &DeliveryId,
        body: &[u8],
        context: &WebhookContext<'_>,
    ) -> Result<Parsed, PayloadError> {
        let payload: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| PayloadError(format!("not JSON: {e}")))?;
        let context = Context {
            pseudonymizer: context.pseudonymizer,
            services: &context.catalog.repository_services,
            incident_label: &self.incident_label,
            ai: context.ai,
        };
        let rows = parse(&delivery.event, &payload, &context)?;
        Ok(Parsed::rows_or(rows, || {
            format!(
                "GitHub `{}` events map to no rows (or this one is not an incident, a terminal deployment status, ...)",
                delivery.event
            )
        }))
    }

    fn keeps_header(&self, name: &str) -> bool {
        (name.starts_with("x-github-") || name == "user-agent" || name == "content-type")
            && name != "x-hub-signature-256"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_test_vector_verifies() {
        // github/docs, "Validating webhook deliveries" (CC-BY-4.0).
        let secret = b"It's a Secret to Everybody";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify_signature(secret, b"Hello, World!", Some(good)));
        assert!(!verify_signature(secret, b"Hello, World?", Some(good)));
        assert!(!verify_signature(b"other", b"Hello, World!", Some(good)));
        assert!(!verify_signature(secret, b"Hello, World!", None));
        assert!(!verify_signature(
            secret,
            b"Hello, World!",
            Some("sha1=abc")
        ));
    }
}

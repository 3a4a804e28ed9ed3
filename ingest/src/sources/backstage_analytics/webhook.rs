//! The Backstage analytics receiver: a bearer token; the delivery named by
//! its `x-request-id` (or `idempotency-key`) header, else by its content, so
//! a redelivery stores nothing new.

use http::HeaderMap;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::config::BackstageAnalyticsConfig;
use super::events::{event_row, events_of, Lookup, Mapped};
use crate::sources::webhook::{
    file_safe_id, header, verify_bearer, DeliveryId, Parsed, PayloadError, WebhookContext,
    WebhookReceiver,
};

/// At most this many events per delivery.
pub const MAX_EVENTS: usize = 10_000;

pub struct BackstageAnalyticsWebhook {
    config: BackstageAnalyticsConfig,
}

impl BackstageAnalyticsWebhook {
    pub fn new(config: BackstageAnalyticsConfig) -> BackstageAnalyticsWebhook {
        BackstageAnalyticsWebhook { config }
    }
}

impl WebhookReceiver for BackstageAnalyticsWebhook {
    fn verify(&self, headers: &HeaderMap, _body: &[u8]) -> Result<(), String> {
        verify_bearer(
            headers,
            self.config.token.as_deref().filter(|t| !t.is_empty()),
            "backstage-analytics",
            "BACKSTAGE_ANALYTICS_TOKEN",
        )
    }

    fn identify(&self, headers: &HeaderMap, body: &[u8]) -> Result<DeliveryId, String> {
        let named = ["x-request-id", "idempotency-key"]
            .iter()
            .find_map(|h| header(headers, h))
            .map(file_safe_id)
            .filter(|id| !id.is_empty());
        let id = named.unwrap_or_else(|| hex::encode(&Sha256::digest(body)[..12]));
        Ok(DeliveryId {
            id,
            event: "analytics".into(),
        })
    }

    fn parse(
        &self,
        delivery: &DeliveryId,
        body: &[u8],
        context: &WebhookContext<'_>,
    ) -> Result<Parsed, PayloadError> {
        let payload: Json =
            serde_json::from_slice(body).map_err(|e| PayloadError(format!("not JSON: {e}")))?;
        let events = events_of(&payload).map_err(PayloadError)?;
        if events.len() > MAX_EVENTS {
            return Err(PayloadError(format!(
                "{} events in one delivery; send at most {MAX_EVENTS}",
                events.len()
            )));
        }
        let received_at = chrono::Utc::now().timestamp_micros();
        let developer_of = |alias: &str| context.catalog.backstage_users.get(alias).cloned();
        let team_of = |user: &str| context.catalog.developer_teams.get(user).cloned();
        let lookup = Lookup {
            pseudonymizer: context.pseudonymizer,
            developer_of: &developer_of,
            team_of: &team_of,
        };
        let mut rows = Vec::with_capacity(events.len());
        let mut skipped = 0;
        for (index, event) in events.iter().enumerate() {
            match event_row(
                event,
                index,
                &delivery.id,
                received_at,
                &self.config.mapping,
                &lookup,
            )
            .map_err(PayloadError)?
            {
                Mapped::Row(row) => rows.push(row),
                Mapped::Skipped => skipped += 1,
            }
        }
        Ok(Parsed::rows_or(rows, || {
            format!("all {skipped} events were skipped by the [backstage-analytics] mapping")
        }))
    }

    fn keeps_header(&self, name: &str) -> bool {
        matches!(
            name,
            "content-type" | "user-agent" | "x-request-id" | "idempotency-key"
        )
    }
}

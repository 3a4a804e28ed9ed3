//! Rate limits on the API and the portal (tower_governor): per token, or per
//! peer address for requests without one. A limited request gets 429 with
//! `Retry-After`. Webhooks, `/healthz` and `/metrics` are not limited: a
//! tool that is refused a delivery may not send it again.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{header, Request};
use axum::response::IntoResponse;
use sha2::{Digest, Sha256};
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use super::AuthSettings;
use crate::error::Error;

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// A bearer token, by a digest (its role does not matter here).
    Token([u8; 16]),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
pub struct TokenOrAddress;

impl KeyExtractor for TokenOrAddress {
    type Key = RateKey;

    fn extract<T>(&self, request: &Request<T>) -> Result<RateKey, GovernorError> {
        if let Some(token) = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            let digest = Sha256::digest(token.trim().as_bytes());
            let mut key = [0u8; 16];
            key.copy_from_slice(&digest[..16]);
            return Ok(RateKey::Token(key));
        }
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| RateKey::Address(c.0.ip()))
            // In-process calls (tests of the router) have no peer.
            .or(Some(RateKey::Address(IpAddr::from([127, 0, 0, 1]))))
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// The rate-limiting layer's type.
pub type RateLimitLayer = GovernorLayer<
    TokenOrAddress,
    governor::middleware::NoOpMiddleware<governor::clock::QuantaInstant>,
    axum::body::Body,
>;

/// The layer for `settings`.
pub fn layer(settings: &AuthSettings) -> RateLimitLayer {
    let per_second = u64::from(settings.requests_per_second.max(1));
    let config = GovernorConfigBuilder::default()
        .per_nanosecond(1_000_000_000 / per_second)
        .burst_size(settings.burst.max(1))
        .key_extractor(TokenOrAddress)
        .finish()
        .unwrap_or_else(|| unreachable!("the period and the burst are positive"));
    // Forget keys idle long enough to be full again, so a stream of new
    // addresses does not grow the table for ever.
    let limiter = config.limiter().clone();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                limiter.retain_recent();
            }
        });
    }
    GovernorLayer::new(config).error_handler(|error| {
        let (wait, headers) = match error {
            GovernorError::TooManyRequests { wait_time, headers } => (wait_time, headers),
            _ => (1, None),
        };
        // Whole seconds, rounded up: "0" would invite an immediate retry.
        let wait = wait.max(1);
        let mut response = Error::RateLimited(format!(
            "too many requests from this token or address; wait {wait} s (Retry-After), or raise [auth] requests_per_second"
        ))
        .into_response();
        if let Some(headers) = headers {
            response.headers_mut().extend(headers);
        }
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        response
    })
}

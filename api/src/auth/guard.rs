//! The middleware in front of every route: the `Host` allowlist, then the
//! role the route needs, checked against the bearer token presented.
//!
//! Until the lake holds a token, the server runs without auth: on loopback
//! only (`devex serve` refuses an open bind), or anywhere with an explicit
//! `--insecure-no-auth`. Once a token exists, every route but `/healthz`
//! and the webhooks (which check their own signatures) needs one.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ingest::group_commit::GroupCommit;
use ingest::lake::Lake;

use super::tokens::{find, TokenRecord, TokenStore};
use super::{AuthSettings, Role};
use crate::error::Error;

/// Who made a request, as handlers (and the audit log) see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name; `anonymous` when the server runs without auth.
    pub name: String,
    pub role: Role,
}

/// Why a request is refused, and who asked (a known token's name, else
/// `anonymous`).
pub struct Refusal {
    error: Error,
    actor: String,
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    Role(Role),
}

/// The role a request needs: the single table of the server's rules.
pub fn needs(method: &Method, path: &str, settings: &AuthSettings) -> Needs {
    if path == "/healthz" || path.starts_with("/webhooks/") {
        return Needs::Nothing;
    }
    if path == "/metrics" && settings.public_metrics {
        return Needs::Nothing;
    }
    if path.starts_with("/api/v1/events/") && method == Method::POST {
        return Needs::Role(Role::Ingest);
    }
    if path == "/api/v1/audit" || path.starts_with("/api/v1/query") {
        return Needs::Role(Role::Admin);
    }
    Needs::Role(Role::Viewer)
}

/// Whether a path reads survey results (a wave's, or two compared).
fn is_survey_view(path: &str) -> bool {
    path == "/api/v1/surveys/compare"
        || (path.starts_with("/api/v1/surveys/") && path.ends_with("/results"))
}

/// How the server was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Bound to loopback.
    Loopback,
    /// Bound elsewhere; without tokens only with `--insecure-no-auth`.
    Open { insecure_no_auth: bool },
}

/// The token file's modification time when read, and its tokens.
type KeptTokens = (Option<SystemTime>, Arc<Vec<TokenRecord>>);

/// The guard's state: the lake's tokens (re-read when the file changes, so
/// `devex token create` and `revoke` apply to a running server), the Host
/// allowlist and the settings.
#[derive(Clone)]
pub struct Guard {
    store: Arc<TokenStore>,
    cache: Arc<Mutex<KeptTokens>>,
    hosts: Option<Vec<String>>,
    settings: AuthSettings,
    exposure: Exposure,
    /// Where refusals are recorded (the audit log, through the group commit).
    audit: Option<GroupCommit>,
}

impl Guard {
    pub fn new(
        lake: &Lake,
        settings: &AuthSettings,
        bound: SocketAddr,
        exposure: Exposure,
    ) -> Guard {
        // The bound address and localhost, and the configured names; none to
        // check when bound to every address and nothing is configured.
        let hosts = if bound.ip().is_unspecified() && settings.allowed_hosts.is_empty() {
            None
        } else {
            let port = bound.port();
            let mut hosts = vec![
                bound.to_string(),
                format!("localhost:{port}"),
                "localhost".to_string(),
                bound.ip().to_string(),
            ];
            hosts.extend(settings.allowed_hosts.iter().map(|h| h.to_lowercase()));
            Some(hosts)
        };
        Guard {
            store: Arc::new(TokenStore::new(lake)),
            cache: Arc::new(Mutex::new((None, Arc::new(Vec::new())))),
            hosts,
            settings: settings.clone(),
            exposure,
            audit: None,
        }
    }

    /// Records refused requests in the audit log through `committer`.
    pub fn with_audit(mut self, committer: GroupCommit) -> Guard {
        self.audit = Some(committer);
        self
    }

    /// The audit entry of a refused request (`None` without an audit log).
    fn refusal(
        &self,
        request: &Request,
        actor: &str,
        outcome: &str,
    ) -> Option<ingest::canonical::Row> {
        self.audit.as_ref()?;
        let origin = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        // The path only: a query string is the caller's text, not ours to keep.
        let target = format!("{} {}", request.method(), request.uri().path());
        Some(ingest::audit::entry(
            actor,
            "http.refused",
            Some(&target),
            origin.as_deref(),
            outcome,
        ))
    }

    /// The audit entry of a survey results view.
    fn view(&self, request: &Request, caller: Option<&Caller>) -> Option<ingest::canonical::Row> {
        self.audit.as_ref()?;
        let origin = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        // Survey filters (wave, team, grouping) are not secrets: kept whole.
        let target = request
            .uri()
            .path_and_query()
            .map_or_else(|| request.uri().path().to_string(), |p| p.to_string());
        Some(ingest::audit::entry(
            caller.map_or("anonymous", |c| c.name.as_str()),
            "survey.view",
            Some(&target),
            origin.as_deref(),
            // Recorded as it is let through, before the answer.
            "allowed",
        ))
    }

    /// Appends an entry to the audit log; a failure to record is logged,
    /// never turned into another answer.
    async fn record(&self, entry: Option<ingest::canonical::Row>) {
        let (Some(committer), Some(entry)) = (&self.audit, entry) else {
            return;
        };
        let written = match ingest::sources::batches(vec![entry]) {
            Ok(batches) => committer.commit(batches).await.map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, "A request could not be written to the audit log.");
        }
    }

    /// The kept tokens, re-read when the file changed.
    fn tokens(&self) -> Result<Arc<Vec<TokenRecord>>, Error> {
        let modified = std::fs::metadata(self.store.path())
            .and_then(|m| m.modified())
            .ok();
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| Error::Internal("token cache poisoned".into()))?;
        if cache.0 != modified || modified.is_none() && !cache.1.is_empty() {
            *cache = (modified, Arc::new(self.store.load()?));
        }
        Ok(cache.1.clone())
    }

    /// Whether requests need a token: once the lake holds any.
    pub fn auth_required(&self) -> Result<bool, Error> {
        Ok(!self.tokens()?.is_empty())
    }

    /// Whether the portal should warn that it runs open to the network.
    pub fn insecure(&self) -> bool {
        matches!(
            self.exposure,
            Exposure::Open {
                insecure_no_auth: true
            }
        ) && !self.auth_required().unwrap_or(true)
    }

    fn host_allowed(&self, request: &Request) -> bool {
        let Some(hosts) = &self.hosts else {
            return true;
        };
        let Some(host) = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
        else {
            return false;
        };
        let host = host.trim().to_lowercase();
        let name = host
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host.as_str(), |(name, _)| name);
        hosts
            .iter()
            .any(|allowed| *allowed == host || *allowed == name)
    }

    /// The caller of a request, or why it is refused.
    fn admit(&self, request: &Request) -> Result<Option<Caller>, Box<Refusal>> {
        let refused = |error: Error, actor: &str| {
            Box::new(Refusal {
                error,
                actor: actor.to_string(),
            })
        };
        let anonymous = |e: Error| refused(e, "anonymous");
        let needed = match needs(request.method(), request.uri().path(), &self.settings) {
            Needs::Nothing => return Ok(None),
            Needs::Role(role) => role,
        };
        if !self.auth_required().map_err(anonymous)? {
            return Ok(Some(Caller {
                name: "anonymous".into(),
                role: Role::Admin,
            }));
        }
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(presented) = presented else {
            return Err(anonymous(Error::Unauthorized(
                "this server needs a token: send `Authorization: Bearer <token>` (devex token create --name NAME --role viewer makes one)".into(),
            )));
        };
        let tokens = self.tokens().map_err(anonymous)?;
        let now = Utc::now();
        let Some(record) = find(&tokens, presented) else {
            return Err(anonymous(Error::Unauthorized(
                "the token is unknown, expired or revoked; ask an admin for a new one (devex token list shows them)".into(),
            )));
        };
        if !record.active(now) {
            return Err(refused(
                Error::Unauthorized(format!(
                    "token `{}` is {}; ask an admin for a new one (devex token list shows them)",
                    record.name,
                    record.state(now)
                )),
                &record.name,
            ));
        }
        if !record.role.allows(needed) {
            return Err(refused(
                Error::Forbidden(format!(
                    "token `{}` has the role {}; this needs {}",
                    record.name,
                    record.role.name(),
                    needed.name()
                )),
                &record.name,
            ));
        }
        Ok(Some(Caller {
            name: record.name.clone(),
            role: record.role,
        }))
    }
}

/// The middleware: refuses a foreign Host, then a request its caller may
/// not make; otherwise hands the caller to the handlers.
pub async fn guard(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    if !guard.host_allowed(&request) {
        let entry = guard.refusal(&request, "anonymous", "403 host not allowed");
        guard.record(entry).await;
        return Error::Forbidden(
            "this Host is not one devex answers; add it to [auth] allowed_hosts".into(),
        )
        .into_response();
    }
    match guard.admit(&request) {
        Ok(caller) => {
            // Survey results are read close to the anonymity threshold:
            // every view is on record, with its filters.
            if is_survey_view(request.uri().path()) {
                let entry = guard.view(&request, caller.as_ref());
                guard.record(entry).await;
            }
            if let Some(caller) = caller {
                request.extensions_mut().insert(caller);
            }
            let response = next.run(request).await;
            if guard.insecure() {
                with_banner(response).await
            } else {
                response
            }
        }
        Err(refusal) => {
            let Refusal { error, actor } = *refusal;
            let unauthorized = matches!(error, Error::Unauthorized(_));
            let (status, code) = error.status_and_code();
            let entry = guard.refusal(&request, &actor, &format!("{} {code}", status.as_u16()));
            guard.record(entry).await;
            let mut response = error.into_response();
            if unauthorized {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"devex\""),
                );
            }
            response
        }
    }
}

/// A portal page with a warning that the server runs open to the network.
async fn with_banner(response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::http::MAX_BODY_BYTES).await else {
        return Error::Internal("cannot read a page to mark it".into()).into_response();
    };
    let page = String::from_utf8_lossy(&bytes).replacen(
        "<body>",
        r#"<body><p id="insecure" style="background:#c4452f;color:#fff;padding:.5rem 1rem;border-radius:.3rem">This devex runs without authentication (--insecure-no-auth): whatever can reach it reads everything. Create tokens to protect it.</p>"#,
        1,
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_needs_its_role() {
        let settings = AuthSettings::default();
        let get = |path| needs(&Method::GET, path, &settings);
        assert_eq!(get("/healthz"), Needs::Nothing);
        assert_eq!(
            needs(&Method::POST, "/webhooks/github", &settings),
            Needs::Nothing
        );
        assert_eq!(get("/metrics"), Needs::Role(Role::Viewer));
        assert_eq!(get("/api/v1/dora"), Needs::Role(Role::Viewer));
        assert_eq!(get("/"), Needs::Role(Role::Viewer));
        assert_eq!(
            needs(&Method::POST, "/api/v1/events/usage", &settings),
            Needs::Role(Role::Ingest)
        );
        let public = AuthSettings {
            public_metrics: true,
            ..AuthSettings::default()
        };
        assert_eq!(needs(&Method::GET, "/metrics", &public), Needs::Nothing);
        assert!(Role::Admin.allows(Role::Ingest));
        assert!(!Role::Viewer.allows(Role::Ingest));
        assert!(!Role::Ingest.allows(Role::Viewer));
    }
}

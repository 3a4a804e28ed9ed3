//! The middleware in front of every route: the `Host` allowlist, then the
//! role the route needs, checked against the bearer token presented.
//!
//! Until the lake holds a token (or single sign-on is configured), the
//! server runs without auth: on loopback only (`devex serve` refuses an open
//! bind), or anywhere with an explicit `--insecure-no-auth`. Once a token
//! exists, every route but `/healthz`, the sign-in pages and the webhooks
//! (which check their own signatures) needs a token or a portal session; a
//! browser without one is sent to sign in.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ingest::group_commit::GroupCommit;
use ingest::lake::Lake;

use super::oidc::Oidc;
use super::tokens::{find, TokenRecord, TokenStore};
use super::{AuthSettings, Role};
use crate::error::Error;

/// Who made a request, as handlers (and the audit log) see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name, `oidc:<subject>` for a portal session, or
    /// `anonymous` when the server runs without auth.
    pub name: String,
    pub role: Role,
    /// Signed in to the portal (a session cookie) rather than a token.
    pub session: bool,
}

/// Why a request is refused, and who asked (a known token's name, else
/// `anonymous`).
pub struct Refusal {
    error: Error,
    actor: String,
    /// A browser asking for a page: sent to sign in instead.
    sign_in: bool,
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    Role(Role),
}

/// The role a request needs: the single table of the server's rules.
pub fn needs(method: &Method, path: &str, settings: &AuthSettings) -> Needs {
    if path == "/healthz" || path.starts_with("/webhooks/") || path.starts_with("/auth/") {
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
        // A wave's portal page shows its results.
        || (path.starts_with("/surveys/") && path.len() > "/surveys/".len())
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
/// The token file's version when last read, when it was last checked, and
/// its tokens.
type KeptTokens = (Option<String>, Option<Instant>, Arc<Vec<TokenRecord>>);

/// How often a lake in an object store is asked whether the tokens changed
/// (a request each); a local file is checked on every request.
const REMOTE_TOKEN_CHECK: Duration = Duration::from_secs(1);

/// The guard's state: the lake's tokens (re-read when the file changes, so
/// `devex token create` and `revoke` apply to a running server), the Host
/// allowlist and the settings.
#[derive(Clone)]
pub struct Guard {
    lake: Arc<Lake>,
    cache: Arc<Mutex<KeptTokens>>,
    hosts: Option<Vec<String>>,
    settings: AuthSettings,
    exposure: Exposure,
    /// Where refusals are recorded (the audit log, through the group commit).
    audit: Option<GroupCommit>,
    /// The portal's single sign-on, when configured.
    oidc: Option<Arc<Oidc>>,
}

impl Guard {
    pub fn new(
        lake: &Arc<Lake>,
        settings: &AuthSettings,
        bound: SocketAddr,
        exposure: Exposure,
    ) -> Result<Guard, Error> {
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
        let oidc = settings.oidc.as_ref().map(Oidc::new).transpose()?;
        Ok(Guard {
            lake: lake.clone(),
            cache: Arc::new(Mutex::new((None, None, Arc::new(Vec::new())))),
            hosts,
            settings: settings.clone(),
            exposure,
            audit: None,
            oidc: oidc.map(Arc::new),
        })
    }

    /// The portal's single sign-on, when configured.
    pub fn oidc(&self) -> Option<&Arc<Oidc>> {
        self.oidc.as_ref()
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
        let origin = origin(request.extensions());
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
        let origin = origin(request.extensions());
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

    /// Records a survey view that did not come through a survey path (an
    /// MCP tool call), as the guard records those: who, what, from where.
    pub async fn record_view(&self, actor: Option<&str>, target: &str, origin: Option<&str>) {
        if self.audit.is_some() {
            let entry = ingest::audit::entry(
                actor.unwrap_or("anonymous"),
                "survey.view",
                Some(target),
                origin,
                "allowed",
            );
            self.record(Some(entry)).await;
        }
    }

    /// Records what a handler did (a sign-in, a sign-out) in the audit log.
    pub async fn audit(&self, actor: &str, action: &str, origin: Option<&str>, outcome: &str) {
        if self.audit.is_some() {
            let entry = ingest::audit::entry(actor, action, None, origin, outcome);
            self.record(Some(entry)).await;
        }
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

    /// Re-reads the kept tokens when their file changed (so that `devex
    /// token create` and `revoke` apply to running servers): before every
    /// request for a local lake, at most every [`REMOTE_TOKEN_CHECK`] for a
    /// lake in an object store.
    pub async fn refresh_tokens(&self) -> Result<(), Error> {
        let remote = self.lake.remote_store().is_some();
        {
            let cache = self.lock_cache()?;
            if remote && cache.1.is_some_and(|at| at.elapsed() < REMOTE_TOKEN_CHECK) {
                return Ok(());
            }
        }
        let version = TokenStore::new(&self.lake).version().await?;
        let known = self.lock_cache()?.0.clone();
        let tokens = if version.is_some() && version == known {
            None
        } else {
            Some(Arc::new(TokenStore::new(&self.lake).load().await?))
        };
        let mut cache = self.lock_cache()?;
        cache.1 = Some(Instant::now());
        if let Some(tokens) = tokens {
            cache.0 = version;
            cache.2 = tokens;
        }
        Ok(())
    }

    fn lock_cache(&self) -> Result<std::sync::MutexGuard<'_, KeptTokens>, Error> {
        self.cache
            .lock()
            .map_err(|_| Error::Internal("token cache poisoned".into()))
    }

    /// The kept tokens as last read by [`Guard::refresh_tokens`].
    fn tokens(&self) -> Result<Arc<Vec<TokenRecord>>, Error> {
        Ok(self.lock_cache()?.2.clone())
    }

    /// Whether requests need a token or a session: once the lake holds a
    /// token, or single sign-on is configured.
    pub fn auth_required(&self) -> Result<bool, Error> {
        Ok(self.oidc.is_some() || !self.tokens()?.is_empty())
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

    /// Whether the `Host` is one devex answers. The check stops a
    /// DNS-rebinding page from reading what a browser may read without
    /// credentials. `/healthz`, the webhooks (each checks its own signature
    /// or token) and, once auth is on, requests with a bearer token (checked
    /// next) pass whatever their Host, since probes, scrapers and
    /// in-cluster senders call by address. Without auth a bearer header
    /// proves nothing (a rebinding page can send one), so the check stays.
    fn host_allowed(&self, request: &Request) -> bool {
        let Some(hosts) = &self.hosts else {
            return true;
        };
        let path = request.uri().path();
        if path == "/healthz" || path.starts_with("/webhooks/") {
            return true;
        }
        if request.headers().contains_key(header::AUTHORIZATION)
            && self.auth_required().unwrap_or(false)
        {
            return true;
        }
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
                sign_in: false,
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
                session: false,
            }));
        }
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(presented) = presented else {
            if let Some(oidc) = &self.oidc {
                return self.admit_session(oidc, request, needed);
            }
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
            session: false,
        }))
    }

    /// A request without a token, with single sign-on configured: its
    /// portal session, or a browser sent to sign in, or a 401.
    fn admit_session(
        &self,
        oidc: &Oidc,
        request: &Request,
        needed: Role,
    ) -> Result<Option<Caller>, Box<Refusal>> {
        if let Some(session) = oidc.session(request.headers()) {
            let name = format!("oidc:{}", session.subject);
            if !same_origin_or_safe(request) {
                return Err(Box::new(Refusal {
                    error: Error::Forbidden(
                        "a signed-in browser may change things only from devex's own pages; scripts use a token".into(),
                    ),
                    actor: name,
                    sign_in: false,
                }));
            }
            if !session.role.allows(needed) {
                return Err(Box::new(Refusal {
                    error: Error::Forbidden(format!(
                        "you are signed in as a {}; this needs {}",
                        session.role.name(),
                        needed.name()
                    )),
                    actor: name,
                    sign_in: false,
                }));
            }
            return Ok(Some(Caller {
                name,
                role: session.role,
                session: true,
            }));
        }
        Err(Box::new(Refusal {
            error: Error::Unauthorized(
                "sign in at /auth/login, or send `Authorization: Bearer <token>`".into(),
            ),
            actor: "anonymous".into(),
            sign_in: wants_page(request),
        }))
    }
}

/// Whether a request is a browser asking for a portal page (not the API,
/// not /metrics), which is better sent to sign in than shown a 401.
fn wants_page(request: &Request) -> bool {
    let path = request.uri().path();
    request.method() == Method::GET
        && !path.starts_with("/api/")
        && path != "/metrics"
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// Whether a request carried by a session cookie is a read, or comes from
/// devex's own pages: `SameSite=Lax` keeps other sites' POSTs cookieless,
/// but a sibling subdomain is the same site, so the browser's `Origin` (or
/// `Sec-Fetch-Site`) must name this server.
fn same_origin_or_safe(request: &Request) -> bool {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return true;
    }
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    if let Some(origin) = text(header::ORIGIN) {
        let host = text(header::HOST).unwrap_or_default();
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        return !host.is_empty() && origin_host.eq_ignore_ascii_case(host);
    }
    text(header::HeaderName::from_static("sec-fetch-site"))
        .is_none_or(|site| site == "same-origin" || site == "none")
}

/// The address a request came from, when the server recorded it.
pub fn origin(extensions: &axum::http::Extensions) -> Option<String> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// The middleware: refuses a foreign Host, then a request its caller may
/// not make; otherwise hands the caller to the handlers.
pub async fn guard(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    if let Err(e) = guard.refresh_tokens().await {
        tracing::error!(error = %e, "The kept tokens could not be read.");
        return e.into_response();
    }
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
            let signed_in = caller.as_ref().is_some_and(|c| c.session);
            if let Some(caller) = caller {
                request.extensions_mut().insert(caller);
            }
            let response = next.run(request).await;
            if guard.insecure() {
                into_page(response, "<body>", INSECURE_BANNER).await
            } else if signed_in {
                into_page(response, "</nav>", SIGN_OUT).await
            } else {
                response
            }
        }
        Err(refusal) if refusal.sign_in => {
            // Where to come back to after signing in: this page.
            let here = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let target = format!(
                "/auth/login?next={}",
                url::form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>()
            );
            axum::response::Redirect::to(&target).into_response()
        }
        Err(refusal) => {
            let Refusal { error, actor, .. } = *refusal;
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

/// The warning on every page of a server open to the network.
const INSECURE_BANNER: &str = r#"<body><p id="insecure" style="background:#c4452f;color:#fff;padding:.5rem 1rem;border-radius:.3rem">This devex runs without authentication (--insecure-no-auth): whatever can reach it reads everything. Create tokens to protect it.</p>"#;

/// The sign-out button at the end of a signed-in user's navigation (a form:
/// signing out changes state, so it is a POST).
const SIGN_OUT: &str = r#" · <form method="post" action="/auth/logout" style="display:inline"><button type="submit" style="font:inherit;background:none;border:0;padding:0;color:#2a5bd7;cursor:pointer;text-decoration:underline">Sign out</button></form></nav>"#;

/// A portal page with `insert` in place of the first `marker`; other
/// answers unchanged.
async fn into_page(response: Response, marker: &str, insert: &str) -> Response {
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
    let page = String::from_utf8_lossy(&bytes).replacen(marker, insert, 1);
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
        // MCP reads reports, whatever the method.
        assert_eq!(
            needs(&Method::POST, "/mcp", &settings),
            Needs::Role(Role::Viewer)
        );
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

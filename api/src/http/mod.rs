//! The HTTP server: `fn app(state) -> Router`, one `routes()` per area.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use ingest::lake::Lake;
use tower_http::trace::TraceLayer;

use crate::auth::guard::{Exposure, Guard};
use crate::config::Config;
use crate::error::{Error, Result};

mod adoption;
mod ai;
mod ai_page;
mod audit;
pub mod catalog;
mod charts;
mod cost;
mod cost_page;
pub mod devex;
pub mod dora;
mod events;
pub mod extract;
pub mod gauges;
pub mod intake;
mod login;
pub mod metrics;
pub mod openapi;
pub mod ops;
mod platform_pages;
pub mod portal;
mod query;
mod server;
pub mod state;
pub mod status;
mod survey_pages;
pub mod surveys;
pub mod webhooks;

pub use state::AppState;

/// Request bodies above this are refused (GitHub's own largest delivery).
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// A request still unanswered after this gets 503, and its queries stop.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

pub fn app(state: AppState) -> Router {
    let guard =
        || axum::middleware::from_fn_with_state(state.guard.clone(), crate::auth::guard::guard);
    // The API and the portal are rate limited before the guard looks at
    // them, so a flood is turned away cheaply (and not audited request by
    // request); webhooks and operations are not limited.
    // MCP over streamable HTTP: the same guard and limits as the API (a
    // viewer token once tokens exist).
    let mcp = crate::mcp::http_service(
        state.queries.clone(),
        state.config.clone(),
        state.guard.clone(),
    );
    let limited = Router::new()
        .nest_service("/mcp", mcp)
        .merge(portal::routes())
        .merge(login::routes())
        .merge(survey_pages::routes())
        .nest("/api/v1", api_routes())
        .layer(guard())
        .layer(crate::auth::limits::layer(&state.config.auth));
    let open = Router::new()
        .merge(ops::routes())
        .merge(webhooks::routes())
        .layer(guard());
    let lake = state.lake.clone();
    Router::new()
        .merge(limited)
        .merge(open)
        .with_state(state)
        .layer(axum::middleware::map_response(move |response| {
            mark_incomplete(lake.clone(), response)
        }))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A body that stalls this long between its parts is dropped.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            std::time::Duration::from_secs(30),
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
}

/// Names the tables that miss quarantined files on every answer, so that a
/// report read from an incomplete lake says so
/// (`X-Devex-Incomplete-Tables: incidents, deployments`).
async fn mark_incomplete(
    lake: Arc<Lake>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let Ok(files) = lake.quarantined_files().await else {
        return response;
    };
    let mut tables: Vec<&str> = files.iter().filter_map(|f| f.split('/').next()).collect();
    tables.dedup();
    if let Ok(value) = axum::http::HeaderValue::from_str(&tables.join(", ")) {
        if !tables.is_empty() {
            response
                .headers_mut()
                .insert("x-devex-incomplete-tables", value);
        }
    }
    response
}

/// `/api/v1/...`: JSON (or CSV, or text tables) for programs.
fn api_routes() -> Router<AppState> {
    Router::new()
        .merge(catalog::routes())
        .merge(dora::routes())
        .merge(devex::routes())
        .merge(cost::routes())
        .merge(adoption::routes())
        .merge(ai::routes())
        .merge(events::routes())
        .merge(audit::routes())
        .merge(query::routes())
        .merge(surveys::routes())
        .merge(ops::api_routes())
}

/// Creates the demo lake when asked and the lake is empty, then serves until
/// SIGINT or SIGTERM, finishing requests in flight.
pub async fn serve(config: &Config, demo: bool, insecure_no_auth: bool) -> Result<()> {
    let lake = Arc::new(Lake::create_or_open(&config.lake)?);
    // Safe by default: without a token or single sign-on, loopback only,
    // unless told otherwise.
    let has_tokens = !crate::auth::tokens::TokenStore::new(&lake)
        .load()
        .await?
        .is_empty();
    let has_auth = has_tokens || config.auth.oidc.is_some();
    let exposure = if config.addr.ip().is_loopback() {
        Exposure::Loopback
    } else {
        Exposure::Open { insecure_no_auth }
    };
    match (has_auth, exposure) {
        (true, _) => tracing::info!(
            single_sign_on = config.auth.oidc.is_some(),
            "Auth is on: every request but /healthz, sign-in and the webhooks needs a token or a portal session."
        ),
        (false, Exposure::Loopback) => eprintln!(
            "devex: no tokens, so serving this machine only ({}); create one with `devex token create --name NAME --role admin` before binding elsewhere.",
            config.addr
        ),
        (false, Exposure::Open { insecure_no_auth: false }) => {
            return Err(Error::Config(format!(
                "refusing to serve {} without auth: anyone who reaches it could read everything. Create a token first (devex token create --name admin --role admin), bind to 127.0.0.1, or pass --insecure-no-auth if something in front of devex authenticates",
                config.addr
            )))
        }
        (false, Exposure::Open { insecure_no_auth: true }) => tracing::warn!(
            addr = %config.addr,
            "Serving without auth on an open address (--insecure-no-auth)."
        ),
    }
    if demo && lake.is_empty().await? {
        tracing::info!(lake = %config.lake.display(), "Creating the demo organisation in an empty lake.");
        let started = std::time::Instant::now();
        let options = ingest::demo::DemoOptions {
            months: config.demo.months,
            ..ingest::demo::DemoOptions::ending_today(config.demo.seed, config.demo.scale)
        };
        ingest::demo::generate(&lake, &options, &ingest::progress::NoProgress).await?;
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "Demo organisation created."
        );
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| Error::Io {
            context: format!("cannot listen on {}; pick another with --addr", config.addr),
            source,
        })?;
    let address: SocketAddr = listener.local_addr().map_err(|source| Error::Io {
        context: "cannot read the listening address".into(),
        source,
    })?;
    memory::return_freed_memory_at_once();
    let shutdown = shutdown_signal();
    // On stdout, so scripts and tests can find the port when it was 0.
    println!("devex listening on http://{address}");
    tracing::info!(%address, lake = %config.lake.display(), "Serving.");
    let mut state = AppState::new(lake.clone(), config.clone()).await?;
    state.guard = Guard::new(&lake, &config.auth, address, exposure)?
        .with_audit(state.intake.committer.clone());
    state.queries.answer_while_deriving();
    // Reports answer from the newest derived tables while newer ones are
    // derived. Walk the commit graph and build them now rather than in the
    // first request.
    if let Err(e) = analytics::derive::run(&state.queries, &config.dora, &config.devex).await {
        tracing::warn!(error = %e, "The derive stage failed; reports will retry.");
    }
    let state = state.refresh_metrics();
    spawn_compaction(lake.clone(), config.compaction.interval_seconds);
    server::serve(
        listener,
        app(state),
        std::time::Duration::from_secs(config.auth.header_timeout_seconds.max(1)),
        shutdown,
    )
    .await;
    tracing::info!("Shut down cleanly.");
    Ok(())
}

/// Merges small files every `seconds` (0: never), as `devex compact` does.
fn spawn_compaction(lake: Arc<ingest::lake::Lake>, seconds: u64) {
    if seconds == 0 {
        return;
    }
    if lake.remote_store().is_some() {
        tracing::info!(lake = %lake.location(), "Not compacting: devex does not compact a lake in an object store yet.");
        return;
    }
    tokio::spawn(async move {
        let period = std::time::Duration::from_secs(seconds);
        loop {
            tokio::time::sleep(period).await;
            let started = std::time::Instant::now();
            let mut total = ingest::lake::CompactSummary::default();
            for table in ingest::schema::TABLES {
                match lake.compact(table).await {
                    Ok(summary) => total.add(&summary),
                    Err(e) => {
                        tracing::warn!(error = %e, table = table.name, "Compaction failed; trying again next time.");
                    }
                }
            }
            if total.partitions > 0 {
                tracing::info!(
                    partitions = total.partitions,
                    files_before = total.files_before,
                    files_after = total.files_after,
                    seconds = started.elapsed().as_secs_f64(),
                    "Compacted small files."
                );
            }
        }
    });
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when first polled: a signal that comes right after start
/// (an orchestrator's early SIGTERM) stops devex gracefully instead of
/// killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        let wait = |stream: std::io::Result<tokio::signal::unix::Signal>, name: &'static str| async move {
            match stream {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, signal = name, "Cannot listen for a signal.");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = wait(interrupt, "SIGINT") => {}
            () = wait(terminate, "SIGTERM") => {}
        }
        tracing::info!("Shutdown signal received; finishing requests in flight.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::header;
    use axum::http::{Request, StatusCode};
    use metrics::CONTENT_TYPE;
    use tower::ServiceExt;

    async fn state() -> (tempfile::TempDir, AppState) {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
        let state = AppState::new(lake, Config::default()).await.unwrap();
        (dir, state)
    }

    async fn get_json(app: Router, uri: &str) -> (StatusCode, serde_json::Value) {
        let response = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn tables_lists_every_canonical_table() {
        let (_dir, state) = state().await;
        let (status, body) = get_json(app(state), "/api/v1/tables").await;
        assert_eq!(status, StatusCode::OK);
        let rows = body.as_array().unwrap();
        assert_eq!(rows.len(), ingest::schema::TABLES.len());
        assert_eq!(
            rows[0],
            serde_json::json!({"table": "commits", "rows": 0, "files": 0, "bytes": 0, "quarantined": 0})
        );
    }

    #[tokio::test]
    async fn a_corrupt_file_is_quarantined_and_the_table_marked_incomplete() {
        let (dir, state) = state().await;
        let folder = dir.path().join("incidents/month=2026-01");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("part-broken.parquet"), b"nope").unwrap();
        let response = app(state)
            .oneshot(Request::get("/api/v1/tables").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-devex-incomplete-tables"], "incidents");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let incidents = body
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "incidents")
            .unwrap();
        assert_eq!(incidents["quarantined"], 1);
        assert!(dir
            .path()
            .join("_devex/quarantine/incidents/month=2026-01/part-broken.parquet")
            .exists());
    }

    #[test]
    fn the_openapi_document_lists_every_route() {
        let doc: serde_json::Value = serde_json::from_str(openapi::document()).unwrap();
        let sources = [
            include_str!("adoption.rs"),
            include_str!("ai.rs"),
            include_str!("audit.rs"),
            include_str!("catalog.rs"),
            include_str!("cost.rs"),
            include_str!("devex.rs"),
            include_str!("dora.rs"),
            include_str!("events.rs"),
            include_str!("ops.rs"),
            include_str!("query.rs"),
            include_str!("surveys.rs"),
            include_str!("webhooks.rs"),
        ];
        let mut routes = 0;
        // The first string literal after each `.route(` (formatting may put it
        // on the next line), outside test modules. Portal pages (portal.rs)
        // are HTML for people, not API.
        let code: String = sources
            .iter()
            .map(|source| source.split("mod tests").next().unwrap())
            .collect();
        for piece in code.split(".route(").skip(1) {
            let path = piece.split('"').nth(1).unwrap();
            let full = if ["/healthz", "/metrics"].contains(&path) || path.starts_with("/webhooks")
            {
                path.to_string()
            } else {
                format!("/api/v1{path}")
            };
            routes += 1;
            assert!(
                doc["paths"].get(&full).is_some(),
                "{full} is not in the OpenAPI document: add its handler to http/openapi.rs"
            );
        }
        assert!(routes >= 18, "{routes}");
    }

    #[tokio::test]
    async fn health_and_metrics() {
        let (_dir, state) = state().await;
        let (status, body) = get_json(app(state.clone()), "/healthz").await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ok"))
        );
        let response = app(state.clone())
            .oneshot(
                Request::get("/metrics")
                    .header(
                        header::ACCEPT,
                        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
                    )
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        let response = app(state)
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            metrics::TEXT_CONTENT_TYPE
        );
    }
}

/// How `devex serve` treats freed memory.
mod memory {
    /// `mi_option_purge_delay` in mimalloc.h (v2, as libmimalloc-sys 0.1.49
    /// vendors it; the crate names no constant for it). The test below fails
    /// if an upgrade moves it.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

    /// A server lives long and answers big questions now and then: memory a
    /// finished query freed goes back to the system at once instead of after
    /// a second (this build's default delay). At scale 75 this keeps serve's peak under
    /// 1 GiB (1.02 GiB otherwise) for a slower first DevEx report (about 4 s
    /// instead of 2.7 s); remembered answers are not affected. CLI commands
    /// keep the default, since they end anyway.
    pub fn return_freed_memory_at_once() {
        // SAFETY: sets an integer option; mimalloc reads it on its next purge.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_purge_delay_option_is_the_one_we_set() {
            // The enum's layout, told by two neighbours with unmistakable
            // defaults: os_tag (100) three places on and arena_reserve (1 GiB
            // in KiB) eight places on. The purge delay itself defaults to a
            // second in this build.
            let get = |option| unsafe { libmimalloc_sys::mi_option_get(option) };
            assert_eq!(get(super::MI_OPTION_PURGE_DELAY + 3), 100);
            assert_eq!(get(super::MI_OPTION_PURGE_DELAY + 8), 1 << 20);
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                assert_eq!(get(super::MI_OPTION_PURGE_DELAY), 1000);
            }
        }
    }
}

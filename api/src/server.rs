//! The HTTP server: `fn app(state) -> Router`, one `routes()` per area.

use std::net::SocketAddr;
use std::sync::Arc;

use analytics::LakeQueries;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ingest::lake::{Lake, TableStats};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::devex::{CompareParams, DevexParams, DevexView};
use crate::dora::{DoraParams, DoraView};
use crate::error::{Error, Result};
use crate::metrics::{Metrics, CONTENT_TYPE};
use crate::render::OutputFormat;

#[derive(Clone)]
pub struct AppState {
    pub lake: Arc<Lake>,
    pub queries: Arc<LakeQueries>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// The /metrics gauges, to refresh after ingest.
    pub scorecard: crate::scorecard::Scorecard,
    /// The webhook writer (group commit) and its caches.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
}

impl AppState {
    pub async fn new(lake: Arc<Lake>, config: Config) -> Result<AppState> {
        let queries = Arc::new(LakeQueries::open(lake.clone()).await?);
        let scorecard = crate::scorecard::Scorecard::default();
        Ok(AppState {
            webhooks: Arc::new(crate::webhooks::Webhooks::start(lake.clone())),
            lake,
            queries,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::with_scorecard(scorecard.clone())),
            scorecard,
        })
    }

    /// Makes the /metrics gauges refresh on the configured schedule.
    pub fn refresh_metrics(self) -> AppState {
        self.scorecard
            .spawn_refresh(self.queries.clone(), self.config.clone());
        self
    }
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(portal_overview))
        .route("/teams/{team}", get(portal_team))
        .route("/deployments/{service}/{id}", get(portal_deployment))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(
            "/webhooks/github",
            axum::routing::post(crate::webhooks::github),
        )
        .nest("/api/v1", api_routes())
        .with_state(state)
        .layer(TraceLayer::new_for_http())
}

fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/tables", get(tables))
        .route("/dora", get(dora_report))
        .route("/dora/series", get(dora_series))
        .route("/dora/deployments", get(dora_deployments))
        .route("/devex", get(devex_report))
        .route("/space", get(space_report))
        .route("/compare", get(compare_periods))
        .route("/surveys", get(survey_waves))
        .route("/surveys/compare", get(survey_compare))
        .route("/surveys/{id}/results", get(survey_results))
        .route(
            "/surveys/{id}/perceived-vs-measured",
            get(survey_perceived_vs_measured),
        )
        .route(
            "/entities/{kind}/{namespace}/{name}/scorecard",
            get(entity_scorecard),
        )
        .route("/openapi.json", get(openapi))
}

/// The OpenAPI document of every endpoint.
async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

/// `?from&to`: a Backstage entity's measures in one call. A `component` is a
/// service, a `group` a team.
async fn entity_scorecard(
    State(state): State<AppState>,
    axum::extract::Path((kind, namespace, name)): axum::extract::Path<(String, String, String)>,
    params: std::result::Result<Query<ScorecardParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>> {
    let Query(params) = params.map_err(|e| Error::InvalidQueryString(e.body_text()))?;
    let kind = kind.to_lowercase();
    let entity_ref = format!("{kind}:{namespace}/{name}");
    let (service, team) = match kind.as_str() {
        "component" => (Some(name.clone()), None),
        "group" => (None, Some(name.clone())),
        other => {
            return Err(Error::NotFound(format!(
                "entity kind `{other}` has no scorecard; devex knows component (a service) and group (a team)"
            )))
        }
    };
    let request = DoraParams {
        from: params.from.clone(),
        to: params.to.clone(),
        service,
        team: team.clone(),
        group_by: Some("none".into()),
        ..DoraParams::default()
    }
    .request(&state.config)?;
    let report = analytics::dora::report(&state.queries, &request).await?;
    let mut body = serde_json::json!({
        "entity_ref": entity_ref,
        "from": report.from,
        "to": report.to,
        "levels_source": report.levels_source,
        "dora": report.overall,
    });
    if let Some(team) = team {
        let devex = crate::devex::DevexParams {
            from: Some(report.from.to_string()),
            to: Some(report.to.to_string()),
            team: Some(team.clone()),
            ..Default::default()
        }
        .request(&state.config)?;
        let loops = analytics::devex::report(&state.queries, &devex).await?;
        body["devex"] = serde_json::to_value(
            loops
                .groups
                .iter()
                .find(|g| g.key.label() == Some(team.as_str()))
                .map(|g| &g.metrics),
        )
        .map_err(|e| Error::Internal(e.to_string()))?;
    }
    Ok(Json(body))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ScorecardParams {
    from: Option<String>,
    to: Option<String>,
}

/// Each team's survey dimension scores beside its DevEx workflow measures.
async fn survey_perceived_vs_measured(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response> {
    let body = crate::surveys::perceived_vs_measured(&state.queries, &state.config, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The survey waves in the lake.
async fn survey_waves(State(state): State<AppState>) -> Result<Json<serde_json::Value>> {
    let waves = surveys::results::waves(&state.queries).await?;
    Ok(Json(serde_json::json!({ "surveys": waves })))
}

/// `?team=GROUP&group_by=team`: results of one wave, every number subject to
/// the anonymity threshold and the differencing rule.
async fn survey_results(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    params: std::result::Result<Query<crate::surveys::SurveyParams>, QueryRejection>,
) -> Result<Response> {
    let Query(params) = params.map_err(|e| Error::InvalidQueryString(e.body_text()))?;
    let format = output_format(params.format.as_deref())?;
    let body = crate::surveys::results(&state.queries, &state.config, &id, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

/// `?a=WAVE&b=WAVE&team=&group_by=`: Welch's t-test per dimension and question.
async fn survey_compare(
    State(state): State<AppState>,
    params: std::result::Result<Query<crate::surveys::SurveyCompareParams>, QueryRejection>,
) -> Result<Response> {
    let Query(params) = params.map_err(|e| Error::InvalidQueryString(e.body_text()))?;
    let format = output_format(params.format.as_deref())?;
    let body = crate::surveys::compare(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

/// `?from&to&tz&team&repo&group_by=team|repo&format`: CI and pull request
/// feedback loops, context switches and flow, each with its sample size.
async fn devex_report(
    State(state): State<AppState>,
    params: std::result::Result<Query<DevexParams>, QueryRejection>,
) -> Result<Response> {
    devex_response(&state, params, DevexView::Devex).await
}

/// SPACE activity and collaboration per team.
async fn space_report(
    State(state): State<AppState>,
    params: std::result::Result<Query<DevexParams>, QueryRejection>,
) -> Result<Response> {
    devex_response(&state, params, DevexView::Space).await
}

async fn devex_response(
    state: &AppState,
    params: std::result::Result<Query<DevexParams>, QueryRejection>,
    view: DevexView,
) -> Result<Response> {
    let Query(params) = params.map_err(|e| Error::InvalidQueryString(e.body_text()))?;
    let format = output_format(params.format.as_deref())?;
    let body = crate::devex::run(&state.queries, &state.config, &params, view, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

/// `?metric&team&tz&a_from&a_to&b_from&b_to`: medians of both periods, the
/// difference with its interval, the Mann-Whitney p and a verdict.
async fn compare_periods(
    State(state): State<AppState>,
    params: std::result::Result<Query<CompareParams>, QueryRejection>,
) -> Result<Response> {
    let Query(params) = params.map_err(|e| Error::InvalidQueryString(e.body_text()))?;
    let format = output_format(params.format.as_deref())?;
    let body = crate::devex::compare(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

fn output_format(format: Option<&str>) -> Result<OutputFormat> {
    match format {
        None | Some("") | Some("json") => Ok(OutputFormat::Json),
        Some("csv") => Ok(OutputFormat::Csv),
        Some("table") => Ok(OutputFormat::Table),
        Some(other) => Err(Error::invalid_parameter(
            "format",
            format!("`{other}` is not one of json, csv, table"),
        )),
    }
}

fn content_type(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Json => "application/json",
        OutputFormat::Csv => "text/csv; charset=utf-8",
        OutputFormat::Table => "text/plain; charset=utf-8",
    }
}

/// `?from&to&tz&service&team&group_by&environment_pattern&levels_year&format`;
/// the same JSON as `devex report dora --format json`.
async fn dora_report(
    State(state): State<AppState>,
    params: std::result::Result<Query<DoraParams>, QueryRejection>,
) -> Result<Response> {
    dora_response(&state, params, DoraView::Report).await
}

/// As `/dora`, plus `granularity=week|month`: one point per period.
async fn dora_series(
    State(state): State<AppState>,
    params: std::result::Result<Query<DoraParams>, QueryRejection>,
) -> Result<Response> {
    dora_response(&state, params, DoraView::Series).await
}

/// Every production deployment in the window with its class, changes,
/// failure causes and recovery.
async fn dora_deployments(
    State(state): State<AppState>,
    params: std::result::Result<Query<DoraParams>, QueryRejection>,
) -> Result<Response> {
    dora_response(&state, params, DoraView::Deployments).await
}

async fn dora_response(
    state: &AppState,
    params: std::result::Result<Query<DoraParams>, QueryRejection>,
    view: DoraView,
) -> Result<Response> {
    // An unknown or malformed parameter is our JSON error, not axum's text.
    let Query(params) = params.map_err(|e| Error::InvalidQueryString(e.body_text()))?;
    let format = output_format(params.format.as_deref())?;
    let body = crate::dora::run(&state.queries, &state.config, &params, view, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn tables(State(state): State<AppState>) -> Result<Json<Vec<TableStats>>> {
    Ok(Json(state.lake.table_stats().await?))
}

async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse> {
    let body = state
        .metrics
        .encode()
        .map_err(|e| Error::Internal(format!("cannot encode metrics: {e}")))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], body))
}

/// Portal pages: HTML, or the error as a small HTML page with its status.
fn html(result: Result<String>) -> Response {
    match result {
        Ok(body) => Html(body).into_response(),
        Err(error) => {
            let status = error.status();
            let message = if status.is_client_error() {
                error.to_string()
            } else {
                tracing::error!(error = %error, "Portal page failed.");
                "internal error; the server log has the details".to_string()
            };
            let body = format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>devex</title></head><body><p><a href=\"/\">Overview</a></p><p>{}</p></body></html>",
                message.replace('&', "&amp;").replace('<', "&lt;")
            );
            (status, Html(body)).into_response()
        }
    }
}

async fn portal_overview(State(state): State<AppState>) -> Response {
    html(crate::portal::overview(&state).await)
}

async fn portal_team(
    State(state): State<AppState>,
    axum::extract::Path(team): axum::extract::Path<String>,
) -> Response {
    html(crate::portal::team(&state, &team).await)
}

async fn portal_deployment(
    State(state): State<AppState>,
    axum::extract::Path((service, id)): axum::extract::Path<(String, String)>,
) -> Response {
    html(crate::portal::deployment(&state, &service, &id).await)
}

/// Creates the demo lake when asked and the lake is empty, then serves until
/// SIGINT or SIGTERM, finishing requests in flight.
pub async fn serve(config: &Config, demo: bool) -> Result<()> {
    let lake = Arc::new(Lake::create_or_open(&config.lake)?);
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
    // On stdout, so scripts and tests can find the port when it was 0.
    println!("devex listening on http://{address}");
    tracing::info!(%address, lake = %config.lake.display(), "Serving.");
    let state = AppState::new(lake, config.clone()).await?;
    // Walk the commit graph and build the derived tables now rather than in
    // the first request.
    if let Err(e) = analytics::derive::run(&state.queries, &config.dora, &config.devex).await {
        tracing::warn!(error = %e, "The derive stage failed; reports will retry.");
    }
    let state = state.refresh_metrics();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|source| Error::Io {
            context: "server failed".into(),
            source,
        })?;
    tracing::info!("Shut down cleanly.");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot listen for SIGTERM.");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("Shutdown signal received; finishing requests in flight.");
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
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
            serde_json::json!({"table": "commits", "rows": 0, "files": 0, "bytes": 0})
        );
    }

    #[tokio::test]
    async fn corrupt_file_is_a_json_error_naming_it() {
        let (dir, state) = state().await;
        let folder = dir.path().join("incidents/month=2026-01");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("part-broken.parquet"), b"nope").unwrap();
        let (status, body) = get_json(app(state), "/api/v1/tables").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "corrupt_lake_file");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("part-broken.parquet"));
    }

    #[test]
    fn the_openapi_document_lists_every_route() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("openapi.json")).unwrap();
        let source = include_str!("server.rs");
        let mut routes = 0;
        // The first string literal after each `.route(` (formatting may put it
        // on the next line); the test module itself starts after `mod tests`.
        let code = source.split("mod tests").next().unwrap();
        for piece in code.split(".route(").skip(1) {
            let path = piece.split('"').nth(1).unwrap();
            let full = if ["/", "/healthz", "/metrics"].contains(&path)
                || path.starts_with("/webhooks")
                || path.starts_with("/teams")
                || path.starts_with("/deployments")
            {
                path.to_string()
            } else {
                format!("/api/v1{path}")
            };
            routes += 1;
            // Portal pages are HTML for people, not API.
            if full == "/" || full.starts_with("/teams") || full.starts_with("/deployments") {
                continue;
            }
            assert!(
                doc["paths"].get(&full).is_some(),
                "{full} is not in openapi.json"
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
        let response = app(state)
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
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

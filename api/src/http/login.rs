//! The portal's sign-in pages (`/auth/*`): off to the identity provider,
//! back with a code, out again. Every sign-in, refusal and sign-out is in
//! the audit log under the provider's subject.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, Extensions, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::portal::{escape, page};
use super::state::AppState;
use crate::auth::guard::origin;
use crate::auth::oidc::Oidc;
use crate::error::Error;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
        .route("/auth/signed-out", get(signed_out))
}

fn oidc(state: &AppState) -> Result<Arc<Oidc>, Box<Response>> {
    state.guard.oidc().cloned().ok_or_else(|| {
        Box::new(
            Error::NotFound(
                "single sign-on is not configured ([auth.oidc]); use a token instead (devex token create)"
                    .into(),
            )
            .into_response(),
        )
    })
}

/// A sign-in problem as a page a person can act on.
fn problem(error: &Error) -> Response {
    let (status, _) = error.status_and_code();
    let message = if error.is_public() {
        error.to_string()
    } else {
        "something went wrong; the server log has the details".to_string()
    };
    tracing::warn!(error = %error, "Sign-in failed.");
    let body = format!(
        r#"<h1>Sign-in failed</h1><p>{}</p><p><a href="/auth/login">Sign in again</a></p>"#,
        escape(&message)
    );
    (status, Html(page("Sign-in failed", &body))).into_response()
}

#[derive(Deserialize)]
struct LoginParams {
    next: Option<String>,
}

/// Sends the browser to the identity provider.
async fn login(State(state): State<AppState>, Query(params): Query<LoginParams>) -> Response {
    let oidc = match oidc(&state) {
        Ok(oidc) => oidc,
        Err(response) => return *response,
    };
    match oidc.begin(params.next.as_deref().unwrap_or("/")).await {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(e) => problem(&e),
    }
}

/// What the provider sends back: a code, or an error; always the state.
/// (Providers add more, such as `iss` or `session_state`.)
#[derive(Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Finishes a sign-in: a session cookie and back to the page asked for.
async fn callback(
    State(state): State<AppState>,
    Query(params): Query<CallbackParams>,
    extensions: Extensions,
) -> Response {
    let oidc = match oidc(&state) {
        Ok(oidc) => oidc,
        Err(response) => return *response,
    };
    let from = origin(&extensions);
    let audit = |actor: String, outcome: String| {
        let guard = state.guard.clone();
        let from = from.clone();
        async move {
            guard
                .audit(&actor, "portal.login", from.as_deref(), &outcome)
                .await
        }
    };
    let (Some(code), Some(login_state)) = (params.code, params.state.clone()) else {
        // The provider said no (or the address was typed by hand): the
        // sign-in it belonged to is over.
        if let Some(login_state) = &params.state {
            oidc.sessions.take_login(login_state);
        }
        let reason = params.error.unwrap_or_else(|| "no code".into());
        let detail = params
            .error_description
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        audit("anonymous".into(), format!("401 provider: {reason}")).await;
        return problem(&Error::Unauthorized(format!(
            "the identity provider did not sign you in: {reason}{detail}"
        )));
    };
    match oidc.finish(&code, &login_state).await {
        Ok(signed_in) => {
            audit(
                format!("oidc:{}", signed_in.subject),
                format!("allowed as {}", signed_in.role.name()),
            )
            .await;
            let mut response = Redirect::to(&signed_in.next).into_response();
            if let Ok(cookie) = oidc.session_cookie(&signed_in.session).parse() {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            response
        }
        Err((error, subject)) => {
            let (status, code) = error.status_and_code();
            let actor = subject.map_or_else(|| "anonymous".into(), |s| format!("oidc:{s}"));
            audit(actor, format!("{} {code}", status.as_u16())).await;
            problem(&error)
        }
    }
}

/// Ends the session and removes the cookie.
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let oidc = match oidc(&state) {
        Ok(oidc) => oidc,
        Err(response) => return *response,
    };
    if let Some(session) = oidc
        .session_id(&headers)
        .and_then(|id| oidc.sessions.close(&id))
    {
        state
            .guard
            .audit(
                &format!("oidc:{}", session.subject),
                "portal.logout",
                origin(&extensions).as_deref(),
                "allowed",
            )
            .await;
    }
    let mut response = Redirect::to("/auth/signed-out").into_response();
    if let Ok(cookie) = oidc.removal_cookie().parse() {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn signed_out() -> Response {
    let body = r#"<h1>Signed out</h1><p>Your devex session has ended.</p><p><a href="/auth/login">Sign in again</a></p>"#;
    (StatusCode::OK, Html(page("Signed out", body))).into_response()
}

//! A small OpenID Connect provider on loopback for the sign-in tests: the
//! discovery document, a JWKS, an authorization endpoint that signs in
//! whichever user the test chose, a token endpoint that checks the client's
//! secret, the code (once), the redirect URI and the PKCE verifier, and a
//! userinfo endpoint. ID tokens are RS256, signed with
//! `tests/fixtures/oidc/signing-key.pem`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use openidconnect::core::{
    CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AdditionalClaims, Audience, IdToken, IdTokenClaims, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::support::fixture;

pub const CLIENT_ID: &str = "devex-portal";
pub const CLIENT_SECRET: &str = "fake-idp-client-secret";

/// Who the next sign-in is.
#[derive(Clone, Debug)]
pub struct User {
    pub subject: String,
    pub groups: Vec<String>,
    /// Groups only in userinfo, not in the ID token (as some providers do).
    pub groups_in_userinfo_only: bool,
    /// An ID token made out to another client.
    pub wrong_audience: bool,
}

impl User {
    pub fn new(subject: &str, groups: &[&str]) -> User {
        User {
            subject: subject.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            groups_in_userinfo_only: false,
            wrong_audience: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Groups {
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<String>>,
}

impl AdditionalClaims for Groups {}

struct Issued {
    user: User,
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

/// What the provider saw.
#[derive(Default, Debug, Clone, Copy)]
pub struct Calls {
    pub discovery: usize,
    pub jwks: usize,
    pub token: usize,
    pub userinfo: usize,
}

struct Provider {
    issuer: String,
    key: CoreRsaPrivateSigningKey,
    next_user: Mutex<User>,
    codes: Mutex<HashMap<String, Issued>>,
    access_tokens: Mutex<HashMap<String, User>>,
    calls: Mutex<Calls>,
}

pub struct FakeIdp {
    pub issuer: String,
    provider: Arc<Provider>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeIdp {
    pub async fn start() -> FakeIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let pem = std::fs::read_to_string(fixture("oidc/signing-key.pem")).unwrap();
        let key =
            CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new("test-key".into())))
                .unwrap();
        let provider = Arc::new(Provider {
            issuer: issuer.clone(),
            key,
            next_user: Mutex::new(User::new("nobody", &[])),
            codes: Mutex::default(),
            access_tokens: Mutex::default(),
            calls: Mutex::default(),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(provider.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeIdp {
            issuer,
            provider,
            task,
        }
    }

    /// The user the next sign-in signs in.
    pub fn sign_in_as(&self, user: User) {
        *self.provider.next_user.lock().unwrap() = user;
    }

    pub fn calls(&self) -> Calls {
        *self.provider.calls.lock().unwrap()
    }
}

async fn discovery(State(p): State<Arc<Provider>>) -> Json<serde_json::Value> {
    p.calls.lock().unwrap().discovery += 1;
    let i = &p.issuer;
    Json(serde_json::json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "groups"],
    }))
}

async fn jwks(State(p): State<Arc<Provider>>) -> Json<serde_json::Value> {
    p.calls.lock().unwrap().jwks += 1;
    Json(serde_json::json!({ "keys": [p.key.as_verification_key()] }))
}

#[derive(Deserialize)]
struct AuthorizeParams {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    nonce: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

fn refuse(why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": "invalid_request", "error_description": why})),
    )
        .into_response()
}

/// Signs in the chosen user at once (no login form) and sends the browser
/// back with a code.
async fn authorize(State(p): State<Arc<Provider>>, Query(q): Query<AuthorizeParams>) -> Response {
    if q.response_type != "code" || q.client_id != CLIENT_ID {
        return refuse("unknown client or response type");
    }
    if !q.scope.split(' ').any(|s| s == "openid") {
        return refuse("openid scope missing");
    }
    // PKCE is required here, as a careful provider can be told to.
    let (Some(challenge), Some("S256")) = (q.code_challenge, q.code_challenge_method.as_deref())
    else {
        return refuse("PKCE with S256 is required");
    };
    let code = format!("code-{}", rand::random::<u64>());
    let user = p.next_user.lock().unwrap().clone();
    p.codes.lock().unwrap().insert(
        code.clone(),
        Issued {
            user,
            nonce: q.nonce,
            challenge,
            redirect_uri: q.redirect_uri.clone(),
        },
    );
    let mut back = url::Url::parse(&q.redirect_uri).unwrap();
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q.state)
        .append_pair("iss", &p.issuer);
    Redirect::to(back.as_str()).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
}

fn token_error(error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": error})),
    )
        .into_response()
}

async fn token(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    p.calls.lock().unwrap().token += 1;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&expected)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if form.grant_type != "authorization_code" {
        return token_error("unsupported_grant_type");
    }
    // A code is good once.
    let Some(issued) = p.codes.lock().unwrap().remove(&form.code) else {
        return token_error("invalid_grant");
    };
    let verified = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(form.code_verifier.as_bytes()));
    if verified != issued.challenge || form.redirect_uri != issued.redirect_uri {
        return token_error("invalid_grant");
    }
    let access_token = format!("at-{}", rand::random::<u64>());
    let user = issued.user;
    p.access_tokens
        .lock()
        .unwrap()
        .insert(access_token.clone(), user.clone());
    let audience = if user.wrong_audience {
        "another-client"
    } else {
        CLIENT_ID
    };
    let now = chrono::Utc::now();
    let claims = IdTokenClaims::<Groups, CoreGenderClaim>::new(
        IssuerUrl::new(p.issuer.clone()).unwrap(),
        vec![Audience::new(audience.into())],
        now + chrono::Duration::minutes(5),
        now,
        StandardClaims::new(SubjectIdentifier::new(user.subject.clone())),
        Groups {
            groups: (!user.groups_in_userinfo_only).then(|| user.groups.clone()),
        },
    )
    .set_nonce(Some(Nonce::new(issued.nonce)));
    let id_token = IdToken::<
        Groups,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >::new(
        claims,
        &p.key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .unwrap();
    Json(serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State(p): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    p.calls.lock().unwrap().userinfo += 1;
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let Some(user) = p.access_tokens.lock().unwrap().get(presented).cloned() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    Json(serde_json::json!({"sub": user.subject, "groups": user.groups})).into_response()
}

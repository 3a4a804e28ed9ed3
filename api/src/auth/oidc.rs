//! Single sign-on for the portal: the OpenID Connect authorization code flow
//! with PKCE, through the `openidconnect` crate. devex discovers the
//! provider (`/.well-known/openid-configuration` and its JWKS), sends the
//! browser there, exchanges the returned code with the PKCE verifier, checks
//! the ID token (signature, issuer, audience, expiry, nonce) and maps the
//! user's groups to a role. The session that follows lives in `sessions`.

use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthType, AuthenticationFlow, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};

use super::sessions::{PendingLogin, Session, Sessions};
use super::Role;
use crate::error::{Error, Result};

/// `[auth.oidc]`: the portal's identity provider.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The provider's issuer, e.g. `https://login.example.com/realms/eng`.
    pub issuer_url: String,
    pub client_id: String,
    /// For a confidential client; PKCE alone for a public one. Best set
    /// through `DEVEX_AUTH__OIDC__CLIENT_SECRET`.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// devex's callback as the browser reaches it, e.g.
    /// `https://devex.example.com/auth/callback`. An `https` address makes
    /// the session cookie `Secure`.
    pub redirect_url: String,
    /// Members of any of these groups are admins...
    #[serde(default)]
    pub admin_groups: Vec<String>,
    /// ...and of these, viewers. Anyone else is refused.
    #[serde(default)]
    pub viewer_groups: Vec<String>,
    /// The claim holding the groups: a top-level name (`groups`, or a
    /// namespaced `https://example.com/groups`) or a dotted path
    /// (`realm_access.roles`). Read from the ID token, else from userinfo.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Scopes asked for besides `openid` (e.g. `groups` for Okta or Dex).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Hours a session lasts before signing in again.
    #[serde(default = "default_session_hours")]
    pub session_hours: u32,
}

fn default_groups_claim() -> String {
    "groups".into()
}

fn default_session_hours() -> u32 {
    8
}

// By hand, so that a logged configuration never shows the client secret.
impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_url", &self.redirect_url)
            .field("admin_groups", &self.admin_groups)
            .field("viewer_groups", &self.viewer_groups)
            .field("groups_claim", &self.groups_claim)
            .field("scopes", &self.scopes)
            .field("session_hours", &self.session_hours)
            .finish()
    }
}

/// Claims beyond the standard ones, where the groups are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type TokenResponse = StandardTokenResponse<
    IdTokenFields<
        OtherClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// A client of the discovered provider.
type ProviderClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider's metadata and keys are fetched again after this, so a key
/// rotation is picked up (and at once after an ID token fails its check).
const DISCOVERY_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Who signed in, and where they were going.
pub struct SignedIn {
    /// The session id, for the cookie.
    pub session: String,
    pub subject: String,
    pub role: Role,
    pub next: String,
}

/// The portal's sign-in: the provider, the sessions, the cookie.
pub struct Oidc {
    settings: OidcSettings,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    http: reqwest::Client,
    provider: tokio::sync::Mutex<Option<(Instant, ProviderClient)>>,
    pub sessions: Sessions,
    secure: bool,
}

impl Oidc {
    /// Checks the settings; the provider is asked at the first sign-in, so
    /// devex starts while it is down.
    pub fn new(settings: &OidcSettings) -> Result<Oidc> {
        let invalid = |what: &str| {
            Error::Config(format!(
                "[auth.oidc] {what}; see the README's single sign-on section"
            ))
        };
        let issuer = IssuerUrl::new(settings.issuer_url.clone())
            .map_err(|e| invalid(&format!("issuer_url is not a URL ({e})")))?;
        let redirect = RedirectUrl::new(settings.redirect_url.clone())
            .map_err(|e| invalid(&format!("redirect_url is not a URL ({e})")))?;
        if !redirect.url().path().ends_with("/auth/callback") {
            return Err(invalid(
                "redirect_url must be devex's /auth/callback as the browser reaches it",
            ));
        }
        if settings.admin_groups.is_empty() && settings.viewer_groups.is_empty() {
            return Err(invalid(
                "names no admin_groups or viewer_groups, so nobody could sign in",
            ));
        }
        if settings.session_hours == 0 {
            return Err(invalid("session_hours must be at least 1"));
        }
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer send devex
            // anywhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the OIDC HTTP client: {e}")))?;
        Ok(Oidc {
            secure: redirect.url().scheme() == "https",
            settings: settings.clone(),
            issuer,
            redirect,
            http,
            provider: tokio::sync::Mutex::new(None),
            sessions: Sessions::new(Duration::from_secs(
                u64::from(settings.session_hours) * 3600,
            )),
        })
    }

    /// The provider's client, discovered now or within the last hour.
    async fn client(&self) -> Result<ProviderClient> {
        let mut kept = self.provider.lock().await;
        if let Some((fetched, client)) = kept.as_ref() {
            if fetched.elapsed() < DISCOVERY_LIFETIME {
                return Ok(client.clone());
            }
        }
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                Error::IdentityProvider(format!(
                    "cannot read the identity provider's discovery document or keys at {}: {}",
                    self.issuer.as_str(),
                    chain(&e)
                ))
            })?;
        // Basic authentication unless the provider takes the secret only in
        // the body.
        let body_only = metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|methods| {
                methods.contains(&CoreClientAuthMethod::ClientSecretPost)
                    && !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
            });
        let client: ProviderClient = Client::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(self.redirect.clone())
        .set_auth_type(if body_only {
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        });
        *kept = Some((Instant::now(), client.clone()));
        Ok(client)
    }

    /// Forgets the provider's metadata and keys: read again next time.
    async fn forget_provider(&self) {
        *self.provider.lock().await = None;
    }

    /// Starts a sign-in: the provider's authorization address to send the
    /// browser to, carrying a PKCE challenge, a state and a nonce.
    pub async fn begin(&self, next: &str) -> Result<url::Url> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        self.sessions.start_login(
            state.secret(),
            PendingLogin::new(verifier, nonce, local_path(next)),
        );
        Ok(url)
    }

    /// Finishes a sign-in from the provider's callback: exchanges the code,
    /// checks the ID token, maps the groups to a role and opens a session.
    /// A refusal names the subject when one is known (for the audit log).
    pub async fn finish(
        &self,
        code: &str,
        state: &str,
    ) -> std::result::Result<SignedIn, (Error, Option<String>)> {
        let pending = self.sessions.take_login(state).ok_or_else(|| {
            (
                Error::Unauthorized(
                    "this sign-in is unknown, already used or older than 10 minutes; sign in again"
                        .into(),
                ),
                None,
            )
        })?;
        let client = self.client().await.map_err(|e| (e, None))?;
        let provider_error = |what: String| (Error::IdentityProvider(what), None);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| provider_error(format!("the provider names no token endpoint: {e}")))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| provider_error(format!("the code exchange failed: {}", chain(&e))))?;
        let id_token = tokens.extra_fields().id_token().ok_or_else(|| {
            provider_error("the provider's token answer has no ID token; is `openid` an allowed scope of this client?".into())
        })?;
        let claims = match id_token.claims(&client.id_token_verifier(), &pending.nonce) {
            Ok(claims) => claims,
            Err(e) => {
                // Perhaps the provider rotated its keys: read them again
                // before the next sign-in.
                self.forget_provider().await;
                return Err((
                    Error::Unauthorized(format!("the ID token failed its check: {}", chain(&e))),
                    None,
                ));
            }
        };
        let subject = claims.subject().to_string();
        let mut groups = groups(
            &claims.additional_claims().claims,
            &self.settings.groups_claim,
        );
        if groups.is_none() && client.user_info_url().is_some() {
            groups = self
                .groups_from_userinfo(&client, tokens.access_token().clone(), claims.subject())
                .await
                .map_err(|e| (e, Some(subject.clone())))?;
        }
        let groups = groups.unwrap_or_default();
        let Some(role) = self.role(&groups) else {
            return Err((
                Error::Forbidden(format!(
                    "you are in none of devex's groups ({} in `{}`); ask an admin to add you to one of [auth.oidc] admin_groups or viewer_groups",
                    if groups.is_empty() { "no groups".to_string() } else { format!("{} groups", groups.len()) },
                    self.settings.groups_claim
                )),
                Some(subject),
            ));
        };
        let session = self.sessions.open(subject.clone(), role);
        Ok(SignedIn {
            session,
            subject,
            role,
            next: pending.next,
        })
    }

    /// The groups in the userinfo answer, for providers that leave them out
    /// of the ID token.
    async fn groups_from_userinfo(
        &self,
        client: &ProviderClient,
        access_token: openidconnect::AccessToken,
        subject: &openidconnect::SubjectIdentifier,
    ) -> Result<Option<Vec<String>>> {
        let request = client
            .user_info(access_token, Some(subject.clone()))
            .map_err(|e| Error::IdentityProvider(format!("userinfo: {e}")))?;
        let info: UserInfoClaims<OtherClaims, CoreGenderClaim> =
            request.request_async(&self.http).await.map_err(|e| {
                Error::IdentityProvider(format!("the userinfo request failed: {}", chain(&e)))
            })?;
        Ok(groups(
            &info.additional_claims().claims,
            &self.settings.groups_claim,
        ))
    }

    /// Admin before viewer; `None` for someone in neither.
    fn role(&self, groups: &[String]) -> Option<Role> {
        let member = |wanted: &[String]| groups.iter().any(|g| wanted.contains(g));
        if member(&self.settings.admin_groups) {
            Some(Role::Admin)
        } else if member(&self.settings.viewer_groups) {
            Some(Role::Viewer)
        } else {
            None
        }
    }

    /// The cookie's name: `__Host-` behind TLS, so no subdomain can set it.
    fn cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-devex_session"
        } else {
            "devex_session"
        }
    }

    /// The session id a request's cookie carries.
    pub fn session_id(&self, headers: &HeaderMap) -> Option<String> {
        let name = self.cookie_name();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(std::result::Result::ok)
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string())
    }

    /// The live session of a request, if it carries one.
    pub fn session(&self, headers: &HeaderMap) -> Option<Session> {
        self.sessions.find(&self.session_id(headers)?)
    }

    /// `Set-Cookie` for a new session: `HttpOnly`, `SameSite=Lax`, `Secure`
    /// behind TLS, lasting as long as the session.
    pub fn session_cookie(&self, id: &str) -> String {
        let lifetime = i64::try_from(self.sessions.lifetime().as_secs()).unwrap_or(i64::MAX);
        cookie::Cookie::build((self.cookie_name(), id.to_string()))
            .http_only(true)
            .secure(self.secure)
            .same_site(cookie::SameSite::Lax)
            .path("/")
            .max_age(cookie::time::Duration::seconds(lifetime))
            .build()
            .to_string()
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn removal_cookie(&self) -> String {
        let mut removal = cookie::Cookie::build((self.cookie_name(), ""))
            .http_only(true)
            .secure(self.secure)
            .same_site(cookie::SameSite::Lax)
            .path("/")
            .build();
        removal.make_removal();
        removal.to_string()
    }
}

/// A claim's groups: a list of names or one name, found by its whole name
/// first (namespaced claims hold dots), else as a dotted path.
fn groups(claims: &serde_json::Map<String, serde_json::Value>, claim: &str) -> Option<Vec<String>> {
    let value = claims.get(claim).or_else(|| {
        let mut parts = claim.split('.');
        let first = claims.get(parts.next()?)?;
        parts.try_fold(first, |value, part| value.get(part))
    })?;
    match value {
        serde_json::Value::String(one) => Some(vec![one.clone()]),
        serde_json::Value::Array(many) => Some(
            many.iter()
                .filter_map(|g| g.as_str().map(str::to_string))
                .collect(),
        ),
        _ => None,
    }
}

/// A path on this server to return to after signing in; anything else
/// (another host, `//evil.example`) becomes the overview, so the sign-in
/// cannot be used as an open redirect.
pub fn local_path(next: &str) -> String {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if !local || next.starts_with("/auth/") {
        return "/".to_string();
    }
    // Percent-encoded past printable ASCII: the path goes into a Location
    // header (`/teams/zürich` stays reachable).
    let mut path = String::with_capacity(next.len());
    for c in next.chars() {
        if c.is_ascii_graphic() {
            path.push(c);
        } else {
            let mut bytes = [0u8; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                path.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    path
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OidcSettings {
        OidcSettings {
            issuer_url: "https://login.example.com".into(),
            client_id: "devex".into(),
            client_secret: Some("hunter2".into()),
            redirect_url: "https://devex.example.com/auth/callback".into(),
            admin_groups: vec!["platform".into()],
            viewer_groups: vec!["eng".into(), "managers".into()],
            groups_claim: "groups".into(),
            scopes: vec![],
            session_hours: 8,
        }
    }

    #[test]
    fn groups_map_to_the_highest_role() {
        let oidc = Oidc::new(&settings()).unwrap();
        let role =
            |groups: &[&str]| oidc.role(&groups.iter().map(|g| g.to_string()).collect::<Vec<_>>());
        assert_eq!(role(&["eng", "platform"]), Some(Role::Admin));
        assert_eq!(role(&["managers"]), Some(Role::Viewer));
        assert_eq!(role(&["sales"]), None);
        assert_eq!(role(&[]), None);
        assert_eq!(role(&["Platform"]), None, "names match exactly");
    }

    #[test]
    fn groups_are_read_by_name_or_dotted_path() {
        let claims = |json: serde_json::Value| json.as_object().unwrap().clone();
        let c = claims(serde_json::json!({
            "groups": ["a", "b", 3],
            "https://example.com/groups": "ns",
            "realm_access": {"roles": ["admin"]},
        }));
        assert_eq!(groups(&c, "groups"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(
            groups(&c, "https://example.com/groups"),
            Some(vec!["ns".into()])
        );
        assert_eq!(groups(&c, "realm_access.roles"), Some(vec!["admin".into()]));
        assert_eq!(groups(&c, "roles"), None);
    }

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path("/teams/payments?x=1"), "/teams/payments?x=1");
        assert_eq!(local_path("/teams/zürich a"), "/teams/z%C3%BCrich%20a");
        assert!(axum::http::HeaderValue::from_str(&local_path("/ü\u{2028}")).is_ok());
        for hostile in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/auth/login",
            "/a\r\nSet-Cookie: x",
        ] {
            assert_eq!(local_path(hostile), "/", "{hostile}");
        }
    }

    #[test]
    fn settings_are_checked_and_the_secret_never_shown() {
        let shown = format!("{:?}", settings());
        assert!(!shown.contains("hunter2"), "{shown}");
        let mut bad = settings();
        bad.viewer_groups.clear();
        bad.admin_groups.clear();
        let refusal = |settings: &OidcSettings| Oidc::new(settings).err().unwrap().to_string();
        assert!(refusal(&bad).contains("nobody"));
        let mut bad = settings();
        bad.redirect_url = "https://devex.example.com/".into();
        assert!(refusal(&bad).contains("/auth/callback"));
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_behind_tls() {
        let oidc = Oidc::new(&settings()).unwrap();
        let cookie = oidc.session_cookie("abc");
        for part in [
            "__Host-devex_session=abc",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=28800",
        ] {
            assert!(cookie.contains(part), "{cookie}");
        }
        let mut plain = settings();
        plain.redirect_url = "http://127.0.0.1:8080/auth/callback".into();
        let oidc = Oidc::new(&plain).unwrap();
        let cookie = oidc.session_cookie("abc");
        assert!(cookie.starts_with("devex_session=abc"), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "other=1; devex_session=abc".parse().unwrap(),
        );
        assert_eq!(oidc.session_id(&headers).as_deref(), Some("abc"));
        assert!(oidc.removal_cookie().contains("Max-Age=0"));
    }
}

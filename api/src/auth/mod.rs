//! Who may call what: API tokens with a role (`tokens`), the rules mapping
//! each route to the role it needs and the middleware applying them
//! (`guard`), the portal's single sign-on (`oidc`, with its `sessions`),
//! and the `[auth]` settings. Webhooks are not here: each source
//! checks its own signature or token.

pub mod guard;
pub mod limits;
pub mod oidc;
pub mod sessions;
pub mod tokens;

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A random 256-bit secret from the operating system's generator, as
/// base64url without padding (43 characters): API tokens and session ids.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What a token or a signed-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads reports, the portal and /metrics.
    Viewer,
    /// Posts events (`/api/v1/events/*`).
    Ingest,
    /// Everything.
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Ingest => "ingest",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self == Role::Admin || self == needed
    }
}

impl std::str::FromStr for Role {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> crate::error::Result<Role> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "ingest" => Ok(Role::Ingest),
            "admin" => Ok(Role::Admin),
            other => Err(crate::error::Error::invalid_parameter(
                "role",
                format!("`{other}` is not one of viewer, ingest, admin"),
            )),
        }
    }
}

/// `[auth]` in the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Serve /metrics without a token (for a Prometheus that cannot send one).
    pub public_metrics: bool,
    /// `Host` header values the server answers (besides its bound address
    /// and `localhost`), so a DNS-rebinding page cannot read a loopback
    /// server. Names, optionally with `:port`.
    pub allowed_hosts: Vec<String>,
    /// Requests a second one token (or, without a token, one address) may
    /// make to the API and the portal, on average...
    pub requests_per_second: u32,
    /// ...and at once.
    pub burst: u32,
    /// A client must send a request's headers within this many seconds.
    pub header_timeout_seconds: u64,
    /// The portal's single sign-on (`[auth.oidc]`).
    pub oidc: Option<oidc::OidcSettings>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            public_metrics: false,
            allowed_hosts: Vec::new(),
            requests_per_second: 50,
            burst: 200,
            header_timeout_seconds: 10,
            oidc: None,
        }
    }
}

//! Portal sessions and sign-ins in progress, both in memory: a restart signs
//! everyone out, which a fresh sign-in through the identity provider undoes
//! in a click.
//!
//! A session id is a random 256-bit value held only by the browser (in an
//! `HttpOnly` cookie); the server keeps its SHA-256, so the map is never
//! probed with the secret itself. Both maps are bounded: the oldest entry
//! makes room for a new one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::{Nonce, PkceCodeVerifier};
use sha2::{Digest, Sha256};

use super::Role;

/// A sign-in not finished within this is forgotten.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const MAX_SESSIONS: usize = 100_000;
const MAX_PENDING: usize = 10_000;

/// A signed-in portal user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The identity provider's subject identifier.
    pub subject: String,
    pub role: Role,
    expires: Instant,
}

/// A sign-in sent to the identity provider and not yet back.
pub struct PendingLogin {
    /// The PKCE secret whose hash went out with the authorization request.
    pub verifier: PkceCodeVerifier,
    /// What the ID token must carry back.
    pub nonce: Nonce,
    /// The portal path to return to.
    pub next: String,
    started: Instant,
}

impl PendingLogin {
    pub fn new(verifier: PkceCodeVerifier, nonce: Nonce, next: String) -> PendingLogin {
        PendingLogin {
            verifier,
            nonce,
            next,
            started: Instant::now(),
        }
    }
}

type Key = [u8; 32];

fn key(secret: &str) -> Key {
    Sha256::digest(secret.as_bytes()).into()
}

/// At `max` entries, removes the oldest (smallest `age`) to make room for
/// one more.
fn make_room<V>(map: &mut HashMap<Key, V>, max: usize, age: impl Fn(&V) -> Instant) {
    if map.len() < max {
        return;
    }
    let oldest = map.iter().min_by_key(|(_, v)| age(v)).map(|(k, _)| *k);
    if let Some(oldest) = oldest {
        map.remove(&oldest);
    }
}

#[derive(Default)]
struct Kept {
    sessions: HashMap<Key, Session>,
    pending: HashMap<Key, PendingLogin>,
}

/// The sessions and pending sign-ins of one server.
pub struct Sessions {
    kept: Mutex<Kept>,
    lifetime: Duration,
}

impl Sessions {
    /// Sessions that last `lifetime` from sign-in.
    pub fn new(lifetime: Duration) -> Sessions {
        Sessions {
            kept: Mutex::new(Kept::default()),
            lifetime,
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic elsewhere while holding the lock leaves plain maps behind:
        // still consistent, so keep using them.
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers a sign-in under its `state` value.
    pub fn start_login(&self, state: &str, login: PendingLogin) {
        let mut kept = self.kept();
        kept.pending
            .retain(|_, p| p.started.elapsed() < LOGIN_TIMEOUT);
        make_room(&mut kept.pending, MAX_PENDING, |p| p.started);
        kept.pending.insert(key(state), login);
    }

    /// The sign-in a callback's `state` belongs to, once: a replayed
    /// callback finds nothing.
    pub fn take_login(&self, state: &str) -> Option<PendingLogin> {
        self.kept()
            .pending
            .remove(&key(state))
            .filter(|p| p.started.elapsed() < LOGIN_TIMEOUT)
    }

    /// Opens a session and returns its id, for the cookie.
    pub fn open(&self, subject: String, role: Role) -> String {
        let id = super::random_secret();
        let now = Instant::now();
        let mut kept = self.kept();
        kept.sessions.retain(|_, s| s.expires > now);
        make_room(&mut kept.sessions, MAX_SESSIONS, |s| s.expires);
        kept.sessions.insert(
            key(&id),
            Session {
                subject,
                role,
                expires: now + self.lifetime,
            },
        );
        id
    }

    /// The live session a cookie's id names.
    pub fn find(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut kept = self.kept();
        let id = key(id);
        match kept.sessions.get(&id) {
            Some(session) if session.expires > now => Some(session.clone()),
            Some(_) => {
                kept.sessions.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Ends a session (signing out); returns it if it was live.
    pub fn close(&self, id: &str) -> Option<Session> {
        self.kept()
            .sessions
            .remove(&key(id))
            .filter(|s| s.expires > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(next: &str) -> PendingLogin {
        PendingLogin::new(
            PkceCodeVerifier::new("v".into()),
            Nonce::new("n".into()),
            next.into(),
        )
    }

    #[test]
    fn a_session_is_found_by_its_id_until_closed() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let id = sessions.open("sub-1".into(), Role::Viewer);
        assert_eq!(id.len(), 43, "256 bits, base64url");
        let found = sessions.find(&id).unwrap();
        assert_eq!(
            (found.subject.as_str(), found.role),
            ("sub-1", Role::Viewer)
        );
        assert!(sessions.find("not-an-id").is_none());
        assert!(sessions.close(&id).is_some());
        assert!(sessions.find(&id).is_none());
        assert_ne!(
            sessions.open("a".into(), Role::Admin),
            sessions.open("a".into(), Role::Admin)
        );
    }

    #[test]
    fn an_expired_session_is_gone() {
        let sessions = Sessions::new(Duration::ZERO);
        let id = sessions.open("sub".into(), Role::Admin);
        assert!(sessions.find(&id).is_none());
    }

    #[test]
    fn a_sign_in_is_taken_once() {
        let sessions = Sessions::new(Duration::from_secs(60));
        sessions.start_login("state-1", login("/cost"));
        assert!(sessions.take_login("state-2").is_none());
        assert_eq!(sessions.take_login("state-1").unwrap().next, "/cost");
        assert!(sessions.take_login("state-1").is_none(), "a replay");
    }

    #[test]
    fn pending_sign_ins_are_bounded() {
        let sessions = Sessions::new(Duration::from_secs(60));
        for i in 0..MAX_PENDING + 5 {
            sessions.start_login(&format!("s{i}"), login("/"));
        }
        assert_eq!(sessions.kept().pending.len(), MAX_PENDING);
        assert!(sessions
            .take_login(&format!("s{}", MAX_PENDING + 4))
            .is_some());
    }
}

//! The writer lock of a lake in an object store, where no file can be
//! locked: a lease object, `_devex/writer.lease`, naming its holder, when
//! the hold expires and the count of write turns taken so far.
//!
//! A writer takes the lease by creating the object (create-if-absent) or,
//! when the lease found has expired or was released, by replacing exactly
//! the version it read (a conditional put on its ETag): of two writers
//! racing, one put fails and that writer waits. A holder renews the lease
//! while it writes; one that dies stops renewing and its lease expires
//! after [`LEASE_TTL`], so a crashed server never blocks the lake for good.
//! Expiry compares wall clocks of different machines: they must agree to
//! within a few seconds (NTP), far less than the TTL.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How long a hold lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often a holder renews.
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// The lease object, relative to the lake.
pub const LEASE_OBJECT: &str = "_devex/writer.lease";

#[derive(Debug, Serialize, Deserialize)]
struct LeaseBody {
    holder: String,
    /// Milliseconds since the epoch; 0 when released.
    expires_at_ms: i64,
    turns: u64,
}

/// A held lease; give it back with [`WriterLease::release`] (a lease only
/// dropped expires after [`LEASE_TTL`]).
pub struct WriterLease {
    shared: Arc<tokio::sync::Mutex<Held>>,
    renewal: tokio::task::JoinHandle<()>,
}

struct Held {
    store: Arc<dyn ObjectStore>,
    holder: String,
    version: UpdateVersion,
    turns: u64,
    released: bool,
}

impl Drop for WriterLease {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn location() -> StorePath {
    StorePath::from(LEASE_OBJECT)
}

fn storage_error(source: object_store::Error) -> Error {
    Error::Storage {
        path: LEASE_OBJECT.into(),
        source,
    }
}

fn version_of(result: &object_store::PutResult) -> UpdateVersion {
    UpdateVersion {
        e_tag: result.e_tag.clone(),
        version: result.version.clone(),
    }
}

fn payload(body: &LeaseBody) -> PutPayload {
    // A three-field struct always serializes.
    PutPayload::from(Bytes::from(serde_json::to_vec(body).unwrap_or_default()))
}

impl WriterLease {
    /// Takes the lease, waiting while another live writer holds it.
    /// Returns it and the number of turns taken before this one.
    pub async fn acquire(store: Arc<dyn ObjectStore>) -> Result<(WriterLease, u64)> {
        let holder = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            hex::encode(rand::random::<[u8; 4]>())
        );
        let mut waited = Duration::ZERO;
        let mut said = false;
        loop {
            let (mode, taken) = match store.get(&location()).await {
                Ok(found) => {
                    let version = UpdateVersion {
                        e_tag: found.meta.e_tag.clone(),
                        version: found.meta.version.clone(),
                    };
                    let bytes = found.bytes().await.map_err(storage_error)?;
                    // An unreadable lease (a partial manual edit) is free.
                    let body: Option<LeaseBody> = serde_json::from_slice(&bytes).ok();
                    match body {
                        Some(b) if b.expires_at_ms > now_ms() => {
                            if !said && waited >= Duration::from_secs(2) {
                                tracing::info!(holder = %b.holder, "Waiting for another writer of the lake.");
                                said = true;
                            }
                            let pause = Duration::from_millis(20 + rand::random::<u64>() % 80);
                            tokio::time::sleep(pause).await;
                            waited += pause;
                            continue;
                        }
                        Some(b) => (PutMode::Update(version), b.turns),
                        None => (PutMode::Update(version), 0),
                    }
                }
                Err(object_store::Error::NotFound { .. }) => (PutMode::Create, 0),
                Err(source) => return Err(storage_error(source)),
            };
            let body = LeaseBody {
                holder: holder.clone(),
                expires_at_ms: now_ms() + LEASE_TTL.as_millis() as i64,
                turns: taken + 1,
            };
            let options = PutOptions {
                mode,
                ..Default::default()
            };
            match store.put_opts(&location(), payload(&body), options).await {
                Ok(result) => {
                    let shared = Arc::new(tokio::sync::Mutex::new(Held {
                        store,
                        holder,
                        version: version_of(&result),
                        turns: taken + 1,
                        released: false,
                    }));
                    let renewal = tokio::spawn(renew(shared.clone()));
                    return Ok((WriterLease { shared, renewal }, taken));
                }
                // Another writer got there first.
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => continue,
                Err(source) => return Err(storage_error(source)),
            }
        }
    }

    /// Gives the lease back at once, for the next writer.
    pub async fn release(self) -> Result<()> {
        let mut held = self.shared.lock().await;
        held.released = true;
        match held.rewrite(0).await {
            Ok(()) => Ok(()),
            // Lost to expiry meanwhile: another writer holds it now.
            Err(object_store::Error::Precondition { .. }) => {
                tracing::warn!("The lake's writer lease had expired before it was released.");
                Ok(())
            }
            Err(source) => Err(storage_error(source)),
        }
    }
}

impl Held {
    /// Replaces the held version of the lease with one expiring at
    /// `expires_at_ms` (0: released), and holds the new version.
    async fn rewrite(&mut self, expires_at_ms: i64) -> object_store::Result<()> {
        let body = LeaseBody {
            holder: self.holder.clone(),
            expires_at_ms,
            turns: self.turns,
        };
        let options = PutOptions {
            mode: PutMode::Update(self.version.clone()),
            ..Default::default()
        };
        let result = self
            .store
            .put_opts(&location(), payload(&body), options)
            .await?;
        self.version = version_of(&result);
        Ok(())
    }
}

/// Renews the lease every [`RENEW_EVERY`] until it is released.
async fn renew(shared: Arc<tokio::sync::Mutex<Held>>) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let mut held = shared.lock().await;
        if held.released {
            return;
        }
        if let Err(e) = held.rewrite(now_ms() + LEASE_TTL.as_millis() as i64).await {
            tracing::error!(error = %e, "The lake's writer lease could not be renewed; another writer may take it.");
            return;
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn one_writer_at_a_time_and_turns_count_across_writers() {
        // In memory: the local file system store has no conditional update.
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let (first, taken) = WriterLease::acquire(store.clone()).await.unwrap();
        assert_eq!(taken, 0);
        let waiting = tokio::spawn(WriterLease::acquire(store.clone()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "a held lease was taken");
        first.release().await.unwrap();
        let (second, taken) = waiting.await.unwrap().unwrap();
        assert_eq!(taken, 1);
        second.release().await.unwrap();
    }

    #[tokio::test]
    async fn an_expired_lease_of_a_dead_writer_is_taken_over() {
        // In memory: the local file system store has no conditional update.
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let dead = LeaseBody {
            holder: "gone:1:x".into(),
            expires_at_ms: now_ms() - 1,
            turns: 7,
        };
        store.put(&location(), payload(&dead)).await.unwrap();
        let (lease, taken) = WriterLease::acquire(store.clone()).await.unwrap();
        assert_eq!(taken, 7);
        lease.release().await.unwrap();
    }
}

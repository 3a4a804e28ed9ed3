//! Answers that never wait for the derive. A server marks its
//! [`LakeQueries`] with [`LakeQueries::answer_while_deriving`]; from then on
//! a report reads the newest generation of its settings that is complete
//! (published by `derive::incremental::materialize` under the cache lock,
//! so the last one published is the newest content) and, when events
//! arrived since, a derive runs in the background to publish the next one.
//! Only the very first report of a settings family, with nothing published
//! yet, waits. A command-line process always derives first: its one answer
//! must include everything stored.
//!
//! A report's `data_as_of` comes from the generation it read (see
//! [`crate::generations::data_as_of`]), so a stale answer says so.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use datafusion::prelude::SessionContext;

use crate::error::Result;
use crate::LakeQueries;

type Derived = Pin<Box<dyn Future<Output = Result<SessionContext>> + Send>>;

/// Derives one settings family's generation for the lake's current content.
pub(crate) type Derive = Arc<dyn Fn(LakeQueries) -> Derived + Send + Sync>;

/// The newest generation of each settings family, and the background
/// derives running.
#[derive(Default)]
pub(crate) struct Published {
    answer_while_deriving: bool,
    newest: HashMap<String, (SessionContext, Option<Derive>)>,
    /// One lock per family, held while a generation of it is derived.
    derive_locks: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// Families being derived in the background; `true` when asked again
    /// meanwhile (events may have arrived after that derive listed the lake).
    deriving: HashMap<String, bool>,
}

impl LakeQueries {
    /// Reports answer from the newest complete generation while a newer one
    /// is derived (for a server; see [`crate::published`]).
    pub fn answer_while_deriving(&self) {
        if let Ok(mut published) = self.published().lock() {
            published.answer_while_deriving = true;
        }
    }

    /// Whether this process derives again and again (a server): it keeps
    /// what makes the next derive cheaper, such as the commit graph.
    pub(crate) fn keeps_derive_state(&self) -> bool {
        self.published()
            .lock()
            .is_ok_and(|published| published.answer_while_deriving)
    }

    /// Starts a background derive of every published settings family, when
    /// answering while deriving: called when events were stored, so the next
    /// report finds them derived.
    pub fn derive_in_background(&self) {
        let families: Vec<(String, Derive)> = match self.published().lock() {
            Ok(published) if published.answer_while_deriving => published
                .newest
                .iter()
                .filter_map(|(family, (_, derive))| Some((family.clone(), derive.clone()?)))
                .collect(),
            _ => return,
        };
        for (family, derive) in families {
            start(self.clone(), family, derive);
        }
    }
}

/// The generation a report reads for `family`: the newest published one
/// when answering while deriving (starting a derive of the current content
/// beside it), otherwise `derive`'s, waited for.
pub(crate) async fn context(
    queries: &LakeQueries,
    family: &str,
    derive: Derive,
) -> Result<SessionContext> {
    let newest = match queries.published().lock() {
        Ok(mut published) if published.answer_while_deriving => {
            published.newest.get_mut(family).map(|(context, known)| {
                known.get_or_insert_with(|| derive.clone());
                context.clone()
            })
        }
        _ => None,
    };
    match newest {
        Some(context) => {
            start(queries.clone(), family.to_string(), derive);
            Ok(context)
        }
        None => {
            let context = derive(queries.clone()).await?;
            remember_derive(queries, family, derive);
            Ok(context)
        }
    }
}

/// Records `context` as the newest generation of `family`. Called under the
/// lock that serializes derives, so a later call never publishes older
/// content.
pub(crate) fn publish(queries: &LakeQueries, family: &str, context: &SessionContext) {
    if let Ok(mut published) = queries.published().lock() {
        let derive = published
            .newest
            .remove(family)
            .and_then(|(_, derive)| derive);
        published
            .newest
            .insert(family.to_string(), (context.clone(), derive));
    }
}

/// The lock held while a generation of `family` is derived.
pub(crate) fn derive_lock(queries: &LakeQueries, family: &str) -> Arc<tokio::sync::Mutex<()>> {
    match queries.published().lock() {
        Ok(mut published) => published
            .derive_locks
            .entry(family.to_string())
            .or_default()
            .clone(),
        // A poisoned lock: a panic elsewhere; derive without the guard
        // rather than not at all.
        Err(_) => Arc::default(),
    }
}

fn remember_derive(queries: &LakeQueries, family: &str, derive: Derive) {
    if let Ok(mut published) = queries.published().lock() {
        if let Some((_, known)) = published.newest.get_mut(family) {
            known.get_or_insert(derive);
        }
    }
}

/// A background derive running longer than this is reported in the log.
const SLOW_DERIVE: std::time::Duration = std::time::Duration::from_secs(30);

/// Derives `family` in the background unless that runs already (then it
/// runs once more after, for the events stored meanwhile).
fn start(queries: LakeQueries, family: String, derive: Derive) {
    match queries.published().lock() {
        Ok(mut published) => {
            if let Some(again) = published.deriving.get_mut(&family) {
                *again = true;
                return;
            }
            published.deriving.insert(family.clone(), false);
        }
        Err(_) => return,
    }
    crate::background::spawn(async move {
        loop {
            let running = derive(queries.clone());
            tokio::pin!(running);
            let outcome = tokio::select! {
                outcome = &mut running => outcome,
                () = tokio::time::sleep(SLOW_DERIVE) => {
                    // Reports keep answering from the previous generation
                    // meanwhile; say so rather than go stale in silence.
                    tracing::warn!(%family, seconds = SLOW_DERIVE.as_secs(), "a background derive is still running; reports answer from the previous generation until it ends");
                    running.await
                }
            };
            if let Err(e) = outcome {
                tracing::warn!(%family, error = %e, "a background derive failed; reports keep the previous generation");
            }
            let Ok(mut published) = queries.published().lock() else {
                return;
            };
            match published.deriving.get_mut(&family) {
                Some(again) if *again => *again = false,
                _ => {
                    published.deriving.remove(&family);
                    return;
                }
            }
        }
    });
}

/// Waits until no background derive of `queries` runs: a test that goes on
/// to append and derive itself must not race one (see the property test).
#[cfg(test)]
pub(crate) async fn background_idle(queries: &LakeQueries) {
    loop {
        let busy = match queries.published().lock() {
            Ok(published) => !published.deriving.is_empty(),
            Err(_) => false,
        };
        if !busy {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use crate::dora::{report, DoraRequest, DoraSettings};
    use crate::test_rows::append_deployment;
    use crate::LakeQueries;
    use ingest::lake::Lake;
    use std::sync::Arc;

    fn request() -> DoraRequest {
        let settings = DoraSettings::default();
        DoraRequest::parse("2026-03-01", "2026-04-01", None, None, None, None, settings).unwrap()
    }

    fn at(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        Some(text.parse().unwrap())
    }

    /// A server's report after new events answers at once from the previous
    /// generation, saying how old it is, and a later one finds the events
    /// derived in the background. A command-line process derives first.
    #[tokio::test]
    async fn a_server_answers_from_the_previous_generation_while_deriving() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
        append_deployment(&lake, "1", "aaa", "2026-03-02T10:00:00Z").await;
        let server = LakeQueries::open(lake.clone()).await.unwrap();
        server.answer_while_deriving();
        // Nothing derived yet: the first answer waits for it.
        let first = report(&server, &request()).await.unwrap();
        assert_eq!(first.overall.deployments, 1);
        assert_eq!(first.data_as_of, at("2026-03-02T10:00:00Z"));

        append_deployment(&lake, "2", "bbb", "2026-03-03T10:00:00Z").await;
        let stale = report(&server, &request()).await.unwrap();
        assert_eq!(stale.overall.deployments, 1, "the previous generation");
        assert_eq!(stale.data_as_of, at("2026-03-02T10:00:00Z"), "and its age");

        let mut fresh = stale;
        for _ in 0..200 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            fresh = report(&server, &request()).await.unwrap();
            if fresh.overall.deployments == 2 {
                break;
            }
        }
        assert_eq!(fresh.overall.deployments, 2, "derived in the background");
        assert_eq!(fresh.data_as_of, at("2026-03-03T10:00:00Z"));

        // Stored events start the derive before any report asks.
        append_deployment(&lake, "3", "ccc", "2026-03-04T10:00:00Z").await;
        server.derive_in_background();
        let mut derived = false;
        for _ in 0..200 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let published = server.published().lock().unwrap();
            let (context, _) = published.newest.values().next().unwrap();
            if crate::generations::data_as_of(context) == Some(at("2026-03-04T10:00:00Z")) {
                derived = true;
                break;
            }
        }
        assert!(derived, "derived without a report asking");

        let cli = LakeQueries::open(lake.clone()).await.unwrap();
        assert_eq!(
            report(&cli, &request()).await.unwrap().overall.deployments,
            3
        );
        append_deployment(&lake, "4", "ddd", "2026-03-05T10:00:00Z").await;
        let now = report(&cli, &request()).await.unwrap();
        assert_eq!(now.overall.deployments, 4, "a command derives first");
        assert_eq!(now.data_as_of, at("2026-03-05T10:00:00Z"));
    }
}

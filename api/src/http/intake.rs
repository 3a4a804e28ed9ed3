//! What the server keeps for webhook deliveries: each source's receiver
//! (built once from its section), the group-commit writer, and what each
//! delivery would otherwise look up again (the pseudonym key, the catalog as
//! sources see it).

use std::collections::BTreeMap;
use std::sync::Arc;

use analytics::LakeQueries;
use ingest::group_commit::GroupCommit;
use ingest::identity::Pseudonymizer;
use ingest::lake::Lake;
use ingest::sources::{CatalogView, Registry, WebhookReceiver};
use tokio::sync::{Mutex, OnceCell};

use crate::config::Config;
use crate::error::{Error, Result};

pub struct Intake {
    receivers: BTreeMap<&'static str, Box<dyn WebhookReceiver>>,
    pub committer: GroupCommit,
    pseudonymizer: OnceCell<Pseudonymizer>,
    /// The catalog as sources see it, read again only when the `services`
    /// files change.
    catalog: Mutex<CatalogCache>,
    /// The `[ai]` rules, compiled once.
    pub ai: ingest::ai_attribution::AiAttribution,
}

#[derive(Default)]
struct CatalogCache {
    /// The `services` data files the view was read from; `None` before the first read.
    files: Option<Vec<(String, u64)>>,
    view: Arc<CatalogView>,
}

impl Intake {
    /// Builds every receiver of `registry` from the configuration's sections
    /// and starts the writer.
    pub fn start(lake: Arc<Lake>, config: &Config, registry: &Registry) -> Result<Intake> {
        Ok(Intake {
            receivers: registry.receivers(&config.sources)?,
            committer: GroupCommit::start(lake),
            pseudonymizer: OnceCell::new(),
            catalog: Mutex::new(CatalogCache::default()),
            ai: config.ai_attribution()?,
        })
    }

    /// The receiver of `source`; an unknown one is a 404 naming the known.
    pub fn receiver(&self, source: &str) -> Result<&dyn WebhookReceiver> {
        match self.receivers.get(source) {
            Some(receiver) => Ok(receiver.as_ref()),
            None => Err(Error::NotFound(format!(
                "no webhook source `{source}`; devex receives webhooks from: {}",
                self.receivers
                    .keys()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    pub async fn pseudonymizer(&self, lake: &Lake, config: &Config) -> Result<&Pseudonymizer> {
        self.pseudonymizer
            .get_or_try_init(|| async {
                Pseudonymizer::for_developers(lake, config.identity_secret.as_deref())
                    .await
                    .map_err(Error::from)
            })
            .await
    }

    pub async fn catalog(&self, lake: &Lake, queries: &LakeQueries) -> Result<Arc<CatalogView>> {
        let files = lake.data_files(&ingest::schema::SERVICES).await?;
        let mut cache = self.catalog.lock().await;
        if cache.files.as_ref() != Some(&files) {
            cache.view = Arc::new(analytics::catalog::view(queries).await?);
            cache.files = Some(files);
        }
        Ok(cache.view.clone())
    }
}

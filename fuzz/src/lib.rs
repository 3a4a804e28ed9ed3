//! What the fuzz targets share: every source's webhook receiver, built
//! with its default section, fed a delivery; a scratch file for the
//! importers.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ingest::identity::Pseudonymizer;
use ingest::sources::catalog::CatalogView;
use ingest::sources::webhook::{DeliveryId, WebhookContext, WebhookReceiver};
use ingest::sources::Registry;

type Receivers = BTreeMap<&'static str, Box<dyn WebhookReceiver>>;

fn receivers() -> &'static Receivers {
    static RECEIVERS: OnceLock<Receivers> = OnceLock::new();
    RECEIVERS.get_or_init(|| {
        Registry::builtin()
            .receivers(&BTreeMap::new())
            .expect("every receiver builds from an empty section")
    })
}

/// Feeds `body` to `source`'s receiver as an event of the type picked by
/// the first byte among `events` (sources that read the type from the body
/// pass one). A panic is the finding; errors are fine.
pub fn deliver(source: &str, events: &[&str], data: &[u8]) {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let receiver = receivers()
        .get(source)
        .unwrap_or_else(|| panic!("no receiver {source}"));
    let event = events[*selector as usize % events.len()];
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(event) {
        headers.insert("x-github-event", value.clone());
        headers.insert("x-gitlab-event", value.clone());
        headers.insert("ce-type", value);
    }
    headers.insert("ce-id", http::HeaderValue::from_static("fuzz"));
    let _ = receiver.identify(&headers, body);
    let pseudonymizer = Pseudonymizer::new(b"fuzz");
    let catalog = CatalogView::default();
    let context = WebhookContext {
        pseudonymizer: &pseudonymizer,
        catalog: &catalog,
        ai: ingest::ai_attribution::AiAttribution::defaults(),
    };
    let delivery = DeliveryId {
        id: "fuzz".into(),
        event: event.to_string(),
    };
    let _ = receiver.parse(&delivery, body, &context);
}

/// Writes `body` to this process's scratch file with `extension` (the
/// importers read files by path and pick the format by extension).
pub fn scratch_file(extension: &str, body: &[u8]) -> Option<std::path::PathBuf> {
    let path = std::env::temp_dir().join(format!(
        "devex-fuzz-{}.{extension}",
        std::process::id()
    ));
    std::fs::write(&path, body).ok()?;
    Some(path)
}

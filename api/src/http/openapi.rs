//! The OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! attributes and the answer types themselves (`utoipa::ToSchema` on the
//! report types of `analytics` and `surveys`), so it cannot drift from what
//! the server sends. `tests/e2e/openapi.rs` validates each endpoint's real
//! JSON against its schema; `docs/openapi.json` is a copy for readers, kept
//! current by a test.

use std::sync::LazyLock;

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use super::status::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "devex API",
        description = "DevEx metrics and feedback analytics: DORA, DevEx and SPACE measures, surveys, platform adoption and cost. Every report takes `format=json|csv|table`; the schemas describe the JSON. Errors are `{\"error\": {\"code\", \"message\"}}` with a 4xx or 5xx status; `code` is stable.",
        license(name = "Apache-2.0")
    ),
    paths(
        super::ops::healthz,
        super::ops::metrics,
        super::ops::openapi,
        super::catalog::tables,
        super::catalog::catalog,
        super::catalog::entity_scorecard,
        super::dora::dora_report,
        super::dora::dora_series,
        super::dora::dora_deployments,
        super::devex::devex_report,
        super::devex::space_report,
        super::devex::compare_periods,
        super::cost::cost_report,
        super::cost::cost_lines,
        super::adoption::adoption_report,
        super::adoption::onboarding_report,
        super::ai::ai_report,
        super::events::usage_events,
        super::surveys::survey_waves,
        super::surveys::survey_results,
        super::surveys::survey_compare,
        super::surveys::survey_perceived_vs_measured,
        super::audit::audit_log,
        super::query::query,
        super::webhooks::receive,
    ),
    components(schemas(ErrorBody)),
    modifiers(&ErrorsAndAccess)
)]
struct ApiDoc;

/// The document as served, built once.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| {
            format!("{{\"error\": \"cannot render the OpenAPI document: {e}\"}}")
        })
    });
    &DOCUMENT
}

/// The error answers every operation shares, and how callers authenticate.
struct ErrorsAndAccess;

impl Modify for ErrorsAndAccess {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.responses.insert(
            "Error".into(),
            ResponseBuilder::new()
                .description("An error: a stable code and a message saying what to do")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                        .build(),
                )
                .build()
                .into(),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `devex token create --role viewer|ingest|admin`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "devex_session",
                "The portal's single sign-on session (`__Host-devex_session` behind TLS)",
            ))),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                add_errors(path, operation);
            }
        }
    }
}

/// Which error statuses a path can answer, by how it is guarded.
fn add_errors(path: &str, operation: &mut Operation) {
    let statuses: &[&str] = match path {
        "/healthz" => &[],
        "/metrics" => &["401", "403", "429"],
        p if p.starts_with("/webhooks/") => &["400", "401", "404", "413", "429", "503"],
        _ => &["400", "401", "403", "404", "413", "429", "500", "503"],
    };
    for status in statuses {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| Ref::from_response_name("Error").into());
    }
    if path != "/healthz" && !path.starts_with("/webhooks/") {
        // A bearer token or a portal session; neither on a loopback bind
        // without tokens (the empty requirement).
        operation.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::default(),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_type_is_a_component_and_every_ref_resolves() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let text = document();
        let mut unresolved = Vec::new();
        for piece in text.split("\"$ref\": \"#/components/").skip(1) {
            let target = piece.split('"').next().unwrap();
            let mut parts = target.splitn(2, '/');
            let (kind, name) = (parts.next().unwrap(), parts.next().unwrap());
            if doc["components"][kind].get(name).is_none() {
                unresolved.push(target.to_string());
            }
        }
        assert!(unresolved.is_empty(), "{unresolved:?}");
        for name in [
            "DoraReport",
            "DevexReport",
            "CostReport",
            "SurveyResults",
            "Money",
        ] {
            assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
        }
    }

    /// `docs/openapi.json` is what the server serves; regenerate it with
    /// `DEVEX_WRITE_OPENAPI=1 cargo test -p devex-api openapi`.
    #[test]
    fn the_copy_in_docs_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
        let current = format!("{}\n", document());
        if std::env::var_os("DEVEX_WRITE_OPENAPI").is_some() {
            std::fs::write(path, &current).unwrap();
        }
        let copy = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            copy == current,
            "docs/openapi.json is stale: run DEVEX_WRITE_OPENAPI=1 cargo test -p devex-api openapi"
        );
    }
}

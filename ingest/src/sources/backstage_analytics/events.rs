//! Backstage analytics events as platform usage rows.

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::config::MappingRule;
use crate::canonical::{Micros, PlatformUsage, Row};
use crate::identity::Pseudonymizer;
use crate::sources::backstage::aliases::user_identity;
use crate::sources::json::parse_time;
use crate::vocabulary::USAGE_OUTCOME;

/// The events of a delivery: one event, a list, or `{"events": [...]}`.
pub fn events_of(body: &Json) -> Result<Vec<&Json>, String> {
    match body {
        Json::Array(list) => Ok(list.iter().collect()),
        Json::Object(map) => match map.get("events") {
            Some(Json::Array(list)) => Ok(list.iter().collect()),
            Some(_) => Err("`events` is not a list".into()),
            None => Ok(vec![body]),
        },
        _ => Err("the body is not an event, a list of events or {\"events\": [...]}".into()),
    }
}

/// Where an event keeps a value: the first of `paths` that holds text.
fn first_text(event: &Json, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|path| {
        let mut at = event;
        for part in path.split('.') {
            at = at.get(part)?;
        }
        at.as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    })
}

/// The fields a mapping reads.
struct Fields {
    plugin_id: String,
    action: String,
    subject: String,
    route_ref: String,
    extension: String,
}

impl Fields {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{pluginId}", &self.plugin_id)
            .replace("{action}", &self.action)
            .replace("{subject}", &self.subject)
            .replace("{routeRef}", &self.route_ref)
            .replace("{extension}", &self.extension)
    }
}

fn matches(pattern: &Option<String>, value: &str) -> bool {
    match pattern.as_deref() {
        None => true,
        Some(p) => match p.strip_suffix('*') {
            Some(prefix) => value.starts_with(prefix),
            None => p == value,
        },
    }
}

/// The user's name in a Backstage user entity ref (`user:default/jane`,
/// `user:jane` or `jane`).
fn user_name(reference: &str) -> &str {
    reference
        .rsplit_once('/')
        .map(|(_, n)| n)
        .or_else(|| reference.split_once(':').map(|(_, n)| n))
        .unwrap_or(reference)
}

/// What became of one event.
pub enum Mapped {
    Row(Row),
    Skipped,
}

/// What the receiver knows beside the event.
pub struct Lookup<'a> {
    pub pseudonymizer: &'a Pseudonymizer,
    /// The developer id of a user's `backstage-user:<name>` pseudonym.
    pub developer_of: &'a dyn Fn(&str) -> Option<String>,
    /// A developer's current team.
    pub team_of: &'a dyn Fn(&str) -> Option<String>,
}

/// One event as a row. `delivery` and `index` name it when it carries no id
/// of its own; `received_at` stands in when it carries no time.
pub fn event_row(
    event: &Json,
    index: usize,
    delivery: &str,
    received_at: i64,
    mapping: &[MappingRule],
    lookup: &Lookup<'_>,
) -> Result<Mapped, String> {
    let here = |field: &str| format!("events[{index}].{field}");
    if !event.is_object() {
        return Err(format!("events[{index}] is not a JSON object"));
    }
    let required = |paths: &[&str]| {
        first_text(event, paths).ok_or_else(|| format!("{} is missing", here(paths[0])))
    };
    let fields = Fields {
        plugin_id: required(&["context.pluginId"])?,
        action: required(&["action"])?,
        subject: required(&["subject"])?,
        route_ref: first_text(event, &["context.routeRef"]).unwrap_or_default(),
        extension: first_text(event, &["context.extension"]).unwrap_or_default(),
    };
    let user_ref = first_text(
        event,
        &["user", "userEntityRef", "context.userEntityRef", "context.userId"],
    )
    .ok_or_else(|| {
        format!(
            "{} is missing: send the user's entity ref (user, userEntityRef or context.userEntityRef), e.g. user:default/jane",
            here("user")
        )
    })?;
    let rule = mapping.iter().find(|r| {
        matches(&r.plugin_id, &fields.plugin_id)
            && matches(&r.action, &fields.action)
            && matches(&r.subject, &fields.subject)
            && matches(&r.route_ref, &fields.route_ref)
    });
    if rule.is_some_and(|r| r.skip) {
        return Ok(Mapped::Skipped);
    }
    let tool = rule
        .and_then(|r| r.tool.as_deref())
        .map_or_else(|| fields.plugin_id.clone(), |t| fields.fill(t));
    let feature = rule.and_then(|r| r.feature.as_deref()).map_or_else(
        || format!("{}:{}", fields.action, fields.subject),
        |f| fields.fill(f),
    );
    let at = match first_text(event, &["timestamp", "at", "time", "context.timestamp"]) {
        None => received_at,
        Some(raw) => parse_time(&raw).ok_or_else(|| {
            format!(
                "{}: `{raw}` is not an RFC 3339 time, e.g. 2026-11-30T09:00:00Z",
                here("timestamp")
            )
        })?,
    };
    let outcome = match first_text(event, &["attributes.outcome"]) {
        None => None,
        Some(raw) => Some(
            USAGE_OUTCOME
                .normalise(&raw)
                .map_err(|m| format!("{}: {m}", here("attributes.outcome")))?
                .to_string(),
        ),
    };
    // The catalog's id for the user when it knows them (by e-mail), so
    // their team is known too.
    let alias = lookup
        .pseudonymizer
        .pseudonym(&user_identity(user_name(&user_ref)));
    let user = (lookup.developer_of)(&alias).unwrap_or(alias);
    let team =
        first_text(event, &["context.team", "attributes.team"]).or_else(|| (lookup.team_of)(&user));
    let event_id = match first_text(event, &["id", "event_id"]) {
        Some(id) => format!("backstage-analytics:{id}"),
        None => {
            let digest = Sha256::digest(format!("{delivery}\u{1f}{index}"));
            format!("backstage-analytics:{}", hex::encode(&digest[..12]))
        }
    };
    Ok(Mapped::Row(
        PlatformUsage {
            event_id,
            user,
            team,
            tool,
            feature,
            at: Micros(at),
            outcome,
        }
        .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::Value;
    use serde_json::json;

    fn row(event: &Json, mapping: &[MappingRule]) -> Result<Vec<Value>, String> {
        let p = Pseudonymizer::new(b"k");
        let lookup = Lookup {
            pseudonymizer: &p,
            developer_of: &|_| None,
            team_of: &|_| None,
        };
        match event_row(event, 0, "d1", 1_000_000, mapping, &lookup)? {
            Mapped::Row(row) => Ok(row.1),
            Mapped::Skipped => Err("skipped".into()),
        }
    }

    #[test]
    fn plugin_is_the_tool_and_action_subject_the_feature() {
        let event = json!({
            "action": "create", "subject": "template:default/service", "value": 1,
            "attributes": {"entityRef": "template:default/service"},
            "context": {"pluginId": "scaffolder", "routeRef": "scaffolder", "extension": "App"},
            "user": "user:default/jane"
        });
        let values = row(&event, &[]).unwrap();
        let p = Pseudonymizer::new(b"k");
        assert_eq!(values[1], Value::text(p.pseudonym("backstage-user:jane")));
        assert_eq!(values[3], Value::text("scaffolder"));
        assert_eq!(values[4], Value::text("create:template:default/service"));
        assert_eq!(values[5], Value::Timestamp(1_000_000));
    }

    #[test]
    fn a_mapping_renames_or_skips() {
        let navigate = json!({
            "action": "navigate", "subject": "/catalog/default/component/web",
            "context": {"pluginId": "catalog", "routeRef": "catalog:entity"},
            "userEntityRef": "user:default/jane", "timestamp": "2026-11-02T09:00:00Z"
        });
        let rules = vec![MappingRule {
            action: Some("navigate".into()),
            plugin_id: Some("cat*".into()),
            tool: Some("portal".into()),
            feature: Some("view:{routeRef}".into()),
            ..MappingRule::default()
        }];
        let values = row(&navigate, &rules).unwrap();
        assert_eq!(values[3], Value::text("portal"));
        assert_eq!(values[4], Value::text("view:catalog:entity"));
        let skip = vec![MappingRule {
            action: Some("navigate".into()),
            skip: true,
            ..MappingRule::default()
        }];
        assert_eq!(row(&navigate, &skip).unwrap_err(), "skipped");
    }

    #[test]
    fn missing_fields_are_named() {
        let err = row(
            &json!({"action": "click", "subject": "x", "user": "jane"}),
            &[],
        )
        .unwrap_err();
        assert!(
            err.contains("events[0].context.pluginId is missing"),
            "{err}"
        );
        let err = row(
            &json!({"action": "click", "subject": "x", "context": {"pluginId": "p"}}),
            &[],
        )
        .unwrap_err();
        assert!(err.contains("events[0].user is missing"), "{err}");
        let err = row(
            &json!({"action": "click", "subject": "x", "context": {"pluginId": "p"}, "user": "u", "timestamp": "soon"}),
            &[],
        )
        .unwrap_err();
        assert!(err.contains("events[0].timestamp: `soon`"), "{err}");
    }

    #[test]
    fn bodies_hold_one_event_a_list_or_events() {
        assert_eq!(events_of(&json!({"action": "a"})).unwrap().len(), 1);
        assert_eq!(events_of(&json!([{}, {}])).unwrap().len(), 2);
        assert_eq!(events_of(&json!({"events": [{}]})).unwrap().len(), 1);
        assert!(events_of(&json!("x")).is_err());
    }
}

//! Platform usage events sent to devex (`POST /api/v1/events/usage`): a JSON
//! array of `{event_id?, user, team?, tool, feature, at, outcome?}`, checked
//! as a whole (one bad event refuses the delivery, naming its index and
//! field, so nothing is half stored), the user pseudonymised before it is
//! kept. An event without an `event_id` gets one from its content, so a
//! redelivery is stored once.

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::canonical::{Micros, PlatformUsage, Rows};
use crate::error::RowError;
use crate::identity::Pseudonymizer;
use crate::sources::json::parse_time;
use crate::vocabulary::USAGE_OUTCOME;

/// At most this many events per delivery: larger batches should be split.
pub const MAX_EVENTS: usize = 10_000;

fn error(index: usize, field: &str, message: impl Into<String>) -> RowError {
    RowError {
        line: index as u64,
        field: format!("events[{index}].{field}"),
        message: message.into(),
    }
}

/// The rows of a delivery, or every problem found (up to 20).
pub fn parse(body: &Json, pseudonymizer: &Pseudonymizer) -> Result<Rows, Vec<RowError>> {
    let Some(events) = body.as_array() else {
        return Err(vec![RowError {
            line: 0,
            field: "-".into(),
            message: "the body must be a JSON array of events".into(),
        }]);
    };
    if events.len() > MAX_EVENTS {
        return Err(vec![RowError {
            line: 0,
            field: "-".into(),
            message: format!(
                "{} events in one delivery; send at most {MAX_EVENTS}",
                events.len()
            ),
        }]);
    }
    let mut rows = Vec::with_capacity(events.len());
    let mut errors = Vec::new();
    for (index, event) in events.iter().enumerate() {
        match event_row(index, event, pseudonymizer) {
            Ok(row) => rows.push(row),
            Err(e) => {
                if errors.len() < 20 {
                    errors.push(e);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn event_row(
    index: usize,
    event: &Json,
    pseudonymizer: &Pseudonymizer,
) -> Result<crate::canonical::Row, RowError> {
    let text = |field: &str| -> Result<Option<String>, RowError> {
        match &event[field] {
            Json::Null => Ok(None),
            Json::String(s) if s.trim().is_empty() => Ok(None),
            Json::String(s) => Ok(Some(s.trim().to_string())),
            other => Err(error(index, field, format!("`{other}` is not text"))),
        }
    };
    let required = |field: &str| text(field)?.ok_or_else(|| error(index, field, "is missing"));
    if !event.is_object() {
        return Err(error(index, "-", "is not a JSON object"));
    }
    let user = required("user")?;
    let tool = required("tool")?;
    let feature = required("feature")?;
    let at_text = required("at")?;
    let at = parse_time(&at_text).ok_or_else(|| {
        error(
            index,
            "at",
            format!("`{at_text}` is not an RFC 3339 time, e.g. 2026-11-30T09:00:00Z"),
        )
    })?;
    let outcome = match text("outcome")? {
        None => None,
        Some(raw) => Some(
            USAGE_OUTCOME
                .normalise(&raw)
                .map_err(|m| error(index, "outcome", m))?
                .to_string(),
        ),
    };
    let user = pseudonymizer.pseudonym(&user);
    let event_id = match text("event_id")? {
        Some(id) => format!("usage:{id}"),
        None => {
            let digest = Sha256::digest(format!("{user}\u{1f}{tool}\u{1f}{feature}\u{1f}{at}"));
            format!("usage:{}", hex::encode(&digest[..12]))
        }
    };
    Ok(PlatformUsage {
        event_id,
        user,
        team: text("team")?,
        tool,
        feature,
        at: Micros(at),
        outcome,
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::Value;

    #[test]
    fn events_become_rows_with_pseudonyms_and_stable_ids() {
        let p = Pseudonymizer::new(b"k");
        let body = serde_json::json!([
            {"event_id": "e1", "user": "ana@example.com", "team": "payments", "tool": "portal", "feature": "catalog", "at": "2026-11-30T09:00:00Z", "outcome": "Succeeded"},
            {"user": "bo@example.com", "tool": "cli", "feature": "scaffold", "at": "2026-11-30T10:00:00+01:00"}
        ]);
        let rows = parse(&body, &p).unwrap();
        assert_eq!(rows.len(), 2);
        let (table, first) = &rows[0];
        assert_eq!(table.name, "platform_usage");
        assert_eq!(first[0], Value::text("usage:e1"));
        assert_eq!(first[1], Value::text(p.pseudonym("ana@example.com")));
        assert_eq!(first[6], Value::text("success"));
        assert!(!format!("{rows:?}").contains("example.com"));
        // The same event again gets the same id.
        let again = parse(&body, &p).unwrap();
        assert_eq!(rows[1].1[0], again[1].1[0]);
    }

    #[test]
    fn a_bad_event_names_its_index_and_field_and_nothing_is_taken() {
        let p = Pseudonymizer::new(b"k");
        let body = serde_json::json!([
            {"user": "a", "tool": "portal", "feature": "f", "at": "2026-11-30T09:00:00Z"},
            {"user": "b", "tool": "portal", "feature": "f", "at": "yesterday"},
            {"user": "c", "tool": "portal", "at": "2026-11-30T09:00:00Z", "outcome": "meh"}
        ]);
        let errors = parse(&body, &p).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "events[1].at");
        assert!(errors[0].message.contains("`yesterday`"));
        assert_eq!(errors[1].field, "events[2].feature");
        assert!(parse(&serde_json::json!({"user": "a"}), &p).is_err());
    }
}

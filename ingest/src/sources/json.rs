//! Reading fields of a JSON payload by dotted path (`deployment.sha`), with
//! errors that name the field: what every source's mapping shares.

use chrono::DateTime;
use serde_json::Value as Json;

use crate::sources::webhook::PayloadError;

/// The value at a dotted path (`a.b.c`); `Null` when any step is missing.
pub fn at<'a>(value: &'a Json, path: &str) -> &'a Json {
    let mut at = value;
    for key in path.split('.') {
        at = &at[key];
    }
    at
}

pub fn text(value: &Json, path: &str) -> Result<String, PayloadError> {
    match at(value, path) {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        _ => Err(PayloadError(format!("`{path}` is missing or not text"))),
    }
}

pub fn optional_text(value: &Json, path: &str) -> Option<String> {
    text(value, path).ok().filter(|s| !s.is_empty())
}

pub fn time(value: &Json, path: &str) -> Result<i64, PayloadError> {
    let raw = text(value, path)?;
    DateTime::parse_from_rfc3339(&raw)
        .map(|t| t.timestamp_micros())
        .map_err(|_| PayloadError(format!("`{path}`: `{raw}` is not an RFC 3339 time")))
}

pub fn optional_time(value: &Json, path: &str) -> Result<Option<i64>, PayloadError> {
    match optional_text(value, path) {
        None => Ok(None),
        Some(_) => time(value, path).map(Some),
    }
}

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

/// A time at `path`: RFC 3339, or the forms GitLab also sends
/// (`2016-08-12 15:23:28 UTC`, `2021-04-28 21:50:00 +0200`).
pub fn time(value: &Json, path: &str) -> Result<i64, PayloadError> {
    let raw = text(value, path)?;
    parse_time(&raw)
        .ok_or_else(|| PayloadError(format!("`{path}`: `{raw}` is not an RFC 3339 time")))
}

/// Microseconds since the epoch of an RFC 3339 time or GitLab's other forms.
pub fn parse_time(raw: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.timestamp_micros());
    }
    if let Ok(t) = DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S %z") {
        return Some(t.timestamp_micros());
    }
    let utc = raw.strip_suffix(" UTC")?;
    chrono::NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_micros())
}

pub fn optional_time(value: &Json, path: &str) -> Result<Option<i64>, PayloadError> {
    match optional_text(value, path) {
        None => Ok(None),
        Some(_) => time(value, path).map(Some),
    }
}

/// The files a pushed commit touched (`added`, `modified`, `removed`, as
/// GitHub and GitLab push payloads list them), sorted; `None` when the
/// payload does not say.
pub fn touched_files(commit: &Json) -> Option<Vec<String>> {
    let lists: Vec<&Vec<Json>> = ["added", "modified", "removed"]
        .iter()
        .filter_map(|key| commit[*key].as_array())
        .collect();
    if lists.is_empty() {
        return None;
    }
    let mut files: Vec<String> = lists
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    files.sort();
    files.dedup();
    Some(files)
}

/// The paths a pull or merge request changes, from the items of GitHub's
/// pull request files (`filename`, `previous_filename`) or GitLab's merge
/// request diffs (`new_path`, `old_path`): a rename touches both paths.
/// Sorted and without repeats.
pub fn changed_paths(items: &[Json], keys: [&str; 2]) -> Vec<String> {
    let mut paths: Vec<String> = items
        .iter()
        .flat_map(|item| keys.iter().filter_map(|key| item[*key].as_str()))
        .map(str::to_string)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_paths_take_both_sides_of_a_rename() {
        let github = serde_json::json!([
            {"filename": "services/pay/a.rs", "status": "modified"},
            {"filename": "services/ship/b.rs", "previous_filename": "services/pay/b.rs", "status": "renamed"},
            {"filename": "services/pay/a.rs", "status": "modified"}
        ]);
        assert_eq!(
            changed_paths(
                github.as_array().unwrap(),
                ["filename", "previous_filename"]
            ),
            [
                "services/pay/a.rs",
                "services/pay/b.rs",
                "services/ship/b.rs"
            ]
        );
        let gitlab = serde_json::json!([{"old_path": "README.md", "new_path": "README.md"}]);
        assert_eq!(
            changed_paths(gitlab.as_array().unwrap(), ["new_path", "old_path"]),
            ["README.md"]
        );
    }

    #[test]
    fn times_in_every_form_sources_send() {
        let utc = parse_time("2016-08-12T15:23:28Z").unwrap();
        assert_eq!(parse_time("2016-08-12 15:23:28 UTC"), Some(utc));
        assert_eq!(parse_time("2016-08-12 17:23:28 +0200"), Some(utc));
        assert_eq!(parse_time("2016-08-12T17:23:28+02:00"), Some(utc));
        assert_eq!(parse_time("12/08/2016"), None);
        let value = serde_json::json!({"a": {"b": "yesterday"}});
        assert!(time(&value, "a.b").unwrap_err().0.contains("`a.b`"));
    }
}

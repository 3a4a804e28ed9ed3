//! One Copilot usage-metrics user record (a line of a `users-1-day` report)
//! to `ai_usage` rows.
//!
//! A record holds a person's day as totals and as separate breakdowns (by
//! feature, by IDE, by language and feature, and the CLI apart). They are
//! marginals, not a cross table, so the rows are:
//!
//! - one per surface (the features mapped to `ide`, `chat`, `agent`,
//!   `code_review`) and language, from the language-and-feature breakdown,
//!   plus a row without language holding what the languages do not cover
//!   (the surface's interactions always land there), so that the rows of a
//!   record sum to its feature totals;
//! - the editor only when the person used one IDE that day (several IDEs
//!   cannot be split by feature);
//! - one `cli` row from `totals_by_cli` (its prompts as interactions);
//! - a record with no breakdown at all (GitHub counts server-side activity
//!   without detail) becomes one `ide` row of its totals: the person was
//!   active.
//!
//! A row's id is its key and counts, so a day read again unchanged stores
//! nothing, and a changed day adds rows with a later `reported_at`, which
//! win.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::canonical::{AiUsage, Micros, Row, Rows};
use crate::identity::Pseudonymizer;

/// The tool every Copilot row names.
pub const TOOL: &str = "copilot";

/// A report line that cannot be read: what is wrong, for the error.
#[derive(Debug, PartialEq)]
pub struct RecordError(pub String);

/// The surface a Copilot feature is used on.
fn surface_of(feature: &str) -> &'static str {
    let feature = feature.to_ascii_lowercase();
    if feature.contains("review") {
        "code_review"
    } else if feature.contains("agent") {
        "agent"
    } else if feature.contains("chat") {
        "chat"
    } else {
        // code_completion, and features GitHub adds under the IDE.
        "ide"
    }
}

/// The counts of a breakdown entry (or of the record itself).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Counts {
    interactions: i64,
    suggestions: i64,
    acceptances: i64,
    lines_suggested: i64,
    lines_accepted: i64,
}

impl Counts {
    fn of(value: &Json) -> Counts {
        let n = |key: &str| value[key].as_i64().unwrap_or(0);
        Counts {
            interactions: n("user_initiated_interaction_count"),
            suggestions: n("code_generation_activity_count"),
            acceptances: n("code_acceptance_activity_count"),
            lines_suggested: n("loc_suggested_to_add_sum"),
            lines_accepted: n("loc_added_sum"),
        }
    }

    fn add(&mut self, other: Counts) {
        self.interactions += other.interactions;
        self.suggestions += other.suggestions;
        self.acceptances += other.acceptances;
        self.lines_suggested += other.lines_suggested;
        self.lines_accepted += other.lines_accepted;
    }

    /// What `self` holds beyond `part`, never below zero (GitHub's
    /// breakdowns are computed apart and may not add up exactly).
    fn beyond(self, part: Counts) -> Counts {
        Counts {
            interactions: (self.interactions - part.interactions).max(0),
            suggestions: (self.suggestions - part.suggestions).max(0),
            acceptances: (self.acceptances - part.acceptances).max(0),
            lines_suggested: (self.lines_suggested - part.lines_suggested).max(0),
            lines_accepted: (self.lines_accepted - part.lines_accepted).max(0),
        }
    }

    fn is_zero(&self) -> bool {
        *self == Counts::default()
    }
}

/// The `ai_usage` rows of one report line, reported at `reported_at`.
pub fn rows(
    record: &Json,
    pseudonymizer: &Pseudonymizer,
    reported_at: i64,
) -> Result<Rows, RecordError> {
    let login = record["user_login"]
        .as_str()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| RecordError("`user_login` is missing".into()))?;
    let day_text = record["day"]
        .as_str()
        .ok_or_else(|| RecordError("`day` is missing".into()))?;
    let day = chrono::NaiveDate::parse_from_str(day_text, "%Y-%m-%d")
        .map_err(|_| RecordError(format!("`day` {day_text:?} is not YYYY-MM-DD")))?;
    // The same identity the GitHub collector names pull request authors by.
    let user = pseudonymizer.pseudonym(login);
    let ides: Vec<&str> = record["totals_by_ide"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["ide"].as_str())
        .collect();
    let editor = match ides.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    };
    // Surface totals from the features; per surface, the languages' share.
    let mut surfaces: BTreeMap<&str, Counts> = BTreeMap::new();
    for feature in record["totals_by_feature"].as_array().into_iter().flatten() {
        let surface = surface_of(feature["feature"].as_str().unwrap_or(""));
        surfaces
            .entry(surface)
            .or_default()
            .add(Counts::of(feature));
    }
    let mut languages: BTreeMap<(&str, String), Counts> = BTreeMap::new();
    for entry in record["totals_by_language_feature"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let surface = surface_of(entry["feature"].as_str().unwrap_or(""));
        let Some(language) = entry["language"].as_str().filter(|l| !l.is_empty()) else {
            continue;
        };
        let mut counts = Counts::of(entry);
        // Interactions are the surface's, not a language's.
        counts.interactions = 0;
        languages
            .entry((surface, language.to_lowercase()))
            .or_default()
            .add(counts);
    }
    let cli = &record["totals_by_cli"];
    if surfaces.is_empty() && cli.is_null() {
        surfaces.insert("ide", Counts::of(record));
    }
    let make = |surface: &str, editor: Option<String>, language: Option<String>, c: Counts| {
        // The pseudonym, never GitHub's user id: ids are stored too.
        let id = format!(
            "copilot:{user}:{day}:{surface}:{editor}:{language}:{}:{}:{}:{}:{}",
            c.interactions,
            c.suggestions,
            c.acceptances,
            c.lines_suggested,
            c.lines_accepted,
            editor = editor.as_deref().unwrap_or("-"),
            language = language.as_deref().unwrap_or("-"),
        );
        Row::from(AiUsage {
            event_id: id,
            user: user.clone(),
            tool: TOOL.to_string(),
            day,
            surface: surface.to_string(),
            editor,
            language,
            interactions: Some(c.interactions),
            suggestions: Some(c.suggestions),
            acceptances: Some(c.acceptances),
            lines_suggested: Some(c.lines_suggested),
            lines_accepted: Some(c.lines_accepted),
            reported_at: Some(Micros(reported_at)),
        })
    };
    let mut out = Vec::new();
    for (surface, total) in &surfaces {
        let mut covered = Counts::default();
        for ((s, language), counts) in &languages {
            if s == surface {
                covered.add(*counts);
                out.push(make(
                    surface,
                    editor.clone(),
                    Some(language.clone()),
                    *counts,
                ));
            }
        }
        let rest = total.beyond(covered);
        if !rest.is_zero() || covered.is_zero() {
            out.push(make(surface, editor.clone(), None, rest));
        }
    }
    if cli.is_object() {
        let prompts = cli["prompt_count"]
            .as_i64()
            .or_else(|| cli["request_count"].as_i64())
            .unwrap_or(0);
        let counts = Counts {
            interactions: prompts,
            ..Counts::default()
        };
        out.push(make("cli", None, None, counts));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::Value;

    fn fixture() -> Json {
        let text = String::from_utf8(crate::sources::fixtures::bytes(
            "github-docs-copilot/users-1-day.ndjson",
        ))
        .unwrap();
        serde_json::from_str(text.lines().next().unwrap()).unwrap()
    }

    /// (surface, editor, language, interactions, suggestions, acceptances,
    /// lines suggested, lines accepted) of each row.
    fn summary(rows: &Rows) -> Vec<String> {
        rows.iter()
            .map(|(table, values)| {
                assert_eq!(table.name, "ai_usage");
                let text = |v: &Value| match v {
                    Value::Text(t) => t.clone(),
                    Value::Integer(n) => n.to_string(),
                    Value::Null => "-".into(),
                    other => format!("{other:?}"),
                };
                values[4..12].iter().map(text).collect::<Vec<_>>().join(" ")
            })
            .collect()
    }

    #[test]
    fn the_documented_record_gives_an_ide_row_per_language_and_a_cli_row() {
        let p = Pseudonymizer::new(b"k");
        let rows = rows(&fixture(), &p, 1).unwrap();
        assert_eq!(
            summary(&rows),
            ["ide vscode python 0 1 1 10 8", "cli - - 2 0 0 0 0"]
        );
        let (_, first) = &rows[0];
        assert_eq!(first[1], Value::text(p.pseudonym("octocat")));
        assert_eq!(first[2], Value::text("copilot"));
        assert_eq!(
            first[3],
            Value::date(chrono::NaiveDate::from_ymd_opt(2025, 10, 1).unwrap())
        );
        // Neither the login nor GitHub's user id reaches a row.
        let stored = format!("{rows:?}");
        assert!(
            !stored.contains("octocat") && !stored.contains(":1:2025"),
            "{stored}"
        );
    }

    #[test]
    fn features_map_to_surfaces_and_languages_sum_to_their_totals() {
        let record = serde_json::json!({
            "user_id": 7, "user_login": "ana", "day": "2026-03-02",
            "totals_by_ide": [{"ide": "vscode"}, {"ide": "intellij"}],
            "totals_by_feature": [
                {"feature": "code_completion", "code_generation_activity_count": 10,
                 "code_acceptance_activity_count": 4, "loc_suggested_to_add_sum": 30,
                 "loc_added_sum": 12, "user_initiated_interaction_count": 0},
                {"feature": "chat_panel_ask_mode", "user_initiated_interaction_count": 3},
                {"feature": "chat_inline", "user_initiated_interaction_count": 2,
                 "code_generation_activity_count": 1},
                {"feature": "chat_panel_agent_mode", "user_initiated_interaction_count": 5,
                 "code_generation_activity_count": 6, "code_acceptance_activity_count": 6,
                 "loc_suggested_to_add_sum": 80, "loc_added_sum": 80}
            ],
            "totals_by_language_feature": [
                {"feature": "code_completion", "language": "Rust",
                 "code_generation_activity_count": 7, "code_acceptance_activity_count": 3,
                 "loc_suggested_to_add_sum": 20, "loc_added_sum": 9},
                {"feature": "chat_panel_agent_mode", "language": "rust",
                 "code_generation_activity_count": 6, "code_acceptance_activity_count": 6,
                 "loc_suggested_to_add_sum": 80, "loc_added_sum": 80}
            ]
        });
        let rows = rows(&record, &Pseudonymizer::new(b"k"), 1).unwrap();
        // Two IDEs: no editor. The agent's languages cover it all; the
        // completions' Rust leaves 3 suggestions to the row without language.
        assert_eq!(
            summary(&rows),
            [
                "agent - rust 0 6 6 80 80",
                "agent - - 5 0 0 0 0",
                "chat - - 5 1 0 0 0",
                "ide - rust 0 7 3 20 9",
                "ide - - 0 3 1 10 3",
            ]
        );
    }

    #[test]
    fn a_record_without_detail_is_an_active_day_and_ids_follow_content() {
        let p = Pseudonymizer::new(b"k");
        let bare = serde_json::json!({"user_id": 9, "user_login": "bo", "day": "2026-03-02"});
        let first = rows(&bare, &p, 1).unwrap();
        assert_eq!(summary(&first), ["ide - - 0 0 0 0 0"]);
        // Read again later, unchanged: the same id (stored once).
        let again = rows(&bare, &p, 2).unwrap();
        assert_eq!(first[0].1[0], again[0].1[0]);
        let mut changed = bare.clone();
        changed["code_generation_activity_count"] = 4.into();
        let later = rows(&changed, &p, 3).unwrap();
        assert_ne!(first[0].1[0], later[0].1[0]);
    }

    #[test]
    fn a_record_without_login_or_day_is_refused() {
        let p = Pseudonymizer::new(b"k");
        let no_login = serde_json::json!({"day": "2026-03-02"});
        assert_eq!(
            rows(&no_login, &p, 1).unwrap_err(),
            RecordError("`user_login` is missing".into())
        );
        let bad_day = serde_json::json!({"user_login": "a", "day": "03/02/2026"});
        assert!(rows(&bad_day, &p, 1)
            .unwrap_err()
            .0
            .contains("not YYYY-MM-DD"));
    }
}

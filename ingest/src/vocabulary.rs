//! The closed sets of canonical columns: a deployment's status, a CI run's
//! or job's conclusion and status, an incident's severity, a platform use's
//! outcome. Metrics match these words exactly, so a row saying `succeeded`
//! would be stored and then silently missing from every measure.
//!
//! On the way in a value is normalised only where its meaning is certain
//! (case, spaces and dashes; `succeeded` and `successful` are `success`,
//! `failed` is `failure`, `canceled` is `cancelled`); anything else is
//! refused with the accepted values.

/// A closed set of words and the spellings read as them.
#[derive(Debug)]
pub struct Vocabulary {
    /// What the column holds, for messages (e.g. "deployment status").
    pub name: &'static str,
    pub accepted: &'static [&'static str],
    /// Other spellings of an accepted word, after case and separators.
    pub aliases: &'static [(&'static str, &'static str)],
}

const SUCCESS_FAILURE: &[(&str, &str)] = &[
    ("succeeded", "success"),
    ("successful", "success"),
    ("failed", "failure"),
    ("canceled", "cancelled"),
];

pub static DEPLOYMENT_STATUS: Vocabulary = Vocabulary {
    name: "deployment status",
    accepted: &["success", "failure", "error", "cancelled"],
    aliases: SUCCESS_FAILURE,
};

/// GitHub's check conclusions, which GitLab's and Jenkins' map onto.
pub static CI_CONCLUSION: Vocabulary = Vocabulary {
    name: "CI conclusion",
    accepted: &[
        "success",
        "failure",
        "cancelled",
        "timed_out",
        "skipped",
        "neutral",
        "action_required",
        "stale",
        "startup_failure",
    ],
    aliases: SUCCESS_FAILURE,
};

pub static CI_JOB_STATUS: Vocabulary = Vocabulary {
    name: "CI job status",
    accepted: &[
        "queued",
        "in_progress",
        "completed",
        "waiting",
        "requested",
        "pending",
    ],
    aliases: &[],
};

pub static INCIDENT_SEVERITY: Vocabulary = Vocabulary {
    name: "incident severity",
    accepted: &["sev1", "sev2", "sev3", "sev4", "sev5"],
    aliases: &[
        ("s1", "sev1"),
        ("s2", "sev2"),
        ("s3", "sev3"),
        ("s4", "sev4"),
        ("s5", "sev5"),
    ],
};

pub static USAGE_OUTCOME: Vocabulary = Vocabulary {
    name: "usage outcome",
    accepted: &["success", "failure", "abandoned"],
    aliases: SUCCESS_FAILURE,
};

pub static AI_SURFACE: Vocabulary = Vocabulary {
    name: "surface of an AI assistant",
    accepted: &["ide", "chat", "cli", "agent", "code_review"],
    aliases: &[
        ("editor", "ide"),
        ("code_completion", "ide"),
        ("completion", "ide"),
        ("review", "code_review"),
    ],
};

/// Every closed column: (table, column, vocabulary).
pub static CLOSED_COLUMNS: &[(&str, &str, &Vocabulary)] = &[
    ("deployments", "status", &DEPLOYMENT_STATUS),
    ("ci_runs", "conclusion", &CI_CONCLUSION),
    ("ci_jobs", "conclusion", &CI_CONCLUSION),
    ("ci_jobs", "status", &CI_JOB_STATUS),
    ("incidents", "severity", &INCIDENT_SEVERITY),
    ("platform_usage", "outcome", &USAGE_OUTCOME),
    ("ai_usage", "surface", &AI_SURFACE),
];

/// The closed set of a column, when it has one.
pub fn of(table: &str, column: &str) -> Option<&'static Vocabulary> {
    CLOSED_COLUMNS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, vocabulary)| *vocabulary)
}

impl Vocabulary {
    /// The accepted word `raw` means, or why it is refused.
    pub fn normalise(&self, raw: &str) -> Result<&'static str, String> {
        // Case and separators never change the meaning: `In Progress`,
        // `in-progress` and `in_progress` are one word; `SEV-1` is `sev1`.
        let folded: String = raw
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| if c == ' ' || c == '-' { '_' } else { c })
            .collect();
        let squeezed = folded.replace('_', "");
        let found = self
            .accepted
            .iter()
            .find(|word| **word == folded || word.replace('_', "") == squeezed)
            .or_else(|| {
                self.aliases
                    .iter()
                    .find(|(alias, _)| *alias == folded || alias.replace('_', "") == squeezed)
                    .map(|(_, word)| word)
            });
        found.copied().ok_or_else(|| {
            let aliases = if self.aliases.is_empty() {
                String::new()
            } else {
                format!(
                    " (also read: {})",
                    self.aliases
                        .iter()
                        .map(|(alias, word)| format!("{alias} as {word}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            format!(
                "`{raw}` is not a {}; accepted: {}{aliases}",
                self.name,
                self.accepted.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;

    #[test]
    fn certain_spellings_are_normalised_and_others_refused() {
        let status = &DEPLOYMENT_STATUS;
        for (raw, word) in [
            ("success", "success"),
            ("SUCCESS", "success"),
            (" Succeeded ", "success"),
            ("successful", "success"),
            ("failed", "failure"),
            ("Canceled", "cancelled"),
            ("error", "error"),
        ] {
            assert_eq!(status.normalise(raw), Ok(word), "{raw}");
        }
        let err = status.normalise("succeded").unwrap_err();
        assert!(
            err.contains("`succeded` is not a deployment status")
                && err.contains("accepted: success, failure, error, cancelled"),
            "{err}"
        );
        assert!(status.normalise("rolled_back").is_err());
        assert_eq!(CI_JOB_STATUS.normalise("In Progress"), Ok("in_progress"));
        assert_eq!(CI_CONCLUSION.normalise("timed-out"), Ok("timed_out"));
        assert_eq!(CI_CONCLUSION.normalise("TimedOut"), Ok("timed_out"));
        assert_eq!(INCIDENT_SEVERITY.normalise("SEV-1"), Ok("sev1"));
        assert_eq!(INCIDENT_SEVERITY.normalise("S2"), Ok("sev2"));
        // A priority is not a severity: refused, not guessed.
        assert!(INCIDENT_SEVERITY.normalise("P1").is_err());
        assert!(INCIDENT_SEVERITY.normalise("critical").is_err());
        assert_eq!(USAGE_OUTCOME.normalise("Abandoned"), Ok("abandoned"));
        assert!(USAGE_OUTCOME.normalise("maybe").is_err());
    }

    #[test]
    fn every_closed_column_exists_and_is_text() {
        for (table, column, _) in CLOSED_COLUMNS {
            let spec = schema::table(table).unwrap();
            let (_, column) = spec.column(column).expect("a closed column exists");
            assert_eq!(
                column.kind,
                schema::ColumnKind::Text,
                "{table}.{}",
                column.name
            );
        }
    }
}

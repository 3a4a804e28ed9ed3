//! Which AI assistant, if any, a commit or pull request came with.
//!
//! A merged pull request counts as AI-assisted when it carries one of the
//! configured labels, when one of its commits has a `Co-authored-by:`
//! trailer naming an assistant, or when its author is an agent account.
//! Collectors keep only the matched tool (`copilot`, `claude-code`, ...) on
//! the row, never the trailer's text: trailers carry names and e-mails.

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A pattern and the tool it names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ToolPattern {
    /// A regular expression, matched case-insensitively against the
    /// trailer's value (`Name <e-mail>`) or the author's login.
    pub pattern: String,
    pub tool: String,
}

/// The `[ai]` settings that say what is AI-assisted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AiAttributionSettings {
    /// Pull request labels that mark it AI-assisted (compared in lower case);
    /// the tool is the label itself.
    pub pr_labels: Vec<String>,
    pub coauthor_patterns: Vec<ToolPattern>,
    pub agent_authors: Vec<ToolPattern>,
}

fn pattern(pattern: &str, tool: &str) -> ToolPattern {
    ToolPattern {
        pattern: pattern.to_string(),
        tool: tool.to_string(),
    }
}

impl Default for AiAttributionSettings {
    fn default() -> Self {
        AiAttributionSettings {
            pr_labels: vec!["ai-assisted".into(), "copilot".into()],
            // The trailers the assistants write themselves, by their
            // addresses: people are called Claude and Devin too.
            coauthor_patterns: vec![
                pattern(
                    r"\+copilot@users\.noreply\.github\.com>?$|<copilot@github\.com>",
                    "copilot",
                ),
                pattern(r"@anthropic\.com>?$", "claude-code"),
                pattern(r"@cursor\.(com|sh)>?$", "cursor"),
                pattern(
                    r"devin-ai-integration(\[bot\])?@users\.noreply\.github\.com",
                    "devin",
                ),
            ],
            agent_authors: vec![
                pattern(r"^copilot-swe-agent(\[bot\])?$|^copilot$", "copilot"),
                pattern(r"^devin-ai-integration(\[bot\])?$", "devin"),
                pattern(r"^claude(\[bot\])?$", "claude-code"),
                pattern(r"^cursor(-agent)?(\[bot\])?$", "cursor"),
            ],
        }
    }
}

/// [`AiAttributionSettings`] with its patterns compiled.
#[derive(Debug, Clone)]
pub struct AiAttribution {
    labels: Vec<String>,
    coauthors: Vec<(Regex, String)>,
    agents: Vec<(Regex, String)>,
}

impl AiAttribution {
    /// Compiles the settings; a bad pattern is named with its setting.
    pub fn new(settings: &AiAttributionSettings) -> Result<AiAttribution> {
        let compile = |setting: &str, patterns: &[ToolPattern]| {
            patterns
                .iter()
                .map(|p| {
                    Regex::new(&format!("(?i){}", p.pattern))
                        .map(|regex| (regex, p.tool.clone()))
                        .map_err(|e| Error::SourceConfig {
                            message: format!(
                                "[ai] {setting}: `{}` is not a regular expression ({e}); fix or remove it",
                                p.pattern
                            ),
                        })
                })
                .collect::<Result<Vec<_>>>()
        };
        Ok(AiAttribution {
            labels: settings
                .pr_labels
                .iter()
                .map(|l| l.to_lowercase())
                .collect(),
            coauthors: compile("coauthor_patterns", &settings.coauthor_patterns)?,
            agents: compile("agent_authors", &settings.agent_authors)?,
        })
    }

    /// The default rules, compiled once (tests, the fuzz targets, tools
    /// without a configuration).
    pub fn defaults() -> &'static AiAttribution {
        static DEFAULTS: std::sync::LazyLock<AiAttribution> = std::sync::LazyLock::new(|| {
            // The defaults are checked by a unit test; no rules beats none.
            AiAttribution::new(&AiAttributionSettings::default()).unwrap_or(AiAttribution {
                labels: Vec::new(),
                coauthors: Vec::new(),
                agents: Vec::new(),
            })
        });
        &DEFAULTS
    }

    /// The tool a commit message's `Co-authored-by:` trailers name, if any.
    pub fn tool_of_commit(&self, message: &str) -> Option<&str> {
        message.lines().find_map(|line| {
            let (key, value) = line.trim().split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("co-authored-by") {
                return None;
            }
            let value = value.trim();
            self.coauthors
                .iter()
                .find(|(regex, _)| regex.is_match(value))
                .map(|(_, tool)| tool.as_str())
        })
    }

    /// The tool an agent account (`copilot-swe-agent[bot]`) is, if it is one.
    pub fn tool_of_agent(&self, login: &str) -> Option<&str> {
        self.agents
            .iter()
            .find(|(regex, _)| regex.is_match(login))
            .map(|(_, tool)| tool.as_str())
    }

    /// The tool of a commit: its trailers', else its author's when that is
    /// an agent account.
    pub fn tool_of_authored_commit(
        &self,
        message: Option<&str>,
        author_login: Option<&str>,
    ) -> Option<String> {
        message
            .and_then(|m| self.tool_of_commit(m))
            .or_else(|| author_login.and_then(|login| self.tool_of_agent(login)))
            .map(str::to_string)
    }

    /// The tool a pull request's labels or author name, if any: an agent
    /// author first (it wrote the change), then a label.
    pub fn tool_of_pull_request<L: AsRef<str>>(
        &self,
        author_login: Option<&str>,
        labels: impl IntoIterator<Item = L>,
    ) -> Option<&str> {
        let by_agent = author_login.and_then(|login| self.tool_of_agent(login));
        by_agent.or_else(|| {
            labels.into_iter().find_map(|label| {
                let label = label.as_ref().to_lowercase();
                self.labels
                    .iter()
                    .find(|known| **known == label)
                    .map(String::as_str)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> AiAttribution {
        AiAttribution::new(&AiAttributionSettings::default()).unwrap()
    }

    #[test]
    fn the_shared_defaults_hold_the_default_rules() {
        assert_eq!(
            AiAttribution::defaults().tool_of_agent("copilot-swe-agent[bot]"),
            Some("copilot")
        );
    }

    #[test]
    fn the_assistants_own_trailers_name_their_tool() {
        let rules = defaults();
        let cases = [
            ("Co-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>", Some("copilot")),
            ("Co-Authored-By: Claude <noreply@anthropic.com>", Some("claude-code")),
            ("Co-authored-by: Cursor Agent <cursoragent@cursor.com>", Some("cursor")),
            (
                "co-authored-by: devin-ai-integration[bot] <158243242+devin-ai-integration[bot]@users.noreply.github.com>",
                Some("devin"),
            ),
            // People as co-authors, and a mention outside a trailer.
            ("Co-authored-by: Ana Lima <ana@example.com>", None),
            ("Co-authored-by: Claude Dupont <claude@example.com>", None),
            ("Co-authored-by: Devin Smith <devin@example.com>", None),
            ("Ask Copilot about it\n\nReviewed-by: Claude Monet <claude@example.com>", None),
        ];
        for (trailer, tool) in cases {
            let message = format!("Fix the retry loop\n\nLonger text.\n\n{trailer}\n");
            assert_eq!(rules.tool_of_commit(&message), tool, "{trailer}");
        }
    }

    #[test]
    fn an_agent_author_comes_before_a_label() {
        let rules = defaults();
        assert_eq!(
            rules.tool_of_pull_request(Some("copilot-swe-agent[bot]"), ["ai-assisted"]),
            Some("copilot")
        );
        assert_eq!(
            rules.tool_of_pull_request(Some("ana"), ["bug", "AI-Assisted"]),
            Some("ai-assisted")
        );
        assert_eq!(rules.tool_of_pull_request(Some("ana"), ["bug"]), None);
        assert_eq!(rules.tool_of_pull_request(None, [] as [&str; 0]), None);
    }

    #[test]
    fn a_bad_pattern_is_named_with_its_setting() {
        let settings = AiAttributionSettings {
            agent_authors: vec![pattern("(unclosed", "x")],
            ..AiAttributionSettings::default()
        };
        let err = AiAttribution::new(&settings).unwrap_err().to_string();
        assert!(
            err.contains("[ai] agent_authors: `(unclosed` is not a regular expression"),
            "{err}"
        );
    }
}

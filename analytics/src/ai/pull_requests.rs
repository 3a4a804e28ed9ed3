//! The merged pull requests of a window and whether an AI assistant helped
//! (`ai_pull_requests.sql`, over the DevEx tables), for the AI-assisted share,
//! the impact comparison and the rollout effect.

use super::AiRequest;
use crate::columns::Columns;
use crate::error::Result;
use crate::template::{fill, sql_text};
use crate::LakeQueries;
use chrono::NaiveDate;

const PULL_REQUESTS: &str = include_str!("ai_pull_requests.sql");

/// One merged pull request. Its author is kept only to count distinct
/// authors for the privacy rule; it never leaves the crate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PullRequestRow {
    pub(crate) team: Option<String>,
    pub(crate) author: Option<String>,
    /// Microseconds since the epoch.
    pub(crate) merged_at: i64,
    pub(crate) cycle_time_hours: Option<f64>,
    pub(crate) pickup_hours: Option<f64>,
    pub(crate) review_hours: Option<f64>,
    pub(crate) size: Option<u64>,
    pub(crate) ai_tool: Option<String>,
    pub(crate) ci_attempts: u64,
    pub(crate) ci_failures: u64,
    pub(crate) reworked: bool,
    /// Whether 30 days after the merge are in the lake (rework counts).
    pub(crate) observed: bool,
}

/// `[ai] pr_labels` as a SQL CASE naming the first label present.
fn label_tool(labels: &[String]) -> String {
    let whens: Vec<String> = labels
        .iter()
        .map(|label| label.trim().to_lowercase())
        .filter(|label| !label.is_empty())
        .map(|label| {
            format!(
                "WHEN strpos(r.label_text, chr(31) || {} || chr(31)) > 0 THEN {}",
                sql_text(&label),
                sql_text(&label)
            )
        })
        .collect();
    match whens.is_empty() {
        true => "CAST(NULL AS VARCHAR)".to_string(),
        false => format!("CASE {} END", whens.join(" ")),
    }
}

/// The merged pull requests of local days `[from, to)`.
pub(crate) async fn rows(
    queries: &LakeQueries,
    request: &AiRequest,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<PullRequestRow>> {
    let devex = request.devex_request(from, to);
    let context = crate::devex::materialize(queries, &devex).await?;
    let mut values = request.instants(from, to).to_vec();
    values.push(("label_tool", label_tool(&request.settings.pr_labels)));
    let rework = match request.dora.rework_message_pattern.trim() {
        "" => "^$".to_string(),
        pattern => pattern.to_string(),
    };
    values.push(("rework_pattern", sql_text(&rework)));
    let result = queries
        .read_only_sql_on(&context, &fill(PULL_REQUESTS, &values)?)
        .await?;
    let c = Columns::new(&result.batches);
    let count = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
    let (teams, authors, tools) = (c.text("team")?, c.text("author")?, c.text("ai_tool")?);
    let merged = c.micros("merged_at")?;
    let (cycle, pickup, review) = (
        c.float("cycle_time_hours")?,
        c.float("pickup_hours")?,
        c.float("review_hours")?,
    );
    let (sizes, attempts, failures) =
        (c.int("size")?, c.int("ci_attempts")?, c.int("ci_failures")?);
    let (reworked, observed) = (c.boolean("reworked")?, c.boolean("observed")?);
    Ok((0..c.len())
        .map(|i| PullRequestRow {
            team: teams[i].clone(),
            author: authors[i].clone(),
            merged_at: merged[i].unwrap_or(0),
            cycle_time_hours: cycle[i],
            pickup_hours: pickup[i],
            review_hours: review[i],
            size: sizes[i].map(|s| s.max(0) as u64),
            ai_tool: tools[i].clone().filter(|t| !t.is_empty()),
            ci_attempts: count(attempts[i]),
            ci_failures: count(failures[i]),
            reworked: reworked[i].unwrap_or(false),
            observed: observed[i].unwrap_or(false),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_a_case_in_order() {
        assert_eq!(
            label_tool(&["AI-Assisted".into(), " ".into(), "copilot".into()]),
            "CASE WHEN strpos(r.label_text, chr(31) || 'ai-assisted' || chr(31)) > 0 THEN 'ai-assisted' \
             WHEN strpos(r.label_text, chr(31) || 'copilot' || chr(31)) > 0 THEN 'copilot' END"
        );
        assert_eq!(label_tool(&[]), "CAST(NULL AS VARCHAR)");
    }
}

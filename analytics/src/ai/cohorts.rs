//! Usage cohorts (`ai_cohorts.sql`): per team and calendar month, how many of
//! its developers used AI on no days, a few (light), many (moderate) or
//! most (heavy). Only counts are reported, and only where no cohort of
//! fewer than the minimum group size shows or can be worked out by
//! difference.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::request::{months, sql_date, sql_months};
use super::AiRequest;
use crate::columns::Columns;
use crate::error::Result;
use crate::privacy::Hidden;
use crate::template::fill;
use crate::LakeQueries;

const COHORTS: &str = include_str!("ai_cohorts.sql");

pub const COHORT_NAMES: [&str; 4] = ["none", "light", "moderate", "heavy"];

/// One team's month.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CohortMonth {
    pub team: String,
    /// The month's first day.
    pub month: NaiveDate,
    pub developers: Option<u64>,
    pub none: Option<u64>,
    pub light: Option<u64>,
    pub moderate: Option<u64>,
    pub heavy: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
}

/// Which of the parts of a whole (cohorts of a team's developers) may show:
/// each at least `min`, and the hidden ones together none or at least `min`
/// (else the smallest shown is hidden too, until that holds).
pub(crate) fn hidden_parts(parts: &BTreeMap<&str, u64>, min: u64) -> Vec<String> {
    let mut hidden: Vec<&str> = parts
        .iter()
        .filter(|(_, n)| **n > 0 && **n < min)
        .map(|(name, _)| *name)
        .collect();
    loop {
        let remainder: u64 = hidden.iter().map(|name| parts[name]).sum();
        if remainder == 0 || remainder >= min {
            return hidden.into_iter().map(str::to_string).collect();
        }
        let smallest = parts
            .iter()
            .filter(|(name, n)| **n > 0 && !hidden.contains(name))
            .min_by_key(|(name, n)| (**n, **name));
        match smallest {
            Some((name, _)) => hidden.push(name),
            None => return hidden.into_iter().map(str::to_string).collect(),
        }
    }
}

/// Team and month -> developers per cohort, over the AI use of days
/// `[from, to)` and the calendar months they touch (every team, whatever
/// the request's filter).
pub(super) async fn cohort_counts(
    queries: &LakeQueries,
    request: &AiRequest,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<(String, NaiveDate), BTreeMap<&'static str, u64>>> {
    let days = [("from_day", sql_date(from)), ("to_day", sql_date(to))];
    let thresholds = request.settings.cohort_days;
    let values = [
        ("usage_days", fill(super::USAGE_DAYS, &days)?),
        ("months", sql_months(&months(from, to))),
        ("light", thresholds.light.to_string()),
        ("moderate", thresholds.moderate.to_string()),
        ("heavy", thresholds.heavy.to_string()),
    ];
    let result = queries.read_only_sql(&fill(COHORTS, &values)?).await?;
    let c = Columns::new(&result.batches);
    let mut counts: BTreeMap<(String, NaiveDate), BTreeMap<&'static str, u64>> = BTreeMap::new();
    for (((team, month), cohort), n) in c
        .text("team")?
        .into_iter()
        .zip(c.dates("month")?)
        .zip(c.text("cohort")?)
        .zip(c.int("developers")?)
    {
        let (Some(team), Some(month), Some(cohort)) = (team, month, cohort) else {
            continue;
        };
        let Some(name) = COHORT_NAMES.iter().find(|c| **c == cohort) else {
            continue;
        };
        let parts = counts
            .entry((team, month))
            .or_insert_with(|| COHORT_NAMES.iter().map(|c| (*c, 0)).collect());
        *parts.entry(name).or_default() += n.unwrap_or(0).max(0) as u64;
    }
    Ok(counts)
}

pub(super) async fn cohorts(
    queries: &LakeQueries,
    request: &AiRequest,
) -> Result<Vec<CohortMonth>> {
    let mut counts = cohort_counts(queries, request, request.from, request.to).await?;
    if let Some(team) = &request.team {
        counts.retain(|(t, _), _| t == team);
    }
    let min = request.min_group_size() as u64;
    Ok(counts
        .into_iter()
        .map(|((team, month), parts)| {
            let developers: u64 = parts.values().sum();
            if developers < min {
                return CohortMonth {
                    team,
                    month,
                    developers: None,
                    none: None,
                    light: None,
                    moderate: None,
                    heavy: None,
                    hidden_reason: Some(Hidden::TooFew.reason(min as usize, "developers")),
                };
            }
            let hidden = hidden_parts(&parts, min);
            let shown = |name: &str| (!hidden.iter().any(|h| h == name)).then(|| parts[name]);
            CohortMonth {
                team,
                month,
                developers: Some(developers),
                none: shown("none"),
                light: shown("light"),
                moderate: shown("moderate"),
                heavy: shown("heavy"),
                hidden_reason: (!hidden.is_empty()).then(|| {
                    format!(
                        "{} hidden: fewer than {min} developers each, or they would give one away by difference",
                        hidden.join(", ")
                    )
                }),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cohorts_hide_and_do_not_show_by_difference() {
        let parts =
            |n: [u64; 4]| -> BTreeMap<&str, u64> { COHORT_NAMES.into_iter().zip(n).collect() };
        // heavy 2 is too few; showing the rest would give it away, so the
        // smallest shown (light, 5) hides too: 7 hidden together.
        assert_eq!(
            hidden_parts(&parts([20, 5, 8, 2]), 5),
            vec!["heavy", "light"]
        );
        // 3 and 2: hidden together they are 5, enough.
        assert_eq!(
            hidden_parts(&parts([20, 3, 8, 2]), 5),
            vec!["heavy", "light"]
        );
        assert!(hidden_parts(&parts([20, 0, 8, 5]), 5).is_empty());
    }
}

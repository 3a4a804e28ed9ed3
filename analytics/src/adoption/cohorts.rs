//! Retention cohorts: users by the month of their first platform event,
//! and the share of each cohort active in every month since
//! (`retention.sql` holds the definition).

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use super::{window_values, AdoptionRequest};
use crate::columns::Columns;
use crate::error::Result;
use crate::template::fill;
use crate::LakeQueries;

const RETENTION: &str = include_str!("retention.sql");

/// One cohort.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RetentionCohort {
    /// The month of the first event, `YYYY-MM`.
    pub cohort: String,
    /// Its users (null when hidden).
    pub users: Option<u64>,
    /// Share of the cohort active in its month (always 1), the next month,
    /// and so on to the window's last month; empty when hidden.
    pub retention: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
}

fn month_text(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// The months (`YYYY-MM`) from the window's first day's to its last day's.
fn window_months(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let last = to.checked_sub_days(Days::new(1)).unwrap_or(to);
    let mut months = Vec::new();
    let mut at = from.with_day(1).unwrap_or(from);
    while at <= last {
        months.push(month_text(at));
        match at.checked_add_months(chrono::Months::new(1)) {
            Some(next) => at = next,
            None => break,
        }
    }
    months
}

pub(super) async fn cohorts(
    queries: &LakeQueries,
    request: &AdoptionRequest,
) -> Result<Vec<RetentionCohort>> {
    let result = queries
        .read_only_sql(&fill(RETENTION, &window_values(request))?)
        .await?;
    let c = Columns::new(&result.batches);
    let mut active: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for ((cohort, month), users) in c
        .text("cohort")?
        .into_iter()
        .zip(c.text("month")?)
        .zip(c.int("users")?)
    {
        if let (Some(cohort), Some(month)) = (cohort, month) {
            active
                .entry(cohort)
                .or_default()
                .insert(month, users.unwrap_or(0) as u64);
        }
    }
    let months = window_months(request.from, request.to);
    let min = request.settings.min_group_size as u64;
    Ok(active
        .into_iter()
        .map(|(cohort, by_month)| {
            let size = by_month.get(&cohort).copied().unwrap_or(0);
            if size < min {
                return RetentionCohort {
                    cohort,
                    users: None,
                    retention: Vec::new(),
                    hidden_reason: Some(format!(
                        "fewer than {min} users (devex.min_group_size): too few to show without pointing at people"
                    )),
                };
            }
            let retention = months
                .iter()
                .skip_while(|m| **m != cohort)
                .map(|m| by_month.get(m).copied().unwrap_or(0) as f64 / size as f64)
                .collect();
            RetentionCohort {
                cohort,
                users: Some(size),
                retention,
                hidden_reason: None,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_months_run_from_the_first_day_to_the_last() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            window_months(day("2024-11-15"), day("2025-02-01")),
            vec!["2024-11", "2024-12", "2025-01"]
        );
        assert_eq!(
            window_months(day("2024-11-15"), day("2024-11-16")),
            vec!["2024-11"]
        );
    }
}

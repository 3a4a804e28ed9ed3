//! What an AI report is asked, and the `[ai]` settings: what marks work
//! AI-assisted (read by the collectors through
//! [`AiSettings::attribution`]), the cohort and size thresholds, and the
//! prices.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use ingest::ai_attribution::{AiAttributionSettings, ToolPattern};
use serde::{Deserialize, Serialize};

use crate::cost::{Amount, Money};
use crate::devex::{DevexRequest, DevexSettings};
use crate::dora::DoraSettings;
use crate::error::{Error, NameKind, Result};
use crate::template::{local_midnight, sql_instant, sql_text};
use crate::window::Window;
use crate::LakeQueries;

/// `[ai.cohort_days]`: active AI days in a month from which a developer is
/// light, moderate and heavy (fewer than `light`: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CohortDays {
    pub light: u32,
    pub moderate: u32,
    pub heavy: u32,
}

impl Default for CohortDays {
    fn default() -> Self {
        CohortDays {
            light: 1,
            moderate: 5,
            heavy: 12,
        }
    }
}

/// `[ai.size_buckets]`: lines changed (additions + deletions) from which a
/// pull request is M and L (fewer than `medium`: S).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SizeBuckets {
    pub medium: u64,
    pub large: u64,
}

impl Default for SizeBuckets {
    fn default() -> Self {
        SizeBuckets {
            medium: 100,
            large: 500,
        }
    }
}

impl SizeBuckets {
    pub fn bucket(&self, lines: u64) -> &'static str {
        if lines >= self.large {
            "L"
        } else if lines >= self.medium {
            "M"
        } else {
            "S"
        }
    }
}

/// `[ai]` in the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiSettings {
    /// Pull request labels that mark it AI-assisted (the tool is the label).
    pub pr_labels: Vec<String>,
    /// `Co-authored-by:` trailers that name an assistant.
    pub coauthor_patterns: Vec<ToolPattern>,
    /// Agent accounts that author commits and pull requests.
    pub agent_authors: Vec<ToolPattern>,
    pub cohort_days: CohortDays,
    pub size_buckets: SizeBuckets,
    /// Tool -> price of one seat for a month (`[ai.seat_price]`), in
    /// `cost.currency`; a seat is a person AI-active with the tool that month.
    pub seat_price: BTreeMap<String, Amount>,
    /// Regular expressions matched (case-insensitively) against the FOCUS
    /// `service_name` of cost rows that are AI assistant spend.
    pub cost_services: Vec<String>,
}

impl Default for AiSettings {
    fn default() -> Self {
        let attribution = AiAttributionSettings::default();
        AiSettings {
            pr_labels: attribution.pr_labels,
            coauthor_patterns: attribution.coauthor_patterns,
            agent_authors: attribution.agent_authors,
            cohort_days: CohortDays::default(),
            size_buckets: SizeBuckets::default(),
            seat_price: BTreeMap::new(),
            cost_services: vec![
                "(?i)copilot".into(),
                "(?i)cursor".into(),
                "(?i)claude code".into(),
            ],
        }
    }
}

impl AiSettings {
    /// The part the collectors apply.
    pub fn attribution(&self) -> AiAttributionSettings {
        AiAttributionSettings {
            pr_labels: self.pr_labels.clone(),
            coauthor_patterns: self.coauthor_patterns.clone(),
            agent_authors: self.agent_authors.clone(),
        }
    }

    /// Thresholds in order, prices readable, patterns compiling.
    pub fn check(&self) -> Result<()> {
        let CohortDays {
            light,
            moderate,
            heavy,
        } = self.cohort_days;
        if !(1 <= light && light < moderate && moderate < heavy) {
            return Err(Error::InvalidSetting(format!(
                "ai.cohort_days must rise from at least 1: light {light} < moderate {moderate} < heavy {heavy}"
            )));
        }
        let SizeBuckets { medium, large } = self.size_buckets;
        if !(1 <= medium && medium < large) {
            return Err(Error::InvalidSetting(format!(
                "ai.size_buckets must rise from at least 1: medium {medium} < large {large}"
            )));
        }
        self.seat_prices()?;
        for pattern in &self.cost_services {
            regex::Regex::new(pattern).map_err(|e| {
                Error::InvalidSetting(format!(
                    "ai.cost_services: `{pattern}` is not a regular expression: {e}"
                ))
            })?;
        }
        Ok(())
    }

    /// Tool (lower case) -> seat price.
    pub(crate) fn seat_prices(&self) -> Result<BTreeMap<String, Money>> {
        self.seat_price
            .iter()
            .map(|(tool, amount)| {
                Ok((
                    tool.to_lowercase(),
                    amount.money_setting(&format!("ai.seat_price.{tool}"))?,
                ))
            })
            .collect()
    }
}

/// What the groups are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AiGroupBy {
    #[default]
    Team,
    Tool,
}

impl std::str::FromStr for AiGroupBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<AiGroupBy> {
        match s {
            "team" => Ok(AiGroupBy::Team),
            "tool" => Ok(AiGroupBy::Tool),
            other => Err(Error::invalid_parameter(
                "group_by",
                format!("`{other}` is not one of team, tool"),
            )),
        }
    }
}

/// One question: local days `[from, to)` in `tz` (pull requests by their
/// merge time there; AI use by the assistants' own, UTC, days), a team or
/// all, a grouping, and the optional parts.
#[derive(Debug, Clone)]
pub struct AiRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
    pub team: Option<String>,
    pub group_by: AiGroupBy,
    pub impact: bool,
    pub rollout: bool,
    pub settings: AiSettings,
    /// The minimum group size and the pull request phase rules.
    pub devex: DevexSettings,
    /// Production and rework, for the DevEx tables and the rework pattern.
    pub dora: DoraSettings,
    /// `[cost]`: the currency seats and cost rows are in, and how cost rows
    /// are placed on teams.
    pub cost: crate::cost::CostSettings,
}

impl AiRequest {
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        tz: Option<&str>,
        team: Option<String>,
        group_by: Option<&str>,
        settings: AiSettings,
        devex: DevexSettings,
        dora: DoraSettings,
    ) -> Result<AiRequest> {
        settings.check()?;
        let window = Window::parse(from, to, tz, crate::window::REPORT_DAYS)?;
        Ok(AiRequest {
            from: window.from,
            to: window.to,
            tz: window.tz,
            team: team.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
            group_by: match group_by.map(str::trim).filter(|g| !g.is_empty()) {
                None => AiGroupBy::Team,
                Some(g) => g.parse()?,
            },
            impact: false,
            rollout: false,
            settings,
            devex,
            dora,
            cost: crate::cost::CostSettings::default(),
        })
    }

    /// Settings in range and the team known (a typo is not an empty report).
    pub(super) async fn check(&self, queries: &LakeQueries) -> Result<()> {
        self.settings.check()?;
        self.devex_request(self.from, self.to).validate()?;
        if let Some(team) = &self.team {
            crate::catalog::check_known(queries, NameKind::Team, team).await?;
        }
        Ok(())
    }

    pub(super) fn days(&self) -> i64 {
        (self.to - self.from).num_days().max(1)
    }

    /// ISO weeks (Monday first) holding at least one of the window's days.
    pub(super) fn weeks(&self) -> usize {
        crate::window::iso_weeks(self.from, self.to)
    }

    /// The DevEx question whose tables the pull request measures read.
    pub(super) fn devex_request(&self, from: NaiveDate, to: NaiveDate) -> DevexRequest {
        DevexRequest {
            from,
            to,
            tz: self.tz,
            team: None,
            repo: None,
            service: None,
            group_by: crate::devex::DevexGroupBy::Team,
            settings: self.devex.clone(),
            dora: self.dora.clone(),
        }
    }

    /// `from` and `to` as instants (local midnights), for pull requests.
    pub(super) fn instants(&self, from: NaiveDate, to: NaiveDate) -> [(&'static str, String); 2] {
        [
            ("from", sql_instant(local_midnight(self.tz, from))),
            ("to", sql_instant(local_midnight(self.tz, to))),
        ]
    }

    pub(super) fn min_group_size(&self) -> usize {
        self.devex.min_group_size
    }
}

/// A date as a SQL literal.
pub(super) fn sql_date(day: NaiveDate) -> String {
    format!("DATE {}", sql_text(&day.format("%Y-%m-%d").to_string()))
}

/// The calendar months `[from, to)` touches, each as (month, first day, day
/// after its last), cut to the window.
pub(super) fn months(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut month = from.with_day(1).unwrap_or(from);
    while month < to {
        let next = month
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(to);
        out.push((month, from.max(month), to.min(next)));
        month = next;
    }
    out
}

/// `months` as the rows of a SQL `VALUES` list.
pub(super) fn sql_months(months: &[(NaiveDate, NaiveDate, NaiveDate)]) -> String {
    months
        .iter()
        .map(|(month, first, end)| {
            format!(
                "({}, {}, {})",
                sql_date(*month),
                sql_date(*first),
                sql_date(*end)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn months_are_cut_to_the_window() {
        let months = months(day("2026-01-15"), day("2026-03-02"));
        assert_eq!(
            months,
            vec![
                (day("2026-01-01"), day("2026-01-15"), day("2026-02-01")),
                (day("2026-02-01"), day("2026-02-01"), day("2026-03-01")),
                (day("2026-03-01"), day("2026-03-01"), day("2026-03-02")),
            ]
        );
    }

    #[test]
    fn settings_are_checked() {
        let mut settings = AiSettings::default();
        assert!(settings.check().is_ok());
        settings.cohort_days.moderate = 1;
        assert!(settings
            .check()
            .unwrap_err()
            .to_string()
            .contains("light 1 < moderate 1"));
        let mut settings = AiSettings::default();
        settings
            .seat_price
            .insert("copilot".into(), Amount::Text("nineteen".into()));
        assert!(settings
            .check()
            .unwrap_err()
            .to_string()
            .contains("ai.seat_price.copilot"));
        assert_eq!(SizeBuckets::default().bucket(99), "S");
        assert_eq!(SizeBuckets::default().bucket(100), "M");
        assert_eq!(SizeBuckets::default().bucket(500), "L");
    }
}

//! DORA performance levels, read from a data file (`levels.toml`, shipped with
//! the 2023 and 2024 reports; replaceable without code).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const SHIPPED: &str = include_str!("levels.toml");
const SHIPPED_NAME: &str = "analytics/src/dora/levels.toml";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Elite,
    High,
    Medium,
    Low,
    /// Fewer deployments in the window than the minimum sample
    /// (`[dora] min_deployments_for_level`): too few to grade.
    InsufficientData,
}

impl Level {
    /// The level's name, as it appears in JSON and labels.
    pub fn name(self) -> &'static str {
        match self {
            Level::Elite => "elite",
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
            Level::InsufficientData => "insufficient_data",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Band {
    pub level: Level,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    pub report: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Band {
    fn meets(&self, value: f64) -> bool {
        match (self.at_least, self.below, self.at_most) {
            (Some(bound), None, None) => value >= bound,
            (None, Some(bound), None) => value < bound,
            (None, None, Some(bound)) => value <= bound,
            _ => true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MetricBands {
    pub bands: Vec<Band>,
}

impl MetricBands {
    pub fn level(&self, value: Option<f64>) -> Option<Level> {
        let value = value?;
        self.bands.iter().find(|b| b.meets(value)).map(|b| b.level)
    }
}

/// The levels of one DORA report.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ReportLevels {
    /// Deployments a group needs in the window before its lead time,
    /// change failure rate and recovery time are graded (set by
    /// [`ReportLevels::with_minimum`], not read from the file).
    #[serde(skip)]
    pub min_deployments: u64,
    pub year: u16,
    pub source: String,
    pub deployment_frequency: MetricBands,
    pub lead_time_for_changes: MetricBands,
    pub change_failure_rate: MetricBands,
    pub failed_deployment_recovery_time: MetricBands,
}

#[derive(Debug, Deserialize)]
struct LevelsFile {
    report: Vec<ReportLevels>,
}

/// Levels of one group's metrics; null where the metric is undefined or
/// the period is partial.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct Levels {
    pub deployment_frequency: Option<Level>,
    pub lead_time_for_changes: Option<Level>,
    pub change_failure_rate: Option<Level>,
    pub failed_deployment_recovery_time: Option<Level>,
    /// Set when the sample is below the minimum: how many deployments there
    /// were, and how many grading needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insufficient_data: Option<Sample>,
}

/// A sample too small to grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Sample {
    pub deployments: u64,
    pub needed: u64,
}

/// The levels file in use, `file` or the shipped one: its name and text.
pub fn levels_file_text(file: Option<&Path>) -> Result<(String, String)> {
    Ok(match file {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path).map_err(|e| Error::InvalidDataFile {
                file: path.display().to_string(),
                message: format!("cannot read it ({e})"),
            })?,
        ),
        None => (SHIPPED_NAME.to_string(), SHIPPED.to_string()),
    })
}

impl ReportLevels {
    /// Reads the levels of `year` from `file`, or from the shipped data.
    pub fn load(file: Option<&Path>, year: u16) -> Result<ReportLevels> {
        let (name, text) = levels_file_text(file)?;
        let invalid = |message: String| Error::InvalidDataFile {
            file: name.clone(),
            message,
        };
        let parsed: LevelsFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let years: Vec<String> = parsed.report.iter().map(|r| r.year.to_string()).collect();
        let report = parsed
            .report
            .into_iter()
            .find(|r| r.year == year)
            .ok_or_else(|| {
                invalid(format!(
                    "no levels for report year {year}; it has {}",
                    years.join(", ")
                ))
            })?;
        for (metric, bands) in report.metrics() {
            let last = bands.bands.len().saturating_sub(1);
            for (i, band) in bands.bands.iter().enumerate() {
                let bounds = [band.at_least, band.below, band.at_most]
                    .iter()
                    .filter(|b| b.is_some())
                    .count();
                if (i < last && bounds != 1) || (i == last && bounds != 0) {
                    return Err(invalid(format!(
                        "{year} {metric}: every band but the last needs exactly one of at_least, below, at_most, and the last none"
                    )));
                }
            }
            if bands.bands.is_empty() {
                return Err(invalid(format!("{year} {metric}: no bands")));
            }
        }
        Ok(report)
    }

    fn metrics(&self) -> [(&'static str, &MetricBands); 4] {
        [
            ("deployment_frequency", &self.deployment_frequency),
            ("lead_time_for_changes", &self.lead_time_for_changes),
            ("change_failure_rate", &self.change_failure_rate),
            (
                "failed_deployment_recovery_time",
                &self.failed_deployment_recovery_time,
            ),
        ]
    }

    /// These levels, grading lead time, change failure rate and recovery
    /// time only from `min_deployments` deployments on.
    pub fn with_minimum(mut self, min_deployments: u64) -> ReportLevels {
        self.min_deployments = min_deployments;
        self
    }

    /// The levels of a group with `deployments` in the window. Deployment
    /// frequency is graded whatever the count (few deployments is what it
    /// measures); the other three need the minimum sample, else they are
    /// `insufficient_data` (where defined at all).
    pub fn grade(
        &self,
        deployments: u64,
        deployments_per_week: Option<f64>,
        lead_time_median_hours: Option<f64>,
        change_failure_rate: Option<f64>,
        recovery_time_median_hours: Option<f64>,
    ) -> Levels {
        let enough = deployments >= self.min_deployments;
        let graded = |bands: &MetricBands, value: Option<f64>| match value {
            Some(_) if !enough => Some(Level::InsufficientData),
            value => bands.level(value),
        };
        Levels {
            deployment_frequency: self.deployment_frequency.level(deployments_per_week),
            lead_time_for_changes: graded(&self.lead_time_for_changes, lead_time_median_hours),
            change_failure_rate: graded(&self.change_failure_rate, change_failure_rate),
            failed_deployment_recovery_time: graded(
                &self.failed_deployment_recovery_time,
                recovery_time_median_hours,
            ),
            insufficient_data: (!enough).then_some(Sample {
                deployments,
                needed: self.min_deployments,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_the_minimum_sample_only_frequency_is_graded() {
        let levels = ReportLevels::load(None, 2024).unwrap().with_minimum(10);
        let few = levels.grade(2, Some(0.2), Some(3.0), Some(0.0), None);
        assert_eq!(few.deployment_frequency, Some(Level::Low));
        assert_eq!(few.lead_time_for_changes, Some(Level::InsufficientData));
        assert_eq!(few.change_failure_rate, Some(Level::InsufficientData));
        assert_eq!(
            few.failed_deployment_recovery_time, None,
            "undefined stays null"
        );
        assert_eq!(
            few.insufficient_data,
            Some(Sample {
                deployments: 2,
                needed: 10
            })
        );
        let enough = levels.grade(10, Some(7.0), Some(3.0), Some(0.0), None);
        assert_eq!(enough.change_failure_rate, Some(Level::Elite));
        assert_eq!(enough.insufficient_data, None);
        assert_eq!(
            serde_json::to_value(Level::InsufficientData).unwrap(),
            "insufficient_data"
        );
    }

    #[test]
    fn shipped_years_load_and_grade_at_the_boundaries() {
        let y2023 = ReportLevels::load(None, 2023).unwrap();
        let y2024 = ReportLevels::load(None, 2024).unwrap();
        // Deployments per week: daily is elite, weekly high, monthly medium.
        let df = |v| y2024.deployment_frequency.level(Some(v));
        assert_eq!(df(7.0), Some(Level::Elite));
        assert_eq!(df(6.99), Some(Level::High));
        assert_eq!(df(1.0), Some(Level::High));
        assert_eq!(df(0.25), Some(Level::Medium));
        assert_eq!(df(0.2), Some(Level::Low));
        assert_eq!(df(0.0), Some(Level::Low));
        // Lead time: under a day elite, exactly a day is high.
        let lt = |v| y2023.lead_time_for_changes.level(Some(v));
        assert_eq!(lt(23.9), Some(Level::Elite));
        assert_eq!(lt(24.0), Some(Level::High));
        assert_eq!(lt(720.0), Some(Level::Low));
        // Change failure rate: 2023 has four bands, 2024 three.
        assert_eq!(
            y2023.change_failure_rate.level(Some(0.12)),
            Some(Level::Medium)
        );
        assert_eq!(
            y2024.change_failure_rate.level(Some(0.12)),
            Some(Level::High)
        );
        assert_eq!(
            y2024.change_failure_rate.level(Some(0.05)),
            Some(Level::Elite)
        );
        assert_eq!(
            y2024.change_failure_rate.level(Some(0.21)),
            Some(Level::Low)
        );
        // Undefined metrics have no level.
        assert_eq!(y2024.change_failure_rate.level(None), None);
    }

    #[test]
    fn names_are_the_json_names() {
        for level in [Level::Elite, Level::High, Level::Medium, Level::Low] {
            assert_eq!(serde_json::to_value(level).unwrap(), level.name());
        }
        use crate::dora::DeploymentClass as C;
        for class in [C::Baseline, C::Counted, C::Redeploy, C::Rollback] {
            assert_eq!(serde_json::to_value(class).unwrap(), class.name());
        }
    }

    #[test]
    fn a_bad_file_names_itself_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("levels.toml");
        std::fs::write(&path, "[[report]]\nyear = 2024\n").unwrap();
        let err = ReportLevels::load(Some(&path), 2024)
            .unwrap_err()
            .to_string();
        assert!(err.contains("levels.toml"), "{err}");
        let err = ReportLevels::load(None, 1999).unwrap_err().to_string();
        assert!(
            err.contains("2023, 2024") || err.contains("2024, 2023"),
            "{err}"
        );
    }
}

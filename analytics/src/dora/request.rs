//! What a DORA report is asked: the settings (what counts as production
//! and as rework, the levels), the grouping, the period and the filters.

use super::*;

/// What counts as production and as rework, and which levels to grade with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DoraSettings {
    /// Regular expression (case-insensitive) an environment name must match.
    pub production_pattern: String,
    /// Regular expression (case-insensitive) on a change's first message line
    /// that marks it rework; empty for none.
    pub rework_message_pattern: String,
    /// Pull request labels that mark a change rework.
    pub rework_labels: Vec<String>,
    /// Which DORA report's levels to grade with.
    pub levels_year: u16,
    /// A levels file to use instead of the shipped one.
    pub levels_file: Option<PathBuf>,
    /// Deployments a group needs in a window before its lead time, change
    /// failure rate and recovery time get a level; fewer are
    /// `insufficient_data`.
    pub min_deployments_for_level: u64,
}

impl Default for DoraSettings {
    fn default() -> Self {
        DoraSettings {
            production_pattern: "^(prod|production)$".into(),
            rework_message_pattern: "^(revert|hotfix)".into(),
            rework_labels: vec!["hotfix".into()],
            levels_year: 2024,
            levels_file: None,
            min_deployments_for_level: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    #[default]
    Service,
    Team,
    None,
}

impl FromStr for GroupBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "service" => Ok(GroupBy::Service),
            "team" => Ok(GroupBy::Team),
            "none" => Ok(GroupBy::None),
            other => Err(Error::invalid_parameter(
                "group_by",
                format!("`{other}` is not one of service, team, none"),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Week,
    Month,
}

impl FromStr for Granularity {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "week" => Ok(Granularity::Week),
            "month" => Ok(Granularity::Month),
            other => Err(Error::invalid_parameter(
                "granularity",
                format!("`{other}` is not one of week, month"),
            )),
        }
    }
}

/// One DORA question: a window of local calendar days and a filter.
#[derive(Debug, Clone)]
pub struct DoraRequest {
    /// First day of the window (inclusive), in `tz`.
    pub from: NaiveDate,
    /// Day after the window (exclusive), in `tz`.
    pub to: NaiveDate,
    pub tz: Tz,
    pub service: Option<String>,
    pub team: Option<String>,
    pub group_by: GroupBy,
    pub settings: DoraSettings,
}

impl DoraRequest {
    /// Builds a request from the text a user typed (CLI flags or a query
    /// string), with errors that name the parameter and the expected form.
    pub fn parse(
        from: &str,
        to: &str,
        tz: Option<&str>,
        service: Option<String>,
        team: Option<String>,
        group_by: Option<&str>,
        settings: DoraSettings,
    ) -> Result<DoraRequest> {
        let window = Window::parse(Some(from), Some(to), tz, crate::window::REPORT_DAYS)?;
        DoraRequest::new(window, service, team, group_by, settings)
    }

    /// A request over a window already decided.
    pub fn new(
        window: Window,
        service: Option<String>,
        team: Option<String>,
        group_by: Option<&str>,
        settings: DoraSettings,
    ) -> Result<DoraRequest> {
        let group_by = match group_by {
            None | Some("") => GroupBy::Service,
            Some(g) => g.parse()?,
        };
        let request = DoraRequest {
            from: window.from,
            to: window.to,
            tz: window.tz,
            service: service.filter(|s| !s.is_empty()),
            team: team.filter(|s| !s.is_empty()),
            group_by,
            settings,
        };
        request.validate()?;
        Ok(request)
    }

    pub(super) fn validate(&self) -> Result<()> {
        self.window().check()?;
        for (parameter, name, pattern) in [
            (
                "environment_pattern",
                "production pattern",
                &self.settings.production_pattern,
            ),
            (
                "rework_message_pattern",
                "rework message pattern",
                &self.settings.rework_message_pattern,
            ),
        ] {
            regex::Regex::new(pattern).map_err(|e| {
                Error::invalid_parameter(
                    parameter,
                    format!("{name} `{pattern}` is not a valid regular expression: {e}"),
                )
            })?;
        }
        Ok(())
    }

    /// The request's window.
    pub fn window(&self) -> Window {
        Window {
            from: self.from,
            to: self.to,
            tz: self.tz,
        }
    }

    /// Calendar days in the window.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days()
    }

    pub(super) fn start_of(&self, day: NaiveDate) -> DateTime<Utc> {
        local_midnight(self.tz, day)
    }
}

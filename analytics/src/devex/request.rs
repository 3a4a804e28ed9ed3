//! What a DevEx report is asked: settings (minimum group size, the
//! context-switch threshold), grouping, window, time zone and filters.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevexSettings {
    /// Teams with fewer developers show no people measures (never below 3).
    pub min_group_size: usize,
    /// A developer-day with more work items than this is a high-switching day.
    pub context_switch_threshold: u32,
    /// Leave Saturdays and Sundays (in the report's time zone) out of pull
    /// request phase durations.
    pub exclude_weekends: bool,
}

impl Default for DevexSettings {
    fn default() -> Self {
        DevexSettings {
            min_group_size: 5,
            context_switch_threshold: 4,
            exclude_weekends: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DevexGroupBy {
    #[default]
    Team,
    Repo,
}

impl FromStr for DevexGroupBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "team" => Ok(DevexGroupBy::Team),
            "repo" => Ok(DevexGroupBy::Repo),
            other => Err(Error::invalid_parameter(
                "group_by",
                format!("`{other}` is not one of team, repo"),
            )),
        }
    }
}

/// One question: a window of local days, a filter, a grouping.
#[derive(Debug, Clone)]
pub struct DevexRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
    pub team: Option<String>,
    pub repo: Option<String>,
    /// Only this service's changes: its repositories' and, inside a
    /// monorepo, those touching its paths (`crate::paths`).
    pub service: Option<String>,
    pub group_by: DevexGroupBy,
    pub settings: DevexSettings,
    /// Production and the derive stage, for the deploy phase.
    pub dora: DoraSettings,
}

impl DevexRequest {
    /// Builds a request from text, reusing the DORA request's checks of
    /// dates and time zone.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        from: &str,
        to: &str,
        tz: Option<&str>,
        team: Option<String>,
        repo: Option<String>,
        group_by: Option<&str>,
        settings: DevexSettings,
        dora: DoraSettings,
    ) -> Result<DevexRequest> {
        let window = Window::parse(Some(from), Some(to), tz, crate::window::REPORT_DAYS)?;
        let request = DevexRequest {
            from: window.from,
            to: window.to,
            tz: window.tz,
            team: team.filter(|t| !t.is_empty()),
            repo: repo.filter(|r| !r.is_empty()),
            service: None,
            group_by: match group_by {
                None | Some("") => DevexGroupBy::Team,
                Some(g) => g.parse()?,
            },
            settings,
            dora,
        };
        request.validate()?;
        Ok(request)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        Window {
            from: self.from,
            to: self.to,
            tz: self.tz,
        }
        .check()?;
        if self.settings.min_group_size < MIN_GROUP_SIZE_FLOOR {
            return Err(Error::InvalidSetting(format!(
                "devex.min_group_size {} is below {MIN_GROUP_SIZE_FLOOR}: groups that small identify people",
                self.settings.min_group_size
            )));
        }
        Ok(())
    }

    /// A team or repository nobody knows is a typo, not an empty report.
    pub(super) async fn check_filters(&self, queries: &LakeQueries) -> Result<()> {
        if let Some(team) = &self.team {
            crate::catalog::check_known(queries, NameKind::Team, team).await?;
        }
        if let Some(repo) = &self.repo {
            crate::catalog::check_known(queries, NameKind::Repository, repo).await?;
        }
        if let Some(service) = &self.service {
            crate::catalog::check_known(queries, NameKind::Service, service).await?;
        }
        Ok(())
    }

    pub(super) fn days(&self) -> i64 {
        (self.to - self.from).num_days()
    }

    pub(super) fn values(&self) -> Vec<(&'static str, String)> {
        let mut filter = String::new();
        if let Some(team) = &self.team {
            filter.push_str(&format!(" AND team = {}", sql_text(team)));
        }
        if let Some(repo) = &self.repo {
            filter.push_str(&format!(" AND repo = {}", sql_text(repo)));
        }
        if let Some(service) = &self.service {
            filter.push_str(&format!(" AND array_has(services, {})", sql_text(service)));
        }
        let team_filter = match &self.team {
            Some(team) => format!(" AND team = {}", sql_text(team)),
            None => String::new(),
        };
        vec![
            ("from", sql_instant(local_midnight(self.tz, self.from))),
            ("to", sql_instant(local_midnight(self.tz, self.to))),
            ("filter", filter),
            ("team_filter", team_filter),
            (
                "switch_threshold",
                self.settings.context_switch_threshold.to_string(),
            ),
            (
                "group_key",
                match self.group_by {
                    DevexGroupBy::Team => "team".into(),
                    DevexGroupBy::Repo => "repo".into(),
                },
            ),
        ]
    }
}

//! Errors of the analytics crate: the user's mistakes (a bad query, a bad
//! parameter, a name nobody knows) apart from lake faults and engine failures.

/// What kind of name a filter or path gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NameKind {
    Team,
    Service,
    Repository,
    Survey,
    Deployment,
}

impl NameKind {
    /// Where names of the kind come from besides the catalog.
    fn found_in(self) -> &'static str {
        match self {
            NameKind::Team | NameKind::Service | NameKind::Deployment => "production deployments",
            NameKind::Repository => "pull requests and CI runs",
            NameKind::Survey => "imported survey responses",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NameKind::Team => "team",
            NameKind::Service => "service",
            NameKind::Repository => "repository",
            NameKind::Survey => "survey",
            NameKind::Deployment => "deployment",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid query: {0}")]
    InvalidQuery(String),

    #[error("only read-only SQL is allowed here (SELECT, WITH, EXPLAIN, SHOW); {0}")]
    NotReadOnly(String),

    #[error(transparent)]
    Lake(#[from] ingest::Error),

    #[error("query failed: {0}")]
    Engine(datafusion::error::DataFusionError),

    /// A report parameter has a value it cannot use (a bad date, time zone,
    /// pattern or option); the message says what to give instead.
    #[error("{parameter}: {message}")]
    InvalidParameter {
        parameter: &'static str,
        message: String,
    },

    /// A team, service, repository, survey or deployment nobody knows: a
    /// typo, not an empty report.
    #[error("{}", unknown_name_message(*kind, name, known, closest))]
    UnknownName {
        kind: NameKind,
        name: String,
        /// Known names of the kind, sorted (the first twenty).
        known: Vec<String>,
        /// The closest known names, nearest first.
        closest: Vec<String>,
    },

    /// People measures of a group smaller than the minimum group size
    /// would identify people, so they are refused.
    #[error("team `{team}` had {developers} developers; people measures need at least {minimum}")]
    GroupTooSmall {
        team: String,
        developers: usize,
        minimum: usize,
    },

    /// A setting (configuration or environment) is out of range.
    #[error("{0}")]
    InvalidSetting(String),

    /// The Ballista scheduler (or an executor) cannot be reached.
    #[error("{0}")]
    EngineUnavailable(String),

    /// A data file devex ships with (e.g. the performance levels) or a
    /// replacement given in config is wrong.
    #[error("{file}: {message}")]
    InvalidDataFile { file: String, message: String },

    /// A bug in devex: a result did not have the shape its SQL promises.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Known names listed in an unknown-name error.
const MOST_LISTED: usize = 20;

fn unknown_name_message(
    kind: NameKind,
    name: &str,
    known: &[String],
    closest: &[String],
) -> String {
    let what = kind.name();
    if known.is_empty() {
        return format!(
            "{what}: no {what} `{name}` in the catalog or the events; none is known yet"
        );
    }
    let mut listed = known.join(", ");
    if known.len() == MOST_LISTED {
        listed.push_str(", ...");
    }
    let mut message = format!(
        "{what}: no {what} `{name}` in the catalog or in {}; known: {listed}",
        kind.found_in()
    );
    if !closest.is_empty() && closest.len() < known.len() {
        message.push_str(&format!("; did you mean {}?", closest.join(" or ")));
    }
    message
}

impl Error {
    pub fn invalid_parameter(parameter: &'static str, message: impl Into<String>) -> Error {
        Error::InvalidParameter {
            parameter,
            message: message.into(),
        }
    }

    /// An unknown name, with the known ones and the closest of them.
    pub fn unknown_name(kind: NameKind, name: &str, known: &[String]) -> Error {
        let mut sorted: Vec<String> = known.to_vec();
        sorted.sort();
        sorted.dedup();
        let closest = crate::catalog::closest(name, &sorted)
            .into_iter()
            .take(crate::catalog::MOST_SUGGESTIONS)
            .collect();
        sorted.truncate(MOST_LISTED);
        Error::UnknownName {
            kind,
            name: name.to_string(),
            known: sorted,
            closest,
        }
    }

    pub fn is_user_error(&self) -> bool {
        match self {
            Error::InvalidQuery(_)
            | Error::NotReadOnly(_)
            | Error::InvalidParameter { .. }
            | Error::UnknownName { .. }
            | Error::GroupTooSmall { .. }
            | Error::InvalidSetting(_)
            | Error::InvalidDataFile { .. } => true,
            Error::Lake(e) => e.is_user_error(),
            Error::Engine(_) | Error::EngineUnavailable(_) | Error::Internal(_) => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_name_lists_the_known_and_the_closest() {
        let known = vec!["search".to_string(), "payments".to_string()];
        let e = Error::unknown_name(NameKind::Team, "payment", &known);
        assert_eq!(
            e.to_string(),
            "team: no team `payment` in the catalog or in production deployments; known: payments, search; did you mean payments?"
        );
        let none = Error::unknown_name(NameKind::Survey, "q3", &[]);
        assert_eq!(
            none.to_string(),
            "survey: no survey `q3` in the catalog or the events; none is known yet"
        );
    }
}

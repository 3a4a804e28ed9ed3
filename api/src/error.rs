//! The one error type of the server and the CLI. Over HTTP it becomes a status
//! and a JSON body `{"error": {"code", "message"}}` (plus `parameter` when a
//! request parameter is at fault); on the command line, a message and a hint
//! of what to do next.
//!
//! `crate::http::status` maps every variant, the libraries' included, to an
//! HTTP status and a stable code, in one place and without a catch-all arm:
//! a new variant does not compile until it has both.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Ingest(#[from] ingest::Error),

    #[error(transparent)]
    Analytics(#[from] analytics::Error),

    #[error(transparent)]
    Surveys(#[from] surveys::Error),

    #[error("invalid configuration: {0}")]
    Config(String),

    /// A request parameter (query string or flag) is missing or wrong.
    #[error("{parameter}: {message}")]
    InvalidParameter {
        parameter: &'static str,
        message: String,
    },

    /// A query string that does not parse (an unknown parameter, a value of
    /// the wrong type).
    #[error("{0}")]
    InvalidQueryString(String),

    /// A path names something devex does not have (an unknown source, an
    /// entity kind without a scorecard).
    #[error("{0}")]
    NotFound(String),

    #[error("{0}")]
    Unauthorized(String),

    /// Refused whoever asks from where it came (e.g. an open bind without
    /// access roles).
    #[error("{0}")]
    Forbidden(String),

    /// Too many requests from one token or address.
    #[error("{0}")]
    RateLimited(String),

    /// A query that ran past its time limit and was stopped.
    #[error("{0}")]
    QueryTimeout(String),

    /// The single sign-on provider cannot be reached or answers wrongly.
    #[error("{0}")]
    IdentityProvider(String),

    /// A delivery or request body that cannot be read.
    #[error("{0}")]
    BadBody(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },

    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What to do next, for the errors whose message alone does not say:
    /// the CLI prints it under the message, MCP tool errors carry it too.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Analytics(analytics::Error::InvalidQuery(_)) => Some("list tables with `devex query \"SHOW TABLES\"` and columns with `devex query \"DESCRIBE deployments\"`"),
            Error::Ingest(ingest::Error::UnknownTable { .. }) => Some("`devex tables` lists the canonical tables; survey exports import with `devex import survey FILE --survey ID`"),
            Error::Surveys(surveys::Error::InvalidExport { .. }) => Some("fix the rows listed, or map columns and labels with --mapping; `devex survey template` shows the question ids"),
            _ => None,
        }
    }

    pub fn invalid_parameter(parameter: &'static str, message: impl Into<String>) -> Error {
        Error::InvalidParameter {
            parameter,
            message: message.into(),
        }
    }
}

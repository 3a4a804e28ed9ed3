//! Errors of the analytics crate: bad queries (the user's to fix) apart from
//! lake faults and engine failures.

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

    /// A report was asked for with a value it cannot use (a bad date, time
    /// zone, pattern or option); the message says which and what to give.
    #[error("{0}")]
    InvalidRequest(String),

    /// A data file devex ships with (e.g. the performance levels) or a
    /// replacement given in config is wrong.
    #[error("{file}: {message}")]
    InvalidDataFile { file: String, message: String },

    /// A bug in devex: a result did not have the shape its SQL promises.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::InvalidQuery(_)
            | Error::NotReadOnly(_)
            | Error::InvalidRequest(_)
            | Error::InvalidDataFile { .. } => true,
            Error::Lake(e) => e.is_user_error(),
            Error::Engine(_) | Error::Internal(_) => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

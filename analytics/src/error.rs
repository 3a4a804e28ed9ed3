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
}

impl Error {
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::InvalidQuery(_) | Error::NotReadOnly(_) => true,
            Error::Lake(e) => e.is_user_error(),
            Error::Engine(_) => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

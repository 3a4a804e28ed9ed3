//! Errors of the surveys crate: bad definitions and exports (the user's to
//! fix, naming the file, line and field) apart from lake and query faults.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "anonymity threshold {0} is too low; it must be at least {min}",
        min = crate::MINIMUM_ANONYMITY_THRESHOLD
    )]
    ThresholdTooLow(u32),

    #[error("{file}: {message}")]
    InvalidDefinition { file: String, message: String },

    /// A survey export that cannot be imported; `line` is the 1-based line
    /// (or spreadsheet row) at fault, 0 for the whole file.
    #[error("{file}:{line}: {message}")]
    InvalidExport {
        file: String,
        line: usize,
        message: String,
    },

    #[error(transparent)]
    Lake(#[from] ingest::Error),

    #[error(transparent)]
    Analytics(#[from] analytics::Error),
}

impl Error {
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Lake(e) => e.is_user_error(),
            Error::Analytics(e) => e.is_user_error(),
            _ => true,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

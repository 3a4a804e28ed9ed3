//! The one error type of the server and the CLI. Over HTTP it becomes a status
//! and a JSON body `{"error": {"code", "message"}}`; on the command line, a
//! message and a hint of what to do next.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

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

    #[error("{0}")]
    BadRequest(String),

    #[error("{0}")]
    NotFound(String),

    #[error("{0}")]
    Unauthorized(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },

    /// The lake cannot be written (reported by the webhook writer, which
    /// answers many deliveries with one failure).
    #[error("{0}")]
    LakeUnavailable(String),

    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) | Error::Config(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            // The operator's to fix, not the client's: the server cannot store.
            Error::Ingest(ingest::Error::LakeNotWritable { .. }) | Error::LakeUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::Ingest(e) if e.is_user_error() => StatusCode::BAD_REQUEST,
            Error::Analytics(e) if e.is_user_error() => StatusCode::BAD_REQUEST,
            Error::Surveys(surveys::Error::UnknownSurvey(_)) => StatusCode::NOT_FOUND,
            Error::Surveys(e) if e.is_user_error() => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Ingest(ingest::Error::UnknownTable { .. }) => "unknown_table",
            Error::Ingest(
                ingest::Error::InvalidRows { .. } | ingest::Error::InvalidFile { .. },
            ) => "invalid_input",
            Error::Ingest(ingest::Error::CorruptFile { .. }) => "corrupt_lake_file",
            Error::Ingest(ingest::Error::LakeNotWritable { .. }) | Error::LakeUnavailable(_) => {
                "lake_not_writable"
            }
            Error::Analytics(analytics::Error::InvalidQuery(_)) => "invalid_query",
            Error::Analytics(analytics::Error::NotReadOnly(_)) => "not_read_only",
            Error::Analytics(analytics::Error::Lake(ingest::Error::CorruptFile { .. })) => {
                "corrupt_lake_file"
            }
            Error::Surveys(surveys::Error::UnknownSurvey(_)) => "unknown_survey",
            Error::Surveys(surveys::Error::UnknownGroup { .. }) => "unknown_group",
            Error::Surveys(surveys::Error::InvalidExport { .. }) => "invalid_input",
            Error::Config(_) => "invalid_configuration",
            Error::BadRequest(_) => "bad_request",
            Error::NotFound(_) => "not_found",
            Error::Unauthorized(_) => "unauthorized",
            _ => "internal",
        }
    }

    /// Whether the message may be shown to an HTTP client. Faults of the
    /// machine are logged in full and answered with a generic message, except
    /// corrupt lake files, which an operator must be told about by name.
    fn is_public(&self) -> bool {
        self.status().is_client_error() || self.code() == "corrupt_lake_file"
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if self.is_public() {
            self.to_string()
        } else {
            "internal error; the server log has the details".to_string()
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "Request failed.");
        } else {
            tracing::warn!(error = %self, "Request rejected.");
        }
        let body = serde_json::json!({ "error": { "code": self.code(), "message": message } });
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_causes_to_statuses_and_codes() {
        let unknown: Error = ingest::schema::table("nope").unwrap_err().into();
        assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
        assert_eq!(unknown.code(), "unknown_table");
        let internal = Error::Internal("boom".into());
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!internal.is_public());
    }
}

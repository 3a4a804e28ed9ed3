//! The error mapping: every [`Error`] variant, the libraries' included, to
//! an HTTP status and a stable machine-readable code, in one place and
//! without a catch-all arm; and the JSON error body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use analytics::NameKind;
use StatusCode as S;

use crate::error::Error;

impl Error {
    /// The HTTP status and the stable machine-readable code of every error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::Ingest(e) => ingest_status_and_code(e),
            Error::Analytics(e) => analytics_status_and_code(e),
            Error::Surveys(e) => match e {
                surveys::Error::ThresholdTooLow(_) => (S::INTERNAL_SERVER_ERROR, "invalid_setting"),
                surveys::Error::InvalidDefinition { .. } => {
                    (S::INTERNAL_SERVER_ERROR, "invalid_survey_definition")
                }
                surveys::Error::InvalidExport { .. } => (S::BAD_REQUEST, "invalid_input"),
                surveys::Error::Lake(e) => ingest_status_and_code(e),
                surveys::Error::Analytics(e) => analytics_status_and_code(e),
            },
            Error::Config(_) => (S::INTERNAL_SERVER_ERROR, "invalid_configuration"),
            Error::InvalidParameter { .. } => (S::BAD_REQUEST, "invalid_parameter"),
            Error::InvalidQueryString(_) => (S::BAD_REQUEST, "invalid_query_string"),
            Error::NotFound(_) => (S::NOT_FOUND, "not_found"),
            Error::Unauthorized(_) => (S::UNAUTHORIZED, "unauthorized"),
            Error::Forbidden(_) => (S::FORBIDDEN, "forbidden"),
            Error::RateLimited(_) => (S::TOO_MANY_REQUESTS, "rate_limited"),
            Error::QueryTimeout(_) => (S::SERVICE_UNAVAILABLE, "query_timeout"),
            Error::IdentityProvider(_) => (S::BAD_GATEWAY, "identity_provider"),
            Error::BadBody(_) => (S::BAD_REQUEST, "invalid_body"),
            Error::Io { .. } => (S::INTERNAL_SERVER_ERROR, "io_error"),
            Error::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    /// The request parameter at fault, when one is.
    pub fn parameter(&self) -> Option<&'static str> {
        match self {
            Error::InvalidParameter { parameter, .. }
            | Error::Analytics(analytics::Error::InvalidParameter { parameter, .. })
            | Error::Surveys(surveys::Error::Analytics(analytics::Error::InvalidParameter {
                parameter,
                ..
            })) => Some(parameter),
            _ => None,
        }
    }

    /// Whether the message may be shown to an HTTP client. Faults of the
    /// machine are logged in full and answered with a generic message, except
    /// corrupt lake files and an unwritable lake, which an operator must be
    /// told about by name.
    pub fn is_public(&self) -> bool {
        self.status().is_client_error()
            || matches!(
                self.code(),
                "corrupt_lake_file" | "lake_not_writable" | "identity_provider"
            )
    }
}

fn ingest_status_and_code(e: &ingest::Error) -> (StatusCode, &'static str) {
    use ingest::Error as I;
    match e {
        I::UnknownTable { .. } => (S::NOT_FOUND, "unknown_table"),
        I::UnknownSource { .. } => (S::NOT_FOUND, "unknown_source"),
        I::InvalidRows { .. } | I::InvalidFile { .. } => (S::BAD_REQUEST, "invalid_input"),
        I::ReadInput { .. } => (S::BAD_REQUEST, "unreadable_input"),
        // The operator's to fix, not the client's: the server cannot store.
        I::LakeNotWritable { .. } | I::LakeUnavailable { .. } => {
            (S::SERVICE_UNAVAILABLE, "lake_not_writable")
        }
        I::UnsupportedLake { .. } => (S::SERVICE_UNAVAILABLE, "unsupported_lake"),
        I::CompactionUnsupported { .. } => (S::CONFLICT, "compaction_unsupported"),
        I::CorruptFile { .. } => (S::INTERNAL_SERVER_ERROR, "corrupt_lake_file"),
        I::Storage { .. } | I::Io { .. } => (S::INTERNAL_SERVER_ERROR, "storage_error"),
        I::Arrow(_) | I::Parquet(_) => (S::INTERNAL_SERVER_ERROR, "storage_error"),
        I::SourceAuth { .. } => (S::BAD_GATEWAY, "source_auth"),
        I::SourceConfig { .. } => (S::BAD_REQUEST, "source_config"),
        I::SourceRequest { .. } => (S::BAD_GATEWAY, "source_unreachable"),
        I::SourcePayload { .. } => (S::BAD_GATEWAY, "source_payload"),
        I::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
    }
}

fn analytics_status_and_code(e: &analytics::Error) -> (StatusCode, &'static str) {
    use analytics::Error as A;
    match e {
        A::InvalidQuery(_) => (S::BAD_REQUEST, "invalid_query"),
        A::NotReadOnly(_) => (S::BAD_REQUEST, "not_read_only"),
        A::Lake(e) => ingest_status_and_code(e),
        A::Engine(_) => (S::INTERNAL_SERVER_ERROR, "query_failed"),
        A::InvalidParameter { .. } => (S::BAD_REQUEST, "invalid_parameter"),
        A::UnknownName { kind, .. } => (
            S::NOT_FOUND,
            match kind {
                NameKind::Team => "unknown_team",
                NameKind::Service => "unknown_service",
                NameKind::Repository => "unknown_repository",
                NameKind::Survey => "unknown_survey",
                NameKind::Deployment => "unknown_deployment",
            },
        ),
        A::GroupTooSmall { .. } => (S::BAD_REQUEST, "group_below_minimum_size"),
        A::InvalidSetting(_) => (S::INTERNAL_SERVER_ERROR, "invalid_setting"),
        A::EngineUnavailable(_) => (S::SERVICE_UNAVAILABLE, "engine_unavailable"),
        A::InvalidDataFile { .. } => (S::INTERNAL_SERVER_ERROR, "invalid_data_file"),
        A::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// Every error answer: `{"error": {"code", "message", "parameter"?}}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code to branch on (`invalid_parameter`, `unknown_team`,
    /// `unauthorized`, `rate_limited`, ...); the message may change.
    #[schema(pattern = "^[a-z_]+$")]
    pub code: &'static str,
    /// What went wrong and what to do next.
    pub message: String,
    /// The query parameter at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<&'static str>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if self.is_public() {
            self.to_string()
        } else {
            "internal error; the server log has the details".to_string()
        };
        if status.is_server_error() {
            tracing::error!(error = %self, code, "Request failed.");
        } else {
            tracing::warn!(error = %self, code, "Request rejected.");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                parameter: self.parameter(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        // A lake that cannot be written now (a full disk) may be later:
        // senders should try again rather than give up.
        if status == S::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("30"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io() -> std::io::Error {
        std::io::Error::other("disk")
    }

    /// Every variant, the libraries' included, with its status and code.
    #[test]
    fn every_error_has_a_status_and_a_stable_code() {
        use analytics::Error as A;
        use ingest::Error as I;
        let unknown = |kind| A::unknown_name(kind, "x", &["y".to_string()]);
        let table: Vec<(Error, u16, &str)> = vec![
            (
                I::UnknownTable {
                    name: "x".into(),
                    known: "y".into(),
                }
                .into(),
                404,
                "unknown_table",
            ),
            (
                I::UnknownSource {
                    name: "x".into(),
                    known: "y".into(),
                }
                .into(),
                404,
                "unknown_source",
            ),
            (
                I::InvalidRows {
                    file: "f".into(),
                    errors: vec![],
                    more: 0,
                }
                .into(),
                400,
                "invalid_input",
            ),
            (
                I::InvalidFile {
                    file: "f".into(),
                    message: "m".into(),
                }
                .into(),
                400,
                "invalid_input",
            ),
            (
                I::ReadInput {
                    path: "f".into(),
                    source: io(),
                }
                .into(),
                400,
                "unreadable_input",
            ),
            (
                I::LakeNotWritable {
                    path: "l".into(),
                    source: io(),
                }
                .into(),
                503,
                "lake_not_writable",
            ),
            (
                I::LakeUnavailable {
                    message: "m".into(),
                }
                .into(),
                503,
                "lake_not_writable",
            ),
            (
                I::CorruptFile {
                    path: "p".into(),
                    message: "m".into(),
                }
                .into(),
                500,
                "corrupt_lake_file",
            ),
            (
                I::Io {
                    path: "p".into(),
                    source: io(),
                }
                .into(),
                500,
                "storage_error",
            ),
            (
                I::Arrow(arrow::error::ArrowError::ComputeError("c".into())).into(),
                500,
                "storage_error",
            ),
            (
                I::SourceAuth {
                    message: "m".into(),
                }
                .into(),
                502,
                "source_auth",
            ),
            (
                I::SourceConfig {
                    message: "m".into(),
                }
                .into(),
                400,
                "source_config",
            ),
            (
                I::SourceRequest {
                    url: "u".into(),
                    message: "m".into(),
                }
                .into(),
                502,
                "source_unreachable",
            ),
            (
                I::SourcePayload {
                    url: "u".into(),
                    message: "m".into(),
                }
                .into(),
                502,
                "source_payload",
            ),
            (I::Internal("b".into()).into(), 500, "internal"),
            (A::InvalidQuery("q".into()).into(), 400, "invalid_query"),
            (A::NotReadOnly("q".into()).into(), 400, "not_read_only"),
            (
                A::Lake(I::CorruptFile {
                    path: "p".into(),
                    message: "m".into(),
                })
                .into(),
                500,
                "corrupt_lake_file",
            ),
            (A::Engine(datafusion_error()).into(), 500, "query_failed"),
            (
                A::invalid_parameter("from", "bad").into(),
                400,
                "invalid_parameter",
            ),
            (unknown(NameKind::Team).into(), 404, "unknown_team"),
            (unknown(NameKind::Service).into(), 404, "unknown_service"),
            (
                unknown(NameKind::Repository).into(),
                404,
                "unknown_repository",
            ),
            (unknown(NameKind::Survey).into(), 404, "unknown_survey"),
            (
                unknown(NameKind::Deployment).into(),
                404,
                "unknown_deployment",
            ),
            (
                A::GroupTooSmall {
                    team: "t".into(),
                    developers: 2,
                    minimum: 5,
                }
                .into(),
                400,
                "group_below_minimum_size",
            ),
            (A::InvalidSetting("s".into()).into(), 500, "invalid_setting"),
            (
                A::EngineUnavailable("e".into()).into(),
                503,
                "engine_unavailable",
            ),
            (
                A::InvalidDataFile {
                    file: "f".into(),
                    message: "m".into(),
                }
                .into(),
                500,
                "invalid_data_file",
            ),
            (A::Internal("b".into()).into(), 500, "internal"),
            (
                surveys::Error::ThresholdTooLow(1).into(),
                500,
                "invalid_setting",
            ),
            (
                surveys::Error::InvalidDefinition {
                    file: "f".into(),
                    message: "m".into(),
                }
                .into(),
                500,
                "invalid_survey_definition",
            ),
            (
                surveys::Error::InvalidExport {
                    file: "f".into(),
                    line: 2,
                    message: "m".into(),
                }
                .into(),
                400,
                "invalid_input",
            ),
            (
                surveys::Error::Analytics(unknown(NameKind::Survey)).into(),
                404,
                "unknown_survey",
            ),
            (
                surveys::Error::Lake(I::Internal("b".into())).into(),
                500,
                "internal",
            ),
            (Error::Config("c".into()), 500, "invalid_configuration"),
            (
                Error::invalid_parameter("format", "bad"),
                400,
                "invalid_parameter",
            ),
            (
                Error::InvalidQueryString("q".into()),
                400,
                "invalid_query_string",
            ),
            (Error::NotFound("n".into()), 404, "not_found"),
            (Error::Unauthorized("u".into()), 401, "unauthorized"),
            (Error::Forbidden("f".into()), 403, "forbidden"),
            (Error::RateLimited("r".into()), 429, "rate_limited"),
            (Error::QueryTimeout("t".into()), 503, "query_timeout"),
            (Error::BadBody("b".into()), 400, "invalid_body"),
            (
                Error::IdentityProvider("p".into()),
                502,
                "identity_provider",
            ),
            (
                Error::Io {
                    context: "c".into(),
                    source: io(),
                },
                500,
                "io_error",
            ),
            (Error::Internal("b".into()), 500, "internal"),
        ];
        for (error, status, code) in &table {
            assert_eq!(
                (error.status().as_u16(), error.code()),
                (*status, *code),
                "{error:?}"
            );
            // A user's mistake is never `internal`, and always shown.
            if error.status().is_client_error() {
                assert_ne!(error.code(), "internal");
                assert!(error.is_public());
            }
        }
        assert!(!Error::Internal("secret detail".into()).is_public());
    }

    fn datafusion_error() -> datafusion_error::DataFusionError {
        datafusion_error::DataFusionError::Plan("p".into())
    }

    mod datafusion_error {
        pub use analytics::EngineError as DataFusionError;
    }

    #[tokio::test]
    async fn a_bad_parameter_names_itself_in_the_body() {
        let response = Error::from(analytics::Error::invalid_parameter(
            "from",
            "`yesterday` is not a date",
        ))
        .into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["code"], "invalid_parameter");
        assert_eq!(body["error"]["parameter"], "from");
    }
}

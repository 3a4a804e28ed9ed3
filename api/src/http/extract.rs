//! Extractors and response helpers the API routes share.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::render::OutputFormat;

/// A query string, deserialised; an unknown or malformed parameter is our
/// JSON error (`invalid_query_string`), not axum's text.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let Query(params) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::InvalidQueryString(e.body_text()))?;
        Ok(ApiQuery(params))
    }
}

pub fn output_format(format: Option<&str>) -> Result<OutputFormat> {
    match format {
        None | Some("") | Some("json") => Ok(OutputFormat::Json),
        Some("csv") => Ok(OutputFormat::Csv),
        Some("table") => Ok(OutputFormat::Table),
        Some(other) => Err(Error::invalid_parameter(
            "format",
            format!("`{other}` is not one of json, csv, table"),
        )),
    }
}

pub fn content_type(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Json => "application/json",
        OutputFormat::Csv => "text/csv; charset=utf-8",
        OutputFormat::Table => "text/plain; charset=utf-8",
    }
}

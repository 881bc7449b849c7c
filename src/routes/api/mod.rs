//! The JSON APIs under `/api/v1`.

pub mod openapi;
pub mod reader;
pub mod tickets;

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// A body that is not the JSON we expect, with a stable error code.
pub fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is too large",
        ),
        other => ApiError::bad_request("invalid_json", other.body_text()),
    }
}

/// Every API error.
#[derive(Serialize, ToSchema)]
pub struct ErrorJson {
    /// Stable machine-readable code, e.g. `version_conflict`.
    pub error: String,
    pub message: String,
}

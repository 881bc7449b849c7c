//! Reader API v1 (see docs/reader-api.md). The poll path reads only memory: the token cache
//! and the clinic's watch channel. Last-seen times are written later, in batches.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::device_token;
use crate::domain::Passcode;
use crate::error::ApiError;
use crate::live::{PasscodeState, ReaderEntry};
use crate::services::passcodes::{self, Verification};
use crate::state::AppState;

use super::ErrorJson;

/// The reader behind a valid `Authorization: Bearer <device token>`.
pub struct AuthenticatedReader(pub Arc<ReaderEntry>);

impl FromRequestParts<AppState> for AuthenticatedReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(header) = header else {
            return Err(ApiError::unauthorized(
                "missing_token",
                "send Authorization: Bearer <device token>",
            ));
        };
        let token = crate::auth::bearer_token(header)
            .ok_or_else(|| ApiError::unauthorized("missing_token", "send Authorization: Bearer <device token>"))?;
        // Looking up the SHA-256 (not the token) keeps the comparison independent of the secret.
        let hash = device_token::hash(token);
        if let Some(reader) = state.live.reader(&hash) {
            return Ok(Self(reader));
        }
        state
            .live
            .reader_after_miss(&state.pool, &hash)
            .await?
            .map(Self)
            .ok_or_else(|| ApiError::unauthorized("invalid_token", "the device token is unknown or has been revoked"))
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollQuery {
    /// Long-poll: hold the request up to this many seconds (1–60) while `If-None-Match` still matches.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 60)]
    wait: Option<String>,
}

/// The clinic's passcode state as a reader sees it (never the code itself).
#[derive(Serialize, ToSchema)]
pub struct PasscodeBody {
    /// Counts up with every issue; 0 before the first.
    generation: i64,
    /// RFC 3339, UTC; null before the first issue.
    issued_at: Option<String>,
    /// Whether a passcode typed now can be accepted.
    active: bool,
    /// `none_issued` or `disabled` when not active.
    inactive_reason: Option<&'static str>,
    /// Seconds until the next short poll, with ±20 % jitter.
    poll_after_s: u32,
}

fn rfc3339(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
}

/// The request's `If-None-Match` values (taking them alone avoids cloning every header).
pub struct IfNoneMatch(Vec<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts.headers.get_all(header::IF_NONE_MATCH).iter().cloned().collect(),
        ))
    }
}

impl IfNoneMatch {
    fn matches(&self, etag: &HeaderValue) -> bool {
        let etag = etag.as_bytes();
        self.0
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t.as_bytes() == etag || t == "*")
    }
}

fn with_etag(mut response: Response, etag: &HeaderValue) -> Response {
    response.headers_mut().insert(header::ETAG, etag.clone());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn not_modified(etag: &HeaderValue) -> Response {
    with_etag(StatusCode::NOT_MODIFIED.into_response(), etag)
}

/// ±20 % around the configured interval, so readers started together drift apart.
fn poll_hint(base: u32) -> u32 {
    let mut byte = [0u8; 1];
    let spread = base / 5;
    if spread == 0 || getrandom::fill(&mut byte).is_err() {
        return base.max(1);
    }
    (base - spread + u32::from(byte[0]) % (2 * spread + 1)).max(1)
}

fn full(state: &PasscodeState, poll_after_s: u32) -> Response {
    let body = PasscodeBody {
        generation: state.generation,
        issued_at: state.issued_at.and_then(rfc3339),
        active: state.active,
        inactive_reason: state.inactive_reason,
        poll_after_s: poll_hint(poll_after_s),
    };
    with_etag(Json(body).into_response(), state.etag())
}

/// The clinic's current passcode generation. Send the last `ETag` as `If-None-Match`: 304 when
/// nothing changed, at once or (with `wait`) when the wait runs out.
#[utoipa::path(get, path = "/api/v1/reader/passcode", params(PollQuery,
        ("If-None-Match" = Option<String>, Header, description = "the ETag of the last 200")),
    responses((status = 200, body = PasscodeBody), (status = 304, description = "unchanged"),
        (status = 400, body = ErrorJson),
        (status = 503, body = ErrorJson,
            description = "every long-poll slot is taken and this clinic has its share (too_many_waiting), \
                           or the connection cap is reached (too_many_connections); see Retry-After")),
    security(("reader_token" = [])))]
pub async fn passcode(
    State(state): State<AppState>,
    AuthenticatedReader(reader): AuthenticatedReader,
    query: Result<Query<PollQuery>, QueryRejection>,
    if_none_match: IfNoneMatch,
) -> Result<Response, ApiError> {
    let wait = match query {
        Ok(Query(PollQuery { wait: None })) => None,
        Ok(Query(PollQuery { wait: Some(w) })) => match w.parse::<u64>() {
            Ok(n @ 1..=60) => Some(n),
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_wait",
                    "wait must be a whole number of seconds from 1 to 60",
                ));
            }
        },
        Err(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "the query string could not be parsed",
            ));
        }
    };
    let revoked = || ApiError::unauthorized("invalid_token", "the device token is unknown or has been revoked");
    let poll_after_s = state.config.poll_after_s;
    let current = state.live.current(reader.clinic_id).ok_or_else(revoked)?;
    reader.saw(current.generation);
    let metrics = &state.metrics;
    if !if_none_match.matches(current.etag()) {
        metrics.poll_changed.inc();
        return Ok(full(&current, poll_after_s));
    }
    let Some(wait) = wait else {
        metrics.poll_unchanged.inc();
        return Ok(not_modified(current.etag()));
    };

    // A reader at its own cap trades its oldest slot; a clinic below its fair share takes the
    // oldest slot of the clinic holding most (crate::long_polls).
    let Ok(mut hold) = state.long_polls.try_hold(reader.clinic_id, reader.reader_id) else {
        metrics.poll_refused.inc();
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_waiting",
            "too many readers are waiting; poll again later",
        )
        .with_retry_after(5 + u64::from(poll_hint(10))));
    };
    // Subscribing after the first look: a change in between shows as a different state here.
    let mut rx = state.live.subscribe(reader.clinic_id).ok_or_else(revoked)?;
    let etag = current.etag();
    let mut shutting_down = state.shutting_down.clone();
    let deadline = tokio::time::sleep(Duration::from_secs(wait));
    tokio::pin!(deadline);
    let unchanged = || {
        metrics.poll_unchanged.inc();
        Ok(not_modified(etag))
    };
    loop {
        let now = rx.borrow_and_update().clone();
        if now.etag() != etag {
            reader.saw(now.generation);
            metrics.poll_changed.inc();
            metrics.rotation_fanout.observe(now.applied_at.elapsed().as_secs_f64());
            return Ok(full(&now, poll_after_s));
        }
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return unchanged();
                }
            }
            () = &mut deadline => return unchanged(),
            // Superseded by the same reader, or preempted for a fair share: "no change" now.
            _ = &mut hold.ended => return unchanged(),
            _ = shutting_down.wait_for(|down| *down) => return unchanged(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    /// The four digits staff typed, as a string: `"0427"`.
    #[schema(value_type = String, pattern = "^[0-9]{4}$")]
    passcode: Option<serde_json::Value>,
}

/// Whether the typed passcode opens 目視確認モード.
#[derive(Serialize, ToSchema)]
pub struct VerifyAnswer {
    ok: bool,
    generation: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts_left: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_s: Option<u64>,
}

impl VerifyAnswer {
    fn refused(generation: i64, reason: &'static str) -> Self {
        Self {
            ok: false,
            generation,
            reason: Some(reason),
            attempts_left: None,
            retry_after_s: None,
        }
    }
}

/// Checks a passcode typed on the reader.
#[utoipa::path(post, path = "/api/v1/reader/verify", request_body = VerifyBody,
    responses((status = 200, body = VerifyAnswer), (status = 400, body = ErrorJson),
        (status = 429, body = ErrorJson, description = "this reader is locked; see Retry-After")),
    security(("reader_token" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    AuthenticatedReader(reader): AuthenticatedReader,
    body: Result<Json<VerifyBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| super::json_rejection(&e))?;
    let code = match body.passcode {
        Some(serde_json::Value::String(s)) => Passcode::parse(&s).ok(),
        _ => None,
    }
    .ok_or_else(|| {
        ApiError::bad_request(
            "invalid_passcode",
            "passcode must be a string of exactly four digits 0-9",
        )
    })?;

    let outcome = passcodes::verify(&state.pool, &state.hasher, reader.clinic_id, reader.reader_id, &code).await?;
    state.metrics.verified(outcome.attempt_result());
    let answer = match outcome {
        Verification::Accepted { generation } => VerifyAnswer {
            ok: true,
            generation,
            reason: None,
            attempts_left: None,
            retry_after_s: None,
        },
        Verification::Rejected {
            generation,
            attempts_left,
            locked_for_s,
            passcode_disabled,
        } => {
            if passcode_disabled {
                state.sync_live().await;
            }
            VerifyAnswer {
                ok: false,
                generation,
                reason: Some(if passcode_disabled {
                    "passcode_disabled"
                } else {
                    "wrong_passcode"
                }),
                attempts_left: Some(attempts_left),
                retry_after_s: locked_for_s,
            }
        }
        Verification::NoneIssued => VerifyAnswer::refused(0, "no_passcode"),
        Verification::Disabled { generation } => VerifyAnswer::refused(generation, "passcode_disabled"),
        Verification::Locked { retry_after_s } => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "reader_locked",
                "too many wrong passcodes from this reader; wait before trying again",
            )
            .with_retry_after(retry_after_s));
        }
    };
    Ok(Json(answer).into_response())
}

use axum::extract::State;
use axum::http::StatusCode;

use crate::state::AppState;

/// Liveness: touches nothing, so it answers even when the database is stuck.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and, on PostgreSQL, this process hears other processes' changes.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match crate::db::ping(&state.pool).await {
        // Without the listener this process would serve other processes' changes late.
        Ok(()) if !state.listening.is_up() => (StatusCode::SERVICE_UNAVAILABLE, "not listening for changes"),
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

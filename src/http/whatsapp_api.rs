//! WhatsApp over HTTP: WAHA's webhook (public, HMAC-checked) and the board's read endpoints
//! (token-protected like `/api/jobs`).
use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, error, internal};
use crate::whatsapp;

/// Public: WAHA calls it.
pub fn public_routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/whatsapp/webhook", post(webhook))
}

/// Behind the API token.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/whatsapp/sessions", get(sessions))
        .route("/api/whatsapp/outbox", get(outbox))
}

/// Verifies `X-Webhook-Hmac`, stores the event once per id, and applies `session.status`.
/// Answers non-2xx on a database failure so WAHA retries the delivery.
async fn webhook(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(key) = st
        .messaging
        .as_ref()
        .and_then(|m| m.waha_webhook_hmac_key.as_deref())
    else {
        return error(
            StatusCode::UNAUTHORIZED,
            "webhook HMAC key is not configured (WAHA_WEBHOOK_HMAC_KEY)",
        );
    };
    let sig = headers.get("x-webhook-hmac").and_then(|v| v.to_str().ok());
    match sig {
        Some(sig) if whatsapp::webhook_signature_ok(key, &body, sig) => {}
        Some(_) => return error(StatusCode::UNAUTHORIZED, "invalid X-Webhook-Hmac"),
        None => return error(StatusCode::UNAUTHORIZED, "missing X-Webhook-Hmac"),
    }
    let event: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return error(StatusCode::BAD_REQUEST, "body must be a JSON object"),
    };
    let (Some(id), Some(kind)) = (
        event.get("id").and_then(Value::as_str),
        event.get("event").and_then(Value::as_str),
    ) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "id and event are required",
        );
    };
    let session = event.get("session").and_then(Value::as_str);
    let stored = match whatsapp::store_event(&st.pool, id, kind, session, &event).await {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    if stored
        && kind == "session.status"
        && let (Some(session), Some(state)) = (
            session,
            event.pointer("/payload/status").and_then(Value::as_str),
        )
        && let Err(e) = whatsapp::set_session_state(&st.pool, session, state).await
    {
        return internal(e);
    }
    Json(json!({"success": true, "stored": stored})).into_response()
}

async fn sessions(State(st): State<Arc<AppState>>) -> Response {
    let rows = match whatsapp::sessions(&st.pool).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let paused: Option<bool> =
        match sqlx::query_scalar("SELECT paused FROM cicero.queues WHERE queue = $1")
            .bind(whatsapp::QUEUE)
            .fetch_optional(&st.pool)
            .await
        {
            Ok(p) => p,
            Err(e) => return internal(e),
        };
    Json(json!({"sessions": rows, "queue_paused": paused.unwrap_or(false)})).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboxQuery {
    limit: Option<i64>,
    before_id: Option<i64>,
}

async fn outbox(
    State(st): State<Arc<AppState>>,
    q: Result<Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return error(
            StatusCode::BAD_REQUEST,
            "limit and before_id must be integers (no other parameters)",
        );
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return error(StatusCode::BAD_REQUEST, "limit must be between 1 and 500");
    }
    match whatsapp::outbox_page(&st.pool, limit, q.before_id).await {
        Ok(rows) => Json(json!({"messages": rows})).into_response(),
        Err(e) => internal(e),
    }
}

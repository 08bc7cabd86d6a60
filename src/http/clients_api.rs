//! Per-client pause from the board's tenant page: `POST /api/clients/{client_id}/pause` and
//! `/resume`, `GET /api/clients/paused`. Token-protected like the job API; both actions are
//! audited (`client.pause`, `client.resume`).
use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;

use super::{
    AppState,
    board_api::{actor, record},
    error, internal,
};
use crate::platform::clients;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/clients/paused", get(list))
        .route("/api/clients/{client_id}/pause", post(pause))
        .route("/api/clients/{client_id}/resume", post(resume))
}

async fn list(State(st): State<Arc<AppState>>) -> Response {
    match clients::list(&st.pool).await {
        Ok(paused) => Json(json!({ "clients": paused })).into_response(),
        Err(e) => internal(e),
    }
}

async fn pause(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    let id = match clients::client_id(&raw) {
        Ok(id) => id,
        Err(msg) => return error(StatusCode::UNPROCESSABLE_ENTITY, msg),
    };
    match clients::pause(&st.pool, id, &actor(&headers)).await {
        Ok(p) => {
            record(
                &st.pool,
                &headers,
                "client.pause",
                id,
                json!({ "pending_jobs": p.pending_jobs }),
            )
            .await;
            Json(json!({
                "client_id": p.client_id, "paused": true, "paused_at": p.paused_at,
                "paused_by": p.paused_by, "pending_jobs": p.pending_jobs,
            }))
            .into_response()
        }
        Err(e) => internal(e),
    }
}

async fn resume(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    let id = match clients::client_id(&raw) {
        Ok(id) => id,
        Err(msg) => return error(StatusCode::UNPROCESSABLE_ENTITY, msg),
    };
    match clients::resume(&st.pool, id).await {
        Ok(was_paused) => {
            record(
                &st.pool,
                &headers,
                "client.resume",
                id,
                json!({ "was_paused": was_paused }),
            )
            .await;
            Json(json!({ "client_id": id, "paused": false, "was_paused": was_paused }))
                .into_response()
        }
        Err(e) => internal(e),
    }
}

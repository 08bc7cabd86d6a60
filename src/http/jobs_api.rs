//! The job API: enqueue, inspect, list, retry, queue statistics. Bearer token from
//! `JOB_API_TOKEN` (replaced by dashboard auth in a later issue). Bad input is a 4xx with a
//! JSON message naming the field.
use std::{collections::HashMap, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, error};
use crate::platform::jobs::{self, EnqueueError, Filter, NewJob, RetryOutcome};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/jobs", post(enqueue).get(list))
        .route("/api/jobs/{id}", get(show))
        .route("/api/jobs/{id}/retry", post(retry))
        .route("/api/queues", get(queues))
}

pub async fn require_token(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), st.api_token.as_bytes()) => next.run(req).await,
        Some(_) => error(StatusCode::UNAUTHORIZED, "invalid bearer token"),
        None => error(
            StatusCode::UNAUTHORIZED,
            "missing bearer token (Authorization: Bearer <JOB_API_TOKEN>)",
        ),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "job API failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log",
    )
}

fn unprocessable(msg: impl Into<String>) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, msg)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnqueueRequest {
    kind: String,
    #[serde(default = "empty_object")]
    payload: Value,
    #[serde(default)]
    run_at: Option<DateTime<Utc>>,
    #[serde(default)]
    priority: Option<i16>,
}

fn empty_object() -> Value {
    json!({})
}

async fn enqueue(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let de = &mut serde_json::Deserializer::from_slice(&body);
    let req: EnqueueRequest = match serde_path_to_error::deserialize(de) {
        Ok(r) => r,
        Err(e) if e.inner().is_syntax() || e.inner().is_eof() => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("body is not valid JSON: {}", e.inner()),
            );
        }
        Err(e) => {
            let path = e.path().to_string();
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            return unprocessable(format!("{field}: {}", e.inner()));
        }
    };
    if let Some(p) = req.priority
        && !(-100..=100).contains(&p)
    {
        return unprocessable("priority: must be between -100 and 100");
    }
    let job = NewJob {
        kind: req.kind,
        payload: req.payload,
        run_at: req.run_at,
        priority: req.priority.unwrap_or(0),
        unique_key: None,
    };
    match jobs::enqueue(&st.pool, &job).await {
        Ok(r) => {
            let mut body = json!({ "id": r.id, "state": "pending", "status_url": format!("/api/jobs/{}", r.id) });
            if r.duplicate {
                body["duplicate_of"] = json!(r.id);
            }
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Err(EnqueueError::Invalid(e)) => unprocessable(e.to_string()),
        Err(EnqueueError::Db(e)) => internal(e),
    }
}

fn parse_id(raw: &str) -> Result<i64, String> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("id: {raw:?} is not a job id"))
}

async fn show(State(st): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(msg) => return unprocessable(msg),
    };
    match jobs::get(&st.pool, id).await {
        Ok(Some(job)) => Json(job).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("job {id} not found")),
        Err(e) => internal(e),
    }
}

async fn list(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let pick = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let filter = Filter {
        state: pick("state"),
        queue: pick("queue"),
        kind: pick("kind"),
    };
    if let Some(s) = &filter.state
        && !jobs::STATES.contains(&s.as_str())
    {
        return unprocessable(format!(
            "state: {s:?} is not one of {}",
            jobs::STATES.join(", ")
        ));
    }
    if let Some(k) = &filter.kind
        && cicero_jobs::spec(k).is_none()
    {
        return unprocessable(format!("kind: unknown job kind {k:?}"));
    }
    let num = |k: &str, default: i64, max: i64| -> Result<i64, String> {
        match pick(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("{k}: must be a number from 1 to {max}")),
        }
    };
    let (page, per_page) = match (num("page", 1, 1_000_000), num("per_page", 50, 200)) {
        (Ok(p), Ok(pp)) => (p, pp),
        (Err(msg), _) | (_, Err(msg)) => return unprocessable(msg),
    };
    match jobs::list(&st.pool, &filter, page, per_page).await {
        Ok(page) => Json(page).into_response(),
        Err(e) => internal(e),
    }
}

async fn retry(State(st): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(msg) => return unprocessable(msg),
    };
    match jobs::retry(&st.pool, id).await {
        Ok(RetryOutcome::Retried) => {
            Json(json!({ "id": id, "state": "pending", "status_url": format!("/api/jobs/{id}") }))
                .into_response()
        }
        Ok(RetryOutcome::NotFound) => error(StatusCode::NOT_FOUND, format!("job {id} not found")),
        Ok(RetryOutcome::WrongState(s)) => error(
            StatusCode::CONFLICT,
            format!("job {id} is {s}; only failed or cancelled jobs can be retried"),
        ),
        Err(e) => internal(e),
    }
}

async fn queues(State(st): State<Arc<AppState>>) -> Response {
    match jobs::queue_stats(&st.pool).await {
        Ok(q) => Json(json!({ "queues": q })).into_response(),
        Err(e) => internal(e),
    }
}

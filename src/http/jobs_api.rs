//! The job API: enqueue, inspect, list, retry, queue statistics. Bearer token from
//! `JOB_API_TOKEN` (replaced by dashboard auth in a later issue). Bad input is a 4xx with a
//! JSON message naming the field.
use std::{collections::HashMap, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, board_api::record, error, internal, unprocessable};
use crate::platform::jobs::{self, CancelOutcome, EnqueueError, Filter, NewJob, RetryOutcome};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/jobs", post(enqueue).get(list))
        .route(
            "/api/jobs/{id}",
            get(show).delete(super::board_api::delete_job),
        )
        .route("/api/jobs/bulk", post(bulk))
        .route("/api/jobs/events", get(super::events::stream))
        .route("/api/jobs/{id}/retry", post(retry))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/api/queues", get(queues))
        .route("/api/queues/{queue}/pause", post(pause))
        .route("/api/queues/{queue}/resume", post(resume))
        .route("/api/rate-limits", get(rate_limits))
}

pub async fn require_token(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_owned)
        // EventSource (SSE) cannot send headers: accept ?access_token= as well.
        .or_else(|| {
            req.uri().query().and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("access_token="))
                    .map(str::to_owned)
            })
        });
    let given = given.as_deref();
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

async fn enqueue(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let req: EnqueueRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    if let Some(p) = req.priority
        && !(-100..=100).contains(&p)
    {
        return unprocessable("priority: must be between -100 and 100");
    }
    let kind = req.kind.clone();
    let job = NewJob {
        kind: req.kind,
        payload: req.payload,
        run_at: req.run_at,
        priority: req.priority.unwrap_or(0),
        unique_key: None,
    };
    match jobs::enqueue(&st.pool, &job).await {
        Ok(r) => {
            record(
                &st.pool,
                &headers,
                "job.enqueue",
                &r.id.to_string(),
                json!({ "kind": kind, "duplicate": r.duplicate }),
            )
            .await;
            let mut body = json!({ "id": r.id, "state": r.state, "status_url": format!("/api/jobs/{}", r.id) });
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

fn parse_time(k: &str, v: Option<String>) -> Result<Option<DateTime<Utc>>, String> {
    v.map(|v| {
        DateTime::parse_from_rfc3339(&v)
            .map(|t| t.to_utc())
            .map_err(|e| format!("{k}: {v:?} is not an RFC 3339 time ({e})"))
    })
    .transpose()
}

/// The filter of `GET /api/jobs` from its query string.
fn filter_from_query(q: &HashMap<String, String>) -> Result<Filter, String> {
    let pick = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let filter = Filter {
        state: pick("state"),
        queue: pick("queue"),
        kind: pick("kind"),
        q: pick("q"),
        created_after: parse_time("created_after", pick("created_after"))?,
        created_before: parse_time("created_before", pick("created_before"))?,
        client_id: pick("client_id"),
    };
    filter.validate()?;
    Ok(filter)
}

async fn list(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let filter = match filter_from_query(&q) {
        Ok(f) => f,
        Err(msg) => return unprocessable(msg),
    };
    let num = |k: &str, default: i64, max: i64| -> Result<i64, String> {
        match q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
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

/// Parses a JSON body, naming the offending field (400 for broken JSON, 422 otherwise).
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        if e.inner().is_syntax() || e.inner().is_eof() {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                format!("body is not valid JSON: {}", e.inner()),
            ))
        } else {
            let path = e.path().to_string();
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            Box::new(unprocessable(format!("{field}: {}", e.inner())))
        }
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkRequest {
    action: jobs::BulkAction,
    #[serde(default)]
    filter: Filter,
    /// Counts only, unless explicitly false.
    #[serde(default = "yes")]
    dry_run: bool,
}

fn yes() -> bool {
    true
}

async fn bulk(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let req: BulkRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    if let Err(msg) = req.filter.validate() {
        return unprocessable(format!("filter.{msg}"));
    }
    match jobs::bulk(&st.pool, req.action, &req.filter, req.dry_run).await {
        Ok(r) => {
            if !r.dry_run {
                let action = format!("jobs.bulk_{}", json!(r.action).as_str().unwrap_or("action"));
                let detail = json!({ "filter": filter_json(&req.filter), "matched": r.matched, "affected": r.affected });
                record(&st.pool, &headers, &action, "jobs", detail).await;
            }
            Json(r).into_response()
        }
        Err(e) => internal(e),
    }
}

/// A filter as the audit log shows it: only the fields that were set.
fn filter_json(f: &Filter) -> Value {
    let mut v = json!({
        "state": f.state, "queue": f.queue, "kind": f.kind, "q": f.q,
        "created_after": f.created_after, "created_before": f.created_before, "client_id": f.client_id,
    });
    if let Some(m) = v.as_object_mut() {
        m.retain(|_, x| !x.is_null());
    }
    v
}

async fn cancel(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(msg) => return unprocessable(msg),
    };
    let outcome = jobs::cancel(&st.pool, id).await;
    if let Ok(o @ (CancelOutcome::Cancelled | CancelOutcome::Requested)) = &outcome {
        let detail = json!({ "requested_only": *o == CancelOutcome::Requested });
        record(&st.pool, &headers, "job.cancel", &id.to_string(), detail).await;
    }
    match outcome {
        Ok(CancelOutcome::Cancelled) => Json(json!({ "id": id, "state": "cancelled" })).into_response(),
        Ok(CancelOutcome::Requested) => (
            StatusCode::ACCEPTED,
            Json(json!({ "id": id, "state": "running", "cancel_requested": true, "status_url": format!("/api/jobs/{id}") })),
        )
            .into_response(),
        Ok(CancelOutcome::NotFound) => error(StatusCode::NOT_FOUND, format!("job {id} not found")),
        Ok(CancelOutcome::WrongState(s)) => {
            error(StatusCode::CONFLICT, format!("job {id} is {s}; only pending or running jobs can be cancelled"))
        }
        Err(e) => internal(e),
    }
}

async fn pause(st: State<Arc<AppState>>, headers: HeaderMap, queue: Path<String>) -> Response {
    set_paused(st, headers, queue, true).await
}

async fn resume(st: State<Arc<AppState>>, headers: HeaderMap, queue: Path<String>) -> Response {
    set_paused(st, headers, queue, false).await
}

async fn set_paused(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(queue): Path<String>,
    paused: bool,
) -> Response {
    if !cicero_jobs::QUEUES.contains(&queue.as_str()) {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "unknown queue {queue:?} (known: {})",
                cicero_jobs::QUEUES.join(", ")
            ),
        );
    }
    match jobs::set_paused(&st.pool, &queue, paused, &super::board_api::actor(&headers)).await {
        Ok(()) => {
            let action = if paused {
                "queue.pause"
            } else {
                "queue.resume"
            };
            record(&st.pool, &headers, action, &queue, json!({})).await;
            Json(json!({ "queue": queue, "paused": paused })).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn rate_limits(State(st): State<Arc<AppState>>) -> Response {
    match crate::platform::ratelimit::states(&st.pool, &st.rate_limits).await {
        Ok(v) => Json(json!({ "limits": v })).into_response(),
        Err(e) => internal(e),
    }
}

async fn retry(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(msg) => return unprocessable(msg),
    };
    match jobs::retry(&st.pool, id).await {
        Ok(RetryOutcome::Retried) => {
            record(&st.pool, &headers, "job.retry", &id.to_string(), json!({})).await;
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

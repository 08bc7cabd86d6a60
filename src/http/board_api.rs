//! What the operator board (`/board`, `web/`) needs beyond the job API: throughput series,
//! workers, delete one job, schedules (next runs, last outcome, on/off, run now), the
//! catalogue, payload validation and the audit log. Every action is written to
//! `cicero.audit_log` by [`record`].
use std::{collections::HashMap, str::FromStr, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Asia::Jakarta;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgPool, Row};

use super::{AppState, error, internal, unprocessable};
use crate::platform::jobs::{self, NewJob};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/stats", get(stats))
        .route("/api/workers", get(workers))
        .route("/api/jobs/validate", post(validate))
        .route("/api/catalogue", get(catalogue))
        .route("/api/schedules", get(schedules))
        .route("/api/schedules/{name}/enable", post(enable))
        .route("/api/schedules/{name}/disable", post(disable))
        .route("/api/schedules/{name}/run", post(run_now))
        .route("/api/audit", get(audit))
}

/// Who acted: the credential (the job-API token until dashboard auth lands) and the name the
/// operator gave at login (`X-Cicero-Actor`, informational only).
pub fn actor(headers: &HeaderMap) -> String {
    let name = headers
        .get("x-cicero-actor")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(64).collect::<String>());
    match name {
        Some(n) => format!("api-token ({n})"),
        None => "api-token".to_string(),
    }
}

/// Appends one action to the audit log. A failed write is logged, not returned: the action
/// itself already happened.
pub async fn record(pool: &PgPool, headers: &HeaderMap, action: &str, target: &str, detail: Value) {
    if let Err(e) = sqlx::query(
        "INSERT INTO cicero.audit_log (actor, action, target, detail) VALUES ($1, $2, $3, $4)",
    )
    .bind(actor(headers))
    .bind(action)
    .bind(target)
    .bind(&detail)
    .execute(pool)
    .await
    {
        tracing::error!(error = %e, action, target, "audit log write failed");
    }
}

// ---------------------------------------------------------------- throughput series

/// A chart window: its length and the width of one bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub name: &'static str,
    pub span: Duration,
    pub bucket: Duration,
}

pub fn window(name: &str) -> Option<Window> {
    match name {
        "hour" => Some(Window {
            name: "hour",
            span: Duration::hours(1),
            bucket: Duration::minutes(1),
        }),
        "day" => Some(Window {
            name: "day",
            span: Duration::hours(24),
            bucket: Duration::minutes(30),
        }),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub at: DateTime<Utc>,
    /// Attempts that finished the job.
    pub done: i64,
    /// Attempts that failed (retry, failed, lost, interrupted); an operator's cancel is neither.
    pub failed: i64,
}

/// The first bucket start of a window ending at `now`, aligned to the bucket width.
pub fn window_start(w: Window, now: DateTime<Utc>) -> DateTime<Utc> {
    let end = now.duration_trunc(w.bucket).unwrap_or(now);
    end - w.span + w.bucket
}

/// Dense buckets from `start` (every bucket present, empty ones zero) out of sparse
/// `(bucket start, done, failed)` rows.
pub fn densify(w: Window, start: DateTime<Utc>, rows: &[(DateTime<Utc>, i64, i64)]) -> Vec<Bucket> {
    let n = (w.span.num_seconds() / w.bucket.num_seconds()) as usize;
    (0..n)
        .map(|i| {
            let at = start + w.bucket * i as i32;
            let (done, failed) = rows
                .iter()
                .filter(|r| r.0 == at)
                .fold((0, 0), |acc, r| (acc.0 + r.1, acc.1 + r.2));
            Bucket { at, done, failed }
        })
        .collect()
}

/// Failed attempts over all attempts, `None` without attempts.
pub fn failure_rate(done: i64, failed: i64) -> Option<f64> {
    let total = done + failed;
    (total > 0).then(|| failed as f64 / total as f64)
}

async fn stats(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let name = q.get("window").map(String::as_str).unwrap_or("hour");
    let Some(w) = window(name) else {
        return unprocessable(format!("window: {name:?} is not one of hour, day"));
    };
    let start = window_start(w, Utc::now());
    let rows = match sqlx::query(
        "SELECT j.queue,
                date_bin(make_interval(secs => $1), a.finished_at, $2::timestamptz) AS at,
                count(*) FILTER (WHERE a.outcome = 'done') AS done,
                count(*) FILTER (WHERE a.outcome NOT IN ('done', 'cancelled')) AS failed
           FROM cicero.job_attempts a JOIN cicero.jobs j ON j.id = a.job_id
          WHERE a.finished_at >= $2
          GROUP BY 1, 2",
    )
    .bind(w.bucket.num_seconds() as f64)
    .bind(start)
    .fetch_all(&st.pool)
    .await
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut by_queue: HashMap<String, Vec<(DateTime<Utc>, i64, i64)>> = HashMap::new();
    for r in &rows {
        let parsed: Result<(String, DateTime<Utc>, i64, i64), sqlx::Error> = (|| {
            Ok((
                r.try_get("queue")?,
                r.try_get("at")?,
                r.try_get("done")?,
                r.try_get("failed")?,
            ))
        })();
        match parsed {
            Ok((queue, at, done, failed)) => {
                by_queue.entry(queue).or_default().push((at, done, failed))
            }
            Err(e) => return internal(e),
        }
    }
    let mut names: Vec<String> = cicero_jobs::QUEUES.iter().map(|q| q.to_string()).collect();
    names.extend(
        by_queue
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let queues: Vec<Value> = names
        .iter()
        .map(|queue| {
            let buckets = densify(
                w,
                start,
                by_queue.get(queue).map(Vec::as_slice).unwrap_or(&[]),
            );
            let done: i64 = buckets.iter().map(|b| b.done).sum();
            let failed: i64 = buckets.iter().map(|b| b.failed).sum();
            json!({
                "queue": queue, "done": done, "failed": failed,
                "failure_rate": failure_rate(done, failed), "buckets": buckets,
            })
        })
        .collect();
    Json(json!({
        "window": w.name,
        "bucket_secs": w.bucket.num_seconds(),
        "from": start,
        "queues": queues,
    }))
    .into_response()
}

// ---------------------------------------------------------------- workers

async fn workers(State(st): State<Arc<AppState>>) -> Response {
    let rows = sqlx::query(
        "SELECT name, host, pid, queues, started_at, last_seen,
                EXTRACT(EPOCH FROM now() - last_seen)::float8 AS age
           FROM cicero.workers ORDER BY name",
    )
    .fetch_all(&st.pool)
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let workers: Result<Vec<Value>, sqlx::Error> = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "name": r.try_get::<String, _>("name")?,
                "host": r.try_get::<String, _>("host")?,
                "pid": r.try_get::<i32, _>("pid")?,
                "queues": r.try_get::<Vec<String>, _>("queues")?,
                "started_at": r.try_get::<DateTime<Utc>, _>("started_at")?,
                "last_seen": r.try_get::<DateTime<Utc>, _>("last_seen")?,
                "seconds_since_heartbeat": r.try_get::<f64, _>("age")?,
            }))
        })
        .collect();
    match workers {
        Ok(w) => Json(json!({ "workers": w })).into_response(),
        Err(e) => internal(e),
    }
}

// ---------------------------------------------------------------- delete one job

pub async fn delete_job(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = id.parse::<i64>().ok().filter(|i| *i > 0) else {
        return unprocessable(format!("id: {id:?} is not a job id"));
    };
    let deleted: Result<Option<(String, String)>, sqlx::Error> = sqlx::query_as(
        "WITH d AS (DELETE FROM cicero.jobs WHERE id = $1 AND state <> 'running' RETURNING id, kind, state),
              h AS (DELETE FROM cicero.job_attempts a USING d WHERE a.job_id = d.id)
         SELECT kind, state FROM d",
    )
    .bind(id)
    .fetch_optional(&st.pool)
    .await;
    match deleted {
        Ok(Some((kind, state))) => {
            record(
                &st.pool,
                &headers,
                "job.delete",
                &id.to_string(),
                json!({ "kind": kind, "state": state }),
            )
            .await;
            Json(json!({ "id": id, "deleted": true })).into_response()
        }
        Ok(None) => {
            match sqlx::query_scalar::<_, String>("SELECT state FROM cicero.jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(&st.pool)
                .await
            {
                Ok(Some(s)) => error(
                    StatusCode::CONFLICT,
                    format!("job {id} is {s}; cancel it first, running jobs cannot be deleted"),
                ),
                Ok(None) => error(StatusCode::NOT_FOUND, format!("job {id} not found")),
                Err(e) => internal(e),
            }
        }
        Err(e) => internal(e),
    }
}

// ---------------------------------------------------------------- catalogue, validation

async fn catalogue() -> Response {
    let kinds: Vec<Value> = cicero_jobs::CATALOGUE
        .iter()
        .map(|s| {
            json!({
                "kind": s.kind,
                "queue": s.queue,
                "summary": s.summary,
                "example": serde_json::from_str::<Value>(s.example).unwrap_or_else(|_| json!({})),
                "max_attempts": s.max_attempts,
                "timeout_ms": s.timeout_ms,
            })
        })
        .collect();
    Json(json!({ "queues": cicero_jobs::QUEUES, "kinds": kinds })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateRequest {
    kind: String,
    #[serde(default)]
    payload: Option<Value>,
}

async fn validate(body: Bytes) -> Response {
    let req: ValidateRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) if e.is_syntax() || e.is_eof() => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("body is not valid JSON: {e}"),
            );
        }
        Err(e) => return unprocessable(format!("body: {e}")),
    };
    let payload = req.payload.unwrap_or_else(|| json!({}));
    match cicero_jobs::validate(&req.kind, &payload) {
        Ok(spec) => {
            Json(json!({ "valid": true, "kind": spec.kind, "queue": spec.queue })).into_response()
        }
        Err(e) => unprocessable(e.to_string()),
    }
}

// ---------------------------------------------------------------- schedules

/// The next `n` ticks of a cron expression after `after`, in Jakarta time.
pub fn next_runs(
    expr: &str,
    after: DateTime<Utc>,
    n: usize,
) -> Result<Vec<DateTime<chrono_tz::Tz>>, String> {
    let schedule = cron::Schedule::from_str(expr).map_err(|e| format!("{expr:?}: {e}"))?;
    Ok(schedule
        .after(&after.with_timezone(&Jakarta))
        .take(n)
        .collect())
}

/// The keys in `cron_job_config` that switch an entry: its name and its legacy key.
fn config_keys(e: &cicero_jobs::schedule::CronEntry) -> Vec<&'static str> {
    std::iter::once(e.name).chain(e.legacy_key).collect()
}

/// Whether an entry runs, by the scheduler's rule: every matching row must be active; no
/// row means active.
pub fn is_active(rows: &[(String, bool)], keys: &[&str]) -> bool {
    rows.iter()
        .filter(|(k, _)| keys.contains(&k.as_str()))
        .all(|(_, a)| *a)
}

async fn schedules(State(st): State<Arc<AppState>>) -> Response {
    let config: Vec<(String, bool)> =
        match sqlx::query_as("SELECT job_key, is_active FROM cron_job_config")
            .fetch_all(&st.pool)
            .await
        {
            Ok(r) => r,
            Err(e) => return internal(e),
        };
    let now = Utc::now();
    let entries = crate::platform::scheduler::effective_entries(&st.cron_overrides);
    let names: Vec<&str> = entries.iter().map(|(e, _)| e.name).collect();
    let mut last_runs = match last_cron_runs(&st.pool, &names).await {
        Ok(l) => l,
        Err(e) => return internal(e),
    };
    let mut out = Vec::new();
    for (e, expr) in entries {
        let last = last_runs.remove(e.name).unwrap_or(Value::Null);
        let (next, next_error) = match next_runs(&expr, now, 5) {
            Ok(n) => (n.iter().map(|t| t.to_rfc3339()).collect::<Vec<_>>(), None),
            Err(msg) => (Vec::new(), Some(msg)),
        };
        out.push(json!({
            "name": e.name,
            "cron": expr,
            "kind": e.kind,
            "payload": (e.payload)(),
            "legacy_key": e.legacy_key,
            "active": is_active(&config, &config_keys(&e)),
            "next_runs": next,
            "cron_error": next_error,
            "last_run": last,
        }));
    }
    Json(json!({ "timezone": cicero_jobs::schedule::TIMEZONE, "schedules": out })).into_response()
}

/// The newest job of each cron entry (its unique key is `cron:<entry>:<tick>`), in one pass
/// over the jobs table rather than one query per entry.
async fn last_cron_runs(
    pool: &sqlx::PgPool,
    names: &[&str],
) -> Result<std::collections::HashMap<String, Value>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT DISTINCT ON (split_part(unique_key, ':', 2))
                split_part(unique_key, ':', 2) AS entry,
                id, state, created_at, finished_at, last_error
           FROM cicero.jobs
          WHERE unique_key LIKE 'cron:%' AND split_part(unique_key, ':', 2) = ANY($1)
          ORDER BY split_part(unique_key, ':', 2), id DESC",
    )
    .bind(names)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("entry")?,
                json!({
                    "job_id": r.try_get::<i64, _>("id")?,
                    "state": r.try_get::<String, _>("state")?,
                    "created_at": r.try_get::<DateTime<Utc>, _>("created_at")?,
                    "finished_at": r.try_get::<Option<DateTime<Utc>>, _>("finished_at")?,
                    "error": r.try_get::<Option<String>, _>("last_error")?,
                }),
            ))
        })
        .collect()
}

fn entry(name: &str) -> Option<cicero_jobs::schedule::CronEntry> {
    cicero_jobs::schedule::entries()
        .into_iter()
        .find(|e| e.name == name)
}

fn unknown_schedule(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("unknown schedule {name:?}"))
}

async fn enable(st: State<Arc<AppState>>, headers: HeaderMap, name: Path<String>) -> Response {
    set_active(st, headers, name, true).await
}

async fn disable(st: State<Arc<AppState>>, headers: HeaderMap, name: Path<String>) -> Response {
    set_active(st, headers, name, false).await
}

/// Writes the switch into the legacy `cron_job_config` table the scheduler reads at every
/// tick: every existing row of the entry's keys is set, and a row under its own name is
/// created when none exists.
async fn set_active(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    active: bool,
) -> Response {
    let Some(e) = entry(&name) else {
        return unknown_schedule(&name);
    };
    let keys = config_keys(&e);
    let result = async {
        let mut tx = st.pool.begin().await?;
        sqlx::query("UPDATE cron_job_config SET is_active = $2 WHERE job_key = ANY($1)")
            .bind(&keys)
            .bind(active)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO cron_job_config (job_key, display_name, is_active) VALUES ($1, $1, $2)
             ON CONFLICT (job_key) DO NOTHING",
        )
        .bind(e.name)
        .bind(active)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
    .await;
    match result {
        Ok(()) => {
            let action = if active {
                "schedule.enable"
            } else {
                "schedule.disable"
            };
            record(&st.pool, &headers, action, e.name, json!({})).await;
            Json(json!({ "name": e.name, "active": active })).into_response()
        }
        Err(err) => internal(err),
    }
}

/// Enqueues the entry's job now, as a tick would (its key `cron:<name>:manual-<ms>` makes it
/// the schedule's last run).
async fn run_now(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let Some(e) = entry(&name) else {
        return unknown_schedule(&name);
    };
    let mut job = NewJob::new(e.kind, (e.payload)());
    job.unique_key = Some(format!(
        "cron:{}:manual-{}",
        e.name,
        Utc::now().timestamp_millis()
    ));
    match jobs::enqueue(&st.pool, &job).await {
        Ok(r) => {
            record(
                &st.pool,
                &headers,
                "schedule.run",
                e.name,
                json!({ "job_id": r.id }),
            )
            .await;
            (
                StatusCode::ACCEPTED,
                Json(json!({ "id": r.id, "state": r.state, "status_url": format!("/api/jobs/{}", r.id) })),
            )
                .into_response()
        }
        Err(jobs::EnqueueError::Invalid(err)) => unprocessable(err.to_string()),
        Err(jobs::EnqueueError::Db(err)) => internal(err),
    }
}

// ---------------------------------------------------------------- audit log

async fn audit(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let limit = match q.get("limit").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => 100,
        Some(v) => match v.parse::<i64>().ok().filter(|n| (1..=500).contains(n)) {
            Some(n) => n,
            None => return unprocessable("limit: must be a number from 1 to 500"),
        },
    };
    let before = match q
        .get("before_id")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => return unprocessable("before_id: must be a number"),
        },
    };
    let rows = sqlx::query(
        "SELECT id, at, actor, action, target, detail FROM cicero.audit_log
          WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(&st.pool)
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let entries: Result<Vec<Value>, sqlx::Error> = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "id": r.try_get::<i64, _>("id")?,
                "at": r.try_get::<DateTime<Utc>, _>("at")?,
                "actor": r.try_get::<String, _>("actor")?,
                "action": r.try_get::<String, _>("action")?,
                "target": r.try_get::<Option<String>, _>("target")?,
                "detail": r.try_get::<Value, _>("detail")?,
            }))
        })
        .collect();
    match entries {
        Ok(e) => Json(json!({ "entries": e })).into_response(),
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, h, m, 0).unwrap()
    }

    #[test]
    fn windows_align_and_densify() {
        let hour = window("hour").unwrap();
        let start = window_start(hour, t(10, 30) + Duration::seconds(42));
        assert_eq!(start, t(9, 31));
        let b = densify(
            hour,
            start,
            &[(t(9, 31), 2, 1), (t(10, 30), 0, 3), (t(9, 31), 1, 0)],
        );
        assert_eq!(b.len(), 60);
        assert_eq!((b[0].at, b[0].done, b[0].failed), (t(9, 31), 3, 1));
        assert_eq!((b[59].at, b[59].done, b[59].failed), (t(10, 30), 0, 3));
        assert!(b[1..59].iter().all(|x| x.done == 0 && x.failed == 0));
        let day = window("day").unwrap();
        assert_eq!(
            window_start(day, t(10, 45)),
            t(10, 30) - Duration::hours(24) + Duration::minutes(30)
        );
        assert_eq!(densify(day, t(0, 0), &[]).len(), 48);
        assert!(window("week").is_none());
    }

    #[test]
    fn failure_rates() {
        for (done, failed, want) in [(0, 0, None), (3, 1, Some(0.25)), (0, 2, Some(1.0))] {
            assert_eq!(failure_rate(done, failed), want, "{done}/{failed}");
        }
    }

    #[test]
    fn next_runs_are_jakarta_wall_times() {
        // 20:54 UTC is 03:54 in Jakarta: the 04:00 backup is six minutes away.
        let runs = next_runs("0 0 4 * * *", t(20, 54), 2).unwrap();
        assert_eq!(runs[0].to_rfc3339(), "2026-11-25T04:00:00+07:00");
        assert_eq!(runs[1].to_rfc3339(), "2026-11-26T04:00:00+07:00");
        assert!(next_runs("not cron", t(0, 0), 1).is_err());
    }

    #[test]
    fn activity_follows_the_scheduler_rule() {
        let rows = vec![
            ("backup_db".to_string(), true),
            ("./src/cron/cronDbBackup.js".to_string(), false),
            ("other".to_string(), false),
        ];
        assert!(!is_active(
            &rows,
            &["backup_db", "./src/cron/cronDbBackup.js"]
        ));
        assert!(is_active(&rows, &["backup_db"]));
        assert!(is_active(&rows, &["prune_jobs"]));
    }

    #[test]
    fn actor_names_the_credential_and_the_operator() {
        let mut h = HeaderMap::new();
        assert_eq!(actor(&h), "api-token");
        h.insert("x-cicero-actor", "  Rina ".parse().unwrap());
        assert_eq!(actor(&h), "api-token (Rina)");
    }
}

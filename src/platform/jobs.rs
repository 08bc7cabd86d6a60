//! The job table as a repository: enqueue (single, bulk, inside the caller's transaction),
//! read, list, retry and queue statistics. Used by the API, the CLI, the scheduler and
//! handlers that fan out follow-up work.
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgExecutor, PgPool, Row};

use cicero_jobs::{Job, JobSpec, ValidateError};

/// A job to enqueue, before validation.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    pub run_at: Option<DateTime<Utc>>,
    pub priority: i16,
    /// Deduplication key: while a row with this key exists no second one is created.
    pub unique_key: Option<String>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: Value) -> Self {
        NewJob {
            kind: kind.into(),
            payload,
            run_at: None,
            priority: 0,
            unique_key: None,
        }
    }

    /// A typed job (payload encoded from its catalogue type).
    pub fn of<J: Job>(job: &J) -> Result<Self, serde_json::Error> {
        Ok(Self::new(J::SPEC.kind, serde_json::to_value(job)?))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("{0}")]
    Invalid(ValidateError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// What an enqueue produced: a new row, or the existing row holding the same unique key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    pub id: i64,
    pub duplicate: bool,
}

fn checked(job: &NewJob) -> Result<&'static JobSpec, EnqueueError> {
    cicero_jobs::validate(&job.kind, &job.payload).map_err(EnqueueError::Invalid)
}

/// Validates and inserts one job. `exec` may be a pool or the caller's own transaction
/// (`&mut *tx`): then the job exists only if that transaction commits.
pub async fn enqueue<'e>(
    exec: impl PgExecutor<'e>,
    job: &NewJob,
) -> Result<Enqueued, EnqueueError> {
    let spec = checked(job)?;
    // ON CONFLICT DO NOTHING returns no row for a duplicate; the UNION finds the holder.
    let row = sqlx::query(
        "WITH ins AS (
             INSERT INTO cicero.jobs (queue, kind, payload, priority, max_attempts, run_at, unique_key)
             VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()), $7)
             ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING
             RETURNING id)
         SELECT id, false AS duplicate FROM ins
         UNION ALL
         SELECT id, true FROM cicero.jobs WHERE unique_key = $7 AND NOT EXISTS (SELECT 1 FROM ins)
         LIMIT 1",
    )
    .bind(spec.queue)
    .bind(spec.kind)
    .bind(&job.payload)
    .bind(job.priority)
    .bind(spec.max_attempts)
    .bind(job.run_at)
    .bind(&job.unique_key)
    .fetch_one(exec)
    .await?;
    Ok(Enqueued {
        id: row.try_get("id")?,
        duplicate: row.try_get("duplicate")?,
    })
}

/// Validates and inserts many jobs in one statement (one NOTIFY per queue). Duplicate
/// unique keys are skipped; returns the ids created.
pub async fn enqueue_many<'e>(
    exec: impl PgExecutor<'e>,
    jobs: &[NewJob],
) -> Result<Vec<i64>, EnqueueError> {
    let mut queue = Vec::with_capacity(jobs.len());
    let mut kind = Vec::with_capacity(jobs.len());
    let mut max_attempts = Vec::with_capacity(jobs.len());
    for job in jobs {
        let spec = checked(job)?;
        queue.push(spec.queue);
        kind.push(spec.kind);
        max_attempts.push(spec.max_attempts);
    }
    let payload: Vec<&Value> = jobs.iter().map(|j| &j.payload).collect();
    let priority: Vec<i16> = jobs.iter().map(|j| j.priority).collect();
    let run_at: Vec<Option<DateTime<Utc>>> = jobs.iter().map(|j| j.run_at).collect();
    let unique_key: Vec<Option<&str>> = jobs.iter().map(|j| j.unique_key.as_deref()).collect();
    let ids = sqlx::query_scalar(
        "INSERT INTO cicero.jobs (queue, kind, payload, priority, max_attempts, run_at, unique_key)
         SELECT q, k, p, pr, m, COALESCE(r, now()), u
           FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::int2[], $5::int4[], $6::timestamptz[], $7::text[])
             AS t(q, k, p, pr, m, r, u)
         ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING
         RETURNING id",
    )
    .bind(&queue)
    .bind(&kind)
    .bind(&payload)
    .bind(&priority)
    .bind(&max_attempts)
    .bind(&run_at)
    .bind(&unique_key)
    .fetch_all(exec)
    .await?;
    Ok(ids)
}

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub attempt: i32,
    pub worker: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: i64,
    pub kind: String,
    pub queue: String,
    pub state: String,
    pub payload: Value,
    pub priority: i16,
    pub attempt: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub result: Option<Value>,
    pub unique_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<Attempt>>,
}

const JOB_COLUMNS: &str = "id, kind, queue, state, payload, priority, attempt, max_attempts, run_at, \
     created_at, started_at, finished_at, locked_by, last_error, result, unique_key";

fn job_from_row(r: &sqlx::postgres::PgRow) -> Result<JobView, sqlx::Error> {
    Ok(JobView {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        queue: r.try_get("queue")?,
        state: r.try_get("state")?,
        payload: r.try_get("payload")?,
        priority: r.try_get("priority")?,
        attempt: r.try_get("attempt")?,
        max_attempts: r.try_get("max_attempts")?,
        run_at: r.try_get("run_at")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        locked_by: r.try_get("locked_by")?,
        last_error: r.try_get("last_error")?,
        result: r.try_get("result")?,
        unique_key: r.try_get("unique_key")?,
        attempts: None,
    })
}

/// One job with its whole attempt history, oldest attempt first.
pub async fn get(pool: &PgPool, id: i64) -> Result<Option<JobView>, sqlx::Error> {
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM cicero.jobs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let mut job = job_from_row(&row)?;
    let attempts = sqlx::query(
        "SELECT attempt, worker, started_at, finished_at, outcome, error
           FROM cicero.job_attempts WHERE job_id = $1 ORDER BY attempt, finished_at",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Attempt {
            attempt: r.try_get("attempt")?,
            worker: r.try_get("worker")?,
            started_at: r.try_get("started_at")?,
            finished_at: r.try_get("finished_at")?,
            outcome: r.try_get("outcome")?,
            error: r.try_get("error")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    job.attempts = Some(attempts);
    Ok(Some(job))
}

pub const STATES: &[&str] = &["pending", "running", "done", "failed", "cancelled"];

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<String>,
    pub queue: Option<String>,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub jobs: Vec<JobView>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Jobs matching the filter, newest first.
pub async fn list(
    pool: &PgPool,
    f: &Filter,
    page: i64,
    per_page: i64,
) -> Result<Page, sqlx::Error> {
    let cond = "($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR queue = $2) \
                AND ($3::text IS NULL OR kind = $3)";
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM cicero.jobs WHERE {cond}"
    )))
    .bind(&f.state)
    .bind(&f.queue)
    .bind(&f.kind)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM cicero.jobs WHERE {cond} ORDER BY id DESC LIMIT $4 OFFSET $5"
    )))
    .bind(&f.state)
    .bind(&f.queue)
    .bind(&f.kind)
    .bind(per_page)
    .bind((page - 1) * per_page)
    .fetch_all(pool)
    .await?;
    let jobs = rows.iter().map(job_from_row).collect::<Result<_, _>>()?;
    Ok(Page {
        jobs,
        total,
        page,
        per_page,
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum RetryOutcome {
    Retried,
    NotFound,
    /// Only failed or cancelled jobs can be retried; carries the current state.
    WrongState(String),
}

/// A failed or cancelled job back to pending, due now. Its history stays; if its attempts are
/// used up it gets one more.
pub async fn retry(pool: &PgPool, id: i64) -> Result<RetryOutcome, sqlx::Error> {
    let updated = sqlx::query(
        "WITH r AS (
             UPDATE cicero.jobs
                SET state = 'pending', run_at = now(), finished_at = NULL, locked_by = NULL,
                    max_attempts = GREATEST(max_attempts, attempt + 1)
              WHERE id = $1 AND state IN ('failed', 'cancelled')
             RETURNING queue)
         SELECT pg_notify('cicero_jobs', queue) FROM r",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    if updated.is_some() {
        return Ok(RetryOutcome::Retried);
    }
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM cicero.jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(state.map_or(RetryOutcome::NotFound, RetryOutcome::WrongState))
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueStats {
    pub queue: String,
    pub counts: std::collections::BTreeMap<String, i64>,
    /// Age in seconds of the oldest pending job that is due, if any.
    pub oldest_pending_secs: Option<f64>,
    pub done_last_hour: i64,
    pub failed_last_hour: i64,
}

impl QueueStats {
    fn empty(queue: &str) -> Self {
        QueueStats {
            queue: queue.to_string(),
            counts: STATES.iter().map(|s| (s.to_string(), 0)).collect(),
            oldest_pending_secs: None,
            done_last_hour: 0,
            failed_last_hour: 0,
        }
    }
}

/// Per queue: counts by state, oldest due pending age, finished in the last hour. Every
/// catalogue queue is listed, also when empty.
pub async fn queue_stats(pool: &PgPool) -> Result<Vec<QueueStats>, sqlx::Error> {
    let mut out: Vec<QueueStats> = cicero_jobs::QUEUES
        .iter()
        .map(|q| QueueStats::empty(q))
        .collect();
    let rows = sqlx::query(
        "SELECT queue, state, count(*) AS n,
                EXTRACT(EPOCH FROM now() - min(run_at) FILTER (WHERE state = 'pending' AND run_at <= now()))::float8 AS oldest,
                count(*) FILTER (WHERE state = 'done' AND finished_at > now() - interval '1 hour') AS done_hour,
                count(*) FILTER (WHERE state = 'failed' AND finished_at > now() - interval '1 hour') AS failed_hour
           FROM cicero.jobs GROUP BY queue, state",
    )
    .fetch_all(pool)
    .await?;
    for r in rows {
        let queue: String = r.try_get("queue")?;
        let idx = match out.iter().position(|s| s.queue == queue) {
            Some(i) => i,
            None => {
                out.push(QueueStats::empty(&queue));
                out.len() - 1
            }
        };
        let s = &mut out[idx];
        s.counts.insert(r.try_get("state")?, r.try_get("n")?);
        if let Some(age) = r.try_get::<Option<f64>, _>("oldest")? {
            s.oldest_pending_secs = Some(age);
        }
        s.done_last_hour += r.try_get::<i64, _>("done_hour")?;
        s.failed_last_hour += r.try_get::<i64, _>("failed_hour")?;
    }
    Ok(out)
}

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
    /// The job's state: `pending` when new; for a duplicate, the holder's current state.
    pub state: &'static str,
}

fn known_state(s: &str) -> &'static str {
    STATES
        .iter()
        .find(|k| **k == s)
        .copied()
        .unwrap_or("pending")
}

fn checked(job: &NewJob) -> Result<&'static JobSpec, EnqueueError> {
    cicero_jobs::validate(&job.kind, &job.payload).map_err(EnqueueError::Invalid)
}

/// The unique key of a job and the states in which its row holds it.
fn uniqueness(spec: &JobSpec, job: &NewJob) -> (Option<String>, Option<Vec<&'static str>>) {
    // A key given explicitly (e.g. the scheduler's `cron:<entry>:<tick>`) is held in every
    // state, so a tick can never be enqueued twice.
    if let Some(k) = &job.unique_key {
        return (Some(k.clone()), Some(STATES.to_vec()));
    }
    match spec.unique_key(&job.payload, Utc::now().timestamp()) {
        Some(k) => (Some(k), spec.unique.map(|u| u.states.to_vec())),
        None => (None, None),
    }
}

/// Validates and inserts one job. `exec` may be a pool or the caller's own transaction
/// (`&mut *tx`): then the job exists only if that transaction commits. A job whose unique key
/// is held by another row is not inserted; that row is returned as a duplicate.
pub async fn enqueue<'a, A>(exec: A, job: &NewJob) -> Result<Enqueued, EnqueueError>
where
    A: sqlx::Acquire<'a, Database = sqlx::Postgres>,
{
    let spec = checked(job)?;
    let (key, states) = uniqueness(spec, job);
    let mut conn = exec.acquire().await?;
    loop {
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO cicero.jobs (queue, kind, payload, priority, max_attempts, run_at, unique_key, unique_states)
             VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()), $7, $8)
             ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING
             RETURNING id",
        )
        .bind(spec.queue)
        .bind(spec.kind)
        .bind(&job.payload)
        .bind(job.priority)
        .bind(spec.max_attempts)
        .bind(job.run_at)
        .bind(&key)
        .bind(&states)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = inserted {
            return Ok(Enqueued {
                id,
                duplicate: false,
                state: "pending",
            });
        }
        // The holder committed before our insert gave up on the conflict, so this later
        // statement sees it. If it released the key in between, insert again.
        let holder: Option<(i64, String)> =
            sqlx::query_as("SELECT id, state FROM cicero.jobs WHERE unique_key = $1")
                .bind(&key)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some((id, state)) = holder {
            return Ok(Enqueued {
                id,
                duplicate: true,
                state: known_state(&state),
            });
        }
    }
}

/// Validates and inserts many jobs in one statement (one NOTIFY per queue). Jobs whose unique
/// key is already held are skipped; returns the ids created.
pub async fn enqueue_many<'e>(
    exec: impl PgExecutor<'e>,
    jobs: &[NewJob],
) -> Result<Vec<i64>, EnqueueError> {
    let n = jobs.len();
    let (mut queue, mut kind, mut max_attempts) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut keys, mut states) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for job in jobs {
        let spec = checked(job)?;
        queue.push(spec.queue);
        kind.push(spec.kind);
        max_attempts.push(spec.max_attempts);
        let (k, st) = uniqueness(spec, job);
        keys.push(k);
        // Arrays of arrays cannot vary in length: pass the states as one text each.
        states.push(st.map(|s| s.join(",")));
    }
    let payload: Vec<&Value> = jobs.iter().map(|j| &j.payload).collect();
    let priority: Vec<i16> = jobs.iter().map(|j| j.priority).collect();
    let run_at: Vec<Option<DateTime<Utc>>> = jobs.iter().map(|j| j.run_at).collect();
    let ids = sqlx::query_scalar(
        "INSERT INTO cicero.jobs (queue, kind, payload, priority, max_attempts, run_at, unique_key, unique_states)
         SELECT q, k, p, pr, m, COALESCE(r, now()), u, string_to_array(us, ',')
           FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::int2[], $5::int4[], $6::timestamptz[], $7::text[], $8::text[])
             AS t(q, k, p, pr, m, r, u, us)
         ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING
         RETURNING id",
    )
    .bind(&queue)
    .bind(&kind)
    .bind(&payload)
    .bind(&priority)
    .bind(&max_attempts)
    .bind(&run_at)
    .bind(&keys)
    .bind(&states)
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
    /// `{"fraction", "message", "at"}` as last reported by the handler.
    pub progress: Option<Value>,
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// The rate-limit key a pending job waits for.
    pub waiting_for: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<Attempt>>,
}

const JOB_COLUMNS: &str = "id, kind, queue, state, payload, priority, attempt, max_attempts, run_at, \
     created_at, started_at, finished_at, locked_by, last_error, result, unique_key, progress, \
     cancel_requested_at, waiting_for";

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
        progress: r.try_get("progress")?,
        cancel_requested_at: r.try_get("cancel_requested_at")?,
        waiting_for: r.try_get("waiting_for")?,
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

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub state: Option<String>,
    pub queue: Option<String>,
    pub kind: Option<String>,
    /// Text the payload must contain (case-insensitive), e.g. a client id.
    pub q: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// The payload's `client_id` (a tenant), matched exactly.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// The WHERE clause of a [`Filter`], binds `$1..$7` in [`bind_filter`]'s order.
const FILTER_SQL: &str = "($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR queue = $2) \
     AND ($3::text IS NULL OR kind = $3) \
     AND ($4::text IS NULL OR payload::text ILIKE '%' || $4 || '%' ESCAPE '\\') \
     AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6) \
     AND ($7::text IS NULL OR payload->>'client_id' = $7)";

type PgQuery<'q, O> = sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>;

fn bind_filter<'q, O>(q: PgQuery<'q, O>, f: &'q Filter) -> PgQuery<'q, O> {
    // LIKE wildcards in the search text are literal.
    let text = f.q.as_deref().map(|t| {
        t.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    });
    q.bind(f.state.as_deref())
        .bind(f.queue.as_deref())
        .bind(f.kind.as_deref())
        .bind(text)
        .bind(f.created_after)
        .bind(f.created_before)
        .bind(f.client_id.as_deref())
}

impl Filter {
    /// Checks names against the catalogue; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(s) = &self.state
            && !STATES.contains(&s.as_str())
        {
            return Err(format!("state: {s:?} is not one of {}", STATES.join(", ")));
        }
        if let Some(k) = &self.kind
            && cicero_jobs::spec(k).is_none()
        {
            return Err(format!("kind: unknown job kind {k:?}"));
        }
        if let Some(q) = &self.queue
            && !cicero_jobs::QUEUES.contains(&q.as_str())
        {
            return Err(format!(
                "queue: unknown queue {q:?} (known: {})",
                cicero_jobs::QUEUES.join(", ")
            ));
        }
        Ok(())
    }
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
    let (total,): (i64,) = bind_filter(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM cicero.jobs WHERE {FILTER_SQL}"
        ))),
        f,
    )
    .fetch_one(pool)
    .await?;
    let rows = bind_filter(
        sqlx::query_as::<_, RawRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM cicero.jobs WHERE {FILTER_SQL} ORDER BY id DESC LIMIT $8 OFFSET $9"
        ))),
        f,
    )
    .bind(per_page)
    .bind((page - 1) * per_page)
    .fetch_all(pool)
    .await?;
    let jobs = rows.into_iter().map(|r| r.0).collect();
    Ok(Page {
        jobs,
        total,
        page,
        per_page,
    })
}

/// A row decoded through [`job_from_row`], so filtered queries can use `query_as`.
struct RawRow(JobView);

impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for RawRow {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        job_from_row(row).map(RawRow)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkAction {
    Retry,
    Cancel,
    Delete,
}

#[derive(Debug, Clone, Serialize)]
pub struct BulkResult {
    pub action: BulkAction,
    pub dry_run: bool,
    /// Jobs matching the filter.
    pub matched: i64,
    /// Of those, the ones the action applies to (and, unless a dry run, was applied to).
    pub affected: i64,
}

/// Retry (failed/cancelled → pending), cancel (pending → cancelled; running → cancel
/// requested) or delete (anything not running) every job matching `f`. A dry run only counts.
pub async fn bulk(
    pool: &PgPool,
    action: BulkAction,
    f: &Filter,
    dry_run: bool,
) -> Result<BulkResult, sqlx::Error> {
    let eligible = match action {
        BulkAction::Retry => "state IN ('failed', 'cancelled')",
        BulkAction::Cancel => "state IN ('pending', 'running')",
        BulkAction::Delete => "state <> 'running'",
    };
    let (matched, affected): (i64, i64) = bind_filter(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), count(*) FILTER (WHERE {eligible}) FROM cicero.jobs WHERE {FILTER_SQL}"
        ))),
        f,
    )
    .fetch_one(pool)
    .await?;
    if dry_run {
        return Ok(BulkResult {
            action,
            dry_run,
            matched,
            affected,
        });
    }
    let sql = match action {
        BulkAction::Retry => format!(
            "WITH r AS (UPDATE cicero.jobs SET state = 'pending', run_at = now(), finished_at = NULL, locked_by = NULL,
                        max_attempts = GREATEST(max_attempts, attempt + 1), cancel_requested_at = NULL
                  WHERE {eligible} AND {FILTER_SQL} RETURNING queue)
             SELECT count(*) FROM (SELECT queue, pg_notify('cicero_jobs', queue) FROM r) n"
        ),
        BulkAction::Cancel => format!(
            "WITH p AS (UPDATE cicero.jobs SET state = CASE WHEN state = 'pending' THEN 'cancelled' ELSE state END,
                        finished_at = CASE WHEN state = 'pending' THEN now() ELSE finished_at END,
                        cancel_requested_at = CASE WHEN state = 'running' THEN now() ELSE cancel_requested_at END,
                        unique_key = CASE WHEN state = 'pending' THEN cicero.unique_key_after(unique_key, unique_states, 'cancelled') ELSE unique_key END
                  WHERE {eligible} AND {FILTER_SQL} RETURNING id)
             SELECT count(*) FROM p"
        ),
        BulkAction::Delete => format!(
            "WITH d AS (DELETE FROM cicero.jobs WHERE {eligible} AND {FILTER_SQL} RETURNING id),
                  h AS (DELETE FROM cicero.job_attempts a USING d WHERE a.job_id = d.id)
             SELECT count(*) FROM d"
        ),
    };
    let (affected,): (i64,) = bind_filter(sqlx::query_as(sqlx::AssertSqlSafe(sql)), f)
        .fetch_one(pool)
        .await?;
    Ok(BulkResult {
        action,
        dry_run,
        matched,
        affected,
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It was pending and is cancelled now.
    Cancelled,
    /// It is running; its worker interrupts it within a few seconds.
    Requested,
    NotFound,
    WrongState(String),
}

/// Cancels a pending job at once, or asks the worker running it to interrupt it. A cancelled
/// job is not retried.
pub async fn cancel(pool: &PgPool, id: i64) -> Result<CancelOutcome, sqlx::Error> {
    let row: Option<String> = sqlx::query_scalar(
        "UPDATE cicero.jobs
            SET state = CASE WHEN state = 'pending' THEN 'cancelled' ELSE state END,
                finished_at = CASE WHEN state = 'pending' THEN now() ELSE finished_at END,
                cancel_requested_at = CASE WHEN state = 'running' THEN now() ELSE cancel_requested_at END,
                unique_key = CASE WHEN state = 'pending' THEN cicero.unique_key_after(unique_key, unique_states, 'cancelled') ELSE unique_key END
          WHERE id = $1 AND state IN ('pending', 'running')
         RETURNING state",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(match row.as_deref() {
        Some("cancelled") => CancelOutcome::Cancelled,
        Some(_) => CancelOutcome::Requested,
        None => {
            let state: Option<String> =
                sqlx::query_scalar("SELECT state FROM cicero.jobs WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?;
            state.map_or(CancelOutcome::NotFound, CancelOutcome::WrongState)
        }
    })
}

/// Pauses or resumes a queue for every worker process (they stop claiming at their next
/// claim; running jobs finish). Survives restarts.
pub async fn set_paused(
    pool: &PgPool,
    queue: &str,
    paused: bool,
    by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cicero.queues (queue, paused, updated_at, updated_by) VALUES ($1, $2, now(), $3)
         ON CONFLICT (queue) DO UPDATE SET paused = $2, updated_at = now(), updated_by = $3",
    )
    .bind(queue)
    .bind(paused)
    .bind(by)
    .execute(pool)
    .await?;
    if !paused {
        sqlx::query("SELECT pg_notify('cicero_jobs', $1)")
            .bind(queue)
            .execute(pool)
            .await?;
    }
    Ok(())
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
                    max_attempts = GREATEST(max_attempts, attempt + 1), cancel_requested_at = NULL
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
    pub paused: bool,
}

impl QueueStats {
    fn empty(queue: &str) -> Self {
        QueueStats {
            queue: queue.to_string(),
            counts: STATES.iter().map(|s| (s.to_string(), 0)).collect(),
            oldest_pending_secs: None,
            done_last_hour: 0,
            failed_last_hour: 0,
            paused: false,
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
    let paused: Vec<String> = sqlx::query_scalar("SELECT queue FROM cicero.queues WHERE paused")
        .fetch_all(pool)
        .await?;
    for s in out.iter_mut() {
        s.paused = paused.contains(&s.queue);
    }
    Ok(out)
}

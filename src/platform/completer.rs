//! Records attempt outcomes in batches: one statement updates every finished row and appends
//! its attempt to `cicero.job_attempts`. Outcomes queue in memory while a batch is written, so
//! under load many jobs share a commit; an idle queue still writes each outcome at once.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

/// How one attempt ended.
#[derive(Debug, Clone)]
pub enum Verdict {
    Done(Value),
    /// Failed, will run again at `run_at`.
    Retry {
        error: String,
        run_at: DateTime<Utc>,
    },
    /// Failed for good (attempts used up, or a permanent error).
    Failed(String),
    /// Interrupted on an operator's request; not retried.
    Cancelled,
    /// Not run (rate limit): back to pending until `run_at`, the attempt not spent.
    Snooze {
        run_at: DateTime<Utc>,
        waiting_for: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: i64,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub verdict: Verdict,
}

enum Msg {
    Outcome(Outcome),
    Flush(oneshot::Sender<()>),
}

/// Handle used by handlers to report outcomes.
#[derive(Clone)]
pub struct Completer {
    tx: mpsc::UnboundedSender<Msg>,
}

const MAX_BATCH: usize = 2_000;

impl Completer {
    /// Starts the writer task for worker instance `worker`.
    pub fn start(pool: PgPool, worker: String) -> (Completer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(write_loop(pool, worker, rx));
        (Completer { tx }, task)
    }

    pub fn report(&self, outcome: Outcome) {
        if self.tx.send(Msg::Outcome(outcome)).is_err() {
            tracing::error!("outcome writer stopped; the job will be rescued as lost");
        }
    }

    /// Resolves once everything reported before this call is written.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_loop(pool: PgPool, worker: String, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut batch: Vec<Outcome> = Vec::new();
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Outcome(o) => batch.push(o),
                Msg::Flush(w) => waiters.push(w),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        let mut failures = 0u32;
        // An outcome is never dropped: a failed write is retried until it lands (the lease
        // guard in the statement makes a late write harmless).
        while !batch.is_empty() {
            match write(&pool, &worker, &batch).await {
                Ok(()) => batch.clear(),
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, jobs = batch.len(), "recording outcomes failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(failures.min(50))))
                        .await;
                }
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

async fn write(pool: &PgPool, worker: &str, batch: &[Outcome]) -> Result<(), sqlx::Error> {
    let n = batch.len();
    let (mut ids, mut attempts, mut outcomes) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut errors, mut results, mut run_ats) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut started, mut finished, mut waiting) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for o in batch {
        ids.push(o.id);
        attempts.push(o.attempt);
        started.push(o.started_at);
        finished.push(o.finished_at);
        let (outcome, error, result, run_at, wait_key) = match &o.verdict {
            Verdict::Done(v) => ("done", None, Some(v), None, None),
            Verdict::Retry { error, run_at } => {
                ("retry", Some(error.as_str()), None, Some(*run_at), None)
            }
            Verdict::Failed(e) => ("failed", Some(e.as_str()), None, None, None),
            Verdict::Cancelled => (
                "cancelled",
                Some("cancelled by an operator"),
                None,
                None,
                None,
            ),
            Verdict::Snooze {
                run_at,
                waiting_for,
            } => ("snooze", None, None, Some(*run_at), waiting_for.as_deref()),
        };
        outcomes.push(outcome);
        errors.push(error);
        results.push(result);
        run_ats.push(run_at);
        waiting.push(wait_key);
    }
    // Only the current lease holder may move the row (a job rescued from us meanwhile stays
    // with its new owner); the attempt is recorded either way. `locked_by` is set only while a
    // row is running, so it is the whole guard. It is compared with a column of `o`, not with
    // the parameter: as a filter on `jobs` alone the planner estimates it from statistics in
    // which almost every `locked_by` is NULL (~1 row), scans `jobs` first and loops over the
    // whole batch per row (seconds per batch). As a join clause the only access path left is
    // the primary key: one index probe per outcome.
    //
    // A snooze (rate limit) gives the attempt back and writes no history. The unique key is
    // kept only while the new state is one the kind deduplicates in. Finished jobs are
    // announced on `cicero_events` in chunks (NOTIFY payloads are limited to 8 kB).
    sqlx::query(
        "WITH o AS (
             SELECT o.*, $9::text AS worker,
                    CASE o.outcome WHEN 'retry' THEN 'pending' WHEN 'snooze' THEN 'pending' ELSE o.outcome END AS new_state
               FROM unnest($1::int8[], $2::int4[], $3::text[], $4::text[], $5::jsonb[],
                           $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $10::text[])
                 AS o(id, attempt, outcome, error, result, run_at, started_at, finished_at, waiting_for)),
         upd AS (
             UPDATE cicero.jobs j
                SET state = o.new_state,
                    attempt = CASE WHEN o.outcome = 'snooze' THEN j.attempt - 1 ELSE j.attempt END,
                    run_at = COALESCE(o.run_at, j.run_at),
                    finished_at = CASE WHEN o.new_state = 'pending' THEN NULL ELSE o.finished_at END,
                    result = CASE WHEN o.outcome = 'done' THEN o.result ELSE j.result END,
                    last_error = COALESCE(o.error, j.last_error),
                    waiting_for = o.waiting_for,
                    locked_by = NULL,
                    unique_key = cicero.unique_key_after(j.unique_key, j.unique_states, o.new_state)
               FROM o
              WHERE j.id = o.id AND j.locked_by = o.worker AND j.attempt = o.attempt
             RETURNING j.id, j.state),
         hist AS (
             INSERT INTO cicero.job_attempts (job_id, attempt, worker, started_at, finished_at, outcome, error)
             SELECT id, attempt, worker, started_at, finished_at, outcome, error FROM o WHERE outcome <> 'snooze'),
         ev AS (
             SELECT pg_notify('cicero_events', json_build_object('type', 'finished', 'jobs', json_agg(json_build_array(id, state)))::text)
               FROM (SELECT id, state, (row_number() OVER ()) / 200 AS chunk FROM upd) c
              GROUP BY chunk)
         SELECT count(*) FROM ev",
    )
    .bind(&ids)
    .bind(&attempts)
    .bind(&outcomes)
    .bind(&errors)
    .bind(&results)
    .bind(&run_ats)
    .bind(&started)
    .bind(&finished)
    .bind(worker)
    .bind(&waiting)
    .execute(pool)
    .await?;
    Ok(())
}

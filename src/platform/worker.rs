//! A worker process (`cicero work`): registers a unique instance, runs one apalis worker per
//! queue under an apalis `Monitor`, heartbeats, rescues the jobs of dead instances, and on
//! shutdown hands back what it claimed but did not finish.
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{Data, Monitor, WorkerBuilder};
use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{
    backoff,
    completer::{Completer, Outcome, Verdict},
    listener,
    queue::{ClaimedJob, Fetcher, PgQueue},
    ratelimit,
};
use crate::work::{self, Ctx, JobError};

/// Shared by every job of the process.
pub struct Runtime {
    pub ctx: Arc<Ctx>,
    pub instance: String,
    completer: Completer,
    /// Jobs whose handler has started and not finished.
    running: Mutex<HashSet<i64>>,
    /// Abort handles of running handler tasks, for cancel requests.
    aborts: Mutex<std::collections::HashMap<i64, tokio::task::AbortHandle>>,
    /// Jobs aborted because an operator cancelled them.
    cancelled: Mutex<HashSet<i64>>,
}

/// `host-pid-<random>`: unique per incarnation, so a restarted process never inherits the
/// leases of the one that died (they are rescued instead).
pub fn instance_name() -> String {
    let host = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "host".into());
    let suffix = ulid::Ulid::generate().to_string();
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &suffix[suffix.len() - 6..]
    )
}

/// Runs the worker process until `stop` is cancelled, then drains.
pub async fn run(
    ctx: Arc<Ctx>,
    queues: Vec<String>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let pool = ctx.pool.clone();
    let s = ctx.settings.clone();
    let instance = instance_name();
    crate::ingest::prepare_worker(&s, &queues);
    register(&pool, &instance, &queues).await?;
    tracing::info!(%instance, queues = ?queues, "worker started");

    let (completer, completer_task) = Completer::start(pool.clone(), instance.clone());
    let rt = Arc::new(Runtime {
        ctx,
        instance: instance.clone(),
        completer,
        running: Mutex::new(HashSet::new()),
        aborts: Mutex::new(Default::default()),
        cancelled: Mutex::new(HashSet::new()),
    });

    let background = CancellationToken::new();
    let wakers = listener::wakers(&queues);
    let listen_task = tokio::spawn(listener::run(
        pool.clone(),
        wakers.clone(),
        background.clone(),
    ));
    let beat_task = tokio::spawn(heartbeat_loop(
        pool.clone(),
        instance.clone(),
        queues.clone(),
        s.heartbeat,
        s.rescue_after,
        background.clone(),
    ));
    let cancel_task = tokio::spawn(cancel_loop(rt.clone(), background.clone()));

    let mut fetchers = Vec::new();
    let mut monitor = Monitor::new();
    for queue in &queues {
        let concurrency = s.concurrency(queue);
        let (tx, rx) = mpsc::channel::<ClaimedJob>(s.prefetch(queue).max(1));
        let taken = Arc::new(tokio::sync::Notify::new());
        let fetcher = Fetcher {
            pool: pool.clone(),
            queue: queue.clone(),
            worker: instance.clone(),
            tx,
            wake: wakers.get(queue).cloned().unwrap_or_default(),
            taken: taken.clone(),
            poll_interval: s.poll_interval,
            stop: background.clone(),
        };
        fetchers.push(tokio::spawn(fetcher.run()));
        let backend = PgQueue::new(rx, taken);
        let (name, rt) = (format!("{instance}/{queue}"), rt.clone());
        monitor = monitor.register(move |_| {
            WorkerBuilder::new(name.as_str())
                .backend(backend.clone())
                .concurrency(concurrency)
                .data(rt.clone())
                .build(handle)
        });
    }
    let signal = stop.clone();
    let result = monitor
        .shutdown_timeout(s.shutdown_grace)
        .run_with_signal(async move {
            signal.cancelled().await;
            tracing::info!("stopping: no new jobs; finishing running ones");
            Ok(())
        })
        .await;
    if let Err(e) = &result {
        tracing::error!(error = %e, "worker monitor ended with an error");
    }

    background.cancel();
    for f in fetchers {
        let _ = f.await;
    }
    rt.completer.flush().await;
    let started: Vec<i64> = rt
        .running
        .lock()
        .map(|r| r.iter().copied().collect())
        .unwrap_or_default();
    release(&pool, &instance, &started).await?;
    let _ = tokio::join!(listen_task, beat_task, cancel_task);
    drop(rt);
    let _ = completer_task.await;
    sqlx::query("DELETE FROM cicero.workers WHERE name = $1")
        .bind(&instance)
        .execute(&pool)
        .await?;
    tracing::info!(%instance, "worker stopped");
    Ok(())
}

/// The apalis handler of every queue: takes the job's rate-limit slot, runs one attempt with
/// the kind's timeout, turns a panic, a timeout or a cancel into its outcome, and reports it.
/// It never returns an error, so nothing a job does can stop the worker.
async fn handle(job: ClaimedJob, rt: Data<Arc<Runtime>>) {
    let rt: Arc<Runtime> = (*rt).clone();
    if let Ok(mut r) = rt.running.lock() {
        r.insert(job.id);
    }
    let verdict = match rate_slot(&rt, &job).await {
        Some(snooze) => snooze,
        None => attempt(&rt, &job).await,
    };
    match &verdict {
        Verdict::Failed(e) | Verdict::Retry { error: e, .. } => {
            tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempt, error = %e, "job attempt failed")
        }
        Verdict::Cancelled => {
            tracing::info!(job = job.id, kind = %job.kind, "job cancelled while running")
        }
        _ => {}
    }
    rt.completer.report(Outcome {
        id: job.id,
        attempt: job.attempt,
        started_at: job.started_at,
        finished_at: Utc::now(),
        verdict,
    });
    if let Ok(mut r) = rt.running.lock() {
        r.remove(&job.id);
    }
}

/// `None` when the job may run now (no limit, or a slot taken); otherwise the snooze that
/// puts it back until its key has room, without spending the attempt.
async fn rate_slot(rt: &Runtime, job: &ClaimedJob) -> Option<Verdict> {
    let key = cicero_jobs::spec(&job.kind)
        .and_then(|s| s.rate_key)
        .and_then(|f| f(&job.payload))?;
    let limit = rt.ctx.settings.rate_limit(&key)?;
    let wait = match ratelimit::acquire(&rt.ctx.pool, &key, limit).await {
        Ok(None) => return None,
        Ok(Some(wait)) => wait,
        Err(e) => {
            tracing::warn!(job = job.id, key, error = %e, "rate limiter unavailable; trying again shortly");
            Duration::from_secs(1)
        }
    };
    let run_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
    Some(Verdict::Snooze {
        run_at,
        waiting_for: Some(key),
    })
}

/// Runs the handler in its own task (a panic is caught at the join handle; a timeout or a
/// cancel aborts it) and decides what the attempt means.
async fn attempt(rt: &Runtime, job: &ClaimedJob) -> Verdict {
    let spec = cicero_jobs::spec(&job.kind);
    let timeout = rt.ctx.settings.timeout(&job.kind);
    let jctx = work::JobCtx::new(
        job.id,
        job.attempt,
        job.created_at,
        rt.ctx.pool.clone(),
        rt.instance.clone(),
    );
    let fut = work::dispatch(rt.ctx.clone(), jctx, &job.kind, &job.payload);
    let mut task = tokio::spawn(fut);
    if let Ok(mut a) = rt.aborts.lock() {
        a.insert(job.id, task.abort_handle());
    }
    let result = match tokio::time::timeout(timeout, &mut task).await {
        Ok(Ok(r)) => r,
        Ok(Err(join)) if join.is_panic() => Err(JobError::Retryable(format!(
            "panicked: {}",
            panic_message(join.into_panic())
        ))),
        Ok(Err(join)) => Err(JobError::Retryable(format!("handler task failed: {join}"))),
        Err(_) => {
            task.abort();
            Err(JobError::Retryable(format!("timed out after {timeout:?}")))
        }
    };
    if let Ok(mut a) = rt.aborts.lock() {
        a.remove(&job.id);
    }
    let cancelled = rt
        .cancelled
        .lock()
        .map(|mut c| c.remove(&job.id))
        .unwrap_or(false);
    if cancelled && result.is_err() {
        return Verdict::Cancelled;
    }
    match result {
        Ok(v) => Verdict::Done(v),
        Err(JobError::Permanent(e)) => Verdict::Failed(format!("permanent: {e}")),
        Err(JobError::Throttled {
            retry_after,
            message,
        }) => {
            let until = Utc::now() + chrono::Duration::from_std(retry_after).unwrap_or_default();
            let key = spec.and_then(|s| s.rate_key).and_then(|f| f(&job.payload));
            if let Some(k) = &key
                && let Err(e) = ratelimit::block(&rt.ctx.pool, k, until, &message).await
            {
                tracing::warn!(job = job.id, key = k, error = %e, "recording a provider's rate limit failed");
            }
            tracing::info!(
                job = job.id,
                ?retry_after,
                "provider rate-limited the job; it waits"
            );
            Verdict::Snooze {
                run_at: until,
                waiting_for: key,
            }
        }
        Err(JobError::Retryable(e)) if job.attempt < job.max_attempts => {
            let backoff = spec.map_or(DEFAULT_BACKOFF, |s| s.backoff);
            let wait = backoff::delay(&backoff, job.attempt, rand::random::<f64>());
            let run_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            Verdict::Retry { error: e, run_at }
        }
        Err(JobError::Retryable(e)) => Verdict::Failed(e),
    }
}

const DEFAULT_BACKOFF: cicero_jobs::Backoff = cicero_jobs::Backoff {
    base_ms: 1_000,
    max_ms: 60_000,
    jitter: 0.2,
};

/// Every second: running jobs of this instance that an operator asked to cancel get their
/// handler aborted (the attempt then ends `cancelled`).
async fn cancel_loop(rt: Arc<Runtime>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        // Nothing running here: nothing to abort, no query.
        if rt.aborts.lock().map_or(true, |a| a.is_empty()) {
            continue;
        }
        let ids: Vec<i64> = match sqlx::query_scalar(
            "SELECT id FROM cicero.jobs WHERE state = 'running' AND locked_by = $1 AND cancel_requested_at IS NOT NULL",
        )
        .bind(&rt.instance)
        .fetch_all(&rt.ctx.pool)
        .await
        {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "checking for cancel requests failed");
                continue;
            }
        };
        for id in ids {
            let handle = rt.aborts.lock().ok().and_then(|a| a.get(&id).cloned());
            if let Some(h) = handle {
                if let Ok(mut c) = rt.cancelled.lock() {
                    c.insert(id);
                }
                h.abort();
            }
        }
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

async fn register(pool: &PgPool, instance: &str, queues: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cicero.workers (name, host, pid, queues) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET last_seen = now()",
    )
    .bind(instance)
    .bind(
        hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default(),
    )
    .bind(std::process::id() as i32)
    .bind(queues)
    .execute(pool)
    .await?;
    Ok(())
}

async fn heartbeat_loop(
    pool: PgPool,
    instance: String,
    queues: Vec<String>,
    every: Duration,
    rescue_after: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        // Re-registering (not just updating) brings the row back if it was removed as dead.
        if let Err(e) = register(&pool, &instance, &queues).await {
            tracing::warn!(error = %e, "heartbeat failed");
            continue;
        }
        match rescue(&pool, rescue_after).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                jobs = n,
                "rescued jobs of workers that stopped heartbeating"
            ),
            Err(e) => tracing::warn!(error = %e, "rescue failed"),
        }
    }
}

/// Running jobs whose lease holder has not heartbeated within `after` go back to pending
/// (or to failed when their attempts are used up), with a `lost` attempt in the history.
/// Dead worker rows are removed. Returns the number of jobs rescued.
pub async fn rescue(pool: &PgPool, after: Duration) -> Result<u64, sqlx::Error> {
    let secs = after.as_secs_f64();
    let n: i64 = sqlx::query_scalar(
        "WITH lost AS (
             SELECT j.id, j.attempt, j.locked_by, j.started_at FROM cicero.jobs j
              WHERE j.state = 'running'
                AND NOT EXISTS (SELECT 1 FROM cicero.workers w
                                 WHERE w.name = j.locked_by
                                   AND w.last_seen > now() - make_interval(secs => $1))
              FOR UPDATE OF j SKIP LOCKED),
         upd AS (
             UPDATE cicero.jobs j
                SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'failed' ELSE 'pending' END,
                    finished_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
                    run_at = now(), locked_by = NULL,
                    last_error = 'worker ' || COALESCE(lost.locked_by, '?') || ' stopped heartbeating while running this job',
                    unique_key = cicero.unique_key_after(j.unique_key, j.unique_states,
                        CASE WHEN j.attempt >= j.max_attempts THEN 'failed' ELSE 'pending' END)
               FROM lost WHERE j.id = lost.id
             RETURNING j.id),
         hist AS (
             INSERT INTO cicero.job_attempts (job_id, attempt, worker, started_at, outcome, error)
             SELECT id, attempt, COALESCE(locked_by, '?'), COALESCE(started_at, now()), 'lost',
                    'worker stopped heartbeating'
               FROM lost)
         SELECT count(*) FROM upd",
    )
    .bind(secs)
    .fetch_one(pool)
    .await?;
    sqlx::query("DELETE FROM cicero.workers WHERE last_seen < now() - make_interval(secs => $1)")
        .bind(secs)
        .execute(pool)
        .await?;
    if n > 0 {
        wake_all_queues(pool).await?;
    }
    Ok(n as u64)
}

/// Wakes the fetchers of every queue in every process (jobs became due outside an INSERT).
pub(crate) async fn wake_all_queues(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify('cicero_jobs', q) FROM unnest($1::text[]) q")
        .bind(cicero_jobs::QUEUES)
        .execute(pool)
        .await?;
    Ok(())
}

/// On shutdown: jobs claimed but never started go back untouched (their attempt is not
/// spent); jobs whose handler was still running when the grace period ran out get an
/// `interrupted` attempt and run again (or fail when out of attempts).
async fn release(pool: &PgPool, instance: &str, started: &[i64]) -> Result<(), sqlx::Error> {
    let unstarted = sqlx::query(
        "UPDATE cicero.jobs SET state = 'pending', attempt = attempt - 1, locked_by = NULL, started_at = NULL
          WHERE locked_by = $1 AND state = 'running' AND NOT (id = ANY($2))",
    )
    .bind(instance)
    .bind(started)
    .execute(pool)
    .await?
    .rows_affected();
    let interrupted: i64 = sqlx::query_scalar(
        "WITH r AS (
             UPDATE cicero.jobs
                SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'pending' END,
                    finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
                    run_at = now(), locked_by = NULL,
                    last_error = 'interrupted: the worker shut down before the job finished',
                    unique_key = cicero.unique_key_after(unique_key, unique_states,
                        CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'pending' END)
              WHERE locked_by = $1 AND state = 'running'
             RETURNING id, attempt, started_at),
         hist AS (
             INSERT INTO cicero.job_attempts (job_id, attempt, worker, started_at, outcome, error)
             SELECT id, attempt, $1, COALESCE(started_at, now()), 'interrupted', 'shutdown grace period ran out' FROM r)
         SELECT count(*) FROM r",
    )
    .bind(instance)
    .fetch_one(pool)
    .await?;
    if unstarted + interrupted as u64 > 0 {
        tracing::info!(unstarted, interrupted, "handed jobs back on shutdown");
        wake_all_queues(pool).await?;
    }
    Ok(())
}

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
};
use crate::work::{self, Ctx, JobError};

/// Shared by every job of the process.
pub struct Runtime {
    pub ctx: Arc<Ctx>,
    pub instance: String,
    completer: Completer,
    /// Jobs whose handler has started and not finished.
    running: Mutex<HashSet<i64>>,
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
    register(&pool, &instance, &queues).await?;
    tracing::info!(%instance, queues = ?queues, "worker started");

    let (completer, completer_task) = Completer::start(pool.clone(), instance.clone());
    let rt = Arc::new(Runtime {
        ctx,
        instance: instance.clone(),
        completer,
        running: Mutex::new(HashSet::new()),
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

    let mut fetchers = Vec::new();
    let mut monitor = Monitor::new();
    for queue in &queues {
        let concurrency = s.concurrency(queue);
        // Room for one batch beyond the running jobs keeps workers busy between claims.
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
    drop(rt);
    let _ = completer_task.await;
    let _ = tokio::join!(listen_task, beat_task);
    sqlx::query("DELETE FROM cicero.workers WHERE name = $1")
        .bind(&instance)
        .execute(&pool)
        .await?;
    tracing::info!(%instance, "worker stopped");
    Ok(())
}

/// The apalis handler of every queue: runs one attempt with the kind's timeout, turns a panic
/// or a timeout into a failed attempt, and reports the outcome. It never returns an error, so
/// nothing a job does can stop the worker.
async fn handle(job: ClaimedJob, rt: Data<Arc<Runtime>>) {
    let rt: Arc<Runtime> = (*rt).clone();
    if let Ok(mut r) = rt.running.lock() {
        r.insert(job.id);
    }
    let spec = cicero_jobs::spec(&job.kind);
    let timeout = rt.ctx.settings.timeout(&job.kind);
    let fut = work::dispatch(rt.ctx.clone(), &job.kind, &job.payload, job.attempt);
    // Its own task: a panic is caught at the join handle, and a timeout aborts it.
    let mut task = tokio::spawn(fut);
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
    let verdict = match result {
        Ok(v) => Verdict::Done(v),
        Err(JobError::Permanent(e)) => Verdict::Failed(format!("permanent: {e}")),
        Err(JobError::Retryable(e)) if job.attempt < job.max_attempts => {
            let backoff = spec.map(|s| s.backoff).unwrap_or(cicero_jobs::Backoff {
                base_ms: 1_000,
                max_ms: 60_000,
                jitter: 0.2,
            });
            let wait = backoff::delay(&backoff, job.attempt, rand::random::<f64>());
            let run_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            Verdict::Retry { error: e, run_at }
        }
        Err(JobError::Retryable(e)) => Verdict::Failed(e),
    };
    if let Verdict::Failed(e) | Verdict::Retry { error: e, .. } = &verdict {
        tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempt, error = %e, "job attempt failed");
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
                    last_error = 'worker ' || COALESCE(lost.locked_by, '?') || ' stopped heartbeating while running this job'
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
        sqlx::query("SELECT pg_notify('cicero_jobs', q) FROM unnest($1::text[]) q")
            .bind(cicero_jobs::QUEUES)
            .execute(pool)
            .await?;
    }
    Ok(n as u64)
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
                    last_error = 'interrupted: the worker shut down before the job finished'
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
        sqlx::query("SELECT pg_notify('cicero_jobs', q) FROM unnest($1::text[]) q")
            .bind(cicero_jobs::QUEUES)
            .execute(pool)
            .await?;
    }
    Ok(())
}

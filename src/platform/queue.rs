//! Our apalis backend over `cicero.jobs`: a fetcher task claims whole batches of due jobs in
//! one statement (`FOR UPDATE SKIP LOCKED`) and feeds them to the apalis worker through a
//! bounded channel; [`PgQueue`] is the `Backend` the worker polls.
//!
//! Rows are decoded here only into the generic [`ClaimedJob`] (kind + JSON payload), never into
//! a job type: a payload that does not fit its kind fails that job in the handler and the
//! queue keeps going.
use std::{
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use apalis_core::{
    backend::{Backend, BackendConfig, finalize::Ephemeral},
    task::{
        Task,
        builder::TaskBuilder,
        task_id::{RandomId, TaskId},
    },
    worker::context::WorkerContext,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Row};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tower::layer::util::Identity;

/// A claimed row: what a handler needs to run one attempt.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub payload: Value,
    /// This attempt's number (1-based).
    pub attempt: i32,
    pub max_attempts: i32,
    pub started_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
#[error("job channel closed")]
pub struct QueueClosed;

/// The apalis backend of one queue in one process.
#[derive(Clone)]
pub struct PgQueue {
    rx: Arc<Mutex<mpsc::Receiver<ClaimedJob>>>,
    /// Tells the fetcher a job left the channel (it refills in batches, not one by one).
    taken: Arc<Notify>,
}

impl PgQueue {
    pub fn new(rx: mpsc::Receiver<ClaimedJob>, taken: Arc<Notify>) -> Self {
        PgQueue {
            rx: Arc::new(Mutex::new(rx)),
            taken,
        }
    }
}

impl Backend for PgQueue {
    type Task = Task<ClaimedJob>;
    type Error = QueueClosed;

    fn poll_ready(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        let Ok(mut rx) = self.rx.lock() else {
            return Poll::Ready(Some(Err(QueueClosed)));
        };
        rx.poll_recv(cx).map(|job| {
            job.map(|job| {
                self.taken.notify_one();
                let attempt = usize::try_from(job.attempt).unwrap_or_default();
                let id = TaskId::from_int(u64::try_from(job.id).unwrap_or_default());
                Ok(TaskBuilder::new(job).task_id(id).attempt(attempt).build())
            })
        })
    }

    fn poll_close(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        // Claimed-but-unstarted jobs are handed back by the process after the monitor stops
        // (see `worker::release`), where the database can be reached.
        if let Ok(mut rx) = self.rx.lock() {
            rx.close();
        }
        Poll::Ready(Ok(()))
    }
}

impl BackendConfig for PgQueue {
    type Args = ClaimedJob;
    type Id = RandomId;
    type Kind = Ephemeral;
    type Config = ();
    type Layer = Identity;

    fn config(&self) -> &Self::Config {
        &()
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Self::Layer {
        Identity::new()
    }
}

/// Claims up to `limit` due jobs of `queue` for `worker`, highest priority then oldest first.
pub async fn claim(
    pool: &PgPool,
    queue: &str,
    worker: &str,
    limit: i64,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    let rows = sqlx::query(
        "WITH c AS (
             SELECT id FROM cicero.jobs
                            WHERE state = 'pending' AND queue = $1 AND run_at <= now()
                -- a paused queue is paused for every process, from its next claim on
                AND NOT EXISTS (SELECT 1 FROM cicero.queues q WHERE q.queue = $1 AND q.paused)
                -- nor are a paused client's jobs. The first test is evaluated once per
                -- statement, so with no client paused no row pays for the second; the
                -- second reads the table once into a hash (NOT IN, hence the COALESCE: a job
                -- without client_id must not compare NULL).
                AND (NOT EXISTS (SELECT 1 FROM cicero.paused_clients)
                     OR COALESCE(payload->>'client_id', '') NOT IN (SELECT client_id FROM cicero.paused_clients))
              ORDER BY priority DESC, run_at, id
              LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE cicero.jobs j
                        SET state = 'running', attempt = j.attempt + 1, locked_by = $3, started_at = now(),
                waiting_for = NULL
           FROM c WHERE j.id = c.id
         RETURNING j.id, j.kind, j.payload, j.attempt, j.max_attempts, j.started_at, j.created_at",
    )
    .bind(queue)
    .bind(limit)
    .bind(worker)
    .fetch_all(pool)
    .await?;
    let mut jobs: Vec<ClaimedJob> = rows
        .iter()
        .map(|r| {
            Ok(ClaimedJob {
                id: r.try_get("id")?,
                queue: queue.to_string(),
                kind: r.try_get("kind")?,
                payload: r.try_get("payload")?,
                attempt: r.try_get("attempt")?,
                max_attempts: r.try_get("max_attempts")?,
                started_at: r.try_get("started_at")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// Keeps the channel of one queue filled: claims as many jobs as there is room for, then
/// sleeps until a NOTIFY for the queue, the poll interval, or shutdown.
pub struct Fetcher {
    pub pool: PgPool,
    pub queue: String,
    pub worker: String,
    pub tx: mpsc::Sender<ClaimedJob>,
    pub wake: Arc<Notify>,
    /// Signalled by the backend whenever it takes a job from the channel.
    pub taken: Arc<Notify>,
    pub poll_interval: Duration,
    pub stop: CancellationToken,
}

impl Fetcher {
    pub async fn run(self) {
        let mut failures = 0u32;
        loop {
            // Refill in batches: wait until at least half the channel is free. Claiming as
            // soon as one slot frees would mean one claim statement per job.
            let low_water = (self.tx.max_capacity() / 2).max(1);
            while self.tx.capacity() < low_water {
                if self.tx.is_closed() {
                    return;
                }
                tokio::select! {
                    _ = self.taken.notified() => {}
                    _ = tokio::time::sleep(self.poll_interval) => {}
                    _ = self.stop.cancelled() => return,
                }
            }
            let room = self.tx.capacity();
            match claim(&self.pool, &self.queue, &self.worker, room as i64).await {
                Ok(jobs) => {
                    failures = 0;
                    let full = jobs.len() == room;
                    for job in jobs {
                        // Never blocks: we claimed no more than the free capacity.
                        if self.tx.try_send(job).is_err() {
                            return;
                        }
                    }
                    if full {
                        continue;
                    }
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(queue = %self.queue, error = %e, "claiming jobs failed; retrying");
                    let pause = Duration::from_millis(200 * u64::from(failures.min(25)));
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => continue,
                        _ = self.stop.cancelled() => return,
                    }
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll_interval) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }
}

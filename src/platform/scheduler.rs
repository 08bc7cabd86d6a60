//! The scheduler (`cicero schedule`): one apalis-cron worker per entry of the cron table
//! (`cicero_jobs::schedule`, Asia/Jakarta). A tick only enqueues; the job's unique key
//! `cron:<entry>:<tick>` makes several schedulers produce exactly one job per tick.
use std::{collections::HashMap, str::FromStr, sync::Arc};

use apalis::prelude::{Data, Monitor, WorkerBuilder, WorkerError};
use apalis_cron::{CronScheduler, Tick};
use chrono_tz::Tz;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use cicero_jobs::schedule::CronEntry;

use super::jobs::{self, NewJob};

struct EntryCtx {
    entry: CronEntry,
    pool: PgPool,
}

/// The entries with their effective cron expressions (after `CRON_<NAME>` overrides).
pub fn effective_entries(
    overrides: &std::collections::BTreeMap<String, String>,
) -> Vec<(CronEntry, String)> {
    cicero_jobs::schedule::entries()
        .into_iter()
        .map(|e| {
            let expr = overrides
                .get(e.name)
                .cloned()
                .unwrap_or_else(|| e.cron.to_string());
            (e, expr)
        })
        .collect()
}

pub async fn run(
    pool: PgPool,
    overrides: std::collections::BTreeMap<String, String>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut monitor = Monitor::new();
    let mut by_worker: HashMap<String, Arc<EntryCtx>> = HashMap::new();
    for (entry, expr) in effective_entries(&overrides) {
        let schedule = cron::Schedule::from_str(&expr)
            .map_err(|e| anyhow::anyhow!("cron entry {}: {expr:?}: {e}", entry.name))?;
        tracing::info!(entry = entry.name, cron = %expr, "scheduled (Asia/Jakarta)");
        let ctx = Arc::new(EntryCtx {
            entry: entry.clone(),
            pool: pool.clone(),
        });
        let name = format!("cron:{}", entry.name);
        by_worker.insert(name.clone(), ctx.clone());
        monitor = monitor.register(move |_| {
            WorkerBuilder::new(name.as_str())
                .backend(
                    CronScheduler::new(schedule.clone()).with_timezone(chrono_tz::Asia::Jakarta),
                )
                .data(ctx.clone())
                .build(on_tick)
        });
    }
    // apalis-cron ends an entry's worker when it is polled after the tick it computed (a late
    // poll, e.g. under load): that tick would be lost and, without a restart, the entry would
    // never fire again. The missed tick is enqueued here (its unique key makes this safe with
    // several schedulers) and the worker restarts from the next tick.
    let monitor = monitor.should_restart(move |worker, error| {
        let missed = missed_tick(error);
        tracing::warn!(worker = worker.name(), error = %error, missed_tick = ?missed, "cron worker ended; restarting it");
        if let (Some(tick), Some(ctx)) = (missed, by_worker.get(worker.name())) {
            tokio::spawn(fire(ctx.clone(), tick));
        }
        true
    });
    monitor
        .run_with_signal(async move {
            stop.cancelled().await;
            Ok(())
        })
        .await?;
    Ok(())
}

/// The tick (seconds) a cron worker missed when it ended with apalis-cron's `OutOfRange`.
fn missed_tick(error: &WorkerError) -> Option<u64> {
    match error {
        WorkerError::BackendError(e) => match e.downcast_ref::<apalis_cron::Error>() {
            Some(apalis_cron::Error::OutOfRange { tick, .. }) => Some(*tick),
            _ => None,
        },
        _ => None,
    }
}

async fn on_tick(tick: Tick<Tz>, ctx: Data<Arc<EntryCtx>>) {
    fire((*ctx).clone(), tick.get_timestamp()).await
}

/// Enqueues the entry's job for the tick at `timestamp` (seconds), once per tick cluster-wide.
async fn fire(ctx: Arc<EntryCtx>, timestamp: u64) {
    let e = &ctx.entry;
    if !is_active(&ctx.pool, e).await {
        tracing::info!(
            entry = e.name,
            "switched off in cron_job_config; tick skipped"
        );
        return;
    }
    let mut job = NewJob::new(e.kind, (e.payload)());
    job.unique_key = Some(format!("cron:{}:{timestamp}", e.name));
    match jobs::enqueue(&ctx.pool, &job).await {
        Ok(r) if r.duplicate => tracing::debug!(
            entry = e.name,
            job = r.id,
            "tick already enqueued by another scheduler"
        ),
        Ok(r) => tracing::info!(entry = e.name, job = r.id, "tick enqueued"),
        Err(err) => tracing::error!(entry = e.name, error = %err, "tick could not be enqueued"),
    }
}

/// Legacy rule: an entry runs unless a `cron_job_config` row for it says `is_active = false`;
/// a missing row or a failed lookup means it runs. Both our name and the legacy key count.
async fn is_active(pool: &PgPool, e: &CronEntry) -> bool {
    let keys: Vec<&str> = std::iter::once(e.name).chain(e.legacy_key).collect();
    match sqlx::query_scalar::<_, Option<bool>>(
        "SELECT bool_and(is_active) FROM cron_job_config WHERE job_key = ANY($1)",
    )
    .bind(&keys)
    .fetch_one(pool)
    .await
    {
        Ok(v) => v.unwrap_or(true),
        Err(err) => {
            tracing::warn!(entry = e.name, error = %err, "cron_job_config lookup failed; running anyway");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_poll_names_the_missed_tick() {
        let late = WorkerError::BackendError(Box::new(apalis_cron::Error::OutOfRange {
            duration: std::time::Duration::from_micros(110),
            tick: 1_795_559_768,
        }));
        assert_eq!(missed_tick(&late), Some(1_795_559_768));
        let other = WorkerError::BackendError("connection reset".into());
        assert_eq!(missed_tick(&other), None);
        assert_eq!(missed_tick(&WorkerError::PanicError("boom".into())), None);
    }
}

//! `prune_jobs`: deletes done jobs older than `RETAIN_DONE_DAYS` and failed/cancelled ones
//! older than `RETAIN_FAILED_DAYS` (with their attempt history), 5,000 rows per statement so
//! no statement holds the table for long; also drops old rate-limit grants and blocks.
use std::sync::Arc;

use serde_json::{Value, json};

use cicero_jobs::prune_jobs::PruneJobs;

use super::{Ctx, JobError};

const BATCH: i64 = 5_000;

pub async fn run(ctx: Arc<Ctx>, job: PruneJobs) -> Result<Value, JobError> {
    let done_days = job
        .done_days
        .unwrap_or(ctx.settings.retain_done_days)
        .max(1);
    let failed_days = job
        .failed_days
        .unwrap_or(ctx.settings.retain_failed_days)
        .max(1);
    let mut deleted = [0i64; 2];
    for (i, (states, days)) in [
        (&["done"][..], done_days),
        (&["failed", "cancelled"][..], failed_days),
    ]
    .into_iter()
    .enumerate()
    {
        loop {
            let n: i64 = sqlx::query_scalar(
                "WITH victims AS (
                     SELECT id FROM cicero.jobs
                      WHERE state = ANY($1) AND finished_at < now() - make_interval(days => $2)
                      LIMIT $3),
                 d AS (DELETE FROM cicero.jobs j USING victims v WHERE j.id = v.id RETURNING j.id),
                 h AS (DELETE FROM cicero.job_attempts a USING d WHERE a.job_id = d.id)
                 SELECT count(*) FROM d",
            )
            .bind(states)
            .bind(days as i32)
            .bind(BATCH)
            .fetch_one(&ctx.pool)
            .await?;
            deleted[i] += n;
            if n < BATCH {
                break;
            }
        }
    }
    sqlx::query("DELETE FROM cicero.rate_grants WHERE granted_at < now() - interval '1 hour'")
        .execute(&ctx.pool)
        .await?;
    sqlx::query("DELETE FROM cicero.rate_blocks WHERE blocked_until < now() - interval '1 hour'")
        .execute(&ctx.pool)
        .await?;
    tracing::info!(
        done = deleted[0],
        failed = deleted[1],
        done_days,
        failed_days,
        "pruned jobs"
    );
    Ok(
        json!({ "deleted_done": deleted[0], "deleted_failed_or_cancelled": deleted[1], "done_days": done_days, "failed_days": failed_days }),
    )
}

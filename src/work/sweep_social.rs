//! `sweep_social` and `sweep_amplify`: fan-out of the ingest jobs over the eligible clients.
//! The per-client jobs are unique by client and platform (5-minute slots, while pending or
//! running), so a sweep that runs while the last one is still busy adds nothing twice.
use std::sync::Arc;

use serde_json::{Value, json};

use cicero_jobs::{
    fetch_posts::FetchPosts, refresh_engagement::RefreshEngagement, sweep_amplify::SweepAmplify,
    sweep_social::SweepSocial,
};

use super::{Ctx, JobError};
use crate::{
    ingest::{Platform, rules, store},
    platform::jobs::{self, NewJob},
};

pub async fn run(ctx: Arc<Ctx>, p: SweepSocial) -> Result<Value, JobError> {
    sweep(&ctx.pool, p.engagement_only).await
}

pub async fn run_amplify(ctx: Arc<Ctx>, _p: SweepAmplify) -> Result<Value, JobError> {
    let clients = store::clients(&ctx.pool).await?;
    let mut new = Vec::new();
    for c in clients.iter().filter(|c| rules::amplify_eligible(c)) {
        new.push(job(&FetchPosts {
            client_id: c.client_id.clone(),
            platform: Platform::Instagram,
            then_engagement: false,
        })?);
    }
    enqueue(&ctx.pool, new, clients.len()).await
}

/// Enqueues the work of every eligible client; returns how many jobs were created and how
/// many were already queued or running.
pub async fn sweep(pool: &sqlx::PgPool, engagement_only: bool) -> Result<Value, JobError> {
    let clients = store::clients(pool).await?;
    let mut new = Vec::new();
    for c in &clients {
        for platform in rules::sweep_platforms(c) {
            let client_id = c.client_id.clone();
            new.push(if engagement_only {
                job(&RefreshEngagement {
                    client_id,
                    platform,
                })?
            } else {
                job(&FetchPosts {
                    client_id,
                    platform,
                    then_engagement: true,
                })?
            });
        }
    }
    let mut out = enqueue(pool, new, clients.len()).await?;
    out["engagement_only"] = json!(engagement_only);
    Ok(out)
}

fn job<J: cicero_jobs::Job>(j: &J) -> Result<NewJob, JobError> {
    NewJob::of(j).map_err(|e| JobError::Permanent(e.to_string()))
}

async fn enqueue(pool: &sqlx::PgPool, new: Vec<NewJob>, clients: usize) -> Result<Value, JobError> {
    let wanted = new.len();
    let ids = jobs::enqueue_many(pool, &new)
        .await
        .map_err(|e| JobError::Retryable(format!("enqueue: {e}")))?;
    Ok(json!({
        "clients": clients,
        "jobs": wanted,
        "enqueued": ids.len(),
        "already_queued": wanted - ids.len(),
    }))
}

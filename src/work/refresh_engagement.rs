//! `refresh_engagement`: the likers (Instagram) or commenters (TikTok) of one client's posts of
//! today, normalised, with every exception user's handle added, merged into the stored set
//! (never removing anyone), plus one audit snapshot per post and 30-minute window (legacy
//! §4(a) likes fetch, §4(b) comment fetch). Posts are fetched 6 (Instagram) / 3 (TikTok) at a
//! time; a failing post is listed in the result, and the job fails only when every post did.
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::{Value, json};

use cicero_jobs::refresh_engagement::RefreshEngagement;

use super::{Ctx, JobError};
use crate::{
    domain::time::jakarta_day_window,
    ingest::{self, Platform, SocialSource, rules, store},
    providers::ProviderError,
};

/// Posts fetched at once (legacy p-limit: 6 for Instagram, 3 for TikTok comments).
pub fn parallelism(platform: Platform) -> usize {
    match platform {
        Platform::Instagram => 6,
        Platform::Tiktok => 3,
    }
}

pub async fn run(ctx: Arc<Ctx>, p: RefreshEngagement) -> Result<Value, JobError> {
    let source = ingest::source(&ctx.settings, &ctx.pool)?;
    refresh(
        &ctx.pool,
        source.as_ref(),
        &p.client_id,
        p.platform,
        Utc::now(),
    )
    .await
}

pub async fn refresh(
    pool: &sqlx::PgPool,
    source: &dyn SocialSource,
    client_id: &str,
    platform: Platform,
    now: DateTime<Utc>,
) -> Result<Value, JobError> {
    let client = store::client(pool, client_id)
        .await?
        .ok_or_else(|| JobError::Permanent(format!("client {client_id:?} does not exist")))?;
    let today = rules::today(now);
    let window = jakarta_day_window(today)
        .ok_or_else(|| JobError::Permanent(format!("no Jakarta day window for {today}")))?;
    let ids = store::post_ids_between(pool, platform, &client.client_id, window).await?;
    let exceptions = store::exception_handles(pool, platform).await?;
    let snapshot = rules::snapshot_window(now);

    let mut fetches = futures::stream::iter(ids.iter().cloned())
        .map(|id| async move {
            let r = fetch_with_retry(source, platform, &id).await;
            (id, r)
        })
        .buffer_unordered(parallelism(platform));
    let mut per_post = Vec::new();
    let mut failures: Vec<(String, ProviderError)> = Vec::new();
    let mut throttled = None;
    while let Some((id, r)) = fetches.next().await {
        match r {
            Ok(raw) => {
                let engagers = rules::normalize_engagers(
                    raw.iter().chain(exceptions.iter()).map(String::as_str),
                    platform,
                );
                let merged =
                    store::merge_engagement(pool, platform, &id, &engagers, snapshot).await?;
                per_post.push(json!({
                    "id": id,
                    "fetched": raw.len(),
                    "stored": merged.stored,
                    "added": merged.added,
                }));
            }
            // The provider (or the shared limit) says wait: stop here; what is merged stays
            // merged and the job comes back after Retry-After without spending an attempt.
            Err(
                e @ ProviderError::RateLimited {
                    retry_after: Some(_),
                    ..
                },
            ) => {
                throttled = Some(e);
                break;
            }
            Err(e) => failures.push((id, e)),
        }
    }
    drop(fetches);
    if let Some(e) = throttled {
        return Err(e.into());
    }
    let errors: Vec<ProviderError> = failures.iter().map(|(_, e)| e.clone()).collect();
    rules::engagement_outcome(ids.len(), &errors)?;
    let order = |v: &Value| {
        let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
        ids.iter().position(|x| x == id)
    };
    per_post.sort_by_key(order);
    Ok(json!({
        "client_id": client.client_id,
        "platform": platform,
        "source": source.name(),
        "date": today.to_string(),
        "posts": ids.len(),
        "succeeded": per_post.len(),
        "failed": failures.len(),
        "added": per_post.iter().filter_map(|p| p["added"].as_u64()).sum::<u64>(),
        "exception_users": exceptions.len(),
        "window_start": snapshot.0,
        "per_post": per_post,
        "failures": failures
            .iter()
            .map(|(id, e)| json!({"id": id, "error": e.to_string()}))
            .collect::<Vec<_>>(),
    }))
}

/// One post's engagement, tried 3 times on transient failures (legacy: 1 s × attempt for
/// Instagram likes, 2 s × attempt for TikTok comments).
async fn fetch_with_retry(
    source: &dyn SocialSource,
    platform: Platform,
    id: &str,
) -> Result<Vec<String>, ProviderError> {
    let step = match platform {
        Platform::Instagram => Duration::from_secs(1),
        Platform::Tiktok => Duration::from_secs(2),
    };
    let mut attempt = 1u32;
    loop {
        let r = match platform {
            Platform::Instagram => source.instagram_likes(id).await,
            Platform::Tiktok => source.tiktok_comments(id).await,
        };
        match r {
            Err(e @ ProviderError::Transient { .. }) if attempt < 3 => {
                tracing::warn!(id, attempt, error = %e, "engagement fetch failed, retrying");
                tokio::time::sleep(step * attempt).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

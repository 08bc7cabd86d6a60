//! `fetch_posts`: today's posts of one client's account, upserted with the legacy mapping;
//! today's stored posts that disappeared are removed, but only after a successful fetch that
//! returned posts of today (legacy §4(a) steps 2–6, §4(b) steps 2–7).
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use cicero_jobs::{fetch_posts::FetchPosts, refresh_engagement::RefreshEngagement};

use super::{Ctx, JobError};
use crate::{
    domain::time::jakarta_day_window,
    ingest::{self, Platform, SocialSource, rules, store},
    platform::jobs::{self, NewJob},
};

pub(crate) fn db(e: sqlx::Error) -> JobError {
    JobError::Retryable(format!("database: {e}"))
}

pub async fn run(ctx: Arc<Ctx>, p: FetchPosts) -> Result<Value, JobError> {
    let source = ingest::source(&ctx.settings, &ctx.pool)?;
    let mut result = fetch(
        &ctx.pool,
        source.as_ref(),
        &p.client_id,
        p.platform,
        Utc::now(),
    )
    .await?;
    if p.then_engagement && result.get("skipped").is_none() {
        let next = RefreshEngagement {
            client_id: p.client_id.clone(),
            platform: p.platform,
        };
        let job = NewJob::of(&next).map_err(|e| JobError::Permanent(e.to_string()))?;
        let queued = jobs::enqueue(&ctx.pool, &job)
            .await
            .map_err(|e| JobError::Retryable(format!("enqueueing refresh_engagement: {e}")))?;
        result["refresh_engagement_job"] = json!(queued.id);
    }
    Ok(result)
}

/// One client's fetch at `now`: returns the counts `{new, updated, removed}` and details.
pub async fn fetch(
    pool: &sqlx::PgPool,
    source: &dyn SocialSource,
    client_id: &str,
    platform: Platform,
    now: DateTime<Utc>,
) -> Result<Value, JobError> {
    let client = store::client(pool, client_id)
        .await
        .map_err(db)?
        .ok_or_else(|| JobError::Permanent(format!("client {client_id:?} does not exist")))?;
    if !rules::sweep_platforms(&client).contains(&platform) {
        return Ok(json!({
            "client_id": client_id,
            "platform": platform,
            "skipped": format!("client is inactive or has no enabled {} account", platform.as_str()),
        }));
    }
    let today = rules::today(now);
    let window = jakarta_day_window(today)
        .ok_or_else(|| JobError::Permanent(format!("no Jakarta day window for {today}")))?;
    let mut extra = json!({});
    // (id, created_at) of what the provider returned, and the upsert closure per platform.
    let (fetched, today_ids, upserted, removed) = match platform {
        Platform::Instagram => {
            let username = handle(client.client_insta.as_deref());
            let posts = source.instagram_posts(&username).await?;
            let fetched = posts.len();
            let todays: Vec<_> = posts
                .into_iter()
                .filter(|p| rules::is_today(p.created_at, now))
                .collect();
            let ids: Vec<String> = todays.iter().map(|p| p.shortcode.clone()).collect();
            let mut tx = pool.begin().await.map_err(db)?;
            let up = store::upsert_insta_posts(&mut tx, &client.client_id, &todays)
                .await
                .map_err(db)?;
            let (gone, n) =
                remove_missing(&mut tx, platform, &client.client_id, window, &ids).await?;
            tx.commit().await.map_err(db)?;
            (fetched, ids, up, (gone, n))
        }
        Platform::Tiktok => {
            let username = handle(client.client_tiktok.as_deref());
            let cached = client
                .tiktok_secuid
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            let sec_uid = match cached {
                Some(s) => s,
                None => {
                    let s = source.tiktok_sec_uid(&username).await?;
                    store::save_sec_uid(pool, &client.client_id, &s)
                        .await
                        .map_err(db)?;
                    extra["sec_uid_resolved"] = json!(true);
                    s
                }
            };
            let got = source.tiktok_posts(&sec_uid, &username, now).await?;
            extra["used_username_fallback"] = json!(got.used_username_fallback);
            extra["skipped_outside_window"] = json!(got.skipped_outside_window);
            let fetched = got.posts.len();
            let todays: Vec<_> = got
                .posts
                .into_iter()
                .filter(|p| rules::is_today(p.created_at, now))
                .collect();
            let ids: Vec<String> = todays.iter().map(|p| p.video_id.clone()).collect();
            let mut tx = pool.begin().await.map_err(db)?;
            let up = store::upsert_tiktok_posts(&mut tx, &client.client_id, &todays)
                .await
                .map_err(db)?;
            let (gone, n) =
                remove_missing(&mut tx, platform, &client.client_id, window, &ids).await?;
            tx.commit().await.map_err(db)?;
            (fetched, ids, up, (gone, n))
        }
    };
    let mut result = json!({
        "client_id": client.client_id,
        "platform": platform,
        "source": source.name(),
        "date": today.to_string(),
        "fetched": fetched,
        "today": today_ids.len(),
        "new": upserted.new,
        "updated": upserted.updated,
        "removed": removed.1,
        "removed_ids": removed.0,
        "ids": today_ids,
    });
    if let (Some(r), Some(e)) = (result.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    Ok(result)
}

/// The account name as the provider wants it: trimmed, without a leading `@`.
fn handle(raw: Option<&str>) -> String {
    let t = raw.unwrap_or_default().trim();
    t.strip_prefix('@').unwrap_or(t).to_string()
}

async fn remove_missing(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    platform: Platform,
    client_id: &str,
    window: (DateTime<Utc>, DateTime<Utc>),
    fetched_today: &[String],
) -> Result<(Vec<String>, u64), JobError> {
    let stored = store::post_ids_between(&mut **tx, platform, client_id, window)
        .await
        .map_err(db)?;
    let gone = rules::to_remove(&stored, fetched_today);
    let n = store::delete_posts(tx, platform, &gone).await.map_err(db)?;
    Ok((gone, n))
}

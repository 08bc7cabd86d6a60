//! `fetch_posts`: today's posts of one client's account, upserted with the legacy mapping;
//! today's stored posts that disappeared are removed, but only after a successful fetch that
//! returned posts of today (legacy §4(a) steps 2–6, §4(b) steps 2–7).
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use cicero_jobs::{fetch_posts::FetchPosts, refresh_engagement::RefreshEngagement};

use super::{Ctx, JobError};
use crate::{
    domain::{
        recap::{TaskBroadcast, TaskPost, before_broadcast_cutoff, broadcast_key, task_broadcast},
        time::{jakarta_day, jakarta_day_window},
    },
    ingest::{self, Platform, SocialSource, rules, store},
    platform::jobs::{self, NewJob},
    whatsapp::address,
};

pub async fn run(ctx: Arc<Ctx>, p: FetchPosts) -> Result<Value, JobError> {
    let source = ingest::source(&ctx.settings, &ctx.pool)?;
    let now = Utc::now();
    let mut result = fetch(&ctx.pool, source.as_ref(), &p.client_id, p.platform, now).await?;
    if result.get("skipped").is_none() {
        result["broadcast"] = broadcast_tasks(
            &ctx.pool,
            &ctx.settings.messaging.waha_session,
            &result,
            now,
        )
        .await?;
    }
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
        .await?
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
            let mut tx = pool.begin().await?;
            let up = store::upsert_insta_posts(&mut tx, &client.client_id, &todays).await?;
            let (gone, n) =
                remove_missing(&mut tx, platform, &client.client_id, window, &ids).await?;
            tx.commit().await?;
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
                    store::save_sec_uid(pool, &client.client_id, &s).await?;
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
            let mut tx = pool.begin().await?;
            let up = store::upsert_tiktok_posts(&mut tx, &client.client_id, &todays).await?;
            let (gone, n) =
                remove_missing(&mut tx, platform, &client.client_id, window, &ids).await?;
            tx.commit().await?;
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
        "new": upserted.new_ids.len(),
        "updated": upserted.updated,
        "removed": removed.1,
        "removed_ids": removed.0,
        "ids": today_ids,
        "new_ids": upserted.new_ids,
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
    let stored = store::post_ids_between(&mut **tx, platform, client_id, window).await?;
    let gone = rules::to_remove(&stored, fetched_today);
    let n = store::delete_posts(tx, platform, &gone).await?;
    Ok((gone, n))
}

#[derive(sqlx::FromRow)]
struct BroadcastClient {
    client_id: String,
    nama: String,
    client_tiktok: Option<String>,
    client_group: Option<String>,
}

/// Today's posts of one platform for the broadcast: id, upload time and the provider's count
/// from this fetch (likes for IG, comments for TikTok), in created_at order.
async fn broadcast_posts(
    pool: &sqlx::PgPool,
    platform: Platform,
    client_id: &str,
    window: (DateTime<Utc>, DateTime<Utc>),
    new_ids: &[String],
) -> Result<Vec<TaskPost>, JobError> {
    let sql = match platform {
        Platform::Instagram => {
            "SELECT shortcode, created_at, COALESCE(like_count, 0)::bigint FROM insta_post
              WHERE lower(client_id) = lower($1) AND created_at >= $2 AND created_at < $3
              ORDER BY created_at, shortcode"
        }
        Platform::Tiktok => {
            "SELECT video_id, created_at, COALESCE(comment_count, 0)::bigint FROM tiktok_post
              WHERE lower(client_id) = lower($1) AND created_at >= $2 AND created_at < $3
              ORDER BY created_at, video_id"
        }
    };
    let rows: Vec<(String, DateTime<Utc>, i64)> = sqlx::query_as(sql)
        .bind(client_id)
        .bind(window.0)
        .bind(window.1)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, created_at, count)| TaskPost {
            is_new: new_ids.contains(&id),
            id,
            created_at,
            count: u64::try_from(count).unwrap_or(0),
        })
        .collect())
}

/// The task broadcast after a fetch (legacy §3.1 `cronDirRequestFetchSosmed` step 7, §4c):
/// when today's set of posts (both platforms) differs from every set already broadcast today
/// and it is before 17:15 WIB, one `whatsapp_send` of [`task_broadcast`] to the client's WA
/// group. The idempotency key is [`broadcast_key`] (client, day, set of posts, group), so a
/// re-run of an unchanged fetch finds the key and sends nothing. `fetched` is [`fetch`]'s
/// result (client, platform, `new_ids`).
pub async fn broadcast_tasks(
    pool: &sqlx::PgPool,
    session: &str,
    fetched: &Value,
    now: DateTime<Utc>,
) -> Result<Value, JobError> {
    let not_sent = |reason: &str| Ok(json!({"sent": false, "reason": reason}));
    if !before_broadcast_cutoff(now) {
        return not_sent("after the 17:15 WIB cutoff");
    }
    let client_id = fetched["client_id"].as_str().unwrap_or_default();
    let platform: Platform = serde_json::from_value(fetched["platform"].clone())
        .map_err(|e| JobError::Permanent(format!("fetch result without a platform: {e}")))?;
    let new_ids: Vec<String> =
        serde_json::from_value(fetched["new_ids"].clone()).unwrap_or_default();
    let client: BroadcastClient = match sqlx::query_as(
        "SELECT client_id, nama, client_tiktok, client_group FROM clients
          WHERE lower(client_id) = lower($1)",
    )
    .bind(client_id)
    .fetch_optional(pool)
    .await?
    {
        Some(c) => c,
        None => return not_sent("client not found"),
    };
    let Some(group) = client
        .client_group
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .and_then(address::group_chat_id)
    else {
        return not_sent("client has no valid client_group");
    };
    let day = jakarta_day(now);
    let window = jakarta_day_window(day)
        .ok_or_else(|| JobError::Permanent(format!("no Jakarta day window for {day}")))?;
    let marks = |p: Platform| {
        if p == platform {
            new_ids.as_slice()
        } else {
            &[]
        }
    };
    let instagram = broadcast_posts(
        pool,
        Platform::Instagram,
        &client.client_id,
        window,
        marks(Platform::Instagram),
    )
    .await?;
    let tiktok = broadcast_posts(
        pool,
        Platform::Tiktok,
        &client.client_id,
        window,
        marks(Platform::Tiktok),
    )
    .await?;
    if instagram.is_empty() && tiktok.is_empty() {
        return not_sent("no posts today");
    }
    let ids = |v: &[TaskPost]| v.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    let key = broadcast_key(
        &client.client_id,
        day,
        &ids(&instagram),
        &ids(&tiktok),
        &group,
    );
    let seen: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM cicero.wa_outbox WHERE idempotency_key IN ($1, $1 || '#1'))
             OR EXISTS (SELECT 1 FROM cicero.jobs WHERE kind = 'whatsapp_send'
                          AND payload->>'idempotency_key' IN ($1, $1 || '#1'))",
    )
    .bind(&key)
    .fetch_one(pool)
    .await?;
    if seen {
        return Ok(
            json!({"sent": false, "reason": "this set of posts was already broadcast", "idempotency_key": key}),
        );
    }
    let text = task_broadcast(&TaskBroadcast {
        nama: client.nama.clone(),
        client_tiktok: client.client_tiktok.clone(),
        instagram,
        tiktok,
        window: None,
    });
    let parts = address::split_text(&text, address::MAX_TEXT_CHARS);
    let jobs_to_send: Vec<NewJob> = parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let k = if parts.len() > 1 {
                format!("{key}#{}", i + 1)
            } else {
                key.clone()
            };
            NewJob::new(
                "whatsapp_send",
                json!({"to": group, "text": part, "idempotency_key": k, "session": session}),
            )
        })
        .collect();
    let queued = jobs::enqueue_many(pool, &jobs_to_send)
        .await
        .map_err(|e| JobError::Retryable(format!("enqueueing whatsapp_send: {e}")))?;
    Ok(json!({"sent": true, "to": group, "idempotency_key": key, "whatsapp_jobs": queued}))
}

//! Table access of the ingest jobs: the legacy tables `clients`, `insta_post`, `insta_like`,
//! `insta_like_audit`, `tiktok_post`, `tiktok_comment`, `tiktok_comment_audit`, `"user"`.
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};

use crate::providers::{instagram::InstaPost, tiktok::TiktokPost};

use super::{
    Platform,
    rules::{self, ClientRow},
};

pub async fn client(pool: &PgPool, client_id: &str) -> Result<Option<ClientRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT client_id, client_type, client_status, client_insta, client_insta_status,
                client_tiktok, client_tiktok_status, client_amplify_status, tiktok_secuid
           FROM clients WHERE client_id = $1",
    )
    .bind(client_id)
    .fetch_optional(pool)
    .await
}

pub async fn clients(pool: &PgPool) -> Result<Vec<ClientRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT client_id, client_type, client_status, client_insta, client_insta_status,
                client_tiktok, client_tiktok_status, client_amplify_status, tiktok_secuid
           FROM clients ORDER BY client_id",
    )
    .fetch_all(pool)
    .await
}

pub async fn save_sec_uid(
    pool: &PgPool,
    client_id: &str,
    sec_uid: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE clients SET tiktok_secuid = $2 WHERE client_id = $1")
        .bind(client_id)
        .bind(sec_uid)
        .execute(pool)
        .await?;
    Ok(())
}

/// What an upsert did: the ids it inserted (the upsert's `RETURNING (xmax = 0)` says which
/// rows are new) and the count it updated.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Upserted {
    pub new_ids: Vec<String>,
    pub updated: u64,
}

/// Upserts Instagram posts keyed on shortcode (legacy mapping, §4(a) step 4).
pub async fn upsert_insta_posts(
    tx: &mut Transaction<'_, Postgres>,
    client_id: &str,
    posts: &[InstaPost],
) -> Result<Upserted, sqlx::Error> {
    let mut out = Upserted::default();
    for p in posts {
        let images = Value::from(p.image_urls.clone());
        let image_url = p.image_urls.first().cloned().or(p.thumbnail_url.clone());
        let inserted: bool = sqlx::query_scalar(
            "INSERT INTO insta_post (shortcode, client_id, caption, comment_count, like_count, thumbnail_url,
                                     is_video, video_url, image_url, images_url, is_carousel, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (shortcode) DO UPDATE SET
                 client_id = EXCLUDED.client_id, caption = EXCLUDED.caption,
                 comment_count = EXCLUDED.comment_count, like_count = EXCLUDED.like_count,
                 thumbnail_url = EXCLUDED.thumbnail_url, is_video = EXCLUDED.is_video,
                 video_url = EXCLUDED.video_url, image_url = EXCLUDED.image_url,
                 images_url = EXCLUDED.images_url, is_carousel = EXCLUDED.is_carousel,
                 created_at = EXCLUDED.created_at
             RETURNING (xmax = 0)",
        )
        .bind(&p.shortcode)
        .bind(client_id)
        .bind(&p.caption)
        .bind(clamp_i32(p.comment_count))
        .bind(clamp_i32(p.like_count))
        .bind(&p.thumbnail_url)
        .bind(p.is_video)
        .bind(&p.video_url)
        .bind(image_url)
        .bind(images)
        .bind(p.is_carousel)
        .bind(p.created_at)
        .fetch_one(&mut **tx)
        .await?;
        if inserted {
            out.new_ids.push(p.shortcode.clone());
        } else {
            out.updated += 1;
        }
    }
    Ok(out)
}

/// Upserts TikTok posts keyed on video_id (§4(b) step 6).
pub async fn upsert_tiktok_posts(
    tx: &mut Transaction<'_, Postgres>,
    client_id: &str,
    posts: &[TiktokPost],
) -> Result<Upserted, sqlx::Error> {
    let mut out = Upserted::default();
    for p in posts {
        let inserted: bool = sqlx::query_scalar(
            "INSERT INTO tiktok_post (video_id, client_id, caption, like_count, comment_count, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (video_id) DO UPDATE SET
                 client_id = EXCLUDED.client_id, caption = EXCLUDED.caption,
                 like_count = EXCLUDED.like_count, comment_count = EXCLUDED.comment_count,
                 created_at = EXCLUDED.created_at
             RETURNING (xmax = 0)",
        )
        .bind(&p.video_id)
        .bind(client_id)
        .bind(&p.caption)
        .bind(clamp_i32(p.like_count))
        .bind(clamp_i32(p.comment_count))
        .bind(p.created_at)
        .fetch_one(&mut **tx)
        .await?;
        if inserted {
            out.new_ids.push(p.video_id.clone());
        } else {
            out.updated += 1;
        }
    }
    Ok(out)
}

/// A count for an `integer` column: negatives as 0, overflow as `i32::MAX`.
pub(crate) fn clamp_i32(n: i64) -> i32 {
    i32::try_from(n.max(0)).unwrap_or(i32::MAX)
}

/// The ids of a client's posts created in `[start, end)` (a Jakarta day), oldest first.
pub async fn post_ids_between<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    platform: Platform,
    client_id: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<String>, sqlx::Error> {
    let sql = match platform {
        Platform::Instagram => {
            "SELECT shortcode FROM insta_post
              WHERE lower(trim(client_id)) = lower(trim($1)) AND created_at >= $2 AND created_at < $3
              ORDER BY created_at, shortcode"
        }
        Platform::Tiktok => {
            "SELECT video_id FROM tiktok_post
              WHERE lower(trim(client_id)) = lower(trim($1)) AND created_at >= $2 AND created_at < $3
              ORDER BY created_at, video_id"
        }
    };
    sqlx::query_scalar(sql)
        .bind(client_id)
        .bind(start)
        .bind(end)
        .fetch_all(exec)
        .await
}

/// Deletes posts and what hangs on them without a cascade (Instagram: likes, their audit and
/// comments; the extended rows, roles and link reports cascade; TikTok: everything cascades).
pub async fn delete_posts(
    tx: &mut Transaction<'_, Postgres>,
    platform: Platform,
    ids: &[String],
) -> Result<u64, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let statements: &[&str] = match platform {
        Platform::Instagram => &[
            "DELETE FROM insta_like_audit WHERE shortcode = ANY($1)",
            "DELETE FROM insta_like WHERE shortcode = ANY($1)",
            "DELETE FROM insta_comment WHERE shortcode = ANY($1)",
            "DELETE FROM insta_post WHERE shortcode = ANY($1)",
        ],
        Platform::Tiktok => &[
            "DELETE FROM tiktok_comment_audit WHERE video_id = ANY($1)",
            "DELETE FROM tiktok_comment WHERE video_id = ANY($1)",
            "DELETE FROM tiktok_post WHERE video_id = ANY($1)",
        ],
    };
    let mut removed = 0;
    for sql in statements {
        removed = sqlx::query(*sql)
            .bind(ids)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    }
    Ok(removed)
}

/// The handles of every exception user (all clients), raw.
pub async fn exception_handles(
    pool: &PgPool,
    platform: Platform,
) -> Result<Vec<String>, sqlx::Error> {
    let sql = match platform {
        Platform::Instagram => {
            r#"SELECT insta FROM "user" WHERE exception AND coalesce(trim(insta), '') <> '' ORDER BY user_id"#
        }
        Platform::Tiktok => {
            r#"SELECT tiktok FROM "user" WHERE exception AND coalesce(trim(tiktok), '') <> '' ORDER BY user_id"#
        }
    };
    sqlx::query_scalar(sql).fetch_all(pool).await
}

/// What one post's merge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    pub stored: usize,
    pub added: usize,
}

/// Merges `engagers` (already normalised) into a post's stored set (never removing anyone)
/// and records the snapshot of this run's window: one audit row per post and window, updated
/// by later runs of the same window.
pub async fn merge_engagement(
    pool: &PgPool,
    platform: Platform,
    id: &str,
    engagers: &[String],
    window: (DateTime<Utc>, DateTime<Utc>),
) -> Result<Merged, sqlx::Error> {
    let (select, upsert, audit_update, audit_insert) = match platform {
        Platform::Instagram => (
            "SELECT likes FROM insta_like WHERE shortcode = $1 FOR UPDATE",
            "INSERT INTO insta_like (shortcode, likes, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (shortcode) DO UPDATE SET likes = EXCLUDED.likes, updated_at = now()",
            "UPDATE insta_like_audit SET usernames = $2, captured_at = now()
              WHERE shortcode = $1 AND snapshot_window_start = $3 AND snapshot_window_end = $4",
            "INSERT INTO insta_like_audit (shortcode, usernames, snapshot_window_start, snapshot_window_end)
             VALUES ($1, $2, $3, $4)",
        ),
        Platform::Tiktok => (
            "SELECT comments FROM tiktok_comment WHERE video_id = $1 FOR UPDATE",
            "INSERT INTO tiktok_comment (video_id, comments, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (video_id) DO UPDATE SET comments = EXCLUDED.comments, updated_at = now()",
            "UPDATE tiktok_comment_audit SET usernames = $2, captured_at = now()
              WHERE video_id = $1 AND snapshot_window_start = $3 AND snapshot_window_end = $4",
            "INSERT INTO tiktok_comment_audit (video_id, usernames, snapshot_window_start, snapshot_window_end)
             VALUES ($1, $2, $3, $4)",
        ),
    };
    let mut tx = pool.begin().await?;
    let current: Option<Option<Value>> = sqlx::query_scalar(select)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    // Stored sets are JSON arrays of strings; anything else in a legacy row is kept out of
    // the comparison but not lost (the merge starts from its string entries).
    let stored: Vec<String> = current
        .flatten()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let (merged, added) = rules::merge_engagers(&stored, engagers);
    sqlx::query(upsert)
        .bind(id)
        .bind(Value::from(merged.clone()))
        .execute(&mut *tx)
        .await?;
    let snapshot = Value::from(engagers.to_vec());
    let updated = sqlx::query(audit_update)
        .bind(id)
        .bind(&snapshot)
        .bind(window.0)
        .bind(window.1)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        sqlx::query(audit_insert)
            .bind(id)
            .bind(&snapshot)
            .bind(window.0)
            .bind(window.1)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Merged {
        stored: merged.len(),
        added,
    })
}

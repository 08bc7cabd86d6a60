//! Instagram `rapid-*`: the profile (`rapid-profile`, `rapid-info`) with the legacy upserts,
//! and an account's posts (`rapid-posts`).
use std::{sync::Arc, time::Duration};

use axum::extract::{RawQuery, State};
use serde_json::{Map, Value, json};
use sqlx::PgPool;

use super::{
    super::{super::ApiError, limit},
    RapidResult, answer, cache_get, cache_put, date, in_days, insta_param,
};
use crate::{
    http::{
        AppState,
        dashboard::{auth::DashUser, scope::Params},
    },
    ingest::store::clamp_i32,
    providers::{
        first_bool, first_i64, first_string,
        instagram::{InstaPost, InstaProfile},
    },
};

// ---- Instagram profile -----------------------------------------------------------------------

const PROFILE_SQL: &str = "SELECT jsonb_build_object('username', p.username, 'full_name', p.full_name, \
       'bio', p.biography, 'biography', p.biography, 'followers', p.follower_count, \
       'follower_count', p.follower_count, 'following', p.following_count, \
       'following_count', p.following_count, 'post_count', p.post_count, \
       'media_count', p.post_count, 'profile_pic_url', p.profile_pic_url, \
       'hd_profile_pic_url_info', jsonb_build_object('url', p.profile_pic_url), \
       'updated_at', p.updated_at), \
       coalesce(p.updated_at > now() - make_interval(secs => $2), false) \
     FROM insta_profile p WHERE lower(p.username) = $1 ORDER BY p.updated_at DESC NULLS LAST LIMIT 1";

/// The stored profile and whether it is younger than `fresh_for`.
async fn stored_insta_profile(
    pool: &PgPool,
    username: &str,
    fresh_for: Duration,
) -> Result<Option<(Value, bool)>, sqlx::Error> {
    sqlx::query_as(PROFILE_SQL)
        .bind(username)
        .bind(fresh_for.as_secs_f64())
        .fetch_optional(pool)
        .await
}

/// The aggregator's `igProfile`: the stored profile of the client's account while it is
/// fresher than the cache time, else `null`, so the home page calls `rapid-profile`, which
/// fetches and stores it again (the aggregator itself never waits for the provider). Without
/// a usable provider the stored profile is all there is, however old.
pub async fn stored_insta_profile_for_aggregator(
    st: &AppState,
    account: Option<&str>,
) -> Result<Value, sqlx::Error> {
    let Some(name) = account.and_then(super::insta_username) else {
        return Ok(Value::Null);
    };
    let live = st.social.as_deref().filter(|l| l.source.is_ok());
    let fresh_for = live.map_or(Duration::MAX, |l| l.ttl);
    let fresh_for = fresh_for.min(Duration::from_secs(100 * 365 * 86_400));
    Ok(
        match stored_insta_profile(&st.pool, &name, fresh_for).await? {
            Some((profile, fresh)) if fresh || live.is_none() => profile,
            _ => Value::Null,
        },
    )
}

/// The profile as the dashboard reads it: the provider's `data` plus the legacy names
/// (`followers`/`follower_count`, `following`/`following_count`, `bio`/`biography`, …).
pub fn insta_profile_json(p: &InstaProfile) -> Value {
    let mut m = match &p.raw {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let pic = p.profile_pic_url.clone();
    for (k, v) in [
        ("username", json!(p.username)),
        ("full_name", json!(p.full_name)),
        ("bio", json!(p.biography)),
        ("biography", json!(p.biography)),
        ("followers", json!(p.followers)),
        ("follower_count", json!(p.followers)),
        ("following", json!(p.following)),
        ("following_count", json!(p.following)),
        ("post_count", json!(p.media_count)),
        ("media_count", json!(p.media_count)),
        ("is_private", json!(p.is_private)),
        ("is_verified", json!(p.is_verified)),
        ("profile_pic_url", json!(pic)),
        ("hd_profile_pic_url_info", json!({ "url": pic })),
    ] {
        m.insert(k.to_string(), v);
    }
    if let Some(id) = &p.id {
        m.insert("user_id".into(), json!(id));
    }
    Value::Object(m)
}

/// At most `n` characters (the legacy `varchar(n)` columns).
fn cut(s: Option<String>, n: usize) -> Option<String> {
    s.map(|s| s.chars().take(n).collect())
}

/// Legacy `getRapidInstagramProfile` upserts: `insta_profile`, and with an account id
/// `instagram_user` and `instagram_user_metrics` (one transaction). An older row holding the
/// same username under another id (a renamed account) is replaced.
pub async fn upsert_insta_profile(pool: &PgPool, p: &InstaProfile) -> Result<(), sqlx::Error> {
    let raw = &p.raw;
    let username = p.username.to_lowercase();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO insta_profile (username, full_name, biography, follower_count, following_count, \
           post_count, profile_pic_url, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now()) \
         ON CONFLICT (username) DO UPDATE SET full_name = EXCLUDED.full_name, \
           biography = EXCLUDED.biography, follower_count = EXCLUDED.follower_count, \
           following_count = EXCLUDED.following_count, post_count = EXCLUDED.post_count, \
           profile_pic_url = EXCLUDED.profile_pic_url, updated_at = EXCLUDED.updated_at",
    )
    .bind(&username)
    .bind(&p.full_name)
    .bind(&p.biography)
    .bind(p.followers.map(clamp_i32))
    .bind(p.following.map(clamp_i32))
    .bind(p.media_count.map(clamp_i32))
    .bind(first_string(raw, &["profile_pic_url"]).or(p.profile_pic_url.clone()))
    .execute(&mut *tx)
    .await?;
    if let Some(id) = p.id.clone().map(|i| i.chars().take(30).collect::<String>()) {
        let name = cut(Some(username.clone()), 100);
        sqlx::query(
            "DELETE FROM instagram_user_metrics WHERE user_id IN \
               (SELECT user_id FROM instagram_user WHERE username = $2 AND user_id <> $1)",
        )
        .bind(&id)
        .bind(&name)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM instagram_user WHERE username = $2 AND user_id <> $1")
            .bind(&id)
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        let s = |paths: &[&str], n: usize| cut(first_string(raw, paths), n);
        sqlx::query(
            "INSERT INTO instagram_user (user_id, username, full_name, biography, \
               business_contact_method, category, category_id, account_type, contact_phone_number, \
               external_url, fbid_v2, is_business, is_private, is_verified, public_email, \
               public_phone_country_code, public_phone_number, profile_pic_url, profile_pic_url_hd) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
             ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, \
               full_name = EXCLUDED.full_name, biography = EXCLUDED.biography, \
               business_contact_method = EXCLUDED.business_contact_method, \
               category = EXCLUDED.category, category_id = EXCLUDED.category_id, \
               account_type = EXCLUDED.account_type, \
               contact_phone_number = EXCLUDED.contact_phone_number, \
               external_url = EXCLUDED.external_url, fbid_v2 = EXCLUDED.fbid_v2, \
               is_business = EXCLUDED.is_business, is_private = EXCLUDED.is_private, \
               is_verified = EXCLUDED.is_verified, public_email = EXCLUDED.public_email, \
               public_phone_country_code = EXCLUDED.public_phone_country_code, \
               public_phone_number = EXCLUDED.public_phone_number, \
               profile_pic_url = EXCLUDED.profile_pic_url, \
               profile_pic_url_hd = EXCLUDED.profile_pic_url_hd",
        )
        .bind(&id)
        .bind(&name)
        .bind(cut(p.full_name.clone(), 100))
        .bind(&p.biography)
        .bind(s(&["business_contact_method"], 50))
        .bind(s(&["category_name", "category"], 100))
        .bind(first_i64(raw, &["category_id"]))
        .bind(
            first_i64(raw, &["account_type"])
                .map(|n| n.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16),
        )
        .bind(s(&["contact_phone_number"], 30))
        .bind(first_string(raw, &["external_url"]))
        .bind(s(&["fbid_v2"], 40))
        .bind(first_bool(raw, &["is_business"]))
        .bind(p.is_private)
        .bind(p.is_verified)
        .bind(s(&["public_email"], 100))
        .bind(s(&["public_phone_country_code"], 10))
        .bind(s(&["public_phone_number"], 30))
        .bind(first_string(raw, &["profile_pic_url"]))
        .bind(first_string(raw, &["profile_pic_url_hd"]))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO instagram_user_metrics (user_id, follower_count, following_count, \
               media_count, total_igtv_videos, latest_reel_media) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_id) DO UPDATE SET follower_count = EXCLUDED.follower_count, \
               following_count = EXCLUDED.following_count, media_count = EXCLUDED.media_count, \
               total_igtv_videos = EXCLUDED.total_igtv_videos, \
               latest_reel_media = EXCLUDED.latest_reel_media",
        )
        .bind(&id)
        .bind(p.followers.map(clamp_i32))
        .bind(p.following.map(clamp_i32))
        .bind(p.media_count.map(clamp_i32))
        .bind(first_i64(raw, &["total_igtv_videos"]).map(clamp_i32))
        .bind(first_i64(raw, &["latest_reel_media"]))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// `GET /api/insta/rapid-profile?username=` and `rapid-info`: the profile (cache, fresh
/// stored row, live, stale stored row, in that order).
pub async fn insta_profile(
    State(st): State<Arc<AppState>>,
    _user: DashUser,
    RawQuery(q): RawQuery,
) -> RapidResult {
    let name = insta_param(&Params::parse(q.as_deref()))?;
    let Some(live) = st.social.as_deref() else {
        let (p, _) = stored_insta_profile(&st.pool, &name, Duration::ZERO)
            .await?
            .ok_or_else(|| ApiError::not_found("Profil belum tersimpan"))?;
        return Ok(answer("profile", p, "stored", false));
    };
    let key = format!("profile:insta:{name}");
    if let Some(p) = cache_get(&st, live.ttl, &key).await {
        return Ok(answer("profile", p, "cache", false));
    }
    let stored = stored_insta_profile(&st.pool, &name, live.ttl).await?;
    if let Some((p, true)) = &stored {
        cache_put(&st, live.ttl, &key, p).await;
        return Ok(answer("profile", p.clone(), "stored", false));
    }
    let fetched = match live.source() {
        Ok(src) => src.instagram_profile(&name).await,
        Err(e) => Err(e),
    };
    match fetched {
        Ok(profile) => {
            // The caller asked for the profile, which we have: a failed store only costs the
            // next caller a provider call.
            if let Err(e) = upsert_insta_profile(&st.pool, &profile).await {
                tracing::warn!(error = %e, username = %name, "storing the live Instagram profile failed");
            }
            let v = insta_profile_json(&profile);
            cache_put(&st, live.ttl, &key, &v).await;
            Ok(answer("profile", v, "live", false))
        }
        Err(e) => {
            live.note(&e).await;
            match stored {
                Some((p, _)) => Ok(answer("profile", p, "stored", true)),
                None => Err(e.into()),
            }
        }
    }
}

// ---- Instagram posts -------------------------------------------------------------------------

/// The stored posts of the client whose official account this is, with the live answer's
/// fields: no share or view count is stored (0), `type`/`media_type` is Instagram's code
/// derived from the flags (8 carousel, 2 video, 1 image).
async fn stored_insta_posts(
    pool: &PgPool,
    name: &str,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    limit: i64,
) -> Result<Vec<Value>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT jsonb_build_object('id', ip.shortcode, 'shortcode', ip.shortcode, 'code', ip.shortcode, \
           'caption', ip.caption, 'like_count', coalesce(ip.like_count, 0), \
           'comment_count', coalesce(ip.comment_count, 0), 'thumbnail_url', ip.thumbnail_url, \
           'thumbnail', ip.thumbnail_url, \
           'is_video', coalesce(ip.is_video, false), 'video_url', ip.video_url, \
           'is_carousel', coalesce(ip.is_carousel, false), 'images_url', ip.images_url, \
           'share_count', 0, 'view_count', 0, 'type', t.media_type, 'media_type', t.media_type, \
           'created_at', ip.created_at, 'timestamp', ip.created_at, \
           'taken_at', extract(epoch FROM ip.created_at)::bigint, \
           'permalink', 'https://www.instagram.com/p/' || ip.shortcode || '/') \
         FROM insta_post ip JOIN clients c ON c.client_id = ip.client_id, \
           LATERAL (SELECT CASE WHEN ip.is_carousel THEN 8 WHEN ip.is_video THEN 2 ELSE 1 END \
                    AS media_type) t \
         WHERE lower(ltrim(c.client_insta, '@')) = $1 \
           AND ($2::date IS NULL OR ip.created_at >= ($2::date)::timestamp AT TIME ZONE 'Asia/Jakarta') \
           AND ($3::date IS NULL OR ip.created_at < ($3::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta') \
         ORDER BY ip.created_at DESC LIMIT $4",
    )
    .bind(name)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// One live post as the dashboard reads it (legacy `getRapidInstagramPosts` fields plus the
/// stored rows' names).
pub fn insta_post_json(p: &InstaPost) -> Value {
    let raw = &p.raw;
    json!({
        "id": p.shortcode, "shortcode": p.shortcode, "code": p.shortcode,
        "caption": p.caption, "like_count": p.like_count, "comment_count": p.comment_count,
        "share_count": first_i64(raw, &["share_count", "reshare_count"]).unwrap_or(0),
        "view_count": first_i64(raw, &["play_count", "view_count", "playCount", "viewCount", "video_view_count"]).unwrap_or(0),
        "type": raw.get("media_type").or_else(|| raw.get("type")).cloned().unwrap_or(Value::Null),
        "media_type": raw.get("media_type").cloned().unwrap_or(Value::Null),
        "thumbnail_url": p.thumbnail_url, "thumbnail": p.thumbnail_url,
        "is_video": p.is_video, "video_url": p.video_url,
        "is_carousel": p.is_carousel, "images_url": p.image_urls,
        "created_at": p.created_at, "timestamp": p.created_at, "taken_at": p.created_at.timestamp(),
        "permalink": format!("https://www.instagram.com/p/{}/", p.shortcode),
    })
}

/// `GET /api/insta/rapid-posts?username=&limit=&start_date=&end_date=`: the account's newest
/// posts (`limit` 10, at most 100), live (cached), else the stored posts of the client whose
/// official account it is.
pub async fn insta_posts_by_account(
    State(st): State<Arc<AppState>>,
    _user: DashUser,
    RawQuery(q): RawQuery,
) -> RapidResult {
    let p = Params::parse(q.as_deref());
    let name = insta_param(&p)?;
    let limit = limit(&p, 10)?;
    let (from, to) = (date(p.get("start_date"))?, date(p.get("end_date"))?);
    let Some(live) = st.social.as_deref() else {
        let rows = stored_insta_posts(&st.pool, &name, from, to, limit).await?;
        return Ok(answer("posts", json!(rows), "stored", false));
    };
    let key = format!("rapid_posts:insta:{name}:{limit}");
    if let Some(Value::Array(posts)) = cache_get(&st, live.ttl, &key).await {
        return Ok(answer(
            "posts",
            json!(in_days(posts, from, to)),
            "cache",
            false,
        ));
    }
    let fetched = match live.source() {
        Ok(src) => {
            src.instagram_recent_posts(&name, usize::try_from(limit).unwrap_or(10))
                .await
        }
        Err(e) => Err(e),
    };
    match fetched {
        Ok(posts) => {
            let v: Vec<Value> = posts.iter().map(insta_post_json).collect();
            cache_put(&st, live.ttl, &key, &json!(v)).await;
            Ok(answer("posts", json!(in_days(v, from, to)), "live", false))
        }
        Err(e) => {
            live.note(&e).await;
            let rows = stored_insta_posts(&st.pool, &name, from, to, limit).await?;
            if rows.is_empty() {
                return Err(e.into());
            }
            Ok(answer("posts", json!(rows), "stored", true))
        }
    }
}

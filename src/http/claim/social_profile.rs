//! `POST /api/claim/social-profile/validate {platform, username}`: what Cicero has stored
//! about a social account, before the person saves it in their profile. Read-only, no
//! provider call: Instagram from `instagram_user` (+ `instagram_user_metrics`) and
//! `insta_profile`, TikTok from `satbinmas_tiktok_accounts`. A profile not stored is
//! `found:false` (200): Cicero has not seen it, which says nothing about whether it exists.
//! `data_quality` scores how complete the stored data is (`domain::claim::data_quality`).
use std::sync::Arc;

use axum::{body::Bytes, extract::State};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Person, invalid};
use crate::{
    domain::claim::{self, HandleProblem, data_quality},
    http::{
        AppState,
        dashboard::{ApiResult, auth::json_body, ok},
    },
};

/// What is stored about one profile.
#[derive(Debug, Default, sqlx::FromRow)]
struct Stored {
    profile_name: Option<String>,
    avatar_url: Option<String>,
    is_private: Option<bool>,
    is_verified: Option<bool>,
    followers: Option<i64>,
    following: Option<i64>,
    content_count: Option<i64>,
    updated_at: Option<DateTime<Utc>>,
    source: Option<String>,
}

const INSTAGRAM_SQL: &str = "SELECT \
       coalesce(nullif(iu.full_name, ''), nullif(ip.full_name, '')) AS profile_name, \
       coalesce(nullif(iu.profile_pic_url_hd, ''), nullif(iu.profile_pic_url, ''), \
                nullif(ip.profile_pic_url, '')) AS avatar_url, \
       iu.is_private, iu.is_verified, \
       coalesce(m.follower_count, ip.follower_count)::bigint AS followers, \
       coalesce(m.following_count, ip.following_count)::bigint AS following, \
       coalesce(m.media_count, ip.post_count)::bigint AS content_count, \
       ip.updated_at, \
       concat_ws('+', CASE WHEN iu.user_id IS NOT NULL THEN 'instagram_user' END, \
                      CASE WHEN ip.username IS NOT NULL THEN 'insta_profile' END) AS source \
     FROM (SELECT $1::text AS username) q \
     LEFT JOIN instagram_user iu ON lower(iu.username) = q.username \
     LEFT JOIN instagram_user_metrics m ON m.user_id = iu.user_id \
     LEFT JOIN insta_profile ip ON lower(ip.username) = q.username \
     WHERE iu.user_id IS NOT NULL OR ip.username IS NOT NULL \
     LIMIT 1";

const TIKTOK_SQL: &str = "SELECT nullif(display_name, '') AS profile_name, \
       nullif(avatar_url, '') AS avatar_url, is_private, is_verified, \
       followers, following, video_count AS content_count, snapshot_at AS updated_at, \
       'satbinmas_tiktok_accounts' AS source \
     FROM satbinmas_tiktok_accounts \
     WHERE lower(ltrim(username, '@')) = $1 ORDER BY snapshot_at DESC LIMIT 1";

/// `POST /api/claim/social-profile/validate` → `{success, data:{platform, username, found,
/// profile_name, avatar_url, is_private, is_verified, followers, following, content_count,
/// source, updated_at, data_quality}}`.
pub async fn validate(State(st): State<Arc<AppState>>, _person: Person, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let platform = body
        .get("platform")
        .and_then(Value::as_str)
        .map(|p| p.trim().to_lowercase())
        .unwrap_or_default();
    let raw = body
        .get("username")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    let (checked, sql) = match platform.as_str() {
        "instagram" => (claim::check_insta(raw), INSTAGRAM_SQL),
        "tiktok" => (claim::check_tiktok(raw), TIKTOK_SQL),
        _ => {
            return Err(invalid(
                "CLAIM_SOCIAL_PLATFORM_INVALID",
                "platform harus instagram atau tiktok",
            ));
        }
    };
    let username = match checked {
        Ok(u) => u,
        Err(HandleProblem::Reserved) => {
            return Err(invalid(
                "CLAIM_USERNAME_BLOCKED",
                "Username cicero_devs tidak diperbolehkan.",
            ));
        }
        Err(HandleProblem::Invalid) => {
            return Err(invalid(
                "CLAIM_SOCIAL_USERNAME_INVALID",
                "Format username/URL tidak valid",
            ));
        }
    };
    let bare = username.trim_start_matches('@').to_owned();
    let stored: Option<Stored> = sqlx::query_as(sql)
        .bind(&bare)
        .fetch_optional(&st.pool)
        .await?;
    let found = stored.is_some();
    let s = stored.unwrap_or_default();
    let quality = data_quality(
        found,
        [
            s.profile_name.is_some(),
            s.avatar_url.is_some(),
            s.followers.is_some(),
            s.following.is_some(),
            s.content_count.is_some(),
        ],
    );
    Ok(ok(json!({
        "data": {
            "platform": platform,
            "username": username,
            "found": found,
            "profile_name": s.profile_name,
            "avatar_url": s.avatar_url,
            "is_private": s.is_private,
            "is_verified": s.is_verified,
            "followers": s.followers,
            "following": s.following,
            "content_count": s.content_count,
            "source": s.source,
            "updated_at": s.updated_at,
            "data_quality": quality,
        }
    })))
}

//! TikTok `rapid-*`: the account (`rapid-profile`, `rapid-info`; cached only, there is no
//! stored TikTok profile) and its videos (`rapid-posts`).
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use serde_json::{Map, Value, json};
use sqlx::PgPool;

use super::{
    super::{super::ApiError, limit},
    RapidResult, TIKTOK_FORMAT, answer, cache_get, cache_put, tiktok_username,
};
use crate::{
    http::{
        AppState,
        dashboard::{
            auth::DashUser,
            scope::{Params, may_access},
        },
    },
    providers::{
        first_i64, first_string,
        tiktok::{PostsBy, TiktokPost, TiktokUser},
    },
};

/// The TikTok account as the dashboard reads it: `userInfo.user.{uniqueId, signature,
/// avatarLarger}`, `userInfo.stats.{followerCount, followingCount}`, the flat `followers` /
/// `following`, and the info page's `video_count`, `heart_count`, `follower_count`, ….
pub fn tiktok_profile_json(u: &TiktokUser) -> Value {
    let mut info = match u.raw.get("userInfo") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let mut user = match info.get("user") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in [
        ("uniqueId", json!(u.unique_id)),
        ("secUid", json!(u.sec_uid)),
        ("nickname", json!(u.nickname)),
        ("signature", json!(u.signature)),
        ("avatarLarger", json!(u.avatar_larger)),
        ("avatarThumb", json!(u.avatar_thumb)),
        ("verified", json!(u.verified)),
    ] {
        user.insert(k.to_string(), v);
    }
    let mut stats = match info.get("stats") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in [
        ("followerCount", json!(u.follower_count)),
        ("followingCount", json!(u.following_count)),
        ("heart", json!(u.heart)),
        ("heartCount", json!(u.heart)),
        ("videoCount", json!(u.video_count)),
    ] {
        stats.insert(k.to_string(), v);
    }
    info.insert("user".into(), Value::Object(user));
    info.insert("stats".into(), Value::Object(stats));
    json!({
        "userInfo": info,
        "username": u.unique_id, "uniqueId": u.unique_id, "secUid": u.sec_uid,
        "nickname": u.nickname, "full_name": u.nickname,
        "signature": u.signature, "bio": u.signature, "biography": u.signature,
        "avatar": u.avatar_larger, "avatarLarger": u.avatar_larger,
        "profile_pic_url": u.avatar_larger,
        "hd_profile_pic_url_info": { "url": u.avatar_larger },
        "followers": u.follower_count, "follower_count": u.follower_count,
        "following": u.following_count, "following_count": u.following_count,
        "heart_count": u.heart, "like_count": u.heart, "video_count": u.video_count,
        "is_verified": u.verified, "verified": u.verified,
    })
}

/// The client a request without `username` is about: `client_id=`, else the caller's own;
/// 400 when there is neither, 403 outside the caller's reach.
fn requested_client(user: &DashUser, p: &Params) -> Result<String, ApiError> {
    let client = p
        .get("client_id")
        .or_else(|| user.client_id())
        .ok_or_else(|| ApiError::bad_request("username atau client_id wajib diisi"))?;
    if !may_access(user, client, &user.role) {
        return Err(ApiError::forbidden("client_id tidak diizinkan"));
    }
    Ok(client.to_owned())
}

/// The TikTok account a request names: `username=` (validated), else the `client_id`'s (or
/// the caller's client's) `client_tiktok`.
async fn tiktok_account(st: &AppState, user: &DashUser, p: &Params) -> Result<String, ApiError> {
    if let Some(raw) = p.get("username") {
        return tiktok_username(raw).ok_or_else(|| ApiError::bad_request(TIKTOK_FORMAT));
    }
    let client = requested_client(user, p)?;
    let handle: Option<Option<String>> =
        sqlx::query_scalar("SELECT client_tiktok FROM clients WHERE lower(client_id) = lower($1)")
            .bind(&client)
            .fetch_optional(&st.pool)
            .await?;
    handle
        .flatten()
        .as_deref()
        .and_then(tiktok_username)
        .ok_or_else(|| ApiError::not_found("Username TikTok tidak ditemukan"))
}

/// `GET /api/tiktok/rapid-profile?username=` and `rapid-info?username=|client_id=`: the account
/// (cache, else live). There is no stored TikTok profile, so without a provider it is 404.
pub async fn tiktok_profile(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    RawQuery(q): RawQuery,
) -> RapidResult {
    let p = Params::parse(q.as_deref());
    let name = tiktok_account(&st, &user, &p).await?;
    let Some(live) = st.social.as_deref() else {
        return Err(ApiError::not_found("Profil TikTok belum tersimpan").into());
    };
    let key = format!("profile:tiktok:{name}");
    if let Some(v) = cache_get(&st, live.ttl, &key).await {
        return Ok(answer("profile", v, "cache", false));
    }
    let fetched = match live.source() {
        Ok(src) => src.tiktok_user(&name).await,
        Err(e) => Err(e),
    };
    match fetched {
        Ok(u) => {
            let v = tiktok_profile_json(&u);
            cache_put(&st, live.ttl, &key, &v).await;
            Ok(answer("profile", v, "live", false))
        }
        Err(e) => {
            live.note(&e).await;
            Err(e.into())
        }
    }
}

/// The cached TikTok profile of an account (for the aggregator's `tiktokProfile`), or
/// `null`. Never calls the provider: the home page must stay fast, and when this is `null`
/// the dashboard itself asks `rapid-profile`, which fetches and caches it.
pub async fn cached_tiktok_profile(st: &AppState, account: Option<&str>) -> Value {
    let (Some(name), Some(live)) = (account.and_then(tiktok_username), st.social.as_deref()) else {
        return Value::Null;
    };
    cache_get(st, live.ttl, &format!("profile:tiktok:{name}"))
        .await
        .unwrap_or(Value::Null)
}

// ---- TikTok posts ----------------------------------------------------------------------------

/// One live video as the dashboard reads it (`id`/`video_id`, `desc`/`caption`,
/// `stats.{diggCount, commentCount, playCount, shareCount}`, `createTime`, `cover`).
pub fn tiktok_post_json(p: &TiktokPost, account: Option<&str>) -> Value {
    let raw = &p.raw;
    let plays = first_i64(raw, &["stats.playCount", "play_count"]).unwrap_or(0);
    let shares = first_i64(raw, &["stats.shareCount", "share_count"]).unwrap_or(0);
    json!({
        "id": p.video_id, "video_id": p.video_id, "desc": p.caption, "caption": p.caption,
        "like_count": p.like_count, "comment_count": p.comment_count,
        "share_count": shares, "play_count": plays, "view_count": plays,
        "created_at": p.created_at, "createTime": p.created_at.timestamp(),
        "cover": first_string(raw, &["video.cover", "cover", "video.originCover"]),
        "stats": { "diggCount": p.like_count, "commentCount": p.comment_count,
                   "playCount": plays, "shareCount": shares },
        "share_url": format!("https://www.tiktok.com/@{}/video/{}", account.unwrap_or_default(), p.video_id),
    })
}

async fn stored_tiktok_posts(
    pool: &PgPool,
    by_client: bool,
    key: &str,
    limit: i64,
) -> Result<Vec<Value>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT jsonb_build_object('id', t.video_id, 'video_id', t.video_id, 'desc', t.caption, \
           'caption', t.caption, 'like_count', coalesce(t.like_count, 0), \
           'comment_count', coalesce(t.comment_count, 0), 'created_at', t.created_at, \
           'createTime', extract(epoch FROM t.created_at)::bigint, \
           'stats', jsonb_build_object('diggCount', coalesce(t.like_count, 0), \
                                       'commentCount', coalesce(t.comment_count, 0))) \
         FROM tiktok_post t JOIN clients c ON c.client_id = t.client_id \
         WHERE CASE WHEN $1 THEN lower(c.client_id) = $2 \
                    ELSE lower(ltrim(c.client_tiktok, '@')) = $2 END \
         ORDER BY t.created_at DESC LIMIT $3",
    )
    .bind(by_client)
    .bind(key)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// `GET /api/tiktok/rapid-posts?client_id=|username=&limit=`: an account's newest videos
/// (`limit` 10, at most 100). By client: its cached secUid, else its `client_tiktok`. Live
/// (cached), else the stored videos.
pub async fn tiktok_posts_by_account(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    RawQuery(q): RawQuery,
) -> RapidResult {
    let p = Params::parse(q.as_deref());
    let limit = limit(&p, 10)?;
    // (stored lookup by client?, its key, the live target, the account name for links)
    let (by_client, key, target, account): (bool, String, Option<PostsBy>, Option<String>) = match (
        p.get("client_id"),
        p.get("username"),
    ) {
        (_, Some(u)) => {
            let name = tiktok_username(u).ok_or_else(|| ApiError::bad_request(TIKTOK_FORMAT))?;
            (
                false,
                name.clone(),
                Some(PostsBy::Username(name.clone())),
                Some(name),
            )
        }
        (_, None) => {
            let c = requested_client(&user, &p)?;
            let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT client_tiktok, tiktok_secuid FROM clients WHERE lower(client_id) = lower($1)",
                )
                .bind(&c)
                .fetch_optional(&st.pool)
                .await?;
            let (handle, sec) = row.unwrap_or_default();
            let handle = handle.as_deref().and_then(tiktok_username);
            let target = match (sec.filter(|s| !s.trim().is_empty()), &handle) {
                (Some(s), _) => Some(PostsBy::SecUid(s)),
                (None, Some(h)) => Some(PostsBy::Username(h.clone())),
                (None, None) => None,
            };
            (true, c.to_lowercase(), target, handle)
        }
    };
    let (Some(live), Some(target)) = (st.social.as_deref(), target) else {
        let rows = stored_tiktok_posts(&st.pool, by_client, &key, limit).await?;
        return Ok(answer("posts", json!(rows), "stored", false));
    };
    let id = match &target {
        PostsBy::SecUid(s) | PostsBy::Username(s) => s.clone(),
    };
    let cache_key = format!("rapid_posts:tiktok:{id}:{limit}");
    if let Some(v @ Value::Array(_)) = cache_get(&st, live.ttl, &cache_key).await {
        return Ok(answer("posts", v, "cache", false));
    }
    let fetched = match live.source() {
        Ok(src) => {
            src.tiktok_recent_posts(&target, u32::try_from(limit).unwrap_or(10))
                .await
        }
        Err(e) => Err(e),
    };
    match fetched {
        Ok(mut posts) => {
            posts.sort_by_key(|p| std::cmp::Reverse(p.created_at));
            posts.truncate(usize::try_from(limit).unwrap_or(10));
            let v = json!(
                posts
                    .iter()
                    .map(|p| tiktok_post_json(p, account.as_deref()))
                    .collect::<Vec<_>>()
            );
            cache_put(&st, live.ttl, &cache_key, &v).await;
            Ok(answer("posts", v, "live", false))
        }
        Err(e) => {
            live.note(&e).await;
            let rows = stored_tiktok_posts(&st.pool, by_client, &key, limit).await?;
            if rows.is_empty() {
                return Err(e.into());
            }
            Ok(answer("posts", json!(rows), "stored", true))
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::http::dashboard::auth::Premium;

    fn user(role: &str, clients: &[&str]) -> DashUser {
        DashUser {
            id: "u1".into(),
            username: "u".into(),
            role: role.into(),
            role_id: 1,
            client_ids: clients.iter().map(|c| c.to_string()).collect(),
            premium: Premium::default(),
            token: String::new(),
        }
    }

    #[test]
    fn the_requested_client() {
        let q = |s: &str| Params::parse(Some(s));
        let cases: &[(DashUser, &str, Result<&str, StatusCode>)] = &[
            (user("operator", &["KEDIRI"]), "", Ok("KEDIRI")),
            (
                user("operator", &["KEDIRI"]),
                "client_id=kediri",
                Ok("kediri"),
            ),
            (
                user("operator", &["KEDIRI"]),
                "client_id=BLITAR",
                Err(StatusCode::FORBIDDEN),
            ),
            (user("admin", &["KEDIRI"]), "client_id=BLITAR", Ok("BLITAR")),
            // No client named and none of its own: 400, not `may_access("")`'s 403.
            (user("operator", &[]), "", Err(StatusCode::BAD_REQUEST)),
            (user("admin", &[]), "limit=3", Err(StatusCode::BAD_REQUEST)),
        ];
        for (u, query, want) in cases {
            let got = requested_client(u, &q(query)).map_err(|e| e.status);
            assert_eq!(got.as_deref(), want.as_deref(), "{} {query}", u.role);
        }
    }
}

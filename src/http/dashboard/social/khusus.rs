//! Special-assignment ("khusus") link reports (legacy §2.8 `linkReportKhususController`) and
//! one report by shortcode.
//!
//! `POST /api/link-reports-khusus` takes one Instagram post link (`/p/` or `/reel/`), fetches
//! the post with the provider's `post_info` (the configured [`super::Live`] source, shared
//! rate limit), and, when the post is from today (Asia/Jakarta), stores it in
//! `insta_post_khusus` and `insta_post` (legacy mapping) and the report in
//! `link_report_khusus`, in one transaction. A stored post never changes owner: a post that
//! is already another client's special assignment is 409, and an official post of another
//! client stays that client's (see [`store_post`]). Callers: the person's own token
//! (reposter) or a dashboard token with the person in reach, as the other link-report
//! routes; a 401 here sends the dashboard to the reposter login, so only a bad token gets
//! one.
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::StatusCode,
};
use chrono::Utc;
use serde_json::{Value, json};
use sqlx::{Postgres, Transaction};

use super::{
    super::{
        ApiError, ApiResult,
        auth::{Caller, field, json_body},
        ok,
        users::normalize_nrp,
    },
    PLATFORMS, all_values, delete_report, first_url, may_act_for, may_use_client, own_client,
    rapid::{RapidError, RapidResult},
    reach,
};
use crate::{
    domain::time::jakarta_day, http::AppState, ingest::store::clamp_i32,
    providers::instagram::InstaPost,
};

/// Legacy `extractInstagramShortcode` on a URL: the code after `instagram.com/p/` or
/// `instagram.com/reel/` (`[A-Za-z0-9_-]+`), else `None`.
pub fn instagram_shortcode(url: &str) -> Option<String> {
    // ASCII lower-casing keeps byte offsets, so the code keeps its case.
    let lower = url.to_ascii_lowercase();
    let at = lower.find("instagram.com/")? + "instagram.com/".len();
    let rest = ["p/", "reel/"]
        .iter()
        .find_map(|p| lower[at..].starts_with(p).then(|| &url[at + p.len()..]))?;
    let code = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!code.is_empty()
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then(|| code.to_string())
}

/// A non-empty value in a platform field other than `instagram_link`.
fn other_links(body: &Value) -> bool {
    PLATFORMS[1..].iter().any(|f| field(body, f).is_some())
}

/// 409: the post is already another client's special assignment.
fn taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "Konten ini sudah terdaftar sebagai tugas khusus client lain",
    )
}

/// Stores a fetched post for `client`'s special assignment, never changing who owns a stored
/// post: in `insta_post_khusus` it is inserted, or refreshed when it is already `client`'s
/// (or has no client); in `insta_post` (legacy mapping) likewise, and an official post of
/// another client is left as it is (moving it would drop it from that client's recap, and
/// the next `fetch_posts` of `client` would delete it with everyone's likes and reports).
/// `false` when the special assignment belongs to another client (nothing was written).
async fn store_post(
    tx: &mut Transaction<'_, Postgres>,
    client: &str,
    post: &InstaPost,
) -> Result<bool, sqlx::Error> {
    let image_url = post
        .image_urls
        .first()
        .cloned()
        .or(post.thumbnail_url.clone());
    let images = json!(post.image_urls);
    let stored: Option<i32> = sqlx::query_scalar(
        "INSERT INTO insta_post_khusus (shortcode, client_id, caption, comment_count, thumbnail_url, \
           is_video, video_url, image_url, images_url, is_carousel, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (shortcode) DO UPDATE SET \
           client_id = coalesce(insta_post_khusus.client_id, EXCLUDED.client_id), \
           caption = EXCLUDED.caption, comment_count = EXCLUDED.comment_count, \
           thumbnail_url = EXCLUDED.thumbnail_url, is_video = EXCLUDED.is_video, \
           video_url = EXCLUDED.video_url, image_url = EXCLUDED.image_url, \
           images_url = EXCLUDED.images_url, is_carousel = EXCLUDED.is_carousel, \
           created_at = EXCLUDED.created_at \
         WHERE insta_post_khusus.client_id IS NULL \
            OR lower(insta_post_khusus.client_id) = lower(EXCLUDED.client_id) \
         RETURNING 1",
    )
    .bind(&post.shortcode)
    .bind(client)
    .bind(&post.caption)
    .bind(clamp_i32(post.comment_count))
    .bind(&post.thumbnail_url)
    .bind(post.is_video)
    .bind(&post.video_url)
    .bind(&image_url)
    .bind(&images)
    .bind(post.is_carousel)
    .bind(post.created_at)
    .fetch_optional(&mut **tx)
    .await?;
    if stored.is_none() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO insta_post (shortcode, client_id, caption, comment_count, like_count, \
           thumbnail_url, is_video, video_url, image_url, images_url, is_carousel, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (shortcode) DO UPDATE SET \
           client_id = coalesce(insta_post.client_id, EXCLUDED.client_id), \
           caption = EXCLUDED.caption, comment_count = EXCLUDED.comment_count, \
           like_count = EXCLUDED.like_count, thumbnail_url = EXCLUDED.thumbnail_url, \
           is_video = EXCLUDED.is_video, video_url = EXCLUDED.video_url, \
           image_url = EXCLUDED.image_url, images_url = EXCLUDED.images_url, \
           is_carousel = EXCLUDED.is_carousel, created_at = EXCLUDED.created_at \
         WHERE insta_post.client_id IS NULL \
            OR lower(insta_post.client_id) = lower(EXCLUDED.client_id)",
    )
    .bind(&post.shortcode)
    .bind(client)
    .bind(&post.caption)
    .bind(clamp_i32(post.comment_count))
    .bind(clamp_i32(post.like_count))
    .bind(&post.thumbnail_url)
    .bind(post.is_video)
    .bind(&post.video_url)
    .bind(&image_url)
    .bind(&images)
    .bind(post.is_carousel)
    .bind(post.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// `POST /api/link-reports-khusus {client_id, user_id, instagram_link}`: 201 with the stored
/// report. 400 (legacy messages) for a missing client, user or link, a link that is not an
/// Instagram post, another platform's link, a post not from today, a second report of the
/// same post by the same person; 403 outside the caller's reach; 409 when the post is
/// already another client's special assignment; the provider's failures as in `rapid-*`
/// (502, 429 with `Retry-After`, 404, 503).
pub async fn create_link_report_khusus(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> RapidResult {
    let body = json_body(&body)?;
    let Some(user_id) = body.get("user_id").and_then(normalize_nrp) else {
        return Err(ApiError::bad_request("user_id wajib diisi").into());
    };
    let Some(link) = field(&body, "instagram_link").and_then(first_url) else {
        return Err(ApiError::bad_request("instagram_link is required").into());
    };
    let Some(shortcode) = instagram_shortcode(&link) else {
        return Err(
            ApiError::bad_request("instagram_link must be a valid Instagram post URL").into(),
        );
    };
    if other_links(&body) {
        return Err(ApiError::bad_request(
            "Only instagram_link is allowed for special assignment uploads",
        )
        .into());
    }
    let Some(wanted) = field(&body, "client_id") else {
        return Err(ApiError::bad_request("client_id is required").into());
    };
    let own = own_client(&st, &caller).await?;
    if !may_use_client(&caller, own.as_deref(), wanted) {
        return Err(ApiError::forbidden("client_id tidak diizinkan").into());
    }
    if !may_act_for(&st, &caller, &user_id).await? {
        return Err(ApiError::forbidden("user_id tidak diizinkan").into());
    }
    let client: Option<String> =
        sqlx::query_scalar("SELECT client_id FROM clients WHERE lower(client_id) = lower($1)")
            .bind(wanted)
            .fetch_optional(&st.pool)
            .await?;
    let client = client.ok_or_else(|| ApiError::not_found("Client tidak ditemukan"))?;
    // A repeat is refused before spending a provider call.
    let reported: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM link_report_khusus WHERE shortcode = $1 AND user_id = $2)",
    )
    .bind(&shortcode)
    .bind(&user_id)
    .fetch_one(&st.pool)
    .await?;
    if reported {
        return Err(ApiError::bad_request("anda mengirimkan link duplikasi").into());
    }
    // Another client's special assignment is refused before spending a provider call too
    // (the insert below re-checks, for a report racing this one).
    let owner: Option<Option<String>> =
        sqlx::query_scalar("SELECT client_id FROM insta_post_khusus WHERE shortcode = $1")
            .bind(&shortcode)
            .fetch_optional(&st.pool)
            .await?;
    if owner
        .flatten()
        .is_some_and(|o| !o.eq_ignore_ascii_case(&client))
    {
        return Err(taken().into());
    }
    let Some(live) = st.social.as_deref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Penyedia data sosial belum dikonfigurasi",
        )
        .into());
    };
    let fetched = match live.source() {
        Ok(src) => src.instagram_post_info(&shortcode).await,
        Err(e) => Err(e),
    };
    let mut post = match fetched {
        Ok(p) => p,
        Err(e) => {
            live.note(&e).await;
            return Err(RapidError::Provider(e));
        }
    };
    post.shortcode = shortcode.clone();
    if jakarta_day(post.created_at) != jakarta_day(Utc::now()) {
        return Err(ApiError::bad_request("shortcode not found or not from today").into());
    }
    let mut tx = st.pool.begin().await?;
    if !store_post(&mut tx, &client, &post).await? {
        return Err(taken().into());
    }
    let row: Option<Value> = sqlx::query_scalar(
        "INSERT INTO link_report_khusus (shortcode, user_id, instagram_link, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (shortcode, user_id) DO NOTHING \
         RETURNING to_jsonb(link_report_khusus.*)",
    )
    .bind(&shortcode)
    .bind(&user_id)
    .bind(&link)
    .bind(post.created_at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(ApiError::bad_request("anda mengirimkan link duplikasi").into());
    };
    tx.commit().await?;
    let mut res = ok(json!({ "data": row }));
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

/// `PUT /api/link-reports-khusus/{shortcode} {user_id, instagram_link}`: replaces the link,
/// which must be an Instagram post link of the same post; other platforms' links are
/// refused (legacy). 404 when the person has no report of the post.
pub async fn update_link_report_khusus(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(shortcode): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let Some(user_id) = body.get("user_id").and_then(normalize_nrp) else {
        return Err(ApiError::bad_request("user_id wajib diisi"));
    };
    if !may_act_for(&st, &caller, &user_id).await? {
        return Err(ApiError::forbidden("user_id tidak diizinkan"));
    }
    if other_links(&body) {
        return Err(ApiError::bad_request(
            "Only instagram_link is allowed for special assignment updates",
        ));
    }
    let Some(link) = field(&body, "instagram_link").and_then(first_url) else {
        return Err(ApiError::bad_request("instagram_link is required"));
    };
    match instagram_shortcode(&link) {
        None => {
            return Err(ApiError::bad_request(
                "instagram_link must be a valid Instagram post URL",
            ));
        }
        Some(code) if code != shortcode => {
            return Err(ApiError::bad_request(format!(
                "instagram_link harus tautan konten {shortcode}"
            )));
        }
        Some(_) => {}
    }
    let row: Option<Value> = sqlx::query_scalar(
        "UPDATE link_report_khusus SET instagram_link = $3, facebook_link = NULL, \
           twitter_link = NULL, tiktok_link = NULL, youtube_link = NULL \
         WHERE shortcode = $1 AND user_id = $2 RETURNING to_jsonb(link_report_khusus.*)",
    )
    .bind(&shortcode)
    .bind(&user_id)
    .bind(&link)
    .fetch_optional(&st.pool)
    .await?;
    let row = row.ok_or_else(|| ApiError::not_found("Laporan link tidak ditemukan"))?;
    Ok(ok(json!({ "data": row })))
}

/// `DELETE /api/link-reports-khusus/{shortcode}?user_id=`: as `DELETE /api/link-reports/…`.
pub async fn delete_link_report_khusus(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(shortcode): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    delete_report(&st, &caller, &shortcode, q.as_deref(), true).await
}

/// One report of a post (legacy `findLinkReportByShortcode`: the report and the post's
/// `caption`, `image_url`, `thumbnail_url`). A person sees their own; a dashboard user a
/// person in reach (`user_id`), or without `user_id` the newest report of the post among its
/// clients' people.
async fn report_by_shortcode(
    st: &AppState,
    caller: &Caller,
    shortcode: &str,
    q: Option<&str>,
    khusus: bool,
) -> ApiResult {
    let wanted = all_values(q.unwrap_or_default(), &["user_id"])
        .into_iter()
        .next()
        .map(|u| normalize_nrp(&Value::String(u.clone())).ok_or(u));
    let user_id = match (caller, wanted) {
        (_, Some(Err(_))) => return Err(ApiError::bad_request("user_id tidak valid")),
        (Caller::Person { nrp }, Some(Ok(u))) if &u != nrp => {
            return Err(ApiError::forbidden("user_id tidak diizinkan"));
        }
        (Caller::Person { nrp }, _) => Some(nrp.clone()),
        (Caller::Dashboard(_), Some(Ok(u))) => {
            if !may_act_for(st, caller, &u).await? {
                return Err(ApiError::forbidden("user tidak termasuk client Anda"));
            }
            Some(u)
        }
        (Caller::Dashboard(_), None) => None,
    };
    let (clients, admin) = reach(caller);
    let (reports, posts) = if khusus {
        ("link_report_khusus", "insta_post_khusus")
    } else {
        ("link_report", "insta_post")
    };
    // `reports` and `posts` are constants.
    let sql = format!(
        "SELECT to_jsonb(r.*) || jsonb_build_object('post_id', r.shortcode, 'caption', p.caption, \
           'image_url', p.image_url, 'thumbnail_url', p.thumbnail_url) \
         FROM {reports} r LEFT JOIN {posts} p ON p.shortcode = r.shortcode \
         JOIN \"user\" u ON u.user_id = r.user_id \
         WHERE r.shortcode = $1 AND ($2::text IS NULL OR r.user_id = $2) \
           AND ($3 OR lower(u.client_id) = ANY($4)) \
         ORDER BY r.created_at DESC, r.user_id LIMIT 1"
    );
    let row: Option<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(shortcode)
        .bind(&user_id)
        .bind(admin)
        .bind(&clients)
        .fetch_optional(&st.pool)
        .await?;
    let row = row.ok_or_else(|| ApiError::not_found("Laporan link tidak ditemukan"))?;
    Ok(ok(json!({ "data": row })))
}

/// `GET /api/link-reports/{shortcode}?user_id=`.
pub async fn link_report(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(shortcode): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    report_by_shortcode(&st, &caller, &shortcode, q.as_deref(), false).await
}

/// `GET /api/link-reports-khusus/{shortcode}?user_id=`.
pub async fn link_report_khusus(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(shortcode): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    report_by_shortcode(&st, &caller, &shortcode, q.as_deref(), true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instagram_post_links() {
        for (url, want) in [
            ("https://www.instagram.com/p/DAbc_12-x/", Some("DAbc_12-x")),
            ("https://instagram.com/reel/CxYz?igsh=1", Some("CxYz")),
            ("HTTPS://WWW.INSTAGRAM.COM/P/AbC/", Some("AbC")),
            ("https://m.instagram.com/p/Q1#x", Some("Q1")),
            ("https://www.instagram.com/reels/CxYz/", None),
            ("https://www.instagram.com/polres/", None),
            ("https://www.tiktok.com/@polres/video/1", None),
            ("https://www.instagram.com/p/", None),
            ("https://www.instagram.com/p/a.b/", None),
        ] {
            assert_eq!(instagram_shortcode(url).as_deref(), want, "{url}");
        }
    }
}

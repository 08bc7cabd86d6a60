//! The social calls of the dashboard and the reposter:
//! - [`rapid`]: `rapid-*` profile and post lookups, live through the configured provider
//!   (the ingestion's `SocialSource`) with a short Redis cache, stored data as the fallback;
//! - [`khusus`]: special-assignment link reports (a post fetched with `post_info`) and one
//!   report by shortcode;
//! - here: a person's record, today's posts, the link-report list, create, update, delete.
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::StatusCode,
};
use serde_json::{Value, json};

use super::{
    ApiError, ApiResult,
    auth::{Caller, field, json_body},
    data::today,
    ok,
    scope::{Params, may_access},
    users::in_reach,
};
use crate::http::AppState;

pub mod khusus;
pub mod rapid;

pub use khusus::{
    create_link_report_khusus, delete_link_report_khusus, link_report, link_report_khusus,
    update_link_report_khusus,
};
pub use rapid::{
    Live, cached_tiktok_profile, insta_posts_by_account, insta_profile,
    stored_insta_profile_for_aggregator, tiktok_posts_by_account, tiktok_profile,
};

/// `limit` of a list call: a positive number, at most 100, else `default`.
fn limit(p: &Params, default: i64) -> ApiResult<i64> {
    match p.get("limit") {
        None => Ok(default),
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| n.min(100))
            .ok_or_else(|| ApiError::bad_request("limit harus angka positif")),
    }
}

/// Whether a caller may act for a person.
async fn may_act_for(st: &AppState, caller: &Caller, user_id: &str) -> ApiResult<bool> {
    match caller {
        Caller::Person { nrp } => Ok(nrp == user_id),
        Caller::Dashboard(u) => in_reach(&st.pool, u, user_id).await,
    }
}

/// `GET /api/users/{id}`: a person reads their own record; a dashboard user one in reach.
pub async fn person(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    if !may_act_for(&st, &caller, &id).await? {
        return Err(ApiError::forbidden("user tidak termasuk client Anda"));
    }
    let v: Option<Value> = sqlx::query_scalar(
        "SELECT to_jsonb(u) - 'created_at' - 'updated_at' || jsonb_build_object('nama_client', c.nama) \
         FROM \"user\" u LEFT JOIN clients c ON c.client_id = u.client_id WHERE u.user_id = $1",
    )
    .bind(&id)
    .fetch_optional(&st.pool)
    .await?;
    let v = v.ok_or_else(|| ApiError::not_found("User tidak ditemukan"))?;
    Ok(ok(json!({ "data": v })))
}

/// The caller's own client: a person's `user.client_id`, a dashboard user's primary client.
async fn own_client(st: &AppState, caller: &Caller) -> ApiResult<Option<String>> {
    Ok(match caller {
        Caller::Person { nrp } => sqlx::query_scalar::<_, Option<String>>(
            "SELECT client_id FROM \"user\" WHERE user_id = $1",
        )
        .bind(nrp)
        .fetch_optional(&st.pool)
        .await?
        .flatten(),
        Caller::Dashboard(u) => u.client_id().map(str::to_owned),
    })
}

/// Whether the caller may act for `client_id`: a person only for their own client (`own`),
/// a dashboard user for a client in reach.
fn may_use_client(caller: &Caller, own: Option<&str>, client_id: &str) -> bool {
    match caller {
        Caller::Person { .. } => own.is_some_and(|o| o.eq_ignore_ascii_case(client_id)),
        Caller::Dashboard(u) => may_access(u, client_id, &u.role),
    }
}

/// `client_id=` of the request, else the caller's own; 403 outside the caller's reach.
async fn client_for(st: &AppState, caller: &Caller, q: &Params) -> ApiResult<String> {
    let own = own_client(st, caller).await?;
    let wanted = q.get("client_id").map(str::to_owned).or(own.clone());
    let wanted = wanted.ok_or_else(|| ApiError::bad_request("client_id wajib diisi"))?;
    if !may_use_client(caller, own.as_deref(), &wanted) {
        return Err(ApiError::forbidden("client_id tidak diizinkan"));
    }
    Ok(wanted)
}

async fn todays_posts(st: &AppState, caller: &Caller, q: Option<String>, table: &str) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let client = client_for(st, caller, &p).await?;
    let (from, to) = today()?;
    let sql = format!(
        "SELECT jsonb_build_object('shortcode', p.shortcode, 'caption', p.caption, \
           'created_at', p.created_at, 'image_url', p.image_url, 'thumbnail_url', p.thumbnail_url, \
           'images_url', p.images_url, 'video_url', p.video_url, 'is_video', coalesce(p.is_video, false), \
           'is_carousel', coalesce(p.is_carousel, false), \
           'source_url', 'https://www.instagram.com/p/' || p.shortcode || '/', \
           'permalink', 'https://www.instagram.com/p/' || p.shortcode || '/') \
         FROM {table} p WHERE lower(p.client_id) = lower($1) AND p.created_at >= $2 AND p.created_at < $3 \
         ORDER BY p.created_at, p.shortcode"
    );
    let rows: Vec<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&client)
        .bind(from)
        .bind(to)
        .fetch_all(&st.pool)
        .await?;
    Ok(ok(json!({ "data": rows })))
}

/// `GET /api/insta/posts?client_id=`: today's official posts (Jakarta day).
pub async fn insta_today(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult {
    todays_posts(&st, &caller, q, "insta_post").await
}

/// `GET /api/insta/posts-khusus?client_id=`: today's special-assignment posts.
pub async fn insta_today_khusus(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult {
    todays_posts(&st, &caller, q, "insta_post_khusus").await
}

/// Whose people's reports a caller sees: the dashboard user's clients in lower case (legacy
/// rows spell a client id in any case), or everyone (`true`) for an admin or a person (their
/// own reports are selected by `user_id`).
fn reach(caller: &Caller) -> (Vec<String>, bool) {
    match caller {
        Caller::Dashboard(u) => (
            u.client_ids.iter().map(|c| c.to_lowercase()).collect(),
            u.is_admin(),
        ),
        Caller::Person { .. } => (Vec::new(), true),
    }
}

/// Every value of a repeated query key (`links[]=a&links[]=b`).
fn all_values(q: &str, keys: &[&str]) -> Vec<String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| {
            let k = k.replace("%5B", "[").replace("%5D", "]");
            keys.iter().any(|want| k.eq_ignore_ascii_case(want))
        })
        .map(|(_, v)| {
            Params::parse(Some(&format!("v={v}")))
                .get("v")
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|v| !v.is_empty())
        .collect()
}

/// The first http(s) URL of a submitted link field (legacy), or `None`.
pub fn first_url(raw: &str) -> Option<String> {
    // The earliest of either scheme (`https://` contains no `http://` match at its start).
    let start = [raw.find("https://"), raw.find("http://")]
        .into_iter()
        .flatten()
        .min()?;
    let url: String = raw[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<' && *c != '>')
        .collect();
    Some(url)
}

const PLATFORMS: &[&str] = &[
    "instagram_link",
    "facebook_link",
    "twitter_link",
    "tiktok_link",
    "youtube_link",
];

async fn list_reports(
    st: &AppState,
    caller: &Caller,
    q: Option<String>,
    khusus: bool,
) -> ApiResult {
    let raw = q.unwrap_or_default();
    let (reports, posts) = if khusus {
        ("link_report_khusus", "insta_post_khusus")
    } else {
        ("link_report", "insta_post")
    };
    let links = all_values(&raw, &["links[]", "links"]);
    if !links.is_empty() {
        let sql = format!(
            "SELECT DISTINCT l FROM {reports} r, unnest(ARRAY[r.instagram_link, r.facebook_link, \
               r.twitter_link, r.tiktok_link, r.youtube_link]) l WHERE l = ANY($1)"
        );
        let dups: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&links)
            .fetch_all(&st.pool)
            .await?;
        return Ok(ok(
            json!({ "data": { "duplicates": dups }, "duplicates": dups }),
        ));
    }
    let p = Params::parse(Some(&raw));
    let user_id = match (caller, p.get("user_id")) {
        (Caller::Person { nrp }, Some(u)) if u != nrp => {
            return Err(ApiError::forbidden("user_id tidak diizinkan"));
        }
        (Caller::Person { nrp }, _) => Some(nrp.clone()),
        (Caller::Dashboard(_), Some(u)) => {
            if !may_act_for(st, caller, u).await? {
                return Err(ApiError::forbidden("user tidak termasuk client Anda"));
            }
            Some(u.to_owned())
        }
        (Caller::Dashboard(_), None) => None,
    };
    let (clients, admin) = reach(caller);
    let per = limit(&p, 20)?;
    let page: i64 = p
        .get("page")
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let offset: i64 = p
        .get("offset")
        .and_then(|v| v.parse().ok())
        .filter(|n: &i64| *n >= 0)
        .unwrap_or((page - 1) * per);
    let shortcode = p.any(&["post_id", "shortcode"]);
    let sql = format!(
        "SELECT jsonb_build_object('shortcode', r.shortcode, 'post_id', r.shortcode, 'user_id', r.user_id, \
           'instagram_link', r.instagram_link, 'facebook_link', r.facebook_link, \
           'twitter_link', r.twitter_link, 'tiktok_link', r.tiktok_link, 'youtube_link', r.youtube_link, \
           'created_at', r.created_at, 'caption', p.caption, 'image_url', p.image_url, \
           'thumbnail_url', p.thumbnail_url), count(*) OVER () \
         FROM {reports} r LEFT JOIN {posts} p ON p.shortcode = r.shortcode \
         JOIN \"user\" u ON u.user_id = r.user_id \
         WHERE ($1::text IS NULL OR r.user_id = $1) AND ($2::text IS NULL OR r.shortcode = $2) \
           AND ($3 OR lower(u.client_id) = ANY($4)) \
         ORDER BY r.created_at DESC, r.shortcode LIMIT $5 OFFSET $6"
    );
    let rows: Vec<(Value, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&user_id)
        .bind(shortcode)
        .bind(admin)
        .bind(&clients)
        .bind(per)
        .bind(offset)
        .fetch_all(&st.pool)
        .await?;
    let total = rows.first().map(|r| r.1).unwrap_or(0);
    let items: Vec<Value> = rows.into_iter().map(|r| r.0).collect();
    Ok(ok(json!({ "data": {
        "items": items,
        "pagination": {
            "total": total, "limit": per, "offset": offset, "page": offset / per + 1,
            "totalPages": (total + per - 1) / per,
        }
    }})))
}

/// `GET /api/link-reports?user_id=&post_id=|shortcode=&limit=&page=|offset=`, or
/// `?links[]=…` for the duplicate check (`data.duplicates`).
pub async fn link_reports(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult {
    list_reports(&st, &caller, q, false).await
}

/// `GET /api/link-reports-khusus`: the same over special assignments.
pub async fn link_reports_khusus(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult {
    list_reports(&st, &caller, q, true).await
}

/// `POST /api/link-reports {shortcode, user_id, instagram_link, facebook_link, twitter_link,
/// tiktok_link, youtube_link}`: each link is reduced to its first URL; the post must be at
/// most 2 days old, and one report per post and person (legacy rules). 201.
pub async fn create_link_report(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let (Some(shortcode), Some(user_id)) = (
        field(&body, "shortcode").or_else(|| field(&body, "post_id")),
        body.get("user_id").and_then(super::users::normalize_nrp),
    ) else {
        return Err(ApiError::bad_request("shortcode dan user_id wajib diisi"));
    };
    if !may_act_for(&st, &caller, &user_id).await? {
        return Err(ApiError::forbidden("user_id tidak diizinkan"));
    }
    let links: Vec<Option<String>> = PLATFORMS
        .iter()
        .map(|f| field(&body, f).and_then(first_url))
        .collect();
    if links.iter().all(Option::is_none) {
        return Err(ApiError::bad_request("minimal satu link wajib diisi"));
    }
    let mut tx = st.pool.begin().await?;
    let post: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "SELECT created_at FROM insta_post WHERE shortcode = $1 \
         AND created_at >= now() - interval '2 days'",
    )
    .bind(shortcode)
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    let Some(created_at) = post else {
        return Err(ApiError::bad_request(
            "shortcode not found or older than 2 days",
        ));
    };
    let row: Option<Value> = sqlx::query_scalar(
        "INSERT INTO link_report (shortcode, user_id, instagram_link, facebook_link, twitter_link, \
           tiktok_link, youtube_link, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (shortcode, user_id) DO NOTHING RETURNING to_jsonb(link_report.*)",
    )
    .bind(shortcode)
    .bind(&user_id)
    .bind(&links[0])
    .bind(&links[1])
    .bind(&links[2])
    .bind(&links[3])
    .bind(&links[4])
    .bind(created_at)
    .fetch_optional(&mut *tx)
    .await?;
    let row = row.ok_or_else(|| ApiError::bad_request("anda mengirimkan link duplikasi"))?;
    tx.commit().await?;
    let mut res = ok(json!({ "data": row }));
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

/// `PUT /api/link-reports/{shortcode} {user_id, instagram_link?, facebook_link?, …}`: replaces
/// the links given (each reduced to its first URL; a field without a URL clears it, as a
/// form sending `""` means "Nihil"); absent fields are kept. 404 when the person has no report
/// for the post.
pub async fn update_link_report(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(shortcode): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let Some(user_id) = body.get("user_id").and_then(super::users::normalize_nrp) else {
        return Err(ApiError::bad_request("user_id wajib diisi"));
    };
    if !may_act_for(&st, &caller, &user_id).await? {
        return Err(ApiError::forbidden("user_id tidak diizinkan"));
    }
    // Per field: (given?, new value).
    let links: Vec<(bool, Option<String>)> = PLATFORMS
        .iter()
        .map(|f| match body.get(*f) {
            Some(Value::String(s)) => (true, first_url(s)),
            Some(Value::Null) => (true, None),
            _ => (false, None),
        })
        .collect();
    if links.iter().all(|(given, _)| !given) {
        return Err(ApiError::bad_request("minimal satu link wajib diisi"));
    }
    let row: Option<Value> = sqlx::query_scalar(
        "UPDATE link_report SET \
           instagram_link = CASE WHEN $3 THEN $4 ELSE instagram_link END, \
           facebook_link = CASE WHEN $5 THEN $6 ELSE facebook_link END, \
           twitter_link = CASE WHEN $7 THEN $8 ELSE twitter_link END, \
           tiktok_link = CASE WHEN $9 THEN $10 ELSE tiktok_link END, \
           youtube_link = CASE WHEN $11 THEN $12 ELSE youtube_link END \
         WHERE shortcode = $1 AND user_id = $2 RETURNING to_jsonb(link_report.*)",
    )
    .bind(&shortcode)
    .bind(&user_id)
    .bind(links[0].0)
    .bind(&links[0].1)
    .bind(links[1].0)
    .bind(&links[1].1)
    .bind(links[2].0)
    .bind(&links[2].1)
    .bind(links[3].0)
    .bind(&links[3].1)
    .bind(links[4].0)
    .bind(&links[4].1)
    .fetch_optional(&st.pool)
    .await?;
    let row = row.ok_or_else(|| ApiError::not_found("Laporan link tidak ditemukan"))?;
    Ok(ok(json!({ "data": row })))
}

/// `DELETE /api/link-reports/{shortcode}?user_id=`: removes the person's report of the post
/// (404 when there is none) and answers it.
pub async fn delete_link_report(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(shortcode): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    delete_report(&st, &caller, &shortcode, q.as_deref(), false).await
}

/// The person's report of a post in `link_report` (or `link_report_khusus`), deleted.
async fn delete_report(
    st: &AppState,
    caller: &Caller,
    shortcode: &str,
    q: Option<&str>,
    khusus: bool,
) -> ApiResult {
    let user_id = all_values(q.unwrap_or_default(), &["user_id"])
        .into_iter()
        .next()
        .and_then(|u| super::users::normalize_nrp(&Value::String(u)));
    let Some(user_id) = user_id else {
        return Err(ApiError::bad_request("user_id wajib diisi"));
    };
    if !may_act_for(st, caller, &user_id).await? {
        return Err(ApiError::forbidden("user_id tidak diizinkan"));
    }
    let table = if khusus {
        "link_report_khusus"
    } else {
        "link_report"
    };
    // `table` is one of two constants.
    let sql = format!(
        "DELETE FROM {table} WHERE shortcode = $1 AND user_id = $2 RETURNING to_jsonb({table}.*)"
    );
    let row: Option<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(shortcode)
        .bind(&user_id)
        .fetch_optional(&st.pool)
        .await?;
    let row = row.ok_or_else(|| ApiError::not_found("Laporan link tidak ditemukan"))?;
    Ok(ok(json!({ "data": row })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_urls() {
        assert_eq!(
            first_url("lihat https://www.instagram.com/p/ABC/ ya"),
            Some("https://www.instagram.com/p/ABC/".into())
        );
        assert_eq!(
            first_url("http://x.id/a\nhttps://y"),
            Some("http://x.id/a".into())
        );
        assert_eq!(first_url("nihil"), None);
    }

    #[test]
    fn repeated_keys() {
        let q = "links%5B%5D=https%3A%2F%2Fa&links[]=https://b&user_id=1&links=";
        assert_eq!(
            all_values(q, &["links[]", "links"]),
            ["https://a", "https://b"]
        );
    }
}

//! The dashboard's read calls over the legacy tables: client profile, recaps (likes,
//! comments, amplification), stats, aggregator, ANEV, post lists, and complaints. Every query
//! runs through one members/posts rule built from [`Scoped`] (legacy `buildClientFilter`).
use std::sync::Arc;

use axum::{body::Bytes, extract::State};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{
    ApiError, ApiResult,
    auth::premium_check,
    dash, ok,
    scope::{Params, Scoped, Window, anev_window, period_window},
};
use crate::{
    domain::{
        recap_report::{Platform, Report, report},
        time::{jakarta_day, jakarta_day_window},
    },
    http::AppState,
};

/// Members of the scope: `$1` client, `$2` directorate mode, `$3` role filter, `$4` regional.
/// Directorate: holders of the role. Otherwise: people of the client (or holding a role named
/// like it), narrowed to holders of the role filter when one applies.
macro_rules! scope_ctes {
    () => {
        "WITH members AS ( \
           SELECT u.user_id, u.nama, u.title, u.divisi, u.jabatan, u.insta, u.tiktok, u.whatsapp, \
                  u.email, u.desa, u.client_id, coalesce(u.status, true) AS status, \
                  coalesce(u.exception, false) AS exception, c.nama AS client_name, c.regional_id \
           FROM \"user\" u LEFT JOIN clients c ON c.client_id = u.client_id \
           WHERE ($4::text IS NULL OR upper(c.regional_id) = $4::text) \
             AND CASE WHEN $2::bool THEN EXISTS ( \
                   SELECT 1 FROM user_roles ur JOIN roles r ON r.role_id = ur.role_id \
                   WHERE ur.user_id = u.user_id AND lower(r.role_name) = $3::text) \
                 ELSE (lower(u.client_id) = lower($1::text) OR EXISTS ( \
                         SELECT 1 FROM user_roles ur JOIN roles r ON r.role_id = ur.role_id \
                         WHERE ur.user_id = u.user_id AND lower(r.role_name) = lower($1::text))) \
                   AND ($3::text IS NULL OR EXISTS ( \
                         SELECT 1 FROM user_roles ur JOIN roles r ON r.role_id = ur.role_id \
                         WHERE ur.user_id = u.user_id AND lower(r.role_name) = $3::text)) \
                 END), \
         posts AS ( \
           SELECT p.* FROM insta_post p \
           WHERE p.created_at >= $6::timestamptz AND p.created_at < $7::timestamptz \
             AND (lower(p.client_id) = lower($5::text) OR ($2::bool AND EXISTS ( \
                   SELECT 1 FROM insta_post_roles pr \
                   WHERE pr.shortcode = p.shortcode AND lower(pr.role_name) = lower($5::text))))), \
         tposts AS ( \
           SELECT p.* FROM tiktok_post p \
           WHERE p.created_at >= $6::timestamptz AND p.created_at < $7::timestamptz \
             AND (lower(p.client_id) = lower($5::text) OR ($2::bool AND EXISTS ( \
                   SELECT 1 FROM tiktok_post_roles pr \
                   WHERE pr.video_id = p.video_id AND lower(pr.role_name) = lower($5::text))))), \
         kposts AS ( \
           SELECT p.* FROM insta_post_khusus p \
           WHERE p.created_at >= $6::timestamptz AND p.created_at < $7::timestamptz \
             AND lower(p.client_id) = lower($5::text)) "
    };
}

/// `likers (shortcode, handle)`: each liker of the scope's posts once per post, lower-cased.
/// Expanded once and joined by handle (a hash join), not searched per member: a directorate
/// has tens of thousands of members and posts with thousands of likers. Follows `scope_ctes!`.
macro_rules! likers_cte {
    () => {
        ", likers AS ( \
       SELECT DISTINCT p.shortcode, lower(e) AS handle \
       FROM posts p JOIN insta_like l ON l.shortcode = p.shortcode, \
            jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.likes) = 'array' \
                                      THEN l.likes ELSE '[]'::jsonb END) e), "
    };
}

/// `commenters (video_id, handle)`: each commenter of the scope's TikTok videos once per
/// video, without `@`, lower-cased. Follows `scope_ctes!`.
macro_rules! commenters_cte {
    () => {
        ", commenters AS ( \
       SELECT DISTINCT p.video_id, lower(ltrim(trim(e), '@')) AS handle \
       FROM tposts p JOIN tiktok_comment tc ON tc.video_id = p.video_id, \
            jsonb_array_elements_text(CASE WHEN jsonb_typeof(tc.comments) = 'array' \
                                      THEN tc.comments ELSE '[]'::jsonb END) e), "
    };
}

/// The resolved scope of a query: which people and whose posts (see `scope_ctes!`). Built
/// by [`Scoped::rule`] after the access checks; export jobs carry it in their payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub client_id: String,
    pub directorate: bool,
    pub role_filter: Option<String>,
    pub regional_id: Option<String>,
    pub post_owner: String,
}

impl Scoped {
    pub fn rule(&self) -> Rule {
        Rule {
            client_id: self.client_id.clone(),
            directorate: self.directorate(),
            role_filter: self.role_filter(),
            regional_id: self.regional_id.clone(),
            post_owner: self.post_owner(),
        }
    }
}

/// Runs a `scope_ctes!()` query returning one JSON value per row.
pub async fn rule_json(
    pool: &sqlx::PgPool,
    sql: &'static str,
    r: &Rule,
    w: &Window,
) -> sqlx::Result<Vec<Value>> {
    rule_json_with(pool, sql, r, w, &[]).await
}

/// [`rule_json`] with extra text parameters `$8, $9, …`.
pub async fn rule_json_with(
    pool: &sqlx::PgPool,
    sql: &'static str,
    r: &Rule,
    w: &Window,
    extra: &[&str],
) -> sqlx::Result<Vec<Value>> {
    let mut q = sqlx::query_scalar::<_, Value>(sql)
        .bind(&r.client_id)
        .bind(r.directorate)
        .bind(&r.role_filter)
        .bind(&r.regional_id)
        .bind(&r.post_owner)
        .bind(w.0)
        .bind(w.1);
    for e in extra {
        q = q.bind(*e);
    }
    q.fetch_all(pool).await
}

pub(super) async fn scoped_json(
    pool: &sqlx::PgPool,
    sql: &'static str,
    s: &Scoped,
    w: &Window,
) -> sqlx::Result<Vec<Value>> {
    rule_json(pool, sql, &s.rule(), w).await
}

/// Today's window (queries that need no period still bind one).
pub(super) fn today() -> ApiResult<Window> {
    jakarta_day_window(jakarta_day(Utc::now())).ok_or_else(|| ApiError::bad_request("tanggal"))
}

/// The period of a recap request (Jakarta "today" by default).
fn window(p: &Params) -> ApiResult<Window> {
    period_window(p, jakarta_day(Utc::now()))
}

pub const LIKES_SQL: &str = concat!(
    scope_ctes!(),
    likers_cte!(),
    "counts AS (SELECT handle, count(*) AS n FROM likers GROUP BY handle) \
     SELECT jsonb_build_object('user_id', m.user_id, 'title', m.title, 'nama', m.nama, \
       'username', m.insta, 'divisi', m.divisi, 'exception', m.exception, \
       'client_id', m.client_id, 'client_name', m.client_name, 'nama_client', m.client_name, \
       'regional_id', m.regional_id, 'count', coalesce(c.n, 0)) \
     FROM members m LEFT JOIN counts c \
       ON nullif(trim(m.insta), '') IS NOT NULL AND c.handle = lower(replace(trim(m.insta), '@', '')) \
     WHERE m.status ORDER BY upper(m.nama), m.user_id"
);

pub const COMMENTS_SQL: &str = concat!(
    scope_ctes!(),
    commenters_cte!(),
    "counts AS (SELECT handle, count(*) AS n FROM commenters GROUP BY handle) \
     SELECT jsonb_build_object('user_id', m.user_id, 'title', m.title, 'nama', m.nama, \
       'username', m.tiktok, 'divisi', m.divisi, 'exception', m.exception, \
       'client_id', m.client_id, 'client_name', m.client_name, 'nama_client', m.client_name, \
       'regional_id', m.regional_id, 'count', coalesce(c.n, 0)) \
     FROM members m LEFT JOIN counts c \
       ON nullif(trim(m.tiktok), '') IS NOT NULL AND c.handle = lower(ltrim(trim(m.tiktok), '@')) \
     WHERE m.status ORDER BY upper(m.nama), m.user_id"
);

pub const LINKS_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT jsonb_build_object('user_id', m.user_id, 'title', m.title, 'nama', m.nama, \
       'username', m.insta, 'divisi', m.divisi, 'exception', m.exception, \
       'client_id', m.client_id, 'client_name', m.client_name, 'nama_client', m.client_name, \
       'count', (SELECT count(DISTINCT r.shortcode) FROM link_report r \
                 JOIN posts p ON p.shortcode = r.shortcode WHERE r.user_id = m.user_id)) \
     FROM members m WHERE m.status ORDER BY upper(m.nama), m.user_id"
);

const LINKS_KHUSUS_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT jsonb_build_object('user_id', m.user_id, 'title', m.title, 'nama', m.nama, \
       'username', m.insta, 'divisi', m.divisi, 'exception', m.exception, \
       'client_id', m.client_id, 'client_name', m.client_name, 'nama_client', m.client_name, \
       'count', (SELECT count(DISTINCT r.shortcode) FROM link_report_khusus r \
                 JOIN kposts p ON p.shortcode = r.shortcode WHERE r.user_id = m.user_id)) \
     FROM members m WHERE m.status ORDER BY upper(m.nama), m.user_id"
);

pub const COUNTS_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT jsonb_build_object('users', (SELECT count(*) FROM members WHERE status), \
       'igPosts', (SELECT count(*) FROM posts), 'ttPosts', (SELECT count(*) FROM tposts), \
       'clients', (SELECT count(*) FROM clients))"
);

const IG_POSTS_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT jsonb_build_object('id', p.shortcode, 'shortcode', p.shortcode, 'caption', p.caption, \
       'like_count', coalesce(p.like_count, 0), 'comment_count', coalesce(p.comment_count, 0), \
       'thumbnail_url', p.thumbnail_url, 'image_url', p.image_url, 'video_url', p.video_url, \
       'is_video', coalesce(p.is_video, false), 'is_carousel', coalesce(p.is_carousel, false), \
       'media_type', CASE WHEN p.is_video THEN 'video' WHEN p.is_carousel THEN 'carousel' ELSE 'image' END, \
       'client_id', p.client_id, 'created_at', p.created_at, \
       'permalink', 'https://www.instagram.com/p/' || p.shortcode || '/') \
     FROM posts p ORDER BY p.created_at DESC, p.shortcode"
);

const TT_POSTS_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT jsonb_build_object('id', p.video_id, 'video_id', p.video_id, 'caption', p.caption, \
       'like_count', coalesce(p.like_count, 0), 'comment_count', coalesce(p.comment_count, 0), \
       'client_id', p.client_id, 'created_at', p.created_at) \
     FROM tposts p ORDER BY p.created_at DESC, p.video_id"
);

/// The names listed first in recaps (`PRIORITY_USER_NAMES`; none without messaging settings).
pub fn priority_names(st: &AppState) -> &[String] {
    st.messaging
        .as_ref()
        .map(|m| m.priority_user_names.as_slice())
        .unwrap_or_default()
}

/// The recap of a scoped query for one platform over the request's period (legacy
/// `getRekapLikesByClient` / `getRekapKomentarByClient` + formatter). Used by the rekap
/// routes and the premium insights, so both report the same numbers.
pub async fn recap_report(st: &AppState, s: &Scoped, platform: Platform) -> ApiResult<Report> {
    let w = window(&s.params)?;
    let (sql, posts_key) = match platform {
        Platform::Instagram => (LIKES_SQL, "igPosts"),
        Platform::Tiktok => (COMMENTS_SQL, "ttPosts"),
    };
    let rows = scoped_json(&st.pool, sql, s, &w).await?;
    let posts = count_of(st, s, &w, posts_key).await?;
    Ok(report(rows, platform, posts as u64, priority_names(st)))
}

/// The premium guard of ANEV and the premium insights (legacy `dashboardPremiumGuard`):
/// 403 with the tier and expiry when the caller's subscription does not admit them.
pub fn premium_guard(st: &AppState, user: &super::auth::DashUser) -> ApiResult<()> {
    let d = dash(st)?;
    premium_check(&user.premium, Utc::now(), &d.premium_allowed_tiers).map_err(|message| {
        ApiError::forbidden(message).with_extra(json!({
            "premium_tier": user.premium.premium_tier,
            "premium_expires_at": user.premium.premium_expires_at,
        }))
    })
}

async fn count_of(st: &AppState, s: &Scoped, w: &Window, key: &str) -> ApiResult<usize> {
    let counts = scoped_json(&st.pool, COUNTS_SQL, s, w).await?;
    Ok(counts.first().and_then(|c| c[key].as_u64()).unwrap_or(0) as usize)
}

fn with_scope(mut v: Value, s: &Scoped) -> Value {
    v["client_id"] = json!(s.client_id);
    v["client_name"] = json!(s.client_name);
    v["role"] = json!(s.role);
    v["scope"] = json!(s.scope);
    v["regional_id"] = json!(s.regional_id);
    v
}

/// `GET /api/insta/rekap-likes`.
pub async fn rekap_likes(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    let mut v = recap_report(&st, &s, Platform::Instagram).await?.body;
    v["totalIGPost"] = v["totalPosts"].clone();
    Ok(ok(with_scope(v, &s)))
}

/// `GET /api/tiktok/rekap-komentar`.
pub async fn rekap_komentar(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    let v = recap_report(&st, &s, Platform::Tiktok).await?.body;
    Ok(ok(with_scope(v, &s)))
}

async fn amplify(st: &AppState, s: &Scoped, sql: &'static str) -> ApiResult {
    let w = window(&s.params)?;
    let mut rows = scoped_json(&st.pool, sql, s, &w).await?;
    for r in &mut rows {
        if let Some(m) = r.as_object_mut() {
            let n = m.remove("count").unwrap_or(json!(0));
            m.insert("jumlah_link".into(), n);
        }
    }
    let height = (rows.len() * 30).max(300);
    Ok(ok(json!({ "data": rows, "chartHeight": height })))
}

/// `GET /api/amplify/rekap`: per person, the official posts of the period they reported
/// links for (`jumlah_link`).
pub async fn amplify_rekap(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    amplify(&st, &s, LINKS_SQL).await
}

/// `GET /api/amplify/rekap-khusus`: the same over special-assignment posts.
pub async fn amplify_rekap_khusus(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    amplify(&st, &s, LINKS_KHUSUS_SQL).await
}

/// `GET /api/dashboard/stats`.
pub async fn stats(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    let w = window(&s.params)?;
    let counts = scoped_json(&st.pool, COUNTS_SQL, &s, &w).await?;
    let mut data = counts.into_iter().next().unwrap_or_else(|| json!({}));
    data = with_scope(data, &s);
    data["effectiveRole"] = json!(s.role);
    data["effectiveClientType"] = json!(if s.directorate() { "DIREKTORAT" } else { "ORG" });
    Ok(ok(json!({ "data": data })))
}

/// `GET /api/clients/profile`: the client row plus the caller's premium snapshot (the
/// dashboard reads the tier from here).
pub async fn profile(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    let client: Option<Value> =
        sqlx::query_scalar("SELECT to_jsonb(c) FROM clients c WHERE c.client_id = $1")
            .bind(&s.client_id)
            .fetch_optional(&st.pool)
            .await?;
    let mut client = client.ok_or_else(|| ApiError::not_found("Client tidak ditemukan"))?;
    let p = &s.user.premium;
    let tier = p.premium_tier.as_deref().map(str::to_lowercase);
    client["client_type"] = json!(
        client["client_type"]
            .as_str()
            .map(str::to_uppercase)
            .unwrap_or_else(|| "ORG".into())
    );
    client["premium_status"] = json!(p.premium_status);
    client["premium_tier"] = json!(tier);
    client["tier"] = json!(tier);
    client["level"] = json!(tier);
    client["premium_expires_at"] = json!(p.premium_expires_at);
    Ok(ok(json!({ "client": client })))
}

/// `GET /api/aggregator?periode=harian`: the client's Instagram profile (stored) and posts
/// (today for `harian`, else latest), and its TikTok posts.
pub async fn aggregator(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    let limit: i64 = match s.params.get("limit") {
        None => 10,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::bad_request("limit harus angka positif"))?
            .min(100),
    };
    let (from, to): (DateTime<Utc>, DateTime<Utc>) = if s
        .params
        .get("periode")
        .unwrap_or("harian")
        .eq_ignore_ascii_case("harian")
    {
        jakarta_day_window(jakarta_day(Utc::now()))
            .ok_or_else(|| ApiError::bad_request("tanggal"))?
    } else {
        (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
    };
    let accounts: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT client_insta, client_tiktok FROM clients WHERE client_id = $1")
            .bind(&s.client_id)
            .fetch_optional(&st.pool)
            .await?;
    let (insta, tiktok) = accounts.unwrap_or_default();
    let ig_profile =
        super::social::stored_insta_profile_for_aggregator(&st, insta.as_deref()).await?;
    let ig_posts: Vec<Value> = sqlx::query_scalar(
        "SELECT jsonb_build_object('id', shortcode, 'shortcode', shortcode, 'caption', caption, \
           'like_count', coalesce(like_count, 0), 'comment_count', coalesce(comment_count, 0), \
           'thumbnail_url', thumbnail_url, 'is_video', coalesce(is_video, false), \
           'video_url', video_url, 'created_at', created_at, \
           'permalink', 'https://www.instagram.com/p/' || shortcode || '/') \
         FROM insta_post WHERE client_id = $1 AND created_at >= $2 AND created_at < $3 \
         ORDER BY created_at DESC LIMIT $4",
    )
    .bind(&s.client_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(&st.pool)
    .await?;
    let tt_posts: Vec<Value> = sqlx::query_scalar(
        "SELECT jsonb_build_object('id', video_id, 'video_id', video_id, 'caption', caption, \
           'like_count', coalesce(like_count, 0), 'comment_count', coalesce(comment_count, 0), \
           'created_at', created_at, \
           'share_url', 'https://www.tiktok.com/@' || coalesce($5, '') || '/video/' || video_id) \
         FROM tiktok_post WHERE client_id = $1 AND created_at >= $2 AND created_at < $3 \
         ORDER BY created_at DESC LIMIT $4",
    )
    .bind(&s.client_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .bind(&tiktok)
    .fetch_all(&st.pool)
    .await?;
    Ok(ok(json!({
        "data": {
            "igProfile": ig_profile,
            "igPosts": ig_posts,
            "tiktokProfile": super::social::cached_tiktok_profile(&st, tiktok.as_deref()).await,
            "tiktokPosts": tt_posts,
        }
    })))
}

fn limited(mut rows: Vec<Value>, p: &Params) -> ApiResult<Vec<Value>> {
    if let Some(l) = p.get("limit") {
        let n: usize = l
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::bad_request("limit harus angka positif"))?;
        rows.truncate(n);
    }
    Ok(rows)
}

/// `GET /api/instagram/posts`: the official posts of the period.
pub async fn instagram_posts(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    let w = window(&s.params)?;
    let rows = limited(
        scoped_json(&st.pool, IG_POSTS_SQL, &s, &w).await?,
        &s.params,
    )?;
    Ok(ok(json!({ "data": rows })))
}

/// `GET /api/tiktok/posts`.
pub async fn tiktok_posts(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    let w = window(&s.params)?;
    let rows = limited(
        scoped_json(&st.pool, TT_POSTS_SQL, &s, &w).await?,
        &s.params,
    )?;
    Ok(ok(json!({ "data": rows })))
}

/// `GET /api/dashboard/anev` behind the premium guard: per-person likes and comments over
/// `time_range`, with the legacy aggregates.
pub async fn anev(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    premium_guard(&st, &s.user)?;
    let (range, first, last, w) = anev_window(&s.params, jakarta_day(Utc::now()))?;
    let likes = scoped_json(&st.pool, LIKES_SQL, &s, &w).await?;
    let comments = scoped_json(&st.pool, COMMENTS_SQL, &s, &w).await?;
    let counts = scoped_json(&st.pool, COUNTS_SQL, &s, &w).await?;
    let c = counts.first().cloned().unwrap_or_default();
    let (ig, tt) = (
        c["igPosts"].as_u64().unwrap_or(0),
        c["ttPosts"].as_u64().unwrap_or(0),
    );
    let comment_of: Map<String, Value> = comments
        .iter()
        .map(|r| {
            (
                r["user_id"].as_str().unwrap_or_default().to_owned(),
                r["count"].clone(),
            )
        })
        .collect();
    let expected = ig + tt;
    let (mut total_likes, mut total_comments) = (0, 0);
    let (mut directory, mut ig_users, mut tt_users, mut compliance) =
        (vec![], vec![], vec![], vec![]);
    for r in &likes {
        let id = r["user_id"].as_str().unwrap_or_default();
        let l = r["count"].as_u64().unwrap_or(0);
        let k = comment_of.get(id).and_then(Value::as_u64).unwrap_or(0);
        total_likes += l;
        total_comments += k;
        let tiktok = comments
            .iter()
            .find(|c| c["user_id"] == r["user_id"])
            .map(|c| c["username"].clone())
            .unwrap_or(Value::Null);
        directory.push(json!({
            "user_id": id, "username": r["username"], "nama": r["nama"], "title": r["title"],
            "divisi": r["divisi"], "client_id": r["client_id"], "insta": r["username"], "tiktok": tiktok,
        }));
        ig_users.push(json!({ "user_id": id, "username": r["username"], "nama": r["nama"], "divisi": r["divisi"], "likes": l }));
        tt_users.push(json!({ "user_id": id, "username": tiktok, "nama": r["nama"], "divisi": r["divisi"], "comments": k }));
        compliance.push(json!({
            "user_id": id, "nama": r["nama"], "divisi": r["divisi"], "client_id": r["client_id"],
            "likes": l, "comments": k, "total_actions": l + k,
            "completion_rate": completion_rate(l + k, expected),
        }));
    }
    Ok(ok(json!({ "data": {
        "filters": {
            "client_id": s.client_id, "role": s.role, "scope": s.scope, "regional_id": s.regional_id,
            "time_range": range, "start_date": first.to_string(), "end_date": last.to_string(),
            "permitted_time_ranges": ["today", "7d", "30d", "90d", "custom", "all"],
        },
        "user_directory": directory,
        "instagram_engagement": { "total_posts": ig, "total_likes": total_likes, "per_user": ig_users },
        "tiktok_engagement": { "total_posts": tt, "total_comments": total_comments, "per_user": tt_users },
        "aggregates": {
            "total_users": likes.len(), "instagram_posts": ig, "tiktok_posts": tt,
            "total_likes": total_likes, "total_comments": total_comments,
            "expected_actions": expected, "compliance_per_pelaksana": compliance,
        }
    }})))
}

/// Actions over expected actions, 4 decimals (legacy); 0 when nothing was expected.
pub fn completion_rate(actions: u64, expected: u64) -> f64 {
    if expected == 0 {
        0.0
    } else {
        ((actions as f64 / expected as f64) * 10000.0).round() / 10000.0
    }
}

/// `GET /api/clients/{client_id}/summary` (legacy `getClientSummary`): the client row and its totals
/// over all stored data: active people, Instagram/TikTok posts, likes and comments. The
/// executive-summary page's richer fields (`summaryMetrics`, narratives) were never served by
/// the legacy backend either; the page falls back to its other calls.
pub async fn client_summary(
    State(st): State<Arc<AppState>>,
    user: super::auth::DashUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult {
    let client: Option<Value> = sqlx::query_scalar(
        "SELECT to_jsonb(c) FROM clients c WHERE lower(c.client_id) = lower($1)",
    )
    .bind(&id)
    .fetch_optional(&st.pool)
    .await?;
    let client = client.ok_or_else(|| ApiError::not_found("Client not found"))?;
    let client_id = client["client_id"].as_str().unwrap_or(&id).to_owned();
    if !super::scope::may_access(&user, &client_id, &user.role) {
        return Err(ApiError::forbidden("client_id tidak diizinkan"));
    }
    let (users, ig, tt, likes, comments): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT \
           (SELECT count(*) FROM \"user\" WHERE client_id = $1 AND coalesce(status, true)), \
           (SELECT count(*) FROM insta_post WHERE client_id = $1), \
           (SELECT count(*) FROM tiktok_post WHERE client_id = $1), \
           (SELECT coalesce(sum(CASE WHEN jsonb_typeof(l.likes) = 'array' THEN jsonb_array_length(l.likes) ELSE 0 END), 0)::bigint \
              FROM insta_post p JOIN insta_like l ON l.shortcode = p.shortcode WHERE p.client_id = $1), \
           (SELECT coalesce(sum(CASE WHEN jsonb_typeof(k.comments) = 'array' THEN jsonb_array_length(k.comments) ELSE 0 END), 0)::bigint \
              FROM tiktok_post p JOIN tiktok_comment k ON k.video_id = p.video_id WHERE p.client_id = $1)",
    )
    .bind(&client_id)
    .fetch_one(&st.pool)
    .await?;
    Ok(ok(json!({ "data": {
        "client": client, "user_count": users, "insta_post_count": ig, "tiktok_post_count": tt,
        "total_insta_likes": likes, "total_tiktok_comments": comments,
    }})))
}

/// `POST /api/dashboard/komplain/insta {nrp, client_id?, issue}`.
pub async fn komplain_insta(State(st): State<Arc<AppState>>, s: Scoped, body: Bytes) -> ApiResult {
    super::complaint::handle(&st, &s, &body, "instagram").await
}

/// `POST /api/dashboard/komplain/tiktok`.
pub async fn komplain_tiktok(State(st): State<Arc<AppState>>, s: Scoped, body: Bytes) -> ApiResult {
    super::complaint::handle(&st, &s, &body, "tiktok").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_rates() {
        assert_eq!(completion_rate(4, 6), 0.6667);
        assert_eq!(completion_rate(0, 0), 0.0);
        assert_eq!(completion_rate(6, 6), 1.0);
    }
}

//! The dashboard's read calls over the legacy tables: client profile, recaps (likes,
//! comments, amplification), stats, aggregator, ANEV, post lists, and complaints. Every query
//! runs through one members/posts rule built from [`Scoped`] (legacy `buildClientFilter`).
use std::sync::Arc;

use axum::{body::Bytes, extract::State};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{
    ApiError, ApiResult,
    auth::{field, json_body, premium_check},
    dash, ok,
    scope::{Params, Scoped, Window, anev_window, period_window},
};
use crate::{
    domain::{
        attendance::{Status, Threshold, classify},
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
    sqlx::query_scalar::<_, Value>(sql)
        .bind(&r.client_id)
        .bind(r.directorate)
        .bind(&r.role_filter)
        .bind(&r.regional_id)
        .bind(&r.post_owner)
        .bind(w.0)
        .bind(w.1)
        .fetch_all(pool)
        .await
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
    // Likers are expanded once and joined by handle (a hash join), not searched per member:
    // a directorate recap has tens of thousands of members and posts with thousands of likers.
    ", likers AS ( \
       SELECT DISTINCT p.shortcode, lower(e) AS handle \
       FROM posts p JOIN insta_like l ON l.shortcode = p.shortcode, \
            jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.likes) = 'array' \
                                      THEN l.likes ELSE '[]'::jsonb END) e), \
     counts AS (SELECT handle, count(*) AS n FROM likers GROUP BY handle) \
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
    ", commenters AS ( \
       SELECT DISTINCT p.video_id, lower(ltrim(trim(e), '@')) AS handle \
       FROM tposts p JOIN tiktok_comment tc ON tc.video_id = p.video_id, \
            jsonb_array_elements_text(CASE WHEN jsonb_typeof(tc.comments) = 'array' \
                                      THEN tc.comments ELSE '[]'::jsonb END) e), \
     counts AS (SELECT handle, count(*) AS n FROM commenters GROUP BY handle) \
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

/// Status names the dashboard and legacy formatter use.
pub fn status_name(s: Status, total_posts: usize) -> &'static str {
    match s {
        Status::NoHandle => "no_username",
        _ if total_posts == 0 => "no_posts",
        Status::Complete => "sudah",
        Status::Partial => "kurang",
        Status::None => "belum",
    }
}

/// Legacy recap formatter: per row `status` and `<count_field>`, and the counts the
/// dashboard reads (`usersCount`, `sudahUsersCount`, …, `summary`). `belumUsersCount`
/// includes the people without a username, as in legacy.
pub fn recap(mut rows: Vec<Value>, count_field: &str, total_posts: usize) -> Value {
    let (mut sudah, mut kurang, mut belum, mut no_user) = (vec![], vec![], vec![], vec![]);
    let mut total = 0u64;
    for row in &mut rows {
        let count = row["count"].as_u64().unwrap_or(0);
        total += count;
        let has_handle = row["username"]
            .as_str()
            .is_some_and(|u| !u.trim().trim_start_matches('@').is_empty());
        let status = classify(has_handle, count as usize, total_posts, Threshold::AllPosts);
        let name = row["username"].as_str().unwrap_or_default().to_owned();
        match status {
            Status::Complete => sudah.push(name),
            Status::Partial => kurang.push(name),
            Status::None => belum.push(name),
            Status::NoHandle => no_user.push(row["nama"].as_str().unwrap_or_default().to_owned()),
        }
        if let Some(m) = row.as_object_mut() {
            m.remove("count");
            m.insert(count_field.into(), json!(count));
            m.insert("status".into(), json!(status_name(status, total_posts)));
        }
    }
    let users = rows.len();
    let pct = |n: usize| {
        if users == 0 {
            0.0
        } else {
            ((n as f64) * 10000.0 / users as f64).round() / 100.0
        }
    };
    json!({
        "data": rows,
        "chartHeight": (users * 36).max(320),
        "totalPosts": total_posts,
        "usersCount": users,
        "sudahUsers": sudah,
        "kurangUsers": kurang,
        "belumUsers": belum,
        "noUsernameUsers": no_user,
        "sudahUsersCount": sudah.len(),
        "kurangUsersCount": kurang.len(),
        "belumUsersCount": belum.len() + no_user.len(),
        "usersWithoutCommentsCount": belum.len() + no_user.len(),
        "noUsernameUsersCount": no_user.len(),
        "summary": {
            "totalPosts": total_posts,
            "totalUsers": users,
            "totalInteractions": total,
            "participationRatePercentage": pct(sudah.len() + kurang.len()),
            "distribution": {
                "sudah": sudah.len(), "kurang": kurang.len(),
                "belum": belum.len(), "noUsername": no_user.len(),
            }
        }
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
    let w = window(&s.params)?;
    let rows = scoped_json(&st.pool, LIKES_SQL, &s, &w).await?;
    let posts = count_of(&st, &s, &w, "igPosts").await?;
    let mut v = recap(rows, "jumlah_like", posts);
    v["totalIGPost"] = json!(posts);
    v["summary"]["totalLikes"] = v["summary"]["totalInteractions"].clone();
    Ok(ok(with_scope(v, &s)))
}

/// `GET /api/tiktok/rekap-komentar`.
pub async fn rekap_komentar(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    let w = window(&s.params)?;
    let rows = scoped_json(&st.pool, COMMENTS_SQL, &s, &w).await?;
    let posts = count_of(&st, &s, &w, "ttPosts").await?;
    let mut v = recap(rows, "jumlah_komentar", posts);
    v["summary"]["totalComments"] = v["summary"]["totalInteractions"].clone();
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
    let ig_profile: Option<Value> = sqlx::query_scalar(
        "SELECT jsonb_build_object('username', username, 'full_name', full_name, \
           'bio', biography, 'biography', biography, 'followers', follower_count, \
           'follower_count', follower_count, 'following', following_count, \
           'following_count', following_count, 'post_count', post_count, \
           'profile_pic_url', profile_pic_url) \
         FROM insta_profile WHERE lower(username) = lower($1)",
    )
    .bind(&insta)
    .fetch_optional(&st.pool)
    .await?;
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
    let d = dash(&st)?;
    if let Err(message) = premium_check(&s.user.premium, Utc::now(), &d.premium_allowed_tiers) {
        return Err(ApiError::forbidden(message).with_extra(json!({
            "premium_tier": s.user.premium.premium_tier,
            "premium_expires_at": s.user.premium.premium_expires_at,
        })));
    }
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

async fn komplain(st: &AppState, s: &Scoped, body: &Bytes, platform: &str) -> ApiResult {
    let body = json_body(body)?;
    let nrp: String = body
        .get("nrp")
        .or_else(|| body.get("user_id"))
        .map(|v| match v {
            Value::Number(n) => n.to_string(),
            other => other.as_str().unwrap_or_default().to_owned(),
        })
        .unwrap_or_default()
        .trim()
        .to_owned();
    if nrp.is_empty() {
        return Err(ApiError::bad_request("nrp wajib diisi"));
    }
    let pick = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| field(&body, n).filter(|v| !v.trim().is_empty()))
            .map(|v| v.trim().to_owned())
    };
    let issue = pick(&[
        "issue",
        "kendala",
        "problem",
        "message",
        "pesan",
        "complaint",
        "text",
    ])
    .unwrap_or_else(|| "Kendala akses atau data tidak sesuai".to_owned());
    let solution = pick(&["solution", "solusi", "tindak_lanjut"])
        .unwrap_or_else(|| super::complaint::DEFAULT_SOLUTION.to_owned());
    if !super::users::in_reach(&st.pool, &s.user, &nrp).await? {
        return Err(ApiError::forbidden("nrp tidak termasuk client Anda"));
    }
    let person: (Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("SELECT title, nama, whatsapp FROM \"user\" WHERE user_id = $1")
            .bind(&nrp)
            .fetch_one(&st.pool)
            .await?;
    let own_wa: Option<String> = sqlx::query_scalar(
        "SELECT whatsapp::text FROM dashboard_user WHERE dashboard_user_id::text = $1",
    )
    .bind(&s.user.id)
    .fetch_optional(&st.pool)
    .await?
    .flatten();
    let reporter = [person.0.as_deref(), person.1.as_deref()]
        .into_iter()
        .flatten()
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let now = Utc::now();
    let text = super::complaint::message(
        super::complaint::jakarta_hour(now),
        if reporter.is_empty() { &nrp } else { &reporter },
        &nrp,
        &issue,
        &solution,
    );
    let stem = super::complaint::key_stem(platform, &nrp, jakarta_day(now), &issue, &solution);
    // A recipient without a usable number is reported, not an error (legacy `whatsappDelivery`).
    let mut delivery = Map::new();
    let mut jobs = Vec::new();
    for (name, raw) in [("personnel", person.2), ("dashboardUser", own_wa)] {
        let chat = raw
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| crate::whatsapp::address::chat_id(r).ok());
        match chat {
            Some(chat) => {
                jobs.push(super::complaint::job(&stem, name, &chat, &text));
                delivery.insert(name.into(), json!({"status": "queued", "chat_id": chat}));
            }
            None => {
                delivery.insert(
                    name.into(),
                    json!({"status": "skipped", "reason": "no whatsapp number"}),
                );
            }
        }
    }
    let ids = crate::platform::jobs::enqueue_many(&st.pool, &jobs)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "enqueue complaint whatsapp_send");
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
            )
        })?;
    tracing::info!(nrp = %nrp, platform, by = %s.user.username, jobs = ?ids, "dashboard complaint");
    Ok(ok(json!({
        "message": "Komplain terkirim",
        "data": {
            "nrp": nrp, "platform": platform, "issue": issue, "solution": solution,
            "message": "Komplain terkirim", "channel": "whatsapp", "text": text,
            "whatsappDelivery": delivery, "reporter": reporter,
            "dashboard": { "username": s.user.username },
        }
    })))
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
    komplain(&st, &s, &body, "instagram").await
}

/// `POST /api/dashboard/komplain/tiktok`.
pub async fn komplain_tiktok(State(st): State<Arc<AppState>>, s: Scoped, body: Bytes) -> ApiResult {
    komplain(&st, &s, &body, "tiktok").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recap_counts_like_legacy() {
        let rows = vec![
            json!({"user_id": "1", "nama": "A", "username": "a", "count": 2}),
            json!({"user_id": "2", "nama": "B", "username": "@b", "count": 1}),
            json!({"user_id": "3", "nama": "C", "username": "c", "count": 0}),
            json!({"user_id": "4", "nama": "D", "username": "", "count": 0}),
            json!({"user_id": "5", "nama": "E", "username": null, "count": 0}),
        ];
        let v = recap(rows, "jumlah_like", 2);
        assert_eq!(v["usersCount"], 5);
        assert_eq!(v["totalPosts"], 2);
        assert_eq!(v["sudahUsersCount"], 1);
        assert_eq!(v["kurangUsersCount"], 1);
        assert_eq!(v["belumUsersCount"], 3);
        assert_eq!(v["noUsernameUsersCount"], 2);
        assert_eq!(v["summary"]["distribution"]["belum"], 1);
        assert_eq!(v["data"][0]["jumlah_like"], 2);
        assert_eq!(v["data"][0]["status"], "sudah");
        assert_eq!(v["data"][1]["status"], "kurang");
        assert_eq!(v["data"][2]["status"], "belum");
        assert_eq!(v["data"][3]["status"], "no_username");
        assert!(v["data"][0].get("count").is_none());
        assert_eq!(v["chartHeight"], 320);
        let none = recap(vec![json!({"username": "a", "count": 0})], "jumlah_like", 0);
        assert_eq!(none["data"][0]["status"], "no_posts");
    }

    #[test]
    fn completion_rates() {
        assert_eq!(completion_rate(4, 6), 0.6667);
        assert_eq!(completion_rate(0, 0), 0.0);
        assert_eq!(completion_rate(6, 6), 1.0);
    }
}

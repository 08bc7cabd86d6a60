//! `GET /api/claim/pending-content?periode=&tanggal=&start_date=&end_date=`: for the
//! signed-in person and each platform, the official posts of the period (Jakarta days, the
//! recap's rule: `start_date`/`end_date` win, else `periode` harian/mingguan/bulanan/semua
//! with `tanggal`) and which of them the person has engaged with.
//!
//! The posts are those of the person's client plus those tagged for one of the person's
//! roles (`insta_post_roles` / `tiktok_post_roles`). A post is done when one of the person's
//! handles (the primary one and the portal's extra accounts) is among its stored likers
//! (Instagram) or commenters (TikTok), compared in canonical form (`domain::username`: trim,
//! one leading `@` off, lower case). `items` lists the posts still to do; the counts cover
//! all of them. Without a handle on a platform, that platform is `username_available:false`
//! with zero counts.
use std::sync::Arc;

use axum::{extract::State, http::Uri};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Person, invalid};
use crate::{
    domain::{
        time::jakarta_day,
        username::{Platform, normalize_handle},
    },
    http::{
        AppState,
        dashboard::{
            ApiResult, ok,
            scope::{Params, Window, period_window},
        },
    },
};

/// The person's client, roles and canonical handles per platform.
pub struct Subject {
    pub client_id: Option<String>,
    pub roles: Vec<String>,
    pub instagram: Vec<String>,
    pub tiktok: Vec<String>,
}

impl Subject {
    pub fn handles(&self, p: Platform) -> &[String] {
        match p {
            Platform::Instagram => &self.instagram,
            Platform::TikTok => &self.tiktok,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SubjectRow {
    client_id: Option<String>,
    insta: Option<String>,
    tiktok: Option<String>,
    roles: Vec<String>,
    ig_extra: Vec<String>,
    tt_extra: Vec<String>,
}

/// Loads what the pending list and the triage need about a person.
pub async fn subject(pool: &sqlx::PgPool, nrp: &str) -> ApiResult<Subject> {
    let row: SubjectRow = sqlx::query_as(
            "SELECT u.client_id, u.insta, u.tiktok, \
               coalesce((SELECT array_agg(DISTINCT lower(r.role_name)) FROM user_roles ur \
                 JOIN roles r ON r.role_id = ur.role_id WHERE ur.user_id = u.user_id), '{}') AS roles, \
               coalesce((SELECT array_agg(a.username ORDER BY a.position) FROM cicero.claim_social_accounts a \
                 WHERE a.user_id = u.user_id AND a.platform = 'instagram'), '{}') AS ig_extra, \
               coalesce((SELECT array_agg(a.username ORDER BY a.position) FROM cicero.claim_social_accounts a \
                 WHERE a.user_id = u.user_id AND a.platform = 'tiktok'), '{}') AS tt_extra \
             FROM \"user\" u WHERE u.user_id = $1",
        )
        .bind(nrp)
        .fetch_one(pool)
        .await?;
    let SubjectRow {
        client_id,
        insta,
        tiktok,
        roles,
        ig_extra,
        tt_extra,
    } = row;
    let canon = |primary: Option<String>, extra: Vec<String>| {
        let mut out: Vec<String> = Vec::new();
        for h in primary.into_iter().chain(extra) {
            if let Some(c) = normalize_handle(&h)
                && !out.contains(&c)
            {
                out.push(c);
            }
        }
        out
    };
    Ok(Subject {
        client_id,
        roles,
        instagram: canon(insta, ig_extra),
        tiktok: canon(tiktok, tt_extra),
    })
}

/// Instagram posts of the window in the person's scope, with whether one of `$5` liked it.
/// `lower(regexp_replace(trim(e), '^@', ''))` is `normalize_handle` in SQL.
const IG_SQL: &str = "SELECT p.shortcode, p.caption, p.created_at, \
       EXISTS (SELECT 1 FROM insta_like l, \
                 jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.likes) = 'array' \
                                           THEN l.likes ELSE '[]'::jsonb END) e \
               WHERE l.shortcode = p.shortcode \
                 AND lower(regexp_replace(trim(e), '^@', '')) = ANY($5)) AS done, \
       NULL::text AS account \
     FROM insta_post p \
     WHERE p.created_at >= $1 AND p.created_at < $2 \
       AND (lower(p.client_id) = lower($3) \
            OR EXISTS (SELECT 1 FROM insta_post_roles r \
                       WHERE r.shortcode = p.shortcode AND lower(r.role_name) = ANY($4))) \
     ORDER BY p.created_at, p.shortcode";

/// TikTok videos of the window in the person's scope, with whether one of `$5` commented,
/// and the owning client's account (for the video URL).
const TT_SQL: &str = "SELECT p.video_id, p.caption, p.created_at, \
       EXISTS (SELECT 1 FROM tiktok_comment tc, \
                 jsonb_array_elements_text(CASE WHEN jsonb_typeof(tc.comments) = 'array' \
                                           THEN tc.comments ELSE '[]'::jsonb END) e \
               WHERE tc.video_id = p.video_id \
                 AND lower(regexp_replace(trim(e), '^@', '')) = ANY($5)) AS done, \
       (SELECT nullif(lower(regexp_replace(trim(c.client_tiktok), '^@', '')), '') \
          FROM clients c WHERE c.client_id = p.client_id) AS account \
     FROM tiktok_post p \
     WHERE p.created_at >= $1 AND p.created_at < $2 \
       AND (lower(p.client_id) = lower($3) \
            OR EXISTS (SELECT 1 FROM tiktok_post_roles r \
                       WHERE r.video_id = p.video_id AND lower(r.role_name) = ANY($4))) \
     ORDER BY p.created_at, p.video_id";

type PostRow = (
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    bool,
    Option<String>,
);

/// The public URL of a post.
pub fn content_url(platform: Platform, id: &str, account: Option<&str>) -> Option<String> {
    match platform {
        Platform::Instagram => Some(format!("https://www.instagram.com/p/{id}/")),
        Platform::TikTok => account.map(|a| format!("https://www.tiktok.com/@{a}/video/{id}")),
    }
}

async fn platform_block(
    pool: &sqlx::PgPool,
    s: &Subject,
    platform: Platform,
    w: &Window,
) -> ApiResult<Value> {
    let handles = s.handles(platform);
    let usernames: Vec<String> = handles.iter().map(|h| display(platform, h)).collect();
    if handles.is_empty() {
        return Ok(json!({
            "username_available": false, "usernames": usernames,
            "total_content": 0, "completed_content": 0, "pending_content": 0,
            "items": [], "completed_ids": [],
        }));
    }
    let (sql, id_field) = match platform {
        Platform::Instagram => (IG_SQL, "shortcode"),
        Platform::TikTok => (TT_SQL, "video_id"),
    };
    let rows: Vec<PostRow> = sqlx::query_as(sql)
        .bind(w.0)
        .bind(w.1)
        .bind(s.client_id.as_deref().unwrap_or_default())
        .bind(&s.roles)
        .bind(handles)
        .fetch_all(pool)
        .await?;
    let mut items = Vec::new();
    let mut completed = Vec::new();
    for (id, caption, at, done, account) in &rows {
        if *done {
            completed.push(json!(id));
        } else {
            let mut item = json!({
                "url": content_url(platform, id, account.as_deref()),
                "caption": caption,
                "content_time": at,
            });
            item[id_field] = json!(id);
            items.push(item);
        }
    }
    Ok(json!({
        "username_available": true,
        "usernames": usernames,
        "total_content": rows.len(),
        "completed_content": completed.len(),
        "pending_content": items.len(),
        "items": items,
        "completed_ids": completed,
    }))
}

/// A canonical handle as the portal shows it: TikTok with `@`, Instagram without.
pub fn display(platform: Platform, canonical: &str) -> String {
    match platform {
        Platform::Instagram => canonical.to_owned(),
        Platform::TikTok => format!("@{canonical}"),
    }
}

/// `GET /api/claim/pending-content` → `{success, data:{user_id, timezone, filters,
/// instagram, tiktok}}`.
pub async fn pending_content(
    State(st): State<Arc<AppState>>,
    person: Person,
    uri: Uri,
) -> ApiResult {
    let p = Params::parse(uri.query());
    let window = period_window(&p, jakarta_day(Utc::now()))
        .map_err(|e| invalid("CLAIM_INVALID_DATE_FILTER", e.message))?;
    let s = subject(&st.pool, &person.nrp).await?;
    let instagram = platform_block(&st.pool, &s, Platform::Instagram, &window).await?;
    let tiktok = platform_block(&st.pool, &s, Platform::TikTok, &window).await?;
    Ok(ok(json!({
        "data": {
            "user_id": person.nrp,
            "timezone": "Asia/Jakarta",
            "filters": {
                "periode": p.get("periode").map(str::to_lowercase).unwrap_or_else(|| "harian".into()),
                "tanggal": p.get("tanggal"),
                "start_date": p.any(&["start_date", "tanggal_mulai"]),
                "end_date": p.any(&["end_date", "tanggal_selesai"]),
            },
            "window": { "start": window.0, "end": window.1 },
            "instagram": instagram,
            "tiktok": tiktok,
        }
    })))
}

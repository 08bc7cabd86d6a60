//! Exports as jobs: `POST /api/exports` enqueues `export_recap` for the caller's scope (202 +
//! job id), `GET /api/exports/{id}` polls it, `GET /api/exports/{id}/file` downloads the
//! workbook. The dashboard's synchronous downloads (`GET /api/amplify/rekap/excel`,
//! `/api/dashboard/anev/export`, `/api/link-reports/excel`,
//! `/api/link-reports[-khusus]/excel/by-user-shortcode`) enqueue the same job and answer with
//! the file when it is done. The queries of the legacy workbooks live here too (they build on
//! the members/posts rule of `scope_ctes!`); the job (`work::export_recap`) runs them.
use std::{sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use sqlx::Row;

use cicero_jobs::export_recap::{ExportKind, ExportRecap, RankingPeriod};

use super::{
    ApiError, ApiResult,
    auth::DashUser,
    data::rule_json_with,
    ok,
    scope::{Params, Scoped, Window, anev_window, period_window},
};
use crate::{
    domain::time::jakarta_day,
    http::AppState,
    platform::jobs::{NewJob, enqueue, enqueue_many},
    work::export_recap::period::{all_data_months, ranking_days},
};

/// Post ids of the period, oldest first (the per-content columns).
pub const IG_POST_IDS_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT to_jsonb(p.shortcode::text) FROM posts p ORDER BY p.created_at, p.shortcode"
);

pub const TT_POST_IDS_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT to_jsonb(p.video_id::text) FROM tposts p ORDER BY p.created_at, p.video_id"
);

/// Per active member, the period's posts they liked (`done`), matched by handle as the likes
/// recap does (likers expanded once, then joined).
pub const LIKES_PER_CONTENT_SQL: &str = concat!(
    scope_ctes!(),
    likers_cte!(),
    "hits AS ( \
       SELECT m.user_id, jsonb_agg(DISTINCT l.shortcode::text) AS done \
       FROM members m JOIN likers l \
         ON nullif(trim(m.insta), '') IS NOT NULL AND l.handle = lower(replace(trim(m.insta), '@', '')) \
       GROUP BY m.user_id) \
     SELECT jsonb_build_object('user_id', m.user_id, 'title', m.title, 'nama', m.nama, \
       'divisi', m.divisi, 'client_id', m.client_id, 'client_name', m.client_name, \
       'done', coalesce(h.done, '[]'::jsonb)) \
     FROM members m LEFT JOIN hits h ON h.user_id = m.user_id \
     WHERE m.status ORDER BY upper(m.nama), m.user_id"
);

/// Per active member, the period's TikTok videos they commented on (`done`).
pub const COMMENTS_PER_CONTENT_SQL: &str = concat!(
    scope_ctes!(),
    commenters_cte!(),
    "hits AS ( \
       SELECT m.user_id, jsonb_agg(DISTINCT c.video_id::text) AS done \
       FROM members m JOIN commenters c \
         ON nullif(trim(m.tiktok), '') IS NOT NULL AND c.handle = lower(ltrim(trim(m.tiktok), '@')) \
       GROUP BY m.user_id) \
     SELECT jsonb_build_object('user_id', m.user_id, 'title', m.title, 'nama', m.nama, \
       'divisi', m.divisi, 'client_id', m.client_id, 'client_name', m.client_name, \
       'done', coalesce(h.done, '[]'::jsonb)) \
     FROM members m LEFT JOIN hits h ON h.user_id = m.user_id \
     WHERE m.status ORDER BY upper(m.nama), m.user_id"
);

/// The link reports made in the window by the scope's members for the client's posts (or, in
/// directorate mode, posts tagged for the role), oldest first (legacy
/// `getReportsThisMonthByClient`, which took the month of `created_at` in Jakarta).
pub const LINK_REPORT_MONTH_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT jsonb_build_object('date', to_char(r.created_at AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD'), \
       'title', m.title, 'nama', m.nama, 'user_id', m.user_id, 'divisi', m.divisi, \
       'instagram_link', r.instagram_link, 'facebook_link', r.facebook_link, \
       'twitter_link', r.twitter_link, 'tiktok_link', r.tiktok_link, 'youtube_link', r.youtube_link) \
     FROM link_report r JOIN members m ON m.user_id = r.user_id \
     WHERE r.created_at >= $6::timestamptz AND r.created_at < $7::timestamptz \
       AND EXISTS (SELECT 1 FROM insta_post p WHERE p.shortcode = r.shortcode \
             AND (lower(p.client_id) = lower($5::text) OR ($2::bool AND EXISTS ( \
                   SELECT 1 FROM insta_post_roles pr \
                   WHERE pr.shortcode = p.shortcode AND lower(pr.role_name) = lower($5::text))))) \
     ORDER BY r.created_at, r.user_id, r.shortcode"
);

/// The same from `link_report_khusus` (special posts, `insta_post_khusus`).
pub const LINK_REPORT_KHUSUS_MONTH_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT jsonb_build_object('date', to_char(r.created_at AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD'), \
       'title', m.title, 'nama', m.nama, 'user_id', m.user_id, 'divisi', m.divisi, \
       'instagram_link', r.instagram_link, 'facebook_link', r.facebook_link, \
       'twitter_link', r.twitter_link, 'tiktok_link', r.tiktok_link, 'youtube_link', r.youtube_link) \
     FROM link_report_khusus r JOIN members m ON m.user_id = r.user_id \
     WHERE r.created_at >= $6::timestamptz AND r.created_at < $7::timestamptz \
       AND EXISTS (SELECT 1 FROM insta_post_khusus p WHERE p.shortcode = r.shortcode \
             AND lower(p.client_id) = lower($5::text)) \
     ORDER BY r.created_at, r.user_id, r.shortcode"
);

/// One member's (`$8`) reports for one post (`$9`; shortcodes are case-sensitive), with the
/// post's caption.
pub const LINK_REPORT_DETAIL_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT jsonb_build_object('user_id', m.user_id, 'title', m.title, 'nama', m.nama, \
       'username', m.insta, 'divisi', m.divisi, 'client_id', m.client_id, 'shortcode', r.shortcode, \
       'instagram_link', r.instagram_link, 'facebook_link', r.facebook_link, \
       'twitter_link', r.twitter_link, 'tiktok_link', r.tiktok_link, 'youtube_link', r.youtube_link, \
       'created_at', to_char(r.created_at AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD\"T\"HH24:MI:SS'), \
       'caption', (SELECT p.caption FROM insta_post p WHERE p.shortcode = r.shortcode LIMIT 1)) \
     FROM link_report r JOIN members m ON m.user_id = r.user_id \
     WHERE r.user_id = $8::text AND r.shortcode = $9::text \
     ORDER BY r.created_at"
);

pub const LINK_REPORT_DETAIL_KHUSUS_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT jsonb_build_object('user_id', m.user_id, 'title', m.title, 'nama', m.nama, \
       'username', m.insta, 'divisi', m.divisi, 'client_id', m.client_id, 'shortcode', r.shortcode, \
       'instagram_link', r.instagram_link, 'facebook_link', r.facebook_link, \
       'twitter_link', r.twitter_link, 'tiktok_link', r.tiktok_link, 'youtube_link', r.youtube_link, \
       'created_at', to_char(r.created_at AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD\"T\"HH24:MI:SS'), \
       'caption', (SELECT p.caption FROM insta_post_khusus p WHERE p.shortcode = r.shortcode LIMIT 1)) \
     FROM link_report_khusus r JOIN members m ON m.user_id = r.user_id \
     WHERE r.user_id = $8::text AND r.shortcode = $9::text \
     ORDER BY r.created_at"
);

/// How long the synchronous download waits for its job before answering 504.
const WAIT: Duration = Duration::from_secs(120);

fn kind_of(raw: Option<&str>) -> ApiResult<ExportKind> {
    raw.and_then(ExportKind::parse).ok_or_else(|| {
        let names: Vec<&str> = ExportKind::ALL.iter().map(|k| k.name()).collect();
        ApiError::bad_request(format!("kind harus salah satu dari: {}", names.join(", ")))
    })
}

/// The kind-specific part of an export's payload.
#[derive(Debug, Clone, Default, PartialEq)]
struct Extra {
    period: Option<RankingPeriod>,
    user_id: Option<String>,
    shortcode: Option<String>,
}

/// The month of a link-report workbook: `tanggal` (`YYYY-MM` or a date in it), default this
/// month (Jakarta).
fn month_window(p: &Params, today: NaiveDate) -> ApiResult<Window> {
    let mut q = p.clone();
    q.0.insert("periode".into(), "bulanan".into());
    for k in ["tanggal_mulai", "start_date", "tanggal_selesai", "end_date"] {
        q.0.remove(k);
    }
    if let Some(b) = p.get("bulan") {
        q.0.entry("tanggal".into()).or_insert_with(|| b.to_owned());
    }
    period_window(&q, today)
}

/// The window and kind-specific fields of an export, from the request (400 on bad input).
async fn resolve(st: &AppState, s: &Scoped, kind: ExportKind) -> ApiResult<(Window, Extra)> {
    let today = jakarta_day(chrono::Utc::now());
    let mut extra = Extra::default();
    let w = match kind {
        ExportKind::Anev => {
            super::data::premium_guard(st, &s.user)?;
            anev_window(&s.params, today)?.3
        }
        ExportKind::EngagementRanking => {
            let raw = s.params.get("period").unwrap_or("today");
            let period = RankingPeriod::parse(raw).ok_or_else(|| {
                let names: Vec<&str> = RankingPeriod::ALL.iter().map(|p| p.name()).collect();
                ApiError::bad_request(format!(
                    "period {raw:?} tidak dikenal ({})",
                    names.join(", ")
                ))
            })?;
            extra.period = Some(period);
            let (first, last) = ranking_days(period, today);
            super::scope::days(first, last)?
        }
        ExportKind::LinkReport | ExportKind::LinkReportKhusus => month_window(&s.params, today)?,
        ExportKind::LinkReportDetail | ExportKind::LinkReportDetailKhusus => {
            let (Some(user_id), Some(shortcode)) =
                (s.params.get("user_id"), s.params.get("shortcode"))
            else {
                return Err(ApiError::bad_request("user_id dan shortcode wajib diisi"));
            };
            extra.user_id = Some(user_id.to_owned());
            extra.shortcode = Some(shortcode.to_owned());
            let w = super::scope::days(today, today)?;
            let sql = if kind == ExportKind::LinkReportDetailKhusus {
                LINK_REPORT_DETAIL_KHUSUS_SQL
            } else {
                LINK_REPORT_DETAIL_SQL
            };
            // Only a report of a person within the caller's scope is found.
            let rows = rule_json_with(&st.pool, sql, &s.rule(), &w, &[user_id, shortcode]).await?;
            if rows.is_empty() {
                return Err(ApiError::not_found(
                    "Data pelaksanaan tugas tidak ditemukan untuk user_id + shortcode tersebut.",
                ));
            }
            w
        }
        ExportKind::InstagramAllData | ExportKind::TiktokAllData => {
            let months = all_data_months(today);
            let first = months.first().copied().unwrap_or(today);
            let last = today
                .with_day(1)
                .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
                .and_then(|d| d.pred_opt())
                .unwrap_or(today);
            super::scope::days(first, last)?
        }
        ExportKind::Likes
        | ExportKind::Comments
        | ExportKind::Amplify
        | ExportKind::LikesPerContent
        | ExportKind::CommentsPerContent => period_window(&s.params, today)?,
    };
    Ok((w, extra))
}

async fn start(st: &AppState, s: &Scoped, kind: ExportKind) -> ApiResult<i64> {
    let ((start, end), extra) = resolve(st, s, kind).await?;
    let rule = s.rule();
    let payload = ExportRecap {
        kind,
        client_id: rule.client_id,
        directorate: rule.directorate,
        role_filter: rule.role_filter,
        regional_id: rule.regional_id,
        post_owner: rule.post_owner,
        start,
        end,
        requested_by: Some(s.user.id.clone()),
        period: extra.period,
        user_id: extra.user_id,
        shortcode: extra.shortcode,
    };
    let payload = serde_json::to_value(&payload).map_err(ApiError::internal)?;
    let job = enqueue(&st.pool, &NewJob::new("export_recap", payload)).await?;
    Ok(job.id)
}

/// `POST /api/exports?kind=<kind>&<the recap query>` (or `{kind}` in the body) → 202
/// `{job_id, status_url, file_url}`. Kind-specific query: `period` (engagement_ranking),
/// `tanggal=YYYY-MM` (link_report), `user_id` and `shortcode` (link_report_detail),
/// `time_range` (anev).
pub async fn create(State(st): State<Arc<AppState>>, s: Scoped, body: Bytes) -> ApiResult {
    let body_kind = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("kind").and_then(Value::as_str).map(str::to_owned));
    let kind = kind_of(s.params.get("kind").or(body_kind.as_deref()))?;
    let id = start(&st, &s, kind).await?;
    let mut res = ok(json!({
        "job_id": id,
        "id": id,
        "kind": kind.name(),
        "state": "pending",
        "status_url": format!("/api/exports/{id}"),
        "file_url": format!("/api/exports/{id}/file"),
    }));
    *res.status_mut() = StatusCode::ACCEPTED;
    Ok(res)
}

struct ExportJob {
    state: String,
    progress: Option<Value>,
    last_error: Option<String>,
    result: Option<Value>,
}

/// An export job the caller may see (its requester, or an admin).
async fn owned(st: &AppState, user: &DashUser, id: i64) -> ApiResult<ExportJob> {
    let row = sqlx::query(
        "SELECT state, progress, last_error, result, payload->>'requested_by' AS requested_by \
         FROM cicero.jobs WHERE id = $1 AND kind IN ('export_recap', 'import_users')",
    )
    .bind(id)
    .fetch_optional(&st.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Export tidak ditemukan"))?;
    let by: Option<String> = row.try_get("requested_by")?;
    if !user.is_admin() && by.as_deref() != Some(user.id.as_str()) {
        return Err(ApiError::forbidden("Export milik pengguna lain"));
    }
    Ok(ExportJob {
        state: row.try_get("state")?,
        progress: row.try_get("progress")?,
        last_error: row.try_get("last_error")?,
        result: row.try_get("result")?,
    })
}

/// `GET /api/exports/{id}`: `{data:{id, state, progress, error, file_url}}`.
pub async fn status(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    Path(id): Path<i64>,
) -> ApiResult {
    let j = owned(&st, &user, id).await?;
    let file = (j.state == "done"
        && j.result
            .as_ref()
            .is_some_and(|r| r.get("file_url").is_some()))
    .then(|| format!("/api/exports/{id}/file"));
    Ok(ok(json!({ "data": {
        "id": id, "state": j.state, "progress": j.progress, "error": j.last_error, "file_url": file,
        "result": j.result,
    }})))
}

async fn file_response(st: &AppState, id: i64) -> ApiResult {
    let row = sqlx::query(
        "SELECT file_name, content_type, content FROM cicero.job_files WHERE job_id = $1",
    )
    .bind(id)
    .fetch_optional(&st.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("File export tidak ada"))?;
    let name: String = row.try_get("file_name")?;
    let ctype: String = row.try_get("content_type")?;
    let content: Vec<u8> = row.try_get("content")?;
    // Both forms, so any client finds the name (the dashboard's regex accepts either).
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        name.replace('"', ""),
        name.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' =>
                    (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    );
    Ok((
        [
            (header::CONTENT_TYPE, ctype),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from(content),
    )
        .into_response())
}

/// `GET /api/exports/{id}/file`: the workbook; 409 while the job is not done.
pub async fn file(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    Path(id): Path<i64>,
) -> ApiResult {
    let j = owned(&st, &user, id).await?;
    if j.state != "done" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("Export belum selesai (state {})", j.state),
        ));
    }
    file_response(&st, id).await
}

/// `GET /api/amplify/rekap/excel?<the amplify recap query>`: enqueues the export and answers
/// with the file when the job is done (the dashboard has no polling), 504 after 2 minutes
/// (the file stays available at `/api/exports/{id}/file`).
pub async fn amplify_excel(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult<Response> {
    let id = start(&st, &s, ExportKind::Amplify).await?;
    wait_and_send(&st, &s, id).await
}

/// `GET /api/dashboard/anev/export?<the anev query>[&section=]`: the ANEV table as xlsx, behind
/// the same premium guard as `/api/dashboard/anev`, through the export job.
pub async fn anev_excel(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult<Response> {
    let id = start(&st, &s, ExportKind::Anev).await?;
    wait_and_send(&st, &s, id).await
}

/// `GET /api/link-reports/excel?client_id=[&tanggal=YYYY-MM]` (legacy §2.8): the month's link
/// reports (`<client>_<Bulan>.xlsx`, `Sheet1`), this month by default.
pub async fn link_reports_excel(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult<Response> {
    let id = start(&st, &s, ExportKind::LinkReport).await?;
    wait_and_send(&st, &s, id).await
}

/// `GET /api/link-reports/excel/by-user-shortcode?user_id=&shortcode=&client_id=`: one
/// person's report for one post (404 when there is none within the caller's scope).
pub async fn link_report_detail_excel(
    State(st): State<Arc<AppState>>,
    s: Scoped,
) -> ApiResult<Response> {
    let id = start(&st, &s, ExportKind::LinkReportDetail).await?;
    wait_and_send(&st, &s, id).await
}

/// `GET /api/link-reports-khusus/excel/by-user-shortcode?…`: the same from `link_report_khusus`.
pub async fn link_report_detail_khusus_excel(
    State(st): State<Arc<AppState>>,
    s: Scoped,
) -> ApiResult<Response> {
    let id = start(&st, &s, ExportKind::LinkReportDetailKhusus).await?;
    wait_and_send(&st, &s, id).await
}

/// The ANEV premium wall (legacy `dashboardPremiumGuard`).
async fn wait_and_send(st: &AppState, s: &Scoped, id: i64) -> ApiResult<Response> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let j = owned(st, &s.user, id).await?;
        match j.state.as_str() {
            "done" => return file_response(st, id).await,
            "failed" | "cancelled" => {
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "Export gagal: {}",
                        j.last_error.unwrap_or_else(|| j.state.clone())
                    ),
                ));
            }
            _ if tokio::time::Instant::now() >= deadline => {
                return Err(ApiError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!("Export masih berjalan; unduh nanti dari /api/exports/{id}/file"),
                ));
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// `POST /api/users/import?client_id=` with the .xlsx as the body (at most 2 MB): the file is
/// stored with an `import_users` job in one transaction; 202 `{job_id, status_url}`. The
/// result (`GET /api/users/import/{id}`) lists rejected rows; nothing is half-imported.
pub async fn import_users(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
    body: Bytes,
) -> ApiResult {
    let params = super::scope::Params::parse(q.as_deref());
    let wanted = params
        .get("client_id")
        .map(str::to_owned)
        .or_else(|| user.client_id().map(str::to_owned))
        .ok_or_else(|| ApiError::bad_request("client_id wajib diisi"))?;
    if !super::scope::may_access(&user, &wanted, &user.role) {
        return Err(ApiError::forbidden("client_id tidak diizinkan"));
    }
    let client_id: String = sqlx::query_scalar(
        "SELECT client_id FROM clients WHERE lower(client_id) = lower($1) LIMIT 1",
    )
    .bind(&wanted)
    .fetch_optional(&st.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Client tidak ditemukan"))?;
    // An xlsx is a zip archive.
    if !body.starts_with(b"PK") {
        return Err(ApiError::bad_request(
            "kirim file .xlsx sebagai isi request",
        ));
    }
    let role = super::scope::ROLE_FILTERS
        .contains(&user.role.as_str())
        .then(|| user.role.clone());
    let payload = json!({
        "client_id": client_id, "role": role, "reach_clients": user.client_ids,
        "admin": user.is_admin(), "requested_by": user.id,
    });
    // The job and its file commit together, so no worker can claim a job without its file.
    // (`enqueue_many` takes an executor; the `Acquire` of `enqueue` is not `Send` here.)
    let mut tx = st.pool.begin().await?;
    let id = enqueue_many(&mut *tx, &[NewJob::new("import_users", payload)])
        .await?
        .first()
        .copied()
        .ok_or_else(|| ApiError::internal("import_users was not enqueued"))?;
    sqlx::query(
        "INSERT INTO cicero.job_files (job_id, file_name, content_type, content) \
         VALUES ($1, 'import.xlsx', $2, $3)",
    )
    .bind(id)
    .bind(crate::work::export_recap::XLSX)
    .bind(body.as_ref())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut res = ok(json!({
        "job_id": id, "id": id, "state": "pending",
        "status_url": format!("/api/users/import/{id}"),
    }));
    *res.status_mut() = StatusCode::ACCEPTED;
    Ok(res)
}

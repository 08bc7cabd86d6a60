//! Exports as jobs: `POST /api/exports` enqueues `export_recap` for the caller's scope (202 +
//! job id), `GET /api/exports/{id}` polls it, `GET /api/exports/{id}/file` downloads the
//! workbook. The dashboard's synchronous `GET /api/amplify/rekap/excel` enqueues the same job
//! and streams the file when it is done.
use std::{sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use sqlx::Row;

use cicero_jobs::export_recap::{ExportKind, ExportRecap};

use super::{
    ApiError, ApiResult,
    auth::DashUser,
    auth::premium_check,
    dash, ok,
    scope::{Scoped, Window, anev_window, period_window},
};
use crate::{
    domain::time::jakarta_day,
    http::AppState,
    platform::jobs::{NewJob, enqueue, enqueue_many},
};

/// How long the synchronous download waits for its job before answering 504.
const WAIT: Duration = Duration::from_secs(120);

fn kind_of(raw: Option<&str>) -> ApiResult<ExportKind> {
    match raw.map(str::to_lowercase).as_deref() {
        Some("likes") => Ok(ExportKind::Likes),
        Some("comments") => Ok(ExportKind::Comments),
        Some("amplify") => Ok(ExportKind::Amplify),
        Some("anev") => Ok(ExportKind::Anev),
        _ => Err(ApiError::bad_request(
            "kind harus likes, comments, amplify atau anev",
        )),
    }
}

async fn start(st: &AppState, s: &Scoped, kind: ExportKind, w: Window) -> ApiResult<i64> {
    let (start, end) = w;
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
    };
    let payload = serde_json::to_value(&payload).map_err(|e| {
        tracing::error!(error = %e, "export payload");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    })?;
    let job = enqueue(&st.pool, &NewJob::new("export_recap", payload))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "enqueue export");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        })?;
    Ok(job.id)
}

/// `POST /api/exports?kind=likes|comments|amplify&<the recap query>` (or `{kind}` in the
/// body) → 202 `{job_id, status_url, file_url}`.
pub async fn create(State(st): State<Arc<AppState>>, s: Scoped, body: Bytes) -> ApiResult {
    let body_kind = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("kind").and_then(Value::as_str).map(str::to_owned));
    let kind = kind_of(s.params.get("kind").or(body_kind.as_deref()))?;
    let today = jakarta_day(chrono::Utc::now());
    let w = if kind == ExportKind::Anev {
        premium_guard(&st, &s)?;
        anev_window(&s.params, today)?.3
    } else {
        period_window(&s.params, today)?
    };
    let id = start(&st, &s, kind, w).await?;
    let mut res = ok(json!({
        "job_id": id,
        "id": id,
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
    let w = period_window(&s.params, jakarta_day(chrono::Utc::now()))?;
    let id = start(&st, &s, ExportKind::Amplify, w).await?;
    wait_and_send(&st, &s, id).await
}

/// `GET /api/dashboard/anev/export?<the anev query>[&section=]`: the ANEV table as xlsx, behind
/// the same premium guard as `/api/dashboard/anev`, through the export job.
pub async fn anev_excel(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult<Response> {
    premium_guard(&st, &s)?;
    let (_, _, _, w) = anev_window(&s.params, jakarta_day(chrono::Utc::now()))?;
    let id = start(&st, &s, ExportKind::Anev, w).await?;
    wait_and_send(&st, &s, id).await
}

/// The ANEV premium wall (legacy `dashboardPremiumGuard`).
fn premium_guard(st: &AppState, s: &Scoped) -> ApiResult<()> {
    let d = dash(st)?;
    premium_check(
        &s.user.premium,
        chrono::Utc::now(),
        &d.premium_allowed_tiers,
    )
    .map_err(ApiError::forbidden)
}

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
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "enqueue import");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        })?
        .first()
        .copied()
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))?;
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

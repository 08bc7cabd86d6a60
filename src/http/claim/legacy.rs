//! The legacy claim endpoints (§2.2, §4(e); the Feb-2026 client): `POST /api/claim/request-otp`,
//! `POST /api/claim/verify-otp`, `POST /api/claim/user-data`, `PUT /api/claim/update` and
//! `POST /api/claim/validate-email`. Public. The code is generated and mailed by an `email_otp`
//! job, so the request answers 202 at once; a correct code marks the NRP verified for 10
//! minutes (Redis), which user-data and update require.
use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{post, put},
};
use serde::Deserialize;
use serde_json::json;

use crate::http::{AppState, error, internal};
use crate::{
    dns,
    domain::claim,
    otp::{self, Verify},
    platform::jobs::{self, NewJob},
};

pub const PURPOSE: &str = "claim";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/claim/request-otp", post(request_otp))
        .route("/api/claim/verify-otp", post(verify_otp))
        .route("/api/claim/user-data", post(user_data))
        .route("/api/claim/update", put(update))
        .route("/api/claim/validate-email", post(validate_email))
}

#[derive(Debug, Deserialize)]
struct Claim {
    nrp: Option<serde_json::Value>,
    email: Option<String>,
    otp: Option<serde_json::Value>,
}

/// NRP digits only, email trimmed and lower-cased (legacy).
/// Bad input is a 400 with the message.
fn normalise(c: &Claim) -> Result<(String, String), String> {
    let nrp: String = match &c.nrp {
        Some(serde_json::Value::String(s)) => s.chars().filter(char::is_ascii_digit).collect(),
        Some(serde_json::Value::Number(n)) => {
            n.to_string().chars().filter(char::is_ascii_digit).collect()
        }
        _ => String::new(),
    };
    let email = c.email.as_deref().unwrap_or_default().trim().to_lowercase();
    if nrp.is_empty() || email.is_empty() {
        return Err("nrp dan email wajib diisi".into());
    }
    if claim::email_domain(&email).is_none() {
        return Err("format email tidak valid".into());
    }
    Ok((nrp, email))
}

fn parse(body: &Bytes) -> Result<Claim, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

async fn request_otp(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let (nrp, email) = match parse(&body).and_then(|c| normalise(&c)) {
        Ok(v) => v,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let user: Option<(String, Option<String>)> =
        match sqlx::query_as("SELECT user_id, email FROM \"user\" WHERE user_id = $1")
            .bind(&nrp)
            .fetch_optional(&st.pool)
            .await
        {
            Ok(u) => u,
            Err(e) => return internal(e),
        };
    let user_email = match user {
        Some((_, e)) => e,
        None => {
            let by_email: Option<String> = match sqlx::query_scalar(
                "SELECT user_id FROM \"user\" WHERE lower(trim(email)) = $1 LIMIT 1",
            )
            .bind(&email)
            .fetch_optional(&st.pool)
            .await
            {
                Ok(u) => u,
                Err(e) => return internal(e),
            };
            return match by_email {
                Some(_) => error(StatusCode::CONFLICT, "email sudah terdaftar pada NRP lain"),
                None => error(StatusCode::NOT_FOUND, "User tidak ditemukan"),
            };
        }
    };
    if let Some(existing) = user_email
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        && existing != email
    {
        return error(StatusCode::BAD_REQUEST, "email tidak sesuai");
    }
    let not_after = chrono::Utc::now() + chrono::Duration::from_std(otp::TTL).unwrap_or_default();
    let job = NewJob::new(
        "email_otp",
        json!({"email": email, "purpose": PURPOSE, "subject": nrp, "not_after": not_after}),
    );
    match jobs::enqueue(&st.pool, &job).await {
        Ok(r) => (
            StatusCode::ACCEPTED,
            Json(
                json!({"success": true, "message": "OTP akan dikirim sesaat lagi", "job_id": r.id}),
            ),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

async fn verify_otp(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let (claim, (nrp, email)) = match parse(&body).and_then(|c| normalise(&c).map(|v| (c, v))) {
        Ok(v) => v,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let code = match otp_code(&claim) {
        Ok(c) => c,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let Some(redis) = st.redis.as_ref() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "OTP store (Redis) is not configured",
        );
    };
    let outcome = match otp::verify(redis, PURPOSE, &nrp, &email, &code).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "redis");
            return error(StatusCode::SERVICE_UNAVAILABLE, "OTP store unavailable");
        }
    };
    match outcome {
        Verify::Valid => {
            // A user without an email keeps the verified one (legacy).
            if let Err(e) = sqlx::query(
                "UPDATE \"user\" SET email = $2, updated_at = now()
                  WHERE user_id = $1 AND (email IS NULL OR trim(email) = '')",
            )
            .bind(&nrp)
            .bind(&email)
            .execute(&st.pool)
            .await
            {
                return internal(e);
            }
            Json(json!({"success": true, "message": "OTP valid", "verified": true})).into_response()
        }
        other => verify_error(other),
    }
}

/// The profile columns the claim endpoints show and change.
const USER_COLUMNS: &str = "user_id, nama, title, divisi, jabatan, desa, insta, tiktok, whatsapp, email, client_id, status";

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct Profile {
    user_id: String,
    nama: Option<String>,
    title: Option<String>,
    divisi: Option<String>,
    jabatan: Option<String>,
    desa: Option<String>,
    insta: Option<String>,
    tiktok: Option<String>,
    whatsapp: Option<String>,
    email: Option<String>,
    client_id: Option<String>,
    status: Option<bool>,
}

fn redis_down(e: redis::RedisError) -> Response {
    tracing::error!(error = %e, "redis");
    error(StatusCode::SERVICE_UNAVAILABLE, "OTP store unavailable")
}

/// Whether `nrp` was verified with `email` within the last 10 minutes; `Err`: the 503 message.
async fn is_verified(st: &AppState, nrp: &str, email: &str) -> Result<bool, &'static str> {
    let Some(redis) = st.redis.as_ref() else {
        return Err("OTP store (Redis) is not configured");
    };
    match otp::verified_email(redis, PURPOSE, nrp).await {
        Ok(got) => Ok(got.as_deref() == Some(email)),
        Err(e) => {
            tracing::error!(error = %e, "redis");
            Err("OTP store unavailable")
        }
    }
}

async fn user_data(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let (nrp, email) = match parse(&body).and_then(|c| normalise(&c)) {
        Ok(v) => v,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    match is_verified(&st, &nrp, &email).await {
        Ok(true) => {}
        Ok(false) => return error(StatusCode::FORBIDDEN, "OTP belum diverifikasi"),
        Err(m) => return error(StatusCode::SERVICE_UNAVAILABLE, m),
    }
    let sql = format!("SELECT {USER_COLUMNS} FROM \"user\" WHERE user_id = $1");
    match sqlx::query_as::<_, Profile>(sqlx::AssertSqlSafe(sql))
        .bind(&nrp)
        .fetch_optional(&st.pool)
        .await
    {
        Ok(Some(p)) => Json(json!({"success": true, "data": p})).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "User tidak ditemukan"),
        Err(e) => internal(e),
    }
}

#[derive(Debug, Deserialize)]
struct Update {
    nrp: Option<serde_json::Value>,
    email: Option<String>,
    otp: Option<serde_json::Value>,
    nama: Option<String>,
    title: Option<String>,
    divisi: Option<String>,
    jabatan: Option<String>,
    desa: Option<String>,
    insta: Option<String>,
    tiktok: Option<String>,
    whatsapp: Option<String>,
}

/// A text field: absent or null keeps the stored value; trimmed.
fn text(v: &Option<String>) -> Option<String> {
    v.as_deref().map(|s| s.trim().to_string())
}

/// A handle or number field: absent, null or empty keeps the stored value; otherwise validated.
fn checked(
    v: &Option<String>,
    check: fn(&str) -> Result<String, String>,
) -> Result<Option<String>, String> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => check(s).map(Some),
        None => Ok(None),
    }
}

async fn update(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let u: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    let ids = Claim {
        nrp: u.nrp.clone(),
        email: u.email.clone(),
        otp: u.otp.clone(),
    };
    let (nrp, email) = match normalise(&ids) {
        Ok(v) => v,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let (insta, tiktok, whatsapp) = match (
        checked(&u.insta, claim::insta_handle),
        checked(&u.tiktok, claim::tiktok_handle),
        checked(&u.whatsapp, claim::whatsapp_number),
    ) {
        (Ok(i), Ok(t), Ok(w)) => (i, t, w),
        (Err(m), _, _) | (_, Err(m), _) | (_, _, Err(m)) => {
            return error(StatusCode::BAD_REQUEST, m);
        }
    };
    // Verified within 10 minutes, or a valid code in the body (legacy).
    match is_verified(&st, &nrp, &email).await {
        Ok(true) => {}
        Ok(false) if u.otp.is_some() => {
            let code = match otp_code(&ids) {
                Ok(c) => c,
                Err(m) => return error(StatusCode::BAD_REQUEST, m),
            };
            let Some(redis) = st.redis.as_ref() else {
                return error(StatusCode::SERVICE_UNAVAILABLE, "OTP store unavailable");
            };
            match otp::verify(redis, PURPOSE, &nrp, &email, &code).await {
                Ok(Verify::Valid) => {}
                Ok(other) => return verify_error(other),
                Err(e) => return redis_down(e),
            }
        }
        Ok(false) => return error(StatusCode::FORBIDDEN, "OTP belum diverifikasi"),
        Err(m) => return error(StatusCode::SERVICE_UNAVAILABLE, m),
    }
    let sql = format!(
        "UPDATE \"user\" SET nama = COALESCE($2, nama), title = COALESCE($3, title),
                divisi = COALESCE($4, divisi), jabatan = COALESCE($5, jabatan),
                desa = COALESCE($6, desa), insta = COALESCE($7, insta),
                tiktok = COALESCE($8, tiktok), whatsapp = COALESCE($9, whatsapp),
                updated_at = now()
          WHERE user_id = $1
      RETURNING {USER_COLUMNS}"
    );
    let updated = sqlx::query_as::<_, Profile>(sqlx::AssertSqlSafe(sql))
        .bind(&nrp)
        .bind(text(&u.nama))
        .bind(text(&u.title))
        .bind(text(&u.divisi))
        .bind(text(&u.jabatan))
        .bind(text(&u.desa))
        .bind(insta)
        .bind(tiktok)
        .bind(whatsapp)
        .fetch_optional(&st.pool)
        .await;
    let profile = match updated {
        Ok(Some(p)) => p,
        Ok(None) => return error(StatusCode::NOT_FOUND, "User tidak ditemukan"),
        Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("23505") => {
            return error(
                StatusCode::CONFLICT,
                "username atau nomor sudah dipakai akun lain",
            );
        }
        Err(e) => return internal(e),
    };
    if let Some(redis) = st.redis.as_ref()
        && let Err(e) = otp::extend_verified(redis, PURPOSE, &nrp, &email).await
    {
        return redis_down(e);
    }
    Json(json!({"success": true, "message": "Data berhasil diperbarui", "data": profile}))
        .into_response()
}

/// The 6-digit code of a body (`"123456"` or `123456`), else the 400 message.
fn otp_code(c: &Claim) -> Result<String, &'static str> {
    let code = match &c.otp {
        Some(serde_json::Value::String(s)) => s.trim().to_string(),
        Some(serde_json::Value::Number(n)) => format!("{:06}", n.as_u64().unwrap_or(u64::MAX)),
        _ => String::new(),
    };
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err("otp harus 6 digit");
    }
    Ok(code)
}

/// The answer to a code that did not verify.
fn verify_error(v: Verify) -> Response {
    match v {
        Verify::Valid => error(StatusCode::INTERNAL_SERVER_ERROR, "unexpected"),
        Verify::Wrong(left) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"success": false, "message": "OTP salah", "attempts_left": left})),
        )
            .into_response(),
        Verify::Locked => error(StatusCode::BAD_REQUEST, "OTP salah 3 kali; minta OTP baru"),
        Verify::Missing => error(
            StatusCode::BAD_REQUEST,
            "OTP tidak ditemukan atau kedaluwarsa",
        ),
        Verify::EmailMismatch => error(StatusCode::BAD_REQUEST, "email tidak sesuai"),
    }
}

#[derive(Debug, Deserialize)]
struct EmailOnly {
    email: Option<String>,
}

async fn validate_email(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let e: EmailOnly = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(err) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {err}")),
    };
    let email = e.email.as_deref().unwrap_or_default().trim().to_lowercase();
    if email.is_empty() {
        return error(StatusCode::BAD_REQUEST, "email wajib diisi");
    }
    let Some(domain) = claim::email_domain(&email) else {
        return error(StatusCode::BAD_REQUEST, "format email tidak valid");
    };
    let configured = st
        .messaging
        .as_ref()
        .and_then(|m| m.dns_resolver.as_deref());
    let Some(server) = dns::resolver(configured) else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "layanan DNS tidak tersedia",
        );
    };
    match dns::lookup_mx(&server, domain).await {
        Ok(dns::Mx::Found) => {}
        Ok(dns::Mx::None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "domain email tidak memiliki MX record",
            );
        }
        Err(m) => {
            tracing::warn!(error = %m, "MX lookup failed");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "layanan DNS tidak tersedia",
            );
        }
    }
    let deactivated: bool = match sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM \"user\" WHERE lower(trim(email)) = $1 AND status = false)",
    )
    .bind(&email)
    .fetch_one(&st.pool)
    .await
    {
        Ok(b) => b,
        Err(e) => return internal(e),
    };
    if deactivated {
        return error(StatusCode::FORBIDDEN, "email milik akun yang dinonaktifkan");
    }
    Json(json!({"success": true, "message": "Email valid"})).into_response()
}

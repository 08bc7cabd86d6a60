//! Portal password reset in three steps:
//!
//! 1. `POST /api/claim/password-reset/request {nrp, email?}`: a row in
//!    `cicero.claim_password_resets` (migration 0016) and, in the same transaction, an
//!    `email_otp` job that mails a 6-digit code (purpose `claim_reset`, subject the request
//!    id: Redis `otp:claim_reset:<request_id>`, 5 minutes, 3 tries). The mail goes to the
//!    person's stored e-mail; `email`, when given, must be that one. A person with neither a
//!    stored e-mail nor a WhatsApp number gives one here, and it is stored once the code is
//!    verified (as the legacy verify-otp does). A person with a WhatsApp number but no e-mail
//!    may not: a reset with an e-mail of the requester's choosing would set a confirmed
//!    password and skip the WhatsApp confirmation of [`super::register`]. One request per
//!    person per minute (429 with `retry_after`).
//! 2. `POST /api/claim/password-reset/verify {request_id, otp}` → `data.reset_token`: a
//!    random 256-bit token, kept as its SHA-256, valid 15 minutes.
//! 3. `POST /api/claim/password-reset/confirm {token, password, confirmPassword}`: stores the
//!    new password (argon2id, registering the person if they had none) as **confirmed** (the
//!    code proved control of the stored e-mail; a pending registration and its link are
//!    replaced), uses the token up, closes the person's other requests and ends every
//!    personnel session of the person.
use std::sync::Arc;

use axum::{body::Bytes, extract::State, http::StatusCode};
use chrono::Utc;
use redis::AsyncCommands;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    coded, invalid, is_uuid, nrp_of,
    register::{Channels, active_person, hash, password_field},
    with_status,
};
use crate::{
    domain::claim::{email_domain, mask_email},
    http::{
        AppState,
        dashboard::{ApiError, ApiResult, Dashboard, auth::json_body, ok},
    },
    otp::{self, Verify},
    platform::jobs::{NewJob, enqueue_many},
};

/// The OTP purpose (Redis key `otp:claim_reset:<request_id>`).
pub const PURPOSE: &str = "claim_reset";
/// Lifetime of a reset token after the code is verified.
pub const TOKEN_MINUTES: i64 = 15;
/// A person may ask for one code per this many seconds.
pub const REQUEST_INTERVAL_SECS: i64 = 60;

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

fn otp_store(st: &AppState) -> ApiResult<&crate::platform::redis::Redis> {
    st.redis.as_deref().ok_or_else(|| {
        coded(
            StatusCode::SERVICE_UNAVAILABLE,
            "CLAIM_OTP_UNAVAILABLE",
            "Layanan OTP tidak tersedia",
        )
    })
}

fn redis_down(e: redis::RedisError) -> ApiError {
    tracing::error!(error = %e, "redis (claim reset OTP)");
    coded(
        StatusCode::SERVICE_UNAVAILABLE,
        "CLAIM_OTP_UNAVAILABLE",
        "Layanan OTP tidak tersedia",
    )
}

/// `POST /api/claim/password-reset/request {nrp, email?}` → 202
/// `{success, data:{request_id, email (masked), message, expires_in}}`.
pub async fn request(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    otp_store(&st)?;
    let body = json_body(&body)?;
    let nrp =
        nrp_of(&body, "nrp").ok_or_else(|| invalid("CLAIM_NRP_REQUIRED", "nrp wajib diisi"))?;
    let given = body
        .get("email")
        .and_then(Value::as_str)
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    if given.as_deref().is_some_and(|e| email_domain(e).is_none()) {
        return Err(invalid(
            "CLAIM_INVALID_EMAIL_FORMAT",
            "format email tidak valid",
        ));
    }
    active_person(&st.pool, &nrp).await?;
    let (stored, whatsapp): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT lower(trim(email)), whatsapp FROM \"user\" WHERE user_id = $1")
            .bind(&nrp)
            .fetch_one(&st.pool)
            .await?;
    let stored = stored.filter(|e| !e.is_empty());
    if stored.is_none() && Channels::of(whatsapp.as_deref(), None).whatsapp.is_some() {
        return Err(invalid(
            "CLAIM_EMAIL_NOT_REGISTERED",
            "Belum ada email terdaftar untuk NRP ini, jadi password tidak bisa direset lewat \
             email. Daftar lewat tautan konfirmasi yang dikirim ke WhatsApp Anda, atau masuk \
             dan tambahkan email di profil, atau minta operator satuan Anda.",
        ));
    }
    let email = match (stored, given) {
        (Some(s), Some(g)) if s != g => {
            return Err(invalid(
                "CLAIM_EMAIL_MISMATCH",
                "email tidak sesuai dengan email yang terdaftar",
            ));
        }
        (Some(s), _) => s,
        (None, Some(g)) => g,
        (None, None) => {
            return Err(invalid(
                "CLAIM_EMAIL_REQUIRED",
                "belum ada email terdaftar; isi email Anda",
            ));
        }
    };
    let wait: Option<i64> = sqlx::query_scalar(
        "SELECT ceil(extract(epoch FROM created_at + make_interval(secs => $2) - now()))::bigint \
         FROM cicero.claim_password_resets \
         WHERE user_id = $1 AND used_at IS NULL AND created_at > now() - make_interval(secs => $2) \
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(&nrp)
    .bind(REQUEST_INTERVAL_SECS as f64)
    .fetch_optional(&st.pool)
    .await?;
    if let Some(secs) = wait {
        return Err(coded(
            StatusCode::TOO_MANY_REQUESTS,
            "CLAIM_RESET_TOO_FREQUENT",
            "Kode baru saja dikirim; tunggu sebentar sebelum meminta lagi",
        )
        .with_extra(
            json!({ "error_code": "CLAIM_RESET_TOO_FREQUENT", "retry_after": secs.max(1) }),
        ));
    }
    let ttl = otp::TTL.as_secs() as f64;
    let mut tx = st.pool.begin().await?;
    let request_id: String = sqlx::query_scalar(
        "INSERT INTO cicero.claim_password_resets (user_id, email, expires_at) \
         VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING request_id::text",
    )
    .bind(&nrp)
    .bind(&email)
    .bind(ttl)
    .fetch_one(&mut *tx)
    .await?;
    let not_after = Utc::now() + chrono::Duration::from_std(otp::TTL).unwrap_or_default();
    let job = NewJob::new(
        "email_otp",
        json!({"email": email, "purpose": PURPOSE, "subject": request_id, "not_after": not_after}),
    );
    enqueue_many(&mut *tx, &[job]).await.map_err(|e| {
        tracing::error!(error = %e, "enqueue claim reset OTP");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    })?;
    tx.commit().await?;
    let masked = mask_email(&email);
    Ok(with_status(
        StatusCode::ACCEPTED,
        json!({
            "message": format!("Kode OTP dikirim ke {masked}"),
            "data": {
                "request_id": request_id,
                "email": masked,
                "message": format!("Kode OTP dikirim ke {masked}; berlaku {} menit.", otp::TTL.as_secs() / 60),
                "expires_in": otp::TTL.as_secs(),
            },
        }),
    ))
}

/// The 6-digit code of a body (`"123456"` or `123456`).
fn otp_code(body: &Value) -> ApiResult<String> {
    let code = match body.get("otp") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.as_u64().map(|n| format!("{n:06}")).unwrap_or_default(),
        _ => String::new(),
    };
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid("CLAIM_OTP_INVALID", "otp harus 6 digit"));
    }
    Ok(code)
}

fn bad_request_id() -> ApiError {
    invalid(
        "CLAIM_RESET_REQUEST_INVALID",
        "Permintaan reset tidak ditemukan, sudah dipakai atau kedaluwarsa; minta kode baru",
    )
}

/// `POST /api/claim/password-reset/verify {request_id, otp}` → `{success, message,
/// data:{reset_token, expires_in}}`.
pub async fn verify(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let redis = otp_store(&st)?;
    let body = json_body(&body)?;
    let request_id = body
        .get("request_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|r| is_uuid(r))
        .ok_or_else(bad_request_id)?
        .to_lowercase();
    let code = otp_code(&body)?;
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT user_id, email FROM cicero.claim_password_resets \
         WHERE request_id = $1::uuid AND used_at IS NULL AND verified_at IS NULL \
           AND expires_at > now()",
    )
    .bind(&request_id)
    .fetch_optional(&st.pool)
    .await?;
    let (nrp, email) = row.ok_or_else(bad_request_id)?;
    match otp::verify(redis, PURPOSE, &request_id, &email, &code)
        .await
        .map_err(redis_down)?
    {
        Verify::Valid => {}
        Verify::Wrong(left) => {
            return Err(invalid("CLAIM_OTP_WRONG", "Kode OTP salah")
                .with_extra(json!({"error_code": "CLAIM_OTP_WRONG", "attempts_left": left})));
        }
        Verify::Locked => {
            return Err(invalid(
                "CLAIM_OTP_LOCKED",
                "Kode OTP salah 3 kali; minta kode baru",
            ));
        }
        Verify::Missing | Verify::EmailMismatch => {
            return Err(invalid(
                "CLAIM_OTP_EXPIRED",
                "Kode OTP tidak ditemukan atau kedaluwarsa; minta kode baru",
            ));
        }
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let mut tx = st.pool.begin().await?;
    sqlx::query(
        "UPDATE cicero.claim_password_resets SET verified_at = now(), token_hash = $2, \
           token_expires_at = now() + make_interval(mins => $3) WHERE request_id = $1::uuid",
    )
    .bind(&request_id)
    .bind(token_hash(&token))
    .bind(TOKEN_MINUTES as i32)
    .execute(&mut *tx)
    .await?;
    // A person without an e-mail keeps the verified one (as the legacy verify-otp).
    sqlx::query(
        "UPDATE \"user\" SET email = $2, updated_at = now() \
         WHERE user_id = $1 AND (email IS NULL OR trim(email) = '')",
    )
    .bind(&nrp)
    .bind(&email)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ok(json!({
        "message": "Kode OTP valid; buat password baru",
        "data": { "reset_token": token, "expires_in": TOKEN_MINUTES * 60 },
    })))
}

/// `POST /api/claim/password-reset/confirm {token, password, confirmPassword |
/// password_confirmation}` → `{success, message}`.
pub async fn confirm(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let token = body
        .get("token")
        .or_else(|| body.get("reset_token"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("CLAIM_RESET_TOKEN_REQUIRED", "token wajib diisi"))?;
    let confirmation = [
        "confirmPassword",
        "password_confirmation",
        "confirm_password",
    ]
    .iter()
    .find_map(|k| body.get(*k).and_then(Value::as_str));
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| invalid("CLAIM_PASSWORD_REQUIRED", "password wajib diisi"))?;
    if confirmation != Some(password) {
        return Err(invalid(
            "CLAIM_PASSWORD_MISMATCH",
            "konfirmasi password tidak sama",
        ));
    }
    let mut tx = st.pool.begin().await?;
    // Used and expired tokens do not match; using it in the same statement makes a second
    // confirm with the same token fail.
    let nrp: Option<String> = sqlx::query_scalar(
        "UPDATE cicero.claim_password_resets SET used_at = now() \
         WHERE token_hash = $1 AND used_at IS NULL AND token_expires_at > now() \
         RETURNING user_id",
    )
    .bind(token_hash(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(nrp) = nrp else {
        return Err(invalid(
            "CLAIM_RESET_TOKEN_INVALID",
            "Token reset tidak valid atau sudah kedaluwarsa",
        ));
    };
    // Checked after the token so the rule can refuse a password containing the NRP; the
    // transaction rolls back, so the token stays usable.
    password_field(&body, &nrp)?;
    let hash = hash(password).await?;
    sqlx::query(
        "INSERT INTO cicero.claim_credentials (user_id, password_hash, confirmed_at) \
         VALUES ($1, $2, now()) \
         ON CONFLICT (user_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, \
           confirmed_at = now(), confirm_token_hash = NULL, confirm_expires_at = NULL, \
           updated_at = now()",
    )
    .bind(&nrp)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE cicero.claim_password_resets SET used_at = now() \
         WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(&nrp)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Some(d) = st.dashboard.as_deref() {
        revoke_person_sessions(d, &nrp).await?;
    }
    tracing::info!("claim portal password reset");
    Ok(ok(json!({
        "message": "Password berhasil diperbarui. Silakan masuk dengan password baru."
    })))
}

/// Ends every personnel session of a person (`user_login:<nrp>` lists its tokens).
pub async fn revoke_person_sessions(d: &Dashboard, nrp: &str) -> ApiResult<()> {
    let mut r = d.redis.clone();
    let set = d.key(&format!("user_login:{nrp}"));
    let tokens: Vec<String> = r.smembers(&set).await?;
    for t in tokens {
        let _: () = r.del(d.key(&format!("login_token:{t}"))).await?;
    }
    let _: () = r.del(&set).await?;
    Ok(())
}

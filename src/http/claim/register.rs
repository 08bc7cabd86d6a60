//! `POST /api/claim/register {nrp, password}`: a person (a row of `"user"`) sets a portal
//! password, stored as argon2id in `cicero.claim_credentials` (migration 0016; the legacy
//! table has no password column). Once, first come: a second registration is 409, and a
//! forgotten password is changed through the e-mail reset ([`super::password_reset`]).
use std::sync::Arc;

use axum::{body::Bytes, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::{coded, invalid, nrp_of, with_status};
use crate::{
    domain::claim::password_problem,
    http::{
        AppState,
        dashboard::{
            ApiError, ApiResult,
            auth::{hash_password, json_body, verify_password},
        },
    },
};

/// Hashes off the async runtime (argon2id takes tens of milliseconds of CPU).
pub async fn hash(password: &str) -> ApiResult<String> {
    let p = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&p))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "argon2 task");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        })?
}

/// Whether `password` is the portal password `nrp` registered (false when none is). For
/// `POST /api/auth/user-login`, which accepts it besides the WhatsApp number.
pub async fn portal_password_matches(
    pool: &sqlx::PgPool,
    nrp: &str,
    password: &str,
) -> sqlx::Result<bool> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM cicero.claim_credentials WHERE user_id = $1")
            .bind(nrp)
            .fetch_optional(pool)
            .await?;
    let Some(stored) = stored else {
        return Ok(false);
    };
    let given = password.to_owned();
    Ok(
        tokio::task::spawn_blocking(move || verify_password(&given, &stored))
            .await
            .unwrap_or(false),
    )
}

/// The password of a body (not trimmed: the rule refuses spaces at either end), or a 400.
pub fn password_field<'a>(body: &'a Value, nrp: &str) -> ApiResult<&'a str> {
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| invalid("CLAIM_PASSWORD_REQUIRED", "password wajib diisi"))?;
    match password_problem(password, nrp) {
        Some(m) => Err(invalid("CLAIM_PASSWORD_WEAK", m)),
        None => Ok(password),
    }
}

/// Whether the person exists and is active: 404 / 403 otherwise.
pub async fn active_person(pool: &sqlx::PgPool, nrp: &str) -> ApiResult<()> {
    let status: Option<bool> =
        sqlx::query_scalar("SELECT coalesce(status, true) FROM \"user\" WHERE user_id = $1")
            .bind(nrp)
            .fetch_optional(pool)
            .await?;
    match status {
        None => Err(coded(
            StatusCode::NOT_FOUND,
            "CLAIM_USER_NOT_FOUND",
            "NRP tidak ditemukan",
        )),
        Some(false) => Err(coded(
            StatusCode::FORBIDDEN,
            "CLAIM_USER_INACTIVE",
            "Akun personel tidak aktif",
        )),
        Some(true) => Ok(()),
    }
}

/// `POST /api/claim/register {nrp, password}` → 201 `{success, message, data:{user_id}}`.
pub async fn register(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let nrp = nrp_of(&body, "nrp")
        .ok_or_else(|| invalid("CLAIM_NRP_REQUIRED", "nrp dan password wajib diisi"))?;
    let password = password_field(&body, &nrp)?;
    active_person(&st.pool, &nrp).await?;
    let hash = hash(password).await?;
    let inserted: Option<String> = sqlx::query_scalar(
        "INSERT INTO cicero.claim_credentials (user_id, password_hash) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO NOTHING RETURNING user_id",
    )
    .bind(&nrp)
    .bind(&hash)
    .fetch_optional(&st.pool)
    .await?;
    if inserted.is_none() {
        return Err(coded(
            StatusCode::CONFLICT,
            "CLAIM_ALREADY_REGISTERED",
            "NRP sudah terdaftar; masuk dengan password Anda atau gunakan lupa password",
        ));
    }
    tracing::info!("claim portal password registered");
    Ok(with_status(
        StatusCode::CREATED,
        json!({
            "message": "Registrasi berhasil. Silakan masuk dengan NRP dan password.",
            "data": { "user_id": nrp },
        }),
    ))
}

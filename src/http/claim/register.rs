//! `POST /api/claim/register {nrp, password}`: a person (a row of `"user"`) sets a portal
//! password, stored as argon2id in `cicero.claim_credentials` (migrations 0016 and 0017; the
//! legacy table has no password column).
//!
//! Knowing an NRP proves nothing (NRPs appear in every recap), so the password starts
//! **pending** and is not accepted by the login until the person opens a link sent through a
//! channel only they control: a `whatsapp_send` job to their stored WhatsApp number and/or an
//! `email_send` job to their stored e-mail, enqueued in the transaction that stores the
//! password. The link (`<PUBLIC_API_URL>/api/claim/register/confirm?token=`) carries 256
//! random bits, kept only as their SHA-256 and valid [`CONFIRM_MINUTES`]; opening it
//! ([`confirm`]) activates the password once. Registering again while pending replaces the
//! password and the link (one registration per person per [`REGISTER_INTERVAL_SECS`], so the
//! route cannot be used to flood a person's WhatsApp); once confirmed, a second registration
//! is 409 and a forgotten password goes through the e-mail reset ([`super::password_reset`]),
//! which confirms too (it proves control of the stored e-mail). A person with neither a
//! WhatsApp number nor an e-mail cannot register.
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::StatusCode,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{coded, invalid, nrp_of, with_status};
use crate::{
    domain::claim::{email_domain, mask_email, mask_whatsapp, password_problem},
    http::{
        AppState,
        dashboard::{
            ApiError, ApiResult,
            auth::{hash_password, json_body, normalize_whatsapp, verify_password},
            ok,
            scope::Params,
        },
    },
    platform::jobs::{NewJob, enqueue_many},
};

/// Lifetime of a confirmation link.
pub const CONFIRM_MINUTES: i64 = 30;
/// A person may register (and so be sent a link) once per this many seconds.
pub const REGISTER_INTERVAL_SECS: i64 = 60;

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

/// Whether `password` is the **confirmed** portal password of `nrp` (false when there is
/// none, or only a pending one).
pub async fn portal_password_matches(
    pool: &sqlx::PgPool,
    nrp: &str,
    password: &str,
) -> sqlx::Result<bool> {
    Ok(portal_password_check(pool, nrp, password).await? == Some(true))
}

/// `None` when `nrp` has no confirmed portal password, else whether `password` is it. For
/// `POST /api/auth/user-login`: once a person has confirmed a portal password, only that
/// password logs them in (the WhatsApp number, which colleagues may know, no longer does).
pub async fn portal_password_check(
    pool: &sqlx::PgPool,
    nrp: &str,
    password: &str,
) -> sqlx::Result<Option<bool>> {
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT password_hash FROM cicero.claim_credentials \
         WHERE user_id = $1 AND confirmed_at IS NOT NULL",
    )
    .bind(nrp)
    .fetch_optional(pool)
    .await?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let given = password.to_owned();
    Ok(Some(
        tokio::task::spawn_blocking(move || verify_password(&given, &stored))
            .await
            .unwrap_or(false),
    ))
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

/// SHA-256 (hex) of a link token, the only form stored.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Where the link goes: the person's stored WhatsApp number (normalised, at least 8 digits)
/// and e-mail (a valid address), each when there is one.
#[derive(Debug, PartialEq)]
pub struct Channels {
    pub whatsapp: Option<String>,
    pub email: Option<String>,
}

impl Channels {
    pub fn of(whatsapp: Option<&str>, email: Option<&str>) -> Channels {
        Channels {
            whatsapp: whatsapp.map(normalize_whatsapp).filter(|w| w.len() >= 8),
            email: email
                .map(|e| e.trim().to_lowercase())
                .filter(|e| email_domain(e).is_some()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.whatsapp.is_none() && self.email.is_none()
    }

    /// `data.channels` of the answer: `[{channel, target (masked)}]`.
    fn masked(&self) -> Value {
        let mut out = Vec::new();
        if let Some(w) = &self.whatsapp {
            out.push(json!({"channel": "whatsapp", "target": mask_whatsapp(w)}));
        }
        if let Some(e) = &self.email {
            out.push(json!({"channel": "email", "target": mask_email(e)}));
        }
        Value::Array(out)
    }

    /// "WhatsApp 6281*****789 dan email bu***@polri.test".
    fn described(&self) -> String {
        let w = self
            .whatsapp
            .as_deref()
            .map(|w| format!("WhatsApp {}", mask_whatsapp(w)));
        let e = self
            .email
            .as_deref()
            .map(|e| format!("email {}", mask_email(e)));
        match (w, e) {
            (Some(w), Some(e)) => format!("{w} dan {e}"),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => String::new(),
        }
    }
}

/// The confirmation link of a token.
pub fn link(public_api_url: &str, token: &str) -> String {
    format!("{public_api_url}/api/claim/register/confirm?token={token}")
}

/// The message with the link (WhatsApp and e-mail alike). It tells a person who did not
/// register to leave the link alone: opening it activates the password whoever chose it.
pub fn message(nrp: &str, link: &str, minutes: i64) -> String {
    format!(
        "Permintaan pendaftaran password portal Cicero untuk NRP *{nrp}*.\n\nJika Anda sendiri yang mendaftar, buka tautan berikut dalam {minutes} menit untuk mengaktifkan password Anda:\n{link}\n\nJika Anda TIDAK mendaftar, jangan buka tautan ini dan abaikan pesan ini: password tidak akan aktif."
    )
}

/// Why `nrp` may not register now: a confirmed password (409), or a registration less than
/// [`REGISTER_INTERVAL_SECS`] ago (429 with `retry_after`).
async fn refused(pool: &sqlx::PgPool, nrp: &str) -> ApiResult<Option<ApiError>> {
    let row: Option<(bool, i64)> = sqlx::query_as(
        "SELECT confirmed_at IS NOT NULL, \
           ceil(extract(epoch FROM updated_at + make_interval(secs => $2) - now()))::bigint \
         FROM cicero.claim_credentials WHERE user_id = $1",
    )
    .bind(nrp)
    .bind(REGISTER_INTERVAL_SECS as f64)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((true, _)) => Some(coded(
            StatusCode::CONFLICT,
            "CLAIM_ALREADY_REGISTERED",
            "NRP sudah terdaftar; masuk dengan password Anda atau gunakan lupa password",
        )),
        Some((false, wait)) if wait > 0 => Some(
            coded(
                StatusCode::TOO_MANY_REQUESTS,
                "CLAIM_REGISTER_TOO_FREQUENT",
                "Tautan konfirmasi baru saja dikirim; tunggu sebentar sebelum mendaftar lagi",
            )
            .with_extra(json!({"error_code": "CLAIM_REGISTER_TOO_FREQUENT", "retry_after": wait})),
        ),
        _ => None,
    })
}

/// `POST /api/claim/register {nrp, password}` → 202 `{success, message, data:{user_id,
/// channels:[{channel, target}], expires_in}}`; the password is pending until the link is
/// opened.
pub async fn register(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let nrp = nrp_of(&body, "nrp")
        .ok_or_else(|| invalid("CLAIM_NRP_REQUIRED", "nrp dan password wajib diisi"))?;
    let password = password_field(&body, &nrp)?;
    active_person(&st.pool, &nrp).await?;
    let (whatsapp, email): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT whatsapp, email FROM \"user\" WHERE user_id = $1")
            .bind(&nrp)
            .fetch_one(&st.pool)
            .await?;
    let channels = Channels::of(whatsapp.as_deref(), email.as_deref());
    if channels.is_empty() {
        return Err(invalid(
            "CLAIM_CONTACT_REQUIRED",
            "NRP ini belum punya nomor WhatsApp atau email untuk konfirmasi. Minta operator \
             satuan Anda menambahkannya, atau lengkapi data lewat klaim data dengan kode OTP \
             email.",
        ));
    }
    // Checked before hashing (argon2 costs CPU), and again by the write below.
    if let Some(e) = refused(&st.pool, &nrp).await? {
        return Err(e);
    }
    let hash = hash(password).await?;
    let token = hex::encode(rand::random::<[u8; 32]>());
    let token_sha = token_hash(&token);
    let mut tx = st.pool.begin().await?;
    // Replaces a pending registration (password and link) but never a confirmed password,
    // nor one registered less than the interval ago.
    let stored: Option<String> = sqlx::query_scalar(
        "INSERT INTO cicero.claim_credentials AS c \
           (user_id, password_hash, confirm_token_hash, confirm_expires_at) \
         VALUES ($1, $2, $3, now() + make_interval(mins => $4)) \
         ON CONFLICT (user_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, \
           confirm_token_hash = EXCLUDED.confirm_token_hash, \
           confirm_expires_at = EXCLUDED.confirm_expires_at, updated_at = now() \
         WHERE c.confirmed_at IS NULL AND c.updated_at <= now() - make_interval(secs => $5) \
         RETURNING user_id",
    )
    .bind(&nrp)
    .bind(&hash)
    .bind(&token_sha)
    .bind(CONFIRM_MINUTES as i32)
    .bind(REGISTER_INTERVAL_SECS as f64)
    .fetch_optional(&mut *tx)
    .await?;
    if stored.is_none() {
        drop(tx);
        return Err(refused(&st.pool, &nrp).await?.unwrap_or_else(|| {
            ApiError::new(StatusCode::CONFLICT, "Registrasi bersamaan; coba lagi")
        }));
    }
    let text = message(&nrp, &link(&st.public_api_url, &token), CONFIRM_MINUTES);
    let mut jobs = Vec::new();
    if let Some(w) = &channels.whatsapp {
        jobs.push(NewJob::new(
            "whatsapp_send",
            json!({
                "to": w,
                "text": text,
                "idempotency_key": format!("claim_register:{nrp}:{}", &token_sha[..16]),
            }),
        ));
    }
    if let Some(e) = &channels.email {
        jobs.push(NewJob::new(
            "email_send",
            json!({"to": e, "subject": "Konfirmasi pendaftaran portal Cicero", "text": text}),
        ));
    }
    enqueue_many(&mut *tx, &jobs).await?;
    tx.commit().await?;
    tracing::info!("claim portal registration pending confirmation");
    Ok(with_status(
        StatusCode::ACCEPTED,
        json!({
            "message": format!(
                "Tautan konfirmasi dikirim ke {}. Buka tautan itu dalam {CONFIRM_MINUTES} menit \
                 untuk mengaktifkan password; sebelum itu password belum bisa dipakai masuk.",
                channels.described()
            ),
            "data": {
                "user_id": nrp,
                "channels": channels.masked(),
                "expires_in": CONFIRM_MINUTES * 60,
            },
        }),
    ))
}

/// `GET /api/claim/register/confirm?token=` (the link of the message) → `{success,
/// message}`: activates the pending password of the token, once. Unknown, used, replaced or
/// expired tokens are 400 `CLAIM_CONFIRM_TOKEN_INVALID`.
pub async fn confirm(State(st): State<Arc<AppState>>, RawQuery(q): RawQuery) -> ApiResult {
    let params = Params::parse(q.as_deref());
    let token = params
        .get("token")
        .ok_or_else(|| invalid("CLAIM_CONFIRM_TOKEN_REQUIRED", "token wajib diisi"))?;
    // One statement: a second open of the same link finds no token.
    let confirmed: Option<String> = sqlx::query_scalar(
        "UPDATE cicero.claim_credentials SET confirmed_at = now(), confirm_token_hash = NULL, \
           confirm_expires_at = NULL, updated_at = now() \
         WHERE confirm_token_hash = $1 AND confirm_expires_at > now() AND confirmed_at IS NULL \
         RETURNING user_id",
    )
    .bind(token_hash(token))
    .fetch_optional(&st.pool)
    .await?;
    if confirmed.is_none() {
        return Err(invalid(
            "CLAIM_CONFIRM_TOKEN_INVALID",
            "Tautan konfirmasi tidak valid, sudah dipakai atau kedaluwarsa; daftar ulang di portal",
        ));
    }
    tracing::info!("claim portal password confirmed");
    Ok(ok(json!({
        "message": "Password portal aktif. Silakan masuk dengan NRP dan password Anda."
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_the_usable_stored_contacts() {
        let c = Channels::of(Some("0812-3456-789"), Some(" Budi@Polri.Test "));
        assert_eq!(c.whatsapp.as_deref(), Some("628123456789"));
        assert_eq!(c.email.as_deref(), Some("budi@polri.test"));
        assert_eq!(
            c.described(),
            "WhatsApp 6281*****789 dan email bu***@polri.test"
        );
        assert_eq!(
            c.masked(),
            json!([
                {"channel": "whatsapp", "target": "6281*****789"},
                {"channel": "email", "target": "bu***@polri.test"},
            ])
        );
        assert!(Channels::of(Some("123"), Some("no-at")).is_empty());
        assert!(Channels::of(Some(""), None).is_empty());
        assert!(Channels::of(None, None).is_empty());
        let only_mail = Channels::of(None, Some("a@b.id"));
        assert_eq!(only_mail.described(), "email a***@b.id");
    }

    #[test]
    fn the_message_carries_the_link_and_a_warning() {
        let m = message("75020001", &link("https://api.example", "abc"), 30);
        assert!(
            m.contains("dalam 30 menit untuk mengaktifkan password Anda:\nhttps://api.example/api/claim/register/confirm?token=abc\n"),
            "{m}"
        );
        assert!(
            m.contains("*75020001*") && m.contains("TIDAK mendaftar"),
            "{m}"
        );
    }
}

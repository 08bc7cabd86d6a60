//! Dashboard password reset (legacy `/api/auth/dashboard-password-reset/{request,confirm}`).
//! The token is a fresh UUID, stored as its SHA-256 in `dashboard_password_resets` (single
//! use, valid `DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES`, default 15) and delivered by a `whatsapp_send` job (the account's WhatsApp) or an
//! `email_send` job (the account's email); confirm stores an argon2id hash and ends every
//! session of the account.
use std::sync::Arc;

use axum::{body::Bytes, extract::State};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    ApiError, ApiResult,
    auth::{field, hash_password, json_body, normalize_whatsapp, revoke_all},
    dash, ok,
};
use crate::{
    http::AppState,
    platform::jobs::{NewJob, enqueue_many},
};

/// The same answer whether or not the account and contact matched, so the form cannot be used
/// to find accounts.
const SENT: &str = "Jika username dan kontak sesuai, tautan reset password akan dikirim.";

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Where the token goes: the account's email when the contact is one, else its WhatsApp.
#[derive(Debug, PartialEq)]
pub enum Delivery {
    Email(String),
    Whatsapp(String),
}

/// Matches the form's `contact` with the account's stored contacts (emails case-insensitive,
/// numbers after 62-normalisation); `None` when it is neither.
pub fn delivery(contact: &str, email: Option<&str>, whatsapp: Option<&str>) -> Option<Delivery> {
    let contact = contact.trim();
    if contact.contains('@') {
        let c = contact.to_lowercase();
        email
            .map(|e| e.trim().to_lowercase())
            .filter(|e| *e == c)
            .map(Delivery::Email)
    } else {
        let c = normalize_whatsapp(contact);
        whatsapp
            .map(normalize_whatsapp)
            .filter(|w| w.len() >= 8 && *w == c)
            .map(Delivery::Whatsapp)
    }
}

/// The link of a token: the configured reset page (`config::PasswordReset`) with `?token=`.
pub fn link(page: &str, token: &str) -> String {
    format!("{page}?token={token}")
}

pub fn message(username: &str, link: &str, minutes: u32) -> String {
    format!(
        "Permintaan reset password dashboard Cicero untuk akun *{username}*.\n\nBuka tautan berikut dalam {minutes} menit untuk membuat password baru:\n{link}\n\nAbaikan pesan ini bila Anda tidak memintanya."
    )
}

/// `POST /api/auth/dashboard-password-reset/request {username, contact}`.
pub async fn request(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    dash(&st)?;
    let body = json_body(&body)?;
    let (Some(username), Some(contact)) = (field(&body, "username"), field(&body, "contact"))
    else {
        return Err(ApiError::bad_request("username dan contact wajib diisi"));
    };
    let account: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT dashboard_user_id::text, email, whatsapp::text FROM dashboard_user \
         WHERE lower(username) = lower($1) ORDER BY created_at LIMIT 1",
    )
    .bind(username)
    .fetch_optional(&st.pool)
    .await?;
    let Some((id, email, whatsapp)) = account else {
        tracing::info!(username, "password reset for an unknown username");
        return Ok(ok(json!({ "message": SENT })));
    };
    let Some(to) = delivery(contact, email.as_deref(), whatsapp.as_deref()) else {
        tracing::info!(
            username,
            "password reset with a contact that does not match"
        );
        return Ok(ok(json!({ "message": SENT })));
    };
    let mut tx = st.pool.begin().await?;
    // A random UUID, as legacy (pgcrypto/PG 13+ `gen_random_uuid` is a CSPRNG).
    let token: String = sqlx::query_scalar("SELECT gen_random_uuid()::text")
        .fetch_one(&mut *tx)
        .await?;
    let target = match &to {
        Delivery::Email(e) => e.clone(),
        Delivery::Whatsapp(w) => w.clone(),
    };
    let settings = &st.password_reset;
    let text = message(
        username,
        &link(&settings.page, &token),
        settings.token_minutes,
    );
    let (reset_id,): (String,) = sqlx::query_as(
        "INSERT INTO dashboard_password_resets (dashboard_user_id, delivery_target, reset_token, expires_at) \
         VALUES ($1::uuid, $2, $3, now() + make_interval(mins => $4)) RETURNING reset_id::text",
    )
    .bind(&id)
    .bind(&target)
    .bind(token_hash(&token))
    .bind(settings.token_minutes as i32)
    .fetch_one(&mut *tx)
    .await?;
    let job = match to {
        Delivery::Whatsapp(w) => NewJob::new(
            "whatsapp_send",
            json!({"to": w, "text": text, "idempotency_key": format!("password_reset:{reset_id}")}),
        ),
        Delivery::Email(e) => NewJob::new(
            "email_send",
            json!({"to": e, "subject": "Reset password dashboard Cicero", "text": text}),
        ),
    };
    // `enqueue_many` takes an executor (the `Acquire` of `enqueue` is not `Send` here).
    enqueue_many(&mut *tx, &[job]).await?;
    tx.commit().await?;
    Ok(ok(json!({ "message": SENT })))
}

/// `POST /api/auth/dashboard-password-reset/confirm {token, password, confirmPassword?,
/// password_confirmation?}`.
pub async fn confirm(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let d = dash(&st)?;
    let body = json_body(&body)?;
    let (Some(token), Some(password)) = (field(&body, "token"), field(&body, "password")) else {
        return Err(ApiError::bad_request("token dan password wajib diisi"));
    };
    for other in ["confirmPassword", "password_confirmation"] {
        if field(&body, other).is_some_and(|c| c != password) {
            return Err(ApiError::bad_request("konfirmasi password tidak sama"));
        }
    }
    if password.chars().count() < 8 {
        return Err(ApiError::bad_request("password minimal 8 karakter"));
    }
    let hash = hash_password(password)?;
    let mut tx = st.pool.begin().await?;
    // Used and expired tokens do not match; marking it used in the same statement makes a
    // second confirm with the same token fail.
    let user: Option<(String,)> = sqlx::query_as(
        "UPDATE dashboard_password_resets SET used_at = now(), updated_at = now() \
         WHERE reset_token = $1 AND used_at IS NULL AND expires_at > now() \
         RETURNING dashboard_user_id::text",
    )
    .bind(token_hash(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id,)) = user else {
        return Err(ApiError::bad_request(
            "Token reset tidak valid atau sudah kedaluwarsa",
        ));
    };
    sqlx::query(
        "UPDATE dashboard_user SET password_hash = $2, updated_at = now() WHERE dashboard_user_id = $1::uuid",
    )
    .bind(&id)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    // Other open tokens of the account die with the old password.
    sqlx::query(
        "UPDATE dashboard_password_resets SET used_at = now(), updated_at = now() \
         WHERE dashboard_user_id = $1::uuid AND used_at IS NULL",
    )
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    revoke_all(d, &id).await?;
    Ok(ok(
        json!({ "message": "Password berhasil diperbarui. Silakan login kembali." }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_picks_the_delivery() {
        let (email, wa) = (Some("Op@Kediri.go.id"), Some("0812-3456-7890"));
        for (contact, want) in [
            (
                "op@kediri.go.id",
                Some(Delivery::Email("op@kediri.go.id".into())),
            ),
            (
                " OP@KEDIRI.GO.ID ",
                Some(Delivery::Email("op@kediri.go.id".into())),
            ),
            ("other@kediri.go.id", None),
            (
                "081234567890",
                Some(Delivery::Whatsapp("6281234567890".into())),
            ),
            (
                "6281234567890",
                Some(Delivery::Whatsapp("6281234567890".into())),
            ),
            ("081200000000", None),
            ("", None),
        ] {
            assert_eq!(delivery(contact, email, wa), want, "{contact:?}");
        }
        assert_eq!(delivery("081234567890", email, None), None);
        assert_eq!(delivery("a@b.c", None, wa), None);
    }

    #[test]
    fn the_message_names_the_link_and_lifetime() {
        let page = crate::config::reset_page(Some("https://dash.example/"));
        let m = message("op", &link(&page, "abc"), 30);
        assert!(
            m.contains("dalam 30 menit untuk membuat password baru:\nhttps://dash.example/reset-password?token=abc\n"),
            "{m}"
        );
    }

    #[test]
    fn token_hash_ignores_surrounding_space() {
        assert_eq!(token_hash(" abc "), token_hash("abc"));
        assert_ne!(token_hash("abc"), token_hash("abd"));
    }
}

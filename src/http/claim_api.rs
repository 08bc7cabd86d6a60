//! The legacy claim endpoints (§2.2, §4(e)): `POST /api/claim/request-otp` and
//! `POST /api/claim/verify-otp`. Public. The code is generated and mailed by an `email_otp`
//! job, so the request answers 202 at once.
use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use serde::Deserialize;
use serde_json::json;

use super::{AppState, error};
use crate::{
    otp::{self, Verify},
    platform::jobs::{self, NewJob},
};

pub const PURPOSE: &str = "claim";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/claim/request-otp", post(request_otp))
        .route("/api/claim/verify-otp", post(verify_otp))
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "claim API failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log",
    )
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
    let valid = email.split_once('@').is_some_and(|(u, d)| {
        !u.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
    });
    if !valid || email.contains(char::is_whitespace) {
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
    let code = match &claim.otp {
        Some(serde_json::Value::String(s)) => s.trim().to_string(),
        Some(serde_json::Value::Number(n)) => format!("{:06}", n.as_u64().unwrap_or(u64::MAX)),
        _ => String::new(),
    };
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return error(StatusCode::BAD_REQUEST, "otp harus 6 digit");
    }
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

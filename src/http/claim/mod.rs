//! The claim API, all under `/api/claim` (public paths, exempt from the duplicate-request
//! guard):
//!
//! * [`legacy`]: the e-mail OTP flow of the Feb-2026 client (request-otp, verify-otp,
//!   user-data, update, validate-email);
//! * the claim portal of the newer client (contract §2.12): [`register`] (a portal password,
//!   pending until the person opens the link sent to their WhatsApp / e-mail),
//!   [`password_reset`] (OTP by e-mail, then a reset token), and, with the personnel token of
//!   `POST /api/auth/user-login` ([`Person`]), the person's own profile ([`profile`]), the
//!   content still to engage with ([`pending`]), social profile checks ([`social_profile`])
//!   and "activity not recorded" complaints ([`complaints`]).
//!
//! Errors are `{success:false, message, error_code}` (plus `field` for a refused profile
//! field); 401 only for the token itself (`reason` as on the dashboard), 403 for a dashboard
//! token or an inactive person, 400 for bad input. What each route does:
//! `docs/dashboard-api.md`, "Claim portal".
use std::sync::Arc;

use axum::{
    Router,
    extract::FromRequestParts,
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

use super::{
    AppState,
    dashboard::{ApiError, ApiResult, auth::Caller},
};

pub mod complaints;
pub mod legacy;
pub mod password_reset;
pub mod pending;
pub mod profile;
pub mod register;
pub mod social_profile;

pub fn routes() -> Router<Arc<AppState>> {
    legacy::routes()
        .route("/api/claim/register", post(register::register))
        .route("/api/claim/register/confirm", get(register::confirm))
        .route(
            "/api/claim/password-reset/request",
            post(password_reset::request),
        )
        .route(
            "/api/claim/password-reset/verify",
            post(password_reset::verify),
        )
        .route(
            "/api/claim/password-reset/confirm",
            post(password_reset::confirm),
        )
        .route("/api/claim/me", get(profile::show).put(profile::update))
        .route("/api/claim/pending-content", get(pending::pending_content))
        .route(
            "/api/claim/social-profile/validate",
            post(social_profile::validate),
        )
        .route("/api/claim/complaints/triage", post(complaints::triage))
        .route("/api/claim/complaints/{id}", get(complaints::show))
        .route(
            "/api/claim/complaints/{id}/escalate",
            post(complaints::escalate),
        )
}

/// An error with the portal's machine-readable `error_code` (e.g. `CLAIM_PASSWORD_WEAK`).
pub fn coded(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, message).with_extra(json!({ "error_code": code }))
}

/// A 400 with an `error_code`.
pub fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    coded(StatusCode::BAD_REQUEST, code, message)
}

/// `{success:true, ...fields}` with another status than 200.
pub fn with_status(status: StatusCode, fields: Value) -> Response {
    let mut res = super::dashboard::ok(fields).into_response();
    *res.status_mut() = status;
    res
}

/// The NRP of a body field: digits only (legacy), from a string or a number.
pub fn nrp_of(body: &Value, name: &str) -> Option<String> {
    let raw = match body.get(name)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// The signed-in person of the portal: a personnel token (`POST /api/auth/user-login`) whose
/// session is live and whose person still exists and is active. Every portal route reads and
/// writes only this person's data, so this extractor is the whole access rule. A dashboard
/// token is 403 (the portal then goes back to `/claim`).
#[derive(Debug, Clone)]
pub struct Person {
    pub nrp: String,
    pub client_id: Option<String>,
}

impl FromRequestParts<Arc<AppState>> for Person {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> ApiResult<Self> {
        let not_personnel = || {
            coded(
                StatusCode::FORBIDDEN,
                "CLAIM_USER_ROLE_REQUIRED",
                "Gunakan token personel dari login portal (NRP dan password)",
            )
        };
        // A 403 of `Caller` is always about a dashboard account (unapproved, or an operator
        // off its allow-list): either way not a personnel token.
        let nrp = match Caller::from_request_parts(parts, st).await {
            Ok(Caller::Person { nrp }) => nrp,
            Ok(Caller::Dashboard(_)) => return Err(not_personnel()),
            Err(e) if e.status == StatusCode::FORBIDDEN => return Err(not_personnel()),
            Err(e) => return Err(e),
        };
        let row: Option<(Option<String>, bool)> = sqlx::query_as(
            "SELECT client_id, coalesce(status, true) FROM \"user\" WHERE user_id = $1",
        )
        .bind(&nrp)
        .fetch_optional(&st.pool)
        .await?;
        match row {
            None => Err(ApiError::token("invalid_token", "Personel tidak ditemukan")),
            Some((_, false)) => Err(coded(
                StatusCode::FORBIDDEN,
                "CLAIM_USER_INACTIVE",
                "Akun personel tidak aktif",
            )),
            Some((client_id, true)) => Ok(Person { nrp, client_id }),
        }
    }
}

/// Whether a text is a UUID (`8-4-4-4-12` hex digits), so it can be cast in SQL safely.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nrps_and_uuids() {
        let body = json!({"a": "75.020.201", "b": 75020201, "c": "", "d": true});
        assert_eq!(nrp_of(&body, "a").as_deref(), Some("75020201"));
        assert_eq!(nrp_of(&body, "b").as_deref(), Some("75020201"));
        assert_eq!(nrp_of(&body, "c"), None);
        assert_eq!(nrp_of(&body, "d"), None);
        assert_eq!(nrp_of(&body, "x"), None);
        assert!(is_uuid("0b6c2c4e-9d7f-4f7a-9c1e-2f0e8d3b1a55"));
        for bad in [
            "",
            "0b6c2c4e9d7f4f7a9c1e2f0e8d3b1a55",
            "0b6c2c4e-9d7f-4f7a-9c1e-2f0e8d3b1a5",
            "zb6c2c4e-9d7f-4f7a-9c1e-2f0e8d3b1a55",
            "1; DROP TABLE x",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}

//! The dashboard API: the calls the Cicero_Web dashboard makes (contract:
//! `shared/domain/dashboard-contract.md`), with legacy auth (JWT + Redis sessions), client
//! scoping in one extractor ([`scope::Scoped`]), CORS and the legacy duplicate-request guard.
//! Served only when `JWT_SECRET` is set. What is implemented: `docs/dashboard-api.md`.
use std::sync::Arc;

use axum::{
    Json, Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::AppState;
use crate::platform::redis::ConnectionManager;

pub mod auth;
pub mod complaint;
#[macro_use]
pub mod data;
pub mod exports;
pub mod insights;
pub mod password_reset;
pub mod premium;
pub mod scope;
pub mod social;
pub mod users;

/// Everything the dashboard routes need besides the database.
pub struct Dashboard {
    pub redis: ConnectionManager,
    pub jwt_secret: String,
    pub cors_origins: Vec<String>,
    pub allow_duplicate_requests: bool,
    pub login_max_attempts: u32,
    pub premium_allowed_tiers: Vec<String>,
    /// Prepended to every Redis key: empty in production, so keys are the legacy ones
    /// (`login_token:<jwt>`); tests use a unique prefix to run in parallel.
    pub key_prefix: String,
}

impl Dashboard {
    /// `None` when `JWT_SECRET` is unset (the dashboard API is then not served).
    pub fn from_settings(s: &crate::config::Settings, redis: ConnectionManager) -> Option<Self> {
        Some(Dashboard {
            redis,
            jwt_secret: s.jwt_secret.clone()?,
            cors_origins: s.cors_origins.clone(),
            allow_duplicate_requests: s.allow_duplicate_requests,
            login_max_attempts: s.login_max_attempts,
            premium_allowed_tiers: s.premium_allowed_tiers.clone(),
            key_prefix: String::new(),
        })
    }

    pub fn key(&self, k: &str) -> String {
        format!("{}{k}", self.key_prefix)
    }
}

/// An error answer in the legacy shape `{success:false, message}`, plus `reason` on token
/// errors (the dashboard logs out only on 401, or on 403 with a token `reason`) and any
/// extra fields (the premium wall sends the tier).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub reason: Option<&'static str>,
    pub extra: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            reason: None,
            extra: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    /// 401: only for a missing, invalid, expired or revoked token.
    pub fn token(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
            reason: Some(reason),
            extra: None,
        }
    }
    pub fn with_extra(mut self, extra: Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "success": false, "message": self.message });
        if let Some(r) = self.reason {
            body["reason"] = json!(r);
        }
        if let Some(Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        (self.status, Json(body)).into_response()
    }
}

impl ApiError {
    /// 500 with a generic message; the cause goes to the log only (inside the request's span).
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "dashboard request failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(e)
    }
}

/// A job payload the catalogue refuses was built from the request (an export's period, a
/// person's number): 400 naming the field. A database error is a 500.
impl From<crate::platform::jobs::EnqueueError> for ApiError {
    fn from(e: crate::platform::jobs::EnqueueError) -> Self {
        match e {
            crate::platform::jobs::EnqueueError::Invalid(v) => ApiError::bad_request(v.to_string()),
            crate::platform::jobs::EnqueueError::Db(e) => ApiError::internal(e),
        }
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(e: redis::RedisError) -> Self {
        tracing::error!(error = %e, "redis failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "session store unavailable")
    }
}

pub type ApiResult<T = Response> = Result<T, ApiError>;

/// The dashboard's configuration from the state; the routes are only mounted when it exists.
pub fn dash(st: &AppState) -> ApiResult<&Dashboard> {
    st.dashboard.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dashboard API not configured (JWT_SECRET)",
        )
    })
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/auth/dashboard-login", post(auth::dashboard_login))
        .route(
            "/api/auth/dashboard-register",
            post(auth::dashboard_register),
        )
        .route("/api/auth/user-login", post(auth::user_login))
        .route(
            "/api/auth/dashboard-password-reset/request",
            post(password_reset::request),
        )
        .route(
            "/api/auth/dashboard-password-reset/confirm",
            post(password_reset::confirm),
        )
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/dashboard/users/{id}/approve", put(auth::approve))
        .route("/api/dashboard/users/{id}/reject", put(auth::reject))
        .route("/api/clients/profile", get(data::profile))
        .route("/api/users/list", get(users::list))
        .route("/api/users/create", post(users::create))
        .route("/api/users/{id}", put(users::update).get(social::person))
        .route(
            "/api/user_roles/update",
            put(users::move_roles).post(users::move_roles),
        )
        .route("/api/insta/rekap-likes", get(data::rekap_likes))
        .route("/api/tiktok/rekap-komentar", get(data::rekap_komentar))
        .route("/api/dashboard/stats", get(data::stats))
        .route("/api/aggregator", get(data::aggregator))
        .route("/api/amplify/rekap", get(data::amplify_rekap))
        .route("/api/amplify/rekap-khusus", get(data::amplify_rekap_khusus))
        .route("/api/dashboard/anev", get(data::anev))
        .route("/api/instagram/posts", get(data::instagram_posts))
        .route("/api/tiktok/posts", get(data::tiktok_posts))
        .route("/api/dashboard/komplain/insta", post(data::komplain_insta))
        .route(
            "/api/dashboard/komplain/tiktok",
            post(data::komplain_tiktok),
        )
        .route("/api/insta/rapid-profile", get(social::insta_profile))
        .route("/api/insta/rapid-info", get(social::insta_profile))
        .route(
            "/api/insta/rapid-posts",
            get(social::insta_posts_by_account),
        )
        .route(
            "/api/tiktok/rapid-posts",
            get(social::tiktok_posts_by_account),
        )
        .route("/api/tiktok/rapid-profile", get(social::tiktok_profile))
        .route("/api/tiktok/rapid-info", get(social::tiktok_profile))
        .route("/api/insta/posts", get(social::insta_today))
        .route("/api/insta/posts-khusus", get(social::insta_today_khusus))
        .route(
            "/api/link-reports",
            get(social::link_reports).post(social::create_link_report),
        )
        .route(
            "/api/clients/{client_id}/summary",
            get(data::client_summary),
        )
        .route(
            "/api/link-reports/{shortcode}",
            get(social::link_report)
                .put(social::update_link_report)
                .delete(social::delete_link_report),
        )
        .route(
            "/api/link-reports-khusus",
            get(social::link_reports_khusus).post(social::create_link_report_khusus),
        )
        .route(
            "/api/link-reports-khusus/{shortcode}",
            get(social::link_report_khusus)
                .put(social::update_link_report_khusus)
                .delete(social::delete_link_report_khusus),
        )
        .route("/api/premium/request", post(premium::create))
        .route("/api/premium/request/latest", get(premium::latest))
        .route("/api/premium/request/{token}", get(premium::show))
        .route(
            "/api/premium/request/{token}/confirm",
            put(premium::confirm),
        )
        .route(
            "/api/premium/request/{token}/approve",
            put(premium::approve),
        )
        .route("/api/premium/request/{token}/deny", put(premium::deny))
        .route(
            "/api/premium-requests/{id}/approve",
            put(premium::approve_mobile),
        )
        .route("/api/premium-requests/{id}/deny", put(premium::deny_mobile))
        .route(
            "/api/dashboard/premium/executive-recap",
            get(insights::executive_recap),
        )
        .route(
            "/api/dashboard/premium/risk-summary",
            get(insights::risk_summary),
        )
        .route("/api/exports", post(exports::create))
        .route("/api/exports/{id}", get(exports::status))
        .route("/api/exports/{id}/file", get(exports::file))
        .route("/api/amplify/rekap/excel", get(exports::amplify_excel))
        .route("/api/dashboard/anev/export", get(exports::anev_excel))
        .route("/api/link-reports/excel", get(exports::link_reports_excel))
        .route(
            "/api/link-reports/excel/by-user-shortcode",
            get(exports::link_report_detail_excel),
        )
        .route(
            "/api/link-reports-khusus/excel/by-user-shortcode",
            get(exports::link_report_detail_khusus_excel),
        )
        .route("/api/users/import", post(exports::import_users))
        .route("/api/users/import/{id}", get(exports::status))
}

/// CORS for the dashboard origin(s), with credentials (logout, complaints and claim calls
/// send cookies), the headers the client sends, and `Content-Disposition` exposed so
/// downloads keep their file name.
pub fn cors(d: &Dashboard) -> CorsLayer {
    let origins: Vec<HeaderValue> = d
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-client-id"),
            HeaderName::from_static("x-cicero-token"),
            HeaderName::from_static("x-cicero-reposter-token"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::CONTENT_DISPOSITION,
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// Paths the duplicate-request guard never looks at: the claim portal (legacy), the logins
/// (they have their own attempt limit and must work when the user retries), the job API.
pub fn dedup_exempt(method: &Method, path: &str) -> bool {
    method == Method::GET
        || method == Method::HEAD
        || method == Method::OPTIONS
        || path == "/"
        || path == "/api/claim"
        || path.starts_with("/api/claim/")
        || path == "/api/auth/dashboard-login"
        || path == "/api/auth/user-login"
        || path == "/api/auth/logout"
        // The admin console's OTP login has its own limits (codes per chat, tries per code), and
        // asking again for a code must work.
        || path.starts_with("/api/admin-system/auth/")
        // The job API is ours, not legacy: identical enqueues are legitimate (uniqueness is
        // the catalogue's `unique` rule there).
        || path.starts_with("/api/jobs")
        || path.starts_with("/api/queues")
        || path.starts_with("/api/schedules")
        // The operator's per-client pause (job API), not a legacy /api/clients route.
        || (path.starts_with("/api/clients/")
            && (path.ends_with("/pause") || path.ends_with("/resume")))
        // WAHA re-delivers identical webhooks; they are deduplicated by event id instead.
        || path.starts_with("/api/whatsapp/")
}

/// The caller part of a dedup key: the bearer token, else `X-Client-Id`, else the IP (legacy).
fn caller(parts: &axum::http::request::Parts) -> String {
    let h = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    h("authorization")
        .or_else(|| h("x-client-id"))
        .unwrap_or_else(|| auth::client_ip(&parts.headers, &parts.extensions))
}

/// Legacy `dedupRequest`: an identical non-GET request (method, URL, body, caller) within
/// 5 minutes gets 429. Unlike legacy, a request that failed (non-2xx) frees its key, so
/// correcting nothing and retrying after an error is not refused. Redis errors let the
/// request through, as in legacy.
pub async fn dedup(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(d) = st.dashboard.as_deref() else {
        return next.run(req).await;
    };
    if d.allow_duplicate_requests || dedup_exempt(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, 8 << 20).await {
        Ok(b) => b,
        Err(_) => return ApiError::bad_request("request body too large").into_response(),
    };
    let who = caller(&parts);
    let mut h = Sha256::new();
    h.update(parts.method.as_str());
    h.update(b"\n");
    h.update(parts.uri.to_string());
    h.update(b"\n");
    h.update(&bytes);
    h.update(b"\n");
    h.update(who);
    let key = d.key(&format!("dedup:{}", hex::encode(h.finalize())));
    let mut redis = d.redis.clone();
    let fresh: Result<bool, _> = redis::cmd("SET")
        .arg(&key)
        .arg(1)
        .arg("NX")
        .arg("EX")
        .arg(300)
        .query_async::<Option<String>>(&mut redis)
        .await
        .map(|r| r.is_some());
    if let Ok(false) = fresh {
        return ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Duplicate request detected")
            .into_response();
    }
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if fresh.is_ok() && !res.status().is_success() {
        let _: Result<(), _> = redis::cmd("DEL").arg(&key).query_async(&mut redis).await;
    }
    res
}

/// `{success:true, ...fields}`.
pub fn ok(fields: Value) -> Response {
    let mut body = json!({ "success": true });
    if let Value::Object(m) = fields {
        for (k, v) in m {
            body[k] = v;
        }
    }
    Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_exemptions() {
        let cases = [
            (Method::GET, "/api/users/list", true),
            (Method::OPTIONS, "/api/users/create", true),
            (Method::POST, "/api/claim", true),
            (Method::POST, "/api/claim/register", true),
            (Method::POST, "/api/claimx", false),
            (Method::POST, "/api/auth/dashboard-login", true),
            (Method::POST, "/api/auth/dashboard-register", false),
            (Method::POST, "/api/users/create", false),
            (Method::PUT, "/api/users/1", false),
            (Method::POST, "/api/jobs", true),
            (Method::POST, "/api/queues/maintenance/pause", true),
            (Method::POST, "/api/schedules/backup_db/run", true),
            (Method::POST, "/api/whatsapp/webhook", true),
            (Method::POST, "/api/clients/POLRES_A/pause", true),
            (Method::POST, "/api/clients/POLRES_A", false),
            (
                Method::POST,
                "/api/admin-system/auth/telegram/request",
                true,
            ),
            (
                Method::POST,
                "/api/admin-system/management/funds/transactions",
                false,
            ),
        ];
        for (m, p, exempt) in cases {
            assert_eq!(dedup_exempt(&m, p), exempt, "{m} {p}");
        }
    }
}

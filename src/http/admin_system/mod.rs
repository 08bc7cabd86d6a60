//! The admin console of the HEAD dashboard (`/admin-system/*`, contract §2.14): a Telegram-OTP
//! login of its own and the `/api/admin-system/management/*` calls. Its tokens are separate
//! from dashboard tokens (role `system_admin`, their own Redis session key), so neither works
//! on the other's routes. Served only with the dashboard (`JWT_SECRET`) and a bot with admin
//! chats (`TELEGRAM_BOT_TOKEN`, `TELEGRAM_ADMIN_CHAT_ID`). See `docs/admin-system.md`.
use std::sync::Arc;

use axum::{
    Router,
    extract::{FromRequestParts, State},
    http::{StatusCode, request::Parts},
    routing::{get, post, put},
};
use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::{
    AppState,
    dashboard::{ApiError, ApiResult, Dashboard, auth::bearer, dash},
};
use crate::config::AdminSystem;

pub mod auth;
pub mod clients;
pub mod funds;
pub mod overview;
pub mod system;

/// Lifetime of an admin token and its session (legacy: 2 hours).
pub const SESSION_SECS: u64 = 2 * 3600;
/// The JWT role of every admin token.
pub const ROLE: &str = "system_admin";

/// What the admin routes share: the application state, the settings and an HTTP client for
/// the Bot API.
pub struct Ctx {
    pub app: Arc<AppState>,
    pub settings: AdminSystem,
    pub http: reqwest::Client,
}

impl Ctx {
    pub fn dash(&self) -> ApiResult<&Dashboard> {
        dash(&self.app)
    }
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.app.pool
    }
}

/// The admin routes when the settings enable them (`TELEGRAM_BOT_TOKEN` and
/// `TELEGRAM_ADMIN_CHAT_ID`, carried in `AppState::admin_system`), else none.
pub fn routes<S: Clone + Send + Sync + 'static>(app: &Arc<AppState>) -> Router<S> {
    if app.admin_system.enabled() {
        routes_with(app.clone(), app.admin_system.clone())
    } else {
        Router::new()
    }
}

/// The admin routes with explicit settings (tests).
pub fn routes_with<S: Clone + Send + Sync + 'static>(
    app: Arc<AppState>,
    settings: AdminSystem,
) -> Router<S> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .unwrap_or_default();
    let ctx = Arc::new(Ctx {
        app,
        settings,
        http,
    });
    const M: &str = "/api/admin-system/management";
    Router::new()
        .route(
            "/api/admin-system/auth/telegram/request",
            post(auth::request),
        )
        .route("/api/admin-system/auth/telegram/verify", post(auth::verify))
        .route("/api/admin-system/auth/me", get(auth::me))
        .route("/api/admin-system/auth/logout", post(auth::logout))
        .route(&format!("{M}/overview"), get(overview::overview))
        .route(
            &format!("{M}/clients"),
            get(clients::list).post(clients::create),
        )
        .route(&format!("{M}/clients/summary"), get(clients::summary))
        .route(
            &format!("{M}/clients/{{client_id}}"),
            put(clients::update).delete(clients::delete),
        )
        .route(&format!("{M}/funds"), get(funds::overview))
        .route(
            &format!("{M}/funds/transactions"),
            get(funds::transactions).post(funds::create_transaction),
        )
        .route(
            &format!("{M}/funds/requests"),
            get(funds::requests).post(funds::create_request),
        )
        .route(
            &format!("{M}/funds/requests/{{request_id}}/approve"),
            post(funds::approve),
        )
        .route(
            &format!("{M}/funds/requests/{{request_id}}/reject"),
            post(funds::reject),
        )
        .route(&format!("{M}/funds/audit"), get(funds::audit))
        .route(
            &format!("{M}/funds/audit/export.csv"),
            get(funds::audit_csv),
        )
        .route(&format!("{M}/funds/summary"), get(funds::summary))
        .route(&format!("{M}/system-audit"), get(system::system_audit))
        .route(&format!("{M}/config"), get(system::config))
        .route(&format!("{M}/config/audit"), get(system::config_audit))
        .route(
            &format!("{M}/payments/requests"),
            get(system::payment_requests),
        )
        .route(
            &format!("{M}/payments/requests/{{request_id}}/decision"),
            post(system::payment_decision),
        )
        .with_state(ctx)
}

/// The claims of an admin token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub role: String,
    #[serde(default)]
    pub admin_role: String,
    #[serde(default)]
    pub telegram_chat_id: String,
    pub iat: i64,
    pub exp: i64,
}

/// An admin token: HS256 with `JWT_SECRET`, as the dashboard's (`auth::sign`).
pub fn sign(secret: &str, claims: &Claims) -> ApiResult<String> {
    super::dashboard::auth::sign(secret, claims)
}

fn verify_token(secret: &str, token: &str) -> ApiResult<Claims> {
    super::dashboard::auth::verify_as(secret, token)
}

/// A page of a list answer: `{success, data:{items, total, page, limit, total_pages}}`.
pub(super) fn page_json(
    items: serde_json::Value,
    total: i64,
    page: i64,
    limit: i64,
) -> serde_json::Value {
    serde_json::json!({
        "success": true,
        "data": {
            "items": items,
            "total": total,
            "page": page,
            "limit": limit,
            "total_pages": (total + limit - 1) / limit,
        },
    })
}

/// The actor of an admin's audit rows: `telegram:<chat id>`.
pub(super) fn actor(a: &Admin) -> String {
    format!("telegram:{}", a.chat_id)
}

/// The Redis key of an admin session; not the dashboard's `login_token:`, so an admin token
/// opens no dashboard session.
pub fn session_key(d: &Dashboard, token: &str) -> String {
    d.key(&format!("admin_system:login_token:{token}"))
}

/// A logged-in admin (any role): a valid `system_admin` token with a live session, whose chat
/// is still listed in `TELEGRAM_ADMIN_CHAT_ID`. 401 otherwise.
#[derive(Debug, Clone)]
pub struct Admin {
    pub token: String,
    pub chat_id: String,
    /// The role from `ADMIN_SYSTEM_ROLE_MAP` now (not the one at login).
    pub admin_role: String,
    pub expires_at: DateTime<Utc>,
}

impl FromRequestParts<Arc<Ctx>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Ctx>) -> ApiResult<Self> {
        let d = ctx.dash()?;
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::token("missing_token", "Token required"))?;
        let claims = verify_token(&d.jwt_secret, &token)?;
        if claims.role != ROLE || claims.telegram_chat_id.is_empty() {
            return Err(ApiError::token(
                "invalid_token",
                "Not an admin-system token",
            ));
        }
        let mut r = d.redis.clone();
        let session: Option<String> = r.get(session_key(d, &token)).await?;
        if session.as_deref() != Some(claims.telegram_chat_id.as_str()) {
            return Err(ApiError::token(
                "invalid_token",
                "Session expired or revoked",
            ));
        }
        let admin_role = ctx
            .settings
            .role_of(&claims.telegram_chat_id)
            .ok_or_else(|| ApiError::token("invalid_token", "No longer an admin"))?
            .to_owned();
        Ok(Admin {
            token,
            chat_id: claims.telegram_chat_id,
            admin_role,
            expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or_default(),
        })
    }
}

/// An admin who may change things: `super_admin` or `finance_admin` (403 for `auditor`).
#[derive(Debug, Clone)]
pub struct Writer(pub Admin);

impl FromRequestParts<Arc<Ctx>> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Ctx>) -> ApiResult<Self> {
        let a = Admin::from_request_parts(parts, ctx).await?;
        if a.admin_role == "super_admin" || a.admin_role == "finance_admin" {
            Ok(Writer(a))
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("role {} may only read", a.admin_role),
            ))
        }
    }
}

/// A `super_admin` (403 for the other roles).
#[derive(Debug, Clone)]
pub struct SuperAdmin(pub Admin);

impl FromRequestParts<Arc<Ctx>> for SuperAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Ctx>) -> ApiResult<Self> {
        let a = Admin::from_request_parts(parts, ctx).await?;
        if a.admin_role == "super_admin" {
            Ok(SuperAdmin(a))
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("only super_admin may do this (role {})", a.admin_role),
            ))
        }
    }
}

pub type CtxState = State<Arc<Ctx>>;

/// Records an admin's change in the board's audit log (`cicero.audit_log`), actor
/// `admin-system:<chat id>`.
pub async fn audit(
    pool: &sqlx::PgPool,
    admin: &Admin,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO cicero.audit_log (actor, action, target, detail) VALUES ($1, $2, $3, $4)",
    )
    .bind(format!("admin-system:{}", admin.chat_id))
    .bind(action)
    .bind(target)
    .bind(detail)
    .execute(pool)
    .await?;
    Ok(())
}

/// `page` (from 1) and `limit` (1..=100, default 20) of a list query; 400 when not numbers.
pub fn paging(page: Option<&str>, limit: Option<&str>) -> ApiResult<(i64, i64)> {
    let num =
        |name: &str, v: Option<&str>, default: i64| -> ApiResult<i64> {
            match v.map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    ApiError::bad_request(format!("{name} must be a positive integer"))
                }),
            }
        };
    Ok((num("page", page, 1)?, num("limit", limit, 20)?.min(100)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_defaults_and_bounds() {
        assert_eq!(paging(None, None).unwrap(), (1, 20));
        assert_eq!(paging(Some("3"), Some("500")).unwrap(), (3, 100));
        assert!(paging(Some("0"), None).is_err());
        assert!(paging(None, Some("x")).is_err());
    }
}

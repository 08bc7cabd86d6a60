//! Dashboard and personnel login (legacy claims, HS256, 2 h), the Redis session store
//! (`login_token:<jwt>` = `dashboard:<id>` / `user:<nrp>`, so logout and rejection revoke),
//! login attempt limits, registration and approval, and the [`DashUser`] extractor that
//! every dashboard route uses.
use std::sync::Arc;

use axum::{
    extract::{FromRequestParts, Path, State},
    http::{Extensions, HeaderMap, Method, StatusCode, header, request::Parts},
    response::Response,
};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;

use super::{ApiError, ApiResult, Dashboard, dash, ok};
use crate::http::AppState;

/// Session and token lifetime (legacy: JWT `expiresIn: 2h`, Redis EX 7200).
pub const SESSION_SECS: u64 = 7200;
/// Window of the failed-login counters.
const ATTEMPT_WINDOW_SECS: i64 = 900;

/// The legacy JWT claims: dashboard users carry the first block, personnel the second.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premium_status: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premium_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premium_expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nama: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

pub fn sign<C: serde::Serialize>(secret: &str, claims: &C) -> Result<String, ApiError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(ApiError::internal)
}

/// Verifies signature and expiry (no leeway: expired means expired).
pub fn verify_token(secret: &str, token: &str) -> Result<Claims, ApiError> {
    verify_as(secret, token)
}

/// [`verify_token`] for any claims type (the admin console's tokens).
pub fn verify_as<C: serde::de::DeserializeOwned>(secret: &str, token: &str) -> Result<C, ApiError> {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.required_spec_claims = ["exp".to_string()].into_iter().collect();
    jsonwebtoken::decode::<C>(token, &DecodingKey::from_secret(secret.as_bytes()), &v)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => ApiError::token("expired_token", "Token expired"),
            _ => ApiError::token("invalid_token", "Invalid token"),
        })
}

/// Legacy hashes are bcrypt (`$2a$/$2b$`, cost 10); hashes we write are argon2id.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordVerifier, phc::PasswordHash};
    if hash.starts_with("$2") {
        bcrypt::verify(password, hash).unwrap_or(false)
    } else if hash.starts_with("$argon2") {
        PasswordHash::new(hash)
            .map(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    } else {
        false
    }
}

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// Legacy `normalizeWhatsappNumber`: digits; unless they start with 62, one leading 0 is
/// dropped and 62 prefixed.
pub fn normalize_whatsapp(raw: &str) -> String {
    if !raw.chars().any(|c| c.is_ascii_digit()) {
        return String::new();
    }
    crate::whatsapp::address::normalize_number(raw)
}

/// Legacy `authRequired`: an operator may only reach these (path without `/api`).
pub fn operator_allowed(method: &Method, path: &str) -> bool {
    let p = path.strip_prefix("/api").unwrap_or(path);
    const EXACT: &[&str] = &[
        "/clients/profile",
        "/amplify/rekap",
        "/amplify/rekap-khusus",
        "/amplify-khusus/rekap",
        "/dashboard/stats",
        "/dashboard/login-web/recap",
        "/dashboard/social-media/instagram/analysis",
        "/dashboard/komplain/insta",
        "/dashboard/komplain/tiktok",
        "/insta/rekap-likes",
        "/insta/rapid-profile",
        "/tiktok/rekap-komentar",
        "/users",
        "/users/create",
        "/users/list",
    ];
    // Exports are ours (no legacy route): an operator may export what it may see.
    if EXACT.contains(&p)
        || p == "/aggregator"
        || p.starts_with("/aggregator/")
        || p == "/amplify/rekap/excel"
        || p == "/exports"
        || p.starts_with("/exports/")
        || p == "/users/import"
        // Not in legacy V2 (the HEAD client's downloads); `/link-reports/excel` is legacy and
        // stays off the list, as there.
        || p == "/link-reports/excel/by-user-shortcode"
        || p == "/link-reports-khusus/excel/by-user-shortcode"
        || p.starts_with("/users/import/")
    {
        return true;
    }
    let one_segment = |prefix: &str| {
        p.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    };
    match *method {
        Method::PUT => {
            one_segment("/users/")
                || one_segment("/link-reports/")
                || one_segment("/link-reports-khusus/")
        }
        Method::POST => p == "/link-reports" || p == "/link-reports-khusus",
        _ => false,
    }
}

/// The premium snapshot of a dashboard user.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Premium {
    pub premium_status: bool,
    pub premium_tier: Option<String>,
    pub premium_expires_at: Option<DateTime<Utc>>,
}

/// Legacy `dashboardPremiumGuard`, as a pure rule: the message of the 403, or `Ok`.
pub fn premium_check(
    p: &Premium,
    now: DateTime<Utc>,
    allowed: &[String],
) -> Result<(), &'static str> {
    if !p.premium_status {
        return Err("Akses premium diperlukan untuk endpoint ini");
    }
    if p.premium_expires_at.is_some_and(|e| e <= now) {
        return Err("Langganan premium telah kedaluwarsa");
    }
    let tier = p.premium_tier.as_deref().unwrap_or_default().to_lowercase();
    if !allowed.contains(&tier) {
        return Err("Premium tier tidak diizinkan untuk endpoint ini");
    }
    Ok(())
}

/// The signed-in dashboard user, checked against the session store and the database on
/// every request (an unapproved or rejected account loses access at once).
#[derive(Debug, Clone)]
pub struct DashUser {
    pub id: String,
    pub username: String,
    /// Effective role, lower case (a single direktorat client turns into its id).
    pub role: String,
    pub role_id: i32,
    /// The account's clients as stored (canonical case), sorted.
    pub client_ids: Vec<String>,
    pub premium: Premium,
    pub token: String,
}

impl DashUser {
    /// The primary client: the only one, else the first (the dashboard needs one).
    pub fn client_id(&self) -> Option<&str> {
        self.client_ids.first().map(String::as_str)
    }
    pub fn may_see(&self, client_id: &str) -> bool {
        self.client_ids
            .iter()
            .any(|c| c.eq_ignore_ascii_case(client_id))
    }
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

pub fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<Arc<AppState>> for DashUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> ApiResult<Self> {
        let (token, claims, session) = session(parts, st).await?;
        let session = session
            .ok_or_else(|| ApiError::token("invalid_token", "Session expired or revoked"))?;
        dashboard_user(parts, st, token, &claims, &session).await
    }
}

/// The bearer token, its verified claims and its Redis session (`None` when revoked or
/// expired): one signature check and one Redis read per request.
async fn session(parts: &Parts, st: &Arc<AppState>) -> ApiResult<(String, Claims, Option<String>)> {
    let d = dash(st)?;
    let token =
        bearer(&parts.headers).ok_or_else(|| ApiError::token("missing_token", "Token required"))?;
    let claims = verify_token(&d.jwt_secret, &token)?;
    let mut redis = d.redis.clone();
    let session: Option<String> = redis.get(d.key(&format!("login_token:{token}"))).await?;
    Ok((token, claims, session))
}

/// The checks after a live session: it is a dashboard session of the token's account, the
/// account is approved and has clients, and an operator stays on the legacy allow-list.
async fn dashboard_user(
    parts: &Parts,
    st: &Arc<AppState>,
    token: String,
    claims: &Claims,
    session: &str,
) -> ApiResult<DashUser> {
    let Some(id) = session.strip_prefix("dashboard:") else {
        return Err(ApiError::forbidden("Token bukan token dashboard"));
    };
    if claims.dashboard_user_id.as_deref() != Some(id) {
        return Err(ApiError::token("invalid_token", "Invalid token"));
    }
    let user = load_user(&st.pool, id)
        .await?
        .ok_or_else(|| ApiError::token("invalid_token", "Account no longer exists"))?;
    if !user.status {
        return Err(ApiError::forbidden("Akun belum disetujui"));
    }
    if user.client_ids.is_empty() {
        return Err(ApiError::forbidden(
            "Operator belum memiliki klien yang diizinkan",
        ));
    }
    let u = user.into_dash(token);
    if u.role == "operator" && !operator_allowed(&parts.method, parts.uri.path()) {
        return Err(ApiError::forbidden(
            "Akses operator tidak diizinkan untuk endpoint ini",
        ));
    }
    Ok(u)
}

/// A dashboard account's WhatsApp number (`dashboard_user.whatsapp`), if any.
pub async fn account_whatsapp<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    id: Option<&str>,
) -> sqlx::Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT whatsapp::text FROM dashboard_user WHERE dashboard_user_id::text = $1",
    )
    .bind(id)
    .fetch_optional(exec)
    .await?
    .flatten())
}

/// Any signed-in caller: a dashboard account, or a person (claim portal / reposter token).
#[derive(Debug, Clone)]
pub enum Caller {
    Dashboard(DashUser),
    Person { nrp: String },
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> ApiResult<Self> {
        let (token, claims, session) = session(parts, st).await?;
        let session = session
            .ok_or_else(|| ApiError::token("invalid_token", "Session expired or revoked"))?;
        match session.strip_prefix("user:") {
            Some(nrp) if claims.user_id.as_deref() == Some(nrp) => Ok(Caller::Person {
                nrp: nrp.to_owned(),
            }),
            Some(_) => Err(ApiError::token("invalid_token", "Invalid token")),
            None => dashboard_user(parts, st, token, &claims, &session)
                .await
                .map(Caller::Dashboard),
        }
    }
}

struct StoredUser {
    id: String,
    username: String,
    password_hash: String,
    status: bool,
    role_id: i32,
    role_name: String,
    client_ids: Vec<String>,
    /// client_type of each client, same order.
    client_types: Vec<String>,
    premium: Premium,
}

impl StoredUser {
    fn effective_role(&self) -> String {
        if self.client_ids.len() == 1 && self.client_types[0].eq_ignore_ascii_case("direktorat") {
            self.client_ids[0].to_lowercase()
        } else {
            self.role_name.to_lowercase()
        }
    }
    fn into_dash(self, token: String) -> DashUser {
        DashUser {
            role: self.effective_role(),
            id: self.id,
            username: self.username,
            role_id: self.role_id,
            client_ids: self.client_ids,
            premium: self.premium,
            token,
        }
    }
}

/// One dashboard user with role, clients and premium (the active subscription first, else
/// the cached columns), by id or by username.
async fn load_user_where(
    pool: &sqlx::PgPool,
    by_id: bool,
    key: &str,
) -> sqlx::Result<Option<StoredUser>> {
    let sql = if by_id {
        "SELECT du.dashboard_user_id::text AS id, du.username, du.password_hash, \
         coalesce(du.status, true) AS status, du.role_id, coalesce(r.role_name, '') AS role_name, \
         du.premium_status, du.premium_tier, du.premium_expires_at \
         FROM dashboard_user du LEFT JOIN roles r ON r.role_id = du.role_id \
         WHERE du.dashboard_user_id::text = $1"
    } else {
        "SELECT du.dashboard_user_id::text AS id, du.username, du.password_hash, \
         coalesce(du.status, true) AS status, du.role_id, coalesce(r.role_name, '') AS role_name, \
         du.premium_status, du.premium_tier, du.premium_expires_at \
         FROM dashboard_user du LEFT JOIN roles r ON r.role_id = du.role_id \
         WHERE du.username = $1"
    };
    let Some(row) = sqlx::query(sql).bind(key).fetch_optional(pool).await? else {
        return Ok(None);
    };
    let id: String = row.try_get("id")?;
    let clients = sqlx::query(
        "SELECT c.client_id, coalesce(c.client_type, '') AS client_type \
         FROM dashboard_user_clients duc JOIN clients c ON c.client_id = duc.client_id \
         WHERE duc.dashboard_user_id::text = $1 ORDER BY c.client_id",
    )
    .bind(&id)
    .fetch_all(pool)
    .await?;
    let sub = sqlx::query(
        "SELECT tier, expires_at FROM dashboard_user_subscriptions \
         WHERE dashboard_user_id::text = $1 AND status = 'active' AND canceled_at IS NULL \
         ORDER BY expires_at DESC LIMIT 1",
    )
    .bind(&id)
    .fetch_optional(pool)
    .await?;
    let premium = match sub {
        Some(s) => Premium {
            premium_status: true,
            premium_tier: s.try_get("tier")?,
            premium_expires_at: s.try_get("expires_at")?,
        },
        None => Premium {
            premium_status: row
                .try_get::<Option<bool>, _>("premium_status")?
                .unwrap_or(false),
            premium_tier: row.try_get("premium_tier")?,
            premium_expires_at: row.try_get("premium_expires_at")?,
        },
    };
    Ok(Some(StoredUser {
        id,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        status: row.try_get("status")?,
        role_id: row.try_get("role_id")?,
        role_name: row.try_get("role_name")?,
        client_ids: clients
            .iter()
            .map(|r| r.try_get("client_id"))
            .collect::<Result<_, _>>()?,
        client_types: clients
            .iter()
            .map(|r| r.try_get("client_type"))
            .collect::<Result<_, _>>()?,
        premium,
    }))
}

async fn load_user(pool: &sqlx::PgPool, id: &str) -> sqlx::Result<Option<StoredUser>> {
    load_user_where(pool, true, id).await
}

/// The caller's IP for attempt limits and dedup: the last `X-Forwarded-For` hop (the one our
/// own proxy appended), else the socket peer.
pub fn client_ip(headers: &HeaderMap, ext: &Extensions) -> String {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .or_else(|| {
            ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Failed-login counters per username and per IP; over the limit → 429 before any check.
struct Attempts {
    keys: [String; 2],
}

impl Attempts {
    fn new(d: &Dashboard, kind: &str, name: &str, ip: &str) -> Self {
        Attempts {
            keys: [
                d.key(&format!("login_attempts:{kind}:{}", name.to_lowercase())),
                d.key(&format!("login_attempts:ip:{ip}")),
            ],
        }
    }
    async fn check(&self, d: &Dashboard) -> ApiResult<()> {
        let mut r = d.redis.clone();
        for k in &self.keys {
            let n: Option<u32> = r.get(k).await?;
            if n.unwrap_or(0) >= d.login_max_attempts {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Terlalu banyak percobaan login, coba lagi dalam 15 menit",
                ));
            }
        }
        Ok(())
    }
    async fn failed(&self, d: &Dashboard) -> ApiResult<()> {
        let mut r = d.redis.clone();
        for k in &self.keys {
            let n: i64 = r.incr(k, 1).await?;
            if n == 1 {
                let _: () = r.expire(k, ATTEMPT_WINDOW_SECS).await?;
            }
        }
        Ok(())
    }
    async fn succeeded(&self, d: &Dashboard) -> ApiResult<()> {
        let mut r = d.redis.clone();
        let _: () = r.del(&self.keys[0]).await?;
        Ok(())
    }
}

/// Stores a session (legacy keys) so that the token is accepted until logout or revocation.
async fn open_session(d: &Dashboard, token: &str, value: &str, set: &str) -> ApiResult<()> {
    let mut r = d.redis.clone();
    let _: () = r
        .set_ex(d.key(&format!("login_token:{token}")), value, SESSION_SECS)
        .await?;
    let set = d.key(set);
    let _: () = r.sadd(&set, token).await?;
    let _: () = r.expire(&set, SESSION_SECS as i64).await?;
    Ok(())
}

/// Ends every session of a dashboard user (rejection, password change).
pub async fn revoke_all(d: &Dashboard, dashboard_user_id: &str) -> ApiResult<()> {
    let mut r = d.redis.clone();
    let set = d.key(&format!("dashboard_login:{dashboard_user_id}"));
    let tokens: Vec<String> = r.smembers(&set).await?;
    for t in tokens {
        let _: () = r.del(d.key(&format!("login_token:{t}"))).await?;
    }
    let _: () = r.del(&set).await?;
    Ok(())
}

/// A required, trimmed string field of a JSON body.
pub fn field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Parses a JSON object body; anything else is a 400 with a message.
pub fn json_body(bytes: &[u8]) -> ApiResult<Value> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(ApiError::bad_request("request body must be a JSON object")),
    }
}

/// `POST /api/auth/dashboard-login {username, password}`.
pub async fn dashboard_login(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    ext: Extensions,
    body: axum::body::Bytes,
) -> ApiResult {
    let d = dash(&st)?;
    let body = json_body(&body)?;
    let (Some(username), Some(password)) = (field(&body, "username"), field(&body, "password"))
    else {
        return Err(ApiError::bad_request("username dan password wajib diisi"));
    };
    let attempts = Attempts::new(d, "dashboard", username, &client_ip(&headers, &ext));
    attempts.check(d).await?;
    let user = load_user_where(&st.pool, false, username).await?;
    let Some(user) = user.filter(|u| verify_password(password, &u.password_hash)) else {
        attempts.failed(d).await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Username atau password salah",
        ));
    };
    attempts.succeeded(d).await?;
    if !user.status {
        return Err(ApiError::forbidden("Akun belum disetujui"));
    }
    if user.client_ids.is_empty() {
        return Err(ApiError::bad_request(
            "Operator belum memiliki klien yang diizinkan",
        ));
    }
    let now = Utc::now().timestamp();
    let claims = Claims {
        dashboard_user_id: Some(user.id.clone()),
        username: Some(user.username.clone()),
        role: user.effective_role(),
        role_id: Some(user.role_id),
        client_ids: user.client_ids.clone(),
        // The dashboard cannot work without one client id (contract §4.4): the primary one.
        client_id: user.client_ids.first().cloned(),
        premium_status: Some(user.premium.premium_status),
        premium_tier: user.premium.premium_tier.clone(),
        premium_expires_at: user.premium.premium_expires_at,
        iat: now,
        exp: now + SESSION_SECS as i64,
        ..Claims::default()
    };
    let token = sign(&d.jwt_secret, &claims)?;
    open_session(
        d,
        &token,
        &format!("dashboard:{}", user.id),
        &format!("dashboard_login:{}", user.id),
    )
    .await?;
    sqlx::query(
        "INSERT INTO login_log (actor_id, login_type, login_source) VALUES ($1, 'operator', 'web')",
    )
    .bind(&user.id)
    .execute(&st.pool)
    .await?;
    let mut user_json = serde_json::to_value(&claims).unwrap_or_default();
    user_json["user_id"] = json!(user.id);
    Ok(ok(json!({ "token": token, "user": user_json })))
}

/// `POST /api/auth/logout`: best effort; revokes the session of the bearer token.
pub async fn logout(State(st): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult {
    let d = dash(&st)?;
    if let Some(token) = bearer(&headers) {
        let mut r = d.redis.clone();
        let key = d.key(&format!("login_token:{token}"));
        let session: Option<String> = r.get(&key).await?;
        let _: () = r.del(&key).await?;
        if let Some(s) = session {
            let set = match s.split_once(':') {
                Some(("dashboard", id)) => format!("dashboard_login:{id}"),
                Some(("user", nrp)) => format!("user_login:{nrp}"),
                _ => String::new(),
            };
            if !set.is_empty() {
                let _: () = r.srem(d.key(&set), &token).await?;
            }
        }
    }
    Ok(ok(json!({ "message": "Logout berhasil" })))
}

/// `POST /api/auth/dashboard-register`: `{username, password, whatsapp | email, role?,
/// role_id?, client_id? | client_ids?}`. The account starts unapproved (`status: false`).
pub async fn dashboard_register(
    State(st): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let (Some(username), Some(password)) = (field(&body, "username"), field(&body, "password"))
    else {
        return Err(ApiError::bad_request("username dan password wajib diisi"));
    };
    if username.contains(char::is_whitespace) {
        return Err(ApiError::bad_request(
            "username tidak boleh mengandung spasi",
        ));
    }
    if password.chars().count() < 8 {
        return Err(ApiError::bad_request("password minimal 8 karakter"));
    }
    let whatsapp = field(&body, "whatsapp").map(normalize_whatsapp);
    let email = field(&body, "email").map(str::to_lowercase);
    if whatsapp.as_ref().is_some_and(|w| w.len() < 8) {
        return Err(ApiError::bad_request("whatsapp minimal 8 digit"));
    }
    if email.as_ref().is_some_and(|e| !valid_email(e)) {
        return Err(ApiError::bad_request("email tidak valid"));
    }
    if whatsapp.is_none() && email.is_none() {
        return Err(ApiError::bad_request("whatsapp atau email wajib diisi"));
    }
    let role = field(&body, "role").unwrap_or("operator").to_lowercase();
    let role_id: Option<i32> = match body.get("role_id").and_then(Value::as_i64) {
        Some(id) => {
            sqlx::query_scalar("SELECT role_id FROM roles WHERE role_id = $1")
                .bind(id as i32)
                .fetch_optional(&st.pool)
                .await?
        }
        None => {
            sqlx::query_scalar("SELECT role_id FROM roles WHERE lower(role_name) = $1")
                .bind(&role)
                .fetch_optional(&st.pool)
                .await?
        }
    };
    let role_id = role_id.ok_or_else(|| ApiError::bad_request("role tidak dikenal"))?;
    if role == "admin" || body.get("role_id").is_some() && is_admin_role(&st.pool, role_id).await? {
        return Err(ApiError::forbidden("role admin tidak dapat didaftarkan"));
    }
    let mut wanted: Vec<String> = match body.get("client_ids") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    wanted.extend(field(&body, "client_id").map(str::to_owned));
    let client_ids: Vec<String> = sqlx::query_scalar(
        "SELECT client_id FROM clients WHERE lower(client_id) = ANY($1) ORDER BY client_id",
    )
    .bind(wanted.iter().map(|c| c.to_lowercase()).collect::<Vec<_>>())
    .fetch_all(&st.pool)
    .await?;
    if client_ids.len()
        < wanted
            .iter()
            .map(|c| c.to_lowercase())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    {
        return Err(ApiError::bad_request("client_id tidak dikenal"));
    }
    if role == "operator" && client_ids.is_empty() {
        return Err(ApiError::bad_request(
            "operator wajib memilih minimal satu client_id",
        ));
    }
    let hash = hash_password(password)?;
    let mut tx = st.pool.begin().await?;
    let id: Option<String> = sqlx::query_scalar(
        "INSERT INTO dashboard_user (username, password_hash, role_id, status, whatsapp, email) \
         VALUES ($1, $2, $3, false, $4, $5) ON CONFLICT (username) DO NOTHING \
         RETURNING dashboard_user_id::text",
    )
    .bind(username)
    .bind(&hash)
    .bind(role_id)
    .bind(&whatsapp)
    .bind(&email)
    .fetch_optional(&mut *tx)
    .await?;
    let id = id.ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "username sudah terdaftar"))?;
    for c in &client_ids {
        sqlx::query("INSERT INTO dashboard_user_clients (dashboard_user_id, client_id) VALUES ($1::uuid, $2)")
            .bind(&id)
            .bind(c)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        ok(json!({
            "dashboard_user_id": id,
            "status": false,
            "message": "Registrasi berhasil, menunggu persetujuan admin",
        })),
    )
        .into_response_with_status())
}

async fn is_admin_role(pool: &sqlx::PgPool, role_id: i32) -> sqlx::Result<bool> {
    let name: Option<String> = sqlx::query_scalar("SELECT role_name FROM roles WHERE role_id = $1")
        .bind(role_id)
        .fetch_optional(pool)
        .await?;
    Ok(name.is_some_and(|n| n.eq_ignore_ascii_case("admin")))
}

fn valid_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// Sets the status of the response built by [`ok`].
trait WithStatus {
    fn into_response_with_status(self) -> Response;
}
impl WithStatus for (StatusCode, Response) {
    fn into_response_with_status(self) -> Response {
        let (status, mut res) = self;
        *res.status_mut() = status;
        res
    }
}

async fn set_approval(st: &AppState, caller: &DashUser, id: &str, approve: bool) -> ApiResult {
    if !caller.is_admin() {
        return Err(ApiError::forbidden(
            "Hanya admin yang dapat menyetujui akun",
        ));
    }
    let done: Option<String> = sqlx::query_scalar(
        "UPDATE dashboard_user SET status = $2, updated_at = now() \
         WHERE dashboard_user_id::text = $1 RETURNING username",
    )
    .bind(id)
    .bind(approve)
    .fetch_optional(&st.pool)
    .await?;
    let username = done.ok_or_else(|| ApiError::not_found("User tidak ditemukan"))?;
    if !approve {
        revoke_all(dash(st)?, id).await?;
    }
    Ok(ok(json!({
        "data": { "dashboard_user_id": id, "username": username, "status": approve }
    })))
}

/// `PUT /api/dashboard/users/{id}/approve` (admin only).
pub async fn approve(
    State(st): State<Arc<AppState>>,
    caller: DashUser,
    Path(id): Path<String>,
) -> ApiResult {
    set_approval(&st, &caller, &id, true).await
}

/// `PUT /api/dashboard/users/{id}/reject` (admin only): unapproves and ends its sessions.
pub async fn reject(
    State(st): State<Arc<AppState>>,
    caller: DashUser,
    Path(id): Path<String>,
) -> ApiResult {
    set_approval(&st, &caller, &id, false).await
}

/// `POST /api/auth/user-login {nrp, password | whatsapp}`: personnel (claim portal,
/// reposter). As in legacy the "password" is the person's WhatsApp number.
pub async fn user_login(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    ext: Extensions,
    body: axum::body::Bytes,
) -> ApiResult {
    let d = dash(&st)?;
    let body = json_body(&body)?;
    let nrp: String = body
        .get("nrp")
        .map(|v| match v {
            Value::Number(n) => n.to_string(),
            other => other.as_str().unwrap_or_default().to_owned(),
        })
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let secret = field(&body, "password").or_else(|| field(&body, "whatsapp"));
    let Some(secret) = secret.filter(|_| !nrp.is_empty()) else {
        return Err(ApiError::bad_request("nrp dan password wajib diisi"));
    };
    let attempts = Attempts::new(d, "user", &nrp, &client_ip(&headers, &ext));
    attempts.check(d).await?;
    let row = sqlx::query(
        "SELECT u.user_id, u.nama, u.title, u.divisi, u.jabatan, u.client_id, u.whatsapp, u.email, \
         u.insta, u.tiktok, c.nama AS nama_client \
         FROM \"user\" u LEFT JOIN clients c ON c.client_id = u.client_id \
         WHERE u.user_id = $1 AND coalesce(u.status, true)",
    )
    .bind(&nrp)
    .fetch_optional(&st.pool)
    .await?;
    let matches = |stored: &str| {
        let given: String = secret.chars().filter(char::is_ascii_digit).collect();
        !given.is_empty()
            && (normalize_whatsapp(stored) == normalize_whatsapp(&given)
                || stored
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    == given)
    };
    // Legacy: the "password" is the person's WhatsApp number. Once the person has confirmed a
    // password on the claim portal, only that password is accepted (as the newer legacy
    // backend does: colleagues may know the number).
    let accepted = match &row {
        Some(r) => {
            match crate::http::claim::register::portal_password_check(&st.pool, &nrp, secret)
                .await?
            {
                Some(ok) => ok,
                None => r
                    .try_get::<Option<String>, _>("whatsapp")?
                    .is_some_and(|w| matches(&w)),
            }
        }
        None => false,
    };
    let row = match row {
        Some(r) if accepted => r,
        _ => {
            attempts.failed(d).await?;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "NRP atau password salah",
            ));
        }
    };
    attempts.succeeded(d).await?;
    let nama: Option<String> = row.try_get("nama")?;
    let client_id: Option<String> = row.try_get("client_id")?;
    let now = Utc::now().timestamp();
    let claims = Claims {
        user_id: Some(nrp.clone()),
        nama: nama.clone(),
        role: "user".into(),
        client_id: client_id.clone(),
        iat: now,
        exp: now + SESSION_SECS as i64,
        ..Claims::default()
    };
    let token = sign(&d.jwt_secret, &claims)?;
    open_session(
        d,
        &token,
        &format!("user:{nrp}"),
        &format!("user_login:{nrp}"),
    )
    .await?;
    sqlx::query(
        "INSERT INTO login_log (actor_id, login_type, login_source) VALUES ($1, 'user', 'web')",
    )
    .bind(&nrp)
    .execute(&st.pool)
    .await?;
    let s = |c: &str| row.try_get::<Option<String>, _>(c).ok().flatten();
    Ok(ok(json!({
        "token": token,
        "user": {
            "user_id": nrp, "nrp": nrp, "nama": nama, "role": "user", "client_id": client_id,
            "nama_client": s("nama_client"), "title": s("title"), "divisi": s("divisi"),
            "jabatan": s("jabatan"), "whatsapp": s("whatsapp"), "email": s("email"),
            "insta": s("insta"), "tiktok": s("tiktok"),
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_numbers_normalise_like_legacy() {
        for (raw, want) in [
            ("0812-3456-789", "628123456789"),
            ("628123456789", "628123456789"),
            ("+62 812 3456", "628123456"),
            ("8123", "628123"),
            ("", ""),
        ] {
            assert_eq!(normalize_whatsapp(raw), want, "{raw}");
        }
    }

    #[test]
    fn operator_allow_list() {
        let cases = [
            (Method::GET, "/api/clients/profile", true),
            (Method::GET, "/api/insta/rekap-likes", true),
            (Method::GET, "/api/aggregator", true),
            (Method::GET, "/api/aggregator/refresh", true),
            (Method::GET, "/api/users/list", true),
            (Method::PUT, "/api/users/75020001", true),
            (Method::GET, "/api/users/75020001", false),
            (Method::PUT, "/api/users/1/roles", false),
            (Method::POST, "/api/link-reports", true),
            (Method::GET, "/api/link-reports", false),
            (Method::GET, "/api/dashboard/anev", false),
            (Method::GET, "/api/instagram/posts", false),
            (Method::PUT, "/api/user_roles/update", false),
            (Method::GET, "/api/amplify/rekap/excel", true),
            (Method::POST, "/api/exports", true),
            (Method::GET, "/api/exports/7/file", true),
            (Method::GET, "/api/link-reports/excel", false),
            (
                Method::GET,
                "/api/link-reports/excel/by-user-shortcode",
                true,
            ),
            (
                Method::GET,
                "/api/link-reports-khusus/excel/by-user-shortcode",
                true,
            ),
        ];
        for (m, p, want) in cases {
            assert_eq!(operator_allowed(&m, p), want, "{m} {p}");
        }
    }

    #[test]
    fn premium_guard_rules() {
        let now = Utc::now();
        let allowed = vec!["tier1".to_string(), "tier2".to_string()];
        let p = |status, tier: Option<&str>, exp: Option<i64>| Premium {
            premium_status: status,
            premium_tier: tier.map(str::to_owned),
            premium_expires_at: exp.map(|h| now + chrono::Duration::hours(h)),
        };
        assert!(premium_check(&p(true, Some("TIER1"), Some(5)), now, &allowed).is_ok());
        assert!(premium_check(&p(true, Some("tier2"), None), now, &allowed).is_ok());
        assert_eq!(
            premium_check(&p(false, Some("tier1"), None), now, &allowed),
            Err("Akses premium diperlukan untuk endpoint ini")
        );
        assert_eq!(
            premium_check(&p(true, Some("tier1"), Some(-1)), now, &allowed),
            Err("Langganan premium telah kedaluwarsa")
        );
        assert_eq!(
            premium_check(&p(true, Some("tier3"), Some(1)), now, &allowed),
            Err("Premium tier tidak diizinkan untuk endpoint ini")
        );
    }

    #[test]
    fn passwords_bcrypt_and_argon2() {
        let legacy = bcrypt::hash("rahasia123", 4).unwrap();
        assert!(verify_password("rahasia123", &legacy));
        assert!(!verify_password("salah", &legacy));
        let new = hash_password("rahasia123").unwrap();
        assert!(new.starts_with("$argon2id$"));
        assert!(verify_password("rahasia123", &new));
        assert!(!verify_password("salah", &new));
        assert!(!verify_password("x", "plain"));
    }

    #[test]
    fn tokens_expire_and_need_the_secret() {
        let now = Utc::now().timestamp();
        let c = Claims {
            role: "operator".into(),
            iat: now,
            exp: now + 60,
            ..Claims::default()
        };
        let t = sign("secret-0123456789", &c).unwrap();
        assert_eq!(
            verify_token("secret-0123456789", &t).unwrap().role,
            "operator"
        );
        assert_eq!(
            verify_token("other-secret-0123", &t).unwrap_err().reason,
            Some("invalid_token")
        );
        let old = sign("secret-0123456789", &Claims { exp: now - 5, ..c }).unwrap();
        assert_eq!(
            verify_token("secret-0123456789", &old).unwrap_err().reason,
            Some("expired_token")
        );
    }
}

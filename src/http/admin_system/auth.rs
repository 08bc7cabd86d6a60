//! Telegram OTP login of the admin console: a 6-digit code sent by the bot to an admin chat,
//! stored only as a hash in Redis for 5 minutes with 3 wrong tries, exchanged for a 2-hour
//! `system_admin` token with a Redis session.
use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use redis::AsyncCommands;
use serde_json::{Value, json};

use super::{Admin, Claims, Ctx, ROLE, SESSION_SECS, session_key, sign};
use crate::{
    http::dashboard::{ApiError, ApiResult, Dashboard, auth::json_body},
    otp,
};

/// Codes one chat may be sent per [`REQUEST_WINDOW_SECS`] (the bot must not be usable to
/// flood an admin's chat).
pub const MAX_REQUESTS: i64 = 5;
pub const REQUEST_WINDOW_SECS: i64 = 900;

fn otp_key(d: &Dashboard, request_id: &str) -> String {
    d.key(&format!("admin_system:otp:{request_id}"))
}

/// A string or number field, trimmed (chat ids are often sent as numbers).
fn text(body: &Value, name: &str) -> Option<String> {
    match body.get(name)? {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// The chat a request names: `telegram_chat_id`, or `telegram_username` (with or without `@`)
/// when it is itself a listed chat id (the Bot API cannot look a user up by name).
fn chat_of(body: &Value) -> ApiResult<String> {
    if let Some(c) = text(body, "telegram_chat_id") {
        return Ok(c);
    }
    if let Some(u) = text(body, "telegram_username") {
        return Ok(u.trim_start_matches('@').to_owned());
    }
    Err(ApiError::bad_request(
        "telegram_chat_id or telegram_username is required",
    ))
}

/// `POST /api/admin-system/auth/telegram/request {telegram_chat_id | telegram_username}`:
/// sends a code to a listed admin chat (403 for any other, nothing sent).
pub async fn request(State(ctx): State<Arc<Ctx>>, body: Bytes) -> ApiResult {
    let d = ctx.dash()?;
    let body = json_body(&body)?;
    let chat = chat_of(&body)?;
    if ctx.settings.role_of(&chat).is_none() {
        return Err(ApiError::forbidden(
            "This Telegram account is not an admin-system admin",
        ));
    }
    let token = ctx.settings.bot_token.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "TELEGRAM_BOT_TOKEN not configured",
        )
    })?;
    let mut r = d.redis.clone();
    let counter = d.key(&format!("admin_system:otp_requests:{chat}"));
    let sent: i64 = r.incr(&counter, 1).await?;
    if sent == 1 {
        let _: () = r.expire(&counter, REQUEST_WINDOW_SECS).await?;
    }
    if sent > MAX_REQUESTS {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many OTP requests for this chat; try again later",
        ));
    }
    let request_id = ulid::Ulid::generate().to_string();
    let code = otp::generate();
    let record = json!({"hash": otp::hash(&chat, &code), "chat_id": chat, "attempts": 0});
    let key = otp_key(d, &request_id);
    let _: () = r
        .set_ex(&key, record.to_string(), otp::TTL.as_secs())
        .await?;
    let text = format!(
        "Kode OTP Admin System Cicero: {code}\nBerlaku {} menit. Jangan bagikan kode ini.",
        otp::TTL.as_secs() / 60
    );
    if let Err(e) = send_message(&ctx, token, &chat, &text).await {
        let _: () = r.del(&key).await?;
        return Err(e);
    }
    Ok(Json(json!({
        "success": true,
        "message": "OTP sent to Telegram",
        "request_id": request_id,
        "expires_in": otp::TTL.as_secs(),
    }))
    .into_response())
}

/// The Bot API's `sendMessage`; a refusal (`ok: false`) or an unreachable API is a 502.
async fn send_message(ctx: &Ctx, token: &str, chat: &str, text: &str) -> ApiResult<()> {
    let url = format!("{}/bot{token}/sendMessage", ctx.settings.api_url);
    let res = ctx
        .http
        .post(url)
        .json(&json!({"chat_id": chat, "text": text}))
        .send()
        .await
        .map_err(|e| {
            // The URL holds the bot token: log only the kind of failure.
            tracing::error!(error = %e.without_url(), "telegram sendMessage failed");
            ApiError::new(StatusCode::BAD_GATEWAY, "Telegram unreachable")
        })?;
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if body["ok"] == json!(true) {
        return Ok(());
    }
    let why = body["description"].as_str().unwrap_or("no answer");
    tracing::warn!(chat, description = why, "telegram refused the OTP message");
    Err(ApiError::new(
        StatusCode::BAD_GATEWAY,
        format!("Telegram refused the message: {why}"),
    ))
}

/// Atomic check of a code: compare the hash, count wrong tries (keeping the TTL), delete on
/// success or on the last try.
const VERIFY_LUA: &str = r#"
local v = redis.call('GET', KEYS[1])
if not v then return {'missing', ''} end
local r = cjson.decode(v)
local max = tonumber(ARGV[2])
if r.hash == ARGV[1] and r.attempts < max then
  redis.call('DEL', KEYS[1])
  return {'valid', r.chat_id}
end
r.attempts = r.attempts + 1
if r.attempts >= max then
  redis.call('DEL', KEYS[1])
  return {'locked', ''}
end
redis.call('SET', KEYS[1], cjson.encode(r), 'KEEPTTL')
return {'wrong', tostring(max - r.attempts)}
"#;

/// `POST /api/admin-system/auth/telegram/verify {request_id, otp_code}` -> `{token}`.
/// A wrong code is a 401 (3 tries; the third wrong one ends the request), an unknown or
/// expired request a 400.
pub async fn verify(State(ctx): State<Arc<Ctx>>, body: Bytes) -> ApiResult {
    let d = ctx.dash()?;
    let body = json_body(&body)?;
    let request_id =
        text(&body, "request_id").ok_or_else(|| ApiError::bad_request("request_id is required"))?;
    let code =
        text(&body, "otp_code").ok_or_else(|| ApiError::bad_request("otp_code is required"))?;
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request("otp_code must be 6 digits"));
    }
    let key = otp_key(d, &request_id);
    let mut r = d.redis.clone();
    // The hash binds the code to the chat it was sent to.
    let stored: Option<String> = r.get(&key).await?;
    let chat = stored
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|v| v["chat_id"].as_str().map(str::to_owned))
        .ok_or_else(|| {
            ApiError::bad_request("OTP expired or unknown request_id; request a new one")
        })?;
    let (outcome, detail): (String, String) = redis::Script::new(VERIFY_LUA)
        .key(&key)
        .arg(otp::hash(&chat, &code))
        .arg(otp::MAX_ATTEMPTS)
        .invoke_async(&mut r)
        .await?;
    match outcome.as_str() {
        "valid" => {}
        "wrong" => {
            return Err(ApiError::token("invalid_otp", "Wrong OTP code")
                .with_extra(json!({"remaining_attempts": detail.parse::<u32>().unwrap_or(0)})));
        }
        "locked" => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many wrong OTP codes; request a new one",
            ));
        }
        _ => {
            return Err(ApiError::bad_request(
                "OTP expired or unknown request_id; request a new one",
            ));
        }
    }
    let admin_role = ctx
        .settings
        .role_of(&detail)
        .ok_or_else(|| ApiError::forbidden("This Telegram account is not an admin-system admin"))?
        .to_owned();
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        role: ROLE.into(),
        admin_role: admin_role.clone(),
        telegram_chat_id: detail.clone(),
        iat: now,
        exp: now + SESSION_SECS as i64,
    };
    let token = sign(&d.jwt_secret, &claims)?;
    let _: () = r
        .set_ex(session_key(d, &token), &detail, SESSION_SECS)
        .await?;
    tracing::info!(chat = %detail, admin_role, "admin-system login");
    Ok(Json(json!({
        "success": true,
        "token": token,
        "role": ROLE,
        "admin_role": admin_role,
        "expires_in": SESSION_SECS,
        "user": {"telegram_chat_id": detail, "role": ROLE, "admin_role": admin_role},
    }))
    .into_response())
}

/// `GET /api/admin-system/auth/me`: the token's admin.
pub async fn me(admin: Admin) -> Response {
    Json(json!({
        "success": true,
        "data": {
            "telegram_chat_id": admin.chat_id,
            "role": ROLE,
            "admin_role": admin.admin_role,
            "expires_at": admin.expires_at,
        },
    }))
    .into_response()
}

/// `POST /api/admin-system/auth/logout`: ends the token's session.
pub async fn logout(State(ctx): State<Arc<Ctx>>, admin: Admin) -> ApiResult {
    let d = ctx.dash()?;
    let mut r = d.redis.clone();
    let _: () = r.del(session_key(d, &admin.token)).await?;
    Ok(Json(json!({"success": true, "message": "Logged out"})).into_response())
}

//! Read-only views: the merged system audit, the admin settings snapshot with a risk
//! analysis, the config audit, and the dashboard premium (payment) requests.
use std::collections::HashMap;

use axum::{
    Json,
    extract::{Query, State},
    response::IntoResponse,
};
use serde_json::{Value, json};

use super::{Admin, CtxState, SESSION_SECS, Writer, actor, page_json, paging};
use crate::{
    config::AdminSystem,
    http::dashboard::{ApiError, ApiResult, premium},
    otp,
};

type Q = Query<HashMap<String, String>>;

const SOURCES: [&str; 4] = ["board", "premium_request", "fund", "config"];

/// `GET system-audit?page=&limit=&source=`: the board's audit log (job API and admin client
/// changes), the dashboard premium-request audit, the fund audit and the config audit, newest
/// first, as `{source, id, at, actor, action, target, detail}`.
pub async fn system_audit(State(ctx): CtxState, _a: Admin, Query(q): Q) -> ApiResult {
    let (page, limit) = paging(
        q.get("page").map(String::as_str),
        q.get("limit").map(String::as_str),
    )?;
    let source = match q
        .get("source")
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) if SOURCES.contains(&s.as_str()) => Some(s),
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "source {s:?} is not one of {}",
                SOURCES.join(", ")
            )));
        }
    };
    let (total, items): (i64, Value) = sqlx::query_as(
        "WITH a AS (
           SELECT 'board' source, id, at, actor, action, target, detail FROM cicero.audit_log
           UNION ALL
           SELECT 'premium_request', audit_id, created_at, actor, action, request_id::text,
                  jsonb_build_object('status_from', status_from, 'status_to', status_to,
                                     'note', note, 'dashboard_user_id', dashboard_user_id)
           FROM dashboard_premium_request_audit
           UNION ALL
           SELECT 'fund', id, created_at, actor, action_type, entity_type || ':' || entity_id,
                  detail FROM cicero.system_management_fund_audit
           UNION ALL
           SELECT 'config', id, created_at, actor, 'config.change', config_key,
                  jsonb_build_object('old_value', old_value, 'new_value', new_value,
                                     'notes', notes)
           FROM cicero.system_management_config_audit),
         f AS (SELECT * FROM a WHERE $1::text IS NULL OR source = $1)
         SELECT (SELECT count(*) FROM f),
                COALESCE((SELECT jsonb_agg(to_jsonb(p) ORDER BY p.at DESC, p.id DESC) FROM
                  (SELECT * FROM f ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3) p), '[]'::jsonb)",
    )
    .bind(source)
    .bind(limit)
    .bind((page - 1) * limit)
    .fetch_one(ctx.pool())
    .await?;
    Ok(Json(page_json(items, total, page, limit)).into_response())
}

/// A secret shown by its first 4 characters only.
fn mask(s: &str) -> String {
    let head: String = s.chars().take(4).collect();
    format!("{head}…(masked)")
}

/// Problems (`issues`) and weaker points (`warnings`) of the admin settings, and a level.
pub fn risks(s: &AdminSystem) -> (Vec<String>, Vec<String>, &'static str) {
    let mut issues = Vec::new();
    let mut warnings = Vec::new();
    if !s
        .chat_ids
        .iter()
        .any(|c| s.role_of(c) == Some("super_admin"))
    {
        issues.push("no super_admin chat in TELEGRAM_ADMIN_CHAT_ID/ADMIN_SYSTEM_ROLE_MAP".into());
    }
    if !s.api_url.starts_with("https://") {
        issues.push("TELEGRAM_API_URL is not https: codes travel in clear text".into());
    }
    if s.chat_ids.len() == 1 {
        warnings.push("only one admin chat: losing it locks the console".into());
    }
    for chat in s.roles.keys() {
        if !s.chat_ids.contains(chat) {
            warnings.push(format!(
                "ADMIN_SYSTEM_ROLE_MAP names {chat}, which is not in TELEGRAM_ADMIN_CHAT_ID"
            ));
        }
    }
    if s.roles.is_empty() {
        warnings.push("ADMIN_SYSTEM_ROLE_MAP is empty: every admin chat is super_admin".into());
    }
    let level = if !issues.is_empty() {
        "high"
    } else if !warnings.is_empty() {
        "medium"
    } else {
        "low"
    };
    (issues, warnings, level)
}

/// `GET config`: the admin settings (the bot token masked) and their risk analysis.
pub async fn config(State(ctx): CtxState, _a: Admin) -> ApiResult {
    let s = &ctx.settings;
    let roles: Value = s
        .chat_ids
        .iter()
        .map(|c| (c.clone(), json!(s.role_of(c).unwrap_or_default())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let (issues, warnings, level) = risks(s);
    Ok(Json(json!({
        "success": true,
        "data": {
            "config": {
                "telegram_bot_token": s.bot_token.as_deref().map(mask),
                "telegram_api_url": s.api_url,
                "telegram_admin_chat_ids": s.chat_ids,
                "role_map": roles,
                "otp_ttl_seconds": otp::TTL.as_secs(),
                "otp_max_attempts": otp::MAX_ATTEMPTS,
                "session_ttl_seconds": SESSION_SECS,
                "timezone": "Asia/Jakarta",
                "pagination": {"default_limit": 20, "max_limit": 100},
            },
            "risk": {"level": level, "issues": issues, "warnings": warnings},
        },
    }))
    .into_response())
}

/// `GET config/audit?page=&limit=`: recorded configuration changes (none until
/// preview/apply exist).
pub async fn config_audit(State(ctx): CtxState, _a: Admin, Query(q): Q) -> ApiResult {
    let (page, limit) = paging(
        q.get("page").map(String::as_str),
        q.get("limit").map(String::as_str),
    )?;
    let (total, items): (i64, Value) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM cicero.system_management_config_audit),
                COALESCE((SELECT jsonb_agg(to_jsonb(p) ORDER BY p.created_at DESC, p.id DESC) FROM
                  (SELECT * FROM cicero.system_management_config_audit
                   ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2) p), '[]'::jsonb)",
    )
    .bind(limit)
    .bind((page - 1) * limit)
    .fetch_one(ctx.pool())
    .await?;
    Ok(Json(page_json(items, total, page, limit)).into_response())
}

/// `GET payments/requests?page=&limit=&status=`: the dashboard premium requests, newest
/// first (the decision stays on the dashboard's own premium routes).
pub async fn payment_requests(State(ctx): CtxState, _a: Admin, Query(q): Q) -> ApiResult {
    let (page, limit) = paging(
        q.get("page").map(String::as_str),
        q.get("limit").map(String::as_str),
    )?;
    let status = q
        .get("status")
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty() && s != "all");
    let (total, items): (i64, Value) = sqlx::query_as(
        "WITH f AS (SELECT request_id, request_token, dashboard_user_id, client_id, username,
                           whatsapp, bank_name, account_number, sender_name,
                           transfer_amount::float8 AS transfer_amount, premium_tier, proof_url,
                           subscription_expires_at, status, expired_at, responded_at, created_at,
                           updated_at
                    FROM dashboard_premium_request
                    WHERE $1::text IS NULL OR status = $1)
         SELECT (SELECT count(*) FROM f),
                COALESCE((SELECT jsonb_agg(to_jsonb(p) ORDER BY p.created_at DESC, p.request_id DESC)
                  FROM (SELECT * FROM f ORDER BY created_at DESC, request_id DESC
                        LIMIT $2 OFFSET $3) p), '[]'::jsonb)",
    )
    .bind(status)
    .bind(limit)
    .bind((page - 1) * limit)
    .fetch_one(ctx.pool())
    .await?;
    Ok(Json(page_json(items, total, page, limit)).into_response())
}

/// `POST payments/requests/{request_id}/decision {decision: approve|reject, note?,
/// subscription_expires_at?, premium_tier?}` (finance_admin / super_admin): the same decision
/// as the dashboard admin's `PUT /api/premium/request/{token}/approve|deny` (subscription,
/// audit row with the deciding chat, WhatsApp to the requester).
pub async fn payment_decision(
    State(ctx): CtxState,
    Writer(a): Writer,
    axum::extract::Path(request_id): axum::extract::Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let id: i64 = request_id
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_request("request_id harus angka"))?;
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        crate::http::dashboard::auth::json_body(&body)?
    };
    let decision = body["decision"]
        .as_str()
        .map(|d| d.trim().to_lowercase())
        .unwrap_or_default();
    let token = premium::token_of(&ctx.app, id).await?;
    let decider = premium::Decider {
        name: actor(&a),
        whatsapp: None,
        via: "admin_system",
    };
    match decision.as_str() {
        "approve" | "approved" => premium::approve_request(&ctx.app, &decider, &token, &body).await,
        "reject" | "rejected" | "deny" | "denied" => {
            premium::deny_request(&ctx.app, &decider, &token, &body).await
        }
        _ => Err(ApiError::bad_request("decision harus approve atau reject")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_levels() {
        let mut s = AdminSystem {
            bot_token: Some("1:x".into()),
            api_url: "https://api.telegram.org".into(),
            chat_ids: vec!["1".into(), "2".into()],
            roles: [("2".to_owned(), "auditor".to_owned())].into(),
        };
        assert_eq!(risks(&s).2, "low");
        s.roles.insert("1".into(), "auditor".into());
        let (issues, _, level) = risks(&s);
        assert_eq!(level, "high");
        assert!(issues[0].contains("no super_admin"), "{issues:?}");
        s.roles.clear();
        assert_eq!(risks(&s).2, "medium");
        assert_eq!(mask("123456:abc"), "1234…(masked)");
    }
}

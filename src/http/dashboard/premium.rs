//! Dashboard premium requests (legacy §4(i) "Requests"): create, the caller's latest, one by
//! token (owner only), confirm (owner), and the admin decision the legacy took over WhatsApp
//! (`grantdashsub#` / `denydashsub#`) as admin-role routes: approve (an `active`
//! subscription, 30 days unless `subscription_expires_at` is given, and the cached premium
//! columns of `dashboard_user`) or deny. Every transition writes an audit row; the admins
//! (`ADMIN_WHATSAPP`) are told once, on create or confirm, by `whatsapp_send` jobs enqueued in
//! the same transaction (`metadata.admin_notification_sent`). The mobile `premium_request`
//! (legacy `grantsub#` / `denysub#`) gets the same admin decision.
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::{
    ApiError, ApiResult,
    auth::{DashUser, field, json_body},
    ok,
};
use crate::{
    domain::{complaint::id_number, time::jakarta_day_window},
    http::AppState,
    platform::jobs::{NewJob, enqueue_many},
};

/// Statuses of a request that is still open (it locks the form, and a new one is a 409).
pub const OPEN: &[&str] = &[
    "pending",
    "confirmed",
    "processing",
    "waiting_payment",
    "paid",
    "submitted",
];

const REQUEST_JSON: &str = "jsonb_build_object('request_id', r.request_id, 'premium_request_id', r.request_id, \
     'id', r.request_id, 'request_token', r.request_token, 'dashboard_user_id', r.dashboard_user_id, \
     'client_id', r.client_id, 'username', r.username, 'bank_name', r.bank_name, \
     'account_number', r.account_number, 'sender_name', r.sender_name, \
     'transfer_amount', r.transfer_amount, 'amount', r.transfer_amount, 'premium_tier', r.premium_tier, \
     'proof_url', r.proof_url, 'status', r.status, 'expired_at', r.expired_at, \
     'subscription_expires_at', r.subscription_expires_at, 'responded_at', r.responded_at, \
     'whatsapp', r.whatsapp, 'metadata', r.metadata, \
     'created_at', r.created_at, 'updated_at', r.updated_at)";

fn lock(request: &Value) -> Value {
    let status = request["status"].as_str().unwrap_or_default();
    let locked = OPEN.contains(&status);
    let mut r = request.clone();
    r["locked"] = json!(locked);
    r["is_locked"] = json!(locked);
    r["lock_reason"] = if locked {
        json!("Permintaan premium sebelumnya masih diproses")
    } else {
        Value::Null
    };
    r
}

/// `GET /api/premium/request/latest`: `{success, hasOpenRequest, request, data}`.
pub async fn latest(State(st): State<Arc<AppState>>, user: DashUser) -> ApiResult {
    let sql = format!(
        "SELECT {REQUEST_JSON} FROM dashboard_premium_request r \
         WHERE r.dashboard_user_id::text = $1 ORDER BY r.created_at DESC, r.request_id DESC LIMIT 1"
    );
    let req: Option<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&user.id)
        .fetch_optional(&st.pool)
        .await?;
    let req = req.map(|r| lock(&r));
    let open = req.as_ref().is_some_and(|r| r["locked"] == true);
    Ok(ok(
        json!({ "hasOpenRequest": open, "request": req, "data": req }),
    ))
}

/// Parses an amount sent as a number or a numeric string; a negative or non-numeric one is a 400.
fn amount(body: &Value) -> ApiResult<Option<f64>> {
    let v = body.get("transfer_amount").or_else(|| body.get("amount"));
    match v {
        None | Some(Value::Null) => Some(None),
        Some(Value::Number(n)) => n.as_f64().filter(|a| *a >= 0.0).map(Some),
        Some(Value::String(s)) if s.trim().is_empty() => Some(None),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|a| *a >= 0.0).map(Some),
        Some(_) => None,
    }
    .ok_or_else(|| ApiError::bad_request("transfer_amount harus angka"))
}

/// `POST /api/premium/request {premium_tier, bank_name, account_number, sender_name,
/// transfer_amount | amount, client_id?, proof_url?}` → 201. Without proof the request is
/// `pending` for 24 h, with proof `confirmed` for 48 h (legacy); one open request at a time.
pub async fn create(State(st): State<Arc<AppState>>, user: DashUser, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let (Some(bank), Some(account), Some(sender)) = (
        field(&body, "bank_name"),
        field(&body, "account_number"),
        field(&body, "sender_name"),
    ) else {
        return Err(ApiError::bad_request(
            "bank_name, account_number dan sender_name wajib diisi",
        ));
    };
    let tier = known_tier(field(&body, "premium_tier"))?;
    // The request's client must be one of the account's own (an admin's reach is wider, but
    // the subscription is for the account's clients), stored as the clients row spells it.
    let client_id = match field(&body, "client_id") {
        Some(c) => Some(
            user.client_ids
                .iter()
                .find(|x| x.eq_ignore_ascii_case(c))
                .cloned()
                .ok_or_else(|| ApiError::forbidden("client_id tidak diizinkan"))?,
        ),
        None => user.client_id().map(str::to_owned),
    };
    let amount = amount(&body)?;
    let proof = field(&body, "proof_url");
    let (status, hours) = if proof.is_some() {
        ("confirmed", 48)
    } else {
        ("pending", 24)
    };
    let mut tx = st.pool.begin().await?;
    // One open request per account: lock the account row so two submissions cannot both pass.
    sqlx::query("SELECT 1 FROM dashboard_user WHERE dashboard_user_id::text = $1 FOR UPDATE")
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    let open: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM dashboard_premium_request \
         WHERE dashboard_user_id::text = $1 AND status = ANY($2) \
           AND (expired_at IS NULL OR expired_at > now()))",
    )
    .bind(&user.id)
    .bind(OPEN)
    .fetch_one(&mut *tx)
    .await?;
    if open {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Masih ada permintaan premium yang sedang diproses",
        ));
    }
    let sql = format!(
        "WITH r AS (INSERT INTO dashboard_premium_request (dashboard_user_id, client_id, username, \
           whatsapp, bank_name, account_number, sender_name, transfer_amount, premium_tier, \
           proof_url, status, expired_at) \
         SELECT du.dashboard_user_id, $2, du.username, du.whatsapp, $3, $4, $5, $6, $7, $8, $9, \
           now() + make_interval(hours => $10) \
         FROM dashboard_user du WHERE du.dashboard_user_id::text = $1 RETURNING *) \
         SELECT {REQUEST_JSON} FROM r"
    );
    let req: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&user.id)
        .bind(&client_id)
        .bind(bank)
        .bind(account)
        .bind(sender)
        .bind(amount)
        .bind(&tier)
        .bind(proof)
        .bind(status)
        .bind(hours)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO dashboard_premium_request_audit (request_id, dashboard_user_id, action, actor, \
           status_from, status_to) VALUES ($1, $2::uuid, 'created', $3, NULL, $4)",
    )
    .bind(req["request_id"].as_i64().unwrap_or_default() as i32)
    .bind(&user.id)
    .bind(&user.username)
    .bind(status)
    .execute(&mut *tx)
    .await?;
    let req = notify_admins(&mut tx, &st, &req, &user.id).await?;
    tx.commit().await?;
    let req = lock(&req);
    let mut res = ok(json!({
        "message": "Permintaan premium terkirim",
        "request": req,
        "locked": true,
        "transfer_amount": req["transfer_amount"],
        "request_id": req["request_id"],
        "data": { "status": status, "request_status": status, "request_id": req["request_id"], "request": req },
    }));
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

/// `Rp 150.000` (id-ID currency, no decimals); `-` without an amount.
fn rupiah(v: &Value) -> String {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .map(|a| format!("Rp {}", id_number(a.round() as i64)))
        .unwrap_or_else(|| "-".into())
}

/// The admins' message about a new or confirmed request (legacy `buildAdminNotification`,
/// plus how to decide it here).
pub fn admin_message(req: &Value) -> String {
    let s = |k: &str| {
        req[k]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .or_else(|| req[k].as_i64().map(|n| n.to_string()))
            .unwrap_or_else(|| "-".into())
    };
    let token = s("request_token");
    format!(
        "📢 permintaan akses premium\n\nUser dashboard:\n- Username: {}\n- WhatsApp: {}\n- Dashboard User ID: {}\n\n\
         Detail permintaan:\n- Tier: {}\n- Client ID: {}\n- Status: {}\n- Bukti transfer: {}\n\n\
         Detail transfer:\n- Bank: {}\n- Nomor Rekening: {}\n- Nama Pengirim: {}\n- Jumlah Transfer: {}\n\n\
         Request ID: {}\nToken: {token}\n\nKeputusan admin (akun dashboard admin): \
         PUT /api/premium/request/{token}/approve atau /deny",
        s("username"),
        s("whatsapp"),
        s("dashboard_user_id"),
        s("premium_tier"),
        s("client_id"),
        s("status"),
        s("proof_url"),
        s("bank_name"),
        s("account_number"),
        s("sender_name"),
        rupiah(&req["transfer_amount"]),
        s("request_id"),
    )
}

/// The admin chats of `ADMIN_WHATSAPP` (invalid entries skipped).
fn admin_chats(st: &AppState) -> Vec<String> {
    st.messaging
        .as_ref()
        .map(|m| {
            m.admin_whatsapp
                .iter()
                .filter_map(|n| crate::whatsapp::address::chat_id(n).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Tells the admins about a request once (legacy `metadata.admin_notification_sent`): one
/// `whatsapp_send` per admin, in the caller's transaction, and the flag set on the row. No
/// admin numbers: nothing is sent and the flag stays unset (a later confirm tries again).
async fn notify_admins(
    tx: &mut PgConnection,
    st: &AppState,
    req: &Value,
    actor_id: &str,
) -> ApiResult<Value> {
    if req["metadata"]["admin_notification_sent"] == true {
        return Ok(req.clone());
    }
    let chats = admin_chats(st);
    if chats.is_empty() {
        tracing::warn!(
            request_id = %req["request_id"],
            "premium request: ADMIN_WHATSAPP is empty, admins not notified"
        );
        return Ok(req.clone());
    }
    let text = admin_message(req);
    let id = req["request_id"].as_i64().unwrap_or_default();
    let jobs: Vec<NewJob> = chats
        .iter()
        .map(|chat| {
            NewJob::new(
                "whatsapp_send",
                json!({"to": chat, "text": text,
                       "idempotency_key": format!("premium_request:{id}:admin:{chat}")}),
            )
        })
        .collect();
    enqueue_many(&mut *tx, &jobs).await?;
    let sql = format!(
        "WITH r AS (UPDATE dashboard_premium_request SET metadata = coalesce(metadata, '{{}}'::jsonb) \
           || jsonb_build_object('admin_notification_sent', true, 'admin_notified_at', now(), \
                                 'admin_notified_status', status) \
         WHERE request_id = $1 RETURNING *) SELECT {REQUEST_JSON} FROM r"
    );
    let updated: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id as i32)
        .fetch_one(&mut *tx)
        .await?;
    tracing::info!(
        request_id = id,
        admins = chats.len(),
        by = actor_id,
        "premium request: admins notified"
    );
    Ok(updated)
}

/// The request with this token, locked for the transaction; 404 when there is none.
async fn locked(tx: &mut PgConnection, token: &str) -> ApiResult<Value> {
    let sql = format!(
        "SELECT {REQUEST_JSON} FROM dashboard_premium_request r \
         WHERE r.request_token::text = lower($1) FOR UPDATE"
    );
    let req: Option<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(token.trim())
        .fetch_optional(&mut *tx)
        .await?;
    req.ok_or_else(|| ApiError::not_found("Permintaan premium tidak ditemukan"))
}

/// Sets the status (and other columns through `extra`, a SQL `SET` tail using `$3`… bound as
/// text) and returns the row.
async fn set_status(
    tx: &mut PgConnection,
    id: i64,
    status: &str,
    extra: &'static str,
    binds: &[Option<String>],
) -> ApiResult<Value> {
    let sql = format!(
        "WITH r AS (UPDATE dashboard_premium_request SET status = $2, updated_at = now(){extra} \
         WHERE request_id = $1 RETURNING *) SELECT {REQUEST_JSON} FROM r"
    );
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id as i32)
        .bind(status);
    for b in binds {
        q = q.bind(b);
    }
    Ok(q.fetch_one(&mut *tx).await?)
}

/// One audit row of a transition (legacy `dashboard_premium_request_audit`).
#[allow(clippy::too_many_arguments)]
async fn audit(
    tx: &mut PgConnection,
    req: &Value,
    action: &str,
    actor: &str,
    from: &str,
    to: &str,
    note: Option<&str>,
    admin_whatsapp: Option<&str>,
    metadata: Value,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO dashboard_premium_request_audit (request_id, dashboard_user_id, action, actor, \
           note, status_from, status_to, admin_whatsapp, metadata) \
         VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(req["request_id"].as_i64().unwrap_or_default() as i32)
    .bind(req["dashboard_user_id"].as_str())
    .bind(action)
    .bind(actor)
    .bind(note)
    .bind(from)
    .bind(to)
    .bind(admin_whatsapp)
    .bind(metadata)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// 409 unless the request is still open for a decision.
fn decidable_or_409(req: &Value, now: DateTime<Utc>) -> ApiResult<()> {
    if decidable(req, now) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "Permintaan premium sudah diproses atau kedaluwarsa (status {})",
                req["status"].as_str().unwrap_or("-")
            ),
        ))
    }
}

/// Still open for a decision: pending or confirmed, and not past `expired_at`.
fn decidable(req: &Value, now: DateTime<Utc>) -> bool {
    let status = req["status"].as_str().unwrap_or_default();
    let expired = req["expired_at"]
        .as_str()
        .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
        .is_some_and(|e| e <= now);
    matches!(status, "pending" | "confirmed") && !expired
}

/// `GET /api/premium/request/{token}`: the caller's own request (another account's is 403).
pub async fn show(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    Path(token): Path<String>,
) -> ApiResult {
    let sql = format!(
        "SELECT {REQUEST_JSON} FROM dashboard_premium_request r WHERE r.request_token::text = lower($1)"
    );
    let req: Option<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(token.trim())
        .fetch_optional(&st.pool)
        .await?;
    let req = req.ok_or_else(|| ApiError::not_found("Permintaan premium tidak ditemukan"))?;
    if req["dashboard_user_id"].as_str() != Some(user.id.as_str()) {
        return Err(ApiError::forbidden("Permintaan premium bukan milik Anda"));
    }
    let req = lock(&req);
    Ok(ok(json!({ "request": req, "data": req })))
}

/// `PUT /api/premium/request/{token}/confirm {proof_url?}` (owner): `pending` → `confirmed`,
/// open for 48 hours from now (legacy).
pub async fn confirm(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    Path(token): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = if body.is_empty() {
        json!({})
    } else {
        json_body(&body)?
    };
    let proof = field(&body, "proof_url").map(str::to_owned);
    let mut tx = st.pool.begin().await?;
    let req = locked(&mut tx, &token).await?;
    if req["dashboard_user_id"].as_str() != Some(user.id.as_str()) {
        return Err(ApiError::forbidden("Permintaan premium bukan milik Anda"));
    }
    if req["status"] != "pending" || !decidable(&req, Utc::now()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "Permintaan premium tidak dapat dikonfirmasi (status {})",
                req["status"].as_str().unwrap_or("-")
            ),
        ));
    }
    let id = req["request_id"].as_i64().unwrap_or_default();
    let updated = set_status(
        &mut tx,
        id,
        "confirmed",
        ", expired_at = now() + interval '48 hours', proof_url = coalesce($3::text, proof_url)",
        &[proof],
    )
    .await?;
    audit(
        &mut tx,
        &updated,
        "confirmed",
        &user.username,
        "pending",
        "confirmed",
        None,
        None,
        json!({}),
    )
    .await?;
    let updated = notify_admins(&mut tx, &st, &updated, &user.id).await?;
    tx.commit().await?;
    let req = lock(&updated);
    Ok(ok(json!({
        "message": "Permintaan premium dikonfirmasi",
        "request": req,
        "data": { "status": "confirmed", "request": req },
    })))
}

/// An expiry given as RFC 3339 or `YYYY-MM-DD` (through the end of that Jakarta day).
fn expiry(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(jakarta_day_window)
                .map(|w| w.1)
        })
}

fn require_admin(user: &DashUser) -> ApiResult<()> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Hanya admin yang dapat memutuskan permintaan premium",
        ))
    }
}

async fn admin_whatsapp(st: &AppState, user: &DashUser) -> ApiResult<Option<String>> {
    Ok(super::auth::account_whatsapp(&st.pool, Some(&user.id)).await?)
}

/// The requester's WhatsApp chat (request row, else the account).
async fn requester_chat(tx: &mut PgConnection, req: &Value) -> ApiResult<Option<String>> {
    let account =
        super::auth::account_whatsapp(&mut *tx, req["dashboard_user_id"].as_str()).await?;
    Ok(req["whatsapp"]
        .as_str()
        .map(str::to_owned)
        .or(account)
        .filter(|w| !w.trim().is_empty())
        .and_then(|w| crate::whatsapp::address::chat_id(&w).ok()))
}

async fn tell_requester(
    tx: &mut PgConnection,
    req: &Value,
    outcome: &str,
    text: String,
) -> ApiResult<()> {
    if let Some(chat) = requester_chat(tx, req).await? {
        let id = req["request_id"].as_i64().unwrap_or_default();
        let job = NewJob::new(
            "whatsapp_send",
            json!({"to": chat, "text": text,
                   "idempotency_key": format!("premium_request:{id}:{outcome}")}),
        );
        enqueue_many(&mut *tx, &[job]).await?;
    }
    Ok(())
}

/// `PUT /api/premium/request/{token}/approve {subscription_expires_at?, premium_tier?, note?}`
/// (admin role; legacy `grantdashsub#`): `approved`, an `active` subscription until the given
/// expiry, else the request's `subscription_expires_at`, else 30 days; the account's cached
/// premium columns follow.
pub async fn approve(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    Path(token): Path<String>,
    body: Bytes,
) -> ApiResult {
    require_admin(&user)?;
    let body = optional_body(&body)?;
    let decider = Decider::of(&st, &user).await?;
    approve_request(&st, &decider, &token, &body).await
}

/// Who decides a premium request: a dashboard admin, or an admin of the admin console.
pub struct Decider {
    /// Written to the audit row and the request's metadata.
    pub name: String,
    /// The admin's WhatsApp number, if known (legacy `admin_whatsapp`).
    pub whatsapp: Option<String>,
    /// `metadata.approved_via` of the subscription.
    pub via: &'static str,
}

impl Decider {
    async fn of(st: &AppState, user: &DashUser) -> ApiResult<Self> {
        Ok(Decider {
            name: user.username.clone(),
            whatsapp: admin_whatsapp(st, user).await?,
            via: "dashboard_api",
        })
    }
}

fn optional_body(body: &Bytes) -> ApiResult<Value> {
    if body.is_empty() {
        Ok(json!({}))
    } else {
        json_body(body)
    }
}

/// The token of request `id` (the admin console addresses requests by id).
pub async fn token_of(st: &AppState, id: i64) -> ApiResult<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT request_token::text FROM dashboard_premium_request WHERE request_id = $1",
    )
    .bind(id)
    .fetch_optional(&st.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Permintaan premium tidak ditemukan"))
}

/// Approves request `token` (see [`approve`]); the body's `subscription_expires_at`,
/// `premium_tier`, `note` are optional.
pub async fn approve_request(
    st: &AppState,
    decider: &Decider,
    token: &str,
    body: &Value,
) -> ApiResult {
    let now = Utc::now();
    let given = match field(body, "subscription_expires_at") {
        Some(raw) => Some(expiry(raw).ok_or_else(|| {
            ApiError::bad_request(
                "subscription_expires_at harus tanggal (YYYY-MM-DD atau ISO 8601)",
            )
        })?),
        None => None,
    };
    let note = field(body, "note").map(str::to_owned);
    let admin_wa = decider.whatsapp.clone();
    let mut tx = st.pool.begin().await?;
    let req = locked(&mut tx, token).await?;
    decidable_or_409(&req, now)?;
    let expires = given
        .or_else(|| {
            req["subscription_expires_at"]
                .as_str()
                .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
                .map(|e| e.with_timezone(&Utc))
        })
        .unwrap_or(now + Duration::days(30));
    if expires <= now {
        return Err(ApiError::bad_request(
            "subscription_expires_at harus di masa depan",
        ));
    }
    let tier = known_tier(
        field(body, "premium_tier")
            .or_else(|| req["premium_tier"].as_str().filter(|t| !t.is_empty())),
    )?
    .unwrap_or_else(|| "premium_1".into());
    let id = req["request_id"].as_i64().unwrap_or_default();
    // One active subscription per account: the guard reads the latest-expiring active row, so
    // an older one left active would override a shorter or lower grant.
    sqlx::query(
        "UPDATE dashboard_user_subscriptions SET status = 'canceled', canceled_at = now() \
         WHERE dashboard_user_id = $1::uuid AND status = 'active'",
    )
    .bind(req["dashboard_user_id"].as_str())
    .execute(&mut *tx)
    .await?;
    let subscription: Value = sqlx::query_scalar(
        "INSERT INTO dashboard_user_subscriptions (dashboard_user_id, tier, status, started_at, \
           expires_at, metadata) \
         VALUES ($1::uuid, $2, 'active', now(), $3, $4) \
         RETURNING jsonb_build_object('subscription_id', subscription_id, \
           'dashboard_user_id', dashboard_user_id, 'tier', tier, 'status', status, \
           'started_at', started_at, 'expires_at', expires_at, 'metadata', metadata)",
    )
    .bind(req["dashboard_user_id"].as_str())
    .bind(&tier)
    .bind(expires)
    .bind(json!({"request_id": id, "approved_via": decider.via, "approved_by": decider.name}))
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE dashboard_user SET premium_status = true, premium_tier = $2, \
           premium_expires_at = $3, updated_at = now() WHERE dashboard_user_id = $1::uuid",
    )
    .bind(req["dashboard_user_id"].as_str())
    .bind(&tier)
    .bind(expires)
    .execute(&mut *tx)
    .await?;
    let from = req["status"].as_str().unwrap_or_default().to_owned();
    let updated = set_status(
        &mut tx,
        id,
        "approved",
        ", responded_at = now(), subscription_expires_at = $3::timestamptz, \
           premium_tier = coalesce(premium_tier, $4::text), admin_whatsapp = $5::text, \
           metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('subscription_id', $6::text, 'decided_by', $7::text)",
        &[
            Some(expires.to_rfc3339()),
            Some(tier.clone()),
            admin_wa.clone(),
            subscription["subscription_id"].as_str().map(str::to_owned),
            Some(decider.name.clone()),
        ],
    )
    .await?;
    audit(
        &mut tx,
        &updated,
        "approved",
        &decider.name,
        &from,
        "approved",
        note.as_deref(),
        admin_wa.as_deref(),
        json!({"subscription_id": subscription["subscription_id"], "tier": tier, "expires_at": expires}),
    )
    .await?;
    let until = expires
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .format("%d-%m-%Y %H:%M WIB");
    tell_requester(
        &mut tx,
        &updated,
        "approved",
        format!(
            "✅ Permintaan premium dashboard Anda disetujui.\nID: {id}\nTier: {tier}\nBerlaku hingga: {until}"
        ),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(request_id = id, by = %decider.name, tier = %tier, "premium request approved");
    let req = lock(&updated);
    Ok(ok(json!({
        "message": "Permintaan premium disetujui",
        "request": req,
        "subscription": subscription,
        "data": { "status": "approved", "request": req, "subscription": subscription },
    })))
}

/// `PUT /api/premium/request/{token}/deny {note?}` (admin role; legacy `denydashsub#`).
pub async fn deny(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    Path(token): Path<String>,
    body: Bytes,
) -> ApiResult {
    require_admin(&user)?;
    let body = optional_body(&body)?;
    let decider = Decider::of(&st, &user).await?;
    deny_request(&st, &decider, &token, &body).await
}

/// Denies request `token` (see [`deny`]); the body's `note` is optional.
pub async fn deny_request(
    st: &AppState,
    decider: &Decider,
    token: &str,
    body: &Value,
) -> ApiResult {
    let note = field(body, "note").map(str::to_owned);
    let admin_wa = decider.whatsapp.clone();
    let mut tx = st.pool.begin().await?;
    let req = locked(&mut tx, token).await?;
    decidable_or_409(&req, Utc::now())?;
    let id = req["request_id"].as_i64().unwrap_or_default();
    let from = req["status"].as_str().unwrap_or_default().to_owned();
    let updated = set_status(
        &mut tx,
        id,
        "denied",
        ", responded_at = now(), admin_whatsapp = $3::text, \
           metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('decided_by', $4::text)",
        &[admin_wa.clone(), Some(decider.name.clone())],
    )
    .await?;
    audit(
        &mut tx,
        &updated,
        "denied",
        &decider.name,
        &from,
        "denied",
        note.as_deref(),
        admin_wa.as_deref(),
        json!({}),
    )
    .await?;
    tell_requester(
        &mut tx,
        &updated,
        "denied",
        format!(
            "❌ Permintaan premium dashboard Anda ditolak.\nID: {id}\nSilakan hubungi admin untuk informasi lebih lanjut."
        ),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(request_id = id, by = %decider.name, "premium request denied");
    let req = lock(&updated);
    Ok(ok(json!({
        "message": "Permintaan premium ditolak",
        "request": req,
        "data": { "status": "denied", "request": req },
    })))
}

/// The admin decision on a mobile `premium_request` (legacy `grantsub#` / `denysub#`):
/// `approved` (the person's `premium_status` on, `premium_end_date` in 30 days) or
/// `rejected`; only a `pending` request.
async fn decide_mobile(st: &AppState, user: &DashUser, id: &str, approve: bool) -> ApiResult {
    require_admin(user)?;
    let id: i32 = id
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_request("id harus angka"))?;
    let mut tx = st.pool.begin().await?;
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT user_id, status FROM premium_request WHERE request_id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (person, status) = row.ok_or_else(|| ApiError::not_found("Permintaan tidak ditemukan"))?;
    if status.as_deref().unwrap_or("pending") != "pending" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "Permintaan sudah diproses (status {})",
                status.unwrap_or_default()
            ),
        ));
    }
    let to = if approve { "approved" } else { "rejected" };
    sqlx::query("UPDATE premium_request SET status = $2, updated_at = now() WHERE request_id = $1")
        .bind(id)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    let mut end_date = None;
    if approve && let Some(p) = &person {
        end_date = sqlx::query_scalar::<_, Option<NaiveDate>>(
            "UPDATE \"user\" SET premium_status = true, \
               premium_end_date = (now() AT TIME ZONE 'Asia/Jakarta')::date + 30, updated_at = now() \
             WHERE user_id = $1 RETURNING premium_end_date",
        )
        .bind(p)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
    }
    let wa: Option<String> = match &person {
        Some(p) => sqlx::query_scalar("SELECT whatsapp FROM \"user\" WHERE user_id = $1")
            .bind(p)
            .fetch_optional(&mut *tx)
            .await?
            .flatten(),
        None => None,
    };
    if let Some(chat) = wa
        .filter(|w| !w.trim().is_empty())
        .and_then(|w| crate::whatsapp::address::chat_id(&w).ok())
    {
        let text = if approve {
            "✅ Langganan premium Anda aktif.".to_string()
        } else {
            "❌ Permintaan langganan premium Anda ditolak.".to_string()
        };
        let job = NewJob::new(
            "whatsapp_send",
            json!({"to": chat, "text": text, "idempotency_key": format!("mobile_premium_request:{id}:{to}")}),
        );
        enqueue_many(&mut *tx, &[job]).await?;
    }
    tx.commit().await?;
    tracing::info!(request_id = id, by = %user.username, status = to, "mobile premium request decided");
    Ok(ok(json!({
        "message": if approve { "Permintaan premium disetujui" } else { "Permintaan premium ditolak" },
        "data": { "request_id": id, "user_id": person, "status": to, "premium_end_date": end_date },
    })))
}

/// `PUT /api/premium-requests/{id}/approve` (admin role).
pub async fn approve_mobile(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    Path(id): Path<String>,
) -> ApiResult {
    decide_mobile(&st, &user, &id, true).await
}

/// `PUT /api/premium-requests/{id}/deny` (admin role).
pub async fn deny_mobile(
    State(st): State<Arc<AppState>>,
    user: DashUser,
    Path(id): Path<String>,
) -> ApiResult {
    decide_mobile(&st, &user, &id, false).await
}

/// The tiers a request or a grant may name (the dashboard's `premium_1..3`, legacy `tier1/2`),
/// lower-cased; another name is 400.
fn known_tier(raw: Option<&str>) -> ApiResult<Option<String>> {
    match raw.map(str::to_lowercase) {
        Some(t)
            if !["premium_1", "premium_2", "premium_3", "tier1", "tier2"].contains(&t.as_str()) =>
        {
            Err(ApiError::bad_request("premium_tier tidak dikenal"))
        }
        t => Ok(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(
            amount(&json!({"transfer_amount": 150000})).unwrap(),
            Some(150000.0)
        );
        assert_eq!(
            amount(&json!({"amount": "150000.5"})).unwrap(),
            Some(150000.5)
        );
        assert_eq!(amount(&json!({"amount": ""})).unwrap(), None);
        assert_eq!(amount(&json!({})).unwrap(), None);
        assert!(amount(&json!({"amount": "lots"})).is_err());
        assert!(amount(&json!({"amount": -1})).is_err());
    }

    #[test]
    fn admin_message_names_the_request() {
        let m = admin_message(&json!({
            "request_id": 7, "request_token": "abc", "username": "binmas", "whatsapp": null,
            "premium_tier": "premium_1", "client_id": "DITBINMAS", "status": "pending",
            "bank_name": "BRI", "account_number": "123", "sender_name": "BUDI",
            "transfer_amount": 150000.0,
        }));
        assert!(m.starts_with("📢 permintaan akses premium\n"), "{m}");
        assert!(m.contains("- Username: binmas\n- WhatsApp: -\n"), "{m}");
        assert!(m.contains("- Jumlah Transfer: Rp 150.000\n"), "{m}");
        assert!(m.contains("Request ID: 7\nToken: abc\n"), "{m}");
        assert!(m.contains("/api/premium/request/abc/approve"), "{m}");
    }

    #[test]
    fn decisions_need_an_open_request() {
        let now = Utc::now();
        let future = (now + Duration::hours(1)).to_rfc3339();
        let past = (now - Duration::hours(1)).to_rfc3339();
        assert!(decidable(
            &json!({"status": "pending", "expired_at": future}),
            now
        ));
        assert!(decidable(
            &json!({"status": "confirmed", "expired_at": null}),
            now
        ));
        assert!(!decidable(
            &json!({"status": "confirmed", "expired_at": past}),
            now
        ));
        assert!(!decidable(&json!({"status": "approved"}), now));
        assert!(!decidable(&json!({"status": "denied"}), now));
    }

    #[test]
    fn expiries() {
        assert!(expiry("2030-01-31").is_some());
        assert_eq!(
            expiry("2030-01-31T10:00:00+07:00").map(|t| t.to_rfc3339()),
            Some("2030-01-31T03:00:00+00:00".into())
        );
        assert!(expiry("soon").is_none());
    }

    #[test]
    fn open_requests_lock_the_form() {
        assert_eq!(lock(&json!({"status": "pending"}))["locked"], true);
        assert_eq!(lock(&json!({"status": "approved"}))["locked"], false);
    }
}

//! Dashboard premium requests (legacy §4(i) "Requests"): the latest request of the caller and
//! creating one. Approval stays with the admins (WhatsApp commands, a later issue).
use std::sync::Arc;

use axum::{body::Bytes, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::{
    ApiError, ApiResult,
    auth::{DashUser, field, json_body},
    ok,
};
use crate::http::AppState;

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
    let tier = field(&body, "premium_tier").map(str::to_lowercase);
    if let Some(t) = &tier
        && !["premium_1", "premium_2", "premium_3", "tier1", "tier2"].contains(&t.as_str())
    {
        return Err(ApiError::bad_request("premium_tier tidak dikenal"));
    }
    let client_id = match field(&body, "client_id") {
        Some(c) if user.may_see(c) => user
            .client_ids
            .iter()
            .find(|x| x.eq_ignore_ascii_case(c))
            .cloned(),
        Some(_) => return Err(ApiError::forbidden("client_id tidak diizinkan")),
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
    fn open_requests_lock_the_form() {
        assert_eq!(lock(&json!({"status": "pending"}))["locked"], true);
        assert_eq!(lock(&json!({"status": "approved"}))["locked"], false);
    }
}

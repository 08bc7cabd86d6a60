//! The management funds module: transactions (inflow/outflow), fund requests with an
//! approve/reject decision (an approval books the outflow), their audit (list and CSV), the
//! balance and per-period sums (Jakarta days). Writes need `super_admin` or `finance_admin`.
use std::collections::HashMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::IntoResponse,
};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{Admin, CtxState, Writer, actor, page_json, paging};
use crate::http::dashboard::{ApiError, ApiResult, auth::json_body};

type Q = Query<HashMap<String, String>>;

/// A `YYYY-MM-DD` query parameter (a Jakarta day); 400 naming it otherwise.
fn day(q: &HashMap<String, String>, name: &str) -> ApiResult<Option<NaiveDate>> {
    match q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{name} must be a date YYYY-MM-DD"))),
    }
}

/// An optional filter value that must be one of `allowed`.
fn one_of(q: &HashMap<String, String>, name: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
    match q
        .get(name)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
    {
        None => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
        Some(v) => Err(ApiError::bad_request(format!(
            "{name} {v:?} is not one of {}",
            allowed.join(", ")
        ))),
    }
}

/// A positive amount (number or numeric string) up to 10^12, rounded to cents by the column.
fn amount(body: &Value, name: &str) -> ApiResult<f64> {
    let v = match body.get(name) {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    v.filter(|a| a.is_finite() && *a >= 0.01 && *a <= 1e12)
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be a positive amount")))
}

fn text(body: &Value, name: &str, max: usize) -> ApiResult<Option<String>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().chars().count() <= max => {
            Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty()))
        }
        Some(Value::String(_)) => Err(ApiError::bad_request(format!(
            "{name} must be at most {max} characters"
        ))),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
    }
}

/// One page of rows of `table` (newest first) matching `cond` ($1 = filter value, $2/$3 =
/// first/last Jakarta day; $4/$5 = limit/offset).
async fn page_of(
    pool: &sqlx::PgPool,
    table: &str,
    cond: &str,
    filter: Option<String>,
    q: &HashMap<String, String>,
) -> ApiResult<Value> {
    let (page, limit) = paging(
        q.get("page").map(String::as_str),
        q.get("limit").map(String::as_str),
    )?;
    let (start, end) = (day(q, "start_date")?, day(q, "end_date")?);
    let sql = format!(
        "WITH f AS (SELECT t.* FROM cicero.{table} t
                    WHERE ($1::text IS NULL OR {cond})
                      AND ($2::date IS NULL OR (t.created_at AT TIME ZONE 'Asia/Jakarta')::date >= $2)
                      AND ($3::date IS NULL OR (t.created_at AT TIME ZONE 'Asia/Jakarta')::date <= $3))
         SELECT (SELECT count(*) FROM f),
                COALESCE((SELECT jsonb_agg(to_jsonb(p) ORDER BY p.created_at DESC, p.id DESC) FROM
                  (SELECT * FROM f ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5) p),
                  '[]'::jsonb)"
    );
    let (total, items): (i64, Value) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(filter)
        .bind(start)
        .bind(end)
        .bind(limit)
        .bind((page - 1) * limit)
        .fetch_one(pool)
        .await?;
    Ok(page_json(items, total, page, limit))
}

async fn record(
    tx: &mut sqlx::PgConnection,
    admin: &Admin,
    action: &str,
    entity: &str,
    id: i64,
    detail: &Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO cicero.system_management_fund_audit
           (action_type, entity_type, entity_id, actor, admin_role, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(action)
    .bind(entity)
    .bind(id)
    .bind(actor(admin))
    .bind(&admin.admin_role)
    .bind(detail)
    .execute(tx)
    .await?;
    Ok(())
}

/// `GET funds`: balance and totals, pending requests, the five newest transactions.
pub async fn overview(State(ctx): CtxState, _a: Admin) -> ApiResult {
    let (inflow, outflow, count, pending, pending_amount, recent): (
        f64,
        f64,
        i64,
        i64,
        f64,
        Value,
    ) = sqlx::query_as(
        "SELECT
           COALESCE((SELECT sum(amount) FROM cicero.system_management_fund_transaction
                     WHERE direction = 'inflow'), 0)::float8,
           COALESCE((SELECT sum(amount) FROM cicero.system_management_fund_transaction
                     WHERE direction = 'outflow'), 0)::float8,
           (SELECT count(*) FROM cicero.system_management_fund_transaction),
           (SELECT count(*) FROM cicero.system_management_fund_request WHERE status = 'pending'),
           COALESCE((SELECT sum(requested_amount) FROM cicero.system_management_fund_request
                     WHERE status = 'pending'), 0)::float8,
           COALESCE((SELECT jsonb_agg(to_jsonb(t) ORDER BY t.created_at DESC, t.id DESC) FROM
             (SELECT * FROM cicero.system_management_fund_transaction
              ORDER BY created_at DESC, id DESC LIMIT 5) t), '[]'::jsonb)",
    )
    .fetch_one(ctx.pool())
    .await?;
    Ok(Json(json!({
        "success": true,
        "data": {
            "balance": inflow - outflow,
            "total_inflow": inflow,
            "total_outflow": outflow,
            "transaction_count": count,
            "pending_requests": pending,
            "pending_amount": pending_amount,
            "recent_transactions": recent,
        },
    }))
    .into_response())
}

/// `GET funds/transactions?page=&limit=&direction=&start_date=&end_date=`.
pub async fn transactions(State(ctx): CtxState, _a: Admin, Query(q): Q) -> ApiResult {
    let direction = one_of(&q, "direction", &["inflow", "outflow"])?;
    let page = page_of(
        ctx.pool(),
        "system_management_fund_transaction",
        "t.direction = $1",
        direction,
        &q,
    )
    .await?;
    Ok(Json(page).into_response())
}

/// `POST funds/transactions {category, amount, direction, description?}` -> 201.
pub async fn create_transaction(State(ctx): CtxState, Writer(a): Writer, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let category = text(&body, "category", 100)?
        .ok_or_else(|| ApiError::bad_request("category is required"))?;
    let amount = amount(&body, "amount")?;
    let direction = match body.get("direction").and_then(Value::as_str).map(str::trim) {
        Some(d @ ("inflow" | "outflow")) => d.to_owned(),
        _ => return Err(ApiError::bad_request("direction must be inflow or outflow")),
    };
    let description = text(&body, "description", 1000)?;
    let mut tx = ctx.pool().begin().await?;
    let row: Value = sqlx::query_scalar(
        "INSERT INTO cicero.system_management_fund_transaction
           (category, amount, direction, description, created_by)
         VALUES ($1, $2::float8::numeric(18,2), $3, $4, $5) RETURNING to_jsonb(system_management_fund_transaction)",
    )
    .bind(&category)
    .bind(amount)
    .bind(&direction)
    .bind(&description)
    .bind(actor(&a))
    .fetch_one(&mut *tx)
    .await?;
    let id = row["id"].as_i64().unwrap_or_default();
    record(&mut tx, &a, "transaction.create", "transaction", id, &row).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"success": true, "message": "Transaction recorded", "data": row})),
    )
        .into_response())
}

/// `GET funds/requests?page=&limit=&status=&start_date=&end_date=`.
pub async fn requests(State(ctx): CtxState, _a: Admin, Query(q): Q) -> ApiResult {
    let status = one_of(&q, "status", &["pending", "approved", "rejected"])?;
    let page = page_of(
        ctx.pool(),
        "system_management_fund_request",
        "t.status = $1",
        status,
        &q,
    )
    .await?;
    Ok(Json(page).into_response())
}

/// `POST funds/requests {title, requested_amount, note?}` -> 201 (pending).
pub async fn create_request(State(ctx): CtxState, Writer(a): Writer, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let title =
        text(&body, "title", 200)?.ok_or_else(|| ApiError::bad_request("title is required"))?;
    let requested = amount(&body, "requested_amount")?;
    let note = text(&body, "note", 1000)?;
    let mut tx = ctx.pool().begin().await?;
    let row: Value = sqlx::query_scalar(
        "INSERT INTO cicero.system_management_fund_request
           (title, requested_amount, note, requested_by)
         VALUES ($1, $2::float8::numeric(18,2), $3, $4) RETURNING to_jsonb(system_management_fund_request)",
    )
    .bind(&title)
    .bind(requested)
    .bind(&note)
    .bind(actor(&a))
    .fetch_one(&mut *tx)
    .await?;
    let id = row["id"].as_i64().unwrap_or_default();
    record(&mut tx, &a, "request.create", "request", id, &row).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"success": true, "message": "Fund request created", "data": row})),
    )
        .into_response())
}

fn request_id(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_request("requestId must be a positive integer"))
}

/// Decides a pending request (409 otherwise, 404 when unknown); an approval books the outflow.
async fn decide(
    ctx: &super::Ctx,
    a: &Admin,
    id: i64,
    approve: bool,
    note: Option<String>,
) -> ApiResult {
    let mut tx = ctx.pool().begin().await?;
    let status: Option<String> = sqlx::query_scalar(
        "SELECT status FROM cicero.system_management_fund_request WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    match status.as_deref() {
        None => return Err(ApiError::not_found(format!("fund request {id} not found"))),
        Some("pending") => {}
        Some(s) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("fund request {id} is already {s}"),
            ));
        }
    }
    let row: Value = sqlx::query_scalar(
        "UPDATE cicero.system_management_fund_request
         SET status = $2, decided_by = $3, decision_note = $4, decided_at = now()
         WHERE id = $1 RETURNING to_jsonb(system_management_fund_request)",
    )
    .bind(id)
    .bind(if approve { "approved" } else { "rejected" })
    .bind(actor(a))
    .bind(&note)
    .fetch_one(&mut *tx)
    .await?;
    let mut transaction = Value::Null;
    if approve {
        transaction = sqlx::query_scalar(
            "INSERT INTO cicero.system_management_fund_transaction
               (category, amount, direction, description, request_id, created_by)
             SELECT 'fund_request', requested_amount, 'outflow', title, id, $2
             FROM cicero.system_management_fund_request WHERE id = $1
             RETURNING to_jsonb(system_management_fund_transaction)",
        )
        .bind(id)
        .bind(actor(a))
        .fetch_one(&mut *tx)
        .await?;
    }
    let action = if approve {
        "request.approve"
    } else {
        "request.reject"
    };
    record(
        &mut tx,
        a,
        action,
        "request",
        id,
        &json!({"request": row, "transaction": transaction, "note": note}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({
        "success": true,
        "message": if approve { "Fund request approved" } else { "Fund request rejected" },
        "data": row,
        "transaction": transaction,
    }))
    .into_response())
}

/// `POST funds/requests/{requestId}/approve {approval_note?}`.
pub async fn approve(
    State(ctx): CtxState,
    Writer(a): Writer,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = request_id(&id)?;
    let body = if body.is_empty() {
        json!({})
    } else {
        json_body(&body)?
    };
    let note = text(&body, "approval_note", 1000)?;
    decide(&ctx, &a, id, true, note).await
}

/// `POST funds/requests/{requestId}/reject {rejection_reason}` (required).
pub async fn reject(
    State(ctx): CtxState,
    Writer(a): Writer,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = request_id(&id)?;
    let body = json_body(&body)?;
    let reason = text(&body, "rejection_reason", 1000)?
        .ok_or_else(|| ApiError::bad_request("rejection_reason is required"))?;
    decide(&ctx, &a, id, false, Some(reason)).await
}

const ACTIONS: [&str; 4] = [
    "transaction.create",
    "request.create",
    "request.approve",
    "request.reject",
];

/// `GET funds/audit?page=&limit=&action_type=&start_date=&end_date=`.
pub async fn audit(State(ctx): CtxState, _a: Admin, Query(q): Q) -> ApiResult {
    let action = one_of(&q, "action_type", &ACTIONS)?;
    let page = page_of(
        ctx.pool(),
        "system_management_fund_audit",
        "t.action_type = $1",
        action,
        &q,
    )
    .await?;
    Ok(Json(page).into_response())
}

/// A CSV field, quoted when needed; a leading `=+-@` is prefixed with `'` so spreadsheets do
/// not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// id, Jakarta time, action, entity type and id, actor, role, detail.
type AuditRow = (i64, String, String, String, i64, String, String, Value);

/// `GET funds/audit/export.csv`: the whole audit (same filters as the list, no paging),
/// newest first, times in Jakarta.
pub async fn audit_csv(State(ctx): CtxState, _a: Admin, Query(q): Q) -> ApiResult {
    let action = one_of(&q, "action_type", &ACTIONS)?;
    let (start, end) = (day(&q, "start_date")?, day(&q, "end_date")?);
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, to_char(created_at AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD HH24:MI:SS'),
                action_type, entity_type, entity_id, actor, admin_role, detail
         FROM cicero.system_management_fund_audit t
         WHERE ($1::text IS NULL OR action_type = $1)
           AND ($2::date IS NULL OR (created_at AT TIME ZONE 'Asia/Jakarta')::date >= $2)
           AND ($3::date IS NULL OR (created_at AT TIME ZONE 'Asia/Jakarta')::date <= $3)
         ORDER BY created_at DESC, id DESC LIMIT 100000",
    )
    .bind(action)
    .bind(start)
    .bind(end)
    .fetch_all(ctx.pool())
    .await?;
    let mut out =
        String::from("id,created_at,action_type,entity_type,entity_id,actor,admin_role,detail\r\n");
    for (id, at, action, entity, eid, actor, role, detail) in rows {
        let fields = [
            id.to_string(),
            at,
            action,
            entity,
            eid.to_string(),
            actor,
            role,
            detail.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"fund-audit-log.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// `GET funds/summary?period=daily|weekly|monthly`: inflow, outflow and net per Jakarta day,
/// ISO week (from Monday) or month, newest first, at most 31 periods.
pub async fn summary(State(ctx): CtxState, _a: Admin, Query(q): Q) -> ApiResult {
    let unit = match one_of(&q, "period", &["daily", "weekly", "monthly"])?.as_deref() {
        None | Some("daily") => "day",
        Some("weekly") => "week",
        _ => "month",
    };
    let rows: Value = sqlx::query_scalar(
        "SELECT COALESCE(jsonb_agg(jsonb_build_object(
                  'period_start', to_char(p, 'YYYY-MM-DD'),
                  'inflow', inflow, 'outflow', outflow, 'net', inflow - outflow,
                  'transaction_count', n) ORDER BY p DESC), '[]'::jsonb)
         FROM (SELECT date_trunc($1, created_at AT TIME ZONE 'Asia/Jakarta') p,
                      COALESCE(sum(amount) FILTER (WHERE direction = 'inflow'), 0)::float8 inflow,
                      COALESCE(sum(amount) FILTER (WHERE direction = 'outflow'), 0)::float8 outflow,
                      count(*) n
               FROM cicero.system_management_fund_transaction
               GROUP BY 1 ORDER BY 1 DESC LIMIT 31) s",
    )
    .bind(unit)
    .fetch_one(ctx.pool())
    .await?;
    Ok(Json(json!({"success": true, "period": unit, "data": rows})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }

    #[test]
    fn amounts() {
        assert_eq!(amount(&json!({"a": 1500}), "a").unwrap(), 1500.0);
        assert_eq!(amount(&json!({"a": "12.5"}), "a").unwrap(), 12.5);
        for bad in [
            json!({"a": 0}),
            json!({"a": -1}),
            json!({"a": "x"}),
            json!({}),
        ] {
            assert!(amount(&bad, "a").is_err(), "{bad}");
        }
    }
}

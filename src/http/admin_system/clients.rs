//! The `clients` table in the admin console: list (search, pages), summary, create and
//! update. Changes need `super_admin` or `finance_admin` and are written to the board's
//! audit log (`client.create`, `client.update`).
use std::collections::HashMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::IntoResponse,
};
use serde_json::{Value, json};

use super::{Admin, CtxState, SuperAdmin, Writer, audit, page_json, paging};
use crate::http::dashboard::{ApiError, ApiResult, auth::json_body};

const TEXT: [&str; 11] = [
    "nama",
    "client_type",
    "client_insta",
    "client_tiktok",
    "client_operator",
    "client_group",
    "regional_id",
    "parent_client_id",
    "client_level",
    "tiktok_secuid",
    "client_super",
];
const FLAGS: [&str; 4] = [
    "client_status",
    "client_insta_status",
    "client_tiktok_status",
    "client_amplify_status",
];

enum Val {
    Text(Option<String>),
    Flag(bool),
}

/// The known columns present in a body, type-checked (400 naming the field).
fn columns(body: &Value) -> ApiResult<Vec<(&'static str, Val)>> {
    let mut out = Vec::new();
    for c in TEXT {
        match body.get(c) {
            None => {}
            Some(Value::Null) => out.push((c, Val::Text(None))),
            Some(Value::String(s)) => {
                let s = s.trim();
                out.push((c, Val::Text((!s.is_empty()).then(|| s.to_owned()))))
            }
            Some(_) => return Err(ApiError::bad_request(format!("{c} must be a string"))),
        }
    }
    for c in FLAGS {
        match body.get(c) {
            None => {}
            Some(Value::Bool(b)) => out.push((c, Val::Flag(*b))),
            Some(_) => return Err(ApiError::bad_request(format!("{c} must be true or false"))),
        }
    }
    if matches!(
        out.iter().find(|(c, _)| *c == "nama"),
        Some((_, Val::Text(None)))
    ) {
        return Err(ApiError::bad_request("nama must not be empty"));
    }
    Ok(out)
}

async fn load(pool: &sqlx::PgPool, client_id: &str) -> sqlx::Result<Option<Value>> {
    sqlx::query_scalar("SELECT to_jsonb(c) FROM clients c WHERE lower(client_id) = lower($1)")
        .bind(client_id)
        .fetch_optional(pool)
        .await
}

/// `GET /api/admin-system/management/clients?page=&limit=&q=`.
pub async fn list(
    State(ctx): CtxState,
    _admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let (page, limit) = paging(
        q.get("page").map(String::as_str),
        q.get("limit").map(String::as_str),
    )?;
    let search = q
        .get("q")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            format!(
                "%{}%",
                s.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
    let (total, items): (i64, Value) = sqlx::query_as(
        "WITH f AS (SELECT c.* FROM clients c
                    WHERE $1::text IS NULL OR c.client_id ILIKE $1 OR c.nama ILIKE $1)
         SELECT (SELECT count(*) FROM f),
                COALESCE((SELECT jsonb_agg(to_jsonb(p) ORDER BY p.client_id) FROM
                  (SELECT * FROM f ORDER BY client_id LIMIT $2 OFFSET $3) p), '[]'::jsonb)",
    )
    .bind(search)
    .bind(limit)
    .bind((page - 1) * limit)
    .fetch_one(ctx.pool())
    .await?;
    Ok(Json(page_json(items, total, page, limit)).into_response())
}

/// `GET /api/admin-system/management/clients/summary`.
pub async fn summary(State(ctx): CtxState, _admin: Admin) -> ApiResult {
    let (total, active, insta, tiktok, amplify, with_users, by_type): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        Value,
    ) = sqlx::query_as(
        "SELECT count(*),
                count(*) FILTER (WHERE client_status IS NOT FALSE),
                count(*) FILTER (WHERE client_insta_status IS NOT FALSE
                                   AND COALESCE(client_insta, '') <> ''),
                count(*) FILTER (WHERE client_tiktok_status IS NOT FALSE
                                   AND COALESCE(client_tiktok, '') <> ''),
                count(*) FILTER (WHERE client_amplify_status IS NOT FALSE),
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM dashboard_user_clients u
                                               WHERE lower(u.client_id) = lower(c.client_id))),
                COALESCE((SELECT jsonb_object_agg(t, n) FROM
                  (SELECT COALESCE(lower(client_type), 'unknown') t, count(*) n
                   FROM clients GROUP BY 1) x), '{}'::jsonb)
         FROM clients c",
    )
    .fetch_one(ctx.pool())
    .await?;
    Ok(Json(json!({
        "success": true,
        "data": {
            "total_clients": total,
            "active_clients": active,
            "inactive_clients": total - active,
            "instagram_enabled": insta,
            "tiktok_enabled": tiktok,
            "amplify_enabled": amplify,
            "with_dashboard_users": with_users,
            "by_type": by_type,
        },
    }))
    .into_response())
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    cols: &'q [(&'static str, Val)],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for (_, v) in cols {
        q = match v {
            Val::Text(t) => q.bind(t.as_deref()),
            Val::Flag(b) => q.bind(*b),
        };
    }
    q
}

/// `POST /api/admin-system/management/clients {client_id, nama, ...}`: 201 with the row,
/// 409 when the id exists (case-insensitively).
pub async fn create(State(ctx): CtxState, Writer(admin): Writer, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let client_id = body
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("client_id is required"))?
        .to_owned();
    if client_id.len() > 64 || client_id.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(ApiError::bad_request(
            "client_id must be at most 64 characters without spaces or /",
        ));
    }
    let cols = columns(&body)?;
    if !cols
        .iter()
        .any(|(c, v)| *c == "nama" && matches!(v, Val::Text(Some(_))))
    {
        return Err(ApiError::bad_request("nama is required"));
    }
    if load(ctx.pool(), &client_id).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("client {client_id} already exists"),
        ));
    }
    let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
    let params: Vec<String> = (2..cols.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO clients (client_id, {}) VALUES ($1, {}) ON CONFLICT DO NOTHING",
        names.join(", "),
        params.join(", ")
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&client_id);
    let done = bind_all(q, &cols).execute(ctx.pool()).await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("client {client_id} already exists"),
        ));
    }
    let row = load(ctx.pool(), &client_id).await?.unwrap_or(Value::Null);
    audit(ctx.pool(), &admin, "client.create", &client_id, row.clone()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"success": true, "message": "Client created", "data": row})),
    )
        .into_response())
}

/// `PUT /api/admin-system/management/clients/{client_id}`: changes the fields sent.
pub async fn update(
    State(ctx): CtxState,
    Writer(admin): Writer,
    Path(client_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let cols = columns(&body)?;
    if cols.is_empty() {
        return Err(ApiError::bad_request("no client field to change"));
    }
    let before = load(ctx.pool(), &client_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("client {client_id} not found")))?;
    let sets: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{c} = ${}", i + 2))
        .collect();
    let sql = format!(
        "UPDATE clients SET {} WHERE lower(client_id) = lower($1)",
        sets.join(", ")
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&client_id);
    bind_all(q, &cols).execute(ctx.pool()).await?;
    let after = load(ctx.pool(), &client_id).await?.unwrap_or(Value::Null);
    audit(
        ctx.pool(),
        &admin,
        "client.update",
        before["client_id"].as_str().unwrap_or(&client_id),
        json!({"before": before, "after": after}),
    )
    .await?;
    Ok(Json(json!({"success": true, "message": "Client updated", "data": after})).into_response())
}

/// `DELETE /api/admin-system/management/clients/{client_id}`: `super_admin` only, and only a
/// client without data: personnel, dashboard accounts, posts or official accounts (or any
/// other row referencing it) make it a 409, so nothing is lost by cascade.
pub async fn delete(
    State(ctx): CtxState,
    SuperAdmin(admin): SuperAdmin,
    Path(client_id): Path<String>,
) -> ApiResult {
    let row = load(ctx.pool(), &client_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("client {client_id} not found")))?;
    let id = row["client_id"].as_str().unwrap_or(&client_id).to_owned();
    let in_use: bool = sqlx::query_scalar(
        r#"SELECT EXISTS (SELECT 1 FROM "user" WHERE lower(client_id) = lower($1))
               OR EXISTS (SELECT 1 FROM dashboard_user_clients WHERE lower(client_id) = lower($1))
               OR EXISTS (SELECT 1 FROM insta_post WHERE lower(client_id) = lower($1))
               OR EXISTS (SELECT 1 FROM tiktok_post WHERE lower(client_id) = lower($1))
               OR EXISTS (SELECT 1 FROM satbinmas_official_accounts
                          WHERE lower(client_id) = lower($1))
               OR EXISTS (SELECT 1 FROM clients WHERE lower(parent_client_id) = lower($1))"#,
    )
    .bind(&id)
    .fetch_one(ctx.pool())
    .await?;
    let conflict = || {
        ApiError::new(
            StatusCode::CONFLICT,
            format!("client {id} still has data; deactivate it (client_status false) instead"),
        )
    };
    if in_use {
        return Err(conflict());
    }
    match sqlx::query("DELETE FROM clients WHERE client_id = $1")
        .bind(&id)
        .execute(ctx.pool())
        .await
    {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {
            return Err(conflict());
        }
        Err(e) => return Err(e.into()),
    }
    audit(ctx.pool(), &admin, "client.delete", &id, row.clone()).await?;
    Ok(Json(json!({"success": true, "message": "Client deleted", "data": row})).into_response())
}

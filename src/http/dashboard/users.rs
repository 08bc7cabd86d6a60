//! Personnel management from the dashboard: list, create, update (including an NRP change
//! and (de)activation), and moving roles to a new NRP.
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use serde_json::{Value, json};
use sqlx::Row;

use super::{
    ApiError, ApiResult,
    auth::{DashUser, field, json_body, normalize_whatsapp},
    data::{scoped_json, today},
    ok,
    scope::{ROLE_FILTERS, Scoped},
};
use crate::http::AppState;

const LIST_SQL: &str = concat!(
    scope_ctes!(),
    "SELECT jsonb_build_object('user_id', m.user_id, 'nama', m.nama, 'title', m.title, \
       'divisi', m.divisi, 'jabatan', m.jabatan, 'insta', m.insta, 'tiktok', m.tiktok, \
       'whatsapp', m.whatsapp, 'email', m.email, 'desa', m.desa, 'client_id', m.client_id, \
       'nama_client', m.client_name, 'regional_id', m.regional_id, 'status', m.status, \
       'exception', m.exception, \
       'roles', coalesce((SELECT jsonb_agg(lower(r.role_name) ORDER BY r.role_name) \
                          FROM user_roles ur JOIN roles r ON r.role_id = ur.role_id \
                          WHERE ur.user_id = m.user_id), '[]'::jsonb)) \
     FROM members m ORDER BY upper(m.nama), m.user_id"
);

/// `GET /api/users/list`: the scope's people (active and not) with their roles, also as the
/// legacy boolean flags (`ditbinmas`, `operator`, …).
pub async fn list(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    let mut rows = scoped_json(&st.pool, LIST_SQL, &s, &today()?).await?;
    for r in &mut rows {
        let roles: Vec<String> = r["roles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for flag in ROLE_FILTERS {
            r[*flag] = json!(roles.iter().any(|x| x == flag));
        }
        r["user_roles"] = r["roles"].clone();
        r["role"] = json!(roles.first());
    }
    Ok(ok(json!({ "data": rows, "total": rows.len() })))
}

/// Whether the caller may manage a person: admin, a person of one of the caller's clients,
/// or (for a directorate role) a holder of that role.
pub async fn in_reach(pool: &sqlx::PgPool, caller: &DashUser, user_id: &str) -> ApiResult<bool> {
    let row = sqlx::query(
        "SELECT u.client_id, coalesce((SELECT array_agg(lower(r.role_name)) FROM user_roles ur \
           JOIN roles r ON r.role_id = ur.role_id WHERE ur.user_id = u.user_id), '{}') AS roles \
         FROM \"user\" u WHERE u.user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found("User tidak ditemukan"))?;
    let client: Option<String> = row.try_get("client_id")?;
    let roles: Vec<String> = row.try_get("roles")?;
    Ok(caller.is_admin()
        || client.as_deref().is_some_and(|c| caller.may_see(c))
        || (caller.role != "operator" && roles.contains(&caller.role)))
}

/// NRP / NIP: digits only, 6–18 long (legacy WhatsApp registration rule).
pub fn normalize_nrp(raw: &Value) -> Option<String> {
    let s = match raw {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    (6..=18).contains(&digits.len()).then_some(digits)
}

/// Stored upper-case, like legacy `normalizeUserFields`.
const UPPER_FIELDS: &[&str] = &["nama", "title", "divisi", "jabatan", "desa"];
/// Handles are stored lower-case without `@`.
const HANDLE_FIELDS: &[&str] = &["insta", "tiktok"];

/// The editable text fields of a body, normalised as legacy stores them.
fn person_fields(body: &Value) -> Vec<(&'static str, Option<String>)> {
    let mut out = Vec::new();
    for f in UPPER_FIELDS {
        if let Some(v) = body.get(*f) {
            out.push((
                *f,
                v.as_str()
                    .map(|s| s.trim().to_uppercase())
                    .filter(|s| !s.is_empty()),
            ));
        }
    }
    for f in HANDLE_FIELDS {
        if let Some(v) = body.get(*f) {
            out.push((
                *f,
                v.as_str()
                    .map(|s| s.trim().trim_start_matches('@').to_lowercase())
                    .filter(|s| !s.is_empty()),
            ));
        }
    }
    if let Some(v) = body.get("whatsapp") {
        out.push((
            "whatsapp",
            v.as_str().map(normalize_whatsapp).filter(|s| !s.is_empty()),
        ));
    }
    if let Some(v) = body.get("email") {
        out.push((
            "email",
            v.as_str()
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty()),
        ));
    }
    out
}

async fn load_person(pool: &sqlx::PgPool, user_id: &str) -> ApiResult<Value> {
    let v: Option<Value> = sqlx::query_scalar(
        "SELECT to_jsonb(u) - 'created_at' - 'updated_at' FROM \"user\" u WHERE u.user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    v.ok_or_else(|| ApiError::not_found("User tidak ditemukan"))
}

/// `POST /api/users/create {client_id, nama, title, user_id, divisi, …}`. The caller's role
/// is added (operator, or the directorate role). An existing NRP of the caller's reach is
/// re-activated and moved to the client, as in legacy; another client's person is a 409.
pub async fn create(State(st): State<Arc<AppState>>, caller: DashUser, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let user_id = body
        .get("user_id")
        .and_then(normalize_nrp)
        .ok_or_else(|| ApiError::bad_request("user_id (NRP/NIP) harus 6–18 digit"))?;
    let nama = field(&body, "nama").ok_or_else(|| ApiError::bad_request("nama wajib diisi"))?;
    let requested = field(&body, "client_id")
        .map(str::to_owned)
        .or_else(|| caller.client_id().map(str::to_owned))
        .ok_or_else(|| ApiError::bad_request("client_id wajib diisi"))?;
    if !super::scope::may_access(&caller, &requested, &caller.role) {
        return Err(ApiError::forbidden("client_id tidak diizinkan"));
    }
    let client_id: String = sqlx::query_scalar(
        "SELECT client_id FROM clients WHERE lower(client_id) = lower($1) LIMIT 1",
    )
    .bind(&requested)
    .fetch_optional(&st.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Client tidak ditemukan"))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM \"user\" WHERE user_id = $1)")
            .bind(&user_id)
            .fetch_one(&st.pool)
            .await?;
    if exists && !in_reach(&st.pool, &caller, &user_id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "NRP sudah terdaftar pada client lain",
        ));
    }
    let mut tx = st.pool.begin().await?;
    sqlx::query(
        "INSERT INTO \"user\" (user_id, nama, client_id, status) VALUES ($1, $2, $3, true) \
         ON CONFLICT (user_id) DO UPDATE SET status = true, client_id = EXCLUDED.client_id, \
           nama = EXCLUDED.nama, updated_at = now()",
    )
    .bind(&user_id)
    .bind(nama.to_uppercase())
    .bind(&client_id)
    .execute(&mut *tx)
    .await?;
    for (col, v) in person_fields(&body) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE \"user\" SET {col} = $2 WHERE user_id = $1"
        )))
        .bind(&user_id)
        .bind(v)
        .execute(&mut *tx)
        .await?;
    }
    // The caller's own role (operator or a directorate), never `admin`.
    let mut roles: Vec<String> = ROLE_FILTERS
        .contains(&caller.role.as_str())
        .then(|| caller.role.clone())
        .into_iter()
        .collect();
    if let Some(Value::Array(extra)) = body.get("roles") {
        roles.extend(
            extra
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_lowercase)
                .filter(|r| ROLE_FILTERS.contains(&r.as_str())),
        );
    }
    sqlx::query(
        "INSERT INTO user_roles (user_id, role_id) \
         SELECT $1, role_id FROM roles WHERE lower(role_name) = ANY($2) ON CONFLICT DO NOTHING",
    )
    .bind(&user_id)
    .bind(&roles)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let data = load_person(&st.pool, &user_id).await?;
    let mut res = ok(json!({ "data": data, "message": "User berhasil dibuat" }));
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

/// Tables whose `user_id` refers to `"user"` (plain foreign keys, no ON UPDATE CASCADE).
/// The claim portal's tables (migrations 0016, 0017) cascade deletes, so a person renumbered
/// without them would lose their portal password, extra accounts, resets and complaints.
const USER_REFS: &[&str] = &[
    "user_roles",
    "link_report",
    "link_report_khusus",
    "premium_request",
    "tasks",
    "cicero.claim_credentials",
    "cicero.claim_social_accounts",
    "cicero.claim_password_resets",
    "cicero.claim_complaints",
];

/// `PUT /api/users/{id}`: `{nama, title, divisi, user_id}` (user_id may be a new NRP) or
/// `{status: bool}`, plus the other profile fields.
pub async fn update(
    State(st): State<Arc<AppState>>,
    caller: DashUser,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    if !in_reach(&st.pool, &caller, &id).await? {
        return Err(ApiError::forbidden("user tidak termasuk client Anda"));
    }
    let new_id = match body.get("user_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            normalize_nrp(v)
                .ok_or_else(|| ApiError::bad_request("user_id (NRP/NIP) harus 6–18 digit"))?,
        ),
    }
    .filter(|n| *n != id);
    let status = match body.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Some(s == "true"),
        Some(_) => return Err(ApiError::bad_request("status harus true atau false")),
    };
    let fields = person_fields(&body);
    if fields.iter().any(|(c, v)| *c == "nama" && v.is_none()) {
        return Err(ApiError::bad_request("nama tidak boleh kosong"));
    }
    let mut tx = st.pool.begin().await?;
    for (col, v) in fields {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE \"user\" SET {col} = $2, updated_at = now() WHERE user_id = $1"
        )))
        .bind(&id)
        .bind(v)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(s) = status {
        sqlx::query("UPDATE \"user\" SET status = $2, updated_at = now() WHERE user_id = $1")
            .bind(&id)
            .bind(s)
            .execute(&mut *tx)
            .await?;
    }
    let current = if let Some(new_id) = &new_id {
        let taken: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM \"user\" WHERE user_id = $1)")
                .bind(new_id)
                .fetch_one(&mut *tx)
                .await?;
        if taken {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "NRP baru sudah terdaftar",
            ));
        }
        // Copy, re-point the references, delete: the foreign keys do not cascade updates.
        sqlx::query(
            "INSERT INTO \"user\" SELECT (jsonb_populate_record(NULL::\"user\", \
               to_jsonb(u) || jsonb_build_object('user_id', $2::text))).* \
             FROM \"user\" u WHERE u.user_id = $1",
        )
        .bind(&id)
        .bind(new_id)
        .execute(&mut *tx)
        .await?;
        for t in USER_REFS {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {t} SET user_id = $2 WHERE user_id = $1"
            )))
            .bind(&id)
            .bind(new_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM \"user\" WHERE user_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        new_id.clone()
    } else {
        id.clone()
    };
    tx.commit().await?;
    let data = load_person(&st.pool, &current).await?;
    Ok(ok(json!({ "data": data })))
}

/// `PUT|POST /api/user_roles/update {old_user_id, new_user_id}`: moves the roles of an old
/// NRP to the new one (a no-op when the update above already moved them).
pub async fn move_roles(
    State(st): State<Arc<AppState>>,
    caller: DashUser,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let (Some(old), Some(new)) = (
        body.get("old_user_id").and_then(normalize_nrp),
        body.get("new_user_id").and_then(normalize_nrp),
    ) else {
        return Err(ApiError::bad_request(
            "old_user_id dan new_user_id wajib diisi",
        ));
    };
    if !in_reach(&st.pool, &caller, &new).await? {
        return Err(ApiError::forbidden("user tidak termasuk client Anda"));
    }
    let mut tx = st.pool.begin().await?;
    sqlx::query(
        "INSERT INTO user_roles (user_id, role_id) SELECT $2, role_id FROM user_roles \
         WHERE user_id = $1 ON CONFLICT DO NOTHING",
    )
    .bind(&old)
    .bind(&new)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
        .bind(&old)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ok(json!({ "message": "Role berhasil dipindahkan" })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nrp_rules() {
        assert_eq!(normalize_nrp(&json!("75020001")), Some("75020001".into()));
        assert_eq!(normalize_nrp(&json!(75020001)), Some("75020001".into()));
        assert_eq!(
            normalize_nrp(&json!(" 7502-0001 ")),
            Some("75020001".into())
        );
        assert_eq!(normalize_nrp(&json!("12345")), None);
        assert_eq!(normalize_nrp(&json!("abc")), None);
        assert_eq!(normalize_nrp(&json!(null)), None);
    }

    #[test]
    fn person_fields_are_normalised() {
        let f = person_fields(
            &json!({"nama": " budi ", "insta": "@Budi_IG", "whatsapp": "0812345678", "title": ""}),
        );
        assert!(f.contains(&("nama", Some("BUDI".into()))));
        assert!(f.contains(&("insta", Some("budi_ig".into()))));
        assert!(f.contains(&("whatsapp", Some("62812345678".into()))));
        assert!(f.contains(&("title", None)));
    }
}

//! `GET /api/claim/me` and `PUT /api/claim/me`: the signed-in person's own profile.
//!
//! `instagram_accounts[]` / `tiktok_accounts[]` are the primary handle (`"user".insta` /
//! `"user".tiktok`, which the recaps count) followed by the extra accounts kept in
//! `cicero.claim_social_accounts` (migration 0016). PUT validates and stores like the legacy
//! claim update: handles from a profile URL or `@name` (Instagram lower-case without `@`,
//! TikTok lower-case with `@`, `cicero_devs` refused), WhatsApp ≥ 8 digits stored
//! 62-prefixed, e-mail lower-cased. Absent or `null` fields keep their value; an empty
//! `whatsapp`, `email`, `insta` or `tiktok` also keeps it (forms send untouched fields
//! empty); an empty `title`, `divisi`, `jabatan` or `desa` clears it; `nama` may not be
//! empty. A list replaces the extra accounts; its first entry becomes the primary handle
//! unless `insta` / `tiktok` is given too.
use std::sync::Arc;

use axum::{body::Bytes, extract::State, http::StatusCode};
use serde_json::{Map, Value, json};
use sqlx::Row;

use super::{Person, coded};
use crate::{
    domain::{
        claim::{self, HandleProblem},
        username::normalize_handle,
    },
    http::{
        AppState,
        dashboard::{ApiError, ApiResult, auth::json_body, ok, scope::ROLE_FILTERS},
    },
};

/// At most this many accounts per platform (primary included).
pub const MAX_ACCOUNTS: usize = 10;

/// A refused field: 400 `{success:false, error_code, field, message}`.
fn refused(code: &'static str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
        .with_extra(json!({ "error_code": code, "field": field }))
}

/// The profile of the portal (`data` of GET and PUT).
pub async fn load(pool: &sqlx::PgPool, nrp: &str) -> ApiResult<Value> {
    let row = sqlx::query(
        "SELECT u.user_id, u.nama, u.title, u.divisi, u.jabatan, u.desa, u.client_id, \
           c.nama AS nama_client, u.whatsapp, u.email, u.insta, u.tiktok, \
           coalesce(u.status, true) AS status, \
           coalesce((SELECT array_agg(DISTINCT lower(r.role_name)) FROM user_roles ur \
             JOIN roles r ON r.role_id = ur.role_id WHERE ur.user_id = u.user_id), '{}') AS roles, \
           coalesce((SELECT array_agg(a.username ORDER BY a.position) FROM cicero.claim_social_accounts a \
             WHERE a.user_id = u.user_id AND a.platform = 'instagram'), '{}') AS ig_extra, \
           coalesce((SELECT array_agg(a.username ORDER BY a.position) FROM cicero.claim_social_accounts a \
             WHERE a.user_id = u.user_id AND a.platform = 'tiktok'), '{}') AS tt_extra, \
           EXISTS (SELECT 1 FROM cicero.claim_credentials cc \
             WHERE cc.user_id = u.user_id AND cc.confirmed_at IS NOT NULL) AS registered \
         FROM \"user\" u LEFT JOIN clients c ON c.client_id = u.client_id WHERE u.user_id = $1",
    )
    .bind(nrp)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| {
        coded(
            StatusCode::NOT_FOUND,
            "CLAIM_USER_NOT_FOUND",
            "Personel tidak ditemukan",
        )
    })?;
    let s = |c: &str| row.try_get::<Option<String>, _>(c).ok().flatten();
    let roles: Vec<String> = row.try_get("roles")?;
    let ig_extra: Vec<String> = row.try_get("ig_extra")?;
    let tt_extra: Vec<String> = row.try_get("tt_extra")?;
    let mut data = json!({
        "user_id": nrp,
        "nrp": nrp,
        "nama": s("nama"),
        "title": s("title"),
        "divisi": s("divisi"),
        "jabatan": s("jabatan"),
        "desa": s("desa"),
        "client_id": s("client_id"),
        "nama_client": s("nama_client"),
        "whatsapp": s("whatsapp"),
        "email": s("email"),
        "insta": s("insta"),
        "tiktok": s("tiktok"),
        "instagram_accounts": accounts(s("insta"), &ig_extra),
        "tiktok_accounts": accounts(s("tiktok"), &tt_extra),
        "status": row.try_get::<bool, _>("status")?,
        "registered": row.try_get::<bool, _>("registered")?,
        "roles": roles,
    });
    for flag in ROLE_FILTERS {
        data[*flag] = json!(roles.iter().any(|r| r == flag));
    }
    Ok(data)
}

/// The primary handle (as stored, trimmed) then the extra accounts, without repeats.
pub fn accounts(primary: Option<String>, extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in primary
        .map(|p| p.trim().to_owned())
        .into_iter()
        .chain(extra.iter().cloned())
    {
        let canon = normalize_handle(&h);
        if canon.is_some() && !out.iter().any(|o| normalize_handle(o) == canon) {
            out.push(h);
        }
    }
    out
}

/// `GET /api/claim/me` → `{success, data:{…}}`.
pub async fn show(State(st): State<Arc<AppState>>, person: Person) -> ApiResult {
    let data = load(&st.pool, &person.nrp).await?;
    Ok(ok(json!({ "data": data })))
}

/// One platform's handle rule, its field names and error codes.
struct HandleRule {
    check: fn(&str) -> Result<String, HandleProblem>,
    invalid_code: &'static str,
    label: &'static str,
}

const INSTAGRAM: HandleRule = HandleRule {
    check: claim::check_insta,
    invalid_code: "CLAIM_INVALID_INSTAGRAM_FORMAT",
    label: "Instagram",
};
const TIKTOK: HandleRule = HandleRule {
    check: claim::check_tiktok,
    invalid_code: "CLAIM_INVALID_TIKTOK_FORMAT",
    label: "TikTok",
};

fn check_handle(rule: &HandleRule, field: &str, raw: &str) -> ApiResult<String> {
    (rule.check)(raw).map_err(|p| match p {
        HandleProblem::Invalid => refused(
            rule.invalid_code,
            field,
            format!("Format username/link {} tidak valid: {raw}", rule.label),
        ),
        HandleProblem::Reserved => refused(
            "CLAIM_USERNAME_BLOCKED",
            field,
            "Username cicero_devs tidak diperbolehkan.",
        ),
    })
}

/// A string field: `None` when absent or null, 400 when not a string.
fn string<'a>(body: &'a Map<String, Value>, field: &str) -> ApiResult<Option<&'a str>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(refused(
            "CLAIM_INVALID_FIELD",
            field,
            format!("{field} harus berupa teks"),
        )),
    }
}

/// What a PUT changes on one platform: a new primary handle and/or a new list of extras.
#[derive(Debug, Default, PartialEq)]
pub struct AccountChange {
    pub primary: Option<String>,
    /// `Some`: replace the extra accounts with these.
    pub extra: Option<Vec<String>>,
}

fn account_change(
    body: &Map<String, Value>,
    rule: &HandleRule,
    primary_field: &str,
    list_field: &str,
) -> ApiResult<AccountChange> {
    let primary = match string(body, primary_field)? {
        Some(raw) if !raw.is_empty() => Some(check_handle(rule, primary_field, raw)?),
        _ => None,
    };
    let list = match body.get(list_field) {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut out: Vec<String> = Vec::new();
            for item in items {
                let Some(raw) = item.as_str() else {
                    return Err(refused(
                        "CLAIM_INVALID_FIELD",
                        list_field,
                        format!("{list_field} harus berupa daftar username"),
                    ));
                };
                if raw.trim().is_empty() {
                    continue;
                }
                let h = check_handle(rule, list_field, raw)?;
                if out.contains(&h) {
                    return Err(refused(
                        "CLAIM_DUPLICATE_USERNAME_INPUT",
                        list_field,
                        format!("Username {h} ditulis lebih dari sekali"),
                    ));
                }
                out.push(h);
            }
            Some(out)
        }
        Some(_) => {
            return Err(refused(
                "CLAIM_INVALID_FIELD",
                list_field,
                format!("{list_field} harus berupa daftar username"),
            ));
        }
    };
    Ok(match list {
        None => AccountChange {
            primary,
            extra: None,
        },
        Some(list) => {
            let primary = primary.or_else(|| list.first().cloned());
            let extra: Vec<String> = list
                .into_iter()
                .filter(|h| Some(h) != primary.as_ref())
                .collect();
            if extra.len() + 1 > MAX_ACCOUNTS {
                return Err(refused(
                    "CLAIM_TOO_MANY_ACCOUNTS",
                    list_field,
                    format!("paling banyak {MAX_ACCOUNTS} akun per platform"),
                ));
            }
            AccountChange {
                primary,
                extra: Some(extra),
            }
        }
    })
}

/// `PUT /api/claim/me {nama?, title?, divisi?, jabatan?, desa?, whatsapp?, email?, insta?,
/// tiktok?, instagram_accounts?, tiktok_accounts?}` → `{success, message, data:{…}}`.
pub async fn update(State(st): State<Arc<AppState>>, person: Person, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let Value::Object(body) = body else {
        return Err(ApiError::bad_request("request body must be a JSON object"));
    };
    // (column, new value): `Some("")` is stored as NULL; absent columns are not touched.
    let mut sets: Vec<(&'static str, Option<String>)> = Vec::new();
    if let Some(nama) = string(&body, "nama")? {
        if nama.is_empty() {
            return Err(refused("CLAIM_INVALID_FIELD", "nama", "nama wajib diisi"));
        }
        sets.push(("nama", Some(nama.to_owned())));
    }
    for col in ["title", "divisi", "jabatan", "desa"] {
        if let Some(v) = string(&body, col)? {
            sets.push((col, (!v.is_empty()).then(|| v.to_owned())));
        }
    }
    if let Some(w) = string(&body, "whatsapp")?.filter(|w| !w.is_empty()) {
        let number = claim::whatsapp_number(w)
            .map_err(|m| refused("CLAIM_INVALID_WHATSAPP_FORMAT", "whatsapp", m))?;
        sets.push(("whatsapp", Some(number)));
    }
    if let Some(e) = string(&body, "email")?.filter(|e| !e.is_empty()) {
        let e = e.to_lowercase();
        if claim::email_domain(&e).is_none() {
            return Err(refused(
                "CLAIM_INVALID_EMAIL_FORMAT",
                "email",
                "Format email tidak valid.",
            ));
        }
        sets.push(("email", Some(e)));
    }
    let ig = account_change(&body, &INSTAGRAM, "insta", "instagram_accounts")?;
    let tt = account_change(&body, &TIKTOK, "tiktok", "tiktok_accounts")?;
    if let Some(p) = &ig.primary {
        sets.push(("insta", Some(p.clone())));
    }
    if let Some(p) = &tt.primary {
        sets.push(("tiktok", Some(p.clone())));
    }
    let mut tx = st.pool.begin().await?;
    if !sets.is_empty() {
        let assignments: Vec<String> = sets
            .iter()
            .enumerate()
            .map(|(i, (col, _))| format!("{col} = ${}", i + 2))
            .collect();
        // The column names come from the fixed lists above, never from the request.
        let sql = format!(
            "UPDATE \"user\" SET {}, updated_at = now() WHERE user_id = $1",
            assignments.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&person.nrp);
        for (_, v) in &sets {
            q = q.bind(v.clone());
        }
        match q.execute(&mut *tx).await {
            Ok(_) => {}
            Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("23505") => {
                return Err(coded(
                    StatusCode::CONFLICT,
                    "CLAIM_DUPLICATE_VALUE",
                    "username atau nomor sudah dipakai akun lain",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    for (platform, change) in [("instagram", &ig), ("tiktok", &tt)] {
        match (&change.extra, &change.primary) {
            (Some(extra), _) => {
                sqlx::query(
                    "DELETE FROM cicero.claim_social_accounts WHERE user_id = $1 AND platform = $2",
                )
                .bind(&person.nrp)
                .bind(platform)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO cicero.claim_social_accounts (user_id, platform, username, position) \
                     SELECT $1, $2, u, p FROM unnest($3::text[]) WITH ORDINALITY AS t(u, p)",
                )
                .bind(&person.nrp)
                .bind(platform)
                .bind(extra)
                .execute(&mut *tx)
                .await?;
            }
            // A new primary handle leaves the extras, minus itself.
            (None, Some(p)) => {
                sqlx::query(
                    "DELETE FROM cicero.claim_social_accounts \
                     WHERE user_id = $1 AND platform = $2 AND username = $3",
                )
                .bind(&person.nrp)
                .bind(platform)
                .bind(p)
                .execute(&mut *tx)
                .await?;
            }
            (None, None) => {}
        }
    }
    tx.commit().await?;
    let data = load(&st.pool, &person.nrp).await?;
    Ok(ok(
        json!({ "message": "Data berhasil diperbarui", "data": data }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn account_lists() {
        assert_eq!(
            accounts(
                Some(" @Siti_IG ".into()),
                &["siti_ig".into(), "siti2".into()]
            ),
            vec!["@Siti_IG", "siti2"]
        );
        assert_eq!(accounts(None, &["a".into()]), vec!["a"]);
        assert!(accounts(Some("  ".into()), &[]).is_empty());
    }

    #[test]
    fn account_changes() {
        let ch = |v: Value| account_change(&body(v), &INSTAGRAM, "insta", "instagram_accounts");
        assert_eq!(ch(json!({})).unwrap(), AccountChange::default());
        assert_eq!(
            ch(json!({"insta": "https://instagram.com/Budi"})).unwrap(),
            AccountChange {
                primary: Some("budi".into()),
                extra: None
            }
        );
        assert_eq!(
            ch(json!({"instagram_accounts": ["@A", "", "b"]})).unwrap(),
            AccountChange {
                primary: Some("a".into()),
                extra: Some(vec!["b".into()])
            }
        );
        assert_eq!(
            ch(json!({"insta": "b", "instagram_accounts": ["a", "b"]})).unwrap(),
            AccountChange {
                primary: Some("b".into()),
                extra: Some(vec!["a".into()])
            }
        );
        assert_eq!(
            ch(json!({"instagram_accounts": []})).unwrap(),
            AccountChange {
                primary: None,
                extra: Some(vec![])
            }
        );
        for (bad, code) in [
            (
                json!({"instagram_accounts": ["a", "@A"]}),
                "CLAIM_DUPLICATE_USERNAME_INPUT",
            ),
            (
                json!({"instagram_accounts": ["cicero_devs"]}),
                "CLAIM_USERNAME_BLOCKED",
            ),
            (json!({"insta": "bu di"}), "CLAIM_INVALID_INSTAGRAM_FORMAT"),
            (json!({"instagram_accounts": "a"}), "CLAIM_INVALID_FIELD"),
            (json!({"instagram_accounts": [1]}), "CLAIM_INVALID_FIELD"),
            (
                json!({"instagram_accounts": (0..11).map(|i| format!("a{i}")).collect::<Vec<_>>()}),
                "CLAIM_TOO_MANY_ACCOUNTS",
            ),
        ] {
            let e = ch(bad.clone()).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(e.extra.as_ref().unwrap()["error_code"], code, "{bad}");
        }
    }
}

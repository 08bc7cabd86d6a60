//! "Activity not recorded" complaints of the claim portal:
//!
//! * `POST /api/claim/complaints/triage {platform, issue_type:"activity_not_recorded",
//!   shortcode | video_id, performed_at?, periode?, tanggal?, start_date?, end_date?}`: looks
//!   the post up in the stored data, checks whether one of the person's handles is among its
//!   stored likers (Instagram) or commenters (TikTok) and when they were last collected, and
//!   answers a triage (`domain::triage`: code, evidence, solutions, retry and escalation).
//!   The result is kept as the person's complaint about that post
//!   (`cicero.claim_complaints`, migration 0016): a new one, or the open/escalated one
//!   updated (`complaint_created` says which). A `RECORDED` triage resolves it.
//! * `GET /api/claim/complaints/{id}`: the complaint with its last triage.
//! * `POST /api/claim/complaints/{id}/escalate {expected_status}`: `open` → `escalated` when
//!   the triage allows it (`can_escalate`), checked against `expected_status` in the same
//!   statement (409 when the complaint has moved on); the operators of the person's client
//!   (approved dashboard accounts with a WhatsApp number) get a `whatsapp_send` each.
//!
//! Only the person who made a complaint may see or escalate it ([`OwnComplaint`]: 403
//! otherwise, 404 when there is none).
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{FromRequestParts, Path, State},
    http::{StatusCode, request::Parts},
};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Jakarta;
use serde_json::{Value, json};
use sqlx::Row;

use super::{
    Person, coded, invalid, is_uuid,
    pending::{content_url, subject},
};
use crate::{
    domain::{
        time::jakarta_day,
        triage::{self, Code, Content, Engagement, Facts},
        username::Platform,
    },
    http::{
        AppState,
        board_api::next_runs,
        dashboard::{
            ApiError, ApiResult,
            auth::json_body,
            ok,
            scope::{Params, period_window},
        },
    },
    platform::{
        jobs::{NewJob, enqueue_many},
        scheduler::effective_entries,
    },
};

/// The only issue the portal reports.
pub const ISSUE_ACTIVITY_NOT_RECORDED: &str = "activity_not_recorded";

fn platform_of(v: Option<&Value>) -> ApiResult<Platform> {
    match v
        .and_then(Value::as_str)
        .map(|p| p.trim().to_lowercase())
        .as_deref()
    {
        Some("instagram") => Ok(Platform::Instagram),
        Some("tiktok") => Ok(Platform::TikTok),
        _ => Err(invalid(
            "CLAIM_COMPLAINT_PLATFORM_INVALID",
            "platform harus instagram atau tiktok",
        )),
    }
}

fn platform_name(p: Platform) -> &'static str {
    match p {
        Platform::Instagram => "instagram",
        Platform::TikTok => "tiktok",
    }
}

/// The content id of a body: `shortcode` (Instagram) or `video_id` (TikTok), also
/// `content_id`; a post URL (`instagram.com/p/<code>/`, `/reel/<code>`, `tiktok.com/…/video/<id>`)
/// gives its id.
pub fn content_id(platform: Platform, body: &Value) -> Option<String> {
    let key = match platform {
        Platform::Instagram => "shortcode",
        Platform::TikTok => "video_id",
    };
    let raw = [key, "content_id"]
        .iter()
        .find_map(|k| match body.get(*k) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })?;
    let id = if raw.contains('/') {
        let segments: Vec<&str> = raw
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let marker: &[&str] = match platform {
            Platform::Instagram => &["p", "reel", "reels", "tv"],
            Platform::TikTok => &["video", "photo"],
        };
        let at = segments.iter().position(|s| marker.contains(s))?;
        segments.get(at + 1)?.to_string()
    } else {
        raw
    };
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then_some(id)
}

/// Why `performed_at` was refused.
const BAD_PERFORMED_AT: &str = "performed_at bukan waktu yang dikenali (ISO 8601)";

/// `performed_at`: RFC 3339, or a Jakarta wall time `YYYY-MM-DDTHH:MM[:SS]` / `YYYY-MM-DD HH:MM`.
pub fn performed_at(v: Option<&Value>) -> Result<Option<DateTime<Utc>>, &'static str> {
    let Some(s) = v
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return match v {
            None | Some(Value::Null) | Some(Value::String(_)) => Ok(None),
            Some(_) => Err(BAD_PERFORMED_AT),
        };
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    let s = s.replace(' ', "T");
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
        .and_then(|n| Jakarta.from_local_datetime(&n).single())
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or(BAD_PERFORMED_AT)
}

/// When the next scheduled social sweep (which collects posts, likes and comments) starts.
fn next_collection(st: &AppState, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    effective_entries(&st.cron_overrides)
        .into_iter()
        .filter(|(e, _)| e.kind == "sweep_social")
        .filter_map(|(_, expr)| next_runs(&expr, now, 1).ok()?.into_iter().next())
        .map(|t| t.with_timezone(&Utc))
        .min()
}

/// The stored post and its engagement, with whether it is one of the person's tasks.
async fn stored_content(
    pool: &sqlx::PgPool,
    platform: Platform,
    id: &str,
    client_id: Option<&str>,
    roles: &[String],
) -> ApiResult<Option<(Content, Option<String>)>> {
    let sql = match platform {
        Platform::Instagram => {
            "SELECT p.created_at, p.like_count::bigint AS counter, \
               (lower(p.client_id) = lower($2) OR EXISTS (SELECT 1 FROM insta_post_roles r \
                  WHERE r.shortcode = p.shortcode AND lower(r.role_name) = ANY($3))) AS assigned, \
               l.shortcode IS NOT NULL AS collected, l.likes AS engagers, l.updated_at AS collected_at, \
               NULL::text AS account \
             FROM insta_post p LEFT JOIN insta_like l ON l.shortcode = p.shortcode \
             WHERE p.shortcode = $1"
        }
        Platform::TikTok => {
            "SELECT p.created_at, p.comment_count::bigint AS counter, \
               (lower(p.client_id) = lower($2) OR EXISTS (SELECT 1 FROM tiktok_post_roles r \
                  WHERE r.video_id = p.video_id AND lower(r.role_name) = ANY($3))) AS assigned, \
               c.video_id IS NOT NULL AS collected, c.comments AS engagers, c.updated_at AS collected_at, \
               (SELECT nullif(lower(regexp_replace(trim(k.client_tiktok), '^@', '')), '') \
                  FROM clients k WHERE k.client_id = p.client_id) AS account \
             FROM tiktok_post p LEFT JOIN tiktok_comment c ON c.video_id = p.video_id \
             WHERE p.video_id = $1"
        }
    };
    let Some(row) = sqlx::query(sql)
        .bind(id)
        .bind(client_id.unwrap_or_default())
        .bind(roles)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let engagers: Option<Value> = row.try_get("engagers")?;
    let engagement = row
        .try_get::<bool, _>("collected")?
        .then(|| -> sqlx::Result<Engagement> {
            Ok(Engagement {
                engagers: engagers
                    .as_ref()
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                collected_at: row.try_get("collected_at")?,
            })
        })
        .transpose()?;
    Ok(Some((
        Content {
            assigned: row.try_get::<Option<bool>, _>("assigned")?.unwrap_or(false),
            created_at: row.try_get("created_at")?,
            counter: row.try_get("counter")?,
            engagement,
        },
        row.try_get("account")?,
    )))
}

/// A complaint as the portal reads it.
fn complaint_json(row: &sqlx::postgres::PgRow) -> sqlx::Result<Value> {
    Ok(json!({
        "complaint_id": row.try_get::<String, _>("complaint_id")?,
        "platform": row.try_get::<String, _>("platform")?,
        "content_id": row.try_get::<String, _>("content_id")?,
        "issue_type": row.try_get::<String, _>("issue_type")?,
        "status": row.try_get::<String, _>("status")?,
        "triage": row.try_get::<Value, _>("triage")?,
        "created_at": row.try_get::<DateTime<Utc>, _>("created_at")?,
        "updated_at": row.try_get::<DateTime<Utc>, _>("updated_at")?,
        "escalated_at": row.try_get::<Option<DateTime<Utc>>, _>("escalated_at")?,
        "resolved_at": row.try_get::<Option<DateTime<Utc>>, _>("resolved_at")?,
    }))
}

const COMPLAINT_COLUMNS: &str = "complaint_id::text AS complaint_id, user_id, platform, \
    content_id, issue_type, status, triage, created_at, updated_at, escalated_at, resolved_at";

/// `POST /api/claim/complaints/triage` → `{success, data:{triage_code, triage_quality, title,
/// summary, evidence[], solutions[], last_collected_at, can_retry, retry_after, can_escalate,
/// complaint_id, complaint_created, complaint_status, …}}`.
pub async fn triage(State(st): State<Arc<AppState>>, person: Person, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let platform = platform_of(body.get("platform"))?;
    let issue = match body.get("issue_type") {
        None | Some(Value::Null) => ISSUE_ACTIVITY_NOT_RECORDED.to_owned(),
        Some(v) => v
            .as_str()
            .map(|s| s.trim().to_lowercase())
            .unwrap_or_default(),
    };
    if issue != ISSUE_ACTIVITY_NOT_RECORDED {
        return Err(invalid(
            "CLAIM_COMPLAINT_ISSUE_INVALID",
            "issue_type harus activity_not_recorded",
        ));
    }
    let id = content_id(platform, &body).ok_or_else(|| {
        invalid(
            "CLAIM_COMPLAINT_CONTENT_INVALID",
            match platform {
                Platform::Instagram => "shortcode (atau tautan konten Instagram) wajib diisi",
                Platform::TikTok => "video_id (atau tautan video TikTok) wajib diisi",
            },
        )
    })?;
    let now = Utc::now();
    let performed_at = performed_at(body.get("performed_at"))
        .map_err(|m| invalid("CLAIM_COMPLAINT_PERFORMED_AT_INVALID", m))?;
    if performed_at.is_some_and(|p| p > now + chrono::Duration::minutes(5)) {
        return Err(invalid(
            "CLAIM_COMPLAINT_PERFORMED_AT_INVALID",
            "performed_at tidak boleh di masa depan",
        ));
    }
    // The period the person was looking at, when the body names one (same keys as the list).
    let period_keys = ["periode", "tanggal", "start_date", "end_date"];
    let params = Params(
        period_keys
            .iter()
            .filter_map(|k| {
                body.get(*k)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| (k.to_string(), v.to_owned()))
            })
            .collect(),
    );
    let window = if params.0.is_empty() {
        None
    } else {
        Some(
            period_window(&params, jakarta_day(now))
                .map_err(|e| invalid("CLAIM_INVALID_DATE_FILTER", e.message))?,
        )
    };
    let s = subject(&st.pool, &person.nrp).await?;
    let stored = stored_content(&st.pool, platform, &id, s.client_id.as_deref(), &s.roles).await?;
    let (content, account) = match stored {
        Some((c, a)) => (Some(c), a),
        None => (None, None),
    };
    let in_period = match (&window, content.as_ref().and_then(|c| c.created_at)) {
        (Some(w), Some(at)) => Some(w.0 <= at && at < w.1),
        _ => None,
    };
    let facts = Facts {
        platform,
        content_id: id.clone(),
        handles: s.handles(platform).to_vec(),
        content,
        performed_at,
        in_period,
        now,
        next_collection: next_collection(&st, now),
    };
    let t = triage::triage(&facts);
    let mut stored_triage = serde_json::to_value(&t).unwrap_or_default();
    stored_triage["performed_at"] = json!(performed_at);
    stored_triage["content_url"] = json!(content_url(platform, &id, account.as_deref()));
    stored_triage["triaged_at"] = json!(now);
    let (complaint_id, status, created) = store(
        &st.pool,
        &person.nrp,
        platform,
        &id,
        &issue,
        &t,
        &stored_triage,
    )
    .await?;
    let mut data = stored_triage;
    data["platform"] = json!(platform_name(platform));
    data["content_id"] = json!(id);
    data["issue_type"] = json!(issue);
    data["complaint_id"] = json!(complaint_id);
    data["complaint_created"] = json!(created);
    data["complaint_status"] = json!(status);
    data["can_escalate"] = json!(t.can_escalate && status == "open");
    Ok(ok(json!({ "message": t.title, "data": data })))
}

/// Keeps the triage as the person's complaint: resolves the active one on `RECORDED`,
/// otherwise updates it or opens a new one. Returns (id, status, created).
async fn store(
    pool: &sqlx::PgPool,
    nrp: &str,
    platform: Platform,
    content_id: &str,
    issue: &str,
    t: &triage::Triage,
    stored: &Value,
) -> ApiResult<(String, String, bool)> {
    let platform = platform_name(platform);
    if t.triage_code == Code::Recorded {
        let resolved: Option<(String, String)> = sqlx::query_as(
            "UPDATE cicero.claim_complaints SET status = 'resolved', resolved_at = now(), \
               updated_at = now(), triage = $5 \
             WHERE user_id = $1 AND platform = $2 AND content_id = $3 AND issue_type = $4 \
               AND status IN ('open', 'escalated') \
             RETURNING complaint_id::text, status",
        )
        .bind(nrp)
        .bind(platform)
        .bind(content_id)
        .bind(issue)
        .bind(stored)
        .fetch_optional(pool)
        .await?;
        if let Some((id, status)) = resolved {
            return Ok((id, status, false));
        }
        let (id, status): (String, String) = sqlx::query_as(
            "INSERT INTO cicero.claim_complaints \
               (user_id, platform, content_id, issue_type, status, triage, resolved_at) \
             VALUES ($1, $2, $3, $4, 'resolved', $5, now()) RETURNING complaint_id::text, status",
        )
        .bind(nrp)
        .bind(platform)
        .bind(content_id)
        .bind(issue)
        .bind(stored)
        .fetch_one(pool)
        .await?;
        return Ok((id, status, true));
    }
    // One active complaint per person, post and issue (the partial unique index): a new
    // triage updates it, and an escalated one stays escalated.
    let (id, status, created): (String, String, bool) = sqlx::query_as(
        "INSERT INTO cicero.claim_complaints (user_id, platform, content_id, issue_type, status, triage) \
         VALUES ($1, $2, $3, $4, 'open', $5) \
         ON CONFLICT (user_id, platform, content_id, issue_type) WHERE status IN ('open', 'escalated') \
         DO UPDATE SET triage = EXCLUDED.triage, updated_at = now() \
         RETURNING complaint_id::text, status, (xmax = 0) AS created",
    )
    .bind(nrp)
    .bind(platform)
    .bind(content_id)
    .bind(issue)
    .bind(stored)
    .fetch_one(pool)
    .await?;
    Ok((id, status, created))
}

/// A complaint of the signed-in person, from the `{id}` of the path: 404 when there is
/// none, 403 when it is someone else's.
pub struct OwnComplaint {
    pub person: Person,
    pub id: String,
    pub row: sqlx::postgres::PgRow,
}

impl FromRequestParts<Arc<AppState>> for OwnComplaint {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> ApiResult<Self> {
        let person = Person::from_request_parts(parts, st).await?;
        let not_found = || {
            coded(
                StatusCode::NOT_FOUND,
                "CLAIM_COMPLAINT_NOT_FOUND",
                "Keluhan tidak ditemukan",
            )
        };
        let Path(id) = Path::<String>::from_request_parts(parts, st)
            .await
            .map_err(|_| not_found())?;
        let id = id.trim().to_lowercase();
        if !is_uuid(&id) {
            return Err(not_found());
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COMPLAINT_COLUMNS} FROM cicero.claim_complaints WHERE complaint_id = $1::uuid"
        )))
        .bind(&id)
        .fetch_optional(&st.pool)
        .await?
        .ok_or_else(not_found)?;
        let owner: String = row.try_get("user_id")?;
        if owner != person.nrp {
            return Err(coded(
                StatusCode::FORBIDDEN,
                "CLAIM_COMPLAINT_FORBIDDEN",
                "Keluhan ini milik personel lain",
            ));
        }
        Ok(OwnComplaint { person, id, row })
    }
}

/// `GET /api/claim/complaints/{id}` → `{success, data:{complaint_id, platform, content_id,
/// issue_type, status, triage{…}, created_at, updated_at, escalated_at, resolved_at}}`.
pub async fn show(c: OwnComplaint) -> ApiResult {
    Ok(ok(json!({ "data": complaint_json(&c.row)? })))
}

/// `POST /api/claim/complaints/{id}/escalate {expected_status}` → `{success, message,
/// data:{…complaint, notified}}`.
pub async fn escalate(State(st): State<Arc<AppState>>, c: OwnComplaint, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let expected = body
        .get("expected_status")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            invalid(
                "CLAIM_COMPLAINT_EXPECTED_STATUS_REQUIRED",
                "expected_status wajib diisi",
            )
        })?;
    let mut tx = st.pool.begin().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE cicero.claim_complaints SET status = 'escalated', escalated_at = now(), \
           updated_at = now() \
         WHERE complaint_id = $1::uuid AND status = $2 AND status = 'open' \
           AND coalesce((triage->>'can_escalate')::boolean, false) \
         RETURNING {COMPLAINT_COLUMNS}"
    )))
    .bind(&c.id)
    .bind(&expected)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let current: String = c.row.try_get("status")?;
        let now: Option<String> = sqlx::query_scalar(
            "SELECT status FROM cicero.claim_complaints WHERE complaint_id = $1::uuid",
        )
        .bind(&c.id)
        .fetch_optional(&mut *tx)
        .await?;
        let now = now.unwrap_or(current);
        if now != expected {
            return Err(coded(
                StatusCode::CONFLICT,
                "CLAIM_COMPLAINT_STATUS_CONFLICT",
                format!("Status keluhan sudah berubah menjadi {now}; muat ulang"),
            )
            .with_extra(
                json!({"error_code": "CLAIM_COMPLAINT_STATUS_CONFLICT", "current_status": now}),
            ));
        }
        return Err(coded(
            StatusCode::UNPROCESSABLE_ENTITY,
            "CLAIM_COMPLAINT_NOT_ESCALATABLE",
            "Keluhan ini tidak dapat diteruskan: ikuti solusi yang disarankan",
        )
        .with_extra(
            json!({"error_code": "CLAIM_COMPLAINT_NOT_ESCALATABLE", "current_status": now}),
        ));
    };
    let data = complaint_json(&row)?;
    let notified = notify_operators(&mut tx, &c.person.nrp, &c.id, &data).await?;
    tx.commit().await?;
    let mut data = data;
    data["notified"] = json!(notified);
    Ok(ok(json!({
        "message": "Keluhan diteruskan ke operator",
        "data": data,
    })))
}

/// One `whatsapp_send` per approved dashboard account of the person's client that has a
/// WhatsApp number, in the escalation's transaction. Returns how many were enqueued.
async fn notify_operators(
    tx: &mut sqlx::PgConnection,
    nrp: &str,
    complaint_id: &str,
    complaint: &Value,
) -> ApiResult<usize> {
    let person: (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT u.nama, u.title, u.client_id, c.nama FROM \"user\" u \
             LEFT JOIN clients c ON c.client_id = u.client_id WHERE u.user_id = $1",
    )
    .bind(nrp)
    .fetch_one(&mut *tx)
    .await?;
    let (nama, title, client_id, client_name) = person;
    let recipients: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT du.dashboard_user_id::text, du.whatsapp::text FROM dashboard_user du \
         JOIN dashboard_user_clients duc ON duc.dashboard_user_id = du.dashboard_user_id \
         WHERE lower(duc.client_id) = lower($1) AND coalesce(du.status, true) \
           AND length(regexp_replace(coalesce(du.whatsapp::text, ''), '[^0-9]', '', 'g')) >= 8 \
         ORDER BY 1",
    )
    .bind(client_id.as_deref().unwrap_or_default())
    .fetch_all(&mut *tx)
    .await?;
    if recipients.is_empty() {
        return Ok(0);
    }
    let t = &complaint["triage"];
    let text = format!(
        "*Keluhan personel dari portal claim*\n*Pelapor*: {} {} (NRP {nrp})\n*Satker*: {}\n*Platform*: {}\n*Konten*: {}\n*Hasil pemeriksaan*: {} ({})\n{}\n\nMohon periksa data {} personel ini.",
        title.unwrap_or_default(),
        nama.unwrap_or_default(),
        client_name.or(client_id).unwrap_or_default(),
        complaint["platform"].as_str().unwrap_or_default(),
        t["content_url"]
            .as_str()
            .or(complaint["content_id"].as_str())
            .unwrap_or_default(),
        t["title"].as_str().unwrap_or_default(),
        t["triage_code"].as_str().unwrap_or_default(),
        t["summary"].as_str().unwrap_or_default(),
        if complaint["platform"] == "tiktok" {
            "komentar"
        } else {
            "like"
        },
    );
    let jobs: Vec<NewJob> = recipients
        .iter()
        .map(|(id, whatsapp)| {
            NewJob::new(
                "whatsapp_send",
                json!({
                    "to": whatsapp,
                    "text": text,
                    "idempotency_key": format!("claim_complaint:{complaint_id}:escalated:{id}"),
                }),
            )
        })
        .collect();
    enqueue_many(&mut *tx, &jobs).await.map_err(|e| {
        tracing::error!(error = %e, "enqueue complaint escalation");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    })?;
    Ok(jobs.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_from_ids_and_urls() {
        let ig = |v: Value| content_id(Platform::Instagram, &v);
        let tt = |v: Value| content_id(Platform::TikTok, &v);
        assert_eq!(
            ig(json!({"shortcode": " C1x_Y-2 "})).as_deref(),
            Some("C1x_Y-2")
        );
        assert_eq!(
            ig(json!({"shortcode": "https://www.instagram.com/p/C1xY/?igsh=abc"})).as_deref(),
            Some("C1xY")
        );
        assert_eq!(
            ig(json!({"content_id": "https://instagram.com/reel/R9/"})).as_deref(),
            Some("R9")
        );
        assert_eq!(
            tt(json!({"video_id": "https://www.tiktok.com/@polres/video/7301234567890?lang=id"}))
                .as_deref(),
            Some("7301234567890")
        );
        assert_eq!(
            tt(json!({"video_id": 7301234567890u64})).as_deref(),
            Some("7301234567890")
        );
        for bad in [
            json!({}),
            json!({"shortcode": ""}),
            json!({"shortcode": "a b"}),
            json!({"shortcode": "https://www.instagram.com/polres/"}),
            json!({"shortcode": "x".repeat(65)}),
            json!({"video_id": "P1"}),
        ] {
            assert_eq!(ig(bad.clone()), None, "{bad}");
        }
    }

    #[test]
    fn performed_at_forms() {
        let utc = |s: &str| Some(s.parse::<DateTime<Utc>>().unwrap());
        assert_eq!(
            performed_at(Some(&json!("2026-11-25T08:00:00+07:00"))),
            Ok(utc("2026-11-25T01:00:00Z"))
        );
        assert_eq!(
            performed_at(Some(&json!("2026-11-25 08:00"))),
            Ok(utc("2026-11-25T01:00:00Z"))
        );
        assert_eq!(performed_at(None), Ok(None));
        assert_eq!(performed_at(Some(&json!(null))), Ok(None));
        assert_eq!(performed_at(Some(&json!(""))), Ok(None));
        assert_eq!(performed_at(Some(&json!("kemarin"))), Err(BAD_PERFORMED_AT));
        assert_eq!(performed_at(Some(&json!(5))), Err(BAD_PERFORMED_AT));
    }
}

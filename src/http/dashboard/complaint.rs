//! The dashboard complaint (legacy §4j REST complaint): the reply text, sent over WhatsApp to
//! the person and to the dashboard user as `whatsapp_send` jobs. Without a `solution` in the
//! request, the answer is the legacy automatic one: activation guidance for an inactive
//! person, update instructions for one without usernames, else the solutions of the known
//! issues (`domain::complaint`) from what Cicero has stored about the person.
use axum::body::Bytes;
use chrono::{DateTime, Timelike, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{
    ApiError, ApiResult,
    auth::{field, json_body},
    ok,
    scope::Scoped,
};
use crate::{
    domain::{
        complaint::{self as rules, Account, Facts, Metrics, PendingTask},
        time::{jakarta_day, jakarta_day_window},
        username::normalize_handle,
    },
    http::AppState,
    platform::jobs::NewJob,
};

/// Legacy greeting by hour (pagi 4–9, siang 10–14, sore 15–17, otherwise malam). The legacy
/// used the server's local hours; ours are Asia/Jakarta, where the servers ran.
pub fn greeting(hour: u32) -> &'static str {
    match hour {
        4..=9 => "Selamat pagi",
        10..=14 => "Selamat siang",
        15..=17 => "Selamat sore",
        _ => "Selamat malam",
    }
}

/// The default follow-up when the dashboard sends no `solution` (its form sends none).
pub const DEFAULT_SOLUTION: &str = "Laporan Anda sudah kami terima dan sedang kami periksa. \
Pastikan username Instagram/TikTok Anda sudah benar; bila belum, perbarui data Anda di \
https://papiqo.com/claim.";

/// The legacy reply text.
pub fn message(hour: u32, reporter: &str, nrp: &str, issue: &str, solution: &str) -> String {
    format!(
        "{}! Kami menindaklanjuti laporan yang Anda sampaikan.\n\n*Pelapor*: {reporter}\n*NRP/NIP*: {nrp}\n\n*Kendala*:\n{issue}\n\n*Solusi/Tindak Lanjut*:\n{solution}",
        greeting(hour)
    )
}

/// Jakarta hour of an instant.
pub fn jakarta_hour(t: DateTime<Utc>) -> u32 {
    (t + chrono::Duration::hours(7)).hour()
}

/// The idempotency-key stem of one complaint: the Jakarta day and a hash of the complaint
/// (not the greeting), so a retried request on the same day sends nothing twice.
pub fn key_stem(
    platform: &str,
    nrp: &str,
    day: chrono::NaiveDate,
    issue: &str,
    solution: &str,
) -> String {
    let digest = Sha256::digest(format!("{issue}\n{solution}").as_bytes());
    format!(
        "complaint:{platform}:{nrp}:{day}:{}",
        &hex::encode(digest)[..16]
    )
}

/// One `whatsapp_send` for one recipient (`personnel` or `dashboard_user`).
pub fn job(stem: &str, recipient: &str, chat: &str, text: &str) -> NewJob {
    NewJob::new(
        "whatsapp_send",
        serde_json::json!({"to": chat, "text": text, "idempotency_key": format!("{stem}:{recipient}:{chat}")}),
    )
}

/// The person a complaint is about.
struct Person {
    nrp: String,
    title: Option<String>,
    nama: Option<String>,
    whatsapp: Option<String>,
    client_id: Option<String>,
    insta: Option<String>,
    tiktok: Option<String>,
    active: bool,
}

async fn person(pool: &sqlx::PgPool, nrp: &str) -> ApiResult<Person> {
    let r = sqlx::query(
        "SELECT title, nama, whatsapp, client_id, insta, tiktok, coalesce(status, true) AS active \
         FROM \"user\" WHERE user_id = $1",
    )
    .bind(nrp)
    .fetch_one(pool)
    .await?;
    Ok(Person {
        nrp: nrp.to_owned(),
        title: r.try_get("title")?,
        nama: r.try_get("nama")?,
        whatsapp: r.try_get("whatsapp")?,
        client_id: r.try_get("client_id")?,
        insta: r.try_get("insta")?,
        tiktok: r.try_get("tiktok")?,
        active: r.try_get("active")?,
    })
}

/// What Cicero has stored about the person's accounts and today's tasks.
async fn facts(
    pool: &sqlx::PgPool,
    p: &Person,
    reported: (Option<String>, Option<String>),
    now: DateTime<Utc>,
) -> ApiResult<Facts> {
    let today = jakarta_day(now);
    let bad = || ApiError::bad_request("tanggal");
    let (since, _) = jakarta_day_window(rules::activity_start()).ok_or_else(bad)?;
    let (day_start, day_end) = jakarta_day_window(today).ok_or_else(bad)?;
    let ig = p.insta.as_deref().and_then(normalize_handle);
    let tt = p.tiktok.as_deref().and_then(normalize_handle);
    let mut instagram = Account {
        handle: ig.clone(),
        reported: reported.0,
        ..Account::default()
    };
    let mut tiktok = Account {
        handle: tt.clone(),
        reported: reported.1,
        ..Account::default()
    };
    if let Some(h) = &ig {
        let m = sqlx::query(
            "SELECT post_count::bigint AS posts, follower_count::bigint AS followers, \
               following_count::bigint AS following \
             FROM insta_profile WHERE lower(username) = $1 LIMIT 1",
        )
        .bind(h)
        .fetch_optional(pool)
        .await?;
        instagram.metrics = m
            .map(|m| -> sqlx::Result<Metrics> {
                Ok(Metrics {
                    posts: m.try_get("posts")?,
                    followers: m.try_get("followers")?,
                    following: m.try_get("following")?,
                })
            })
            .transpose()?;
        let n: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT p.shortcode) FROM insta_post p \
             JOIN insta_like l ON l.shortcode = p.shortcode, \
               jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.likes) = 'array' \
                                         THEN l.likes ELSE '[]'::jsonb END) e \
             WHERE lower(p.client_id) = lower($3) AND p.created_at >= $2 \
               AND lower(replace(trim(e), '@', '')) = $1",
        )
        .bind(h)
        .bind(since)
        .bind(&p.client_id)
        .fetch_one(pool)
        .await?;
        instagram.recorded = n as u64;
    }
    if let Some(h) = &tt {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT p.video_id) FROM tiktok_post p \
             JOIN tiktok_comment c ON c.video_id = p.video_id, \
               jsonb_array_elements_text(CASE WHEN jsonb_typeof(c.comments) = 'array' \
                                         THEN c.comments ELSE '[]'::jsonb END) e \
             WHERE lower(p.client_id) = lower($3) AND p.created_at >= $2 \
               AND lower(ltrim(trim(e), '@')) = $1",
        )
        .bind(h)
        .bind(since)
        .bind(&p.client_id)
        .fetch_one(pool)
        .await?;
        tiktok.recorded = n as u64;
    }
    // Today's official posts of the person's client without a link report (any platform link)
    // from them: the "tugas" still missing.
    let pending = sqlx::query(
        "SELECT p.shortcode, coalesce(p.caption, '') AS caption FROM insta_post p \
         WHERE lower(p.client_id) = lower($1) AND p.created_at >= $2 AND p.created_at < $3 \
           AND NOT EXISTS (SELECT 1 FROM link_report r WHERE r.shortcode = p.shortcode \
             AND r.user_id = $4 AND coalesce(nullif(trim(r.instagram_link), ''), \
               nullif(trim(r.facebook_link), ''), nullif(trim(r.twitter_link), ''), \
               nullif(trim(r.tiktok_link), ''), nullif(trim(r.youtube_link), '')) IS NOT NULL) \
         ORDER BY p.created_at, p.shortcode",
    )
    .bind(p.client_id.as_deref().unwrap_or_default())
    .bind(day_start)
    .bind(day_end)
    .bind(&p.nrp)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| -> sqlx::Result<PendingTask> {
        Ok(PendingTask {
            shortcode: r.try_get("shortcode")?,
            caption: r.try_get("caption")?,
        })
    })
    .collect::<sqlx::Result<Vec<_>>>()?;
    Ok(Facts {
        instagram,
        tiktok,
        pending_tasks: pending,
        today,
    })
}

/// The first non-blank of several string fields.
fn pick(body: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| field(body, n)).map(str::to_owned)
}

/// A handle the request names for the person (`instagram`, `username_ig`, …), bare.
fn reported_handle(body: &Value, names: &[&str], tiktok: bool) -> Option<String> {
    names.iter().find_map(|n| {
        let raw = field(body, n)?;
        rules::named_handle(raw, tiktok).or_else(|| normalize_handle(raw))
    })
}

/// `POST /api/dashboard/komplain/{insta,tiktok}` (legacy `handleComplaint`).
pub async fn handle(st: &AppState, s: &Scoped, body: &Bytes, platform: &str) -> ApiResult {
    let body = json_body(body)?;
    let nrp: String = body
        .get("nrp")
        .or_else(|| body.get("user_id"))
        .map(|v| match v {
            Value::Number(n) => n.to_string(),
            other => other.as_str().unwrap_or_default().to_owned(),
        })
        .unwrap_or_default()
        .trim()
        .to_owned();
    if nrp.is_empty() {
        return Err(ApiError::bad_request("nrp wajib diisi"));
    }
    let raw_message = pick(&body, &["message", "pesan", "complaint", "raw", "text"]);
    let mut issue = pick(&body, &["issue", "kendala", "problem"])
        .or_else(|| raw_message.clone())
        .unwrap_or_else(|| "Kendala akses atau data tidak sesuai".to_owned());
    let given = pick(&body, &["solution", "solusi", "tindak_lanjut"]);
    if !super::users::in_reach(&st.pool, &s.user, &nrp).await? {
        return Err(ApiError::forbidden("nrp tidak termasuk client Anda"));
    }
    let p = person(&st.pool, &nrp).await?;
    let now = Utc::now();
    let (solution, issue_keys) = match given {
        Some(sol) => (sol, vec![]),
        None if !p.active => (rules::inactive_solution(), vec![]),
        None if p.insta.as_deref().and_then(normalize_handle).is_none()
            && p.tiktok.as_deref().and_then(normalize_handle).is_none() =>
        {
            issue = rules::NO_ACCOUNTS_ISSUE.to_owned();
            (rules::no_accounts_solution(), vec![])
        }
        None => {
            // The message's issue lines (legacy parser), else the issue field as one issue.
            let parsed = raw_message.as_deref().map(rules::parse).unwrap_or_default();
            let issues = if parsed.issues.is_empty() {
                vec![issue.clone()]
            } else {
                parsed.issues.clone()
            };
            let keys: Vec<&'static str> = rules::known_issues(&issues)
                .into_iter()
                .map(|(k, _)| k.name())
                .collect();
            let text = if keys.is_empty() {
                String::new()
            } else {
                let reported = (
                    parsed.instagram.clone().or_else(|| {
                        reported_handle(
                            &body,
                            &["instagram", "insta", "username_ig", "username_instagram"],
                            false,
                        )
                    }),
                    parsed
                        .tiktok
                        .clone()
                        .or_else(|| reported_handle(&body, &["tiktok", "username_tiktok"], true)),
                );
                rules::solutions(&issues, &facts(&st.pool, &p, reported, now).await?)
            };
            if text.is_empty() {
                (DEFAULT_SOLUTION.to_owned(), keys)
            } else {
                (text, keys)
            }
        }
    };
    let own_wa = super::auth::account_whatsapp(&st.pool, Some(&s.user.id)).await?;
    let reporter = [p.title.as_deref(), p.nama.as_deref()]
        .into_iter()
        .flatten()
        .filter(|x| !x.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let text = message(
        jakarta_hour(now),
        if reporter.is_empty() { &nrp } else { &reporter },
        &nrp,
        &issue,
        &solution,
    );
    let stem = key_stem(platform, &nrp, jakarta_day(now), &issue, &solution);
    // A recipient without a usable number is reported, not an error (legacy `whatsappDelivery`).
    let mut delivery = Map::new();
    let mut jobs = Vec::new();
    for (name, raw) in [("personnel", p.whatsapp.clone()), ("dashboardUser", own_wa)] {
        let chat = raw
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| crate::whatsapp::address::chat_id(r).ok());
        match chat {
            Some(chat) => {
                jobs.push(job(&stem, name, &chat, &text));
                delivery.insert(name.into(), json!({"status": "queued", "chat_id": chat}));
            }
            None => {
                delivery.insert(
                    name.into(),
                    json!({"status": "skipped", "reason": "no whatsapp number"}),
                );
            }
        }
    }
    let ids = crate::platform::jobs::enqueue_many(&st.pool, &jobs).await?;
    tracing::info!(nrp = %nrp, platform, by = %s.user.username, jobs = ?ids, keys = ?issue_keys, "dashboard complaint");
    Ok(ok(json!({
        "message": "Komplain terkirim",
        "data": {
            "nrp": nrp, "platform": platform, "issue": issue, "solution": solution,
            "knownIssues": issue_keys,
            "message": "Komplain terkirim", "channel": "whatsapp", "text": text,
            "whatsappDelivery": delivery, "reporter": reporter,
            "dashboard": { "username": s.user.username },
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_by_hour() {
        for (h, want) in [
            (0, "Selamat malam"),
            (3, "Selamat malam"),
            (4, "Selamat pagi"),
            (9, "Selamat pagi"),
            (10, "Selamat siang"),
            (14, "Selamat siang"),
            (15, "Selamat sore"),
            (17, "Selamat sore"),
            (18, "Selamat malam"),
            (23, "Selamat malam"),
        ] {
            assert_eq!(greeting(h), want, "{h}");
        }
    }

    #[test]
    fn message_layout() {
        let m = message(
            11,
            "AIPTU BUDI",
            "75020201",
            "Likes belum terdata",
            "Cek username",
        );
        assert_eq!(
            m,
            "Selamat siang! Kami menindaklanjuti laporan yang Anda sampaikan.\n\n*Pelapor*: AIPTU BUDI\n*NRP/NIP*: 75020201\n\n*Kendala*:\nLikes belum terdata\n\n*Solusi/Tindak Lanjut*:\nCek username"
        );
    }

    #[test]
    fn jakarta_hour_is_utc_plus_7() {
        let t = DateTime::parse_from_rfc3339("2026-11-24T20:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(jakarta_hour(t), 3);
    }
}

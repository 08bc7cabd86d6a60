//! `send_digest`: the attendance recap of one client for today (Jakarta), built from the
//! legacy tables with `crate::domain`, fanned out as one `whatsapp_send` per recipient.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use cicero_jobs::send_digest::SendDigest;

use super::{Ctx, JobCtx, JobError};
use crate::{
    domain::{
        attendance::{
            ClientInfo, Member, PostEngagement, UnitOrder, directorate_report, org_report,
        },
        recap::{RecapMode, directorate_comments_recap, directorate_likes_recap, org_recap},
        time::{jakarta_day, jakarta_day_window},
        username::Platform,
    },
    platform::jobs::{NewJob, enqueue_many},
    whatsapp::address,
};

/// The reports a digest can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Org/operator Instagram likes recap (`absensiLikes` mode all, roleFlag operator).
    Likes,
    /// Org/operator TikTok comments recap (`absensiKomentar` roleFlag operator).
    Comments,
    /// Direktorat likes recap per Polres (users holding the directorate's role).
    DirectorateLikes,
    DirectorateComments,
}

impl Report {
    pub fn parse(s: &str) -> Result<Self, JobError> {
        match s {
            "likes" => Ok(Report::Likes),
            "comments" => Ok(Report::Comments),
            "directorate_likes" => Ok(Report::DirectorateLikes),
            "directorate_comments" => Ok(Report::DirectorateComments),
            other => Err(JobError::Permanent(format!(
                "report {other:?} is not likes, comments, directorate_likes or directorate_comments"
            ))),
        }
    }
}

/// Default recipients of the engagement recap (legacy §3: group, operator, super admins).
pub const DEFAULT_RECIPIENTS: &[&str] = &["group", "operator", "super"];

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    nama: String,
    client_tiktok: Option<String>,
    client_group: Option<String>,
    client_operator: Option<String>,
    client_super: Option<String>,
}

pub async fn run(ctx: Arc<Ctx>, job: JobCtx, p: SendDigest) -> Result<Value, JobError> {
    let report = Report::parse(&p.report)?;
    let max_delay = chrono::Duration::from_std(ctx.settings.messaging.digest_max_delay)
        .unwrap_or_else(|_| chrono::Duration::minutes(90));
    let not_after = p.not_after.unwrap_or(job.created_at + max_delay);
    let now = Utc::now();
    if now > not_after {
        let reason = format!(
            "dropped: not built before its not_after {} (now {}); a late recap is not sent",
            not_after.to_rfc3339(),
            now.to_rfc3339()
        );
        tracing::warn!(job = job.id, client = %p.client_id, report = %p.report, slot = %p.slot, "{reason}");
        return Ok(json!({"dropped": true, "reason": reason}));
    }
    if p.client_id == "*" {
        return fan_out(&ctx.pool, &p, report, not_after).await;
    }
    let client: ClientRow = sqlx::query_as(
        "SELECT client_id, nama, client_tiktok, client_group, client_operator, client_super
           FROM clients WHERE lower(client_id) = lower($1)",
    )
    .bind(&p.client_id)
    .fetch_optional(&ctx.pool)
    .await?
    .ok_or_else(|| JobError::Permanent(format!("client {:?} not found", p.client_id)))?;
    let text = build_text(&ctx, &client, report, now).await?;
    let day = jakarta_day(now);

    let wanted: Vec<String> = p
        .recipients
        .clone()
        .unwrap_or_else(|| DEFAULT_RECIPIENTS.iter().map(|s| s.to_string()).collect());
    let (chats, skipped) = recipients(&client, &wanted, &ctx.settings.messaging.admin_whatsapp);
    let parts = address::split_text(&text, address::MAX_TEXT_CHARS);
    let session = ctx.settings.messaging.waha_session.clone();
    let mut jobs = Vec::new();
    for chat in &chats {
        for (i, part) in parts.iter().enumerate() {
            let suffix = if parts.len() > 1 {
                format!("#{}", i + 1)
            } else {
                String::new()
            };
            let key = format!(
                "digest:{}:{}:{day}:{}:{chat}{suffix}",
                client.client_id, p.report, p.slot
            );
            jobs.push(NewJob::new(
                "whatsapp_send",
                json!({"to": chat, "text": part, "idempotency_key": key, "session": session}),
            ));
        }
    }
    let ids = enqueue_many(&ctx.pool, &jobs)
        .await
        .map_err(|e| JobError::Retryable(e.to_string()))?;
    Ok(json!({
        "client_id": client.client_id,
        "report": p.report,
        "day": day.to_string(),
        "recipients": chats,
        "skipped": skipped,
        "whatsapp_jobs": ids,
        "chars": text.chars().count(),
    }))
}

/// `client_id: "*"`: one digest per active org client with the report's platform on.
async fn fan_out(
    pool: &PgPool,
    p: &SendDigest,
    report: Report,
    not_after: DateTime<Utc>,
) -> Result<Value, JobError> {
    let platform_on = match report {
        Report::Comments | Report::DirectorateComments => "COALESCE(client_tiktok_status, true)",
        _ => "COALESCE(client_insta_status, true)",
    };
    let clients: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT client_id FROM clients
          WHERE COALESCE(client_status, true) AND lower(COALESCE(client_type, '')) = 'org' AND {platform_on}
          ORDER BY client_id"
    )))
    .fetch_all(pool)
    .await?;
    let jobs: Vec<NewJob> = clients
        .iter()
        .map(|c| {
            NewJob::new(
                "send_digest",
                json!({"client_id": c, "report": p.report, "slot": p.slot,
                       "recipients": p.recipients, "not_after": not_after}),
            )
        })
        .collect();
    let ids = enqueue_many(pool, &jobs)
        .await
        .map_err(|e| JobError::Retryable(e.to_string()))?;
    Ok(json!({"clients": clients, "send_digest_jobs": ids}))
}

/// Recipient names to chat ids (deduplicated, in order) and what was skipped and why.
fn recipients(
    client: &ClientRow,
    wanted: &[String],
    admins: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut chats: Vec<String> = Vec::new();
    let mut skipped = Vec::new();
    let add = |chat: Option<String>,
               what: &str,
               raw: &str,
               chats: &mut Vec<String>,
               skipped: &mut Vec<String>| match chat {
        Some(c) if !chats.contains(&c) => chats.push(c),
        Some(_) => {}
        None => skipped.push(format!("{what}: {raw:?} is not a valid WhatsApp id")),
    };
    for w in wanted {
        match w.as_str() {
            "group" => match client.client_group.as_deref().map(str::trim) {
                Some(g) if !g.is_empty() => add(
                    address::group_chat_id(g),
                    "group",
                    g,
                    &mut chats,
                    &mut skipped,
                ),
                _ => skipped.push("group: client has no client_group".into()),
            },
            "operator" | "super" => {
                let raw = if w == "operator" {
                    &client.client_operator
                } else {
                    &client.client_super
                };
                for n in address::split_list(raw.as_deref().unwrap_or_default()) {
                    add(address::user_chat_id(&n), w, &n, &mut chats, &mut skipped);
                }
            }
            "admin" => {
                for n in admins {
                    add(
                        address::user_chat_id(n),
                        "admin",
                        n,
                        &mut chats,
                        &mut skipped,
                    );
                }
            }
            other => add(
                address::chat_id(other).ok(),
                "recipient",
                other,
                &mut chats,
                &mut skipped,
            ),
        }
    }
    (chats, skipped)
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    user_id: String,
    nama: Option<String>,
    title: Option<String>,
    divisi: Option<String>,
    jabatan: Option<String>,
    insta: Option<String>,
    tiktok: Option<String>,
    client_id: Option<String>,
    exception: Option<bool>,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Self {
        Member {
            user_id: r.user_id,
            nama: r.nama.unwrap_or_default(),
            title: r.title.unwrap_or_default(),
            divisi: r.divisi.unwrap_or_default(),
            jabatan: r.jabatan.unwrap_or_default(),
            insta: r.insta,
            tiktok: r.tiktok,
            client_id: r.client_id.unwrap_or_default(),
            exception: r.exception.unwrap_or(false),
        }
    }
}

const MEMBER_COLUMNS: &str =
    "u.user_id, u.nama, u.title, u.divisi, u.jabatan, u.insta, u.tiktok, u.client_id, u.exception";

/// Active users holding `role` (case-insensitive), optionally of one client only.
async fn members_with_role(
    pool: &PgPool,
    role: &str,
    client_id: Option<&str>,
) -> Result<Vec<Member>, JobError> {
    let rows: Vec<MemberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEMBER_COLUMNS} FROM \"user\" u
          WHERE COALESCE(u.status, true)
            AND ($2::text IS NULL OR lower(u.client_id) = lower($2))
            AND EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.role_id = ur.role_id
                         WHERE ur.user_id = u.user_id AND lower(r.role_name) = lower($1))
          ORDER BY u.user_id"
    )))
    .bind(role)
    .bind(client_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Member::from).collect())
}

/// Today's posts of a client in created_at order, with their stored likers / commenters
/// (arrays of strings, or of objects with a `username`).
async fn todays_posts(
    pool: &PgPool,
    platform: Platform,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<PostEngagement>, JobError> {
    let (start, end) = jakarta_day_window(jakarta_day(now))
        .ok_or_else(|| JobError::Permanent("no Jakarta day window".into()))?;
    let sql = match platform {
        Platform::Instagram => {
            "SELECT p.shortcode, COALESCE(l.likes, '[]'::jsonb) FROM insta_post p
               LEFT JOIN insta_like l ON l.shortcode = p.shortcode
              WHERE lower(p.client_id) = lower($1) AND p.created_at >= $2 AND p.created_at < $3
              ORDER BY p.created_at, p.shortcode"
        }
        Platform::TikTok => {
            "SELECT p.video_id, COALESCE(c.comments, '[]'::jsonb) FROM tiktok_post p
               LEFT JOIN tiktok_comment c ON c.video_id = p.video_id
              WHERE lower(p.client_id) = lower($1) AND p.created_at >= $2 AND p.created_at < $3
              ORDER BY p.created_at, p.video_id"
        }
    };
    let rows: Vec<(String, Value)> = sqlx::query_as(sql)
        .bind(client_id)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, set)| PostEngagement {
            id,
            engaged: set
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| {
                            e.as_str()
                                .or_else(|| e.get("username").and_then(Value::as_str))
                                .map(str::to_string)
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect())
}

async fn build_text(
    ctx: &Ctx,
    client: &ClientRow,
    report: Report,
    now: DateTime<Utc>,
) -> Result<String, JobError> {
    let pool = &ctx.pool;
    let info = ClientInfo {
        client_id: client.client_id.clone(),
        nama: client.nama.clone(),
        tiktok: client.client_tiktok.clone(),
    };
    let priority = &ctx.settings.messaging.priority_user_names;
    match report {
        Report::Likes | Report::Comments => {
            let platform = if report == Report::Likes {
                Platform::Instagram
            } else {
                Platform::TikTok
            };
            let posts = todays_posts(pool, platform, &client.client_id, now).await?;
            // roleFlag `operator`: only operator-role holders of the client (legacy §4c).
            let members = members_with_role(pool, "operator", Some(&client.client_id)).await?;
            let r = org_report(&members, &posts, platform, priority);
            let ids: Vec<String> = posts.iter().map(|p| p.id.clone()).collect();
            Ok(org_recap(
                platform,
                &info,
                &ids,
                &r,
                RecapMode::All,
                now,
                &[],
            ))
        }
        Report::DirectorateLikes | Report::DirectorateComments => {
            let (platform, order) = if report == Report::DirectorateLikes {
                (Platform::Instagram, UnitOrder::Likes)
            } else {
                (Platform::TikTok, UnitOrder::Comments)
            };
            let posts = todays_posts(pool, platform, &client.client_id, now).await?;
            let members = members_with_role(pool, &client.client_id, None).await?;
            let clients: Vec<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT client_id, nama, client_tiktok FROM clients
                  WHERE lower(client_id) = ANY(SELECT DISTINCT lower(client_id) FROM unnest($1::text[]) AS t(client_id))
                  ORDER BY client_id",
            )
            .bind(members.iter().map(|m| m.client_id.clone()).collect::<Vec<_>>())
            .fetch_all(pool)
            .await?;
            let clients: Vec<ClientInfo> = clients
                .into_iter()
                .map(|(client_id, nama, tiktok)| ClientInfo {
                    client_id,
                    nama,
                    tiktok,
                })
                .collect();
            let units = directorate_report(
                &members,
                &clients,
                &posts,
                platform,
                order,
                &client.client_id,
            );
            let ids: Vec<String> = posts.iter().map(|p| p.id.clone()).collect();
            Ok(match report {
                Report::DirectorateLikes => {
                    directorate_likes_recap(&client.nama, &ids, &units, now)
                }
                _ => directorate_comments_recap(
                    &client.nama,
                    client.client_tiktok.as_deref(),
                    &ids,
                    &units,
                    now,
                ),
            })
        }
    }
}

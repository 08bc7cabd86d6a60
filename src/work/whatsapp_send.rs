//! `whatsapp_send`: check the outbox, send through the transport, record the outcome.
//!
//! Never twice: a key whose outbox row says `sent` is not sent again. The row is written
//! after the transport accepted the message, so a crash between the two (or a lost commit)
//! makes the retry send once more: that window is the only source of a duplicate, and the
//! row's `sends` counter shows it (docs/whatsapp.md).
use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use sqlx::PgPool;

use cicero_jobs::{Job, whatsapp_send::WhatsappSend};

use super::{Ctx, JobCtx, JobError};
use crate::whatsapp::{self, Body, Outgoing, SendError, address};

pub async fn run(ctx: Arc<Ctx>, job: JobCtx, p: WhatsappSend) -> Result<Value, JobError> {
    let transport = whatsapp::transport(&ctx.settings);
    send_with(&ctx, &job, p, transport.as_ref()).await
}

pub async fn send_with(
    ctx: &Ctx,
    job: &JobCtx,
    p: WhatsappSend,
    transport: &dyn whatsapp::WhatsAppTransport,
) -> Result<Value, JobError> {
    let pool = &ctx.pool;
    let session = p
        .session
        .clone()
        .unwrap_or_else(|| ctx.settings.messaging.waha_session.clone());
    if p.idempotency_key.trim().is_empty() {
        return Err(JobError::Permanent("idempotency_key is empty".into()));
    }
    let chat_id = address::chat_id(&p.to).map_err(JobError::Permanent)?;
    let (kind, text, file_name, body) = match (p.text, p.document) {
        (Some(t), None) if !t.trim().is_empty() => ("text", Some(t.clone()), None, Body::Text(t)),
        (None, Some(d)) => (
            "document",
            d.caption.clone(),
            Some(d.file_name.clone()),
            Body::Document(d),
        ),
        _ => {
            return Err(JobError::Permanent(
                "exactly one of text (non-empty) and document is required".into(),
            ));
        }
    };
    let existing: Option<(i64, String)> =
        sqlx::query_as("SELECT id, status FROM cicero.wa_outbox WHERE idempotency_key = $1")
            .bind(&p.idempotency_key)
            .fetch_optional(pool)
            .await?;
    if let Some((id, status)) = &existing
        && status == "sent"
    {
        return Ok(json!({"outbox_id": id, "already_sent": true}));
    }
    // Mark the attempt: `sends` counts how often the transport was asked (a crash after the
    // send leaves `sending`, and the retry's send makes it 2).
    let (outbox_id,): (i64,) = sqlx::query_as(
        "INSERT INTO cicero.wa_outbox (idempotency_key, chat_id, kind, text, file_name, status, transport, session, job_id, sends)
         VALUES ($1, $2, $3, $4, $5, 'sending', $6, $7, $8, 1)
         ON CONFLICT (idempotency_key) DO UPDATE
            SET status = 'sending', sends = cicero.wa_outbox.sends + 1, job_id = $8, transport = $6, error = NULL
         RETURNING id",
    )
    .bind(&p.idempotency_key)
    .bind(&chat_id)
    .bind(kind)
    .bind(&text)
    .bind(&file_name)
    .bind(transport.name())
    .bind(&session)
    .bind(job.id)
    .fetch_one(pool)
    .await?;
    let msg = Outgoing { chat_id, body };
    match transport.send(&session, &msg).await {
        Ok(sent) => {
            sqlx::query(
                "UPDATE cicero.wa_outbox SET status = 'sent', sent_at = now(), provider_message_id = $2, error = NULL
                  WHERE id = $1",
            )
            .bind(outbox_id)
            .bind(&sent.provider_message_id)
            .execute(pool)
            .await?;
            Ok(json!({
                "outbox_id": outbox_id,
                "chat_id": msg.chat_id,
                "transport": transport.name(),
                "provider_message_id": sent.provider_message_id,
            }))
        }
        Err(e) => Err(failed(pool, job, outbox_id, &session, e).await),
    }
}

/// Records a failed send and turns it into the job's outcome.
async fn failed(
    pool: &PgPool,
    job: &JobCtx,
    outbox_id: i64,
    session: &str,
    e: SendError,
) -> JobError {
    let note = |status: &'static str, uncount: bool, message: String| async move {
        let r = sqlx::query(
            "UPDATE cicero.wa_outbox SET status = $2, error = $3,
                    sends = CASE WHEN $4 THEN greatest(sends - 1, 0) ELSE sends END
              WHERE id = $1",
        )
        .bind(outbox_id)
        .bind(status)
        .bind(&message)
        .bind(uncount)
        .execute(pool)
        .await;
        if let Err(err) = r {
            tracing::warn!(outbox_id, error = %err, "recording a failed send failed");
        }
    };
    match e {
        SendError::NotReady { state, message } => {
            // Nothing reached WhatsApp. Pause the queue for every worker, keep this job's
            // place (a priority above never-tried jobs, so it goes first on resume) and give
            // the attempt back (Throttled = snooze).
            note("waiting", true, message.clone()).await;
            if let Err(err) = pause(pool, job.id, session, &state).await {
                return JobError::Retryable(format!("{message}; pausing the queue failed: {err}"));
            }
            // Zero: the pause holds the job back, and a rate-key block would reorder the queue
            // on resume.
            JobError::Throttled {
                retry_after: Duration::ZERO,
                message,
            }
        }
        SendError::RateLimited {
            retry_after,
            message,
        } => {
            note("waiting", true, message.clone()).await;
            JobError::Throttled {
                retry_after: retry_after.unwrap_or(Duration::from_secs(60)),
                message,
            }
        }
        SendError::Transient(m) => {
            let last = job.attempt >= WhatsappSend::SPEC.max_attempts;
            note(if last { "failed" } else { "retrying" }, false, m.clone()).await;
            JobError::Retryable(m)
        }
        SendError::Permanent(m) => {
            note("failed", true, m.clone()).await;
            JobError::Permanent(m)
        }
    }
}

async fn pause(pool: &PgPool, job_id: i64, session: &str, state: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cicero.jobs SET priority = greatest(priority, 1) WHERE id = $1")
        .bind(job_id)
        .execute(pool)
        .await?;
    whatsapp::set_session_state(pool, session, state).await?;
    // Also when the recorded state did not change (an operator resumed the queue by hand).
    crate::platform::jobs::set_paused(pool, whatsapp::QUEUE, true, &format!("whatsapp:{session}"))
        .await
}

/// `whatsapp_status`: the periodic session check.
pub async fn status(
    ctx: Arc<Ctx>,
    p: cicero_jobs::whatsapp_status::WhatsappStatus,
) -> Result<Value, JobError> {
    let session = p
        .session
        .unwrap_or_else(|| ctx.settings.messaging.waha_session.clone());
    let transport = whatsapp::transport(&ctx.settings);
    let state = match transport.session_status(&session).await {
        Ok(s) => s,
        Err(SendError::NotReady { state, .. }) => state,
        Err(e) => return Err(JobError::Retryable(e.to_string())),
    };
    whatsapp::set_session_state(&ctx.pool, &session, &state).await?;
    Ok(json!({"session": session, "state": state, "transport": transport.name()}))
}

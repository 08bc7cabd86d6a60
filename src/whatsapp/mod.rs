//! WhatsApp delivery (issue 5): the [`WhatsAppTransport`] trait with the WAHA gateway and the
//! record-only outbox transport, the outbox table (one row per idempotency key), sessions and
//! the WAHA webhook store. See `docs/whatsapp.md`.
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Serialize;
use sqlx::PgPool;

use crate::config::{Settings, WhatsappTransportKind};

pub mod address;
pub mod waha;

/// What to send to one chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub chat_id: String,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Text(String),
    Document(cicero_jobs::whatsapp_send::Document),
}

/// A send the transport accepted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sent {
    pub provider_message_id: Option<String>,
}

/// Why a send did not happen, classified for the queue (docs/whatsapp.md, "Errors").
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// The session (or the gateway) cannot send at all now: the queue pauses, no attempt spent.
    #[error("session not ready ({state}): {message}")]
    NotReady { state: String, message: String },
    /// The gateway said "too many requests".
    #[error("rate limited: {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// This message failed for a reason that may pass (5xx, timeout): retried with backoff.
    #[error("{0}")]
    Transient(String),
    /// This message will never go (bad number, not a group member, rejected request).
    #[error("{0}")]
    Permanent(String),
}

/// One way of delivering WhatsApp messages.
pub trait WhatsAppTransport: Send + Sync {
    /// `waha` or `outbox`, recorded on every outbox row.
    fn name(&self) -> &'static str;
    fn send<'a>(
        &'a self,
        session: &'a str,
        msg: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Sent, SendError>>;
    /// The session's state in WAHA's words (`WORKING` = ready).
    fn session_status<'a>(&'a self, session: &'a str) -> BoxFuture<'a, Result<String, SendError>>;
}

/// The state in which a session sends.
pub const READY: &str = "WORKING";

/// Records only: every message "goes" at once (the outbox row is the delivery). The embedded
/// default and the transport of tests and demos; the board shows the rows.
pub struct OutboxTransport;

impl WhatsAppTransport for OutboxTransport {
    fn name(&self) -> &'static str {
        "outbox"
    }
    fn send<'a>(&'a self, _: &'a str, _: &'a Outgoing) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async { Ok(Sent::default()) })
    }
    fn session_status<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async { Ok(READY.to_string()) })
    }
}

/// The transport the settings choose.
///
/// One per process and configuration, so every send reuses the WAHA client's connections.
pub fn transport(settings: &Settings) -> std::sync::Arc<dyn WhatsAppTransport> {
    type Cached = (
        Option<(String, Option<String>)>,
        std::sync::Arc<dyn WhatsAppTransport>,
    );
    static CACHE: std::sync::Mutex<Option<Cached>> = std::sync::Mutex::new(None);
    let m = &settings.messaging;
    let key = match (m.whatsapp_transport, &m.waha_url) {
        (WhatsappTransportKind::Waha, Some(url)) => Some((url.clone(), m.waha_api_key.clone())),
        _ => None,
    };
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((k, t)) = cache.as_ref()
        && *k == key
    {
        return t.clone();
    }
    let t: std::sync::Arc<dyn WhatsAppTransport> = match &key {
        Some((url, api_key)) => std::sync::Arc::new(waha::Waha::new(url.clone(), api_key.clone())),
        None => std::sync::Arc::new(OutboxTransport),
    };
    *cache = Some((key, t.clone()));
    t
}

/// One outbox row as the board sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub idempotency_key: String,
    pub chat_id: String,
    pub kind: String,
    pub text: Option<String>,
    pub file_name: Option<String>,
    pub status: String,
    pub transport: String,
    pub job_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// Newest first, `limit` rows with ids below `before_id`.
pub async fn outbox_page(
    pool: &PgPool,
    limit: i64,
    before_id: Option<i64>,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, idempotency_key, chat_id, kind, text, file_name, status, transport, job_id,
                created_at, sent_at, error
           FROM cicero.wa_outbox WHERE ($2::bigint IS NULL OR id < $2)
          ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .bind(before_id)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SessionRow {
    pub name: String,
    pub state: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn sessions(pool: &PgPool) -> Result<Vec<SessionRow>, sqlx::Error> {
    sqlx::query_as("SELECT name, state, updated_at FROM cicero.wa_sessions ORDER BY name")
        .fetch_all(pool)
        .await
}

/// The queue `whatsapp_send` runs on.
pub const QUEUE: &str = "whatsapp";

/// Records a session's state and pauses the whatsapp queue when it cannot send, resumes it
/// when it can. Only a change touches the queue, so an operator's own pause is left alone
/// while the state stays the same.
pub async fn set_session_state(pool: &PgPool, name: &str, state: &str) -> Result<(), sqlx::Error> {
    let previous: Option<String> = sqlx::query_scalar(
        "WITH old AS (SELECT state FROM cicero.wa_sessions WHERE name = $1 FOR UPDATE)
         INSERT INTO cicero.wa_sessions (name, state, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (name) DO UPDATE SET state = $2,
             updated_at = CASE WHEN cicero.wa_sessions.state = $2 THEN cicero.wa_sessions.updated_at ELSE now() END
         RETURNING (SELECT state FROM old)",
    )
    .bind(name)
    .bind(state)
    .fetch_one(pool)
    .await?;
    let ready = state == READY;
    if previous.as_deref() != Some(state) {
        tracing::info!(session = name, state, "whatsapp session state changed");
        crate::platform::jobs::set_paused(pool, QUEUE, !ready, &format!("whatsapp:{name}")).await?;
    }
    Ok(())
}

/// Stores a webhook delivery once per event id; `false` when it was a duplicate.
pub async fn store_event(
    pool: &PgPool,
    event_id: &str,
    event: &str,
    session: Option<&str>,
    payload: &serde_json::Value,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO cicero.wa_webhook_events (event_id, event, session, payload)
         VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(event)
    .bind(session)
    .bind(payload)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// `X-Webhook-Hmac`: hex HMAC-SHA512 of the raw body with the shared key (constant-time check).
pub fn webhook_signature_ok(key: &str, body: &[u8], header_hex: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Ok(sig) = hex::decode(header_hex.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha512>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The signature WAHA would send (tests, tools).
pub fn webhook_signature(key: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn signatures() {
        let sig = super::webhook_signature("k", b"{}");
        assert_eq!(sig.len(), 128);
        assert!(super::webhook_signature_ok("k", b"{}", &sig));
        assert!(!super::webhook_signature_ok("k", b"{ }", &sig));
        assert!(!super::webhook_signature_ok("other", b"{}", &sig));
        assert!(!super::webhook_signature_ok("k", b"{}", "zz"));
    }
}

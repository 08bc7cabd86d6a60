//! `whatsapp_send`: one WhatsApp message (a text or a document) to one chat, through the
//! configured transport, recorded in the outbox under its idempotency key (never sent twice).
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappSend {
    /// A phone number (`0812…`, `62812…`, `62812…@c.us`), a group id (`…@g.us`) or a group
    /// invite URL; normalised as the legacy system did.
    pub to: String,
    /// The message text; exactly one of `text` and `document`.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub document: Option<Document>,
    /// Stable key of this message: a second job with the same key never sends again.
    pub idempotency_key: String,
    /// Gateway session (WAHA); default the `WAHA_SESSION` setting. Also the rate-limit key
    /// `whatsapp:<session>`.
    #[serde(default)]
    pub session: Option<String>,
}

/// A file to send, inline (base64) so the job carries everything it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub file_name: String,
    /// e.g. `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`.
    pub mimetype: String,
    pub data_base64: String,
    #[serde(default)]
    pub caption: Option<String>,
}

fn rate_key(payload: &serde_json::Value) -> Option<String> {
    let session = payload
        .get("session")
        .and_then(|s| s.as_str())
        .unwrap_or("default");
    Some(format!("whatsapp:{session}"))
}

impl Job for WhatsappSend {
    const SPEC: JobSpec = JobSpec {
        kind: "whatsapp_send",
        queue: "whatsapp",
        max_attempts: 5,
        backoff: Backoff {
            base_ms: 2_000,
            max_ms: 120_000,
            jitter: 0.2,
        },
        timeout_ms: 60_000,
        summary: "Sends one WhatsApp text or document (idempotent per idempotency_key)",
        example: r#"{"to":"081234567890","text":"Tes","idempotency_key":"manual:1"}"#,
        unique: Some(crate::Unique {
            fields: &["idempotency_key"],
            period_secs: 0,
            states: crate::WHILE_ACTIVE,
        }),
        rate_key: Some(rate_key),
    };
}

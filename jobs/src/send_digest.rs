//! `send_digest`: builds one attendance recap of a client for the Jakarta day and enqueues
//! one `whatsapp_send` per recipient.
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendDigest {
    /// A client id, or `*` for every active org client with the report's platform enabled
    /// (the job then fans out one `send_digest` per client).
    pub client_id: String,
    /// `likes` (Instagram) or `comments` (TikTok) org recaps; `directorate_likes` /
    /// `directorate_comments`: per-Polres recaps of the users holding the directorate's role.
    pub report: String,
    /// Who gets it: any of `group`, `operator`, `super`, `admin`, or literal numbers/group
    /// ids. Default: `group`, `operator`, `super` (legacy engagement recap).
    #[serde(default)]
    pub recipients: Option<Vec<String>>,
    /// The schedule slot, e.g. `15:20`; part of the unique key and of the idempotency keys.
    pub slot: String,
    /// Past this instant the digest is dropped (recorded in the job result) instead of
    /// sent late; default the job's creation plus `DIGEST_MAX_DELAY_MINS`.
    #[serde(default)]
    pub not_after: Option<chrono::DateTime<chrono::Utc>>,
}

impl Job for SendDigest {
    const SPEC: JobSpec = JobSpec {
        kind: "send_digest",
        queue: "messaging",
        max_attempts: 5,
        backoff: Backoff {
            base_ms: 5_000,
            max_ms: 300_000,
            jitter: 0.2,
        },
        timeout_ms: 120_000,
        summary: "Builds a client's attendance recap and enqueues its WhatsApp sends",
        example: r#"{"client_id":"POLRES_X","report":"likes","slot":"15:20"}"#,
        // One per client, report and slot per (UTC) day; the slots are all inside one UTC day.
        unique: Some(crate::Unique {
            fields: &["client_id", "report", "slot"],
            period_secs: 86_400,
            states: &["pending", "running", "done"],
        }),
        rate_key: None,
    };
}

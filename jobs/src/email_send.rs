//! `email_send`: one plain-text mail over SMTP (the dashboard password-reset link).
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSend {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl Job for EmailSend {
    const SPEC: JobSpec = JobSpec {
        kind: "email_send",
        queue: "messaging",
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 2_000,
            max_ms: 30_000,
            jitter: 0.2,
        },
        timeout_ms: 30_000,
        summary: "Mails one plain-text message over SMTP (e.g. a password-reset link)",
        example: r#"{"to":"someone@example.com","subject":"Tes","text":"Halo"}"#,
        unique: None,
        rate_key: None,
    };
}

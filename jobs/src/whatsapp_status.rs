//! `whatsapp_status`: asks the gateway for the session's state, records it and pauses or
//! resumes the `whatsapp` queue (the periodic check beside WAHA's `session.status` webhook).
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappStatus {
    /// Default the `WAHA_SESSION` setting.
    #[serde(default)]
    pub session: Option<String>,
}

impl Job for WhatsappStatus {
    const SPEC: JobSpec = JobSpec {
        kind: "whatsapp_status",
        // Not on `whatsapp`: that queue is the one this job resumes.
        queue: "messaging",
        max_attempts: 1,
        backoff: Backoff {
            base_ms: 1_000,
            max_ms: 1_000,
            jitter: 0.0,
        },
        timeout_ms: 30_000,
        summary: "Checks the WhatsApp session and pauses/resumes the whatsapp queue",
        example: r#"{}"#,
        unique: Some(crate::Unique {
            fields: &[],
            period_secs: 0,
            states: crate::WHILE_ACTIVE,
        }),
        rate_key: None,
    };
}

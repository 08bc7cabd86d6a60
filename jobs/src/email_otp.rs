//! `email_otp`: generates a 6-digit code, stores its hash in Redis (5 minutes, 3 attempts)
//! and mails it over SMTP.
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailOtp {
    pub email: String,
    /// What the code is for, e.g. `claim`; part of the Redis key.
    pub purpose: String,
    /// Whom the code identifies (the NRP for `claim`); default the email.
    #[serde(default)]
    pub subject: Option<String>,
    /// A code mailed later than this is useless: the job is dropped instead.
    #[serde(default)]
    pub not_after: Option<chrono::DateTime<chrono::Utc>>,
}

impl Job for EmailOtp {
    const SPEC: JobSpec = JobSpec {
        kind: "email_otp",
        queue: "messaging",
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 2_000,
            max_ms: 30_000,
            jitter: 0.2,
        },
        timeout_ms: 30_000,
        summary: "Mails a one-time code (hash kept in Redis for 5 minutes, 3 attempts)",
        example: r#"{"email":"someone@example.com","purpose":"claim","subject":"75020201"}"#,
        unique: None,
        rate_key: None,
    };
}

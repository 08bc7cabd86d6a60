//! `sweep_social`: the legacy fetch-sosmed cron (§3): enqueues `fetch_posts` (followed by
//! `refresh_engagement`) for every eligible client and platform, or only the engagement
//! refresh with `engagement_only`.
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSocial {
    /// Skip the post fetch; refresh likes and comments of the posts already stored.
    #[serde(default)]
    pub engagement_only: bool,
}

impl Job for SweepSocial {
    const SPEC: JobSpec = JobSpec {
        kind: "sweep_social",
        queue: crate::ingest::QUEUE,
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 10_000,
            max_ms: 120_000,
            jitter: 0.2,
        },
        timeout_ms: 120_000,
        summary: "Enqueues the post fetch and engagement refresh of every eligible client",
        example: r#"{"engagement_only":false}"#,
        unique: Some(crate::Unique {
            fields: &["engagement_only"],
            period_secs: 300,
            states: crate::WHILE_ACTIVE,
        }),
        rate_key: None,
    };
}

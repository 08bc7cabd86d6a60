//! `sweep_amplify`: the legacy amplify routine update (§3, `55,25 8-21`): refreshes today's
//! Instagram posts ("tugas rutin") of every active org client with amplify enabled.
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepAmplify {}

impl Job for SweepAmplify {
    const SPEC: JobSpec = JobSpec {
        kind: "sweep_amplify",
        queue: crate::ingest::QUEUE,
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 10_000,
            max_ms: 120_000,
            jitter: 0.2,
        },
        timeout_ms: 120_000,
        summary: "Enqueues the Instagram post fetch of every active org client with amplify on",
        example: r#"{}"#,
        unique: Some(crate::Unique {
            fields: &[],
            period_secs: 300,
            states: crate::WHILE_ACTIVE,
        }),
        rate_key: None,
    };
}

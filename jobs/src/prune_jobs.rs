//! `prune_jobs`: retention. Deletes finished jobs (and their attempt history) older than the
//! retention settings, in bounded batches so no statement holds the table for long.
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneJobs {
    /// Keep done jobs this many days (default: `RETAIN_DONE_DAYS`).
    #[serde(default)]
    pub done_days: Option<u32>,
    /// Keep failed and cancelled jobs this many days (default: `RETAIN_FAILED_DAYS`).
    #[serde(default)]
    pub failed_days: Option<u32>,
}

impl Job for PruneJobs {
    const SPEC: JobSpec = JobSpec {
        kind: "prune_jobs",
        queue: "maintenance",
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 60_000,
            max_ms: 600_000,
            jitter: 0.2,
        },
        timeout_ms: 30 * 60_000,
        summary: "Retention: deletes done jobs after N days and failed/cancelled after M days, in batches",
        example: r#"{"done_days":7,"failed_days":30}"#,
        unique: Some(crate::Unique {
            fields: &[],
            period_secs: 0,
            states: crate::WHILE_ACTIVE,
        }),
        rate_key: None,
    };
}

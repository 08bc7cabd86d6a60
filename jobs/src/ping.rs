//! `ping`: a diagnostic job that sleeps, fails or panics on request. Used by tests, the
//! benchmark and operators checking that a queue is served.
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ping {
    /// Echoed back in the result.
    #[serde(default)]
    pub message: Option<String>,
    /// Sleep this long before answering.
    #[serde(default)]
    pub sleep_ms: u64,
    /// Fail the first N attempts with a transient error, then succeed.
    #[serde(default)]
    pub fail_times: u32,
    /// Fail with a permanent error (no retry).
    #[serde(default)]
    pub fail_permanently: bool,
    /// Panic inside the handler (the worker must survive and fail the job).
    #[serde(default)]
    pub panic: bool,
}

impl Job for Ping {
    const SPEC: JobSpec = JobSpec {
        kind: "ping",
        queue: "diagnostics",
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 1_000,
            max_ms: 60_000,
            jitter: 0.2,
        },
        timeout_ms: 30_000,
        summary: "Diagnostic: answers pong, optionally after sleeping, failing or panicking",
        example: r#"{"message":"hello","sleep_ms":0,"fail_times":0}"#,
    };
}

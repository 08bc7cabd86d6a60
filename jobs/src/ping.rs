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
    /// Report progress this many times while sleeping (fraction i/steps).
    #[serde(default)]
    pub progress_steps: u32,
    /// Deduplication: pings with the same `dedup` value are one job while pending or running.
    #[serde(default)]
    pub dedup: Option<String>,
    /// Rate-limit key `ping:<value>` (limits come from the RATE_LIMITS setting).
    #[serde(default)]
    pub rate_key: Option<String>,
    /// Answer as if the provider said 429 with this Retry-After, in ms (first attempt only).
    #[serde(default)]
    pub throttled_ms: Option<u64>,
    /// A tenant, ignored by the handler: lets a ping stand for a client's work (the tenant
    /// page, per-client pause).
    #[serde(default)]
    pub client_id: Option<String>,
}

fn rate_key(payload: &serde_json::Value) -> Option<String> {
    payload
        .get("rate_key")
        .and_then(|v| v.as_str())
        .map(|k| format!("ping:{k}"))
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
        unique: Some(crate::Unique {
            fields: &["dedup"],
            period_secs: 0,
            states: crate::WHILE_ACTIVE,
        }),
        rate_key: Some(rate_key),
    };
}

//! `fetch_posts`: today's posts of one client's official account on one platform (legacy
//! §4(a) post fetch, §4(b) post fetch).
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec, ingest::Platform};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchPosts {
    pub client_id: String,
    pub platform: Platform,
    /// Enqueue `refresh_engagement` for the same client and platform once the fetch
    /// succeeded (the sweep sets it so that likes are read after the posts are stored).
    #[serde(default)]
    pub then_engagement: bool,
}

impl Job for FetchPosts {
    const SPEC: JobSpec = JobSpec {
        kind: "fetch_posts",
        queue: crate::ingest::QUEUE,
        max_attempts: 4,
        backoff: Backoff {
            base_ms: 30_000,
            max_ms: 600_000,
            jitter: 0.2,
        },
        timeout_ms: 300_000,
        summary: "Fetches today's posts of one client's account and upserts them",
        example: r#"{"client_id":"POLRES_X","platform":"instagram"}"#,
        unique: Some(crate::Unique {
            fields: &["client_id", "platform"],
            period_secs: 300,
            states: crate::WHILE_ACTIVE,
        }),
        rate_key: Some(crate::ingest::provider_rate_key),
    };
}

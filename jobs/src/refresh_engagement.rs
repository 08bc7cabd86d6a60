//! `refresh_engagement`: likers (Instagram) or commenters (TikTok) of one client's posts of
//! today, merged into the stored sets (legacy §4(a) likes fetch, §4(b) comment fetch).
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec, ingest::Platform};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshEngagement {
    pub client_id: String,
    pub platform: Platform,
}

impl Job for RefreshEngagement {
    const SPEC: JobSpec = JobSpec {
        kind: "refresh_engagement",
        queue: crate::ingest::QUEUE,
        max_attempts: 4,
        backoff: Backoff {
            base_ms: 30_000,
            max_ms: 600_000,
            jitter: 0.2,
        },
        timeout_ms: 900_000,
        summary: "Merges the likers / commenters of one client's posts of today",
        example: r#"{"client_id":"POLRES_X","platform":"tiktok"}"#,
        unique: Some(crate::Unique {
            fields: &["client_id", "platform"],
            period_secs: 300,
            states: crate::WHILE_ACTIVE,
        }),
        rate_key: Some(crate::ingest::provider_rate_key),
    };
}

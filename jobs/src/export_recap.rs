//! `export_recap`: builds a recap workbook (xlsx) for the dashboard and stores it as the job's
//! file (`cicero.job_files`), downloaded with `GET /api/exports/{id}/file`. The HTTP side
//! resolves and checks the caller's scope before enqueueing, so the payload carries the
//! resolved scope (which people, which posts), not the raw query.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

/// What the workbook holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// Instagram likes per person (legacy likes recap layout).
    Likes,
    /// TikTok comments per person.
    Comments,
    /// Link amplification per person (`/api/amplify/rekap/excel`).
    Amplify,
    /// ANEV: likes and comments per person against the expected actions
    /// (`/api/dashboard/anev/export`).
    Anev,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRecap {
    pub kind: ExportKind,
    /// The client as stored.
    pub client_id: String,
    /// Directorate mode: members are holders of `role_filter` across clients.
    #[serde(default)]
    pub directorate: bool,
    /// Role members must hold (legacy buildClientFilter).
    #[serde(default)]
    pub role_filter: Option<String>,
    /// Upper-case regional filter.
    #[serde(default)]
    pub regional_id: Option<String>,
    /// Whose official posts count.
    pub post_owner: String,
    /// Half-open period `[start, end)`.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Dashboard account that asked (only it, or an admin, may download).
    #[serde(default)]
    pub requested_by: Option<String>,
}

impl Job for ExportRecap {
    const SPEC: JobSpec = JobSpec {
        kind: "export_recap",
        queue: "exports",
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 2_000,
            max_ms: 60_000,
            jitter: 0.2,
        },
        timeout_ms: 300_000,
        summary: "Builds a recap workbook (likes, comments or amplification) for the dashboard",
        example: r#"{"kind":"likes","client_id":"KEDIRI","post_owner":"KEDIRI","start":"2026-02-06T17:00:00Z","end":"2026-02-07T17:00:00Z"}"#,
        unique: None,
        rate_key: None,
    };
}

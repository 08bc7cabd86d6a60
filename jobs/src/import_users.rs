//! `import_users`: imports a personnel list (.xlsx uploaded with `POST /api/users/import`,
//! stored in `cicero.job_files` under the job's id) into one client. Every row is validated
//! first; if any row is rejected nothing is imported and the result lists each rejected row
//! with its reasons.
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportUsers {
    /// Client the people join (as stored).
    pub client_id: String,
    /// Role added to every imported person (the uploader's operator or directorate role).
    #[serde(default)]
    pub role: Option<String>,
    /// Clients whose existing people the uploader may take over (re-activate, move).
    #[serde(default)]
    pub reach_clients: Vec<String>,
    /// An admin may take over anyone.
    #[serde(default)]
    pub admin: bool,
    /// Dashboard account that uploaded (only it, or an admin, sees the result).
    #[serde(default)]
    pub requested_by: Option<String>,
}

impl Job for ImportUsers {
    const SPEC: JobSpec = JobSpec {
        kind: "import_users",
        queue: "exports",
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 2_000,
            max_ms: 60_000,
            jitter: 0.2,
        },
        timeout_ms: 300_000,
        summary: "Imports a personnel .xlsx into a client, all rows or none",
        example: r#"{"client_id":"KEDIRI","role":"operator","reach_clients":["KEDIRI"]}"#,
        unique: None,
        rate_key: None,
    };
}

//! `backup_db`: pg_dump of the configured database into `BACKUP_DIR` as
//! `<db>-<Jakarta timestamp>.sql.gz`, keeping the newest N files.
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupDb {
    /// How many backups to keep (newest first); defaults to the `BACKUP_KEEP` setting.
    #[serde(default)]
    pub keep: Option<u32>,
}

impl Job for BackupDb {
    const SPEC: JobSpec = JobSpec {
        kind: "backup_db",
        queue: "maintenance",
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 60_000,
            max_ms: 900_000,
            jitter: 0.2,
        },
        timeout_ms: 30 * 60_000,
        summary: "pg_dump of the database into BACKUP_DIR (gzip), keeping the newest N",
        example: r#"{"keep":7}"#,
        // One backup at a time: a second request while one is queued or running is that one.
        unique: Some(crate::Unique {
            fields: &[],
            period_secs: 0,
            states: crate::WHILE_ACTIVE,
        }),
        rate_key: None,
    };
}

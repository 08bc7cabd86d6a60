//! The cron table. Times are Asia/Jakarta. Expressions use the `cron` crate's syntax, which
//! has a seconds field: `0 0 4 * * *` is 04:00:00 every day.
use serde_json::{Value, json};

/// One schedule entry: on every tick the scheduler enqueues `kind` with `payload`.
#[derive(Debug, Clone)]
pub struct CronEntry {
    /// Stable name; also the `cron_job_config.job_key` that switches it off.
    pub name: &'static str,
    /// The legacy system's `cron_job_config.job_key` for the same work, honoured too.
    pub legacy_key: Option<&'static str>,
    pub cron: &'static str,
    pub kind: &'static str,
    pub payload: fn() -> Value,
}

pub const TIMEZONE: &str = "Asia/Jakarta";

pub fn entries() -> Vec<CronEntry> {
    vec![
        CronEntry {
            name: "backup_db",
            legacy_key: Some("./src/cron/cronDbBackup.js"),
            cron: "0 0 4 * * *",
            kind: "backup_db",
            payload: || json!({}),
        },
        CronEntry {
            name: "prune_jobs",
            legacy_key: None,
            cron: "0 15 * * * *",
            kind: "prune_jobs",
            payload: || json!({}),
        },
        // Legacy cronDirRequestFetchSosmed: `0,30 6-21 * * *` and `0 22 * * *`.
        CronEntry {
            name: "sweep_social",
            legacy_key: Some("./src/cron/cronDirRequestFetchSosmed.js"),
            cron: "0 0,30 6-21 * * *",
            kind: "sweep_social",
            payload: || json!({}),
        },
        CronEntry {
            name: "sweep_social_late",
            legacy_key: Some("./src/cron/cronDirRequestFetchSosmed.js"),
            cron: "0 0 22 * * *",
            kind: "sweep_social",
            payload: || json!({}),
        },
        CronEntry {
            name: "sweep_amplify",
            legacy_key: Some("./src/cron/cronOprRequestAmplifyRoutineUpdate.js"),
            cron: "0 55,25 8-21 * * *",
            kind: "sweep_amplify",
            payload: || json!({}),
        },
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn entries_name_known_kinds_with_valid_payloads() {
        for e in super::entries() {
            let spec = crate::spec(e.kind).expect("known kind");
            assert_eq!(spec.kind, e.kind);
            assert!(
                e.cron.split_whitespace().count() == 6,
                "{}: seconds field",
                e.name
            );
        }
    }
}

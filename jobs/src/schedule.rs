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
    let mut v = vec![
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
        CronEntry {
            name: "whatsapp_status",
            legacy_key: None,
            cron: "0 * * * * *",
            kind: "whatsapp_status",
            payload: || json!({}),
        },
    ];
    v.extend(digest_entries());
    v
}

/// Legacy `cronOprRequestAbsensiEngagement.js` (`20 15,18,20 * * *`): the likes and then
/// the comments recap of every active org client to its group, operator and super admins;
/// and `cronDirRequestDitbinmasGroupRecap.js` (15:20, 18:10): the DITBINMAS directorate
/// likes recap to its group. One entry per slot, so each can be switched off alone.
fn digest_entries() -> Vec<CronEntry> {
    const ENGAGEMENT: &str = "./src/cron/cronOprRequestAbsensiEngagement.js";
    const DITBINMAS: &str = "./src/cron/dirRequest/cronDirRequestDitbinmasGroupRecap.js";
    macro_rules! digest {
        ($name:literal, $legacy:expr, $cron:literal, $client:literal, $report:literal, $slot:literal, $to:expr) => {
            CronEntry {
                name: $name,
                legacy_key: Some($legacy),
                cron: $cron,
                kind: "send_digest",
                payload: || json!({"client_id": $client, "report": $report, "slot": $slot, "recipients": $to}),
            }
        };
    }
    vec![
        digest!(
            "recap_likes_1520",
            ENGAGEMENT,
            "0 20 15 * * *",
            "*",
            "likes",
            "15:20",
            ["group", "operator", "super"]
        ),
        digest!(
            "recap_comments_1520",
            ENGAGEMENT,
            "0 20 15 * * *",
            "*",
            "comments",
            "15:20",
            ["group", "operator", "super"]
        ),
        digest!(
            "recap_likes_1820",
            ENGAGEMENT,
            "0 20 18 * * *",
            "*",
            "likes",
            "18:20",
            ["group", "operator", "super"]
        ),
        digest!(
            "recap_comments_1820",
            ENGAGEMENT,
            "0 20 18 * * *",
            "*",
            "comments",
            "18:20",
            ["group", "operator", "super"]
        ),
        digest!(
            "recap_likes_2020",
            ENGAGEMENT,
            "0 20 20 * * *",
            "*",
            "likes",
            "20:20",
            ["group", "operator", "super"]
        ),
        digest!(
            "recap_comments_2020",
            ENGAGEMENT,
            "0 20 20 * * *",
            "*",
            "comments",
            "20:20",
            ["group", "operator", "super"]
        ),
        digest!(
            "ditbinmas_group_recap_1520",
            DITBINMAS,
            "0 20 15 * * *",
            "DITBINMAS",
            "directorate_likes",
            "15:20",
            ["group"]
        ),
        digest!(
            "ditbinmas_group_recap_1810",
            DITBINMAS,
            "0 10 18 * * *",
            "DITBINMAS",
            "directorate_likes",
            "18:10",
            ["group"]
        ),
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
            let payload = (e.payload)();
            assert!(
                crate::validate(e.kind, &payload).is_ok(),
                "{}: {payload}",
                e.name
            );
        }
    }
}

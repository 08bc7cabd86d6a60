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
        // Legacy: subscriptions every 48 min, premium requests at :20, personnel premium daily.
        CronEntry {
            name: "expire_premium",
            legacy_key: Some("./src/cron/cronDashboardSubscriptionExpiry.js"),
            cron: "0 20,50 * * * *",
            kind: "expire_premium",
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
    v.extend(dir_request_entries());
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

/// The other legacy dirRequest crons of §3.2 that send recaps, as directorate digests (likes =
/// menu 6's population, comments = menu 9's); each entry switchable alone or by its legacy key.
/// Not built: menus 28/29/34/35/30 (Excel files and the weekly/monthly plan), the WA reminder
/// and the Satbinmas official media recap.
fn dir_request_entries() -> Vec<CronEntry> {
    const BIDHUMAS: &str = "./src/cron/dirRequest/cronDirRequestBidhumasEvening.js";
    const SUPER_DAILY: &str = "./src/cron/dirRequest/cronDirRequestDitbinmasSuperAdminDaily.js";
    const ABSENSI_TODAY: &str = "./src/cron/dirRequest/cronDirRequestDitbinmasAbsensiToday.js";
    macro_rules! dir {
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
        // BIDHUMAS evening (15:45, 20:15, 22:15): to its group and each client_super.
        dir!(
            "bidhumas_evening_likes_1545",
            BIDHUMAS,
            "0 45 15 * * *",
            "BIDHUMAS",
            "directorate_likes",
            "15:45",
            ["group", "super"]
        ),
        dir!(
            "bidhumas_evening_comments_1545",
            BIDHUMAS,
            "0 45 15 * * *",
            "BIDHUMAS",
            "directorate_comments",
            "15:45",
            ["group", "super"]
        ),
        dir!(
            "bidhumas_evening_likes_2015",
            BIDHUMAS,
            "0 15 20 * * *",
            "BIDHUMAS",
            "directorate_likes",
            "20:15",
            ["group", "super"]
        ),
        dir!(
            "bidhumas_evening_comments_2015",
            BIDHUMAS,
            "0 15 20 * * *",
            "BIDHUMAS",
            "directorate_comments",
            "20:15",
            ["group", "super"]
        ),
        dir!(
            "bidhumas_evening_likes_2215",
            BIDHUMAS,
            "0 15 22 * * *",
            "BIDHUMAS",
            "directorate_likes",
            "22:15",
            ["group", "super"]
        ),
        dir!(
            "bidhumas_evening_comments_2215",
            BIDHUMAS,
            "0 15 22 * * *",
            "BIDHUMAS",
            "directorate_comments",
            "22:15",
            ["group", "super"]
        ),
        // DITBINMAS super admins daily (18:20).
        dir!(
            "ditbinmas_super_daily_likes",
            SUPER_DAILY,
            "0 20 18 * * *",
            "DITBINMAS",
            "directorate_likes",
            "18:20",
            ["super"]
        ),
        dir!(
            "ditbinmas_super_daily_comments",
            SUPER_DAILY,
            "0 20 18 * * *",
            "DITBINMAS",
            "directorate_comments",
            "18:20",
            ["super"]
        ),
        // DITBINMAS absensi today (18:24) to the one number the legacy hard-coded.
        dir!(
            "ditbinmas_absensi_today_likes",
            ABSENSI_TODAY,
            "0 24 18 * * *",
            "DITBINMAS",
            "directorate_likes",
            "18:24",
            ["081331780006"]
        ),
        dir!(
            "ditbinmas_absensi_today_comments",
            ABSENSI_TODAY,
            "0 24 18 * * *",
            "DITBINMAS",
            "directorate_comments",
            "18:24",
            ["081331780006"]
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

    #[test]
    fn dir_request_crons_are_directorate_digests_at_the_legacy_times() {
        let all = super::entries();
        let find = |name: &str| {
            all.iter()
                .find(|e| e.name == name)
                .unwrap_or_else(|| panic!("no entry {name}"))
        };
        let cases = [
            (
                "bidhumas_evening_likes_1545",
                "0 45 15 * * *",
                "BIDHUMAS",
                "directorate_likes",
                "15:45",
                vec!["group", "super"],
            ),
            (
                "bidhumas_evening_comments_2015",
                "0 15 20 * * *",
                "BIDHUMAS",
                "directorate_comments",
                "20:15",
                vec!["group", "super"],
            ),
            (
                "bidhumas_evening_comments_2215",
                "0 15 22 * * *",
                "BIDHUMAS",
                "directorate_comments",
                "22:15",
                vec!["group", "super"],
            ),
            (
                "ditbinmas_super_daily_comments",
                "0 20 18 * * *",
                "DITBINMAS",
                "directorate_comments",
                "18:20",
                vec!["super"],
            ),
            (
                "ditbinmas_absensi_today_likes",
                "0 24 18 * * *",
                "DITBINMAS",
                "directorate_likes",
                "18:24",
                vec!["081331780006"],
            ),
        ];
        for (name, cron, client, report, slot, to) in cases {
            let e = find(name);
            assert_eq!((e.cron, e.kind), (cron, "send_digest"), "{name}");
            assert!(
                e.legacy_key
                    .is_some_and(|k| k.starts_with("./src/cron/dirRequest/")),
                "{name}"
            );
            assert_eq!(
                (e.payload)(),
                serde_json::json!({"client_id": client, "report": report, "slot": slot, "recipients": to}),
                "{name}"
            );
        }
        let mut names: Vec<&str> = all.iter().map(|e| e.name).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "entry names are unique (each is a switch)");
    }
}

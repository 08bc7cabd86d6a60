//! The legacy ingestion rules (§4(a), §4(b), §3) as pure functions, table-tested.
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};

use crate::{
    config::{ProviderKind, Settings},
    domain::{time::jakarta_day, username::normalize_handle},
    providers::ProviderError,
    work::JobError,
};

use super::Platform;

/// A stable, non-reversible fingerprint of a RapidAPI key (FNV-1a 64, 12 hex digits): the
/// same on every machine and release, so all processes using one key share one rate key,
/// and the key itself never appears in job rows or `/api/rate-limits`.
pub fn fingerprint(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.trim().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")[..12].to_string()
}

/// The rate key of provider calls: `rapidapi:<fingerprint>`; none for the demo provider or
/// without a key.
pub fn rate_key(s: &Settings) -> Option<String> {
    match s.provider {
        ProviderKind::Demo => None,
        ProviderKind::RapidApi => s
            .rapidapi
            .key
            .as_deref()
            .map(|k| format!("rapidapi:{}", fingerprint(k))),
    }
}

/// True when `t` is on `now`'s Jakarta calendar day (the boundary is 17:00 UTC).
pub fn is_today(t: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    jakarta_day(t) == jakarta_day(now)
}

/// Today's Jakarta date of `now`.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    jakarta_day(now)
}

/// Which stored posts of today disappeared from a successful fetch. The legacy rule deletes
/// only when the fetch returned at least one post of today, so an empty answer (a provider
/// hiccup) never wipes the day.
pub fn to_remove(stored_today: &[String], fetched_today: &[String]) -> Vec<String> {
    if fetched_today.is_empty() {
        return Vec::new();
    }
    stored_today
        .iter()
        .filter(|id| !fetched_today.contains(id))
        .cloned()
        .collect()
}

/// The stored form of engagement handles: trimmed, one leading `@` dropped, lower-case,
/// deduplicated in first-seen order; TikTok entries are then prefixed with `@` (legacy
/// `tiktok_comment.comments`). Empty handles are dropped.
pub fn normalize_engagers<'a>(
    raw: impl IntoIterator<Item = &'a str>,
    platform: Platform,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in raw {
        let Some(n) = normalize_handle(h) else {
            continue;
        };
        let stored = match platform {
            Platform::Instagram => n,
            Platform::Tiktok => format!("@{n}"),
        };
        if !out.contains(&stored) {
            out.push(stored);
        }
    }
    out
}

/// Merge-only union: the stored entries in their order, then the new ones not yet present.
/// Returns the merged set and how many entries were added. Nobody is ever removed.
pub fn merge_engagers(stored: &[String], fetched: &[String]) -> (Vec<String>, usize) {
    let mut seen: std::collections::HashSet<&str> = stored.iter().map(String::as_str).collect();
    let mut merged = stored.to_vec();
    let mut added = 0;
    for f in fetched {
        if seen.insert(f.as_str()) {
            merged.push(f.clone());
            added += 1;
        }
    }
    (merged, added)
}

/// The audit window a refresh at `now` belongs to: the 30-minute clock slot (the sweep runs
/// at :00 and :30), so retries and reruns inside one slot update one snapshot.
pub fn snapshot_window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let secs = now.timestamp();
    let start_secs = secs - secs.rem_euclid(1800);
    let start = DateTime::<Utc>::from_timestamp(start_secs, 0)
        .unwrap_or(now.with_nanosecond(0).unwrap_or(now));
    (start, start + Duration::minutes(30))
}

/// A client row as far as the sweeps care.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct ClientRow {
    pub client_id: String,
    pub client_type: Option<String>,
    pub client_status: Option<bool>,
    pub client_insta: Option<String>,
    pub client_insta_status: Option<bool>,
    pub client_tiktok: Option<String>,
    pub client_tiktok_status: Option<bool>,
    pub client_amplify_status: Option<bool>,
    pub tiktok_secuid: Option<String>,
}

fn set(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.trim().is_empty())
}

/// Legacy booleans default to true (`DEFAULT true`); a NULL counts as the default.
fn on(v: Option<bool>) -> bool {
    v.unwrap_or(true)
}

/// The platforms the social sweep covers for a client: Instagram when the client is active,
/// has an account and has Instagram or amplify on (§4(a) step 1); TikTok when active, with an
/// account and TikTok on (§4(b) step 1, §3 "if TikTok is enabled").
pub fn sweep_platforms(c: &ClientRow) -> Vec<Platform> {
    let mut out = Vec::new();
    if !on(c.client_status) {
        return out;
    }
    if set(&c.client_insta) && (on(c.client_insta_status) || on(c.client_amplify_status)) {
        out.push(Platform::Instagram);
    }
    if set(&c.client_tiktok) && on(c.client_tiktok_status) {
        out.push(Platform::Tiktok);
    }
    out
}

/// The amplify routine update covers active `org` clients with amplify on and an Instagram
/// account (legacy cronOprRequestAmplifyRoutineUpdate).
pub fn amplify_eligible(c: &ClientRow) -> bool {
    on(c.client_status)
        && on(c.client_amplify_status)
        && c.client_type
            .as_deref()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("org"))
        && set(&c.client_insta)
}

/// The job's outcome after refreshing `total` posts with `failures`: done when at least one
/// post succeeded (failures are listed in the result) or there was nothing to do; when every
/// post failed, the job fails like its first error (retryable only if that one is).
pub fn engagement_outcome(total: usize, failures: &[ProviderError]) -> Result<(), JobError> {
    if total == 0 || failures.len() < total {
        return Ok(());
    }
    let first = failures
        .first()
        .cloned()
        .map(JobError::from)
        .unwrap_or_else(|| JobError::Retryable("every post failed".into()));
    Err(match first {
        JobError::Retryable(m) => {
            JobError::Retryable(format!("all {total} posts failed; first: {m}"))
        }
        JobError::Permanent(m) => {
            JobError::Permanent(format!("all {total} posts failed; first: {m}"))
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn today_is_the_jakarta_day() {
        // now = 2026-11-25 10:00 WIB
        let now = t("2026-11-25T03:00:00Z");
        let cases = [
            ("2026-11-24T16:59:00Z", false), // 23:59 WIB the day before
            ("2026-11-24T17:00:00Z", true),  // 00:00 WIB
            ("2026-11-24T17:01:00Z", true),  // 00:01 WIB
            ("2026-11-25T16:59:59Z", true),  // 23:59:59 WIB
            ("2026-11-25T17:00:00Z", false), // tomorrow
        ];
        for (at, want) in cases {
            assert_eq!(is_today(t(at), now), want, "{at}");
        }
        // Just after midnight WIB, "today" already is the new day.
        let after_midnight = t("2026-11-24T17:00:30Z");
        assert!(is_today(t("2026-11-24T17:00:10Z"), after_midnight));
        assert!(!is_today(t("2026-11-24T16:59:50Z"), after_midnight));
    }

    #[test]
    fn removal_needs_a_post_of_today() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            (&["a", "b", "c"], &["a", "c"], &["b"]),
            (&["a", "b"], &[], &[]),
            (&[], &["a"], &[]),
            (&["a"], &["a", "z"], &[]),
        ];
        for (stored, fetched, want) in cases {
            assert_eq!(to_remove(&s(stored), &s(fetched)), s(want), "{stored:?}");
        }
    }

    #[test]
    fn engagers_are_normalised_per_platform() {
        let raw = ["  Budi ", "@budi", "SITI", "", "@", "@@x"];
        assert_eq!(
            normalize_engagers(raw, Platform::Instagram),
            vec!["budi", "siti", "@x"]
        );
        assert_eq!(
            normalize_engagers(raw, Platform::Tiktok),
            vec!["@budi", "@siti", "@@x"]
        );
    }

    #[test]
    fn merge_never_removes() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str], usize);
        let cases: &[Case] = &[
            (&["a", "b"], &["b", "c"], &["a", "b", "c"], 1),
            (&["a", "b"], &[], &["a", "b"], 0),
            (&[], &["x", "y"], &["x", "y"], 2),
            (&["a"], &["a"], &["a"], 0),
        ];
        for (stored, fetched, want, added) in cases {
            assert_eq!(
                merge_engagers(&s(stored), &s(fetched)),
                (s(want), *added),
                "{stored:?} + {fetched:?}"
            );
        }
    }

    #[test]
    fn snapshot_windows_are_half_hour_slots() {
        let cases = [
            ("2026-11-25T03:00:00Z", "2026-11-25T03:00:00Z"),
            ("2026-11-25T03:29:59Z", "2026-11-25T03:00:00Z"),
            ("2026-11-25T03:30:00Z", "2026-11-25T03:30:00Z"),
            ("2026-11-24T16:59:00Z", "2026-11-24T16:30:00Z"),
        ];
        for (now, start) in cases {
            let (s, e) = snapshot_window(t(now));
            assert_eq!(s, t(start), "{now}");
            assert_eq!(e - s, Duration::minutes(30));
        }
    }

    #[test]
    fn eligibility() {
        let base = ClientRow {
            client_id: "X".into(),
            client_type: Some("org".into()),
            client_status: Some(true),
            client_insta: Some("x.ig".into()),
            client_insta_status: Some(true),
            client_tiktok: Some("x.tt".into()),
            client_tiktok_status: Some(true),
            client_amplify_status: Some(true),
            tiktok_secuid: None,
        };
        use Platform::{Instagram as I, Tiktok as T};
        let cases: Vec<(ClientRow, Vec<Platform>, bool)> = vec![
            (base.clone(), vec![I, T], true),
            (
                ClientRow {
                    client_status: Some(false),
                    ..base.clone()
                },
                vec![],
                false,
            ),
            (
                ClientRow {
                    client_insta_status: Some(false),
                    ..base.clone()
                },
                vec![I, T],
                true,
            ),
            (
                ClientRow {
                    client_insta_status: Some(false),
                    client_amplify_status: Some(false),
                    ..base.clone()
                },
                vec![T],
                false,
            ),
            (
                ClientRow {
                    client_insta: Some("  ".into()),
                    client_tiktok_status: Some(false),
                    ..base.clone()
                },
                vec![],
                false,
            ),
            (
                ClientRow {
                    client_type: Some("direktorat".into()),
                    client_tiktok: None,
                    client_status: None,
                    ..base.clone()
                },
                vec![I],
                false,
            ),
        ];
        for (c, platforms, amplify) in cases {
            assert_eq!(sweep_platforms(&c), platforms, "{c:?}");
            assert_eq!(amplify_eligible(&c), amplify, "{c:?}");
        }
    }

    #[test]
    fn engagement_fails_only_when_every_post_failed() {
        let perm = ProviderError::payload("h", "p", "bad");
        let tr = ProviderError::Transient {
            host: "h".into(),
            path: "p".into(),
            status: Some(502),
            message: "bad gateway".into(),
        };
        assert!(engagement_outcome(0, &[]).is_ok());
        assert!(engagement_outcome(2, std::slice::from_ref(&perm)).is_ok());
        assert!(matches!(
            engagement_outcome(1, std::slice::from_ref(&perm)),
            Err(JobError::Permanent(m)) if m.contains("all 1 posts failed")
        ));
        assert!(matches!(
            engagement_outcome(2, &[tr.clone(), perm]),
            Err(JobError::Retryable(_))
        ));
    }

    #[test]
    fn rate_keys_follow_the_provider() {
        let settings = |pairs: &[(&str, &str)]| {
            let map: std::collections::BTreeMap<String, String> = pairs
                .iter()
                .chain(&[("DATABASE_URL", "postgres://u@h/db")])
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Settings::parse(|k| map.get(k).cloned()).unwrap()
        };
        let with_key = format!("rapidapi:{}", fingerprint("k-123"));
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: &[Case] = &[
            (&[("RAPIDAPI_KEY", "k-123")], Some(&with_key)),
            (
                &[("PROVIDER", "rapidapi"), ("RAPIDAPI_KEY", "k-123")],
                Some(&with_key),
            ),
            (&[("PROVIDER", "demo"), ("RAPIDAPI_KEY", "k-123")], None),
            (&[], None),
        ];
        for (pairs, want) in cases {
            assert_eq!(rate_key(&settings(pairs)).as_deref(), *want, "{pairs:?}");
        }
    }

    #[test]
    fn fingerprints_hide_the_key() {
        let f = fingerprint("my-secret-rapidapi-key");
        assert_eq!(f.len(), 12);
        assert_eq!(f, fingerprint(" my-secret-rapidapi-key "));
        assert_ne!(f, fingerprint("another-key"));
        assert!(!f.contains("secret"));
    }
}

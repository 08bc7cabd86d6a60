//! Asia/Jakarta time: everything user-facing (logs, file names, "today") is in WIB.
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Asia::Jakarta;

/// Log timestamp, e.g. `2026-11-24T18:40:13.123+07:00`.
pub fn log_timestamp(t: DateTime<Utc>) -> String {
    t.with_timezone(&Jakarta)
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// Sortable file-name stamp in Jakarta time, e.g. `20261125-040000`.
pub fn file_stamp(t: DateTime<Utc>) -> String {
    t.with_timezone(&Jakarta)
        .format("%Y%m%d-%H%M%S")
        .to_string()
}

/// A Jakarta wall-clock time as UTC (for tests and schedules).
pub fn jakarta(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<DateTime<Utc>> {
    Jakarta
        .with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The Jakarta calendar day an instant falls on (every "today" in Cicero is a WIB day).
pub fn jakarta_day(t: DateTime<Utc>) -> chrono::NaiveDate {
    t.with_timezone(&Jakarta).date_naive()
}

/// The instants of a Jakarta day as a half-open UTC range `[start, end)`: 17:00 UTC the day
/// before to 17:00 UTC (Jakarta has no daylight saving).
pub fn jakarta_day_window(day: chrono::NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let start = Jakarta
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .single()?;
    let next = day.succ_opt()?;
    let end = Jakarta
        .from_local_datetime(&next.and_hms_opt(0, 0, 0)?)
        .single()?;
    Some((start.with_timezone(&Utc), end.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_jakarta() {
        let cases = [
            // (utc, log, file)
            (
                "2026-11-24T18:40:13.123Z",
                "2026-11-25T01:40:13.123+07:00",
                "20261125-014013",
            ),
            (
                "2026-11-24T16:59:59Z",
                "2026-11-24T23:59:59.000+07:00",
                "20261124-235959",
            ),
            (
                "2026-11-24T17:00:00Z",
                "2026-11-25T00:00:00.000+07:00",
                "20261125-000000",
            ),
        ];
        for (utc, log, file) in cases {
            let t: DateTime<Utc> = utc.parse().unwrap();
            assert_eq!(log_timestamp(t), log, "{utc}");
            assert_eq!(file_stamp(t), file, "{utc}");
        }
        assert_eq!(
            jakarta(2026, 11, 25, 4, 0, 0).unwrap().to_rfc3339(),
            "2026-11-24T21:00:00+00:00"
        );
    }

    #[test]
    fn instants_land_on_their_jakarta_day() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // (utc instant, Jakarta day): 17:00 UTC is the boundary (00:00 WIB).
        let cases = [
            ("2026-11-24T16:59:00Z", "2026-11-24"), // 23:59 WIB
            ("2026-11-24T16:59:59.999Z", "2026-11-24"),
            ("2026-11-24T17:00:00Z", "2026-11-25"), // 00:00 WIB
            ("2026-11-24T17:01:00Z", "2026-11-25"), // 00:01 WIB
            ("2026-11-25T00:00:00Z", "2026-11-25"), // 07:00 WIB
            ("2026-12-31T17:00:00Z", "2027-01-01"),
        ];
        for (utc, want) in cases {
            let t: DateTime<Utc> = utc.parse().unwrap();
            assert_eq!(jakarta_day(t), day(want), "{utc}");
            let (start, end) = jakarta_day_window(day(want)).unwrap();
            assert!(start <= t && t < end, "{utc} outside the window of {want}");
        }
        let (start, end) = jakarta_day_window(day("2026-11-25")).unwrap();
        assert_eq!(start.to_rfc3339(), "2026-11-24T17:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-11-25T17:00:00+00:00");
    }
}

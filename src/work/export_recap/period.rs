//! The periods of the legacy workbooks and their Indonesian words (id-ID formatting as the
//! legacy titles and file names show it), as pure functions of Jakarta days. The HTTP side uses
//! them to turn a request into a window; the job uses them for titles and file names.
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};

use cicero_jobs::export_recap::RankingPeriod;

pub use crate::domain::recap::{MONTHS, month_name};
use crate::domain::{recap::day_name, time::jakarta_day};

/// `Februari 2026` (id-ID `month: long, year: numeric`).
pub fn month_year(d: NaiveDate) -> String {
    format!("{} {}", month_name(d), d.year())
}

/// `07 Februari 2026` (id-ID `day: 2-digit, month: long, year: numeric`).
pub fn long_date(d: NaiveDate) -> String {
    format!("{:02} {} {}", d.day(), month_name(d), d.year())
}

/// `Sabtu, 07 Februari 2026`.
pub fn day_date(d: NaiveDate) -> String {
    format!("{}, {}", day_name(d.weekday()), long_date(d))
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

/// The first and last Jakarta day of a ranking period seen from `today` (legacy
/// `resolvePeriodRange`: weeks are Monday to Sunday, months are whole months).
pub fn ranking_days(p: RankingPeriod, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    match p {
        RankingPeriod::Today => (today, today),
        RankingPeriod::Yesterday => {
            let d = today - Duration::days(1);
            (d, d)
        }
        RankingPeriod::ThisWeek => {
            let m = monday_of(today);
            (m, m + Duration::days(6))
        }
        RankingPeriod::LastWeek => {
            let m = monday_of(today) - Duration::days(7);
            (m, m + Duration::days(6))
        }
        RankingPeriod::ThisMonth => {
            let first = first_of_month(today);
            (first, last_of_month(first))
        }
        RankingPeriod::LastMonth => {
            let first = first_of_month(today)
                .checked_sub_months(Months::new(1))
                .unwrap_or(today);
            (first, last_of_month(first))
        }
    }
}

fn last_of_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .map(|next| next - Duration::days(1))
        .unwrap_or(first)
}

/// The ranking's period line (second title row) and file-name label (legacy
/// `label`/`fileLabel`): days `Hari, Tanggal: Sabtu, 07 Februari 2026` / `Tanggal_2026-02-07`,
/// weeks `Minggu ke-6 (02 Februari 2026 - 08 Februari 2026)` / `Minggu_6_2026-02-02_2026-02-08`
/// (ISO week of the Monday), months `Bulan: Februari 2026` / `Bulan_2026-02`.
pub fn ranking_labels(p: RankingPeriod, first: NaiveDate, last: NaiveDate) -> (String, String) {
    let key = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    match p {
        RankingPeriod::Today | RankingPeriod::Yesterday => (
            format!("Hari, Tanggal: {}", day_date(first)),
            format!("Tanggal_{}", key(first)),
        ),
        RankingPeriod::ThisWeek | RankingPeriod::LastWeek => {
            let week = first.iso_week().week();
            (
                format!(
                    "Minggu ke-{week} ({} - {})",
                    long_date(first),
                    long_date(last)
                ),
                format!("Minggu_{week}_{}_{}", key(first), key(last)),
            )
        }
        RankingPeriod::ThisMonth | RankingPeriod::LastMonth => (
            format!("Bulan: {}", month_year(first)),
            format!("Bulan_{}", first.format("%Y-%m")),
        ),
    }
}

/// The first days of the months of the "all data" recaps: from September (of this year from
/// September on, else of last year) to `today`'s month.
pub fn all_data_months(today: NaiveDate) -> Vec<NaiveDate> {
    let year = if today.month() >= 9 {
        today.year()
    } else {
        today.year() - 1
    };
    let Some(start) = NaiveDate::from_ymd_opt(year, 9, 1) else {
        return Vec::new();
    };
    months_between(start, today)
}

/// The first days of every month from `first`'s to `last`'s.
pub fn months_between(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = first_of_month(first);
    while m <= last && out.len() < 240 {
        out.push(m);
        match m.checked_add_months(Months::new(1)) {
            Some(next) => m = next,
            None => break,
        }
    }
    out
}

/// The Jakarta days a half-open UTC window covers (first and last).
pub fn window_days(start: DateTime<Utc>, end: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    (
        jakarta_day(start),
        jakarta_day(end - Duration::milliseconds(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ranking_periods_from_a_saturday() {
        // 2026-02-07 is a Saturday (ISO week 6).
        let today = d("2026-02-07");
        let cases = [
            (
                RankingPeriod::Today,
                ("2026-02-07", "2026-02-07"),
                "Hari, Tanggal: Sabtu, 07 Februari 2026",
                "Tanggal_2026-02-07",
            ),
            (
                RankingPeriod::Yesterday,
                ("2026-02-06", "2026-02-06"),
                "Hari, Tanggal: Jumat, 06 Februari 2026",
                "Tanggal_2026-02-06",
            ),
            (
                RankingPeriod::ThisWeek,
                ("2026-02-02", "2026-02-08"),
                "Minggu ke-6 (02 Februari 2026 - 08 Februari 2026)",
                "Minggu_6_2026-02-02_2026-02-08",
            ),
            (
                RankingPeriod::LastWeek,
                ("2026-01-26", "2026-02-01"),
                "Minggu ke-5 (26 Januari 2026 - 01 Februari 2026)",
                "Minggu_5_2026-01-26_2026-02-01",
            ),
            (
                RankingPeriod::ThisMonth,
                ("2026-02-01", "2026-02-28"),
                "Bulan: Februari 2026",
                "Bulan_2026-02",
            ),
            (
                RankingPeriod::LastMonth,
                ("2026-01-01", "2026-01-31"),
                "Bulan: Januari 2026",
                "Bulan_2026-01",
            ),
        ];
        for (p, (first, last), line, file) in cases {
            let (a, b) = ranking_days(p, today);
            assert_eq!((a, b), (d(first), d(last)), "{p:?}");
            assert_eq!(ranking_labels(p, a, b), (line.into(), file.into()), "{p:?}");
        }
    }

    #[test]
    fn ranking_periods_at_edges() {
        // (today, period, first, last): a Monday, a Sunday, the first of January, a leap year.
        let cases = [
            (
                "2026-02-02",
                RankingPeriod::ThisWeek,
                "2026-02-02",
                "2026-02-08",
            ),
            (
                "2026-02-08",
                RankingPeriod::ThisWeek,
                "2026-02-02",
                "2026-02-08",
            ),
            (
                "2026-02-08",
                RankingPeriod::LastWeek,
                "2026-01-26",
                "2026-02-01",
            ),
            (
                "2026-01-01",
                RankingPeriod::Yesterday,
                "2025-12-31",
                "2025-12-31",
            ),
            (
                "2026-01-15",
                RankingPeriod::LastMonth,
                "2025-12-01",
                "2025-12-31",
            ),
            (
                "2028-02-10",
                RankingPeriod::ThisMonth,
                "2028-02-01",
                "2028-02-29",
            ),
            (
                "2026-03-31",
                RankingPeriod::LastMonth,
                "2026-02-01",
                "2026-02-28",
            ),
        ];
        for (today, p, first, last) in cases {
            assert_eq!(
                ranking_days(p, d(today)),
                (d(first), d(last)),
                "{today} {p:?}"
            );
        }
    }

    #[test]
    fn all_data_starts_in_september() {
        let labels = |today: &str| -> Vec<String> {
            all_data_months(d(today))
                .into_iter()
                .map(month_year)
                .collect()
        };
        assert_eq!(
            labels("2026-02-07"),
            [
                "September 2025",
                "Oktober 2025",
                "November 2025",
                "Desember 2025",
                "Januari 2026",
                "Februari 2026"
            ]
        );
        assert_eq!(labels("2026-09-01"), ["September 2026"]);
        assert_eq!(labels("2026-08-31").len(), 12);
        assert_eq!(labels("2026-12-31").last().unwrap(), "Desember 2026");
    }

    #[test]
    fn window_days_are_jakarta_days() {
        let (s, _) = crate::domain::time::jakarta_day_window(d("2026-02-01")).unwrap();
        let (_, e) = crate::domain::time::jakarta_day_window(d("2026-02-07")).unwrap();
        assert_eq!(window_days(s, e), (d("2026-02-01"), d("2026-02-07")));
    }
}

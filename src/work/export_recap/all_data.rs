//! The "all data" workbooks (legacy `instagramAllDataRecapService` / `tiktokAllDataRecapService`,
//! §4(d)): per Polres, the likes (or TikTok comments) of its personnel in each month from
//! September to now, a `Total` column, rows by total (highest first) and a `TOTAL` row; numbers
//! as `#,##0`. With nothing but zeros the export fails, as legacy does.
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::{
    book::{Cell, Sheet},
    per_content::client_of,
    period::month_year,
};
use crate::domain::recap::RecapClock;

/// Which platform: titles, sheet name, file name and the failure message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Instagram,
    TikTok,
}

impl Platform {
    fn word(self) -> &'static str {
        match self {
            Platform::Instagram => "Instagram",
            Platform::TikTok => "TikTok",
        }
    }
    /// Legacy's error when every count is zero.
    pub fn no_data(self) -> &'static str {
        match self {
            Platform::Instagram => {
                "Tidak ada data likes Instagram untuk rentang bulan yang dipilih."
            }
            Platform::TikTok => "Tidak ada data komentar TikTok untuk rentang bulan yang dipilih.",
        }
    }
}

/// One Polres: its name, one sum per month, the total.
pub type Line = (String, Vec<u64>, u64);

/// Sums each month's recap rows (`client_name`/`client_id`, `count`) per Polres; rows by
/// total, highest first, then by name. `None` when every count is zero.
pub fn tally(months: &[Vec<Value>]) -> Option<Vec<Line>> {
    let mut lines: Vec<Line> = Vec::new();
    for (i, rows) in months.iter().enumerate() {
        for r in rows {
            let name = match client_of(r) {
                n if n.is_empty() => "Tidak diketahui".to_owned(),
                n => n,
            };
            let count = r["count"].as_u64().unwrap_or(0);
            let pos = match lines.iter().position(|l| l.0 == name) {
                Some(p) => p,
                None => {
                    lines.push((name, vec![0; months.len()], 0));
                    lines.len() - 1
                }
            };
            lines[pos].1[i] += count;
            lines[pos].2 += count;
        }
    }
    if lines.iter().all(|l| l.2 == 0) {
        return None;
    }
    lines.sort_by(|a, b| {
        b.2.cmp(&a.2)
            .then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase()))
    });
    Some(lines)
}

/// The sheet: title, period, header `Polres`, the months, `Total`; the Polres rows; `TOTAL`.
pub fn layout(
    platform: Platform,
    client_name: &str,
    months: &[NaiveDate],
    lines: &[Line],
) -> Sheet {
    let labels: Vec<String> = months.iter().map(|m| month_year(*m)).collect();
    let width = labels.len() + 2;
    let mut header = vec![Cell::text("Polres")];
    header.extend(labels.iter().map(|l| Cell::text(l.as_str())));
    header.push(Cell::text("Total"));
    let mut rows = vec![
        vec![Cell::Text(format!(
            "Rekap {} All Data – {client_name}",
            platform.word()
        ))],
        vec![Cell::Text(format!(
            "Periode: {} - {}",
            labels.first().cloned().unwrap_or_default(),
            labels.last().cloned().unwrap_or_default()
        ))],
        header,
    ];
    let mut totals = vec![0u64; months.len()];
    for (name, monthly, total) in lines {
        let mut row = vec![Cell::text(name.as_str())];
        for (t, v) in totals.iter_mut().zip(monthly) {
            *t += v;
        }
        row.extend(monthly.iter().map(|v| Cell::int(*v)));
        row.push(Cell::int(*total));
        rows.push(row);
    }
    let grand: u64 = totals.iter().sum();
    let mut row = vec![Cell::text("TOTAL")];
    row.extend(totals.into_iter().map(Cell::int));
    row.push(Cell::int(grand));
    rows.push(row);
    let last = (width - 1) as u16;
    Sheet {
        name: format!("{} All Data", platform.word()),
        rows,
        bold_rows: vec![0, 1, 2],
        merges: if last > 0 {
            vec![(0, 0, 0, last), (1, 0, 1, last)]
        } else {
            vec![]
        },
        number_format: Some("#,##0"),
    }
}

/// `<Client_Name>_Rekap_<Instagram|TikTok>_All_Data_<d-m-yyyy>_<hh-mm-ss>.xlsx`.
pub fn file_name(platform: Platform, client_name: &str, now: DateTime<Utc>) -> String {
    let label: String = client_name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
        .chars()
        .map(|c| if "/\\\"".contains(c) { '_' } else { c })
        .collect();
    let clock = RecapClock::at(now);
    format!(
        "{}_Rekap_{}_All_Data_{}_{}.xlsx",
        if label.is_empty() { "CLIENT" } else { &label },
        platform.word(),
        clock.tanggal.replace('/', "-"),
        clock.jam.replace(['.', ':'], "-")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn months_are_summed_per_polres_and_ranked() {
        let r = |c: &str, n: u64| json!({"client_name": c, "count": n});
        let months = vec![
            vec![r("POLRES A", 2), r("POLRES B", 1), r("POLRES A", 1)],
            vec![],
            vec![r("POLRES B", 5), json!({"client_id": "", "count": 0})],
        ];
        let lines = tally(&months).unwrap();
        assert_eq!(
            lines,
            [
                ("POLRES B".to_string(), vec![1, 0, 5], 6),
                ("POLRES A".to_string(), vec![3, 0, 0], 3),
                ("Tidak diketahui".to_string(), vec![0, 0, 0], 0),
            ]
        );
        assert_eq!(tally(&[vec![r("A", 0)], vec![]]), None);
        assert_eq!(tally(&[]), None);
    }

    #[test]
    fn the_sheet_has_a_title_the_months_and_a_total() {
        let months: Vec<NaiveDate> = ["2025-09-01", "2025-10-01"]
            .iter()
            .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap())
            .collect();
        let lines = vec![
            ("POLRES B".to_string(), vec![1, 5], 6),
            ("POLRES A".to_string(), vec![3, 0], 3),
        ];
        let sheet = layout(Platform::TikTok, "DIREKTORAT BINMAS", &months, &lines);
        assert_eq!(sheet.name, "TikTok All Data");
        assert_eq!(sheet.number_format, Some("#,##0"));
        assert_eq!(sheet.merges, [(0, 0, 0, 3), (1, 0, 1, 3)]);
        let t = |v: &str| Cell::text(v);
        let n = |v: u64| Cell::int(v);
        assert_eq!(
            sheet.rows,
            [
                vec![t("Rekap TikTok All Data – DIREKTORAT BINMAS")],
                vec![t("Periode: September 2025 - Oktober 2025")],
                vec![
                    t("Polres"),
                    t("September 2025"),
                    t("Oktober 2025"),
                    t("Total")
                ],
                vec![t("POLRES B"), n(1), n(5), n(6)],
                vec![t("POLRES A"), n(3), n(0), n(3)],
                vec![t("TOTAL"), n(4), n(5), n(9)],
            ]
        );
        let at = crate::domain::time::jakarta(2026, 2, 7, 14, 5, 9).unwrap();
        assert_eq!(
            file_name(Platform::Instagram, " POLDA  JATIM ", at),
            "POLDA_JATIM_Rekap_Instagram_All_Data_7-2-2026_14-05-09.xlsx"
        );
        assert!(
            Platform::Instagram
                .no_data()
                .starts_with("Tidak ada data likes Instagram")
        );
    }
}

//! Link-report workbooks: the month's reports of a client (legacy `generateLinkReportExcelBuffer`,
//! `<client>_<Month>.xlsx`, sheet `Sheet1`) and one person's report for one post (legacy
//! `downloadLinkReportExcelByUserAndShortcode`, `link_report_<nrp>_<shortcode>.xlsx`).
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::Value;

use super::{
    book::{Cell, Sheet},
    per_content::pangkat_nama,
    period::month_name,
};

/// The five link columns, in the legacy order.
const LINKS: [&str; 5] = [
    "instagram_link",
    "facebook_link",
    "twitter_link",
    "tiktok_link",
    "youtube_link",
];

fn s(row: &Value, k: &str) -> String {
    row[k].as_str().unwrap_or_default().trim().to_owned()
}

/// Rows: `date` (Jakarta `YYYY-MM-DD`), `title`, `nama`, `user_id`, `divisi`, the five links.
pub fn monthly(rows: &[Value]) -> Sheet {
    let mut out = vec![
        [
            "Date",
            "Pangkat Nama",
            "NRP",
            "Satfung",
            "Link Instagram",
            "Link Facebook",
            "Link Twitter",
            "Link Tiktok",
            "Link Youtube",
        ]
        .into_iter()
        .map(Cell::text)
        .collect::<Vec<_>>(),
    ];
    for r in rows {
        let date = NaiveDate::parse_from_str(&s(r, "date"), "%Y-%m-%d")
            .map(Cell::Date)
            .unwrap_or(Cell::Empty);
        let mut row = vec![
            date,
            Cell::Text(pangkat_nama(r)),
            Cell::Text(s(r, "user_id")),
            Cell::Text(s(r, "divisi")),
        ];
        row.extend(LINKS.iter().map(|k| Cell::Text(s(r, k))));
        out.push(row);
    }
    Sheet::table("Sheet1", out)
}

/// `<client>_<Bulan>.xlsx` (legacy `saveLinkReportExcel`, month in Indonesian).
pub fn monthly_file_name(client_id: &str, month: NaiveDate) -> String {
    let client: String = client_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{client}_{}.xlsx", month_name(month))
}

/// Rows: the report joined to its person and post (`user_id, title, nama, username, divisi,
/// client_id, shortcode`, the five links, `created_at` Jakarta `YYYY-MM-DDTHH:MM:SS`,
/// `caption`); the legacy columns of `json_to_sheet`.
pub fn detail(rows: &[Value]) -> Sheet {
    let header = [
        "no",
        "user_id",
        "nama",
        "username",
        "divisi_satfung",
        "client_id",
        "shortcode",
        "task_link",
        "instagram_link",
        "facebook_link",
        "twitter_link",
        "tiktok_link",
        "youtube_link",
        "created_at",
        "caption",
    ];
    let mut out = vec![header.into_iter().map(Cell::text).collect::<Vec<_>>()];
    for (i, r) in rows.iter().enumerate() {
        let username = s(r, "username");
        let shortcode = s(r, "shortcode");
        let mut row = vec![
            Cell::int(i as u64 + 1),
            Cell::Text(s(r, "user_id")),
            Cell::Text(pangkat_nama(r)),
            Cell::Text(if username.is_empty() {
                username
            } else {
                format!("@{}", username.trim_start_matches('@'))
            }),
            Cell::Text(s(r, "divisi")),
            Cell::Text(s(r, "client_id")),
            Cell::Text(shortcode.clone()),
            Cell::Text(if shortcode.is_empty() {
                shortcode
            } else {
                format!("https://www.instagram.com/p/{shortcode}/")
            }),
        ];
        row.extend(LINKS.iter().map(|k| Cell::Text(s(r, k))));
        row.push(
            NaiveDateTime::parse_from_str(&s(r, "created_at"), "%Y-%m-%dT%H:%M:%S")
                .map(Cell::DateTime)
                .unwrap_or(Cell::Empty),
        );
        row.push(Cell::Text(s(r, "caption")));
        out.push(row);
    }
    Sheet::table("Sheet1", out)
}

/// `link_report[_khusus]_<nrp>_<shortcode>.xlsx`, unsafe characters as `_` (legacy).
pub fn detail_file_name(khusus: bool, user_id: &str, shortcode: &str) -> String {
    let safe = |v: &str| -> String {
        v.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let base = if khusus {
        "link_report_khusus"
    } else {
        "link_report"
    };
    format!("{base}_{}_{}.xlsx", safe(user_id), safe(shortcode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn monthly_rows_in_the_legacy_columns() {
        let rows = vec![
            json!({"date": "2026-02-03", "title": "BRIPKA", "nama": "BUDI", "user_id": "75020001",
                   "divisi": "SAT BINMAS", "instagram_link": "https://instagram.com/p/x",
                   "facebook_link": null, "tiktok_link": "https://tiktok.com/v"}),
            json!({"date": "bad", "nama": "SITI", "user_id": "2"}),
        ];
        let sheet = monthly(&rows);
        assert_eq!(sheet.name, "Sheet1");
        assert_eq!(sheet.rows[0][0], Cell::text("Date"));
        assert_eq!(sheet.rows[0][8], Cell::text("Link Youtube"));
        let t = |v: &str| Cell::text(v);
        assert_eq!(
            sheet.rows[1],
            [
                Cell::Date(NaiveDate::from_ymd_opt(2026, 2, 3).unwrap()),
                t("BRIPKA BUDI"),
                t("75020001"),
                t("SAT BINMAS"),
                t("https://instagram.com/p/x"),
                t(""),
                t(""),
                t("https://tiktok.com/v"),
                t("")
            ]
        );
        assert_eq!(sheet.rows[2][0], Cell::Empty);
        assert_eq!(sheet.rows[2][1], t("SITI"));
        let feb = NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
        assert_eq!(monthly_file_name("KEDIRI", feb), "KEDIRI_Februari.xlsx");
        assert_eq!(monthly_file_name("A B/C", feb), "A_B_C_Februari.xlsx");
    }

    #[test]
    fn detail_rows_in_the_legacy_columns() {
        let rows = vec![
            json!({"user_id": "75020001", "title": "BRIPKA", "nama": "BUDI",
            "username": "budi_ig", "divisi": "SAT BINMAS", "client_id": "KEDIRI",
            "shortcode": "P1", "instagram_link": "https://instagram.com/p/x",
            "created_at": "2026-02-07T09:05:01", "caption": "caption P1"}),
        ];
        let sheet = detail(&rows);
        assert_eq!(sheet.rows[0].len(), 15);
        let t = |v: &str| Cell::text(v);
        assert_eq!(
            sheet.rows[1],
            [
                Cell::int(1),
                t("75020001"),
                t("BRIPKA BUDI"),
                t("@budi_ig"),
                t("SAT BINMAS"),
                t("KEDIRI"),
                t("P1"),
                t("https://www.instagram.com/p/P1/"),
                t("https://instagram.com/p/x"),
                t(""),
                t(""),
                t(""),
                t(""),
                Cell::DateTime(
                    NaiveDate::from_ymd_opt(2026, 2, 7)
                        .unwrap()
                        .and_hms_opt(9, 5, 1)
                        .unwrap()
                ),
                t("caption P1"),
            ]
        );
        assert_eq!(
            detail_file_name(false, "75020001", "P1/x"),
            "link_report_75020001_P1_x.xlsx"
        );
        assert_eq!(
            detail_file_name(true, "1", "K1"),
            "link_report_khusus_1_K1.xlsx"
        );
    }
}

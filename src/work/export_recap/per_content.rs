//! Per-content workbooks (legacy `Rekap_Likes_Per_Konten_Instagram_…` and
//! `Rekap_Komentar_Per_Konten_Tiktok_…`, §4(d)): one sheet per Polres with `Pangkat Nama`,
//! `Satfung`, then one column per post of the period (oldest first) holding 1 when the person
//! liked / commented on it, else 0.
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::book::{Cell, Sheet, sheet_name};
use crate::domain::recap::RecapClock;

/// The most post columns a sheet takes (Excel has 16,384 columns; two are the person's).
pub const MAX_POSTS: usize = 16_382;

/// `TITLE NAMA` (legacy `${pangkat ? pangkat + ' ' : ''}${nama}`, trimmed).
pub fn pangkat_nama(row: &Value) -> String {
    let s = |k: &str| row[k].as_str().unwrap_or_default().trim().to_owned();
    format!("{} {}", s("title"), s("nama")).trim().to_owned()
}

/// The sheet of a row: its client's name, else its client id.
pub fn client_of(row: &Value) -> String {
    let s = |k: &str| row[k].as_str().unwrap_or_default().trim().to_owned();
    let n = s("client_name");
    if n.is_empty() { s("client_id") } else { n }
}

/// Rows are the members (`title, nama, divisi, client_id, client_name, done: [post ids]`);
/// `posts` the post ids in column order.
pub fn layout(rows: &[Value], posts: &[String]) -> Vec<Sheet> {
    let header: Vec<Cell> = ["Pangkat Nama", "Satfung"]
        .into_iter()
        .map(Cell::text)
        .chain(posts.iter().map(|p| Cell::text(p.as_str())))
        .collect();
    let mut sheets: Vec<Sheet> = Vec::new();
    for r in rows {
        // A set: a directorate has tens of thousands of rows and hundreds of posts.
        let done: std::collections::HashSet<&str> = r["done"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut row = vec![
            Cell::Text(pangkat_nama(r)),
            Cell::text(r["divisi"].as_str().unwrap_or_default().trim()),
        ];
        row.extend(
            posts
                .iter()
                .map(|p| Cell::int(u64::from(done.contains(&p.as_str())))),
        );
        let name = sheet_name(&client_of(r));
        match sheets.iter_mut().find(|s| s.name == name) {
            Some(s) => s.rows.push(row),
            None => sheets.push(Sheet::table(name, vec![header.clone(), row])),
        }
    }
    if sheets.is_empty() {
        sheets.push(Sheet::table("Rekap", vec![header]));
    }
    sheets
}

/// `<prefix>_<Client>_<hari>_<d-m-yyyy>_<hh-mm-ss>.xlsx`, the client id capitalised as legacy
/// does (`KEDIRI` → `Kediri`).
pub fn file_name(prefix: &str, client_id: &str, now: DateTime<Utc>) -> String {
    let lower: String = client_id
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut chars = lower.chars();
    let client: String = match chars.next() {
        Some(f) => f.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    let clock = RecapClock::at(now);
    format!(
        "{prefix}_{client}_{}_{}_{}.xlsx",
        clock.hari,
        clock.tanggal.replace('/', "-"),
        clock.jam.replace(['.', ':'], "-")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_sheet_per_polres_with_one_column_per_post() {
        let posts = vec!["P1".to_string(), "P2".into()];
        let rows = vec![
            json!({"title": "BRIPKA", "nama": "BUDI", "divisi": "SAT BINMAS", "client_name": "POLRES A", "done": ["P1", "P2"]}),
            json!({"title": null, "nama": "SITI", "divisi": null, "client_id": "B", "client_name": "", "done": []}),
            json!({"title": "AIPDA", "nama": "ANI", "divisi": "SAT", "client_name": "POLRES A", "done": ["P2"]}),
        ];
        let sheets = layout(&rows, &posts);
        let t = |s: &str| Cell::text(s);
        let n = |v: u64| Cell::int(v);
        let cases: &[(&str, Vec<Vec<Cell>>)] = &[
            (
                "POLRES A",
                vec![
                    vec![t("Pangkat Nama"), t("Satfung"), t("P1"), t("P2")],
                    vec![t("BRIPKA BUDI"), t("SAT BINMAS"), n(1), n(1)],
                    vec![t("AIPDA ANI"), t("SAT"), n(0), n(1)],
                ],
            ),
            (
                "B",
                vec![
                    vec![t("Pangkat Nama"), t("Satfung"), t("P1"), t("P2")],
                    vec![t("SITI"), t(""), n(0), n(0)],
                ],
            ),
        ];
        assert_eq!(sheets.len(), cases.len());
        for (sheet, (name, rows)) in sheets.iter().zip(cases) {
            assert_eq!(sheet.name, *name);
            assert_eq!(&sheet.rows, rows, "{name}");
            assert_eq!(sheet.bold_rows, [0]);
        }
        let empty = layout(&[], &[]);
        assert_eq!(empty[0].rows, [vec![t("Pangkat Nama"), t("Satfung")]]);
    }

    #[test]
    fn legacy_file_names() {
        let at = crate::domain::time::jakarta(2026, 2, 7, 14, 5, 9).unwrap();
        let cases = [
            (
                "Rekap_Likes_Per_Konten_Instagram",
                "KEDIRI",
                "Rekap_Likes_Per_Konten_Instagram_Kediri_Sabtu_7-2-2026_14-05-09.xlsx",
            ),
            (
                "Rekap_Komentar_Per_Konten_Tiktok",
                "POLRES BATU/X",
                "Rekap_Komentar_Per_Konten_Tiktok_Polres_batu_x_Sabtu_7-2-2026_14-05-09.xlsx",
            ),
        ];
        for (prefix, client, want) in cases {
            assert_eq!(file_name(prefix, client, at), want);
        }
    }
}

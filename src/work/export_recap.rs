//! `export_recap`: the dashboard's recap as an xlsx workbook, one sheet per client (legacy
//! likes-recap layout, §4(d)), stored in `cicero.job_files` for `GET /api/exports/{id}/file`.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_xlsxwriter::{Format, Workbook};
use serde_json::{Value, json};

use cicero_jobs::export_recap::{ExportKind, ExportRecap};

use super::{Ctx, JobCtx, JobError};
use crate::{
    domain::time::{file_stamp, jakarta_day},
    http::dashboard::data::{
        COMMENTS_SQL, COUNTS_SQL, LIKES_SQL, LINKS_SQL, Rule, completion_rate, rule_json,
    },
};

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// One cell of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
}

/// A sheet: its name and rows (the first row is the header).
pub type Sheet = (String, Vec<Vec<Cell>>);

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`.
pub fn sheet_name(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    let name: String = clean.chars().take(31).collect();
    if name.is_empty() {
        "Rekap".into()
    } else {
        name
    }
}

/// The period label of the headers: one day `d-m-yyyy`, else `d-m-yyyy s.d. d-m-yyyy`.
pub fn period_label(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let first = jakarta_day(start);
    let last = jakarta_day(end - chrono::Duration::milliseconds(1));
    let f = |d: chrono::NaiveDate| d.format("%-d-%-m-%Y").to_string();
    if first == last {
        f(first)
    } else {
        format!("{} s.d. {}", f(first), f(last))
    }
}

/// Rows (as the recap queries return them: title, nama, divisi, user_id, client_name, count)
/// grouped into one sheet per client, in the legacy column layout of each kind.
pub fn layout(kind: ExportKind, rows: &[Value], posts: u64, label: &str) -> Vec<Sheet> {
    let header: Vec<String> = match kind {
        ExportKind::Likes => vec![
            "Pangkat Nama".into(),
            "Divisi / Satfung".into(),
            format!("{label} Jumlah Post"),
            format!("{label} Sudah Likes"),
            format!("{label} Belum Likes"),
        ],
        ExportKind::Comments => vec![
            "Pangkat Nama".into(),
            "Divisi / Satfung".into(),
            format!("{label} Jumlah Post"),
            format!("{label} Sudah Komentar"),
            format!("{label} Belum Komentar"),
        ],
        ExportKind::Amplify => vec![
            "Pangkat Nama".into(),
            "NRP".into(),
            "Divisi / Satfung".into(),
            format!("{label} Jumlah Post"),
            format!("{label} Jumlah Link"),
        ],
        ExportKind::Anev => vec![
            "Pangkat Nama".into(),
            "Divisi / Satfung".into(),
            format!("{label} Likes"),
            format!("{label} Komentar"),
            format!("{label} Total Aksi"),
            format!("{label} Target Aksi"),
            format!("{label} Completion Rate"),
        ],
    };
    let mut sheets: Vec<Sheet> = Vec::new();
    for r in rows {
        let s = |k: &str| r[k].as_str().unwrap_or_default().trim().to_owned();
        let client = {
            let n = s("client_name");
            if n.is_empty() { s("client_id") } else { n }
        };
        let name = sheet_name(&client);
        let pangkat_nama = format!("{} {}", s("title"), s("nama")).trim().to_owned();
        let divisi = s("divisi");
        let count = r["count"].as_u64().unwrap_or(0);
        let row = match kind {
            ExportKind::Likes | ExportKind::Comments => vec![
                Cell::Text(pangkat_nama),
                Cell::Text(divisi),
                Cell::Number(posts as f64),
                Cell::Number(count as f64),
                Cell::Number(posts.saturating_sub(count) as f64),
            ],
            ExportKind::Amplify => vec![
                Cell::Text(pangkat_nama),
                Cell::Text(s("user_id")),
                Cell::Text(divisi),
                Cell::Number(posts as f64),
                Cell::Number(count as f64),
            ],
            ExportKind::Anev => {
                let comments = r["comments"].as_u64().unwrap_or(0);
                vec![
                    Cell::Text(pangkat_nama),
                    Cell::Text(divisi),
                    Cell::Number(count as f64),
                    Cell::Number(comments as f64),
                    Cell::Number((count + comments) as f64),
                    Cell::Number(posts as f64),
                    Cell::Number(completion_rate(count + comments, posts)),
                ]
            }
        };
        match sheets.iter_mut().find(|(n, _)| *n == name) {
            Some((_, body)) => body.push(row),
            None => {
                let head = header.iter().cloned().map(Cell::Text).collect();
                sheets.push((name, vec![head, row]));
            }
        }
    }
    if sheets.is_empty() {
        sheets.push((
            "Rekap".into(),
            vec![header.into_iter().map(Cell::Text).collect()],
        ));
    }
    sheets
}

/// Writes the sheets as an xlsx file (header row bold).
pub fn write_xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for (name, rows) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(name)?;
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match (cell, r) {
                    (Cell::Text(t), 0) => ws.write_string_with_format(r, c, t, &bold)?,
                    (Cell::Text(t), _) => ws.write_string(r, c, t)?,
                    (Cell::Number(n), _) => ws.write_number(r, c, *n)?,
                };
            }
        }
        ws.autofit();
    }
    book.save_to_buffer()
}

pub async fn run(ctx: Arc<Ctx>, job: JobCtx, p: ExportRecap) -> Result<Value, JobError> {
    if p.end <= p.start {
        return Err(JobError::Permanent("end must be after start".into()));
    }
    let db = |e: sqlx::Error| JobError::Retryable(format!("database: {e}"));
    let rule = Rule {
        client_id: p.client_id.clone(),
        directorate: p.directorate,
        role_filter: p.role_filter.clone(),
        regional_id: p.regional_id.clone(),
        post_owner: p.post_owner.clone(),
    };
    let w = (p.start, p.end);
    job.progress(0.1, "reading the recap").await;
    let (sql, prefix) = match p.kind {
        ExportKind::Likes => (LIKES_SQL, "Rekap_Likes_Instagram"),
        ExportKind::Comments => (COMMENTS_SQL, "Rekap_Komentar_Tiktok"),
        ExportKind::Amplify => (LINKS_SQL, "Rekap_Amplifikasi"),
        ExportKind::Anev => (LIKES_SQL, "Rekap_Anev"),
    };
    let mut rows = rule_json(&ctx.pool, sql, &rule, &w).await.map_err(db)?;
    let counts = rule_json(&ctx.pool, COUNTS_SQL, &rule, &w)
        .await
        .map_err(db)?;
    let count = |k: &str| counts.first().and_then(|c| c[k].as_u64()).unwrap_or(0);
    let posts = match p.kind {
        ExportKind::Comments => count("ttPosts"),
        // ANEV: expected actions = Instagram + TikTok posts (legacy).
        ExportKind::Anev => count("igPosts") + count("ttPosts"),
        ExportKind::Likes | ExportKind::Amplify => count("igPosts"),
    };
    if p.kind == ExportKind::Anev {
        let comments = rule_json(&ctx.pool, COMMENTS_SQL, &rule, &w)
            .await
            .map_err(db)?;
        for r in &mut rows {
            let k = comments
                .iter()
                .find(|c| c["user_id"] == r["user_id"])
                .map(|c| c["count"].clone())
                .unwrap_or(json!(0));
            r["comments"] = k;
        }
    }
    job.progress(0.5, "writing the workbook").await;
    let sheets = layout(p.kind, &rows, posts, &period_label(p.start, p.end));
    let bytes = write_xlsx(&sheets)
        .map_err(|e| JobError::Permanent(format!("building the workbook: {e}")))?;
    let file_name = format!(
        "{prefix}_{}_{}.xlsx",
        p.client_id
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        file_stamp(Utc::now())
    );
    sqlx::query(
        "INSERT INTO cicero.job_files (job_id, file_name, content_type, content) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO UPDATE SET file_name = EXCLUDED.file_name, \
           content_type = EXCLUDED.content_type, content = EXCLUDED.content, created_at = now()",
    )
    .bind(job.id)
    .bind(&file_name)
    .bind(XLSX)
    .bind(&bytes)
    .execute(&ctx.pool)
    .await
    .map_err(db)?;
    job.progress(1.0, "done").await;
    Ok(json!({
        "file_name": file_name,
        "bytes": bytes.len(),
        "rows": rows.len(),
        "posts": posts,
        "sheets": sheets.len(),
        "file_url": format!("/api/exports/{}/file", job.id),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::jakarta;

    #[test]
    fn sheet_names_fit_excel() {
        assert_eq!(sheet_name("POLRES KEDIRI"), "POLRES KEDIRI");
        assert_eq!(sheet_name("A/B:C"), "A B C");
        assert_eq!(sheet_name(""), "Rekap");
        assert_eq!(sheet_name(&"X".repeat(40)).len(), 31);
    }

    #[test]
    fn labels() {
        let d = |day, h| jakarta(2026, 2, day, h, 0, 0).unwrap();
        assert_eq!(period_label(d(7, 0), d(8, 0)), "7-2-2026");
        assert_eq!(period_label(d(1, 0), d(8, 0)), "1-2-2026 s.d. 7-2-2026");
    }

    #[test]
    fn one_sheet_per_client_in_the_legacy_columns() {
        let rows = vec![
            json!({"title": "BRIPKA", "nama": "BUDI", "divisi": "SAT BINMAS", "user_id": "1", "client_name": "POLRES A", "count": 2}),
            json!({"title": null, "nama": "SITI", "divisi": "", "user_id": "2", "client_name": "POLRES B", "count": 0}),
            json!({"title": "AIPDA", "nama": "ANI", "divisi": "SAT", "user_id": "3", "client_name": "POLRES A", "count": 1}),
        ];
        let s = layout(ExportKind::Likes, &rows, 2, "7-2-2026");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, "POLRES A");
        assert_eq!(s[0].1[0][3], Cell::Text("7-2-2026 Sudah Likes".into()));
        assert_eq!(
            s[0].1[2],
            vec![
                Cell::Text("AIPDA ANI".into()),
                Cell::Text("SAT".into()),
                Cell::Number(2.0),
                Cell::Number(1.0),
                Cell::Number(1.0)
            ]
        );
        assert_eq!(s[1].1[1][0], Cell::Text("SITI".into()));
        let a = layout(ExportKind::Amplify, &rows[..1], 3, "x");
        assert_eq!(a[0].1[1][1], Cell::Text("1".into()));
        assert_eq!(a[0].1[1][4], Cell::Number(2.0));
        let anev = layout(
            ExportKind::Anev,
            &[json!({"nama": "BUDI", "client_name": "P", "count": 1, "comments": 1})],
            3,
            "x",
        );
        assert_eq!(
            anev[0].1[1][4..],
            [Cell::Number(2.0), Cell::Number(3.0), Cell::Number(0.6667)]
        );
        let empty = layout(ExportKind::Comments, &[], 0, "x");
        assert_eq!(empty[0].1.len(), 1, "header only");
        assert!(!write_xlsx(&s).unwrap().is_empty());
    }
}

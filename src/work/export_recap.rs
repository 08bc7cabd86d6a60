//! `export_recap`: the dashboard's workbooks (legacy §4(d) layouts) as a job, stored in
//! `cicero.job_files` for `GET /api/exports/{id}/file`. One handler for every `kind`: it reads
//! the scope the HTTP side resolved (members and posts, `scope_ctes!`), builds the sheets with
//! the pure layouts of the submodules, writes them ([`book::write`]) and stores the file under
//! the legacy file name. A retry rebuilds the file from the database and replaces it.
//!
//! Kinds: `likes`, `comments`, `amplify`, `anev` (per-person recaps, one sheet per client, this
//! file); `likes_per_content`, `comments_per_content` ([`per_content`]); `engagement_ranking`
//! ([`ranking`]); `link_report[_khusus]`, `link_report_detail[_khusus]` ([`link_report`]);
//! `instagram_all_data`, `tiktok_all_data` ([`all_data`]). A payload that does not fit its kind
//! ([`ExportRecap::check`]) fails the job at once.
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use cicero_jobs::export_recap::{ExportKind, ExportRecap};

use super::{Ctx, JobCtx, JobError};
use crate::{
    domain::time::{file_stamp, jakarta_day, jakarta_day_window},
    http::dashboard::{
        data::{
            COMMENTS_SQL, COUNTS_SQL, LIKES_SQL, LINKS_SQL, Rule, completion_rate, rule_json,
            rule_json_with,
        },
        exports::{
            COMMENTS_PER_CONTENT_SQL, IG_POST_IDS_SQL, LIKES_PER_CONTENT_SQL,
            LINK_REPORT_DETAIL_KHUSUS_SQL, LINK_REPORT_DETAIL_SQL, LINK_REPORT_KHUSUS_MONTH_SQL,
            LINK_REPORT_MONTH_SQL, TT_POST_IDS_SQL,
        },
    },
};

pub mod all_data;
pub mod book;
pub mod link_report;
pub mod per_content;
pub mod period;
pub mod ranking;

pub use book::{Cell, Sheet, sheet_name};

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The period label of the headers: one day `d-m-yyyy`, else `d-m-yyyy s.d. d-m-yyyy`.
pub fn period_label(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let (first, last) = period::window_days(start, end);
    let f = |d: chrono::NaiveDate| d.format("%-d-%-m-%Y").to_string();
    if first == last {
        f(first)
    } else {
        format!("{} s.d. {}", f(first), f(last))
    }
}

/// The per-person recap layouts (the first four kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recap {
    Likes,
    Comments,
    Amplify,
    Anev,
}

impl Recap {
    pub fn of(kind: ExportKind) -> Option<Recap> {
        match kind {
            ExportKind::Likes => Some(Recap::Likes),
            ExportKind::Comments => Some(Recap::Comments),
            ExportKind::Amplify => Some(Recap::Amplify),
            ExportKind::Anev => Some(Recap::Anev),
            _ => None,
        }
    }
}

/// Rows (as the recap queries return them: title, nama, divisi, user_id, client_name, count)
/// grouped into one sheet per client, in the legacy column layout of each kind.
pub fn layout(kind: Recap, rows: &[Value], posts: u64, label: &str) -> Vec<Sheet> {
    let header: Vec<String> = match kind {
        Recap::Likes => vec![
            "Pangkat Nama".into(),
            "Divisi / Satfung".into(),
            format!("{label} Jumlah Post"),
            format!("{label} Sudah Likes"),
            format!("{label} Belum Likes"),
        ],
        Recap::Comments => vec![
            "Pangkat Nama".into(),
            "Divisi / Satfung".into(),
            format!("{label} Jumlah Post"),
            format!("{label} Sudah Komentar"),
            format!("{label} Belum Komentar"),
        ],
        Recap::Amplify => vec![
            "Pangkat Nama".into(),
            "NRP".into(),
            "Divisi / Satfung".into(),
            format!("{label} Jumlah Post"),
            format!("{label} Jumlah Link"),
        ],
        Recap::Anev => vec![
            "Pangkat Nama".into(),
            "Divisi / Satfung".into(),
            format!("{label} Likes"),
            format!("{label} Komentar"),
            format!("{label} Total Aksi"),
            format!("{label} Target Aksi"),
            format!("{label} Completion Rate"),
        ],
    };
    let header: Vec<Cell> = header.into_iter().map(Cell::Text).collect();
    let mut sheets: Vec<Sheet> = Vec::new();
    for r in rows {
        let name = sheet_name(&per_content::client_of(r));
        let pangkat_nama = per_content::pangkat_nama(r);
        let divisi = r["divisi"].as_str().unwrap_or_default().trim().to_owned();
        let count = r["count"].as_u64().unwrap_or(0);
        let row = match kind {
            Recap::Likes | Recap::Comments => vec![
                Cell::Text(pangkat_nama),
                Cell::Text(divisi),
                Cell::int(posts),
                Cell::int(count),
                Cell::int(posts.saturating_sub(count)),
            ],
            Recap::Amplify => vec![
                Cell::Text(pangkat_nama),
                Cell::text(r["user_id"].as_str().unwrap_or_default().trim()),
                Cell::Text(divisi),
                Cell::int(posts),
                Cell::int(count),
            ],
            Recap::Anev => {
                let comments = r["comments"].as_u64().unwrap_or(0);
                vec![
                    Cell::Text(pangkat_nama),
                    Cell::Text(divisi),
                    Cell::int(count),
                    Cell::int(comments),
                    Cell::int(count + comments),
                    Cell::int(posts),
                    Cell::Number(completion_rate(count + comments, posts)),
                ]
            }
        };
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

/// What a kind built: the sheets, the legacy file name, and figures for the job's result.
struct Built {
    file_name: String,
    sheets: Vec<Sheet>,
    rows: usize,
    posts: u64,
}

fn rule_of(p: &ExportRecap) -> Rule {
    Rule {
        client_id: p.client_id.clone(),
        directorate: p.directorate,
        role_filter: p.role_filter.clone(),
        regional_id: p.regional_id.clone(),
        post_owner: p.post_owner.clone(),
    }
}

pub async fn run(ctx: Arc<Ctx>, job: JobCtx, p: ExportRecap) -> Result<Value, JobError> {
    p.check()?;
    let now = Utc::now();
    job.progress(0.05, "reading the data").await;
    let built = match p.kind {
        ExportKind::Likes | ExportKind::Comments | ExportKind::Amplify | ExportKind::Anev => {
            recap(&ctx, &p, now).await?
        }
        ExportKind::LikesPerContent | ExportKind::CommentsPerContent => {
            per_content_book(&ctx, &p, now).await?
        }
        ExportKind::EngagementRanking => ranking_book(&ctx, &p, now).await?,
        ExportKind::LinkReport | ExportKind::LinkReportKhusus => {
            link_report_month(&ctx, &p).await?
        }
        ExportKind::LinkReportDetail | ExportKind::LinkReportDetailKhusus => {
            link_report_detail(&ctx, &p).await?
        }
        ExportKind::InstagramAllData | ExportKind::TiktokAllData => {
            all_data_book(&ctx, &job, &p, now).await?
        }
    };
    job.progress(0.9, "writing the workbook").await;
    let bytes = book::write(&built.sheets)
        .map_err(|e| JobError::Permanent(format!("building the workbook: {e}")))?;
    sqlx::query(
        "INSERT INTO cicero.job_files (job_id, file_name, content_type, content) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO UPDATE SET file_name = EXCLUDED.file_name, \
           content_type = EXCLUDED.content_type, content = EXCLUDED.content, created_at = now()",
    )
    .bind(job.id)
    .bind(&built.file_name)
    .bind(XLSX)
    .bind(&bytes)
    .execute(&ctx.pool)
    .await?;
    job.progress(1.0, "done").await;
    Ok(json!({
        "kind": p.kind.name(),
        "file_name": built.file_name,
        "bytes": bytes.len(),
        "rows": built.rows,
        "posts": built.posts,
        "sheets": built.sheets.len(),
        "file_url": format!("/api/exports/{}/file", job.id),
    }))
}

async fn counts(
    ctx: &Ctx,
    rule: &Rule,
    w: &(DateTime<Utc>, DateTime<Utc>),
) -> Result<(u64, u64), JobError> {
    let counts = rule_json(&ctx.pool, COUNTS_SQL, rule, w).await?;
    let count = |k: &str| counts.first().and_then(|c| c[k].as_u64()).unwrap_or(0);
    Ok((count("igPosts"), count("ttPosts")))
}

async fn client_name(ctx: &Ctx, client_id: &str) -> Result<String, JobError> {
    let name: Option<String> = sqlx::query_scalar(
        "SELECT nama FROM clients WHERE lower(client_id) = lower($1) ORDER BY client_id LIMIT 1",
    )
    .bind(client_id)
    .fetch_optional(&ctx.pool)
    .await?;
    Ok(name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| client_id.to_owned()))
}

/// The per-person recaps (likes, comments, amplify, anev).
async fn recap(ctx: &Ctx, p: &ExportRecap, now: DateTime<Utc>) -> Result<Built, JobError> {
    let Some(kind) = Recap::of(p.kind) else {
        return Err(JobError::Permanent(format!(
            "{} is not a recap kind",
            p.kind.name()
        )));
    };
    let rule = rule_of(p);
    let w = (p.start, p.end);
    let (sql, prefix) = match kind {
        Recap::Likes => (LIKES_SQL, "Rekap_Likes_Instagram"),
        Recap::Comments => (COMMENTS_SQL, "Rekap_Komentar_Tiktok"),
        Recap::Amplify => (LINKS_SQL, "Rekap_Amplifikasi"),
        Recap::Anev => (LIKES_SQL, "Rekap_Anev"),
    };
    let mut rows = rule_json(&ctx.pool, sql, &rule, &w).await?;
    let (ig, tt) = counts(ctx, &rule, &w).await?;
    let posts = match kind {
        Recap::Comments => tt,
        // ANEV: expected actions = Instagram + TikTok posts (legacy).
        Recap::Anev => ig + tt,
        Recap::Likes | Recap::Amplify => ig,
    };
    if kind == Recap::Anev {
        let comments = rule_json(&ctx.pool, COMMENTS_SQL, &rule, &w).await?;
        for r in &mut rows {
            let k = comments
                .iter()
                .find(|c| c["user_id"] == r["user_id"])
                .map(|c| c["count"].clone())
                .unwrap_or(json!(0));
            r["comments"] = k;
        }
    }
    let sheets = layout(kind, &rows, posts, &period_label(p.start, p.end));
    Ok(Built {
        file_name: format!(
            "{prefix}_{}_{}.xlsx",
            p.client_id
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            file_stamp(now)
        ),
        sheets,
        rows: rows.len(),
        posts,
    })
}

/// Likes or comments per content.
async fn per_content_book(
    ctx: &Ctx,
    p: &ExportRecap,
    now: DateTime<Utc>,
) -> Result<Built, JobError> {
    let rule = rule_of(p);
    let w = (p.start, p.end);
    let (ids_sql, rows_sql, prefix) = if p.kind == ExportKind::CommentsPerContent {
        (
            TT_POST_IDS_SQL,
            COMMENTS_PER_CONTENT_SQL,
            "Rekap_Komentar_Per_Konten_Tiktok",
        )
    } else {
        (
            IG_POST_IDS_SQL,
            LIKES_PER_CONTENT_SQL,
            "Rekap_Likes_Per_Konten_Instagram",
        )
    };
    let posts: Vec<String> = rule_json(&ctx.pool, ids_sql, &rule, &w)
        .await?
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if posts.len() > per_content::MAX_POSTS {
        return Err(JobError::Permanent(format!(
            "{} posts in the period: more than the {} columns a sheet can hold; choose a shorter period",
            posts.len(),
            per_content::MAX_POSTS
        )));
    }
    let rows = rule_json(&ctx.pool, rows_sql, &rule, &w).await?;
    Ok(Built {
        file_name: per_content::file_name(prefix, &p.client_id, now),
        sheets: per_content::layout(&rows, &posts),
        rows: rows.len(),
        posts: posts.len() as u64,
    })
}

/// The engagement ranking of the period's posts.
async fn ranking_book(ctx: &Ctx, p: &ExportRecap, now: DateTime<Utc>) -> Result<Built, JobError> {
    let Some(period) = p.period else {
        return Err(JobError::Permanent(
            "payload.period: required for kind engagement_ranking".into(),
        ));
    };
    let rule = rule_of(p);
    let w = (p.start, p.end);
    let likes = rule_json(&ctx.pool, LIKES_SQL, &rule, &w).await?;
    let comments = rule_json(&ctx.pool, COMMENTS_SQL, &rule, &w).await?;
    let (ig, tt) = counts(ctx, &rule, &w).await?;
    let name = client_name(ctx, &p.client_id).await?;
    let satkers = ranking::tally(
        (&p.client_id, &name),
        &likes,
        &comments,
        ig as usize,
        tt as usize,
    );
    let (first, last) = period::window_days(p.start, p.end);
    let (line, file_label) = period::ranking_labels(period, first, last);
    let titles = ranking::Titles {
        client_name: name.clone(),
        period_line: line,
        taken_at: ranking::taken_at(now),
        ig_posts: ig as usize,
        tt_posts: tt as usize,
    };
    Ok(Built {
        file_name: ranking::file_name(&name, &file_label, now),
        sheets: vec![ranking::layout(&titles, &satkers)],
        rows: satkers.len(),
        posts: ig + tt,
    })
}

/// The month's link reports (`start` names the month).
async fn link_report_month(ctx: &Ctx, p: &ExportRecap) -> Result<Built, JobError> {
    let sql = if p.kind == ExportKind::LinkReportKhusus {
        LINK_REPORT_KHUSUS_MONTH_SQL
    } else {
        LINK_REPORT_MONTH_SQL
    };
    let rows = rule_json(&ctx.pool, sql, &rule_of(p), &(p.start, p.end)).await?;
    Ok(Built {
        file_name: link_report::monthly_file_name(&p.client_id, jakarta_day(p.start)),
        sheets: vec![link_report::monthly(&rows)],
        rows: rows.len(),
        posts: 0,
    })
}

/// One person's report for one post.
async fn link_report_detail(ctx: &Ctx, p: &ExportRecap) -> Result<Built, JobError> {
    let (Some(user_id), Some(shortcode)) = (p.user_id.as_deref(), p.shortcode.as_deref()) else {
        return Err(JobError::Permanent(
            "payload.user_id and payload.shortcode: required for the link-report detail".into(),
        ));
    };
    let khusus = p.kind == ExportKind::LinkReportDetailKhusus;
    let sql = if khusus {
        LINK_REPORT_DETAIL_KHUSUS_SQL
    } else {
        LINK_REPORT_DETAIL_SQL
    };
    let rows = rule_json_with(
        &ctx.pool,
        sql,
        &rule_of(p),
        &(p.start, p.end),
        &[user_id.trim(), shortcode.trim()],
    )
    .await?;
    if rows.is_empty() {
        return Err(JobError::Permanent(
            "Data pelaksanaan tugas tidak ditemukan untuk user_id + shortcode tersebut.".into(),
        ));
    }
    Ok(Built {
        file_name: link_report::detail_file_name(khusus, user_id.trim(), shortcode.trim()),
        sheets: vec![link_report::detail(&rows)],
        rows: rows.len(),
        posts: 1,
    })
}

/// Monthly sums per Polres, one recap query per month of the window.
async fn all_data_book(
    ctx: &Ctx,
    job: &JobCtx,
    p: &ExportRecap,
    now: DateTime<Utc>,
) -> Result<Built, JobError> {
    let (platform, sql) = if p.kind == ExportKind::TiktokAllData {
        (all_data::Platform::TikTok, COMMENTS_SQL)
    } else {
        (all_data::Platform::Instagram, LIKES_SQL)
    };
    let rule = rule_of(p);
    let (first, last) = period::window_days(p.start, p.end);
    let months = period::months_between(first, last);
    let mut per_month = Vec::with_capacity(months.len());
    for (i, m) in months.iter().enumerate() {
        let next = m
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(*m + Duration::days(31));
        let (Some((s, _)), Some((e, _))) = (jakarta_day_window(*m), jakarta_day_window(next))
        else {
            return Err(JobError::Permanent(format!("month {m} out of range")));
        };
        // Clamp to the payload's window, so a window inside a month stays inside it.
        let w = (s.max(p.start), e.min(p.end));
        per_month.push(rule_json(&ctx.pool, sql, &rule, &w).await?);
        job.progress(
            0.05 + 0.8 * (i + 1) as f64 / months.len() as f64,
            &format!("month {} of {}", i + 1, months.len()),
        )
        .await;
    }
    let Some(lines) = all_data::tally(&per_month) else {
        return Err(JobError::Permanent(platform.no_data().into()));
    };
    let name = client_name(ctx, &p.client_id).await?;
    Ok(Built {
        file_name: all_data::file_name(platform, &name, now),
        sheets: vec![all_data::layout(platform, &name, &months, &lines)],
        rows: lines.len(),
        posts: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::jakarta;

    #[test]
    fn labels() {
        let d = |day, h| jakarta(2026, 2, day, h, 0, 0).unwrap();
        assert_eq!(period_label(d(7, 0), d(8, 0)), "7-2-2026");
        assert_eq!(period_label(d(1, 0), d(8, 0)), "1-2-2026 s.d. 7-2-2026");
    }

    #[test]
    fn recap_kinds() {
        for k in ExportKind::ALL {
            let recap = matches!(
                k,
                ExportKind::Likes | ExportKind::Comments | ExportKind::Amplify | ExportKind::Anev
            );
            assert_eq!(Recap::of(*k).is_some(), recap, "{k:?}");
        }
    }

    #[test]
    fn one_sheet_per_client_in_the_legacy_columns() {
        let rows = vec![
            json!({"title": "BRIPKA", "nama": "BUDI", "divisi": "SAT BINMAS", "user_id": "1", "client_name": "POLRES A", "count": 2}),
            json!({"title": null, "nama": "SITI", "divisi": "", "user_id": "2", "client_name": "POLRES B", "count": 0}),
            json!({"title": "AIPDA", "nama": "ANI", "divisi": "SAT", "user_id": "3", "client_name": "POLRES A", "count": 1}),
        ];
        let s = layout(Recap::Likes, &rows, 2, "7-2-2026");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "POLRES A");
        assert_eq!(s[0].rows[0][3], Cell::Text("7-2-2026 Sudah Likes".into()));
        assert_eq!(
            s[0].rows[2],
            vec![
                Cell::Text("AIPDA ANI".into()),
                Cell::Text("SAT".into()),
                Cell::Number(2.0),
                Cell::Number(1.0),
                Cell::Number(1.0)
            ]
        );
        assert_eq!(s[1].rows[1][0], Cell::Text("SITI".into()));
        let a = layout(Recap::Amplify, &rows[..1], 3, "x");
        assert_eq!(a[0].rows[1][1], Cell::Text("1".into()));
        assert_eq!(a[0].rows[1][4], Cell::Number(2.0));
        let anev = layout(
            Recap::Anev,
            &[json!({"nama": "BUDI", "client_name": "P", "count": 1, "comments": 1})],
            3,
            "x",
        );
        assert_eq!(
            anev[0].rows[1][4..],
            [Cell::Number(2.0), Cell::Number(3.0), Cell::Number(0.6667)]
        );
        let empty = layout(Recap::Comments, &[], 0, "x");
        assert_eq!(empty[0].rows.len(), 1, "header only");
        assert!(!book::write(&s).unwrap().is_empty());
    }
}

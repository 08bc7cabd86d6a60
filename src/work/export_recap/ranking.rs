//! The engagement ranking workbook (legacy `engagementRankingExcelService`, §4(d)): one row per
//! satker with its personnel and, for Instagram and TikTok, how many did something (SUDAH =
//! lengkap + kurang), nothing (BELUM) or have no username (USERNAME KOSONG); the asking client
//! first, then the most engaged. Sheet `Ranking Engagement`, five title rows, a two-row header
//! with merged group cells, and a TOTAL row.
use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Asia::Jakarta;
use serde_json::Value;

use super::book::{Cell, Sheet};
use crate::domain::attendance::{Status, Threshold, classify};

/// One satker's line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Satker {
    pub client_id: String,
    /// Upper case, as the row shows it.
    pub name: String,
    pub personnel: u64,
    pub ig_sudah: u64,
    pub ig_belum: u64,
    pub ig_kosong: u64,
    pub tt_sudah: u64,
    pub tt_belum: u64,
    pub tt_kosong: u64,
    /// Likes and comments given (posts engaged with, summed over the personnel): the ranking.
    pub ig_count: u64,
    pub tt_count: u64,
}

impl Satker {
    fn pct(&self, sudah: u64) -> f64 {
        if self.personnel == 0 {
            0.0
        } else {
            sudah as f64 / self.personnel as f64
        }
    }
    fn score(&self) -> f64 {
        (self.pct(self.ig_sudah) + self.pct(self.tt_sudah)) / 2.0
    }
}

fn has_handle(row: &Value) -> bool {
    crate::domain::recap_report::has_username(&row["username"])
}

fn satker<'a>(list: &'a mut Vec<Satker>, row: &Value) -> &'a mut Satker {
    let s = |k: &str| row[k].as_str().unwrap_or_default().trim().to_owned();
    let id = s("client_id").to_uppercase();
    let pos = match list
        .iter()
        .position(|x| x.client_id.eq_ignore_ascii_case(&id))
    {
        Some(p) => p,
        None => {
            let name = s("client_name");
            list.push(Satker {
                name: if name.is_empty() { id.clone() } else { name }.to_uppercase(),
                client_id: id,
                ..Satker::default()
            });
            list.len() - 1
        }
    };
    &mut list[pos]
}

/// Groups the members' likes and comments rows (as the recap queries return them:
/// `client_id, client_name, username, exception, count`, one per active member) by satker and
/// ranks them. The asking client (`primary`) always has a row and comes first. Like legacy,
/// an exception member counts as SUDAH on TikTok (the Instagram fetcher already adds their
/// likes), and with no post of a platform everyone with a username is BELUM there.
pub fn tally(
    primary: (&str, &str),
    likes: &[Value],
    comments: &[Value],
    ig_posts: usize,
    tt_posts: usize,
) -> Vec<Satker> {
    let (primary_id, primary_name) = primary;
    let mut list = vec![Satker {
        client_id: primary_id.to_uppercase(),
        name: primary_name.trim().to_uppercase(),
        ..Satker::default()
    }];
    for r in likes {
        let count = r["count"].as_u64().unwrap_or(0);
        let s = satker(&mut list, r);
        s.personnel += 1;
        s.ig_count += count;
        match classify(has_handle(r), count as usize, ig_posts, Threshold::AllPosts) {
            Status::Complete | Status::Partial => s.ig_sudah += 1,
            Status::None => s.ig_belum += 1,
            Status::NoHandle => s.ig_kosong += 1,
        }
    }
    for r in comments {
        let count = r["count"].as_u64().unwrap_or(0);
        let s = satker(&mut list, r);
        s.tt_count += count;
        if r["exception"].as_bool() == Some(true) {
            s.tt_sudah += 1;
            continue;
        }
        match classify(has_handle(r), count as usize, tt_posts, Threshold::AllPosts) {
            Status::Complete | Status::Partial => s.tt_sudah += 1,
            Status::None => s.tt_belum += 1,
            Status::NoHandle => s.tt_kosong += 1,
        }
    }
    let primary_id = primary_id.to_uppercase();
    list.sort_by(|a, b| {
        let first = |s: &Satker| s.client_id != primary_id;
        first(a)
            .cmp(&first(b))
            .then((b.ig_count + b.tt_count).cmp(&(a.ig_count + a.tt_count)))
            .then(b.ig_count.cmp(&a.ig_count))
            .then(b.tt_count.cmp(&a.tt_count))
            .then(b.score().total_cmp(&a.score()))
            .then(b.pct(b.ig_sudah).total_cmp(&a.pct(a.ig_sudah)))
            .then(b.pct(b.tt_sudah).total_cmp(&a.pct(a.tt_sudah)))
            .then(b.personnel.cmp(&a.personnel))
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    list
}

/// What the title rows say besides the satker table.
#[derive(Debug, Clone, PartialEq)]
pub struct Titles {
    pub client_name: String,
    /// The period line (`Hari, Tanggal: …`, `Minggu ke-…`, `Bulan: …`).
    pub period_line: String,
    /// `HH.MM`, Jakarta.
    pub taken_at: String,
    pub ig_posts: usize,
    pub tt_posts: usize,
}

/// `HH.MM` in Jakarta ("Jam Pengambilan Data").
pub fn taken_at(now: DateTime<Utc>) -> String {
    let t = now.with_timezone(&Jakarta);
    format!("{:02}.{:02}", t.hour(), t.minute())
}

/// The `Ranking Engagement` sheet.
pub fn layout(t: &Titles, satkers: &[Satker]) -> Sheet {
    let text = |s: &str| Cell::text(s);
    let mut rows = vec![
        vec![Cell::Text(format!(
            "Rekap Ranking Engagement {}",
            t.client_name.trim().to_uppercase()
        ))],
        vec![Cell::Text(t.period_line.clone())],
        vec![Cell::Text(format!("Jam Pengambilan Data: {}", t.taken_at))],
        vec![Cell::Text(format!("Jumlah Post Instagram: {}", t.ig_posts))],
        vec![Cell::Text(format!("Jumlah Post TikTok: {}", t.tt_posts))],
        vec![],
        vec![
            text("NAMA SATKER"),
            text("JUMLAH PERSONIL"),
            text("INSTAGRAM"),
            Cell::Empty,
            Cell::Empty,
            text("TIKTOK"),
            Cell::Empty,
            Cell::Empty,
        ],
        vec![
            Cell::Empty,
            Cell::Empty,
            text("SUDAH"),
            text("BELUM"),
            text("USERNAME KOSONG"),
            text("SUDAH"),
            text("BELUM"),
            text("USERNAME KOSONG"),
        ],
    ];
    let numbers = |s: &Satker| {
        [
            s.personnel,
            s.ig_sudah,
            s.ig_belum,
            s.ig_kosong,
            s.tt_sudah,
            s.tt_belum,
            s.tt_kosong,
        ]
    };
    let mut total = [0u64; 7];
    for (i, s) in satkers.iter().enumerate() {
        let n = numbers(s);
        for (t, v) in total.iter_mut().zip(n) {
            *t += v;
        }
        let mut row = vec![Cell::Text(format!("{}. {}", i + 1, s.name))];
        row.extend(n.into_iter().map(Cell::int));
        rows.push(row);
    }
    let mut row = vec![text("TOTAL")];
    row.extend(total.into_iter().map(Cell::int));
    rows.push(row);
    Sheet {
        name: "Ranking Engagement".into(),
        rows,
        bold_rows: vec![0, 1, 2, 3, 4, 6, 7],
        merges: vec![
            (0, 0, 0, 7),
            (1, 0, 1, 7),
            (2, 0, 2, 7),
            (3, 0, 3, 7),
            (4, 0, 4, 7),
            (6, 0, 7, 0),
            (6, 1, 7, 1),
            (6, 2, 6, 4),
            (6, 5, 6, 7),
        ],
        number_format: None,
    }
}

/// Legacy `sanitizeFilename`: runs of anything but letters, digits, `_`, `.`, `-` become `_`,
/// with no `_` at either end.
pub fn slug(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || "_.-".contains(c) {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// `<client>_Rekap_Ranking_Engagement_<period>_<yyyy-mm-dd>_<hhmm>.xlsx` (Jakarta date and time).
pub fn file_name(client_name: &str, period_label: &str, now: DateTime<Utc>) -> String {
    let t = now.with_timezone(&Jakarta);
    let client = match slug(client_name) {
        s if s.is_empty() => "Direktorat".to_owned(),
        s => s,
    };
    format!(
        "{client}_Rekap_Ranking_Engagement_{}_{}_{:02}{:02}.xlsx",
        slug(period_label),
        t.format("%Y-%m-%d"),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(client: &str, name: &str, handle: Option<&str>, count: u64, exc: bool) -> Value {
        json!({"client_id": client, "client_name": name, "username": handle, "count": count,
               "exception": exc})
    }

    #[test]
    fn satkers_are_counted_and_ranked() {
        // Two posts on each platform.
        let likes = vec![
            member("KEDIRI", "Polres Kediri", Some("a"), 2, false), // lengkap
            member("KEDIRI", "Polres Kediri", Some("b"), 1, false), // kurang
            member("KEDIRI", "Polres Kediri", None, 0, false),      // kosong
            member("BLITAR", "Polres Blitar", Some("c"), 0, false), // belum
            member("DITBINMAS", "Direktorat Binmas", Some("@"), 0, false), // kosong
        ];
        let comments = vec![
            member("KEDIRI", "Polres Kediri", Some("a"), 1, false), // kurang
            member("KEDIRI", "Polres Kediri", None, 0, true),       // exception: sudah
            member("KEDIRI", "Polres Kediri", Some(" "), 0, false), // kosong
            member("BLITAR", "Polres Blitar", Some("c"), 2, false), // lengkap
            member("DITBINMAS", "Direktorat Binmas", Some("d"), 0, false), // belum
        ];
        let got = tally(("ditbinmas", "Direktorat Binmas"), &likes, &comments, 2, 2);
        fn row(s: &Satker) -> (&str, [u64; 7]) {
            (
                s.name.as_str(),
                [
                    s.personnel,
                    s.ig_sudah,
                    s.ig_belum,
                    s.ig_kosong,
                    s.tt_sudah,
                    s.tt_belum,
                    s.tt_kosong,
                ],
            )
        }
        let want = [
            ("DIREKTORAT BINMAS", [1, 0, 0, 1, 0, 1, 0]),
            // KEDIRI: 3 likes + 1 comment = 4 > BLITAR: 0 + 2.
            ("POLRES KEDIRI", [3, 2, 0, 1, 2, 0, 1]),
            ("POLRES BLITAR", [1, 0, 1, 0, 1, 0, 0]),
        ];
        assert_eq!(got.iter().map(row).collect::<Vec<_>>(), want);
        // No posts at all: everyone with a handle is belum, the primary row stays.
        let none = tally(("X", "Dir X"), &likes[3..4], &[], 0, 0);
        assert_eq!(row(&none[1]), ("POLRES BLITAR", [1, 0, 1, 0, 0, 0, 0]));
        assert_eq!(row(&none[0]), ("DIR X", [0; 7]));
    }

    #[test]
    fn ties_fall_back_to_rates_then_size_then_name() {
        // No engagement anywhere; TikTok exceptions give some satkers a rate.
        // (satker, members, TikTok exceptions among them)
        let satkers = [
            ("E", 4, 0),
            ("D", 2, 0),
            ("C", 4, 0),
            ("B", 4, 1),
            ("A", 2, 1),
        ];
        let (mut likes, mut comments) = (Vec::new(), Vec::new());
        for (id, n, exceptions) in satkers {
            for i in 0..n {
                likes.push(member(id, id, Some("h"), 0, false));
                comments.push(member(id, id, Some("h"), 0, i < exceptions));
            }
        }
        let got = tally(("P", "P"), &likes, &comments, 1, 1);
        let names: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
        // A (score 0.25) > B (0.125) > the zero rates: more personnel first (C, E), then D.
        assert_eq!(names, ["P", "A", "B", "C", "E", "D"]);
    }

    #[test]
    fn the_sheet_has_titles_a_two_row_header_and_a_total() {
        let satkers = vec![
            Satker {
                client_id: "D".into(),
                name: "DIT".into(),
                personnel: 2,
                ig_sudah: 1,
                ig_kosong: 1,
                tt_belum: 2,
                ..Satker::default()
            },
            Satker {
                client_id: "K".into(),
                name: "POLRES K".into(),
                personnel: 3,
                ig_sudah: 3,
                tt_sudah: 2,
                tt_kosong: 1,
                ..Satker::default()
            },
        ];
        let t = Titles {
            client_name: "Dit Binmas".into(),
            period_line: "Bulan: Februari 2026".into(),
            taken_at: "09.05".into(),
            ig_posts: 4,
            tt_posts: 1,
        };
        let sheet = layout(&t, &satkers);
        assert_eq!(sheet.name, "Ranking Engagement");
        let txt = |c: &Cell| match c {
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let rows: Vec<Vec<String>> = sheet
            .rows
            .iter()
            .map(|r| r.iter().map(txt).collect())
            .collect();
        let want: Vec<Vec<&str>> = vec![
            vec!["Rekap Ranking Engagement DIT BINMAS"],
            vec!["Bulan: Februari 2026"],
            vec!["Jam Pengambilan Data: 09.05"],
            vec!["Jumlah Post Instagram: 4"],
            vec!["Jumlah Post TikTok: 1"],
            vec![],
            vec![
                "NAMA SATKER",
                "JUMLAH PERSONIL",
                "INSTAGRAM",
                "",
                "",
                "TIKTOK",
                "",
                "",
            ],
            vec![
                "",
                "",
                "SUDAH",
                "BELUM",
                "USERNAME KOSONG",
                "SUDAH",
                "BELUM",
                "USERNAME KOSONG",
            ],
            vec!["1. DIT", "2", "1", "0", "1", "0", "2", "0"],
            vec!["2. POLRES K", "3", "3", "0", "0", "2", "0", "1"],
            vec!["TOTAL", "5", "4", "0", "1", "2", "2", "1"],
        ];
        assert_eq!(rows, want);
        assert!(sheet.merges.contains(&(6, 0, 7, 0)));
        assert!(sheet.merges.contains(&(6, 2, 6, 4)));
        assert!(!super::super::book::write(&[sheet]).unwrap().is_empty());
    }

    #[test]
    fn legacy_file_names() {
        let at = crate::domain::time::jakarta(2026, 2, 7, 9, 5, 0).unwrap();
        let cases = [
            (
                "DIREKTORAT BINMAS",
                "Tanggal_2026-02-07",
                "DIREKTORAT_BINMAS_Rekap_Ranking_Engagement_Tanggal_2026-02-07_2026-02-07_0905.xlsx",
            ),
            (
                " Dit/Lantas ",
                "Bulan_2026-01",
                "Dit_Lantas_Rekap_Ranking_Engagement_Bulan_2026-01_2026-02-07_0905.xlsx",
            ),
            (
                "",
                "Minggu_6_2026-02-02_2026-02-08",
                "Direktorat_Rekap_Ranking_Engagement_Minggu_6_2026-02-02_2026-02-08_2026-02-07_0905.xlsx",
            ),
        ];
        for (client, label, want) in cases {
            assert_eq!(file_name(client, label, at), want);
        }
        assert_eq!(taken_at(at), "09.05");
    }
}

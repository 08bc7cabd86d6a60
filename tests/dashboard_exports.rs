//! The legacy workbooks of §4(d) as `export_recap` kinds, against real PostgreSQL and Redis:
//! each export runs on an in-process worker, the file is downloaded through the dashboard
//! routes and re-read with calamine, cell by cell.
mod common;

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use common::{
    TestDb,
    dashboard::{DashApp, Options, PASSWORD},
};
use serde_json::{Value, json};

use cicero::domain::time::{jakarta_day, jakarta_day_window};

/// The dashboard app and a worker on `exports`.
struct Env {
    app: DashApp,
    worker: Option<common::Running>,
}

impl std::ops::Deref for Env {
    type Target = DashApp;
    fn deref(&self) -> &DashApp {
        &self.app
    }
}

/// A fresh database with the seed below, the dashboard API, and a worker on `exports`.
async fn env() -> Env {
    let opts = Options {
        allow_duplicates: true,
        tiers: &["tier1"],
        ..Options::default()
    };
    let app = DashApp::new(opts, |_, state| state).await;
    seed(&app.db).await;
    let worker = Some(app.db.worker(&["exports"], &[]));
    Env { app, worker }
}

impl Env {
    async fn call(&self, method: &str, uri: &str, token: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.app.call(method, uri, Some(token), None, &[]).await;
        (s, b)
    }

    /// `POST /api/exports?<query>` → the job id (202).
    async fn start(&self, query: &str, token: &str) -> i64 {
        let (s, b) = self
            .call("POST", &format!("/api/exports?{query}"), token)
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{query}: {b}");
        b["job_id"].as_i64().expect("job_id")
    }

    /// Waits for the export to finish and downloads it: (file name, bytes).
    async fn finished(&self, id: i64, token: &str) -> (String, Vec<u8>) {
        self.db.wait_state(id, "done", 60).await;
        let (s, b) = self.call("GET", &format!("/api/exports/{id}"), token).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(b["data"]["progress"]["fraction"], 1.0, "{b}");
        let (s, h, bytes) = self
            .download(&format!("/api/exports/{id}/file"), token)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            h["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        (file_name(&h), bytes)
    }

    /// Runs one export through `POST /api/exports`: (file name, bytes).
    async fn export(&self, query: &str, token: &str) -> (String, Vec<u8>) {
        let id = self.start(query, token).await;
        self.finished(id, token).await
    }

    async fn done(mut self) {
        if let Some(w) = self.worker.take() {
            w.stop().await;
        }
        self.app.done().await;
    }
}

/// The plain `filename="…"` of a Content-Disposition.
fn file_name(h: &HeaderMap) -> String {
    let cd = h["content-disposition"].to_str().unwrap();
    let rest = cd.split("filename=\"").nth(1).expect("filename");
    rest.split('"').next().unwrap().to_owned()
}

/// The cells of one sheet as text: whole numbers without a fraction, dates `YYYY-MM-DD`,
/// date-times `YYYY-MM-DD HH:MM:SS`.
fn sheet_cells(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let mut wb: Xlsx<_> =
        open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx file");
    let range = wb.worksheet_range(sheet).expect("the sheet");
    assert_eq!(range.start(), Some((0, 0)), "{sheet} starts at A1");
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Float(f) => format!("{f}"),
                    Data::Int(i) => i.to_string(),
                    Data::Empty => String::new(),
                    Data::DateTime(d) => {
                        let (y, mo, day, h, mi, sec, _) = d.to_ymd_hms_milli();
                        if (h, mi, sec) == (0, 0, 0) {
                            format!("{y:04}-{mo:02}-{day:02}")
                        } else {
                            format!("{y:04}-{mo:02}-{day:02} {h:02}:{mi:02}:{sec:02}")
                        }
                    }
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

fn sheet_names(bytes: &[u8]) -> Vec<String> {
    use calamine::{Reader, Xlsx, open_workbook_from_rs};
    let wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    wb.sheet_names()
}

/// The merged ranges of a sheet as (first row, first col, last row, last col).
fn merges(bytes: &[u8], sheet: &str) -> Vec<(u32, u32, u32, u32)> {
    use calamine::{Xlsx, open_workbook_from_rs};
    let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut m: Vec<_> = wb
        .merge_cells_by_sheet_name(sheet)
        .unwrap()
        .into_iter()
        .map(|d| (d.start.0, d.start.1, d.end.0, d.end.1))
        .collect();
    m.sort();
    m
}

fn rows(want: &[&[&str]]) -> Vec<Vec<String>> {
    want.iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const DAYS: [&str; 7] = [
    "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
];

fn today() -> NaiveDate {
    jakarta_day(Utc::now())
}

/// Today's Jakarta window and two instants in it.
fn times() -> (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>) {
    let (start, _) = jakarta_day_window(today()).unwrap();
    (
        start,
        start + Duration::hours(2),
        start + Duration::hours(3),
    )
}

/// Clients KEDIRI, BLITAR (org), DITBINMAS (directorate) and MALANG (no data). Personnel with
/// the operator and ditbinmas roles; today's Instagram posts and likes, TikTok videos and
/// comments; link reports this month (and one 40 days old); a special post and its report.
async fn seed(db: &TestDb) {
    let hash = bcrypt::hash_with_result(PASSWORD, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoA);
    let (start, t1, t2) = times();
    let script = r#"
        INSERT INTO roles (role_name) VALUES ('admin');
        INSERT INTO clients (client_id, nama, client_type, client_insta, client_tiktok, regional_id)
        VALUES ('KEDIRI', 'POLRES KEDIRI', 'org', 'polreskediri', 'polreskediri', 'JATIM'),
               ('BLITAR', 'POLRES BLITAR', 'org', 'polresblitar', NULL, 'JATIM'),
               ('DITBINMAS', 'DIREKTORAT BINMAS', 'direktorat', 'ditbinmas', NULL, 'JATIM'),
               ('MALANG', 'POLRES MALANG', 'org', 'polresmalang', NULL, 'JATIM');
        INSERT INTO "user" (user_id, nama, title, divisi, insta, tiktok, client_id, status, exception)
        VALUES ('75020001', 'BUDI', 'BRIPKA', 'SAT BINMAS', 'budi_ig', 'budi_tt', 'KEDIRI', true, false),
               ('75020002', 'SITI', 'BRIPTU', 'SAT LANTAS', '@Siti_IG', NULL, 'KEDIRI', true, false),
               ('75020003', 'ANI', 'AIPDA', 'SAT BINMAS', NULL, 'ani_tt', 'KEDIRI', true, false),
               ('75020004', 'WATI', 'BRIGADIR', 'SAT INTELKAM', 'wati_ig', NULL, 'KEDIRI', true, false),
               ('75020005', 'TONO', 'BRIPDA', 'SAT BINMAS', 'tono_ig', NULL, 'KEDIRI', false, false),
               ('75020009', 'JOKO', 'BRIPDA', 'SAT SAMAPTA', 'joko_ig', 'joko_tt', 'BLITAR', true, false),
               ('75020010', 'EKO', 'BRIPTU', 'SAT RESKRIM', NULL, 'eko_tt', 'BLITAR', true, false),
               ('75020020', 'RINA', 'IPDA', 'SUBDIT BINPOLMAS', 'rina_ig', NULL, 'DITBINMAS', true, true),
               ('75020030', 'DEDI', 'BRIPKA', 'SAT BINMAS', 'dedi_ig', NULL, 'MALANG', true, false);
        INSERT INTO user_roles (user_id, role_id)
        SELECT u, role_id FROM roles,
               unnest(ARRAY['75020001','75020002','75020003','75020005','75020009','75020030']) u
        WHERE role_name = 'operator';
        INSERT INTO user_roles (user_id, role_id)
        SELECT u, role_id FROM roles,
               unnest(ARRAY['75020001','75020002','75020004','75020009','75020010','75020020']) u
        WHERE role_name = 'ditbinmas';
    "#;
    sqlx::raw_sql(script).execute(&db.pool).await.expect("seed");
    for (name, role, client) in [
        ("op_kediri", "operator", "KEDIRI"),
        ("op_blitar", "operator", "BLITAR"),
        ("lantas_blitar", "ditlantas", "BLITAR"),
        ("binmas", "ditbinmas", "DITBINMAS"),
        ("admin", "admin", "KEDIRI"),
    ] {
        let id: String = sqlx::query_scalar(
            "INSERT INTO dashboard_user (username, password_hash, role_id, status) \
             SELECT $1, $2, role_id, true FROM roles WHERE role_name = $3 \
             RETURNING dashboard_user_id::text",
        )
        .bind(name)
        .bind(&hash)
        .bind(role)
        .fetch_one(&db.pool)
        .await
        .expect("dashboard user");
        sqlx::query("INSERT INTO dashboard_user_clients VALUES ($1::uuid, $2)")
            .bind(&id)
            .bind(client)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    for (sc, client, at, likes) in [
        ("P1", "KEDIRI", t1, json!(["budi_ig", "siti_ig", "tono_ig"])),
        ("P2", "KEDIRI", t2, json!(["budi_ig"])),
        ("B1", "BLITAR", t1, json!(["joko_ig"])),
        (
            "D1",
            "DITBINMAS",
            t1,
            json!(["budi_ig", "joko_ig", "rina_ig"]),
        ),
        ("D2", "DITBINMAS", t2, json!(["joko_ig"])),
        (
            "OLD",
            "KEDIRI",
            start - Duration::days(40),
            json!(["wati_ig"]),
        ),
    ] {
        sqlx::query(
            "INSERT INTO insta_post (shortcode, client_id, caption, created_at) \
             VALUES ($1, $2, 'caption ' || $1, $3)",
        )
        .bind(sc)
        .bind(client)
        .bind(at)
        .execute(&db.pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO insta_like (shortcode, likes) VALUES ($1, $2)")
            .bind(sc)
            .bind(likes)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    for (vid, client, at, comments) in [
        ("T1", "KEDIRI", t1, json!(["@Budi_TT", "@other"])),
        ("T2", "KEDIRI", t2, json!(["ani_tt"])),
        ("DT1", "DITBINMAS", t1, json!(["@joko_tt"])),
    ] {
        sqlx::query(
            "INSERT INTO tiktok_post (video_id, client_id, caption, created_at) \
             VALUES ($1, $2, 'video', $3)",
        )
        .bind(vid)
        .bind(client)
        .bind(at)
        .execute(&db.pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO tiktok_comment (video_id, comments) VALUES ($1, $2)")
            .bind(vid)
            .bind(comments)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    sqlx::raw_sql("INSERT INTO insta_post_roles (shortcode, role_name) VALUES ('P1', 'ditbinmas')")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO insta_post_khusus (shortcode, client_id, caption, created_at) \
         VALUES ('K1', 'KEDIRI', 'khusus', $1)",
    )
    .bind(t1)
    .execute(&db.pool)
    .await
    .unwrap();
    for (table, sc, user, links, at) in [
        (
            "link_report",
            "P1",
            "75020001",
            ["https://instagram.com/p/x", "https://fb.com/1", "", "", ""],
            t1,
        ),
        (
            "link_report",
            "P2",
            "75020002",
            ["", "", "https://x.com/2", "", "https://youtu.be/3"],
            t2,
        ),
        (
            "link_report",
            "B1",
            "75020009",
            ["https://instagram.com/p/b", "", "", "", ""],
            t1,
        ),
        (
            "link_report",
            "OLD",
            "75020003",
            ["https://instagram.com/p/old", "", "", "", ""],
            start - Duration::days(40),
        ),
        (
            "link_report_khusus",
            "K1",
            "75020002",
            [
                "https://instagram.com/p/y",
                "",
                "",
                "https://tiktok.com/v/1",
                "",
            ],
            t1,
        ),
    ] {
        let sql = format!(
            "INSERT INTO {table} (shortcode, user_id, instagram_link, facebook_link, twitter_link, \
             tiktok_link, youtube_link, created_at) \
             VALUES ($1, $2, nullif($3, ''), nullif($4, ''), nullif($5, ''), nullif($6, ''), \
                     nullif($7, ''), $8)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(sc)
            .bind(user)
            .bind(links[0])
            .bind(links[1])
            .bind(links[2])
            .bind(links[3])
            .bind(links[4])
            .bind(at)
            .execute(&db.pool)
            .await
            .unwrap();
    }
}

/// `d-m-yyyy` and the day name of today (the per-content file names).
fn legacy_day() -> (String, &'static str) {
    let d = today();
    (
        format!("{}-{}-{}", d.day(), d.month(), d.year()),
        DAYS[d.weekday().num_days_from_monday() as usize],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_content_workbooks_have_one_column_per_post() {
    let e = env().await;
    let op = e.login("op_kediri").await;
    let (date, hari) = legacy_day();

    // An operator: the client's operator-role people; today's posts of the client, oldest first.
    let q = "kind=likes_per_content&client_id=KEDIRI&role=operator&scope=ORG&periode=harian";
    let (name, bytes) = e.export(q, &op).await;
    assert!(
        name.starts_with(&format!(
            "Rekap_Likes_Per_Konten_Instagram_Kediri_{hari}_{date}_"
        )),
        "{name}"
    );
    assert_eq!(sheet_names(&bytes), ["POLRES KEDIRI"]);
    assert_eq!(
        sheet_cells(&bytes, "POLRES KEDIRI"),
        rows(&[
            &["Pangkat Nama", "Satfung", "P1", "P2"],
            &["AIPDA ANI", "SAT BINMAS", "0", "0"],
            &["BRIPKA BUDI", "SAT BINMAS", "1", "1"],
            &["BRIPTU SITI", "SAT LANTAS", "1", "0"],
        ])
    );

    let q = "kind=comments_per_content&client_id=KEDIRI&role=operator&scope=ORG";
    let (name, bytes) = e.export(q, &op).await;
    assert!(
        name.starts_with(&format!(
            "Rekap_Komentar_Per_Konten_Tiktok_Kediri_{hari}_{date}_"
        )),
        "{name}"
    );
    assert_eq!(
        sheet_cells(&bytes, "POLRES KEDIRI"),
        rows(&[
            &["Pangkat Nama", "Satfung", "T1", "T2"],
            &["AIPDA ANI", "SAT BINMAS", "0", "1"],
            &["BRIPKA BUDI", "SAT BINMAS", "1", "0"],
            &["BRIPTU SITI", "SAT LANTAS", "0", "0"],
        ])
    );

    // A directorate: its role holders, one sheet per Polres; its posts plus the tagged P1
    // (D1 and P1 share a time: then by shortcode).
    let binmas = e.login("binmas").await;
    let q = "kind=likes_per_content&client_id=DITBINMAS&role=ditbinmas&scope=org";
    let (name, bytes) = e.export(q, &binmas).await;
    assert!(
        name.starts_with("Rekap_Likes_Per_Konten_Instagram_Ditbinmas_"),
        "{name}"
    );
    assert_eq!(
        sheet_names(&bytes),
        ["POLRES KEDIRI", "POLRES BLITAR", "DIREKTORAT BINMAS"]
    );
    let header = ["Pangkat Nama", "Satfung", "D1", "P1", "D2"];
    let cases: [(&str, Vec<Vec<String>>); 3] = [
        (
            "POLRES KEDIRI",
            rows(&[
                &header,
                &["BRIPKA BUDI", "SAT BINMAS", "1", "1", "0"],
                &["BRIPTU SITI", "SAT LANTAS", "0", "1", "0"],
                &["BRIGADIR WATI", "SAT INTELKAM", "0", "0", "0"],
            ]),
        ),
        (
            "POLRES BLITAR",
            rows(&[
                &header,
                &["BRIPTU EKO", "SAT RESKRIM", "0", "0", "0"],
                &["BRIPDA JOKO", "SAT SAMAPTA", "1", "0", "1"],
            ]),
        ),
        (
            "DIREKTORAT BINMAS",
            rows(&[&header, &["IPDA RINA", "SUBDIT BINPOLMAS", "1", "0", "0"]]),
        ),
    ];
    for (sheet, want) in cases {
        assert_eq!(sheet_cells(&bytes, sheet), want, "{sheet}");
    }
    e.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engagement_ranking_ranks_the_satkers_under_a_merged_header() {
    let e = env().await;
    let binmas = e.login("binmas").await;
    let before = Utc::now();
    let q = "kind=engagement_ranking&period=today&client_id=DITBINMAS&role=ditbinmas&scope=org";
    let (name, bytes) = e.export(q, &binmas).await;
    let d = today();
    let key = d.format("%Y-%m-%d").to_string();
    assert!(
        name.starts_with(&format!(
            "DIREKTORAT_BINMAS_Rekap_Ranking_Engagement_Tanggal_{key}_{key}_"
        )),
        "{name}"
    );
    assert_eq!(sheet_names(&bytes), ["Ranking Engagement"]);
    let cells = sheet_cells(&bytes, "Ranking Engagement");
    // "Jam Pengambilan Data: HH.MM", Jakarta, taken while the job ran.
    let taken = cells[2][0].clone();
    let hhmm = |t: DateTime<Utc>| {
        t.with_timezone(&chrono_tz::Asia::Jakarta)
            .format("%H.%M")
            .to_string()
    };
    let (lo, hi) = (hhmm(before), hhmm(Utc::now()));
    let at = taken
        .strip_prefix("Jam Pengambilan Data: ")
        .expect("taken-at line");
    assert!(lo.as_str() <= at && at <= hi.as_str() || lo > hi, "{taken}");
    let period = format!(
        "Hari, Tanggal: {}, {:02} {} {}",
        DAYS[d.weekday().num_days_from_monday() as usize],
        d.day(),
        MONTHS[d.month0() as usize],
        d.year()
    );
    let blank = ["", "", "", "", "", "", ""];
    let title = |t: &str| {
        let mut r = vec![t.to_string()];
        r.extend(blank.iter().map(|s| s.to_string()));
        r
    };
    let mut want = vec![
        title("Rekap Ranking Engagement DIREKTORAT BINMAS"),
        title(&period),
        title(&taken),
        // IG: D1, D2 and the tagged P1; TikTok: DT1.
        title("Jumlah Post Instagram: 3"),
        title("Jumlah Post TikTok: 1"),
        vec![String::new(); 8],
    ];
    want.extend(rows(&[
        &[
            "NAMA SATKER",
            "JUMLAH PERSONIL",
            "INSTAGRAM",
            "",
            "",
            "TIKTOK",
            "",
            "",
        ],
        &[
            "",
            "",
            "SUDAH",
            "BELUM",
            "USERNAME KOSONG",
            "SUDAH",
            "BELUM",
            "USERNAME KOSONG",
        ],
        // The asking directorate first; RINA's exception counts as TikTok SUDAH.
        &["1. DIREKTORAT BINMAS", "1", "1", "0", "0", "1", "0", "0"],
        // KEDIRI (3 likes, 0 comments) and BLITAR (2 + 1) tie on engagement: more likes first.
        // KEDIRI: BUDI 2/3 and SITI 1/3 sudah, WATI belum; TikTok: BUDI belum, two without.
        &["2. POLRES KEDIRI", "3", "2", "1", "0", "0", "1", "2"],
        &["3. POLRES BLITAR", "2", "1", "0", "1", "1", "1", "0"],
        &["TOTAL", "6", "4", "1", "1", "2", "2", "2"],
    ]));
    assert_eq!(cells, want);
    assert_eq!(
        merges(&bytes, "Ranking Engagement"),
        [
            (0, 0, 0, 7),
            (1, 0, 1, 7),
            (2, 0, 2, 7),
            (3, 0, 3, 7),
            (4, 0, 4, 7),
            (6, 0, 7, 0),
            (6, 1, 7, 1),
            (6, 2, 6, 4),
            (6, 5, 6, 7),
        ]
    );

    // Last month: no posts, everyone with a username is BELUM.
    let q = "kind=engagement_ranking&period=LAST_MONTH&client_id=DITBINMAS&role=ditbinmas";
    let (name, bytes) = e.export(q, &binmas).await;
    let last = d.with_day(1).unwrap() - Duration::days(1);
    assert!(
        name.contains(&format!(
            "_Rekap_Ranking_Engagement_Bulan_{}_",
            last.format("%Y-%m")
        )),
        "{name}"
    );
    let cells = sheet_cells(&bytes, "Ranking Engagement");
    assert_eq!(
        cells[1][0],
        format!("Bulan: {} {}", MONTHS[last.month0() as usize], last.year())
    );
    assert_eq!(cells[3][0], "Jumlah Post Instagram: 0");
    assert_eq!(
        cells.last().unwrap(),
        &rows(&[&["TOTAL", "6", "0", "5", "1", "1", "3", "2"]])[0]
    );

    let (s, b) = e
        .call(
            "POST",
            "/api/exports?kind=engagement_ranking&period=fortnight&client_id=DITBINMAS",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b["message"].as_str().unwrap().contains("last_month"), "{b}");
    e.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_report_workbooks_monthly_and_per_person() {
    let e = env().await;
    let admin = e.login("admin").await;
    let d = today();
    let day = d.format("%Y-%m-%d").to_string();
    let month = MONTHS[d.month0() as usize];

    // The dashboard's synchronous GET: this month's reports on the client's posts.
    let (s, h, bytes) = e
        .download("/api/link-reports/excel?client_id=KEDIRI", &admin)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(file_name(&h), format!("KEDIRI_{month}.xlsx"));
    assert_eq!(sheet_names(&bytes), ["Sheet1"]);
    assert_eq!(
        sheet_cells(&bytes, "Sheet1"),
        rows(&[
            &[
                "Date",
                "Pangkat Nama",
                "NRP",
                "Satfung",
                "Link Instagram",
                "Link Facebook",
                "Link Twitter",
                "Link Tiktok",
                "Link Youtube",
            ],
            &[
                &day,
                "BRIPKA BUDI",
                "75020001",
                "SAT BINMAS",
                "https://instagram.com/p/x",
                "https://fb.com/1",
                "",
                "",
                "",
            ],
            &[
                &day,
                "BRIPTU SITI",
                "75020002",
                "SAT LANTAS",
                "",
                "",
                "https://x.com/2",
                "",
                "https://youtu.be/3",
            ],
        ])
    );
    // Operators: not on the legacy allow-list for this route; another client: 403.
    let op = e.login("op_kediri").await;
    let (s, _, _) = e
        .download("/api/link-reports/excel?client_id=KEDIRI", &op)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let lantas = e.login("lantas_blitar").await;
    let (s, _, _) = e
        .download("/api/link-reports/excel?client_id=KEDIRI", &lantas)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The khusus month through POST /api/exports (an operator may: the route is ours).
    let (name, bytes) = e
        .export("kind=link_report_khusus&client_id=KEDIRI", &op)
        .await;
    assert_eq!(name, format!("KEDIRI_{month}.xlsx"));
    assert_eq!(
        sheet_cells(&bytes, "Sheet1")[1..],
        rows(&[&[
            &day,
            "BRIPTU SITI",
            "75020002",
            "SAT LANTAS",
            "https://instagram.com/p/y",
            "",
            "",
            "https://tiktok.com/v/1",
            "",
        ]])
    );

    // One person's report for one post (operators allowed within their client).
    let (s, h, bytes) = e
        .download(
            "/api/link-reports/excel/by-user-shortcode?user_id=75020001&shortcode=P1&client_id=KEDIRI",
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(file_name(&h), "link_report_75020001_P1.xlsx");
    let header: &[&str] = &[
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
    let at = format!("{day} 02:00:00");
    assert_eq!(
        sheet_cells(&bytes, "Sheet1"),
        rows(&[
            header,
            &[
                "1",
                "75020001",
                "BRIPKA BUDI",
                "@budi_ig",
                "SAT BINMAS",
                "KEDIRI",
                "P1",
                "https://www.instagram.com/p/P1/",
                "https://instagram.com/p/x",
                "https://fb.com/1",
                "",
                "",
                "",
                &at,
                "caption P1",
            ],
        ])
    );
    // Instagram shortcodes are case-sensitive: `k1` is another post.
    let (s, _, _) = e
        .download(
            "/api/link-reports-khusus/excel/by-user-shortcode?user_id=75020002&shortcode=k1&client_id=KEDIRI",
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, h, bytes) = e
        .download(
            "/api/link-reports-khusus/excel/by-user-shortcode?user_id=75020002&shortcode=K1&client_id=KEDIRI",
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(file_name(&h), "link_report_khusus_75020002_K1.xlsx");
    let cells = sheet_cells(&bytes, "Sheet1");
    assert_eq!(cells.len(), 2);
    assert_eq!(
        cells[1][..8],
        [
            "1",
            "75020002",
            "BRIPTU SITI",
            "@Siti_IG",
            "SAT LANTAS",
            "KEDIRI",
            "K1",
            "https://www.instagram.com/p/K1/"
        ]
    );
    assert_eq!(cells[1][14], "khusus");

    // Another client's person or post: nothing within the caller's scope.
    let blitar = e.login("op_blitar").await;
    let cases = [
        (
            "/api/link-reports/excel/by-user-shortcode?user_id=75020001&shortcode=P1&client_id=BLITAR",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/link-reports/excel/by-user-shortcode?user_id=75020001&shortcode=P1&client_id=KEDIRI",
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/link-reports/excel/by-user-shortcode?user_id=75020009&client_id=BLITAR",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (uri, want) in cases {
        let (s, _, _) = e.download(uri, &blitar).await;
        assert_eq!(s, want, "{uri}");
    }
    let (s, _, bytes) = e
        .download(
            "/api/link-reports/excel/by-user-shortcode?user_id=75020009&shortcode=B1&client_id=BLITAR",
            &blitar,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sheet_cells(&bytes, "Sheet1")[1][2], "BRIPDA JOKO");
    e.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_data_workbooks_sum_each_month_since_september() {
    let e = env().await;
    let binmas = e.login("binmas").await;
    let d = today();
    let first_year = if d.month() >= 9 {
        d.year()
    } else {
        d.year() - 1
    };
    let mut months = Vec::new();
    let mut m = NaiveDate::from_ymd_opt(first_year, 9, 1).unwrap();
    while m <= d {
        months.push(format!("{} {}", MONTHS[m.month0() as usize], m.year()));
        m = m.checked_add_months(chrono::Months::new(1)).unwrap();
    }
    let n = months.len();
    // A table row: the name, zeros for the past months, today's count in this month, total.
    let line = |name: &str, count: u64| {
        let mut r = vec![name.to_string()];
        r.extend(std::iter::repeat_n("0".to_string(), n - 1));
        r.push(count.to_string());
        r.push(count.to_string());
        r
    };
    let padded = |t: String| {
        let mut r = vec![t];
        r.extend(std::iter::repeat_n(String::new(), n + 1));
        r
    };
    let header = {
        let mut r = vec!["Polres".to_string()];
        r.extend(months.iter().cloned());
        r.push("Total".into());
        r
    };
    let period = format!("Periode: {} - {}", months[0], months[n - 1]);

    let (name, bytes) = e
        .export(
            "kind=instagram_all_data&client_id=DITBINMAS&role=ditbinmas",
            &binmas,
        )
        .await;
    assert!(
        name.starts_with("DIREKTORAT_BINMAS_Rekap_Instagram_All_Data_"),
        "{name}"
    );
    assert_eq!(sheet_names(&bytes), ["Instagram All Data"]);
    assert_eq!(
        sheet_cells(&bytes, "Instagram All Data"),
        vec![
            padded("Rekap Instagram All Data – DIREKTORAT BINMAS".into()),
            padded(period.clone()),
            header.clone(),
            // BUDI 2 + SITI 1; JOKO 2; RINA 1 (WATI and EKO 0).
            line("POLRES KEDIRI", 3),
            line("POLRES BLITAR", 2),
            line("DIREKTORAT BINMAS", 1),
            line("TOTAL", 6),
        ]
    );
    let last = (n + 1) as u32;
    assert_eq!(
        merges(&bytes, "Instagram All Data"),
        [(0, 0, 0, last), (1, 0, 1, last)]
    );

    let op = e.login("op_kediri").await;
    let (name, bytes) = e.export("kind=tiktok_all_data&client_id=KEDIRI", &op).await;
    assert!(
        name.starts_with("POLRES_KEDIRI_Rekap_TikTok_All_Data_"),
        "{name}"
    );
    let cells = sheet_cells(&bytes, "TikTok All Data");
    assert_eq!(cells[0][0], "Rekap TikTok All Data – POLRES KEDIRI");
    // BUDI (T1) + ANI (T2) among KEDIRI's operators.
    assert_eq!(cells[3..], [line("POLRES KEDIRI", 2), line("TOTAL", 2)]);

    // Nothing but zeros: the legacy failure, as the job's error.
    let admin = e.login("admin").await;
    let id = e
        .start("kind=instagram_all_data&client_id=MALANG", &admin)
        .await;
    e.db.wait_state(id, "failed", 60).await;
    let (s, b) = e.call("GET", &format!("/api/exports/{id}"), &admin).await;
    assert_eq!(s, StatusCode::OK);
    let err = b["data"]["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("Tidak ada data likes Instagram untuk rentang bulan yang dipilih."),
        "{b}"
    );
    assert_eq!(b["data"]["file_url"], Value::Null);
    e.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_payloads_fail_clearly_and_the_worker_keeps_serving() {
    let e = env().await;
    let op = e.login("op_kediri").await;
    let base = json!({"client_id": "KEDIRI", "post_owner": "KEDIRI",
        "start": "2026-02-06T17:00:00Z", "end": "2026-02-07T17:00:00Z"});
    let with = |extra: Value| {
        let mut p = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    // (payload, the start of the error the job API answers with)
    let cases = [
        (
            with(json!({"kind": "pdf"})),
            "payload.kind: unknown variant `pdf`",
        ),
        (
            with(json!({"kind": "engagement_ranking"})),
            "payload.period: required for kind engagement_ranking",
        ),
        (
            with(json!({"kind": "link_report_detail", "user_id": "75020001"})),
            "payload.shortcode: required for kind link_report_detail",
        ),
        (
            with(json!({"kind": "likes", "period": "today"})),
            "payload.period: only for kind engagement_ranking",
        ),
    ];
    for (payload, msg) in &cases {
        // The job API refuses them at the door …
        let body = json!({"kind": "export_recap", "payload": payload}).to_string();
        let (s, _, b) = common::call(&e.app.app, "POST", "/api/jobs", Some(body), true).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{payload}: {b}");
        let m = b["message"].as_str().unwrap_or_default();
        assert!(m.starts_with(msg), "{payload}: {m}");
    }
    // … and a row that got in anyway (an older version, a hand-made insert) fails at once
    // with the same words, without stopping the worker.
    let mut bad = Vec::new();
    for (payload, msg) in &cases {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cicero.jobs (queue, kind, payload, max_attempts) \
             VALUES ('exports', 'export_recap', $1, 3) RETURNING id",
        )
        .bind(payload)
        .fetch_one(&e.db.pool)
        .await
        .unwrap();
        bad.push((id, *msg));
    }
    for (id, msg) in bad {
        e.db.wait_state(id, "failed", 60).await;
        let (attempts, err): (i32, Option<String>) =
            sqlx::query_as("SELECT attempt, last_error FROM cicero.jobs WHERE id = $1")
                .bind(id)
                .fetch_one(&e.db.pool)
                .await
                .unwrap();
        let err = err.unwrap_or_default();
        assert_eq!(attempts, 1, "permanent: {err}");
        assert!(err.contains(msg), "{err}");
    }
    let (s, b) = e
        .call(
            "POST",
            "/api/exports?kind=per_content&client_id=KEDIRI",
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b["message"].as_str().unwrap().contains("likes_per_content"),
        "{b}"
    );
    let (name, _) = e
        .export("kind=likes_per_content&client_id=KEDIRI", &op)
        .await;
    assert!(name.starts_with("Rekap_Likes_Per_Konten_Instagram_Kediri_"));

    // Tenant isolation: another client's export cannot be started, seen or downloaded.
    let id = e
        .start("kind=comments_per_content&client_id=KEDIRI", &op)
        .await;
    e.db.wait_state(id, "done", 60).await;
    let blitar = e.login("op_blitar").await;
    for kind in [
        "likes_per_content",
        "comments_per_content",
        "engagement_ranking",
        "link_report",
        "instagram_all_data",
        "tiktok_all_data",
    ] {
        let (s, _) = e
            .call(
                "POST",
                &format!("/api/exports?kind={kind}&client_id=KEDIRI"),
                &blitar,
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{kind}");
    }
    let (s, _) = e.call("GET", &format!("/api/exports/{id}"), &blitar).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = e
        .download(&format!("/api/exports/{id}/file"), &blitar)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    e.done().await;
}

#[test]
fn openapi_describes_the_export_routes_and_every_kind() {
    use cicero_jobs::export_recap::{ExportKind, RankingPeriod};
    let doc: Value = serde_json::from_str(cicero::http::OPENAPI).unwrap();
    for path in [
        "/api/link-reports/excel",
        "/api/link-reports/excel/by-user-shortcode",
        "/api/link-reports-khusus/excel/by-user-shortcode",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "openapi.json lacks get {path}"
        );
    }
    let kinds: Vec<&str> = ExportKind::ALL.iter().map(|k| k.name()).collect();
    let periods: Vec<&str> = RankingPeriod::ALL.iter().map(|p| p.name()).collect();
    let schema = &doc["components"]["schemas"]["ExportRecapPayload"]["properties"];
    assert_eq!(schema["kind"]["enum"], json!(kinds));
    assert_eq!(schema["period"]["enum"], json!(periods));
    let params = doc["paths"]["/api/exports"]["post"]["parameters"]
        .as_array()
        .unwrap();
    let param = |n: &str| params.iter().find(|p| p["name"] == n).unwrap().clone();
    assert_eq!(param("kind")["schema"]["enum"], json!(kinds));
    assert_eq!(param("period")["schema"]["enum"], json!(periods));
}

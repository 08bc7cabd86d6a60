//! Recap texts and the task broadcast, character for character as legacy
//! §4c gives them. Times are Asia/Jakarta.
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc, Weekday};
use chrono_tz::Asia::Jakarta;

use crate::domain::attendance::{
    ClientInfo, DivisionGroup, OrgReport, Score, SimpleReport, UnitSummary, sum_units,
};
use crate::domain::username::{Platform, normalize_handle};

/// `hariIndo`: the Indonesian day name.
pub fn day_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Sun => "Minggu",
        Weekday::Mon => "Senin",
        Weekday::Tue => "Selasa",
        Weekday::Wed => "Rabu",
        Weekday::Thu => "Kamis",
        Weekday::Fri => "Jumat",
        Weekday::Sat => "Sabtu",
    }
}

/// Indonesian month names, January first.
pub const MONTHS: [&str; 12] = [
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

/// The Indonesian name of `d`'s month.
pub fn month_name(d: NaiveDate) -> &'static str {
    MONTHS[d.month0() as usize]
}

/// The `{hari}`, `{tanggal}` and `{jam}` of a recap, in Jakarta time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecapClock {
    /// Day name, e.g. `Sabtu`.
    pub hari: &'static str,
    /// id-ID short date, e.g. `7/2/2026`.
    pub tanggal: String,
    /// id-ID 24-hour time, e.g. `23.32.08`.
    pub jam: String,
}

impl RecapClock {
    /// The clock of instant `at` in Asia/Jakarta.
    pub fn at(at: DateTime<Utc>) -> Self {
        let t = at.with_timezone(&Jakarta);
        RecapClock {
            hari: day_name(t.weekday()),
            tanggal: format!("{}/{}/{}", t.day(), t.month(), t.year()),
            jam: format!("{:02}.{:02}.{:02}", t.hour(), t.minute(), t.second()),
        }
    }
}

/// `HH:MM` in Jakarta (task broadcast upload times and window).
pub fn hh_mm(at: DateTime<Utc>) -> String {
    let t = at.with_timezone(&Jakarta);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// Link to a post on the client's official account.
pub fn post_link(platform: Platform, client_tiktok: Option<&str>, id: &str) -> String {
    match platform {
        Platform::Instagram => format!("https://www.instagram.com/p/{id}"),
        Platform::TikTok => match client_tiktok.and_then(normalize_handle) {
            Some(u) => format!("https://www.tiktok.com/@{u}/video/{id}"),
            None => format!("https://www.tiktok.com/video/{id}"),
        },
    }
}

/// Which blocks an org recap shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecapMode {
    /// Everything (`all`).
    All,
    /// Without the ❌ blocks (`sudah`).
    Done,
    /// Without the ✅ and ⚠️ blocks (`belum`).
    NotDone,
}

fn title_name(title: &str, nama: &str) -> String {
    let t = title.trim();
    if t.is_empty() {
        nama.to_string()
    } else {
        format!("{t} {nama}")
    }
}

fn person_line(platform: Platform, s: &Score<'_>, posts: usize) -> String {
    let handle = match (&s.handle, platform) {
        (Some(h), _) => format!("@{h}"),
        (None, Platform::Instagram) => "-".to_string(),
        (None, Platform::TikTok) => "belum mengisi data tiktok".to_string(),
    };
    format!(
        "- {} : {} ({}/{} konten)",
        title_name(&s.member.title, &s.member.nama),
        handle,
        s.count,
        posts
    )
}

fn division_block(
    platform: Platform,
    d: &DivisionGroup<'_>,
    posts: usize,
    mode: RecapMode,
) -> Option<String> {
    let show_done = mode != RecapMode::NotDone;
    let show_none = mode != RecapMode::Done;
    let mut out = vec![format!("*{}* ({} user):", d.name, d.len())];
    let mut any = false;
    let mut block = |head: String, list: &[Score<'_>]| {
        any |= !list.is_empty();
        out.push(head);
        out.extend(list.iter().map(|s| person_line(platform, s, posts)));
    };
    if show_done {
        block(
            format!("✅ Lengkap ({} user):", d.complete.len()),
            &d.complete,
        );
        block(format!("⚠️ Kurang ({} user):", d.partial.len()), &d.partial);
    }
    if show_none {
        block(format!("❌ Belum ({} user):", d.none.len()), &d.none);
    }
    (any || mode == RecapMode::All).then(|| out.join("\n"))
}

/// The org/operator recap (`absensiLikes` org mode, `absensiKomentar`
/// operator). `post_ids` are today's posts in created_at order; `failed`
/// lists TikTok posts whose comments could not be fetched.
pub fn org_recap(
    platform: Platform,
    client: &ClientInfo,
    post_ids: &[String],
    report: &OrgReport<'_>,
    mode: RecapMode,
    at: DateTime<Utc>,
    failed: &[String],
) -> String {
    if post_ids.is_empty() {
        return no_content(platform, &client.nama);
    }
    let c = RecapClock::at(at);
    let n = post_ids.len();
    let (heading, name_line) = match platform {
        Platform::Instagram => (
            "📋 *Rekap Akumulasi Likes Instagram*",
            format!("*Polres*: *{}*", client.nama),
        ),
        Platform::TikTok => (
            "📋 *Rekap Akumulasi Komentar TikTok*",
            format!("*{}*", client.nama),
        ),
    };
    let links: Vec<String> = post_ids
        .iter()
        .map(|id| post_link(platform, client.tiktok.as_deref(), id))
        .collect();
    let (l, k, b) = (report.complete(), report.partial(), report.none());
    let mut s = format!(
        "Mohon ijin Komandan,\n\n{heading}\n{name_line}\n{}, {}\nJam: {}\n\n\
         *Jumlah Konten:* {n}\n*Daftar Link Konten:*\n{}\n\n\
         *Jumlah user:* {} user\n\
         ✅ *Melaksanakan lengkap* : *{l} user*\n\
         ⚠️ *Melaksanakan kurang lengkap* : *{k} user*\n\
         ❌ *Belum melaksanakan* : *{b} user*\n\n",
        c.hari,
        c.tanggal,
        c.jam,
        links.join("\n"),
        report.total(),
    );
    let mut second = Vec::new();
    if mode != RecapMode::NotDone {
        second.push(format!("✅ *Melaksanakan lengkap* ({l} user)"));
        second.push(format!("⚠️ *Melaksanakan kurang lengkap* ({k} user)"));
    }
    if mode != RecapMode::Done {
        second.push(format!("❌ *Belum melaksanakan* ({b} user)"));
    }
    s.push_str(&second.join("\n"));
    let blocks: Vec<String> = report
        .divisions
        .iter()
        .filter_map(|d| division_block(platform, d, n, mode))
        .collect();
    if !blocks.is_empty() {
        s.push_str("\n\n");
        s.push_str(&blocks.join("\n\n"));
    }
    if platform == Platform::TikTok && !failed.is_empty() {
        s.push_str("\n\n⚠️ Data komentar gagal diambil untuk konten: ");
        s.push_str(&failed.join(", "));
    }
    s.push_str("\n\nTerimakasih.");
    s
}

/// The message sent instead of a recap when there is no post today.
pub fn no_content(platform: Platform, nama: &str) -> String {
    let account = match platform {
        Platform::Instagram => "Instagram",
        Platform::TikTok => "TikTok",
    };
    format!("Tidak ada konten pada akun Official {account}  *{nama}* hari ini.")
}

/// The direktorat likes recap, per Polres entries numbered `1.`, `2.` …
/// (`units` already ordered by [`crate::domain::attendance::directorate_report`]).
pub fn directorate_likes_recap(
    directorate_nama: &str,
    post_ids: &[String],
    units: &[UnitSummary],
    at: DateTime<Utc>,
) -> String {
    directorate_recap(
        Platform::Instagram,
        directorate_nama,
        None,
        post_ids,
        units,
        at,
    )
}

/// The direktorat comments recap (TikTok). The legacy doc gives no layout for it; this is the
/// likes layout with the TikTok words (`Komentar TikTok`, `Username TikTok`) and TikTok links
/// (see docs/domain.md). `units` ordered with [`crate::domain::attendance::UnitOrder::Comments`].
pub fn directorate_comments_recap(
    directorate_nama: &str,
    client_tiktok: Option<&str>,
    post_ids: &[String],
    units: &[UnitSummary],
    at: DateTime<Utc>,
) -> String {
    directorate_recap(
        Platform::TikTok,
        directorate_nama,
        client_tiktok,
        post_ids,
        units,
        at,
    )
}

fn directorate_recap(
    platform: Platform,
    directorate_nama: &str,
    client_tiktok: Option<&str>,
    post_ids: &[String],
    units: &[UnitSummary],
    at: DateTime<Utc>,
) -> String {
    if post_ids.is_empty() {
        return no_content(platform, directorate_nama);
    }
    let (heading, account) = match platform {
        Platform::Instagram => ("Likes Instagram", "Instagram"),
        Platform::TikTok => ("Komentar TikTok", "TikTok"),
    };
    let c = RecapClock::at(at);
    let t = sum_units(units);
    let links: Vec<String> = post_ids
        .iter()
        .map(|id| post_link(platform, client_tiktok, id))
        .collect();
    let mut s = format!(
        "Mohon ijin Komandan,\n\n📋 Rekap Akumulasi {heading}\n*{directorate_nama}\n{}*, {}\nJam: {}\n\n\
         *Jumlah Konten :* {}\n*Daftar Link Konten :*\n{}\n\n\
         *Jumlah Total Personil :* {} pers\n\
         ✅ *Sudah melaksanakan :* {} pers\n\
         - ✅ Melaksanakan lengkap : {} pers\n\
         - ⚠️ Melaksanakan kurang lengkap : {} pers\n\
         ❌ *Belum melaksanakan :* {} pers\n\
         ⚠️❌ *Belum Update Username {account} :* {} pers",
        c.hari,
        c.tanggal,
        c.jam,
        post_ids.len(),
        links.join("\n"),
        t.total,
        t.complete + t.partial,
        t.complete,
        t.partial,
        t.none + t.no_handle,
        t.no_handle,
    );
    for (i, u) in units.iter().enumerate() {
        s.push_str(&format!(
            "\n\n{}. {}\n*Jumlah Personil :* {} pers\n*Sudah Melaksanakan :* {} pers\n\
             - Melaksanakan lengkap : {} pers\n- Melaksanakan kurang lengkap : {} pers\n\
             *Belum melaksanakan :* {} pers\n*Belum Update Username {account} :* {} pers",
            i + 1,
            u.nama,
            u.total,
            u.complete + u.partial,
            u.complete,
            u.partial,
            u.none + u.no_handle,
            u.no_handle,
        ));
    }
    s
}

/// The sections of the "simple" reports (likes menu 6, comments menu 9):
/// each heading followed by `- TITLE NAMA` lines, sections separated by a
/// blank line. The doc elides the middle headings; see docs/domain.md.
pub fn simple_sections(platform: Platform, r: &SimpleReport<'_>) -> String {
    let no_handle = match platform {
        Platform::Instagram => "Belum Update Username Instagram",
        Platform::TikTok => "Belum Input Username TikTok",
    };
    let section = |head: String, list: &[Score<'_>]| {
        let mut lines = vec![head];
        lines.extend(
            list.iter()
                .map(|s| format!("- {}", title_name(&s.member.title, &s.member.nama))),
        );
        lines.join("\n")
    };
    [
        section(
            format!("✅ *Melaksanakan Lengkap ({} pers):*", r.complete.len()),
            &r.complete,
        ),
        section(
            format!(
                "⚠️ *Melaksanakan Kurang Lengkap ({} pers):*",
                r.partial.len()
            ),
            &r.partial,
        ),
        section(
            format!("❌ *Belum Melaksanakan ({} pers):*", r.none.len()),
            &r.none,
        ),
        section(
            format!("⚠️❌ *{no_handle} ({} pers):*", r.no_handle.len()),
            &r.no_handle,
        ),
    ]
    .join("\n\n")
}

/// One post of the task broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPost {
    /// Shortcode or video id.
    pub id: String,
    /// Upload instant.
    pub created_at: DateTime<Utc>,
    /// Likes (IG) or comments (TikTok) shown for the post.
    pub count: u64,
    /// Not in the previous broadcast state: marked `[BARU]`.
    pub is_new: bool,
}

/// Input of `generateSosmedTaskMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskBroadcast {
    /// Client name (upper-cased in the text).
    pub nama: String,
    /// The client's TikTok handle, if any.
    pub client_tiktok: Option<String>,
    /// Today's IG posts, in order.
    pub instagram: Vec<TaskPost>,
    /// Today's TikTok posts, in order.
    pub tiktok: Vec<TaskPost>,
    /// The snapshot window, when the counts come from audit snapshots.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

fn task_line(i: usize, link: String, p: &TaskPost, unit: &str) -> String {
    let new = if p.is_new { "[BARU] " } else { "" };
    format!(
        "{}. {new}{link} (upload {} WIB) : {} {unit}",
        i + 1,
        hh_mm(p.created_at),
        p.count
    )
}

/// The task broadcast sent to a unit's WA group.
pub fn task_broadcast(b: &TaskBroadcast) -> String {
    let nama = b.nama.to_uppercase();
    let ig_total: u64 = b.instagram.iter().map(|p| p.count).sum();
    let tt_total: u64 = b.tiktok.iter().map(|p| p.count).sum();
    let mut lines = vec![
        format!(
            "Mohon Ijin Komandan, Senior, Rekan Operator dan Personil pelaksana Tugas Likes dan komentar Sosial Media {nama}."
        ),
        String::new(),
        "Tugas Likes dan Komentar Konten Instagram dan Tiktok ".to_string(),
        nama.clone(),
        format!("Jumlah konten Instagram hari ini: {} ", b.instagram.len()),
        format!("Total likes semua konten: {ig_total} "),
        String::new(),
        "Rincian:".to_string(),
    ];
    lines.extend(b.instagram.iter().enumerate().map(|(i, p)| {
        let unit = if p.count == 1 { "like" } else { "likes" };
        task_line(i, post_link(Platform::Instagram, None, &p.id), p, unit)
    }));
    lines.push(format!(
        "Jumlah konten Tiktok hari ini: {} ",
        b.tiktok.len()
    ));
    lines.push(format!("Total komentar semua konten: {tt_total}"));
    lines.push(String::new());
    lines.push("Rincian:".to_string());
    lines.extend(b.tiktok.iter().enumerate().map(|(i, p)| {
        let link = post_link(Platform::TikTok, b.client_tiktok.as_deref(), &p.id);
        task_line(i, link, p, "komentar")
    }));
    if let Some((from, to)) = b.window {
        lines.push(format!("[Data rentang {}–{} WIB]", hh_mm(from), hh_mm(to)));
    }
    lines.push("Silahkan Melaksanakan Likes, Komentar dan Share.".to_string());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::attendance::tests::{member, post};
    use crate::domain::attendance::{
        Member, UnitOrder, directorate_report, org_report, simple_report,
    };
    use crate::domain::time::jakarta;

    fn at() -> DateTime<Utc> {
        jakarta(2026, 2, 7, 23, 32, 8).expect("valid Jakarta time")
    }

    fn client() -> ClientInfo {
        ClientInfo {
            client_id: "POLRES_A".into(),
            nama: "POLRES CONTOH".into(),
            tiktok: Some("@polres_contoh".into()),
        }
    }

    fn members() -> Vec<Member> {
        vec![
            member("1", "ZAKI", "BRIPDA", "SAT BINMAS", "BANIT", Some("zaki")),
            member("2", "XENA", "IPDA", "BAG OPS", "KABAG OPS", None),
            member(
                "3",
                "YANI",
                "AKP",
                "SAT BINMAS",
                "KASAT BINMAS",
                Some("@Yani"),
            ),
        ]
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn clock_in_jakarta() {
        // (utc, hari, tanggal, jam)
        let cases = [
            ("2026-02-07T16:32:08Z", "Sabtu", "7/2/2026", "23.32.08"),
            ("2026-02-07T17:00:00Z", "Minggu", "8/2/2026", "00.00.00"),
            ("2026-11-30T02:05:09Z", "Senin", "30/11/2026", "09.05.09"),
            ("2026-12-31T23:59:59Z", "Jumat", "1/1/2027", "06.59.59"),
        ];
        for (utc, hari, tanggal, jam) in cases {
            let c = RecapClock::at(utc.parse().expect("utc"));
            assert_eq!(
                (c.hari, c.tanggal.as_str(), c.jam.as_str()),
                (hari, tanggal, jam),
                "{utc}"
            );
        }
        let days: Vec<&str> = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .into_iter()
        .map(day_name)
        .collect();
        assert_eq!(
            days,
            [
                "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"
            ]
        );
    }

    #[test]
    fn org_likes_recap_all_literal() {
        let m = members();
        let posts = [post("a", &["yani", "zaki"]), post("b", &["yani"])];
        let r = org_report(&m, &posts, Platform::Instagram, &[]);
        let text = org_recap(
            Platform::Instagram,
            &client(),
            &ids(&["a", "b"]),
            &r,
            RecapMode::All,
            at(),
            &[],
        );
        let want = "Mohon ijin Komandan,

📋 *Rekap Akumulasi Likes Instagram*
*Polres*: *POLRES CONTOH*
Sabtu, 7/2/2026
Jam: 23.32.08

*Jumlah Konten:* 2
*Daftar Link Konten:*
https://www.instagram.com/p/a
https://www.instagram.com/p/b

*Jumlah user:* 3 user
✅ *Melaksanakan lengkap* : *1 user*
⚠️ *Melaksanakan kurang lengkap* : *1 user*
❌ *Belum melaksanakan* : *1 user*

✅ *Melaksanakan lengkap* (1 user)
⚠️ *Melaksanakan kurang lengkap* (1 user)
❌ *Belum melaksanakan* (1 user)

*BAG OPS* (1 user):
✅ Lengkap (0 user):
⚠️ Kurang (0 user):
❌ Belum (1 user):
- IPDA XENA : - (0/2 konten)

*SAT BINMAS* (2 user):
✅ Lengkap (1 user):
- AKP YANI : @yani (2/2 konten)
⚠️ Kurang (1 user):
- BRIPDA ZAKI : @zaki (1/2 konten)
❌ Belum (0 user):

Terimakasih.";
        assert_eq!(text, want);
    }

    #[test]
    fn org_tiktok_recap_modes_literal() {
        let m = members();
        let posts = [post("111", &["@yani", "@zaki"]), post("222", &["@YANI"])];
        let r = org_report(&m, &posts, Platform::TikTok, &[]);
        let head = "Mohon ijin Komandan,

📋 *Rekap Akumulasi Komentar TikTok*
*POLRES CONTOH*
Sabtu, 7/2/2026
Jam: 23.32.08

*Jumlah Konten:* 2
*Daftar Link Konten:*
https://www.tiktok.com/@polres_contoh/video/111
https://www.tiktok.com/@polres_contoh/video/222

*Jumlah user:* 3 user
✅ *Melaksanakan lengkap* : *1 user*
⚠️ *Melaksanakan kurang lengkap* : *1 user*
❌ *Belum melaksanakan* : *1 user*

";
        let cases = [
            (
                RecapMode::NotDone,
                vec![],
                "❌ *Belum melaksanakan* (1 user)

*BAG OPS* (1 user):
❌ Belum (1 user):
- IPDA XENA : belum mengisi data tiktok (0/2 konten)

Terimakasih.",
            ),
            (
                RecapMode::Done,
                vec!["333".to_string()],
                "✅ *Melaksanakan lengkap* (1 user)
⚠️ *Melaksanakan kurang lengkap* (1 user)

*SAT BINMAS* (2 user):
✅ Lengkap (1 user):
- AKP YANI : @yani (2/2 konten)
⚠️ Kurang (1 user):
- BRIPDA ZAKI : @zaki (1/2 konten)

⚠️ Data komentar gagal diambil untuk konten: 333

Terimakasih.",
            ),
        ];
        for (mode, failed, tail) in cases {
            let text = org_recap(
                Platform::TikTok,
                &client(),
                &ids(&["111", "222"]),
                &r,
                mode,
                at(),
                &failed,
            );
            assert_eq!(text, format!("{head}{tail}"), "{mode:?}");
        }
    }

    #[test]
    fn empty_day_message() {
        let m = members();
        let r = org_report(&m, &[], Platform::Instagram, &[]);
        let text = org_recap(
            Platform::Instagram,
            &client(),
            &[],
            &r,
            RecapMode::All,
            at(),
            &[],
        );
        assert_eq!(
            text,
            "Tidak ada konten pada akun Official Instagram  *POLRES CONTOH* hari ini."
        );
    }

    #[test]
    fn directorate_likes_recap_literal() {
        let mut m = members();
        m[1].client_id = "DITBINMAS".into();
        let mut other = member("9", "BAYU", "BRIPTU", "", "", Some("bayu"));
        other.client_id = "POLRES_B".into();
        m.push(other);
        let clients = [
            ClientInfo {
                client_id: "POLRES_A".into(),
                nama: "POLRES A".into(),
                tiktok: None,
            },
            ClientInfo {
                client_id: "DITBINMAS".into(),
                nama: "DIREKTORAT BINMAS".into(),
                tiktok: None,
            },
            ClientInfo {
                client_id: "POLRES_B".into(),
                nama: "POLRES B".into(),
                tiktok: None,
            },
        ];
        // 3 posts: >= 2 is "lengkap" (50%)
        let posts = [
            post("a", &["yani", "zaki"]),
            post("b", &["yani"]),
            post("c", &["bayu"]),
        ];
        let units = directorate_report(
            &m,
            &clients,
            &posts,
            Platform::Instagram,
            UnitOrder::Likes,
            "DITBINMAS",
        );
        let text =
            directorate_likes_recap("DIREKTORAT BINMAS", &ids(&["a", "b", "c"]), &units, at());
        let want = "Mohon ijin Komandan,

📋 Rekap Akumulasi Likes Instagram
*DIREKTORAT BINMAS
Sabtu*, 7/2/2026
Jam: 23.32.08

*Jumlah Konten :* 3
*Daftar Link Konten :*
https://www.instagram.com/p/a
https://www.instagram.com/p/b
https://www.instagram.com/p/c

*Jumlah Total Personil :* 4 pers
✅ *Sudah melaksanakan :* 3 pers
- ✅ Melaksanakan lengkap : 1 pers
- ⚠️ Melaksanakan kurang lengkap : 2 pers
❌ *Belum melaksanakan :* 1 pers
⚠️❌ *Belum Update Username Instagram :* 1 pers

1. DIREKTORAT BINMAS
*Jumlah Personil :* 1 pers
*Sudah Melaksanakan :* 0 pers
- Melaksanakan lengkap : 0 pers
- Melaksanakan kurang lengkap : 0 pers
*Belum melaksanakan :* 1 pers
*Belum Update Username Instagram :* 1 pers

2. POLRES A
*Jumlah Personil :* 2 pers
*Sudah Melaksanakan :* 2 pers
- Melaksanakan lengkap : 1 pers
- Melaksanakan kurang lengkap : 1 pers
*Belum melaksanakan :* 0 pers
*Belum Update Username Instagram :* 0 pers

3. POLRES B
*Jumlah Personil :* 1 pers
*Sudah Melaksanakan :* 1 pers
- Melaksanakan lengkap : 0 pers
- Melaksanakan kurang lengkap : 1 pers
*Belum melaksanakan :* 0 pers
*Belum Update Username Instagram :* 0 pers";
        assert_eq!(text, want);
    }

    #[test]
    fn simple_sections_literal() {
        let m = members();
        let posts = [post("a", &["yani"])];
        let r = simple_report(&m, &posts, Platform::TikTok, &[]);
        let want = "✅ *Melaksanakan Lengkap (1 pers):*
- AKP YANI

⚠️ *Melaksanakan Kurang Lengkap (0 pers):*

❌ *Belum Melaksanakan (1 pers):*
- BRIPDA ZAKI

⚠️❌ *Belum Input Username TikTok (1 pers):*
- IPDA XENA";
        assert_eq!(simple_sections(Platform::TikTok, &r), want);
    }

    #[test]
    fn task_broadcast_literal() {
        let t = |h, mi| jakarta(2026, 2, 7, h, mi, 30).expect("valid");
        let b = TaskBroadcast {
            nama: "Polres Contoh".into(),
            client_tiktok: None,
            instagram: vec![
                TaskPost {
                    id: "AAA".into(),
                    created_at: t(7, 5),
                    count: 1,
                    is_new: false,
                },
                TaskPost {
                    id: "BBB".into(),
                    created_at: t(13, 40),
                    count: 25,
                    is_new: true,
                },
            ],
            tiktok: vec![TaskPost {
                id: "987".into(),
                created_at: t(9, 0),
                count: 0,
                is_new: true,
            }],
            window: Some((t(14, 0), t(14, 30))),
        };
        let want = "Mohon Ijin Komandan, Senior, Rekan Operator dan Personil pelaksana Tugas Likes dan komentar Sosial Media POLRES CONTOH.

Tugas Likes dan Komentar Konten Instagram dan Tiktok 
POLRES CONTOH
Jumlah konten Instagram hari ini: 2 
Total likes semua konten: 26 

Rincian:
1. https://www.instagram.com/p/AAA (upload 07:05 WIB) : 1 like
2. [BARU] https://www.instagram.com/p/BBB (upload 13:40 WIB) : 25 likes
Jumlah konten Tiktok hari ini: 1 
Total komentar semua konten: 0

Rincian:
1. [BARU] https://www.tiktok.com/video/987 (upload 09:00 WIB) : 0 komentar
[Data rentang 14:00–14:30 WIB]
Silahkan Melaksanakan Likes, Komentar dan Share.";
        assert_eq!(task_broadcast(&b), want);

        // with a TikTok handle, no window, no posts at all
        let empty = TaskBroadcast {
            nama: "x".into(),
            client_tiktok: Some("@Akun".into()),
            instagram: vec![],
            tiktok: vec![],
            window: None,
        };
        assert_eq!(
            task_broadcast(&empty),
            "Mohon Ijin Komandan, Senior, Rekan Operator dan Personil pelaksana Tugas Likes dan komentar Sosial Media X.

Tugas Likes dan Komentar Konten Instagram dan Tiktok 
X
Jumlah konten Instagram hari ini: 0 
Total likes semua konten: 0 

Rincian:
Jumlah konten Tiktok hari ini: 0 
Total komentar semua konten: 0

Rincian:
Silahkan Melaksanakan Likes, Komentar dan Share."
        );
        assert_eq!(
            post_link(Platform::TikTok, Some("@Akun"), "5"),
            "https://www.tiktok.com/@akun/video/5"
        );
    }
}

/// Jakarta time from which the fetch no longer broadcasts tasks (legacy `isAfterSendCutoff`:
/// Jakarta time ≥ 17:15).
pub const BROADCAST_CUTOFF: (u32, u32) = (17, 15);

/// Whether a task broadcast may still go out at `now` (strictly before 17:15 WIB).
pub fn before_broadcast_cutoff(now: DateTime<Utc>) -> bool {
    let t = now.with_timezone(&Jakarta);
    (t.hour(), t.minute()) < BROADCAST_CUTOFF
}

/// Idempotency key of a task broadcast: client, Jakarta day, the set of today's posts (order
/// and duplicates do not matter) and the chat. Same set → same key → never broadcast twice.
pub fn broadcast_key(
    client_id: &str,
    day: chrono::NaiveDate,
    instagram: &[String],
    tiktok: &[String],
    chat: &str,
) -> String {
    use sha2::{Digest, Sha256};
    let mut ids: Vec<String> = instagram
        .iter()
        .map(|i| format!("ig:{i}"))
        .chain(tiktok.iter().map(|i| format!("tt:{i}")))
        .collect();
    ids.sort();
    ids.dedup();
    let digest = Sha256::digest(ids.join("\n").as_bytes());
    let set = hex::encode(&digest[..8]);
    format!("broadcast:{}:{day}:{set}:{chat}", client_id.to_lowercase())
}

#[cfg(test)]
mod broadcast_tests {
    use super::*;
    use crate::domain::time::jakarta;

    #[test]
    fn the_cutoff_is_17_15_jakarta_exclusive() {
        let cases = [
            ((6, 0, 0), true),
            ((17, 14, 59), true),
            ((17, 15, 0), false),
            ((17, 16, 0), false),
            ((23, 59, 0), false),
            ((0, 0, 0), true),
        ];
        for ((h, m, s), want) in cases {
            let at = jakarta(2026, 3, 2, h, m, s).expect("valid time");
            assert_eq!(before_broadcast_cutoff(at), want, "{h:02}:{m:02}:{s:02}");
        }
    }

    #[test]
    fn the_broadcast_key_depends_on_the_set_only() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let g = "120363000000000001@g.us";
        let base = broadcast_key("POLRES_A", day, &s(&["A", "B"]), &s(&["7"]), g);
        assert!(base.starts_with("broadcast:polres_a:2026-03-02:"), "{base}");
        assert!(base.ends_with(":120363000000000001@g.us"), "{base}");
        // Order, duplicates and the client id's case do not change the key.
        assert_eq!(
            broadcast_key("polres_a", day, &s(&["B", "A", "A"]), &s(&["7"]), g),
            base
        );
        // Another post, a removed post, a post moving platform, another day or chat do.
        let other = [
            broadcast_key("POLRES_A", day, &s(&["A", "B", "C"]), &s(&["7"]), g),
            broadcast_key("POLRES_A", day, &s(&["A"]), &s(&["7"]), g),
            broadcast_key("POLRES_A", day, &s(&["A", "B", "7"]), &s(&[]), g),
            broadcast_key(
                "POLRES_A",
                day.succ_opt().expect("day"),
                &s(&["A", "B"]),
                &s(&["7"]),
                g,
            ),
            broadcast_key(
                "POLRES_A",
                day,
                &s(&["A", "B"]),
                &s(&["7"]),
                "120363000000000002@g.us",
            ),
        ];
        for k in other {
            assert_ne!(k, base);
        }
    }
}

#[cfg(test)]
mod directorate_comments_tests {
    use super::*;
    use crate::domain::attendance::tests::{member, post};
    use crate::domain::attendance::{UnitOrder, directorate_report};
    use crate::domain::time::jakarta;

    #[test]
    fn directorate_comments_recap_literal() {
        let mut m = vec![
            member("1", "ZAKI", "BRIPDA", "SAT BINMAS", "BANIT", Some("zaki")),
            member("2", "XENA", "IPDA", "BAG OPS", "KABAG OPS", None),
            member("3", "YANI", "AKP", "SAT BINMAS", "KASAT", Some("@Yani")),
            member("9", "BAYU", "BRIPTU", "", "", Some("bayu")),
        ];
        m[1].client_id = "DITBINMAS".into();
        m[3].client_id = "POLRES_B".into();
        let info = |id: &str, nama: &str| ClientInfo {
            client_id: id.into(),
            nama: nama.into(),
            tiktok: None,
        };
        let clients = [
            info("POLRES_A", "POLRES A"),
            info("DITBINMAS", "DIREKTORAT BINMAS"),
            info("POLRES_B", "POLRES B"),
        ];
        // 3 videos: ceil(3/2) = 2 comments is "lengkap".
        let posts = [
            post("a", &["@yani", "zaki"]),
            post("b", &["yani"]),
            post("c", &["@bayu"]),
        ];
        let units = directorate_report(
            &m,
            &clients,
            &posts,
            Platform::TikTok,
            UnitOrder::Comments,
            "DITBINMAS",
        );
        let ids: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let at = jakarta(2026, 2, 7, 23, 32, 8).expect("valid time");
        let text =
            directorate_comments_recap("DIREKTORAT BINMAS", Some("@DitBinmas"), &ids, &units, at);
        let want = "Mohon ijin Komandan,

📋 Rekap Akumulasi Komentar TikTok
*DIREKTORAT BINMAS
Sabtu*, 7/2/2026
Jam: 23.32.08

*Jumlah Konten :* 3
*Daftar Link Konten :*
https://www.tiktok.com/@ditbinmas/video/a
https://www.tiktok.com/@ditbinmas/video/b
https://www.tiktok.com/@ditbinmas/video/c

*Jumlah Total Personil :* 4 pers
✅ *Sudah melaksanakan :* 3 pers
- ✅ Melaksanakan lengkap : 1 pers
- ⚠️ Melaksanakan kurang lengkap : 2 pers
❌ *Belum melaksanakan :* 1 pers
⚠️❌ *Belum Update Username TikTok :* 1 pers

1. DIREKTORAT BINMAS
*Jumlah Personil :* 1 pers
*Sudah Melaksanakan :* 0 pers
- Melaksanakan lengkap : 0 pers
- Melaksanakan kurang lengkap : 0 pers
*Belum melaksanakan :* 1 pers
*Belum Update Username TikTok :* 1 pers

2. POLRES A
*Jumlah Personil :* 2 pers
*Sudah Melaksanakan :* 2 pers
- Melaksanakan lengkap : 1 pers
- Melaksanakan kurang lengkap : 1 pers
*Belum melaksanakan :* 0 pers
*Belum Update Username TikTok :* 0 pers

3. POLRES B
*Jumlah Personil :* 1 pers
*Sudah Melaksanakan :* 1 pers
- Melaksanakan lengkap : 0 pers
- Melaksanakan kurang lengkap : 1 pers
*Belum melaksanakan :* 0 pers
*Belum Update Username TikTok :* 0 pers";
        assert_eq!(text, want);
        assert_eq!(
            directorate_comments_recap("DIREKTORAT BINMAS", None, &[], &units, at),
            "Tidak ada konten pada akun Official TikTok  *DIREKTORAT BINMAS* hari ini."
        );
    }
}

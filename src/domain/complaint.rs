//! Complaint auto-solutions (legacy §4j `complaintService`): which known issue a complaint
//! line names (`detectKnownIssueKey`), and the follow-up text for each, built from what Cicero
//! has stored about the person (handles, stored profile metrics, likes and comments recorded
//! since 2025-09-01, today's link tasks). Pure: the caller gathers the facts. The legacy
//! looked profiles up live on RapidAPI; we use the stored `insta_profile` row instead (none
//! is stored for TikTok accounts), see `docs/dashboard-api.md`.
use chrono::{Datelike, NaiveDate};

use super::claim::{insta_handle, tiktok_handle};

/// Where personnel update their data (legacy `UPDATE_DATA_LINK`).
pub const UPDATE_DATA_LINK: &str = "https://papiqo.com/claim";

/// Activity before this day is not counted (legacy `ACTIVITY_START_DATE`).
pub fn activity_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 9, 1).unwrap_or_default()
}

/// The known issues, each answered at most once per complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKey {
    InstagramNotRecorded,
    TiktokNotRecorded,
    AttendanceLess,
    ActivityFlaggedNotDone,
}

impl IssueKey {
    pub fn name(self) -> &'static str {
        match self {
            IssueKey::InstagramNotRecorded => "instagram_not_recorded",
            IssueKey::TiktokNotRecorded => "tiktok_not_recorded",
            IssueKey::AttendanceLess => "attendance_less",
            IssueKey::ActivityFlaggedNotDone => "activity_flagged_not_done",
        }
    }
}

/// Lower case, every character that is not a letter, digit or space replaced by a space,
/// spaces collapsed (legacy normalisation before matching).
fn normalize(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Legacy `detectKnownIssueKey`, in its order: "sudah melaksanakan" + Instagram + "(belum|blm|
/// tidak) terdata"; the same with TikTok; "sudah melaksanakan" + "(ter)absen kurang";
/// "terabsen(s|i) (belum|blm) melaksanakan" or "status belum melaksanakan". Unlike legacy,
/// `ig`/`tt` must be whole words (legacy matched them inside any word, e.g. "digital").
pub fn detect_issue_key(issue: &str) -> Option<IssueKey> {
    let n = normalize(issue);
    if n.is_empty() {
        return None;
    }
    let words: Vec<&str> = n.split(' ').collect();
    let instagram = words.iter().any(|w| *w == "ig" || w.contains("instagram"));
    let tiktok = words.iter().any(|w| *w == "tt" || w.contains("tiktok"));
    let executed = n.contains("sudah melaksanakan");
    let not_recorded = ["belum terdata", "blm terdata", "tidak terdata"]
        .iter()
        .any(|p| n.contains(p));
    let less = n.contains("absen kurang");
    let flagged = ["terabsen", "terabsens", "terabseni"].iter().any(|t| {
        ["belum", "blm"]
            .iter()
            .any(|b| n.contains(&format!("{t} {b} melaksanakan")))
    }) || n.contains("status belum melaksanakan");
    if executed && instagram && not_recorded {
        Some(IssueKey::InstagramNotRecorded)
    } else if executed && tiktok && not_recorded {
        Some(IssueKey::TiktokNotRecorded)
    } else if executed && less {
        Some(IssueKey::AttendanceLess)
    } else if flagged {
        Some(IssueKey::ActivityFlaggedNotDone)
    } else {
        None
    }
}

/// A complaint message split like legacy `parseComplaintMessage`: the issue lines (after a
/// `Kendala…` header) and the handles named in `Instagram:` / `TikTok:` lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub issues: Vec<String>,
    /// Bare lower-case handles (no `@`).
    pub instagram: Option<String>,
    pub tiktok: Option<String>,
}

fn strip_list_prefix(line: &str) -> &str {
    let s = line.trim_start_matches(['•', '●', '*', '-']).trim_start();
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && let Some(rest) = s[digits..]
            .strip_prefix('.')
            .or_else(|| s[digits..].strip_prefix(')'))
    {
        return rest.trim_start();
    }
    s
}

/// An issue header (legacy `isIssueHeader`): `Kendala`, `Kendala berikut`, `Kendala yang
/// dihadapi|dialami`, `Rincian|Detail|Uraian|Keterangan|Deskripsi kendala` (anywhere in the
/// line), or any `Kendala…:` with a colon. Returns what follows the colon on the same line,
/// if anything (legacy dropped it). Unlike legacy, `Kendala akses …` without a colon is an
/// issue, not a header (legacy took every line starting with "kendala" as a header).
fn issue_header(line: &str) -> Option<Option<String>> {
    let content = strip_list_prefix(line);
    let (head, rest) = match content.split_once([':', '：']) {
        Some((h, r)) => (h, Some(r.trim())),
        None => (content, None),
    };
    let words: Vec<String> = head.split_whitespace().map(str::to_lowercase).collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let named = w.windows(2).any(|p| {
        ["rincian", "detail", "uraian", "keterangan", "deskripsi"].contains(&p[0])
            && p[1] == "kendala"
    }) || w.windows(2).any(|p| p == ["kendala", "berikut"])
        || w.windows(3).any(|p| {
            p[0] == "kendala" && p[1] == "yang" && ["dihadapi", "dialami"].contains(&p[2])
        });
    let header = named || w == ["kendala"] || (w.first() == Some(&"kendala") && rest.is_some());
    header.then(|| rest.filter(|r| !r.is_empty()).map(str::to_owned))
}

/// A handle named in a complaint (`@name`, a profile URL), bare lower case; `None` when it is
/// not a valid handle.
pub fn named_handle(raw: &str, tiktok: bool) -> Option<String> {
    let h = if tiktok {
        tiktok_handle(raw).ok()
    } else {
        insta_handle(raw).ok()
    };
    h.map(|h| h.trim_start_matches('@').to_owned())
}

/// Splits a complaint message. Without a `Kendala` header every line that is not a field
/// line is an issue (the dashboard's one-line `issue`).
pub fn parse(message: &str) -> Parsed {
    let mut p = Parsed::default();
    let (mut in_issues, mut loose) = (false, Vec::new());
    for raw in message.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let content = strip_list_prefix(raw);
        let lower = content.to_lowercase();
        if lower.starts_with("pesan komplain") {
            continue;
        }
        if let Some(inline) = issue_header(raw) {
            in_issues = true;
            p.issues.extend(inline);
            continue;
        }
        if let Some((key, value)) = content.split_once([':', '：']) {
            let key = key.trim().to_lowercase();
            let value = value.trim();
            let field = match key.as_str() {
                "nrp" | "nip" | "nrp/nip" | "nrp / nip" | "nama" | "polres" => Some(None),
                "username ig" | "username instagram" | "instagram" | "ig" => Some(Some(false)),
                "username tiktok" | "tiktok" => Some(Some(true)),
                _ => None,
            };
            match field {
                Some(Some(tiktok)) => {
                    let h = named_handle(value, tiktok);
                    if tiktok {
                        p.tiktok = h;
                    } else {
                        p.instagram = h;
                    }
                    continue;
                }
                Some(None) => continue,
                None => {}
            }
        }
        if in_issues {
            p.issues.push(content.to_owned());
        } else {
            loose.push(content.to_owned());
        }
    }
    if p.issues.is_empty() {
        p.issues = loose;
    }
    p
}

/// Profile numbers stored for an account (`insta_profile`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    pub posts: Option<i64>,
    pub followers: Option<i64>,
    pub following: Option<i64>,
}

impl Metrics {
    /// Every number known and positive (legacy `hasFullMetrics`).
    fn active(&self) -> bool {
        [self.posts, self.followers, self.following]
            .iter()
            .all(|m| m.is_some_and(|n| n > 0))
    }
    /// Every number known and zero: an empty or wrong account.
    fn empty(&self) -> bool {
        [self.posts, self.followers, self.following]
            .iter()
            .all(|m| *m == Some(0))
    }
}

/// What Cicero holds about one of the person's accounts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Account {
    /// The stored handle, bare lower case; `None` when the person has none.
    pub handle: Option<String>,
    /// The handle named in the complaint, if any.
    pub reported: Option<String>,
    /// Stored profile numbers; `None` when no profile is stored.
    pub metrics: Option<Metrics>,
    /// Posts liked (Instagram) or videos commented (TikTok) since [`activity_start`].
    pub recorded: u64,
}

/// One of today's official posts without a link report from the person.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTask {
    pub shortcode: String,
    pub caption: String,
}

/// Everything the solutions are built from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub instagram: Account,
    pub tiktok: Account,
    pub pending_tasks: Vec<PendingTask>,
    /// The day the check runs (Jakarta), the end of the activity period.
    pub today: NaiveDate,
}

/// `1 September 2025` (id-ID long date).
pub fn id_date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), super::recap::month_name(d), d.year())
}

/// `12.345` (id-ID grouping).
pub fn id_number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Collapsed spaces, at most 120 characters (legacy `shortenCaption`).
pub fn short_caption(text: &str) -> String {
    let clean = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if clean.is_empty() {
        return "(tanpa caption)".into();
    }
    if clean.chars().count() <= 120 {
        return clean;
    }
    let cut: String = clean.chars().take(119).collect();
    format!("{cut}…")
}

/// The "Update Data Personil" steps for `platforms` (e.g. `Instagram dan TikTok`).
pub fn update_data_steps(platforms: &str) -> String {
    [
        format!("1. Buka tautan berikut: {UPDATE_DATA_LINK}"),
        "2. Login menggunakan NRP/NIP dan kata sandi aplikasi Cicero.".into(),
        format!("3. Pilih menu *Update Data Personil* kemudian perbarui username {platforms}."),
        "4. Pastikan username sesuai dengan akun aktif yang dipakai saat tugas, lalu simpan perubahan."
            .into(),
        "5. Konfirmasi kepada admin setelah data diperbarui agar dapat sinkron otomatis.".into(),
    ]
    .join("\n")
}

/// The answer for a person whose account is not active: activation comes first.
pub fn inactive_solution() -> String {
    [
        "Akun Cicero personel saat ini *tidak aktif*.",
        "Mohon hubungi operator satker untuk melakukan aktivasi akun sebelum melanjutkan pelaporan tugas atau komplain.",
        "Setelah akun aktif, silakan sampaikan kembali komplain bila kendala masih terjadi.",
    ]
    .join("\n")
}

/// The issue line sent for a person with neither an Instagram nor a TikTok username.
pub const NO_ACCOUNTS_ISSUE: &str = "Akun sosial media masih belum terisi";

/// The answer for a person with neither username: how to fill them in.
pub fn no_accounts_solution() -> String {
    [
        "Belum terdapat username Instagram maupun TikTok pada data personel.".to_string(),
        String::new(),
        "Langkah tindak lanjut:".into(),
        update_data_steps("Instagram dan TikTok"),
        String::new(),
        format!("Tautan update data personel: {UPDATE_DATA_LINK}"),
    ]
    .join("\n")
}

fn at(h: &Option<String>) -> Option<String> {
    h.as_ref().map(|h| format!("@{h}"))
}

fn profile_line(label: &str, a: &Account) -> String {
    let name = at(&a.handle).map(|h| format!(" ({h})")).unwrap_or_default();
    match (&a.handle, &a.metrics) {
        (None, _) => format!("{label}: Username belum tercatat di database."),
        (Some(_), None) => format!("{label}{name}: Belum ada data profil tersimpan."),
        (Some(_), Some(m)) => {
            let n = |v: Option<i64>| v.map(id_number).unwrap_or_else(|| "-".into());
            format!(
                "{label}{name}: Postingan {} | Followers {} | Following {}",
                n(m.posts),
                n(m.followers),
                n(m.following)
            )
        }
    }
}

/// The answer to "sudah melaksanakan … belum terdata" for one platform.
fn not_recorded(issue: &str, tiktok: bool, f: &Facts) -> String {
    let (a, label, verb, menu) = if tiktok {
        (
            &f.tiktok,
            "TikTok",
            "memberikan komentar",
            "*Absensi Komentar TikTok*",
        )
    } else {
        (
            &f.instagram,
            "Instagram",
            "memberikan like",
            "*Absensi Likes Instagram*",
        )
    };
    let handle = at(&a.handle);
    if let (Some(h), true) = (&handle, a.recorded > 0) {
        return [
            format!(
                "Ringkasan pengecekan: akun *{h}* tercatat {verb} pada {} konten {label} dalam periode {} hingga {}.",
                id_number(a.recorded as i64),
                id_date(activity_start()),
                id_date(f.today)
            ),
            "Sistem Cicero tidak menemukan gangguan pencatatan untuk aktivitas tersebut.".into(),
            String::new(),
            format!(
                "Menu dashboard yang perlu dicek: {menu}. Buka menu tersebut di dashboard Cicero, pilih ulang filter satker/periode lalu tekan tombol *Refresh* untuk memuat riwayat terbaru."
            ),
            "Bila data tetap belum muncul, minta personel mengirim tangkapan layar hasil refresh dan hubungi operator piket untuk pendampingan lebih lanjut.".into(),
        ]
        .join("\n");
    }
    let reported = at(&a.reported);
    let differs = matches!((&a.handle, &a.reported), (Some(x), Some(y)) if x != y);
    let mut lines = vec![
        format!("• Kendala: {issue}"),
        String::new(),
        "Perbandingan data:".into(),
        format!(
            "- Username pada database Cicero: {}",
            handle.clone().unwrap_or_else(|| "Belum tercatat.".into())
        ),
        format!(
            "- Username pada pesan komplain: {}",
            reported
                .clone()
                .unwrap_or_else(|| "Tidak dicantumkan.".into())
        ),
        String::new(),
        "Data profil tersimpan:".into(),
        profile_line(label, a),
    ];
    if a.metrics.is_some_and(|m| m.empty()) {
        lines.push(format!(
            "⚠️ Akun {} terlihat tanpa aktivitas (postingan, pengikut dan mengikuti semuanya 0); mohon periksa langsung di aplikasi {label} bahwa username benar dan akun masih aktif.",
            handle.clone().unwrap_or_default()
        ));
    }
    let used = handle.or(reported).unwrap_or_else(|| "-".into());
    let act = if tiktok { "komentar" } else { "like" };
    lines.extend([
        String::new(),
        "Langkah tindak lanjut:".into(),
        format!(
            "- Belum ada data aktivitas {act} {label} akun ini yang tercatat di sistem sejak {}.",
            id_date(activity_start())
        ),
        format!("1) Pastikan {act} dilakukan menggunakan akun yang tercatat ({label}: {used})."),
        format!(
            "2) Kirim tautan konten yang sudah di{} beserta tanggal dan waktu aksi dilakukan.",
            if tiktok { "komentari" } else { "-like" }
        ),
        "3) Beri waktu sinkronisasi ±1 jam; jika tetap belum masuk, kirim ulang bukti (tautan + screenshot aksi) untuk dicek operator.".into(),
        "4) Jika ada target konten tertentu dari satker, pastikan aksi dilakukan pada konten tersebut.".into(),
    ]);
    let needs_update = a.handle.is_none() || differs || !a.metrics.is_some_and(|m| m.active());
    if needs_update {
        lines.extend([
            String::new(),
            "Jika username di database perlu disesuaikan, lakukan pembaruan berikut:".into(),
            update_data_steps(label),
        ]);
    }
    lines.extend([
        String::new(),
        "Eskalasi:".into(),
        "- Jika setelah verifikasi di atas data masih belum terbaca, eskalasi ke operator piket untuk pengecekan log sistem.".into(),
    ]);
    lines.join("\n")
}

fn attendance_less(issue: &str, f: &Facts) -> String {
    let mut lines = vec![format!("• Kendala: {issue}")];
    if f.pending_tasks.is_empty() {
        lines.push("Semua link tugas hari ini sudah tercatat di sistem. Jika masih terdapat perbedaan, mohon kirim bukti pengiriman link.".into());
    } else {
        lines.push("Berikut daftar link tugas yang belum tercatat pada sistem hari ini:".into());
        for (i, t) in f.pending_tasks.iter().enumerate() {
            lines.push(format!("{}. {}", i + 1, short_caption(&t.caption)));
            lines.push(format!("   https://www.instagram.com/p/{}/", t.shortcode));
        }
    }
    lines.extend([
        String::new(),
        "Silakan lakukan update link melalui menu *Update Tugas* pada aplikasi Cicero setelah melaksanakan tugas.".into(),
        "Jika seluruh tugas sudah dikerjakan, mohon kirimkan bukti screenshot update link kepada admin untuk verifikasi.".into(),
    ]);
    lines.join("\n")
}

/// Only when an account looks active (stored metrics or recorded activity); legacy gave no
/// answer otherwise.
fn flagged_not_done(issue: &str, f: &Facts) -> Option<String> {
    let active = |a: &Account| {
        a.handle.is_some() && (a.recorded > 0 || a.metrics.is_some_and(|m| m.active()))
    };
    let (ig, tt) = (active(&f.instagram), active(&f.tiktok));
    if !ig && !tt {
        return None;
    }
    let mut lines = vec![
        format!("• Kendala: {issue}"),
        String::new(),
        "Status akun yang tercatat:".into(),
    ];
    for (label, a, on) in [("Instagram", &f.instagram, ig), ("TikTok", &f.tiktok, tt)] {
        if let Some(h) = at(&a.handle) {
            lines.push(format!(
                "- {label}: {h}{}",
                if on { " (Aktif)" } else { "" }
            ));
        }
    }
    let handles = [at(&f.instagram.handle), at(&f.tiktok.handle)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ");
    lines.extend([
        String::new(),
        "Ringkasan tindak lanjut:".into(),
        "- Akun sosial media pelapor terdeteksi aktif dan telah digunakan untuk like/komentar, namun status absensi masih tertulis 'belum melaksanakan'.".into(),
        "- Sistem akan membantu pengecekan ulang pencatatan aksi tersebut pada menu absensi terkait.".into(),
        String::new(),
        "Panduan verifikasi:".into(),
        format!("1) Pastikan seluruh aksi dilakukan memakai {handles} yang tercatat di Cicero."),
        "2) Kirim tautan konten yang sudah di-like/dikomentari beserta waktu pelaksanaan sebagai bukti pengecekan.".into(),
        "3) Buka menu Absensi Likes Instagram atau Absensi Komentar TikTok di dashboard Cicero, pilih ulang satker & periode, lalu tekan *Refresh* untuk memuat data terbaru.".into(),
        "4) Jika status tetap 'belum melaksanakan' setelah refresh ±1 jam, kirim tangkapan layar aksi dan hasil refresh untuk eskalasi ke operator piket.".into(),
    ]);
    Some(lines.join("\n"))
}

/// The known issues among `issues`, each key once, in order of appearance.
pub fn known_issues(issues: &[String]) -> Vec<(IssueKey, &str)> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for issue in issues.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if let Some(k) = detect_issue_key(issue)
            && !seen.contains(&k)
        {
            seen.push(k);
            out.push((k, issue));
        }
    }
    out
}

/// The solution text for the known issues (blank-line separated); empty when none applies.
pub fn solutions(issues: &[String], f: &Facts) -> String {
    known_issues(issues)
        .into_iter()
        .filter_map(|(k, issue)| match k {
            IssueKey::InstagramNotRecorded => Some(not_recorded(issue, false, f)),
            IssueKey::TiktokNotRecorded => Some(not_recorded(issue, true, f)),
            IssueKey::AttendanceLess => Some(attendance_less(issue, f)),
            IssueKey::ActivityFlaggedNotDone => flagged_not_done(issue, f),
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        use IssueKey::*;
        let cases: &[(&str, Option<IssueKey>)] = &[
            (
                "Sudah melaksanakan like IG tetapi belum terdata",
                Some(InstagramNotRecorded),
            ),
            (
                "sudah   melaksanakan, Instagram-nya BLM terdata!",
                Some(InstagramNotRecorded),
            ),
            (
                "Sudah melaksanakan komentar TikTok tapi tidak terdata",
                Some(TiktokNotRecorded),
            ),
            (
                "sudah melaksanakan tt belum terdata",
                Some(TiktokNotRecorded),
            ),
            // Both platforms: Instagram is checked first (legacy order).
            (
                "sudah melaksanakan ig dan tiktok belum terdata",
                Some(InstagramNotRecorded),
            ),
            (
                "Sudah melaksanakan tapi terabsen kurang",
                Some(AttendanceLess),
            ),
            ("sudah melaksanakan, absen kurang", Some(AttendanceLess)),
            (
                "Terabsen belum melaksanakan padahal sudah",
                Some(ActivityFlaggedNotDone),
            ),
            ("terabsen blm melaksanakan", Some(ActivityFlaggedNotDone)),
            ("Terabseni belum melaksanakan", Some(ActivityFlaggedNotDone)),
            ("status belum melaksanakan", Some(ActivityFlaggedNotDone)),
            // Not enough: no "sudah melaksanakan", or no platform.
            ("like IG belum terdata", None),
            ("sudah melaksanakan tapi belum terdata", None),
            // `ig` inside a word is not Instagram (legacy would say instagram_not_recorded).
            ("sudah melaksanakan di sistem digital belum terdata", None),
            ("Kendala akses atau data tidak sesuai", None),
            ("", None),
            ("!!!", None),
        ];
        for (text, want) in cases {
            assert_eq!(detect_issue_key(text), *want, "{text:?}");
        }
        assert_eq!(IssueKey::AttendanceLess.name(), "attendance_less");
    }

    #[test]
    fn parsing_a_complaint_message() {
        let msg = "Pesan Komplain\nNRP: 75020001\nNama: BUDI\nUsername IG: https://www.instagram.com/Budi_IG/\n\
                   TikTok: @Budi_TT\nKendala yang dihadapi:\n1. Sudah melaksanakan like IG belum terdata\n\
                   - terabsen kurang padahal sudah melaksanakan\n";
        let p = parse(msg);
        assert_eq!(p.instagram.as_deref(), Some("budi_ig"));
        assert_eq!(p.tiktok.as_deref(), Some("budi_tt"));
        assert_eq!(
            p.issues,
            [
                "Sudah melaksanakan like IG belum terdata",
                "terabsen kurang padahal sudah melaksanakan"
            ]
        );
        // A one-line issue (the dashboard's form) is the issue itself.
        assert_eq!(
            parse("Kendala akses atau data tidak sesuai").issues,
            ["Kendala akses atau data tidak sesuai"]
        );
        // A header with its text on the same line keeps the text.
        assert_eq!(
            parse("Kendala: sudah melaksanakan tt belum terdata").issues,
            ["sudah melaksanakan tt belum terdata"]
        );
        for (line, header) in [
            ("Kendala", true),
            ("• Kendala berikut", true),
            ("Berikut kendala yang dialami", true),
            ("Rincian Kendala", true),
            ("Kendala login:", true),
            ("Kendala login gagal", false),
            ("sudah melaksanakan", false),
        ] {
            assert_eq!(issue_header(line).is_some(), header, "{line:?}");
        }
        assert_eq!(
            named_handle("https://www.tiktok.com/@Siti.TT", true).as_deref(),
            Some("siti.tt")
        );
        assert_eq!(named_handle("not a handle!", false), None);
    }

    #[test]
    fn each_key_is_answered_once() {
        let issues: Vec<String> = [
            "sudah melaksanakan ig belum terdata",
            "Sudah melaksanakan Instagram tidak terdata",
            "sudah melaksanakan tapi absen kurang",
            "lainnya",
        ]
        .map(String::from)
        .to_vec();
        let keys: Vec<IssueKey> = known_issues(&issues).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [IssueKey::InstagramNotRecorded, IssueKey::AttendanceLess]
        );
    }

    fn facts() -> Facts {
        Facts {
            instagram: Account {
                handle: Some("budi_ig".into()),
                reported: None,
                metrics: None,
                recorded: 0,
            },
            tiktok: Account {
                handle: Some("budi_tt".into()),
                ..Account::default()
            },
            pending_tasks: vec![],
            today: NaiveDate::from_ymd_opt(2026, 2, 7).unwrap(),
        }
    }

    #[test]
    fn recorded_activity_is_summarised() {
        let mut f = facts();
        f.instagram.recorded = 1234;
        let s = solutions(&["sudah melaksanakan ig belum terdata".into()], &f);
        assert_eq!(
            s.lines().next().unwrap(),
            "Ringkasan pengecekan: akun *@budi_ig* tercatat memberikan like pada 1.234 konten Instagram dalam periode 1 September 2025 hingga 7 Februari 2026."
        );
        assert!(s.contains("*Absensi Likes Instagram*"), "{s}");
        assert!(!s.contains(UPDATE_DATA_LINK));
    }

    #[test]
    fn unrecorded_activity_compares_and_points_at_the_claim_page() {
        let cases = [
            // (stored metrics, reported handle, expect update steps, expected profile line)
            (
                None,
                None,
                true,
                "Instagram (@budi_ig): Belum ada data profil tersimpan.",
            ),
            (
                Some(Metrics {
                    posts: Some(12),
                    followers: Some(3400),
                    following: Some(5),
                }),
                None,
                false,
                "Instagram (@budi_ig): Postingan 12 | Followers 3.400 | Following 5",
            ),
            (
                Some(Metrics {
                    posts: Some(12),
                    followers: Some(3400),
                    following: Some(5),
                }),
                Some("budi.ig"),
                true,
                "Instagram (@budi_ig): Postingan 12 | Followers 3.400 | Following 5",
            ),
            (
                Some(Metrics {
                    posts: Some(0),
                    followers: Some(0),
                    following: Some(0),
                }),
                None,
                true,
                "Instagram (@budi_ig): Postingan 0 | Followers 0 | Following 0",
            ),
        ];
        for (metrics, reported, update, line) in cases {
            let mut f = facts();
            f.instagram.metrics = metrics;
            f.instagram.reported = reported.map(String::from);
            let s = solutions(&["Sudah melaksanakan like IG belum terdata".into()], &f);
            assert!(
                s.starts_with("• Kendala: Sudah melaksanakan like IG belum terdata\n"),
                "{s}"
            );
            assert!(
                s.contains("- Username pada database Cicero: @budi_ig"),
                "{s}"
            );
            assert!(s.contains(line), "{line}: {s}");
            assert_eq!(s.contains("*Update Data Personil*"), update, "{s}");
            assert_eq!(s.contains("https://papiqo.com/claim"), update, "{s}");
            assert_eq!(
                s.contains("terlihat tanpa aktivitas"),
                metrics.is_some_and(|m| m.empty())
            );
        }
        let mut f = facts();
        f.tiktok.handle = None;
        let s = solutions(&["sudah melaksanakan tiktok belum terdata".into()], &f);
        assert!(
            s.contains("- Username pada database Cicero: Belum tercatat."),
            "{s}"
        );
        assert!(
            s.contains("TikTok: Username belum tercatat di database."),
            "{s}"
        );
        assert!(s.contains("perbarui username TikTok."), "{s}");
    }

    #[test]
    fn attendance_lists_pending_tasks() {
        let mut f = facts();
        let issue = vec!["sudah melaksanakan tapi terabsen kurang".to_string()];
        assert!(solutions(&issue, &f).contains("Semua link tugas hari ini sudah tercatat"));
        f.pending_tasks = vec![PendingTask {
            shortcode: "P2".into(),
            caption: "  Apel   pagi  ".into(),
        }];
        let s = solutions(&issue, &f);
        assert!(
            s.contains("hari ini:\n1. Apel pagi\n   https://www.instagram.com/p/P2/\n"),
            "{s}"
        );
        assert!(s.contains("*Update Tugas*"));
    }

    #[test]
    fn flagged_needs_an_active_account() {
        let issue = vec!["status belum melaksanakan".to_string()];
        assert_eq!(solutions(&issue, &facts()), "");
        let mut f = facts();
        f.tiktok.recorded = 2;
        let s = solutions(&issue, &f);
        assert!(
            s.contains("- Instagram: @budi_ig\n- TikTok: @budi_tt (Aktif)"),
            "{s}"
        );
        assert!(
            s.contains("memakai @budi_ig / @budi_tt yang tercatat"),
            "{s}"
        );
    }

    #[test]
    fn fixed_texts() {
        assert!(inactive_solution().contains("*tidak aktif*"));
        let s = no_accounts_solution();
        assert!(s.contains("perbarui username Instagram dan TikTok."), "{s}");
        assert!(s.ends_with("Tautan update data personel: https://papiqo.com/claim"));
        assert_eq!(id_number(0), "0");
        assert_eq!(id_number(999), "999");
        assert_eq!(id_number(1000), "1.000");
        assert_eq!(id_number(1234567), "1.234.567");
        assert_eq!(id_date(activity_start()), "1 September 2025");
        assert_eq!(short_caption(""), "(tanpa caption)");
        assert_eq!(short_caption(&"a".repeat(130)).chars().count(), 120);
    }
}

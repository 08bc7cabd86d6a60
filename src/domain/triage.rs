//! "Activity not recorded" triage of the claim portal (`POST /api/claim/complaints/triage`):
//! from what Cicero stores about one post and the person's handles, why the person's like
//! (Instagram) or comment (TikTok) is or is not counted, and what to do about it. Pure: the
//! HTTP layer gathers the facts, this decides. The codes, in the order they are tested:
//!
//! | code | when | retry | escalate |
//! |---|---|---|---|
//! | `CONTENT_NOT_FOUND` | no stored post with this id (not fetched yet, or not an official post) | after the next collection | yes |
//! | `CONTENT_NOT_ASSIGNED` | the post is another unit's, not tagged for the person's roles | no | no |
//! | `NO_USERNAME` | the person has no handle on the platform | at once, after adding it | no |
//! | `NOT_YET_COLLECTED` | likes/comments never collected, or the activity (`performed_at`) is later than the last collection | after the next collection | no |
//! | `RECORDED` | one of the person's handles is among the stored likers/commenters | no | no |
//! | `USERNAME_MISMATCH` | not recorded, but a stored handle looks like the person's (same letters and digits, or one or two edits away) | at once, after fixing the handle | no |
//! | `COLLECTION_INCOMPLETE` | not recorded, and fewer than 90% of the platform's count were collected | after the next collection | yes |
//! | `NOT_RECORDED` | not recorded in a complete collection | after the next collection | yes |
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Jakarta;
use serde::Serialize;

use super::username::{Platform, normalize_handle};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    ContentNotFound,
    ContentNotAssigned,
    NoUsername,
    NotYetCollected,
    Recorded,
    UsernameMismatch,
    CollectionIncomplete,
    NotRecorded,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ContentNotFound => "CONTENT_NOT_FOUND",
            Code::ContentNotAssigned => "CONTENT_NOT_ASSIGNED",
            Code::NoUsername => "NO_USERNAME",
            Code::NotYetCollected => "NOT_YET_COLLECTED",
            Code::Recorded => "RECORDED",
            Code::UsernameMismatch => "USERNAME_MISMATCH",
            Code::CollectionIncomplete => "COLLECTION_INCOMPLETE",
            Code::NotRecorded => "NOT_RECORDED",
        }
    }

    /// Whether an operator can do more than the person can (the complaint may be escalated).
    pub fn escalatable(self) -> bool {
        matches!(
            self,
            Code::ContentNotFound | Code::CollectionIncomplete | Code::NotRecorded
        )
    }
}

/// The stored post.
#[derive(Debug, Clone)]
pub struct Content {
    /// One of the person's tasks: a post of their client, or tagged for one of their roles.
    pub assigned: bool,
    pub created_at: Option<DateTime<Utc>>,
    /// The platform's own count (`like_count` / `comment_count`) when stored.
    pub counter: Option<i64>,
    /// `None`: the likes / comments of this post were never collected.
    pub engagement: Option<Engagement>,
}

/// The stored likers (Instagram) or commenters (TikTok) of a post.
#[derive(Debug, Clone)]
pub struct Engagement {
    /// As stored (raw).
    pub engagers: Vec<String>,
    pub collected_at: Option<DateTime<Utc>>,
}

/// Everything the triage looks at.
#[derive(Debug, Clone)]
pub struct Facts {
    pub platform: Platform,
    pub content_id: String,
    /// The person's handles on the platform, raw (primary first).
    pub handles: Vec<String>,
    pub content: Option<Content>,
    /// When the person says they liked / commented.
    pub performed_at: Option<DateTime<Utc>>,
    /// Whether the post falls in the period the person was looking at (`None`: no period).
    pub in_period: Option<bool>,
    pub now: DateTime<Utc>,
    /// When the next scheduled collection starts.
    pub next_collection: Option<DateTime<Utc>>,
}

/// The outcome, as the portal shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triage {
    pub triage_code: Code,
    /// How complete the evidence is: `complete`, `partial` or `limited`.
    pub triage_quality: &'static str,
    pub title: String,
    pub summary: String,
    pub evidence: Vec<String>,
    pub solutions: Vec<String>,
    pub last_collected_at: Option<DateTime<Utc>>,
    pub can_retry: bool,
    /// Seconds until a new triage can give another answer (`None` when it cannot).
    pub retry_after: Option<i64>,
    pub can_escalate: bool,
    /// The person's handle found among the engagers (`RECORDED`).
    pub matched_username: Option<String>,
    /// A stored handle that looks like the person's (`USERNAME_MISMATCH`).
    pub similar_username: Option<String>,
}

/// Time a collection is given to finish after it starts, added to `retry_after`.
pub const COLLECTION_MARGIN_SECS: i64 = 300;
/// `retry_after` when no collection is scheduled.
pub const DEFAULT_RETRY_SECS: i64 = 1800;

fn wib(t: DateTime<Utc>) -> String {
    t.with_timezone(&Jakarta)
        .format("%d-%m-%Y %H:%M WIB")
        .to_string()
}

/// Lower-case letters and digits only: `Budi.Santoso_` → `budisantoso`.
fn loose(h: &str) -> String {
    h.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Whether a stored handle looks like one of the person's: same letters and digits, or at
/// most one edit away (two for handles of 8 characters or more; none under 4).
pub fn similar(mine: &str, stored: &str) -> bool {
    if mine == stored {
        return false;
    }
    if loose(mine) == loose(stored) && !loose(mine).is_empty() {
        return true;
    }
    let len = mine.chars().count();
    let allowed = match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    };
    allowed > 0 && edit_distance(mine, stored) <= allowed
}

/// Decides the triage of one post for one person.
pub fn triage(f: &Facts) -> Triage {
    let (noun, verb, platform_name) = match f.platform {
        Platform::Instagram => ("like", "menyukai", "Instagram"),
        Platform::TikTok => ("komentar", "mengomentari", "TikTok"),
    };
    let mine: Vec<String> = f
        .handles
        .iter()
        .filter_map(|h| normalize_handle(h))
        .collect();
    let collection_wait = f
        .next_collection
        .map(|t| (t - f.now).num_seconds().max(0) + COLLECTION_MARGIN_SECS)
        .unwrap_or(DEFAULT_RETRY_SECS);
    let mut evidence = Vec::new();
    let mut t = Triage {
        triage_code: Code::NotRecorded,
        triage_quality: "limited",
        title: String::new(),
        summary: String::new(),
        evidence: Vec::new(),
        solutions: Vec::new(),
        last_collected_at: None,
        can_retry: false,
        retry_after: None,
        can_escalate: false,
        matched_username: None,
        similar_username: None,
    };
    let retry = |t: &mut Triage, secs: i64| {
        t.can_retry = true;
        t.retry_after = Some(secs);
    };
    let Some(content) = &f.content else {
        t.triage_code = Code::ContentNotFound;
        t.title = "Konten tidak ditemukan".into();
        t.summary = format!(
            "Konten {platform_name} {} belum tersimpan di Cicero: belum diambil, atau bukan konten akun resmi satker.",
            f.content_id
        );
        evidence.push(format!(
            "Tidak ada konten {platform_name} dengan ID {} di data Cicero.",
            f.content_id
        ));
        t.solutions = vec![
            "Periksa kembali tautan atau ID konten yang Anda salin.".into(),
            "Konten baru diambil pada jadwal pengambilan berikutnya; coba lagi setelah waktu tunggu."
                .into(),
            "Bila konten tetap tidak ditemukan, teruskan keluhan ke operator.".into(),
        ];
        retry(&mut t, collection_wait);
        return finish(t, evidence);
    };
    if let Some(at) = content.created_at {
        evidence.push(format!(
            "Konten {platform_name} {} diunggah {}.",
            f.content_id,
            wib(at)
        ));
    }
    if f.in_period == Some(false) {
        evidence.push("Konten ini diunggah di luar periode yang sedang Anda lihat.".into());
    }
    if !content.assigned {
        t.triage_code = Code::ContentNotAssigned;
        t.triage_quality = "complete";
        t.title = "Konten bukan tugas Anda".into();
        t.summary = format!(
            "Konten ini milik satker lain dan tidak ditugaskan untuk jabatan Anda, sehingga {noun} pada konten ini tidak dihitung dalam absensi Anda."
        );
        t.solutions = vec![
            "Pilih konten dari daftar tugas (konten yang belum dikerjakan) di portal.".into(),
            "Bila satker atau jabatan Anda salah, minta operator memperbaikinya.".into(),
        ];
        return finish(t, evidence);
    }
    if mine.is_empty() {
        t.triage_code = Code::NoUsername;
        t.title = format!("Username {platform_name} belum diisi");
        t.summary = format!(
            "Profil Anda belum memuat username {platform_name}, sehingga {noun} Anda tidak dapat dicocokkan."
        );
        evidence.push(format!(
            "Tidak ada username {platform_name} di profil Anda."
        ));
        t.solutions = vec![format!(
            "Isi username {platform_name} Anda di halaman profil portal, lalu periksa ulang."
        )];
        retry(&mut t, 0);
        return finish(t, evidence);
    }
    evidence.push(format!(
        "Username {platform_name} Anda: {}.",
        mine.iter()
            .map(|h| format!("@{h}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let Some(eng) = &content.engagement else {
        t.triage_code = Code::NotYetCollected;
        t.title = format!("Data {noun} belum diambil");
        t.summary = format!(
            "Data {noun} konten ini belum pernah diambil dari {platform_name}. Aktivitas Anda akan tercatat setelah pengambilan berikutnya."
        );
        evidence.push(format!("Data {noun} konten ini belum pernah diambil."));
        t.solutions = vec!["Tunggu pengambilan data berikutnya, lalu periksa ulang.".into()];
        retry(&mut t, collection_wait);
        return finish(t, evidence);
    };
    t.last_collected_at = eng.collected_at;
    let stored: Vec<String> = eng
        .engagers
        .iter()
        .filter_map(|e| normalize_handle(e))
        .collect();
    match eng.collected_at {
        Some(at) => evidence.push(format!("Data {noun} terakhir diambil {}.", wib(at))),
        None => evidence.push(format!("Waktu pengambilan data {noun} tidak tercatat.")),
    }
    let mut unique = stored.clone();
    unique.sort();
    unique.dedup();
    match content.counter {
        Some(c) => evidence.push(format!(
            "{} akun {verb} tersimpan; {platform_name} mencatat {c} {noun}.",
            unique.len()
        )),
        None => evidence.push(format!("{} akun {verb} tersimpan.", unique.len())),
    }
    if let Some(p) = f.performed_at {
        evidence.push(format!("Anda melaporkan aktivitas pada {}.", wib(p)));
    }
    if let Some(h) = mine.iter().find(|h| stored.contains(h)) {
        t.triage_code = Code::Recorded;
        t.triage_quality = "complete";
        t.matched_username = Some(h.clone());
        t.title = "Aktivitas sudah tercatat".into();
        t.summary = format!(
            "{} @{h} sudah tercatat pada konten ini dan dihitung dalam absensi.",
            capitalise(noun)
        );
        evidence.push(format!("@{h} ada di daftar akun yang {verb} konten ini."));
        t.solutions = vec![
            "Tidak perlu tindakan. Bila rekap belum berubah, periksa periode rekap yang dipilih."
                .into(),
        ];
        return finish(t, evidence);
    }
    let collected_before_activity = matches!(
        (f.performed_at, eng.collected_at),
        (Some(p), Some(c)) if p > c
    );
    if collected_before_activity {
        t.triage_code = Code::NotYetCollected;
        t.triage_quality = "partial";
        t.title = format!("{} Anda setelah pengambilan terakhir", capitalise(noun));
        t.summary = format!(
            "Data {noun} terakhir diambil sebelum waktu aktivitas Anda. Aktivitas Anda akan diperiksa pada pengambilan berikutnya."
        );
        t.solutions = vec!["Tunggu pengambilan data berikutnya, lalu periksa ulang.".into()];
        retry(&mut t, collection_wait);
        return finish(t, evidence);
    }
    let lookalike = mine
        .iter()
        .find_map(|h| unique.iter().find(|s| similar(h, s)).map(|s| (h, s)));
    if let Some((h, s)) = lookalike {
        t.triage_code = Code::UsernameMismatch;
        t.triage_quality = "complete";
        t.similar_username = Some(s.clone());
        t.title = "Username tidak cocok".into();
        t.summary = format!(
            "@{h} tidak ada di daftar, tetapi @{s} yang mirip ada. Kemungkinan username di profil Anda berbeda dari akun yang Anda pakai."
        );
        evidence.push(format!("Username mirip ditemukan: @{s}."));
        t.solutions = vec![
            format!("Bila @{s} adalah akun Anda, perbarui username {platform_name} di profil portal."),
            "Setelah diperbarui, periksa ulang: data yang sudah diambil langsung dicocokkan kembali."
                .into(),
        ];
        retry(&mut t, 0);
        return finish(t, evidence);
    }
    let incomplete = content
        .counter
        .is_some_and(|c| c > 0 && (unique.len() as i64) * 10 < c * 9);
    if incomplete {
        t.triage_code = Code::CollectionIncomplete;
        t.triage_quality = "partial";
        t.title = format!("Data {noun} belum lengkap");
        t.summary = format!(
            "Akun Anda tidak ada di data {noun} yang tersimpan, tetapi data itu belum lengkap dibanding jumlah di {platform_name}."
        );
        t.solutions = vec![
            "Tunggu pengambilan data berikutnya, lalu periksa ulang.".into(),
            "Bila tetap tidak tercatat, teruskan keluhan ke operator.".into(),
        ];
    } else {
        t.triage_code = Code::NotRecorded;
        t.triage_quality = "complete";
        t.title = "Aktivitas tidak ditemukan".into();
        t.summary = format!(
            "Akun Anda tidak ada di antara akun yang {verb} konten ini pada pengambilan terakhir."
        );
        t.solutions = vec![
            format!(
                "Pastikan Anda {verb} konten ini dengan akun yang terdaftar di profil, bukan akun lain."
            ),
            match f.platform {
                Platform::Instagram => "Pastikan like masih ada (tidak dibatalkan).".into(),
                Platform::TikTok => {
                    "Pastikan komentar masih ada dan akun TikTok Anda tidak privat.".into()
                }
            },
            "Bila sudah sesuai, teruskan keluhan ke operator.".into(),
        ];
    }
    retry(&mut t, collection_wait);
    finish(t, evidence)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn finish(mut t: Triage, evidence: Vec<String>) -> Triage {
    t.evidence = evidence;
    t.can_escalate = t.triage_code.escalatable();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        "2026-11-25T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::hours(h)
    }

    fn facts(content: Option<Content>, handles: &[&str]) -> Facts {
        Facts {
            platform: Platform::Instagram,
            content_id: "ABC".into(),
            handles: handles.iter().map(|s| s.to_string()).collect(),
            content,
            performed_at: None,
            in_period: None,
            now: at(0),
            next_collection: Some(at(0) + chrono::Duration::minutes(10)),
        }
    }

    fn post(engagers: Option<&[&str]>, counter: Option<i64>) -> Option<Content> {
        Some(Content {
            assigned: true,
            created_at: Some(at(-5)),
            counter,
            engagement: engagers.map(|e| Engagement {
                engagers: e.iter().map(|s| s.to_string()).collect(),
                collected_at: Some(at(-1)),
            }),
        })
    }

    #[test]
    fn each_code() {
        let cases: Vec<(Facts, Code)> = vec![
            (facts(None, &["budi"]), Code::ContentNotFound),
            (
                facts(
                    Some(Content {
                        assigned: false,
                        ..post(Some(&["budi"]), None).unwrap()
                    }),
                    &["budi"],
                ),
                Code::ContentNotAssigned,
            ),
            (facts(post(Some(&["budi"]), None), &[]), Code::NoUsername),
            (
                facts(post(Some(&["budi"]), None), &["  "]),
                Code::NoUsername,
            ),
            (facts(post(None, None), &["budi"]), Code::NotYetCollected),
            (
                facts(post(Some(&["x", "@Budi"]), Some(2)), &["budi"]),
                Code::Recorded,
            ),
            (
                facts(post(Some(&["x"]), Some(1)), &["other", "@budi"]),
                Code::NotRecorded,
            ),
            (
                facts(post(Some(&["budi.s", "x"]), Some(2)), &["budis"]),
                Code::UsernameMismatch,
            ),
            (
                facts(post(Some(&["x"]), Some(50)), &["budi"]),
                Code::CollectionIncomplete,
            ),
        ];
        for (f, want) in cases {
            let t = triage(&f);
            assert_eq!(t.triage_code, want, "{f:?}");
            assert_eq!(t.can_escalate, want.escalatable());
            assert!(!t.title.is_empty() && !t.summary.is_empty());
            assert!(!t.solutions.is_empty());
        }
    }

    #[test]
    fn activity_after_the_last_collection_waits_for_the_next() {
        let mut f = facts(post(Some(&["x"]), Some(1)), &["budi"]);
        f.performed_at = Some(at(-2));
        assert_eq!(triage(&f).triage_code, Code::NotRecorded);
        f.performed_at = Some(at(0));
        let t = triage(&f);
        assert_eq!(t.triage_code, Code::NotYetCollected);
        assert_eq!(t.last_collected_at, Some(at(-1)));
        assert!(t.can_retry);
        assert_eq!(t.retry_after, Some(600 + COLLECTION_MARGIN_SECS));
        f.next_collection = None;
        assert_eq!(triage(&f).retry_after, Some(DEFAULT_RETRY_SECS));
    }

    #[test]
    fn recorded_is_final() {
        let t = triage(&facts(post(Some(&["budi"]), Some(1)), &["@Budi"]));
        assert_eq!(t.matched_username.as_deref(), Some("budi"));
        assert!(!t.can_retry && !t.can_escalate);
        assert_eq!(t.retry_after, None);
        assert_eq!(t.triage_quality, "complete");
    }

    #[test]
    fn lookalike_handles() {
        for (mine, stored, want) in [
            ("budi.santoso", "budisantoso", true),
            ("budi_01", "budi.01", true),
            ("budisantoso", "budisantos0", true),
            ("budisantoso", "budisanto", true),
            ("budi", "budy", true),
            ("budi", "bud", true),
            ("budi", "andi", false),
            ("abc", "abd", false),
            ("budi", "budi", false),
            ("budisantoso", "rinawati", false),
        ] {
            assert_eq!(similar(mine, stored), want, "{mine} vs {stored}");
        }
    }

    #[test]
    fn evidence_names_the_period_and_counts() {
        let mut f = facts(post(Some(&["x", "y", "y"]), Some(2)), &["budi"]);
        f.in_period = Some(false);
        let t = triage(&f);
        assert!(t.evidence.iter().any(|e| e.contains("di luar periode")));
        assert!(
            t.evidence
                .iter()
                .any(|e| e.contains("2 akun menyukai tersimpan; Instagram mencatat 2 like")),
            "{:?}",
            t.evidence
        );
    }
}

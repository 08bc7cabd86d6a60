//! The dashboard's engagement recap (`/api/insta/rekap-likes`, `/api/tiktok/rekap-komentar`),
//! as the legacy formatters (`likesRecapFormatter`, `tiktokCommentRecapFormatter`) shape it,
//! and the premium insights built on it (`executive-recap`, `risk-summary`). Pure: rows in,
//! JSON out. References: `shared/domain/legacy-system.md` §2.5, contract §2.4; the formulas
//! are listed in `docs/dashboard-api.md`.
use serde_json::{Map, Value, json};

use super::ordering::priority_index;

/// Which engagement a recap counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Likes on the official Instagram posts.
    Instagram,
    /// Comments on the official TikTok videos.
    Tiktok,
}

impl Platform {
    /// `platform=instagram|tiktok` (any case).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_lowercase().as_str() {
            "instagram" => Some(Platform::Instagram),
            "tiktok" => Some(Platform::Tiktok),
            _ => None,
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            Platform::Instagram => "instagram",
            Platform::Tiktok => "tiktok",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Platform::Instagram => "Instagram",
            Platform::Tiktok => "TikTok",
        }
    }
    /// The per-row count field (`jumlah_like` / `jumlah_komentar`).
    pub fn count_field(self) -> &'static str {
        match self {
            Platform::Instagram => "jumlah_like",
            Platform::Tiktok => "jumlah_komentar",
        }
    }
    fn missing_field(self) -> &'static str {
        match self {
            Platform::Instagram => "missingLikes",
            Platform::Tiktok => "missingComments",
        }
    }
    fn chart_field(self) -> &'static str {
        match self {
            Platform::Instagram => "likes",
            Platform::Tiktok => "comments",
        }
    }
    fn total_field(self) -> &'static str {
        match self {
            Platform::Instagram => "totalLikes",
            Platform::Tiktok => "totalComments",
        }
    }
    /// "di-like" / "dikomentari".
    fn done(self) -> &'static str {
        match self {
            Platform::Instagram => "di-like",
            Platform::Tiktok => "dikomentari",
        }
    }
    /// "like" / "komentar".
    fn action(self) -> &'static str {
        match self {
            Platform::Instagram => "like",
            Platform::Tiktok => "komentar",
        }
    }
}

/// A person's status in a recap (legacy names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    /// Engaged with every post of the period.
    Sudah,
    /// Engaged with some.
    Kurang,
    /// With none.
    Belum,
    /// No username on record.
    NoUsername,
    /// The period has no posts (and the person has a username).
    NoPosts,
}

impl RowStatus {
    pub fn name(self) -> &'static str {
        match self {
            RowStatus::Sudah => "sudah",
            RowStatus::Kurang => "kurang",
            RowStatus::Belum => "belum",
            RowStatus::NoUsername => "no_username",
            RowStatus::NoPosts => "no_posts",
        }
    }
}

/// Legacy status rule: without posts `no_posts` (or `no_username`), then `no_username`,
/// `sudah` (count ≥ posts), `kurang` (> 0), `belum`.
pub fn row_status(has_username: bool, count: u64, total_posts: u64) -> RowStatus {
    match () {
        _ if !has_username => RowStatus::NoUsername,
        _ if total_posts == 0 => RowStatus::NoPosts,
        _ if count >= total_posts => RowStatus::Sudah,
        _ if count > 0 => RowStatus::Kurang,
        _ => RowStatus::Belum,
    }
}

/// A username is present when something is left after trimming spaces and `@`.
pub fn has_username(raw: &Value) -> bool {
    raw.as_str()
        .is_some_and(|u| !u.trim().trim_start_matches('@').trim().is_empty())
}

/// One decimal, as JS `Number(x.toFixed(1))`.
fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The totals of a recap, for the JSON and the premium insights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub total_users: u64,
    pub total_posts: u64,
    pub total_interactions: u64,
    pub sudah: u64,
    pub kurang: u64,
    pub belum: u64,
    pub no_username: u64,
    pub no_posts: u64,
    /// Mean completion of the people who could act (a username, and posts), in percent, 1 dp.
    pub average_completion: f64,
    /// Share of those who acted at all, in percent, 1 dp.
    pub participation: f64,
}

/// A recap: the response body (without `success`) and its totals.
#[derive(Debug, Clone)]
pub struct Report {
    pub body: Value,
    pub counts: Counts,
}

fn badge(platform: Platform, status: RowStatus) -> Option<String> {
    let (done, action) = (platform.done(), platform.action());
    match status {
        RowStatus::Sudah => Some(format!("✅ Semua konten pada periode ini sudah {done}.")),
        RowStatus::Kurang => Some(format!("⚠️ Masih ada konten yang belum {done}.")),
        RowStatus::Belum => Some(format!("⏳ Belum ada {action} pada periode ini.")),
        RowStatus::NoPosts => Some(format!(
            "ℹ️ Tidak ada konten yang perlu {done} pada periode ini."
        )),
        RowStatus::NoUsername => None,
    }
}

fn insights(platform: Platform, c: &Counts) -> Vec<String> {
    let label = platform.label();
    let mut out = Vec::new();
    let (all, lacking, none) = match platform {
        Platform::Instagram => (
            "sudah me-like semua konten yang tersedia",
            "masih kekurangan like pada sebagian konten",
            "belum memberikan like sama sekali",
        ),
        Platform::Tiktok => (
            "sudah mengomentari semua konten yang tersedia",
            "masih kekurangan komentar pada sebagian konten",
            "belum memberikan komentar sama sekali",
        ),
    };
    if c.sudah > 0 {
        out.push(format!("✅ {} akun {all}.", c.sudah));
    }
    if c.kurang > 0 {
        out.push(format!("⚠️ {} akun {lacking}.", c.kurang));
    }
    if c.belum > 0 {
        out.push(format!("⏳ {} akun {none}.", c.belum));
    }
    if c.no_username > 0 {
        out.push(format!(
            "❗ {} akun belum memiliki username {label}.",
            c.no_username
        ));
    }
    if c.no_posts > 0 {
        out.push("ℹ️ Tidak ada konten pada periode ini.".into());
    }
    out
}

fn legend(platform: Platform) -> Value {
    let (done, action, label) = (platform.done(), platform.action(), platform.label());
    let partial = match platform {
        Platform::Instagram => "Sudah melakukan like",
        Platform::Tiktok => "Sudah memberikan komentar",
    };
    json!([
        {"status": "sudah", "label": "Sudah", "description": format!("Semua konten pada periode ini telah {done}.")},
        {"status": "kurang", "label": "Kurang", "description": format!("{partial} tetapi masih ada konten yang belum {done}.")},
        {"status": "belum", "label": "Belum", "description": format!("Belum memberikan {action} pada periode ini.")},
        {"status": "no_username", "label": "No Username", "description": format!("Belum memiliki username {label} di sistem.")},
        {"status": "no_posts", "label": "No Posts", "description": "Tidak ada konten untuk periode yang dipilih."},
    ])
}

/// Formats recap rows (`user_id, nama, title, divisi, username, client_id, …, count`, in the
/// SQL order `UPPER(nama)`) into the legacy response: priority names first (stable, so the
/// rest keep their order), then per row `ranking`, `completionRate`, `completionPercentage`,
/// `missingLikes|missingComments`, `status`, `badges`; at the root the user lists, counts,
/// `summary`, `chartData`, `insights`, `statusLegend` and `noUsernameUsersDetails`.
pub fn report(
    mut rows: Vec<Value>,
    platform: Platform,
    total_posts: u64,
    priority_names: &[String],
) -> Report {
    if !priority_names.is_empty() {
        rows.sort_by_key(|r| {
            priority_index(r["nama"].as_str().unwrap_or_default(), priority_names)
        });
    }
    let mut c = Counts {
        total_users: rows.len() as u64,
        total_posts,
        ..Counts::default()
    };
    let (mut sudah, mut kurang, mut belum) = (vec![], vec![], vec![]);
    let (mut no_user_names, mut no_user_details, mut chart) = (vec![], vec![], vec![]);
    let (mut active, mut participating, mut completion_sum) = (0u64, 0u64, 0f64);
    for (i, row) in rows.iter_mut().enumerate() {
        let count = row["count"].as_u64().unwrap_or(0);
        c.total_interactions += count;
        let with_name = has_username(&row["username"]);
        let status = row_status(with_name, count, total_posts);
        let rate = if total_posts > 0 {
            count as f64 / total_posts as f64
        } else {
            0.0
        };
        let percentage = (rate * 100.0).round() as u64;
        let missing = total_posts.saturating_sub(count);
        if matches!(
            status,
            RowStatus::Sudah | RowStatus::Kurang | RowStatus::Belum
        ) {
            active += 1;
            completion_sum += rate;
            if status != RowStatus::Belum {
                participating += 1;
            }
        }
        let username = row["username"]
            .as_str()
            .map(|u| u.trim().to_owned())
            .unwrap_or_default();
        match status {
            RowStatus::Sudah => sudah.push(username.clone()),
            RowStatus::Kurang => kurang.push(username.clone()),
            RowStatus::Belum => belum.push(username.clone()),
            RowStatus::NoUsername => {
                no_user_names.push(row["nama"].as_str().unwrap_or_default().to_owned());
                no_user_details.push(json!({
                    "userId": row["user_id"], "name": row["nama"],
                    "division": row["divisi"], "clientId": row["client_id"],
                }));
            }
            RowStatus::NoPosts => c.no_posts += 1,
        }
        let mut badges: Vec<String> = badge(platform, status).into_iter().collect();
        if !with_name {
            badges.push(format!("❗ Username {} belum tersedia.", platform.label()));
        }
        let label = ["nama", "title"]
            .iter()
            .filter_map(|k| row[*k].as_str().filter(|s| !s.trim().is_empty()))
            .next()
            .map(str::to_owned)
            .or_else(|| with_name.then(|| username.clone()))
            .unwrap_or_else(|| format!("Pengguna {}", i + 1));
        chart.push(json!({
            "label": label,
            platform.chart_field(): count,
            platform.missing_field(): missing,
            "completionPercentage": percentage,
        }));
        if let Some(m) = row.as_object_mut() {
            m.remove("count");
            if with_name {
                m.insert("username".into(), json!(username));
            }
            m.insert(platform.count_field().into(), json!(count));
            m.insert("ranking".into(), json!(i + 1));
            m.insert("completionRate".into(), json!(rate));
            m.insert("completionPercentage".into(), json!(percentage));
            m.insert(platform.missing_field().into(), json!(missing));
            m.insert("status".into(), json!(status.name()));
            m.insert("badges".into(), json!(badges));
        }
    }
    c.sudah = sudah.len() as u64;
    c.kurang = kurang.len() as u64;
    c.belum = belum.len() as u64;
    c.no_username = no_user_names.len() as u64;
    if active > 0 {
        c.average_completion = one_decimal(completion_sum / active as f64 * 100.0);
        c.participation = one_decimal(participating as f64 / active as f64 * 100.0);
    }
    let mut distribution = json!({
        "sudah": c.sudah, "kurang": c.kurang, "belum": c.belum, "noUsername": c.no_username,
    });
    // Legacy always sends `noPosts`; we send it when the period has no posts (the only case
    // where it is not 0), so the established four-key distribution stays as it was.
    if total_posts == 0 {
        distribution["noPosts"] = json!(c.no_posts);
    }
    let mut summary = Map::new();
    summary.insert("totalPosts".into(), json!(total_posts));
    summary.insert("totalUsers".into(), json!(c.total_users));
    summary.insert(platform.total_field().into(), json!(c.total_interactions));
    summary.insert("totalInteractions".into(), json!(c.total_interactions));
    summary.insert(
        "averageCompletionPercentage".into(),
        json!(c.average_completion),
    );
    summary.insert("participationRatePercentage".into(), json!(c.participation));
    summary.insert("distribution".into(), distribution);
    let body = json!({
        "data": rows,
        "chartHeight": (c.total_users * 36).max(320),
        "totalPosts": total_posts,
        "usersCount": c.total_users,
        "sudahUsers": sudah,
        "kurangUsers": kurang,
        "belumUsers": belum,
        "noUsernameUsers": no_user_names,
        "noUsernameUsersDetails": no_user_details,
        "sudahUsersCount": c.sudah,
        "kurangUsersCount": c.kurang,
        "belumUsersCount": c.belum + c.no_username,
        "usersWithoutCommentsCount": c.belum + c.no_username,
        "noUsernameUsersCount": c.no_username,
        "summary": summary,
        "chartData": chart,
        "insights": insights(platform, &c),
        "statusLegend": legend(platform),
    });
    Report { body, counts: c }
}

/// The period label of the premium insights (legacy): `tanggal`, else `start s/d end`, else
/// the start date, else `periode` (default `harian`).
pub fn period_label(
    periode: Option<&str>,
    tanggal: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
) -> String {
    match (tanggal, start, end) {
        (Some(t), _, _) => t.to_owned(),
        (None, Some(s), Some(e)) => format!("{s} s/d {e}"),
        (None, Some(s), None) => s.to_owned(),
        _ => periode.unwrap_or("harian").to_owned(),
    }
}

/// The `stats` both premium insights report: the recap's own totals, so the dashboard (which
/// discards the insight when they differ from its recap) keeps it.
pub fn stats(c: &Counts) -> Value {
    json!({
        "totalUsers": c.total_users,
        "totalPosts": c.total_posts,
        "completedCount": c.sudah,
        "partialCount": c.kurang,
        "notStartedCount": c.belum,
        "missingUsernameCount": c.no_username,
        "complianceRate": c.average_completion,
    })
}

/// `GET /api/dashboard/premium/executive-recap` `data`: a one-line `summary`, the briefing
/// `text` and the `stats`.
pub fn executive_recap(platform: Platform, period: &str, client_name: &str, c: &Counts) -> Value {
    let label = platform.label();
    let action_needed = c.kurang + c.belum;
    let text = [
        format!("Briefing {label}"),
        format!("Periode: {period}"),
        format!("Client: {client_name}"),
        String::new(),
        format!("- Total personel terpantau: {}", c.total_users),
        format!("- Total konten/post: {}", c.total_posts),
        format!("- Sudah lengkap: {}", c.sudah),
        format!("- Kurang lengkap: {}", c.kurang),
        format!("- Belum mulai: {}", c.belum),
        format!("- Tanpa username: {}", c.no_username),
        format!("- Kepatuhan aktif: {}%", c.average_completion.round()),
        String::new(),
        "Arah tindak lanjut:".into(),
        if action_needed > 0 {
            format!("- Prioritaskan {action_needed} akun yang masih perlu aksi sebelum briefing berikutnya.")
        } else {
            "- Seluruh akun aktif sudah aman, lanjutkan monitoring rutin.".into()
        },
        if c.no_username > 0 {
            format!(
                "- Rapikan {} akun tanpa username agar blindspot monitoring berkurang.",
                c.no_username
            )
        } else {
            "- Data username sudah rapi dan siap dipakai untuk kontrol harian.".into()
        },
    ]
    .join("\n");
    let summary = if action_needed > 0 {
        format!("{action_needed} akun masih perlu aksi pada {period}.")
    } else {
        format!("Semua akun aktif {} aman pada {period}.", platform.key())
    };
    json!({
        "platform": platform.key(),
        "periodLabel": period,
        "clientName": client_name,
        "summary": summary,
        "text": text,
        "stats": stats(c),
    })
}

/// `GET /api/dashboard/premium/risk-summary` `data`: compliance, the share of people who still
/// need to act (of those with a username), and the alerts.
pub fn risk_summary(platform: Platform, period: &str, c: &Counts) -> Value {
    let p = platform.key();
    let active = c.total_users.saturating_sub(c.no_username);
    let action_needed = c.kurang + c.belum;
    let action_rate = if active > 0 {
        one_decimal(action_needed as f64 / active as f64 * 100.0)
    } else {
        0.0
    };
    let alert = |id: &str, severity: &str, title: String, detail: String, action: &str| json!({"id": id, "severity": severity, "title": title, "detail": detail, "action": action});
    let mut alerts = Vec::new();
    if c.belum > 0 {
        alerts.push(alert(
            "not-started",
            if c.belum >= 8 { "high" } else { "medium" },
            format!("{} akun belum mulai", c.belum),
            format!(
                "{} akun belum melakukan aktivitas {p} pada {period}.",
                c.belum
            ),
            "Dorong follow-up cepat ke akun yang belum mulai.",
        ));
    }
    if c.kurang > 0 {
        alerts.push(alert(
            "partial",
            if c.kurang >= 6 { "high" } else { "medium" },
            format!("{} akun masih kurang lengkap", c.kurang),
            format!(
                "{} akun sudah bergerak tapi belum memenuhi target {p}.",
                c.kurang
            ),
            "Naikkan akun setengah jalan menjadi tuntas sebelum briefing berikutnya.",
        ));
    }
    if c.no_username > 0 {
        alerts.push(alert(
            "missing-username",
            if c.no_username >= 4 { "medium" } else { "low" },
            format!("{} akun punya blindspot data", c.no_username),
            format!(
                "{} akun tanpa username belum ikut hitungan kepatuhan penuh.",
                c.no_username
            ),
            "Rapikan username agar monitoring tidak bocor.",
        ));
    }
    // Compliance is a mean over the people who could act: with none (no posts, or no
    // usernames) there is no rate to warn about, only the missing posts.
    let could_act = c.sudah + c.kurang + c.belum;
    if c.total_posts == 0 {
        alerts.push(alert(
            "no-posts",
            "low",
            "Belum ada konten pada periode ini".into(),
            format!("Tidak ada konten {p} yang tercatat untuk {period}."),
            "Pastikan akun resmi mengunggah konten dan pengambilan data berjalan.",
        ));
    } else if could_act > 0 && c.average_completion < 70.0 {
        alerts.push(alert(
            "compliance",
            if c.average_completion < 50.0 {
                "high"
            } else {
                "medium"
            },
            format!("Kepatuhan aktif baru {}%", c.average_completion.round()),
            format!("Kepatuhan {p} masih di bawah zona aman untuk {period}."),
            "Gunakan briefing harian sebagai alat kendali, bukan hanya rekap akhir.",
        ));
    }
    if alerts.is_empty() {
        alerts.push(alert(
            "stable",
            "low",
            "Kondisi relatif aman".into(),
            format!("Belum ada sinyal risiko besar pada {p} untuk {period}."),
            "Pertahankan ritme monitoring dan kebersihan data.",
        ));
    }
    json!({
        "platform": p,
        "periodLabel": period,
        "complianceRate": c.average_completion,
        "actionNeededCount": action_needed,
        "actionNeededRate": action_rate,
        "missingUsernameCount": c.no_username,
        "totalUsers": c.total_users,
        "completedCount": c.sudah,
        "stats": stats(c),
        "alerts": alerts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Value> {
        vec![
            json!({"user_id": "1", "nama": "ANI", "username": "ani", "count": 2}),
            json!({"user_id": "2", "nama": "BUDI", "username": " @budi ", "count": 1}),
            json!({"user_id": "3", "nama": "CICI", "username": "cici", "count": 0}),
            json!({"user_id": "4", "nama": "DODI", "title": "BRIPKA", "username": "", "divisi": "SAT", "client_id": "K", "count": 0}),
            json!({"user_id": "5", "nama": "EKO", "username": null, "count": 0}),
        ]
    }

    #[test]
    fn statuses() {
        for (has, count, posts, want) in [
            (true, 2, 2, RowStatus::Sudah),
            (true, 3, 2, RowStatus::Sudah),
            (true, 1, 2, RowStatus::Kurang),
            (true, 0, 2, RowStatus::Belum),
            (false, 2, 2, RowStatus::NoUsername),
            (false, 0, 0, RowStatus::NoUsername),
            (true, 0, 0, RowStatus::NoPosts),
        ] {
            assert_eq!(row_status(has, count, posts), want, "{has} {count} {posts}");
        }
        assert!(!has_username(&json!(" @ ")));
        assert!(!has_username(&Value::Null));
        assert!(has_username(&json!("@x")));
    }

    #[test]
    fn rows_get_the_legacy_fields() {
        let r = report(rows(), Platform::Instagram, 2, &[]);
        let b = &r.body;
        let d = b["data"].as_array().unwrap();
        assert_eq!(d[0]["ranking"], 1);
        assert_eq!(d[0]["completionRate"], 1.0);
        assert_eq!(d[0]["completionPercentage"], 100);
        assert_eq!(d[0]["missingLikes"], 0);
        assert_eq!(d[0]["status"], "sudah");
        assert_eq!(
            d[0]["badges"],
            json!(["✅ Semua konten pada periode ini sudah di-like."])
        );
        assert_eq!(d[1]["username"], "@budi", "trimmed");
        assert_eq!(d[1]["completionRate"], 0.5);
        assert_eq!(d[1]["completionPercentage"], 50);
        assert_eq!(d[1]["missingLikes"], 1);
        assert_eq!(d[1]["status"], "kurang");
        assert_eq!(d[2]["status"], "belum");
        assert_eq!(d[3]["status"], "no_username");
        assert_eq!(
            d[3]["badges"],
            json!(["❗ Username Instagram belum tersedia."])
        );
        assert_eq!(d[4]["ranking"], 5);
        assert!(d[0].get("count").is_none());
        assert_eq!(b["sudahUsers"], json!(["ani"]));
        assert_eq!(b["kurangUsers"], json!(["@budi"]));
        assert_eq!(b["belumUsers"], json!(["cici"]));
        assert_eq!(b["noUsernameUsers"], json!(["DODI", "EKO"]));
        assert_eq!(
            b["noUsernameUsersDetails"][0],
            json!({"userId": "4", "name": "DODI", "division": "SAT", "clientId": "K"})
        );
        assert_eq!(b["belumUsersCount"], 3);
        assert_eq!(b["noUsernameUsersCount"], 2);
        let s = &b["summary"];
        assert_eq!(s["totalLikes"], 3);
        // Active: ani 1.0, budi 0.5, cici 0 → 50.0 %; participating 2 of 3 → 66.7 %.
        assert_eq!(s["averageCompletionPercentage"], 50.0);
        assert_eq!(s["participationRatePercentage"], 66.7);
        assert_eq!(
            s["distribution"],
            json!({"sudah": 1, "kurang": 1, "belum": 1, "noUsername": 2})
        );
        assert_eq!(
            b["chartData"][1],
            json!({"label": "BUDI", "likes": 1, "missingLikes": 1, "completionPercentage": 50})
        );
        assert_eq!(
            b["insights"],
            json!([
                "✅ 1 akun sudah me-like semua konten yang tersedia.",
                "⚠️ 1 akun masih kekurangan like pada sebagian konten.",
                "⏳ 1 akun belum memberikan like sama sekali.",
                "❗ 2 akun belum memiliki username Instagram."
            ])
        );
        assert_eq!(b["statusLegend"].as_array().unwrap().len(), 5);
        assert_eq!(b["chartHeight"], 320);
    }

    #[test]
    fn comments_use_their_own_names() {
        let r = report(rows(), Platform::Tiktok, 2, &[]);
        let d = &r.body["data"][1];
        assert_eq!(d["jumlah_komentar"], 1);
        assert_eq!(d["missingComments"], 1);
        assert!(d.get("jumlah_like").is_none());
        assert_eq!(r.body["summary"]["totalComments"], 3);
        assert_eq!(r.body["chartData"][0]["comments"], 2);
        assert_eq!(
            r.body["statusLegend"][3]["description"],
            "Belum memiliki username TikTok di sistem."
        );
    }

    #[test]
    fn a_period_without_posts() {
        let r = report(rows(), Platform::Instagram, 0, &[]);
        let b = &r.body;
        assert_eq!(b["data"][0]["status"], "no_posts");
        assert_eq!(b["data"][3]["status"], "no_username");
        assert_eq!(b["sudahUsersCount"], 0, "nobody is sudah without posts");
        assert_eq!(b["summary"]["distribution"]["noPosts"], 3);
        assert_eq!(b["summary"]["averageCompletionPercentage"], 0.0);
        assert_eq!(b["insights"][1], "ℹ️ Tidak ada konten pada periode ini.");
    }

    #[test]
    fn priority_names_come_first_and_the_rest_keep_their_order() {
        let names = vec!["cici".to_string(), " EKO ".to_string()];
        let r = report(rows(), Platform::Instagram, 2, &names);
        let order: Vec<&str> = r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["nama"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["CICI", "EKO", "ANI", "BUDI", "DODI"]);
        assert_eq!(r.body["data"][0]["ranking"], 1);
    }

    #[test]
    fn period_labels() {
        assert_eq!(period_label(None, None, None, None), "harian");
        assert_eq!(
            period_label(Some("mingguan"), Some("2026-02-02"), Some("a"), Some("b")),
            "2026-02-02"
        );
        assert_eq!(
            period_label(Some("harian"), None, Some("2026-02-01"), Some("2026-02-07")),
            "2026-02-01 s/d 2026-02-07"
        );
        assert_eq!(period_label(Some("bulanan"), None, None, None), "bulanan");
    }

    #[test]
    fn insights_from_the_counts() {
        let c = report(rows(), Platform::Instagram, 2, &[]).counts;
        let e = executive_recap(Platform::Instagram, "2026-02-07", "POLRES KEDIRI", &c);
        assert_eq!(e["platform"], "instagram");
        assert_eq!(e["summary"], "2 akun masih perlu aksi pada 2026-02-07.");
        assert_eq!(
            e["stats"],
            json!({"totalUsers": 5, "totalPosts": 2, "completedCount": 1, "partialCount": 1,
                   "notStartedCount": 1, "missingUsernameCount": 2, "complianceRate": 50.0})
        );
        let text = e["text"].as_str().unwrap();
        assert!(
            text.starts_with("Briefing Instagram\nPeriode: 2026-02-07\nClient: POLRES KEDIRI\n")
        );
        assert!(text.contains("- Kepatuhan aktif: 50%"), "{text}");
        let r = risk_summary(Platform::Tiktok, "harian", &c);
        assert_eq!(r["complianceRate"], 50.0);
        // 2 of the 3 people with a username still need to act.
        assert_eq!(r["actionNeededRate"], 66.7);
        assert_eq!(r["missingUsernameCount"], 2);
        let ids: Vec<&str> = r["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["not-started", "partial", "missing-username", "compliance"]
        );
        assert_eq!(r["alerts"][3]["severity"], "medium");
        let calm = Counts {
            total_users: 3,
            total_posts: 1,
            sudah: 3,
            average_completion: 100.0,
            ..Counts::default()
        };
        let r = risk_summary(Platform::Instagram, "harian", &calm);
        assert_eq!(r["alerts"][0]["id"], "stable");
        // No posts: no 0 % compliance alarm, an info line instead.
        let empty = Counts {
            total_users: 3,
            no_posts: 3,
            ..Counts::default()
        };
        let r = risk_summary(Platform::Instagram, "harian", &empty);
        let ids: Vec<&str> = r["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["no-posts"]);
        // Everyone without a username: no compliance alarm either.
        let blind = Counts {
            total_users: 2,
            total_posts: 2,
            no_username: 2,
            ..Counts::default()
        };
        let r = risk_summary(Platform::Instagram, "harian", &blind);
        assert!(
            r["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["id"] != "compliance"),
            "{r}"
        );
        let e = executive_recap(Platform::Instagram, "harian", "X", &calm);
        assert_eq!(e["summary"], "Semua akun aktif instagram aman pada harian.");
    }
}

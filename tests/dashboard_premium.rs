//! Issue 7e against real PostgreSQL and Redis, with requests shaped like the Cicero_Web
//! dashboard's: the legacy recap formatter fields, the premium insights (executive recap,
//! risk summary) behind the premium wall, the premium request workflow with the admin
//! decision, complaint auto-solutions and the password-reset settings.
mod common;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use common::{
    TestDb,
    dashboard::{DashApp, Options, PASSWORD},
};
use serde_json::{Value, json};

use cicero::{
    config::{PasswordReset, reset_page},
    domain::time::{jakarta_day, jakarta_day_window},
};

const ADMINS: &str = "081100000001, 081100000002";

/// The dashboard app with messaging settings; its own `call` answers status and body.
struct Env(DashApp);

impl std::ops::Deref for Env {
    type Target = DashApp;
    fn deref(&self) -> &DashApp {
        &self.0
    }
}

/// The dashboard API with `ADMIN_WHATSAPP`, `PRIORITY_USER_NAMES` and the reset settings.
async fn env_with(extra: &[(&str, &str)], reset: PasswordReset) -> Env {
    // Several identical approve/deny calls are part of the tests.
    let opts = Options {
        allow_duplicates: true,
        ..Options::default()
    };
    let e = DashApp::new(opts, |db, state| {
        state
            .with_messaging(&db.settings(extra))
            .with_password_reset(reset)
    })
    .await;
    seed(&e.db).await;
    Env(e)
}

async fn env() -> Env {
    env_with(
        &[("ADMIN_WHATSAPP", ADMINS), ("PRIORITY_USER_NAMES", "siti")],
        PasswordReset::default(),
    )
    .await
}

impl Env {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, _, b) = self.0.call(method, uri, token, body, &[]).await;
        (s, b)
    }

    /// `whatsapp_send` payloads enqueued so far, in order.
    async fn sends(&self) -> Vec<Value> {
        sqlx::query_scalar(
            "SELECT payload FROM cicero.jobs WHERE kind = 'whatsapp_send' ORDER BY id",
        )
        .fetch_all(&self.db.pool)
        .await
        .unwrap()
    }

    async fn sql(&self, sql: &'static str) {
        sqlx::raw_sql(sql).execute(&self.db.pool).await.unwrap();
    }

    async fn done(self) {
        self.0.done().await
    }
}

/// KEDIRI and BLITAR (org) and DITBINMAS (directorate). Personnel of KEDIRI, most holding the
/// ditbinmas role; today's posts P1, P2 (P1 tagged ditbinmas), an old post, a TikTok video.
/// Dashboard accounts: operators, a premium directorate account (`binmas`, tier1), a
/// directorate account without premium (`binmas_free`) and an admin.
async fn seed(db: &TestDb) {
    let hash = bcrypt::hash_with_result(PASSWORD, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoA);
    let (start, _) = jakarta_day_window(jakarta_day(Utc::now())).unwrap();
    let t1 = start + Duration::hours(2);
    let t2 = start + Duration::hours(3);
    let old = start - Duration::days(10);
    sqlx::raw_sql(
        r#"
        INSERT INTO roles (role_name) VALUES ('admin');
        INSERT INTO clients (client_id, nama, client_type, client_insta, client_tiktok, regional_id)
        VALUES ('KEDIRI', 'POLRES KEDIRI', 'org', 'polreskediri', 'polreskediri', 'JATIM'),
               ('BLITAR', 'POLRES BLITAR', 'org', 'polresblitar', NULL, 'JATIM'),
               ('DITBINMAS', 'DIREKTORAT BINMAS', 'direktorat', 'ditbinmas', NULL, 'JATIM');
        INSERT INTO "user" (user_id, nama, title, divisi, insta, tiktok, whatsapp, client_id, status)
        VALUES ('75020001', 'BUDI', 'BRIPKA', 'SAT BINMAS', 'budi_ig', 'budi_tt', '628123456789', 'KEDIRI', true),
               ('75020002', 'SITI', 'BRIPTU', 'SAT LANTAS', '@Siti_IG', NULL, NULL, 'KEDIRI', true),
               ('75020003', 'ANI', 'AIPDA', 'SAT BINMAS', NULL, NULL, '628777000111', 'KEDIRI', true),
               ('75020004', 'EKO', 'BRIPDA', 'SAT BINMAS', 'eko_ig', 'eko_tt', '628777000222', 'KEDIRI', true),
               ('75020005', 'DEDI', 'BRIPDA', 'SAT BINMAS', 'dedi_ig', NULL, '628777000333', 'KEDIRI', false),
               ('75020009', 'JOKO', 'BRIPDA', 'SAT SAMAPTA', 'joko_ig', NULL, '628555000111', 'BLITAR', true);
        INSERT INTO user_roles (user_id, role_id)
        SELECT u, role_id FROM roles,
          unnest(ARRAY['75020001','75020002','75020003','75020004','75020005','75020009']) u
        WHERE role_name = 'operator';
        INSERT INTO user_roles (user_id, role_id)
        SELECT u, role_id FROM roles, unnest(ARRAY['75020001','75020002','75020003','75020004']) u
        WHERE role_name = 'ditbinmas';
        INSERT INTO insta_profile (username, full_name, post_count, follower_count, following_count)
        VALUES ('polreskediri', 'Polres Kediri', 100, 1000, 10), ('eko_ig', 'Eko', 0, 0, 0);
        "#,
    )
    .execute(&db.pool)
    .await
    .expect("seed");
    for (name, role, client, tier, whatsapp) in [
        (
            "op_kediri",
            "operator",
            "KEDIRI",
            None,
            Some("081299990000"),
        ),
        ("op_blitar", "operator", "BLITAR", None, None),
        ("binmas", "ditbinmas", "DITBINMAS", Some("tier1"), None),
        (
            "binmas_free",
            "ditbinmas",
            "DITBINMAS",
            None,
            Some("081288880000"),
        ),
        ("admin", "admin", "KEDIRI", None, Some("081100000001")),
    ] {
        let id: String = sqlx::query_scalar(
            "INSERT INTO dashboard_user (username, password_hash, role_id, status, premium_status, \
               premium_tier, premium_expires_at, whatsapp) \
             SELECT $1, $2, role_id, true, $3 IS NOT NULL, $3, now() + interval '30 days', $5 \
             FROM roles WHERE role_name = $4 RETURNING dashboard_user_id::text",
        )
        .bind(name)
        .bind(&hash)
        .bind(tier)
        .bind(role)
        .bind(whatsapp)
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
        ("P1", "KEDIRI", t1, json!(["budi_ig", "siti_ig"])),
        ("P2", "KEDIRI", t2, json!(["budi_ig"])),
        ("POLD", "KEDIRI", old, json!(["budi_ig", "siti_ig"])),
        ("B1", "BLITAR", t1, json!(["joko_ig"])),
    ] {
        sqlx::query(
            "INSERT INTO insta_post (shortcode, client_id, caption, like_count, comment_count, created_at) \
             VALUES ($1, $2, 'caption ' || $1, 50, 3, $3)",
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
    sqlx::query(
        "INSERT INTO tiktok_post (video_id, client_id, caption, like_count, comment_count, created_at) \
         VALUES ('T1', 'KEDIRI', 'video', 5, 1, $1)",
    )
    .bind(t1)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::raw_sql(
        r#"INSERT INTO insta_post_roles (shortcode, role_name) VALUES ('P1', 'ditbinmas');
           INSERT INTO tiktok_comment (video_id, comments) VALUES ('T1', '["@Budi_TT", "@other"]');
           INSERT INTO tiktok_post_roles (video_id, role_name) VALUES ('T1', 'ditbinmas');
           INSERT INTO link_report (shortcode, user_id, instagram_link, created_at)
             SELECT 'P1', '75020001', 'https://instagram.com/p/x', created_at FROM insta_post WHERE shortcode = 'P1';"#,
    )
    .execute(&db.pool)
    .await
    .unwrap();
}

fn today() -> String {
    jakarta_day(Utc::now()).to_string()
}

fn row<'a>(body: &'a Value, nama: &str) -> &'a Value {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["nama"] == nama)
        .unwrap_or_else(|| panic!("no row {nama} in {body}"))
}

#[tokio::test]
async fn rekap_likes_and_komentar_carry_the_legacy_formatter_fields() {
    let e = env().await;
    let op = e.login("op_kediri").await;
    // KEDIRI operator view: BUDI liked both of today's posts, SITI one, EKO none, ANI has no
    // username (DEDI is inactive, JOKO is BLITAR's).
    let (s, b) = e
        .get("/api/insta/rekap-likes?periode=harian&client_id=KEDIRI&role=operator&scope=ORG&regional_id=JATIM", &op)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let names: Vec<&str> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["nama"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["SITI", "ANI", "BUDI", "EKO"],
        "PRIORITY_USER_NAMES first, then UPPER(nama)"
    );
    let budi = row(&b, "BUDI");
    assert_eq!(budi["ranking"], 3);
    assert_eq!(budi["jumlah_like"], 2);
    assert_eq!(budi["completionRate"], 1.0);
    assert_eq!(budi["completionPercentage"], 100);
    assert_eq!(budi["missingLikes"], 0);
    assert_eq!(budi["status"], "sudah");
    assert_eq!(
        budi["badges"],
        json!(["✅ Semua konten pada periode ini sudah di-like."])
    );
    let siti = row(&b, "SITI");
    assert_eq!(siti["ranking"], 1);
    assert_eq!(
        (
            siti["status"].clone(),
            siti["completionPercentage"].clone(),
            siti["missingLikes"].clone()
        ),
        (json!("kurang"), json!(50), json!(1))
    );
    assert_eq!(row(&b, "EKO")["status"], "belum");
    let ani = row(&b, "ANI");
    assert_eq!(ani["status"], "no_username");
    assert_eq!(
        ani["badges"],
        json!(["❗ Username Instagram belum tersedia."])
    );
    assert_eq!(b["sudahUsers"], json!(["budi_ig"]));
    assert_eq!(b["kurangUsers"], json!(["@Siti_IG"]));
    assert_eq!(b["belumUsers"], json!(["eko_ig"]));
    assert_eq!(b["noUsernameUsers"], json!(["ANI"]));
    assert_eq!(
        b["noUsernameUsersDetails"],
        json!([{"userId": "75020003", "name": "ANI", "division": "SAT BINMAS", "clientId": "KEDIRI"}])
    );
    assert_eq!(
        (
            b["sudahUsersCount"].clone(),
            b["kurangUsersCount"].clone(),
            b["belumUsersCount"].clone(),
            b["noUsernameUsersCount"].clone(),
            b["usersCount"].clone()
        ),
        (json!(1), json!(1), json!(2), json!(1), json!(4))
    );
    let sum = &b["summary"];
    assert_eq!(sum["totalPosts"], 2);
    assert_eq!(sum["totalUsers"], 4);
    assert_eq!(sum["totalLikes"], 3);
    // BUDI 100 %, SITI 50 %, EKO 0 % → 50.0; two of three acted → 66.7.
    assert_eq!(sum["averageCompletionPercentage"], 50.0);
    assert_eq!(sum["participationRatePercentage"], 66.7);
    assert_eq!(
        sum["distribution"],
        json!({"sudah": 1, "kurang": 1, "belum": 1, "noUsername": 1})
    );
    assert_eq!(
        b["chartData"][0],
        json!({"label": "SITI", "likes": 1, "missingLikes": 1, "completionPercentage": 50})
    );
    assert_eq!(b["insights"].as_array().unwrap().len(), 4);
    assert_eq!(
        b["insights"][3],
        "❗ 1 akun belum memiliki username Instagram."
    );
    let legend: Vec<&str> = b["statusLegend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        legend,
        ["sudah", "kurang", "belum", "no_username", "no_posts"]
    );

    // Comments: one video, BUDI commented (as @Budi_TT), EKO did not, the others have no TikTok.
    let (s, b) = e
        .get(&format!("/api/tiktok/rekap-komentar?client_id=KEDIRI&periode=harian&tanggal={}&role=operator&scope=ORG", today()), &op)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let budi = row(&b, "BUDI");
    assert_eq!(budi["jumlah_komentar"], 1);
    assert_eq!(budi["missingComments"], 0);
    assert_eq!(
        budi["badges"],
        json!(["✅ Semua konten pada periode ini sudah dikomentari."])
    );
    assert_eq!(row(&b, "EKO")["missingComments"], 1);
    assert_eq!(row(&b, "SITI")["status"], "no_username");
    assert_eq!(b["summary"]["totalComments"], 1);
    assert_eq!(
        b["summary"]["distribution"],
        json!({"sudah": 1, "kurang": 0, "belum": 1, "noUsername": 2})
    );
    assert_eq!(b["chartData"][2]["comments"], 1);
    assert!(
        b["insights"]
            .as_array()
            .unwrap()
            .contains(&json!("❗ 2 akun belum memiliki username TikTok.")),
        "{}",
        b["insights"]
    );

    // A day without posts: nobody is sudah, people with a username are no_posts.
    let empty_day = (jakarta_day(Utc::now()) - Duration::days(3)).to_string();
    let (s, b) = e
        .get(&format!("/api/insta/rekap-likes?periode=harian&tanggal={empty_day}&client_id=KEDIRI&role=operator&scope=ORG"), &op)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["totalPosts"], 0);
    assert_eq!(b["sudahUsersCount"], 0);
    assert_eq!(row(&b, "BUDI")["status"], "no_posts");
    assert_eq!(row(&b, "ANI")["status"], "no_username");
    assert_eq!(b["summary"]["distribution"]["noPosts"], 3);
    assert!(
        b["insights"]
            .as_array()
            .unwrap()
            .contains(&json!("ℹ️ Tidak ada konten pada periode ini."))
    );
    e.done().await;
}

/// The insight query as the dashboard sends it, and the rekap query of the same view.
fn insight_and_rekap(platform: &str, view: &str) -> (String, String) {
    let d = today();
    let dates = format!("periode=harian&tanggal={d}&start_date={d}&end_date={d}");
    let rekap = if platform == "instagram" {
        "/api/insta/rekap-likes"
    } else {
        "/api/tiktok/rekap-komentar"
    };
    match view {
        // Directorate view: the rekap call leaves client_id out (contract §2.4).
        "direktorat" => (
            format!(
                "platform={platform}&client_id=DITBINMAS&scope=direktorat&role=ditbinmas&regional_id=JATIM&{dates}"
            ),
            format!("{rekap}?{dates}&role=ditbinmas&scope=DIREKTORAT&regional_id=JATIM"),
        ),
        _ => (
            format!("platform={platform}&client_id=KEDIRI&scope=org&role=ditbinmas&{dates}"),
            format!("{rekap}?{dates}&client_id=KEDIRI&role=ditbinmas&scope=ORG"),
        ),
    }
}

#[tokio::test]
async fn premium_insights_report_the_rekap_totals_behind_the_premium_wall() {
    let e = env().await;
    let binmas = e.login("binmas").await;
    for platform in ["instagram", "tiktok"] {
        for view in ["direktorat", "org"] {
            let (q, rekap_uri) = insight_and_rekap(platform, view);
            let (s, rekap) = e.get(&rekap_uri, &binmas).await;
            assert_eq!(s, StatusCode::OK, "{rekap_uri}: {rekap}");
            let (s, b) = e
                .get(
                    &format!("/api/dashboard/premium/executive-recap?{q}"),
                    &binmas,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{q}: {b}");
            let d = &b["data"];
            assert_eq!(d["platform"], platform);
            assert_eq!(d["periodLabel"], today());
            let st = &d["stats"];
            assert_eq!(st["totalUsers"], rekap["usersCount"], "{q}");
            assert_eq!(st["totalPosts"], rekap["totalPosts"], "{q}");
            assert_eq!(st["completedCount"], rekap["sudahUsersCount"], "{q}");
            assert_eq!(st["partialCount"], rekap["kurangUsersCount"], "{q}");
            assert_eq!(
                st["notStartedCount"], rekap["summary"]["distribution"]["belum"],
                "{q}"
            );
            assert_eq!(
                st["missingUsernameCount"], rekap["noUsernameUsersCount"],
                "{q}"
            );
            assert!(d["summary"].as_str().is_some_and(|s| !s.is_empty()));
            let text = d["text"].as_str().unwrap();
            assert!(
                text.starts_with(&format!(
                    "Briefing {}\nPeriode: {}\n",
                    if platform == "instagram" {
                        "Instagram"
                    } else {
                        "TikTok"
                    },
                    today()
                )),
                "{text}"
            );
            let (s, r) = e
                .get(&format!("/api/dashboard/premium/risk-summary?{q}"), &binmas)
                .await;
            assert_eq!(s, StatusCode::OK, "{q}: {r}");
            let r = &r["data"];
            assert_eq!(r["platform"], platform);
            assert_eq!(r["periodLabel"], today());
            assert_eq!(
                r["complianceRate"],
                rekap["summary"]["averageCompletionPercentage"]
            );
            assert_eq!(r["missingUsernameCount"], rekap["noUsernameUsersCount"]);
            assert!(r["actionNeededRate"].is_number());
            let alerts = r["alerts"].as_array().unwrap();
            assert!(!alerts.is_empty());
            for a in alerts {
                for k in ["id", "severity", "title", "detail", "action"] {
                    assert!(a[k].is_string(), "{k} in {a}");
                }
            }
        }
    }
    // Concrete numbers of the directorate Instagram view: members are the ditbinmas role
    // holders (BUDI, SITI, ANI, EKO), the post is P1 (tagged ditbinmas).
    let (q, _) = insight_and_rekap("instagram", "direktorat");
    let (_, b) = e
        .get(
            &format!("/api/dashboard/premium/executive-recap?{q}"),
            &binmas,
        )
        .await;
    assert_eq!(
        b["data"]["stats"],
        json!({"totalUsers": 4, "totalPosts": 1, "completedCount": 2, "partialCount": 0,
               "notStartedCount": 1, "missingUsernameCount": 1, "complianceRate": 66.7})
    );
    let (_, r) = e
        .get(&format!("/api/dashboard/premium/risk-summary?{q}"), &binmas)
        .await;
    assert_eq!(r["data"]["actionNeededRate"], 33.3);
    assert_eq!(r["data"]["alerts"][0]["id"], "not-started");

    // Bad platform: 400.
    let (s, b) = e
        .get(
            "/api/dashboard/premium/executive-recap?platform=facebook&client_id=DITBINMAS&scope=direktorat&role=ditbinmas",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["success"], false);

    // Tenant isolation: another client (no ditbinmas people there) is 403, as is an operator
    // reaching for another client.
    let (s, b) = e
        .get(
            "/api/dashboard/premium/executive-recap?platform=instagram&client_id=BLITAR&scope=org&role=ditbinmas",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(b.get("reason").is_none());
    let blitar = e.login("op_blitar").await;
    let (s, _) = e
        .get(
            "/api/dashboard/premium/risk-summary?platform=instagram&client_id=KEDIRI&scope=org&role=operator",
            &blitar,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The premium wall: no premium, expired premium.
    let free = e.login("binmas_free").await;
    let (q, _) = insight_and_rekap("instagram", "direktorat");
    for uri in [
        format!("/api/dashboard/premium/executive-recap?{q}"),
        format!("/api/dashboard/premium/risk-summary?{q}"),
    ] {
        let (s, b) = e.get(&uri, &free).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{uri}: {b}");
        assert_eq!(b["message"], "Akses premium diperlukan untuk endpoint ini");
        assert!(b.get("premium_tier").is_some());
        assert!(b.get("reason").is_none(), "the user stays logged in");
    }
    e.sql("UPDATE dashboard_user SET premium_status = true, premium_tier = 'tier1', premium_expires_at = now() - interval '1 day' WHERE username = 'binmas_free'")
        .await;
    let (s, b) = e
        .get(&format!("/api/dashboard/premium/risk-summary?{q}"), &free)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(b["message"], "Langganan premium telah kedaluwarsa");
    e.done().await;
}

async fn jobs_of(e: &Env, prefix: &str) -> Vec<Value> {
    e.sends()
        .await
        .into_iter()
        .filter(|p| {
            p["idempotency_key"]
                .as_str()
                .is_some_and(|k| k.starts_with(prefix))
        })
        .collect()
}

async fn audit(e: &Env, id: i64) -> Vec<(String, String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT action, actor, status_from, status_to FROM dashboard_premium_request_audit \
         WHERE request_id = $1 ORDER BY audit_id",
    )
    .bind(id as i32)
    .fetch_all(&e.db.pool)
    .await
    .unwrap()
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

fn near(t: DateTime<Utc>, want: DateTime<Utc>) -> bool {
    (t - want).num_seconds().abs() < 120
}

#[tokio::test]
async fn premium_requests_are_confirmed_and_decided_by_an_admin() {
    let e = env().await;
    let free = e.login("binmas_free").await;
    let admin = e.login("admin").await;
    let binmas = e.login("binmas").await;

    // Create without proof: pending, admins told once (two numbers).
    let body = json!({"premium_tier": "premium_1", "bank_name": "BRI", "account_number": "123",
                      "sender_name": "BUDI", "transfer_amount": 150000, "client_id": "DITBINMAS"});
    let (s, b) = e
        .call(
            "POST",
            "/api/premium/request",
            Some(&free),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let req = &b["request"];
    let token = req["request_token"].as_str().unwrap().to_owned();
    let id = req["request_id"].as_i64().unwrap();
    assert_eq!(req["status"], "pending");
    assert_eq!(req["metadata"]["admin_notification_sent"], true);
    let admin_jobs = jobs_of(&e, &format!("premium_request:{id}:admin:")).await;
    let to: Vec<&str> = admin_jobs
        .iter()
        .map(|j| j["to"].as_str().unwrap())
        .collect();
    assert_eq!(to, ["6281100000001@c.us", "6281100000002@c.us"]);
    let text = admin_jobs[0]["text"].as_str().unwrap();
    assert!(text.starts_with("📢 permintaan akses premium"), "{text}");
    assert!(text.contains("- Username: binmas_free"), "{text}");
    assert!(text.contains("- Jumlah Transfer: Rp 150.000"), "{text}");
    assert!(text.contains(&format!("Token: {token}")), "{text}");

    // Only the owner reads it by token.
    let (s, b) = e.get(&format!("/api/premium/request/{token}"), &free).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["request"]["request_id"], id);
    assert_eq!(b["request"]["locked"], true);
    let (s, _) = e
        .get(&format!("/api/premium/request/{token}"), &binmas)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = e
        .get(
            "/api/premium/request/00000000-0000-0000-0000-000000000000",
            &free,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Confirm: owner only; confirmed for 48 h; the admins are not told a second time.
    let confirm = format!("/api/premium/request/{token}/confirm");
    let (s, _) = e.call("PUT", &confirm, Some(&binmas), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = e
        .call(
            "PUT",
            &confirm,
            Some(&free),
            Some(json!({"proof_url": "https://example.com/bukti.jpg"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["request"]["status"], "confirmed");
    assert_eq!(b["request"]["proof_url"], "https://example.com/bukti.jpg");
    assert!(near(
        at(&b["request"]["expired_at"]),
        Utc::now() + Duration::hours(48)
    ));
    assert_eq!(
        jobs_of(&e, &format!("premium_request:{id}:admin:"))
            .await
            .len(),
        2
    );
    assert_eq!(
        b["request"]["metadata"]["admin_notified_status"], "pending",
        "notified once, on create"
    );
    let (s, _) = e.call("PUT", &confirm, Some(&free), None).await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "only a pending request is confirmed"
    );

    // The decision is the admin's: others get 403, nothing changes.
    let approve = format!("/api/premium/request/{token}/approve");
    for who in [&free, &binmas] {
        let (s, b) = e.call("PUT", &approve, Some(who), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        assert!(b.get("reason").is_none());
    }
    let (s, _) = e
        .call(
            "PUT",
            &format!("/api/premium/request/{token}/deny"),
            Some(&free),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        e.db.count("SELECT count(*) FROM dashboard_user_subscriptions")
            .await,
        0
    );

    // Approve: an active subscription for 30 days, the cached columns, the audit trail.
    let (s, b) = e.call("PUT", &approve, Some(&admin), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["request"]["status"], "approved");
    let sub = &b["subscription"];
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["tier"], "premium_1");
    assert!(near(
        at(&sub["expires_at"]),
        Utc::now() + Duration::days(30)
    ));
    let (status, tier, expires): (bool, String, DateTime<Utc>) = sqlx::query_as(
        "SELECT premium_status, premium_tier, premium_expires_at FROM dashboard_user WHERE username = 'binmas_free'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert!(status);
    assert_eq!(tier, "premium_1");
    assert!(near(expires, Utc::now() + Duration::days(30)));
    assert_eq!(
        audit(&e, id).await,
        vec![
            (
                "created".into(),
                "binmas_free".into(),
                None,
                Some("pending".into())
            ),
            (
                "confirmed".into(),
                "binmas_free".into(),
                Some("pending".into()),
                Some("confirmed".into())
            ),
            (
                "approved".into(),
                "admin".into(),
                Some("confirmed".into()),
                Some("approved".into())
            ),
        ]
    );
    let told = jobs_of(&e, &format!("premium_request:{id}:approved")).await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["to"], "6281288880000@c.us");
    // The requester's profile now shows premium, and the premium insights open.
    let (s, b) = e
        .get(
            "/api/clients/profile?client_id=DITBINMAS&role=ditbinmas",
            &free,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["client"]["premium_status"], true);
    assert_eq!(b["client"]["premium_tier"], "premium_1");
    let (q, _) = insight_and_rekap("instagram", "direktorat");
    let (s, b) = e
        .get(
            &format!("/api/dashboard/premium/executive-recap?{q}"),
            &free,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // A decided request is not decided again.
    let (s, _) = e.call("PUT", &approve, Some(&admin), None).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // A second request, with proof (confirmed at once, admins told once), denied.
    let (s, b) = e
        .call(
            "POST",
            "/api/premium/request",
            Some(&free),
            Some(
                json!({"bank_name": "BNI", "account_number": "9", "sender_name": "SITI",
                        "proof_url": "https://example.com/2.jpg"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (token2, id2) = (
        b["request"]["request_token"].as_str().unwrap().to_owned(),
        b["request"]["request_id"].as_i64().unwrap(),
    );
    assert_eq!(b["request"]["status"], "confirmed");
    assert_eq!(
        jobs_of(&e, &format!("premium_request:{id2}:admin:"))
            .await
            .len(),
        2
    );
    let (s, _) = e
        .call(
            "PUT",
            &format!("/api/premium/request/{token2}/confirm"),
            Some(&free),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, b) = e
        .call(
            "PUT",
            &format!("/api/premium/request/{token2}/deny"),
            Some(&admin),
            Some(json!({"note": "transfer tidak ditemukan"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["request"]["status"], "denied");
    let trail = audit(&e, id2).await;
    assert_eq!(trail.last().unwrap().0, "denied");
    assert_eq!(trail.last().unwrap().2.as_deref(), Some("confirmed"));
    assert_eq!(
        jobs_of(&e, &format!("premium_request:{id2}:denied"))
            .await
            .len(),
        1
    );

    // A third one approved with an explicit expiry (through the end of that Jakarta day).
    let (_, b) = e
        .call("POST", "/api/premium/request", Some(&free), Some(body))
        .await;
    let token3 = b["request"]["request_token"].as_str().unwrap().to_owned();
    // An unknown tier is refused and changes nothing.
    let (s, b) = e
        .call(
            "PUT",
            &format!("/api/premium/request/{token3}/approve"),
            Some(&admin),
            Some(json!({"premium_tier": "gold"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = e
        .call(
            "PUT",
            &format!("/api/premium/request/{token3}/approve"),
            Some(&admin),
            Some(json!({"subscription_expires_at": "2031-01-31"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        at(&b["subscription"]["expires_at"]),
        at(&json!("2031-01-31T17:00:00Z"))
    );
    assert_eq!(
        at(&b["request"]["subscription_expires_at"]),
        at(&json!("2031-01-31T17:00:00Z"))
    );
    // The first grant was replaced, not left active beside the new one.
    let active: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT s.status, s.expires_at FROM dashboard_user_subscriptions s \
         JOIN dashboard_user d USING (dashboard_user_id) \
         WHERE d.username = 'binmas_free' AND s.status = 'active'",
    )
    .fetch_all(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0].1, at(&json!("2031-01-31T17:00:00Z")));
    e.done().await;
}

#[tokio::test]
async fn mobile_premium_requests_are_decided_by_an_admin() {
    let e = env().await;
    let admin = e.login("admin").await;
    let op = e.login("op_kediri").await;
    e.sql(
        "INSERT INTO premium_request (user_id, sender_name, account_number, bank_name, status) \
         VALUES ('75020001', 'BUDI', '1', 'BRI', 'pending'), ('75020004', 'EKO', '2', 'BRI', 'pending')",
    )
    .await;
    let ids: Vec<i32> =
        sqlx::query_scalar("SELECT request_id FROM premium_request ORDER BY request_id")
            .fetch_all(&e.db.pool)
            .await
            .unwrap();
    let (s, _) = e
        .call(
            "PUT",
            &format!("/api/premium-requests/{}/approve", ids[0]),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = e
        .call(
            "PUT",
            &format!("/api/premium-requests/{}/approve", ids[0]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "approved");
    let (on, end): (bool, chrono::NaiveDate) = sqlx::query_as(
        "SELECT premium_status, premium_end_date FROM \"user\" WHERE user_id = '75020001'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert!(on);
    assert_eq!(end, jakarta_day(Utc::now()) + Duration::days(30));
    let (s, _) = e
        .call(
            "PUT",
            &format!("/api/premium-requests/{}/approve", ids[0]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, b) = e
        .call(
            "PUT",
            &format!("/api/premium-requests/{}/deny", ids[1]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let status: String =
        sqlx::query_scalar("SELECT status FROM premium_request WHERE request_id = $1")
            .bind(ids[1])
            .fetch_one(&e.db.pool)
            .await
            .unwrap();
    assert_eq!(status, "rejected");
    let told = jobs_of(&e, "mobile_premium_request:").await;
    assert_eq!(told.len(), 2);
    assert_eq!(told[0]["text"], "✅ Langganan premium Anda aktif.");
    e.done().await;
}

/// Files a complaint as the dashboard does and returns the text of the message enqueued for
/// the dashboard user (every complaint reaches them; the person may lack a number).
async fn complain(e: &Env, token: &str, path: &str, body: Value) -> (Value, String) {
    let before = e.sends().await.len();
    let (s, b) = e
        .call(
            "POST",
            &format!("/api/dashboard/komplain/{path}"),
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let sends = e.sends().await;
    let mine: Vec<&Value> = sends[before..]
        .iter()
        .filter(|p| p["to"] == "6281299990000@c.us")
        .collect();
    assert_eq!(mine.len(), 1, "{sends:?}");
    let text = mine[0]["text"].as_str().unwrap().to_owned();
    assert_eq!(b["data"]["text"], text);
    (b, text)
}

#[tokio::test]
async fn complaints_get_the_legacy_automatic_solutions() {
    let e = env().await;
    let op = e.login("op_kediri").await;
    let day = jakarta_day(Utc::now());

    // BUDI's likes are recorded (P1, P2 and the old post): the recorded-activity summary.
    let (b, text) = complain(
        &e,
        &op,
        "insta",
        json!({"nrp": "75020001", "client_id": "KEDIRI", "issue": "Sudah melaksanakan like IG tetapi belum terdata",
               "username_ig": "budi_ig"}),
    )
    .await;
    assert_eq!(b["data"]["knownIssues"], json!(["instagram_not_recorded"]));
    let want = format!(
        "*Solusi/Tindak Lanjut*:\nRingkasan pengecekan: akun *@budi_ig* tercatat memberikan like pada 3 konten Instagram dalam periode 1 September 2025 hingga {}.",
        cicero::domain::complaint::id_date(day)
    );
    assert!(text.contains(&want), "{text}");
    assert!(text.contains("*Absensi Likes Instagram*"), "{text}");
    // The person's own message carries the same text.
    let personal: Vec<Value> = e
        .sends()
        .await
        .into_iter()
        .filter(|p| p["to"] == "628123456789@c.us")
        .collect();
    assert_eq!(personal.len(), 1);
    assert_eq!(personal[0]["text"], text);

    // SITI, by message with several issues: TikTok (no handle stored; asked twice, answered
    // once) and missing link tasks (P1 and P2 have no report from her).
    let msg = "Pesan Komplain\nNRP: 75020002\nNama: SITI\nTikTok: @siti.tt\nKendala:\n\
               1. Sudah melaksanakan komentar TikTok tapi belum terdata\n\
               2. sudah melaksanakan tapi terabsen kurang\n\
               3. sudah melaksanakan tt tidak terdata";
    let (b, text) = complain(
        &e,
        &op,
        "tiktok",
        json!({"nrp": "75020002", "message": msg}),
    )
    .await;
    assert_eq!(
        b["data"]["knownIssues"],
        json!(["tiktok_not_recorded", "attendance_less"])
    );
    assert_eq!(text.matches("Perbandingan data:").count(), 1, "{text}");
    assert!(
        text.contains("- Username pada database Cicero: Belum tercatat.\n- Username pada pesan komplain: @siti.tt"),
        "{text}"
    );
    assert!(
        text.contains("3. Pilih menu *Update Data Personil* kemudian perbarui username TikTok."),
        "{text}"
    );
    assert!(
        text.contains("1. Buka tautan berikut: https://papiqo.com/claim"),
        "{text}"
    );
    assert!(
        text.contains("hari ini:\n1. caption P1\n   https://www.instagram.com/p/P1/\n2. caption P2\n   https://www.instagram.com/p/P2/\n"),
        "{text}"
    );
    // BUDI reported P1: only P2 is pending for him.
    let (_, text) = complain(
        &e,
        &op,
        "insta",
        json!({"nrp": "75020001", "issue": "sudah melaksanakan tapi absen kurang"}),
    )
    .await;
    assert!(
        text.contains("hari ini:\n1. caption P2\n   https://www.instagram.com/p/P2/\n"),
        "{text}"
    );

    // EKO: no recorded likes, a stored profile that is all zeros.
    let (_, text) = complain(
        &e,
        &op,
        "insta",
        json!({"nrp": "75020004", "issue": "sudah melaksanakan instagram belum terdata"}),
    )
    .await;
    assert!(
        text.contains("Instagram (@eko_ig): Postingan 0 | Followers 0 | Following 0"),
        "{text}"
    );
    assert!(text.contains("terlihat tanpa aktivitas"), "{text}");
    assert!(text.contains("https://papiqo.com/claim"), "{text}");

    // EKO flagged "belum melaksanakan" with no active account: no automatic answer, the
    // default follow-up.
    let (b, text) = complain(
        &e,
        &op,
        "tiktok",
        json!({"nrp": "75020004", "issue": "status belum melaksanakan padahal sudah"}),
    )
    .await;
    assert_eq!(
        b["data"]["knownIssues"],
        json!(["activity_flagged_not_done"])
    );
    assert!(text.contains("https://papiqo.com/claim"), "{text}");
    assert!(!text.contains("Status akun yang tercatat"), "{text}");

    // ANI has neither username: update instructions.
    let (b, text) = complain(
        &e,
        &op,
        "insta",
        json!({"nrp": "75020003", "issue": "Kendala akses atau data tidak sesuai"}),
    )
    .await;
    assert_eq!(b["data"]["issue"], "Akun sosial media masih belum terisi");
    assert!(
        text.contains("*Kendala*:\nAkun sosial media masih belum terisi\n\n*Solusi/Tindak Lanjut*:\nBelum terdapat username Instagram maupun TikTok pada data personel."),
        "{text}"
    );
    assert!(
        text.contains("perbarui username Instagram dan TikTok."),
        "{text}"
    );
    assert!(
        text.ends_with("Tautan update data personel: https://papiqo.com/claim"),
        "{text}"
    );

    // DEDI is inactive: activation first.
    let (_, text) = complain(
        &e,
        &op,
        "insta",
        json!({"nrp": "75020005", "issue": "sudah melaksanakan ig belum terdata"}),
    )
    .await;
    assert!(
        text.contains("*Solusi/Tindak Lanjut*:\nAkun Cicero personel saat ini *tidak aktif*."),
        "{text}"
    );

    // A solution the caller wrote is sent as it is.
    let (_, text) = complain(
        &e,
        &op,
        "insta",
        json!({"nrp": "75020004", "issue": "sudah melaksanakan ig belum terdata", "solusi": "Sudah kami cek manual."}),
    )
    .await;
    assert!(
        text.ends_with("*Solusi/Tindak Lanjut*:\nSudah kami cek manual."),
        "{text}"
    );
    e.done().await;
}

#[tokio::test]
async fn password_reset_uses_the_configured_link_and_lifetime() {
    let e = env_with(
        &[],
        PasswordReset {
            page: reset_page(Some("https://dash.example/app/")),
            token_minutes: 30,
        },
    )
    .await;
    let (s, _) = e
        .call(
            "POST",
            "/api/auth/dashboard-password-reset/request",
            None,
            Some(json!({"username": "op_kediri", "contact": "081299990000"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let sends = e.sends().await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    let text = sends[0]["text"].as_str().unwrap();
    let base = "https://dash.example/app/reset-password?token=";
    let i = text
        .find(base)
        .unwrap_or_else(|| panic!("no configured link in {text}"));
    assert!(text.contains("dalam 30 menit"), "{text}");
    let token = &text[i + base.len()..i + base.len() + 36];
    let minutes: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 / 60 FROM dashboard_password_resets",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert!((minutes - 30.0).abs() < 0.1, "{minutes}");
    // The token of the configured link works.
    let (s, b) = e
        .call(
            "POST",
            "/api/auth/dashboard-password-reset/confirm",
            None,
            Some(json!({"token": token, "password": "barupass123", "confirmPassword": "barupass123"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    e.done().await;
}

#[test]
fn openapi_describes_the_new_routes() {
    let doc: Value = serde_json::from_str(cicero::http::OPENAPI).unwrap();
    for (path, method) in [
        ("/api/dashboard/premium/executive-recap", "get"),
        ("/api/dashboard/premium/risk-summary", "get"),
        ("/api/premium/request/{token}", "get"),
        ("/api/premium/request/{token}/confirm", "put"),
        ("/api/premium/request/{token}/approve", "put"),
        ("/api/premium/request/{token}/deny", "put"),
        ("/api/premium-requests/{id}/approve", "put"),
        ("/api/premium-requests/{id}/deny", "put"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "openapi.json lacks {method} {path}"
        );
    }
}

#[tokio::test]
async fn the_expiry_job_closes_subscriptions_requests_and_personnel_premium() {
    let e = env().await;
    e.sql(
        r#"
        UPDATE dashboard_user SET whatsapp = '081100000099', premium_status = true,
               premium_tier = 'tier1', premium_expires_at = now() - interval '1 hour'
         WHERE username = 'binmas_free';
        INSERT INTO dashboard_user_subscriptions (dashboard_user_id, tier, status, started_at, expires_at)
        SELECT dashboard_user_id, 'tier1', 'active', now() - interval '30 days', now() - interval '1 hour'
          FROM dashboard_user WHERE username = 'binmas_free';
        INSERT INTO dashboard_user_subscriptions (dashboard_user_id, tier, status, started_at, expires_at)
        SELECT dashboard_user_id, 'tier2', 'active', now(), now() + interval '10 days'
          FROM dashboard_user WHERE username = 'binmas';
        INSERT INTO dashboard_premium_request (dashboard_user_id, username, bank_name, account_number,
               sender_name, premium_tier, status, expired_at)
        SELECT dashboard_user_id, username, 'BRI', '1', 'X', 'premium_1', 'pending', now() - interval '1 minute'
          FROM dashboard_user WHERE username = 'binmas_free';
        INSERT INTO dashboard_premium_request (dashboard_user_id, username, bank_name, account_number,
               sender_name, premium_tier, status, expired_at)
        SELECT dashboard_user_id, username, 'BRI', '2', 'Y', 'premium_1', 'confirmed', now() + interval '1 day'
          FROM dashboard_user WHERE username = 'binmas';
        UPDATE "user" SET premium_status = true,
               premium_end_date = (now() AT TIME ZONE 'Asia/Jakarta')::date - 1
         WHERE user_id = '75020001';
        UPDATE "user" SET premium_status = true,
               premium_end_date = (now() AT TIME ZONE 'Asia/Jakarta')::date + 7
         WHERE user_id = '75020002';
        "#,
    )
    .await;
    let run = || async {
        let job = cicero::platform::jobs::enqueue(
            &e.db.pool,
            &cicero::platform::jobs::NewJob::new("expire_premium", json!({})),
        )
        .await
        .unwrap();
        let w = e.db.worker(&["maintenance"], &[]);
        e.db.wait_state(job.id, "done", 30).await;
        w.stop().await;
        let result: Value = sqlx::query_scalar("SELECT result FROM cicero.jobs WHERE id = $1")
            .bind(job.id)
            .fetch_one(&e.db.pool)
            .await
            .unwrap();
        result
    };
    let r = run().await;
    assert_eq!(r["subscriptions_expired"], 1, "{r}");
    assert_eq!(r["requests_expired"], 1, "{r}");
    assert_eq!(r["personnel_expired"], 1, "{r}");

    let subs: Vec<(String, String)> = sqlx::query_as(
        "SELECT d.username, s.status FROM dashboard_user_subscriptions s \
         JOIN dashboard_user d USING (dashboard_user_id) ORDER BY d.username",
    )
    .fetch_all(&e.db.pool)
    .await
    .unwrap();
    assert!(
        subs.contains(&("binmas_free".into(), "expired".into())),
        "{subs:?}"
    );
    assert!(
        subs.contains(&("binmas".into(), "active".into())),
        "{subs:?}"
    );
    let cache: (bool, Option<String>) = sqlx::query_as(
        "SELECT premium_status, premium_tier FROM dashboard_user WHERE username = 'binmas_free'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(cache, (false, None), "the cached premium follows");
    let requests: Vec<(String, String)> =
        sqlx::query_as("SELECT username, status FROM dashboard_premium_request ORDER BY username")
            .fetch_all(&e.db.pool)
            .await
            .unwrap();
    assert!(requests.contains(&("binmas_free".into(), "expired".into())));
    assert!(requests.contains(&("binmas".into(), "confirmed".into())));
    let (actor, from): (String, String) = sqlx::query_as(
        "SELECT actor, status_from FROM dashboard_premium_request_audit WHERE action = 'expired'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!((actor.as_str(), from.as_str()), ("system", "pending"));
    let personnel: Vec<(String, bool)> = sqlx::query_as(
        "SELECT user_id, coalesce(premium_status, false) FROM \"user\" \
         WHERE user_id IN ('75020001', '75020002') ORDER BY user_id",
    )
    .fetch_all(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(
        personnel,
        [("75020001".into(), false), ("75020002".into(), true)]
    );
    let told = jobs_of(&e, "subscription_expired:").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["to"], "6281100000099@c.us");
    assert!(
        told[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("🔔 Langganan dashboard Anda sudah berakhir."),
        "{}",
        told[0]
    );
    let told = jobs_of(&e, "premium_request:").await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("⏰ Permintaan premium dashboard Anda kedaluwarsa.")
    );

    // A second run finds nothing and sends nothing.
    let sends = e.sends().await.len();
    let r = run().await;
    assert_eq!(
        (
            r["subscriptions_expired"].clone(),
            r["requests_expired"].clone(),
            r["personnel_expired"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
    assert_eq!(e.sends().await.len(), sends);
    e.done().await;
}

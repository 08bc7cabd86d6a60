//! The claim portal of the newer dashboard client (contract §2.12) against real PostgreSQL,
//! Redis and a local SMTP sink (aiosmtpd), with requests shaped like the portal's (JSON
//! content type, `Authorization: Bearer <claim_token>` from `POST /api/auth/user-login`).
mod common;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use cicero::{
    domain::time::{jakarta_day, jakarta_day_window},
    http::claim::register::portal_password_matches,
};
use common::{
    TestDb,
    dashboard::{DashApp, ORIGIN, Options},
    send,
    smtp::Smtp,
};

const REDIS_URL: &str = "redis://127.0.0.1:6379";
const BUDI: &str = "75020001";
const SITI: &str = "75020002";
const ANI: &str = "75020003";
const DEWI: &str = "75020010";
/// Added by the tests that need a person with neither a WhatsApp number nor an e-mail.
const EKO: &str = "75020004";
/// Where the confirmation links point (`PUBLIC_API_URL` of [`env`], trailing `/` dropped).
const CONFIRM: &str = "https://api.cicero.test/api/claim/register/confirm?token=";

/// The dashboard app with the messaging settings the portal needs; its own `call`.
struct Env(DashApp);

impl std::ops::Deref for Env {
    type Target = DashApp;
    fn deref(&self) -> &DashApp {
        &self.0
    }
}

async fn env() -> Env {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| REDIS_URL.into());
    let opts = Options {
        max_attempts: 50,
        ..Options::default()
    };
    let e = DashApp::new(opts, |db, state| {
        // The OTP store shares the dashboard's per-test key prefix, so `done` clears both.
        let prefix = format!("{}:", db.name);
        let settings = db.settings(&[
            ("REDIS_PREFIX", &prefix),
            ("REDIS_URL", &url),
            ("PUBLIC_API_URL", "https://api.cicero.test/"),
        ]);
        state.with_messaging(&settings)
    })
    .await;
    seed(&e.db).await;
    Env(e)
}

impl Env {
    /// A request like the portal's: JSON content type, the bearer token when there is one.
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.raw(method, uri, token, body.map(|b| b.to_string()))
            .await
    }

    async fn raw(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| ("authorization", b))
            .into_iter()
            .collect();
        let mut all = vec![("origin", ORIGIN)];
        all.extend(headers);
        let (s, _, b) = send(&self.0.app, method, uri, body.unwrap_or_default(), &all).await;
        (s, b)
    }

    async fn post(&self, uri: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call("POST", uri, token, Some(body)).await
    }

    async fn get(&self, uri: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", uri, Some(token), None).await
    }

    /// Personnel login as the portal does it (legacy: the WhatsApp number as password).
    async fn login(&self, nrp: &str, password: &str) -> String {
        let (s, b) = self
            .post(
                "/api/auth/user-login",
                None,
                json!({"nrp": nrp, "password": password}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{nrp}: {b}");
        let token = b["token"].as_str().expect("token").to_owned();
        assert_eq!(token.split('.').count(), 3, "a three-part JWT");
        token
    }

    async fn done(self) {
        self.0.done().await
    }
}

/// The `error_code` and `message` of an error answer (the message must be there).
fn code(b: &Value) -> &str {
    assert_eq!(b["success"], json!(false), "{b}");
    assert!(
        b["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message: {b}"
    );
    b["error_code"].as_str().unwrap_or_default()
}

/// Two clients, five people, dashboard accounts, today's posts with likes and comments (all
/// collected two hours ago), an old post, stored social profiles.
async fn seed(db: &TestDb) {
    let (start, _) = jakarta_day_window(jakarta_day(Utc::now())).unwrap();
    let t1 = start + Duration::hours(2);
    let t2 = start + Duration::hours(3);
    let old = start - Duration::days(10);
    let hash = bcrypt::hash("rahasia123", 4).unwrap();
    sqlx::raw_sql(
        r#"
        INSERT INTO clients (client_id, nama, client_type, client_insta, client_tiktok)
        VALUES ('KEDIRI', 'POLRES KEDIRI', 'org', 'polreskediri', '@PolresKediri'),
               ('BLITAR', 'POLRES BLITAR', 'org', 'polresblitar', NULL);
        INSERT INTO "user" (user_id, nama, title, divisi, insta, tiktok, whatsapp, email, client_id, status)
        VALUES ('75020001', 'BUDI', 'BRIPKA', 'SAT BINMAS', 'budi_ig', '@budi_tt', '628123456789', 'budi@polri.test', 'KEDIRI', true),
               ('75020002', 'SITI', 'BRIPTU', 'SAT LANTAS', '@Siti_IG', NULL, '628111222333', NULL, 'KEDIRI', true),
               ('75020003', 'ANI', 'AIPDA', 'SAT BINMAS', NULL, NULL, '628777888999', NULL, 'KEDIRI', true),
               ('75020009', 'JOKO', 'BRIPDA', 'SAT SAMAPTA', 'joko_ig', NULL, '628555000111', NULL, 'BLITAR', true),
               ('75020010', 'DEWI', 'BRIPDA', 'SAT BINMAS', 'dewi_ig', NULL, '628999000111', 'dewi@polri.test', 'KEDIRI', false);
        INSERT INTO user_roles (user_id, role_id)
        SELECT u, role_id FROM roles, unnest(ARRAY['75020001','75020002','75020003']) u WHERE role_name = 'operator';
        INSERT INTO user_roles (user_id, role_id) SELECT '75020001', role_id FROM roles WHERE role_name = 'ditbinmas';
        INSERT INTO instagram_user (user_id, username, full_name, is_private, is_verified, profile_pic_url)
        VALUES ('111', 'budi_ig', 'Budi Santoso', false, false, 'https://cdn.example/budi.jpg');
        INSERT INTO instagram_user_metrics (user_id, follower_count, following_count, media_count)
        VALUES ('111', 120, 80, 15);
        INSERT INTO insta_profile (username, full_name, follower_count, following_count)
        VALUES ('polreskediri', 'Polres Kediri', 1000, 10);
        INSERT INTO satbinmas_tiktok_accounts (author_secuid, username, display_name, is_verified, is_private, followers, following, video_count)
        VALUES ('sec-1', 'budi_tt', 'Budi TT', false, false, 5, 6, 7);
        "#,
    )
    .execute(&db.pool)
    .await
    .expect("seed");
    for (name, client, whatsapp, status) in [
        ("op_kediri", "KEDIRI", Some("081299990000"), true),
        ("op_kediri_pending", "KEDIRI", Some("081299990001"), false),
        ("op_kediri_nowa", "KEDIRI", None, true),
        ("op_blitar", "BLITAR", Some("081299990002"), true),
    ] {
        let id: String = sqlx::query_scalar(
            "INSERT INTO dashboard_user (username, password_hash, role_id, status, whatsapp) \
             SELECT $1, $2, role_id, $3, $4 FROM roles WHERE role_name = 'operator' \
             RETURNING dashboard_user_id::text",
        )
        .bind(name)
        .bind(&hash)
        .bind(status)
        .bind(whatsapp)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO dashboard_user_clients VALUES ($1::uuid, $2)")
            .bind(&id)
            .bind(client)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    for (sc, client, at, count, likes) in [
        ("P1", "KEDIRI", t1, 2, Some(json!(["budi_ig", "siti_ig"]))),
        ("P2", "KEDIRI", t2, 2, Some(json!(["siti_ig", "budi.ig"]))),
        ("P3", "KEDIRI", t1, 5, None),
        ("P4", "KEDIRI", t2, 100, Some(json!(["x"]))),
        ("D1", "BLITAR", t1, 1, Some(json!(["someone"]))),
        ("B1", "BLITAR", t1, 1, Some(json!(["joko_ig"]))),
        ("POLD", "KEDIRI", old, 1, Some(json!(["budi_ig"]))),
    ] {
        sqlx::query(
            "INSERT INTO insta_post (shortcode, client_id, caption, like_count, created_at) \
             VALUES ($1, $2, 'caption ' || $1, $3, $4)",
        )
        .bind(sc)
        .bind(client)
        .bind(count)
        .bind(at)
        .execute(&db.pool)
        .await
        .unwrap();
        if let Some(l) = likes {
            sqlx::query(
                "INSERT INTO insta_like (shortcode, likes, updated_at) \
                 VALUES ($1, $2, now() - interval '2 hours')",
            )
            .bind(sc)
            .bind(l)
            .execute(&db.pool)
            .await
            .unwrap();
        }
    }
    sqlx::query("INSERT INTO insta_post_roles (shortcode, role_name) VALUES ('D1', 'ditbinmas')")
        .execute(&db.pool)
        .await
        .unwrap();
    for (id, at, count) in [("T1", t1, 2), ("T2", t2, 0)] {
        sqlx::query(
            "INSERT INTO tiktok_post (video_id, client_id, caption, comment_count, created_at) \
             VALUES ($1, 'KEDIRI', 'video ' || $1, $2, $3)",
        )
        .bind(id)
        .bind(count)
        .bind(at)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO tiktok_comment (video_id, comments, updated_at) \
         VALUES ('T1', '[\"@Budi_TT\", \"@other\"]', now() - interval '2 hours')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("array: {v}"))
        .iter()
        .map(|i| {
            i.get(key)
                .unwrap_or(i)
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------- register and login

impl Env {
    async fn register(&self, nrp: &str, password: &str) -> (StatusCode, Value) {
        self.post(
            "/api/claim/register",
            None,
            json!({"nrp": nrp, "password": password}),
        )
        .await
    }

    /// Opens a confirmation link (the API path of it) as a browser does: no token, no body.
    async fn open(&self, link: &str) -> (StatusCode, Value) {
        let path = link.strip_prefix("https://api.cicero.test").expect(link);
        self.call("GET", path, None, None).await
    }

    /// Payloads of the enqueued jobs of a kind, oldest first.
    async fn jobs(&self, kind: &str) -> Vec<Value> {
        sqlx::query_scalar("SELECT payload FROM cicero.jobs WHERE kind = $1 ORDER BY id")
            .bind(kind)
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
    }

    async fn matches(&self, nrp: &str, password: &str) -> bool {
        portal_password_matches(&self.db.pool, nrp, password)
            .await
            .unwrap()
    }

    /// A person of KEDIRI with neither a WhatsApp number nor an e-mail.
    async fn add_contactless(&self) {
        sqlx::query(
            "INSERT INTO \"user\" (user_id, nama, client_id, status) VALUES ($1, 'EKO', 'KEDIRI', true)",
        )
        .bind(EKO)
        .execute(&self.db.pool)
        .await
        .unwrap();
    }
}

/// The confirmation link in a message text.
fn link_in(text: &str) -> String {
    let i = text
        .find(CONFIRM)
        .unwrap_or_else(|| panic!("no link: {text}"));
    text[i..].split_whitespace().next().unwrap().to_owned()
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

#[tokio::test]
async fn register_is_pending_until_the_person_opens_the_link() {
    let e = env().await;
    e.add_contactless().await;
    for (nrp, pw, status, want) in [
        (json!(BUDI), json!("abc"), 400, "CLAIM_PASSWORD_WEAK"),
        (
            json!(BUDI),
            json!("rahasia2026"),
            400,
            "CLAIM_PASSWORD_WEAK",
        ),
        (
            json!(BUDI),
            json!(format!("X!{BUDI}")),
            400,
            "CLAIM_PASSWORD_WEAK",
        ),
        (json!(BUDI), json!(""), 400, "CLAIM_PASSWORD_REQUIRED"),
        (
            json!(null),
            json!("Rahasia#2026"),
            400,
            "CLAIM_NRP_REQUIRED",
        ),
        (
            json!("99999999"),
            json!("Rahasia#2026"),
            404,
            "CLAIM_USER_NOT_FOUND",
        ),
        (
            json!(DEWI),
            json!("Rahasia#2026"),
            403,
            "CLAIM_USER_INACTIVE",
        ),
        (
            json!(EKO),
            json!("Rahasia#2026"),
            400,
            "CLAIM_CONTACT_REQUIRED",
        ),
    ] {
        let (s, b) = e
            .post(
                "/api/claim/register",
                None,
                json!({"nrp": nrp, "password": pw}),
            )
            .await;
        assert_eq!((s.as_u16(), code(&b)), (status, want), "{nrp} {pw}: {b}");
    }
    let (s, b) = e
        .raw("POST", "/api/claim/register", None, Some("nrp=1".into()))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    code(&b);
    let (_, b) = e.register(EKO, "Rahasia#2026").await;
    assert!(
        b["message"].as_str().unwrap().contains("operator"),
        "tells them where to go: {b}"
    );
    assert_eq!(
        e.db.count("SELECT count(*) FROM cicero.claim_credentials")
            .await
            + e.db.count("SELECT count(*) FROM cicero.jobs").await,
        0,
        "refused registrations store and send nothing"
    );

    // Budi (WhatsApp and e-mail): 202, the link to both, nothing usable yet.
    let (s, b) = e
        .post(
            "/api/claim/register",
            None,
            json!({"nrp": "75.020.001", "password": "Rahasia#2026"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["success"], json!(true));
    let message = b["message"].as_str().unwrap();
    assert!(
        message.contains("WhatsApp 6281*****789") && message.contains("email bu***@polri.test"),
        "{message}"
    );
    assert_eq!(b["data"]["user_id"], BUDI);
    assert_eq!(b["data"]["expires_in"], json!(1800));
    assert_eq!(
        b["data"]["channels"],
        json!([
            {"channel": "whatsapp", "target": "6281*****789"},
            {"channel": "email", "target": "bu***@polri.test"},
        ])
    );
    let wa = e.jobs("whatsapp_send").await;
    let mail = e.jobs("email_send").await;
    assert_eq!((wa.len(), mail.len()), (1, 1), "{wa:?} {mail:?}");
    assert_eq!(wa[0]["to"], "628123456789");
    assert_eq!(mail[0]["to"], "budi@polri.test");
    assert_eq!(mail[0]["subject"], "Konfirmasi pendaftaran portal Cicero");
    let link = link_in(wa[0]["text"].as_str().unwrap());
    assert_eq!(link_in(mail[0]["text"].as_str().unwrap()), link);
    let token = link.strip_prefix(CONFIRM).unwrap();
    assert!(
        token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit()),
        "{token}"
    );
    assert!(
        wa[0]["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with(&format!("claim_register:{BUDI}:"))
    );
    let (hash, token_hash, confirmed): (String, String, Option<chrono::DateTime<Utc>>) =
        sqlx::query_as(
            "SELECT password_hash, confirm_token_hash, confirmed_at \
             FROM cicero.claim_credentials WHERE user_id = $1",
        )
        .bind(BUDI)
        .fetch_one(&e.db.pool)
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$") && !hash.contains("Rahasia"),
        "{hash}"
    );
    assert_eq!(
        token_hash,
        sha256_hex(token),
        "only the token's SHA-256 is kept"
    );
    assert_eq!(confirmed, None);
    assert!(
        !e.matches(BUDI, "Rahasia#2026").await,
        "a pending password does not log in"
    );
    let session = e.login(BUDI, "0812-3456-789").await;
    let (_, b) = e.get("/api/claim/me", &session).await;
    assert_eq!(b["data"]["registered"], json!(false), "{b}");

    // The link activates it, once.
    let (s, b) = e.open(&link).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], json!(true));
    assert!(b["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(e.matches(BUDI, "Rahasia#2026").await);
    assert!(!e.matches(BUDI, "Lain#20261").await);
    assert!(!e.matches(SITI, "Rahasia#2026").await);
    let (_, b) = e.get("/api/claim/me", &session).await;
    assert_eq!(b["data"]["registered"], json!(true), "{b}");
    let (s, b) = e.open(&link).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "CLAIM_CONFIRM_TOKEN_INVALID"),
        "a link works once"
    );

    // Registered: a second registration is 409 and sends nothing.
    let (s, b) = e.register(BUDI, "Lain#20261").await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::CONFLICT, "CLAIM_ALREADY_REGISTERED")
    );
    assert_eq!(e.jobs("whatsapp_send").await.len(), 1);
    assert!(e.matches(BUDI, "Rahasia#2026").await);
    // Confirmed: the portal password logs in, the WhatsApp number no longer does.
    e.login(BUDI, "Rahasia#2026").await;
    let (s, _) = e
        .post(
            "/api/auth/user-login",
            None,
            json!({"nrp": BUDI, "password": "0812-3456-789"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    e.done().await;
}

#[tokio::test]
async fn confirmation_links_that_are_wrong_used_or_expired_are_refused() {
    let e = env().await;
    // Siti has a WhatsApp number and no e-mail: the link goes to WhatsApp only.
    let (s, b) = e.register(SITI, "Rahasia#2026").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(
        b["data"]["channels"],
        json!([{"channel": "whatsapp", "target": "6281*****333"}])
    );
    assert!(e.jobs("email_send").await.is_empty());
    let wa = e.jobs("whatsapp_send").await;
    assert_eq!(wa.len(), 1);
    assert_eq!(wa[0]["to"], "628111222333");
    let link = link_in(wa[0]["text"].as_str().unwrap());

    let (s, b) = e
        .call("GET", "/api/claim/register/confirm", None, None)
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "CLAIM_CONFIRM_TOKEN_REQUIRED")
    );
    let wrong = format!("{CONFIRM}{}", "0".repeat(64));
    let (s, b) = e.open(&wrong).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "CLAIM_CONFIRM_TOKEN_INVALID")
    );
    // Expired: the link dies with its 30 minutes; the password stays pending.
    sqlx::query(
        "UPDATE cicero.claim_credentials SET confirm_expires_at = now() - interval '1 second' \
         WHERE user_id = $1",
    )
    .bind(SITI)
    .execute(&e.db.pool)
    .await
    .unwrap();
    let (s, b) = e.open(&link).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "CLAIM_CONFIRM_TOKEN_INVALID")
    );
    assert!(!e.matches(SITI, "Rahasia#2026").await);
    let confirmed: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT confirmed_at FROM cicero.claim_credentials WHERE user_id = $1")
            .bind(SITI)
            .fetch_one(&e.db.pool)
            .await
            .unwrap();
    assert_eq!(confirmed, None);
    // Another person's link confirms that person only.
    let (s, _) = e.register(ANI, "Ani#202612").await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let ani = link_in(e.jobs("whatsapp_send").await[1]["text"].as_str().unwrap());
    let (s, _) = e.open(&ani).await;
    assert_eq!(s, StatusCode::OK);
    assert!(e.matches(ANI, "Ani#202612").await);
    assert!(!e.matches(SITI, "Ani#202612").await);
    assert!(!e.matches(SITI, "Rahasia#2026").await);
    // Used.
    let (s, b) = e.open(&ani).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "CLAIM_CONFIRM_TOKEN_INVALID")
    );
    e.done().await;
}

#[tokio::test]
async fn registering_again_replaces_the_pending_password_and_link() {
    let e = env().await;
    let (s, _) = e.register(ANI, "Pertama#2026").await;
    assert_eq!(s, StatusCode::ACCEPTED);
    // At once again: refused, so the route cannot flood the person's WhatsApp.
    let (s, b) = e.register(ANI, "Kedua#20261").await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::TOO_MANY_REQUESTS, "CLAIM_REGISTER_TOO_FREQUENT")
    );
    assert!(
        b["retry_after"]
            .as_i64()
            .is_some_and(|r| (1..=60).contains(&r)),
        "{b}"
    );
    assert_eq!(e.jobs("whatsapp_send").await.len(), 1);
    // A minute later (moved back rather than waited for): replaced.
    sqlx::query(
        "UPDATE cicero.claim_credentials SET updated_at = now() - interval '61 seconds' \
         WHERE user_id = $1",
    )
    .bind(ANI)
    .execute(&e.db.pool)
    .await
    .unwrap();
    let (s, b) = e.register(ANI, "Kedua#20261").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let wa = e.jobs("whatsapp_send").await;
    assert_eq!(wa.len(), 2, "a new link is sent: {wa:?}");
    assert_ne!(wa[0]["idempotency_key"], wa[1]["idempotency_key"]);
    let (first, second) = (
        link_in(wa[0]["text"].as_str().unwrap()),
        link_in(wa[1]["text"].as_str().unwrap()),
    );
    assert_ne!(first, second);
    assert_eq!(
        e.db.count("SELECT count(*) FROM cicero.claim_credentials")
            .await,
        1
    );
    let (s, b) = e.open(&first).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "CLAIM_CONFIRM_TOKEN_INVALID"),
        "the replaced link is dead"
    );
    assert!(!e.matches(ANI, "Pertama#2026").await);
    assert!(!e.matches(ANI, "Kedua#20261").await);
    let (s, b) = e.open(&second).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(e.matches(ANI, "Kedua#20261").await);
    assert!(!e.matches(ANI, "Pertama#2026").await);
    e.done().await;
}

/// `POST /api/auth/user-login` takes a confirmed portal password besides the WhatsApp number.
#[tokio::test]
async fn user_login_accepts_the_portal_password() {
    let e = env().await;
    let (s, b) = e.register(SITI, "Rahasia#2026").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let login = |pw: &'static str| {
        e.post(
            "/api/auth/user-login",
            None,
            json!({"nrp": SITI, "password": pw}),
        )
    };
    let (s, _) = login("Rahasia#2026").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a pending password is refused");
    let link = link_in(e.jobs("whatsapp_send").await[0]["text"].as_str().unwrap());
    assert_eq!(e.open(&link).await.0, StatusCode::OK);
    let token = e.login(SITI, "Rahasia#2026").await;
    let (s, b) = e.get("/api/claim/me", &token).await;
    assert_eq!(
        (s, b["data"]["user_id"].as_str()),
        (StatusCode::OK, Some(SITI))
    );
    let (s, _) = login("Salah#2026").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Once a portal password is confirmed, the WhatsApp number no longer logs in.
    let (s, _) = login("628111222333").await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the number is not the password any more"
    );
    e.done().await;
}

#[tokio::test]
async fn a_renumbered_person_keeps_the_portal_password_accounts_and_complaints() {
    let e = env().await;
    const NEW: &str = "75020099";
    let (s, _) = e.register(BUDI, "Rahasia#2026").await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let link = link_in(e.jobs("whatsapp_send").await[0]["text"].as_str().unwrap());
    assert_eq!(e.open(&link).await.0, StatusCode::OK);
    let budi = e.login(BUDI, "Rahasia#2026").await;
    let (s, b) = e
        .call(
            "PUT",
            "/api/claim/me",
            Some(&budi),
            Some(json!({"instagram_accounts": ["budi_ig", "budi_kedua"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let complaint = triage(
        &e,
        &budi,
        json!({"platform": "instagram", "issue_type": "activity_not_recorded", "shortcode": "P4"}),
    )
    .await["complaint_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sqlx::query(
        "INSERT INTO cicero.claim_password_resets (user_id, email, expires_at) \
         VALUES ($1, 'budi@polri.test', now() + interval '5 minutes')",
    )
    .bind(BUDI)
    .execute(&e.db.pool)
    .await
    .unwrap();
    let tables = [
        "cicero.claim_credentials",
        "cicero.claim_social_accounts",
        "cicero.claim_password_resets",
        "cicero.claim_complaints",
    ];
    let rows = |nrp: &'static str| {
        let pool = e.db.pool.clone();
        async move {
            let mut n = Vec::new();
            for t in tables {
                let c: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM {t} WHERE user_id = $1"
                )))
                .bind(nrp)
                .fetch_one(&pool)
                .await
                .unwrap();
                n.push(c);
            }
            n
        }
    };
    assert_eq!(rows(BUDI).await, [1, 1, 1, 1]);

    // The operator gives Budi a new NRP.
    let (s, b) = e
        .post(
            "/api/auth/dashboard-login",
            None,
            json!({"username": "op_kediri", "password": "rahasia123"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let op = b["token"].as_str().unwrap().to_owned();
    let (s, b) = e
        .call(
            "PUT",
            &format!("/api/users/{BUDI}"),
            Some(&op),
            Some(json!({"user_id": NEW})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["user_id"], NEW, "{b}");

    assert_eq!(rows(NEW).await, [1, 1, 1, 1]);
    assert_eq!(rows(BUDI).await, [0, 0, 0, 0]);
    assert!(e.matches(NEW, "Rahasia#2026").await);
    assert!(!e.matches(BUDI, "Rahasia#2026").await);
    let (s, b) = e.register(NEW, "Lain#20261").await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::CONFLICT, "CLAIM_ALREADY_REGISTERED"),
        "still registered under the new NRP"
    );
    let token = e.login(NEW, "Rahasia#2026").await;
    let (s, b) = e.get("/api/claim/me", &token).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["registered"], json!(true));
    assert_eq!(
        b["data"]["instagram_accounts"],
        json!(["budi_ig", "budi_kedua"])
    );
    let (s, b) = e
        .get(&format!("/api/claim/complaints/{complaint}"), &token)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["content_id"], "P4");
    e.done().await;
}

// ---------------------------------------------------------------- password reset

/// The 6-digit code of the legacy OTP mail.
fn code_in(mail: &str) -> String {
    let i = mail.find("Kode OTP Anda: ").expect("the code line");
    mail[i + 15..i + 21].to_string()
}

/// A mail body as written: soft line breaks joined, `=XX` decoded (ASCII only).
fn quoted_printable(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let mut out = String::new();
    let mut rest = joined.as_str();
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(b) => {
                out.push(b as char);
                rest = &rest[i + 3..];
            }
            None => {
                out.push('=');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Runs a messaging worker (SMTP to the sink) until the `email_otp` and `email_send` jobs are
/// done.
async fn mail_codes(e: &Env, smtp: &Smtp) {
    let port = smtp.port.to_string();
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| REDIS_URL.into());
    let w = e.db.worker(
        &["messaging"],
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", &port),
            ("SMTP_TLS", "none"),
            ("SMTP_FROM", "cicero@polri.test"),
            ("REDIS_PREFIX", &e.prefix),
            ("REDIS_URL", &url),
        ],
    );
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM cicero.jobs WHERE kind IN ('email_otp', 'email_send') ORDER BY id",
    )
    .fetch_all(&e.db.pool)
    .await
    .unwrap();
    assert!(!ids.is_empty(), "no email_otp job");
    for id in ids {
        e.db.wait_state(id, "done", 30).await;
    }
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_by_email_otp_end_to_end() {
    let e = env().await;
    e.add_contactless().await;
    let smtp = Smtp::start().await;
    // Budi registered but never opened the link: the reset confirms his password instead.
    let (s, b) = e.register(BUDI, "Rahasia#2026").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let registration_link = link_in(e.jobs("whatsapp_send").await[0]["text"].as_str().unwrap());
    let old_session = e.login(BUDI, "628123456789").await;

    // Bad requests.
    let req = |body: Value| e.post("/api/claim/password-reset/request", None, body);
    for (body, status, want) in [
        (json!({}), 400, "CLAIM_NRP_REQUIRED"),
        (
            json!({"nrp": BUDI, "email": "no-at"}),
            400,
            "CLAIM_INVALID_EMAIL_FORMAT",
        ),
        (
            json!({"nrp": BUDI, "email": "lain@polri.test"}),
            400,
            "CLAIM_EMAIL_MISMATCH",
        ),
        // Siti has a WhatsApp number and no e-mail: an e-mail of the requester's choosing
        // would skip the WhatsApp confirmation of the registration.
        (json!({"nrp": SITI}), 400, "CLAIM_EMAIL_NOT_REGISTERED"),
        (
            json!({"nrp": SITI, "email": "siti@polri.test"}),
            400,
            "CLAIM_EMAIL_NOT_REGISTERED",
        ),
        (json!({"nrp": EKO}), 400, "CLAIM_EMAIL_REQUIRED"),
        (json!({"nrp": "99999999"}), 404, "CLAIM_USER_NOT_FOUND"),
        (json!({"nrp": DEWI}), 403, "CLAIM_USER_INACTIVE"),
    ] {
        let (s, b) = req(body.clone()).await;
        assert_eq!((s.as_u16(), code(&b)), (status, want), "{body}: {b}");
    }

    // Budi (stored e-mail, given in another case) and Eko (no contact at all: gives one).
    let (s, b) = req(json!({"nrp": BUDI, "email": " BUDI@Polri.test "})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let budi_request = b["data"]["request_id"].as_str().unwrap().to_owned();
    assert_eq!(b["data"]["email"], "bu***@polri.test");
    assert!(
        b["data"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("bu***@polri.test"))
    );
    let (s, b) = req(json!({"nrp": BUDI})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::TOO_MANY_REQUESTS, "CLAIM_RESET_TOO_FREQUENT")
    );
    assert!(
        b["retry_after"]
            .as_i64()
            .is_some_and(|r| (1..=60).contains(&r)),
        "{b}"
    );
    let (s, b) = req(json!({"nrp": EKO, "email": "Eko@Polri.Test"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let eko_request = b["data"]["request_id"].as_str().unwrap().to_owned();
    assert_eq!(b["data"]["email"], "ek***@polri.test");

    mail_codes(&e, &smtp).await;
    let mails = smtp.mails();
    assert_eq!(
        mails.len(),
        3,
        "two codes and Budi's registration link: {mails:?}"
    );
    let registration_mail = mails
        .values()
        .find(|m| m.contains("Subject: Konfirmasi pendaftaran portal Cicero"))
        .expect("the registration mail");
    assert!(registration_mail.contains("To: budi@polri.test"));
    assert!(
        quoted_printable(registration_mail).contains(&registration_link),
        "{registration_mail}"
    );
    let mail_to = |to: &str| {
        mails
            .values()
            .find(|m| m.contains(&format!("To: {to}")) && m.contains("Kode OTP Anda: "))
            .unwrap_or_else(|| panic!("no mail to {to}: {mails:?}"))
            .clone()
    };
    let budi_code = code_in(&mail_to("budi@polri.test"));
    let eko_code = code_in(&mail_to("eko@polri.test"));
    assert!(mail_to("budi@polri.test").contains("Subject: Kode OTP Anda"));

    // Verify: bad input, a wrong code (counted), then the right one.
    let verify = |body: Value| e.post("/api/claim/password-reset/verify", None, body);
    let wrong = if budi_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    for (body, want) in [
        (
            json!({"request_id": "nope", "otp": budi_code}),
            "CLAIM_RESET_REQUEST_INVALID",
        ),
        (
            json!({"request_id": "0b6c2c4e-9d7f-4f7a-9c1e-2f0e8d3b1a55", "otp": budi_code}),
            "CLAIM_RESET_REQUEST_INVALID",
        ),
        (
            json!({"request_id": budi_request, "otp": "12ab"}),
            "CLAIM_OTP_INVALID",
        ),
    ] {
        let (s, b) = verify(body.clone()).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, want),
            "{body}: {b}"
        );
    }
    let (s, b) = verify(json!({"request_id": budi_request, "otp": wrong})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "CLAIM_OTP_WRONG"));
    assert_eq!(b["attempts_left"], json!(2), "{b}");
    let (s, b) = verify(json!({"request_id": budi_request, "otp": budi_code})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let token = b["data"]["reset_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    let (s, b) = verify(json!({"request_id": budi_request, "otp": budi_code})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "CLAIM_RESET_REQUEST_INVALID"),
        "a verified request cannot be verified again"
    );

    // Confirm.
    let confirm = |token: &str, pw: &str, again: &str| {
        e.post(
            "/api/claim/password-reset/confirm",
            None,
            json!({"token": token, "password": pw, "confirmPassword": again}),
        )
    };
    let unknown = "f".repeat(64);
    for (tok, pw, again, want) in [
        (
            token.as_str(),
            "Baru#20261",
            "Baru#20262",
            "CLAIM_PASSWORD_MISMATCH",
        ),
        (token.as_str(), "lemah", "lemah", "CLAIM_PASSWORD_WEAK"),
        (
            unknown.as_str(),
            "Baru#20261",
            "Baru#20261",
            "CLAIM_RESET_TOKEN_INVALID",
        ),
        ("", "Baru#20261", "Baru#20261", "CLAIM_RESET_TOKEN_REQUIRED"),
    ] {
        let (s, b) = confirm(tok, pw, again).await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, want), "{pw}: {b}");
    }
    assert!(
        !e.matches(BUDI, "Rahasia#2026").await && !e.matches(BUDI, "Baru#20261").await,
        "refused confirms change nothing (the registration is still pending)"
    );
    let (s, b) = confirm(&token, "Baru#20261", "Baru#20261").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], json!(true));
    assert!(
        portal_password_matches(&e.db.pool, BUDI, "Baru#20261")
            .await
            .unwrap()
    );
    assert!(
        !portal_password_matches(&e.db.pool, BUDI, "Rahasia#2026")
            .await
            .unwrap()
    );
    let (s, b) = e.open(&registration_link).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "CLAIM_CONFIRM_TOKEN_INVALID"),
        "the reset replaced the pending registration and its link"
    );
    assert!(!e.matches(BUDI, "Rahasia#2026").await);
    let (s, b) = e.register(BUDI, "Lain#20261").await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::CONFLICT, "CLAIM_ALREADY_REGISTERED"),
        "the reset's password is confirmed"
    );
    let (s, b) = confirm(&token, "Baru#20263", "Baru#20263").await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "CLAIM_RESET_TOKEN_INVALID"),
        "a token works once"
    );
    // Every session of the person ended.
    let (s, b) = e.get("/api/claim/me", &old_session).await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );

    // Eko: the verified e-mail is stored; his reset registers him.
    let (s, b) =
        verify(json!({"request_id": eko_request, "otp": eko_code.parse::<u64>().unwrap()})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let email: Option<String> = sqlx::query_scalar("SELECT email FROM \"user\" WHERE user_id = $1")
        .bind(EKO)
        .fetch_one(&e.db.pool)
        .await
        .unwrap();
    assert_eq!(email.as_deref(), Some("eko@polri.test"));
    let (s, b) = confirm(
        b["data"]["reset_token"].as_str().unwrap(),
        "Eko#202612",
        "Eko#202612",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(e.matches(EKO, "Eko#202612").await);
    e.done().await;
}

// ---------------------------------------------------------------- me

#[tokio::test]
async fn me_is_the_signed_in_person_only() {
    let e = env().await;
    let (s, b) = e.call("GET", "/api/claim/me", None, None).await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_token"))
    );
    let (s, b) = e.get("/api/claim/me", "not.a.jwt").await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    // A dashboard token is not a claim token.
    let (s, b) = e
        .post(
            "/api/auth/dashboard-login",
            None,
            json!({"username": "op_kediri", "password": "rahasia123"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let dash = b["token"].as_str().unwrap().to_owned();
    let (s, b) = e.get("/api/claim/me", &dash).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::FORBIDDEN, "CLAIM_USER_ROLE_REQUIRED")
    );
    assert!(b.get("reason").is_none(), "403 without a token reason: {b}");

    let budi = e.login(BUDI, "628123456789").await;
    // `nrp` / `user_id` in the query or body never choose the person.
    let (s, b) = e.get(&format!("/api/claim/me?user_id={SITI}"), &budi).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    for (k, v) in [
        ("user_id", json!(BUDI)),
        ("nama", json!("BUDI")),
        ("title", json!("BRIPKA")),
        ("divisi", json!("SAT BINMAS")),
        ("jabatan", json!(null)),
        ("desa", json!(null)),
        ("client_id", json!("KEDIRI")),
        ("whatsapp", json!("628123456789")),
        ("email", json!("budi@polri.test")),
        ("insta", json!("budi_ig")),
        ("tiktok", json!("@budi_tt")),
        ("instagram_accounts", json!(["budi_ig"])),
        ("tiktok_accounts", json!(["@budi_tt"])),
        ("ditbinmas", json!(true)),
        ("operator", json!(true)),
        ("ditlantas", json!(false)),
        ("bidhumas", json!(false)),
        ("ditsamapta", json!(false)),
        ("ditintelkam", json!(false)),
        ("registered", json!(false)),
    ] {
        assert_eq!(d[k], v, "{k}: {d}");
    }

    // An inactive person is refused (403: the portal goes back to /claim).
    let ani = e.login(ANI, "628777888999").await;
    sqlx::query("UPDATE \"user\" SET status = false WHERE user_id = $1")
        .bind(ANI)
        .execute(&e.db.pool)
        .await
        .unwrap();
    let (s, b) = e.get("/api/claim/me", &ani).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::FORBIDDEN, "CLAIM_USER_INACTIVE")
    );
    e.done().await;
}

#[tokio::test]
async fn me_update_validates_and_stores_like_the_claim_update() {
    let e = env().await;
    let budi = e.login(BUDI, "628123456789").await;
    let put = |body: Value| e.call("PUT", "/api/claim/me", Some(&budi), Some(body));
    for (body, want, field) in [
        (
            json!({"whatsapp": "123"}),
            "CLAIM_INVALID_WHATSAPP_FORMAT",
            "whatsapp",
        ),
        (
            json!({"email": "bukan-email"}),
            "CLAIM_INVALID_EMAIL_FORMAT",
            "email",
        ),
        (
            json!({"insta": "bu di"}),
            "CLAIM_INVALID_INSTAGRAM_FORMAT",
            "insta",
        ),
        (
            json!({"tiktok": "@cicero_devs"}),
            "CLAIM_USERNAME_BLOCKED",
            "tiktok",
        ),
        (
            json!({"instagram_accounts": ["budi_ig", "@Budi_IG"]}),
            "CLAIM_DUPLICATE_USERNAME_INPUT",
            "instagram_accounts",
        ),
        (
            json!({"tiktok_accounts": ["https://www.tiktok.com/@ok", "x y"]}),
            "CLAIM_INVALID_TIKTOK_FORMAT",
            "tiktok_accounts",
        ),
        (json!({"nama": ""}), "CLAIM_INVALID_FIELD", "nama"),
        (json!({"nama": 5}), "CLAIM_INVALID_FIELD", "nama"),
        (
            json!({"instagram_accounts": "budi_ig"}),
            "CLAIM_INVALID_FIELD",
            "instagram_accounts",
        ),
        // A valid field does not slip through with a refused one.
        (
            json!({"nama": "BARU", "whatsapp": "12"}),
            "CLAIM_INVALID_WHATSAPP_FORMAT",
            "whatsapp",
        ),
    ] {
        let (s, b) = put(body.clone()).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, want),
            "{body}: {b}"
        );
        assert_eq!(b["field"], field, "{body}");
    }
    let (s, b) = e
        .raw("PUT", "/api/claim/me", Some(&budi), Some("{".into()))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    code(&b);
    let (_, b) = e.get("/api/claim/me", &budi).await;
    assert_eq!(
        (b["data"]["nama"].as_str(), b["data"]["whatsapp"].as_str()),
        (Some("BUDI"), Some("628123456789"))
    );

    let (s, b) = put(json!({
        "nama": " BUDI SANTOSO ",
        "jabatan": "BANIT",
        "desa": "",
        "title": null,
        "whatsapp": "0812-3456-7890",
        "email": "Budi.Baru@Polri.Test",
        "insta": "https://www.instagram.com/budi_ig/",
        "instagram_accounts": ["budi_ig", "@Budi.IG"],
        "tiktok_accounts": ["@budi_tt", "https://www.tiktok.com/@Budi.TT2?lang=id", ""],
        "nrp": SITI,
    }))
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    assert_eq!(d["user_id"], BUDI);
    assert_eq!(d["nama"], "BUDI SANTOSO");
    assert_eq!(d["title"], "BRIPKA", "null keeps");
    assert_eq!(d["jabatan"], "BANIT");
    assert_eq!(d["desa"], json!(null), "empty clears");
    assert_eq!(d["whatsapp"], "6281234567890");
    assert_eq!(d["email"], "budi.baru@polri.test");
    assert_eq!(d["insta"], "budi_ig");
    assert_eq!(d["tiktok"], "@budi_tt");
    assert_eq!(d["instagram_accounts"], json!(["budi_ig", "budi.ig"]));
    assert_eq!(d["tiktok_accounts"], json!(["@budi_tt", "@budi.tt2"]));
    let rows: Vec<(String, String, i16)> = sqlx::query_as(
        "SELECT platform, username, position FROM cicero.claim_social_accounts \
         WHERE user_id = $1 ORDER BY platform, position",
    )
    .bind(BUDI)
    .fetch_all(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            ("instagram".into(), "budi.ig".into(), 1),
            ("tiktok".into(), "@budi.tt2".into(), 1)
        ]
    );
    let siti: Option<String> = sqlx::query_scalar("SELECT nama FROM \"user\" WHERE user_id = $1")
        .bind(SITI)
        .fetch_one(&e.db.pool)
        .await
        .unwrap();
    assert_eq!(siti.as_deref(), Some("SITI"), "the body's nrp is ignored");

    // The first account of a list becomes the primary handle; an empty list clears extras;
    // empty handles keep what is stored.
    let (s, b) = put(json!({"instagram_accounts": ["@Budi.IG", "budi_ig"], "whatsapp": "", "tiktok_accounts": []})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["insta"], "budi.ig");
    assert_eq!(
        b["data"]["instagram_accounts"],
        json!(["budi.ig", "budi_ig"])
    );
    assert_eq!(b["data"]["tiktok_accounts"], json!(["@budi_tt"]));
    assert_eq!(b["data"]["whatsapp"], "6281234567890");
    e.done().await;
}

// ---------------------------------------------------------------- pending content

#[tokio::test]
async fn pending_content_counts_the_persons_stored_engagement() {
    let e = env().await;
    let budi = e.login(BUDI, "628123456789").await;
    let siti = e.login(SITI, "628111222333").await;

    let (s, b) = e.get("/api/claim/pending-content", &budi).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    assert_eq!(d["user_id"], BUDI);
    assert_eq!(d["timezone"], "Asia/Jakarta");
    assert_eq!(
        d["filters"],
        json!({"periode": "harian", "tanggal": null, "start_date": null, "end_date": null})
    );
    // Instagram: KEDIRI's P1–P4 and BLITAR's D1 (tagged for ditbinmas, Budi's role); Budi
    // liked P1 only (`budi.ig` on P2 is not his handle).
    let ig = &d["instagram"];
    assert_eq!(ig["username_available"], json!(true));
    assert_eq!(ig["usernames"], json!(["budi_ig"]));
    assert_eq!(
        (
            &ig["total_content"],
            &ig["completed_content"],
            &ig["pending_content"]
        ),
        (&json!(5), &json!(1), &json!(4))
    );
    assert_eq!(ig["completed_ids"], json!(["P1"]));
    assert_eq!(ids(&ig["items"], "shortcode"), ["D1", "P3", "P2", "P4"]);
    let first = &ig["items"][0];
    assert_eq!(first["url"], "https://www.instagram.com/p/D1/");
    assert_eq!(first["caption"], "caption D1");
    assert!(
        first["content_time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{first}"
    );
    // TikTok: T1 commented (`@Budi_TT`), T2 not.
    let tt = &d["tiktok"];
    assert_eq!(tt["usernames"], json!(["@budi_tt"]));
    assert_eq!(
        (
            &tt["total_content"],
            &tt["completed_content"],
            &tt["pending_content"]
        ),
        (&json!(2), &json!(1), &json!(1))
    );
    assert_eq!(tt["completed_ids"], json!(["T1"]));
    assert_eq!(tt["items"][0]["video_id"], "T2");
    assert_eq!(
        tt["items"][0]["url"],
        "https://www.tiktok.com/@polreskediri/video/T2"
    );

    // Siti: no ditbinmas role (no D1), `@Siti_IG` liked P1 and P2; no TikTok handle.
    let (_, b) = e.get("/api/claim/pending-content", &siti).await;
    let ig = &b["data"]["instagram"];
    assert_eq!(
        (
            &ig["total_content"],
            &ig["completed_content"],
            &ig["pending_content"]
        ),
        (&json!(4), &json!(2), &json!(2))
    );
    assert_eq!(ig["completed_ids"], json!(["P1", "P2"]));
    assert_eq!(
        b["data"]["tiktok"],
        json!({"username_available": false, "usernames": [], "total_content": 0,
               "completed_content": 0, "pending_content": 0, "items": [], "completed_ids": []})
    );

    // An extra account counts too.
    let (s, _) = e
        .call(
            "PUT",
            "/api/claim/me",
            Some(&budi),
            Some(json!({"instagram_accounts": ["budi_ig", "budi.ig"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, b) = e.get("/api/claim/pending-content", &budi).await;
    let ig = &b["data"]["instagram"];
    assert_eq!(ig["usernames"], json!(["budi_ig", "budi.ig"]));
    assert_eq!(ig["completed_ids"], json!(["P1", "P2"]));
    assert_eq!(ig["pending_content"], json!(3));

    // Periods are Jakarta days, as in the recaps.
    let old = jakarta_day(Utc::now() - Duration::days(10)).to_string();
    let today = jakarta_day(Utc::now()).to_string();
    let (s, b) = e
        .get(
            &format!("/api/claim/pending-content?periode=harian&tanggal={old}"),
            &budi,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["filters"]["tanggal"], old);
    let ig = &b["data"]["instagram"];
    assert_eq!(
        (&ig["total_content"], &ig["completed_ids"]),
        (&json!(1), &json!(["POLD"]))
    );
    assert_eq!(b["data"]["tiktok"]["total_content"], json!(0));
    let (_, b) = e
        .get(
            &format!("/api/claim/pending-content?start_date={old}&end_date={today}"),
            &budi,
        )
        .await;
    assert_eq!(b["data"]["instagram"]["total_content"], json!(6));
    for bad in [
        "periode=tahunan",
        "start_date=kemarin",
        &format!("start_date={today}&end_date={old}"),
    ] {
        let (s, b) = e
            .get(&format!("/api/claim/pending-content?{bad}"), &budi)
            .await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, "CLAIM_INVALID_DATE_FILTER"),
            "{bad}"
        );
    }
    let (s, _) = e
        .call("GET", "/api/claim/pending-content", None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    e.done().await;
}

// ---------------------------------------------------------------- social profile

#[tokio::test]
async fn social_profiles_are_checked_against_stored_data() {
    let e = env().await;
    let budi = e.login(BUDI, "628123456789").await;
    let validate = |platform: &str, username: &str| {
        e.post(
            "/api/claim/social-profile/validate",
            Some(&budi),
            json!({"platform": platform, "username": username}),
        )
    };
    let (s, b) = validate("instagram", "https://www.instagram.com/Budi_IG/").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    for (k, v) in [
        ("platform", json!("instagram")),
        ("username", json!("budi_ig")),
        ("found", json!(true)),
        ("profile_name", json!("Budi Santoso")),
        ("avatar_url", json!("https://cdn.example/budi.jpg")),
        ("is_private", json!(false)),
        ("is_verified", json!(false)),
        ("followers", json!(120)),
        ("following", json!(80)),
        ("content_count", json!(15)),
    ] {
        assert_eq!(d[k], v, "{k}: {d}");
    }
    assert_eq!(
        (&d["data_quality"]["score"], &d["data_quality"]["label"]),
        (&json!(100), &json!("complete"))
    );
    assert_eq!(d["data_quality"]["components"].as_array().unwrap().len(), 5);
    assert!(
        d["data_quality"]["explanation"]
            .as_str()
            .is_some_and(|x| !x.is_empty())
    );

    // Only insta_profile: no avatar, no post count.
    let (_, b) = validate("Instagram", "@PolresKediri").await;
    let d = &b["data"];
    assert_eq!(
        (&d["found"], &d["profile_name"], &d["followers"]),
        (&json!(true), &json!("Polres Kediri"), &json!(1000))
    );
    assert_eq!(
        (&d["data_quality"]["score"], &d["data_quality"]["label"]),
        (&json!(60), &json!("partial"))
    );
    let missing: Vec<&str> = d["data_quality"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["available"] == json!(false))
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["avatar_url", "content_count"]);

    let (_, b) = validate("tiktok", "https://www.tiktok.com/@Budi_TT").await;
    let d = &b["data"];
    assert_eq!(
        (&d["username"], &d["found"], &d["profile_name"]),
        (&json!("@budi_tt"), &json!(true), &json!("Budi TT"))
    );
    assert_eq!(
        (&d["followers"], &d["following"], &d["content_count"]),
        (&json!(5), &json!(6), &json!(7))
    );
    assert_eq!(d["data_quality"]["score"], json!(80));

    let (s, b) = validate("instagram", "belum_ada").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            &b["data"]["found"],
            &b["data"]["data_quality"]["score"],
            &b["data"]["data_quality"]["label"]
        ),
        (&json!(false), &json!(0), &json!("limited"))
    );

    for (platform, username, want) in [
        ("facebook", "budi", "CLAIM_SOCIAL_PLATFORM_INVALID"),
        ("", "budi", "CLAIM_SOCIAL_PLATFORM_INVALID"),
        ("instagram", "budi santoso", "CLAIM_SOCIAL_USERNAME_INVALID"),
        ("tiktok", "", "CLAIM_SOCIAL_USERNAME_INVALID"),
        ("instagram", "@cicero_devs", "CLAIM_USERNAME_BLOCKED"),
    ] {
        let (s, b) = validate(platform, username).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, want),
            "{platform} {username}"
        );
    }
    let (s, _) = e
        .post(
            "/api/claim/social-profile/validate",
            None,
            json!({"platform": "instagram", "username": "budi_ig"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    e.done().await;
}

// ---------------------------------------------------------------- complaints

async fn escalate(e: &Env, id: &str, token: &str, body: Value) -> (StatusCode, Value) {
    e.post(
        &format!("/api/claim/complaints/{id}/escalate"),
        Some(token),
        body,
    )
    .await
}

async fn triage(e: &Env, token: &str, body: Value) -> Value {
    let (s, b) = e
        .post("/api/claim/complaints/triage", Some(token), body.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{body}: {b}");
    assert_eq!(b["success"], json!(true));
    b["data"].clone()
}

#[tokio::test]
async fn triage_codes_for_each_case() {
    let e = env().await;
    let budi = e.login(BUDI, "628123456789").await;
    let ani = e.login(ANI, "628777888999").await;
    let ig = |sc: &str| json!({"platform": "instagram", "issue_type": "activity_not_recorded", "shortcode": sc});
    let performed = (Utc::now() - Duration::hours(1)).to_rfc3339();
    let cases = [
        (&budi, ig("NOPE"), "CONTENT_NOT_FOUND", true, true),
        (&budi, ig("B1"), "CONTENT_NOT_ASSIGNED", false, false),
        (&ani, ig("P1"), "NO_USERNAME", false, true),
        (&budi, ig("P3"), "NOT_YET_COLLECTED", false, true),
        (
            &budi,
            json!({"platform": "instagram", "issue_type": "activity_not_recorded", "shortcode": "D1", "performed_at": performed}),
            "NOT_YET_COLLECTED",
            false,
            true,
        ),
        (&budi, ig("D1"), "NOT_RECORDED", true, true),
        (
            &budi,
            ig("https://www.instagram.com/p/P1/?igsh=x"),
            "RECORDED",
            false,
            false,
        ),
        (&budi, ig("P2"), "USERNAME_MISMATCH", false, true),
        (&budi, ig("P4"), "COLLECTION_INCOMPLETE", true, true),
        (
            &budi,
            json!({"platform": "tiktok", "issue_type": "activity_not_recorded", "video_id": "https://www.tiktok.com/@polreskediri/video/T1"}),
            "RECORDED",
            false,
            false,
        ),
        (
            &budi,
            json!({"platform": "tiktok", "issue_type": "activity_not_recorded", "video_id": "T2"}),
            "NOT_YET_COLLECTED",
            false,
            true,
        ),
    ];
    let mut seen = Vec::new();
    for (token, body, want, escalate, retry) in cases {
        let d = triage(&e, token, body.clone()).await;
        let key = (token.clone(), d["content_id"].clone());
        let first = !seen.contains(&key);
        seen.push(key);
        assert_eq!(d["triage_code"], want, "{body}: {d}");
        assert_eq!(d["can_escalate"], json!(escalate), "{body}: {d}");
        assert_eq!(d["can_retry"], json!(retry), "{body}: {d}");
        for k in ["title", "summary"] {
            assert!(d[k].as_str().is_some_and(|s| !s.is_empty()), "{k}: {d}");
        }
        assert!(
            d["solutions"].as_array().is_some_and(|s| !s.is_empty()),
            "{d}"
        );
        assert!(d["evidence"].is_array(), "{d}");
        assert!(
            ["complete", "partial", "limited"].contains(&d["triage_quality"].as_str().unwrap()),
            "{d}"
        );
        assert!(
            d["complaint_id"].as_str().is_some_and(|i| i.len() == 36),
            "{d}"
        );
        assert_eq!(d["complaint_created"], json!(first), "{body}");
        let status = if want == "RECORDED" {
            "resolved"
        } else {
            "open"
        };
        assert_eq!(d["complaint_status"], status, "{body}");
        if retry && want != "NO_USERNAME" && want != "USERNAME_MISMATCH" {
            assert!(d["retry_after"].as_i64().is_some_and(|r| r > 0), "{d}");
        }
    }
    // Evidence and the fields of the notable cases.
    let d = triage(&e, &budi, ig("P2")).await;
    assert_eq!(d["similar_username"], "budi.ig");
    assert_eq!(d["retry_after"], json!(0));
    assert!(d["last_collected_at"].as_str().is_some(), "{d}");
    assert!(
        d["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().contains("@budi.ig")),
        "{d}"
    );
    let d = triage(&e, &budi, ig("P3")).await;
    assert_eq!(d["last_collected_at"], json!(null));
    let d = triage(&e, &budi, ig("P4")).await;
    assert_eq!(d["triage_quality"], "partial");
    assert!(
        d["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().contains("mencatat 100 like")),
        "{d}"
    );
    // The period the person looked at is named when the post is outside it.
    let old = jakarta_day(Utc::now() - Duration::days(10)).to_string();
    let d = triage(
        &e,
        &budi,
        json!({"platform": "instagram", "shortcode": "P1", "periode": "harian", "tanggal": old}),
    )
    .await;
    assert_eq!(d["triage_code"], "RECORDED");
    assert!(
        d["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().contains("di luar periode")),
        "{d}"
    );

    // Bad input.
    for (body, want) in [
        (
            json!({"platform": "facebook", "shortcode": "P1"}),
            "CLAIM_COMPLAINT_PLATFORM_INVALID",
        ),
        (
            json!({"platform": "instagram"}),
            "CLAIM_COMPLAINT_CONTENT_INVALID",
        ),
        (
            json!({"platform": "instagram", "shortcode": "a b"}),
            "CLAIM_COMPLAINT_CONTENT_INVALID",
        ),
        (
            json!({"platform": "tiktok", "shortcode": "P1"}),
            "CLAIM_COMPLAINT_CONTENT_INVALID",
        ),
        (
            json!({"platform": "instagram", "shortcode": "P1", "issue_type": "other"}),
            "CLAIM_COMPLAINT_ISSUE_INVALID",
        ),
        (
            json!({"platform": "instagram", "shortcode": "P1", "performed_at": "kemarin"}),
            "CLAIM_COMPLAINT_PERFORMED_AT_INVALID",
        ),
        (
            json!({"platform": "instagram", "shortcode": "P1", "performed_at": (Utc::now() + Duration::days(1)).to_rfc3339()}),
            "CLAIM_COMPLAINT_PERFORMED_AT_INVALID",
        ),
        (
            json!({"platform": "instagram", "shortcode": "P1", "periode": "tahunan"}),
            "CLAIM_INVALID_DATE_FILTER",
        ),
    ] {
        let (s, b) = e
            .post("/api/claim/complaints/triage", Some(&budi), body.clone())
            .await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, want), "{body}");
    }
    let (s, _) = e.post("/api/claim/complaints/triage", None, ig("P1")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    e.done().await;
}

#[tokio::test]
async fn complaints_are_kept_escalated_and_seen_by_their_owner_only() {
    let e = env().await;
    let budi = e.login(BUDI, "628123456789").await;
    let siti = e.login(SITI, "628111222333").await;
    let ig = |sc: &str| json!({"platform": "instagram", "issue_type": "activity_not_recorded", "shortcode": sc});

    let first = triage(&e, &budi, ig("P4")).await;
    let id = first["complaint_id"].as_str().unwrap().to_owned();
    assert_eq!(
        (&first["complaint_created"], &first["complaint_status"]),
        (&json!(true), &json!("open"))
    );
    let again = triage(&e, &budi, ig("P4")).await;
    assert_eq!(
        again["complaint_id"],
        id.as_str(),
        "one open complaint per post"
    );
    assert_eq!(again["complaint_created"], json!(false));

    // GET: the owner sees it; another person 403; unknown 404.
    let path = format!("/api/claim/complaints/{id}");
    let (s, b) = e.get(&path, &budi).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    for (k, v) in [
        ("complaint_id", json!(id)),
        ("platform", json!("instagram")),
        ("content_id", json!("P4")),
        ("issue_type", json!("activity_not_recorded")),
        ("status", json!("open")),
        ("escalated_at", json!(null)),
        ("resolved_at", json!(null)),
    ] {
        assert_eq!(d[k], v, "{k}: {d}");
    }
    assert_eq!(d["triage"]["triage_code"], "COLLECTION_INCOMPLETE");
    assert_eq!(
        d["triage"]["content_url"],
        "https://www.instagram.com/p/P4/"
    );
    assert!(d["created_at"].is_string() && d["updated_at"].is_string());
    let (s, b) = e.get(&path, &siti).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::FORBIDDEN, "CLAIM_COMPLAINT_FORBIDDEN")
    );
    for other in ["0b6c2c4e-9d7f-4f7a-9c1e-2f0e8d3b1a55", "abc"] {
        let (s, b) = e
            .get(&format!("/api/claim/complaints/{other}"), &budi)
            .await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::NOT_FOUND, "CLAIM_COMPLAINT_NOT_FOUND")
        );
    }

    // Escalate: owner only, expected_status required and checked.
    let (s, b) = escalate(&e, &id, &siti, json!({"expected_status": "open"})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::FORBIDDEN, "CLAIM_COMPLAINT_FORBIDDEN")
    );
    let (s, b) = escalate(&e, &id, &budi, json!({})).await;
    assert_eq!(
        (s, code(&b)),
        (
            StatusCode::BAD_REQUEST,
            "CLAIM_COMPLAINT_EXPECTED_STATUS_REQUIRED"
        )
    );
    let (s, b) = escalate(&e, &id, &budi, json!({"expected_status": "escalated"})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::CONFLICT, "CLAIM_COMPLAINT_STATUS_CONFLICT")
    );
    assert_eq!(b["current_status"], "open");
    let (s, b) = escalate(&e, &id, &budi, json!({"expected_status": "open"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "escalated");
    assert!(b["data"]["escalated_at"].is_string());
    assert_eq!(
        b["data"]["notified"],
        json!(1),
        "only KEDIRI's approved account with WhatsApp"
    );
    let jobs: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM cicero.jobs WHERE kind = 'whatsapp_send' ORDER BY id",
    )
    .fetch_all(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["to"], "081299990000");
    let text = jobs[0]["text"].as_str().unwrap();
    for part in [
        "NRP 75020001",
        "BRIPKA BUDI",
        "POLRES KEDIRI",
        "https://www.instagram.com/p/P4/",
        "COLLECTION_INCOMPLETE",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert!(
        jobs[0]["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with(&format!("claim_complaint:{id}:escalated:"))
    );
    let (s, b) = escalate(&e, &id, &budi, json!({"expected_status": "open"})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::CONFLICT, "CLAIM_COMPLAINT_STATUS_CONFLICT")
    );
    assert_eq!(b["current_status"], "escalated");
    // A new triage of an escalated complaint keeps it escalated.
    let d = triage(&e, &budi, ig("P4")).await;
    assert_eq!(
        (
            &d["complaint_id"],
            &d["complaint_status"],
            &d["can_escalate"]
        ),
        (&json!(id), &json!("escalated"), &json!(false))
    );

    // A triage the person can fix is not escalated (422), with the status as expected.
    let mismatch = triage(&e, &budi, ig("P2")).await;
    assert_eq!(mismatch["triage_code"], "USERNAME_MISMATCH");
    let mid = mismatch["complaint_id"].as_str().unwrap().to_owned();
    let (s, b) = e
        .post(
            &format!("/api/claim/complaints/{mid}/escalate"),
            Some(&budi),
            json!({"expected_status": "open"}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "CLAIM_COMPLAINT_NOT_ESCALATABLE"
        )
    );
    // Fixing the handle resolves it on the next triage.
    let (s, _) = e
        .call(
            "PUT",
            "/api/claim/me",
            Some(&budi),
            Some(json!({"instagram_accounts": ["budi_ig", "budi.ig"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let d = triage(&e, &budi, ig("P2")).await;
    assert_eq!(
        (
            &d["triage_code"],
            &d["complaint_id"],
            &d["complaint_created"],
            &d["complaint_status"]
        ),
        (
            &json!("RECORDED"),
            &json!(mid),
            &json!(false),
            &json!("resolved")
        )
    );
    assert_eq!(d["matched_username"], "budi.ig");
    let (_, b) = e.get(&format!("/api/claim/complaints/{mid}"), &budi).await;
    assert_eq!(b["data"]["status"], "resolved");
    assert!(b["data"]["resolved_at"].is_string());
    // A later complaint about the same post opens a new one.
    sqlx::query("UPDATE insta_like SET likes = '[\"siti_ig\", \"andi_x\"]' WHERE shortcode = 'P2'")
        .execute(&e.db.pool)
        .await
        .unwrap();
    let d = triage(&e, &budi, ig("P2")).await;
    assert_eq!(d["triage_code"], "NOT_RECORDED");
    assert_eq!(d["complaint_created"], json!(true));
    assert_ne!(d["complaint_id"], json!(mid));
    e.done().await;
}

#[test]
fn openapi_describes_the_portal_routes() {
    let doc: Value = serde_json::from_str(cicero::http::OPENAPI).expect("openapi.json parses");
    for (path, method) in [
        ("/api/claim/register", "post"),
        ("/api/claim/register/confirm", "get"),
        ("/api/claim/password-reset/request", "post"),
        ("/api/claim/password-reset/verify", "post"),
        ("/api/claim/password-reset/confirm", "post"),
        ("/api/claim/me", "get"),
        ("/api/claim/me", "put"),
        ("/api/claim/pending-content", "get"),
        ("/api/claim/social-profile/validate", "post"),
        ("/api/claim/complaints/triage", "post"),
        ("/api/claim/complaints/{id}", "get"),
        ("/api/claim/complaints/{id}/escalate", "post"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "openapi.json lacks {method} {path}");
        assert!(
            op["responses"]["400"].is_object() || method == "get",
            "{method} {path}: 400"
        );
    }
    let codes = &doc["components"]["schemas"]["ClaimTriage"]["properties"]["triage_code"]["enum"];
    assert_eq!(codes.as_array().map(Vec::len), Some(8), "{codes}");
}

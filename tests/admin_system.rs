//! The admin console (`/api/admin-system/*`) against real PostgreSQL and Redis, with the
//! Telegram Bot API mimicked by wiremock (its real `sendMessage` answers): the OTP login end
//! to end (the code read from the message the bot was asked to send), its limits, the
//! separation from dashboard tokens, the roles, and the management routes' fields.
mod common;

use axum::http::StatusCode;
use redis::AsyncCommands;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use cicero::{
    config::AdminSystem,
    http::{admin_system, router},
};
use common::{
    TestDb,
    dashboard::{DashApp, Options, SECRET},
    send,
};

const BOT: &str = "123456:TEST-bot-token";
const SUPER: &str = "111";
const AUDITOR: &str = "222";
const FINANCE: &str = "333";

/// The dashboard app plus the admin console, with a mock Telegram Bot API.
struct Env {
    app: DashApp,
    tg: MockServer,
}

impl std::ops::Deref for Env {
    type Target = DashApp;
    fn deref(&self) -> &DashApp {
        &self.app
    }
}

/// A Bot API `sendMessage` success, as Telegram answers it.
fn sent(chat: i64) -> Value {
    json!({"ok": true, "result": {
        "message_id": 42,
        "from": {"id": 123456, "is_bot": true, "first_name": "Cicero", "username": "cicero_bot"},
        "chat": {"id": chat, "first_name": "Admin", "type": "private"},
        "date": 1764000000,
        "text": "Kode OTP"
    }})
}

async fn env() -> Env {
    let tg = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{BOT}/sendMessage")))
        .respond_with(ResponseTemplate::new(200).set_body_json(sent(111)))
        .mount(&tg)
        .await;
    env_with(tg).await
}

async fn env_with(tg: MockServer) -> Env {
    let settings = AdminSystem {
        bot_token: Some(BOT.into()),
        api_url: tg.uri(),
        chat_ids: vec![SUPER.into(), AUDITOR.into(), FINANCE.into()],
        roles: [(AUDITOR, "auditor"), (FINANCE, "finance_admin")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect(),
    };
    let opts = Options {
        allow_duplicates: true,
        tiers: &["tier1"],
        ..Options::default()
    };
    let app = DashApp::with_routes(
        opts,
        |_, state| state,
        |state| router(state.clone()).merge(admin_system::routes_with(state, settings)),
    )
    .await;
    Env { app, tg }
}

impl Env {
    async fn call(
        &self,
        m: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, _, b) = self.app.call(m, uri, token, body, &[]).await;
        (s, b)
    }

    /// The texts the bot was asked to send, with their chat ids.
    async fn messages(&self) -> Vec<(String, String)> {
        self.tg
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let v: Value = serde_json::from_slice(&r.body).expect("json body");
                let chat = match &v["chat_id"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (chat, v["text"].as_str().expect("text").to_owned())
            })
            .collect()
    }

    /// Asks for a code for `chat`: the request id and the code from the sent message.
    async fn request_code(&self, chat: &str) -> (String, String) {
        let before = self.messages().await.len();
        let (s, b) = self
            .call(
                "POST",
                "/api/admin-system/auth/telegram/request",
                None,
                Some(json!({"telegram_chat_id": chat})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["success"], json!(true));
        let msgs = self.messages().await;
        assert_eq!(msgs.len(), before + 1);
        let (to, text) = msgs.last().unwrap().clone();
        assert_eq!(to, chat);
        (b["request_id"].as_str().unwrap().to_owned(), code_in(&text))
    }

    async fn login(&self, chat: &str) -> String {
        let (rid, code) = self.request_code(chat).await;
        let (s, b) = self
            .call(
                "POST",
                "/api/admin-system/auth/telegram/verify",
                None,
                Some(json!({"request_id": rid, "otp_code": code})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["token"].as_str().unwrap().to_owned()
    }

    async fn done(self) {
        self.app.done().await
    }
}

/// The 6-digit code in a message text.
fn code_in(text: &str) -> String {
    let digits: Vec<char> = text.chars().collect();
    for w in digits.windows(6) {
        if w.iter().all(char::is_ascii_digit) {
            return w.iter().collect();
        }
    }
    panic!("no code in {text:?}");
}

fn wrong(code: &str) -> String {
    let last = code.as_bytes()[5] - b'0';
    format!("{}{}", &code[..5], (last + 1) % 10)
}

async fn seed(db: &TestDb) {
    sqlx::raw_sql(
        r#"
        -- Only these clients (the migration seeds POLDA_JATIM).
        DELETE FROM clients;
        INSERT INTO clients (client_id, nama, client_type, client_status, client_insta, client_tiktok)
        VALUES ('KEDIRI', 'POLRES KEDIRI', 'org', true, 'polreskediri', 'polreskediri'),
               ('BLITAR', 'POLRES BLITAR', 'org', false, 'polresblitar', NULL),
               ('DITBINMAS', 'DIREKTORAT BINMAS', 'direktorat', true, NULL, NULL);
        INSERT INTO dashboard_user (dashboard_user_id, username, password_hash, role_id, status, premium_status, premium_tier, premium_expires_at)
        SELECT '00000000-0000-0000-0000-000000000001'::uuid, 'op1', 'x', role_id, true, true, 'tier1', now() + interval '3 days' FROM roles WHERE role_name = 'operator';
        INSERT INTO dashboard_user (dashboard_user_id, username, password_hash, role_id, status)
        SELECT '00000000-0000-0000-0000-000000000002'::uuid, 'op2', 'x', role_id, false FROM roles WHERE role_name = 'operator';
        INSERT INTO dashboard_user_clients VALUES ('00000000-0000-0000-0000-000000000001', 'KEDIRI');
        INSERT INTO dashboard_premium_request (dashboard_user_id, client_id, username, bank_name, account_number, sender_name, status)
        VALUES ('00000000-0000-0000-0000-000000000002', 'KEDIRI', 'op2', 'BRI', '123', 'OP TWO', 'pending'),
               ('00000000-0000-0000-0000-000000000001', 'KEDIRI', 'op1', 'BRI', '123', 'OP ONE', 'approved');
        "#,
    )
    .execute(&db.pool)
    .await
    .expect("seed");
}

#[tokio::test]
async fn otp_login_end_to_end() {
    let e = env().await;
    seed(&e.db).await;
    let (rid, code) = e.request_code(SUPER).await;
    // Only the hash is kept, with the 5-minute lifetime.
    let key = format!("{}admin_system:otp:{rid}", e.prefix);
    let mut r = e.redis.clone();
    let stored: String = r.get(&key).await.unwrap();
    assert!(!stored.contains(&code), "{stored}");
    let ttl: i64 = r.ttl(&key).await.unwrap();
    assert!((1..=300).contains(&ttl), "{ttl}");

    let verify = "/api/admin-system/auth/telegram/verify";
    let (s, b) = e
        .call(
            "POST",
            verify,
            None,
            Some(json!({"request_id": rid, "otp_code": wrong(&code)})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert_eq!(b["success"], json!(false));
    assert_eq!(b["remaining_attempts"], json!(2));

    let (s, b) = e
        .call(
            "POST",
            verify,
            None,
            Some(json!({"request_id": rid, "otp_code": code, "telegram_username": SUPER})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], json!(true));
    assert_eq!(b["role"], "system_admin");
    assert_eq!(b["admin_role"], "super_admin");
    assert_eq!(b["expires_in"], json!(7200));
    let token = b["token"].as_str().unwrap().to_owned();
    let claims = cicero::http::dashboard::auth::verify_token(SECRET, &token).unwrap();
    assert_eq!(claims.role, "system_admin");
    assert_eq!(claims.exp - claims.iat, 7200);
    let session: String = r
        .get(format!("{}admin_system:login_token:{token}", e.prefix))
        .await
        .unwrap();
    assert_eq!(session, SUPER);
    // A code works once.
    let (s, _) = e
        .call(
            "POST",
            verify,
            None,
            Some(json!({"request_id": rid, "otp_code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, b) = e
        .call("GET", "/api/admin-system/auth/me", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["telegram_chat_id"], SUPER);
    assert_eq!(b["data"]["role"], "system_admin");
    assert_eq!(b["data"]["admin_role"], "super_admin");
    assert!(b["data"]["expires_at"].is_string());

    let (s, b) = e
        .call(
            "GET",
            "/api/admin-system/management/overview",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    assert_eq!(d["total_clients"], json!(3));
    assert_eq!(d["active_clients"], json!(2));
    assert_eq!(d["total_dashboard_users"], json!(2));
    assert_eq!(d["active_dashboard_users"], json!(1));
    assert_eq!(d["pending_dashboard_users"], json!(1));
    assert_eq!(d["pending_premium_requests"], json!(1));
    assert_eq!(d["active_premium_users"], json!(1));

    let (s, _) = e
        .call("POST", "/api/admin-system/auth/logout", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = e
        .call("GET", "/api/admin-system/auth/me", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    e.done().await;
}

#[tokio::test]
async fn unknown_chats_and_bad_input_send_nothing() {
    let e = env().await;
    let req = "/api/admin-system/auth/telegram/request";
    let (s, b) = e
        .call("POST", req, None, Some(json!({"telegram_chat_id": "999"})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["success"], json!(false));
    for body in [json!({}), json!({"telegram_chat_id": ""}), json!([1])] {
        let (s, b) = e.call("POST", req, None, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert_eq!(b["success"], json!(false));
        assert!(b["message"].is_string());
    }
    let (s, _, b) = send(&e.app.app, "POST", req, "not json", &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(e.messages().await.is_empty());
    let mut r = e.redis.clone();
    let keys: Vec<String> = r
        .keys(format!("{}admin_system:otp:*", e.prefix))
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");

    // A numeric chat id, and the username field naming a listed chat (the HEAD client).
    let (s, b) = e
        .call("POST", req, None, Some(json!({"telegram_chat_id": 111})))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = e
        .call(
            "POST",
            req,
            None,
            Some(json!({"telegram_username": "@222"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let chats: Vec<String> = e.messages().await.into_iter().map(|m| m.0).collect();
    assert_eq!(chats, ["111", "222"]);
    // At most 5 codes per chat in 15 minutes: the sixth is refused and not sent.
    for _ in 0..4 {
        let (s, _) = e
            .call("POST", req, None, Some(json!({"telegram_chat_id": "111"})))
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, b) = e
        .call("POST", req, None, Some(json!({"telegram_chat_id": "111"})))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(e.messages().await.len(), 6);

    let verify = "/api/admin-system/auth/telegram/verify";
    for body in [
        json!({"otp_code": "123456"}),
        json!({"request_id": "x"}),
        json!({"request_id": "x", "otp_code": "12ab56"}),
        json!({"request_id": "unknown", "otp_code": "123456"}),
    ] {
        let (s, b) = e.call("POST", verify, None, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert_eq!(b["success"], json!(false));
    }
    e.done().await;
}

#[tokio::test]
async fn three_wrong_codes_lock_and_expired_codes_are_gone() {
    let e = env().await;
    let verify = "/api/admin-system/auth/telegram/verify";
    let (rid, code) = e.request_code(SUPER).await;
    for (i, want) in [
        StatusCode::UNAUTHORIZED,
        StatusCode::UNAUTHORIZED,
        StatusCode::TOO_MANY_REQUESTS,
    ]
    .into_iter()
    .enumerate()
    {
        let (s, b) = e
            .call(
                "POST",
                verify,
                None,
                Some(json!({"request_id": rid, "otp_code": wrong(&code)})),
            )
            .await;
        assert_eq!(s, want, "try {i}: {b}");
        assert_eq!(b["success"], json!(false));
    }
    // Locked: even the right code is refused now.
    let (s, _) = e
        .call(
            "POST",
            verify,
            None,
            Some(json!({"request_id": rid, "otp_code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Expiry is Redis's TTL: once the key is gone the code is refused.
    let (rid, code) = e.request_code(FINANCE).await;
    let mut r = e.redis.clone();
    let _: () = r
        .del(format!("{}admin_system:otp:{rid}", e.prefix))
        .await
        .unwrap();
    let (s, b) = e
        .call(
            "POST",
            verify,
            None,
            Some(json!({"request_id": rid, "otp_code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    e.done().await;
}

#[tokio::test]
async fn a_telegram_refusal_is_a_502_and_keeps_no_code() {
    let tg = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{BOT}/sendMessage")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "ok": false, "error_code": 400, "description": "Bad Request: chat not found"
        })))
        .mount(&tg)
        .await;
    let e = env_with(tg).await;
    let (s, b) = e
        .call(
            "POST",
            "/api/admin-system/auth/telegram/request",
            None,
            Some(json!({"telegram_chat_id": SUPER})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("chat not found"),
        "{b}"
    );
    let mut r = e.redis.clone();
    let keys: Vec<String> = r
        .keys(format!("{}admin_system:otp:*", e.prefix))
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    e.done().await;
}

#[tokio::test]
async fn admin_and_dashboard_tokens_do_not_cross() {
    let e = env().await;
    let admin = e.login(SUPER).await;
    // A valid dashboard token with a live dashboard session.
    let now = chrono::Utc::now().timestamp();
    let dash_claims = cicero::http::dashboard::auth::Claims {
        dashboard_user_id: Some("00000000-0000-0000-0000-000000000001".into()),
        username: Some("op1".into()),
        role: "admin".into(),
        iat: now,
        exp: now + 3600,
        ..Default::default()
    };
    let dash = cicero::http::dashboard::auth::sign(SECRET, &dash_claims).unwrap();
    let mut r = e.redis.clone();
    let _: () = r
        .set_ex(
            format!("{}login_token:{dash}", e.prefix),
            "dashboard:00000000-0000-0000-0000-000000000001",
            3600,
        )
        .await
        .unwrap();
    for (token, uri) in [
        (Some(dash.as_str()), "/api/admin-system/management/overview"),
        (Some(dash.as_str()), "/api/admin-system/auth/me"),
        (None, "/api/admin-system/management/overview"),
        (Some("garbage"), "/api/admin-system/management/clients"),
        (Some(admin.as_str()), "/api/dashboard/stats"),
        (Some(admin.as_str()), "/api/clients/profile"),
    ] {
        let (s, b) = e.call("GET", uri, token, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri} {token:?}: {b}");
        assert_eq!(b["success"], json!(false));
    }
    // A token signed with another secret.
    let forged = admin_system::sign(
        "another-secret-0123456789",
        &admin_system::Claims {
            role: "system_admin".into(),
            admin_role: "super_admin".into(),
            telegram_chat_id: SUPER.into(),
            iat: now,
            exp: now + 3600,
        },
    )
    .unwrap();
    let (s, _) = e
        .call("GET", "/api/admin-system/auth/me", Some(&forged), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    e.done().await;
}

#[tokio::test]
async fn clients_list_summary_create_update_and_roles() {
    let e = env().await;
    seed(&e.db).await;
    let auditor = e.login(AUDITOR).await;
    let finance = e.login(FINANCE).await;
    let base = "/api/admin-system/management/clients";

    let (s, b) = e
        .call(
            "GET",
            &format!("{base}?page=1&limit=2"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    assert_eq!(d["total"], json!(3));
    assert_eq!(d["total_pages"], json!(2));
    let ids: Vec<&str> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["BLITAR", "DITBINMAS"]);
    assert_eq!(d["items"][0]["nama"], "POLRES BLITAR");
    let (_, b) = e
        .call("GET", &format!("{base}?q=kedi"), Some(&auditor), None)
        .await;
    assert_eq!(b["data"]["items"][0]["client_id"], "KEDIRI");
    assert_eq!(b["data"]["total"], json!(1));
    let (s, _) = e
        .call("GET", &format!("{base}?page=zero"), Some(&auditor), None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, b) = e
        .call("GET", &format!("{base}/summary"), Some(&auditor), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    assert_eq!(d["total_clients"], json!(3));
    assert_eq!(d["active_clients"], json!(2));
    assert_eq!(d["inactive_clients"], json!(1));
    assert_eq!(d["instagram_enabled"], json!(2));
    assert_eq!(d["tiktok_enabled"], json!(1));
    assert_eq!(d["with_dashboard_users"], json!(1));
    assert_eq!(d["by_type"], json!({"org": 2, "direktorat": 1}));

    let new = json!({"client_id": "MADIUN", "nama": "POLRES MADIUN", "client_type": "org",
                     "client_status": true, "client_insta": "polresmadiun"});
    let (s, b) = e
        .call("POST", base, Some(&auditor), Some(new.clone()))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["success"], json!(false));
    let (s, b) = e
        .call("POST", base, Some(&finance), Some(new.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["client_id"], "MADIUN");
    assert_eq!(b["data"]["client_insta"], "polresmadiun");
    let (s, _) = e.call("POST", base, Some(&finance), Some(new)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    for bad in [
        json!({"nama": "X"}),
        json!({"client_id": "X"}),
        json!({"client_id": "X Y", "nama": "X"}),
        json!({"client_id": "X", "nama": "X", "client_status": "yes"}),
        json!({"client_id": "X", "nama": 5}),
    ] {
        let (s, b) = e
            .call("POST", base, Some(&finance), Some(bad.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
        assert_eq!(b["success"], json!(false));
    }

    let (s, b) = e
        .call(
            "PUT",
            &format!("{base}/madiun"),
            Some(&finance),
            Some(json!({"client_status": false, "client_tiktok": "madiun_tt"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["client_status"], json!(false));
    assert_eq!(b["data"]["client_tiktok"], "madiun_tt");
    assert_eq!(b["data"]["nama"], "POLRES MADIUN");
    let (s, _) = e
        .call(
            "PUT",
            &format!("{base}/NOPE"),
            Some(&finance),
            Some(json!({"nama": "X"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = e
        .call(
            "PUT",
            &format!("{base}/MADIUN"),
            Some(&finance),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = e
        .call(
            "PUT",
            &format!("{base}/MADIUN"),
            Some(&auditor),
            Some(json!({"nama": "X"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let audit: Vec<(String, String, String)> =
        sqlx::query_as("SELECT actor, action, target FROM cicero.audit_log ORDER BY id")
            .fetch_all(&e.db.pool)
            .await
            .unwrap();
    assert_eq!(
        audit,
        [
            (
                "admin-system:333".into(),
                "client.create".into(),
                "MADIUN".into()
            ),
            (
                "admin-system:333".into(),
                "client.update".into(),
                "MADIUN".into()
            ),
        ]
    );
    e.done().await;
}

#[tokio::test]
async fn not_served_without_a_bot() {
    // The production router mounts the console only when the environment enables it (the
    // dashboard alone is not enough).
    let tg = MockServer::start().await;
    let e = env_with(tg).await;
    let plain = DashApp::new(Options::default(), |_, state| state).await;
    let (s, _, b) = plain
        .call(
            "POST",
            "/api/admin-system/auth/telegram/request",
            None,
            Some(json!({"telegram_chat_id": SUPER})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(b["success"], json!(false));
    assert!(e.messages().await.is_empty());
    plain.done().await;
    e.done().await;
}

#[tokio::test]
async fn openapi_describes_the_admin_routes() {
    let doc: Value = serde_json::from_str(cicero::http::OPENAPI).unwrap();
    for (p, m) in [
        ("/api/admin-system/auth/telegram/request", "post"),
        ("/api/admin-system/auth/telegram/verify", "post"),
        ("/api/admin-system/auth/me", "get"),
        ("/api/admin-system/auth/logout", "post"),
        ("/api/admin-system/management/overview", "get"),
        ("/api/admin-system/management/clients", "get"),
        ("/api/admin-system/management/clients", "post"),
        ("/api/admin-system/management/clients/summary", "get"),
        ("/api/admin-system/management/clients/{client_id}", "put"),
        ("/api/admin-system/management/clients/{client_id}", "delete"),
        ("/api/admin-system/management/funds", "get"),
        ("/api/admin-system/management/funds/transactions", "get"),
        ("/api/admin-system/management/funds/transactions", "post"),
        ("/api/admin-system/management/funds/requests", "get"),
        ("/api/admin-system/management/funds/requests", "post"),
        (
            "/api/admin-system/management/funds/requests/{request_id}/approve",
            "post",
        ),
        (
            "/api/admin-system/management/funds/requests/{request_id}/reject",
            "post",
        ),
        ("/api/admin-system/management/funds/audit", "get"),
        ("/api/admin-system/management/funds/audit/export.csv", "get"),
        ("/api/admin-system/management/funds/summary", "get"),
        ("/api/admin-system/management/system-audit", "get"),
        ("/api/admin-system/management/config", "get"),
        ("/api/admin-system/management/config/audit", "get"),
        ("/api/admin-system/management/payments/requests", "get"),
        (
            "/api/admin-system/management/payments/requests/{request_id}/decision",
            "post",
        ),
    ] {
        assert!(doc["paths"][p][m].is_object(), "openapi.json lacks {m} {p}");
    }
}

#[tokio::test]
async fn funds_transactions_requests_audit_and_summary() {
    let e = env().await;
    let auditor = e.login(AUDITOR).await;
    let finance = e.login(FINANCE).await;
    let boss = e.login(SUPER).await;
    let m = "/api/admin-system/management/funds";

    // Transactions: writers only, checked input.
    let tx = |category: &str, amount: Value, direction: &str| {
        json!({"category": category, "amount": amount, "direction": direction,
               "description": "Dana, hibah"})
    };
    let (s, b) = e
        .call(
            "POST",
            &format!("{m}/transactions"),
            Some(&auditor),
            Some(tx("donasi", json!(1), "inflow")),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) = e
        .call(
            "POST",
            &format!("{m}/transactions"),
            Some(&finance),
            Some(tx("donasi", json!(1000000), "inflow")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["amount"].as_f64(), Some(1_000_000.0));
    assert_eq!(b["data"]["direction"], "inflow");
    assert_eq!(b["data"]["created_by"], "telegram:333");
    let (s, b) = e
        .call(
            "POST",
            &format!("{m}/transactions"),
            Some(&boss),
            Some(tx("server", json!("250000"), "outflow")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    for bad in [
        tx("x", json!(0), "inflow"),
        tx("x", json!(-5), "inflow"),
        tx("x", json!(5), "sideways"),
        tx("", json!(5), "inflow"),
        json!({"amount": 5, "direction": "inflow"}),
    ] {
        let (s, b) = e
            .call(
                "POST",
                &format!("{m}/transactions"),
                Some(&finance),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
        assert_eq!(b["success"], json!(false));
    }
    let (s, b) = e
        .call(
            "GET",
            &format!("{m}/transactions?direction=inflow"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["total"], json!(1));
    assert_eq!(b["data"]["items"][0]["category"], "donasi");
    let (_, b) = e
        .call(
            "GET",
            &format!("{m}/transactions?limit=1&page=2"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(b["data"]["total"], json!(2));
    assert_eq!(b["data"]["total_pages"], json!(2));
    // Newest first: page 2 holds the first one.
    assert_eq!(b["data"]["items"][0]["category"], "donasi");
    for q in ["direction=up", "start_date=2026-13-01", "page=-1"] {
        let (s, b) = e
            .call(
                "GET",
                &format!("{m}/transactions?{q}"),
                Some(&auditor),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {b}");
    }
    let (_, b) = e
        .call(
            "GET",
            &format!("{m}/transactions?start_date=2000-01-01&end_date=2000-01-31"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(b["data"]["total"], json!(0));

    // Requests: create, approve (books the outflow), reject with a reason.
    let (s, b) = e
        .call(
            "POST",
            &format!("{m}/requests"),
            Some(&finance),
            Some(json!({"title": "Sewa server", "requested_amount": 300000, "note": "Q1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["status"], "pending");
    let first = b["data"]["id"].as_i64().unwrap();
    let (_, b) = e
        .call(
            "POST",
            &format!("{m}/requests"),
            Some(&finance),
            Some(json!({"title": "Pelatihan", "requested_amount": 50000})),
        )
        .await;
    let second = b["data"]["id"].as_i64().unwrap();
    let (s, _) = e
        .call(
            "POST",
            &format!("{m}/requests"),
            Some(&finance),
            Some(json!({"title": "X"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let approve = format!("{m}/requests/{first}/approve");
    let (s, b) = e
        .call(
            "POST",
            &approve,
            Some(&auditor),
            Some(json!({"approval_note": null})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) = e
        .call(
            "POST",
            &approve,
            Some(&finance),
            Some(json!({"approval_note": "ok"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "approved");
    assert_eq!(b["data"]["decision_note"], "ok");
    assert_eq!(b["data"]["decided_by"], "telegram:333");
    assert_eq!(b["transaction"]["direction"], "outflow");
    assert_eq!(b["transaction"]["amount"].as_f64(), Some(300_000.0));
    assert_eq!(b["transaction"]["request_id"], json!(first));
    let (s, _) = e
        .call("POST", &approve, Some(&finance), Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let reject = format!("{m}/requests/{second}/reject");
    let (s, _) = e
        .call("POST", &reject, Some(&finance), Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, b) = e
        .call(
            "POST",
            &reject,
            Some(&boss),
            Some(json!({"rejection_reason": "Tidak perlu"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "rejected");
    assert_eq!(b["data"]["decision_note"], "Tidak perlu");
    assert!(b["transaction"].is_null());
    let (s, _) = e
        .call(
            "POST",
            &format!("{m}/requests/999/approve"),
            Some(&finance),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = e
        .call(
            "POST",
            &format!("{m}/requests/abc/approve"),
            Some(&finance),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, b) = e
        .call(
            "GET",
            &format!("{m}/requests?status=rejected"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(b["data"]["total"], json!(1));
    assert_eq!(b["data"]["items"][0]["title"], "Pelatihan");

    // Balance and per-period sums (today in Jakarta).
    let (s, b) = e.call("GET", m, Some(&auditor), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    assert_eq!(d["total_inflow"].as_f64(), Some(1_000_000.0));
    assert_eq!(d["total_outflow"].as_f64(), Some(550_000.0));
    assert_eq!(d["balance"].as_f64(), Some(450_000.0));
    assert_eq!(d["transaction_count"], json!(3));
    assert_eq!(d["pending_requests"], json!(0));
    assert_eq!(d["recent_transactions"].as_array().unwrap().len(), 3);
    let today: String = sqlx::query_scalar(
        "SELECT to_char((now() AT TIME ZONE 'Asia/Jakarta')::date, 'YYYY-MM-DD')",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    let (s, b) = e
        .call(
            "GET",
            &format!("{m}/summary?period=daily"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"][0]["period_start"], json!(today));
    assert_eq!(b["data"][0]["inflow"].as_f64(), Some(1_000_000.0));
    assert_eq!(b["data"][0]["outflow"].as_f64(), Some(550_000.0));
    assert_eq!(b["data"][0]["net"].as_f64(), Some(450_000.0));
    assert_eq!(b["data"][0]["transaction_count"], json!(3));
    let (_, b) = e
        .call(
            "GET",
            &format!("{m}/summary?period=monthly"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(
        b["data"][0]["period_start"],
        json!(format!("{}-01", &today[..7]))
    );
    let (s, _) = e
        .call(
            "GET",
            &format!("{m}/summary?period=yearly"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Audit: every write, filterable, and as CSV.
    let (_, b) = e
        .call("GET", &format!("{m}/audit"), Some(&auditor), None)
        .await;
    assert_eq!(b["data"]["total"], json!(6));
    assert_eq!(b["data"]["items"][0]["action_type"], "request.reject");
    assert_eq!(b["data"]["items"][0]["admin_role"], "super_admin");
    let (_, b) = e
        .call(
            "GET",
            &format!("{m}/audit?action_type=request.approve"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(b["data"]["total"], json!(1));
    assert_eq!(b["data"]["items"][0]["entity_id"], json!(first));
    let bearer = format!("Bearer {auditor}");
    let (s, h, body) = common::send_raw(
        &e.app.app,
        "GET",
        &format!("{m}/audit/export.csv"),
        axum::body::Body::empty(),
        &[("authorization", bearer.as_str())],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"fund-audit-log.csv\""
    );
    let csv = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "id,created_at,action_type,entity_type,entity_id,actor,admin_role,detail"
    );
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(
        lines[1].contains(",request.reject,request,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains(",telegram:111,super_admin,\""),
        "{}",
        lines[1]
    );
    assert!(csv.contains("Dana, hibah"));
    let (s, _, _) = common::send_raw(
        &e.app.app,
        "GET",
        &format!("{m}/audit/export.csv"),
        axum::body::Body::empty(),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    e.done().await;
}

#[tokio::test]
async fn system_audit_config_and_payment_requests() {
    let e = env().await;
    seed(&e.db).await;
    let finance = e.login(FINANCE).await;
    let auditor = e.login(AUDITOR).await;
    let m = "/api/admin-system/management";
    let (s, _) = e
        .call(
            "POST",
            &format!("{m}/clients"),
            Some(&finance),
            Some(json!({"client_id": "NGAWI", "nama": "POLRES NGAWI"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = e
        .call(
            "POST",
            &format!("{m}/funds/transactions"),
            Some(&finance),
            Some(json!({"category": "donasi", "amount": 10, "direction": "inflow"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    sqlx::raw_sql(
        "INSERT INTO dashboard_premium_request_audit (request_id, action, actor, status_from, status_to)
         SELECT request_id, 'approved', 'admin', 'pending', 'approved'
         FROM dashboard_premium_request WHERE username = 'op1';
         INSERT INTO cicero.system_management_config_audit
           (config_key, old_value, new_value, actor, admin_role, notes)
         VALUES ('ADMIN_SYSTEM_PAGE_SIZE', '20', '50', 'telegram:111', 'super_admin', 'test');",
    )
    .execute(&e.db.pool)
    .await
    .unwrap();

    let (s, b) = e
        .call("GET", &format!("{m}/system-audit"), Some(&auditor), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["total"], json!(4));
    let mut sources: Vec<&str> = b["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["source"].as_str().unwrap())
        .collect();
    sources.sort();
    assert_eq!(sources, ["board", "config", "fund", "premium_request"]);
    let (_, b) = e
        .call(
            "GET",
            &format!("{m}/system-audit?source=board"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(b["data"]["total"], json!(1));
    let item = &b["data"]["items"][0];
    assert_eq!(item["actor"], "admin-system:333");
    assert_eq!(item["action"], "client.create");
    assert_eq!(item["target"], "NGAWI");
    assert!(item["at"].is_string());
    let (s, _) = e
        .call(
            "GET",
            &format!("{m}/system-audit?source=nope"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, b) = e
        .call("GET", &format!("{m}/config"), Some(&auditor), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(!b.to_string().contains(BOT), "the bot token leaks: {b}");
    let c = &b["data"]["config"];
    assert_eq!(c["telegram_bot_token"], "1234…(masked)");
    assert_eq!(
        c["telegram_admin_chat_ids"],
        json!([SUPER, AUDITOR, FINANCE])
    );
    assert_eq!(
        c["role_map"],
        json!({SUPER: "super_admin", AUDITOR: "auditor", FINANCE: "finance_admin"})
    );
    assert_eq!(c["otp_ttl_seconds"], json!(300));
    assert_eq!(c["otp_max_attempts"], json!(3));
    assert_eq!(c["session_ttl_seconds"], json!(7200));
    assert_eq!(c["timezone"], "Asia/Jakarta");
    // The mock Bot API is plain http: a high risk.
    assert_eq!(b["data"]["risk"]["level"], "high");
    assert!(
        b["data"]["risk"]["issues"][0]
            .as_str()
            .unwrap()
            .contains("TELEGRAM_API_URL"),
        "{b}"
    );
    let (s, b) = e
        .call("GET", &format!("{m}/config/audit"), Some(&auditor), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["total"], json!(1));
    assert_eq!(
        b["data"]["items"][0]["config_key"],
        "ADMIN_SYSTEM_PAGE_SIZE"
    );
    assert_eq!(b["data"]["items"][0]["new_value"], "50");

    let (s, b) = e
        .call(
            "GET",
            &format!("{m}/payments/requests"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["total"], json!(2));
    let (_, b) = e
        .call(
            "GET",
            &format!("{m}/payments/requests?status=pending"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(b["data"]["total"], json!(1));
    let r = &b["data"]["items"][0];
    assert_eq!(r["username"], "op2");
    assert_eq!(r["status"], "pending");
    assert_eq!(r["client_id"], "KEDIRI");
    assert_eq!(r["bank_name"], "BRI");
    assert!(r["request_id"].is_number());

    // The decision: an auditor may not decide; a finance admin approves through the same path
    // as a dashboard admin (subscription, audit row naming the chat).
    let decide = format!("{m}/payments/requests/{}/decision", r["request_id"]);
    let (s, _) = e
        .call(
            "POST",
            &decide,
            Some(&auditor),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = e
        .call(
            "POST",
            &decide,
            Some(&finance),
            Some(json!({"decision": "maybe"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = e
        .call(
            "POST",
            &decide,
            Some(&finance),
            Some(json!({"decision": "approve", "premium_tier": "tier2"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["request"]["status"], "approved");
    assert_eq!(b["subscription"]["tier"], "tier2");
    let (actor, to): (String, String) = sqlx::query_as(
        "SELECT actor, status_to FROM dashboard_premium_request_audit a \
         JOIN dashboard_premium_request r USING (request_id) \
         WHERE r.username = 'op2' ORDER BY a.created_at DESC LIMIT 1",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!((actor.as_str(), to.as_str()), ("telegram:333", "approved"));
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM dashboard_user_subscriptions \
         WHERE dashboard_user_id = '00000000-0000-0000-0000-000000000002' AND status = 'active'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(active, 1);
    // Decided once: a second decision is 409; an unknown request 404.
    let (s, _) = e
        .call(
            "POST",
            &decide,
            Some(&finance),
            Some(json!({"decision": "reject"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = e
        .call(
            "POST",
            &format!("{m}/payments/requests/999999/decision"),
            Some(&finance),
            Some(json!({"decision": "reject"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    e.done().await;
}

//! Issue 5 item 2 on real PostgreSQL and Redis: digest → whatsapp_send → outbox, the WAHA
//! transport against a local server speaking WAHA's wire format, the webhook, the session
//! pause, the crash window, and the OTP mail through a real local SMTP server (aiosmtpd).
mod common;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

use cicero::{
    domain::{
        recap::RecapClock,
        time::{jakarta_day, jakarta_day_window},
    },
    http::{AppState, router},
    whatsapp::{self, Body as WaBody, Outgoing, SendError, WhatsAppTransport, waha::Waha},
};
use common::{TOKEN, TestDb, smtp::Smtp};

const HMAC_KEY: &str = "webhook-secret-0123";

// ---------- helpers ----------

fn start(db: &TestDb, extra: &[(&str, &str)], queues: &[&str]) -> common::Running {
    db.worker(queues, extra)
}

async fn wait_for(what: &str, secs: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scalar_i64(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.pool)
        .await
        .expect(sql)
}

fn app_with(db: &TestDb, extra: &[(&str, &str)]) -> Router {
    let settings = db.settings(extra);
    router(Arc::new(
        AppState::new(db.pool.clone(), TOKEN.into(), Vec::new()).with_messaging(&settings),
    ))
}

async fn request(
    app: &Router,
    method: &str,
    uri: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let (status, _, body) = common::send(app, method, uri, body.to_string(), headers).await;
    (status, body)
}

async fn webhook(app: &Router, event: &Value) -> (StatusCode, Value) {
    let body = event.to_string();
    let sig = whatsapp::webhook_signature(HMAC_KEY, body.as_bytes());
    request(
        app,
        "POST",
        "/api/whatsapp/webhook",
        &body,
        &[
            ("x-webhook-hmac", &sig),
            ("x-webhook-hmac-algorithm", "sha512"),
        ],
    )
    .await
}

// ---------- a local server speaking WAHA's wire format ----------

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    api_key: Option<String>,
    body: Value,
}

#[derive(Clone)]
enum Mode {
    Working,
    /// 422 "Session status is not as expected" with this status.
    Down(&'static str),
    /// Answer every send with this status and body.
    Fail(u16, Value),
    /// Record the send, kill this process (the worker), then answer.
    KillThenWork(u32),
}

#[derive(Clone)]
struct MockWaha {
    seen: Arc<Mutex<Vec<Seen>>>,
    mode: Arc<Mutex<Mode>>,
}

impl MockWaha {
    async fn start() -> (MockWaha, String) {
        let m = MockWaha {
            seen: Arc::default(),
            mode: Arc::new(Mutex::new(Mode::Working)),
        };
        let app = Router::new()
            .route("/api/sendText", post(mock_send))
            .route("/api/sendFile", post(mock_send))
            .route("/api/sessions/{session}", get(mock_session))
            .with_state(m.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (m, format!("http://{addr}"))
    }
    fn set(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }
    fn sends(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .expect("seen")
            .iter()
            .filter(|s| s.method == "POST")
            .cloned()
            .collect()
    }
}

fn record(m: &MockWaha, method: &str, path: &str, headers: &HeaderMap, body: Value) {
    m.seen.lock().expect("seen").push(Seen {
        method: method.into(),
        path: path.into(),
        api_key: headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body,
    });
}

async fn mock_send(
    State(m): State<MockWaha>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mode = m.mode.lock().expect("mode").clone();
    match mode {
        Mode::Down(status) => {
            return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({
                "error": "Session status is not as expected. Try again later or restart the session",
                "session": body["session"], "status": status, "expected": ["WORKING"]}))).into_response();
        }
        Mode::Fail(code, b) => {
            record(&m, "POST", uri.path(), &headers, body);
            let mut res = (StatusCode::from_u16(code).expect("status"), Json(b)).into_response();
            if code == 429 {
                res.headers_mut()
                    .insert("retry-after", "3".parse().expect("header"));
            }
            return res;
        }
        Mode::KillThenWork(pid) => {
            record(&m, "POST", uri.path(), &headers, body.clone());
            m.set(Mode::Working);
            // The gateway has the message; the worker dies before it can commit.
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
        Mode::Working => record(&m, "POST", uri.path(), &headers, body.clone()),
    }
    let n = m.seen.lock().expect("seen").len();
    (StatusCode::CREATED, Json(json!({"id": format!("true_{}_{n}", body["chatId"].as_str().unwrap_or("")), "timestamp": 1}))).into_response()
}

async fn mock_session(
    State(m): State<MockWaha>,
    axum::extract::Path(session): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    record(
        &m,
        "GET",
        &format!("/api/sessions/{session}"),
        &headers,
        Value::Null,
    );
    let status = match &*m.mode.lock().expect("mode") {
        Mode::Down(s) => *s,
        _ => "WORKING",
    };
    Json(json!({"name": session, "status": status, "config": {}})).into_response()
}

// ---------- seed ----------

async fn seed_polres(db: &TestDb) {
    let (start, _) = jakarta_day_window(jakarta_day(chrono::Utc::now())).expect("window");
    let t1 = start + chrono::Duration::hours(1);
    let t2 = start + chrono::Duration::hours(2);
    let sql = [
        "INSERT INTO clients (client_id, nama, client_type, client_status, client_insta, client_tiktok, client_operator, client_group, client_super)
         VALUES ('POLRES_A', 'POLRES ALPHA', 'org', true, 'polres_alpha', '@polresalpha', '081111111111', '120363000000000001@g.us', '082222222222, 083333333333'),
                ('POLRES_B', 'POLRES BETA', 'org', false, 'b', 'b', '084444444444', NULL, NULL)",
        "INSERT INTO roles (role_name) VALUES ('operator') ON CONFLICT DO NOTHING",
        "INSERT INTO \"user\" (user_id, nama, title, divisi, jabatan, insta, client_id, status) VALUES
            ('1', 'BUDI', 'AKP', 'SAT BINMAS', 'KASAT BINMAS', '@Budi.A', 'POLRES_A', true),
            ('2', 'SITI', 'BRIPKA', 'SAT BINMAS', '', 'siti', 'POLRES_A', true),
            ('3', 'ANDI', 'IPDA', 'BAG OPS', 'KABAG OPS', NULL, 'POLRES_A', true),
            ('4', 'JOKO', 'BRIPDA', 'BAG OPS', '', 'joko', 'POLRES_A', true),
            ('5', 'NOROLE', 'BRIPDA', 'BAG OPS', '', 'norole', 'POLRES_A', true),
            ('6', 'INACTIVE', 'BRIPDA', 'BAG OPS', '', 'inactive', 'POLRES_A', false)",
        "INSERT INTO user_roles (user_id, role_id) SELECT u, (SELECT role_id FROM roles WHERE role_name = 'operator') FROM unnest(ARRAY['1','2','3','4','6']) u",
    ];
    for s in sql {
        sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
            .execute(&db.pool)
            .await
            .expect(s);
    }
    for (sc, client, at) in [
        ("SC2", "POLRES_A", t2),
        ("SC1", "POLRES_A", t1),
        ("SCX", "POLRES_B", t1),
    ] {
        sqlx::query(
            "INSERT INTO insta_post (shortcode, client_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(sc)
        .bind(client)
        .bind(at)
        .execute(&db.pool)
        .await
        .expect("post");
    }
    // yesterday's post must not count
    sqlx::query(
        "INSERT INTO insta_post (shortcode, client_id, created_at) VALUES ('OLD', 'POLRES_A', $1)",
    )
    .bind(start - chrono::Duration::hours(1))
    .execute(&db.pool)
    .await
    .expect("post");
    for (sc, likes) in [
        ("SC1", json!(["budi.a", "siti", "norole"])),
        ("SC2", json!(["@BUDI.A"])),
        ("OLD", json!(["joko"])),
    ] {
        sqlx::query("INSERT INTO insta_like (shortcode, likes) VALUES ($1, $2)")
            .bind(sc)
            .bind(likes)
            .execute(&db.pool)
            .await
            .expect("like");
    }
}

fn expected_likes_recap(jam: &str) -> String {
    let c = RecapClock::at(chrono::Utc::now());
    format!(
        "Mohon ijin Komandan,\n\n📋 *Rekap Akumulasi Likes Instagram*\n*Polres*: *POLRES ALPHA*\n{}, {}\nJam: {jam}\n\n\
*Jumlah Konten:* 2\n*Daftar Link Konten:*\nhttps://www.instagram.com/p/SC1\nhttps://www.instagram.com/p/SC2\n\n\
*Jumlah user:* 4 user\n✅ *Melaksanakan lengkap* : *1 user*\n⚠️ *Melaksanakan kurang lengkap* : *1 user*\n❌ *Belum melaksanakan* : *2 user*\n\n\
✅ *Melaksanakan lengkap* (1 user)\n⚠️ *Melaksanakan kurang lengkap* (1 user)\n❌ *Belum melaksanakan* (2 user)\n\n\
*BAG OPS* (2 user):\n✅ Lengkap (0 user):\n⚠️ Kurang (0 user):\n❌ Belum (2 user):\n- IPDA ANDI : - (0/2 konten)\n- BRIPDA JOKO : @joko (0/2 konten)\n\n\
*SAT BINMAS* (2 user):\n✅ Lengkap (1 user):\n- AKP BUDI : @budi.a (2/2 konten)\n⚠️ Kurang (1 user):\n- BRIPKA SITI : @siti (1/2 konten)\n❌ Belum (0 user):\n\n\
Terimakasih.",
        c.hari, c.tanggal
    )
}

/// The `Jam: HH.MM.SS` of a recap (the moment it was built).
fn jam_of(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with("Jam: "))
        .expect("a Jam line");
    let jam = &line[5..];
    assert!(
        jam.len() == 8
            && jam.chars().enumerate().all(|(i, c)| if i == 2 || i == 5 {
                c == '.'
            } else {
                c.is_ascii_digit()
            }),
        "{jam}"
    );
    jam.to_string()
}

// ---------- tests ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_end_to_end_into_the_outbox() {
    let db = TestDb::new().await;
    seed_polres(&db).await;
    let digest = db
        .enqueue(
            "send_digest",
            json!({"client_id": "POLRES_A", "report": "likes", "slot": "15:20"}),
        )
        .await;
    // Unique per (client, report, slot): a second enqueue is the same job.
    let again = cicero::platform::jobs::enqueue(
        &db.pool,
        &cicero::platform::jobs::NewJob::new(
            "send_digest",
            json!({"client_id": "POLRES_A", "report": "likes", "slot": "15:20"}),
        ),
    )
    .await
    .expect("enqueue");
    assert!(again.duplicate && again.id == digest);
    // A digest past its not_after is dropped with a reason, and sends nothing.
    let late = db
        .enqueue(
            "send_digest",
            json!({"client_id": "POLRES_A", "report": "likes", "slot": "18:20",
        "not_after": "2020-01-01T00:00:00Z"}),
        )
        .await;

    let w = start(
        &db,
        &[("ADMIN_WHATSAPP", "0899999999")],
        &["messaging", "whatsapp"],
    );
    db.wait_state(digest, "done", 30).await;
    db.wait_state(late, "done", 30).await;
    wait_for("4 outbox rows sent", 30, async || {
        scalar_i64(
            &db,
            "SELECT count(*) FROM cicero.wa_outbox WHERE status = 'sent'",
        )
        .await
            == 4
    })
    .await;
    w.stop().await;

    let late_result: Value = sqlx::query_scalar("SELECT result FROM cicero.jobs WHERE id = $1")
        .bind(late)
        .fetch_one(&db.pool)
        .await
        .expect("result");
    assert_eq!(late_result["dropped"], json!(true), "{late_result}");
    assert!(
        late_result["reason"]
            .as_str()
            .expect("reason")
            .contains("not_after")
    );

    let rows: Vec<(String, String, String, String, i32)> = sqlx::query_as(
        "SELECT chat_id, text, transport, idempotency_key, sends FROM cicero.wa_outbox ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .expect("rows");
    let chats: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        chats,
        [
            "120363000000000001@g.us",
            "6281111111111@c.us",
            "6282222222222@c.us",
            "6283333333333@c.us"
        ]
    );
    let day = jakarta_day(chrono::Utc::now());
    for (chat, text, transport, key, sends) in &rows {
        assert_eq!(text, &expected_likes_recap(&jam_of(text)));
        assert_eq!(transport, "outbox");
        assert_eq!(key, &format!("digest:POLRES_A:likes:{day}:15:20:{chat}"));
        assert_eq!(*sends, 1);
    }
    // The board's view of the same rows.
    let app = db.app();
    let (status, body) = request(
        &app,
        "GET",
        "/api/whatsapp/outbox?limit=2",
        "",
        &[("authorization", &format!("Bearer {TOKEN}"))],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let msgs = body["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 2);
    for field in [
        "id",
        "idempotency_key",
        "chat_id",
        "kind",
        "text",
        "file_name",
        "status",
        "transport",
        "job_id",
        "created_at",
        "sent_at",
        "error",
    ] {
        assert!(
            msgs[0].get(field).is_some(),
            "outbox message lacks {field}: {}",
            msgs[0]
        );
    }
    assert_eq!(msgs[0]["chat_id"], "6283333333333@c.us");
    let before = msgs[1]["id"].as_i64().expect("id");
    let (_, page2) = request(
        &app,
        "GET",
        &format!("/api/whatsapp/outbox?limit=10&before_id={before}"),
        "",
        &[("authorization", &format!("Bearer {TOKEN}"))],
    )
    .await;
    assert_eq!(page2["messages"].as_array().map(Vec::len), Some(2));
    let (status, _) = request(
        &app,
        "GET",
        "/api/whatsapp/outbox?limit=abc",
        "",
        &[("authorization", &format!("Bearer {TOKEN}"))],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = request(&app, "GET", "/api/whatsapp/outbox", "", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_for_every_client_fans_out_to_active_org_clients() {
    let db = TestDb::new().await;
    seed_polres(&db).await;
    let all = db.enqueue("send_digest", json!({"client_id": "*", "report": "likes", "slot": "20:20", "recipients": ["operator"]})).await;
    let w = start(&db, &[], &["messaging", "whatsapp"]);
    db.wait_state(all, "done", 30).await;
    wait_for("the per-client digest and its send", 30, async || {
        scalar_i64(
            &db,
            "SELECT count(*) FROM cicero.wa_outbox WHERE status = 'sent'",
        )
        .await
            == 1
    })
    .await;
    w.stop().await;
    // POLRES_B is inactive: only POLRES_A's operator gets a recap.
    let chat: String = sqlx::query_scalar("SELECT chat_id FROM cicero.wa_outbox")
        .fetch_one(&db.pool)
        .await
        .expect("row");
    assert_eq!(chat, "6281111111111@c.us");
    db.drop_db().await;
}

#[tokio::test]
async fn waha_transport_speaks_the_wire_format_and_maps_errors() {
    let (mock, url) = MockWaha::start().await;
    let waha = Waha::new(url.clone(), Some("api-key-1".into()));
    let text = Outgoing {
        chat_id: "6281234567890@c.us".into(),
        body: WaBody::Text("Halo".into()),
    };
    let sent = waha.send("default", &text).await.expect("sent");
    assert!(sent.provider_message_id.is_some());
    let doc = Outgoing {
        chat_id: "120363000000000001@g.us".into(),
        body: WaBody::Document(cicero_jobs::whatsapp_send::Document {
            file_name: "rekap.xlsx".into(),
            mimetype: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
            data_base64: "UEsDBA==".into(),
            caption: Some("Rekap".into()),
        }),
    };
    waha.send("default", &doc).await.expect("file sent");
    assert_eq!(
        waha.session_status("default").await.expect("status"),
        "WORKING"
    );
    let seen = mock.seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/api/sendText")
    );
    assert_eq!(
        seen[0].body,
        json!({"session": "default", "chatId": "6281234567890@c.us", "text": "Halo"})
    );
    assert_eq!(seen[0].api_key.as_deref(), Some("api-key-1"));
    assert_eq!(seen[1].path, "/api/sendFile");
    assert_eq!(
        seen[1].body,
        json!({"session": "default", "chatId": "120363000000000001@g.us", "caption": "Rekap",
        "file": {"mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "filename": "rekap.xlsx", "data": "UEsDBA=="}})
    );
    assert_eq!(
        (seen[2].method.as_str(), seen[2].path.as_str()),
        ("GET", "/api/sessions/default")
    );

    mock.set(Mode::Down("SCAN_QR_CODE"));
    match waha.send("default", &text).await {
        Err(SendError::NotReady { state, .. }) => assert_eq!(state, "SCAN_QR_CODE"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        waha.session_status("default").await.expect("status"),
        "SCAN_QR_CODE"
    );
    let cases: Vec<(u16, Value, &str)> = vec![
        (
            400,
            json!({"statusCode": 400, "message": "chatId is not a participant of the group"}),
            "Permanent",
        ),
        (
            404,
            json!({"statusCode": 404, "message": "Not Found"}),
            "Permanent",
        ),
        (
            500,
            json!({"statusCode": 500, "exception": {"message": "2 UNKNOWN: server returned error 463"}}),
            "Transient",
        ),
        (429, json!({"message": "Too Many Requests"}), "RateLimited"),
    ];
    for (code, body, want) in cases {
        mock.set(Mode::Fail(code, body.clone()));
        let got = waha.send("default", &text).await.expect_err("fails");
        match (&got, want) {
            (SendError::Permanent(m), "Permanent") | (SendError::Transient(m), "Transient") => {
                assert!(m.contains(&format!("WAHA {code}")), "{m}")
            }
            (SendError::RateLimited { retry_after, .. }, "RateLimited") => {
                assert_eq!(*retry_after, Some(Duration::from_secs(3)))
            }
            _ => panic!("{code} {body}: {got:?}, want {want}"),
        }
    }
    // Nobody listening: the gateway is down, the session cannot send.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    match Waha::new(dead, None).send("default", &text).await {
        Err(SendError::NotReady { state, .. }) => assert_eq!(state, "UNREACHABLE"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_checks_hmac_stores_once_and_drives_the_queue() {
    let db = TestDb::new().await;
    let app = app_with(&db, &[("WAHA_WEBHOOK_HMAC_KEY", HMAC_KEY)]);
    let event = json!({"id": "evt_01", "timestamp": 1758262260217u64, "event": "session.status", "session": "default",
        "payload": {"name": "default", "status": "SCAN_QR_CODE"}});
    let body = event.to_string();
    let (status, res) = request(&app, "POST", "/api/whatsapp/webhook", &body, &[]).await;
    assert_eq!(
        (status, res["success"].clone()),
        (StatusCode::UNAUTHORIZED, json!(false)),
        "{res}"
    );
    let wrong = whatsapp::webhook_signature("another-key", body.as_bytes());
    let (status, res) = request(
        &app,
        "POST",
        "/api/whatsapp/webhook",
        &body,
        &[("x-webhook-hmac", &wrong)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        res["message"]
            .as_str()
            .expect("message")
            .contains("X-Webhook-Hmac")
    );
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM cicero.wa_webhook_events").await,
        0
    );

    let (status, res) = webhook(&app, &event).await;
    assert_eq!(
        (status, res["stored"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (status, res) = webhook(&app, &event).await;
    assert_eq!(
        (status, res["stored"].clone()),
        (StatusCode::OK, json!(false)),
        "duplicate delivery"
    );
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM cicero.wa_webhook_events").await,
        1
    );
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM cicero.queues WHERE queue = 'whatsapp' AND paused"
        )
        .await,
        1
    );

    let auth = format!("Bearer {TOKEN}");
    let (status, s) = request(
        &app,
        "GET",
        "/api/whatsapp/sessions",
        "",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["sessions"][0]["name"], "default");
    assert_eq!(s["sessions"][0]["state"], "SCAN_QR_CODE");
    assert!(s["sessions"][0]["updated_at"].is_string());
    assert_eq!(s["queue_paused"], json!(true));

    let working = json!({"id": "evt_02", "event": "session.status", "session": "default", "payload": {"status": "WORKING"}});
    assert_eq!(webhook(&app, &working).await.0, StatusCode::OK);
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM cicero.queues WHERE queue = 'whatsapp' AND paused"
        )
        .await,
        0
    );
    // An inbound message is stored too.
    let msg = json!({"id": "evt_03", "event": "message", "session": "default", "payload": {"id": "m1", "from": "6281@c.us", "body": "menu"}});
    assert_eq!(webhook(&app, &msg).await.0, StatusCode::OK);
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM cicero.wa_webhook_events").await,
        3
    );
    let (status, _) = webhook(&app, &json!({"event": "message"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Without a configured key every delivery is refused.
    let (status, _) = webhook(&db.app(), &event).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_down_pauses_the_queue_without_spending_attempts_and_resumes_in_order() {
    let db = TestDb::new().await;
    let (mock, url) = MockWaha::start().await;
    mock.set(Mode::Down("STARTING"));
    let mut ids = Vec::new();
    for i in 1..=4 {
        ids.push(db.enqueue("whatsapp_send", json!({"to": "081234567890", "text": format!("pesan {i}"), "idempotency_key": format!("k{i}")})).await);
    }
    let env = [
        ("WAHA_URL", url.as_str()),
        ("WAHA_API_KEY", "k"),
        ("WAHA_WEBHOOK_HMAC_KEY", HMAC_KEY),
    ];
    let w = start(&db, &env, &["whatsapp"]);
    wait_for(
        "the whatsapp queue paused and nothing running",
        30,
        async || {
            scalar_i64(
                &db,
                "SELECT count(*) FROM cicero.queues WHERE queue = 'whatsapp' AND paused",
            )
            .await
                == 1
                && scalar_i64(
                    &db,
                    "SELECT count(*) FROM cicero.jobs WHERE state <> 'pending'",
                )
                .await
                    == 0
        },
    )
    .await;
    assert_eq!(
        scalar_i64(&db, "SELECT COALESCE(sum(attempt), 0) FROM cicero.jobs").await,
        0,
        "no attempt spent"
    );
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM cicero.job_attempts").await,
        0
    );
    let state: String =
        sqlx::query_scalar("SELECT state FROM cicero.wa_sessions WHERE name = 'default'")
            .fetch_one(&db.pool)
            .await
            .expect("session");
    assert_eq!(state, "STARTING");
    assert!(mock.sends().is_empty());

    // The session comes back: WAHA says so on the webhook.
    mock.set(Mode::Working);
    let app = app_with(&db, &env);
    let (status, _) = webhook(&app, &json!({"id": "evt_up", "event": "session.status", "session": "default", "payload": {"status": "WORKING"}})).await;
    assert_eq!(status, StatusCode::OK);
    for id in &ids {
        db.wait_state(*id, "done", 30).await;
    }
    w.stop().await;
    let texts: Vec<String> = mock
        .sends()
        .iter()
        .map(|s| s.body["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(texts, ["pesan 1", "pesan 2", "pesan 3", "pesan 4"]);
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM cicero.jobs WHERE attempt = 1").await,
        4,
        "one attempt each"
    );
    assert_eq!(scalar_i64(&db, "SELECT count(*) FROM cicero.wa_outbox WHERE status = 'sent' AND sends = 1 AND transport = 'waha'").await, 4);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_fail_with_the_reason_and_status_check_resumes() {
    let db = TestDb::new().await;
    let (mock, url) = MockWaha::start().await;
    let env = [("WAHA_URL", url.as_str())];
    mock.set(Mode::Fail(
        400,
        json!({"statusCode": 400, "message": "You are not a participant of this group"}),
    ));
    let bad_group = db
        .enqueue(
            "whatsapp_send",
            json!({"to": "120363000000000009@g.us", "text": "x", "idempotency_key": "g"}),
        )
        .await;
    let bad_number = db
        .enqueue(
            "whatsapp_send",
            json!({"to": "12", "text": "x", "idempotency_key": "n"}),
        )
        .await;
    let w = start(&db, &env, &["whatsapp", "messaging"]);
    db.wait_state(bad_group, "failed", 30).await;
    db.wait_state(bad_number, "failed", 30).await;
    let err: String = sqlx::query_scalar("SELECT last_error FROM cicero.jobs WHERE id = $1")
        .bind(bad_group)
        .fetch_one(&db.pool)
        .await
        .expect("error");
    assert!(err.contains("not a participant"), "{err}");
    let err: String = sqlx::query_scalar("SELECT last_error FROM cicero.jobs WHERE id = $1")
        .bind(bad_number)
        .fetch_one(&db.pool)
        .await
        .expect("error");
    assert!(err.contains("not a WhatsApp number"), "{err}");
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM cicero.wa_outbox WHERE status = 'failed'"
        )
        .await,
        1
    );

    // The periodic check: the session is down, then up again.
    mock.set(Mode::Down("SCAN_QR_CODE"));
    let check = db.enqueue("whatsapp_status", json!({})).await;
    db.wait_state(check, "done", 30).await;
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM cicero.queues WHERE queue = 'whatsapp' AND paused"
        )
        .await,
        1
    );
    mock.set(Mode::Working);
    sqlx::query("DELETE FROM cicero.jobs WHERE id = $1")
        .bind(check)
        .execute(&db.pool)
        .await
        .expect("delete");
    let check = db.enqueue("whatsapp_status", json!({})).await;
    db.wait_state(check, "done", 30).await;
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM cicero.queues WHERE queue = 'whatsapp' AND paused"
        )
        .await,
        0
    );
    w.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_send_and_commit_duplicates_at_most_once() {
    let db = TestDb::new().await;
    let (mock, url) = MockWaha::start().await;
    let id = db
        .enqueue(
            "whatsapp_send",
            json!({"to": "081234567890", "text": "sekali", "idempotency_key": "crash-1"}),
        )
        .await;
    let env = [
        ("WAHA_URL", url.as_str()),
        ("WORKER_SHUTDOWN_GRACE_SECS", "1"),
    ];
    let mut first = db.spawn(&["work", "--queues", "whatsapp"], &env);
    mock.set(Mode::KillThenWork(first.id()));
    let status = common::wait_exit(&mut first, 30);
    assert!(!status.success(), "the first worker was killed");
    assert_eq!(mock.sends().len(), 1);
    // Another worker rescues the job (its worker stopped heartbeating) and sends again.
    let mut second = db.spawn(&["work", "--queues", "whatsapp"], &env);
    db.wait_state(id, "done", 60).await;
    // The same key enqueued again is never sent a third time.
    let again = db
        .enqueue(
            "whatsapp_send",
            json!({"to": "081234567890", "text": "sekali", "idempotency_key": "crash-1"}),
        )
        .await;
    db.wait_state(again, "done", 30).await;
    common::signal(&second, "TERM");
    common::wait_exit(&mut second, 30);
    let sends = mock.sends();
    assert_eq!(
        sends.len(),
        2,
        "one duplicate from the crash window, never more"
    );
    assert!(sends.iter().all(|s| s.body["text"] == "sekali"));
    let (status, count): (String, i32) = sqlx::query_as(
        "SELECT status, sends FROM cicero.wa_outbox WHERE idempotency_key = 'crash-1'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("row");
    assert_eq!((status.as_str(), count), ("sent", 2));
    let result: Value = sqlx::query_scalar("SELECT result FROM cicero.jobs WHERE id = $1")
        .bind(again)
        .fetch_one(&db.pool)
        .await
        .expect("result");
    assert_eq!(result["already_sent"], json!(true));
    db.drop_db().await;
}

// ---------- OTP ----------

fn code_in(mail: &str) -> String {
    let i = mail.find("Kode OTP Anda: ").expect("the code line");
    mail[i + 15..i + 21].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_is_mailed_locks_after_three_wrong_codes_and_expires() {
    let db = TestDb::new().await;
    let smtp = Smtp::start().await;
    let prefix = format!("test:{}:", db.name);
    let port = smtp.port.to_string();
    let env = [
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_TLS", "none"),
        ("SMTP_FROM", "cicero@polri.test"),
        ("REDIS_PREFIX", prefix.as_str()),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
    ];
    sqlx::query("INSERT INTO clients (client_id, nama) VALUES ('POLRES_A', 'POLRES ALPHA')")
        .execute(&db.pool)
        .await
        .expect("client");
    sqlx::query("INSERT INTO \"user\" (user_id, nama, client_id) VALUES ('75020201', 'BUDI', 'POLRES_A'), ('75020202', 'SITI', 'POLRES_A')")
        .execute(&db.pool).await.expect("users");
    sqlx::query("UPDATE \"user\" SET email = 'siti@polri.test' WHERE user_id = '75020202'")
        .execute(&db.pool)
        .await
        .expect("email");
    let app = app_with(&db, &env);
    let w = start(&db, &env, &["messaging"]);
    let post =
        async |path: &str, body: Value| request(&app, "POST", path, &body.to_string(), &[]).await;

    // Bad input and the legacy lookups.
    assert_eq!(
        post("/api/claim/request-otp", json!({"nrp": "75020201"}))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(
            "/api/claim/request-otp",
            json!({"nrp": "75020201", "email": "no-at"})
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(
            "/api/claim/request-otp",
            json!({"nrp": "1", "email": "x@polri.test"})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(
            "/api/claim/request-otp",
            json!({"nrp": "9", "email": "siti@polri.test"})
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    let (status, res) = post(
        "/api/claim/request-otp",
        json!({"nrp": "75020202", "email": "other@polri.test"}),
    )
    .await;
    assert_eq!(
        (status, res["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("email tidak sesuai"))
    );

    // A code is mailed.
    let (status, res) = post(
        "/api/claim/request-otp",
        json!({"nrp": " 7502-0201 ", "email": " Budi@Polri.Test "}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{res}");
    db.wait_state(res["job_id"].as_i64().expect("job"), "done", 30)
        .await;
    let mut seen = Vec::new();
    let mail = smtp.new_mail(&mut seen);
    assert!(
        mail.contains("Subject: Kode OTP Anda") && mail.contains("To: budi@polri.test"),
        "{mail}"
    );
    let code = code_in(&mail);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    // Stored hashed, with the 5-minute TTL.
    let redis = redis::Client::open("redis://127.0.0.1:6379").expect("redis");
    let mut c = redis
        .get_multiplexed_async_connection()
        .await
        .expect("redis conn");
    let key = format!("{prefix}otp:claim:75020201");
    let stored: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut c)
        .await
        .expect("get");
    assert!(!stored.contains(&code), "the code itself is not stored");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut c)
        .await
        .expect("ttl");
    assert!((290..=300).contains(&ttl), "ttl {ttl}");

    // Three wrong codes lock it: even the right one fails afterwards.
    for left in [2, 1, 0] {
        let (status, res) = post(
            "/api/claim/verify-otp",
            json!({"nrp": "75020201", "email": "budi@polri.test", "otp": wrong}),
        )
        .await;
        assert_eq!(
            (status, res["attempts_left"].clone()),
            (StatusCode::BAD_REQUEST, json!(left)),
            "{res}"
        );
    }
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut c)
        .await
        .expect("ttl");
    assert!(ttl > 0, "a wrong try keeps the remaining TTL");
    let (status, res) = post(
        "/api/claim/verify-otp",
        json!({"nrp": "75020201", "email": "budi@polri.test", "otp": code}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        res["message"].as_str().expect("msg").contains("3 kali"),
        "{res}"
    );

    // A new code works once, and stores the verified email on the user.
    let (_, res) = post(
        "/api/claim/request-otp",
        json!({"nrp": "75020201", "email": "budi@polri.test"}),
    )
    .await;
    db.wait_state(res["job_id"].as_i64().expect("job"), "done", 30)
        .await;
    let fresh = code_in(&smtp.new_mail(&mut seen));
    let (status, res) = post(
        "/api/claim/verify-otp",
        json!({"nrp": "75020201", "email": "budi@polri.test", "otp": fresh}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let email: Option<String> =
        sqlx::query_scalar("SELECT email FROM \"user\" WHERE user_id = '75020201'")
            .fetch_one(&db.pool)
            .await
            .expect("email");
    assert_eq!(email.as_deref(), Some("budi@polri.test"));
    let (status, _) = post(
        "/api/claim/verify-otp",
        json!({"nrp": "75020201", "email": "budi@polri.test", "otp": fresh}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a code works once");

    // Expiry: once the TTL has run out the code is gone.
    let (_, res) = post(
        "/api/claim/request-otp",
        json!({"nrp": "75020201", "email": "budi@polri.test"}),
    )
    .await;
    db.wait_state(res["job_id"].as_i64().expect("job"), "done", 30)
        .await;
    let last = code_in(&smtp.new_mail(&mut seen));
    let _: () = redis::cmd("PEXPIRE")
        .arg(&key)
        .arg(1)
        .query_async(&mut c)
        .await
        .expect("expire");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, res) = post(
        "/api/claim/verify-otp",
        json!({"nrp": "75020201", "email": "budi@polri.test", "otp": last}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        res["message"]
            .as_str()
            .expect("msg")
            .contains("kedaluwarsa"),
        "{res}"
    );
    w.stop().await;
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut c)
        .await
        .expect("del");
    db.drop_db().await;
}

#[tokio::test]
async fn openapi_describes_the_messaging_routes_and_kinds() {
    let doc: Value = serde_json::from_str(cicero::http::OPENAPI).expect("openapi.json parses");
    for (path, method) in [
        ("/api/whatsapp/webhook", "post"),
        ("/api/whatsapp/sessions", "get"),
        ("/api/whatsapp/outbox", "get"),
        ("/api/claim/request-otp", "post"),
        ("/api/claim/verify-otp", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "openapi.json lacks {method} {path}"
        );
    }
    let kinds = doc["components"]["schemas"]["JobKind"]["enum"].clone();
    let queues = doc["components"]["schemas"]["QueueName"]["enum"].clone();
    for spec in cicero_jobs::CATALOGUE {
        assert!(
            kinds.as_array().expect("enum").contains(&json!(spec.kind)),
            "JobKind lacks {}",
            spec.kind
        );
    }
    assert_eq!(queues, json!(cicero_jobs::QUEUES));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directorate_digest_ranks_polres_and_goes_to_the_group() {
    let db = TestDb::new().await;
    let (start_of_day, _) = jakarta_day_window(jakarta_day(chrono::Utc::now())).expect("window");
    let sql = [
        "INSERT INTO clients (client_id, nama, client_type, client_group) VALUES
            ('DITBINMAS', 'DIREKTORAT BINMAS', 'direktorat', 'https://chat.whatsapp.com/invite/120363000000000002'),
            ('POLRES_A', 'POLRES ALPHA', 'org', NULL), ('POLRES_C', 'POLRES CHARLIE', 'org', NULL)",
        "INSERT INTO roles (role_name) VALUES ('ditbinmas') ON CONFLICT DO NOTHING",
        "INSERT INTO \"user\" (user_id, nama, title, insta, client_id) VALUES
            ('d1', 'DEDI', 'AKBP', 'dit1', 'DITBINMAS'), ('a1', 'AMIR', 'AKP', 'a1', 'POLRES_A'),
            ('a2', 'ANTO', 'IPTU', 'a2', 'POLRES_A'), ('c1', 'CICI', 'BRIPDA', NULL, 'POLRES_C'),
            ('x1', 'XENA', 'BRIPDA', 'a2', 'POLRES_C')",
        "INSERT INTO user_roles (user_id, role_id) SELECT u, (SELECT role_id FROM roles WHERE role_name = 'ditbinmas') FROM unnest(ARRAY['d1','a1','a2','c1']) u",
    ];
    for s in sql {
        sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
            .execute(&db.pool)
            .await
            .expect(s);
    }
    for (sc, hours, likes) in [
        ("D1P", 1, json!(["dit1", "a1"])),
        ("D2P", 2, json!(["dit1"])),
    ] {
        sqlx::query("INSERT INTO insta_post (shortcode, client_id, created_at) VALUES ($1, 'DITBINMAS', $2)")
            .bind(sc).bind(start_of_day + chrono::Duration::hours(hours)).execute(&db.pool).await.expect("post");
        sqlx::query("INSERT INTO insta_like (shortcode, likes) VALUES ($1, $2)")
            .bind(sc)
            .bind(likes)
            .execute(&db.pool)
            .await
            .expect("like");
    }
    let id = db.enqueue("send_digest", json!({"client_id": "DITBINMAS", "report": "directorate_likes", "slot": "15:20", "recipients": ["group"]})).await;
    let w = start(&db, &[], &["messaging", "whatsapp"]);
    db.wait_state(id, "done", 30).await;
    wait_for("the group message", 30, async || {
        scalar_i64(
            &db,
            "SELECT count(*) FROM cicero.wa_outbox WHERE status = 'sent'",
        )
        .await
            == 1
    })
    .await;
    w.stop().await;
    let (chat, text): (String, String) =
        sqlx::query_as("SELECT chat_id, text FROM cicero.wa_outbox")
            .fetch_one(&db.pool)
            .await
            .expect("row");
    assert_eq!(chat, "120363000000000002@g.us");
    let c = RecapClock::at(chrono::Utc::now());
    let want = format!(
        "Mohon ijin Komandan,

📋 Rekap Akumulasi Likes Instagram
*DIREKTORAT BINMAS
{}*, {}
Jam: {}

*Jumlah Konten :* 2
*Daftar Link Konten :*
https://www.instagram.com/p/D1P
https://www.instagram.com/p/D2P

*Jumlah Total Personil :* 4 pers
✅ *Sudah melaksanakan :* 2 pers
- ✅ Melaksanakan lengkap : 2 pers
- ⚠️ Melaksanakan kurang lengkap : 0 pers
❌ *Belum melaksanakan :* 2 pers
⚠️❌ *Belum Update Username Instagram :* 1 pers

1. DIREKTORAT BINMAS
*Jumlah Personil :* 1 pers
*Sudah Melaksanakan :* 1 pers
- Melaksanakan lengkap : 1 pers
- Melaksanakan kurang lengkap : 0 pers
*Belum melaksanakan :* 0 pers
*Belum Update Username Instagram :* 0 pers

2. POLRES ALPHA
*Jumlah Personil :* 2 pers
*Sudah Melaksanakan :* 1 pers
- Melaksanakan lengkap : 1 pers
- Melaksanakan kurang lengkap : 0 pers
*Belum melaksanakan :* 1 pers
*Belum Update Username Instagram :* 0 pers

3. POLRES CHARLIE
*Jumlah Personil :* 1 pers
*Sudah Melaksanakan :* 0 pers
- Melaksanakan lengkap : 0 pers
- Melaksanakan kurang lengkap : 0 pers
*Belum melaksanakan :* 1 pers
*Belum Update Username Instagram :* 1 pers",
        c.hari,
        c.tanggal,
        jam_of(&text)
    );
    assert_eq!(text, want);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_digest_uses_tiktok_posts_and_commenters() {
    let db = TestDb::new().await;
    seed_polres(&db).await;
    let (start_of_day, _) = jakarta_day_window(jakarta_day(chrono::Utc::now())).expect("window");
    sqlx::query("UPDATE \"user\" SET tiktok = CASE user_id WHEN '1' THEN '@budi.a' WHEN '3' THEN 'andi' WHEN '4' THEN 'joko' END")
        .execute(&db.pool).await.expect("tiktok handles");
    for (id, hours, comments) in [
        ("V2", 2, json!(["budi.a"])),
        ("V1", 1, json!(["@budi.a", "ANDI", "stranger"])),
    ] {
        sqlx::query(
            "INSERT INTO tiktok_post (video_id, client_id, created_at) VALUES ($1, 'POLRES_A', $2)",
        )
        .bind(id)
        .bind(start_of_day + chrono::Duration::hours(hours))
        .execute(&db.pool)
        .await
        .expect("post");
        sqlx::query("INSERT INTO tiktok_comment (video_id, comments) VALUES ($1, $2)")
            .bind(id)
            .bind(comments)
            .execute(&db.pool)
            .await
            .expect("comments");
    }
    let id = db.enqueue("send_digest", json!({"client_id": "POLRES_A", "report": "comments", "slot": "18:20", "recipients": ["group"]})).await;
    let w = start(&db, &[], &["messaging", "whatsapp"]);
    db.wait_state(id, "done", 30).await;
    wait_for("the group message", 30, async || {
        scalar_i64(
            &db,
            "SELECT count(*) FROM cicero.wa_outbox WHERE status = 'sent'",
        )
        .await
            == 1
    })
    .await;
    w.stop().await;
    let text: String = sqlx::query_scalar("SELECT text FROM cicero.wa_outbox")
        .fetch_one(&db.pool)
        .await
        .expect("row");
    let c = RecapClock::at(chrono::Utc::now());
    let want = format!(
        "Mohon ijin Komandan,

📋 *Rekap Akumulasi Komentar TikTok*
*POLRES ALPHA*
{}, {}
Jam: {}

*Jumlah Konten:* 2
*Daftar Link Konten:*
https://www.tiktok.com/@polresalpha/video/V1
https://www.tiktok.com/@polresalpha/video/V2

*Jumlah user:* 4 user
✅ *Melaksanakan lengkap* : *1 user*
⚠️ *Melaksanakan kurang lengkap* : *1 user*
❌ *Belum melaksanakan* : *2 user*

✅ *Melaksanakan lengkap* (1 user)
⚠️ *Melaksanakan kurang lengkap* (1 user)
❌ *Belum melaksanakan* (2 user)

*BAG OPS* (2 user):
✅ Lengkap (0 user):
⚠️ Kurang (1 user):
- IPDA ANDI : @andi (1/2 konten)
❌ Belum (1 user):
- BRIPDA JOKO : @joko (0/2 konten)

*SAT BINMAS* (2 user):
✅ Lengkap (1 user):
- AKP BUDI : @budi.a (2/2 konten)
⚠️ Kurang (0 user):
❌ Belum (1 user):
- BRIPKA SITI : belum mengisi data tiktok (0/2 konten)

Terimakasih.",
        c.hari,
        c.tanggal,
        jam_of(&text)
    );
    assert_eq!(text, want);
    db.drop_db().await;
}

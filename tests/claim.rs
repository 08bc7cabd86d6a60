//! The remaining legacy claim endpoints (§2.2, §4(e)) on real PostgreSQL and Redis:
//! `/api/claim/user-data`, `/api/claim/update`, `/api/claim/validate-email`, the last one
//! against a local UDP server speaking the DNS wire format (RFC 1035).
mod common;

use std::{net::SocketAddr, sync::Arc};

use axum::{Router, http::StatusCode};
use redis::AsyncCommands;
use serde_json::{Value, json};
use tokio::net::UdpSocket;

use cicero::{
    http::{AppState, router},
    otp,
    platform::redis::Redis,
};
use common::{TOKEN, TestDb};

async fn request(app: &Router, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, body) = common::send(app, method, uri, body.to_string(), &[]).await;
    (status, body)
}

/// The question name of a DNS query, dotted, and where the question ends.
fn question(q: &[u8]) -> (String, usize) {
    let mut i = 12;
    let mut labels = Vec::new();
    while q[i] != 0 {
        let len = q[i] as usize;
        labels.push(String::from_utf8_lossy(&q[i + 1..i + 1 + len]).to_string());
        i += 1 + len;
    }
    (labels.join("."), i + 5)
}

/// A DNS server on 127.0.0.1: `polri.test` and `mail.test` have an MX record, `nomx.test`
/// none, `servfail.test` fails; every other name is NXDOMAIN.
async fn dns_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let q = &buf[..n];
            let (name, end) = question(q);
            let (rcode, answers): (u8, u16) = match name.as_str() {
                "polri.test" | "mail.test" => (0, 1),
                "nomx.test" => (0, 0),
                "servfail.test" => (2, 0),
                _ => (3, 0),
            };
            let mut a = vec![q[0], q[1], 0x81, 0x80 | rcode, 0, 1];
            a.extend_from_slice(&answers.to_be_bytes());
            a.extend_from_slice(&[0, 0, 0, 0]);
            a.extend_from_slice(&q[12..end]);
            if answers > 0 {
                // name → the question (pointer), MX, IN, TTL 300, rdata: preference 10, mx.<name>
                a.extend_from_slice(&[0xc0, 0x0c, 0, 15, 0, 1, 0, 0, 1, 44, 0, 7, 0, 10]);
                a.extend_from_slice(&[2, b'm', b'x', 0xc0, 0x0c]);
            }
            let _ = socket.send_to(&a, from).await;
        }
    });
    addr
}

struct Setup {
    db: TestDb,
    app: Router,
    redis: Redis,
}

async fn setup(dns: &str) -> Setup {
    let db = TestDb::new().await;
    let prefix = format!("test:{}:", db.name);
    let env = [
        ("REDIS_PREFIX", prefix.as_str()),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("DNS_RESOLVER", dns),
    ];
    let settings = db.settings(&env);
    let app = router(Arc::new(
        AppState::new(db.pool.clone(), TOKEN.into(), Vec::new()).with_messaging(&settings),
    ));
    let redis = Redis::from_settings(&settings).expect("redis");
    sqlx::query("INSERT INTO clients (client_id, nama) VALUES ('POLRES_A', 'POLRES ALPHA')")
        .execute(&db.pool)
        .await
        .expect("client");
    sqlx::query(
        "INSERT INTO \"user\" (user_id, nama, title, client_id, email, insta, status) VALUES
           ('75020201', 'BUDI', 'BRIPDA', 'POLRES_A', 'budi@polri.test', 'budi_lama', true),
           ('75020202', 'SITI', 'BRIPTU', 'POLRES_A', 'siti@polri.test', NULL, true),
           ('75020203', 'JOKO', 'AIPDA', 'POLRES_A', 'joko@mail.test', NULL, false)",
    )
    .execute(&db.pool)
    .await
    .expect("users");
    Setup { db, app, redis }
}

/// A code stored as the `email_otp` job stores it, then verified through the API.
async fn verify(s: &Setup, nrp: &str, email: &str) {
    otp::store(&s.redis, "claim", nrp, email, "123456")
        .await
        .expect("store");
    let (st, body) = request(
        &s.app,
        "POST",
        "/api/claim/verify-otp",
        json!({"nrp": nrp, "email": email, "otp": "123456"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn user_data_needs_the_verification_of_that_email() {
    let s = setup("127.0.0.1:9").await;
    let ask = |email: &'static str| {
        request(
            &s.app,
            "POST",
            "/api/claim/user-data",
            json!({"nrp": "75.020.201", "email": email}),
        )
    };
    let (st, body) = ask("budi@polri.test").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["success"], json!(false));

    verify(&s, "75020201", "budi@polri.test").await;
    let (st, body) = ask(" BUDI@polri.test ").await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user_id"], json!("75020201"));
    assert_eq!(body["data"]["nama"], json!("BUDI"));
    assert_eq!(body["data"]["insta"], json!("budi_lama"));
    assert_eq!(body["data"]["client_id"], json!("POLRES_A"));
    // Verified with one email: another email is not verified.
    let (st, _) = ask("lain@polri.test").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, body) = request(
        &s.app,
        "POST",
        "/api/claim/user-data",
        json!({"nrp": "", "email": "budi@polri.test"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, _) = request(&s.app, "POST", "/api/claim/user-data", json!("x")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn update_validates_handles_and_numbers_and_extends_the_verification() {
    let s = setup("127.0.0.1:9").await;
    let put = |body: Value| request(&s.app, "PUT", "/api/claim/update", body);
    let budi = |extra: Value| {
        let mut b = json!({"nrp": "75020201", "email": "budi@polri.test"});
        if let (Some(o), Some(e)) = (b.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        b
    };
    // Not verified, no code: 403, nothing written.
    let (st, body) = put(budi(json!({"insta": "budi.baru"}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");

    verify(&s, "75020201", "budi@polri.test").await;
    for (bad, field) in [
        (json!({"insta": "budi santoso"}), "insta"),
        (json!({"insta": "@cicero_devs"}), "insta"),
        (
            json!({"tiktok": "https://www.tiktok.com/@cicero_devs"}),
            "tiktok",
        ),
        (json!({"tiktok": "x".repeat(25)}), "tiktok"),
        (json!({"whatsapp": "0812-34"}), "whatsapp"),
    ] {
        let (st, body) = put(budi(bad.clone())).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{field}: {bad} → {body}");
    }
    let insta: Option<String> =
        sqlx::query_scalar("SELECT insta FROM \"user\" WHERE user_id = '75020201'")
            .fetch_one(&s.db.pool)
            .await
            .expect("insta");
    assert_eq!(
        insta.as_deref(),
        Some("budi_lama"),
        "a rejected update writes nothing"
    );

    // Shorten the verification, then a valid update extends it to 10 minutes again.
    let key = s.redis.key("verified:claim:75020201");
    let mut c = s.redis.conn().await.expect("conn");
    let _: () = c.expire(&key, 30).await.expect("expire");
    let (st, body) = put(budi(json!({
        "nama": " BUDI SANTOSO ", "jabatan": "BANIT BINMAS",
        "insta": "https://www.instagram.com/Budi.Baru/?igsh=1",
        "tiktok": "@Budi_TT", "whatsapp": "0812-3456-7890"
    })))
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["insta"], json!("budi.baru"));
    let row: (String, String, String, String, String, String) = sqlx::query_as(
        "SELECT nama, jabatan, insta, tiktok, whatsapp, title FROM \"user\" WHERE user_id = '75020201'",
    )
    .fetch_one(&s.db.pool)
    .await
    .expect("row");
    assert_eq!(
        row,
        (
            "BUDI SANTOSO".into(),
            "BANIT BINMAS".into(),
            "budi.baru".into(),
            "@budi_tt".into(),
            "6281234567890".into(),
            "BRIPDA".into()
        ),
        "absent fields (title) keep their value"
    );
    let ttl: i64 = c.ttl(&key).await.expect("ttl");
    assert!(ttl > 500, "verification extended, ttl {ttl}");

    // Without a prior verification, a valid code in the body is accepted; a wrong one is not.
    otp::store(&s.redis, "claim", "75020202", "siti@polri.test", "654321")
        .await
        .expect("store");
    let siti = |code: &str| json!({"nrp": "75020202", "email": "siti@polri.test", "otp": code, "tiktok": "siti.tt"});
    let (st, body) = put(siti("111111")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["attempts_left"], json!(2));
    let (st, body) = put(siti("654321")).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["tiktok"], json!("@siti.tt"));
    // An unknown NRP, verified: 404.
    verify(&s, "99999999", "x@polri.test").await;
    let (st, _) = put(json!({"nrp": "99999999", "email": "x@polri.test", "nama": "X"})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn validate_email_checks_format_mx_and_deactivated_owners() {
    let dns = dns_server().await.to_string();
    let s = setup(&dns).await;
    let check = |email: &str| {
        request(
            &s.app,
            "POST",
            "/api/claim/validate-email",
            json!({ "email": email }),
        )
    };
    let cases = [
        ("budi@polri.test", StatusCode::OK),
        (" Baru@Polri.Test ", StatusCode::OK),
        ("budi.polri.test", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
        ("a@nomx.test", StatusCode::BAD_REQUEST),
        ("a@nowhere.test", StatusCode::BAD_REQUEST),
        ("a@servfail.test", StatusCode::SERVICE_UNAVAILABLE),
        ("joko@mail.test", StatusCode::FORBIDDEN),
    ];
    for (email, want) in cases {
        let (st, body) = check(email).await;
        assert_eq!(st, want, "{email:?} → {body}");
        assert_eq!(body["success"], json!(want == StatusCode::OK), "{body}");
    }
    // No DNS server answering: 503.
    let closed = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = closed.local_addr().expect("addr").to_string();
    drop(closed);
    let s2 = setup(&addr).await;
    let (st, body) = request(
        &s2.app,
        "POST",
        "/api/claim/validate-email",
        json!({"email": "budi@polri.test"}),
    )
    .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}

#[tokio::test]
async fn openapi_describes_the_claim_routes() {
    let doc: Value = serde_json::from_str(cicero::http::OPENAPI).expect("openapi.json parses");
    for (path, method) in [
        ("/api/claim/request-otp", "post"),
        ("/api/claim/verify-otp", "post"),
        ("/api/claim/user-data", "post"),
        ("/api/claim/update", "put"),
        ("/api/claim/validate-email", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "openapi.json lacks {method} {path}"
        );
    }
    let reports =
        &doc["components"]["schemas"]["SendDigestPayload"]["properties"]["report"]["enum"];
    assert!(
        reports
            .as_array()
            .is_some_and(|r| r.contains(&json!("directorate_comments"))),
        "{reports}"
    );
}

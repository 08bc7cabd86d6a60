//! The dashboard API against real PostgreSQL and Redis, with requests shaped like the
//! Cicero_Web dashboard's (Bearer + `Content-Type: application/json` on every call, its query
//! names and casing), asserting the fields it reads (contract §6).
mod common;

use axum::{
    body::Body,
    http::{HeaderMap, Request, StatusCode},
};
use chrono::Utc;
use common::{TOKEN, TestDb, smtp::Smtp};
use redis::AsyncCommands;
use serde_json::{Value, json};
use tower::ServiceExt;

use cicero::{
    domain::time::{jakarta_day, jakarta_day_window},
    http::dashboard::auth::{Claims, sign, verify_token},
};

use common::dashboard::{DashApp, ORIGIN, Options, PASSWORD, SECRET};

type Env = DashApp;

async fn env_with(max_attempts: u32, allow_duplicates: bool) -> Env {
    let opts = Options {
        allow_duplicates,
        max_attempts,
        ..Options::default()
    };
    let e = DashApp::new(opts, |_, state| state).await;
    seed(&e.db).await;
    e
}

async fn env() -> Env {
    env_with(10, false).await
}

impl Env {
    async fn session(&mut self, token: &str) -> Option<String> {
        self.redis
            .get(format!("{}login_token:{token}", self.prefix))
            .await
            .unwrap()
    }
}

/// Two ORG clients (KEDIRI, BLITAR) and a directorate (DITBINMAS); dashboard accounts with
/// legacy bcrypt hashes; personnel, today's posts, likes, comments and a link report.
async fn seed(db: &TestDb) {
    let hash = bcrypt::hash_with_result(PASSWORD, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoA);
    let (start, _) = jakarta_day_window(jakarta_day(Utc::now())).unwrap();
    let t1 = start + chrono::Duration::hours(2);
    let t2 = start + chrono::Duration::hours(3);
    let old = start - chrono::Duration::days(10);
    let script = r#"
        INSERT INTO roles (role_name) VALUES ('admin');
        INSERT INTO clients (client_id, nama, client_type, client_insta, client_tiktok, regional_id)
        VALUES ('KEDIRI', 'POLRES KEDIRI', 'org', 'polreskediri', 'polreskediri', 'JATIM'),
               ('BLITAR', 'POLRES BLITAR', 'org', 'polresblitar', NULL, 'JATIM'),
               ('DITBINMAS', 'DIREKTORAT BINMAS', 'direktorat', 'ditbinmas', NULL, 'JATIM');
        INSERT INTO "user" (user_id, nama, title, divisi, insta, tiktok, whatsapp, client_id, status)
        VALUES ('75020001', 'BUDI', 'BRIPKA', 'SAT BINMAS', 'budi_ig', 'budi_tt', '628123456789', 'KEDIRI', true),
               ('75020002', 'SITI', 'BRIPTU', 'SAT LANTAS', '@Siti_IG', NULL, NULL, 'KEDIRI', true),
               ('75020003', 'ANI', 'AIPDA', 'SAT BINMAS', NULL, NULL, NULL, 'KEDIRI', true),
               ('75020009', 'JOKO', 'BRIPDA', 'SAT SAMAPTA', 'joko_ig', NULL, '628555000111', 'BLITAR', true);
        INSERT INTO user_roles (user_id, role_id)
        SELECT u, role_id FROM roles, unnest(ARRAY['75020001','75020002','75020003','75020009']) u
        WHERE role_name = 'operator';
        INSERT INTO user_roles (user_id, role_id)
        SELECT '75020001', role_id FROM roles WHERE role_name = 'ditbinmas';
    "#;
    sqlx::raw_sql(script).execute(&db.pool).await.expect("seed");
    for (name, role, clients, status, tier) in [
        ("op_kediri", "operator", vec!["KEDIRI"], true, None),
        ("op_blitar", "operator", vec!["BLITAR"], true, None),
        (
            "binmas",
            "ditbinmas",
            vec!["DITBINMAS"],
            true,
            Some("tier1"),
        ),
        ("pending", "operator", vec!["KEDIRI"], false, None),
        ("admin", "admin", vec!["KEDIRI"], true, None),
    ] {
        let id: String = sqlx::query_scalar(
            "INSERT INTO dashboard_user (username, password_hash, role_id, status, premium_status, \
               premium_tier, premium_expires_at) \
             SELECT $1, $2, role_id, $3, $4 IS NOT NULL, $4, now() + interval '30 days' \
             FROM roles WHERE role_name = $5 RETURNING dashboard_user_id::text",
        )
        .bind(name)
        .bind(&hash)
        .bind(status)
        .bind(tier)
        .bind(role)
        .fetch_one(&db.pool)
        .await
        .expect("dashboard user");
        for c in clients {
            sqlx::query("INSERT INTO dashboard_user_clients VALUES ($1::uuid, $2)")
                .bind(&id)
                .bind(c)
                .execute(&db.pool)
                .await
                .unwrap();
        }
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
    sqlx::raw_sql(
        "INSERT INTO insta_post_roles (shortcode, role_name) VALUES ('P1', 'ditbinmas');
         INSERT INTO insta_post_khusus (shortcode, client_id, caption, created_at)
           SELECT 'K1', 'KEDIRI', 'khusus', created_at FROM insta_post WHERE shortcode = 'P1';
         INSERT INTO insta_profile (username, full_name, follower_count, following_count)
           VALUES ('polreskediri', 'Polres Kediri', 1000, 10);",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO tiktok_post (video_id, client_id, caption, like_count, comment_count, created_at) \
         VALUES ('T1', 'KEDIRI', 'video', 5, 1, $1)",
    )
    .bind(t1)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::raw_sql(
        r#"INSERT INTO tiktok_comment (video_id, comments) VALUES ('T1', '["@Budi_TT", "@other"]');
           INSERT INTO tiktok_post_roles (video_id, role_name) VALUES ('T1', 'ditbinmas');
           INSERT INTO link_report (shortcode, user_id, instagram_link, created_at)
             SELECT 'P1', '75020001', 'https://instagram.com/p/x', created_at FROM insta_post WHERE shortcode = 'P1';
           INSERT INTO link_report_khusus (shortcode, user_id, instagram_link, created_at)
             SELECT 'K1', '75020002', 'https://instagram.com/p/y', created_at FROM insta_post_khusus WHERE shortcode = 'K1';"#,
    )
    .execute(&db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn login_with_a_legacy_bcrypt_user() {
    let mut e = env().await;
    let (status, _, body) = e
        .call(
            "POST",
            "/api/auth/dashboard-login",
            None,
            Some(json!({"username": "op_kediri", "password": PASSWORD})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(body["user"]["client_id"], "KEDIRI");
    assert_eq!(body["user"]["role"], "operator");
    assert_eq!(body["user"]["username"], "op_kediri");
    let id = body["user"]["dashboard_user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(body["user"]["user_id"], id);
    let claims = verify_token(SECRET, &token).unwrap();
    assert_eq!(claims.client_ids, vec!["KEDIRI".to_string()]);
    assert_eq!(claims.dashboard_user_id.as_deref(), Some(id.as_str()));
    assert_eq!(claims.exp - claims.iat, 7200);
    assert_eq!(e.session(&token).await, Some(format!("dashboard:{id}")));

    // A directorate account's role becomes its client id (legacy).
    let binmas = e.login("binmas").await;
    assert_eq!(verify_token(SECRET, &binmas).unwrap().role, "ditbinmas");

    // Logging in again at once works (the duplicate guard leaves logins alone).
    e.login("op_kediri").await;
    let wrong = e
        .call(
            "POST",
            "/api/auth/dashboard-login",
            None,
            Some(json!({"username": "op_kediri", "password": "salah"})),
            &[],
        )
        .await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.2["success"], false);
    assert!(wrong.2["message"].as_str().unwrap().contains("salah"));
    let pending = e
        .call(
            "POST",
            "/api/auth/dashboard-login",
            None,
            Some(json!({"username": "pending", "password": PASSWORD})),
            &[],
        )
        .await;
    assert_eq!(pending.0, StatusCode::FORBIDDEN);
    assert_eq!(pending.2["message"], "Akun belum disetujui");
    let bad = e
        .call(
            "POST",
            "/api/auth/dashboard-login",
            None,
            Some(json!({"username": "x"})),
            &[],
        )
        .await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST);
    e.done().await;
}

#[tokio::test]
async fn tokens_expire_and_are_revoked() {
    let mut e = env().await;
    let (s, b) = e.get("/api/clients/profile?client_id=KEDIRI", "").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        b["reason"] == "missing_token" || b["reason"] == "invalid_token",
        "{b}"
    );
    let (s, _, b) = e.call("GET", "/api/clients/profile", None, None, &[]).await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_token"))
    );
    let (s, b) = e.get("/api/clients/profile", "not.a.jwt").await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );

    // An expired token whose session still exists is refused as expired.
    let token = e.login("op_kediri").await;
    let mut claims: Claims = verify_token(SECRET, &token).unwrap();
    claims.iat -= 8000;
    claims.exp = Utc::now().timestamp() - 1;
    let expired = sign(SECRET, &claims).unwrap();
    let value = e.session(&token).await.unwrap();
    let _: () = e
        .redis
        .set(format!("{}login_token:{expired}", e.prefix), value)
        .await
        .unwrap();
    let (s, b) = e.get("/api/clients/profile", &expired).await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("expired_token"))
    );

    // A valid signature without a session (revoked) is refused.
    let (s, _) = e.get("/api/clients/profile", &token).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, b) = e
        .call("POST", "/api/auth/logout", Some(&token), None, &[])
        .await;
    assert_eq!((s, &b["success"]), (StatusCode::OK, &json!(true)));
    assert_eq!(e.session(&token).await, None);
    let (s, b) = e.get("/api/clients/profile", &token).await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );

    // Rejecting an account ends its open sessions at once.
    let blitar = e.login("op_blitar").await;
    let admin = e.login("admin").await;
    let id = verify_token(SECRET, &blitar)
        .unwrap()
        .dashboard_user_id
        .unwrap();
    let (s, _, b) = e
        .call(
            "PUT",
            &format!("/api/dashboard/users/{id}/reject"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = e.get("/api/clients/profile", &blitar).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Only an admin approves; an operator gets 403, not 401.
    let op = e.login("op_kediri").await;
    let (s, _, _) = e
        .call(
            "PUT",
            &format!("/api/dashboard/users/{id}/approve"),
            Some(&op),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    e.done().await;
}

#[tokio::test]
async fn login_attempts_are_limited_per_username_and_ip() {
    let e = env_with(3, false).await;
    let attempt = |user: &'static str, pw: &'static str, ip: &'static str| {
        let e = &e;
        async move {
            e.call(
                "POST",
                "/api/auth/dashboard-login",
                None,
                Some(json!({"username": user, "password": pw})),
                &[("x-forwarded-for", ip)],
            )
            .await
            .0
        }
    };
    for _ in 0..3 {
        assert_eq!(
            attempt("op_kediri", "salah", "10.0.0.1").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // Blocked now, even with the right password, from any IP.
    assert_eq!(
        attempt("op_kediri", PASSWORD, "10.0.0.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt("op_kediri", PASSWORD, "10.0.0.2").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The IP is blocked for other usernames too; another IP is not.
    assert_eq!(
        attempt("op_blitar", PASSWORD, "10.0.0.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt("op_blitar", PASSWORD, "10.0.0.3").await,
        StatusCode::OK
    );
    e.done().await;
}

#[tokio::test]
async fn cors_preflight_and_duplicate_requests() {
    let e = env().await;
    let pre = |origin: &'static str| {
        let e = &e;
        async move {
            let req = Request::builder()
                .method("OPTIONS")
                .uri("/api/dashboard/anev?time_range=7d")
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .header(
                    "access-control-request-headers",
                    "authorization,content-type,x-client-id",
                )
                .body(Body::empty())
                .unwrap();
            let res = e.app.clone().oneshot(req).await.unwrap();
            (res.status(), res.headers().clone())
        }
    };
    let (s, h) = pre(ORIGIN).await;
    assert!(s.is_success(), "{s}");
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    assert_eq!(h["access-control-allow-credentials"], "true");
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for name in [
        "authorization",
        "content-type",
        "x-client-id",
        "x-cicero-token",
        "x-cicero-reposter-token",
        "accept",
    ] {
        assert!(allowed.contains(name), "{allowed} lacks {name}");
    }
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("PUT")
    );
    let (_, h) = pre("http://evil.example").await;
    assert!(h.get("access-control-allow-origin").is_none());
    let (_, h, _) = e.call("GET", "/api/clients/profile", None, None, &[]).await;
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    assert!(
        h["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_lowercase()
            .contains("content-disposition")
    );

    // The same POST twice within 5 minutes: 429 the second time.
    let token = e.login("op_kediri").await;
    let body = json!({"nrp": "75020001", "client_id": "KEDIRI", "issue": "Kendala akses atau data tidak sesuai"});
    let first = e
        .call(
            "POST",
            "/api/dashboard/komplain/insta",
            Some(&token),
            Some(body.clone()),
            &[],
        )
        .await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.2);
    let again = e
        .call(
            "POST",
            "/api/dashboard/komplain/insta",
            Some(&token),
            Some(body.clone()),
            &[],
        )
        .await;
    assert_eq!(again.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(again.2["message"], "Duplicate request detected");
    // The job API is not subject to the guard: the same enqueue twice is two answers of 202.
    for _ in 0..2 {
        let req = Request::builder()
            .method("POST")
            .uri("/api/jobs")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::from(
                json!({"kind": "ping", "payload": {}}).to_string(),
            ))
            .unwrap();
        let res = e.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    // A failed request does not block its retry.
    let bad = json!({"client_id": "KEDIRI"});
    for _ in 0..2 {
        let r = e
            .call(
                "POST",
                "/api/dashboard/komplain/insta",
                Some(&token),
                Some(bad.clone()),
                &[],
            )
            .await;
        assert_eq!(r.0, StatusCode::BAD_REQUEST);
    }
    e.done().await;

    let e = env_with(10, true).await;
    let token = e.login("op_kediri").await;
    for _ in 0..2 {
        let r = e
            .call(
                "POST",
                "/api/dashboard/komplain/tiktok",
                Some(&token),
                Some(body.clone()),
                &[],
            )
            .await;
        assert_eq!(
            r.0,
            StatusCode::OK,
            "ALLOW_DUPLICATE_REQUESTS lets it through"
        );
    }
    e.done().await;
}

#[tokio::test]
async fn a_client_cannot_see_another_clients_data() {
    let e = env().await;
    let blitar = e.login("op_blitar").await;
    let binmas = e.login("binmas").await;
    let q = "client_id=KEDIRI&periode=harian&role=operator&scope=ORG";
    for uri in [
        "/api/clients/profile?client_id=KEDIRI&role=operator".to_string(),
        format!("/api/users/list?{q}"),
        format!("/api/insta/rekap-likes?{q}"),
        format!("/api/tiktok/rekap-komentar?{q}"),
        format!("/api/dashboard/stats?{q}"),
        "/api/aggregator?periode=harian&client_id=KEDIRI".to_string(),
        format!("/api/amplify/rekap?{q}"),
        format!("/api/amplify/rekap-khusus?{q}"),
        format!("/api/instagram/posts?{q}"),
        format!("/api/tiktok/posts?{q}"),
        format!("/api/dashboard/anev?{q}"),
    ] {
        let (s, b) = e.get(&uri, &blitar).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{uri}: {b}");
        assert_eq!(b["success"], false);
        assert!(
            b.get("reason").is_none(),
            "a 403 without a token reason keeps the user logged in"
        );
    }
    // Raising one's role is refused too.
    let (s, _) = e
        .get(
            "/api/users/list?client_id=BLITAR&role=ditbinmas&scope=DIREKTORAT",
            &blitar,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // X-Client-Id is checked like client_id.
    let (s, _, _) = e
        .call(
            "GET",
            "/api/dashboard/stats",
            Some(&blitar),
            None,
            &[("x-client-id", "KEDIRI")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Writes: another client's person, or creating into another client.
    let (s, _, _) = e
        .call(
            "PUT",
            "/api/users/75020001",
            Some(&blitar),
            Some(json!({"status": false})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = e
        .call(
            "POST",
            "/api/users/create",
            Some(&blitar),
            Some(json!({"client_id": "KEDIRI", "nama": "X", "title": "BRIPDA", "user_id": "75029999", "divisi": "SAT"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = e
        .call(
            "POST",
            "/api/users/create",
            Some(&blitar),
            Some(json!({"client_id": "BLITAR", "nama": "X", "user_id": "75020001"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "taking over another client's NRP");
    let (s, _, _) = e
        .call(
            "POST",
            "/api/dashboard/komplain/insta",
            Some(&blitar),
            Some(json!({"nrp": "75020001"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A directorate sees its satker (KEDIRI has a ditbinmas member) but not BLITAR.
    let (s, _) = e
        .get(
            "/api/clients/profile?client_id=KEDIRI&role=ditbinmas",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = e
        .get(
            "/api/clients/profile?client_id=BLITAR&role=ditbinmas",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = e.get("/api/users/list?client_id=BLITAR", &blitar).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"].as_array().unwrap().len(), 1);
    e.done().await;
}

#[tokio::test]
async fn the_first_calls_answer_what_the_dashboard_reads() {
    let e = env().await;
    let op = e.login("op_kediri").await;

    // 2. profile (casing of role ignored)
    let (s, b) = e
        .get("/api/clients/profile?client_id=kediri&role=OPERATOR", &op)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let c = &b["client"];
    assert_eq!(c["client_id"], "KEDIRI");
    assert_eq!(c["nama"], "POLRES KEDIRI");
    assert_eq!(c["client_type"], "ORG");
    assert_eq!(c["client_insta"], "polreskediri");
    assert_eq!(c["client_insta_status"], true);
    assert_eq!(c["client_tiktok_status"], true);
    assert_eq!(c["client_amplify_status"], true);
    assert_eq!(c["regional_id"], "JATIM");
    assert!(c.get("premium_tier").is_some());

    // 3. users/list
    let (s, b) = e
        .get(
            "/api/users/list?client_id=KEDIRI&role=operator&scope=ORG&regional_id=JATIM",
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let users = b["data"].as_array().unwrap();
    let names: Vec<&str> = users.iter().map(|u| u["nama"].as_str().unwrap()).collect();
    assert_eq!(names, ["ANI", "BUDI", "SITI"]);
    let budi = &users[1];
    for (k, v) in [
        ("user_id", json!("75020001")),
        ("title", json!("BRIPKA")),
        ("divisi", json!("SAT BINMAS")),
        ("insta", json!("budi_ig")),
        ("tiktok", json!("budi_tt")),
        ("client_id", json!("KEDIRI")),
        ("status", json!(true)),
        ("nama_client", json!("POLRES KEDIRI")),
        ("ditbinmas", json!(true)),
        ("operator", json!(true)),
    ] {
        assert_eq!(budi[k], v, "{k}");
    }
    assert!(budi.get("jabatan").is_some());

    // 4. rekap-likes: BUDI liked both of today's posts, SITI one (stored as @Siti_IG), ANI has no username.
    let (s, b) = e
        .get("/api/insta/rekap-likes?periode=harian&client_id=KEDIRI&role=operator&scope=ORG&regional_id=JATIM", &op)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["totalPosts"], 2);
    assert_eq!(b["usersCount"], 3);
    assert_eq!(b["sudahUsersCount"], 1);
    assert_eq!(b["kurangUsersCount"], 1);
    assert_eq!(b["belumUsersCount"], 1);
    assert_eq!(b["noUsernameUsersCount"], 1);
    assert_eq!(b["summary"]["totalPosts"], 2);
    assert_eq!(b["summary"]["totalUsers"], 3);
    let row = |name: &str| {
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["nama"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(row("BUDI")["jumlah_like"], 2);
    assert_eq!(row("BUDI")["username"], "budi_ig");
    assert_eq!(row("BUDI")["client_name"], "POLRES KEDIRI");
    assert_eq!(row("SITI")["jumlah_like"], 1);
    assert_eq!(row("ANI")["jumlah_like"], 0);
    for k in ["user_id", "title", "divisi", "client_id"] {
        assert!(row("BUDI").get(k).is_some(), "{k}");
    }
    // A month recap (tanggal = YYYY-MM) includes the old post when it is in the month.
    let month = jakarta_day(Utc::now()).format("%Y-%m").to_string();
    let (s, b) = e
        .get(&format!("/api/insta/rekap-likes?periode=bulanan&tanggal={month}&client_id=KEDIRI&role=operator&scope=ORG"), &op)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["totalPosts"].as_u64().unwrap() >= 2);
    let (s, _) = e
        .get(
            "/api/insta/rekap-likes?periode=harian&tanggal=kemarin&client_id=KEDIRI",
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // 5. stats
    let (s, b) = e
        .get(
            "/api/dashboard/stats?periode=harian&client_id=KEDIRI&role=operator&scope=ORG",
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    let clients: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(&e.db.pool)
        .await
        .unwrap();
    assert_eq!(
        (
            d["igPosts"].clone(),
            d["ttPosts"].clone(),
            d["users"].clone(),
            d["clients"].clone()
        ),
        (json!(2), json!(1), json!(3), json!(clients))
    );
    assert_eq!(d["client_id"], "KEDIRI");
    assert_eq!(d["effectiveClientType"], "ORG");

    // 6. rekap-komentar, with both date pairs as the dashboard sends them
    let today = jakarta_day(Utc::now()).to_string();
    let (s, b) = e
        .get(&format!("/api/tiktok/rekap-komentar?client_id=KEDIRI&periode=harian&tanggal={today}&tanggal_mulai={today}&start_date={today}&tanggal_selesai={today}&end_date={today}&role=operator&scope=ORG"), &op)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["totalPosts"], 1);
    assert_eq!(b["usersCount"], 3);
    assert_eq!(
        b["summary"]["distribution"],
        json!({"sudah": 1, "kurang": 0, "belum": 0, "noUsername": 2})
    );
    let budi = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["nama"] == "BUDI")
        .unwrap();
    assert_eq!(budi["jumlah_komentar"], 1);
    assert_eq!(budi["username"], "budi_tt");

    // 7. aggregator
    let (s, b) = e.get("/api/aggregator?periode=harian", &op).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["igProfile"]["follower_count"], 1000);
    let ig = b["data"]["igPosts"].as_array().unwrap();
    assert_eq!(ig.len(), 2);
    assert_eq!(ig[0]["shortcode"], "P2");
    assert_eq!(ig[0]["like_count"], 50);
    assert!(ig[0]["created_at"].is_string());
    assert_eq!(b["data"]["tiktokPosts"].as_array().unwrap().len(), 1);
    assert!(b["data"]["tiktokProfile"].is_null());
    let (s, _, _) = e
        .call(
            "GET",
            "/api/social/aggregator?periode=harian",
            Some(&op),
            None,
            &[],
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "the client then falls back to /api/aggregator"
    );

    // 8. amplify rekap (+ khusus)
    let (s, b) = e
        .get(
            "/api/amplify/rekap?client_id=KEDIRI&periode=harian&role=operator&scope=ORG",
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let budi = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["nama"] == "BUDI")
        .unwrap();
    assert_eq!(budi["jumlah_link"], 1);
    assert_eq!(budi["username"], "budi_ig");
    assert_eq!(budi["nama_client"], "POLRES KEDIRI");
    let (s, b) = e
        .get(
            "/api/amplify/rekap-khusus?client_id=KEDIRI&periode=harian&role=operator&scope=ORG",
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let siti = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["nama"] == "SITI")
        .unwrap();
    assert_eq!(siti["jumlah_link"], 1);

    // 9. anev: an operator is outside the legacy allow-list (403, stays logged in); a premium
    // directorate account gets the data; the same account without premium hits the wall.
    let (s, _, b) = e
        .call(
            "GET",
            "/api/dashboard/anev?time_range=7d&client_id=KEDIRI&role=OPERATOR&scope=org",
            Some(&op),
            None,
            &[("x-client-id", "KEDIRI")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(b.get("reason").is_none());
    let binmas = e.login("binmas").await;
    let (s, _, b) = e
        .call("GET", "/api/dashboard/anev?time_range=7d&client_id=DITBINMAS&role=DITBINMAS&scope=org&regional_id=JATIM", Some(&binmas), None, &[("x-client-id", "DITBINMAS")])
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    assert_eq!(d["filters"]["time_range"], "7d");
    assert_eq!(d["filters"]["client_id"], "DITBINMAS");
    assert_eq!(
        d["filters"]["permitted_time_ranges"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(
        d["user_directory"].as_array().unwrap().len(),
        1,
        "ditbinmas members only"
    );
    assert_eq!(d["user_directory"][0]["user_id"], "75020001");
    assert_eq!(d["instagram_engagement"]["total_posts"], 1);
    assert_eq!(d["instagram_engagement"]["per_user"][0]["likes"], 1);
    assert_eq!(d["tiktok_engagement"]["per_user"][0]["comments"], 1);
    let a = &d["aggregates"];
    assert_eq!(
        (a["total_users"].clone(), a["expected_actions"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(a["compliance_per_pelaksana"][0]["completion_rate"], 1.0);
    assert_eq!(a["compliance_per_pelaksana"][0]["total_actions"], 2);
    sqlx::query("UPDATE dashboard_user SET premium_status = false WHERE username = 'binmas'")
        .execute(&e.db.pool)
        .await
        .unwrap();
    let (s, b) = e
        .get(
            "/api/dashboard/anev?time_range=7d&client_id=DITBINMAS&role=DITBINMAS&scope=org",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(b["message"], "Akses premium diperlukan untuk endpoint ini");
    assert!(b.get("premium_tier").is_some());

    // 12, 13. post lists (directorate account; operators are outside the allow-list)
    let (s, b) = e
        .call("GET", &format!("/api/instagram/posts?client_id=DITBINMAS&start_date={today}&end_date={today}&scope=org&role=ditbinmas"), Some(&binmas), None, &[("x-cicero-token", binmas.as_str()), ("x-cicero-reposter-token", binmas.as_str())])
        .await
        .into_parts2();
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"][0]["shortcode"], "P1");
    assert_eq!(b["data"][0]["like_count"], 50);
    assert_eq!(b["data"][0]["comment_count"], 3);
    let (s, b) = e
        .get(&format!("/api/tiktok/posts?client_id=DITBINMAS&start_date={today}&end_date={today}&scope=org&role=ditbinmas"), &binmas)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"][0]["video_id"], "T1");
    assert_eq!(b["data"][0]["like_count"], 5);
    e.done().await;
}

trait Parts2 {
    fn into_parts2(self) -> (StatusCode, Value);
}
impl Parts2 for (StatusCode, HeaderMap, Value) {
    fn into_parts2(self) -> (StatusCode, Value) {
        (self.0, self.2)
    }
}

#[tokio::test]
async fn users_are_created_edited_and_renumbered() {
    let e = env().await;
    let op = e.login("op_kediri").await;
    // 11. create
    let (s, _, b) = e
        .call("POST", "/api/users/create", Some(&op),
              Some(json!({"client_id": "KEDIRI", "nama": "dewi", "title": "bripda", "user_id": "75020010", "divisi": "sat binmas"})), &[])
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["nama"], "DEWI");
    assert_eq!(b["data"]["client_id"], "KEDIRI");
    let (_, list) = e
        .get(
            "/api/users/list?client_id=KEDIRI&role=operator&scope=ORG",
            &op,
        )
        .await;
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user_id"] == "75020010" && u["operator"] == true)
    );
    let (s, _, _) = e
        .call(
            "POST",
            "/api/users/create",
            Some(&op),
            Some(json!({"client_id": "KEDIRI", "nama": "x", "user_id": "12"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // 10. update fields, deactivate
    let (s, _, b) = e
        .call("PUT", "/api/users/75020010", Some(&op), Some(json!({"nama": "dewi s", "title": "BRIPTU", "divisi": "SAT LANTAS", "user_id": "75020010"})), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["data"]["nama"].clone(), b["data"]["title"].clone()),
        (json!("DEWI S"), json!("BRIPTU"))
    );
    let (s, _, b) = e
        .call(
            "PUT",
            "/api/users/75020010",
            Some(&op),
            Some(json!({"status": false})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"]["status"], false);
    let (s, _, _) = e
        .call(
            "PUT",
            "/api/users/75020010",
            Some(&op),
            Some(json!({"status": "maybe"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = e
        .call(
            "PUT",
            "/api/users/75020010",
            Some(&op),
            Some(json!({"nama": " "})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a name cannot be blanked");

    // NRP change moves the references (roles, link reports) to the new id.
    let admin = e.login("admin").await;
    let (s, _, b) = e
        .call("PUT", "/api/users/75020001", Some(&admin), Some(json!({"nama": "BUDI", "title": "BRIPKA", "divisi": "SAT BINMAS", "user_id": "75020011"})), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["user_id"], "75020011");
    let moved: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM user_roles WHERE user_id = '75020011') + \
                (SELECT count(*) FROM link_report WHERE user_id = '75020011')",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(moved, 3);
    let (s, _, b) = e
        .call(
            "PUT",
            "/api/user_roles/update",
            Some(&admin),
            Some(json!({"old_user_id": "75020001", "new_user_id": "75020011"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    e.done().await;
}

#[tokio::test]
async fn register_approve_logout_and_personnel_login() {
    let e = env().await;
    // Register with the Feb client's `whatsapp` and the HEAD client's `email`.
    for (name, contact) in [
        ("baru_wa", json!({"whatsapp": "0812-1111-2222"})),
        ("baru_mail", json!({"email": "Baru@Example.go.id"})),
    ] {
        let mut body = json!({"username": name, "password": "kuatsekali", "role": "operator", "client_id": "KEDIRI"});
        body.as_object_mut()
            .unwrap()
            .extend(contact.as_object().unwrap().clone());
        let (s, _, b) = e
            .call(
                "POST",
                "/api/auth/dashboard-register",
                None,
                Some(body),
                &[],
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        assert_eq!(b["success"], true);
        assert_eq!(b["status"], false);
    }
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM dashboard_user WHERE username = 'baru_mail'")
            .fetch_one(&e.db.pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"));
    let (s, _, b) = e
        .call(
            "POST",
            "/api/auth/dashboard-login",
            None,
            Some(json!({"username": "baru_wa", "password": "kuatsekali"})),
            &[],
        )
        .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (StatusCode::FORBIDDEN, Some("Akun belum disetujui"))
    );
    for (body, why) in [
        (
            json!({"username": "a b", "password": "kuatsekali", "whatsapp": "08121111"}),
            "space",
        ),
        (
            json!({"username": "ab", "password": "pendek", "whatsapp": "08121111"}),
            "short password",
        ),
        (
            json!({"username": "ab", "password": "kuatsekali"}),
            "no contact",
        ),
        (
            json!({"username": "ab", "password": "kuatsekali", "email": "nope"}),
            "bad email",
        ),
        (
            json!({"username": "ab", "password": "kuatsekali", "email": "a@b.id", "client_id": "NOPE"}),
            "unknown client",
        ),
    ] {
        let (s, _, _) = e
            .call(
                "POST",
                "/api/auth/dashboard-register",
                None,
                Some(body),
                &[],
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{why}");
    }
    let (s, _, _) = e
        .call("POST", "/api/auth/dashboard-register", None, Some(json!({"username": "baru_wa", "password": "kuatsekali", "whatsapp": "08121111", "client_id": "KEDIRI"})), &[])
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Approve, then the new (argon2id) account logs in.
    let admin = e.login("admin").await;
    let id: String = sqlx::query_scalar(
        "SELECT dashboard_user_id::text FROM dashboard_user WHERE username = 'baru_wa'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    let (s, _, b) = e
        .call(
            "PUT",
            &format!("/api/dashboard/users/{id}/approve"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _, b) = e
        .call(
            "POST",
            "/api/auth/dashboard-login",
            None,
            Some(json!({"username": "baru_wa", "password": "kuatsekali"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["user"]["client_id"], "KEDIRI");

    // Personnel login: the password is the WhatsApp number (legacy), token is a 3-part JWT.
    let (s, _, b) = e
        .call(
            "POST",
            "/api/auth/user-login",
            None,
            Some(json!({"nrp": "75020001", "password": "08123456789"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let t = b["token"].as_str().unwrap();
    assert_eq!(t.split('.').count(), 3);
    let claims = verify_token(SECRET, t).unwrap();
    assert_eq!(
        (claims.user_id.as_deref(), claims.role.as_str()),
        (Some("75020001"), "user")
    );
    assert_eq!(b["user"]["nama"], "BUDI");
    assert_eq!(b["user"]["client_id"], "KEDIRI");
    // A personnel token is not a dashboard token: 403, not 401.
    let (s, _) = e.get("/api/clients/profile", t).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = e
        .call(
            "POST",
            "/api/auth/user-login",
            None,
            Some(json!({"nrp": "75020001", "password": "0811"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    e.done().await;
}

async fn person_login(e: &Env, nrp: &str, password: &str) -> String {
    let (s, _, b) = e
        .call(
            "POST",
            "/api/auth/user-login",
            None,
            Some(json!({"nrp": nrp, "password": password})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn reposter_calls_rapid_fallbacks_and_premium_requests() {
    let e = env().await;
    let budi = person_login(&e, "75020001", "628123456789").await;
    let joko = person_login(&e, "75020009", "0855-5000-111").await;

    // The person's own record, today's posts of their client, their link reports.
    let (s, b) = e.get("/api/users/75020001", &budi).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["data"]["nama"].clone(), b["data"]["client_id"].clone()),
        (json!("BUDI"), json!("KEDIRI"))
    );
    let (s, b) = e.get("/api/insta/posts?client_id=KEDIRI", &budi).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let codes: Vec<&str> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["shortcode"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["P1", "P2"], "today's posts only, oldest first");
    let (s, b) = e
        .get("/api/insta/posts-khusus?client_id=KEDIRI", &budi)
        .await;
    assert_eq!(
        (s, b["data"][0]["shortcode"].as_str()),
        (StatusCode::OK, Some("K1"))
    );
    let (s, b) = e
        .get("/api/link-reports?user_id=75020001&post_id=P1", &budi)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b["data"]["items"][0]["instagram_link"],
        "https://instagram.com/p/x"
    );
    assert_eq!(b["data"]["pagination"]["total"], 1);
    let (s, b) = e
        .get(
            "/api/link-reports?links%5B%5D=https%3A%2F%2Finstagram.com%2Fp%2Fx&links[]=https://new",
            &budi,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b["data"]["duplicates"],
        json!(["https://instagram.com/p/x"])
    );

    // Report links for P2: first URL of each field kept; the same again is a duplicate.
    let report = json!({"shortcode": "P2", "user_id": "75020001", "client_id": "KEDIRI",
                        "instagram_link": "cek https://www.instagram.com/p/RE1/ ya", "facebook_link": "",
                        "twitter_link": "", "tiktok_link": "", "youtube_link": ""});
    let (s, _, b) = e
        .call(
            "POST",
            "/api/link-reports",
            Some(&budi),
            Some(report.clone()),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        b["data"]["instagram_link"],
        "https://www.instagram.com/p/RE1/"
    );
    assert!(b["data"]["facebook_link"].is_null());
    let mut again = report.clone();
    again["instagram_link"] = json!("https://www.instagram.com/p/RE2/");
    let (s, _, b) = e
        .call("POST", "/api/link-reports", Some(&budi), Some(again), &[])
        .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("anda mengirimkan link duplikasi")
        )
    );
    let mut old = report.clone();
    old["shortcode"] = json!("POLD");
    let (s, _, _) = e
        .call("POST", "/api/link-reports", Some(&budi), Some(old), &[])
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "posts older than 2 days are refused"
    );

    // Another client's person: every reposter resource of KEDIRI is 403.
    for uri in [
        "/api/users/75020001",
        "/api/insta/posts?client_id=KEDIRI",
        "/api/link-reports?user_id=75020001",
    ] {
        let (s, b) = e.get(uri, &joko).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{uri}: {b}");
    }
    let mut theirs = report.clone();
    theirs["shortcode"] = json!("P1");
    let (s, _, _) = e
        .call("POST", "/api/link-reports", Some(&joko), Some(theirs), &[])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = e.get("/api/insta/posts?client_id=BLITAR", &joko).await;
    assert_eq!(s, StatusCode::OK);

    // rapid-* fallbacks of the home page, from stored data.
    let op = e.login("op_kediri").await;
    let (s, b) = e
        .get("/api/insta/rapid-profile?username=@PolresKediri", &op)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["data"]["followers"].clone(),
            b["data"]["following"].clone()
        ),
        (json!(1000), json!(10))
    );
    let (s, _) = e
        .get("/api/insta/rapid-profile?username=unknown_acc", &op)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = e
        .get("/api/insta/rapid-posts?username=polreskediri&limit=50", &op)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "operators: legacy allow-list");
    let binmas = e.login("binmas").await;
    let (s, b) = e
        .get(
            "/api/insta/rapid-posts?username=polreskediri&limit=50",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"].as_array().unwrap().len(), 3);
    let (s, b) = e
        .get(
            "/api/tiktok/rapid-posts?client_id=DITBINMAS&limit=50",
            &binmas,
        )
        .await;
    assert_eq!(
        (s, b["data"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (s, _) = e
        .get("/api/tiktok/rapid-posts?client_id=KEDIRI&limit=50", &binmas)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Premium request: none, create (201), then locked and a second one is 409.
    let (s, b) = e
        .call(
            "GET",
            "/api/premium/request/latest",
            Some(&binmas),
            None,
            &[("accept", "application/json")],
        )
        .await
        .into_parts2();
    assert_eq!(
        (s, b["hasOpenRequest"].clone(), b["request"].clone()),
        (StatusCode::OK, json!(false), Value::Null)
    );
    let body = json!({"premium_tier": "premium_1", "bank_name": "BRI", "account_number": "123", "sender_name": "BUDI",
                      "transfer_amount": 150000, "amount": 150000});
    let (s, _, b) = e
        .call(
            "POST",
            "/api/premium/request",
            Some(&binmas),
            Some(body.clone()),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["status"], "pending");
    assert_eq!(b["locked"], true);
    let (s, b) = e.get("/api/premium/request/latest", &binmas).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["hasOpenRequest"], true);
    assert_eq!(b["request"]["premium_tier"], "premium_1");
    assert_eq!(b["request"]["sender_name"], "BUDI");
    assert_eq!(b["request"]["locked"], true);
    let mut other = body.clone();
    other["sender_name"] = json!("ANI");
    let (s, _, _) = e
        .call(
            "POST",
            "/api/premium/request",
            Some(&binmas),
            Some(other),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _, _) = e
        .call(
            "POST",
            "/api/premium/request",
            Some(&op),
            Some(json!({"bank_name": "BRI"})),
            &[],
        )
        .await;
    assert!(
        s == StatusCode::BAD_REQUEST || s == StatusCode::FORBIDDEN,
        "{s}"
    );
    e.done().await;
}

/// The cells of one sheet as text (numbers without a fraction print as integers).
fn sheet_cells(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let mut wb: Xlsx<_> =
        open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx file");
    let range = wb.worksheet_range(sheet).expect("the sheet");
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Float(f) => format!("{f}"),
                    Data::Int(i) => i.to_string(),
                    Data::Empty => String::new(),
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_run_as_jobs_and_download_as_xlsx() {
    let e = env().await;
    let op = e.login("op_kediri").await;
    let q = "periode=harian&client_id=KEDIRI&role=operator&scope=ORG";
    let (s, _, b) = e
        .call(
            "POST",
            &format!("/api/exports?kind=likes&{q}"),
            Some(&op),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let id = b["job_id"].as_i64().unwrap();
    assert_eq!(b["status_url"], format!("/api/exports/{id}"));
    let (s, _, _) = e.download(&format!("/api/exports/{id}/file"), &op).await;
    assert_eq!(s, StatusCode::CONFLICT, "not done yet");
    let (s, _, _) = e
        .call(
            "POST",
            &format!("/api/exports?kind=pdf&{q}"),
            Some(&op),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(cicero::platform::worker::run(
        e.db.ctx(&[]),
        vec!["exports".into()],
        stop.clone(),
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (state, err): (String, Option<String>) =
            sqlx::query_as("SELECT state, last_error FROM cicero.jobs WHERE id = $1")
                .bind(id)
                .fetch_one(&e.db.pool)
                .await
                .unwrap();
        match state.as_str() {
            "done" => break,
            "failed" => panic!("export failed: {err:?}"),
            _ => assert!(std::time::Instant::now() < deadline, "export still {state}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (s, b) = e.get(&format!("/api/exports/{id}"), &op).await;
    assert_eq!(
        (s, b["data"]["state"].as_str()),
        (StatusCode::OK, Some("done"))
    );
    assert_eq!(b["data"]["progress"]["fraction"], 1.0);
    let (s, h, bytes) = e.download(&format!("/api/exports/{id}/file"), &op).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let cd = h["content-disposition"].to_str().unwrap();
    assert!(
        cd.starts_with("attachment; filename=\"Rekap_Likes_Instagram_KEDIRI_"),
        "{cd}"
    );
    let label = {
        let d = jakarta_day(Utc::now());
        d.format("%-d-%-m-%Y").to_string()
    };
    assert_eq!(
        sheet_cells(&bytes, "POLRES KEDIRI"),
        vec![
            vec![
                "Pangkat Nama".to_string(),
                "Divisi / Satfung".into(),
                format!("{label} Jumlah Post"),
                format!("{label} Sudah Likes"),
                format!("{label} Belum Likes")
            ],
            vec![
                "AIPDA ANI".into(),
                "SAT BINMAS".into(),
                "2".into(),
                "0".into(),
                "2".into()
            ],
            vec![
                "BRIPKA BUDI".into(),
                "SAT BINMAS".into(),
                "2".into(),
                "2".into(),
                "0".into()
            ],
            vec![
                "BRIPTU SITI".into(),
                "SAT LANTAS".into(),
                "2".into(),
                "1".into(),
                "1".into()
            ],
        ]
    );
    // Only the requester (or an admin) sees the export.
    let blitar = e.login("op_blitar").await;
    let (s, _) = e.get(&format!("/api/exports/{id}"), &blitar).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = e
        .download(&format!("/api/exports/{id}/file"), &blitar)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = e
        .call(
            "POST",
            "/api/exports?kind=likes&client_id=KEDIRI",
            Some(&blitar),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The dashboard's synchronous download: same job, the file in the answer.
    let (s, h, bytes) = e
        .download(
            &format!("/api/amplify/rekap/excel?{q}&tanggal_mulai=&tanggal_selesai="),
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .contains("Rekap_Amplifikasi_KEDIRI_")
    );
    let cells = sheet_cells(&bytes, "POLRES KEDIRI");
    assert_eq!(cells[0][1], "NRP");
    let budi = cells.iter().find(|r| r[0] == "BRIPKA BUDI").unwrap();
    assert_eq!(
        budi[1..],
        [
            "75020001".to_string(),
            "SAT BINMAS".into(),
            "2".into(),
            "1".into()
        ]
    );
    // ANEV export: premium guard, then likes + comments against the expected actions.
    let binmas = e.login("binmas").await;
    let anev_q = "time_range=7d&client_id=DITBINMAS&role=DITBINMAS&scope=org&section=compliance";
    let (s, h, bytes) = e
        .download(&format!("/api/dashboard/anev/export?{anev_q}"), &binmas)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .contains("Rekap_Anev_DITBINMAS_")
    );
    let cells = sheet_cells(&bytes, "POLRES KEDIRI");
    assert_eq!(cells.len(), 2, "ditbinmas members only: {cells:?}");
    assert_eq!(
        cells[1],
        ["BRIPKA BUDI", "SAT BINMAS", "1", "1", "2", "2", "1"]
    );
    let (s, _, _) = e
        .download(&format!("/api/dashboard/anev/export?{anev_q}"), &op)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "operators: legacy allow-list");
    sqlx::query("UPDATE dashboard_user SET premium_status = false WHERE username = 'binmas'")
        .execute(&e.db.pool)
        .await
        .unwrap();
    let (s, _, _) = e
        .download(&format!("/api/dashboard/anev/export?{anev_q}"), &binmas)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "premium wall");
    let (s, _, _) = e
        .call(
            "POST",
            &format!("/api/exports?kind=anev&{anev_q}"),
            Some(&binmas),
            None,
            &[],
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the wall holds for POST /api/exports too"
    );
    stop.cancel();
    worker.await.unwrap().unwrap();
    e.done().await;
}

fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            // NRPs typed as numbers, as in real sheets.
            match v.parse::<f64>() {
                Ok(n) if r > 0 && c == 0 => ws.write_number(r as u32, c as u16, n).map(drop),
                _ => ws.write_string(r as u32, c as u16, *v).map(drop),
            }
            .unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

impl Env {
    async fn upload(&self, token: &str, file: Vec<u8>) -> (StatusCode, Value) {
        let bearer = format!("Bearer {token}");
        let headers = [
            (
                "content-type",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            ("authorization", bearer.as_str()),
        ];
        let (status, _, body) = common::send(
            &self.app,
            "POST",
            "/api/users/import?client_id=KEDIRI",
            file,
            &headers,
        )
        .await;
        (status, body)
    }

    /// Polls an import until it is done; returns its result.
    async fn import_result(&self, token: &str, id: i64) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (s, b) = self.get(&format!("/api/users/import/{id}"), token).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            match b["data"]["state"].as_str() {
                Some("done") => return b["data"]["result"].clone(),
                Some("failed") => panic!("import failed: {b}"),
                _ => assert!(std::time::Instant::now() < deadline, "import still {b}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_import_is_all_or_nothing() {
    let e = env().await;
    let op = e.login("op_kediri").await;
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(cicero::platform::worker::run(
        e.db.ctx(&[]),
        vec!["exports".into()],
        stop.clone(),
    ));
    let people = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT string_agg(user_id || ':' || coalesce(nama, '') || ':' || coalesce(client_id, ''), ',' ORDER BY user_id) FROM \"user\"",
        )
        .fetch_one(&e.db.pool)
        .await
        .unwrap()
    };
    let before = people().await;
    let header: &[&str] = &[
        "NRP",
        "Nama",
        "Pangkat",
        "Satfung",
        "Jabatan",
        "Instagram",
        "TikTok",
        "WhatsApp",
    ];

    // Bad rows: duplicate NRP, an empty row, another client's NRP, a bad NRP. Nothing imported.
    let bad = xlsx(&[
        header,
        &[
            "75020020",
            "dewi",
            "bripda",
            "sat binmas",
            "",
            "@dewi_ig",
            "",
            "0812000111",
        ],
        &[
            "75020020",
            "dewi dua",
            "bripda",
            "sat binmas",
            "",
            "",
            "",
            "",
        ],
        &["", "", "", "", "", "", "", ""],
        &["75020009", "joko", "bripda", "sat samapta", "", "", "", ""],
        &["12AB", "x", "bripda", "sat", "", "", "", ""],
    ]);
    let (s, b) = e.upload(&op, bad).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let r = e.import_result(&op, b["job_id"].as_i64().unwrap()).await;
    assert_eq!(r["ok"], false);
    assert_eq!(r["imported"], 0);
    let rows: Vec<i64> = r["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["row"].as_i64().unwrap())
        .collect();
    assert_eq!(rows, [3, 4, 5, 6], "{r}");
    assert!(
        r["rejected"][0]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("duplikat")
    );
    assert_eq!(r["rejected"][1]["reasons"][0], "baris kosong");
    assert!(
        r["rejected"][2]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("client lain")
    );
    assert_eq!(people().await, before, "database unchanged");

    // Wrong columns: one clear error for the file.
    let (_, b) = e
        .upload(
            &op,
            xlsx(&[&["NRP", "Nama", "Alamat"], &["75020021", "x", "y"]]),
        )
        .await;
    let r = e.import_result(&op, b["job_id"].as_i64().unwrap()).await;
    assert_eq!(r["ok"], false);
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("kolom wajib tidak ada: Pangkat, Satfung"),
        "{r}"
    );
    assert_eq!(people().await, before);

    // Not an xlsx at all.
    let (s, _) = e.upload(&op, b"NRP,Nama\n1,x".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // A good file: a new person and an update of one of ours.
    let good = xlsx(&[
        header,
        &[
            "75020020",
            "dewi",
            "bripda",
            "sat binmas",
            "bhabinkamtibmas",
            "@Dewi_IG",
            "",
            "0812000111",
        ],
        &[
            "75020002",
            "siti aminah",
            "briptu",
            "sat lantas",
            "",
            "",
            "",
            "",
        ],
    ]);
    let (_, b) = e.upload(&op, good).await;
    let id = b["job_id"].as_i64().unwrap();
    let r = e.import_result(&op, id).await;
    assert_eq!(
        (r["ok"].clone(), r["imported"].clone()),
        (json!(true), json!(2)),
        "{r}"
    );
    let (s, b) = e
        .get(
            "/api/users/list?client_id=KEDIRI&role=operator&scope=ORG",
            &op,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let dewi = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == "75020020")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            dewi["nama"].clone(),
            dewi["insta"].clone(),
            dewi["whatsapp"].clone()
        ),
        (json!("DEWI"), json!("dewi_ig"), json!("62812000111"))
    );
    assert_eq!(dewi["operator"], true);
    assert!(
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["nama"] == "SITI AMINAH")
    );
    // Another client's operator cannot read the result, nor import into KEDIRI.
    let blitar = e.login("op_blitar").await;
    let (s, _) = e.get(&format!("/api/users/import/{id}"), &blitar).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = e.upload(&blitar, xlsx(&[header])).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    stop.cancel();
    worker.await.unwrap().unwrap();
    e.done().await;
}

#[tokio::test]
async fn openapi_describes_every_dashboard_route() {
    let doc: Value = serde_json::from_str(cicero::http::OPENAPI).unwrap();
    for (path, method) in [
        ("/api/auth/dashboard-login", "post"),
        ("/api/auth/dashboard-register", "post"),
        ("/api/auth/user-login", "post"),
        ("/api/auth/logout", "post"),
        ("/api/auth/dashboard-password-reset/request", "post"),
        ("/api/auth/dashboard-password-reset/confirm", "post"),
        ("/api/link-reports/{shortcode}", "put"),
        ("/api/clients/{client_id}/summary", "get"),
        ("/api/link-reports/{shortcode}", "delete"),
        ("/api/dashboard/users/{id}/approve", "put"),
        ("/api/dashboard/users/{id}/reject", "put"),
        ("/api/clients/profile", "get"),
        ("/api/users/list", "get"),
        ("/api/users/create", "post"),
        ("/api/users/{id}", "put"),
        ("/api/user_roles/update", "put"),
        ("/api/user_roles/update", "post"),
        ("/api/insta/rekap-likes", "get"),
        ("/api/tiktok/rekap-komentar", "get"),
        ("/api/dashboard/stats", "get"),
        ("/api/aggregator", "get"),
        ("/api/amplify/rekap", "get"),
        ("/api/amplify/rekap-khusus", "get"),
        ("/api/dashboard/anev", "get"),
        ("/api/instagram/posts", "get"),
        ("/api/tiktok/posts", "get"),
        ("/api/dashboard/komplain/insta", "post"),
        ("/api/dashboard/komplain/tiktok", "post"),
        ("/api/insta/rapid-profile", "get"),
        ("/api/insta/rapid-info", "get"),
        ("/api/insta/rapid-posts", "get"),
        ("/api/tiktok/rapid-posts", "get"),
        ("/api/users/{id}", "get"),
        ("/api/insta/posts", "get"),
        ("/api/insta/posts-khusus", "get"),
        ("/api/link-reports", "get"),
        ("/api/link-reports", "post"),
        ("/api/link-reports-khusus", "get"),
        ("/api/premium/request", "post"),
        ("/api/premium/request/latest", "get"),
        ("/api/exports", "post"),
        ("/api/exports/{id}", "get"),
        ("/api/exports/{id}/file", "get"),
        ("/api/amplify/rekap/excel", "get"),
        ("/api/dashboard/anev/export", "get"),
        ("/api/users/import", "post"),
        ("/api/users/import/{id}", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "openapi.json lacks {method} {path}"
        );
    }
}

/// Runs a worker on `queue` until every job of `kind` is done, then stops it. The `whatsapp`
/// queue uses the outbox transport (no `WAHA_URL`).
async fn run_jobs(db: &TestDb, queue: &str, kind: &str, settings: &[(&str, &str)]) {
    let worker = db.worker(&[queue], settings);
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM cicero.jobs WHERE kind = $1 ORDER BY id")
            .bind(kind)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert!(!ids.is_empty(), "no {kind} job");
    for id in ids {
        db.wait_state(id, "done", 30).await;
    }
    worker.stop().await;
}

async fn deliver_whatsapp(db: &TestDb) {
    run_jobs(db, "whatsapp", "whatsapp_send", &[]).await;
}

/// The outbox rows, `(chat_id, idempotency_key, text, status)`, in order.
async fn outbox(db: &TestDb) -> Vec<(String, String, String, String)> {
    sqlx::query_as(
        "SELECT chat_id, idempotency_key, coalesce(text, ''), status FROM cicero.wa_outbox ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_complaint_is_sent_over_whatsapp_to_the_person_and_the_dashboard_user() {
    let e = env().await;
    sqlx::query("UPDATE dashboard_user SET whatsapp = '081299990000' WHERE username = 'op_kediri'")
        .execute(&e.db.pool)
        .await
        .unwrap();
    let token = e.login("op_kediri").await;
    // The dashboard's form body (ComplaintForm.tsx), credentials included.
    let body = json!({"nrp": "75020001", "client_id": "KEDIRI", "issue": "Kendala akses atau data tidak sesuai",
                      "user_id": "75020001", "username_ig": "budi_ig", "instagram": "budi_ig", "nama": "BUDI"});
    let (status, _, res) = e
        .call(
            "POST",
            "/api/dashboard/komplain/insta",
            Some(&token),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["success"], true);
    assert_eq!(res["message"], "Komplain terkirim");
    assert_eq!(
        res["data"]["whatsappDelivery"]["personnel"]["status"],
        "queued"
    );
    assert_eq!(
        res["data"]["whatsappDelivery"]["dashboardUser"]["chat_id"],
        "6281299990000@c.us"
    );

    let jobs: Vec<(String, Value)> = sqlx::query_as(
        "SELECT queue, payload FROM cicero.jobs WHERE kind = 'whatsapp_send' ORDER BY id",
    )
    .fetch_all(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!(jobs[0].0, "whatsapp");
    assert_eq!(jobs[0].1["to"], "628123456789@c.us");
    assert_eq!(jobs[1].1["to"], "6281299990000@c.us");
    let key = jobs[0].1["idempotency_key"].as_str().unwrap();
    let day = jakarta_day(Utc::now()).to_string();
    assert!(
        key.starts_with(&format!("complaint:instagram:75020001:{day}:"))
            && key.ends_with(":personnel:628123456789@c.us"),
        "{key}"
    );
    let text = jobs[0].1["text"].as_str().unwrap();
    assert!(
        text.contains("! Kami menindaklanjuti laporan yang Anda sampaikan."),
        "{text}"
    );
    assert!(text.contains("*Pelapor*: BRIPKA BUDI\n*NRP/NIP*: 75020001\n\n*Kendala*:\nKendala akses atau data tidak sesuai\n\n*Solusi/Tindak Lanjut*:\n"), "{text}");
    assert_eq!(jobs[1].1["text"], jobs[0].1["text"]);

    deliver_whatsapp(&e.db).await;
    let rows = outbox(&e.db).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].0, "628123456789@c.us");
    assert_eq!(rows[0].1, key);
    assert_eq!(rows[0].2, text);
    assert_eq!(rows[0].3, "sent");

    // The same complaint later the same day (a TikTok one for a person without WhatsApp is
    // skipped for them): no second message to the person.
    let (status, _, res) = e
        .call(
            "POST",
            "/api/dashboard/komplain/tiktok",
            Some(&token),
            Some(json!({"nrp": "75020002", "issue": "Komentar belum terdata"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(
        res["data"]["whatsappDelivery"]["personnel"]["status"],
        "skipped"
    );
    assert_eq!(
        res["data"]["whatsappDelivery"]["dashboardUser"]["status"],
        "queued"
    );
    assert_eq!(
        e.db.count("SELECT count(*) FROM cicero.jobs WHERE kind = 'whatsapp_send'")
            .await,
        3
    );
    // Another client's person: 403, nothing enqueued.
    let (status, _, _) = e
        .call(
            "POST",
            "/api/dashboard/komplain/insta",
            Some(&token),
            Some(json!({"nrp": "75020009", "issue": "x"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        e.db.count("SELECT count(*) FROM cicero.jobs WHERE kind = 'whatsapp_send'")
            .await,
        3
    );
    e.done().await;
}

/// The token of a reset link (`…/reset-password?token=<uuid>`) in a message.
fn reset_token_in(text: &str) -> String {
    let i = text
        .find("https://papiqo.com/reset-password?token=")
        .unwrap_or_else(|| panic!("no reset link in {text}"));
    text[i + 40..i + 76].to_string()
}

async fn login_with(e: &Env, username: &str, password: &str) -> (StatusCode, Value) {
    let (s, _, b) = e
        .call(
            "POST",
            "/api/auth/dashboard-login",
            None,
            Some(json!({"username": username, "password": password})),
            &[],
        )
        .await;
    (s, b)
}

async fn reset_request(e: &Env, username: &str, contact: &str) -> (StatusCode, Value) {
    let (s, _, b) = e
        .call(
            "POST",
            "/api/auth/dashboard-password-reset/request",
            None,
            Some(json!({"username": username, "contact": contact})),
            &[],
        )
        .await;
    (s, b)
}

async fn reset_confirm(e: &Env, token: &str, password: &str, confirm: &str) -> (StatusCode, Value) {
    // The dashboard's confirm page sends both confirmation names.
    let (s, _, b) = e
        .call(
            "POST",
            "/api/auth/dashboard-password-reset/confirm",
            None,
            Some(
                json!({"token": token, "password": password, "confirmPassword": confirm,
                        "password_confirmation": confirm}),
            ),
            &[],
        )
        .await;
    (s, b)
}

#[tokio::test]
async fn password_reset_over_whatsapp_revokes_sessions_and_sets_the_new_password() {
    let e = env().await;
    sqlx::query(
        "UPDATE dashboard_user SET whatsapp = '6281299990000' WHERE username = 'op_kediri'",
    )
    .execute(&e.db.pool)
    .await
    .unwrap();
    let old_token = e.login("op_kediri").await;
    let other_session = e.login("op_kediri").await;

    // A contact that is not the account's, or an unknown username: the same answer, nothing sent.
    let (s, wrong) = reset_request(&e, "op_kediri", "081200000000").await;
    assert_eq!(s, StatusCode::OK, "{wrong}");
    let (s, unknown) = reset_request(&e, "nobody", "081299990000").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(wrong["message"], unknown["message"]);
    assert_eq!(e.db.count("SELECT count(*) FROM cicero.jobs").await, 0);
    let (s, b) = reset_request(&e, "op_kediri", "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    // The dashboard sends the number with 0 turned into 62.
    let (s, b) = reset_request(&e, "op_kediri", "6281299990000").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], true);
    deliver_whatsapp(&e.db).await;
    let rows = outbox(&e.db).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "6281299990000@c.us");
    assert!(rows[0].1.starts_with("password_reset:"), "{}", rows[0].1);
    assert_eq!(rows[0].3, "sent");
    assert!(rows[0].2.contains("*op_kediri*"), "{}", rows[0].2);
    let token = reset_token_in(&rows[0].2);
    // Only its hash is stored.
    let stored: String = sqlx::query_scalar("SELECT reset_token FROM dashboard_password_resets")
        .fetch_one(&e.db.pool)
        .await
        .unwrap();
    assert_ne!(stored, token);

    // Bad confirmations change nothing.
    let (s, b) = reset_confirm(&e, &token, "passwordbaru1", "passwordbaru2").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, _) = reset_confirm(&e, &token, "pendek", "pendek").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, b) = reset_confirm(
        &e,
        "00000000-0000-0000-0000-000000000000",
        "passwordbaru1",
        "passwordbaru1",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, _) = e.get("/api/clients/profile", &old_token).await;
    assert_eq!(s, StatusCode::OK, "still logged in");

    let (s, b) = reset_confirm(&e, &token, "passwordbaru1", "passwordbaru1").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], true);
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM dashboard_user WHERE username = 'op_kediri'")
            .fetch_one(&e.db.pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    // Every session of the account ended: 401 with the reason the dashboard logs out on.
    for t in [&old_token, &other_session] {
        let (s, b) = e.get("/api/clients/profile", t).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
        assert_eq!(b["reason"], "invalid_token");
    }
    let (s, _) = login_with(&e, "op_kediri", PASSWORD).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    let (s, b) = login_with(&e, "op_kediri", "passwordbaru1").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = e
        .get("/api/clients/profile", b["token"].as_str().unwrap())
        .await;
    assert_eq!(s, StatusCode::OK);

    // A used token is refused.
    let (s, b) = reset_confirm(&e, &token, "passwordbaru3", "passwordbaru3").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("tidak valid"),
        "{b}"
    );

    // An expired token is refused (15 minutes).
    let (s, _) = reset_request(&e, "op_kediri", "081299990000").await;
    assert_eq!(s, StatusCode::OK);
    deliver_whatsapp(&e.db).await;
    let rows = outbox(&e.db).await;
    assert_eq!(rows.len(), 2);
    let expired = reset_token_in(&rows[1].2);
    assert_ne!(expired, token);
    sqlx::query("UPDATE dashboard_password_resets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        .execute(&e.db.pool)
        .await
        .unwrap();
    let (s, _) = reset_confirm(&e, &expired, "passwordbaru4", "passwordbaru4").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = login_with(&e, "op_kediri", "passwordbaru1").await;
    assert_eq!(s, StatusCode::OK, "the password is unchanged");
    e.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_by_email_is_mailed_over_smtp() {
    let e = env().await;
    sqlx::query("UPDATE dashboard_user SET email = 'op@blitar.go.id' WHERE username = 'op_blitar'")
        .execute(&e.db.pool)
        .await
        .unwrap();
    let smtp = Smtp::start().await;
    let (s, b) = reset_request(&e, "op_blitar", "OP@Blitar.go.id").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let port = smtp.port.to_string();
    run_jobs(
        &e.db,
        "messaging",
        "email_send",
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", &port),
            ("SMTP_TLS", "none"),
            ("SMTP_FROM", "cicero@example.com"),
        ],
    )
    .await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = mails.values().next().unwrap();
    assert!(mail.contains("To: op@blitar.go.id"), "{mail}");
    assert!(
        mail.contains("Subject: Reset password dashboard Cicero"),
        "{mail}"
    );
    assert!(
        mail.contains("Content-Transfer-Encoding: quoted-printable"),
        "{mail}"
    );
    let token = reset_token_in(&quoted_printable(mail));
    let (s, b) = reset_confirm(&e, &token, "passwordbaru1", "passwordbaru1").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = login_with(&e, "op_blitar", "passwordbaru1").await;
    assert_eq!(s, StatusCode::OK);
    e.done().await;
}

/// Decodes a quoted-printable mail (RFC 2045: `=` soft line breaks, `=XX` bytes).
fn quoted_printable(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let b = joined.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'=', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn link_reports_are_edited_and_deleted_by_their_person_or_a_dashboard_user_in_reach() {
    let e = env().await;
    let op = e.login("op_kediri").await;
    let (s, _, b) = e
        .call(
            "PUT",
            "/api/link-reports/P1",
            Some(&op),
            Some(json!({"user_id": "75020001", "facebook_link": "cek https://facebook.com/x ya", "twitter_link": ""})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["facebook_link"], "https://facebook.com/x");
    assert_eq!(b["data"]["twitter_link"], Value::Null);
    assert_eq!(
        b["data"]["instagram_link"], "https://instagram.com/p/x",
        "absent fields are kept"
    );
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT facebook_link FROM link_report WHERE shortcode = 'P1' AND user_id = '75020001'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(stored.as_deref(), Some("https://facebook.com/x"));
    // Bad input, no report, another client's operator.
    let put = |token: String, uri: &'static str, body: Value| {
        let e = &e;
        async move { e.call("PUT", uri, Some(&token), Some(body), &[]).await }
    };
    let (s, _, _) = put(
        op.clone(),
        "/api/link-reports/P1",
        json!({"user_id": "75020001"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = put(
        op.clone(),
        "/api/link-reports/NOPE",
        json!({"user_id": "75020001", "instagram_link": "https://instagram.com/p/z"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let blitar = e.login("op_blitar").await;
    let (s, _, _) = put(
        blitar,
        "/api/link-reports/P1",
        json!({"user_id": "75020001", "instagram_link": "https://instagram.com/p/z"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // DELETE is not on the legacy operator allow-list.
    let (s, _, _) = e
        .call(
            "DELETE",
            "/api/link-reports/P1?user_id=75020001",
            Some(&op),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The person (reposter login) deletes their own report, not another's.
    let me = person_login(&e, "75020001", "08123456789").await;
    let (s, _, _) = e
        .call(
            "DELETE",
            "/api/link-reports/P1?user_id=75020002",
            Some(&me),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, b) = e
        .call(
            "DELETE",
            "/api/link-reports/P1?user_id=75020001",
            Some(&me),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["shortcode"], "P1");
    assert_eq!(
        e.db.count("SELECT count(*) FROM link_report WHERE shortcode = 'P1'")
            .await,
        0
    );
    // The same DELETE again within 5 minutes is the duplicate guard's (legacy); a report
    // that does not exist is 404.
    let (s, _, b) = e
        .call(
            "DELETE",
            "/api/link-reports/P1?user_id=75020001",
            Some(&me),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    let (s, _, _) = e
        .call(
            "DELETE",
            "/api/link-reports/P2?user_id=75020001",
            Some(&me),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = e
        .call("DELETE", "/api/link-reports/P1", Some(&me), None, &[])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    e.done().await;
}

#[tokio::test]
async fn client_summary_counts_the_clients_stored_data() {
    let e = env().await;
    let binmas = e.login("binmas").await;
    // KEDIRI is a satker of the DITBINMAS role (its people hold the role); any case works.
    let admin = e.login("admin").await;
    let (s, b) = e.get("/api/clients/kediri/summary", &admin).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], true);
    let d = &b["data"];
    assert_eq!(d["client"]["client_id"], "KEDIRI");
    assert_eq!(d["client"]["nama"], "POLRES KEDIRI");
    assert_eq!(d["user_count"], 3);
    assert_eq!(d["insta_post_count"], 3, "P1, P2 and the old POLD");
    assert_eq!(d["tiktok_post_count"], 1);
    assert_eq!(d["total_insta_likes"], 5, "2 + 1 + 2 likers");
    assert_eq!(d["total_tiktok_comments"], 2);
    let (s, b) = e.get("/api/clients/DITBINMAS/summary", &binmas).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["insta_post_count"], 0);
    // Another client's: 403; operators: not on the legacy allow-list; unknown: 404.
    let (s, _) = e.get("/api/clients/BLITAR/summary", &binmas).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let op = e.login("op_kediri").await;
    let (s, _) = e.get("/api/clients/KEDIRI/summary", &op).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = e.get("/api/clients/NOPE/summary", &admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    e.done().await;
}

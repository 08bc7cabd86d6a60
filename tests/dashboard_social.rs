//! The dashboard's live social calls (`rapid-*`) and special-assignment link reports against
//! real PostgreSQL and Redis, with a local server speaking RapidAPI's wire format
//! (`social-api4` / `tiktok-api23` shapes, as in tests/providers.rs).
mod common;

use std::{sync::Arc, time::Duration};

use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use common::{
    TestDb,
    dashboard::{DashApp, Options, PASSWORD},
};
use redis::AsyncCommands;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{any, method, path, query_param},
};

use cicero::{http::dashboard::social::Live, ingest::RapidApiSource};

const KEY: &str = "test-rapidapi-key-0001";

/// The dashboard app with a provider (below); its own `call` without extra headers.
struct Env(DashApp);

impl std::ops::Deref for Env {
    type Target = DashApp;
    fn deref(&self) -> &DashApp {
        &self.0
    }
}

/// Which provider the app gets.
enum Provider<'a> {
    /// The RapidAPI clients pointed at this server, with these extra settings.
    Rapid(&'a MockServer, &'a [(&'a str, &'a str)]),
    /// The settings as given (e.g. `PROVIDER=demo`, or no key).
    Settings(&'a [(&'a str, &'a str)]),
    None,
}

async fn env(provider: Provider<'_>) -> Env {
    // Repeated identical POSTs are part of these tests (the duplicate report).
    let opts = Options {
        allow_duplicates: true,
        tiers: &["tier1"],
        ..Options::default()
    };
    let e = DashApp::new(opts, |db, state| match provider {
        Provider::Rapid(server, extra) => {
            let uri = server.uri();
            let mut pairs: Vec<(&str, &str)> = vec![
                ("RAPIDAPI_KEY", KEY),
                ("RAPIDAPI_INSTAGRAM_URL", &uri),
                ("RAPIDAPI_TIKTOK_URL", &uri),
                ("RAPIDAPI_TIMEOUT_MS", "5000"),
            ];
            pairs.extend_from_slice(extra);
            let settings = db.settings(&pairs);
            let src =
                RapidApiSource::from_settings(&settings, Some(db.pool.clone())).expect("source");
            state.with_social(Live::new(Arc::new(src), settings.rapid_cache))
        }
        Provider::Settings(pairs) => {
            let settings = db.settings(pairs);
            state.with_social(Live::from_settings(&settings, &db.pool))
        }
        Provider::None => state,
    })
    .await;
    seed(&e.db).await;
    Env(e)
}

impl Env {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        self.0.call(method, uri, token, body, &[]).await
    }

    async fn ttl(&mut self, key: &str) -> i64 {
        let key = self.0.key(key);
        self.0.redis.ttl(key).await.unwrap()
    }

    async fn forget(&mut self, key: &str) {
        let key = self.0.key(key);
        let _: () = self.0.redis.del(key).await.unwrap();
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    async fn done(self) {
        self.0.done().await
    }
}

/// KEDIRI and BLITAR (ORG) and DITBINMAS; dashboard accounts; personnel; one official post
/// with a link report.
async fn seed(db: &TestDb) {
    let hash = bcrypt::hash_with_result(PASSWORD, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoA);
    sqlx::raw_sql(
        r#"
        INSERT INTO roles (role_name) VALUES ('admin');
        INSERT INTO clients (client_id, nama, client_type, client_insta, client_tiktok, regional_id)
        VALUES ('KEDIRI', 'POLRES KEDIRI', 'org', 'polres_demo', '@polres_demo', 'JATIM'),
               ('BLITAR', 'POLRES BLITAR', 'org', 'polresblitar', 'polresblitar', 'JATIM'),
               ('DITBINMAS', 'DIREKTORAT BINMAS', 'direktorat', 'ditbinmas', NULL, 'JATIM');
        INSERT INTO "user" (user_id, nama, title, divisi, insta, whatsapp, client_id, status)
        VALUES ('75020001', 'BUDI', 'BRIPKA', 'SAT BINMAS', 'budi_ig', '628123456789', 'KEDIRI', true),
               ('75020002', 'SITI', 'BRIPTU', 'SAT LANTAS', 'siti_ig', NULL, 'KEDIRI', true),
               ('75020009', 'JOKO', 'BRIPDA', 'SAT SAMAPTA', 'joko_ig', '628555000111', 'BLITAR', true);
        INSERT INTO user_roles (user_id, role_id)
        SELECT u, role_id FROM roles, unnest(ARRAY['75020001','75020002','75020009']) u
        WHERE role_name = 'operator';
        INSERT INTO insta_post (shortcode, client_id, caption, like_count, comment_count, created_at)
        VALUES ('P1', 'KEDIRI', 'resmi', 5, 1, now() - interval '1 hour');
        INSERT INTO link_report (shortcode, user_id, instagram_link, created_at)
        SELECT 'P1', '75020001', 'https://instagram.com/p/x', created_at FROM insta_post WHERE shortcode = 'P1';
        "#,
    )
    .execute(&db.pool)
    .await
    .expect("seed");
    for (name, role, client) in [
        ("op_kediri", "operator", "KEDIRI"),
        ("op_blitar", "operator", "BLITAR"),
        ("binmas", "ditbinmas", "DITBINMAS"),
        ("admin", "admin", "KEDIRI"),
    ] {
        let id: String = sqlx::query_scalar(
            "INSERT INTO dashboard_user (username, password_hash, role_id, status) \
             SELECT $1, $2, role_id, true FROM roles WHERE role_name = $3 \
             RETURNING dashboard_user_id::text",
        )
        .bind(name)
        .bind(&hash)
        .bind(role)
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
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// `v1/info` → `data` (social-api4).
fn ig_info(username: &str, followers: i64) -> Value {
    json!({"data": {
        "pk": 1234567, "id": "1234567", "username": username, "full_name": "Polres Demo",
        "biography": "Akun resmi", "follower_count": followers, "following_count": 120,
        "media_count": 842, "is_private": false, "is_verified": true, "is_business": true,
        "category_name": "Government organization", "external_url": "https://polri.go.id",
        "total_igtv_videos": 3, "latest_reel_media": 1_772_430_000,
        "profile_pic_url": "https://cdn.example/p.jpg",
        "profile_pic_url_hd": "https://cdn.example/p_hd.jpg"
    }})
}

/// A post item (`v1/posts` items, `v1/post_info` data).
fn ig_image(code: &str, taken_at: i64) -> Value {
    json!({
        "id": format!("3301{code}_1234567"), "pk": format!("3301{code}"), "code": code,
        "taken_at": taken_at, "media_type": 1, "is_video": false,
        "caption": {"text": format!("Kegiatan {code} #polri"), "created_at": taken_at},
        "like_count": 120, "comment_count": 4, "play_count": 0,
        "image_versions": {"items": [{"url": format!("https://cdn.example/{code}.jpg"), "width": 1080, "height": 1350}]},
        "user": {"username": "budi_ig", "pk": "1234567"}
    })
}

/// `api/user/info` (tiktok-api23).
fn tt_info(unique_id: &str) -> Value {
    json!({
        "userInfo": {
            "user": {"id": "68", "uniqueId": unique_id, "secUid": "MS4wLjABAAAAsec",
                     "nickname": "Polres Demo", "signature": "Akun resmi Polres Demo",
                     "avatarThumb": "https://cdn.example/a_thumb.jpg",
                     "avatarLarger": "https://cdn.example/a_large.jpg", "verified": true},
            "stats": {"followerCount": 5400, "followingCount": 12, "heart": 88000, "heartCount": 88000, "videoCount": 310}
        },
        "statusCode": 0
    })
}

fn tt_video(id: &str, create_time: i64) -> Value {
    json!({
        "id": id, "desc": format!("Video {id} #polripresisi"), "createTime": create_time,
        "author": {"uniqueId": "polres_demo", "secUid": "MS4wLjABAAAAsec"},
        "video": {"cover": format!("https://cdn.example/{id}.jpg")},
        "stats": {"diggCount": 250, "commentCount": 12, "playCount": 9000, "shareCount": 3}
    })
}

#[tokio::test]
async fn instagram_profile_is_fetched_live_upserted_then_cached() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/info"))
        .and(query_param("username_or_id_or_url", "polres.demo"))
        .respond_with(ok(ig_info("polres.demo", 15230)))
        .expect(1)
        .mount(&server)
        .await;
    let mut e = env(Provider::Rapid(&server, &[])).await;
    let binmas = e.login("binmas").await;

    let (s, b) = e
        .get(
            "/api/insta/rapid-profile?username=https%3A%2F%2Fwww.instagram.com%2FPolres.Demo%2F",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["source"], "live");
    let p = &b["data"];
    assert_eq!(p["username"], "polres.demo");
    assert_eq!(
        (p["followers"].clone(), p["follower_count"].clone()),
        (json!(15230), json!(15230))
    );
    assert_eq!(
        (p["following"].clone(), p["following_count"].clone()),
        (json!(120), json!(120))
    );
    assert_eq!(
        (p["bio"].clone(), p["biography"].clone()),
        (json!("Akun resmi"), json!("Akun resmi"))
    );
    assert_eq!(p["is_verified"], true);
    assert_eq!(
        p["hd_profile_pic_url_info"]["url"],
        "https://cdn.example/p_hd.jpg"
    );
    assert_eq!(b["profile"], b["data"]);

    // Stored as legacy stores it.
    let row: (i32, i32, i32, String) = sqlx::query_as(
        "SELECT follower_count, following_count, post_count, profile_pic_url FROM insta_profile WHERE username = 'polres.demo'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(row, (15230, 120, 842, "https://cdn.example/p.jpg".into()));
    let user: (String, Option<String>, Option<bool>, Option<bool>) = sqlx::query_as(
        "SELECT username, category, is_business, is_verified FROM instagram_user WHERE user_id = '1234567'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(
        user,
        (
            "polres.demo".into(),
            Some("Government organization".into()),
            Some(true),
            Some(true)
        )
    );
    let metrics: (i32, i32, i32, i32, i64) = sqlx::query_as(
        "SELECT follower_count, following_count, media_count, total_igtv_videos, latest_reel_media \
         FROM instagram_user_metrics WHERE user_id = '1234567'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(metrics, (15230, 120, 842, 3, 1_772_430_000));

    // Cached in Redis for RAPID_CACHE_SECS (600): the next calls do not reach the provider.
    let ttl = e.ttl("profile:insta:polres.demo").await;
    assert!((1..=600).contains(&ttl), "ttl {ttl}");
    for uri in [
        "/api/insta/rapid-profile?username=@Polres.Demo",
        "/api/insta/rapid-info?username=polres.demo",
    ] {
        let (s, b) = e.get(uri, &binmas).await;
        assert_eq!(
            (s, b["source"].as_str()),
            (StatusCode::OK, Some("cache")),
            "{uri}: {b}"
        );
        assert_eq!(b["data"]["followers"], 15230);
    }
    // Cache gone but the stored row is fresh: still no provider call.
    e.forget("profile:insta:polres.demo").await;
    let (s, b) = e
        .get("/api/insta/rapid-profile?username=polres.demo", &binmas)
        .await;
    assert_eq!(
        (s, b["source"].as_str()),
        (StatusCode::OK, Some("stored")),
        "{b}"
    );
    assert_eq!(b["data"]["following"], 120);
    // Operators may call rapid-profile (legacy allow-list).
    let op = e.login("op_kediri").await;
    let (s, _) = e
        .get("/api/insta/rapid-profile?username=polres.demo", &op)
        .await;
    assert_eq!(s, StatusCode::OK);
    server.verify().await;
    // The home page's aggregator serves the fresh stored profile of the client's account.
    sqlx::query("UPDATE clients SET client_insta = 'https://instagram.com/polres.demo' WHERE client_id = 'KEDIRI'")
        .execute(&e.db.pool)
        .await
        .unwrap();
    let (s, b) = e.get("/api/aggregator?periode=harian", &op).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["igProfile"]["followers"], 15230, "{b}");

    // A stale row and a failing provider: the stored profile, marked stale.
    server.reset().await;
    Mock::given(path("/v1/info"))
        .respond_with(ResponseTemplate::new(503).set_body_string("maintenance"))
        .expect(1)
        .mount(&server)
        .await;
    sqlx::query("UPDATE insta_profile SET updated_at = now() - interval '1 day'")
        .execute(&e.db.pool)
        .await
        .unwrap();
    e.forget("profile:insta:polres.demo").await;
    let (s, b) = e
        .get("/api/insta/rapid-profile?username=polres.demo", &binmas)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["source"].as_str(), b["stale"].as_bool()),
        (Some("stored"), Some(true))
    );
    assert_eq!(b["data"]["followers"], 15230);
    // The aggregator gives no stale profile, so the home page asks rapid-profile (which
    // refreshes it) instead of showing yesterday's numbers for ever.
    sqlx::query("UPDATE insta_profile SET updated_at = now() - interval '1 day'")
        .execute(&e.db.pool)
        .await
        .unwrap();
    let (s, b) = e.get("/api/aggregator?periode=harian", &op).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["igProfile"], Value::Null, "{b}");
    e.done().await;
}

#[tokio::test]
async fn instagram_posts_live_with_the_fields_the_dashboard_reads() {
    let server = MockServer::start().await;
    let now = Utc::now().timestamp();
    Mock::given(path("/v1/posts"))
        .and(query_param("username_or_id_or_url", "polres_demo"))
        .respond_with(ok(json!({
            "data": {"items": [ig_image("AAA", now - 60), ig_image("BBB", now - 7200), ig_image("CCC", now - 90_000)]},
            "pagination_token": "t2", "has_more": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    let e = env(Provider::Rapid(&server, &[])).await;
    let binmas = e.login("binmas").await;
    let (s, b) = e
        .get(
            "/api/insta/rapid-posts?username=polres_demo&limit=2",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let posts = b["data"].as_array().unwrap();
    assert_eq!(posts.len(), 2, "{b}");
    assert_eq!(posts[0]["shortcode"], "AAA");
    assert_eq!(
        (
            posts[0]["like_count"].clone(),
            posts[0]["comment_count"].clone()
        ),
        (json!(120), json!(4))
    );
    assert_eq!(posts[0]["caption"], "Kegiatan AAA #polri");
    assert_eq!(posts[0]["thumbnail_url"], "https://cdn.example/AAA.jpg");
    assert_eq!(posts[0]["permalink"], "https://www.instagram.com/p/AAA/");
    assert_eq!(posts[0]["taken_at"], now - 60);
    // Cached per account and limit.
    let (s, b) = e
        .get(
            "/api/insta/rapid-posts?username=@polres_demo&limit=2",
            &binmas,
        )
        .await;
    assert_eq!((s, b["source"].as_str()), (StatusCode::OK, Some("cache")));
    server.verify().await;
    e.done().await;
}

#[tokio::test]
async fn tiktok_profile_info_and_posts_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/user/info"))
        .and(query_param("uniqueId", "polres_demo"))
        .respond_with(ok(tt_info("polres_demo")))
        .expect(1)
        .mount(&server)
        .await;
    let now = Utc::now().timestamp();
    Mock::given(path("/api/user/posts"))
        .and(query_param("uniqueId", "other.acc"))
        .and(query_param("username", "other.acc"))
        .respond_with(ok(json!({"data": {"itemList": [tt_video("7001", now - 100), tt_video("7002", now - 5000)]}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/user/posts"))
        .and(query_param("secUid", "MS4wLjABAAAAsec"))
        .respond_with(ok(
            json!({"data": {"itemList": [tt_video("7101", now - 10)]}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let e = env(Provider::Rapid(&server, &[])).await;
    let binmas = e.login("binmas").await;
    let admin = e.login("admin").await;

    // The aggregator never calls the provider: nothing cached yet, so null.
    let op = e.login("op_kediri").await;
    let (s, b) = e.get("/api/aggregator?periode=harian", &op).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["data"]["tiktokProfile"].is_null(), "{b}");

    let (s, b) = e
        .get(
            "/api/tiktok/rapid-profile?username=https%3A%2F%2Fwww.tiktok.com%2F%40Polres_Demo",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let p = &b["data"];
    assert_eq!(p["userInfo"]["user"]["uniqueId"], "polres_demo");
    assert_eq!(p["userInfo"]["user"]["signature"], "Akun resmi Polres Demo");
    assert_eq!(
        p["userInfo"]["user"]["avatarLarger"],
        "https://cdn.example/a_large.jpg"
    );
    assert_eq!(
        (
            p["userInfo"]["stats"]["followerCount"].clone(),
            p["userInfo"]["stats"]["followingCount"].clone()
        ),
        (json!(5400), json!(12))
    );
    assert_eq!(
        (p["followers"].clone(), p["following"].clone()),
        (json!(5400), json!(12))
    );

    // rapid-info: same account from the cache, with the info page's fields; by client too.
    for uri in [
        "/api/tiktok/rapid-info?username=@polres_demo",
        "/api/tiktok/rapid-info?client_id=KEDIRI",
    ] {
        let (s, b) = e.get(uri, &admin).await;
        assert_eq!(
            (s, b["source"].as_str()),
            (StatusCode::OK, Some("cache")),
            "{uri}: {b}"
        );
        let p = &b["data"];
        assert_eq!(
            (
                p["video_count"].clone(),
                p["heart_count"].clone(),
                p["follower_count"].clone(),
                p["following_count"].clone()
            ),
            (json!(310), json!(88000), json!(5400), json!(12))
        );
        assert_eq!(p["is_verified"], true);
    }
    // Now the aggregator has KEDIRI's TikTok profile (client_tiktok '@polres_demo').
    let (s, b) = e.get("/api/aggregator?periode=harian", &op).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"]["tiktokProfile"]["followers"], 5400, "{b}");
    // TikTok rapid-* are outside the operator allow-list (legacy): 403, not 401.
    let (s, _) = e
        .get("/api/tiktok/rapid-profile?username=polres_demo", &op)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The compare box: another account by username.
    let (s, b) = e
        .get(
            "/api/tiktok/rapid-posts?username=other.acc&limit=12",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let v = b["data"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["id"], "7001");
    assert_eq!(
        (
            v[0]["like_count"].clone(),
            v[0]["comment_count"].clone(),
            v[0]["share_count"].clone()
        ),
        (json!(250), json!(12), json!(3))
    );
    assert_eq!(v[0]["stats"]["playCount"], 9000);
    assert_eq!(v[0]["createTime"], now - 100);
    assert_eq!(v[0]["cover"], "https://cdn.example/7001.jpg");
    // By client: its cached secUid.
    sqlx::query("UPDATE clients SET tiktok_secuid = 'MS4wLjABAAAAsec' WHERE client_id = 'KEDIRI'")
        .execute(&e.db.pool)
        .await
        .unwrap();
    let (s, b) = e
        .get("/api/tiktok/rapid-posts?client_id=KEDIRI&limit=50", &admin)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"][0]["video_id"], "7101");
    assert_eq!(
        b["data"][0]["share_url"],
        "https://www.tiktok.com/@polres_demo/video/7101"
    );
    // Another tenant's client: 403, and no provider call.
    let (s, _) = e
        .get("/api/tiktok/rapid-posts?client_id=KEDIRI&limit=50", &binmas)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    server.verify().await;
    e.done().await;
}

#[tokio::test]
async fn bad_usernames_are_400_without_a_provider_call() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let e = env(Provider::Rapid(&server, &[])).await;
    let binmas = e.login("binmas").await;
    for (uri, needle) in [
        ("/api/insta/rapid-profile", "username wajib diisi"),
        (
            "/api/insta/rapid-profile?username=https%3A%2F%2Fwww.instagram.com%2Fp%2FABC%2F",
            "Instagram",
        ),
        (
            "/api/insta/rapid-posts?username=budi%20santoso",
            "Instagram",
        ),
        (
            "/api/tiktok/rapid-profile?username=bad%20name",
            "Format username TikTok tidak valid",
        ),
        (
            "/api/tiktok/rapid-info?username=aaaaaaaaaaaaaaaaaaaaaaaaa",
            "Format username TikTok",
        ),
        (
            "/api/tiktok/rapid-posts?username=https%3A%2F%2Fwww.tiktok.com%2F%40x%2Fvideo%2F1",
            "Format username TikTok",
        ),
    ] {
        let (s, b) = e.get(uri, &binmas).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {b}");
        assert_eq!(b["success"], false);
        assert!(
            b["message"].as_str().unwrap().contains(needle),
            "{uri}: {b}"
        );
    }
    server.verify().await;
    e.done().await;
}

#[tokio::test]
async fn provider_failures_are_gateway_errors_with_a_message() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/info"))
        .and(query_param("username_or_id_or_url", "down_acc"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .mount(&server)
        .await;
    Mock::given(path("/v1/posts"))
        .and(query_param("username_or_id_or_url", "down_acc"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .mount(&server)
        .await;
    Mock::given(path("/v1/info"))
        .and(query_param("username_or_id_or_url", "odd_acc"))
        .respond_with(ok(json!({"data": ["not", "a", "profile"]})))
        .mount(&server)
        .await;
    Mock::given(path("/v1/info"))
        .and(query_param("username_or_id_or_url", "gone_acc"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "user not found"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/user/info"))
        .respond_with(ok(tt_info("slow_acc")).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let e = env(Provider::Rapid(&server, &[("RAPIDAPI_TIMEOUT_MS", "300")])).await;
    let binmas = e.login("binmas").await;
    for (uri, status, needle) in [
        (
            "/api/insta/rapid-profile?username=down_acc",
            StatusCode::BAD_GATEWAY,
            "tidak dapat dihubungi",
        ),
        (
            "/api/insta/rapid-profile?username=odd_acc",
            StatusCode::BAD_GATEWAY,
            "tidak dikenali",
        ),
        (
            "/api/insta/rapid-profile?username=gone_acc",
            StatusCode::NOT_FOUND,
            "tidak ditemukan",
        ),
        (
            "/api/tiktok/rapid-profile?username=slow_acc",
            StatusCode::BAD_GATEWAY,
            "timeout",
        ),
        (
            "/api/insta/rapid-posts?username=down_acc",
            StatusCode::BAD_GATEWAY,
            "RapidAPI) tidak dapat dihubungi",
        ),
    ] {
        let (s, b) = e.get(uri, &binmas).await;
        assert_eq!(s, status, "{uri}: {b}");
        assert_eq!(b["success"], false);
        let m = b["message"].as_str().unwrap();
        assert!(m.contains(needle), "{uri}: {m}");
        // The caller learns the kind of failure, never the provider's answer or address.
        let host = server.address().to_string();
        for secret in [
            "upstream exploded",
            "user not found",
            "not\"",
            host.as_str(),
            "v1/",
            "api/user",
            KEY,
        ] {
            assert!(!m.contains(secret), "{uri}: {m} names {secret:?}");
        }
    }
    // Nothing half-stored, and nothing cached.
    assert_eq!(e.count("SELECT count(*) FROM insta_profile").await, 0);
    e.done().await;

    // The shared limiter's own store failing: 502 naming only that, not the database error
    // or the `rapidapi:<fingerprint>` key; the provider is not asked.
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ok(ig_info("acc_one", 10)))
        .expect(0)
        .mount(&server)
        .await;
    let e = env(Provider::Rapid(
        &server,
        &[("RATE_LIMITS", "rapidapi:*=100/60s")],
    ))
    .await;
    sqlx::query(
        "ALTER FUNCTION cicero.rate_acquire(text, integer, integer) RENAME TO rate_acquire_gone",
    )
    .execute(&e.db.pool)
    .await
    .unwrap();
    let binmas = e.login("binmas").await;
    let (s, b) = e
        .get("/api/insta/rapid-profile?username=acc_one", &binmas)
        .await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{b}");
    let m = b["message"].as_str().unwrap();
    assert!(m.contains("batas panggilan"), "{m}");
    for secret in [
        "rapidapi:",
        "rate_acquire",
        "function",
        "cicero rate limiter",
    ] {
        assert!(!m.contains(secret), "{m} names {secret:?}");
    }
    server.verify().await;
    e.done().await;
}

#[tokio::test]
async fn instagram_profile_is_answered_when_storing_it_fails() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/info"))
        .respond_with(ok(ig_info("polres.demo", 15230)))
        .expect(1)
        .mount(&server)
        .await;
    let e = env(Provider::Rapid(&server, &[])).await;
    // The provider answers, then the database refuses the upsert.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
           $$BEGIN RAISE EXCEPTION 'insta_profile is read-only'; END$$; \
         CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON insta_profile \
           FOR EACH ROW EXECUTE FUNCTION refuse();",
    )
    .execute(&e.db.pool)
    .await
    .unwrap();
    let binmas = e.login("binmas").await;
    let (s, b) = e
        .get("/api/insta/rapid-profile?username=polres.demo", &binmas)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["source"].as_str(),
            b["data"]["username"].as_str(),
            b["data"]["followers"].as_i64()
        ),
        (Some("live"), Some("polres.demo"), Some(15230))
    );
    assert_eq!(e.count("SELECT count(*) FROM insta_profile").await, 0);
    server.verify().await;
    e.done().await;
}

#[tokio::test]
async fn stored_instagram_posts_have_the_live_fields() {
    let e = env(Provider::None).await;
    sqlx::raw_sql(
        "INSERT INTO insta_post (shortcode, client_id, caption, is_video, is_carousel, images_url, created_at) \
         VALUES ('VID1', 'KEDIRI', 'video', true, false, NULL, now() - interval '2 hours'), \
                ('CAR1', 'KEDIRI', 'carousel', false, true, '[\"https://cdn.example/c1.jpg\"]', now() - interval '3 hours');",
    )
    .execute(&e.db.pool)
    .await
    .unwrap();
    let binmas = e.login("binmas").await;
    let (s, b) = e
        .get("/api/insta/rapid-posts?username=polres_demo", &binmas)
        .await;
    assert_eq!(
        (s, b["source"].as_str()),
        (StatusCode::OK, Some("stored")),
        "{b}"
    );
    let posts = b["data"].as_array().unwrap();
    let by = |code: &str| {
        posts
            .iter()
            .find(|p| p["shortcode"] == code)
            .unwrap_or_else(|| panic!("{code} in {b}"))
    };
    for (code, kind) in [("P1", 1), ("VID1", 2), ("CAR1", 8)] {
        let p = by(code);
        assert_eq!(
            (
                p["share_count"].clone(),
                p["view_count"].clone(),
                p["type"].clone(),
                p["media_type"].clone()
            ),
            (json!(0), json!(0), json!(kind), json!(kind)),
            "{p}"
        );
        assert!(p["taken_at"].is_i64(), "{p}");
    }
    assert_eq!(
        by("CAR1")["images_url"],
        json!(["https://cdn.example/c1.jpg"])
    );
    assert_eq!(by("CAR1")["is_carousel"], true);
    e.done().await;
}

#[tokio::test]
async fn provider_429_and_the_shared_rate_limit_answer_429_with_retry_after() {
    // The provider's 429: passed on with its Retry-After, and recorded on the shared key so
    // the next call (another account) is held back without reaching the provider.
    let server = MockServer::start().await;
    Mock::given(path("/v1/info"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "120")
                .set_body_json(json!({"message": "Too many requests"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = env(Provider::Rapid(&server, &[])).await;
    let binmas = e.login("binmas").await;
    let (s, h, b) = e
        .call(
            "GET",
            "/api/insta/rapid-profile?username=acc_one",
            Some(&binmas),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(h["retry-after"], "120");
    assert!(b["message"].as_str().unwrap().contains("429"), "{b}");
    let blocked: i64 = e
        .count("SELECT count(*) FROM cicero.rate_blocks WHERE key LIKE 'rapidapi:%' AND blocked_until > now() + interval '60 seconds'")
        .await;
    assert_eq!(blocked, 1);
    let (s, h, b) = e
        .call(
            "GET",
            "/api/insta/rapid-profile?username=acc_two",
            Some(&binmas),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    let after: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((60..=121).contains(&after), "{after}");
    server.verify().await;
    e.done().await;

    // The configured limit (RATE_LIMITS) is shared with the ingest jobs: one grant per hour
    // here, so the second live call is refused before reaching the provider.
    let server = MockServer::start().await;
    Mock::given(path("/v1/info"))
        .respond_with(ok(ig_info("acc_one", 10)))
        .expect(1)
        .mount(&server)
        .await;
    let e = env(Provider::Rapid(
        &server,
        &[("RATE_LIMITS", "rapidapi:*=1/3600s")],
    ))
    .await;
    let binmas = e.login("binmas").await;
    let (s, b) = e
        .get("/api/insta/rapid-profile?username=acc_one", &binmas)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, h, b) = e
        .call(
            "GET",
            "/api/insta/rapid-profile?username=acc_two",
            Some(&binmas),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert!(h.contains_key("retry-after"));
    assert!(
        b["message"].as_str().unwrap().contains("Batas bersama"),
        "{b}"
    );
    server.verify().await;
    e.done().await;
}

fn khusus(user_id: &str, client_id: &str, link: &str) -> Value {
    json!({"shortcode": "", "post_id": "", "user_id": user_id, "client_id": client_id,
           "instagram_link": link, "facebook_link": "", "twitter_link": "", "tiktok_link": "",
           "youtube_link": ""})
}

#[tokio::test]
async fn special_assignment_reports_fetch_the_post_and_keep_today_only() {
    let server = MockServer::start().await;
    let now = Utc::now().timestamp();
    Mock::given(path("/v1/post_info"))
        .and(query_param("code_or_id_or_url", "KHUSUS1"))
        .respond_with(ok(json!({"data": ig_image("KHUSUS1", now)})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/post_info"))
        .and(query_param("code_or_id_or_url", "KHUSUS2"))
        .respond_with(ok(json!({"data": ig_image("KHUSUS2", now)})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/post_info"))
        .and(query_param("code_or_id_or_url", "OLD1"))
        .respond_with(ok(json!({"data": ig_image("OLD1", now - 3 * 86_400)})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/post_info"))
        .and(query_param("code_or_id_or_url", "THEIRS"))
        .respond_with(ok(json!({"data": ig_image("THEIRS", now)})))
        .expect(0)
        .mount(&server)
        .await;
    let e = env(Provider::Rapid(&server, &[])).await;
    let budi = e.person("75020001", "628123456789").await;
    let joko = e.person("75020009", "0855-5000-111").await;
    let op = e.login("op_kediri").await;
    let op_blitar = e.login("op_blitar").await;

    // The reposter's report: the post is fetched, stored as khusus and official, the report kept.
    let (s, _, b) = e
        .call(
            "POST",
            "/api/link-reports-khusus",
            Some(&budi),
            Some(khusus(
                "75020001",
                "kediri",
                "lihat https://www.instagram.com/p/KHUSUS1/?igsh=x ya",
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["shortcode"], "KHUSUS1");
    assert_eq!(b["data"]["user_id"], "75020001");
    assert_eq!(
        b["data"]["instagram_link"],
        "https://www.instagram.com/p/KHUSUS1/?igsh=x"
    );
    assert!(b["data"]["facebook_link"].is_null());
    let post: (String, String, i32) = sqlx::query_as(
        "SELECT client_id, caption, comment_count FROM insta_post_khusus WHERE shortcode = 'KHUSUS1'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(post, ("KEDIRI".into(), "Kegiatan KHUSUS1 #polri".into(), 4));
    assert_eq!(
        e.count("SELECT count(*) FROM insta_post WHERE shortcode = 'KHUSUS1' AND client_id = 'KEDIRI' AND like_count = 120").await,
        1
    );
    assert_eq!(
        e.count(&format!(
            "SELECT count(*) FROM link_report_khusus WHERE shortcode = 'KHUSUS1' AND user_id = '75020001' \
             AND created_at = to_timestamp({now})"
        ))
        .await,
        1,
        "the report's created_at is the post's"
    );
    let (s, b) = e
        .get("/api/insta/posts-khusus?client_id=KEDIRI", &budi)
        .await;
    assert_eq!(
        (s, b["data"][0]["shortcode"].as_str()),
        (StatusCode::OK, Some("KHUSUS1"))
    );

    // The same post again by the same person: the legacy message, no second provider call.
    let (s, _, b) = e
        .call(
            "POST",
            "/api/link-reports-khusus",
            Some(&budi),
            Some(khusus(
                "75020001",
                "KEDIRI",
                "https://www.instagram.com/reel/KHUSUS1/",
            )),
        )
        .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("anda mengirimkan link duplikasi")
        )
    );

    // A dashboard operator reports for a person of its client (reel link).
    let (s, _, b) = e
        .call(
            "POST",
            "/api/link-reports-khusus",
            Some(&op),
            Some(khusus(
                "75020002",
                "KEDIRI",
                "https://instagram.com/reel/KHUSUS2",
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    // A post that is not from today (Jakarta) is refused and nothing is stored.
    let (s, _, b) = e
        .call(
            "POST",
            "/api/link-reports-khusus",
            Some(&budi),
            Some(khusus(
                "75020001",
                "KEDIRI",
                "https://www.instagram.com/p/OLD1/",
            )),
        )
        .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("shortcode not found or not from today")
        )
    );
    assert_eq!(
        e.count("SELECT (SELECT count(*) FROM insta_post_khusus WHERE shortcode = 'OLD1') + (SELECT count(*) FROM insta_post WHERE shortcode = 'OLD1')").await,
        0
    );

    // Other platforms' links and bad input (legacy messages).
    let mut with_fb = khusus("75020001", "KEDIRI", "https://www.instagram.com/p/X1/");
    with_fb["facebook_link"] = json!("https://facebook.com/x");
    let mut no_client = khusus("75020001", "", "https://www.instagram.com/p/X1/");
    no_client.as_object_mut().unwrap().remove("client_id");
    for (body, message) in [
        (
            khusus(
                "75020001",
                "KEDIRI",
                "https://www.tiktok.com/@polres/video/1",
            ),
            "instagram_link must be a valid Instagram post URL",
        ),
        (
            khusus(
                "75020001",
                "KEDIRI",
                "https://www.instagram.com/polres_demo/",
            ),
            "instagram_link must be a valid Instagram post URL",
        ),
        (
            with_fb,
            "Only instagram_link is allowed for special assignment uploads",
        ),
        (
            khusus("75020001", "KEDIRI", ""),
            "instagram_link is required",
        ),
        (no_client, "client_id is required"),
    ] {
        let (s, _, b) = e
            .call("POST", "/api/link-reports-khusus", Some(&budi), Some(body))
            .await;
        assert_eq!(
            (s, b["message"].as_str()),
            (StatusCode::BAD_REQUEST, Some(message)),
            "{b}"
        );
    }

    // Tenant isolation: another client's person or operator gets 403 and the provider is not asked.
    for (token, body) in [
        (
            &joko,
            khusus("75020009", "KEDIRI", "https://www.instagram.com/p/THEIRS/"),
        ),
        (
            &joko,
            khusus("75020001", "BLITAR", "https://www.instagram.com/p/THEIRS/"),
        ),
        (
            &op_blitar,
            khusus("75020001", "KEDIRI", "https://www.instagram.com/p/THEIRS/"),
        ),
        (
            &op_blitar,
            khusus("75020001", "BLITAR", "https://www.instagram.com/p/THEIRS/"),
        ),
    ] {
        let (s, _, b) = e
            .call("POST", "/api/link-reports-khusus", Some(token), Some(body))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    }
    // A bad token is the only 401 (the dashboard then goes to the reposter login).
    let (s, _, b) = e
        .call(
            "POST",
            "/api/link-reports-khusus",
            Some("garbage"),
            Some(khusus(
                "75020001",
                "KEDIRI",
                "https://www.instagram.com/p/THEIRS/",
            )),
        )
        .await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    server.verify().await;
    e.done().await;
}

#[tokio::test]
async fn special_assignment_reports_never_take_another_clients_post() {
    let server = MockServer::start().await;
    let now = Utc::now().timestamp();
    Mock::given(path("/v1/post_info"))
        .and(query_param("code_or_id_or_url", "OFFICIAL1"))
        .respond_with(ok(json!({"data": ig_image("OFFICIAL1", now)})))
        .expect(1)
        .mount(&server)
        .await;
    // Already KEDIRI's special assignment: refused before the provider is asked.
    Mock::given(path("/v1/post_info"))
        .and(query_param("code_or_id_or_url", "KOWNED1"))
        .respond_with(ok(json!({"data": ig_image("KOWNED1", now)})))
        .expect(0)
        .mount(&server)
        .await;
    let e = env(Provider::Rapid(&server, &[])).await;
    // KEDIRI's official post of today with its likes and Budi's report, and KEDIRI's own
    // special assignment with Budi's report.
    sqlx::raw_sql(
        "INSERT INTO insta_post (shortcode, client_id, caption, like_count, created_at) \
           VALUES ('OFFICIAL1', 'KEDIRI', 'resmi kediri', 7, now()); \
         INSERT INTO insta_like (shortcode, likes) VALUES ('OFFICIAL1', '[\"budi_ig\"]'); \
         INSERT INTO link_report (shortcode, user_id, instagram_link, created_at) \
           SELECT 'OFFICIAL1', '75020001', 'https://www.instagram.com/p/OFFICIAL1/', now(); \
         INSERT INTO insta_post_khusus (shortcode, client_id, caption, created_at) \
           VALUES ('KOWNED1', 'KEDIRI', 'khusus kediri', now()); \
         INSERT INTO link_report_khusus (shortcode, user_id, instagram_link, created_at) \
           SELECT 'KOWNED1', '75020001', 'https://www.instagram.com/p/KOWNED1/', now();",
    )
    .execute(&e.db.pool)
    .await
    .unwrap();
    let joko = e.person("75020009", "0855-5000-111").await;

    // A BLITAR person reports KEDIRI's official post as BLITAR's special assignment: the
    // report is stored, the official post stays KEDIRI's, untouched, with its likes and reports.
    let (s, _, b) = e
        .call(
            "POST",
            "/api/link-reports-khusus",
            Some(&joko),
            Some(khusus(
                "75020009",
                "BLITAR",
                "https://www.instagram.com/p/OFFICIAL1/",
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let official: (String, String, i32) = sqlx::query_as(
        "SELECT client_id, caption, like_count FROM insta_post WHERE shortcode = 'OFFICIAL1'",
    )
    .fetch_one(&e.db.pool)
    .await
    .unwrap();
    assert_eq!(official, ("KEDIRI".into(), "resmi kediri".into(), 7));
    assert_eq!(
        e.count("SELECT count(*) FROM link_report WHERE shortcode = 'OFFICIAL1' AND user_id = '75020001'")
            .await,
        1
    );
    assert_eq!(
        e.count("SELECT count(*) FROM insta_like WHERE shortcode = 'OFFICIAL1'")
            .await,
        1
    );
    assert_eq!(
        e.count("SELECT count(*) FROM insta_post_khusus WHERE shortcode = 'OFFICIAL1' AND client_id = 'BLITAR'")
            .await,
        1,
        "BLITAR's special assignment"
    );
    let admin = e.login("admin").await;
    let (s, b) = e.get("/api/insta/posts?client_id=KEDIRI", &admin).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["shortcode"] == "OFFICIAL1"),
        "still in KEDIRI's posts: {b}"
    );

    // KEDIRI's special assignment reported for BLITAR: 409, and nothing moves.
    let (s, _, b) = e
        .call(
            "POST",
            "/api/link-reports-khusus",
            Some(&joko),
            Some(khusus(
                "75020009",
                "BLITAR",
                "https://www.instagram.com/p/KOWNED1/",
            )),
        )
        .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("Konten ini sudah terdaftar sebagai tugas khusus client lain")
        )
    );
    assert_eq!(
        e.count("SELECT count(*) FROM insta_post_khusus WHERE shortcode = 'KOWNED1' AND client_id = 'KEDIRI'")
            .await,
        1
    );
    assert_eq!(
        e.count("SELECT count(*) FROM link_report_khusus WHERE shortcode = 'KOWNED1'")
            .await,
        1
    );
    assert_eq!(
        e.count("SELECT count(*) FROM insta_post WHERE shortcode = 'KOWNED1'")
            .await,
        0
    );
    server.verify().await;
    e.done().await;
}

#[tokio::test]
async fn reports_of_people_with_a_legacy_client_id_case_are_in_reach() {
    let e = env(Provider::None).await;
    // A legacy database: a person's client id in another case than the client's (rows from
    // before the foreign key).
    sqlx::raw_sql(
        "ALTER TABLE \"user\" DROP CONSTRAINT user_client_id_fkey; \
         UPDATE \"user\" SET client_id = 'kediri' WHERE user_id = '75020002'; \
         INSERT INTO insta_post_khusus (shortcode, client_id, caption, created_at) \
           VALUES ('K2', 'KEDIRI', 'khusus', now()); \
         INSERT INTO link_report_khusus (shortcode, user_id, instagram_link, created_at) \
           VALUES ('K2', '75020002', 'https://www.instagram.com/p/K2/', now()); \
         INSERT INTO link_report (shortcode, user_id, instagram_link, created_at) \
           VALUES ('P1', '75020002', 'https://www.instagram.com/p/P1/', now());",
    )
    .execute(&e.db.pool)
    .await
    .unwrap();
    // A KEDIRI account that is not an operator (operators may not read these routes).
    let hash = bcrypt::hash_with_result(PASSWORD, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoA);
    sqlx::query(
        "WITH u AS (INSERT INTO dashboard_user (username, password_hash, role_id, status) \
           SELECT 'lantas_kediri', $1, role_id, true FROM roles WHERE role_name = 'ditlantas' \
           RETURNING dashboard_user_id) \
         INSERT INTO dashboard_user_clients SELECT dashboard_user_id, 'KEDIRI' FROM u",
    )
    .bind(&hash)
    .execute(&e.db.pool)
    .await
    .unwrap();
    let lantas = e.login("lantas_kediri").await;
    let (s, b) = e.get("/api/link-reports-khusus/K2", &lantas).await;
    assert_eq!(
        (s, b["data"]["user_id"].as_str()),
        (StatusCode::OK, Some("75020002")),
        "{b}"
    );
    let (s, b) = e
        .get("/api/link-reports-khusus?shortcode=K2", &lantas)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["pagination"]["total"], 1, "{b}");
    let (s, b) = e.get("/api/link-reports?shortcode=P1", &lantas).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["pagination"]["total"], 2, "{b}");
    e.done().await;
}

#[tokio::test]
async fn link_reports_by_shortcode_get_put_delete() {
    let e = env(Provider::None).await;
    sqlx::raw_sql(
        "INSERT INTO insta_post_khusus (shortcode, client_id, caption, image_url, created_at) \
           VALUES ('K1', 'KEDIRI', 'khusus', 'https://cdn.example/K1.jpg', now()); \
         INSERT INTO link_report_khusus (shortcode, user_id, instagram_link, created_at) \
           SELECT 'K1', '75020001', 'https://www.instagram.com/p/K1/', created_at FROM insta_post_khusus;",
    )
    .execute(&e.db.pool)
    .await
    .unwrap();
    let budi = e.person("75020001", "628123456789").await;
    let joko = e.person("75020009", "0855-5000-111").await;
    let op = e.login("op_kediri").await;
    let admin = e.login("admin").await;
    let op_blitar = e.login("op_blitar").await;

    // GET one report.
    let (s, b) = e.get("/api/link-reports/P1?user_id=75020001", &budi).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["data"]["instagram_link"].as_str(),
            b["data"]["caption"].as_str()
        ),
        (Some("https://instagram.com/p/x"), Some("resmi"))
    );
    let (s, b) = e.get("/api/link-reports-khusus/K1", &budi).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["image_url"], "https://cdn.example/K1.jpg");
    assert_eq!(b["data"]["post_id"], "K1");
    let (s, b) = e.get("/api/link-reports-khusus/K1", &admin).await;
    assert_eq!(
        (s, b["data"]["user_id"].as_str()),
        (StatusCode::OK, Some("75020001"))
    );
    for (uri, token, status) in [
        (
            "/api/link-reports/P1?user_id=75020001",
            &joko,
            StatusCode::FORBIDDEN,
        ),
        ("/api/link-reports/P1", &joko, StatusCode::NOT_FOUND),
        (
            "/api/link-reports-khusus/K1?user_id=75020001",
            &op_blitar,
            StatusCode::FORBIDDEN,
        ),
        ("/api/link-reports/P1", &op, StatusCode::FORBIDDEN), // operator allow-list
        (
            "/api/link-reports/NOPE?user_id=75020001",
            &budi,
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (s, b) = e.get(uri, token).await;
        assert_eq!(s, status, "{uri}: {b}");
    }

    // PUT: the IG link of the same post only.
    let put = |link: &str| json!({"user_id": "75020001", "instagram_link": link});
    let (s, _, b) = e
        .call(
            "PUT",
            "/api/link-reports-khusus/K1",
            Some(&budi),
            Some(put("baru https://www.instagram.com/reel/K1/?igsh=2")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b["data"]["instagram_link"],
        "https://www.instagram.com/reel/K1/?igsh=2"
    );
    let mut fb = put("https://www.instagram.com/p/K1/");
    fb["facebook_link"] = json!("https://facebook.com/x");
    for (body, status) in [
        (fb, StatusCode::BAD_REQUEST),
        (
            put("https://www.instagram.com/p/OTHER/"),
            StatusCode::BAD_REQUEST,
        ),
        (
            put("https://www.tiktok.com/@x/video/1"),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"user_id": "75020001"}), StatusCode::BAD_REQUEST),
    ] {
        let (s, _, b) = e
            .call(
                "PUT",
                "/api/link-reports-khusus/K1",
                Some(&budi),
                Some(body),
            )
            .await;
        assert_eq!(s, status, "{b}");
    }
    // Operators may PUT (legacy allow-list); another client's operator may not.
    let (s, _, b) = e
        .call(
            "PUT",
            "/api/link-reports-khusus/K1",
            Some(&op),
            Some(put("https://www.instagram.com/p/K1/")),
        )
        .await;
    assert_eq!(
        (s, b["data"]["instagram_link"].as_str()),
        (StatusCode::OK, Some("https://www.instagram.com/p/K1/"))
    );
    let (s, _, _) = e
        .call(
            "PUT",
            "/api/link-reports-khusus/K1",
            Some(&op_blitar),
            Some(put("https://www.instagram.com/p/K1/")),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = e
        .call(
            "PUT",
            "/api/link-reports-khusus/K9",
            Some(&budi),
            Some(
                json!({"user_id": "75020001", "instagram_link": "https://www.instagram.com/p/K9/"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // DELETE: operators may not (legacy allow-list); the person may, once.
    let (s, _, _) = e
        .call(
            "DELETE",
            "/api/link-reports-khusus/K1?user_id=75020001",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = e
        .call(
            "DELETE",
            "/api/link-reports-khusus/K1?user_id=75020001",
            Some(&joko),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, b) = e
        .call(
            "DELETE",
            "/api/link-reports-khusus/K1?user_id=75020001",
            Some(&budi),
            None,
        )
        .await;
    assert_eq!(
        (s, b["data"]["shortcode"].as_str()),
        (StatusCode::OK, Some("K1")),
        "{b}"
    );
    let (s, _) = e.get("/api/link-reports-khusus/K1", &budi).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        e.count("SELECT count(*) FROM link_report WHERE shortcode = 'P1'")
            .await,
        1
    );

    // Without a provider, a special-assignment POST cannot fetch the post: 503, not 500.
    let (s, _, b) = e
        .call(
            "POST",
            "/api/link-reports-khusus",
            Some(&budi),
            Some(khusus(
                "75020001",
                "KEDIRI",
                "https://www.instagram.com/p/NEW1/",
            )),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    e.done().await;
}

#[tokio::test]
async fn demo_provider_answers_offline_and_a_missing_key_is_503() {
    let e = env(Provider::Settings(&[("PROVIDER", "demo")])).await;
    let binmas = e.login("binmas").await;
    let budi = e.person("75020001", "628123456789").await;
    let (s, b) = e
        .get("/api/insta/rapid-profile?username=polres_demo", &binmas)
        .await;
    assert_eq!(
        (s, b["source"].as_str()),
        (StatusCode::OK, Some("live")),
        "{b}"
    );
    assert!(b["data"]["followers"].as_i64().unwrap() >= 1000);
    let (s, b) = e
        .get("/api/tiktok/rapid-profile?username=polres_demo", &binmas)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["userInfo"]["user"]["uniqueId"], "polres_demo");
    assert!(b["data"]["followers"].as_i64().unwrap() >= 2000);
    let (s, b) = e
        .get(
            "/api/tiktok/rapid-posts?username=polres_demo&limit=3",
            &binmas,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["data"].as_array().unwrap().len() <= 3);
    let (s, _, b) = e
        .call(
            "POST",
            "/api/link-reports-khusus",
            Some(&budi),
            Some(khusus(
                "75020001",
                "KEDIRI",
                "https://www.instagram.com/p/DEMO1/",
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    e.done().await;

    // PROVIDER=rapidapi without RAPIDAPI_KEY: stored data is still served, live calls are 503.
    let e = env(Provider::Settings(&[("PROVIDER", "rapidapi")])).await;
    let binmas = e.login("binmas").await;
    let (s, b) = e
        .get("/api/tiktok/rapid-profile?username=polres_demo", &binmas)
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("RAPIDAPI_KEY"),
        "{b}"
    );
    sqlx::query("INSERT INTO insta_profile (username, follower_count, updated_at) VALUES ('polres_demo', 77, now() - interval '1 day')")
        .execute(&e.db.pool)
        .await
        .unwrap();
    let (s, b) = e
        .get("/api/insta/rapid-profile?username=polres_demo", &binmas)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["data"]["followers"].clone(), b["stale"].clone()),
        (json!(77), json!(true))
    );
    e.done().await;
}

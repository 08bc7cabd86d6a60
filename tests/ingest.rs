//! Social ingestion jobs against a real PostgreSQL and local servers speaking RapidAPI's wire
//! format (`social-api4` / `tiktok-api23` shapes, as in tests/providers.rs).
mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use tokio_util::sync::CancellationToken;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param},
};

use cicero::{
    ingest::{Platform, RapidApiSource, rules},
    platform::worker,
    work::{JobError, fetch_posts, refresh_engagement, sweep_social},
};
use common::TestDb;

const KEY: &str = "test-rapidapi-key-0001";

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// 2026-03-02 10:05 WIB; its Jakarta day starts at 2026-03-01T17:00Z.
const NOW: &str = "2026-03-02T03:05:00Z";
/// 23:59 WIB of the day before, and 00:01 WIB of the day itself.
const LATE_YESTERDAY: &str = "2026-03-01T16:59:00Z";
const EARLY_TODAY: &str = "2026-03-01T17:01:00Z";
const MORNING: &str = "2026-03-02T01:00:00Z"; // 08:00 WIB

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn ig_post(code: &str, at: &str) -> Value {
    json!({
        "id": format!("33{code}_99"), "code": code, "taken_at": utc(at).timestamp(),
        "media_type": 1, "is_video": false, "caption": {"text": format!("Kegiatan {code}")},
        "like_count": 10, "comment_count": 2,
        "image_versions": {"items": [{"url": format!("https://cdn.example/{code}.jpg")}]}
    })
}

fn tt_video(id: &str, at: &str) -> Value {
    json!({"id": id, "desc": format!("Video {id}"), "createTime": utc(at).timestamp(),
           "stats": {"diggCount": 7, "commentCount": 3}})
}

fn settings(db: &TestDb, server: &MockServer, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("RAPIDAPI_KEY".into(), KEY.into()),
        ("RAPIDAPI_INSTAGRAM_URL".into(), server.uri()),
        ("RAPIDAPI_TIKTOK_URL".into(), server.uri()),
        ("TIKTOK_COMMENT_PAGE_DELAY_MS".into(), "0".into()),
        ("RAPIDAPI_TIMEOUT_MS".into(), "5000".into()),
    ];
    v.extend(extra.iter().map(|(k, x)| (k.to_string(), x.to_string())));
    let _ = db;
    v
}

fn source(db: &TestDb, server: &MockServer) -> RapidApiSource {
    let pairs = settings(db, server, &[]);
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    RapidApiSource::from_settings(&db.settings(&refs), Some(db.pool.clone())).expect("source")
}

async fn client(db: &TestDb, id: &str, insta: Option<&str>, tiktok: Option<&str>) {
    sqlx::query(
        "INSERT INTO clients (client_id, nama, client_type, client_status, client_insta, client_tiktok)
         VALUES ($1, $1, 'org', true, $2, $3)",
    )
    .bind(id)
    .bind(insta)
    .bind(tiktok)
    .execute(&db.pool)
    .await
    .expect("client");
}

async fn insta_rows(db: &TestDb) -> Vec<(String, DateTime<Utc>, Option<i32>)> {
    sqlx::query("SELECT shortcode, created_at, like_count FROM insta_post ORDER BY created_at")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn instagram_fetch_keeps_the_jakarta_day_and_is_idempotent() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    client(&db, "POLRES_A", Some("@Polres.A"), None).await;
    Mock::given(method("GET"))
        .and(path("/v1/posts"))
        .and(query_param("username_or_id_or_url", "Polres.A"))
        .respond_with(ok(json!({
            "data": {"items": [ig_post("MORN", MORNING), ig_post("EARLY", EARLY_TODAY), ig_post("LATE", LATE_YESTERDAY)]},
            "has_more": false
        })))
        .mount(&server)
        .await;
    let src = source(&db, &server);
    let r = fetch_posts::fetch(&db.pool, &src, "POLRES_A", Platform::Instagram, utc(NOW))
        .await
        .expect("fetch");
    assert_eq!(
        (r["fetched"].as_u64(), r["today"].as_u64()),
        (Some(3), Some(2)),
        "{r}"
    );
    assert_eq!(
        (
            r["new"].as_u64(),
            r["updated"].as_u64(),
            r["removed"].as_u64()
        ),
        (Some(2), Some(0), Some(0))
    );
    let rows = insta_rows(&db).await;
    assert_eq!(
        rows,
        vec![
            ("EARLY".to_string(), utc(EARLY_TODAY), Some(10)),
            ("MORN".to_string(), utc(MORNING), Some(10)),
        ],
        "23:59 WIB of the day before is not today; 00:01 WIB is"
    );
    let (images, caption): (Value, String) =
        sqlx::query_as("SELECT images_url, caption FROM insta_post WHERE shortcode = 'MORN'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(images, json!(["https://cdn.example/MORN.jpg"]));
    assert_eq!(caption, "Kegiatan MORN");

    // The same fetch again changes nothing but the counts' kind.
    let again = fetch_posts::fetch(&db.pool, &src, "POLRES_A", Platform::Instagram, utc(NOW))
        .await
        .expect("refetch");
    assert_eq!(
        (
            again["new"].as_u64(),
            again["updated"].as_u64(),
            again["removed"].as_u64()
        ),
        (Some(0), Some(2), Some(0))
    );
    assert_eq!(insta_rows(&db).await, rows);

    // Seen half a minute before midnight WIB, "today" is still the day before: only the
    // 23:59 post belongs to it.
    let r = fetch_posts::fetch(
        &db.pool,
        &src,
        "POLRES_A",
        Platform::Instagram,
        utc("2026-03-01T16:59:30Z"),
    )
    .await
    .expect("fetch before midnight");
    assert_eq!(
        (r["date"].clone(), r["ids"].clone()),
        (json!("2026-03-01"), json!(["LATE"])),
        "{r}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn removal_happens_only_after_a_successful_fetch_with_posts_of_today() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    client(&db, "POLRES_A", Some("polres.a"), None).await;
    let src = source(&db, &server);
    let posts = |items: Vec<Value>| ok(json!({"data": {"items": items}, "has_more": false}));
    let fetch = || fetch_posts::fetch(&db.pool, &src, "POLRES_A", Platform::Instagram, utc(NOW));

    Mock::given(path("/v1/posts"))
        .respond_with(posts(vec![
            ig_post("KEEP", MORNING),
            ig_post("GONE", EARLY_TODAY),
        ]))
        .mount(&server)
        .await;
    fetch().await.expect("first fetch");
    sqlx::query("INSERT INTO insta_like (shortcode, likes) VALUES ('GONE', '[\"budi\"]')")
        .execute(&db.pool)
        .await
        .unwrap();

    // A failing fetch removes nothing.
    server.reset().await;
    Mock::given(path("/v1/posts"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .mount(&server)
        .await;
    let err = fetch().await.expect_err("502");
    assert!(matches!(err, JobError::Retryable(_)), "{err:?}");
    assert_eq!(insta_rows(&db).await.len(), 2);

    // A successful answer without any post of today removes nothing either (legacy rule).
    server.reset().await;
    Mock::given(path("/v1/posts"))
        .respond_with(posts(vec![ig_post("OLD", LATE_YESTERDAY)]))
        .mount(&server)
        .await;
    let r = fetch().await.expect("fetch without today");
    assert_eq!(r["removed"], json!(0));
    assert_eq!(insta_rows(&db).await.len(), 2);

    // A successful fetch of today's posts removes the one that disappeared, with its likes.
    server.reset().await;
    Mock::given(path("/v1/posts"))
        .respond_with(posts(vec![ig_post("KEEP", MORNING)]))
        .mount(&server)
        .await;
    let r = fetch().await.expect("fetch");
    assert_eq!(
        (r["removed"].as_u64(), r["removed_ids"].clone()),
        (Some(1), json!(["GONE"]))
    );
    let left: Vec<String> = insta_rows(&db).await.into_iter().map(|r| r.0).collect();
    assert_eq!(left, vec!["KEEP"]);
    assert_eq!(db.count("SELECT count(*) FROM insta_like").await, 0);
    db.drop_db().await;
}

#[tokio::test]
async fn tiktok_fetch_caches_the_sec_uid_and_keeps_the_jakarta_day() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    client(&db, "POLRES_T", None, Some("@polres.t")).await;
    Mock::given(path("/api/user/info"))
        .and(query_param("uniqueId", "polres.t"))
        .respond_with(ok(
            json!({"userInfo": {"user": {"uniqueId": "polres.t", "secUid": "SEC-T"}, "stats": {}}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/user/posts"))
        .and(query_param("secUid", "SEC-T"))
        .respond_with(ok(json!({"data": {"itemList": [tt_video("7001", EARLY_TODAY), tt_video("7000", LATE_YESTERDAY)]}})))
        .expect(2)
        .mount(&server)
        .await;
    let src = source(&db, &server);
    for _ in 0..2 {
        fetch_posts::fetch(&db.pool, &src, "POLRES_T", Platform::Tiktok, utc(NOW))
            .await
            .expect("fetch");
    }
    let sec: Option<String> =
        sqlx::query_scalar("SELECT tiktok_secuid FROM clients WHERE client_id = 'POLRES_T'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(sec.as_deref(), Some("SEC-T"));
    let rows: Vec<(String, DateTime<Utc>, i32)> =
        sqlx::query_as("SELECT video_id, created_at, like_count FROM tiktok_post")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows, vec![("7001".to_string(), utc(EARLY_TODAY), 7)]);
    db.drop_db().await;
}

async fn stored(db: &TestDb, sql: &'static str, id: &str) -> Value {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn likes_are_merged_never_removed_with_exception_users_and_one_audit_per_window() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    client(&db, "POLRES_A", Some("polres.a"), Some("polres.a")).await;
    client(&db, "POLRES_B", Some("polres.b"), None).await;
    sqlx::query(
        r#"INSERT INTO "user" (user_id, nama, insta, tiktok, client_id, status, exception)
           VALUES ('1', 'EXC', ' @Exc.User ', '@Exc.TT', 'POLRES_B', true, true),
                  ('2', 'NORMAL', 'normal.user', 'normal.tt', 'POLRES_A', true, false)"#,
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO insta_post (shortcode, client_id, created_at) VALUES ('P1', 'POLRES_A', $1), ('OLD', 'POLRES_A', $2)")
        .bind(utc(MORNING))
        .bind(utc(LATE_YESTERDAY))
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO tiktok_post (video_id, client_id, created_at) VALUES ('V1', 'POLRES_A', $1)",
    )
    .bind(utc(EARLY_TODAY))
    .execute(&db.pool)
    .await
    .unwrap();
    let likers = |names: &[&str]| {
        let items: Vec<Value> = names
            .iter()
            .map(|n| json!({"username": n, "pk": "1"}))
            .collect();
        ok(json!({"data": {"items": items, "has_more": false}}))
    };
    Mock::given(path("/v1/likes"))
        .and(query_param("code_or_id_or_url", "P1"))
        .respond_with(likers(&["Budi", "@siti", "budi"]))
        .mount(&server)
        .await;
    let src = source(&db, &server);
    let run = |platform, now: &str| {
        refresh_engagement::refresh(&db.pool, &src, "POLRES_A", platform, utc(now))
    };

    let r = run(Platform::Instagram, NOW).await.expect("first run");
    assert_eq!(
        (
            r["posts"].as_u64(),
            r["succeeded"].as_u64(),
            r["failed"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{r}"
    );
    let sql = "SELECT likes FROM insta_like WHERE shortcode = $1";
    assert_eq!(
        stored(&db, sql, "P1").await,
        json!(["budi", "siti", "exc.user"])
    );

    // Second run in the same 30-minute window: budi and siti are gone from the provider's
    // answer, andi is new. Nobody is removed; the window keeps one audit row.
    server.reset().await;
    Mock::given(path("/v1/likes"))
        .respond_with(likers(&["ANDI"]))
        .mount(&server)
        .await;
    let r = run(Platform::Instagram, "2026-03-02T03:20:00Z")
        .await
        .expect("second run");
    assert_eq!(r["per_post"][0]["added"], json!(1), "{r}");
    assert_eq!(
        stored(&db, sql, "P1").await,
        json!(["budi", "siti", "exc.user", "andi"])
    );
    let audits: Vec<(Value, DateTime<Utc>)> = sqlx::query_as(
        "SELECT usernames, snapshot_window_start FROM insta_like_audit WHERE shortcode = 'P1'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        audits,
        vec![(json!(["andi", "exc.user"]), utc("2026-03-02T03:00:00Z"))]
    );
    // The next window gets its own snapshot.
    run(Platform::Instagram, "2026-03-02T03:31:00Z")
        .await
        .expect("third run");
    assert_eq!(
        db.count("SELECT count(*) FROM insta_like_audit WHERE shortcode = 'P1'")
            .await,
        2
    );
    assert_eq!(
        db.count("SELECT count(*) FROM insta_like WHERE shortcode = 'OLD'")
            .await,
        0,
        "yesterday's post is not refreshed"
    );

    // TikTok commenters are stored lower-case with one '@', exception handles too.
    Mock::given(path("/api/post/comments"))
        .and(query_param("videoId", "V1"))
        .respond_with(ok(json!({"data": {"comments": [{"user": {"unique_id": "Budi.TT"}}, {"username": "@Siti.TT"}], "total": 2}})))
        .mount(&server)
        .await;
    let r = run(Platform::Tiktok, NOW).await.expect("tiktok");
    assert_eq!(r["succeeded"], json!(1), "{r}");
    assert_eq!(
        stored(
            &db,
            "SELECT comments FROM tiktok_comment WHERE video_id = $1",
            "V1"
        )
        .await,
        json!(["@budi.tt", "@siti.tt", "@exc.tt"])
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_missing_key_is_a_configuration_error_when_the_job_runs() {
    let db = TestDb::new().await;
    client(&db, "POLRES_A", Some("polres.a"), None).await;
    let ctx = db.ctx(&[("PROVIDER", "rapidapi")]);
    let err = fetch_posts::run(
        ctx,
        cicero_jobs::fetch_posts::FetchPosts {
            client_id: "POLRES_A".into(),
            platform: Platform::Instagram,
            then_engagement: false,
        },
    )
    .await
    .expect_err("no key");
    assert!(
        matches!(&err, JobError::Permanent(m) if m.contains("RAPIDAPI_KEY is not set")),
        "{err:?}"
    );
    db.drop_db().await;
}

fn start(db: &TestDb, server: &MockServer, extra: &[(&str, &str)]) -> common::Running {
    let pairs = settings(db, server, extra);
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    db.worker(&["ingest"], &refs)
}

#[tokio::test]
async fn a_429_with_retry_after_delays_the_job_without_spending_an_attempt() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    client(&db, "POLRES_A", Some("polres.a"), None).await;
    Mock::given(path("/v1/posts"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "2")
                .set_body_json(json!({"message": "You have exceeded the rate limit per second"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/posts"))
        .respond_with(ok(json!({"data": {"items": []}, "has_more": false})))
        .mount(&server)
        .await;
    let w = start(&db, &server, &[]);
    let id = db
        .enqueue(
            "fetch_posts",
            json!({"client_id": "POLRES_A", "platform": "instagram"}),
        )
        .await;
    // The throttled attempt is handed back: pending, waiting for the key's block.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let row = sqlx::query("SELECT state, attempt, waiting_for FROM cicero.jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        let waiting: Option<String> = row.get("waiting_for");
        if waiting.is_some() {
            assert_eq!(row.get::<String, _>("state"), "pending");
            assert_eq!(
                row.get::<i32, _>("attempt"),
                0,
                "the throttled run gave its attempt back"
            );
            let key = waiting.unwrap_or_default();
            assert_eq!(key, format!("rapidapi:{}", rules::fingerprint(KEY)));
            assert!(!key.contains(KEY));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never throttled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reason: String = sqlx::query_scalar("SELECT reason FROM cicero.rate_blocks")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(reason.contains("rate limited"), "{reason}");
    db.wait_state(id, "done", 20).await;
    let attempts: Vec<(i32, String)> =
        sqlx::query_as("SELECT attempt, outcome FROM cicero.job_attempts WHERE job_id = $1")
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(attempts, vec![(1, "done".to_string())]);
    w.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn malformed_json_fails_the_job_readably_and_the_worker_keeps_serving() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    client(&db, "BROKEN", Some("broken.acct"), None).await;
    client(&db, "FINE", Some("fine.acct"), None).await;
    Mock::given(path("/v1/posts"))
        .and(query_param("username_or_id_or_url", "broken.acct"))
        .respond_with(ok(
            json!({"data": {"items": "quota page: upgrade your plan"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1/posts"))
        .and(query_param("username_or_id_or_url", "fine.acct"))
        .respond_with(ok(json!({"data": {"items": []}, "has_more": false})))
        .mount(&server)
        .await;
    let w = start(&db, &server, &[]);
    let bad = db
        .enqueue(
            "fetch_posts",
            json!({"client_id": "BROKEN", "platform": "instagram"}),
        )
        .await;
    db.wait_state(bad, "failed", 15).await;
    let err: String = sqlx::query_scalar("SELECT last_error FROM cicero.jobs WHERE id = $1")
        .bind(bad)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(err.contains("quota page: upgrade your plan"), "{err}");
    assert!(err.contains("v1/posts"), "{err}");
    let good = db
        .enqueue(
            "fetch_posts",
            json!({"client_id": "FINE", "platform": "instagram"}),
        )
        .await;
    db.wait_state(good, "done", 15).await;
    w.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn sweeps_enqueue_each_eligible_client_once() {
    let db = TestDb::new().await;
    client(&db, "BOTH", Some("both.ig"), Some("both.tt")).await;
    client(&db, "IG_ONLY", Some("ig.only"), None).await;
    client(&db, "OFF", Some("off.ig"), Some("off.tt")).await;
    client(&db, "DIR", Some("dir.ig"), None).await;
    sqlx::query("UPDATE clients SET client_status = false WHERE client_id = 'OFF'")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE clients SET client_type = 'direktorat' WHERE client_id = 'DIR'")
        .execute(&db.pool)
        .await
        .unwrap();
    let r = sweep_social::sweep(&db.pool, false).await.expect("sweep");
    assert_eq!(
        (r["jobs"].as_u64(), r["enqueued"].as_u64()),
        (Some(4), Some(4)),
        "{r}"
    );
    let jobs: Vec<(String, Value)> =
        sqlx::query_as("SELECT kind, payload FROM cicero.jobs ORDER BY payload->>'client_id', payload->>'platform'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let want = [
        ("BOTH", "instagram"),
        ("BOTH", "tiktok"),
        ("DIR", "instagram"),
        ("IG_ONLY", "instagram"),
    ];
    assert_eq!(jobs.len(), want.len());
    for ((kind, p), (c, pf)) in jobs.iter().zip(want) {
        assert_eq!(kind, "fetch_posts");
        assert_eq!(
            p,
            &json!({"client_id": c, "platform": pf, "then_engagement": true})
        );
    }
    // A second sweep while those are pending adds nothing.
    let r = sweep_social::sweep(&db.pool, false)
        .await
        .expect("sweep again");
    assert_eq!(
        (r["enqueued"].as_u64(), r["already_queued"].as_u64()),
        (Some(0), Some(4)),
        "{r}"
    );
    let r = sweep_social::sweep(&db.pool, true)
        .await
        .expect("engagement only");
    assert_eq!(r["enqueued"], json!(4), "{r}");
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.jobs WHERE kind = 'refresh_engagement'")
            .await,
        4
    );
    // The amplify refresh covers org clients only, Instagram only.
    let r = sweep_social::run_amplify(db.ctx(&[]), Default::default())
        .await
        .expect("amplify");
    assert_eq!(
        (r["jobs"].as_u64(), r["enqueued"].as_u64()),
        (Some(2), Some(0)),
        "{r}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn the_demo_provider_runs_the_pipeline_offline() {
    let db = TestDb::new().await;
    cicero::demo::load(&db.pool).await.expect("demo data");
    let now = utc("2026-03-02T07:00:00Z"); // 14:00 WIB
    let lines = cicero::demo::ingest_at(&db.pool, now)
        .await
        .expect("ingest");
    assert_eq!(lines.len(), 6, "{lines:?}");
    let posts = db.count("SELECT count(*) FROM insta_post").await;
    assert!(posts >= 3 * 3, "{posts} posts");
    let (start, end) = cicero::domain::time::jakarta_day_window(rules::today(now)).unwrap();
    let outside: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM insta_post WHERE created_at < $1 OR created_at >= $2",
    )
    .bind(start)
    .bind(end)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(outside, 0, "yesterday's demo post is left out");
    // Every demo person liked at least one post of their own Polres, and some missed one.
    let liked: Vec<(String, i64, i64)> = sqlx::query_as(
        r#"SELECT u.insta,
                  count(*) FILTER (WHERE l.likes ? lower(u.insta)),
                  count(*)
             FROM "user" u JOIN insta_post p ON p.client_id = u.client_id
             JOIN insta_like l ON l.shortcode = p.shortcode
            GROUP BY u.insta ORDER BY u.insta"#,
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(liked.len(), cicero::demo::PERSONNEL.len(), "{liked:?}");
    assert!(liked.iter().all(|(_, n, _)| *n > 0), "{liked:?}");
    assert!(liked.iter().any(|(_, n, total)| n < total), "{liked:?}");
    assert!(db.count("SELECT count(*) FROM tiktok_comment WHERE comments ? '@andi.demo' OR comments ? '@siti.demo'").await > 0);
    // Running it again is idempotent.
    cicero::demo::ingest_at(&db.pool, now).await.expect("again");
    assert_eq!(db.count("SELECT count(*) FROM insta_post").await, posts);
    db.drop_db().await;
}

#[tokio::test]
async fn a_failing_post_is_listed_and_only_all_posts_failing_fails_the_job() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    client(&db, "POLRES_A", Some("polres.a"), None).await;
    sqlx::query("INSERT INTO insta_post (shortcode, client_id, created_at) VALUES ('OK1', 'POLRES_A', $1), ('GONE1', 'POLRES_A', $1)")
        .bind(utc(MORNING))
        .execute(&db.pool)
        .await
        .unwrap();
    Mock::given(path("/v1/likes"))
        .and(query_param("code_or_id_or_url", "OK1"))
        .respond_with(ok(
            json!({"data": {"items": [{"username": "budi"}], "has_more": false}}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1/likes"))
        .and(query_param("code_or_id_or_url", "GONE1"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "Media not found"})),
        )
        .expect(1) // a 4xx is not retried
        .mount(&server)
        .await;
    let src = source(&db, &server);
    let r = refresh_engagement::refresh(&db.pool, &src, "POLRES_A", Platform::Instagram, utc(NOW))
        .await
        .expect("one post is enough");
    assert_eq!(
        (r["succeeded"].as_u64(), r["failed"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["failures"][0]["id"], json!("GONE1"));
    let msg = r["failures"][0]["error"].as_str().unwrap_or_default();
    assert!(
        msg.contains("HTTP 404") && msg.contains("Media not found"),
        "{msg}"
    );

    // OK1 becomes yesterday's post; only GONE1 is left for today.
    sqlx::query("UPDATE insta_post SET created_at = $1 WHERE shortcode = 'OK1'")
        .bind(utc(LATE_YESTERDAY))
        .execute(&db.pool)
        .await
        .unwrap();
    server.reset().await;
    Mock::given(path("/v1/likes"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "Media not found"})),
        )
        .mount(&server)
        .await;
    let err =
        refresh_engagement::refresh(&db.pool, &src, "POLRES_A", Platform::Instagram, utc(NOW))
            .await
            .expect_err("every post failed");
    assert!(
        matches!(&err, JobError::Permanent(m) if m.contains("all 1 posts failed") && m.contains("HTTP 404")),
        "{err:?}"
    );
    db.drop_db().await;
}

// ---------- task broadcast after a fetch (legacy §3.1 step 7, §4c) ----------

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.pool)
        .await
        .expect(sql)
}

/// Runs the whatsapp queue (outbox transport) until `n` messages are sent.
async fn send_whatsapp(db: &TestDb, n: i64) {
    let stop = CancellationToken::new();
    let task = tokio::spawn(worker::run(
        db.ctx(&[]),
        vec!["whatsapp".into()],
        stop.clone(),
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count(
        db,
        "SELECT count(*) FROM cicero.wa_outbox WHERE status = 'sent'",
    )
    .await
        < n
    {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {n} sent messages"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    task.await.expect("join").expect("worker ran cleanly");
}

const BROADCAST_HEAD: &str = "Mohon Ijin Komandan, Senior, Rekan Operator dan Personil pelaksana Tugas Likes dan komentar Sosial Media POLRES BRAVO.\n\nTugas Likes dan Komentar Konten Instagram dan Tiktok \nPOLRES BRAVO\n";
const BROADCAST_TAIL: &str = "Jumlah konten Tiktok hari ini: 0 \nTotal komentar semua konten: 0\n\nRincian:\nSilahkan Melaksanakan Likes, Komentar dan Share.";

#[tokio::test]
async fn a_fetch_that_changes_todays_posts_broadcasts_the_tasks_once_and_not_after_17_15() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    client(&db, "POLRES_B", Some("polres.b"), None).await;
    sqlx::query(
        "UPDATE clients SET nama = 'Polres Bravo', client_group = '120363000000000001@g.us'
          WHERE client_id = 'POLRES_B'",
    )
    .execute(&db.pool)
    .await
    .expect("group");
    let posts = |items: Vec<Value>| {
        Mock::given(method("GET"))
            .and(path("/v1/posts"))
            .respond_with(ok(json!({"data": {"items": items}, "has_more": false})))
    };
    posts(vec![
        ig_post("MORN", MORNING),
        ig_post("EARLY", EARLY_TODAY),
    ])
    .mount(&server)
    .await;
    let src = source(&db, &server);

    // 10:05 WIB, two new posts: one broadcast to the group, both marked [BARU].
    let r = fetch_posts::fetch(&db.pool, &src, "POLRES_B", Platform::Instagram, utc(NOW))
        .await
        .expect("fetch");
    let b = fetch_posts::broadcast_tasks(&db.pool, "default", &r, utc(NOW))
        .await
        .expect("broadcast");
    assert_eq!(b["sent"], json!(true), "{b}");
    assert_eq!(b["to"], json!("120363000000000001@g.us"));

    // The same fetch again (job still pending, then sent): nothing new.
    let again = fetch_posts::fetch(&db.pool, &src, "POLRES_B", Platform::Instagram, utc(NOW))
        .await
        .expect("fetch");
    let b2 = fetch_posts::broadcast_tasks(&db.pool, "default", &again, utc(NOW))
        .await
        .expect("broadcast");
    assert_eq!(b2["sent"], json!(false), "{b2}");
    send_whatsapp(&db, 1).await;
    let b3 = fetch_posts::broadcast_tasks(&db.pool, "default", &again, utc(NOW))
        .await
        .expect("broadcast");
    assert_eq!(b3["sent"], json!(false), "{b3}");
    let texts: Vec<(String, String)> =
        sqlx::query_as("SELECT chat_id, text FROM cicero.wa_outbox ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .expect("outbox");
    let first = format!(
        "{BROADCAST_HEAD}Jumlah konten Instagram hari ini: 2 \nTotal likes semua konten: 20 \n\nRincian:\n\
         1. [BARU] https://www.instagram.com/p/EARLY (upload 00:01 WIB) : 10 likes\n\
         2. [BARU] https://www.instagram.com/p/MORN (upload 08:00 WIB) : 10 likes\n{BROADCAST_TAIL}"
    );
    assert_eq!(texts, vec![("120363000000000001@g.us".to_string(), first)]);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM cicero.jobs WHERE kind = 'whatsapp_send'"
        )
        .await,
        1
    );

    // 11:00 WIB a third post: the changed set is broadcast, only the new post is [BARU].
    server.reset().await;
    let noon_post = "2026-03-02T03:30:00Z"; // 10:30 WIB
    posts(vec![
        ig_post("MORN", MORNING),
        ig_post("EARLY", EARLY_TODAY),
        ig_post("NOON", noon_post),
    ])
    .mount(&server)
    .await;
    let eleven = utc("2026-03-02T04:00:00Z");
    let r = fetch_posts::fetch(&db.pool, &src, "POLRES_B", Platform::Instagram, eleven)
        .await
        .expect("fetch");
    let b4 = fetch_posts::broadcast_tasks(&db.pool, "default", &r, eleven)
        .await
        .expect("broadcast");
    assert_eq!(b4["sent"], json!(true), "{b4}");
    send_whatsapp(&db, 2).await;
    let second: String =
        sqlx::query_scalar("SELECT text FROM cicero.wa_outbox ORDER BY id DESC LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .expect("second");
    assert_eq!(
        second,
        format!(
            "{BROADCAST_HEAD}Jumlah konten Instagram hari ini: 3 \nTotal likes semua konten: 30 \n\nRincian:\n\
             1. https://www.instagram.com/p/EARLY (upload 00:01 WIB) : 10 likes\n\
             2. https://www.instagram.com/p/MORN (upload 08:00 WIB) : 10 likes\n\
             3. [BARU] https://www.instagram.com/p/NOON (upload 10:30 WIB) : 10 likes\n{BROADCAST_TAIL}"
        )
    );

    // 17:20 WIB a fourth post: stored, but no broadcast after the 17:15 cutoff.
    server.reset().await;
    posts(vec![
        ig_post("MORN", MORNING),
        ig_post("EARLY", EARLY_TODAY),
        ig_post("NOON", noon_post),
        ig_post("EVE", "2026-03-02T10:10:00Z"),
    ])
    .mount(&server)
    .await;
    let late = utc("2026-03-02T10:20:00Z");
    let r = fetch_posts::fetch(&db.pool, &src, "POLRES_B", Platform::Instagram, late)
        .await
        .expect("fetch");
    assert_eq!(r["new"].as_u64(), Some(1), "{r}");
    let b5 = fetch_posts::broadcast_tasks(&db.pool, "default", &r, late)
        .await
        .expect("broadcast");
    assert_eq!(b5["sent"], json!(false), "{b5}");
    assert!(
        b5["reason"].as_str().unwrap_or_default().contains("17:15"),
        "{b5}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM cicero.jobs WHERE kind = 'whatsapp_send'"
        )
        .await,
        2
    );
    assert_eq!(count(&db, "SELECT count(*) FROM cicero.wa_outbox").await, 2);
}

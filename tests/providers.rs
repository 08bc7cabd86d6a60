//! RapidAPI providers against local servers that speak the RapidAPI payload shapes of
//! `social-api4` (Instagram) and `tiktok-api23` (TikTok), legacy §4(a)/(b). No database.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path, query_param, query_param_is_missing},
};

use cicero::{
    providers::{
        ProviderError, Target, Timeouts,
        instagram::{self, InstagramClient},
        tiktok::{self, CommentPacing, PostsBy, TiktokClient},
    },
    work::JobError,
};

const FB_HOST: &str = "fallback-social.p.rapidapi.com";

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    }
}

fn primary(host: &str, server: &MockServer) -> Target {
    Target::rapidapi(host, Some("primary-key"), "RAPIDAPI_KEY")
        .unwrap()
        .with_base_url(server.uri())
}

fn fallback(server: &MockServer) -> Target {
    Target::fallback(Some(FB_HOST), Some("fallback-key"))
        .unwrap()
        .with_base_url(server.uri())
}

fn ig(p: &MockServer, fb: Option<&MockServer>) -> InstagramClient {
    InstagramClient::new(primary(instagram::HOST, p), fb.map(fallback), timeouts()).unwrap()
}

fn tt(p: &MockServer, fb: Option<&MockServer>) -> TiktokClient {
    TiktokClient::new(primary(tiktok::HOST, p), fb.map(fallback), timeouts())
        .unwrap()
        .with_comment_pacing(CommentPacing {
            page_delay: Duration::ZERO,
            tries: 3,
            retry_base: Duration::from_millis(1),
            max_pages: 50,
        })
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

// ---- Instagram fixtures (social-api4 shapes) -------------------------------------------------

/// A single-image post with `caption.text`, `image_versions.items[0].url`.
fn ig_image(code: &str, taken_at: i64) -> Value {
    json!({
        "id": format!("3301{code}_1234567"), "pk": format!("3301{code}"), "code": code,
        "taken_at": taken_at, "media_type": 1, "is_video": false,
        "caption": {"text": format!("Kegiatan {code} #polri"), "created_at": taken_at},
        "like_count": 120, "comment_count": 4,
        "image_versions": {"items": [{"url": format!("https://cdn.example/{code}.jpg"), "width": 1080, "height": 1350}]},
        "user": {"username": "polres_demo", "pk": "1234567"}
    })
}

/// A reel with a plain-string caption, `thumbnail_url`, `video_versions[0].url`.
fn ig_reel(code: &str, taken_at: i64) -> Value {
    json!({
        "id": format!("3302{code}_1234567"), "code": code, "taken_at": taken_at,
        "media_type": 2, "is_video": true, "caption": "Patroli malam",
        "like_count": 987, "comment_count": 31,
        "thumbnail_url": format!("https://cdn.example/{code}-thumb.jpg"),
        "video_versions": [{"url": format!("https://cdn.example/{code}.mp4"), "type": 101}]
    })
}

/// A carousel with `display_url` items.
fn ig_carousel(code: &str, taken_at: i64) -> Value {
    json!({
        "id": format!("3303{code}"), "code": code, "taken_at": taken_at, "media_type": 8,
        "caption": null, "like_count": 5, "comment_count": 0,
        "display_url": format!("https://cdn.example/{code}-0.jpg"),
        "carousel_media": [
            {"display_url": format!("https://cdn.example/{code}-1.jpg")},
            {"thumbnail_src": format!("https://cdn.example/{code}-2.jpg")}
        ]
    })
}

#[tokio::test]
async fn instagram_posts_follow_the_pagination_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/posts"))
        .and(query_param("username_or_id_or_url", "polres_demo"))
        .and(query_param_is_missing("pagination_token"))
        .and(header("x-rapidapi-key", "primary-key"))
        .and(header("x-rapidapi-host", instagram::HOST))
        .and(header("x-cache-control", "no-cache"))
        .respond_with(ok(json!({
            "data": {"count": 2, "items": [ig_image("AAA", 1_772_420_000), ig_reel("BBB", 1_772_410_000)]},
            "pagination_token": "QVFEtoken2", "has_more": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/posts"))
        .and(query_param("pagination_token", "QVFEtoken2"))
        .respond_with(ok(json!({
            "data": {"count": 1, "items": [ig_carousel("CCC", 1_772_400_000)]},
            "pagination_token": null, "has_more": false
        })))
        .expect(1)
        .mount(&server)
        .await;

    let posts = ig(&server, None).posts("polres_demo", 50).await.unwrap();
    let codes: Vec<_> = posts.iter().map(|p| p.shortcode.as_str()).collect();
    assert_eq!(codes, ["AAA", "BBB", "CCC"]);

    let a = &posts[0];
    assert_eq!(a.caption.as_deref(), Some("Kegiatan AAA #polri"));
    assert_eq!(
        a.created_at,
        DateTime::from_timestamp(1_772_420_000, 0).unwrap()
    );
    assert_eq!((a.like_count, a.comment_count), (120, 4));
    assert_eq!(
        a.thumbnail_url.as_deref(),
        Some("https://cdn.example/AAA.jpg")
    );
    assert_eq!(a.image_urls, ["https://cdn.example/AAA.jpg"]);
    assert!(!a.is_video && !a.is_carousel);

    let b = &posts[1];
    assert_eq!(b.caption.as_deref(), Some("Patroli malam"));
    assert!(b.is_video);
    assert_eq!(b.video_url.as_deref(), Some("https://cdn.example/BBB.mp4"));
    assert_eq!(
        b.thumbnail_url.as_deref(),
        Some("https://cdn.example/BBB-thumb.jpg")
    );

    let c = &posts[2];
    assert_eq!(c.caption, None);
    assert!(c.is_carousel);
    assert_eq!(
        c.image_urls,
        [
            "https://cdn.example/CCC-1.jpg",
            "https://cdn.example/CCC-2.jpg"
        ]
    );
}

#[tokio::test]
async fn instagram_posts_stop_at_the_limit() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/posts"))
        .respond_with(ok(json!({
            "data": {"items": [ig_image("A1", 1), ig_image("A2", 2), ig_image("A3", 3)]},
            "pagination_token": "again", "has_more": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    let posts = ig(&server, None).posts("x", 2).await.unwrap();
    assert_eq!(posts.len(), 2);
}

#[tokio::test]
async fn instagram_profile_reads_alternative_names() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/info"))
        .and(query_param("username_or_id_or_url", "polres_demo"))
        .respond_with(ok(json!({"data": {
            "pk": 1234567, "username": "polres_demo", "full_name": "Polres Demo",
            "biography": "Akun resmi", "follower_count": 15230, "following_count": 120,
            "media_count": 842, "is_private": false, "is_verified": true,
            "profile_pic_url": "https://cdn.example/p.jpg",
            "profile_pic_url_hd": "https://cdn.example/p_hd.jpg"
        }})))
        .mount(&server)
        .await;
    let p = ig(&server, None).profile("polres_demo").await.unwrap();
    assert_eq!(p.id.as_deref(), Some("1234567"));
    assert_eq!(p.username, "polres_demo");
    assert_eq!(p.followers, Some(15230));
    assert_eq!((p.following, p.media_count), (Some(120), Some(842)));
    assert!(p.is_verified && !p.is_private);
    assert_eq!(
        p.profile_pic_url.as_deref(),
        Some("https://cdn.example/p_hd.jpg")
    );
}

#[tokio::test]
async fn instagram_likes_follow_next_cursor_and_end_cursor() {
    let server = MockServer::start().await;
    let likers = |names: &[&str]| -> Value {
        names
            .iter()
            .map(|n| json!({"username": n, "full_name": "", "is_private": false, "pk": "1"}))
            .collect()
    };
    Mock::given(path("/v1/likes"))
        .and(query_param("code_or_id_or_url", "AAA"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ok(json!({"data": {"items": likers(&["Budi", "@siti"]), "next_cursor": "c2", "has_more": true}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/likes"))
        .and(query_param("cursor", "c2"))
        .respond_with(ok(
            json!({"data": {"items": likers(&["andi"]), "end_cursor": "c3", "has_more": true}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/likes"))
        .and(query_param("cursor", "c3"))
        .respond_with(ok(
            json!({"data": {"items": likers(&["budi"]), "has_more": false}}),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let names = ig(&server, None)
        .likes("AAA", instagram::LIKES_MAX_PAGES)
        .await
        .unwrap();
    assert_eq!(names, ["Budi", "@siti", "andi", "budi"]);
}

#[tokio::test]
async fn instagram_likes_respect_max_pages() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/likes"))
        .respond_with(ok(
            json!({"data": {"items": [{"username": "a"}], "next_cursor": "same", "has_more": true}}),
        ))
        .expect(2) // the first page, then "same" once; a repeated cursor stops the loop
        .mount(&server)
        .await;
    let names = ig(&server, None).likes("AAA", 20).await.unwrap();
    assert_eq!(names.len(), 2);
}

#[tokio::test]
async fn instagram_post_info() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/post_info"))
        .and(query_param(
            "code_or_id_or_url",
            "https://www.instagram.com/p/DDD/",
        ))
        .respond_with(ok(json!({"data": ig_reel("DDD", 1_772_430_000)})))
        .mount(&server)
        .await;
    let p = ig(&server, None)
        .post_info("https://www.instagram.com/p/DDD/")
        .await
        .unwrap();
    assert_eq!(p.shortcode, "DDD");
    assert_eq!(p.like_count, 987);
}

// ---- error classes ---------------------------------------------------------------------------

#[tokio::test]
async fn status_429_is_retryable_with_retry_after() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/posts"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "17")
                .set_body_json(json!({"message": "Too many requests"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = ig(&server, None).posts_page("x", None).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(17)), "{e:?}");
    assert!(e.to_string().contains("Too many requests"), "{e}");
    assert!(matches!(
        JobError::from(e),
        JobError::Throttled { retry_after, .. } if retry_after == Duration::from_secs(17)
    ));
}

#[tokio::test]
async fn status_429_without_retry_after_is_retryable() {
    let server = MockServer::start().await;
    Mock::given(path("/api/user/info"))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    let e = tt(&server, None).user_info("x").await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::RateLimited {
                retry_after: None,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(matches!(JobError::from(e), JobError::Retryable(_)));
}

#[tokio::test]
async fn status_500_is_retryable_and_instagram_does_not_fall_back() {
    let server = MockServer::start().await;
    let fb = MockServer::start().await;
    Mock::given(path("/v1/info"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/info"))
        .respond_with(ok(json!({"data": {"username": "x"}})))
        .expect(0)
        .mount(&fb)
        .await;
    let e = ig(&server, Some(&fb)).profile("x").await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_eq!(e.status(), Some(500));
    assert!(e.to_string().contains("upstream exploded"), "{e}");
    assert!(matches!(JobError::from(e), JobError::Retryable(_)));
}

#[tokio::test]
async fn status_404_is_permanent() {
    let server = MockServer::start().await;
    Mock::given(path("/api/post/detail"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "Video not found"})),
        )
        .mount(&server)
        .await;
    let e = tt(&server, None).post_detail("123").await.unwrap_err();
    assert!(!e.is_retryable());
    assert!(
        matches!(e, ProviderError::Permanent { status: 404, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("Video not found"), "{e}");
    assert!(matches!(JobError::from(e), JobError::Permanent(_)));
}

#[tokio::test]
async fn connection_refused_and_timeout_are_retryable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = Target::rapidapi(instagram::HOST, Some("k"), "RAPIDAPI_KEY")
        .unwrap()
        .with_base_url(format!("http://127.0.0.1:{port}"));
    let client = InstagramClient::new(dead, None, timeouts()).unwrap();
    let e = client.profile("x").await.unwrap_err();
    assert!(
        matches!(e, ProviderError::Transient { status: None, .. }),
        "{e:?}"
    );

    let slow = MockServer::start().await;
    Mock::given(path("/v1/info"))
        .respond_with(ok(json!({"data": {"username": "x"}})).set_delay(Duration::from_secs(3)))
        .mount(&slow)
        .await;
    let quick = Timeouts {
        connect: Duration::from_secs(1),
        request: Duration::from_millis(200),
    };
    let client = InstagramClient::new(primary(instagram::HOST, &slow), None, quick).unwrap();
    let e = client.profile("x").await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("timeout"), "{e}");
}

// ---- Instagram fallback (401/403 only, once) -------------------------------------------------

#[tokio::test]
async fn instagram_401_retries_once_on_the_fallback_host() {
    let server = MockServer::start().await;
    let fb = MockServer::start().await;
    Mock::given(path("/v1/posts"))
        .and(header("x-rapidapi-key", "primary-key"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "Invalid API key"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/posts"))
        .and(query_param("username_or_id_or_url", "polres_demo"))
        .and(query_param("pagination_token", "tok"))
        .and(header("x-rapidapi-key", "fallback-key"))
        .and(header("x-rapidapi-host", FB_HOST))
        .respond_with(ok(
            json!({"data": {"items": [ig_image("FB1", 10)]}, "has_more": false}),
        ))
        .expect(1)
        .mount(&fb)
        .await;
    let page = ig(&server, Some(&fb))
        .posts_page("polres_demo", Some("tok"))
        .await
        .unwrap();
    assert_eq!(page.posts.len(), 1);
    assert_eq!(page.posts[0].shortcode, "FB1");
}

#[tokio::test]
async fn instagram_403_on_both_hosts_is_permanent_after_one_fallback_call() {
    let server = MockServer::start().await;
    let fb = MockServer::start().await;
    Mock::given(path("/v1/likes"))
        .respond_with(ResponseTemplate::new(403).set_body_string("primary says no"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/likes"))
        .respond_with(ResponseTemplate::new(403).set_body_string("fallback says no"))
        .expect(1)
        .mount(&fb)
        .await;
    let e = ig(&server, Some(&fb)).likes("AAA", 20).await.unwrap_err();
    assert!(
        matches!(e, ProviderError::Permanent { status: 403, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("fallback says no"), "{e}");
}

#[tokio::test]
async fn instagram_401_without_fallback_is_permanent() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/info"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let e = ig(&server, None).profile("x").await.unwrap_err();
    assert!(
        matches!(e, ProviderError::Permanent { status: 401, .. }),
        "{e:?}"
    );
}

// ---- TikTok (tiktok-api23 shapes) ------------------------------------------------------------

fn tt_video(id: &str, create_time: i64) -> Value {
    json!({
        "id": id, "desc": format!("Video {id} #polripresisi"), "createTime": create_time,
        "author": {"uniqueId": "polres_demo", "secUid": "MS4wLjABAAAAsec"},
        "stats": {"diggCount": 250, "commentCount": 12, "playCount": 9000, "shareCount": 3},
        "statsV2": {"diggCount": "250", "commentCount": "12"}
    })
}

/// The fallback host's shape: `result.videos[]` with `video_id`, `create_time`, `caption`.
fn fb_video(id: &str, create_time: i64) -> Value {
    json!({"video_id": id, "caption": "dari fallback", "create_time": create_time, "stats": {"diggCount": 1, "commentCount": 2}})
}

#[tokio::test]
async fn tiktok_user_info_gives_sec_uid() {
    let server = MockServer::start().await;
    Mock::given(path("/api/user/info"))
        .and(query_param("uniqueId", "polres_demo"))
        .and(header("x-rapidapi-host", tiktok::HOST))
        .respond_with(ok(json!({
            "userInfo": {
                "user": {"id": "68", "uniqueId": "polres_demo", "secUid": "MS4wLjABAAAAsec",
                         "nickname": "Polres Demo", "avatarThumb": "https://cdn.example/a.jpg", "verified": true},
                "stats": {"followerCount": 5400, "followingCount": 12, "heart": 88000, "videoCount": 310}
            },
            "statusCode": 0
        })))
        .mount(&server)
        .await;
    let u = tt(&server, None).user_info("polres_demo").await.unwrap();
    assert_eq!(u.sec_uid, "MS4wLjABAAAAsec");
    assert_eq!(u.unique_id, "polres_demo");
    assert!(u.verified);
    assert_eq!(
        (u.follower_count, u.following_count, u.heart, u.video_count),
        (Some(5400), Some(12), Some(88000), Some(310))
    );
}

#[tokio::test]
async fn tiktok_posts_by_sec_uid_and_by_username() {
    let server = MockServer::start().await;
    Mock::given(path("/api/user/posts"))
        .and(query_param("secUid", "SEC"))
        .and(query_param("count", "35"))
        .and(query_param("cursor", "0"))
        .respond_with(ok(json!({"data": {"itemList": [tt_video("7301", 1_772_420_000)], "hasMore": false, "cursor": "0"}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/user/posts"))
        .and(query_param("uniqueId", "polres_demo"))
        .and(query_param("username", "polres_demo"))
        .respond_with(ok(
            json!({"data": {"data": {"itemList": [tt_video("7302", 1_772_420_001)]}}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = tt(&server, None);
    let by_sec = client
        .user_posts(&PostsBy::SecUid("SEC".into()), tiktok::POSTS_COUNT)
        .await
        .unwrap();
    assert_eq!(by_sec.len(), 1);
    let p = &by_sec[0];
    assert_eq!(p.video_id, "7301");
    assert_eq!(p.caption.as_deref(), Some("Video 7301 #polripresisi"));
    assert_eq!(
        p.created_at,
        DateTime::from_timestamp(1_772_420_000, 0).unwrap()
    );
    assert_eq!((p.like_count, p.comment_count), (250, 12));

    let by_name = client
        .user_posts(&PostsBy::Username("polres_demo".into()), 35)
        .await
        .unwrap();
    assert_eq!(by_name[0].video_id, "7302");
}

#[tokio::test]
async fn tiktok_empty_posts_fall_back_to_user_videos() {
    let server = MockServer::start().await;
    let fb = MockServer::start().await;
    Mock::given(path("/api/user/posts"))
        .respond_with(ok(json!({"data": {"itemList": [], "hasMore": false}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/user/videos"))
        .and(query_param("secUid", "SEC"))
        .and(query_param("count", "35"))
        .and(header("x-rapidapi-key", "fallback-key"))
        .and(header("x-rapidapi-host", FB_HOST))
        .respond_with(ok(
            json!({"code": 0, "result": {"videos": [fb_video("7400", 1_772_420_000)]}}),
        ))
        .expect(1)
        .mount(&fb)
        .await;
    let posts = tt(&server, Some(&fb))
        .user_posts(&PostsBy::SecUid("SEC".into()), 35)
        .await
        .unwrap();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].video_id, "7400");
    assert_eq!(posts[0].caption.as_deref(), Some("dari fallback"));
    assert_eq!((posts[0].like_count, posts[0].comment_count), (1, 2));
}

#[tokio::test]
async fn tiktok_failed_posts_fall_back_and_keep_primary_error_when_both_fail() {
    let server = MockServer::start().await;
    let fb = MockServer::start().await;
    Mock::given(path("/api/user/posts"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/user/videos"))
        .respond_with(ok(json!({"videos": [fb_video("7500", 5)]})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&fb)
        .await;
    let client = tt(&server, Some(&fb));
    let by = PostsBy::SecUid("SEC".into());
    assert_eq!(
        client.user_posts(&by, 35).await.unwrap()[0].video_id,
        "7500"
    );

    // Second call: the fallback now 404s (no more mocks); the primary's 502 is what we get.
    let e = client.user_posts(&by, 35).await.unwrap_err();
    assert_eq!(e.status(), Some(502), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn tiktok_without_fallback_returns_empty_posts() {
    let server = MockServer::start().await;
    Mock::given(path("/api/user/posts"))
        .respond_with(ok(json!({"data": {"itemList": []}})))
        .mount(&server)
        .await;
    let posts = tt(&server, None)
        .user_posts(&PostsBy::SecUid("SEC".into()), 35)
        .await
        .unwrap();
    assert!(posts.is_empty());
}

#[tokio::test]
async fn tiktok_username_missing_params_retries_by_sec_uid() {
    let server = MockServer::start().await;
    Mock::given(path("/api/user/posts"))
        .and(query_param("uniqueId", "polres_demo"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"message": "Missing required params: secUid"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/user/info"))
        .respond_with(ok(json!({"userInfo": {"user": {"uniqueId": "polres_demo", "secUid": "RESOLVED"}, "stats": {}}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/user/posts"))
        .and(query_param("secUid", "RESOLVED"))
        .respond_with(ok(json!({"data": {"items": [tt_video("7600", 1)]}})))
        .expect(1)
        .mount(&server)
        .await;
    let posts = tt(&server, None)
        .user_posts(&PostsBy::Username("polres_demo".into()), 35)
        .await
        .unwrap();
    assert_eq!(posts[0].video_id, "7600");
}

/// `client_posts`: secUid result has nothing from today → username fallback, only 11:00–17:15 WIB.
#[tokio::test]
async fn tiktok_username_fallback_only_inside_the_jakarta_window() {
    let old = 1_772_000_000; // 2026-02-25, not "today" below
    let today = utc("2026-03-02T02:00:00Z").timestamp(); // 09:00 WIB on 2 March
    for (now, want_fallback) in [
        ("2026-03-02T04:00:00Z", true),  // 11:00 WIB
        ("2026-03-02T10:15:30Z", true),  // 17:15:30 WIB
        ("2026-03-02T03:59:00Z", false), // 10:59 WIB
        ("2026-03-02T10:16:00Z", false), // 17:16 WIB
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/api/user/posts"))
            .and(query_param("secUid", "SEC"))
            .respond_with(ok(json!({"data": {"itemList": [tt_video("OLD", old)]}})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/api/user/posts"))
            .and(query_param("uniqueId", "polres_demo"))
            .respond_with(ok(json!({"data": {"itemList": [tt_video("NEW", today)]}})))
            .expect(u64::from(want_fallback))
            .mount(&server)
            .await;
        let got = tt(&server, None)
            .client_posts("SEC", "polres_demo", 35, utc(now))
            .await
            .unwrap();
        assert_eq!(got.used_username_fallback, want_fallback, "{now}");
        assert_eq!(got.skipped_outside_window, !want_fallback, "{now}");
        let id = if want_fallback { "NEW" } else { "OLD" };
        assert_eq!(got.posts[0].video_id, id, "{now}");
    }
}

#[tokio::test]
async fn tiktok_no_username_fallback_when_today_is_present() {
    let server = MockServer::start().await;
    let now = utc("2026-03-02T05:00:00Z");
    Mock::given(path("/api/user/posts"))
        .and(query_param("secUid", "SEC"))
        .respond_with(ok(
            json!({"data": {"itemList": [tt_video("T", now.timestamp() - 60)]}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/user/posts"))
        .and(query_param("uniqueId", "polres_demo"))
        .respond_with(ok(json!({"data": {"itemList": []}})))
        .expect(0)
        .mount(&server)
        .await;
    let got = tt(&server, None)
        .client_posts("SEC", "polres_demo", 35, now)
        .await
        .unwrap();
    assert!(!got.used_username_fallback);
    assert_eq!(got.posts.len(), 1);
}

#[tokio::test]
async fn tiktok_comments_page_by_cursor_until_total() {
    let server = MockServer::start().await;
    let page = |names: &[(&str, bool)], total: i64| -> Value {
        let comments: Vec<Value> = names
            .iter()
            .map(|(n, nested)| {
                if *nested {
                    json!({"cid": "1", "text": "mantap", "user": {"unique_id": n, "nickname": n}})
                } else {
                    json!({"cid": "2", "text": "siap", "username": n})
                }
            })
            .collect();
        json!({"data": {"comments": comments, "total": total, "has_more": 1}})
    };
    Mock::given(path("/api/post/comments"))
        .and(query_param("videoId", "7301"))
        .and(query_param("count", "50"))
        .and(query_param("cursor", "0"))
        .respond_with(ok(page(&[("Andi", true), ("budi", false)], 120)))
        .expect(1)
        .mount(&server)
        .await;
    // cursor 50: a 503 first (retried), then the page, in the other accepted shape.
    Mock::given(path("/api/post/comments"))
        .and(query_param("cursor", "50"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/post/comments"))
        .and(query_param("cursor", "50"))
        .respond_with(ok(
            json!({"comments": [{"user": {"unique_id": "citra"}}], "total": 120}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/post/comments"))
        .and(query_param("cursor", "100"))
        .respond_with(ok(page(&[("dedi", true)], 120)))
        .expect(1)
        .mount(&server)
        .await;
    // 150 > total 120: never asked.
    Mock::given(path("/api/post/comments"))
        .and(query_param("cursor", "150"))
        .respond_with(ok(page(&[("nope", true)], 120)))
        .expect(0)
        .mount(&server)
        .await;
    let names = tt(&server, None).comments("7301").await.unwrap();
    assert_eq!(names, ["Andi", "budi", "citra", "dedi"]);
}

#[tokio::test]
async fn tiktok_comments_stop_on_an_empty_page_and_give_up_after_three_tries() {
    let server = MockServer::start().await;
    Mock::given(path("/api/post/comments"))
        .and(query_param("videoId", "A"))
        .and(query_param("cursor", "0"))
        .respond_with(ok(json!({"data": {"comments": [{"username": "x"}]}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/post/comments"))
        .and(query_param("videoId", "A"))
        .and(query_param("cursor", "50"))
        .respond_with(ok(json!({"data": {"comments": [], "total": 1}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/post/comments"))
        .and(query_param("videoId", "B"))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;
    let client = tt(&server, None);
    assert_eq!(client.comments("A").await.unwrap(), ["x"]);
    let e = client.comments("B").await.unwrap_err();
    assert!(e.is_retryable() && e.status() == Some(500), "{e:?}");
}

#[tokio::test]
async fn tiktok_post_detail() {
    let server = MockServer::start().await;
    Mock::given(path("/api/post/detail"))
        .and(query_param("videoId", "7301"))
        .respond_with(ok(
            json!({"itemInfo": {"itemStruct": tt_video("7301", 1_772_420_000)}, "statusCode": 0}),
        ))
        .mount(&server)
        .await;
    let p = tt(&server, None).post_detail("7301").await.unwrap();
    assert_eq!(p.video_id, "7301");
    assert_eq!(p.like_count, 250);
}

// ---- malformed payloads and configuration ----------------------------------------------------

#[tokio::test]
async fn malformed_payloads_are_errors_that_quote_the_offending_part() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/posts"))
        .respond_with(ok(
            json!({"data": {"items": "rate limit page"}, "has_more": false}),
        ))
        .mount(&server)
        .await;
    let long_html = format!(
        "<html><body>{}</body></html>",
        "Service Unavailable ".repeat(40)
    );
    Mock::given(path("/v1/info"))
        .respond_with(ResponseTemplate::new(200).set_body_string(long_html.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/v1/likes"))
        .respond_with(ok(
            json!({"data": {"items": [{"username": "ok"}, {"pk": 42, "full_name": "No Name"}]}}),
        ))
        .mount(&server)
        .await;
    let client = ig(&server, None);

    let e = client.posts_page("x", None).await.unwrap_err();
    assert!(matches!(e, ProviderError::Payload { .. }), "{e:?}");
    assert!(e.to_string().contains("\"rate limit page\""), "{e}");
    assert!(!e.is_retryable());

    let e = client.profile("x").await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("not JSON"), "{msg}");
    assert!(msg.contains("<html><body>Service Unavailable"), "{msg}");
    assert!(msg.contains('…'), "the 900-char body is cut: {msg}");
    assert!(msg.len() < 500, "{msg}");

    let e = client.likes_page("AAA", None).await.unwrap_err();
    assert!(e.to_string().contains("No Name"), "{e}");
    assert!(matches!(JobError::from(e), JobError::Permanent(m) if m.contains("No Name")));

    let tts = MockServer::start().await;
    Mock::given(path("/api/user/posts"))
        .respond_with(ok(
            json!({"data": {"itemList": [{"id": "1", "createTime": "yesterday"}]}}),
        ))
        .mount(&tts)
        .await;
    Mock::given(path("/api/user/info"))
        .respond_with(ok(json!({"userInfo": {"user": {"uniqueId": "x"}}})))
        .mount(&tts)
        .await;
    let client = tt(&tts, None);
    let e = client
        .user_posts(&PostsBy::SecUid("S".into()), 35)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("\"yesterday\""), "{e}");
    let e = client.sec_uid("x").await.unwrap_err();
    assert!(
        e.to_string().contains("secUid") && e.to_string().contains("uniqueId"),
        "{e}"
    );
}

#[test]
fn missing_key_is_a_configuration_error_naming_rapidapi_key() {
    for key in [None, Some(""), Some("   ")] {
        let e = InstagramClient::from_settings(key, None, None, Timeouts::default()).unwrap_err();
        assert!(matches!(e, ProviderError::Config(_)), "{e:?}");
        assert!(e.to_string().contains("RAPIDAPI_KEY"), "{e}");
        assert!(!e.is_retryable());
        assert!(matches!(JobError::from(e), JobError::Permanent(m) if m.contains("RAPIDAPI_KEY")));

        let e = TiktokClient::from_settings(key, Some("fb"), Some("k"), Timeouts::default())
            .unwrap_err();
        assert!(e.to_string().contains("RAPIDAPI_KEY"), "{e}");
    }
    assert!(InstagramClient::from_settings(Some("k"), None, None, Timeouts::default()).is_ok());
}

//! The offline demo provider (`PROVIDER=demo`): deterministic posts, likers and commenters
//! with no key and no network, so `cicero demo` and `scripts/run.sh` run the whole pipeline.
//!
//! Every account posts at fixed Jakarta times of each day (only the times already past
//! count), plus one post of the evening before, which the jobs must leave out. Likers and
//! commenters are the demo personnel (`crate::demo::PERSONNEL`; each skips some posts, so
//! recaps show complete, partial and missing attendance) and a crowd of public accounts.
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde_json::json;

use super::{SocialSource, SourceFuture};
use crate::{
    domain::time::{jakarta, jakarta_day},
    providers::{
        instagram::{InstaPost, InstaProfile},
        tiktok::{ClientPosts, PostsBy, TiktokPost, TiktokUser},
    },
};

/// Jakarta wall-clock times (hour, minute) at which every demo account posts.
/// The first is just after midnight so that the demo has posts of today at any hour.
pub const POST_TIMES: &[(u32, u32)] = &[(0, 15), (7, 30), (10, 0), (13, 30), (16, 0), (19, 30)];

/// The demo provider; `at` pins the clock (tests), `None` reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoSource {
    pub at: Option<DateTime<Utc>>,
}

impl DemoSource {
    fn now(&self) -> DateTime<Utc> {
        self.at.unwrap_or_else(Utc::now)
    }
}

/// FNV-1a 64: stable across runs and releases, so the demo data never changes for a day.
fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";

/// (post id seed, created_at) of an account's posts visible at `now`: today's slots that
/// have passed, 3 to 6 of them depending on the account and day, plus yesterday's 19:30.
pub fn post_slots(username: &str, now: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
    let today = jakarta_day(now);
    let mut out = Vec::new();
    let yesterday = today.pred_opt().unwrap_or(today);
    if let Some(t) = at(yesterday, 19, 30) {
        out.push((format!("{username}|{yesterday}|4"), t));
    }
    let per_day = 3 + (hash(&[username, &today.to_string()]) % 4) as usize;
    for (i, (h, m)) in POST_TIMES.iter().enumerate().take(per_day) {
        if let Some(t) = at(today, *h, *m)
            && t <= now
        {
            out.push((format!("{username}|{today}|{i}"), t));
        }
    }
    out.reverse(); // newest first, like the providers
    out
}

fn at(day: NaiveDate, h: u32, m: u32) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    jakarta(day.year(), day.month(), day.day(), h, m, 0)
}

/// An Instagram-like 11-character shortcode for a post seed.
pub fn shortcode(seed: &str) -> String {
    let mut h = hash(&["ig", seed]);
    let mut s = String::from("D");
    for _ in 0..10 {
        s.push(ALPHABET[(h % ALPHABET.len() as u64) as usize] as char);
        h /= ALPHABET.len() as u64;
        if h == 0 {
            h = hash(&[seed, &s]);
        }
    }
    s
}

/// A TikTok-like 19-digit video id for a post seed.
pub fn video_id(seed: &str) -> String {
    format!("7{:018}", hash(&["tt", seed]) % 1_000_000_000_000_000_000)
}

/// The engagers of one post: each demo person engages unless their hash says they skip it
/// (about 1 in 4 on Instagram, 1 in 3 on TikTok), and a crowd of 20 to 79 public accounts.
pub fn engagers(post_id: &str, tiktok: bool) -> Vec<String> {
    let skip_one_in = if tiktok { 3 } else { 4 };
    let mut out: Vec<String> = crate::demo::PERSONNEL
        .iter()
        .map(|p| if tiktok { p.tiktok } else { p.insta })
        .filter(|h| !hash(&[h, post_id]).is_multiple_of(skip_one_in))
        .map(|h| h.trim_start_matches('@').to_string())
        .collect();
    let crowd = 20 + hash(&["crowd", post_id]) % 60;
    out.extend((0..crowd).map(|i| format!("warga.{:03}", hash(&[post_id, &i.to_string()]) % 500)));
    out
}

fn caption(username: &str, seed: &str) -> String {
    const TOPICS: &[&str] = &[
        "Patroli dialogis bersama warga",
        "Sosialisasi keselamatan berlalu lintas",
        "Jumat Curhat: mendengar keluhan masyarakat",
        "Bakti sosial untuk warga terdampak banjir",
        "Pengamanan ibadah dan kegiatan masyarakat",
    ];
    let topic = TOPICS[(hash(&[seed]) % TOPICS.len() as u64) as usize];
    format!("{topic} #{}", username.replace(['.', '_'], ""))
}

impl SocialSource for DemoSource {
    fn name(&self) -> &'static str {
        "demo"
    }

    fn instagram_posts<'a>(&'a self, username: &'a str) -> SourceFuture<'a, Vec<InstaPost>> {
        Box::pin(async move {
            Ok(post_slots(username, self.now())
                .into_iter()
                .map(|(seed, created_at)| {
                    let code = shortcode(&seed);
                    let thumb = format!("https://demo.cicero.invalid/ig/{code}.jpg");
                    InstaPost {
                        id: Some(video_id(&seed)),
                        caption: Some(caption(username, &seed)),
                        created_at,
                        like_count: engagers(&code, false).len() as i64,
                        comment_count: (hash(&["c", &seed]) % 30) as i64,
                        thumbnail_url: Some(thumb.clone()),
                        is_video: false,
                        video_url: None,
                        image_urls: vec![thumb],
                        is_carousel: false,
                        raw: json!({"code": code, "taken_at": created_at.timestamp(), "demo": true}),
                        shortcode: code,
                    }
                })
                .collect())
        })
    }

    fn instagram_likes<'a>(&'a self, shortcode: &'a str) -> SourceFuture<'a, Vec<String>> {
        Box::pin(async move { Ok(engagers(shortcode, false)) })
    }

    fn tiktok_sec_uid<'a>(&'a self, username: &'a str) -> SourceFuture<'a, String> {
        Box::pin(async move { Ok(format!("MS4wDemo{:016x}", hash(&["secuid", username]))) })
    }

    fn tiktok_posts<'a>(
        &'a self,
        _sec_uid: &'a str,
        username: &'a str,
        now: DateTime<Utc>,
    ) -> SourceFuture<'a, ClientPosts> {
        Box::pin(async move {
            Ok(ClientPosts {
                posts: tiktok_videos(username, now),
                used_username_fallback: false,
                skipped_outside_window: false,
            })
        })
    }

    fn tiktok_comments<'a>(&'a self, video_id: &'a str) -> SourceFuture<'a, Vec<String>> {
        Box::pin(async move { Ok(engagers(video_id, true)) })
    }

    fn instagram_profile<'a>(&'a self, username: &'a str) -> SourceFuture<'a, InstaProfile> {
        Box::pin(async move { Ok(instagram_profile(username)) })
    }

    fn instagram_post_info<'a>(&'a self, code_or_url: &'a str) -> SourceFuture<'a, InstaPost> {
        Box::pin(async move { Ok(post_info(code_or_url, self.now())) })
    }

    fn tiktok_user<'a>(&'a self, username: &'a str) -> SourceFuture<'a, TiktokUser> {
        Box::pin(async move { Ok(tiktok_user(username)) })
    }

    fn tiktok_recent_posts<'a>(
        &'a self,
        by: &'a PostsBy,
        limit: u32,
    ) -> SourceFuture<'a, Vec<TiktokPost>> {
        Box::pin(async move {
            let account = match by {
                PostsBy::SecUid(s) | PostsBy::Username(s) => s,
            };
            let mut posts = tiktok_videos(account, self.now());
            posts.truncate(limit as usize);
            Ok(posts)
        })
    }
}

/// An account's videos visible at `now` (newest first).
fn tiktok_videos(username: &str, now: DateTime<Utc>) -> Vec<TiktokPost> {
    post_slots(username, now)
        .into_iter()
        .map(|(seed, created_at)| {
            let id = video_id(&seed);
            TiktokPost {
                caption: Some(caption(username, &seed)),
                created_at,
                like_count: 50 + (hash(&["l", &seed]) % 400) as i64,
                comment_count: engagers(&id, true).len() as i64,
                raw: json!({"id": id, "createTime": created_at.timestamp(), "demo": true}),
                video_id: id,
            }
        })
        .collect()
}

/// A demo Instagram profile: stable counts per account.
pub fn instagram_profile(username: &str) -> InstaProfile {
    let h = hash(&["ig-profile", username]);
    let pic = format!("https://demo.cicero.invalid/ig/{username}.jpg");
    let raw = json!({
        "pk": format!("{}", 10_000_000 + h % 90_000_000), "username": username,
        "full_name": format!("Demo {username}"), "biography": format!("Akun resmi demo {username}"),
        "follower_count": 1_000 + h % 50_000, "following_count": 10 + h % 300,
        "media_count": 200 + h % 2_000, "is_private": false, "is_verified": true,
        "profile_pic_url": pic, "demo": true
    });
    InstaProfile {
        id: Some(format!("{}", 10_000_000 + h % 90_000_000)),
        username: username.to_string(),
        full_name: Some(format!("Demo {username}")),
        biography: Some(format!("Akun resmi demo {username}")),
        followers: Some((1_000 + h % 50_000) as i64),
        following: Some((10 + h % 300) as i64),
        media_count: Some((200 + h % 2_000) as i64),
        is_private: false,
        is_verified: true,
        profile_pic_url: Some(pic),
        raw,
    }
}

/// A demo post for any link or shortcode, published at the start of the current minute (so
/// a special-assignment report of it is always "today").
pub fn post_info(code_or_url: &str, now: DateTime<Utc>) -> InstaPost {
    let code = ["/p/", "/reel/"]
        .iter()
        .find_map(|m| code_or_url.split_once(m).map(|(_, rest)| rest))
        .unwrap_or(code_or_url)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_string();
    let created_at = now
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    let thumb = format!("https://demo.cicero.invalid/ig/{code}.jpg");
    InstaPost {
        id: Some(video_id(&code)),
        caption: Some(format!("Konten khusus {code}")),
        created_at,
        like_count: engagers(&code, false).len() as i64,
        comment_count: (hash(&["c", &code]) % 30) as i64,
        thumbnail_url: Some(thumb.clone()),
        is_video: false,
        video_url: None,
        image_urls: vec![thumb],
        is_carousel: false,
        raw: json!({"code": code, "taken_at": created_at.timestamp(), "demo": true}),
        shortcode: code,
    }
}

/// A demo TikTok account, shaped like `api/user/info`.
pub fn tiktok_user(username: &str) -> TiktokUser {
    let h = hash(&["tt-profile", username]);
    let sec_uid = format!("MS4wDemo{:016x}", hash(&["secuid", username]));
    let avatar = format!("https://demo.cicero.invalid/tt/{username}.jpg");
    let (followers, following, heart, videos) = (
        (2_000 + h % 80_000) as i64,
        (5 + h % 200) as i64,
        (10_000 + h % 900_000) as i64,
        (100 + h % 900) as i64,
    );
    let raw = json!({"userInfo": {
        "user": {"uniqueId": username, "secUid": sec_uid, "nickname": format!("Demo {username}"),
                 "signature": format!("Akun resmi demo {username}"), "avatarThumb": avatar,
                 "avatarLarger": avatar, "verified": true},
        "stats": {"followerCount": followers, "followingCount": following, "heart": heart,
                  "heartCount": heart, "videoCount": videos}
    }, "demo": true});
    TiktokUser {
        unique_id: username.to_string(),
        sec_uid,
        nickname: Some(format!("Demo {username}")),
        avatar_thumb: Some(avatar.clone()),
        avatar_larger: Some(avatar),
        signature: Some(format!("Akun resmi demo {username}")),
        verified: true,
        follower_count: Some(followers),
        following_count: Some(following),
        heart: Some(heart),
        video_count: Some(videos),
        raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn posts_are_deterministic_and_only_past_slots() {
        // 2026-11-25 11:00 WIB: 00:15, 07:30 and 10:00 have passed.
        let now = t("2026-11-25T04:00:00Z");
        let a = post_slots("polres.demo.a", now);
        assert_eq!(a, post_slots("polres.demo.a", now));
        assert!(a.iter().all(|(_, at)| *at <= now));
        let today: Vec<_> = a
            .iter()
            .filter(|(_, at)| jakarta_day(*at) == jakarta_day(now))
            .collect();
        assert_eq!(today.len(), 3, "{a:?}");
        // Yesterday's 19:30 post is always there, for the jobs to leave out.
        assert!(
            a.iter().any(|(_, at)| *at == t("2026-11-24T12:30:00Z")),
            "{a:?}"
        );
        // At 00:05 WIB nothing of the new day exists yet.
        let early = post_slots("polres.demo.a", t("2026-11-24T17:05:00Z"));
        assert_eq!(early.len(), 1);
    }

    #[test]
    fn ids_and_engagers() {
        let code = shortcode("x|2026-11-25|0");
        assert_eq!(code.len(), 11);
        assert_ne!(code, shortcode("x|2026-11-25|1"));
        let vid = video_id("x|2026-11-25|0");
        assert_eq!(vid.len(), 19);
        assert!(vid.chars().all(|c| c.is_ascii_digit()));
        let likers = engagers(&code, false);
        assert_eq!(likers, engagers(&code, false));
        assert!(likers.len() >= 20);
        // Over a few posts every demo person likes something and skips something.
        let posts: Vec<String> = (0..12).map(|i| shortcode(&format!("p{i}"))).collect();
        for p in crate::demo::PERSONNEL {
            let liked = posts
                .iter()
                .filter(|c| engagers(c, false).contains(&p.insta.to_string()))
                .count();
            assert!(
                liked > 0 && liked < posts.len(),
                "{} liked {liked}",
                p.insta
            );
        }
        // TikTok commenters come as sent by the provider: no '@'.
        assert!(engagers(&vid, true).iter().all(|h| !h.starts_with('@')));
    }
}

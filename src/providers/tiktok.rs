//! TikTok through RapidAPI `tiktok-api23.p.rapidapi.com` (legacy `tiktokRapidService.js`).
//!
//! Fallbacks, as the legacy code does them:
//! - host fallback (posts only): when the primary `api/user/posts` returns an empty list or
//!   fails, and the fallback target is configured, `GET <fallback>/user/videos` with the same
//!   parameters (including `count`);
//! - a by-username call that fails with "missing required params" is retried once by secUid
//!   (resolved through `api/user/info`);
//! - the *username* fallback of the post fetcher runs only inside the Jakarta window
//!   [`in_username_fallback_window`] (11:00–17:15 inclusive), see [`TiktokClient::client_posts`].
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Timelike, Utc};
use chrono_tz::Asia::Jakarta;
use serde_json::Value;

use super::{
    Http, KEY_SETTING, ProviderError, Target, Timeouts, as_string, at, error::quote_json,
    first_array, first_bool, first_i64, first_string, unix_seconds,
};

/// The legacy primary host.
pub const HOST: &str = "tiktok-api23.p.rapidapi.com";
/// Posts per call in the legacy fetcher.
pub const POSTS_COUNT: u32 = 35;
/// Comments per page (the cursor advances by this much).
pub const COMMENTS_PAGE: i64 = 50;
const POSTS_PATH: &str = "api/user/posts";
const FALLBACK_POSTS_PATH: &str = "user/videos";

/// `api/user/info` → `userInfo.user` / `userInfo.stats`.
#[derive(Debug, Clone, PartialEq)]
pub struct TiktokUser {
    pub unique_id: String,
    pub sec_uid: String,
    pub nickname: Option<String>,
    pub avatar_thumb: Option<String>,
    /// `avatarLarger` (the dashboard's profile picture), else `avatarMedium`.
    pub avatar_larger: Option<String>,
    /// The bio (`signature`).
    pub signature: Option<String>,
    pub verified: bool,
    pub follower_count: Option<i64>,
    pub following_count: Option<i64>,
    /// Total likes received (`stats.heart`).
    pub heart: Option<i64>,
    pub video_count: Option<i64>,
    /// The whole body as received (`userInfo…`), for the dashboard's `rapid-profile`.
    pub raw: Value,
}

/// One video, mapped as the legacy upsert into `tiktok_post` does.
#[derive(Debug, Clone, PartialEq)]
pub struct TiktokPost {
    /// `id | video_id | aweme_id`.
    pub video_id: String,
    /// `desc | caption`.
    pub caption: Option<String>,
    /// `createTime | create_time | timestamp` (unix seconds).
    pub created_at: DateTime<Utc>,
    /// `stats.diggCount`.
    pub like_count: i64,
    /// `stats.commentCount`.
    pub comment_count: i64,
    pub raw: Value,
}

/// Which account `api/user/posts` is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostsBy {
    /// `secUid=…`
    SecUid(String),
    /// `uniqueId=…&username=…` (both set to the handle).
    Username(String),
}

/// One page of `api/post/comments`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentsPage {
    /// `user.unique_id`, else `username`, as sent.
    pub usernames: Vec<String>,
    /// `data.total` (or `total`).
    pub total: Option<i64>,
}

/// What [`TiktokClient::client_posts`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientPosts {
    pub posts: Vec<TiktokPost>,
    /// The by-username call ran (and its result is `posts`).
    pub used_username_fallback: bool,
    /// The by-username call was wanted but the Jakarta time was outside the window.
    pub skipped_outside_window: bool,
}

/// Pacing of the comment pager; the legacy values are the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentPacing {
    /// Wait between pages (legacy 2 s).
    pub page_delay: Duration,
    /// Tries per page on 5xx / no response / connection errors (legacy 3).
    pub tries: u32,
    /// First wait between tries, doubled each time (legacy 500 ms).
    pub retry_base: Duration,
    /// Safety bound on pages per video.
    pub max_pages: usize,
}

impl Default for CommentPacing {
    fn default() -> Self {
        CommentPacing {
            page_delay: Duration::from_secs(2),
            tries: 3,
            retry_base: Duration::from_millis(500),
            max_pages: 200,
        }
    }
}

/// True when the Jakarta wall-clock time is inside the username-fallback window, 11:00 to
/// 17:15 *inclusive*, compared at minute resolution like the legacy code (17:15:59 is in,
/// 17:16 is out).
pub fn in_username_fallback_window(jakarta_time: NaiveTime) -> bool {
    let minutes = jakarta_time.hour() * 60 + jakarta_time.minute();
    (11 * 60..=17 * 60 + 15).contains(&minutes)
}

/// [`in_username_fallback_window`] for an instant.
pub fn username_fallback_allowed_at(now: DateTime<Utc>) -> bool {
    in_username_fallback_window(now.with_timezone(&Jakarta).time())
}

/// True when `t` falls on the same Asia/Jakarta calendar day as `now`.
pub fn is_jakarta_today(t: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    crate::domain::time::jakarta_day(t) == crate::domain::time::jakarta_day(now)
}

#[derive(Debug, Clone)]
pub struct TiktokClient {
    http: Http,
    primary: Target,
    fallback: Option<Target>,
    pacing: CommentPacing,
}

impl TiktokClient {
    pub fn new(
        primary: Target,
        fallback: Option<Target>,
        timeouts: Timeouts,
    ) -> Result<Self, ProviderError> {
        Ok(TiktokClient {
            http: Http::new(timeouts)?,
            primary,
            fallback,
            pacing: CommentPacing::default(),
        })
    }

    /// The production client: `https://tiktok-api23.p.rapidapi.com` with `RAPIDAPI_KEY`
    /// (missing → [`ProviderError::Config`]); fallback when both `RAPIDAPI_FALLBACK_HOST` and
    /// `RAPIDAPI_FALLBACK_KEY` are set.
    pub fn from_settings(
        key: Option<&str>,
        fallback_host: Option<&str>,
        fallback_key: Option<&str>,
        timeouts: Timeouts,
    ) -> Result<Self, ProviderError> {
        let primary = Target::rapidapi(HOST, key, KEY_SETTING)?;
        TiktokClient::new(
            primary,
            Target::fallback(fallback_host, fallback_key),
            timeouts,
        )
    }

    pub fn with_comment_pacing(mut self, pacing: CommentPacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// `api/user/info?uniqueId=…`.
    pub async fn user_info(&self, username: &str) -> Result<TiktokUser, ProviderError> {
        const PATH: &str = "api/user/info";
        let body = self
            .http
            .get_json(&self.primary, PATH, &[("uniqueId", username.to_string())])
            .await?;
        parse_user_info(&body).map_err(|m| ProviderError::payload(&self.primary.host, PATH, m))
    }

    /// The account's secUid (`userInfo.user.secUid`).
    pub async fn sec_uid(&self, username: &str) -> Result<String, ProviderError> {
        Ok(self.user_info(username).await?.sec_uid)
    }

    async fn primary_posts(
        &self,
        by: &PostsBy,
        count: u32,
    ) -> Result<Vec<TiktokPost>, ProviderError> {
        let body = self
            .http
            .get_json(&self.primary, POSTS_PATH, &posts_query(by, count))
            .await?;
        parse_posts(&body).map_err(|m| ProviderError::payload(&self.primary.host, POSTS_PATH, m))
    }

    /// `api/user/posts` (first page, `cursor=0`), with the legacy fallbacks: a by-username
    /// call refused with "missing required params" is retried by secUid; then, if the result
    /// is empty or an error and the fallback is configured, `<fallback>/user/videos` with the
    /// same parameters. When the fallback fails too, the primary's error is returned (or the
    /// fallback's, if the primary had answered with an empty list).
    pub async fn user_posts(
        &self,
        by: &PostsBy,
        count: u32,
    ) -> Result<Vec<TiktokPost>, ProviderError> {
        let mut primary = self.primary_posts(by, count).await;
        if let (PostsBy::Username(name), Err(e)) = (by, &primary)
            && is_missing_params(e)
        {
            tracing::info!(username = %name, "tiktok: posts by username refused, retrying by secUid");
            primary = match self.sec_uid(name).await {
                Ok(sec) => self.primary_posts(&PostsBy::SecUid(sec), count).await,
                Err(e) => Err(e),
            };
        }
        let needs_fallback = match &primary {
            Ok(posts) => posts.is_empty(),
            Err(_) => true,
        };
        let Some(fb) = self.fallback.as_ref().filter(|_| needs_fallback) else {
            return primary;
        };
        tracing::warn!(fallback = %fb.host, primary_error = ?primary.as_ref().err().map(ToString::to_string), "tiktok: primary posts empty or failed, trying the fallback host");
        let fallback = self
            .http
            .get_json(fb, FALLBACK_POSTS_PATH, &posts_query(by, count))
            .await
            .and_then(|body| {
                parse_posts(&body)
                    .map_err(|m| ProviderError::payload(&fb.host, FALLBACK_POSTS_PATH, m))
            });
        match (primary, fallback) {
            (_, Ok(posts)) => Ok(posts),
            (Err(p), Err(f)) => {
                tracing::warn!(error = %f, "tiktok: fallback posts failed too");
                Err(p)
            }
            (Ok(_), Err(f)) => Err(f),
        }
    }

    /// The legacy post fetch for one client: by secUid first; then the username fallback
    /// (at most once) when that result is an error, empty, or has nothing from today's
    /// Jakarta date — but only inside [`in_username_fallback_window`] at `now`. Outside the
    /// window the primary outcome stands.
    pub async fn client_posts(
        &self,
        sec_uid: &str,
        username: &str,
        count: u32,
        now: DateTime<Utc>,
    ) -> Result<ClientPosts, ProviderError> {
        let primary = self
            .user_posts(&PostsBy::SecUid(sec_uid.to_string()), count)
            .await;
        let wanted = match &primary {
            Ok(posts) => !posts.iter().any(|p| is_jakarta_today(p.created_at, now)),
            Err(_) => true,
        };
        if !wanted {
            return primary.map(|posts| ClientPosts {
                posts,
                used_username_fallback: false,
                skipped_outside_window: false,
            });
        }
        if !username_fallback_allowed_at(now) {
            tracing::info!(
                username,
                "tiktok: username fallback skipped outside 11:00-17:15 WIB"
            );
            return primary.map(|posts| ClientPosts {
                posts,
                used_username_fallback: false,
                skipped_outside_window: true,
            });
        }
        match self
            .user_posts(&PostsBy::Username(username.to_string()), count)
            .await
        {
            Ok(posts) => Ok(ClientPosts {
                posts,
                used_username_fallback: true,
                skipped_outside_window: false,
            }),
            Err(e) => match primary {
                Ok(posts) => {
                    tracing::warn!(error = %e, "tiktok: username fallback failed; keeping the secUid result");
                    Ok(ClientPosts {
                        posts,
                        used_username_fallback: false,
                        skipped_outside_window: false,
                    })
                }
                Err(p) => Err(p),
            },
        }
    }

    /// One page of `api/post/comments?videoId=…&count=50&cursor=…`, retried (per the legacy
    /// pager) on 5xx and I/O failures with a doubling wait; 429 and 4xx are returned at once.
    pub async fn comments_page(
        &self,
        video_id: &str,
        cursor: i64,
    ) -> Result<CommentsPage, ProviderError> {
        const PATH: &str = "api/post/comments";
        let query = [
            ("videoId", video_id.to_string()),
            ("count", COMMENTS_PAGE.to_string()),
            ("cursor", cursor.to_string()),
        ];
        let mut wait = self.pacing.retry_base;
        let mut attempt = 1;
        loop {
            match self.http.get_json(&self.primary, PATH, &query).await {
                Ok(body) => {
                    return parse_comments_page(&body)
                        .map_err(|m| ProviderError::payload(&self.primary.host, PATH, m));
                }
                Err(e @ ProviderError::Transient { .. }) if attempt < self.pacing.tries => {
                    tracing::warn!(video_id, cursor, attempt, error = %e, "tiktok: comment page failed, retrying");
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// All commenters' usernames (as sent): the cursor advances by 50 while the page is
    /// non-empty and the next cursor is within `total` (when `total` is given).
    pub async fn comments(&self, video_id: &str) -> Result<Vec<String>, ProviderError> {
        let mut out = Vec::new();
        let mut cursor = 0_i64;
        for page_no in 0..self.pacing.max_pages {
            if page_no > 0 && !self.pacing.page_delay.is_zero() {
                tokio::time::sleep(self.pacing.page_delay).await;
            }
            let page = self.comments_page(video_id, cursor).await?;
            if page.usernames.is_empty() {
                break;
            }
            out.extend(page.usernames);
            cursor = cursor.saturating_add(COMMENTS_PAGE);
            if page.total.is_some_and(|total| cursor > total) {
                break;
            }
        }
        Ok(out)
    }

    /// `api/post/detail?videoId=…` → `itemInfo.itemStruct`.
    pub async fn post_detail(&self, video_id: &str) -> Result<TiktokPost, ProviderError> {
        const PATH: &str = "api/post/detail";
        let body = self
            .http
            .get_json(&self.primary, PATH, &[("videoId", video_id.to_string())])
            .await?;
        at(&body, "itemInfo.itemStruct")
            .filter(|v| v.is_object())
            .ok_or_else(|| {
                format!(
                    "no object at `itemInfo.itemStruct` in {}",
                    quote_json(&body)
                )
            })
            .and_then(parse_post)
            .map_err(|m| ProviderError::payload(&self.primary.host, PATH, m))
    }
}

fn posts_query(by: &PostsBy, count: u32) -> Vec<(&'static str, String)> {
    let mut q = match by {
        PostsBy::SecUid(s) => vec![("secUid", s.clone())],
        PostsBy::Username(u) => vec![("uniqueId", u.clone()), ("username", u.clone())],
    };
    q.push(("count", count.to_string()));
    q.push(("cursor", "0".to_string()));
    q
}

fn is_missing_params(e: &ProviderError) -> bool {
    let text = match e {
        ProviderError::Permanent { body, .. } => body.as_str(),
        ProviderError::Payload { message, .. } => message.as_str(),
        _ => return false,
    };
    text.to_ascii_lowercase().contains("missing required param")
}

/// `userInfo.user.{uniqueId, secUid, nickname, avatarThumb, verified}` and
/// `userInfo.stats.{followerCount, followingCount, heart, videoCount}`.
pub fn parse_user_info(body: &Value) -> Result<TiktokUser, String> {
    let user = at(body, "userInfo.user")
        .filter(|u| u.is_object())
        .ok_or_else(|| format!("no object at `userInfo.user` in {}", quote_json(body)))?;
    let sec_uid = first_string(user, &["secUid"])
        .ok_or_else(|| format!("user has no `secUid`: {}", quote_json(user)))?;
    let stats = at(body, "userInfo.stats").cloned().unwrap_or(Value::Null);
    Ok(TiktokUser {
        unique_id: first_string(user, &["uniqueId"]).unwrap_or_default(),
        sec_uid,
        nickname: first_string(user, &["nickname"]),
        avatar_thumb: first_string(user, &["avatarThumb"]),
        avatar_larger: first_string(user, &["avatarLarger", "avatarMedium"]),
        signature: first_string(user, &["signature"]),
        verified: first_bool(user, &["verified"]).unwrap_or(false),
        follower_count: first_i64(&stats, &["followerCount"]),
        following_count: first_i64(&stats, &["followingCount"]),
        heart: first_i64(&stats, &["heart", "heartCount"]),
        video_count: first_i64(&stats, &["videoCount"]),
        raw: body.clone(),
    })
}

/// The item list from the first of `data.data.itemList`, `data.itemList`, `data.items`,
/// `result.videos`, `videos` that is an array.
pub fn parse_posts(body: &Value) -> Result<Vec<TiktokPost>, String> {
    let items = first_array(
        body,
        &["data.data.itemList", "data.itemList", "data.items", "result.videos", "videos"],
    )
    .ok_or_else(|| {
        format!(
            "no item list (data.data.itemList / data.itemList / data.items / result.videos / videos) in {}",
            quote_json(body)
        )
    })?;
    items.iter().map(parse_post).collect()
}

/// One video: `id | video_id | aweme_id`, `createTime | create_time | timestamp`,
/// `desc | caption`, `stats.diggCount`, `stats.commentCount`.
pub fn parse_post(item: &Value) -> Result<TiktokPost, String> {
    if !item.is_object() {
        return Err(format!("video item is not an object: {}", quote_json(item)));
    }
    let video_id = first_string(item, &["id", "video_id", "aweme_id"]).ok_or_else(|| {
        format!(
            "video item has no id/video_id/aweme_id: {}",
            quote_json(item)
        )
    })?;
    Ok(TiktokPost {
        video_id,
        caption: first_string(item, &["desc", "caption"]),
        created_at: unix_seconds(item, &["createTime", "create_time", "timestamp"])?,
        like_count: first_i64(item, &["stats.diggCount"]).unwrap_or(0),
        comment_count: first_i64(item, &["stats.commentCount"]).unwrap_or(0),
        raw: item.clone(),
    })
}

/// `data.comments` (or `comments`), `data.total` (or `total`); per comment `user.unique_id`,
/// else `username`. A comment without either is an error.
pub fn parse_comments_page(body: &Value) -> Result<CommentsPage, String> {
    let comments = first_array(body, &["data.comments", "comments"]).ok_or_else(|| {
        format!(
            "no array at `data.comments` / `comments` in {}",
            quote_json(body)
        )
    })?;
    let usernames = comments
        .iter()
        .map(|c| {
            at(c, "user.unique_id")
                .or_else(|| at(c, "username"))
                .and_then(as_string)
                .ok_or_else(|| format!("comment has no user.unique_id/username: {}", quote_json(c)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CommentsPage {
        usernames,
        total: first_i64(body, &["data.total", "total"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn username_fallback_window() {
        let cases = [
            ((0, 0, 0), false),
            ((10, 59, 59), false),
            ((11, 0, 0), true),
            ((11, 0, 1), true),
            ((14, 30, 0), true),
            ((17, 14, 59), true),
            ((17, 15, 0), true),
            ((17, 15, 59), true),
            ((17, 16, 0), false),
            ((23, 59, 59), false),
        ];
        for ((h, m, s), want) in cases {
            let t = NaiveTime::from_hms_opt(h, m, s).unwrap();
            assert_eq!(in_username_fallback_window(t), want, "{t}");
        }
        // 04:00Z = 11:00 WIB; 10:15Z = 17:15 WIB; 10:16Z = 17:16 WIB.
        for (utc, want) in [
            ("2026-03-02T03:59:59Z", false),
            ("2026-03-02T04:00:00Z", true),
            ("2026-03-02T10:15:00Z", true),
            ("2026-03-02T10:16:00Z", false),
        ] {
            assert_eq!(
                username_fallback_allowed_at(utc.parse().unwrap()),
                want,
                "{utc}"
            );
        }
    }

    #[test]
    fn jakarta_today_boundary() {
        let now: DateTime<Utc> = "2026-03-02T05:00:00Z".parse().unwrap(); // 12:00 WIB, 2 March
        for (t, want) in [
            ("2026-03-01T16:59:59Z", false), // 23:59:59 WIB 1 March
            ("2026-03-01T17:00:00Z", true),  // 00:00 WIB 2 March
            ("2026-03-02T16:59:59Z", true),
            ("2026-03-02T17:00:00Z", false),
        ] {
            assert_eq!(is_jakarta_today(t.parse().unwrap(), now), want, "{t}");
        }
    }

    #[test]
    fn list_alternatives() {
        let item = json!({"video_id": "9", "create_time": "1700000000", "caption": "c"});
        for body in [
            json!({"data": {"data": {"itemList": [item]}}}),
            json!({"data": {"itemList": [item]}}),
            json!({"data": {"items": [item]}}),
            json!({"result": {"videos": [item]}}),
            json!({"videos": [item]}),
            json!({"data": {"itemList": "x"}, "videos": [item]}),
        ] {
            let posts = parse_posts(&body).unwrap();
            assert_eq!(posts.len(), 1, "{body}");
            assert_eq!(posts[0].video_id, "9");
            assert_eq!(posts[0].caption.as_deref(), Some("c"));
            assert_eq!(posts[0].created_at.timestamp(), 1_700_000_000);
        }
        let p = parse_post(
            &json!({"aweme_id": 5, "timestamp": 2, "stats": {"diggCount": 3, "commentCount": 4}}),
        )
        .unwrap();
        assert_eq!(
            (p.video_id.as_str(), p.like_count, p.comment_count),
            ("5", 3, 4)
        );
        assert!(
            parse_posts(&json!({"data": {}}))
                .unwrap_err()
                .contains("{\"data\":{}}")
        );
    }

    #[test]
    fn comments_alternatives() {
        let page = parse_comments_page(
            &json!({"comments": [{"user": {"unique_id": "a"}}, {"username": "b"}], "total": 2}),
        )
        .unwrap();
        assert_eq!(page.usernames, vec!["a", "b"]);
        assert_eq!(page.total, Some(2));
        assert!(
            parse_comments_page(&json!({"data": {"comments": [{"text": "hi"}]}}))
                .unwrap_err()
                .contains("hi")
        );
    }
}

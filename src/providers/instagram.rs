//! Instagram through RapidAPI `social-api4.p.rapidapi.com` (legacy `instaRapidService.js`).
//!
//! Fallback: only when the primary answers HTTP 401 or 403, the same path and query are sent
//! once to the fallback target (`RAPIDAPI_FALLBACK_HOST` + `RAPIDAPI_FALLBACK_KEY`, both set).
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    Http, KEY_SETTING, ProviderError, Target, Timeouts, as_string, at, error::quote_json, first,
    first_array, first_bool, first_i64, first_string, unix_seconds,
};

/// The legacy primary host.
pub const HOST: &str = "social-api4.p.rapidapi.com";
/// The legacy fetcher pulls at most this many posts per account.
pub const POSTS_LIMIT: usize = 50;
/// The legacy likes fetcher reads at most this many pages per post.
pub const LIKES_MAX_PAGES: usize = 20;

/// One post, mapped as the legacy upsert into `insta_post` does.
#[derive(Debug, Clone, PartialEq)]
pub struct InstaPost {
    /// `code` (the shortcode in `/p/<code>/`); the upsert key.
    pub shortcode: String,
    /// `id` or `pk`, when present.
    pub id: Option<String>,
    /// `caption.text` or a plain `caption` string.
    pub caption: Option<String>,
    /// `taken_at` (unix seconds).
    pub created_at: DateTime<Utc>,
    pub like_count: i64,
    pub comment_count: i64,
    /// `thumbnail_url | thumbnail_src | display_url | image_versions.items[0].url`.
    pub thumbnail_url: Option<String>,
    pub is_video: bool,
    /// `video_url | video_versions[0].url`.
    pub video_url: Option<String>,
    /// The carousel image urls, else the single image.
    pub image_urls: Vec<String>,
    /// `carousel_media` has more than one entry.
    pub is_carousel: bool,
    /// The item as received (for the extended post rows).
    pub raw: Value,
}

/// One page of `v1/posts`.
#[derive(Debug, Clone, PartialEq)]
pub struct PostsPage {
    pub posts: Vec<InstaPost>,
    /// Top-level `pagination_token`.
    pub next_token: Option<String>,
    /// Top-level `has_more`.
    pub has_more: bool,
}

/// `v1/info` → `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstaProfile {
    /// `pk` or `id`.
    pub id: Option<String>,
    pub username: String,
    pub full_name: Option<String>,
    pub biography: Option<String>,
    /// `followers_count` or `follower_count`.
    pub followers: Option<i64>,
    pub following: Option<i64>,
    pub media_count: Option<i64>,
    pub is_private: bool,
    pub is_verified: bool,
    /// `profile_pic_url_hd` or `profile_pic_url`.
    pub profile_pic_url: Option<String>,
    pub raw: Value,
}

/// One page of `v1/likes`.
#[derive(Debug, Clone, PartialEq)]
pub struct LikesPage {
    /// `data.items[].username`, as sent (normalising is the caller's).
    pub usernames: Vec<String>,
    /// `data.next_cursor` or `data.end_cursor`.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

#[derive(Debug, Clone)]
pub struct InstagramClient {
    http: Http,
    primary: Target,
    fallback: Option<Target>,
}

impl InstagramClient {
    pub fn new(
        primary: Target,
        fallback: Option<Target>,
        timeouts: Timeouts,
    ) -> Result<Self, ProviderError> {
        Ok(InstagramClient {
            http: Http::new(timeouts)?,
            primary,
            fallback,
        })
    }

    /// The production client from the settings' values: `https://social-api4.p.rapidapi.com`
    /// with `RAPIDAPI_KEY` (missing → [`ProviderError::Config`]), fallback when both
    /// `RAPIDAPI_FALLBACK_HOST` and `RAPIDAPI_FALLBACK_KEY` are set.
    pub fn from_settings(
        key: Option<&str>,
        fallback_host: Option<&str>,
        fallback_key: Option<&str>,
        timeouts: Timeouts,
    ) -> Result<Self, ProviderError> {
        let primary = Target::rapidapi(HOST, key, KEY_SETTING)?;
        InstagramClient::new(
            primary,
            Target::fallback(fallback_host, fallback_key),
            timeouts,
        )
    }

    /// GET on the primary; on 401/403 exactly once more on the fallback, if configured.
    /// Returns the body and the host that answered (for error messages).
    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(Value, &str), ProviderError> {
        match self.http.get_json(&self.primary, path, query).await {
            Ok(v) => Ok((v, &self.primary.host)),
            Err(e) if matches!(e.status(), Some(401 | 403)) => match &self.fallback {
                Some(fb) => {
                    tracing::warn!(path, status = ?e.status(), fallback = %fb.host, "instagram: primary refused, trying the fallback host");
                    let v = self.http.get_json(fb, path, query).await?;
                    Ok((v, &fb.host))
                }
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// One page of `v1/posts?username_or_id_or_url=…[&pagination_token=…]`.
    pub async fn posts_page(
        &self,
        username: &str,
        token: Option<&str>,
    ) -> Result<PostsPage, ProviderError> {
        const PATH: &str = "v1/posts";
        let mut query = vec![("username_or_id_or_url", username.to_string())];
        if let Some(t) = token {
            query.push(("pagination_token", t.to_string()));
        }
        let (body, host) = self.get(PATH, &query).await?;
        parse_posts_page(&body).map_err(|m| ProviderError::payload(host, PATH, m))
    }

    /// Posts page by page until `limit` posts, `has_more` false, or no (or a repeated) token.
    pub async fn posts(
        &self,
        username: &str,
        limit: usize,
    ) -> Result<Vec<InstaPost>, ProviderError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        while out.len() < limit {
            let page = self.posts_page(username, token.as_deref()).await?;
            let empty = page.posts.is_empty();
            out.extend(page.posts);
            match page.next_token {
                Some(t) if page.has_more && !empty && seen.insert(t.clone()) => token = Some(t),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// `v1/info?username_or_id_or_url=…`.
    pub async fn profile(&self, username: &str) -> Result<InstaProfile, ProviderError> {
        const PATH: &str = "v1/info";
        let (body, host) = self
            .get(PATH, &[("username_or_id_or_url", username.to_string())])
            .await?;
        parse_profile(&body).map_err(|m| ProviderError::payload(host, PATH, m))
    }

    /// One page of `v1/likes?code_or_id_or_url=…[&cursor=…]`.
    pub async fn likes_page(
        &self,
        shortcode: &str,
        cursor: Option<&str>,
    ) -> Result<LikesPage, ProviderError> {
        const PATH: &str = "v1/likes";
        let mut query = vec![("code_or_id_or_url", shortcode.to_string())];
        if let Some(c) = cursor {
            query.push(("cursor", c.to_string()));
        }
        let (body, host) = self.get(PATH, &query).await?;
        parse_likes_page(&body).map_err(|m| ProviderError::payload(host, PATH, m))
    }

    /// Likers' usernames over at most `max_pages` pages (legacy: [`LIKES_MAX_PAGES`]), following
    /// the cursor while `has_more`. Usernames are returned as sent, in order, with repeats.
    pub async fn likes(
        &self,
        shortcode: &str,
        max_pages: usize,
    ) -> Result<Vec<String>, ProviderError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..max_pages {
            let page = self.likes_page(shortcode, cursor.as_deref()).await?;
            out.extend(page.usernames);
            match page.next_cursor {
                Some(c) if page.has_more && seen.insert(c.clone()) => cursor = Some(c),
                _ => break,
            }
        }
        Ok(out)
    }

    /// `v1/post_info?code_or_id_or_url=…` → `data`, mapped like a posts item.
    pub async fn post_info(&self, code_or_url: &str) -> Result<InstaPost, ProviderError> {
        const PATH: &str = "v1/post_info";
        let (body, host) = self
            .get(PATH, &[("code_or_id_or_url", code_or_url.to_string())])
            .await?;
        let data = at(&body, "data")
            .filter(|d| d.is_object())
            .ok_or_else(|| format!("no object at `data` in {}", quote_json(&body)))
            .and_then(parse_post)
            .map_err(|m| ProviderError::payload(host, PATH, m))?;
        Ok(data)
    }
}

/// `data.items[]` plus top-level `pagination_token` / `has_more` (also accepted under `data`).
pub fn parse_posts_page(body: &Value) -> Result<PostsPage, String> {
    let items = first_array(body, &["data.items"])
        .ok_or_else(|| format!("no array at `data.items` in {}", quote_json(body)))?;
    let posts = items
        .iter()
        .map(parse_post)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PostsPage {
        posts,
        next_token: first_string(body, &["pagination_token", "data.pagination_token"]),
        has_more: first_bool(body, &["has_more", "data.has_more"]).unwrap_or(false),
    })
}

/// One post item (from `v1/posts` `data.items[]` or `v1/post_info` `data`).
pub fn parse_post(item: &Value) -> Result<InstaPost, String> {
    if !item.is_object() {
        return Err(format!("post item is not an object: {}", quote_json(item)));
    }
    let shortcode = first_string(item, &["code", "shortcode"])
        .ok_or_else(|| format!("post item has no `code`: {}", quote_json(item)))?;
    let created_at = unix_seconds(item, &["taken_at", "taken_at_timestamp"])?;
    let caption = match first(item, &["caption"]) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(c @ Value::Object(_)) => first_string(c, &["text"]),
        _ => None,
    };
    let image_of = |v: &Value| {
        first_string(
            v,
            &[
                "thumbnail_url",
                "thumbnail_src",
                "display_url",
                "image_versions.items.0.url",
                "image_versions2.candidates.0.url",
            ],
        )
    };
    let thumbnail_url = image_of(item);
    let carousel = first_array(item, &["carousel_media"]);
    let image_urls: Vec<String> = match carousel {
        Some(c) if !c.is_empty() => c.iter().filter_map(image_of).collect(),
        _ => thumbnail_url.iter().cloned().collect(),
    };
    Ok(InstaPost {
        id: first_string(item, &["id", "pk"]),
        shortcode,
        caption,
        created_at,
        like_count: first_i64(item, &["like_count"]).unwrap_or(0),
        comment_count: first_i64(item, &["comment_count"]).unwrap_or(0),
        thumbnail_url,
        is_video: first_bool(item, &["is_video"]).unwrap_or(false),
        video_url: first_string(item, &["video_url", "video_versions.0.url"]),
        image_urls,
        is_carousel: carousel.is_some_and(|c| c.len() > 1),
        raw: item.clone(),
    })
}

/// `v1/info` → `data`.
pub fn parse_profile(body: &Value) -> Result<InstaProfile, String> {
    let data = at(body, "data")
        .filter(|d| d.is_object())
        .ok_or_else(|| format!("no object at `data` in {}", quote_json(body)))?;
    let username = first_string(data, &["username"])
        .ok_or_else(|| format!("profile has no `username`: {}", quote_json(data)))?;
    Ok(InstaProfile {
        id: first_string(data, &["pk", "id", "pk_id"]),
        username,
        full_name: first_string(data, &["full_name"]),
        biography: first_string(data, &["biography"]),
        followers: first_i64(data, &["followers_count", "follower_count"]),
        following: first_i64(data, &["following_count"]),
        media_count: first_i64(data, &["media_count"]),
        is_private: first_bool(data, &["is_private"]).unwrap_or(false),
        is_verified: first_bool(data, &["is_verified"]).unwrap_or(false),
        profile_pic_url: first_string(data, &["profile_pic_url_hd", "profile_pic_url"]),
        raw: data.clone(),
    })
}

/// `data.items[].username`, `data.next_cursor` (or `end_cursor`), `data.has_more`.
pub fn parse_likes_page(body: &Value) -> Result<LikesPage, String> {
    let items = first_array(body, &["data.items"])
        .ok_or_else(|| format!("no array at `data.items` in {}", quote_json(body)))?;
    let usernames = items
        .iter()
        .map(|i| {
            at(i, "username")
                .and_then(as_string)
                .ok_or_else(|| format!("liker has no `username`: {}", quote_json(i)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LikesPage {
        usernames,
        next_cursor: first_string(body, &["data.next_cursor", "data.end_cursor"]),
        has_more: first_bool(body, &["data.has_more"]).unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn post_mapping_alternatives() {
        let single = json!({
            "code": "ABC", "pk": 123, "taken_at": 1_700_000_000, "caption": "plain",
            "display_url": "https://x/d.jpg", "video_versions": [{"url": "https://x/v.mp4"}],
            "is_video": true, "like_count": "7"
        });
        let p = parse_post(&single).unwrap();
        assert_eq!(p.shortcode, "ABC");
        assert_eq!(p.id.as_deref(), Some("123"));
        assert_eq!(p.caption.as_deref(), Some("plain"));
        assert_eq!(p.thumbnail_url.as_deref(), Some("https://x/d.jpg"));
        assert_eq!(p.video_url.as_deref(), Some("https://x/v.mp4"));
        assert_eq!(p.image_urls, vec!["https://x/d.jpg".to_string()]);
        assert_eq!(
            (p.like_count, p.comment_count, p.is_carousel),
            (7, 0, false)
        );

        let carousel = json!({
            "code": "C", "taken_at": 1, "caption": {"text": "t"},
            "image_versions": {"items": [{"url": "https://x/i0.jpg"}]},
            "carousel_media": [
                {"image_versions": {"items": [{"url": "https://x/c1.jpg"}]}},
                {"thumbnail_url": "https://x/c2.jpg"}
            ]
        });
        let p = parse_post(&carousel).unwrap();
        assert_eq!(p.caption.as_deref(), Some("t"));
        assert_eq!(p.thumbnail_url.as_deref(), Some("https://x/i0.jpg"));
        assert_eq!(p.image_urls, vec!["https://x/c1.jpg", "https://x/c2.jpg"]);
        assert!(p.is_carousel);
    }

    #[test]
    fn bad_items_are_quoted_not_panics() {
        for bad in [
            json!(null),
            json!([1]),
            json!({"taken_at": 1}),
            json!({"code": "x"}),
        ] {
            let e = parse_post(&bad).unwrap_err();
            assert!(e.contains(&bad.to_string()), "{e}");
        }
        assert!(parse_posts_page(&json!({"data": {"items": "nope"}})).is_err());
        assert!(parse_likes_page(&json!({"data": {"items": [{"user": 1}]}})).is_err());
        assert!(parse_profile(&json!({"data": []})).is_err());
    }
}

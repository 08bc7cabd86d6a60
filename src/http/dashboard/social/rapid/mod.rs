//! `GET /api/insta/rapid-profile|rapid-info|rapid-posts` and
//! `GET /api/tiktok/rapid-profile|rapid-info|rapid-posts` (legacy §2.5, §2.6: live RapidAPI
//! proxies; contract §2.3, §2.10).
//!
//! Where an answer comes from, in order:
//! 1. the Redis cache (`profile:<insta|tiktok>:<username>`, `rapid_posts:<platform>:<account>:<limit>`),
//!    kept `RAPID_CACHE_SECS` (legacy had a Redis profile cache);
//! 2. for an Instagram profile, the stored `insta_profile` row when it is younger than that;
//! 3. the configured provider ([`Live`]: the ingestion's `SocialSource`, so the same key,
//!    fallback host, timeouts and the shared `rapidapi:<fingerprint>` rate limit). A live
//!    Instagram profile is upserted as legacy does (`insta_profile`, `instagram_user`,
//!    `instagram_user_metrics`);
//! 4. when the provider fails, stored data if there is any (`stale: true`), else the
//!    provider's failure: 502 (down, timeout, unreadable payload), 429 with `Retry-After`
//!    (its 429, or the shared limit exhausted), 404 (unknown account), 503 (no key).
//!
//! Without a provider (`AppState::social` unset) these answer stored data only.
use std::{sync::Arc, time::Duration};

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::super::{ApiError, dash, ok};
use crate::{
    config::Settings,
    http::{AppState, dashboard::scope::Params},
    ingest::{self, LIMITER_HOST, SocialSource},
    providers::ProviderError,
};

mod instagram;
mod tiktok;

pub use instagram::{
    insta_posts_by_account, insta_profile, stored_insta_profile_for_aggregator,
    upsert_insta_profile,
};
pub use tiktok::{cached_tiktok_profile, tiktok_posts_by_account, tiktok_profile};

/// `Retry-After` when a provider's 429 came without one.
const DEFAULT_RETRY_SECS: u64 = 60;

/// The live provider of the dashboard and how long its answers are cached.
pub struct Live {
    /// `Err`: why there is no provider (e.g. `RAPIDAPI_KEY` missing), answered as 503.
    source: Result<Arc<dyn SocialSource>, ProviderError>,
    ttl: Duration,
}

impl Live {
    pub fn new(source: Arc<dyn SocialSource>, ttl: Duration) -> Self {
        Live {
            source: Ok(source),
            ttl,
        }
    }

    /// The source the settings select (`PROVIDER`, shared with the ingest jobs of this
    /// process) and `RAPID_CACHE_SECS`. A missing key is kept as the error every live call
    /// answers; stored data is still served.
    pub fn from_settings(s: &Settings, pool: &PgPool) -> Self {
        let source = ingest::source(s, pool);
        if let Err(e) = &source {
            tracing::warn!(error = %e, "dashboard rapid-* calls answer stored data only");
        }
        Live {
            source,
            ttl: s.rapid_cache,
        }
    }

    pub fn source(&self) -> Result<&dyn SocialSource, ProviderError> {
        match &self.source {
            Ok(s) => Ok(s.as_ref()),
            Err(e) => Err(e.clone()),
        }
    }

    /// After a failed call: a provider's 429 with `Retry-After` holds the shared rate key,
    /// so the ingest jobs and other requests wait too.
    pub async fn note(&self, e: &ProviderError) {
        tracing::warn!(error = %e, "dashboard live provider call failed");
        if let (ProviderError::RateLimited { host, .. }, Some(after), Ok(src)) =
            (e, e.retry_after(), &self.source)
            && host != LIMITER_HOST
        {
            let until = Utc::now() + chrono::Duration::from_std(after).unwrap_or_default();
            if let Err(b) = src.record_rate_limit(until, &e.to_string()).await {
                tracing::warn!(error = %b, "recording the provider's rate limit failed");
            }
        }
    }
}

/// A failure of a `rapid-*` or special-assignment call.
#[derive(Debug)]
pub enum RapidError {
    Api(ApiError),
    Provider(ProviderError),
}

impl From<ApiError> for RapidError {
    fn from(e: ApiError) -> Self {
        RapidError::Api(e)
    }
}

impl From<sqlx::Error> for RapidError {
    fn from(e: sqlx::Error) -> Self {
        RapidError::Api(e.into())
    }
}

impl From<ProviderError> for RapidError {
    fn from(e: ProviderError) -> Self {
        RapidError::Provider(e)
    }
}

pub type RapidResult = Result<Response, RapidError>;

/// Status, message and `Retry-After` seconds of a provider failure. The message names only
/// the kind of failure: the provider's body, host and path, and the limiter's own database
/// error, stay in the log ([`Live::note`] and the limiter log them).
pub fn provider_status(e: &ProviderError) -> (StatusCode, String, Option<u64>) {
    let gateway = |m: &str| (StatusCode::BAD_GATEWAY, m.to_string(), None);
    match e {
        ProviderError::RateLimited { host, .. } => {
            let secs = e
                .retry_after()
                .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
                .unwrap_or(DEFAULT_RETRY_SECS)
                .max(1);
            let who = if host == LIMITER_HOST {
                "Batas bersama panggilan RapidAPI tercapai"
            } else {
                "RapidAPI membatasi permintaan (HTTP 429)"
            };
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!("{who}; coba lagi dalam {secs} detik"),
                Some(secs),
            )
        }
        ProviderError::Transient { host, .. } if host == LIMITER_HOST => {
            gateway("Penyimpanan batas panggilan RapidAPI tidak tersedia; coba lagi nanti")
        }
        ProviderError::Transient { .. } if e.is_timeout() => {
            gateway("Penyedia data sosial (RapidAPI) tidak menjawab (waktu habis / timeout)")
        }
        ProviderError::Transient { .. } => {
            gateway("Penyedia data sosial (RapidAPI) tidak dapat dihubungi")
        }
        ProviderError::Payload { .. } => {
            gateway("Penyedia data sosial (RapidAPI) mengirim data yang tidak dikenali")
        }
        ProviderError::Permanent { status: 404, .. } => (
            StatusCode::NOT_FOUND,
            "Akun atau konten tidak ditemukan di RapidAPI".into(),
            None,
        ),
        ProviderError::Permanent { status, .. } => (
            StatusCode::BAD_GATEWAY,
            format!("Penyedia data sosial (RapidAPI) menolak permintaan (HTTP {status})"),
            None,
        ),
        ProviderError::Config(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Penyedia data sosial belum dikonfigurasi (RAPIDAPI_KEY belum di-set?)".into(),
            None,
        ),
    }
}

impl IntoResponse for RapidError {
    fn into_response(self) -> Response {
        match self {
            RapidError::Api(e) => e.into_response(),
            RapidError::Provider(e) => {
                let (status, message, retry) = provider_status(&e);
                let mut res = ApiError::new(status, message).into_response();
                if let Some(secs) = retry
                    && let Ok(v) = HeaderValue::from_str(&secs.to_string())
                {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
        }
    }
}

// ---- usernames -------------------------------------------------------------------------------

fn valid_handle(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
}

/// Legacy `normalizeHandleValue` for Instagram: `@name`, `name` or a profile URL
/// (`instagram.com/<name>`, `instagram.com/u/<name>`) → the lower-case name. A post, reel or
/// story link, a link to another site, or anything outside `[a-z0-9._]{1,30}`, is `None`.
pub fn insta_username(raw: &str) -> Option<String> {
    let collapsed: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = collapsed.to_lowercase();
    let name = match profile_path(&lower) {
        Some(path) => {
            let mut segments = path.split('/').filter(|s| !s.is_empty());
            match segments.next()? {
                "u" => segments.next()?.to_string(),
                "p" | "reel" | "reels" | "tv" | "stories" | "explore" => return None,
                other => other.to_string(),
            }
        }
        None if looks_like_url(&lower) => return None,
        None => lower,
    };
    let name = name.strip_prefix('@').unwrap_or(&name).to_string();
    valid_handle(&name, 30).then_some(name)
}

/// Whether the input is written as a URL: a scheme, `www.`, or `instagram.com/` at its start
/// (so a handle such as `instagram.community` stays a handle).
fn looks_like_url(lower: &str) -> bool {
    ["https://", "http://", "www.", "instagram.com/"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// The path of an Instagram URL (`[http(s)://][www.|m.]instagram.com/<path>`), without its
/// query and fragment; `None` when the input is not such a URL.
fn profile_path(lower: &str) -> Option<&str> {
    if !looks_like_url(lower) {
        return None;
    }
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|s| lower.strip_prefix(s))
        .unwrap_or(lower);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, path) = rest.split_at(end);
    (host == "instagram.com" || host.ends_with(".instagram.com"))
        .then(|| path.split(['?', '#']).next().unwrap_or_default())
}

/// Legacy `normalizeTikTokUsername`: `https://(www.)tiktok.com/@<name>[/][?…]` or `@name` /
/// `name` → lower case, which must match `^[a-z0-9._]{1,24}$`.
pub fn tiktok_username(raw: &str) -> Option<String> {
    let t = raw.trim();
    let lower = t.to_lowercase();
    let profile = ["https://", "http://"]
        .iter()
        .find_map(|s| lower.strip_prefix(s))
        .map(|rest| rest.strip_prefix("www.").unwrap_or(rest))
        .and_then(|rest| rest.strip_prefix("tiktok.com/@"))
        .and_then(|rest| {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (name, tail) = rest.split_at(end);
            let tail = tail.strip_prefix('/').unwrap_or(tail);
            (tail.is_empty() || tail.starts_with('?')).then(|| name.to_string())
        });
    let name = profile.unwrap_or_else(|| lower.strip_prefix('@').unwrap_or(&lower).to_string());
    valid_handle(&name, 24).then_some(name)
}

const TIKTOK_FORMAT: &str = "Format username TikTok tidak valid. Gunakan tautan profil atau username seperti tiktok.com/@username atau @username.";
const INSTA_FORMAT: &str = "Format username Instagram tidak valid. Gunakan tautan profil atau username seperti instagram.com/username atau @username.";

fn insta_param(p: &Params) -> Result<String, ApiError> {
    let raw = p
        .get("username")
        .ok_or_else(|| ApiError::bad_request("username wajib diisi"))?;
    insta_username(raw).ok_or_else(|| ApiError::bad_request(INSTA_FORMAT))
}

// ---- the Redis cache -------------------------------------------------------------------------

async fn cache_get(st: &AppState, ttl: Duration, key: &str) -> Option<Value> {
    if ttl.is_zero() {
        return None;
    }
    let d = dash(st).ok()?;
    let mut redis = d.redis.clone();
    let raw: Result<Option<String>, _> = redis::cmd("GET")
        .arg(d.key(key))
        .query_async(&mut redis)
        .await;
    match raw {
        Ok(Some(s)) => serde_json::from_str(&s).ok(),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, key, "rapid cache read failed");
            None
        }
    }
}

async fn cache_put(st: &AppState, ttl: Duration, key: &str, v: &Value) {
    if ttl.is_zero() {
        return;
    }
    let Ok(d) = dash(st) else {
        return;
    };
    let mut redis = d.redis.clone();
    let r: Result<(), _> = redis::cmd("SET")
        .arg(d.key(key))
        .arg(v.to_string())
        .arg("EX")
        .arg(ttl.as_secs().max(1))
        .query_async(&mut redis)
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, key, "rapid cache write failed");
    }
}

/// `{success, data, profile|posts, source[, stale]}`.
fn answer(key: &str, v: Value, source: &str, stale: bool) -> Response {
    let mut body = json!({ "data": v.clone(), key: v, "source": source });
    if stale {
        body["stale"] = json!(true);
    }
    ok(body)
}

fn date(s: Option<&str>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    s.map(crate::http::dashboard::scope::day).transpose()
}

/// Keeps the posts whose `created_at` falls in the Jakarta days `from..=to`.
fn in_days(
    posts: Vec<Value>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> Vec<Value> {
    if from.is_none() && to.is_none() {
        return posts;
    }
    posts
        .into_iter()
        .filter(|p| {
            let Some(day) = p
                .get("created_at")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<DateTime<Utc>>().ok())
                .map(crate::domain::time::jakarta_day)
            else {
                return false;
            };
            from.is_none_or(|f| day >= f) && to.is_none_or(|t| day <= t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instagram_usernames() {
        for (raw, want) in [
            ("@PolresKediri", Some("polreskediri")),
            ("  polres.kediri_1 ", Some("polres.kediri_1")),
            (
                "https://www.instagram.com/Polres.Kediri/?hl=id",
                Some("polres.kediri"),
            ),
            ("instagram.com/u/budi", Some("budi")),
            ("instagram.com/budi", Some("budi")),
            ("www.instagram.com/budi/", Some("budi")),
            ("http://m.instagram.com/budi#x", Some("budi")),
            ("https://instagram.com/@budi", Some("budi")),
            // A handle that merely contains the host's name is a handle.
            ("instagram.community", Some("instagram.community")),
            ("@instagram.community", Some("instagram.community")),
            ("my.instagram.company", Some("my.instagram.company")),
            ("polres_instagram.com", Some("polres_instagram.com")),
            ("https://www.instagram.com/p/DDD123/", None),
            ("https://instagram.com/reel/ABC/", None),
            ("https://www.instagram.com/", None),
            // A URL of another host is not a name.
            ("https://notinstagram.com/budi", None),
            ("https://instagram.com.evil.id/budi", None),
            ("https://www.tiktok.com/@budi", None),
            ("www.example.com", None),
            ("budi santoso", None),
            ("", None),
            ("@", None),
            (&"a".repeat(31), None),
        ] {
            assert_eq!(insta_username(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn tiktok_usernames() {
        for (raw, want) in [
            ("@Polres.Kediri", Some("polres.kediri")),
            ("polres_kediri", Some("polres_kediri")),
            ("https://www.tiktok.com/@PolresKediri", Some("polreskediri")),
            ("https://tiktok.com/@polres/?lang=id", Some("polres")),
            ("http://www.tiktok.com/@a.b?x=1", Some("a.b")),
            ("https://www.tiktok.com/@polres/video/123", None),
            ("tiktok.com/@polres", None),
            ("bad name", None),
            ("", None),
            (&"a".repeat(25), None),
        ] {
            assert_eq!(tiktok_username(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn provider_failures_map_to_gateway_answers() {
        let transient = ProviderError::Transient {
            host: "h".into(),
            path: "v1/info".into(),
            status: Some(500),
            message: "HTTP 500".into(),
        };
        assert_eq!(provider_status(&transient).0, StatusCode::BAD_GATEWAY);
        let limited = ProviderError::RateLimited {
            host: "h".into(),
            path: "p".into(),
            retry_after: Some(Duration::from_millis(1500)),
            body: String::new(),
        };
        let (s, _, retry) = provider_status(&limited);
        assert_eq!((s, retry), (StatusCode::TOO_MANY_REQUESTS, Some(2)));
        let missing = ProviderError::Permanent {
            host: "h".into(),
            path: "p".into(),
            status: 404,
            body: String::new(),
        };
        assert_eq!(provider_status(&missing).0, StatusCode::NOT_FOUND);
        assert_eq!(
            provider_status(&ProviderError::missing_key("RAPIDAPI_KEY")).0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}

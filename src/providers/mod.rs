//! RapidAPI clients for Instagram (`social-api4`) and TikTok (`tiktok-api23`), as the legacy
//! system called them (`docs/providers.md`, legacy §4(a)/(b)).
//!
//! The clients take their keys, hosts and base URLs as parameters (settings are the caller's
//! business); production uses `https://<host>`, tests point the base URL at a local server.
//! Every failure is a [`ProviderError`], classified retryable / permanent / configuration, and
//! parsing never panics on what the provider sends.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub mod error;
pub mod instagram;
pub mod tiktok;

pub use error::ProviderError;
use error::{parse_retry_after, quote, quote_json};

/// The setting that holds the primary RapidAPI key.
pub const KEY_SETTING: &str = "RAPIDAPI_KEY";
/// The setting that holds the fallback host (both platforms).
pub const FALLBACK_HOST_SETTING: &str = "RAPIDAPI_FALLBACK_HOST";
/// The setting that holds the fallback key.
pub const FALLBACK_KEY_SETTING: &str = "RAPIDAPI_FALLBACK_KEY";

/// Where one RapidAPI product is reached: the `X-RapidAPI-Host` value, the key, and the base
/// URL the paths are joined to (`https://<host>` in production).
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub key: String,
    pub base_url: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.host)
            .field("key", &"<redacted>")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl Target {
    /// `https://<host>` with `key`. An empty key (or host) is a configuration error naming
    /// `key_setting`.
    pub fn rapidapi(
        host: &str,
        key: Option<&str>,
        key_setting: &str,
    ) -> Result<Self, ProviderError> {
        let host = host.trim();
        if host.is_empty() {
            return Err(ProviderError::Config("RapidAPI host is empty".into()));
        }
        let key = match key.map(str::trim) {
            Some(k) if !k.is_empty() => k.to_string(),
            _ => return Err(ProviderError::missing_key(key_setting)),
        };
        Ok(Target {
            host: host.to_string(),
            key,
            base_url: format!("https://{host}"),
        })
    }

    /// The same target reached at another base URL (a local test server, a proxy); the
    /// `X-RapidAPI-Host` header still names [`Target::host`].
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The fallback target when both `RAPIDAPI_FALLBACK_HOST` and `RAPIDAPI_FALLBACK_KEY` are
    /// set (non-blank); `None` otherwise, as in the legacy code.
    pub fn fallback(host: Option<&str>, key: Option<&str>) -> Option<Self> {
        let host = host.map(str::trim).filter(|h| !h.is_empty())?;
        Target::rapidapi(host, key, FALLBACK_KEY_SETTING).ok()
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

/// Explicit timeouts for every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// The whole request, body included.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
        }
    }
}

/// The shared HTTP layer: one reqwest client, RapidAPI headers, status classification and
/// JSON decoding.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    pub(crate) fn new(timeouts: Timeouts) -> Result<Self, ProviderError> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .user_agent(concat!("cicero/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http { client })
    }

    /// GET `path` with `query` on `target` and decode the 2xx body as JSON.
    pub(crate) async fn get_json(
        &self,
        target: &Target,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Value, ProviderError> {
        let transient = |status: Option<u16>, message: String| ProviderError::Transient {
            host: target.host.clone(),
            path: path.to_string(),
            status,
            message,
        };
        let response = self
            .client
            .get(target.url(path))
            .query(query)
            .header("x-rapidapi-key", &target.key)
            .header("x-rapidapi-host", &target.host)
            .header("x-cache-control", "no-cache")
            .send()
            .await
            .map_err(|e| {
                if e.is_builder() {
                    ProviderError::Config(format!("bad URL for {}: {e}", target.base_url))
                } else {
                    transient(None, describe_reqwest(&e))
                }
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let body = response
            .bytes()
            .await
            .map_err(|e| transient(Some(status.as_u16()), describe_reqwest(&e)))?;
        let text = String::from_utf8_lossy(&body);
        if status.as_u16() == 429 {
            return Err(ProviderError::RateLimited {
                host: target.host.clone(),
                path: path.to_string(),
                retry_after,
                body: quote(&text),
            });
        }
        if status.is_server_error() {
            return Err(transient(
                Some(status.as_u16()),
                format!("HTTP {}: {}", status.as_u16(), quote(&text)),
            ));
        }
        if !status.is_success() {
            return Err(ProviderError::Permanent {
                host: target.host.clone(),
                path: path.to_string(),
                status: status.as_u16(),
                body: quote(&text),
            });
        }
        serde_json::from_slice::<Value>(&body).map_err(|e| {
            ProviderError::payload(
                &target.host,
                path,
                format!("body is not JSON ({e}): {}", quote(&text)),
            )
        })
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if e.is_timeout() {
        error::TIMEOUT_PREFIX
    } else if e.is_connect() {
        "connection failed: "
    } else {
        "request failed: "
    };
    let mut msg = format!("{kind}{e}");
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

// ---- tolerant JSON access -------------------------------------------------------------------

/// The value at a dotted path (`"data.items"`); array steps are numeric (`"items.0.url"`).
pub(crate) fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for step in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(step)?,
            Value::Array(a) => a.get(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    if cur.is_null() { None } else { Some(cur) }
}

/// The first of `paths` that holds a non-null value.
pub(crate) fn first<'a>(v: &'a Value, paths: &[&str]) -> Option<&'a Value> {
    paths.iter().find_map(|p| at(v, p))
}

/// A string, or a number rendered as one (ids come both ways).
pub(crate) fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The first of `paths` that holds a non-empty string (or a number).
pub(crate) fn first_string(v: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| at(v, p).and_then(as_string))
}

/// An integer, also from a numeric string or a whole float.
pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn first_i64(v: &Value, paths: &[&str]) -> Option<i64> {
    paths.iter().find_map(|p| at(v, p).and_then(as_i64))
}

/// A boolean, also from `0`/`1` and `"true"`/`"false"`.
pub(crate) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn first_bool(v: &Value, paths: &[&str]) -> Option<bool> {
    paths.iter().find_map(|p| at(v, p).and_then(as_bool))
}

/// The first of `paths` that holds an array.
pub(crate) fn first_array<'a>(v: &'a Value, paths: &[&str]) -> Option<&'a Vec<Value>> {
    paths
        .iter()
        .find_map(|p| at(v, p).and_then(Value::as_array))
}

/// Unix seconds → UTC; `Err` quotes the value when it is missing or out of range.
pub(crate) fn unix_seconds(item: &Value, paths: &[&str]) -> Result<DateTime<Utc>, String> {
    let Some(raw) = first(item, paths) else {
        return Err(format!(
            "no creation time ({}) in item {}",
            paths.join(" / "),
            quote_json(item)
        ));
    };
    as_i64(raw)
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .ok_or_else(|| {
            format!(
                "creation time {} is not unix seconds in item {}",
                quote_json(raw),
                quote_json(item)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tolerant_access() {
        let v = json!({"a": {"b": [{"c": "x"}, 2]}, "n": "12", "f": 3.0, "z": null, "e": ""});
        assert_eq!(at(&v, "a.b.0.c"), Some(&json!("x")));
        assert_eq!(at(&v, "a.b.5"), None);
        assert_eq!(at(&v, "a.b.x"), None);
        assert_eq!(at(&v, "z"), None);
        assert_eq!(first_i64(&v, &["missing", "n"]), Some(12));
        assert_eq!(first_i64(&v, &["f"]), Some(3));
        assert_eq!(first_string(&v, &["e", "a.b.1"]), Some("2".into()));
        assert_eq!(
            unix_seconds(&json!({"t": 0}), &["t"]).map(|t| t.timestamp()),
            Ok(0)
        );
        assert!(
            unix_seconds(&json!({"t": "soon"}), &["t"])
                .unwrap_err()
                .contains("\"soon\"")
        );
        assert!(unix_seconds(&json!({"t": i64::MAX}), &["t"]).is_err());
    }

    #[test]
    fn targets() {
        let t = Target::rapidapi("social-api4.p.rapidapi.com", Some(" k "), KEY_SETTING).unwrap();
        assert_eq!(t.base_url, "https://social-api4.p.rapidapi.com");
        assert_eq!(t.key, "k");
        assert_eq!(
            t.url("/v1/posts"),
            "https://social-api4.p.rapidapi.com/v1/posts"
        );
        let e = Target::rapidapi("h", Some("  "), KEY_SETTING).unwrap_err();
        assert!(e.to_string().contains("RAPIDAPI_KEY"), "{e}");
        assert!(!format!("{t:?}").contains("\"k\""));
        assert_eq!(Target::fallback(Some("fb"), None), None);
        assert_eq!(Target::fallback(None, Some("k")), None);
        assert_eq!(
            Target::fallback(Some("fb"), Some("k")).map(|t| t.host),
            Some("fb".into())
        );
    }
}

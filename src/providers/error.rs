//! One error type for every RapidAPI call, classified the way the job platform needs it:
//! retry later (429, 5xx, connection, timeout), give up (other 4xx, a payload we cannot read),
//! or fix the settings (no key).
use std::time::Duration;

use crate::work::JobError;

/// How an I/O failure that timed out starts its `Transient` message.
pub(crate) const TIMEOUT_PREFIX: &str = "timeout: ";

/// How much of a body or JSON value an error message quotes.
pub const QUOTE_LIMIT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// A setting is missing or unusable (e.g. no `RAPIDAPI_KEY`). Not retryable.
    #[error("configuration: {0}")]
    Config(String),
    /// HTTP 429: retry after `retry_after` when the provider sent a `Retry-After` header.
    #[error("rate limited by {host} ({path}){}: {body}", after_suffix(.retry_after))]
    RateLimited {
        host: String,
        path: String,
        retry_after: Option<Duration>,
        body: String,
    },
    /// HTTP 5xx, connection refused/reset, DNS failure, timeout: worth another try.
    #[error("transient failure from {host} ({path}): {message}")]
    Transient {
        host: String,
        path: String,
        /// The HTTP status when there was a response (5xx), `None` for I/O failures.
        status: Option<u16>,
        message: String,
    },
    /// Any other 4xx (including 401/403 once the fallback, if any, was tried): retrying will
    /// not help.
    #[error("HTTP {status} from {host} ({path}): {body}")]
    Permanent {
        host: String,
        path: String,
        status: u16,
        body: String,
    },
    /// A 2xx whose body is not what the endpoint should return; the message quotes the
    /// offending part.
    #[error("unexpected payload from {host} ({path}): {message}")]
    Payload {
        host: String,
        path: String,
        message: String,
    },
}

fn after_suffix(d: &Option<Duration>) -> String {
    match d {
        Some(d) => format!(", retry after {}s", d.as_secs_f64()),
        None => String::new(),
    }
}

impl ProviderError {
    /// True for 429, 5xx and I/O failures.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. } | ProviderError::Transient { .. }
        )
    }

    /// The provider's `Retry-After`, when it sent one with a 429.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True when the request (or reading its answer) timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, ProviderError::Transient { message, .. } if message.starts_with(TIMEOUT_PREFIX))
    }

    /// The HTTP status of the failed response, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ProviderError::RateLimited { .. } => Some(429),
            ProviderError::Transient { status, .. } => *status,
            ProviderError::Permanent { status, .. } => Some(*status),
            ProviderError::Config(_) | ProviderError::Payload { .. } => None,
        }
    }

    pub(crate) fn payload(host: &str, path: &str, message: impl Into<String>) -> Self {
        ProviderError::Payload {
            host: host.to_string(),
            path: path.to_string(),
            message: message.into(),
        }
    }

    /// The configuration error for a missing key setting.
    pub fn missing_key(setting: &str) -> Self {
        ProviderError::Config(format!(
            "{setting} is not set: RapidAPI calls need the key (set {setting} in the environment or .env)"
        ))
    }
}

impl From<ProviderError> for JobError {
    /// 429 with Retry-After → `Throttled` (waits without spending an attempt); 429 without it,
    /// 5xx and I/O → `Retryable`; everything else → `Permanent`.
    fn from(e: ProviderError) -> Self {
        let message = e.to_string();
        match e {
            ProviderError::RateLimited {
                retry_after: Some(retry_after),
                ..
            } => JobError::Throttled {
                retry_after,
                message,
            },
            ProviderError::RateLimited { .. } | ProviderError::Transient { .. } => {
                JobError::Retryable(message)
            }
            ProviderError::Config(_)
            | ProviderError::Permanent { .. }
            | ProviderError::Payload { .. } => JobError::Permanent(message),
        }
    }
}

/// `s` in double quotes, cut to [`QUOTE_LIMIT`] characters (on a char boundary) with `…`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(QUOTE_LIMIT * 4) + 4);
    out.push('"');
    let mut chars = s.chars();
    for c in chars.by_ref().take(QUOTE_LIMIT) {
        out.push(c);
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out.push('"');
    out
}

/// A JSON value serialised compactly and quoted with [`quote`].
pub fn quote_json(v: &serde_json::Value) -> String {
    quote(&v.to_string())
}

/// Parses a `Retry-After` header: delay-seconds or an HTTP-date (a date in the past → zero).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_truncates_on_char_boundary() {
        assert_eq!(quote("abc"), "\"abc\"");
        let long = "é".repeat(300);
        let q = quote(&long);
        assert_eq!(q.chars().count(), QUOTE_LIMIT + 3);
        assert!(q.ends_with("…\""));
        assert_eq!(
            quote(&"x".repeat(QUOTE_LIMIT)),
            format!("\"{}\"", "x".repeat(200))
        );
    }

    #[test]
    fn retry_after_forms() {
        let now: chrono::DateTime<chrono::Utc> = "2015-10-21T07:27:00Z".parse().unwrap();
        let cases = [
            ("7", Some(Duration::from_secs(7))),
            (" 120 ", Some(Duration::from_secs(120))),
            ("1.5", Some(Duration::from_millis(1500))),
            (
                "Wed, 21 Oct 2015 07:28:00 GMT",
                Some(Duration::from_secs(60)),
            ),
            ("Wed, 21 Oct 2015 07:00:00 GMT", Some(Duration::ZERO)),
            ("soon", None),
            ("-3", None),
        ];
        for (v, want) in cases {
            assert_eq!(parse_retry_after(v, now), want, "{v}");
        }
    }

    #[test]
    fn job_error_mapping() {
        let rl = |retry_after| ProviderError::RateLimited {
            host: "h".into(),
            path: "p".into(),
            retry_after,
            body: String::new(),
        };
        assert!(matches!(
            JobError::from(rl(Some(Duration::from_secs(3)))),
            JobError::Throttled { retry_after, .. } if retry_after == Duration::from_secs(3)
        ));
        assert!(matches!(JobError::from(rl(None)), JobError::Retryable(_)));
        assert!(matches!(
            JobError::from(ProviderError::missing_key("RAPIDAPI_KEY")),
            JobError::Permanent(m) if m.contains("RAPIDAPI_KEY")
        ));
        assert!(matches!(
            JobError::from(ProviderError::payload("h", "p", "x")),
            JobError::Permanent(_)
        ));
    }
}

//! Cluster-wide rate limits: a sliding window per key kept in `cicero.rate_grants` and taken
//! through `cicero.rate_acquire` (serialised per key by an advisory lock), plus blocks set
//! from a provider's 429 / Retry-After. A job over its limit is snoozed, not failed.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::config::RateLimit;

/// Takes a slot of `key`: `None` when granted, otherwise how long to wait.
pub async fn acquire(
    pool: &PgPool,
    key: &str,
    limit: RateLimit,
) -> Result<Option<Duration>, sqlx::Error> {
    let window_ms = i32::try_from(limit.window.as_millis()).unwrap_or(i32::MAX);
    let wait_ms: f64 = sqlx::query_scalar("SELECT cicero.rate_acquire($1, $2, $3)")
        .bind(key)
        .bind(i32::try_from(limit.max).unwrap_or(i32::MAX))
        .bind(window_ms)
        .fetch_one(pool)
        .await?;
    Ok((wait_ms > 0.0).then(|| Duration::from_secs_f64(wait_ms / 1000.0)))
}

/// A provider said "slow down until `until`": no grants for `key` before then.
pub async fn block(
    pool: &PgPool,
    key: &str,
    until: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cicero.rate_blocks (key, blocked_until, reason) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET blocked_until = GREATEST(cicero.rate_blocks.blocked_until, $2), reason = $3",
    )
    .bind(key)
    .bind(until)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct LimiterState {
    pub key: String,
    /// The configured limit that applies, if any.
    pub max: Option<u32>,
    pub window_secs: Option<f64>,
    /// Grants inside the current window and how many remain.
    pub used: i64,
    pub remaining: Option<i64>,
    /// When the oldest grant in the window leaves it (a slot frees up).
    pub next_slot_at: Option<DateTime<Utc>>,
    pub blocked_until: Option<DateTime<Utc>>,
    pub blocked_reason: Option<String>,
    /// Pending jobs snoozed on this key.
    pub jobs_waiting: i64,
}

/// key, blocked_until, block reason, jobs waiting.
type KeyRow = (String, Option<DateTime<Utc>>, Option<String>, i64);

/// Every key that is configured, was used in the last minute, is blocked, or has jobs waiting.
pub async fn states(
    pool: &PgPool,
    limits: &[(String, RateLimit)],
) -> Result<Vec<LimiterState>, sqlx::Error> {
    let patterns: Vec<&str> = limits
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| !p.ends_with('*'))
        .collect();
    let rows: Vec<KeyRow> = sqlx::query_as(
        "WITH keys AS (
             SELECT DISTINCT key FROM cicero.rate_grants WHERE granted_at > now() - interval '1 minute'
             UNION SELECT key FROM cicero.rate_blocks
             UNION SELECT DISTINCT waiting_for FROM cicero.jobs WHERE state = 'pending' AND waiting_for IS NOT NULL
             UNION SELECT unnest($1::text[]))
         SELECT k.key, b.blocked_until, b.reason,
                (SELECT count(*) FROM cicero.jobs j WHERE j.state = 'pending' AND j.waiting_for = k.key)
           FROM keys k LEFT JOIN cicero.rate_blocks b ON b.key = k.key
          ORDER BY k.key",
    )
    .bind(&patterns)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (key, blocked_until, blocked_reason, jobs_waiting) in rows {
        let limit = crate::config::find_limit(limits, &key);
        let window = limit.map_or(Duration::from_secs(1), |l| l.window);
        let (used, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT count(*), min(granted_at) FROM cicero.rate_grants
              WHERE key = $1 AND granted_at > clock_timestamp() - make_interval(secs => $2)",
        )
        .bind(&key)
        .bind(window.as_secs_f64())
        .fetch_one(pool)
        .await?;
        out.push(LimiterState {
            max: limit.map(|l| l.max),
            window_secs: limit.map(|l| l.window.as_secs_f64()),
            remaining: limit.map(|l| (i64::from(l.max) - used).max(0)),
            next_slot_at: oldest
                .map(|t| t + chrono::Duration::from_std(window).unwrap_or_default()),
            used,
            blocked_until: blocked_until.filter(|t| *t > Utc::now()),
            blocked_reason,
            jobs_waiting,
            key,
        });
    }
    Ok(out)
}

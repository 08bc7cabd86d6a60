//! The job catalogue: every unit of work Cicero runs, as data.
//!
//! One module per job kind: its payload type and its [`JobSpec`] (stable kind name, queue,
//! retry and timeout policy). `schedule` holds the cron table. This crate depends only on
//! serde/chrono so that anything (the API, the scheduler, another service) can build a job;
//! the handlers live in the `cicero` package (`src/work/`), one per entry here.

pub mod backup_db;
pub mod ping;
pub mod schedule;

use serde::{Serialize, de::DeserializeOwned};

/// Exponential backoff between attempts: `base * 2^(attempt-1)`, capped at `max`, then
/// spread by ±`jitter` (a fraction) so that a burst of failures does not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base_ms: u64,
    pub max_ms: u64,
    pub jitter: f64,
}

/// The policy of one job kind.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec {
    /// Stable name stored in every row; never rename (queued rows would orphan).
    pub kind: &'static str,
    /// Queue the kind runs on; each queue has its own concurrency.
    pub queue: &'static str,
    /// Attempts before the job ends `failed` (the first run counts).
    pub max_attempts: i32,
    pub backoff: Backoff,
    /// Wall-clock limit of one attempt; past it the attempt fails with a timeout error.
    pub timeout_ms: u64,
    /// One line for docs, the API and the board.
    pub summary: &'static str,
    /// A valid example payload (JSON text), used by docs and as a form template.
    pub example: &'static str,
}

/// Implemented by every payload type: ties it to its catalogue entry.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    const SPEC: JobSpec;
}

/// Every queue that has at least one job kind, in a stable order.
pub const QUEUES: &[&str] = &["maintenance", "diagnostics"];

/// Every job kind.
pub const CATALOGUE: &[JobSpec] = &[backup_db::BackupDb::SPEC, ping::Ping::SPEC];

/// Why a payload does not fit its kind; `field` is the JSON path of the offending part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() || self.field == "." {
            write!(f, "payload: {}", self.message)
        } else {
            write!(f, "payload.{}: {}", self.field, self.message)
        }
    }
}

/// Decodes a payload into a kind's type, naming the offending field on failure.
pub fn decode<T: Job>(payload: &serde_json::Value) -> Result<T, PayloadError> {
    if !payload.is_object() {
        return Err(PayloadError {
            field: String::new(),
            message: "must be a JSON object".into(),
        });
    }
    serde_path_to_error::deserialize(payload).map_err(|e| PayloadError {
        field: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Checks that `payload` fits `kind`; returns the kind's spec.
pub fn validate(
    kind: &str,
    payload: &serde_json::Value,
) -> Result<&'static JobSpec, ValidateError> {
    let spec = spec(kind).ok_or_else(|| ValidateError::UnknownKind(kind.to_string()))?;
    let checked = match kind {
        "backup_db" => decode::<backup_db::BackupDb>(payload).map(drop),
        "ping" => decode::<ping::Ping>(payload).map(drop),
        _ => return Err(ValidateError::UnknownKind(kind.to_string())),
    };
    checked.map(|()| spec).map_err(ValidateError::Payload)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidateError {
    UnknownKind(String),
    Payload(PayloadError),
}

impl std::fmt::Display for ValidateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValidateError::UnknownKind(k) => {
                let known: Vec<&str> = CATALOGUE.iter().map(|s| s.kind).collect();
                write!(
                    f,
                    "kind: unknown job kind {k:?} (known: {})",
                    known.join(", ")
                )
            }
            ValidateError::Payload(p) => p.fmt(f),
        }
    }
}

/// Looks a kind up by name.
pub fn spec(kind: &str) -> Option<&'static JobSpec> {
    CATALOGUE.iter().find(|s| s.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_unique_and_on_a_known_queue() {
        for (i, s) in CATALOGUE.iter().enumerate() {
            assert!(
                QUEUES.contains(&s.queue),
                "{} on unknown queue {}",
                s.kind,
                s.queue
            );
            assert!(s.max_attempts >= 1, "{}", s.kind);
            assert!(s.timeout_ms > 0, "{}", s.kind);
            assert!(
                CATALOGUE[i + 1..].iter().all(|o| o.kind != s.kind),
                "{} twice",
                s.kind
            );
        }
        for q in QUEUES {
            assert!(
                CATALOGUE.iter().any(|s| s.queue == *q),
                "queue {q} has no job"
            );
        }
    }

    #[test]
    fn examples_decode_into_their_payloads() {
        serde_json::from_str::<backup_db::BackupDb>(backup_db::BackupDb::SPEC.example).unwrap();
        serde_json::from_str::<ping::Ping>(ping::Ping::SPEC.example).unwrap();
    }

    #[test]
    fn validate_names_the_field() {
        use serde_json::json;
        let cases = [
            ("ping", json!({}), None),
            (
                "ping",
                json!({"sleep_ms": "slow"}),
                Some("payload.sleep_ms: invalid type"),
            ),
            (
                "ping",
                json!({"bogus": 1}),
                Some("payload.bogus: unknown field `bogus`"),
            ),
            ("ping", json!([1]), Some("payload: must be a JSON object")),
            (
                "backup_db",
                json!({"keep": -1}),
                Some("payload.keep: invalid value"),
            ),
            ("nope", json!({}), Some("kind: unknown job kind \"nope\"")),
        ];
        for (kind, payload, want) in cases {
            let got = validate(kind, &payload)
                .map(|s| s.kind)
                .map_err(|e| e.to_string());
            match want {
                None => assert_eq!(got, Ok(kind)),
                Some(prefix) => {
                    let err = got.expect_err(prefix);
                    assert!(err.starts_with(prefix), "{kind} {payload}: {err}");
                }
            }
        }
    }

    #[test]
    fn spec_finds_kinds() {
        assert_eq!(spec("ping").map(|s| s.queue), Some("diagnostics"));
        assert!(spec("nope").is_none());
    }
}

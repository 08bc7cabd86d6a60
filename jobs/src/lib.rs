//! The job catalogue: every unit of work Cicero runs, as data.
//!
//! One module per job kind: its payload type and its [`JobSpec`] (stable kind name, queue,
//! retry and timeout policy). `schedule` holds the cron table. This crate depends only on
//! serde/chrono so that anything (the API, the scheduler, another service) can build a job;
//! the handlers live in the `cicero` package (`src/work/`), one per entry here.

pub mod backup_db;
pub mod email_otp;
pub mod email_send;
pub mod expire_premium;
pub mod export_recap;
pub mod fetch_posts;
pub mod import_users;
pub mod ingest;
pub mod ping;
pub mod prune_jobs;
pub mod refresh_engagement;
pub mod schedule;
pub mod send_digest;
pub mod sweep_amplify;
pub mod sweep_social;
pub mod whatsapp_send;
pub mod whatsapp_status;

use serde::{Serialize, de::DeserializeOwned};

/// Exponential backoff between attempts: `base * 2^(attempt-1)`, capped at `max`, then
/// spread by ±`jitter` (a fraction) so that a burst of failures does not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base_ms: u64,
    pub max_ms: u64,
    pub jitter: f64,
}

/// Deduplication of a kind: while a job with the same key is in one of `states`, enqueueing
/// another returns the existing one. The key is the kind, the values of `fields` in the payload
/// and, with a `period_secs`, the period the enqueue falls in (periods are aligned to the Unix
/// epoch, so a 300 s period is a five-minute clock slot).
#[derive(Debug, Clone, Copy)]
pub struct Unique {
    pub fields: &'static [&'static str],
    /// 0: no period (unique for as long as a job is in `states`).
    pub period_secs: u64,
    pub states: &'static [&'static str],
}

/// States in which a job usually blocks its duplicates.
pub const WHILE_ACTIVE: &[&str] = &["pending", "running"];

/// Computes the rate-limit key of a job from its payload (`None`: not limited).
pub type RateKey = fn(&serde_json::Value) -> Option<String>;

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
    pub unique: Option<Unique>,
    /// Cluster-wide rate-limit key; the limits themselves are settings (`RATE_LIMITS`).
    pub rate_key: Option<RateKey>,
}

impl JobSpec {
    /// The deduplication key of a payload enqueued at `now_secs` (Unix seconds), or `None`
    /// when the kind is not unique or a key field is missing or null.
    pub fn unique_key(&self, payload: &serde_json::Value, now_secs: i64) -> Option<String> {
        let u = self.unique?;
        let mut parts = Vec::with_capacity(u.fields.len());
        for f in u.fields {
            match payload.get(f) {
                None | Some(serde_json::Value::Null) => return None,
                Some(serde_json::Value::String(s)) => parts.push(format!("{f}={s}")),
                Some(v) => parts.push(format!("{f}={v}")),
            }
        }
        let slot = if u.period_secs == 0 {
            0
        } else {
            now_secs.div_euclid(u.period_secs as i64)
        };
        Some(format!("{}:{}:{slot}", self.kind, parts.join(",")))
    }

    /// Whether a job of this kind in `state` still holds its unique key.
    pub fn holds_key_in(&self, state: &str) -> bool {
        self.unique.is_some_and(|u| u.states.contains(&state))
    }
}

/// Implemented by every payload type: ties it to its catalogue entry.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    const SPEC: JobSpec;
}

/// Every queue that has at least one job kind, in a stable order.
pub const QUEUES: &[&str] = &[
    "maintenance",
    "diagnostics",
    "ingest",
    "whatsapp",
    "messaging",
    "exports",
];

/// Every job kind.
pub const CATALOGUE: &[JobSpec] = &[
    backup_db::BackupDb::SPEC,
    export_recap::ExportRecap::SPEC,
    import_users::ImportUsers::SPEC,
    ping::Ping::SPEC,
    prune_jobs::PruneJobs::SPEC,
    expire_premium::ExpirePremium::SPEC,
    fetch_posts::FetchPosts::SPEC,
    refresh_engagement::RefreshEngagement::SPEC,
    sweep_social::SweepSocial::SPEC,
    sweep_amplify::SweepAmplify::SPEC,
    whatsapp_send::WhatsappSend::SPEC,
    send_digest::SendDigest::SPEC,
    email_otp::EmailOtp::SPEC,
    email_send::EmailSend::SPEC,
    whatsapp_status::WhatsappStatus::SPEC,
];

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
        "export_recap" => decode::<export_recap::ExportRecap>(payload).and_then(|p| p.check()),
        "import_users" => decode::<import_users::ImportUsers>(payload).map(drop),
        "ping" => decode::<ping::Ping>(payload).map(drop),
        "prune_jobs" => decode::<prune_jobs::PruneJobs>(payload).map(drop),
        "expire_premium" => decode::<expire_premium::ExpirePremium>(payload).map(drop),
        "fetch_posts" => decode::<fetch_posts::FetchPosts>(payload).map(drop),
        "refresh_engagement" => decode::<refresh_engagement::RefreshEngagement>(payload).map(drop),
        "sweep_social" => decode::<sweep_social::SweepSocial>(payload).map(drop),
        "sweep_amplify" => decode::<sweep_amplify::SweepAmplify>(payload).map(drop),
        "whatsapp_send" => decode::<whatsapp_send::WhatsappSend>(payload).map(drop),
        "send_digest" => decode::<send_digest::SendDigest>(payload).map(drop),
        "email_otp" => decode::<email_otp::EmailOtp>(payload).map(drop),
        "email_send" => decode::<email_send::EmailSend>(payload).map(drop),
        "whatsapp_status" => decode::<whatsapp_status::WhatsappStatus>(payload).map(drop),
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
            // A job that goes back to pending (retry, rescue) keeps its key: the SQL rule
            // `cicero.unique_key_after` (migration 0015) relies on both active states.
            if let Some(u) = s.unique {
                assert!(
                    u.states.contains(&"pending") && u.states.contains(&"running"),
                    "{}: unique states must include pending and running",
                    s.kind
                );
            }
            for st in s.unique.map(|u| u.states).unwrap_or_default() {
                assert!(
                    ["pending", "running", "done", "failed", "cancelled"].contains(st),
                    "{}: state {st}",
                    s.kind
                );
            }
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
    fn validate_knows_every_catalogue_kind() {
        for s in CATALOGUE {
            let example: serde_json::Value = serde_json::from_str(s.example).unwrap();
            assert_eq!(validate(s.kind, &example).map(|v| v.kind), Ok(s.kind));
        }
    }

    #[test]
    fn examples_decode_into_their_payloads() {
        serde_json::from_str::<backup_db::BackupDb>(backup_db::BackupDb::SPEC.example).unwrap();
        serde_json::from_str::<ping::Ping>(ping::Ping::SPEC.example).unwrap();
        serde_json::from_str::<export_recap::ExportRecap>(export_recap::ExportRecap::SPEC.example)
            .unwrap();
        serde_json::from_str::<import_users::ImportUsers>(import_users::ImportUsers::SPEC.example)
            .unwrap();
        serde_json::from_str::<prune_jobs::PruneJobs>(prune_jobs::PruneJobs::SPEC.example).unwrap();
        serde_json::from_str::<expire_premium::ExpirePremium>(
            expire_premium::ExpirePremium::SPEC.example,
        )
        .unwrap();
        serde_json::from_str::<fetch_posts::FetchPosts>(fetch_posts::FetchPosts::SPEC.example)
            .unwrap();
        serde_json::from_str::<refresh_engagement::RefreshEngagement>(
            refresh_engagement::RefreshEngagement::SPEC.example,
        )
        .unwrap();
        serde_json::from_str::<sweep_social::SweepSocial>(sweep_social::SweepSocial::SPEC.example)
            .unwrap();
        serde_json::from_str::<sweep_amplify::SweepAmplify>(
            sweep_amplify::SweepAmplify::SPEC.example,
        )
        .unwrap();
        serde_json::from_str::<whatsapp_send::WhatsappSend>(
            whatsapp_send::WhatsappSend::SPEC.example,
        )
        .unwrap();
        serde_json::from_str::<send_digest::SendDigest>(send_digest::SendDigest::SPEC.example)
            .unwrap();
        serde_json::from_str::<email_otp::EmailOtp>(email_otp::EmailOtp::SPEC.example).unwrap();
        serde_json::from_str::<email_send::EmailSend>(email_send::EmailSend::SPEC.example).unwrap();
        serde_json::from_str::<whatsapp_status::WhatsappStatus>(
            whatsapp_status::WhatsappStatus::SPEC.example,
        )
        .unwrap();
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
    fn unique_keys_from_fields_and_period() {
        use serde_json::json;
        const U: JobSpec = JobSpec {
            unique: Some(Unique {
                fields: &["client_id", "platform"],
                period_secs: 300,
                states: WHILE_ACTIVE,
            }),
            ..ping::Ping::SPEC
        };
        let p = json!({"client_id": "POLRES_X", "platform": "instagram", "other": 1});
        let cases = [
            (
                p.clone(),
                1_000,
                Some("ping:client_id=POLRES_X,platform=instagram:3"),
            ),
            (
                p.clone(),
                1_199,
                Some("ping:client_id=POLRES_X,platform=instagram:3"),
            ),
            (
                p.clone(),
                1_200,
                Some("ping:client_id=POLRES_X,platform=instagram:4"),
            ),
            (json!({"client_id": "POLRES_X"}), 1_000, None),
            (json!({"client_id": 7, "platform": null}), 1_000, None),
            (
                json!({"client_id": 7, "platform": true}),
                1_000,
                Some("ping:client_id=7,platform=true:3"),
            ),
        ];
        for (payload, now, want) in cases {
            assert_eq!(
                U.unique_key(&payload, now).as_deref(),
                want,
                "{payload} at {now}"
            );
        }
        let forever = JobSpec {
            unique: Some(Unique {
                fields: &[],
                period_secs: 0,
                states: WHILE_ACTIVE,
            }),
            ..U
        };
        assert_eq!(
            forever.unique_key(&json!({}), 99).as_deref(),
            Some("ping::0")
        );
        assert!(U.holds_key_in("pending") && U.holds_key_in("running") && !U.holds_key_in("done"));
        assert_eq!(
            backup_db::BackupDb::SPEC
                .unique_key(&json!({}), 5)
                .as_deref(),
            Some("backup_db::0")
        );
        assert!(
            ping::Ping::SPEC
                .unique_key(&json!({"message": "x"}), 5)
                .is_none()
        );
    }

    #[test]
    fn spec_finds_kinds() {
        assert_eq!(spec("ping").map(|s| s.queue), Some("diagnostics"));
        assert!(spec("nope").is_none());
    }
}

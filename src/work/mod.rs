//! One handler per catalogue entry (`cicero_jobs`): the I/O glue that does the work.
//! [`dispatch`] maps a claimed row's kind to its handler, decoding the payload on the way.
use std::{future::Future, pin::Pin, sync::Arc};

use serde_json::Value;
use sqlx::PgPool;

use cicero_jobs::{Job, PayloadError};

use crate::config::Settings;

pub mod backup_db;
pub mod email_otp;
pub mod email_send;
pub mod expire_premium;
pub mod export_recap;
pub mod fetch_posts;
pub mod import_users;
pub mod ping;
pub mod prune_jobs;
pub mod refresh_engagement;
pub mod send_digest;
pub mod sweep_social;
pub mod whatsapp_send;

/// What handlers get: settings and the database.
pub struct Ctx {
    pub settings: Settings,
    pub pool: PgPool,
}

/// A handler's failure. `Retryable` runs again after the kind's backoff while attempts remain;
/// `Permanent` fails the job at once (bad payload, bad input, a 4xx from a provider).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Retryable(String),
    #[error("permanent: {0}")]
    Permanent(String),
    /// The provider said "too many requests": the job's rate key is blocked for `retry_after`
    /// and the job waits that long without spending an attempt.
    #[error("throttled for {retry_after:?}: {message}")]
    Throttled {
        retry_after: std::time::Duration,
        message: String,
    },
}

/// A database error is transient (connection lost, serialization failure, a deadlock): the
/// attempt is retried after the kind's backoff.
impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::Retryable(format!("database: {e}"))
    }
}

/// What a running attempt knows about itself, and its progress channel.
#[derive(Clone)]
pub struct JobCtx {
    pub id: i64,
    pub attempt: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pool: PgPool,
    worker: String,
}

impl JobCtx {
    pub fn new(
        id: i64,
        attempt: i32,
        created_at: chrono::DateTime<chrono::Utc>,
        pool: PgPool,
        worker: String,
    ) -> Self {
        JobCtx {
            id,
            attempt,
            created_at,
            pool,
            worker,
        }
    }

    /// Records progress (`fraction` in 0..=1, a short message) on the job and announces it to
    /// SSE listeners. Failures are logged, never fatal to the job.
    pub async fn progress(&self, fraction: f64, message: &str) {
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let result = sqlx::query(
            "WITH u AS (
                 UPDATE cicero.jobs
                    SET progress = jsonb_build_object('fraction', $2::float8, 'message', $3::text, 'at', now())
                  WHERE id = $1 AND locked_by = $4
                 RETURNING id)
             SELECT pg_notify('cicero_events', json_build_object('type', 'progress', 'id', id, 'fraction', $2::float8, 'message', $3::text)::text)
               FROM u",
        )
        .bind(self.id)
        .bind(fraction)
        .bind(message)
        .bind(&self.worker)
        .execute(&self.pool)
        .await;
        if let Err(e) = result {
            tracing::warn!(job = self.id, error = %e, "recording progress failed");
        }
    }
}

impl From<PayloadError> for JobError {
    fn from(e: PayloadError) -> Self {
        JobError::Permanent(format!("payload does not fit the job kind: {e}"))
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, JobError>> + Send>>;

/// Finds the handler of `kind` and starts it on `payload`. An unknown kind or a payload that
/// does not decode is a permanent error of this job only.
pub fn dispatch(ctx: Arc<Ctx>, job: JobCtx, kind: &str, payload: &Value) -> HandlerFuture {
    fn typed<J: Job, F>(payload: &Value, run: impl FnOnce(J) -> F) -> HandlerFuture
    where
        F: Future<Output = Result<Value, JobError>> + Send + 'static,
    {
        match cicero_jobs::decode::<J>(payload) {
            Ok(job) => Box::pin(run(job)),
            Err(e) => Box::pin(std::future::ready(Err(e.into()))),
        }
    }
    match kind {
        "ping" => typed(payload, move |p| ping::run(p, job)),
        "backup_db" => typed(payload, move |p| backup_db::run(ctx, p)),
        "export_recap" => typed(payload, move |p| export_recap::run(ctx, job, p)),
        "import_users" => typed(payload, move |p| import_users::run(ctx, job, p)),
        "prune_jobs" => typed(payload, move |p| prune_jobs::run(ctx, p)),
        "expire_premium" => typed(
            payload,
            move |_: cicero_jobs::expire_premium::ExpirePremium| expire_premium::run(ctx),
        ),
        "fetch_posts" => typed(payload, move |p| fetch_posts::run(ctx, p)),
        "refresh_engagement" => typed(payload, move |p| refresh_engagement::run(ctx, p)),
        "sweep_social" => typed(payload, move |p| sweep_social::run(ctx, p)),
        "sweep_amplify" => typed(payload, move |p| sweep_social::run_amplify(ctx, p)),
        "whatsapp_send" => typed(payload, move |p| whatsapp_send::run(ctx, job, p)),
        "whatsapp_status" => typed(payload, move |p| whatsapp_send::status(ctx, p)),
        "send_digest" => typed(payload, move |p| send_digest::run(ctx, job, p)),
        "email_otp" => typed(payload, move |p| email_otp::run(ctx, job, p)),
        "email_send" => typed(payload, move |p| email_send::run(ctx, p)),
        other => {
            let msg = format!("no handler for job kind {other:?}");
            Box::pin(std::future::ready(Err(JobError::Permanent(msg))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalogue entry without a handler must not exist: every kind reaches its handler
    /// (which rejects this payload) instead of "no handler".
    #[tokio::test]
    async fn every_catalogue_kind_has_a_handler() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nowhere/none")
            .unwrap();
        let settings = crate::config::Settings::parse(|k| {
            (k == "DATABASE_URL").then(|| "postgres://nowhere/none".to_string())
        })
        .unwrap();
        let ctx = Arc::new(Ctx {
            settings,
            pool: pool.clone(),
        });
        for spec in cicero_jobs::CATALOGUE {
            let job = JobCtx::new(1, 1, chrono::Utc::now(), pool.clone(), "test".into());
            let err = dispatch(
                ctx.clone(),
                job,
                spec.kind,
                &serde_json::json!({ "not_a_field": 1 }),
            )
            .await
            .unwrap_err();
            assert!(
                err.to_string().contains("payload does not fit"),
                "{}: {err}",
                spec.kind
            );
        }
        let job = JobCtx::new(1, 1, chrono::Utc::now(), pool, "test".into());
        let err = dispatch(ctx, job, "nope", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no handler"));
    }
}

//! One handler per catalogue entry (`cicero_jobs`): the I/O glue that does the work.
//! [`dispatch`] maps a claimed row's kind to its handler, decoding the payload on the way.
use std::{future::Future, pin::Pin, sync::Arc};

use serde_json::Value;
use sqlx::PgPool;

use cicero_jobs::{Job, PayloadError};

use crate::config::Settings;

pub mod backup_db;
pub mod ping;

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
}

impl From<PayloadError> for JobError {
    fn from(e: PayloadError) -> Self {
        JobError::Permanent(format!("payload does not fit the job kind: {e}"))
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, JobError>> + Send>>;

/// Finds the handler of `kind` and starts it on `payload`. An unknown kind or a payload that
/// does not decode is a permanent error of this job only.
pub fn dispatch(ctx: Arc<Ctx>, kind: &str, payload: &Value, attempt: i32) -> HandlerFuture {
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
        "ping" => typed(payload, move |job| ping::run(job, attempt)),
        "backup_db" => typed(payload, move |job| backup_db::run(ctx, job)),
        other => {
            let msg = format!("no handler for job kind {other:?}");
            Box::pin(std::future::ready(Err(JobError::Permanent(msg))))
        }
    }
}

//! What apalis does not give us, built around it: our own job table and apalis backend
//! (batched claim and completion, persisted backoff, attempt history), worker processes with
//! heartbeats and rescue, the scheduler, and job queries for the API.
pub mod backoff;
pub mod bench;
pub mod bench_migrate;
pub mod clients;
pub mod completer;
pub mod jobs;
pub mod listener;
pub mod queue;
pub mod ratelimit;
pub mod redis;
pub mod scheduler;
pub mod takeover;
pub mod worker;

/// Applies our migrations (legacy domain tables and the platform's) and apalis-postgres's
/// (used only as the benchmark baseline) in one transaction, after checking the database is
/// empty, legacy or ours (see [`takeover`]). Idempotent.
pub async fn migrate(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    takeover::migrate(pool).await.map(|_| ())
}

//! The job lifecycle against a real PostgreSQL, with in-process workers.
mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;

use common::TestDb;

fn start(db: &TestDb, extra: &[(&str, &str)]) -> common::Running {
    db.worker(&["diagnostics", "maintenance"], extra)
}

struct AttemptRow {
    attempt: i32,
    outcome: String,
    error: Option<String>,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
}

async fn attempts(db: &TestDb, id: i64) -> Vec<AttemptRow> {
    sqlx::query("SELECT attempt, outcome, error, started_at, finished_at FROM cicero.job_attempts WHERE job_id = $1 ORDER BY attempt")
        .bind(id)
        .fetch_all(&db.pool)
        .await
        .expect("attempts")
        .into_iter()
        .map(|r| AttemptRow {
            attempt: r.get("attempt"),
            outcome: r.get("outcome"),
            error: r.get("error"),
            started_at: r.get("started_at"),
            finished_at: r.get("finished_at"),
        })
        .collect()
}

#[tokio::test]
async fn enqueued_job_runs_to_done_with_its_result() {
    let db = TestDb::new().await;
    let w = start(&db, &[]);
    let id = db.enqueue("ping", json!({ "message": "hello" })).await;
    db.wait_state(id, "done", 10).await;
    let job = cicero::platform::jobs::get(&db.pool, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.result, Some(json!({ "pong": "hello", "attempt": 1 })));
    assert_eq!(job.attempt, 1);
    assert!(job.locked_by.is_none());
    let a = job.attempts.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].outcome, "done");
    w.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn failing_job_retries_with_growing_persisted_delays_then_fails_keeping_every_error() {
    let db = TestDb::new().await;
    let w = start(&db, &[]);
    // ping: 3 attempts, backoff 1 s then 2 s (±20 %).
    let id = db.enqueue("ping", json!({ "fail_times": 10 })).await;
    // After the first failure the delay is in the row, not in memory.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let row = sqlx::query(
            "SELECT state, attempt, run_at > now() AS later FROM cicero.jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if row.get::<i32, _>("attempt") == 1 && row.get::<String, _>("state") == "pending" {
            assert!(
                row.get::<bool, _>("later"),
                "the retry must wait for its backoff"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no persisted retry seen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    db.wait_state(id, "failed", 20).await;
    let a = attempts(&db, id).await;
    let outcomes: Vec<&str> = a.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retry", "retry", "failed"]);
    for (i, at) in a.iter().enumerate() {
        assert_eq!(at.attempt, i as i32 + 1);
        let want = format!("ping asked to fail (attempt {}", i + 1);
        assert!(
            at.error.as_deref().unwrap_or("").starts_with(&want),
            "{:?}",
            at.error
        );
    }
    let gap1 = (a[1].started_at - a[0].finished_at).num_milliseconds();
    let gap2 = (a[2].started_at - a[1].finished_at).num_milliseconds();
    assert!((750..2_000).contains(&gap1), "first backoff {gap1} ms");
    assert!((1_550..3_500).contains(&gap2), "second backoff {gap2} ms");
    assert!(gap2 > gap1, "delays must grow: {gap1} then {gap2}");
    let job = cicero::platform::jobs::get(&db.pool, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempt, 3);
    assert!(job.finished_at.is_some());
    w.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn timeout_and_panic_end_failed_with_the_reason_and_the_queue_keeps_serving() {
    let db = TestDb::new().await;
    let w = start(&db, &[("JOB_TIMEOUT_MS_PING", "300")]);
    let slow = db.enqueue("ping", json!({ "sleep_ms": 5_000 })).await;
    let boom = db.enqueue("ping", json!({ "panic": true })).await;
    db.wait_state(slow, "failed", 20).await;
    db.wait_state(boom, "failed", 20).await;
    for a in attempts(&db, slow).await {
        assert_eq!(a.error.as_deref(), Some("timed out after 300ms"));
    }
    let a = attempts(&db, boom).await;
    assert_eq!(a.len(), 3);
    assert!(
        a.iter()
            .all(|a| a.error.as_deref() == Some("panicked: ping asked to panic")),
        "{:?}",
        a.iter().map(|a| &a.error).collect::<Vec<_>>()
    );
    let good = db.enqueue("ping", json!({})).await;
    db.wait_state(good, "done", 10).await;
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.jobs WHERE state = 'running'")
            .await,
        0
    );
    w.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn malformed_rows_fail_alone_and_the_next_job_runs() {
    let db = TestDb::new().await;
    let bad: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO cicero.jobs (queue, kind, payload, max_attempts) VALUES
           ('diagnostics', 'ping', '{\"sleep_ms\": \"soon\"}', 3),
           ('diagnostics', 'ping', '[1, 2]', 3),
           ('diagnostics', 'no_such_kind', '{}', 3)
         RETURNING id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let w = start(&db, &[]);
    let good = db
        .enqueue("ping", json!({ "message": "after the bad ones" }))
        .await;
    db.wait_state(good, "done", 10).await;
    let want = [
        "payload.sleep_ms: invalid type",
        "payload: must be a JSON object",
        "no handler for job kind \"no_such_kind\"",
    ];
    for (id, want) in bad.iter().zip(want) {
        db.wait_state(*id, "failed", 10).await;
        let a = attempts(&db, *id).await;
        assert_eq!(a.len(), 1, "a permanent error is not retried");
        let err = a[0].error.clone().unwrap_or_default();
        assert!(
            err.starts_with("permanent: ") && err.contains(want),
            "{err}"
        );
    }
    w.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn retry_puts_a_failed_job_back_and_it_runs_again() {
    let db = TestDb::new().await;
    let w = start(&db, &[]);
    let id = db
        .enqueue("ping", json!({ "fail_permanently": true }))
        .await;
    db.wait_state(id, "failed", 10).await;
    use cicero::platform::jobs::{RetryOutcome, retry};
    assert_eq!(retry(&db.pool, id).await.unwrap(), RetryOutcome::Retried);
    db.wait_state(id, "failed", 10).await;
    assert_eq!(
        attempts(&db, id).await.len(),
        2,
        "history keeps both attempts"
    );
    let done = db.enqueue("ping", json!({})).await;
    db.wait_state(done, "done", 10).await;
    assert_eq!(
        retry(&db.pool, done).await.unwrap(),
        RetryOutcome::WrongState("done".into())
    );
    assert_eq!(
        retry(&db.pool, 999_999).await.unwrap(),
        RetryOutcome::NotFound
    );
    w.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn jobs_of_a_dead_worker_are_rescued_by_a_live_one() {
    let db = TestDb::new().await;
    // A lease held by an instance that never heartbeats (as after kill -9).
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cicero.jobs (queue, kind, payload, max_attempts, state, attempt, locked_by, started_at)
         VALUES ('diagnostics', 'ping', '{}', 3, 'running', 1, 'ghost-1-AAAAAA', now() - interval '1 minute') RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let w = start(&db, &[]);
    db.wait_state(id, "done", 15).await;
    let a = attempts(&db, id).await;
    let outcomes: Vec<&str> = a.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["lost", "done"]);
    w.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn unique_key_returns_the_existing_job() {
    let db = TestDb::new().await;
    use cicero::platform::jobs::{NewJob, enqueue};
    let mut job = NewJob::new("ping", json!({}));
    job.unique_key = Some("cron:test:1".into());
    let first = enqueue(&db.pool, &job).await.unwrap();
    let second = enqueue(&db.pool, &job).await.unwrap();
    assert!(!first.duplicate);
    assert!(second.duplicate);
    assert_eq!(first.id, second.id);
    assert_eq!(db.count("SELECT count(*) FROM cicero.jobs").await, 1);
    db.drop_db().await;
}

#[tokio::test]
async fn the_unique_key_is_released_when_the_job_leaves_its_unique_states() {
    let db = TestDb::new().await;
    // The SQL rule itself (migration 0015), case by case.
    let cases: [(Option<&[&str]>, &str, bool); 6] = [
        (Some(&["pending", "running"]), "pending", true),
        (Some(&["pending", "running"]), "done", false),
        (Some(&["pending", "running"]), "cancelled", false),
        (Some(&["pending", "running", "done"]), "done", true),
        (Some(&["pending", "running", "done"]), "failed", false),
        (None, "failed", true),
    ];
    for (states, new_state, kept) in cases {
        let states: Option<Vec<String>> = states.map(|s| s.iter().map(|x| x.to_string()).collect());
        let key: Option<String> = sqlx::query_scalar("SELECT cicero.unique_key_after('k', $1, $2)")
            .bind(&states)
            .bind(new_state)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(key.is_some(), kept, "{states:?} -> {new_state}");
    }

    use cicero::platform::jobs::{CancelOutcome, NewJob, cancel, enqueue};
    // ping is unique on its `dedup` field while pending or running: cancelling frees the
    // key, and so does finishing.
    let job = NewJob::new("ping", json!({"dedup": "release-test"}));
    let first = enqueue(&db.pool, &job).await.unwrap();
    assert_eq!(
        cancel(&db.pool, first.id).await.unwrap(),
        CancelOutcome::Cancelled
    );
    let second = enqueue(&db.pool, &job).await.unwrap();
    assert!(!second.duplicate, "a cancelled job must not hold the key");
    let w = start(&db, &[]);
    db.wait_state(second.id, "done", 20).await;
    w.stop().await;
    let held: Option<String> =
        sqlx::query_scalar("SELECT unique_key FROM cicero.jobs WHERE id = $1")
            .bind(second.id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(held, None, "a done ping releases its key");
    let third = enqueue(&db.pool, &job).await.unwrap();
    assert!(!third.duplicate);
    assert_ne!(third.id, second.id);
    db.drop_db().await;
}

#[tokio::test]
async fn enqueue_inside_a_rolled_back_transaction_leaves_nothing() {
    let db = TestDb::new().await;
    use cicero::platform::jobs::{NewJob, enqueue};
    let mut tx = db.pool.begin().await.unwrap();
    enqueue(&mut *tx, &NewJob::new("ping", json!({})))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(db.count("SELECT count(*) FROM cicero.jobs").await, 0);
    let mut tx = db.pool.begin().await.unwrap();
    enqueue(&mut *tx, &NewJob::new("ping", json!({})))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.count("SELECT count(*) FROM cicero.jobs").await, 1);
    db.drop_db().await;
}

#[tokio::test]
async fn backup_db_writes_a_gzip_dump_and_keeps_the_newest() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().to_str().unwrap().to_string();
    // Two old backups of this database, to be rotated away.
    for stamp in ["20200101-040000", "20200102-040000"] {
        std::fs::write(
            dir.path().join(format!("{}-{stamp}.sql.gz", db.name)),
            b"old",
        )
        .unwrap();
    }
    let w = start(&db, &[("BACKUP_DIR", &dir_s), ("BACKUP_KEEP", "2")]);
    let id = db.enqueue("backup_db", json!({})).await;
    db.wait_state(id, "done", 60).await;
    let job = cicero::platform::jobs::get(&db.pool, id)
        .await
        .unwrap()
        .unwrap();
    let result = job.result.unwrap();
    let file = result["file"].as_str().unwrap().to_string();
    assert!(
        file.starts_with(&format!("{}-", db.name)) && file.ends_with(".sql.gz"),
        "{file}"
    );
    let bytes = std::fs::read(dir.path().join(&file)).unwrap();
    assert_eq!(result["bytes"].as_u64(), Some(bytes.len() as u64));
    let mut sql = String::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut sql)
        .unwrap();
    assert!(
        sql.contains("CREATE TABLE cicero.jobs"),
        "dump lacks the jobs table"
    );
    assert!(
        sql.contains("CREATE TABLE public.clients"),
        "dump lacks the legacy tables"
    );
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, [format!("{}-20200102-040000.sql.gz", db.name), file]);
    w.stop().await;
    db.drop_db().await;
}

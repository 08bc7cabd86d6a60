//! Platform features across processes: uniqueness, pause, cancel, rate limits, progress,
//! retention, bulk actions. Worker processes are real `cicero work` children (two where the
//! feature is cluster-wide).
mod common;

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use futures::StreamExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use cicero::{
    http::{AppState, router},
    platform::jobs::{self, BulkAction, CancelOutcome, Filter, NewJob},
};
use common::{TOKEN, TestDb, signal, wait_exit};

fn two_workers(db: &TestDb, env: &[(&str, &str)]) -> [std::process::Child; 2] {
    [
        db.spawn(&["work", "--queues", "diagnostics"], env),
        db.spawn(&["work", "--queues", "diagnostics"], env),
    ]
}

fn stop(children: [std::process::Child; 2]) {
    for mut c in children {
        signal(&c, "TERM");
        assert!(wait_exit(&mut c, 30).success(), "worker exited cleanly");
    }
}

async fn api(db: &TestDb, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, _, json) =
        common::call(&db.app(), method, uri, body.map(|b| b.to_string()), true).await;
    (status, json)
}

#[tokio::test]
async fn concurrent_duplicate_enqueues_yield_one_job_until_it_finishes() {
    let db = TestDb::new().await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let pool = db.pool.clone();
        tasks.push(tokio::spawn(async move {
            jobs::enqueue(
                &pool,
                &NewJob::new("ping", json!({ "dedup": "client-7", "sleep_ms": 500 })),
            )
            .await
            .unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let first = results
        .iter()
        .find(|r| !r.duplicate)
        .expect("one insert")
        .id;
    assert!(results.iter().all(|r| r.id == first));
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
    assert_eq!(db.count("SELECT count(*) FROM cicero.jobs").await, 1);
    // Through the API the duplicate says which job it is.
    let (status, body) = api(
        &db,
        "POST",
        "/api/jobs",
        Some(json!({ "kind": "ping", "payload": { "dedup": "client-7" } })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["duplicate_of"], json!(first));
    // Once done, the key is free again (ping is unique only while pending or running).
    let mut w = db.spawn(&["work", "--queues", "diagnostics"], &[]);
    db.wait_state(first, "done", 15).await;
    let again = jobs::enqueue(
        &db.pool,
        &NewJob::new("ping", json!({ "dedup": "client-7" })),
    )
    .await
    .unwrap();
    assert!(!again.duplicate);
    assert_ne!(again.id, first);
    signal(&w, "TERM");
    assert!(wait_exit(&mut w, 30).success());
    db.drop_db().await;
}

#[tokio::test]
async fn pause_stops_every_worker_process_and_resume_restarts_them() {
    let db = TestDb::new().await;
    let workers = two_workers(&db, &[]);
    let warm = db.enqueue("ping", json!({})).await;
    db.wait_state(warm, "done", 15).await;
    let (status, _) = api(&db, "POST", "/api/queues/diagnostics/pause", None).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(2)).await;
    // More jobs than one process buffers (prefetch = concurrency = 8), so both must pull.
    let mut ids = Vec::new();
    for _ in 0..24 {
        ids.push(db.enqueue("ping", json!({ "sleep_ms": 300 })).await);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for id in &ids {
        assert_eq!(
            db.state(*id).await,
            "pending",
            "a paused queue must not be pulled"
        );
    }
    let (_, q) = api(&db, "GET", "/api/queues", None).await;
    let diag = q["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "diagnostics")
        .unwrap()
        .clone();
    assert_eq!(diag["paused"], json!(true));
    let (status, _) = api(&db, "POST", "/api/queues/diagnostics/resume", None).await;
    assert_eq!(status, StatusCode::OK);
    for id in &ids {
        db.wait_state(*id, "done", 15).await;
    }
    let workers_seen: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT worker) FROM cicero.job_attempts WHERE job_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(workers_seen, 2, "both processes resumed pulling");
    let (status, _) = api(&db, "POST", "/api/queues/nope/pause", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    stop(workers);
    db.drop_db().await;
}

#[tokio::test]
async fn cancel_pending_at_once_and_running_within_seconds() {
    let db = TestDb::new().await;
    let mut later = NewJob::new("ping", json!({}));
    later.run_at = Some(chrono::Utc::now() + chrono::Duration::hours(1));
    let pending = jobs::enqueue(&db.pool, &later).await.unwrap().id;
    let (status, body) = api(&db, "POST", &format!("/api/jobs/{pending}/cancel"), None).await;
    assert_eq!(
        (status, body["state"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    assert_eq!(db.state(pending).await, "cancelled");

    let mut w = db.spawn(&["work", "--queues", "diagnostics"], &[]);
    let running = db.enqueue("ping", json!({ "sleep_ms": 30_000 })).await;
    db.wait_state(running, "running", 15).await;
    let asked = std::time::Instant::now();
    assert_eq!(
        jobs::cancel(&db.pool, running).await.unwrap(),
        CancelOutcome::Requested
    );
    db.wait_state(running, "cancelled", 10).await;
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "took {:?}",
        asked.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        db.state(running).await,
        "cancelled",
        "a cancelled job is not retried"
    );
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM cicero.job_attempts WHERE job_id = $1")
            .bind(running)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(outcomes, ["cancelled"]);
    let (status, _) = api(&db, "POST", &format!("/api/jobs/{running}/cancel"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    signal(&w, "TERM");
    assert!(wait_exit(&mut w, 30).success());
    db.drop_db().await;
}

#[tokio::test]
async fn a_rate_limit_holds_across_two_processes_without_spending_attempts() {
    let db = TestDb::new().await;
    let env = [("RATE_LIMITS", "ping:t=5/1s")];
    let mut many = Vec::new();
    for _ in 0..150 {
        many.push(NewJob::new("ping", json!({ "rate_key": "t" })));
    }
    jobs::enqueue_many(&db.pool, &many).await.unwrap();
    let workers = two_workers(&db, &env);
    tokio::time::sleep(Duration::from_secs(20)).await;
    // Mid-run, the limiter's state is visible.
    let app = router(Arc::new(AppState::new(
        db.pool.clone(),
        TOKEN.into(),
        vec![(
            "ping:t".into(),
            cicero::config::RateLimit {
                max: 5,
                window: Duration::from_secs(1),
            },
        )],
    )));
    let req = Request::builder()
        .uri("/api/rate-limits")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    let lim = body["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["key"] == "ping:t")
        .expect("limiter listed")
        .clone();
    assert_eq!(lim["max"], json!(5));
    assert!(lim["jobs_waiting"].as_i64().unwrap() > 0, "{lim}");
    stop(workers);

    let grants: Vec<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "SELECT granted_at FROM cicero.rate_grants WHERE key = 'ping:t' ORDER BY granted_at",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        grants.len() >= 70,
        "only {} grants in 20 s at 5/s",
        grants.len()
    );
    for (i, start) in grants.iter().enumerate() {
        let in_window = grants[i..]
            .iter()
            .take_while(|g| **g < *start + chrono::Duration::seconds(1))
            .count();
        assert!(
            in_window <= 5,
            "{in_window} grants within one second from {start}"
        );
    }
    let done = db
        .count("SELECT count(*) FROM cicero.jobs WHERE state = 'done'")
        .await;
    assert_eq!(done, grants.len() as i64, "every grant ran exactly one job");
    assert_eq!(
        db.count("SELECT max(attempt)::int8 FROM cicero.jobs").await,
        1,
        "waiting spent no attempt"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.job_attempts WHERE outcome <> 'done'")
            .await,
        0
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_providers_retry_after_blocks_the_key_and_the_job_waits() {
    let db = TestDb::new().await;
    let mut w = db.spawn(
        &["work", "--queues", "diagnostics"],
        &[("RATE_LIMITS", "ping:*=100/1s")],
    );
    let id = db
        .enqueue("ping", json!({ "rate_key": "x", "throttled_ms": 1_500 }))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let blocked = db
            .count("SELECT count(*) FROM cicero.rate_blocks WHERE key = 'ping:x'")
            .await;
        if blocked == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no block recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    db.wait_state(id, "done", 15).await;
    let job = jobs::get(&db.pool, id).await.unwrap().unwrap();
    assert_eq!(job.attempt, 1, "throttled waits do not spend attempts");
    assert!(job.finished_at.unwrap() - job.created_at >= chrono::Duration::milliseconds(1_400));
    signal(&w, "TERM");
    assert!(wait_exit(&mut w, 30).success());
    db.drop_db().await;
}

#[tokio::test]
async fn progress_is_persisted_and_streamed_while_the_job_runs() {
    let db = TestDb::new().await;
    let state = Arc::new(AppState::new(db.pool.clone(), TOKEN.into(), Vec::new()));
    let stop_events = tokio_util::sync::CancellationToken::new();
    tokio::spawn(cicero::http::events::listen(
        db.pool.clone(),
        state.events.clone(),
        stop_events.clone(),
    ));
    let req = Request::builder()
        .uri(format!("/api/jobs/events?access_token={TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let res = router(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut sse = res.into_body().into_data_stream();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut w = db.spawn(&["work", "--queues", "diagnostics"], &[]);
    let id = db
        .enqueue("ping", json!({ "sleep_ms": 3_000, "progress_steps": 3 }))
        .await;
    // Persisted: readable from the job while it runs.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, job) = api(&db, "GET", &format!("/api/jobs/{id}"), None).await;
        if job["progress"]["fraction"].as_f64().unwrap_or(0.0) > 0.0 {
            assert_eq!(job["state"], json!("running"));
            assert_eq!(job["progress"]["message"], json!("step 1 of 3"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no progress seen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Streamed: progress and the finish arrive as SSE events.
    let mut text = String::new();
    let got_all = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(chunk) = sse.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if text.contains("event: finished") && text.contains("\"fraction\":1") {
                return;
            }
        }
    })
    .await;
    assert!(got_all.is_ok(), "events so far: {text}");
    assert!(text.contains("event: progress"), "{text}");
    assert!(text.contains(&format!("[{id},\"done\"]")), "{text}");
    stop_events.cancel();
    signal(&w, "TERM");
    assert!(wait_exit(&mut w, 30).success());
    db.drop_db().await;
}

#[tokio::test]
async fn pruning_removes_only_what_retention_says() {
    let db = TestDb::new().await;
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO cicero.jobs (queue, kind, payload, state, finished_at, created_at) VALUES
           ('diagnostics', 'ping', '{}', 'done',      now() - interval '10 days', now() - interval '10 days'),
           ('diagnostics', 'ping', '{}', 'done',      now() - interval '2 days',  now() - interval '2 days'),
           ('diagnostics', 'ping', '{}', 'failed',    now() - interval '40 days', now() - interval '40 days'),
           ('diagnostics', 'ping', '{}', 'failed',    now() - interval '10 days', now() - interval '10 days'),
           ('diagnostics', 'ping', '{}', 'cancelled', now() - interval '40 days', now() - interval '40 days'),
           ('diagnostics', 'ping', '{}', 'pending',   NULL,                       now() - interval '90 days')
         RETURNING id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO cicero.job_attempts (job_id, attempt, worker, started_at, outcome) SELECT id, 1, 'w', now(), 'done' FROM unnest($1::int8[]) id")
        .bind(&ids)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut w = db.spawn(
        &["work", "--queues", "maintenance"],
        &[("RETAIN_DONE_DAYS", "7"), ("RETAIN_FAILED_DAYS", "30")],
    );
    let prune = db.enqueue("prune_jobs", json!({})).await;
    db.wait_state(prune, "done", 20).await;
    let left: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM cicero.jobs WHERE kind = 'ping' ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(left, [ids[1], ids[3], ids[5]]);
    let history: Vec<i64> = sqlx::query_scalar(
        "SELECT job_id FROM cicero.job_attempts WHERE worker = 'w' ORDER BY job_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(history, left, "history goes with its job");
    let result: Value = sqlx::query_scalar("SELECT result FROM cicero.jobs WHERE id = $1")
        .bind(prune)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        (
            result["deleted_done"].as_i64(),
            result["deleted_failed_or_cancelled"].as_i64()
        ),
        (Some(1), Some(2))
    );
    signal(&w, "TERM");
    assert!(wait_exit(&mut w, 30).success());
    db.drop_db().await;
}

#[tokio::test]
async fn bulk_retry_of_a_filtered_set_and_payload_search() {
    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO cicero.jobs (queue, kind, payload, state, attempt, max_attempts, finished_at) VALUES
           ('diagnostics', 'ping', '{\"message\": \"POLRES_A fetch\"}', 'failed', 3, 3, now()),
           ('diagnostics', 'ping', '{\"message\": \"polres_a digest\"}', 'failed', 3, 3, now()),
           ('diagnostics', 'ping', '{\"message\": \"POLRES_B fetch\"}', 'failed', 3, 3, now()),
           ('diagnostics', 'ping', '{\"message\": \"POLRES_A done\"}', 'done', 1, 3, now()),
           ('diagnostics', 'ping', '{\"message\": \"100%_sure\"}', 'failed', 3, 3, now())",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let (status, page) = api(&db, "GET", "/api/jobs?q=polres_a", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["total"],
        json!(3),
        "search is case-insensitive over the payload"
    );
    let (_, page) = api(&db, "GET", "/api/jobs?q=0%25_", None).await;
    assert_eq!(page["total"], json!(1), "% and _ are literal");
    // Dry run first (the default): counts, changes nothing.
    let body = json!({ "action": "retry", "filter": { "state": "failed", "q": "POLRES_A" } });
    let (status, r) = api(&db, "POST", "/api/jobs/bulk", Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["dry_run"].clone(),
            r["matched"].clone(),
            r["affected"].clone()
        ),
        (json!(true), json!(2), json!(2))
    );
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.jobs WHERE state = 'failed'")
            .await,
        4
    );
    let mut real = body;
    real["dry_run"] = json!(false);
    let (_, r) = api(&db, "POST", "/api/jobs/bulk", Some(real)).await;
    assert_eq!(r["affected"], json!(2));
    let pending: Vec<String> = sqlx::query_scalar(
        "SELECT payload->>'message' FROM cicero.jobs WHERE state = 'pending' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(pending, ["POLRES_A fetch", "polres_a digest"]);
    // The same through the library: delete everything failed, after a dry run.
    let f = Filter {
        state: Some("failed".into()),
        ..Filter::default()
    };
    let dry = jobs::bulk(&db.pool, BulkAction::Delete, &f, true)
        .await
        .unwrap();
    assert_eq!((dry.matched, dry.affected), (2, 2));
    assert_eq!(
        jobs::bulk(&db.pool, BulkAction::Delete, &f, false)
            .await
            .unwrap()
            .affected,
        2
    );
    assert_eq!(db.count("SELECT count(*) FROM cicero.jobs").await, 3);
    let (status, r) = api(
        &db,
        "POST",
        "/api/jobs/bulk",
        Some(json!({ "action": "explode" })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let (status, _) = api(
        &db,
        "POST",
        "/api/jobs/bulk",
        Some(json!({ "action": "retry", "filter": { "queue": "nope" } })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    db.drop_db().await;
}

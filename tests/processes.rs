//! Whole `cicero` processes: crash recovery, graceful shutdown, several schedulers, and
//! start-up errors.
mod common;

use std::{process::Stdio, time::Duration};

use serde_json::json;
use sqlx::Row;

use common::{TestDb, signal, wait_exit};

async fn outcomes(db: &TestDb, id: i64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT outcome FROM cicero.job_attempts WHERE job_id = $1 ORDER BY attempt, finished_at",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn kill_9_mid_job_then_restart_completes_the_job() {
    let db = TestDb::new().await;
    let mut first = db.spawn(&["work", "--queues", "diagnostics"], &[]);
    let id = db
        .enqueue("ping", json!({ "sleep_ms": 3_000, "message": "survivor" }))
        .await;
    db.wait_state(id, "running", 15).await;
    signal(&first, "KILL");
    wait_exit(&mut first, 10);
    assert_eq!(
        db.state(id).await,
        "running",
        "the dead worker still holds the lease"
    );
    let mut second = db.spawn(&["work", "--queues", "diagnostics"], &[]);
    // Rescue window 3 s (WORKER_RESCUE_AFTER_SECS), then the 3 s job.
    db.wait_state(id, "done", 30).await;
    assert_eq!(outcomes(&db, id).await, ["lost", "done"]);
    let result: serde_json::Value =
        sqlx::query_scalar("SELECT result FROM cicero.jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(result, json!({ "pong": "survivor", "attempt": 2 }));
    signal(&second, "TERM");
    assert!(wait_exit(&mut second, 20).success());
    db.drop_db().await;
}

#[tokio::test]
async fn sigterm_finishes_running_jobs_and_hands_back_unstarted_ones() {
    let db = TestDb::new().await;
    let mut w = db.spawn(
        &["work", "--queues", "diagnostics"],
        &[("QUEUE_CONCURRENCY", "diagnostics=1")],
    );
    let ids: Vec<i64> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(db.enqueue("ping", json!({ "sleep_ms": 1_500 })).await);
        }
        v
    };
    db.wait_state(ids[0], "running", 15).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    signal(&w, "TERM");
    assert!(wait_exit(&mut w, 20).success(), "clean exit");
    assert_eq!(db.state(ids[0]).await, "done", "the running job finished");
    assert_eq!(outcomes(&db, ids[0]).await, ["done"]);
    for id in &ids[1..] {
        let row = sqlx::query("SELECT state, attempt, locked_by FROM cicero.jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(row.get::<String, _>("state"), "pending");
        assert_eq!(
            row.get::<i32, _>("attempt"),
            0,
            "an unstarted job spends no attempt"
        );
        assert!(row.get::<Option<String>, _>("locked_by").is_none());
    }
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.workers").await,
        0,
        "the instance deregistered"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn sigterm_past_the_grace_period_interrupts_and_requeues() {
    let db = TestDb::new().await;
    let mut w = db.spawn(
        &["work", "--queues", "diagnostics"],
        &[("WORKER_SHUTDOWN_GRACE_SECS", "1")],
    );
    let id = db.enqueue("ping", json!({ "sleep_ms": 20_000 })).await;
    db.wait_state(id, "running", 15).await;
    signal(&w, "TERM");
    assert!(wait_exit(&mut w, 20).success());
    assert_eq!(db.state(id).await, "pending");
    assert_eq!(outcomes(&db, id).await, ["interrupted"]);
    db.drop_db().await;
}

#[tokio::test]
async fn two_schedulers_enqueue_exactly_one_job_per_tick() {
    let db = TestDb::new().await;
    let every_second = [("CRON_BACKUP_DB", "* * * * * *")];
    let mut a = db.spawn(&["schedule"], &every_second);
    let mut b = db.spawn(&["schedule"], &every_second);
    tokio::time::sleep(Duration::from_secs(5)).await;
    signal(&a, "TERM");
    signal(&b, "TERM");
    assert!(wait_exit(&mut a, 20).success());
    assert!(wait_exit(&mut b, 20).success());
    let rows = sqlx::query("SELECT unique_key, count(*) AS n FROM cicero.jobs WHERE kind = 'backup_db' GROUP BY unique_key")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert!(
        rows.len() >= 3,
        "expected a job per second, got {} ticks",
        rows.len()
    );
    for r in &rows {
        let key: String = r.get("unique_key");
        assert!(key.starts_with("cron:backup_db:"), "{key}");
        assert_eq!(r.get::<i64, _>("n"), 1, "tick {key} enqueued twice");
    }
    db.drop_db().await;
}

#[tokio::test]
async fn a_switched_off_cron_entry_enqueues_nothing() {
    let db = TestDb::new().await;
    // The legacy key switches our entry off too.
    sqlx::query(
        "UPDATE cron_job_config SET is_active = false WHERE job_key = './src/cron/cronDbBackup.js'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM cron_job_config WHERE job_key = './src/cron/cronDbBackup.js'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    if n == 0 {
        sqlx::query("INSERT INTO cron_job_config (job_key, display_name, is_active) VALUES ('backup_db', 'backup', false)")
            .execute(&db.pool)
            .await
            .unwrap();
    }
    // whatsapp_status, every second, shows the scheduler was ticking meanwhile. Only
    // backup_db is counted: other entries (every minute, at :00/:30) may fire in the window.
    let mut s = db.spawn(
        &["schedule"],
        &[
            ("CRON_BACKUP_DB", "* * * * * *"),
            ("CRON_WHATSAPP_STATUS", "* * * * * *"),
        ],
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    signal(&s, "TERM");
    assert!(wait_exit(&mut s, 20).success());
    assert!(
        db.count("SELECT count(*) FROM cicero.jobs WHERE kind = 'whatsapp_status'")
            .await
            > 0,
        "the scheduler ran"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.jobs WHERE kind = 'backup_db'")
            .await,
        0
    );
    db.drop_db().await;
}

#[tokio::test]
async fn bad_settings_stop_start_up_naming_the_setting() {
    let db = TestDb::new().await;
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (&["serve"], &[("PORT", "eighty")], "setting PORT: "),
        (&["serve"], &[], "setting JOB_API_TOKEN: "),
        (
            &["work"],
            &[("WORKER_CONCURRENCY", "0")],
            "setting WORKER_CONCURRENCY: ",
        ),
        (
            &["schedule"],
            &[("CRON_BACKUP_DB", "every day")],
            "setting CRON_BACKUP_DB: ",
        ),
        (
            &["work"],
            &[("QUEUE_CONCURRENCY", "emails=3")],
            "setting QUEUE_CONCURRENCY: ",
        ),
        (
            &["work", "--queues", "nope"],
            &[],
            "--queues: unknown queue",
        ),
    ];
    for (args, env, want) in cases {
        let out = db
            .cicero(args, env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        let line = stderr.lines().last().unwrap_or_default();
        assert!(
            line.starts_with(&format!("error: {want}")),
            "{args:?} {env:?}: {stderr}"
        );
    }
    let out = db
        .cicero(&["migrate"], &[])
        .env_remove("DATABASE_URL")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("setting DATABASE_URL: "));
    db.drop_db().await;
}

#[tokio::test]
async fn cli_enqueues_shows_and_lists_jobs() {
    let db = TestDb::new().await;
    let out = db
        .cicero(
            &[
                "job",
                "enqueue",
                "ping",
                "--payload",
                r#"{"message":"cli"}"#,
            ],
            &[],
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_i64().unwrap();
    assert_eq!(db.state(id).await, "pending");
    let out = db
        .cicero(&["job", "show", &id.to_string()], &[])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["payload"], json!({ "message": "cli" }));
    let out = db
        .cicero(
            &["job", "enqueue", "ping", "--payload", r#"{"sleep_ms":"x"}"#],
            &[],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("payload.sleep_ms"));
    let out = db
        .cicero(&["job", "list", "--state", "pending"], &[])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 of 1"));
    db.drop_db().await;
}

//! Per-client pause (`/api/clients/{client_id}/pause|resume`, `cicero.paused_clients`): the
//! claim statement skips a paused client's jobs in every queue, including jobs enqueued after
//! the pause, while other clients' jobs run; resuming releases them. Real router, real
//! database, and a real `cicero work` process.
mod common;

use axum::{Router, http::StatusCode};
use serde_json::{Value, json};

use cicero::platform::queue::claim;
use common::{TestDb, call, signal, wait_exit};

async fn api(app: &Router, method: &str, uri: &str) -> (StatusCode, Value) {
    let (status, _, json) = call(app, method, uri, None, true).await;
    (status, json)
}

/// A pending job of `client` (or none) in `queue`, as any kind would leave it: the claim
/// statement never decodes payloads.
async fn pending(db: &TestDb, queue: &str, client: Option<&str>) -> i64 {
    let payload = match client {
        Some(c) => json!({ "client_id": c }),
        None => json!({ "message": "no tenant" }),
    };
    sqlx::query_scalar(
        "INSERT INTO cicero.jobs (queue, kind, payload) VALUES ($1, 'ping', $2) RETURNING id",
    )
    .bind(queue)
    .bind(payload)
    .fetch_one(&db.pool)
    .await
    .expect("insert job")
}

async fn claimed(db: &TestDb, queue: &str) -> Vec<i64> {
    claim(&db.pool, queue, "test-worker", 100)
        .await
        .expect("claim")
        .into_iter()
        .map(|j| j.id)
        .collect()
}

#[tokio::test]
async fn a_paused_clients_jobs_are_not_claimed_in_any_queue_until_resumed() {
    let db = TestDb::new().await;
    let app = db.app();
    let a1 = pending(&db, "diagnostics", Some("POLRES_A")).await;
    let a_wa = pending(&db, "whatsapp", Some("POLRES_A")).await;

    let (status, p) = api(&app, "POST", "/api/clients/POLRES_A/pause").await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(
        (
            p["client_id"].clone(),
            p["paused"].clone(),
            p["pending_jobs"].clone()
        ),
        (json!("POLRES_A"), json!(true), json!(2))
    );
    assert_eq!(p["paused_by"], json!("api-token"));

    // Enqueued after the pause: held as well. Other tenants, a client whose id only
    // contains the paused one, and jobs without client_id run.
    let a2 = pending(&db, "diagnostics", Some("POLRES_A")).await;
    let b = pending(&db, "diagnostics", Some("POLRES_B")).await;
    let ab = pending(&db, "diagnostics", Some("POLRES_AB")).await;
    let none = pending(&db, "diagnostics", None).await;
    assert_eq!(claimed(&db, "diagnostics").await, [b, ab, none]);
    assert_eq!(claimed(&db, "whatsapp").await, Vec::<i64>::new());

    let (status, list) = api(&app, "GET", "/api/clients/paused").await;
    assert_eq!(status, StatusCode::OK);
    let clients = list["clients"].as_array().expect("clients");
    assert_eq!(clients.len(), 1, "{list}");
    assert_eq!(clients[0]["client_id"], json!("POLRES_A"));
    assert_eq!(clients[0]["pending_jobs"], json!(3));

    let (status, r) = api(&app, "POST", "/api/clients/POLRES_A/resume").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        r,
        json!({ "client_id": "POLRES_A", "paused": false, "was_paused": true })
    );
    assert_eq!(claimed(&db, "diagnostics").await, [a1, a2]);
    assert_eq!(claimed(&db, "whatsapp").await, [a_wa]);
    let (_, list) = api(&app, "GET", "/api/clients/paused").await;
    assert_eq!(list, json!({ "clients": [] }));

    // Idempotent both ways; audited with the target client.
    let (_, again) = api(&app, "POST", "/api/clients/POLRES_A/resume").await;
    assert_eq!(again["was_paused"], json!(false));
    let audit: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT actor, action, target FROM cicero.audit_log WHERE action LIKE 'client.%' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .expect("audit");
    let a = |action: &str| {
        (
            "api-token".to_string(),
            action.to_string(),
            "POLRES_A".to_string(),
        )
    };
    assert_eq!(
        audit,
        [a("client.pause"), a("client.resume"), a("client.resume")]
    );
    db.drop_db().await;
}

#[tokio::test]
async fn bad_client_ids_and_missing_tokens_are_refused() {
    let db = TestDb::new().await;
    let app = db.app();
    let (status, body) = api(&app, "POST", "/api/clients/%20%20/pause").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["message"], json!("client_id is empty"));
    let long = "X".repeat(101);
    let (status, _) = api(&app, "POST", &format!("/api/clients/{long}/resume")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for (method, uri) in [
        ("POST", "/api/clients/POLRES_A/pause"),
        ("POST", "/api/clients/POLRES_A/resume"),
        ("GET", "/api/clients/paused"),
    ] {
        let (status, _, _) = call(&app, method, uri, None, false).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.paused_clients").await,
        0
    );
    assert_eq!(db.count("SELECT count(*) FROM cicero.audit_log").await, 0);
    db.drop_db().await;
}

#[tokio::test]
async fn a_worker_process_runs_other_clients_while_one_is_paused() {
    let db = TestDb::new().await;
    let app = db.app();
    let (status, _) = api(&app, "POST", "/api/clients/POLRES_KEDIRI/pause").await;
    assert_eq!(status, StatusCode::OK);
    let mut w = db.spawn(&["work", "--queues", "diagnostics"], &[]);
    // The paused client's job is older, so a worker that ignored the pause would take it first.
    let held = db
        .enqueue(
            "ping",
            json!({ "client_id": "POLRES_KEDIRI", "message": "held" }),
        )
        .await;
    let other = db
        .enqueue(
            "ping",
            json!({ "client_id": "POLRES_BLITAR", "message": "runs" }),
        )
        .await;
    db.wait_state(other, "done", 60).await;
    assert_eq!(db.state(held).await, "pending");
    let (status, _) = api(&app, "POST", "/api/clients/POLRES_KEDIRI/resume").await;
    assert_eq!(status, StatusCode::OK);
    db.wait_state(held, "done", 60).await;
    signal(&w, "TERM");
    assert!(wait_exit(&mut w, 20).success());
    db.drop_db().await;
}

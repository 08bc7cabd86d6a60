//! The API routes added for the operator board, and the board's static files, through the real
//! router against a real database.
mod common;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{TestDb, call};

async fn api(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, _, json) = call(app, method, uri, body.map(|b| b.to_string()), true).await;
    (status, json)
}

async fn audit_actions(db: &TestDb) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT actor, action, coalesce(target, '') FROM cicero.audit_log ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

async fn set_state(db: &TestDb, id: i64, state: &str) {
    sqlx::query("UPDATE cicero.jobs SET state = $2, finished_at = now() WHERE id = $1")
        .bind(id)
        .bind(state)
        .execute(&db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn new_routes_need_the_token() {
    let db = TestDb::new().await;
    let app = db.app();
    for (method, uri) in [
        ("GET", "/api/stats"),
        ("GET", "/api/workers"),
        ("DELETE", "/api/jobs/1"),
        ("POST", "/api/jobs/validate"),
        ("GET", "/api/catalogue"),
        ("GET", "/api/schedules"),
        ("POST", "/api/schedules/prune_jobs/disable"),
        ("POST", "/api/schedules/prune_jobs/enable"),
        ("POST", "/api/schedules/prune_jobs/run"),
        ("GET", "/api/audit"),
    ] {
        let (status, _, _) = call(&app, method, uri, None, false).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    db.drop_db().await;
}

#[tokio::test]
async fn throughput_series_and_failure_rate_come_from_attempts() {
    let db = TestDb::new().await;
    let app = db.app();
    let a = db.enqueue("ping", json!({})).await;
    let b = db.enqueue("backup_db", json!({})).await;
    // diagnostics: two done and one retry now, one done 2 hours ago; maintenance: one failure.
    sqlx::query(
        "INSERT INTO cicero.job_attempts (job_id, attempt, worker, started_at, finished_at, outcome) VALUES
           ($1, 1, 'w', now(), now(), 'retry'), ($1, 2, 'w', now(), now(), 'done'),
           ($1, 3, 'w', now(), now(), 'done'), ($1, 4, 'w', now(), now() - interval '2 hours', 'done'),
           ($2, 1, 'w', now(), now() - interval '10 minutes', 'failed')",
    )
    .bind(a)
    .bind(b)
    .execute(&db.pool)
    .await
    .unwrap();
    let (status, hour) = api(&app, "GET", "/api/stats?window=hour", None).await;
    assert_eq!(status, StatusCode::OK, "{hour}");
    assert_eq!(hour["bucket_secs"], 60);
    let q = |v: &Value, name: &str| {
        v["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["queue"] == name)
            .cloned()
            .unwrap()
    };
    let diag = q(&hour, "diagnostics");
    assert_eq!(
        (diag["done"].clone(), diag["failed"].clone()),
        (json!(2), json!(1))
    );
    assert!((diag["failure_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(diag["buckets"].as_array().unwrap().len(), 60);
    // The current minute (or the one before, if the clock turned in between) holds them.
    let recent = &diag["buckets"].as_array().unwrap()[58..];
    let sum = |k: &str| recent.iter().map(|b| b[k].as_i64().unwrap()).sum::<i64>();
    assert_eq!((sum("done"), sum("failed")), (2, 1));
    let maint = q(&hour, "maintenance");
    assert_eq!(
        (
            maint["done"].clone(),
            maint["failed"].clone(),
            maint["failure_rate"].clone()
        ),
        (json!(0), json!(1), json!(1.0))
    );
    let (_, day) = api(&app, "GET", "/api/stats?window=day", None).await;
    let diag = q(&day, "diagnostics");
    assert_eq!(diag["done"], 3);
    assert_eq!(diag["buckets"].as_array().unwrap().len(), 48);
    let (status, body) = api(&app, "GET", "/api/stats?window=week", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["message"].as_str().unwrap().starts_with("window:"),
        "{body}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn workers_with_their_heartbeat() {
    let db = TestDb::new().await;
    let app = db.app();
    sqlx::query(
        "INSERT INTO cicero.workers (name, host, pid, queues, last_seen)
         VALUES ('vm-1-A', 'vm', 1, '{diagnostics}', now() - interval '5 seconds')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let (status, body) = api(&app, "GET", "/api/workers", None).await;
    assert_eq!(status, StatusCode::OK);
    let w = &body["workers"][0];
    assert_eq!(
        (w["name"].clone(), w["queues"].clone()),
        (json!("vm-1-A"), json!(["diagnostics"]))
    );
    let age = w["seconds_since_heartbeat"].as_f64().unwrap();
    assert!((4.0..60.0).contains(&age), "{age}");
    db.drop_db().await;
}

#[tokio::test]
async fn delete_one_job_unless_running() {
    let db = TestDb::new().await;
    let app = db.app();
    let done = db.enqueue("ping", json!({ "message": "a" })).await;
    set_state(&db, done, "failed").await;
    sqlx::query("INSERT INTO cicero.job_attempts (job_id, attempt, worker, started_at, outcome) VALUES ($1, 1, 'w', now(), 'failed')")
        .bind(done)
        .execute(&db.pool)
        .await
        .unwrap();
    let running = db.enqueue("ping", json!({ "message": "b" })).await;
    set_state(&db, running, "running").await;
    let (status, body) = api(&app, "DELETE", &format!("/api/jobs/{done}"), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "id": done, "deleted": true }))
    );
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.job_attempts").await,
        0
    );
    let (status, _) = api(&app, "GET", &format!("/api/jobs/{done}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api(&app, "DELETE", &format!("/api/jobs/{running}"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("running"));
    let (status, _) = api(&app, "DELETE", &format!("/api/jobs/{done}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api(&app, "DELETE", "/api/jobs/abc", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let audit = audit_actions(&db).await;
    assert_eq!(
        audit,
        [(
            "api-token".to_string(),
            "job.delete".to_string(),
            done.to_string()
        )]
    );
    db.drop_db().await;
}

#[tokio::test]
async fn catalogue_and_payload_validation() {
    let db = TestDb::new().await;
    let app = db.app();
    let (status, cat) = api(&app, "GET", "/api/catalogue", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cat["queues"], json!(cicero_jobs::QUEUES));
    let kinds = cat["kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), cicero_jobs::CATALOGUE.len());
    for k in kinds {
        // Every example is a valid payload for its kind.
        let (status, body) = api(
            &app,
            "POST",
            "/api/jobs/validate",
            Some(json!({ "kind": k["kind"], "payload": k["example"] })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{k}: {body}");
        assert_eq!(body["valid"], true);
    }
    let cases = [
        (
            json!({ "kind": "ping", "payload": { "sleep_ms": "slow" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "payload.sleep_ms: invalid type",
        ),
        (
            json!({ "kind": "nope" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind: unknown job kind",
        ),
        (
            json!({ "payload": {} }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body: missing field `kind`",
        ),
    ];
    for (body, want, prefix) in cases {
        let (status, got) = api(&app, "POST", "/api/jobs/validate", Some(body.clone())).await;
        assert_eq!(status, want, "{body}");
        assert!(
            got["message"].as_str().unwrap().starts_with(prefix),
            "{body}: {got}"
        );
    }
    let (status, _, _) = call(&app, "POST", "/api/jobs/validate", Some("{".into()), true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.jobs").await,
        0,
        "validation enqueues nothing"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn schedules_switch_through_cron_job_config_and_run_now() {
    let db = TestDb::new().await;
    let app = db.app();
    let (status, s) = api(&app, "GET", "/api/schedules", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["timezone"], "Asia/Jakarta");
    let find = |v: &Value, name: &str| {
        v["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap()
    };
    let backup = find(&s, "backup_db");
    assert_eq!(backup["active"], true, "{backup}");
    let next = backup["next_runs"].as_array().unwrap();
    assert_eq!(next.len(), 5);
    assert!(
        next.iter()
            .all(|t| t.as_str().unwrap().ends_with("T04:00:00+07:00")),
        "{backup}"
    );
    assert_eq!(backup["last_run"], Value::Null);

    // Off: our own row is created and the legacy row (seeded by migration 0001) is switched too.
    let (status, body) = api(&app, "POST", "/api/schedules/backup_db/disable", None).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "name": "backup_db", "active": false })
        )
    );
    let rows: Vec<(String, bool)> = sqlx::query_as(
        "SELECT job_key, is_active FROM cron_job_config WHERE job_key IN ('backup_db', './src/cron/cronDbBackup.js') ORDER BY job_key",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(rows.iter().all(|(_, a)| !a), "{rows:?}");
    assert!(rows.iter().any(|(k, _)| k == "backup_db"), "{rows:?}");
    let (_, s) = api(&app, "GET", "/api/schedules", None).await;
    assert_eq!(find(&s, "backup_db")["active"], false);
    let (status, _) = api(&app, "POST", "/api/schedules/backup_db/enable", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, s) = api(&app, "GET", "/api/schedules", None).await;
    assert_eq!(find(&s, "backup_db")["active"], true);

    // Run now: a job of the entry's kind that becomes its last run.
    let (status, body) = api(&app, "POST", "/api/schedules/prune_jobs/run", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_i64().unwrap();
    let (kind, key): (String, String) =
        sqlx::query_as("SELECT kind, unique_key FROM cicero.jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(kind, "prune_jobs");
    assert!(key.starts_with("cron:prune_jobs:manual-"), "{key}");
    let (_, s) = api(&app, "GET", "/api/schedules", None).await;
    let last = &find(&s, "prune_jobs")["last_run"];
    assert_eq!(
        (last["job_id"].clone(), last["state"].clone()),
        (json!(id), json!("pending"))
    );

    for uri in ["/api/schedules/nope/disable", "/api/schedules/nope/run"] {
        let (status, _) = api(&app, "POST", uri, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
    let actions: Vec<String> = audit_actions(&db)
        .await
        .into_iter()
        .map(|(_, a, t)| format!("{a} {t}"))
        .collect();
    assert_eq!(
        actions,
        [
            "schedule.disable backup_db",
            "schedule.enable backup_db",
            "schedule.run prune_jobs"
        ]
    );
    db.drop_db().await;
}

#[tokio::test]
async fn every_action_is_audited_with_its_actor() {
    let db = TestDb::new().await;
    let app = db.app();
    let send = |method: &'static str, uri: String, body: Option<Value>| {
        let app = app.clone();
        async move {
            let req = Request::builder()
                .method(method)
                .uri(uri)
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", common::TOKEN))
                .header("x-cicero-actor", "Rina")
                .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
                .unwrap();
            app.oneshot(req).await.unwrap().status()
        }
    };
    assert_eq!(
        send("POST", "/api/jobs".into(), Some(json!({ "kind": "ping" }))).await,
        StatusCode::ACCEPTED
    );
    let id: i64 = sqlx::query_scalar("SELECT max(id) FROM cicero.jobs")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        send("POST", format!("/api/jobs/{id}/cancel"), None).await,
        StatusCode::OK
    );
    assert_eq!(
        send("POST", format!("/api/jobs/{id}/retry"), None).await,
        StatusCode::OK
    );
    assert_eq!(
        send("POST", "/api/queues/diagnostics/pause".into(), None).await,
        StatusCode::OK
    );
    assert_eq!(
        send("POST", "/api/queues/diagnostics/resume".into(), None).await,
        StatusCode::OK
    );
    let bulk = json!({ "action": "cancel", "filter": { "queue": "diagnostics" } });
    assert_eq!(
        send("POST", "/api/jobs/bulk".into(), Some(bulk.clone())).await,
        StatusCode::OK,
        "dry run"
    );
    let mut real = bulk;
    real["dry_run"] = json!(false);
    assert_eq!(
        send("POST", "/api/jobs/bulk".into(), Some(real)).await,
        StatusCode::OK
    );
    // Refused actions are not audited.
    assert_eq!(
        send("POST", format!("/api/jobs/{id}/cancel"), None).await,
        StatusCode::CONFLICT
    );

    let (status, body) = api(&app, "GET", "/api/audit", None).await;
    assert_eq!(status, StatusCode::OK);
    let entries = body["entries"].as_array().unwrap();
    let seen: Vec<String> = entries
        .iter()
        .rev()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["target"].as_str().unwrap()
            )
        })
        .collect();
    let sid = id.to_string();
    assert_eq!(
        seen,
        [
            format!("job.enqueue {sid}"),
            format!("job.cancel {sid}"),
            format!("job.retry {sid}"),
            "queue.pause diagnostics".into(),
            "queue.resume diagnostics".into(),
            "jobs.bulk_cancel jobs".into(),
        ]
    );
    assert!(entries.iter().all(|e| e["actor"] == "api-token (Rina)"));
    assert_eq!(
        entries[0]["detail"],
        json!({ "filter": { "queue": "diagnostics" }, "matched": 1, "affected": 1 })
    );
    // Newest first, paged by id.
    let newest = entries[0]["id"].as_i64().unwrap();
    let (_, page) = api(
        &app,
        "GET",
        &format!("/api/audit?limit=2&before_id={newest}"),
        None,
    )
    .await;
    let ids: Vec<i64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [newest - 1, newest - 2]);
    for uri in [
        "/api/audit?limit=0",
        "/api/audit?limit=x",
        "/api/audit?before_id=x",
    ] {
        let (status, _) = api(&app, "GET", uri, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
    }
    db.drop_db().await;
}

#[tokio::test]
async fn tenant_filter_and_scoped_bulk_retry() {
    let db = TestDb::new().await;
    let app = db.app();
    // Rows as other kinds (with a client_id) would leave them; ping payloads stand in.
    let mut ids = Vec::new();
    for (client, state) in [
        ("POLRES_A", "failed"),
        ("POLRES_A", "done"),
        ("POLRES_B", "failed"),
        ("POLRES_AB", "failed"),
    ] {
        let id: i64 = sqlx::query_scalar("INSERT INTO cicero.jobs (queue, kind, payload, state) VALUES ('diagnostics', 'ping', $1, $2) RETURNING id")
            .bind(json!({ "client_id": client }))
            .bind(state)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        ids.push(id);
    }
    let (status, page) = api(&app, "GET", "/api/jobs?client_id=POLRES_A", None).await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<i64> = page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, [ids[1], ids[0]], "exact match, not POLRES_AB");
    let (status, r) = api(
        &app,
        "POST",
        "/api/jobs/bulk",
        Some(json!({ "action": "retry", "filter": { "client_id": "POLRES_A" }, "dry_run": false })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (r["matched"].clone(), r["affected"].clone()),
        (json!(2), json!(1))
    );
    let mut states = Vec::new();
    for id in &ids {
        states.push(db.state(*id).await);
    }
    assert_eq!(states, ["pending", "done", "failed", "failed"]);
    db.drop_db().await;
}

#[tokio::test]
async fn the_board_is_served_from_the_binary() {
    let db = TestDb::new().await;
    let app = db.app();
    let get = |uri: &'static str| {
        let app = app.clone();
        async move {
            let res = app
                .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = res.status();
            let headers = res.headers().clone();
            let body = axum::body::to_bytes(res.into_body(), 1 << 22)
                .await
                .unwrap();
            (status, headers, String::from_utf8_lossy(&body).to_string())
        }
    };
    let (status, headers, _) = get("/board").await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(headers["location"], "/board/");
    let (status, headers, html) = get("/board/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.contains(r#"<script src="app.js">"#) && html.contains("app.css"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    // No CDN: nothing is loaded from another origin.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "external reference in index.html"
    );
    for (uri, ctype) in [
        ("/board/app.js", "text/javascript"),
        ("/board/app.css", "text/css"),
        ("/board/favicon.svg", "image/svg+xml"),
    ] {
        let (status, headers, body) = get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(ctype),
            "{uri}"
        );
        assert!(!body.is_empty(), "{uri}");
        assert!(
            !body.contains("https://"),
            "{uri} loads something from another origin"
        );
    }
    let (status, _, _) = get("/board/secret.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    db.drop_db().await;
}

//! The HTTP surface, driven through the real router against a real database.
mod common;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::{Value, json};
use tower::ServiceExt;

use common::TestDb;

struct Api {
    app: Router,
}

impl Api {
    fn new(db: &TestDb) -> Api {
        Api { app: db.app() }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        body: Option<&str>,
        auth: bool,
    ) -> (StatusCode, Value) {
        let (status, headers, json) =
            common::call(&self.app, method, uri, body.map(str::to_owned), auth).await;
        assert!(headers.contains_key("x-request-id"), "{uri}: no request id");
        (status, json)
    }
}

#[tokio::test]
async fn legacy_basics() {
    let db = TestDb::new().await;
    let api = Api::new(&db);
    for (method, uri) in [
        ("GET", "/"),
        ("POST", "/"),
        ("GET", "/_next/dev/"),
        ("POST", "/_next/dev/"),
    ] {
        assert_eq!(
            api.call(method, uri, None, false).await,
            (StatusCode::OK, json!({ "status": "ok" })),
            "{method} {uri}"
        );
    }
    let not_found = json!({ "success": false, "message": "Endpoint not found" });
    for uri in [
        "/nope",
        "/api/nope",
        "/.env",
        "/config/.env.local",
        "/api/jobs/.env",
    ] {
        assert_eq!(
            api.call("GET", uri, None, true).await,
            (StatusCode::NOT_FOUND, not_found.clone()),
            "{uri}"
        );
    }
    db.drop_db().await;
}

#[tokio::test]
async fn enqueue_and_read_back() {
    let db = TestDb::new().await;
    let api = Api::new(&db);
    let (status, body) = api
        .call(
            "POST",
            "/api/jobs",
            Some(r#"{"kind":"ping","payload":{"message":"hi"},"priority":5}"#),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_i64().unwrap();
    assert_eq!(
        body,
        json!({ "id": id, "state": "pending", "status_url": format!("/api/jobs/{id}") })
    );
    let (status, job) = api
        .call("GET", &format!("/api/jobs/{id}"), None, true)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            job["kind"].as_str(),
            job["queue"].as_str(),
            job["priority"].as_i64()
        ),
        (Some("ping"), Some("diagnostics"), Some(5))
    );
    assert_eq!(job["attempts"], json!([]));
    // Payload may be omitted: it defaults to {}.
    let (status, _) = api
        .call("POST", "/api/jobs", Some(r#"{"kind":"backup_db"}"#), true)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, page) = api
        .call(
            "GET",
            "/api/jobs?queue=diagnostics&state=pending",
            None,
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], json!(1));
    assert_eq!(page["jobs"][0]["id"], json!(id));
    let (_, all) = api.call("GET", "/api/jobs?per_page=1", None, true).await;
    assert_eq!(
        (all["total"].as_i64(), all["jobs"].as_array().map(Vec::len)),
        (Some(2), Some(1))
    );
    assert!(all["jobs"][0]["id"].as_i64() > Some(id), "newest first");
    let (status, q) = api.call("GET", "/api/queues", None, true).await;
    assert_eq!(status, StatusCode::OK);
    let diag = q["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "diagnostics")
        .unwrap()
        .clone();
    assert_eq!(diag["counts"]["pending"], json!(1));
    assert!(diag["oldest_pending_secs"].as_f64().is_some());
    let (status, body) = api
        .call("POST", &format!("/api/jobs/{id}/retry"), None, true)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    db.drop_db().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_creates_nothing() {
    let db = TestDb::new().await;
    let api = Api::new(&db);
    let cases: &[(&str, &str, Option<&str>, StatusCode, &str)] = &[
        (
            "POST",
            "/api/jobs",
            Some("{not json"),
            StatusCode::BAD_REQUEST,
            "body is not valid JSON",
        ),
        (
            "POST",
            "/api/jobs",
            Some(r#"{"payload":{}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body: missing field `kind`",
        ),
        (
            "POST",
            "/api/jobs",
            Some(r#"{"kind":"nope"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind: unknown job kind \"nope\"",
        ),
        (
            "POST",
            "/api/jobs",
            Some(r#"{"kind":"ping","payload":{"sleep_ms":"x"}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "payload.sleep_ms: invalid type",
        ),
        (
            "POST",
            "/api/jobs",
            Some(r#"{"kind":"ping","payload":{"extra":1}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "payload.extra: unknown field",
        ),
        (
            "POST",
            "/api/jobs",
            Some(r#"{"kind":"ping","payload":"x"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "payload: must be a JSON object",
        ),
        (
            "POST",
            "/api/jobs",
            Some(r#"{"kind":"ping","run_at":"tomorrow"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run_at: ",
        ),
        (
            "POST",
            "/api/jobs",
            Some(r#"{"kind":"ping","priority":500}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "priority: ",
        ),
        (
            "POST",
            "/api/jobs",
            Some(r#"{"kind":"ping","queue":"x"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "queue: unknown field",
        ),
        (
            "GET",
            "/api/jobs?state=weird",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "state: \"weird\" is not one of",
        ),
        (
            "GET",
            "/api/jobs?kind=nope",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind: unknown job kind",
        ),
        (
            "GET",
            "/api/jobs?page=0",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "page: ",
        ),
        (
            "GET",
            "/api/jobs?per_page=1000",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "per_page: ",
        ),
        (
            "GET",
            "/api/jobs/abc",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "id: \"abc\" is not a job id",
        ),
        (
            "GET",
            "/api/jobs/424242",
            None,
            StatusCode::NOT_FOUND,
            "job 424242 not found",
        ),
        (
            "POST",
            "/api/jobs/-3/retry",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "id: ",
        ),
    ];
    for (method, uri, body, status, msg) in cases {
        let (got, json) = api.call(method, uri, *body, true).await;
        assert_eq!(got, *status, "{method} {uri} {body:?}: {json}");
        assert_eq!(json["success"], json!(false));
        let m = json["message"].as_str().unwrap_or_default();
        assert!(m.starts_with(msg), "{method} {uri} {body:?}: {m}");
    }
    assert_eq!(db.count("SELECT count(*) FROM cicero.jobs").await, 0);
    db.drop_db().await;
}

#[tokio::test]
async fn the_job_api_needs_the_token() {
    let db = TestDb::new().await;
    let api = Api::new(&db);
    for (method, uri) in [
        ("GET", "/api/jobs"),
        ("POST", "/api/jobs"),
        ("GET", "/api/jobs/1"),
        ("POST", "/api/jobs/1/retry"),
        ("GET", "/api/queues"),
    ] {
        let (status, body) = api.call(method, uri, Some("{}"), false).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        assert_eq!(body["success"], json!(false));
    }
    let req = Request::builder()
        .uri("/api/jobs")
        .header("authorization", "Bearer wrong-token-0123456789")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        api.app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    db.drop_db().await;
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let db = TestDb::new().await;
    let api = Api::new(&db);
    let (status, doc) = api.call("GET", "/api/openapi.json", None, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.")
    );
    let routes = [
        ("/", "get"),
        ("/", "post"),
        ("/_next/dev/", "get"),
        ("/api/openapi.json", "get"),
        ("/api/jobs", "post"),
        ("/api/jobs", "get"),
        ("/api/jobs/{id}", "get"),
        ("/api/jobs/{id}/retry", "post"),
        ("/api/jobs/bulk", "post"),
        ("/api/jobs/events", "get"),
        ("/api/jobs/{id}/cancel", "post"),
        ("/api/queues/{queue}/pause", "post"),
        ("/api/queues/{queue}/resume", "post"),
        ("/api/rate-limits", "get"),
        ("/api/queues", "get"),
        ("/api/jobs/{id}", "delete"),
        ("/api/jobs/validate", "post"),
        ("/api/stats", "get"),
        ("/api/workers", "get"),
        ("/api/catalogue", "get"),
        ("/api/schedules", "get"),
        ("/api/schedules/{name}/enable", "post"),
        ("/api/schedules/{name}/disable", "post"),
        ("/api/schedules/{name}/run", "post"),
        ("/api/audit", "get"),
        ("/api/clients/paused", "get"),
        ("/api/clients/{client_id}/pause", "post"),
        ("/api/clients/{client_id}/resume", "post"),
        ("/board", "get"),
        ("/board/", "get"),
        ("/board/{file}", "get"),
    ];
    for (path, method) in routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "openapi.json lacks {method} {path}"
        );
    }
    let states = doc["components"]["schemas"]["JobState"]["enum"].clone();
    assert_eq!(states, json!(cicero::platform::jobs::STATES));
    db.drop_db().await;
}

//! Test harness: a fresh database per test (cloned from a migrated template, so the large
//! legacy migration runs once per run), the `cicero` binary as a child process, and polling.
#![allow(dead_code)]

pub mod dashboard;
pub mod smtp;

use std::{
    collections::BTreeMap,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use sqlx::{PgPool, postgres::PgPoolOptions};

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode},
};
use serde_json::Value;
use tower::ServiceExt;

use cicero::{
    config::Settings,
    http::{AppState, router},
    work::Ctx,
};

/// An in-process worker (`worker::run`) on some queues, from [`TestDb::worker`].
pub struct Running {
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops the worker and checks that it shut down cleanly.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("join").expect("worker ran cleanly");
    }
}

/// The job API token of in-process routers built by [`TestDb::app`].
pub const TOKEN: &str = "test-token-0123456789";

/// Sends one request through a router; `auth` adds the bearer token. Returns the status,
/// the headers and the body as JSON (`Null` when it is not JSON).
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<String>,
    auth: bool,
) -> (StatusCode, HeaderMap, Value) {
    let bearer = format!("Bearer {TOKEN}");
    let headers: &[(&str, &str)] = if auth {
        &[("authorization", &bearer)]
    } else {
        &[]
    };
    send(app, method, uri, body.unwrap_or_default(), headers).await
}

/// Sends one JSON request (content type `application/json` unless `headers` names another)
/// with extra headers; the body comes back as JSON (`Null` when it is not JSON).
pub async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    body: impl Into<Body>,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let (status, headers, bytes) = send_raw(app, method, uri, body, headers).await;
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// As [`send`], with the body as bytes (downloads).
pub async fn send_raw(
    app: &Router,
    method: &str,
    uri: &str,
    body: impl Into<Body>,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("content-type", "application/json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.into()).expect("request");
    let res = app.clone().oneshot(req).await.expect("router answers");
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .expect("body");
    (status, headers, bytes.to_vec())
}

pub fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server (scripts/test.sh sets it)")
}

/// Replaces the database name of a URL.
pub fn with_db(url: &str, db: &str) -> String {
    let (base, rest) = url.rsplit_once('/').expect("URL with a database name");
    let query = rest.find('?').map(|i| &rest[i..]).unwrap_or("");
    format!("{base}/{db}{query}")
}

fn migrations_hash() -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for f in files {
        std::fs::read(&f).expect("migration").hash(&mut h);
    }
    format!("{:x}", h.finish())
}

pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    admin: PgPool,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .connect(&with_db(&server_url(), "postgres"))
            .await
            .expect("connect to the postgres database");
        let template = format!("cicero_tpl_{}", migrations_hash());
        // One process builds the template; the others wait on the advisory lock.
        let mut conn = admin.acquire().await.expect("conn");
        sqlx::query("SELECT pg_advisory_lock(727274)")
            .execute(&mut *conn)
            .await
            .expect("lock");
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&template)
                .fetch_one(&mut *conn)
                .await
                .expect("query");
        if !exists {
            let building = format!("{template}_building");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{building}\""
            )))
            .execute(&mut *conn)
            .await
            .expect("drop");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE \"{building}\""
            )))
            .execute(&mut *conn)
            .await
            .expect("create");
            let pool = PgPool::connect(&with_db(&server_url(), &building))
                .await
                .expect("connect template");
            cicero::platform::migrate(&pool)
                .await
                .expect("migrate template");
            pool.close().await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
            )))
            .execute(&mut *conn)
            .await
            .expect("rename");
        }
        let name = format!(
            "cicero_t_{}",
            ulid::Ulid::generate().to_string().to_lowercase()
        );
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        )))
        .execute(&mut *conn)
        .await
        .expect("create test database");
        sqlx::query("SELECT pg_advisory_unlock(727274)")
            .execute(&mut *conn)
            .await
            .expect("unlock");
        drop(conn);
        let url = with_db(&server_url(), &name);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect(&url)
            .await
            .expect("connect test database");
        TestDb {
            name,
            url,
            pool,
            admin,
        }
    }

    /// Settings for in-process workers against this database (short timings for tests).
    pub fn settings(&self, extra: &[(&str, &str)]) -> Settings {
        let mut env: BTreeMap<String, String> = BTreeMap::from([
            ("DATABASE_URL".into(), self.url.clone()),
            ("WORKER_POLL_INTERVAL_MS".into(), "100".into()),
            ("WORKER_HEARTBEAT_SECS".into(), "1".into()),
            ("WORKER_RESCUE_AFTER_SECS".into(), "3".into()),
        ]);
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        if let Ok(p) = std::env::var("PG_DUMP") {
            env.entry("PG_DUMP".into()).or_insert(p);
        }
        Settings::parse(|k| env.get(k).cloned()).expect("test settings")
    }

    /// The HTTP router on this database, protected by [`TOKEN`].
    /// Starts an in-process worker on `queues` with these extra settings.
    pub fn worker(&self, queues: &[&str], extra: &[(&str, &str)]) -> Running {
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(cicero::platform::worker::run(
            self.ctx(extra),
            queues.iter().map(|q| q.to_string()).collect(),
            stop.clone(),
        ));
        Running { stop, task }
    }

    pub fn app(&self) -> Router {
        router(Arc::new(AppState::new(
            self.pool.clone(),
            TOKEN.into(),
            Vec::new(),
        )))
    }

    pub fn ctx(&self, extra: &[(&str, &str)]) -> Arc<Ctx> {
        Arc::new(Ctx {
            settings: self.settings(extra),
            pool: self.pool.clone(),
        })
    }

    /// The `cicero` binary with this database and fast worker timings.
    pub fn cicero(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cicero"));
        // A temp cwd, so a developer's .env in the checkout cannot leak into the child.
        cmd.args(args)
            .current_dir(std::env::temp_dir())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.url)
            .env("WORKER_POLL_INTERVAL_MS", "100")
            .env("WORKER_HEARTBEAT_SECS", "1")
            .env("WORKER_RESCUE_AFTER_SECS", "3")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn spawn(&self, args: &[&str], extra: &[(&str, &str)]) -> Child {
        self.cicero(args, extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn cicero")
    }

    pub async fn drop_db(self) {
        self.pool.close().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )))
        .execute(&self.admin)
        .await;
    }

    pub async fn state(&self, id: i64) -> String {
        sqlx::query_scalar("SELECT state FROM cicero.jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .expect("state")
    }

    /// Waits until the job reaches `state`, or panics after `secs`.
    pub async fn wait_state(&self, id: i64, state: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let now = self.state(id).await;
            if now == state {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} is {now}, expected {state} within {secs}s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    pub async fn enqueue(&self, kind: &str, payload: serde_json::Value) -> i64 {
        cicero::platform::jobs::enqueue(
            &self.pool,
            &cicero::platform::jobs::NewJob::new(kind, payload),
        )
        .await
        .expect("enqueue")
        .id
    }
}

/// Sends a signal to a child process.
pub fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{sig} failed");
}

/// Waits for a child to exit, killing it after `secs`.
pub fn wait_exit(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {secs}s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

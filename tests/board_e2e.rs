//! The operator board end to end: a real `cicero all` process and a real headless Chromium
//! (Debian `chromium` + `chromium-driver`), driven over the W3C WebDriver protocol. Screenshots
//! of every page go to `test-output/board/`.
mod common;

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine;
use serde_json::{Value, json};

use common::{TOKEN, TestDb, signal, wait_exit};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long any page condition may take to hold. Generous on purpose: this is not a timing
/// test, and inside the whole suite on two cores a page load, an API call or a WebDriver
/// command can take seconds. Every wait polls for its condition and returns as soon as it
/// holds, so the deadline only matters when something is really wrong.
const UI_WAIT: Duration = Duration::from_secs(60);
/// Seconds a job may take to reach a state (it runs in the `cicero all` under test).
const JOB_WAIT: u64 = 120;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A minimal W3C WebDriver client: the handful of commands these scenarios need.
struct Browser {
    http: reqwest::Client,
    base: String,
    driver: Child,
    shots: PathBuf,
}

impl Browser {
    async fn start() -> Browser {
        assert!(
            std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists(),
            "{CHROMIUM} and {CHROMEDRIVER} are needed (apt-get install chromium chromium-driver; scripts/test.sh installs them)"
        );
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let root = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + UI_WAIT;
        loop {
            let ready = http.get(format!("{root}/status")).send().await;
            if let Ok(r) = ready
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == json!(true)
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,800", "--lang=en-GB"]
            }
        }}});
        let res: Value = http
            .post(format!("{root}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let id = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {res}"))
            .to_string();
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-output/board");
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Browser {
            http,
            base: format!("{root}/session/{id}"),
            driver,
            shots,
        }
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body.unwrap_or_else(|| json!({}))),
        };
        let v: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("webdriver json");
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    async fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Element ids matching a CSS selector (none is fine).
    async fn find_all(&self, css: &str) -> Vec<String> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits for an element to appear; panics with the page text after [`UI_WAIT`].
    async fn wait(&self, css: &str) -> String {
        let deadline = Instant::now() + UI_WAIT;
        loop {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            if Instant::now() > deadline {
                let text = self.js("return document.body.innerText", json!([])).await;
                panic!("{css} did not appear within {UI_WAIT:?}; page: {text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + UI_WAIT;
        while !self.find_all(css).await.is_empty() {
            assert!(
                Instant::now() < deadline,
                "{css} still there after {UI_WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks an element. A live refresh may replace it between finding and clicking ("stale
    /// element reference"): then it is found again.
    async fn click(&self, css: &str) {
        let deadline = Instant::now() + UI_WAIT;
        loop {
            let e = self.wait(css).await;
            let r = self.cmd("POST", &format!("/element/{e}/click"), None).await;
            match r.get("error").and_then(Value::as_str) {
                None => return,
                Some(err) => assert!(Instant::now() < deadline, "click on {css} failed: {err}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.wait(css).await;
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn clear(&self, css: &str) {
        let e = self.wait(css).await;
        self.cmd("POST", &format!("/element/{e}/clear"), None).await;
    }

    /// The rendered text of an element, read in the page (never a stale reference).
    async fn text(&self, css: &str) -> String {
        self.wait(css).await;
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : ''",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    async fn wait_text(&self, css: &str, want: &str) {
        let deadline = Instant::now() + UI_WAIT;
        loop {
            let got = self.text(css).await;
            if got.contains(want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} says {got:?}, expected {want:?} within {UI_WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn size(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    async fn screenshot(&self, name: &str) {
        let b64 = self.cmd("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("screenshot data"))
            .expect("base64 png");
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write screenshot");
    }

    async fn quit(mut self) {
        self.cmd("DELETE", "", None).await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A job that failed its only attempt, as the worker leaves it. A retry runs it again.
async fn failed_ping(db: &TestDb, payload: Value, error: &str) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cicero.jobs (queue, kind, payload, state, attempt, max_attempts, started_at, finished_at, last_error, created_at)
         VALUES ('diagnostics', 'ping', $1, 'failed', 1, 1, now() - interval '2 minutes', now() - interval '1 minute', $2, now() - interval '3 minutes')
         RETURNING id",
    )
    .bind(&payload)
    .bind(error)
    .fetch_one(&db.pool)
    .await
    .expect("insert failed job");
    sqlx::query(
        "INSERT INTO cicero.job_attempts (job_id, attempt, worker, started_at, finished_at, outcome, error)
         VALUES ($1, 1, 'worker-a', now() - interval '2 minutes', now() - interval '1 minute', 'failed', $2)",
    )
    .bind(id)
    .bind(error)
    .execute(&db.pool)
    .await
    .expect("insert attempt");
    id
}

/// A sent WhatsApp message whose two attempts overlapped (a lease taken over while the first
/// worker still ran), and a finished job of one client. Inserted as rows: the board only reads
/// them.
async fn seed_whatsapp_and_tenant(db: &TestDb) -> (i64, i64) {
    let wa: i64 = sqlx::query_scalar(
        "INSERT INTO cicero.jobs (queue, kind, payload, state, attempt, finished_at)
         VALUES ('whatsapp', 'whatsapp_send', $1, 'done', 2, now()) RETURNING id",
    )
    .bind(json!({
        "chat_id": "6281234567890@c.us",
        "text": "*Rekap absensi* _Polres Kediri_\nSudah: 12 <script>\nBelum: 3",
    }))
    .fetch_one(&db.pool)
    .await
    .expect("insert whatsapp job");
    sqlx::query(
        "INSERT INTO cicero.job_attempts (job_id, attempt, worker, started_at, finished_at, outcome, error) VALUES
           ($1, 1, 'worker-a', now() - interval '60 seconds', now() - interval '10 seconds', 'lost', 'worker stopped heartbeating'),
           ($1, 2, 'worker-b', now() - interval '30 seconds', now() - interval '5 seconds', 'done', NULL)",
    )
    .bind(wa)
    .execute(&db.pool)
    .await
    .expect("insert attempts");
    let tenant: i64 = sqlx::query_scalar(
        "INSERT INTO cicero.jobs (queue, kind, payload, state, attempt, finished_at)
         VALUES ('diagnostics', 'ping', '{\"client_id\": \"POLRES_KEDIRI\"}', 'done', 1, now()) RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .expect("insert tenant job");
    (wa, tenant)
}

/// An API call as a script would make it (the board is not the only client).
async fn api_post(base: &str, path: &str) {
    let res = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("API call");
    assert!(res.status().is_success(), "POST {path}: {}", res.status());
}

async fn scalar_bool(db: &TestDb, sql: &'static str, arg: &str) -> Option<bool> {
    sqlx::query_scalar(sql)
        .bind(arg)
        .fetch_optional(&db.pool)
        .await
        .expect("query")
}

async fn wait_db(db: &TestDb, what: &str, sql: &'static str, arg: &str, want: Option<bool>) {
    let deadline = Instant::now() + UI_WAIT;
    loop {
        let got = scalar_bool(db, sql, arg).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {got:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_board_in_headless_chromium() {
    let db = TestDb::new().await;
    let failed = failed_ping(
        &db,
        json!({ "message": "recap POLRES_KEDIRI" }),
        "HTTP 429 from provider",
    )
    .await;
    let mut bulk = Vec::new();
    for i in 0..3 {
        bulk.push(
            failed_ping(
                &db,
                json!({ "message": format!("bulk-me {i}") }),
                "HTTP 429",
            )
            .await,
        );
    }
    let (wa, tenant) = seed_whatsapp_and_tenant(&db).await;
    let port = free_port();
    let mut server = db.spawn(
        &["all"],
        &[
            ("JOB_API_TOKEN", TOKEN),
            ("PORT", &port.to_string()),
            ("BIND_ADDR", "127.0.0.1"),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + UI_WAIT;
    while reqwest::get(format!("{base}/")).await.is_err() {
        assert!(Instant::now() < deadline, "cicero all did not listen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let b = Browser::start().await;

    // Log in.
    b.goto(&format!("{base}/board/")).await;
    b.wait("#login-token").await;
    b.screenshot("01-login").await;
    b.type_into("#login-token", TOKEN).await;
    b.type_into("#login-name", "Rina").await;
    b.click("#login-submit").await;
    b.wait("[data-queue=diagnostics]").await;
    b.wait_text("#live", "live").await;
    b.screenshot("02-overview").await;

    // See the failed job, open it, retry it; it turns done without a reload (SSE).
    b.goto(&format!("{base}/board/#/jobs?state=failed")).await;
    b.wait(&format!("tr[data-job-id='{failed}']")).await;
    b.screenshot("03-jobs-failed").await;
    b.click(&format!("tr[data-job-id='{failed}'] td:nth-child(3)"))
        .await;
    b.wait_text("#job-state", "failed").await;
    b.wait_text("#last-error", "HTTP 429").await;
    b.screenshot("04-job-failed").await;
    b.js("window.__sameDocument = true", json!([])).await;
    b.click("#btn-retry").await;
    b.wait_text("#job-state", "done").await;
    assert_eq!(
        b.js("return window.__sameDocument === true", json!([]))
            .await,
        json!(true),
        "the page was reloaded"
    );
    b.wait_text("#result", "recap POLRES_KEDIRI").await;
    b.screenshot("05-job-done").await;
    assert_eq!(db.state(failed).await, "done");

    // Bulk-retry everything matching a filter, after confirming the count.
    b.goto(&format!("{base}/board/#/jobs?state=failed&q=bulk-me"))
        .await;
    for id in &bulk {
        b.wait(&format!("tr[data-job-id='{id}']")).await;
    }
    b.click("#bulk-retry").await;
    b.wait("#confirm[open]").await;
    b.wait_text("#confirm-text", "Retry 3 of 3 matching jobs")
        .await;
    b.screenshot("06-bulk-confirm").await;
    b.click("#confirm-ok").await;
    for id in &bulk {
        db.wait_state(*id, "done", JOB_WAIT).await;
    }
    b.wait_gone("tr[data-job-id]").await;
    b.screenshot("07-bulk-done").await;

    // Pause and resume a queue.
    b.goto(&format!("{base}/board/#/overview")).await;
    b.click("[data-pause=diagnostics]").await;
    b.wait("[data-queue=diagnostics] [data-paused]").await;
    wait_db(
        &db,
        "paused",
        "SELECT paused FROM cicero.queues WHERE queue = $1",
        "diagnostics",
        Some(true),
    )
    .await;
    b.screenshot("08-queue-paused").await;
    b.click("[data-resume=diagnostics]").await;
    b.wait_gone("[data-queue=diagnostics] [data-paused]").await;
    wait_db(
        &db,
        "resumed",
        "SELECT paused FROM cicero.queues WHERE queue = $1",
        "diagnostics",
        Some(false),
    )
    .await;

    // Switch a schedule off.
    b.goto(&format!("{base}/board/#/schedules")).await;
    b.wait("tr[data-schedule=prune_jobs] input[data-toggle=prune_jobs]:checked")
        .await;
    b.wait_text("tr[data-schedule=backup_db]", "04:00:00 WIB")
        .await;
    b.click("input[data-toggle=prune_jobs]").await;
    wait_db(
        &db,
        "prune_jobs switch",
        "SELECT is_active FROM cron_job_config WHERE job_key = $1",
        "prune_jobs",
        Some(false),
    )
    .await;
    b.wait("tr[data-schedule=prune_jobs] input[data-toggle=prune_jobs]:not(:checked)")
        .await;
    // Run it now anyway: its job becomes the entry's last run.
    b.click("[data-run=prune_jobs]").await;
    b.wait("#confirm[open]").await;
    b.click("#confirm-ok").await;
    b.wait("tr[data-schedule=prune_jobs] a[href^='#/job/']")
        .await;
    b.screenshot("09-schedules").await;

    // Every action is in the audit log, with the operator's name.
    b.goto(&format!("{base}/board/#/audit")).await;
    b.wait("#audit").await;
    for action in [
        "job.retry",
        "jobs.bulk_retry",
        "queue.pause",
        "queue.resume",
        "schedule.disable",
        "schedule.run",
        "api-token (Rina)",
    ] {
        b.wait_text("#audit", action).await;
    }
    b.screenshot("10-audit").await;

    // The WhatsApp panel shows the session and the outbox: a message sent through the
    // outbox transport appears with its chat.
    let sent = db
        .enqueue(
            "whatsapp_send",
            json!({ "to": "081234567890", "text": "Rekap dari board", "idempotency_key": "board-e2e-1" }),
        )
        .await;
    db.wait_state(sent, "done", JOB_WAIT).await;
    b.goto(&format!("{base}/board/#/limits")).await;
    b.wait("#limits").await;
    b.wait("#wa-sessions").await;
    b.wait_text("#wa-outbox", "Rekap dari board").await;
    b.wait_text("#wa-outbox", "6281234567890@c.us").await;
    b.screenshot("11-limits-whatsapp").await;
    b.goto(&format!("{base}/board/#/tenants?client_id=POLRES_KEDIRI"))
        .await;
    b.wait("#tenant-retry").await;
    b.wait(&format!("tr[data-job-id='{tenant}']")).await;
    b.screenshot("12-tenant").await;

    // Pause one client: its jobs wait, new ones too, while another client's run; resuming
    // releases them.
    b.click("#tenant-pause").await;
    b.wait("#confirm[open]").await;
    b.wait_text("#confirm-text", "Pause every job of POLRES_KEDIRI")
        .await;
    b.click("#confirm-ok").await;
    b.wait("#tenant-paused").await;
    wait_db(
        &db,
        "client paused",
        "SELECT true FROM cicero.paused_clients WHERE client_id = $1",
        "POLRES_KEDIRI",
        Some(true),
    )
    .await;
    // The held job is the older one: a worker ignoring the pause would run it first.
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
    db.wait_state(other, "done", JOB_WAIT).await;
    assert_eq!(db.state(held).await, "pending", "a paused client's job ran");
    b.wait(&format!("tr[data-job-id='{held}']")).await;
    b.wait_text("#tenant-state", "holding 1 pending job").await;
    b.screenshot("12-tenant-paused").await;
    b.click("#tenant-resume").await;
    b.wait_gone("#tenant-paused").await;
    wait_db(
        &db,
        "client resumed",
        "SELECT true FROM cicero.paused_clients WHERE client_id = $1",
        "POLRES_KEDIRI",
        None,
    )
    .await;
    db.wait_state(held, "done", JOB_WAIT).await;
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.audit_log WHERE actor = 'api-token (Rina)' AND target = 'POLRES_KEDIRI' AND action IN ('client.pause', 'client.resume')")
            .await,
        2
    );

    b.goto(&format!("{base}/board/#/enqueue?kind=ping")).await;
    b.wait_text("#e-check", "Payload is valid").await;
    // A payload the kind rejects is named by the server's own validation; no submit.
    b.clear("#e-payload").await;
    b.type_into("#e-payload", r#"{"sleep_ms": "slow"}"#).await;
    b.wait_text("#e-check", "payload.sleep_ms: invalid type")
        .await;
    assert_eq!(
        b.js(
            "return document.querySelector('#e-submit').disabled",
            json!([])
        )
        .await,
        json!(true)
    );
    b.screenshot("13-enqueue-invalid").await;
    b.clear("#e-payload").await;
    b.type_into("#e-payload", r#"{"message": "from the board"}"#)
        .await;
    b.wait_text("#e-check", "Payload is valid").await;
    b.click("#e-submit").await;
    b.wait_text("#payload", "from the board").await;
    b.wait_text("#job-state", "done").await;
    assert_eq!(
        db.count("SELECT count(*) FROM cicero.jobs WHERE payload->>'message' = 'from the board' AND state = 'done'")
            .await,
        1
    );

    // A running job shows its progress, live. Its client is paused until its page is open,
    // so the job cannot finish before the page shows it, however slow the machine is.
    api_post(&base, "/api/clients/E2E_PROGRESS/pause").await;
    let slow = db
        .enqueue(
            "ping",
            json!({ "message": "slow", "sleep_ms": 8_000, "progress_steps": 8, "client_id": "E2E_PROGRESS" }),
        )
        .await;
    b.goto(&format!("{base}/board/#/job/{slow}")).await;
    b.wait_text("#view h1", &format!("Job #{slow}")).await;
    b.wait_text("#job-state", "pending").await;
    api_post(&base, "/api/clients/E2E_PROGRESS/resume").await;
    b.wait("#progress").await;
    b.screenshot("13-job-progress").await;
    b.wait_text("#job-state", "done").await;

    // A WhatsApp message as the recipient sees it, and a job whose leases overlapped.
    b.goto(&format!("{base}/board/#/job/{wa}")).await;
    b.wait("#wa-preview").await;
    let html = b
        .js(
            "return document.querySelector('#wa-preview').innerHTML",
            json!([]),
        )
        .await;
    let html = html.as_str().unwrap_or_default();
    for part in [
        "<b>Rekap absensi</b>",
        "<i>Polres Kediri</i>",
        "<br>",
        "&lt;script&gt;",
    ] {
        assert!(html.contains(part), "{part} missing in {html}");
    }
    b.wait("[data-flag=ran-twice]").await;
    b.screenshot("14-job-whatsapp-ran-twice").await;

    // Dark theme, and a phone-width screen.
    b.click("#theme").await;
    b.goto(&format!("{base}/board/#/job/{failed}")).await;
    // The previous page was another done job: make sure this one is shown.
    b.wait_text("#view h1", &format!("Job #{failed}")).await;
    b.wait_text("#job-state", "done").await;
    b.screenshot("15-job-dark").await;
    b.size(390, 844).await;
    b.goto(&format!("{base}/board/#/overview")).await;
    b.wait("[data-queue=diagnostics]").await;
    b.screenshot("16-overview-phone-dark").await;
    b.goto(&format!("{base}/board/#/jobs")).await;
    b.wait("#jobs-table").await;
    let overflow = b
        .js(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1",
            json!([]),
        )
        .await;
    assert_eq!(
        overflow,
        json!(true),
        "the jobs page scrolls sideways at phone width"
    );
    b.screenshot("17-jobs-phone-dark").await;

    b.quit().await;
    signal(&server, "TERM");
    assert!(wait_exit(&mut server, 20).success());
    db.drop_db().await;
}

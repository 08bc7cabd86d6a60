//! `cicero bench sweep`: one social sweep (post fetch + engagement refresh) over N clients
//! against a local fake RapidAPI (`social-api4` wire format, served by axum in this process),
//! through the real queue and worker, in a scratch database `<db>_bench_sweep` that it creates
//! and drops. Prints wall time and peak memory (VmHWM of this process, fake API included).
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;

use crate::{
    config::{ProviderKind, Settings},
    platform::{self, jobs},
    work::Ctx,
};

#[derive(Debug, Clone, clap::Args)]
pub struct SweepBenchArgs {
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Posts of today per client.
    #[arg(long, default_value_t = 5)]
    pub posts: usize,
    /// Likers per post.
    #[arg(long, default_value_t = 500)]
    pub likers: usize,
    /// Likers per `v1/likes` page.
    #[arg(long, default_value_t = 50)]
    pub page: usize,
    /// Concurrency of the `ingest` queue.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// The RapidAPI limit (`RAPIDAPI_RATE_LIMIT`); the default does not bind.
    #[arg(long, default_value = "100000/1s")]
    pub rate_limit: String,
}

#[derive(Clone)]
struct Fake {
    posts: usize,
    likers: usize,
    page: usize,
    now: i64,
}

async fn posts(State(f): State<Arc<Fake>>, Query(q): Query<Vec<(String, String)>>) -> Json<Value> {
    let user = q
        .iter()
        .find(|(k, _)| k == "username_or_id_or_url")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let items: Vec<Value> = (0..f.posts)
        .map(|i| {
            let code = format!("{user}_{i}");
            json!({
                "id": format!("{i}99{}", user.len()), "code": code, "taken_at": f.now - 60 * i as i64,
                "media_type": 1, "is_video": false, "caption": {"text": format!("Kegiatan {code}")},
                "like_count": f.likers, "comment_count": 3,
                "image_versions": {"items": [{"url": format!("https://cdn.example/{code}.jpg")}]}
            })
        })
        .collect();
    Json(json!({"data": {"count": items.len(), "items": items}, "has_more": false}))
}

async fn likes(State(f): State<Arc<Fake>>, Query(q): Query<Vec<(String, String)>>) -> Json<Value> {
    let get = |name: &str| {
        q.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let code = get("code_or_id_or_url");
    let from: usize = get("cursor").parse().unwrap_or(0);
    let to = (from + f.page).min(f.likers);
    let items: Vec<Value> = (from..to)
        .map(|i| json!({"username": format!("Warga.{:05}", (i * 7 + code.len()) % 100_000), "pk": i.to_string(), "is_private": false}))
        .collect();
    let more = to < f.likers;
    Json(
        json!({"data": {"items": items, "next_cursor": more.then(|| to.to_string()), "has_more": more}}),
    )
}

fn peak_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub async fn run(s: &Settings, admin: sqlx::PgPool, args: SweepBenchArgs) -> anyhow::Result<()> {
    let db = format!("{}_bench_sweep", s.database_name());
    let drop_db = format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)");
    sqlx::query(sqlx::AssertSqlSafe(drop_db.clone()))
        .execute(&admin)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\"")))
        .execute(&admin)
        .await?;
    let url = match s.database_url.rfind('/') {
        Some(i) => {
            let rest = &s.database_url[i..];
            let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
            format!("{}/{db}{query}", &s.database_url[..i])
        }
        None => anyhow::bail!("DATABASE_URL has no database name"),
    };
    let pool = PgPoolOptions::new()
        .max_connections(40)
        .connect(&url)
        .await?;
    let result = measure(s, &url, &pool, &args).await;
    pool.close().await;
    sqlx::query(sqlx::AssertSqlSafe(drop_db))
        .execute(&admin)
        .await?;
    result
}

async fn measure(
    s: &Settings,
    url: &str,
    pool: &sqlx::PgPool,
    args: &SweepBenchArgs,
) -> anyhow::Result<()> {
    platform::migrate(pool).await?;
    let fake = Arc::new(Fake {
        posts: args.posts,
        likers: args.likers,
        page: args.page.max(1),
        now: chrono::Utc::now().timestamp() - 5,
    });
    let app = Router::new()
        .route("/v1/posts", get(posts))
        .route("/v1/likes", get(likes))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let stop = CancellationToken::new();
    let server_stop = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { server_stop.cancelled().await })
            .await
    });
    for i in 0..args.clients {
        sqlx::query(
            "INSERT INTO clients (client_id, nama, client_type, client_status, client_insta, client_tiktok_status)
             VALUES ($1, $1, 'org', true, $2, false)",
        )
        .bind(format!("BENCH_{i:04}"))
        .bind(format!("bench.acct.{i:04}"))
        .execute(pool)
        .await?;
    }
    let mut settings = Settings::parse(|k| match k {
        "DATABASE_URL" => Some(url.to_string()),
        "RAPIDAPI_KEY" => Some("bench-key".into()),
        "RAPIDAPI_INSTAGRAM_URL" => Some(base.clone()),
        "RAPIDAPI_RATE_LIMIT" => Some(args.rate_limit.clone()),
        "WORKER_POLL_INTERVAL_MS" => Some("100".into()),
        _ => None,
    })?;
    settings.provider = ProviderKind::RapidApi;
    settings
        .queue_concurrency
        .insert("ingest".into(), args.concurrency);
    settings.db_pool_size = s.db_pool_size;
    let rss_before = peak_kib("VmRSS:").unwrap_or(0);
    let t = Instant::now();
    jobs::enqueue(pool, &jobs::NewJob::new("sweep_social", json!({}))).await?;
    let ctx = Arc::new(Ctx {
        settings,
        pool: pool.clone(),
    });
    let worker = tokio::spawn(platform::worker::run(
        ctx,
        vec!["ingest".into()],
        stop.clone(),
    ));
    let expected = 1 + 2 * args.clients as i64;
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let (done, failed): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'failed') FROM cicero.jobs",
        )
        .fetch_one(pool)
        .await?;
        if failed > 0 {
            let err: Option<String> = sqlx::query_scalar(
                "SELECT last_error FROM cicero.jobs WHERE state = 'failed' LIMIT 1",
            )
            .fetch_one(pool)
            .await?;
            anyhow::bail!("{failed} jobs failed, e.g.: {}", err.unwrap_or_default());
        }
        if done >= expected {
            break;
        }
        if Instant::now() > deadline {
            anyhow::bail!("gave up after 1800 s: {done} of {expected} jobs done");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let wall = t.elapsed();
    stop.cancel();
    worker.await??;
    server.await??;
    let (posts, likers): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(jsonb_array_length(likes)), 0)::int8 FROM insta_like",
    )
    .fetch_one(pool)
    .await?;
    let requests = args.clients * (1 + args.posts * args.likers.div_ceil(args.page.max(1)));
    println!(
        "| clients | posts/client | likers/post | likes page | concurrency | rate limit | jobs | HTTP requests | wall time | peak RSS (VmHWM) | RSS before |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} s | {} MiB | {} MiB |",
        args.clients,
        args.posts,
        args.likers,
        args.page,
        args.concurrency,
        args.rate_limit,
        expected,
        requests,
        wall.as_secs_f64(),
        peak_kib("VmHWM:").unwrap_or(0) / 1024,
        rss_before / 1024,
    );
    println!("stored: {posts} posts with likes, {likers} likers");
    Ok(())
}

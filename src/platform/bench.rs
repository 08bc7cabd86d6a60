//! `cicero bench queue`: enqueue and drain rates and enqueue→start latency of our queue, beside
//! apalis-postgres 1.0 (batch 100, concurrency 32) and a bare `FOR UPDATE SKIP LOCKED` loop,
//! in the same run on the same server. It works in a scratch database `<db>_bench` that it
//! creates and drops, so it never touches real jobs. Results go to stdout as Markdown.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use apalis::prelude::*;
use apalis_postgres::{Config as PgConfig, PostgresStorage};
use serde_json::json;
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio_util::sync::CancellationToken;

use super::jobs::{self, NewJob};
use crate::{config::Settings, work::Ctx};

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Queue sizes to drain.
    #[arg(long, value_delimiter = ',', default_value = "20000,100000")]
    pub sizes: Vec<usize>,
    /// Worker concurrencies to drain with.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    pub concurrency: Vec<usize>,
    /// Prefetch settings to drain with (0 = the concurrency, the default of WORKER_PREFETCH).
    #[arg(long, value_delimiter = ',', default_value = "0,256")]
    pub prefetch: Vec<usize>,
    /// Jobs for the single-enqueue rate.
    #[arg(long, default_value_t = 2000)]
    pub single: usize,
    /// Jobs for the latency measurement (sent 10 ms apart to an idle worker).
    #[arg(long, default_value_t = 200)]
    pub latency_samples: usize,
    /// Skip the apalis-postgres and raw SQL baselines.
    #[arg(long)]
    pub no_baselines: bool,
}

fn rate(n: usize, d: Duration) -> String {
    format!("{:.0}", n as f64 / d.as_secs_f64().max(1e-9))
}

pub async fn run(s: &Settings, admin: PgPool, args: BenchArgs) -> anyhow::Result<()> {
    let db = format!("{}_bench", s.database_name());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\"")))
        .execute(&admin)
        .await?;
    let url = match s.database_url.rfind('/') {
        Some(i) => {
            let query = s.database_url[i..]
                .find('?')
                .map(|q| &s.database_url[i + q..])
                .unwrap_or("");
            format!("{}/{db}{query}", &s.database_url[..i])
        }
        None => anyhow::bail!("DATABASE_URL has no database name"),
    };
    let pool = PgPoolOptions::new()
        .max_connections(40)
        .connect(&url)
        .await?;
    super::migrate(&pool).await?;
    let mut bench_settings = s.clone();
    bench_settings.database_url = url.clone();
    let result = measure(&bench_settings, &pool, &args).await;
    pool.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    result
}

async fn measure(s: &Settings, pool: &PgPool, args: &BenchArgs) -> anyhow::Result<()> {
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(pool)
        .await?;
    let sync: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(pool)
        .await?;
    println!("# cicero bench queue\n");
    println!(
        "PostgreSQL {version}, synchronous_commit={sync}, {} CPUs, no-op `ping` jobs, every durability feature on (attempt history, lease guard, persisted backoff).\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Enqueue.
    reset(pool).await?;
    let t = Instant::now();
    for i in 0..args.single {
        jobs::enqueue(
            pool,
            &NewJob::new("ping", json!({ "message": i.to_string() })),
        )
        .await?;
    }
    let single = t.elapsed();
    reset(pool).await?;
    let bulk_n = args.sizes.iter().copied().max().unwrap_or(20_000);
    let t = Instant::now();
    fill(pool, bulk_n).await?;
    let bulk = t.elapsed();
    println!("| enqueue | jobs | jobs/s |\n|---|---|---|");
    println!(
        "| single (one INSERT per job, 1 producer) | {} | {} |",
        args.single,
        rate(args.single, single)
    );
    println!(
        "| bulk (1,000 per INSERT) | {bulk_n} | {} |\n",
        rate(bulk_n, bulk)
    );

    // Drain.
    println!(
        "| drain | jobs | concurrency | prefetch | jobs/s (worker start → last done) | jobs/s (first claim → last done) |\n|---|---|---|---|---|---|"
    );
    for &n in &args.sizes {
        for &c in &args.concurrency {
            for &p in &args.prefetch {
                let (total, steady) = drain(s, pool, n, c, p).await?;
                let shown = if p == 0 {
                    format!("{c} (default)")
                } else {
                    p.to_string()
                };
                println!(
                    "| cicero | {n} | {c} | {shown} | {} | {} |",
                    rate(n, total),
                    rate(n, steady)
                );
            }
        }
    }

    // Latency.
    let (p50, p99, max) = latency(s, pool, args.latency_samples).await?;
    println!(
        "\n| enqueue → start (LISTEN/NOTIFY, idle worker, c=8) | p50 ms | p99 ms | max ms |\n|---|---|---|---|"
    );
    println!(
        "| cicero, {} jobs 10 ms apart | {p50:.2} | {p99:.2} | {max:.2} |",
        args.latency_samples
    );

    if !args.no_baselines {
        println!("\n| baseline drain | jobs | jobs/s |\n|---|---|---|");
        for &n in &args.sizes {
            let d = apalis_drain(pool, n).await?;
            println!(
                "| apalis-postgres 1.0 (batch 100, c32) | {n} | {} |",
                rate(n, d)
            );
            for per_tx in [1usize, 100] {
                let d = raw_drain(pool, n, per_tx, 2).await?;
                println!(
                    "| raw SKIP LOCKED, {per_tx} per transaction, 2 clients | {n} | {} |",
                    rate(n, d)
                );
            }
        }
    }
    Ok(())
}

async fn reset(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("TRUNCATE cicero.jobs, cicero.job_attempts")
        .execute(pool)
        .await?;
    Ok(())
}

async fn fill(pool: &PgPool, n: usize) -> anyhow::Result<()> {
    let job = NewJob::new("ping", json!({}));
    let chunk = vec![job; 1000];
    let mut left = n;
    while left > 0 {
        let k = left.min(1000);
        jobs::enqueue_many(pool, &chunk[..k]).await?;
        left -= k;
    }
    Ok(())
}

fn worker_settings(s: &Settings, c: usize, prefetch: usize) -> Settings {
    let mut s = s.clone();
    s.prefetch = prefetch;
    s.queue_concurrency.insert("diagnostics".into(), c);
    s.poll_interval = Duration::from_millis(100);
    s
}

/// Returns the time from worker start to the last job done, and from the first claim to the
/// last job done (the steady rate, without process start-up).
async fn drain(
    s: &Settings,
    pool: &PgPool,
    n: usize,
    c: usize,
    prefetch: usize,
) -> anyhow::Result<(Duration, Duration)> {
    reset(pool).await?;
    fill(pool, n).await?;
    sqlx::query("VACUUM ANALYZE cicero.jobs")
        .execute(pool)
        .await?;
    sqlx::query("CHECKPOINT").execute(pool).await?;
    let stop = CancellationToken::new();
    let ctx = Arc::new(Ctx {
        settings: worker_settings(s, c, prefetch),
        pool: pool.clone(),
    });
    let t = Instant::now();
    let worker = tokio::spawn(super::worker::run(
        ctx,
        vec!["diagnostics".into()],
        stop.clone(),
    ));
    wait_until(
        pool,
        "SELECT count(*) FROM cicero.jobs WHERE state = 'done'",
        n as i64,
    )
    .await?;
    let d = t.elapsed();
    stop.cancel();
    worker.await??;
    let steady: f64 = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM max(finished_at) - min(started_at))::float8 FROM cicero.job_attempts",
    )
    .fetch_one(pool)
    .await?;
    Ok((d, Duration::from_secs_f64(steady.max(1e-6))))
}

async fn wait_until(pool: &PgPool, sql: &'static str, n: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done: i64 = sqlx::query_scalar(sql).fetch_one(pool).await?;
        if done >= n {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("gave up after 600 s: {done} of {n}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn latency(s: &Settings, pool: &PgPool, samples: usize) -> anyhow::Result<(f64, f64, f64)> {
    reset(pool).await?;
    let stop = CancellationToken::new();
    let ctx = Arc::new(Ctx {
        settings: worker_settings(s, 8, 0),
        pool: pool.clone(),
    });
    let worker = tokio::spawn(super::worker::run(
        ctx,
        vec!["diagnostics".into()],
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..samples {
        jobs::enqueue(pool, &NewJob::new("ping", json!({}))).await?;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_until(
        pool,
        "SELECT count(*) FROM cicero.jobs WHERE state = 'done'",
        samples as i64,
    )
    .await?;
    stop.cancel();
    worker.await??;
    // created_at is the insert's transaction time, started_at the claim's: both server clock.
    let mut ms: Vec<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM started_at - created_at)::float8 * 1000 FROM cicero.jobs WHERE state = 'done'",
    )
    .fetch_all(pool)
    .await?;
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        ms.get(((ms.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Ok((at(0.5), at(0.99), at(1.0)))
}

async fn apalis_drain(pool: &PgPool, n: usize) -> anyhow::Result<Duration> {
    sqlx::query("TRUNCATE apalis.jobs CASCADE")
        .execute(pool)
        .await?;
    let cfg = PgConfig::default().queue("bench").batch_size(100);
    let mut storage: PostgresStorage<serde_json::Value> =
        PostgresStorage::new(pool).with_config(cfg.clone());
    let mut left = n;
    while left > 0 {
        let k = left.min(1000);
        storage.push_bulk(vec![json!({}); k]).await?;
        left -= k;
    }
    sqlx::query("CHECKPOINT").execute(pool).await?;
    let t = Instant::now();
    let backend = PostgresStorage::<serde_json::Value>::new(pool).with_config(cfg);
    let worker = WorkerBuilder::new(format!("bench-{}", ulid::Ulid::generate()))
        .backend(backend)
        .concurrency(32)
        .build(|_: serde_json::Value| async {});
    let stop = CancellationToken::new();
    let s2 = stop.clone();
    let handle = tokio::spawn(async move {
        worker
            .run_until(async move {
                s2.cancelled().await;
                Ok::<(), std::io::Error>(())
            })
            .await
    });
    wait_until(
        pool,
        "SELECT count(*) FROM apalis.jobs WHERE status = 'Done'",
        n as i64,
    )
    .await?;
    let d = t.elapsed();
    stop.cancel();
    let _ = handle.await;
    Ok(d)
}

async fn raw_drain(
    pool: &PgPool,
    n: usize,
    per_tx: usize,
    clients: usize,
) -> anyhow::Result<Duration> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, payload jsonb NOT NULL, state text NOT NULL DEFAULT 'ready', run_at timestamptz NOT NULL DEFAULT now())",
    )
    .execute(pool)
    .await?;
    sqlx::query("CREATE INDEX IF NOT EXISTS bench_raw_ready ON bench_raw (run_at, id) WHERE state = 'ready'").execute(pool).await?;
    sqlx::query("TRUNCATE bench_raw").execute(pool).await?;
    sqlx::query("INSERT INTO bench_raw (payload) SELECT '{}'::jsonb FROM generate_series(1, $1)")
        .bind(n as i64)
        .execute(pool)
        .await?;
    sqlx::query("VACUUM ANALYZE bench_raw")
        .execute(pool)
        .await?;
    sqlx::query("CHECKPOINT").execute(pool).await?;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let done = sqlx::query(
                    "WITH c AS (SELECT id FROM bench_raw WHERE state = 'ready' ORDER BY run_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
                     UPDATE bench_raw b SET state = 'done' FROM c WHERE b.id = c.id",
                )
                .bind(per_tx as i64)
                .execute(&pool)
                .await?
                .rows_affected();
                if done == 0 {
                    return Ok::<(), sqlx::Error>(());
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(t.elapsed())
}

//! The `cicero` command line: one binary for every process (see ARCHITECTURE.md).
use std::{process::ExitCode, sync::Arc, time::Duration};

use clap::{Parser, Subcommand};
use serde_json::Value;
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio_util::sync::CancellationToken;

use crate::{
    config::{ConfigError, Settings},
    domain::time::log_timestamp,
    http::{self, AppState},
    platform::{self, jobs, takeover},
    work::Ctx,
};

#[derive(Parser)]
#[command(
    name = "cicero",
    version,
    about = "Durable jobs, recaps and the dashboard API for Cicero"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// HTTP: job API, OpenAPI description, legacy health routes.
    Serve,
    /// Run workers for the given queues (all by default).
    Work {
        /// Comma-separated queue names.
        #[arg(long, value_delimiter = ',')]
        queues: Vec<String>,
    },
    /// Run the cron table (Asia/Jakarta); safe on several nodes.
    Schedule,
    /// serve + work + schedule in one process.
    All,
    /// Apply database migrations (idempotent): takes over an empty or legacy Cicero_V2
    /// database in one transaction; refuses (exit 2) a database that is neither.
    Migrate {
        /// Print what would be done (migrations, rewritten and locked tables, rows, an
        /// estimate) and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Migrate and load offline demo data.
    Demo,
    /// Enqueue and inspect jobs from the shell.
    #[command(subcommand)]
    Job(JobCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum JobCommand {
    /// Enqueue a job: `cicero job enqueue ping --payload '{"message":"hi"}'`.
    Enqueue {
        kind: String,
        #[arg(long, default_value = "{}")]
        payload: String,
        /// RFC 3339 time, e.g. 2026-11-25T04:00:00+07:00.
        #[arg(long)]
        run_at: Option<chrono::DateTime<chrono::FixedOffset>>,
        #[arg(long, default_value_t = 0)]
        priority: i16,
    },
    /// Show one job with its attempts.
    Show { id: i64 },
    /// List jobs, newest first.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        queue: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// Text the payload contains, e.g. a client id.
        #[arg(long)]
        q: Option<String>,
        #[arg(long, default_value_t = 1)]
        page: i64,
    },
    /// Cancel a pending job, or interrupt a running one.
    Cancel { id: i64 },
    /// Pause a queue for every worker process (running jobs finish).
    Pause { queue: String },
    /// Resume a paused queue.
    Resume { queue: String },
    /// Put a failed job back to pending.
    Retry { id: i64 },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Queue throughput and latency against the configured database.
    Queue(crate::platform::bench::BenchArgs),
    /// One social sweep (fetch + likes) over many clients against a local fake RapidAPI.
    Sweep(crate::ingest::bench::SweepBenchArgs),
    /// Legacy takeover: builds a large legacy database in a scratch database, migrates it
    /// and reports upgrade and lock times (docs/benchmarks.md).
    Migrate(crate::platform::bench_migrate::BenchMigrateArgs),
}

/// A failure with its exit code: 2 for configuration and usage errors, 1 otherwise.
struct Failure {
    code: u8,
    message: String,
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure {
            code: 2,
            message: e.to_string(),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        fail(format!("{e:#}"))
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        fail(format!("database: {e}"))
    }
}

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

struct JakartaTime;

impl tracing_subscriber::fmt::time::FormatTime for JakartaTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        write!(w, "{}", log_timestamp(chrono::Utc::now()))
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,apalis=warn,apalis_core=warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(JakartaTime)
        .with_writer(std::io::stderr)
        .init();
}

async fn connect(s: &Settings) -> Result<PgPool, Failure> {
    PgPoolOptions::new()
        .max_connections(s.db_pool_size)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&s.database_url)
        .await
        .map_err(|e| {
            fail(format!(
                "cannot connect to the database (DATABASE_URL): {e}"
            ))
        })
}

/// Processes refuse to start on a database that `cicero migrate` has not prepared.
async fn require_schema(pool: &PgPool) -> Result<(), Failure> {
    let ok: bool = sqlx::query_scalar("SELECT to_regclass('cicero.jobs') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if ok {
        Ok(())
    } else {
        Err(fail(
            "the database is not migrated: run `cicero migrate` first",
        ))
    }
}

fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot watch SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutdown signal received");
        t.cancel();
    });
    token
}

fn queues_arg(queues: Vec<String>) -> Result<Vec<String>, Failure> {
    if queues.is_empty() {
        return Ok(cicero_jobs::QUEUES.iter().map(|q| q.to_string()).collect());
    }
    for q in &queues {
        if !cicero_jobs::QUEUES.contains(&q.as_str()) {
            return Err(usage(format!(
                "--queues: unknown queue {q:?} (known: {})",
                cicero_jobs::QUEUES.join(", ")
            )));
        }
    }
    Ok(queues)
}

async fn run(command: Command) -> Result<(), Failure> {
    let s = Settings::from_env()?;
    match command {
        Command::Migrate { dry_run } => {
            let pool = connect(&s).await?;
            migrate_command(&pool, dry_run).await?;
        }
        Command::Demo => {
            let pool = connect(&s).await?;
            platform::migrate(&pool).await.map_err(migrate_failure)?;
            crate::demo::load(&pool).await?;
            println!("demo data loaded");
            for line in crate::demo::ingest(&pool).await? {
                println!("{line}");
            }
        }
        Command::Serve => {
            let token = s.require_api_token()?.to_string();
            let pool = connect(&s).await?;
            require_schema(&pool).await?;
            let state = with_dashboard(
                AppState::new(pool, token, s.rate_limits.clone())
                    .with_cron_overrides(s.cron_overrides.clone())
                    .with_messaging(&s),
                &s,
            )
            .await?;
            http::serve(Arc::new(state), &s.bind, s.port, shutdown_token()).await?;
        }
        Command::Work { queues } => {
            let queues = queues_arg(queues)?;
            let pool = connect(&s).await?;
            require_schema(&pool).await?;
            platform::worker::run(
                Arc::new(Ctx { settings: s, pool }),
                queues,
                shutdown_token(),
            )
            .await?;
        }
        Command::Schedule => {
            let pool = connect(&s).await?;
            require_schema(&pool).await?;
            platform::scheduler::run(pool, s.cron_overrides.clone(), shutdown_token()).await?;
        }
        Command::All => {
            let token = s.require_api_token()?.to_string();
            let pool = connect(&s).await?;
            require_schema(&pool).await?;
            let stop = shutdown_token();
            let state = Arc::new(
                with_dashboard(
                    AppState::new(pool.clone(), token, s.rate_limits.clone())
                        .with_cron_overrides(s.cron_overrides.clone())
                        .with_messaging(&s),
                    &s,
                )
                .await?,
            );
            let queues = queues_arg(Vec::new())?;
            let ctx = Arc::new(Ctx {
                settings: s.clone(),
                pool: pool.clone(),
            });
            // One part failing (e.g. the port is taken) stops the others instead of leaving a
            // half-running process.
            let (web, work, clock) = tokio::join!(
                stop_all_on_error(
                    http::serve(state, &s.bind, s.port, stop.clone()),
                    stop.clone()
                ),
                stop_all_on_error(
                    platform::worker::run(ctx, queues, stop.clone()),
                    stop.clone()
                ),
                stop_all_on_error(
                    platform::scheduler::run(pool, s.cron_overrides.clone(), stop.clone()),
                    stop.clone()
                ),
            );
            web?;
            work?;
            clock?;
        }
        Command::Job(cmd) => job_command(&s, cmd).await?,
        Command::Bench(BenchCommand::Queue(args)) => {
            let pool = connect(&s).await?;
            platform::migrate(&pool).await?;
            platform::bench::run(&s, pool, args).await?;
        }
        Command::Bench(BenchCommand::Sweep(args)) => {
            let pool = connect(&s).await?;
            crate::ingest::bench::run(&s, pool, args).await?;
        }
        Command::Bench(BenchCommand::Migrate(args)) => {
            let pool = connect(&s).await?;
            platform::bench_migrate::run(&s, &pool, args)
                .await
                .map_err(migrate_failure)?;
        }
    }
    Ok(())
}

/// A refusal to touch an unknown database is a usage error (exit 2); anything else exit 1.
fn migrate_failure(e: anyhow::Error) -> Failure {
    match e.downcast_ref::<takeover::Refused>() {
        Some(r) => usage(r.to_string()),
        None => e.into(),
    }
}

async fn migrate_command(pool: &PgPool, dry_run: bool) -> Result<(), Failure> {
    if dry_run {
        let plan = takeover::plan(pool).await?;
        if let takeover::DbState::Unknown(why) = &plan.state {
            return Err(usage(
                takeover::Refused(format!("not a Cicero database: {why}")).to_string(),
            ));
        }
        print!("{}", plan.render());
        println!("dry run: nothing was changed");
        return Ok(());
    }
    let out = takeover::migrate(pool).await.map_err(migrate_failure)?;
    println!("database was: {}", out.state.describe());
    if out.applied.is_empty() {
        println!("nothing to apply: the database is up to date");
    } else {
        println!(
            "applied {} in one transaction in {:.1} s",
            out.applied
                .iter()
                .map(|v| format!("{v:04}"))
                .collect::<Vec<_>>()
                .join(", "),
            out.elapsed.as_secs_f64()
        );
    }
    Ok(())
}

async fn stop_all_on_error(
    part: impl std::future::Future<Output = anyhow::Result<()>>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let result = part.await;
    if result.is_err() {
        stop.cancel();
    }
    result
}

fn print_json(v: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v).map_err(|e| fail(e.to_string()))?;
    println!("{text}");
    Ok(())
}

async fn job_command(s: &Settings, cmd: JobCommand) -> Result<(), Failure> {
    let pool = connect(s).await?;
    require_schema(&pool).await?;
    match cmd {
        JobCommand::Enqueue {
            kind,
            payload,
            run_at,
            priority,
        } => {
            let payload: Value = serde_json::from_str(&payload)
                .map_err(|e| usage(format!("--payload: not JSON: {e}")))?;
            let job = jobs::NewJob {
                kind,
                payload,
                run_at: run_at.map(|t| t.to_utc()),
                priority,
                unique_key: None,
            };
            match jobs::enqueue(&pool, &job).await {
                Ok(r) => print_json(&r)?,
                Err(jobs::EnqueueError::Invalid(e)) => return Err(usage(e.to_string())),
                Err(jobs::EnqueueError::Db(e)) => return Err(e.into()),
            }
        }
        JobCommand::Show { id } => match jobs::get(&pool, id).await? {
            Some(job) => print_json(&job)?,
            None => {
                return Err(fail(format!("job {id} not found")));
            }
        },
        JobCommand::List {
            state,
            queue,
            kind,
            q,
            page,
        } => {
            let page = jobs::list(
                &pool,
                &jobs::Filter {
                    state,
                    queue,
                    kind,
                    q,
                    ..Default::default()
                },
                page.max(1),
                50,
            )
            .await?;
            for j in &page.jobs {
                println!(
                    "{:>8}  {:<12} {:<12} {:<8} {}/{}  {}",
                    j.id,
                    j.queue,
                    j.kind,
                    j.state,
                    j.attempt,
                    j.max_attempts,
                    j.last_error.as_deref().unwrap_or("")
                );
            }
            println!("{} of {} (page {})", page.jobs.len(), page.total, page.page);
        }
        JobCommand::Retry { id } => match jobs::retry(&pool, id).await? {
            jobs::RetryOutcome::Retried => println!("job {id} is pending again"),
            jobs::RetryOutcome::NotFound => {
                return Err(fail(format!("job {id} not found")));
            }
            jobs::RetryOutcome::WrongState(st) => {
                return Err(fail(format!(
                    "job {id} is {st}; only failed or cancelled jobs can be retried"
                )));
            }
        },
        JobCommand::Cancel { id } => match jobs::cancel(&pool, id).await? {
            jobs::CancelOutcome::Cancelled => println!("job {id} cancelled"),
            jobs::CancelOutcome::Requested => {
                println!("job {id} is running; its worker will interrupt it")
            }
            jobs::CancelOutcome::NotFound => {
                return Err(fail(format!("job {id} not found")));
            }
            jobs::CancelOutcome::WrongState(st) => {
                return Err(fail(format!(
                    "job {id} is {st}; only pending or running jobs can be cancelled"
                )));
            }
        },
        JobCommand::Pause { queue } | JobCommand::Resume { queue }
            if !cicero_jobs::QUEUES.contains(&queue.as_str()) =>
        {
            return Err(usage(format!(
                "unknown queue {queue:?} (known: {})",
                cicero_jobs::QUEUES.join(", ")
            )));
        }
        JobCommand::Pause { queue } => {
            jobs::set_paused(&pool, &queue, true, "cli").await?;
            println!("queue {queue} paused");
        }
        JobCommand::Resume { queue } => {
            jobs::set_paused(&pool, &queue, false, "cli").await?;
            println!("queue {queue} resumed");
        }
    }
    Ok(())
}

/// Adds the dashboard API when `JWT_SECRET` is set (it needs Redis, connected here so a bad
/// `REDIS_URL` stops start-up with one line).
async fn with_dashboard(state: AppState, s: &Settings) -> anyhow::Result<AppState> {
    if s.jwt_secret.is_none() {
        tracing::warn!("JWT_SECRET is not set: the dashboard API is not served");
        return Ok(state);
    }
    let redis = platform::redis::connect(&s.messaging.redis_url).await?;
    Ok(match http::dashboard::Dashboard::from_settings(s, redis) {
        Some(d) => {
            let live = http::dashboard::social::Live::from_settings(s, &state.pool);
            state
                .with_dashboard(d)
                .with_social(live)
                .with_password_reset(s.password_reset.clone())
                .with_admin_system(s.admin_system.clone())
        }
        None => state,
    })
}

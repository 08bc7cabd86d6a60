//! `cicero bench migrate`: builds a large legacy Cicero_V2 database (the legacy schema of
//! migration 0001 with its naive timestamps and no like_count, filled with generate_series),
//! then takes it over with `cicero migrate` while probe connections read the big tables, so
//! the figures are the upgrade time and how long readers were blocked by its locks.
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sqlx::{
    ConnectOptions as _, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use tokio_util::sync::CancellationToken;

use super::takeover::{self, CONVERTED, DbState, MIGRATOR};
use crate::config::Settings;

#[derive(clap::Args, Debug, Clone)]
pub struct BenchMigrateArgs {
    /// Posts in total, half Instagram, half TikTok.
    #[arg(long, default_value_t = 200_000)]
    pub posts: i64,
    /// Likers in total, spread over insta_like.likes and tiktok_comment.comments arrays.
    #[arg(long, default_value_t = 2_000_000)]
    pub likers: i64,
    /// Personnel rows in "user" (each with a role in user_roles).
    #[arg(long, default_value_t = 50_000)]
    pub users: i64,
    /// Clients (units) the users and posts belong to.
    #[arg(long, default_value_t = 100)]
    pub clients: i64,
    /// Keep the scratch database afterwards.
    #[arg(long)]
    pub keep: bool,
}

/// Tables the probes read while the upgrade runs.
const PROBED: &[&str] = &[
    "insta_post",
    "tiktok_post",
    "insta_like",
    "tiktok_comment",
    "user",
    "link_report",
];

/// Builds the legacy schema in an empty database exactly as the legacy JSON records it.
pub async fn build_legacy_schema(pool: &PgPool) -> anyhow::Result<()> {
    let legacy = MIGRATOR
        .iter()
        .find(|m| m.version == 1)
        .context("migration 0001 is compiled in")?;
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(legacy.sql.as_str().to_string()))
        .execute(&mut *tx)
        .await?;
    // 0001 adds like_count, which the legacy SQL lacks; the legacy tables hold naive times.
    let mut undo = String::from("ALTER TABLE public.insta_post DROP COLUMN like_count;\n");
    for (t, c, _) in CONVERTED {
        undo.push_str(&format!(
            "ALTER TABLE public.\"{t}\" ALTER COLUMN \"{c}\" TYPE timestamp;\n"
        ));
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(undo))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn fill(pool: &PgPool, a: &BenchMigrateArgs) -> anyhow::Result<()> {
    let ig = a.posts / 2;
    let tt = a.posts - ig;
    let per_ig = (a.likers / 2) / ig.max(1);
    let per_tt = (a.likers - a.likers / 2) / tt.max(1);
    let sql = format!(
        r#"
INSERT INTO clients (client_id, nama, client_type, client_insta, client_tiktok)
SELECT 'POLRES_' || lpad(i::text, 4, '0'), 'Polres ' || i, 'org', 'polres' || i, 'polres' || i
FROM generate_series(1, {clients}) i;
INSERT INTO "user" (user_id, nama, title, divisi, insta, tiktok, whatsapp, client_id)
SELECT (80000000 + i)::text, 'PERSONEL ' || i, 'BRIPDA', 'SAT ' || (i % 12), 'ig_user_' || i,
       '@tt_user_' || i, '62812' || lpad(i::text, 8, '0'),
       'POLRES_' || lpad((1 + i % {clients})::text, 4, '0')
FROM generate_series(1, {users}) i;
INSERT INTO user_roles (user_id, role_id)
SELECT (80000000 + i)::text, 1 + i % 4 FROM generate_series(1, {users}) i;
INSERT INTO insta_post (shortcode, client_id, caption, comment_count, is_video, created_at)
SELECT 'C' || lpad(i::text, 10, '0'), 'POLRES_' || lpad((1 + i % {clients})::text, 4, '0'),
       'Kegiatan patroli dan sosialisasi kamtibmas #' || i || ' ' || repeat('polri presisi ', 6),
       i % 50, i % 3 = 0, timestamp '2023-01-01 00:00' + i * interval '7 minutes'
FROM generate_series(1, {ig}) i;
INSERT INTO tiktok_post (video_id, client_id, caption, like_count, comment_count, created_at)
SELECT (7300000000000000000 + i)::text, 'POLRES_' || lpad((1 + i % {clients})::text, 4, '0'),
       'Video kegiatan #' || i || ' ' || repeat('polri presisi ', 6), i % 900, i % 70,
       timestamp '2023-01-01 00:00' + i * interval '7 minutes'
FROM generate_series(1, {tt}) i;
INSERT INTO insta_like (shortcode, likes, updated_at)
SELECT 'C' || lpad(i::text, 10, '0'),
       (SELECT jsonb_agg('ig_user_' || (1 + (i * 31 + k) % {users})) FROM generate_series(1, {per_ig}) k),
       timestamp '2023-01-01 00:30' + i * interval '7 minutes'
FROM generate_series(1, {ig}) i;
INSERT INTO tiktok_comment (video_id, comments, updated_at)
SELECT (7300000000000000000 + i)::text,
       (SELECT jsonb_agg('@tt_user_' || (1 + (i * 17 + k) % {users})) FROM generate_series(1, {per_tt}) k),
       timestamp '2023-01-01 00:30' + i * interval '7 minutes'
FROM generate_series(1, {tt}) i;
INSERT INTO link_report (shortcode, user_id, instagram_link, created_at)
SELECT 'C' || lpad(i::text, 10, '0'), (80000000 + 1 + i % {users})::text,
       'https://www.instagram.com/p/x' || i, timestamp '2023-01-01 01:00' + i * interval '7 minutes'
FROM generate_series(1, {ig}) i;
"#,
        clients = a.clients,
        users = a.users,
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await?;
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(pool).await?;
    Ok(())
}

/// Reads `table` in a loop until told to stop; returns the longest single read, which is how
/// long a reader was blocked by the upgrade's lock on it.
async fn probe(
    pool: PgPool,
    table: &'static str,
    stop: CancellationToken,
) -> anyhow::Result<Duration> {
    let mut conn = pool.acquire().await?;
    let sql = format!("SELECT 1 FROM public.\"{table}\" LIMIT 1");
    let mut longest = Duration::ZERO;
    loop {
        let t = Instant::now();
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut *conn)
            .await?;
        longest = longest.max(t.elapsed());
        tokio::select! {
            _ = stop.cancelled() => return Ok(longest),
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
}

async fn counts(pool: &PgPool) -> anyhow::Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for t in PROBED {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM public.\"{t}\""
        )))
        .fetch_one(pool)
        .await?;
        out.push((*t, n));
    }
    Ok(out)
}

/// Works in a scratch database `<db>_legacy_bench` next to DATABASE_URL's, created and
/// dropped here (`--keep` leaves it for inspection).
pub async fn run(s: &Settings, admin: &PgPool, a: BenchMigrateArgs) -> anyhow::Result<()> {
    let db = format!("{}_legacy_bench", s.database_name());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
    )))
    .execute(admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\"")))
        .execute(admin)
        .await?;
    let (base, rest) = s
        .database_url
        .rsplit_once('/')
        .context("DATABASE_URL has no database name")?;
    let query = rest.find('?').map(|i| &rest[i..]).unwrap_or("");
    let options: PgConnectOptions = format!("{base}/{db}{query}").parse()?;
    // The upgrade's statements are slow on purpose here; keep sqlx's warnings out of the output.
    let options = options.disable_statement_logging();
    let pool = PgPoolOptions::new()
        .max_connections(12)
        .connect_with(options)
        .await?;
    let result = measure(&pool, &a).await;
    pool.close().await;
    if !a.keep {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
        )))
        .execute(admin)
        .await?;
    } else {
        println!("kept database {db}");
    }
    result
}

async fn measure(pool: &PgPool, a: &BenchMigrateArgs) -> anyhow::Result<()> {
    {
        let mut conn = pool.acquire().await?;
        let state = takeover::detect(&mut conn).await?;
        if state != DbState::Empty {
            bail!("the scratch database is not empty: {}", state.describe());
        }
    }
    let t = Instant::now();
    build_legacy_schema(pool).await?;
    fill(pool, a).await?;
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(pool)
        .await?;
    let likers: i64 = sqlx::query_scalar(
        "SELECT (SELECT coalesce(sum(jsonb_array_length(likes)), 0) FROM insta_like)
              + (SELECT coalesce(sum(jsonb_array_length(comments)), 0) FROM tiktok_comment)",
    )
    .fetch_one(pool)
    .await?;
    println!(
        "legacy database built in {:.1} s: {} posts, {likers} likers, {} users, database {:.0} MB",
        t.elapsed().as_secs_f64(),
        a.posts,
        a.users,
        size as f64 / 1e6
    );
    let plan = takeover::plan(pool).await?;
    println!("--- cicero migrate --dry-run ---\n{}---", plan.render());
    println!(
        "dry-run estimate: {:.0} MB rewritten, {:.1} s at {} MB/s",
        plan.rewrite_bytes() as f64 / 1e6,
        plan.estimate_secs(),
        takeover::REWRITE_MB_PER_SEC
    );
    let before = counts(pool).await?;

    let stop = CancellationToken::new();
    let probes: Vec<_> = PROBED
        .iter()
        .map(|t| tokio::spawn(probe(pool.clone(), t, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = takeover::migrate(pool).await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.cancel();
    println!(
        "upgrade (one transaction, {} migrations): {:.2} s, rewrite rate {:.1} MB/s",
        out.applied.len(),
        out.elapsed.as_secs_f64(),
        plan.rewrite_bytes() as f64 / 1e6 / out.elapsed.as_secs_f64()
    );
    for (t, p) in PROBED.iter().zip(probes) {
        let longest = p.await??;
        println!(
            "  longest read of {t:<15} during the upgrade: {:.2} s",
            longest.as_secs_f64()
        );
    }
    let after = counts(pool).await?;
    if before != after {
        bail!("row counts changed: {before:?} -> {after:?}");
    }
    println!("row counts equal before and after: {after:?}");
    Ok(())
}

//! `cicero migrate`: recognise what the database is (empty, a legacy Cicero_V2 database, ours,
//! or something else) before touching it, describe the plan (`--dry-run`), and apply every
//! pending migration in ONE transaction so a failure leaves the database exactly as it was.
//! docs/upgrading.md is the operator's side of this.
use std::{collections::BTreeSet, fmt::Write as _, time::Instant};

use anyhow::Context as _;
use sqlx::{PgConnection, PgPool, migrate::Migrator};

/// Our migrations (`migrations/`), compiled in.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The legacy schema we take over (catalog of Cicero_V2 read back from PostgreSQL; also the
/// test fixture the legacy-database builder is driven by).
pub const LEGACY_SCHEMA_JSON: &str = include_str!("../../tests/fixtures/legacy-schema.json");

/// Tables (with columns) every legacy Cicero_V2 database has had since its first release: a
/// database with all of them and no migration history of ours is a legacy one.
pub const SIGNATURE: &[(&str, &[&str])] = &[
    ("clients", &["client_id", "nama"]),
    ("user", &["user_id", "nama", "client_id"]),
    ("insta_post", &["shortcode", "client_id", "created_at"]),
    ("insta_like", &["shortcode", "likes"]),
    ("tiktok_post", &["video_id", "client_id", "created_at"]),
    ("tiktok_comment", &["video_id", "comments"]),
];

/// Every naive legacy timestamp migration 0004 converts to timestamptz, with the zone the
/// legacy code wrote it in. A unit test checks this list against the migration's SQL.
pub const CONVERTED: &[(&str, &str, &str)] = &[
    ("approval_request", "created_at", "Asia/Jakarta"),
    ("approval_request", "updated_at", "Asia/Jakarta"),
    ("change_log", "logged_at", "Asia/Jakarta"),
    ("dashboard_user", "created_at", "Asia/Jakarta"),
    ("dashboard_user", "updated_at", "Asia/Jakarta"),
    ("editorial_event", "event_date", "Asia/Jakarta"),
    ("editorial_event", "created_at", "Asia/Jakarta"),
    ("editorial_event", "last_update", "Asia/Jakarta"),
    ("ig_ext_posts", "created_at", "Asia/Jakarta"),
    ("ig_post_comments", "created_at", "Asia/Jakarta"),
    ("insta_comment", "updated_at", "Asia/Jakarta"),
    ("insta_like", "updated_at", "Asia/Jakarta"),
    ("insta_post", "created_at", "Asia/Jakarta"),
    ("insta_post_khusus", "created_at", "Asia/Jakarta"),
    ("insta_profile", "updated_at", "Asia/Jakarta"),
    ("link_report", "created_at", "Asia/Jakarta"),
    ("link_report_khusus", "created_at", "Asia/Jakarta"),
    ("login_log", "logged_at", "Asia/Jakarta"),
    ("penmas_user", "created_at", "Asia/Jakarta"),
    ("penmas_user", "updated_at", "Asia/Jakarta"),
    ("premium_request", "created_at", "Asia/Jakarta"),
    ("premium_request", "updated_at", "Asia/Jakarta"),
    ("saved_contact", "created_at", "Asia/Jakarta"),
    ("tasks", "created_at", "Asia/Jakarta"),
    ("tiktok_comment", "updated_at", "Asia/Jakarta"),
    ("tiktok_post", "created_at", "UTC"),
    ("visitor_logs", "visited_at", "Asia/Jakarta"),
];

/// Table rewrite speed used for the `--dry-run` estimate, MB of table + indexes per second;
/// measured by `cicero bench migrate` (docs/benchmarks.md) on the 2-core reference machine.
pub const REWRITE_MB_PER_SEC: f64 = 40.0;

/// What the database is, as far as `cicero migrate` is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum DbState {
    /// No table in schema `public` and no migration history.
    Empty,
    /// The legacy Cicero_V2 schema without our migration history.
    Legacy {
        /// Legacy tables (from the schema JSON) the database lacks; 0001 creates them.
        missing_tables: Vec<String>,
        /// Tables in `public` that are not legacy ones; left untouched.
        other_tables: Vec<String>,
    },
    /// Migrated by cicero: the versions applied so far.
    Ours { applied: Vec<i64> },
    /// Anything else: `cicero migrate` refuses to touch it.
    Unknown(String),
}

impl DbState {
    pub fn describe(&self) -> String {
        match self {
            DbState::Empty => "empty (no tables in schema public)".into(),
            DbState::Legacy {
                missing_tables,
                other_tables,
            } => {
                let mut s = "legacy Cicero_V2 schema, no cicero migration history".to_string();
                if !missing_tables.is_empty() {
                    let _ = write!(
                        s,
                        "; missing legacy tables (will be created): {}",
                        missing_tables.join(", ")
                    );
                }
                if !other_tables.is_empty() {
                    let _ = write!(
                        s,
                        "; other tables (left untouched): {}",
                        other_tables.join(", ")
                    );
                }
                s
            }
            DbState::Ours { applied } => format!(
                "migrated by cicero (applied: {})",
                applied
                    .iter()
                    .map(|v| format!("{v:04}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DbState::Unknown(why) => format!("not a Cicero database: {why}"),
        }
    }
}

/// Why `cicero migrate` refused to run; the CLI exits 2 on it.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "refusing to migrate: the database is {}. `cicero migrate` only takes over an empty \
             database, a legacy Cicero_V2 database or one it migrated itself",
            self.0
        )
    }
}

impl std::error::Error for Refused {}

/// One row of the migration history.
#[derive(Debug, Clone)]
pub struct Applied {
    pub version: i64,
    pub success: bool,
    pub checksum: Vec<u8>,
}

/// What the catalog says, gathered once; [`classify`] is pure so it can be table-tested.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Tables (kind r/p) in schema public, except `_sqlx_migrations`.
    pub public_tables: BTreeSet<String>,
    /// (table, column) of the signature tables that exist.
    pub signature_columns: BTreeSet<(String, String)>,
    /// `public._sqlx_migrations` rows, `None` when the table does not exist.
    pub history: Option<Vec<Applied>>,
    /// Schema `cicero` exists.
    pub cicero_schema: bool,
}

pub fn legacy_tables() -> Vec<String> {
    let doc: serde_json::Value =
        serde_json::from_str(LEGACY_SCHEMA_JSON).expect("the compiled-in legacy schema is JSON");
    doc["tables"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn known_versions() -> Vec<(i64, Vec<u8>)> {
    MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| (m.version, m.checksum.to_vec()))
        .collect()
}

/// Decides what the database is from its catalog facts.
pub fn classify(f: &Facts, legacy: &[String], known: &[(i64, Vec<u8>)]) -> DbState {
    // A history table with no rows is what an interrupted old-style run leaves; judge by the rest.
    if let Some(history) = f.history.as_ref().filter(|h| !h.is_empty()) {
        let unknown: Vec<String> = history
            .iter()
            .filter(|a| !known.iter().any(|(v, _)| *v == a.version))
            .map(|a| a.version.to_string())
            .collect();
        if !unknown.is_empty() {
            return DbState::Unknown(format!(
                "public._sqlx_migrations holds versions this cicero does not have ({}): \
                 migrated by a newer cicero or by another application",
                unknown.join(", ")
            ));
        }
        if let Some(a) = history.iter().find(|a| !a.success) {
            return DbState::Unknown(format!(
                "migration {:04} is recorded as failed (dirty) in public._sqlx_migrations",
                a.version
            ));
        }
        if let Some(a) = history.iter().find(|a| {
            known
                .iter()
                .any(|(v, c)| *v == a.version && *c != a.checksum)
        }) {
            return DbState::Unknown(format!(
                "migration {:04} was applied from a different file than this cicero's",
                a.version
            ));
        }
        return DbState::Ours {
            applied: history.iter().map(|a| a.version).collect(),
        };
    }
    if f.cicero_schema {
        return DbState::Unknown(
            "schema cicero exists but public._sqlx_migrations has no history".into(),
        );
    }
    if f.public_tables.is_empty() {
        return DbState::Empty;
    }
    let missing_signature: Vec<String> = SIGNATURE
        .iter()
        .flat_map(|(t, cols)| cols.iter().map(move |c| (*t, *c)))
        .filter(|(t, c)| {
            !f.signature_columns
                .contains(&(t.to_string(), c.to_string()))
        })
        .map(|(t, c)| format!("{t}.{c}"))
        .collect();
    let present_signature = SIGNATURE
        .iter()
        .filter(|(t, _)| f.public_tables.contains(*t))
        .count();
    if missing_signature.is_empty() {
        return DbState::Legacy {
            missing_tables: legacy
                .iter()
                .filter(|t| !f.public_tables.contains(*t))
                .cloned()
                .collect(),
            other_tables: f
                .public_tables
                .iter()
                .filter(|t| !legacy.contains(t))
                .cloned()
                .collect(),
        };
    }
    if present_signature > 0 {
        return DbState::Unknown(format!(
            "it looks like a partial legacy Cicero_V2 database: missing {}",
            missing_signature.join(", ")
        ));
    }
    let sample: Vec<&str> = f.public_tables.iter().take(8).map(String::as_str).collect();
    DbState::Unknown(format!(
        "schema public has {} table(s) ({}{}) and none of the legacy Cicero_V2 tables ({})",
        f.public_tables.len(),
        sample.join(", "),
        if f.public_tables.len() > sample.len() {
            ", …"
        } else {
            ""
        },
        SIGNATURE
            .iter()
            .map(|(t, _)| *t)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

pub async fn facts(conn: &mut PgConnection) -> sqlx::Result<Facts> {
    let public_tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&mut *conn)
    .await?;
    let signature_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0
           AND NOT a.attisdropped AND c.relname = ANY($1)",
    )
    .bind(SIGNATURE.iter().map(|(t, _)| *t).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    let has_history: bool =
        sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    let history = if has_history {
        let rows: Vec<(i64, bool, Vec<u8>)> = sqlx::query_as(
            "SELECT version, success, checksum FROM public._sqlx_migrations ORDER BY version",
        )
        .fetch_all(&mut *conn)
        .await?;
        Some(
            rows.into_iter()
                .map(|(version, success, checksum)| Applied {
                    version,
                    success,
                    checksum,
                })
                .collect(),
        )
    } else {
        None
    };
    let cicero_schema: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'cicero')")
            .fetch_one(&mut *conn)
            .await?;
    Ok(Facts {
        public_tables: public_tables.into_iter().collect(),
        signature_columns: signature_columns.into_iter().collect(),
        history,
        cicero_schema,
    })
}

pub async fn detect(conn: &mut PgConnection) -> sqlx::Result<DbState> {
    let f = facts(conn).await?;
    Ok(classify(&f, &legacy_tables(), &known_versions()))
}

/// One table the plan rewrites.
#[derive(Debug, Clone)]
pub struct Rewrite {
    pub table: String,
    /// (column, zone) converted in this table.
    pub columns: Vec<(String, String)>,
    pub rows: i64,
    /// Table + indexes + TOAST, bytes.
    pub bytes: i64,
}

/// What `cicero migrate` will do; [`Plan::render`] is the `--dry-run` output.
#[derive(Debug, Clone)]
pub struct Plan {
    pub state: DbState,
    /// (version, description) of the migrations still to apply, in order.
    pub pending: Vec<(i64, String)>,
    /// Legacy columns 0001 adds (table.column) because the database lacks them.
    pub missing_columns: Vec<String>,
    pub rewrites: Vec<Rewrite>,
    /// Views/rules depending on a column 0004 converts: PostgreSQL refuses the conversion.
    pub blockers: Vec<String>,
    /// Naive timestamp columns in public that no migration converts (left as they are).
    pub left_naive: Vec<String>,
    /// Rows per legacy table (exact counts), for verifying after the upgrade.
    pub row_counts: Vec<(String, i64)>,
}

impl Plan {
    pub fn rewrite_bytes(&self) -> i64 {
        self.rewrites.iter().map(|r| r.bytes).sum()
    }

    /// Estimated seconds the rewrite (and so the ACCESS EXCLUSIVE locks) lasts.
    pub fn estimate_secs(&self) -> f64 {
        self.rewrite_bytes() as f64 / 1e6 / REWRITE_MB_PER_SEC
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "database: {}", self.state.describe());
        if self.pending.is_empty() {
            let _ = writeln!(s, "nothing to apply: the database is up to date");
            return s;
        }
        let _ = writeln!(
            s,
            "will apply {} migration(s) in ONE transaction (all or nothing):",
            self.pending.len()
        );
        for (v, d) in &self.pending {
            let _ = writeln!(s, "  {v:04} {d}: {}", step_summary(*v, self));
        }
        if !self.rewrites.is_empty() {
            let _ = writeln!(
                s,
                "tables rewritten by 0004 (ACCESS EXCLUSIVE: no reads or writes until the commit):"
            );
            for r in &self.rewrites {
                let cols: Vec<String> = r
                    .columns
                    .iter()
                    .map(|(c, z)| format!("{c} as {z}"))
                    .collect();
                let _ = writeln!(
                    s,
                    "  {:<24} {:>10} rows {:>10}  {}",
                    r.table,
                    r.rows,
                    human_bytes(r.bytes),
                    cols.join(", ")
                );
            }
            let _ = writeln!(
                s,
                "estimate: {} to rewrite at ~{REWRITE_MB_PER_SEC} MB/s ≈ {:.1} s; every table above \
                 stays locked from its rewrite until the commit",
                human_bytes(self.rewrite_bytes()),
                self.estimate_secs()
            );
        }
        if !self.left_naive.is_empty() {
            let _ = writeln!(
                s,
                "naive timestamp columns no migration converts (left as they are): {}",
                self.left_naive.join(", ")
            );
        }
        if !self.row_counts.is_empty() {
            let _ = writeln!(s, "rows now (compare after the upgrade):");
            for (t, n) in self.row_counts.iter().filter(|(_, n)| *n > 0) {
                let _ = writeln!(s, "  {t:<36} {n:>12}");
            }
            let empty = self.row_counts.iter().filter(|(_, n)| *n == 0).count();
            if empty > 0 {
                let _ = writeln!(s, "  ({empty} other legacy tables are empty)");
            }
        }
        if !self.blockers.is_empty() {
            let _ = writeln!(
                s,
                "BLOCKERS: the upgrade will fail (and change nothing) until these are dropped: {}",
                self.blockers.join("; ")
            );
        }
        s
    }
}

fn step_summary(version: i64, p: &Plan) -> String {
    let legacy = matches!(p.state, DbState::Legacy { .. });
    match version {
        1 if legacy => {
            let mut s = String::from(
                "creates only the legacy objects that are missing; seed rows inserted only when \
                 absent (ROW EXCLUSIVE on clients, cron_job_config, roles)",
            );
            if let DbState::Legacy { missing_tables, .. } = &p.state
                && !missing_tables.is_empty()
            {
                let _ = write!(s, "; new tables: {}", missing_tables.join(", "));
            }
            if !p.missing_columns.is_empty() {
                let _ = write!(
                    s,
                    "; adds columns (brief ACCESS EXCLUSIVE, no rewrite): {}",
                    p.missing_columns.join(", ")
                );
            }
            s
        }
        1 => "creates the 53 legacy tables, keys, indexes, triggers and seed rows".into(),
        2 | 3 => "creates schema cicero (job platform tables); locks no legacy table".into(),
        4 if p.rewrites.is_empty() => "no naive legacy timestamp left to convert".into(),
        4 => format!(
            "converts {} naive timestamp column(s) in {} table(s) to timestamptz (listed below)",
            p.rewrites.iter().map(|r| r.columns.len()).sum::<usize>(),
            p.rewrites.len()
        ),
        v => format!("see migrations/{v:04}_*.sql"),
    }
}

fn human_bytes(b: i64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", b / 1e3)
    }
}

/// Reads the catalog and builds the plan. Takes no lock beyond what `SELECT count(*)` takes.
pub async fn plan(pool: &PgPool) -> anyhow::Result<Plan> {
    let mut conn = pool.acquire().await?;
    let state = detect(&mut conn).await?;
    let applied: Vec<i64> = match &state {
        DbState::Ours { applied } => applied.clone(),
        _ => Vec::new(),
    };
    let pending: Vec<(i64, String)> = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
        .map(|m| (m.version, m.description.to_string()))
        .collect();
    let mut plan = Plan {
        state: state.clone(),
        pending,
        missing_columns: Vec::new(),
        rewrites: Vec::new(),
        blockers: Vec::new(),
        left_naive: Vec::new(),
        row_counts: Vec::new(),
    };
    if matches!(state, DbState::Unknown(_) | DbState::Empty) {
        return Ok(plan);
    }
    // Columns the legacy JSON has (plus like_count, which 0001 adds) that the database lacks.
    if plan.pending.iter().any(|(v, _)| *v == 1) {
        let doc: serde_json::Value = serde_json::from_str(LEGACY_SCHEMA_JSON)?;
        let existing: BTreeSet<(String, String)> = sqlx::query_as(
            "SELECT c.relname::text, a.attname::text FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0
               AND NOT a.attisdropped",
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        let tables: BTreeSet<&str> = existing.iter().map(|(t, _)| t.as_str()).collect();
        let mut wanted: Vec<(String, String)> = Vec::new();
        for t in doc["tables"].as_array().into_iter().flatten() {
            let name = t["name"].as_str().unwrap_or_default();
            for c in t["columns"].as_array().into_iter().flatten() {
                wanted.push((name.into(), c["name"].as_str().unwrap_or_default().into()));
            }
        }
        wanted.push(("insta_post".into(), "like_count".into()));
        plan.missing_columns = wanted
            .into_iter()
            .filter(|(t, _)| tables.contains(t.as_str()))
            .filter(|k| !existing.contains(k))
            .map(|(t, c)| format!("{t}.{c}"))
            .collect();
    }
    // Naive timestamps still to convert, with their table's size and rows.
    let naive: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0
           AND NOT a.attisdropped AND a.atttypid = 'timestamp without time zone'::regtype
         ORDER BY 1, a.attnum",
    )
    .fetch_all(&mut *conn)
    .await?;
    let converts = plan.pending.iter().any(|(v, _)| *v == 4);
    for (t, c) in &naive {
        match CONVERTED.iter().find(|(ct, cc, _)| ct == t && cc == c) {
            Some((_, _, zone)) if converts => {
                match plan.rewrites.iter_mut().find(|r| &r.table == t) {
                    Some(r) => r.columns.push((c.clone(), zone.to_string())),
                    None => plan.rewrites.push(Rewrite {
                        table: t.clone(),
                        columns: vec![(c.clone(), zone.to_string())],
                        rows: 0,
                        bytes: 0,
                    }),
                }
            }
            Some(_) => {}
            None => plan.left_naive.push(format!("{t}.{c}")),
        }
    }
    for r in &mut plan.rewrites {
        let table = format!("public.\"{}\"", r.table.replace('"', "\"\""));
        r.bytes = sqlx::query_scalar("SELECT pg_total_relation_size($1::regclass)")
            .bind(&table)
            .fetch_one(&mut *conn)
            .await?;
        r.rows = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&mut *conn)
            .await?;
        // Views and rules reading a column ALTER ... TYPE would change make PostgreSQL refuse it.
        let deps: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT format('%s depends on %s.%s', v.oid::regclass, $1, a.attname)
             FROM pg_depend d
             JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid
             JOIN pg_class v ON v.oid = rw.ev_class
             JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = $2::regclass
               AND v.oid <> d.refobjid AND a.attname = ANY($3)",
        )
        .bind(&r.table)
        .bind(&table)
        .bind(r.columns.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await?;
        plan.blockers.extend(deps);
    }
    if let DbState::Legacy { .. } = state {
        for t in legacy_tables() {
            let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(format!("public.\"{t}\""))
                .fetch_one(&mut *conn)
                .await?;
            if exists {
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM public.\"{t}\""
                )))
                .fetch_one(&mut *conn)
                .await?;
                plan.row_counts.push((t, n));
            }
        }
    }
    Ok(plan)
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub state: DbState,
    pub applied: Vec<i64>,
    pub elapsed: std::time::Duration,
}

/// Detects the database's state, refuses an unknown one ([`Refused`]), then applies every
/// pending migration, ours and apalis-postgres's, in one transaction: any failure rolls all
/// of it back. sqlx nests each migration's own transaction as a savepoint.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<Outcome> {
    use sqlx::Connection as _;
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    match migrate_in(&mut tx).await {
        Ok((state, before)) => {
            tx.commit().await?;
            let applied = MIGRATOR
                .iter()
                .filter(|m| m.migration_type.is_up_migration() && !before.contains(&m.version))
                .map(|m| m.version)
                .collect();
            Ok(Outcome {
                state,
                applied,
                elapsed: started.elapsed(),
            })
        }
        Err(e) => {
            // Roll back now: a dropped transaction is only rolled back when its connection is
            // next used, and until then it would keep its locks.
            // sqlx's migrator holds a session-level advisory lock it does not release when a
            // migration fails; release it before the connection goes back to the pool.
            let _ = tx.rollback().await;
            let _ = sqlx::query("SELECT pg_advisory_unlock_all()")
                .execute(&mut *conn)
                .await;
            Err(e)
        }
    }
}

/// The takeover inside the caller's transaction: the state found and the versions applied
/// before.
async fn migrate_in(tx: &mut PgConnection) -> anyhow::Result<(DbState, Vec<i64>)> {
    // Serialise concurrent `cicero migrate` runs before looking at the state (sqlx's own
    // advisory lock is taken later, inside the run).
    sqlx::query("SELECT pg_advisory_xact_lock(7272740001)")
        .execute(&mut *tx)
        .await?;
    let state = detect(&mut *tx).await?;
    if let DbState::Unknown(why) = &state {
        return Err(Refused(format!("not a Cicero database: {why}")).into());
    }
    let before: Vec<i64> = match &state {
        DbState::Ours { applied } => applied.clone(),
        _ => Vec::new(),
    };
    MIGRATOR
        .run(&mut *tx)
        .await
        .context("migration failed; the transaction was rolled back, nothing changed")?;
    apalis_postgres::PostgresStorage::<()>::migrations()
        .run(&mut *tx)
        .await
        .context("apalis-postgres migration failed; rolled back, nothing changed")?;
    Ok((state, before))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(tables: &[&str], history: Option<Vec<Applied>>) -> Facts {
        let mut sig = BTreeSet::new();
        for (t, cols) in SIGNATURE {
            if tables.contains(t) {
                for c in *cols {
                    sig.insert((t.to_string(), c.to_string()));
                }
            }
        }
        Facts {
            public_tables: tables.iter().map(|t| t.to_string()).collect(),
            signature_columns: sig,
            history,
            cicero_schema: false,
        }
    }

    const CORE: &[&str] = &[
        "clients",
        "user",
        "insta_post",
        "insta_like",
        "tiktok_post",
        "tiktok_comment",
    ];

    fn known() -> Vec<(i64, Vec<u8>)> {
        vec![(1, vec![1]), (2, vec![2])]
    }

    fn applied(v: i64, ok: bool, sum: u8) -> Applied {
        Applied {
            version: v,
            success: ok,
            checksum: vec![sum],
        }
    }

    #[test]
    fn classifies_databases() {
        let legacy = legacy_tables();
        assert_eq!(legacy.len(), 53);
        let k = known();
        assert_eq!(classify(&facts(&[], None), &legacy, &k), DbState::Empty);
        assert_eq!(
            classify(&facts(&[], Some(vec![])), &legacy, &k),
            DbState::Empty,
            "an empty history table is ignored"
        );
        let mut with_extra = CORE.to_vec();
        with_extra.push("backup_2024");
        match classify(&facts(&with_extra, None), &legacy, &k) {
            DbState::Legacy {
                missing_tables,
                other_tables,
            } => {
                assert_eq!(missing_tables.len(), 53 - CORE.len());
                assert_eq!(other_tables, vec!["backup_2024".to_string()]);
            }
            s => panic!("expected legacy, got {s:?}"),
        }
        assert_eq!(
            classify(&facts(CORE, Some(vec![applied(1, true, 1)])), &legacy, &k),
            DbState::Ours { applied: vec![1] }
        );
        let cases: &[(Facts, &str)] = &[
            (facts(&["orders", "customers"], None), "none of the legacy"),
            (facts(&["clients", "user"], None), "partial legacy"),
            (
                facts(CORE, Some(vec![applied(1, true, 1), applied(9, true, 9)])),
                "does not have (9)",
            ),
            (
                facts(CORE, Some(vec![applied(1, false, 1)])),
                "0001 is recorded as failed",
            ),
            (
                facts(CORE, Some(vec![applied(1, true, 7)])),
                "different file",
            ),
            (
                Facts {
                    cicero_schema: true,
                    ..facts(&[], None)
                },
                "schema cicero exists",
            ),
        ];
        for (f, want) in cases {
            match classify(f, &legacy, &k) {
                DbState::Unknown(why) => assert!(why.contains(want), "{why:?} lacks {want:?}"),
                s => panic!("expected unknown ({want}), got {s:?}"),
            }
        }
    }

    #[test]
    fn a_signature_table_without_its_columns_is_not_legacy() {
        let mut f = facts(CORE, None);
        f.signature_columns
            .remove(&("insta_post".to_string(), "shortcode".to_string()));
        match classify(&f, &legacy_tables(), &known()) {
            DbState::Unknown(why) => assert!(why.contains("insta_post.shortcode"), "{why}"),
            s => panic!("expected unknown, got {s:?}"),
        }
    }

    #[test]
    fn the_converted_list_is_migration_0004s() {
        let sql = MIGRATOR
            .iter()
            .find(|m| m.version == 4)
            .expect("migration 0004")
            .sql
            .as_str()
            .to_string();
        let in_sql = sql
            .lines()
            .filter(|l| l.trim_start().starts_with("('"))
            .count();
        assert_eq!(in_sql, CONVERTED.len(), "0004 lists {in_sql} columns");
        for (t, c, z) in CONVERTED {
            assert!(
                sql.contains(&format!("('{t}', '{c}', '{z}')")),
                "{t}.{c} ({z}) is not in 0004"
            );
        }
    }

    #[test]
    fn converted_columns_are_the_legacy_naive_timestamps() {
        let doc: serde_json::Value = serde_json::from_str(LEGACY_SCHEMA_JSON).expect("json");
        let mut naive = Vec::new();
        for t in doc["tables"].as_array().expect("tables") {
            for c in t["columns"].as_array().expect("columns") {
                if c["type"] == "timestamp without time zone" {
                    naive.push((
                        t["name"].as_str().expect("name").to_string(),
                        c["name"].as_str().expect("name").to_string(),
                    ));
                }
            }
        }
        let listed: Vec<(String, String)> = CONVERTED
            .iter()
            .map(|(t, c, _)| (t.to_string(), c.to_string()))
            .collect();
        assert_eq!(naive, listed);
    }
}

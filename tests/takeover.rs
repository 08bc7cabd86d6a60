//! `cicero migrate` takes over a legacy Cicero_V2 database in place: the legacy database is
//! built from tests/fixtures/legacy-schema.json alone (the catalog of a real legacy database),
//! filled with legacy-shaped rows, upgraded, and compared row by row.
mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    process::{Command, Stdio},
};

use cicero::platform::takeover::{self, CONVERTED, DbState};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool, postgres::PgPoolOptions};

use common::{TestDb, server_url, with_db};

/// An empty database of its own (TestDb's are already migrated).
struct Scratch {
    name: String,
    url: String,
    pool: PgPool,
    admin: PgPool,
}

impl Scratch {
    async fn new() -> Scratch {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&with_db(&server_url(), "postgres"))
            .await
            .expect("connect to the postgres database");
        let name = format!(
            "cicero_t_{}",
            ulid::Ulid::generate().to_string().to_lowercase()
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&admin)
            .await
            .expect("create database");
        let url = with_db(&server_url(), &name);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .expect("connect scratch database");
        Scratch {
            name,
            url,
            pool,
            admin,
        }
    }

    async fn legacy() -> Scratch {
        let s = Scratch::new().await;
        build_legacy(&s.pool, &fixture()).await;
        s
    }

    async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"))
    }

    /// The `cicero` binary against this database.
    fn cicero(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_cicero"))
            .args(args)
            .current_dir(std::env::temp_dir())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.url)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("run cicero")
    }

    async fn drop_db(self) {
        self.pool.close().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )))
        .execute(&self.admin)
        .await;
    }
}

fn fixture() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/legacy-schema.json"
    ))
    .expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn cols(v: &Value) -> String {
    v.as_array()
        .expect("column list")
        .iter()
        .map(|c| q(c.as_str().expect("column name")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(t) => format!("'{}'", t.replace('\'', "''")),
        other => panic!("seed value {other} not supported"),
    }
}

/// Creates the legacy schema exactly as the JSON records it: extensions, sequences,
/// functions, tables (columns, defaults, NOT NULL), sequence ownership, primary keys, unique
/// constraints, foreign keys, other indexes, triggers and the seed rows.
async fn build_legacy(pool: &PgPool, doc: &Value) {
    let mut sql = Vec::<String>::new();
    for e in doc["extensions"].as_array().expect("extensions") {
        let schema = s(e, "schema");
        if schema == "pg_catalog" {
            sql.push(format!(
                "CREATE EXTENSION IF NOT EXISTS {}",
                q(s(e, "name"))
            ));
        } else {
            sql.push(format!(
                "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}",
                q(s(e, "name")),
                q(schema)
            ));
        }
    }
    let seqs = doc["sequences"].as_array().expect("sequences");
    for x in seqs {
        sql.push(format!(
            "CREATE SEQUENCE public.{} AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {}",
            q(s(x, "name")),
            s(x, "data_type"),
            x["increment"],
            x["min"],
            x["max"],
            x["start"],
            x["cache"],
            if x["cycle"] == true { "CYCLE" } else { "NO CYCLE" }
        ));
    }
    for f in doc["functions"].as_array().expect("functions") {
        assert_eq!(
            s(f, "arguments"),
            "",
            "the builder only knows 0-argument functions"
        );
        let mut attrs = format!("LANGUAGE {} {}", s(f, "language"), s(f, "volatility"));
        if f["strict"] == true {
            attrs.push_str(" STRICT");
        }
        if f["security_definer"] == true {
            attrs.push_str(" SECURITY DEFINER");
        }
        sql.push(format!(
            "CREATE FUNCTION public.{}() RETURNS {} {attrs} AS $fn${}$fn$",
            q(s(f, "name")),
            s(f, "returns"),
            s(f, "body")
        ));
    }
    let tables = doc["tables"].as_array().expect("tables");
    for t in tables {
        let columns: Vec<String> = t["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| {
                let mut d = format!("{} {}", q(s(c, "name")), s(c, "type"));
                if let Some(def) = c["default"].as_str() {
                    d.push_str(&format!(" DEFAULT {def}"));
                }
                if c["nullable"] == false {
                    d.push_str(" NOT NULL");
                }
                d
            })
            .collect();
        sql.push(format!(
            "CREATE TABLE public.{} (\n  {}\n)",
            q(s(t, "name")),
            columns.join(",\n  ")
        ));
    }
    for x in seqs {
        if let Some(own) = x["owned_by"].as_object() {
            sql.push(format!(
                "ALTER SEQUENCE public.{} OWNED BY public.{}.{}",
                q(s(x, "name")),
                q(own["table"].as_str().expect("table")),
                q(own["column"].as_str().expect("column"))
            ));
        }
    }
    for t in tables {
        let name = q(s(t, "name"));
        if let Some(pk) = t["primary_key"].as_object() {
            sql.push(format!(
                "ALTER TABLE public.{name} ADD CONSTRAINT {} PRIMARY KEY ({})",
                q(pk["name"].as_str().expect("pk name")),
                cols(&pk["columns"])
            ));
        }
        for u in t["unique_constraints"].as_array().expect("uniques") {
            sql.push(format!(
                "ALTER TABLE public.{name} ADD CONSTRAINT {} UNIQUE ({})",
                q(s(u, "name")),
                cols(&u["columns"])
            ));
        }
        assert!(
            t["check_constraints"]
                .as_array()
                .expect("checks")
                .is_empty(),
            "the builder does not know check constraints yet"
        );
    }
    for t in tables {
        for fk in t["foreign_keys"].as_array().expect("fks") {
            let mut d = format!(
                "ALTER TABLE public.{} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES public.{} ({}) MATCH {} ON DELETE {} ON UPDATE {}",
                q(s(t, "name")),
                q(s(fk, "name")),
                cols(&fk["columns"]),
                q(s(&fk["references"], "table")),
                cols(&fk["references"]["columns"]),
                s(fk, "match"),
                s(fk, "on_delete"),
                s(fk, "on_update")
            );
            if fk["deferrable"] == true {
                d.push_str(" DEFERRABLE");
                if fk["initially_deferred"] == true {
                    d.push_str(" INITIALLY DEFERRED");
                }
            }
            sql.push(d);
        }
    }
    for t in tables {
        for i in t["indexes"].as_array().expect("indexes") {
            if i["constraint"].is_null() {
                sql.push(s(i, "definition").to_string());
            }
        }
        for tr in t["triggers"].as_array().expect("triggers") {
            sql.push(s(tr, "definition").to_string());
        }
    }
    for seed in doc["seed_rows"].as_array().expect("seed rows") {
        let names: Vec<&str> = seed["columns"]
            .as_array()
            .expect("seed columns")
            .iter()
            .map(|c| c.as_str().expect("name"))
            .collect();
        for row in seed["rows"].as_array().expect("rows") {
            sql.push(format!(
                "INSERT INTO public.{} ({}) VALUES ({})",
                q(s(seed, "table")),
                names.iter().map(|n| q(n)).collect::<Vec<_>>().join(", "),
                names
                    .iter()
                    .map(|n| literal(&row[*n]))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    for x in seqs {
        if let Some(last) = x["last_value"].as_i64() {
            sql.push(format!(
                "SELECT setval('public.{}', {last})",
                s(x, "name").replace('\'', "''")
            ));
        }
    }
    let mut tx = pool.begin().await.expect("begin");
    for stmt in sql {
        sqlx::raw_sql(sqlx::AssertSqlSafe(stmt.clone()))
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{e}: {stmt}"));
    }
    tx.commit().await.expect("commit legacy schema");
}

/// Legacy-shaped rows, written as the legacy Node.js code writes them: naive Jakarta wall
/// time everywhere except tiktok_post.created_at (naive UTC). Every converted column gets a
/// value, several around Jakarta midnight (17:00 UTC).
const LEGACY_ROWS: &str = r#"
INSERT INTO clients (client_id, nama, client_type, client_insta, client_tiktok, parent_client_id, regional_id, client_level)
VALUES ('POLRES_SBY', 'Polrestabes Surabaya', 'org', 'polrestabessurabaya', 'polrestabes_sby', 'POLDA_JATIM', 'JATIM', 'polres'),
       ('DITBINMAS', 'Direktorat Binmas', 'direktorat', 'ditbinmas_jatim', 'ditbinmas', NULL, 'JATIM', 'polda');
INSERT INTO "user" (user_id, nama, title, divisi, jabatan, insta, tiktok, whatsapp, client_id, status, exception, created_at)
VALUES ('87020990', 'ANDI SAPUTRA', 'BRIPDA', 'SAT BINMAS', 'BA', 'andi.sap', '@andisap', '6281234500001', 'POLRES_SBY', true, false, '2025-03-01 08:00+07'),
       ('88010101', 'SITI AMINAH', 'BRIPKA', 'SAT LANTAS', 'BAUR', 'siti_a', '@sitia', '6281234500002', 'POLRES_SBY', true, true, '2025-03-02 09:00+07'),
       ('19690101', 'BUDI HARTONO', 'AKBP', 'DITBINMAS', 'KASUBDIT', NULL, NULL, NULL, 'DITBINMAS', false, false, '2025-03-03 10:00+07');
INSERT INTO user_roles (user_id, role_id)
SELECT '87020990', role_id FROM roles WHERE role_name = 'operator'
UNION ALL SELECT '88010101', role_id FROM roles WHERE role_name = 'ditlantas'
UNION ALL SELECT '19690101', role_id FROM roles WHERE role_name IN ('ditbinmas', 'bidhumas');
INSERT INTO insta_post (shortcode, client_id, caption, comment_count, is_video, images_url, is_carousel, created_at)
VALUES ('CzLastDay', 'POLRES_SBY', 'Patroli malam', 4, false, '["https://x/1.jpg","https://x/2.jpg"]', true, '2026-11-24 23:59:59'),
       ('CzMidnight', 'POLRES_SBY', 'Tepat tengah malam', 0, true, NULL, false, '2026-11-25 00:00:00'),
       ('CzNextDay', 'DITBINMAS', 'Sosialisasi', 1, false, NULL, false, '2026-11-25 00:00:01'),
       ('CzNoTime', 'DITBINMAS', NULL, NULL, false, NULL, false, NULL);
INSERT INTO tiktok_post (video_id, client_id, caption, like_count, comment_count, created_at)
VALUES ('7441000000000000001', 'POLRES_SBY', 'before Jakarta midnight', 120, 3, '2026-11-24 16:59:59'),
       ('7441000000000000002', 'POLRES_SBY', 'Jakarta midnight', 5, 0, '2026-11-24 17:00:00'),
       ('7441000000000000003', 'DITBINMAS', 'after', NULL, NULL, '2026-11-24 17:00:01');
INSERT INTO insta_like (shortcode, likes, updated_at)
VALUES ('CzLastDay', '["andi.sap","siti_a","outsider"]', '2026-11-25 00:10:00'),
       ('CzMidnight', '[]', '2026-11-25 06:30:00');
INSERT INTO insta_comment (shortcode, comments, updated_at)
VALUES ('CzLastDay', '["andi.sap"]', '2026-11-25 00:10:00');
INSERT INTO tiktok_comment (video_id, comments, updated_at)
VALUES ('7441000000000000001', '["@andisap","@sitia"]', '2026-11-25 00:05:00');
INSERT INTO link_report (shortcode, user_id, instagram_link, facebook_link, twitter_link, tiktok_link, youtube_link, created_at)
VALUES ('CzLastDay', '87020990', 'https://www.instagram.com/p/a', 'https://fb.com/a', NULL, 'https://tiktok.com/@a/video/1', NULL, '2026-11-24 23:30:00'),
       ('CzMidnight', '88010101', 'https://www.instagram.com/p/b', NULL, NULL, NULL, NULL, '2026-11-25 00:00:00');
INSERT INTO insta_post_khusus (shortcode, client_id, caption, created_at)
VALUES ('CkKhusus', 'DITBINMAS', 'Tugas khusus', '2026-11-24 20:00:00');
INSERT INTO link_report_khusus (shortcode, user_id, instagram_link, created_at)
VALUES ('CkKhusus', '19690101', 'https://www.instagram.com/p/k', '2026-11-24 21:00:00');
INSERT INTO tasks (shortcode, user_id, created_at) VALUES ('CzLastDay', '87020990', '2026-11-24 22:00:00');
INSERT INTO insta_profile (username, full_name, follower_count, updated_at)
VALUES ('polrestabessurabaya', 'Polrestabes Surabaya', 120000, '2026-11-24 23:00:00');
INSERT INTO ig_ext_users (user_id, username) VALUES ('55', 'polrestabessurabaya');
INSERT INTO ig_ext_posts (post_id, shortcode, user_id, caption_text, created_at, like_count)
VALUES ('3300', 'CzLastDay', '55', 'Patroli malam', '2026-11-24 23:59:59', 87);
INSERT INTO ig_post_comments (comment_id, post_id, user_id, text, created_at)
VALUES ('9001', '3300', '55', 'mantap', '2026-11-25 00:01:00');
INSERT INTO dashboard_user (dashboard_user_id, username, password_hash, role_id, whatsapp, premium_status, premium_expires_at, created_at, updated_at)
SELECT '0b7e6f3c-9a1d-4f7e-8a53-6c1d2e3f4a5b'::uuid, 'operator_sby', crypt('rahasia-lama-1', gen_salt('bf', 4)), role_id,
       '6281200000001', true, '2026-12-31 23:59:59+07'::timestamptz, '2025-01-10 08:00:00'::timestamp, '2026-11-24 23:45:00'::timestamp
FROM roles WHERE role_name = 'operator'
UNION ALL
SELECT 'c1d2e3f4-0000-4000-8000-000000000002'::uuid, 'admin_binmas', crypt('Binmas#2024', gen_salt('bf', 4)), role_id,
       NULL, false, NULL, '2024-06-01 07:00:00', '2024-06-01 07:00:00'
FROM roles WHERE role_name = 'ditbinmas';
INSERT INTO dashboard_user_clients (dashboard_user_id, client_id)
VALUES ('0b7e6f3c-9a1d-4f7e-8a53-6c1d2e3f4a5b', 'POLRES_SBY'), ('c1d2e3f4-0000-4000-8000-000000000002', 'DITBINMAS');
INSERT INTO dashboard_premium_request (dashboard_user_id, client_id, username, bank_name, account_number, sender_name, transfer_amount, premium_tier, status, created_at)
VALUES ('0b7e6f3c-9a1d-4f7e-8a53-6c1d2e3f4a5b', 'POLRES_SBY', 'operator_sby', 'BRI', '0123456789', 'ANDI', 150000, 'basic', 'pending', '2026-11-24 17:00:00+00');
INSERT INTO premium_request (user_id, sender_name, account_number, bank_name, screenshot_url, status, created_at, updated_at)
VALUES ('87020990', 'ANDI SAPUTRA', '1234', 'BCA', 'https://x/s.png', 'pending', '2026-11-24 23:59:00', '2026-11-25 00:01:00'),
       ('88010101', 'SITI', '5678', 'Mandiri', NULL, 'approved', '2026-10-01 12:00:00', '2026-10-02 12:00:00');
INSERT INTO penmas_user (user_id, username, password_hash, role, created_at, updated_at)
VALUES ('p1', 'penmas1', crypt('penmas-lama', gen_salt('bf', 4)), 'penulis', '2025-05-05 05:05:05', '2025-05-06 06:06:06');
INSERT INTO editorial_event (event_date, topic, assignee, created_by, updated_by, created_at, last_update)
VALUES ('2026-11-25 00:00:00', 'Hari Bhayangkara', 'p1', 'p1', 'p1', '2026-11-20 10:00:00', '2026-11-24 23:59:59');
INSERT INTO approval_request (event_id, requested_by, created_at, updated_at)
SELECT event_id, 'p1', '2026-11-21 10:00:00', '2026-11-21 11:00:00' FROM editorial_event;
INSERT INTO change_log (event_id, user_id, status, changes, logged_at)
SELECT event_id, 'p1', 'draft', 'judul', '2026-11-21 10:05:00' FROM editorial_event;
INSERT INTO login_log (actor_id, login_type, login_source, logged_at)
VALUES ('operator_sby', 'operator', 'web', '2026-11-24 23:58:00');
INSERT INTO saved_contact (phone_number, resource_name, created_at)
VALUES ('6281234500001', 'people/c1', '2026-01-01 00:00:00');
INSERT INTO visitor_logs (ip, user_agent, visited_at) VALUES ('10.0.0.1', 'Mozilla', '2026-11-25 00:00:00');
INSERT INTO insta_like_audit (shortcode, usernames, snapshot_window_start, snapshot_window_end)
VALUES ('CzLastDay', '["andi.sap"]', '2026-11-24 16:30+00', '2026-11-24 17:00+00');
UPDATE cron_job_config SET is_active = false WHERE job_key = './src/cron/cronDbBackup.js';
"#;

/// Every legacy table's rows as JSON objects (session zone UTC), sorted. A converted column
/// still naive is rendered as the instant it means (its zone applied), so a snapshot taken
/// before the upgrade compares equal to one taken after exactly when every instant is kept.
async fn snapshot(url: &str) -> BTreeMap<String, Vec<Value>> {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    sqlx::query("SET TimeZone = 'UTC'")
        .execute(&mut conn)
        .await
        .expect("set zone");
    let mut out = BTreeMap::new();
    for t in takeover::legacy_tables() {
        let naive: Vec<String> = sqlx::query_scalar(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0
             AND NOT attisdropped AND atttypid = 'timestamp without time zone'::regtype",
        )
        .bind(format!("public.{}", q(&t)))
        .fetch_all(&mut conn)
        .await
        .expect("columns");
        let overrides: Vec<String> = CONVERTED
            .iter()
            .filter(|(ct, cc, _)| *ct == t && naive.iter().any(|n| n == cc))
            .map(|(_, c, z)| format!("'{c}', to_jsonb(x.{} AT TIME ZONE '{z}')", q(c)))
            .collect();
        let expr = if overrides.is_empty() {
            "to_jsonb(x)".to_string()
        } else {
            format!(
                "to_jsonb(x) || jsonb_build_object({})",
                overrides.join(", ")
            )
        };
        let mut rows: Vec<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {expr} FROM public.{} x",
            q(&t)
        )))
        .fetch_all(&mut conn)
        .await
        .expect("rows");
        rows.sort_by_key(|r| r.to_string());
        out.insert(t, rows);
    }
    out
}

/// Drops from `after` the columns `before` did not have (insta_post.like_count).
fn without_new_columns(
    before: &BTreeMap<String, Vec<Value>>,
    mut after: BTreeMap<String, Vec<Value>>,
) -> BTreeMap<String, Vec<Value>> {
    for (t, rows) in after.iter_mut() {
        let Some(first) = before.get(t).and_then(|r| r.first()) else {
            continue;
        };
        let keys: BTreeSet<String> = first
            .as_object()
            .expect("row object")
            .keys()
            .cloned()
            .collect();
        for r in rows.iter_mut() {
            r.as_object_mut()
                .expect("row object")
                .retain(|k, _| keys.contains(k));
        }
    }
    after
}

/// The schema as the catalog describes it: relations, columns (type, nullability, default),
/// constraints, indexes, triggers, in schemas public and cicero; plus the migration history.
async fn catalog(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT format('rel %s.%s %s', n.nspname, c.relname, c.relkind)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname IN ('public', 'cicero', 'apalis')
         UNION ALL
         SELECT format('col %s.%s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                       a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE n.nspname IN ('public', 'cicero') AND c.relkind IN ('r', 'p', 'v') AND a.attnum > 0
            AND NOT a.attisdropped
         UNION ALL
         SELECT format('con %s.%s %s', r.relname, k.conname, pg_get_constraintdef(k.oid))
           FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid
           JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname IN ('public', 'cicero')
         UNION ALL
         SELECT format('idx %s', pg_get_indexdef(i.indexrelid))
           FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'cicero')
         UNION ALL
         SELECT format('trg %s', pg_get_triggerdef(t.oid))
           FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname IN ('public', 'cicero') AND NOT t.tgisinternal
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("catalog")
}

#[tokio::test]
async fn a_legacy_database_is_taken_over_without_losing_a_row() {
    let db = Scratch::legacy().await;
    db.exec(LEGACY_ROWS).await;
    let before = snapshot(&db.url).await;
    let catalog_before = catalog(&db.pool).await;

    // Detection and the dry run: a legacy database, every migration pending, the tables 0004 rewrites.
    let plan = takeover::plan(&db.pool).await.expect("plan");
    assert_eq!(
        plan.state,
        DbState::Legacy {
            missing_tables: vec![],
            other_tables: vec![]
        }
    );
    assert_eq!(
        plan.pending.iter().map(|p| p.0).collect::<Vec<_>>(),
        sqlx::migrate!("./migrations")
            .iter()
            .map(|m| m.version)
            .collect::<Vec<_>>()
    );
    assert_eq!(plan.missing_columns, vec!["insta_post.like_count"]);
    let insta = plan
        .rewrites
        .iter()
        .find(|r| r.table == "insta_post")
        .expect("insta_post is rewritten");
    assert_eq!(insta.rows, 4);
    assert_eq!(
        insta.columns,
        vec![("created_at".to_string(), "Asia/Jakarta".to_string())]
    );
    assert_eq!(
        plan.rewrites.iter().map(|r| r.columns.len()).sum::<usize>(),
        CONVERTED.len()
    );
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let out = db.cicero(&["migrate", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for want in [
        "legacy Cicero_V2 schema",
        "0004 legacy timestamps",
        "ACCESS EXCLUSIVE",
        "insta_post.like_count",
        "tiktok_post",
        "created_at as UTC",
        "estimate:",
        "nothing was changed",
    ] {
        assert!(text.contains(want), "dry run lacks {want:?}:\n{text}");
    }
    assert_eq!(
        catalog(&db.pool).await,
        catalog_before,
        "dry run changed the schema"
    );
    assert_eq!(snapshot(&db.url).await, before, "dry run changed rows");

    // The upgrade, through the CLI.
    let out = db.cicero(&["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("applied 0001, 0002, 0003, 0004"), "{text}");

    // Every row of every legacy table, and every converted instant, is what it was.
    let after = snapshot(&db.url).await;
    assert_eq!(before, without_new_columns(&before, after));
    assert_eq!(
        db.count(
            "SELECT count(*) FROM pg_attribute WHERE attnum > 0 AND NOT attisdropped
               AND atttypid = 'timestamp without time zone'::regtype
               AND attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)"
        )
        .await,
        0,
        "no naive timestamp left"
    );
    // Around Jakarta midnight: Instagram's naive times were Jakarta wall time, TikTok's UTC.
    for (sql, want) in [
        (
            "SELECT count(*) FROM insta_post WHERE shortcode = 'CzMidnight' AND created_at = '2026-11-24 17:00:00+00'",
            1,
        ),
        (
            "SELECT count(*) FROM insta_post WHERE shortcode = 'CzLastDay' AND created_at = '2026-11-24 16:59:59+00'",
            1,
        ),
        (
            "SELECT count(*) FROM tiktok_post WHERE video_id = '7441000000000000002' AND created_at = '2026-11-25 00:00:00+07'",
            1,
        ),
        (
            "SELECT count(*) FROM tiktok_post WHERE (created_at AT TIME ZONE 'Asia/Jakarta')::date = '2026-11-25'",
            2,
        ),
        (
            "SELECT count(*) FROM insta_post WHERE (created_at AT TIME ZONE 'Asia/Jakarta')::date = '2026-11-25'",
            2,
        ),
        (
            "SELECT count(*) FROM insta_post WHERE shortcode = 'CzNoTime' AND created_at IS NULL AND like_count IS NULL",
            1,
        ),
        // Old passwords still check against the untouched bcrypt hashes.
        (
            "SELECT count(*) FROM dashboard_user WHERE password_hash LIKE '$2a$%'
               AND ((username = 'operator_sby' AND crypt('rahasia-lama-1', password_hash) = password_hash)
                 OR (username = 'admin_binmas' AND crypt('Binmas#2024', password_hash) = password_hash))",
            2,
        ),
        (
            "SELECT count(*) FROM cron_job_config WHERE NOT is_active",
            1,
        ),
        ("SELECT count(*) FROM cicero.jobs", 0),
    ] {
        assert_eq!(db.count(sql).await, want, "{sql}");
    }
    let passwords: Vec<String> = before["dashboard_user"]
        .iter()
        .map(|r| r["password_hash"].as_str().expect("hash").to_string())
        .collect();
    let after_hashes: Vec<String> =
        sqlx::query_scalar("SELECT password_hash FROM dashboard_user ORDER BY password_hash")
            .fetch_all(&db.pool)
            .await
            .expect("hashes");
    let mut sorted = passwords.clone();
    sorted.sort();
    assert_eq!(after_hashes, sorted, "bcrypt hashes byte for byte");

    // A second migrate is a no-op.
    let catalog_after = catalog(&db.pool).await;
    let rows_after = snapshot(&db.url).await;
    let out = db.cicero(&["migrate"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nothing to apply"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(catalog(&db.pool).await, catalog_after);
    assert_eq!(snapshot(&db.url).await, rows_after);
    let plan = takeover::plan(&db.pool).await.expect("plan");
    assert!(
        matches!(plan.state, DbState::Ours { .. }),
        "{:?}",
        plan.state
    );
    assert!(plan.pending.is_empty());
    db.drop_db().await;
}

#[tokio::test]
async fn an_empty_database_and_a_taken_over_one_end_with_the_same_schema() {
    let legacy = Scratch::legacy().await;
    let out = takeover::migrate(&legacy.pool).await.expect("take over");
    assert!(matches!(out.state, DbState::Legacy { .. }));
    let fresh = Scratch::new().await;
    let out = takeover::migrate(&fresh.pool).await.expect("fresh");
    assert_eq!(out.state, DbState::Empty);
    let (a, b) = (catalog(&legacy.pool).await, catalog(&fresh.pool).await);
    let only_a: Vec<_> = a.iter().filter(|x| !b.contains(x)).collect();
    let only_b: Vec<_> = b.iter().filter(|x| !a.contains(x)).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "taken over only: {only_a:#?}\nfresh only: {only_b:#?}"
    );
    // The template every other test uses went through the same path.
    let ours = TestDb::new().await;
    assert_eq!(catalog(&ours.pool).await, b);
    ours.drop_db().await;
    legacy.drop_db().await;
    fresh.drop_db().await;
}

#[tokio::test]
async fn a_failure_midway_leaves_the_legacy_database_as_it_was() {
    let db = Scratch::legacy().await;
    db.exec(LEGACY_ROWS).await;
    // A unit's own reporting view on a column 0004 converts: PostgreSQL refuses to change the
    // column's type, so the upgrade fails in its last migration, after 0001-0003 and the
    // conversion of the tables before insta_post ran.
    db.exec(
        "CREATE VIEW laporan_harian AS
           SELECT client_id, created_at::date AS hari, count(*) FROM insta_post GROUP BY 1, 2",
    )
    .await;
    let before = snapshot(&db.url).await;
    let catalog_before = catalog(&db.pool).await;

    let plan = takeover::plan(&db.pool).await.expect("plan");
    assert!(
        plan.blockers
            .iter()
            .any(|b| b.contains("laporan_harian") && b.contains("insta_post.created_at")),
        "{:?}",
        plan.blockers
    );
    assert!(plan.render().contains("BLOCKERS"));

    let err = takeover::migrate(&db.pool)
        .await
        .expect_err("the view blocks the upgrade");
    let msg = format!("{err:#}");
    assert!(msg.contains("rolled back"), "{msg}");
    assert!(
        msg.contains("laporan_harian") || msg.contains("view"),
        "{msg}"
    );
    let out = db.cicero(&["migrate"]);
    assert_eq!(out.status.code(), Some(1));

    assert_eq!(catalog(&db.pool).await, catalog_before, "schema changed");
    assert_eq!(snapshot(&db.url).await, before, "rows changed");
    assert_eq!(
        db.count("SELECT count(*) FROM pg_namespace WHERE nspname IN ('cicero', 'apalis')")
            .await,
        0
    );
    assert_eq!(
        db.count("SELECT count(*) FROM pg_class WHERE relname = '_sqlx_migrations'")
            .await,
        0
    );

    // Once the unit drops its view, the same upgrade goes through.
    db.exec("DROP VIEW laporan_harian").await;
    takeover::migrate(&db.pool).await.expect("upgrade");
    assert_eq!(
        before,
        without_new_columns(&before, snapshot(&db.url).await)
    );
    db.drop_db().await;
}

#[tokio::test]
async fn rows_violating_a_key_the_upgrade_adds_fail_it_and_change_nothing() {
    let db = Scratch::legacy().await;
    db.exec(LEGACY_ROWS).await;
    // An older legacy release without the unique username of dashboard users, holding two
    // accounts with the same name: 0001 adds the missing column like_count, then fails on the
    // key; nothing of it may remain.
    db.exec(
        "ALTER TABLE dashboard_user DROP CONSTRAINT dashboard_user_username_key;
         INSERT INTO dashboard_user (username, password_hash, role_id)
         SELECT 'operator_sby', crypt('lain', gen_salt('bf', 4)), role_id FROM roles WHERE role_name = 'operator';",
    )
    .await;
    let before = snapshot(&db.url).await;
    let catalog_before = catalog(&db.pool).await;
    let out = db.cicero(&["migrate"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("rolled back"), "{err}");
    assert!(err.contains("dashboard_user_username_key"), "{err}");
    assert_eq!(catalog(&db.pool).await, catalog_before, "schema changed");
    assert_eq!(snapshot(&db.url).await, before, "rows changed");
    assert_eq!(
        db.count(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'insta_post'::regclass AND attname = 'like_count'"
        )
        .await,
        0
    );
    // Once the unit removes the duplicate, the upgrade goes through.
    db.exec(
        "DELETE FROM dashboard_user WHERE username = 'operator_sby'
           AND dashboard_user_id <> '0b7e6f3c-9a1d-4f7e-8a53-6c1d2e3f4a5b'",
    )
    .await;
    let out = db.cicero(&["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM pg_constraint WHERE conname = 'dashboard_user_username_key'"
        )
        .await,
        1
    );
    db.drop_db().await;
}

#[tokio::test]
async fn an_unknown_database_is_refused_and_left_alone() {
    let db = Scratch::new().await;
    db.exec("CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1);")
        .await;
    for args in [&["migrate"][..], &["migrate", "--dry-run"][..]] {
        let out = db.cicero(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("refusing to migrate"), "{err}");
        assert!(err.contains("orders"), "{err}");
    }
    assert_eq!(
        db.count("SELECT count(*) FROM pg_namespace WHERE nspname IN ('cicero', 'apalis')")
            .await,
        0
    );
    // Half a legacy database (tables of the legacy names, the core ones missing) is refused too.
    db.exec("CREATE TABLE clients (client_id varchar PRIMARY KEY, nama varchar)")
        .await;
    let out = db.cicero(&["migrate"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("partial legacy"), "{err}");
    assert!(err.contains("insta_post.shortcode"), "{err}");
    let err = takeover::migrate(&db.pool).await.expect_err("refused");
    assert!(err.downcast_ref::<takeover::Refused>().is_some());
    assert_eq!(
        db.count("SELECT count(*) FROM pg_class WHERE relname = '_sqlx_migrations'")
            .await,
        0
    );
    db.drop_db().await;
}

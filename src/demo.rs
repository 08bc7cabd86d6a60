//! Offline demo data for the embedded default (`cicero demo`): a Polda and two Polres with a
//! few personnel, in the legacy tables, plus a diagnostic job. Idempotent. The demo provider
//! (`crate::ingest::demo`, `PROVIDER=demo`) makes these people like and comment.
use sqlx::PgPool;

use crate::platform::jobs::{self, NewJob};

/// One member of the demo personnel.
pub struct DemoPerson {
    pub user_id: &'static str,
    pub nama: &'static str,
    pub title: &'static str,
    pub divisi: &'static str,
    pub jabatan: &'static str,
    pub insta: &'static str,
    pub tiktok: &'static str,
    pub client_id: &'static str,
}

// One positional row per person keeps the table below readable.
#[allow(clippy::too_many_arguments)]
const fn person(
    user_id: &'static str,
    nama: &'static str,
    title: &'static str,
    divisi: &'static str,
    jabatan: &'static str,
    insta: &'static str,
    tiktok: &'static str,
    client_id: &'static str,
) -> DemoPerson {
    DemoPerson {
        user_id,
        nama,
        title,
        divisi,
        jabatan,
        insta,
        tiktok,
        client_id,
    }
}

pub const PERSONNEL: &[DemoPerson] = &[
    person(
        "90010001",
        "ANDI SAPUTRA",
        "BRIPTU",
        "SAT BINMAS",
        "BANIT",
        "andi.demo",
        "@andi.demo",
        "DEMO_POLRES_A",
    ),
    person(
        "90010002",
        "SITI RAHMA",
        "BRIPDA",
        "SI HUMAS",
        "BAMIN",
        "siti.demo",
        "@siti.demo",
        "DEMO_POLRES_A",
    ),
    person(
        "90010003",
        "DEWI LESTARI",
        "AIPTU",
        "SAT LANTAS",
        "KANIT",
        "dewi.demo",
        "@dewi.demo",
        "DEMO_POLRES_A",
    ),
    person(
        "90020001",
        "BUDI HARTONO",
        "AIPDA",
        "POLSEK KOTA",
        "KANIT",
        "budi.demo",
        "@budi.demo",
        "DEMO_POLRES_B",
    ),
    person(
        "90020002",
        "RUDI HIDAYAT",
        "BRIGPOL",
        "SAT SAMAPTA",
        "BANIT",
        "rudi.demo",
        "@rudi.demo",
        "DEMO_POLRES_B",
    ),
    person(
        "90020003",
        "MAYA ANGGRAINI",
        "IPDA",
        "BAG OPS",
        "KASUBBAG",
        "maya.demo",
        "@maya.demo",
        "DEMO_POLRES_B",
    ),
];

pub async fn load(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO clients (client_id, nama, client_type, client_status, client_insta, client_tiktok, regional_id)
         VALUES ('DEMO_POLDA', 'Polda Demo', 'direktorat', true, 'polda.demo', 'polda.demo', 'DEMO'),
                ('DEMO_POLRES_A', 'Polres Demo A', 'org', true, 'polres.demo.a', 'polres.demo.a', 'DEMO'),
                ('DEMO_POLRES_B', 'Polres Demo B', 'org', true, 'polres.demo.b', 'polres.demo.b', 'DEMO')
         ON CONFLICT (client_id) DO NOTHING",
    )
    .execute(&mut *tx)
    .await?;
    for p in PERSONNEL {
        sqlx::query(
            r#"INSERT INTO "user" (user_id, nama, title, divisi, jabatan, insta, tiktok, client_id, status)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true)
               ON CONFLICT (user_id) DO NOTHING"#,
        )
        .bind(p.user_id)
        .bind(p.nama)
        .bind(p.title)
        .bind(p.divisi)
        .bind(p.jabatan)
        .bind(p.insta)
        .bind(p.tiktok)
        .bind(p.client_id)
        .execute(&mut *tx)
        .await?;
    }
    let mut ping = NewJob::new("ping", serde_json::json!({ "message": "demo data loaded" }));
    ping.unique_key = Some("demo:hello".into());
    jobs::enqueue(&mut *tx, &ping).await?;
    tx.commit().await?;
    Ok(())
}

/// Runs today's social ingestion of every demo-eligible client in this process with the
/// offline demo provider (whatever `PROVIDER` says: this command is the demo), so the
/// tables hold posts and engagement right after `cicero demo`. Returns one line per step.
pub async fn ingest(pool: &PgPool) -> anyhow::Result<Vec<String>> {
    ingest_at(pool, chrono::Utc::now()).await
}

/// [`ingest`] at a given instant (tests pin the clock).
pub async fn ingest_at(
    pool: &PgPool,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<String>> {
    use crate::ingest::{demo::DemoSource, rules, store};
    use crate::work::{fetch_posts, refresh_engagement};
    let source = DemoSource { at: Some(now) };
    let mut lines = Vec::new();
    for c in store::clients(pool).await? {
        if !c.client_id.starts_with("DEMO_") {
            continue;
        }
        for platform in rules::sweep_platforms(&c) {
            let f = fetch_posts::fetch(pool, &source, &c.client_id, platform, now)
                .await
                .map_err(|e| anyhow::anyhow!("{} {}: {e}", c.client_id, platform.as_str()))?;
            let r = refresh_engagement::refresh(pool, &source, &c.client_id, platform, now)
                .await
                .map_err(|e| anyhow::anyhow!("{} {}: {e}", c.client_id, platform.as_str()))?;
            lines.push(format!(
                "{} {}: {} posts today ({} new), {} engagers added",
                c.client_id,
                platform.as_str(),
                f["today"],
                f["new"],
                r["added"]
            ));
        }
    }
    Ok(lines)
}

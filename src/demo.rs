//! Offline demo data for the embedded default (`cicero demo`): a Polda and two Polres with a
//! few personnel, in the legacy tables, plus a diagnostic job. Idempotent.
use sqlx::PgPool;

use crate::platform::jobs::{self, NewJob};

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
    sqlx::query(
        r#"INSERT INTO "user" (user_id, nama, title, divisi, jabatan, insta, tiktok, client_id, status)
           VALUES ('90010001', 'ANDI SAPUTRA', 'BRIPTU', 'SAT BINMAS', 'BANIT', 'andi.demo', '@andi.demo', 'DEMO_POLRES_A', true),
                  ('90010002', 'SITI RAHMA', 'BRIPDA', 'SI HUMAS', 'BAMIN', 'siti.demo', '@siti.demo', 'DEMO_POLRES_A', true),
                  ('90020001', 'BUDI HARTONO', 'AIPDA', 'POLSEK KOTA', 'KANIT', 'budi.demo', '@budi.demo', 'DEMO_POLRES_B', true)
           ON CONFLICT (user_id) DO NOTHING"#,
    )
    .execute(&mut *tx)
    .await?;
    let mut ping = NewJob::new("ping", serde_json::json!({ "message": "demo data loaded" }));
    ping.unique_key = Some("demo:hello".into());
    jobs::enqueue(&mut *tx, &ping).await?;
    tx.commit().await?;
    Ok(())
}

//! The directorate comments digest (the §3.2 dirRequest crons' TikTok recap) end-to-end on a
//! real PostgreSQL: seeded TikTok posts and comments → `send_digest` → `whatsapp_send` → outbox.
mod common;

use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use cicero::{
    domain::{
        recap::RecapClock,
        time::{jakarta_day, jakarta_day_window},
    },
    platform::worker,
};
use common::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directorate_comments_digest_ranks_polres_and_goes_to_the_super_admins() {
    let db = TestDb::new().await;
    let (start_of_day, _) = jakarta_day_window(jakarta_day(chrono::Utc::now())).expect("window");
    let sql = [
        "INSERT INTO clients (client_id, nama, client_type, client_tiktok, client_super, client_group) VALUES
            ('DITBINMAS', 'DIREKTORAT BINMAS', 'direktorat', '@DitBinmas', '0812-1111-2222', '120363000000000002@g.us'),
            ('POLRES_A', 'POLRES ALPHA', 'org', NULL, NULL, NULL), ('POLRES_C', 'POLRES CHARLIE', 'org', NULL, NULL, NULL)",
        "INSERT INTO roles (role_name) VALUES ('ditbinmas') ON CONFLICT DO NOTHING",
        "INSERT INTO \"user\" (user_id, nama, title, tiktok, client_id) VALUES
            ('d1', 'DEDI', 'AKBP', '@dit1', 'DITBINMAS'), ('a1', 'AMIR', 'AKP', 'a1', 'POLRES_A'),
            ('a2', 'ANTO', 'IPTU', '@A2', 'POLRES_A'), ('c1', 'CICI', 'BRIPDA', NULL, 'POLRES_C'),
            ('x1', 'XENA', 'BRIPDA', 'a1', 'POLRES_C')",
        "INSERT INTO user_roles (user_id, role_id) SELECT u, (SELECT role_id FROM roles WHERE role_name = 'ditbinmas') FROM unnest(ARRAY['d1','a1','a2','c1']) u",
    ];
    for s in sql {
        sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
            .execute(&db.pool)
            .await
            .expect(s);
    }
    // 3 videos: ceil(3/2) = 2 comments is "lengkap".
    for (id, hours, comments) in [
        ("V1", 1, json!(["@dit1", "@a1", "@a2"])),
        ("V2", 2, json!(["@dit1"])),
        ("V3", 3, json!(["@a2", "@stranger"])),
    ] {
        sqlx::query("INSERT INTO tiktok_post (video_id, client_id, created_at) VALUES ($1, 'DITBINMAS', $2)")
            .bind(id)
            .bind(start_of_day + chrono::Duration::hours(hours))
            .execute(&db.pool)
            .await
            .expect("post");
        sqlx::query("INSERT INTO tiktok_comment (video_id, comments) VALUES ($1, $2)")
            .bind(id)
            .bind(comments)
            .execute(&db.pool)
            .await
            .expect("comments");
    }
    // What the `ditbinmas_super_daily_comments` cron entry enqueues.
    let id = db
        .enqueue(
            "send_digest",
            json!({"client_id": "DITBINMAS", "report": "directorate_comments", "slot": "18:20", "recipients": ["super"]}),
        )
        .await;
    let stop = CancellationToken::new();
    let task = tokio::spawn(worker::run(
        db.ctx(&[]),
        vec!["messaging".into(), "whatsapp".into()],
        stop.clone(),
    ));
    db.wait_state(id, "done", 30).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent: i64 =
            sqlx::query_scalar("SELECT count(*) FROM cicero.wa_outbox WHERE status = 'sent'")
                .fetch_one(&db.pool)
                .await
                .expect("count");
        if sent == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the message"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    task.await.expect("join").expect("worker ran cleanly");

    let (chat, text): (String, String) =
        sqlx::query_as("SELECT chat_id, text FROM cicero.wa_outbox")
            .fetch_one(&db.pool)
            .await
            .expect("row");
    assert_eq!(chat, "6281211112222@c.us", "to the super admin only");
    let c = RecapClock::at(chrono::Utc::now());
    let jam = text
        .lines()
        .find_map(|l| l.strip_prefix("Jam: "))
        .expect("a Jam line")
        .to_string();
    let want = format!(
        "Mohon ijin Komandan,

📋 Rekap Akumulasi Komentar TikTok
*DIREKTORAT BINMAS
{}*, {}
Jam: {jam}

*Jumlah Konten :* 3
*Daftar Link Konten :*
https://www.tiktok.com/@ditbinmas/video/V1
https://www.tiktok.com/@ditbinmas/video/V2
https://www.tiktok.com/@ditbinmas/video/V3

*Jumlah Total Personil :* 4 pers
✅ *Sudah melaksanakan :* 3 pers
- ✅ Melaksanakan lengkap : 2 pers
- ⚠️ Melaksanakan kurang lengkap : 1 pers
❌ *Belum melaksanakan :* 1 pers
⚠️❌ *Belum Update Username TikTok :* 1 pers

1. DIREKTORAT BINMAS
*Jumlah Personil :* 1 pers
*Sudah Melaksanakan :* 1 pers
- Melaksanakan lengkap : 1 pers
- Melaksanakan kurang lengkap : 0 pers
*Belum melaksanakan :* 0 pers
*Belum Update Username TikTok :* 0 pers

2. POLRES ALPHA
*Jumlah Personil :* 2 pers
*Sudah Melaksanakan :* 2 pers
- Melaksanakan lengkap : 1 pers
- Melaksanakan kurang lengkap : 1 pers
*Belum melaksanakan :* 0 pers
*Belum Update Username TikTok :* 0 pers

3. POLRES CHARLIE
*Jumlah Personil :* 1 pers
*Sudah Melaksanakan :* 0 pers
- Melaksanakan lengkap : 0 pers
- Melaksanakan kurang lengkap : 0 pers
*Belum melaksanakan :* 1 pers
*Belum Update Username TikTok :* 1 pers",
        c.hari, c.tanggal,
    );
    assert_eq!(text, want);
    db.drop_db().await;
}

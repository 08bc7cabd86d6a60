//! `cicero migrate` is idempotent and upgrades a legacy database in place.
mod common;

use common::TestDb;

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let db = TestDb::new().await;
    let before: i64 = db.count("SELECT count(*) FROM _sqlx_migrations").await;
    cicero::platform::migrate(&db.pool)
        .await
        .expect("second migrate");
    assert_eq!(
        db.count("SELECT count(*) FROM _sqlx_migrations").await,
        before
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_legacy_database_with_data_is_upgraded_in_place() {
    let db = TestDb::new().await;
    // Turn the test database into a legacy one: only the legacy schema, no migration history.
    sqlx::raw_sql(
        "DROP SCHEMA cicero CASCADE; DROP SCHEMA apalis CASCADE; DROP TABLE _sqlx_migrations;
                   ALTER TABLE insta_post DROP COLUMN like_count;
                   ALTER TABLE insta_post ALTER COLUMN created_at TYPE timestamp;
                   ALTER TABLE tiktok_post ALTER COLUMN created_at TYPE timestamp;",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::raw_sql(
        r#"INSERT INTO clients (client_id, nama, client_type) VALUES ('POLRES_X', 'Polres X', 'org');
           INSERT INTO "user" (user_id, nama, client_id) VALUES ('123', 'ANDI', 'POLRES_X');
           INSERT INTO insta_post (shortcode, client_id, caption, created_at) VALUES ('abc', 'POLRES_X', 'hi', '2026-11-24 08:00');
           INSERT INTO tiktok_post (video_id, client_id, caption, created_at) VALUES ('v1', 'POLRES_X', 'tt', '2026-11-24 17:30');
           UPDATE cron_job_config SET is_active = false WHERE job_key = './src/cron/cronDbBackup.js';"#,
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let off_before = db
        .count("SELECT count(*) FROM cron_job_config WHERE NOT is_active")
        .await;
    cicero::platform::migrate(&db.pool)
        .await
        .expect("upgrade in place");
    assert_eq!(
        db.count(r#"SELECT count(*) FROM "user" WHERE user_id = '123' AND client_id = 'POLRES_X'"#)
            .await,
        1
    );
    assert_eq!(db.count("SELECT count(*) FROM insta_post WHERE shortcode = 'abc' AND caption = 'hi' AND like_count IS NULL").await, 1);
    // Naive legacy times keep their instant: Instagram's were Jakarta wall time, TikTok's UTC.
    assert_eq!(
        db.count("SELECT count(*) FROM insta_post WHERE created_at = '2026-11-24 01:00+00'")
            .await,
        1
    );
    assert_eq!(
        db.count("SELECT count(*) FROM tiktok_post WHERE created_at = '2026-11-25 00:30+07'")
            .await,
        1
    );
    assert_eq!(
        db.count("SELECT count(*) FROM cron_job_config WHERE NOT is_active")
            .await,
        off_before,
        "seeds never overwrite"
    );
    assert_eq!(db.count("SELECT count(*) FROM cicero.jobs").await, 0);
    db.drop_db().await;
}

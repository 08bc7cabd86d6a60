//! Per-client pause: while a `client_id` is in `cicero.paused_clients` (migration 0011), the
//! claim statement (`queue::claim`) skips every pending job whose payload has that
//! `client_id`, in every queue and every process, including jobs enqueued during the pause.
//! Running jobs finish; jobs already claimed into a process's buffer still run.
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

/// The longest client id accepted (legacy ids are short codes such as `POLRES_KEDIRI`).
pub const MAX_CLIENT_ID: usize = 100;

/// A client id as given in a path: trimmed, non-empty, at most [`MAX_CLIENT_ID`] characters,
/// no control characters. Payloads are matched exactly, so nothing else is changed.
pub fn client_id(raw: &str) -> Result<&str, String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err("client_id is empty".into());
    }
    if id.chars().count() > MAX_CLIENT_ID {
        return Err(format!(
            "client_id is longer than {MAX_CLIENT_ID} characters"
        ));
    }
    if id.chars().any(char::is_control) {
        return Err("client_id contains control characters".into());
    }
    Ok(id)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PausedClient {
    pub client_id: String,
    pub paused_at: DateTime<Utc>,
    pub paused_by: String,
    /// Its pending jobs, across queues (what the pause holds back).
    pub pending_jobs: i64,
}

const SELECT: &str = "SELECT p.client_id, p.paused_at, p.paused_by,
        (SELECT count(*) FROM cicero.jobs j
          WHERE j.state = 'pending' AND j.payload->>'client_id' = p.client_id) AS pending_jobs
   FROM cicero.paused_clients p";

/// Pauses a client (again: keeps the first pause's time and actor). Returns it.
pub async fn pause(pool: &PgPool, client_id: &str, by: &str) -> Result<PausedClient, sqlx::Error> {
    sqlx::query(
        "INSERT INTO cicero.paused_clients (client_id, paused_by) VALUES ($1, $2)
         ON CONFLICT (client_id) DO NOTHING",
    )
    .bind(client_id)
    .bind(by)
    .execute(pool)
    .await?;
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE p.client_id = $1"
    )))
    .bind(client_id)
    .fetch_one(pool)
    .await
}

/// Resumes a client: `true` if it was paused. Wakes every queue's fetchers, as its jobs may
/// be anywhere.
pub async fn resume(pool: &PgPool, client_id: &str) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM cicero.paused_clients WHERE client_id = $1")
        .bind(client_id)
        .execute(pool)
        .await?
        .rows_affected();
    if removed > 0 {
        super::worker::wake_all_queues(pool).await?;
    }
    Ok(removed > 0)
}

/// Every paused client, oldest pause first.
pub async fn list(pool: &PgPool) -> Result<Vec<PausedClient>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} ORDER BY p.paused_at, p.client_id"
    )))
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_trimmed_and_bounded() {
        let long = "X".repeat(MAX_CLIENT_ID + 1);
        let max = "X".repeat(MAX_CLIENT_ID);
        let cases: [(&str, Result<&str, &str>); 6] = [
            ("POLRES_KEDIRI", Ok("POLRES_KEDIRI")),
            ("  POLRES_KEDIRI ", Ok("POLRES_KEDIRI")),
            ("", Err("client_id is empty")),
            ("   ", Err("client_id is empty")),
            ("A\nB", Err("client_id contains control characters")),
            (&long, Err("client_id is longer than 100 characters")),
        ];
        for (raw, want) in cases {
            assert_eq!(client_id(raw), want.map_err(String::from), "{raw:?}");
        }
        assert_eq!(client_id(&max), Ok(max.as_str()));
    }
}

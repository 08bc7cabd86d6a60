//! Redis connection: one multiplexed, auto-reconnecting [`ConnectionManager`] per process,
//! cloned into whoever needs it (dashboard sessions, login counters, request dedup).
pub use ::redis::aio::ConnectionManager;

/// Connects to `REDIS_URL`; fails at start-up with the URL's problem named.
pub async fn connect(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = ::redis::Client::open(url)
        .map_err(|e| anyhow::anyhow!("REDIS_URL {url:?} is not usable: {e}"))?;
    ConnectionManager::new(client)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {url} (REDIS_URL): {e}"))
}

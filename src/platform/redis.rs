//! Redis for features that keep short-lived state (OTP codes first): one lazily opened,
//! auto-reconnecting connection per process, and a key prefix (`REDIS_PREFIX`) so several
//! deployments or test runs can share a server.

use tokio::sync::OnceCell;

use crate::config::Settings;

pub struct Redis {
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
    prefix: String,
}

impl Redis {
    /// No I/O: the connection opens on first use (a Redis outage does not stop start-up).
    pub fn new(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        Ok(Redis {
            client: redis::Client::open(url)?,
            conn: OnceCell::new(),
            prefix: prefix.to_string(),
        })
    }

    pub fn from_settings(s: &Settings) -> Result<Self, redis::RedisError> {
        Self::new(&s.messaging.redis_url, &s.messaging.redis_prefix)
    }

    /// The process's store for these settings, so jobs share one connection instead of
    /// opening one each.
    pub fn shared(s: &Settings) -> Result<std::sync::Arc<Self>, redis::RedisError> {
        type Cached = ((String, String), std::sync::Arc<Redis>);
        static CACHE: std::sync::Mutex<Option<Cached>> = std::sync::Mutex::new(None);
        let key = (
            s.messaging.redis_url.clone(),
            s.messaging.redis_prefix.clone(),
        );
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((k, r)) = cache.as_ref()
            && *k == key
        {
            return Ok(r.clone());
        }
        let r = std::sync::Arc::new(Self::from_settings(s)?);
        *cache = Some((key, r.clone()));
        Ok(r)
    }

    /// A handle on the shared connection (cheap to clone; reconnects by itself).
    pub async fn conn(&self) -> Result<ConnectionManager, redis::RedisError> {
        self.conn
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()))
            .await
            .cloned()
    }

    /// `name` with this deployment's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

pub use ::redis::aio::ConnectionManager;

/// Connects eagerly (the dashboard's sessions, login counters and request dedup need Redis
/// from the first request); fails at start-up with the URL's problem named.
pub async fn connect(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = ::redis::Client::open(url)
        .map_err(|e| anyhow::anyhow!("REDIS_URL {url:?} is not usable: {e}"))?;
    ConnectionManager::new(client)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {url} (REDIS_URL): {e}"))
}

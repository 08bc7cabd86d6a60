//! The dashboard API in process: a router whose `Dashboard` keeps its Redis keys under the test
//! database's name (so tests run in parallel), and requests shaped like the dashboard's
//! (`fetchWithAuth`: JSON content type, `Origin`, bearer token).
use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, StatusCode},
};
use redis::AsyncCommands;
use serde_json::{Value, json};

use cicero::http::{AppState, dashboard::Dashboard, router};

use super::{TOKEN, TestDb};

pub const SECRET: &str = "test-jwt-secret-0123456789";
pub const ORIGIN: &str = "http://127.0.0.1:3001";
/// The password of every seeded dashboard account.
pub const PASSWORD: &str = "rahasia123";

/// The dashboard settings a test varies.
pub struct Options {
    /// `ALLOW_DUPLICATE_REQUESTS`: tests that repeat an identical POST turn the guard off.
    pub allow_duplicates: bool,
    pub max_attempts: u32,
    pub tiers: &'static [&'static str],
}

impl Default for Options {
    fn default() -> Self {
        Options {
            allow_duplicates: false,
            max_attempts: 10,
            tiers: &["tier1", "tier2", "premium_1"],
        }
    }
}

pub struct DashApp {
    pub db: TestDb,
    pub app: Router,
    /// Prefix of this test's Redis keys (`<database>:`).
    pub prefix: String,
    pub redis: redis::aio::ConnectionManager,
}

impl DashApp {
    /// A fresh database and the router; `state` adds what the test needs to the state
    /// (messaging, a provider, settings), given the database and the dashboard.
    pub async fn new(opts: Options, state: impl FnOnce(&TestDb, AppState) -> AppState) -> DashApp {
        Self::with_routes(opts, state, router).await
    }

    /// As [`DashApp::new`], with the router built by `routes` from the state (a test that adds
    /// routes the default router does not serve, e.g. the admin console's).
    pub async fn with_routes(
        opts: Options,
        state: impl FnOnce(&TestDb, AppState) -> AppState,
        routes: impl FnOnce(Arc<AppState>) -> Router,
    ) -> DashApp {
        let db = TestDb::new().await;
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let redis = cicero::platform::redis::connect(&url)
            .await
            .expect("Redis at REDIS_URL (scripts/test.sh starts one)");
        let prefix = format!("{}:", db.name);
        let dash = Dashboard {
            redis: redis.clone(),
            jwt_secret: SECRET.into(),
            cors_origins: vec![ORIGIN.into()],
            allow_duplicate_requests: opts.allow_duplicates,
            login_max_attempts: opts.max_attempts,
            premium_allowed_tiers: opts.tiers.iter().map(|t| t.to_string()).collect(),
            key_prefix: prefix.clone(),
        };
        let base = AppState::new(db.pool.clone(), TOKEN.into(), Vec::new()).with_dashboard(dash);
        let app = routes(Arc::new(state(&db, base)));
        DashApp {
            db,
            app,
            prefix,
            redis,
        }
    }

    /// One request as the dashboard sends it; `token` becomes the bearer.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut all = vec![("origin", ORIGIN)];
        all.extend(bearer.as_deref().map(|b| ("authorization", b)));
        all.extend_from_slice(headers);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        super::send(&self.app, method, uri, body, &all).await
    }

    pub async fn get(&self, uri: &str, token: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.call("GET", uri, Some(token), None, &[]).await;
        (s, b)
    }

    /// A GET whose answer is a file (the body as bytes).
    pub async fn download(&self, uri: &str, token: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let bearer = format!("Bearer {token}");
        let headers = [("origin", ORIGIN), ("authorization", bearer.as_str())];
        super::send_raw(&self.app, "GET", uri, Body::empty(), &headers).await
    }

    /// A dashboard account's token (`POST /api/auth/dashboard-login` with [`PASSWORD`]).
    pub async fn login(&self, username: &str) -> String {
        let body = json!({"username": username, "password": PASSWORD});
        let (s, _, b) = self
            .call("POST", "/api/auth/dashboard-login", None, Some(body), &[])
            .await;
        assert_eq!(s, StatusCode::OK, "{username}: {b}");
        b["token"].as_str().expect("token").to_owned()
    }

    /// A person's token (`POST /api/auth/user-login`, the WhatsApp number as password).
    pub async fn person(&self, nrp: &str, whatsapp: &str) -> String {
        let body = json!({"nrp": nrp, "password": whatsapp});
        let (s, _, b) = self
            .call("POST", "/api/auth/user-login", None, Some(body), &[])
            .await;
        assert_eq!(s, StatusCode::OK, "{nrp}: {b}");
        b["token"].as_str().expect("token").to_owned()
    }

    /// This test's name for a Redis key.
    pub fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }

    /// Deletes this test's Redis keys and its database.
    pub async fn done(self) {
        let mut r = self.redis.clone();
        let keys: Vec<String> = r.keys(format!("{}*", self.prefix)).await.expect("keys");
        for k in keys {
            let _: () = r.del(k).await.expect("del");
        }
        self.db.drop_db().await;
    }
}

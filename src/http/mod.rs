//! axum HTTP: legacy basics (health, `.env` guard, JSON 404), request ids and access logs,
//! and the job API. The OpenAPI description is `openapi.json` beside this file.
use std::{sync::Arc, time::Instant};

use axum::{
    Json, Router,
    extract::Request,
    http::{HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use serde_json::json;
use sqlx::PgPool;

pub mod admin_system;
pub mod board;
pub mod board_api;
pub mod claim;
pub mod clients_api;
pub mod dashboard;
pub mod events;
pub mod jobs_api;
pub mod whatsapp_api;

pub struct AppState {
    pub pool: PgPool,
    pub api_token: String,
    /// For `GET /api/rate-limits`.
    pub rate_limits: Vec<(String, crate::config::RateLimit)>,
    /// Job events from every process (NOTIFY), fanned out to SSE listeners.
    pub events: tokio::sync::broadcast::Sender<events::Event>,
    /// `CRON_<NAME>` overrides, for the schedules the board shows.
    pub cron_overrides: std::collections::BTreeMap<String, String>,
    /// WhatsApp webhook key and session (`None`: the webhook answers 401).
    pub messaging: Option<crate::config::Messaging>,
    /// OTP store of the claim endpoints (`None`: they answer 503).
    pub redis: Option<Arc<crate::platform::redis::Redis>>,
    /// The dashboard API (auth, scoping, legacy calls); `None` = not served.
    pub dashboard: Option<Arc<dashboard::Dashboard>>,
    /// The live provider behind the dashboard's `rapid-*` calls and special-assignment link
    /// reports; `None`: those answer from stored data only.
    pub social: Option<Arc<dashboard::social::Live>>,
    /// Dashboard password-reset link base and token lifetime.
    pub password_reset: crate::config::PasswordReset,
    /// Public origin of this API, for links that open it (`config::Settings::public_api_url`).
    pub public_api_url: String,
    /// The admin console's settings; its routes are served when they are enabled.
    pub admin_system: crate::config::AdminSystem,
}

impl AppState {
    pub fn new(
        pool: PgPool,
        api_token: String,
        rate_limits: Vec<(String, crate::config::RateLimit)>,
    ) -> Self {
        AppState {
            pool,
            api_token,
            rate_limits,
            events: tokio::sync::broadcast::channel(1024).0,
            cron_overrides: Default::default(),
            messaging: None,
            redis: None,
            dashboard: None,
            social: None,
            password_reset: Default::default(),
            public_api_url: "https://papiqo.com".into(),
            admin_system: Default::default(),
        }
    }

    pub fn with_cron_overrides(mut self, o: std::collections::BTreeMap<String, String>) -> Self {
        self.cron_overrides = o;
        self
    }

    /// Adds the WhatsApp webhook key, the Redis OTP store and the public API origin (links in
    /// the claim portal's messages) from the settings.
    pub fn with_messaging(mut self, settings: &crate::config::Settings) -> Self {
        self.messaging = Some(settings.messaging.clone());
        self.public_api_url = settings.public_api_url.clone();
        match crate::platform::redis::Redis::from_settings(settings) {
            Ok(r) => self.redis = Some(Arc::new(r)),
            Err(e) => {
                tracing::error!(error = %e, "REDIS_URL unusable; the claim endpoints answer 503")
            }
        }
        self
    }

    pub fn with_dashboard(mut self, d: dashboard::Dashboard) -> Self {
        self.dashboard = Some(Arc::new(d));
        self
    }

    pub fn with_social(mut self, live: dashboard::social::Live) -> Self {
        self.social = Some(Arc::new(live));
        self
    }

    pub fn with_password_reset(mut self, p: crate::config::PasswordReset) -> Self {
        self.password_reset = p;
        self
    }

    pub fn with_admin_system(mut self, a: crate::config::AdminSystem) -> Self {
        self.admin_system = a;
        self
    }
}

pub const OPENAPI: &str = include_str!("openapi.json");

pub fn router(state: Arc<AppState>) -> Router {
    let api = jobs_api::routes()
        .merge(board_api::routes())
        .merge(whatsapp_api::routes())
        .merge(clients_api::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            jobs_api::require_token,
        ));
    let mut app = Router::new()
        .route("/", any(health))
        .route("/_next/dev/", any(health))
        .route("/api/openapi.json", get(openapi))
        .merge(api)
        .merge(board::routes())
        .merge(whatsapp_api::public_routes())
        .merge(claim::routes());
    if let Some(d) = &state.dashboard {
        app = app
            .merge(dashboard::routes())
            .merge(admin_system::routes(&state))
            .fallback(not_found)
            .layer(middleware::from_fn_with_state(
                state.clone(),
                dashboard::dedup,
            ))
            .layer(dashboard::cors(d));
    } else {
        app = app.fallback(not_found);
    }
    app.layer(middleware::from_fn(guard_env_paths))
        .layer(middleware::from_fn(access_log))
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

/// 500 with a generic message; the error itself goes to the log (inside the request's span,
/// which names its path and id), never to the caller.
pub fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "request failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log",
    )
}

/// 422: the request is well-formed but its content is refused.
pub fn unprocessable(msg: impl Into<String>) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, msg)
}

/// The legacy JSON error body: `{"success": false, "message": ...}`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "success": false, "message": message.into() })),
    )
        .into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Endpoint not found")
}

/// Any path mentioning `.env` is answered 404 before routing (legacy sensitivePathGuard).
async fn guard_env_paths(req: Request, next: Next) -> Response {
    if req.uri().path().to_ascii_lowercase().contains(".env") {
        return not_found().await;
    }
    next.run(req).await
}

/// Gives every request an id (`x-request-id`, kept if the caller sent one) and logs it with
/// method, path, status and duration.
async fn access_log(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| ulid::Ulid::generate().to_string());
    let header = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    req.headers_mut().insert("x-request-id", header.clone());
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let started = Instant::now();
    // The span gives every log line of the request (e.g. `internal`'s) its id and path.
    let span = tracing::info_span!("http", request_id = %id, %method, %path);
    let mut res = tracing::Instrument::instrument(next.run(req), span).await;
    res.headers_mut().insert("x-request-id", header);
    tracing::info!(
        request_id = %id,
        %method,
        %path,
        status = res.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "http"
    );
    res
}

/// Serves until `stop` is cancelled.
pub async fn serve(
    state: Arc<AppState>,
    bind: &str,
    port: u16,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind((bind, port))
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {bind}:{port} (PORT/BIND_ADDR): {e}"))?;
    tracing::info!(addr = %listener.local_addr()?, "http listening");
    tokio::spawn(events::listen(
        state.pool.clone(),
        state.events.clone(),
        stop.clone(),
    ));
    // The peer address feeds the login attempt limit and dedup when no proxy header is set.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { stop.cancelled().await })
    .await?;
    Ok(())
}

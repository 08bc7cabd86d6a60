//! The operator board: static files from `web/`, compiled into the binary (no build step, no
//! CDN). The page itself needs no token; everything it shows comes from the token-protected
//! JSON API.
use std::sync::Arc;

use axum::{
    Router,
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

use super::AppState;

/// `(file name, content type, bytes)` of every file the board serves.
const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../web/app.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../web/favicon.svg"),
    ),
];

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/board", get(|| async { Redirect::permanent("/board/") }))
        .route("/board/", get(|| async { file("index.html") }))
        .route(
            "/board/{file}",
            get(|Path(f): Path<String>| async move { file(&f) }),
        )
}

fn file(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, ctype, body)) => (
            [
                (header::CONTENT_TYPE, *ctype),
                // Always revalidate: a new binary must not be shadowed by a cached old script.
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                // Only our own files and API: an injected script or a foreign host cannot load.
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::X_FRAME_OPTIONS, "DENY"),
            ],
            *body,
        )
            .into_response(),
        None => super::error(StatusCode::NOT_FOUND, "Endpoint not found"),
    }
}

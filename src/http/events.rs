//! `GET /api/jobs/events`: Server-Sent Events of job activity from every process. Workers and
//! the API NOTIFY on `cicero_events` (progress, finished batches) and `cicero_jobs` (enqueues);
//! one LISTEN connection per `serve` process fans them out to every SSE client.
use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event as SseEvent, KeepAlive, Sse},
};
use futures::{Stream, StreamExt};
use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::CancellationToken;

use super::AppState;

pub const CHANNEL: &str = "cicero_events";

/// One event: `kind` is the SSE event name, `data` its JSON text.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: String,
    pub data: String,
}

pub async fn listen(pool: PgPool, tx: broadcast::Sender<Event>, stop: CancellationToken) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "events LISTEN connection failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stop.cancelled() => return,
                }
            }
        };
        if let Err(e) = listener
            .listen_all([CHANNEL, crate::platform::listener::CHANNEL])
            .await
        {
            tracing::warn!(error = %e, "events LISTEN failed");
            continue;
        }
        loop {
            tokio::select! {
                n = listener.recv() => match n {
                    Ok(n) => {
                        let event = if n.channel() == CHANNEL {
                            // {"type": ..., ...}: the type becomes the SSE event name; the data
                            // is re-serialised compactly (Postgres' json has spaced separators).
                            match serde_json::from_str::<serde_json::Value>(n.payload()) {
                                Ok(v) => Event {
                                    kind: v.get("type").and_then(|t| t.as_str()).unwrap_or("job").to_owned(),
                                    data: v.to_string(),
                                },
                                Err(_) => Event { kind: "job".into(), data: n.payload().to_owned() },
                            }
                        } else {
                            Event { kind: "enqueued".into(), data: serde_json::json!({ "type": "enqueued", "queue": n.payload() }).to_string() }
                        };
                        // No listeners is fine.
                        let _ = tx.send(event);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "events LISTEN connection lost; reconnecting");
                        break;
                    }
                },
                _ = stop.cancelled() => return,
            }
        }
    }
}

pub async fn stream(
    State(st): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let events = BroadcastStream::new(st.events.subscribe()).filter_map(|e| async move {
        // A slow client that lagged behind skips what it missed.
        e.ok()
            .map(|e| Ok(SseEvent::default().event(e.kind).data(e.data)))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

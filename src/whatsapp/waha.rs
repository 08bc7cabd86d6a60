//! The WAHA HTTP gateway (https://waha.devlike.pro): `POST /api/sendText`,
//! `POST /api/sendFile`, `GET /api/sessions/{session}`, authenticated by `X-Api-Key`.
//!
//! Error mapping: a 422 whose body names the session status ("Session status is not as
//! expected", `status` != `WORKING`) and an unreachable gateway mean the session cannot send
//! ([`SendError::NotReady`]); 429 is a rate limit; other 4xx (bad chat id, not a group member,
//! bad key) are permanent; 5xx and timeouts are transient.
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::{Body, Outgoing, SendError, Sent, WhatsAppTransport};

pub struct Waha {
    base: String,
    api_key: Option<String>,
    http: reqwest::Client,
}

impl Waha {
    pub fn new(base: String, api_key: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Waha {
            base: base.trim_end_matches('/').to_string(),
            api_key,
            http,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = &self.api_key {
            r = r.header("X-Api-Key", k);
        }
        r
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, SendError> {
        let res = req.send().await.map_err(|e| {
            if e.is_connect() {
                SendError::NotReady {
                    state: "UNREACHABLE".into(),
                    message: format!("WAHA unreachable: {e}"),
                }
            } else {
                SendError::Transient(format!("WAHA request failed: {e}"))
            }
        })?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = res.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        Err(classify(status.as_u16(), &body, &text, retry_after))
    }
}

/// Maps a WAHA error response to a [`SendError`] (pure; table-tested).
pub fn classify(status: u16, body: &Value, text: &str, retry_after: Option<Duration>) -> SendError {
    let message = body
        .get("message")
        .or_else(|| body.get("error"))
        .or_else(|| body.pointer("/exception/message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| text.chars().take(300).collect());
    let message = format!("WAHA {status}: {message}");
    let session_state = body.get("status").and_then(Value::as_str);
    match status {
        422 if session_state.is_some_and(|s| s != super::READY)
            || message.contains("Session status is not as expected") =>
        {
            SendError::NotReady {
                state: session_state.unwrap_or("UNKNOWN").to_string(),
                message,
            }
        }
        429 => SendError::RateLimited {
            retry_after,
            message,
        },
        400..=499 => SendError::Permanent(message),
        _ => SendError::Transient(message),
    }
}

/// WAHA's message id: a string, or `{ _serialized }` (WEBJS), or `key.id` (NOWEB).
fn message_id(body: &Value) -> Option<String> {
    body.get("id")
        .and_then(|id| {
            id.as_str()
                .or_else(|| id.get("_serialized").and_then(Value::as_str))
        })
        .or_else(|| body.pointer("/key/id").and_then(Value::as_str))
        .map(str::to_string)
}

impl WhatsAppTransport for Waha {
    fn name(&self) -> &'static str {
        "waha"
    }

    fn send<'a>(
        &'a self,
        session: &'a str,
        msg: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let req = match &msg.body {
                Body::Text(text) => self
                    .request(reqwest::Method::POST, "/api/sendText")
                    .json(&json!({"session": session, "chatId": msg.chat_id, "text": text})),
                Body::Document(d) => self.request(reqwest::Method::POST, "/api/sendFile").json(
                    &json!({
                        "session": session,
                        "chatId": msg.chat_id,
                        "file": {"mimetype": d.mimetype, "filename": d.file_name, "data": d.data_base64},
                        "caption": d.caption,
                    }),
                ),
            };
            let body = self.call(req).await?;
            Ok(Sent {
                provider_message_id: message_id(&body),
            })
        })
    }

    fn session_status<'a>(&'a self, session: &'a str) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let body = self
                .call(self.request(reqwest::Method::GET, &format!("/api/sessions/{session}")))
                .await?;
            body.get("status")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| SendError::Transient("WAHA session without status".into()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_mapping() {
        let not_ready = json!({"error": "Session status is not as expected. Try again later or restart the session",
                               "session": "default", "status": "SCAN_QR_CODE", "expected": ["WORKING"]});
        let cases: Vec<(u16, Value, &str)> = vec![
            (422, not_ready, "NotReady"),
            (422, json!({"message": "chatId is invalid"}), "Permanent"),
            (400, json!({"message": "not a participant"}), "Permanent"),
            (401, Value::Null, "Permanent"),
            (404, json!({"message": "Session not found"}), "Permanent"),
            (429, Value::Null, "RateLimited"),
            (
                500,
                json!({"exception": {"message": "2 UNKNOWN: server returned error 463"}}),
                "Transient",
            ),
            (503, Value::Null, "Transient"),
        ];
        for (status, body, want) in cases {
            let got = classify(status, &body, "", Some(Duration::from_secs(3)));
            let name = match &got {
                SendError::NotReady { .. } => "NotReady",
                SendError::RateLimited { .. } => "RateLimited",
                SendError::Transient(_) => "Transient",
                SendError::Permanent(_) => "Permanent",
            };
            assert_eq!(name, want, "{status} {body}: {got}");
            assert!(got.to_string().contains(&format!("WAHA {status}")), "{got}");
        }
    }

    #[test]
    fn message_ids() {
        assert_eq!(message_id(&json!({"id": "abc"})).as_deref(), Some("abc"));
        assert_eq!(
            message_id(&json!({"id": {"_serialized": "true_1@c.us_X"}})).as_deref(),
            Some("true_1@c.us_X")
        );
        assert_eq!(
            message_id(&json!({"key": {"id": "K"}})).as_deref(),
            Some("K")
        );
        assert_eq!(message_id(&json!({})), None);
    }
}

//! Social ingestion (`ingest` queue): what the three kinds share — the platform field and the
//! rate key of the RapidAPI account in use.
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The queue of every social-ingestion kind.
pub const QUEUE: &str = "ingest";

/// The social platform a job works on (wire names `instagram`, `tiktok`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Instagram,
    Tiktok,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Instagram => "instagram",
            Platform::Tiktok => "tiktok",
        }
    }
}

/// Set once per process, at worker start, from the settings: `rapidapi:<key fingerprint>`
/// for the RapidAPI provider, `None` for the offline demo provider. A plain function pointer
/// computes a kind's rate key, so the account's key travels through this cell, never through
/// the payload (and never in clear).
static PROVIDER_RATE_KEY: OnceLock<Option<String>> = OnceLock::new();

/// Records the provider's rate key; the first call in a process wins (settings do not change
/// while a process runs).
pub fn set_provider_rate_key(key: Option<String>) {
    let _ = PROVIDER_RATE_KEY.set(key);
}

/// The rate key of every job that calls the provider: all calls of one RapidAPI key share it.
pub fn provider_rate_key(_payload: &serde_json::Value) -> Option<String> {
    PROVIDER_RATE_KEY.get().cloned().flatten()
}

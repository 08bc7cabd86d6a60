//! Premium insights of the engagement pages (contract §2.4): `executive-recap` and
//! `risk-summary` for `platform=instagram|tiktok`, behind the premium guard of ANEV and scoped
//! by [`Scoped`]. Both are computed from the same recap as `rekap-likes` / `rekap-komentar`
//! ([`recap_report`]), so their `stats` equal the page's own totals (the dashboard discards
//! an insight whose numbers differ).
use std::sync::Arc;

use axum::extract::State;
use serde_json::json;

use super::{
    ApiError, ApiResult,
    data::{premium_guard, recap_report},
    ok,
    scope::{Params, Scoped},
};
use crate::{
    domain::recap_report::{self as report, Platform, period_label},
    http::AppState,
};

fn platform(p: &Params) -> ApiResult<Platform> {
    p.get("platform")
        .and_then(Platform::parse)
        .ok_or_else(|| ApiError::bad_request("platform harus instagram atau tiktok"))
}

fn label(p: &Params) -> String {
    period_label(
        p.get("periode"),
        p.get("tanggal"),
        p.any(&["start_date", "tanggal_mulai"]),
        p.any(&["end_date", "tanggal_selesai"]),
    )
}

/// `GET /api/dashboard/premium/executive-recap`: `data{platform, periodLabel, summary, text,
/// stats}`.
pub async fn executive_recap(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    premium_guard(&st, &s.user)?;
    let platform = platform(&s.params)?;
    let r = recap_report(&st, &s, platform).await?;
    let data = report::executive_recap(platform, &label(&s.params), &s.client_name, &r.counts);
    Ok(ok(json!({ "data": data })))
}

/// `GET /api/dashboard/premium/risk-summary`: `data{platform, periodLabel, complianceRate,
/// actionNeededRate, missingUsernameCount, alerts[]}`.
pub async fn risk_summary(State(st): State<Arc<AppState>>, s: Scoped) -> ApiResult {
    premium_guard(&st, &s.user)?;
    let platform = platform(&s.params)?;
    let r = recap_report(&st, &s, platform).await?;
    let data = report::risk_summary(platform, &label(&s.params), &r.counts);
    Ok(ok(json!({ "data": data })))
}

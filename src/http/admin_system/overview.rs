//! `GET /api/admin-system/management/overview`: the console's headline counts.
use axum::{Json, response::IntoResponse};
use serde_json::json;

use super::{Admin, CtxState};
use crate::http::dashboard::ApiResult;

pub async fn overview(axum::extract::State(ctx): CtxState, _admin: Admin) -> ApiResult {
    let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM clients),
           (SELECT count(*) FROM clients WHERE client_status IS NOT FALSE),
           (SELECT count(*) FROM dashboard_user),
           (SELECT count(*) FROM dashboard_user WHERE status IS NOT FALSE),
           (SELECT count(*) FROM dashboard_user WHERE status IS FALSE),
           (SELECT count(*) FROM dashboard_premium_request WHERE status = 'pending'),
           (SELECT count(*) FROM dashboard_user WHERE premium_status IS TRUE
              AND (premium_expires_at IS NULL OR premium_expires_at > now()))",
    )
    .fetch_one(ctx.pool())
    .await?;
    Ok(Json(json!({
        "success": true,
        "data": {
            "total_clients": row.0,
            "active_clients": row.1,
            "total_dashboard_users": row.2,
            "active_dashboard_users": row.3,
            "pending_dashboard_users": row.4,
            "pending_premium_requests": row.5,
            "active_premium_users": row.6,
            "generated_at": chrono::Utc::now(),
        },
    }))
    .into_response())
}

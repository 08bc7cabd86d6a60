//! `expire_premium`: closes what has run out, in one transaction, with the legacy messages
//! enqueued in it (`whatsapp_send`, one idempotency key each, so a retry sends nothing twice):
//! * active dashboard subscriptions past `expires_at` become `expired`, and each account's
//!   cached `premium_*` columns follow its remaining active subscription (or are cleared);
//! * `pending`/`confirmed` premium requests past `expired_at` become `expired`, with an audit
//!   row (actor `system`);
//! * personnel premium (`"user".premium_status`) ends on its `premium_end_date` (Jakarta day).
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Ctx, JobError};
use crate::{
    platform::jobs::{NewJob, enqueue_many},
    whatsapp::address::chat_id,
};

/// (subscription id, account id, tier, ended at, the account's WhatsApp)
type ExpiredSubscription = (
    String,
    String,
    Option<String>,
    DateTime<Utc>,
    Option<String>,
);

pub async fn run(ctx: Arc<Ctx>) -> Result<Value, JobError> {
    let mut tx = ctx.pool.begin().await?;
    let mut sends = Vec::new();

    let subs: Vec<ExpiredSubscription> = sqlx::query_as(
        "WITH e AS (UPDATE dashboard_user_subscriptions SET status = 'expired'
                         WHERE status = 'active' AND expires_at <= now()
                         RETURNING subscription_id, dashboard_user_id, tier, expires_at)
             SELECT e.subscription_id::text, e.dashboard_user_id::text, e.tier, e.expires_at,
                    d.whatsapp::text
               FROM e JOIN dashboard_user d USING (dashboard_user_id)",
    )
    .fetch_all(&mut *tx)
    .await?;
    let users: Vec<&str> = subs.iter().map(|s| s.1.as_str()).collect();
    // The cache follows the newest remaining active subscription; accounts whose cached
    // expiry has passed without any subscription row (legacy data) are cleared too.
    let refreshed = sqlx::query(
        "UPDATE dashboard_user d
            SET premium_status = a.tier IS NOT NULL, premium_tier = a.tier,
                premium_expires_at = a.expires_at, updated_at = now()
           FROM (SELECT u.dashboard_user_id, s.tier, s.expires_at
                   FROM dashboard_user u
                   LEFT JOIN LATERAL (
                        SELECT tier, expires_at FROM dashboard_user_subscriptions
                         WHERE dashboard_user_id = u.dashboard_user_id AND status = 'active'
                         ORDER BY expires_at DESC LIMIT 1) s ON true
                  WHERE u.dashboard_user_id::text = ANY($1)
                     OR (u.premium_status AND u.premium_expires_at <= now())) a
          WHERE d.dashboard_user_id = a.dashboard_user_id",
    )
    .bind(&users)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    for (id, _, tier, ended, wa) in &subs {
        let Some(chat) = wa.as_deref().and_then(|w| chat_id(w).ok()) else {
            continue;
        };
        let ended = ended
            .with_timezone(&chrono_tz::Asia::Jakarta)
            .format("%d-%m-%Y %H:%M WIB");
        let tier = tier.as_deref().unwrap_or("-");
        sends.push(NewJob::new(
            "whatsapp_send",
            json!({"to": chat, "idempotency_key": format!("subscription_expired:{id}"),
                   "text": format!("🔔 Langganan dashboard Anda sudah berakhir.\nTier: {tier}\nBerakhir: {ended}\nSilakan ajukan perpanjangan melalui menu Premium di dashboard.")}),
        ));
    }

    let requests: Vec<(i32, Option<String>, Option<String>)> = sqlx::query_as(
        "WITH old AS (SELECT request_id, status FROM dashboard_premium_request
                       WHERE status IN ('pending', 'confirmed') AND expired_at <= now()
                       FOR UPDATE),
              e AS (UPDATE dashboard_premium_request r SET status = 'expired', updated_at = now()
                      FROM old WHERE r.request_id = old.request_id
                    RETURNING r.request_id, r.dashboard_user_id, r.premium_tier, r.whatsapp,
                              old.status AS status_from),
              a AS (INSERT INTO dashboard_premium_request_audit
                        (request_id, dashboard_user_id, action, actor, status_from, status_to, metadata)
                    SELECT request_id, dashboard_user_id, 'expired', 'system', status_from, 'expired',
                           '{}'::jsonb FROM e)
         SELECT e.request_id, e.premium_tier, coalesce(nullif(trim(e.whatsapp), ''), d.whatsapp::text)
           FROM e LEFT JOIN dashboard_user d USING (dashboard_user_id)",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, tier, wa) in &requests {
        let Some(chat) = wa.as_deref().and_then(|w| chat_id(w).ok()) else {
            continue;
        };
        let tier = tier.as_deref().unwrap_or("-");
        sends.push(NewJob::new(
            "whatsapp_send",
            json!({"to": chat, "idempotency_key": format!("premium_request:{id}:expired"),
                   "text": format!("⏰ Permintaan premium dashboard Anda kedaluwarsa.\nID: {id}\nTier: {tier}\nSilakan ajukan permintaan baru bila masih diperlukan.")}),
        ));
    }

    let personnel = sqlx::query(
        "UPDATE \"user\" SET premium_status = false, premium_end_date = NULL
          WHERE premium_status AND premium_end_date <= (now() AT TIME ZONE 'Asia/Jakarta')::date",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();

    enqueue_many(&mut *tx, &sends)
        .await
        .map_err(|e| JobError::Retryable(e.to_string()))?;
    tx.commit().await?;
    tracing::info!(
        subscriptions = subs.len(),
        requests = requests.len(),
        personnel,
        "premium expiry"
    );
    Ok(json!({
        "subscriptions_expired": subs.len(),
        "accounts_refreshed": refreshed,
        "requests_expired": requests.len(),
        "personnel_expired": personnel,
        "messages": sends.len(),
    }))
}

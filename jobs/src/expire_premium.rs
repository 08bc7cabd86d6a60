//! `expire_premium`: the legacy expiry crons in one job (`cronDashboardSubscriptionExpiry`,
//! `cronDashboardPremiumRequestExpiry`, `cronPremiumExpiry`): dashboard subscriptions past
//! their end, premium requests past `expired_at`, and the mobile premium of personnel.
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpirePremium {}

impl Job for ExpirePremium {
    const SPEC: JobSpec = JobSpec {
        kind: "expire_premium",
        queue: "maintenance",
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 30_000,
            max_ms: 600_000,
            jitter: 0.2,
        },
        timeout_ms: 5 * 60_000,
        summary: "Expires dashboard subscriptions and premium requests past their end (telling the owners over WhatsApp) and personnel premium past its end date",
        example: r#"{}"#,
        unique: Some(crate::Unique {
            fields: &[],
            period_secs: 0,
            states: crate::WHILE_ACTIVE,
        }),
        rate_key: None,
    };
}

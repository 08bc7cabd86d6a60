//! `email_otp`: a fresh code into Redis (hashed), then the mail. Each attempt makes a new
//! code, so a retried job never mails a code that Redis no longer holds.
use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};

use cicero_jobs::email_otp::EmailOtp;

use super::{Ctx, JobCtx, JobError};
use crate::{
    otp::{self, MailError},
    platform::redis::Redis,
};

pub async fn run(ctx: Arc<Ctx>, job: JobCtx, p: EmailOtp) -> Result<Value, JobError> {
    let not_after = p
        .not_after
        .unwrap_or(job.created_at + chrono::Duration::minutes(5));
    if Utc::now() > not_after {
        return Ok(
            json!({"dropped": true, "reason": format!("not mailed before its not_after {}", not_after.to_rfc3339())}),
        );
    }
    let email = p.email.trim().to_lowercase();
    if !email.contains('@') {
        return Err(JobError::Permanent(format!(
            "{email:?} is not an email address"
        )));
    }
    let subject = p.subject.clone().unwrap_or_else(|| email.clone());
    let redis =
        Redis::shared(&ctx.settings).map_err(|e| JobError::Permanent(format!("REDIS_URL: {e}")))?;
    let code = otp::generate();
    otp::store(&redis, &p.purpose, &subject, &email, &code)
        .await
        .map_err(|e| JobError::Retryable(format!("redis: {e}")))?;
    otp::send_mail(&ctx.settings.messaging, &email, &code)
        .await
        .map_err(|e| match e {
            MailError::Permanent(m) => JobError::Permanent(m),
            MailError::Transient(m) => JobError::Retryable(m),
        })?;
    Ok(json!({"email": email, "purpose": p.purpose, "expires_in_secs": otp::TTL.as_secs()}))
}

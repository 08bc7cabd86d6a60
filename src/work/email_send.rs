//! `email_send`: one plain-text mail through the SMTP settings `email_otp` uses.
use std::sync::Arc;

use serde_json::{Value, json};

use cicero_jobs::email_send::EmailSend;

use super::{Ctx, JobError};
use crate::otp::{self, MailError};

pub async fn run(ctx: Arc<Ctx>, p: EmailSend) -> Result<Value, JobError> {
    let to = p.to.trim().to_lowercase();
    if !to.contains('@') {
        return Err(JobError::Permanent(format!(
            "{to:?} is not an email address"
        )));
    }
    otp::send_text_mail(&ctx.settings.messaging, &to, &p.subject, &p.text)
        .await
        .map_err(|e| match e {
            MailError::Permanent(m) => JobError::Permanent(m),
            MailError::Transient(m) => JobError::Retryable(m),
        })?;
    Ok(json!({"to": to, "subject": p.subject}))
}

//! One-time codes (legacy §4(e)): 6 digits, stored hashed in Redis for 5 minutes with 3
//! wrong tries allowed, mailed over SMTP by the `email_otp` job; a correct code marks the
//! subject verified for 10 minutes.
use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    transport::smtp::authentication::Credentials,
};
use redis::AsyncCommands;
use sha2::{Digest, Sha256};

use crate::{
    config::{Messaging, SmtpTls},
    platform::redis::Redis,
};

pub const TTL: Duration = Duration::from_secs(300);
pub const MAX_ATTEMPTS: u32 = 3;
pub const VERIFIED_TTL: Duration = Duration::from_secs(600);

/// A fresh 6-digit code.
pub fn generate() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

/// What is stored: sha256 of the email and the code (never the code itself).
pub fn hash(email: &str, code: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{email}:{}", code.trim()).as_bytes(),
    ))
}

fn code_key(r: &Redis, purpose: &str, subject: &str) -> String {
    r.key(&format!("otp:{purpose}:{subject}"))
}

fn verified_key(r: &Redis, purpose: &str, subject: &str) -> String {
    r.key(&format!("verified:{purpose}:{subject}"))
}

/// Stores a new code (replacing an older one, attempts reset).
pub async fn store(
    r: &Redis,
    purpose: &str,
    subject: &str,
    email: &str,
    code: &str,
) -> Result<(), redis::RedisError> {
    let record = serde_json::json!({"hash": hash(email, code), "email": email, "attempts": 0});
    let mut c = r.conn().await?;
    c.set_ex::<_, _, ()>(
        code_key(r, purpose, subject),
        record.to_string(),
        TTL.as_secs(),
    )
    .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    Valid,
    /// Wrong code; this many tries remain.
    Wrong(u32),
    /// Too many wrong tries: the code is gone, ask for a new one.
    Locked,
    /// No code (never requested, or expired).
    Missing,
    /// The code was sent to another email.
    EmailMismatch,
}

/// Atomic check: read, compare, count, keep the remaining TTL (`KEEPTTL`).
const VERIFY_LUA: &str = r#"
local v = redis.call('GET', KEYS[1])
if not v then return {'missing', 0} end
local r = cjson.decode(v)
if r.email ~= ARGV[1] then return {'email', 0} end
local max = tonumber(ARGV[3])
if r.attempts >= max then redis.call('DEL', KEYS[1]); return {'locked', 0} end
if r.hash == ARGV[2] then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[1], 'EX', tonumber(ARGV[4]))
  return {'valid', 0}
end
r.attempts = r.attempts + 1
redis.call('SET', KEYS[1], cjson.encode(r), 'KEEPTTL')
return {'wrong', max - r.attempts}
"#;

pub async fn verify(
    r: &Redis,
    purpose: &str,
    subject: &str,
    email: &str,
    code: &str,
) -> Result<Verify, redis::RedisError> {
    let mut c = r.conn().await?;
    let (outcome, left): (String, i64) = redis::Script::new(VERIFY_LUA)
        .key(code_key(r, purpose, subject))
        .key(verified_key(r, purpose, subject))
        .arg(email)
        .arg(hash(email, code))
        .arg(MAX_ATTEMPTS)
        .arg(VERIFIED_TTL.as_secs())
        .invoke_async(&mut c)
        .await?;
    Ok(match outcome.as_str() {
        "valid" => Verify::Valid,
        "wrong" => Verify::Wrong(u32::try_from(left).unwrap_or(0)),
        "locked" => Verify::Locked,
        "email" => Verify::EmailMismatch,
        _ => Verify::Missing,
    })
}

/// The email a subject was verified with, if the verification is still valid.
pub async fn verified_email(
    r: &Redis,
    purpose: &str,
    subject: &str,
) -> Result<Option<String>, redis::RedisError> {
    let mut c = r.conn().await?;
    c.get(verified_key(r, purpose, subject)).await
}

/// Marks `subject` verified with `email` for another [`VERIFIED_TTL`] (a successful claim
/// update extends the verification, legacy §4(e)).
pub async fn extend_verified(
    r: &Redis,
    purpose: &str,
    subject: &str,
    email: &str,
) -> Result<(), redis::RedisError> {
    let mut c = r.conn().await?;
    c.set_ex::<_, _, ()>(
        verified_key(r, purpose, subject),
        email,
        VERIFIED_TTL.as_secs(),
    )
    .await
}

/// Why a mail did not go.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Will not work on retry (bad address, the server refused permanently, no SMTP_HOST).
    #[error("{0}")]
    Permanent(String),
    #[error("{0}")]
    Transient(String),
}

/// Sends the legacy OTP mail: subject "Kode OTP Anda", body "Kode OTP Anda: <otp>".
pub async fn send_mail(m: &Messaging, to: &str, code: &str) -> Result<(), MailError> {
    send_text_mail(m, to, "Kode OTP Anda", &format!("Kode OTP Anda: {code}")).await
}

/// One plain-text mail over the SMTP settings.
pub async fn send_text_mail(
    m: &Messaging,
    to: &str,
    subject: &str,
    text: &str,
) -> Result<(), MailError> {
    let host = m
        .smtp_host
        .as_deref()
        .ok_or_else(|| MailError::Permanent("SMTP_HOST is not set".into()))?;
    let from = m
        .smtp_from
        .parse()
        .map_err(|e| MailError::Permanent(format!("SMTP_FROM {:?}: {e}", m.smtp_from)))?;
    let to = to
        .parse()
        .map_err(|e| MailError::Permanent(format!("email {to:?}: {e}")))?;
    let msg = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .body(text.to_owned())
        .map_err(|e| MailError::Permanent(format!("building the mail: {e}")))?;
    let builder = match m.smtp_tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| MailError::Permanent(format!("SMTP_HOST {host:?}: {e}")))?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| MailError::Permanent(format!("SMTP_HOST {host:?}: {e}")))?,
    };
    let mut builder = builder
        .port(m.smtp_port)
        .timeout(Some(Duration::from_secs(20)));
    if let (Some(u), Some(p)) = (&m.smtp_user, &m.smtp_pass) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    builder.build().send(msg).await.map(drop).map_err(|e| {
        if e.is_permanent() {
            MailError::Permanent(format!("SMTP: {e}"))
        } else {
            MailError::Transient(format!("SMTP: {e}"))
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_and_hashes() {
        for _ in 0..50 {
            let c = super::generate();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|ch| ch.is_ascii_digit()));
        }
        assert_eq!(
            super::hash("a@b.c", "123456"),
            super::hash("a@b.c", " 123456 ")
        );
        assert_ne!(
            super::hash("a@b.c", "123456"),
            super::hash("x@b.c", "123456")
        );
        assert_eq!(super::hash("a@b.c", "1").len(), 64);
    }
}

//! The dashboard complaint (legacy §4j REST complaint): the reply text, sent over WhatsApp to
//! the person and to the dashboard user as `whatsapp_send` jobs.
use chrono::{DateTime, Timelike, Utc};
use sha2::{Digest, Sha256};

use crate::platform::jobs::NewJob;

/// Legacy greeting by hour (pagi 4–9, siang 10–14, sore 15–17, otherwise malam). The legacy
/// used the server's local hours; ours are Asia/Jakarta, where the servers ran.
pub fn greeting(hour: u32) -> &'static str {
    match hour {
        4..=9 => "Selamat pagi",
        10..=14 => "Selamat siang",
        15..=17 => "Selamat sore",
        _ => "Selamat malam",
    }
}

/// The default follow-up when the dashboard sends no `solution` (its form sends none).
pub const DEFAULT_SOLUTION: &str = "Laporan Anda sudah kami terima dan sedang kami periksa. \
Pastikan username Instagram/TikTok Anda sudah benar; bila belum, perbarui data Anda di \
https://papiqo.com/claim.";

/// The legacy reply text.
pub fn message(hour: u32, reporter: &str, nrp: &str, issue: &str, solution: &str) -> String {
    format!(
        "{}! Kami menindaklanjuti laporan yang Anda sampaikan.\n\n*Pelapor*: {reporter}\n*NRP/NIP*: {nrp}\n\n*Kendala*:\n{issue}\n\n*Solusi/Tindak Lanjut*:\n{solution}",
        greeting(hour)
    )
}

/// Jakarta hour of an instant.
pub fn jakarta_hour(t: DateTime<Utc>) -> u32 {
    (t + chrono::Duration::hours(7)).hour()
}

/// The idempotency-key stem of one complaint: the Jakarta day and a hash of the complaint
/// (not the greeting), so a retried request on the same day sends nothing twice.
pub fn key_stem(
    platform: &str,
    nrp: &str,
    day: chrono::NaiveDate,
    issue: &str,
    solution: &str,
) -> String {
    let digest = Sha256::digest(format!("{issue}\n{solution}").as_bytes());
    format!(
        "complaint:{platform}:{nrp}:{day}:{}",
        &hex::encode(digest)[..16]
    )
}

/// One `whatsapp_send` for one recipient (`personnel` or `dashboard_user`).
pub fn job(stem: &str, recipient: &str, chat: &str, text: &str) -> NewJob {
    NewJob::new(
        "whatsapp_send",
        serde_json::json!({"to": chat, "text": text, "idempotency_key": format!("{stem}:{recipient}:{chat}")}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_by_hour() {
        for (h, want) in [
            (0, "Selamat malam"),
            (3, "Selamat malam"),
            (4, "Selamat pagi"),
            (9, "Selamat pagi"),
            (10, "Selamat siang"),
            (14, "Selamat siang"),
            (15, "Selamat sore"),
            (17, "Selamat sore"),
            (18, "Selamat malam"),
            (23, "Selamat malam"),
        ] {
            assert_eq!(greeting(h), want, "{h}");
        }
    }

    #[test]
    fn message_layout() {
        let m = message(
            11,
            "AIPTU BUDI",
            "75020201",
            "Likes belum terdata",
            "Cek username",
        );
        assert_eq!(
            m,
            "Selamat siang! Kami menindaklanjuti laporan yang Anda sampaikan.\n\n*Pelapor*: AIPTU BUDI\n*NRP/NIP*: 75020201\n\n*Kendala*:\nLikes belum terdata\n\n*Solusi/Tindak Lanjut*:\nCek username"
        );
    }

    #[test]
    fn jakarta_hour_is_utc_plus_7() {
        let t = DateTime::parse_from_rfc3339("2026-11-24T20:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(jakarta_hour(t), 3);
    }
}

//! Validation of the self-service profile update (legacy §4(e) `/api/claim/update`,
//! `/api/claim/validate-email`).

/// The handle the legacy reserved for its own test accounts; nobody may claim it.
const RESERVED: &str = "cicero_devs";

/// The account name out of a profile URL (`https://www.instagram.com/name/?x`,
/// `tiktok.com/@name`) or a plain `@name`, without `@`, lower-cased.
fn account_name(raw: &str, host: &str) -> String {
    let t = raw.trim();
    let lower = t.to_lowercase();
    let path = match lower.find(host) {
        Some(i) => {
            let rest = &lower[i + host.len()..];
            rest.trim_start_matches('/')
                .split(['/', '?', '#'])
                .next()
                .unwrap_or_default()
                .to_string()
        }
        None => lower,
    };
    path.trim_start_matches('@').to_string()
}

fn valid_chars(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
}

/// Instagram: a profile URL or `@name` → lower-case `^[a-z0-9._]{1,30}$`.
pub fn insta_handle(raw: &str) -> Result<String, String> {
    let name = account_name(raw, "instagram.com");
    if !valid_chars(&name, 30) {
        return Err("username Instagram tidak valid".into());
    }
    if name == RESERVED {
        return Err("username Instagram cicero_devs tidak boleh digunakan".into());
    }
    Ok(name)
}

/// TikTok: a profile URL or `@name` → `@` + lower-case `^[a-z0-9._]{1,24}$`.
pub fn tiktok_handle(raw: &str) -> Result<String, String> {
    let name = account_name(raw, "tiktok.com");
    if !valid_chars(&name, 24) {
        return Err("username TikTok tidak valid".into());
    }
    if name == RESERVED {
        return Err("username TikTok cicero_devs tidak boleh digunakan".into());
    }
    Ok(format!("@{name}"))
}

/// WhatsApp: at least 8 digits, stored `62`-prefixed (one leading `0` dropped).
pub fn whatsapp_number(raw: &str) -> Result<String, String> {
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    if digits < 8 {
        return Err("nomor WhatsApp minimal 8 digit".into());
    }
    Ok(crate::whatsapp::address::normalize_number(raw))
}

/// Email format: one `@`, a non-empty local part, a dotted domain, no spaces. Returns the
/// domain (for the MX check).
pub fn email_domain(email: &str) -> Option<&str> {
    let (user, domain) = email.split_once('@')?;
    let ok = !user.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.contains(char::is_whitespace);
    ok.then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instagram_handles() {
        let cases: &[(&str, Result<&str, ()>)] = &[
            ("@Polres.Contoh", Ok("polres.contoh")),
            ("  budi_01 ", Ok("budi_01")),
            ("https://www.instagram.com/Budi.S/", Ok("budi.s")),
            ("https://instagram.com/budi?igsh=abc", Ok("budi")),
            ("instagram.com/@budi", Ok("budi")),
            ("", Err(())),
            ("budi santoso", Err(())),
            ("budi-s", Err(())),
            ("@cicero_devs", Err(())),
            ("https://www.instagram.com/CICERO_DEVS", Err(())),
        ];
        for (raw, want) in cases {
            let got = insta_handle(raw);
            match want {
                Ok(w) => assert_eq!(got.as_deref(), Ok(*w), "{raw:?}"),
                Err(()) => assert!(got.is_err(), "{raw:?} → {got:?}"),
            }
        }
        assert!(insta_handle(&"a".repeat(30)).is_ok());
        assert!(insta_handle(&"a".repeat(31)).is_err());
    }

    #[test]
    fn tiktok_handles() {
        let cases: &[(&str, Result<&str, ()>)] = &[
            ("@Budi.S", Ok("@budi.s")),
            ("budi_01", Ok("@budi_01")),
            ("https://www.tiktok.com/@Budi?lang=id", Ok("@budi")),
            ("https://tiktok.com/@budi/video/123", Ok("@budi")),
            ("@", Err(())),
            ("bu di", Err(())),
            ("@cicero_devs", Err(())),
        ];
        for (raw, want) in cases {
            let got = tiktok_handle(raw);
            match want {
                Ok(w) => assert_eq!(got.as_deref(), Ok(*w), "{raw:?}"),
                Err(()) => assert!(got.is_err(), "{raw:?} → {got:?}"),
            }
        }
        assert!(tiktok_handle(&"a".repeat(24)).is_ok());
        assert!(tiktok_handle(&"a".repeat(25)).is_err());
    }

    #[test]
    fn whatsapp_numbers() {
        let cases: &[(&str, Result<&str, ()>)] = &[
            ("0812-3456-789", Ok("628123456789")),
            ("+62 812 3456 789", Ok("628123456789")),
            ("81234567", Ok("6281234567")),
            ("1234567", Err(())),
            ("", Err(())),
        ];
        for (raw, want) in cases {
            let got = whatsapp_number(raw);
            match want {
                Ok(w) => assert_eq!(got.as_deref(), Ok(*w), "{raw:?}"),
                Err(()) => assert!(got.is_err(), "{raw:?} → {got:?}"),
            }
        }
    }

    #[test]
    fn email_formats() {
        assert_eq!(email_domain("budi@polri.go.id"), Some("polri.go.id"));
        for bad in [
            "budi",
            "@polri.go.id",
            "budi@polri",
            "budi@.polri.id",
            "budi@polri.id.",
            "budi@@polri.id",
            "bu di@polri.id",
            "budi@polri..id",
        ] {
            assert_eq!(email_domain(bad), None, "{bad}");
        }
    }
}

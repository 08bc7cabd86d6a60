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

/// Why a handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleProblem {
    /// Not a profile URL or a name of the allowed characters and length.
    Invalid,
    /// The reserved `cicero_devs`.
    Reserved,
}

/// Instagram: a profile URL or `@name` → lower-case `^[a-z0-9._]{1,30}$`.
pub fn check_insta(raw: &str) -> Result<String, HandleProblem> {
    let name = account_name(raw, "instagram.com");
    if !valid_chars(&name, 30) {
        return Err(HandleProblem::Invalid);
    }
    if name == RESERVED {
        return Err(HandleProblem::Reserved);
    }
    Ok(name)
}

/// TikTok: a profile URL or `@name` → `@` + lower-case `^[a-z0-9._]{1,24}$`.
pub fn check_tiktok(raw: &str) -> Result<String, HandleProblem> {
    let name = account_name(raw, "tiktok.com");
    if !valid_chars(&name, 24) {
        return Err(HandleProblem::Invalid);
    }
    if name == RESERVED {
        return Err(HandleProblem::Reserved);
    }
    Ok(format!("@{name}"))
}

/// [`check_insta`] with the legacy messages.
pub fn insta_handle(raw: &str) -> Result<String, String> {
    check_insta(raw).map_err(|p| match p {
        HandleProblem::Invalid => "username Instagram tidak valid".into(),
        HandleProblem::Reserved => "username Instagram cicero_devs tidak boleh digunakan".into(),
    })
}

/// [`check_tiktok`] with the legacy messages.
pub fn tiktok_handle(raw: &str) -> Result<String, String> {
    check_tiktok(raw).map_err(|p| match p {
        HandleProblem::Invalid => "username TikTok tidak valid".into(),
        HandleProblem::Reserved => "username TikTok cicero_devs tidak boleh digunakan".into(),
    })
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

/// The portal password rule (`POST /api/claim/register`, reset confirm): 8 to 128 characters
/// with a letter, a digit and a character that is neither, no space at either end (the login
/// trims what it is given), and not containing the NRP. Returns the 400 message of a refused
/// password.
pub fn password_problem(password: &str, nrp: &str) -> Option<&'static str> {
    if password.trim() != password {
        return Some("password tidak boleh diawali atau diakhiri spasi");
    }
    let n = password.chars().count();
    if n < 8 {
        return Some("password minimal 8 karakter dan harus memuat huruf, angka, serta tanda baca");
    }
    if n > 128 {
        return Some("password maksimal 128 karakter");
    }
    let letter = password.chars().any(char::is_alphabetic);
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let other = password
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace());
    if !(letter && digit && other) {
        return Some("password harus memuat huruf, angka, serta tanda baca");
    }
    if !nrp.is_empty() && password.contains(nrp) {
        return Some("password tidak boleh memuat NRP");
    }
    None
}

/// An email as the reset request shows it: the first two characters of the local part (one
/// when it is that short), `***`, then the domain: `budi@polri.go.id` → `bu***@polri.go.id`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let keep = if local.chars().count() > 2 { 2 } else { 1 };
            let head: String = local.chars().take(keep).collect();
            format!("{head}***@{domain}")
        }
        None => "***".into(),
    }
}

/// A WhatsApp number as the registration answer shows it: the first four and the last three
/// digits, the rest `*`: `628123456789` → `6281*****789`. Eight digits or fewer: `***` and the
/// last two.
pub fn mask_whatsapp(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    if n <= 8 {
        let tail: String = digits[n.saturating_sub(2)..].iter().collect();
        return format!("***{tail}");
    }
    let head: String = digits[..4].iter().collect();
    let tail: String = digits[n - 3..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(n - 7))
}

/// One part of a profile's [`DataQuality`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QualityComponent {
    pub field: &'static str,
    pub available: bool,
    pub points: u32,
    pub max_points: u32,
}

/// How complete the stored data about a social profile is (`POST
/// /api/claim/social-profile/validate`): 20 points for each of `profile_name`, `avatar_url`,
/// `followers`, `following` and `content_count` that is stored; `complete` at 100, `partial`
/// at 60–80, `limited` at 0–40. It says nothing about whether the account is genuine or
/// whose it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataQuality {
    pub score: u32,
    pub label: &'static str,
    pub components: Vec<QualityComponent>,
    pub explanation: String,
}

/// The fields scored by [`data_quality`], in order.
pub const QUALITY_FIELDS: [&str; 5] = [
    "profile_name",
    "avatar_url",
    "followers",
    "following",
    "content_count",
];

/// Scores which of [`QUALITY_FIELDS`] are stored (`available[i]` for field `i`); `found`
/// is false when nothing about the profile is stored at all.
pub fn data_quality(found: bool, available: [bool; 5]) -> DataQuality {
    let components: Vec<QualityComponent> = QUALITY_FIELDS
        .iter()
        .zip(available)
        .map(|(field, ok)| QualityComponent {
            field,
            available: found && ok,
            points: if found && ok { 20 } else { 0 },
            max_points: 20,
        })
        .collect();
    let score = components.iter().map(|c| c.points).sum();
    let label = match score {
        100 => "complete",
        60..=99 => "partial",
        _ => "limited",
    };
    let explanation = if found {
        format!(
            "Skor {score}/100: kelengkapan data profil yang tersimpan di Cicero (5 komponen, masing-masing 20 poin). Skor ini bukan penilaian keaslian atau kepemilikan akun."
        )
    } else {
        "Profil ini belum tersimpan di Cicero, sehingga tidak ada data untuk dinilai. Ini tidak berarti akunnya tidak ada.".into()
    };
    DataQuality {
        score,
        label,
        components,
        explanation,
    }
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

    #[test]
    fn handle_problems_are_typed() {
        assert_eq!(check_insta("@Budi"), Ok("budi".into()));
        assert_eq!(check_insta("bu di"), Err(HandleProblem::Invalid));
        assert_eq!(check_insta("@CICERO_DEVS"), Err(HandleProblem::Reserved));
        assert_eq!(check_tiktok("tiktok.com/@Budi"), Ok("@budi".into()));
        assert_eq!(check_tiktok("cicero_devs"), Err(HandleProblem::Reserved));
        assert_eq!(check_tiktok(&"a".repeat(25)), Err(HandleProblem::Invalid));
    }

    #[test]
    fn portal_passwords() {
        for ok in ["Rahasia#2026", "abc123!x", "kata sandi 1!"] {
            assert_eq!(password_problem(ok, "75020201"), None, "{ok}");
        }
        for bad in [
            "",
            "Ab1!",
            "rahasia2026",
            "rahasia!!",
            "12345678!",
            "x75020201!",
            " Rahasia#2026",
        ] {
            assert!(password_problem(bad, "75020201").is_some(), "{bad}");
        }
        assert!(password_problem(&format!("Ab1!{}", "x".repeat(125)), "1").is_some());
    }

    #[test]
    fn masked_emails() {
        assert_eq!(mask_email("budi@polri.go.id"), "bu***@polri.go.id");
        assert_eq!(mask_email("ab@x.id"), "a***@x.id");
        assert_eq!(mask_email("b@x.id"), "b***@x.id");
        assert_eq!(mask_email("nope"), "***");
    }

    #[test]
    fn masked_whatsapp_numbers() {
        assert_eq!(mask_whatsapp("628123456789"), "6281*****789");
        assert_eq!(mask_whatsapp("6281234567"), "6281***567");
        assert_eq!(mask_whatsapp("62812345"), "***45");
        assert_eq!(mask_whatsapp(""), "***");
    }

    #[test]
    fn profile_data_quality() {
        let q = data_quality(true, [true; 5]);
        assert_eq!((q.score, q.label), (100, "complete"));
        let q = data_quality(true, [true, false, true, true, false]);
        assert_eq!((q.score, q.label), (60, "partial"));
        assert_eq!(q.components[1].field, "avatar_url");
        assert_eq!(
            (q.components[1].available, q.components[1].points),
            (false, 0)
        );
        let q = data_quality(true, [true, true, false, false, false]);
        assert_eq!((q.score, q.label), (40, "limited"));
        let q = data_quality(false, [true; 5]);
        assert_eq!((q.score, q.label), (0, "limited"));
        assert!(q.explanation.contains("belum tersimpan"));
    }
}

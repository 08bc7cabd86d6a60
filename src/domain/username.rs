//! Instagram and TikTok handle normalisation and matching (legacy §4c
//! "Username normalisation and matching", §4a/§4b fetchers).
//!
//! A handle is compared in its canonical form: trimmed, one leading `@`
//! removed, lower-cased. An empty canonical form means "no username".

/// The social platform a handle or an engagement set belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Instagram likes.
    Instagram,
    /// TikTok comments.
    TikTok,
}

/// Canonical form of a handle: trim, strip ONE leading `@`, lower-case.
///
/// This is the rule of the JS recaps for both `user.insta`
/// (`lower(strip-leading-@(trim(insta)))`) and `user.tiktok`, and of the
/// fetchers for stored likers (`@` stripped) and TikTok commenters
/// (`extractUsernamesFromComments`). Returns `None` for an empty handle.
pub fn normalize_handle(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let stripped = trimmed.strip_prefix('@').unwrap_or(trimmed);
    if stripped.is_empty() {
        None
    } else {
        Some(stripped.to_lowercase())
    }
}

/// The SQL recaps' variant: `lower(replace(trim(u.insta),'@',''))`, which
/// removes EVERY `@`, not only a leading one.
pub fn normalize_handle_sql(raw: &str) -> Option<String> {
    let removed: String = raw.trim().chars().filter(|c| *c != '@').collect();
    if removed.is_empty() {
        None
    } else {
        Some(removed.to_lowercase())
    }
}

/// A person's canonical handle on `platform`, `None` when missing or empty.
pub fn member_handle(
    insta: Option<&str>,
    tiktok: Option<&str>,
    platform: Platform,
) -> Option<String> {
    match platform {
        Platform::Instagram => insta.and_then(normalize_handle),
        Platform::TikTok => tiktok.and_then(normalize_handle),
    }
}

/// True when the person's raw handle matches one raw engagement entry
/// (a liker or a commenter), both taken to canonical form.
pub fn handle_matches(user_raw: &str, entry_raw: &str) -> bool {
    match (normalize_handle(user_raw), normalize_handle(entry_raw)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_handles() {
        // (raw, leading-@ rule, SQL every-@ rule)
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("budi", Some("budi"), Some("budi")),
            ("@Budi", Some("budi"), Some("budi")),
            (
                "  @Budi.Santoso  ",
                Some("budi.santoso"),
                Some("budi.santoso"),
            ),
            ("@@budi", Some("@budi"), Some("budi")),
            ("bu@di", Some("bu@di"), Some("budi")),
            ("@ budi", Some(" budi"), Some(" budi")),
            ("", None, None),
            ("   ", None, None),
            ("@", None, None),
            (" @ ", None, None),
            ("@@", Some("@"), None),
        ];
        for (raw, js, sql) in cases {
            assert_eq!(normalize_handle(raw).as_deref(), *js, "js {raw:?}");
            assert_eq!(normalize_handle_sql(raw).as_deref(), *sql, "sql {raw:?}");
        }
    }

    #[test]
    fn picks_the_platform_handle() {
        type Case = (
            Option<&'static str>,
            Option<&'static str>,
            Platform,
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            (
                Some("@Ig_One"),
                Some("@Tt_One"),
                Platform::Instagram,
                Some("ig_one"),
            ),
            (
                Some("@Ig_One"),
                Some("@Tt_One"),
                Platform::TikTok,
                Some("tt_one"),
            ),
            (None, Some("tt"), Platform::Instagram, None),
            (Some("ig"), Some("  "), Platform::TikTok, None),
            (Some("ig"), None, Platform::TikTok, None),
        ];
        for (ig, tt, platform, want) in cases {
            assert_eq!(member_handle(*ig, *tt, *platform).as_deref(), *want);
        }
    }

    #[test]
    fn matches_case_and_at_insensitively() {
        let cases = [
            ("@Budi", "budi", true),
            ("budi", "@BUDI", true),
            (" budi ", "budi", true),
            ("budi", "budi_", false),
            ("", "", false),
            ("@", "@", false),
            ("@@budi", "budi", false),
        ];
        for (user, entry, want) in cases {
            assert_eq!(handle_matches(user, entry), want, "{user:?} vs {entry:?}");
        }
    }
}

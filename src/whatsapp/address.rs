//! Chat ids as the legacy system formed them (§4(g) "Number normalisation", §3
//! `normalizeGroupId`, `getAdminWAIds`). Pure, table-tested.

/// Fewest digits a personal number may have (`minPhoneDigitLength`).
pub const MIN_PHONE_DIGITS: usize = 8;

/// `normalizeWhatsappNumber`: digits only; without a leading `62`, one leading `0` is dropped
/// and `62` prefixed.
pub fn normalize_number(raw: &str) -> String {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.starts_with("62") {
        digits
    } else {
        format!("62{}", digits.strip_prefix('0').unwrap_or(&digits))
    }
}

/// `normalizeUserWhatsAppId`: `62…@c.us`, or `None` under 8 digits. Ids already ending in
/// `@c.us` / `@s.whatsapp.net` are kept as they are.
pub fn user_chat_id(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.ends_with("@c.us") || t.ends_with("@s.whatsapp.net") {
        return Some(t.to_string());
    }
    let digits = t.chars().filter(char::is_ascii_digit).count();
    if digits < MIN_PHONE_DIGITS {
        return None;
    }
    Some(format!("{}@c.us", normalize_number(t)))
}

/// `normalizeGroupId`: 10–22 digits (old ids: `<creator>-<time>`) with an optional `@g.us`, or
/// a `chat.whatsapp.com(/invite)/` URL, to a lower-case `…@g.us`; anything else is `None`.
/// An invite URL's code is kept as the legacy did (lower-cased + `@g.us`).
pub fn group_chat_id(raw: &str) -> Option<String> {
    let t = raw.trim().to_ascii_lowercase();
    if let Some(i) = t.find("chat.whatsapp.com/") {
        let rest = &t[i + "chat.whatsapp.com/".len()..];
        let rest = rest.strip_prefix("invite/").unwrap_or(rest);
        let code = rest.split(['/', '?', '#']).next().unwrap_or_default();
        return (!code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric()))
            .then(|| format!("{code}@g.us"));
    }
    let id = t.strip_suffix("@g.us").unwrap_or(&t);
    let digits = id.chars().filter(char::is_ascii_digit).count();
    let shape_ok = id.chars().all(|c| c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id.matches('-').count() <= 1;
    (shape_ok && (10..=22).contains(&digits)).then(|| format!("{id}@g.us"))
}

/// The chat id of a `whatsapp_send` target: a group id / invite URL when it says so (`@g.us`,
/// `chat.whatsapp.com`), otherwise a personal number.
pub fn chat_id(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    if t.ends_with("@g.us") || t.contains("chat.whatsapp.com") {
        group_chat_id(t).ok_or_else(|| format!("{t:?} is not a WhatsApp group id"))
    } else {
        user_chat_id(t).ok_or_else(|| {
            format!("{t:?} is not a WhatsApp number (at least {MIN_PHONE_DIGITS} digits)")
        })
    }
}

/// Splits a legacy list field (`ADMIN_WHATSAPP`, `client_super`, `client_operator`) on commas,
/// semicolons and whitespace.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split([',', ';', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// WhatsApp's own cap on one text message; the legacy sent recaps whole, so only texts above
/// it are split (at line breaks).
pub const MAX_TEXT_CHARS: usize = 65_000;

/// Splits `text` into parts of at most `max` characters, at line breaks where possible. Texts
/// under the cap (every legacy recap) stay one message, as the legacy sent them.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    if text.chars().count() <= max {
        return vec![text.to_string()];
    }
    let mut parts = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        let mut line = line;
        while line.chars().count() > max {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur).trim_end_matches('\n').to_string());
            }
            let cut = line.char_indices().nth(max).map_or(line.len(), |(i, _)| i);
            parts.push(line[..cut].to_string());
            line = &line[cut..];
        }
        if cur.chars().count() + line.chars().count() > max {
            parts.push(std::mem::take(&mut cur).trim_end_matches('\n').to_string());
        }
        cur.push_str(line);
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let cases = [
            ("081234567890", Some("6281234567890@c.us")),
            ("6281234567890", Some("6281234567890@c.us")),
            ("+62 812-3456-7890", Some("6281234567890@c.us")),
            ("81234567890", Some("6281234567890@c.us")),
            ("6281234567890@c.us", Some("6281234567890@c.us")),
            (
                "6281234567890@s.whatsapp.net",
                Some("6281234567890@s.whatsapp.net"),
            ),
            ("0812345", None),
            ("", None),
        ];
        for (raw, want) in cases {
            assert_eq!(user_chat_id(raw).as_deref(), want, "{raw}");
        }
        assert_eq!(normalize_number("0812"), "62812");
    }

    #[test]
    fn groups() {
        let cases = [
            ("120363419830216549@g.us", Some("120363419830216549@g.us")),
            ("120363419830216549", Some("120363419830216549@g.us")),
            (
                "628123456-1612345678@g.us",
                Some("628123456-1612345678@g.us"),
            ),
            (
                "https://chat.whatsapp.com/AbCdEf123",
                Some("abcdef123@g.us"),
            ),
            (
                "https://chat.whatsapp.com/invite/AbCdEf123?x=1",
                Some("abcdef123@g.us"),
            ),
            ("123456789", None),
            ("12345678901234567890123", None),
            ("6281234567890-1612345678@g.us", None),
            ("abc@g.us", None),
            ("https://chat.whatsapp.com/", None),
        ];
        for (raw, want) in cases {
            assert_eq!(group_chat_id(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn send_targets() {
        assert_eq!(
            chat_id("0812 3456 7890").as_deref(),
            Ok("6281234567890@c.us")
        );
        assert_eq!(
            chat_id("120363419830216549@g.us").as_deref(),
            Ok("120363419830216549@g.us")
        );
        assert!(chat_id("12@g.us").unwrap_err().contains("group"));
        assert!(chat_id("12345").unwrap_err().contains("number"));
        assert_eq!(
            split_list("0811, 0812;0813 \n"),
            vec!["0811", "0812", "0813"]
        );
    }

    #[test]
    fn long_texts_split_at_lines() {
        assert_eq!(split_text("a\nb", 10), vec!["a\nb"]);
        assert_eq!(split_text("aaaa\nbbbb\ncc", 6), vec!["aaaa", "bbbb", "cc"]);
        assert_eq!(split_text("aa\nbb\ncc", 6), vec!["aa\nbb", "cc"]);
        assert_eq!(split_text("abcdefgh", 3), vec!["abc", "def", "gh"]);
        let parts = split_text(&"x\n".repeat(100), 50);
        assert!(parts.iter().all(|p| p.chars().count() <= 50));
        assert_eq!(parts.concat().matches('x').count(), 100);
    }
}

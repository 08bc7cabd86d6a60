//! Division and person ordering of the attendance recaps (legacy §4c
//! "Divisions": `sortDivisionKeys` and `sortUsersByPositionRankAndName`).
use std::cmp::Ordering;

/// Division prefixes in recap order; a division with none of them sorts last.
pub const DIVISION_PREFIX_ORDER: [&str; 5] = ["BAG", "SAT", "SI", "SPKT", "POLSEK"];

/// Position keywords (`jabatan`) in rank order.
pub const POSITION_ORDER: [&str; 7] = [
    "DIR", "WADIR", "KASUBDIT", "KABAG", "KASUBBAG", "KASAT", "KANIT",
];

/// Ranks (`title`, pangkat) in order; a title must equal one entry exactly.
pub const RANK_ORDER: [&str; 34] = [
    "KBP",
    "KOMISARIS BESAR POLISI",
    "AKBP",
    "KOMPOL",
    "AKP",
    "IPTU",
    "IPDA",
    "AIPTU",
    "AIPDA",
    "BRIPKA",
    "BRIGADIR",
    "BRIGPOL",
    "BRIGADIR POLISI",
    "BRIPTU",
    "BRIPDA",
    "PEMBINA UTAMA",
    "PEMBINA UTAMA MADYA",
    "PEMBINA UTAMA MUDA",
    "PEMBINA TINGKAT I",
    "PEMBINA",
    "PENATA TINGKAT I",
    "PENATA MUDA TINGKAT I",
    "PENATA MUDA",
    "PENATA",
    "PENGATUR TINGKAT I",
    "PENGATUR",
    "PENGATUR MUDA TINGKAT I",
    "PENGATUR MUDA",
    "JURU TINGKAT I",
    "JURU MUDA TINGKAT I",
    "JURU MUDA",
    "JURU",
    "PPPK",
    "PHL",
];

/// The division key of a person: the trimmed `divisi`, or `-` when empty.
pub fn division_key(divisi: &str) -> String {
    let t = divisi.trim();
    if t.is_empty() {
        "-".to_string()
    } else {
        t.to_string()
    }
}

fn division_rank(key: &str) -> usize {
    let upper = key.to_uppercase();
    DIVISION_PREFIX_ORDER
        .iter()
        .position(|p| upper.starts_with(p))
        .unwrap_or(DIVISION_PREFIX_ORDER.len())
}

/// `sortDivisionKeys`: the index of the first matching prefix (unknown last),
/// then `localeCompare` (default sensitivity).
pub fn compare_divisions(a: &str, b: &str) -> Ordering {
    division_rank(a)
        .cmp(&division_rank(b))
        .then_with(|| locale_compare(a, b))
}

/// Sorts division keys in recap order.
pub fn sort_divisions(keys: &mut [String]) {
    keys.sort_by(|a, b| compare_divisions(a, b));
}

/// Collation class of a character, approximating ICU root order:
/// whitespace and punctuation < digits < letters.
fn char_class(c: char) -> u8 {
    if c.is_alphabetic() {
        2
    } else if c.is_numeric() {
        1
    } else {
        0
    }
}

/// `localeCompare(a, b, 'id-ID', {sensitivity: 'base'})` approximated without
/// ICU: case-insensitive, character classes ordered as ICU's root collation.
pub fn locale_compare_base(a: &str, b: &str) -> Ordering {
    let ka = a
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| (char_class(c), c));
    let kb = b
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| (char_class(c), c));
    ka.cmp(kb)
}

/// `localeCompare(a, b)` with default (tertiary) sensitivity: base order,
/// then lower case before upper case as ICU does.
pub fn locale_compare(a: &str, b: &str) -> Ordering {
    locale_compare_base(a, b).then_with(|| {
        let swap = |s: &str| -> Vec<bool> { s.chars().map(char::is_uppercase).collect() };
        swap(a).cmp(&swap(b))
    })
}

/// `getPositionIndex`: the first keyword contained in the upper-cased
/// `jabatan`, searching the list backwards (so `WADIR` wins over `DIR`).
pub fn position_index(jabatan: &str) -> Option<usize> {
    if jabatan.is_empty() {
        return None;
    }
    let upper = jabatan.to_uppercase();
    (0..POSITION_ORDER.len())
        .rev()
        .find(|&i| upper.contains(POSITION_ORDER[i]))
}

/// `getRankIndex`: the upper-cased, trimmed `title` must equal an entry.
pub fn rank_index(title: &str) -> Option<usize> {
    let t = title.trim().to_uppercase();
    if t.is_empty() {
        return None;
    }
    RANK_ORDER.iter().position(|r| *r == t)
}

/// `getNamaPriorityIndex`: index in the priority list (compared trimmed and
/// upper-cased), or the list length when absent.
pub fn priority_index(nama: &str, priority_names: &[String]) -> usize {
    let n = nama.trim().to_uppercase();
    priority_names
        .iter()
        .position(|p| p.trim().to_uppercase() == n)
        .unwrap_or(priority_names.len())
}

/// The three fields a person is ordered by.
#[derive(Debug, Clone, Copy)]
pub struct PersonKey<'a> {
    /// Position (`jabatan`).
    pub jabatan: &'a str,
    /// Rank (`title`).
    pub title: &'a str,
    /// Name (`nama`).
    pub nama: &'a str,
}

/// Legacy JS subtraction of two indexes where a missing one is `Infinity`:
/// `Infinity - Infinity` is `NaN`, which `Array.prototype.sort` treats as 0.
/// Returns `None` when the JS code would go on to the next tie-breaker.
fn js_index_diff(a: Option<usize>, b: Option<usize>) -> Option<Ordering> {
    match (a, b) {
        (None, None) => Some(Ordering::Equal), // NaN: "equal", stop here
        (Some(_), None) => Some(Ordering::Less),
        (None, Some(_)) => Some(Ordering::Greater),
        (Some(x), Some(y)) if x != y => Some(x.cmp(&y)),
        _ => None,
    }
}

/// `sortUsersByPositionRankAndName` comparator, quirk included: when BOTH
/// people lack a position, or (same position and) BOTH lack a rank, the
/// comparator returns `Equal` and no later tie-breaker is applied.
pub fn compare_people(a: &PersonKey<'_>, b: &PersonKey<'_>, priority_names: &[String]) -> Ordering {
    if let Some(o) = js_index_diff(position_index(a.jabatan), position_index(b.jabatan)) {
        return o;
    }
    if let Some(o) = js_index_diff(rank_index(a.title), rank_index(b.title)) {
        return o;
    }
    priority_index(a.nama, priority_names)
        .cmp(&priority_index(b.nama, priority_names))
        .then_with(|| locale_compare_base(a.nama, b.nama))
}

/// Stable sort of people by [`compare_people`]; people the comparator calls
/// equal keep their original order.
pub fn sort_people<T>(
    items: &mut [T],
    key: impl Fn(&T) -> PersonKey<'_>,
    priority_names: &[String],
) {
    items.sort_by(|a, b| compare_people(&key(a), &key(b), priority_names));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_divisions_by_prefix_then_alphabet() {
        let cases: &[(&[&str], &[&str])] = &[
            (
                &[
                    "POLSEK KOTA",
                    "SI HUMAS",
                    "SAT BINMAS",
                    "BAG OPS",
                    "SPKT",
                    "-",
                    "SAT LANTAS",
                    "BAG SDM",
                ],
                &[
                    "BAG OPS",
                    "BAG SDM",
                    "SAT BINMAS",
                    "SAT LANTAS",
                    "SI HUMAS",
                    "SPKT",
                    "POLSEK KOTA",
                    "-",
                ],
            ),
            // unknown prefixes sort last, alphabetically among themselves
            (
                &["SUBBID PID", "POLSEK A", "DITBINMAS", "SIUM"],
                &["SIUM", "POLSEK A", "DITBINMAS", "SUBBID PID"],
            ),
            // prefix match is case-insensitive
            (&["sat x", "Bag y", "SIAGA"], &["Bag y", "sat x", "SIAGA"]),
            (&[], &[]),
        ];
        for (input, want) in cases {
            let mut keys: Vec<String> = input.iter().map(|s| s.to_string()).collect();
            sort_divisions(&mut keys);
            assert_eq!(keys, want.to_vec(), "{input:?}");
        }
    }

    #[test]
    fn division_key_defaults_to_dash() {
        let cases = [("", "-"), ("   ", "-"), (" SAT BINMAS ", "SAT BINMAS")];
        for (raw, want) in cases {
            assert_eq!(division_key(raw), want);
        }
    }

    #[test]
    fn finds_positions_backwards_and_ranks_exactly() {
        let pos: &[(&str, Option<usize>)] = &[
            ("DIR BINMAS", Some(0)),
            ("WADIR BINMAS", Some(1)),
            ("KASUBDIT BHABINKAMTIBMAS", Some(2)),
            ("kasat binmas", Some(5)),
            ("KANIT BINMAS", Some(6)),
            ("KASAT MERANGKAP KANIT", Some(6)), // reverse search: KANIT found first
            ("BANIT", None),
            ("", None),
        ];
        for (j, want) in pos {
            assert_eq!(position_index(j), *want, "{j:?}");
        }
        let ranks: &[(&str, Option<usize>)] = &[
            ("KBP", Some(0)),
            ("akbp", Some(2)),
            (" BRIPDA ", Some(14)),
            ("PENATA", Some(23)),
            ("JURU", Some(31)),
            ("PHL", Some(33)),
            ("BRIPDA.", None),
            ("", None),
        ];
        for (t, want) in ranks {
            assert_eq!(rank_index(t), *want, "{t:?}");
        }
    }

    fn k<'a>(j: &'a str, t: &'a str, n: &'a str) -> PersonKey<'a> {
        PersonKey {
            jabatan: j,
            title: t,
            nama: n,
        }
    }

    #[test]
    fn compares_people_with_the_nan_quirk() {
        let prio = vec!["ZULKIFLI".to_string()];
        let cases = [
            // position first
            (
                k("DIR", "BRIPDA", "B"),
                k("KANIT", "KBP", "A"),
                Ordering::Less,
            ),
            (
                k("", "KBP", "A"),
                k("KANIT", "BRIPDA", "Z"),
                Ordering::Greater,
            ),
            // both lack position: Equal although rank and name differ
            (
                k("BANIT", "KBP", "A"),
                k("", "BRIPDA", "Z"),
                Ordering::Equal,
            ),
            (
                k("", "BRIPDA", "Z"),
                k("BANIT", "KBP", "A"),
                Ordering::Equal,
            ),
            // same position, rank decides
            (
                k("KANIT A", "AKP", "Z"),
                k("KANIT B", "IPTU", "A"),
                Ordering::Less,
            ),
            (
                k("KANIT", "", "A"),
                k("KANIT", "IPTU", "Z"),
                Ordering::Greater,
            ),
            // same position, both lack rank: Equal although names differ
            (
                k("KANIT", "", "A"),
                k("KANIT", "SERSAN", "Z"),
                Ordering::Equal,
            ),
            // same position and rank: priority list, then name (case-insensitive)
            (
                k("KANIT", "AKP", "zulkifli"),
                k("KANIT", "AKP", "ADI"),
                Ordering::Less,
            ),
            (
                k("KANIT", "AKP", "ADI"),
                k("KANIT", "AKP", "budi"),
                Ordering::Less,
            ),
            (
                k("KANIT", "AKP", "adi"),
                k("KANIT", "AKP", "ADI"),
                Ordering::Equal,
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_people(&a, &b, &prio), want, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn sorting_keeps_original_order_for_quirk_ties() {
        // (jabatan, title, nama) in input order
        let input = [
            ("BANIT", "BRIPDA", "ZAINAL"),
            ("KANIT", "", "YUSUF"),
            ("", "KBP", "ANDI"),
            ("KASAT", "AKP", "BUDI"),
            ("KANIT", "", "ADI"),
            ("KANIT", "IPTU", "CITRA"),
            ("BAMIN", "", "BAYU"),
            ("DIR", "", "DEDI"),
        ];
        let mut v = input.to_vec();
        sort_people(&mut v, |p| k(p.0, p.1, p.2), &[]);
        let names: Vec<&str> = v.iter().map(|p| p.2).collect();
        // DIR, KASAT, then KANIT with a rank before the two rank-less KANITs
        // (kept in input order YUSUF, ADI), then the three without position in
        // input order (ZAINAL, ANDI, BAYU) — not by rank or name.
        assert_eq!(
            names,
            [
                "DEDI", "BUDI", "CITRA", "YUSUF", "ADI", "ZAINAL", "ANDI", "BAYU"
            ]
        );
    }

    #[test]
    fn locale_compare_approximates_icu() {
        let cases = [
            ("adi", "ADI", Ordering::Less), // tertiary: lower first
            ("A B", "AB", Ordering::Less),  // space before letters
            ("A1", "AA", Ordering::Less),   // digits before letters
        ];
        for (a, b, want) in cases {
            assert_eq!(locale_compare(a, b), want, "{a:?} vs {b:?}");
        }
        assert_eq!(locale_compare_base("adi", "ADI"), Ordering::Equal);
    }
}

//! Attendance ("absensi") for Instagram likes and TikTok comments, every
//! variant of legacy §4c "Variants and thresholds".
use std::collections::{BTreeMap, HashSet};

use crate::domain::ordering::{
    PersonKey, compare_divisions, division_key, locale_compare, sort_people,
};
use crate::domain::username::{Platform, member_handle, normalize_handle};

/// One active member of personnel (legacy `"user"`, §1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    /// NRP/NIP.
    pub user_id: String,
    /// Name (`nama`), stored upper-case.
    pub nama: String,
    /// Rank (`title`, pangkat).
    pub title: String,
    /// Division (`divisi`, satfung).
    pub divisi: String,
    /// Position (`jabatan`).
    pub jabatan: String,
    /// Instagram handle as entered.
    pub insta: Option<String>,
    /// TikTok handle as entered.
    pub tiktok: Option<String>,
    /// The member's client (Polres / satker).
    pub client_id: String,
    /// `exception = true`: always counted as having done the task.
    pub exception: bool,
}

impl Member {
    fn key(&self) -> PersonKey<'_> {
        PersonKey {
            jabatan: &self.jabatan,
            title: &self.title,
            nama: &self.nama,
        }
    }
}

/// One of today's posts with its stored likers (IG) or commenters (TikTok).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostEngagement {
    /// Shortcode (IG) or video id (TikTok).
    pub id: String,
    /// Raw liker / commenter entries (with or without `@`, any case).
    pub engaged: Vec<String>,
}

/// How many posts a member must have engaged with to count as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// Every post (`count >= posts`): org mode and the "simple" reports.
    AllPosts,
    /// Half the posts: likes `>= 50%`, comments `>= ceil(posts/2)` (the same
    /// set for integer counts): the direktorat per-Polres modes.
    Half,
}

impl Threshold {
    /// The number of posts needed out of `posts`.
    pub fn required(self, posts: usize) -> usize {
        match self {
            Threshold::AllPosts => posts,
            Threshold::Half => posts.div_ceil(2),
        }
    }
}

/// A member's attendance status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Done (`lengkap` / `sudah`).
    Complete,
    /// Some but not enough (`kurang`).
    Partial,
    /// Nothing (`belum`).
    None,
    /// No handle on the platform ("belum update username").
    NoHandle,
}

/// One member's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score<'a> {
    /// The member.
    pub member: &'a Member,
    /// Canonical handle, `None` when missing.
    pub handle: Option<String>,
    /// Number of today's posts the member engaged with.
    pub count: usize,
    /// Status under the threshold used.
    pub status: Status,
}

/// Classifies a count: no handle first, then `count >= required` is
/// complete, `> 0` partial, else none.
pub fn classify(has_handle: bool, count: usize, posts: usize, threshold: Threshold) -> Status {
    if !has_handle {
        Status::NoHandle
    } else if count >= threshold.required(posts) && count > 0 {
        Status::Complete
    } else if count > 0 {
        Status::Partial
    } else {
        Status::None
    }
}

/// Scores every member against today's posts. An exception member with a
/// handle counts as having engaged with every post (the legacy fetchers add
/// exception handles to every post's set); without a handle they are
/// [`Status::NoHandle`] like anyone else.
pub fn score_members<'a>(
    members: &'a [Member],
    posts: &[PostEngagement],
    platform: Platform,
    threshold: Threshold,
) -> Vec<Score<'a>> {
    let sets: Vec<HashSet<String>> = posts
        .iter()
        .map(|p| {
            p.engaged
                .iter()
                .filter_map(|e| normalize_handle(e))
                .collect()
        })
        .collect();
    members
        .iter()
        .map(|m| {
            let handle = member_handle(m.insta.as_deref(), m.tiktok.as_deref(), platform);
            let count = match &handle {
                None => 0,
                Some(_) if m.exception => posts.len(),
                Some(h) => sets.iter().filter(|s| s.contains(h)).count(),
            };
            let status = classify(handle.is_some(), count, posts.len(), threshold);
            Score {
                member: m,
                handle,
                count,
                status,
            }
        })
        .collect()
}

/// The three lists of one division in org mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DivisionGroup<'a> {
    /// Division key (`-` when empty).
    pub name: String,
    /// `count >= posts`.
    pub complete: Vec<Score<'a>>,
    /// `0 < count < posts`.
    pub partial: Vec<Score<'a>>,
    /// No engagement, or no handle.
    pub none: Vec<Score<'a>>,
}

impl DivisionGroup<'_> {
    /// Members in the division.
    pub fn len(&self) -> usize {
        self.complete.len() + self.partial.len() + self.none.len()
    }

    /// True when the division has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Org/operator report (`absensiLikes` org mode, `absensiKomentar` operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgReport<'a> {
    /// Number of today's posts.
    pub post_count: usize,
    /// Divisions in recap order, people ordered inside each list.
    pub divisions: Vec<DivisionGroup<'a>>,
}

impl OrgReport<'_> {
    /// All members.
    pub fn total(&self) -> usize {
        self.divisions.iter().map(DivisionGroup::len).sum()
    }
    /// Members done.
    pub fn complete(&self) -> usize {
        self.divisions.iter().map(|d| d.complete.len()).sum()
    }
    /// Members partly done.
    pub fn partial(&self) -> usize {
        self.divisions.iter().map(|d| d.partial.len()).sum()
    }
    /// Members not done or without handle.
    pub fn none(&self) -> usize {
        self.divisions.iter().map(|d| d.none.len()).sum()
    }
}

/// Builds the org-mode report: `lengkap` = count >= posts, `kurang` =
/// 0 < count < posts, `belum` = 0 or no handle; grouped by division.
pub fn org_report<'a>(
    members: &'a [Member],
    posts: &[PostEngagement],
    platform: Platform,
    priority_names: &[String],
) -> OrgReport<'a> {
    let mut by_div: BTreeMap<String, Vec<Score<'a>>> = BTreeMap::new();
    for s in score_members(members, posts, platform, Threshold::AllPosts) {
        by_div
            .entry(division_key(&s.member.divisi))
            .or_default()
            .push(s);
    }
    let mut divisions: Vec<DivisionGroup<'a>> = by_div
        .into_iter()
        .map(|(name, mut scores)| {
            sort_people(&mut scores, |s| s.member.key(), priority_names);
            let mut g = DivisionGroup {
                name,
                complete: Vec::new(),
                partial: Vec::new(),
                none: Vec::new(),
            };
            for s in scores {
                match s.status {
                    Status::Complete => g.complete.push(s),
                    Status::Partial => g.partial.push(s),
                    Status::None | Status::NoHandle => g.none.push(s),
                }
            }
            g
        })
        .collect();
    divisions.sort_by(|a, b| compare_divisions(&a.name, &b.name));
    OrgReport {
        post_count: posts.len(),
        divisions,
    }
}

/// A client (Polres / satker) as the reports need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// `client_id`.
    pub client_id: String,
    /// `nama`.
    pub nama: String,
    /// The official TikTok handle (`client_tiktok`), if any.
    pub tiktok: Option<String>,
}

/// One unit's counts in a direktorat report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitSummary {
    /// Client id.
    pub client_id: String,
    /// Client name.
    pub nama: String,
    /// Members.
    pub total: usize,
    /// Reached the threshold (`sudah`, shown as "lengkap").
    pub complete: usize,
    /// Some but below the threshold.
    pub partial: usize,
    /// Handle but nothing.
    pub none: usize,
    /// No handle.
    pub no_handle: usize,
}

/// Totals over all units.
pub fn sum_units(units: &[UnitSummary]) -> UnitSummary {
    units.iter().fold(UnitSummary::default(), |mut acc, u| {
        acc.total += u.total;
        acc.complete += u.complete;
        acc.partial += u.partial;
        acc.none += u.none;
        acc.no_handle += u.no_handle;
        acc
    })
}

/// How the per-Polres list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitOrder {
    /// Likes: pinned unit first, then `sudah` desc, members desc, name.
    Likes,
    /// Comments: pinned first, units with >= 100 members by `sudah/total`
    /// desc, then the others by `sudah` desc (ties: members desc, name).
    Comments,
}

/// Units with at least this many members are ranked by ratio (comments).
pub const LARGE_UNIT: usize = 100;

fn compare_units(
    a: &UnitSummary,
    b: &UnitSummary,
    order: UnitOrder,
    pinned: &str,
) -> std::cmp::Ordering {
    let pa = !a.client_id.eq_ignore_ascii_case(pinned);
    let pb = !b.client_id.eq_ignore_ascii_case(pinned);
    let tail = |x: &UnitSummary, y: &UnitSummary| {
        y.total
            .cmp(&x.total)
            .then_with(|| locale_compare(&x.nama, &y.nama))
    };
    pa.cmp(&pb).then_with(|| match order {
        UnitOrder::Likes => b.complete.cmp(&a.complete).then_with(|| tail(a, b)),
        UnitOrder::Comments => {
            let la = a.total < LARGE_UNIT;
            let lb = b.total < LARGE_UNIT;
            la.cmp(&lb).then_with(|| {
                if !la {
                    // b.complete/b.total vs a.complete/a.total, cross-multiplied
                    (b.complete * a.total)
                        .cmp(&(a.complete * b.total))
                        .then_with(|| tail(a, b))
                } else {
                    b.complete.cmp(&a.complete).then_with(|| tail(a, b))
                }
            })
        }
    })
}

/// Direktorat per-Polres report (likes >= 50%, comments >= ceil(posts/2)).
/// Every client in `clients` gets an entry (zero members included); members
/// of a client not in the list get an entry named by their client id.
/// `pinned_client_id` (DITBINMAS) is listed first.
pub fn directorate_report(
    members: &[Member],
    clients: &[ClientInfo],
    posts: &[PostEngagement],
    platform: Platform,
    order: UnitOrder,
    pinned_client_id: &str,
) -> Vec<UnitSummary> {
    let mut units: Vec<UnitSummary> = clients
        .iter()
        .map(|c| UnitSummary {
            client_id: c.client_id.clone(),
            nama: c.nama.clone(),
            ..UnitSummary::default()
        })
        .collect();
    for s in score_members(members, posts, platform, Threshold::Half) {
        let idx = match units
            .iter()
            .position(|u| u.client_id.eq_ignore_ascii_case(&s.member.client_id))
        {
            Some(i) => i,
            None => {
                units.push(UnitSummary {
                    client_id: s.member.client_id.clone(),
                    nama: s.member.client_id.clone(),
                    ..UnitSummary::default()
                });
                units.len() - 1
            }
        };
        let u = &mut units[idx];
        u.total += 1;
        match s.status {
            Status::Complete => u.complete += 1,
            Status::Partial => u.partial += 1,
            Status::None => u.none += 1,
            Status::NoHandle => u.no_handle += 1,
        }
    }
    units.sort_by(|a, b| compare_units(a, b, order, pinned_client_id));
    units
}

/// The "simple" reports (likes menu 6, comments menu 9): flat lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleReport<'a> {
    /// Number of today's posts.
    pub post_count: usize,
    /// `count >= posts` (comments: `count == posts`, the same set).
    pub complete: Vec<Score<'a>>,
    /// `> 0`.
    pub partial: Vec<Score<'a>>,
    /// `0` with a handle.
    pub none: Vec<Score<'a>>,
    /// No handle.
    pub no_handle: Vec<Score<'a>>,
}

/// Builds a simple report over the given (already role-filtered) members.
pub fn simple_report<'a>(
    members: &'a [Member],
    posts: &[PostEngagement],
    platform: Platform,
    priority_names: &[String],
) -> SimpleReport<'a> {
    let mut scores = score_members(members, posts, platform, Threshold::AllPosts);
    sort_people(&mut scores, |s| s.member.key(), priority_names);
    let mut r = SimpleReport {
        post_count: posts.len(),
        complete: Vec::new(),
        partial: Vec::new(),
        none: Vec::new(),
        no_handle: Vec::new(),
    };
    for s in scores {
        match s.status {
            Status::Complete => r.complete.push(s),
            Status::Partial => r.partial.push(s),
            Status::None => r.none.push(s),
            Status::NoHandle => r.no_handle.push(s),
        }
    }
    r
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn member(
        id: &str,
        nama: &str,
        title: &str,
        divisi: &str,
        jabatan: &str,
        insta: Option<&str>,
    ) -> Member {
        Member {
            user_id: id.to_string(),
            nama: nama.to_string(),
            title: title.to_string(),
            divisi: divisi.to_string(),
            jabatan: jabatan.to_string(),
            insta: insta.map(str::to_string),
            tiktok: insta.map(|h| format!("@{}", h.trim_start_matches('@'))),
            client_id: "POLRES_A".to_string(),
            exception: false,
        }
    }

    pub(crate) fn post(id: &str, engaged: &[&str]) -> PostEngagement {
        PostEngagement {
            id: id.to_string(),
            engaged: engaged.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn thresholds_and_ties() {
        // (has_handle, count, posts, threshold, want)
        let cases = [
            (true, 3, 3, Threshold::AllPosts, Status::Complete),
            (true, 2, 3, Threshold::AllPosts, Status::Partial),
            (true, 0, 3, Threshold::AllPosts, Status::None),
            (false, 3, 3, Threshold::AllPosts, Status::NoHandle),
            // 50% tie: 2 of 4 is enough, 1 of 4 is not
            (true, 2, 4, Threshold::Half, Status::Complete),
            (true, 1, 4, Threshold::Half, Status::Partial),
            // ceil(3/2) = 2
            (true, 2, 3, Threshold::Half, Status::Complete),
            (true, 1, 3, Threshold::Half, Status::Partial),
            (true, 1, 1, Threshold::Half, Status::Complete),
            // empty day: nobody is complete
            (true, 0, 0, Threshold::AllPosts, Status::None),
            (true, 0, 0, Threshold::Half, Status::None),
        ];
        for (h, c, p, t, want) in cases {
            assert_eq!(classify(h, c, p, t), want, "{h} {c}/{p} {t:?}");
        }
        assert_eq!(Threshold::Half.required(5), 3);
        assert_eq!(Threshold::AllPosts.required(5), 5);
    }

    #[test]
    fn scores_handles_exceptions_and_missing_handles() {
        let mut members = vec![
            member("1", "ADI", "", "", "", Some("@Adi.IG")),
            member("2", "BUDI", "", "", "", Some("budi")),
            member("3", "CICI", "", "", "", None),
            member("4", "DEDI", "", "", "", Some("dedi")),
            member("5", "EKO", "", "", "", Some("  ")),
            member("6", "FAJAR", "", "", "", None),
        ];
        members[3].exception = true; // exception with handle: done everywhere
        members[5].exception = true; // exception without handle: still no handle
        let posts = [
            post("p1", &["adi.ig", "BUDI", "budi"]),
            post("p2", &["@ADI.IG"]),
            post("p3", &[]),
        ];
        let got: Vec<(usize, Status)> =
            score_members(&members, &posts, Platform::Instagram, Threshold::AllPosts)
                .iter()
                .map(|s| (s.count, s.status))
                .collect();
        assert_eq!(
            got,
            [
                (2, Status::Partial),
                (1, Status::Partial),
                (0, Status::NoHandle),
                (3, Status::Complete),
                (0, Status::NoHandle),
                (0, Status::NoHandle),
            ]
        );
        // TikTok uses the tiktok field ("@adi.ig" here) against commenters
        let tt = [post("v1", &["@adi.ig"]), post("v2", &["@ADI.IG", "@dedi"])];
        let got: Vec<usize> = score_members(&members, &tt, Platform::TikTok, Threshold::Half)
            .iter()
            .map(|s| s.count)
            .collect();
        assert_eq!(got, [2, 0, 0, 2, 0, 0]);
    }

    #[test]
    fn org_report_groups_orders_and_splits() {
        let members = vec![
            member("1", "ZAKI", "BRIPDA", "SAT BINMAS", "BANIT", Some("zaki")),
            member(
                "2",
                "YANI",
                "AKP",
                "SAT BINMAS",
                "KASAT BINMAS",
                Some("yani"),
            ),
            member("3", "XENA", "IPDA", "BAG OPS", "KABAG OPS", None),
            member("4", "WATI", "BRIPTU", "", "", Some("wati")),
            member("5", "VINO", "AIPTU", "SAT BINMAS", "BAMIN", Some("vino")),
            member("6", "UDIN", "BRIPKA", "POLSEK KOTA", "KANIT", Some("udin")),
        ];
        let posts = [
            post("a", &["zaki", "yani", "udin"]),
            post("b", &["yani", "vino"]),
        ];
        let r = org_report(&members, &posts, Platform::Instagram, &[]);
        type Shape<'s> = (String, Vec<&'s str>, Vec<&'s str>, Vec<&'s str>);
        let shape: Vec<Shape<'_>> = r
            .divisions
            .iter()
            .map(|d| {
                fn names<'m>(v: &[Score<'m>]) -> Vec<&'m str> {
                    v.iter().map(|s| s.member.nama.as_str()).collect()
                }
                (
                    d.name.clone(),
                    names(&d.complete),
                    names(&d.partial),
                    names(&d.none),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("BAG OPS".to_string(), vec![], vec![], vec!["XENA"]),
                // KASAT first; ZAKI and VINO both lack a position: input order kept
                (
                    "SAT BINMAS".to_string(),
                    vec!["YANI"],
                    vec!["ZAKI", "VINO"],
                    vec![]
                ),
                ("POLSEK KOTA".to_string(), vec![], vec!["UDIN"], vec![]),
                ("-".to_string(), vec![], vec![], vec!["WATI"]),
            ]
        );
        assert_eq!(
            (r.total(), r.complete(), r.partial(), r.none()),
            (6, 1, 3, 2)
        );

        // empty day: everybody is "belum"
        let r = org_report(&members, &[], Platform::Instagram, &[]);
        assert_eq!(
            (r.post_count, r.complete(), r.partial(), r.none()),
            (0, 0, 0, 6)
        );
    }

    fn unit_members(
        client: &str,
        n: usize,
        done: usize,
        partial: usize,
        no_handle: usize,
    ) -> Vec<Member> {
        (0..n)
            .map(|i| {
                let h = format!("{client}_{i}").to_lowercase();
                let mut m = member(
                    &format!("{client}{i}"),
                    &format!("N{i}"),
                    "",
                    "",
                    "",
                    Some(&h),
                );
                m.client_id = client.to_string();
                if i >= done + partial && i < done + partial + no_handle {
                    m.insta = None;
                    m.tiktok = None;
                }
                m
            })
            .collect()
    }

    /// Posts where the first `done` members of each unit engaged with 2 of 3
    /// posts (>= ceil(3/2)) and the next `partial` with 1.
    fn unit_posts(units: &[(&str, usize, usize)]) -> Vec<PostEngagement> {
        let mut p = vec![post("p1", &[]), post("p2", &[]), post("p3", &[])];
        for (client, done, partial) in units {
            for i in 0..*done {
                let h = format!("@{client}_{i}").to_lowercase();
                p[0].engaged.push(h.clone());
                p[1].engaged.push(h);
            }
            for i in *done..done + partial {
                p[2].engaged.push(format!("@{client}_{i}").to_lowercase());
            }
        }
        p
    }

    #[test]
    fn directorate_comments_rank_large_units_by_ratio() {
        // (client, members, done, partial, no handle)
        let spec = [
            ("DITBINMAS", 5, 0, 0, 0),
            ("BIG1", 120, 60, 10, 5),  // 50%
            ("BIG2", 100, 70, 0, 0),   // 70%
            ("SMALL1", 40, 39, 1, 0),  // most sudah, but small
            ("SMALL2", 99, 20, 0, 10), // just below the 100 mark
        ];
        let mut members = Vec::new();
        for (c, n, d, p, nh) in spec {
            members.extend(unit_members(c, n, d, p, nh));
        }
        let posts = unit_posts(&spec.map(|(c, _, d, p, _)| (c, d, p)));
        let clients: Vec<ClientInfo> = ["SMALL2", "BIG1", "DITBINMAS", "SMALL1", "BIG2", "EMPTY"]
            .iter()
            .map(|c| ClientInfo {
                client_id: c.to_string(),
                nama: format!("POLRES {c}"),
                tiktok: None,
            })
            .collect();
        let units = directorate_report(
            &members,
            &clients,
            &posts,
            Platform::TikTok,
            UnitOrder::Comments,
            "ditbinmas",
        );
        let order: Vec<&str> = units.iter().map(|u| u.client_id.as_str()).collect();
        assert_eq!(
            order,
            ["DITBINMAS", "BIG2", "BIG1", "SMALL1", "SMALL2", "EMPTY"]
        );
        let big1 = &units[2];
        assert_eq!(
            (
                big1.total,
                big1.complete,
                big1.partial,
                big1.none,
                big1.no_handle
            ),
            (120, 60, 10, 45, 5)
        );
        let t = sum_units(&units);
        assert_eq!((t.total, t.complete, t.no_handle), (364, 189, 15));

        // likes ordering: pinned first, then sudah count desc (BIG2 70 > BIG1 60 > SMALL1 39)
        let units = directorate_report(
            &members,
            &clients,
            &posts,
            Platform::Instagram,
            UnitOrder::Likes,
            "DITBINMAS",
        );
        let order: Vec<&str> = units.iter().map(|u| u.client_id.as_str()).collect();
        assert_eq!(
            order,
            ["DITBINMAS", "BIG2", "BIG1", "SMALL1", "SMALL2", "EMPTY"]
        );
    }

    #[test]
    fn directorate_ties_break_on_members_then_name() {
        let spec = [("B", 10, 5, 0, 0), ("A", 10, 5, 0, 0), ("C", 12, 5, 0, 0)];
        let mut members = Vec::new();
        for (c, n, d, p, nh) in spec {
            members.extend(unit_members(c, n, d, p, nh));
        }
        let posts = unit_posts(&spec.map(|(c, _, d, p, _)| (c, d, p)));
        let units = directorate_report(
            &members,
            &[],
            &posts,
            Platform::Instagram,
            UnitOrder::Likes,
            "X",
        );
        let order: Vec<&str> = units.iter().map(|u| u.nama.as_str()).collect();
        assert_eq!(order, ["C", "A", "B"]);
    }

    #[test]
    fn simple_report_splits_four_ways() {
        let mut members = vec![
            member("1", "ADI", "IPTU", "", "", Some("adi")),
            member("2", "BUDI", "AKP", "", "", Some("budi")),
            member("3", "CICI", "", "", "", None),
            member("4", "DEDI", "", "", "", Some("dedi")),
        ];
        members[3].exception = true;
        let posts = [post("a", &["adi", "budi"]), post("b", &["budi"])];
        let r = simple_report(&members, &posts, Platform::Instagram, &[]);
        let names = |v: &[Score<'_>]| v.iter().map(|s| s.member.nama.clone()).collect::<Vec<_>>();
        assert_eq!(names(&r.complete), ["BUDI", "DEDI"]);
        assert_eq!(names(&r.partial), ["ADI"]);
        assert!(r.none.is_empty());
        assert_eq!(names(&r.no_handle), ["CICI"]);
    }
}

//! `export_recap`: builds a recap workbook (xlsx) for the dashboard and stores it as the job's
//! file (`cicero.job_files`), downloaded with `GET /api/exports/{id}/file`. The HTTP side
//! resolves and checks the caller's scope before enqueueing, so the payload carries the
//! resolved scope (which people, which posts), not the raw query.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Backoff, Job, JobSpec, PayloadError};

/// What the workbook holds (legacy §4(d) layouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// Instagram likes per person (legacy likes recap layout).
    Likes,
    /// TikTok comments per person.
    Comments,
    /// Link amplification per person (`/api/amplify/rekap/excel`).
    Amplify,
    /// ANEV: likes and comments per person against the expected actions
    /// (`/api/dashboard/anev/export`).
    Anev,
    /// One column per Instagram post of the period, 1/0 per person
    /// (`Rekap_Likes_Per_Konten_Instagram_…`).
    LikesPerContent,
    /// One column per TikTok video of the period, 1/0 per person
    /// (`Rekap_Komentar_Per_Konten_Tiktok_…`).
    CommentsPerContent,
    /// One row per satker: personnel, Instagram and TikTok sudah / belum / no username
    /// (`<client>_Rekap_Ranking_Engagement_…`); needs `period`.
    EngagementRanking,
    /// The month's link reports (`<client>_<Month>.xlsx`, `GET /api/link-reports/excel`).
    LinkReport,
    /// The same from `link_report_khusus`.
    LinkReportKhusus,
    /// One person's link report for one post (`GET /api/link-reports/excel/by-user-shortcode`);
    /// needs `user_id` and `shortcode`.
    LinkReportDetail,
    /// The same from `link_report_khusus`.
    LinkReportDetailKhusus,
    /// Monthly Instagram likes per Polres from September (`Instagram All Data`).
    InstagramAllData,
    /// Monthly TikTok comments per Polres from September (`TikTok All Data`).
    TiktokAllData,
}

impl ExportKind {
    /// Every kind, for error messages and docs.
    pub const ALL: &[ExportKind] = &[
        ExportKind::Likes,
        ExportKind::Comments,
        ExportKind::Amplify,
        ExportKind::Anev,
        ExportKind::LikesPerContent,
        ExportKind::CommentsPerContent,
        ExportKind::EngagementRanking,
        ExportKind::LinkReport,
        ExportKind::LinkReportKhusus,
        ExportKind::LinkReportDetail,
        ExportKind::LinkReportDetailKhusus,
        ExportKind::InstagramAllData,
        ExportKind::TiktokAllData,
    ];

    /// The wire name (`likes_per_content`, …).
    pub fn name(self) -> &'static str {
        match self {
            ExportKind::Likes => "likes",
            ExportKind::Comments => "comments",
            ExportKind::Amplify => "amplify",
            ExportKind::Anev => "anev",
            ExportKind::LikesPerContent => "likes_per_content",
            ExportKind::CommentsPerContent => "comments_per_content",
            ExportKind::EngagementRanking => "engagement_ranking",
            ExportKind::LinkReport => "link_report",
            ExportKind::LinkReportKhusus => "link_report_khusus",
            ExportKind::LinkReportDetail => "link_report_detail",
            ExportKind::LinkReportDetailKhusus => "link_report_detail_khusus",
            ExportKind::InstagramAllData => "instagram_all_data",
            ExportKind::TiktokAllData => "tiktok_all_data",
        }
    }

    /// The kind of a wire name, any case.
    pub fn parse(raw: &str) -> Option<ExportKind> {
        let raw = raw.trim().to_ascii_lowercase();
        Self::ALL.iter().copied().find(|k| k.name() == raw)
    }

    fn needs_person(self) -> bool {
        matches!(
            self,
            ExportKind::LinkReportDetail | ExportKind::LinkReportDetailKhusus
        )
    }
}

/// The engagement ranking's period (legacy `resolvePeriodRange`), in Jakarta days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankingPeriod {
    Today,
    Yesterday,
    /// Monday to Sunday of this week.
    ThisWeek,
    LastWeek,
    ThisMonth,
    LastMonth,
}

impl RankingPeriod {
    pub const ALL: &[RankingPeriod] = &[
        RankingPeriod::Today,
        RankingPeriod::Yesterday,
        RankingPeriod::ThisWeek,
        RankingPeriod::LastWeek,
        RankingPeriod::ThisMonth,
        RankingPeriod::LastMonth,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RankingPeriod::Today => "today",
            RankingPeriod::Yesterday => "yesterday",
            RankingPeriod::ThisWeek => "this_week",
            RankingPeriod::LastWeek => "last_week",
            RankingPeriod::ThisMonth => "this_month",
            RankingPeriod::LastMonth => "last_month",
        }
    }

    pub fn parse(raw: &str) -> Option<RankingPeriod> {
        let raw = raw.trim().to_ascii_lowercase();
        Self::ALL.iter().copied().find(|p| p.name() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRecap {
    pub kind: ExportKind,
    /// The client as stored.
    pub client_id: String,
    /// Directorate mode: members are holders of `role_filter` across clients.
    #[serde(default)]
    pub directorate: bool,
    /// Role members must hold (legacy buildClientFilter).
    #[serde(default)]
    pub role_filter: Option<String>,
    /// Upper-case regional filter.
    #[serde(default)]
    pub regional_id: Option<String>,
    /// Whose official posts count.
    pub post_owner: String,
    /// Half-open period `[start, end)`. For the link-report detail it is not used.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Dashboard account that asked (only it, or an admin, may download).
    #[serde(default)]
    pub requested_by: Option<String>,
    /// `engagement_ranking` only (and required there): names the period in the title and the
    /// file name; `start`/`end` are that period's days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<RankingPeriod>,
    /// `link_report_detail[_khusus]` only (and required there): the person (NRP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `link_report_detail[_khusus]` only (and required there): the post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortcode: Option<String>,
}

impl ExportRecap {
    /// What serde cannot say: the period is ordered, and each kind's own fields are present
    /// where required and absent elsewhere (so a mistyped kind is not silently another export).
    pub fn check(&self) -> Result<(), PayloadError> {
        let err = |field: &str, message: String| {
            Err(PayloadError {
                field: field.into(),
                message,
            })
        };
        if self.end <= self.start {
            return err("end", "must be after start".into());
        }
        if self.client_id.trim().is_empty() {
            return err("client_id", "must not be empty".into());
        }
        let ranking = self.kind == ExportKind::EngagementRanking;
        match (&self.period, ranking) {
            (None, true) => {
                let names: Vec<&str> = RankingPeriod::ALL.iter().map(|p| p.name()).collect();
                return err(
                    "period",
                    format!(
                        "required for kind engagement_ranking (one of {})",
                        names.join(", ")
                    ),
                );
            }
            (Some(_), false) => {
                return err(
                    "period",
                    format!("only for kind engagement_ranking, not {}", self.kind.name()),
                );
            }
            _ => {}
        }
        for (field, value) in [("user_id", &self.user_id), ("shortcode", &self.shortcode)] {
            let given = value.as_deref().is_some_and(|v| !v.trim().is_empty());
            if self.kind.needs_person() && !given {
                return err(field, format!("required for kind {}", self.kind.name()));
            }
            if !self.kind.needs_person() && value.is_some() {
                return err(
                    field,
                    format!(
                        "only for kinds link_report_detail and link_report_detail_khusus, not {}",
                        self.kind.name()
                    ),
                );
            }
        }
        Ok(())
    }
}

impl Job for ExportRecap {
    const SPEC: JobSpec = JobSpec {
        kind: "export_recap",
        queue: "exports",
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 2_000,
            max_ms: 60_000,
            jitter: 0.2,
        },
        timeout_ms: 300_000,
        summary: "Builds a dashboard workbook (recaps, per-content, engagement ranking, link reports, all data)",
        example: r#"{"kind":"likes","client_id":"KEDIRI","post_owner":"KEDIRI","start":"2026-02-06T17:00:00Z","end":"2026-02-07T17:00:00Z"}"#,
        unique: None,
        rate_key: None,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(extra: serde_json::Value) -> serde_json::Value {
        let mut p = json!({"kind": "likes", "client_id": "KEDIRI", "post_owner": "KEDIRI",
            "start": "2026-02-06T17:00:00Z", "end": "2026-02-07T17:00:00Z"});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    }

    /// Ok, or the offending field and a word of its message.
    type Want = Result<(), (&'static str, &'static str)>;

    #[test]
    fn kind_specific_fields_are_checked() {
        // (extra fields, what check says)
        let cases: &[(serde_json::Value, Want)] = &[
            (json!({}), Ok(())),
            (json!({"kind": "likes_per_content"}), Ok(())),
            (
                json!({"kind": "engagement_ranking", "period": "last_week"}),
                Ok(()),
            ),
            (
                json!({"kind": "engagement_ranking"}),
                Err(("period", "required")),
            ),
            (
                json!({"kind": "likes", "period": "today"}),
                Err(("period", "only for")),
            ),
            (
                json!({"kind": "link_report_detail", "user_id": "75020001", "shortcode": "P1"}),
                Ok(()),
            ),
            (
                json!({"kind": "link_report_detail_khusus", "user_id": "75020001"}),
                Err(("shortcode", "required")),
            ),
            (
                json!({"kind": "link_report_detail", "user_id": " ", "shortcode": "P1"}),
                Err(("user_id", "required")),
            ),
            (
                json!({"kind": "link_report", "user_id": "1"}),
                Err(("user_id", "only for")),
            ),
            (
                json!({"end": "2026-02-06T17:00:00Z"}),
                Err(("end", "after start")),
            ),
        ];
        for (extra, want) in cases {
            let p: ExportRecap = serde_json::from_value(payload(extra.clone())).unwrap();
            match (p.check(), want) {
                (Ok(()), Ok(())) => {}
                (Err(e), Err((field, word))) => {
                    assert_eq!(e.field, *field, "{extra}");
                    assert!(e.message.contains(word), "{extra}: {}", e.message);
                }
                (got, want) => panic!("{extra}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for k in ExportKind::ALL {
            assert_eq!(ExportKind::parse(k.name()), Some(*k));
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.name()));
        }
        for p in RankingPeriod::ALL {
            assert_eq!(RankingPeriod::parse(&p.name().to_uppercase()), Some(*p));
            assert_eq!(serde_json::to_value(p).unwrap(), json!(p.name()));
        }
        assert_eq!(ExportKind::parse("pdf"), None);
        let bad = serde_json::from_value::<ExportRecap>(payload(json!({"kind": "pdf"})));
        assert!(bad.unwrap_err().to_string().contains("unknown variant"));
    }
}

//! Client scoping (legacy §1.6) in one place: the [`Scoped`] extractor turns the query
//! (`client_id`, `role`, `scope`, `regional_id`, any case) and the token into the client,
//! role and member rule every data route uses. A client outside the token is a 403.
use std::{collections::HashMap, sync::Arc};

use axum::{extract::FromRequestParts, http::request::Parts};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sqlx::Row;

use super::{ApiError, ApiResult, auth::DashUser};
use crate::{domain::time::jakarta_day_window, http::AppState};

/// Roles that name a directorate (or the operator role) and so filter members.
pub const ROLE_FILTERS: &[&str] = &[
    "operator",
    "ditbinmas",
    "ditlantas",
    "bidhumas",
    "ditsamapta",
    "ditintelkam",
];

/// The query string with lower-cased keys (the dashboard mixes `client_id`/`Client_ID`
/// nowhere, but casing of values and keys must not matter). The first value wins.
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, String>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        let mut m = HashMap::new();
        for (k, v) in url_pairs(query.unwrap_or_default()) {
            let v = v.trim().to_owned();
            if !v.is_empty() {
                m.entry(k.to_lowercase()).or_insert(v);
            }
        }
        Params(m)
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
    /// The first of several alias names that is present.
    pub fn any(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }
}

fn url_pairs(q: &str) -> impl Iterator<Item = (String, String)> + '_ {
    q.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (decode(k), decode(v))
    })
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Who the caller is and which people and posts a request covers.
#[derive(Debug, Clone)]
pub struct Scoped {
    pub user: DashUser,
    pub params: Params,
    /// The client as stored (canonical case).
    pub client_id: String,
    pub client_type: String,
    pub client_name: String,
    /// Requested role, lower case (defaults to the token's).
    pub role: String,
    /// `org` or `direktorat`.
    pub scope: String,
    /// Upper case.
    pub regional_id: Option<String>,
}

impl Scoped {
    /// Directorate mode: members by role membership across clients, posts of the role's client.
    pub fn directorate(&self) -> bool {
        self.scope == "direktorat" || self.client_type.eq_ignore_ascii_case("direktorat")
    }
    /// The role members must hold (legacy buildClientFilter).
    pub fn role_filter(&self) -> Option<String> {
        if self.directorate() {
            Some(
                if ROLE_FILTERS.contains(&self.role.as_str()) && self.role != "operator" {
                    self.role.clone()
                } else {
                    self.client_id.to_lowercase()
                },
            )
        } else if ROLE_FILTERS.contains(&self.role.as_str())
            && self.role != self.client_id.to_lowercase()
        {
            Some(self.role.clone())
        } else {
            None
        }
    }
    /// Whose official posts count: the client, or in directorate scope the role's client.
    pub fn post_owner(&self) -> String {
        if self.scope == "direktorat" && ROLE_FILTERS.contains(&self.role.as_str()) {
            self.role.clone()
        } else {
            self.client_id.clone()
        }
    }
}

/// The legacy access rule: a client in the token, or the caller's own role asking for the
/// client of the same name (role `ditbinmas` → `DITBINMAS`). Admins see everything.
pub fn may_access(user: &DashUser, client_id: &str, role: &str) -> bool {
    user.is_admin()
        || user.may_see(client_id)
        || (role == user.role && role.eq_ignore_ascii_case(client_id))
}

impl FromRequestParts<Arc<AppState>> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> ApiResult<Self> {
        let user = DashUser::from_request_parts(parts, st).await?;
        let params = Params::parse(parts.uri.query());
        let role = params
            .get("role")
            .map(str::to_lowercase)
            .unwrap_or_else(|| user.role.clone());
        if role != user.role && !user.is_admin() {
            return Err(ApiError::forbidden("role tidak diizinkan"));
        }
        let mut scope = params
            .get("scope")
            .map(str::to_lowercase)
            .unwrap_or_else(|| "org".into());
        if scope != "org" && scope != "direktorat" {
            return Err(ApiError::bad_request("scope harus org atau direktorat"));
        }
        if role == "operator" {
            scope = "org".into();
        }
        let header_client = parts
            .headers
            .get("x-client-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let requested = params
            .get("client_id")
            .or(header_client)
            .map(str::to_owned)
            .or_else(|| (scope == "direktorat").then(|| role.clone()))
            .or_else(|| user.client_id().map(str::to_owned))
            .ok_or_else(|| ApiError::bad_request("client_id wajib diisi"))?;
        let allowed = may_access(&user, &requested, &role)
            || (role != "operator"
                && ROLE_FILTERS.contains(&role.as_str())
                && client_of_role(&st.pool, &role, &requested).await?);
        if !allowed {
            return Err(ApiError::forbidden("client_id tidak diizinkan"));
        }
        let row = sqlx::query(
            "SELECT client_id, coalesce(client_type, '') AS client_type, nama \
             FROM clients WHERE lower(client_id) = lower($1) ORDER BY client_id LIMIT 1",
        )
        .bind(&requested)
        .fetch_optional(&st.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("Client tidak ditemukan"))?;
        Ok(Scoped {
            client_id: row.try_get("client_id")?,
            client_type: row.try_get("client_type")?,
            client_name: row.try_get("nama")?,
            regional_id: params.get("regional_id").map(str::to_uppercase),
            role,
            scope,
            params,
            user,
        })
    }
}

/// Legacy `getClientsByRole`: a directorate sees the clients of dashboard users with its
/// role and the clients of active people holding it (its satker).
async fn client_of_role(pool: &sqlx::PgPool, role: &str, client_id: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM dashboard_user_clients duc            JOIN dashboard_user du ON du.dashboard_user_id = duc.dashboard_user_id            JOIN roles r ON r.role_id = du.role_id            WHERE lower(r.role_name) = $1 AND lower(duc.client_id) = lower($2))          OR EXISTS (SELECT 1 FROM \"user\" u JOIN user_roles ur ON ur.user_id = u.user_id            JOIN roles r ON r.role_id = ur.role_id            WHERE lower(r.role_name) = $1 AND coalesce(u.status, true)              AND lower(u.client_id) = lower($2))",
    )
    .bind(role)
    .bind(client_id)
    .fetch_one(pool)
    .await
}

/// A half-open UTC window `[start, end)` of Jakarta days.
pub type Window = (DateTime<Utc>, DateTime<Utc>);

pub(super) fn day(s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request(format!("tanggal {s:?} bukan YYYY-MM-DD")))
}

/// The Jakarta window of the days `first..=last` (400 when reversed).
pub(super) fn days(first: NaiveDate, last: NaiveDate) -> Result<Window, ApiError> {
    if last < first {
        return Err(ApiError::bad_request(
            "tanggal_selesai sebelum tanggal_mulai",
        ));
    }
    let bad = || ApiError::bad_request("tanggal di luar jangkauan");
    Ok((
        jakarta_day_window(first).ok_or_else(bad)?.0,
        jakarta_day_window(last).ok_or_else(bad)?.1,
    ))
}

/// The period of a recap query (legacy rekap-likes): `tanggal_mulai`/`start_date` with
/// `tanggal_selesai`/`end_date` win; else `periode` `harian` (the day `tanggal`, default
/// today), `mingguan` (Monday–Sunday of `tanggal`'s week), `bulanan` (`tanggal` = `YYYY-MM`
/// or a date in that month), `semua` (from 2000).
pub fn period_window(p: &Params, today: NaiveDate) -> Result<Window, ApiError> {
    let start = p.any(&["tanggal_mulai", "start_date"]);
    let end = p.any(&["tanggal_selesai", "end_date"]);
    if let Some(s) = start {
        let first = day(s)?;
        let last = end.map(day).transpose()?.unwrap_or(first);
        return days(first, last);
    }
    let periode = p.get("periode").unwrap_or("harian").to_lowercase();
    let tanggal = p.get("tanggal");
    match periode.as_str() {
        "harian" => {
            let d = tanggal.map(day).transpose()?.unwrap_or(today);
            days(d, d)
        }
        "mingguan" => {
            let d = tanggal.map(day).transpose()?.unwrap_or(today);
            let monday = d - Duration::days(d.weekday().num_days_from_monday() as i64);
            days(monday, monday + Duration::days(6))
        }
        "bulanan" => {
            let d = match tanggal {
                Some(t) if t.len() == 7 => day(&format!("{t}-01"))?,
                Some(t) => day(t)?,
                None => today,
            };
            let first = d
                .with_day(1)
                .ok_or_else(|| ApiError::bad_request("tanggal"))?;
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
            }
            .ok_or_else(|| ApiError::bad_request("tanggal"))?;
            days(first, next - Duration::days(1))
        }
        "semua" => days(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(today), today),
        other => Err(ApiError::bad_request(format!(
            "periode {other:?} tidak dikenal (harian, mingguan, bulanan, semua)"
        ))),
    }
}

/// ANEV `time_range`: `today`, `7d` (default; today−6 … today), `30d`, `90d`, `all` (from
/// 2000-01-01), `custom` (`start_date`/`end_date` required). Returns the window and the
/// first and last day.
pub fn anev_window(
    p: &Params,
    today: NaiveDate,
) -> Result<(String, NaiveDate, NaiveDate, Window), ApiError> {
    let range = p.get("time_range").unwrap_or("7d").to_lowercase();
    let back = |n: i64| today - Duration::days(n);
    let (first, last) = match range.as_str() {
        "today" => (today, today),
        "7d" => (back(6), today),
        "30d" => (back(29), today),
        "90d" => (back(89), today),
        "all" => (NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(today), today),
        "custom" => {
            let (Some(s), Some(e)) = (p.get("start_date"), p.get("end_date")) else {
                return Err(ApiError::bad_request(
                    "start_date dan end_date wajib untuk time_range custom",
                ));
            };
            (day(s)?, day(e)?)
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "time_range {other:?} tidak dikenal (today, 7d, 30d, 90d, custom, all)"
            )));
        }
    };
    Ok((range, first, last, days(first, last)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::jakarta;

    fn p(q: &str) -> Params {
        Params::parse(Some(q))
    }

    #[test]
    fn params_ignore_key_case_and_decode() {
        let q = p("Client_ID=KEDIRI&SCOPE=ORG&role=&regional_id=jatim&x=a%20b+c&client_id=second");
        assert_eq!(q.get("client_id"), Some("KEDIRI"));
        assert_eq!(q.get("scope"), Some("ORG"));
        assert_eq!(q.get("role"), None);
        assert_eq!(q.get("x"), Some("a b c"));
    }

    #[test]
    fn periods() {
        let today = NaiveDate::from_ymd_opt(2026, 2, 7).unwrap();
        let w = |q: &str| period_window(&p(q), today).map_err(|e| e.message);
        let at = |y, m, d| jakarta(y, m, d, 0, 0, 0).unwrap();
        let cases: &[(&str, Result<Window, ()>)] = &[
            ("", Ok((at(2026, 2, 7), at(2026, 2, 8)))),
            (
                "periode=harian&tanggal=2026-02-01",
                Ok((at(2026, 2, 1), at(2026, 2, 2))),
            ),
            (
                "periode=HARIAN&tanggal=2026-02-01T00:00:00",
                Ok((at(2026, 2, 1), at(2026, 2, 2))),
            ),
            (
                "periode=mingguan&tanggal=2026-02-05",
                Ok((at(2026, 2, 2), at(2026, 2, 9))),
            ),
            (
                "periode=bulanan&tanggal=2026-12",
                Ok((at(2026, 12, 1), at(2027, 1, 1))),
            ),
            (
                "periode=bulanan&tanggal=2026-02-15",
                Ok((at(2026, 2, 1), at(2026, 3, 1))),
            ),
            (
                "periode=harian&tanggal_mulai=2026-01-30&tanggal_selesai=2026-02-02",
                Ok((at(2026, 1, 30), at(2026, 2, 3))),
            ),
            (
                "start_date=2026-01-30&end_date=2026-01-30",
                Ok((at(2026, 1, 30), at(2026, 1, 31))),
            ),
            ("periode=tahunan", Err(())),
            ("tanggal=kemarin", Err(())),
            ("start_date=2026-02-03&end_date=2026-02-01", Err(())),
        ];
        for (q, want) in cases {
            match want {
                Ok(win) => assert_eq!(w(q).as_ref(), Ok(win), "{q}"),
                Err(()) => assert!(w(q).is_err(), "{q}"),
            }
        }
    }

    #[test]
    fn anev_ranges() {
        let today = NaiveDate::from_ymd_opt(2026, 2, 7).unwrap();
        let r = |q: &str| anev_window(&p(q), today).map(|(n, a, b, _)| (n, a, b));
        let d = |m, dd| NaiveDate::from_ymd_opt(2026, m, dd).unwrap();
        assert_eq!(r("").unwrap(), ("7d".into(), d(2, 1), d(2, 7)));
        assert_eq!(
            r("time_range=TODAY").unwrap(),
            ("today".into(), d(2, 7), d(2, 7))
        );
        assert_eq!(r("time_range=30d").unwrap().1, d(1, 9));
        assert_eq!(
            r("time_range=custom&start_date=2026-01-01&end_date=2026-01-31").unwrap(),
            ("custom".into(), d(1, 1), d(1, 31))
        );
        assert!(r("time_range=custom").is_err());
        assert!(r("time_range=1y").is_err());
    }
}

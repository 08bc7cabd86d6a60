//! `import_users`: a personnel .xlsx into one client, all rows or none. Every row is checked
//! (columns, NRP, required fields, duplicates in the file, NRPs of other clients) before
//! anything is written; the result lists each rejected row with its reasons.
use std::{collections::HashMap, sync::Arc};

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use serde::Serialize;
use serde_json::{Value, json};

use cicero_jobs::import_users::ImportUsers;

use super::{Ctx, JobCtx, JobError};
use crate::http::dashboard::auth::normalize_whatsapp;

/// One valid row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Person {
    /// Spreadsheet row number (1 = header).
    pub row: usize,
    pub user_id: String,
    pub nama: String,
    pub title: String,
    pub divisi: String,
    pub jabatan: Option<String>,
    pub insta: Option<String>,
    pub tiktok: Option<String>,
    pub whatsapp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub row: usize,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Col {
    UserId,
    Nama,
    Title,
    Divisi,
    Jabatan,
    Insta,
    Tiktok,
    Whatsapp,
    Ignored,
}

fn column(header: &str) -> Option<Col> {
    let key: String = header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    Some(match key.as_str() {
        "nrp" | "nip" | "nrpnip" | "userid" => Col::UserId,
        "nama" => Col::Nama,
        "pangkat" | "title" => Col::Title,
        "satfung" | "divisi" | "divisisatfung" => Col::Divisi,
        "jabatan" => Col::Jabatan,
        "instagram" | "insta" => Col::Insta,
        "tiktok" => Col::Tiktok,
        "whatsapp" | "wa" | "nowa" | "nomorwhatsapp" => Col::Whatsapp,
        "no" | "nomor" => Col::Ignored,
        _ => return None,
    })
}

/// Checks a sheet (first row = header). A wrong header is an error of the whole file;
/// otherwise every data row is either a [`Person`] or a [`Rejected`] with its reasons.
pub fn check_rows(rows: &[Vec<String>]) -> Result<(Vec<Person>, Vec<Rejected>), String> {
    let header = rows.first().ok_or("file kosong: tidak ada baris judul")?;
    let mut cols = Vec::new();
    let mut unknown = Vec::new();
    for h in header {
        match column(h) {
            Some(c) => cols.push(c),
            None if h.trim().is_empty() => cols.push(Col::Ignored),
            None => {
                unknown.push(h.trim().to_owned());
                cols.push(Col::Ignored);
            }
        }
    }
    let missing: Vec<&str> = [
        (Col::UserId, "NRP"),
        (Col::Nama, "Nama"),
        (Col::Title, "Pangkat"),
        (Col::Divisi, "Satfung"),
    ]
    .iter()
    .filter(|(c, _)| !cols.contains(c))
    .map(|(_, n)| *n)
    .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("kolom wajib tidak ada: {}", missing.join(", ")));
        }
        if !unknown.is_empty() {
            parts.push(format!("kolom tidak dikenal: {}", unknown.join(", ")));
        }
        return Err(format!(
            "{} (kolom: NRP, Nama, Pangkat, Satfung, Jabatan, Instagram, TikTok, WhatsApp)",
            parts.join("; ")
        ));
    }
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, cells) in rows.iter().enumerate().skip(1) {
        let row = i + 1;
        let get = |c: Col| {
            cols.iter()
                .position(|x| *x == c)
                .and_then(|j| cells.get(j))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            bad.push(Rejected {
                row,
                reasons: vec!["baris kosong".into()],
            });
            continue;
        }
        let mut reasons = Vec::new();
        let raw_id = get(Col::UserId).unwrap_or_default();
        let user_id: String = raw_id.chars().filter(|c| !" -.".contains(*c)).collect();
        if user_id.is_empty() {
            reasons.push("NRP kosong".to_string());
        } else if !user_id.chars().all(|c| c.is_ascii_digit()) || !(6..=18).contains(&user_id.len())
        {
            reasons.push(format!("NRP {raw_id:?} harus 6–18 digit"));
        } else if let Some(first) = seen.get(&user_id) {
            reasons.push(format!("NRP {user_id} duplikat (juga di baris {first})"));
        } else {
            seen.insert(user_id.clone(), row);
        }
        let upper = |c: Col| get(c).map(|v| v.to_uppercase());
        let (nama, title, divisi) = (upper(Col::Nama), upper(Col::Title), upper(Col::Divisi));
        for (v, name) in [(&nama, "Nama"), (&title, "Pangkat"), (&divisi, "Satfung")] {
            if v.is_none() {
                reasons.push(format!("{name} kosong"));
            }
        }
        let whatsapp = get(Col::Whatsapp).map(|w| normalize_whatsapp(&w));
        if whatsapp.as_ref().is_some_and(|w| w.len() < 8) {
            reasons.push("WhatsApp minimal 8 digit".into());
        }
        let handle = |c: Col| get(c).map(|v| v.trim_start_matches('@').to_lowercase());
        if reasons.is_empty() {
            ok.push(Person {
                row,
                user_id,
                nama: nama.unwrap_or_default(),
                title: title.unwrap_or_default(),
                divisi: divisi.unwrap_or_default(),
                jabatan: upper(Col::Jabatan),
                insta: handle(Col::Insta),
                tiktok: handle(Col::Tiktok),
                whatsapp,
            });
        } else {
            bad.push(Rejected { row, reasons });
        }
    }
    Ok((ok, bad))
}

/// The first sheet of an xlsx as text cells (whole numbers without `.0`, so NRPs typed as
/// numbers read back as digits).
pub fn read_first_sheet(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec()))
        .map_err(|e| format!("bukan file .xlsx yang valid: {e}"))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or("file tidak punya sheet")?
        .map_err(|e| format!("sheet pertama tidak terbaca: {e}"))?;
    Ok(range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e18 => {
                        format!("{}", *f as i64)
                    }
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect())
}

pub async fn run(ctx: Arc<Ctx>, job: JobCtx, p: ImportUsers) -> Result<Value, JobError> {
    let bytes: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT content FROM cicero.job_files WHERE job_id = $1")
            .bind(job.id)
            .fetch_optional(&ctx.pool)
            .await?;
    let bytes = bytes.ok_or_else(|| JobError::Permanent("the uploaded file is missing".into()))?;
    job.progress(0.1, "reading the file").await;
    let rows = read_first_sheet(&bytes).map_err(JobError::Permanent)?;
    let (people, mut rejected) = match check_rows(&rows) {
        Ok(x) => x,
        Err(message) => {
            return Ok(json!({ "ok": false, "imported": 0, "error": message, "rejected": [] }));
        }
    };
    // NRPs that already belong to a client outside the uploader's reach.
    let ids: Vec<String> = people.iter().map(|p| p.user_id.clone()).collect();
    let owners: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT user_id, client_id FROM \"user\" WHERE user_id = ANY($1)")
            .bind(&ids)
            .fetch_all(&ctx.pool)
            .await?;
    for (id, client) in owners {
        let ours = p.admin
            || client
                .as_deref()
                .is_some_and(|c| p.reach_clients.iter().any(|r| r.eq_ignore_ascii_case(c)));
        if !ours && let Some(person) = people.iter().find(|x| x.user_id == id) {
            rejected.push(Rejected {
                row: person.row,
                reasons: vec![format!("NRP {id} sudah terdaftar pada client lain")],
            });
        }
    }
    rejected.sort_by_key(|r| r.row);
    if !rejected.is_empty() {
        return Ok(json!({
            "ok": false, "imported": 0, "rows": rows.len().saturating_sub(1), "rejected": rejected,
        }));
    }
    job.progress(0.5, "importing").await;
    let mut tx = ctx.pool.begin().await?;
    for person in &people {
        sqlx::query(
            "INSERT INTO \"user\" (user_id, nama, title, divisi, jabatan, insta, tiktok, whatsapp, \
               client_id, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true) \
             ON CONFLICT (user_id) DO UPDATE SET nama = EXCLUDED.nama, title = EXCLUDED.title, \
               divisi = EXCLUDED.divisi, jabatan = coalesce(EXCLUDED.jabatan, \"user\".jabatan), \
               insta = coalesce(EXCLUDED.insta, \"user\".insta), \
               tiktok = coalesce(EXCLUDED.tiktok, \"user\".tiktok), \
               whatsapp = coalesce(EXCLUDED.whatsapp, \"user\".whatsapp), \
               client_id = EXCLUDED.client_id, status = true, updated_at = now()",
        )
        .bind(&person.user_id)
        .bind(&person.nama)
        .bind(&person.title)
        .bind(&person.divisi)
        .bind(&person.jabatan)
        .bind(&person.insta)
        .bind(&person.tiktok)
        .bind(&person.whatsapp)
        .bind(&p.client_id)
        .execute(&mut *tx)
        .await?;
        if let Some(role) = &p.role {
            sqlx::query(
                "INSERT INTO user_roles (user_id, role_id) SELECT $1, role_id FROM roles \
                 WHERE lower(role_name) = lower($2) ON CONFLICT DO NOTHING",
            )
            .bind(&person.user_id)
            .bind(role)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    job.progress(1.0, "done").await;
    Ok(json!({ "ok": true, "imported": people.len(), "rejected": [] }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn wrong_columns_reject_the_file() {
        let err = check_rows(&sheet(&[&["NRP", "Nama", "Alamat"]])).unwrap_err();
        assert!(
            err.contains("kolom wajib tidak ada: Pangkat, Satfung"),
            "{err}"
        );
        assert!(err.contains("kolom tidak dikenal: Alamat"), "{err}");
        assert!(check_rows(&[]).is_err());
    }

    #[test]
    fn rows_are_checked_one_by_one() {
        let (ok, bad) = check_rows(&sheet(&[
            &[
                "No",
                "NRP/NIP",
                "Nama",
                "Pangkat",
                "Satfung",
                "Instagram",
                "WhatsApp",
            ],
            &[
                "1",
                "75020001",
                "budi",
                "bripka",
                "sat binmas",
                "@Budi_IG",
                "0812345678",
            ],
            &["2", "7502 0002", "siti", "briptu", "sat lantas", "", ""],
            &["", "", "", "", "", "", ""],
            &["4", "75020001", "budi lagi", "bripda", "sat", "", ""],
            &["5", "12AB", "", "bripda", "sat", "", "0812"],
        ]))
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].nama, "BUDI");
        assert_eq!(ok[0].insta.as_deref(), Some("budi_ig"));
        assert_eq!(ok[0].whatsapp.as_deref(), Some("62812345678"));
        assert_eq!(ok[1].user_id, "75020002");
        assert_eq!(
            bad,
            vec![
                Rejected {
                    row: 4,
                    reasons: vec!["baris kosong".into()]
                },
                Rejected {
                    row: 5,
                    reasons: vec!["NRP 75020001 duplikat (juga di baris 2)".into()]
                },
                Rejected {
                    row: 6,
                    reasons: vec![
                        "NRP \"12AB\" harus 6–18 digit".into(),
                        "Nama kosong".into(),
                        "WhatsApp minimal 8 digit".into()
                    ]
                },
            ]
        );
    }
}

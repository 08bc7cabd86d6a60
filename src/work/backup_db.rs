//! `backup_db`: `pg_dump` of the configured database, gzip-compressed into `BACKUP_DIR` as
//! `<db>-<Jakarta yyyymmdd-hhmmss>.sql.gz`, then only the newest N backups are kept.
use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
};

use chrono::Utc;
use flate2::{Compression, write::GzEncoder};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use cicero_jobs::backup_db::BackupDb;

use super::{Ctx, JobError};
use crate::domain::time::file_stamp;

pub async fn run(ctx: Arc<Ctx>, job: BackupDb) -> Result<Value, JobError> {
    let s = &ctx.settings;
    let keep = job.keep.unwrap_or(s.backup_keep).max(1) as usize;
    let db = s.database_name();
    tokio::fs::create_dir_all(&s.backup_dir)
        .await
        .map_err(|e| {
            JobError::Retryable(format!(
                "cannot create BACKUP_DIR {}: {e}",
                s.backup_dir.display()
            ))
        })?;
    let name = format!("{db}-{}.sql.gz", file_stamp(Utc::now()));
    let path = s.backup_dir.join(&name);
    let partial = s.backup_dir.join(format!("{name}.partial"));

    let bytes = dump(&s.pg_dump, &s.database_url, &partial)
        .await
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })?;
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(|e| JobError::Retryable(format!("cannot move backup into place: {e}")))?;
    let removed = rotate(&s.backup_dir, &db, keep)
        .map_err(|e| JobError::Retryable(format!("backup written but rotation failed: {e}")))?;
    tracing::info!(file = %name, bytes, removed = removed.len(), "database backed up");
    Ok(json!({ "file": name, "bytes": bytes, "removed": removed }))
}

/// Runs pg_dump and streams its output through gzip into `out`; returns the file size.
async fn dump(pg_dump: &str, url: &str, out: &Path) -> Result<u64, JobError> {
    let mut child = tokio::process::Command::new(pg_dump)
        .args(["--no-owner", "--no-privileges", "--dbname", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| JobError::Permanent(format!("cannot start {pg_dump} (set PG_DUMP): {e}")))?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(JobError::Retryable("pg_dump pipes unavailable".into()));
    };
    let file = std::fs::File::create(out)
        .map_err(|e| JobError::Retryable(format!("cannot create {}: {e}", out.display())))?;
    // Compression runs on a blocking thread fed by chunks from the async pipe.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(16);
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
        let mut gz = GzEncoder::new(std::io::BufWriter::new(file), Compression::default());
        for chunk in rx {
            gz.write_all(&chunk)?;
        }
        let mut inner = gz.finish()?;
        inner.flush()?;
        inner.get_ref().sync_all()?;
        inner.get_ref().metadata().map(|m| m.len())
    });
    let err_reader = tokio::spawn(async move {
        let mut buf = String::new();
        let _ = stderr.read_to_string(&mut buf).await;
        buf
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stdout
            .read(&mut buf)
            .await
            .map_err(|e| JobError::Retryable(format!("reading pg_dump output: {e}")))?;
        if n == 0 {
            break;
        }
        if tx.send(buf[..n].to_vec()).is_err() {
            break;
        }
    }
    drop(tx);
    let status = child
        .wait()
        .await
        .map_err(|e| JobError::Retryable(format!("waiting for pg_dump: {e}")))?;
    let stderr = err_reader.await.unwrap_or_default();
    let size = writer
        .await
        .map_err(|e| JobError::Retryable(format!("compression thread: {e}")))?
        .map_err(|e| JobError::Retryable(format!("writing backup: {e}")))?;
    if !status.success() {
        let msg = stderr.lines().last().unwrap_or("no message").to_string();
        return Err(JobError::Retryable(format!(
            "pg_dump exited with {status}: {msg}"
        )));
    }
    Ok(size)
}

/// Deletes all but the newest `keep` backups of `db` (names sort by time) and any stale
/// `.partial` file; returns the names removed.
fn rotate(dir: &Path, db: &str, keep: usize) -> std::io::Result<Vec<String>> {
    let prefix = format!("{db}-");
    let mut backups: Vec<PathBuf> = Vec::new();
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if !name.starts_with(&prefix) {
            continue;
        }
        if name.ends_with(".sql.gz.partial") {
            std::fs::remove_file(&path)?;
            removed.push(name);
        } else if name.ends_with(".sql.gz") {
            backups.push(path);
        }
    }
    backups.sort();
    let excess = backups.len().saturating_sub(keep);
    for path in backups.into_iter().take(excess) {
        std::fs::remove_file(&path)?;
        removed.push(
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned(),
        );
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "db-20261101-040000.sql.gz",
            "db-20261102-040000.sql.gz",
            "db-20261103-040000.sql.gz",
            "db-20261104-040000.sql.gz.partial",
            "other-20261101-040000.sql.gz",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        let mut removed = rotate(dir.path(), "db", 2).unwrap();
        removed.sort();
        assert_eq!(
            removed,
            [
                "db-20261101-040000.sql.gz",
                "db-20261104-040000.sql.gz.partial"
            ]
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "db-20261102-040000.sql.gz",
                "db-20261103-040000.sql.gz",
                "notes.txt",
                "other-20261101-040000.sql.gz"
            ]
        );
    }
}

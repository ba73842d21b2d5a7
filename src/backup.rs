//! Backups of the register and restoring them into a new register.
//!
//! A backup file is: the line `BAOXUE-BACKUP`, one line of JSON [`Header`] (format version, when
//! it was taken, the SHA-256 and size of the database inside), then the database file itself,
//! gzip-compressed and encrypted with the passphrase (age, scrypt-derived key, authenticated
//! encryption: a wrong passphrase or any changed byte is detected). The database copy is taken
//! with SQLite's online backup API, so the register may be in use meanwhile, and is checked with
//! `PRAGMA integrity_check` before it is written.
//!
//! Restoring never overwrites an existing register: it writes a new file, checks it (integrity,
//! checksum, audit chain), and marks it as restored: a row in `restores` (see [`restored_marker`])
//! and `bundle::keys::mark_restored`, so that the next bundle from this register starts a new
//! epoch and announces the restore instead of re-issuing sequence numbers unannounced (issue 11).
//!
//! Plain-text copies of the database only ever exist next to the register itself (same
//! protection as the register), never beside the backup file, which may be on a USB stick.

use crate::error::Result;
use crate::register::{Actor, Register};
use crate::store;
use age::secrecy::SecretString;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The first line of every backup file.
pub const MAGIC: &str = "BAOXUE-BACKUP";
/// The backup format this build writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 1;
/// A header line longer than this is not ours.
const MAX_HEADER_BYTES: u64 = 4096;

pub use store::restores::Restore;

/// The clear-text header of a backup file (nothing personal in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format_version: u32,
    /// When the backup was taken (RFC 3339).
    pub created_at: String,
    /// The register's schema version (`PRAGMA user_version`) at backup time.
    pub schema_version: i64,
    /// `age-scrypt` (passphrase) over `gzip`.
    pub encryption: String,
    pub compression: String,
    /// SHA-256 (hex) and size of the database file inside.
    pub db_sha256: String,
    pub db_bytes: u64,
    /// `sqlcipher` when the database inside is itself encrypted (a copy of an encrypted
    /// register, keyed with the backup's passphrase); empty for a plain register's backup.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub db_encryption: String,
}

/// What `backup` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupInfo {
    pub file: String,
    pub created_at: String,
    pub db_bytes: u64,
    pub file_bytes: u64,
    pub db_sha256: String,
}

/// What `restore` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    pub file: String,
    pub db: String,
    pub site_name: String,
    pub backup_created_at: String,
    pub restored_at: String,
    pub integrity: String,
    pub audit_rows: i64,
    /// `None` when the audit chain is intact, else the first broken row.
    pub audit_first_broken_row: Option<i64>,
    pub households: i64,
    pub children: i64,
}

/// Why a backup or restore was refused.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "备份必须加密：请设置口令（环境变量 BAOXUE_PASSPHRASE，或在提示时输入），口令不能为空"
    )]
    NoPassphrase,
    #[error(
        "口令不正确，无法解开备份文件“{0}”：请确认输入的是做备份时所用的口令（未写入任何数据）"
    )]
    WrongPassphrase(String),
    #[error("文件“{0}”不是保学备份文件：请选择由“备份”功能生成的文件")]
    NotABackup(String),
    #[error("备份文件“{file}”由较新版本的保学生成（格式版本 {found}）：请升级保学后再恢复")]
    NewerFormat { file: String, found: u32 },
    #[error("备份文件“{file}”已损坏（{reason}）：请换一份备份再恢复（未写入任何数据）")]
    Corrupt { file: String, reason: String },
    #[error(
        "目标“{0}”已存在：恢复只写入新的登记库文件，不覆盖已有文件。请指定一个新的文件名（--db）"
    )]
    TargetExists(String),
    #[error("登记库完整性检查未通过（{0}）：不能据此生成备份，请联系技术支持")]
    SourceDamaged(String),
}

impl BackupError {
    pub fn code(&self) -> &'static str {
        match self {
            BackupError::NoPassphrase => "no_passphrase",
            BackupError::WrongPassphrase(_) => "wrong_passphrase",
            BackupError::NotABackup(_) => "not_a_backup",
            BackupError::NewerFormat { .. } => "newer_backup_format",
            BackupError::Corrupt { .. } => "backup_corrupt",
            BackupError::TargetExists(_) => "target_exists",
            BackupError::SourceDamaged(_) => "register_damaged",
        }
    }
}

fn io_err(path: &Path, e: std::io::Error) -> crate::Error {
    crate::Error::io(path, e)
}

/// A file removed when dropped (with its SQLite side files), unless kept.
struct TempFile(PathBuf);

impl TempFile {
    fn beside(near: &Path, tag: &str) -> TempFile {
        let name = near
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "baoxue".into());
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or(0);
        let file = format!(".{name}.{tag}-{}-{nanos}", std::process::id());
        TempFile(match near.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(file),
            _ => PathBuf::from(file),
        })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

/// `PRAGMA integrity_check` → `Ok(())` or the first problem it names.
pub fn integrity_check(conn: &Connection) -> Result<Result<(), String>> {
    let mut st = conn.prepare("PRAGMA integrity_check")?;
    let lines: Vec<String> = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(Ok(()))
    } else {
        Ok(Err(lines
            .into_iter()
            .take(3)
            .collect::<Vec<_>>()
            .join("；")))
    }
}

fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = File::open(path).map_err(|e| io_err(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n_total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    Ok((hex::encode(h.finalize()), n_total))
}

fn secret(passphrase: &str) -> std::result::Result<SecretString, BackupError> {
    if passphrase.trim().is_empty() {
        return Err(BackupError::NoPassphrase);
    }
    Ok(SecretString::from(passphrase.to_string()))
}

/// Takes an online backup of the open register into `out` (which must not exist), encrypted with
/// `passphrase`. `now` is the backup's time.
pub fn backup(
    conn: &Connection,
    out: &Path,
    passphrase: &str,
    now: DateTime<Utc>,
) -> Result<BackupInfo> {
    let secret = secret(passphrase)?;
    if out.exists() {
        return Err(BackupError::TargetExists(out.display().to_string()).into());
    }
    // 1. A consistent copy of the database, next to the register.
    let near = conn
        .path()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| out.to_path_buf());
    let tmp = TempFile::beside(&near, "backup");
    // An encrypted register is copied into a copy encrypted with the backup's passphrase (SQLite's
    // backup API re-encrypts page by page): no plain copy is ever written.
    let encrypted = conn
        .path()
        .filter(|p| !p.is_empty())
        .map(|p| store::cipher::file_state(Path::new(p)))
        .transpose()
        .map_err(|e| io_err(&near, e))?
        == Some(store::cipher::FileState::Encrypted);
    let schema_version = {
        let mut dst = Connection::open(&tmp.0)?;
        if encrypted {
            store::cipher::put_key(&dst, passphrase)?;
        }
        copy_all(conn, &mut dst)?;
        if let Err(problem) = integrity_check(&dst)? {
            return Err(BackupError::SourceDamaged(problem).into());
        }
        // A single self-contained file: no WAL beside it.
        dst.pragma_update(None, "journal_mode", "DELETE")?;
        store::schema_version(&dst)?
    };
    let (db_sha256, db_bytes) = sha256_file(&tmp.0)?;
    let header = Header {
        format_version: FORMAT_VERSION,
        created_at: now.to_rfc3339(),
        schema_version,
        encryption: "age-scrypt".into(),
        compression: "gzip".into(),
        db_sha256: db_sha256.clone(),
        db_bytes,
        db_encryption: if encrypted {
            "sqlcipher".into()
        } else {
            String::new()
        },
    };
    // 2. Written under a temporary name beside the target, renamed when complete.
    let partial = TempFile::beside(out, "partial");
    {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial.0)
            .map_err(|e| io_err(out, e))?;
        let mut w = BufWriter::new(f);
        let head = serde_json::to_string(&header)?;
        writeln!(w, "{MAGIC}\n{head}").map_err(|e| io_err(out, e))?;
        let enc = age::Encryptor::with_user_passphrase(secret);
        let aw = enc.wrap_output(&mut w).map_err(|e| io_err(out, e))?;
        let mut gz = flate2::write::GzEncoder::new(aw, flate2::Compression::default());
        let mut src = File::open(&tmp.0).map_err(|e| io_err(&tmp.0, e))?;
        std::io::copy(&mut src, &mut gz).map_err(|e| io_err(out, e))?;
        let aw = gz.finish().map_err(|e| io_err(out, e))?;
        aw.finish().map_err(|e| io_err(out, e))?;
        let f = w.into_inner().map_err(|e| io_err(out, e.into_error()))?;
        f.sync_all().map_err(|e| io_err(out, e))?;
    }
    place_new(&partial.0, out)?;
    let file_bytes = std::fs::metadata(out).map_err(|e| io_err(out, e))?.len();
    Ok(BackupInfo {
        file: out.display().to_string(),
        created_at: header.created_at,
        db_bytes,
        file_bytes,
        db_sha256,
    })
}

/// The app's daily backup on exit: writes `dir/baoxue-YYYY-MM-DD.bak` for `today` (once a day: an
/// existing file for today is kept and `Ok(None)` returned), encrypted with the passphrase the
/// register was opened with, then deletes the oldest `baoxue-YYYY-MM-DD.bak` files beyond the
/// newest `keep` (other files in `dir` are never touched). A plain (training) register has no
/// passphrase to encrypt with: refused with `no_passphrase`.
pub fn daily(
    reg: &Register,
    dir: &Path,
    keep: usize,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<BackupInfo>> {
    let Some(pass) = reg.passphrase() else {
        return Err(BackupError::NoPassphrase.into());
    };
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let out = dir.join(daily_name(today));
    let info = if out.exists() {
        None
    } else {
        Some(backup(reg.conn(), &out, pass, now)?)
    };
    let mut dated: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| io_err(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_daily_name(n))
        .collect();
    dated.sort();
    let surplus = dated.len().saturating_sub(keep.max(1));
    for old in &dated[..surplus] {
        let p = dir.join(old);
        std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
    }
    Ok(info)
}

fn daily_name(day: chrono::NaiveDate) -> String {
    format!("baoxue-{}.bak", day.format("%Y-%m-%d"))
}

fn is_daily_name(name: &str) -> bool {
    name.strip_prefix("baoxue-")
        .and_then(|n| n.strip_suffix(".bak"))
        .is_some_and(|d| d.len() == 10 && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
}

/// Copies every page in one step (one consistent read of the register), retrying while another
/// process holds a write lock.
fn copy_all(src: &Connection, dst: &mut Connection) -> Result<()> {
    use rusqlite::backup::StepResult;
    let b = rusqlite::backup::Backup::new(src, dst)?;
    for _ in 0..400 {
        match b.step(-1)? {
            StepResult::Done => return Ok(()),
            _ => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
    Err(crate::Error::Other(
        "登记库一直被其他程序占用，20秒内无法完成备份：请关闭其他保学窗口后重试".into(),
    ))
}

/// Moves `from` to `to` without ever replacing an existing `to`.
fn place_new(from: &Path, to: &Path) -> Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => {
            let _ = std::fs::remove_file(from);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(BackupError::TargetExists(to.display().to_string()).into())
        }
        // File systems without hard links (FAT on USB sticks): check, then rename.
        Err(_) => {
            if to.exists() {
                return Err(BackupError::TargetExists(to.display().to_string()).into());
            }
            std::fs::rename(from, to).map_err(|e| io_err(to, e))
        }
    }
}

/// Reads and checks a backup file's clear-text header.
pub fn read_header(file: &Path) -> Result<Header> {
    let (header, _) = open_backup(file)?;
    Ok(header)
}

fn open_backup(file: &Path) -> Result<(Header, BufReader<File>)> {
    let name = file.display().to_string();
    let f = File::open(file).map_err(|e| io_err(file, e))?;
    let mut r = BufReader::new(f);
    let mut line = Vec::new();
    (&mut r)
        .take(MAX_HEADER_BYTES)
        .read_until(b'\n', &mut line)
        .map_err(|e| io_err(file, e))?;
    if line != format!("{MAGIC}\n").as_bytes() {
        return Err(BackupError::NotABackup(name).into());
    }
    line.clear();
    (&mut r)
        .take(MAX_HEADER_BYTES)
        .read_until(b'\n', &mut line)
        .map_err(|e| io_err(file, e))?;
    let header: Header = serde_json::from_slice(&line).map_err(|e| BackupError::Corrupt {
        file: name.clone(),
        reason: format!("文件头无法读取：{e}"),
    })?;
    if header.format_version > FORMAT_VERSION {
        return Err(BackupError::NewerFormat {
            file: name,
            found: header.format_version,
        }
        .into());
    }
    if header.encryption != "age-scrypt" || header.compression != "gzip" {
        return Err(BackupError::Corrupt {
            file: name,
            reason: format!("未知的加密方式“{}”", header.encryption),
        }
        .into());
    }
    Ok((header, r))
}

/// Restores backup `file` into a NEW register at `db` (refused if anything exists there),
/// checks it and marks it as restored. Nothing is left at `db` if any step fails.
pub fn restore(file: &Path, db: &Path, passphrase: &str, actor: &Actor) -> Result<RestoreReport> {
    let secret = secret(passphrase)?;
    let name = file.display().to_string();
    for suffix in ["", "-wal", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        if Path::new(&p).exists() {
            return Err(BackupError::TargetExists(db.display().to_string()).into());
        }
    }
    if let Some(dir) = db.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
    }
    let (header, rest) = open_backup(file)?;
    let corrupt = |reason: String| BackupError::Corrupt {
        file: name.clone(),
        reason,
    };
    // 1. Decrypt and decompress into a temporary file beside the target.
    let tmp = TempFile::beside(db, "restoring");
    {
        let dec = age::Decryptor::new(rest).map_err(|e| corrupt(format!("加密头无效：{e}")))?;
        let identity = age::scrypt::Identity::new(secret);
        let plain = dec
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::DecryptionFailed
                | age::DecryptError::KeyDecryptionFailed
                | age::DecryptError::NoMatchingKeys => BackupError::WrongPassphrase(name.clone()),
                other => corrupt(format!("无法解密：{other}")),
            })?;
        let gz = flate2::read::GzDecoder::new(plain);
        // Never write more than the header announced (a forged size cannot fill the disk
        // beyond it, and the checksum below catches any difference).
        let mut limited = gz.take(header.db_bytes + 1);
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp.0)
            .map_err(|e| io_err(&tmp.0, e))?;
        let mut out = BufWriter::new(out);
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            let n = limited
                .read(&mut buf)
                .map_err(|e| corrupt(format!("数据不完整或被改动：{e}")))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            total += n as u64;
            out.write_all(&buf[..n]).map_err(|e| io_err(&tmp.0, e))?;
        }
        let f = out
            .into_inner()
            .map_err(|e| io_err(&tmp.0, e.into_error()))?;
        f.sync_all().map_err(|e| io_err(&tmp.0, e))?;
        if total != header.db_bytes || hex::encode(h.finalize()) != header.db_sha256 {
            return Err(corrupt("校验值不符".into()).into());
        }
    }
    // 2. SQLite's own check, read-only, before anything else touches the file. The copy of an
    // encrypted register is keyed with the backup's passphrase, and stays encrypted.
    let encrypted = store::cipher::file_state(&tmp.0).map_err(|e| io_err(&tmp.0, e))?
        == store::cipher::FileState::Encrypted;
    let key = encrypted.then_some(passphrase);
    {
        let c = Connection::open_with_flags(&tmp.0, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        if let Some(key) = key {
            store::cipher::put_key(&c, key)?;
        }
        if let Err(problem) = integrity_check(&c)? {
            return Err(corrupt(format!("数据库完整性检查未通过：{problem}")).into());
        }
    }
    // 3. Open as a register (migrating an older schema), mark it restored in one transaction.
    let restored_at = actor.now.to_rfc3339();
    let report = {
        let mut reg = Register::open_with(&tmp.0, key)?;
        let site = reg.require_site()?;
        let audit_first_broken_row = store::audit::verify(reg.conn())?;
        let source_file = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut w = reg.writer(actor)?;
        let id = store::restores::insert(
            w.conn(),
            &restored_at,
            &header.created_at,
            &actor.operator,
            &source_file,
        )?;
        // The bundle chain starts a new epoch and its next bundle announces this restore.
        if store::site_keys::get(w.conn())?.is_some() {
            crate::bundle::keys::mark_restored(
                w.conn(),
                actor.now,
                &format!(
                    "由备份恢复（备份时间 {}，文件 {source_file}）",
                    header.created_at
                ),
            )?;
        }
        w.audit(
            "restores",
            &id.to_string(),
            "restore",
            &["backup_created_at", "source_file"],
        )?;
        w.commit()?;
        let count = |t: &str| -> Result<i64> {
            Ok(reg
                .conn()
                .query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))?)
        };
        RestoreReport {
            file: name.clone(),
            db: db.display().to_string(),
            site_name: site.name,
            backup_created_at: header.created_at.clone(),
            restored_at,
            integrity: "ok".into(),
            audit_rows: store::audit::count(reg.conn())?,
            audit_first_broken_row,
            households: count("households")?,
            children: count("children")?,
        }
    };
    // The register is closed (WAL checkpointed); put it in place.
    place_new(&tmp.0, db)?;
    Ok(report)
}

/// The most recent restore of this register from a backup, or `None` if it never was restored.
/// The bundle export reads this to announce the restore in its next bundle.
pub fn restored_marker(conn: &Connection) -> Result<Option<Restore>> {
    store::restores::get_latest(conn)
}

/// Records that a bundle has announced restore `id` (`restored_marker(..).announced_at` is then set).
pub fn mark_restore_announced(conn: &Connection, id: i64, at: DateTime<Utc>) -> Result<()> {
    store::restores::put_announced(conn, id, &at.to_rfc3339())
}

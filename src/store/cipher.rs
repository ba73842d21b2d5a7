//! SQLCipher statements: keying a connection, checking the key, re-keying, and telling an
//! encrypted register file from a plain one without opening it. The policy (who must give a
//! passphrase, the messages) lives in `crate::encryption`.

use crate::error::Result;
use rusqlite::{Connection, ErrorCode};
use std::io::Read;
use std::path::Path;

/// `PRAGMA cache_size` for an encrypted register: 64 MiB (negative = KiB).
pub const ENCRYPTED_CACHE_KIB: i64 = -65536;

/// What a register file on disk is, judged from its first 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// No file, or an empty one: opening creates a new register.
    Missing,
    /// A plain SQLite file (starts with "SQLite format 3\0").
    Plain,
    /// Anything else: an SQLCipher file (its first 16 bytes are a random salt), or not a register.
    Encrypted,
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Reads the first 16 bytes of `path` (never writes, never takes a lock).
pub fn file_state(path: &Path) -> std::io::Result<FileState> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
        Err(e) => return Err(e),
    };
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(match got {
        0 => FileState::Missing,
        16 if &head == SQLITE_MAGIC => FileState::Plain,
        _ => FileState::Encrypted,
    })
}

/// `PRAGMA key`: must come before anything reads the database. SQLCipher's own log (stderr by
/// default: "hmac check failed" on a wrong key) is switched off first; errors are reported by
/// the caller, in Chinese.
pub fn put_key(conn: &Connection, passphrase: &str) -> Result<()> {
    conn.pragma_update(None, "cipher_log_level", "NONE")?;
    conn.pragma_update(None, "key", passphrase)?;
    Ok(())
}

/// Reads the schema with the key given: `Ok(false)` when the key does not decrypt the file
/// (SQLITE_NOTADB). Nothing is written either way.
pub fn key_opens(conn: &Connection) -> Result<bool> {
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::NotADatabase => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Keeps (`true`) or lets (`false`) SQLite checkpoint the WAL into the file when this connection,
/// the last one open, closes (`SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`).
pub fn hold_checkpoint_on_close(conn: &Connection, hold: bool) -> Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        hold,
    )?;
    Ok(())
}

/// `PRAGMA rekey`: re-encrypts every page with the new passphrase in one write transaction,
/// with the WAL checkpointed before and after so the whole file is under one key.
pub fn put_rekey(conn: &Connection, new_passphrase: &str) -> Result<()> {
    checkpoint(conn)?;
    conn.pragma_update(None, "rekey", new_passphrase)?;
    checkpoint(conn)?;
    Ok(())
}

/// Writes the WAL into the main file and truncates it (a no-op outside WAL mode).
pub fn checkpoint(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// Copies the whole open database into a new SQLCipher file `dest` keyed with `passphrase`
/// (`sqlcipher_export`), keeping its schema version. Used to encrypt a plain register.
pub fn export_encrypted(conn: &Connection, dest: &Path, passphrase: &str) -> Result<()> {
    // An empty file is a new database to SQLite; the register's connection may not create one.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|e| crate::Error::io(dest, e))?;
    let dest_text = dest.to_string_lossy();
    conn.execute(
        "ATTACH DATABASE ?1 AS baoxue_enc KEY ?2",
        rusqlite::params![dest_text.as_ref(), passphrase],
    )?;
    let copied = (|| -> Result<()> {
        conn.query_row("SELECT sqlcipher_export('baoxue_enc')", [], |_| Ok(()))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        conn.pragma_update(Some("baoxue_enc"), "user_version", version)?;
        Ok(())
    })();
    let detached = conn.execute("DETACH DATABASE baoxue_enc", []);
    copied?;
    detached?;
    Ok(())
}

/// The SQLCipher version this build links (`PRAGMA cipher_version`), e.g. "4.19.0 community".
pub fn get_cipher_version(conn: &Connection) -> Result<Option<String>> {
    let mut st = conn.prepare("PRAGMA cipher_version")?;
    let mut rows = st.query([])?;
    Ok(match rows.next()? {
        Some(r) => Some(r.get(0)?),
        None => None,
    })
}

/// Every table of the database with its row count, by name (to compare a copy with its source).
pub fn list_table_counts(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut st = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let names = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    names
        .into_iter()
        .map(|t| {
            let n = conn.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))?;
            Ok((t, n))
        })
        .collect()
}

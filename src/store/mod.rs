//! The SQLite register: opening, pragmas, migrations, and every SQL statement, a file per table.
//! Functions take `&Connection` so they compose inside one transaction.

pub mod aside;
pub mod attendance;
pub mod audit;
pub mod btree;
pub mod bulk;
pub mod bundle_acks;
pub mod bundles_received;
pub mod bundles_sent;
pub mod case_events;
pub mod cases;
pub mod children;
pub mod cipher;
pub mod clock;
pub mod crosscheck;
pub mod cursor;
pub mod decisions;
pub mod divisions;
pub mod enrolments;
pub mod flush;
pub mod guardians;
pub mod households;
pub mod list_rows;
pub mod list_versions;
pub mod many;
pub mod match_rejections;
pub mod migrations;
pub mod operators;
pub mod person_links;
pub mod placements;
pub mod population;
pub mod record;
pub mod record_base;
pub mod record_heads;
pub mod restores;
pub mod roll_imports;
pub mod roster_imports;
pub mod rows;
pub mod schools;
pub mod settings;
pub mod site;
pub mod site_keys;
pub mod trusted_sites;
pub mod verification_tasks;
pub mod waiting;

use crate::encryption::PassphraseError;
use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;

/// Tables whose records travel between sites in bundles; each has the meta columns
/// (id, origin_site, version, prev_version, edits, updated_at, deleted).
pub const TRAVELLING_TABLES: &[&str] = &[
    "schools",
    "households",
    "children",
    "guardians",
    "enrolments",
    "attendance",
    "cases",
    "case_events",
    "verification_tasks",
    "placements",
    "person_links",
];

/// Opens (creating if needed) a plain register file and brings its schema up to date.
/// An encrypted file is refused with `PassphraseError::Required`.
pub fn open(path: &Path) -> Result<Connection> {
    open_with(path, None)
}

/// Opens a register file with an optional passphrase:
/// - no file yet: creates it, encrypted when a passphrase is given;
/// - an encrypted file: needs the passphrase; a wrong one is refused before anything is written
///   (the key is checked by reading the schema right after `PRAGMA key`);
/// - a plain file: opened as it is (the passphrase, if any, is not applied; see
///   `Register::is_encrypted`).
pub fn open_with(path: &Path, passphrase: Option<&str>) -> Result<Connection> {
    let state = cipher::file_state(path).map_err(|e| Error::io(path, e))?;
    let key = match (state, passphrase) {
        (cipher::FileState::Encrypted, None) => return Err(PassphraseError::Required.into()),
        (cipher::FileState::Plain, _) => None,
        (_, key) => key,
    };
    if state == cipher::FileState::Missing {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
        }
    }
    let flags = if state == cipher::FileState::Missing {
        OpenFlags::default()
    } else {
        // An existing register is never re-created (a file removed meanwhile is an error).
        OpenFlags::default() - OpenFlags::SQLITE_OPEN_CREATE
    };
    let mut conn = Connection::open_with_flags(path, flags)?;
    if let Some(key) = key {
        // Until the key is known to be right, closing this connection must not checkpoint a WAL
        // left by a program that never closed the register (the app, a crash, a power cut) into
        // the file: a wrong passphrase writes nothing.
        cipher::hold_checkpoint_on_close(&conn, true)?;
        cipher::put_key(&conn, key)?;
        if !cipher::key_opens(&conn)? {
            return Err(PassphraseError::Wrong.into());
        }
        cipher::hold_checkpoint_on_close(&conn, false)?;
        // Every page read from the file is decrypted and its HMAC checked: a larger page cache
        // (64 MiB, filled only as used) keeps a cross-check from decrypting the same pages again
        // (250k children: 8.3 s CPU per run with SQLite's default 2 MiB, 3.3 s with 64 MiB,
        // plain 1.5 s; docs/security.md).
        conn.pragma_update(None, "cache_size", cipher::ENCRYPTED_CACHE_KIB)?;
    }
    configure(&conn, true)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// An in-memory register for unit tests.
pub fn open_in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    configure(&conn, false)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn configure(conn: &Connection, wal: bool) -> Result<()> {
    if wal {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

/// Applies every migration the register lacks, in one exclusive transaction. Refuses a register
/// written by a newer build.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = migrations::latest();
    if current > latest {
        return Err(Error::NewerRegister {
            found: current,
            supported: latest,
        });
    }
    if current == latest {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    for sql in &migrations::MIGRATIONS[current as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", latest)?;
    tx.commit()?;
    Ok(())
}

/// Reads the schema version.
pub fn schema_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = open_in_memory().unwrap();
        let tables = |c: &Connection| -> Vec<String> {
            let mut st = c
                .prepare("SELECT sql FROM sqlite_master ORDER BY name")
                .unwrap();
            st.query_map([], |r| r.get::<_, Option<String>>(0))
                .unwrap()
                .map(|r| r.unwrap().unwrap_or_default())
                .collect()
        };
        let before = tables(&conn);
        migrate(&mut conn).unwrap();
        assert_eq!(tables(&conn), before);
        assert_eq!(schema_version(&conn).unwrap(), migrations::latest());
    }

    #[test]
    fn newer_register_is_refused() {
        let mut conn = open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", migrations::latest() + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert_eq!(err.code(), "newer_register");
        assert!(err.to_string().contains("较新版本"));
    }
}

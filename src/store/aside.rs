//! A travelling table built aside, for a bulk merge: while the register's connection writes one
//! table, another thread fills another table (rows and indexes) in a private in-memory database
//! of its own; the register's connection then attaches that database and copies the table in
//! with one `INSERT INTO main.t SELECT * FROM aside.t`. Between tables of the same schema, SQLite
//! copies such a statement's rows and index entries as they are stored (its transfer
//! optimisation), without decoding, re-encoding or sorting them again.
//!
//! The aside database lives in memory only (a named in-memory database in SQLite's shared
//! cache, so that a second connection can attach it): nothing is ever written to a file, which
//! keeps an encrypted register free of plain-text copies. It is attached without a key (`KEY
//! ''`), so SQLCipher does not apply the register's key to it. Table names come only from
//! `TRAVELLING_TABLES` (checked by the callers).

use crate::error::Result;
use rusqlite::{Connection, OpenFlags};
use std::sync::atomic::{AtomicU64, Ordering};

/// The schema names under which aside databases are attached to a register's connection.
pub const PREFIX: &str = "bx_aside_";

/// The CREATE TABLE statement of `table` in the register, to build it aside exactly alike (the
/// transfer optimisation needs the same columns, constraints and indexes on both sides).
pub fn table_sql(conn: &Connection, table: &str) -> Result<String> {
    Ok(conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get(0),
    )?)
}

/// Whether `table` has triggers (SQLite never copies into such a table without running them, so
/// it cannot be built aside).
pub fn has_triggers(conn: &Connection, table: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1)",
        [table],
        |r| r.get(0),
    )?)
}

/// A fresh aside database, empty, in memory; returns its connection and its name (to `attach`).
/// The database lives while a connection to it is open (this one, or a register's that
/// attached it).
pub fn open() -> Result<(Connection, String)> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "bx-aside-{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::now_v7().simple()
    );
    let conn = Connection::open_with_flags(uri(&name), OpenFlags::default())?;
    // Nothing here needs to survive a crash: no journal, no syncs. The large page cache also
    // lets CREATE INDEX sort in memory (its sorter spills only past the cache size).
    conn.pragma_update(None, "journal_mode", "OFF")?;
    // A table here references others that are not (the register checks its own keys).
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -512 * 1024)?;
    Ok((conn, name))
}

fn uri(name: &str) -> String {
    format!("file:{name}?mode=memory&cache=shared")
}

/// Runs one of the register's CREATE statements (`table_sql`, `rows::secondary_indexes`) in an
/// aside database.
pub fn create(conn: &Connection, sql: &str) -> Result<()> {
    conn.execute_batch(sql)?;
    Ok(())
}

/// Attaches the aside database `name` to a register's connection as `PREFIX` + `alias`, without
/// a key, and checks that it is the in-memory one (never a file).
pub fn attach(conn: &Connection, name: &str, alias: &str) -> Result<String> {
    let schema = format!("{PREFIX}{alias}");
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS \"{schema}\" KEY ''"),
        [uri(name)],
    )?;
    let file: Option<String> = conn.query_row(
        "SELECT file FROM pragma_database_list WHERE name = ?1",
        [&schema],
        |r| r.get(0),
    )?;
    if file.as_deref().is_some_and(|f| !f.is_empty()) {
        let _ = detach(conn, &schema);
        return Err(rusqlite::Error::InvalidPath(name.into()).into());
    }
    Ok(schema)
}

/// Copies every row of `schema.table` into the register's (empty) table of that name; returns
/// the number of rows copied.
pub fn transfer(conn: &Connection, schema: &str, table: &str) -> Result<usize> {
    Ok(conn.execute(
        &format!("INSERT INTO main.{table} SELECT * FROM \"{schema}\".{table}"),
        [],
    )?)
}

/// Detaches one aside database (after the transaction that read it ended).
pub fn detach(conn: &Connection, schema: &str) -> Result<()> {
    conn.execute("DETACH DATABASE ?1", [schema])?;
    Ok(())
}

/// Detaches every aside database still attached to a register's connection (best effort; the
/// memory goes with the last connection to it).
pub fn detach_all(conn: &Connection) {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM pragma_database_list")
        .and_then(|mut st| {
            st.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap_or_default();
    for n in names.iter().filter(|n| n.starts_with(PREFIX)) {
        let _ = detach(conn, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_built_aside_is_copied_in_with_its_indexes_and_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Connection::open(dir.path().join("r.db")).unwrap();
        reg.execute_batch(
            "CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, k TEXT, n INTEGER NOT NULL DEFAULT 1);
             CREATE INDEX t_k ON t(k) WHERE k IS NOT NULL;",
        )
        .unwrap();
        assert!(!has_triggers(&reg, "t").unwrap());
        let (aside, name) = open().unwrap();
        create(&aside, &table_sql(&reg, "t").unwrap()).unwrap();
        aside
            .execute_batch("INSERT INTO t VALUES ('a', 'x', 1), ('b', NULL, 2), ('c', 'w', 3)")
            .unwrap();
        for (_, sql) in crate::store::rows::secondary_indexes(&reg, "t").unwrap() {
            create(&aside, &sql).unwrap();
        }
        reg.execute_batch("BEGIN").unwrap();
        let schema = attach(&reg, &name, "0").unwrap();
        drop(aside);
        assert_eq!(transfer(&reg, &schema, "t").unwrap(), 3);
        // Detaching waits for the transaction that read it.
        assert!(detach(&reg, &schema).is_err());
        reg.execute_batch("COMMIT").unwrap();
        detach_all(&reg);
        let ks: Vec<String> = reg
            .prepare("SELECT k FROM t INDEXED BY t_k WHERE k IS NOT NULL ORDER BY k")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(ks, ["w", "x"]);
        let ok: String = reg
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let n: i64 = reg
            .query_row(
                "SELECT count(*) FROM pragma_database_list WHERE name LIKE 'bx_aside_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(files, ["r.db"]);
    }
}

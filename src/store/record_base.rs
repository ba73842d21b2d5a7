//! SQL of the `record_base` table: for each travelling record last written by a merge or a
//! conflict resolution, the version it was written at and that version's version vector. Local
//! edits made afterwards descend from it (see `bundle::vv`).

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

pub fn get(conn: &Connection, id: &str) -> Result<Option<(String, String)>> {
    Ok(conn
        .prepare_cached("SELECT version, vv FROM record_base WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub fn put(conn: &Connection, id: &str, version: &str, vv: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO record_base (id, version, vv) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET version = excluded.version, vv = excluded.vv",
    )?
    .execute(params![id, version, vv])?;
    Ok(())
}

/// Stores a base unless one for this very version is there already.
pub fn put_if_other(conn: &Connection, id: &str, version: &str, vv: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO record_base (id, version, vv) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET version = excluded.version, vv = excluded.vv
         WHERE record_base.version <> excluded.version",
    )?
    .execute(params![id, version, vv])?;
    Ok(())
}

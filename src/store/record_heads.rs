//! SQL of the `record_heads` table: the losing sides of open conflicts, kept in full. The winner
//! is the row in the record's own table; a record with rows here is in conflict.

use crate::error::Result;
use rusqlite::{params, Connection};

/// One kept side of a conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    pub version: String,
    pub tbl: String,
    pub vv: String,
    /// The record's columns as a JSON object.
    pub row: String,
}

pub fn list_for(conn: &Connection, id: &str) -> Result<Vec<Row>> {
    let mut st = conn.prepare_cached(
        "SELECT id, version, tbl, vv, row FROM record_heads WHERE id = ?1 ORDER BY version",
    )?;
    let rows = st.query_map([id], |r| {
        Ok(Row {
            id: r.get(0)?,
            version: r.get(1)?,
            tbl: r.get(2)?,
            vv: r.get(3)?,
            row: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Ids of every record in conflict, with their table, by table then id.
pub fn list_ids(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare("SELECT DISTINCT tbl, id FROM record_heads ORDER BY tbl, id")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Whether any conflict head exists (a fast check for the common case).
pub fn any_for(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM record_heads WHERE id = ?1)")?
        .query_row([id], |r| r.get(0))?)
}

/// Replaces the kept sides of one record.
pub fn put_all(conn: &Connection, id: &str, heads: &[Row]) -> Result<()> {
    conn.prepare_cached("DELETE FROM record_heads WHERE id = ?1")?
        .execute([id])?;
    let mut st = conn.prepare_cached(
        "INSERT OR REPLACE INTO record_heads (id, version, tbl, vv, row) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for h in heads {
        st.execute(params![h.id, h.version, h.tbl, h.vv, h.row])?;
    }
    Ok(())
}

pub fn count_records(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT COUNT(DISTINCT id) FROM record_heads", [], |r| {
            r.get(0)
        })?,
    )
}

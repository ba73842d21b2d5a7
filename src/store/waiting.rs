//! SQL of the `waiting_records` table: records received in a bundle but not applied, because
//! the version they were edited from is not known here and a bundle before theirs in their
//! origin's chain is missing. Kept in full until the gap fills or a clerk forces one in.

use crate::error::Result;
use rusqlite::{params, Connection, Row as SqlRow};
use serde::Serialize;

/// One waiting record version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub id: String,
    pub version: String,
    pub tbl: String,
    /// The version it was edited from, not known here.
    pub base_version: String,
    #[serde(skip)]
    pub vv: Option<String>,
    /// The record's columns as a JSON object.
    #[serde(skip)]
    pub row: String,
    #[serde(skip)]
    pub bundle_hash: String,
    pub bundle_id: String,
    pub from_site: String,
    pub epoch: String,
    pub seq: i64,
}

const COLS: &str =
    "id, version, tbl, base_version, vv, row, bundle_hash, bundle_id, from_site, epoch, seq";

fn from_row(r: &SqlRow<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        version: r.get(1)?,
        tbl: r.get(2)?,
        base_version: r.get(3)?,
        vv: r.get(4)?,
        row: r.get(5)?,
        bundle_hash: r.get(6)?,
        bundle_id: r.get(7)?,
        from_site: r.get(8)?,
        epoch: r.get(9)?,
        seq: r.get(10)?,
    })
}

/// Stores a waiting version as received in one bundle. The same version received in several
/// bundles (from its origin, or as another site's context) is kept once per bundle: it applies
/// as soon as any of them may.
pub fn put(conn: &Connection, w: &Row) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR IGNORE INTO waiting_records ({COLS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        w.id,
        w.version,
        w.tbl,
        w.base_version,
        w.vv,
        w.row,
        w.bundle_hash,
        w.bundle_id,
        w.from_site,
        w.epoch,
        w.seq
    ])?;
    Ok(())
}

/// Every waiting version, by origin site, epoch, sequence, table, id and version.
pub fn list(conn: &Connection) -> Result<Vec<Row>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM waiting_records
         ORDER BY from_site, epoch, seq, tbl, id, version, bundle_hash"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The waiting versions of one record.
pub fn list_for(conn: &Connection, id: &str) -> Result<Vec<Row>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM waiting_records WHERE id = ?1 ORDER BY version, bundle_hash"
    ))?;
    let rows = st.query_map([id], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Whether anything waits (a fast check before every import's release pass).
pub fn any(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM waiting_records)")?
        .query_row([], |r| r.get(0))?)
}

/// Waiting versions per origin site.
pub fn count_by_site(conn: &Connection, site: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM waiting_records WHERE from_site = ?1")?
        .query_row([site], |r| r.get(0))?)
}

/// Removes a version from the waiting list (every bundle it came in).
pub fn delete(conn: &Connection, id: &str, version: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM waiting_records WHERE id = ?1 AND version = ?2")?
        .execute([id, version])?;
    Ok(())
}

//! SQL of the `bundles_received` table: every bundle this register was handed, by the hash of its
//! signed manifest: the per-site chain (epoch, seq, prev_hash), what became of it, and for a held
//! bundle the file itself so a clerk can accept it later.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension, Row as SqlRow};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub hash: String,
    pub bundle_id: String,
    pub from_site: String,
    pub epoch: String,
    pub seq: i64,
    pub prev_hash: Option<String>,
    pub created_at: String,
    pub received_at: String,
    pub received_by: String,
    /// `applied`, `held`, `refused_fork`, `refused`.
    pub status: String,
    pub reason: Option<String>,
    pub manifest: String,
    pub applied: i64,
    pub unchanged: i64,
    pub conflicts: i64,
}

const COLS: &str =
    "hash, bundle_id, from_site, epoch, seq, prev_hash, created_at, received_at, received_by,
    status, reason, manifest, applied, unchanged, conflicts";

fn from_row(r: &SqlRow<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        hash: r.get(0)?,
        bundle_id: r.get(1)?,
        from_site: r.get(2)?,
        epoch: r.get(3)?,
        seq: r.get(4)?,
        prev_hash: r.get(5)?,
        created_at: r.get(6)?,
        received_at: r.get(7)?,
        received_by: r.get(8)?,
        status: r.get(9)?,
        reason: r.get(10)?,
        manifest: r.get(11)?,
        applied: r.get(12)?,
        unchanged: r.get(13)?,
        conflicts: r.get(14)?,
    })
}

pub fn get(conn: &Connection, hash: &str) -> Result<Option<Row>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM bundles_received WHERE hash = ?1"),
            [hash],
            from_row,
        )
        .optional()?)
}

/// Bundles of one site's chain at one sequence number (more than one means a fork).
pub fn list_at(conn: &Connection, site: &str, epoch: &str, seq: i64) -> Result<Vec<Row>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM bundles_received WHERE from_site = ?1 AND epoch = ?2 AND seq = ?3 ORDER BY hash"
    ))?;
    let rows = st.query_map(params![site, epoch, seq], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Every bundle received from one site, by epoch and sequence.
pub fn list_by_site(conn: &Connection, site: &str) -> Result<Vec<Row>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLS} FROM bundles_received WHERE from_site = ?1 ORDER BY epoch, seq, hash"
    ))?;
    let rows = st.query_map([site], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Every bundle with a given status (e.g. `held`).
pub fn list_by_status(conn: &Connection, status: &str) -> Result<Vec<Row>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLS} FROM bundles_received WHERE status = ?1 ORDER BY from_site, epoch, seq, hash"
    ))?;
    let rows = st.query_map([status], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The stored file of a held bundle.
pub fn get_file(conn: &Connection, hash: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT file FROM bundles_received WHERE hash = ?1",
            [hash],
            |r| r.get::<_, Option<Vec<u8>>>(0),
        )
        .optional()?
        .flatten())
}

pub fn put(conn: &Connection, b: &Row, file: Option<&[u8]>) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO bundles_received ({COLS}, file)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        ),
        params![
            b.hash,
            b.bundle_id,
            b.from_site,
            b.epoch,
            b.seq,
            b.prev_hash,
            b.created_at,
            b.received_at,
            b.received_by,
            b.status,
            b.reason,
            b.manifest,
            b.applied,
            b.unchanged,
            b.conflicts,
            file
        ],
    )?;
    Ok(())
}

/// The latest applied bundle of a site (for acknowledgements and `site list`).
pub fn get_last_applied(conn: &Connection, site: &str) -> Result<Option<Row>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLS} FROM bundles_received WHERE from_site = ?1 AND status = 'applied'
                 ORDER BY created_at DESC, seq DESC LIMIT 1"
            ),
            [site],
            from_row,
        )
        .optional()?)
}

pub fn set_status(conn: &Connection, hash: &str, status: &str, reason: Option<&str>) -> Result<()> {
    conn.execute(
        "UPDATE bundles_received SET status = ?2, reason = ?3, file = NULL WHERE hash = ?1",
        params![hash, status, reason],
    )?;
    Ok(())
}

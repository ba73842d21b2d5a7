//! SQL of the `conflict_decisions` and `bundle_decisions` tables: who decided what about a
//! conflict, a held bundle or a fork, when, and why.

use crate::error::Result;
use rusqlite::{params, Connection};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictDecision {
    pub tbl: String,
    pub record_id: String,
    pub kept_version: String,
    pub new_version: String,
    pub dropped: String,
    pub decided_at: String,
    pub decided_by: String,
    pub reason: String,
}

pub fn insert_conflict(conn: &Connection, d: &ConflictDecision) -> Result<()> {
    conn.execute(
        "INSERT INTO conflict_decisions (tbl, record_id, kept_version, new_version, dropped, decided_at,
            decided_by, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            d.tbl,
            d.record_id,
            d.kept_version,
            d.new_version,
            d.dropped,
            d.decided_at,
            d.decided_by,
            d.reason
        ],
    )?;
    Ok(())
}

pub fn list_conflict(conn: &Connection, record_id: &str) -> Result<Vec<ConflictDecision>> {
    let mut st = conn.prepare(
        "SELECT tbl, record_id, kept_version, new_version, dropped, decided_at, decided_by, reason
         FROM conflict_decisions WHERE record_id = ?1 ORDER BY seq",
    )?;
    let rows = st.query_map([record_id], |r| {
        Ok(ConflictDecision {
            tbl: r.get(0)?,
            record_id: r.get(1)?,
            kept_version: r.get(2)?,
            new_version: r.get(3)?,
            dropped: r.get(4)?,
            decided_at: r.get(5)?,
            decided_by: r.get(6)?,
            reason: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Records a decision about a bundle or a site (`subject` is a bundle hash or a site id).
pub fn insert_bundle(
    conn: &Connection,
    subject: &str,
    action: &str,
    at: &str,
    by: &str,
    reason: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO bundle_decisions (subject, action, decided_at, decided_by, reason)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![subject, action, at, by, reason],
    )?;
    Ok(())
}

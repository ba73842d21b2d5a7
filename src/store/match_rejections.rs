//! SQL of the `match_rejections` table: a person's decision that a child listed by the
//! cross-check and a pupil found by name + birth date are NOT the same person (who, when, why).
//! Local bookkeeping of the site that decided: it never travels.

use crate::error::Result;
use rusqlite::{params, Connection};
use serde::Serialize;
use std::collections::HashSet;

/// One stored rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub child_id: String,
    pub pupil_id: String,
    pub decided_at: String,
    pub decided_by: String,
    pub reason: String,
}

/// Stores a rejection; `false` when the pair was already rejected (nothing written).
pub fn insert(conn: &Connection, r: &Rejection) -> Result<bool> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO match_rejections (child_id, pupil_id, decided_at, decided_by, reason)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![r.child_id, r.pupil_id, r.decided_at, r.decided_by, r.reason],
    )?;
    Ok(n > 0)
}

/// Every rejected (child, pupil) pair.
pub fn list_pairs(conn: &Connection) -> Result<HashSet<(String, String)>> {
    let mut st = conn.prepare("SELECT child_id, pupil_id FROM match_rejections")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<HashSet<_>, _>>()?)
}

/// The rejections of one child, oldest first.
pub fn list_by_child(conn: &Connection, child_id: &str) -> Result<Vec<Rejection>> {
    let mut st = conn.prepare(
        "SELECT child_id, pupil_id, decided_at, decided_by, reason FROM match_rejections
         WHERE child_id = ?1 ORDER BY decided_at, pupil_id",
    )?;
    let rows = st.query_map([child_id], |r| {
        Ok(Rejection {
            child_id: r.get(0)?,
            pupil_id: r.get(1)?,
            decided_at: r.get(2)?,
            decided_by: r.get(3)?,
            reason: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

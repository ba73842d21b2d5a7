//! SQL of the `match_rejections` table: a person's decision that a child listed by the
//! cross-check and a pupil found by name + birth date are NOT the same person (who, when, why).
//! Written until session 5, when the cross-check's rejections became travelling person links
//! (`crosscheck::confirm::reject_match`); kept and read so that older rejections still count.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashSet;

/// Every rejected (child, pupil) pair.
pub fn list_pairs(conn: &Connection) -> Result<HashSet<(String, String)>> {
    let mut st = conn.prepare("SELECT child_id, pupil_id FROM match_rejections")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<HashSet<_>, _>>()?)
}

/// Whether this (child, pupil) pair was rejected here before rejections travelled.
pub fn contains(conn: &Connection, child_id: &str, pupil_id: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM match_rejections WHERE child_id = ?1 AND pupil_id = ?2",
            [child_id, pupil_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

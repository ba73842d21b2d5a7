//! SQL of the `placements` table (安置: how a child is taught when not in an ordinary class —
//! 送教上门, 随班就读, 特殊教育学校 … — and where a returned pupil was placed).

use super::record::{meta_from_row, META_COLUMNS};
use crate::domain::Meta;
use crate::error::Result;
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};

/// One placement of a child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub meta: Meta,
    pub child_id: String,
    /// Code from the `placements` list.
    pub placement: String,
    pub school_code: Option<String>,
    /// `YYYY-MM-DD`.
    pub since: String,
    pub until: Option<String>,
    pub note: Option<String>,
}

/// `(child_id, id_key, placement, school_code)` of a placement in force.
pub type InForce = (String, Option<String>, String, Option<String>);

fn from_row(r: &Row<'_>) -> rusqlite::Result<Placement> {
    Ok(Placement {
        meta: meta_from_row(r)?,
        child_id: r.get(7)?,
        placement: r.get(8)?,
        school_code: r.get(9)?,
        since: r.get(10)?,
        until: r.get(11)?,
        note: r.get(12)?,
    })
}

/// Inserts or replaces the row with this id.
pub fn put(conn: &Connection, p: &Placement) -> Result<()> {
    let m = &p.meta;
    conn.prepare_cached(
        "INSERT INTO placements (id, origin_site, version, prev_version, edits, updated_at, deleted,
            child_id, placement, school_code, since, until, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET origin_site = excluded.origin_site, version = excluded.version,
            prev_version = excluded.prev_version, edits = excluded.edits, updated_at = excluded.updated_at,
            deleted = excluded.deleted, child_id = excluded.child_id, placement = excluded.placement,
            school_code = excluded.school_code, since = excluded.since, until = excluded.until,
            note = excluded.note",
    )?
    .execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        p.child_id,
        p.placement,
        p.school_code,
        p.since,
        p.until,
        p.note
    ])?;
    Ok(())
}

/// Live placements of one child, newest first.
pub fn list_by_child(conn: &Connection, child_id: &str) -> Result<Vec<Placement>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {META_COLUMNS}, child_id, placement, school_code, since, until, note FROM placements
         WHERE child_id = ?1 AND deleted = 0 ORDER BY since DESC, id"
    ))?;
    let rows = st.query_map([child_id], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Placements in force on a day, with the linking ID key of the child:
/// `(child_id, id_key, placement, school_code)`.
pub fn list_in_force(conn: &Connection, on: &str) -> Result<Vec<InForce>> {
    let mut st = conn.prepare(
        "SELECT p.child_id, c.id_key, p.placement, p.school_code FROM placements p
         JOIN children c ON c.id = p.child_id
         WHERE p.deleted = 0 AND p.since <= ?1 AND (p.until IS NULL OR p.until >= ?1)",
    )?;
    let rows = st.query_map([on], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

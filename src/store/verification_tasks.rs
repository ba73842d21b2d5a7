//! SQL of the `verification_tasks` table (核查: a suspected child sent to a village or township
//! for a home visit, with the finding).

use super::record::{meta_from_row, META_COLUMNS};
use crate::domain::Meta;
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// One verification task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub meta: Meta,
    pub child_id: String,
    /// Division code of the village (or township) that owns the household.
    pub area_code: String,
    /// Why the child was listed (the cross-check's reason).
    pub reason: String,
    /// `open` or `done`.
    pub state: String,
    /// Code from `verification_findings`.
    pub finding: Option<String>,
    pub finding_detail: Option<String>,
    pub found_on: Option<String>,
    pub found_by: Option<String>,
}

fn select() -> String {
    format!(
        "SELECT {META_COLUMNS}, child_id, area_code, reason, state, finding, finding_detail, found_on,
            found_by FROM verification_tasks"
    )
}

/// `(child_id, id_key, finding, finding_detail)` of a recorded finding.
pub type Finding = (String, Option<String>, String, Option<String>);

fn from_row(r: &Row<'_>) -> rusqlite::Result<Task> {
    Ok(Task {
        meta: meta_from_row(r)?,
        child_id: r.get(7)?,
        area_code: r.get(8)?,
        reason: r.get(9)?,
        state: r.get(10)?,
        finding: r.get(11)?,
        finding_detail: r.get(12)?,
        found_on: r.get(13)?,
        found_by: r.get(14)?,
    })
}

/// Inserts or replaces the row with this id.
pub fn put(conn: &Connection, t: &Task) -> Result<()> {
    let m = &t.meta;
    conn.prepare_cached(
        "INSERT INTO verification_tasks (id, origin_site, version, prev_version, edits, updated_at, deleted,
            child_id, area_code, reason, state, finding, finding_detail, found_on, found_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT(id) DO UPDATE SET origin_site = excluded.origin_site, version = excluded.version,
            prev_version = excluded.prev_version, edits = excluded.edits, updated_at = excluded.updated_at,
            deleted = excluded.deleted, child_id = excluded.child_id, area_code = excluded.area_code,
            reason = excluded.reason, state = excluded.state, finding = excluded.finding,
            finding_detail = excluded.finding_detail, found_on = excluded.found_on, found_by = excluded.found_by",
    )?
    .execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        t.child_id,
        t.area_code,
        t.reason,
        t.state,
        t.finding,
        t.finding_detail,
        t.found_on,
        t.found_by
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Task>> {
    Ok(conn
        .query_row(&format!("{} WHERE id = ?1", select()), [id], from_row)
        .optional()?)
}

/// Live tasks, optionally of one area (a code prefix) and state, oldest first.
pub fn list(
    conn: &Connection,
    area_prefix: Option<&str>,
    state: Option<&str>,
) -> Result<Vec<Task>> {
    let prefix = format!("{}%", area_prefix.unwrap_or(""));
    let mut st = conn.prepare(&format!(
        "{} WHERE deleted = 0 AND area_code LIKE ?1 AND (?2 IS NULL OR state = ?2)
         ORDER BY area_code, version, id",
        select()
    ))?;
    let rows = st.query_map(params![prefix, state], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Live tasks of one child.
pub fn list_by_child(conn: &Connection, child_id: &str) -> Result<Vec<Task>> {
    let mut st = conn.prepare_cached(&format!(
        "{} WHERE deleted = 0 AND child_id = ?1 ORDER BY version, id",
        select()
    ))?;
    let rows = st.query_map([child_id], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Findings recorded on or after a day, with the child's linking key:
/// `(child_id, id_key, finding, finding_detail)`.
pub fn list_findings_since(conn: &Connection, since: &str) -> Result<Vec<Finding>> {
    let mut st = conn.prepare(
        "SELECT t.child_id, c.id_key, t.finding, t.finding_detail FROM verification_tasks t
         JOIN children c ON c.id = t.child_id
         WHERE t.deleted = 0 AND t.state = 'done' AND t.finding IS NOT NULL AND t.found_on >= ?1",
    )?;
    let rows = st.query_map([since], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

//! SQL of the `attendance` table: one mark per pupil and school day (present, absent, on leave).

use super::record::{meta_from_row, META_COLUMNS};
use crate::domain::Meta;
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// One pupil's attendance on one school day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub meta: Meta,
    pub child_id: String,
    pub school_code: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `present`, `absent` (without leave) or `leave`.
    pub status: String,
    pub note: Option<String>,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Mark> {
    Ok(Mark {
        meta: meta_from_row(r)?,
        child_id: r.get(7)?,
        school_code: r.get(8)?,
        date: r.get(9)?,
        status: r.get(10)?,
        note: r.get(11)?,
    })
}

/// Inserts or replaces the row with this id.
pub fn put(conn: &Connection, a: &Mark) -> Result<()> {
    let m = &a.meta;
    conn.prepare_cached(
        "INSERT INTO attendance (id, origin_site, version, prev_version, edits, updated_at, deleted,
            child_id, school_code, date, status, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(id) DO UPDATE SET origin_site = excluded.origin_site, version = excluded.version,
            prev_version = excluded.prev_version, edits = excluded.edits, updated_at = excluded.updated_at,
            deleted = excluded.deleted, child_id = excluded.child_id, school_code = excluded.school_code,
            date = excluded.date, status = excluded.status, note = excluded.note",
    )?
    .execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        a.child_id,
        a.school_code,
        a.date,
        a.status,
        a.note
    ])?;
    Ok(())
}

/// The live mark of one pupil on one day (the newest version if two sites wrote one).
pub fn get_for_day(conn: &Connection, child_id: &str, date: &str) -> Result<Option<Mark>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {META_COLUMNS}, child_id, school_code, date, status, note FROM attendance
                 WHERE child_id = ?1 AND date = ?2 AND deleted = 0 ORDER BY version DESC LIMIT 1"
            ),
            params![child_id, date],
            from_row,
        )
        .optional()?)
}

/// Live marks between two dates (inclusive), optionally of one school, oldest first.
pub fn list_between(
    conn: &Connection,
    school_code: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<Mark>> {
    let mut st = conn.prepare(&format!(
        "SELECT {META_COLUMNS}, child_id, school_code, date, status, note FROM attendance
         WHERE deleted = 0 AND date >= ?1 AND date <= ?2 AND (?3 IS NULL OR school_code = ?3)
         ORDER BY date, child_id, version"
    ))?;
    let rows = st.query_map(params![from, to, school_code], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

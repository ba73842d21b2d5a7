//! SQL of the `schools` table.

use super::record::{meta_from_row, META_COLUMNS};
use crate::domain::School;
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

fn from_row(r: &Row<'_>) -> rusqlite::Result<School> {
    Ok(School {
        meta: meta_from_row(r)?,
        code: r.get(7)?,
        name: r.get(8)?,
        kind: r.get(9)?,
        township_code: r.get(10)?,
    })
}

/// Inserts or replaces the row with this id.
pub fn put(conn: &Connection, s: &School) -> Result<()> {
    let m = &s.meta;
    conn.prepare_cached(
        "INSERT INTO schools (id, origin_site, version, prev_version, edits, updated_at, deleted,
            code, name, kind, township_code)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(id) DO UPDATE SET origin_site = excluded.origin_site, version = excluded.version,
            prev_version = excluded.prev_version, edits = excluded.edits, updated_at = excluded.updated_at,
            deleted = excluded.deleted, code = excluded.code, name = excluded.name, kind = excluded.kind,
            township_code = excluded.township_code",
    )?
    .execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        s.code,
        s.name,
        s.kind,
        s.township_code
    ])?;
    Ok(())
}

/// The live school with this code.
pub fn get_by_code(conn: &Connection, code: &str) -> Result<Option<School>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {META_COLUMNS}, code, name, kind, township_code FROM schools
                 WHERE code = ?1 AND deleted = 0 ORDER BY id LIMIT 1"
            ),
            [code],
            from_row,
        )
        .optional()?)
}

/// Every live school, by code.
pub fn list(conn: &Connection) -> Result<Vec<School>> {
    let mut st = conn.prepare(&format!(
        "SELECT {META_COLUMNS}, code, name, kind, township_code FROM schools WHERE deleted = 0 ORDER BY code, id"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

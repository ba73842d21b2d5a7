//! SQL of the `list_versions` table: one row per dated version of one department's list
//! (KIND + the department's name + its as-of date). County-local reference data, never travels.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

/// One loaded version of a department's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListVersion {
    pub id: i64,
    /// `hukou`, `disabled`, `poverty`, `welfare` or `aid`.
    pub kind: String,
    /// The department that sent it (`鲁山县公安局`).
    pub source: String,
    /// The date the department's extract was taken (`YYYY-MM-DD`).
    pub as_of: String,
    pub file_name: String,
    pub file_sha256: String,
    pub imported_at: String,
    pub operator: String,
    pub rows_read: i64,
    /// Rows kept (children 0-17 on the as-of date).
    pub rows_kept: i64,
    /// Rows of adults / people outside 0-17, counted and skipped.
    pub rows_out_of_age: i64,
    pub rows_refused: i64,
    /// True when this is the newest version of its source (the one the cross-check uses).
    pub current: bool,
}

const SELECT: &str = "SELECT v.id, v.kind, v.source, v.as_of, v.file_name, v.file_sha256, v.imported_at,
        v.operator, v.rows_read, v.rows_kept, v.rows_out_of_age, v.rows_refused,
        v.as_of = (SELECT MAX(w.as_of) FROM list_versions w WHERE w.kind = v.kind AND w.source = v.source)
    FROM list_versions v";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ListVersion> {
    Ok(ListVersion {
        id: r.get(0)?,
        kind: r.get(1)?,
        source: r.get(2)?,
        as_of: r.get(3)?,
        file_name: r.get(4)?,
        file_sha256: r.get(5)?,
        imported_at: r.get(6)?,
        operator: r.get(7)?,
        rows_read: r.get(8)?,
        rows_kept: r.get(9)?,
        rows_out_of_age: r.get(10)?,
        rows_refused: r.get(11)?,
        current: r.get(12)?,
    })
}

/// The version of one source with this as-of date.
pub fn get(
    conn: &Connection,
    kind: &str,
    source: &str,
    as_of: &str,
) -> Result<Option<ListVersion>> {
    Ok(conn
        .query_row(
            &format!("{SELECT} WHERE v.kind = ?1 AND v.source = ?2 AND v.as_of = ?3"),
            params![kind, source, as_of],
            from_row,
        )
        .optional()?)
}

/// The newest version of one source (the current one), if any.
pub fn get_current(conn: &Connection, kind: &str, source: &str) -> Result<Option<ListVersion>> {
    Ok(conn
        .query_row(
            &format!("{SELECT} WHERE v.kind = ?1 AND v.source = ?2 ORDER BY v.as_of DESC LIMIT 1"),
            params![kind, source],
            from_row,
        )
        .optional()?)
}

/// Every version, by kind, source and as-of date (newest first within a source).
pub fn list(conn: &Connection) -> Result<Vec<ListVersion>> {
    let mut st = conn.prepare(&format!("{SELECT} ORDER BY v.kind, v.source, v.as_of DESC"))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The current version of every source (of one KIND, or of all when `kind` is `None`).
pub fn list_current(conn: &Connection, kind: Option<&str>) -> Result<Vec<ListVersion>> {
    Ok(list(conn)?
        .into_iter()
        .filter(|v| v.current && kind.is_none_or(|k| v.kind == k))
        .collect())
}

/// What a version records about its import.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    pub kind: &'a str,
    pub source: &'a str,
    pub as_of: &'a str,
    pub file_name: &'a str,
    pub file_sha256: &'a str,
    pub imported_at: &'a str,
    pub operator: &'a str,
    pub rows_read: i64,
    pub rows_kept: i64,
    pub rows_out_of_age: i64,
    pub rows_refused: i64,
}

/// Adds a version; returns its id.
pub fn insert(conn: &Connection, v: &NewVersion<'_>) -> Result<i64> {
    conn.execute(
        "INSERT INTO list_versions (kind, source, as_of, file_name, file_sha256, imported_at, operator,
            rows_read, rows_kept, rows_out_of_age, rows_refused)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            v.kind,
            v.source,
            v.as_of,
            v.file_name,
            v.file_sha256,
            v.imported_at,
            v.operator,
            v.rows_read,
            v.rows_kept,
            v.rows_out_of_age,
            v.rows_refused
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Replaces the import facts of an existing version (its rows were replaced).
pub fn put(conn: &Connection, id: i64, v: &NewVersion<'_>) -> Result<()> {
    conn.execute(
        "UPDATE list_versions SET file_name = ?2, file_sha256 = ?3, imported_at = ?4, operator = ?5,
            rows_read = ?6, rows_kept = ?7, rows_out_of_age = ?8, rows_refused = ?9 WHERE id = ?1",
        params![
            id,
            v.file_name,
            v.file_sha256,
            v.imported_at,
            v.operator,
            v.rows_read,
            v.rows_kept,
            v.rows_out_of_age,
            v.rows_refused
        ],
    )?;
    Ok(())
}

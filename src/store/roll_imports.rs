//! SQL of the `roll_import_runs` / `roll_import_children` tables: which children each roll-sheet
//! import of a school contained (local bookkeeping for "not on the new sheet"; never travels).

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

/// Starts a run; returns its id.
pub fn insert_run(
    conn: &Connection,
    school_code: &str,
    term: &str,
    file_name: &str,
    imported_at: &str,
    operator: &str,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO roll_import_runs (school_code, term, file_name, imported_at, operator, rows)
         VALUES (?1, ?2, ?3, ?4, ?5, 0)",
        params![school_code, term, file_name, imported_at, operator],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Records the number of children a run contained.
pub fn put_run_rows(conn: &Connection, run_id: i64, rows: i64) -> Result<()> {
    conn.execute(
        "UPDATE roll_import_runs SET rows = ?2 WHERE id = ?1",
        params![run_id, rows],
    )?;
    Ok(())
}

/// Adds a child to a run with what the run did to it (`insert`, `update`, or empty for
/// unchanged); a child twice is kept once.
pub fn insert_child(conn: &Connection, run_id: i64, child_id: &str, change: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO roll_import_children (run_id, child_id, change) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![run_id, child_id, change])?;
    Ok(())
}

/// The children a run inserted or updated, with what it did, by child id.
/// A child on a run's list, written by `insert_children`.
pub struct RunChild {
    pub run_id: i64,
    pub child_id: String,
    /// `insert`, `update`, or empty.
    pub change: &'static str,
}

impl super::many::NewRow for RunChild {
    type Texts = ();
    const HEAD: &'static str =
        "INSERT OR IGNORE INTO roll_import_children (run_id, child_id, change) VALUES";
    // A child twice on one run is written once (as `insert_child`), but counted as refused by
    // `many::insert_rows`: only new pupils, each once, come this way.
    const COLUMNS: usize = 3;
    fn texts(&self) {}
    fn push_values<'a>(&'a self, _: &'a (), out: &mut Vec<rusqlite::types::ValueRef<'a>>) {
        use super::many::text;
        out.extend([
            rusqlite::types::ValueRef::Integer(self.run_id),
            text(&self.child_id),
            text(self.change),
        ]);
    }
}

/// Adds children to runs' lists, many to a statement (as `insert_child`).
pub fn insert_children(conn: &Connection, children: &[RunChild]) -> Result<()> {
    super::many::insert_rows(conn, children)
}

pub fn list_changed(conn: &Connection, run_id: i64) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare(
        "SELECT child_id, change FROM roll_import_children WHERE run_id = ?1 AND change <> ''
         ORDER BY child_id",
    )?;
    let rows = st.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A SHA-256 over a run's changed children (`child_id change` lines, by child id): the run's
/// audit row carries it, so the list cannot be edited without breaking the audit chain.
pub fn changed_digest(conn: &Connection, run_id: i64) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // As `list_changed` gives them, hashed as they are read (a whole county's run is 200k rows).
    let mut st = conn.prepare(
        "SELECT child_id, change FROM roll_import_children WHERE run_id = ?1 AND change <> ''
         ORDER BY child_id",
    )?;
    let mut rows = st.query([run_id])?;
    fn text(v: rusqlite::types::ValueRef<'_>) -> &[u8] {
        match v {
            rusqlite::types::ValueRef::Text(t) => t,
            _ => b"",
        }
    }
    while let Some(r) = rows.next()? {
        h.update(text(r.get_ref(0)?));
        h.update(b" ");
        h.update(text(r.get_ref(1)?));
        h.update(b"\n");
    }
    Ok(hex::encode(h.finalize()))
}

/// The latest run of a school before `before_run` (id and term).
pub fn get_previous_run(
    conn: &Connection,
    school_code: &str,
    before_run: i64,
) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT id, term FROM roll_import_runs WHERE school_code = ?1 AND id < ?2
             ORDER BY id DESC LIMIT 1",
            params![school_code, before_run],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Children of run `prev` that are not in run `cur`.
pub fn list_missing(conn: &Connection, prev: i64, cur: i64) -> Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT child_id FROM roll_import_children WHERE run_id = ?1
         EXCEPT SELECT child_id FROM roll_import_children WHERE run_id = ?2
         ORDER BY 1",
    )?;
    let rows = st.query_map(params![prev, cur], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<String>, _>>()?)
}

/// Forgets the unchanged children of a school's runs older than `keep_from` (only the last two
/// runs matter for "not on the new sheet"); what each run inserted or updated is kept, as its
/// audit row refers to it.
pub fn delete_unchanged_before(conn: &Connection, school_code: &str, keep_from: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM roll_import_children WHERE change = '' AND run_id IN
            (SELECT id FROM roll_import_runs WHERE school_code = ?1 AND id < ?2)",
        params![school_code, keep_from],
    )?;
    Ok(())
}

/// Readies a connection for a bulk import: a larger page cache, and the query planner stability
/// guarantee, without which SQLite (built with STAT4) re-prepares every statement that compares
/// a bound value with an indexed column each time the value changes — per row of an import.
pub fn tune_for_bulk(conn: &Connection) -> Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.pragma_update(None, "cache_size", -32_768)?;
    Ok(())
}

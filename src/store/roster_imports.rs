//! SQL of the `roster_import_runs` / `roster_import_records` tables: which households, children
//! and guardians each household-roster import inserted or updated (local bookkeeping; never
//! travels). The run's one audit row carries a digest of its record list, so the list cannot
//! be edited without `audit verify` noticing.

use crate::error::Result;
use rusqlite::{params, Connection};

/// Starts a run; returns its id.
pub fn insert_run(
    conn: &Connection,
    file_name: &str,
    imported_at: &str,
    operator: &str,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO roster_import_runs (file_name, imported_at, operator, rows)
         VALUES (?1, ?2, ?3, 0)",
        params![file_name, imported_at, operator],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Records the number of rows a run imported.
pub fn put_run_rows(conn: &Connection, run_id: i64, rows: i64) -> Result<()> {
    conn.execute(
        "UPDATE roster_import_runs SET rows = ?2 WHERE id = ?1",
        params![run_id, rows],
    )?;
    Ok(())
}

/// Adds a record a run wrote (`insert` or `update`); a record written twice keeps its first
/// action (an insert stays an insert).
pub fn insert_record(
    conn: &Connection,
    run_id: i64,
    table: &str,
    record_id: &str,
    change: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO roster_import_records (run_id, table_name, record_id, change)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![run_id, table, record_id, change])?;
    Ok(())
}

/// The records a run wrote: `(table, record id, change)`, by table and id.
pub fn list_records(conn: &Connection, run_id: i64) -> Result<Vec<(String, String, String)>> {
    let mut st = conn.prepare_cached(
        "SELECT table_name, record_id, change FROM roster_import_records WHERE run_id = ?1
         ORDER BY table_name, record_id",
    )?;
    let rows = st.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A SHA-256 over a run's record list (`table id change` lines, by table and id).
pub fn records_digest(conn: &Connection, run_id: i64) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (table, id, change) in list_records(conn, run_id)? {
        for part in [
            table.as_bytes(),
            b" ",
            id.as_bytes(),
            b" ",
            change.as_bytes(),
            b"\n",
        ] {
            h.update(part);
        }
    }
    Ok(hex::encode(h.finalize()))
}

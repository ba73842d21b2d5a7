//! Generic SQL over the travelling tables, for bundles: a row is the table's columns in schema
//! order as SQLite values, so a column another migration adds travels without code changes.
//! Table names come only from `TRAVELLING_TABLES` (checked by the callers), never from a file.

use crate::error::Result;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params_from_iter, Connection, OptionalExtension};

/// A travelling table's columns in schema order, with whether each is NOT NULL.
pub fn columns(conn: &Connection, table: &str) -> Result<Vec<(String, bool)>> {
    let mut st = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, String>(1)?, r.get::<_, i64>(3)? != 0))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Calls `f` with every row of a table (all columns, schema order), in storage order; with
/// `version_after`, only rows whose version sorts after it.
pub fn for_each(
    conn: &Connection,
    table: &str,
    version_after: Option<&str>,
    mut f: impl FnMut(&rusqlite::Row<'_>) -> Result<()>,
) -> Result<()> {
    let mut st = match version_after {
        Some(_) => conn.prepare(&format!("SELECT * FROM {table} WHERE version > ?1"))?,
        None => conn.prepare(&format!("SELECT * FROM {table}"))?,
    };
    let mut rows = match version_after {
        Some(v) => st.query([v])?,
        None => st.query([])?,
    };
    while let Some(r) = rows.next()? {
        f(r)?;
    }
    Ok(())
}

/// Gives the connection a large page cache for a bulk export or merge (per connection, not
/// persistent; about `mb` megabytes).
pub fn set_cache_mb(conn: &Connection, mb: i64) -> Result<()> {
    conn.pragma_update(None, "cache_size", -(mb * 1024))?;
    Ok(())
}

/// Switches a WAL register to a rollback journal for a bulk load (pages written once, not to the
/// WAL and then again by the checkpoint). Returns the mode to restore, or `None` when the switch
/// did not happen (another connection has the register open, or it is not in WAL mode).
pub fn journal_for_bulk(conn: &Connection) -> Option<String> {
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .ok()?;
    if !mode.eq_ignore_ascii_case("wal") {
        return None;
    }
    let now: String = conn
        .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
        .ok()?;
    now.eq_ignore_ascii_case("delete").then_some(mode)
}

/// Switches the connection's foreign-key checks on or off (outside a transaction only: SQLite
/// ignores the switch inside one). Every register connection opens with them on.
pub fn foreign_keys(conn: &Connection, on: bool) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", if on { "ON" } else { "OFF" })?;
    Ok(())
}

/// Puts the journal mode back after `journal_for_bulk` (best effort: every open sets WAL again).
pub fn restore_journal(conn: &Connection, mode: &str) {
    let _ = conn.pragma_update(None, "journal_mode", mode);
}

/// One whole row by id.
pub fn get(conn: &Connection, table: &str, id: &str) -> Result<Option<Vec<Value>>> {
    let mut st = conn.prepare_cached(&format!("SELECT * FROM {table} WHERE id = ?1"))?;
    let n = st.column_count();
    Ok(st
        .query_row([id], |r| {
            (0..n)
                .map(|i| r.get::<_, Value>(i))
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .optional()?)
}

/// (version, prev_version, edits, deleted) of a row.
pub type MergeMeta = (String, Option<String>, i64, bool);

/// The meta a merge compares: version, prev_version, edits, deleted.
pub fn get_meta(conn: &Connection, table: &str, id: &str) -> Result<Option<MergeMeta>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT version, prev_version, edits, deleted FROM {table} WHERE id = ?1"
    ))?;
    Ok(st
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?)
}

/// Inserts or replaces a whole row (`cols` are column names, `values` in the same order).
pub fn put(conn: &Connection, table: &str, cols: &[String], values: &[Value]) -> Result<()> {
    put_sql(conn, &upsert_sql(table, cols), values)
}

/// `put` with the statement text made once by `upsert_sql` (for bulk merges).
pub fn put_sql(conn: &Connection, sql: &str, values: &[Value]) -> Result<()> {
    conn.prepare_cached(sql)?
        .execute(params_from_iter(values.iter()))?;
    Ok(())
}

/// Inserts a row unless its id exists (append-only tables such as case events).
pub fn insert_or_ignore(
    conn: &Connection,
    table: &str,
    cols: &[String],
    values: &[Value],
) -> Result<bool> {
    let marks = (1..=cols.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>();
    let sql = format!(
        "INSERT OR IGNORE INTO {table} ({}) VALUES ({})",
        cols.join(", "),
        marks.join(", ")
    );
    Ok(conn
        .prepare_cached(&sql)?
        .execute(params_from_iter(values.iter()))?
        > 0)
}

/// The prepared insert-if-new statement of a table (`insert_new_sql`), kept by a bulk merge.
pub fn prepare_insert_new<'c>(
    conn: &'c Connection,
    sql: &str,
) -> Result<rusqlite::CachedStatement<'c>> {
    Ok(conn.prepare_cached(sql)?)
}

/// Inserts a row unless its id exists; returns whether it was inserted. Other constraint
/// violations are errors (unlike `INSERT OR IGNORE`). `st` comes from `prepare_insert_new`.
pub fn insert_new<'a>(
    st: &mut rusqlite::Statement<'_>,
    values: impl IntoIterator<Item = ValueRef<'a>>,
) -> Result<bool> {
    Ok(st.execute(params_from_iter(
        values.into_iter().map(ToSqlOutput::Borrowed),
    ))? > 0)
}

/// Whether an index's first column is `id` (it grows by appending when rows arrive in id order,
/// so a bulk load keeps it rather than rebuilding it).
pub fn index_leads_with_id(conn: &Connection, index: &str) -> Result<bool> {
    let first: Option<String> = conn
        .query_row(
            "SELECT name FROM pragma_index_info(?1) WHERE seqno = 0",
            [index],
            |r| r.get(0),
        )
        .optional()?;
    Ok(first.as_deref() == Some("id"))
}

/// The insert-if-new statement of a table for the given columns.
pub fn insert_new_sql(table: &str, cols: &[String]) -> String {
    let marks = (1..=cols.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT(id) DO NOTHING",
        cols.join(", "),
        marks.join(", ")
    )
}

/// A plain insert of `n` rows of a table's columns in one statement (a bulk load into an empty
/// table). A row that cannot be written (its id exists, or it breaks a constraint) is skipped,
/// which the caller sees in the returned count and must treat as a failure. `OR IGNORE` rather
/// than `ON CONFLICT(id) DO NOTHING`: no constraint can then abort the statement halfway, so
/// SQLite keeps no statement journal for it (a copy of every page the statement touches that
/// existed before it, ≈ 3 % of a bulk merge's writing thread).
pub fn insert_many_sql(table: &str, cols: &[String], n: usize) -> String {
    let row = format!("({})", vec!["?"; cols.len()].join(", "));
    format!(
        "INSERT OR IGNORE INTO {table} ({}) VALUES {}",
        cols.join(", "),
        vec![row; n].join(", ")
    )
}

/// The upsert statement of a table for the given columns.
pub fn upsert_sql(table: &str, cols: &[String]) -> String {
    let marks = (1..=cols.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>();
    let sets = cols
        .iter()
        .filter(|c| c.as_str() != "id")
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT(id) DO UPDATE SET {}",
        cols.join(", "),
        marks.join(", "),
        sets.join(", ")
    )
}

/// The village code and household of a child (for scope checks).
pub fn child_area(conn: &Connection, id: &str) -> Result<Option<(Option<String>, Option<String>)>> {
    Ok(conn
        .prepare_cached("SELECT village_code, household_id FROM children WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The village code of a household.
pub fn household_village(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT village_code FROM households WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// Whether a child has an enrolment (live or not) at a school.
pub fn child_enrolled_at(conn: &Connection, child_id: &str, school_code: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM enrolments WHERE child_id = ?1 AND school_code = ?2)",
        )?
        .query_row([child_id, school_code], |r| r.get(0))?)
}

/// The child of a case.
pub fn case_child(conn: &Connection, case_id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT child_id FROM cases WHERE id = ?1")?
        .query_row([case_id], |r| r.get(0))
        .optional()?)
}

/// Ids of a child's enrolments at one school.
pub fn enrolment_ids_at(
    conn: &Connection,
    child_id: &str,
    school_code: &str,
) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM enrolments WHERE child_id = ?1 AND school_code = ?2 ORDER BY id",
    )?;
    let rows = st.query_map([child_id, school_code], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// How many rows a table holds (tombstones included).
pub fn count(conn: &Connection, table: &str) -> Result<u64> {
    Ok(
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })? as u64,
    )
}

/// Whether a table has no rows at all.
pub fn is_empty(conn: &Connection, table: &str) -> Result<bool> {
    Ok(
        !conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
            r.get::<_, bool>(0)
        })?,
    )
}

/// Deletes every row of `table` (`flush::journal_roots`, on an empty table). Table names come
/// only from `TRAVELLING_TABLES`.
pub fn delete_all(conn: &Connection, table: &str) -> Result<usize> {
    Ok(conn.execute(&format!("DELETE FROM {table}"), [])?)
}

/// The secondary indexes of a table as (name, CREATE statement); automatic indexes excluded.
pub fn secondary_indexes(conn: &Connection, table: &str) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL
         ORDER BY name",
    )?;
    let rows = st.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Drops an index by name (inside the caller's transaction).
pub fn drop_index(conn: &Connection, name: &str) -> Result<()> {
    conn.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "")))?;
    Ok(())
}

/// Lets SQLite's sorter (CREATE INDEX) keep its keys in one growing block of memory instead of
/// one allocation per key (`on`), or puts the default back. The bundled SQLCipher is built with
/// temporary storage in memory, which also makes the sorter allocate every key on its own:
/// about twice the CPU of the block sorter for a 200k-row index. With `on`, the sorter would
/// write a (plain-text) temporary file only past `SORTER_SPILL_BYTES` of keys, so callers switch
/// it on only for tables whose whole text is well below that. Returns whether the switch
/// happened (SQLite refuses it while a temporary table is open in a transaction).
pub fn sorter_block_memory(conn: &Connection, on: bool) -> bool {
    conn.pragma_update(None, "temp_store", if on { "FILE" } else { "DEFAULT" })
        .is_ok()
}

/// The sorter's keys above which it would spill to a temporary file with `sorter_block_memory`
/// (SQLite's largest in-memory run, 512 MiB, when the page cache is at least as large).
pub const SORTER_SPILL_BYTES: usize = 1 << 29;

/// Re-creates an index from the statement `secondary_indexes` returned.
pub fn create_index(conn: &Connection, sql: &str) -> Result<()> {
    conn.execute_batch(sql)?;
    Ok(())
}

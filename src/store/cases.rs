//! SQL of the `cases` table.

use super::record::{codes_from_text, codes_to_text, meta_from_row, META_COLUMNS};
use crate::domain::Case;
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

fn select() -> String {
    format!(
        "SELECT {META_COLUMNS}, child_id, state, reason_code, priority_groups, resp_school, resp_township,
            resp_village, plan, opened_on, closed_on FROM cases"
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Case> {
    Ok(Case {
        meta: meta_from_row(r)?,
        child_id: r.get(7)?,
        state: r.get(8)?,
        reason_code: r.get(9)?,
        priority_groups: codes_from_text(&r.get::<_, String>(10)?),
        resp_school: r.get(11)?,
        resp_township: r.get(12)?,
        resp_village: r.get(13)?,
        plan: r.get(14)?,
        opened_on: r.get(15)?,
        closed_on: r.get(16)?,
    })
}

/// Inserts or replaces the row with this id.
pub fn put(conn: &Connection, c: &Case) -> Result<()> {
    let m = &c.meta;
    conn.prepare_cached(
        "INSERT INTO cases (id, origin_site, version, prev_version, edits, updated_at, deleted,
            child_id, state, reason_code, priority_groups, resp_school, resp_township, resp_village, plan,
            opened_on, closed_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT(id) DO UPDATE SET origin_site = excluded.origin_site, version = excluded.version,
            prev_version = excluded.prev_version, edits = excluded.edits, updated_at = excluded.updated_at,
            deleted = excluded.deleted, child_id = excluded.child_id, state = excluded.state,
            reason_code = excluded.reason_code, priority_groups = excluded.priority_groups,
            resp_school = excluded.resp_school, resp_township = excluded.resp_township,
            resp_village = excluded.resp_village, plan = excluded.plan, opened_on = excluded.opened_on,
            closed_on = excluded.closed_on",
    )?
    .execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        c.child_id,
        c.state,
        c.reason_code,
        codes_to_text(&c.priority_groups),
        c.resp_school,
        c.resp_township,
        c.resp_village,
        c.plan,
        c.opened_on,
        c.closed_on
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Case>> {
    Ok(conn
        .query_row(&format!("{} WHERE id = ?1", select()), [id], from_row)
        .optional()?)
}

/// Live cases, optionally in one state.
pub fn list(conn: &Connection, state: Option<&str>) -> Result<Vec<Case>> {
    let mut st = conn.prepare(&format!(
        "{} WHERE deleted = 0 AND (?1 IS NULL OR state = ?1) ORDER BY opened_on, id",
        select()
    ))?;
    let rows = st.query_map([state], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Live cases of one child record.
pub fn list_by_child(conn: &Connection, child_id: &str) -> Result<Vec<Case>> {
    let mut st = conn.prepare_cached(&format!(
        "{} WHERE child_id = ?1 AND deleted = 0 ORDER BY opened_on, id",
        select()
    ))?;
    let rows = st.query_map([child_id], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Ids of live cases whose id starts with `prefix` (a clerk may type the first 8 characters).
pub fn list_ids_by_prefix(conn: &Connection, prefix: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM cases WHERE deleted = 0 AND substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 5",
    )?;
    let rows = st.query_map([prefix], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

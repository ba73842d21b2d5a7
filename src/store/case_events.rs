//! SQL of the `case_events` table (append-only: rows are inserted, never updated).

use super::record::{meta_from_row, META_COLUMNS};
use crate::domain::CaseEvent;
use crate::error::Result;
use rusqlite::{params, Connection, Row};

fn from_row(r: &Row<'_>) -> rusqlite::Result<CaseEvent> {
    Ok(CaseEvent {
        meta: meta_from_row(r)?,
        case_id: r.get(7)?,
        on_date: r.get(8)?,
        kind: r.get(9)?,
        from_state: r.get(10)?,
        to_state: r.get(11)?,
        payload: r.get(12)?,
        operator: r.get(13)?,
    })
}

/// Appends one event (an existing id is left as it is: events only union).
pub fn insert(conn: &Connection, e: &CaseEvent) -> Result<()> {
    let m = &e.meta;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO case_events (id, origin_site, version, prev_version, edits, updated_at, deleted,
            case_id, on_date, kind, from_state, to_state, payload, operator)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        e.case_id,
        e.on_date,
        e.kind,
        e.from_state,
        e.to_state,
        e.payload,
        e.operator
    ])?;
    Ok(())
}

/// A case's history, oldest first.
pub fn list_by_case(conn: &Connection, case_id: &str) -> Result<Vec<CaseEvent>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {META_COLUMNS}, case_id, on_date, kind, from_state, to_state, payload, operator
         FROM case_events WHERE case_id = ?1 AND deleted = 0 ORDER BY on_date, version, id"
    ))?;
    let rows = st.query_map([case_id], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

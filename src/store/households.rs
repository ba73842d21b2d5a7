//! SQL of the `households` table.

use super::record::{codes_from_text, codes_to_text, meta_from_row, META_COLUMNS};
use crate::domain::Household;
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

fn select() -> String {
    format!("SELECT {META_COLUMNS}, head_name, head_id_number, phone, address, village_code, priority_groups, note FROM households")
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Household> {
    Ok(Household {
        meta: meta_from_row(r)?,
        head_name: r.get(7)?,
        head_id_number: r.get(8)?,
        phone: r.get(9)?,
        address: r.get(10)?,
        village_code: r.get(11)?,
        priority_groups: codes_from_text(&r.get::<_, String>(12)?),
        note: r.get(13)?,
    })
}

/// Inserts or replaces the row with this id.
pub fn put(conn: &Connection, h: &Household) -> Result<()> {
    let m = &h.meta;
    conn.prepare_cached(
        "INSERT INTO households (id, origin_site, version, prev_version, edits, updated_at, deleted,
            head_name, head_id_number, phone, address, village_code, priority_groups, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT(id) DO UPDATE SET origin_site = excluded.origin_site, version = excluded.version,
            prev_version = excluded.prev_version, edits = excluded.edits, updated_at = excluded.updated_at,
            deleted = excluded.deleted, head_name = excluded.head_name, head_id_number = excluded.head_id_number,
            phone = excluded.phone, address = excluded.address, village_code = excluded.village_code,
            priority_groups = excluded.priority_groups, note = excluded.note",
    )?
    .execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        h.head_name,
        h.head_id_number,
        h.phone,
        h.address,
        h.village_code,
        codes_to_text(&h.priority_groups),
        h.note
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Household>> {
    Ok(conn
        .query_row(&format!("{} WHERE id = ?1", select()), [id], from_row)
        .optional()?)
}

/// Live households, optionally of one village (or a code prefix: township, county), newest first.
pub fn list(
    conn: &Connection,
    area_prefix: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Household>> {
    let prefix = format!("{}%", area_prefix.unwrap_or(""));
    let mut st = conn.prepare(&format!(
        "{} WHERE deleted = 0 AND village_code LIKE ?1 ORDER BY village_code, head_name, id LIMIT ?2 OFFSET ?3",
        select()
    ))?;
    let rows = st.query_map(params![prefix, limit, offset], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Ids of every live household in roster order (village, head, id), as `list` pages them:
/// the app's virtualised 学户册 sorts once and then fetches any stretch of it by id.
pub fn list_ids(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT id FROM households WHERE deleted = 0 ORDER BY village_code, head_name, id",
    )?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Live households whose head or any child matches the text (name, ID, 学籍号).
pub fn search(conn: &Connection, text: &str, limit: i64) -> Result<Vec<Household>> {
    let like = format!("%{text}%");
    let mut st = conn.prepare(&format!(
        "{} WHERE deleted = 0 AND (head_name LIKE ?1 OR address LIKE ?1 OR id IN (
            SELECT household_id FROM children WHERE deleted = 0 AND household_id IS NOT NULL
              AND (name LIKE ?1 OR id_number LIKE ?1 OR student_no LIKE ?1)))
         ORDER BY village_code, head_name, id LIMIT ?2",
        select()
    ))?;
    let rows = st.query_map(params![like, limit], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM households WHERE deleted = 0",
        [],
        |r| r.get(0),
    )?)
}

/// Live households whose head has this ID number (for roster imports).
pub fn list_by_head_id(conn: &Connection, head_id_number: &str) -> Result<Vec<Household>> {
    let mut st = conn.prepare_cached(&format!(
        "{} WHERE deleted = 0 AND head_id_number = ?1 ORDER BY id",
        select()
    ))?;
    let rows = st.query_map([head_id_number], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Live households of a village with this head's name (for roster imports without a head ID).
pub fn list_by_village_head(
    conn: &Connection,
    village_code: &str,
    head_name: &str,
) -> Result<Vec<Household>> {
    let mut st = conn.prepare_cached(&format!(
        "{} WHERE deleted = 0 AND village_code = ?1 AND head_name = ?2 ORDER BY id",
        select()
    ))?;
    let rows = st.query_map(params![village_code, head_name], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

//! SQL of the `person_links` table: a person's decision that two child records are (or are not)
//! the same child. A travelling table; its id is derived from the pair (see `persons::link_id`).

use super::record::{meta_from_row, META_COLUMNS};
use crate::error::Result;
use crate::persons::PersonLink;
use rusqlite::{params, Connection, OptionalExtension, Row};

fn from_row(r: &Row<'_>) -> rusqlite::Result<PersonLink> {
    Ok(PersonLink {
        meta: meta_from_row(r)?,
        child_id: r.get(7)?,
        other_child_id: r.get(8)?,
        decision: r.get(9)?,
        reason: r.get(10)?,
        decided_by: r.get(11)?,
    })
}

const SELECT: &str = "child_id, other_child_id, decision, reason, decided_by FROM person_links";

/// Inserts or replaces the row with this id.
pub fn put(conn: &Connection, l: &PersonLink) -> Result<()> {
    let m = &l.meta;
    conn.prepare_cached(
        "INSERT INTO person_links (id, origin_site, version, prev_version, edits, updated_at, deleted,
            child_id, other_child_id, decision, reason, decided_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(id) DO UPDATE SET origin_site = excluded.origin_site, version = excluded.version,
            prev_version = excluded.prev_version, edits = excluded.edits, updated_at = excluded.updated_at,
            deleted = excluded.deleted, child_id = excluded.child_id,
            other_child_id = excluded.other_child_id, decision = excluded.decision,
            reason = excluded.reason, decided_by = excluded.decided_by",
    )?
    .execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        l.child_id,
        l.other_child_id,
        l.decision,
        l.reason,
        l.decided_by
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<PersonLink>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {META_COLUMNS}, {SELECT} WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// Live links naming one child record (on either side).
pub fn list_for_child(conn: &Connection, child_id: &str) -> Result<Vec<PersonLink>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {META_COLUMNS}, {SELECT}
         WHERE (child_id = ?1 OR other_child_id = ?1) AND deleted = 0 ORDER BY id"
    ))?;
    let rows = st.query_map([child_id], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Every live link, by id.
pub fn list(conn: &Connection) -> Result<Vec<PersonLink>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {META_COLUMNS}, {SELECT} WHERE deleted = 0 ORDER BY id"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The two record ids of every live decision `same` or `different`.
pub fn list_pairs(conn: &Connection, decision: &str) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare(
        "SELECT child_id, other_child_id FROM person_links WHERE decision = ?1 AND deleted = 0",
    )?;
    let rows = st.query_map([decision], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A probable duplicate pair: two live child records with the same name and birth date, at
/// least one without an ID number, with each record's village (its own or its household's).
#[derive(Debug, Clone)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub name: String,
    pub birth_date: String,
    pub a_village: Option<String>,
    pub b_village: Option<String>,
    pub a_key: Option<String>,
    pub b_key: Option<String>,
    pub a_origin: String,
    pub b_origin: String,
}

/// Pairs of live child records sharing name and birth date where one or both lack an ID key
/// (uses the `children_name_birth` index).
pub fn list_name_birth_pairs(conn: &Connection) -> Result<Vec<Pair>> {
    let mut st = conn.prepare(
        "SELECT a.id, b.id, a.name, a.birth_date,
                COALESCE(a.village_code, ha.village_code), COALESCE(b.village_code, hb.village_code),
                a.id_key, b.id_key, a.origin_site, b.origin_site
         FROM children a
         JOIN children b ON b.name = a.name AND b.birth_date = a.birth_date AND b.id > a.id
         LEFT JOIN households ha ON ha.id = a.household_id
         LEFT JOIN households hb ON hb.id = b.household_id
         WHERE a.deleted = 0 AND b.deleted = 0 AND a.birth_date IS NOT NULL
           AND (a.id_key IS NULL OR b.id_key IS NULL)
         ORDER BY a.name, a.birth_date, a.id, b.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Pair {
            a: r.get(0)?,
            b: r.get(1)?,
            name: r.get(2)?,
            birth_date: r.get(3)?,
            a_village: r.get(4)?,
            b_village: r.get(5)?,
            a_key: r.get(6)?,
            b_key: r.get(7)?,
            a_origin: r.get(8)?,
            b_origin: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

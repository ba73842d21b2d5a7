//! SQL of the cross-check (四查三比对): the keys of people currently studying, the roster
//! children (keys first from a covering index, details only for those not studying), the rolls'
//! other statuses, and the name + birth-date lookups of probable matches.

use crate::error::Result;
use rusqlite::{params, Connection};

/// The key a person is linked by: the ID (`id_key`), or the child record's own id without one.
pub const PERSON_KEY: &str = "COALESCE(c.id_key, c.id)";

/// Makes reads go through a memory map (no copy per page); a connection setting, harmless to keep.
pub fn tune_for_scans(conn: &Connection) -> Result<()> {
    conn.execute_batch("PRAGMA mmap_size = 1073741824;")?;
    Ok(())
}

/// Calls `f` with the person key of every current (在读) enrolment.
pub fn for_each_studying_key(conn: &Connection, mut f: impl FnMut(String)) -> Result<()> {
    let mut st = conn.prepare(&format!(
        "SELECT {PERSON_KEY} FROM enrolments e JOIN children c ON c.id = e.child_id
         WHERE e.deleted = 0 AND c.deleted = 0 AND e.status = 'studying'"
    ))?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        f(r.get(0)?);
    }
    Ok(())
}

/// `(rowid, person key)` of every roster child born in `(born_after, born_by]` (read from the
/// covering index `children_roster`, without touching the wide rows).
pub fn list_roster_keys(
    conn: &Connection,
    born_by: &str,
    born_after: &str,
) -> Result<Vec<(i64, String)>> {
    let mut st = conn.prepare(&format!(
        "SELECT c.rowid, {PERSON_KEY} FROM children c
         WHERE c.household_id IS NOT NULL AND c.birth_date <= ?1 AND c.birth_date > ?2 AND c.deleted = 0"
    ))?;
    let rows = st.query_map(params![born_by, born_after], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// How many live children belong to a household (the rosters).
pub fn count_roster(conn: &Connection) -> Result<usize> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM children WHERE household_id IS NOT NULL AND deleted = 0",
        [],
        |r| r.get::<_, i64>(0),
    )? as usize)
}

/// A roster child (学户册) as the cross-check reads it.
#[derive(Debug, Clone)]
pub struct RosterRow {
    pub child_id: String,
    pub id_key: Option<String>,
    pub name: String,
    pub birth_date: String,
    pub village_code: Option<String>,
    pub flags: String,
    pub disability_type: Option<String>,
    pub life_status: String,
    pub life_status_detail: Option<String>,
    pub household_groups: Option<String>,
}

const ROSTER_SELECT: &str = "SELECT c.id, c.id_key, c.name, c.birth_date,
        COALESCE(c.village_code, h.village_code), c.flags, c.disability_type, c.life_status,
        c.life_status_detail, h.priority_groups
     FROM children c LEFT JOIN households h ON h.id = c.household_id";

fn roster_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RosterRow> {
    Ok(RosterRow {
        child_id: r.get(0)?,
        id_key: r.get(1)?,
        name: r.get(2)?,
        birth_date: r.get(3)?,
        village_code: r.get(4)?,
        flags: r.get(5)?,
        disability_type: r.get(6)?,
        life_status: r.get(7)?,
        life_status_detail: r.get(8)?,
        household_groups: r.get(9)?,
    })
}

/// The roster children stored at these rowids (fetched in chunks, one query per chunk).
pub fn list_roster_by_rowids(conn: &Connection, rowids: &[i64]) -> Result<Vec<RosterRow>> {
    let mut out = Vec::with_capacity(rowids.len());
    for chunk in rowids.chunks(500) {
        // The rowids are integers read from the register itself: safe to write into the SQL.
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let mut st = conn.prepare(&format!(
            "{ROSTER_SELECT} WHERE c.rowid IN ({})",
            list.join(",")
        ))?;
        let rows = st.query_map([], roster_row)?;
        for r in rows {
            out.push(r?);
        }
    }
    Ok(out)
}

/// Roster children linked by one ID.
pub fn list_roster_by_key(conn: &Connection, id_key: &str) -> Result<Vec<RosterRow>> {
    let mut st = conn.prepare_cached(&format!(
        "{ROSTER_SELECT} WHERE c.deleted = 0 AND c.household_id IS NOT NULL AND c.id_key = ?1"
    ))?;
    let rows = st.query_map([id_key], roster_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// An enrolment whose status is not 在读, with its pupil.
#[derive(Debug, Clone)]
pub struct RollRow {
    pub child_id: String,
    pub key: String,
    pub status: String,
    pub grade: Option<i64>,
    pub school_code: String,
    pub status_date: Option<String>,
    pub name: String,
    pub birth_date: Option<String>,
    pub village_code: Option<String>,
}

/// Every live enrolment whose status is not 在读.
pub fn list_rolls_not_studying(conn: &Connection) -> Result<Vec<RollRow>> {
    let mut st = conn.prepare(&format!(
        "SELECT e.child_id, {PERSON_KEY}, e.status, e.grade, e.school_code, e.status_date,
                c.name, c.birth_date, c.village_code
         FROM enrolments e JOIN children c ON c.id = e.child_id
         WHERE e.deleted = 0 AND c.deleted = 0 AND e.status != 'studying'"
    ))?;
    let rows = st.query_map([], |r| {
        Ok(RollRow {
            child_id: r.get(0)?,
            key: r.get(1)?,
            status: r.get(2)?,
            grade: r.get(3)?,
            school_code: r.get(4)?,
            status_date: r.get(5)?,
            name: r.get(6)?,
            birth_date: r.get(7)?,
            village_code: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A pupil studying somewhere: `(child_id, has_id, school_code, village_code, name, birth_date)`.
pub type StudyingRow = (String, bool, String, Option<String>, String, Option<String>);

fn studying_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StudyingRow> {
    Ok((
        r.get(0)?,
        r.get::<_, Option<String>>(1)?.is_some(),
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

/// Studying pupils whose records carry no ID at all (matched only by name + birth date).
pub fn list_studying_without_id(conn: &Connection) -> Result<Vec<StudyingRow>> {
    let mut st = conn.prepare(
        "SELECT e.child_id, c.id_key, e.school_code, c.village_code, c.name, c.birth_date
         FROM children c CROSS JOIN enrolments e ON e.child_id = c.id
         WHERE c.id_key IS NULL AND c.deleted = 0 AND e.deleted = 0 AND e.status = 'studying'",
    )?;
    let rows = st.query_map([], studying_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Studying pupils with any of these (name, birth date) pairs (one query per 400 pairs).
pub fn list_studying_by_name_birth(
    conn: &Connection,
    pairs: &[(String, String)],
) -> Result<Vec<StudyingRow>> {
    let mut out = Vec::new();
    for chunk in pairs.chunks(400) {
        let values = vec!["(?,?)"; chunk.len()].join(",");
        let mut st = conn.prepare(&format!(
            "SELECT e.child_id, c.id_key, e.school_code, c.village_code, c.name, c.birth_date
             FROM (VALUES {values}) w
               CROSS JOIN children c ON c.name = w.column1 AND c.birth_date = w.column2
               CROSS JOIN enrolments e ON e.child_id = c.id
             WHERE c.deleted = 0 AND e.deleted = 0 AND e.status = 'studying'"
        ))?;
        let params: Vec<&dyn rusqlite::ToSql> = chunk
            .iter()
            .flat_map(|(n, b)| [n as &dyn rusqlite::ToSql, b as &dyn rusqlite::ToSql])
            .collect();
        let rows = st.query_map(params.as_slice(), studying_row)?;
        for r in rows {
            out.push(r?);
        }
    }
    Ok(out)
}

/// The open (not 销号) case state of each child that has one: `(child_id, id_key, state)`.
pub fn list_open_case_states(conn: &Connection) -> Result<Vec<(String, Option<String>, String)>> {
    let mut st = conn.prepare(
        "SELECT k.child_id, c.id_key, k.state FROM cases k JOIN children c ON c.id = k.child_id
         WHERE k.deleted = 0 AND k.state != 'closed'",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A roster child's latest enrolment grade and status, if any: `(grade, status)`.
pub fn latest_enrolment(
    conn: &Connection,
    id_key: Option<&str>,
    child_id: &str,
) -> Result<Option<(Option<i64>, String)>> {
    let mut st = conn.prepare_cached(
        "SELECT e.grade, e.status FROM enrolments e JOIN children c ON c.id = e.child_id
         WHERE e.deleted = 0 AND c.deleted = 0 AND (c.id = ?2 OR (?1 IS NOT NULL AND c.id_key = ?1))
         ORDER BY COALESCE(e.grade, 0) DESC, e.version DESC LIMIT 1",
    )?;
    let mut rows = st.query(params![id_key, child_id])?;
    match rows.next()? {
        Some(r) => Ok(Some((r.get(0)?, r.get(1)?))),
        None => Ok(None),
    }
}

/// Roster children born in `(born_after, born_by]`, optionally under a division code prefix.
pub fn list_roster_born_between(
    conn: &Connection,
    born_by: &str,
    born_after: &str,
    area_prefix: Option<&str>,
) -> Result<Vec<RosterRow>> {
    let prefix = format!("{}%", area_prefix.unwrap_or(""));
    let mut st = conn.prepare(&format!(
        "{ROSTER_SELECT}
         WHERE c.deleted = 0 AND c.household_id IS NOT NULL AND c.birth_date <= ?1 AND c.birth_date > ?2
           AND COALESCE(c.village_code, h.village_code) LIKE ?3
         ORDER BY COALESCE(c.village_code, h.village_code), c.name, c.id"
    ))?;
    let rows = st.query_map(params![born_by, born_after, prefix], roster_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

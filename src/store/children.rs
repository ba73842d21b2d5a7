//! SQL of the `children` table.

use super::many::{opt, push_meta, text, MetaTexts, NewRow};
use super::record::{codes_from_text, codes_to_text, meta_from_row, META_COLUMNS};
use crate::domain::Child;
use crate::error::Result;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, Row};

fn select() -> String {
    format!(
        "SELECT {META_COLUMNS}, household_id, name, sex, birth_date, id_number, id_key, student_no, village_code,
            hukou_place, residence, flags, disability_type, disability_grade, life_status, life_status_detail, note
         FROM children"
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Child> {
    Ok(Child {
        meta: meta_from_row(r)?,
        household_id: r.get(7)?,
        name: r.get(8)?,
        sex: r.get(9)?,
        birth_date: r.get(10)?,
        id_number: r.get(11)?,
        id_key: r.get(12)?,
        student_no: r.get(13)?,
        village_code: r.get(14)?,
        hukou_place: r.get(15)?,
        residence: r.get(16)?,
        flags: codes_from_text(&r.get::<_, String>(17)?),
        disability_type: r.get(18)?,
        disability_grade: r.get(19)?,
        life_status: r.get(20)?,
        life_status_detail: r.get(21)?,
        note: r.get(22)?,
    })
}

const INSERT_SQL: &str = "INSERT INTO children (id, origin_site, version, prev_version, edits, updated_at, deleted,
            household_id, name, sex, birth_date, id_number, id_key, student_no, village_code, hukou_place,
            residence, flags, disability_type, disability_grade, life_status, life_status_detail, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)";

/// Inserts or replaces the row with this id.
pub fn put(conn: &Connection, c: &Child) -> Result<()> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("{INSERT_SQL}
         ON CONFLICT(id) DO UPDATE SET origin_site = excluded.origin_site, version = excluded.version,
            prev_version = excluded.prev_version, edits = excluded.edits, updated_at = excluded.updated_at,
            deleted = excluded.deleted, household_id = excluded.household_id, name = excluded.name,
            sex = excluded.sex, birth_date = excluded.birth_date, id_number = excluded.id_number,
            id_key = excluded.id_key, student_no = excluded.student_no, village_code = excluded.village_code,
            hukou_place = excluded.hukou_place, residence = excluded.residence, flags = excluded.flags,
            disability_type = excluded.disability_type, disability_grade = excluded.disability_grade,
            life_status = excluded.life_status, life_status_detail = excluded.life_status_detail, note = excluded.note")
    });
    write(conn, &SQL, c)
}

/// Inserts a new row (its id not yet stored). A plain INSERT: unlike `put`'s upsert, whose
/// update of the foreign-key column makes SQLite keep a statement journal (a copy of every
/// page the statement touches) inside the caller's transaction, about a third of a bulk
/// import's writing work.
pub fn insert(conn: &Connection, c: &Child) -> Result<()> {
    write(conn, INSERT_SQL, c)
}

/// Texts of a child written by `many::insert_rows`: its meta and its flags as JSON.
pub struct ChildTexts {
    meta: MetaTexts,
    flags: String,
}

impl NewRow for Child {
    type Texts = ChildTexts;
    const HEAD: &'static str = "INSERT OR IGNORE INTO children (id, origin_site, version, prev_version, edits, updated_at, deleted,
            household_id, name, sex, birth_date, id_number, id_key, student_no, village_code, hukou_place,
            residence, flags, disability_type, disability_grade, life_status, life_status_detail, note) VALUES";
    const COLUMNS: usize = 23;
    fn texts(&self) -> ChildTexts {
        ChildTexts {
            meta: MetaTexts::of(&self.meta),
            flags: codes_to_text(&self.flags),
        }
    }
    fn push_values<'a>(&'a self, t: &'a ChildTexts, out: &mut Vec<ValueRef<'a>>) {
        push_meta(&self.meta, &t.meta, out);
        out.extend([
            opt(&self.household_id),
            text(&self.name),
            opt(&self.sex),
            opt(&self.birth_date),
            opt(&self.id_number),
            opt(&self.id_key),
            opt(&self.student_no),
            opt(&self.village_code),
            opt(&self.hukou_place),
            opt(&self.residence),
            text(&t.flags),
            opt(&self.disability_type),
            opt(&self.disability_grade),
            text(&self.life_status),
            opt(&self.life_status_detail),
            opt(&self.note),
        ]);
    }
}

/// Inserts new children, many to a statement (a bulk import's new pupils).
pub fn insert_many(conn: &Connection, children: &[Child]) -> Result<()> {
    super::many::insert_rows(conn, children)
}

fn write(conn: &Connection, sql: &str, c: &Child) -> Result<()> {
    let m = &c.meta;
    conn.prepare_cached(sql)?.execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        c.household_id,
        c.name,
        c.sex,
        c.birth_date,
        c.id_number,
        c.id_key,
        c.student_no,
        c.village_code,
        c.hukou_place,
        c.residence,
        codes_to_text(&c.flags),
        c.disability_type,
        c.disability_grade,
        c.life_status,
        c.life_status_detail,
        c.note
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Child>> {
    Ok(conn
        .query_row(&format!("{} WHERE id = ?1", select()), [id], from_row)
        .optional()?)
}

/// Live children of one household.
pub fn list_by_household(conn: &Connection, household_id: &str) -> Result<Vec<Child>> {
    let mut st = {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "{} WHERE household_id = ?1 AND deleted = 0 ORDER BY birth_date, name, id",
                select()
            )
        });
        conn.prepare_cached(&SQL)?
    };
    let rows = st.query_map([household_id], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Live children linked to one person by ID number.
pub fn list_by_id_key(conn: &Connection, id_key: &str) -> Result<Vec<Child>> {
    let mut st = {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("{} WHERE id_key = ?1 AND deleted = 0 ORDER BY id", select())
        });
        conn.prepare_cached(&SQL)?
    };
    let rows = st.query_map([id_key], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Live children with this 学籍号.
pub fn list_by_student_no(conn: &Connection, student_no: &str) -> Result<Vec<Child>> {
    let mut st = {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "{} WHERE student_no = ?1 AND deleted = 0 ORDER BY id",
                select()
            )
        });
        conn.prepare_cached(&SQL)?
    };
    let rows = st.query_map([student_no], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Calls `f` with every ID key and then every 学籍号 the children table holds (tombstones too),
/// reading only the two indexes (`children_id_key`, `children_student_no`), in index order.
pub fn for_each_key(conn: &Connection, mut f: impl FnMut(Key<'_>)) -> Result<()> {
    for (sql, is_id_key) in [
        ("SELECT id_key FROM children WHERE id_key IS NOT NULL", true),
        (
            "SELECT student_no FROM children WHERE student_no IS NOT NULL",
            false,
        ),
    ] {
        let mut st = conn.prepare(sql)?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            if let rusqlite::types::ValueRef::Text(t) = r.get_ref(0)? {
                let t = String::from_utf8_lossy(t);
                f(if is_id_key {
                    Key::IdKey(&t)
                } else {
                    Key::StudentNo(&t)
                });
            }
        }
    }
    Ok(())
}

/// A key a child is found by (`for_each_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    IdKey(&'a str),
    StudentNo(&'a str),
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT COUNT(*) FROM children WHERE deleted = 0", [], |r| {
            r.get(0)
        })?,
    )
}

/// Live children of a household with this name and birth date (roster rows without ID or 学籍号).
pub fn list_by_household_name_birth(
    conn: &Connection,
    household_id: &str,
    name: &str,
    birth_date: &str,
) -> Result<Vec<Child>> {
    let mut st = {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("{} WHERE household_id = ?1 AND name = ?2 AND birth_date = ?3 AND deleted = 0 ORDER BY id",
        select())
        });
        conn.prepare_cached(&SQL)?
    };
    let rows = st.query_map(params![household_id, name, birth_date], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

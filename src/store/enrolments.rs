//! SQL of the `enrolments` table.

use super::many::{opt, opt_int, push_meta, text, MetaTexts, NewRow};
use super::record::{meta_from_row, META_COLUMNS};
use crate::domain::Enrolment;
use crate::error::Result;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Row};

fn select() -> String {
    format!(
        "SELECT {META_COLUMNS}, child_id, school_code, student_no, grade, class_name, entry_date, status,
            status_date, term, note FROM enrolments"
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Enrolment> {
    Ok(Enrolment {
        meta: meta_from_row(r)?,
        child_id: r.get(7)?,
        school_code: r.get(8)?,
        student_no: r.get(9)?,
        grade: r.get(10)?,
        class_name: r.get(11)?,
        entry_date: r.get(12)?,
        status: r.get(13)?,
        status_date: r.get(14)?,
        term: r.get(15)?,
        note: r.get(16)?,
    })
}

const INSERT_SQL: &str = "INSERT INTO enrolments (id, origin_site, version, prev_version, edits, updated_at, deleted,
            child_id, school_code, student_no, grade, class_name, entry_date, status, status_date, term, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

/// Inserts or replaces the row with this id.
pub fn put(conn: &Connection, e: &Enrolment) -> Result<()> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("{INSERT_SQL}
         ON CONFLICT(id) DO UPDATE SET origin_site = excluded.origin_site, version = excluded.version,
            prev_version = excluded.prev_version, edits = excluded.edits, updated_at = excluded.updated_at,
            deleted = excluded.deleted, child_id = excluded.child_id, school_code = excluded.school_code,
            student_no = excluded.student_no, grade = excluded.grade, class_name = excluded.class_name,
            entry_date = excluded.entry_date, status = excluded.status, status_date = excluded.status_date,
            term = excluded.term, note = excluded.note")
    });
    write(conn, &SQL, e)
}

/// Inserts a new row (its id not yet stored). A plain INSERT: unlike `put`'s upsert, whose
/// update of the foreign-key column makes SQLite keep a statement journal (a copy of every
/// page the statement touches) inside the caller's transaction, about a third of a bulk
/// import's writing work.
pub fn insert(conn: &Connection, e: &Enrolment) -> Result<()> {
    write(conn, INSERT_SQL, e)
}

impl NewRow for Enrolment {
    type Texts = MetaTexts;
    const HEAD: &'static str = "INSERT OR IGNORE INTO enrolments (id, origin_site, version, prev_version, edits, updated_at, deleted,
            child_id, school_code, student_no, grade, class_name, entry_date, status, status_date, term, note) VALUES";
    const COLUMNS: usize = 17;
    fn texts(&self) -> MetaTexts {
        MetaTexts::of(&self.meta)
    }
    fn push_values<'a>(&'a self, t: &'a MetaTexts, out: &mut Vec<ValueRef<'a>>) {
        push_meta(&self.meta, t, out);
        out.extend([
            text(&self.child_id),
            text(&self.school_code),
            opt(&self.student_no),
            opt_int(self.grade),
            opt(&self.class_name),
            opt(&self.entry_date),
            text(&self.status),
            opt(&self.status_date),
            opt(&self.term),
            opt(&self.note),
        ]);
    }
}

/// Inserts new enrolments, many to a statement (a bulk import's new pupils).
pub fn insert_many(conn: &Connection, enrolments: &[Enrolment]) -> Result<()> {
    super::many::insert_rows(conn, enrolments)
}

fn write(conn: &Connection, sql: &str, e: &Enrolment) -> Result<()> {
    let m = &e.meta;
    conn.prepare_cached(sql)?.execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        e.child_id,
        e.school_code,
        e.student_no,
        e.grade,
        e.class_name,
        e.entry_date,
        e.status,
        e.status_date,
        e.term,
        e.note
    ])?;
    Ok(())
}

/// Live enrolments of one child, newest first.
pub fn list_by_child(conn: &Connection, child_id: &str) -> Result<Vec<Enrolment>> {
    let mut st = {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "{} WHERE child_id = ?1 AND deleted = 0 ORDER BY entry_date DESC, id",
                select()
            )
        });
        conn.prepare_cached(&SQL)?
    };
    let rows = st.query_map([child_id], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Live enrolments of one school with a given status.
pub fn list_by_school(
    conn: &Connection,
    school_code: &str,
    status: &str,
) -> Result<Vec<Enrolment>> {
    let mut st = conn.prepare(&format!(
        "{} WHERE school_code = ?1 AND status = ?2 AND deleted = 0 ORDER BY grade, class_name, id",
        select()
    ))?;
    let rows = st.query_map(params![school_code, status], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM enrolments WHERE deleted = 0",
        [],
        |r| r.get(0),
    )?)
}

/// One of a school's pupils as [`for_each_school_pupil`] reads it: its live enrolment at the
/// school and its live child record, the fields a roll sheet sets, borrowed from the row.
#[derive(Debug, Clone, Copy)]
pub struct SchoolPupil<'a> {
    pub child_id: &'a str,
    // The enrolment.
    pub student_no: Option<&'a str>,
    pub grade: Option<i64>,
    pub class_name: Option<&'a str>,
    pub entry_date: Option<&'a str>,
    pub status: &'a str,
    pub term: Option<&'a str>,
    pub note: Option<&'a str>,
    // The child.
    pub name: &'a str,
    pub sex: Option<&'a str>,
    pub birth_date: Option<&'a str>,
    pub id_number: Option<&'a str>,
    pub id_key: Option<&'a str>,
    pub child_student_no: Option<&'a str>,
    pub hukou_place: Option<&'a str>,
    pub residence: Option<&'a str>,
    pub flags: &'a str,
    pub disability_type: Option<&'a str>,
    pub disability_grade: Option<&'a str>,
}

/// Calls `f` with the school's live enrolments of live children, in child id order from
/// `from` (`inclusive`: that child too), at most `limit` of them; returns how many rows it read
/// (a child with two enrolments at the school is given twice, one after the other), each with
/// its child id. A row holding a value of an unexpected type (a text that is not UTF-8, a grade
/// that is not a number) is given as `None`. Reads the enrolments by child id (`enrolments_child`):
/// one pass, in the order of the records' creation, instead of a search per pupil.
pub fn for_each_school_pupil(
    conn: &Connection,
    school_code: &str,
    from: &str,
    inclusive: bool,
    limit: usize,
    mut f: impl FnMut(&str, Option<&SchoolPupil<'_>>),
) -> Result<usize> {
    const SQL: &str =
        "SELECT e.child_id, e.student_no, e.grade, e.class_name, e.entry_date, e.status,
            e.term, e.note, c.name, c.sex, c.birth_date, c.id_number, c.id_key, c.student_no,
            c.hukou_place, c.residence, c.flags, c.disability_type, c.disability_grade
         FROM enrolments e INDEXED BY enrolments_child JOIN children c ON c.id = e.child_id
         WHERE e.child_id > ?1 AND e.school_code = ?2 AND e.deleted = 0 AND c.deleted = 0
         ORDER BY e.child_id LIMIT ?3";
    static INCLUSIVE: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| SQL.replace("e.child_id > ?1", "e.child_id >= ?1"));
    let mut st = conn.prepare_cached(if inclusive { &INCLUSIVE } else { SQL })?;
    let mut rows = st.query(params![from, school_code, limit as i64])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        n += 1;
        let child_id = match r.get_ref(0)? {
            rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t),
            _ => continue,
        };
        f(&child_id, school_pupil(r).as_ref());
    }
    Ok(n)
}

fn school_pupil<'a>(r: &'a Row<'_>) -> Option<SchoolPupil<'a>> {
    use rusqlite::types::ValueRef as V;
    let opt = |i: usize| -> Option<Option<&'a str>> {
        match r.get_ref(i).ok()? {
            V::Null => Some(None),
            V::Text(t) => std::str::from_utf8(t).ok().map(Some),
            _ => None,
        }
    };
    let text = |i: usize| opt(i).flatten();
    Some(SchoolPupil {
        child_id: text(0)?,
        student_no: opt(1)?,
        grade: match r.get_ref(2).ok()? {
            V::Null => None,
            V::Integer(g) => Some(g),
            _ => return None,
        },
        class_name: opt(3)?,
        entry_date: opt(4)?,
        status: text(5)?,
        term: opt(6)?,
        note: opt(7)?,
        name: text(8)?,
        sex: opt(9)?,
        birth_date: opt(10)?,
        id_number: opt(11)?,
        id_key: opt(12)?,
        child_student_no: opt(13)?,
        hukou_place: opt(14)?,
        residence: opt(15)?,
        flags: text(16)?,
        disability_type: opt(17)?,
        disability_grade: opt(18)?,
    })
}

//! SQL of the cross-check (四查三比对): the keys of people currently studying, the roster
//! children (keys first from a covering index, details only for those not studying), the rolls'
//! other statuses, and the name + birth-date lookups of probable matches.

use super::btree::{IndexScan, Pages};
use super::cursor::Cursor;
use crate::error::Result;
use rusqlite::types::Type;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::cmp::Ordering;

/// The key a person is linked by: the ID (`id_key`), or the child record's own id without one.
pub const PERSON_KEY: &str = "COALESCE(c.id_key, c.id)";

/// Makes reads go through a memory map (no copy per page); a connection setting, harmless to keep.
pub fn tune_for_scans(conn: &Connection) -> Result<()> {
    conn.execute_batch("PRAGMA mmap_size = 1073741824;")?;
    Ok(())
}

/// A text column borrowed from the row (no copy), NULL as `None`.
fn text_ref<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    r.get_ref(i)?
        .as_str_or_null()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

/// Writes the write-ahead log's pages into the register file and empties the log, when nothing
/// else is reading or writing the register (it never waits): then the cross-check's long scans
/// can read the file's own pages (see [`Pages::of`]). Errors and a busy register change nothing:
/// the scans then read through SQLite.
pub fn try_empty_log(conn: &Connection) {
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
        return;
    };
    let mut wal = std::ffi::OsString::from(path);
    wal.push("-wal");
    if std::fs::metadata(&wal).map_or(true, |m| m.len() == 0) {
        return;
    }
    if conn.busy_timeout(std::time::Duration::ZERO).is_ok() {
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
    let _ = conn.busy_timeout(std::time::Duration::from_secs(10));
}

/// A text read from the file's pages that is not UTF-8 (SQLite's own read fails the same way).
fn damaged_text() -> crate::error::Error {
    rusqlite::Error::FromSqlConversionFailure(1, Type::Text, "登记库中的文字不是 UTF-8 编码".into())
        .into()
}

/// Which way a scan walks an id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toward {
    /// Ascending, from the smallest id.
    Up,
    /// Descending, from the greatest id.
    Down,
}

/// How far one of two scans of one id order has come (see [`Meeting`]).
#[derive(Debug, Clone, Default)]
enum Reach {
    /// Not started yet.
    #[default]
    Start,
    /// Every id beyond this one (below it for [`Toward::Up`], above it for [`Toward::Down`])
    /// is done.
    At(Vec<u8>),
    /// Every id is done.
    End,
}

/// Two scans of one id order, one from each end (on two connections, on two threads), that
/// stop where they meet: each publishes now and then how far it has come, and stops at an id
/// the other has already done. Ids between two looks may be done by both; the work they do is
/// a union (a set insert, a list deduplicated afterwards), so this changes nothing but who
/// does it. Whichever thread is less busy walks further.
#[derive(Debug, Default)]
pub struct Meeting {
    up: std::sync::Mutex<Reach>,
    down: std::sync::Mutex<Reach>,
}

/// How many enrolments a scan walks between two looks at the other scan.
const LOOK_EVERY: u32 = 64;

impl Meeting {
    fn mine(&self, dir: Toward) -> &std::sync::Mutex<Reach> {
        match dir {
            Toward::Up => &self.up,
            Toward::Down => &self.down,
        }
    }

    fn other(&self, dir: Toward) -> &std::sync::Mutex<Reach> {
        match dir {
            Toward::Up => &self.down,
            Toward::Down => &self.up,
        }
    }

    /// Records that the scan walking `dir` has done every id beyond `id` (or every id, when
    /// `id` is `None`), and says whether the other scan has already done `id`.
    fn look(&self, dir: Toward, id: Option<&[u8]>) -> bool {
        if let Ok(mut mine) = self.mine(dir).lock() {
            match (id, &mut *mine) {
                (None, m) => *m = Reach::End,
                (Some(id), Reach::At(v)) => {
                    v.clear();
                    v.extend_from_slice(id);
                }
                (Some(id), m) => *m = Reach::At(id.to_vec()),
            }
        }
        let Some(id) = id else { return true };
        match self.other(dir).lock().as_deref() {
            Ok(Reach::End) => true,
            Ok(Reach::At(theirs)) => match dir {
                Toward::Up => id > theirs.as_slice(),
                Toward::Down => id < theirs.as_slice(),
            },
            _ => false,
        }
    }
}

/// What [`merge_studying_roll_keys`] reports, besides the keys.
#[derive(Debug, Default)]
pub struct StudyingScan {
    /// `(rowid of the pupil record, rowid of the enrolment)` of each 在读 enrolment of a pupil
    /// record without an ID (for the probable matches by name + birth date).
    pub no_id: Vec<(i64, i64)>,
    /// `(child id, rowid of the enrolment)` of each 在读 enrolment whose child is no live pupil
    /// record (a household child enrolled directly, a deleted record, one not received yet).
    pub left: Vec<(String, i64)>,
}

/// Walks the current (在读) enrolments' child ids (the covering index `enrolments_studying`) and
/// the schools' own pupil records `(id, id_key)` (the partial covering index `children_roll`)
/// side by side, both in id order (walking `dir`), as one merge join: `hit(key)` with the person
/// key (`id_key`, else the id) of each pupil record with a current enrolment, once per record;
/// the enrolments of pupils without an ID and of children that are no live pupil record go
/// into the returned [`StudyingScan`]. The scan stops where it meets `meeting`'s other scan.
/// The texts' bytes are compared as SQLite's BINARY collation orders them (`memcmp`), never
/// copied.
pub fn merge_studying_roll_keys(
    conn: &Connection,
    pages: Option<&Pages>,
    dir: Toward,
    meeting: &Meeting,
    hit: impl FnMut(&[u8]),
) -> Result<StudyingScan> {
    if let Some(pages) = pages {
        // The same rows as the statements below, read from the file's pages.
        let enrolled = Select {
            scan: pages.scan(Pages::root_of(conn, "enrolments_studying")?, dir)?,
            // (status, deleted, child_id, rowid)
            keep: |s: &IndexScan| {
                s.text(0) == Some(b"studying".as_slice()) && !s.is_blob(0) && s.is_zero(1)
            },
            cols: [2, 3, 0],
        };
        let pupils = Select {
            scan: pages.scan(Pages::root_of(conn, "children_roll")?, dir)?,
            // (id, id_key, deleted, rowid)
            keep: |s: &IndexScan| s.is_zero(2),
            cols: [0, 1, 3],
        };
        return merge_studying(enrolled, pupils, dir, meeting, hit);
    }
    let order = match dir {
        Toward::Up => "",
        Toward::Down => " DESC",
    };
    let enrolled = Cursor::prepare(
        conn,
        &format!(
            "SELECT child_id, rowid FROM enrolments INDEXED BY enrolments_studying
             WHERE status = 'studying' AND deleted = 0 ORDER BY child_id{order}"
        ),
    )?;
    let pupils = Cursor::prepare(
        conn,
        &format!(
            "SELECT id, id_key, rowid FROM children INDEXED BY children_roll
             WHERE household_id IS NULL AND deleted = 0 ORDER BY id{order}"
        ),
    )?;
    merge_studying(enrolled, pupils, dir, meeting, hit)
}

/// Rows stepped one at a time with their columns borrowed: a statement ([`Cursor`]) or an
/// index read from the file's pages ([`Select`]).
pub trait Rows {
    fn step(&mut self) -> Result<bool>;
    fn text(&self, i: usize) -> Option<&[u8]>;
    fn int(&self, i: usize) -> i64;
}

impl Rows for Cursor<'_> {
    fn step(&mut self) -> Result<bool> {
        Cursor::step(self)
    }
    fn text(&self, i: usize) -> Option<&[u8]> {
        Cursor::text(self, i)
    }
    fn int(&self, i: usize) -> i64 {
        Cursor::int(self, i)
    }
}

/// The entries of an index scan that `keep` keeps, with column `i` being the index's column
/// `cols[i]`: what a SELECT of those columns with that WHERE through the index returns.
pub struct Select<F> {
    scan: IndexScan,
    keep: F,
    cols: [usize; 3],
}

impl<F: FnMut(&IndexScan) -> bool> Rows for Select<F> {
    fn step(&mut self) -> Result<bool> {
        while self.scan.step()? {
            if (self.keep)(&self.scan) {
                return Ok(true);
            }
        }
        Ok(false)
    }
    fn text(&self, i: usize) -> Option<&[u8]> {
        self.scan.text(*self.cols.get(i)?)
    }
    fn int(&self, i: usize) -> i64 {
        self.cols.get(i).map_or(0, |c| self.scan.int(*c))
    }
}

/// [`merge_studying_roll_keys`] over its two row sources: `enrolled` gives `(child_id,
/// rowid)`, `pupils` gives `(id, id_key, rowid)`, both in id order walking `dir`.
fn merge_studying(
    mut enrolled: impl Rows,
    mut pupils: impl Rows,
    dir: Toward,
    meeting: &Meeting,
    mut hit: impl FnMut(&[u8]),
) -> Result<StudyingScan> {
    let mut out = StudyingScan::default();
    // Whether `pupils` is on a row (once it is not, it is never stepped again).
    let mut on_pupil = pupils.step()?;
    // The current pupil record already reported (a child with two 在读 enrolments counts once).
    let mut reported = false;
    // A look at the other scan every LOOK_EVERY enrolments, before the enrolment: every id
    // before this one's is done (this id's earlier enrolments too, which only adds to what
    // both scans do).
    let mut until_look = 0u32;
    while enrolled.step()? {
        let Some(id) = enrolled.text(0) else { continue };
        if until_look == 0 {
            if meeting.look(dir, Some(id)) {
                return Ok(out);
            }
            until_look = LOOK_EVERY;
        }
        until_look -= 1;
        let mut found = false;
        while on_pupil {
            let pid = pupils.text(0).unwrap_or_default();
            let ord = match dir {
                Toward::Up => pid.cmp(id),
                Toward::Down => id.cmp(pid),
            };
            match ord {
                Ordering::Less => {
                    on_pupil = pupils.step()?;
                    reported = false;
                }
                Ordering::Equal => {
                    let key = pupils.text(1);
                    if key.is_none() {
                        out.no_id.push((pupils.int(2), enrolled.int(1)));
                    }
                    if !reported {
                        hit(key.unwrap_or(pid));
                        reported = true;
                    }
                    found = true;
                    break;
                }
                Ordering::Greater => break,
            }
        }
        if !found {
            out.left
                .push((String::from_utf8_lossy(id).into(), enrolled.int(1)));
        }
    }
    meeting.look(dir, None);
    Ok(out)
}

/// The rowid and the ID (`id_key`) of one live child, if there is one.
pub fn get_rowid_id_key(
    conn: &Connection,
    child_id: &str,
) -> Result<Option<(i64, Option<String>)>> {
    let mut st = conn.prepare_cached(
        "SELECT c.rowid, c.id_key FROM children c WHERE c.id = ?1 AND c.deleted = 0",
    )?;
    let mut rows = st.query([child_id])?;
    match rows.next()? {
        Some(r) => Ok(Some((r.get(0)?, r.get(1)?))),
        None => Ok(None),
    }
}

/// Calls `f(rowid, person key)` for every roster child born in `(born_after, born_by]` (a range
/// of the covering index `children_roster_birth`; the key's bytes are borrowed, not copied).
pub fn for_each_roster_key(
    conn: &Connection,
    pages: Option<&Pages>,
    born_by: &str,
    born_after: &str,
    mut f: impl FnMut(i64, &[u8]),
) -> Result<()> {
    if let Some(pages) = pages {
        // The same rows as the statement below (in the same order), read from the file's
        // pages: (birth_date, id_key, id, deleted, rowid), the range tested row by row.
        let mut s = pages.scan(Pages::root_of(conn, "children_roster_birth")?, Toward::Up)?;
        let (by, after) = (born_by.as_bytes(), born_after.as_bytes());
        while s.step()? {
            let r = s.record();
            let Some(birth) = r.text(0) else { continue };
            if r.is_blob(0) {
                break; // blobs sort after every text, and compare greater than any
            }
            if birth <= after {
                continue;
            }
            if birth > by {
                break;
            }
            if !r.is_zero(3) {
                continue;
            }
            if let Some(k) = r.text(1).or_else(|| r.text(2)) {
                f(r.int(4), k);
            }
        }
        return Ok(());
    }
    let mut c = Cursor::prepare(
        conn,
        "SELECT c.rowid, COALESCE(c.id_key, c.id) FROM children c INDEXED BY children_roster_birth
         WHERE c.household_id IS NOT NULL AND c.birth_date <= ?1 AND c.birth_date > ?2 AND c.deleted = 0",
    )?;
    c.bind_text(1, born_by)?;
    c.bind_text(2, born_after)?;
    while c.step()? {
        if let Some(k) = c.text(1) {
            f(c.int(0), k);
        }
    }
    Ok(())
}

/// How many rowids one look-up query binds (the last chunk is padded with -1, never a rowid).
pub const ROWID_CHUNK: usize = 256;

/// Runs `sql` (which must contain `IN ({rowids})`) once per chunk of `rowids` (sorted first, so
/// the look-ups walk the table in order), with one cached statement, calling `f` per row.
pub fn for_rowids(
    conn: &Connection,
    sql: &str,
    rowids: &[i64],
    mut f: impl FnMut(&rusqlite::Row<'_>) -> Result<()>,
) -> Result<()> {
    let mut sorted = rowids.to_vec();
    sorted.sort_unstable();
    let marks = vec!["?"; ROWID_CHUNK].join(",");
    let sql = sql.replace("{rowids}", &marks);
    let mut st = conn.prepare_cached(&sql)?;
    let mut buf = [-1i64; ROWID_CHUNK];
    for chunk in sorted.chunks(ROWID_CHUNK) {
        buf.fill(-1);
        buf[..chunk.len()].copy_from_slice(chunk);
        let mut rows = st.query(rusqlite::params_from_iter(buf.iter()))?;
        while let Some(r) = rows.next()? {
            f(r)?;
        }
    }
    Ok(())
}

/// Whether any live child belongs to a household (the rosters are loaded).
pub fn has_roster(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM children WHERE household_id IS NOT NULL AND deleted = 0)",
        [],
        |r| r.get::<_, bool>(0),
    )?)
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
     FROM children c LEFT JOIN households h INDEXED BY households_cover ON h.id = c.household_id";

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

/// A roster child as the cross-check reads it, borrowed from the row (no copies).
#[derive(Debug, Clone, Copy)]
pub struct RosterRef<'r> {
    pub child_id: &'r str,
    pub id_key: Option<&'r str>,
    pub name: &'r str,
    pub birth_date: &'r str,
    pub village_code: Option<&'r str>,
    pub flags: &'r str,
    pub disability_type: Option<&'r str>,
    pub life_status: &'r str,
    pub life_status_detail: Option<&'r str>,
    pub household_groups: Option<&'r str>,
}

/// Calls `f(id, priority_groups)` for every household that has priority groups (deleted or
/// not, as the household join of `ROSTER_SELECT` reads them), from the partial covering index
/// `households_groups`.
pub fn for_each_household_groups(
    conn: &Connection,
    pages: Option<&Pages>,
    mut f: impl FnMut(&str, &str),
) -> Result<()> {
    if let Some(pages) = pages {
        // The same rows from the file's pages: (id, priority_groups, rowid), every entry of
        // the partial index (its WHERE is the statement's).
        let mut s = pages.scan(Pages::root_of(conn, "households_groups")?, Toward::Up)?;
        while s.step()? {
            let r = s.record();
            if let (Some(id), Some(groups)) = (r.text(0), r.text(1)) {
                if let (Ok(id), Ok(groups)) = (std::str::from_utf8(id), std::str::from_utf8(groups))
                {
                    f(id, groups);
                } else {
                    return Err(damaged_text());
                }
            }
        }
        return Ok(());
    }
    let mut st = conn.prepare_cached(
        "SELECT id, priority_groups FROM households INDEXED BY households_groups
         WHERE priority_groups != '[]'",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        if let (Some(id), Some(groups)) = (text_ref(r, 0)?, text_ref(r, 1)?) {
            f(id, groups);
        }
    }
    Ok(())
}

/// Calls `f` with each roster child stored at these rowids (in rowid order), borrowed: the
/// child's own columns only; the household's groups come from `groups` (household id → groups,
/// see [`for_each_household_groups`]) and its village is looked up only for a child without
/// one of its own, so the result is that of `ROSTER_SELECT` without a join per child.
pub fn for_each_roster_by_rowids(
    conn: &Connection,
    rowids: &[i64],
    groups: &crate::crosscheck::keys::TextMap<Box<str>, Box<str>>,
    mut f: impl FnMut(RosterRef<'_>),
) -> Result<()> {
    let mut village_of = conn.prepare_cached(
        "SELECT village_code FROM households INDEXED BY households_cover WHERE id = ?1",
    )?;
    let marks = vec!["?"; ROWID_CHUNK].join(",");
    let mut c = Cursor::prepare(
        conn,
        &format!(
            "SELECT c.id, c.id_key, c.name, c.birth_date, c.village_code, c.flags,
                    c.disability_type, c.life_status, c.life_status_detail, c.household_id
             FROM children c WHERE c.rowid IN ({marks})"
        ),
    )?;
    let mut sorted = rowids.to_vec();
    sorted.sort_unstable();
    for chunk in sorted.chunks(ROWID_CHUNK) {
        // The last chunk is padded with -1, never a rowid.
        for i in 0..ROWID_CHUNK {
            c.bind_int(i + 1, chunk.get(i).copied().unwrap_or(-1))?;
        }
        while c.step()? {
            let household = c.str(9)?;
            let own_village = c.str(4)?;
            let fallback: Option<String> = match (own_village, household) {
                (None, Some(h)) => village_of
                    .query_row([h], |v| v.get::<_, Option<String>>(0))
                    .optional()?
                    .flatten(),
                _ => None,
            };
            f(RosterRef {
                child_id: required(&c, 0)?,
                id_key: c.str(1)?,
                name: required(&c, 2)?,
                birth_date: required(&c, 3)?,
                village_code: own_village.or(fallback.as_deref()),
                flags: required(&c, 5)?,
                disability_type: c.str(6)?,
                life_status: required(&c, 7)?,
                life_status_detail: c.str(8)?,
                household_groups: household.and_then(|h| groups.get(h)).map(|g| &**g),
            });
        }
    }
    Ok(())
}

/// A text column that may not be NULL.
fn required<'a>(c: &'a Cursor<'_>, i: usize) -> Result<&'a str> {
    c.str(i)?
        .ok_or_else(|| rusqlite::Error::InvalidColumnType(i, String::new(), Type::Null).into())
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

/// Every live enrolment whose status says something to the cross-check (转出, 休学, 延缓入学,
/// 毕业, 死亡, 辍学), read by ranges of the index `enrolments_studying`.
pub fn list_rolls_not_studying(conn: &Connection) -> Result<Vec<RollRow>> {
    let mut st = conn.prepare(&format!(
        "SELECT e.child_id, {PERSON_KEY}, e.status, e.grade, e.school_code, e.status_date,
                c.name, c.birth_date, c.village_code
         FROM enrolments e INDEXED BY enrolments_studying JOIN children c ON c.id = e.child_id
         WHERE e.status IN ('transferred_out', 'suspended', 'deferred', 'graduated', 'deceased',
                            'dropped_out')
           AND e.deleted = 0 AND c.deleted = 0"
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

/// Studying pupils without an ID, one per `(rowid of the child, rowid of its 在读 enrolment)`
/// (see [`StudyingScan::no_id`]), in the order given.
pub fn list_studying_by_rowids(conn: &Connection, rows: &[(i64, i64)]) -> Result<Vec<StudyingRow>> {
    let mut st = conn.prepare_cached(
        "SELECT e.child_id, c.id_key, e.school_code, c.village_code, c.name, c.birth_date
         FROM children c, enrolments e WHERE c.rowid = ?1 AND e.rowid = ?2",
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for (child, enrolment) in rows {
        let mut q = st.query(params![child, enrolment])?;
        if let Some(r) = q.next()? {
            out.push(studying_row(r)?);
        }
    }
    Ok(out)
}

/// How many (name, birth date) pairs one look-up query binds.
pub const PAIRS_CHUNK: usize = 400;

/// Studying pupils with any of these (name, birth date) pairs (one query per [`PAIRS_CHUNK`]
/// pairs; the statement of a full chunk is prepared once).
pub fn list_studying_by_name_birth(
    conn: &Connection,
    pairs: &[(String, String)],
) -> Result<Vec<StudyingRow>> {
    let mut out = Vec::new();
    for chunk in pairs.chunks(PAIRS_CHUNK) {
        let values = vec!["(?,?)"; chunk.len()].join(",");
        let mut st = conn.prepare_cached(&format!(
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

/// A second, read-only connection to the same register file, opened so that the cross-check can
/// scan on both cores at once (see [`Twin::align`]).
pub struct Twin {
    conn: Connection,
    data_version: i64,
}

/// Opens a [`Twin`] of `conn` before `conn` starts its read transaction. `None` (the cross-check
/// then runs on `conn` alone) for an in-memory or encrypted register, or when anything fails.
pub fn open_twin(conn: &Connection) -> Option<Twin> {
    let path = conn.path().filter(|p| !p.is_empty())?;
    let path = std::path::Path::new(path);
    if super::cipher::file_state(path).ok()? != super::cipher::FileState::Plain {
        return None;
    }
    let twin = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    twin.busy_timeout(std::time::Duration::from_secs(10)).ok()?;
    tune_for_scans(&twin).ok()?;
    let data_version = twin
        .pragma_query_value(None, "data_version", |r| r.get(0))
        .ok()?;
    Some(Twin {
        conn: twin,
        data_version,
    })
}

impl Twin {
    /// Starts the read transactions of `conn` (already in a transaction that has read nothing)
    /// and of the twin, and hands the twin over when both see the same snapshot: no other
    /// connection committed between the twin's opening and its own transaction's start.
    pub fn align(self, conn: &Connection) -> Option<Connection> {
        let read = |c: &Connection| -> rusqlite::Result<i64> {
            c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
        };
        read(conn).ok()?;
        self.conn.execute_batch("BEGIN").ok()?;
        read(&self.conn).ok()?;
        let now: i64 = self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .ok()?;
        (now == self.data_version).then_some(self.conn)
    }
}

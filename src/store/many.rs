//! Plain multi-row INSERTs of new records, for a bulk import's new pupils: one statement per
//! [`ROWS_PER_INSERT`] rows, its values bound without copying (`bulk::Statement`). Compared with
//! one cached single-row statement per record, this saves per record the statement cache's
//! look-up, rusqlite's copy of every text, and SQLite's per-statement work (opening a cursor on
//! the table and on each index, seeking each from its root, halting).
//!
//! Each table file says which columns a new record fills and how ([`NewRow`]); the caller keeps
//! the records until they are written, then clears its buffer.

use super::bulk;
use crate::domain::Meta;
use crate::error::Result;
use crate::hlc::Stamp;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// Rows per statement (64 rows × 23 columns is well below SQLite's 32 766 parameters).
pub const ROWS_PER_INSERT: usize = 64;

/// A record type written by [`insert_rows`]. Its head is an `INSERT OR IGNORE`: a statement of
/// many rows that may stop half-way (`OR ABORT`, the default) makes SQLite copy every page it
/// touches into a statement journal first, so that it can undo its own rows; at 200k pupils that
/// copying was a sixth of the writing thread. A row the constraints refuse is counted instead
/// (`insert_rows` fails when fewer rows went in than were given, and the caller's transaction is
/// rolled back with everything else).
pub trait NewRow {
    /// Texts the record holds in another form (a version stamp, a list as JSON), made once per
    /// record before its statement runs.
    type Texts;
    /// `INSERT OR IGNORE INTO table (columns…) VALUES` — the head of the statement.
    const HEAD: &'static str;
    /// How many columns `push_values` gives.
    const COLUMNS: usize;
    fn texts(&self) -> Self::Texts;
    /// The record's values, in the order of the head's columns.
    fn push_values<'a>(&'a self, texts: &'a Self::Texts, out: &mut Vec<ValueRef<'a>>);
}

/// The version stamp and previous version of a record as text.
pub struct MetaTexts {
    pub version: String,
    pub prev_version: Option<String>,
}

impl MetaTexts {
    pub fn of(m: &Meta) -> MetaTexts {
        MetaTexts {
            version: stamp_text(&m.version),
            prev_version: m.prev_version.as_ref().map(stamp_text),
        }
    }
}

/// A stamp's text, as its `Display` writes it (`{ms:015}-{counter:06}-{site}`), without the
/// formatting machinery (a tenth of the writing thread's own work for a new pupil's records).
pub fn stamp_text(s: &Stamp) -> String {
    if s.ms < 0 {
        return s.to_string();
    }
    let mut out = String::with_capacity(24 + s.site.len());
    push_padded(&mut out, s.ms as u64, 15);
    out.push('-');
    push_padded(&mut out, u64::from(s.counter), 6);
    out.push('-');
    out.push_str(&s.site);
    out
}

/// Appends `n` in decimal, zero-padded to at least `width` digits.
fn push_padded(out: &mut String, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    for _ in len..width {
        out.push('0');
    }
    for d in &digits[i..] {
        out.push(char::from(*d));
    }
}

/// Pushes the seven meta columns (`record::META_COLUMNS` order).
pub fn push_meta<'a>(m: &'a Meta, t: &'a MetaTexts, out: &mut Vec<ValueRef<'a>>) {
    out.extend([
        text(&m.id),
        text(&m.origin_site),
        text(&t.version),
        opt(&t.prev_version),
        ValueRef::Integer(m.edits),
        text(&m.updated_at),
        ValueRef::Integer(i64::from(m.deleted)),
    ]);
}

pub fn text(s: &str) -> ValueRef<'_> {
    ValueRef::Text(s.as_bytes())
}

pub fn opt(s: &Option<String>) -> ValueRef<'_> {
    match s {
        Some(s) => ValueRef::Text(s.as_bytes()),
        None => ValueRef::Null,
    }
}

pub fn opt_int(n: Option<i64>) -> ValueRef<'static> {
    match n {
        Some(n) => ValueRef::Integer(n),
        None => ValueRef::Null,
    }
}

fn sql<T: NewRow>(rows: usize) -> String {
    let one = format!("({})", vec!["?"; T::COLUMNS].join(","));
    format!("{} {}", T::HEAD, vec![one; rows].join(","))
}

/// Inserts `rows` (new records: a clash with a stored key, or any other refused row, is an
/// error, and nothing is replaced).
pub fn insert_rows<T: NewRow>(conn: &Connection, rows: &[T]) -> Result<()> {
    let mut full: Option<bulk::Statement<'_>> = None;
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let texts: Vec<T::Texts> = chunk.iter().map(T::texts).collect();
        let mut values = Vec::with_capacity(chunk.len() * T::COLUMNS);
        for (r, t) in chunk.iter().zip(&texts) {
            r.push_values(t, &mut values);
        }
        let written = if chunk.len() == ROWS_PER_INSERT {
            let st = match &mut full {
                Some(st) => st,
                slot => slot.insert(bulk::Statement::prepare(conn, &sql::<T>(ROWS_PER_INSERT))?),
            };
            st.execute(values)?
        } else {
            bulk::Statement::prepare(conn, &sql::<T>(chunk.len()))?.execute(values)?
        };
        if written != chunk.len() {
            return Err(crate::Error::Other(format!(
                "写入新记录时有{}条未能写入（与已有记录冲突或缺少必填项），未导入任何数据",
                chunk.len() - written.min(chunk.len())
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_text_is_the_stamps_display() {
        for (ms, counter) in [
            (0, 0),
            (7, 3),
            (1_790_000_000_000, 999_999),
            (1_790_000_000_000, 1_000_000),
            (999_999_999_999_999, 12),
            (1_000_000_000_000_000, 4_294_967_295),
            (-5, 1),
        ] {
            let s = Stamp::new(ms, counter, "0193a6b2-site");
            assert_eq!(stamp_text(&s), s.to_string());
        }
    }

    #[test]
    fn a_refused_row_fails_the_insert() {
        let conn = crate::store::open_in_memory().unwrap();
        let run = |child_id: &str| crate::store::roll_imports::RunChild {
            run_id: 1,
            child_id: child_id.into(),
            change: "insert",
        };
        conn.execute_batch(
            "INSERT INTO roll_import_runs (id, school_code, term, file_name, imported_at, operator, rows)
             VALUES (1, 's', '2026秋', 'f', 't', 'o', 0)",
        )
        .unwrap();
        let rows: Vec<_> = (0..70).map(|i| run(&format!("c{i:03}"))).collect();
        insert_rows(&conn, &rows).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM roll_import_children", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 70);
        let again = [run("c999"), run("c005")];
        assert!(insert_rows(&conn, &again).is_err(), "c005 is there already");
    }
}

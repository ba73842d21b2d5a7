//! A read-only statement stepped by hand, for the cross-check's scans of hundreds of thousands of
//! index rows: a text column is read as borrowed bytes with two SQLite calls
//! (`sqlite3_column_text` and `sqlite3_column_bytes`, NULL told by the null pointer), where
//! rusqlite's `get_ref` makes four and checks more; a row costs the scan ≈ 100 instructions less
//! per column. The borrow checker keeps a column's bytes from outliving the row: they borrow the
//! cursor, which `step` borrows mutably.

use super::bulk::{error, failure, prepare_raw};
use crate::error::Result;
use rusqlite::ffi;
use rusqlite::Connection;
use std::os::raw::{c_char, c_int};

/// One prepared statement, finalized on drop; it cannot outlive its connection.
pub struct Cursor<'c> {
    conn: &'c Connection,
    stmt: *mut ffi::sqlite3_stmt,
}

impl<'c> Cursor<'c> {
    /// Prepares `sql` (one statement) on `conn`.
    pub fn prepare(conn: &'c Connection, sql: &str) -> Result<Cursor<'c>> {
        let stmt = prepare_raw(conn, sql)?;
        Ok(Cursor { conn, stmt })
    }

    /// Starts the statement over (it also does so by itself after its last row).
    pub fn reset(&mut self) {
        // SAFETY: `stmt` is valid.
        unsafe { ffi::sqlite3_reset(self.stmt) };
    }

    /// Binds an integer to parameter `i` (1-based), before the first `step` of a run (an
    /// error while a run is under way: `reset` first).
    pub fn bind_int(&mut self, i: usize, v: i64) -> Result<()> {
        let i = c_int::try_from(i).map_err(|_| failure(ffi::SQLITE_RANGE, None))?;
        // SAFETY: `stmt` is valid; an index out of range is an error SQLite reports.
        let rc = unsafe { ffi::sqlite3_bind_int64(self.stmt, i, v) };
        self.check(rc)
    }

    /// Binds a text to parameter `i` (1-based), as [`Cursor::bind_int`]; SQLite keeps its
    /// own copy.
    pub fn bind_text(&mut self, i: usize, v: &str) -> Result<()> {
        let i = c_int::try_from(i).map_err(|_| failure(ffi::SQLITE_RANGE, None))?;
        // SAFETY: `stmt` is valid; `v` is valid for its length during the call and
        // SQLITE_TRANSIENT makes SQLite copy it before returning.
        let rc = unsafe {
            ffi::sqlite3_bind_text64(
                self.stmt,
                i,
                v.as_ptr() as *const c_char,
                v.len() as ffi::sqlite3_uint64,
                ffi::SQLITE_TRANSIENT(),
                ffi::SQLITE_UTF8 as u8,
            )
        };
        self.check(rc)
    }

    /// Steps to the next row: `false` at the end (the next `step` starts the statement over).
    pub fn step(&mut self) -> Result<bool> {
        // SAFETY: `stmt` is valid; every bound text is SQLite's own copy.
        let rc = unsafe { ffi::sqlite3_step(self.stmt) };
        match rc {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => {
                // SAFETY: `stmt` is valid.
                unsafe { ffi::sqlite3_reset(self.stmt) };
                Ok(false)
            }
            _ => {
                let e = error(self.conn, rc);
                // SAFETY: `stmt` is valid.
                unsafe { ffi::sqlite3_reset(self.stmt) };
                Err(e)
            }
        }
    }

    /// The bytes of column `i` (0-based) of the current row as text, `None` for NULL (or when
    /// there is no current row). Valid until the next `step`.
    pub fn text(&self, i: usize) -> Option<&[u8]> {
        let i = c_int::try_from(i).ok()?;
        // SAFETY: `stmt` is valid; SQLite returns a null pointer for NULL, for a column out of
        // range and when there is no row; otherwise a pointer to `bytes` bytes that stay valid
        // until the statement steps, resets or is finalized, each of which needs `&mut self`
        // (or drop), which this borrow of `self` prevents.
        unsafe {
            let p = ffi::sqlite3_column_text(self.stmt, i);
            if p.is_null() {
                return None;
            }
            let n = ffi::sqlite3_column_bytes(self.stmt, i);
            Some(std::slice::from_raw_parts(
                p,
                usize::try_from(n).unwrap_or(0),
            ))
        }
    }

    /// Column `i` (0-based) of the current row as an integer (0 for NULL or no row).
    pub fn int(&self, i: usize) -> i64 {
        let Ok(i) = c_int::try_from(i) else { return 0 };
        // SAFETY: `stmt` is valid; SQLite returns 0 for a column out of range or no row.
        unsafe { ffi::sqlite3_column_int64(self.stmt, i) }
    }

    /// Column `i` (0-based) as UTF-8 text, `None` for NULL; an error when it is not UTF-8.
    pub fn str(&self, i: usize) -> Result<Option<&str>> {
        match self.text(i) {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b).map(Some).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
                .into()
            }),
        }
    }

    fn check(&self, rc: c_int) -> Result<()> {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(error(self.conn, rc))
        }
    }
}

impl Drop for Cursor<'_> {
    fn drop(&mut self) {
        // SAFETY: `stmt` is ours and finalized exactly once, while the connection lives.
        unsafe { ffi::sqlite3_finalize(self.stmt) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_texts_nulls_and_integers_row_by_row_and_runs_again() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (k TEXT, v TEXT, n INTEGER);
             INSERT INTO t VALUES ('a', '学籍', 1), ('b', NULL, 2), ('c', '', NULL);",
        )
        .unwrap();
        let mut c =
            Cursor::prepare(&conn, "SELECT v, n, rowid FROM t WHERE k >= ?1 ORDER BY k").unwrap();
        assert!(c.text(0).is_none(), "no row yet");
        c.bind_text(1, "a").unwrap();
        let mut got = Vec::new();
        while c.step().unwrap() {
            got.push((c.str(0).unwrap().map(str::to_string), c.int(1), c.int(2)));
            assert!(c.text(9).is_none(), "out of range");
        }
        assert_eq!(
            got,
            vec![
                (Some("学籍".to_string()), 1, 1),
                (None, 2, 2),
                (Some(String::new()), 0, 3)
            ]
        );
        // Bound again: the statement starts over.
        c.bind_text(1, "b").unwrap();
        assert!(c.step().unwrap());
        assert_eq!(c.int(1), 2);
        assert!(c.bind_int(1, 0).is_err(), "a run is under way");
        c.reset();
        c.bind_int(1, 0).unwrap();
        assert!(c.step().unwrap(), "any text sorts after an integer");
        assert!(Cursor::prepare(&conn, "SELECT nope FROM t").is_err());
        assert!(c.bind_int(5, 1).is_err());
    }
}

//! A prepared statement for bulk loads whose text and blob parameters are bound without being
//! copied (SQLite's `SQLITE_STATIC`): a full bundle binds about 1.5 million text values, and
//! rusqlite's binding copies each one into a fresh allocation first. The values are borrowed
//! only for the duration of one `execute`, which clears the bindings before it returns.

use crate::error::Result;
use rusqlite::ffi;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::os::raw::{c_char, c_int};

/// One prepared statement, finalized on drop; it cannot outlive its connection.
pub struct Statement<'c> {
    conn: &'c Connection,
    stmt: *mut ffi::sqlite3_stmt,
    params: usize,
}

impl<'c> Statement<'c> {
    /// Prepares `sql` (one statement) on `conn`.
    pub fn prepare(conn: &'c Connection, sql: &str) -> Result<Statement<'c>> {
        let stmt = prepare_raw(conn, sql)?;
        // SAFETY: `stmt` is a valid prepared statement.
        let params = unsafe { ffi::sqlite3_bind_parameter_count(stmt) } as usize;
        Ok(Statement { conn, stmt, params })
    }

    /// Binds `values` to the parameters in order (there must be exactly as many), runs the
    /// statement to its end and returns the number of rows it changed. The bindings are
    /// cleared before this returns, so no borrowed value outlives the call.
    pub fn execute<'a>(&mut self, values: impl IntoIterator<Item = ValueRef<'a>>) -> Result<usize> {
        let bound = self.bind(values);
        let result = bound.and_then(|()| {
            // SAFETY: `stmt` is valid and every parameter is bound to a value that lives until
            // the bindings are cleared below.
            let rc = unsafe { ffi::sqlite3_step(self.stmt) };
            if rc == ffi::SQLITE_DONE || rc == ffi::SQLITE_ROW {
                // SAFETY: the connection is live.
                Ok(unsafe { ffi::sqlite3_changes64(self.conn.handle()) } as usize)
            } else {
                Err(error(self.conn, rc))
            }
        });
        // SAFETY: `stmt` is valid; resetting and clearing drops every borrowed pointer.
        unsafe {
            ffi::sqlite3_reset(self.stmt);
            ffi::sqlite3_clear_bindings(self.stmt);
        }
        result
    }

    fn bind<'a>(&mut self, values: impl IntoIterator<Item = ValueRef<'a>>) -> Result<()> {
        let mut n = 0usize;
        for v in values {
            n += 1;
            if n > self.params {
                break;
            }
            let i = n as c_int;
            // SAFETY: `stmt` is valid and `i` is within its parameters. Text and blobs are bound
            // SQLITE_STATIC: they stay borrowed (lifetime 'a, beyond this call) until `execute`
            // clears the bindings.
            let rc = unsafe {
                match v {
                    ValueRef::Null => ffi::sqlite3_bind_null(self.stmt, i),
                    ValueRef::Integer(x) => ffi::sqlite3_bind_int64(self.stmt, i, x),
                    ValueRef::Real(x) => ffi::sqlite3_bind_double(self.stmt, i, x),
                    ValueRef::Text(t) => ffi::sqlite3_bind_text64(
                        self.stmt,
                        i,
                        t.as_ptr() as *const c_char,
                        t.len() as ffi::sqlite3_uint64,
                        ffi::SQLITE_STATIC(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                    ValueRef::Blob(b) => ffi::sqlite3_bind_blob64(
                        self.stmt,
                        i,
                        b.as_ptr() as *const std::ffi::c_void,
                        b.len() as ffi::sqlite3_uint64,
                        ffi::SQLITE_STATIC(),
                    ),
                }
            };
            if rc != ffi::SQLITE_OK {
                return Err(error(self.conn, rc));
            }
        }
        if n == self.params {
            Ok(())
        } else {
            Err(rusqlite::Error::InvalidParameterCount(n, self.params).into())
        }
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        // SAFETY: `stmt` is ours and finalized exactly once, while the connection lives.
        unsafe { ffi::sqlite3_finalize(self.stmt) };
    }
}

/// The connection's last error as the crate's error (also used by `store::cursor`).
pub(super) fn error(conn: &Connection, rc: c_int) -> crate::Error {
    // SAFETY: the connection is live; the message is copied before any other call.
    let msg = unsafe {
        let m = ffi::sqlite3_errmsg(conn.handle());
        (!m.is_null()).then(|| std::ffi::CStr::from_ptr(m).to_string_lossy().into_owned())
    };
    failure(rc, msg)
}

pub(super) fn failure(rc: c_int, msg: Option<String>) -> crate::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(rc), msg).into()
}

/// Prepares `sql` (one statement) on `conn` as a raw statement handle, which the caller owns and
/// must finalize (`Statement` and `store::cursor::Cursor` do so on drop).
pub(crate) fn prepare_raw(conn: &Connection, sql: &str) -> Result<*mut ffi::sqlite3_stmt> {
    let mut stmt: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
    let len = c_int::try_from(sql.len()).map_err(|_| failure(ffi::SQLITE_TOOBIG, None))?;
    // SAFETY: the handle is the live connection's (borrowed for the call); `sql` is valid for
    // `len` bytes during the call, which copies what it needs.
    let rc = unsafe {
        ffi::sqlite3_prepare_v2(
            conn.handle(),
            sql.as_ptr() as *const c_char,
            len,
            &mut stmt,
            std::ptr::null_mut(),
        )
    };
    if rc != ffi::SQLITE_OK || stmt.is_null() {
        // SAFETY: finalizing a null statement is a no-op; a non-null one is ours.
        unsafe { ffi::sqlite3_finalize(stmt) };
        return Err(error(conn, rc));
    }
    Ok(stmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (String, i64, Option<f64>, Option<Vec<u8>>);

    #[test]
    fn binds_without_copying_and_reports_constraint_errors() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, x REAL, b BLOB)",
        )
        .unwrap();
        let mut st =
            Statement::prepare(&conn, "INSERT INTO t VALUES (?, ?, ?, ?), (?, ?, ?, ?)").unwrap();
        let (a, b) = (String::from("a"), String::from("b"));
        let row = |id: &'static str| {
            [
                ValueRef::Text(id.as_bytes()),
                ValueRef::Integer(1),
                ValueRef::Real(0.5),
                ValueRef::Blob(b"z"),
            ]
        };
        let vals: Vec<ValueRef<'_>> = [
            ValueRef::Text(a.as_bytes()),
            ValueRef::Integer(1),
            ValueRef::Null,
            ValueRef::Null,
        ]
        .into_iter()
        .chain([
            ValueRef::Text(b.as_bytes()),
            ValueRef::Integer(2),
            ValueRef::Real(1.5),
            ValueRef::Blob(b"xy"),
        ])
        .collect();
        assert_eq!(st.execute(vals).unwrap(), 2);
        drop((a, b));
        let got: Vec<Row> = conn
            .prepare("SELECT * FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(got[0], ("a".into(), 1, None, None));
        assert_eq!(got[1], ("b".into(), 2, Some(1.5), Some(b"xy".to_vec())));
        // A duplicate key is an error, and the statement can run again afterwards.
        assert!(st.execute(row("a").into_iter().chain(row("c"))).is_err());
        assert_eq!(st.execute(row("c").into_iter().chain(row("d"))).unwrap(), 2);
        // Too few values.
        assert!(st.execute(row("e")).is_err());
    }
}

//! Writing a bulk load's pages early, so that the disk works while the merge still computes. A
//! full bundle for a new county laptop writes about 320 MB into an empty register in one
//! transaction; with SQLite's 512 MiB page cache every page stayed in memory until the commit,
//! which then wrote them all and waited for the disk (about 1.3 s of a 4.7 s merge on this
//! project's machine, the two cores idle meanwhile).
//!
//! `Flusher::flush_durable` writes the transaction's dirty pages into the file now
//! (`sqlite3_db_cacheflush`: they stay in the cache, clean) and has a thread of its own make
//! them durable (`fdatasync` of the register file), so the merge never waits for it. The merge
//! flushes every few MB of rows and after each index, and a table copied in from aside spills
//! its pages as it is made (`spilling`). The commit's own syncs then find almost nothing left.
//! (Only asking the kernel to start the write-back, `sync_file_range`, as before, is not enough
//! on a virtual disk: the pages reach the host's cache at once, and the commit's sync then
//! waited for the host to store all 300 MB: 0.4–0.6 s.)
//!
//! A large roll import (`import::roll`) uses it too: its 200k new pupils are about 290 MB, far
//! more than its 32 MiB cache, so SQLite spills pages into the file all along; `write_back`
//! has them made durable after each batch of new pupils (`fdatasync`, as `flush_durable`), and
//! the commit's syncs, which waited 0.6-1 s for all of them, wait for almost nothing.
//!
//! Nothing about the transaction changes: SQLite writes pages into the file before the commit
//! whenever its cache fills (a "spill"), under the same rules (in rollback-journal mode the
//! original content of every page it overwrites is in the synced journal first, so a crash
//! rolls back; pages of an encrypted register are encrypted as they are written), and a page
//! made durable early is only durable sooner. The thread takes no lock and never closes a
//! descriptor of the register file (closing one would drop the process's locks on it): it uses
//! one SQLite holds open, found by its inode, while the transaction runs. Linux only; elsewhere
//! `start` returns `None` and nothing happens.
//!
//! SQLite syncs the journal before it writes a page into the file whenever a page of the file
//! as it was has been journaled since the last sync, and that sync waits for whatever is being
//! written (50–200 ms each time, the merge's thread idle). A bulk merge changes a page of the
//! file as it was (a table's empty root page) when it reaches each table, so every early write
//! after the first used to wait so. `journal_roots` journals those root pages at the start
//! instead, and the merge writes early only once no table still has to journal its roots: the
//! journal is synced once, before the first early write, while nothing else is being written.

use super::{aside, rows};
use crate::error::Result;
use rusqlite::Connection;

/// Puts the root pages of `table` and of its indexes into the open transaction's rollback
/// journal now, while they are few and the disk is idle (see the module comment), by emptying
/// the table: `DELETE FROM` without a condition on a table without triggers clears each of its
/// B-trees and so rewrites their root pages (SQLite's truncate optimisation). Only for a table
/// that is empty in this transaction, so nothing changes; returns whether it was done (not for
/// a table with rows or with triggers, whose roots are journaled by its first insert).
pub fn journal_roots(conn: &Connection, table: &str) -> Result<bool> {
    if aside::has_triggers(conn, table)? || !rows::is_empty(conn, table)? {
        return Ok(false);
    }
    rows::delete_all(conn, table)?;
    Ok(true)
}

/// Early writing of one connection's transaction (see the module comment).
pub struct Flusher {
    #[cfg(target_os = "linux")]
    tx: Option<std::sync::mpsc::Sender<Ask>>,
    #[cfg(target_os = "linux")]
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the flusher's thread is asked.
#[cfg(target_os = "linux")]
enum Ask {
    /// Make what the file holds now durable (`flush_durable`, `write_back`).
    Now,
    /// Also every `PULSE` until told otherwise (while SQLite writes pages itself, `spilling`).
    Pulse(bool),
}

/// How often the flusher's thread syncs the file while SQLite spills pages.
#[cfg(target_os = "linux")]
const PULSE: std::time::Duration = std::time::Duration::from_millis(20);

/// The page cache (MiB) while `spilling`: SQLite writes the oldest pages into the file as new
/// ones are made.
const SPILL_CACHE_MB: i64 = 8;

impl Flusher {
    /// A flusher for the main database of `conn` (a file register in a write transaction), or
    /// `None` (in memory, no descriptor found, not Linux).
    pub fn start(conn: &Connection) -> Option<Flusher> {
        #[cfg(target_os = "linux")]
        {
            use std::sync::mpsc::RecvTimeoutError;
            let fd = linux::register_fd(conn)?;
            let (tx, rx) = std::sync::mpsc::channel::<Ask>();
            let thread = std::thread::Builder::new()
                .name("bx-flush".into())
                .spawn(move || {
                    let mut pulse = false;
                    loop {
                        let ask = if pulse {
                            match rx.recv_timeout(PULSE) {
                                Ok(a) => Some(a),
                                Err(RecvTimeoutError::Timeout) => None,
                                Err(RecvTimeoutError::Disconnected) => break,
                            }
                        } else {
                            match rx.recv() {
                                Ok(a) => Some(a),
                                Err(_) => break,
                            }
                        };
                        // Requests that piled up meanwhile are one sync.
                        for a in ask.into_iter().chain(rx.try_iter()) {
                            if let Ask::Pulse(p) = a {
                                pulse = p;
                            }
                        }
                        linux::make_durable(fd);
                    }
                })
                .ok()?;
            Some(Flusher {
                tx: Some(tx),
                thread: Some(thread),
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = conn;
            None
        }
    }

    /// Writes the transaction's dirty pages into the register file and has them made durable
    /// in the background (`fdatasync`, see the module comment). Best effort: an error here
    /// changes nothing (the commit writes what is left).
    pub fn flush_durable(&self, conn: &Connection) {
        #[cfg(target_os = "linux")]
        if cache_flush(conn) {
            self.ask(Ask::Now);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = conn;
    }

    /// Has what is in the register file already (pages SQLite spilled from its cache while the
    /// transaction grew) made durable in the background (`fdatasync`), without writing the
    /// cache's dirty pages first: for a load larger than the page cache, whose pages reach the
    /// file anyway.
    pub fn write_back(&self) {
        #[cfg(target_os = "linux")]
        self.ask(Ask::Now);
    }

    /// While `on`, SQLite writes the transaction's pages into the file as it makes them (a
    /// small page cache: it spills), and they are made durable as they come, for one
    /// long statement (a table copied in from aside) whose pages would otherwise all wait for
    /// the next `flush`. Off, the cache is `cache_mb` again. The pages already written are
    /// dropped from the cache (they are in the file).
    pub fn spilling(&self, conn: &Connection, on: bool, cache_mb: i64) -> Result<()> {
        rows::set_cache_mb(conn, if on { SPILL_CACHE_MB } else { cache_mb })?;
        #[cfg(target_os = "linux")]
        self.ask(Ask::Pulse(on));
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn ask(&self, a: Ask) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(a);
        }
    }

    /// Waits for the syncs asked so far (call before the transaction ends, while
    /// the descriptor is surely open).
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        #[cfg(target_os = "linux")]
        {
            self.tx = None;
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// Writes the open transaction's dirty pages into the file (they stay in the cache, clean).
#[cfg(target_os = "linux")]
fn cache_flush(conn: &Connection) -> bool {
    // SAFETY: the handle is the live connection's; the call only writes dirty pages of the open
    // write transaction (as a cache spill would).
    let rc = unsafe { rusqlite::ffi::sqlite3_db_cacheflush(conn.handle()) };
    rc == rusqlite::ffi::SQLITE_OK
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use rusqlite::Connection;
    use std::os::unix::fs::MetadataExt;

    /// A descriptor this process holds open on the connection's main database file (the one
    /// SQLite opened: never opened or closed here), matched by device and inode.
    pub fn register_fd(conn: &Connection) -> Option<i32> {
        let path = conn.path().filter(|p| !p.is_empty())?;
        let want = std::fs::metadata(path).ok()?;
        for e in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
            let Some(fd) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Ok(m) = std::fs::metadata(e.path()) {
                if m.is_file() && m.dev() == want.dev() && m.ino() == want.ino() {
                    return Some(fd);
                }
            }
        }
        None
    }

    /// Makes what the file holds durable (on the flusher's thread: the merge does not wait).
    pub fn make_durable(fd: i32) {
        // SAFETY: a plain system call on a descriptor; an invalid one only returns an error.
        unsafe {
            libc::fdatasync(fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The register at `path` holds the `n` rows of the committed transaction, none of the
    /// rolled-back one (`gone…`), and passes SQLite's integrity check.
    fn assert_only_kept_rows(path: &std::path::Path, n: i64) {
        let conn = Connection::open(path).unwrap();
        let (count, gone): (i64, i64) = conn
            .query_row("SELECT count(*), sum(x LIKE 'gone%') FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((count, gone), (n, 0));
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }

    #[test]
    fn pages_written_early_commit_or_roll_back_like_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA cache_size = -65536; CREATE TABLE t (x TEXT);")
            .unwrap();
        let fill = |conn: &Connection, tag: &str| {
            conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
                 INSERT INTO t SELECT ?1 || printf('%0500d', i) FROM n",
                [tag],
            )
            .unwrap();
        };
        for keep in [false, true] {
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            let f = Flusher::start(&conn);
            #[cfg(target_os = "linux")]
            assert!(f.is_some());
            fill(&conn, if keep { "kept" } else { "gone" });
            if let Some(f) = &f {
                f.flush_durable(&conn);
            }
            // Written into the file before the commit.
            let size = std::fs::metadata(&path).unwrap().len();
            #[cfg(target_os = "linux")]
            assert!(size > 2_000_000, "{size}");
            fill(&conn, if keep { "kept" } else { "gone" });
            if let Some(f) = f {
                f.finish();
            }
            conn.execute_batch(if keep { "COMMIT" } else { "ROLLBACK" })
                .unwrap();
        }
        drop(conn);
        assert_only_kept_rows(&path, 8000);
    }

    #[test]
    fn an_empty_table_without_triggers_has_its_root_pages_journaled_and_nothing_else_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let journal = dir.path().join("r.db-journal");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = DELETE;
             CREATE TABLE e (id TEXT PRIMARY KEY, k TEXT); CREATE INDEX e_k ON e(k);
             CREATE TABLE full (id TEXT PRIMARY KEY); INSERT INTO full VALUES ('a');
             CREATE TABLE trig (id TEXT PRIMARY KEY); CREATE TABLE n (x INTEGER);
             CREATE TRIGGER trig_d AFTER DELETE ON trig BEGIN INSERT INTO n VALUES (1); END;",
        )
        .unwrap();
        let journaled = || std::fs::metadata(&journal).map_or(0, |m| m.len());
        for keep in [false, true] {
            conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO n VALUES (0);")
                .unwrap();
            let before = journaled();
            assert!(journal_roots(&conn, "e").unwrap());
            // Three root pages (table, primary key, e_k), each a page and 8 bytes.
            assert!(journaled() >= before + 3 * 4096, "{before} {}", journaled());
            assert!(!journal_roots(&conn, "full").unwrap());
            assert!(!journal_roots(&conn, "trig").unwrap());
            conn.execute_batch("INSERT INTO e VALUES ('x', 'y')")
                .unwrap();
            conn.execute_batch(if keep { "COMMIT" } else { "ROLLBACK" })
                .unwrap();
        }
        let count = |t: &str| -> i64 {
            conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!((count("e"), count("full"), count("n")), (1, 1, 1));
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }

    #[test]
    fn pages_spilled_while_a_statement_runs_commit_or_roll_back_like_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = DELETE; CREATE TABLE t (x TEXT);")
            .unwrap();
        rows::set_cache_mb(&conn, 64).unwrap();
        for keep in [false, true] {
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            let f = Flusher::start(&conn);
            let Some(f) = f else {
                conn.execute_batch("ROLLBACK").unwrap();
                return;
            };
            assert!(journal_roots(&conn, "t").unwrap());
            f.spilling(&conn, true, 64).unwrap();
            conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000)
                 INSERT INTO t SELECT ?1 || printf('%0500d', i) FROM n",
                [if keep { "kept" } else { "gone" }],
            )
            .unwrap();
            // 20 MB made with an 8 MiB cache: most of it is in the file before the commit.
            let size = std::fs::metadata(&path).unwrap().len();
            assert!(size > 8_000_000, "{size}");
            f.spilling(&conn, false, 64).unwrap();
            f.finish();
            conn.execute_batch(if keep { "COMMIT" } else { "ROLLBACK" })
                .unwrap();
        }
        drop(conn);
        assert_only_kept_rows(&path, 40000);
    }
}

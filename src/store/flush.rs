//! Writing a bulk load's finished pages early, so that the disk works while the merge still
//! computes. A full bundle for a new county laptop writes about 320 MB into an empty register
//! in one transaction; with SQLite's 512 MiB page cache every page stayed in memory until the
//! commit, which then wrote them all and waited for the disk (about 1.3 s of a 4.7 s merge on
//! this project's machine, the two cores idle meanwhile).
//!
//! `Flusher::flush` writes the transaction's dirty pages into the file now
//! (`sqlite3_db_cacheflush`: they stay in the cache, clean) and asks the kernel, on a thread of
//! its own, to start writing them to the disk (`sync_file_range`, which only starts the
//! write-back and never blocks the merge). The commit's own sync then waits only for the rest.
//!
//! A large roll import (`import::roll`) uses it too: its 200k new pupils are about 290 MB, far
//! more than its 32 MiB cache, so SQLite spills pages into the file all along; `write_back`
//! starts their write-back after each batch of new pupils, and the commit's sync, which waited
//! 0.6-1 s for all of them, waits for almost nothing.
//!
//! Nothing about the transaction changes: SQLite writes pages into the file before the commit
//! whenever its cache fills (a "spill"), under the same rules (in rollback-journal mode the
//! original content of every page it overwrites is in the synced journal first, so a crash
//! rolls back; pages of an encrypted register are encrypted as they are written). The kernel
//! call takes no lock and never closes a descriptor of the register file (closing one would
//! drop the process's locks on it): it uses one SQLite holds open, found by its inode, while
//! the transaction runs. Linux only; elsewhere `start` returns `None` and nothing happens.

use rusqlite::Connection;

/// Early writing of one connection's transaction (see the module comment).
pub struct Flusher {
    #[cfg(target_os = "linux")]
    tx: Option<std::sync::mpsc::Sender<()>>,
    #[cfg(target_os = "linux")]
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    /// A flusher for the main database of `conn` (a file register in a write transaction), or
    /// `None` (in memory, no descriptor found, not Linux).
    pub fn start(conn: &Connection) -> Option<Flusher> {
        #[cfg(target_os = "linux")]
        {
            let fd = linux::register_fd(conn)?;
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let thread = std::thread::Builder::new()
                .name("bx-flush".into())
                .spawn(move || {
                    // One request at a time; requests that piled up meanwhile are one.
                    while rx.recv().is_ok() {
                        while rx.try_recv().is_ok() {}
                        linux::start_writeback(fd);
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

    /// Writes the transaction's dirty pages into the register file and starts their write-back
    /// to the disk. Best effort: an error here changes nothing (the commit writes what is left).
    pub fn flush(&self, conn: &Connection) {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: the handle is the live connection's; the call only writes dirty pages of
            // the open write transaction (as a cache spill would).
            let rc = unsafe { rusqlite::ffi::sqlite3_db_cacheflush(conn.handle()) };
            if rc == rusqlite::ffi::SQLITE_OK {
                if let Some(tx) = &self.tx {
                    let _ = tx.send(());
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = conn;
    }

    /// Starts the write-back to the disk of what is in the register file already (pages SQLite
    /// spilled from its cache while the transaction grew), without writing the cache's dirty
    /// pages first: for a load larger than the page cache, whose pages reach the file anyway.
    pub fn write_back(&self) {
        #[cfg(target_os = "linux")]
        if let Some(tx) = &self.tx {
            let _ = tx.send(());
        }
    }

    /// Waits for the write-back requests made so far (call before the transaction ends, while
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

    /// Starts writing the file's dirty pages to the disk (does not wait for them).
    pub fn start_writeback(fd: i32) {
        // SAFETY: a plain system call on a descriptor; an invalid one only returns an error.
        unsafe {
            libc::sync_file_range(fd, 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                f.flush(&conn);
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
        let conn = Connection::open(&path).unwrap();
        let (n, gone): (i64, i64) = conn
            .query_row("SELECT count(*), sum(x LIKE 'gone%') FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, gone), (8000, 0));
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }
}

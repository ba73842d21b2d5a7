//! Reading an index of a plain (unencrypted) register file page by page, in index order, without
//! SQLite's statement machinery: the cross-check's scans of 200–250k index rows cost SQLite
//! ≈ 1 100–1 300 instructions a row (a VDBE program of a dozen opcodes per row); parsing the
//! B-tree pages (<https://sqlite.org/fileformat2.html>, a stable format) costs about a tenth.
//!
//! Only used when the file itself is the read transaction's snapshot (see [`Pages::of`]): a
//! plain register in a fresh read transaction whose write-ahead log is empty. Such a reader holds
//! SQLite's read lock 0, so no checkpoint can write into the file until the transaction ends,
//! and every other writer's pages go to the log, which this reader (like SQLite's) ignores.

use super::crosscheck::Toward;
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::fs::File;
use std::io::Read;
#[cfg(not(unix))]
use std::io::{Seek, SeekFrom};
use std::path::PathBuf;

/// The register file's page layout, checked to be read directly (see [`Pages::of`]).
#[derive(Debug, Clone)]
pub struct Pages {
    path: PathBuf,
    page_size: usize,
    /// Bytes of a page that hold data (the page size less the reserved bytes at its end).
    usable: usize,
}

/// Deepest B-tree a scan walks (a register's indexes are 3–5 levels deep; a deeper one is a
/// damaged file).
const MAX_DEPTH: usize = 40;
/// Largest record a scan reads (the cross-check's index records are under 100 bytes).
const MAX_RECORD: usize = 1 << 20;
/// Columns of a record a scan looks at (an index of up to 7 columns and the rowid).
const MAX_COLS: usize = 8;

fn damaged(what: &str) -> Error {
    Error::Other(format!(
        "登记库文件的索引页损坏（{what}），请先运行 `baoxue check` 检查登记库，或从备份恢复"
    ))
}

impl Pages {
    /// The layout of `conn`'s register file when its pages are the snapshot of `conn`'s read
    /// transaction, which must have begun and read: a plain file, UTF-8, with no write-ahead
    /// log content (`None` otherwise: the caller reads through SQLite).
    pub fn of(conn: &Connection) -> Option<Pages> {
        let path = PathBuf::from(conn.path().filter(|p| !p.is_empty())?);
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        match std::fs::metadata(&wal) {
            Ok(m) if m.len() > 0 => return None,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => return None,
        }
        let mut head = [0u8; 100];
        File::open(&path).ok()?.read_exact(&mut head).ok()?;
        if &head[..16] != b"SQLite format 3\0" {
            return None;
        }
        let page_size = match u16::from_be_bytes([head[16], head[17]]) {
            1 => 65536,
            n => usize::from(n),
        };
        let reserved = usize::from(head[20]);
        let utf8 = u32::from_be_bytes([head[56], head[57], head[58], head[59]]) == 1;
        if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) || !utf8 {
            return None;
        }
        let usable = page_size.checked_sub(reserved).filter(|u| *u >= 480)?;
        let sqlite_page_size: i64 = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .ok()?;
        (sqlite_page_size == page_size as i64).then_some(Pages {
            path,
            page_size,
            usable,
        })
    }

    /// The root page of the index `name`.
    pub fn root_of(conn: &Connection, name: &str) -> Result<u32> {
        let root: i64 = conn.query_row(
            "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [name],
            |r| r.get(0),
        )?;
        u32::try_from(root)
            .ok()
            .filter(|r| *r > 0)
            .ok_or_else(|| damaged("根页"))
    }

    /// A scan of the index whose root page is `root`, walking `dir`.
    pub fn scan(&self, root: u32, dir: Toward) -> Result<IndexScan> {
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let mut s = IndexScan {
            file,
            path: self.path.clone(),
            page_size: self.page_size,
            usable: self.usable,
            dir,
            stack: Vec::with_capacity(8),
            spare: Vec::new(),
            scratch: Vec::new(),
            row: Row::default(),
        };
        s.push(root)?;
        Ok(s)
    }
}

/// One page on the way down, and where the walk is in it.
struct Frame {
    page: Vec<u8>,
    /// Where the page header starts (100 on page 1, after the file header).
    head: usize,
    leaf: bool,
    cells: usize,
    /// The walk's next step in this page: a leaf's cell `i`; in an interior page, `2k` is the
    /// child left of cell `k` (`2n`: the right-most child) and `2k + 1` is cell `k` itself (an
    /// index keeps entries in its interior cells too). Counts up for [`Toward::Up`]; for
    /// [`Toward::Down`], counts down and `None` is the end.
    next: Option<usize>,
}

/// One column of the current record: its serial type and where its value lies in the buffer
/// that holds the record (the top page of the stack, or `scratch`).
#[derive(Default, Clone, Copy)]
struct Col {
    t: u32,
    start: u32,
    end: u32,
}

/// The current record: its columns, and whether it was copied whole into `scratch` (a record
/// spilling to overflow pages) instead of lying in the top page of the stack.
#[derive(Default, Clone, Copy)]
struct Row {
    in_scratch: bool,
    ncols: usize,
    cols: [Col; MAX_COLS],
}

/// A scan of one index's entries in order (or in reverse), one record at a time; the columns
/// of the current record are borrowed from the scan.
pub struct IndexScan {
    file: File,
    path: PathBuf,
    page_size: usize,
    usable: usize,
    dir: Toward,
    stack: Vec<Frame>,
    /// Page buffers of frames already left, reused.
    spare: Vec<Vec<u8>>,
    scratch: Vec<u8>,
    row: Row,
}

/// A varint at the start of `b`: its value and length.
#[inline]
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    match b.first() {
        Some(&c) if c < 0x80 => Some((u64::from(c), 1)),
        _ => varint_long(b),
    }
}

fn varint_long(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..8 {
        let c = *b.get(i)?;
        v = (v << 7) | u64::from(c & 0x7f);
        if c < 0x80 {
            return Some((v, i + 1));
        }
    }
    Some(((v << 8) | u64::from(*b.get(8)?), 9))
}

/// Bytes a value of serial type `t` takes in the record body.
#[inline]
fn serial_len(t: u64) -> Option<usize> {
    Some(match t {
        0 | 8 | 9 => 0,
        1 => 1,
        2 => 2,
        3 => 3,
        4 => 4,
        5 => 6,
        6 | 7 => 8,
        10 | 11 => return None,
        n => usize::try_from((n - 12) / 2).ok()?,
    })
}

fn be(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |n, c| (n << 8) | u32::from(*c))
}

impl IndexScan {
    fn read_page(&mut self, pgno: u32) -> Result<Vec<u8>> {
        if pgno == 0 {
            return Err(damaged("页号 0"));
        }
        let mut page = self.spare.pop().unwrap_or_default();
        page.resize(self.page_size, 0);
        let at = u64::from(pgno - 1) * self.page_size as u64;
        read_at(&mut self.file, &mut page, at).map_err(|e| Error::io(&self.path, e))?;
        Ok(page)
    }

    fn push(&mut self, pgno: u32) -> Result<()> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(damaged("层数过多"));
        }
        let page = self.read_page(pgno)?;
        let head = if pgno == 1 { 100 } else { 0 };
        let h = page.get(head..head + 8).ok_or_else(|| damaged("页头"))?;
        let leaf = match h[0] {
            0x0a => true,
            0x02 => false,
            _ => return Err(damaged("不是索引页")),
        };
        let cells = usize::from(u16::from_be_bytes([h[3], h[4]]));
        let steps = if leaf { cells } else { 2 * cells + 1 };
        let next = match self.dir {
            Toward::Up => (steps > 0).then_some(0),
            Toward::Down => steps.checked_sub(1),
        };
        self.stack.push(Frame {
            page,
            head,
            leaf,
            cells,
            next,
        });
        Ok(())
    }

    fn pop(&mut self) {
        if let Some(f) = self.stack.pop() {
            self.spare.push(f.page);
        }
    }

    /// Steps to the next entry: `false` at the end.
    pub fn step(&mut self) -> Result<bool> {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Ok(false);
            };
            let Some(i) = top.next else {
                self.pop();
                continue;
            };
            let steps = if top.leaf {
                top.cells
            } else {
                2 * top.cells + 1
            };
            top.next = match self.dir {
                Toward::Up => (i + 1 < steps).then_some(i + 1),
                Toward::Down => i.checked_sub(1),
            };
            let (leaf, head) = (top.leaf, top.head);
            if !leaf && i % 2 == 0 {
                let child = if i / 2 == top.cells {
                    top.page.get(head + 8..head + 12).map(be)
                } else {
                    let at = cell_at(&top.page, head + 12, i / 2)?;
                    top.page.get(at..at + 4).map(be)
                };
                self.push(child.ok_or_else(|| damaged("子页指针"))?)?;
                continue;
            }
            let (cell, hdr) = if leaf {
                (i, head + 8)
            } else {
                (i / 2, head + 12)
            };
            let mut at = cell_at(&top.page, hdr, cell)?;
            if !leaf {
                at += 4;
            }
            self.load(at)?;
            return Ok(true);
        }
    }

    /// Makes the cell at `at` of the top page the current record.
    #[inline]
    fn load(&mut self, at: usize) -> Result<()> {
        let u = self.usable;
        let max_local = (u - 12) * 64 / 255 - 23;
        let Some(top) = self.stack.last() else {
            return Err(damaged("页栈"));
        };
        let page = &top.page;
        let (size, n) = page
            .get(at..)
            .and_then(varint)
            .ok_or_else(|| damaged("记录长度"))?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= MAX_RECORD)
            .ok_or_else(|| damaged("记录过长"))?;
        let start = at + n;
        let in_scratch = size > max_local;
        let (buf, start) = if in_scratch {
            self.spill(start, size)?;
            (&self.scratch[..], 0)
        } else {
            (&page[..], start)
        };
        let body = buf
            .get(start..start + size)
            .ok_or_else(|| damaged("记录越界"))?;
        let (hsize, mut p) = varint(body).ok_or_else(|| damaged("记录头"))?;
        let hsize = usize::try_from(hsize)
            .ok()
            .filter(|h| *h <= body.len())
            .ok_or_else(|| damaged("记录头"))?;
        let mut off = start + hsize;
        let row = &mut self.row;
        row.in_scratch = in_scratch;
        row.ncols = 0;
        while p < hsize && row.ncols < MAX_COLS {
            let (t, n) = match body.get(p) {
                Some(&c) if c < 0x80 => (u64::from(c), 1),
                _ => body
                    .get(p..hsize)
                    .and_then(varint)
                    .ok_or_else(|| damaged("记录头"))?,
            };
            p += n;
            let len = serial_len(t).ok_or_else(|| damaged("列类型"))?;
            row.cols[row.ncols] = Col {
                t: u32::try_from(t).unwrap_or(u32::MAX),
                start: off as u32,
                end: (off + len) as u32,
            };
            row.ncols += 1;
            off += len;
        }
        if off > start + size || (in_scratch && off > u32::MAX as usize) {
            return Err(damaged("记录越界"));
        }
        Ok(())
    }

    /// Copies a record of `size` bytes that starts at `start` in the top page and spills to
    /// overflow pages into `scratch`.
    #[cold]
    fn spill(&mut self, start: usize, size: usize) -> Result<()> {
        let u = self.usable;
        let max_local = (u - 12) * 64 / 255 - 23;
        let min_local = (u - 12) * 32 / 255 - 23;
        let k = min_local + (size - min_local) % (u - 4);
        let local = if k <= max_local { k } else { min_local };
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let head = self
            .stack
            .last()
            .and_then(|f| f.page.get(start..start + local + 4))
            .ok_or_else(|| damaged("记录越界"))?;
        let mut next = be(&head[local..]);
        scratch.extend_from_slice(&head[..local]);
        let mut hops = 0;
        while scratch.len() < size {
            hops += 1;
            if next == 0 || hops > MAX_RECORD / 256 {
                return Err(damaged("溢出页"));
            }
            let over = self.read_page(next)?;
            let take = (size - scratch.len()).min(u - 4);
            scratch.extend_from_slice(over.get(4..4 + take).ok_or_else(|| damaged("溢出页"))?);
            next = be(&over[..4]);
            self.spare.push(over);
        }
        self.scratch = scratch;
        Ok(())
    }

    /// The current entry's columns.
    #[inline]
    pub fn record(&self) -> Record<'_> {
        let buf: &[u8] = if self.row.in_scratch {
            &self.scratch
        } else {
            self.stack.last().map_or(&[][..], |f| &f.page)
        };
        Record {
            buf,
            cols: self.row.cols.get(..self.row.ncols).unwrap_or_default(),
        }
    }

    /// [`Record::text`] of the current entry.
    #[inline]
    pub fn text(&self, i: usize) -> Option<&[u8]> {
        self.record().text(i)
    }

    /// [`Record::is_blob`] of the current entry.
    #[inline]
    pub fn is_blob(&self, i: usize) -> bool {
        self.record().is_blob(i)
    }

    /// [`Record::int`] of the current entry.
    #[inline]
    pub fn int(&self, i: usize) -> i64 {
        self.record().int(i)
    }

    /// [`Record::is_zero`] of the current entry.
    #[inline]
    pub fn is_zero(&self, i: usize) -> bool {
        self.record().is_zero(i)
    }

    /// How many columns the current entry has.
    pub fn columns(&self) -> usize {
        self.row.ncols
    }
}

/// The columns of a scan's current entry, borrowed from the scan.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    buf: &'a [u8],
    cols: &'a [Col],
}

impl<'a> Record<'a> {
    /// The serial type and bytes of column `i` (`None`: no such column).
    #[inline]
    fn value(&self, i: usize) -> Option<(u32, &'a [u8])> {
        let c = self.cols.get(i)?;
        Some((c.t, self.buf.get(c.start as usize..c.end as usize)?))
    }

    /// Column `i` (0-based; the rowid is the last) as text or blob bytes, `None` for NULL or a
    /// number (the cross-check's key columns are TEXT: never numbers).
    #[inline]
    pub fn text(&self, i: usize) -> Option<&'a [u8]> {
        match self.value(i)? {
            (t, b) if t >= 12 => Some(b),
            _ => None,
        }
    }

    /// Whether column `i` is a blob (SQL orders blobs after every text, and a blob never
    /// equals a text).
    #[inline]
    pub fn is_blob(&self, i: usize) -> bool {
        self.cols.get(i).is_some_and(|c| c.t >= 12 && c.t % 2 == 0)
    }

    /// Column `i` as an integer (0 for NULL, text or a real number).
    #[inline]
    pub fn int(&self, i: usize) -> i64 {
        match self.value(i) {
            Some((9, _)) => 1,
            Some((1..=6, b)) => {
                let first = b.first().map_or(0, |c| *c as i8 as i64);
                b.iter()
                    .skip(1)
                    .fold(first, |n, c| (n << 8) | i64::from(*c))
            }
            _ => 0,
        }
    }

    /// Whether column `i` equals the integer 0 as SQL's `= 0` compares it (an integer or a
    /// real zero; NULL, text and blobs never).
    #[inline]
    pub fn is_zero(&self, i: usize) -> bool {
        match self.value(i) {
            Some((8, _)) => true,
            Some((1..=6, b)) => b.iter().all(|c| *c == 0),
            Some((7, b)) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                f64::from_be_bytes(a) == 0.0
            }
            _ => false,
        }
    }
}

/// Reads `buf.len()` bytes at `at` (one system call where the system has positioned reads).
#[cfg(unix)]
fn read_at(file: &mut File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(not(unix))]
fn read_at(file: &mut File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(buf)
}

/// The offset of cell `i` of a page whose cell pointer array starts at `array`.
#[inline]
fn cell_at(page: &[u8], array: usize, i: usize) -> Result<usize> {
    let p = array + 2 * i;
    let b = page.get(p..p + 2).ok_or_else(|| damaged("单元指针"))?;
    Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry of `index` read by the scan, each as (text columns, integer columns).
    fn walk(conn: &Connection, index: &str, dir: Toward) -> Vec<Vec<String>> {
        let pages = Pages::of(conn).expect("a plain file with an empty log");
        let mut s = pages
            .scan(Pages::root_of(conn, index).unwrap(), dir)
            .unwrap();
        let mut out = Vec::new();
        while s.step().unwrap() {
            let mut row = Vec::new();
            for i in 0..s.columns() {
                row.push(match s.text(i) {
                    Some(t) => format!("t:{}", String::from_utf8_lossy(t)),
                    None => format!("i:{}:{}", s.int(i), s.is_zero(i)),
                });
            }
            out.push(row);
        }
        out
    }

    fn sql(conn: &Connection, q: &str) -> Vec<Vec<String>> {
        let mut st = conn.prepare(q).unwrap();
        let n = st.column_count();
        st.query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) => {
                        format!("t:{}", String::from_utf8_lossy(t))
                    }
                    rusqlite::types::ValueRef::Integer(v) => format!("i:{v}:{}", v == 0),
                    rusqlite::types::ValueRef::Null => "i:0:false".to_string(),
                    other => panic!("{other:?}"),
                })
                .collect())
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    #[test]
    fn an_index_read_page_by_page_is_the_index_sqlite_reads_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE t (a TEXT, b TEXT, n INTEGER);
             CREATE INDEX t_ab ON t(a, b, n) WHERE n IS NOT NULL;",
        )
        .unwrap();
        // Enough rows for a three-level tree, texts of every length class (a long one spills
        // to overflow pages), NULLs, negative and large integers, deleted rows.
        {
            let tx = conn.unchecked_transaction().unwrap();
            let mut st = tx.prepare("INSERT INTO t VALUES (?1, ?2, ?3)").unwrap();
            for i in 0..30_000i64 {
                let a = format!(
                    "{:05}-{}",
                    (i * 7919) % 30_000,
                    "学".repeat((i % 5) as usize)
                );
                let b = match i % 7 {
                    0 => None,
                    1 => Some("x".repeat(3000 + i as usize % 5000)),
                    _ => Some(format!("k{i}")),
                };
                let n: Option<i64> = match i % 11 {
                    0 => None,
                    1 => Some(-i * 1_000_003),
                    2 => Some(i << 40),
                    _ => Some(i % 3),
                };
                st.execute(rusqlite::params![a, b, n]).unwrap();
            }
            drop(st);
            tx.commit().unwrap();
        }
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        let want = sql(
            &tx,
            "SELECT a, b, n, rowid FROM t INDEXED BY t_ab WHERE n IS NOT NULL ORDER BY a, b, n, rowid",
        );
        assert_eq!(want.len(), 30_000 - 30_000 / 11 - 1);
        assert_eq!(walk(&tx, "t_ab", Toward::Up), want);
        let mut back = walk(&tx, "t_ab", Toward::Down);
        back.reverse();
        assert_eq!(back, want);
        drop(tx);
        // A log with content: the file is not the snapshot, so no pages.
        conn.execute("INSERT INTO t VALUES ('z', 'z', 1)", [])
            .unwrap();
        assert!(Pages::of(&conn).is_none());
        assert!(Pages::of(&Connection::open_in_memory().unwrap()).is_none());
    }

    #[test]
    fn varints_read_as_sqlite_writes_them() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81]), None);
        assert_eq!(serial_len(13), Some(0));
        assert_eq!(serial_len(19), Some(3));
        assert_eq!(serial_len(10), None);
    }
}

//! Importing clerks' spreadsheets into the register: school roll sheets (学籍花名册) and village
//! household rosters (学户册), from .xlsx/.xlsm/.xls/.ods/.csv.
//!
//! The reusable parts, for every importer (department lists too):
//! - [`source`]: reading any supported file row by row (streamed for .xlsx);
//! - [`header`]: a synonym table per field ([`header::Schema`]) and header finding, two-row
//!   merged headers included;
//! - [`value`]: parsing cells (IDs, dates, grades, sex, flags, phones);
//! - [`scan`]: the row loop (blank/footer rows skipped) and [`pipeline`], which parses on one
//!   thread while the caller writes on another;
//! - [`report`]: the report and its JSON; [`errors_out`]: refused rows back to an .xlsx.
//!
//! - [`child`]: a child's row shared by importers (identity, flags, guardians, upsert).
//! - [`window`]: a re-import's view of the school's pupils, read in id order a window at a time.
//! - [`runs`]: each run's record-list digest checked against its audit row (`audit verify`).
//!
//! Importers: [`roll`] and [`households`]. Each writes everything in one `Writer` transaction:
//! all or nothing; a dry run is the same work rolled back.

pub mod child;
pub mod errors_out;
pub mod header;
pub mod households;
pub mod report;
pub mod roll;
pub mod runs;
pub mod sample;
pub mod scan;
pub mod source;
pub mod value;
pub mod window;

pub use crate::progress::{Control, Progress};
pub use report::{MissingPupil, Report, RowIssue};
pub use source::FileError;

use crate::trace::{Clock, Job};
use header::{HeaderMap, Schema};
use scan::DataRow;
use source::{Flow, SheetInfo};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A refused row with its cells, for the errors-out file.
#[derive(Debug, Clone)]
pub struct RefusedRow {
    pub row: u32,
    pub cells: Vec<String>,
    pub reason: String,
}

/// What an import returns: the report, and what the errors-out file needs.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub report: Report,
    /// Column names of the sheet (combined for two-row headers).
    pub header_labels: Vec<String>,
    pub refused_rows: Vec<RefusedRow>,
}

/// Events from the parsing thread.
pub enum Event<P> {
    Header(SheetInfo, HeaderMap),
    Rows(Vec<P>),
}

const BATCH: usize = 512;

/// Files from this size on (about 3 000 rows of a roll sheet) are imported as a bulk load
/// (`store::rows::journal_for_bulk`: a rollback journal instead of the WAL for the transaction).
pub const BULK_FILE_BYTES: u64 = 256 << 10;

/// Whether a file is large enough to be imported as a bulk load.
pub fn is_bulk_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.len() >= BULK_FILE_BYTES)
        .unwrap_or(false)
}

/// Reads and parses `path` on a second thread (`parse` turns each data row into a `P`) while
/// `consume` handles the events on this one. Parsing never touches the register; writing never
/// waits for the file. If `consume` fails or the cancel flag is set, reading stops.
pub fn pipeline<P: Send>(
    path: &Path,
    sheet: Option<&str>,
    schema: &Schema,
    cancel: Option<&AtomicBool>,
    mut parse: impl FnMut(&DataRow<'_, '_>) -> P + Send,
    mut consume: impl FnMut(Event<P>) -> crate::Result<()>,
) -> crate::Result<scan::ScanStats> {
    let stop = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Event<P>>(8);
    std::thread::scope(|s| {
        let stop = &stop;
        let reader = s.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let header_tx = tx.clone();
            let stats = scan::scan(
                path,
                sheet,
                schema,
                &mut |info, map| {
                    header_tx
                        .send(Event::Header(info.clone(), map.clone()))
                        .map_err(|_| FileError::Cancelled)
                },
                &mut |row| {
                    if stop.load(Ordering::Relaxed)
                        || cancel.map(|c| c.load(Ordering::Relaxed)).unwrap_or(false)
                    {
                        return Ok(Flow::Stop);
                    }
                    batch.push(parse(row));
                    if batch.len() >= BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        if tx.send(Event::Rows(full)).is_err() {
                            return Ok(Flow::Stop);
                        }
                    }
                    Ok(Flow::Continue)
                },
            );
            if !batch.is_empty() && stats.is_ok() {
                let _ = tx.send(Event::Rows(batch));
            }
            stats
        });
        let mut failed = None;
        for ev in rx.iter() {
            if failed.is_some() {
                continue;
            }
            if let Err(e) = consume(ev) {
                stop.store(true, Ordering::Relaxed);
                failed = Some(e);
            }
        }
        let stats = reader
            .join()
            .map_err(|_| crate::Error::Other("读取文件的线程意外中止".into()))?;
        if let Some(e) = failed {
            return Err(e);
        }
        if cancel.map(|c| c.load(Ordering::Relaxed)).unwrap_or(false) {
            return Err(FileError::Cancelled.into());
        }
        Ok(stats?)
    })
}

/// Rows of cells read by the reading thread of [`pipeline_balanced`]: row `i` is
/// `cells[ends[i - 1]..ends[i]]` (two vectors a batch, not one a row), with the rows the
/// reading thread parsed itself, if it did (`parsed[i]` for row `i`).
struct CellBatch<'a, R> {
    rows: Vec<(u32, u32)>,
    cells: Vec<source::Cell<'a>>,
    parsed: Vec<Option<R>>,
}

impl<'a, R> CellBatch<'a, R> {
    fn with_capacity(cells: usize) -> Self {
        CellBatch {
            rows: Vec::with_capacity(BATCH),
            cells: Vec::with_capacity(cells),
            parsed: Vec::new(),
        }
    }

    /// Parses every row below the header (blank and footer rows too: the writing thread's
    /// scanner decides which rows are data and ignores the rest).
    fn parse_all(
        &mut self,
        header: &HeaderMap,
        schema: &Schema,
        parse: &impl Fn(&DataRow<'_, '_>) -> R,
    ) {
        let mut from = 0usize;
        self.parsed = self
            .rows
            .iter()
            .map(|&(row, end)| {
                let cells = &self.cells[from..end as usize];
                from = end as usize;
                (row > header.last_header_row).then(|| {
                    parse(&DataRow {
                        row,
                        cells,
                        header,
                        schema,
                    })
                })
            })
            .collect();
    }
}

/// Batches waiting for the calling thread from which the reading thread of
/// [`pipeline_balanced`] parses the batches it reads ([`Balance::Adaptive`]). The roll import's
/// writing thread is bursty (it writes 4 096 new pupils, 8 batches, at a time), so "the
/// channel is full" would be too late a sign.
const BEHIND: usize = 2;

/// Hands a batch to the calling thread, parsed first as `balance` says (once the header is
/// known), counting it in `queued`; false when the calling thread has stopped listening.
fn hand_over<'a, R>(
    tx: &std::sync::mpsc::SyncSender<Read<'a, R>>,
    mut b: CellBatch<'a, R>,
    balance: Balance,
    queued: &AtomicUsize,
    header: Option<&HeaderMap>,
    schema: &Schema,
    parse: &impl Fn(&DataRow<'_, '_>) -> R,
) -> bool {
    if let Some(h) = header {
        // Adaptive: the calling thread has work queued, so parse rather than wait.
        if balance == Balance::Reader
            || (balance == Balance::Adaptive && queued.load(Ordering::Relaxed) >= BEHIND)
        {
            b.parse_all(h, schema, parse);
        }
    }
    queued.fetch_add(1, Ordering::Relaxed);
    tx.send(Read::Rows(b)).is_ok()
}

enum Read<'a, R> {
    Start(SheetInfo),
    Rows(CellBatch<'a, R>),
}

/// Which thread of [`pipeline_balanced`] parses the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    /// The writing (calling) thread parses every row; the reading thread only reads cells.
    Writer,
    /// The reading thread parses every batch read once the header is known.
    Reader,
    /// Whichever is idle: the reading thread parses a batch when the writing thread is behind
    /// (the channel between them is full, so it would wait anyway), and hands it over
    /// unparsed otherwise, for the writing thread to parse.
    Adaptive,
}

/// Like [`pipeline_balanced`] with [`Balance::Writer`] and `parse` on the calling thread: for
/// an importer whose writing is lighter than its parsing (department lists), calamine's reading
/// is the only work on the reading thread. Other formats go through [`pipeline`].
pub fn pipeline_parsing_here<P: Send>(
    path: &Path,
    sheet: Option<&str>,
    schema: &Schema,
    cancel: Option<&AtomicBool>,
    mut parse: impl FnMut(&DataRow<'_, '_>) -> P + Send,
    consume: impl FnMut(Event<P>) -> crate::Result<()>,
) -> crate::Result<scan::ScanStats> {
    pipeline_balanced(
        path,
        sheet,
        schema,
        cancel,
        Balance::Writer,
        |_| (),
        |(), row| parse(row),
        consume,
    )
}

/// Like [`pipeline`], with the parsing shared between the threads: for an .xlsx file the second
/// thread reads cells (text cells borrow the workbook's shared strings: nothing is copied) and,
/// as `balance` says, parses them with `parse` (pure: it may run on either thread); this thread
/// finds the header, parses the rows the reading thread left unparsed, calls `finish` on each
/// data row in order (what depends on the rows before it: duplicates) and `consume` on the
/// events, in the same order and batches as [`pipeline`]. Other formats go through
/// [`pipeline`], parsing on the reading thread.
#[allow(clippy::too_many_arguments)]
pub fn pipeline_balanced<R: Send, P: Send>(
    path: &Path,
    sheet: Option<&str>,
    schema: &Schema,
    cancel: Option<&AtomicBool>,
    balance: Balance,
    parse: impl Fn(&DataRow<'_, '_>) -> R + Sync,
    mut finish: impl FnMut(R, &DataRow<'_, '_>) -> P + Send,
    mut consume: impl FnMut(Event<P>) -> crate::Result<()>,
) -> crate::Result<scan::ScanStats> {
    let started = std::time::Instant::now();
    let Some(mut book) = source::XlsxBook::open(path)? else {
        return pipeline(
            path,
            sheet,
            schema,
            cancel,
            |row| finish(parse(row), row),
            consume,
        );
    };
    let stop = AtomicBool::new(false);
    let cancelled = || cancel.map(|c| c.load(Ordering::Relaxed)).unwrap_or(false);
    // The header, once the calling thread has found it (it never changes after).
    let found: std::sync::OnceLock<HeaderMap> = std::sync::OnceLock::new();
    let queued = AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Read<'_, R>>(8);
    std::thread::scope(|s| {
        let stop = &stop;
        let book = &mut book;
        let found = &found;
        let queued = &queued;
        let parse = &parse;
        let reader = s.spawn(move || {
            let mut clock = Clock::of(Job::Import, "reader", started);
            let mut batch = CellBatch::with_capacity(0);
            let start_tx = tx.clone();
            let read = book.read(
                sheet,
                &mut |info| {
                    let _ = start_tx.send(Read::Start(info.clone()));
                },
                |row, cells| {
                    if stop.load(Ordering::Relaxed) || cancelled() {
                        return Ok(Flow::Stop);
                    }
                    batch.cells.append(cells);
                    batch.rows.push((row, batch.cells.len() as u32));
                    if batch.rows.len() >= BATCH {
                        let size = batch.cells.len();
                        let full = std::mem::replace(&mut batch, CellBatch::with_capacity(size));
                        if !hand_over(&tx, full, balance, queued, found.get(), schema, parse) {
                            return Ok(Flow::Stop);
                        }
                    }
                    Ok(Flow::Continue)
                },
            );
            if !batch.rows.is_empty() && read.is_ok() {
                queued.fetch_add(1, Ordering::Relaxed);
                let _ = tx.send(Read::Rows(batch));
            }
            clock.step(|| "read (and parsed) every row".into());
            read
        });
        let mut scanner = scan::Scanner::new(schema);
        let mut info = SheetInfo {
            name: String::new(),
            rows_estimate: 0,
        };
        let mut out: Vec<P> = Vec::with_capacity(BATCH);
        let mut failed: Option<crate::Error> = None;
        let mut halted = false;
        for msg in rx.iter() {
            if failed.is_some() || halted {
                continue;
            }
            let mut batch = match msg {
                Read::Start(i) => {
                    info = i;
                    continue;
                }
                Read::Rows(b) => {
                    queued.fetch_sub(1, Ordering::Relaxed);
                    b
                }
            };
            let mut from = 0usize;
            for (i, &(row, end)) in batch.rows.iter().enumerate() {
                let cells = &batch.cells[from..end as usize];
                from = end as usize;
                if cancelled() {
                    halted = true;
                    break;
                }
                let step = match scanner.feed(&info.name, row, cells) {
                    Ok(step) => step,
                    Err(e) => {
                        failed = Some(e.into());
                        break;
                    }
                };
                let Some(h) = scanner.header() else {
                    continue;
                };
                if step.header_found {
                    let _ = found.set(h.clone());
                    if let Err(e) = consume(Event::Header(info.clone(), h.clone())) {
                        failed = Some(e);
                        break;
                    }
                }
                if step.data {
                    let data = DataRow {
                        row,
                        cells,
                        header: h,
                        schema,
                    };
                    let r = match batch.parsed.get_mut(i).and_then(Option::take) {
                        Some(r) => r,
                        None => parse(&data),
                    };
                    out.push(finish(r, &data));
                    if out.len() >= BATCH {
                        let full = std::mem::replace(&mut out, Vec::with_capacity(BATCH));
                        if let Err(e) = consume(Event::Rows(full)) {
                            failed = Some(e);
                            break;
                        }
                    }
                }
            }
            if failed.is_some() || halted {
                stop.store(true, Ordering::Relaxed);
            }
        }
        let read = reader
            .join()
            .map_err(|_| crate::Error::Other("读取文件的线程意外中止".into()))?;
        if let Some(e) = failed {
            return Err(e);
        }
        if halted || cancelled() {
            return Err(FileError::Cancelled.into());
        }
        read?;
        if let Some(h) = scanner.finish(path, &info.name)? {
            consume(Event::Header(info.clone(), h.clone()))?;
        }
        if !out.is_empty() {
            consume(Event::Rows(out))?;
        }
        let mut stats = scanner.stats;
        stats.sheet = info.name;
        stats.rows_estimate = info.rows_estimate;
        Ok(stats)
    })
}

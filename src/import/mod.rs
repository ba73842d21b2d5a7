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

use header::{HeaderMap, Schema};
use scan::DataRow;
use source::{Flow, SheetInfo};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Rows of cells read by the reading thread of [`pipeline_parsing_here`]: row `i` is
/// `cells[ends[i - 1]..ends[i]]` (two vectors a batch, not one a row).
struct CellBatch<'a> {
    rows: Vec<(u32, u32)>,
    cells: Vec<source::Cell<'a>>,
}

enum Read<'a> {
    Start(SheetInfo),
    Rows(CellBatch<'a>),
}

/// Like [`pipeline`], with the work shared the other way round: for an .xlsx file the second
/// thread only reads cells (text cells borrow the workbook's shared strings: nothing is copied),
/// and this thread finds the header, calls `parse` on each data row and `consume` on the events,
/// in the same order and batches as [`pipeline`]. For an importer whose writing is lighter than
/// its parsing (department lists), calamine's reading is then the only work on the reading
/// thread. Other formats go through [`pipeline`].
pub fn pipeline_parsing_here<P: Send>(
    path: &Path,
    sheet: Option<&str>,
    schema: &Schema,
    cancel: Option<&AtomicBool>,
    mut parse: impl FnMut(&DataRow<'_, '_>) -> P + Send,
    mut consume: impl FnMut(Event<P>) -> crate::Result<()>,
) -> crate::Result<scan::ScanStats> {
    let Some(mut book) = source::XlsxBook::open(path)? else {
        return pipeline(path, sheet, schema, cancel, parse, consume);
    };
    let stop = AtomicBool::new(false);
    let cancelled = || cancel.map(|c| c.load(Ordering::Relaxed)).unwrap_or(false);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Read<'_>>(8);
    std::thread::scope(|s| {
        let stop = &stop;
        let book = &mut book;
        let reader = s.spawn(move || {
            let mut batch = CellBatch {
                rows: Vec::with_capacity(BATCH),
                cells: Vec::new(),
            };
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
                        let full = std::mem::replace(
                            &mut batch,
                            CellBatch {
                                rows: Vec::with_capacity(BATCH),
                                cells: Vec::with_capacity(size),
                            },
                        );
                        if tx.send(Read::Rows(full)).is_err() {
                            return Ok(Flow::Stop);
                        }
                    }
                    Ok(Flow::Continue)
                },
            );
            if !batch.rows.is_empty() && read.is_ok() {
                let _ = tx.send(Read::Rows(batch));
            }
            read
        });
        let mut scanner = scan::Scanner::new(schema);
        let mut info = SheetInfo {
            name: String::new(),
            rows_estimate: 0,
        };
        let mut parsed: Vec<P> = Vec::with_capacity(BATCH);
        let mut failed: Option<crate::Error> = None;
        let mut halted = false;
        for msg in rx.iter() {
            if failed.is_some() || halted {
                continue;
            }
            let batch = match msg {
                Read::Start(i) => {
                    info = i;
                    continue;
                }
                Read::Rows(b) => b,
            };
            let mut from = 0usize;
            for &(row, end) in &batch.rows {
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
                    if let Err(e) = consume(Event::Header(info.clone(), h.clone())) {
                        failed = Some(e);
                        break;
                    }
                }
                if step.data {
                    parsed.push(parse(&DataRow {
                        row,
                        cells,
                        header: h,
                        schema,
                    }));
                    if parsed.len() >= BATCH {
                        let full = std::mem::replace(&mut parsed, Vec::with_capacity(BATCH));
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
        if !parsed.is_empty() {
            consume(Event::Rows(parsed))?;
        }
        let mut stats = scanner.stats;
        stats.sheet = info.name;
        stats.rows_estimate = info.rows_estimate;
        Ok(stats)
    })
}

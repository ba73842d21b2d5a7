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

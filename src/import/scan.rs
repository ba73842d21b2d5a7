//! The shared import loop: read a sheet row by row, find its header with a [`Schema`], then hand
//! each data row to the importer, skipping blank rows, footer rows (`合计：37人`, `制表人：…`)
//! and repeated header rows. Importers of roll sheets, household rosters and department lists
//! all run through here.

use super::header::{try_header, HeaderMap, Schema};
use super::source::{read_rows, Cell, FileError, Flow, SheetInfo};
use std::path::Path;

/// How many rows at the top may come before the header.
pub const HEADER_SCAN_ROWS: usize = 40;

/// Words that start a footer row.
const FOOTER_STARTS: &[&str] = &[
    "合计",
    "总计",
    "小计",
    "共计",
    "总人数",
    "制表",
    "填表",
    "审核",
    "负责人",
    "校长",
    "说明",
    "注：",
    "注:",
    "备注：",
];

/// One data row as the importer sees it.
pub struct DataRow<'r, 'c> {
    /// The Excel row number (1-based).
    pub row: u32,
    pub cells: &'r [Cell<'c>],
    pub header: &'r HeaderMap,
    pub schema: &'r Schema,
}

const EMPTY: Cell<'static> = Cell::Empty;

impl<'r, 'c> DataRow<'r, 'c> {
    /// The cell of a field (empty when the sheet lacks the column).
    pub fn get(&self, key: &str) -> &Cell<'c> {
        match self.header.column_of(self.schema, key) {
            Some(col) => self.cells.get(col).unwrap_or(&EMPTY),
            None => &EMPTY,
        }
    }

    /// Whether the sheet has a column for this field.
    pub fn has(&self, key: &str) -> bool {
        self.header.column_of(self.schema, key).is_some()
    }

    /// The column's name as written in the sheet (for messages), or the field's label.
    pub fn column_name(&self, key: &str) -> String {
        match self.header.column_of(self.schema, key) {
            Some(col) => self.header.labels.get(col).cloned().unwrap_or_default(),
            None => self
                .schema
                .field(key)
                .map(|f| f.label.to_string())
                .unwrap_or_default(),
        }
    }

    /// The whole row as text, column by column (for the errors-out file).
    pub fn texts(&self) -> Vec<String> {
        self.cells.iter().map(|c| c.display()).collect()
    }
}

/// Counters the loop keeps.
#[derive(Debug, Clone, Default)]
pub struct ScanStats {
    pub sheet: String,
    pub rows_estimate: u64,
    pub data_rows: u64,
    pub skipped_rows: u64,
}

fn texts(cells: &[Cell<'_>]) -> Vec<String> {
    cells.iter().map(|c| c.display()).collect()
}

/// What kind of row this is, once the header is known.
fn classify(cells: &[Cell<'_>], header: &HeaderMap) -> RowKind {
    let mapped_blank = header
        .columns
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_some())
        .all(|(col, _)| cells.get(col).map(Cell::is_blank).unwrap_or(true));
    if mapped_blank {
        return RowKind::Skip;
    }
    if let Some(Cell::Text(first)) = cells.iter().find(|c| !c.is_blank()) {
        let first = first.trim();
        if FOOTER_STARTS.iter().any(|w| first.starts_with(w)) {
            return RowKind::Skip;
        }
    }
    // A repeated header (printed sheets repeat it on every page).
    let same = header
        .columns
        .iter()
        .enumerate()
        .filter(|(col, f)| {
            f.is_some()
                && matches!(
                    (cells.get(*col), header.labels.get(*col)),
                    (Some(Cell::Text(t)), Some(l)) if t.trim() == l.trim()
                )
        })
        .count();
    if same >= 2 {
        return RowKind::Skip;
    }
    RowKind::Data
}

enum RowKind {
    Data,
    Skip,
}

/// The row loop's state, fed one row at a time (by [`scan`] on the reading thread, or by the
/// pipeline that parses on the writing thread): finds the header within the first
/// [`HEADER_SCAN_ROWS`] rows, then sorts every later row into data or skipped.
pub struct Scanner<'s> {
    schema: &'s Schema,
    header: Option<HeaderMap>,
    /// Before the header is known: the previous row (a header candidate) and the rows seen.
    prev: Option<(u32, Vec<String>)>,
    seen: usize,
    pub stats: ScanStats,
}

/// What a row fed to the [`Scanner`] turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The header was found with this row ([`Scanner::header`] has it now).
    pub header_found: bool,
    /// The row is a data row (not a header row, a row above it, or a blank / footer /
    /// repeated header row).
    pub data: bool,
}

impl<'s> Scanner<'s> {
    pub fn new(schema: &'s Schema) -> Scanner<'s> {
        Scanner {
            schema,
            header: None,
            prev: None,
            seen: 0,
            stats: ScanStats::default(),
        }
    }

    pub fn header(&self) -> Option<&HeaderMap> {
        self.header.as_ref()
    }

    /// Takes the next non-empty row of sheet `sheet`.
    pub fn feed(&mut self, sheet: &str, row: u32, cells: &[Cell<'_>]) -> Result<Step, FileError> {
        let mut step = Step {
            header_found: false,
            data: false,
        };
        if self.header.is_none() {
            self.seen += 1;
            let this = texts(cells);
            if let Some((prow, ptexts)) = self.prev.take() {
                if let Some(h) = try_header(self.schema, prow, &ptexts, Some((row, &this))) {
                    self.header = Some(h);
                    step.header_found = true;
                }
            }
            if self.header.is_none() {
                if self.seen > HEADER_SCAN_ROWS {
                    return Err(FileError::NoHeader {
                        sheet: sheet.to_string(),
                        scanned: HEADER_SCAN_ROWS,
                        needed: self.schema.needed_text(),
                    });
                }
                self.prev = Some((row, this));
                return Ok(step);
            }
        }
        let Some(h) = &self.header else {
            return Ok(step);
        };
        if row <= h.last_header_row {
            return Ok(step);
        }
        match classify(cells, h) {
            RowKind::Skip => self.stats.skipped_rows += 1,
            RowKind::Data => {
                self.stats.data_rows += 1;
                step.data = true;
            }
        }
        Ok(step)
    }

    /// After the last row: the header may be the last row read (a sheet with a header and no
    /// data); returns it when found so. Fails when the sheet had no header at all.
    pub fn finish(&mut self, path: &Path, sheet: &str) -> Result<Option<&HeaderMap>, FileError> {
        let mut found = false;
        if self.header.is_none() {
            if let Some((prow, ptexts)) = self.prev.take() {
                if let Some(h) = try_header(self.schema, prow, &ptexts, None) {
                    self.header = Some(h);
                    found = true;
                }
            }
        }
        if self.header.is_none() {
            if self.seen == 0 {
                return Err(FileError::Empty(path.display().to_string()));
            }
            return Err(FileError::NoHeader {
                sheet: sheet.to_string(),
                scanned: self.seen.min(HEADER_SCAN_ROWS),
                needed: self.schema.needed_text(),
            });
        }
        Ok(if found { self.header.as_ref() } else { None })
    }
}

/// Reads `path`, finds the header, and calls `on_header` once and `on_row` for every data row.
/// `on_row` may stop the loop early (cancel). Fails, before any row, when the file cannot be read
/// or has no recognisable header.
pub fn scan(
    path: &Path,
    sheet: Option<&str>,
    schema: &Schema,
    on_header: &mut dyn FnMut(&SheetInfo, &HeaderMap) -> Result<(), FileError>,
    on_row: &mut dyn FnMut(&DataRow<'_, '_>) -> Result<Flow, FileError>,
) -> Result<ScanStats, FileError> {
    let info = std::cell::RefCell::new(SheetInfo {
        name: String::new(),
        rows_estimate: 0,
    });
    let mut scanner = Scanner::new(schema);
    let mut stop = false;
    read_rows(
        path,
        sheet,
        &mut |i| {
            *info.borrow_mut() = i.clone();
        },
        &mut |row, cells| {
            let info = info.borrow();
            let step = scanner.feed(&info.name, row, cells)?;
            let Some(h) = scanner.header() else {
                return Ok(Flow::Continue);
            };
            if step.header_found {
                on_header(&info, h)?;
            }
            if !step.data {
                return Ok(Flow::Continue);
            }
            let flow = on_row(&DataRow {
                row,
                cells,
                header: h,
                schema,
            })?;
            if flow == Flow::Stop {
                stop = true;
            }
            Ok(flow)
        },
    )?;
    let info = info.into_inner();
    if let Some(h) = scanner.finish(path, &info.name)? {
        on_header(&info, h)?;
    }
    if stop {
        return Err(FileError::Cancelled);
    }
    let mut stats = scanner.stats;
    stats.sheet = info.name;
    stats.rows_estimate = info.rows_estimate;
    Ok(stats)
}

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
    let mut stats = ScanStats::default();
    let info = std::cell::RefCell::new(SheetInfo {
        name: String::new(),
        rows_estimate: 0,
    });
    let mut header: Option<HeaderMap> = None;
    // Before the header is known: the previous row (a header candidate) and the rows seen.
    let mut prev: Option<(u32, Vec<String>)> = None;
    let mut seen = 0usize;
    let mut stop = false;
    read_rows(
        path,
        sheet,
        &mut |i| {
            *info.borrow_mut() = i.clone();
        },
        &mut |row, cells| {
            if header.is_none() {
                seen += 1;
                let this = texts(cells);
                if let Some((prow, ptexts)) = prev.take() {
                    if let Some(h) = try_header(schema, prow, &ptexts, Some((row, &this))) {
                        on_header(&info.borrow(), &h)?;
                        header = Some(h);
                    }
                }
                if header.is_none() {
                    if seen > HEADER_SCAN_ROWS {
                        return Err(FileError::NoHeader {
                            sheet: info.borrow().name.clone(),
                            scanned: HEADER_SCAN_ROWS,
                            needed: schema.needed_text(),
                        });
                    }
                    prev = Some((row, this));
                    return Ok(Flow::Continue);
                }
            }
            let Some(h) = &header else {
                return Ok(Flow::Continue);
            };
            if row <= h.last_header_row {
                return Ok(Flow::Continue);
            }
            match classify(cells, h) {
                RowKind::Skip => {
                    stats.skipped_rows += 1;
                    Ok(Flow::Continue)
                }
                RowKind::Data => {
                    stats.data_rows += 1;
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
                }
            }
        },
    )?;
    if header.is_none() {
        // The header may be the last row read (a sheet with a header and no data).
        if let Some((prow, ptexts)) = prev.take() {
            if let Some(h) = try_header(schema, prow, &ptexts, None) {
                on_header(&info.borrow(), &h)?;
                header = Some(h);
            }
        }
    }
    if header.is_none() {
        if seen == 0 {
            return Err(FileError::Empty(path.display().to_string()));
        }
        return Err(FileError::NoHeader {
            sheet: info.borrow().name.clone(),
            scanned: seen.min(HEADER_SCAN_ROWS),
            needed: schema.needed_text(),
        });
    }
    if stop {
        return Err(FileError::Cancelled);
    }
    let info = info.into_inner();
    stats.sheet = info.name;
    stats.rows_estimate = info.rows_estimate;
    Ok(stats)
}

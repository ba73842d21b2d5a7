//! Reading a spreadsheet file row by row, whatever its format: .xlsx/.xlsm (streamed cell by
//! cell, the sheet is never held), .xls/.ods/.xlsb (through calamine's ranges; these are small),
//! and .csv/.txt in UTF-8 (with or without BOM) or GB18030/GBK, detected.
//!
//! The format is sniffed from the file's first bytes, not trusted from its extension (WPS and
//! e-mail clients rename files). Every failure is a [`FileError`] with a Chinese message; rows
//! are handed to a callback as `&[Cell]` with the Excel row number the clerk sees (1-based).

use calamine::{Data, DataRef, Reader};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// One cell's value, borrowed from the reader where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A date cell, as its Excel serial number (days since 1899-12-30).
    Date(f64),
    Error,
}

/// An owned cell (kept across rows, e.g. while the header is being found).
pub type OwnedCell = Cell<'static>;

impl Cell<'_> {
    pub fn into_owned(self) -> OwnedCell {
        match self {
            Cell::Text(t) => Cell::Text(Cow::Owned(t.into_owned())),
            Cell::Empty => Cell::Empty,
            Cell::Int(i) => Cell::Int(i),
            Cell::Float(f) => Cell::Float(f),
            Cell::Bool(b) => Cell::Bool(b),
            Cell::Date(d) => Cell::Date(d),
            Cell::Error => Cell::Error,
        }
    }

    /// True for an empty cell or one holding only blanks.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.chars().all(|c| c.is_whitespace() || c == '\u{3000}'),
            _ => false,
        }
    }

    /// The cell as the clerk would read it (numbers without a trailing `.0`).
    pub fn display(&self) -> String {
        match self {
            Cell::Empty | Cell::Error => String::new(),
            Cell::Text(t) => t.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => format_number(*f),
            Cell::Bool(b) => if *b { "是" } else { "否" }.to_string(),
            Cell::Date(d) => match serial_to_date(*d) {
                Some(date) => date.to_string(),
                None => format_number(*d),
            },
        }
    }
}

/// A number as Excel shows it in a general cell: integers without `.0`, large ones in E-notation
/// (that is what the clerk sees when an ID number was typed into a number cell).
pub fn format_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else if f.abs() >= 1e15 {
        format!("{f:E}")
    } else {
        format!("{f}")
    }
}

/// An Excel date serial (1900 system) to a date.
pub fn serial_to_date(serial: f64) -> Option<chrono::NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?;
    base.checked_add_days(chrono::Days::new(serial.floor() as u64))
}

/// Why a file could not be read at all (nothing is written then).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("无法打开文件“{path}”：{reason}")]
    Open { path: String, reason: String },
    #[error("文件“{0}”的格式无法识别：请另存为 .xlsx、.xls、.ods 或 .csv 后再导入")]
    UnknownFormat(String),
    #[error("文件“{0}”设置了打开密码（已加密）：请在 Excel/WPS 中取消密码、另存后再导入")]
    Encrypted(String),
    #[error(
        "文件“{path}”已损坏或不是有效的表格文件（{reason}）：请用 Excel/WPS 打开确认后另存再导入"
    )]
    Corrupt { path: String, reason: String },
    #[error("文件中没有名为“{sheet}”的工作表；现有工作表：{available}")]
    NoSuchSheet { sheet: String, available: String },
    #[error("文件“{0}”中没有任何数据（所有工作表都是空的）")]
    Empty(String),
    #[error("在工作表“{sheet}”的前{scanned}行中找不到表头：至少需要{needed}等列名。请确认选对了工作表，且表头行写有这些列名")]
    NoHeader {
        sheet: String,
        scanned: usize,
        needed: String,
    },
    #[error("导入已取消，未写入任何数据")]
    Cancelled,
    #[error("文件“{path}”太大（{size}，上限 {limit}）：请按学校或乡镇分成几个文件后分别导入")]
    TooLarge {
        path: String,
        size: String,
        limit: String,
    },
    #[error(
        "文件“{path}”不像正常的表格文件（{reason}），已拒绝读取：请用 Excel/WPS 打开后另存再导入"
    )]
    Bomb { path: String, reason: String },
    #[error("第{row}行有{columns}列，超过表格上限{limit}列：请检查分隔符或另存为 .xlsx 后再导入")]
    TooManyColumns {
        row: u32,
        columns: usize,
        limit: usize,
    },
}

impl FileError {
    pub fn code(&self) -> &'static str {
        match self {
            FileError::Open { .. } => "file_open",
            FileError::UnknownFormat(_) => "file_format",
            FileError::Encrypted(_) => "file_encrypted",
            FileError::Corrupt { .. } => "file_corrupt",
            FileError::NoSuchSheet { .. } => "no_such_sheet",
            FileError::Empty(_) => "file_empty",
            FileError::NoHeader { .. } => "no_header",
            FileError::Cancelled => "cancelled",
            FileError::TooLarge { .. } => "file_too_large",
            FileError::Bomb { .. } => "file_bomb",
            FileError::TooManyColumns { .. } => "too_many_columns",
        }
    }
}

/// The formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
    Csv,
}

/// Sniffs a file's format from its first bytes (and, for text, its extension).
pub fn detect(path: &Path) -> Result<Format, FileError> {
    let mut head = [0u8; 8];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| open_err(path, e))?;
    let head = &head[..n];
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if head.starts_with(b"PK\x03\x04") {
        return Ok(match ext.as_str() {
            "ods" => Format::Ods,
            "xlsb" => Format::Xlsb,
            _ if zip_is_ods(path) => Format::Ods,
            _ => Format::Xlsx,
        });
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        // A compound file: .xls, or an encrypted .xlsx (checked when opening).
        return Ok(Format::Xls);
    }
    if matches!(ext.as_str(), "csv" | "txt" | "tsv") {
        return Ok(Format::Csv);
    }
    if matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "ods" | "xlsb") {
        return Err(FileError::Corrupt {
            path: path.display().to_string(),
            reason: "文件头不是表格文件".into(),
        });
    }
    Err(FileError::UnknownFormat(path.display().to_string()))
}

fn zip_is_ods(path: &Path) -> bool {
    let mut buf = vec![0u8; 120];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    text.contains("mimetype") && text.contains("opendocument")
}

fn open_err(path: &Path, e: std::io::Error) -> FileError {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "文件不存在".to_string(),
        std::io::ErrorKind::PermissionDenied => "没有读取权限（文件可能正在被 Excel 打开）".into(),
        _ => e.to_string(),
    };
    FileError::Open {
        path: path.display().to_string(),
        reason,
    }
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> FileError {
    let reason = e.to_string();
    if reason.contains("password protected") {
        return FileError::Encrypted(path.display().to_string());
    }
    FileError::Corrupt {
        path: path.display().to_string(),
        reason,
    }
}

/// What to do after a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Facts about the sheet being read, given before the first row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetInfo {
    pub name: String,
    /// An estimate of the number of rows (for progress bars); 0 when unknown.
    pub rows_estimate: u64,
}

/// A callback for each non-empty row: the Excel row number (1-based) and its cells, column A first.
pub type RowFn<'f> = dyn FnMut(u32, &[Cell<'_>]) -> Result<Flow, FileError> + 'f;

/// Reads the chosen sheet (default: the first non-empty one), calling `start` once and then
/// `row` for each row that has at least one cell. Empty rows are not reported.
pub fn read_rows(
    path: &Path,
    sheet: Option<&str>,
    start: &mut dyn FnMut(&SheetInfo),
    row: &mut RowFn<'_>,
) -> Result<(), FileError> {
    let format = detect(path)?;
    crate::limits::check_file(path, format)?;
    match format {
        Format::Csv => read_csv(path, start, row),
        Format::Xlsx => read_xlsx(path, sheet, start, row),
        Format::Xls => {
            let file = File::open(path).map_err(|e| open_err(path, e))?;
            match calamine::Xls::new(BufReader::new(file)) {
                Ok(wb) => read_range_book(path, wb, sheet, start, row),
                Err(calamine::XlsError::Password) => {
                    Err(FileError::Encrypted(path.display().to_string()))
                }
                Err(e) => {
                    // A compound file that is not .xls may be an encrypted .xlsx.
                    let file = File::open(path).map_err(|e| open_err(path, e))?;
                    match calamine::Xlsx::new(BufReader::new(file)) {
                        Err(calamine::XlsxError::Password) => {
                            Err(FileError::Encrypted(path.display().to_string()))
                        }
                        _ => Err(corrupt(path, e)),
                    }
                }
            }
        }
        Format::Ods => {
            let wb: calamine::Ods<_> =
                calamine::open_workbook(path).map_err(|e| corrupt(path, e))?;
            read_range_book(path, wb, sheet, start, row)
        }
        Format::Xlsb => {
            let wb: calamine::Xlsb<_> =
                calamine::open_workbook(path).map_err(|e| corrupt(path, e))?;
            read_range_book(path, wb, sheet, start, row)
        }
    }
}

/// The sheet names of a workbook file (a CSV has one, named after the file).
pub fn sheet_names(path: &Path) -> Result<Vec<String>, FileError> {
    let format = detect(path)?;
    crate::limits::check_file(path, format)?;
    Ok(match format {
        Format::Csv => vec![file_stem(path)],
        Format::Xlsx => {
            let wb: calamine::Xlsx<_> =
                calamine::open_workbook(path).map_err(|e| corrupt(path, e))?;
            wb.sheet_names()
        }
        _ => {
            let wb = calamine::open_workbook_auto(path).map_err(|e| corrupt(path, e))?;
            wb.sheet_names()
        }
    })
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn no_such_sheet(name: &str, names: &[String]) -> FileError {
    FileError::NoSuchSheet {
        sheet: name.to_string(),
        available: names.join("、"),
    }
}

fn data_ref_cell<'a>(v: &DataRef<'a>) -> Cell<'a> {
    match v {
        DataRef::Empty => Cell::Empty,
        DataRef::SharedString(s) => Cell::Text(Cow::Borrowed(s)),
        DataRef::String(s) => Cell::Text(Cow::Owned(s.clone())),
        DataRef::Int(i) => Cell::Int(*i),
        DataRef::Float(f) => Cell::Float(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(d) if d.is_datetime() => Cell::Date(d.as_f64()),
        DataRef::DateTime(d) => Cell::Float(d.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(Cow::Owned(s.clone())),
        DataRef::Error(_) => Cell::Error,
    }
}

fn data_cell(v: &Data) -> Cell<'_> {
    match v {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(Cow::Borrowed(s)),
        Data::Int(i) => Cell::Int(*i),
        Data::Float(f) => Cell::Float(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) if d.is_datetime() => Cell::Date(d.as_f64()),
        Data::DateTime(d) => Cell::Float(d.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(Cow::Borrowed(s)),
        Data::Error(_) => Cell::Error,
    }
}

fn read_xlsx(
    path: &Path,
    sheet: Option<&str>,
    start: &mut dyn FnMut(&SheetInfo),
    row: &mut RowFn<'_>,
) -> Result<(), FileError> {
    let mut book = XlsxBook::open_checked(path)?;
    book.read(sheet, start, |r, cells: &mut Vec<Cell<'_>>| row(r, cells))
}

/// An .xlsx/.xlsm workbook opened for streaming: the file checked (`limits::check_file`) and its
/// shared strings read. Text cells borrow from the workbook, so the rows [`XlsxBook::read`]
/// gives may be kept (or handed to another thread) for as long as the workbook lives.
pub struct XlsxBook {
    path: std::path::PathBuf,
    wb: calamine::Xlsx<BufReader<File>>,
}

impl XlsxBook {
    /// Opens `path` when its format is .xlsx/.xlsm; `None` for any other format.
    pub fn open(path: &Path) -> Result<Option<XlsxBook>, FileError> {
        let format = detect(path)?;
        if format != Format::Xlsx {
            return Ok(None);
        }
        // The shared strings are read while the worksheets are checked (the longest part of
        // the check: it inflates the whole sheet once); no worksheet is read before that ends.
        let worksheets = crate::limits::check_xlsx_but_worksheets(path)?;
        let opened = Self::open_checked(path);
        worksheets.wait()?;
        opened.map(Some)
    }

    fn open_checked(path: &Path) -> Result<XlsxBook, FileError> {
        let wb = calamine::open_workbook(path).map_err(|e| corrupt(path, e))?;
        Ok(XlsxBook {
            path: path.to_path_buf(),
            wb,
        })
    }

    /// Reads the chosen sheet (default: the first non-empty one) as [`read_rows`] does, but
    /// hands `row` the row's cells as a vector it may take (`append`/`drain`): they borrow from
    /// the workbook, not from the reader.
    pub fn read<'a>(
        &'a mut self,
        sheet: Option<&str>,
        start: &mut dyn FnMut(&SheetInfo),
        mut row: impl FnMut(u32, &mut Vec<Cell<'a>>) -> Result<Flow, FileError>,
    ) -> Result<(), FileError> {
        let path = self.path.as_path();
        let wb = &mut self.wb;
        let names = wb.sheet_names();
        let chosen = match sheet {
            Some(s) => {
                let s = s.trim();
                if !names.iter().any(|n| n == s) {
                    return Err(no_such_sheet(s, &names));
                }
                s.to_string()
            }
            None => {
                // The first sheet with a non-empty cell.
                let mut found = None;
                for name in &names {
                    let mut reader = wb
                        .worksheet_cells_reader(name)
                        .map_err(|e| corrupt(path, e))?;
                    while let Some(c) = reader.next_cell().map_err(|e| corrupt(path, e))? {
                        if !data_ref_cell(c.get_value()).is_blank() {
                            found = Some(name.clone());
                            break;
                        }
                    }
                    if found.is_some() {
                        break;
                    }
                }
                found.ok_or_else(|| FileError::Empty(path.display().to_string()))?
            }
        };
        let mut reader = wb
            .worksheet_cells_reader(&chosen)
            .map_err(|e| corrupt(path, e))?;
        let dims = reader.dimensions();
        start(&SheetInfo {
            name: chosen.clone(),
            rows_estimate: u64::from(dims.end.0.saturating_sub(dims.start.0)) + 1,
        });
        let mut cur_row: Option<u32> = None;
        let mut cells: Vec<Cell<'a>> = Vec::with_capacity(32);
        while let Some(c) = reader.next_cell().map_err(|e| corrupt(path, e))? {
            let (r, col) = c.get_position();
            let value = data_ref_cell(c.get_value());
            if cur_row != Some(r) {
                if let Some(prev) = cur_row {
                    if !cells.iter().all(Cell::is_blank) && row(prev + 1, &mut cells)? == Flow::Stop
                    {
                        return Ok(());
                    }
                }
                cells.clear();
                cur_row = Some(r);
            }
            let col = col as usize;
            if col > 16_384 {
                continue;
            }
            if cells.len() <= col {
                cells.resize(col + 1, Cell::Empty);
            }
            cells[col] = value;
        }
        if let Some(prev) = cur_row {
            if !cells.iter().all(Cell::is_blank) {
                row(prev + 1, &mut cells)?;
            }
        }
        Ok(())
    }
}

fn read_range_book<R, RS>(
    path: &Path,
    mut wb: R,
    sheet: Option<&str>,
    start: &mut dyn FnMut(&SheetInfo),
    row: &mut RowFn<'_>,
) -> Result<(), FileError>
where
    R: Reader<RS>,
    R::Error: std::fmt::Display,
    RS: std::io::Read + std::io::Seek,
{
    let names = wb.sheet_names();
    let (name, range) = match sheet {
        Some(s) => {
            let s = s.trim();
            if !names.iter().any(|n| n == s) {
                return Err(no_such_sheet(s, &names));
            }
            let range = wb.worksheet_range(s).map_err(|e| corrupt(path, e))?;
            (s.to_string(), range)
        }
        None => {
            let mut found = None;
            for name in &names {
                let range = wb.worksheet_range(name).map_err(|e| corrupt(path, e))?;
                if range.used_cells().any(|(_, _, v)| !data_cell(v).is_blank()) {
                    found = Some((name.clone(), range));
                    break;
                }
            }
            found.ok_or_else(|| FileError::Empty(path.display().to_string()))?
        }
    };
    start(&SheetInfo {
        name,
        rows_estimate: range.height() as u64,
    });
    let first_row = range.start().map(|(r, _)| r).unwrap_or(0);
    let first_col = range.start().map(|(_, c)| c as usize).unwrap_or(0);
    let mut cells: Vec<Cell<'_>> = Vec::new();
    for (i, r) in range.rows().enumerate() {
        cells.clear();
        cells.resize(first_col, Cell::Empty);
        cells.extend(r.iter().map(data_cell));
        if cells.iter().all(Cell::is_blank) {
            continue;
        }
        if row(first_row + i as u32 + 1, &cells)? == Flow::Stop {
            break;
        }
    }
    Ok(())
}

/// Decodes a text file: UTF-8 (BOM or valid UTF-8) or else GB18030 (which covers GBK).
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest);
    }
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return text;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let (text, _, _) = encoding_rs::GB18030.decode(bytes);
            text
        }
    }
}

fn read_csv(
    path: &Path,
    start: &mut dyn FnMut(&SheetInfo),
    row: &mut RowFn<'_>,
) -> Result<(), FileError> {
    let bytes = std::fs::read(path).map_err(|e| open_err(path, e))?;
    if bytes.contains(&0) && !bytes.starts_with(b"\xFF\xFE") && !bytes.starts_with(b"\xFE\xFF") {
        return Err(FileError::UnknownFormat(path.display().to_string()));
    }
    let text = decode_text(&bytes);
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = if first_line.matches('\t').count() > first_line.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    start(&SheetInfo {
        name: file_stem(path),
        rows_estimate: text.lines().count() as u64,
    });
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    // Excel shows each record as one row, so the row number is the record's number.
    let mut line = 0u32;
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(corrupt(path, e)),
        }
        line += 1;
        if record.len() > crate::limits::MAX_COLUMNS {
            return Err(FileError::TooManyColumns {
                row: line,
                columns: record.len(),
                limit: crate::limits::MAX_COLUMNS,
            });
        }
        let cells: Vec<Cell<'_>> = record
            .iter()
            .map(|f| Cell::Text(Cow::Borrowed(f)))
            .collect();
        if cells.iter().all(Cell::is_blank) {
            continue;
        }
        if row(line, &cells)? == Flow::Stop {
            break;
        }
    }
    Ok(())
}

//! Input limits: what a file handed to an import may cost before it is refused. Checked once, at
//! the edge where the file is opened (`import::source::read_rows` / `sheet_names`), before any
//! reader library sees it, so that a 2 GB file, a zip bomb dressed as .xlsx or an .ods whose
//! cells repeat a million times are refused in well under a second with a Chinese message, and
//! memory stays bounded.
//!
//! - file size: [`MAX_FILE_BYTES`] for streamed formats (.xlsx, .csv), [`MAX_WHOLE_FILE_BYTES`]
//!   for formats read whole into memory (.xls, .xlsb, .ods);
//! - zip containers (.xlsx/.ods/.xlsb): the declared uncompressed total and each entry's
//!   compression ratio from the central directory, then each entry is inflated once into a
//!   counter that stops one byte past its declared size (a forged size is caught, work bounded).
//!   A streamed .xlsx ([`check_xlsx_but_worksheets`]) has its worksheets inflated on a second
//!   thread while its shared strings (already checked) are read; no worksheet is read before
//!   that check ends;
//! - .ods: repeat counts beyond a spreadsheet's limits ([`MAX_COLUMNS`], [`MAX_ROWS`]);
//! - rows with more than [`MAX_COLUMNS`] cells (CSV; .xlsx cells past it are ignored);
//! - bundle files: [`read_bounded`] with [`MAX_BUNDLE_BYTES`]; their JSON is parsed by serde_json,
//!   whose recursion limit (128) refuses deeply nested JSON with an error, not a stack overflow.

use crate::import::source::{FileError, Format};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// Largest .xlsx/.csv accepted (a county's whole roll is a few tens of MB).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// Largest .xls/.xlsb/.ods accepted: these are read whole into memory.
pub const MAX_WHOLE_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Largest total uncompressed size of a zip container.
pub const MAX_UNZIPPED_BYTES: u64 = 768 * 1024 * 1024;
/// Above this uncompressed size, an entry may not be compressed more than [`MAX_ZIP_RATIO`]:1.
const RATIO_CHECK_FROM: u64 = 16 * 1024 * 1024;
/// Spreadsheet XML compresses about 10-30:1; a zip bomb hundreds or thousands to one.
pub const MAX_ZIP_RATIO: u64 = 200;
/// Largest bundle file read (a county's full bundle is tens of MB).
pub const MAX_BUNDLE_BYTES: u64 = 512 * 1024 * 1024;
/// Excel's column limit (XFD).
pub const MAX_COLUMNS: usize = 16_384;
/// Excel's row limit.
pub const MAX_ROWS: u64 = 1_048_576;

fn mib(n: u64) -> String {
    format!("{:.0} MB", n as f64 / (1024.0 * 1024.0))
}

fn bomb(path: &Path, reason: String) -> FileError {
    FileError::Bomb {
        path: path.display().to_string(),
        reason,
    }
}

fn corrupt(path: &Path, reason: impl std::fmt::Display) -> FileError {
    FileError::Corrupt {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Checks a file about to be read in `format`; `Ok(())` when it is within every limit.
pub fn check_file(path: &Path, format: Format) -> Result<(), FileError> {
    check_size(
        path,
        match format {
            Format::Xlsx | Format::Csv => MAX_FILE_BYTES,
            Format::Xls | Format::Xlsb | Format::Ods => MAX_WHOLE_FILE_BYTES,
        },
    )?;
    if matches!(format, Format::Xlsx | Format::Xlsb | Format::Ods) {
        check_zip(path, format == Format::Ods)?;
    }
    Ok(())
}

/// Refuses a file larger than `limit`.
fn check_size(path: &Path, limit: u64) -> Result<(), FileError> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| FileError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?
        .len();
    if bytes > limit {
        return Err(FileError::TooLarge {
            path: path.display().to_string(),
            size: mib(bytes),
            limit: mib(limit),
        });
    }
    Ok(())
}

/// Reads a whole file, refusing one larger than `limit` before reading it (same error type as
/// `std::fs::read`, with a Chinese message).
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let size = std::fs::metadata(path)?.len();
    if size > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "文件太大（{}，上限 {}），不是正常的数据包",
                mib(size),
                mib(limit)
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("文件太大（上限 {}），不是正常的数据包", mib(limit)),
        ));
    }
    Ok(bytes)
}

fn check_zip(path: &Path, ods: bool) -> Result<(), FileError> {
    let mut z = check_directory(path)?;
    check_entries(path, &mut z, ods, |_| true)
}

/// Opens a zip container and checks what its central directory declares (step 1 of
/// `check_zip`): the uncompressed total and each large entry's compression ratio.
fn check_directory(path: &Path) -> Result<zip::ZipArchive<BufReader<File>>, FileError> {
    let f = File::open(path).map_err(|e| corrupt(path, e))?;
    let mut z = zip::ZipArchive::new(BufReader::new(f)).map_err(|e| corrupt(path, e))?;
    let mut total: u64 = 0;
    for i in 0..z.len() {
        let e = z.by_index_raw(i).map_err(|e| corrupt(path, e))?;
        let size = e.size();
        total = total.saturating_add(size);
        if total > MAX_UNZIPPED_BYTES {
            return Err(bomb(
                path,
                format!("解压后超过 {}", mib(MAX_UNZIPPED_BYTES)),
            ));
        }
        if size > RATIO_CHECK_FROM && size / e.compressed_size().max(1) > MAX_ZIP_RATIO {
            return Err(bomb(
                path,
                format!(
                    "其中“{}”压缩比超过 {MAX_ZIP_RATIO}:1，疑为“压缩炸弹”",
                    e.name()
                ),
            ));
        }
    }
    Ok(z)
}

/// Step 2 of `check_zip` for the entries whose name `which` accepts: what they really hold,
/// never more than declared (each inflated into a counter that stops one byte past it).
fn check_entries(
    path: &Path,
    z: &mut zip::ZipArchive<BufReader<File>>,
    ods: bool,
    which: impl Fn(&str) -> bool,
) -> Result<(), FileError> {
    let mut buf = vec![0u8; 1 << 16];
    for i in 0..z.len() {
        let mut e = z.by_index(i).map_err(|e| corrupt(path, e))?;
        if !which(e.name()) {
            continue;
        }
        let declared = e.size();
        let name = e.name().to_string();
        let scan_repeats = ods && name == "content.xml";
        let mut counted: u64 = 0;
        let mut repeats = RepeatScan::default();
        let mut limited = (&mut e).take(declared.saturating_add(1));
        loop {
            let n = limited.read(&mut buf).map_err(|e| corrupt(path, e))?;
            if n == 0 {
                break;
            }
            counted += n as u64;
            if scan_repeats {
                if let Some(reason) = repeats.feed(&buf[..n]) {
                    return Err(bomb(path, reason));
                }
            }
        }
        if counted > declared {
            return Err(bomb(
                path,
                format!("其中“{name}”实际内容比声明的大，疑为“压缩炸弹”"),
            ));
        }
    }
    Ok(())
}

/// Whether a zip entry of an .xlsx file is a worksheet (streamed by the reader, never held).
fn is_worksheet(name: &str) -> bool {
    name.starts_with("xl/worksheets/")
}

/// The worksheets' part of an .xlsx file's check ([`check_xlsx_but_worksheets`]), running on a
/// thread of its own; [`WorksheetsCheck::wait`] gives its result.
pub struct WorksheetsCheck {
    path: std::path::PathBuf,
    /// `None`: already done (no thread could be started, so it ran on the caller's).
    thread: Option<std::thread::JoinHandle<Result<(), FileError>>>,
}

impl WorksheetsCheck {
    /// Waits for the worksheets' check: `Ok(())` when they are within every limit.
    pub fn wait(self) -> Result<(), FileError> {
        match self.thread {
            None => Ok(()),
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(corrupt(&self.path, "检查文件的线程意外中止"))),
        }
    }
}

/// Checks an .xlsx file as [`check_file`] does, in two parts: now, its size, its central
/// directory, and the content of every entry a reader may hold whole (shared strings, styles,
/// the workbook…); the worksheets' content (most of the file; a reader streams them and never
/// holds one) on a second thread, which the caller waits for (`WorksheetsCheck::wait`) before
/// reading any worksheet. So the workbook's shared strings may be read while the worksheets
/// are checked, and memory stays bounded as before: nothing reads a worksheet until its check
/// has ended, and what is read meanwhile has passed its own.
pub fn check_xlsx_but_worksheets(path: &Path) -> Result<WorksheetsCheck, FileError> {
    check_size(path, MAX_FILE_BYTES)?;
    let mut z = check_directory(path)?;
    check_entries(path, &mut z, false, |name| !is_worksheet(name))?;
    let owned = path.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("bx-check".into())
        .spawn(move || check_entries(&owned, &mut z, false, is_worksheet));
    let thread = match spawned {
        Ok(t) => Some(t),
        Err(_) => {
            check_entries(path, &mut check_directory(path)?, false, is_worksheet)?;
            None
        }
    };
    Ok(WorksheetsCheck {
        path: path.to_path_buf(),
        thread,
    })
}

/// Finds `number-columns-repeated="N"` / `number-rows-repeated="N"` beyond a sheet's limits in
/// streamed .ods XML (an attribute split across two chunks is kept in `tail`).
#[derive(Default)]
struct RepeatScan {
    tail: Vec<u8>,
}

impl RepeatScan {
    fn feed(&mut self, chunk: &[u8]) -> Option<String> {
        let mut text = std::mem::take(&mut self.tail);
        text.extend_from_slice(chunk);
        for (attr, max, what) in [
            (&b"number-columns-repeated=\""[..], MAX_COLUMNS as u64, "列"),
            (&b"number-rows-repeated=\""[..], MAX_ROWS, "行"),
        ] {
            let mut from = 0;
            while let Some(pos) = find(&text[from..], attr) {
                let start = from + pos + attr.len();
                let digits: Vec<u8> = text[start..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .copied()
                    .collect();
                let n: u64 = std::str::from_utf8(&digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(u64::MAX);
                if start + digits.len() < text.len() && n > max {
                    return Some(format!(
                        "表格声明一个单元格重复 {n} {what}，超过表格上限 {max} {what}"
                    ));
                }
                from = start;
            }
        }
        let keep = text.len().min(64);
        self.tail = text[text.len() - keep..].to_vec();
        None
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_scan_finds_huge_repeats_across_chunks() {
        let mut s = RepeatScan::default();
        assert_eq!(s.feed(b"<table:table-cell table:number-columns-rep"), None);
        let hit = s.feed(b"eated=\"1000000\" office:value-type=\"string\">");
        assert!(hit.unwrap().contains("1000000"));
        let mut ok = RepeatScan::default();
        assert_eq!(
            ok.feed(b"<table:table-row table:number-rows-repeated=\"1048571\"><x/>"),
            None
        );
        assert_eq!(ok.feed(b"table:number-columns-repeated=\"1016\"/>"), None);
    }
}

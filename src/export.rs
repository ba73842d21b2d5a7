//! Any list as a file: `.xlsx` (title row, unit-and-date line, header, frozen panes, filter, column
//! widths that print on A4 landscape; every cell text so ID numbers keep their digits) or CSV in
//! UTF-8 with BOM (what Chinese Excel opens without garbling).

use crate::error::{Error, Result};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
use std::path::Path;

/// One column of a table: its header and its width in characters.
#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    pub width: f64,
}

impl Column {
    pub fn new(header: &str, width: f64) -> Column {
        Column {
            header: header.to_string(),
            width,
        }
    }
}

/// A table ready to write: a title, the unit-and-date line, columns and text rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub title: String,
    /// `填报单位：青山县教育局　　日期：2026-09-15`.
    pub subtitle: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Other(format!("写入 Excel 文件失败：{e}"))
}

/// Writes the table as a one-sheet `.xlsx` workbook.
pub fn write_xlsx(table: &Table, sheet_name: &str, path: &Path) -> Result<()> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name).map_err(xlsx_err)?;
    let ncols = table.columns.len().max(1) as u16;
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let sub = Format::new().set_font_size(10).set_align(FormatAlign::Left);
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color("#DDEBF7");
    let cell = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format("@")
        .set_text_wrap();
    ws.merge_range(0, 0, 0, ncols - 1, &table.title, &title)
        .map_err(xlsx_err)?;
    ws.set_row_height(0, 30).map_err(xlsx_err)?;
    ws.merge_range(1, 0, 1, ncols - 1, &table.subtitle, &sub)
        .map_err(xlsx_err)?;
    for (c, col) in table.columns.iter().enumerate() {
        ws.write_string_with_format(2, c as u16, &col.header, &head)
            .map_err(xlsx_err)?;
        ws.set_column_width(c as u16, col.width).map_err(xlsx_err)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            ws.write_string_with_format(3 + r as u32, c as u16, value, &cell)
                .map_err(xlsx_err)?;
        }
    }
    let last_row = 2 + table.rows.len() as u32;
    ws.set_freeze_panes(3, 0).map_err(xlsx_err)?;
    ws.autofilter(2, 0, last_row, ncols - 1).map_err(xlsx_err)?;
    ws.set_landscape();
    ws.set_paper_size(9); // A4
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(2, 2).map_err(xlsx_err)?;
    ws.set_margins(0.4, 0.4, 0.5, 0.5, 0.3, 0.3);
    crate::paths::write_replacing(path, &wb.save_to_buffer().map_err(xlsx_err)?)
}

/// Writes the table as CSV in UTF-8 with BOM (header row first; title and subtitle left out).
pub fn write_csv(table: &Table, path: &Path) -> Result<()> {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    {
        let mut w = csv::Writer::from_writer(&mut bytes);
        let csv_err = |e: csv::Error| Error::Other(format!("写入 CSV 失败：{e}"));
        w.write_record(table.columns.iter().map(|c| c.header.as_str()))
            .map_err(csv_err)?;
        for row in &table.rows {
            w.write_record(row).map_err(csv_err)?;
        }
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    crate::paths::write_replacing(path, &bytes)
}

/// Writes by the file's extension: `.csv` → CSV, anything else → `.xlsx`.
pub fn write_by_extension(table: &Table, sheet_name: &str, path: &Path) -> Result<()> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => write_csv(table, path),
        _ => write_xlsx(table, sheet_name, path),
    }
}

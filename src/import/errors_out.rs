//! The errors-out file: the refused rows written back as an .xlsx sheet, with the sheet's own
//! column names, the original row number and a 错误原因 column, so the clerk can fix the rows
//! and import that file. ID and phone columns are written as text (no digits lost).

use super::header::normalize_label;
use super::RefusedRow;
use crate::error::{Error, Result};
use rust_xlsxwriter::{Format, Workbook};
use std::path::Path;

/// Writes `rows` under `labels` to `path`. Two-row header labels (`监护人信息/姓名`) are written
/// as one name the importer recognises (`监护人姓名`).
pub fn write(path: &Path, labels: &[String], rows: &[RefusedRow]) -> Result<()> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("拒收行").map_err(xlsx_err)?;
    let text = Format::new().set_num_format("@");
    let bold = Format::new().set_bold();
    let width = labels
        .len()
        .max(rows.iter().map(|r| r.cells.len()).max().unwrap_or(0));
    let mut col_labels: Vec<String> = (0..width)
        .map(|i| {
            let l = labels.get(i).cloned().unwrap_or_default();
            match l.split_once('/') {
                Some((group, sub)) => {
                    let g = normalize_label(group);
                    let g = g.trim_end_matches("信息").trim_end_matches("情况");
                    format!("{g}{}", normalize_label(sub))
                }
                None => l,
            }
        })
        .collect();
    col_labels.push("原行号".into());
    col_labels.push("错误原因".into());
    for (c, l) in col_labels.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, l, &bold)
            .map_err(xlsx_err)?;
        ws.set_column_format(c as u16, &text).map_err(xlsx_err)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        for (c, v) in r.cells.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string_with_format(row, c as u16, v, &text)
                    .map_err(xlsx_err)?;
            }
        }
        ws.write_number(row, width as u16, f64::from(r.row))
            .map_err(xlsx_err)?;
        ws.write_string(row, width as u16 + 1, &r.reason)
            .map_err(xlsx_err)?;
    }
    ws.set_column_width(width as u16 + 1, 60)
        .map_err(xlsx_err)?;
    // Whole or not at all: a clerk (or a script) opening the file never reads half a sheet.
    let bytes = wb
        .save_to_buffer()
        .map_err(|e| Error::Other(format!("无法写出错误行文件“{}”：{e}", path.display())))?;
    crate::paths::write_replacing(path, &bytes)
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Other(format!("生成错误行文件失败：{e}"))
}

//! The import report: counts, every refused row (Excel row number, column, code, Chinese
//! message), warnings, unknown columns, the header mapping found, and for roll sheets the pupils
//! of the previous sheet missing from this one. Its JSON is a contract (`baoxue import … --json`).

use serde::Serialize;
use std::collections::BTreeMap;

/// One refused row (or one warning): where, a stable code, and what to do, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowIssue {
    /// The Excel row as the clerk sees it (1-based, counting title and header rows).
    pub row: u32,
    /// The column's name as written in the sheet (empty for the whole row).
    pub column: String,
    pub code: String,
    pub message: String,
}

/// A pupil on the school's previous roll sheet who is not on this one (never deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingPupil {
    pub child_id: String,
    pub name: String,
    /// Masked (`4104**********1234`).
    pub id_number: Option<String>,
    pub student_no: Option<String>,
    pub grade: Option<i64>,
    pub class_name: Option<String>,
    /// The term of the previous sheet that had the pupil.
    pub last_term: String,
    /// What to check: 离校 / 转出 / 疑似流失.
    pub note: String,
}

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub rows_read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: Vec<RowIssue>,
    pub warnings: Vec<RowIssue>,
    pub missing_since_last: Vec<MissingPupil>,
    /// Columns not understood (letter and name), ignored.
    pub unknown_columns: Vec<String>,
    pub header_row: u32,
    /// Field → the column it was read from.
    pub mapping: BTreeMap<String, String>,
    pub sheet: String,
    pub dry_run: bool,
    /// Roll sheets: the school and term imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub school: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    /// Blank, footer and repeated-header rows skipped.
    pub skipped_rows: u64,
}

impl Report {
    /// Rows refused (each refused row appears once in `refused`).
    pub fn refused_count(&self) -> usize {
        self.refused.len()
    }

    /// A short Chinese summary for the terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "工作表“{}”，表头在第{}行；读取{}行：新增{}，更新{}，未变{}，拒收{}，提示{}",
            self.sheet,
            self.header_row,
            self.rows_read,
            self.inserted,
            self.updated,
            self.unchanged,
            self.refused.len(),
            self.warnings.len()
        );
        if self.dry_run {
            s.push_str("（预览，未写入）");
        }
        s
    }
}

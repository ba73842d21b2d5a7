//! Finding the header of a clerk's sheet: title rows above it, one or two header rows (a merged
//! `监护人信息` over 姓名 / 关系 / 联系电话), column names written in many ways. A [`Schema`] is a
//! synonym table per field; every importer (roll sheets, household rosters, department lists)
//! declares its own and shares this code.

use serde::Serialize;
use std::hash::BuildHasherDefault;

/// One field an importer understands, with every column name it goes by.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Stable key used by the importer (`id_number`, `guardian_phone` …).
    pub key: &'static str,
    /// The canonical Chinese column name (used in templates, errors-out files and messages).
    pub label: &'static str,
    /// Other names for the same column (normalised as by [`normalize_label`]).
    pub synonyms: &'static [&'static str],
}

/// What an importer reads: its fields, the columns it knows but ignores, and what a header
/// must contain to be recognised.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub fields: &'static [Field],
    /// Columns that are known and deliberately not imported (序号 …): not reported as unknown.
    pub ignored: &'static [&'static str],
    /// Each inner list is one requirement: at least one of these keys must be found.
    pub required: &'static [&'static [&'static str]],
}

/// Columns written by the errors-out file; every schema ignores them.
pub const ERRORS_OUT_COLUMNS: &[&str] = &["原行号", "错误原因"];

impl Schema {
    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    fn index_of(&self, label: &str) -> Option<usize> {
        let n = normalize_label(label);
        if n.is_empty() {
            return None;
        }
        let find = |n: &str| {
            self.fields.iter().position(|f| {
                normalize_label(f.label) == n || f.synonyms.iter().any(|s| normalize_label(s) == n)
            })
        };
        find(&n).or_else(|| {
            let bare = strip_parenthetical(&n);
            if bare != n && !bare.is_empty() {
                find(&bare)
            } else {
                None
            }
        })
    }

    fn is_ignored(&self, label: &str) -> bool {
        let n = normalize_label(label);
        self.ignored
            .iter()
            .chain(ERRORS_OUT_COLUMNS)
            .any(|s| normalize_label(s) == n || normalize_label(s) == strip_parenthetical(&n))
    }

    /// A human list of what the header must contain, for the "no header" message.
    pub fn needed_text(&self) -> String {
        self.required
            .iter()
            .map(|alts| {
                alts.iter()
                    .filter_map(|k| self.field(k).map(|f| f.label))
                    .collect::<Vec<_>>()
                    .join("或")
            })
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// Normalises a column name: no blanks, no line breaks, no `*` marks, half-width brackets,
/// no trailing colon.
pub fn normalize_label(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(c, '\u{3000}' | '\u{00A0}' | '\u{FEFF}' | '*' | '＊' | '★')
        })
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '【' | '[' => '(',
            '】' | ']' => ')',
            c => c,
        })
        .collect();
    while s.ends_with([':', '：']) {
        s.pop();
    }
    s
}

fn strip_parenthetical(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// A group label over several columns, without its `信息` tail (`监护人信息` → `监护人`).
fn group_stem(s: &str) -> String {
    let n = normalize_label(s);
    for tail in ["信息", "情况", "资料"] {
        if let Some(stem) = n.strip_suffix(tail) {
            if !stem.is_empty() {
                return stem.to_string();
            }
        }
    }
    n
}

/// Where each field was found.
#[derive(Debug, Clone, Serialize)]
pub struct HeaderMap {
    /// The (first) header row, 1-based as the clerk sees it.
    pub header_row: u32,
    /// The last header row (the second one of a two-row header).
    pub last_header_row: u32,
    /// The combined label of each column (`监护人信息/姓名` for a two-row header).
    pub labels: Vec<String>,
    /// For each column, the index of the field it holds.
    #[serde(skip)]
    pub columns: Vec<Option<usize>>,
    /// For each field of the schema, its column.
    #[serde(skip)]
    pub by_field: Vec<Option<usize>>,
    /// Columns not understood (ignored, named in the report).
    pub unknown: Vec<String>,
    /// Field key → column, for the fields found (every cell of every row is looked up here).
    #[serde(skip)]
    by_key: KeyMap,
}

/// A field-key map with a cheap hash (FNV-1a over a short key, fixed keys: no DoS concern).
type KeyMap = std::collections::HashMap<&'static str, usize, BuildHasherDefault<KeyHasher>>;

#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl HeaderMap {
    /// The column of a field, if the sheet has it (`schema` is the one the map was made with).
    pub fn column_of(&self, _schema: &Schema, key: &str) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    /// `{field label: "C 身份证号"}` for the report.
    pub fn mapping(&self, schema: &Schema) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        for (i, f) in schema.fields.iter().enumerate() {
            if let Some(Some(col)) = self.by_field.get(i) {
                out.insert(
                    f.label.to_string(),
                    format!(
                        "{} {}",
                        column_letter(*col),
                        self.labels.get(*col).cloned().unwrap_or_default()
                    ),
                );
            }
        }
        out
    }

    fn found(&self) -> usize {
        self.by_field.iter().filter(|c| c.is_some()).count()
    }

    fn satisfies(&self, schema: &Schema) -> bool {
        schema.required.iter().all(|alts| {
            alts.iter().any(|k| {
                schema
                    .fields
                    .iter()
                    .position(|f| f.key == *k)
                    .and_then(|i| self.by_field.get(i).copied().flatten())
                    .is_some()
            })
        })
    }
}

/// `A`, `B`, … `AA` for a 0-based column.
pub fn column_letter(col: usize) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        out.push((b'A' + r as u8) as char);
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// Maps one header row (with an optional second row under it) onto the schema.
pub fn map_header(
    schema: &Schema,
    header_row: u32,
    top: &[String],
    sub: Option<(u32, &[String])>,
) -> HeaderMap {
    let width = top.len().max(sub.map(|(_, s)| s.len()).unwrap_or(0));
    let mut labels = Vec::with_capacity(width);
    let mut columns = vec![None; width];
    let mut by_field = vec![None; schema.fields.len()];
    let mut unknown = Vec::new();
    let mut group = String::new();
    #[allow(clippy::needless_range_loop)] // `col` indexes three parallel rows.
    for col in 0..width {
        let t = top.get(col).map(|s| s.trim()).unwrap_or("");
        let s = sub
            .and_then(|(_, s)| s.get(col))
            .map(|s| s.trim())
            .unwrap_or("");
        if !t.is_empty() {
            group = t.to_string();
        }
        // The group over this column: its own top cell, or a merged one to its left.
        let g = if t.is_empty() && !s.is_empty() {
            group.as_str()
        } else {
            t
        };
        let (label, candidates): (String, Vec<String>) =
            if !s.is_empty() && !g.is_empty() && normalize_label(g) != normalize_label(s) {
                (
                    format!("{g}/{s}"),
                    vec![
                        format!("{}{}", group_stem(g), normalize_label(s)),
                        s.to_string(),
                        g.to_string(),
                    ],
                )
            } else if !s.is_empty() {
                (s.to_string(), vec![s.to_string()])
            } else {
                (t.to_string(), vec![t.to_string()])
            };
        labels.push(label.clone());
        if label.is_empty() {
            continue;
        }
        let mut hit = None;
        let mut ignored = false;
        for c in &candidates {
            if let Some(i) = schema.index_of(c) {
                if by_field[i].is_none() {
                    hit = Some(i);
                    break;
                }
            } else if schema.is_ignored(c) {
                ignored = true;
                break;
            }
        }
        match hit {
            Some(i) => {
                by_field[i] = Some(col);
                columns[col] = Some(i);
            }
            None if ignored => {}
            None => unknown.push(format!("{} {}", column_letter(col), label)),
        }
    }
    let by_key = schema
        .fields
        .iter()
        .zip(&by_field)
        .filter_map(|(f, col)| col.map(|c| (f.key, c)))
        .collect();
    HeaderMap {
        header_row,
        last_header_row: sub.map(|(r, _)| r).unwrap_or(header_row),
        labels,
        columns,
        by_field,
        unknown,
        by_key,
    }
}

/// Tries `top` as the header, alone and with `next` as a second header row; returns the better
/// mapping if it satisfies the schema.
pub fn try_header(
    schema: &Schema,
    top_row: u32,
    top: &[String],
    next: Option<(u32, &[String])>,
) -> Option<HeaderMap> {
    let alone = map_header(schema, top_row, top, None);
    if alone.found() == 0 {
        // A title or `填报单位：…` row is never the top of a header.
        return None;
    }
    let combined = next
        .filter(|(r, cells)| *r == top_row + 1 && looks_like_header_row(cells))
        .map(|n| map_header(schema, top_row, top, Some(n)));
    let best = match combined {
        Some(c) if c.found() > alone.found() => c,
        _ => alone,
    };
    best.satisfies(schema).then_some(best)
}

/// A row that could be a second header row: only short texts, nothing that looks like data.
fn looks_like_header_row(cells: &[String]) -> bool {
    let mut any = false;
    for c in cells {
        let c = c.trim();
        if c.is_empty() {
            continue;
        }
        any = true;
        let digits = c.chars().filter(|ch| ch.is_ascii_digit()).count();
        if digits >= 4 || c.chars().count() > 20 {
            return false;
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[Field] = &[
        Field {
            key: "name",
            label: "姓名",
            synonyms: &["学生姓名"],
        },
        Field {
            key: "id_number",
            label: "身份证号",
            synonyms: &["身份证件号", "证件号码"],
        },
        Field {
            key: "guardian_name",
            label: "监护人姓名",
            synonyms: &["家长姓名"],
        },
        Field {
            key: "guardian_phone",
            label: "监护人电话",
            synonyms: &["联系电话"],
        },
        Field {
            key: "town",
            label: "乡镇",
            synonyms: &["乡镇(街道)"],
        },
    ];
    const SCHEMA: Schema = Schema {
        fields: FIELDS,
        ignored: &["序号"],
        required: &[&["name"], &["id_number"]],
    };

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn two_row_header_with_merged_group() {
        let top = row(&["序号", "姓名", "身份证件号", "监护人信息", "", "备注"]);
        let sub = row(&["", "", "", "姓名", "联系电话", ""]);
        let m = try_header(&SCHEMA, 3, &top, Some((4, &sub))).unwrap();
        assert_eq!(m.column_of(&SCHEMA, "name"), Some(1));
        assert_eq!(m.column_of(&SCHEMA, "guardian_name"), Some(3));
        assert_eq!(m.column_of(&SCHEMA, "guardian_phone"), Some(4));
        assert_eq!(m.last_header_row, 4);
        assert_eq!(m.unknown, vec!["F 备注".to_string()]);
    }

    #[test]
    fn labels_are_normalised() {
        let top = row(&["* 姓 名", "证件号码（必填）", "乡镇（街道）"]);
        let m = try_header(&SCHEMA, 1, &top, None).unwrap();
        assert_eq!(m.column_of(&SCHEMA, "id_number"), Some(1));
        assert_eq!(m.column_of(&SCHEMA, "town"), Some(2));
        assert!(try_header(&SCHEMA, 1, &row(&["XX小学2026年秋季学生花名册"]), None).is_none());
        assert_eq!(column_letter(27), "AB");
    }
}

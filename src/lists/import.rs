//! Importing one dated version of one department's list, in one transaction (all or nothing).
//!
//! The file is read by the import module's [`pipeline_parsing_here`] (the reading thread only
//! reads cells; rows are parsed on the writing thread, whose SQLite work is light) with the lists' [`LIST_SCHEMA`]; rows of
//! people 18 or older on the as-of date are counted and skipped; village and township names are
//! mapped to division codes through the county's division list (a name matching nothing is kept
//! as written and reported once as a warning). The rows are then compared with what the register
//! holds for the source: the same version (re-import: an unchanged file writes nothing, a
//! corrected one replaces the version's rows) or else the source's newest version (the report
//! then says how this version differs from it).

use super::parse::{parse_row, row_key, Parsed, RowContext};
use super::schema::LIST_SCHEMA;
use super::Kind;
use crate::error::{Error, Result};
use crate::import::report::{Report, RowIssue};
use crate::import::{pipeline_parsing_here, Control, Event, FileError, RefusedRow};
use crate::register::{Actor, Register};
use crate::store::divisions;
use crate::store::list_rows::{self, ListRow};
use crate::store::list_versions::{self, NewVersion};
use chrono::NaiveDate;
use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

/// One list import's settings.
#[derive(Debug, Clone)]
pub struct ListImport {
    pub kind: Kind,
    /// The department that sent the list (`鲁山县公安局`).
    pub source: String,
    /// The date of the department's extract.
    pub as_of: NaiveDate,
    pub sheet: Option<String>,
    pub dry_run: bool,
}

/// The import report of the import module, plus what a list import adds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListReport {
    #[serde(flatten)]
    pub report: Report,
    pub kind: String,
    pub source: String,
    pub as_of: String,
    /// Rows of adults / people outside 0-17 on the as-of date: counted, skipped, not errors.
    pub out_of_age: u64,
    /// Rows repeating a child already read from this file (skipped, with a warning).
    pub duplicates: u64,
    /// Children of the compared version that this file no longer has.
    pub removed: u64,
    /// `new` (a new dated version), `replaced` (this version's rows replaced by a corrected
    /// file) or `unchanged` (the same version again: nothing written).
    pub version: String,
    /// The as-of date of the version the counts compare with (the same one, or the source's
    /// previous newest), if any.
    pub compared_with: Option<String>,
    /// Whether this version is now the one the cross-check uses (the newest of its source).
    pub current: bool,
}

/// What a list import returns: the report, and what the errors-out file needs.
#[derive(Debug, Clone, Default)]
pub struct ListOutcome {
    pub report: ListReport,
    pub header_labels: Vec<String>,
    pub refused_rows: Vec<RefusedRow>,
}

/// Checks a department name: not empty, blanks collapsed.
pub fn check_source(raw: &str) -> Result<String> {
    let s: String = raw
        .split(|c: char| c.is_whitespace() || c == '\u{3000}')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if s.is_empty() {
        return Err(Error::invalid(
            "来源",
            "请用 --source 写明名单来自哪个部门，例如 --source 鲁山县公安局",
        ));
    }
    Ok(s)
}

fn file_sha256(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Names of divisions → codes, with a cache, and the names that matched nothing.
struct Places<'c> {
    conn: &'c Connection,
    townships: HashMap<String, Vec<String>>,
    villages: HashMap<(String, String), Vec<String>>,
    /// (what, name) → (first row, rows, why).
    unmatched: BTreeMap<(String, String), (u32, u64, &'static str)>,
}

fn name_variants(name: &str, tail: &str) -> Vec<String> {
    let n: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = vec![n.clone()];
    for suffix in ["民委员会", "委员会", "委会", "人民政府", "办事处"] {
        if let Some(stem) = n.strip_suffix(suffix) {
            if !stem.is_empty() {
                out.push(stem.to_string());
            }
        }
    }
    if !n.ends_with(tail) {
        out.push(format!("{n}{tail}"));
    }
    out
}

impl<'c> Places<'c> {
    fn new(conn: &'c Connection) -> Places<'c> {
        Places {
            conn,
            townships: HashMap::new(),
            villages: HashMap::new(),
            unmatched: BTreeMap::new(),
        }
    }

    fn find(&self, name: &str, level: &str, tails: &[&str]) -> Result<Vec<String>> {
        for tail in tails {
            for n in name_variants(name, tail) {
                let hits: Vec<String> = divisions::find_by_name(self.conn, &n)?
                    .into_iter()
                    .filter(|d| d.level == level)
                    .map(|d| d.code)
                    .collect();
                if !hits.is_empty() {
                    return Ok(hits);
                }
            }
        }
        Ok(Vec::new())
    }

    fn township(&mut self, name: &str) -> Result<Vec<String>> {
        if let Some(c) = self.townships.get(name) {
            return Ok(c.clone());
        }
        let codes = self.find(name, "township", &["镇", "乡", "街道"])?;
        self.townships.insert(name.to_string(), codes.clone());
        Ok(codes)
    }

    fn village(&mut self, township: &[String], name: &str) -> Result<Vec<String>> {
        let k = (township.join(","), name.to_string());
        if let Some(c) = self.villages.get(&k) {
            return Ok(c.clone());
        }
        let codes: Vec<String> = self
            .find(name, "village", &["村", "社区"])?
            .into_iter()
            .filter(|c| township.is_empty() || township.iter().any(|t| c.starts_with(t.as_str())))
            .collect();
        self.villages.insert(k, codes.clone());
        Ok(codes)
    }

    fn note(&mut self, what: &str, name: &str, row: u32, why: &'static str) {
        let e = self
            .unmatched
            .entry((what.to_string(), name.to_string()))
            .or_insert((row, 0, why));
        e.1 += 1;
    }

    /// Fills the row's township and village codes.
    fn resolve(&mut self, r: &mut ListRow) -> Result<()> {
        // A 区划代码 column wins (12 digits: village, 9: township).
        if let Some(code) = r.village_code.take() {
            match code.len() {
                12 if code.bytes().all(|b| b.is_ascii_digit()) => {
                    r.township_code = Some(code[..9].to_string());
                    r.village_code = Some(code);
                    return Ok(());
                }
                9 if code.bytes().all(|b| b.is_ascii_digit()) => {
                    r.township_code = Some(code);
                }
                _ => self.note("区划代码", &code, r.row, "不是9位或12位区划代码"),
            }
        }
        let mut townships = Vec::new();
        if let Some(t) = r.township.clone() {
            townships = self.township(&t)?;
            match townships.as_slice() {
                [] => self.note("乡镇", &t, r.row, "不在本县区划名单中"),
                [one] if r.township_code.is_none() => r.township_code = Some(one.clone()),
                _ => {}
            }
        }
        if let Some(tc) = &r.township_code {
            if townships.is_empty() {
                townships = vec![tc.clone()];
            }
        }
        if let Some(v) = r.village.clone() {
            match self.village(&townships, &v)?.as_slice() {
                [] => self.note("村", &v, r.row, "不在本县区划名单中"),
                [one] => {
                    r.village_code = Some(one.clone());
                    r.township_code = Some(one[..9.min(one.len())].to_string());
                }
                _ => self.note(
                    "村",
                    &v,
                    r.row,
                    "在区划名单中有重名，未填乡镇无法确定是哪个村",
                ),
            }
        }
        Ok(())
    }

    fn warnings(&self) -> Vec<RowIssue> {
        self.unmatched
            .iter()
            .map(|((what, name), (row, n, why))| RowIssue {
                row: *row,
                column: what.clone(),
                code: "division_unknown".into(),
                message: format!(
                    "{what}“{name}”{why}（第{row}行起共{n}行），已照原样保存；请核对名称，或用 `baoxue division add` 补登区划"
                ),
            })
            .collect()
    }
}

/// The content of a row for comparing versions (its Excel row number aside).
fn same_content(a: &ListRow, b: &ListRow) -> bool {
    let mut a = a.clone();
    a.row = b.row;
    &a == b
}

/// Imports one version of a department list. Refused rows are in the report; an unreadable file,
/// a missing header or a cancelled import is an error, with nothing written.
///
/// A large file is written with a rollback journal instead of the WAL when no other connection
/// has the register open (as a large roll sheet: `import::is_bulk_file`).
pub fn import_list(
    reg: &mut Register,
    path: &Path,
    opts: &ListImport,
    actor: &Actor,
    ctl: &mut Control<'_>,
) -> Result<ListOutcome> {
    let journal = if crate::import::is_bulk_file(path) {
        crate::store::rows::journal_for_bulk(reg.conn())
    } else {
        None
    };
    // The file's digest is computed on its own thread while the workbook is opened and checked.
    let result = std::thread::scope(|s| {
        let digest = s.spawn(|| file_sha256(path));
        import_list_inner(reg, path, opts, actor, ctl, digest)
    });
    if let Some(mode) = journal {
        crate::store::rows::restore_journal(reg.conn(), &mode);
    }
    result
}

fn import_list_inner(
    reg: &mut Register,
    path: &Path,
    opts: &ListImport,
    actor: &Actor,
    ctl: &mut Control<'_>,
    digest: std::thread::ScopedJoinHandle<'_, Result<String>>,
) -> Result<ListOutcome> {
    let source = check_source(&opts.source)?;
    let kind = opts.kind;
    let as_of = opts.as_of.to_string();
    let mut digest = Some(digest);
    let mut sha = String::new();
    let mut join_digest = |sha: &mut String| -> Result<()> {
        if let Some(job) = digest.take() {
            *sha = job
                .join()
                .map_err(|_| Error::Other("计算文件摘要的线程意外中止".into()))??;
        }
        Ok(())
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::store::roll_imports::tune_for_bulk(reg.conn())?;
    let mut w = reg.writer(actor)?;
    let mut out = ListOutcome::default();
    let lr = &mut out.report;
    lr.kind = kind.as_str().into();
    lr.source = source.clone();
    lr.as_of = as_of.clone();
    lr.report.dry_run = opts.dry_run;

    // Compare with the same version, else the source's newest.
    let same = list_versions::get(w.conn(), kind.as_str(), &source, &as_of)?;
    let newest = list_versions::get_current(w.conn(), kind.as_str(), &source)?;
    let baseline = same.clone().or(newest.clone());
    let before: HashMap<String, ListRow> = match &baseline {
        Some(v) => list_rows::list_by_version(w.conn(), v.id)?
            .into_iter()
            .map(|r| (row_key(kind, &r), r))
            .collect(),
        None => HashMap::new(),
    };
    lr.compared_with = baseline.as_ref().map(|v| v.as_of.clone());
    let now = w.now_text();
    let base = NewVersion {
        kind: kind.as_str(),
        source: &source,
        as_of: &as_of,
        file_name: &file_name,
        file_sha256: "",
        imported_at: &now,
        operator: &actor.operator,
        rows_read: 0,
        rows_kept: 0,
        rows_out_of_age: 0,
        rows_refused: 0,
    };
    // A new dated version is written while the file is read (rows in sheet order, as they
    // come; the version row itself once the header is found and the file's digest known); the
    // same version again is gathered first, since an unchanged file writes nothing.
    let mut new_version = None;
    let mut rows: Vec<ListRow> = Vec::new();
    let mut rows_kept = 0i64;
    let mut matched = 0u64;
    let mut rebuild: Vec<String> = Vec::new();

    let ctx = RowContext {
        kind,
        as_of: opts.as_of,
        source: source.clone(),
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut places = Places::new(w.conn());
    let (mut total, mut done) = (0u64, 0u64);
    let cancel = ctl.cancel;
    let stats = pipeline_parsing_here(
        path,
        opts.sheet.as_deref(),
        &LIST_SCHEMA,
        cancel,
        |row| parse_row(row, &ctx),
        |ev| {
            match ev {
                Event::Header(info, map) => {
                    total = info
                        .rows_estimate
                        .saturating_sub(u64::from(map.last_header_row));
                    let r = &mut lr.report;
                    r.sheet = info.name;
                    r.header_row = map.header_row;
                    r.mapping = map.mapping(&LIST_SCHEMA);
                    r.unknown_columns = map.unknown.clone();
                    r.warnings.extend(header_warnings(kind, &source, &map));
                    out.header_labels = map.labels;
                    join_digest(&mut sha)?;
                    if same.is_none() {
                        let v = NewVersion {
                            file_sha256: &sha,
                            ..base
                        };
                        new_version = Some(list_versions::insert(w.conn(), &v)?);
                        rebuild = drop_indexes_for_bulk(w.conn(), total)?;
                    }
                }
                Event::Rows(batch) => {
                    for p in batch {
                        done += 1;
                        match p {
                            Parsed::OutOfAge => lr.out_of_age += 1,
                            Parsed::Refused(issue, cells) => {
                                out.refused_rows.push(RefusedRow {
                                    row: issue.row,
                                    cells,
                                    reason: issue.message.clone(),
                                });
                                lr.report.refused.push(issue);
                            }
                            Parsed::Child(mut r, warnings) => {
                                let key = row_key(kind, &r);
                                if let Some(first) = seen.get(&key) {
                                    lr.duplicates += 1;
                                    lr.report.warnings.push(RowIssue {
                                        row: r.row,
                                        column: String::new(),
                                        code: "duplicate".into(),
                                        message: format!(
                                            "与第{first}行是同一人（{}），本行已跳过",
                                            if r.id_key.is_some() {
                                                "身份证号相同"
                                            } else {
                                                "姓名和出生日期相同"
                                            }
                                        ),
                                    });
                                    continue;
                                }
                                places.resolve(&mut r)?;
                                lr.report.warnings.extend(warnings);
                                rows_kept += 1;
                                match before.get(&key) {
                                    None => lr.report.inserted += 1,
                                    Some(b) => {
                                        matched += 1;
                                        if same_content(&r, b) {
                                            lr.report.unchanged += 1;
                                        } else {
                                            lr.report.updated += 1;
                                        }
                                    }
                                }
                                seen.insert(key, r.row);
                                match new_version {
                                    Some(id) => list_rows::insert(w.conn(), id, &r)?,
                                    None => rows.push(*r),
                                }
                            }
                        }
                    }
                    ctl.report(done, total);
                    if ctl.cancelled() {
                        return Err(FileError::Cancelled.into());
                    }
                }
            }
            Ok(())
        },
    )?;
    join_digest(&mut sha)?;
    lr.report.warnings.extend(places.warnings());
    lr.report.rows_read = stats.data_rows;
    lr.report.skipped_rows = stats.skipped_rows;
    for sql in rebuild {
        crate::store::rows::create_index(w.conn(), &sql)?;
    }
    lr.removed = before.len() as u64 - matched.min(before.len() as u64);
    let facts = NewVersion {
        file_sha256: &sha,
        rows_read: stats.data_rows as i64,
        rows_kept,
        rows_out_of_age: lr.out_of_age as i64,
        rows_refused: lr.report.refused.len() as i64,
        ..base
    };
    let changed = lr.report.inserted + lr.report.updated + lr.removed > 0;
    match (&same, new_version) {
        (Some(_), _) if !changed => lr.version = "unchanged".into(),
        (Some(v), _) => {
            lr.version = "replaced".into();
            list_rows::delete_by_version(w.conn(), v.id)?;
            let rebuild = drop_indexes_for_bulk(w.conn(), rows.len() as u64)?;
            for r in &rows {
                list_rows::insert(w.conn(), v.id, r)?;
            }
            for sql in rebuild {
                crate::store::rows::create_index(w.conn(), &sql)?;
            }
            list_versions::put(w.conn(), v.id, &facts)?;
            w.audit("list_versions", &v.id.to_string(), "replace", &["rows"])?;
        }
        (None, Some(id)) => {
            lr.version = "new".into();
            list_versions::put(w.conn(), id, &facts)?;
            w.audit(
                "list_versions",
                &id.to_string(),
                "insert",
                &["kind", "source", "as_of", "rows"],
            )?;
        }
        (None, None) => {}
    }
    lr.current = newest.as_ref().is_none_or(|n| n.as_of <= as_of);
    if !lr.current {
        if let Some(n) = &newest {
            lr.report.warnings.push(RowIssue {
                row: 0,
                column: String::new(),
                code: "older_version".into(),
                message: format!(
                    "本名单日期 {as_of} 早于已导入的 {} 版本：已保存备查，比对仍使用 {} 版本",
                    n.as_of, n.as_of
                ),
            });
        }
    }
    ctl.report(done, done);
    if !opts.dry_run {
        w.commit()?;
    }
    Ok(out)
}

/// From this many rows on, a version whose rows are at least as many as `list_rows` holds is
/// written as a bulk load: the table's secondary indexes (keyed by ID and by birth date, so
/// filled at random places row by row) are dropped before the rows and built again after them
/// (`create_index`, one sort each), inside the same transaction.
const BULK_ROWS: u64 = 10_000;

/// Drops `list_rows`' secondary indexes when `rows` are to be written in bulk; returns the
/// statements that build them again.
fn drop_indexes_for_bulk(conn: &Connection, rows: u64) -> Result<Vec<String>> {
    use crate::store::rows as table;
    let mut rebuild = Vec::new();
    if rows >= BULK_ROWS && table::count(conn, "list_rows")? <= rows {
        for (name, sql) in table::secondary_indexes(conn, "list_rows")? {
            table::drop_index(conn, &name)?;
            rebuild.push(sql);
        }
    }
    Ok(rebuild)
}

/// Warnings about the header as a whole (a column the KIND needs is missing).
fn header_warnings(
    kind: Kind,
    source: &str,
    map: &crate::import::header::HeaderMap,
) -> Vec<RowIssue> {
    let has = |k: &str| map.column_of(&LIST_SCHEMA, k).is_some();
    let mut out = Vec::new();
    let mut warn = |code: &str, message: String| {
        out.push(RowIssue {
            row: map.header_row,
            column: String::new(),
            code: code.into(),
            message,
        })
    };
    if has("head_id_number") && !has("id_number") && !has("student_no") {
        warn(
            "no_member_id",
            "表中只有户主身份证号列，没有成员本人的身份证号列：户主的号码不会当作儿童的号码，儿童按姓名+出生日期比对".into(),
        );
    }
    match kind {
        Kind::Poverty if !has("household_type") => warn(
            "no_household_type",
            "表中没有户类型/监测类型列：名单上的儿童均按脱贫户计入重点群体".into(),
        ),
        Kind::Welfare
            if !has("welfare_type") && super::schema::welfare_groups(source).is_empty() =>
        {
            warn(
                "no_welfare_type",
                "表中没有救助类别列，来源名称也未写明（低保、特困、孤儿、事实无人抚养）：名单上的儿童未计入重点群体".into(),
            )
        }
        Kind::Aid if !has("aid_item") => warn(
            "no_aid_item",
            "表中没有资助项目列：应享尽享比对按“在任一资助名单上”判断".into(),
        ),
        _ => {}
    }
    out
}

//! Importing a school's attendance sheet (考勤表) from .xlsx/.xls/.ods/.csv (GBK too), through the
//! import module's shared reading, header finding, cell parsing and report (nothing copied).
//!
//! Two layouts are understood:
//! - long: one row per pupil and day — 日期 / 姓名 / 身份证号 or 学籍号 / 班级 / 出勤情况
//!   (出勤, 缺勤, 旷课, 请假, 病假, 事假, √, × …);
//! - wide: one row per pupil, one column per day of a month (1 … 31, `1日`, `1号`) holding
//!   √ / × / 假 marks; the month comes from `--month`, else from a title row above the header
//!   (`2026年10月考勤表`) or the sheet's name.
//!
//! Pupils are found on the school's current roll by 学籍号 (a G-form one carries the ID), ID
//! number, or name (narrowed by the 班级 column when two pupils share it). A row that cannot be
//! placed is refused with its Excel row number and the reason in Chinese; the other rows are
//! written in one transaction. A mark already stored with the same status is left alone, so
//! importing the same file again changes nothing.

use super::{parse_status, roll, write_mark, Calendar, MarkChange, Pupil};
use crate::error::{Error, Result};
use crate::households::clean_name;
use crate::idnum;
use crate::import::header::{Field, HeaderMap, Schema};
use crate::import::report::{Report, RowIssue};
use crate::import::scan::{self, DataRow};
use crate::import::source::{read_rows, Cell, Flow};
use crate::import::value;
use crate::import::RefusedRow;
use crate::register::{Actor, Register};
use crate::settings::Settings;
use crate::store;
use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

macro_rules! day_field {
    ($n:literal) => {
        Field {
            key: concat!("d", $n),
            label: concat!($n),
            synonyms: &[concat!($n, "日"), concat!($n, "号"), concat!("0", $n)],
        }
    };
}

const FIELDS: &[Field] = &[
    Field {
        key: "date",
        label: "日期",
        synonyms: &["考勤日期", "缺勤日期", "出勤日期", "请假日期", "缺课日期"],
    },
    Field {
        key: "name",
        label: "姓名",
        synonyms: &["学生姓名", "学生"],
    },
    Field {
        key: "id_number",
        label: "身份证号",
        synonyms: &[
            "身份证号码",
            "身份证件号码",
            "身份证件号",
            "公民身份号码",
            "证件号码",
            "学生身份证号",
        ],
    },
    Field {
        key: "student_no",
        label: "学籍号",
        synonyms: &["全国学籍号", "学籍编号", "学生学籍号", "全国学籍号码"],
    },
    Field {
        key: "grade",
        label: "年级",
        synonyms: &[],
    },
    Field {
        key: "class",
        label: "班级",
        synonyms: &["班别", "班", "所在班级"],
    },
    Field {
        key: "status",
        label: "出勤情况",
        synonyms: &[
            "考勤情况",
            "出勤",
            "考勤",
            "出勤状态",
            "考勤状态",
            "状态",
            "考勤结果",
            "到校情况",
            "缺勤类型",
        ],
    },
    Field {
        key: "note",
        label: "备注",
        synonyms: &["缺勤原因", "请假原因", "原因", "说明"],
    },
    day_field!(1),
    day_field!(2),
    day_field!(3),
    day_field!(4),
    day_field!(5),
    day_field!(6),
    day_field!(7),
    day_field!(8),
    day_field!(9),
    day_field!(10),
    day_field!(11),
    day_field!(12),
    day_field!(13),
    day_field!(14),
    day_field!(15),
    day_field!(16),
    day_field!(17),
    day_field!(18),
    day_field!(19),
    day_field!(20),
    day_field!(21),
    day_field!(22),
    day_field!(23),
    day_field!(24),
    day_field!(25),
    day_field!(26),
    day_field!(27),
    day_field!(28),
    day_field!(29),
    day_field!(30),
    day_field!(31),
];

/// The attendance sheet's columns (both layouts).
pub const SCHEMA: Schema = Schema {
    fields: FIELDS,
    ignored: &[
        "序号",
        "编号",
        "性别",
        "出勤天数",
        "缺勤天数",
        "请假天数",
        "应出勤天数",
        "实出勤天数",
        "应到天数",
        "实到天数",
        "合计",
        "小计",
        "星期",
        "班主任",
    ],
    required: &[
        &["name", "id_number", "student_no"],
        &[
            "status", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12",
            "d13", "d14", "d15", "d16", "d17", "d18", "d19", "d20", "d21", "d22", "d23", "d24",
            "d25", "d26", "d27", "d28", "d29", "d30", "d31",
        ],
    ],
};

const DAY_KEYS: [&str; 31] = [
    "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15",
    "d16", "d17", "d18", "d19", "d20", "d21", "d22", "d23", "d24", "d25", "d26", "d27", "d28",
    "d29", "d30", "d31",
];

/// One attendance import's settings.
#[derive(Debug, Clone, Default)]
pub struct AttendanceImport {
    pub school_code: String,
    pub sheet: Option<String>,
    /// `YYYY-MM` for a wide sheet (one column per day), when the title does not say it.
    pub month: Option<String>,
    pub dry_run: bool,
}

/// The import report of the import module, plus what an attendance import adds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AttendanceReport {
    #[serde(flatten)]
    pub report: Report,
    /// `long` (one row per pupil and day) or `wide` (one column per day of a month).
    pub layout: String,
    /// The month of a wide sheet (`YYYY-MM`).
    pub month: Option<String>,
    /// Marks read (one per pupil and day).
    pub marks: u64,
    pub present: u64,
    pub absent: u64,
    pub leave: u64,
    /// First and last day with a mark.
    pub first_day: Option<String>,
    pub last_day: Option<String>,
}

/// What an attendance import returns: the report and what the errors-out file needs.
#[derive(Debug, Clone, Default)]
pub struct AttendanceOutcome {
    pub report: AttendanceReport,
    pub header_labels: Vec<String>,
    pub refused_rows: Vec<RefusedRow>,
}

/// Who a row names.
#[derive(Debug, Clone, Default)]
struct Who {
    name: Option<String>,
    id_key: Option<String>,
    student_no: Option<String>,
    class: Option<String>,
    grade: Option<i64>,
}

/// One data row, read before any pupil is looked up.
#[derive(Debug, Clone)]
struct RawRow {
    row: u32,
    cells: Vec<String>,
    who: Who,
    /// (date or day of month, status), for each mark of the row.
    marks: Vec<(Day, &'static str)>,
    note: Option<String>,
    /// A problem found while reading the row: the row is refused.
    problem: Option<(String, &'static str, String)>,
    /// Cells of a wide row that were not understood (refuse the row).
    is_weekday_row: bool,
}

#[derive(Debug, Clone, Copy)]
enum Day {
    Date(NaiveDate),
    OfMonth(u32),
}

/// A mark as a status: the long sheet's words and the wide sheet's symbols.
pub fn parse_mark(raw: &str) -> Option<&'static str> {
    let s = raw.trim();
    if let Some(st) = parse_status(s) {
        return Some(st);
    }
    match s {
        "√" | "✓" | "✔" | "到" | "正常" | "出席" | "在" | "迟到" | "早退" | "○" | "〇" | "1" => {
            Some("present")
        }
        "×" | "✗" | "✘" | "X" | "x" | "旷" | "缺" | "未到" | "旷课" | "缺席" | "0" => {
            Some("absent")
        }
        "假" | "病" | "事" | "△" | "请假" | "病假" | "事假" | "公假" | "丧假" => {
            Some("leave")
        }
        _ => None,
    }
}

fn is_weekday_word(s: &str) -> bool {
    matches!(
        s.trim(),
        "一" | "二"
            | "三"
            | "四"
            | "五"
            | "六"
            | "日"
            | "天"
            | "周一"
            | "周二"
            | "周三"
            | "周四"
            | "周五"
            | "周六"
            | "周日"
            | "星期一"
            | "星期二"
            | "星期三"
            | "星期四"
            | "星期五"
            | "星期六"
            | "星期日"
    )
}

fn read_row(r: &DataRow<'_, '_>, wide: bool) -> RawRow {
    let mut out = RawRow {
        row: r.row,
        cells: r.texts(),
        who: Who::default(),
        marks: Vec::new(),
        note: value::text(r.get("note")),
        problem: None,
        is_weekday_row: false,
    };
    let mut refuse = |key: &str, code: &'static str, msg: String| {
        if out.problem.is_none() {
            out.problem = Some((r.column_name(key), code, msg));
        }
    };
    out.who.name = value::name(r.get("name"));
    match value::id_text(r.get("id_number")) {
        Ok(Some(raw)) => match idnum::IdNumber::parse(&raw) {
            Ok(id) => out.who.id_key = Some(id.as_str().to_string()),
            Err(e) => refuse("id_number", e.code(), e.to_string()),
        },
        Ok(None) => {}
        Err(p) => refuse("id_number", p.code, p.message),
    }
    out.who.student_no = value::text(r.get("student_no")).map(|s| idnum::normalize(&s));
    out.who.class = value::text(r.get("class")).map(|s| idnum::normalize(&s));
    match value::grade(r.get("grade")) {
        Ok(g) => out.who.grade = g,
        Err(p) => refuse("grade", p.code, p.message),
    }
    if wide {
        let mut weekday_cells = 0;
        let mut other_cells = 0;
        for (i, key) in DAY_KEYS.iter().enumerate() {
            let Some(t) = value::text(r.get(key)) else {
                continue;
            };
            if is_weekday_word(&t) {
                weekday_cells += 1;
                continue;
            }
            other_cells += 1;
            match parse_mark(&t) {
                Some(st) => out.marks.push((Day::OfMonth(i as u32 + 1), st)),
                None => refuse(
                    key,
                    "mark",
                    format!(
                        "{}日的考勤标记“{t}”无法识别，请填 √（出勤）、×（缺勤）或 假（请假）",
                        i + 1
                    ),
                ),
            }
        }
        out.is_weekday_row = weekday_cells > 0
            && other_cells == 0
            && out.who.name.is_none()
            && out.who.id_key.is_none()
            && out.who.student_no.is_none();
    } else {
        let date = match value::date(r.get("date")) {
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                refuse("date", "date_missing", "缺少日期，请填写考勤日期".into());
                None
            }
            Err(p) => {
                refuse("date", p.code, p.message);
                None
            }
        };
        let status = match value::text(r.get("status")) {
            None => {
                refuse(
                    "status",
                    "status_missing",
                    "缺少出勤情况，请填 出勤、缺勤、请假（或 病假、事假）".into(),
                );
                None
            }
            Some(t) => {
                let st = parse_mark(&t);
                if st.is_none() {
                    refuse(
                        "status",
                        "status",
                        format!(
                            "出勤情况“{t}”无法识别，请填 出勤、缺勤、请假、病假、事假（或 √、×）"
                        ),
                    );
                }
                st
            }
        };
        if let (Some(d), Some(st)) = (date, status) {
            out.marks.push((Day::Date(d), st));
        }
    }
    if out.problem.is_none()
        && !out.is_weekday_row
        && out.who.name.is_none()
        && out.who.id_key.is_none()
        && out.who.student_no.is_none()
    {
        out.problem = Some((
            r.column_name("name"),
            "who_missing",
            "缺少学生姓名、身份证号和学籍号，无法确定是哪名学生".into(),
        ));
    }
    out
}

/// The class text of a pupil as sheets write it (`2班`, `三年级2班`).
fn class_matches(p: &Pupil, class: &str, grade: Option<i64>) -> bool {
    if grade.is_some() && p.grade != grade {
        return false;
    }
    let Some(pc) = p.class_name.as_deref().map(idnum::normalize) else {
        return false;
    };
    if class == pc || class.ends_with(&pc) {
        if let Some(prefix) = class.strip_suffix(pc.as_str()) {
            if let Some(g) = value::parse_grade(prefix) {
                return p.grade == Some(g);
            }
        }
        return true;
    }
    false
}

/// Finds the pupil a row names on the school's roll.
fn find<'a>(roll: &'a [Pupil], who: &Who) -> std::result::Result<&'a Pupil, (String, String)> {
    let sno_key = who
        .student_no
        .as_deref()
        .and_then(|s| idnum::link_key(None, Some(s)));
    if let Some(sno) = &who.student_no {
        if let Some(p) = roll
            .iter()
            .find(|p| p.student_no.as_deref().map(idnum::normalize).as_deref() == Some(sno))
        {
            return Ok(p);
        }
    }
    for key in [&who.id_key, &sno_key].into_iter().flatten() {
        if let Some(p) = roll.iter().find(|p| p.id_key.as_deref() == Some(key)) {
            return Ok(p);
        }
    }
    let id_given = who.id_key.is_some() || who.student_no.is_some();
    let Some(name) = &who.name else {
        return Err((
            "not_on_roll".into(),
            "本校在读学生中没有这个身份证号/学籍号，请核对".into(),
        ));
    };
    let mut hits: Vec<&Pupil> = roll
        .iter()
        .filter(|p| &clean_name(&p.name) == name)
        .collect();
    if hits.len() > 1 {
        if let Some(class) = &who.class {
            hits.retain(|p| class_matches(p, class, who.grade));
        } else if who.grade.is_some() {
            hits.retain(|p| p.grade == who.grade);
        }
    }
    match hits.len() {
        1 if !id_given || hits[0].id_key.is_none() => Ok(hits[0]),
        1 => Err((
            "id_mismatch".into(),
            format!("本校在读学生“{name}”的身份证号/学籍号与本行不同，请核对是否同一人"),
        )),
        0 => Err((
            "not_on_roll".into(),
            format!("本校在读学生中没有“{name}”，请核对姓名，或先导入学籍花名册"),
        )),
        n => Err((
            "ambiguous_name".into(),
            format!("本校有{n}名在读学生叫“{name}”，请填写学籍号或身份证号（或班级）以区分"),
        )),
    }
}

/// `2026年10月`, `2026-10`, `2026.10` or `10月` (year from `today`) in a text.
pub fn month_in(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    let t = idnum::normalize(text);
    let chars: Vec<char> = t.chars().collect();
    let num_at = |mut i: usize, max: usize| -> Option<(u32, usize)> {
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() && i - start < max {
            i += 1;
        }
        if i == start {
            return None;
        }
        let s: String = chars[start..i].iter().collect();
        s.parse().ok().map(|n| (n, i))
    };
    for i in 0..chars.len() {
        if i > 0 && chars[i - 1].is_ascii_digit() {
            continue;
        }
        let Some((a, j)) = num_at(i, 4) else { continue };
        if j - i == 4 && j < chars.len() && matches!(chars[j], '年' | '-' | '.' | '/') {
            if let Some((m, k)) = num_at(j + 1, 2) {
                let ends_ok = k >= chars.len() || !chars[k].is_ascii_digit();
                if ends_ok && (1..=12).contains(&m) {
                    return NaiveDate::from_ymd_opt(a as i32, m, 1);
                }
            }
        }
        if j - i <= 2 && j < chars.len() && chars[j] == '月' && (1..=12).contains(&a) {
            let y = if a <= today.month() {
                today.year()
            } else {
                today.year() - 1
            };
            return NaiveDate::from_ymd_opt(y, a, 1);
        }
    }
    None
}

/// Texts of the rows above the header (title rows), for the month of a wide sheet.
fn title_texts(path: &Path, sheet: Option<&str>, header_row: u32) -> Result<Vec<String>> {
    let mut out = Vec::new();
    read_rows(path, sheet, &mut |_| {}, &mut |row, cells| {
        if row >= header_row {
            return Ok(Flow::Stop);
        }
        out.extend(cells.iter().map(Cell::display).filter(|s| !s.is_empty()));
        Ok(Flow::Continue)
    })?;
    Ok(out)
}

fn issue(row: u32, column: String, code: &str, message: String) -> RowIssue {
    RowIssue {
        row,
        column,
        code: code.into(),
        message,
    }
}

/// Imports an attendance sheet for one school. Refused rows are in the report; an unreadable
/// file, a missing header, an unknown school or a wide sheet whose month is unknown is an
/// error, with nothing written.
pub fn import_attendance(
    reg: &mut Register,
    path: &Path,
    opts: &AttendanceImport,
    actor: &Actor,
) -> Result<AttendanceOutcome> {
    let school = opts.school_code.trim().to_string();
    if store::schools::get_by_code(reg.conn(), &school)?.is_none() {
        return Err(Error::NotFound {
            what: "学校".into(),
            key: school,
        });
    }
    let today = actor.now.date_naive();
    let month_opt = match &opts.month {
        Some(m) => Some(
            month_in(m, today)
                .ok_or_else(|| Error::invalid("月份", format!("“{m}”应写成 2026-10 这样的年月")))?,
        ),
        None => None,
    };
    let mut header: Option<HeaderMap> = None;
    let mut sheet_name = String::new();
    let mut rows: Vec<RawRow> = Vec::new();
    let wide_cell = std::cell::Cell::new(false);
    let stats = scan::scan(
        path,
        opts.sheet.as_deref(),
        &SCHEMA,
        &mut |info, map| {
            sheet_name = info.name.clone();
            wide_cell.set(map.column_of(&SCHEMA, "status").is_none());
            header = Some(map.clone());
            Ok(())
        },
        &mut |r| {
            rows.push(read_row(r, wide_cell.get()));
            Ok(Flow::Continue)
        },
    )?;
    let wide = wide_cell.get();
    let Some(map) = header else {
        return Err(Error::Other("考勤表没有可识别的表头".into()));
    };
    if !wide && map.column_of(&SCHEMA, "date").is_none() {
        return Err(Error::invalid(
            "表头",
            "考勤表有“出勤情况”列但没有“日期”列：请加上日期列（每行一名学生一天），或改用每天一列（1…31）的月考勤表",
        ));
    }
    let month = if wide {
        let found = match month_opt {
            Some(m) => Some(m),
            None => {
                let mut texts = title_texts(path, opts.sheet.as_deref(), map.header_row)?;
                texts.push(sheet_name.clone());
                texts.iter().find_map(|t| month_in(t, today))
            }
        };
        Some(found.ok_or_else(|| {
            Error::invalid(
                "月份",
                "这是每天一列的月考勤表，但不知道是哪年哪月：请在命令中加 --month 2026-10，或在表头上方的标题写明“2026年10月”",
            )
        })?)
    } else {
        None
    };

    let settings = Settings::load(reg.conn())?;
    let cal = Calendar::from_settings(&settings);
    let pupils = roll(reg.conn(), &school)?;
    if pupils.is_empty() {
        return Err(Error::invalid(
            "学校",
            format!("学校{school}没有在读学生，请先导入该校的学籍花名册"),
        ));
    }
    let mut out = AttendanceOutcome {
        header_labels: map.labels.clone(),
        ..Default::default()
    };
    let ar = &mut out.report;
    ar.layout = if wide { "wide" } else { "long" }.into();
    ar.month = month.map(|m| m.format("%Y-%m").to_string());
    let rep = &mut ar.report;
    rep.sheet = sheet_name;
    rep.header_row = map.header_row;
    rep.mapping = map.mapping(&SCHEMA);
    rep.unknown_columns = map.unknown.clone();
    rep.school = Some(school.clone());
    rep.dry_run = opts.dry_run;
    rep.rows_read = stats.data_rows;
    rep.skipped_rows = stats.skipped_rows;

    // (pupil, date) → (row, status) of the marks kept so far.
    let mut kept: HashMap<(String, NaiveDate), (u32, &'static str)> = HashMap::new();
    let mut to_write: Vec<(String, NaiveDate, &'static str, Option<String>)> = Vec::new();
    let latest = today + Duration::days(1);
    for raw in rows {
        if raw.is_weekday_row {
            rep.skipped_rows += 1;
            rep.rows_read = rep.rows_read.saturating_sub(1);
            continue;
        }
        let mut refuse = |column: String, code: &str, message: String, raw: &RawRow| {
            out.refused_rows.push(RefusedRow {
                row: raw.row,
                cells: raw.cells.clone(),
                reason: message.clone(),
            });
            rep.refused.push(issue(raw.row, column, code, message));
        };
        if let Some((col, code, msg)) = &raw.problem {
            refuse(col.clone(), code, msg.clone(), &raw);
            continue;
        }
        let p = match find(&pupils, &raw.who) {
            Ok(p) => p,
            Err((code, msg)) => {
                refuse(String::new(), &code, msg, &raw);
                continue;
            }
        };
        // Resolve the row's days; a long row's one day must be a school day, not in the future.
        let mut row_marks = Vec::new();
        let mut bad = None;
        for (day, st) in &raw.marks {
            let date = match (day, month) {
                (Day::Date(d), _) => *d,
                (Day::OfMonth(n), Some(m)) => {
                    match NaiveDate::from_ymd_opt(m.year(), m.month(), *n) {
                        Some(d) => d,
                        None => {
                            rep.warnings.push(issue(
                                raw.row,
                                n.to_string(),
                                "no_such_day",
                                format!("{}没有{n}日，该格已忽略", m.format("%Y年%m月")),
                            ));
                            continue;
                        }
                    }
                }
                (Day::OfMonth(_), None) => continue,
            };
            if date > latest {
                bad = Some(format!("{date} 还没到，不能预先登记考勤"));
                break;
            }
            if !cal.is_school_day(date) {
                if matches!(day, Day::Date(_)) {
                    bad = Some(format!(
                        "{date} 不是上课日（周末或节假日，见设置 weekend_days / holidays），本行未导入"
                    ));
                    break;
                }
                rep.warnings.push(issue(
                    raw.row,
                    date.day().to_string(),
                    "not_school_day",
                    format!("{date} 不是上课日（周末或节假日），该格的标记已忽略"),
                ));
                continue;
            }
            row_marks.push((date, *st));
        }
        if let Some(msg) = bad {
            refuse(String::new(), "date", msg, &raw);
            continue;
        }
        // The same pupil and day twice in the file.
        let mut clash = None;
        for (date, st) in &row_marks {
            if let Some((first, old)) = kept.get(&(p.child_id.clone(), *date)) {
                if old != st {
                    clash = Some(format!(
                        "{}在 {date} 的出勤情况与第{first}行不同（{} / {}），请核对后只留一行",
                        p.name,
                        super::status_name(old),
                        super::status_name(st)
                    ));
                    break;
                }
            }
        }
        if let Some(msg) = clash {
            refuse(String::new(), "duplicate_conflict", msg, &raw);
            continue;
        }
        for (date, st) in row_marks {
            let k = (p.child_id.clone(), date);
            if let Some((first, _)) = kept.get(&k) {
                rep.warnings.push(issue(
                    raw.row,
                    String::new(),
                    "duplicate",
                    format!("{}在 {date} 的考勤与第{first}行重复，已跳过", p.name),
                ));
                continue;
            }
            kept.insert(k, (raw.row, st));
            to_write.push((p.child_id.clone(), date, st, raw.note.clone()));
        }
    }

    let mut w = reg.writer(actor)?;
    for (child, date, st, note) in &to_write {
        ar.marks += 1;
        match *st {
            "present" => ar.present += 1,
            "absent" => ar.absent += 1,
            _ => ar.leave += 1,
        }
        let d = date.to_string();
        if ar.first_day.as_ref().is_none_or(|f| &d < f) {
            ar.first_day = Some(d.clone());
        }
        if ar.last_day.as_ref().is_none_or(|l| &d > l) {
            ar.last_day = Some(d.clone());
        }
        match write_mark(&mut w, child, &school, &d, st, note.as_deref())? {
            MarkChange::Inserted => ar.report.inserted += 1,
            MarkChange::Updated => ar.report.updated += 1,
            MarkChange::Unchanged => ar.report.unchanged += 1,
        }
    }
    if !opts.dry_run {
        w.commit()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_in_titles() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let m = |y, mo| NaiveDate::from_ymd_opt(y, mo, 1);
        assert_eq!(month_in("城关小学2026年10月学生考勤表", today), m(2026, 10));
        assert_eq!(month_in("2026-09", today), m(2026, 9));
        assert_eq!(month_in("考勤 2026.9", today), m(2026, 9));
        assert_eq!(month_in("12月考勤", today), m(2025, 12));
        assert_eq!(month_in("三年级2班", today), None);
        assert_eq!(month_in("20261", today), None);
    }

    #[test]
    fn marks_in_every_form() {
        for (s, st) in [
            ("出勤", "present"),
            ("√", "present"),
            ("缺勤", "absent"),
            ("×", "absent"),
            ("旷课", "absent"),
            ("请假", "leave"),
            ("病假", "leave"),
            ("事假", "leave"),
            ("假", "leave"),
        ] {
            assert_eq!(parse_mark(s), Some(st), "{s}");
        }
        assert_eq!(parse_mark("也许"), None);
    }
}

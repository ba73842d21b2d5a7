//! Attendance (考勤): daily entry for a class, the school-day calendar (weekends, holidays and
//! 调休 make-up days from the county settings), the early-warning list (连续缺课 → 疑似辍学 / 辍学) and the monthly
//! check of pupils on the roll against pupils present. [`import`]: attendance sheets from Excel.

pub mod import;

use crate::error::{Error, Result};
use crate::households::{clean_name, parse_date};
use crate::idnum;
use crate::register::{Actor, Register};
use crate::settings::Settings;
use crate::store;
use crate::store::attendance::Mark;
use chrono::{Datelike, Duration, NaiveDate};
use rusqlite::{params, Connection};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Which days are school days.
#[derive(Debug, Clone)]
pub struct Calendar {
    weekend: HashSet<u32>,
    holidays: HashSet<NaiveDate>,
    /// 调休: weekend days that are school days.
    extra: HashSet<NaiveDate>,
}

impl Calendar {
    pub fn from_settings(s: &Settings) -> Calendar {
        Calendar {
            weekend: s.weekend_days.iter().copied().collect(),
            holidays: s.holidays.iter().filter_map(|d| parse_date(d)).collect(),
            extra: s
                .extra_school_days
                .iter()
                .filter_map(|d| parse_date(d))
                .collect(),
        }
    }

    pub fn is_school_day(&self, d: NaiveDate) -> bool {
        self.extra.contains(&d)
            || (!self.weekend.contains(&d.weekday().number_from_monday())
                && !self.holidays.contains(&d))
    }

    /// The school day before `d` (within a year; None if there is none).
    pub fn prev_school_day(&self, d: NaiveDate) -> Option<NaiveDate> {
        let mut x = d;
        for _ in 0..366 {
            x = x.pred_opt()?;
            if self.is_school_day(x) {
                return Some(x);
            }
        }
        None
    }

    /// The last school day on or before `d`.
    pub fn school_day_on_or_before(&self, d: NaiveDate) -> Option<NaiveDate> {
        if self.is_school_day(d) {
            Some(d)
        } else {
            self.prev_school_day(d)
        }
    }

    /// School days from `from` to `to` inclusive.
    pub fn school_days(&self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        from.iter_days()
            .take_while(|d| *d <= to)
            .filter(|d| self.is_school_day(*d))
            .collect()
    }
}

/// Status of a mark, from a code or a Chinese word.
pub fn parse_status(s: &str) -> Option<&'static str> {
    match s.trim() {
        "present" | "出勤" | "到" | "在校" | "√" => Some("present"),
        "absent" | "缺勤" | "旷课" | "缺课" | "×" => Some("absent"),
        "leave" | "请假" | "病假" | "事假" => Some("leave"),
        _ => None,
    }
}

/// The Chinese word of a status.
pub fn status_name(s: &str) -> &'static str {
    match s {
        "present" => "出勤",
        "absent" => "缺勤（未请假）",
        "leave" => "请假",
        _ => "未知",
    }
}

/// One day's entry for a class: the pupils absent and on leave; everyone else on the class
/// roll is present.
#[derive(Debug, Clone, Default)]
pub struct ClassDay {
    pub school_code: String,
    pub grade: Option<i64>,
    pub class_name: Option<String>,
    pub date: String,
    /// Pupils absent without leave: record id, 学籍号, ID number or name.
    pub absent: Vec<String>,
    /// Pupils on leave.
    pub leave: Vec<String>,
}

/// What a day's entry wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DayReport {
    pub school_code: String,
    pub date: String,
    pub pupils: usize,
    pub present: usize,
    pub absent: usize,
    pub leave: usize,
    pub changed: usize,
}

struct Pupil {
    child_id: String,
    name: String,
    id_key: Option<String>,
    student_no: Option<String>,
    grade: Option<i64>,
    class_name: Option<String>,
}

fn roll(conn: &Connection, school: &str) -> Result<Vec<Pupil>> {
    let mut st = conn.prepare(
        "SELECT e.child_id, c.name, c.id_key, COALESCE(e.student_no, c.student_no), e.grade, e.class_name
         FROM enrolments e JOIN children c ON c.id = e.child_id
         WHERE e.deleted = 0 AND c.deleted = 0 AND e.school_code = ?1 AND e.status = 'studying'
         ORDER BY e.grade, e.class_name, c.name, e.child_id",
    )?;
    let rows = st.query_map([school], |r| {
        Ok(Pupil {
            child_id: r.get(0)?,
            name: r.get(1)?,
            id_key: r.get(2)?,
            student_no: r.get(3)?,
            grade: r.get(4)?,
            class_name: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn find_pupil<'a>(class: &'a [Pupil], who: &str) -> Result<&'a Pupil> {
    let norm = idnum::normalize(who);
    let key = idnum::link_key(Some(&norm), Some(&norm));
    let name = clean_name(who);
    let hits: Vec<&Pupil> = class
        .iter()
        .filter(|p| {
            p.child_id == who.trim()
                || p.student_no.as_deref() == Some(norm.as_str())
                || (key.is_some() && p.id_key == key)
                || p.name == name
        })
        .collect();
    match hits.len() {
        1 => Ok(hits[0]),
        0 => Err(Error::invalid(
            "学生",
            format!(
                "本班在读学生中没有“{}”，请核对姓名或学籍号",
                idnum::mask_id(who)
            ),
        )),
        _ => Err(Error::invalid(
            "学生",
            format!("本班有{}名学生叫“{name}”，请改用学籍号", hits.len()),
        )),
    }
}

/// Records one school day for a class (or the whole school when no grade/class is given), in one
/// transaction. A mark already recorded for a pupil that day is replaced (its history stays in
/// the version chain and the audit log).
pub fn record_day(reg: &mut Register, day: &ClassDay, actor: &Actor) -> Result<DayReport> {
    let date = parse_date(&day.date).ok_or_else(|| {
        Error::invalid(
            "日期",
            format!("“{}”不是有效日期，请写成 2026-10-12", day.date),
        )
    })?;
    let settings = Settings::load(reg.conn())?;
    let cal = Calendar::from_settings(&settings);
    if !cal.is_school_day(date) {
        return Err(Error::invalid(
            "日期",
            format!(
                "{date} 不是上课日（周末或节假日，见设置 weekend_days / holidays），不能登记考勤"
            ),
        ));
    }
    if date > actor.now.date_naive() + Duration::days(1) {
        return Err(Error::invalid(
            "日期",
            format!("{date} 还没到，不能预先登记考勤"),
        ));
    }
    let school = day.school_code.trim();
    if store::schools::get_by_code(reg.conn(), school)?.is_none() {
        return Err(Error::NotFound {
            what: "学校".into(),
            key: school.into(),
        });
    }
    let class: Vec<Pupil> = roll(reg.conn(), school)?
        .into_iter()
        .filter(|p| day.grade.is_none() || p.grade == day.grade)
        .filter(|p| {
            day.class_name.is_none() || p.class_name.as_deref() == day.class_name.as_deref()
        })
        .collect();
    if class.is_empty() {
        return Err(Error::invalid(
            "班级",
            "该校（班）没有在读学生，请先导入学籍花名册或核对年级、班级",
        ));
    }
    let mut status: HashMap<&str, &'static str> = HashMap::new();
    for (list, st) in [(&day.absent, "absent"), (&day.leave, "leave")] {
        for who in list {
            let p = find_pupil(&class, who)?;
            if status.insert(p.child_id.as_str(), st).is_some() {
                return Err(Error::invalid(
                    "学生",
                    format!("“{}”被重复登记（缺勤和请假只能选一个）", p.name),
                ));
            }
        }
    }
    let date_text = date.to_string();
    let mut report = DayReport {
        school_code: school.to_string(),
        date: date_text.clone(),
        pupils: class.len(),
        present: 0,
        absent: 0,
        leave: 0,
        changed: 0,
    };
    let mut w = reg.writer(actor)?;
    for p in &class {
        let st = status
            .get(p.child_id.as_str())
            .copied()
            .unwrap_or("present");
        match st {
            "absent" => report.absent += 1,
            "leave" => report.leave += 1,
            _ => report.present += 1,
        }
        if write_mark(&mut w, &p.child_id, school, &date_text, st, None)? != MarkChange::Unchanged {
            report.changed += 1;
        }
    }
    w.commit()?;
    Ok(report)
}

/// What writing one mark did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkChange {
    Inserted,
    Updated,
    Unchanged,
}

/// Writes one pupil's mark for one day inside the caller's transaction: a mark already stored
/// with the same status at the same school is left alone; another one gets a new version (its
/// history stays in the version chain and the audit log).
pub fn write_mark(
    w: &mut crate::register::Writer<'_>,
    child_id: &str,
    school: &str,
    date: &str,
    status: &str,
    note: Option<&str>,
) -> Result<MarkChange> {
    let old = store::attendance::get_for_day(w.conn(), child_id, date)?;
    if old
        .as_ref()
        .map(|o| (o.status.as_str(), o.school_code.as_str()))
        == Some((status, school))
    {
        return Ok(MarkChange::Unchanged);
    }
    let meta = match &old {
        Some(o) => w.next_meta(&o.meta),
        None => w.new_meta(),
    };
    let mark = Mark {
        meta,
        child_id: child_id.to_string(),
        school_code: school.to_string(),
        date: date.to_string(),
        status: status.to_string(),
        note: note.map(str::to_string),
    };
    store::attendance::put(w.conn(), &mark)?;
    w.audit(
        "attendance",
        &mark.meta.id,
        if old.is_some() { "update" } else { "insert" },
        &["status"],
    )?;
    Ok(if old.is_some() {
        MarkChange::Updated
    } else {
        MarkChange::Inserted
    })
}

/// One pupil who crossed a threshold.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Warning {
    pub child_id: String,
    pub id_key: Option<String>,
    pub name: String,
    pub school_code: String,
    pub township_code: Option<String>,
    pub grade: Option<i64>,
    pub class_name: Option<String>,
    /// First school day of the run of absences without leave.
    pub since: String,
    /// Last school day of the run.
    pub through: String,
    /// Consecutive school days absent without leave.
    pub days: u32,
    /// `suspected` (疑似辍学) or `dropout` (辍学).
    pub level: String,
    pub level_name: String,
}

/// Pupils studying at a school whose current run of absences without leave reached the 疑似辍学
/// threshold, as of a day. The run ends on the school's last day with entries on or before
/// `as_of`; a day without a mark, a present day or a leave day ends a run.
pub fn warnings(
    conn: &Connection,
    settings: &Settings,
    as_of: NaiveDate,
    school: Option<&str>,
) -> Result<Vec<Warning>> {
    let cal = Calendar::from_settings(settings);
    // Long enough for any run the thresholds care about (school days are at most 5 a week).
    let window = i64::from(
        settings
            .dropout_absence_days
            .max(settings.suspected_absence_days),
    ) * 3
        + 60;
    let from = (as_of - Duration::days(window)).to_string();
    let to = as_of.to_string();
    let mut st = conn.prepare(
        "SELECT a.child_id, a.school_code, a.date, a.status FROM attendance a
         WHERE a.deleted = 0 AND a.date >= ?1 AND a.date <= ?2 AND (?3 IS NULL OR a.school_code = ?3)
         ORDER BY a.version",
    )?;
    // (school, child) → date → status (the newest version wins).
    let mut marks: HashMap<(String, String), HashMap<NaiveDate, String>> = HashMap::new();
    let mut last_day: HashMap<String, NaiveDate> = HashMap::new();
    let rows = st.query_map(params![from, to, school], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (child, sch, date, status) = row?;
        let Some(d) = parse_date(&date) else { continue };
        let e = last_day.entry(sch.clone()).or_insert(d);
        if d > *e {
            *e = d;
        }
        marks.entry((sch, child)).or_default().insert(d, status);
    }
    let mut out = Vec::new();
    let mut pupils = conn.prepare(
        "SELECT e.child_id, c.id_key, c.name, e.grade, e.class_name, s.township_code
         FROM enrolments e JOIN children c ON c.id = e.child_id
         LEFT JOIN schools s ON s.code = e.school_code AND s.deleted = 0
         WHERE e.deleted = 0 AND e.status = 'studying' AND e.school_code = ?1 AND e.child_id = ?2",
    )?;
    for ((sch, child), days) in &marks {
        let Some(end) = last_day
            .get(sch)
            .and_then(|d| cal.school_day_on_or_before(*d))
        else {
            continue;
        };
        let mut n = 0u32;
        let mut since = end;
        let mut d = Some(end);
        while let Some(day) = d {
            if days.get(&day).map(String::as_str) != Some("absent") {
                break;
            }
            n += 1;
            since = day;
            d = cal.prev_school_day(day);
        }
        if n < settings.suspected_absence_days {
            continue;
        }
        let info = pupils
            .query_map(params![sch, child], |r| {
                Ok((
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?
            .next()
            .transpose()?;
        let Some((id_key, name, grade, class_name, township_code)) = info else {
            continue;
        };
        let dropout = n >= settings.dropout_absence_days;
        out.push(Warning {
            child_id: child.clone(),
            id_key,
            name,
            school_code: sch.clone(),
            township_code,
            grade,
            class_name,
            since: since.to_string(),
            through: end.to_string(),
            days: n,
            level: if dropout { "dropout" } else { "suspected" }.into(),
            level_name: if dropout { "辍学" } else { "疑似辍学" }.into(),
        });
    }
    out.sort_by(|a, b| {
        (
            &a.school_code,
            &a.grade,
            &a.class_name,
            &a.name,
            &a.child_id,
        )
            .cmp(&(
                &b.school_code,
                &b.grade,
                &b.class_name,
                &b.name,
                &b.child_id,
            ))
    });
    Ok(out)
}

/// The monthly check of one school: pupils on the roll against pupils present.
#[derive(Debug, Clone, Serialize)]
pub struct MonthlyCheck {
    pub school_code: String,
    pub school_name: String,
    pub month: String,
    pub school_days: usize,
    /// School days of the month with any mark at this school.
    pub days_recorded: usize,
    pub on_roll: usize,
    /// Pupils on the roll present at least one day of the month.
    pub present: usize,
    /// Pupils on the roll never present in the month (absent, on leave, or no mark at all).
    pub mismatches: Vec<MonthlyMismatch>,
}

/// A pupil on the roll who was not present in the month.
#[derive(Debug, Clone, Serialize)]
pub struct MonthlyMismatch {
    pub child_id: String,
    pub name: String,
    pub grade: Option<i64>,
    pub class_name: Option<String>,
    pub absent_days: usize,
    pub leave_days: usize,
    pub note: String,
}

/// Monthly check (`YYYY-MM`) for every school, or one.
pub fn monthly_check(
    conn: &Connection,
    settings: &Settings,
    month: &str,
    school: Option<&str>,
) -> Result<Vec<MonthlyCheck>> {
    let first = parse_date(&format!("{}-01", month.trim()))
        .ok_or_else(|| Error::invalid("月份", format!("“{month}”应写成 2026-10 这样的年月")))?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(|| Error::invalid("月份", "无效月份"))?;
    let last = next.pred_opt().unwrap_or(first);
    let cal = Calendar::from_settings(settings);
    let mut out = Vec::new();
    for s in store::schools::list(conn)? {
        if school.is_some_and(|c| c != s.code) {
            continue;
        }
        let marks = store::attendance::list_between(
            conn,
            Some(&s.code),
            &first.to_string(),
            &last.to_string(),
        )?;
        let mut per: HashMap<&str, (usize, usize, usize)> = HashMap::new();
        let mut days: HashSet<&str> = HashSet::new();
        for m in &marks {
            days.insert(m.date.as_str());
            let e = per.entry(m.child_id.as_str()).or_default();
            match m.status.as_str() {
                "present" => e.0 += 1,
                "absent" => e.1 += 1,
                _ => e.2 += 1,
            }
        }
        let pupils = roll(conn, &s.code)?;
        let mut check = MonthlyCheck {
            school_code: s.code.clone(),
            school_name: s.name.clone(),
            month: first.format("%Y-%m").to_string(),
            school_days: cal.school_days(first, last).len(),
            days_recorded: days.len(),
            on_roll: pupils.len(),
            present: 0,
            mismatches: vec![],
        };
        for p in &pupils {
            let (present, absent, leave) =
                per.get(p.child_id.as_str()).copied().unwrap_or_default();
            if present > 0 {
                check.present += 1;
                continue;
            }
            let note = if absent + leave == 0 {
                "在籍但本月无任何考勤记录（人籍不符，请核实是否在校）".to_string()
            } else if absent > 0 {
                format!("本月未到校：缺勤{absent}天，请假{leave}天")
            } else {
                format!("本月未到校：请假{leave}天")
            };
            check.mismatches.push(MonthlyMismatch {
                child_id: p.child_id.clone(),
                name: p.name.clone(),
                grade: p.grade,
                class_name: p.class_name.clone(),
                absent_days: absent,
                leave_days: leave,
                note,
            });
        }
        out.push(check);
    }
    Ok(out)
}

/// Counts of marks per status of one school and day, for display.
pub fn day_summary(conn: &Connection, school: &str, date: &str) -> Result<BTreeMap<String, usize>> {
    let mut out = BTreeMap::new();
    for m in store::attendance::list_between(conn, Some(school), date, date)? {
        *out.entry(m.status).or_insert(0) += 1;
    }
    Ok(out)
}

/// One pupil of a class on a day, for the entry sheet: the status recorded, else 出勤.
#[derive(Debug, Clone, Serialize)]
pub struct SheetRow {
    pub child_id: String,
    pub name: String,
    /// Masked when it carries the ID number (G-form).
    pub student_no: Option<String>,
    pub id_masked: Option<String>,
    pub grade: Option<i64>,
    pub class_name: Option<String>,
    /// `present`, `absent` or `leave`.
    pub status: String,
    /// Whether a mark for this day is already stored.
    pub recorded: bool,
}

/// The entry sheet of a class (or the whole school) on a day: every pupil studying there, with
/// the mark already recorded that day (else present).
pub fn class_sheet(
    conn: &Connection,
    school: &str,
    grade: Option<i64>,
    class_name: Option<&str>,
    date: &str,
) -> Result<Vec<SheetRow>> {
    let day = parse_date(date)
        .ok_or_else(|| Error::invalid("日期", format!("“{date}”不是有效日期，请写成 2026-10-12")))?
        .to_string();
    let marks: HashMap<String, String> =
        store::attendance::list_between(conn, Some(school.trim()), &day, &day)?
            .into_iter()
            .map(|m| (m.child_id, m.status))
            .collect();
    Ok(roll(conn, school.trim())?
        .into_iter()
        .filter(|p| grade.is_none() || p.grade == grade)
        .filter(|p| class_name.is_none() || p.class_name.as_deref() == class_name)
        .map(|p| {
            let status = marks.get(&p.child_id).cloned();
            SheetRow {
                recorded: status.is_some(),
                status: status.unwrap_or_else(|| "present".into()),
                id_masked: p.id_key.as_deref().map(idnum::mask_id),
                child_id: p.child_id,
                name: p.name,
                student_no: p.student_no.as_deref().map(idnum::mask_student_no),
                grade: p.grade,
                class_name: p.class_name,
            }
        })
        .collect())
}

/// One class of a school (grade and class name) with its pupils studying.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClassRef {
    pub grade: Option<i64>,
    pub class_name: Option<String>,
    pub pupils: usize,
}

/// The classes of a school, in grade and class order.
pub fn classes(conn: &Connection, school: &str) -> Result<Vec<ClassRef>> {
    let mut out: Vec<ClassRef> = Vec::new();
    for p in roll(conn, school.trim())? {
        match out.last_mut() {
            Some(c) if c.grade == p.grade && c.class_name == p.class_name => c.pupils += 1,
            _ => out.push(ClassRef {
                grade: p.grade,
                class_name: p.class_name,
                pupils: 1,
            }),
        }
    }
    Ok(out)
}

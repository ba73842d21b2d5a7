//! The statutory ledgers (台账) in the layouts county offices use, written with `export`:
//! 适龄儿童台账, 疑似辍学学生台账, 辍学学生台账 (with every persuasion attempt), 劝返复学/安置台账,
//! 残疾儿童安置台账. ID and phone columns are masked unless `full` is asked for; a full export is
//! recorded in the audit log.

use crate::codes::{self, codes};
use crate::error::{Error, Result};
use crate::export::{Column, Table};
use crate::idnum::{mask_id, mask_phone};
use crate::register::{Actor, Register};
use crate::stats::{age_on, school_year_of};
use crate::store::{self, population};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::Path;

/// Which ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    Children,
    Suspected,
    Dropouts,
    Returns,
    Disabled,
}

impl LedgerKind {
    /// Parses the English name or the Chinese ledger name.
    pub fn parse(s: &str) -> Option<LedgerKind> {
        match s.trim() {
            "children" | "适龄儿童台账" | "适龄儿童" => Some(LedgerKind::Children),
            "suspected" | "疑似辍学学生台账" | "疑似辍学" => {
                Some(LedgerKind::Suspected)
            }
            "dropouts" | "辍学学生台账" | "辍学学生" => Some(LedgerKind::Dropouts),
            "returns" | "劝返复学台账" | "安置台账" | "劝返复学/安置台账" | "劝返复学安置台账" => {
                Some(LedgerKind::Returns)
            }
            "disabled" | "残疾儿童安置台账" | "残疾儿童" => Some(LedgerKind::Disabled),
            _ => None,
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            LedgerKind::Children => "适龄儿童台账",
            LedgerKind::Suspected => "疑似辍学学生台账",
            LedgerKind::Dropouts => "辍学学生台账",
            LedgerKind::Returns => "劝返复学/安置台账",
            LedgerKind::Disabled => "残疾儿童安置台账",
        }
    }
}

/// Options of one ledger export.
#[derive(Debug, Clone)]
pub struct LedgerOptions {
    pub kind: LedgerKind,
    /// Division code prefix (township 9 digits, village 12) to restrict to.
    pub area: Option<String>,
    /// Write full ID and phone numbers (audited).
    pub full: bool,
    pub as_of: NaiveDate,
}

struct Masker {
    full: bool,
}

impl Masker {
    fn id(&self, s: &Option<String>) -> String {
        match s {
            Some(v) if self.full => v.clone(),
            Some(v) => mask_id(v),
            None => "无".into(),
        }
    }
    fn phone(&self, s: &Option<String>) -> String {
        match s {
            Some(v) if self.full => v.clone(),
            Some(v) => mask_phone(v),
            None => String::new(),
        }
    }
}

/// Builds the ledger as a table (for the screen, `.xlsx` or CSV).
pub fn build(reg: &Register, opts: &LedgerOptions) -> Result<Table> {
    let conn = reg.conn();
    let site = reg.require_site()?;
    let m = Masker { full: opts.full };
    let names = population::list_area_names(conn)?;
    let area_name = |code: &Option<String>, len: usize| -> String {
        code.as_deref()
            .filter(|c| c.len() >= len)
            .map(|c| {
                names
                    .get(&c[..len])
                    .cloned()
                    .unwrap_or_else(|| c[..len].to_string())
            })
            .unwrap_or_default()
    };
    let schools: HashMap<String, String> = store::schools::list(conn)?
        .into_iter()
        .map(|s| (s.code, s.name))
        .collect();
    let school_name = |code: &str| {
        schools
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    };
    let c = codes();
    let grade_name = |g: Option<i64>| {
        g.map(|g| codes::name_of(&c.grades, &g.to_string()))
            .unwrap_or_default()
    };
    let people: Vec<_> = population::list_people(conn)?
        .into_iter()
        .filter(|p| match &opts.area {
            Some(a) => p
                .village_code
                .as_deref()
                .map(|v| v.starts_with(a.as_str()))
                .unwrap_or(false),
            None => true,
        })
        .collect();
    let person_by_id: HashMap<&str, &population::PersonRow> =
        people.iter().map(|p| (p.child_id.as_str(), p)).collect();
    let mut enrol: HashMap<String, Vec<population::EnrolmentRow>> = HashMap::new();
    for e in population::list_enrolments(conn)? {
        enrol.entry(e.child_id.clone()).or_default().push(e);
    }
    let groups_text = |gs: &[String]| -> String {
        gs.iter()
            .map(|g| {
                codes::lookup(&c.priority_groups, g)
                    .or_else(|| codes::lookup(&c.child_flags, g))
                    .map(|x| x.name.clone())
                    .unwrap_or_else(|| g.clone())
            })
            .collect::<Vec<_>>()
            .join("、")
    };
    let year = school_year_of(opts.as_of);
    let settings = crate::settings::Settings::load(conn)?;
    let cutoff = settings.cutoff_in(year);
    let birth = |p: &population::PersonRow| {
        p.birth_date
            .as_deref()
            .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok())
    };

    let mut table = Table {
        title: format!(
            "{}{}",
            site.name.trim_end_matches("教育局"),
            opts.kind.title()
        ),
        subtitle: format!(
            "填报单位：{}　　统计日期：{}　　身份证号、电话{}",
            site.name,
            opts.as_of,
            if opts.full {
                "为完整号码"
            } else {
                "已脱敏"
            }
        ),
        ..Default::default()
    };
    match opts.kind {
        LedgerKind::Children => {
            table.columns = cols(&[
                ("序号", 6.0),
                ("乡镇", 10.0),
                ("村（社区）", 12.0),
                ("户主", 8.0),
                ("姓名", 8.0),
                ("性别", 5.0),
                ("出生日期", 11.0),
                ("身份证号", 20.0),
                ("就读学校", 18.0),
                ("年级", 7.0),
                ("学籍状态", 9.0),
                ("重点群体", 16.0),
                ("监护人电话", 13.0),
            ]);
            for p in &people {
                let Some(b) = birth(p) else { continue };
                let age = age_on(b, cutoff);
                if age < settings.entry_age as i32 || age > 15 || p.life_status == "deceased" {
                    continue;
                }
                let e = enrol.get(&p.child_id).and_then(|es| es.last());
                table.rows.push(vec![
                    String::new(),
                    area_name(&p.village_code, 9),
                    area_name(&p.village_code, 12),
                    p.head_name.clone().unwrap_or_default(),
                    p.name.clone(),
                    p.sex.clone().unwrap_or_default(),
                    b.to_string(),
                    m.id(&p.id_number),
                    e.map(|e| school_name(&e.school_code))
                        .unwrap_or_else(|| "未入学".into()),
                    grade_name(e.and_then(|e| e.grade)),
                    e.map(|e| codes::name_of(&c.enrolment_statuses, &e.status))
                        .unwrap_or_default(),
                    groups_text(&p.groups),
                    m.phone(&p.phone),
                ]);
            }
        }
        LedgerKind::Disabled => {
            table.columns = cols(&[
                ("序号", 6.0),
                ("乡镇", 10.0),
                ("村（社区）", 12.0),
                ("姓名", 8.0),
                ("性别", 5.0),
                ("出生日期", 11.0),
                ("身份证号", 20.0),
                ("残疾类别", 8.0),
                ("残疾等级", 8.0),
                ("安置方式", 14.0),
                ("就读/送教学校", 18.0),
                ("监护人电话", 13.0),
            ]);
            for p in people.iter().filter(|p| p.disability_type.is_some()) {
                let Some(b) = birth(p) else { continue };
                let age = age_on(b, cutoff);
                if age < settings.entry_age as i32 || age > 15 {
                    continue;
                }
                let e = enrol
                    .get(&p.child_id)
                    .and_then(|es| es.iter().rev().find(|e| e.status == "studying"));
                let placement = match e {
                    Some(e)
                        if schools.contains_key(&e.school_code)
                            && school_is_special(conn, &e.school_code)? =>
                    {
                        "特殊教育学校".to_string()
                    }
                    Some(e) if e.class_name.as_deref() == Some("送教上门") => "送教上门".into(),
                    Some(_) => "随班就读".into(),
                    None => "未安置".into(),
                };
                table.rows.push(vec![
                    String::new(),
                    area_name(&p.village_code, 9),
                    area_name(&p.village_code, 12),
                    p.name.clone(),
                    p.sex.clone().unwrap_or_default(),
                    b.to_string(),
                    m.id(&p.id_number),
                    p.disability_type
                        .as_deref()
                        .map(|t| codes::name_of(&c.disability_types, t))
                        .unwrap_or_default(),
                    p.disability_grade.clone().unwrap_or_default(),
                    placement,
                    e.map(|e| school_name(&e.school_code)).unwrap_or_default(),
                    m.phone(&p.phone),
                ]);
            }
        }
        LedgerKind::Suspected => {
            table.columns = cols(&[
                ("序号", 6.0),
                ("乡镇", 10.0),
                ("村（社区）", 12.0),
                ("姓名", 8.0),
                ("出生日期", 11.0),
                ("身份证号", 20.0),
                ("疑似情形", 12.0),
                ("列入原因", 40.0),
                ("数据来源", 16.0),
                ("重点群体", 16.0),
                ("涉及学校", 18.0),
                ("个案状态", 10.0),
            ]);
            let check = crate::crosscheck::run(conn, &settings, opts.as_of)?;
            for s in check.suspected {
                if let Some(a) = &opts.area {
                    if !s
                        .village
                        .as_deref()
                        .is_some_and(|v| v.starts_with(a.as_str()))
                    {
                        continue;
                    }
                }
                table.rows.push(vec![
                    String::new(),
                    area_name(&s.village, 9),
                    area_name(&s.village, 12),
                    s.name.clone(),
                    s.birth_date.clone(),
                    m.id(&s.id_number),
                    suspected_category(&s.category).to_string(),
                    s.reason.clone(),
                    s.sources
                        .iter()
                        .map(|k| source_name(k))
                        .collect::<Vec<_>>()
                        .join("、"),
                    s.priority_group_names.join("、"),
                    s.school_code
                        .as_deref()
                        .map(&school_name)
                        .unwrap_or_default(),
                    s.case_state
                        .as_deref()
                        .map(|st| codes::name_of(&c.case_states, st))
                        .unwrap_or_default(),
                ]);
            }
        }
        LedgerKind::Dropouts | LedgerKind::Returns => {
            let wanted: &[&str] = match opts.kind {
                LedgerKind::Dropouts => &[
                    "suspected",
                    "confirmed",
                    "persuading",
                    "deferred",
                    "suspended",
                ],
                _ => &["returned", "placed"],
            };
            table.columns = cols(&[
                ("序号", 6.0),
                ("乡镇", 10.0),
                ("村（社区）", 12.0),
                ("姓名", 8.0),
                ("性别", 5.0),
                ("出生日期", 11.0),
                ("身份证号", 20.0),
                ("原就读学校", 18.0),
                ("年级", 7.0),
                ("辍学原因", 10.0),
                ("个案状态", 9.0),
                ("重点群体", 14.0),
                ("包保责任人", 26.0),
                ("劝返记录", 60.0),
                ("安置/复学情况", 18.0),
                ("监护人电话", 13.0),
            ]);
            for case in store::cases::list(conn, None)? {
                if !wanted.contains(&case.state.as_str()) {
                    continue;
                }
                let Some(p) = person_by_id.get(case.child_id.as_str()) else {
                    continue;
                };
                let e = enrol.get(&p.child_id).and_then(|es| es.last());
                let events = store::case_events::list_by_case(conn, &case.meta.id)?;
                let attempts: Vec<String> = events
                    .iter()
                    .filter(|ev| ev.kind == "attempt")
                    .map(|ev| format!("{} {}", ev.on_date, crate::childfile::describe_event(ev)))
                    .collect();
                let placement = events
                    .iter()
                    .rev()
                    .find(|ev| matches!(ev.to_state.as_deref(), Some("returned") | Some("placed")))
                    .map(|ev| {
                        let v: serde_json::Value =
                            serde_json::from_str(&ev.payload).unwrap_or_default();
                        let pl = v["placement"]
                            .as_str()
                            .map(|x| codes::name_of(&c.placements, x))
                            .unwrap_or_default();
                        let school = v["school"].as_str().map(&school_name).unwrap_or_default();
                        format!("{} {} {}", ev.on_date, school, pl)
                            .trim()
                            .to_string()
                    })
                    .unwrap_or_default();
                let resp = [&case.resp_school, &case.resp_township, &case.resp_village]
                    .iter()
                    .filter_map(|x| x.as_deref())
                    .collect::<Vec<_>>()
                    .join("；");
                table.rows.push(vec![
                    String::new(),
                    area_name(&p.village_code, 9),
                    area_name(&p.village_code, 12),
                    p.name.clone(),
                    p.sex.clone().unwrap_or_default(),
                    p.birth_date.clone().unwrap_or_default(),
                    m.id(&p.id_number),
                    e.map(|e| school_name(&e.school_code)).unwrap_or_default(),
                    grade_name(e.and_then(|e| e.grade)),
                    case.reason_code
                        .as_deref()
                        .map(|r| codes::name_of(&c.dropout_reasons, r))
                        .unwrap_or_default(),
                    codes::name_of(&c.case_states, &case.state),
                    groups_text(&case.priority_groups),
                    resp,
                    attempts.join("\n"),
                    placement,
                    m.phone(&p.phone),
                ]);
            }
        }
    }
    table
        .rows
        .sort_by(|a, b| (&a[1], &a[2], &a[3]).cmp(&(&b[1], &b[2], &b[3])));
    for (i, r) in table.rows.iter_mut().enumerate() {
        r[0] = (i + 1).to_string();
    }
    Ok(table)
}

/// The Chinese name of a cross-check category.
fn suspected_category(category: &str) -> &str {
    match category {
        "not_enrolled" => "疑似失学",
        "disabled_unplaced" => "残疾未安置",
        "dropped_out" => "学籍辍学",
        "transferred_no_new" => "转出未接收",
        "place_unnamed" => "去向不明",
        "absence_suspected" => "连续缺课（疑似辍学）",
        "absence_dropout" => "连续缺课（辍学）",
        other => other,
    }
}

/// The Chinese name of a source kind.
fn source_name(kind: &str) -> &str {
    match kind {
        "roster" => "学户册",
        "roll" => "学籍",
        "attendance" => "考勤",
        "hukou" => "公安户籍",
        "disabled" => "残联",
        "poverty" => "乡村振兴",
        "welfare" => "民政",
        "aid" => "资助",
        other => other,
    }
}

fn school_is_special(conn: &rusqlite::Connection, code: &str) -> Result<bool> {
    Ok(store::schools::get_by_code(conn, code)?
        .map(|s| s.kind == "special")
        .unwrap_or(false))
}

fn cols(spec: &[(&str, f64)]) -> Vec<Column> {
    spec.iter().map(|(h, w)| Column::new(h, *w)).collect()
}

/// Builds the ledger and writes it (`.xlsx`, or CSV by extension). A full export is audited.
pub fn write(reg: &mut Register, opts: &LedgerOptions, out: &Path, actor: &Actor) -> Result<usize> {
    if let Some(a) = &opts.area {
        if !a.bytes().all(|b| b.is_ascii_digit()) || a.is_empty() {
            return Err(Error::invalid(
                "--area",
                format!("“{a}”应为区划代码（乡镇9位或村12位）"),
            ));
        }
    }
    let table = build(reg, opts)?;
    crate::export::write_by_extension(&table, opts.kind.title().replace('/', "、").as_str(), out)?;
    if opts.full {
        let mut w = reg.writer(actor)?;
        w.audit(
            "ledger",
            opts.kind.title(),
            "export_full",
            &["id_number", "phone"],
        )?;
        w.commit()?;
    }
    Ok(table.rows.len())
}

//! Printable notices (A4 HTML with print CSS; ID numbers always masked):
//! - 入学通知书: one page per roster child entering grade 1 (reached the entry age by the cutoff
//!   this autumn, not a year older) or grade 7 (last enrolment grade 6; without one, the age a year
//!   6 pupil has), with the school of the child's township;
//! - 限期返校通知书: for the guardian of a child with an open case (已确认辍学 / 劝返中), with a
//!   deadline; issuing it appends a `notice` event to the case.

use crate::cases;
use crate::childfile::PRINT_CSS;
use crate::error::{Error, Result};
use crate::households::parse_date;
use crate::idnum::mask_id;
use crate::register::{Actor, Register};
use crate::settings::Settings;
use crate::store;
use chrono::{Datelike, Months, NaiveDate};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cn_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// One 入学通知书.
#[derive(Debug, Clone, Serialize)]
pub struct EnrolNotice {
    pub child_id: String,
    pub name: String,
    pub sex: Option<String>,
    pub birth_date: String,
    /// Masked.
    pub id_number: Option<String>,
    pub village_code: Option<String>,
    pub guardian: Option<String>,
    /// 1 or 7.
    pub grade: i64,
    pub school_code: Option<String>,
    pub school_name: Option<String>,
}

fn school_for(
    conn: &Connection,
    village: Option<&str>,
    grade: i64,
) -> Result<Option<(String, String)>> {
    let Some(v) = village.filter(|v| v.len() >= 9) else {
        return Ok(None);
    };
    let township = &v[..9];
    let kinds: &[&str] = if grade == 1 {
        &["primary", "nine-year"]
    } else {
        &["junior", "nine-year"]
    };
    Ok(store::schools::list(conn)?
        .into_iter()
        .find(|s| s.township_code.as_deref() == Some(township) && kinds.contains(&s.kind.as_str()))
        .map(|s| (s.code, s.name)))
}

/// The children who get an 入学通知书 for the school year starting in `year`.
pub fn enrol_notices(conn: &Connection, year: i32, area: Option<&str>) -> Result<Vec<EnrolNotice>> {
    let settings = Settings::load(conn)?;
    let cutoff = settings.cutoff_in(year);
    let years = |n: u32| {
        cutoff
            .checked_sub_months(Months::new(12 * n))
            .unwrap_or(cutoff)
    };
    let age = settings.entry_age;
    let mut out = Vec::new();
    // Grade 1: reached the entry age by the cutoff, not a year older.
    let first = store::crosscheck::list_roster_born_between(
        conn,
        &years(age).to_string(),
        &years(age + 1).to_string(),
        area,
    )?;
    // Grade 7: the age of a pupil finishing grade 6, give or take a year; decided by the roll.
    let seventh = store::crosscheck::list_roster_born_between(
        conn,
        &years(age + 5).to_string(),
        &years(age + 8).to_string(),
        area,
    )?;
    for (grade, rows) in [(1i64, first), (7, seventh)] {
        for r in rows {
            if r.life_status != "normal" {
                continue;
            }
            let latest =
                store::crosscheck::latest_enrolment(conn, r.id_key.as_deref(), &r.child_id)?;
            let entering = match (grade, &latest) {
                (1, None) => true,
                (1, Some(_)) => false,
                (_, Some((Some(6), status))) => status == "studying" || status == "graduated",
                (_, None) => {
                    let b = parse_date(&r.birth_date).unwrap_or(cutoff);
                    b <= years(age + 6) && b > years(age + 7)
                }
                _ => false,
            };
            if !entering {
                continue;
            }
            let guardian = store::guardians::list_by_child(conn, &r.child_id)?
                .into_iter()
                .next()
                .map(|g| g.name);
            let child = store::children::get(conn, &r.child_id)?;
            let school = school_for(conn, r.village_code.as_deref(), grade)?;
            out.push(EnrolNotice {
                child_id: r.child_id.clone(),
                name: r.name.clone(),
                sex: child.and_then(|c| c.sex),
                birth_date: r.birth_date.clone(),
                id_number: r.id_key.as_deref().map(mask_id),
                village_code: r.village_code.clone(),
                guardian,
                grade,
                school_code: school.as_ref().map(|s| s.0.clone()),
                school_name: school.map(|s| s.1),
            });
        }
    }
    Ok(out)
}

fn page_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title><style>{PRINT_CSS}
.notice{{page-break-after:always;min-height:240mm;line-height:2}}
.notice:last-child{{page-break-after:auto}}
.notice p{{text-indent:2em;margin:2mm 0}}
.notice p.to{{text-indent:0}}
.sign{{text-align:right;margin-top:14mm}}
</style></head><body>",
        esc(title)
    )
}

/// The 入学通知书 as one printable HTML file, a page per child.
pub fn enrol_html(
    conn: &Connection,
    notices: &[EnrolNotice],
    year: i32,
    issuer: &str,
    issued: NaiveDate,
) -> Result<String> {
    let settings = Settings::load(conn)?;
    let start = NaiveDate::from_ymd_opt(year, 9, 1).unwrap_or(issued);
    let mut h = page_head("入学通知书");
    for n in notices {
        let stage = if n.grade == 1 {
            "小学一年级"
        } else {
            "初中一年级"
        };
        let school = n
            .school_name
            .as_deref()
            .map(esc)
            .unwrap_or_else(|| "户籍所在地学区学校".into());
        h.push_str(&format!(
            "<main class=\"notice\"><h1>入学通知书</h1>
<p class=\"to\">{}：</p>
<p>您的子女 <b>{}</b>（{}，{} 出生，身份证号 {}）{}年秋季应入{}就读。根据《中华人民共和国义务教育法》，适龄儿童、少年的父母或者其他法定监护人应当依法保证其按时入学接受并完成义务教育。</p>
<p>请于 <b>{}</b> 前，持本通知书和户口簿到 <b>{}</b> 办理入学手续。如因身体原因需延缓入学，请向学校提出申请，经县教育行政部门批准。</p>
<p>入学年龄以 {} 前年满 {} 周岁为准。</p>
<div class=\"sign\">{}<br>{}</div></main>",
            esc(n.guardian.as_deref().unwrap_or("家长（监护人）")),
            esc(&n.name),
            esc(n.sex.as_deref().unwrap_or("")),
            esc(&n.birth_date),
            esc(n.id_number.as_deref().unwrap_or("无")),
            year,
            stage,
            cn_date(start),
            school,
            cn_date(settings.cutoff_in(year)),
            settings.entry_age,
            esc(issuer),
            cn_date(issued),
        ));
    }
    h.push_str("</body></html>");
    Ok(h)
}

/// Whether a 限期返校通知书 may be issued for a case in this state (已确认辍学, 劝返中).
pub fn return_notice_allowed(state: &str) -> bool {
    matches!(state, "confirmed" | "persuading")
}

/// Issues a 限期返校通知书 for a case: checks the case is open and not yet returned, appends a
/// `notice` event (with the deadline) and returns the printable HTML.
pub fn issue_return_notice(
    reg: &mut Register,
    case_id: &str,
    deadline: &str,
    issuer: &str,
    actor: &Actor,
) -> Result<String> {
    let case = cases::resolve(reg.conn(), case_id)?;
    if !return_notice_allowed(&case.state) {
        return Err(Error::invalid(
            "限期返校通知书",
            "只有“已确认辍学”或“劝返中”的个案才能发限期返校通知书",
        ));
    }
    let today = actor.now.date_naive();
    let deadline = parse_date(deadline)
        .filter(|d| *d > today)
        .ok_or_else(|| Error::invalid("返校期限", format!("“{deadline}”应为今天以后的日期")))?;
    let issuer = issuer.trim();
    if issuer.is_empty() {
        return Err(Error::invalid(
            "发文单位",
            "请填写发出通知书的单位（乡镇人民政府或学校）",
        ));
    }
    let conn = reg.conn();
    let child = store::children::get(conn, &case.child_id)?.ok_or_else(|| Error::NotFound {
        what: "儿童".into(),
        key: case.child_id.clone(),
    })?;
    let guardian = store::guardians::list_by_child(conn, &child.meta.id)?
        .into_iter()
        .next()
        .map(|g| g.name)
        .unwrap_or_else(|| "家长（监护人）".into());
    // The school: the latest roll entry of the person, wherever it was made.
    let mut school = None;
    let mut records = vec![child.clone()];
    if let Some(k) = &child.id_key {
        records.extend(store::children::list_by_id_key(conn, k)?);
    }
    for r in &records {
        for e in store::enrolments::list_by_child(conn, &r.meta.id)? {
            if school.is_none() {
                school = store::schools::get_by_code(conn, &e.school_code)?.map(|s| s.name);
            }
        }
    }
    let school = school.unwrap_or_else(|| "原就读学校".into());
    let mut w = reg.writer(actor)?;
    let ev = crate::domain::CaseEvent {
        meta: w.new_meta(),
        case_id: case.meta.id.clone(),
        on_date: today.to_string(),
        kind: "notice".into(),
        from_state: None,
        to_state: None,
        payload: json!({"note": format!("发出限期返校通知书（{issuer}），限 {deadline} 前返校"), "deadline": deadline.to_string(), "issuer": issuer}).to_string(),
        operator: actor.operator.clone(),
    };
    store::case_events::insert(w.conn(), &ev)?;
    w.audit("case_events", &ev.meta.id, "insert", &["kind", "payload"])?;
    w.commit()?;
    let mut h = page_head("限期返校通知书");
    h.push_str(&format!(
        "<main class=\"notice\"><h1>限期返校通知书</h1>
<p class=\"sub\">编号：{}</p>
<p class=\"to\">{}：</p>
<p>您的子女 <b>{}</b>（{} 出生，身份证号 {}）系义务教育阶段适龄少年，现未在校就读。</p>
<p>《中华人民共和国义务教育法》第五条规定，适龄儿童、少年的父母或者其他法定监护人应当依法保证其按时入学接受并完成义务教育；第十四条规定，禁止用人单位招用应当接受义务教育的适龄儿童、少年。</p>
<p>请您于 <b>{}</b> 前送子女返回 <b>{}</b> 就读。逾期无正当理由不送子女返校的，将依法采取进一步措施，由此产生的法律责任由监护人承担。</p>
<p>如有困难，请与学校或乡镇、村联系，我们将帮助解决。</p>
<div class=\"sign\">{}<br>{}</div>
<p class=\"to note\">（本通知书一式两份，一份送达监护人，一份存入一人一案档案。监护人签收：__________ 日期：__________）</p></main></body></html>",
        esc(cases::short_id(&ev.meta.id)),
        esc(&guardian),
        esc(&child.name),
        esc(child.birth_date.as_deref().unwrap_or("")),
        esc(&child.id_number.as_deref().or(child.id_key.as_deref()).map(mask_id).unwrap_or_else(|| "无".into())),
        cn_date(deadline),
        esc(&school),
        esc(issuer),
        cn_date(today),
    ));
    Ok(h)
}

//! 一人一档: everything the register knows about one child — every linked record (the same person
//! entered at a village and at a school), household and guardians, enrolment history, and each case
//! with its timeline — as data for the app and as a printable A4 page (HTML with print CSS).

use crate::codes::{self, codes};
use crate::domain::{Case, CaseEvent, Child, Enrolment, Guardian, Household};
use crate::error::{Error, Result};
use crate::idnum::{self, mask_id, mask_phone};
use crate::store;
use rusqlite::Connection;
use serde::Serialize;

/// One case with its history.
#[derive(Debug, Clone, Serialize)]
pub struct CaseFile {
    pub case: Case,
    pub events: Vec<CaseEvent>,
}

/// One linked record of the child with what hangs off it.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedRecord {
    pub child: Child,
    pub household: Option<Household>,
    pub guardians: Vec<Guardian>,
    pub enrolments: Vec<Enrolment>,
}

/// The whole file of one child.
#[derive(Debug, Clone, Serialize)]
pub struct ChildFile {
    /// The records linked to this person (same normalised ID number, or confirmed the same child
    /// by a person: `persons`), the asked one first.
    pub records: Vec<LinkedRecord>,
    pub cases: Vec<CaseFile>,
}

/// Finds a child by record id, ID number or 学籍号 and gathers the file.
pub fn load(conn: &Connection, key: &str) -> Result<ChildFile> {
    let key = key.trim();
    let first = match store::children::get(conn, key)? {
        Some(c) => c,
        None => {
            let norm = idnum::normalize(key);
            let by_id = idnum::link_key(Some(&norm), Some(&norm))
                .map(|k| store::children::list_by_id_key(conn, &k))
                .transpose()?
                .unwrap_or_default();
            let found = if by_id.is_empty() {
                store::children::list_by_student_no(conn, &norm)?
            } else {
                by_id
            };
            found.into_iter().next().ok_or_else(|| Error::NotFound {
                what: "儿童".into(),
                key: mask_id(key),
            })?
        }
    };
    // Linked by ID key and by a person's "same child" decision (`persons`).
    let mut children = vec![first.clone()];
    children.extend(crate::persons::linked_children(conn, &first)?);
    let mut records = Vec::new();
    let mut cases = Vec::new();
    for child in children {
        let household = match &child.household_id {
            Some(h) => store::households::get(conn, h)?,
            None => None,
        };
        let guardians = store::guardians::list_by_child(conn, &child.meta.id)?;
        let enrolments = store::enrolments::list_by_child(conn, &child.meta.id)?;
        for case in store::cases::list_by_child(conn, &child.meta.id)? {
            let events = store::case_events::list_by_case(conn, &case.meta.id)?;
            cases.push(CaseFile { case, events });
        }
        records.push(LinkedRecord {
            child,
            household,
            guardians,
            enrolments,
        });
    }
    Ok(ChildFile { records, cases })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the file as one printable A4 HTML page. IDs and phones masked unless `full`.
pub fn to_html(conn: &Connection, file: &ChildFile, full: bool) -> Result<String> {
    let c = codes();
    let id = |s: &Option<String>| match s {
        Some(v) if full => esc(v),
        Some(v) => esc(&mask_id(v)),
        None => "无".into(),
    };
    let phone = |s: &Option<String>| match s {
        Some(v) if full => esc(v),
        Some(v) => esc(&mask_phone(v)),
        None => String::new(),
    };
    let Some(main) = file.records.first() else {
        return Err(Error::NotFound {
            what: "儿童".into(),
            key: String::new(),
        });
    };
    let names = store::population::list_area_names(conn)?;
    let area = |code: &Option<String>| -> String {
        let Some(code) = code.as_deref() else {
            return String::new();
        };
        let mut parts = vec![];
        for len in [6, 9, 12] {
            if code.len() >= len {
                if let Some(n) = names.get(&code[..len]) {
                    parts.push(n.clone());
                }
            }
        }
        if parts.is_empty() {
            code.to_string()
        } else {
            parts.join("")
        }
    };
    let school = |code: &str| -> String {
        store::schools::get_by_code(conn, code)
            .ok()
            .flatten()
            .map(|s| s.name)
            .unwrap_or_else(|| code.to_string())
    };
    let ch = &main.child;
    let mut h = String::new();
    h.push_str("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>一人一档</title><style>");
    h.push_str(PRINT_CSS);
    h.push_str("</style></head><body><main>");
    h.push_str(&format!(
        "<h1>适龄儿童少年一人一档</h1><p class=\"sub\">{}</p>",
        esc(&area(&ch.village_code))
    ));
    h.push_str("<h2>基本信息</h2><table class=\"kv\">");
    let flags: Vec<String> = ch
        .flags
        .iter()
        .map(|f| codes::name_of(&c.child_flags, f))
        .collect();
    let rows = [
        ("姓名", esc(&ch.name)),
        ("性别", esc(ch.sex.as_deref().unwrap_or(""))),
        ("出生日期", esc(ch.birth_date.as_deref().unwrap_or(""))),
        ("身份证号", id(&ch.id_number)),
        ("学籍号", id(&ch.student_no)),
        ("户籍地", esc(ch.hukou_place.as_deref().unwrap_or(""))),
        ("现住址", esc(ch.residence.as_deref().unwrap_or(""))),
        ("儿童类别", esc(&flags.join("、"))),
        (
            "残疾情况",
            esc(&ch
                .disability_type
                .as_deref()
                .map(|t| {
                    format!(
                        "{} {}",
                        codes::name_of(&c.disability_types, t),
                        ch.disability_grade.as_deref().unwrap_or("")
                    )
                })
                .unwrap_or_else(|| "无".into())),
        ),
    ];
    for (k, v) in rows {
        h.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    h.push_str("</table>");
    if let Some(hh) = &main.household {
        let groups: Vec<String> = hh
            .priority_groups
            .iter()
            .map(|g| codes::name_of(&c.priority_groups, g))
            .collect();
        h.push_str("<h2>家庭与监护人</h2><table class=\"kv\">");
        h.push_str(&format!(
            "<tr><th>户主</th><td>{}</td></tr>",
            esc(&hh.head_name)
        ));
        h.push_str(&format!(
            "<tr><th>住址</th><td>{}</td></tr>",
            esc(hh.address.as_deref().unwrap_or(""))
        ));
        h.push_str(&format!(
            "<tr><th>重点户类别</th><td>{}</td></tr>",
            esc(&groups.join("、"))
        ));
        h.push_str("</table>");
    }
    let guardians: Vec<&Guardian> = file
        .records
        .iter()
        .flat_map(|r| r.guardians.iter())
        .collect();
    if !guardians.is_empty() {
        h.push_str("<table><tr><th>监护人</th><th>关系</th><th>联系电话</th></tr>");
        for g in guardians {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&g.name),
                esc(g.relation.as_deref().unwrap_or("")),
                phone(&g.phone)
            ));
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>学籍记录</h2><table><tr><th>学校</th><th>年级</th><th>班级</th><th>入学日期</th><th>学期</th><th>状态</th></tr>");
    let mut any = false;
    for r in &file.records {
        for e in &r.enrolments {
            any = true;
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&school(&e.school_code)),
                e.grade
                    .map(|g| codes::name_of(&c.grades, &g.to_string()))
                    .unwrap_or_default(),
                esc(e.class_name.as_deref().unwrap_or("")),
                esc(e.entry_date.as_deref().unwrap_or("")),
                esc(e.term.as_deref().unwrap_or("")),
                esc(&codes::name_of(&c.enrolment_statuses, &e.status)),
            ));
        }
    }
    if !any {
        h.push_str("<tr><td colspan=\"6\">无学籍记录</td></tr>");
    }
    h.push_str("</table>");
    for cf in &file.cases {
        let cs = &cf.case;
        h.push_str(&format!(
            "<h2>个案（{}）</h2><table class=\"kv\"><tr><th>辍学原因</th><td>{}</td></tr><tr><th>包保责任人</th><td>{}</td></tr><tr><th>劝返方案</th><td>{}</td></tr><tr><th>建档日期</th><td>{}</td></tr></table>",
            esc(&codes::name_of(&c.case_states, &cs.state)),
            esc(&cs.reason_code.as_deref().map(|r| codes::name_of(&c.dropout_reasons, r)).unwrap_or_default()),
            esc(&[&cs.resp_school, &cs.resp_township, &cs.resp_village].iter().filter_map(|x| x.as_deref()).collect::<Vec<_>>().join("；")),
            esc(cs.plan.as_deref().unwrap_or("")),
            esc(&cs.opened_on),
        ));
        h.push_str("<ol class=\"timeline\">");
        for ev in &cf.events {
            h.push_str(&format!(
                "<li><b>{}</b> {}</li>",
                esc(&ev.on_date),
                esc(&describe_event(ev))
            ));
        }
        h.push_str("</ol>");
    }
    if file.records.len() > 1 {
        h.push_str(&format!(
            "<p class=\"note\">本档合并了 {} 条按身份证号关联的记录（村学户册、学校花名册等）。</p>",
            file.records.len()
        ));
    }
    h.push_str("<footer>身份证号、电话已按规定脱敏。本档案仅供控辍保学工作使用，请妥善保管。</footer></main></body></html>");
    Ok(h)
}

/// One line of Chinese describing a case event.
pub fn describe_event(ev: &CaseEvent) -> String {
    let c = codes();
    let v: serde_json::Value = serde_json::from_str(&ev.payload).unwrap_or_default();
    let state = |s: &Option<String>| {
        s.as_deref()
            .map(|s| codes::name_of(&c.case_states, s))
            .unwrap_or_default()
    };
    match ev.kind.as_str() {
        "attempt" => {
            let method = v["method"]
                .as_str()
                .map(|m| codes::name_of(&c.persuasion_methods, m))
                .unwrap_or_default();
            let who = v["participants"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join("、")
                })
                .unwrap_or_default();
            let joint = if v["joint"].as_bool().unwrap_or(false) {
                "联合"
            } else {
                ""
            };
            format!(
                "{joint}{method}劝返（{who}）：{}；结果：{}",
                v["said"].as_str().unwrap_or(""),
                v["result"].as_str().unwrap_or("")
            )
        }
        "opened" => format!("建档：{}", v["note"].as_str().unwrap_or("")),
        _ if ev.to_state.is_some() => {
            let note = v["note"].as_str().or(v["reason"].as_str()).unwrap_or("");
            format!(
                "状态：{} → {} {}",
                state(&ev.from_state),
                state(&ev.to_state),
                note
            )
            .trim()
            .to_string()
        }
        _ => v["note"].as_str().unwrap_or(&ev.kind).to_string(),
    }
}

/// Print CSS shared by the printable pages: A4, Chinese fonts, no colours needed.
pub const PRINT_CSS: &str = "@page{size:A4;margin:18mm 16mm}
body{font-family:'Noto Sans CJK SC','Noto Serif CJK SC','WenQuanYi Micro Hei','Microsoft YaHei','SimSun',sans-serif;font-size:11pt;color:#000;margin:0}
main{max-width:178mm;margin:0 auto}
h1{text-align:center;font-size:18pt;margin:0 0 4mm}
h2{font-size:13pt;border-bottom:1px solid #000;margin:6mm 0 2mm}
.sub{text-align:center;margin:0 0 4mm}
table{width:100%;border-collapse:collapse;margin:2mm 0;page-break-inside:auto}
th,td{border:1px solid #444;padding:1.5mm 2mm;text-align:left;vertical-align:top}
table.kv th{width:28mm;background:#f2f2f2}
tr{page-break-inside:avoid}
ol.timeline{margin:2mm 0;padding-left:6mm}
ol.timeline li{margin:1mm 0}
.note{font-size:9pt}
footer{margin-top:8mm;font-size:9pt;text-align:center;color:#333}
@media screen{body{background:#eee}main{background:#fff;padding:12mm;margin:8mm auto;box-shadow:0 0 4px #999}}";

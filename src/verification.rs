//! 核查: suspected children become verification tasks for the village (or township) that owns
//! the household; after the home visit the clerk records the finding. Findings act on the
//! register in the same transaction:
//! - 在校就读 `in_school` (which school) and 外地就读 `elsewhere` (school and place): the child is
//!   cleared in the cross-check for the school year; `elsewhere` also marks the child
//!   `studying_elsewhere` with the place;
//! - 确认失学辍学 `confirmed_out`: opens a case (已确认辍学) unless one is open;
//! - 死亡 `deceased`, 户籍迁出 `moved_out` (destination): the child's life status;
//! - 身体原因 `health`, 信息有误 `wrong_info`: recorded, with what was found.

use crate::cases;
use crate::codes::{self, codes};
use crate::crosscheck;
use crate::domain::Case;
use crate::error::{Error, Result};
use crate::households::parse_date;
use crate::register::{Actor, Register};
use crate::settings::Settings;
use crate::store;
use crate::store::verification_tasks::Task;
use chrono::NaiveDate;
use rusqlite::Connection;
use serde::Serialize;

/// What `create_from_crosscheck` did.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub created: usize,
    /// Children who already have an open task.
    pub already_open: usize,
    /// Listed children the register has no record of (department lists only).
    pub without_record: usize,
    /// Children with an open case (already in case work, no home visit task needed).
    pub in_case: usize,
    pub tasks: Vec<Task>,
}

fn area_of(conn: &Connection, child_id: &str, village: Option<&str>) -> Result<String> {
    if let Some(v) = village.filter(|v| !v.is_empty()) {
        return Ok(v.to_string());
    }
    if let Some(c) = store::children::get(conn, child_id)? {
        if let Some(v) = c.village_code {
            return Ok(v);
        }
        if let Some(h) = c.household_id.as_deref() {
            if let Some(h) = store::households::get(conn, h)? {
                return Ok(h.village_code);
            }
        }
    }
    // No village known: the county checks it itself.
    Ok(store::site::get(conn)?
        .map(|s| s.region_code)
        .unwrap_or_default())
}

/// Turns the cross-check's suspected children (and probable matches to confirm) into
/// verification tasks, one open task per child, in one transaction.
pub fn create_from_crosscheck(
    reg: &mut Register,
    as_of: NaiveDate,
    actor: &Actor,
) -> Result<Created> {
    let settings = Settings::load(reg.conn())?;
    let r = crosscheck::run(reg.conn(), &settings, as_of)?;
    let mut wanted: Vec<(String, Option<String>, String)> = Vec::new();
    let mut without_record = 0;
    for s in &r.suspected {
        match &s.child_id {
            Some(c) => wanted.push((c.clone(), s.village.clone(), s.reason.clone())),
            None => without_record += 1,
        }
    }
    for s in &r.to_confirm {
        match &s.child_id {
            Some(c) => wanted.push((
                c.clone(),
                s.village.clone(),
                format!("{}（核实是否就是该在读学生）", s.reason),
            )),
            None => without_record += 1,
        }
    }
    let mut out = Created {
        created: 0,
        already_open: 0,
        without_record,
        in_case: 0,
        tasks: vec![],
    };
    let mut rows = Vec::new();
    for (child, village, reason) in wanted {
        let open = store::verification_tasks::list_by_child(reg.conn(), &child)?
            .into_iter()
            .any(|t| t.state == "open");
        if open {
            out.already_open += 1;
            continue;
        }
        let in_case = store::cases::list_by_child(reg.conn(), &child)?
            .iter()
            .any(|c| c.state != "closed");
        if in_case {
            out.in_case += 1;
            continue;
        }
        let area = area_of(reg.conn(), &child, village.as_deref())?;
        rows.push((child, area, reason));
    }
    let mut w = reg.writer(actor)?;
    for (child_id, area_code, reason) in rows {
        let t = Task {
            meta: w.new_meta(),
            child_id,
            area_code,
            reason,
            state: "open".into(),
            finding: None,
            finding_detail: None,
            found_on: None,
            found_by: None,
        };
        store::verification_tasks::put(w.conn(), &t)?;
        w.audit(
            "verification_tasks",
            &t.meta.id,
            "insert",
            &["child_id", "area_code", "reason"],
        )?;
        out.tasks.push(t);
        out.created += 1;
    }
    w.commit()?;
    Ok(out)
}

/// A finding as the clerk typed it.
#[derive(Debug, Clone, Default)]
pub struct Finding {
    /// Code or name from `verification_findings`.
    pub finding: String,
    /// The school, the place, the destination, or what was wrong.
    pub detail: Option<String>,
    pub found_on: String,
    pub found_by: String,
}

/// What recording a finding did.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub task: Task,
    /// The case opened (确认失学辍学) or already open for the child.
    pub case_id: Option<String>,
    pub case_opened: bool,
    /// The child's life status was changed (外地就读, 死亡, 户籍迁出).
    pub child_updated: bool,
}

/// Finds a task by id or a unique short form (its last 8 characters, or a longer start).
pub fn resolve(conn: &Connection, id_or_prefix: &str) -> Result<Task> {
    let s = id_or_prefix.trim();
    if let Some(t) = store::verification_tasks::get(conn, s)? {
        return Ok(t);
    }
    if s.chars().count() >= 8 {
        let mut hits: Vec<Task> = store::verification_tasks::list(conn, None, None)?
            .into_iter()
            .filter(|t| t.meta.id.ends_with(s) || t.meta.id.starts_with(s))
            .collect();
        if hits.len() > 1 {
            return Err(Error::invalid(
                "核查任务编号",
                format!("“{s}”对应多个任务，请输入完整编号"),
            ));
        }
        if let Some(t) = hits.pop() {
            return Ok(t);
        }
    }
    Err(Error::NotFound {
        what: "核查任务".into(),
        key: s.into(),
    })
}

/// Records the finding of a home visit, and what it implies, in one transaction.
pub fn record(reg: &mut Register, task_id: &str, f: Finding, actor: &Actor) -> Result<Recorded> {
    let task = resolve(reg.conn(), task_id)?;
    if task.state == "done" {
        return Err(Error::invalid(
            "核查结论",
            format!(
                "该任务已有核查结论（{}），不能重复登记；如情况有变，请重新比对生成新任务",
                codes::name_of(
                    &codes().verification_findings,
                    task.finding.as_deref().unwrap_or("")
                )
            ),
        ));
    }
    let finding = codes::lookup(&codes().verification_findings, &f.finding)
        .ok_or_else(|| {
            Error::invalid(
                "核查结论",
                format!("“{}”不在代码表中（在校就读、外地就读、确认失学辍学、身体原因、死亡、户籍迁出、信息有误）", f.finding),
            )
        })?
        .code
        .clone();
    let detail = f
        .detail
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    let needs = match finding.as_str() {
        "in_school" => Some("在校就读须写明学校"),
        "elsewhere" => Some("外地就读须写明学校和地点"),
        "moved_out" => Some("户籍迁出须写明迁往何处"),
        "wrong_info" => Some("信息有误须写明哪里有误"),
        "health" => Some("身体原因须写明情况（如残疾类别、是否需要评估安置）"),
        _ => None,
    };
    if let (Some(msg), None) = (needs, &detail) {
        return Err(Error::invalid("核查说明", msg));
    }
    let found_on = parse_date(&f.found_on)
        .filter(|d| *d <= actor.now.date_naive())
        .ok_or_else(|| {
            Error::invalid(
                "核查日期",
                format!("“{}”不是有效日期（不能晚于今天）", f.found_on),
            )
        })?;
    let found_by = f.found_by.trim();
    if found_by.is_empty() {
        return Err(Error::invalid("核查人", "请填写核查人"));
    }
    let child =
        store::children::get(reg.conn(), &task.child_id)?.ok_or_else(|| Error::NotFound {
            what: "儿童".into(),
            key: task.child_id.clone(),
        })?;
    let open_case = store::cases::list_by_child(reg.conn(), &child.meta.id)?
        .into_iter()
        .find(|c| c.state != "closed");
    let groups = cases::child_groups(reg.conn(), &child.meta.id)?;

    let mut w = reg.writer(actor)?;
    let mut done = task.clone();
    done.meta = w.next_meta(&task.meta);
    done.state = "done".into();
    done.finding = Some(finding.clone());
    done.finding_detail = detail.clone();
    done.found_on = Some(found_on.to_string());
    done.found_by = Some(found_by.to_string());
    store::verification_tasks::put(w.conn(), &done)?;
    w.audit(
        "verification_tasks",
        &done.meta.id,
        "update",
        &["state", "finding", "finding_detail", "found_on", "found_by"],
    )?;
    let life = match finding.as_str() {
        "elsewhere" => Some("studying_elsewhere"),
        "deceased" => Some("deceased"),
        "moved_out" => Some("moved_away"),
        _ => None,
    };
    let mut child_updated = false;
    if let Some(life) = life {
        let mut c = child.clone();
        c.meta = w.next_meta(&child.meta);
        c.life_status = life.into();
        c.life_status_detail = detail.clone();
        store::children::put(w.conn(), &c)?;
        w.audit(
            "children",
            &c.meta.id,
            "update",
            &["life_status", "life_status_detail"],
        )?;
        child_updated = true;
    }
    let mut case_id = open_case.as_ref().map(|c| c.meta.id.clone());
    let mut case_opened = false;
    if finding == "confirmed_out" && open_case.is_none() {
        let meta = w.new_meta();
        let case = cases::write_new(
            &mut w,
            Case {
                meta,
                child_id: child.meta.id.clone(),
                state: "confirmed".into(),
                reason_code: None,
                priority_groups: groups,
                resp_school: None,
                resp_township: None,
                resp_village: None,
                plan: None,
                opened_on: found_on.to_string(),
                closed_on: None,
            },
            &format!(
                "核查确认失学辍学（{found_by}，{found_on}）：{}",
                task.reason
            ),
        )?;
        case_id = Some(case.meta.id);
        case_opened = true;
    }
    w.commit()?;
    Ok(Recorded {
        task: done,
        case_id,
        case_opened,
        child_updated,
    })
}

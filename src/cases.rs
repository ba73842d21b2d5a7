//! 一人一案: the case file of one out-of-school child, as a state machine with an append-only
//! history.
//!
//! States (code list `case_states`): 疑似辍学 `suspected` → 已确认辍学 `confirmed` → 劝返中
//! `persuading` → 已复学 `returned` / 已安置 `placed` / 延缓入学 `deferred` / 休学 `suspended` →
//! 销号 `closed`. The legal moves are [`allowed`]; anything else is refused with a Chinese message
//! naming the moves that are possible. Rules:
//! - 延缓入学 / 休学 only after `joint_attempts_required` JOINT persuasion attempts (a county
//!   setting), or a disability assessment (县专家委员会评估, its document number), and always with
//!   the approver and the approval's document number; persuasion may continue afterwards.
//! - 复学 (`returned`) needs the school (a registered school code) and the placement (code list
//!   `placements`: 插班, 单独编班, 普职融合, 个别辅导, 随班就读, 送教上门, 特殊教育学校); 安置
//!   (`placed`) needs the placement. Both write a placement record, and the pupil stays on the
//!   watch list (反弹) until the end of the next full term ([`watch_until`]).
//! - 销号 needs a reason, a date and an approver.
//!
//! Every change is one transaction: the case row (the current state) gets a new version and one
//! `case_events` row is appended; nothing is overwritten.

use crate::codes::{self, codes};
use crate::domain::{Case, CaseEvent};
use crate::error::{Error, Result};
use crate::households::parse_date;
use crate::register::{Actor, Register, Writer};
use crate::settings::Settings;
use crate::store;
use chrono::{Datelike, NaiveDate};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Every state, in order.
pub const STATES: &[&str] = &[
    "suspected",
    "confirmed",
    "persuading",
    "returned",
    "placed",
    "deferred",
    "suspended",
    "closed",
];

/// The states a case may move to from `from`.
pub fn allowed(from: &str) -> &'static [&'static str] {
    match from {
        "suspected" => &["confirmed", "closed"],
        "confirmed" => &["persuading", "closed"],
        "persuading" => &["returned", "placed", "deferred", "suspended", "closed"],
        "deferred" | "suspended" => &["persuading", "returned", "placed", "closed"],
        "returned" | "placed" => &["confirmed", "closed"],
        _ => &[],
    }
}

/// States in which a persuasion attempt may be recorded.
pub fn attempts_allowed(state: &str) -> bool {
    matches!(state, "confirmed" | "persuading" | "deferred" | "suspended")
}

fn state_name(s: &str) -> String {
    codes::name_of(&codes().case_states, s)
}

/// A new case.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewCase {
    pub child_id: String,
    /// `suspected` (default) or `confirmed`.
    #[serde(default)]
    pub state: Option<String>,
    /// Code or name from `dropout_reasons`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Priority groups; when empty, taken from the child's household, flags and disability.
    #[serde(default)]
    pub priority_groups: Vec<String>,
    #[serde(default)]
    pub resp_school: Option<String>,
    #[serde(default)]
    pub resp_township: Option<String>,
    #[serde(default)]
    pub resp_village: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
    /// `YYYY-MM-DD`; default today.
    #[serde(default)]
    pub opened_on: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// One persuasion attempt (劝返).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attempt {
    pub on_date: String,
    /// Who went (name and unit, e.g. `李老师（学校）`).
    pub participants: Vec<String>,
    /// A joint attempt (school, township and village together).
    #[serde(default)]
    pub joint: bool,
    /// Code or name from `persuasion_methods` (感情 / 经济 / 行政 / 法律).
    pub method: String,
    /// What was said.
    pub said: String,
    /// The result.
    pub result: String,
}

/// A change of state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transition {
    /// Code or name from `case_states`.
    pub to: String,
    pub on_date: String,
    #[serde(default)]
    pub note: Option<String>,
    /// Who approved (延缓入学, 休学, 销号).
    #[serde(default)]
    pub approver: Option<String>,
    /// The approval's document number (延缓入学, 休学).
    #[serde(default)]
    pub doc_no: Option<String>,
    /// The disability assessment's document number (instead of the joint attempts).
    #[serde(default)]
    pub assessment: Option<String>,
    /// School code (复学).
    #[serde(default)]
    pub school: Option<String>,
    /// Code or name from `placements` (复学, 安置).
    #[serde(default)]
    pub placement: Option<String>,
    /// Why the case is closed (销号).
    #[serde(default)]
    pub reason: Option<String>,
}

fn text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn date_of(field: &str, raw: &str, actor: &Actor) -> Result<NaiveDate> {
    let d = parse_date(raw)
        .ok_or_else(|| Error::invalid(field, format!("“{raw}”不是有效日期，请写成 2026-10-12")))?;
    if d > actor.now.date_naive() {
        return Err(Error::invalid(
            field,
            format!("{d} 还没到，不能登记将来的日期"),
        ));
    }
    Ok(d)
}

/// The short form of a record id a clerk types: its last 8 characters (the random part of a
/// UUID v7; the first characters are a timestamp shared by records made together).
pub fn short_id(id: &str) -> &str {
    let n = id.len();
    id.get(n.saturating_sub(8)..).unwrap_or(id)
}

/// Finds a case by its id or a unique short form (its last 8 characters, or a longer start).
pub fn resolve(conn: &Connection, id_or_short: &str) -> Result<Case> {
    let s = id_or_short.trim();
    if let Some(c) = store::cases::get(conn, s)? {
        return Ok(c);
    }
    if s.chars().count() >= 8 {
        let mut hits: Vec<Case> = store::cases::list(conn, None)?
            .into_iter()
            .filter(|c| c.meta.id.ends_with(s) || c.meta.id.starts_with(s))
            .collect();
        if hits.len() > 1 {
            return Err(Error::invalid(
                "个案编号",
                format!("“{s}”对应多个个案，请输入完整编号"),
            ));
        }
        if let Some(c) = hits.pop() {
            return Ok(c);
        }
    }
    Err(Error::NotFound {
        what: "个案".into(),
        key: s.into(),
    })
}

/// Priority groups of a child: its household's groups, 孤儿 / 事实无人抚养 flags, 残疾.
pub fn child_groups(conn: &Connection, child_id: &str) -> Result<Vec<String>> {
    let Some(c) = store::children::get(conn, child_id)? else {
        return Ok(vec![]);
    };
    let mut g = Vec::new();
    if let Some(h) = c.household_id.as_deref() {
        if let Some(h) = store::households::get(conn, h)? {
            g.extend(h.priority_groups);
        }
    }
    g.extend(
        c.flags
            .into_iter()
            .filter(|f| f == "orphan" || f == "unsupported"),
    );
    if c.disability_type.is_some_and(|d| !d.is_empty()) {
        g.push("disabled".into());
    }
    let mut out: Vec<String> = codes()
        .priority_groups
        .iter()
        .filter(|c| g.contains(&c.code))
        .map(|c| c.code.clone())
        .collect();
    out.dedup();
    Ok(out)
}

fn append(
    w: &mut Writer<'_>,
    case_id: &str,
    on_date: NaiveDate,
    kind: &str,
    from: Option<&str>,
    to: Option<&str>,
    payload: serde_json::Value,
) -> Result<CaseEvent> {
    let ev = CaseEvent {
        meta: w.new_meta(),
        case_id: case_id.to_string(),
        on_date: on_date.to_string(),
        kind: kind.into(),
        from_state: from.map(str::to_string),
        to_state: to.map(str::to_string),
        payload: payload.to_string(),
        operator: w.actor().operator.clone(),
    };
    store::case_events::insert(w.conn(), &ev)?;
    w.audit("case_events", &ev.meta.id, "insert", &["kind", "payload"])?;
    Ok(ev)
}

/// Opens a case for a child. Refused while the child has a case that is not 销号.
pub fn open(reg: &mut Register, new: NewCase, actor: &Actor) -> Result<Case> {
    let child = store::children::get(reg.conn(), new.child_id.trim())?
        .filter(|c| !c.meta.deleted)
        .ok_or_else(|| Error::NotFound {
            what: "儿童".into(),
            key: new.child_id.clone(),
        })?;
    if let Some(open) = store::cases::list_by_child(reg.conn(), &child.meta.id)?
        .into_iter()
        .find(|c| c.state != "closed")
    {
        return Err(Error::invalid(
            "个案",
            format!(
                "{}已有未销号的个案（{}，{}），请在原个案中继续记录",
                child.name,
                short_id(&open.meta.id),
                state_name(&open.state)
            ),
        ));
    }
    let state = match text(&new.state).as_deref() {
        None => "suspected".to_string(),
        Some(s) => {
            let c = codes::lookup(&codes().case_states, s).map(|c| c.code.clone());
            match c.as_deref() {
                Some("suspected") | Some("confirmed") => c.unwrap_or_default(),
                _ => {
                    return Err(Error::invalid(
                        "初始状态",
                        format!("新个案只能是“疑似辍学”或“已确认辍学”，不能是“{s}”"),
                    ))
                }
            }
        }
    };
    let reason_code = match text(&new.reason) {
        Some(r) => Some(
            codes::lookup(&codes().dropout_reasons, &r)
                .ok_or_else(|| {
                    Error::invalid(
                        "辍学原因",
                        format!("“{r}”不在代码表中（学习困难、厌学、外出打工、早婚早育、信教、身体原因/残疾、家庭困难、上学远、其他）"),
                    )
                })?
                .code
                .clone(),
        ),
        None => None,
    };
    let mut groups = Vec::new();
    for g in &new.priority_groups {
        groups.push(
            codes::lookup(&codes().priority_groups, g)
                .ok_or_else(|| Error::invalid("重点群体", format!("“{g}”不在代码表中")))?
                .code
                .clone(),
        );
    }
    if groups.is_empty() {
        groups = child_groups(reg.conn(), &child.meta.id)?;
    }
    let opened = match text(&new.opened_on) {
        Some(d) => date_of("建档日期", &d, actor)?,
        None => actor.now.date_naive(),
    };
    let mut w = reg.writer(actor)?;
    let meta = w.new_meta();
    let case = write_new(
        &mut w,
        Case {
            meta,
            child_id: child.meta.id.clone(),
            state,
            reason_code,
            priority_groups: groups,
            resp_school: text(&new.resp_school),
            resp_township: text(&new.resp_township),
            resp_village: text(&new.resp_village),
            plan: text(&new.plan),
            opened_on: opened.to_string(),
            closed_on: None,
        },
        &text(&new.note).unwrap_or_default(),
    )?;
    w.commit()?;
    Ok(case)
}

/// Writes a new case row and its `opened` event inside a caller's transaction.
pub(crate) fn write_new(w: &mut Writer<'_>, case: Case, note: &str) -> Result<Case> {
    store::cases::put(w.conn(), &case)?;
    w.audit(
        "cases",
        &case.meta.id,
        "insert",
        &[
            "child_id",
            "state",
            "reason_code",
            "priority_groups",
            "plan",
        ],
    )?;
    let opened = parse_date(&case.opened_on).unwrap_or_else(|| w.actor().now.date_naive());
    append(
        w,
        &case.meta.id,
        opened,
        "opened",
        None,
        Some(&case.state),
        json!({ "note": note }),
    )?;
    Ok(case)
}

fn last_event_date(conn: &Connection, case_id: &str) -> Result<Option<NaiveDate>> {
    Ok(store::case_events::list_by_case(conn, case_id)?
        .iter()
        .filter_map(|e| parse_date(&e.on_date))
        .max())
}

fn check_order(conn: &Connection, case: &Case, d: NaiveDate) -> Result<()> {
    if let Some(last) = last_event_date(conn, &case.meta.id)? {
        if d < last {
            return Err(Error::invalid(
                "日期",
                format!("{d} 早于本个案上一条记录的日期 {last}，个案记录只能按时间顺序追加"),
            ));
        }
    }
    Ok(())
}

/// Records a persuasion attempt.
pub fn record_attempt(
    reg: &mut Register,
    case_id: &str,
    a: Attempt,
    actor: &Actor,
) -> Result<CaseEvent> {
    let case = resolve(reg.conn(), case_id)?;
    if !attempts_allowed(&case.state) {
        return Err(Error::invalid(
            "劝返记录",
            format!(
                "个案当前为“{}”，不能登记劝返（已确认辍学、劝返中、延缓入学、休学的个案才能登记）",
                state_name(&case.state)
            ),
        ));
    }
    let d = date_of("劝返日期", &a.on_date, actor)?;
    check_order(reg.conn(), &case, d)?;
    let participants: Vec<String> = a
        .participants
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if participants.is_empty() {
        return Err(Error::invalid("参与人", "请填写参加劝返的人员"));
    }
    if a.joint && participants.len() < 2 {
        return Err(Error::invalid(
            "参与人",
            "联合劝返至少要有两名参与人（学校、乡镇、村等不同单位）",
        ));
    }
    let method = codes::lookup(&codes().persuasion_methods, &a.method)
        .ok_or_else(|| {
            Error::invalid(
                "劝返方式",
                format!("“{}”不在代码表中（感情、经济、行政、法律）", a.method),
            )
        })?
        .code
        .clone();
    if a.said.trim().is_empty() || a.result.trim().is_empty() {
        return Err(Error::invalid("劝返记录", "请填写劝返内容和结果"));
    }
    let mut w = reg.writer(actor)?;
    let ev = append(
        &mut w,
        &case.meta.id,
        d,
        "attempt",
        None,
        None,
        json!({
            "participants": participants,
            "joint": a.joint,
            "method": method,
            "said": a.said.trim(),
            "result": a.result.trim(),
        }),
    )?;
    w.commit()?;
    Ok(ev)
}

/// Joint attempts recorded on a case.
pub fn joint_attempts(conn: &Connection, case_id: &str) -> Result<u32> {
    Ok(store::case_events::list_by_case(conn, case_id)?
        .iter()
        .filter(|e| e.kind == "attempt")
        .filter(|e| {
            serde_json::from_str::<serde_json::Value>(&e.payload)
                .ok()
                .and_then(|v| v["joint"].as_bool())
                .unwrap_or(false)
        })
        .count() as u32)
}

fn need(field: &str, v: &Option<String>, what: &str) -> Result<String> {
    text(v).ok_or_else(|| Error::invalid(field, what.to_string()))
}

/// Moves a case to another state, checking the rules.
pub fn transition(reg: &mut Register, case_id: &str, t: Transition, actor: &Actor) -> Result<Case> {
    let case = resolve(reg.conn(), case_id)?;
    let to = codes::lookup(&codes().case_states, &t.to)
        .map(|c| c.code.clone())
        .ok_or_else(|| {
            Error::invalid(
                "目标状态",
                format!("“{}”不是个案状态（疑似辍学、已确认辍学、劝返中、已复学、已安置、延缓入学、休学、销号）", t.to),
            )
        })?;
    let from = case.state.clone();
    if from == "closed" {
        return Err(Error::invalid(
            "状态变更",
            "个案已销号，不能再变更；如再次辍学，请新建个案",
        ));
    }
    if !allowed(&from).contains(&to.as_str()) {
        let next: Vec<String> = allowed(&from).iter().map(|s| state_name(s)).collect();
        return Err(Error::invalid(
            "状态变更",
            format!(
                "个案不能从“{}”直接变为“{}”；“{}”之后只能变为：{}",
                state_name(&from),
                state_name(&to),
                state_name(&from),
                next.join("、")
            ),
        ));
    }
    let d = date_of("日期", &t.on_date, actor)?;
    check_order(reg.conn(), &case, d)?;
    let settings = Settings::load(reg.conn())?;
    let mut payload = json!({"note": text(&t.note).unwrap_or_default()});
    let mut placement_row = None;
    match to.as_str() {
        "deferred" | "suspended" => {
            let joint = joint_attempts(reg.conn(), &case.meta.id)?;
            let assessment = text(&t.assessment);
            if joint < settings.joint_attempts_required && assessment.is_none() {
                return Err(Error::invalid(
                    "状态变更",
                    format!(
                        "{}须在至少{}次联合劝返之后（本个案已有{}次），或有残疾评估结论（--assessment 评估文号）",
                        state_name(&to),
                        settings.joint_attempts_required,
                        joint
                    ),
                ));
            }
            let approver = need("审批人", &t.approver, "延缓入学、休学须填写审批人")?;
            let doc_no = need("批准文号", &t.doc_no, "延缓入学、休学须填写批准文号")?;
            payload["approver"] = json!(approver);
            payload["doc_no"] = json!(doc_no);
            payload["joint_attempts"] = json!(joint);
            if let Some(a) = assessment {
                payload["assessment"] = json!(a);
            }
        }
        "returned" | "placed" => {
            let placement = match text(&t.placement) {
                Some(p) => codes::lookup(&codes().placements, &p)
                    .ok_or_else(|| {
                        Error::invalid(
                            "安置方式",
                            format!("“{p}”不在代码表中（插班、单独编班、普职融合、个别辅导、随班就读、送教上门、特殊教育学校）"),
                        )
                    })?
                    .code
                    .clone(),
                None => {
                    return Err(Error::invalid(
                        "安置方式",
                        format!("{}须填写安置方式（插班、单独编班、普职融合、个别辅导、随班就读、送教上门、特殊教育学校）", state_name(&to)),
                    ))
                }
            };
            let school = text(&t.school);
            if to == "returned" && school.is_none() {
                return Err(Error::invalid("学校", "复学须填写复学学校（学校代码）"));
            }
            if let Some(s) = &school {
                if store::schools::get_by_code(reg.conn(), s)?.is_none() {
                    return Err(Error::invalid(
                        "学校",
                        format!("学校代码“{s}”未登记，请先用 baoxue school add 登记学校"),
                    ));
                }
            }
            payload["placement"] = json!(placement);
            payload["school"] = json!(school);
            payload["watch_until"] = json!(watch_until(d).to_string());
            placement_row = Some((placement, school));
        }
        "closed" => {
            let reason = need("销号原因", &t.reason, "销号须填写原因")?;
            let approver = need("审批人", &t.approver, "销号须填写审批人")?;
            payload["reason"] = json!(reason);
            payload["approver"] = json!(approver);
        }
        "confirmed" if from == "returned" || from == "placed" => {
            need("说明", &t.note, "再次辍学（反弹）请在 --note 中说明情况")?;
        }
        _ => {}
    }
    let mut w = reg.writer(actor)?;
    let mut next = case.clone();
    next.meta = w.next_meta(&case.meta);
    next.state = to.clone();
    if to == "closed" {
        next.closed_on = Some(d.to_string());
    }
    store::cases::put(w.conn(), &next)?;
    w.audit("cases", &next.meta.id, "update", &["state", "closed_on"])?;
    if let Some((placement, school)) = placement_row {
        let p = store::placements::Placement {
            meta: w.new_meta(),
            child_id: case.child_id.clone(),
            placement,
            school_code: school,
            since: d.to_string(),
            until: None,
            note: Some(format!(
                "个案{}：{}",
                short_id(&case.meta.id),
                state_name(&to)
            )),
        };
        store::placements::put(w.conn(), &p)?;
        w.audit(
            "placements",
            &p.meta.id,
            "insert",
            &["child_id", "placement", "school_code", "since"],
        )?;
    }
    append(
        &mut w,
        &case.meta.id,
        d,
        "transition",
        Some(&from),
        Some(&to),
        payload,
    )?;
    w.commit()?;
    Ok(next)
}

/// The last day a pupil who returned on `d` stays on the watch list: the end of the next full
/// term (terms: 秋 1 Sep – 31 Jan, 春 1 Feb – 31 Jul).
pub fn watch_until(d: NaiveDate) -> NaiveDate {
    let (y, m) = (d.year(), d.month());
    let end = if m >= 8 {
        // Autumn term (or the summer before it): watch through the spring term.
        NaiveDate::from_ymd_opt(y + 1, 7, 31)
    } else if m == 1 {
        NaiveDate::from_ymd_opt(y, 7, 31)
    } else {
        // Spring term: watch through the autumn term.
        NaiveDate::from_ymd_opt(y + 1, 1, 31)
    };
    end.unwrap_or(d)
}

/// A case with its history and what the rules need.
#[derive(Debug, Clone, Serialize)]
pub struct CaseFile {
    pub case: Case,
    pub state_name: String,
    pub child_name: String,
    pub events: Vec<CaseEvent>,
    pub joint_attempts: u32,
    pub joint_attempts_required: u32,
    /// The states the case may move to now.
    pub next_states: Vec<String>,
    /// Whether a persuasion attempt may be recorded now.
    pub attempt_allowed: bool,
    /// Whether a 限期返校通知书 may be issued now.
    pub notice_allowed: bool,
    /// On the watch list (反弹) until this day, if the pupil returned or was placed.
    pub watch_until: Option<String>,
}

/// One case file.
pub fn case_file(conn: &Connection, case_id: &str) -> Result<CaseFile> {
    let case = resolve(conn, case_id)?;
    let events = store::case_events::list_by_case(conn, &case.meta.id)?;
    let settings = Settings::load(conn)?;
    let child_name = store::children::get(conn, &case.child_id)?
        .map(|c| c.name)
        .unwrap_or_default();
    let watch = current_watch(&case, &events);
    Ok(CaseFile {
        state_name: state_name(&case.state),
        child_name,
        joint_attempts: joint_attempts(conn, &case.meta.id)?,
        joint_attempts_required: settings.joint_attempts_required,
        next_states: allowed(&case.state).iter().map(|s| s.to_string()).collect(),
        attempt_allowed: attempts_allowed(&case.state),
        notice_allowed: crate::notices::return_notice_allowed(&case.state),
        watch_until: watch.map(|d| d.to_string()),
        events,
        case,
    })
}

/// The watch end of the latest return, unless the pupil dropped out again after it.
fn current_watch(case: &Case, events: &[CaseEvent]) -> Option<NaiveDate> {
    let last_return = events.iter().rev().find(|e| {
        matches!(
            e.to_state.as_deref(),
            Some("returned" | "placed" | "confirmed")
        )
    })?;
    if last_return.to_state.as_deref() == Some("confirmed") || case.state == "confirmed" {
        return None;
    }
    parse_date(&last_return.on_date).map(watch_until)
}

/// One pupil on the watch list.
#[derive(Debug, Clone, Serialize)]
pub struct Watched {
    pub case_id: String,
    pub child_id: String,
    pub name: String,
    pub state: String,
    pub returned_on: String,
    pub watch_until: String,
    pub school_code: Option<String>,
    pub placement: Option<String>,
}

/// Pupils who returned or were placed and are still inside their watch term on `as_of`.
pub fn watch_list(conn: &Connection, as_of: NaiveDate) -> Result<Vec<Watched>> {
    let mut out = Vec::new();
    for case in store::cases::list(conn, None)? {
        let events = store::case_events::list_by_case(conn, &case.meta.id)?;
        let Some(until) = current_watch(&case, &events) else {
            continue;
        };
        if until < as_of {
            continue;
        }
        let Some(ev) = events
            .iter()
            .rev()
            .find(|e| matches!(e.to_state.as_deref(), Some("returned" | "placed")))
        else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&ev.payload).unwrap_or_default();
        let name = store::children::get(conn, &case.child_id)?
            .map(|c| c.name)
            .unwrap_or_default();
        out.push(Watched {
            case_id: case.meta.id.clone(),
            child_id: case.child_id.clone(),
            name,
            state: case.state.clone(),
            returned_on: ev.on_date.clone(),
            watch_until: until.to_string(),
            school_code: v["school"].as_str().map(str::to_string),
            placement: v["placement"].as_str().map(str::to_string),
        });
    }
    out.sort_by(|a, b| (&a.returned_on, &a.name).cmp(&(&b.returned_on, &b.name)));
    Ok(out)
}

/// Adds a placement (安置) for a child outside a case — e.g. 送教上门 for a disabled child.
pub fn add_placement(
    reg: &mut Register,
    child_id: &str,
    placement: &str,
    school: Option<&str>,
    since: &str,
    note: Option<&str>,
    actor: &Actor,
) -> Result<store::placements::Placement> {
    let child =
        store::children::get(reg.conn(), child_id.trim())?.ok_or_else(|| Error::NotFound {
            what: "儿童".into(),
            key: child_id.into(),
        })?;
    let code = codes::lookup(&codes().placements, placement)
        .ok_or_else(|| {
            Error::invalid(
                "安置方式",
                format!("“{placement}”不在代码表中（插班、单独编班、普职融合、个别辅导、随班就读、送教上门、特殊教育学校）"),
            )
        })?
        .code
        .clone();
    let school = school.map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = school {
        if store::schools::get_by_code(reg.conn(), s)?.is_none() {
            return Err(Error::invalid("学校", format!("学校代码“{s}”未登记")));
        }
    }
    let since = date_of("安置日期", since, actor)?;
    let mut w = reg.writer(actor)?;
    let p = store::placements::Placement {
        meta: w.new_meta(),
        child_id: child.meta.id.clone(),
        placement: code,
        school_code: school.map(str::to_string),
        since: since.to_string(),
        until: None,
        note: note.map(str::to_string),
    };
    store::placements::put(w.conn(), &p)?;
    w.audit(
        "placements",
        &p.meta.id,
        "insert",
        &["child_id", "placement", "school_code", "since"],
    )?;
    w.commit()?;
    Ok(p)
}

/// Finds a child by record id, or by ID number (the roster record first).
pub fn resolve_child(conn: &Connection, id_or_number: &str) -> Result<String> {
    let s = id_or_number.trim();
    if let Some(c) = store::children::get(conn, s)? {
        return Ok(c.meta.id);
    }
    if let Some(key) = crate::idnum::link_key(Some(s), Some(s)) {
        let mut found = store::children::list_by_id_key(conn, &key)?;
        found.sort_by_key(|c| c.household_id.is_none());
        if let Some(c) = found.into_iter().next() {
            return Ok(c.meta.id);
        }
    }
    Err(Error::NotFound {
        what: "儿童".into(),
        key: crate::idnum::mask_id(s),
    })
}

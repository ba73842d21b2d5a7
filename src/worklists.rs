//! The case-work screens' lists, as the app shows them (numbers masked): cases with filters and
//! what each needs next, verification tasks per village/township, attendance warnings with their
//! school and township names, and the 首页 counts (warnings due today, cases needing action,
//! open home-visit tasks). The rules stay in `cases`, `verification` and `attendance`; this
//! module only gathers and names.

use crate::attendance;
use crate::cases;
use crate::codes::{self, codes};
use crate::domain::Case;
use crate::error::Result;
use crate::households::parse_date;
use crate::idnum::mask_id;
use crate::settings::Settings;
use crate::store;
use chrono::NaiveDate;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Days without any entry after which a case 劝返中 needs action again.
pub const PERSUASION_GAP_DAYS: i64 = 14;

/// Division names by code, looked up once per list.
struct Names<'c> {
    conn: &'c Connection,
    cache: HashMap<String, String>,
}

impl<'c> Names<'c> {
    fn new(conn: &'c Connection) -> Names<'c> {
        Names {
            conn,
            cache: HashMap::new(),
        }
    }
    fn division(&mut self, code: &str) -> Result<String> {
        if let Some(n) = self.cache.get(code) {
            return Ok(n.clone());
        }
        let n = store::divisions::get(self.conn, code)?
            .map(|d| d.name)
            .unwrap_or_default();
        self.cache.insert(code.to_string(), n.clone());
        Ok(n)
    }
}

/// The 9-digit township code inside a village (or township) code.
fn township_of(code: &str) -> Option<String> {
    (code.len() >= 9 && code.is_char_boundary(9)).then(|| code[..9].to_string())
}

/// The village code of a child: its own, else its household's.
fn village_of(conn: &Connection, child: &crate::domain::Child) -> Result<Option<String>> {
    if let Some(v) = child.village_code.clone().filter(|v| !v.is_empty()) {
        return Ok(Some(v));
    }
    if let Some(h) = child.household_id.as_deref() {
        return Ok(store::households::get(conn, h)?.map(|h| h.village_code));
    }
    Ok(None)
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaseFilter {
    /// A state code (`persuading` …); none = all.
    #[serde(default)]
    pub state: Option<String>,
    /// A reason code from `dropout_reasons`.
    #[serde(default)]
    pub reason: Option<String>,
    /// A township (or village) code prefix.
    #[serde(default)]
    pub township: Option<String>,
    /// Only priority (or only non-priority) cases.
    #[serde(default)]
    pub priority: Option<bool>,
    /// Only cases that need action.
    #[serde(default)]
    pub needs_action: bool,
}

/// One case in the list.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    pub case_id: String,
    pub short_id: String,
    pub child_id: String,
    pub name: String,
    pub id_masked: Option<String>,
    /// The full number, for an export the clerk confirmed; never sent to the screen.
    #[serde(skip)]
    pub id_number: Option<String>,
    pub birth_date: Option<String>,
    pub state: String,
    pub state_name: String,
    pub reason_code: Option<String>,
    pub reason_name: String,
    pub priority: bool,
    pub priority_group_names: Vec<String>,
    pub village_code: Option<String>,
    pub township_code: Option<String>,
    pub township_name: String,
    pub opened_on: String,
    pub closed_on: Option<String>,
    pub last_event_on: String,
    pub attempts: usize,
    /// What the case needs now, in Chinese (none when nothing is due).
    pub action: Option<String>,
}

/// What a case needs now (see [`PERSUASION_GAP_DAYS`]), or none.
fn action_of(
    case: &Case,
    last: NaiveDate,
    watch: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<String> {
    match case.state.as_str() {
        "suspected" => Some("待核实确认是否辍学".into()),
        "confirmed" => Some("已确认辍学，待开始劝返".into()),
        "persuading" if (today - last).num_days() > PERSUASION_GAP_DAYS => {
            Some(format!("已{}天无劝返记录", (today - last).num_days()))
        }
        "returned" | "placed" if watch.is_some_and(|w| w < today) => {
            Some("观察期已满，可办理销号".into())
        }
        _ => None,
    }
}

/// The cases matching a filter, newest first, each with what it needs on `today`.
pub fn case_rows(conn: &Connection, f: &CaseFilter, today: NaiveDate) -> Result<Vec<CaseRow>> {
    let lists = codes();
    let mut names = Names::new(conn);
    let state = f
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| codes::lookup(&lists.case_states, s))
        .map(|c| c.code.clone());
    let mut out = Vec::new();
    for case in store::cases::list(conn, state.as_deref())? {
        if case.meta.deleted {
            continue;
        }
        if let Some(r) = f.reason.as_deref().filter(|r| !r.is_empty()) {
            if case.reason_code.as_deref() != Some(r) {
                continue;
            }
        }
        let priority = !case.priority_groups.is_empty();
        if f.priority.is_some_and(|p| p != priority) {
            continue;
        }
        let child = store::children::get(conn, &case.child_id)?;
        let village = match &child {
            Some(c) => village_of(conn, c)?,
            None => None,
        };
        let township = case
            .resp_township
            .clone()
            .filter(|t| t.len() == 9 && t.bytes().all(|b| b.is_ascii_digit()))
            .or_else(|| village.as_deref().and_then(township_of));
        if let Some(t) = f.township.as_deref().filter(|t| !t.is_empty()) {
            let inside = township.as_deref().is_some_and(|x| x.starts_with(t))
                || village.as_deref().is_some_and(|x| x.starts_with(t));
            if !inside {
                continue;
            }
        }
        let events = store::case_events::list_by_case(conn, &case.meta.id)?;
        let last = events
            .iter()
            .filter_map(|e| parse_date(&e.on_date))
            .max()
            .or_else(|| parse_date(&case.opened_on))
            .unwrap_or(today);
        let file_watch = cases::case_file(conn, &case.meta.id)?
            .watch_until
            .as_deref()
            .and_then(parse_date);
        let action = action_of(&case, last, file_watch, today);
        if f.needs_action && action.is_none() {
            continue;
        }
        let id_number = child
            .as_ref()
            .and_then(|c| c.id_number.clone().or_else(|| c.id_key.clone()));
        out.push(CaseRow {
            case_id: case.meta.id.clone(),
            short_id: cases::short_id(&case.meta.id).to_string(),
            child_id: case.child_id.clone(),
            name: child.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
            id_masked: id_number.as_deref().map(mask_id),
            id_number,
            birth_date: child.as_ref().and_then(|c| c.birth_date.clone()),
            state_name: codes::name_of(&lists.case_states, &case.state),
            state: case.state.clone(),
            reason_name: case
                .reason_code
                .as_deref()
                .map(|r| codes::name_of(&lists.dropout_reasons, r))
                .unwrap_or_default(),
            reason_code: case.reason_code.clone(),
            priority,
            priority_group_names: case
                .priority_groups
                .iter()
                .map(|g| codes::name_of(&lists.priority_groups, g))
                .collect(),
            township_name: match &township {
                Some(t) => names.division(t)?,
                None => String::new(),
            },
            township_code: township,
            village_code: village,
            opened_on: case.opened_on.clone(),
            closed_on: case.closed_on.clone(),
            last_event_on: last.to_string(),
            attempts: events.iter().filter(|e| e.kind == "attempt").count(),
            action,
        });
    }
    out.sort_by(|a, b| {
        (b.action.is_some(), &b.opened_on, &b.case_id).cmp(&(
            a.action.is_some(),
            &a.opened_on,
            &a.case_id,
        ))
    });
    Ok(out)
}

/// One verification task as the screen shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    pub task_id: String,
    pub short_id: String,
    pub child_id: String,
    pub name: String,
    pub id_masked: Option<String>,
    pub birth_date: Option<String>,
    pub area_code: String,
    pub area_name: String,
    pub township_code: Option<String>,
    pub township_name: String,
    pub reason: String,
    /// `open` or `done`.
    pub state: String,
    pub finding: Option<String>,
    pub finding_name: String,
    pub finding_detail: Option<String>,
    pub found_on: Option<String>,
    pub found_by: Option<String>,
}

/// Verification tasks of an area (code prefix) and state, by area.
pub fn task_rows(
    conn: &Connection,
    area_prefix: Option<&str>,
    state: Option<&str>,
) -> Result<Vec<TaskRow>> {
    let lists = codes();
    let mut names = Names::new(conn);
    let mut out = Vec::new();
    for t in store::verification_tasks::list(conn, area_prefix, state)? {
        let child = store::children::get(conn, &t.child_id)?;
        let id = child
            .as_ref()
            .and_then(|c| c.id_number.as_deref().or(c.id_key.as_deref()))
            .map(mask_id);
        let township = township_of(&t.area_code);
        out.push(TaskRow {
            task_id: t.meta.id.clone(),
            short_id: cases::short_id(&t.meta.id).to_string(),
            child_id: t.child_id.clone(),
            name: child.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
            id_masked: id,
            birth_date: child.as_ref().and_then(|c| c.birth_date.clone()),
            area_name: names.division(&t.area_code)?,
            area_code: t.area_code.clone(),
            township_name: match &township {
                Some(c) => names.division(c)?,
                None => String::new(),
            },
            township_code: township,
            reason: t.reason.clone(),
            state: t.state.clone(),
            finding_name: t
                .finding
                .as_deref()
                .map(|f| codes::name_of(&lists.verification_findings, f))
                .unwrap_or_default(),
            finding: t.finding.clone(),
            finding_detail: t.finding_detail.clone(),
            found_on: t.found_on.clone(),
            found_by: t.found_by.clone(),
        });
    }
    out.sort_by(|a, b| {
        (b.state == "open", &a.area_code, &a.name).cmp(&(a.state == "open", &b.area_code, &b.name))
    });
    Ok(out)
}

/// One attendance warning as the screen shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WarningRow {
    #[serde(flatten)]
    pub warning: attendance::Warning,
    pub id_masked: Option<String>,
    /// The full number, for an export the clerk confirmed; never sent to the screen.
    #[serde(skip)]
    pub id_number: Option<String>,
    pub school_name: String,
    pub township_name: String,
    /// The child's open case, if any (state name).
    pub case_state: Option<String>,
}

/// Attendance warnings on `as_of` (every school, or one), numbers masked.
pub fn warning_rows(
    conn: &Connection,
    settings: &Settings,
    as_of: NaiveDate,
    school: Option<&str>,
) -> Result<Vec<WarningRow>> {
    let lists = codes();
    let mut names = Names::new(conn);
    let mut schools: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for mut w in attendance::warnings(conn, settings, as_of, school)? {
        let school_name = match schools.get(&w.school_code) {
            Some(n) => n.clone(),
            None => {
                let n = store::schools::get_by_code(conn, &w.school_code)?
                    .map(|s| s.name)
                    .unwrap_or_default();
                schools.insert(w.school_code.clone(), n.clone());
                n
            }
        };
        let township_name = match w.township_code.as_deref() {
            Some(t) => names.division(t)?,
            None => String::new(),
        };
        let case_state = store::cases::list_by_child(conn, &w.child_id)?
            .into_iter()
            .find(|c| c.state != "closed")
            .map(|c| codes::name_of(&lists.case_states, &c.state));
        let id_number = w.id_key.take();
        out.push(WarningRow {
            warning: w,
            id_masked: id_number.as_deref().map(mask_id),
            id_number,
            school_name,
            township_name,
            case_state,
        });
    }
    Ok(out)
}

/// The 首页's case-work counts on a day.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HomeCounts {
    pub today: String,
    /// Pupils whose absences crossed a threshold (疑似辍学 / 辍学) on the last school day.
    pub warnings: usize,
    /// Of those, at the 辍学 threshold.
    pub warnings_dropout: usize,
    /// Open cases that need action now.
    pub cases_need_action: usize,
    /// Open (not 销号) cases.
    pub cases_open: usize,
    /// Home-visit tasks without a finding.
    pub tasks_open: usize,
}

/// The 首页 counts of case work on `today`.
pub fn home_counts(conn: &Connection, settings: &Settings, today: NaiveDate) -> Result<HomeCounts> {
    let warnings = attendance::warnings(conn, settings, today, None)?;
    let cases = case_rows(conn, &CaseFilter::default(), today)?;
    Ok(HomeCounts {
        today: today.to_string(),
        warnings_dropout: warnings.iter().filter(|w| w.level == "dropout").count(),
        warnings: warnings.len(),
        cases_need_action: cases.iter().filter(|c| c.action.is_some()).count(),
        cases_open: cases.iter().filter(|c| c.state != "closed").count(),
        tasks_open: store::verification_tasks::list(conn, None, Some("open"))?.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn township_is_the_first_nine_digits() {
        assert_eq!(township_of("410499100201").as_deref(), Some("410499100"));
        assert_eq!(township_of("410499100").as_deref(), Some("410499100"));
        assert_eq!(township_of("410499"), None);
    }
}

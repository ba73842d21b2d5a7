//! Commands of the case-work screens (比对核查, 个案, 考勤) and of the list exports on every
//! screen: each one call into the core (`crosscheck`, `verification`, `cases`, `notices`,
//! `attendance`, `worklists`, `listexport`). Numbers are masked before they leave; the screens
//! never decide what is legal, they ask (`case_file` carries the legal next states).

use super::{as_of, AppState, Reply};
use baoxue::attendance::{self, ClassDay, ClassRef, DayReport, SheetRow};
use baoxue::cases::{self, Attempt, CaseFile, Transition};
use baoxue::crosscheck::{self, confirm::Confirmed, confirm::Rejected, CrossCheck};
use baoxue::domain::{Case, CaseEvent};
use baoxue::listexport::{self, Format, ListKind, Saved};
use baoxue::settings::Settings;
use baoxue::verification::{self, Created, Finding, Recorded};
use baoxue::worklists::{self, CaseFilter, CaseRow, HomeCounts, TaskRow, WarningRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tauri::State;

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// Division and school names by code, for the screens to show names next to codes.
#[derive(Debug, Serialize)]
pub struct Names {
    pub divisions: BTreeMap<String, String>,
    pub schools: Vec<SchoolRef>,
}

#[derive(Debug, Serialize)]
pub struct SchoolRef {
    pub code: String,
    pub name: String,
    pub township_code: Option<String>,
}

#[tauri::command]
pub async fn casework_names(state: State<'_, AppState>) -> Reply<Names> {
    let reg = state.register()?;
    let divisions = baoxue::store::divisions::list(reg.conn())?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect();
    let schools = baoxue::store::schools::list(reg.conn())?
        .into_iter()
        .filter(|s| !s.meta.deleted)
        .map(|s| SchoolRef {
            code: s.code,
            name: s.name,
            township_code: s.township_code,
        })
        .collect();
    Ok(Names { divisions, schools })
}

#[tauri::command]
pub async fn home_counts(state: State<'_, AppState>) -> Reply<HomeCounts> {
    let reg = state.register()?;
    let settings = Settings::load(reg.conn())?;
    Ok(worklists::home_counts(reg.conn(), &settings, today())?)
}

// --- 比对核查 ------------------------------------------------------------------------------------

#[tauri::command]
pub async fn crosscheck_run(
    state: State<'_, AppState>,
    as_of_date: Option<String>,
) -> Reply<CrossCheck> {
    let day = as_of(as_of_date)?;
    let reg = state.register()?;
    let settings = Settings::load(reg.conn())?;
    Ok(crosscheck::run(reg.conn(), &settings, day)?.masked())
}

#[tauri::command]
pub async fn crosscheck_confirm(
    state: State<'_, AppState>,
    child_id: String,
    pupil_id: String,
) -> Reply<Confirmed> {
    let mut reg = state.writable()?;
    Ok(crosscheck::confirm::confirm_match(
        &mut reg,
        &child_id,
        &pupil_id,
        &state.actor(),
    )?)
}

#[tauri::command]
pub async fn crosscheck_reject(
    state: State<'_, AppState>,
    child_id: String,
    pupil_id: String,
    reason: String,
) -> Reply<Rejected> {
    let mut reg = state.writable()?;
    Ok(crosscheck::confirm::reject_match(
        &mut reg,
        &child_id,
        &pupil_id,
        &reason,
        &state.actor(),
    )?)
}

#[tauri::command]
pub async fn tasks_create(
    state: State<'_, AppState>,
    as_of_date: Option<String>,
) -> Reply<Created> {
    let day = as_of(as_of_date)?;
    let mut reg = state.writable()?;
    Ok(verification::create_from_crosscheck(
        &mut reg,
        day,
        &state.actor(),
    )?)
}

#[tauri::command]
pub async fn tasks_list(
    state: State<'_, AppState>,
    area: Option<String>,
    task_state: Option<String>,
) -> Reply<Vec<TaskRow>> {
    let reg = state.register()?;
    Ok(worklists::task_rows(
        reg.conn(),
        area.as_deref().filter(|a| !a.is_empty()),
        task_state.as_deref().filter(|s| !s.is_empty()),
    )?)
}

/// A home-visit finding as typed in the form.
#[derive(Debug, Deserialize)]
pub struct FindingForm {
    pub finding: String,
    #[serde(default)]
    pub detail: Option<String>,
    pub found_on: String,
    pub found_by: String,
}

#[tauri::command]
pub async fn task_record(
    state: State<'_, AppState>,
    task_id: String,
    form: FindingForm,
) -> Reply<Recorded> {
    let mut reg = state.writable()?;
    let f = Finding {
        finding: form.finding,
        detail: form.detail,
        found_on: form.found_on,
        found_by: form.found_by,
    };
    Ok(verification::record(&mut reg, &task_id, f, &state.actor())?)
}

// --- 个案 ----------------------------------------------------------------------------------------

#[tauri::command]
pub async fn cases_list(state: State<'_, AppState>, filter: CaseFilter) -> Reply<Vec<CaseRow>> {
    let reg = state.register()?;
    Ok(worklists::case_rows(reg.conn(), &filter, today())?)
}

/// One entry of the timeline, described in Chinese.
#[derive(Debug, Serialize)]
pub struct TimelineEntry {
    pub on_date: String,
    pub kind: String,
    pub to_state: Option<String>,
    pub text: String,
    pub operator: String,
}

/// The case file as the screen shows it.
#[derive(Debug, Serialize)]
pub struct CaseView {
    #[serde(flatten)]
    pub file: CaseFile,
    pub row: Option<CaseRow>,
    pub timeline: Vec<TimelineEntry>,
}

#[tauri::command]
pub async fn case_view(state: State<'_, AppState>, case_id: String) -> Reply<CaseView> {
    let reg = state.register()?;
    let file = cases::case_file(reg.conn(), &case_id)?;
    let row = worklists::case_rows(reg.conn(), &CaseFilter::default(), today())?
        .into_iter()
        .find(|r| r.case_id == file.case.meta.id);
    let timeline = file
        .events
        .iter()
        .map(|e: &CaseEvent| TimelineEntry {
            on_date: e.on_date.clone(),
            kind: e.kind.clone(),
            to_state: e.to_state.clone(),
            text: baoxue::childfile::describe_event(e),
            operator: e.operator.clone(),
        })
        .collect();
    Ok(CaseView {
        file,
        row,
        timeline,
    })
}

#[tauri::command]
pub async fn case_attempt(
    state: State<'_, AppState>,
    case_id: String,
    attempt: Attempt,
) -> Reply<CaseEvent> {
    let mut reg = state.writable()?;
    Ok(cases::record_attempt(
        &mut reg,
        &case_id,
        attempt,
        &state.actor(),
    )?)
}

#[tauri::command]
pub async fn case_transition(
    state: State<'_, AppState>,
    case_id: String,
    transition: Transition,
) -> Reply<Case> {
    let mut reg = state.writable()?;
    Ok(cases::transition(
        &mut reg,
        &case_id,
        transition,
        &state.actor(),
    )?)
}

#[tauri::command]
pub async fn return_notice_html(
    state: State<'_, AppState>,
    case_id: String,
    deadline: String,
    issuer: String,
) -> Reply<String> {
    let mut reg = state.writable()?;
    Ok(baoxue::notices::issue_return_notice(
        &mut reg,
        &case_id,
        &deadline,
        &issuer,
        &state.actor(),
    )?)
}

// --- 考勤 ----------------------------------------------------------------------------------------

#[tauri::command]
pub async fn attendance_classes(
    state: State<'_, AppState>,
    school: String,
) -> Reply<Vec<ClassRef>> {
    Ok(attendance::classes(state.register()?.conn(), &school)?)
}

#[tauri::command]
pub async fn attendance_sheet(
    state: State<'_, AppState>,
    school: String,
    grade: Option<i64>,
    class_name: Option<String>,
    date: String,
) -> Reply<Vec<SheetRow>> {
    Ok(attendance::class_sheet(
        state.register()?.conn(),
        &school,
        grade,
        class_name.as_deref(),
        &date,
    )?)
}

/// A class's day as entered: who was absent, who on leave (record ids); the rest present.
#[derive(Debug, Deserialize)]
pub struct DayForm {
    pub school: String,
    #[serde(default)]
    pub grade: Option<i64>,
    #[serde(default)]
    pub class_name: Option<String>,
    pub date: String,
    #[serde(default)]
    pub absent: Vec<String>,
    #[serde(default)]
    pub leave: Vec<String>,
}

#[tauri::command]
pub async fn attendance_record(state: State<'_, AppState>, day: DayForm) -> Reply<DayReport> {
    let mut reg = state.writable()?;
    let d = ClassDay {
        school_code: day.school,
        grade: day.grade,
        class_name: day.class_name,
        date: day.date,
        absent: day.absent,
        leave: day.leave,
    };
    Ok(attendance::record_day(&mut reg, &d, &state.actor())?)
}

#[tauri::command]
pub async fn warnings_list(
    state: State<'_, AppState>,
    as_of_date: Option<String>,
    school: Option<String>,
) -> Reply<Vec<WarningRow>> {
    let day = as_of(as_of_date)?;
    let reg = state.register()?;
    let settings = Settings::load(reg.conn())?;
    Ok(worklists::warning_rows(
        reg.conn(),
        &settings,
        day,
        school.as_deref().filter(|s| !s.is_empty()),
    )?)
}

// --- any list as a file ------------------------------------------------------------------------

#[tauri::command]
pub async fn export_list(
    state: State<'_, AppState>,
    list: ListKind,
    format: Format,
    full: bool,
    as_of_date: Option<String>,
) -> Reply<Saved> {
    let day = as_of(as_of_date)?;
    let dir = baoxue::paths::default_export_dir();
    let mut reg = state.writable()?;
    Ok(listexport::save(
        &mut reg,
        &list,
        day,
        format,
        full,
        &dir,
        &state.actor(),
    )?)
}

//! The commands the UI calls: each takes the managed register, calls one core function and
//! returns its result. Errors cross to the UI as `{code, message}` (the core's stable code and
//! its Chinese text); nothing here panics. Only this layer reads the clock and the operator name.

pub mod search;

use baoxue::codes::CodeLists;
use baoxue::demo::DemoSummary;
use baoxue::domain::SiteKind;
use baoxue::households::{HouseholdQuery, NewHousehold};
use baoxue::ledger::{LedgerKind, LedgerOptions};
use baoxue::register::NewSite;
use baoxue::roster::{self, IdFacts, Overview, RosterRow};
use baoxue::stats::{DrillRow, Metric, Stats};
use baoxue::{Actor, Register};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use tauri::State;

/// The open register and who is working on it.
pub struct AppState {
    pub register: Mutex<Register>,
    pub path: PathBuf,
    pub operator: String,
}

impl AppState {
    fn register(&self) -> Result<MutexGuard<'_, Register>, UiError> {
        self.register.lock().map_err(|_| UiError {
            code: "busy".into(),
            message: "登记库暂时不可用，请关闭程序后重新打开".into(),
        })
    }
    fn actor(&self) -> Actor {
        Actor::new(&self.operator, chrono::Utc::now())
    }
}

/// An error as the UI receives it.
#[derive(Debug, Serialize)]
pub struct UiError {
    pub code: String,
    pub message: String,
}

impl From<baoxue::Error> for UiError {
    fn from(e: baoxue::Error) -> Self {
        UiError {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

type Reply<T> = Result<T, UiError>;

/// The site as typed in the set-up form.
#[derive(Debug, Deserialize)]
pub struct SiteForm {
    pub kind: SiteKind,
    pub name: String,
    pub region_code: String,
    #[serde(default)]
    pub school_code: Option<String>,
}

/// The site, its counts and where the register file is.
#[derive(Debug, Serialize)]
pub struct SiteInfo {
    #[serde(flatten)]
    pub overview: Overview,
    pub path: String,
    pub operator: String,
}

#[tauri::command]
pub async fn site_info(state: State<'_, AppState>) -> Reply<SiteInfo> {
    let overview = roster::overview(&*state.register()?)?;
    Ok(SiteInfo {
        overview,
        path: state.path.display().to_string(),
        operator: state.operator.clone(),
    })
}

#[tauri::command]
pub async fn init_site(state: State<'_, AppState>, site: SiteForm) -> Reply<Overview> {
    let mut reg = state.register()?;
    let new = NewSite {
        kind: site.kind,
        name: site.name,
        region_code: site.region_code,
        school_code: site.school_code,
    };
    reg.init_site(new, &state.actor())?;
    Ok(roster::overview(&reg)?)
}

#[tauri::command]
pub async fn load_demo(state: State<'_, AppState>) -> Reply<DemoSummary> {
    let mut reg = state.register()?;
    Ok(baoxue::demo::load_demo(&mut reg, &state.actor())?)
}

#[tauri::command]
pub async fn list_households(
    state: State<'_, AppState>,
    query: HouseholdQuery,
) -> Reply<Vec<RosterRow>> {
    Ok(roster::roster(&*state.register()?, &query)?)
}

#[tauri::command]
pub async fn add_household(
    state: State<'_, AppState>,
    household: NewHousehold,
) -> Reply<RosterRow> {
    let mut reg = state.register()?;
    let view = baoxue::households::add_household(&mut reg, household, &state.actor())?;
    Ok(roster::masked_row(&view))
}

#[tauri::command]
pub async fn check_id(raw: String) -> Reply<IdFacts> {
    Ok(roster::check_id(&raw)?)
}

#[tauri::command]
pub async fn code_lists() -> Reply<CodeLists> {
    Ok(baoxue::codes::codes().clone())
}

/// The statistics date: the one typed (any form the importers accept), else today.
fn as_of(typed: Option<String>) -> Reply<chrono::NaiveDate> {
    match typed.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(chrono::Local::now().date_naive()),
        Some(s) => baoxue::households::parse_date(s).ok_or_else(|| UiError {
            code: "invalid".into(),
            message: format!("统计日期“{s}”无效，请按 2026-11-23 的格式填写"),
        }),
    }
}

#[tauri::command]
pub async fn stats(state: State<'_, AppState>, as_of_date: Option<String>) -> Reply<Stats> {
    let day = as_of(as_of_date)?;
    Ok(baoxue::stats::compute(state.register()?.conn(), day)?)
}

#[tauri::command]
pub async fn stats_drill(
    state: State<'_, AppState>,
    metric: String,
    by: String,
    key: String,
    as_of_date: Option<String>,
) -> Reply<Vec<DrillRow>> {
    let invalid = |m: String| UiError {
        code: "invalid".into(),
        message: m,
    };
    let m = Metric::parse(&metric).ok_or_else(|| invalid(format!("没有“{metric}”这项指标")))?;
    let day = as_of(as_of_date)?;
    let reg = state.register()?;
    let s = baoxue::stats::compute(reg.conn(), day)?;
    baoxue::stats::drill_rows(reg.conn(), &s, m, &by, &key)?
        .ok_or_else(|| invalid(format!("没有 {by} = {key} 这一组的统计数字")))
}

/// Where a ledger was written and how many rows it has.
#[derive(Debug, Serialize)]
pub struct Exported {
    pub path: String,
    pub rows: usize,
}

#[tauri::command]
pub async fn export_ledger(
    state: State<'_, AppState>,
    kind: String,
    full: bool,
    as_of_date: Option<String>,
) -> Reply<Exported> {
    let kind = LedgerKind::parse(&kind).ok_or_else(|| UiError {
        code: "invalid".into(),
        message: format!("没有“{kind}”这种台账"),
    })?;
    let day = as_of(as_of_date)?;
    let name = format!("{}_{}.xlsx", kind.title().replace('/', "、"), day);
    let dir = baoxue::paths::default_export_dir();
    std::fs::create_dir_all(&dir).map_err(|e| UiError {
        code: "io".into(),
        message: format!("无法建立文件夹 {}：{e}", dir.display()),
    })?;
    let path = dir.join(name);
    let opts = LedgerOptions {
        kind,
        area: None,
        full,
        as_of: day,
    };
    let rows = baoxue::ledger::write(&mut *state.register()?, &opts, &path, &state.actor())?;
    Ok(Exported {
        path: path.display().to_string(),
        rows,
    })
}

#[tauri::command]
pub async fn child_file_html(state: State<'_, AppState>, key: String) -> Reply<String> {
    let reg = state.register()?;
    let file = baoxue::childfile::load(reg.conn(), &key)?;
    Ok(baoxue::childfile::to_html(reg.conn(), &file, false)?)
}

#[tauri::command]
pub async fn enrol_notices_html(state: State<'_, AppState>, year: i32) -> Reply<String> {
    let reg = state.register()?;
    let site = reg.require_site()?;
    let today = chrono::Local::now().date_naive();
    let list = baoxue::notices::enrol_notices(reg.conn(), year, None)?;
    Ok(baoxue::notices::enrol_html(
        reg.conn(),
        &list,
        year,
        &site.name,
        today,
    )?)
}

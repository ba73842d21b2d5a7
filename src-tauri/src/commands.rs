//! The commands the UI calls: each takes the managed register, calls one core function and
//! returns its result. Errors cross to the UI as `{code, message}` (the core's stable code and
//! its Chinese text); nothing here panics. Only this layer reads the clock and the operator name.

use baoxue::codes::CodeLists;
use baoxue::demo::DemoSummary;
use baoxue::domain::SiteKind;
use baoxue::households::{HouseholdQuery, NewHousehold};
use baoxue::register::NewSite;
use baoxue::roster::{self, IdFacts, Overview, RosterRow};
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

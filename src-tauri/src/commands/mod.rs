//! The commands the UI calls: each takes the managed register, calls one core function and
//! returns its result. Errors cross to the UI as `{code, message}` (the core's stable code and
//! its Chinese text); nothing here panics. Only this layer reads the clock and the operator name.
//! `AppState::register()` gives the open register or refuses with `locked` (see `security.rs`).

pub mod exchange;
pub mod households;
pub mod import;
pub mod jobs;
pub mod search;
pub mod stats;

pub mod casework;

use baoxue::codes::CodeLists;
use baoxue::demo::DemoSummary;
use baoxue::domain::SiteKind;
use baoxue::households::{HouseholdQuery, NewHousehold};
use baoxue::ledger::{LedgerKind, LedgerOptions};
use baoxue::register::NewSite;
use baoxue::roster::{self, IdFacts, Overview, RosterRow};
use baoxue::{Actor, Register};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use tauri::State;

pub mod security;

/// The register (`None` while it is locked: encrypted and not unlocked yet, an operator PIN not
/// given yet, or no register file before site setup) and who works on it.
pub struct AppState {
    pub register: Mutex<Option<Register>>,
    pub path: PathBuf,
    pub operator: String,
    /// The long jobs (import, export, merge): the running one and the last few finished.
    pub jobs: jobs::Jobs,
    /// Where a request to close the window stands (the UI is asked first).
    pub close: security::CloseState,
}

/// The open register, held locked for one command: derefs to [`Register`].
pub struct Open<'a>(MutexGuard<'a, Option<Register>>);

impl std::ops::Deref for Open<'_> {
    type Target = Register;
    fn deref(&self) -> &Register {
        // Invariant: `AppState::register` builds an `Open` only around a `Some`, and the guard
        // keeps the slot locked for as long as the `Open` lives.
        self.0
            .as_ref()
            .expect("Open is built only around an open register")
    }
}

impl std::ops::DerefMut for Open<'_> {
    fn deref_mut(&mut self) -> &mut Register {
        self.0
            .as_mut()
            .expect("Open is built only around an open register")
    }
}

impl AppState {
    /// The slot itself (open or not), for the commands that open or close the register.
    pub(crate) fn slot(&self) -> Result<MutexGuard<'_, Option<Register>>, UiError> {
        self.register.lock().map_err(|_| UiError {
            code: "busy".into(),
            message: "登记库暂时不可用，请关闭程序后重新打开".into(),
        })
    }

    /// The open register, or `locked` (encrypted and not unlocked yet, or the operator's PIN
    /// not given yet) / `not_initialised` (no register file yet: site setup creates it).
    pub(crate) fn register(&self) -> Result<Open<'_>, UiError> {
        let slot = self.slot()?;
        if slot.is_some() {
            return Ok(Open(slot));
        }
        drop(slot);
        Err(match baoxue::encryption::protection(&self.path)? {
            baoxue::encryption::Protection::Missing => baoxue::Error::NotInitialised.into(),
            baoxue::encryption::Protection::Encrypted => UiError {
                code: "locked".into(),
                message: "登记库已加密，尚未解锁：请在解锁界面输入设置单位时设定的口令".into(),
            },
            baoxue::encryption::Protection::Plain => UiError {
                code: "locked".into(),
                message: format!(
                    "登记库尚未打开：请在解锁界面输入操作员“{}”的密码",
                    self.operator
                ),
            },
        })
    }

    /// The open register for a command that writes: refused (`busy`, naming the job and how far
    /// it is) while a long job writes on its own connection, instead of waiting for it.
    pub(crate) fn writable(&self) -> Result<Open<'_>, UiError> {
        if let Some(j) = self.jobs.running() {
            let s = j.status();
            return Err(jobs::busy_with(&s.kind, s.done, s.total));
        }
        self.register()
    }

    /// A second connection to the open register for a long job: the same file, opened as the
    /// app opened it (with the passphrase the app holds for an encrypted register; the
    /// operator's PIN was checked when the app's connection opened). Refused (`locked`) while
    /// the app's own register is not open.
    pub(crate) fn job_register(&self) -> Result<Register, UiError> {
        let passphrase = {
            let reg = self.register()?;
            reg.passphrase()
                .map(|p| zeroize::Zeroizing::new(p.to_string()))
        };
        Ok(Register::open_with(
            &self.path,
            passphrase.as_ref().map(|p| p.as_str()),
        )?)
    }

    pub(crate) fn actor(&self) -> Actor {
        Actor::new(&self.operator, chrono::Utc::now())
    }
}

/// An error as the UI receives it.
#[derive(Debug, Clone, Serialize)]
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
    let overview = match state.register() {
        Ok(reg) => roster::overview(&reg)?,
        // No register file yet: an empty overview (no site), so the UI shows site setup.
        Err(e) if e.code == "not_initialised" => roster::overview(&Register::open_in_memory()?)?,
        Err(e) => return Err(e),
    };
    Ok(SiteInfo {
        overview,
        path: state.path.display().to_string(),
        operator: state.operator.clone(),
    })
}

/// Site setup. A new register file is created encrypted with `passphrase` (required, at least
/// `min_passphrase_chars` from `lock_state`); a register already open is set up as it is.
#[tauri::command]
pub async fn init_site(
    state: State<'_, AppState>,
    site: SiteForm,
    passphrase: Option<String>,
) -> Reply<Overview> {
    security::create_if_missing(&state, passphrase, false)?;
    let mut reg = state.writable()?;
    let new = NewSite {
        kind: site.kind,
        name: site.name,
        region_code: site.region_code,
        school_code: site.school_code,
    };
    reg.init_site(new, &state.actor())?;
    Ok(roster::overview(&reg)?)
}

/// Loads the demonstration county into an empty register: a new register file is encrypted when
/// a passphrase is given, else plain (a training register).
#[tauri::command]
pub async fn load_demo(
    state: State<'_, AppState>,
    passphrase: Option<String>,
) -> Reply<DemoSummary> {
    security::create_if_missing(&state, passphrase, true)?;
    let mut reg = state.writable()?;
    Ok(baoxue::demo::load_demo(&mut reg, &state.actor())?)
}

/// The 学户册 search box; letters alone (`zs`) also find households by a child's pinyin initials
/// through the app's search index.
#[tauri::command]
pub async fn list_households(
    state: State<'_, AppState>,
    search: State<'_, search::SearchState>,
    query: HouseholdQuery,
) -> Reply<Vec<RosterRow>> {
    let reg = state.register()?;
    if !roster::searches_initials(&query) {
        return Ok(roster::roster(&reg, &query)?);
    }
    let mut cache = search.lock()?;
    let index = cache.current(reg.conn())?;
    Ok(roster::roster_search(&reg, index, &query)?)
}

#[tauri::command]
pub async fn add_household(
    state: State<'_, AppState>,
    household: NewHousehold,
) -> Reply<RosterRow> {
    let mut reg = state.writable()?;
    let view = baoxue::households::add_household(&mut reg, household, &state.actor())?;
    Ok(roster::masked_row(reg.conn(), &view)?)
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
pub(crate) fn as_of(typed: Option<String>) -> Reply<chrono::NaiveDate> {
    match typed.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(chrono::Local::now().date_naive()),
        Some(s) => baoxue::households::parse_date(s).ok_or_else(|| UiError {
            code: "invalid".into(),
            message: format!("统计日期“{s}”无效，请按 2026-11-23 的格式填写"),
        }),
    }
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
    let rows = baoxue::ledger::write(&mut *state.writable()?, &opts, &path, &state.actor())?;
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

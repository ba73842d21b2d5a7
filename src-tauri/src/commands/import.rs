//! 学籍 screen: the import wizard's commands. A roll sheet, a village household roster or a
//! department list: the sheets of a file, a preview (the same import as a dry run, rolled back),
//! the import itself as a long job (progress, cancel), and the refused rows saved as an error
//! sheet (.xlsx) — never over an existing file unless the clerk confirmed.

use super::jobs::{Job, JobStatus, Output};
use super::{AppState, Reply, UiError};
use baoxue::import::{self, errors_out, roll, RefusedRow};
use baoxue::lists::{self, ListImport};
use baoxue::Register;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tauri::{AppHandle, State};

/// Refused rows and warnings sent to the screen at most (the error sheet has them all).
const SHOWN: usize = 1000;

fn invalid(message: impl Into<String>) -> UiError {
    UiError {
        code: "invalid".into(),
        message: message.into(),
    }
}

/// A school as the wizard offers it.
#[derive(Debug, Serialize)]
pub struct SchoolChoice {
    pub code: String,
    pub name: String,
}

/// A department-list kind as the wizard offers it.
#[derive(Debug, Serialize)]
pub struct ListKindChoice {
    pub value: String,
    pub label: String,
    pub department: String,
}

/// What the wizard needs before a file is chosen.
#[derive(Debug, Serialize)]
pub struct ImportOptions {
    pub schools: Vec<SchoolChoice>,
    /// This site's own school code (a school site), to preselect.
    pub own_school: Option<String>,
    /// The current term (`2026秋`).
    pub term: String,
    pub list_kinds: Vec<ListKindChoice>,
}

#[tauri::command]
pub async fn import_options(state: State<'_, AppState>) -> Reply<ImportOptions> {
    let reg = state.register()?;
    let site = reg.require_site()?;
    let schools = baoxue::store::schools::list(reg.conn())?
        .into_iter()
        .map(|s| SchoolChoice {
            code: s.code,
            name: s.name,
        })
        .collect();
    Ok(ImportOptions {
        schools,
        own_school: site.school_code,
        term: roll::term_of(chrono::Local::now().date_naive()),
        list_kinds: lists::Kind::ALL
            .iter()
            .map(|k| ListKindChoice {
                value: k.as_str().into(),
                label: k.label().into(),
                department: k.department().into(),
            })
            .collect(),
    })
}

/// The sheets of a file (a .csv has one, named after the file).
#[tauri::command]
pub async fn import_sheets(path: String) -> Reply<Vec<String>> {
    let p = existing_file(&path)?;
    Ok(import::source::sheet_names(&p).map_err(baoxue::Error::from)?)
}

fn existing_file(path: &str) -> Reply<PathBuf> {
    let p = PathBuf::from(path.trim());
    if path.trim().is_empty() {
        return Err(invalid("请先选择或填写要导入的文件"));
    }
    if !p.is_file() {
        return Err(UiError {
            code: "io".into(),
            message: format!("找不到文件“{}”，请检查路径", p.display()),
        });
    }
    Ok(p)
}

/// The wizard's choices.
#[derive(Debug, Clone, Deserialize)]
pub struct ImportRequest {
    /// `roll`, `households` or `list`.
    pub kind: String,
    pub path: String,
    #[serde(default)]
    pub sheet: Option<String>,
    /// Roll sheets: the school code and the term.
    #[serde(default)]
    pub school: Option<String>,
    #[serde(default)]
    pub term: Option<String>,
    /// Department lists: hukou|disabled|poverty|welfare|aid, the department, the extract date.
    #[serde(default)]
    pub list_kind: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub as_of: Option<String>,
    pub dry_run: bool,
}

/// What a finished import keeps for the error sheet.
struct Refused {
    labels: Vec<String>,
    rows: Vec<RefusedRow>,
    file: PathBuf,
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Starts a preview (`dry_run`) or an import as a job; `job_status` reports progress and, once
/// finished, `{kind, report, households?, refused_total, warnings_total, can_save_errors}`.
#[tauri::command]
pub async fn import_start(
    app: AppHandle,
    state: State<'_, AppState>,
    req: ImportRequest,
) -> Reply<JobStatus> {
    let path = existing_file(&req.path)?;
    match req.kind.as_str() {
        "roll" if blank(&req.school).is_none() => {
            return Err(invalid("请选择花名册所属的学校"));
        }
        "list" if blank(&req.source).is_none() => {
            return Err(invalid("请填写名单的提供部门（如 鲁山县公安局）"));
        }
        "roll" | "households" | "list" => {}
        other => return Err(invalid(format!("没有“{other}”这种导入"))),
    }
    let kind = if req.dry_run { "preview" } else { "import" };
    state.jobs.start(&app, kind, move |state, job, reg| {
        run(state, job, reg, &req, &path)
    })
}

fn run(
    state: &AppState,
    job: &Job,
    reg: &mut Register,
    req: &ImportRequest,
    path: &Path,
) -> Result<Output, UiError> {
    let actor = state.actor();
    let sheet = blank(&req.sheet);
    let (report, households, labels, rows) = match req.kind.as_str() {
        "roll" => {
            let opts = roll::RollImport {
                school: blank(&req.school).unwrap_or_default(),
                term: blank(&req.term),
                sheet,
                dry_run: req.dry_run,
            };
            let out = job.control(|ctl| roll::import_roll(reg, path, &opts, &actor, ctl))?;
            (
                serde_json::to_value(&out.report).map_err(baoxue::Error::from)?,
                None,
                out.header_labels,
                out.refused_rows,
            )
        }
        "households" => {
            let (out, counts) = job.control(|ctl| {
                import::households::import_households(
                    reg,
                    path,
                    sheet.as_deref(),
                    req.dry_run,
                    &actor,
                    ctl,
                )
            })?;
            (
                serde_json::to_value(&out.report).map_err(baoxue::Error::from)?,
                Some(serde_json::to_value(counts).map_err(baoxue::Error::from)?),
                out.header_labels,
                out.refused_rows,
            )
        }
        _ => {
            let raw_kind = req.list_kind.clone().unwrap_or_default();
            let kind = lists::Kind::parse(&raw_kind)
                .ok_or_else(|| invalid(format!("没有“{raw_kind}”这种部门名单")))?;
            let as_of = match blank(&req.as_of) {
                None => chrono::Local::now().date_naive(),
                Some(s) => baoxue::households::parse_date(&s).ok_or_else(|| {
                    invalid(format!("名单日期“{s}”无效，请按 2026-09-01 的格式填写"))
                })?,
            };
            let opts = ListImport {
                kind,
                source: blank(&req.source).unwrap_or_default(),
                as_of,
                sheet,
                dry_run: req.dry_run,
            };
            let out = job.control(|ctl| lists::import_list(reg, path, &opts, &actor, ctl))?;
            (
                serde_json::to_value(&out.report).map_err(baoxue::Error::from)?,
                None,
                out.header_labels,
                out.refused_rows,
            )
        }
    };
    let mut report = report;
    let refused_total = cap(&mut report, "refused");
    let warnings_total = cap(&mut report, "warnings");
    let value = serde_json::json!({
        "kind": req.kind,
        "dry_run": req.dry_run,
        "report": report,
        "households": households,
        "refused_total": refused_total,
        "warnings_total": warnings_total,
        "can_save_errors": !rows.is_empty(),
        "errors_file": errors_file_for(path).display().to_string(),
    });
    let kept = Refused {
        labels,
        rows,
        file: path.to_path_buf(),
    };
    Ok((value, Some(Box::new(kept))))
}

/// Keeps the first `SHOWN` entries of a list in the report; returns how many there were.
fn cap(report: &mut serde_json::Value, key: &str) -> usize {
    match report.get_mut(key).and_then(|v| v.as_array_mut()) {
        Some(list) => {
            let n = list.len();
            list.truncate(SHOWN);
            n
        }
        None => 0,
    }
}

/// Where the error sheet goes by default: beside the file, `<name>_拒收行.xlsx`.
fn errors_file_for(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "导入".into());
    path.with_file_name(format!("{stem}_拒收行.xlsx"))
}

/// Where an error sheet was saved.
#[derive(Debug, Serialize)]
pub struct SavedErrors {
    pub path: String,
    pub rows: usize,
}

/// Writes the refused rows of finished job `id` to `path` (.xlsx). An existing file is refused
/// with code `exists` unless `overwrite` (the clerk confirmed).
#[tauri::command]
pub async fn import_save_errors(
    state: State<'_, AppState>,
    id: u64,
    path: String,
    overwrite: bool,
) -> Reply<SavedErrors> {
    let job = state.jobs.get(id)?;
    let mut target = PathBuf::from(path.trim());
    if path.trim().is_empty() {
        return Err(invalid("请填写错误行文件的保存位置"));
    }
    if target.is_dir() {
        let default = job
            .with_kept(|r: &Refused| errors_file_for(&r.file))
            .unwrap_or_else(|| PathBuf::from("拒收行.xlsx"));
        target = target.join(default.file_name().unwrap_or_default());
    }
    if target
        .extension()
        .is_none_or(|e| !e.eq_ignore_ascii_case("xlsx"))
    {
        target.set_extension("xlsx");
    }
    if target.exists() && !overwrite {
        return Err(UiError {
            code: "exists".into(),
            message: format!("文件“{}”已存在", target.display()),
        });
    }
    let written = job
        .with_kept(|r: &Refused| {
            if r.rows.is_empty() {
                return Err(invalid("这次导入没有拒收的行，无需保存错误行文件"));
            }
            errors_out::write(&target, &r.labels, &r.rows)?;
            Ok(r.rows.len())
        })
        .ok_or_else(|| invalid("这项任务没有可保存的拒收行，请重新导入"))??;
    Ok(SavedErrors {
        path: target.display().to_string(),
        rows: written,
    })
}

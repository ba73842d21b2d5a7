//! Long jobs (an import, a bundle export or import): each runs on its own thread, off the UI and
//! off the async runtime, on its OWN connection to the register file (opened as the app opened
//! it, with the passphrase the app holds), so the screens keep reading through the app's
//! connection while the job writes (WAL: readers see the register as it was until the job
//! commits). The core reports progress into atomics that the UI polls with `job_status`;
//! `job_cancel` sets the flag the core checks between batches, and the core then rolls its
//! transaction back (nothing half-written). One job at a time: a second one is refused (`busy`,
//! naming the running job), and so are the screens' own writes while a job runs
//! (`AppState::writable`); `job_current` tells every screen what is running.

use super::{AppState, Reply, UiError};
use baoxue::progress::{Control, Progress};
use baoxue::Register;
use serde::Serialize;
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Manager, State};

/// What a finished job produced: a JSON value for the UI, and anything kept for later commands
/// (an import's refused rows, for the error sheet).
pub type Output = (serde_json::Value, Option<Box<dyn Any + Send>>);

/// One job: its counters, its cancel flag and, once finished, its result.
pub struct Job {
    pub id: u64,
    pub kind: String,
    done: AtomicU64,
    total: AtomicU64,
    cancel: AtomicBool,
    finished: AtomicBool,
    /// What the job is doing now (`第 2/5 个数据包`), for the UI.
    step: Mutex<String>,
    result: Mutex<Option<Result<serde_json::Value, UiError>>>,
    kept: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Job {
    /// Runs `f` with a `Control` wired to this job's counters and cancel flag.
    pub fn control<T>(&self, f: impl FnOnce(&mut Control<'_>) -> T) -> T {
        let mut cb = |p: Progress| {
            self.done.store(p.done, Ordering::Relaxed);
            self.total.store(p.total_estimate, Ordering::Relaxed);
        };
        let mut ctl = Control {
            progress: Some(&mut cb),
            cancel: Some(&self.cancel),
        };
        f(&mut ctl)
    }

    /// Records the job's result (and what it keeps); from then on it reads as finished.
    pub fn finish(&self, out: Result<Output, UiError>) {
        let (result, kept) = match out {
            Ok((v, k)) => (Ok(v), k),
            Err(e) => (Err(e), None),
        };
        if let Ok(mut k) = self.kept.lock() {
            *k = kept;
        }
        if let Ok(mut r) = self.result.lock() {
            *r = Some(result);
        }
        self.finished.store(true, Ordering::Release);
    }

    /// Asks the job to stop (the core rolls its transaction back).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    pub fn set_step(&self, step: String) {
        if let Ok(mut s) = self.step.lock() {
            *s = step;
        }
        self.done.store(0, Ordering::Relaxed);
        self.total.store(0, Ordering::Relaxed);
    }

    /// Takes what the job kept, if it is of type `T` (it stays kept otherwise).
    pub fn with_kept<T: 'static, R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let kept = self.kept.lock().ok()?;
        kept.as_ref()?.downcast_ref::<T>().map(f)
    }

    pub fn status(&self) -> JobStatus {
        let finished = self.finished.load(Ordering::Acquire);
        let (result, error) = if finished {
            match self.result.lock().ok().and_then(|r| r.clone()) {
                Some(Ok(v)) => (Some(v), None),
                Some(Err(e)) => (None, Some(e)),
                None => (None, None),
            }
        } else {
            (None, None)
        };
        JobStatus {
            id: self.id,
            kind: self.kind.clone(),
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            step: self.step.lock().map(|s| s.clone()).unwrap_or_default(),
            cancel_requested: self.cancelled(),
            finished,
            result,
            error,
        }
    }
}

/// A job as the UI sees it.
#[derive(Debug, Serialize)]
pub struct JobStatus {
    pub id: u64,
    pub kind: String,
    pub done: u64,
    pub total: u64,
    pub step: String,
    pub cancel_requested: bool,
    pub finished: bool,
    pub result: Option<serde_json::Value>,
    pub error: Option<UiError>,
}

/// The app's jobs: the running one and the last few finished ones.
#[derive(Default)]
pub struct Jobs {
    next: AtomicU64,
    list: Mutex<BTreeMap<u64, Arc<Job>>>,
}

/// Finished jobs kept (for their results and error sheets).
const KEEP: usize = 8;

fn busy() -> UiError {
    UiError {
        code: "busy".into(),
        message: "另一项任务（导入或导出）正在进行，请等它完成或取消后再试".into(),
    }
}

/// What a job kind is called on screen (`正在导入…`).
pub fn label(kind: &str) -> &'static str {
    match kind {
        "preview" => "预览导入",
        "import" => "导入",
        "export" => "导出数据包",
        "bundle_import" => "导入数据包",
        _ => "后台任务",
    }
}

/// The refusal while job `kind` runs, with how far it is.
pub fn busy_with(kind: &str, done: u64, total: u64) -> UiError {
    let pct = (done.min(total) * 100)
        .checked_div(total)
        .map(|p| format!("（已完成 {p}%）"))
        .unwrap_or_default();
    UiError {
        code: "busy".into(),
        message: format!(
            "正在{}{pct}，请等它完成或在“{}”处取消后再试；查看和查询不受影响",
            label(kind),
            if kind == "export" || kind == "bundle_import" {
                "数据交换"
            } else {
                "学籍"
            }
        ),
    }
}

impl Jobs {
    /// The job running now, if any.
    pub fn running(&self) -> Option<Arc<Job>> {
        let list = self.list.lock().ok()?;
        list.values()
            .find(|j| !j.finished.load(Ordering::Acquire))
            .cloned()
    }

    /// Registers a new job of `kind`, refusing (`busy`, naming the running job and how far it
    /// is) while another one runs. `open` runs under the list's lock before the job is listed
    /// (the job's own connection: a locked register is refused at once and lists nothing).
    pub fn begin<R>(&self, kind: &str, open: impl FnOnce() -> Reply<R>) -> Reply<(Arc<Job>, R)> {
        let mut list = self.list.lock().map_err(|_| busy())?;
        if let Some(j) = list.values().find(|j| !j.finished.load(Ordering::Acquire)) {
            return Err(busy_with(
                &j.kind,
                j.done.load(Ordering::Relaxed),
                j.total.load(Ordering::Relaxed),
            ));
        }
        let opened = open()?;
        while list.len() >= KEEP {
            let Some(first) = list.keys().next().copied() else {
                break;
            };
            list.remove(&first);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let job = Arc::new(Job {
            id,
            kind: kind.to_string(),
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            step: Mutex::new(String::new()),
            result: Mutex::new(None),
            kept: Mutex::new(None),
        });
        list.insert(id, job.clone());
        Ok((job, opened))
    }

    /// Starts `work` on a new thread with its own connection to the register (opened before
    /// the thread starts, so a locked register is refused at once); refuses while another job
    /// runs.
    pub fn start(
        &self,
        app: &AppHandle,
        kind: &str,
        work: impl FnOnce(&AppState, &Job, &mut Register) -> Result<Output, UiError> + Send + 'static,
    ) -> Reply<JobStatus> {
        let state = app.state::<AppState>();
        let (job, mut reg) = self.begin(kind, || state.job_register())?;
        let id = job.id;
        let app = app.clone();
        let runner = job.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("baoxue-job-{id}"))
            .spawn(move || {
                let state = app.state::<AppState>();
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    work(&state, &runner, &mut reg)
                }))
                .unwrap_or_else(|_| {
                    Err(UiError {
                        code: "internal".into(),
                        message: "任务意外中止，登记库未作改动；请重启保学后再试".into(),
                    })
                });
                // The job's connection is closed before the job reads as finished.
                drop(reg);
                runner.finish(out);
            });
        if let Err(e) = spawned {
            job.finished.store(true, Ordering::Release);
            return Err(UiError {
                code: "internal".into(),
                message: format!("无法启动后台任务：{e}"),
            });
        }
        Ok(job.status())
    }

    pub fn get(&self, id: u64) -> Reply<Arc<Job>> {
        self.list
            .lock()
            .map_err(|_| busy())?
            .get(&id)
            .cloned()
            .ok_or_else(|| UiError {
                code: "not_found".into(),
                message: "找不到这项任务（程序重启过？），请重新操作".into(),
            })
    }
}

#[tauri::command]
pub async fn job_status(state: State<'_, AppState>, id: u64) -> Reply<JobStatus> {
    Ok(state.jobs.get(id)?.status())
}

/// The job running now (`null` when none): every screen shows it (正在导入… 40%).
#[tauri::command]
pub async fn job_current(state: State<'_, AppState>) -> Reply<Option<JobStatus>> {
    Ok(state.jobs.running().map(|j| j.status()))
}

#[tauri::command]
pub async fn job_cancel(state: State<'_, AppState>, id: u64) -> Reply<JobStatus> {
    let job = state.jobs.get(id)?;
    job.cancel();
    Ok(job.status())
}

#[cfg(test)]
mod tests {
    use super::*;
    use baoxue::domain::SiteKind;
    use baoxue::households::NewHousehold;
    use baoxue::register::NewSite;

    /// The app's state over a real register file set up as 张庄村, unlocked as the app leaves it.
    fn app_on_file(dir: &std::path::Path) -> AppState {
        let path = dir.join("register.db");
        let mut reg = Register::open(&path).unwrap();
        let actor = baoxue::Actor::new("李会计", chrono::Utc::now());
        reg.init_site(
            NewSite {
                kind: SiteKind::Village,
                name: "张庄村".into(),
                region_code: "410423100201".into(),
                school_code: None,
            },
            &actor,
        )
        .unwrap();
        AppState {
            register: Mutex::new(Some(reg)),
            path,
            operator: "李会计".into(),
            jobs: Jobs::default(),
            close: Default::default(),
        }
    }

    fn household() -> NewHousehold {
        NewHousehold {
            head_name: "王大山".into(),
            village_code: "410423100201".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_write_is_refused_at_once_while_a_job_runs_and_reads_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let state = app_on_file(dir.path());
        // A bundle import listed as running, on its own connection to the same file, a third
        // of the way through. It cannot end under the test: only `finish` ends it.
        let (job, job_reg) = state
            .jobs
            .begin("bundle_import", || state.job_register())
            .unwrap();
        job.control(|ctl| ctl.report(32, 100));

        let refused = state.writable().err().expect("a write must be refused");
        assert_eq!(refused.code, "busy");
        assert!(
            refused.message.contains("正在导入数据包（已完成 32%）"),
            "{}",
            refused.message
        );
        assert!(refused.message.contains("数据交换"), "{}", refused.message);

        // Reads go on through the app's connection.
        let o = baoxue::roster::overview(&state.register().unwrap()).unwrap();
        assert_eq!(o.households, 0);
        // A second job is refused the same way, and lists nothing.
        let second = state.jobs.begin("export", || Ok(())).err().unwrap();
        assert_eq!(second.message, refused.message);
        assert_eq!(state.jobs.running().unwrap().id, job.id);

        // The job ends (its connection closed first): writes go through again.
        drop(job_reg);
        job.finish(Ok((serde_json::json!({"merged": 0}), None)));
        assert!(state.jobs.running().is_none());
        let mut reg = state.writable().unwrap();
        baoxue::households::add_household(&mut reg, household(), &state.actor()).unwrap();
        assert_eq!(baoxue::roster::overview(&reg).unwrap().households, 1);
    }

    #[test]
    fn a_job_is_not_listed_when_its_connection_cannot_open() {
        let dir = tempfile::tempdir().unwrap();
        let state = app_on_file(dir.path());
        // The app's register is closed (locked): the job's connection is refused at once.
        *state.slot().unwrap() = None;
        let err = state
            .jobs
            .begin("import", || state.job_register())
            .err()
            .unwrap();
        assert_eq!(err.code, "locked");
        assert!(state.jobs.running().is_none());
    }
}

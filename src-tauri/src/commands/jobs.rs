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

    /// Starts `work` on a new thread with its own connection to the register (opened here,
    /// before the thread starts, so a locked register is refused at once); refuses while
    /// another job runs.
    pub fn start(
        &self,
        app: &AppHandle,
        kind: &str,
        work: impl FnOnce(&AppState, &Job, &mut Register) -> Result<Output, UiError> + Send + 'static,
    ) -> Reply<JobStatus> {
        let mut list = self.list.lock().map_err(|_| busy())?;
        if let Some(j) = list.values().find(|j| !j.finished.load(Ordering::Acquire)) {
            return Err(busy_with(
                &j.kind,
                j.done.load(Ordering::Relaxed),
                j.total.load(Ordering::Relaxed),
            ));
        }
        let state = app.state::<AppState>();
        let mut reg = state.job_register()?;
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
        drop(list);
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
                let (result, kept) = match out {
                    Ok((v, k)) => (Ok(v), k),
                    Err(e) => (Err(e), None),
                };
                if let Ok(mut k) = runner.kept.lock() {
                    *k = kept;
                }
                if let Ok(mut r) = runner.result.lock() {
                    *r = Some(result);
                }
                // The job's connection is closed before the job reads as finished.
                drop(reg);
                runner.finished.store(true, Ordering::Release);
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

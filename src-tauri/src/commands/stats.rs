//! 统计报表: the rates and their drill-down to the children behind a figure. The figures are
//! counted once per register state and day (core `stats::CachedStats`), so each "查看名单" click
//! reads the names only.

use super::{as_of, AppState, Reply, UiError};
use baoxue::stats::{CachedStats, DrillRow, Metric, Stats};
use std::sync::{Mutex, MutexGuard};
use tauri::State;

/// The app's one statistics cache (managed beside `AppState`).
#[derive(Default)]
pub struct StatsState(Mutex<CachedStats>);

impl StatsState {
    fn cache(&self) -> Result<MutexGuard<'_, CachedStats>, UiError> {
        self.0.lock().map_err(|_| UiError {
            code: "busy".into(),
            message: "统计暂时不可用，请稍后再试".into(),
        })
    }
}

#[tauri::command]
pub async fn stats(
    state: State<'_, AppState>,
    cache: State<'_, StatsState>,
    as_of_date: Option<String>,
) -> Reply<Stats> {
    let day = as_of(as_of_date)?;
    let reg = state.register()?;
    let mut cache = cache.cache()?;
    Ok(cache.current(reg.conn(), day)?.clone())
}

#[tauri::command]
pub async fn stats_drill(
    state: State<'_, AppState>,
    cache: State<'_, StatsState>,
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
    let mut cache = cache.cache()?;
    let s = cache.current(reg.conn(), day)?;
    baoxue::stats::drill_rows(reg.conn(), s, m, &by, &key)?
        .ok_or_else(|| invalid(format!("没有 {by} = {key} 这一组的统计数字")))
}

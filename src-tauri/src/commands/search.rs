//! 查找儿童: the keystroke search of the app's top bar (name, pinyin initials, ID number, 学籍号)
//! over every child, through the core's in-memory index, rebuilt only after the register changed.

use super::{AppState, Reply, UiError};
use baoxue::search::{CachedIndex, Hit};
use std::sync::{Mutex, MutexGuard};
use tauri::State;

/// The app's one search index (managed beside `AppState`).
#[derive(Default)]
pub struct SearchState(Mutex<CachedIndex>);

impl SearchState {
    /// The index, for one request at a time.
    pub fn lock(&self) -> Result<MutexGuard<'_, CachedIndex>, UiError> {
        self.0.lock().map_err(|_| UiError {
            code: "busy".into(),
            message: "查找暂时不可用，请稍后再试".into(),
        })
    }
}

/// At most this many hits cross to the UI per keystroke (the list is virtualised).
const MAX_HITS: usize = 500;

#[tauri::command]
pub async fn search_children(
    state: State<'_, AppState>,
    search: State<'_, SearchState>,
    query: String,
    limit: Option<usize>,
) -> Reply<Vec<Hit>> {
    let reg = state.register()?;
    let mut cache = search.lock()?;
    let index = cache.current(reg.conn())?;
    Ok(index.query(&query, limit.unwrap_or(MAX_HITS).min(MAX_HITS)))
}

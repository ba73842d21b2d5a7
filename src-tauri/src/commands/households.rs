//! 学户册: the whole roster as one virtualised list. The UI knows the household count and asks
//! for the stretch the clerk scrolled to; the core sorts the roster once per register state
//! (`roster::CachedOrder`) and answers each stretch by id, numbers masked.

use super::{AppState, Reply, UiError};
use baoxue::roster::{CachedOrder, RosterPage};
use std::sync::Mutex;
use tauri::State;

/// The roster order of the open register (managed beside `AppState`).
#[derive(Default)]
pub struct RosterState(Mutex<CachedOrder>);

#[tauri::command]
pub async fn roster_page(
    state: State<'_, AppState>,
    order: State<'_, RosterState>,
    offset: usize,
    limit: usize,
) -> Reply<RosterPage> {
    let reg = state.register()?;
    let mut order = order.0.lock().map_err(|_| UiError {
        code: "busy".into(),
        message: "学户册暂时不可用，请稍后再试".into(),
    })?;
    Ok(order.page(&reg, offset, limit)?)
}

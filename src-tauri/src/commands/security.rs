//! Locking and unlocking the register (encryption at rest, operator PINs), the passphrase change
//! in 设置 and the daily backup when the window closes. The policy and the messages are the
//! core's (`baoxue::encryption`, `baoxue::operators`, `baoxue::backup`); see docs/security.md.

use super::{AppState, Reply, UiError};
use baoxue::encryption::{self, PassphraseError, Protection};
use baoxue::Register;
use serde::Serialize;
use tauri::State;

/// Where the register stands before anything else is shown.
#[derive(Debug, Serialize)]
pub struct LockState {
    /// `missing` (show site setup with a passphrase), `plain` or `encrypted`.
    pub protection: Protection,
    /// False: show the unlock screen (or set-up when `missing`).
    pub open: bool,
    /// The plain register's operator must give a PIN (for an encrypted one `unlock` answers
    /// `pin_required` after the passphrase).
    pub pin_required: bool,
    pub min_passphrase_chars: usize,
    pub operator: String,
    pub path: String,
}

#[tauri::command]
pub async fn lock_state(state: State<'_, AppState>) -> Reply<LockState> {
    let protection = encryption::protection(&state.path)?;
    let open = state.slot()?.is_some();
    let pin_required = if !open && protection == Protection::Plain {
        let reg = Register::open(&state.path)?;
        baoxue::operators::requires_pin(reg.conn(), &state.operator)?
    } else {
        false
    };
    Ok(LockState {
        protection,
        open,
        pin_required,
        min_passphrase_chars: encryption::MIN_PASSPHRASE_CHARS,
        operator: state.operator.clone(),
        path: state.path.display().to_string(),
    })
}

/// Opens the register: an encrypted one with its passphrase (ignored for a plain one), then the
/// operator's PIN when the operator has one. Refusals: `wrong_passphrase` (nothing opened,
/// nothing written), `passphrase_required`, `pin_required`, `wrong_pin`, `unknown_operator`.
#[tauri::command]
pub async fn unlock(
    state: State<'_, AppState>,
    passphrase: Option<String>,
    pin: Option<String>,
) -> Reply<()> {
    let mut slot = state.slot()?;
    if slot.is_some() {
        return Ok(());
    }
    let passphrase = passphrase.filter(|p| !p.is_empty());
    let reg = match encryption::protection(&state.path)? {
        Protection::Missing => return Err(baoxue::Error::NotInitialised.into()),
        Protection::Encrypted => match passphrase {
            Some(p) => Register::open_with(&state.path, Some(&p))?,
            None => return Err(baoxue::Error::from(PassphraseError::Required).into()),
        },
        Protection::Plain => Register::open(&state.path)?,
    };
    let pin = pin.filter(|p| !p.trim().is_empty());
    baoxue::operators::check(reg.conn(), &state.operator, pin.as_deref())?;
    *slot = Some(reg);
    Ok(())
}

/// Creates the register file when there is none yet (site setup, demo): encrypted with
/// `passphrase` (checked: long enough). Without one, set-up is refused unless plain was chosen
/// (`BAOXUE_NO_ENCRYPTION=1`, as `baoxue init`); the demonstration county may go into a plain
/// training register (`plain_allowed`).
pub(crate) fn create_if_missing(
    state: &AppState,
    passphrase: Option<String>,
    plain_allowed: bool,
) -> Reply<()> {
    let mut slot = state.slot()?;
    if slot.is_some() || encryption::protection(&state.path)? != Protection::Missing {
        return Ok(());
    }
    let passphrase = passphrase.filter(|p| !p.is_empty());
    *slot = Some(match passphrase {
        Some(pass) => {
            encryption::check_new_passphrase(&pass).map_err(baoxue::Error::from)?;
            Register::open_with(&state.path, Some(&pass))?
        }
        None if plain_allowed || no_encryption_chosen() => Register::open(&state.path)?,
        None => return Err(baoxue::Error::from(PassphraseError::NotGiven).into()),
    });
    Ok(())
}

fn no_encryption_chosen() -> bool {
    matches!(
        std::env::var("BAOXUE_NO_ENCRYPTION").as_deref(),
        Ok("1" | "true" | "yes")
    )
}

/// 设置 → 更换口令: an encrypted register is re-keyed (`current` must be the passphrase it was
/// unlocked with); a plain one is encrypted with `new` (its file is rewritten, then reopened).
/// Audited (`rekey` / `encrypt`), never the value.
#[tauri::command]
pub async fn change_passphrase(
    state: State<'_, AppState>,
    current: Option<String>,
    new: String,
) -> Reply<()> {
    encryption::check_new_passphrase(&new).map_err(baoxue::Error::from)?;
    let actor = state.actor();
    if let Some(j) = state.jobs.running() {
        let s = j.status();
        return Err(super::jobs::busy_with(&s.kind, s.done, s.total));
    }
    let mut slot = state.slot()?;
    let Some(reg) = slot.as_mut() else {
        drop(slot);
        return Err(state.register().err().unwrap_or_else(|| UiError {
            code: "locked".into(),
            message: "登记库尚未打开".into(),
        }));
    };
    if reg.is_encrypted() {
        if reg.passphrase() != current.as_deref() {
            return Err(baoxue::Error::from(PassphraseError::Wrong).into());
        }
        reg.change_passphrase(&new, &actor)?;
        return Ok(());
    }
    // A plain register: close it, encrypt the file, reopen it with the new passphrase (or as it
    // was, when encrypting failed: the plain file is then untouched).
    reg.require_site()?;
    *slot = None;
    let result = encryption::encrypt_file(&state.path, &new, &actor);
    *slot = Some(match &result {
        Ok(()) => Register::open_with(&state.path, Some(&new))?,
        Err(_) => Register::open(&state.path)?,
    });
    Ok(result?)
}

/// When the window closes: the app's daily backup (`<register dir>/backups/baoxue-DATE.bak`, the
/// newest `daily_backups_kept` kept, a county setting, default 7), then the register is closed
/// (its WAL written into the file, so the folder holds one file). A plain (training) register has
/// no passphrase to encrypt a backup with and is only closed. Errors are printed; closing goes on.
pub fn backup_on_exit(state: &AppState) {
    let Ok(mut slot) = state.register.lock() else {
        return;
    };
    if let Some(reg) = slot.as_ref().filter(|r| r.is_encrypted()) {
        let keep = match baoxue::settings::Settings::load(reg.conn()) {
            Ok(s) => s.daily_backups_kept as usize,
            Err(e) => {
                eprintln!("每日备份：无法读取设置（{e}），按保留7份处理");
                7
            }
        };
        let dir = state.path.with_file_name("backups");
        let today = chrono::Local::now().date_naive();
        match baoxue::backup::daily(reg, &dir, keep, today, chrono::Utc::now()) {
            Ok(Some(info)) => eprintln!("每日备份已写入 {}", info.file),
            Ok(None) => {}
            Err(e) => eprintln!("每日备份失败（{}）：{e}", dir.display()),
        }
    }
    *slot = None;
}

/// The sidebar's 退出 button: asks to close the window the way its title-bar button does (the
/// UI is asked first whether anything is unsaved, see [`on_close_requested`]; then the daily
/// backup runs, see [`backup_on_exit`], and the app ends).
#[tauri::command]
pub async fn quit_app(window: tauri::Window) -> Reply<()> {
    window.close().map_err(|e| UiError {
        code: "ipc".into(),
        message: format!("无法关闭窗口：{e}"),
    })
}

/// Closing the window (title bar, Alt+F4, 退出): the first request is held back and the UI asked
/// (event `close-requested`) whether anything is unsaved or a job runs; it answers with
/// `close_ack` at once and, when the clerk agrees (or nothing is at stake), `close_confirmed`.
/// A UI that does not answer within 5 seconds (a broken page) does not keep the window open.
pub fn on_close_requested(window: &tauri::Window, api: &tauri::CloseRequestApi) {
    use std::sync::atomic::Ordering;
    use tauri::{Emitter, Manager};
    let state = window.state::<AppState>();
    if state.close.confirmed.load(Ordering::Acquire) {
        return;
    }
    api.prevent_close();
    state.close.acked.store(false, Ordering::Release);
    if window.emit("close-requested", ()).is_err() {
        state.close.confirmed.store(true, Ordering::Release);
        let _ = window.destroy();
        return;
    }
    let w = window.clone();
    let _ = std::thread::Builder::new()
        .name("baoxue-close-wait".into())
        .spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(5));
            let state = w.state::<AppState>();
            if !state.close.acked.load(Ordering::Acquire) {
                eprintln!("界面未响应关闭请求，直接关闭窗口");
                state.close.confirmed.store(true, Ordering::Release);
                let _ = w.destroy();
            }
        });
}

/// Where a close request stands (see [`on_close_requested`]).
#[derive(Default)]
pub struct CloseState {
    /// The UI received the request (it may now be asking the clerk).
    pub acked: std::sync::atomic::AtomicBool,
    /// The clerk agreed (or nothing was unsaved): the next request closes.
    pub confirmed: std::sync::atomic::AtomicBool,
}

/// The UI received `close-requested`.
#[tauri::command]
pub async fn close_ack(state: State<'_, AppState>) -> Reply<()> {
    state
        .close
        .acked
        .store(true, std::sync::atomic::Ordering::Release);
    Ok(())
}

/// The clerk agreed to close (or nothing was unsaved): a running job is cancelled (its
/// transaction rolled back: nothing half-written), then the window closes.
#[tauri::command]
pub async fn close_confirmed(state: State<'_, AppState>, window: tauri::Window) -> Reply<()> {
    if let Some(j) = state.jobs.running() {
        j.cancel();
    }
    state
        .close
        .confirmed
        .store(true, std::sync::atomic::Ordering::Release);
    quit_app(window).await
}

/// One masked number shown in full (`field`: `child.id_number`, `household.head_id_number`,
/// `household.phone`; `record_id` the child's or household's id). The core writes the audit row
/// (operator, time, record, field — never the value) before the value is returned; `null` when
/// the record has no such number.
#[tauri::command]
pub async fn reveal_person_field(
    state: State<'_, AppState>,
    record_id: String,
    field: String,
) -> Reply<Option<String>> {
    let field = baoxue::reveal::Field::parse(&field).ok_or_else(|| UiError {
        code: "invalid".into(),
        message: format!("不能显示“{field}”这一项"),
    })?;
    let mut reg = state.writable()?;
    Ok(baoxue::reveal::reveal(
        &mut reg,
        &record_id,
        field,
        &state.actor(),
    )?)
}

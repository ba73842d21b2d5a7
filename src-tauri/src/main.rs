//! 保学 desktop app: opens the register (`--db PATH`, else `BAOXUE_DB`, else the OS data
//! directory), puts it behind `.manage(...)`, and serves the embedded UI (ui/dist). All logic
//! lives in the core crate; `commands/` holds the thin commands the UI calls (a file per screen area).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

use std::path::PathBuf;
use std::sync::Mutex;
use tauri::Manager;

/// The same allocator as the command line (src/main.rs): an import in the app allocates rows on
/// its reading thread and frees them on its writing thread too, which glibc's malloc pays for.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let from_args = args
        .iter()
        .position(|a| a == "--db")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let path = from_args
        .or_else(|| {
            std::env::var_os("BAOXUE_DB")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(baoxue::paths::default_db_path);
    let operator = std::env::var("BAOXUE_OPERATOR")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "未署名".into());
    // A plain register opens at once (unless its operator must give a PIN); an encrypted one
    // waits for `unlock` (the unlock screen), a missing one for site setup or the demo.
    let register = match baoxue::encryption::protection(&path) {
        Ok(baoxue::encryption::Protection::Plain) => match baoxue::Register::open(&path) {
            Ok(r) => baoxue::operators::check(r.conn(), &operator, None)
                .is_ok()
                .then_some(r),
            Err(e) => {
                eprintln!("无法打开登记库（{}）：{e}", path.display());
                std::process::exit(1);
            }
        },
        Ok(_) => None,
        Err(e) => {
            eprintln!("无法读取登记库（{}）：{e}", path.display());
            std::process::exit(1);
        }
    };
    let state = commands::AppState {
        register: Mutex::new(register),
        path,
        operator,
        jobs: commands::jobs::Jobs::default(),
        close: commands::security::CloseState::default(),
    };
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .manage(commands::search::SearchState::default())
        .manage(commands::households::RosterState::default())
        .manage(commands::stats::StatsState::default())
        .on_window_event(|window, event| match event {
            tauri::WindowEvent::CloseRequested { api, .. } => {
                commands::security::on_close_requested(window, api);
            }
            tauri::WindowEvent::Destroyed => {
                commands::security::backup_on_exit(&window.state::<commands::AppState>());
            }
            _ => {}
        })
        .invoke_handler(tauri::generate_handler![
            commands::security::lock_state,
            commands::security::unlock,
            commands::security::change_passphrase,
            commands::security::quit_app,
            commands::security::close_ack,
            commands::security::close_confirmed,
            commands::security::reveal_person_field,
            commands::site_info,
            commands::init_site,
            commands::load_demo,
            commands::list_households,
            commands::households::roster_page,
            commands::add_household,
            commands::check_id,
            commands::code_lists,
            commands::stats::stats,
            commands::stats::stats_drill,
            commands::export_ledger,
            commands::child_file_html,
            commands::enrol_notices_html,
            commands::search::search_children,
            // 比对核查, 个案, 考勤 and list exports (commands/casework.rs)
            commands::casework::casework_names,
            commands::casework::home_counts,
            commands::casework::crosscheck_run,
            commands::casework::crosscheck_confirm,
            commands::casework::crosscheck_reject,
            commands::casework::tasks_create,
            commands::casework::tasks_list,
            commands::casework::task_record,
            commands::casework::cases_list,
            commands::casework::case_view,
            commands::casework::case_attempt,
            commands::casework::case_transition,
            commands::casework::return_notice_html,
            commands::casework::attendance_classes,
            commands::casework::attendance_sheet,
            commands::casework::attendance_record,
            commands::casework::warnings_list,
            commands::casework::export_list,
            commands::jobs::job_status,
            commands::jobs::job_cancel,
            commands::jobs::job_current,
            commands::import::import_options,
            commands::import::import_sheets,
            commands::import::import_start,
            commands::import::import_save_errors,
            commands::exchange::exchange_overview,
            commands::exchange::exchange_save_card,
            commands::exchange::exchange_read_card,
            commands::exchange::exchange_trust,
            commands::exchange::exchange_export_start,
            commands::exchange::exchange_import_start,
            commands::exchange::exchange_conflict,
            commands::exchange::exchange_resolve,
            commands::exchange::exchange_held,
            commands::exchange::exchange_held_refuse,
            commands::exchange::exchange_held_accept_start,
            commands::exchange::exchange_waiting,
            commands::exchange::exchange_waiting_force,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("保学程序无法启动：{e}");
        std::process::exit(1);
    }
}

//! Where the register lives by default: `register.db` in the OS data directory
//! (`~/.local/share/baoxue/` on Linux). The CLI and the app use the same file.

use std::path::PathBuf;

/// The default register path, or `./baoxue.db` when no data directory can be found.
pub fn default_db_path() -> PathBuf {
    match directories::ProjectDirs::from("cn", "baoxue", "baoxue") {
        Some(d) => d.data_dir().join("register.db"),
        None => PathBuf::from("baoxue.db"),
    }
}

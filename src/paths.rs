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

/// Where the app writes exported ledgers: the user's documents folder, else the home folder, else
/// the current folder.
pub fn default_export_dir() -> PathBuf {
    directories::UserDirs::new()
        .map(|u| {
            u.document_dir()
                .map(|d| d.to_path_buf())
                .unwrap_or_else(|| u.home_dir().to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("."))
}

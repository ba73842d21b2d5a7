//! Where the register lives by default: `register.db` in the OS data directory
//! (`~/.local/share/baoxue/` on Linux). The CLI and the app use the same file.

use std::path::{Path, PathBuf};

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

/// Writes a whole file so that whoever opens `path` sees the old file or the new one, never half
/// of it: the bytes go to `NAME.part` beside it first, which then takes its place.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    std::fs::write(&part, bytes).map_err(|e| crate::Error::io(&part, e))?;
    std::fs::rename(&part, path).map_err(|e| {
        let _ = std::fs::remove_file(&part);
        crate::Error::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replacing_swaps_the_whole_file_and_leaves_no_part_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("拒收行.xlsx");
        std::fs::write(&f, "old").unwrap();
        write_replacing(&f, b"new contents").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"new contents");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        // A folder that does not exist: an error naming the file, nothing written.
        let missing = dir.path().join("无此文件夹").join("a.xlsx");
        let e = write_replacing(&missing, b"x").unwrap_err();
        assert!(e.to_string().contains("a.xlsx.part"), "{e}");
    }
}

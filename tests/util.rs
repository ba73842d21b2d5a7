//! Helpers shared by the integration tests: temporary registers and running the CLI binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory holding one register file.
pub struct TempRegister {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl TempRegister {
    pub fn new() -> TempRegister {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("register.db");
        TempRegister { dir, db }
    }

    /// Runs `baoxue --db <this register> ARGS…`.
    pub fn run(&self, args: &[&str]) -> Output {
        run_cli(&self.db, args)
    }

    /// Runs the CLI and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "baoxue {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Runs the CLI binary against a register.
pub fn run_cli(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baoxue"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("BAOXUE_OPERATOR", "测试员")
        .output()
        .expect("run baoxue")
}

/// A fixed time for library calls.
pub fn actor() -> baoxue::Actor {
    let now = chrono::DateTime::parse_from_rfc3339("2026-09-15T09:00:00+08:00")
        .expect("time")
        .with_timezone(&chrono::Utc);
    baoxue::Actor::new("测试员", now)
}

/// A valid fictional ID number for a birth date (`YYYYMMDD`), region and sequence (odd = male).
pub fn id_number(region: &str, birth: &str, seq: u32) -> String {
    let first = format!("{region}{birth}{seq:03}");
    format!("{first}{}", baoxue::idnum::check_char(&first))
}

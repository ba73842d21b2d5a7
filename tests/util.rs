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

/// Runs the CLI binary against a register. Every run's stdout and stderr are scanned for
/// unmasked ID and phone numbers (see `assert_no_personal_numbers`).
pub fn run_cli(db: &Path, args: &[&str]) -> Output {
    run_cli_with(db, args, &[], None)
}

/// Runs the CLI with extra environment variables and optional standard input.
pub fn run_cli_with(db: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baoxue"));
    cmd.arg("--db")
        .arg(db)
        .args(args)
        .env("BAOXUE_OPERATOR", "测试员")
        // Registers set up by the tests are plain unless a test asks for encryption (pass
        // ("BAOXUE_NO_ENCRYPTION", "0") and BAOXUE_PASSPHRASE): every open of an encrypted
        // register costs a key derivation (~0.3 s CPU), see tests/security_encryption.rs.
        .env("BAOXUE_NO_ENCRYPTION", "1")
        .env_remove("BAOXUE_PASSPHRASE")
        .env_remove("BAOXUE_NEW_PASSPHRASE")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run baoxue");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("run baoxue");
    if !reveals_on_purpose(args) {
        assert_no_personal_numbers(&out, args);
    }
    out
}

/// Commands whose job is to show full numbers to an authorised clerk (audited): `--full`, and the
/// canonical `snapshot` dump.
fn reveals_on_purpose(args: &[&str]) -> bool {
    args.iter().any(|a| *a == "--full" || *a == "snapshot")
}

/// Panics if the output holds something shaped like an unmasked ID number (17 digits and a digit
/// or X) or a mobile number (11 digits starting 13-19), standing alone (not inside a longer run
/// of letters and digits such as a hash).
pub fn assert_no_personal_numbers(out: &Output, args: &[&str]) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        if let Some(found) = find_personal_number(&text) {
            panic!(
                "baoxue {args:?} printed an unmasked {} on {stream} (use baoxue::idnum::mask_id/mask_phone)",
                found
            );
        }
    }
}

/// The kind of the first personal number in `text` ("ID number" / "phone number"), if any.
pub fn find_personal_number(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let word = &b[start..i];
        let digits = word.iter().take_while(|c| c.is_ascii_digit()).count();
        if word.len() == 18 && (digits == 18 || (digits == 17 && matches!(word[17], b'X' | b'x'))) {
            return Some("ID number");
        }
        if word.len() == 11 && digits == 11 && word[0] == b'1' && (b'3'..=b'9').contains(&word[1]) {
            return Some("phone number");
        }
    }
    None
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

/// Every row of every table (travelling or not), as sorted text: the register's whole content.
pub fn every_row(conn: &rusqlite::Connection) -> Vec<String> {
    let mut st = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows: Vec<String> = st
            .query_map([], |r| {
                let vals: Vec<rusqlite::types::Value> =
                    (0..n).map(|i| r.get(i)).collect::<Result<_, _>>()?;
                Ok(format!("{t}: {vals:?}"))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.extend(rows);
    }
    out
}

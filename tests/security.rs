//! Backup and restore, the audit chain, operators, and the personal-number scan, through the CLI
//! on real register and backup files.

use crate::util::{find_personal_number, id_number, run_cli_with, TempRegister};
use serde_json::Value;
use std::path::Path;

const PASS: &str = "春眠不觉晓-2026";

fn with_pass(pass: &str) -> Vec<(&str, &str)> {
    vec![("BAOXUE_PASSPHRASE", pass)]
}

fn run(db: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    run_cli_with(db, args, env, None)
}

fn ok(db: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(db, args, env);
    assert!(
        out.status.success(),
        "baoxue {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A village register with two households (one with a phone number).
fn village(r: &TempRegister) {
    r.ok(&[
        "init",
        "--kind",
        "village",
        "--name",
        "张庄村",
        "--region",
        "410423100201",
    ]);
    let a = format!("张小宝,{}", id_number("410423", "20180901", 21));
    let b = format!("李小花,{}", id_number("410423", "20160312", 42));
    r.ok(&[
        "household",
        "add",
        "--head",
        "张大山",
        "--village",
        "410423100201",
        "--phone",
        "13812345678",
        "--child",
        &a,
    ]);
    r.ok(&[
        "household",
        "add",
        "--head",
        "李二",
        "--village",
        "410423100201",
        "--child",
        &b,
    ]);
}

#[test]
fn backup_then_restore_gives_the_same_register_marked_restored() {
    let r = TempRegister::new();
    r.ok(&["demo"]);
    let before = r.ok(&["snapshot", "--json"]);
    let households: i64 = rusqlite::Connection::open(&r.db)
        .unwrap()
        .query_row("SELECT count(*) FROM households", [], |row| row.get(0))
        .unwrap();
    assert!(households > 1500, "{households}");
    let bak = r.path("每日备份.bak");
    let info: Value = serde_json::from_str(&ok(
        &r.db,
        &["--json", "backup", "--out", bak.to_str().unwrap()],
        &with_pass(PASS),
    ))
    .unwrap();
    assert!(info["db_bytes"].as_u64().unwrap() > 1_000_000);
    // Compressed and encrypted: smaller than the database, no readable names inside.
    let bytes = std::fs::read(&bak).unwrap();
    assert!((bytes.len() as u64) < info["db_bytes"].as_u64().unwrap());
    assert!(bytes.starts_with(b"BAOXUE-BACKUP\n"));
    assert!(!bytes.windows(6).any(|w| w == "青山".as_bytes()));
    assert!(!bytes.windows(15).any(|w| w == b"SQLite format 3"));

    let new_db = r.path("restored/register.db");
    let report: Value = serde_json::from_str(&ok(
        &new_db,
        &["--json", "restore", bak.to_str().unwrap()],
        &with_pass(PASS),
    ))
    .unwrap();
    assert_eq!(report["integrity"], "ok");
    assert_eq!(report["audit_first_broken_row"], Value::Null);
    assert_eq!(report["households"], households);
    assert_eq!(report["backup_created_at"], info["created_at"]);
    // The same records, byte for byte.
    let after = ok(&new_db, &["snapshot", "--json"], &[]);
    assert_eq!(before, after);
    // The restored register knows it was restored (for the next bundle), the original does not.
    let conn = rusqlite::Connection::open(&new_db).unwrap();
    let marker = baoxue::backup::restored_marker(&conn).unwrap().unwrap();
    assert_eq!(
        marker.backup_created_at,
        info["created_at"].as_str().unwrap()
    );
    assert_eq!(marker.source_file, "每日备份.bak");
    assert_eq!(marker.operator, "测试员");
    assert_eq!(marker.announced_at, None);
    let orig = rusqlite::Connection::open(&r.db).unwrap();
    assert_eq!(baoxue::backup::restored_marker(&orig).unwrap(), None);
    // ... and so does its bundle chain: a new epoch with a pending restore announcement.
    let (restored, epoch): (Option<String>, String) = conn
        .query_row("SELECT restored, epoch FROM site_keys", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let orig_epoch: String = orig
        .query_row("SELECT epoch FROM site_keys", [], |r| r.get(0))
        .unwrap();
    assert_ne!(epoch, orig_epoch);
    let restored: Value = serde_json::from_str(&restored.unwrap()).unwrap();
    assert_eq!(restored["previous_epoch"], orig_epoch.as_str());
    assert!(restored["note"].as_str().unwrap().contains("每日备份.bak"));
    // The restore itself is audited and the chain still holds.
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'restore' AND operator = '测试员'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    ok(&new_db, &["audit", "verify"], &[]);
    // The bundle code can record the announcement.
    let now = chrono::Utc::now();
    baoxue::backup::mark_restore_announced(&conn, marker.id, now).unwrap();
    let marker = baoxue::backup::restored_marker(&conn).unwrap().unwrap();
    assert!(marker.announced_at.is_some());
}

#[test]
fn restore_refuses_wrong_passphrase_existing_target_and_tampered_file() {
    let r = TempRegister::new();
    village(&r);
    let bak = r.path("b.bak");
    ok(
        &r.db,
        &["backup", "--out", bak.to_str().unwrap()],
        &with_pass(PASS),
    );
    // A second backup to the same name is refused (never overwritten).
    let again = run(
        &r.db,
        &["backup", "--out", bak.to_str().unwrap()],
        &with_pass(PASS),
    );
    assert!(!again.status.success());
    assert!(stderr(&again).contains("已存在"));
    // No passphrase: refused, nothing written.
    let none = run(
        &r.db,
        &["backup", "--out", r.path("c.bak").to_str().unwrap()],
        &[],
    );
    assert!(!none.status.success());
    assert!(stderr(&none).contains("口令"), "{}", stderr(&none));
    assert!(!r.path("c.bak").exists());

    // Wrong passphrase: clear message, no file at the target.
    let target = r.path("new.db");
    let wrong = run(
        &target,
        &["--json", "restore", bak.to_str().unwrap()],
        &with_pass("别的口令"),
    );
    assert!(!wrong.status.success());
    assert!(stderr(&wrong).contains("口令不正确"), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("\"wrong_passphrase\""));
    assert!(!target.exists());
    assert_no_leftovers(r.dir.path());

    // An existing register is never overwritten.
    let existing = run(&r.db, &["restore", bak.to_str().unwrap()], &with_pass(PASS));
    assert!(!existing.status.success());
    assert!(stderr(&existing).contains("已存在"));

    // One flipped byte in the encrypted payload: refused as damaged.
    let mut bytes = std::fs::read(&bak).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    let bad = r.path("tampered.bak");
    std::fs::write(&bad, &bytes).unwrap();
    let out = run(
        &target,
        &["restore", bad.to_str().unwrap()],
        &with_pass(PASS),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("已损坏"), "{}", stderr(&out));
    assert!(!target.exists());

    // A forged header (another checksum) with the genuine payload: refused.
    let text = std::fs::read(&bak).unwrap();
    let pos = text
        .windows(12)
        .position(|w| w == b"\"db_sha256\":")
        .unwrap()
        + 13;
    let mut forged = text.clone();
    forged[pos] = if forged[pos] == b'0' { b'1' } else { b'0' };
    let forged_path = r.path("forged.bak");
    std::fs::write(&forged_path, &forged).unwrap();
    let out = run(
        &target,
        &["restore", forged_path.to_str().unwrap()],
        &with_pass(PASS),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("校验值不符"), "{}", stderr(&out));

    // Not a backup at all.
    let csv = r.path("花名册.csv");
    std::fs::write(&csv, "姓名,身份证号\n").unwrap();
    let out = run(
        &target,
        &["restore", csv.to_str().unwrap()],
        &with_pass(PASS),
    );
    assert!(stderr(&out).contains("不是保学备份文件"));
    assert!(!target.exists());
    assert_no_leftovers(r.dir.path());

    // And the genuine file still restores.
    ok(
        &target,
        &["restore", bak.to_str().unwrap()],
        &with_pass(PASS),
    );
    assert_eq!(
        ok(&target, &["snapshot", "--json"], &[]),
        r.ok(&["snapshot", "--json"])
    );
}

/// No temporary plain-text database copies left behind.
fn assert_no_leftovers(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains(".restoring-")
                && !name.contains(".backup-")
                && !name.contains(".partial-"),
            "left over: {name}"
        );
    }
}

#[test]
fn audit_verify_detects_an_edited_or_deleted_row_and_names_it() {
    let r = TempRegister::new();
    village(&r);
    let out: Value = serde_json::from_str(&r.ok(&["--json", "audit", "verify"])).unwrap();
    assert_eq!(out["ok"], true);
    let rows = out["rows"].as_i64().unwrap();
    assert!(rows >= 5, "init + 2 households + 2 children: {rows}");

    // Someone edits the log directly with an SQLite tool: the operator of row 3 is changed.
    let copy = r.path("edited.db");
    std::fs::copy(&r.db, &copy).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute("UPDATE audit_log SET operator = '王五' WHERE seq = 3", [])
        .unwrap();
    drop(conn);
    let out = run(&copy, &["--json", "audit", "verify"], &[]);
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_broken_row"], 3);
    assert!(stderr(&out).contains("第 3 条"), "{}", stderr(&out));

    // A row deleted from the middle of the chain.
    let copy2 = r.path("deleted.db");
    std::fs::copy(&r.db, &copy2).unwrap();
    let conn = rusqlite::Connection::open(&copy2).unwrap();
    conn.execute("DELETE FROM audit_log WHERE seq = 2", [])
        .unwrap();
    drop(conn);
    let out = run(&copy2, &["audit", "verify"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("第 3 条"), "{}", stderr(&out));

    // The untouched register still verifies.
    r.ok(&["audit", "verify"]);
}

#[test]
fn operators_with_pins_gate_the_register_and_every_change_is_attributed() {
    let r = TempRegister::new();
    village(&r);
    // Register two operators: 张会计 with a PIN (the first one may be added by anyone), 李主任 without.
    let out = run_cli_with(
        &r.db,
        &["operator", "add", "张会计", "--pin-stdin"],
        &[],
        Some("4321\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("4321"));
    let pin_env = [("BAOXUE_OPERATOR", "张会计"), ("BAOXUE_PIN", "4321")];
    ok(&r.db, &["operator", "add", "李主任"], &pin_env);

    // The default test operator (测试员) is no longer allowed.
    let out = r.run(&["household", "list"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("未登记"), "{}", stderr(&out));
    // 张会计 without or with a wrong PIN: refused.
    let out = run(
        &r.db,
        &["household", "list"],
        &[("BAOXUE_OPERATOR", "张会计")],
    );
    assert!(stderr(&out).contains("PIN"), "{}", stderr(&out));
    let out = run(
        &r.db,
        &["household", "list"],
        &[("BAOXUE_OPERATOR", "张会计"), ("BAOXUE_PIN", "0000")],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("PIN不正确"));
    // With the PIN: allowed, and the change is attributed to 张会计.
    let child = format!("王小明,{}", id_number("410423", "20170505", 13));
    ok(
        &r.db,
        &[
            "household",
            "add",
            "--head",
            "王大",
            "--village",
            "410423100201",
            "--child",
            &child,
        ],
        &pin_env,
    );
    ok(
        &r.db,
        &["household", "list"],
        &[("BAOXUE_OPERATOR", "李主任")],
    );

    let list = ok(&r.db, &["--json", "operator", "list"], &pin_env);
    let v: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(!list.contains("4321") && !list.contains("scrypt"));
    let conn = rusqlite::Connection::open(&r.db).unwrap();
    let stored: String = conn
        .query_row(
            "SELECT pin_hash FROM operators WHERE name = '张会计'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // `scrypt$LOG_N$SALT$HASH`, salt and hash in hex: the PIN is in none of its fields. (The
    // hex itself may contain "4321" by chance, about once in 700 runs: not a field.)
    let fields: Vec<&str> = stored.split('$').collect();
    assert_eq!(fields.len(), 4, "{}", fields[0]);
    assert_eq!(fields[0], "scrypt");
    assert!(fields[2..]
        .iter()
        .all(|f| f.len() >= 32 && f.chars().all(|c| c.is_ascii_hexdigit())));
    assert!(!fields.contains(&"4321"));
    let by: Vec<(String, String, String)> = conn
        .prepare("SELECT operator, table_name, action FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(by.contains(&("张会计".into(), "operators".into(), "insert".into())));
    assert!(by.contains(&("张会计".into(), "households".into(), "insert".into())));
    drop(conn);

    // Disabling: 李主任 is disabled by 张会计, then refused; the last operator cannot go.
    ok(&r.db, &["operator", "disable", "李主任"], &pin_env);
    let out = run(
        &r.db,
        &["household", "list"],
        &[("BAOXUE_OPERATOR", "李主任")],
    );
    assert!(stderr(&out).contains("停用"));
    let out = run(&r.db, &["operator", "disable", "张会计"], &pin_env);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("最后一名"));
    ok(&r.db, &["audit", "verify"], &pin_env);
}

#[test]
fn personal_number_scanner_finds_ids_and_phones_but_not_masked_ones_or_hashes() {
    let id = id_number("410423", "20180901", 21);
    assert_eq!(
        find_personal_number(&format!("第3行：身份证号{id}重复")),
        Some("ID number")
    );
    assert_eq!(
        find_personal_number("身份证号41042320180901002x有误"),
        Some("ID number")
    );
    assert_eq!(
        find_personal_number("电话13812345678"),
        Some("phone number")
    );
    assert_eq!(
        find_personal_number("电话138****5678，身份证号410423********0213"),
        None
    );
    assert_eq!(
        find_personal_number("hash 3f2a41042320180901002199c8e0 db 9609216 字节"),
        None
    );
    assert_eq!(
        find_personal_number("2026-11-23T06:51:41.360542893+00:00"),
        None
    );
}

#[test]
fn cli_runs_of_a_register_with_numbers_show_them_masked() {
    let r = TempRegister::new();
    village(&r);
    // Every run goes through util::run_cli, which panics on an unmasked number; these must pass.
    let list = r.ok(&["household", "list"]);
    assert!(
        list.contains("138****5678") || !list.contains("138"),
        "{list}"
    );
    r.ok(&["--json", "household", "list"]);
    // A refused duplicate names the row, not the number.
    let dup = format!("张小宝,{}", id_number("410423", "20180901", 21));
    let _ = r.run(&[
        "household",
        "add",
        "--head",
        "张大山",
        "--village",
        "410423100201",
        "--child",
        &dup,
    ]);
    let valid = id_number("410423", "19900101", 123);
    let wrong_check = if valid.ends_with('1') { "2" } else { "1" };
    let invalid = format!("{}{wrong_check}", &valid[..17]);
    let bad = r.run(&[
        "household",
        "add",
        "--head",
        "赵六",
        "--village",
        "410423100201",
        "--head-id",
        &invalid,
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("身份证"));
}

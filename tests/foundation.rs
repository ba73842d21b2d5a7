//! The register, the CLI surface of the foundation, and the demo county.

use crate::util::{id_number, TempRegister};
use serde_json::Value;

#[test]
fn demo_then_snapshot_twice_gives_identical_bytes() {
    let r = TempRegister::new();
    let summary: Value = serde_json::from_str(&r.ok(&["--json", "demo"])).unwrap();
    assert_eq!(summary["townships"], 3);
    assert_eq!(summary["villages"], 12);
    assert_eq!(summary["schools"], 8);
    let households = summary["households"].as_u64().unwrap();
    assert!(
        (1800..=2200).contains(&households),
        "about 2,000 households, got {households}"
    );
    assert!(summary["cases"].as_u64().unwrap() >= 3);
    let a = r.ok(&["snapshot", "--json"]);
    let b = r.ok(&["snapshot", "--json"]);
    assert_eq!(a, b);
    let snap: Value = serde_json::from_str(&a).unwrap();
    let children = snap["tables"]["children"].as_array().unwrap();
    assert_eq!(children.len() as u64, summary["children"].as_u64().unwrap());
    // Rows are sorted by id and carry their version stamps.
    let ids: Vec<&str> = children.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert!(children
        .iter()
        .all(|c| c["version"].as_str().unwrap().len() > 20));
}

#[test]
fn demo_refuses_a_register_that_has_data() {
    let r = TempRegister::new();
    r.ok(&["demo"]);
    let out = r.run(&["demo"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("已有数据"));

    // `baoxue snapshot | head -c 100` (megabytes): the reader goes away early; no panic.
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_baoxue"))
        .args(["--db"])
        .arg(&r.db)
        .arg("snapshot")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

#[test]
fn household_added_through_the_cli_is_listed_after_reopening() {
    let r = TempRegister::new();
    r.ok(&[
        "init",
        "--kind",
        "village",
        "--name",
        "张庄村",
        "--region",
        "410423100201",
    ]);
    let id = id_number("410423", "20180901", 21);
    let child = format!("张小宝,{id}");
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
        &child,
        "--child",
        "张小妹,,2020-05-01,女",
    ]);
    let listed: Value = serde_json::from_str(&r.ok(&["--json", "household", "list"])).unwrap();
    let list = listed.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["head_name"], "张大山");
    assert_eq!(list[0]["phone"], "138****5678");
    let kids = list[0]["children"].as_array().unwrap();
    assert_eq!(kids.len(), 2);
    let boy = kids.iter().find(|k| k["name"] == "张小宝").unwrap();
    assert_eq!(boy["birth_date"], "2018-09-01");
    assert_eq!(boy["sex"], "男");
    // Masked by default: the full number never appears in the output.
    let text = r.ok(&["household", "list"]);
    assert!(!text.contains(&id));
    assert!(text.contains("410423********"));
}

#[test]
fn bad_input_is_refused_in_chinese_and_writes_nothing() {
    let r = TempRegister::new();
    r.ok(&[
        "init",
        "--kind",
        "village",
        "--name",
        "张庄村",
        "--region",
        "410423100201",
    ]);
    let out = r.run(&[
        "household",
        "add",
        "--head",
        "李四",
        "--village",
        "410423100201",
        "--child",
        "李小,11010219840506970X",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("校验位"), "{err}");
    assert!(
        !err.contains("11010219840506970X"),
        "the ID must not be echoed: {err}"
    );
    let listed: Value = serde_json::from_str(&r.ok(&["--json", "household", "list"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 0);
    let out = r.run(&[
        "init",
        "--kind",
        "village",
        "--name",
        "x",
        "--region",
        "410423100201",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("不能重复初始化"));
}

#[test]
fn a_register_from_a_newer_version_is_refused() {
    let r = TempRegister::new();
    r.ok(&[
        "init",
        "--kind",
        "county",
        "--name",
        "青山县教育局",
        "--region",
        "410499",
    ]);
    {
        let conn = rusqlite::Connection::open(&r.db).unwrap();
        conn.pragma_update(None, "user_version", 9999).unwrap();
    }
    let out = r.run(&["household", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("较新版本"));
}

#[test]
fn every_change_writes_a_chained_audit_row() {
    let r = TempRegister::new();
    r.ok(&[
        "init",
        "--kind",
        "village",
        "--name",
        "张庄村",
        "--region",
        "410423100201",
    ]);
    r.ok(&[
        "household",
        "add",
        "--head",
        "王五",
        "--village",
        "410423100201",
        "--child",
        "王小五,,2019-01-02,男",
    ]);
    let conn = rusqlite::Connection::open(&r.db).unwrap();
    let (n, operators): (i64, String) = conn
        .query_row(
            "SELECT COUNT(*), group_concat(DISTINCT operator) FROM audit_log",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(n >= 4, "site, household, child, guardian: {n}");
    assert_eq!(operators, "测试员");
    assert_eq!(baoxue::store::audit::verify(&conn).unwrap(), None);
    conn.execute("UPDATE audit_log SET operator = '别人' WHERE seq = 2", [])
        .unwrap();
    assert_eq!(baoxue::store::audit::verify(&conn).unwrap(), Some(2));
}

#[test]
fn settings_have_defaults_and_refuse_bad_values() {
    let r = TempRegister::new();
    let s: Value = serde_json::from_str(&r.ok(&["settings", "show"])).unwrap();
    assert_eq!(s["entry_cutoff"], "08-31");
    assert_eq!(s["entry_age"], 6);
    assert_eq!(s["suspected_absence_days"], 5);
    assert_eq!(s["dropout_absence_days"], 20);
    assert_eq!(s["joint_attempts_required"], 3);
    let s: Value = serde_json::from_str(&r.ok(&["settings", "set", "entry_age", "7"])).unwrap();
    assert_eq!(s["entry_age"], 7);
    assert!(!r
        .run(&["settings", "set", "entry_cutoff", "13-45"])
        .status
        .success());
    assert!(!r
        .run(&["settings", "set", "no_such_key", "1"])
        .status
        .success());
}

#[test]
fn schools_are_registered_and_listed() {
    let r = TempRegister::new();
    r.ok(&[
        "init",
        "--kind",
        "county",
        "--name",
        "青山县教育局",
        "--region",
        "410499",
    ]);
    r.ok(&[
        "school",
        "add",
        "--code",
        "2141049901",
        "--name",
        "城关中心小学",
        "--kind",
        "primary",
        "--township",
        "410499100",
    ]);
    let list: Value = serde_json::from_str(&r.ok(&["--json", "school", "list"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "城关中心小学");
    assert!(!r
        .run(&["school", "add", "--code", "X1", "--name", "某校", "--kind", "college"])
        .status
        .success());
}

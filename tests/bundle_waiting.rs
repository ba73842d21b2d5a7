//! Waiting records: a village's bundle 3 reaches the county before its bundle 2. Records of
//! bundle 3 edited from a version the county knows apply; a record edited from a version only
//! bundle 2 holds waits, is listed as waiting for bundle 2, is not known (not acknowledged, not
//! in the snapshot), and applies when bundle 2 arrives, or when a county clerk forces it in.
//! Real register files and bundle files, imports through the CLI with the JSON asserted.

use crate::bundle_support::*;
use crate::util::run_cli;
use baoxue::domain::SiteKind;
use std::path::{Path, PathBuf};

struct Scene {
    _dir: tempfile::TempDir,
    d: PathBuf,
    c: Site,
    c2: Site,
    v: Site,
    b: [PathBuf; 3],
    b_c2: [PathBuf; 3],
    known: String,
    waiting: String,
}

/// Village bundles 1–3, to two county registers. Child K is made before bundle 1 and edited
/// after bundle 2 (its base is known at the county); child M is made before bundle 2 and
/// edited before bundle 3 (its base is only in bundle 2); child N is new in bundle 3.
fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let mut v = site(&d, "v1.db", SiteKind::Village, "柳树湾村", V1, None);
    let (c, c2) = two_counties(&d, &mut [&mut v]);
    let out = |v: &mut Site, n: usize, when: i64| -> (PathBuf, PathBuf) {
        let p = d.join(format!("b{n}.bxb"));
        let p2 = d.join(format!("b{n}-c2.bxb"));
        export(v, &c, false, &p, when);
        export(v, &c2, false, &p2, when);
        (p, p2)
    };
    let k = add_child(&mut v, V1, "康康", 11, 10);
    let (b1, b1x) = out(&mut v, 1, 11);
    let m = add_child(&mut v, V1, "明明", 12, 20);
    let (b2, b2x) = out(&mut v, 2, 21);
    edit_child(&mut v, &k, "康康转学", false, 25);
    edit_child(&mut v, &m, "明明随父母外出务工", false, 30);
    add_child(&mut v, V1, "宁宁", 13, 30);
    let (b3, b3x) = out(&mut v, 3, 31);
    Scene {
        _dir: dir,
        d,
        c,
        c2,
        v,
        b: [b1, b2, b3],
        b_c2: [b1x, b2x, b3x],
        known: k,
        waiting: m,
    }
}

fn waiting_list(db: &Path) -> serde_json::Value {
    cli_ok(db, &["bundle", "waiting", "list"])
}

#[test]
fn a_record_behind_a_gap_waits_for_the_named_bundle_and_applies_when_it_arrives() {
    let mut s = scene();
    assert_eq!(cli_import(&s.c.db, &s.b[0]).1["status"], "applied");
    let (ok, r) = cli_import(&s.c.db, &s.b[2]);
    assert!(ok, "{r}");
    assert_eq!(r["status"], "applied");
    assert_eq!(r["missing_seqs"], serde_json::json!([2]));
    assert_eq!(r["waiting"], 1, "{r}");
    // K (base known) and N (new) applied; M waits and is not known here.
    assert_eq!(
        child_note(&s.c, &s.known).as_deref(),
        Some("康康转学"),
        "a record whose base version is known applies"
    );
    assert!(child_names(&s.c).contains(&"宁宁".to_string()));
    assert!(
        !child_names(&s.c).contains(&"明明".to_string()),
        "a waiting record is not applied"
    );
    let w = waiting_list(&s.c.db);
    let w = w.as_array().unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0]["record_id"], s.waiting.as_str());
    assert_eq!(w[0]["table"], "children");
    assert_eq!(w[0]["from_site"], s.v.id.as_str());
    assert_eq!(w[0]["seq"], 3);
    assert_eq!(w[0]["waiting_for"], serde_json::json!([2]));
    let msg = w[0]["message"].as_str().unwrap();
    assert!(msg.contains("柳树湾村") && msg.contains("第2号"), "{msg}");
    let sites = cli_ok(&s.c.db, &["site", "list"]);
    assert_eq!(sites[0]["waiting"], 1);
    assert_eq!(sites[0]["missing_seqs"], serde_json::json!([2]));
    // Not known: the county's acknowledgement to the village stops before the gap.
    let down = s.d.join("down.bxb");
    export(&mut s.c, &s.v, false, &down, 40);
    let info = cli_ok(&s.c.db, &["bundle", "inspect", down.to_str().unwrap()]);
    assert_eq!(info["manifest"]["ack"]["seq"], 1, "{info}");
    // Importing bundle 3 again changes nothing.
    assert_eq!(cli_import(&s.c.db, &s.b[2]).1["status"], "already_imported");
    // Bundle 2 arrives a week later: M applies, with the edit made after bundle 2.
    let (ok, r) = cli_import(&s.c.db, &s.b[1]);
    assert!(ok, "{r}");
    assert_eq!(r["released"], 1, "{r}");
    assert_eq!(r["missing_seqs"], serde_json::json!([]));
    assert_eq!(waiting_list(&s.c.db), serde_json::json!([]));
    assert_eq!(
        child_note(&s.c, &s.waiting).as_deref(),
        Some("明明随父母外出务工")
    );
    assert_eq!(cli_ok(&s.c.db, &["site", "list"])[0]["waiting"], 0);
    // A county that got the bundles in order holds the same register.
    for p in &s.b_c2 {
        assert_eq!(cli_import(&s.c2.db, p).1["status"], "applied");
    }
    assert_eq!(waiting_list(&s.c2.db), serde_json::json!([]));
    assert_eq!(snapshot(&s.c), snapshot(&s.c2));
}

#[test]
fn a_county_clerk_can_force_a_waiting_record_in_with_a_recorded_reason() {
    let s = scene();
    assert_eq!(cli_import(&s.c.db, &s.b[0]).1["status"], "applied");
    assert_eq!(cli_import(&s.c.db, &s.b[2]).1["waiting"], 1);
    let out = run_cli(&s.c.db, &["bundle", "waiting", "force", &s.waiting]);
    assert!(!out.status.success(), "a reason is required");
    let out = run_cli(
        &s.c.db,
        &[
            "bundle",
            "waiting",
            "force",
            "no-such-record",
            "--reason",
            "x",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("没有编号为"));
    let r = cli_ok(
        &s.c.db,
        &[
            "bundle",
            "waiting",
            "force",
            &s.waiting,
            "--reason",
            "第2号数据包的U盘丢失，已电话核实",
        ],
    );
    assert_eq!(r["record_id"], s.waiting.as_str());
    assert_eq!(r["applied"], 1);
    assert_eq!(waiting_list(&s.c.db), serde_json::json!([]));
    assert_eq!(
        child_note(&s.c, &s.waiting).as_deref(),
        Some("明明随父母外出务工")
    );
    let (subject, who): (String, String) =
        s.c.reg
            .conn()
            .query_row(
                "SELECT subject, decided_by || ' ' || reason FROM bundle_decisions
             WHERE action = 'force_waiting'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
    assert!(subject.starts_with(&s.waiting));
    assert!(who.contains("测试员") && who.contains("U盘丢失"), "{who}");
    // The lost stick turns up after all: nothing changes, nothing conflicts.
    let before = snapshot(&s.c);
    let (_, r) = cli_import(&s.c.db, &s.b[1]);
    assert_eq!(r["status"], "applied");
    assert_eq!(r["conflicts"], 0, "{r}");
    assert_eq!(r["released"], 0);
    assert_eq!(
        child_note(&s.c, &s.waiting).as_deref(),
        Some("明明随父母外出务工")
    );
    let after: serde_json::Value = serde_json::from_str(&snapshot(&s.c)).unwrap();
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(after["tables"]["children"], before["tables"]["children"]);
}

#[test]
fn a_full_bundle_fills_the_gap_for_what_waits() {
    let mut s = scene();
    assert_eq!(cli_import(&s.c.db, &s.b[0]).1["status"], "applied");
    assert_eq!(cli_import(&s.c.db, &s.b[2]).1["waiting"], 1);
    // The village re-sends everything on a new stick (bundle 4, full).
    let full = s.d.join("full.bxb");
    export(&mut s.v, &s.c, true, &full, 50);
    let (ok, r) = cli_import(&s.c.db, &full);
    assert!(ok, "{r}");
    assert_eq!(waiting_list(&s.c.db), serde_json::json!([]));
    assert_eq!(
        child_note(&s.c, &s.waiting).as_deref(),
        Some("明明随父母外出务工")
    );
}

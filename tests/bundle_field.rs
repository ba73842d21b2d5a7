//! Bundles in the field: a laptop restored from an old backup (announced, and not announced = a
//! fork), a laptop whose clock is three years ahead (held), relayed files and late gaps, an edit
//! racing a deletion.
//! Real register files, real bundle files, imports through the CLI with the JSON report asserted.

use crate::bundle_support::*;
use crate::util::run_cli;
use baoxue::domain::SiteKind;
use serde_json::Value;

fn clock_ms(s: &Site) -> i64 {
    s.reg
        .conn()
        .query_row("SELECT last_ms FROM clock", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_clock_three_years_ahead_holds_the_bundle_until_a_clerk_decides() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut c = site(
        d,
        "county.db",
        SiteKind::County,
        "青山县教育局",
        COUNTY,
        None,
    );
    let mut v = site(d, "v1.db", SiteKind::Village, "柳树湾村", V1, None);
    trusts(&mut c, &v);
    trusts(&mut v, &c);
    let three_years = 3 * 365 * 24 * 60;
    add_child(&mut v, V1, "未来", 71, three_years);
    let p = d.join("ahead.bxb");
    export(&mut v, &c, false, &p, three_years + 1);
    let before = snapshot(&c);
    let clock_before = clock_ms(&c);
    let (ok, r) = cli_import(&c.db, &p);
    assert!(ok, "held is not a refusal");
    assert_eq!(r["status"], "held");
    assert_eq!(r["reason"], "clock_ahead");
    assert_eq!(r["applied"], 0);
    let msg = r["message"].as_str().unwrap();
    assert!(msg.contains(&v.id) && msg.contains("超前"), "{msg}");
    assert_eq!(snapshot(&c), before, "nothing applied");
    assert_eq!(
        clock_ms(&c),
        clock_before,
        "the county's clock did not move"
    );
    // Importing it again still holds it.
    assert_eq!(cli_import(&c.db, &p).1["status"], "held");
    let held = cli_ok(&c.db, &["bundle", "held", "list"]);
    assert_eq!(held.as_array().unwrap().len(), 1);
    let hash = held[0]["hash"].as_str().unwrap().to_string();
    // A clerk accepts it, with a recorded reason.
    let out = run_cli(&c.db, &["bundle", "held", "accept", &hash[..12]]);
    assert!(!out.status.success(), "a reason is required");
    let r = cli_ok(
        &c.db,
        &[
            "bundle",
            "held",
            "accept",
            &hash[..12],
            "--reason",
            "已电话核实，村里电脑时间设错",
        ],
    );
    assert_eq!(r["status"], "applied");
    assert_eq!(r["applied"], 2);
    assert_ne!(snapshot(&c), before);
    let who: String = c
        .reg
        .conn()
        .query_row(
            "SELECT decided_by || reason FROM bundle_decisions",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(who.contains("测试员") && who.contains("时间设错"));
    assert_eq!(
        cli_ok(&c.db, &["bundle", "held", "list"]),
        serde_json::json!([])
    );
}

#[test]
fn a_held_bundle_can_be_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut c = site(
        d,
        "county.db",
        SiteKind::County,
        "青山县教育局",
        COUNTY,
        None,
    );
    let mut v = site(d, "v1.db", SiteKind::Village, "柳树湾村", V1, None);
    trusts(&mut c, &v);
    trusts(&mut v, &c);
    add_child(&mut v, V1, "未来", 72, 2_000_000);
    let p = d.join("ahead.bxb");
    export(&mut v, &c, false, &p, 2_000_001);
    let before = snapshot(&c);
    assert_eq!(cli_import(&c.db, &p).1["status"], "held");
    let held = cli_ok(&c.db, &["bundle", "held", "list"]);
    let id = held[0]["bundle_id"].as_str().unwrap();
    let r = cli_ok(
        &c.db,
        &[
            "bundle",
            "held",
            "refuse",
            id,
            "--reason",
            "时钟错误，请村里重导",
        ],
    );
    assert_eq!(r["status"], "refused");
    assert_eq!(snapshot(&c), before);
}

#[test]
fn a_restore_announced_starts_a_new_chain_and_an_unannounced_one_is_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut c = site(
        d,
        "county.db",
        SiteKind::County,
        "青山县教育局",
        COUNTY,
        None,
    );
    let mut v = site(d, "v1.db", SiteKind::Village, "柳树湾村", V1, None);
    trusts(&mut c, &v);
    trusts(&mut v, &c);
    add_child(&mut v, V1, "一号", 81, 10);
    let b1 = d.join("b1.bxb");
    export(&mut v, &c, false, &b1, 11);
    assert_eq!(cli_import(&c.db, &b1).1["status"], "applied");
    let bak = d.join("v1-backup.db");
    backup_file(&v, &bak);
    // The laptop goes on working: bundle 2 reaches the county.
    let lost = add_child(&mut v, V1, "二号", 82, 20);
    let b2 = d.join("b2.bxb");
    export(&mut v, &c, false, &b2, 21);
    assert_eq!(cli_import(&c.db, &b2).1["status"], "applied");
    // The laptop dies; the register is restored from the backup and NOT marked restored.
    drop(v);
    let copy = d.join("v1-restored.db");
    std::fs::copy(&bak, &copy).unwrap();
    let mut r = reopen(&copy, "柳树湾村");
    add_child(&mut r, V1, "三号", 83, 30);
    let b2x = d.join("b2-fork.bxb");
    let s = export(&mut r, &c, false, &b2x, 31);
    assert_eq!(
        s.seq, 2,
        "the restored register re-issues sequence number 2"
    );
    let before = snapshot(&c);
    let (ok, rep) = cli_import(&c.db, &b2x);
    assert!(!ok);
    assert_eq!(rep["status"], "refused");
    assert_eq!(rep["reason"], "fork");
    assert!(rep["message"].as_str().unwrap().contains("柳树湾村"));
    assert_eq!(snapshot(&c), before, "neither the second bundle …");
    let list = cli_ok(&c.db, &["site", "list"]);
    assert!(list[0]["frozen"].as_str().unwrap().contains("第2号"));
    let evidence: i64 = c
        .reg
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM bundles_received WHERE seq = 2 AND file IS NOT NULL OR (seq = 2 AND status = 'applied')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(evidence, 2, "both manifests kept");
    add_child(&mut r, V1, "四号", 84, 40);
    let b3x = d.join("b3-fork.bxb");
    export(&mut r, &c, false, &b3x, 41);
    let (_, rep) = cli_import(&c.db, &b3x);
    assert_eq!(rep["reason"], "site_frozen", "… nor anything after it");
    // County staff decide: the site re-sends everything on a new, announced chain.
    let out = run_cli(&c.db, &["site", "resolve-fork", &r.id]);
    assert!(!out.status.success(), "a reason is required");
    cli_ok(
        &c.db,
        &[
            "site",
            "resolve-fork",
            &r.id,
            "--reason",
            "村电脑从备份恢复，已核实，接受新序列",
        ],
    );
    cli_ok(
        &r.db,
        &[
            "site",
            "mark-restored",
            "--reason",
            "2026-09-15 从U盘备份恢复",
        ],
    );
    let full = d.join("full-after-restore.bxb");
    let out = run_cli(
        &r.db,
        &[
            "--json",
            "bundle",
            "export",
            "--out",
            full.to_str().unwrap(),
            "--full",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = cli_ok(&c.db, &["bundle", "inspect", full.to_str().unwrap()]);
    assert!(info["manifest"]["chain"]["restored"].is_object());
    assert_eq!(info["manifest"]["chain"]["seq"], 1);
    let (ok, rep) = cli_import(&c.db, &full);
    assert!(ok, "{rep}");
    assert_eq!(rep["status"], "applied");
    // Nothing already applied is lost: the child only the lost branch had is still there.
    let snap: Value = serde_json::from_str(&snapshot(&c)).unwrap();
    let names: Vec<&str> = snap["tables"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in ["一号", "二号", "三号", "四号"] {
        assert!(names.contains(&n), "{n} missing: {names:?}");
    }
    assert!(snap["tables"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == lost));
}

#[test]
fn a_bundle_carried_by_another_site_is_credited_to_its_origin_and_late_gaps_fill() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut v = site(d, "v1.db", SiteKind::Village, "柳树湾村", V1, None);
    let (c, c2) = two_counties(d, &mut [&mut v]);
    let mut files = vec![];
    for i in 0..3 {
        add_child(&mut v, V1, &format!("孩子{i}"), 90 + i, 10 * i as i64 + 10);
        let p = d.join(format!("v{i}.bxb"));
        export(&mut v, &c, false, &p, 10 * i as i64 + 11);
        let p2 = d.join(format!("v{i}-c2.bxb"));
        export(&mut v, &c2, false, &p2, 10 * i as i64 + 11);
        files.push((p, p2));
    }
    // County 1 gets them in order; county 2 gets the third first (on the township's stick: the
    // same file, copied), then the first, and the second a week later.
    for (p, _) in &files {
        assert_eq!(cli_import(&c.db, p).1["status"], "applied");
    }
    let relayed = d.join("township-stick").join("v2-c2.bxb");
    std::fs::create_dir_all(relayed.parent().unwrap()).unwrap();
    std::fs::copy(&files[2].1, &relayed).unwrap();
    let (_, r) = cli_import(&c2.db, &relayed);
    assert_eq!(r["from_site"], v.id.as_str());
    assert_eq!(r["missing_seqs"], serde_json::json!([1, 2]));
    assert_eq!(
        cli_import(&c2.db, &files[0].1).1["missing_seqs"],
        serde_json::json!([2])
    );
    assert_eq!(
        cli_import(&c2.db, &files[1].1).1["missing_seqs"],
        serde_json::json!([])
    );
    assert_eq!(snapshot(&c), snapshot(&c2));
    let l1 = cli_ok(&c.db, &["site", "list"]);
    let l2 = cli_ok(&c2.db, &["site", "list"]);
    assert_eq!(l1[0]["last_seq"], 3);
    assert_eq!(l2[0]["last_seq"], 3);
}

#[test]
fn an_edit_racing_a_delete_is_one_listed_conflict_decided_alike_and_the_tombstone_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut v = site(d, "v1.db", SiteKind::Village, "柳树湾村", V1, None);
    let mut t = site(d, "t1.db", SiteKind::Township, "城关镇", T1, None);
    let (c, c2) = two_counties(d, &mut [&mut v, &mut t]);
    trusts(&mut t, &v);
    trusts(&mut v, &t);
    let kid = add_child(&mut v, V1, "孙小丽", 51, 10);
    let up = d.join("v-t.bxb");
    export(&mut v, &t, false, &up, 11);
    assert_eq!(cli_import(&t.db, &up).1["status"], "applied");
    // The village deletes the record while the township edits it, both from one version.
    edit_child(&mut v, &kid, "村：重复登记，删除", true, 20);
    edit_child(&mut t, &kid, "乡镇：已核实在本村居住", false, 21);
    let mut files = vec![];
    for (s, n) in [(&mut v, "v"), (&mut t, "t")] {
        for (county, cn) in [(&c, "c"), (&c2, "c2")] {
            let p = d.join(format!("{n}-{cn}.bxb"));
            export(s, county, false, &p, 30);
            files.push((cn, p));
        }
    }
    // County 1 gets the village's first, county 2 the township's first.
    let order1: Vec<_> = files.iter().filter(|f| f.0 == "c").collect();
    let order2: Vec<_> = files.iter().filter(|f| f.0 == "c2").rev().collect();
    let mut conflicts_reported = 0;
    for (db, order) in [(&c.db, order1), (&c2.db, order2)] {
        for (_, p) in order {
            let (ok, r) = cli_import(db, p);
            assert!(ok, "{r}");
            assert_eq!(r["status"], "applied");
            conflicts_reported += r["conflicts"].as_i64().unwrap();
        }
    }
    assert_eq!(
        conflicts_reported, 2,
        "each county reports the conflict once"
    );
    let l1 = cli_ok(&c.db, &["conflicts", "list"]);
    let l2 = cli_ok(&c2.db, &["conflicts", "list"]);
    assert_eq!(l1, l2, "the same conflict and winner on both registers");
    assert_eq!(l1.as_array().unwrap().len(), 1);
    assert_eq!(l1[0]["kind"], "edit_delete");
    assert_eq!(l1[0]["record_id"], kid.as_str());
    // Live before deleted: the edit wins; the deletion is kept as the other side, not purged.
    assert_eq!(
        child_note(&c, &kid).as_deref(),
        Some("乡镇：已核实在本村居住")
    );
    let shown = cli_ok(&c.db, &["conflicts", "show", &kid]);
    let sides = shown["sides"].as_array().unwrap();
    assert_eq!(sides.len(), 2, "{shown}");
    assert!(
        shown.to_string().contains("村：重复登记，删除"),
        "the tombstone is kept in full: {shown}"
    );
    assert_eq!(snapshot(&c), snapshot(&c2));
}

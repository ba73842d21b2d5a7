//! Signed bundles: keys and cards, trust, export / inspect / import through the library and the
//! CLI on real files, and every refusal (tampered, truncated, untrusted, wrong recipient, out of
//! scope) leaving the register unchanged.

use crate::bundle_support::*;
use crate::util::TempRegister;
use baoxue::bundle::conflicts;
use baoxue::domain::SiteKind;
use serde_json::Value;

fn county_and_village(dir: &std::path::Path) -> (Site, Site) {
    let mut c = site(
        dir,
        "county.db",
        SiteKind::County,
        "青山县教育局",
        COUNTY,
        None,
    );
    let mut v = site(dir, "v1.db", SiteKind::Village, "柳树湾村", V1, None);
    trusts(&mut c, &v);
    trusts(&mut v, &c);
    (c, v)
}

#[test]
fn village_bundle_reaches_the_county_once_and_acks_make_the_next_one_small() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, mut v) = county_and_village(dir.path());
    let kids: Vec<String> = (0..5)
        .map(|i| add_child(&mut v, V1, &format!("王小{i}"), 10 + i, 10))
        .collect();
    let b1 = dir.path().join("v1-1.bxb");
    let s = export(&mut v, &c, false, &b1, 20);
    assert_eq!(s.records, 10, "5 households + 5 children");
    let r = import(&mut c, &b1, 30);
    assert_eq!(r.status, "applied", "{r:?}");
    assert_eq!((r.applied, r.unchanged, r.conflicts), (10, 0, 0));
    assert_eq!(
        snapshot(&c),
        snapshot(&v),
        "the county now holds exactly the village's records"
    );
    // The same bundle again changes nothing.
    let before = snapshot(&c);
    let again = import(&mut c, &b1, 31);
    assert_eq!(again.status, "already_imported");
    assert_eq!(snapshot(&c), before);
    // Without an acknowledgement the next incremental bundle re-sends everything.
    edit_child(&mut v, &kids[0], "家访一次", false, 40);
    let b2 = dir.path().join("v1-2.bxb");
    assert_eq!(export(&mut v, &c, false, &b2, 41).records, 10);
    // The county's downward bundle carries the acknowledgement …
    let down = dir.path().join("down.bxb");
    export(&mut c, &v, false, &down, 50);
    assert_eq!(import(&mut v, &down, 51).status, "applied");
    // … so the village's next bundle holds only what changed since.
    edit_child(&mut v, &kids[1], "家访两次", false, 60);
    let b3 = dir.path().join("v1-3.bxb");
    let s3 = export(&mut v, &c, false, &b3, 61);
    assert!(
        s3.records <= 2,
        "only the edits after the acknowledged bundle, got {}",
        s3.records
    );
    // Bundle 2 never arrives: bundle 3 still applies, and the gap is reported.
    let r3 = import(&mut c, &b3, 70);
    assert_eq!(r3.status, "applied");
    assert_eq!(r3.missing_seqs, vec![2]);
    let r2 = import(&mut c, &b2, 71);
    assert_eq!(r2.status, "applied");
    assert!(r2.missing_seqs.is_empty());
    assert_eq!(snapshot(&c), snapshot(&v));
}

#[test]
fn concurrent_edits_are_one_conflict_with_the_same_winner_everywhere_and_resolution_travels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut c, mut v) = county_and_village(d);
    let mut c2 = site(
        d,
        "county2.db",
        SiteKind::County,
        "青山县教育局（备用）",
        COUNTY,
        None,
    );
    let mut t = site(d, "t1.db", SiteKind::Township, "城关镇", T1, None);
    trusts(&mut t, &v);
    trusts(&mut c2, &v);
    trusts(&mut c2, &t);
    trusts(&mut c, &t);
    trusts(&mut v, &t);
    trusts(&mut t, &c);
    trusts(&mut v, &c2);
    trusts(&mut t, &c2);
    let kid = add_child(&mut v, V1, "李小花", 21, 10);
    let p = d.join("v-t.bxb");
    export(&mut v, &t, false, &p, 11);
    assert_eq!(import(&mut t, &p, 12).status, "applied");
    // The township and the village edit the same child from the same version.
    edit_child(&mut t, &kid, "乡镇：已转学", false, 20);
    edit_child(&mut v, &kid, "村：在家务农", false, 21);
    let mut files = vec![];
    for (i, (from, to)) in [(0, 0), (1, 0), (0, 1), (1, 1)].into_iter().enumerate() {
        let p = d.join(format!("b{i}.bxb"));
        let target = if to == 0 { &c } else { &c2 };
        if from == 0 {
            export(&mut v, target, false, &p, 30);
        } else {
            export(&mut t, target, false, &p, 30);
        }
        files.push((to, p));
    }
    // County 1 gets village first, county 2 township first.
    for (to, p) in &files {
        if *to == 0 {
            assert_eq!(import(&mut c, p, 40).status, "applied");
        }
    }
    for (to, p) in files.iter().rev() {
        if *to == 1 {
            assert_eq!(import(&mut c2, p, 40).status, "applied");
        }
    }
    assert_eq!(snapshot(&c), snapshot(&c2));
    let l1 = conflicts::list(c.reg.conn()).unwrap();
    assert_eq!(l1, conflicts::list(c2.reg.conn()).unwrap());
    assert_eq!(l1.len(), 1);
    assert_eq!(l1[0].record_id, kid);
    assert_eq!(l1[0].sides.len(), 2);
    let (_, sides) = conflicts::show(c.reg.conn(), &kid, false).unwrap();
    let notes: Vec<&str> = sides
        .iter()
        .map(|s| s.row["note"].as_str().unwrap())
        .collect();
    assert!(
        notes.contains(&"乡镇：已转学") && notes.contains(&"村：在家务农"),
        "both sides kept in full"
    );
    assert!(
        sides
            .iter()
            .all(|s| s.row["id_number"].as_str().unwrap().contains('*')),
        "masked"
    );
    // County 1 resolves by keeping the village's side; the resolution travels to county 2.
    let keep = sides
        .iter()
        .find(|s| s.row["note"] == "村：在家务农")
        .unwrap()
        .version
        .clone();
    conflicts::resolve(&mut c.reg, &kid, &keep, "电话核实：孩子在村", &at(50)).unwrap();
    assert!(conflicts::list(c.reg.conn()).unwrap().is_empty());
    trusts(&mut c2, &c);
    trusts(&mut c, &c2);
    let p = d.join("c-c2.bxb");
    export(&mut c, &c2, false, &p, 51);
    assert_eq!(import(&mut c2, &p, 52).status, "applied");
    assert!(conflicts::list(c2.reg.conn()).unwrap().is_empty());
    let child = baoxue::store::children::get(c2.reg.conn(), &kid)
        .unwrap()
        .unwrap();
    assert_eq!(child.note.as_deref(), Some("村：在家务农"));
    assert_eq!(snapshot(&c), snapshot(&c2));
}

#[test]
fn case_events_from_two_sites_union_and_a_delete_racing_an_edit_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut c, mut v) = county_and_village(d);
    let mut t = site(d, "t1.db", SiteKind::Township, "城关镇", T1, None);
    trusts(&mut t, &v);
    trusts(&mut c, &t);
    trusts(&mut t, &c);
    trusts(&mut v, &t);
    let kid = add_child(&mut v, V1, "赵小军", 31, 10);
    let gone = add_child(&mut v, V1, "赵小兵", 33, 10);
    let case = open_case(&mut v, &kid, 11);
    add_event(&mut v, &case, "村干部家访", 12);
    let p = d.join("v-t.bxb");
    export(&mut v, &t, false, &p, 13);
    assert_eq!(import(&mut t, &p, 14).status, "applied");
    add_event(&mut t, &case, "乡镇干部劝返", 20);
    add_event(&mut v, &case, "班主任电话", 21);
    edit_child(&mut t, &gone, "乡镇：仍在本村", false, 22);
    edit_child(&mut v, &gone, "村：误登记，删除", true, 23);
    let (pv, pt) = (d.join("v.bxb"), d.join("t.bxb"));
    export(&mut v, &c, false, &pv, 30);
    export(&mut t, &c, false, &pt, 30);
    assert_eq!(import(&mut c, &pt, 40).status, "applied");
    assert_eq!(import(&mut c, &pv, 41).status, "applied");
    let events = baoxue::store::case_events::list_by_case(c.reg.conn(), &case).unwrap();
    assert_eq!(events.len(), 3, "every site's events kept");
    let list = conflicts::list(c.reg.conn()).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].kind, "edit_delete");
    // Live before deleted: the record stays live, the deletion is kept as the other side.
    let child = baoxue::store::children::get(c.reg.conn(), &gone)
        .unwrap()
        .unwrap();
    assert!(!child.meta.deleted);
}

#[test]
fn every_single_byte_change_and_every_truncation_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, mut v) = county_and_village(dir.path());
    add_child(&mut v, V1, "周小明", 41, 10);
    let p = dir.path().join("b.bxb");
    export(&mut v, &c, false, &p, 20);
    let good = std::fs::read(&p).unwrap();
    let before = snapshot(&c);
    let parts = baoxue::bundle::file::split(&good).unwrap();
    let manifest_end = 12 + parts.manifest.len();
    let (sig_start, sig_end) = (manifest_end, manifest_end + 64);
    let mut regions = (0, 0, 0);
    for pos in 0..good.len() {
        for flip in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[pos] ^= flip;
            let r = import_bytes(&mut c, bad, 30);
            assert_eq!(r.status, "refused", "byte {pos} ^ {flip:#x} was accepted");
            assert!(r.reason.is_some());
        }
        if pos < manifest_end {
            regions.0 += 1;
        } else if pos < sig_end && pos >= sig_start {
            regions.1 += 1;
        } else {
            regions.2 += 1;
        }
    }
    assert!(
        regions.0 > 100 && regions.1 == 64 && regions.2 > 100,
        "{regions:?}"
    );
    for cut in [0, 7, 11, 12, 100, manifest_end, sig_end, good.len() - 1] {
        let r = import_bytes(&mut c, good[..cut].to_vec(), 30);
        assert_eq!(r.status, "refused", "cut at {cut}");
    }
    let r = import_bytes(&mut c, good[..good.len() - 1].to_vec(), 30);
    assert_eq!(r.reason.as_deref(), Some("truncated"));
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(import_bytes(&mut c, longer, 30).status, "refused");
    assert_eq!(snapshot(&c), before);
    assert_eq!(received_count(&c), 0);
    // The intact bundle still applies.
    assert_eq!(import_bytes(&mut c, good, 31).status, "applied");
}

#[test]
fn untrusted_sender_other_county_and_out_of_scope_school_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut c, mut v) = county_and_village(d);
    // A village the county never trusted.
    let mut stranger = site(d, "v2.db", SiteKind::Village, "杨庄村", V2, None);
    trusts(&mut stranger, &c);
    add_child(&mut stranger, V2, "杨小丫", 51, 10);
    let p = d.join("stranger.bxb");
    export(&mut stranger, &c, false, &p, 11);
    let r = import(&mut c, &p, 12);
    assert_eq!(
        (r.status.as_str(), r.reason.as_deref()),
        ("refused", Some("untrusted_site"))
    );
    // A bundle addressed to another county.
    let mut other = site(
        d,
        "other.db",
        SiteKind::County,
        "邻县教育局",
        "410500",
        None,
    );
    trusts(&mut v, &other);
    trusts(&mut other, &v);
    add_child(&mut v, V1, "柳小燕", 52, 10);
    let p = d.join("to-other.bxb");
    export(&mut v, &other, false, &p, 11);
    let r = import(&mut c, &p, 12);
    assert_eq!(r.reason.as_deref(), Some("wrong_recipient"), "{r:?}");
    assert!(r.message.unwrap().contains("不是发给本单位"));
    // A school whose bundle carries another school's pupils: its card says school A, but its
    // laptop was set up again as school B.
    let mut s = site(
        d,
        "school.db",
        SiteKind::School,
        "城关小学",
        T1,
        Some("2141049901"),
    );
    trusts(&mut c, &s);
    trusts(&mut s, &c);
    add_pupil(&mut s, "2141049901", "钱小雨", 53, 10);
    let p = d.join("school-ok.bxb");
    export(&mut s, &c, false, &p, 11);
    let before_ok = snapshot(&c);
    assert_eq!(import(&mut c, &p, 12).status, "applied");
    assert_ne!(snapshot(&c), before_ok);
    s.reg
        .conn()
        .execute("UPDATE site SET school_code = '2141049902'", [])
        .unwrap();
    add_pupil(&mut s, "2141049902", "孙小林", 54, 20);
    let p = d.join("school-bad.bxb");
    export(&mut s, &c, false, &p, 21);
    let before = snapshot(&c);
    let r = import(&mut c, &p, 22);
    assert_eq!(r.reason.as_deref(), Some("out_of_scope"), "{r:?}");
    assert_eq!(snapshot(&c), before);
}

fn cli_json(r: &TempRegister, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&r.ok(&all)).unwrap()
}

#[test]
fn the_cli_round_trip_card_trust_export_inspect_import() {
    let county = TempRegister::new();
    let village = TempRegister::new();
    county.ok(&[
        "init",
        "--kind",
        "county",
        "--name",
        "青山县教育局",
        "--region",
        COUNTY,
    ]);
    village.ok(&[
        "init",
        "--kind",
        "village",
        "--name",
        "柳树湾村",
        "--region",
        V1,
    ]);
    let (cc, vc) = (county.path("county.card"), village.path("village.card"));
    let ccard = cli_json(&county, &["site", "card", "--out", cc.to_str().unwrap()]);
    let vcard = cli_json(&village, &["site", "card", "--out", vc.to_str().unwrap()]);
    // A wrong fingerprint is refused; the right one trusts.
    let out = county.run(&[
        "site",
        "trust",
        vc.to_str().unwrap(),
        "--fingerprint",
        "0000 0000 0000 0000 0000",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("指纹不符"));
    county.ok(&[
        "site",
        "trust",
        vc.to_str().unwrap(),
        "--fingerprint",
        vcard["fingerprint"].as_str().unwrap(),
    ]);
    village.ok(&[
        "site",
        "trust",
        cc.to_str().unwrap(),
        "--fingerprint",
        ccard["fingerprint"].as_str().unwrap(),
    ]);
    let list = cli_json(&county, &["site", "list"]);
    assert_eq!(list[0]["name"], "柳树湾村");
    assert_eq!(list[0]["scope"], format!("区划代码 {V1}"));
    // Records made at the village, exported to the default recipient (the county).
    let id = id_number(COUNTY, "20160101", 11);
    village.ok(&[
        "household",
        "add",
        "--head",
        "刘大山",
        "--village",
        V1,
        "--child",
        &format!("刘小山,{id}"),
    ]);
    let b = village.path("v.bxb");
    let s = cli_json(
        &village,
        &["bundle", "export", "--out", b.to_str().unwrap()],
    );
    assert_eq!(s["kind"], "incremental");
    let info = cli_json(&county, &["bundle", "inspect", b.to_str().unwrap()]);
    assert_eq!(info["signature"], "valid");
    assert_eq!(info["manifest"]["from_site"]["name"], "柳树湾村");
    assert_eq!(info["manifest"]["format_version"], 1);
    let r = cli_json(&county, &["bundle", "import", b.to_str().unwrap()]);
    assert_eq!(r["status"], "applied");
    assert_eq!(r["from_site"], vcard["site_id"]);
    for key in [
        "file",
        "bundle_id",
        "applied",
        "unchanged",
        "conflicts",
        "reason",
    ] {
        assert!(r.get(key).is_some(), "report has {key}");
    }
    assert_eq!(county.ok(&["snapshot"]), village.ok(&["snapshot"]));
    // Several files: a JSON array; a damaged one makes the exit code non-zero.
    let bad = village.path("bad.bxb");
    let mut bytes = std::fs::read(&b).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0x20;
    std::fs::write(&bad, bytes).unwrap();
    let out = county.run(&[
        "--json",
        "bundle",
        "import",
        b.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let arr: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(arr[0]["status"], "already_imported");
    assert_eq!(arr[1]["status"], "refused");
    assert_eq!(arr[1]["reason"], "payload_hash");
    // Downward: the county's bundle to the village (card file as --to).
    let down = county.path("down.bxb");
    county.ok(&[
        "bundle",
        "export",
        "--out",
        down.to_str().unwrap(),
        "--to",
        vc.to_str().unwrap(),
    ]);
    let r = cli_json(&village, &["bundle", "import", down.to_str().unwrap()]);
    assert_eq!(r["status"], "applied");
    let list = cli_json(&county, &["site", "list"]);
    assert_eq!(list[0]["last_seq"], 1);
    let conflicts = cli_json(&county, &["conflicts", "list"]);
    assert_eq!(conflicts, serde_json::json!([]));
}

fn required(schema: &str) -> Vec<String> {
    let path = format!("{}/schemas/{schema}", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn written_files_carry_every_field_their_schema_requires() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, mut v) = county_and_village(dir.path());
    add_child(&mut v, V1, "吴小玲", 61, 10);
    let p = dir.path().join("b.bxb");
    export(&mut v, &c, false, &p, 20);
    let bytes = std::fs::read(&p).unwrap();
    let parts = baoxue::bundle::file::split(&bytes).unwrap();
    let manifest: Value = serde_json::from_slice(parts.manifest).unwrap();
    let card: Value = serde_json::from_slice(&card_bytes(&v)).unwrap();
    let report = serde_json::to_value(import(&mut c, &p, 30)).unwrap();
    for (schema, value) in [
        ("bundle-manifest.schema.json", &manifest),
        ("site-card.schema.json", &card),
        ("bundle-import-report.schema.json", &report),
    ] {
        for key in required(schema) {
            assert!(value.get(&key).is_some(), "{schema}: {key} missing");
        }
        assert_eq!(value["format_version"], 1, "{schema}");
    }
}

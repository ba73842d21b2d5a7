//! One child at a village and at a school: records sharing an ID number link by themselves (no
//! uniqueness constraint, so the merge never fails on them); records matching on name + birth
//! date without an ID are probable duplicates, and the county's decision about them travels in
//! bundles like any edit. Real register files and bundle files, through the CLI.

use crate::bundle_support::*;
use baoxue::domain::{Child, Enrolment, Household, SiteKind};
use baoxue::store;

const SCHOOL: &str = "2141049901";

/// A village child without an ID number.
fn roster_child_without_id(s: &mut Site, name: &str, birth: &str, when: i64) -> String {
    let mut w = s.reg.writer(&at(when)).unwrap();
    let h = Household {
        meta: w.new_meta(),
        head_name: format!("{name}之母"),
        head_id_number: None,
        phone: None,
        address: Some("二组".into()),
        village_code: V1.into(),
        priority_groups: vec![],
        note: None,
    };
    store::households::put(w.conn(), &h).unwrap();
    let c = child(&mut w, name, birth, None, Some(h.meta.id.clone()), Some(V1));
    w.commit().unwrap();
    c
}

fn child(
    w: &mut baoxue::register::Writer<'_>,
    name: &str,
    birth: &str,
    idn: Option<String>,
    household: Option<String>,
    village: Option<&str>,
) -> String {
    let c = Child {
        meta: w.new_meta(),
        household_id: household,
        name: name.into(),
        sex: Some("女".into()),
        birth_date: Some(birth.into()),
        id_key: idn.clone(),
        id_number: idn,
        student_no: None,
        village_code: village.map(str::to_string),
        hukou_place: None,
        residence: None,
        flags: vec![],
        disability_type: None,
        disability_grade: None,
        life_status: "normal".into(),
        life_status_detail: None,
        note: None,
    };
    store::children::put(w.conn(), &c).unwrap();
    c.meta.id
}

/// A pupil on the school's roll sheet (no village), with or without an ID number.
fn pupil(s: &mut Site, name: &str, birth: &str, idn: Option<String>, when: i64) -> String {
    let mut w = s.reg.writer(&at(when)).unwrap();
    let id = child(&mut w, name, birth, idn, None, None);
    let e = Enrolment {
        meta: w.new_meta(),
        child_id: id.clone(),
        school_code: SCHOOL.into(),
        student_no: None,
        grade: Some(4),
        class_name: Some("2班".into()),
        entry_date: Some("2022-09-01".into()),
        status: "studying".into(),
        status_date: None,
        term: Some("2026秋".into()),
        note: None,
    };
    store::enrolments::put(w.conn(), &e).unwrap();
    w.commit().unwrap();
    id
}

fn records_in_file(db: &std::path::Path, key: &str) -> Vec<String> {
    let f = cli_ok(db, &["child", "show", key]);
    let mut ids: Vec<String> = f["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["child"]["meta"]["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn the_same_child_at_a_village_and_a_school_is_one_child_and_the_decision_travels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut v = site(d, "v1.db", SiteKind::Village, "柳树湾村", V1, None);
    let mut s = site(d, "s1.db", SiteKind::School, "城关小学", T1, Some(SCHOOL));
    let (mut c, mut c2) = two_counties(d, &mut [&mut v, &mut s]);
    trusts(&mut c2, &c);
    trusts(&mut c, &c2);
    // With an ID: the village and the school both enter 王芳 with one ID number.
    let idn = id_number(COUNTY, "20150301", 41);
    let fang_v = {
        let mut w = v.reg.writer(&at(10)).unwrap();
        let id = child(
            &mut w,
            "王芳",
            "2015-03-01",
            Some(idn.clone()),
            None,
            Some(V1),
        );
        w.commit().unwrap();
        id
    };
    let fang_s = pupil(&mut s, "王芳", "2015-03-01", Some(idn.clone()), 10);
    // Without an ID: 李小花 on the roster, and on the school's roll sheet.
    let hua_v = roster_child_without_id(&mut v, "李小花", "2016-07-08", 12);
    let hua_s = pupil(&mut s, "李小花", "2016-07-08", None, 12);
    for (x, n) in [(&mut v, "v"), (&mut s, "s")] {
        for (county, cn) in [(&c, "c"), (&c2, "c2")] {
            let p = d.join(format!("{n}-{cn}.bxb"));
            export(x, county, false, &p, 20);
            let (ok, r) = if cn == "c" {
                cli_import(&c.db, &p)
            } else {
                cli_import(&c2.db, &p)
            };
            assert!(ok, "{r}");
            assert_eq!(r["status"], "applied");
        }
    }
    // Same ID: one child, two records, no merge failure.
    let mut both = vec![fang_v.clone(), fang_s.clone()];
    both.sort();
    assert_eq!(records_in_file(&c.db, &fang_v), both);
    assert_eq!(records_in_file(&c.db, &idn), both);
    // Name + birth date without ID: offered as a probable duplicate, undecided.
    let dup = cli_ok(&c.db, &["person", "duplicates"]);
    let dup = dup.as_array().unwrap();
    assert_eq!(dup.len(), 1, "{dup:?}");
    let mut pair = vec![hua_v.clone(), hua_s.clone()];
    pair.sort();
    assert_eq!(dup[0]["child_id"], pair[0].as_str());
    assert_eq!(dup[0]["other_child_id"], pair[1].as_str());
    assert_eq!(dup[0]["decision"], serde_json::Value::Null);
    assert_eq!(records_in_file(&c.db, &hua_v), vec![hua_v.clone()]);
    // The county clerk confirms: one child. Confirming again changes nothing.
    let out = crate::util::run_cli(&c.db, &["person", "confirm", &hua_v, &hua_s]);
    assert!(!out.status.success(), "a reason is required");
    let link = cli_ok(
        &c.db,
        &[
            "person",
            "confirm",
            &hua_s,
            &hua_v,
            "--reason",
            "已与学校核对户籍地和父母姓名",
        ],
    );
    assert_eq!(link["decision"], "same");
    assert_eq!(link["decided_by"], "测试员");
    let snap = snapshot(&c);
    cli_ok(
        &c.db,
        &["person", "confirm", &hua_v, &hua_s, "--reason", "再次确认"],
    );
    assert_eq!(
        snapshot(&c),
        snap,
        "the same decision twice changes nothing"
    );
    assert_eq!(records_in_file(&c.db, &hua_v), pair);
    assert_eq!(records_in_file(&c.db, &hua_s), pair);
    assert_eq!(
        cli_ok(&c.db, &["person", "duplicates"])[0]["decision"],
        "same"
    );
    // The decision travels: to the second county register, twice (idempotent) …
    let up = d.join("c-to-c2.bxb");
    export(&mut c, &c2, false, &up, 30);
    let (ok, r) = cli_import(&c2.db, &up);
    assert!(ok, "{r}");
    assert_eq!(r["applied"], 1);
    assert_eq!(cli_import(&c2.db, &up).1["status"], "already_imported");
    assert_eq!(records_in_file(&c2.db, &hua_s), pair);
    // … and down to the village and the school, inside their scope.
    for (x, n) in [(&mut v, "v"), (&mut s, "s")] {
        let p = d.join(format!("down-{n}.bxb"));
        export(&mut c, x, false, &p, 31);
        let (ok, r) = cli_import(&x.db, &p);
        assert!(ok, "{r}");
        let has: i64 = x
            .reg
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM person_links WHERE decision = 'same'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(has, 1, "{n} received the decision");
    }
}

#[test]
fn two_registers_deciding_differently_about_one_pair_is_one_listed_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut v = site(d, "v1.db", SiteKind::Village, "柳树湾村", V1, None);
    let mut s = site(d, "s1.db", SiteKind::School, "城关小学", T1, Some(SCHOOL));
    let (mut c, mut c2) = two_counties(d, &mut [&mut v, &mut s]);
    trusts(&mut c2, &c);
    trusts(&mut c, &c2);
    let a = roster_child_without_id(&mut v, "张伟", "2014-01-02", 10);
    let b = pupil(&mut s, "张伟", "2014-01-02", None, 10);
    for (x, n) in [(&mut v, "v"), (&mut s, "s")] {
        for (county, cn) in [(&c, "c"), (&c2, "c2")] {
            let p = d.join(format!("{n}-{cn}.bxb"));
            export(x, county, false, &p, 20);
            let db = if cn == "c" { &c.db } else { &c2.db };
            assert_eq!(cli_import(db, &p).1["status"], "applied");
        }
    }
    cli_ok(
        &c.db,
        &[
            "person",
            "confirm",
            &a,
            &b,
            "--reason",
            "同名同生日，村里说是同一人",
        ],
    );
    cli_ok(
        &c2.db,
        &["person", "reject", &a, &b, "--reason", "学校说父母姓名不同"],
    );
    let p1 = d.join("c-c2.bxb");
    let p2 = d.join("c2-c.bxb");
    export(&mut c, &c2, false, &p1, 30);
    export(&mut c2, &c, false, &p2, 30);
    let (ok1, r1) = cli_import(&c2.db, &p1);
    let (ok2, r2) = cli_import(&c.db, &p2);
    assert!(ok1 && ok2, "{r1} {r2}");
    assert_eq!(r1["conflicts"], 1, "{r1}");
    assert_eq!(r2["conflicts"], 1, "{r2}");
    let l1 = cli_ok(&c.db, &["conflicts", "list"]);
    let l2 = cli_ok(&c2.db, &["conflicts", "list"]);
    assert_eq!(l1, l2, "the same conflict, the same winner, on both");
    assert_eq!(l1.as_array().unwrap().len(), 1);
    assert_eq!(l1[0]["table"], "person_links");
    let dec = |db: &std::path::Path| cli_ok(db, &["person", "duplicates"])[0]["decision"].clone();
    assert_eq!(dec(&c.db), dec(&c2.db));
}

#[test]
fn a_probable_match_rejected_in_the_cross_check_travels_with_the_county_to_its_new_laptop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, mut b) = county_and_new_laptop(d);
    let child = roster_child_without_id(&mut a, "周无证", "2015-04-09", 10);
    let other = pupil(&mut a, "周无证", "2015-04-09", None, 10);
    let check = |s: &Site| {
        let settings = baoxue::settings::Settings::load(s.reg.conn()).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 9, 15).unwrap();
        baoxue::crosscheck::run(s.reg.conn(), &settings, day).unwrap()
    };
    let r = check(&a);
    let m = r.to_confirm.iter().find(|m| m.name == "周无证").unwrap();
    assert_eq!(m.candidates[0].child_id, other);

    let v = baoxue::crosscheck::confirm::reject_match(
        &mut a.reg,
        &child,
        &other,
        "入户核实：不是同一人",
        &at(20),
    )
    .unwrap();
    assert!(v.stored);
    // The decision is the same record `person reject` makes: `person duplicates` shows it.
    let dup = cli_ok(&a.db, &["person", "duplicates"]);
    assert_eq!(dup[0]["decision"], "different", "{dup}");
    assert_eq!(dup[0]["reason"], "入户核实：不是同一人");
    assert!(!check(&a).to_confirm.iter().any(|m| m.name == "周无证"));

    // The county's new laptop, from a full bundle, no longer proposes the pair either.
    let p = d.join("full.bxb");
    export(&mut a, &b, true, &p, 30);
    assert_eq!(import(&mut b, &p, 40).status, "applied");
    let r = check(&b);
    assert!(!r.to_confirm.iter().any(|m| m.name == "周无证"));
    let s = r.suspected.iter().find(|s| s.name == "周无证").unwrap();
    assert!(s.reason.contains("已核实不是同一人"), "{}", s.reason);
}

#[test]
fn a_child_confirmed_to_be_a_studying_pupil_is_not_listed_by_the_cross_check() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, _) = county_and_new_laptop(dir.path());
    let child = roster_child_without_id(&mut a, "吴无证", "2015-06-01", 10);
    let other = pupil(&mut a, "吴无证", "2015-06-01", None, 10);
    let check = |s: &Site| {
        let settings = baoxue::settings::Settings::load(s.reg.conn()).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 9, 15).unwrap();
        let r = baoxue::crosscheck::run(s.reg.conn(), &settings, day).unwrap();
        let proposed = r.to_confirm.iter().any(|m| m.name == "吴无证");
        let listed = r.suspected.iter().any(|m| m.name == "吴无证");
        (proposed, listed)
    };
    assert_eq!(check(&a), (true, false), "a probable match, for a person");
    baoxue::persons::decide(
        &mut a.reg,
        &child,
        &other,
        true,
        "村校核实：同一儿童",
        &at(20),
    )
    .unwrap();
    assert_eq!(check(&a), (false, false), "confirmed: studying, not listed");
    baoxue::persons::decide(
        &mut a.reg,
        &child,
        &other,
        false,
        "复核：不是同一人",
        &at(30),
    )
    .unwrap();
    assert_eq!(check(&a), (false, true), "rejected: listed as not enrolled");
}

//! Helpers for the bundle tests: sites as real register files, cards exchanged, records made as
//! a clerk would make them (through `Writer`), bundles written to and read from disk.

#![allow(dead_code)]

use baoxue::bundle::{self, card, keys, trust, ExportOptions, ImportReport};
use baoxue::domain::{Case, CaseEvent, Child, Enrolment, Household, SiteKind};
use baoxue::register::{Actor, NewSite, Register};
use baoxue::store;
use std::path::{Path, PathBuf};

pub const COUNTY: &str = "410499";
pub const V1: &str = "410499100201";
pub const V2: &str = "410499100202";
pub const T1: &str = "410499100";

/// A time `mins` minutes after the test epoch.
pub fn at(mins: i64) -> Actor {
    let base = chrono::DateTime::parse_from_rfc3339("2026-09-15T08:00:00+08:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    Actor::new("测试员", base + chrono::Duration::minutes(mins))
}

pub struct Site {
    pub reg: Register,
    pub db: PathBuf,
    pub id: String,
    pub name: String,
}

pub fn site(
    dir: &Path,
    file: &str,
    kind: SiteKind,
    name: &str,
    region: &str,
    school: Option<&str>,
) -> Site {
    let db = dir.join(file);
    let mut reg = Register::open(&db).unwrap();
    let s = reg
        .init_site(
            NewSite {
                kind,
                name: name.into(),
                region_code: region.into(),
                school_code: school.map(str::to_string),
            },
            &at(0),
        )
        .unwrap();
    Site {
        reg,
        db,
        id: s.id,
        name: name.into(),
    }
}

/// The county's two registers (its office and a spare laptop, fed the same bundles in different
/// orders, must end alike), each trusting every field site given and trusted by it in turn.
pub fn two_counties(dir: &Path, field: &mut [&mut Site]) -> (Site, Site) {
    let mut c = site(
        dir,
        "county.db",
        SiteKind::County,
        "青山县教育局",
        COUNTY,
        None,
    );
    let mut c2 = site(
        dir,
        "county2.db",
        SiteKind::County,
        "青山县教育局（二）",
        COUNTY,
        None,
    );
    for county in [&mut c, &mut c2] {
        for x in field.iter_mut() {
            trusts(county, x);
            trusts(x, county);
        }
    }
    (c, c2)
}

/// The county's register and its new laptop's, each trusting the other (a full bundle moves the
/// county from one to the other).
pub fn county_and_new_laptop(dir: &Path) -> (Site, Site) {
    let mut a = site(dir, "a.db", SiteKind::County, "青山县教育局", COUNTY, None);
    let mut b = site(
        dir,
        "b.db",
        SiteKind::County,
        "青山县教育局（新电脑）",
        COUNTY,
        None,
    );
    trusts(&mut a, &b);
    trusts(&mut b, &a);
    (a, b)
}

pub fn card_bytes(s: &Site) -> Vec<u8> {
    let me = s.reg.require_site().unwrap();
    let k = keys::load(s.reg.conn()).unwrap();
    serde_json::to_vec_pretty(&card::make(&me, &k, "2026-09-15T00:00:00Z").unwrap()).unwrap()
}

/// `a` trusts `b`'s card.
pub fn trusts(a: &mut Site, b: &Site) {
    let c = card_bytes(b);
    let fp = card::parse_and_check(&c).unwrap().fingerprint;
    trust::trust(&mut a.reg, &c, Some(&fp), &at(1)).unwrap();
}

pub fn export(
    s: &mut Site,
    to: &Site,
    full: bool,
    path: &Path,
    when: i64,
) -> bundle::ExportSummary {
    bundle::export_bundle(
        &mut s.reg,
        &ExportOptions {
            to: Some(to.id.clone()),
            full,
        },
        path,
        &at(when),
    )
    .unwrap()
}

pub fn import(s: &mut Site, path: &Path, when: i64) -> ImportReport {
    let bytes = std::fs::read(path).unwrap();
    bundle::import_bundle(&mut s.reg, bytes, &path.display().to_string(), &at(when))
}

pub fn import_bytes(s: &mut Site, bytes: Vec<u8>, when: i64) -> ImportReport {
    bundle::import_bundle(&mut s.reg, bytes, "bytes", &at(when))
}

pub fn snapshot(s: &Site) -> String {
    baoxue::snapshot::snapshot_text(s.reg.conn()).unwrap()
}

pub fn id_number(region: &str, birth: &str, seq: u32) -> String {
    let first = format!("{region}{birth}{seq:03}");
    format!("{first}{}", baoxue::idnum::check_char(&first))
}

/// A household with one child in a village; returns the child id.
pub fn add_child(s: &mut Site, village: &str, name: &str, seq: u32, when: i64) -> String {
    let mut w = s.reg.writer(&at(when)).unwrap();
    let h = Household {
        meta: w.new_meta(),
        head_name: format!("{name}之父"),
        head_id_number: None,
        phone: Some("13800001111".into()),
        address: Some("一组".into()),
        village_code: village.into(),
        priority_groups: vec![],
        note: None,
    };
    store::households::put(w.conn(), &h).unwrap();
    let idn = id_number(COUNTY, "20150301", seq);
    let c = Child {
        meta: w.new_meta(),
        household_id: Some(h.meta.id.clone()),
        name: name.into(),
        sex: Some("男".into()),
        birth_date: Some("2015-03-01".into()),
        id_key: Some(idn.clone()),
        id_number: Some(idn),
        student_no: None,
        village_code: Some(village.into()),
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
    w.audit("children", &c.meta.id, "insert", &["name"])
        .unwrap();
    w.commit().unwrap();
    c.meta.id
}

/// A pupil of a school (child without village, enrolled at `school`); returns the child id.
pub fn add_pupil(s: &mut Site, school: &str, name: &str, seq: u32, when: i64) -> String {
    let mut w = s.reg.writer(&at(when)).unwrap();
    let idn = id_number(COUNTY, "20140501", seq);
    let c = Child {
        meta: w.new_meta(),
        household_id: None,
        name: name.into(),
        sex: Some("女".into()),
        birth_date: Some("2014-05-01".into()),
        id_key: Some(idn.clone()),
        student_no: Some(format!("G{idn}")),
        id_number: Some(idn),
        village_code: None,
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
    let e = Enrolment {
        meta: w.new_meta(),
        child_id: c.meta.id.clone(),
        school_code: school.into(),
        student_no: c.student_no.clone(),
        grade: Some(3),
        class_name: Some("1班".into()),
        entry_date: Some("2023-09-01".into()),
        status: "studying".into(),
        status_date: None,
        term: Some("2026秋".into()),
        note: None,
    };
    store::enrolments::put(w.conn(), &e).unwrap();
    w.commit().unwrap();
    c.meta.id
}

/// Edits a child's note (and optionally deletes it), as a clerk would.
pub fn edit_child(s: &mut Site, id: &str, note: &str, delete: bool, when: i64) -> bool {
    let mut w = s.reg.writer(&at(when)).unwrap();
    let Some(mut c) = store::children::get(w.conn(), id).unwrap() else {
        return false;
    };
    c.meta = w.next_meta(&c.meta);
    c.note = Some(note.into());
    if delete {
        c.meta.deleted = true;
    }
    store::children::put(w.conn(), &c).unwrap();
    w.audit(
        "children",
        id,
        if delete { "delete" } else { "update" },
        &["note"],
    )
    .unwrap();
    w.commit().unwrap();
    true
}

/// Opens a case for a child; returns the case id.
pub fn open_case(s: &mut Site, child: &str, when: i64) -> String {
    let mut w = s.reg.writer(&at(when)).unwrap();
    let c = Case {
        meta: w.new_meta(),
        child_id: child.into(),
        state: "confirmed".into(),
        reason_code: Some("weariness".into()),
        priority_groups: vec![],
        resp_school: None,
        resp_township: None,
        resp_village: None,
        plan: None,
        opened_on: "2026-09-10".into(),
        closed_on: None,
    };
    store::cases::put(w.conn(), &c).unwrap();
    w.commit().unwrap();
    c.meta.id
}

pub fn add_event(s: &mut Site, case: &str, note: &str, when: i64) {
    let mut w = s.reg.writer(&at(when)).unwrap();
    let e = CaseEvent {
        meta: w.new_meta(),
        case_id: case.into(),
        on_date: "2026-09-16".into(),
        kind: "attempt".into(),
        from_state: None,
        to_state: None,
        payload: serde_json::json!({ "note": note }).to_string(),
        operator: "测试员".into(),
    };
    store::case_events::insert(w.conn(), &e).unwrap();
    w.commit().unwrap();
}

/// Counts of the bookkeeping a refused bundle must not touch.
pub fn received_count(s: &Site) -> i64 {
    s.reg
        .conn()
        .query_row("SELECT COUNT(*) FROM bundles_received", [], |r| r.get(0))
        .unwrap()
}

/// `baoxue --json bundle import FILE` on a register file: (exit success, the JSON report).
pub fn cli_import(db: &Path, file: &Path) -> (bool, serde_json::Value) {
    let out = crate::util::run_cli(db, &["--json", "bundle", "import", file.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), v)
}

/// `baoxue --json ARGS…`, asserting success; the JSON printed (Null when none).
pub fn cli_ok(db: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = crate::util::run_cli(db, &all);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// Names of the live children in a snapshot.
pub fn child_names(s: &Site) -> Vec<String> {
    let snap: serde_json::Value = serde_json::from_str(&snapshot(s)).unwrap();
    let mut names: Vec<String> = snap["tables"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["deleted"] == 0 || c["deleted"] == false)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// A child's note as this register has it.
pub fn child_note(s: &Site, id: &str) -> Option<String> {
    s.reg
        .conn()
        .query_row("SELECT note FROM children WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .ok()
        .flatten()
}

/// A village child without an ID number (in a new household); returns the child id.
pub fn add_child_without_id(
    s: &mut Site,
    village: &str,
    name: &str,
    birth: &str,
    when: i64,
) -> String {
    let mut w = s.reg.writer(&at(when)).unwrap();
    let h = Household {
        meta: w.new_meta(),
        head_name: format!("{name}之母"),
        head_id_number: None,
        phone: None,
        address: Some("二组".into()),
        village_code: village.into(),
        priority_groups: vec![],
        note: None,
    };
    store::households::put(w.conn(), &h).unwrap();
    let c = Child {
        meta: w.new_meta(),
        household_id: Some(h.meta.id.clone()),
        name: name.into(),
        sex: Some("女".into()),
        birth_date: Some(birth.into()),
        id_key: None,
        id_number: None,
        student_no: None,
        village_code: Some(village.into()),
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
    w.commit().unwrap();
    c.meta.id
}

/// A pupil of `school` carrying a given ID number (the same child a village has on its roster).
pub fn add_pupil_with_id(s: &mut Site, school: &str, name: &str, idn: &str, when: i64) -> String {
    let mut w = s.reg.writer(&at(when)).unwrap();
    let c = Child {
        meta: w.new_meta(),
        household_id: None,
        name: name.into(),
        sex: Some("男".into()),
        birth_date: Some("2015-03-01".into()),
        id_key: Some(idn.into()),
        student_no: None,
        id_number: Some(idn.into()),
        village_code: None,
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
    let e = Enrolment {
        meta: w.new_meta(),
        child_id: c.meta.id.clone(),
        school_code: school.into(),
        student_no: None,
        grade: Some(5),
        class_name: Some("1班".into()),
        entry_date: Some("2021-09-01".into()),
        status: "studying".into(),
        status_date: None,
        term: Some("2026秋".into()),
        note: None,
    };
    store::enrolments::put(w.conn(), &e).unwrap();
    w.commit().unwrap();
    c.meta.id
}

/// A backup of a register file, as `VACUUM INTO` writes it (consistent even under WAL).
pub fn backup_file(s: &Site, to: &Path) {
    s.reg
        .conn()
        .execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
}

/// Reopens a register file (a restored copy) as a site.
pub fn reopen(db: &Path, name: &str) -> Site {
    let reg = Register::open(db).unwrap();
    let id = reg.require_site().unwrap().id;
    Site {
        reg,
        db: db.to_path_buf(),
        id,
        name: name.into(),
    }
}

//! The cross-check's fast path on a generated county large enough to take every split (a second
//! connection on the same snapshot building the set of pupils studying, the roster and a hukou
//! list fetched in halves on two connections, the name + birth-date look-ups in halves, the
//! rules judged on two threads, the JSON written in two halves), checked against:
//! - the obvious SQL anti-join (who has no 在读 enrolment by ID, or by record id without one);
//! - the same cross-check on one connection (run inside a transaction: no second connection);
//! - the same cross-check on two connections reading through SQLite's statements, not the
//!   register file's pages (a reader keeps the write-ahead log from being emptied);
//! - `serde_json::to_string_pretty` for the JSON text, byte for byte.

use crate::util::{actor, id_number, TempRegister};
use baoxue::crosscheck::{self, CrossCheck};
use baoxue::domain::{Child, Enrolment, Household, SiteKind};
use baoxue::register::{NewSite, Register, Writer};
use baoxue::settings::Settings;
use baoxue::store;
use baoxue::store::list_rows::ListRow;
use baoxue::store::list_versions::NewVersion;
use chrono::{Duration, NaiveDate};
use std::collections::BTreeSet;

const VILLAGES: [&str; 3] = ["410423100201", "410423100202", "410423101201"];
const CHILDREN: usize = 8000;

fn household(w: &mut Writer<'_>, i: usize) -> Household {
    let h = Household {
        meta: w.new_meta(),
        head_name: format!("户主{i}"),
        head_id_number: None,
        phone: None,
        address: None,
        village_code: VILLAGES[i % 3].into(),
        priority_groups: if i.is_multiple_of(9) {
            vec!["dibao".into()]
        } else {
            vec![]
        },
        note: None,
    };
    store::households::put(w.conn(), &h).unwrap();
    h
}

fn enrol(w: &mut Writer<'_>, child: &str, status: &str, i: usize) {
    let e = Enrolment {
        meta: w.new_meta(),
        child_id: child.into(),
        school_code: format!("21410423{:02}", i % 4),
        student_no: None,
        grade: Some(1 + (i % 9) as i64),
        class_name: None,
        entry_date: None,
        status: status.into(),
        status_date: Some("2026-09-01".into()),
        term: None,
        note: None,
    };
    store::enrolments::put(w.conn(), &e).unwrap();
}

/// 8000 roster children (every fifth without an ID); every third also on a school's roll as a
/// separate record (some without an ID: probable matches; some 辍学 or 转出; some deleted; some
/// with ids that are not UUIDs); every seventh enrolled directly on its roster record; a hukou
/// extract naming every child with an ID.
fn build(reg: &mut Register, today: NaiveDate) -> i64 {
    let a = actor();
    let mut w = reg.writer(&a).unwrap();
    let mut h = household(&mut w, 0);
    let mut hukou = Vec::new();
    for i in 0..CHILDREN {
        if i.is_multiple_of(2) {
            h = household(&mut w, i);
        }
        let birth = today - Duration::days(7 * 365 + (i as i64 * 13) % (7 * 365));
        let b = birth.format("%Y%m%d").to_string();
        let id = (!i.is_multiple_of(5))
            .then(|| id_number(&format!("4104{:02}", 10 + i / 1000), &b, (i % 1000) as u32));
        let mut c = Child {
            meta: w.new_meta(),
            household_id: Some(h.meta.id.clone()),
            name: format!("比对儿童{i}"),
            sex: None,
            birth_date: Some(birth.to_string()),
            id_number: id.clone(),
            id_key: id.clone(),
            student_no: None,
            village_code: (!i.is_multiple_of(4)).then(|| h.village_code.clone()),
            hukou_place: None,
            residence: None,
            flags: if i.is_multiple_of(31) {
                vec!["orphan".into()]
            } else {
                vec![]
            },
            disability_type: (i.is_multiple_of(29)).then(|| "智力".to_string()),
            disability_grade: None,
            life_status: "normal".into(),
            life_status_detail: None,
            note: None,
        };
        store::children::put(w.conn(), &c).unwrap();
        if let Some(id) = &id {
            hukou.push((i, id.clone(), birth.to_string(), VILLAGES[i % 3]));
        }
        if i % 7 == 1 {
            enrol(&mut w, &c.meta.id.clone(), "studying", i);
        }
        if i.is_multiple_of(3) {
            // The school's own record of the pupil.
            c.meta = w.new_meta();
            if i % 101 == 3 {
                c.meta.id = format!("legacy-{i}");
            }
            c.household_id = None;
            c.village_code = None;
            if i.is_multiple_of(4) {
                // A roll record without the ID: only a probable match by name + birth date.
                c.id_number = None;
                c.id_key = None;
            }
            c.meta.deleted = i % 11 == 2;
            store::children::put(w.conn(), &c).unwrap();
            let status = match i % 13 {
                5 => "dropped_out",
                6 => "transferred_out",
                _ => "studying",
            };
            enrol(&mut w, &c.meta.id.clone(), status, i);
        }
    }
    let now = w.now_text();
    let version = store::list_versions::insert(
        w.conn(),
        &NewVersion {
            kind: "hukou",
            source: "测试县公安局",
            as_of: "2026-09-01",
            file_name: "hukou.xlsx",
            file_sha256: "",
            imported_at: &now,
            operator: "测试员",
            rows_read: hukou.len() as i64,
            rows_kept: hukou.len() as i64,
            rows_out_of_age: 0,
            rows_refused: 0,
        },
    )
    .unwrap();
    for (n, (i, id, birth, village)) in hukou.into_iter().enumerate() {
        store::list_rows::insert(
            w.conn(),
            version,
            &ListRow {
                row: n as u32 + 3,
                birth_date: birth,
                id_key: Some(id),
                name: format!("比对儿童{i}"),
                sex: None,
                head_name: None,
                relation: None,
                township: None,
                township_code: None,
                village: None,
                village_code: Some(village.into()),
                address: None,
                category: None,
                disability_grade: None,
                groups: if i.is_multiple_of(17) {
                    vec!["jiandang".into()]
                } else {
                    vec![]
                },
                term: None,
                school: None,
            },
        )
        .unwrap();
    }
    w.commit().unwrap();
    version
}

/// The persons (ID, else record id) of the sources in the window with no 在读 enrolment, by the
/// obvious SQL anti-join.
fn not_studying(reg: &Register, r: &CrossCheck, version: i64) -> BTreeSet<String> {
    let sql = "SELECT COALESCE(c.id_key, c.id) FROM children c
           WHERE c.household_id IS NOT NULL AND c.deleted = 0 AND c.birth_date <= ?1 AND c.birth_date > ?2
         UNION SELECT id_key FROM list_rows
           WHERE version_id = ?3 AND birth_date <= ?1 AND birth_date > ?2
         EXCEPT SELECT COALESCE(p.id_key, p.id) FROM enrolments e JOIN children p ON p.id = e.child_id
           WHERE e.status = 'studying' AND e.deleted = 0 AND p.deleted = 0";
    let mut st = reg.conn().prepare(sql).unwrap();
    let rows = st
        .query_map(
            rusqlite::params![
                r.window.born_on_or_before.to_string(),
                r.window.born_after.to_string(),
                version
            ],
            |row| row.get::<_, String>(0),
        )
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// The result as JSON with both lists in a canonical order (entries that tie on the sort keys
/// come in no defined order).
fn canonical(r: &CrossCheck) -> String {
    let mut v = serde_json::to_value(r).unwrap();
    for list in ["suspected", "to_confirm"] {
        let items = v[list].as_array_mut().unwrap();
        items.sort_by_key(|x| x.to_string());
    }
    v.to_string()
}

#[test]
fn the_fast_cross_check_matches_the_obvious_sql_and_the_one_connection_run() {
    let tmp = TempRegister::new();
    let a = actor();
    let today = a.now.date_naive();
    let mut reg = Register::open(&tmp.db).unwrap();
    reg.init_site(
        NewSite {
            kind: SiteKind::County,
            name: "测试县".into(),
            region_code: "410423".into(),
            school_code: None,
        },
        &a,
    )
    .unwrap();
    let version = build(&mut reg, today);
    let settings = Settings::load(reg.conn()).unwrap();

    // Whether a fresh read transaction of the register sees its snapshot in the file itself
    // (then the cross-check reads its long index scans from the file's pages).
    let file_is_snapshot = |reg: &Register| {
        let tx = reg.conn().unchecked_transaction().unwrap();
        tx.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
        store::btree::Pages::of(&tx).is_some()
    };
    assert!(
        !file_is_snapshot(&reg),
        "the build's pages are still in the log"
    );

    // A plain register file, outside any transaction: the two-connection path; the log is
    // emptied first, so the scans read the file's pages.
    let fast = crosscheck::run(reg.conn(), &settings, today).unwrap();
    assert!(file_is_snapshot(&reg), "the cross-check emptied the log");
    // Inside a transaction nothing may be read on another connection: one connection only.
    let tx = reg.conn().unchecked_transaction().unwrap();
    let single = crosscheck::run(reg.conn(), &settings, today).unwrap();
    tx.rollback().unwrap();
    assert_eq!(canonical(&fast), canonical(&single));
    // Two connections, but the log cannot be emptied (another reader holds it): the scans go
    // through SQLite's statements.
    reg.conn()
        .execute_batch("CREATE TABLE log_filler (x); DROP TABLE log_filler;")
        .unwrap();
    let reader = rusqlite::Connection::open(&tmp.db).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    reader
        .query_row("SELECT COUNT(*) FROM children", [], |r| r.get::<_, i64>(0))
        .unwrap();
    let through_sql = crosscheck::run(reg.conn(), &settings, today).unwrap();
    assert!(!file_is_snapshot(&reg), "a reader kept the log");
    drop(reader);
    assert_eq!(canonical(&fast), canonical(&through_sql));

    // Both lists in their order (village, name, birth date, child id; the probable matches
    // without the birth date), whichever way the judging was split.
    for r in [&fast, &through_sql, &single] {
        assert!(r.suspected.windows(2).all(|w| {
            (&w[0].village, &w[0].name, &w[0].birth_date, &w[0].child_id)
                <= (&w[1].village, &w[1].name, &w[1].birth_date, &w[1].child_id)
        }));
        assert!(r.to_confirm.windows(2).all(|w| {
            (&w[0].village, &w[0].name, &w[0].child_id)
                <= (&w[1].village, &w[1].name, &w[1].child_id)
        }));
    }

    // Every split was taken.
    assert!(fast.suspected.len() >= 4096, "{}", fast.suspected.len());
    assert!(fast.to_confirm.len() >= 100, "{}", fast.to_confirm.len());
    assert!(fast.children_checked >= 4096);

    // Listed (suspected or to confirm) = the sources' children not studying (pupils listed from
    // the rolls alone, 辍学 records without an ID, are not in the sources).
    let listed: BTreeSet<String> = fast
        .suspected
        .iter()
        .filter(|s| s.sources != ["roll"])
        .map(|s| (&s.id_number, &s.child_id))
        .chain(fast.to_confirm.iter().map(|s| (&s.id_number, &s.child_id)))
        .map(|(id, child)| id.clone().or_else(|| child.clone()).unwrap())
        .collect();
    let roll_only = fast
        .suspected
        .iter()
        .filter(|s| s.sources == ["roll"])
        .count();
    assert_eq!(
        fast.suspected.len() - roll_only + fast.to_confirm.len(),
        listed.len(),
        "a child listed twice"
    );
    assert_eq!(listed, not_studying(&reg, &fast, version));
    assert_eq!(fast.children_checked, listed.len());

    // The dropouts and transfers on the roll, the probable matches, the hukou list's share.
    let category = |c: &str| fast.suspected.iter().filter(|s| s.category == c).count();
    assert!(category("dropped_out") > 0 && category("transferred_no_new") > 0);
    assert!(category("not_enrolled") > 0 && category("disabled_unplaced") > 0);
    assert!(fast
        .suspected
        .iter()
        .any(|s| s.sources == ["hukou", "roster"]
            && s.reason.contains("户籍（测试县公安局 2026-09-01）")));
    assert!(fast
        .by_source
        .iter()
        .any(|b| b.kind == "hukou" && b.suspected > 0));

    // The JSON text, byte for byte, masked as the CLI prints it.
    let masked = fast.masked();
    let text = crosscheck::json::to_json_pretty(&masked).unwrap();
    assert_eq!(
        String::from_utf8(text).unwrap(),
        serde_json::to_string_pretty(&masked).unwrap()
    );
    let small = single.clone();
    let mut small = small.masked();
    small.suspected.truncate(3);
    assert_eq!(
        String::from_utf8(crosscheck::json::to_json_pretty(&small).unwrap()).unwrap(),
        serde_json::to_string_pretty(&small).unwrap()
    );
    small.suspected.clear();
    small.to_confirm.clear();
    assert_eq!(
        String::from_utf8(crosscheck::json::to_json_pretty(&small).unwrap()).unwrap(),
        serde_json::to_string_pretty(&small).unwrap()
    );
}

//! Roll sheets whose people come in less usual columns, on real .xlsx files: a pupil known only
//! by a G-form 全国学籍号 (no ID column value, no birth date), and parents in 父亲 / 母亲 columns
//! (single-row, merged two-row, and with one shared 联系电话).

use crate::import_util::{county_with_school, id};
use baoxue::import::roll::{import_roll, RollImport};
use baoxue::import::Control;
use baoxue::store;
use rust_xlsxwriter::{Format, Workbook};
use std::path::Path;

fn opts() -> RollImport {
    RollImport {
        school: "4141000001".into(),
        term: Some("2026秋".into()),
        sheet: None,
        dry_run: false,
    }
}

/// A sheet with a title row, then `header` on row 3 (and `sub` on row 4 when given), then rows.
fn write(path: &Path, header: &[&str], sub: Option<&[&str]>, rows: &[Vec<String>]) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let bold = Format::new().set_bold();
    ws.write_string(0, 0, "城关第一小学2026年秋季学生花名册")
        .unwrap();
    for (c, h) in header.iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    let mut first = 3;
    if let Some(sub) = sub {
        // Merge each group label over its sub-columns; single columns over two rows.
        let mut c = 0;
        while c < header.len() {
            let mut end = c;
            while end + 1 < header.len() && header[end + 1].is_empty() {
                end += 1;
            }
            if end > c {
                ws.merge_range(2, c as u16, 2, end as u16, header[c], &bold)
                    .unwrap();
            } else if sub[c].is_empty() {
                ws.merge_range(2, c as u16, 3, c as u16, header[c], &bold)
                    .unwrap();
            }
            c = end + 1;
        }
        for (c, s) in sub.iter().enumerate() {
            if !s.is_empty() {
                ws.write_string(3, c as u16, *s).unwrap();
            }
        }
        first = 4;
    }
    for (i, r) in rows.iter().enumerate() {
        for (c, v) in r.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(first + i as u32, c as u16, v).unwrap();
            }
        }
    }
    wb.save(path).unwrap();
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// `(name, relation, phone)` of the guardians of the child with this ID, sorted by name.
fn guardians(reg: &baoxue::Register, id_key: &str) -> Vec<(String, String, String)> {
    let child = &store::children::list_by_id_key(reg.conn(), id_key).unwrap()[0];
    let mut g: Vec<_> = store::guardians::list_by_child(reg.conn(), &child.meta.id)
        .unwrap()
        .into_iter()
        .map(|g| {
            (
                g.name,
                g.relation.unwrap_or_default(),
                g.phone.unwrap_or_default(),
            )
        })
        .collect();
    g.sort();
    g
}

#[test]
fn g_form_student_no_alone_gives_birth_date_sex_and_link() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let girl = id("41042320160501002"); // sequence 002: female, born 2016-05-01
    let boy = id("41042320150308011"); // sequence 011: male, born 2015-03-08
    let file = dir.path().join("g.xlsx");
    // No 出生日期 column at all; the ID column is empty.
    write(
        &file,
        &["序号", "姓名", "性别", "身份证号", "全国学籍号", "年级"],
        None,
        &[
            s(&["1", "林小花", "", "", &format!("G{girl}"), "四年级"]),
            s(&["2", "林小树", "女", "", &format!("G{boy}"), "五年级"]),
        ],
    );
    let out = import_roll(&mut reg, &file, &opts(), &actor, &mut Control::default()).unwrap();
    let r = &out.report;
    assert!(r.refused.is_empty(), "refused: {:?}", r.refused);
    assert_eq!(r.inserted, 2);
    // The typed sex disagrees with the ID inside the 学籍号: the ID wins, with a warning.
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(
        (r.warnings[0].row, r.warnings[0].code.as_str()),
        (5, "id_mismatch")
    );
    assert!(r.warnings[0].message.contains("学籍号"));

    let conn = reg.conn();
    let hua = &store::children::list_by_id_key(conn, &girl).unwrap()[0];
    assert_eq!(hua.name, "林小花");
    assert_eq!(hua.birth_date.as_deref(), Some("2016-05-01"));
    assert_eq!(hua.sex.as_deref(), Some("女"));
    assert_eq!(hua.id_number, None, "the ID column was empty");
    assert_eq!(hua.student_no.as_deref(), Some(format!("G{girl}").as_str()));
    let shu = &store::children::list_by_id_key(conn, &boy).unwrap()[0];
    assert_eq!(
        (shu.birth_date.as_deref(), shu.sex.as_deref()),
        (Some("2015-03-08"), Some("男"))
    );

    // One audit row for the whole import, naming the run; the run's child list says which.
    let rows = store::audit::count(reg.conn()).unwrap();
    let last = store::audit::get(reg.conn(), rows).unwrap().unwrap();
    assert_eq!(
        (last.table_name.as_str(), last.action.as_str()),
        ("roll_import_runs", "import")
    );
    assert!(
        last.fields.contains("children insert 2: "),
        "{}",
        last.fields
    );
    assert!(
        last.fields.contains("enrolments insert 2"),
        "{}",
        last.fields
    );
    assert!(!last.fields.contains(&girl), "no ID numbers in the audit");
    let run: i64 = last.record_id.parse().unwrap();
    let changed = store::roll_imports::list_changed(reg.conn(), run).unwrap();
    assert_eq!(changed.len(), 2);
    assert!(changed.iter().all(|(_, c)| c == "insert"));
    let digest = store::roll_imports::changed_digest(reg.conn(), run).unwrap();
    assert!(last.fields.contains(&digest));

    // The same pupil with the ID typed in (and no 学籍号) is the same child, linked by the ID.
    let typed = dir.path().join("typed.xlsx");
    write(
        &typed,
        &["姓名", "身份证号", "出生日期", "年级"],
        None,
        &[s(&["林小花", &girl, "", "四年级"])],
    );
    let out = import_roll(&mut reg, &typed, &opts(), &actor, &mut Control::default()).unwrap();
    assert!(out.report.refused.is_empty());
    assert_eq!((out.report.inserted, out.report.updated), (0, 1));
    assert_eq!(store::children::count(reg.conn()).unwrap(), 2);
    let hua = &store::children::list_by_id_key(reg.conn(), &girl).unwrap()[0];
    assert_eq!(hua.id_number.as_deref(), Some(girl.as_str()));

    // Importing the G-form sheet again changes nothing.
    let snap = baoxue::snapshot::snapshot_text(reg.conn()).unwrap();
    let again = import_roll(&mut reg, &file, &opts(), &actor, &mut Control::default()).unwrap();
    assert_eq!(again.report.unchanged, 2);
    assert_eq!(baoxue::snapshot::snapshot_text(reg.conn()).unwrap(), snap);
    assert_eq!(store::audit::verify(reg.conn()).unwrap(), None);
}

#[test]
fn father_and_mother_columns_become_guardians() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let (a, b, c, d) = (
        id("41042320150308001"),
        id("41042320150308013"),
        id("41042320150308025"),
        id("41042320150308037"),
    );

    // 1. One header row: 父亲姓名 / 父亲电话 / 母亲姓名 / 母亲电话.
    let flat = dir.path().join("flat.xlsx");
    write(
        &flat,
        &[
            "姓名",
            "身份证号",
            "年级",
            "父亲姓名",
            "父亲电话",
            "母亲姓名",
            "母亲电话",
        ],
        None,
        &[
            s(&[
                "甲",
                &a,
                "三年级",
                "甲父",
                "13800000001",
                "甲母",
                "13900000001",
            ]),
            // Only the mother; the father's phone without his name is not imported, with a warning.
            s(&["乙", &b, "三年级", "", "13800000002", "乙母", ""]),
        ],
    );
    let out = import_roll(&mut reg, &flat, &opts(), &actor, &mut Control::default()).unwrap();
    let r = &out.report;
    assert!(r.refused.is_empty(), "refused: {:?}", r.refused);
    assert!(r.unknown_columns.is_empty(), "{:?}", r.unknown_columns);
    assert_eq!(
        r.mapping.get("父亲电话").map(String::as_str),
        Some("E 父亲电话")
    );
    assert_eq!(
        guardians(&reg, &a),
        vec![
            ("甲母".into(), "母亲".into(), "13900000001".into()),
            ("甲父".into(), "父亲".into(), "13800000001".into()),
        ]
    );
    assert_eq!(
        guardians(&reg, &b),
        vec![("乙母".into(), "母亲".into(), String::new())]
    );
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(
        (r.warnings[0].row, r.warnings[0].code.as_str()),
        (5, "guardian_no_name")
    );

    // 2. Two header rows: 父亲 merged over 姓名 / 电话, 母亲 over 姓名 / 手机号码; and a
    //    父亲 column's ID number, which must not be taken for the child's.
    let merged = dir.path().join("merged.xlsx");
    write(
        &merged,
        &["姓名", "父亲", "", "", "母亲", "", "身份证号", "年级"],
        Some(&["", "姓名", "身份证号", "电话", "姓名", "手机号码", "", ""]),
        &[s(&[
            "丙",
            "丙父",
            &id("41042319850101001"),
            "13800000003",
            "丙母",
            "13900000003",
            &c,
            "三年级",
        ])],
    );
    let out = import_roll(&mut reg, &merged, &opts(), &actor, &mut Control::default()).unwrap();
    assert!(out.report.refused.is_empty(), "{:?}", out.report.refused);
    assert_eq!(out.report.inserted, 1);
    assert_eq!(
        out.report.mapping.get("身份证号").map(String::as_str),
        Some("G 身份证号")
    );
    assert_eq!(
        guardians(&reg, &c),
        vec![
            ("丙母".into(), "母亲".into(), "13900000003".into()),
            ("丙父".into(), "父亲".into(), "13800000003".into()),
        ]
    );

    // 3. 父亲姓名 / 母亲姓名 and one shared 联系电话: the phone goes to the father.
    let shared = dir.path().join("shared.xlsx");
    write(
        &shared,
        &[
            "姓名",
            "身份证号",
            "年级",
            "父亲姓名",
            "母亲姓名",
            "联系电话",
        ],
        None,
        &[s(&["丁", &d, "三年级", "丁父", "丁母", "13800000004"])],
    );
    let out = import_roll(&mut reg, &shared, &opts(), &actor, &mut Control::default()).unwrap();
    assert!(out.report.refused.is_empty());
    assert!(out.report.warnings.is_empty(), "{:?}", out.report.warnings);
    assert_eq!(
        guardians(&reg, &d),
        vec![
            ("丁母".into(), "母亲".into(), String::new()),
            ("丁父".into(), "父亲".into(), "13800000004".into()),
        ]
    );

    // Importing each sheet again changes nothing.
    let snap = baoxue::snapshot::snapshot_text(reg.conn()).unwrap();
    for f in [&flat, &merged, &shared] {
        let again = import_roll(&mut reg, f, &opts(), &actor, &mut Control::default()).unwrap();
        assert_eq!((again.report.inserted, again.report.updated), (0, 0));
    }
    assert_eq!(baoxue::snapshot::snapshot_text(reg.conn()).unwrap(), snap);
}

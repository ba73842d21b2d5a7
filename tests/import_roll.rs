//! Roll-sheet import on real .xlsx files written here with rust_xlsxwriter: a messy sheet (title
//! rows, merged two-row header, numeric IDs, bad check digits, duplicates, every date and grade
//! form, footer), re-import, missing pupils, dry run, cancel, errors-out, the CLI contract.

use crate::import_util::{bin, county_with_school, id};
use baoxue::import::roll::{import_roll, RollImport};
use baoxue::import::{Control, Progress};
use baoxue::store;
use rust_xlsxwriter::{Format, Workbook};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

fn opts() -> RollImport {
    RollImport {
        school: "4141000001".into(),
        term: Some("2026秋".into()),
        sheet: None,
        dry_run: false,
    }
}

fn serial(y: i32, m: u32, d: u32) -> f64 {
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    (chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap() - base).num_days() as f64
}

/// Cells of one data row: (column, value); numbers are `#n`, dates `#d`.
enum V {
    S(&'static str),
    O(String),
    N(f64),
    D(f64),
}

fn write_sheet(path: &Path, rows: &[(u32, Vec<(u16, V)>)]) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("学生花名册").unwrap();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    ws.merge_range(0, 0, 0, 13, "城关第一小学2026年秋季学生花名册", &bold)
        .unwrap();
    ws.write_string(1, 0, "填报单位：城关第一小学    填表日期：2026-09-05")
        .unwrap();
    let top = [
        "序号",
        "姓名",
        "性别",
        "出生日期",
        "身份证件号",
        "全国学籍号",
        "所在年级",
        "班级",
        "",
        "",
        "",
        "是否留守儿童",
        "特长",
        "备注",
    ];
    for (c, t) in top.iter().enumerate() {
        if !t.is_empty() {
            ws.merge_range(3, c as u16, 4, c as u16, t, &bold).unwrap();
        }
    }
    ws.merge_range(3, 8, 3, 10, "监护人信息", &bold).unwrap();
    ws.write_string(4, 8, "姓名").unwrap();
    ws.write_string(4, 9, "关系").unwrap();
    ws.write_string(4, 10, "联系电话").unwrap();
    for (excel_row, cells) in rows {
        let r = excel_row - 1;
        for (c, v) in cells {
            match v {
                V::S(s) => ws.write_string(r, *c, *s).unwrap(),
                V::O(s) => ws.write_string(r, *c, s).unwrap(),
                V::N(n) => ws.write_number(r, *c, *n).unwrap(),
                V::D(n) => ws.write_number_with_format(r, *c, *n, &date).unwrap(),
            };
        }
    }
    wb.save(path).unwrap();
}

fn pupil(
    name: &'static str,
    sex: &'static str,
    birth: V,
    idv: V,
    student_no: V,
    grade: V,
) -> Vec<(u16, V)> {
    vec![
        (1, V::S(name)),
        (2, V::S(sex)),
        (3, birth),
        (4, idv),
        (5, student_no),
        (6, grade),
        (7, V::S("1班")),
        (8, V::S("王大山")),
        (9, V::S("父亲")),
        (10, V::S("13812345678")),
        (11, V::S("是")),
        (12, V::S("唱歌")),
    ]
}

/// The messy sheet; returns the IDs used.
fn messy(path: &Path) -> [String; 4] {
    let id_a = id("41042320150308001");
    let id_b = id("41042320160501002");
    let id_c = id("41042320140202004");
    let id_d = id("41042320150308011");
    let mut bad = id("41042320150909021");
    let last = bad.pop().unwrap();
    bad.push(if last == '1' { '2' } else { '1' });
    let j_no = "J410423201503080219";
    write_sheet(
        path,
        &[
            (
                6,
                pupil(
                    "王小明",
                    "男",
                    V::S("2015-03-08"),
                    V::O(id_a.clone()),
                    V::O(format!("G{id_a}")),
                    V::S("三年级"),
                ),
            ),
            (
                7,
                pupil(
                    " 宝　玉 ",
                    "女",
                    V::D(serial(2016, 5, 1)),
                    V::O(id_b.clone()),
                    V::S(""),
                    V::N(3.0),
                ),
            ),
            (
                8,
                pupil(
                    "阿依古丽·买买提",
                    "女",
                    V::S("2015/3/8"),
                    V::O(id_c.clone()),
                    V::S(""),
                    V::S("初一"),
                ),
            ),
            (
                9,
                pupil(
                    "赵数字",
                    "男",
                    V::S("2015.3.8"),
                    V::N(4.10423201503080e17),
                    V::S(""),
                    V::S("四年级"),
                ),
            ),
            (
                10,
                pupil(
                    "钱科学",
                    "男",
                    V::S("2015.3.8"),
                    V::S("4.10423E+17"),
                    V::S(""),
                    V::S("四年级"),
                ),
            ),
            (
                11,
                pupil(
                    "孙校验",
                    "男",
                    V::S("2015-09-09"),
                    V::O(bad),
                    V::S(""),
                    V::S("四年级"),
                ),
            ),
            (
                12,
                pupil(
                    "王小明",
                    "男",
                    V::S("2015-03-08"),
                    V::O(id_a.clone()),
                    V::S(""),
                    V::S("三年级"),
                ),
            ),
            (
                14,
                pupil(
                    "周学籍",
                    "男",
                    V::S("20150308"),
                    V::S(""),
                    V::O(format!("G{id_d}")),
                    V::S("七年级"),
                ),
            ),
            (
                15,
                pupil(
                    "吴无号",
                    "女",
                    V::S("2015-03-08"),
                    V::S(""),
                    V::S(""),
                    V::S("二年级"),
                ),
            ),
            (
                16,
                pupil(
                    "郑临时",
                    "女",
                    V::S("2015年3月8日"),
                    V::S(""),
                    V::S(j_no),
                    V::S("初二"),
                ),
            ),
            (
                17,
                pupil(
                    "冯高一",
                    "男",
                    V::S("2015-03-08"),
                    V::O(id("41042320150308031")),
                    V::S(""),
                    V::S("高一"),
                ),
            ),
            (18, vec![(0, V::S("合计：13人"))]),
            (
                19,
                vec![(0, V::S("制表人：李老师")), (5, V::S("校长：王校长"))],
            ),
        ],
    );
    [id_a, id_b, id_c, id_d]
}

#[test]
fn messy_roll_sheet_is_imported_and_every_refusal_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let file = dir.path().join("花名册.xlsx");
    let [id_a, id_b, id_c, id_d] = messy(&file);
    let out = import_roll(&mut reg, &file, &opts(), &actor, &mut Control::default()).unwrap();
    let r = &out.report;
    assert_eq!(r.header_row, 4);
    assert_eq!(r.sheet, "学生花名册");
    assert_eq!(r.rows_read, 11);
    assert_eq!(r.inserted, 5);
    assert_eq!((r.updated, r.unchanged), (0, 0));
    let refused: Vec<(u32, &str, &str)> = r
        .refused
        .iter()
        .map(|i| (i.row, i.code.as_str(), i.column.as_str()))
        .collect();
    assert_eq!(
        refused,
        vec![
            (9, "id_excel_precision", "身份证件号"),
            (10, "id_excel_precision", "身份证件号"),
            (11, "id_check_digit", "身份证件号"),
            (12, "duplicate", "身份证件号"),
            (15, "no_key", "身份证件号"),
            (17, "grade", "所在年级"),
        ]
    );
    assert!(r.refused[0].message.contains("设为文本"));
    assert!(r.refused[3].message.contains("第6行"));
    assert!(r.refused.iter().all(|i| !i.message.is_empty()));
    assert_eq!(r.unknown_columns, vec!["M 特长".to_string()]);
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(
        (r.warnings[0].row, r.warnings[0].code.as_str()),
        (8, "id_mismatch")
    );
    assert_eq!(
        r.mapping.get("监护人电话").map(String::as_str),
        Some("K 监护人信息/联系电话")
    );

    let conn = reg.conn();
    let a = &store::children::list_by_id_key(conn, &id_a).unwrap()[0];
    assert_eq!(a.name, "王小明");
    assert_eq!(a.birth_date.as_deref(), Some("2015-03-08"));
    assert_eq!(a.flags, vec!["left_behind".to_string()]);
    let ea = store::enrolments::list_by_child(conn, &a.meta.id).unwrap();
    assert_eq!(
        (ea[0].grade, ea[0].term.as_deref()),
        (Some(3), Some("2026秋"))
    );
    let g = store::guardians::list_by_child(conn, &a.meta.id).unwrap();
    assert_eq!(
        (g[0].name.as_str(), g[0].phone.as_deref()),
        ("王大山", Some("13812345678"))
    );
    let b = &store::children::list_by_id_key(conn, &id_b).unwrap()[0];
    assert_eq!(b.name, "宝玉");
    assert_eq!(b.birth_date.as_deref(), Some("2016-05-01"));
    let c = &store::children::list_by_id_key(conn, &id_c).unwrap()[0];
    assert_eq!(c.name, "阿依古丽·买买提");
    assert_eq!(c.birth_date.as_deref(), Some("2014-02-02"), "the ID wins");
    let ec = store::enrolments::list_by_child(conn, &c.meta.id).unwrap();
    assert_eq!(ec[0].grade, Some(7));
    // No ID column value, but a G-form 学籍号: linked by the ID inside it.
    let d = &store::children::list_by_id_key(conn, &id_d).unwrap()[0];
    assert_eq!((d.name.as_str(), d.id_number.as_deref()), ("周学籍", None));
    let j = &store::children::list_by_student_no(conn, "J410423201503080219").unwrap()[0];
    assert_eq!(j.birth_date.as_deref(), Some("2015-03-08"));
    assert_eq!(store::children::count(conn).unwrap(), 5);
    assert_eq!(store::audit::verify(conn).unwrap(), None);
}

#[test]
fn importing_the_same_file_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let file = dir.path().join("roll.xlsx");
    messy(&file);
    import_roll(&mut reg, &file, &opts(), &actor, &mut Control::default()).unwrap();
    let snap = baoxue::snapshot::snapshot_text(reg.conn()).unwrap();
    let audits = store::audit::count(reg.conn()).unwrap();
    let later = crate::import_util::actor_at("2026-10-01T08:00:00Z");
    let out = import_roll(&mut reg, &file, &opts(), &later, &mut Control::default()).unwrap();
    assert_eq!(
        (
            out.report.inserted,
            out.report.updated,
            out.report.unchanged
        ),
        (0, 0, 5)
    );
    assert_eq!(out.report.refused.len(), 6);
    assert!(out.report.missing_since_last.is_empty());
    assert_eq!(baoxue::snapshot::snapshot_text(reg.conn()).unwrap(), snap);
    assert_eq!(store::audit::count(reg.conn()).unwrap(), audits);
}

fn small_roll(path: &Path, pupils: &[(&'static str, String, &'static str)]) {
    let rows: Vec<(u32, Vec<(u16, V)>)> = pupils
        .iter()
        .enumerate()
        .map(|(i, (name, idn, grade))| {
            (
                6 + i as u32,
                pupil(name, "", V::S(""), V::O(idn.clone()), V::S(""), V::S(grade)),
            )
        })
        .collect();
    write_sheet(path, &rows);
}

#[test]
fn pupils_missing_from_the_new_sheet_are_listed_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let (a, b, c, d) = (
        id("41042320150308001"),
        id("41042320150308013"),
        id("41042320150308025"),
        id("41042320150308037"),
    );
    let spring = dir.path().join("spring.xlsx");
    small_roll(
        &spring,
        &[
            ("甲", a.clone(), "三年级"),
            ("乙", b.clone(), "三年级"),
            ("丙", c.clone(), "三年级"),
        ],
    );
    let mut o = opts();
    o.term = Some("2026春".into());
    import_roll(&mut reg, &spring, &o, &actor, &mut Control::default()).unwrap();
    let autumn = dir.path().join("autumn.xlsx");
    small_roll(
        &autumn,
        &[
            ("甲", a.clone(), "四年级"),
            ("丙", c.clone(), "四年级"),
            ("丁", d, "一年级"),
        ],
    );
    let out = import_roll(&mut reg, &autumn, &opts(), &actor, &mut Control::default()).unwrap();
    let r = &out.report;
    assert_eq!((r.inserted, r.updated, r.unchanged), (1, 2, 0));
    assert_eq!(r.missing_since_last.len(), 1);
    let m = &r.missing_since_last[0];
    assert_eq!(
        (m.name.as_str(), m.last_term.as_str(), m.grade),
        ("乙", "2026春", Some(3))
    );
    assert_eq!(
        m.id_number.as_deref(),
        Some(baoxue::idnum::mask_id(&b).as_str())
    );
    assert_eq!(
        store::children::list_by_id_key(reg.conn(), &b)
            .unwrap()
            .len(),
        1
    );
    let json = serde_json::to_value(r).unwrap();
    assert!(
        !json.to_string().contains(&b),
        "ID numbers are masked in the report"
    );
}

#[test]
fn unknown_school_dry_run_and_cancel_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let file = dir.path().join("roll.xlsx");
    messy(&file);
    let before = baoxue::snapshot::snapshot_text(reg.conn()).unwrap();
    let audits = store::audit::count(reg.conn()).unwrap();

    let mut o = opts();
    o.school = "9999999999".into();
    let err = import_roll(&mut reg, &file, &o, &actor, &mut Control::default()).unwrap_err();
    assert_eq!(err.code(), "not_found");
    assert!(err.to_string().contains("school add"));

    let mut o = opts();
    o.dry_run = true;
    let out = import_roll(&mut reg, &file, &o, &actor, &mut Control::default()).unwrap();
    assert_eq!((out.report.inserted, out.report.refused.len()), (5, 6));
    assert!(out.report.dry_run);

    let cancel = AtomicBool::new(false);
    let mut seen = Vec::new();
    let mut cb = |p: Progress| {
        seen.push(p);
        cancel.store(true, Ordering::Relaxed);
    };
    let mut ctl = Control {
        progress: Some(&mut cb),
        cancel: Some(&cancel),
    };
    let err = import_roll(&mut reg, &file, &opts(), &actor, &mut ctl).unwrap_err();
    assert_eq!(err.code(), "cancelled");
    assert!(!seen.is_empty() && seen[0].done > 0 && seen[0].total_estimate >= seen[0].done);

    assert_eq!(baoxue::snapshot::snapshot_text(reg.conn()).unwrap(), before);
    assert_eq!(store::audit::count(reg.conn()).unwrap(), audits);
}

#[test]
fn refused_rows_go_to_an_errors_out_file_that_imports_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let file = dir.path().join("roll.xlsx");
    messy(&file);
    let out = import_roll(&mut reg, &file, &opts(), &actor, &mut Control::default()).unwrap();
    let errors = dir.path().join("errors.xlsx");
    baoxue::import::errors_out::write(&errors, &out.header_labels, &out.refused_rows).unwrap();

    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = calamine::open_workbook(&errors).unwrap();
    let range = wb.worksheet_range("拒收行").unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert!(header.contains(&"监护人姓名".to_string()));
    assert_eq!(header.last().map(String::as_str), Some("错误原因"));
    assert_eq!(range.height(), 7);
    let second: Vec<String> = range
        .rows()
        .nth(1)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(second[1], "赵数字");
    assert!(second.last().unwrap().contains("设为文本"));

    // The clerk's file goes straight back in: same header found, the same rows refused.
    let again = import_roll(&mut reg, &errors, &opts(), &actor, &mut Control::default()).unwrap();
    assert_eq!(again.report.rows_read, 6);
    assert!(again
        .report
        .unknown_columns
        .iter()
        .all(|c| c.contains("特长")));
    // The duplicate row alone is now just the pupil already imported.
    assert_eq!(again.report.refused.len(), 5);
    assert_eq!(again.report.unchanged, 1);
}

#[test]
fn cli_json_contract_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .args(args)
            .env("BAOXUE_DB", &db)
            .env("BAOXUE_NO_ENCRYPTION", "1")
            .output()
            .unwrap();
        crate::util::assert_no_personal_numbers(&out, args);
        out
    };
    assert!(run(&[
        "init",
        "--kind",
        "county",
        "--name",
        "测试县",
        "--region",
        "410423"
    ])
    .status
    .success());
    assert!(run(&[
        "school",
        "add",
        "--code",
        "4141000001",
        "--name",
        "城关第一小学",
        "--kind",
        "primary"
    ])
    .status
    .success());
    let file = dir.path().join("roll.xlsx");
    messy(&file);
    let errors = dir.path().join("errs.xlsx");
    let out = run(&[
        "import",
        "roll",
        file.to_str().unwrap(),
        "--school",
        "4141000001",
        "--term",
        "2026秋",
        "--json",
        "--errors-out",
        errors.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "rows_read",
        "inserted",
        "updated",
        "unchanged",
        "refused",
        "warnings",
        "missing_since_last",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["inserted"], 5);
    let first = &v["refused"][0];
    assert_eq!(
        (first["row"].as_u64(), first["code"].as_str()),
        (Some(9), Some("id_excel_precision"))
    );
    assert!(first["column"].is_string() && first["message"].is_string());
    assert!(errors.exists());

    let corrupt = dir.path().join("坏文件.xlsx");
    std::fs::write(&corrupt, b"PK\x03\x04 this is not really a workbook").unwrap();
    let bad = run(&[
        "import",
        "roll",
        corrupt.to_str().unwrap(),
        "--school",
        "4141000001",
        "--json",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("file_corrupt"));
    let missing = run(&[
        "import",
        "roll",
        "/nonexistent/roll.xlsx",
        "--school",
        "4141000001",
    ]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("不存在"));
}

#[test]
fn the_faulty_sample_sheet_has_the_three_mistakes_it_promises() {
    // `baoxue bench gen --faults` (the app's e2e test imports it): row 7 a wrong check digit,
    // row 10 an ID stored as a number, the first pupil repeated after the last one.
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let file = dir.path().join("faulty.xlsx");
    baoxue::import::sample::write_roll_sample(&file, 30, "城关第一小学", true).unwrap();
    let out = import_roll(&mut reg, &file, &opts(), &actor, &mut Control::default()).unwrap();
    let r = &out.report;
    assert_eq!((r.rows_read, r.inserted), (31, 28));
    let got: Vec<(u32, &str)> = r.refused.iter().map(|i| (i.row, i.code.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (7, "id_check_digit"),
            (10, "id_excel_precision"),
            (35, "duplicate")
        ]
    );
    assert!(r.refused[2].message.contains("第5行"));
}

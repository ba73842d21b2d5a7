//! Import from every file kind clerks send: committed .xls (BIFF8), .ods, GBK .csv and an
//! encrypted .xlsx (tests/fixtures/, made by make_fixtures.py), plus generated .xlsx files for
//! empty sheets, sheet choice and missing headers; household rosters and their template.

use crate::import_util::{actor_at, bin, county_with_school, id};
use baoxue::domain::SiteKind;
use baoxue::import::households::{import_households, HOUSEHOLD_FIELDS};
use baoxue::import::roll::{import_roll, RollImport};
use baoxue::import::Control;
use baoxue::register::NewSite;
use baoxue::{store, Register};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn roll(sheet: Option<&str>) -> RollImport {
    RollImport {
        school: "4141000001".into(),
        term: Some("2026秋".into()),
        sheet: sheet.map(str::to_string),
        dry_run: false,
    }
}

fn refused(out: &baoxue::import::Outcome) -> Vec<(u32, String)> {
    out.report
        .refused
        .iter()
        .map(|i| (i.row, i.code.clone()))
        .collect()
}

#[test]
fn biff8_xls_with_title_row_date_cells_and_a_numeric_id() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let f = fixture("roll_biff8_title_row_date_cell_numeric_id.xls");
    let out = import_roll(&mut reg, &f, &roll(None), &actor, &mut Control::default()).unwrap();
    assert_eq!(
        (
            out.report.header_row,
            out.report.rows_read,
            out.report.inserted
        ),
        (3, 3, 2)
    );
    assert_eq!(refused(&out), vec![(5, "id_excel_precision".to_string())]);
    let a = &store::children::list_by_id_key(reg.conn(), &id("41042320150308001")).unwrap()[0];
    assert_eq!(
        (a.name.as_str(), a.birth_date.as_deref()),
        ("王小明", Some("2015-03-08"))
    );
    let c = &store::children::list_by_id_key(reg.conn(), &id("41042320140202004")).unwrap()[0];
    assert_eq!(c.sex.as_deref(), Some("女"));
    let e = store::enrolments::list_by_child(reg.conn(), &c.meta.id).unwrap();
    assert_eq!(e[0].grade, Some(7));
}

#[test]
fn ods_with_a_two_row_merged_header() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let f = fixture("roll_ods_two_row_merged_header.ods");
    let out = import_roll(&mut reg, &f, &roll(None), &actor, &mut Control::default()).unwrap();
    let r = &out.report;
    assert_eq!(
        (r.header_row, r.rows_read, r.inserted, r.refused.len()),
        (2, 2, 2, 0)
    );
    assert_eq!(r.unknown_columns, vec!["G 特长".to_string()]);
    assert_eq!(
        r.mapping.get("监护人电话").map(String::as_str),
        Some("F 监护人信息/联系电话")
    );
    let c = &store::children::list_by_id_key(reg.conn(), &id("41042320140202004")).unwrap()[0];
    assert_eq!(c.name, "阿依古丽·买买提");
    let g = store::guardians::list_by_child(reg.conn(), &c.meta.id).unwrap();
    assert_eq!(
        (g[0].name.as_str(), g[0].relation.as_deref()),
        ("买买提", Some("父亲"))
    );
}

#[test]
fn gbk_csv_without_bom_with_title_row_and_e_notation() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let f = fixture("roll_gbk_no_bom_title_row_e_notation.csv");
    assert!(
        std::str::from_utf8(&std::fs::read(&f).unwrap()).is_err(),
        "the fixture is GBK"
    );
    let out = import_roll(&mut reg, &f, &roll(None), &actor, &mut Control::default()).unwrap();
    assert_eq!(
        (
            out.report.header_row,
            out.report.rows_read,
            out.report.inserted
        ),
        (2, 3, 2)
    );
    assert_eq!(refused(&out), vec![(5, "id_excel_precision".to_string())]);
    let b = &store::children::list_by_id_key(reg.conn(), &id("41042320160501002")).unwrap()[0];
    assert_eq!(b.name, "宝玉");
    let e = store::enrolments::list_by_child(reg.conn(), &b.meta.id).unwrap();
    assert_eq!(e[0].grade, Some(3));
}

#[test]
fn encrypted_and_corrupt_files_are_refused_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let before = baoxue::snapshot::snapshot_text(reg.conn()).unwrap();
    let f = fixture("encrypted_password_123456.xlsx");
    let err = import_roll(&mut reg, &f, &roll(None), &actor, &mut Control::default()).unwrap_err();
    assert_eq!(err.code(), "file_encrypted");
    assert!(err.to_string().contains("取消密码"));
    let bad = dir.path().join("truncated.xlsx");
    let good = std::fs::read(fixture("encrypted_password_123456.xlsx")).unwrap();
    std::fs::write(&bad, &good[..100]).unwrap();
    let err =
        import_roll(&mut reg, &bad, &roll(None), &actor, &mut Control::default()).unwrap_err();
    assert!(
        matches!(err.code(), "file_corrupt" | "file_encrypted"),
        "{}",
        err.code()
    );
    let odd = dir.path().join("roll.pdf");
    std::fs::write(&odd, b"%PDF-1.4").unwrap();
    let err =
        import_roll(&mut reg, &odd, &roll(None), &actor, &mut Control::default()).unwrap_err();
    assert_eq!(err.code(), "file_format");
    assert_eq!(baoxue::snapshot::snapshot_text(reg.conn()).unwrap(), before);
    assert_eq!(
        store::roll_imports::get_previous_run(reg.conn(), "4141000001", i64::MAX).unwrap(),
        None
    );
}

fn two_sheet_book(path: &Path, with_header: bool) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet().set_name("封面").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("名单").unwrap();
    if with_header {
        ws.write_row(0, 0, ["姓名", "身份证号", "年级"]).unwrap();
    } else {
        ws.write_row(0, 0, ["甲", "乙", "丙"]).unwrap();
    }
    ws.write_row(
        1,
        0,
        [
            "王小明".to_string(),
            id("41042320150308001"),
            "三年级".to_string(),
        ],
    )
    .unwrap();
    wb.save(path).unwrap();
}

#[test]
fn empty_sheets_sheet_choice_and_missing_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let book = dir.path().join("book.xlsx");
    two_sheet_book(&book, true);
    // Default: the first non-empty sheet.
    let out = import_roll(
        &mut reg,
        &book,
        &roll(None),
        &actor,
        &mut Control::default(),
    )
    .unwrap();
    assert_eq!(
        (out.report.sheet.as_str(), out.report.inserted),
        ("名单", 1)
    );
    let err = import_roll(
        &mut reg,
        &book,
        &roll(Some("封面")),
        &actor,
        &mut Control::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "file_empty");
    let err = import_roll(
        &mut reg,
        &book,
        &roll(Some("三年级")),
        &actor,
        &mut Control::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "no_such_sheet");
    assert!(err.to_string().contains("封面、名单"));

    let empty = dir.path().join("empty.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet();
    wb.save(&empty).unwrap();
    let err = import_roll(
        &mut reg,
        &empty,
        &roll(None),
        &actor,
        &mut Control::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "file_empty");

    let headless = dir.path().join("headless.xlsx");
    two_sheet_book(&headless, false);
    let err = import_roll(
        &mut reg,
        &headless,
        &roll(None),
        &actor,
        &mut Control::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "no_header");
    assert!(err.to_string().contains("姓名"));
}

fn village() -> (tempfile::TempDir, Register, baoxue::Actor) {
    let dir = tempfile::tempdir().unwrap();
    let actor = actor_at("2026-09-05T08:00:00Z");
    let mut reg = Register::open(&dir.path().join("v.db")).unwrap();
    reg.init_site(
        NewSite {
            kind: SiteKind::Village,
            name: "张庄村".into(),
            region_code: "410423100201".into(),
            school_code: None,
        },
        &actor,
    )
    .unwrap();
    (dir, reg, actor)
}

#[test]
fn household_roster_groups_children_and_reimports_unchanged() {
    let (_dir, mut reg, actor) = village();
    let f = fixture("households_utf8_bom_two_children_one_household.csv");
    let (out, hh) =
        import_households(&mut reg, &f, None, false, &actor, &mut Control::default()).unwrap();
    assert_eq!((out.report.rows_read, out.report.inserted), (4, 3));
    assert_eq!((hh.inserted, hh.updated, hh.unchanged), (2, 0, 0));
    assert_eq!(refused(&out), vec![(5, "priority_group".to_string())]);
    let a = &store::children::list_by_id_key(reg.conn(), &id("41042320150308001")).unwrap()[0];
    let household = store::households::get(reg.conn(), a.household_id.as_deref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            household.head_name.as_str(),
            household.priority_groups.clone()
        ),
        ("王大山", vec!["dibao".to_string()])
    );
    let kids = store::children::list_by_household(reg.conn(), &household.meta.id).unwrap();
    assert_eq!(kids.len(), 2);
    let hong = kids.iter().find(|k| k.name == "王小红").unwrap();
    assert_eq!(
        (hong.disability_type.as_deref(), hong.id_number.as_deref()),
        (Some("hearing"), None)
    );
    assert_eq!(a.flags, vec!["left_behind".to_string()]);
    let b = &store::children::list_by_id_key(reg.conn(), &id("41042320160501002")).unwrap()[0];
    let hb = store::households::get(reg.conn(), b.household_id.as_deref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        hb.priority_groups,
        vec!["tuopin_unstable".to_string(), "dibao".to_string()]
    );

    let snap = baoxue::snapshot::snapshot_text(reg.conn()).unwrap();
    let (again, hh) =
        import_households(&mut reg, &f, None, false, &actor, &mut Control::default()).unwrap();
    assert_eq!(
        (
            again.report.inserted,
            again.report.updated,
            again.report.unchanged
        ),
        (0, 0, 3)
    );
    assert_eq!((hh.inserted, hh.unchanged), (0, 2));
    assert_eq!(baoxue::snapshot::snapshot_text(reg.conn()).unwrap(), snap);
}

/// `baoxue audit verify` on a register file: (success, JSON output).
fn audit_verify(db: &Path) -> (bool, serde_json::Value) {
    let out = std::process::Command::new(bin())
        .args(["--db", db.to_str().unwrap(), "--json", "audit", "verify"])
        .output()
        .unwrap();
    (
        out.status.success(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

#[test]
fn roster_import_writes_one_audit_row_per_run_and_audit_verify_checks_the_run_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let before = store::audit::count(reg.conn()).unwrap();
    let f = fixture("households_utf8_bom_two_children_one_household.csv");
    import_households(&mut reg, &f, None, false, &actor, &mut Control::default()).unwrap();
    // 2 households, 3 children and their guardians: one audit row for the run, not one each.
    assert_eq!(store::audit::count(reg.conn()).unwrap(), before + 1);
    let last = store::audit::get(reg.conn(), before + 1).unwrap().unwrap();
    assert_eq!(
        (last.table_name.as_str(), last.action.as_str()),
        ("roster_import_runs", "import")
    );
    assert!(
        last.fields.contains("households insert 2: "),
        "{}",
        last.fields
    );
    assert!(
        last.fields.contains("children insert 3: "),
        "{}",
        last.fields
    );
    assert!(!last.fields.contains(&id("41042320150308001")), "no IDs");
    let run: i64 = last.record_id.parse().unwrap();
    let records = store::roster_imports::list_records(reg.conn(), run).unwrap();
    assert_eq!(records.iter().filter(|r| r.0 == "children").count(), 3);
    assert_eq!(records.iter().filter(|r| r.0 == "households").count(), 2);
    assert!(records.iter().all(|r| r.2 == "insert"));
    let digest = store::roster_imports::records_digest(reg.conn(), run).unwrap();
    assert!(last.fields.contains(&format!("records_digest {digest}")));
    assert_eq!(baoxue::import::runs::verify_runs(reg.conn()).unwrap(), None);

    // Importing it again changes nothing, so writes no audit row.
    import_households(&mut reg, &f, None, false, &actor, &mut Control::default()).unwrap();
    assert_eq!(store::audit::count(reg.conn()).unwrap(), before + 1);

    // A roll sheet imported into the same register: its run's child list is digested too.
    let sheet = dir.path().join("roll.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_row(0, 0, ["姓名", "身份证号", "年级"]).unwrap();
    ws.write_row(1, 0, ["赵小川", id("41042320160101003").as_str(), "四年级"])
        .unwrap();
    wb.save(&sheet).unwrap();
    import_roll(
        &mut reg,
        &sheet,
        &roll(None),
        &actor,
        &mut Control::default(),
    )
    .unwrap();
    let db = dir.path().join("register.db");
    drop(reg);
    let (ok, v) = audit_verify(&db);
    assert!(ok, "{v}");
    assert_eq!(v["ok"], true);

    // Someone edits a run's record list with an SQLite tool (the chain itself is intact):
    // `audit verify` names the run's audit row.
    for (name, sql, table) in [
        (
            "roster.db",
            "UPDATE roster_import_records SET change = 'update' WHERE table_name = 'children'
             AND record_id = (SELECT MIN(record_id) FROM roster_import_records WHERE table_name = 'children')",
            "roster_import_runs",
        ),
        (
            "roster-deleted.db",
            "DELETE FROM roster_import_records WHERE table_name = 'households'
             AND record_id = (SELECT MIN(record_id) FROM roster_import_records WHERE table_name = 'households')",
            "roster_import_runs",
        ),
        (
            "roll.db",
            "UPDATE roll_import_children SET change = 'update'",
            "roll_import_runs",
        ),
    ] {
        let copy = dir.path().join(name);
        std::fs::copy(&db, &copy).unwrap();
        let conn = rusqlite::Connection::open(&copy).unwrap();
        assert_eq!(conn.execute(sql, []).unwrap(), 1, "{name}");
        drop(conn);
        let (ok, v) = audit_verify(&copy);
        assert!(!ok, "{name}: {v}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["broken_run"]["table"], table, "{name}: {v}");
        let seq = v["first_broken_row"].as_i64().unwrap();
        assert_eq!(v["row"]["table_name"], table);
        assert_eq!(v["broken_run"]["audit_row"], seq);
    }
}

#[test]
fn roster_without_village_column_takes_the_village_site_or_is_refused_at_county() {
    let (dir, mut reg, actor) = village();
    let f = dir.path().join("roster.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "张庄村学户册").unwrap();
    ws.write_row(1, 0, ["户主", "子女姓名", "出生日期", "性别"])
        .unwrap();
    ws.write_row(2, 0, ["刘一", "刘小一", "2017-04-05", "男"])
        .unwrap();
    wb.save(&f).unwrap();
    let (out, _) =
        import_households(&mut reg, &f, None, false, &actor, &mut Control::default()).unwrap();
    assert_eq!(out.report.inserted, 1);
    let hh = store::households::list(reg.conn(), None, 10, 0).unwrap();
    assert_eq!(hh[0].village_code, "410423100201");

    let (mut county, actor) = county_with_school(dir.path());
    let (out, _) = import_households(
        &mut county,
        &f,
        None,
        false,
        &actor,
        &mut Control::default(),
    )
    .unwrap();
    assert_eq!(refused(&out), vec![(3, "village_code".to_string())]);
}

#[test]
fn template_has_every_roster_column_and_imports() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("学户册.xlsx");
    let st = std::process::Command::new(bin())
        .args([
            "template",
            "households",
            "--out",
            out_file.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/templates/学户册模板.xlsx");
    let labels: Vec<String> = HOUSEHOLD_FIELDS
        .iter()
        .map(|f| f.label.to_string())
        .collect();
    for file in [&out_file, &shipped] {
        use calamine::Reader;
        let mut wb: calamine::Xlsx<_> = calamine::open_workbook(file).unwrap();
        let range = wb.worksheet_range("学户册").unwrap();
        let header: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(header, labels, "{}", file.display());
    }
    let (_d, mut reg, actor) = village();
    let (out, hh) = import_households(
        &mut reg,
        &out_file,
        None,
        false,
        &actor,
        &mut Control::default(),
    )
    .unwrap();
    assert_eq!(
        (out.report.inserted, hh.inserted, out.report.refused.len()),
        (1, 1, 0)
    );
    assert!(out.report.unknown_columns.is_empty());
}

//! Large imports, written as bulk loads (a rollback journal instead of the WAL; the register's
//! child keys read into memory first; a department list's secondary indexes dropped and built
//! again): the same results as a row-by-row import, the pupils already on the register found,
//! the register back in WAL mode with every index in place, a dry run leaving nothing.

use crate::import_util::county_with_school;
use baoxue::import::roll::{import_roll, RollImport};
use baoxue::import::sample::write_roll_xlsx;
use baoxue::import::{is_bulk_file, Control, Outcome};
use baoxue::lists::{import_list, Kind, ListImport};
use baoxue::register::Actor;
use baoxue::Register;

fn opts(dry_run: bool) -> RollImport {
    RollImport {
        school: "4141000001".into(),
        term: Some("2026秋".into()),
        sheet: None,
        dry_run,
    }
}

/// Imports a roll sheet for real (not a dry run), without progress or cancel.
fn import(reg: &mut Register, path: &std::path::Path, actor: &Actor) -> Outcome {
    import_roll(reg, path, &opts(false), actor, &mut Control::default()).unwrap()
}

fn journal_mode(reg: &Register) -> String {
    reg.conn()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap()
}

fn count(reg: &Register, sql: &str) -> i64 {
    reg.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// SQLite finds the register file whole (`PRAGMA integrity_check`).
fn assert_integrity_ok(reg: &Register) {
    let check: String = reg
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// A bulk import writes without foreign-key checks: they are on again after it, and every
/// record it wrote refers to a child that is there.
fn assert_foreign_keys_on_and_kept(reg: &Register) {
    assert_eq!(
        count(reg, "PRAGMA foreign_keys"),
        1,
        "foreign keys on again"
    );
    let mut st = reg.conn().prepare("PRAGMA foreign_key_check").unwrap();
    let orphans: Vec<(String, i64, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        orphans.is_empty(),
        "records without their parent: {orphans:?}"
    );
}

#[test]
fn a_large_roll_sheet_finds_the_pupils_already_on_the_register_and_imports_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    // 30 pupils first, from a small sheet (row by row); then the whole school, 6 000 pupils,
    // whose first 30 are the same children.
    let small = dir.path().join("small.xlsx");
    write_roll_xlsx(&small, 30, "城关第一小学").unwrap();
    assert!(!is_bulk_file(&small));
    let first = import(&mut reg, &small, &actor);
    assert_eq!(first.report.inserted, 30);

    let big = dir.path().join("big.xlsx");
    write_roll_xlsx(&big, 6_000, "城关第一小学").unwrap();
    assert!(is_bulk_file(&big));
    let dry = import_roll(&mut reg, &big, &opts(true), &actor, &mut Control::default()).unwrap();
    assert_eq!(dry.report.inserted, 5_970);
    assert_eq!(
        count(&reg, "SELECT count(*) FROM children"),
        30,
        "a dry run writes nothing"
    );
    assert_eq!(journal_mode(&reg), "wal");
    assert_foreign_keys_on_and_kept(&reg);
    let unknown_school = RollImport {
        school: "4141009999".into(),
        ..opts(false)
    };
    assert!(import_roll(
        &mut reg,
        &big,
        &unknown_school,
        &actor,
        &mut Control::default()
    )
    .is_err());
    assert_eq!(
        count(&reg, "PRAGMA foreign_keys"),
        1,
        "on again after an error"
    );

    let out = import(&mut reg, &big, &actor);
    let r = &out.report;
    assert_eq!((r.inserted, r.updated, r.unchanged), (5_970, 0, 30));
    assert!(r.refused.is_empty());
    assert_eq!(journal_mode(&reg), "wal", "back to WAL after the bulk load");
    assert_eq!(count(&reg, "SELECT count(*) FROM children"), 6_000);
    assert_eq!(
        count(&reg, "SELECT count(DISTINCT id_key) FROM children"),
        6_000,
        "no pupil twice"
    );
    assert_eq!(count(&reg, "SELECT count(*) FROM enrolments"), 6_000);
    assert_eq!(
        count(
            &reg,
            "SELECT count(*) FROM roll_import_children WHERE change = 'insert'"
        ),
        5_970 + 30
    );
    assert_foreign_keys_on_and_kept(&reg);
    assert_integrity_ok(&reg);

    // Again: every pupil found, nothing written.
    let again = import(&mut reg, &big, &actor);
    let r = &again.report;
    assert_eq!((r.inserted, r.updated, r.unchanged), (0, 0, 6_000));
    assert_eq!(count(&reg, "SELECT count(*) FROM children"), 6_000);
}

#[test]
fn a_large_department_list_is_written_in_bulk_with_its_indexes_built_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    baoxue::lists::bench::add_divisions(&reg).unwrap();
    let path = dir.path().join("hukou.xlsx");
    baoxue::lists::bench::write_hukou_xlsx(&path, 12_000).unwrap();
    assert!(is_bulk_file(&path));
    let opts = ListImport {
        kind: Kind::Hukou,
        source: "鲁山县公安局".into(),
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        sheet: None,
        dry_run: false,
    };
    let indexes = |reg: &Register| {
        count(
            reg,
            "SELECT count(*) FROM sqlite_master WHERE type = 'index'
             AND name IN ('list_rows_key', 'list_rows_window')",
        )
    };
    let out = import_list(&mut reg, &path, &opts, &actor, &mut Control::default()).unwrap();
    assert_eq!(out.report.report.inserted, 12_000);
    assert_eq!(out.report.version, "new");
    assert_eq!(count(&reg, "SELECT count(*) FROM list_rows"), 12_000);
    assert_eq!(indexes(&reg), 2, "the secondary indexes are there again");
    assert_eq!(journal_mode(&reg), "wal");
    let via_key = count(
        &reg,
        "SELECT count(*) FROM list_rows INDEXED BY list_rows_key WHERE id_key IS NOT NULL",
    );
    assert_eq!(via_key, 12_000);
    assert_integrity_ok(&reg);

    let again = import_list(&mut reg, &path, &opts, &actor, &mut Control::default()).unwrap();
    assert_eq!(again.report.version, "unchanged");
    assert_eq!(again.report.report.unchanged, 12_000);
    assert_eq!(indexes(&reg), 2);
}

/// Every row of a table written by a roll import, without the columns a run makes afresh (ids,
/// version stamps), the child of a row named by its ID key: what two imports of the same pupils
/// must agree on.
fn pupil_rows(reg: &Register, table: &str) -> Vec<String> {
    let sql = match table {
        "children" => "SELECT t.id_key, t.* FROM children t".to_string(),
        _ => format!("SELECT c.id_key, t.* FROM {table} t JOIN children c ON c.id = t.child_id"),
    };
    let mut st = reg.conn().prepare(&sql).unwrap();
    let names: Vec<String> = st.column_names().map(|n| n.to_string()).collect();
    let mut rows: Vec<String> = st
        .query_map([], |r| {
            Ok(names
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    !matches!(n.as_str(), "id" | "version" | "child_id" | "origin_site")
                })
                .map(|(i, n)| format!("{n}={:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
                .collect::<Vec<_>>()
                .join(" "))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    rows.sort();
    rows
}

#[test]
fn new_pupils_written_many_to_a_statement_are_the_records_a_row_by_row_import_writes() {
    // 4 999 rows: written row by row (below the size that reads the register's keys first);
    // 5 000 rows, the same pupils and one more: new pupils kept and written 64 to a statement.
    let dir = tempfile::tempdir().unwrap();
    for sub in ["a", "b"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    let (mut by_row, actor) = county_with_school(&dir.path().join("a"));
    let (mut many, _) = county_with_school(&dir.path().join("b"));
    let small = dir.path().join("4999.xlsx");
    let big = dir.path().join("5000.xlsx");
    write_roll_xlsx(&small, 4_999, "城关第一小学").unwrap();
    write_roll_xlsx(&big, 5_000, "城关第一小学").unwrap();
    let a = import(&mut by_row, &small, &actor);
    let b = import(&mut many, &big, &actor);
    assert_eq!(a.report.inserted, 4_999);
    assert_eq!(b.report.inserted, 5_000);
    let last = baoxue::import::sample::sample_id(4_999);
    for table in ["children", "enrolments", "guardians"] {
        let mut rows = pupil_rows(&many, table);
        let before = rows.len();
        rows.retain(|r| !r.contains(&last));
        assert_eq!(
            before - rows.len(),
            1,
            "{table}: one record of the 5 000th pupil"
        );
        assert_eq!(rows, pupil_rows(&by_row, table), "{table}");
    }
    // Fresh meta: this site, this import's time, a first version; ids and stamps unique.
    for table in ["children", "enrolments", "guardians"] {
        let bad = count(
            &many,
            &format!(
                "SELECT count(*) FROM {table} WHERE origin_site <> (SELECT id FROM site)
                 OR prev_version IS NOT NULL OR edits <> 1 OR deleted <> 0"
            ),
        );
        assert_eq!(bad, 0, "{table}");
        let distinct = count(
            &many,
            &format!("SELECT count(DISTINCT version) FROM {table}"),
        );
        assert_eq!(distinct, 5_000, "{table}: one stamp per record");
    }
    assert_eq!(
        count(
            &many,
            "SELECT count(*) FROM roll_import_children WHERE change = 'insert'"
        ),
        5_000
    );
    // The run's audit row names the same tables, actions and fields.
    let audit = |reg: &Register| -> Vec<String> {
        let fields: String = reg
            .conn()
            .query_row(
                "SELECT fields FROM audit_log WHERE table_name = 'roll_import_runs'
                 ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str::<Vec<String>>(&fields)
            .unwrap()
            .into_iter()
            .filter(|l| !l.contains("digest"))
            .map(|l| l.replace("4999", "N").replace("5000", "N"))
            .collect()
    };
    assert_eq!(audit(&many), audit(&by_row));
    assert_integrity_ok(&many);
}

/// A second term's sheet of the 6 000 pupils of `write_roll_xlsx`, the way schools send them:
/// some pupils gone, some new ones, a block in another order and one moved to the end, classes,
/// phones, guardians, flags and notes changed here and there, empty cells that keep what the
/// register has, a pupil whose ID column is empty (his G-form 学籍号 names him), a wrong sex
/// (the ID wins, with a warning) and a refused row.
fn write_next_term(path: &std::path::Path) {
    use baoxue::import::sample::{sample_id, sample_name};
    let mut order: Vec<u64> = (0..6_000).filter(|i| i % 50 != 7).collect();
    order[2_900..3_300].reverse();
    let moved: Vec<u64> = order.drain(3_900..4_000).collect();
    order.extend(moved);
    let mut with_new = Vec::new();
    for (n, i) in order.into_iter().enumerate() {
        if n % 20 == 10 {
            with_new.push(10_000 + n as u64);
        }
        with_new.push(i);
    }
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let head = [
        "姓名",
        "性别",
        "出生日期",
        "身份证件号",
        "全国学籍号",
        "年级",
        "班级",
        "入学年月",
        "户籍所在地",
        "现住址",
        "监护人姓名",
        "监护人关系",
        "监护人电话",
        "是否留守儿童",
        "备注",
    ];
    for (c, h) in head.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let grades = [
        "一年级",
        "二年级",
        "三年级",
        "四年级",
        "五年级",
        "六年级",
        "初一",
        "初二",
        "初三",
    ];
    let relations = ["父亲", "母亲", "祖父", "祖母"];
    for (n, i) in with_new.into_iter().enumerate() {
        let r = 1 + n as u32;
        let id = sample_id(i);
        let male = (id.as_bytes()[16] - b'0') % 2 == 1;
        let mut cells: Vec<String> = vec![
            sample_name(i),
            if male { "男" } else { "女" }.into(),
            format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14]),
            id.clone(),
            format!("G{id}"),
            grades[(i % 9) as usize].into(),
            format!("{}班", i % 4 + 1),
            "2023-09-01".into(),
            "河南省长垣市".into(),
            format!("张庄村{}组", i % 12 + 1),
            sample_name(i + 7_000_000),
            relations[(i % 4) as usize].into(),
            format!("138{:08}", i),
            if i % 5 == 0 { "是" } else { "否" }.into(),
            String::new(),
        ];
        if i % 7 == 3 {
            cells[6] = "9班".into();
        }
        if i % 11 == 5 {
            cells[12] = format!("139{:08}", i);
        }
        if i % 13 == 6 {
            cells[10] = sample_name(i + 8_000_000);
        }
        if i % 17 == 2 {
            cells[13] = if i % 5 == 0 { "否" } else { "是" }.into();
        }
        if i % 19 == 4 {
            cells[8] = String::new();
            cells[12] = String::new();
        }
        if i % 23 == 1 {
            cells[14] = "本学期转入".into();
        }
        if i == 300 {
            cells[3] = String::new();
        }
        if i == 400 {
            cells[1] = if male { "女" } else { "男" }.into();
        }
        if i == 500 {
            cells[3] = format!("{}X", &id[..17]).replace("XX", "X0");
        }
        for (c, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r, c as u16, v).unwrap();
            }
        }
    }
    wb.save(path).unwrap();
}

/// Every row of the tables a roll import writes, each child named by its ID key rather than
/// its id (each writer draws fresh random id bits), version stamps included: what two imports
/// made from the same register by the same clock must agree on to the letter.
fn register_rows(reg: &Register) -> Vec<String> {
    let mut out = Vec::new();
    for (table, sql) in [
        ("children", "SELECT t.id_key, t.* FROM children t"),
        (
            "enrolments",
            "SELECT c.id_key, t.* FROM enrolments t JOIN children c ON c.id = t.child_id",
        ),
        (
            "guardians",
            "SELECT c.id_key, t.* FROM guardians t JOIN children c ON c.id = t.child_id",
        ),
        (
            "runs",
            "SELECT c.id_key, c.version, t.* FROM roll_import_children t
             JOIN children c ON c.id = t.child_id",
        ),
    ] {
        let mut st = reg.conn().prepare(sql).unwrap();
        let names: Vec<String> = st.column_names().map(|n| n.to_string()).collect();
        let rows: Vec<String> = st
            .query_map([], |r| {
                Ok(names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| !matches!(n.as_str(), "id" | "child_id"))
                    .map(|(i, n)| {
                        format!("{n}={:?}", r.get::<_, rusqlite::types::Value>(i).unwrap())
                    })
                    .collect::<Vec<_>>()
                    .join(" "))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
    }
    out.sort();
    out
}

#[test]
fn a_re_import_that_finds_its_pupils_in_id_order_writes_what_one_look_up_per_row_writes() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["a", "b"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    let (mut reg, actor) = county_with_school(&dir.path().join("a"));
    let first = dir.path().join("first.xlsx");
    write_roll_xlsx(&first, 6_000, "城关第一小学").unwrap();
    import(&mut reg, &first, &actor);
    // Pupil 100 enrolled twice at the school (the later entry date is the one a row updates);
    // pupil 200's ID key on a second child too, one with a smaller id (a record another site
    // made: the look-up finds it first).
    reg.conn()
        .execute_batch(&format!(
            "INSERT INTO enrolments SELECT 'x-' || id, origin_site, version, prev_version, edits,
                updated_at, deleted, child_id, school_code, student_no, grade, class_name,
                '2024-09-01', status, status_date, term, note
             FROM enrolments WHERE child_id = (SELECT id FROM children WHERE id_key = '{}');
             INSERT INTO children SELECT '0-' || id, origin_site, version, prev_version,
                edits, updated_at, deleted, household_id, name, sex, birth_date, id_number, id_key,
                NULL, village_code, hukou_place, residence, flags, disability_type,
                disability_grade, life_status, life_status_detail, note
             FROM children WHERE id_key = '{}';",
            baoxue::import::sample::sample_id(100),
            baoxue::import::sample::sample_id(200),
        ))
        .unwrap();
    drop(reg);
    std::fs::copy(
        dir.path().join("a/register.db"),
        dir.path().join("b/register.db"),
    )
    .unwrap();
    let next = dir.path().join("next.xlsx");
    write_next_term(&next);
    let opts = opts(false);
    let mut a = Register::open(&dir.path().join("a/register.db")).unwrap();
    let mut b = Register::open(&dir.path().join("b/register.db")).unwrap();
    let with = import_roll(&mut a, &next, &opts, &actor, &mut Control::default()).unwrap();
    let looked = baoxue::import::window::without(|| {
        import_roll(&mut b, &next, &opts, &actor, &mut Control::default()).unwrap()
    });
    let (r, l) = (&with.report, &looked.report);
    assert_eq!(
        (r.rows_read, r.inserted, r.updated, r.unchanged),
        (l.rows_read, l.inserted, l.updated, l.unchanged)
    );
    let counts = (
        r.inserted,
        r.updated,
        r.unchanged,
        r.refused.len(),
        r.warnings.len(),
    );
    assert!(
        counts.0 >= 290 && counts.1 > 1_000 && counts.2 > 2_000,
        "{counts:?}"
    );
    let json = |o: &baoxue::import::Outcome| {
        let mut v = serde_json::to_value(&o.report).unwrap();
        for m in v["missing_since_last"].as_array_mut().unwrap() {
            m["child_id"] = serde_json::Value::Null;
        }
        v
    };
    assert_eq!(json(&with), json(&looked));
    // Gone; the refused row's pupil; pupil 200's record, as the row went to the other one.
    assert_eq!(r.missing_since_last.len(), 120 + 1 + 1);
    assert_eq!(register_rows(&a), register_rows(&b));
    // The same sheet again: nothing changes, either way.
    let again = import_roll(&mut a, &next, &opts, &actor, &mut Control::default()).unwrap();
    let looked = baoxue::import::window::without(|| {
        import_roll(&mut b, &next, &opts, &actor, &mut Control::default()).unwrap()
    });
    assert_eq!((again.report.inserted, again.report.updated), (0, 0));
    assert_eq!(json(&again), json(&looked));
    assert_eq!(register_rows(&a), register_rows(&b));
}

#[test]
fn a_roll_import_writes_the_same_whichever_thread_parses_its_rows() {
    use baoxue::import::roll::with_balance;
    use baoxue::import::Balance;
    let dir = tempfile::tempdir().unwrap();
    let ways = [Balance::Writer, Balance::Reader, Balance::Adaptive];
    for way in ways {
        std::fs::create_dir_all(dir.path().join(format!("{way:?}"))).unwrap();
    }
    let (mut reg, actor) = county_with_school(&dir.path().join("Writer"));
    let schema = indexes(&reg);
    assert!(schema.iter().any(|(n, _)| n == "children_name_birth"));
    // A first import into an empty register: built without the `children` indexes it would
    // fill at random places, which are there again after it, as they were.
    let first = dir.path().join("first.xlsx");
    write_roll_xlsx(&first, 6_000, "城关第一小学").unwrap();
    import(&mut reg, &first, &actor);
    assert_eq!(indexes(&reg), schema);
    drop(reg);
    for way in &ways[1..] {
        std::fs::copy(
            dir.path().join("Writer/register.db"),
            dir.path().join(format!("{way:?}/register.db")),
        )
        .unwrap();
    }
    // The next term's sheet: new pupils, changed fields, refused rows, duplicate keys, leavers.
    let next = dir.path().join("next.xlsx");
    write_next_term(&next);
    let json = |o: &baoxue::import::Outcome| {
        let mut v = serde_json::to_value(&o.report).unwrap();
        for m in v["missing_since_last"].as_array_mut().unwrap() {
            m["child_id"] = serde_json::Value::Null;
        }
        (v, format!("{:?}", o.refused_rows), o.header_labels.clone())
    };
    let mut seen = Vec::new();
    for way in ways {
        let mut reg = Register::open(&dir.path().join(format!("{way:?}/register.db"))).unwrap();
        let out = with_balance(way, || import(&mut reg, &next, &actor));
        let r = &out.report;
        assert!(
            r.inserted >= 290 && r.updated > 1_000 && !r.refused.is_empty(),
            "{way:?}: {} {} {}",
            r.inserted,
            r.updated,
            r.refused.len()
        );
        assert_eq!(indexes(&reg), schema, "{way:?}");
        assert_integrity_ok(&reg);
        seen.push((way, json(&out), register_rows(&reg)));
    }
    for (way, report, rows) in &seen[1..] {
        assert_eq!(report, &seen[0].1, "{way:?}");
        assert_eq!(rows, &seen[0].2, "{way:?}");
    }
}

#[test]
fn a_bulk_roll_import_writes_its_pages_into_the_file_before_the_commit_and_all_of_them() {
    // The new pupils' pages reach the register file while the import still runs (the disk
    // writes them meanwhile: `store::flush`), not all at the commit; the register is whole.
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let db = dir.path().join("register.db");
    let before = std::fs::metadata(&db).unwrap().len();
    let big = dir.path().join("big.xlsx");
    write_roll_xlsx(&big, 6_000, "城关第一小学").unwrap();
    assert!(is_bulk_file(&big));
    // The file's size at the last progress report, which comes just before the commit.
    let mut last_seen = 0u64;
    let mut seen = |_: baoxue::import::Progress| {
        last_seen = std::fs::metadata(&db).unwrap().len();
    };
    let out = import_roll(
        &mut reg,
        &big,
        &opts(false),
        &actor,
        &mut Control {
            progress: Some(&mut seen),
            cancel: None,
        },
    )
    .unwrap();
    assert_eq!(out.report.inserted, 6_000);
    let after = std::fs::metadata(&db).unwrap().len();
    // 6 000 pupils take about 9 MB, far less than the import's 32 MiB page cache: without the
    // early writing nothing would be in the file before the commit.
    #[cfg(target_os = "linux")]
    assert!(
        last_seen > before + (after - before) / 2,
        "before {before}, at the last report {last_seen}, after {after}"
    );
    #[cfg(not(target_os = "linux"))]
    let _ = (before, last_seen);
    assert_eq!(count(&reg, "SELECT count(*) FROM children"), 6_000);
    assert_eq!(count(&reg, "SELECT count(*) FROM enrolments"), 6_000);
    assert_integrity_ok(&reg);
    drop(reg);
    let reg = Register::open(&db).unwrap();
    assert_eq!(count(&reg, "SELECT count(*) FROM children"), 6_000);
}

#[test]
fn a_first_bulk_import_finds_a_pupil_already_on_the_register_after_thousands_of_new_ones() {
    // A register with 20 children, the pupils of rows 5 001-5 020 of a 6 000-row sheet: the
    // first bulk import drops the `children` indexes it would fill at random places, holds
    // 5 000 new pupils, then meets a pupil it must look up: the indexes are built again first,
    // and every later look-up finds its child. Afterwards the indexes are as they were.
    use baoxue::import::sample::{sample_id, sample_name};
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let schema = indexes(&reg);
    let small = dir.path().join("small.csv");
    let mut text = String::from("姓名,出生日期,身份证号\n");
    for i in 5_000..5_020u64 {
        let id = sample_id(i);
        text.push_str(&format!(
            "{},{}-{}-{},{id}\n",
            sample_name(i),
            &id[6..10],
            &id[10..12],
            &id[12..14]
        ));
    }
    std::fs::write(&small, text).unwrap();
    let first = import(&mut reg, &small, &actor);
    assert_eq!(first.report.inserted, 20, "{:?}", first.report.refused);

    let big = dir.path().join("big.xlsx");
    write_roll_xlsx(&big, 6_000, "城关第一小学").unwrap();
    let out = import(&mut reg, &big, &actor);
    let r = &out.report;
    assert!(r.refused.is_empty(), "{:?}", r.refused);
    assert_eq!((r.inserted, r.updated + r.unchanged), (5_980, 20));
    assert_eq!(count(&reg, "SELECT count(*) FROM children"), 6_000);
    assert_eq!(
        count(&reg, "SELECT count(DISTINCT id_key) FROM children"),
        6_000,
        "no pupil twice"
    );
    assert_eq!(indexes(&reg), schema);
    assert_integrity_ok(&reg);
    // The indexes are used again: a child found by its ID key through `children_id_key`.
    let plan: String = reg
        .conn()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM children WHERE id_key = '1'",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("children_id_key"), "{plan}");
}

/// The register's indexes (name, SQL), by name: a bulk import that drops some must leave them
/// as they were.
fn indexes(reg: &Register) -> Vec<(String, String)> {
    let mut st = reg
        .conn()
        .prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        )
        .unwrap();
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

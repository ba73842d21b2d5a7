//! Large imports, written as bulk loads (a rollback journal instead of the WAL; the register's
//! child keys read into memory first; a department list's secondary indexes dropped and built
//! again): the same results as a row-by-row import, the pupils already on the register found,
//! the register back in WAL mode with every index in place, a dry run leaving nothing.

use crate::import_util::county_with_school;
use baoxue::import::roll::{import_roll, RollImport};
use baoxue::import::sample::write_roll_xlsx;
use baoxue::import::{is_bulk_file, Control};
use baoxue::lists::{import_list, Kind, ListImport};
use baoxue::Register;

fn opts(dry_run: bool) -> RollImport {
    RollImport {
        school: "4141000001".into(),
        term: Some("2026秋".into()),
        sheet: None,
        dry_run,
    }
}

fn journal_mode(reg: &Register) -> String {
    reg.conn()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap()
}

fn count(reg: &Register, sql: &str) -> i64 {
    reg.conn().query_row(sql, [], |r| r.get(0)).unwrap()
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
    let first = import_roll(
        &mut reg,
        &small,
        &opts(false),
        &actor,
        &mut Control::default(),
    )
    .unwrap();
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

    let out = import_roll(
        &mut reg,
        &big,
        &opts(false),
        &actor,
        &mut Control::default(),
    )
    .unwrap();
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
    let check: String = reg
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");

    // Again: every pupil found, nothing written.
    let again = import_roll(
        &mut reg,
        &big,
        &opts(false),
        &actor,
        &mut Control::default(),
    )
    .unwrap();
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
    let check: String = reg
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");

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
    let a = import_roll(
        &mut by_row,
        &small,
        &opts(false),
        &actor,
        &mut Control::default(),
    )
    .unwrap();
    let b = import_roll(
        &mut many,
        &big,
        &opts(false),
        &actor,
        &mut Control::default(),
    )
    .unwrap();
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
    let check: String = many
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

//! Rates on a hand-built cohort with known answers, and ledgers read back with calamine.

use crate::util::{actor, id_number, TempRegister};
use baoxue::domain::{Child, Enrolment, SiteKind};
use baoxue::register::{NewSite, Register};
use baoxue::stats::{self, Metric};
use baoxue::store;
use calamine::{open_workbook, Data, Reader, Xlsx};
use chrono::NaiveDate;

struct Pupil<'a> {
    name: &'a str,
    birth: &'a str,
    seq: u32,
    enrol: Option<(i64, &'a str, &'a str, &'a str, Option<&'a str>)>, // grade, status, term, entry, status_date
}

fn county(r: &TempRegister) -> Register {
    let mut reg = Register::open(&r.db).unwrap();
    reg.init_site(
        NewSite {
            kind: SiteKind::County,
            name: "青山县教育局".into(),
            region_code: "410499".into(),
            school_code: None,
        },
        &actor(),
    )
    .unwrap();
    baoxue::schools::add_school(
        &mut reg,
        "2141049901",
        "青山县第一初级中学",
        "junior",
        Some("410499100"),
        &actor(),
    )
    .unwrap();
    reg
}

/// Inserts children (with a village) and their enrolments; returns child ids by name.
fn add(reg: &mut Register, pupils: &[Pupil]) -> Vec<(String, String)> {
    let mut w = reg.writer(&actor()).unwrap();
    let mut ids = vec![];
    for p in pupils {
        let id = id_number("410499", &p.birth.replace('-', ""), p.seq);
        let child = Child {
            meta: w.new_meta(),
            household_id: None,
            name: p.name.into(),
            sex: Some("男".into()),
            birth_date: Some(p.birth.into()),
            id_number: Some(id.clone()),
            id_key: Some(id),
            student_no: None,
            village_code: Some("410499100201".into()),
            hukou_place: None,
            residence: None,
            flags: vec![],
            disability_type: None,
            disability_grade: None,
            life_status: "normal".into(),
            life_status_detail: None,
            note: None,
        };
        store::children::put(w.conn(), &child).unwrap();
        if let Some((grade, status, term, entry, status_date)) = p.enrol {
            let e = Enrolment {
                meta: w.new_meta(),
                child_id: child.meta.id.clone(),
                school_code: "2141049901".into(),
                student_no: None,
                grade: Some(grade),
                class_name: Some("1班".into()),
                entry_date: Some(entry.into()),
                status: status.into(),
                status_date: status_date.map(str::to_string),
                term: Some(term.into()),
                note: None,
            };
            store::enrolments::put(w.conn(), &e).unwrap();
        }
        ids.push((p.name.to_string(), child.meta.id.clone()));
    }
    w.commit().unwrap();
    ids
}

fn pupils() -> Vec<Pupil<'static>> {
    vec![
        // The cohort that entered grade 1 in autumn 2017 and graduated in summer 2026.
        Pupil {
            name: "甲",
            birth: "2011-03-01",
            seq: 11,
            enrol: Some((9, "graduated", "2026春", "2017-09-01", Some("2026-07-01"))),
        },
        Pupil {
            name: "乙",
            birth: "2011-03-01",
            seq: 13,
            enrol: Some((9, "graduated", "2026春", "2017-09-01", Some("2026-07-01"))),
        },
        Pupil {
            name: "丙",
            birth: "2011-03-01",
            seq: 15,
            enrol: Some((9, "graduated", "2026春", "2017-09-01", Some("2026-07-01"))),
        },
        Pupil {
            name: "丁",
            birth: "2011-03-01",
            seq: 17,
            enrol: Some((9, "dropped_out", "2026春", "2017-09-01", Some("2026-03-01"))),
        },
        // Transferred in (entered the county's schools in 2020), graduated.
        Pupil {
            name: "戊",
            birth: "2011-03-01",
            seq: 19,
            enrol: Some((9, "graduated", "2026春", "2020-09-01", Some("2026-07-01"))),
        },
        // Transferred out in grade 5: leaves the denominator.
        Pupil {
            name: "己",
            birth: "2011-03-01",
            seq: 21,
            enrol: Some((
                5,
                "transferred_out",
                "2022春",
                "2017-09-01",
                Some("2022-03-01"),
            )),
        },
        // Another cohort.
        Pupil {
            name: "庚",
            birth: "2010-03-01",
            seq: 23,
            enrol: Some((9, "graduated", "2025春", "2016-09-01", Some("2025-07-01"))),
        },
        // School age turns on the cutoff: 6 on 08-31 is in, 6 on 09-01 is not.
        Pupil {
            name: "辛",
            birth: "2020-08-31",
            seq: 25,
            enrol: Some((1, "studying", "2026秋", "2026-09-01", None)),
        },
        Pupil {
            name: "壬",
            birth: "2020-09-01",
            seq: 27,
            enrol: None,
        },
        Pupil {
            name: "癸",
            birth: "2015-05-05",
            seq: 29,
            enrol: None,
        },
        Pupil {
            name: "子",
            birth: "2011-08-31",
            seq: 31,
            enrol: None,
        },
        // Dropped out this school year.
        Pupil {
            name: "丑",
            birth: "2013-01-01",
            seq: 33,
            enrol: Some((7, "dropped_out", "2026秋", "2024-09-01", Some("2026-10-10"))),
        },
    ]
}

fn figure<'a>(list: &'a [stats::Figure], by: &str, key: &str) -> &'a stats::Figure {
    list.iter()
        .find(|f| f.by == by && f.key == key)
        .unwrap_or_else(|| panic!("no figure {by}/{key}"))
}

#[test]
fn rates_on_a_hand_built_cohort() {
    let r = TempRegister::new();
    let mut reg = county(&r);
    add(&mut reg, &pupils());
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let s = stats::compute(reg.conn(), as_of).unwrap();

    // 巩固率: graduates 甲乙丙戊 ÷ (intake 甲乙丙丁己 + in 戊 − out 己) = 4/5.
    let ret = figure(&s.retention, "county", "county");
    assert_eq!((ret.numerator, ret.denominator), (4, 5));
    assert_eq!(ret.rate, Some(80.0));
    assert_eq!(figure(&s.retention, "school", "2141049901").denominator, 5);
    assert!(s.retention.iter().all(|f| f.numerator <= f.denominator));

    // 净入学率: school-age 辛 癸 丑 (壬 too young, 子 and the graduates 15 at the cutoff); enrolled 辛.
    let net = figure(&s.net_enrolment, "county", "county");
    assert_eq!((net.numerator, net.denominator), (1, 3));
    assert_eq!(net.rate, Some(33.33));

    // 辍学率: at the start of the year 辛 and 丑 were enrolled; 丑 dropped out in October.
    let drop = figure(&s.dropout, "county", "county");
    assert_eq!((drop.numerator, drop.denominator), (1, 2));
    assert_eq!(figure(&s.dropout, "grade", "7").numerator, 1);

    // Every figure opens to the children behind it.
    let behind = stats::children_behind(&s, Metric::NetEnrolment, "county", "county").unwrap();
    assert_eq!(behind.len(), 3);
    assert_eq!(behind.iter().filter(|(_, counted)| *counted).count(), 1);

    // The screen's drill-down names them, IDs masked, the enrolled one counted.
    let rows = stats::drill_rows(reg.conn(), &s, Metric::NetEnrolment, "county", "county")
        .unwrap()
        .unwrap();
    let mut names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["丑", "癸", "辛"]);
    let counted: Vec<_> = rows
        .iter()
        .filter(|r| r.counted)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(counted, ["辛"]);
    assert!(rows.iter().all(|r| r.id_masked.contains("********")));
    assert!(
        stats::drill_rows(reg.conn(), &s, Metric::Dropout, "school", "nope")
            .unwrap()
            .is_none()
    );
}

/// The app's cache answers repeated drill-downs from one count, and counts again after any write
/// (here a new school-age child on the roll) or for another day.
#[test]
fn cached_stats_are_recounted_after_a_write_and_for_another_day() {
    let r = TempRegister::new();
    let mut reg = county(&r);
    add(&mut reg, &pupils());
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let mut cache = stats::CachedStats::default();
    let net = |s: &stats::Stats| {
        let f = figure(&s.net_enrolment, "county", "county");
        (f.numerator, f.denominator)
    };
    assert_eq!(net(cache.current(reg.conn(), day).unwrap()), (1, 3));
    assert!(cache.is_current(reg.conn(), day).unwrap());
    assert!(!cache
        .is_current(reg.conn(), day.succ_opt().unwrap())
        .unwrap());
    add(
        &mut reg,
        &[Pupil {
            name: "寅",
            birth: "2019-05-05",
            seq: 41,
            enrol: Some((2, "studying", "2026秋", "2025-09-01", None)),
        }],
    );
    assert!(!cache.is_current(reg.conn(), day).unwrap());
    assert_eq!(net(cache.current(reg.conn(), day).unwrap()), (2, 4));
    assert_eq!(
        net(cache.current(reg.conn(), day).unwrap()),
        net(&stats::compute(reg.conn(), day).unwrap())
    );
}

#[test]
fn one_child_registered_twice_counts_once() {
    let r = TempRegister::new();
    let mut reg = county(&r);
    // The same child on the village roster (no enrolment) and on the school roll.
    let same = [
        Pupil {
            name: "辛",
            birth: "2020-08-31",
            seq: 25,
            enrol: None,
        },
        Pupil {
            name: "辛",
            birth: "2020-08-31",
            seq: 25,
            enrol: Some((1, "studying", "2026秋", "2026-09-01", None)),
        },
    ];
    add(&mut reg, &same);
    let s = stats::compute(reg.conn(), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()).unwrap();
    let net = figure(&s.net_enrolment, "county", "county");
    assert_eq!((net.numerator, net.denominator), (1, 1));
}

#[test]
fn records_a_person_confirmed_to_be_one_child_count_once() {
    let r = TempRegister::new();
    let mut reg = county(&r);
    // The village's record and the school's record of one child, neither with an ID number.
    let two = [
        Pupil {
            name: "壬",
            birth: "2018-03-02",
            seq: 26,
            enrol: None,
        },
        Pupil {
            name: "壬",
            birth: "2018-03-02",
            seq: 27,
            enrol: Some((3, "studying", "2026秋", "2024-09-01", None)),
        },
    ];
    let ids = add(&mut reg, &two);
    reg.conn()
        .execute(
            "UPDATE children SET id_key = NULL, id_number = NULL WHERE name = '壬'",
            [],
        )
        .unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let net = |reg: &Register| {
        let s = stats::compute(reg.conn(), day).unwrap();
        let f = figure(&s.net_enrolment, "county", "county");
        (f.numerator, f.denominator)
    };
    assert_eq!(
        net(&reg),
        (1, 2),
        "two records, not yet known to be one child"
    );
    let (a, b) = (&ids[0].1, &ids[1].1);
    baoxue::persons::decide(&mut reg, a, b, true, "村校核实：同一儿童", &actor()).unwrap();
    assert_eq!(net(&reg), (1, 1), "one child, enrolled");
    baoxue::persons::decide(&mut reg, a, b, false, "复核：不是同一人", &actor()).unwrap();
    assert_eq!(net(&reg), (1, 2));
}

#[test]
fn retention_never_passes_100_percent_on_the_demo_county() {
    let r = TempRegister::new();
    r.ok(&["demo"]);
    let v: serde_json::Value =
        serde_json::from_str(&r.ok(&["--json", "stats", "--as-of", "2026-11-23"])).unwrap();
    for key in ["retention", "net_enrolment", "dropout"] {
        for f in v[key].as_array().unwrap() {
            assert!(
                f["numerator"].as_u64() <= f["denominator"].as_u64(),
                "{key}: {f}"
            );
            if let Some(rate) = f["rate"].as_f64() {
                assert!((0.0..=100.0).contains(&rate));
            }
        }
    }
    assert!(v["cases"]["total"].as_u64().unwrap() >= 3);
}

fn read_sheet(path: &std::path::Path) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

#[test]
fn ledgers_read_back_masked_by_default_and_full_when_asked() {
    let r = TempRegister::new();
    let mut reg = county(&r);
    let ids = add(&mut reg, &pupils());
    drop(reg);
    let out = r.path("children.xlsx");
    r.ok(&[
        "ledger",
        "children",
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        "2026-11-23",
    ]);
    let rows = read_sheet(&out);
    assert!(rows[0][0].to_string().contains("适龄儿童台账"));
    assert!(rows[1][0].to_string().contains("填报单位"));
    let header: Vec<String> = rows[2].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        &header[..8],
        [
            "序号",
            "乡镇",
            "村（社区）",
            "户主",
            "姓名",
            "性别",
            "出生日期",
            "身份证号"
        ]
    );
    // School age 6-15 at the cutoff: 辛 癸 子 丑 and the five 2011 pupils of the cohort who are 15.
    let data = &rows[3..];
    assert_eq!(data.len(), 10, "{data:?}");
    for row in data {
        match &row[7] {
            Data::String(s) => assert!(s.contains("********"), "masked: {s}"),
            other => panic!("ID must be a text cell, got {other:?}"),
        }
    }
    // Chinese alias, --full: full numbers as text, and an audit row.
    let full = r.path("full.xlsx");
    r.ok(&[
        "ledger",
        "适龄儿童台账",
        "--out",
        full.to_str().unwrap(),
        "--full",
        "--as-of",
        "2026-11-23",
    ]);
    let rows = read_sheet(&full);
    let xin = rows
        .iter()
        .find(|r| r[4] == Data::String("辛".into()))
        .unwrap();
    let expected = id_number("410499", "20200831", 25);
    assert_eq!(xin[7], Data::String(expected));
    let conn = rusqlite::Connection::open(&r.db).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export_full'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    assert!(!ids.is_empty());
}

#[test]
fn dropout_ledger_lists_every_persuasion_attempt_and_csv_has_a_bom() {
    let r = TempRegister::new();
    r.ok(&["demo"]);
    let out = r.path("dropouts.xlsx");
    let v: serde_json::Value = serde_json::from_str(&r.ok(&[
        "--json",
        "ledger",
        "dropouts",
        "--out",
        out.to_str().unwrap(),
    ]))
    .unwrap();
    let rows = read_sheet(&out);
    assert_eq!(rows.len() - 3, v["rows"].as_u64().unwrap() as usize);
    assert!(rows.len() > 3);
    let attempts_col = rows[2]
        .iter()
        .position(|c| *c == Data::String("劝返记录".into()))
        .unwrap();
    assert!(rows[3..]
        .iter()
        .any(|r| r[attempts_col].to_string().contains("劝返")));
    let csv = r.path("disabled.csv");
    r.ok(&["ledger", "disabled", "--out", csv.to_str().unwrap()]);
    let bytes = std::fs::read(&csv).unwrap();
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
    assert!(String::from_utf8(bytes[3..].to_vec())
        .unwrap()
        .starts_with("序号,乡镇"));
    assert!(!r
        .run(&["ledger", "nonsense", "--out", "x.xlsx"])
        .status
        .success());
}

#[test]
fn one_child_file_shows_linked_records_and_the_case_timeline_masked() {
    let r = TempRegister::new();
    r.ok(&["demo"]);
    let conn = rusqlite::Connection::open(&r.db).unwrap();
    let (child_id, id_number): (String, String) = conn
        .query_row(
            "SELECT c.id, c.id_number FROM cases k JOIN children c ON c.id = k.child_id
             WHERE c.id_number IS NOT NULL AND k.state = 'returned' LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    // Found by the ID number as well as by the record id.
    let html = r.path("file.html");
    r.ok(&[
        "child",
        "show",
        &id_number,
        "--html",
        html.to_str().unwrap(),
    ]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("一人一档"));
    assert!(page.contains("@page{size:A4"));
    assert!(page.contains("劝返中 → 已复学"));
    assert!(page.contains(&baoxue::idnum::mask_id(&id_number)));
    assert!(
        !page.contains(&id_number),
        "the full ID must not be printed by default"
    );
    let v: serde_json::Value =
        serde_json::from_str(&r.ok(&["--json", "child", "show", &child_id])).unwrap();
    assert_eq!(
        v["records"][0]["child"]["id_number"],
        baoxue::idnum::mask_id(&id_number)
    );
    assert!(v["cases"][0]["events"].as_array().unwrap().len() >= 3);
    assert!(!r
        .run(&["child", "show", "410499200001010000"])
        .status
        .success());
}

#[test]
fn suspected_ledger_lists_exactly_what_the_crosscheck_lists() {
    let r = TempRegister::new();
    r.ok(&["demo"]);
    let check: serde_json::Value =
        serde_json::from_str(&r.ok(&["--json", "crosscheck", "--as-of", "2026-11-23"])).unwrap();
    let suspected = check["suspected"].as_array().unwrap();
    assert!(
        !suspected.is_empty(),
        "the demo county has children out of school"
    );
    let out = r.path("suspected.xlsx");
    r.ok(&[
        "ledger",
        "suspected",
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        "2026-11-23",
    ]);
    let rows = read_sheet(&out);
    assert!(rows[0][0].to_string().contains("疑似辍学学生台账"));
    assert_eq!(rows.len() - 3, suspected.len());
    let mut names: Vec<String> = rows[3..].iter().map(|r| r[3].to_string()).collect();
    let mut expected: Vec<String> = suspected
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    expected.sort();
    assert_eq!(names, expected);
    assert!(
        rows[3..].iter().all(|r| !r[7].to_string().is_empty()),
        "every row says why it is listed"
    );
}

/// A child on a village's roster in one township who studies at a school in another counts once,
/// in its household's township: the record with a village stands for the person, whichever of
/// its records comes first.
#[test]
fn a_child_counts_in_its_households_township_not_its_schools() {
    let r = TempRegister::new();
    let mut reg = county(&r);
    // The school's record: no village, enrolled at the school of township 410499100.
    add(
        &mut reg,
        &[Pupil {
            name: "癸",
            birth: "2018-05-06",
            seq: 31,
            enrol: Some((3, "studying", "2026秋", "2024-09-01", None)),
        }],
    );
    reg.conn()
        .execute(
            "UPDATE children SET village_code = NULL WHERE name = '癸'",
            [],
        )
        .unwrap();
    // The roster's record of the same child (same ID number), in a village of township 410499200.
    add(
        &mut reg,
        &[Pupil {
            name: "癸",
            birth: "2018-05-06",
            seq: 31,
            enrol: None,
        }],
    );
    reg.conn()
        .execute(
            "UPDATE children SET village_code = '410499200203' WHERE name = '癸' AND village_code IS NOT NULL",
            [],
        )
        .unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let s = stats::compute(reg.conn(), day).unwrap();
    let county = figure(&s.net_enrolment, "county", "county");
    assert_eq!((county.numerator, county.denominator), (1, 1), "one child");
    let home = figure(&s.net_enrolment, "township", "410499200");
    assert_eq!(
        (home.numerator, home.denominator),
        (1, 1),
        "counted at home"
    );
    assert!(
        !s.net_enrolment
            .iter()
            .any(|f| f.by == "township" && f.key == "410499100" && f.denominator > 0),
        "not counted in the school's township"
    );
}

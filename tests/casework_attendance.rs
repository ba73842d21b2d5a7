//! Attendance sheets imported from Excel and CSV (`baoxue attendance import`): the long layout
//! (one row per pupil and day) as .xlsx through the library with a fixed clock, the wide monthly
//! layout (one column per day) as a GBK .csv through the CLI, every refused row with its row
//! number and reason, re-import changing nothing, and the warnings list afterwards. Also the
//! stored (travelling) rejection of a probable match (`baoxue crosscheck reject`).

use crate::casework::{county, day};
use crate::util::{id_number, TempRegister};
use baoxue::attendance::import::{import_attendance, AttendanceImport};
use baoxue::attendance::{self, Calendar};
use baoxue::domain::{Child, Enrolment, School, SiteKind};
use baoxue::register::{NewSite, Writer};
use baoxue::settings::Settings;
use baoxue::store;
use baoxue::{Actor, Register};
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;
use std::path::Path;

pub const SCHOOL: &str = "2141042399";
const TOWNSHIP: &str = "410423100";

pub fn at(rfc3339: &str) -> Actor {
    Actor::new(
        "测试员",
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&chrono::Utc),
    )
}

fn wang_id() -> String {
    id_number("410423", "20170305", 11)
}
fn li_id() -> String {
    id_number("410423", "20170406", 12)
}
fn zhao_id() -> String {
    id_number("410423", "20170507", 13)
}

fn pupil(
    w: &mut Writer<'_>,
    name: &str,
    birth: &str,
    id: Option<String>,
    student_no: Option<String>,
    grade: i64,
    class: &str,
) -> String {
    let c = Child {
        meta: w.new_meta(),
        household_id: None,
        name: name.into(),
        sex: None,
        birth_date: Some(birth.into()),
        id_number: id.clone(),
        id_key: id,
        student_no: student_no.clone(),
        village_code: Some("410423100201".into()),
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
        school_code: SCHOOL.into(),
        student_no,
        grade: Some(grade),
        class_name: Some(class.into()),
        entry_date: None,
        status: "studying".into(),
        status_date: None,
        term: Some("2026秋".into()),
        note: None,
    };
    store::enrolments::put(w.conn(), &e).unwrap();
    c.meta.id
}

/// A school with five pupils, two of them named 张伟 (grade 3 class 1 and grade 4 class 1).
pub fn school(tmp: &TempRegister, actor: &Actor) -> Register {
    let mut reg = Register::open(&tmp.db).unwrap();
    reg.init_site(
        NewSite {
            kind: SiteKind::County,
            name: "测试县教育局".into(),
            region_code: "410423".into(),
            school_code: None,
        },
        actor,
    )
    .unwrap();
    let mut w = reg.writer(actor).unwrap();
    let s = School {
        meta: w.new_meta(),
        code: SCHOOL.into(),
        name: "城关镇第二小学".into(),
        kind: "primary".into(),
        township_code: Some(TOWNSHIP.into()),
    };
    store::schools::put(w.conn(), &s).unwrap();
    pupil(
        &mut w,
        "王小明",
        "2017-03-05",
        Some(wang_id()),
        None,
        3,
        "2班",
    );
    pupil(
        &mut w,
        "李小红",
        "2017-04-06",
        Some(li_id()),
        Some(format!("G{}", li_id())),
        3,
        "2班",
    );
    pupil(&mut w, "张伟", "2017-01-01", None, None, 3, "1班");
    pupil(&mut w, "张伟", "2016-01-01", None, None, 4, "1班");
    pupil(
        &mut w,
        "赵敏",
        "2017-05-07",
        Some(zhao_id()),
        None,
        3,
        "2班",
    );
    w.commit().unwrap();
    reg
}

enum C<'a> {
    S(&'a str),
    N(f64),
}

fn write_xlsx(path: &Path, rows: &[Vec<C<'_>>]) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let bold = Format::new().set_bold();
    ws.merge_range(0, 0, 0, 7, "城关镇第二小学2026年10月学生考勤登记表", &bold)
        .unwrap();
    ws.write_string(1, 0, "填报单位：（盖章）").unwrap();
    for (i, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            match v {
                C::S("") => {}
                C::S(s) => {
                    ws.write_string(2 + i as u32, c as u16, *s).unwrap();
                }
                C::N(n) => {
                    ws.write_number(2 + i as u32, c as u16, *n).unwrap();
                }
            }
        }
    }
    wb.save(path).unwrap();
}

fn refused(v: &[baoxue::import::RowIssue]) -> Vec<(u32, String)> {
    v.iter().map(|i| (i.row, i.code.clone())).collect()
}

#[test]
fn long_sheet_imports_refuses_rows_with_reasons_and_reimport_changes_nothing() {
    let tmp = TempRegister::new();
    let actor = at("2026-10-31T09:00:00+08:00");
    let mut reg = school(&tmp, &actor);
    // National Day week off; Saturday 10-10 is a make-up school day (调休).
    Settings::set(
        reg.conn(),
        "holidays",
        r#"["2026-10-01","2026-10-02","2026-10-03","2026-10-04","2026-10-05","2026-10-06","2026-10-07"]"#,
    )
    .unwrap();
    Settings::set(reg.conn(), "extra_school_days", r#"["2026-10-10"]"#).unwrap();
    let (wang, li, zhao) = (wang_id(), li_id(), zhao_id());
    let g_li = format!("G{li}");
    use C::{N, S};
    let rows = vec![
        // Excel row 3: the header.
        vec![
            S("序号"),
            S("考勤日期"),
            S("学生姓名"),
            S("身份证号码"),
            S("全国学籍号"),
            S("班级"),
            S("出勤情况"),
            S("备注"),
        ],
        // Rows 4-8: 王小明 absent five school days in a row (10-10 is a make-up day).
        vec![
            S("1"),
            S("2026-10-08"),
            S("王小明"),
            S(&wang),
            S(""),
            S("三年级2班"),
            S("缺勤"),
            S(""),
        ],
        vec![
            S("2"),
            S("2026-10-09"),
            S("王 小 明"),
            S(&wang),
            S(""),
            S(""),
            S("旷课"),
            S(""),
        ],
        vec![
            S("3"),
            S("2026-10-10"),
            S("王小明"),
            S(&wang),
            S(""),
            S(""),
            S("×"),
            S(""),
        ],
        vec![
            S("4"),
            S("2026.10.12"),
            S("王小明"),
            S(&wang),
            S(""),
            S(""),
            S("缺勤"),
            S(""),
        ],
        vec![
            S("5"),
            S("2026年10月13日"),
            S("王小明"),
            S(&wang),
            S(""),
            S(""),
            S("缺勤"),
            S("家长未联系"),
        ],
        // Row 9: only a G-form 学籍号. Row 10: a shared name told apart by the class.
        vec![
            S("6"),
            S("2026-10-13"),
            S("李小红"),
            S(""),
            S(&g_li),
            S(""),
            S("病假"),
            S("发烧"),
        ],
        vec![
            S("7"),
            S("2026-10-13"),
            S("张伟"),
            S(""),
            S(""),
            S("三年级1班"),
            S("出勤"),
            S(""),
        ],
        // Rows 11-16: refused.
        vec![
            S("8"),
            S("2026-10-13"),
            S("张伟"),
            S(""),
            S(""),
            S(""),
            S("出勤"),
            S(""),
        ],
        vec![
            S("9"),
            S("2026-10-13"),
            S("查无此人"),
            S(""),
            S(""),
            S(""),
            S("出勤"),
            S(""),
        ],
        vec![
            S("10"),
            S("2026-10-03"),
            S("赵敏"),
            S(&zhao),
            S(""),
            S(""),
            S("出勤"),
            S(""),
        ],
        vec![
            S("11"),
            S("2026-10-13"),
            S("赵敏"),
            S(&zhao),
            S(""),
            S(""),
            S("也许"),
            S(""),
        ],
        vec![
            S("12"),
            S("2026-10-12"),
            S("赵敏"),
            N(4.10423201705e17),
            S(""),
            S(""),
            S("出勤"),
            S(""),
        ],
        vec![
            S("13"),
            S("2026-10-12"),
            S("王小明"),
            S(&wang),
            S(""),
            S(""),
            S("出勤"),
            S(""),
        ],
        vec![S("合计：13条")],
    ];
    let file = tmp.path("考勤10月.xlsx");
    write_xlsx(&file, &rows);
    let opts = AttendanceImport {
        school_code: SCHOOL.into(),
        ..Default::default()
    };

    // A dry run reports and writes nothing.
    let dry = import_attendance(
        &mut reg,
        &file,
        &AttendanceImport {
            dry_run: true,
            ..opts.clone()
        },
        &actor,
    )
    .unwrap();
    assert_eq!(dry.report.report.inserted, 7);
    let n: i64 = reg
        .conn()
        .query_row("SELECT COUNT(*) FROM attendance", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);

    let out = import_attendance(&mut reg, &file, &opts, &actor).unwrap();
    let r = &out.report;
    assert_eq!(r.layout, "long");
    assert_eq!(r.report.header_row, 3);
    assert_eq!(r.report.rows_read, 13);
    assert_eq!(
        refused(&r.report.refused),
        vec![
            (11, "ambiguous_name".to_string()),
            (12, "not_on_roll".to_string()),
            (13, "date".to_string()),
            (14, "status".to_string()),
            (15, "id_excel_precision".to_string()),
            (16, "duplicate_conflict".to_string()),
        ]
    );
    let msg = |row: u32| {
        r.report
            .refused
            .iter()
            .find(|i| i.row == row)
            .unwrap()
            .message
            .clone()
    };
    assert!(msg(11).contains("本校有2名在读学生叫“张伟”"), "{}", msg(11));
    assert!(msg(12).contains("没有“查无此人”"), "{}", msg(12));
    assert!(msg(13).contains("不是上课日"), "{}", msg(13));
    assert!(msg(14).contains("出勤情况“也许”无法识别"), "{}", msg(14));
    assert!(msg(15).contains("Excel"), "{}", msg(15));
    assert!(msg(16).contains("与第7行不同"), "{}", msg(16));
    assert_eq!(out.refused_rows.len(), 6);
    assert_eq!(
        (r.report.inserted, r.report.updated, r.report.unchanged),
        (7, 0, 0)
    );
    assert_eq!((r.present, r.absent, r.leave), (1, 5, 1));
    assert_eq!(r.first_day.as_deref(), Some("2026-10-08"));
    assert_eq!(r.last_day.as_deref(), Some("2026-10-13"));

    // The errors-out file of the shared import code holds the refused rows with their numbers.
    let errs = tmp.path("拒收行.xlsx");
    baoxue::import::errors_out::write(&errs, &out.header_labels, &out.refused_rows).unwrap();
    assert!(errs.metadata().unwrap().len() > 0);

    // The same file again: nothing new, nothing changed.
    let again = import_attendance(&mut reg, &file, &opts, &actor).unwrap();
    assert_eq!(
        (
            again.report.report.inserted,
            again.report.report.updated,
            again.report.report.unchanged
        ),
        (0, 0, 7)
    );
    let n: i64 = reg
        .conn()
        .query_row("SELECT COUNT(*) FROM attendance", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 7);

    // 王小明 crossed the 疑似辍学 threshold (5 school days) on 10-13, since 10-08.
    let settings = Settings::load(reg.conn()).unwrap();
    let list =
        attendance::warnings(reg.conn(), &settings, day("2026-10-13"), Some(SCHOOL)).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let x = &list[0];
    assert_eq!(
        (
            x.name.as_str(),
            x.since.as_str(),
            x.through.as_str(),
            x.days,
            x.level.as_str(),
            x.township_code.as_deref()
        ),
        (
            "王小明",
            "2026-10-08",
            "2026-10-13",
            5,
            "suspected",
            Some(TOWNSHIP)
        )
    );
    // The leave note was kept on the mark.
    let marks =
        store::attendance::list_between(reg.conn(), Some(SCHOOL), "2026-10-13", "2026-10-13")
            .unwrap();
    assert!(marks
        .iter()
        .any(|m| m.status == "leave" && m.note.as_deref() == Some("发烧")));
}

/// The last day of the month before `today`'s, and that month's first day.
fn last_month(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first_this = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
    let last = first_this.pred_opt().unwrap();
    (
        NaiveDate::from_ymd_opt(last.year(), last.month(), 1).unwrap(),
        last,
    )
}

#[test]
fn wide_gbk_csv_month_sheet_through_the_cli_then_warnings_per_school_and_township() {
    let tmp = TempRegister::new();
    let setup = at("2026-09-01T08:00:00+08:00");
    drop(school(&tmp, &setup));
    // The CLI reads the clock: the sheet is last month's.
    let (first, last) = last_month(chrono::Local::now().date_naive());
    let cal = Calendar::from_settings(&Settings::default());
    let days = cal.school_days(first, last);
    let run_start = days[days.len() - 6];
    let weekend = first
        .iter_days()
        .take_while(|d| *d <= last)
        .find(|d| !cal.is_school_day(*d))
        .unwrap();
    let mut header = vec![
        "序号".to_string(),
        "姓名".into(),
        "学籍号".into(),
        "班级".into(),
    ];
    header.extend((1..=31).map(|d| d.to_string()));
    header.push("出勤天数".into());
    let mut weekdays = vec![
        "星期".to_string(),
        String::new(),
        String::new(),
        String::new(),
    ];
    weekdays.extend((1..=31).map(|d| {
        NaiveDate::from_ymd_opt(first.year(), first.month(), d)
            .map(|x| {
                ["一", "二", "三", "四", "五", "六", "日"]
                    [x.weekday().num_days_from_monday() as usize]
                    .to_string()
            })
            .unwrap_or_default()
    }));
    let line =
        |no: &str, name: &str, sno: &str, class: &str, mark: &dyn Fn(NaiveDate) -> &'static str| {
            let mut v = vec![no.to_string(), name.into(), sno.into(), class.into()];
            for d in 1..=31 {
                let cell = match NaiveDate::from_ymd_opt(first.year(), first.month(), d) {
                    Some(x) if cal.is_school_day(x) => mark(x),
                    Some(x) if x == weekend && name == "赵敏" => "√",
                    _ => "",
                };
                v.push(cell.to_string());
            }
            v.push(String::new());
            v.join(",")
        };
    let g_li = format!("G{}", li_id());
    let mut text = format!("{}年{}月学生考勤表\n", first.year(), first.month());
    text.push_str(&header.join(","));
    text.push('\n');
    text.push_str(&weekdays.join(","));
    text.push('\n');
    // Row 4: 王小明 present, then absent the last six school days.
    text.push_str(&line("1", "王小明", "", "三年级2班", &|x| {
        if x >= run_start {
            "×"
        } else {
            "√"
        }
    }));
    text.push('\n');
    // Row 5: 李小红 by her G-form 学籍号, one day on leave.
    text.push_str(&line("2", "李小红", &g_li, "三年级2班", &|x| {
        if x == days[2] {
            "假"
        } else {
            "√"
        }
    }));
    text.push('\n');
    // Row 6: 张伟 of grade 4 told apart by the class.
    text.push_str(&line("3", "张伟", "", "四年级1班", &|_| "√"));
    text.push('\n');
    // Row 7: a mark nobody can read: refused with its row number.
    text.push_str(&line("4", "张伟", "", "三年级1班", &|x| {
        if x == days[0] {
            "?"
        } else {
            "√"
        }
    }));
    text.push('\n');
    // Row 8: 赵敏, with a mark on a weekend day (ignored, with a warning).
    text.push_str(&line("5", "赵敏", "", "", &|_| "√"));
    text.push('\n');
    let (bytes, _, _) = encoding_rs::GBK.encode(&text);
    let file = tmp.path("月考勤.csv");
    std::fs::write(&file, &bytes).unwrap();
    let marks_expected = (days.len() * 4) as u64;

    let json = |args: &[&str]| -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&tmp.ok(&a)).unwrap()
    };
    let f = file.to_str().unwrap();
    let dry = json(&["attendance", "import", f, "--school", SCHOOL, "--dry-run"]);
    assert_eq!(dry["inserted"], marks_expected);
    let errs = tmp.path("拒收.xlsx");
    let v = json(&[
        "attendance",
        "import",
        f,
        "--school",
        SCHOOL,
        "--errors-out",
        errs.to_str().unwrap(),
    ]);
    assert_eq!(v["layout"], "wide");
    assert_eq!(v["month"], first.format("%Y-%m").to_string());
    assert_eq!(v["rows_read"], 5, "{v}");
    assert_eq!(v["inserted"], marks_expected, "{v}");
    assert_eq!(v["absent"], 6);
    assert_eq!(v["leave"], 1);
    let refused = v["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{v}");
    assert_eq!(refused[0]["row"], 7);
    assert!(refused[0]["message"]
        .as_str()
        .unwrap()
        .contains("考勤标记“?”无法识别"));
    assert!(v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["row"] == 8 && w["code"] == "not_school_day"));
    assert!(errs.exists());

    // Again: nothing changes.
    let v = json(&["attendance", "import", f, "--school", SCHOOL]);
    assert_eq!(
        (
            v["inserted"].clone(),
            v["updated"].clone(),
            v["unchanged"].clone()
        ),
        (Value::from(0), Value::from(0), Value::from(marks_expected))
    );

    // The warnings list of the school and of its township shows 王小明 since the run's first day.
    let as_of = last.to_string();
    for filter in [["--school", SCHOOL], ["--township", TOWNSHIP]] {
        let w = json(&["warnings", filter[0], filter[1], "--as-of", &as_of]);
        let list = w["warnings"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{w}");
        assert_eq!(list[0]["name"], "王小明");
        assert_eq!(list[0]["since"], run_start.to_string());
        assert_eq!(list[0]["days"], 6);
        assert_eq!(list[0]["level_name"], "疑似辍学");
    }
    let w = json(&["warnings", "--township", "410423200", "--as-of", &as_of]);
    assert!(w["warnings"].as_array().unwrap().is_empty());
    let text = tmp.ok(&["warnings", "--school", SCHOOL, "--as-of", &as_of]);
    assert!(
        text.contains(&format!("自 {run_start} 起连续 6 个上课日")),
        "{text}"
    );
}

#[test]
fn a_wide_sheet_without_a_month_is_refused_in_chinese() {
    let tmp = TempRegister::new();
    drop(school(&tmp, &at("2026-09-01T08:00:00+08:00")));
    let mut text = String::from("姓名,1,2,3\n王小明,√,√,×\n");
    text.push_str("赵敏,√,√,√\n");
    let file = tmp.path("无月份.csv");
    std::fs::write(&file, text).unwrap();
    let out = tmp.run(&[
        "attendance",
        "import",
        file.to_str().unwrap(),
        "--school",
        SCHOOL,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--month"));
    // An unknown school is refused before anything is read.
    let out = tmp.run(&[
        "attendance",
        "import",
        file.to_str().unwrap(),
        "--school",
        "9999",
    ]);
    assert!(!out.status.success());
}

#[test]
fn a_rejected_probable_match_is_stored_audited_and_never_proposed_again() {
    let c = county();
    let settings = Settings::load(c.reg.conn()).unwrap();
    let r = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    let m = r.to_confirm.iter().find(|m| m.name == "周无证").unwrap();
    let child = m.child_id.clone().unwrap();
    let pupil = m.candidates[0].child_id.clone();
    let before = r.suspected.len();
    // The text listing tells the clerk both commands, with the record numbers.
    let text = c.tmp.ok(&["crosscheck", "--as-of", "2026-09-15"]);
    assert!(
        text.contains(&format!("baoxue crosscheck reject {child} --pupil {pupil}")),
        "{text}"
    );

    let v: Value = serde_json::from_str(&c.tmp.ok(&[
        "--json",
        "crosscheck",
        "reject",
        &child,
        "--pupil",
        &pupil,
        "--reason",
        "入户核实：同名同生日，但不是同一人",
    ]))
    .unwrap();
    assert_eq!(v["stored"], true);
    let r = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    assert!(!r.to_confirm.iter().any(|m| m.name == "周无证"));
    // Without a match the child is listed as suspected, the reason saying why.
    let s = r.suspected.iter().find(|s| s.name == "周无证").unwrap();
    assert_eq!(s.category, "not_enrolled");
    assert!(s.reason.contains("已核实不是同一人"), "{}", s.reason);
    assert_eq!(r.suspected.len(), before + 1);

    // Stored with who and why (a `different` person link, which travels), and audited.
    let list = store::person_links::list_for_child(c.reg.conn(), &child).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].decision, "different");
    assert!([&list[0].child_id, &list[0].other_child_id].contains(&&pupil));
    assert_eq!(list[0].decided_by, "测试员");
    assert_eq!(list[0].reason, "入户核实：同名同生日，但不是同一人");
    let n: i64 = c
        .reg
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'reject_match'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    // Rejecting again changes nothing; an unknown record is refused in Chinese.
    let v: Value = serde_json::from_str(&c.tmp.ok(&[
        "--json",
        "crosscheck",
        "reject",
        &child,
        "--pupil",
        &pupil,
    ]))
    .unwrap();
    assert_eq!(v["stored"], false);
    let out = c
        .tmp
        .run(&["crosscheck", "reject", &child, "--pupil", "no-such-record"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("未找到"));
}

#[test]
fn daily_entry_for_a_class_through_the_cli_marks_everyone_else_present() {
    let tmp = TempRegister::new();
    drop(school(&tmp, &at("2026-09-01T08:00:00+08:00")));
    // Monday 2026-10-12: grade 3 class 2 has 王小明, 李小红 and 赵敏.
    let v: Value = serde_json::from_str(&tmp.ok(&[
        "--json",
        "attendance",
        "record",
        "--school",
        SCHOOL,
        "--date",
        "2026-10-12",
        "--grade",
        "三年级",
        "--class",
        "2班",
        "--absent",
        "王小明",
        "--leave",
        &format!("G{}", li_id()),
    ]))
    .unwrap();
    assert_eq!(
        (
            v["pupils"].clone(),
            v["present"].clone(),
            v["absent"].clone(),
            v["leave"].clone(),
            v["changed"].clone()
        ),
        (
            Value::from(3),
            Value::from(1),
            Value::from(1),
            Value::from(1),
            Value::from(3)
        )
    );
    // The same entry again changes nothing; a Sunday is refused in Chinese.
    let v: Value = serde_json::from_str(&tmp.ok(&[
        "--json",
        "attendance",
        "record",
        "--school",
        SCHOOL,
        "--date",
        "2026-10-12",
        "--grade",
        "3",
        "--class",
        "2班",
        "--absent",
        "王小明",
        "--leave",
        "李小红",
    ]))
    .unwrap();
    assert_eq!(v["changed"], 0);
    let out = tmp.run(&[
        "attendance",
        "record",
        "--school",
        SCHOOL,
        "--date",
        "2026-10-11",
        "--absent",
        "王小明",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("不是上课日"));
    // Two pupils called 张伟 in the school: a name alone is refused, asking for the 学籍号.
    let out = tmp.run(&[
        "attendance",
        "record",
        "--school",
        SCHOOL,
        "--date",
        "2026-10-12",
        "--absent",
        "张伟",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("请改用学籍号"));
}

#[test]
fn wide_xlsx_with_number_day_headers_takes_the_month_from_the_title() {
    let tmp = TempRegister::new();
    let actor = at("2026-10-08T09:00:00+08:00");
    let mut reg = school(&tmp, &actor);
    // September 2026 has 30 days: a mark under 31 is ignored with a warning.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("9月").unwrap();
    ws.merge_range(
        0,
        0,
        0,
        10,
        "城关镇第二小学 2026年9月 三年级2班考勤表",
        &Format::new(),
    )
    .unwrap();
    ws.write_string(1, 0, "序号").unwrap();
    ws.write_string(1, 1, "学生姓名").unwrap();
    for d in 1..=31u16 {
        ws.write_number(1, 1 + d, f64::from(d)).unwrap();
    }
    ws.write_string(1, 33, "缺勤天数").unwrap();
    let cal = Calendar::from_settings(&Settings::default());
    let first = day("2026-09-01");
    let school_days = cal.school_days(first, day("2026-09-30"));
    for (r, name) in ["王小明", "赵敏"].iter().enumerate() {
        let row = 2 + r as u32;
        ws.write_number(row, 0, r as f64 + 1.0).unwrap();
        ws.write_string(row, 1, *name).unwrap();
        for d in &school_days {
            let mark = if *name == "王小明" && d.day() >= 24 {
                "旷"
            } else {
                "√"
            };
            ws.write_string(row, 1 + d.day() as u16, mark).unwrap();
        }
        ws.write_string(row, 32, "√").unwrap();
    }
    let file = tmp.path("九月.xlsx");
    wb.save(&file).unwrap();
    let out = import_attendance(
        &mut reg,
        &file,
        &AttendanceImport {
            school_code: SCHOOL.into(),
            ..Default::default()
        },
        &actor,
    )
    .unwrap();
    let r = &out.report;
    assert_eq!(r.layout, "wide");
    assert_eq!(r.month.as_deref(), Some("2026-09"));
    assert_eq!(r.report.header_row, 2);
    assert!(r.report.refused.is_empty(), "{:?}", r.report.refused);
    assert_eq!(r.marks, 2 * school_days.len() as u64);
    // 24, 25, 28, 29, 30 September: five school days.
    assert_eq!(r.absent, 5);
    let no_31: Vec<u32> = r
        .report
        .warnings
        .iter()
        .filter(|w| w.code == "no_such_day")
        .map(|w| w.row)
        .collect();
    assert_eq!(no_31, vec![3, 4]);
    let settings = Settings::load(reg.conn()).unwrap();
    let list =
        attendance::warnings(reg.conn(), &settings, day("2026-09-30"), Some(SCHOOL)).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].since.as_str(), list[0].days), ("2026-09-24", 5));
}

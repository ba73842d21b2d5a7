//! The case-work screens' core: lists (cases with filters and what each needs, verification tasks,
//! attendance entry sheet and warnings, 首页 counts) and any list exported as .xlsx / CSV with BOM
//! into a folder without overwriting, masked unless full (audited). On the demo county.

use crate::util::find_personal_number;
use baoxue::attendance::{self, ClassDay};
use baoxue::listexport::{self, Format, ListKind};
use baoxue::settings::Settings;
use baoxue::verification::{self, Finding};
use baoxue::worklists::{self, CaseFilter};
use baoxue::{cases, Actor, Register};
use calamine::{Reader, Xlsx};
use chrono::NaiveDate;

/// No ID number, also none inside a G-form 学籍号 (`G` + the ID).
fn no_numbers(text: &str) -> bool {
    find_personal_number(text).is_none()
        && !text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
            w.len() == 19 && w.starts_with('G') && w[1..18].bytes().all(|b| b.is_ascii_digit())
        })
}

fn actor() -> Actor {
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00+08:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    Actor::new("测试员", now)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn demo() -> Register {
    let mut reg = Register::open_in_memory().unwrap();
    baoxue::demo::load_demo(&mut reg, &actor()).unwrap();
    reg
}

fn audit_full(reg: &Register) -> i64 {
    reg.conn()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export_full'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn case_list_filters_and_says_what_each_case_needs() {
    let reg = demo();
    let all = worklists::case_rows(reg.conn(), &CaseFilter::default(), today()).unwrap();
    let stored = baoxue::store::cases::list(reg.conn(), None).unwrap();
    assert_eq!(all.len(), stored.len());
    assert!(!all.is_empty());
    for c in &all {
        assert!(!c.name.is_empty());
        assert!(c.township_code.as_deref().is_some_and(|t| t.len() == 9));
        assert!(!c.township_name.is_empty(), "乡镇名称应查到：{c:?}");
        if let Some(id) = &c.id_masked {
            assert!(id.contains("********"));
        }
        // What the list says a case needs follows its state.
        match c.state.as_str() {
            "confirmed" | "suspected" => assert!(c.action.is_some()),
            "closed" => assert!(c.action.is_none()),
            _ => {}
        }
    }
    // Serialised for the screen, no full number.
    let json = serde_json::to_string(&all).unwrap();
    assert_eq!(find_personal_number(&json), None);

    let persuading = worklists::case_rows(
        reg.conn(),
        &CaseFilter {
            state: Some("劝返中".into()),
            ..Default::default()
        },
        today(),
    )
    .unwrap();
    assert_eq!(
        persuading.len(),
        stored.iter().filter(|c| c.state == "persuading").count()
    );
    assert!(persuading.iter().all(|c| c.state == "persuading"));

    let town = all[0].township_code.clone().unwrap();
    let in_town = worklists::case_rows(
        reg.conn(),
        &CaseFilter {
            township: Some(town.clone()),
            ..Default::default()
        },
        today(),
    )
    .unwrap();
    assert_eq!(
        in_town.len(),
        all.iter()
            .filter(|c| c.township_code.as_deref() == Some(&town))
            .count()
    );
    let need = worklists::case_rows(
        reg.conn(),
        &CaseFilter {
            needs_action: true,
            ..Default::default()
        },
        today(),
    )
    .unwrap();
    assert_eq!(
        need.len(),
        all.iter().filter(|c| c.action.is_some()).count()
    );
    let home = worklists::home_counts(reg.conn(), &Settings::default(), today()).unwrap();
    assert_eq!(home.cases_need_action, need.len());
    assert_eq!(
        home.cases_open,
        all.iter().filter(|c| c.state != "closed").count()
    );
}

#[test]
fn a_confirmed_dropout_from_a_home_visit_opens_a_case_that_runs_to_closing() {
    let mut reg = demo();
    let a = actor();
    let created = verification::create_from_crosscheck(&mut reg, today(), &a).unwrap();
    assert!(created.created > 0);
    let tasks = worklists::task_rows(reg.conn(), None, Some("open")).unwrap();
    assert_eq!(tasks.len(), created.created);
    assert!(tasks
        .iter()
        .all(|t| !t.area_name.is_empty() && !t.name.is_empty()));
    assert_eq!(
        find_personal_number(&serde_json::to_string(&tasks).unwrap()),
        None
    );
    let t = &tasks[0];
    let before = worklists::case_rows(reg.conn(), &CaseFilter::default(), today())
        .unwrap()
        .len();
    let r = verification::record(
        &mut reg,
        &t.task_id,
        Finding {
            finding: "确认失学辍学".into(),
            detail: None,
            found_on: "2026-11-20".into(),
            found_by: "村干部李华".into(),
        },
        &a,
    )
    .unwrap();
    assert!(r.case_opened);
    let case_id = r.case_id.unwrap();
    let rows = worklists::case_rows(reg.conn(), &CaseFilter::default(), today()).unwrap();
    assert_eq!(rows.len(), before + 1);
    let row = rows.iter().find(|c| c.case_id == case_id).unwrap();
    assert_eq!(row.state_name, "已确认辍学");
    assert_eq!(row.child_id, t.child_id);
    assert!(row.action.is_some());
    let done = worklists::task_rows(reg.conn(), None, Some("done")).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].finding_name, "确认失学辍学");

    // The case file says what may be done now; the screen offers only that.
    let f = cases::case_file(reg.conn(), &case_id).unwrap();
    assert_eq!(f.next_states, vec!["persuading", "closed"]);
    assert!(f.attempt_allowed && f.notice_allowed);
    let closed = cases::transition(
        &mut reg,
        &case_id,
        cases::Transition {
            to: "closed".into(),
            on_date: "2026-11-22".into(),
            reason: Some("核实为重复登记".into()),
            approver: Some("王局长".into()),
            ..Default::default()
        },
        &a,
    )
    .unwrap();
    assert_eq!(closed.state, "closed");
    let f = cases::case_file(reg.conn(), &case_id).unwrap();
    assert!(f.next_states.is_empty() && !f.attempt_allowed && !f.notice_allowed);
    let row = worklists::case_rows(
        reg.conn(),
        &CaseFilter {
            state: Some("closed".into()),
            ..Default::default()
        },
        today(),
    )
    .unwrap();
    assert!(row
        .iter()
        .any(|c| c.case_id == case_id && c.action.is_none()));
}

#[test]
fn attendance_sheet_shows_the_class_and_what_was_recorded_and_warnings_follow() {
    let mut reg = demo();
    let a = actor();
    let school = baoxue::store::schools::list(reg.conn()).unwrap()[0]
        .code
        .clone();
    let classes = attendance::classes(reg.conn(), &school).unwrap();
    assert!(!classes.is_empty());
    let c = &classes[0];
    let sheet = attendance::class_sheet(
        reg.conn(),
        &school,
        c.grade,
        c.class_name.as_deref(),
        "2026-11-20",
    )
    .unwrap();
    assert_eq!(sheet.len(), c.pupils);
    assert!(sheet.iter().all(|p| p.status == "present" && !p.recorded));
    assert!(no_numbers(&serde_json::to_string(&sheet).unwrap()));
    assert!(sheet.iter().any(|p| p
        .student_no
        .as_deref()
        .is_some_and(|n| n.contains("********"))));
    let who = sheet[0].child_id.clone();
    // Absent (by record id) for six school days: 疑似辍学 on the list.
    for day in [
        "2026-11-13",
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    ] {
        attendance::record_day(
            &mut reg,
            &ClassDay {
                school_code: school.clone(),
                grade: c.grade,
                class_name: c.class_name.clone(),
                date: day.into(),
                absent: vec![who.clone()],
                leave: vec![sheet[1].child_id.clone()],
            },
            &a,
        )
        .unwrap();
    }
    let sheet = attendance::class_sheet(
        reg.conn(),
        &school,
        c.grade,
        c.class_name.as_deref(),
        "2026-11-20",
    )
    .unwrap();
    assert!(sheet.iter().all(|p| p.recorded));
    assert_eq!(sheet[0].status, "absent");
    assert_eq!(sheet[1].status, "leave");
    assert_eq!(sheet[2].status, "present");

    let settings = Settings::load(reg.conn()).unwrap();
    let w = worklists::warning_rows(reg.conn(), &settings, today(), None).unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].warning.child_id, who);
    assert_eq!(w[0].warning.days, 6);
    assert_eq!(w[0].warning.since, "2026-11-13");
    assert_eq!(w[0].warning.level_name, "疑似辍学");
    assert!(!w[0].school_name.is_empty());
    assert_eq!(
        find_personal_number(&serde_json::to_string(&w).unwrap()),
        None
    );
    let home = worklists::home_counts(reg.conn(), &settings, today()).unwrap();
    assert_eq!(home.warnings, 1);
}

#[test]
fn any_list_exports_as_xlsx_and_csv_without_overwriting_masked_unless_full() {
    let mut reg = demo();
    let a = actor();
    let dir = tempfile::tempdir().unwrap();
    let kinds = [
        ListKind::Suspected,
        ListKind::Cases {
            filter: CaseFilter::default(),
        },
        ListKind::Roster {
            search: None,
            area: None,
        },
        ListKind::Warnings { school: None },
        ListKind::Drill {
            metric: "net_enrolment".into(),
            by: "county".into(),
            key: "county".into(),
        },
    ];
    for kind in &kinds {
        let x =
            listexport::save(&mut reg, kind, today(), Format::Xlsx, false, dir.path(), &a).unwrap();
        let c =
            listexport::save(&mut reg, kind, today(), Format::Csv, false, dir.path(), &a).unwrap();
        assert!(x.path.ends_with(".xlsx") && c.path.ends_with(".csv"));
        assert_eq!(x.rows, c.rows);
        let bytes = std::fs::read(&c.path).unwrap();
        assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF], "CSV 应以 BOM 开头");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(text.lines().count(), c.rows + 1);
        assert_eq!(
            find_personal_number(&text),
            None,
            "{kind:?} 的 CSV 应隐去号码"
        );
        let mut wb: Xlsx<_> = calamine::open_workbook(&x.path).unwrap();
        let range = wb.worksheet_range("名单").unwrap();
        assert_eq!(range.height(), x.rows + 3);
        let all: String = range.rows().flatten().map(|c| c.to_string()).collect();
        assert!(no_numbers(&all));
    }
    let suspected_rows = listexport::build(&reg, &ListKind::Suspected, today(), false)
        .unwrap()
        .rows
        .len();
    assert!(suspected_rows > 0);

    // Again: a new name, the first file untouched.
    let first = dir
        .path()
        .join(format!("疑似失学辍学名单_{}.xlsx", today()));
    let first_bytes = std::fs::read(&first).unwrap();
    let again = listexport::save(
        &mut reg,
        &ListKind::Suspected,
        today(),
        Format::Xlsx,
        false,
        dir.path(),
        &a,
    )
    .unwrap();
    assert!(again
        .path
        .ends_with(&format!("疑似失学辍学名单_{}(2).xlsx", today())));
    assert_eq!(std::fs::read(&first).unwrap(), first_bytes);

    // Full numbers only when asked, and audited.
    assert_eq!(audit_full(&reg), 0);
    let full = listexport::save(
        &mut reg,
        &ListKind::Suspected,
        today(),
        Format::Csv,
        true,
        dir.path(),
        &a,
    )
    .unwrap();
    assert!(full.path.ends_with("(2).csv"));
    let text = std::fs::read_to_string(&full.path).unwrap();
    assert!(
        find_personal_number(&text).is_some(),
        "完整导出应含完整身份证号"
    );
    assert_eq!(audit_full(&reg), 1);
}

//! 一人一案: every legal and every illegal move of the case state machine, the rules on 延缓入学 /
//! 休学 / 复学 / 销号, the append-only history, the watch list, and the CLI.

use crate::util::{actor, id_number, TempRegister};
use baoxue::cases::{self, Attempt, NewCase, Transition, STATES};
use baoxue::domain::{Child, Enrolment, Household, School, SiteKind};
use baoxue::register::NewSite;
use baoxue::settings::Settings;
use baoxue::store;
use baoxue::Register;
use serde_json::Value;

const SCHOOL: &str = "2141042301";

/// A county register (in memory) with one school and one child who dropped out; returns the
/// register and the child's id.
fn one_child() -> (Register, String) {
    let a = actor();
    let mut reg = Register::open_in_memory().unwrap();
    reg.init_site(
        NewSite {
            kind: SiteKind::County,
            name: "测试县教育局".into(),
            region_code: "410423".into(),
            school_code: None,
        },
        &a,
    )
    .unwrap();
    let mut w = reg.writer(&a).unwrap();
    let s = School {
        meta: w.new_meta(),
        code: SCHOOL.into(),
        name: "城关镇初级中学".into(),
        kind: "junior".into(),
        township_code: Some("410423100".into()),
    };
    store::schools::put(w.conn(), &s).unwrap();
    let h = Household {
        meta: w.new_meta(),
        head_name: "马大山".into(),
        head_id_number: None,
        phone: None,
        address: None,
        village_code: "410423100201".into(),
        priority_groups: vec!["edge_poverty".into()],
        note: None,
    };
    store::households::put(w.conn(), &h).unwrap();
    let id = id_number("410423", "20120305", 31);
    let c = Child {
        meta: w.new_meta(),
        household_id: Some(h.meta.id.clone()),
        name: "马小军".into(),
        sex: None,
        birth_date: Some("2012-03-05".into()),
        id_number: Some(id.clone()),
        id_key: Some(id),
        student_no: None,
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
        student_no: None,
        grade: Some(8),
        class_name: Some("2班".into()),
        entry_date: None,
        status: "dropped_out".into(),
        status_date: Some("2026-09-01".into()),
        term: Some("2026秋".into()),
        note: None,
    };
    store::enrolments::put(w.conn(), &e).unwrap();
    w.commit().unwrap();
    (reg, c.meta.id)
}

/// A transition carrying every field any rule asks for.
fn full(to: &str, on: &str) -> Transition {
    Transition {
        to: to.into(),
        on_date: on.into(),
        note: Some("说明".into()),
        approver: Some("县教育局 张局长".into()),
        doc_no: Some("青教〔2026〕12号".into()),
        assessment: None,
        school: Some(SCHOOL.into()),
        placement: Some("插班".into()),
        reason: Some("已复学满一学期".into()),
    }
}

fn joint(on: &str) -> Attempt {
    Attempt {
        on_date: on.into(),
        participants: vec![
            "周老师（学校）".into(),
            "刘干部（乡镇）".into(),
            "陈主任（村）".into(),
        ],
        joint: true,
        method: "法律".into(),
        said: "讲解义务教育法，监护人须送适龄子女入学".into(),
        result: "家长表示考虑".into(),
    }
}

/// A case in the given state, reached by legal moves.
fn case_in(state: &str) -> (Register, String) {
    let (mut reg, child) = one_child();
    let a = actor();
    let first = if state == "suspected" || state == "closed" {
        "suspected"
    } else {
        "confirmed"
    };
    let c = cases::open(
        &mut reg,
        NewCase {
            child_id: child,
            state: Some(first.into()),
            reason: Some("厌学".into()),
            opened_on: Some("2026-09-02".into()),
            ..Default::default()
        },
        &a,
    )
    .unwrap();
    let id = c.meta.id.clone();
    let go = |reg: &mut Register, to: &str, on: &str| {
        cases::transition(reg, &id, full(to, on), &a).unwrap();
    };
    match state {
        "suspected" | "confirmed" => {}
        "closed" => go(&mut reg, "closed", "2026-09-03"),
        _ => {
            go(&mut reg, "persuading", "2026-09-03");
            if matches!(state, "deferred" | "suspended") {
                for d in ["2026-09-04", "2026-09-05", "2026-09-06"] {
                    cases::record_attempt(&mut reg, &id, joint(d), &a).unwrap();
                }
            }
            if state != "persuading" {
                go(&mut reg, state, "2026-09-07");
            }
        }
    }
    assert_eq!(
        store::cases::get(reg.conn(), &id).unwrap().unwrap().state,
        state
    );
    (reg, id)
}

#[test]
fn every_legal_move_succeeds_and_every_illegal_one_is_refused() {
    let a = actor();
    let legal: Vec<(&str, &str)> = vec![
        ("suspected", "confirmed"),
        ("suspected", "closed"),
        ("confirmed", "persuading"),
        ("confirmed", "closed"),
        ("persuading", "returned"),
        ("persuading", "placed"),
        ("persuading", "deferred"),
        ("persuading", "suspended"),
        ("persuading", "closed"),
        ("deferred", "persuading"),
        ("deferred", "returned"),
        ("deferred", "placed"),
        ("deferred", "closed"),
        ("suspended", "persuading"),
        ("suspended", "returned"),
        ("suspended", "placed"),
        ("suspended", "closed"),
        ("returned", "confirmed"),
        ("returned", "closed"),
        ("placed", "confirmed"),
        ("placed", "closed"),
    ];
    let mut checked = 0;
    for from in STATES {
        for to in STATES {
            let (mut reg, id) = case_in(from);
            let before = store::case_events::list_by_case(reg.conn(), &id).unwrap();
            let old = store::cases::get(reg.conn(), &id).unwrap().unwrap();
            // The attempts rule is tested on its own below: here an assessment stands in for it.
            let t = Transition {
                assessment: Some("青残评〔2026〕3号".into()),
                ..full(to, "2026-09-10")
            };
            let r = cases::transition(&mut reg, &id, t, &a);
            let after = store::case_events::list_by_case(reg.conn(), &id).unwrap();
            if legal.contains(&(*from, *to)) {
                let c = r.unwrap_or_else(|e| panic!("{from} → {to} refused: {e}"));
                assert_eq!(c.state, *to);
                assert_eq!(c.meta.prev_version.as_ref(), Some(&old.meta.version));
                assert_eq!(c.meta.edits, old.meta.edits + 1);
                // One event appended; the earlier ones unchanged.
                assert_eq!(after.len(), before.len() + 1);
                assert_eq!(&after[..before.len()], &before[..]);
                let last = after.last().unwrap();
                assert_eq!(
                    (last.from_state.as_deref(), last.to_state.as_deref()),
                    (Some(*from), Some(*to))
                );
            } else {
                let e = r.expect_err(&format!("{from} → {to} should be refused"));
                let msg = e.to_string();
                if *from == "closed" {
                    assert!(msg.contains("已销号"), "{msg}");
                } else {
                    assert!(msg.contains("不能从"), "{from} → {to}: {msg}");
                    assert!(msg.contains("只能变为"), "{msg}");
                }
                assert_eq!(e.code(), "invalid");
                assert_eq!(after, before, "a refused move writes nothing");
                assert_eq!(store::cases::get(reg.conn(), &id).unwrap().unwrap(), old);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 64);
    assert_eq!(legal.len(), 21);
}

#[test]
fn deferral_needs_joint_attempts_or_an_assessment_with_approver_and_document() {
    let a = actor();
    let (mut reg, id) = case_in("persuading");
    // Two joint attempts and a single one are not enough (setting: 3).
    cases::record_attempt(&mut reg, &id, joint("2026-09-04"), &a).unwrap();
    cases::record_attempt(&mut reg, &id, joint("2026-09-05"), &a).unwrap();
    let single = Attempt {
        joint: false,
        participants: vec!["周老师（学校）".into()],
        ..joint("2026-09-06")
    };
    cases::record_attempt(&mut reg, &id, single, &a).unwrap();
    assert_eq!(cases::joint_attempts(reg.conn(), &id).unwrap(), 2);
    let e = cases::transition(&mut reg, &id, full("延缓入学", "2026-09-07"), &a).unwrap_err();
    assert!(
        e.to_string()
            .contains("至少3次联合劝返之后（本个案已有2次）"),
        "{e}"
    );
    // The county may require fewer.
    Settings::set(reg.conn(), "joint_attempts_required", "2").unwrap();
    let no_approver = Transition {
        approver: None,
        ..full("deferred", "2026-09-07")
    };
    let e = cases::transition(&mut reg, &id, no_approver, &a).unwrap_err();
    assert!(e.to_string().contains("审批人"), "{e}");
    let no_doc = Transition {
        doc_no: Some("  ".into()),
        ..full("deferred", "2026-09-07")
    };
    let e = cases::transition(&mut reg, &id, no_doc, &a).unwrap_err();
    assert!(e.to_string().contains("批准文号"), "{e}");
    let c = cases::transition(&mut reg, &id, full("deferred", "2026-09-07"), &a).unwrap();
    assert_eq!(c.state, "deferred");
    let ev = store::case_events::list_by_case(reg.conn(), &id).unwrap();
    let p: Value = serde_json::from_str(&ev.last().unwrap().payload).unwrap();
    assert_eq!(p["approver"], "县教育局 张局长");
    assert_eq!(p["doc_no"], "青教〔2026〕12号");

    // A disability assessment replaces the attempts.
    let (mut reg, id) = case_in("persuading");
    let e = cases::transition(&mut reg, &id, full("suspended", "2026-09-07"), &a).unwrap_err();
    assert!(e.to_string().contains("残疾评估"), "{e}");
    let with = Transition {
        assessment: Some("青残评〔2026〕3号".into()),
        ..full("休学", "2026-09-07")
    };
    assert_eq!(
        cases::transition(&mut reg, &id, with, &a).unwrap().state,
        "suspended"
    );
}

#[test]
fn return_needs_school_and_placement_and_puts_the_pupil_on_the_watch_list() {
    let a = actor();
    let (mut reg, id) = case_in("persuading");
    for (t, words) in [
        (
            Transition {
                school: None,
                ..full("returned", "2026-09-08")
            },
            "复学学校",
        ),
        (
            Transition {
                placement: None,
                ..full("returned", "2026-09-08")
            },
            "安置方式",
        ),
        (
            Transition {
                school: Some("9999".into()),
                ..full("returned", "2026-09-08")
            },
            "未登记",
        ),
        (
            Transition {
                placement: Some("回家".into()),
                ..full("returned", "2026-09-08")
            },
            "不在代码表",
        ),
        (full("returned", "2026-09-01"), "早于"),
        (full("returned", "2026-12-01"), "还没到"),
    ] {
        let e = cases::transition(&mut reg, &id, t, &a).unwrap_err();
        assert!(e.to_string().contains(words), "{words}: {e}");
    }
    // 安置 needs the placement only.
    let (mut reg2, id2) = case_in("persuading");
    let e = cases::transition(
        &mut reg2,
        &id2,
        Transition {
            placement: None,
            ..full("placed", "2026-09-08")
        },
        &a,
    )
    .unwrap_err();
    assert!(e.to_string().contains("安置方式"), "{e}");
    cases::transition(
        &mut reg2,
        &id2,
        Transition {
            school: None,
            placement: Some("送教上门".into()),
            ..full("placed", "2026-09-08")
        },
        &a,
    )
    .unwrap();

    let c = cases::transition(&mut reg, &id, full("returned", "2026-09-08"), &a).unwrap();
    let places = store::placements::list_by_child(reg.conn(), &c.child_id).unwrap();
    assert_eq!(places.len(), 1);
    assert_eq!(
        (
            places[0].placement.as_str(),
            places[0].school_code.as_deref()
        ),
        ("insert_class", Some(SCHOOL))
    );
    // The cross-check no longer lists the child (the roll still says 辍学 until the next import).
    let settings = Settings::load(reg.conn()).unwrap();
    let r =
        baoxue::crosscheck::run(reg.conn(), &settings, crate::casework::day("2026-09-15")).unwrap();
    assert!(r.suspected.is_empty(), "{:?}", r.suspected);
    // On the watch list until the end of the next full term.
    let w = cases::watch_list(reg.conn(), crate::casework::day("2026-09-15")).unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].watch_until, "2027-07-31");
    assert!(
        cases::watch_list(reg.conn(), crate::casework::day("2027-08-01"))
            .unwrap()
            .is_empty()
    );
    // Dropping out again (反弹) needs a note, and takes the pupil off the watch list into the case again.
    let e = cases::transition(
        &mut reg,
        &id,
        Transition {
            note: None,
            ..full("confirmed", "2026-09-14")
        },
        &a,
    )
    .unwrap_err();
    assert!(e.to_string().contains("反弹"), "{e}");
    cases::transition(&mut reg, &id, full("confirmed", "2026-09-14"), &a).unwrap();
    assert!(
        cases::watch_list(reg.conn(), crate::casework::day("2026-09-15"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        cases::watch_until(crate::casework::day("2027-03-01")).to_string(),
        "2028-01-31"
    );
    assert_eq!(
        cases::watch_until(crate::casework::day("2027-01-10")).to_string(),
        "2027-07-31"
    );
}

#[test]
fn closing_needs_reason_and_approver_and_history_is_append_only() {
    let a = actor();
    let (mut reg, id) = case_in("returned");
    let e = cases::transition(
        &mut reg,
        &id,
        Transition {
            reason: None,
            ..full("销号", "2026-09-12")
        },
        &a,
    )
    .unwrap_err();
    assert!(e.to_string().contains("销号须填写原因"), "{e}");
    let e = cases::transition(
        &mut reg,
        &id,
        Transition {
            approver: None,
            ..full("closed", "2026-09-12")
        },
        &a,
    )
    .unwrap_err();
    assert!(e.to_string().contains("审批人"), "{e}");
    let before = store::case_events::list_by_case(reg.conn(), &id).unwrap();
    let c = cases::transition(&mut reg, &id, full("closed", "2026-09-12"), &a).unwrap();
    assert_eq!(c.closed_on.as_deref(), Some("2026-09-12"));
    let after = store::case_events::list_by_case(reg.conn(), &id).unwrap();
    assert_eq!(&after[..before.len()], &before[..]);
    let kinds: Vec<(&str, Option<&str>)> = after
        .iter()
        .map(|e| (e.kind.as_str(), e.to_state.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("opened", Some("confirmed")),
            ("transition", Some("persuading")),
            ("transition", Some("returned")),
            ("transition", Some("closed")),
        ]
    );
    // Closed: nothing more, not even an attempt; a new case may be opened.
    let e = cases::record_attempt(&mut reg, &id, joint("2026-09-13"), &a).unwrap_err();
    assert!(e.to_string().contains("不能登记劝返"), "{e}");
    let child = c.child_id.clone();
    cases::open(
        &mut reg,
        NewCase {
            child_id: child,
            ..Default::default()
        },
        &a,
    )
    .unwrap();
    assert_eq!(store::audit::verify(reg.conn()).unwrap(), None);
}

#[test]
fn attempts_and_opening_are_checked() {
    let a = actor();
    let (mut reg, id) = case_in("suspected");
    let e = cases::record_attempt(&mut reg, &id, joint("2026-09-05"), &a).unwrap_err();
    assert!(e.to_string().contains("疑似辍学"), "{e}");
    let child = store::cases::get(reg.conn(), &id)
        .unwrap()
        .unwrap()
        .child_id;
    let e = cases::open(
        &mut reg,
        NewCase {
            child_id: child.clone(),
            ..Default::default()
        },
        &a,
    )
    .unwrap_err();
    assert!(e.to_string().contains("已有未销号的个案"), "{e}");
    let c = store::cases::get(reg.conn(), &id).unwrap().unwrap();
    assert_eq!(c.priority_groups, vec!["edge_poverty".to_string()]);
    assert_eq!(c.reason_code.as_deref(), Some("weariness"));

    let (mut reg, id) = case_in("persuading");
    let lonely = Attempt {
        participants: vec!["周老师".into()],
        ..joint("2026-09-05")
    };
    let e = cases::record_attempt(&mut reg, &id, lonely, &a).unwrap_err();
    assert!(e.to_string().contains("至少要有两名参与人"), "{e}");
    let e = cases::record_attempt(
        &mut reg,
        &id,
        Attempt {
            method: "威胁".into(),
            ..joint("2026-09-05")
        },
        &a,
    )
    .unwrap_err();
    assert!(e.to_string().contains("感情、经济、行政、法律"), "{e}");
    let e = cases::record_attempt(
        &mut reg,
        &id,
        Attempt {
            said: " ".into(),
            ..joint("2026-09-05")
        },
        &a,
    )
    .unwrap_err();
    assert!(e.to_string().contains("劝返内容"), "{e}");
    let ev = cases::record_attempt(
        &mut reg,
        &id,
        Attempt {
            method: "economic".into(),
            ..joint("2026-09-05")
        },
        &a,
    )
    .unwrap();
    let p: Value = serde_json::from_str(&ev.payload).unwrap();
    assert_eq!(p["method"], "economic");
    assert_eq!(p["joint"], true);
    assert_eq!(baoxue::childfile::describe_event(&ev), "联合经济劝返（周老师（学校）、刘干部（乡镇）、陈主任（村））：讲解义务教育法，监护人须送适龄子女入学；结果：家长表示考虑");
}

#[test]
fn the_case_cli_runs_a_case_from_opening_to_closing() {
    let r = TempRegister::new();
    r.ok(&[
        "init",
        "--kind",
        "county",
        "--name",
        "测试县教育局",
        "--region",
        "410423",
    ]);
    r.ok(&[
        "school",
        "add",
        "--code",
        SCHOOL,
        "--name",
        "城关镇初级中学",
        "--kind",
        "junior",
    ]);
    let id = id_number("410423", "20120305", 31);
    r.ok(&[
        "household",
        "add",
        "--head",
        "马大山",
        "--village",
        "410423100201",
        "--group",
        "低保户",
        "--child",
        &format!("马小军,{id}"),
    ]);
    let opened: Value = serde_json::from_str(&r.ok(&[
        "--json",
        "case",
        "open",
        "--child",
        &id,
        "--state",
        "confirmed",
        "--reason",
        "外出打工",
        "--date",
        "2026-09-02",
    ]))
    .unwrap();
    let case = opened["meta"]["id"].as_str().unwrap().to_string();
    assert_eq!(opened["priority_groups"], serde_json::json!(["dibao"]));
    let short = baoxue::cases::short_id(&case);
    r.ok(&[
        "case",
        "transition",
        short,
        "--to",
        "劝返中",
        "--date",
        "2026-09-03",
    ]);
    for d in ["2026-09-04", "2026-09-05", "2026-09-06"] {
        r.ok(&[
            "case",
            "attempt",
            short,
            "--date",
            d,
            "--joint",
            "--participants",
            "周老师（学校）,刘干部（乡镇）",
            "--method",
            "感情",
            "--said",
            "谈心",
            "--result",
            "不同意",
        ]);
    }
    // Illegal: persuading → closed without approver; persuading → confirmed.
    let out = r.run(&[
        "case",
        "transition",
        short,
        "--to",
        "销号",
        "--date",
        "2026-09-07",
        "--reason",
        "x",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("审批人"));
    let out = r.run(&[
        "case",
        "transition",
        short,
        "--to",
        "confirmed",
        "--date",
        "2026-09-07",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("不能从“劝返中”直接变为“已确认辍学”"));
    r.ok(&[
        "case",
        "transition",
        short,
        "--to",
        "休学",
        "--date",
        "2026-09-07",
        "--approver",
        "张局长",
        "--doc-no",
        "青教〔2026〕12号",
    ]);
    r.ok(&[
        "case",
        "transition",
        short,
        "--to",
        "returned",
        "--date",
        "2026-09-10",
        "--school",
        SCHOOL,
        "--placement",
        "单独编班",
    ]);
    let shown: Value = serde_json::from_str(&r.ok(&["--json", "case", "show", short])).unwrap();
    assert_eq!(shown["case"]["state"], "returned");
    assert_eq!(shown["joint_attempts"], 3);
    // opened, → 劝返中, 3 attempts, → 休学, → 已复学.
    assert_eq!(shown["events"].as_array().unwrap().len(), 7);
    assert_eq!(shown["watch_until"], "2027-07-31");
    let text = r.ok(&["case", "show", short]);
    assert!(text.contains("状态：劝返中 → 休学"), "{text}");
    let watch = r.ok(&["case", "watch", "--as-of", "2026-09-15"]);
    assert!(
        watch.contains("马小军") && watch.contains("观察至 2027-07-31"),
        "{watch}"
    );
    let list = r.ok(&["case", "list", "--state", "已复学"]);
    assert!(list.contains("共 1 个个案"), "{list}");
}

//! Case work: the cross-check (四查三比对) on a hand-built county covering every rule, with the
//! exact expected lists; attendance warnings; the CLI contract of `baoxue crosscheck --json`.

use crate::util::{actor, id_number, TempRegister};
use baoxue::attendance::{self, ClassDay};
use baoxue::domain::{Case, Child, Enrolment, Household, School, SiteKind};
use baoxue::register::{NewSite, Writer};
use baoxue::settings::Settings;
use baoxue::store;
use baoxue::{Actor, Register};
use chrono::NaiveDate;
use serde_json::Value;
use std::collections::HashMap;

pub const V1: &str = "410423100201";
pub const V2: &str = "410423100202";
pub const S1: &str = "2141042301";
pub const S2: &str = "2141042302";

/// A fictional county built record by record, with names to find children by.
pub struct County {
    pub reg: Register,
    pub actor: Actor,
    pub ids: HashMap<&'static str, String>,
    pub tmp: TempRegister,
}

impl County {
    pub fn child(&self, name: &str) -> String {
        self.ids[name].clone()
    }
}

pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn household(w: &mut Writer<'_>, village: &str, groups: &[&str]) -> String {
    let h = Household {
        meta: w.new_meta(),
        head_name: "户主".into(),
        head_id_number: None,
        phone: None,
        address: None,
        village_code: village.into(),
        priority_groups: groups.iter().map(|g| g.to_string()).collect(),
        note: None,
    };
    store::households::put(w.conn(), &h).unwrap();
    h.meta.id
}

#[derive(Default)]
struct Kid<'a> {
    household: Option<&'a str>,
    name: &'a str,
    birth: &'a str,
    id_seq: Option<u32>,
    village: Option<&'a str>,
    flags: &'a [&'a str],
    disability: Option<&'a str>,
    life: Option<(&'a str, Option<&'a str>)>,
}

fn kid(w: &mut Writer<'_>, k: Kid<'_>) -> String {
    let id = k
        .id_seq
        .map(|s| id_number("410423", &k.birth.replace('-', ""), s));
    let c = Child {
        meta: w.new_meta(),
        household_id: k.household.map(str::to_string),
        name: k.name.into(),
        sex: None,
        birth_date: Some(k.birth.into()),
        id_number: id.clone(),
        id_key: id,
        student_no: None,
        village_code: k.village.map(str::to_string),
        hukou_place: None,
        residence: None,
        flags: k.flags.iter().map(|f| f.to_string()).collect(),
        disability_type: k.disability.map(str::to_string),
        disability_grade: None,
        life_status: k.life.map(|l| l.0).unwrap_or("normal").into(),
        life_status_detail: k.life.and_then(|l| l.1).map(str::to_string),
        note: None,
    };
    store::children::put(w.conn(), &c).unwrap();
    c.meta.id
}

fn enrol(w: &mut Writer<'_>, child: &str, school: &str, status: &str, grade: i64) {
    let e = Enrolment {
        meta: w.new_meta(),
        child_id: child.into(),
        school_code: school.into(),
        student_no: None,
        grade: Some(grade),
        class_name: Some("1班".into()),
        entry_date: None,
        status: status.into(),
        status_date: (status != "studying").then(|| "2026-06-30".to_string()),
        term: Some("2026秋".into()),
        note: None,
    };
    store::enrolments::put(w.conn(), &e).unwrap();
}

/// A roster child with an ID, and the school's own record of the same person (linked by ID).
fn roll_twin(w: &mut Writer<'_>, name: &str, birth: &str, seq: u32) -> String {
    kid(
        w,
        Kid {
            name,
            birth,
            id_seq: Some(seq),
            ..Default::default()
        },
    )
}

/// The hand-built county. The register is a real SQLite file.
pub fn county() -> County {
    let tmp = TempRegister::new();
    let actor = actor(); // 2026-09-15
    let mut reg = Register::open(&tmp.db).unwrap();
    reg.init_site(
        NewSite {
            kind: SiteKind::County,
            name: "测试县教育局".into(),
            region_code: "410423".into(),
            school_code: None,
        },
        &actor,
    )
    .unwrap();
    Settings::set(reg.conn(), "holidays", r#"["2026-09-11"]"#).unwrap();
    let mut ids = HashMap::new();
    let mut w = reg.writer(&actor).unwrap();
    for (code, name) in [(S1, "城关镇中心小学"), (S2, "城关镇初级中学")] {
        let s = School {
            meta: w.new_meta(),
            code: code.into(),
            name: name.into(),
            kind: "nine-year".into(),
            township_code: Some("410423100".into()),
        };
        store::schools::put(w.conn(), &s).unwrap();
    }
    let plain = household(&mut w, V1, &[]);
    let poor = household(&mut w, V1, &["dibao"]);
    let jdlk = household(&mut w, V2, &["jiandang"]);
    let mut add = |w: &mut Writer<'_>, key: &'static str, k: Kid<'_>| {
        let id = kid(w, k);
        ids.insert(key, id.clone());
        id
    };
    let roster = |name: &'static str, birth: &'static str, seq: Option<u32>| Kid {
        household: None,
        name,
        birth,
        id_seq: seq,
        village: Some(V1),
        ..Default::default()
    };
    // Turns 6 on the cutoff day: of school age, not enrolled → listed.
    add(
        &mut w,
        "六岁",
        Kid {
            household: Some(&plain),
            ..roster("王六岁", "2020-08-31", Some(11))
        },
    );
    // Turns 6 a day after the cutoff: not yet of school age.
    add(
        &mut w,
        "未满",
        Kid {
            household: Some(&plain),
            ..roster("李未满", "2020-09-01", Some(13))
        },
    );
    // 16 on the cross-check day: out of the window. 15 (16 tomorrow): still in it.
    add(
        &mut w,
        "十六",
        Kid {
            household: Some(&plain),
            ..roster("张十六", "2010-09-15", Some(15))
        },
    );
    add(
        &mut w,
        "十五",
        Kid {
            household: Some(&plain),
            ..roster("赵十五", "2010-09-16", Some(17))
        },
    );
    // Deferred (延缓入学 on the roll): not listed.
    add(
        &mut w,
        "缓学",
        Kid {
            household: Some(&plain),
            ..roster("陈缓学", "2019-05-01", Some(19))
        },
    );
    let t = roll_twin(&mut w, "陈缓学", "2019-05-01", 19);
    enrol(&mut w, &t, S1, "deferred", 1);
    // Transferred from S1 to S2: not listed. Transferred out with no new roll: listed.
    add(
        &mut w,
        "转学",
        Kid {
            household: Some(&plain),
            ..roster("刘转学", "2014-02-02", Some(21))
        },
    );
    let t = roll_twin(&mut w, "刘转学", "2014-02-02", 21);
    enrol(&mut w, &t, S1, "transferred_out", 6);
    let t2 = roll_twin(&mut w, "刘转学", "2014-02-02", 21);
    enrol(&mut w, &t2, S2, "studying", 7);
    add(
        &mut w,
        "转出",
        Kid {
            household: Some(&plain),
            ..roster("孙转出", "2014-03-03", Some(23))
        },
    );
    let t = roll_twin(&mut w, "孙转出", "2014-03-03", 23);
    enrol(&mut w, &t, S1, "transferred_out", 6);
    // No ID on the roster; a pupil without ID with the same name and birth date studies at S1:
    // a probable match for a person to confirm, not a suspected child.
    add(
        &mut w,
        "无证",
        Kid {
            household: Some(&plain),
            ..roster("周无证", "2015-03-08", None)
        },
    );
    let t = kid(
        &mut w,
        Kid {
            name: "周无证",
            birth: "2015-03-08",
            ..Default::default()
        },
    );
    enrol(&mut w, &t, S1, "studying", 5);
    // No ID and no pupil of that name and birth date: listed.
    add(
        &mut w,
        "无证失学",
        Kid {
            household: Some(&plain),
            ..roster("钱无证", "2016-04-04", None)
        },
    );
    // Disabled, taught at home (送教上门): not listed. Disabled, neither enrolled nor placed: listed.
    let home = add(
        &mut w,
        "送教",
        Kid {
            household: Some(&plain),
            disability: Some("intellectual"),
            ..roster("吴送教", "2013-06-06", Some(25))
        },
    );
    let p = store::placements::Placement {
        meta: w.new_meta(),
        child_id: home,
        placement: "home_teaching".into(),
        school_code: Some(S1.into()),
        since: "2026-09-01".into(),
        until: None,
        note: None,
    };
    store::placements::put(w.conn(), &p).unwrap();
    add(
        &mut w,
        "残疾",
        Kid {
            household: Some(&plain),
            disability: Some("physical"),
            ..roster("郑残疾", "2013-07-07", Some(27))
        },
    );
    // A 低保 household's child whose roll says 辍学: listed, priority.
    add(
        &mut w,
        "低保辍学",
        Kid {
            household: Some(&poor),
            ..roster("冯辍学", "2012-08-08", Some(29))
        },
    );
    let t = roll_twin(&mut w, "冯辍学", "2012-08-08", 29);
    enrol(&mut w, &t, S2, "dropped_out", 8);
    // Studying, the roll spells the name differently: the ID decides, not listed.
    add(
        &mut w,
        "在读",
        Kid {
            household: Some(&jdlk),
            village: Some(V2),
            ..roster("褚在读", "2013-09-09", Some(31))
        },
    );
    let t = roll_twin(&mut w, "褚在渎", "2013-09-09", 31);
    enrol(&mut w, &t, S1, "studying", 6);
    // Deceased; studying elsewhere with the school named; elsewhere without a school named.
    add(
        &mut w,
        "死亡",
        Kid {
            household: Some(&plain),
            life: Some(("deceased", None)),
            ..roster("卫死亡", "2014-10-10", Some(33))
        },
    );
    add(
        &mut w,
        "外地",
        Kid {
            household: Some(&plain),
            life: Some(("studying_elsewhere", Some("郑州市金水区第一小学"))),
            ..roster("蒋外地", "2015-11-11", Some(35))
        },
    );
    add(
        &mut w,
        "外地未详",
        Kid {
            household: Some(&plain),
            life: Some(("studying_elsewhere", None)),
            ..roster("沈外地", "2015-12-12", Some(37))
        },
    );
    // Grade 9 finished at 15: not listed.
    add(
        &mut w,
        "毕业",
        Kid {
            household: Some(&plain),
            ..roster("韩毕业", "2011-01-01", Some(39))
        },
    );
    let t = roll_twin(&mut w, "韩毕业", "2011-01-01", 39);
    enrol(&mut w, &t, S2, "graduated", 9);
    // Absent 5 school days without leave (a 建档立卡 household): 疑似辍学, priority.
    add(
        &mut w,
        "缺课",
        Kid {
            household: Some(&jdlk),
            village: Some(V2),
            ..roster("杨缺课", "2016-01-05", Some(41))
        },
    );
    let t = roll_twin(&mut w, "杨缺课", "2016-01-05", 41);
    enrol(&mut w, &t, S1, "studying", 4);
    // Absent 4 weeks: 辍学. Absent, then on leave: no warning.
    add(
        &mut w,
        "长缺",
        Kid {
            household: Some(&plain),
            ..roster("朱长缺", "2016-02-05", Some(43))
        },
    );
    let t = roll_twin(&mut w, "朱长缺", "2016-02-05", 43);
    enrol(&mut w, &t, S1, "studying", 4);
    add(
        &mut w,
        "请假",
        Kid {
            household: Some(&plain),
            ..roster("秦请假", "2016-03-05", Some(45))
        },
    );
    let t = roll_twin(&mut w, "秦请假", "2016-03-05", 45);
    enrol(&mut w, &t, S1, "studying", 4);
    // An approved 延缓入学 in the child's case file: not listed.
    let c = add(
        &mut w,
        "个案缓学",
        Kid {
            household: Some(&plain),
            ..roster("何个案", "2019-07-07", Some(47))
        },
    );
    let case = Case {
        meta: w.new_meta(),
        child_id: c,
        state: "deferred".into(),
        reason_code: Some("health".into()),
        priority_groups: vec![],
        resp_school: None,
        resp_township: None,
        resp_village: None,
        plan: None,
        opened_on: "2026-09-01".into(),
        closed_on: None,
    };
    store::cases::put(w.conn(), &case).unwrap();
    // A home visit this school year found the child at school: not listed.
    let c = add(
        &mut w,
        "核查在校",
        Kid {
            household: Some(&plain),
            ..roster("吕核查", "2017-07-07", Some(49))
        },
    );
    let task = store::verification_tasks::Task {
        meta: w.new_meta(),
        child_id: c,
        area_code: V1.into(),
        reason: "学户册有，学籍无".into(),
        state: "done".into(),
        finding: Some("in_school".into()),
        finding_detail: Some("邻县某小学".into()),
        found_on: Some("2026-09-10".into()),
        found_by: Some("村干部".into()),
    };
    store::verification_tasks::put(w.conn(), &task).unwrap();
    // On a roll only (no roster), 辍学, 13 years old: listed from the roll.
    let r = kid(
        &mut w,
        Kid {
            name: "施无册",
            birth: "2013-05-05",
            id_seq: Some(51),
            village: Some(V2),
            ..Default::default()
        },
    );
    ids.insert("无册辍学", r.clone());
    enrol(&mut w, &r, S2, "dropped_out", 7);
    w.commit().unwrap();

    // Attendance at S1: 2026-08-17 … 2026-09-14 (09-11 is a holiday, weekends off).
    let cal_settings = Settings::load(reg.conn()).unwrap();
    let cal = attendance::Calendar::from_settings(&cal_settings);
    for d in cal.school_days(day("2026-08-17"), day("2026-09-14")) {
        let ds = d.to_string();
        let mut absent = vec!["朱长缺".to_string()];
        if ds.as_str() >= "2026-09-07" {
            absent.push("杨缺课".into());
        }
        let mut leave = vec![];
        if ("2026-09-08".."2026-09-11").contains(&ds.as_str()) {
            absent.push("秦请假".into());
        }
        if ds == "2026-09-14" {
            leave.push("秦请假".to_string());
        }
        attendance::record_day(
            &mut reg,
            &ClassDay {
                school_code: S1.into(),
                grade: None,
                class_name: None,
                date: ds,
                absent,
                leave,
            },
            &actor,
        )
        .unwrap();
    }
    County {
        reg,
        actor,
        ids,
        tmp,
    }
}

/// (name, category, sources, priority groups, priority) of one listed child.
type Row = (String, String, Vec<String>, Vec<String>, bool);

fn project(r: &baoxue::crosscheck::CrossCheck) -> Vec<Row> {
    let mut v: Vec<_> = r
        .suspected
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.category.clone(),
                s.sources.clone(),
                s.priority_groups.clone(),
                s.priority,
            )
        })
        .collect();
    v.sort();
    v
}

fn t(name: &str, cat: &str, sources: &[&str], groups: &[&str], priority: bool) -> Row {
    (
        name.into(),
        cat.into(),
        sources.iter().map(|s| s.to_string()).collect(),
        groups.iter().map(|s| s.to_string()).collect(),
        priority,
    )
}

#[test]
fn crosscheck_lists_exactly_the_children_out_of_school() {
    let c = county();
    let settings = Settings::load(c.reg.conn()).unwrap();
    let r = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    let mut expected = vec![
        t(
            "冯辍学",
            "dropped_out",
            &["roll", "roster"],
            &["dibao"],
            true,
        ),
        t(
            "孙转出",
            "transferred_no_new",
            &["roll", "roster"],
            &[],
            false,
        ),
        t(
            "朱长缺",
            "absence_dropout",
            &["attendance", "roll", "roster"],
            &[],
            false,
        ),
        t(
            "杨缺课",
            "absence_suspected",
            &["attendance", "roll", "roster"],
            &["jiandang"],
            true,
        ),
        t("施无册", "dropped_out", &["roll"], &[], false),
        t("沈外地", "place_unnamed", &["roster"], &[], false),
        t("王六岁", "not_enrolled", &["roster"], &[], false),
        t("赵十五", "not_enrolled", &["roster"], &[], false),
        t(
            "郑残疾",
            "disabled_unplaced",
            &["roster"],
            &["disabled"],
            true,
        ),
        t("钱无证", "not_enrolled", &["roster"], &[], false),
    ];
    expected.sort();
    assert_eq!(project(&r), expected);

    // The probable match is for a person to confirm, with the candidate pupil.
    assert_eq!(r.to_confirm.len(), 1);
    assert_eq!(r.to_confirm[0].name, "周无证");
    assert_eq!(r.to_confirm[0].candidates.len(), 1);
    assert_eq!(r.to_confirm[0].candidates[0].school_code, S1);

    // Reasons say why, in Chinese.
    let by_name: HashMap<&str, &baoxue::crosscheck::Suspected> =
        r.suspected.iter().map(|s| (s.name.as_str(), s)).collect();
    assert_eq!(by_name["王六岁"].reason, "学户册有，学籍无");
    assert!(by_name["郑残疾"].reason.contains("送教上门"));
    assert_eq!(
        by_name["杨缺课"].reason,
        "连续5个上课日缺课未请假（2026-09-07至2026-09-14，学校2141042301）：疑似辍学"
    );
    assert!(by_name["朱长缺"]
        .reason
        .starts_with("连续20个上课日缺课未请假（2026-08-17至"));
    assert!(by_name["沈外地"].reason.contains("未写明学校"));
    assert_eq!(
        by_name["杨缺课"].child_id.as_deref(),
        Some(c.child("缺课").as_str())
    );
    assert_eq!(by_name["王六岁"].village.as_deref(), Some(V1));
    assert_eq!(
        by_name["冯辍学"].priority_group_names,
        vec!["低保户".to_string()]
    );
    // The core holds the full ID; the masked view hides the middle.
    let id = by_name["王六岁"].id_number.clone().unwrap();
    assert_eq!(id.len(), 18);
    let masked = r.clone().masked();
    let m = masked
        .suspected
        .iter()
        .find(|s| s.name == "王六岁")
        .unwrap();
    assert_eq!(m.id_number.as_deref().unwrap(), baoxue::idnum::mask_id(&id));
}

#[test]
fn crosscheck_the_day_before_the_school_year_uses_last_years_cutoff() {
    let c = county();
    let settings = Settings::load(c.reg.conn()).unwrap();
    // On 2026-08-31 the school year is 2025: the cutoff is 2025-08-31, so 王六岁 is not yet of
    // school age, and 张十六 (15 that day) still is.
    let r = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-08-31")).unwrap();
    let names: Vec<&str> = r.suspected.iter().map(|s| s.name.as_str()).collect();
    assert!(!names.contains(&"王六岁"), "{names:?}");
    assert!(names.contains(&"张十六"), "{names:?}");
}

#[test]
fn warnings_list_each_threshold_with_the_first_day() {
    let c = county();
    let settings = Settings::load(c.reg.conn()).unwrap();
    let w = attendance::warnings(c.reg.conn(), &settings, day("2026-09-15"), Some(S1)).unwrap();
    let got: Vec<(&str, u32, &str, &str)> = w
        .iter()
        .map(|x| (x.name.as_str(), x.days, x.level.as_str(), x.since.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("朱长缺", 20, "dropout", "2026-08-17"),
            ("杨缺课", 5, "suspected", "2026-09-07"),
        ]
    );
    // Before the fifth day, 杨缺课 is not yet warned.
    let w = attendance::warnings(c.reg.conn(), &settings, day("2026-09-10"), Some(S1)).unwrap();
    assert_eq!(w.iter().filter(|x| x.name == "杨缺课").count(), 0);
}

#[test]
fn attendance_is_refused_on_a_holiday_and_for_an_unknown_pupil() {
    let mut c = county();
    let actor = c.actor.clone();
    let day = |d: &str, absent: &[&str]| ClassDay {
        school_code: S1.into(),
        grade: None,
        class_name: None,
        date: d.into(),
        absent: absent.iter().map(|s| s.to_string()).collect(),
        leave: vec![],
    };
    let e = attendance::record_day(&mut c.reg, &day("2026-09-11", &[]), &actor).unwrap_err();
    assert!(e.to_string().contains("不是上课日"), "{e}");
    let e = attendance::record_day(&mut c.reg, &day("2026-09-12", &[]), &actor).unwrap_err();
    assert!(e.to_string().contains("不是上课日"), "{e}");
    let e =
        attendance::record_day(&mut c.reg, &day("2026-09-14", &["查无此人"]), &actor).unwrap_err();
    assert!(e.to_string().contains("没有“"), "{e}");
    // Recording the same day again changes nothing.
    let r = attendance::record_day(
        &mut c.reg,
        &day("2026-09-14", &["杨缺课", "朱长缺"]),
        &actor,
    );
    assert_eq!(r.unwrap().changed, 1); // 秦请假 was on leave that day, now present
}

#[test]
fn crosscheck_cli_json_keeps_the_contract_and_masks_ids() {
    let c = county();
    let db = c.tmp.db.clone();
    drop(c.reg);
    let out = crate::util::run_cli(&db, &["crosscheck", "--as-of", "2026-09-15", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["as_of"], "2026-09-15");
    let list = v["suspected"].as_array().unwrap();
    assert_eq!(list.len(), 10);
    for s in list {
        for key in [
            "child_id",
            "id_number",
            "name",
            "village",
            "reason",
            "priority",
            "sources",
            "priority_groups",
        ] {
            assert!(s.get(key).is_some(), "missing {key} in {s}");
        }
        if let Some(id) = s["id_number"].as_str() {
            assert!(id.contains("********"), "unmasked {id}");
        }
    }
    let text = String::from_utf8(
        crate::util::run_cli(&db, &["crosscheck", "--as-of", "2026-09-15"]).stdout,
    )
    .unwrap();
    assert!(text.contains("疑似失学辍学 10 名"), "{text}");
    // --full shows whole numbers and is audited.
    let full: Value = serde_json::from_slice(
        &crate::util::run_cli(
            &db,
            &["crosscheck", "--as-of", "2026-09-15", "--json", "--full"],
        )
        .stdout,
    )
    .unwrap();
    assert!(full["suspected"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id_number"].as_str().is_some_and(|i| !i.contains('*'))));
    let reg = Register::open(&db).unwrap();
    let n: i64 = reg
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'reveal_full'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn crosscheck_on_the_demo_county_lists_its_dropouts() {
    let r = TempRegister::new();
    r.ok(&["demo"]);
    let v: Value = serde_json::from_str(&r.ok(&["crosscheck", "--json"])).unwrap();
    let list = v["suspected"].as_array().unwrap();
    let dropouts = list
        .iter()
        .filter(|s| s["reason"].as_str().unwrap().starts_with("学籍状态为辍学"))
        .count();
    // The demo marks 6 of its 7 case children 辍学 on the roll (one has returned).
    assert!(dropouts >= 3, "{dropouts}");
}

#[test]
fn verification_tasks_go_to_the_village_and_findings_act_on_the_register() {
    use baoxue::verification::{self, Finding};
    let mut c = county();
    let a = c.actor.clone();
    let made = verification::create_from_crosscheck(&mut c.reg, day("2026-09-15"), &a).unwrap();
    // 10 suspected + 1 probable match, every one with a register record.
    assert_eq!(
        (
            made.created,
            made.already_open,
            made.without_record,
            made.in_case
        ),
        (11, 0, 0, 0)
    );
    let task_of = |c: &County, key: &str| {
        store::verification_tasks::list_by_child(c.reg.conn(), &c.child(key)).unwrap()[0].clone()
    };
    let t = task_of(&c, "六岁");
    assert_eq!(t.area_code, V1);
    assert_eq!(t.reason, "学户册有，学籍无");
    // Running it again creates nothing new.
    let again = verification::create_from_crosscheck(&mut c.reg, day("2026-09-15"), &a).unwrap();
    assert_eq!((again.created, again.already_open), (0, 11));

    let f = |finding: &str, detail: Option<&str>| Finding {
        finding: finding.into(),
        detail: detail.map(str::to_string),
        found_on: "2026-09-15".into(),
        found_by: "李村干部".into(),
    };
    let e = verification::record(&mut c.reg, &t.meta.id, f("在校就读", None), &a).unwrap_err();
    assert!(e.to_string().contains("须写明学校"), "{e}");
    let r = verification::record(
        &mut c.reg,
        baoxue::cases::short_id(&t.meta.id),
        f("在校就读", Some("邻县实验小学")),
        &a,
    )
    .unwrap();
    assert_eq!(r.task.state, "done");
    let e = verification::record(&mut c.reg, &t.meta.id, f("死亡", None), &a).unwrap_err();
    assert!(e.to_string().contains("不能重复登记"), "{e}");
    // 确认失学辍学 opens a case; 户籍迁出 marks the child moved away.
    let t = task_of(&c, "无证失学");
    let r = verification::record(&mut c.reg, &t.meta.id, f("confirmed_out", None), &a).unwrap();
    assert!(r.case_opened);
    let case = store::cases::get(c.reg.conn(), r.case_id.as_deref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(case.state, "confirmed");
    let t = task_of(&c, "十五");
    let e = verification::record(&mut c.reg, &t.meta.id, f("户籍迁出", None), &a).unwrap_err();
    assert!(e.to_string().contains("迁往何处"), "{e}");
    let r = verification::record(
        &mut c.reg,
        &t.meta.id,
        f("户籍迁出", Some("江苏省苏州市")),
        &a,
    )
    .unwrap();
    assert!(r.child_updated);

    let settings = Settings::load(c.reg.conn()).unwrap();
    let x = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    let names: Vec<&str> = x.suspected.iter().map(|s| s.name.as_str()).collect();
    assert!(
        !names.contains(&"王六岁") && !names.contains(&"赵十五"),
        "{names:?}"
    );
    let qian = x.suspected.iter().find(|s| s.name == "钱无证").unwrap();
    assert_eq!(qian.case_state.as_deref(), Some("confirmed"));
    assert_eq!(x.suspected.len(), 8);
    // The child in case work gets no new task.
    let third = verification::create_from_crosscheck(&mut c.reg, day("2026-09-15"), &a).unwrap();
    assert_eq!(
        (third.created, third.already_open, third.in_case),
        (0, 8, 1)
    );
    assert_eq!(store::audit::verify(c.reg.conn()).unwrap(), None);
}

#[test]
fn enrolment_and_return_notices_are_printable_pages_with_masked_ids() {
    let mut c = county();
    let a = c.actor.clone();
    let list = baoxue::notices::enrol_notices(c.reg.conn(), 2026, None).unwrap();
    let got: Vec<(&str, i64, Option<&str>)> = list
        .iter()
        .map(|n| (n.name.as_str(), n.grade, n.school_code.as_deref()))
        .collect();
    // 王六岁 turns 6 on the cutoff (李未满 a day later is not yet due); 褚在读 finished grade 6.
    assert_eq!(got, vec![("王六岁", 1, Some(S1)), ("褚在读", 7, Some(S1))]);
    let html =
        baoxue::notices::enrol_html(c.reg.conn(), &list, 2026, "测试县教育局", day("2026-07-01"))
            .unwrap();
    assert_eq!(html.matches("<main class=\"notice\">").count(), 2);
    assert!(html.contains("@page{size:A4"));
    assert!(html.contains("2026年9月1日") && html.contains("城关镇中心小学"));
    let full = id_number("410423", "20200831", 11);
    assert!(!html.contains(&full));
    assert!(html.contains(&baoxue::idnum::mask_id(&full)));

    // 限期返校通知书 for a confirmed dropout; recorded in the case.
    let dropout = c.child("低保辍学");
    let case = baoxue::cases::open(
        &mut c.reg,
        baoxue::cases::NewCase {
            child_id: dropout,
            state: Some("confirmed".into()),
            opened_on: Some("2026-09-10".into()),
            ..Default::default()
        },
        &a,
    )
    .unwrap();
    let e = baoxue::notices::issue_return_notice(
        &mut c.reg,
        &case.meta.id,
        "2026-09-01",
        "城关镇人民政府",
        &a,
    )
    .unwrap_err();
    assert!(e.to_string().contains("今天以后"), "{e}");
    let html = baoxue::notices::issue_return_notice(
        &mut c.reg,
        &case.meta.id,
        "2026-09-30",
        "城关镇人民政府",
        &a,
    )
    .unwrap();
    assert!(html.contains("限期返校通知书") && html.contains("冯辍学"));
    assert!(html.contains("2026年9月30日") && html.contains("城关镇初级中学"));
    assert!(!html.contains(&id_number("410423", "20120808", 29)));
    let events = store::case_events::list_by_case(c.reg.conn(), &case.meta.id).unwrap();
    assert_eq!(events.last().unwrap().kind, "notice");
    // Not for a suspected case.
    let six = c.child("六岁");
    let other = baoxue::cases::open(
        &mut c.reg,
        baoxue::cases::NewCase {
            child_id: six,
            ..Default::default()
        },
        &a,
    )
    .unwrap();
    let e = baoxue::notices::issue_return_notice(
        &mut c.reg,
        &other.meta.id,
        "2026-09-30",
        "城关镇人民政府",
        &a,
    )
    .unwrap_err();
    assert!(e.to_string().contains("劝返中"), "{e}");

    // The CLI writes the files.
    let db = c.tmp.db.clone();
    let out = c.tmp.path("入学通知书.html");
    let text = String::from_utf8(
        crate::util::run_cli(
            &db,
            &[
                "notice",
                "enrol",
                "--year",
                "2026",
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .stdout,
    )
    .unwrap();
    assert!(
        text.contains("已生成入学通知书 2 份（一年级 1，初一 1）"),
        "{text}"
    );
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("入学通知书"));
}

#[test]
fn confirming_a_probable_match_links_it_and_only_then_it_is_no_longer_listed() {
    let c = county();
    let settings = Settings::load(c.reg.conn()).unwrap();
    let r = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    let m = r.to_confirm.iter().find(|m| m.name == "周无证").unwrap();
    let child = m.child_id.clone().unwrap();
    let pupil = m.candidates[0].child_id.clone();
    let before = r.suspected.len();

    // A record that is not studying cannot be confirmed as the pupil: refused in Chinese, and
    // the child stays listed as a probable match.
    let out = c.tmp.run(&[
        "crosscheck",
        "confirm",
        &child,
        "--pupil",
        &c.child("无证失学"),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("没有在读学籍"));
    let r = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    assert!(r.to_confirm.iter().any(|m| m.name == "周无证"));

    // Confirming the candidate: neither record has an ID, so the pupil's enrolment moves onto
    // the roster child; the child is listed neither as suspected nor as a probable match.
    let v: Value = serde_json::from_str(&c.tmp.ok(&[
        "--json",
        "crosscheck",
        "confirm",
        &child,
        "--pupil",
        &pupil,
    ]))
    .unwrap();
    assert_eq!(v["action"], "enrolments_moved");
    assert_eq!(v["enrolments_moved"], 1);
    let r = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    assert!(r.to_confirm.is_empty(), "{:?}", r.to_confirm);
    assert!(!r.suspected.iter().any(|s| s.name == "周无证"));
    assert_eq!(r.suspected.len(), before, "nobody else changes");
    let e = store::enrolments::list_by_child(c.reg.conn(), &child).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].status, "studying");
    // Confirming again is refused: the pupil record has no enrolment left.
    let out = c
        .tmp
        .run(&["crosscheck", "confirm", &child, "--pupil", &pupil]);
    assert!(!out.status.success());
}

#[test]
fn confirming_copies_the_id_when_one_record_has_it() {
    let mut c = county();
    // A pupil WITH an ID named like a roster child without one.
    let id = id_number("410423", "20150308", 77);
    let child = c.child("无证");
    let other = c.child("无证失学");
    let pupil = {
        let mut w = c.reg.writer(&c.actor).unwrap();
        let mut p = store::children::get(w.conn(), &child).unwrap().unwrap();
        p.meta = w.new_meta();
        p.household_id = None;
        p.id_number = Some(id.clone());
        p.id_key = Some(id.clone());
        store::children::put(w.conn(), &p).unwrap();
        enrol(&mut w, &p.meta.id, S1, "studying", 5);
        w.commit().unwrap();
        p.meta.id
    };
    let r =
        baoxue::crosscheck::confirm::confirm_match(&mut c.reg, &child, &pupil, &c.actor).unwrap();
    assert_eq!(r.action, "id_to_child");
    let k = store::children::get(c.reg.conn(), &child).unwrap().unwrap();
    assert_eq!(k.id_key.as_deref(), Some(id.as_str()));
    let settings = Settings::load(c.reg.conn()).unwrap();
    let x = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    assert!(!x.suspected.iter().any(|s| s.name == "周无证"));
    assert!(!x.to_confirm.iter().any(|s| s.name == "周无证"));
    // Two records with different IDs are two people: refused.
    let mut w = c.reg.writer(&c.actor).unwrap();
    let mut o = store::children::get(w.conn(), &other).unwrap().unwrap();
    let oid = id_number("410423", "20160404", 78);
    o.id_number = Some(oid.clone());
    o.id_key = Some(oid);
    o.meta = w.next_meta(&o.meta.clone());
    store::children::put(w.conn(), &o).unwrap();
    w.commit().unwrap();
    let e = baoxue::crosscheck::confirm::confirm_match(&mut c.reg, &other, &pupil, &c.actor)
        .unwrap_err();
    assert!(e.to_string().contains("身份证号不同"), "{e}");
}

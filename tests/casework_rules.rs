//! The rules of #5 that the hand-built county of `casework.rs` leaves out: a 休学 on the roll and
//! moves away with and without the destination named; every verification finding and the
//! township's view of the tasks; the monthly check of pupils on the roll against pupils present;
//! the case file's contents (reason, groups, 包保 persons, plan, each attempt's fields).

use crate::casework::{county, day, S1, S2, V1};
use crate::util::{id_number, TempRegister};
use baoxue::domain::{Child, Enrolment, Household};
use baoxue::register::Writer;
use baoxue::settings::Settings;
use baoxue::store;
use serde_json::Value;

fn child(
    w: &mut Writer<'_>,
    name: &str,
    birth: &str,
    seq: u32,
    household: bool,
    life: (&str, Option<&str>),
) -> String {
    let id = id_number("410423", &birth.replace('-', ""), seq);
    let household_id = household.then(|| {
        let h = Household {
            meta: w.new_meta(),
            head_name: "户主".into(),
            head_id_number: None,
            phone: None,
            address: None,
            village_code: V1.into(),
            priority_groups: vec![],
            note: None,
        };
        store::households::put(w.conn(), &h).unwrap();
        h.meta.id
    });
    let c = Child {
        meta: w.new_meta(),
        household_id,
        name: name.into(),
        sex: None,
        birth_date: Some(birth.into()),
        id_number: Some(id.clone()),
        id_key: Some(id),
        student_no: None,
        village_code: household.then(|| V1.to_string()),
        hukou_place: None,
        residence: None,
        flags: vec![],
        disability_type: None,
        disability_grade: None,
        life_status: life.0.into(),
        life_status_detail: life.1.map(str::to_string),
        note: None,
    };
    store::children::put(w.conn(), &c).unwrap();
    c.meta.id
}

fn enrol(w: &mut Writer<'_>, child: &str, status: &str) {
    let e = Enrolment {
        meta: w.new_meta(),
        child_id: child.into(),
        school_code: S1.into(),
        student_no: None,
        grade: Some(5),
        class_name: Some("1班".into()),
        entry_date: None,
        status: status.into(),
        status_date: Some("2026-09-01".into()),
        term: Some("2026秋".into()),
        note: None,
    };
    store::enrolments::put(w.conn(), &e).unwrap();
}

#[test]
fn suspension_on_the_roll_and_a_named_move_are_not_suspected_an_unnamed_move_is() {
    let mut c = county();
    let a = c.actor.clone();
    let mut w = c.reg.writer(&a).unwrap();
    // 休学 on the roll (the roster child and the school's record share the ID).
    child(&mut w, "欧休学", "2015-01-20", 61, true, ("normal", None));
    let t = child(&mut w, "欧休学", "2015-01-20", 61, false, ("normal", None));
    enrol(&mut w, &t, "suspended");
    // Moved away with the destination named: not suspected; without it: listed.
    child(
        &mut w,
        "鲁迁出",
        "2014-04-20",
        63,
        true,
        ("moved_away", Some("江苏省苏州市工业园区")),
    );
    child(
        &mut w,
        "孔迁出",
        "2014-05-20",
        65,
        true,
        ("moved_away", None),
    );
    w.commit().unwrap();
    let settings = Settings::load(c.reg.conn()).unwrap();
    let r = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    let names: Vec<&str> = r.suspected.iter().map(|s| s.name.as_str()).collect();
    assert!(!names.contains(&"欧休学"), "{names:?}");
    assert!(!names.contains(&"鲁迁出"), "{names:?}");
    let kong = r.suspected.iter().find(|s| s.name == "孔迁出").unwrap();
    assert_eq!(kong.category, "place_unnamed");
    assert_eq!(
        kong.reason,
        "学户册有，学籍无；登记为户籍迁出，但未写明迁往何处，请核实"
    );
    // The ten of the county plus 孔迁出.
    assert_eq!(r.suspected.len(), 11);
}

#[test]
fn every_finding_acts_on_the_register_and_the_township_sees_its_villages_tasks() {
    use baoxue::verification::{self, Finding};
    let mut c = county();
    let a = c.actor.clone();
    let made = verification::create_from_crosscheck(&mut c.reg, day("2026-09-15"), &a).unwrap();
    assert_eq!(made.created, 11);
    let task = |c: &crate::casework::County, key: &str| {
        store::verification_tasks::list_by_child(c.reg.conn(), &c.child(key)).unwrap()[0]
            .meta
            .id
            .clone()
    };
    let f = |finding: &str, detail: Option<&str>| Finding {
        finding: finding.into(),
        detail: detail.map(str::to_string),
        found_on: "2026-09-15".into(),
        found_by: "李村干部".into(),
    };
    // 外地就读 needs the school and the place, then marks the child studying elsewhere.
    let t = task(&c, "六岁");
    let e = verification::record(&mut c.reg, &t, f("外地就读", None), &a).unwrap_err();
    assert!(e.to_string().contains("须写明学校和地点"), "{e}");
    let r = verification::record(
        &mut c.reg,
        &t,
        f("外地就读", Some("郑州市金水区第一小学（郑州）")),
        &a,
    )
    .unwrap();
    assert!(r.child_updated);
    let kid = store::children::get(c.reg.conn(), &c.child("六岁"))
        .unwrap()
        .unwrap();
    assert_eq!(kid.life_status, "studying_elsewhere");
    assert_eq!(
        kid.life_status_detail.as_deref(),
        Some("郑州市金水区第一小学（郑州）")
    );
    // 死亡: the life status.
    let t = task(&c, "十五");
    let r = verification::record(&mut c.reg, &t, f("死亡", None), &a).unwrap();
    assert!(r.child_updated);
    // 身体原因 and 信息有误 need what was found; they clear nobody.
    let t = task(&c, "残疾");
    let e = verification::record(&mut c.reg, &t, f("身体原因", None), &a).unwrap_err();
    assert!(e.to_string().contains("身体原因须写明情况"), "{e}");
    let r = verification::record(
        &mut c.reg,
        &t,
        f("身体原因", Some("肢体二级，需评估安置")),
        &a,
    )
    .unwrap();
    assert!(!r.child_updated && !r.case_opened);
    let t = task(&c, "无证失学");
    let e = verification::record(&mut c.reg, &t, f("信息有误", None), &a).unwrap_err();
    assert!(e.to_string().contains("信息有误须写明"), "{e}");
    verification::record(
        &mut c.reg,
        &t,
        f("信息有误", Some("出生日期应为2016-04-14")),
        &a,
    )
    .unwrap();
    // An unknown finding is refused, naming the seven.
    let t = task(&c, "外地未详");
    let e = verification::record(&mut c.reg, &t, f("出去玩了", None), &a).unwrap_err();
    assert!(
        e.to_string().contains("在校就读、外地就读、确认失学辍学"),
        "{e}"
    );

    let settings = Settings::load(c.reg.conn()).unwrap();
    let x = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    let names: Vec<&str> = x.suspected.iter().map(|s| s.name.as_str()).collect();
    for gone in ["王六岁", "赵十五"] {
        assert!(!names.contains(&gone), "{gone} in {names:?}");
    }
    for kept in ["郑残疾", "钱无证"] {
        assert!(names.contains(&kept), "{kept} not in {names:?}");
    }

    // The township clerk sees the tasks of all its villages (V1 and V2 are both in 410423100:
    // the 11 made here and the county's earlier visit); a village clerk sees only the village's.
    let db = c.tmp.db.clone();
    drop(c.reg);
    let json = |args: &[&str]| -> Value {
        let mut v = vec!["--json"];
        v.extend_from_slice(args);
        serde_json::from_slice(&crate::util::run_cli(&db, &v).stdout).unwrap()
    };
    let township = json(&["verify", "list", "--area", "410423100"]);
    assert_eq!(township.as_array().unwrap().len(), 12, "{township:#}");
    let village = json(&["verify", "list", "--area", V1]);
    let n_v1 = village.as_array().unwrap().len();
    assert!(n_v1 > 0 && n_v1 < 12, "{n_v1}");
    assert!(village
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["area_code"] == V1));
    let open = json(&["verify", "list", "--area", "410423100", "--state", "open"]);
    assert_eq!(open.as_array().unwrap().len(), 11 - 4);
}

#[test]
fn monthly_check_lists_pupils_on_the_roll_never_present() {
    let c = county();
    let db = c.tmp.db.clone();
    drop(c.reg);
    let out = crate::util::run_cli(&db, &["--json", "monthly-check", "--month", "2026-09"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v.as_array().or_else(|| v["schools"].as_array()).unwrap();
    let s1 = list.iter().find(|s| s["school_code"] == S1).unwrap();
    // September 2026 to the 14th: 1-4, 7-10 and 14 (11 is a holiday) were recorded.
    assert_eq!(s1["days_recorded"], 9);
    assert_eq!(s1["on_roll"], 5);
    assert_eq!(s1["present"], 4);
    let m = s1["mismatches"].as_array().unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["name"], "朱长缺");
    assert_eq!(m[0]["absent_days"], 9);
    assert_eq!(m[0]["note"], "本月未到校：缺勤9天，请假0天");
    // A school with pupils on the roll and no attendance at all: every pupil is a mismatch.
    let s2 = list.iter().find(|s| s["school_code"] == S2).unwrap();
    let m = s2["mismatches"].as_array().unwrap();
    assert_eq!(m.len(), s2["on_roll"].as_u64().unwrap() as usize);
    assert!(m[0]["note"].as_str().unwrap().contains("人籍不符"));
}

#[test]
fn a_case_file_holds_reason_groups_responsible_persons_plan_and_every_attempt() {
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
    let id = id_number("410423", "20120606", 71);
    r.ok(&[
        "household",
        "add",
        "--head",
        "牛大山",
        "--village",
        "410423100201",
        "--group",
        "建档立卡(脱贫户)",
        "--child",
        &format!("牛小花,{id}"),
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
        "厌学",
        "--school-person",
        "周老师（城关镇初级中学）",
        "--township-person",
        "刘干部（城关镇）",
        "--village-person",
        "王支书（东村）",
        "--plan",
        "每周家访一次，联系心理老师",
        "--date",
        "2026-09-02",
    ]))
    .unwrap();
    assert_eq!(opened["reason_code"], "weariness");
    assert_eq!(opened["priority_groups"], serde_json::json!(["jiandang"]));
    assert_eq!(opened["resp_school"], "周老师（城关镇初级中学）");
    assert_eq!(opened["resp_township"], "刘干部（城关镇）");
    assert_eq!(opened["resp_village"], "王支书（东村）");
    assert_eq!(opened["plan"], "每周家访一次，联系心理老师");
    let short = baoxue::cases::short_id(opened["meta"]["id"].as_str().unwrap()).to_string();
    r.ok(&[
        "case",
        "transition",
        &short,
        "--to",
        "劝返中",
        "--date",
        "2026-09-03",
    ]);
    r.ok(&[
        "case",
        "attempt",
        &short,
        "--date",
        "2026-09-04",
        "--participants",
        "周老师（学校）",
        "--method",
        "法律",
        "--said",
        "讲义务教育法第五条",
        "--result",
        "家长同意考虑",
    ]);
    let shown: Value = serde_json::from_str(&r.ok(&["--json", "case", "show", &short])).unwrap();
    let attempt = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "attempt")
        .unwrap_or_else(|| panic!("{shown}"));
    let text = attempt.to_string();
    for want in [
        "2026-09-04",
        "周老师（学校）",
        "legal",
        "讲义务教育法第五条",
        "家长同意考虑",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    assert_eq!(shown["joint_attempts"], 0);
}

#[test]
fn a_list_child_matches_a_roll_pupil_by_normalised_id_or_is_a_probable_match_by_name_and_birth() {
    use crate::casework_attendance::{at, school, SCHOOL};
    let tmp = TempRegister::new();
    let a = at("2026-09-01T08:00:00+08:00");
    let mut reg = school(&tmp, &a);
    // A pupil whose ID ends in X, enrolled under one spelling of the name.
    let seq = (1..500)
        .find(|s| id_number("410423", "20160808", *s).ends_with('X'))
        .unwrap();
    let idx = id_number("410423", "20160808", seq);
    let mut w = reg.writer(&a).unwrap();
    let c = child(&mut w, "钱多多", "2016-08-08", seq, false, ("normal", None));
    let e = Enrolment {
        meta: w.new_meta(),
        child_id: c,
        school_code: SCHOOL.into(),
        student_no: None,
        grade: Some(5),
        class_name: Some("1班".into()),
        entry_date: None,
        status: "studying".into(),
        status_date: None,
        term: Some("2026秋".into()),
        note: None,
    };
    store::enrolments::put(w.conn(), &e).unwrap();
    w.commit().unwrap();
    drop(reg);
    // The 公安 extract: the same ID in lower case with blanks and another spelling of the name;
    // 张伟 (the roll's grade-3 张伟 has no ID) with an ID; a child nobody enrolled.
    let spaced = format!("{} {} {}", &idx[..6], &idx[6..14], idx[14..].to_lowercase());
    let zhang = id_number("410423", "20170101", 21);
    let nobody = id_number("410423", "20170303", 23);
    let csv = format!(
        "鲁山县0-18周岁户籍人口\n姓名,公民身份号码,出生日期,性别\n钱朵朵,{spaced},2016-08-08,女\n张伟,{zhang},2017-01-01,男\n孙无学,{nobody},2017-03-03,男\n"
    );
    let (bytes, _, _) = encoding_rs::GBK.encode(&csv);
    let f = tmp.path("户籍.csv");
    std::fs::write(&f, &bytes).unwrap();
    let rep: Value = serde_json::from_str(&tmp.ok(&[
        "--json",
        "import",
        "list",
        "hukou",
        f.to_str().unwrap(),
        "--source",
        "鲁山县公安局",
        "--as-of",
        "2026-10-31",
    ]))
    .unwrap();
    assert_eq!(rep["inserted"], 3, "{rep}");
    let r: Value =
        serde_json::from_str(&tmp.ok(&["--json", "crosscheck", "--as-of", "2026-10-31"])).unwrap();
    let names: Vec<&str> = r["suspected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["孙无学"], "{r:#}");
    assert_eq!(
        r["suspected"][0]["reason"],
        "户籍（鲁山县公安局 2026-10-31）有，学籍无"
    );
    assert_eq!(r["suspected"][0]["sources"], serde_json::json!(["hukou"]));
    assert_eq!(r["suspected"][0]["priority"], false);
    let m = r["to_confirm"].as_array().unwrap();
    assert_eq!(m.len(), 1, "{r:#}");
    assert_eq!(m[0]["name"], "张伟");
    assert_eq!(m[0]["candidates"].as_array().unwrap().len(), 1);
    assert_eq!(m[0]["candidates"][0]["has_id"], false);
    // The results per source, with the list's department and date.
    let hukou = r["by_source"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["kind"] == "hukou")
        .unwrap();
    assert_eq!(hukou["source"], "鲁山县公安局");
    assert_eq!(hukou["as_of"], "2026-10-31");
    assert_eq!(hukou["rows"], 3);
    assert_eq!(
        (hukou["suspected"].clone(), hukou["to_confirm"].clone()),
        (1.into(), 1.into())
    );
    let text = tmp.ok(&["crosscheck", "--as-of", "2026-10-31"]);
    assert!(
        text.contains("户籍（鲁山县公安局） 2026-10-31 版本，3 人：疑似 1 名，待确认 1 名"),
        "{text}"
    );
}

#[test]
fn a_probable_match_needs_the_same_village_when_both_records_name_one() {
    let mut c = county();
    let a = c.actor.clone();
    let mut w = c.reg.writer(&a).unwrap();
    // A roster child without an ID in V1; a pupil without an ID, same name and birth date, whose
    // record says V2: not the same child, so no probable match: the child is listed.
    let h = Household {
        meta: w.new_meta(),
        head_name: "户主".into(),
        head_id_number: None,
        phone: None,
        address: None,
        village_code: V1.into(),
        priority_groups: vec![],
        note: None,
    };
    store::households::put(w.conn(), &h).unwrap();
    for (village, household) in [(V1, Some(h.meta.id.clone())), (crate::casework::V2, None)] {
        let k = Child {
            meta: w.new_meta(),
            household_id: household.clone(),
            name: "周同名".into(),
            sex: None,
            birth_date: Some("2015-06-06".into()),
            id_number: None,
            id_key: None,
            student_no: None,
            village_code: Some(village.into()),
            hukou_place: None,
            residence: None,
            flags: vec![],
            disability_type: None,
            disability_grade: None,
            life_status: "normal".into(),
            life_status_detail: None,
            note: None,
        };
        store::children::put(w.conn(), &k).unwrap();
        if household.is_none() {
            enrol(&mut w, &k.meta.id, "studying");
        }
    }
    w.commit().unwrap();
    let settings = Settings::load(c.reg.conn()).unwrap();
    let r = baoxue::crosscheck::run(c.reg.conn(), &settings, day("2026-09-15")).unwrap();
    assert!(!r.to_confirm.iter().any(|m| m.name == "周同名"));
    let s = r.suspected.iter().find(|s| s.name == "周同名").unwrap();
    assert_eq!(s.category, "not_enrolled");
    assert_eq!(s.village.as_deref(), Some(V1));
}

#[test]
fn entitled_pupils_of_the_registers_dibao_households_missing_from_the_aid_list_are_listed() {
    use crate::casework_attendance::{at, school, SCHOOL};
    let tmp = TempRegister::new();
    drop(school(&tmp, &at("2026-09-01T08:00:00+08:00")));
    let schools: Value = serde_json::from_str(&tmp.ok(&["--json", "school", "list"])).unwrap();
    assert_eq!(schools[0]["code"], SCHOOL);
    assert_eq!(schools[0]["township_code"], "410423100");
    // 王小明's household is a 低保户 on the village roster; the aid centre lists only 李小红.
    let wang = id_number("410423", "20170305", 11);
    let li = id_number("410423", "20170406", 12);
    tmp.ok(&[
        "household",
        "add",
        "--head",
        "王大山",
        "--village",
        "410423100201",
        "--group",
        "低保户",
        "--child",
        &format!("王小明,{wang}"),
    ]);
    let f = tmp.path("资助.csv");
    std::fs::write(
        &f,
        format!("姓名,身份证号,资助项目,学期\n李小红,{li},营养餐,2026秋\n"),
    )
    .unwrap();
    tmp.ok(&[
        "import",
        "list",
        "aid",
        f.to_str().unwrap(),
        "--source",
        "鲁山县学生资助中心",
        "--as-of",
        "2026-10-31",
    ]);
    let v: Value = serde_json::from_str(&tmp.ok(&["--json", "list", "check"])).unwrap();
    let missing = v["aid_missing"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{v:#}");
    assert_eq!(missing[0]["name"], "王小明");
    assert_eq!(missing[0]["priority_groups"], serde_json::json!(["dibao"]));
    assert!(
        missing[0]["note"]
            .as_str()
            .unwrap()
            .contains("学户册登记为低保户"),
        "{v:#}"
    );
}

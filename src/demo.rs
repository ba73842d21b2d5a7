//! `baoxue demo`: a fictional county (青山县) with 3 townships, 12 villages, 8 schools, about
//! 2,000 households with their children, guardians and enrolments, and a few dropouts with case
//! files. Names and numbers come from a seeded generator; every ID number is valid and fictional.

use crate::domain::{Case, CaseEvent, Child, Enrolment, Guardian, Household, School, SiteKind};
use crate::error::{Error, Result};
use crate::idnum::check_char;
use crate::register::{Actor, NewSite, Register};
use crate::store;
use crate::store::divisions::Division;
use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::HashMap;

/// The demo county's 6-digit code (fictional).
pub const DEMO_COUNTY: &str = "410499";

const TOWNSHIPS: [(&str, &str); 3] = [("100", "城关镇"), ("101", "河口镇"), ("200", "石门乡")];
const VILLAGES: [[&str; 4]; 3] = [
    ["东街社区", "西关村", "柳树湾村", "杨庄村"],
    ["河口村", "王家寨村", "李楼村", "北坡村"],
    ["石门村", "后沟村", "马岭村", "南山村"],
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗",
];
const GIVEN: &[&str] = &[
    "子涵", "浩然", "一诺", "梓萱", "宇轩", "欣怡", "俊杰", "雨桐", "博文", "思琪", "明轩", "佳怡",
    "志强", "晓燕", "文博", "嘉怡", "天佑", "若曦", "家豪", "梦瑶", "建国", "秀英", "小龙", "丽娟",
    "国庆", "春梅", "振华", "桂兰",
];

/// What the demo wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub townships: usize,
    pub villages: usize,
    pub schools: usize,
    pub households: usize,
    pub children: usize,
    pub enrolments: usize,
    pub cases: usize,
}

/// The demo county's random seed: the same county every time.
const SEED: u64 = 20_260_901;

fn name(rng: &mut StdRng, surname: &str) -> String {
    format!("{surname}{}", GIVEN[rng.gen_range(0..GIVEN.len())])
}

/// Fills a fresh register (or one just initialised as a county) with the demo county.
pub fn load_demo(reg: &mut Register, actor: &Actor) -> Result<DemoSummary> {
    let site = match reg.site()? {
        None => reg.init_site(
            NewSite {
                kind: SiteKind::County,
                name: "青山县教育局".into(),
                region_code: DEMO_COUNTY.into(),
                school_code: None,
            },
            actor,
        )?,
        Some(s) if s.kind == SiteKind::County => s,
        Some(s) => {
            return Err(Error::invalid(
                "示例数据",
                format!(
                    "示例数据只能装入县级登记库，本库是{}（{}）",
                    s.kind.label(),
                    s.name
                ),
            ))
        }
    };
    if store::households::count(reg.conn())? > 0 || store::children::count(reg.conn())? > 0 {
        return Err(Error::invalid(
            "示例数据",
            "登记库中已有数据，示例数据只能装入空库",
        ));
    }
    let county = site.region_code.clone();
    let mut rng = StdRng::seed_from_u64(SEED);
    let today = actor.now.date_naive();
    let school_year = if today.month() >= 9 {
        today.year()
    } else {
        today.year() - 1
    };
    let cutoff = NaiveDate::from_ymd_opt(school_year, 8, 31).unwrap_or(today);
    let mut w = reg.writer(actor)?;
    let county_name = site.name.trim_end_matches("教育局").to_string();
    store::divisions::put(
        w.conn(),
        &Division {
            code: county.clone(),
            name: county_name,
            level: "county".into(),
        },
    )?;
    for (t, (tcode, tname)) in TOWNSHIPS.iter().enumerate() {
        store::divisions::put(
            w.conn(),
            &Division {
                code: format!("{county}{tcode}"),
                name: tname.to_string(),
                level: "township".into(),
            },
        )?;
        for (v, vname) in VILLAGES[t].iter().enumerate() {
            let code = format!("{county}{tcode}{:03}", 201 + v);
            store::divisions::put(
                w.conn(),
                &Division {
                    code,
                    name: vname.to_string(),
                    level: "village".into(),
                },
            )?;
        }
    }

    // Schools: per township a primary and a junior (城关 a nine-year school instead), plus a
    // special school at the county seat.
    let mut schools: Vec<School> = Vec::new();
    let mut school_no = 1;
    let mut add_school = |w: &mut crate::register::Writer<'_>,
                          name: String,
                          kind: &str,
                          township: &str|
     -> Result<School> {
        let s = School {
            meta: w.new_meta(),
            code: format!("21{county}{school_no:02}"),
            name,
            kind: kind.into(),
            township_code: Some(format!("{county}{township}")),
        };
        school_no += 1;
        store::schools::put(w.conn(), &s)?;
        w.audit(
            "schools",
            &s.meta.id,
            "insert",
            &["code", "name", "kind", "township_code"],
        )?;
        Ok(s)
    };
    for (t, (tcode, tname)) in TOWNSHIPS.iter().enumerate() {
        let short = tname.trim_end_matches(['镇', '乡']);
        schools.push(add_school(
            &mut w,
            format!("{short}中心小学"),
            "primary",
            tcode,
        )?);
        if t == 0 {
            schools.push(add_school(
                &mut w,
                "青山县实验小学".into(),
                "primary",
                tcode,
            )?);
            schools.push(add_school(
                &mut w,
                "青山县第一初级中学".into(),
                "junior",
                tcode,
            )?);
        } else if t == 1 {
            schools.push(add_school(
                &mut w,
                format!("{short}初级中学"),
                "junior",
                tcode,
            )?);
        } else {
            schools.push(add_school(
                &mut w,
                format!("{short}九年一贯制学校"),
                "nine-year",
                tcode,
            )?);
        }
    }
    schools.push(add_school(
        &mut w,
        "青山县特殊教育学校".into(),
        "special",
        "100",
    )?);

    let mut seq: HashMap<NaiveDate, u32> = HashMap::new();
    let mut id_for = |rng: &mut StdRng, birth: NaiveDate, male: bool| -> String {
        let n = seq.entry(birth).or_insert(rng.gen_range(0..40) * 2);
        *n += 2;
        let s = if male { *n + 1 } else { *n } % 1000;
        let first = format!("{county}{}{s:03}", birth.format("%Y%m%d"));
        format!("{first}{}", check_char(&first))
    };

    let mut summary = DemoSummary {
        townships: TOWNSHIPS.len(),
        villages: 12,
        schools: schools.len(),
        households: 0,
        children: 0,
        enrolments: 0,
        cases: 0,
    };
    let groups = [
        "tuopin_unstable",
        "edge_poverty",
        "sudden_hardship",
        "jiandang",
        "dibao",
    ];
    let mut dropout_candidates: Vec<(Child, Enrolment, Vec<String>, String, String)> = Vec::new();
    for (t, (tcode, _)) in TOWNSHIPS.iter().enumerate() {
        let township_schools: Vec<&School> = schools
            .iter()
            .filter(|s| {
                s.township_code.as_deref() == Some(&format!("{county}{tcode}"))
                    && s.kind != "special"
            })
            .collect();
        for (v, vname) in VILLAGES[t].iter().enumerate() {
            let village_code = format!("{county}{tcode}{:03}", 201 + v);
            let households = 160 + rng.gen_range(0..16);
            for h in 0..households {
                // Each household draws from its own stream: how many draws a household takes
                // depends on its children's ages, hence on today's date, and must not change how
                // many households and children the county has (tests and the README count them).
                let mut rng = StdRng::seed_from_u64(
                    SEED ^ ((t as u64) << 40) ^ ((v as u64) << 24) ^ h as u64,
                );
                let surname = SURNAMES[rng.gen_range(0..SURNAMES.len())];
                let head_birth = NaiveDate::from_ymd_opt(
                    rng.gen_range(1975..1995),
                    rng.gen_range(1..13),
                    rng.gen_range(1..29),
                )
                .unwrap_or(cutoff);
                let head_name = name(&mut rng, surname);
                let mut priority = Vec::new();
                if rng.gen_range(0..100) < 12 {
                    priority.push(groups[rng.gen_range(0..groups.len())].to_string());
                }
                let household = Household {
                    meta: w.new_meta(),
                    head_name: head_name.clone(),
                    head_id_number: Some(id_for(&mut rng, head_birth, true)),
                    phone: Some(format!(
                        "13{}{:08}",
                        rng.gen_range(0..10),
                        rng.gen_range(0..100_000_000u32)
                    )),
                    address: Some(format!("{vname}{}组{}号", 1 + h % 8, 1 + h)),
                    village_code: village_code.clone(),
                    priority_groups: priority.clone(),
                    note: None,
                };
                store::households::put(w.conn(), &household)?;
                w.audit(
                    "households",
                    &household.meta.id,
                    "insert",
                    &["head_name", "village_code"],
                )?;
                summary.households += 1;
                let kids = 1 + rng.gen_range(0..3);
                for _ in 0..kids {
                    let age_days = rng.gen_range(365..(18 * 365));
                    let birth = today - chrono::Duration::days(age_days);
                    let male = rng.gen_bool(0.52);
                    let has_id = rng.gen_range(0..100) < 97;
                    let id_number = has_id.then(|| id_for(&mut rng, birth, male));
                    let mut flags = Vec::new();
                    if rng.gen_range(0..100) < 15 {
                        flags.push("left_behind".to_string());
                    }
                    let disabled = rng.gen_range(0..100) < 2;
                    let child = Child {
                        meta: w.new_meta(),
                        household_id: Some(household.meta.id.clone()),
                        name: name(&mut rng, surname),
                        sex: Some(if male { "男" } else { "女" }.into()),
                        birth_date: Some(birth.to_string()),
                        id_key: id_number.clone(),
                        id_number,
                        student_no: None,
                        village_code: Some(village_code.clone()),
                        hukou_place: Some(format!("青山县{vname}")),
                        residence: household.address.clone(),
                        flags,
                        disability_type: disabled.then(|| {
                            ["physical", "intellectual", "hearing", "visual"][rng.gen_range(0..4)]
                                .to_string()
                        }),
                        disability_grade: disabled.then(|| format!("{}级", rng.gen_range(1..5))),
                        life_status: "normal".into(),
                        life_status_detail: None,
                        note: None,
                    };
                    let guardian = Guardian {
                        meta: w.new_meta(),
                        child_id: child.meta.id.clone(),
                        name: head_name.clone(),
                        relation: Some(
                            if rng.gen_bool(0.8) {
                                "父亲"
                            } else {
                                "祖父"
                            }
                            .into(),
                        ),
                        phone: household.phone.clone(),
                    };
                    // Age at the cutoff decides the grade.
                    let age = cutoff.years_since(birth).unwrap_or(0) as i64;
                    let mut child = child;
                    let mut enrolment = None;
                    if (6..=16).contains(&age) && rng.gen_range(0..1000) > 6 {
                        let grade = (age - 5).min(9);
                        let graduated = age >= 15;
                        let school = if grade <= 6 {
                            township_schools.iter().find(|s| s.kind != "junior")
                        } else {
                            township_schools.iter().find(|s| s.kind != "primary")
                        };
                        let school = if disabled && rng.gen_bool(0.5) {
                            schools.last()
                        } else {
                            school.copied()
                        };
                        if let Some(school) = school {
                            let student_no = child.id_number.as_ref().map(|id| format!("G{id}"));
                            child.student_no = student_no.clone();
                            // Graduates finished grade 9 in the summer of `grad_year`.
                            let grad_year = school_year - (age as i32 - 15);
                            let entry_year = if graduated {
                                grad_year - 9
                            } else {
                                school_year - (grade - 1) as i32
                            };
                            enrolment = Some(Enrolment {
                                meta: w.new_meta(),
                                child_id: child.meta.id.clone(),
                                school_code: school.code.clone(),
                                student_no,
                                grade: Some(grade),
                                class_name: Some(format!("{}班", 1 + rng.gen_range(0..3))),
                                entry_date: NaiveDate::from_ymd_opt(entry_year, 9, 1)
                                    .map(|d| d.to_string()),
                                status: if graduated { "graduated" } else { "studying" }.into(),
                                status_date: graduated.then(|| format!("{grad_year}-07-01")),
                                term: Some(if graduated {
                                    format!("{grad_year}春")
                                } else {
                                    format!("{school_year}秋")
                                }),
                                note: None,
                            });
                        }
                    }
                    store::children::put(w.conn(), &child)?;
                    w.audit(
                        "children",
                        &child.meta.id,
                        "insert",
                        &["name", "sex", "birth_date", "id_number"],
                    )?;
                    store::guardians::put(w.conn(), &guardian)?;
                    w.audit(
                        "guardians",
                        &guardian.meta.id,
                        "insert",
                        &["name", "relation", "phone"],
                    )?;
                    summary.children += 1;
                    if let Some(e) = enrolment {
                        store::enrolments::put(w.conn(), &e)?;
                        w.audit(
                            "enrolments",
                            &e.meta.id,
                            "insert",
                            &["school_code", "grade", "status"],
                        )?;
                        summary.enrolments += 1;
                        if e.status == "studying"
                            && e.grade.unwrap_or(0) >= 7
                            && dropout_candidates.len() < 7
                            && rng.gen_range(0..100) < 3
                        {
                            dropout_candidates.push((
                                child.clone(),
                                e,
                                priority.clone(),
                                TOWNSHIPS[t].1.to_string(),
                                vname.to_string(),
                            ));
                        }
                    }
                }
            }
        }
    }

    // A few dropouts with case files in different states.
    let reasons = [
        "weariness",
        "work",
        "study_difficulty",
        "family_hardship",
        "early_marriage",
        "distance",
        "health",
    ];
    let states = [
        "confirmed",
        "persuading",
        "persuading",
        "returned",
        "persuading",
        "confirmed",
        "persuading",
    ];
    for (i, (child, enrolment, priority, township, village)) in
        dropout_candidates.into_iter().enumerate()
    {
        let left_on = today - chrono::Duration::days(30 + 7 * i as i64);
        let mut e = enrolment.clone();
        e.meta = w.next_meta(&enrolment.meta);
        e.status = if states[i] == "returned" {
            "studying"
        } else {
            "dropped_out"
        }
        .into();
        e.status_date = Some(left_on.to_string());
        store::enrolments::put(w.conn(), &e)?;
        w.audit(
            "enrolments",
            &e.meta.id,
            "update",
            &["status", "status_date"],
        )?;
        let case = Case {
            meta: w.new_meta(),
            child_id: child.meta.id.clone(),
            state: states[i].into(),
            reason_code: Some(reasons[i % reasons.len()].into()),
            priority_groups: priority,
            resp_school: Some(format!("{}（班主任）", name(&mut rng, "周"))),
            resp_township: Some(format!("{}（{}包片干部）", name(&mut rng, "刘"), township)),
            resp_village: Some(format!("{}（{}干部）", name(&mut rng, "陈"), village)),
            plan: Some(
                "班主任与村干部每周家访一次，联合乡镇干部宣讲义务教育法，落实营养餐和生活补助。"
                    .into(),
            ),
            opened_on: left_on.to_string(),
            closed_on: None,
        };
        store::cases::put(w.conn(), &case)?;
        w.audit(
            "cases",
            &case.meta.id,
            "insert",
            &["state", "reason_code", "plan"],
        )?;
        let mut events = vec![(
            "opened",
            None,
            Some("confirmed"),
            serde_json::json!({"note": "学校报告连续缺课，经核查确认辍学"}),
        )];
        let attempts = match states[i] {
            "confirmed" => 0,
            "returned" => 3,
            _ => 1 + i % 3,
        };
        if attempts > 0 {
            events.push((
                "transition",
                Some("confirmed"),
                Some("persuading"),
                serde_json::json!({"note": "启动劝返"}),
            ));
        }
        let methods = ["emotional", "economic", "administrative", "legal"];
        for a in 0..attempts {
            events.push((
                "attempt",
                None,
                None,
                serde_json::json!({
                    "participants": ["班主任", "村干部", "乡镇干部"],
                    "joint": true,
                    "method": methods[a % methods.len()],
                    "said": "讲解义务教育法规定的监护人责任，了解孩子思想顾虑",
                    "result": if a + 1 == attempts && states[i] == "returned" { "同意返校" } else { "家长表示考虑" },
                }),
            ));
        }
        if states[i] == "returned" {
            events.push((
                "transition",
                Some("persuading"),
                Some("returned"),
                serde_json::json!({"school": enrolment.school_code, "placement": "insert_class"}),
            ));
        }
        for (n, (kind, from, to, payload)) in events.into_iter().enumerate() {
            let ev = CaseEvent {
                meta: w.new_meta(),
                case_id: case.meta.id.clone(),
                on_date: (left_on + chrono::Duration::days(3 * n as i64)).to_string(),
                kind: kind.into(),
                from_state: from.map(str::to_string),
                to_state: to.map(str::to_string),
                payload: payload.to_string(),
                operator: actor.operator.clone(),
            };
            store::case_events::insert(w.conn(), &ev)?;
            w.audit("case_events", &ev.meta.id, "insert", &["kind", "payload"])?;
        }
        summary.cases += 1;
    }
    w.commit()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn on(day: (i32, u32, u32)) -> DemoSummary {
        let mut reg = Register::open_in_memory().unwrap();
        let actor = Actor {
            operator: "测试员".into(),
            now: chrono::Utc
                .with_ymd_and_hms(day.0, day.1, day.2, 9, 0, 0)
                .unwrap(),
        };
        load_demo(&mut reg, &actor).unwrap()
    }

    #[test]
    fn the_demo_county_has_the_same_households_and_children_whatever_the_day() {
        let a = on((2026, 11, 23));
        for day in [(2026, 11, 24), (2027, 3, 1), (2026, 9, 1)] {
            let b = on(day);
            assert_eq!(
                (a.households, a.children),
                (b.households, b.children),
                "{day:?}"
            );
        }
    }
}

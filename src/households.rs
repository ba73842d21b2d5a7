//! 学户册: households and their children, as a village clerk keeps them. Adding a household
//! checks every child once (ID number, birth date, sex), then writes the household, its children
//! and their guardians in one transaction.

use crate::domain::{Child, Guardian, Household};
use crate::error::{Error, Result};
use crate::idnum::{self, IdNumber, Sex};
use crate::register::{Actor, Register};
use crate::store;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A household as typed in the form or the CLI.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewHousehold {
    pub head_name: String,
    #[serde(default)]
    pub head_id_number: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    pub village_code: String,
    #[serde(default)]
    pub priority_groups: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub children: Vec<NewChild>,
}

/// A child as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewChild {
    pub name: String,
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub birth_date: Option<String>,
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default)]
    pub student_no: Option<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub disability_type: Option<String>,
    #[serde(default)]
    pub disability_grade: Option<String>,
    #[serde(default)]
    pub guardians: Vec<NewGuardian>,
}

/// A guardian as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewGuardian {
    pub name: String,
    #[serde(default)]
    pub relation: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A child's identity after checking: the ID (if any) wins over typed birth date and sex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPerson {
    pub name: String,
    pub id_number: Option<String>,
    pub birth_date: NaiveDate,
    pub sex: Option<Sex>,
    /// Disagreements between the typed values and the ID, in Chinese.
    pub warnings: Vec<String>,
}

/// Cleans a person's name: trims, removes full-width and other padding inside Han names, keeps `·`.
pub fn clean_name(raw: &str) -> String {
    raw.chars()
        .filter(|c| {
            !c.is_whitespace() && !matches!(c, '\u{3000}' | '\u{00A0}' | '\u{200B}' | '\u{FEFF}')
        })
        .map(|c| {
            if matches!(c, '•' | '・' | '．' | '‧') {
                '·'
            } else {
                c
            }
        })
        .collect()
}

/// Parses a birth date typed as `2015-03-08`, `2015/3/8`, `2015.3.8`, `2015年3月8日` or `20150308`.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = idnum::normalize(raw);
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(&s, "%Y%m%d").ok();
    }
    let parts: Vec<&str> = s
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != 3 {
        return None;
    }
    let y: i32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let d: u32 = parts[2].parse().ok()?;
    if !(1900..=2100).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Checks one person's identity fields. The ID number, when present, must be valid; without one a
/// real birth date is required, or nothing tells the child's school age.
pub fn check_person(
    name: &str,
    id_number: Option<&str>,
    birth: Option<&str>,
    sex: Option<&str>,
) -> Result<CheckedPerson> {
    let name = clean_name(name);
    if name.is_empty() {
        return Err(Error::invalid("姓名", "不能为空"));
    }
    let typed_birth = match birth.map(str::trim).filter(|s| !s.is_empty()) {
        Some(b) => Some(parse_date(b).ok_or_else(|| {
            Error::invalid(
                "出生日期",
                format!("“{b}”不是有效日期，请写成 2015-03-08 这样的格式"),
            )
        })?),
        None => None,
    };
    let typed_sex = match sex.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(
            Sex::parse(s)
                .ok_or_else(|| Error::invalid("性别", format!("“{s}”无法识别，请填 男 或 女")))?,
        ),
        None => None,
    };
    let mut warnings = Vec::new();
    match id_number.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => {
            let id = IdNumber::parse(raw)?;
            if let Some(b) = typed_birth {
                if b != id.birth_date() {
                    warnings.push(format!(
                        "填写的出生日期 {b} 与身份证号不符，已按身份证号记为 {}",
                        id.birth_date()
                    ));
                }
            }
            if let Some(s) = typed_sex {
                if s != id.sex() {
                    warnings.push(format!(
                        "填写的性别“{}”与身份证号不符，已按身份证号记为“{}”",
                        s.as_str(),
                        id.sex().as_str()
                    ));
                }
            }
            Ok(CheckedPerson {
                name,
                birth_date: id.birth_date(),
                sex: Some(id.sex()),
                id_number: Some(id.as_str().to_string()),
                warnings,
            })
        }
        None => {
            let birth_date = typed_birth.ok_or_else(|| {
                Error::invalid(
                    "出生日期",
                    "没有身份证号的儿童必须填写出生日期，否则无法判断是否适龄",
                )
            })?;
            Ok(CheckedPerson {
                name,
                id_number: None,
                birth_date,
                sex: typed_sex,
                warnings,
            })
        }
    }
}

fn check_village_code(code: &str) -> Result<String> {
    let code = code.trim();
    if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            "村代码",
            format!("“{code}”应为12位统计用区划代码（县6位+乡镇3位+村3位）"),
        ));
    }
    Ok(code.to_string())
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A household with its live children, for lists and the UI.
#[derive(Debug, Clone, Serialize)]
pub struct HouseholdView {
    pub household: Household,
    pub children: Vec<ChildView>,
}

/// A child with its guardians.
#[derive(Debug, Clone, Serialize)]
pub struct ChildView {
    pub child: Child,
    pub guardians: Vec<Guardian>,
}

/// Adds a household and its children in one transaction; returns it as stored.
pub fn add_household(
    reg: &mut Register,
    new: NewHousehold,
    actor: &Actor,
) -> Result<HouseholdView> {
    let head_name = clean_name(&new.head_name);
    if head_name.is_empty() {
        return Err(Error::invalid("户主姓名", "不能为空"));
    }
    let village_code = check_village_code(&new.village_code)?;
    let head_id = match opt(&new.head_id_number) {
        Some(raw) => Some(IdNumber::parse(&raw)?.as_str().to_string()),
        None => None,
    };
    let codes = crate::codes::codes();
    let mut priority_groups = Vec::new();
    for g in &new.priority_groups {
        let code = crate::codes::lookup(&codes.priority_groups, g)
            .ok_or_else(|| Error::invalid("重点户类别", format!("“{g}”不在代码表中")))?;
        priority_groups.push(code.code.clone());
    }
    let mut checked = Vec::new();
    for (i, c) in new.children.iter().enumerate() {
        let person = check_person(
            &c.name,
            c.id_number.as_deref(),
            c.birth_date.as_deref(),
            c.sex.as_deref(),
        )
        .map_err(|e| Error::invalid(&format!("第{}个孩子", i + 1), e.to_string()))?;
        let mut flags = Vec::new();
        for f in &c.flags {
            let code = crate::codes::lookup(&codes.child_flags, f)
                .ok_or_else(|| Error::invalid("儿童类别", format!("“{f}”不在代码表中")))?;
            flags.push(code.code.clone());
        }
        let disability_type = match opt(&c.disability_type) {
            Some(t) => Some(
                crate::codes::lookup(&codes.disability_types, &t)
                    .ok_or_else(|| {
                        Error::invalid(
                            "残疾类别",
                            format!("“{t}”不在代码表中（视力 听力 言语 肢体 智力 精神 多重）"),
                        )
                    })?
                    .code
                    .clone(),
            ),
            None => None,
        };
        checked.push((person, c, flags, disability_type));
    }

    let mut w = reg.writer(actor)?;
    let meta = w.new_meta();
    let household = Household {
        meta,
        head_name,
        head_id_number: head_id,
        phone: opt(&new.phone),
        address: opt(&new.address),
        village_code: village_code.clone(),
        priority_groups,
        note: opt(&new.note),
    };
    store::households::put(w.conn(), &household)?;
    let hid = household.meta.id.clone();
    w.audit(
        "households",
        &hid,
        "insert",
        &[
            "head_name",
            "head_id_number",
            "phone",
            "address",
            "village_code",
            "priority_groups",
        ],
    )?;
    for (person, c, flags, disability_type) in checked {
        let student_no = opt(&c.student_no);
        let id_key = idnum::link_key(person.id_number.as_deref(), student_no.as_deref());
        let child = Child {
            meta: w.new_meta(),
            household_id: Some(hid.clone()),
            name: person.name,
            sex: person.sex.map(|s| s.as_str().to_string()),
            birth_date: Some(person.birth_date.to_string()),
            id_number: person.id_number,
            id_key,
            student_no,
            village_code: Some(village_code.clone()),
            hukou_place: None,
            residence: household.address.clone(),
            flags,
            disability_type,
            disability_grade: opt(&c.disability_grade),
            life_status: "normal".into(),
            life_status_detail: None,
            note: None,
        };
        store::children::put(w.conn(), &child)?;
        w.audit(
            "children",
            &child.meta.id,
            "insert",
            &[
                "name",
                "sex",
                "birth_date",
                "id_number",
                "student_no",
                "flags",
            ],
        )?;
        for g in &c.guardians {
            let name = clean_name(&g.name);
            if name.is_empty() {
                continue;
            }
            let guardian = Guardian {
                meta: w.new_meta(),
                child_id: child.meta.id.clone(),
                name,
                relation: opt(&g.relation),
                phone: opt(&g.phone),
            };
            store::guardians::put(w.conn(), &guardian)?;
            w.audit(
                "guardians",
                &guardian.meta.id,
                "insert",
                &["name", "relation", "phone"],
            )?;
        }
    }
    w.commit()?;
    get_household(reg, &hid)?.ok_or_else(|| Error::NotFound {
        what: "户".into(),
        key: hid,
    })
}

/// One household with its children and guardians.
pub fn get_household(reg: &Register, id: &str) -> Result<Option<HouseholdView>> {
    match store::households::get(reg.conn(), id)? {
        Some(h) => Ok(Some(view(reg, h)?)),
        None => Ok(None),
    }
}

fn view(reg: &Register, household: Household) -> Result<HouseholdView> {
    let mut children = Vec::new();
    for child in store::children::list_by_household(reg.conn(), &household.meta.id)? {
        let guardians = store::guardians::list_by_child(reg.conn(), &child.meta.id)?;
        children.push(ChildView { child, guardians });
    }
    Ok(HouseholdView {
        household,
        children,
    })
}

/// What to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HouseholdQuery {
    /// Name, ID number or 学籍号 of the head or any child.
    #[serde(default)]
    pub search: Option<String>,
    /// A division code prefix (village, township or county).
    #[serde(default)]
    pub area: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub offset: Option<i64>,
}

/// Households with their children, filtered.
pub fn list_households(reg: &Register, q: &HouseholdQuery) -> Result<Vec<HouseholdView>> {
    let limit = q.limit.unwrap_or(200).clamp(1, 10_000);
    let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let rows = match search {
        Some(text) => store::households::search(reg.conn(), &idnum::normalize(text), limit)?,
        None => {
            store::households::list(reg.conn(), q.area.as_deref(), limit, q.offset.unwrap_or(0))?
        }
    };
    rows.into_iter().map(|h| view(reg, h)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::SiteKind;
    use crate::register::NewSite;
    use chrono::{DateTime, Utc};

    /// A register set up as 张庄村 (410423100201), and its clerk. Shared by the roster tests.
    pub(crate) fn village() -> (Register, Actor) {
        let actor = Actor::new(
            "李会计",
            DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        );
        let mut r = Register::open_in_memory().unwrap();
        r.init_site(
            NewSite {
                kind: SiteKind::Village,
                name: "张庄村".into(),
                region_code: "410423100201".into(),
                school_code: None,
            },
            &actor,
        )
        .unwrap();
        (r, actor)
    }

    #[test]
    fn dates_in_every_form() {
        let d = NaiveDate::from_ymd_opt(2015, 3, 8).unwrap();
        for s in [
            "2015-03-08",
            "2015/3/8",
            "2015.3.8",
            "2015年3月8日",
            "20150308",
            " 2015-3-8 ",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(parse_date("2015-02-30"), None);
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name(" 宝　玉 "), "宝玉");
        assert_eq!(clean_name("阿依古丽·买买提"), "阿依古丽·买买提");
    }

    #[test]
    fn id_wins_over_typed_birth_and_sex() {
        let p = check_person(
            "张三",
            Some("11010519491231002X"),
            Some("1950-01-01"),
            Some("男"),
        )
        .unwrap();
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(p.sex, Some(Sex::Female));
        assert_eq!(p.warnings.len(), 2);
        assert!(check_person("李四", None, None, None).is_err());
    }

    #[test]
    fn household_is_stored_with_children_and_audit() {
        let (mut r, actor) = village();
        let new = NewHousehold {
            head_name: "王大山".into(),
            village_code: "410423100201".into(),
            priority_groups: vec!["低保户".into()],
            children: vec![NewChild {
                name: "王小明".into(),
                id_number: Some("11010520150308001X".replace(
                    'X',
                    &crate::idnum::check_char("11010520150308001").to_string(),
                )),
                guardians: vec![NewGuardian {
                    name: "王大山".into(),
                    relation: Some("父亲".into()),
                    phone: Some("13812345678".into()),
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let v = add_household(&mut r, new, &actor).unwrap();
        assert_eq!(v.children.len(), 1);
        assert_eq!(
            v.children[0].child.birth_date.as_deref(),
            Some("2015-03-08")
        );
        assert_eq!(v.children[0].guardians.len(), 1);
        assert_eq!(v.household.priority_groups, vec!["dibao".to_string()]);
        assert!(store::audit::count(r.conn()).unwrap() >= 4);
        assert_eq!(store::audit::verify(r.conn()).unwrap(), None);
        let listed = list_households(
            &r,
            &HouseholdQuery {
                search: Some("小明".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(listed.len(), 1);
    }

    #[test]
    fn bad_child_writes_nothing() {
        let (mut r, actor) = village();
        let new = NewHousehold {
            head_name: "赵四".into(),
            village_code: "410423100201".into(),
            children: vec![NewChild {
                name: "赵小".into(),
                id_number: Some("11010219840506970X".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let err = add_household(&mut r, new, &actor).unwrap_err();
        assert!(err.to_string().contains("校验位"));
        assert_eq!(store::households::count(r.conn()).unwrap(), 0);
    }
}

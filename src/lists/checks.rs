//! Information reports over the departments' lists (not suspected dropouts):
//! - pupils on the rolls whose ID is on no hukou list (migrant or out-of-county hukou);
//! - children on the disabled register who are enrolled (with school and grade);
//! - 应享尽享: pupils on a poverty or welfare list, from a 建档立卡 / 低保 / 特困 household of the
//!   register, or disabled, who are on no aid list.
//!
//! Each part is computed only when the lists it needs are loaded (`hukou_loaded`, `aid_loaded`).

use super::query::{self, merge_groups, Presence};
use crate::codes::{codes, name_of};
use crate::error::Result;
use crate::idnum::mask_id;
use crate::store::population;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A pupil named in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pupil {
    pub child_id: String,
    pub name: String,
    /// Full in the core; masked by [`Checks::masked`] before it is shown.
    pub id_number: Option<String>,
    pub school_code: String,
    pub grade: Option<i64>,
    pub village: Option<String>,
    /// What the report says about the pupil, in Chinese.
    pub note: String,
    /// Source KINDs naming the pupil.
    pub sources: Vec<String>,
    pub priority_groups: Vec<String>,
}

/// The three information reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Checks {
    pub hukou_loaded: bool,
    pub aid_loaded: bool,
    /// Pupils studying that the checks looked at.
    pub pupils_checked: usize,
    /// Pupils studying without any ID number (cannot be compared with the lists).
    pub pupils_without_id: usize,
    /// Pupils whose ID is on no current hukou list.
    pub not_on_hukou: Vec<Pupil>,
    /// Children on a current disabled list who are enrolled.
    pub disabled_enrolled: Vec<Pupil>,
    /// Pupils on a poverty / welfare list or disabled, on no current aid list.
    pub aid_missing: Vec<Pupil>,
}

impl Checks {
    pub fn masked(mut self) -> Checks {
        for p in self
            .not_on_hukou
            .iter_mut()
            .chain(self.disabled_enrolled.iter_mut())
            .chain(self.aid_missing.iter_mut())
        {
            p.id_number = p.id_number.as_deref().map(mask_id);
        }
        self
    }
}

/// Register groups entitled to 两免一补 / 营养餐 / 生活补助 (应享尽享): 建档立卡 (脱贫户), 低保,
/// 特困 households, disabled children.
const ENTITLED: &[&str] = &["jiandang", "tuopin_unstable", "dibao", "tekun", "disabled"];

fn group_names(groups: &[String]) -> String {
    groups
        .iter()
        .map(|g| name_of(&codes().priority_groups, g))
        .collect::<Vec<_>>()
        .join("、")
}

/// Runs the information reports. `county` is the county's 6-digit code (to tell an out-of-county
/// ID number from one of this county that the hukou list lacks).
pub fn run(conn: &Connection, county: &str) -> Result<Checks> {
    let lists = query::by_person(conn, &[])?;
    let loaded = crate::store::list_versions::list_current(conn, None)?;
    let mut out = Checks {
        hukou_loaded: loaded.iter().any(|v| v.kind == "hukou"),
        aid_loaded: loaded.iter().any(|v| v.kind == "aid"),
        ..Checks::default()
    };
    let people: HashMap<String, population::PersonRow> = population::list_people(conn)?
        .into_iter()
        .map(|p| (p.child_id.clone(), p))
        .collect();
    // What the register itself says (any record of the person: the roster's household groups,
    // the child's disability): the groups entitled to aid.
    let mut register_groups: HashMap<&str, Vec<String>> = HashMap::new();
    for p in people.values() {
        if let Some(k) = p.id_key.as_deref() {
            let e = register_groups.entry(k).or_default();
            for g in &p.groups {
                if ENTITLED.contains(&g.as_str()) && !e.contains(g) {
                    e.push(g.clone());
                }
            }
        }
    }
    // One row per pupil studying: the first studying enrolment.
    let mut studying: BTreeMap<String, population::EnrolmentRow> = BTreeMap::new();
    for e in population::list_enrolments(conn)? {
        if e.status == "studying" {
            studying.entry(e.child_id.clone()).or_insert(e);
        }
    }
    let empty = Presence::default();
    let mut seen_keys = std::collections::HashSet::new();
    for (child_id, e) in &studying {
        let Some(p) = people.get(child_id) else {
            continue;
        };
        if p.life_status == "deceased" {
            continue;
        }
        out.pupils_checked += 1;
        let Some(key) = p.id_key.clone() else {
            out.pupils_without_id += 1;
            continue;
        };
        if !seen_keys.insert(key.clone()) {
            continue; // the same person enrolled twice: reported once
        }
        let pres = lists.get(&key).unwrap_or(&empty);
        let pupil = |note: String, groups: Vec<String>| Pupil {
            child_id: child_id.clone(),
            name: p.name.clone(),
            id_number: Some(key.clone()),
            school_code: e.school_code.clone(),
            grade: e.grade,
            village: p.village_code.clone(),
            note,
            sources: pres.kinds(),
            priority_groups: groups,
        };
        if out.hukou_loaded && !pres.has("hukou") {
            let note = if key.starts_with(county) && !county.is_empty() {
                "身份证号为本县签发，但不在户籍名单上：请核实户籍是否迁出".to_string()
            } else {
                "外县（外省）户籍：不在本县户籍名单上".to_string()
            };
            out.not_on_hukou.push(pupil(note, pres.groups()));
        }
        if let Some(m) = pres.mentions.iter().find(|m| m.kind == "disabled") {
            out.disabled_enrolled.push(pupil(
                format!(
                    "{}有{}，在读（学校{}{}）",
                    m.label,
                    m.category
                        .as_deref()
                        .map(|c| format!("，残疾类别{c}"))
                        .unwrap_or_default(),
                    e.school_code,
                    e.grade
                        .map(|g| format!("，{}", name_of(&codes().grades, &g.to_string())))
                        .unwrap_or_default()
                ),
                pres.groups(),
            ));
        }
        if out.aid_loaded && !pres.has("aid") {
            let mut groups: Vec<String> = pres
                .mentions
                .iter()
                .filter(|m| matches!(m.kind.as_str(), "poverty" | "welfare" | "disabled"))
                .flat_map(|m| m.groups.iter().cloned())
                .collect();
            if p.disability_type.is_some() {
                groups.push("disabled".into());
            }
            let in_register = register_groups
                .get(key.as_str())
                .cloned()
                .unwrap_or_default();
            groups.extend(in_register.iter().cloned());
            let groups = merge_groups(groups.iter());
            if !groups.is_empty() {
                let mut from: Vec<String> = pres
                    .mentions
                    .iter()
                    .filter(|m| matches!(m.kind.as_str(), "poverty" | "welfare" | "disabled"))
                    .map(|m| m.label.clone())
                    .collect();
                if !in_register.is_empty() {
                    from.push(format!(
                        "学户册登记为{}",
                        group_names(&merge_groups(in_register.iter()))
                    ));
                }
                let note = format!(
                    "{}（{}），不在任何资助名单上：请核实是否应享未享",
                    group_names(&groups),
                    if from.is_empty() {
                        "学籍登记为残疾".to_string()
                    } else {
                        from.join("、")
                    }
                );
                out.aid_missing.push(pupil(note, groups));
            }
        }
    }
    Ok(out)
}

//! What a trusted site may write: a school its own school's records, a village its 12-digit
//! code, a township its 9-digit prefix, the county everything. `Scope::admits` decides for one
//! record, looking its parents up in the bundle first and then in the register.

use crate::domain::SiteKind;
use crate::error::Result;
use crate::store::rows;
use rusqlite::types::Value;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};

/// The area a site's records must lie in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Division-code prefix (9-digit township or 12-digit village).
    Area(String),
    /// A school's code.
    School(String),
}

impl Scope {
    pub fn of(kind: SiteKind, region_code: &str, school_code: Option<&str>) -> Scope {
        match kind {
            SiteKind::County => Scope::All,
            SiteKind::Township | SiteKind::Village => Scope::Area(region_code.to_string()),
            SiteKind::School => Scope::School(school_code.unwrap_or("").to_string()),
        }
    }

    /// Human description, for messages.
    pub fn describe(&self) -> String {
        match self {
            Scope::All => "全县".into(),
            Scope::Area(p) => format!("区划代码 {p}"),
            Scope::School(s) => format!("学校 {s}"),
        }
    }
}

/// A record as the scope check sees it: its table and a few columns by name.
pub struct RecordView<'a> {
    pub table: &'a str,
    pub id: &'a str,
    pub get: &'a dyn Fn(&str) -> Option<&'a Value>,
}

fn text(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::Text(s)) => Some(s.as_str()),
        _ => None,
    }
}

/// What the bundle itself says about parents, so a child and its enrolment can arrive together.
#[derive(Default)]
pub struct BundleIndex {
    /// child id → (village_code, household_id)
    pub children: HashMap<String, (Option<String>, Option<String>)>,
    /// household id → village code
    pub households: HashMap<String, String>,
    /// (child id, school code) of every enrolment in the bundle
    pub enrolled: HashSet<(String, String)>,
    /// case id → child id
    pub cases: HashMap<String, String>,
    /// household ids referenced by children that are in scope (filled during the check)
    pub households_of_children: HashSet<String>,
}

/// Decides whether records lie in a scope.
pub struct Checker<'a> {
    pub scope: &'a Scope,
    pub conn: &'a Connection,
    pub index: &'a BundleIndex,
}

impl Checker<'_> {
    fn area_ok(&self, prefix: &str, code: Option<&str>) -> bool {
        code.is_some_and(|c| c.starts_with(prefix))
    }

    fn child_in_scope(&self, child_id: &str) -> Result<bool> {
        match self.scope {
            Scope::All => Ok(true),
            Scope::School(code) => Ok(self
                .index
                .enrolled
                .contains(&(child_id.to_string(), code.clone()))
                || rows::child_enrolled_at(self.conn, child_id, code)?),
            Scope::Area(prefix) => {
                let found = match self.index.children.get(child_id) {
                    Some(c) => Some(c.clone()),
                    None => rows::child_area(self.conn, child_id)?,
                };
                let Some((village, household)) = found else {
                    return Ok(false);
                };
                if let Some(v) = village {
                    return Ok(v.starts_with(prefix.as_str()));
                }
                match household {
                    Some(h) => self.household_in_scope(&h),
                    None => Ok(false),
                }
            }
        }
    }

    fn household_in_scope(&self, id: &str) -> Result<bool> {
        match self.scope {
            Scope::All => Ok(true),
            Scope::School(_) => Ok(self.index.households_of_children.contains(id)),
            Scope::Area(prefix) => {
                let v = match self.index.households.get(id) {
                    Some(v) => Some(v.clone()),
                    None => rows::household_village(self.conn, id)?,
                };
                Ok(v.is_some_and(|v| v.starts_with(prefix.as_str())))
            }
        }
    }

    /// Whether a child record (by id) lies in the scope.
    pub fn admits_child(&self, child_id: &str) -> Result<bool> {
        self.child_in_scope(child_id)
    }

    /// Whether one record lies in the scope.
    pub fn admits(&self, r: &RecordView<'_>) -> Result<bool> {
        if *self.scope == Scope::All {
            return Ok(true);
        }
        let get = |c: &str| text((r.get)(c));
        match (r.table, self.scope) {
            ("schools", Scope::School(code)) => Ok(get("code") == Some(code.as_str())),
            ("schools", Scope::Area(prefix)) => Ok(self.area_ok(prefix, get("township_code"))),
            ("households", _) => self.household_in_scope(r.id),
            ("children", _) => self.child_in_scope(r.id),
            // A decision about two records: either record being in scope is enough.
            ("person_links", _) => Ok(match get("child_id") {
                Some(c) if self.child_in_scope(c)? => true,
                _ => match get("other_child_id") {
                    Some(o) => self.child_in_scope(o)?,
                    None => false,
                },
            }),
            ("cases", _) => match get("child_id") {
                Some(c) => self.child_in_scope(c),
                None => Ok(false),
            },
            (_, Scope::School(code)) if (r.get)("school_code").is_some() => {
                Ok(get("school_code") == Some(code.as_str()))
            }
            (_, Scope::Area(prefix)) if (r.get)("area_code").is_some() => {
                Ok(self.area_ok(prefix, get("area_code")))
            }
            (_, Scope::Area(prefix)) if (r.get)("village_code").is_some() => {
                Ok(self.area_ok(prefix, get("village_code")))
            }
            _ => {
                if let Some(c) = get("child_id") {
                    return self.child_in_scope(c);
                }
                if let Some(case) = get("case_id") {
                    let child = match self.index.cases.get(case) {
                        Some(c) => Some(c.clone()),
                        None => rows::case_child(self.conn, case)?,
                    };
                    return match child {
                        Some(c) => self.child_in_scope(&c),
                        None => Ok(false),
                    };
                }
                Ok(false)
            }
        }
    }
}

//! Plain domain types: the site, households, children, guardians, enrolments, schools.
//! No SQL and no I/O here; the store reads and writes them, the rules check them.

use crate::hlc::Stamp;
use serde::{Deserialize, Serialize};

/// What kind of office this register belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteKind {
    County,
    Township,
    Village,
    School,
}

impl SiteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SiteKind::County => "county",
            SiteKind::Township => "township",
            SiteKind::Village => "village",
            SiteKind::School => "school",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            SiteKind::County => "县教育局",
            SiteKind::Township => "乡镇",
            SiteKind::Village => "村",
            SiteKind::School => "学校",
        }
    }
    pub fn parse(s: &str) -> Option<SiteKind> {
        match s.trim() {
            "county" | "县" | "县教育局" => Some(SiteKind::County),
            "township" | "乡镇" | "乡" | "镇" => Some(SiteKind::Township),
            "village" | "村" => Some(SiteKind::Village),
            "school" | "学校" => Some(SiteKind::School),
            _ => None,
        }
    }
}

/// This register's own office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub id: String,
    pub kind: SiteKind,
    pub name: String,
    /// 6- to 12-digit division code (county 6, township 9, village 12).
    pub region_code: String,
    pub school_code: Option<String>,
    pub created_at: String,
}

/// The columns every travelling record carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// UUID v7.
    pub id: String,
    /// The site that created the record.
    pub origin_site: String,
    /// Version stamp of the latest edit.
    pub version: Stamp,
    /// The version this edit was made from (None for a new record).
    pub prev_version: Option<Stamp>,
    /// Length of the record's edit chain.
    pub edits: i64,
    pub updated_at: String,
    /// Tombstone: travelling records are never hard-deleted.
    pub deleted: bool,
}

/// A household (户) on a village roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    pub meta: Meta,
    pub head_name: String,
    pub head_id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// 12-digit village code.
    pub village_code: String,
    /// Codes from the `priority_groups` list (脱贫不稳定户, 低保户 …).
    pub priority_groups: Vec<String>,
    pub note: Option<String>,
}

/// A child of 0-18 (适龄儿童少年).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Child {
    pub meta: Meta,
    pub household_id: Option<String>,
    pub name: String,
    /// 男 / 女.
    pub sex: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// Normalised 18-character ID number, as entered.
    pub id_number: Option<String>,
    /// The ID number that links records of one person (the ID, or the ID inside a G-form 学籍号).
    pub id_key: Option<String>,
    pub student_no: Option<String>,
    pub village_code: Option<String>,
    pub hukou_place: Option<String>,
    pub residence: Option<String>,
    /// Codes from the `child_flags` list.
    pub flags: Vec<String>,
    pub disability_type: Option<String>,
    pub disability_grade: Option<String>,
    /// `normal`, `deceased`, `moved_away`, `studying_elsewhere`.
    pub life_status: String,
    pub life_status_detail: Option<String>,
    pub note: Option<String>,
}

/// A guardian of a child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardian {
    pub meta: Meta,
    pub child_id: String,
    pub name: String,
    pub relation: Option<String>,
    pub phone: Option<String>,
}

/// A school of the county.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct School {
    pub meta: Meta,
    pub code: String,
    pub name: String,
    /// `primary`, `junior`, `nine-year`, `special`.
    pub kind: String,
    pub township_code: Option<String>,
}

/// A pupil's enrolment (学籍) at one school.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub meta: Meta,
    pub child_id: String,
    pub school_code: String,
    pub student_no: Option<String>,
    /// 1-9 (初一 = 7).
    pub grade: Option<i64>,
    pub class_name: Option<String>,
    pub entry_date: Option<String>,
    /// Code from `enrolment_statuses` (`studying`, `transferred_out` …).
    pub status: String,
    pub status_date: Option<String>,
    pub term: Option<String>,
    pub note: Option<String>,
}

/// A case file (一人一案) for one out-of-school child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub meta: Meta,
    pub child_id: String,
    /// Code from `case_states`.
    pub state: String,
    /// Code from `dropout_reasons`.
    pub reason_code: Option<String>,
    pub priority_groups: Vec<String>,
    /// 包保责任人: school, township and village.
    pub resp_school: Option<String>,
    pub resp_township: Option<String>,
    pub resp_village: Option<String>,
    pub plan: Option<String>,
    pub opened_on: String,
    pub closed_on: Option<String>,
}

/// One entry of a case's append-only history (a persuasion attempt, a state change …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub meta: Meta,
    pub case_id: String,
    pub on_date: String,
    /// `opened`, `attempt`, `transition`, `note` …
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// The event's details as JSON text (participants, method, result …).
    pub payload: String,
    pub operator: String,
}

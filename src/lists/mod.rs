//! The departments' lists (部门数据比对): 公安 0-18周岁户籍人口 (`hukou`), 残联 适龄残疾儿童少年花名册
//! (`disabled`), 乡村振兴 脱贫户/监测户 members (`poverty`), 民政 低保/特困/孤儿/事实无人抚养
//! (`welfare`), 资助 recipients (`aid`).
//!
//! - [`import`]: `baoxue import list KIND FILE --source NAME --as-of DATE`. Each import is one
//!   dated version of one source (KIND + department + as-of date); re-importing the same file
//!   changes nothing; a newer version of the source replaces the older one in every comparison,
//!   the older stays readable. Reads files through the import module (header finding, synonyms,
//!   value parsing, row errors, errors-out): [`schema`] is this module's field table.
//! - [`query`]: the cross-source layer: for each person (normalised ID number) which sources
//!   name them, with source name, as-of date and priority groups; what is loaded (`list sources`).
//! - [`checks`]: the information reports: pupils whose ID is on no hukou list, disabled-register
//!   children enrolled or placed, and 应享尽享 (priority pupils missing from the aid lists).
//! - [`sources`]: the lists as sources of the cross-check (`crosscheck::sources::Source`).
//! - [`bench`]: generated 250k-row hukou extracts and a large county for the benchmarks.
//!
//! List data is county-local reference data: it is not in `store::TRAVELLING_TABLES`.

pub mod bench;
pub mod checks;
pub mod import;
pub mod parse;
pub mod query;
pub mod schema;
pub mod sources;

pub use import::{import_list, ListImport, ListOutcome, ListReport};

use serde::Serialize;

/// The five KINDs of department list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Hukou,
    Disabled,
    Poverty,
    Welfare,
    Aid,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Hukou,
        Kind::Disabled,
        Kind::Poverty,
        Kind::Welfare,
        Kind::Aid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hukou => "hukou",
            Kind::Disabled => "disabled",
            Kind::Poverty => "poverty",
            Kind::Welfare => "welfare",
            Kind::Aid => "aid",
        }
    }

    /// The list as a clerk names it in a reason (`户籍（鲁山县公安局 2026-10-31）有`).
    pub fn label(self) -> &'static str {
        match self {
            Kind::Hukou => "户籍",
            Kind::Disabled => "残联名册",
            Kind::Poverty => "脱贫监测名单",
            Kind::Welfare => "民政救助名单",
            Kind::Aid => "资助名单",
        }
    }

    /// The department that usually sends it.
    pub fn department(self) -> &'static str {
        match self {
            Kind::Hukou => "公安",
            Kind::Disabled => "残联",
            Kind::Poverty => "乡村振兴",
            Kind::Welfare => "民政",
            Kind::Aid => "学生资助中心",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        match raw.trim() {
            "hukou" | "户籍" => Some(Kind::Hukou),
            "disabled" | "残疾" | "残联" => Some(Kind::Disabled),
            "poverty" | "脱贫" | "乡村振兴" => Some(Kind::Poverty),
            "welfare" | "民政" => Some(Kind::Welfare),
            "aid" | "资助" => Some(Kind::Aid),
            _ => None,
        }
    }
}

/// `户籍（鲁山县公安局 2026-10-31）`: a source version as people read it.
pub fn source_label(kind: &str, source: &str, as_of: &str) -> String {
    let k = Kind::parse(kind).map(Kind::label).unwrap_or(kind);
    format!("{k}（{source} {as_of}）")
}

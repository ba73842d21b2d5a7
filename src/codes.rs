//! Code lists shipped in `assets/codes.json` (dropout reasons, placements, priority groups,
//! disability types, grades, case states …). The UI and the ledgers read the same lists.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// One entry of a code list: a stable code and its Chinese name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    pub code: String,
    pub name: String,
}

/// Every code list the product uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeLists {
    pub format_version: u32,
    pub dropout_reasons: Vec<Code>,
    pub placements: Vec<Code>,
    pub priority_groups: Vec<Code>,
    pub child_flags: Vec<Code>,
    pub disability_types: Vec<Code>,
    pub grades: Vec<Code>,
    pub enrolment_statuses: Vec<Code>,
    pub case_states: Vec<Code>,
    pub persuasion_methods: Vec<Code>,
    pub relations: Vec<Code>,
    pub verification_findings: Vec<Code>,
}

const CODES_JSON: &str = include_str!("../assets/codes.json");

/// The shipped code lists (parsed once; the file is part of the build, so a parse failure is a
/// build defect caught by the tests, and yields empty lists rather than a panic).
pub fn codes() -> &'static CodeLists {
    static LISTS: OnceLock<CodeLists> = OnceLock::new();
    LISTS.get_or_init(|| {
        serde_json::from_str(CODES_JSON).unwrap_or_else(|_| CodeLists {
            format_version: 0,
            dropout_reasons: vec![],
            placements: vec![],
            priority_groups: vec![],
            child_flags: vec![],
            disability_types: vec![],
            grades: vec![],
            enrolment_statuses: vec![],
            case_states: vec![],
            persuasion_methods: vec![],
            relations: vec![],
            verification_findings: vec![],
        })
    })
}

/// Finds a code by its code or its Chinese name.
pub fn lookup<'a>(list: &'a [Code], code_or_name: &str) -> Option<&'a Code> {
    let s = code_or_name.trim();
    list.iter().find(|c| c.code == s || c.name == s)
}

/// The Chinese name of a code, or the code itself when unknown.
pub fn name_of(list: &[Code], code: &str) -> String {
    lookup(list, code)
        .map(|c| c.name.clone())
        .unwrap_or_else(|| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_lists_parse_and_are_complete() {
        let c: CodeLists = serde_json::from_str(CODES_JSON).unwrap();
        assert_eq!(c.grades.len(), 9);
        assert_eq!(c.dropout_reasons.len(), 9);
        assert_eq!(c.placements.len(), 7);
        assert_eq!(c.case_states.len(), 8);
        assert_eq!(c.disability_types.len(), 7);
        assert_eq!(lookup(&codes().grades, "初一").unwrap().code, "7");
    }
}

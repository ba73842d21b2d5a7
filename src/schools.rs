//! Schools of the county: registered by the county (or by a school for itself) before their
//! roll sheets are imported.

use crate::domain::School;
use crate::error::{Error, Result};
use crate::register::{Actor, Register};
use crate::store;

/// Kinds of school, by code and Chinese name.
pub const SCHOOL_KINDS: &[(&str, &str)] = &[
    ("primary", "小学"),
    ("junior", "初级中学"),
    ("nine-year", "九年一贯制学校"),
    ("special", "特殊教育学校"),
];

/// Adds a school, or updates the one with the same code.
pub fn add_school(
    reg: &mut Register,
    code: &str,
    name: &str,
    kind: &str,
    township: Option<&str>,
    actor: &Actor,
) -> Result<School> {
    let code = code.trim();
    if code.is_empty() || code.len() > 20 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::invalid(
            "学校代码",
            format!("“{code}”应为学校标识码（数字或字母，不超过20位）"),
        ));
    }
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("学校名称", "不能为空"));
    }
    let kind = SCHOOL_KINDS
        .iter()
        .find(|(k, n)| *k == kind.trim() || *n == kind.trim())
        .map(|(k, _)| *k)
        .ok_or_else(|| {
            Error::invalid(
                "学校类型",
                format!("“{kind}”应为 primary|junior|nine-year|special"),
            )
        })?;
    let township = township.map(str::trim).filter(|s| !s.is_empty());
    if let Some(t) = township {
        if t.len() != 9 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("乡镇代码", format!("“{t}”应为9位区划代码")));
        }
    }
    let existing = store::schools::get_by_code(reg.conn(), code)?;
    let mut w = reg.writer(actor)?;
    let meta = match &existing {
        Some(s) => w.next_meta(&s.meta),
        None => w.new_meta(),
    };
    let school = School {
        meta,
        code: code.to_string(),
        name: name.to_string(),
        kind: kind.to_string(),
        township_code: township.map(str::to_string),
    };
    if existing
        .as_ref()
        .map(|s| (&s.name, &s.kind, &s.township_code))
        == Some((&school.name, &school.kind, &school.township_code))
    {
        return existing.ok_or_else(|| Error::Other("unreachable".into()));
    }
    store::schools::put(w.conn(), &school)?;
    w.audit(
        "schools",
        &school.meta.id,
        if existing.is_some() {
            "update"
        } else {
            "insert"
        },
        &["code", "name", "kind", "township_code"],
    )?;
    w.commit()?;
    Ok(school)
}

/// The Chinese name of a school kind.
pub fn kind_label(kind: &str) -> &str {
    SCHOOL_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, n)| *n)
        .unwrap_or(kind)
}

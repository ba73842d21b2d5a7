//! One row of a department list → a checked child row, a person outside 0-17 (counted, skipped),
//! or a refused row. Cells are parsed by the import module (`import::value`), identities checked
//! by `households::check_person`; nothing here touches the register.

use super::schema::{poverty_groups, welfare_groups};
use super::Kind;
use crate::error::Error;
use crate::households::check_person;
use crate::idnum::{self, StudentNo};
use crate::import::report::RowIssue;
use crate::import::roll::disability_code;
use crate::import::scan::DataRow;
use crate::import::value::{self, CellProblem};
use crate::store::list_rows::ListRow;
use chrono::{Months, NaiveDate};

/// What the parser knows besides the row.
#[derive(Debug, Clone)]
pub struct RowContext {
    pub kind: Kind,
    pub as_of: NaiveDate,
    /// The department's name (a welfare list without a 救助类别 column may say it: `低保名单`).
    pub source: String,
}

/// A parsed row.
pub enum Parsed {
    Child(Box<ListRow>, Vec<RowIssue>),
    /// An adult, or a person born after the as-of date's 18 years window: counted and skipped.
    OutOfAge,
    Refused(RowIssue, Vec<String>),
}

fn issue(row: &DataRow<'_, '_>, key: &str, p: CellProblem) -> RowIssue {
    RowIssue {
        row: row.row,
        column: row.column_name(key),
        code: p.code.to_string(),
        message: p.message,
    }
}

/// The child's ID: the member's ID column (never the household head's), else the one inside a
/// G-form 学籍号, else the first 18 characters of a 20-character 残疾证号.
fn child_id(row: &DataRow<'_, '_>) -> Result<Option<String>, RowIssue> {
    if let Some(id) =
        value::id_text(row.get("id_number")).map_err(|p| issue(row, "id_number", p))?
    {
        return Ok(Some(id));
    }
    if let Some(no) = value::text(row.get("student_no")) {
        if let Ok(StudentNo::G(id)) = StudentNo::parse(&no) {
            return Ok(Some(id.as_str().to_string()));
        }
    }
    if let Some(cert) = value::text(row.get("disability_cert")) {
        let cert = idnum::normalize(&cert);
        if cert.chars().count() == 20 && cert.is_ascii() {
            if let Ok(id) = idnum::IdNumber::parse(&cert[..18]) {
                return Ok(Some(id.as_str().to_string()));
            }
        }
    }
    Ok(None)
}

/// Checks one data row of a list.
pub fn parse_row(row: &DataRow<'_, '_>, ctx: &RowContext) -> Parsed {
    match parse_inner(row, ctx) {
        Ok(p) => p,
        Err(i) => Parsed::Refused(i, row.texts()),
    }
}

fn parse_inner(row: &DataRow<'_, '_>, ctx: &RowContext) -> Result<Parsed, RowIssue> {
    let err = |key: &str, p: CellProblem| issue(row, key, p);
    let name = value::name(row.get("name")).ok_or_else(|| {
        err(
            "name",
            CellProblem::new("name_empty", "姓名为空，请填写儿童姓名"),
        )
    })?;
    let id = child_id(row)?;
    let birth = value::date_text(row.get("birth_date")).map_err(|p| err("birth_date", p))?;
    let sex = value::sex(row.get("sex")).map_err(|p| err("sex", p))?;
    let person = check_person(&name, id.as_deref(), birth.as_deref(), sex.as_deref()).map_err(
        |e| match e {
            Error::Id(ie) => err("id_number", value::id_problem(&ie)),
            Error::Invalid { field, message } => match field.as_str() {
                "性别" => err("sex", CellProblem::new("sex", message)),
                _ if id.is_none() => err(
                    "birth_date",
                    CellProblem::new(
                        "no_key",
                        "身份证号和出生日期都为空，无法判断年龄：请至少填写其中一项",
                    ),
                ),
                _ => err("birth_date", CellProblem::new("birth_date", message)),
            },
            other => err("name", CellProblem::new("invalid", other.to_string())),
        },
    )?;
    if person.birth_date > ctx.as_of {
        return Err(err(
            "birth_date",
            CellProblem::new(
                "born_after_as_of",
                format!(
                    "出生日期 {} 晚于名单日期 {}，请核对",
                    person.birth_date, ctx.as_of
                ),
            ),
        ));
    }
    let adult_if_born_by = ctx
        .as_of
        .checked_sub_months(Months::new(12 * 18))
        .unwrap_or(ctx.as_of);
    if person.birth_date <= adult_if_born_by {
        return Ok(Parsed::OutOfAge);
    }
    let mut warnings: Vec<RowIssue> = person
        .warnings
        .iter()
        .map(|w| RowIssue {
            row: row.row,
            column: row.column_name(if w.contains("性别") {
                "sex"
            } else {
                "birth_date"
            }),
            code: "id_mismatch".into(),
            message: w.clone(),
        })
        .collect();
    let mut groups = Vec::new();
    let mut category = None;
    match ctx.kind {
        Kind::Hukou => {}
        Kind::Disabled => {
            groups.push("disabled".to_string());
            if let Some(t) = value::text(row.get("disability_type")) {
                if disability_code(&t).is_err() {
                    warnings.push(err(
                        "disability_type",
                        CellProblem::new(
                            "disability_type",
                            format!("残疾类别“{t}”无法识别（应为 视力 听力 言语 肢体 智力 精神 多重），已照原样保存"),
                        ),
                    ));
                }
                category = Some(t);
            }
        }
        Kind::Poverty => {
            let t = value::text(row.get("household_type"));
            let found = t.as_deref().map(poverty_groups).unwrap_or_default();
            let ordinary = t
                .as_deref()
                .is_some_and(|t| t.contains("一般") || t.starts_with('非'));
            if found.is_empty() && !ordinary {
                if let Some(t) = &t {
                    warnings.push(err(
                        "household_type",
                        CellProblem::new(
                            "household_type",
                            format!("户类型“{t}”无法识别，按脱贫户计入重点群体；请核对"),
                        ),
                    ));
                }
                groups.push("jiandang".to_string());
            } else {
                groups.extend(found);
            }
            category = t;
        }
        Kind::Welfare => {
            let t = value::text(row.get("welfare_type"));
            groups = t.as_deref().map(welfare_groups).unwrap_or_default();
            if groups.is_empty() {
                groups = welfare_groups(&ctx.source);
            }
            if groups.is_empty() {
                warnings.push(err(
                    "welfare_type",
                    CellProblem::new(
                        "welfare_type",
                        format!(
                            "救助类别“{}”无法识别（应为 低保、特困、孤儿、事实无人抚养），未计入重点群体；请核对",
                            t.as_deref().unwrap_or("")
                        ),
                    ),
                ));
            }
            category = t;
        }
        Kind::Aid => {
            category = value::text(row.get("aid_item"));
        }
    }
    Ok(Parsed::Child(
        Box::new(ListRow {
            row: row.row,
            id_key: person.id_number,
            name: person.name,
            birth_date: person.birth_date.to_string(),
            sex: person.sex.map(|s| s.as_str().to_string()),
            head_name: value::name(row.get("head_name")),
            relation: value::text(row.get("relation")),
            township: value::text(row.get("township")),
            township_code: None,
            village: value::text(row.get("village")),
            village_code: value::text(row.get("division_code")).map(|c| idnum::normalize(&c)),
            address: value::text(row.get("address")),
            category,
            disability_grade: value::text(row.get("disability_grade")),
            groups,
            term: value::text(row.get("aid_term")),
            school: value::text(row.get("school")),
        }),
        warnings,
    ))
}

/// The key of a row within one version: the person, and for aid and welfare lists the item too
/// (a child may receive 两免一补 and 营养餐, or be 低保 and 孤儿).
pub fn row_key(kind: Kind, r: &ListRow) -> String {
    let person = match &r.id_key {
        Some(k) => k.clone(),
        None => format!("{}|{}", r.name, r.birth_date),
    };
    match kind {
        Kind::Aid => format!(
            "{person}|{}|{}",
            r.category.as_deref().unwrap_or(""),
            r.term.as_deref().unwrap_or("")
        ),
        Kind::Welfare => format!("{person}|{}", r.category.as_deref().unwrap_or("")),
        _ => person,
    }
}

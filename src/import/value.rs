//! Parsing one cell into a value the register keeps: text, ID numbers (refusing numbers that
//! Excel has already damaged), dates (Excel serials or text), grades, sex, yes/no flags, phones.
//! Name cleaning, date text and identity checks are `crate::households`' and `crate::idnum`'s.

use super::source::{format_number, serial_to_date, Cell};
use crate::households::{clean_name, parse_date};
use crate::idnum::{self, IdError};
use chrono::NaiveDate;

/// A problem with one cell: a stable code and a Chinese message (the column is added by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProblem {
    pub code: &'static str,
    pub message: String,
}

impl CellProblem {
    pub fn new(code: &'static str, message: impl Into<String>) -> CellProblem {
        CellProblem {
            code,
            message: message.into(),
        }
    }
}

/// The cell as trimmed text, `None` when blank.
pub fn text(cell: &Cell<'_>) -> Option<String> {
    let s = match cell {
        Cell::Text(t) => t
            .trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}')
            .to_string(),
        other => other.display(),
    };
    (!s.is_empty()).then_some(s)
}

/// A person's name, cleaned (full-width padding removed, `·` kept).
pub fn name(cell: &Cell<'_>) -> Option<String> {
    text(cell).map(|s| clean_name(&s)).filter(|s| !s.is_empty())
}

/// An ID number cell as text. A number cell has lost digits (Excel keeps 15): refused.
pub fn id_text(cell: &Cell<'_>) -> Result<Option<String>, CellProblem> {
    match cell {
        Cell::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(Some(format_number(*f))),
        Cell::Int(i) if i.abs() < 1_000_000_000_000_000 => Ok(Some(i.to_string())),
        Cell::Float(_) | Cell::Int(_) | Cell::Date(_) => {
            Err(id_problem(&IdError::ExcelPrecisionLost))
        }
        other => Ok(text(other)
            .map(|s| idnum::normalize(&s))
            .filter(|s| !s.is_empty())),
    }
}

/// The report's problem for an ID error (code from `IdError::code`).
pub fn id_problem(e: &IdError) -> CellProblem {
    CellProblem::new(e.code(), e.to_string())
}

/// A date: an Excel date cell or serial, `20150308` typed as a number, or date text.
pub fn date(cell: &Cell<'_>) -> Result<Option<NaiveDate>, CellProblem> {
    let bad = |shown: String| {
        CellProblem::new(
            "date",
            format!("“{shown}”不是有效日期，请写成 2015-03-08 这样的格式"),
        )
    };
    match cell {
        Cell::Date(serial) => serial_to_date(*serial)
            .map(Some)
            .ok_or_else(|| bad(cell.display())),
        Cell::Float(f) if (10_000_000.0..100_000_000.0).contains(f) => {
            parse_date(&format_number(*f))
                .map(Some)
                .ok_or_else(|| bad(cell.display()))
        }
        Cell::Float(f) if (1.0..80_000.0).contains(f) => Ok(serial_to_date(*f)),
        Cell::Int(i) if (10_000_000..100_000_000).contains(i) => parse_date(&i.to_string())
            .map(Some)
            .ok_or_else(|| bad(cell.display())),
        Cell::Int(i) if (1..80_000).contains(i) => Ok(serial_to_date(*i as f64)),
        other => match text(other) {
            None => Ok(None),
            Some(t) => parse_date(&t).map(Some).ok_or_else(|| bad(t)),
        },
    }
}

/// A date as `YYYY-MM-DD` text (what `check_person` reads).
pub fn date_text(cell: &Cell<'_>) -> Result<Option<String>, CellProblem> {
    Ok(date(cell)?.map(iso_date))
}

/// A date as `2015-03-08`, what `NaiveDate`'s `Display` writes, without the formatting
/// machinery (three dates a row of a 200k-row sheet).
pub fn iso_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    let y = d.year();
    if !(0..=9999).contains(&y) {
        return d.to_string();
    }
    let mut b = *b"0000-00-00";
    let put = |b: &mut [u8], n: u32| {
        let mut n = n;
        for c in b.iter_mut().rev() {
            *c = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(&mut b[0..4], y as u32);
    put(&mut b[5..7], d.month());
    put(&mut b[8..10], d.day());
    // ASCII digits and dashes: always UTF-8, copied as they are.
    String::from_utf8_lossy(&b).into_owned()
}

/// A grade 1-9: `三年级`, `3`, `初一`, `七年级`, `小学三年级`, `初中一年级`.
pub fn grade(cell: &Cell<'_>) -> Result<Option<i64>, CellProblem> {
    let Some(raw) = text(cell) else {
        return Ok(None);
    };
    parse_grade(&raw).map(Some).ok_or_else(|| {
        CellProblem::new(
            "grade",
            format!("年级“{raw}”无法识别，请填 一年级至六年级、初一至初三（或1-9）"),
        )
    })
}

fn cn_digit(c: char) -> Option<i64> {
    "一二三四五六七八九"
        .chars()
        .position(|d| d == c)
        .map(|p| p as i64 + 1)
}

/// Parses a grade text.
pub fn parse_grade(raw: &str) -> Option<i64> {
    let s: String = idnum::normalize(raw);
    let s = s.trim_end_matches('级').trim_end_matches('年');
    let (junior, rest) = if let Some(r) = s.strip_prefix("初中") {
        (true, r)
    } else if let Some(r) = s.strip_prefix('初') {
        (true, r)
    } else if let Some(r) = s.strip_prefix("小学") {
        (false, r)
    } else {
        (false, s)
    };
    let n = match rest.chars().collect::<Vec<_>>().as_slice() {
        [c] if c.is_ascii_digit() => c.to_digit(10).map(i64::from),
        [c] => cn_digit(*c),
        _ => rest
            .parse::<f64>()
            .ok()
            .filter(|f| f.fract() == 0.0)
            .map(|f| f as i64),
    }?;
    let n = if junior { n + 6 } else { n };
    (1..=9).contains(&n).then_some(n)
}

/// Sex as typed: 男 / 女 / 1 / 2 (returned as 男 / 女 text for `check_person`).
pub fn sex(cell: &Cell<'_>) -> Result<Option<String>, CellProblem> {
    let Some(raw) = text(cell) else {
        return Ok(None);
    };
    idnum::Sex::parse(&raw)
        .map(|s| Some(s.as_str().to_string()))
        .ok_or_else(|| CellProblem::new("sex", format!("性别“{raw}”无法识别，请填 男 或 女")))
}

/// A yes/no flag: 是 / 否 / 1 / 0 / √ / × / 有 / 无.
pub fn flag(cell: &Cell<'_>) -> Result<Option<bool>, CellProblem> {
    if let Cell::Bool(b) = cell {
        return Ok(Some(*b));
    }
    let Some(raw) = text(cell) else {
        return Ok(None);
    };
    match raw.as_str() {
        "是" | "1" | "√" | "✓" | "✔" | "有" | "Y" | "y" | "YES" | "Yes" | "yes" | "TRUE"
        | "true" => Ok(Some(true)),
        "否" | "0" | "×" | "✗" | "无" | "N" | "n" | "NO" | "No" | "no" | "FALSE" | "false"
        | "-" | "/" => Ok(Some(false)),
        _ => Err(CellProblem::new(
            "flag",
            format!("“{raw}”应填 是 或 否（也可填 1/0、√）"),
        )),
    }
}

/// A phone number, normalised; `Err` holds a warning when it does not look like one.
pub fn phone(cell: &Cell<'_>) -> (Option<String>, Option<String>) {
    let raw = match cell {
        Cell::Float(f) if f.fract() == 0.0 => Some(format_number(*f)),
        other => text(other),
    };
    let Some(raw) = raw else {
        return (None, None);
    };
    let s: String = idnum::normalize(&raw)
        .chars()
        .filter(|c| !matches!(c, '(' | ')' | '（' | '）'))
        .collect();
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let mobile = digits.len() == 11 && digits.starts_with('1') && !s.contains('-');
    let landline =
        (7..=12).contains(&digits.len()) && s.chars().all(|c| c.is_ascii_digit() || c == '-');
    if mobile {
        (Some(digits), None)
    } else if landline {
        (Some(s), None)
    } else {
        (
            Some(s),
            Some("联系电话不像手机号（11位）或固定电话，已照原样保存，请核对".to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_are_what_display_writes() {
        for (y, m, d) in [
            (2015, 3, 8),
            (1, 1, 1),
            (999, 12, 31),
            (9999, 1, 2),
            (10000, 1, 1),
            (-3, 5, 6),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(iso_date(date), date.to_string());
        }
    }
    use std::borrow::Cow;

    fn t(s: &str) -> Cell<'static> {
        Cell::Text(Cow::Owned(s.to_string()))
    }

    #[test]
    fn grades_in_every_form() {
        for (s, g) in [
            ("三年级", 3),
            ("3", 3),
            ("初一", 7),
            ("七年级", 7),
            ("初中二年级", 8),
            ("小学六年级", 6),
            ("初3", 9),
            ("９", 9),
        ] {
            assert_eq!(parse_grade(s), Some(g), "{s}");
        }
        assert_eq!(parse_grade("高一"), None);
        assert_eq!(parse_grade("十年级"), None);
        assert_eq!(grade(&Cell::Float(4.0)).unwrap(), Some(4));
    }

    #[test]
    fn dates_from_serials_numbers_and_text() {
        let d = NaiveDate::from_ymd_opt(2015, 3, 8).unwrap();
        assert_eq!(date(&Cell::Date(42071.0)).unwrap(), Some(d));
        assert_eq!(date(&Cell::Float(42071.0)).unwrap(), Some(d));
        assert_eq!(date(&Cell::Float(20150308.0)).unwrap(), Some(d));
        assert_eq!(date(&t("2015年3月8日")).unwrap(), Some(d));
        assert_eq!(date(&t("")).unwrap(), None);
        assert_eq!(date(&t("2015-13-01")).unwrap_err().code, "date");
    }

    #[test]
    fn numeric_ids_are_refused_never_guessed() {
        assert_eq!(
            id_text(&Cell::Float(4.10423201503080e17)).unwrap_err().code,
            "id_excel_precision"
        );
        assert_eq!(
            id_text(&t(" 11010519491231002x ")).unwrap().as_deref(),
            Some("11010519491231002X")
        );
    }

    #[test]
    fn flags_and_sex_and_phones() {
        assert_eq!(flag(&t("√")).unwrap(), Some(true));
        assert_eq!(flag(&t("否")).unwrap(), Some(false));
        assert_eq!(flag(&t("")).unwrap(), None);
        assert!(flag(&t("也许")).is_err());
        assert_eq!(sex(&t("2")).unwrap().as_deref(), Some("女"));
        assert_eq!(
            phone(&Cell::Float(13812345678.0)).0.as_deref(),
            Some("13812345678")
        );
        assert!(phone(&t("12345")).1.is_some());
    }
}

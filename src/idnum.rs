//! 身份证号 (GB 11643-1999) and 全国学籍号: normalisation, validation, derived facts, masking.
//!
//! Every function here is pure. Errors carry a Chinese message that tells the clerk what is wrong
//! and what to do; they never echo the full number (it is personal data).

use chrono::NaiveDate;
use std::fmt;

/// Weights of the ISO 7064 MOD 11-2 check used by GB 11643-1999.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of Σ mod 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Why an identity number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("身份证号为空")]
    Empty,
    #[error("身份证号以数字或科学计数法形式保存，Excel 精度丢失，请将该列设为文本后重新录入")]
    ExcelPrecisionLost,
    #[error("身份证号应为18位（或旧版15位），现为{0}位，请核对")]
    WrongLength(usize),
    #[error("身份证号含有非法字符“{0}”，只能是数字，最后一位可以是X")]
    BadCharacter(char),
    #[error("身份证号中的出生日期无效，请核对第7至14位")]
    BadBirthDate,
    #[error("身份证号校验位错误（应为{expected}），请核对是否录错")]
    BadCheckDigit { expected: char },
    #[error("身份证号中的地区码无效，请核对前6位")]
    BadRegion,
}

impl IdError {
    /// A stable machine code for reports and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            IdError::Empty => "id_empty",
            IdError::ExcelPrecisionLost => "id_excel_precision",
            IdError::WrongLength(_) => "id_length",
            IdError::BadCharacter(_) => "id_character",
            IdError::BadBirthDate => "id_birth_date",
            IdError::BadCheckDigit { .. } => "id_check_digit",
            IdError::BadRegion => "id_region",
        }
    }
}

/// Sex as recorded in an ID number (odd sequence = male).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Sex {
    #[serde(rename = "男")]
    Male,
    #[serde(rename = "女")]
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
    /// Parses 男 / 女 / 1 / 2 / M / F.
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim() {
            "男" | "1" | "M" | "m" | "男性" => Some(Sex::Male),
            "女" | "2" | "F" | "f" | "女性" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// A checked, normalised 18-character identity number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(String);

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl IdNumber {
    /// Normalises and validates raw text; a 15-digit legacy number is upgraded to 18.
    pub fn parse(raw: &str) -> Result<IdNumber, IdError> {
        let s = normalize(raw);
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if looks_like_excel_number(&s) {
            return Err(IdError::ExcelPrecisionLost);
        }
        let len = s.chars().count();
        if len == 15 {
            if let Some(c) = s.chars().find(|c| !c.is_ascii_digit()) {
                return Err(IdError::BadCharacter(c));
            }
            return upgrade_15(&s);
        }
        if len != 18 {
            return Err(IdError::WrongLength(len));
        }
        for (i, c) in s.chars().enumerate() {
            let ok = c.is_ascii_digit() || (i == 17 && c == 'X');
            if !ok {
                return Err(IdError::BadCharacter(c));
            }
        }
        if &s[0..2] == "00" {
            return Err(IdError::BadRegion);
        }
        birth_date_of(&s[6..14]).ok_or(IdError::BadBirthDate)?;
        let expected = check_char(&s[..17]);
        if s.as_bytes()[17] as char != expected {
            return Err(IdError::BadCheckDigit { expected });
        }
        Ok(IdNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn birth_date(&self) -> NaiveDate {
        // Validated in `parse`.
        birth_date_of(&self.0[6..14]).unwrap_or_default()
    }
    pub fn sex(&self) -> Sex {
        let seq = self.0.as_bytes()[16] - b'0';
        if seq % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }
    /// The 6-digit county code the number was issued under.
    pub fn region(&self) -> &str {
        &self.0[..6]
    }
    /// `410423********1234`.
    pub fn masked(&self) -> String {
        mask_id(&self.0)
    }
}

/// Masks any ID-like text: keeps the first 6 and last 4 characters.
pub fn mask_id(s: &str) -> String {
    if s.is_ascii() {
        // The usual case (an ID number), without a vector of chars: the same result.
        let n = s.len();
        if n <= 10 {
            return "*".repeat(n);
        }
        let mut out = String::with_capacity(n);
        out.push_str(&s[..6]);
        out.extend(std::iter::repeat_n('*', n - 10));
        out.push_str(&s[n - 4..]);
        return out;
    }
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let mut out = String::with_capacity(chars.len());
    for (i, c) in chars.iter().enumerate() {
        if i < 6 || i >= chars.len() - 4 {
            out.push(*c);
        } else {
            out.push('*');
        }
    }
    out
}

/// Masks a 学籍号 for display: a G-form number carries the pupil's ID number, masked like one
/// (`G410423********1234`); J- and L-form numbers are not ID numbers and stay as they are.
pub fn mask_student_no(s: &str) -> String {
    match StudentNo::parse(s) {
        Ok(StudentNo::G(id)) => format!("G{}", id.masked()),
        _ => s.to_string(),
    }
}

/// Masks a phone number: `138****5678`.
pub fn mask_phone(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if i < 3 || i >= chars.len() - 4 {
            out.push(*c);
        } else {
            out.push('*');
        }
    }
    out
}

/// Normalises text as it arrives from a sheet or a form: trims (also NBSP and zero-width
/// characters), full-width → half-width, lower-case x → X, drops a leading apostrophe and inner spaces.
pub fn normalize(raw: &str) -> String {
    // Almost every cell (IDs, dates, phones) is plain printable ASCII that nothing below would
    // change: no blank, no lower-case x, no leading apostrophe or backquote.
    let b = raw.as_bytes();
    if b.iter().all(|&c| (0x21..=0x7E).contains(&c) && c != b'x')
        && !matches!(b.first(), Some(b'\'' | b'`'))
    {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = match c {
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFF10 + '0' as u32).unwrap_or(c),
            '\u{FF38}' | '\u{FF58}' | 'x' => 'X',
            '\u{FF0E}' => '.',
            '\u{FF2B}' => 'E',
            '\u{FF45}' => 'e',
            '\u{FF0B}' => '+',
            _ => c,
        };
        if c.is_whitespace()
            || matches!(
                c,
                '\u{00A0}'
                    | '\u{200B}'
                    | '\u{200C}'
                    | '\u{200D}'
                    | '\u{FEFF}'
                    | '\u{3000}'
                    | '\u{2060}'
            )
        {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_start_matches(['\'', '‘', '’', '`']);
    trimmed.to_string()
}

/// True when the text is what Excel makes of a long number: E-notation or a decimal point.
fn looks_like_excel_number(s: &str) -> bool {
    let has_e = s.contains('E') || s.contains('e');
    let mostly_digits = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'E' | 'e' | '+' | '-'));
    mostly_digits && (has_e || s.contains('.'))
}

fn birth_date_of(yyyymmdd: &str) -> Option<NaiveDate> {
    if yyyymmdd.len() != 8 || !yyyymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i32 = yyyymmdd[0..4].parse().ok()?;
    let m: u32 = yyyymmdd[4..6].parse().ok()?;
    let d: u32 = yyyymmdd[6..8].parse().ok()?;
    if !(1800..=2100).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The MOD 11-2 check character of the first 17 digits.
pub fn check_char(first17: &str) -> char {
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS.iter())
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

fn upgrade_15(s: &str) -> Result<IdNumber, IdError> {
    // The same region rule as an 18-digit number: a number that parses must parse again.
    if &s[0..2] == "00" {
        return Err(IdError::BadRegion);
    }
    let first17 = format!("{}19{}", &s[..6], &s[6..15]);
    birth_date_of(&first17[6..14]).ok_or(IdError::BadBirthDate)?;
    let c = check_char(&first17);
    Ok(IdNumber(format!("{first17}{c}")))
}

/// Why a 全国学籍号 was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StudentNoError {
    #[error("学籍号应为19位（G/J/L开头），现为{0}位")]
    WrongLength(usize),
    #[error("学籍号应以G、J或L开头")]
    BadPrefix,
    #[error("G字头学籍号中的身份证号无效：{0}")]
    BadEmbeddedId(IdError),
    #[error("学籍号格式不正确，请核对")]
    BadFormat,
}

/// The three forms of 全国学籍号.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudentNo {
    /// `G` + the pupil's ID number.
    G(IdNumber),
    /// `J` + 18 characters built like an ID, for pupils without one.
    J(String),
    /// `L` + 6-digit division code + 8-digit birth date + 4 digits (temporary).
    L {
        region: String,
        birth: NaiveDate,
        seq: String,
    },
}

impl StudentNo {
    pub fn parse(raw: &str) -> Result<StudentNo, StudentNoError> {
        let s = normalize(raw).to_uppercase();
        let len = s.chars().count();
        if len != 19 {
            return Err(StudentNoError::WrongLength(len));
        }
        // The kind letter must be ASCII before slicing after it (a CJK first character would
        // otherwise split a UTF-8 sequence and panic).
        let Some(kind) = s.chars().next().filter(char::is_ascii) else {
            return Err(StudentNoError::BadFormat);
        };
        let rest = &s[1..];
        match kind as u8 {
            b'G' => IdNumber::parse(rest)
                .map(StudentNo::G)
                .map_err(StudentNoError::BadEmbeddedId),
            b'J' => {
                let ok = rest
                    .chars()
                    .enumerate()
                    .all(|(i, c)| c.is_ascii_digit() || (i == 17 && c == 'X'));
                if ok {
                    Ok(StudentNo::J(rest.to_string()))
                } else {
                    Err(StudentNoError::BadFormat)
                }
            }
            b'L' => {
                if !rest.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(StudentNoError::BadFormat);
                }
                let birth = birth_date_of(&rest[6..14]).ok_or(StudentNoError::BadFormat)?;
                Ok(StudentNo::L {
                    region: rest[..6].to_string(),
                    birth,
                    seq: rest[14..].to_string(),
                })
            }
            _ => Err(StudentNoError::BadPrefix),
        }
    }

    /// The ID number a G-form number carries.
    pub fn id_number(&self) -> Option<&IdNumber> {
        match self {
            StudentNo::G(id) => Some(id),
            _ => None,
        }
    }
}

/// The ID number to link records by: the ID itself if valid, else the one inside a G-form 学籍号.
pub fn link_key(id_number: Option<&str>, student_no: Option<&str>) -> Option<String> {
    if let Some(Ok(id)) = id_number
        .filter(|s| !s.trim().is_empty())
        .map(IdNumber::parse)
    {
        return Some(id.0);
    }
    match student_no.map(StudentNo::parse) {
        Some(Ok(StudentNo::G(id))) => Some(id.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_g_form_student_number_is_masked_like_the_id_inside_it() {
        let id = format!("41042320130508000{}", check_char("41042320130508000"));
        assert_eq!(
            mask_student_no(&format!("G{id}")),
            format!("G{}", mask_id(&id))
        );
        assert_eq!(
            mask_student_no("J410423201305080001"),
            "J410423201305080001"
        );
        assert_eq!(mask_student_no("不是学籍号"), "不是学籍号");
    }

    use super::*;

    /// `normalize` without its ASCII fast path, to compare with.
    fn normalize_slowly(raw: &str) -> String {
        normalize(&format!("\u{3000}{raw}"))
    }

    #[test]
    fn normalize_gives_the_same_with_and_without_its_ascii_fast_path() {
        for raw in [
            "41042320130508001X",
            "41042320130508001x",
            "'41042320130508001X",
            "``'410423",
            "a'b`c",
            " 4104 2320\t1305",
            "2015-03-08",
            "138-1234-5678",
            "(0375)1234567",
            "1.23E+17",
            "\u{1}abc",
            "~!@#$%^&*()_+{}|:<>?",
            "",
            "'",
            "ＡＢ４１０",
        ] {
            assert_eq!(normalize(raw), normalize_slowly(raw), "{raw:?}");
        }
    }

    #[test]
    fn student_no_starting_with_a_non_ascii_character_is_refused_not_a_panic() {
        // Found by tests/security_fuzz.rs: 19 characters whose first is multi-byte.
        assert!(StudentNo::parse("ো®𐍐0a0᧐0AAA!!ᤀ!𞹟𓀀a᧐").is_err());
        assert!(StudentNo::parse("学41042320180901002X").is_err());
    }

    #[test]
    fn public_vectors() {
        let a = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(a.sex(), Sex::Female);
        assert_eq!(
            a.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        let b = IdNumber::parse("440524188001010014").unwrap();
        assert_eq!(b.sex(), Sex::Male);
        assert!(matches!(
            IdNumber::parse("11010219840506970X"),
            Err(IdError::BadCheckDigit { .. })
        ));
    }

    #[test]
    fn normalisation() {
        let id = IdNumber::parse(" '１１０１０５１９４９１２３１００２ｘ\u{200B}\u{00A0}").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.masked(), "110105********002X");
    }

    #[test]
    fn excel_damage_is_refused() {
        assert_eq!(
            IdNumber::parse("4.10423E+17"),
            Err(IdError::ExcelPrecisionLost)
        );
        assert_eq!(
            IdNumber::parse("410423201503081000.0"),
            Err(IdError::ExcelPrecisionLost)
        );
    }

    #[test]
    fn legacy_15_upgrades() {
        let id = IdNumber::parse("110105491231002").unwrap();
        assert_eq!(&id.as_str()[..17], "11010519491231002");
        assert_eq!(id.as_str().len(), 18);
        assert!(IdNumber::parse(id.as_str()).is_ok());
        // Region 00 is refused in the old form as in the new, so a parsed number parses again.
        assert_eq!(IdNumber::parse("000000000000000"), Err(IdError::BadRegion));
    }

    #[test]
    fn bad_dates() {
        let mut s = String::from("11010520150230001");
        s.push(check_char(&s));
        assert_eq!(IdNumber::parse(&s), Err(IdError::BadBirthDate));
    }

    #[test]
    fn student_numbers() {
        let g = StudentNo::parse("G11010519491231002X").unwrap();
        assert_eq!(g.id_number().unwrap().as_str(), "11010519491231002X");
        assert!(matches!(
            StudentNo::parse("L4104232015030812345"),
            Err(StudentNoError::WrongLength(20))
        ));
        assert!(matches!(
            StudentNo::parse("L410423201503081234"),
            Ok(StudentNo::L { .. })
        ));
        assert!(matches!(
            StudentNo::parse("J41042320150308123X"),
            Ok(StudentNo::J(_))
        ));
        assert_eq!(
            link_key(None, Some("G11010519491231002X")).as_deref(),
            Some("11010519491231002X")
        );
    }

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_id("410423201503081234"), "410423********1234");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn valid_id() -> impl Strategy<Value = String> {
            (
                110000u32..660000,
                1950i32..2025,
                1u32..13,
                1u32..29,
                0u32..1000,
            )
                .prop_map(|(r, y, m, d, seq)| {
                    let first = format!("{r:06}{y:04}{m:02}{d:02}{seq:03}");
                    let c = check_char(&first);
                    format!("{first}{c}")
                })
        }

        proptest! {
            #[test]
            fn every_valid_number_passes(id in valid_id()) {
                let parsed = IdNumber::parse(&id).unwrap();
                prop_assert_eq!(parsed.as_str(), id.as_str());
            }

            #[test]
            fn every_single_change_fails(id in valid_id(), pos in 0usize..18, shift in 1u8..11) {
                // One of the ten other characters (0-9, X) at `pos`: never the one already there,
                // so no case is thrown away.
                let mut bytes = id.clone().into_bytes();
                let old = if bytes[pos] == b'X' { 10 } else { bytes[pos] - b'0' };
                let digit = (old + shift) % 11;
                bytes[pos] = if digit == 10 { b'X' } else { b'0' + digit };
                let changed = String::from_utf8(bytes).unwrap();
                prop_assert!(IdNumber::parse(&changed).is_err());
            }
        }
    }
}

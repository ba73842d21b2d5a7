//! A realistic generated roll sheet (title row, two-row merged header, 监护人信息 group, footer),
//! for the tests and the import benchmark. Every ID number is valid and unique.

use crate::error::{Error, Result};
use crate::idnum::check_char;
use rust_xlsxwriter::{Format, FormatAlign, Workbook};
use std::path::Path;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗",
];
const GIVEN: &[&str] = &[
    "子", "涵", "浩", "宇", "欣", "怡", "梓", "轩", "雨", "晨", "思", "佳", "博", "文", "一", "诺",
    "嘉", "明", "俊", "雅",
];

/// A valid 18-digit ID number for pupil `i` (unique for i < 3 million), born 2011-2019.
pub fn sample_id(i: u64) -> String {
    let day = i % 3285;
    let seq = i / 3285 % 1000;
    let birth =
        chrono::NaiveDate::from_ymd_opt(2011, 1, 1).unwrap_or_default() + chrono::Days::new(day);
    let first17 = format!("410423{}{:03}", birth.format("%Y%m%d"), seq);
    format!("{first17}{}", check_char(&first17))
}

/// A name for pupil `i`.
pub fn sample_name(i: u64) -> String {
    let h = i.wrapping_mul(2_654_435_761) >> 7;
    format!(
        "{}{}{}",
        SURNAMES[(h % 20) as usize],
        GIVEN[(h / 20 % 20) as usize],
        GIVEN[(h / 400 % 20) as usize]
    )
}

/// The columns of the generated sheet: top header row, second header row.
pub const SAMPLE_TOP: &[&str] = &[
    "序号",
    "姓名",
    "性别",
    "出生日期",
    "身份证件号",
    "全国学籍号",
    "年级",
    "班级",
    "入学年月",
    "户籍所在地",
    "现住址",
    "监护人信息",
    "",
    "",
    "是否留守儿童",
    "备注",
];
pub const SAMPLE_SUB: &[&str] = &[
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "姓名",
    "关系",
    "联系电话",
    "",
    "",
];

/// Writes a roll sheet of `rows` pupils to `path` (shared strings, as Excel writes them).
pub fn write_roll_xlsx(path: &Path, rows: u64, school_name: &str) -> Result<()> {
    write_roll_sample(path, rows, school_name, false)
}

/// [`write_roll_xlsx`], with `faults` the mistakes clerks make (for demonstrations and the app's
/// end-to-end test): the 3rd pupil's ID has a wrong check digit (Excel row 7), the 6th pupil's ID
/// was typed as a number and lost its last digits (row 10), and the 1st pupil appears again at
/// the end (a duplicate).
pub fn write_roll_sample(path: &Path, rows: u64, school_name: &str, faults: bool) -> Result<()> {
    let err = |e: rust_xlsxwriter::XlsxError| Error::Other(format!("生成示例花名册失败：{e}"));
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("花名册").map_err(err)?;
    let center = Format::new().set_align(FormatAlign::Center).set_bold();
    ws.merge_range(
        0,
        0,
        0,
        15,
        &format!("{school_name}2026年秋季学生花名册"),
        &center,
    )
    .map_err(err)?;
    ws.write_string(1, 0, "填报单位：（盖章）").map_err(err)?;
    for (c, t) in SAMPLE_TOP.iter().enumerate() {
        if !t.is_empty() && c != 11 {
            ws.merge_range(2, c as u16, 3, c as u16, t, &center)
                .map_err(err)?;
        }
    }
    ws.merge_range(2, 11, 2, 13, "监护人信息", &center)
        .map_err(err)?;
    for (c, t) in SAMPLE_SUB.iter().enumerate() {
        if !t.is_empty() {
            ws.write_string_with_format(3, c as u16, *t, &center)
                .map_err(err)?;
        }
    }
    let grades = [
        "一年级",
        "二年级",
        "三年级",
        "四年级",
        "五年级",
        "六年级",
        "初一",
        "初二",
        "初三",
    ];
    let relations = ["父亲", "母亲", "祖父", "祖母"];
    let extra = u64::from(faults && rows > 0);
    for n in 0..rows + extra {
        let i = if n == rows { 0 } else { n };
        let r = 4 + n as u32;
        let id = sample_id(i);
        ws.write_number(r, 0, (n + 1) as f64).map_err(err)?;
        ws.write_string(r, 1, sample_name(i)).map_err(err)?;
        let male = (id.as_bytes()[16] - b'0') % 2 == 1;
        ws.write_string(r, 2, if male { "男" } else { "女" })
            .map_err(err)?;
        ws.write_string(
            r,
            3,
            format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14]),
        )
        .map_err(err)?;
        match (faults, i) {
            (true, 2) => {
                let last = if id.ends_with('0') { '1' } else { '0' };
                ws.write_string(r, 4, format!("{}{last}", &id[..17]))
                    .map_err(err)?;
            }
            (true, 5) => {
                let lost: f64 = id[..15].parse::<f64>().unwrap_or(0.0) * 1000.0;
                ws.write_number(r, 4, lost).map_err(err)?;
            }
            _ => {
                ws.write_string(r, 4, &id).map_err(err)?;
            }
        }
        ws.write_string(r, 5, format!("G{id}")).map_err(err)?;
        ws.write_string(r, 6, grades[(i % 9) as usize])
            .map_err(err)?;
        ws.write_string(r, 7, format!("{}班", i % 4 + 1))
            .map_err(err)?;
        ws.write_string(r, 8, "2023-09-01").map_err(err)?;
        ws.write_string(r, 9, "河南省长垣市").map_err(err)?;
        ws.write_string(r, 10, format!("张庄村{}组", i % 12 + 1))
            .map_err(err)?;
        ws.write_string(r, 11, sample_name(i + 7_000_000))
            .map_err(err)?;
        ws.write_string(r, 12, relations[(i % 4) as usize])
            .map_err(err)?;
        ws.write_string(r, 13, format!("138{:08}", i))
            .map_err(err)?;
        ws.write_string(r, 14, if i % 5 == 0 { "是" } else { "否" })
            .map_err(err)?;
    }
    ws.write_string(4 + (rows + extra) as u32, 0, format!("合计：{rows}人"))
        .map_err(err)?;
    crate::paths::write_replacing(path, &wb.save_to_buffer().map_err(err)?)
}

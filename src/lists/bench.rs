//! Benchmark material: a generated 公安 hukou extract (title row, household head and member
//! columns, township/village names) of any size, and a large county register (pupils enrolled,
//! the departments' lists loaded) for timing the cross-check.

use super::Kind;
use crate::domain::Enrolment;
use crate::error::{Error, Result};
use crate::import::roll::new_child;
use crate::import::sample::{sample_id, sample_name};
use crate::register::{Actor, Register};
use crate::store;
use crate::store::list_rows::ListRow;
use crate::store::list_versions::NewVersion;
use rust_xlsxwriter::{Format, FormatAlign, Workbook};
use std::path::Path;

/// The columns of the generated hukou extract.
pub const HUKOU_COLUMNS: &[&str] = &[
    "序号",
    "户主姓名",
    "户主公民身份号码",
    "姓名",
    "与户主关系",
    "公民身份号码",
    "性别",
    "出生日期",
    "乡镇（街道）",
    "村（居）委会",
    "户籍地址",
];

/// Township and village names used by the generated files (register them as divisions to have
/// the names mapped to codes).
pub const TOWNSHIPS: &[(&str, &str)] = &[("410423100", "城关镇"), ("410423101", "张良镇")];
pub const VILLAGES: &[(&str, &str)] = &[
    ("410423100201", "东关村"),
    ("410423100202", "西关村"),
    ("410423101201", "张庄村"),
    ("410423101202", "李庄村"),
];

/// Writes a hukou extract of `rows` children (person `i` has `sample_id(i)`) as .xlsx.
pub fn write_hukou_xlsx(path: &Path, rows: u64) -> Result<()> {
    let err = |e: rust_xlsxwriter::XlsxError| Error::Other(format!("生成示例户籍名单失败：{e}"));
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("0-18周岁户籍人口").map_err(err)?;
    let center = Format::new().set_align(FormatAlign::Center).set_bold();
    ws.merge_range(
        0,
        0,
        0,
        (HUKOU_COLUMNS.len() - 1) as u16,
        "鲁山县0-18周岁户籍人口花名册",
        &center,
    )
    .map_err(err)?;
    for (c, t) in HUKOU_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, *t, &center)
            .map_err(err)?;
    }
    for i in 0..rows {
        let r = 2 + i as u32;
        let id = sample_id(i);
        let (town, village) = (i % 4 / 2, i % 4);
        ws.write_number(r, 0, (i + 1) as f64).map_err(err)?;
        ws.write_string(r, 1, sample_name(i + 5_000_000))
            .map_err(err)?;
        ws.write_string(r, 2, "410423198001010016").map_err(err)?;
        ws.write_string(r, 3, sample_name(i)).map_err(err)?;
        ws.write_string(r, 4, if i % 2 == 0 { "子" } else { "女" })
            .map_err(err)?;
        ws.write_string(r, 5, &id).map_err(err)?;
        let male = (id.as_bytes()[16] - b'0') % 2 == 1;
        ws.write_string(r, 6, if male { "男" } else { "女" })
            .map_err(err)?;
        ws.write_string(
            r,
            7,
            format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14]),
        )
        .map_err(err)?;
        ws.write_string(r, 8, TOWNSHIPS[town as usize].1)
            .map_err(err)?;
        ws.write_string(r, 9, VILLAGES[village as usize].1)
            .map_err(err)?;
        ws.write_string(
            r,
            10,
            format!(
                "河南省鲁山县{}{}组",
                VILLAGES[village as usize].1,
                i % 9 + 1
            ),
        )
        .map_err(err)?;
    }
    wb.save(path).map_err(err)?;
    Ok(())
}

/// Registers the generated files' townships and villages as divisions.
pub fn add_divisions(reg: &Register) -> Result<()> {
    for (code, name) in TOWNSHIPS {
        store::divisions::put(
            reg.conn(),
            &store::divisions::Division {
                code: code.to_string(),
                name: name.to_string(),
                level: "township".into(),
            },
        )?;
    }
    for (code, name) in VILLAGES {
        store::divisions::put(
            reg.conn(),
            &store::divisions::Division {
                code: code.to_string(),
                name: name.to_string(),
                level: "village".into(),
            },
        )?;
    }
    Ok(())
}

/// Enrols persons `0..pupils` (`sample_id(i)`) at one school, studying, in one transaction.
pub fn enrol_pupils(reg: &mut Register, school: &str, pupils: u64, actor: &Actor) -> Result<()> {
    let mut w = reg.writer(actor)?;
    for i in 0..pupils {
        let id = sample_id(i);
        let mut c = new_child(w.new_meta());
        c.name = sample_name(i);
        c.birth_date = Some(format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14]));
        c.id_key = Some(id.clone());
        c.id_number = Some(id);
        store::children::put(w.conn(), &c)?;
        let e = Enrolment {
            meta: w.new_meta(),
            child_id: c.meta.id.clone(),
            school_code: school.to_string(),
            student_no: None,
            grade: Some((i % 9 + 1) as i64),
            class_name: None,
            entry_date: None,
            status: "studying".into(),
            status_date: None,
            term: Some("2026秋".into()),
            note: None,
        };
        store::enrolments::put(w.conn(), &e)?;
    }
    w.commit()
}

/// Loads `rows` list rows spread over the poverty, welfare, disabled and aid KINDs (persons
/// taken every 5th from `0..span`, so most are pupils and some are not), one version each.
pub fn load_lists(
    reg: &mut Register,
    rows: u64,
    span: u64,
    as_of: &str,
    actor: &Actor,
) -> Result<()> {
    let w = reg.writer(actor)?;
    let now = w.now_text();
    let shares = [
        (Kind::Poverty, "鲁山县乡村振兴局", 2u64, vec!["jiandang"]),
        (Kind::Welfare, "鲁山县民政局", 1, vec!["dibao"]),
        (Kind::Disabled, "鲁山县残联", 1, vec!["disabled"]),
        (Kind::Aid, "鲁山县学生资助管理中心", 1, vec![]),
    ];
    let total: u64 = shares.iter().map(|s| s.2).sum();
    let mut next = 0u64;
    for (kind, source, share, groups) in shares {
        let n = rows * share / total;
        let id = store::list_versions::insert(
            w.conn(),
            &NewVersion {
                kind: kind.as_str(),
                source,
                as_of,
                file_name: "bench",
                file_sha256: "",
                imported_at: &now,
                operator: &actor.operator,
                rows_read: n as i64,
                rows_kept: n as i64,
                rows_out_of_age: 0,
                rows_refused: 0,
            },
        )?;
        for j in 0..n {
            let i = (next * 5 + 3) % span.max(1);
            next += 1;
            let key = sample_id(i);
            store::list_rows::insert(
                w.conn(),
                id,
                &ListRow {
                    row: j as u32 + 3,
                    birth_date: format!("{}-{}-{}", &key[6..10], &key[10..12], &key[12..14]),
                    id_key: Some(key),
                    name: sample_name(i),
                    sex: None,
                    head_name: None,
                    relation: None,
                    township: None,
                    township_code: None,
                    village: Some(VILLAGES[(i % 4) as usize].1.into()),
                    village_code: Some(VILLAGES[(i % 4) as usize].0.into()),
                    address: None,
                    category: (kind == Kind::Aid).then(|| "营养改善计划".to_string()),
                    disability_grade: None,
                    groups: groups.iter().map(|g| g.to_string()).collect(),
                    term: None,
                    school: None,
                },
            )?;
        }
    }
    w.commit()
}

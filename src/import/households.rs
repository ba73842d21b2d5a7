//! Household-roster import (村 学户册): one row per child, with the household's fields repeated
//! on each row (the template in `assets/templates/` and `baoxue template households`). Rows of
//! one household are grouped (by the head's ID number, else village + head's name + address);
//! households and children are upserted in one transaction, with the same checks as roll sheets.

use super::child::{
    apply_marks, apply_person, find_child, new_child, parse_guardians, parse_marks, parse_person,
    problem, save_child, save_guardians, set_if, Audit, Change, ChildMarks, Duplicates,
    PersonFields, RowGuardian, RunTally, PARENT_FIELDS,
};
use super::header::{Field, Schema};
use super::report::RowIssue;
use super::scan::DataRow;
use super::value::{self, CellProblem};
use super::{pipeline, Control, Event, Outcome, RefusedRow};
use crate::codes;
use crate::domain::{Household, SiteKind};
use crate::error::Result;
use crate::idnum::IdNumber;
use crate::register::{Actor, Register, Writer};
use crate::store;
use std::collections::HashMap;
use std::path::Path;

/// The roster's fields and every name they go by. The template writes the labels in this order.
pub const HOUSEHOLD_FIELDS: &[Field] = &[
    Field {
        key: "village_code",
        label: "村代码",
        synonyms: &[
            "村(居)代码",
            "村级代码",
            "行政村代码",
            "区划代码",
            "统计用区划代码",
            "村区划代码",
        ],
    },
    Field {
        key: "head_name",
        label: "户主姓名",
        synonyms: &["户主"],
    },
    Field {
        key: "head_id_number",
        label: "户主身份证号",
        synonyms: &[
            "户主身份证号码",
            "户主证件号码",
            "户主公民身份号码",
            "户主身份证件号",
        ],
    },
    Field {
        key: "address",
        label: "家庭住址",
        synonyms: &["住址", "家庭地址", "现住址", "居住地址"],
    },
    Field {
        key: "phone",
        label: "联系电话",
        synonyms: &["家庭电话", "户主电话", "户主联系电话"],
    },
    Field {
        key: "priority_groups",
        label: "重点户类别",
        synonyms: &["户类型", "户属性", "监测类型", "家庭类别", "重点户类型"],
    },
    Field {
        key: "name",
        label: "儿童姓名",
        synonyms: &["姓名", "子女姓名", "学生姓名", "适龄儿童姓名", "成员姓名"],
    },
    Field {
        key: "sex",
        label: "性别",
        synonyms: &[],
    },
    Field {
        key: "birth_date",
        label: "出生日期",
        synonyms: &["出生年月", "出生年月日", "生日"],
    },
    Field {
        key: "id_number",
        label: "身份证号",
        synonyms: &[
            "儿童身份证号",
            "身份证号码",
            "公民身份号码",
            "证件号码",
            "身份证件号",
            "身份证件号码",
            "成员身份证号码",
        ],
    },
    Field {
        key: "student_no",
        label: "全国学籍号",
        synonyms: &["学籍号"],
    },
    Field {
        key: "left_behind",
        label: "是否留守儿童",
        synonyms: &["留守儿童", "是否留守"],
    },
    Field {
        key: "orphan",
        label: "是否孤儿",
        synonyms: &["孤儿"],
    },
    Field {
        key: "unsupported",
        label: "是否事实无人抚养儿童",
        synonyms: &["事实无人抚养", "事实无人抚养儿童"],
    },
    Field {
        key: "in_difficulty",
        label: "是否困境儿童",
        synonyms: &["困境儿童"],
    },
    Field {
        key: "parent_in_prison",
        label: "是否服刑人员未成年子女",
        synonyms: &["服刑人员未成年子女"],
    },
    Field {
        key: "migrant",
        label: "是否进城务工人员随迁子女",
        synonyms: &["随迁子女", "是否随迁子女"],
    },
    Field {
        key: "disabled",
        label: "是否残疾",
        synonyms: &["残疾", "是否残疾儿童"],
    },
    Field {
        key: "disability_type",
        label: "残疾类别",
        synonyms: &["残疾类型"],
    },
    Field {
        key: "disability_grade",
        label: "残疾等级",
        synonyms: &["残疾级别"],
    },
    Field {
        key: "guardian_name",
        label: "监护人姓名",
        synonyms: &["监护人"],
    },
    Field {
        key: "guardian_relation",
        label: "监护人关系",
        synonyms: &["与儿童关系", "监护人与儿童关系"],
    },
    Field {
        key: "guardian_phone",
        label: "监护人电话",
        synonyms: &["监护人联系电话", "监护人手机"],
    },
    PARENT_FIELDS[0],
    PARENT_FIELDS[1],
    PARENT_FIELDS[2],
    PARENT_FIELDS[3],
    Field {
        key: "note",
        label: "备注",
        synonyms: &["说明"],
    },
];

/// The roster's schema: a header needs 户主姓名 and the child's name.
pub const HOUSEHOLD_SCHEMA: Schema = Schema {
    fields: HOUSEHOLD_FIELDS,
    ignored: &[
        "序号",
        "编号",
        "与户主关系",
        "民族",
        "就读学校",
        "就读年级",
        "年龄",
        "父亲身份证号",
        "父亲身份证号码",
        "父亲身份证件号",
        "母亲身份证号",
        "母亲身份证号码",
        "母亲身份证件号",
        "监护人身份证号",
        "监护人身份证号码",
        "监护人身份证件号",
    ],
    required: &[&["head_name"], &["name"]],
};

/// One roster row after checking.
#[derive(Debug, Clone)]
pub struct HouseholdRow {
    pub row: u32,
    pub village_code: Option<String>,
    pub head_name: String,
    pub head_id_number: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub priority_groups: Option<Vec<String>>,
    pub person: PersonFields,
    pub marks: ChildMarks,
    pub guardians: Vec<RowGuardian>,
    pub note: Option<String>,
    pub warnings: Vec<RowIssue>,
}

impl HouseholdRow {
    fn household_key(&self, village: &str) -> String {
        match &self.head_id_number {
            Some(id) => format!("id:{id}"),
            None => format!(
                "vn:{village}|{}|{}",
                self.head_name,
                self.address.as_deref().unwrap_or("")
            ),
        }
    }
}

/// Parses 重点户类别 text (`脱贫不稳定户、低保户`) into codes.
pub fn parse_priority_groups(raw: &str) -> std::result::Result<Vec<String>, CellProblem> {
    let mut out = Vec::new();
    for part in raw
        .split(['、', ',', '，', ';', '；', '/', ' ', '\u{3000}'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let code = match part {
            "无" | "否" | "一般户" | "-" | "/" => continue,
            "脱贫户" | "建档立卡户" | "建档立卡" | "建档立卡脱贫户" => {
                Some("jiandang")
            }
            "低保" => Some("dibao"),
            "特困户" | "特困供养" | "特困人员" => Some("tekun"),
            _ => None,
        };
        let code = match code {
            Some(c) => c.to_string(),
            None => codes::lookup(&codes::codes().priority_groups, part)
                .map(|c| c.code.clone())
                .ok_or_else(|| {
                    CellProblem::new(
                        "priority_group",
                        format!("重点户类别“{part}”无法识别，请填 脱贫不稳定户、边缘易致贫户、突发严重困难户、建档立卡(脱贫户)、低保户 或 无"),
                    )
                })?,
        };
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

/// Checks one roster row.
pub fn parse_row(row: &DataRow<'_, '_>) -> std::result::Result<HouseholdRow, RowIssue> {
    let err = |key: &str, p: CellProblem| problem(row, key, p);
    let mut warnings = Vec::new();
    let head_name = value::name(row.get("head_name")).ok_or_else(|| {
        err(
            "head_name",
            CellProblem::new("head_name_empty", "户主姓名为空，请填写"),
        )
    })?;
    let village_code = match value::text(row.get("village_code")) {
        Some(v) => {
            let v = crate::idnum::normalize(&v);
            if v.len() != 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(
                    "village_code",
                    CellProblem::new(
                        "village_code",
                        format!("村代码“{v}”应为12位统计用区划代码（县6位+乡镇3位+村3位）"),
                    ),
                ));
            }
            Some(v)
        }
        None => None,
    };
    let head_id_number =
        match value::id_text(row.get("head_id_number")).map_err(|p| err("head_id_number", p))? {
            Some(raw) => Some(
                IdNumber::parse(&raw)
                    .map_err(|e| {
                        err(
                            "head_id_number",
                            CellProblem::new(e.code(), format!("户主{e}")),
                        )
                    })?
                    .as_str()
                    .to_string(),
            ),
            None => None,
        };
    let priority_groups = match value::text(row.get("priority_groups")) {
        Some(t) => Some(parse_priority_groups(&t).map_err(|p| err("priority_groups", p))?),
        None if row.has("priority_groups") => Some(Vec::new()),
        None => None,
    };
    let person = parse_person(row, false, &mut warnings)?;
    let marks = parse_marks(row, &mut warnings)?;
    let guardians = parse_guardians(row, &mut warnings);
    let (phone, phone_warning) = value::phone(row.get("phone"));
    if let Some(m) = phone_warning {
        warnings.push(RowIssue {
            row: row.row,
            column: row.column_name("phone"),
            code: "phone".into(),
            message: m,
        });
    }
    Ok(HouseholdRow {
        row: row.row,
        village_code,
        head_name,
        head_id_number,
        address: value::text(row.get("address")),
        phone,
        priority_groups,
        person,
        marks,
        guardians,
        note: value::text(row.get("note")),
        warnings,
    })
}

/// A parsed roster row.
pub enum Parsed {
    Ok(Box<HouseholdRow>),
    Refused(RowIssue, Vec<String>),
}

/// Counts of households, in addition to the per-child counts of the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HouseholdCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

fn find_household(w: &Writer<'_>, r: &HouseholdRow, village: &str) -> Result<Option<Household>> {
    if let Some(id) = &r.head_id_number {
        if let Some(h) = store::households::list_by_head_id(w.conn(), id)?
            .into_iter()
            .next()
        {
            return Ok(Some(h));
        }
    }
    Ok(
        store::households::list_by_village_head(w.conn(), village, &r.head_name)?
            .into_iter()
            .find(|h| {
                r.head_id_number.is_none()
                    || h.head_id_number.is_none()
                    || h.head_id_number == r.head_id_number
            })
            .filter(|h| r.address.is_none() || h.address.is_none() || h.address == r.address),
    )
}

fn save_household(
    w: &mut Writer<'_>,
    audit: &mut Audit,
    r: &HouseholdRow,
    village: &str,
    counts: &mut HouseholdCounts,
) -> Result<String> {
    let old = find_household(w, r, village)?;
    let mut h = match &old {
        Some(h) => h.clone(),
        None => Household {
            meta: w.new_meta(),
            head_name: String::new(),
            head_id_number: None,
            phone: None,
            address: None,
            village_code: String::new(),
            priority_groups: Vec::new(),
            note: None,
        },
    };
    let mut changed = Vec::new();
    set_if(&mut h.head_name, &r.head_name, "head_name", &mut changed);
    set_if(
        &mut h.village_code,
        &village.to_string(),
        "village_code",
        &mut changed,
    );
    if r.head_id_number.is_some() {
        set_if(
            &mut h.head_id_number,
            &r.head_id_number,
            "head_id_number",
            &mut changed,
        );
    }
    if r.phone.is_some() {
        set_if(&mut h.phone, &r.phone, "phone", &mut changed);
    }
    if r.address.is_some() {
        set_if(&mut h.address, &r.address, "address", &mut changed);
    }
    if let Some(g) = &r.priority_groups {
        set_if(&mut h.priority_groups, g, "priority_groups", &mut changed);
    }
    match &old {
        None => {
            store::households::put(w.conn(), &h)?;
            audit.record(w, "households", &h.meta.id, "insert", &changed)?;
            counts.inserted += 1;
        }
        Some(_) if changed.is_empty() => counts.unchanged += 1,
        Some(o) => {
            h.meta = w.next_meta(&o.meta);
            store::households::put(w.conn(), &h)?;
            audit.record(w, "households", &h.meta.id, "update", &changed)?;
            counts.updated += 1;
        }
    }
    Ok(h.meta.id)
}

fn save_row(
    w: &mut Writer<'_>,
    audit: &mut Audit,
    r: &HouseholdRow,
    village: &str,
    household_id: &str,
) -> Result<Change> {
    let p = &r.person;
    let mut old = find_child(w, p.id_key.as_deref(), p.student_no.as_deref())?;
    if old.is_none() && p.id_key.is_none() && p.student_no.is_none() {
        old = store::children::list_by_household_name_birth(
            w.conn(),
            household_id,
            &p.name,
            &p.birth_date,
        )?
        .into_iter()
        .next();
    }
    let mut child = match &old {
        Some(c) => c.clone(),
        None => new_child(w.new_meta()),
    };
    let mut changed = Vec::new();
    apply_person(&mut child, p, &mut changed);
    apply_marks(
        &mut child,
        &r.marks.flags,
        &r.marks.disability_type,
        &r.marks.disability_grade,
        &mut changed,
    );
    set_if(
        &mut child.household_id,
        &Some(household_id.to_string()),
        "household_id",
        &mut changed,
    );
    set_if(
        &mut child.village_code,
        &Some(village.to_string()),
        "village_code",
        &mut changed,
    );
    if child.residence.is_none() && r.address.is_some() {
        set_if(&mut child.residence, &r.address, "residence", &mut changed);
    }
    if r.note.is_some() {
        set_if(&mut child.note, &r.note, "note", &mut changed);
    }
    let (child, change) = save_child(w, audit, old.as_ref(), child, &changed)?;
    let g = save_guardians(
        w,
        audit,
        &child.meta.id,
        &r.guardians,
        change == Change::Inserted,
    )?;
    Ok(change.merge(g))
}

/// Imports a household roster. Rows without a village code take the site's own (a village's
/// register); otherwise they are refused.
pub fn import_households(
    reg: &mut Register,
    path: &Path,
    sheet: Option<&str>,
    dry_run: bool,
    actor: &Actor,
    ctl: &mut Control<'_>,
) -> Result<(Outcome, HouseholdCounts)> {
    let site = reg.require_site()?;
    let default_village = (site.kind == SiteKind::Village && site.region_code.len() == 12)
        .then(|| site.region_code.clone());
    store::roll_imports::tune_for_bulk(reg.conn())?;
    let mut w = reg.writer(actor)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let run_id =
        store::roster_imports::insert_run(w.conn(), &file_name, &w.now_text(), &actor.operator)?;
    let mut audit = Audit::Listed(RunTally::default(), run_id);
    let mut in_run = 0i64;
    let mut out = Outcome::default();
    out.report.dry_run = dry_run;
    let mut counts = HouseholdCounts::default();
    let mut seen_households: HashMap<String, String> = HashMap::new();
    let (mut total, mut done) = (0u64, 0u64);
    let mut dups = Duplicates::default();
    let default_for_parse = default_village.clone();
    let parse = move |row: &DataRow<'_, '_>| match parse_row(row) {
        Ok(r) if r.village_code.is_none() && default_for_parse.is_none() => Parsed::Refused(
            RowIssue {
                row: r.row,
                column: row.column_name("village_code"),
                code: "village_code".into(),
                message: "村代码为空：请填写12位村代码（村级登记库导入时可不填，默认本村）".into(),
            },
            row.texts(),
        ),
        Ok(r) => {
            let village = r
                .village_code
                .clone()
                .or_else(|| default_for_parse.clone())
                .unwrap_or_default();
            let synthetic = format!(
                "nb:{}|{}|{}",
                r.household_key(&village),
                r.person.name,
                r.person.birth_date
            );
            let key = r
                .person
                .id_key
                .clone()
                .or_else(|| r.person.student_no.is_none().then_some(synthetic));
            match dups.check(r.row, key.as_deref(), r.person.student_no.as_deref()) {
                Some((first, what)) => Parsed::Refused(
                    RowIssue {
                        row: r.row,
                        column: row.column_name(if what == "全国学籍号" {
                            "student_no"
                        } else {
                            "id_number"
                        }),
                        code: "duplicate".into(),
                        message: format!(
                            "与第{first}行是同一儿童，以第{first}行为准；请删除或核对本行"
                        ),
                    },
                    row.texts(),
                ),
                None => Parsed::Ok(Box::new(r)),
            }
        }
        Err(issue) => Parsed::Refused(issue, row.texts()),
    };
    let stats = pipeline(path, sheet, &HOUSEHOLD_SCHEMA, ctl.cancel, parse, |ev| {
        match ev {
            Event::Header(info, map) => {
                total = info
                    .rows_estimate
                    .saturating_sub(u64::from(map.last_header_row));
                out.report.sheet = info.name;
                out.report.header_row = map.header_row;
                out.report.mapping = map.mapping(&HOUSEHOLD_SCHEMA);
                out.report.unknown_columns = map.unknown.clone();
                out.header_labels = map.labels;
            }
            Event::Rows(rows) => {
                for p in rows {
                    done += 1;
                    let r = match p {
                        Parsed::Refused(issue, cells) => {
                            out.refused_rows.push(RefusedRow {
                                row: issue.row,
                                cells,
                                reason: issue.message.clone(),
                            });
                            out.report.refused.push(issue);
                            continue;
                        }
                        Parsed::Ok(r) => r,
                    };
                    let village = r
                        .village_code
                        .clone()
                        .or_else(|| default_village.clone())
                        .unwrap_or_default();
                    let hkey = r.household_key(&village);
                    let household_id = match seen_households.get(&hkey) {
                        Some(id) => id.clone(),
                        None => {
                            let id = save_household(&mut w, &mut audit, &r, &village, &mut counts)?;
                            seen_households.insert(hkey, id.clone());
                            id
                        }
                    };
                    in_run += 1;
                    match save_row(&mut w, &mut audit, &r, &village, &household_id)? {
                        Change::Inserted => out.report.inserted += 1,
                        Change::Updated => out.report.updated += 1,
                        Change::Unchanged => out.report.unchanged += 1,
                    }
                    out.report.warnings.extend(r.warnings);
                }
                ctl.report(done, total);
                if ctl.cancelled() {
                    return Err(super::FileError::Cancelled.into());
                }
            }
        }
        Ok(())
    })?;
    out.report.rows_read = stats.data_rows;
    out.report.skipped_rows = stats.skipped_rows;
    store::roster_imports::put_run_rows(w.conn(), run_id, in_run)?;
    // One audit row for the run: what it wrote, per table; the run's record list says which
    // records, and its digest is in the chain (`audit verify` recomputes it).
    if let Audit::Listed(tally, _) = &audit {
        if tally.records() > 0 {
            let mut fields = tally.lines();
            fields.push(format!(
                "records_digest {}",
                store::roster_imports::records_digest(w.conn(), run_id)?
            ));
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            w.audit("roster_import_runs", &run_id.to_string(), "import", &refs)?;
        }
    }
    ctl.report(done, done);
    if !dry_run {
        w.commit()?;
    }
    Ok((out, counts))
}

/// Writes the empty roster template (`baoxue template households --out F`): a header row with
/// every column, ID and phone columns formatted as text, an example row, and a 填写说明 sheet.
pub fn write_template(path: &Path) -> Result<()> {
    use rust_xlsxwriter::{Format, Workbook};
    let err =
        |e: rust_xlsxwriter::XlsxError| crate::Error::Other(format!("生成学户册模板失败：{e}"));
    let mut wb = Workbook::new();
    let text = Format::new().set_num_format("@");
    let head = Format::new().set_bold().set_background_color("#DDEBF7");
    let ws = wb.add_worksheet();
    ws.set_name("学户册").map_err(err)?;
    let example = [
        "410423100201",
        "王大山",
        "",
        "张庄村3组12号",
        "13812345678",
        "低保户",
        "王小明",
        "男",
        "2015-03-08",
        "",
        "",
        "是",
        "否",
        "否",
        "否",
        "否",
        "否",
        "否",
        "",
        "",
        "王大山",
        "父亲",
        "13812345678",
        "",
    ];
    for (c, f) in HOUSEHOLD_FIELDS.iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(0, c, f.label, &head)
            .map_err(err)?;
        ws.set_column_format(c, &text).map_err(err)?;
        ws.set_column_width(c, (f.label.chars().count() as f64 * 2.2).max(10.0))
            .map_err(err)?;
        if let Some(v) = example.get(c as usize).filter(|v| !v.is_empty()) {
            ws.write_string_with_format(1, c, *v, &text).map_err(err)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    let help = wb.add_worksheet();
    help.set_name("填写说明").map_err(err)?;
    let lines = [
        "每行填写一名0-18周岁儿童；同一户的每个孩子各占一行，户主、住址等户信息在每行重复填写。",
        "村代码：12位统计用区划代码（县6位+乡镇3位+村3位）；村级登记库导入时可不填，默认本村。",
        "身份证号、户主身份证号、电话列已设为文本格式，请勿改为数字（Excel 会丢失后几位）。",
        "没有身份证号的儿童必须填写出生日期（如 2015-03-08），否则无法判断是否适龄。",
        "重点户类别可填多个，用顿号分隔：脱贫不稳定户、边缘易致贫户、突发严重困难户、建档立卡(脱贫户)、低保户。",
        "父亲姓名、母亲姓名及电话按父母填写，导入后记为监护人（关系为父亲、母亲）；与监护人是同一人时只记一次。",
        "是否类的列填 是 或 否；残疾类别填 视力 听力 言语 肢体 智力 精神 多重 之一，或填 无。",
        "第2行是示例，请删除后再填写。",
    ];
    for (i, l) in lines.iter().enumerate() {
        help.write_string(i as u32, 0, *l).map_err(err)?;
    }
    help.set_column_width(0, 110).map_err(err)?;
    crate::paths::write_replacing(path, &wb.save_to_buffer().map_err(err)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_groups_by_name_alias_and_none() {
        assert_eq!(
            parse_priority_groups("脱贫不稳定户、低保").unwrap(),
            vec!["tuopin_unstable".to_string(), "dibao".to_string()]
        );
        assert_eq!(
            parse_priority_groups("建档立卡户，低保户").unwrap(),
            vec!["jiandang", "dibao"]
        );
        assert!(parse_priority_groups("无").unwrap().is_empty());
        assert_eq!(
            parse_priority_groups("一般困难户").unwrap_err().code,
            "priority_group"
        );
    }
}

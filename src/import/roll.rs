//! Roll-sheet import (学籍花名册) for one school and one term: upserts each pupil (keyed by ID
//! number, else by 全国学籍号), their enrolment at the school, guardians and flags, in one
//! transaction. Importing the same file again changes nothing. Pupils on the school's previous
//! sheet who are missing from this one are listed, never deleted.

pub use super::child::{
    apply_marks, apply_person, disability_code, find_child, new_child, new_guardian,
    parse_guardians, parse_marks, parse_person, problem, save_child, save_guardians, set_if, Audit,
    Change, ChildMarks, Duplicates, KeyFilter, PersonFields, RowGuardian, RunTally, FLAG_FIELDS,
    PARENT_FIELDS,
};
use super::header::{Field, Schema};
use super::report::{MissingPupil, RowIssue};
use super::scan::DataRow;
use super::value::{self, CellProblem};
use super::window::{Verdict, Window};
use super::{pipeline_balanced, Balance, Control, Event, Outcome, RefusedRow};
use crate::codes;
use crate::domain::{Child, Enrolment, Guardian};
use crate::error::{Error, Result};
use crate::idnum::{self, mask_id};
use crate::register::{Actor, Register, Writer};
use crate::store;
use crate::store::flush::Flusher;
use crate::trace::{Clock, Job};
use chrono::Datelike;
use std::path::Path;

/// The roll sheet's fields and every name they go by.
pub const ROLL_FIELDS: &[Field] = &[
    Field {
        key: "name",
        label: "姓名",
        synonyms: &["学生姓名", "儿童姓名", "学生名字"],
    },
    Field {
        key: "sex",
        label: "性别",
        synonyms: &["学生性别"],
    },
    Field {
        key: "birth_date",
        label: "出生日期",
        synonyms: &["出生年月", "出生年月日", "生日", "出生时间"],
    },
    Field {
        key: "id_number",
        label: "身份证号",
        synonyms: &[
            "身份证件号",
            "身份证件号码",
            "证件号码",
            "证件号",
            "身份证号码",
            "公民身份号码",
            "公民身份证号",
            "学生身份证号",
            "身份证",
        ],
    },
    Field {
        key: "student_no",
        label: "全国学籍号",
        synonyms: &[
            "学籍号",
            "学籍编号",
            "国网学籍号",
            "学籍号码",
            "全国学籍号码",
        ],
    },
    Field {
        key: "grade",
        label: "年级",
        synonyms: &["所在年级", "就读年级", "现年级", "现就读年级"],
    },
    Field {
        key: "class_name",
        label: "班级",
        synonyms: &["所在班级", "班别", "班级名称", "班"],
    },
    Field {
        key: "entry_date",
        label: "入学日期",
        synonyms: &["入学年月", "入学时间", "入校时间"],
    },
    Field {
        key: "status",
        label: "学籍状态",
        synonyms: &["在校状态", "就读状态", "学生状态"],
    },
    Field {
        key: "hukou_place",
        label: "户籍所在地",
        synonyms: &["户口所在地", "户籍地", "户籍地址", "户口地址"],
    },
    Field {
        key: "residence",
        label: "现住址",
        synonyms: &[
            "家庭住址",
            "居住地址",
            "家庭地址",
            "住址",
            "现居住地址",
            "家庭现住址",
        ],
    },
    Field {
        key: "guardian_name",
        label: "监护人姓名",
        synonyms: &[
            "监护人",
            "家长姓名",
            "监护人1姓名",
            "第一监护人姓名",
            "监护人一姓名",
        ],
    },
    Field {
        key: "guardian_relation",
        label: "监护人关系",
        synonyms: &[
            "与学生关系",
            "监护人与学生关系",
            "关系",
            "家长关系",
            "监护人1关系",
            "与本人关系",
            "监护人与本人关系",
        ],
    },
    Field {
        key: "guardian_phone",
        label: "监护人电话",
        synonyms: &[
            "联系电话",
            "监护人联系电话",
            "家长电话",
            "家长联系电话",
            "手机号码",
            "联系方式",
            "监护人手机",
            "监护人1电话",
            "监护人手机号",
            "家长手机",
        ],
    },
    Field {
        key: "guardian2_name",
        label: "监护人2姓名",
        synonyms: &["第二监护人姓名", "监护人二姓名"],
    },
    Field {
        key: "guardian2_relation",
        label: "监护人2关系",
        synonyms: &["第二监护人关系", "监护人二关系"],
    },
    Field {
        key: "guardian2_phone",
        label: "监护人2电话",
        synonyms: &["第二监护人电话", "监护人二电话", "监护人2联系电话"],
    },
    PARENT_FIELDS[0],
    PARENT_FIELDS[1],
    PARENT_FIELDS[2],
    PARENT_FIELDS[3],
    Field {
        key: "left_behind",
        label: "是否留守儿童",
        synonyms: &["留守儿童", "是否留守"],
    },
    Field {
        key: "migrant",
        label: "是否进城务工人员随迁子女",
        synonyms: &[
            "随迁子女",
            "是否随迁子女",
            "进城务工人员随迁子女",
            "是否随迁",
        ],
    },
    Field {
        key: "orphan",
        label: "是否孤儿",
        synonyms: &["孤儿"],
    },
    Field {
        key: "unsupported",
        label: "是否事实无人抚养儿童",
        synonyms: &["事实无人抚养", "事实无人抚养儿童", "是否事实无人抚养"],
    },
    Field {
        key: "parent_in_prison",
        label: "是否服刑人员未成年子女",
        synonyms: &["服刑人员未成年子女"],
    },
    Field {
        key: "in_difficulty",
        label: "是否困境儿童",
        synonyms: &["困境儿童"],
    },
    Field {
        key: "disabled",
        label: "是否残疾",
        synonyms: &["残疾", "是否残疾儿童", "是否残疾学生"],
    },
    Field {
        key: "disability_type",
        label: "残疾类别",
        synonyms: &["残疾类型", "残疾种类"],
    },
    Field {
        key: "disability_grade",
        label: "残疾等级",
        synonyms: &["残疾级别"],
    },
    Field {
        key: "note",
        label: "备注",
        synonyms: &["说明"],
    },
];

/// The roll sheet's schema: a header needs 姓名 and 身份证号 or 全国学籍号.
pub const ROLL_SCHEMA: Schema = Schema {
    fields: ROLL_FIELDS,
    ignored: &[
        "序号",
        "编号",
        "学号",
        "民族",
        "身份证件类型",
        "证件类型",
        "国籍",
        "国籍/地区",
        "港澳台侨外",
        "政治面貌",
        "健康状况",
        "血型",
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
    required: &[&["name"], &["id_number", "student_no"]],
};

/// From this many rows on, a roll import reads the register's child keys into memory first
/// (`KeyFilter`) rather than searching two indexes for every new pupil.
const KEY_FILTER_ROWS: u64 = 5_000;

thread_local! {
    static BALANCE: std::cell::Cell<Balance> = const { std::cell::Cell::new(Balance::Adaptive) };
}

/// Runs `f` with roll imports on this thread parsing their rows as `b` says rather than on
/// whichever thread is idle, for the tests that compare the ways of importing the same sheet.
#[doc(hidden)]
pub fn with_balance<T>(b: Balance, f: impl FnOnce() -> T) -> T {
    BALANCE.with(|c| c.set(b));
    let out = f();
    BALANCE.with(|c| c.set(Balance::Adaptive));
    out
}

fn balance() -> Balance {
    BALANCE.with(|c| c.get())
}

/// The `children` indexes a roll import fills at random places (keyed by ID key, name and
/// birth date, 学籍号). Its other indexes grow at their end (ids count up) or are partial
/// indexes of roster children, which a roll row never touches.
const RANDOM_CHILD_INDEXES: &[&str] = &[
    "children_id_key",
    "children_name_birth",
    "children_student_no",
];

/// Drops the indexes of [`RANDOM_CHILD_INDEXES`] when a sheet of `rows` rows (read through the
/// `KeyFilter`) is at least four times as large as the `children` table (a first import, into
/// an empty register or a small one): they are built again after the new pupils, one sort
/// each, inside the same transaction (`build_indexes`), or before any row that reads the
/// register. Returns the statements that build them. On a larger register (a re-import, or
/// another school's sheet) they stay: the first pupil found there would make the import build
/// them again from every child at once, which costs more than it saves.
fn drop_child_indexes_for_bulk(conn: &rusqlite::Connection, rows: u64) -> Result<Vec<String>> {
    use store::rows as table;
    let mut rebuild = Vec::new();
    if table::count(conn, "children")?.saturating_mul(4) <= rows {
        for (name, sql) in table::secondary_indexes(conn, "children")? {
            if RANDOM_CHILD_INDEXES.contains(&name.as_str()) {
                table::drop_index(conn, &name)?;
                rebuild.push(sql);
            }
        }
    }
    Ok(rebuild)
}

/// Builds again the indexes `drop_child_indexes_for_bulk` dropped (none left after).
fn build_indexes(conn: &rusqlite::Connection, rebuild: &mut Vec<String>) -> Result<()> {
    for sql in rebuild.drain(..) {
        store::rows::create_index(conn, &sql)?;
    }
    Ok(())
}

/// One roll-sheet import's settings.
#[derive(Debug, Clone)]
pub struct RollImport {
    pub school: String,
    /// `2026秋` / `2027春`; default: the term of `actor.now`.
    pub term: Option<String>,
    pub sheet: Option<String>,
    pub dry_run: bool,
}

/// The term a date falls in: September-January → that autumn, February-August → spring.
pub fn term_of(date: chrono::NaiveDate) -> String {
    match date.month() {
        9..=12 => format!("{}秋", date.year()),
        1 => format!("{}秋", date.year() - 1),
        _ => format!("{}春", date.year()),
    }
}

/// Checks a term written as `2026秋` / `2027春` (also `2026年秋季`).
pub fn check_term(raw: &str) -> Result<String> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '年' | '季' | '学' | '期'))
        .collect();
    let ok = s.chars().count() == 5
        && s.chars().take(4).all(|c| c.is_ascii_digit())
        && (s.ends_with('秋') || s.ends_with('春'));
    if ok {
        Ok(s)
    } else {
        Err(Error::invalid(
            "学期",
            format!("“{raw}”应写成 2026秋 或 2027春"),
        ))
    }
}

/// One roll row after checking.
#[derive(Debug, Clone)]
pub struct RollRow {
    pub row: u32,
    pub name: String,
    pub sex: Option<String>,
    pub birth_date: String,
    pub id_number: Option<String>,
    pub id_key: Option<String>,
    pub student_no: Option<String>,
    pub grade: Option<i64>,
    pub class_name: Option<String>,
    pub entry_date: Option<String>,
    pub status: String,
    pub hukou_place: Option<String>,
    pub residence: Option<String>,
    pub note: Option<String>,
    pub guardians: Vec<RowGuardian>,
    /// `(child_flags code, set?)` for each flag column with a value.
    pub flags: Vec<(&'static str, bool)>,
    /// `Some(None)`: the sheet says the pupil has no disability.
    pub disability_type: Option<Option<String>>,
    pub disability_grade: Option<String>,
    pub warnings: Vec<RowIssue>,
}

/// A parsed row: checked, or refused with its cells.
pub enum Parsed {
    Ok(Box<RollRow>),
    Refused(RowIssue, Vec<String>),
}

/// Checks one data row. Duplicates within the file are checked by the caller.
pub fn parse_row(row: &DataRow<'_, '_>) -> std::result::Result<RollRow, RowIssue> {
    let err = |key: &str, p: CellProblem| problem(row, key, p);
    let mut warnings = Vec::new();
    let person = parse_person(row, true, &mut warnings)?;
    let grade = value::grade(row.get("grade")).map_err(|p| err("grade", p))?;
    let entry_date = value::date_text(row.get("entry_date")).map_err(|p| err("entry_date", p))?;
    let status = match value::text(row.get("status")) {
        None => "studying".to_string(),
        Some(s) => codes::lookup(&codes::codes().enrolment_statuses, &s)
            .map(|c| c.code.clone())
            .ok_or_else(|| {
                err(
                    "status",
                    CellProblem::new("status", format!("学籍状态“{s}”无法识别，请填 在读、转出、休学、延缓入学、毕业、死亡 或 辍学")),
                )
            })?,
    };
    let marks = parse_marks(row, &mut warnings)?;
    let guardians = parse_guardians(row, &mut warnings);
    Ok(RollRow {
        row: row.row,
        name: person.name,
        sex: person.sex,
        birth_date: person.birth_date,
        id_number: person.id_number,
        id_key: person.id_key,
        student_no: person.student_no,
        grade,
        class_name: value::text(row.get("class_name")),
        entry_date,
        status,
        hukou_place: value::text(row.get("hukou_place")),
        residence: value::text(row.get("residence")),
        note: value::text(row.get("note")),
        guardians,
        flags: marks.flags,
        disability_type: marks.disability_type,
        disability_grade: marks.disability_grade,
        warnings,
    })
}

/// Sets a child's fields from a roll row (empty cells keep what the register has); returns the
/// fields changed.
fn fill_child(child: &mut Child, r: &RollRow) -> Vec<&'static str> {
    let mut changed = Vec::new();
    set_if(&mut child.name, &r.name, "name", &mut changed);
    if r.sex.is_some() {
        set_if(&mut child.sex, &r.sex, "sex", &mut changed);
    }
    set_if(
        &mut child.birth_date,
        &Some(r.birth_date.clone()),
        "birth_date",
        &mut changed,
    );
    if r.id_number.is_some() {
        set_if(
            &mut child.id_number,
            &r.id_number,
            "id_number",
            &mut changed,
        );
    }
    if r.student_no.is_some() {
        set_if(
            &mut child.student_no,
            &r.student_no,
            "student_no",
            &mut changed,
        );
    }
    // The row's own key was found by the reading thread: with the row's ID (or, no ID on
    // record, its G-form 学籍号) in the record, it is the link key; parse again only otherwise.
    let key = if r.id_number.is_some() || (child.id_number.is_none() && r.student_no.is_some()) {
        r.id_key.clone()
    } else {
        idnum::link_key(child.id_number.as_deref(), child.student_no.as_deref())
    };
    set_if(&mut child.id_key, &key, "id_key", &mut changed);
    if r.hukou_place.is_some() {
        set_if(
            &mut child.hukou_place,
            &r.hukou_place,
            "hukou_place",
            &mut changed,
        );
    }
    if r.residence.is_some() {
        set_if(
            &mut child.residence,
            &r.residence,
            "residence",
            &mut changed,
        );
    }
    let mut flags = child.flags.clone();
    apply_flags(&mut flags, &r.flags);
    set_if(&mut child.flags, &flags, "flags", &mut changed);
    if let Some(t) = &r.disability_type {
        set_if(
            &mut child.disability_type,
            t,
            "disability_type",
            &mut changed,
        );
    }
    if r.disability_grade.is_some() {
        set_if(
            &mut child.disability_grade,
            &r.disability_grade,
            "disability_grade",
            &mut changed,
        );
    }
    changed
}

/// A new enrolment of a child at a school, for `fill_enrolment` to fill.
fn new_enrolment(meta: crate::domain::Meta, child_id: &str, school: &str) -> Enrolment {
    Enrolment {
        meta,
        child_id: child_id.to_string(),
        school_code: school.to_string(),
        student_no: None,
        grade: None,
        class_name: None,
        entry_date: None,
        status: String::new(),
        status_date: None,
        term: None,
        note: None,
    }
}

/// Sets an enrolment's fields from a roll row; returns the fields changed.
fn fill_enrolment(e: &mut Enrolment, r: &RollRow, term: &str) -> Vec<&'static str> {
    let mut ech = Vec::new();
    if r.student_no.is_some() {
        set_if(&mut e.student_no, &r.student_no, "student_no", &mut ech);
    }
    if r.grade.is_some() {
        set_if(&mut e.grade, &r.grade, "grade", &mut ech);
    }
    if r.class_name.is_some() {
        set_if(&mut e.class_name, &r.class_name, "class_name", &mut ech);
    }
    if r.entry_date.is_some() {
        set_if(&mut e.entry_date, &r.entry_date, "entry_date", &mut ech);
    }
    set_if(&mut e.status, &r.status, "status", &mut ech);
    set_if(&mut e.term, &Some(term.to_string()), "term", &mut ech);
    if r.note.is_some() {
        set_if(&mut e.note, &r.note, "note", &mut ech);
    }
    ech
}

/// New pupils of a large import, kept until they are written many to a statement
/// (`store::many`). Whatever reads the register for a row writes them first
/// (`NewPupils::flush`), so every read sees every row before it, as if each had been written
/// at once.
#[derive(Default)]
struct NewPupils {
    children: Vec<Child>,
    enrolments: Vec<Enrolment>,
    guardians: Vec<Guardian>,
    runs: Vec<store::roll_imports::RunChild>,
    /// A bulk load's early write-back (`store::flush`): after each full batch, what SQLite
    /// spilled into the file is made durable in the background, rather than all at the commit.
    early: Option<Flusher>,
}

/// New pupils kept before they are written.
const NEW_PUPILS_HELD: usize = 4096;

impl NewPupils {
    fn flush(&mut self, conn: &rusqlite::Connection) -> Result<()> {
        store::children::insert_many(conn, &self.children)?;
        store::enrolments::insert_many(conn, &self.enrolments)?;
        store::guardians::insert_many(conn, &self.guardians)?;
        store::roll_imports::insert_children(conn, &self.runs)?;
        self.children.clear();
        self.enrolments.clear();
        self.guardians.clear();
        self.runs.clear();
        Ok(())
    }

    /// Writes a full batch (`flush`) and has the file so far made durable in the background.
    fn flush_full(&mut self, conn: &rusqlite::Connection) -> Result<()> {
        self.flush(conn)?;
        if let Some(f) = &self.early {
            f.write_back();
        }
        Ok(())
    }

    /// A pupil the register does not have (`KeyFilter` says so): the same records, stamps and
    /// audit tally as `upsert_row` makes for a new pupil, kept to be written later.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        w: &mut Writer<'_>,
        audit: &mut Audit,
        known: &mut KeyFilter,
        run_id: i64,
        school: &str,
        term: &str,
        r: RollRow,
    ) -> Result<()> {
        let child_meta = w.new_meta();
        let enrolment_meta = w.new_meta();
        let (child, changed, e, ech, guardians) =
            new_records(child_meta, enrolment_meta, school, term, r);
        audit.record(w, "children", &child.meta.id, "insert", &changed)?;
        known.add(child.id_key.as_deref(), child.student_no.as_deref());
        audit.record(w, "enrolments", &e.meta.id, "insert", &ech)?;
        self.enrolments.push(e);
        for g in guardians {
            self.guardians
                .push(new_guardian(w, audit, &child.meta.id, g)?);
        }
        self.runs.push(store::roll_imports::RunChild {
            run_id,
            child_id: child.meta.id.clone(),
            change: Change::Inserted.as_str(),
        });
        self.children.push(child);
        Ok(())
    }
}

/// A new pupil's child and enrolment, with the fields each sets: what `fill_child` and
/// `fill_enrolment` make of a record with nothing set, the row's texts moved rather than copied.
type NewRecords = (
    Child,
    Vec<&'static str>,
    Enrolment,
    Vec<&'static str>,
    Vec<RowGuardian>,
);

/// Sets or clears each yes/no flag the sheet gave (`是` adds the code once, `否` removes it);
/// flags the sheet has no column for stay as they are.
pub(super) fn apply_flags(flags: &mut Vec<String>, sheet: &[(&'static str, bool)]) {
    for (code, on) in sheet {
        let has = flags.iter().any(|f| f == code);
        if *on && !has {
            flags.push(code.to_string());
        } else if !on && has {
            flags.retain(|f| f != code);
        }
    }
}

fn new_records(
    child_meta: crate::domain::Meta,
    enrolment_meta: crate::domain::Meta,
    school: &str,
    term: &str,
    r: RollRow,
) -> NewRecords {
    let mut flags: Vec<String> = Vec::new();
    apply_flags(&mut flags, &r.flags);
    let key = if r.id_number.is_some() || r.student_no.is_some() {
        r.id_key
    } else {
        idnum::link_key(None, None)
    };
    let set = |fields: &[(&'static str, bool)]| -> Vec<&'static str> {
        fields
            .iter()
            .filter(|(_, on)| *on)
            .map(|(f, _)| *f)
            .collect()
    };
    let changed = set(&[
        ("name", !r.name.is_empty()),
        ("sex", r.sex.is_some()),
        ("birth_date", true),
        ("id_number", r.id_number.is_some()),
        ("student_no", r.student_no.is_some()),
        ("id_key", key.is_some()),
        ("hukou_place", r.hukou_place.is_some()),
        ("residence", r.residence.is_some()),
        ("flags", !flags.is_empty()),
        (
            "disability_type",
            matches!(r.disability_type, Some(Some(_))),
        ),
        ("disability_grade", r.disability_grade.is_some()),
    ]);
    let ech = set(&[
        ("student_no", r.student_no.is_some()),
        ("grade", r.grade.is_some()),
        ("class_name", r.class_name.is_some()),
        ("entry_date", r.entry_date.is_some()),
        ("status", !r.status.is_empty()),
        ("term", true),
        ("note", r.note.is_some()),
    ]);
    let mut child = new_child(child_meta);
    child.name = r.name;
    child.sex = r.sex;
    child.birth_date = Some(r.birth_date);
    child.id_number = r.id_number;
    child.id_key = key;
    child.student_no = r.student_no.clone();
    child.hukou_place = r.hukou_place;
    child.residence = r.residence;
    child.flags = flags;
    child.disability_type = r.disability_type.flatten();
    child.disability_grade = r.disability_grade;
    let e = Enrolment {
        student_no: r.student_no,
        grade: r.grade,
        class_name: r.class_name,
        entry_date: r.entry_date,
        status: r.status,
        term: Some(term.to_string()),
        note: r.note,
        ..new_enrolment(enrolment_meta, &child.meta.id, school)
    };
    (child, changed, e, ech, r.guardians)
}

fn upsert_row(
    w: &mut Writer<'_>,
    audit: &mut Audit,
    known: &mut Option<KeyFilter>,
    school: &str,
    term: &str,
    r: &RollRow,
) -> Result<(String, Change)> {
    let (id_key, student_no) = match known {
        Some(f) => f.narrow(r.id_key.as_deref(), r.student_no.as_deref()),
        None => (r.id_key.as_deref(), r.student_no.as_deref()),
    };
    let old = if id_key.is_none() && student_no.is_none() {
        None
    } else {
        find_child(w, id_key, student_no)?
    };
    let mut child = match &old {
        Some(c) => c.clone(),
        None => new_child(w.new_meta()),
    };
    let changed = fill_child(&mut child, r);
    let (child, change) = save_child(w, audit, old.as_ref(), child, &changed)?;
    let is_new = change == Change::Inserted;
    if let Some(f) = known {
        if change == Change::Unchanged {
            f.add(child.id_key.as_deref(), child.student_no.as_deref());
        } else {
            f.add_written(child.id_key.as_deref(), child.student_no.as_deref());
        }
    }

    // The enrolment at this school (one per child and school, updated each term).
    let old_enrolment = if is_new {
        None
    } else {
        store::enrolments::list_by_child(w.conn(), &child.meta.id)?
            .into_iter()
            .find(|e| e.school_code == school)
    };
    let mut e = match &old_enrolment {
        Some(o) => o.clone(),
        None => new_enrolment(w.new_meta(), &child.meta.id, school),
    };
    let ech = fill_enrolment(&mut e, r, term);
    let echange = match &old_enrolment {
        None => {
            store::enrolments::insert(w.conn(), &e)?;
            audit.record(w, "enrolments", &e.meta.id, "insert", &ech)?;
            Change::Updated
        }
        Some(_) if ech.is_empty() => Change::Unchanged,
        Some(o) => {
            e.meta = w.next_meta(&o.meta);
            store::enrolments::put(w.conn(), &e)?;
            audit.record(w, "enrolments", &e.meta.id, "update", &ech)?;
            Change::Updated
        }
    };
    let gchange = save_guardians(w, audit, &child.meta.id, &r.guardians, is_new)?;
    Ok((child.meta.id, change.merge(echange).merge(gchange)))
}

/// The school's pupils on its previous sheet who are not on this one.
fn missing_since_last(w: &Writer<'_>, school: &str, run_id: i64) -> Result<Vec<MissingPupil>> {
    let Some((prev, prev_term)) = store::roll_imports::get_previous_run(w.conn(), school, run_id)?
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for child_id in store::roll_imports::list_missing(w.conn(), prev, run_id)? {
        let Some(child) = store::children::get(w.conn(), &child_id)? else {
            continue;
        };
        let enrolment = store::enrolments::list_by_child(w.conn(), &child_id)?
            .into_iter()
            .find(|e| e.school_code == school);
        out.push(MissingPupil {
            child_id,
            name: child.name,
            id_number: child.id_number.as_deref().map(mask_id),
            student_no: child.student_no,
            grade: enrolment.as_ref().and_then(|e| e.grade),
            class_name: enrolment.and_then(|e| e.class_name),
            last_term: prev_term.clone(),
            note: "不在新花名册上：请核实是离校、转出还是疑似流失".into(),
        });
    }
    Ok(out)
}

/// Imports a roll sheet. Refused rows are in the report; the file itself unreadable (or the
/// school unknown, or the import cancelled) is an error, with nothing written.
///
/// A large file (a school's or a county's whole roll) is written with a rollback journal instead
/// of the WAL when no other connection has the register open (`store::rows::journal_for_bulk`):
/// the import's transaction is far larger than the page cache, and in WAL mode every page spilled
/// from the cache goes to the WAL, is looked up and read back from it, and is written a second
/// time by the checkpoint. Still one transaction: all or nothing.
pub fn import_roll(
    reg: &mut Register,
    path: &Path,
    opts: &RollImport,
    actor: &Actor,
    ctl: &mut Control<'_>,
) -> Result<Outcome> {
    let bulk = super::is_bulk_file(path);
    let journal = if bulk {
        store::rows::journal_for_bulk(reg.conn())
    } else {
        None
    };
    // A bulk import checks no foreign keys, as a bundle merge does not: each enrolment,
    // guardian and run row it writes refers to a child it has found in the register or has
    // written before it in the same transaction (a batch of new pupils is written children
    // first, and one the register refuses fails the import), so the check would only repeat,
    // per record, a look-up of a child just written: 0.17 s of CPU in a 200k first import.
    // Switched on again whatever happens; a small file keeps them.
    let result = if bulk {
        reg.without_foreign_keys(|reg| import_roll_inner(reg, path, bulk, opts, actor, ctl))
    } else {
        import_roll_inner(reg, path, bulk, opts, actor, ctl)
    };
    if let Some(mode) = journal {
        store::rows::restore_journal(reg.conn(), &mode);
    }
    result
}

/// `bulk`: the file is large enough for a bulk load (`super::is_bulk_file`).
fn import_roll_inner(
    reg: &mut Register,
    path: &Path,
    bulk: bool,
    opts: &RollImport,
    actor: &Actor,
    ctl: &mut Control<'_>,
) -> Result<Outcome> {
    let mut clock = Clock::of(Job::Import, "writer", std::time::Instant::now());
    let school = opts.school.trim().to_string();
    if store::schools::get_by_code(reg.conn(), &school)?.is_none() {
        return Err(Error::NotFound {
            what: "学校".into(),
            key: format!(
                "{school}（请先用 `baoxue school add --code {school} …` 登记该校，再导入花名册）"
            ),
        });
    }
    let term = match &opts.term {
        Some(t) => check_term(t)?,
        None => term_of(actor.now.date_naive()),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    store::roll_imports::tune_for_bulk(reg.conn())?;
    let mut w = reg.writer(actor)?;
    let run_id = store::roll_imports::insert_run(
        w.conn(),
        &school,
        &term,
        &file_name,
        &w.now_text(),
        &actor.operator,
    )?;
    let mut out = Outcome::default();
    out.report.school = Some(school.clone());
    out.report.term = Some(term.clone());
    out.report.dry_run = opts.dry_run;
    let mut total = 0u64;
    let mut done = 0u64;
    let mut in_run = 0i64;
    let mut dups = Duplicates::default();
    let mut audit = Audit::PerRun(RunTally::default());
    // For a large sheet, the register's child keys in memory (`KeyFilter`), read once the
    // header tells how many rows are coming.
    let mut known: Option<KeyFilter> = None;
    let mut new_pupils = NewPupils {
        early: if bulk && !opts.dry_run {
            Flusher::start(w.conn())
        } else {
            None
        },
        ..NewPupils::default()
    };
    // With the key filter, the school's pupils as the register holds them, a window at a time.
    let mut held: Option<Window> = None;
    // A large load of new pupils: the `children` indexes it would fill at random places,
    // dropped, with the statements that build them again (`drop_child_indexes_for_bulk`).
    let mut rebuild: Vec<String> = Vec::new();
    // Checking a row is pure (`parse_row`: either thread may do it, `pipeline_balanced`); the
    // duplicate check depends on the rows before it and runs in order on this thread.
    let parse = |row: &DataRow<'_, '_>| match parse_row(row) {
        Ok(r) => Parsed::Ok(Box::new(r)),
        Err(issue) => Parsed::Refused(issue, row.texts()),
    };
    let finish = move |p: Parsed, row: &DataRow<'_, '_>| match p {
        Parsed::Ok(r) => match dups.check(r.row, r.id_key.as_deref(), r.student_no.as_deref()) {
            Some((first, what)) => Parsed::Refused(
                RowIssue {
                    row: r.row,
                    column: row.column_name(if what == "身份证号" {
                        "id_number"
                    } else {
                        "student_no"
                    }),
                    code: "duplicate".into(),
                    message: format!(
                        "与第{first}行是同一学生（{what}相同），以第{first}行为准；请删除或核对本行"
                    ),
                },
                row.texts(),
            ),
            None => Parsed::Ok(r),
        },
        refused => refused,
    };
    let cancel = ctl.cancel;
    clock.step(|| "school, run row".into());
    let stats = pipeline_balanced(
        path,
        opts.sheet.as_deref(),
        &ROLL_SCHEMA,
        cancel,
        balance(),
        parse,
        finish,
        |ev| {
            match ev {
                Event::Header(info, map) => {
                    total = info
                        .rows_estimate
                        .saturating_sub(u64::from(map.last_header_row));
                    out.report.sheet = info.name;
                    out.report.header_row = map.header_row;
                    out.report.mapping = map.mapping(&ROLL_SCHEMA);
                    out.report.unknown_columns = map.unknown.clone();
                    out.header_labels = map.labels;
                    if total >= KEY_FILTER_ROWS {
                        known = Some(KeyFilter::load(w.conn())?);
                        held = super::window::allowed().then(|| Window::new(&school));
                        rebuild = drop_child_indexes_for_bulk(w.conn(), total)?;
                    }
                    clock.step(|| "header; key filter; indexes dropped".into());
                }
                Event::Rows(rows) => {
                    for p in rows {
                        done += 1;
                        match p {
                            Parsed::Refused(issue, cells) => {
                                out.refused_rows.push(RefusedRow {
                                    row: issue.row,
                                    cells,
                                    reason: issue.message.clone(),
                                });
                                out.report.refused.push(issue);
                            }
                            Parsed::Ok(mut r) => {
                                let warnings = std::mem::take(&mut r.warnings);
                                let change = match &mut known {
                                    Some(f)
                                        if f.is_new(
                                            r.id_key.as_deref(),
                                            r.student_no.as_deref(),
                                        ) =>
                                    {
                                        new_pupils.add(
                                            &mut w, &mut audit, f, run_id, &school, &term, *r,
                                        )?;
                                        if new_pupils.children.len() >= NEW_PUPILS_HELD {
                                            new_pupils.flush_full(w.conn())?;
                                        }
                                        Change::Inserted
                                    }
                                    _ => {
                                        // What reads the register needs every index.
                                        build_indexes(w.conn(), &mut rebuild)?;
                                        let verdict = match (&mut held, &known) {
                                            (Some(win), Some(f)) => {
                                                win.judge(w.conn(), f, &r, &term)?
                                            }
                                            _ => Verdict::Unknown,
                                        };
                                        if let Verdict::Unchanged(child_id) = verdict {
                                            new_pupils.runs.push(store::roll_imports::RunChild {
                                                run_id,
                                                child_id,
                                                change: Change::Unchanged.as_str(),
                                            });
                                            if new_pupils.runs.len() >= NEW_PUPILS_HELD {
                                                new_pupils.flush_full(w.conn())?;
                                            }
                                            Change::Unchanged
                                        } else {
                                            new_pupils.flush(w.conn())?;
                                            let (child_id, change) = upsert_row(
                                                &mut w, &mut audit, &mut known, &school, &term, &r,
                                            )?;
                                            store::roll_imports::insert_child(
                                                w.conn(),
                                                run_id,
                                                &child_id,
                                                change.as_str(),
                                            )?;
                                            if let Some(win) = &mut held {
                                                win.after_lookup(
                                                    w.conn(),
                                                    &child_id,
                                                    change != Change::Inserted,
                                                    change != Change::Unchanged,
                                                    verdict == Verdict::Changed,
                                                )?;
                                            }
                                            change
                                        }
                                    }
                                };
                                in_run += 1;
                                match change {
                                    Change::Inserted => out.report.inserted += 1,
                                    Change::Updated => out.report.updated += 1,
                                    Change::Unchanged => out.report.unchanged += 1,
                                }
                                out.report.warnings.extend(warnings);
                            }
                        }
                    }
                    ctl.report(done, total);
                    if ctl.cancelled() {
                        return Err(super::FileError::Cancelled.into());
                    }
                }
            }
            Ok(())
        },
    )?;
    clock.step(|| "every row".into());
    new_pupils.flush(w.conn())?;
    clock.step(|| "last new pupils written".into());
    build_indexes(w.conn(), &mut rebuild)?;
    clock.step(|| "indexes built again".into());
    // The cache's dirty pages into the file now, made durable in the background while the
    // run's list and audit row are made: the commit's syncs then wait for little (they waited
    // 0.6-1 s for a 200k first import's 290 MB; with the write-back only started, not waited
    // for, the journal's sync at the commit still waited 0.35 s for the virtual disk's host).
    if let Some(f) = &new_pupils.early {
        f.flush_durable(w.conn());
    }
    clock.step(|| "dirty pages written".into());
    out.report.rows_read = stats.data_rows;
    out.report.skipped_rows = stats.skipped_rows;
    store::roll_imports::put_run_rows(w.conn(), run_id, in_run)?;
    out.report.missing_since_last = missing_since_last(&w, &school, run_id)?;
    if let Some((prev, _)) = store::roll_imports::get_previous_run(w.conn(), &school, run_id)? {
        store::roll_imports::delete_unchanged_before(w.conn(), &school, prev)?;
    }
    // One audit row for the run: what it wrote, per table; the run's child list (kept for
    // every child it inserted or updated) says which records, and its digest is in the chain.
    if let Audit::PerRun(tally) = &audit {
        if tally.records() > 0 {
            let mut fields = tally.lines();
            fields.push(format!("school {school} term {term}"));
            fields.push(format!(
                "children_digest {}",
                store::roll_imports::changed_digest(w.conn(), run_id)?
            ));
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            w.audit("roll_import_runs", &run_id.to_string(), "import", &refs)?;
        }
    }
    clock.step(|| "run's list, missing pupils, audit row".into());
    ctl.report(done, done);
    if let Some(f) = new_pupils.early.take() {
        f.finish();
    }
    clock.step(|| "durable write-back finished".into());
    if !opts.dry_run {
        w.commit()?;
    }
    clock.step(|| "commit".into());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn terms() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(term_of(d(2026, 9, 1)), "2026秋");
        assert_eq!(term_of(d(2027, 1, 10)), "2026秋");
        assert_eq!(term_of(d(2027, 3, 1)), "2027春");
        assert_eq!(check_term("2026年秋季").unwrap(), "2026秋");
        assert!(check_term("秋季").is_err());
    }

    fn meta(id: &str) -> crate::domain::Meta {
        crate::domain::Meta {
            id: id.into(),
            origin_site: "site".into(),
            version: crate::hlc::Stamp::new(5, 1, "site"),
            prev_version: None,
            edits: 1,
            updated_at: "2026-09-01T08:00:00+00:00".into(),
            deleted: false,
        }
    }

    #[test]
    fn a_new_pupils_records_are_what_filling_empty_records_gives() {
        let full = RollRow {
            row: 5,
            name: "王小明".into(),
            sex: Some("1".into()),
            birth_date: "2015-03-08".into(),
            id_number: Some("410423201503080011".into()),
            id_key: Some("410423201503080011".into()),
            student_no: Some("G410423201503080011".into()),
            grade: Some(3),
            class_name: Some("2班".into()),
            entry_date: Some("2021-09-01".into()),
            status: "studying".into(),
            hukou_place: Some("长垣".into()),
            residence: Some("张庄".into()),
            note: Some("备注".into()),
            guardians: vec![RowGuardian {
                name: "王大".into(),
                relation: Some("父亲".into()),
                phone: None,
            }],
            flags: vec![
                ("left_behind", true),
                ("orphan", false),
                ("migrant", true),
                ("left_behind", false),
            ],
            disability_type: Some(Some("hearing".into())),
            disability_grade: Some("二级".into()),
            warnings: Vec::new(),
        };
        let bare = RollRow {
            sex: None,
            id_number: None,
            grade: None,
            class_name: None,
            entry_date: None,
            hukou_place: None,
            residence: None,
            note: None,
            guardians: Vec::new(),
            flags: vec![("orphan", false)],
            disability_type: Some(None),
            disability_grade: None,
            ..full.clone()
        };
        let no_key = RollRow {
            id_number: None,
            id_key: None,
            student_no: None,
            disability_type: None,
            ..full.clone()
        };
        for r in [full, bare, no_key] {
            let mut child = new_child(meta("c"));
            let changed = fill_child(&mut child, &r);
            let mut e = new_enrolment(meta("e"), "c", "4141000001");
            let ech = fill_enrolment(&mut e, &r, "2026秋");
            let (c2, changed2, e2, ech2, g2) =
                new_records(meta("c"), meta("e"), "4141000001", "2026秋", r.clone());
            assert_eq!(c2, child);
            assert_eq!(e2, e);
            let sorted = |mut v: Vec<&'static str>| {
                v.sort_unstable();
                v
            };
            assert_eq!(sorted(changed2), sorted(changed));
            assert_eq!(sorted(ech2), sorted(ech));
            assert_eq!(g2, r.guardians);
        }
    }

    #[test]
    fn disability_names() {
        assert_eq!(
            disability_code("听力残疾").unwrap().as_deref(),
            Some("hearing")
        );
        assert_eq!(disability_code("无").unwrap(), None);
        assert!(disability_code("其他").is_err());
    }
}

//! The parts of a child's row that roll sheets, household rosters and department lists share:
//! identity fields (name, ID number, 学籍号, birth date, sex — checked by
//! `households::check_person`), flags and disability, guardians; duplicate rows within a file;
//! and the upsert of a child and its guardians (matched by ID key, else 学籍号) with version
//! stamps and audit rows only for what changed.

use super::header::Field;
use super::report::RowIssue;
use super::scan::DataRow;
use super::value::{self, CellProblem};
use crate::codes;
use crate::domain::{Child, Guardian};
use crate::error::{Error, Result};
use crate::households::check_person;
use crate::idnum::{self, StudentNo};
use crate::register::Writer;
use crate::store;
use std::collections::HashMap;

/// Flag fields and the `child_flags` code each sets.
pub const FLAG_FIELDS: &[(&str, &str)] = &[
    ("left_behind", "left_behind"),
    ("migrant", "migrant"),
    ("orphan", "orphan"),
    ("unsupported", "unsupported"),
    ("parent_in_prison", "parent_in_prison"),
    ("in_difficulty", "in_difficulty"),
];

/// The parents' columns (父亲 / 母亲, each with 姓名 and 电话, or a merged `父亲` over 姓名 /
/// 电话): each parent named becomes a guardian with relation 父亲 / 母亲. Shared by the roll
/// sheet and the household roster.
pub const PARENT_FIELDS: [Field; 4] = [
    Field {
        key: "father_name",
        label: "父亲姓名",
        synonyms: &["父亲", "父亲名字", "父姓名", "爸爸姓名"],
    },
    Field {
        key: "father_phone",
        label: "父亲电话",
        synonyms: &[
            "父亲联系电话",
            "父亲手机",
            "父亲手机号",
            "父亲手机号码",
            "父亲电话号码",
            "父亲联系方式",
            "父电话",
            "爸爸电话",
        ],
    },
    Field {
        key: "mother_name",
        label: "母亲姓名",
        synonyms: &["母亲", "母亲名字", "母姓名", "妈妈姓名"],
    },
    Field {
        key: "mother_phone",
        label: "母亲电话",
        synonyms: &[
            "母亲联系电话",
            "母亲手机",
            "母亲手机号",
            "母亲手机号码",
            "母亲电话号码",
            "母亲联系方式",
            "母电话",
            "妈妈电话",
        ],
    },
];

/// A guardian as read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowGuardian {
    pub name: String,
    pub relation: Option<String>,
    pub phone: Option<String>,
}

/// A cell problem as a refused-row entry, named by the sheet's column.
pub fn problem(row: &DataRow<'_, '_>, key: &str, p: CellProblem) -> RowIssue {
    RowIssue {
        row: row.row,
        column: row.column_name(key),
        code: p.code.to_string(),
        message: p.message,
    }
}

/// Turns the row's disability text into a code: 视力 / 视力残疾 / 无.
pub fn disability_code(raw: &str) -> std::result::Result<Option<String>, CellProblem> {
    let s = raw.trim();
    if matches!(s, "" | "无" | "否" | "0" | "-" | "/" | "非残疾") {
        return Ok(None);
    }
    let stem = s.trim_end_matches("残疾");
    codes::lookup(&codes::codes().disability_types, stem)
        .map(|c| Some(c.code.clone()))
        .ok_or_else(|| {
            CellProblem::new(
                "disability_type",
                format!(
                    "残疾类别“{s}”无法识别，请填 视力 听力 言语 肢体 智力 精神 多重 之一，或填 无"
                ),
            )
        })
}

/// A child's identity fields read from a row (any schema using the keys `name`, `sex`,
/// `birth_date`, `id_number`, `student_no`), checked by `households::check_person`.
#[derive(Debug, Clone)]
pub struct PersonFields {
    pub name: String,
    pub sex: Option<String>,
    pub birth_date: String,
    pub id_number: Option<String>,
    pub id_key: Option<String>,
    pub student_no: Option<String>,
}

/// Reads and checks a row's identity fields. With `need_key`, a row with neither an ID number
/// nor a 学籍号 is refused (a roll sheet cannot tell who that is).
pub fn parse_person(
    row: &DataRow<'_, '_>,
    need_key: bool,
    warnings: &mut Vec<RowIssue>,
) -> std::result::Result<PersonFields, RowIssue> {
    let err = |key: &str, p: CellProblem| problem(row, key, p);
    let name = value::name(row.get("name")).ok_or_else(|| {
        err(
            "name",
            CellProblem::new("name_empty", "姓名为空，请填写儿童姓名"),
        )
    })?;
    let id = value::id_text(row.get("id_number")).map_err(|p| err("id_number", p))?;
    let student_no =
        value::text(row.get("student_no")).map(|s| idnum::normalize(&s).to_uppercase());
    // The ID inside a G-form 学籍号 (it links the pupil when the ID column is empty).
    let mut g_id: Option<String> = None;
    if let Some(no) = &student_no {
        match StudentNo::parse(no) {
            Ok(parsed) => {
                g_id = parsed.id_number().map(|i| i.as_str().to_string());
            }
            Err(e) => {
                return Err(err(
                    "student_no",
                    CellProblem::new("student_no", format!("{e}，请核对全国学籍号")),
                ));
            }
        }
    }
    if need_key && id.is_none() && student_no.is_none() {
        return Err(RowIssue {
            row: row.row,
            column: row.column_name("id_number"),
            code: "no_key".into(),
            message: "身份证号和全国学籍号都为空，无法确认是哪个学生：请至少填写其中一项".into(),
        });
    }
    let birth = value::date_text(row.get("birth_date")).map_err(|p| err("birth_date", p))?;
    let sex = value::sex(row.get("sex")).map_err(|p| err("sex", p))?;
    // With the ID column empty, the ID inside a G-form 学籍号 gives the birth date and sex (and
    // wins over typed ones, as a typed ID would); the ID column itself stays empty.
    let from_g = id.is_none() && g_id.is_some();
    let checked_id = if from_g {
        g_id.as_deref()
    } else {
        id.as_deref()
    };
    let person =
        check_person(&name, checked_id, birth.as_deref(), sex.as_deref()).map_err(|e| match e {
            Error::Id(ie) => err("id_number", value::id_problem(&ie)),
            Error::Invalid { field, message } => {
                let (key, code) = match field.as_str() {
                    "出生日期" => ("birth_date", "birth_date"),
                    "性别" => ("sex", "sex"),
                    _ => ("name", "name_empty"),
                };
                err(key, CellProblem::new(code, message))
            }
            other => err("name", CellProblem::new("invalid", other.to_string())),
        })?;
    for w in &person.warnings {
        let key = if w.contains("性别") {
            "sex"
        } else {
            "birth_date"
        };
        let message = if from_g {
            w.replace("身份证号", "全国学籍号中的身份证号")
        } else {
            w.clone()
        };
        warnings.push(RowIssue {
            row: row.row,
            column: row.column_name(key),
            code: "id_mismatch".into(),
            message,
        });
    }
    let id_number = if from_g { None } else { person.id_number };
    if let (Some(g), Some(typed)) = (&g_id, &id_number) {
        if g != typed {
            warnings.push(RowIssue {
                row: row.row,
                column: row.column_name("student_no"),
                code: "student_no_id_mismatch".into(),
                message: "G字头学籍号中的身份证号与身份证号列不一致，请核对".into(),
            });
        }
    }
    // As `idnum::link_key`: the valid ID, else the ID inside a G-form 学籍号.
    let id_key = id_number.clone().or(g_id);
    Ok(PersonFields {
        name: person.name,
        sex: person.sex.map(|s| s.as_str().to_string()),
        birth_date: value::iso_date(person.birth_date),
        id_number,
        id_key,
        student_no,
    })
}

/// A row's flags and disability.
#[derive(Debug, Clone, Default)]
pub struct ChildMarks {
    /// `(child_flags code, set?)` for each flag column with a value.
    pub flags: Vec<(&'static str, bool)>,
    /// `Some(None)`: the sheet says the child has no disability.
    pub disability_type: Option<Option<String>>,
    pub disability_grade: Option<String>,
}

/// Reads the flag columns (是否留守儿童 …) and the disability columns.
pub fn parse_marks(
    row: &DataRow<'_, '_>,
    warnings: &mut Vec<RowIssue>,
) -> std::result::Result<ChildMarks, RowIssue> {
    let err = |key: &str, p: CellProblem| problem(row, key, p);
    let mut flags = Vec::new();
    for (key, code) in FLAG_FIELDS {
        if let Some(b) = value::flag(row.get(key)).map_err(|p| err(key, p))? {
            flags.push((*code, b));
        }
    }
    let disabled = value::flag(row.get("disabled")).map_err(|p| err("disabled", p))?;
    let disability_type = match value::text(row.get("disability_type")) {
        Some(t) => Some(disability_code(&t).map_err(|p| err("disability_type", p))?),
        None if disabled == Some(false) => Some(None),
        None => None,
    };
    if disabled == Some(true) && disability_type.is_none() {
        warnings.push(RowIssue {
            row: row.row,
            column: row.column_name("disability_type"),
            code: "disability_type_missing".into(),
            message: "标为残疾但未填残疾类别，请补填（视力 听力 言语 肢体 智力 精神 多重）".into(),
        });
    }
    Ok(ChildMarks {
        flags,
        disability_type,
        disability_grade: value::text(row.get("disability_grade")),
    })
}

/// Reads the guardians of a row: up to two `guardian_*` columns, then the parents' columns
/// (relation 父亲 / 母亲). A parent who is also a named guardian is not added twice (the parent's
/// relation and phone fill what the guardian column left empty). A phone column without a
/// guardian name (a sheet with 父亲姓名, 母亲姓名 and one 联系电话) goes to the first parent
/// without a phone. Odd phones give a warning; a phone without any name, too.
pub fn parse_guardians(row: &DataRow<'_, '_>, warnings: &mut Vec<RowIssue>) -> Vec<RowGuardian> {
    let mut guardians: Vec<RowGuardian> = Vec::new();
    let phone_of = |key: &str, warnings: &mut Vec<RowIssue>| {
        let (phone, phone_warning) = value::phone(row.get(key));
        if let Some(m) = phone_warning {
            warnings.push(RowIssue {
                row: row.row,
                column: row.column_name(key),
                code: "phone".into(),
                message: m,
            });
        }
        phone
    };
    let mut unnamed_phone: Option<(&str, String)> = None;
    for (n, r, p) in [
        ("guardian_name", "guardian_relation", "guardian_phone"),
        ("guardian2_name", "guardian2_relation", "guardian2_phone"),
    ] {
        let phone = phone_of(p, warnings);
        let Some(gname) = value::name(row.get(n)) else {
            if let Some(ph) = phone {
                unnamed_phone.get_or_insert((p, ph));
            }
            continue;
        };
        guardians.push(RowGuardian {
            name: gname,
            relation: value::text(row.get(r)),
            phone,
        });
    }
    let mut parents = 0;
    for (n, p, relation) in [
        ("father_name", "father_phone", "父亲"),
        ("mother_name", "mother_phone", "母亲"),
    ] {
        let phone = phone_of(p, warnings);
        let Some(pname) = value::name(row.get(n)) else {
            if phone.is_some() {
                warnings.push(RowIssue {
                    row: row.row,
                    column: row.column_name(n),
                    code: "guardian_no_name".into(),
                    message: format!(
                        "填了{relation}电话但没有{relation}姓名，电话未导入：请补填姓名"
                    ),
                });
            }
            continue;
        };
        parents += 1;
        match guardians.iter_mut().find(|g| g.name == pname) {
            Some(g) => {
                if g.relation.is_none() {
                    g.relation = Some(relation.to_string());
                }
                if g.phone.is_none() {
                    g.phone = phone;
                }
            }
            None => guardians.push(RowGuardian {
                name: pname,
                relation: Some(relation.to_string()),
                phone,
            }),
        }
    }
    if let Some((key, phone)) = unnamed_phone {
        match guardians.iter_mut().find(|g| g.phone.is_none()) {
            Some(g) if parents > 0 => g.phone = Some(phone),
            _ => warnings.push(RowIssue {
                row: row.row,
                column: row.column_name(key),
                code: "guardian_no_name".into(),
                message: "填了联系电话但没有监护人或父母姓名，电话未导入：请补填姓名".into(),
            }),
        }
    }
    guardians
}

/// Refuses later rows of a pupil already on the sheet (the first row wins). Keeps a 128-bit
/// fingerprint of each key rather than the key (a 200k-row sheet: 6 MB instead of 30 MB); two
/// different keys sharing one is as likely as guessing a random 128-bit number.
#[derive(Default)]
pub struct Duplicates {
    hasher: std::collections::hash_map::RandomState,
    hasher2: std::collections::hash_map::RandomState,
    by_key: HashMap<u128, u32, Prehashed>,
    by_student_no: HashMap<u128, u32, Prehashed>,
}

impl Duplicates {
    fn fingerprint(&self, s: &str) -> u128 {
        use std::hash::BuildHasher;
        (u128::from(self.hasher.hash_one(s)) << 64) | u128::from(self.hasher2.hash_one(s))
    }

    /// `Some(first row)` when this pupil was already seen.
    pub fn check(
        &mut self,
        row: u32,
        id_key: Option<&str>,
        student_no: Option<&str>,
    ) -> Option<(u32, &'static str)> {
        let k = id_key.map(|k| self.fingerprint(k));
        let s = student_no.map(|s| self.fingerprint(s));
        if let Some(first) = k.and_then(|k| self.by_key.get(&k)) {
            return Some((*first, "身份证号"));
        }
        if let Some(first) = s.and_then(|s| self.by_student_no.get(&s)) {
            return Some((*first, "全国学籍号"));
        }
        if let Some(k) = k {
            self.by_key.insert(k, row);
        }
        if let Some(s) = s {
            self.by_student_no.insert(s, row);
        }
        None
    }
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Inserted,
    Updated,
    Unchanged,
}

impl Change {
    /// As kept in a run's child list: `insert`, `update`, or empty.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Inserted => "insert",
            Change::Updated => "update",
            Change::Unchanged => "",
        }
    }
    pub fn merge(self, other: Change) -> Change {
        match (self, other) {
            (Change::Inserted, _) | (_, Change::Inserted) => Change::Inserted,
            (Change::Updated, _) | (_, Change::Updated) => Change::Updated,
            _ => Change::Unchanged,
        }
    }
}

/// Sets `target` to `value` when they differ, noting the field as changed.
pub fn set_if<T: PartialEq + Clone>(
    target: &mut T,
    value: &T,
    name: &'static str,
    changed: &mut Vec<&'static str>,
) {
    if target != value {
        *target = value.clone();
        changed.push(name);
    }
}

/// Applies a row's identity fields to a child (empty cells keep what the register has).
pub fn apply_person(child: &mut Child, p: &PersonFields, changed: &mut Vec<&'static str>) {
    set_if(&mut child.name, &p.name, "name", changed);
    if p.sex.is_some() {
        set_if(&mut child.sex, &p.sex, "sex", changed);
    }
    set_if(
        &mut child.birth_date,
        &Some(p.birth_date.clone()),
        "birth_date",
        changed,
    );
    if p.id_number.is_some() {
        set_if(&mut child.id_number, &p.id_number, "id_number", changed);
    }
    if p.student_no.is_some() {
        set_if(&mut child.student_no, &p.student_no, "student_no", changed);
    }
    let key = idnum::link_key(child.id_number.as_deref(), child.student_no.as_deref());
    set_if(&mut child.id_key, &key, "id_key", changed);
}

/// Applies a row's flags and disability to a child.
pub fn apply_marks(
    child: &mut Child,
    row_flags: &[(&'static str, bool)],
    disability_type: &Option<Option<String>>,
    disability_grade: &Option<String>,
    changed: &mut Vec<&'static str>,
) {
    let mut flags = child.flags.clone();
    for (code, on) in row_flags {
        let has = flags.iter().any(|f| f == code);
        if *on && !has {
            flags.push(code.to_string());
        } else if !on && has {
            flags.retain(|f| f != code);
        }
    }
    set_if(&mut child.flags, &flags, "flags", changed);
    if let Some(t) = disability_type {
        set_if(&mut child.disability_type, t, "disability_type", changed);
    }
    if disability_grade.is_some() {
        set_if(
            &mut child.disability_grade,
            disability_grade,
            "disability_grade",
            changed,
        );
    }
}

/// Finds the child a row is about: by ID key, else by 学籍号.
pub fn find_child(
    w: &Writer<'_>,
    id_key: Option<&str>,
    student_no: Option<&str>,
) -> Result<Option<Child>> {
    if let Some(k) = id_key {
        if let Some(c) = store::children::list_by_id_key(w.conn(), k)?
            .into_iter()
            .next()
        {
            return Ok(Some(c));
        }
    }
    if let Some(s) = student_no {
        if let Some(c) = store::children::list_by_student_no(w.conn(), s)?
            .into_iter()
            .next()
        {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Keys that are already hashes (a keyed SipHash of a text with a random key, made afresh for
/// each import): the set uses them as they are instead of hashing them a second time.
type HashedKeys = std::collections::HashSet<u64, Prehashed>;

/// The hasher of [`HashedKeys`] and of `Duplicates`' fingerprints: the key's own bits.
#[derive(Default, Clone, Copy)]
pub struct Prehashed;

impl std::hash::BuildHasher for Prehashed {
    type Hasher = PrehashedHasher;
    fn build_hasher(&self) -> PrehashedHasher {
        PrehashedHasher(0)
    }
}

/// See [`Prehashed`].
#[derive(Default)]
pub struct PrehashedHasher(u64);

impl std::hash::Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not used by u64 / u128 keys; a plain fold keeps any other key correct.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64 ^ (n >> 64) as u64;
    }
}

/// The ID keys and 学籍号 of every child in the register (as 64-bit hashes), so that a large
/// import asks SQLite for a row's child only when one may exist: a pupil whose keys are not in
/// the filter is new for certain (the filter holds every key the children table holds, and the
/// importer adds each key it writes), and a hash shared by two keys only costs the look-up.
/// Read from the two key indexes in one pass each, instead of two index searches per new row.
pub struct KeyFilter {
    hasher: std::collections::hash_map::RandomState,
    id_keys: HashedKeys,
    student_nos: HashedKeys,
    /// Keys that more than one child may hold: a hash met twice while loading (two children,
    /// tombstones included, or two keys sharing a hash), or a key this import wrote to a child
    /// that was already there ([`KeyFilter::add_written`]). A key outside these belongs to at
    /// most one child.
    id_keys_twice: HashedKeys,
    student_nos_twice: HashedKeys,
}

impl KeyFilter {
    /// Reads every key of the register's children.
    pub fn load(conn: &rusqlite::Connection) -> Result<KeyFilter> {
        let mut f = KeyFilter {
            hasher: Default::default(),
            id_keys: Default::default(),
            student_nos: Default::default(),
            id_keys_twice: Default::default(),
            student_nos_twice: Default::default(),
        };
        store::children::for_each_key(conn, |k| match k {
            store::children::Key::IdKey(k) => {
                let h = f.hash(k);
                if !f.id_keys.insert(h) {
                    f.id_keys_twice.insert(h);
                }
            }
            store::children::Key::StudentNo(s) => {
                let h = f.hash(s);
                if !f.student_nos.insert(h) {
                    f.student_nos_twice.insert(h);
                }
            }
        })?;
        Ok(f)
    }

    /// Notes the keys of a child this import inserted or changed otherwise than as a new pupil
    /// the filter vouched for: each may now be held by a second child.
    pub fn add_written(&mut self, id_key: Option<&str>, student_no: Option<&str>) {
        self.add(id_key, student_no);
        if let Some(k) = id_key {
            self.id_keys_twice.insert(self.hash(k));
        }
        if let Some(s) = student_no {
            self.student_nos_twice.insert(self.hash(s));
        }
    }

    /// Whether some child may hold this ID key (false: none does).
    pub fn may_have_id_key(&self, k: &str) -> bool {
        self.id_keys.contains(&self.hash(k))
    }

    /// Whether at most one child holds this ID key (false: maybe more).
    pub fn id_key_once(&self, k: &str) -> bool {
        !self.id_keys_twice.contains(&self.hash(k))
    }

    /// Whether at most one child holds this 学籍号 (false: maybe more).
    pub fn student_no_once(&self, s: &str) -> bool {
        !self.student_nos_twice.contains(&self.hash(s))
    }

    fn hash(&self, s: &str) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(s)
    }

    /// Notes the keys of a child written.
    pub fn add(&mut self, id_key: Option<&str>, student_no: Option<&str>) {
        if let Some(k) = id_key {
            self.id_keys.insert(self.hash(k));
        }
        if let Some(s) = student_no {
            self.student_nos.insert(self.hash(s));
        }
    }

    /// True when no child in the register has either key (the pupil is new for certain).
    pub fn is_new(&self, id_key: Option<&str>, student_no: Option<&str>) -> bool {
        self.narrow(id_key, student_no) == (None, None)
    }

    /// The keys worth looking up: those a child in the register may have.
    pub fn narrow<'a>(
        &self,
        id_key: Option<&'a str>,
        student_no: Option<&'a str>,
    ) -> (Option<&'a str>, Option<&'a str>) {
        (
            id_key.filter(|k| self.id_keys.contains(&self.hash(k))),
            student_no.filter(|s| self.student_nos.contains(&self.hash(s))),
        )
    }
}

/// An empty child record with fresh meta, for the importer to fill.
pub fn new_child(meta: crate::domain::Meta) -> Child {
    Child {
        meta,
        household_id: None,
        name: String::new(),
        sex: None,
        birth_date: None,
        id_number: None,
        id_key: None,
        student_no: None,
        village_code: None,
        hukou_place: None,
        residence: None,
        flags: Vec::new(),
        disability_type: None,
        disability_grade: None,
        life_status: "normal".into(),
        life_status_detail: None,
        note: None,
    }
}

/// How an import audits the records it writes.
pub enum Audit {
    /// One audit row per record written (household rosters: a village's file).
    PerRecord,
    /// Tallied, and written by the importer as one audit row for its whole run (roll sheets:
    /// a school's or a county's whole roll at once), naming the run whose child list says which
    /// children it inserted or updated.
    PerRun(RunTally),
    /// Tallied like `PerRun`, each record also listed under the run (household rosters: the
    /// run's record list is in `roster_import_records`, its digest in the run's audit row).
    Listed(RunTally, i64),
}

/// What one import run wrote, per table and action: how many records, and which fields.
#[derive(Debug, Default, Clone)]
pub struct RunTally {
    entries: Vec<TallyEntry>,
}

#[derive(Debug, Clone)]
struct TallyEntry {
    table: &'static str,
    action: &'static str,
    records: u64,
    fields: Vec<&'static str>,
}

impl RunTally {
    fn add(&mut self, table: &'static str, action: &'static str, fields: &[&'static str]) {
        let i = match self
            .entries
            .iter()
            .position(|e| e.table == table && e.action == action)
        {
            Some(i) => i,
            None => {
                self.entries.push(TallyEntry {
                    table,
                    action,
                    records: 0,
                    fields: Vec::new(),
                });
                self.entries.len() - 1
            }
        };
        let e = &mut self.entries[i];
        e.records += 1;
        for f in fields {
            if !e.fields.contains(f) {
                e.fields.push(f);
            }
        }
    }

    /// Records written in all.
    pub fn records(&self) -> u64 {
        self.entries.iter().map(|e| e.records).sum()
    }

    /// The audit row's field list: `children insert 3: name,sex,…` per table and action,
    /// in a stable order. Field names only, never values.
    pub fn lines(&self) -> Vec<String> {
        let mut entries = self.entries.clone();
        entries.sort_by_key(|e| (e.table, e.action));
        entries
            .iter()
            .map(|e| {
                let mut fields = e.fields.clone();
                fields.sort_unstable();
                format!(
                    "{} {} {}: {}",
                    e.table,
                    e.action,
                    e.records,
                    fields.join(",")
                )
            })
            .collect()
    }
}

impl Audit {
    /// Audits one record written (at once, or into the run's tally).
    pub fn record(
        &mut self,
        w: &mut Writer<'_>,
        table: &'static str,
        id: &str,
        action: &'static str,
        fields: &[&'static str],
    ) -> Result<()> {
        match self {
            Audit::PerRecord => w.audit(table, id, action, fields),
            Audit::PerRun(t) => {
                t.add(table, action, fields);
                Ok(())
            }
            Audit::Listed(t, run_id) => {
                t.add(table, action, fields);
                store::roster_imports::insert_record(w.conn(), *run_id, table, id, action)
            }
        }
    }
}

/// Writes a child (new: its meta is already fresh; or changed) and audits it.
pub fn save_child(
    w: &mut Writer<'_>,
    audit: &mut Audit,
    old: Option<&Child>,
    mut child: Child,
    changed: &[&'static str],
) -> Result<(Child, Change)> {
    match old {
        None => {
            store::children::insert(w.conn(), &child)?;
            audit.record(w, "children", &child.meta.id, "insert", changed)?;
            Ok((child, Change::Inserted))
        }
        Some(_) if changed.is_empty() => Ok((child, Change::Unchanged)),
        Some(o) => {
            child.meta = w.next_meta(&o.meta);
            store::children::put(w.conn(), &child)?;
            audit.record(w, "children", &child.meta.id, "update", changed)?;
            Ok((child, Change::Updated))
        }
    }
}

/// Upserts a row's guardians (matched by name; others are kept).
pub fn save_guardians(
    w: &mut Writer<'_>,
    audit: &mut Audit,
    child_id: &str,
    wanted: &[RowGuardian],
    child_is_new: bool,
) -> Result<Change> {
    if wanted.is_empty() {
        return Ok(Change::Unchanged);
    }
    let existing = if child_is_new {
        Vec::new()
    } else {
        store::guardians::list_by_child(w.conn(), child_id)?
    };
    let mut result = Change::Unchanged;
    for g in wanted {
        match existing.iter().find(|e| e.name == g.name) {
            Some(e) => {
                let mut next = e.clone();
                let mut changed = Vec::new();
                if g.relation.is_some() {
                    set_if(&mut next.relation, &g.relation, "relation", &mut changed);
                }
                if g.phone.is_some() {
                    set_if(&mut next.phone, &g.phone, "phone", &mut changed);
                }
                if !changed.is_empty() {
                    next.meta = w.next_meta(&e.meta);
                    store::guardians::put(w.conn(), &next)?;
                    audit.record(w, "guardians", &next.meta.id, "update", &changed)?;
                    result = result.merge(Change::Updated);
                }
            }
            None => {
                let guardian = new_guardian(w, audit, child_id, g.clone())?;
                store::guardians::insert(w.conn(), &guardian)?;
                result = result.merge(Change::Updated);
            }
        }
    }
    Ok(result)
}

/// A new guardian of a child from a sheet's row, with its stamps and its line in the audit
/// tally, for the caller to write (at once, or with a bulk import's other new records).
pub fn new_guardian(
    w: &mut Writer<'_>,
    audit: &mut Audit,
    child_id: &str,
    g: RowGuardian,
) -> Result<Guardian> {
    let guardian = Guardian {
        meta: w.new_meta(),
        child_id: child_id.to_string(),
        name: g.name,
        relation: g.relation,
        phone: g.phone,
    };
    audit.record(
        w,
        "guardians",
        &guardian.meta.id,
        "insert",
        &["name", "relation", "phone"],
    )?;
    Ok(guardian)
}

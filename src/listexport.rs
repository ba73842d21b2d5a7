//! Any list on a screen as a file (.xlsx, or CSV in UTF-8 with BOM, through [`crate::export`]):
//! the children behind a figure (统计报表), the 学户册, the cross-check's suspected list, the
//! cases and the attendance warnings. Numbers are masked unless the clerk confirmed full numbers;
//! a full export is recorded in the audit log. A file never replaces an earlier one: the name
//! gets a counter (`名单(2).xlsx`), the name reserved by creating the file.

use crate::error::{Error, Result};
use crate::export::{self, Column, Table};
use crate::households::{self, HouseholdQuery};
use crate::idnum::{mask_id, mask_phone};
use crate::register::{Actor, Register};
use crate::settings::Settings;
use crate::stats::{self, Metric};
use crate::worklists::{self, CaseFilter};
use crate::{codes, crosscheck};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

/// Which list to write.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ListKind {
    /// The children behind one figure: metric `retention` | `net_enrolment` | `dropout`.
    Drill {
        metric: String,
        by: String,
        key: String,
    },
    /// Households and their children (one row per child).
    Roster {
        #[serde(default)]
        search: Option<String>,
        #[serde(default)]
        area: Option<String>,
    },
    /// The cross-check's suspected children and probable matches.
    Suspected,
    /// Cases matching a filter.
    Cases {
        #[serde(default)]
        filter: CaseFilter,
    },
    /// Attendance warnings (every school, or one).
    Warnings {
        #[serde(default)]
        school: Option<String>,
    },
}

/// `.xlsx` or `.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }
}

/// Where a list was written.
#[derive(Debug, Clone, Serialize)]
pub struct Saved {
    pub path: String,
    pub rows: usize,
    pub full: bool,
}

fn cols(spec: &[(&str, f64)]) -> Vec<Column> {
    spec.iter().map(|(h, w)| Column::new(h, *w)).collect()
}

fn id(v: Option<&str>, full: bool) -> String {
    match v {
        Some(x) if full => x.to_string(),
        Some(x) => mask_id(x),
        None => String::new(),
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The list as a table, with its title (also the file's name).
pub fn build(reg: &Register, kind: &ListKind, as_of: NaiveDate, full: bool) -> Result<Table> {
    let conn = reg.conn();
    let unit = reg.site()?.map(|s| s.name).unwrap_or_default();
    let (title, columns, rows): (String, Vec<Column>, Vec<Vec<String>>) = match kind {
        ListKind::Drill { metric, by, key } => {
            let m = Metric::parse(metric)
                .ok_or_else(|| Error::invalid("指标", format!("没有“{metric}”这项指标")))?;
            let s = stats::compute(conn, as_of)?;
            let label = [&s.retention, &s.net_enrolment, &s.dropout]
                .iter()
                .flat_map(|l| l.iter())
                .find(|f| &f.by == by && &f.key == key)
                .map(|f| f.label.clone())
                .unwrap_or_else(|| key.clone());
            let list = stats::drill_rows(conn, &s, m, by, key)?.ok_or_else(|| {
                Error::invalid("分组", format!("没有 {by} = {key} 这一组的统计数字"))
            })?;
            let metric_name = match m {
                Metric::Retention => "巩固率",
                Metric::NetEnrolment => "净入学率",
                Metric::Dropout => "辍学率",
            };
            (
                format!("{metric_name}名单（{label}）"),
                cols(&[
                    ("姓名", 10.0),
                    ("身份证号", 21.0),
                    ("出生日期", 12.0),
                    ("村代码", 15.0),
                    ("计入", 10.0),
                ]),
                list.iter()
                    .map(|r| {
                        vec![
                            r.name.clone(),
                            if full {
                                r.id_number.clone().unwrap_or_default()
                            } else {
                                r.id_masked.clone()
                            },
                            opt(&r.birth_date),
                            opt(&r.village_code),
                            if r.counted {
                                "计入分子"
                            } else {
                                "仅计分母"
                            }
                            .into(),
                        ]
                    })
                    .collect(),
            )
        }
        ListKind::Roster { search, area } => {
            let lists = codes::codes();
            let mut rows = Vec::new();
            let mut offset = 0;
            loop {
                let page = households::list_households(
                    reg,
                    &HouseholdQuery {
                        search: search.clone(),
                        area: area.clone(),
                        limit: Some(10_000),
                        offset: Some(offset),
                    },
                )?;
                let n = page.len();
                for v in page {
                    let h = &v.household;
                    let head = vec![
                        h.head_name.clone(),
                        id(h.head_id_number.as_deref(), full),
                        match &h.phone {
                            Some(p) if full => p.clone(),
                            Some(p) => mask_phone(p),
                            None => String::new(),
                        },
                        opt(&h.address),
                        h.village_code.clone(),
                        h.priority_groups
                            .iter()
                            .map(|g| codes::name_of(&lists.priority_groups, g))
                            .collect::<Vec<_>>()
                            .join("、"),
                    ];
                    if v.children.is_empty() {
                        let mut r = head.clone();
                        r.extend(std::iter::repeat_n(String::new(), 6));
                        rows.push(r);
                    }
                    for c in &v.children {
                        let mut r = head.clone();
                        r.extend([
                            c.child.name.clone(),
                            opt(&c.child.sex),
                            opt(&c.child.birth_date),
                            id(c.child.id_number.as_deref(), full),
                            match &c.child.student_no {
                                Some(n) if full => n.clone(),
                                Some(n) => crate::idnum::mask_student_no(n),
                                None => String::new(),
                            },
                            c.guardians
                                .iter()
                                .map(|g| match &g.relation {
                                    Some(rel) => format!("{}（{rel}）", g.name),
                                    None => g.name.clone(),
                                })
                                .collect::<Vec<_>>()
                                .join("、"),
                        ]);
                        rows.push(r);
                    }
                }
                if n < 10_000 {
                    break;
                }
                offset += 10_000;
            }
            (
                "学户册".into(),
                cols(&[
                    ("户主", 10.0),
                    ("户主身份证号", 21.0),
                    ("联系电话", 14.0),
                    ("住址", 22.0),
                    ("村代码", 15.0),
                    ("重点群体", 14.0),
                    ("儿童姓名", 10.0),
                    ("性别", 6.0),
                    ("出生日期", 12.0),
                    ("儿童身份证号", 21.0),
                    ("学籍号", 21.0),
                    ("监护人", 16.0),
                ]),
                rows,
            )
        }
        ListKind::Suspected => {
            let settings = Settings::load(conn)?;
            let r = crosscheck::run(conn, &settings, as_of)?;
            let mut rows: Vec<Vec<String>> = r
                .suspected
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        id(s.id_number.as_deref(), full),
                        s.birth_date.clone(),
                        opt(&s.village),
                        s.reason.clone(),
                        if s.priority { "是" } else { "" }.into(),
                        s.priority_group_names.join("、"),
                        s.case_state
                            .as_deref()
                            .map(|c| codes::name_of(&codes::codes().case_states, c))
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            rows.extend(r.to_confirm.iter().map(|s| {
                vec![
                    s.name.clone(),
                    id(s.id_number.as_deref(), full),
                    s.birth_date.clone(),
                    opt(&s.village),
                    format!("{}（待确认是否为在读学生）", s.reason),
                    String::new(),
                    String::new(),
                    String::new(),
                ]
            }));
            (
                "疑似失学辍学名单".into(),
                cols(&[
                    ("姓名", 10.0),
                    ("身份证号", 21.0),
                    ("出生日期", 12.0),
                    ("村代码", 15.0),
                    ("列入原因", 36.0),
                    ("重点", 6.0),
                    ("重点群体", 16.0),
                    ("个案状态", 12.0),
                ]),
                rows,
            )
        }
        ListKind::Cases { filter } => (
            "控辍保学个案名单".into(),
            cols(&[
                ("编号", 10.0),
                ("姓名", 10.0),
                ("身份证号", 21.0),
                ("乡镇", 12.0),
                ("状态", 12.0),
                ("辍学原因", 14.0),
                ("重点群体", 16.0),
                ("建档日期", 12.0),
                ("最近记录", 12.0),
                ("劝返次数", 9.0),
                ("待办", 24.0),
            ]),
            worklists::case_rows(conn, filter, as_of)?
                .iter()
                .map(|c| {
                    vec![
                        c.short_id.clone(),
                        c.name.clone(),
                        id(c.id_number.as_deref(), full),
                        c.township_name.clone(),
                        c.state_name.clone(),
                        c.reason_name.clone(),
                        c.priority_group_names.join("、"),
                        c.opened_on.clone(),
                        c.last_event_on.clone(),
                        c.attempts.to_string(),
                        opt(&c.action),
                    ]
                })
                .collect(),
        ),
        ListKind::Warnings { school } => {
            let settings = Settings::load(conn)?;
            let rows = worklists::warning_rows(conn, &settings, as_of, school.as_deref())?
                .iter()
                .map(|w| {
                    vec![
                        w.township_name.clone(),
                        w.school_name.clone(),
                        w.warning.grade.map(|g| g.to_string()).unwrap_or_default(),
                        opt(&w.warning.class_name),
                        w.warning.name.clone(),
                        id(w.id_number.as_deref(), full),
                        w.warning.level_name.clone(),
                        w.warning.days.to_string(),
                        w.warning.since.clone(),
                        w.warning.through.clone(),
                        opt(&w.case_state),
                    ]
                })
                .collect();
            (
                "缺课预警名单".into(),
                cols(&[
                    ("乡镇", 12.0),
                    ("学校", 18.0),
                    ("年级", 6.0),
                    ("班级", 8.0),
                    ("姓名", 10.0),
                    ("身份证号", 21.0),
                    ("预警", 10.0),
                    ("连续缺课天数", 8.0),
                    ("起始日", 12.0),
                    ("截至", 12.0),
                    ("个案", 12.0),
                ]),
                rows,
            )
        }
    };
    Ok(Table {
        subtitle: format!("填报单位：{unit}　　日期：{as_of}"),
        title,
        columns,
        rows,
    })
}

/// A path in `dir` for `stem.ext` that no file has yet (`stem(2).ext`, `stem(3).ext` … when
/// taken), reserved by creating the empty file.
pub fn unique_path(dir: &Path, stem: &str, ext: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let stem: String = stem
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '、',
            c => c,
        })
        .collect();
    for n in 1..10_000 {
        let name = if n == 1 {
            format!("{stem}.{ext}")
        } else {
            format!("{stem}({n}).{ext}")
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Err(Error::Other(format!(
        "文件夹 {} 中同名文件过多，请清理后再导出",
        dir.display()
    )))
}

/// Builds the list and writes it into `dir` under a new name. A full export is audited.
pub fn save(
    reg: &mut Register,
    kind: &ListKind,
    as_of: NaiveDate,
    format: Format,
    full: bool,
    dir: &Path,
    actor: &Actor,
) -> Result<Saved> {
    let table = build(reg, kind, as_of, full)?;
    let stem = format!("{}_{}", table.title, as_of);
    let path = unique_path(dir, &stem, format.ext())?;
    let written = match format {
        Format::Xlsx => export::write_xlsx(&table, "名单", &path),
        Format::Csv => export::write_csv(&table, &path),
    };
    if let Err(e) = written {
        // Leave no empty or half-written file behind.
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    if full {
        let mut w = reg.writer(actor)?;
        w.audit(
            "list_export",
            &table.title,
            "export_full",
            &["id_number", "phone"],
        )?;
        w.commit()?;
    }
    Ok(Saved {
        path: path.display().to_string(),
        rows: table.rows.len(),
        full,
    })
}

//! The cross-source layer over the departments' lists: for each person (normalised ID number)
//! which current list versions name them, with the source's name, as-of date and the priority
//! groups the lists give; and what is loaded (`baoxue list sources`).

use super::source_label;
use crate::error::Result;
use crate::store::list_rows::{self, SourcedRow};
use crate::store::list_versions::{self, ListVersion};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One list naming a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mention {
    pub kind: String,
    pub source: String,
    pub as_of: String,
    /// `户籍（鲁山县公安局 2026-10-31）`.
    pub label: String,
    pub name: String,
    pub birth_date: String,
    pub village_code: Option<String>,
    pub groups: Vec<String>,
    /// 残疾类别 / 户类型 / 救助类别 / 资助项目 as written.
    pub category: Option<String>,
}

impl From<&SourcedRow> for Mention {
    fn from(r: &SourcedRow) -> Mention {
        Mention {
            kind: r.kind.clone(),
            source: r.source.clone(),
            as_of: r.as_of.clone(),
            label: source_label(&r.kind, &r.source, &r.as_of),
            name: r.row.name.clone(),
            birth_date: r.row.birth_date.clone(),
            village_code: r.row.village_code.clone(),
            groups: r.row.groups.clone(),
            category: r.row.category.clone(),
        }
    }
}

/// Everything the current lists say about one person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Presence {
    pub mentions: Vec<Mention>,
}

impl Presence {
    /// The KINDs naming the person, in KIND order, once each.
    pub fn kinds(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self.mentions.iter().map(|m| m.kind.as_str()).collect();
        super::Kind::ALL
            .iter()
            .map(|k| k.as_str())
            .filter(|k| set.contains(k))
            .map(str::to_string)
            .collect()
    }

    /// The priority groups the lists give, in code-list order, once each.
    pub fn groups(&self) -> Vec<String> {
        merge_groups(self.mentions.iter().flat_map(|m| m.groups.iter()))
    }

    /// The source labels, once each (`户籍（鲁山县公安局 2026-10-31）、残联名册（…）`).
    pub fn labels(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in &self.mentions {
            if !out.contains(&m.label) {
                out.push(m.label.clone());
            }
        }
        out
    }

    pub fn has(&self, kind: &str) -> bool {
        self.mentions.iter().any(|m| m.kind == kind)
    }
}

/// Group codes in the code list's order, once each (unknown codes last, sorted).
pub fn merge_groups<'a>(it: impl Iterator<Item = &'a String>) -> Vec<String> {
    let set: BTreeSet<&str> = it.map(String::as_str).collect();
    let list = &crate::codes::codes().priority_groups;
    let mut out: Vec<String> = list
        .iter()
        .filter(|c| set.contains(c.code.as_str()))
        .map(|c| c.code.clone())
        .collect();
    out.extend(
        set.iter()
            .filter(|s| !list.iter().any(|c| c.code == **s))
            .map(|s| s.to_string()),
    );
    out
}

/// For every person with an ID on a current list version (of the given KINDs; all when empty),
/// what the lists say. People without an ID on a list are not here (see [`unkeyed`]).
pub fn by_person(conn: &Connection, kinds: &[&str]) -> Result<BTreeMap<String, Presence>> {
    let mut out: BTreeMap<String, Presence> = BTreeMap::new();
    for r in list_rows::list_current(conn, kinds)? {
        if let Some(k) = &r.row.id_key {
            out.entry(k.clone()).or_default().mentions.push((&r).into());
        }
    }
    Ok(out)
}

/// Rows of current versions without an ID number (matched by name + birth date only).
pub fn unkeyed(conn: &Connection, kinds: &[&str]) -> Result<Vec<SourcedRow>> {
    Ok(list_rows::list_current(conn, kinds)?
        .into_iter()
        .filter(|r| r.row.id_key.is_none())
        .collect())
}

/// What the current lists say about one person.
pub fn presence_of(conn: &Connection, id_key: &str) -> Result<Presence> {
    Ok(Presence {
        mentions: list_rows::list_current_by_key(conn, id_key)?
            .iter()
            .map(Mention::from)
            .collect(),
    })
}

/// One source (KIND + department) with its versions, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub kind: String,
    pub kind_label: String,
    pub source: String,
    /// The as-of date of the version in use (the newest).
    pub as_of: String,
    /// Children kept from the version in use.
    pub rows: i64,
    pub versions: Vec<ListVersion>,
}

/// What is loaded: every source, from whom, as of when, with row counts.
pub fn sources(conn: &Connection) -> Result<Vec<SourceInfo>> {
    let mut out: Vec<SourceInfo> = Vec::new();
    for v in list_versions::list(conn)? {
        match out
            .iter_mut()
            .find(|s| s.kind == v.kind && s.source == v.source)
        {
            Some(s) => s.versions.push(v),
            None => out.push(SourceInfo {
                kind_label: super::Kind::parse(&v.kind)
                    .map(|k| k.label().to_string())
                    .unwrap_or_else(|| v.kind.clone()),
                kind: v.kind.clone(),
                source: v.source.clone(),
                as_of: v.as_of.clone(),
                rows: v.rows_kept,
                versions: vec![v],
            }),
        }
    }
    let order = |k: &str| super::Kind::ALL.iter().position(|x| x.as_str() == k);
    out.sort_by(|a, b| (order(&a.kind), &a.source).cmp(&(order(&b.kind), &b.source)));
    Ok(out)
}

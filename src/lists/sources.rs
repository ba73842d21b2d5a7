//! The departments' lists as sources of the cross-check (`crosscheck::sources::Source`): the
//! current version of every `hukou`, `disabled`, `poverty` and `welfare` source names children who
//! should be in school. (Aid lists say who receives aid, not who should be in school: they feed
//! the 应享尽享 report in [`super::checks`] only.)
//!
//! Keys first: each version's children born in the window are read as `(rowid, ID)` from a
//! covering index; only those not studying are fetched in full.

use super::{source_label, Kind};
use crate::crosscheck::sources::{Person, Source};
use crate::crosscheck::{Studying, Window};
use crate::error::Result;
use crate::households::parse_date;
use crate::store::list_rows::{self, ListRow};
use crate::store::list_versions;
use rusqlite::Connection;

/// One KIND of department list, all its sources (current versions).
pub struct ListSource(pub Kind);

/// The list KINDs that name children who should be in school.
pub fn cross_check_sources() -> Vec<Box<dyn Source>> {
    [Kind::Hukou, Kind::Disabled, Kind::Poverty, Kind::Welfare]
        .into_iter()
        .map(|k| Box::new(ListSource(k)) as Box<dyn Source>)
        .collect()
}

fn person(kind: Kind, label: &str, r: ListRow) -> Option<Person> {
    Some(Person {
        kind: kind.as_str(),
        label: label.to_string(),
        child_id: None,
        birth_date: parse_date(&r.birth_date)?,
        id_key: r.id_key,
        name: r.name,
        village_code: r.village_code,
        priority_groups: r.groups,
        disabled: kind == Kind::Disabled,
        life_status: "normal".into(),
        life_status_detail: None,
    })
}

impl Source for ListSource {
    fn kind(&self) -> &'static str {
        self.0.as_str()
    }

    fn people(&self, conn: &Connection, w: &Window, studying: &Studying) -> Result<Vec<Person>> {
        let (upto, after) = (w.born_on_or_before.to_string(), w.born_after.to_string());
        let mut out = Vec::new();
        for v in list_versions::list_current(conn, Some(self.0.as_str()))? {
            let wanted: Vec<i64> = list_rows::list_window_keys(conn, v.id, &upto, &after)?
                .into_iter()
                .filter(|(_, k)| k.as_deref().is_none_or(|k| !studying.contains(k)))
                .map(|(rowid, _)| rowid)
                .collect();
            let label = source_label(&v.kind, &v.source, &v.as_of);
            out.extend(
                list_rows::list_by_rowids(conn, &wanted)?
                    .into_iter()
                    .filter_map(|r| person(self.0, &label, r)),
            );
        }
        Ok(out)
    }

    fn lookup(&self, conn: &Connection, id_key: &str) -> Result<Vec<Person>> {
        Ok(list_rows::list_current_by_key(conn, id_key)?
            .into_iter()
            .filter(|r| r.kind == self.0.as_str())
            .filter_map(|r| {
                let label = source_label(&r.kind, &r.source, &r.as_of);
                person(self.0, &label, r.row)
            })
            .collect())
    }
}

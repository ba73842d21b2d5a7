//! The departments' lists as sources of the cross-check (`crosscheck::sources::Source`): the
//! current version of every `hukou`, `disabled`, `poverty` and `welfare` source names children who
//! should be in school. (Aid lists say who receives aid, not who should be in school: they feed
//! the 应享尽享 report in [`super::checks`] only.)
//!
//! Keys first: each version's children born in the window are read as `(rowid, ID)` from a
//! covering index (one [`Batch`] per version); only those not studying are fetched in full.

use super::{source_label, Kind};
use crate::crosscheck::keys::Key;
use crate::crosscheck::sources::date_of;
use crate::crosscheck::sources::{Batch, Person, Source};
use crate::crosscheck::Window;
use crate::error::Result;
use crate::store::list_rows::{self, PersonRow};
use crate::store::list_versions;
use rusqlite::Connection;
use std::sync::Arc;

/// One KIND of department list, all its sources (current versions).
pub struct ListSource(pub Kind);

/// The list KINDs that name children who should be in school.
pub fn cross_check_sources() -> Vec<Box<dyn Source>> {
    [Kind::Hukou, Kind::Disabled, Kind::Poverty, Kind::Welfare]
        .into_iter()
        .map(|k| Box::new(ListSource(k)) as Box<dyn Source>)
        .collect()
}

fn person(kind: Kind, label: &Arc<str>, r: PersonRow) -> Option<Person> {
    Some(Person {
        kind: kind.as_str(),
        label: label.clone(),
        child_id: None,
        birth_date: date_of(&r.birth_date)?,
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

    fn window_keys(&self, conn: &Connection, w: &Window) -> Result<Vec<Batch>> {
        let (upto, after) = (w.born_on_or_before.to_string(), w.born_after.to_string());
        let mut out = Vec::new();
        for v in list_versions::list_current(conn, Some(self.0.as_str()))? {
            let mut keys: Vec<(i64, Key)> = Vec::new();
            list_rows::for_each_window_key(conn, v.id, &upto, &after, |rowid, key| {
                keys.push((rowid, Key::of(key)))
            })?;
            out.push(Batch {
                part: v.id,
                label: source_label(&v.kind, &v.source, &v.as_of).into(),
                keys,
                households: Default::default(),
            });
        }
        Ok(out)
    }

    fn fetch(&self, conn: &Connection, batch: &Batch, rowids: &[i64]) -> Result<Vec<Person>> {
        Ok(list_rows::list_people_by_rowids(conn, rowids)?
            .into_iter()
            .filter_map(|r| person(self.0, &batch.label, r))
            .collect())
    }

    fn complete_labels(&self, conn: &Connection) -> Result<Vec<Arc<str>>> {
        if self.0 != Kind::Hukou {
            return Ok(Vec::new());
        }
        Ok(list_versions::list_current(conn, Some(self.0.as_str()))?
            .into_iter()
            .map(|v| source_label(&v.kind, &v.source, &v.as_of).into())
            .collect())
    }

    fn lookup(&self, conn: &Connection, id_key: &str) -> Result<Vec<Person>> {
        Ok(list_rows::list_current_by_key(conn, id_key)?
            .into_iter()
            .filter(|r| r.kind == self.0.as_str())
            .filter_map(|r| {
                let label: Arc<str> = source_label(&r.kind, &r.source, &r.as_of).into();
                person(
                    self.0,
                    &label,
                    PersonRow {
                        id_key: r.row.id_key,
                        name: r.row.name,
                        birth_date: r.row.birth_date,
                        village_code: r.row.village_code,
                        groups: r.row.groups,
                    },
                )
            })
            .collect())
    }
}

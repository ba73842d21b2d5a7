//! Sources of "who should be in school" for the cross-check. The household rosters (学户册) are
//! one source; the departments' lists (公安户籍, 残联, 乡村振兴, 民政) are others and plug in here by
//! implementing [`Source`] and being added to [`default_sources`].
//!
//! The contract a source keeps, in two steps so that a county's 250k children cost one scan of a
//! covering index: `window_keys` reads only the `(rowid, linking ID)` of the source's records
//! born inside the window (this runs while the set of pupils studying is still being built, on
//! another connection); the cross-check drops those studying, and `fetch` reads the few left in
//! full. `lookup` returns the source's records of one ID (used for pupils listed from the rolls,
//! to report their sources and priority groups).

use super::keys::{id_code_bytes, Key, TextMap};
use super::Window;
use crate::error::Result;
use crate::households::parse_date;
use crate::store;
use crate::store::btree::Pages;
use crate::store::crosscheck::{RosterRef, RosterRow};
use crate::store::record::codes_from_text;
use chrono::NaiveDate;
use rusqlite::Connection;
use std::sync::Arc;

/// One record of a child in one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The source's KIND (`roster`; department lists `hukou`, `disabled`, `poverty`, `welfare`).
    pub kind: &'static str,
    /// The source as a person reads it, e.g. `学户册` or `户籍（鲁山县公安局 2026-10-31）` (shared
    /// by every record of the source).
    pub label: Arc<str>,
    /// The register's child record, when the source is the register itself.
    pub child_id: Option<String>,
    /// The normalised ID number that links records of one person (see `idnum::link_key`).
    pub id_key: Option<String>,
    pub name: String,
    pub birth_date: NaiveDate,
    pub village_code: Option<String>,
    /// Codes from the `priority_groups` list this source knows for the child.
    pub priority_groups: Vec<String>,
    /// The source says the child is disabled.
    pub disabled: bool,
    /// `normal`, `deceased`, `moved_away`, `studying_elsewhere`.
    pub life_status: String,
    /// The school or destination named for `studying_elsewhere` / `moved_away`.
    pub life_status_detail: Option<String>,
}

/// One loaded part of a source (the rosters; one version of a department list) with the keys
/// of its records born inside the window, read before the set of pupils studying is known.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The part (a list version's id; 0 for the rosters).
    pub part: i64,
    pub label: Arc<str>,
    /// `(rowid, person key)` of each record in the window.
    pub keys: Vec<(i64, Key)>,
    /// The rosters only: the priority groups of every household that has any, by household id
    /// (read once with the keys, so that fetching a child needs no join to its household).
    pub households: TextMap<Box<str>, Box<str>>,
}

/// A source of children who should be in school.
///
/// The cross-check calls [`Source::window_keys`] while another connection builds the set of
/// pupils studying, then [`Source::fetch`] for the records of those not studying (possibly
/// split in two, on two connections at once: hence `Send + Sync`).
pub trait Source: Send + Sync {
    /// The KIND reported in the cross-check's `sources`.
    fn kind(&self) -> &'static str;
    /// The keys of the source's records born inside the window, one batch per loaded part.
    fn window_keys(&self, conn: &Connection, window: &Window) -> Result<Vec<Batch>>;
    /// [`Source::window_keys`] read from the register file's pages where the source can
    /// (`None`: it cannot, `window_keys` is asked instead).
    fn window_keys_from_pages(
        &self,
        _conn: &Connection,
        _window: &Window,
        _pages: &Pages,
    ) -> Result<Option<Vec<Batch>>> {
        Ok(None)
    }
    /// The records of one batch at these rowids (sorted), in rowid order.
    fn fetch(&self, conn: &Connection, batch: &Batch, rowids: &[i64]) -> Result<Vec<Person>>;
    /// The source's records of one linking ID (any age, studying or not).
    fn lookup(&self, _conn: &Connection, _id_key: &str) -> Result<Vec<Person>> {
        Ok(Vec::new())
    }
    /// The labels of this source's loaded parts that should name EVERY child of the area (the
    /// rosters, a 公安 hukou extract), so that a child missing from one is worth saying in the
    /// reason (`学户册有，户籍（…）无，学籍无`). Selective lists (残联, 脱贫, 民政) name only some
    /// children: their silence says nothing, and they return none.
    fn complete_labels(&self, _conn: &Connection) -> Result<Vec<Arc<str>>> {
        Ok(Vec::new())
    }
}

/// The sources the cross-check uses by default. Department lists are added here.
pub fn default_sources() -> Vec<Box<dyn Source>> {
    let mut v: Vec<Box<dyn Source>> = vec![Box::new(Roster)];
    v.extend(crate::lists::sources::cross_check_sources());
    v
}

/// The village household rosters (学户册): register children that belong to a household.
pub struct Roster;

/// The label of the household rosters in reasons.
pub const ROSTER_LABEL: &str = "学户册";

/// The key of a text read from the register as bytes: an ID number packed, else the text.
pub fn key_of_bytes(b: &[u8]) -> Key {
    match id_code_bytes(b) {
        Some(c) => Key::Id(c),
        None => Key::Text(String::from_utf8_lossy(b).into()),
    }
}

/// A stored `YYYY-MM-DD` date read without allocating; anything else through `parse_date`.
pub fn date_of(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |n, c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        if let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) {
            return NaiveDate::from_ymd_opt(y as i32, m, d);
        }
    }
    parse_date(s)
}

impl Roster {
    fn keys(conn: &Connection, pages: Option<&Pages>, w: &Window) -> Result<Vec<Batch>> {
        let mut keys: Vec<(i64, Key)> = Vec::with_capacity(1 << 16);
        store::crosscheck::for_each_roster_key(
            conn,
            pages,
            &w.born_on_or_before.to_string(),
            &w.born_after.to_string(),
            |rowid, key| keys.push((rowid, key_of_bytes(key))),
        )?;
        let mut households = TextMap::default();
        store::crosscheck::for_each_household_groups(conn, pages, |id, groups| {
            households.insert(id.into(), groups.into());
        })?;
        Ok(vec![Batch {
            part: 0,
            label: ROSTER_LABEL.into(),
            keys,
            households,
        }])
    }

    fn person(r: RosterRow, label: &Arc<str>) -> Option<Person> {
        Roster::person_ref(
            RosterRef {
                child_id: &r.child_id,
                id_key: r.id_key.as_deref(),
                name: &r.name,
                birth_date: &r.birth_date,
                village_code: r.village_code.as_deref(),
                flags: &r.flags,
                disability_type: r.disability_type.as_deref(),
                life_status: &r.life_status,
                life_status_detail: r.life_status_detail.as_deref(),
                household_groups: r.household_groups.as_deref(),
            },
            label,
        )
    }

    fn person_ref(r: RosterRef<'_>, label: &Arc<str>) -> Option<Person> {
        let birth_date = date_of(r.birth_date)?;
        let mut groups = match r.household_groups {
            Some(t) if t != "[]" => codes_from_text(t),
            _ => Vec::new(),
        };
        if r.flags != "[]" {
            groups.extend(
                codes_from_text(r.flags)
                    .into_iter()
                    .filter(|f| f == "orphan" || f == "unsupported"),
            );
        }
        let disabled = r.disability_type.is_some_and(|d| !d.is_empty());
        if disabled {
            groups.push("disabled".into());
        }
        Some(Person {
            kind: "roster",
            label: label.clone(),
            child_id: Some(r.child_id.to_string()),
            id_key: r.id_key.map(str::to_string),
            name: r.name.to_string(),
            birth_date,
            village_code: r.village_code.map(str::to_string),
            priority_groups: groups,
            disabled,
            life_status: r.life_status.to_string(),
            life_status_detail: r.life_status_detail.map(str::to_string),
        })
    }
}

impl Source for Roster {
    fn kind(&self) -> &'static str {
        "roster"
    }

    fn window_keys(&self, conn: &Connection, w: &Window) -> Result<Vec<Batch>> {
        Roster::keys(conn, None, w)
    }

    fn window_keys_from_pages(
        &self,
        conn: &Connection,
        w: &Window,
        pages: &Pages,
    ) -> Result<Option<Vec<Batch>>> {
        Roster::keys(conn, Some(pages), w).map(Some)
    }

    fn fetch(&self, conn: &Connection, batch: &Batch, rowids: &[i64]) -> Result<Vec<Person>> {
        let mut out = Vec::with_capacity(rowids.len());
        store::crosscheck::for_each_roster_by_rowids(conn, rowids, &batch.households, |r| {
            if let Some(p) = Roster::person_ref(r, &batch.label) {
                out.push(p);
            }
        })?;
        Ok(out)
    }

    fn lookup(&self, conn: &Connection, id_key: &str) -> Result<Vec<Person>> {
        let label: Arc<str> = ROSTER_LABEL.into();
        Ok(store::crosscheck::list_roster_by_key(conn, id_key)?
            .into_iter()
            .filter_map(|r| Roster::person(r, &label))
            .collect())
    }

    fn complete_labels(&self, conn: &Connection) -> Result<Vec<Arc<str>>> {
        Ok(if store::crosscheck::has_roster(conn)? {
            vec![ROSTER_LABEL.into()]
        } else {
            Vec::new()
        })
    }
}

//! 四查三比对: the cross-check that finds every child of compulsory-school age who is not in
//! school.
//!
//! - Sources × rolls: every child a source says should be in school (the household rosters, and
//!   the departments' lists once loaded: see [`sources`]) who has no current enrolment anywhere
//!   in the register → 疑似失学. Matched by the linking ID (`children.id_key`); a child without an
//!   ID by name + birth date, which is only a probable match, listed in `to_confirm` for a person.
//! - Rolls × attendance: pupils whose run of absences without leave reached the thresholds
//!   (`attendance::warnings`) → 疑似辍学 / 辍学. Pupils whose roll status is 辍学 → listed.
//! - Disabled children neither enrolled nor placed (随班就读 / 特殊教育学校 / 送教上门) → listed.
//! - Not listed: approved 延缓入学 / 休学 (roll status or case state), grade 9 finished, a
//!   placement in force, deceased, moved away or studying elsewhere with the place named, or a
//!   verification this school year that found the child in school or elsewhere.
//!
//! Every entry carries its reason, the source KINDs that have the child and the priority groups
//! (household groups, 孤儿 / 事实无人抚养 flags, 残疾); `priority` is true when any group applies.

pub mod bench;
pub mod confirm;
pub mod json;
pub mod keys;
pub mod sources;

use crate::attendance;
use crate::codes::{codes, name_of};
use crate::error::Result;
use crate::households::clean_name;
use crate::idnum::mask_id;
use crate::import::value::iso_date;
use crate::settings::Settings;
use crate::store;
use chrono::{Datelike, Months, NaiveDate};
use keys::{Key, KeySet, TextMap, TextSet};
use rusqlite::Connection;
use serde::Serialize;
use sources::{date_of, Batch, Person, Source};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use store::btree::Pages;
use store::crosscheck::{Meeting, Toward};

/// The school-age window of one cross-check day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub as_of: NaiveDate,
    /// The school year that contains `as_of` (it starts on 1 September of this year).
    pub school_year: i32,
    /// That school year's entry cutoff (setting `entry_cutoff`).
    pub cutoff: NaiveDate,
    /// Children born on or before this day reached the entry age by the cutoff.
    pub born_on_or_before: NaiveDate,
    /// Children born on or before this day are 16 or older on `as_of` (out of the window).
    pub born_after: NaiveDate,
}

impl Window {
    pub fn new(settings: &Settings, as_of: NaiveDate) -> Window {
        let school_year = if as_of.month() >= 9 {
            as_of.year()
        } else {
            as_of.year() - 1
        };
        let cutoff = settings.cutoff_in(school_year);
        let born_on_or_before = cutoff
            .checked_sub_months(Months::new(12 * settings.entry_age))
            .unwrap_or(cutoff);
        let born_after = as_of
            .checked_sub_months(Months::new(12 * 16))
            .unwrap_or(as_of);
        Window {
            as_of,
            school_year,
            cutoff,
            born_on_or_before,
            born_after,
        }
    }

    /// Whether a birth date is inside the window.
    pub fn contains(&self, birth: NaiveDate) -> bool {
        birth <= self.born_on_or_before && birth > self.born_after
    }

    /// First day of the school year (verifications since then count).
    pub fn year_start(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.school_year, 9, 1).unwrap_or(self.cutoff)
    }
}

/// The linking keys of every person with a current (在读) enrolment anywhere in the register.
///
/// Built by one merge join of two covering indexes read side by side in id order, the 在读
/// enrolments' child ids and the schools' own pupil records `(id, ID)` (see
/// [`store::crosscheck::merge_studying_roll_keys`]): no join through `children` by index search
/// per enrolment, no copy of an id. With two connections, two such scans walk the ids from both
/// ends at once and stop where they meet ([`Studying::scan`], [`Studying::join`]).
pub struct Studying {
    keys: KeySet,
}

/// One scan's share of the set of pupils studying.
pub struct StudyingPart {
    keys: KeySet,
    scan: store::crosscheck::StudyingScan,
}

impl Studying {
    /// One of two scans walking the ids from both ends (`meeting`), or the only one.
    pub fn scan(
        conn: &Connection,
        pages: Option<&Pages>,
        dir: Toward,
        meeting: &Meeting,
    ) -> Result<StudyingPart> {
        let mut keys = KeySet::with_capacity(1 << 17);
        let scan = store::crosscheck::merge_studying_roll_keys(conn, pages, dir, meeting, |key| {
            keys.insert_bytes(key)
        })?;
        Ok(StudyingPart { keys, scan })
    }

    /// The set from the scans' shares; and the studying children without an ID, as `(rowid of
    /// the child, rowid of its first 在读 enrolment)`, in rowid order, each child once.
    pub fn join(
        conn: &Connection,
        parts: Vec<StudyingPart>,
    ) -> Result<(Studying, Vec<(i64, i64)>)> {
        let mut keys: Option<KeySet> = None;
        let mut no_id = Vec::new();
        let mut left = Vec::new();
        for p in parts {
            keys = Some(match keys {
                Some(k) => k.union(p.keys),
                None => p.keys,
            });
            no_id.extend(p.scan.no_id);
            left.extend(p.scan.left);
        }
        let mut keys = keys.unwrap_or_default();
        // Enrolments of household children (a roster record enrolled directly), of deleted
        // records or of records not yet received: usually none, looked up one by one.
        left.sort_unstable();
        left.dedup_by(|a, b| a.0 == b.0);
        for (id, enrolment) in left {
            if let Some((rowid, key)) = store::crosscheck::get_rowid_id_key(conn, &id)? {
                match key {
                    Some(k) => keys.insert(&k),
                    None => {
                        keys.insert(&id);
                        no_id.push((rowid, enrolment));
                    }
                }
            }
        }
        no_id.sort_unstable();
        no_id.dedup_by_key(|x| x.0);
        Ok((Studying { keys }, no_id))
    }

    /// Whether the person with this linking ID (or child id, for a child without an ID) is studying.
    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// [`Studying::contains`] of a key read by a scan ([`Key::None`]: never).
    pub fn contains_key(&self, key: &Key) -> bool {
        self.keys.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// One child listed by the cross-check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suspected {
    pub child_id: Option<String>,
    /// Full in the core; masked by [`CrossCheck::masked`] before it is shown.
    pub id_number: Option<String>,
    pub name: String,
    /// 12-digit village code.
    pub village: Option<String>,
    pub birth_date: String,
    /// Why the child is listed, in Chinese.
    pub reason: String,
    /// `not_enrolled`, `disabled_unplaced`, `dropped_out`, `transferred_no_new`,
    /// `place_unnamed`, `absence_suspected`, `absence_dropout`.
    pub category: String,
    pub priority: bool,
    /// Source KINDs that have the child (`roster`, `roll`, `attendance`, department lists …).
    pub sources: Vec<String>,
    /// Codes from the `priority_groups` list.
    pub priority_groups: Vec<String>,
    pub priority_group_names: Vec<String>,
    /// The state of the child's open case, if one is open.
    pub case_state: Option<String>,
    /// The school concerned (absences, roll status), if any.
    pub school_code: Option<String>,
}

/// A probable match by name + birth date, for a person to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToConfirm {
    pub child_id: Option<String>,
    pub id_number: Option<String>,
    pub name: String,
    pub village: Option<String>,
    pub birth_date: String,
    pub reason: String,
    pub sources: Vec<String>,
    pub priority_groups: Vec<String>,
    /// The enrolled pupils that probably are this child.
    pub candidates: Vec<Candidate>,
}

/// An enrolled pupil that probably is the child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub child_id: String,
    pub school_code: String,
    pub village: Option<String>,
    pub has_id: bool,
}

/// The cross-check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CrossCheck {
    pub as_of: String,
    pub window: Window,
    pub suspected: Vec<Suspected>,
    pub to_confirm: Vec<ToConfirm>,
    /// Children of school age the sources named with no current enrolment by ID (after grouping
    /// one child's records), before the other rules cleared or listed them.
    pub children_checked: usize,
    /// The results per source: the rosters and each department list in use, with its date.
    pub by_source: Vec<SourceResult>,
}

/// One source's share of the result: how many listed children (and probable matches) it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceResult {
    /// `roster` or a list KIND.
    pub kind: String,
    pub kind_label: String,
    /// The department (empty for the rosters).
    pub source: String,
    /// The date of the version in use (none for the rosters).
    pub as_of: Option<String>,
    /// Children kept from that version (none for the rosters).
    pub rows: Option<i64>,
    pub suspected: usize,
    pub to_confirm: usize,
}

/// What the rules made of one person.
enum Verdict {
    Listed(Suspected),
    Confirm(ToConfirm),
}

/// Counts the result per source.
fn per_source(
    conn: &Connection,
    suspected: &[Suspected],
    to_confirm: &[ToConfirm],
) -> Result<Vec<SourceResult>> {
    let count = |kind: &str| {
        (
            suspected
                .iter()
                .filter(|s| s.sources.iter().any(|k| k == kind))
                .count(),
            to_confirm
                .iter()
                .filter(|s| s.sources.iter().any(|k| k == kind))
                .count(),
        )
    };
    let (n, m) = count("roster");
    let mut out = vec![SourceResult {
        kind: "roster".into(),
        kind_label: "学户册".into(),
        source: String::new(),
        as_of: None,
        rows: None,
        suspected: n,
        to_confirm: m,
    }];
    for s in crate::lists::query::sources(conn)? {
        let (n, m) = count(&s.kind);
        out.push(SourceResult {
            kind: s.kind,
            kind_label: s.kind_label,
            source: s.source,
            as_of: Some(s.as_of),
            rows: Some(s.rows),
            suspected: n,
            to_confirm: m,
        });
    }
    Ok(out)
}

impl CrossCheck {
    /// The same result with every ID number masked (`4101**********1234`).
    pub fn masked(mut self) -> CrossCheck {
        let mask = |list: &mut [Suspected]| {
            for s in list {
                s.id_number = s.id_number.as_deref().map(mask_id);
            }
        };
        // A county's list is masked in two halves at once.
        let half = if self.suspected.len() >= SPLIT_AT {
            self.suspected.len() / 2
        } else {
            0
        };
        let (head, tail) = self.suspected.split_at_mut(half);
        std::thread::scope(|s| {
            if !head.is_empty() {
                s.spawn(|| mask(head));
            }
            mask(tail);
        });
        for s in &mut self.to_confirm {
            s.id_number = s.id_number.as_deref().map(mask_id);
        }
        self
    }
}

/// What the rolls say about one person (all of their enrolments anywhere).
#[derive(Debug, Default, Clone)]
struct Facts {
    studying: bool,
    deferred: bool,
    suspended: bool,
    finished: bool,
    deceased: bool,
    transferred: Option<String>,
    dropped: Option<(String, String)>,
    /// A roll child record of this person (for pupils not on any source).
    roll_child: Option<RollChild>,
}

#[derive(Debug, Clone)]
struct RollChild {
    child_id: String,
    name: String,
    birth: Option<NaiveDate>,
    village: Option<String>,
}

/// Studying pupils by birth date, then cleaned name (looked up without allocating when the
/// name is already clean, as stored names are).
#[derive(Default)]
struct NameBirthIndex {
    by_birth: HashMap<NaiveDate, TextMap<String, Vec<Candidate>>>,
}

impl NameBirthIndex {
    /// The studying pupils without an ID at these `(child rowid, enrolment rowid)`, in order.
    fn of_rowids(conn: &Connection, rows: &[(i64, i64)]) -> Result<NameBirthIndex> {
        let mut idx = NameBirthIndex::default();
        for row in store::crosscheck::list_studying_by_rowids(conn, rows)? {
            idx.add(row);
        }
        Ok(idx)
    }

    fn add(&mut self, row: store::crosscheck::StudyingRow) {
        let (child_id, has_id, school_code, village, name, birth) = row;
        let Some(b) = birth.as_deref().and_then(date_of) else {
            return;
        };
        let list = self
            .by_birth
            .entry(b)
            .or_default()
            .entry(clean_name(&name))
            .or_default();
        if !list.iter().any(|c| c.child_id == child_id) {
            list.push(Candidate {
                child_id,
                school_code,
                village,
                has_id,
            });
        }
    }

    fn get(&self, name: &str, birth: NaiveDate) -> Option<&Vec<Candidate>> {
        let names = self.by_birth.get(&birth)?;
        if is_clean(name) {
            names.get(name)
        } else {
            names.get(&clean_name(name))
        }
    }
}

/// Whether `clean_name` would return the name unchanged.
fn is_clean(name: &str) -> bool {
    !name.chars().any(|c| {
        c.is_whitespace()
            || matches!(
                c,
                '\u{3000}' | '\u{00A0}' | '\u{200B}' | '\u{FEFF}' | '•' | '・' | '．' | '‧'
            )
    })
}

/// `户籍（…）、脱贫监测名单（…）有，学户册无`: which sources have the child and which of the
/// complete sources (rosters, hukou extracts) do not; the caller adds `，学籍无`.
fn presence(has: &[&str], complete: &[Arc<str>]) -> String {
    let mut out = has.join("、");
    out.push('有');
    for l in complete {
        if !has.contains(&&**l) {
            out.push('，');
            out.push_str(l);
            out.push('无');
        }
    }
    out
}

/// Runs the cross-check with the default sources.
pub fn run(conn: &Connection, settings: &Settings, as_of: NaiveDate) -> Result<CrossCheck> {
    run_with(conn, settings, as_of, &sources::default_sources())
}

/// Runs the cross-check with the given sources.
pub fn run_with(
    conn: &Connection,
    settings: &Settings,
    as_of: NaiveDate,
    sources: &[Box<dyn Source>],
) -> Result<CrossCheck> {
    // One read transaction: a consistent view, and one lock instead of one per query. A plain
    // register file also gets a second connection on the same snapshot, for the second core.
    let fresh = conn.is_autocommit();
    let twin = if fresh {
        store::crosscheck::try_empty_log(conn);
        store::crosscheck::open_twin(conn)
    } else {
        None
    };
    let tx = if fresh {
        Some(conn.unchecked_transaction()?)
    } else {
        None
    };
    let twin = twin.and_then(|t| t.align(conn));
    let out = check(conn, twin, settings, as_of, sources);
    if let Some(tx) = tx {
        tx.rollback()?;
    }
    out
}

/// A thread's result, or an error when the thread panicked.
fn joined<T>(r: std::thread::Result<T>) -> Result<T> {
    r.map_err(|_| crate::error::Error::Other("比对的并行读取线程意外中止".into()))
}

/// Below this many records a batch is fetched on one connection.
const SPLIT_AT: usize = 2048;

/// The sources' records of children not studying, every batch in rowid order, and the studying
/// pupils without an ID at `no_id` (see [`Studying::join`]) in a [`NameBirthIndex`]: each large
/// batch is fetched in two parts, the second one on the twin connection meanwhile, which then
/// fetches and indexes the pupils without an ID (so the first part of the largest batch is
/// larger by as many records).
fn fetch_people(
    conn: &Connection,
    twin: &mut Option<Connection>,
    sources: &[Box<dyn Source>],
    batches: &[(usize, Batch, Vec<i64>)],
    no_id: &[(i64, i64)],
) -> Result<(Vec<Person>, NameBirthIndex)> {
    let split = twin.is_some();
    let largest = batches
        .iter()
        .enumerate()
        .max_by_key(|(_, (_, _, wanted))| wanted.len())
        .map(|(i, _)| i);
    let half = |at: usize, wanted: &[i64]| {
        if split && wanted.len() >= SPLIT_AT {
            let more = if Some(at) == largest { no_id.len() } else { 0 };
            ((wanted.len() + more) / 2).min(wanted.len())
        } else {
            wanted.len()
        }
    };
    let mut seconds: Vec<Vec<Person>> = Vec::new();
    let mut firsts: Vec<Vec<Person>> = Vec::with_capacity(batches.len());
    let mut studying_no_id = NameBirthIndex::default();
    std::thread::scope(|s| -> Result<()> {
        let job = twin.take().map(|c2| {
            s.spawn(move || {
                let r = (|| -> Result<_> {
                    let mut out = Vec::with_capacity(batches.len());
                    for (at, (i, b, wanted)) in batches.iter().enumerate() {
                        out.push(sources[*i].fetch(&c2, b, &wanted[half(at, wanted)..])?);
                    }
                    Ok((out, NameBirthIndex::of_rowids(&c2, no_id)?))
                })();
                (c2, r)
            })
        });
        let mine = batches
            .iter()
            .enumerate()
            .map(|(at, (i, b, wanted))| sources[*i].fetch(conn, b, &wanted[..half(at, wanted)]))
            .collect::<Result<Vec<_>>>();
        match job {
            Some(h) => {
                let (c2, r) = joined(h.join())?;
                *twin = Some(c2);
                (seconds, studying_no_id) = r?;
            }
            None => studying_no_id = NameBirthIndex::of_rowids(conn, no_id)?,
        }
        firsts = mine?;
        Ok(())
    })?;
    let mut out = Vec::with_capacity(firsts.iter().chain(&seconds).map(Vec::len).sum());
    let mut seconds = seconds.into_iter();
    for first in firsts {
        out.extend(first);
        out.extend(seconds.next().unwrap_or_default());
    }
    Ok((out, studying_no_id))
}

fn check(
    conn: &Connection,
    mut twin: Option<Connection>,
    settings: &Settings,
    as_of: NaiveDate,
    sources: &[Box<dyn Source>],
) -> Result<CrossCheck> {
    let w = Window::new(settings, as_of);
    store::crosscheck::tune_for_scans(conn)?;
    // The set of pupils studying, on the twin when there is one, while this connection reads
    // the sources' keys and the rolls' other statuses, then walks the set from the other end
    // until the two scans meet.
    let mut window_keys: Vec<(usize, Vec<Batch>)> = Vec::with_capacity(sources.len());
    let mut rolls = Vec::new();
    let meeting = Meeting::default();
    // With a twin, the read transaction is fresh: when the file itself is its snapshot, the
    // three long index scans read its pages directly.
    let pages = twin.as_ref().and_then(|_| Pages::of(conn));
    let pages = pages.as_ref();
    let (studying, no_id) = std::thread::scope(|s| -> Result<_> {
        let meeting = &meeting;
        let job = twin.take().map(|c2| {
            s.spawn(move || {
                let r = Studying::scan(&c2, pages, Toward::Up, meeting);
                (c2, r)
            })
        });
        let dir = if job.is_some() {
            Toward::Down
        } else {
            Toward::Up
        };
        let mine = (|| -> Result<StudyingPart> {
            for (i, src) in sources.iter().enumerate() {
                let from_pages = match pages {
                    Some(p) => src.window_keys_from_pages(conn, &w, p)?,
                    None => None,
                };
                window_keys.push((i, from_pages.map_or_else(|| src.window_keys(conn, &w), Ok)?));
            }
            rolls = store::crosscheck::list_rolls_not_studying(conn)?;
            Studying::scan(conn, pages, dir, meeting)
        })();
        let mut parts = Vec::with_capacity(2);
        if let Some(h) = job {
            let (c2, r) = joined(h.join())?;
            twin = Some(c2);
            parts.push(r?);
        }
        parts.push(mine?);
        Studying::join(conn, parts)
    })?;
    // The records of children not studying, fetched in full (in each batch's rowid order).
    let mut batches: Vec<(usize, Batch, Vec<i64>)> = Vec::new();
    for (i, bs) in window_keys {
        for b in bs {
            let mut wanted: Vec<i64> = b
                .keys
                .iter()
                .filter(|(_, k)| !studying.contains_key(k))
                .map(|(rowid, _)| *rowid)
                .collect();
            wanted.sort_unstable();
            batches.push((i, b, wanted));
        }
    }
    let (people, mut by_name_birth) = fetch_people(conn, &mut twin, sources, &batches, &no_id)?;
    drop(batches);
    // The loaded sources that should name every child (their silence goes into the reason).
    let mut complete: Vec<Arc<str>> = Vec::new();
    for s in sources {
        complete.extend(s.complete_labels(conn)?);
    }

    // What the rolls say beyond 在读: deferrals, graduations, transfers, dropouts.
    let mut facts: TextMap<String, Facts> = TextMap::default();
    for r in rolls {
        let f = facts.entry(r.key.clone()).or_default();
        f.studying |= studying.contains(&r.key);
        match r.status.as_str() {
            "deferred" => f.deferred = true,
            "suspended" => f.suspended = true,
            "graduated" => f.finished |= r.grade.unwrap_or(0) >= 9,
            "deceased" => f.deceased = true,
            "transferred_out" => f.transferred = Some(r.status_date.clone().unwrap_or_default()),
            "dropped_out" => {
                f.dropped = Some((
                    r.school_code.clone(),
                    r.status_date.clone().unwrap_or_default(),
                ))
            }
            _ => {}
        }
        if matches!(r.status.as_str(), "dropped_out" | "transferred_out") {
            f.roll_child = Some(RollChild {
                child_id: r.child_id,
                name: r.name,
                birth: r.birth_date.as_deref().and_then(date_of),
                village: r.village_code,
            });
        }
    }
    // Probable matches by name + birth date: pupils studying whose records carry no ID, and (for
    // children without an ID) any pupil studying with the same name and birth date (the pairs
    // looked up in two halves, the second on the twin meanwhile; each pair is its own bucket, so
    // the order the halves are added in changes nothing).
    let mut asked: Vec<(String, String)> = people
        .iter()
        .filter(|p| p.id_key.is_none())
        .map(|p| (clean_name(&p.name), iso_date(p.birth_date)))
        .collect();
    asked.sort_unstable();
    asked.dedup();
    let split = match &twin {
        Some(_) if asked.len() >= 2 * store::crosscheck::PAIRS_CHUNK => {
            asked.len() / 2 / store::crosscheck::PAIRS_CHUNK * store::crosscheck::PAIRS_CHUNK
        }
        _ => asked.len(),
    };
    let (mine, theirs) = asked.split_at(split);
    let (rows, more) = std::thread::scope(|s| -> Result<_> {
        let job = twin
            .take()
            .map(|c2| s.spawn(move || store::crosscheck::list_studying_by_name_birth(&c2, theirs)));
        let rows = store::crosscheck::list_studying_by_name_birth(conn, mine);
        let more = match job {
            Some(h) => joined(h.join())??,
            None => Vec::new(),
        };
        Ok((rows?, more))
    })?;
    for row in rows.into_iter().chain(more) {
        by_name_birth.add(row);
    }
    // Pairs a person decided are not the same child (`baoxue crosscheck reject`).
    let rejected = confirm::rejected_pairs(conn)?;
    // Pairs a person decided are the same child (`baoxue person confirm`).
    let confirmed = confirm::confirmed_pairs(conn)?;
    // Decisions that clear a child: approved deferrals in open cases, placements in force,
    // verification findings this school year.
    let mut case_state: TextMap<String, String> = TextMap::default();
    let mut case_keys: TextMap<String, String> = TextMap::default();
    for (child, key, state) in store::crosscheck::list_open_case_states(conn)? {
        if let Some(k) = key {
            case_keys.insert(k, child.clone());
        }
        case_state.insert(child, state);
    }
    let mut cleared: TextMap<String, String> = TextMap::default();
    for (child, key, placement, school) in
        store::placements::list_in_force(conn, &as_of.to_string())?
    {
        let why = format!(
            "已安置：{}{}",
            name_of(&codes().placements, &placement),
            school.map(|s| format!("（{s}）")).unwrap_or_default()
        );
        cleared.insert(key.unwrap_or(child), why);
    }
    for (child, key, finding, detail) in
        store::verification_tasks::list_findings_since(conn, &w.year_start().to_string())?
    {
        if matches!(
            finding.as_str(),
            "in_school" | "elsewhere" | "deceased" | "moved_out"
        ) {
            let why = format!(
                "核查结论：{}{}",
                name_of(&codes().verification_findings, &finding),
                detail.map(|d| format!("（{d}）")).unwrap_or_default()
            );
            cleared.insert(key.unwrap_or(child), why);
        }
    }

    // Group the sources' records by person.
    let mut groups: TextMap<String, Vec<Person>> =
        TextMap::with_capacity_and_hasher(people.len(), Default::default());
    for p in people {
        let key = match (&p.id_key, &p.child_id) {
            (Some(k), _) => k.clone(),
            (None, Some(c)) => c.clone(),
            (None, None) => format!("{}|{}", clean_name(&p.name), p.birth_date),
        };
        groups.entry(key).or_default().push(p);
    }
    let warnings = attendance::warnings(conn, settings, as_of, None)?;
    let warned: TextSet<String> = warnings
        .iter()
        .map(|x| x.id_key.clone().unwrap_or_else(|| x.child_id.clone()))
        .collect();
    let children_checked = groups.len();
    let state_of = |key: &str, child: Option<&str>| -> Option<String> {
        child
            .and_then(|c| case_state.get(c))
            .or_else(|| case_keys.get(key).and_then(|c| case_state.get(c)))
            .cloned()
    };
    // What the rules say of one person (`None`: not listed).
    // (Each person's records are owned here: their texts move into the entry.)
    let judge = |key: String, mut ps: Vec<Person>| -> Option<Verdict> {
        let key = &key;
        if warned.contains(key) {
            return None; // listed below, from the attendance warnings
        }
        let f = facts.get(key);
        if f.is_some_and(|f| f.studying || f.finished || f.deceased) {
            return None;
        }
        if f.is_some_and(|f| f.deferred || f.suspended) {
            return None;
        }
        let child_id = ps.iter().find_map(|p| p.child_id.clone());
        let case = state_of(key, child_id.as_deref());
        if matches!(case.as_deref(), Some("deferred" | "suspended")) {
            return None;
        }
        if ps.iter().any(|p| p.life_status == "deceased") {
            return None;
        }
        if cleared.contains_key(key) || child_id.as_ref().is_some_and(|c| cleared.contains_key(c)) {
            return None;
        }
        let mut unnamed = None;
        for p in &ps {
            let detail = p.life_status_detail.as_deref().map(str::trim).unwrap_or("");
            match p.life_status.as_str() {
                "moved_away" if detail.is_empty() => {
                    unnamed = Some("登记为户籍迁出，但未写明迁往何处")
                }
                "studying_elsewhere" if detail.is_empty() => {
                    unnamed = Some("登记为外地就读，但未写明学校")
                }
                _ => {}
            }
        }
        let moved_named = unnamed.is_none()
            && ps
                .iter()
                .any(|p| matches!(p.life_status.as_str(), "moved_away" | "studying_elsewhere"));
        if moved_named {
            return None;
        }
        // Source KINDs, sorted and once each when the entry is made (`sources`).
        let mut kinds: Vec<&'static str> = ps.iter().map(|p| p.kind).collect();
        let mut labels: Vec<&str> = Vec::with_capacity(ps.len());
        for p in &ps {
            if !labels.contains(&&*p.label) {
                labels.push(&p.label);
            }
        }
        let groups = merge_groups(ps.iter().flat_map(|p| p.priority_groups.iter()));
        let disabled = ps.iter().any(|p| p.disabled);
        let village = ps.iter().find_map(|p| p.village_code.clone());
        let mut has = presence(&labels, &complete);
        let first = &ps[0];
        let (category, reason, school) = if let Some(why) = unnamed {
            (
                "place_unnamed",
                format!("{has}，学籍无；{why}，请核实"),
                None,
            )
        } else if let Some((school, date)) = f.and_then(|f| f.dropped.clone()) {
            kinds.push("roll");
            (
                "dropped_out",
                format!("学籍状态为辍学{}", paren_date(&date)),
                Some(school),
            )
        } else if let Some(date) = f.and_then(|f| f.transferred.clone()) {
            kinds.push("roll");
            (
                "transferred_no_new",
                format!("学籍已转出{}，未见新的在读学籍", paren_date(&date)),
                None,
            )
        } else {
            // Not on any roll by ID: a probable match by name + birth date goes to a person.
            let mut cands: Vec<Candidate> = by_name_birth
                .get(&first.name, first.birth_date)
                .map(|v| {
                    v.iter()
                        .filter(|c| first.id_key.is_none() || !c.has_id)
                        .filter(|c| match (&c.village, &village) {
                            (Some(a), Some(b)) => a == b,
                            _ => true,
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            // A studying pupil a person confirmed to be this child: studying, not listed.
            let linked = |pairs: &HashSet<(String, String)>, c: &Candidate| {
                ps.iter()
                    .filter_map(|p| p.child_id.as_ref())
                    .any(|id| pairs.contains(&(id.clone(), c.child_id.clone())))
            };
            if !confirmed.is_empty() && cands.iter().any(|c| linked(&confirmed, c)) {
                return None;
            }
            // Pairs a person rejected are never proposed again.
            let before = cands.len();
            if !rejected.is_empty() {
                cands.retain(|c| !linked(&rejected, c));
            }
            let rejected_note = if cands.len() < before {
                "（按姓名+出生日期找到的在读学生已核实不是同一人）"
            } else {
                ""
            };
            if !cands.is_empty() {
                let birth_date = iso_date(first.birth_date);
                let first = ps.swap_remove(0);
                return Some(Verdict::Confirm(ToConfirm {
                    child_id,
                    id_number: first.id_key,
                    name: first.name,
                    village,
                    birth_date,
                    reason: format!(
                        "{has}；学籍中按姓名+出生日期找到{}名可能是同一人的在读学生，请人工确认",
                        cands.len()
                    ),
                    sources: source_kinds(kinds),
                    priority_groups: groups,
                    candidates: cands,
                }));
            }
            has.push_str("，学籍无");
            has.push_str(rejected_note);
            if disabled {
                has.push_str("；残疾儿童，未入学也未安置（随班就读、特殊教育学校、送教上门）");
                ("disabled_unplaced", has, None)
            } else {
                ("not_enrolled", has, None)
            }
        };
        let birth = first.birth_date;
        let first = ps.swap_remove(0);
        Some(Verdict::Listed(entry(
            child_id,
            first.id_key,
            first.name,
            village,
            birth,
            reason,
            category,
            source_kinds(kinds),
            groups,
            case,
            school,
        )))
    };
    // The roll-only pupils below are those no source names (asked before the groups are
    // handed to the judging threads).
    let named: TextSet<&str> = facts
        .keys()
        .filter(|k| groups.contains_key(*k))
        .map(String::as_str)
        .collect();
    // Judged on two threads when there are many, each sorting its own share; the shares are
    // merged below.
    let mut roll_only: Vec<Suspected> = Vec::new();
    // Pupils on a roll only (no source names them) whose roll status is 辍学: judged with the
    // sources' persons below (their share's sort puts them after a source's entry that ties).
    for (key, f) in &facts {
        if named.contains(key.as_str()) || f.studying || f.finished || f.deferred || f.suspended {
            continue;
        }
        let (Some((school, date)), Some(rc)) = (&f.dropped, &f.roll_child) else {
            continue;
        };
        let Some(birth) = rc.birth.filter(|b| w.contains(*b)) else {
            continue;
        };
        if warned.contains(key) || cleared.contains_key(key) || cleared.contains_key(&rc.child_id) {
            continue;
        }
        let case = state_of(key, Some(&rc.child_id));
        if matches!(case.as_deref(), Some("deferred" | "suspended")) {
            continue;
        }
        roll_only.push(entry(
            Some(rc.child_id.clone()),
            (key != &rc.child_id).then(|| key.clone()),
            rc.name.clone(),
            rc.village.clone(),
            birth,
            format!("学籍状态为辍学{}", paren_date(date)),
            "dropped_out",
            vec!["roll".into()],
            vec![],
            case,
            Some(school.clone()),
        ));
    }

    let mut head: Vec<(String, Vec<Person>)> = groups.into_iter().collect();
    let all = head.len();
    // Split by village where it can be (every village of the first share before every one of
    // the second: the sorted shares then follow each other, no merge), else in the middle.
    let (tail, by_village) = if all >= SPLIT_AT {
        match split_by_village(&mut head) {
            Some((tail, median)) => (tail, Some(median)),
            None => (head.split_off(all / 2), None),
        }
    } else {
        (Vec::new(), None)
    };
    // The roll-only entries go with their village's share when split by village, else they
    // are merged in at the end.
    let (mut suspected, mut extra_mine, mut extra_theirs) = (Vec::new(), Vec::new(), Vec::new());
    for e in roll_only {
        match &by_village {
            Some(median) if e.village.as_deref() <= median.as_deref() => extra_mine.push(e),
            Some(_) => extra_theirs.push(e),
            None => suspected.push(e),
        }
    }
    let by_village = by_village.is_some();
    let judge_all = |part: Vec<(String, Vec<Person>)>, room: usize, extra: Vec<Suspected>| {
        let mut listed = Vec::with_capacity(room + extra.len());
        let mut confirm = Vec::new();
        for (k, ps) in part {
            match judge(k, ps) {
                Some(Verdict::Listed(x)) => listed.push(x),
                Some(Verdict::Confirm(x)) => confirm.push(x),
                None => {}
            }
        }
        listed.extend(extra);
        confirm.sort_by(confirm_order);
        (sort_suspected(listed), confirm)
    };
    let (mine, more) = std::thread::scope(|s| {
        let job = (!tail.is_empty()).then(|| {
            let room = tail.len();
            s.spawn(move || judge_all(tail, room, extra_theirs))
        });
        // Room for the second share too, appended below when split by village.
        let mine = judge_all(head, all, extra_mine);
        (mine, job.map(|h| h.join()))
    });
    let (theirs, theirs_confirm) = match more {
        Some(more) => joined(more)?,
        None => (Vec::new(), Vec::new()),
    };
    let (mine, mine_confirm) = mine;

    // Rolls × attendance.
    for x in &warnings {
        let key = x.id_key.clone().unwrap_or_else(|| x.child_id.clone());
        let mut looked_up = Vec::new();
        if let Some(k) = &x.id_key {
            for s in sources {
                looked_up.extend(s.lookup(conn, k)?);
            }
        }
        let ps = (!looked_up.is_empty()).then_some(&looked_up);
        let mut kinds: BTreeSet<String> = ["roll".to_string(), "attendance".to_string()].into();
        let mut pg = Vec::new();
        let mut village = None;
        let mut child_id = x.child_id.clone();
        let mut birth = String::new();
        if let Some(ps) = ps {
            kinds.extend(ps.iter().map(|p| p.kind.to_string()));
            pg = merge_groups(ps.iter().flat_map(|p| p.priority_groups.iter()));
            village = ps.iter().find_map(|p| p.village_code.clone());
            if let Some(c) = ps.iter().find_map(|p| p.child_id.clone()) {
                child_id = c;
            }
            birth = iso_date(ps[0].birth_date);
        }
        if birth.is_empty() {
            if let Some(c) = store::children::get(conn, &x.child_id)? {
                birth = c.birth_date.unwrap_or_default();
                village = village.or(c.village_code);
            }
        }
        let case = state_of(&key, Some(&child_id)).or_else(|| state_of(&key, Some(&x.child_id)));
        let priority = !pg.is_empty();
        suspected.push(Suspected {
            child_id: Some(child_id),
            id_number: x.id_key.clone(),
            name: x.name.clone(),
            village,
            birth_date: birth,
            reason: format!(
                "连续{}个上课日缺课未请假（{}至{}，学校{}）：{}",
                x.days, x.since, x.through, x.school_code, x.level_name
            ),
            category: if x.level == "dropout" {
                "absence_dropout"
            } else {
                "absence_suspected"
            }
            .into(),
            priority,
            sources: kinds.into_iter().collect(),
            priority_group_names: names(&pg),
            priority_groups: pg,
            case_state: case,
            school_code: Some(x.school_code.clone()),
        });
    }
    // Every list sorted, merged (a stable merge: on equal keys the earlier list first, as one
    // stable sort of the lists one after the other would order them).
    drop(named);
    let (suspected, to_confirm) = if by_village {
        // Every entry of `theirs` sorts after every entry of `mine` (by village first).
        let (mut list, mut confirm) = (mine, mine_confirm);
        list.extend(theirs);
        confirm.extend(theirs_confirm);
        let list = if suspected.is_empty() {
            list
        } else {
            merge_sorted(vec![list, sort_suspected(suspected)], suspected_order)
        };
        (list, confirm)
    } else {
        (
            merge_sorted(
                vec![mine, theirs, sort_suspected(suspected)],
                suspected_order,
            ),
            merge_sorted(vec![mine_confirm, theirs_confirm], confirm_order),
        )
    };
    let by_source = per_source(conn, &suspected, &to_confirm)?;
    Ok(CrossCheck {
        as_of: as_of.to_string(),
        window: w,
        suspected,
        to_confirm,
        children_checked,
        by_source,
    })
}

/// The village a person's entry is sorted by (its first record's that names one).
fn village_of(ps: &[Person]) -> Option<&str> {
    ps.iter().find_map(|p| p.village_code.as_deref())
}

/// Splits the persons in two shares of at least a quarter each, every village of the first
/// share (kept in `groups`) sorting before every village of the second (returned), each share
/// in its old order; `None` (nothing moved) when the villages do not allow it.
/// Also returns the greatest village of the first share (`None` sorts first).
#[allow(clippy::type_complexity)]
fn split_by_village(
    groups: &mut Vec<(String, Vec<Person>)>,
) -> Option<(Vec<(String, Vec<Person>)>, Option<String>)> {
    let mut villages: Vec<Option<&str>> = groups.iter().map(|(_, ps)| village_of(ps)).collect();
    let mid = villages.len() / 2;
    let (_, median, _) = villages.select_nth_unstable(mid);
    let median: Option<String> = median.map(str::to_string);
    drop(villages);
    let first = |ps: &[Person]| village_of(ps) <= median.as_deref();
    let n_first = groups.iter().filter(|(_, ps)| first(ps)).count();
    let quarter = groups.len() / 4;
    if n_first < quarter || groups.len() - n_first < quarter {
        return None;
    }
    let (keep, moved): (Vec<_>, Vec<_>) = std::mem::take(groups)
        .into_iter()
        .partition(|(_, ps)| first(ps));
    *groups = keep;
    Some((moved, median))
}

/// The order of the suspected list: village, name, birth date, child id.
fn suspected_order(a: &Suspected, b: &Suspected) -> std::cmp::Ordering {
    (&a.village, &a.name, &a.birth_date, &a.child_id).cmp(&(
        &b.village,
        &b.name,
        &b.birth_date,
        &b.child_id,
    ))
}

/// The order of the probable matches: village, name, child id.
fn confirm_order(a: &ToConfirm, b: &ToConfirm) -> std::cmp::Ordering {
    (&a.village, &a.name, &a.child_id).cmp(&(&b.village, &b.name, &b.child_id))
}

/// The entries in [`suspected_order`], stable: an index of references is sorted, then the
/// (large) entries are put in that order in place, by swaps along each cycle of the order (no
/// second list of entries).
fn sort_suspected(mut list: Vec<Suspected>) -> Vec<Suspected> {
    let mut order: Vec<usize> = (0..list.len()).collect();
    order.sort_unstable_by(|&i, &j| suspected_order(&list[i], &list[j]).then(i.cmp(&j)));
    permute(&mut list, &mut order);
    list
}

/// Puts `v` in the order `order` names (`v[k]` becomes the old `v[order[k]]`) in place;
/// `order` ends as `0, 1, 2, …`.
fn permute<T>(v: &mut [T], order: &mut [usize]) {
    for i in 0..v.len().min(order.len()) {
        let mut j = i;
        loop {
            let k = order[j];
            order[j] = j;
            if k == i || k >= v.len() {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

/// Merges lists each sorted by `order` into one; on equal keys the earlier list's entry first.
fn merge_sorted<T>(lists: Vec<Vec<T>>, order: impl Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
    let mut out = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    let mut lists: Vec<std::iter::Peekable<std::vec::IntoIter<T>>> = lists
        .into_iter()
        .map(|l| l.into_iter().peekable())
        .collect();
    loop {
        let mut best: Option<(usize, &T)> = None;
        for (i, l) in lists.iter_mut().enumerate() {
            if let Some(x) = l.peek() {
                match best {
                    Some((_, b)) if order(x, b) != std::cmp::Ordering::Less => {}
                    _ => best = Some((i, x)),
                }
            }
        }
        let Some((i, _)) = best else { break };
        if let Some(x) = lists[i].next() {
            out.push(x);
        }
    }
    out
}

/// The source KINDs of an entry: sorted, once each.
fn source_kinds(mut kinds: Vec<&str>) -> Vec<String> {
    kinds.sort_unstable();
    kinds.dedup();
    kinds.into_iter().map(str::to_string).collect()
}

#[allow(clippy::too_many_arguments)]
fn entry(
    child_id: Option<String>,
    id_number: Option<String>,
    name: String,
    village: Option<String>,
    birth: NaiveDate,
    reason: String,
    category: &str,
    sources: Vec<String>,
    groups: Vec<String>,
    case_state: Option<String>,
    school_code: Option<String>,
) -> Suspected {
    Suspected {
        child_id,
        id_number,
        name,
        village,
        birth_date: iso_date(birth),
        reason,
        category: category.into(),
        priority: !groups.is_empty(),
        sources,
        priority_group_names: names(&groups),
        priority_groups: groups,
        case_state,
        school_code,
    }
}

fn paren_date(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!("（{d}）")
    }
}

/// Group codes in code-list order, once each.
fn merge_groups<'a>(it: impl Iterator<Item = &'a String>) -> Vec<String> {
    let set: HashSet<&str> = it.map(String::as_str).collect();
    if set.is_empty() {
        return Vec::new();
    }
    let list = &codes().priority_groups;
    let mut out: Vec<String> = list
        .iter()
        .filter(|c| set.contains(c.code.as_str()))
        .map(|c| c.code.clone())
        .collect();
    let mut unknown: Vec<&str> = set
        .iter()
        .copied()
        .filter(|s| !list.iter().any(|c| c.code == *s))
        .collect();
    unknown.sort_unstable();
    out.extend(unknown.into_iter().map(str::to_string));
    out
}

fn names(groups: &[String]) -> Vec<String> {
    groups
        .iter()
        .map(|g| name_of(&codes().priority_groups, g))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::permute;

    proptest::proptest! {
        #[test]
        fn permuting_in_place_puts_each_entry_where_the_order_names(
            keys in proptest::collection::vec(0u8..8, 0..200)
        ) {
            // A stable order of the keys, as `sort_suspected` builds it.
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_unstable_by(|&i, &j| keys[i].cmp(&keys[j]).then(i.cmp(&j)));
            let want: Vec<(u8, usize)> = order.iter().map(|&i| (keys[i], i)).collect();
            let mut v: Vec<(u8, usize)> = keys.iter().copied().zip(0..).collect();
            permute(&mut v, &mut order);
            proptest::prop_assert_eq!(v, want);
            proptest::prop_assert!(order.iter().enumerate().all(|(k, &i)| k == i));
        }
    }
}

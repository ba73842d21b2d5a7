//! The county's numbers: 巩固率, 净入学率 and 辍学率 by county / township / school / grade / priority
//! group, and case counts. Every figure keeps the children behind it, so a clerk can open it.
//!
//! Definitions (the variant is the `retention_rate_variant` setting; `cohort` is the only one now):
//! - School year Y runs from 1 September Y to 31 August Y+1; `as_of` falls in one.
//! - 巩固率 (cohort): the cohort graduating in the summer before `as_of` entered grade 1 nine years
//!   earlier. Its members are the pupils whose latest enrolment puts them in that cohort (school year
//!   of the term minus grade − 1). Intake = members whose first entry is in the cohort's first year;
//!   transfers in = members who entered later; transfers out = members whose last enrolment is
//!   转出. Rate = graduates ÷ (intake + in − out). Graduates are members not transferred out, so the
//!   rate can never pass 100%.
//! - 净入学率: school-age children (entry age … entry age + 8 at the cutoff of Y) enrolled (在读 or
//!   休学) ÷ all school-age children. One person counted once however many records name them.
//! - 辍学率: enrolments that became 辍学 in Y (up to `as_of`) ÷ enrolments at the start of Y.

use crate::error::Result;
use crate::settings::Settings;
use crate::store;
use crate::store::population::{self, EnrolmentRow, PersonRow};
use chrono::{Datelike, NaiveDate};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The school year (its September's year) a date falls in.
pub fn school_year_of(d: NaiveDate) -> i32 {
    if d.month() >= 9 {
        d.year()
    } else {
        d.year() - 1
    }
}

/// The school year a term label names: `2026秋` → 2026, `2027春` → 2026.
pub fn school_year_of_term(term: &str) -> Option<i32> {
    let digits: String = term.chars().take_while(|c| c.is_ascii_digit()).collect();
    let year: i32 = digits.parse().ok()?;
    if term.contains('春') {
        Some(year - 1)
    } else {
        Some(year)
    }
}

/// Age in whole years on a day.
pub fn age_on(birth: NaiveDate, day: NaiveDate) -> i32 {
    day.years_since(birth).map(|y| y as i32).unwrap_or(-1)
}

fn date(s: &Option<String>) -> Option<NaiveDate> {
    s.as_deref()
        .and_then(|s| NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok())
}

/// One figure: a rate for one group, with the children behind numerator and denominator.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// `county`, `township`, `school`, `grade` or `group`.
    pub by: String,
    /// The group's code (township code, school code, grade 1-9, priority-group code).
    pub key: String,
    pub label: String,
    pub numerator: usize,
    pub denominator: usize,
    /// Percent with two decimals; None when the denominator is 0.
    pub rate: Option<f64>,
    #[serde(skip)]
    pub numerator_ids: BTreeSet<String>,
    #[serde(skip)]
    pub denominator_ids: BTreeSet<String>,
}

/// Case counts.
#[derive(Debug, Clone, Serialize)]
pub struct CaseCounts {
    pub total: usize,
    pub by_reason: BTreeMap<String, usize>,
    pub by_state: BTreeMap<String, usize>,
    pub by_age: BTreeMap<String, usize>,
    /// Cases that reached 已复学 / 已安置 ÷ cases with at least one persuasion attempt.
    pub persuasion_success: Figure,
}

/// Everything `baoxue stats` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub as_of: String,
    pub school_year: i32,
    pub variant: String,
    pub retention: Vec<Figure>,
    pub net_enrolment: Vec<Figure>,
    pub dropout: Vec<Figure>,
    pub cases: CaseCounts,
}

/// Builds figures per group from (child, groups it belongs to, in numerator?) triples.
/// (label, numerator persons, denominator persons) of one group.
type Counted = (String, BTreeSet<String>, BTreeSet<String>);

#[derive(Default)]
struct Tally {
    figures: BTreeMap<(u8, String, String), Counted>,
}

const BY: [&str; 5] = ["county", "township", "school", "grade", "group"];

impl Tally {
    fn add(&mut self, groups: &[(usize, String, String)], id: &str, counted: bool) {
        for (by, key, label) in groups {
            let e = self
                .figures
                .entry((*by as u8, key.clone(), BY[*by].to_string()))
                .or_insert_with(|| (label.clone(), BTreeSet::new(), BTreeSet::new()));
            e.2.insert(id.to_string());
            if counted {
                e.1.insert(id.to_string());
            }
        }
    }
    fn into_figures(self) -> Vec<Figure> {
        self.figures
            .into_iter()
            .map(|((_, key, by), (label, num, den))| {
                let rate = (!den.is_empty())
                    .then(|| (num.len() as f64 * 10000.0 / den.len() as f64).round() / 100.0);
                Figure {
                    by,
                    key,
                    label,
                    numerator: num.len(),
                    denominator: den.len(),
                    rate,
                    numerator_ids: num,
                    denominator_ids: den,
                }
            })
            .collect()
    }
}

struct Context {
    school_township: HashMap<String, String>,
    school_name: HashMap<String, String>,
    group_names: HashMap<String, String>,
    area_names: HashMap<String, String>,
}

impl Context {
    fn township_of_school(&self, school: &str) -> Option<String> {
        self.school_township.get(school).cloned()
    }
    fn label_area(&self, code: &str) -> String {
        self.area_names
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }
    fn groups(
        &self,
        township: Option<String>,
        school: Option<&str>,
        grade: Option<i64>,
        prio: &[String],
    ) -> Vec<(usize, String, String)> {
        let mut g = vec![(0, "county".to_string(), "全县".to_string())];
        if let Some(t) = township {
            let label = self.label_area(&t);
            g.push((1, t, label));
        }
        if let Some(s) = school {
            g.push((
                2,
                s.to_string(),
                self.school_name
                    .get(s)
                    .cloned()
                    .unwrap_or_else(|| s.to_string()),
            ));
        }
        if let Some(gr) = grade.filter(|g| (1..=9).contains(g)) {
            g.push((
                3,
                gr.to_string(),
                crate::codes::name_of(&crate::codes::codes().grades, &gr.to_string()),
            ));
        }
        for p in prio {
            g.push((
                4,
                p.clone(),
                self.group_names
                    .get(p)
                    .cloned()
                    .unwrap_or_else(|| p.clone()),
            ));
        }
        g
    }
}

fn context(conn: &Connection) -> Result<Context> {
    let schools = store::schools::list(conn)?;
    let codes = crate::codes::codes();
    let mut group_names: HashMap<String, String> = HashMap::new();
    for c in codes.priority_groups.iter().chain(codes.child_flags.iter()) {
        group_names.insert(c.code.clone(), c.name.clone());
    }
    Ok(Context {
        school_township: schools
            .iter()
            .filter_map(|s| s.township_code.clone().map(|t| (s.code.clone(), t)))
            .collect(),
        school_name: schools
            .iter()
            .map(|s| (s.code.clone(), s.name.clone()))
            .collect(),
        group_names,
        area_names: store::population::list_area_names(conn)?,
    })
}

/// A record's own person key: the linked ID number, else the record id.
fn own_key(p: &PersonRow) -> String {
    p.id_key.clone().unwrap_or_else(|| p.child_id.clone())
}

/// The person keys that live `same` links (`baoxue person confirm`) change, by record id: records
/// decided to be one child share the smallest of their own keys, followed transitively (a roster
/// child without an ID and the pupil record it was confirmed to be count once, as enrolled).
/// Every other record keeps [`own_key`].
fn joined_keys(people: &[PersonRow], same: &[(String, String)]) -> HashMap<String, String> {
    if same.is_empty() {
        return HashMap::new();
    }
    let linked: HashSet<&str> = same
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    let own: HashMap<&str, String> = people
        .iter()
        .filter(|p| linked.contains(p.child_id.as_str()))
        .map(|p| (p.child_id.as_str(), own_key(p)))
        .collect();
    // Union-find over keys; the root of a set is its smallest key.
    let mut parent: HashMap<String, String> = HashMap::new();
    fn root(parent: &HashMap<String, String>, k: &str) -> String {
        let mut k = k.to_string();
        while let Some(p) = parent.get(&k) {
            k = p.clone();
        }
        k
    }
    for (a, b) in same {
        let (Some(ka), Some(kb)) = (own.get(a.as_str()), own.get(b.as_str())) else {
            continue;
        };
        let (ra, rb) = (root(&parent, ka), root(&parent, kb));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent.insert(hi, lo);
        }
    }
    // Records sharing an ID with a linked record but not linked themselves follow their key.
    let mut out = HashMap::new();
    for p in people {
        let k = own_key(p);
        if parent.contains_key(&k) {
            out.insert(p.child_id.clone(), root(&parent, &k));
        }
    }
    out
}

/// Computes every rate and case count as of a day.
pub fn compute(conn: &Connection, as_of: NaiveDate) -> Result<Stats> {
    let settings = Settings::load(conn)?;
    let ctx = context(conn)?;
    let people = population::list_people(conn)?;
    let enrolments = population::list_enrolments(conn)?;
    let year = school_year_of(as_of);

    // Persons: records linked by ID number, or decided to be one child, count once (a record
    // with a village stands for the person, so that a roster child is not placed by its school).
    let same = store::person_links::list_pairs(conn, "same")?;
    let mut joined = joined_keys(&people, &same);
    let mut person_of_child: HashMap<&str, String> = HashMap::new();
    let mut persons: BTreeMap<String, &PersonRow> = BTreeMap::new();
    for p in &people {
        let key = joined.remove(&p.child_id).unwrap_or_else(|| own_key(p));
        person_of_child.insert(&p.child_id, key.clone());
        let slot = persons.entry(key).or_insert(p);
        if slot.village_code.is_none() && p.village_code.is_some() {
            *slot = p;
        }
    }
    let mut enrol_by_person: HashMap<String, Vec<&EnrolmentRow>> = HashMap::new();
    for e in &enrolments {
        if let Some(k) = person_of_child.get(e.child_id.as_str()) {
            enrol_by_person.entry(k.clone()).or_default().push(e);
        }
    }
    let mut groups_of: HashMap<&str, Vec<String>> = HashMap::new();
    for p in &people {
        let key = person_of_child
            .get(p.child_id.as_str())
            .map(String::as_str)
            .unwrap_or("");
        let g = groups_of.entry(key).or_default();
        for x in &p.groups {
            if !g.contains(x) {
                g.push(x.clone());
            }
        }
    }
    let township_of_person = |p: &PersonRow, es: Option<&Vec<&EnrolmentRow>>| -> Option<String> {
        p.village_code
            .as_deref()
            .filter(|v| v.len() >= 9)
            .map(|v| v[..9].to_string())
            .or_else(|| {
                es.and_then(|es| es.last())
                    .and_then(|e| ctx.township_of_school(&e.school_code))
            })
    };

    // 净入学率.
    let cutoff = settings.cutoff_in(year);
    let lo = settings.entry_age as i32;
    let mut net = Tally::default();
    for (key, p) in &persons {
        if p.life_status == "deceased" {
            continue;
        }
        let Some(birth) = date(&p.birth_date) else {
            continue;
        };
        let age = age_on(birth, cutoff);
        if age < lo || age > lo + 8 {
            continue;
        }
        let es = enrol_by_person.get(key);
        let current = es.and_then(|es| {
            es.iter()
                .rev()
                .find(|e| matches!(e.status.as_str(), "studying" | "suspended"))
        });
        let expected_grade = (age - lo + 1) as i64;
        let groups = ctx.groups(
            township_of_person(p, es),
            current.map(|e| e.school_code.as_str()),
            Some(current.and_then(|e| e.grade).unwrap_or(expected_grade)),
            groups_of
                .get(key.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        );
        net.add(&groups, key, current.is_some());
    }

    // 辍学率.
    let start = NaiveDate::from_ymd_opt(year, 9, 1).unwrap_or(as_of);
    let mut drop = Tally::default();
    for e in &enrolments {
        let Some(key) = person_of_child.get(e.child_id.as_str()) else {
            continue;
        };
        let changed = date(&e.status_date);
        let entered_before = date(&e.entry_date)
            .map(|d| d <= start + chrono::Duration::days(30))
            .unwrap_or(true);
        let active_at_start = entered_before
            && match e.status.as_str() {
                "studying" | "suspended" => true,
                "graduated" | "deferred" => false,
                _ => changed.map(|d| d >= start).unwrap_or(false),
            };
        if !active_at_start {
            continue;
        }
        let dropped =
            e.status == "dropped_out" && changed.map(|d| d >= start && d <= as_of).unwrap_or(false);
        let p = persons.get(key);
        let groups = ctx.groups(
            ctx.township_of_school(&e.school_code)
                .or_else(|| p.and_then(|p| township_of_person(p, None))),
            Some(&e.school_code),
            e.grade,
            groups_of
                .get(key.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        );
        drop.add(&groups, key, dropped);
    }

    // 巩固率 (cohort).
    let graduation_year = if as_of.month() >= 7 {
        as_of.year()
    } else {
        as_of.year() - 1
    };
    let cohort_start = graduation_year - 9;
    let mut retention = Tally::default();
    for (key, es) in &enrol_by_person {
        let Some(last) = es
            .iter()
            .max_by_key(|e| (e.term.as_deref().and_then(school_year_of_term), e.grade))
        else {
            continue;
        };
        let (Some(grade), Some(ref_year)) = (
            last.grade,
            last.term
                .as_deref()
                .and_then(school_year_of_term)
                .or_else(|| date(&last.status_date).map(school_year_of)),
        ) else {
            continue;
        };
        if ref_year - (grade as i32 - 1) != cohort_start {
            continue;
        }
        if last.status == "transferred_out" || last.status == "deceased" {
            continue; // transfers out leave the denominator
        }
        let graduated = es
            .iter()
            .any(|e| e.status == "graduated" && e.grade == Some(9));
        let p = persons.get(key);
        let groups = ctx.groups(
            ctx.township_of_school(&last.school_code)
                .or_else(|| p.and_then(|p| township_of_person(p, None))),
            Some(&last.school_code),
            None,
            groups_of
                .get(key.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        );
        retention.add(&groups, key, graduated);
    }

    let cases = case_counts(conn, as_of, &people)?;
    Ok(Stats {
        as_of: as_of.to_string(),
        school_year: year,
        variant: settings.retention_rate_variant.clone(),
        retention: retention.into_figures(),
        net_enrolment: net.into_figures(),
        dropout: drop.into_figures(),
        cases,
    })
}

fn case_counts(conn: &Connection, as_of: NaiveDate, people: &[PersonRow]) -> Result<CaseCounts> {
    let codes = crate::codes::codes();
    let birth: HashMap<&str, Option<NaiveDate>> = people
        .iter()
        .map(|p| (p.child_id.as_str(), date(&p.birth_date)))
        .collect();
    let cases = store::cases::list(conn, None)?;
    let mut by_reason = BTreeMap::new();
    let mut by_state = BTreeMap::new();
    let mut by_age = BTreeMap::new();
    let mut success = Tally::default();
    for c in &cases {
        let reason = c
            .reason_code
            .as_deref()
            .map(|r| crate::codes::name_of(&codes.dropout_reasons, r))
            .unwrap_or_else(|| "未填".into());
        *by_reason.entry(reason).or_insert(0) += 1;
        *by_state
            .entry(crate::codes::name_of(&codes.case_states, &c.state))
            .or_insert(0) += 1;
        let age = birth
            .get(c.child_id.as_str())
            .copied()
            .flatten()
            .map(|b| format!("{}岁", age_on(b, as_of)))
            .unwrap_or_else(|| "未知".into());
        *by_age.entry(age).or_insert(0) += 1;
        let events = store::case_events::list_by_case(conn, &c.meta.id)?;
        let attempted = events.iter().any(|e| e.kind == "attempt");
        let returned = events
            .iter()
            .any(|e| matches!(e.to_state.as_deref(), Some("returned") | Some("placed")));
        if attempted || returned {
            success.add(
                &[(0, "county".into(), "全县".into())],
                &c.child_id,
                returned,
            );
        }
    }
    let persuasion_success = success.into_figures().into_iter().next().unwrap_or(Figure {
        by: "county".into(),
        key: "county".into(),
        label: "全县".into(),
        numerator: 0,
        denominator: 0,
        rate: None,
        numerator_ids: BTreeSet::new(),
        denominator_ids: BTreeSet::new(),
    });
    Ok(CaseCounts {
        total: cases.len(),
        by_reason,
        by_state,
        by_age,
        persuasion_success,
    })
}

/// Which figure to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Retention,
    NetEnrolment,
    Dropout,
}

impl Metric {
    pub fn parse(s: &str) -> Option<Metric> {
        match s {
            "retention" | "巩固率" => Some(Metric::Retention),
            "net_enrolment" | "净入学率" => Some(Metric::NetEnrolment),
            "dropout" | "辍学率" => Some(Metric::Dropout),
            _ => None,
        }
    }
}

/// The persons behind one figure: (person key, in the numerator?).
pub fn children_behind(
    stats: &Stats,
    metric: Metric,
    by: &str,
    key: &str,
) -> Option<Vec<(String, bool)>> {
    let list = match metric {
        Metric::Retention => &stats.retention,
        Metric::NetEnrolment => &stats.net_enrolment,
        Metric::Dropout => &stats.dropout,
    };
    let f = list.iter().find(|f| f.by == by && f.key == key)?;
    Some(
        f.denominator_ids
            .iter()
            .map(|id| (id.clone(), f.numerator_ids.contains(id)))
            .collect(),
    )
}

/// One child behind a figure, as a screen shows it (ID masked).
#[derive(Debug, Clone, Serialize)]
pub struct DrillRow {
    /// The child record to open (一人一档).
    pub child_id: String,
    pub name: String,
    pub id_masked: String,
    /// The full number, for an export the clerk confirmed; never sent to the screen.
    #[serde(skip)]
    pub id_number: Option<String>,
    pub birth_date: Option<String>,
    pub village_code: Option<String>,
    /// In the numerator (counted), or only in the denominator.
    pub counted: bool,
}

/// The children behind one figure with their names, for the screen's drill-down: the persons of
/// [`children_behind`] matched to a child record by ID key (else child id), sorted by name.
pub fn drill_rows(
    conn: &Connection,
    stats: &Stats,
    metric: Metric,
    by: &str,
    key: &str,
) -> Result<Option<Vec<DrillRow>>> {
    let Some(persons) = children_behind(stats, metric, by, key) else {
        return Ok(None);
    };
    let people = population::list_people(conn)?;
    let mut by_key: HashMap<&str, &PersonRow> = HashMap::new();
    for p in &people {
        by_key.entry(p.child_id.as_str()).or_insert(p);
        if let Some(k) = &p.id_key {
            by_key.entry(k.as_str()).or_insert(p);
        }
    }
    let mut rows: Vec<DrillRow> = persons
        .iter()
        .filter_map(|(person, counted)| {
            let p = by_key.get(person.as_str())?;
            Some(DrillRow {
                child_id: p.child_id.clone(),
                name: p.name.clone(),
                id_masked: p
                    .id_number
                    .as_deref()
                    .map(crate::idnum::mask_id)
                    .unwrap_or_default(),
                id_number: p.id_number.clone(),
                birth_date: p.birth_date.clone(),
                village_code: p.village_code.clone(),
                counted: *counted,
            })
        })
        .collect();
    rows.sort_by(|a, b| (&a.name, &a.child_id).cmp(&(&b.name, &b.child_id)));
    Ok(Some(rows))
}

/// The statistics of one register for one day, recomputed only when the register was written
/// since (the app keeps one: every "查看名单" click of the 统计报表 screen drills into the same
/// figures without counting the whole county again). The connection's change counter sees its
/// own writes; SQLite's `data_version` sees writes by another connection (a background merge).
#[derive(Debug, Default)]
pub struct CachedStats {
    cached: Option<((u64, i64, NaiveDate), Stats)>,
}

impl CachedStats {
    /// The statistics of `conn`'s register on `as_of`, computing them first when the register or
    /// the day changed.
    pub fn current(&mut self, conn: &Connection, as_of: NaiveDate) -> Result<&Stats> {
        let key = Self::generation(conn, as_of)?;
        let stats = match self.cached.take() {
            Some((k, s)) if k == key => s,
            _ => compute(conn, as_of)?,
        };
        Ok(&self.cached.insert((key, stats)).1)
    }

    /// The register's write generation (its own writes, then other connections') and the day.
    fn generation(conn: &Connection, as_of: NaiveDate) -> Result<(u64, i64, NaiveDate)> {
        let data_version = conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0))?;
        Ok((conn.total_changes(), data_version, as_of))
    }

    /// Whether the last answer was computed for this register state and day (for tests).
    pub fn is_current(&self, conn: &Connection, as_of: NaiveDate) -> Result<bool> {
        let key = Self::generation(conn, as_of)?;
        Ok(matches!(&self.cached, Some((k, _)) if *k == key))
    }
}

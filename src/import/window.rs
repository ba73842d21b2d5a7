//! A roll import's view of the school's pupils as the register has them, for a re-import: a
//! window of a few hundred pupils read in child id order (`store::enrolments::
//! for_each_school_pupil` and the guardians of the same id range), each with the fields a roll
//! sheet sets. A school's pupils were created in the order of its sheet, so the next term's
//! sheet meets them in about that order: a row whose pupil is in the window, and whose values
//! are those the register holds, is known to be unchanged without the three look-ups (child by
//! key, its enrolments, its guardians) the import makes otherwise. Only that conclusion is
//! drawn here; a row that changes anything, or whose pupil is not in the window, takes the
//! ordinary path (`roll::upsert_row`), which then tells the window what it wrote.
//!
//! The window slides on when a row finds its pupil in the newest part, and moves to the pupil
//! the ordinary path found after a few rows in a row missed it (less readily each time moving
//! did not pay). A pupil it holds is taken for the row only where the ordinary look-up must
//! find that same pupil: the row's ID key (or, the ID key being on no child, its 学籍号) is the
//! pupil's, and no other child may hold it (`KeyFilter`).

use super::child::KeyFilter;
use super::roll::RollRow;
use crate::error::Result;
use crate::store;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;

thread_local! {
    static OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with no window on this thread (every row of a roll import takes the look-ups), for
/// the tests that compare both ways of importing the same sheet.
#[doc(hidden)]
pub fn without<T>(f: impl FnOnce() -> T) -> T {
    OFF.with(|o| o.set(true));
    let out = f();
    OFF.with(|o| o.set(false));
    out
}

/// Whether roll imports on this thread may use a window (see [`without`]).
pub fn allowed() -> bool {
    !OFF.with(|o| o.get())
}

/// Pupils read at a time.
const CHUNK: usize = 256;
/// Chunks held at most.
const CHUNKS: usize = 3;
/// Rows in a row that miss the window (their pupil found by the ordinary path) before it
/// moves to the last one found; doubled each time a move found fewer than `PAID` pupils.
const MISSES: u32 = 4;
const PAID: u32 = 64;

/// A text of a chunk: `(start, len)` in its `text`, or none (NULL).
type Span = Option<(u32, u32)>;

/// One pupil as the register holds it (texts in the chunk's `text`).
#[derive(Debug, Clone)]
struct Pupil {
    child_id: Span,
    name: Span,
    sex: Span,
    birth_date: Span,
    id_number: Span,
    id_key: Span,
    child_student_no: Span,
    hukou_place: Span,
    residence: Span,
    flags: Span,
    disability_type: Span,
    disability_grade: Span,
    student_no: Span,
    grade: Option<i64>,
    class_name: Span,
    entry_date: Span,
    status: Span,
    term: Span,
    note: Span,
    /// Its guardians in `Chunk::guardians`, by id.
    guardians: std::ops::Range<u32>,
    /// Two enrolments at the school, a guardian that could not be read, or already used by a
    /// row or written by the ordinary path: never taken.
    spent: bool,
}

impl Pupil {
    fn empty() -> Pupil {
        Pupil {
            child_id: None,
            name: None,
            sex: None,
            birth_date: None,
            id_number: None,
            id_key: None,
            child_student_no: None,
            hukou_place: None,
            residence: None,
            flags: None,
            disability_type: None,
            disability_grade: None,
            student_no: None,
            grade: None,
            class_name: None,
            entry_date: None,
            status: None,
            term: None,
            note: None,
            guardians: 0..0,
            spent: true,
        }
    }
}

#[derive(Debug, Clone)]
struct GuardianSpans {
    name: Span,
    relation: Span,
    phone: Span,
}

#[derive(Debug, Default)]
struct Chunk {
    /// Its number (the window's chunks are consecutive).
    no: u64,
    text: String,
    /// By child id.
    pupils: Vec<Pupil>,
    guardians: Vec<GuardianSpans>,
}

impl Chunk {
    fn put(&mut self, s: Option<&str>) -> Span {
        let s = s?;
        let start = self.text.len() as u32;
        self.text.push_str(s);
        Some((start, s.len() as u32))
    }

    fn get(&self, s: Span) -> Option<&str> {
        let (start, len) = s?;
        self.text.get(start as usize..(start + len) as usize)
    }

    fn child_id(&self, p: &Pupil) -> &str {
        self.get(p.child_id).unwrap_or("")
    }
}

/// What the window says of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The row's pupil (this child id) holds every value the row gives: nothing to write.
    Unchanged(String),
    /// The pupil is in the window but the row changes something: the ordinary path writes it.
    Changed,
    /// Not known here.
    Unknown,
}

/// The window (see the module's doc).
pub struct Window {
    school: String,
    chunks: VecDeque<Chunk>,
    /// ID key / 学籍号 (hashed) → (chunk number, pupil index).
    by_id_key: HashMap<u64, (u64, u32)>,
    by_student_no: HashMap<u64, (u64, u32)>,
    hasher: std::collections::hash_map::RandomState,
    /// Where the next chunk starts (child id, included?); `None`: the school's last pupil read.
    next: Option<(String, bool)>,
    next_no: u64,
    placed: bool,
    misses: u32,
    misses_allowed: u32,
    found_since_move: u32,
    /// Children already on this run's list (hashed ids): a pupil among them is never taken
    /// again, so each child is listed once.
    listed: HashSet<u64>,
}

impl Window {
    pub fn new(school: &str) -> Window {
        Window {
            school: school.to_string(),
            chunks: VecDeque::new(),
            by_id_key: HashMap::new(),
            by_student_no: HashMap::new(),
            hasher: Default::default(),
            next: None,
            next_no: 0,
            placed: false,
            misses: 0,
            misses_allowed: MISSES,
            found_since_move: 0,
            listed: HashSet::new(),
        }
    }

    fn hash(&self, s: &str) -> u64 {
        self.hasher.hash_one(s)
    }

    /// Judges a row that may be about a pupil the register has (`KeyFilter::is_new` said
    /// no). `Unchanged` lists the child as this run's (the caller writes the run's line).
    pub fn judge(
        &mut self,
        conn: &rusqlite::Connection,
        keys: &KeyFilter,
        r: &RollRow,
        term: &str,
    ) -> Result<Verdict> {
        let Some((no, i)) = self.find(keys, r) else {
            return Ok(Verdict::Unknown);
        };
        let Some(c) = no.checked_sub(self.chunks.front().map(|c| c.no).unwrap_or(0)) else {
            return Ok(Verdict::Unknown);
        };
        let Some(chunk) = self.chunks.get(c as usize) else {
            return Ok(Verdict::Unknown);
        };
        let Some(p) = chunk.pupils.get(i as usize) else {
            return Ok(Verdict::Unknown);
        };
        let id_hash = self.hash(chunk.child_id(p));
        if p.spent || self.listed.contains(&id_hash) {
            return Ok(Verdict::Unknown);
        }
        let same = unchanged(chunk, p, r, term);
        let child_id = chunk.child_id(p).to_string();
        if let Some(p) = self
            .chunks
            .get_mut(c as usize)
            .and_then(|ch| ch.pupils.get_mut(i as usize))
        {
            p.spent = true;
        }
        self.misses = 0;
        self.found_since_move = self.found_since_move.saturating_add(1);
        if c as usize + 1 == self.chunks.len() {
            self.load(conn)?;
        }
        Ok(if same {
            self.listed.insert(id_hash);
            Verdict::Unchanged(child_id)
        } else {
            Verdict::Changed
        })
    }

    /// The pupil the ordinary look-up must find for this row, if the window holds it.
    fn find(&self, keys: &KeyFilter, r: &RollRow) -> Option<(u64, u32)> {
        let id_key = r.id_key.as_deref().filter(|k| keys.may_have_id_key(k));
        let (map, key, by_id) = match (id_key, r.student_no.as_deref()) {
            (Some(k), _) => (&self.by_id_key, k, true),
            (None, Some(s)) => (&self.by_student_no, s, false),
            (None, None) => return None,
        };
        let once = if by_id {
            keys.id_key_once(key)
        } else {
            keys.student_no_once(key)
        };
        if !once {
            return None;
        }
        let at = *map.get(&self.hash(key))?;
        let chunk = self
            .chunks
            .get(at.0.checked_sub(self.chunks.front()?.no)? as usize)?;
        let p = chunk.pupils.get(at.1 as usize)?;
        let held = if by_id { p.id_key } else { p.child_student_no };
        (chunk.get(held) == Some(key)).then_some(at)
    }

    /// Told by the ordinary path what it did to a row's child: `existed` (found, not
    /// inserted), `written` (anything changed), and whether the window had the pupil.
    pub fn after_lookup(
        &mut self,
        conn: &rusqlite::Connection,
        child_id: &str,
        existed: bool,
        written: bool,
        in_window: bool,
    ) -> Result<()> {
        self.listed.insert(self.hash(child_id));
        if written {
            // What the window holds of it is out of date.
            for chunk in self.chunks.iter_mut() {
                let text = &chunk.text;
                for p in chunk.pupils.iter_mut() {
                    if chunk_text(text, p.child_id) == child_id {
                        p.spent = true;
                    }
                }
            }
        }
        if !existed || in_window {
            return Ok(());
        }
        self.misses += 1;
        if self.placed && self.misses < self.misses_allowed {
            return Ok(());
        }
        // Move to the pupil found: the sheet goes on from there.
        if self.placed {
            self.misses_allowed = if self.found_since_move >= PAID {
                MISSES
            } else {
                self.misses_allowed.saturating_mul(2)
            };
        }
        self.placed = true;
        self.misses = 0;
        self.found_since_move = 0;
        self.chunks.clear();
        self.by_id_key.clear();
        self.by_student_no.clear();
        self.next = Some((child_id.to_string(), false));
        self.load(conn)?;
        self.load(conn)
    }

    /// Reads the next chunk (if the school has more pupils), dropping the oldest beyond
    /// `CHUNKS`.
    fn load(&mut self, conn: &rusqlite::Connection) -> Result<()> {
        let Some((from, inclusive)) = self.next.take() else {
            return Ok(());
        };
        let mut chunk = Chunk {
            no: self.next_no,
            ..Chunk::default()
        };
        self.next_no += 1;
        let mut last: Option<String> = None;
        let read = store::enrolments::for_each_school_pupil(
            conn,
            &self.school,
            &from,
            inclusive,
            CHUNK,
            |child_id, s| {
                if last.as_deref() == Some(child_id) {
                    // Two enrolments at the school: which one the ordinary path takes depends
                    // on their dates; leave the pupil to it.
                    if let Some(p) = chunk.pupils.last_mut() {
                        p.spent = true;
                    }
                    return;
                }
                last = Some(child_id.to_string());
                let p = match s {
                    Some(s) => Pupil {
                        child_id: chunk.put(Some(s.child_id)),
                        name: chunk.put(Some(s.name)),
                        sex: chunk.put(s.sex),
                        birth_date: chunk.put(s.birth_date),
                        id_number: chunk.put(s.id_number),
                        id_key: chunk.put(s.id_key),
                        child_student_no: chunk.put(s.child_student_no),
                        hukou_place: chunk.put(s.hukou_place),
                        residence: chunk.put(s.residence),
                        flags: chunk.put(Some(s.flags)),
                        disability_type: chunk.put(s.disability_type),
                        disability_grade: chunk.put(s.disability_grade),
                        student_no: chunk.put(s.student_no),
                        grade: s.grade,
                        class_name: chunk.put(s.class_name),
                        entry_date: chunk.put(s.entry_date),
                        status: chunk.put(Some(s.status)),
                        term: chunk.put(s.term),
                        note: chunk.put(s.note),
                        guardians: 0..0,
                        spent: false,
                    },
                    // Unreadable here: held only to keep the pupils in order, never taken.
                    None => Pupil {
                        child_id: chunk.put(Some(child_id)),
                        spent: true,
                        ..Pupil::empty()
                    },
                };
                chunk.pupils.push(p);
            },
        )?;
        if read == CHUNK {
            // The last child's rows may go on in the next chunk: read it again there.
            match chunk.pupils.pop() {
                Some(p) if !chunk.pupils.is_empty() => {
                    self.next = Some((chunk_text(&chunk.text, p.child_id).to_string(), true));
                }
                Some(p) => {
                    // A whole chunk of one child's enrolments: leave it to the ordinary path.
                    self.next = Some((chunk_text(&chunk.text, p.child_id).to_string(), false));
                }
                None => {}
            }
        }
        self.add_guardians(conn, &mut chunk)?;
        for (i, p) in chunk.pupils.iter().enumerate() {
            if p.spent {
                continue;
            }
            let at = (chunk.no, i as u32);
            if let Some(k) = chunk.get(p.id_key) {
                self.by_id_key.insert(self.hasher.hash_one(k), at);
            }
            if let Some(s) = chunk.get(p.child_student_no) {
                self.by_student_no.insert(self.hasher.hash_one(s), at);
            }
        }
        self.chunks.push_back(chunk);
        while self.chunks.len() > CHUNKS {
            if let Some(old) = self.chunks.pop_front() {
                self.by_id_key.retain(|_, at| at.0 != old.no);
                self.by_student_no.retain(|_, at| at.0 != old.no);
            }
        }
        Ok(())
    }

    /// Reads the guardians of a chunk's pupils (by id, as `guardians::list_by_child`).
    fn add_guardians(&self, conn: &rusqlite::Connection, chunk: &mut Chunk) -> Result<()> {
        let (Some(first), Some(last)) = (chunk.pupils.first(), chunk.pupils.last()) else {
            return Ok(());
        };
        let first = chunk_text(&chunk.text, first.child_id).to_string();
        let last = chunk_text(&chunk.text, last.child_id).to_string();
        let mut at = 0usize;
        store::guardians::for_each_in_child_range(conn, &first, &last, |child_id, g| {
            while at < chunk.pupils.len()
                && chunk_text(&chunk.text, chunk.pupils[at].child_id) < child_id
            {
                at += 1;
            }
            if at >= chunk.pupils.len()
                || chunk_text(&chunk.text, chunk.pupils[at].child_id) != child_id
            {
                return; // a child of another school
            }
            let Some(g) = g else {
                chunk.pupils[at].spent = true;
                return;
            };
            let n = chunk.guardians.len() as u32;
            let spans = GuardianSpans {
                name: chunk.put(Some(g.name)),
                relation: chunk.put(g.relation),
                phone: chunk.put(g.phone),
            };
            chunk.guardians.push(spans);
            let p = &mut chunk.pupils[at];
            if p.guardians.is_empty() {
                p.guardians = n..n + 1;
            } else {
                p.guardians.end = n + 1;
            }
        })?;
        Ok(())
    }
}

fn chunk_text(text: &str, s: Span) -> &str {
    s.and_then(|(start, len)| text.get(start as usize..(start + len) as usize))
        .unwrap_or("")
}

/// Whether importing row `r` would leave the pupil as it is: what `roll::fill_child`,
/// `roll::fill_enrolment` and `child::save_guardians` would find to change, compared field by
/// field (each empty cell keeps what the register has).
fn unchanged(chunk: &Chunk, p: &Pupil, r: &RollRow, term: &str) -> bool {
    let get = |s: Span| chunk.get(s);
    let same = |held: Span, row: &Option<String>| match row {
        Some(v) => get(held) == Some(v.as_str()),
        None => true,
    };
    // The child.
    if get(p.name) != Some(r.name.as_str())
        || !same(p.sex, &r.sex)
        || get(p.birth_date) != Some(r.birth_date.as_str())
        || !same(p.id_number, &r.id_number)
        || !same(p.child_student_no, &r.student_no)
        || !same(p.hukou_place, &r.hukou_place)
        || !same(p.residence, &r.residence)
        || !same(p.disability_grade, &r.disability_grade)
    {
        return false;
    }
    if let Some(t) = &r.disability_type {
        if get(p.disability_type) != t.as_deref() {
            return false;
        }
    }
    // The link key the row leaves (as `fill_child` finds it).
    let id_number = r.id_number.as_deref().or(get(p.id_number));
    let student_no = r.student_no.as_deref().or(get(p.child_student_no));
    let key = if r.id_number.is_some() || (get(p.id_number).is_none() && r.student_no.is_some()) {
        r.id_key.clone()
    } else {
        crate::idnum::link_key(id_number, student_no)
    };
    if get(p.id_key) != key.as_deref() {
        return false;
    }
    if !r.flags.is_empty() {
        let held = store::record::codes_from_text(get(p.flags).unwrap_or(""));
        let mut flags = held.clone();
        super::roll::apply_flags(&mut flags, &r.flags);
        if flags != held {
            return false;
        }
    }
    // The enrolment.
    if !same(p.student_no, &r.student_no)
        || (r.grade.is_some() && p.grade != r.grade)
        || !same(p.class_name, &r.class_name)
        || !same(p.entry_date, &r.entry_date)
        || get(p.status) != Some(r.status.as_str())
        || get(p.term) != Some(term)
        || !same(p.note, &r.note)
    {
        return false;
    }
    // The guardians: each the row names is there (the first by id of that name), with the
    // relation and phone the row gives.
    let held = &chunk.guardians[p.guardians.start as usize..p.guardians.end as usize];
    r.guardians.iter().all(
        |g| match held.iter().find(|h| get(h.name) == Some(g.name.as_str())) {
            Some(h) => same(h.relation, &g.relation) && same(h.phone, &g.phone),
            None => false,
        },
    )
}

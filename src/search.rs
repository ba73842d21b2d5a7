//! Search children as the clerk types: by name, pinyin initials (`zs` → 张三), ID number or 学籍号.
//! The index is built once from the register and kept in memory. Each field of every child is
//! laid end to end in one text ("haystack", entries separated by `\n`), so a keystroke is a few
//! `memmem` scans of a few MB that stop as soon as a page of results is full.

use crate::error::Result;
use crate::idnum::{self, mask_id};
use memchr::memmem;
use pinyin::ToPinyin;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::HashSet;

/// What is shown of one indexed child.
#[derive(Debug, Clone)]
struct Entry {
    child_id: String,
    name: String,
    id_number: Option<String>,
    student_no: Option<String>,
    birth_date: Option<String>,
    village_code: Option<String>,
    household_id: Option<String>,
}

/// A search result (ID and 学籍号 masked).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Hit {
    pub child_id: String,
    pub name: String,
    pub id_number: Option<String>,
    pub student_no: Option<String>,
    pub birth_date: Option<String>,
    pub village_code: Option<String>,
    pub household_id: Option<String>,
    /// What matched: `name`, `initials`, `id_number`, `student_no`.
    pub matched: &'static str,
}

/// One field of every entry laid end to end: `\nvalue0\nvalue1…\n`.
#[derive(Debug, Default)]
struct Haystack {
    text: String,
    /// Byte offset of each entry's value (just after its `\n`).
    starts: Vec<u32>,
}

impl Haystack {
    fn push(&mut self, value: &str) {
        self.text.push('\n');
        self.starts.push(self.text.len() as u32);
        self.text.extend(value.chars().filter(|c| *c != '\n'));
    }
    /// Inserts a value as entry `pos` (the entries from `pos` on move one place up).
    fn insert(&mut self, pos: usize, value: &str) {
        let piece: String = std::iter::once('\n')
            .chain(value.chars().filter(|c| *c != '\n'))
            .collect();
        // The `\n` in front of entry `pos`, or the end of the text.
        let at = match self.starts.get(pos) {
            Some(start) => *start as usize - 1,
            None => self.text.len(),
        };
        self.text.insert_str(at, &piece);
        let n = piece.len() as u32;
        for s in &mut self.starts[pos..] {
            *s += n;
        }
        self.starts.insert(pos, at as u32 + 1);
    }
    /// The entry a byte offset falls in.
    fn entry_at(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|s| (*s as usize) <= offset)
            .saturating_sub(1)
    }
    /// Entries (in index order) whose value matches `needle` as built by the caller.
    fn find<'a>(&'a self, needle: &'a [u8], shift: usize) -> impl Iterator<Item = usize> + 'a {
        memmem::find_iter(self.text.as_bytes(), needle).map(move |o| self.entry_at(o + shift))
    }
}

/// The in-memory index.
#[derive(Debug, Default)]
pub struct SearchIndex {
    entries: Vec<Entry>,
    names: Haystack,
    initials: Haystack,
    ids: Haystack,
    student_nos: Haystack,
}

/// Pinyin initials of a name, lower case (`阿依古丽·买买提` → `ayglmmt`).
pub fn initials(name: &str) -> String {
    name.chars()
        .map(|c| match c.to_pinyin() {
            Some(p) => p.first_letter().chars().next().unwrap_or(c),
            None => c.to_ascii_lowercase(),
        })
        .filter(|c| *c != '·')
        .collect()
}

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        child_id: r.get(0)?,
        name: r.get(1)?,
        id_number: r.get(2)?,
        student_no: r.get(3)?,
        birth_date: r.get(4)?,
        village_code: r.get(5)?,
        household_id: r.get(6)?,
    })
}

impl SearchIndex {
    /// Reads every live child of the register.
    pub fn build(conn: &Connection) -> Result<SearchIndex> {
        let mut st = conn.prepare(
            "SELECT id, name, id_number, student_no, birth_date, village_code, household_id
             FROM children WHERE deleted = 0 ORDER BY name, id",
        )?;
        let mut rows = st.query([])?;
        let mut ix = SearchIndex::default();
        while let Some(r) = rows.next()? {
            ix.add(entry(r)?);
        }
        Ok(ix)
    }

    /// Adds children written since the index was built, each at its place in the index's order
    /// (name, id), so results rank as after a rebuild. A few memory moves per child: for the
    /// handful of children a form adds, not for an import (the caller rebuilds then).
    fn insert_sorted(&mut self, e: Entry) {
        let pos = self.entries.partition_point(|x| {
            (x.name.as_str(), x.child_id.as_str()) < (e.name.as_str(), e.child_id.as_str())
        });
        self.names.insert(pos, &e.name);
        self.initials.insert(pos, &initials(&e.name));
        self.ids.insert(pos, e.id_number.as_deref().unwrap_or(""));
        self.student_nos
            .insert(pos, e.student_no.as_deref().unwrap_or(""));
        self.entries.insert(pos, e);
    }

    fn add(&mut self, e: Entry) {
        self.names.push(&e.name);
        self.initials.push(&initials(&e.name));
        self.ids.push(e.id_number.as_deref().unwrap_or(""));
        self.student_nos.push(e.student_no.as_deref().unwrap_or(""));
        self.entries.push(e);
    }

    /// Adds one child by its searchable fields (benchmarks, and the app after an edit).
    pub fn push(
        &mut self,
        child_id: &str,
        name: &str,
        id_number: Option<&str>,
        student_no: Option<&str>,
    ) {
        self.add(Entry {
            child_id: child_id.into(),
            name: name.into(),
            id_number: id_number.map(str::to_string),
            student_no: student_no.map(str::to_string),
            birth_date: None,
            village_code: None,
            household_id: None,
        });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Children matching the typed text, best first: exact name, name prefix, name contains,
    /// exact initials, initials prefix, then ID / 学籍号 contains (digits need 4 characters).
    pub fn query(&self, typed: &str, limit: usize) -> Vec<Hit> {
        let q = idnum::normalize(typed);
        if q.is_empty() || limit == 0 {
            return vec![];
        }
        let numberish =
            q.chars().all(|c| c.is_ascii_alphanumeric()) && q.chars().any(|c| c.is_ascii_digit());
        let lower = q.to_ascii_lowercase();
        let mut seen: HashSet<usize> = HashSet::new();
        let mut out: Vec<(usize, &'static str)> = Vec::new();
        let mut take = |it: &mut dyn Iterator<Item = usize>,
                        how: &'static str,
                        out: &mut Vec<(usize, &'static str)>| {
            for i in it {
                if out.len() >= limit {
                    return;
                }
                if seen.insert(i) {
                    out.push((i, how));
                }
            }
        };
        let exact = |s: &str| format!("\n{s}\n").into_bytes();
        let prefix = |s: &str| format!("\n{s}").into_bytes();
        if !numberish {
            let (e, p) = (exact(&q), prefix(&q));
            take(&mut self.names.find(&e, 1), "name", &mut out);
            take(&mut self.names.find(&p, 1), "name", &mut out);
            take(&mut self.names.find(q.as_bytes(), 0), "name", &mut out);
        }
        if q.chars().all(|c| c.is_ascii_alphabetic()) {
            let (e, p) = (exact(&lower), prefix(&lower));
            take(&mut self.initials.find(&e, 1), "initials", &mut out);
            take(&mut self.initials.find(&p, 1), "initials", &mut out);
        }
        if numberish && q.len() >= 4 {
            take(&mut self.ids.find(q.as_bytes(), 0), "id_number", &mut out);
            take(
                &mut self.student_nos.find(q.as_bytes(), 0),
                "student_no",
                &mut out,
            );
        }
        out.into_iter()
            .map(|(i, how)| {
                let e = &self.entries[i];
                Hit {
                    child_id: e.child_id.clone(),
                    name: e.name.clone(),
                    id_number: e.id_number.as_deref().map(mask_id),
                    student_no: e.student_no.as_deref().map(mask_id),
                    birth_date: e.birth_date.clone(),
                    village_code: e.village_code.clone(),
                    household_id: e.household_id.clone(),
                    matched: how,
                }
            })
            .collect()
    }
}

/// The index of one register, kept current as the register changes: the app keeps one and asks
/// it at every keystroke. A few new children (新增一户) are added in place; an edit of a searched
/// field, a tombstone or many new children (an import, a merge) rebuild it.
/// - At each keystroke, the connection's own change counter (the app's writes) and SQLite's
///   `data_version` (writes by another connection: a background import or merge) tell in a
///   microsecond whether anything at all was written.
/// - Only then is the children key read: the table's greatest rowid (a new child; children are
///   never deleted) and the `search_generation` counter that a trigger bumps when a searched field
///   is edited (migration 15). Two look-ups through the b-trees' ends, not a scan: an attendance
///   mark, a case note or an audit row leaves the key as it was, and the index is kept.
#[derive(Debug, Default)]
pub struct CachedIndex {
    /// (total_changes, data_version) when last checked.
    seen: Option<(u64, i64)>,
    /// The children key the index was built at.
    built_at: Option<(i64, i64)>,
    index: SearchIndex,
    rebuilds: u64,
    added: u64,
}

/// The children key (greatest rowid, edit counter): changes with every new, edited or deleted child.
fn children_key(conn: &Connection) -> Result<(i64, i64)> {
    Ok(conn.query_row(
        "SELECT (SELECT coalesce(max(rowid), 0) FROM children),
                (SELECT n FROM search_generation WHERE singleton = 1)",
        [],
        |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0))),
    )?)
}

impl CachedIndex {
    /// The current index of `conn`'s register, rebuilding it first if its children changed.
    pub fn current(&mut self, conn: &Connection) -> Result<&SearchIndex> {
        let seen = (
            conn.total_changes(),
            conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0))?,
        );
        if self.seen != Some(seen) {
            let key = children_key(conn)?;
            if self.built_at != Some(key) {
                if !self.add_new_children(conn, key)? {
                    self.index = SearchIndex::build(conn)?;
                    self.rebuilds += 1;
                }
                self.built_at = Some(key);
            }
            self.seen = Some(seen);
        }
        Ok(&self.index)
    }

    /// When the only change since the index was built is a few new children (no edit, no
    /// tombstone: the edit counter is as it was), adds them in place instead of rebuilding: the
    /// clerk's first keystroke after 新增一户 costs a few milliseconds, not a read of every child.
    /// `false` when a rebuild is needed.
    fn add_new_children(&mut self, conn: &Connection, key: (i64, i64)) -> Result<bool> {
        let Some((max_rowid, generation)) = self.built_at else {
            return Ok(false);
        };
        if key.1 != generation || key.0 < max_rowid {
            return Ok(false);
        }
        let mut st = conn.prepare_cached(
            "SELECT id, name, id_number, student_no, birth_date, village_code, household_id, deleted
             FROM children WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
        )?;
        let mut rows = st.query(rusqlite::params![max_rowid, Self::MAX_ADDED as i64 + 1])?;
        let (mut added, mut fetched) = (Vec::new(), 0);
        while let Some(r) = rows.next()? {
            fetched += 1;
            if !r.get::<_, bool>(7)? {
                added.push(entry(r)?);
            }
        }
        if fetched > Self::MAX_ADDED {
            return Ok(false);
        }
        for e in added {
            self.index.insert_sorted(e);
        }
        self.added += 1;
        Ok(true)
    }

    /// Above this many new children the index is rebuilt instead (an import, a merge).
    const MAX_ADDED: usize = 200;

    /// How many times new children were added in place (tests).
    pub fn additions(&self) -> u64 {
        self.added
    }

    /// How many times the index was built (tests: a write elsewhere must not rebuild it).
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SearchIndex {
        let mut ix = SearchIndex::default();
        ix.push(
            "1",
            "张三",
            Some("410499201503080011"),
            Some("G410499201503080011"),
        );
        ix.push("2", "张三丰", None, None);
        ix.push("3", "李四", Some("410499201604050022"), None);
        ix.push("4", "阿依古丽·买买提", None, Some("L410499201501011234"));
        ix.push("5", "赵珊", None, None);
        ix.push("6", "小张三", None, None);
        ix
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("张三"), "zs");
        assert_eq!(initials("阿依古丽·买买提"), "ayglmmt");
    }

    #[test]
    fn finds_by_name_initials_id_and_student_no_best_first() {
        let ix = index();
        let ids = |q: &str| {
            ix.query(q, 10)
                .into_iter()
                .map(|h| h.child_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("张三"), ["1", "2", "6"]);
        assert_eq!(ids("zs"), ["1", "5", "2"]);
        assert_eq!(ids("ZSF"), ["2"]);
        assert_eq!(ids("0405"), ["3"]);
        assert_eq!(ids("１２３４"), ["4"]);
        assert!(
            ids("04").is_empty(),
            "two digits are too few to search numbers"
        );
        assert_eq!(ix.query("张", 2).len(), 2);
        let hit = &ix.query("李四", 1)[0];
        assert_eq!(hit.id_number.as_deref(), Some("410499********0022"));
        assert_eq!(hit.matched, "name");
    }

    #[test]
    fn cached_index_follows_the_register() {
        let conn = crate::store::open_in_memory().unwrap();
        let add = |id: &str, name: &str| {
            conn.execute(
                "INSERT INTO children (id, origin_site, version, updated_at, name)
                 VALUES (?1, 's', 'v', 't', ?2)",
                [id, name],
            )
            .unwrap();
        };
        add("1", "张三");
        let mut cache = CachedIndex::default();
        assert_eq!(cache.current(&conn).unwrap().query("ls", 5).len(), 0);
        assert_eq!(cache.rebuilds(), 1);
        // A new child: added in place, not rebuilt.
        add("2", "李四");
        let ix = cache.current(&conn).unwrap();
        assert_eq!(ix.query("ls", 5)[0].child_id, "2");
        assert_eq!(ix.len(), 2);
        assert_eq!((cache.rebuilds(), cache.additions()), (1, 1));
        // A write to another table, and an edit of a field the search does not read: kept.
        conn.execute("INSERT INTO settings VALUES ('entry_age', '6')", [])
            .unwrap();
        conn.execute("UPDATE children SET note = '转学' WHERE id = '1'", [])
            .unwrap();
        cache.current(&conn).unwrap();
        assert_eq!((cache.rebuilds(), cache.additions()), (1, 1));
        // A renamed child, and a tombstone: rebuilt each time.
        conn.execute("UPDATE children SET name = '王五' WHERE id = '1'", [])
            .unwrap();
        assert_eq!(
            cache.current(&conn).unwrap().query("ww", 5)[0].child_id,
            "1"
        );
        conn.execute("UPDATE children SET deleted = 1 WHERE id = '2'", [])
            .unwrap();
        assert_eq!(cache.current(&conn).unwrap().query("ls", 5).len(), 0);
        assert_eq!(cache.rebuilds(), 3);
    }

    #[test]
    fn children_added_in_place_rank_as_after_a_rebuild() {
        let conn = crate::store::open_in_memory().unwrap();
        let add = |id: String, name: &str, idn: Option<String>, deleted: bool| {
            conn.execute(
                "INSERT INTO children (id, origin_site, version, updated_at, name, id_number, deleted)
                 VALUES (?1, 's', 'v', 't', ?2, ?3, ?4)",
                rusqlite::params![id, name, idn, deleted],
            )
            .unwrap();
        };
        let names = [
            "张三",
            "张三丰",
            "李四",
            "王五",
            "张珊",
            "赵四",
            "阿依古丽·买买提",
        ];
        for (i, n) in names.iter().enumerate() {
            add(
                format!("a{i}"),
                n,
                Some(format!("41049920150308{i:04}")),
                false,
            );
        }
        let mut cache = CachedIndex::default();
        cache.current(&conn).unwrap();
        // New children before, between and after the others in name order, one with the same
        // name as an indexed child (ordered by id), one tombstoned on arrival (a merged delete).
        let new = [
            ("b1", "张三"),
            ("a0x", "张三"),
            ("b2", "阿"),
            ("b3", "赵四"),
            ("b4", "王"),
        ];
        for (i, (id, n)) in new.iter().enumerate() {
            add(
                id.to_string(),
                n,
                Some(format!("41049920160101{i:04}")),
                false,
            );
        }
        add("b5".into(), "张三", None, true);
        let queries = [
            "张三", "zs", "张", "王", "ls", "0308", "0101", "阿", "zs", "四",
        ];
        let rebuilt = SearchIndex::build(&conn).unwrap();
        let ix = cache.current(&conn).unwrap();
        assert_eq!(ix.len(), rebuilt.len());
        for q in queries {
            assert_eq!(ix.query(q, 20), rebuilt.query(q, 20), "{q}");
        }
        assert_eq!((cache.rebuilds(), cache.additions()), (1, 1));
        // An import's worth of new children: rebuilt.
        for i in 0..=CachedIndex::MAX_ADDED {
            add(format!("c{i:04}"), "钱七", None, false);
        }
        assert_eq!(cache.current(&conn).unwrap().query("钱七", 500).len(), 201);
        assert_eq!(cache.rebuilds(), 2);
    }

    #[test]
    fn a_write_by_another_connection_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.db");
        let app = crate::store::open(&db).unwrap();
        let job = crate::store::open(&db).unwrap();
        let mut cache = CachedIndex::default();
        assert_eq!(cache.current(&app).unwrap().len(), 0);
        job.execute(
            "INSERT INTO children (id, origin_site, version, updated_at, name)
             VALUES ('1', 's', 'v', 't', '张三')",
            [],
        )
        .unwrap();
        assert_eq!(cache.current(&app).unwrap().query("zs", 5).len(), 1);
        job.execute("UPDATE children SET name = '李四' WHERE id = '1'", [])
            .unwrap();
        assert_eq!(cache.current(&app).unwrap().query("ls", 5).len(), 1);
        assert_eq!((cache.rebuilds(), cache.additions()), (2, 1));
    }
}

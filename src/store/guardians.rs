//! SQL of the `guardians` table.

use super::many::{opt, push_meta, text, MetaTexts, NewRow};
use super::record::{meta_from_row, META_COLUMNS};
use crate::domain::Guardian;
use crate::error::Result;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Row};

fn from_row(r: &Row<'_>) -> rusqlite::Result<Guardian> {
    Ok(Guardian {
        meta: meta_from_row(r)?,
        child_id: r.get(7)?,
        name: r.get(8)?,
        relation: r.get(9)?,
        phone: r.get(10)?,
    })
}

const INSERT_SQL: &str =
    "INSERT INTO guardians (id, origin_site, version, prev_version, edits, updated_at, deleted,
            child_id, name, relation, phone)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// Inserts or replaces the row with this id.
pub fn put(conn: &Connection, g: &Guardian) -> Result<()> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("{INSERT_SQL}
         ON CONFLICT(id) DO UPDATE SET origin_site = excluded.origin_site, version = excluded.version,
            prev_version = excluded.prev_version, edits = excluded.edits, updated_at = excluded.updated_at,
            deleted = excluded.deleted, child_id = excluded.child_id, name = excluded.name,
            relation = excluded.relation, phone = excluded.phone")
    });
    write(conn, &SQL, g)
}

/// Inserts a new row (its id not yet stored). A plain INSERT: unlike `put`'s upsert, whose
/// update of the foreign-key column makes SQLite keep a statement journal (a copy of every
/// page the statement touches) inside the caller's transaction, about a third of a bulk
/// import's writing work.
pub fn insert(conn: &Connection, g: &Guardian) -> Result<()> {
    write(conn, INSERT_SQL, g)
}

impl NewRow for Guardian {
    type Texts = MetaTexts;
    const HEAD: &'static str =
        "INSERT INTO guardians (id, origin_site, version, prev_version, edits, updated_at, deleted,
            child_id, name, relation, phone) VALUES";
    const COLUMNS: usize = 11;
    fn texts(&self) -> MetaTexts {
        MetaTexts::of(&self.meta)
    }
    fn push_values<'a>(&'a self, t: &'a MetaTexts, out: &mut Vec<ValueRef<'a>>) {
        push_meta(&self.meta, t, out);
        out.extend([
            text(&self.child_id),
            text(&self.name),
            opt(&self.relation),
            opt(&self.phone),
        ]);
    }
}

/// Inserts new guardians, many to a statement (a bulk import's new pupils).
pub fn insert_many(conn: &Connection, guardians: &[Guardian]) -> Result<()> {
    super::many::insert_rows(conn, guardians)
}

fn write(conn: &Connection, sql: &str, g: &Guardian) -> Result<()> {
    let m = &g.meta;
    conn.prepare_cached(sql)?.execute(params![
        m.id,
        m.origin_site,
        m.version.to_string(),
        m.prev_version.as_ref().map(|s| s.to_string()),
        m.edits,
        m.updated_at,
        m.deleted,
        g.child_id,
        g.name,
        g.relation,
        g.phone
    ])?;
    Ok(())
}

/// Live guardians of one child.
pub fn list_by_child(conn: &Connection, child_id: &str) -> Result<Vec<Guardian>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {META_COLUMNS}, child_id, name, relation, phone FROM guardians
             WHERE child_id = ?1 AND deleted = 0 ORDER BY id"
        )
    });
    let mut st = conn.prepare_cached(&SQL)?;
    let rows = st.query_map([child_id], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A guardian as [`for_each_in_child_range`] gives it, borrowed from the row.
#[derive(Debug, Clone, Copy)]
pub struct GuardianRef<'a> {
    pub name: &'a str,
    pub relation: Option<&'a str>,
    pub phone: Option<&'a str>,
}

/// Calls `f` with the live guardians of every child whose id is between `first` and `last`
/// (both included), by child id and then by id (each child's in the order `list_by_child`
/// gives them). A guardian holding a text that is not UTF-8 is given as `None`, for the
/// caller to distrust that child's list.
pub fn for_each_in_child_range(
    conn: &Connection,
    first: &str,
    last: &str,
    mut f: impl FnMut(&str, Option<GuardianRef<'_>>),
) -> Result<()> {
    let mut st = conn.prepare_cached(
        "SELECT child_id, name, relation, phone FROM guardians
         WHERE child_id >= ?1 AND child_id <= ?2 AND deleted = 0 ORDER BY child_id, id",
    )?;
    let mut rows = st.query([first, last])?;
    while let Some(r) = rows.next()? {
        use rusqlite::types::ValueRef as V;
        let opt = |i: usize| -> Option<Option<&str>> {
            match r.get_ref(i).ok()? {
                V::Null => Some(None),
                V::Text(t) => std::str::from_utf8(t).ok().map(Some),
                _ => None,
            }
        };
        let child = match r.get_ref(0)? {
            V::Text(t) => String::from_utf8_lossy(t),
            _ => continue,
        };
        let g = (|| {
            Some(GuardianRef {
                name: opt(1)??,
                relation: opt(2)?,
                phone: opt(3)?,
            })
        })();
        f(&child, g);
    }
    Ok(())
}

//! SQL of the `list_rows` table: the children of one version of a department's list, as read
//! from its rows (only people 0-17 on the as-of date are kept). County-local, never travels.

use crate::error::Result;
use crate::store::record::{codes_from_text, codes_to_text};
use rusqlite::{params, Connection, Row};
use serde::Serialize;

/// One child on one version of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListRow {
    /// The Excel row it was read from.
    pub row: u32,
    /// The normalised ID number (from the member's ID column, a G-form 学籍号 or a 残疾证号).
    pub id_key: Option<String>,
    pub name: String,
    /// `YYYY-MM-DD` (from the ID number when there is one).
    pub birth_date: String,
    pub sex: Option<String>,
    pub head_name: Option<String>,
    pub relation: Option<String>,
    pub township: Option<String>,
    pub township_code: Option<String>,
    pub village: Option<String>,
    /// 12-digit village code, when the name or the 区划代码 column matched the division list.
    pub village_code: Option<String>,
    pub address: Option<String>,
    /// As written: 残疾类别 / 户类型 / 救助类别 / 资助项目.
    pub category: Option<String>,
    pub disability_grade: Option<String>,
    /// Codes from the `priority_groups` list this row puts the child in.
    pub groups: Vec<String>,
    /// Aid lists: the term of the aid.
    pub term: Option<String>,
    /// Aid lists: the school named.
    pub school: Option<String>,
}

const COLUMNS: &str =
    "row, id_key, name, birth_date, sex, head_name, relation, township, township_code,
    village, village_code, address, category, disability_grade, groups, term, school";

fn from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<ListRow> {
    Ok(ListRow {
        row: r.get(at)?,
        id_key: r.get(at + 1)?,
        name: r.get(at + 2)?,
        birth_date: r.get(at + 3)?,
        sex: r.get(at + 4)?,
        head_name: r.get(at + 5)?,
        relation: r.get(at + 6)?,
        township: r.get(at + 7)?,
        township_code: r.get(at + 8)?,
        village: r.get(at + 9)?,
        village_code: r.get(at + 10)?,
        address: r.get(at + 11)?,
        category: r.get(at + 12)?,
        disability_grade: r.get(at + 13)?,
        groups: codes_from_text(&r.get::<_, String>(at + 14)?),
        term: r.get(at + 15)?,
        school: r.get(at + 16)?,
    })
}

pub fn insert(conn: &Connection, version_id: i64, l: &ListRow) -> Result<()> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO list_rows (version_id, {COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        )
    });
    conn.prepare_cached(&SQL)?.execute(params![
        version_id,
        l.row,
        l.id_key,
        l.name,
        l.birth_date,
        l.sex,
        l.head_name,
        l.relation,
        l.township,
        l.township_code,
        l.village,
        l.village_code,
        l.address,
        l.category,
        l.disability_grade,
        codes_to_text(&l.groups),
        l.term,
        l.school
    ])?;
    Ok(())
}

/// Removes every row of a version (before its rows are replaced by a corrected file).
pub fn delete_by_version(conn: &Connection, version_id: i64) -> Result<()> {
    conn.execute("DELETE FROM list_rows WHERE version_id = ?1", [version_id])?;
    Ok(())
}

/// The rows of one version, in sheet order.
pub fn list_by_version(conn: &Connection, version_id: i64) -> Result<Vec<ListRow>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM list_rows WHERE version_id = ?1 ORDER BY row"
    ))?;
    let rows = st.query_map([version_id], |r| from_row(r, 0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A row of a current version, with the version's kind, source and date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourcedRow {
    pub kind: String,
    pub source: String,
    pub as_of: String,
    #[serde(flatten)]
    pub row: ListRow,
}

const CURRENT: &str = "v.as_of = (SELECT MAX(w.as_of) FROM list_versions w
    WHERE w.kind = v.kind AND w.source = v.source)";

fn sourced(r: &Row<'_>) -> rusqlite::Result<SourcedRow> {
    Ok(SourcedRow {
        kind: r.get(0)?,
        source: r.get(1)?,
        as_of: r.get(2)?,
        row: from_row(r, 3)?,
    })
}

fn prefixed_columns() -> String {
    COLUMNS
        .split(',')
        .map(|c| format!("r.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every row of the current version of every source (of the given KINDs; all when empty).
pub fn list_current(conn: &Connection, kinds: &[&str]) -> Result<Vec<SourcedRow>> {
    let mut out = Vec::new();
    for v in super::list_versions::list_current(conn, None)? {
        if !kinds.is_empty() && !kinds.contains(&v.kind.as_str()) {
            continue;
        }
        for row in list_by_version(conn, v.id)? {
            out.push(SourcedRow {
                kind: v.kind.clone(),
                source: v.source.clone(),
                as_of: v.as_of.clone(),
                row,
            });
        }
    }
    Ok(out)
}

/// The rows of current versions naming one ID (any KIND, any age kept on the list).
pub fn list_current_by_key(conn: &Connection, id_key: &str) -> Result<Vec<SourcedRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT v.kind, v.source, v.as_of, {} FROM list_rows r JOIN list_versions v ON v.id = r.version_id
         WHERE r.id_key = ?1 AND {CURRENT} ORDER BY v.kind, v.source, r.row",
        prefixed_columns()
    ))?;
    let rows = st.query_map([id_key], sourced)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The `(rowid, id_key)` of one version's rows whose child was born in
/// `(born_after, born_on_or_before]`, read from the covering index `list_rows_window` (the
/// cross-check keeps the keys not studying and fetches only their rows, [`list_by_rowids`]).
pub fn list_window_keys(
    conn: &Connection,
    version_id: i64,
    born_on_or_before: &str,
    born_after: &str,
) -> Result<Vec<(i64, Option<String>)>> {
    let mut st = conn.prepare_cached(
        "SELECT rowid, id_key FROM list_rows INDEXED BY list_rows_window
         WHERE version_id = ?1 AND birth_date <= ?2 AND birth_date > ?3",
    )?;
    let rows = st.query_map(params![version_id, born_on_or_before, born_after], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Calls `f(rowid, id_key)` for one version's rows whose child was born in
/// `(born_after, born_on_or_before]` (the covering index `list_rows_window`; keys borrowed, not
/// copied).
pub fn for_each_window_key(
    conn: &Connection,
    version_id: i64,
    born_on_or_before: &str,
    born_after: &str,
    mut f: impl FnMut(i64, Option<&str>),
) -> Result<()> {
    let mut st = conn.prepare_cached(
        "SELECT rowid, id_key FROM list_rows INDEXED BY list_rows_window
         WHERE version_id = ?1 AND birth_date <= ?2 AND birth_date > ?3",
    )?;
    let mut rows = st.query(params![version_id, born_on_or_before, born_after])?;
    while let Some(r) = rows.next()? {
        let key = r.get_ref(1)?.as_str_or_null().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
        })?;
        f(r.get(0)?, key);
    }
    Ok(())
}

/// What the cross-check needs of a list row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub id_key: Option<String>,
    pub name: String,
    pub birth_date: String,
    pub village_code: Option<String>,
    pub groups: Vec<String>,
}

/// The cross-check's columns of the rows with these rowids (in rowid order; chunked look-ups).
pub fn list_people_by_rowids(conn: &Connection, rowids: &[i64]) -> Result<Vec<PersonRow>> {
    let mut out = Vec::with_capacity(rowids.len());
    super::crosscheck::for_rowids(
        conn,
        "SELECT id_key, name, birth_date, village_code, groups FROM list_rows
         WHERE rowid IN ({rowids})",
        rowids,
        |r| {
            let groups = r.get_ref(4)?.as_str().unwrap_or("[]");
            out.push(PersonRow {
                id_key: r.get(0)?,
                name: r.get(1)?,
                birth_date: r.get(2)?,
                village_code: r.get(3)?,
                groups: if groups == "[]" {
                    Vec::new()
                } else {
                    codes_from_text(groups)
                },
            });
            Ok(())
        },
    )?;
    Ok(out)
}

/// The rows with these rowids (in the order given).
pub fn list_by_rowids(conn: &Connection, rowids: &[i64]) -> Result<Vec<ListRow>> {
    let mut st =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM list_rows WHERE rowid = ?1"))?;
    let mut out = Vec::with_capacity(rowids.len());
    for id in rowids {
        let mut rows = st.query_map([id], |r| from_row(r, 0))?;
        if let Some(r) = rows.next() {
            out.push(r?);
        }
    }
    Ok(out)
}

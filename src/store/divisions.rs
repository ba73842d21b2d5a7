//! SQL of the `divisions` table: the county's division list (统计用区划代码 → name).

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// One division: county (6 digits), township (9) or village (12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Division {
    pub code: String,
    pub name: String,
    /// `county`, `township` or `village`.
    pub level: String,
}

pub fn put(conn: &Connection, d: &Division) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO divisions (code, name, level) VALUES (?1, ?2, ?3)
         ON CONFLICT(code) DO UPDATE SET name = excluded.name, level = excluded.level",
    )?
    .execute(params![d.code, d.name, d.level])?;
    Ok(())
}

pub fn get(conn: &Connection, code: &str) -> Result<Option<Division>> {
    Ok(conn
        .prepare_cached("SELECT code, name, level FROM divisions WHERE code = ?1")?
        .query_row([code], |r| {
            Ok(Division {
                code: r.get(0)?,
                name: r.get(1)?,
                level: r.get(2)?,
            })
        })
        .optional()?)
}

/// Every division, by code.
pub fn list(conn: &Connection) -> Result<Vec<Division>> {
    let mut st = conn.prepare("SELECT code, name, level FROM divisions ORDER BY code")?;
    let rows = st.query_map([], |r| {
        Ok(Division {
            code: r.get(0)?,
            name: r.get(1)?,
            level: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Divisions with this exact name (a village name can repeat across townships).
pub fn find_by_name(conn: &Connection, name: &str) -> Result<Vec<Division>> {
    let mut st = conn
        .prepare_cached("SELECT code, name, level FROM divisions WHERE name = ?1 ORDER BY code")?;
    let rows = st.query_map([name], |r| {
        Ok(Division {
            code: r.get(0)?,
            name: r.get(1)?,
            level: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

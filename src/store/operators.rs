//! SQL of the `operators` table: who may work on this register (name, optional PIN hash).
//! Local to the register; never travels in bundles.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// One operator as stored (the PIN hash never leaves the core: `has_pin` only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub name: String,
    pub has_pin: bool,
    pub created_at: String,
    pub disabled_at: Option<String>,
}

pub fn list(conn: &Connection) -> Result<Vec<Operator>> {
    let mut st = conn.prepare(
        "SELECT name, pin_hash IS NOT NULL, created_at, disabled_at FROM operators ORDER BY name",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Operator {
            name: r.get(0)?,
            has_pin: r.get(1)?,
            created_at: r.get(2)?,
            disabled_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// How many operators are active (not disabled).
pub fn count_active(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM operators WHERE disabled_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// The PIN hash of an active operator: `None` = no such active operator, `Some(None)` = no PIN.
pub fn get_pin_hash(conn: &Connection, name: &str) -> Result<Option<Option<String>>> {
    Ok(conn
        .query_row(
            "SELECT pin_hash FROM operators WHERE name = ?1 AND disabled_at IS NULL",
            [name],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM operators WHERE name = ?1",
            [name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Inserts or re-enables an operator with a new PIN hash.
pub fn put(conn: &Connection, name: &str, pin_hash: Option<&str>, at: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO operators (name, pin_hash, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET pin_hash = excluded.pin_hash, disabled_at = NULL",
        params![name, pin_hash, at],
    )?;
    Ok(())
}

/// Marks an operator disabled (kept for the audit trail). Returns false if there was none.
pub fn disable(conn: &Connection, name: &str, at: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE operators SET disabled_at = ?2 WHERE name = ?1 AND disabled_at IS NULL",
        params![name, at],
    )? > 0)
}

//! SQL of the `trusted_sites` table: the sites whose bundles this register accepts, their public
//! keys and the card they were trusted from; `frozen` holds the reason when a fork froze a site.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension, Row as SqlRow};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub site_id: String,
    pub kind: String,
    pub name: String,
    pub region_code: String,
    pub school_code: Option<String>,
    pub sign_public: String,
    pub age_recipient: String,
    pub fingerprint: String,
    pub card: String,
    pub trusted_at: String,
    pub trusted_by: String,
    pub frozen: Option<String>,
}

const COLS: &str =
    "site_id, kind, name, region_code, school_code, sign_public, age_recipient, fingerprint,
    card, trusted_at, trusted_by, frozen";

fn from_row(r: &SqlRow<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        site_id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        region_code: r.get(3)?,
        school_code: r.get(4)?,
        sign_public: r.get(5)?,
        age_recipient: r.get(6)?,
        fingerprint: r.get(7)?,
        card: r.get(8)?,
        trusted_at: r.get(9)?,
        trusted_by: r.get(10)?,
        frozen: r.get(11)?,
    })
}

pub fn get(conn: &Connection, site_id: &str) -> Result<Option<Row>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM trusted_sites WHERE site_id = ?1"),
            [site_id],
            from_row,
        )
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<Row>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLS} FROM trusted_sites ORDER BY kind, region_code, name, site_id"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Inserts or replaces a trusted site (a re-trust with a new card replaces the keys).
pub fn put(conn: &Connection, t: &Row) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO trusted_sites ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ),
        params![
            t.site_id,
            t.kind,
            t.name,
            t.region_code,
            t.school_code,
            t.sign_public,
            t.age_recipient,
            t.fingerprint,
            t.card,
            t.trusted_at,
            t.trusted_by,
            t.frozen
        ],
    )?;
    Ok(())
}

pub fn put_frozen(conn: &Connection, site_id: &str, frozen: Option<&str>) -> Result<()> {
    conn.execute(
        "UPDATE trusted_sites SET frozen = ?2 WHERE site_id = ?1",
        params![site_id, frozen],
    )?;
    Ok(())
}

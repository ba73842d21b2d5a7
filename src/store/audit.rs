//! SQL of the `audit_log` table. Rows are chained by hash: each row's hash covers its content and
//! the previous row's hash, so an edited or deleted row breaks the chain (`verify`).
//! Audit rows name the fields changed, never their values (ID and phone numbers stay out).

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One audit row to write.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub at: &'a str,
    pub operator: &'a str,
    pub site_id: &'a str,
    pub table: &'a str,
    pub record_id: &'a str,
    /// `insert`, `update`, `delete`, `reveal`, `export_full` …
    pub action: &'a str,
    pub fields: &'a [&'a str],
}

/// One audit row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub seq: i64,
    pub at: String,
    pub operator: String,
    pub site_id: String,
    pub table_name: String,
    pub record_id: String,
    pub action: String,
    pub fields: String,
}

fn chain_hash(parts: [&str; 8]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

fn last_hash(conn: &Connection) -> Result<String> {
    Ok(conn
        .query_row(
            "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default())
}

/// Appends one row; `prev` is the previous hash if the caller tracks it (else it is read).
pub fn append(conn: &Connection, e: &Entry<'_>, prev: Option<&str>) -> Result<String> {
    let prev = match prev {
        Some(p) => p.to_string(),
        None => last_hash(conn)?,
    };
    let fields = serde_json::to_string(e.fields)?;
    let hash = chain_hash([
        &prev,
        e.at,
        e.operator,
        e.site_id,
        e.table,
        e.record_id,
        e.action,
        &fields,
    ]);
    conn.prepare_cached(
        "INSERT INTO audit_log (at, operator, site_id, table_name, record_id, action, fields, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![e.at, e.operator, e.site_id, e.table, e.record_id, e.action, fields, prev, hash])?;
    Ok(hash)
}

/// The current chain head, for callers that append many rows.
pub fn head(conn: &Connection) -> Result<String> {
    last_hash(conn)
}

/// Rows for one record, oldest first.
pub fn list_for_record(conn: &Connection, record_id: &str) -> Result<Vec<Row>> {
    let mut st = conn.prepare(
        "SELECT seq, at, operator, site_id, table_name, record_id, action, fields FROM audit_log
         WHERE record_id = ?1 ORDER BY seq",
    )?;
    let rows = st.query_map([record_id], |r| {
        Ok(Row {
            seq: r.get(0)?,
            at: r.get(1)?,
            operator: r.get(2)?,
            site_id: r.get(3)?,
            table_name: r.get(4)?,
            record_id: r.get(5)?,
            action: r.get(6)?,
            fields: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The newest `limit` rows (of one `action` when given), oldest of them first.
pub fn list_recent(conn: &Connection, action: Option<&str>, limit: i64) -> Result<Vec<Row>> {
    let mut st = conn.prepare(
        "SELECT seq, at, operator, site_id, table_name, record_id, action, fields FROM (
           SELECT * FROM audit_log WHERE ?1 IS NULL OR action = ?1 ORDER BY seq DESC LIMIT ?2
         ) ORDER BY seq",
    )?;
    let rows = st.query_map(params![action, limit], |r| {
        Ok(Row {
            seq: r.get(0)?,
            at: r.get(1)?,
            operator: r.get(2)?,
            site_id: r.get(3)?,
            table_name: r.get(4)?,
            record_id: r.get(5)?,
            action: r.get(6)?,
            fields: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// One row by its sequence number.
pub fn get(conn: &Connection, seq: i64) -> Result<Option<Row>> {
    Ok(conn
        .query_row(
            "SELECT seq, at, operator, site_id, table_name, record_id, action, fields FROM audit_log
             WHERE seq = ?1",
            [seq],
            |r| {
                Ok(Row {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    operator: r.get(2)?,
                    site_id: r.get(3)?,
                    table_name: r.get(4)?,
                    record_id: r.get(5)?,
                    action: r.get(6)?,
                    fields: r.get(7)?,
                })
            },
        )
        .optional()?)
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))?)
}

/// Audit rows of one table and action, oldest first: `(seq, record_id, fields as JSON)`.
pub fn list_by_action(
    conn: &Connection,
    table: &str,
    action: &str,
) -> Result<Vec<(i64, String, String)>> {
    let mut st = conn.prepare(
        "SELECT seq, record_id, fields FROM audit_log WHERE table_name = ?1 AND action = ?2
         ORDER BY seq",
    )?;
    let rows = st.query_map([table, action], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Walks the chain; returns the sequence number of the first broken row, if any.
pub fn verify(conn: &Connection) -> Result<Option<i64>> {
    let mut st = conn.prepare(
        "SELECT seq, at, operator, site_id, table_name, record_id, action, fields, prev_hash, hash
         FROM audit_log ORDER BY seq",
    )?;
    let mut rows = st.query([])?;
    let mut prev = String::new();
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let vals: Vec<String> = (1..10)
            .map(|i| r.get::<_, String>(i))
            .collect::<Result<_, _>>()?;
        let expect = chain_hash([
            &prev, &vals[0], &vals[1], &vals[2], &vals[3], &vals[4], &vals[5], &vals[6],
        ]);
        if vals[7] != prev || vals[8] != expect {
            return Ok(Some(seq));
        }
        prev = vals[8].clone();
    }
    Ok(None)
}

//! SQL of the `bundles_sent` table: the chain of bundles this site exported, per recipient.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub bundle_id: String,
    pub to_site: String,
    pub epoch: String,
    pub seq: i64,
    pub hash: String,
    pub kind: String,
    pub created_at: String,
    pub own_to: Option<String>,
    pub records: i64,
}

/// The last bundle sent to a recipient in an epoch.
pub fn get_last(conn: &Connection, to_site: &str, epoch: &str) -> Result<Option<Row>> {
    Ok(conn
        .query_row(
            "SELECT bundle_id, to_site, epoch, seq, hash, kind, created_at, own_to, records FROM bundles_sent
             WHERE to_site = ?1 AND epoch = ?2 ORDER BY seq DESC LIMIT 1",
            params![to_site, epoch],
            |r| {
                Ok(Row {
                    bundle_id: r.get(0)?,
                    to_site: r.get(1)?,
                    epoch: r.get(2)?,
                    seq: r.get(3)?,
                    hash: r.get(4)?,
                    kind: r.get(5)?,
                    created_at: r.get(6)?,
                    own_to: r.get(7)?,
                    records: r.get(8)?,
                })
            },
        )
        .optional()?)
}

pub fn insert(conn: &Connection, b: &Row) -> Result<()> {
    conn.execute(
        "INSERT INTO bundles_sent (bundle_id, to_site, epoch, seq, hash, kind, created_at, own_to, records)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![b.bundle_id, b.to_site, b.epoch, b.seq, b.hash, b.kind, b.created_at, b.own_to, b.records],
    )?;
    Ok(())
}

/// Whether this site sent a bundle with this id to this recipient.
pub fn exists(conn: &Connection, bundle_id: &str, to_site: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM bundles_sent WHERE bundle_id = ?1 AND to_site = ?2)",
        params![bundle_id, to_site],
        |r| r.get(0),
    )?)
}

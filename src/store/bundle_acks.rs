//! SQL of the `bundle_acks` table: per peer, the highest stamp of this site's own edits the peer
//! has acknowledged having applied. Incremental exports to that peer start after it.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

pub fn get(conn: &Connection, peer: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT own_to FROM bundle_acks WHERE peer_site = ?1",
            [peer],
            |r| r.get(0),
        )
        .optional()?)
}

/// Raises the acknowledged stamp (never lowers it).
pub fn put_max(conn: &Connection, peer: &str, own_to: &str, bundle_id: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO bundle_acks (peer_site, own_to, bundle_id) VALUES (?1, ?2, ?3)
         ON CONFLICT(peer_site) DO UPDATE SET own_to = excluded.own_to, bundle_id = excluded.bundle_id
         WHERE excluded.own_to > bundle_acks.own_to",
        params![peer, own_to, bundle_id],
    )?;
    Ok(())
}

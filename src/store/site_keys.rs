//! SQL of the `site_keys` table: this site's own secret and public keys and its bundle epoch.
//! The secrets are stored as text inside the register (which the security layer may encrypt);
//! they are read only by `bundle::keys`.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

/// The stored row. Secret fields are plain strings here; `bundle::keys` wraps them at once.
pub struct Row {
    pub sign_secret: String,
    pub age_identity: String,
    pub sign_public: String,
    pub age_recipient: String,
    pub epoch: String,
    pub restored: Option<String>,
    pub created_at: String,
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("site_keys::Row")
            .field("sign_public", &self.sign_public)
            .field("age_recipient", &self.age_recipient)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

pub fn get(conn: &Connection) -> Result<Option<Row>> {
    Ok(conn
        .query_row(
            "SELECT sign_secret, age_identity, sign_public, age_recipient, epoch, restored, created_at
             FROM site_keys WHERE singleton = 1",
            [],
            |r| {
                Ok(Row {
                    sign_secret: r.get(0)?,
                    age_identity: r.get(1)?,
                    sign_public: r.get(2)?,
                    age_recipient: r.get(3)?,
                    epoch: r.get(4)?,
                    restored: r.get(5)?,
                    created_at: r.get(6)?,
                })
            },
        )
        .optional()?)
}

pub fn insert(conn: &Connection, row: &Row) -> Result<()> {
    conn.execute(
        "INSERT INTO site_keys (singleton, sign_secret, age_identity, sign_public, age_recipient, epoch,
            restored, created_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            row.sign_secret,
            row.age_identity,
            row.sign_public,
            row.age_recipient,
            row.epoch,
            row.restored,
            row.created_at
        ],
    )?;
    Ok(())
}

/// Starts a new epoch (after a restore) and records the announcement the next bundle carries.
pub fn put_epoch(conn: &Connection, epoch: &str, restored: Option<&str>) -> Result<()> {
    conn.execute(
        "UPDATE site_keys SET epoch = ?1, restored = ?2 WHERE singleton = 1",
        params![epoch, restored],
    )?;
    Ok(())
}

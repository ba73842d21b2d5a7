//! SQL of the `restores` table: each time this register was restored from a backup. Local to the
//! register; the bundle code reads the latest row to announce the restore in its next bundle.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// One restore of this register from a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restore {
    pub id: i64,
    /// When the restore was made (RFC 3339).
    pub restored_at: String,
    /// When the backup it came from was taken (RFC 3339).
    pub backup_created_at: String,
    pub operator: String,
    /// The backup file's name (no directory).
    pub source_file: String,
    /// When a bundle first announced this restore; `None` until then.
    pub announced_at: Option<String>,
}

pub fn insert(
    conn: &Connection,
    restored_at: &str,
    backup_created_at: &str,
    operator: &str,
    source_file: &str,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO restores (restored_at, backup_created_at, operator, source_file)
         VALUES (?1, ?2, ?3, ?4)",
        params![restored_at, backup_created_at, operator, source_file],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The most recent restore, if the register was ever restored.
pub fn get_latest(conn: &Connection) -> Result<Option<Restore>> {
    Ok(conn
        .query_row(
            "SELECT id, restored_at, backup_created_at, operator, source_file, announced_at
             FROM restores ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok(Restore {
                    id: r.get(0)?,
                    restored_at: r.get(1)?,
                    backup_created_at: r.get(2)?,
                    operator: r.get(3)?,
                    source_file: r.get(4)?,
                    announced_at: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Records that a bundle announced restore `id`.
pub fn put_announced(conn: &Connection, id: i64, at: &str) -> Result<()> {
    conn.execute(
        "UPDATE restores SET announced_at = ?2 WHERE id = ?1 AND announced_at IS NULL",
        params![id, at],
    )?;
    Ok(())
}

//! Reading and writing the meta columns shared by every travelling table.

use crate::domain::Meta;
use crate::hlc::Stamp;
use rusqlite::Row;

/// The meta column list, in the order `meta_from_row` reads them.
pub const META_COLUMNS: &str = "id, origin_site, version, prev_version, edits, updated_at, deleted";

fn stamp(s: String, idx: usize) -> rusqlite::Result<Stamp> {
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Reads the meta columns starting at column 0.
pub fn meta_from_row(r: &Row<'_>) -> rusqlite::Result<Meta> {
    let prev: Option<String> = r.get(3)?;
    Ok(Meta {
        id: r.get(0)?,
        origin_site: r.get(1)?,
        version: stamp(r.get(2)?, 2)?,
        prev_version: prev.map(|p| stamp(p, 3)).transpose()?,
        edits: r.get(4)?,
        updated_at: r.get(5)?,
        deleted: r.get(6)?,
    })
}

/// JSON array text of a list of codes.
pub fn codes_to_text(codes: &[String]) -> String {
    serde_json::to_string(codes).unwrap_or_else(|_| "[]".into())
}

/// A list of codes from its JSON array text (a damaged value reads as empty, never a panic).
pub fn codes_from_text(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

//! Import runs against their audit rows: a roll-sheet or household-roster import writes one
//! audit row per run, carrying a SHA-256 of the run's record list (`children_digest` /
//! `records_digest`). [`verify_runs`] recomputes every digest, so an edited, added or deleted
//! entry of a run's record list is found (`baoxue audit verify`), as the hash chain finds an
//! edited audit row.

use crate::error::Result;
use crate::store;
use rusqlite::Connection;

/// A run whose record list no longer matches the digest in its audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenRun {
    /// The audit row's sequence number.
    pub seq: i64,
    /// `roll_import_runs` or `roster_import_runs`.
    pub table: String,
    pub run_id: String,
}

/// The value of a `name value` line in an audit row's field list.
fn field_value(fields_json: &str, name: &str) -> Option<String> {
    let fields: Vec<String> = serde_json::from_str(fields_json).ok()?;
    fields.iter().find_map(|f| {
        f.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(' '))
            .map(str::to_string)
    })
}

/// Recomputes the digest of every import run's record list; the first that differs, if any.
pub fn verify_runs(conn: &Connection) -> Result<Option<BrokenRun>> {
    for (table, digest_name) in [
        ("roll_import_runs", "children_digest"),
        ("roster_import_runs", "records_digest"),
    ] {
        for (seq, record_id, fields) in store::audit::list_by_action(conn, table, "import")? {
            let broken = || BrokenRun {
                seq,
                table: table.to_string(),
                run_id: record_id.clone(),
            };
            let (Some(want), Ok(run)) = (field_value(&fields, digest_name), record_id.parse())
            else {
                return Ok(Some(broken()));
            };
            let have = if table == "roll_import_runs" {
                store::roll_imports::changed_digest(conn, run)?
            } else {
                store::roster_imports::records_digest(conn, run)?
            };
            if have != want {
                return Ok(Some(broken()));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_lines_are_found_by_name() {
        let f = r#"["children insert 2: name","school 4104 term 2026秋","children_digest ab12"]"#;
        assert_eq!(field_value(f, "children_digest").as_deref(), Some("ab12"));
        assert_eq!(field_value(f, "records_digest"), None);
        assert_eq!(field_value("not json", "children_digest"), None);
    }
}

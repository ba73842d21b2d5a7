//! A canonical dump of every travelling record with its version stamp: tables in a fixed order,
//! rows by id, keys sorted. The same register always gives byte-identical output, and two
//! registers that hold the same records give the same output whatever order they learnt them in.

use crate::error::Result;
use crate::store::TRAVELLING_TABLES;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::{Map, Value};

/// The snapshot as a JSON value.
pub fn snapshot(conn: &Connection) -> Result<Value> {
    let mut tables = Map::new();
    for table in TRAVELLING_TABLES {
        tables.insert(table.to_string(), Value::Array(dump_table(conn, table)?));
    }
    let mut root = Map::new();
    root.insert("format_version".into(), Value::from(1));
    root.insert("tables".into(), Value::Object(tables));
    Ok(Value::Object(root))
}

/// The snapshot as canonical text (compact JSON, sorted keys, one trailing newline).
pub fn snapshot_text(conn: &Connection) -> Result<String> {
    let mut s = serde_json::to_string(&snapshot(conn)?)?;
    s.push('\n');
    Ok(s)
}

/// Every row of a table as a JSON object, by id.
pub fn dump_table(conn: &Connection, table: &str) -> Result<Vec<Value>> {
    let mut st = conn.prepare(&format!("SELECT * FROM {table} ORDER BY id"))?;
    let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut obj = Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => Value::from(f),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::String(hex::encode(b)),
            };
            obj.insert(name.clone(), v);
        }
        out.push(Value::Object(obj));
    }
    Ok(out)
}

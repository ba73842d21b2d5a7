//! `baoxue conflicts list|show|resolve`. A record is in conflict while `record_heads` keeps a
//! losing side for it. The list depends only on the versions received, so every register that
//! received the same bundles lists the same conflicts. A resolution is a new edit whose version
//! vector covers every side: it travels in the next bundle and closes the conflict everywhere.

use super::export::{json_to_value, row_vv};
use super::merge::{row_json, value_json};
use super::payload::{self, TableInfo};
use super::vv::Vv;
use super::{codes, err};
use crate::error::Result;
use crate::idnum::{mask_id, mask_phone};
use crate::register::{Actor, Register};
use crate::store::{decisions, record_base, record_heads, rows, TRAVELLING_TABLES};
use rusqlite::types::Value;
use rusqlite::Connection;
use serde::Serialize;

/// One open conflict, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub table: String,
    pub record_id: String,
    /// `edit_edit` or `edit_delete`.
    pub kind: String,
    /// The version the record holds now (the winner of the rule).
    pub winner: String,
    /// Every side's version, winner included, sorted.
    pub sides: Vec<String>,
}

/// One side of a conflict in full (ID and phone numbers masked unless asked).
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub version: String,
    pub winner: bool,
    pub deleted: bool,
    pub edits: i64,
    pub row: serde_json::Value,
}

/// A side with its version vector and raw values.
type SideFull = (Side, Vv, Vec<Value>);

fn info_for(conn: &Connection, table: &str) -> Result<TableInfo> {
    let name = TRAVELLING_TABLES
        .iter()
        .find(|t| **t == table)
        .ok_or_else(|| err(codes::NOT_FOUND, format!("未知的表 {table}")))?;
    TableInfo::load(conn, name)
}

fn sides(conn: &Connection, table: &str, id: &str) -> Result<(TableInfo, Vec<SideFull>)> {
    let info = info_for(conn, table)?;
    let m = info.meta;
    let mut out = Vec::new();
    if let Some(values) = rows::get(conn, table, id)? {
        let version = text(&values[m.version]);
        let prev = match &values[m.prev_version] {
            Value::Text(p) => Some(p.clone()),
            _ => None,
        };
        let me = crate::store::site::get(conn)?
            .map(|s| s.id)
            .unwrap_or_default();
        let vv = row_vv(conn, &me, id, &version, prev.as_deref())?
            .unwrap_or_else(|| Vv::single(&version));
        out.push((side(&info, &values, true), vv, values));
    }
    for h in record_heads::list_for(conn, id)? {
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&h.row)?;
        let values: Vec<Value> = info
            .columns
            .iter()
            .map(|c| json_to_value(obj.get(c).unwrap_or(&serde_json::Value::Null)))
            .collect();
        let vv = Vv::from_text(&h.vv).unwrap_or_else(|| Vv::single(&h.version));
        out.push((side(&info, &values, false), vv, values));
    }
    Ok((info, out))
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        _ => String::new(),
    }
}

fn side(info: &TableInfo, values: &[Value], winner: bool) -> Side {
    let m = info.meta;
    let row: serde_json::Value = serde_json::from_str(&row_json(info, values)).unwrap_or_default();
    Side {
        version: text(&values[m.version]),
        winner,
        deleted: matches!(values[m.deleted], Value::Integer(1)),
        edits: match values[m.edits] {
            Value::Integer(n) => n,
            _ => 0,
        },
        row,
    }
}

/// Every open conflict, by table and record id.
pub fn list(conn: &Connection) -> Result<Vec<Conflict>> {
    let mut out = Vec::new();
    for (table, id) in record_heads::list_ids(conn)? {
        let (_, s) = sides(conn, &table, &id)?;
        let mut versions: Vec<String> = s.iter().map(|x| x.0.version.clone()).collect();
        versions.sort();
        let deleted_any = s.iter().any(|x| x.0.deleted);
        let live_any = s.iter().any(|x| !x.0.deleted);
        out.push(Conflict {
            table,
            record_id: id,
            kind: if deleted_any && live_any {
                "edit_delete"
            } else {
                "edit_edit"
            }
            .into(),
            winner: s
                .iter()
                .find(|x| x.0.winner)
                .map(|x| x.0.version.clone())
                .unwrap_or_default(),
            sides: versions,
        });
    }
    Ok(out)
}

/// Masks ID and phone numbers in a row for display.
pub fn mask_row(row: &mut serde_json::Value) {
    if let Some(obj) = row.as_object_mut() {
        for (k, v) in obj.iter_mut() {
            if let Some(s) = v.as_str() {
                if k.contains("id_number") || k == "id_key" || k == "student_no" {
                    *v = mask_id(s).into();
                } else if k.contains("phone") {
                    *v = mask_phone(s).into();
                }
            }
        }
    }
}

/// Both (all) sides of one conflict, masked unless `reveal`.
pub fn show(conn: &Connection, record_id: &str, reveal: bool) -> Result<(Conflict, Vec<Side>)> {
    let c = list(conn)?
        .into_iter()
        .find(|c| c.record_id == record_id)
        .ok_or_else(|| {
            err(
                codes::NOT_FOUND,
                format!("记录 {record_id} 没有未处理的冲突"),
            )
        })?;
    let (_, s) = sides(conn, &c.table, record_id)?;
    let mut out: Vec<Side> = s.into_iter().map(|x| x.0).collect();
    if !reveal {
        for x in &mut out {
            mask_row(&mut x.row);
        }
    }
    Ok((c, out))
}

/// Resolves a conflict by keeping one side (`keep` = a version or a unique prefix of one). The
/// kept content becomes a new edit made here, superseding every side.
pub fn resolve(
    reg: &mut Register,
    record_id: &str,
    keep: &str,
    reason: &str,
    actor: &Actor,
) -> Result<String> {
    if reason.trim().is_empty() {
        return Err(err(codes::MALFORMED, "请用 --reason 写明为什么保留这一方"));
    }
    let c = list(reg.conn())?
        .into_iter()
        .find(|c| c.record_id == record_id)
        .ok_or_else(|| {
            err(
                codes::NOT_FOUND,
                format!("记录 {record_id} 没有未处理的冲突"),
            )
        })?;
    let mut w = reg.writer(actor)?;
    let (info, s) = sides(w.conn(), &c.table, record_id)?;
    let chosen: Vec<&SideFull> = s
        .iter()
        .filter(|x| {
            if keep == "winner" {
                x.0.winner
            } else {
                x.0.version.starts_with(keep)
            }
        })
        .collect();
    let [(kept, _, values)] = chosen.as_slice() else {
        return Err(err(
            codes::NOT_FOUND,
            format!(
                "“{keep}”不对应唯一的一方，可选：winner 或 {}",
                c.sides.join("、")
            ),
        ));
    };
    let m = info.meta;
    let mut vv = Vv::default();
    for x in &s {
        vv.join(&x.1);
    }
    let new_version = w.stamp().to_string();
    vv.add(&new_version);
    let mut values = values.clone();
    values[m.version] = Value::Text(new_version.clone());
    values[m.prev_version] = Value::Text(c.winner.clone());
    values[m.edits] = Value::Integer(s.iter().map(|x| x.0.edits).max().unwrap_or(1) + 1);
    if let Some(u) = info.index_of("updated_at") {
        values[u] = Value::Text(w.now_text());
    }
    rows::put(w.conn(), info.name, &info.columns, &values)?;
    record_base::put(w.conn(), record_id, &new_version, &vv.to_text())?;
    record_heads::put_all(w.conn(), record_id, &[])?;
    let dropped: Vec<String> = s
        .iter()
        .filter(|x| x.0.version != kept.version)
        .map(|x| x.0.version.clone())
        .collect();
    decisions::insert_conflict(
        w.conn(),
        &decisions::ConflictDecision {
            tbl: c.table.clone(),
            record_id: record_id.to_string(),
            kept_version: kept.version.clone(),
            new_version: new_version.clone(),
            dropped: serde_json::to_string(&dropped)?,
            decided_at: w.now_text(),
            decided_by: actor.operator.clone(),
            reason: reason.to_string(),
        },
    )?;
    w.audit(info.name, record_id, "resolve_conflict", &["version"])?;
    w.commit()?;
    let _ = value_json;
    let _ = payload::tables;
    Ok(new_version)
}

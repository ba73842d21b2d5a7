//! Waiting records: "received" is not "applied".
//!
//! An incremental bundle whose origin's chain has a gap before it (a bundle of that site, same
//! epoch, not applied here, and no full bundle after the gap) may hold records edited from a
//! version this register has never seen. Such a record is not applied: it is kept whole in
//! `waiting_records`, listed as waiting for the missing bundle by number (`baoxue bundle waiting
//! list`), and is not known here (not in the version vectors, not acknowledged). It is applied
//! by the first import after which its gap is filled or its base version is known, and a clerk
//! can force it in with a recorded reason (`baoxue bundle waiting force ID --reason …`).
//! Records whose base version is known, new records and case events apply at once.
//!
//! Which records wait at the end depends only on the set of bundles received: a gap, once
//! filled, stays filled, and a version, once known, stays known.

use super::chain;
use super::export::{json_to_value, row_vv};
use super::merge::{merge_record, row_json, Outcome};
use super::payload::{self, Record, TableInfo};
use super::vv::Vv;
use super::{codes, err};
use crate::error::Result;
use crate::register::{Actor, Register};
use crate::store::{self, decisions, record_heads, rows, trusted_sites};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::HashMap;

/// Where the records of the bundle being merged sit in their origin's chain, when a gap lies
/// before it (otherwise nothing can wait).
#[derive(Debug, Clone)]
pub struct Gap {
    pub hash: String,
    pub bundle_id: String,
    pub from_site: String,
    pub epoch: String,
    pub seq: i64,
}

/// Whether this register knows a version of a record: the row or a kept side of a conflict is
/// that version or supersedes it. Waiting records are not known.
pub fn known(conn: &Connection, me: &str, info: &TableInfo, id: &str, v: &str) -> Result<bool> {
    let Some((lv, lprev, _, _)) = rows::get_meta(conn, info.name, id)? else {
        return Ok(false);
    };
    if lv == v {
        return Ok(true);
    }
    let vv = row_vv(conn, me, id, &lv, lprev.as_deref())?.unwrap_or_else(|| Vv::single(&lv));
    if vv.covers(v) {
        return Ok(true);
    }
    if record_heads::any_for(conn, id)? {
        for h in record_heads::list_for(conn, id)? {
            let hv = Vv::from_text(&h.vv).unwrap_or_else(|| Vv::single(&h.version));
            if h.version == v || hv.covers(v) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The base version a record of a bundle after a gap must wait for, if it must.
pub fn must_wait(
    conn: &Connection,
    me: &str,
    info: &TableInfo,
    r: &Record,
) -> Result<Option<String>> {
    if info.name == "case_events" {
        return Ok(None);
    }
    let m = info.meta;
    let Some(base) = r.opt_text(m.prev_version) else {
        return Ok(None);
    };
    let id = r.text(m.id);
    if known(conn, me, info, id, r.text(m.version))? || known(conn, me, info, id, base)? {
        return Ok(None);
    }
    Ok(Some(base.to_string()))
}

/// Keeps a record received but not applied.
pub fn park(conn: &Connection, info: &TableInfo, r: &Record, base: &str, g: &Gap) -> Result<()> {
    let m = info.meta;
    store::waiting::put(
        conn,
        &store::waiting::Row {
            id: r.text(m.id).to_string(),
            version: r.text(m.version).to_string(),
            tbl: info.name.to_string(),
            base_version: base.to_string(),
            vv: r.vv.as_ref().map(Vv::to_text),
            row: row_json(info, &r.values()),
            bundle_hash: g.hash.clone(),
            bundle_id: g.bundle_id.clone(),
            from_site: g.from_site.clone(),
            epoch: g.epoch.clone(),
            seq: g.seq,
        },
    )
}

fn to_record(t: usize, info: &TableInfo, w: &store::waiting::Row) -> Result<Record> {
    let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&w.row)?;
    let values: Vec<rusqlite::types::Value> = info
        .columns
        .iter()
        .map(|c| json_to_value(obj.get(c).unwrap_or(&serde_json::Value::Null)))
        .collect();
    let vv = w.vv.as_deref().and_then(Vv::from_text);
    Ok(Record::from_values(t, &values, vv))
}

/// Applies one waiting version (it leaves the waiting list). Returns (applied, conflict).
fn apply_one(
    conn: &Connection,
    me: &str,
    tables: &[TableInfo],
    w: &store::waiting::Row,
) -> Result<(bool, bool)> {
    store::waiting::delete(conn, &w.id, &w.version)?;
    let Some(t) = tables.iter().position(|t| t.name == w.tbl) else {
        return Ok((false, false));
    };
    let info = &tables[t];
    let rec = to_record(t, info, w)?;
    let mut insert = rows::prepare_insert_new(conn, &info.insert_new)?;
    Ok(match merge_record(conn, &mut insert, me, info, &rec)? {
        Outcome::Applied => (true, false),
        Outcome::Conflict => (true, true),
        Outcome::Unchanged => (false, false),
    })
}

/// Applies every waiting record whose gap is filled or whose base version is now known, until
/// none is left that can be. Returns (records applied, of which now in conflict).
pub fn release(conn: &Connection, me: &str, tables: &[TableInfo]) -> Result<(u64, u64)> {
    let (mut released, mut conflicts) = (0, 0);
    if !store::waiting::any(conn)? {
        return Ok((0, 0));
    }
    let mut gap_open: HashMap<(String, String, i64), bool> = HashMap::new();
    loop {
        let mut changed = false;
        let mut done: std::collections::HashSet<(String, String)> = Default::default();
        for w in store::waiting::list(conn)? {
            if done.contains(&(w.id.clone(), w.version.clone())) {
                continue;
            }
            let key = (w.from_site.clone(), w.epoch.clone(), w.seq);
            let open = match gap_open.get(&key) {
                Some(o) => *o,
                None => {
                    let o = !chain::gap_before(conn, &w.from_site, &w.epoch, w.seq)?.is_empty();
                    gap_open.insert(key, o);
                    o
                }
            };
            if open {
                let Some(info) = tables.iter().find(|t| t.name == w.tbl) else {
                    continue;
                };
                if !known(conn, me, info, &w.id, &w.version)?
                    && !known(conn, me, info, &w.id, &w.base_version)?
                {
                    continue;
                }
            }
            let (applied, conflict) = apply_one(conn, me, tables, &w)?;
            done.insert((w.id.clone(), w.version.clone()));
            released += applied as u64;
            conflicts += conflict as u64;
            changed = true;
        }
        if !changed {
            return Ok((released, conflicts));
        }
    }
}

/// One waiting record as `baoxue bundle waiting list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub table: String,
    pub record_id: String,
    pub version: String,
    /// The version it was edited from, which this register does not know.
    pub base_version: String,
    /// The origin of the bundle it came in, and that bundle.
    pub from_site: String,
    pub from_name: String,
    pub bundle_id: String,
    pub seq: i64,
    /// The bundles of `from_site` (sequence numbers, same epoch) it waits for.
    pub waiting_for: Vec<i64>,
    pub message: String,
}

/// Every waiting record, by origin site, chain place, table and id.
pub fn list(conn: &Connection) -> Result<Vec<Waiting>> {
    let mut out = Vec::new();
    for w in store::waiting::list(conn)? {
        let name = trusted_sites::get(conn, &w.from_site)?
            .map(|s| s.name)
            .unwrap_or_else(|| w.from_site.clone());
        let waiting_for = chain::gap_before(conn, &w.from_site, &w.epoch, w.seq)?;
        let nums: Vec<String> = waiting_for.iter().map(|s| format!("第{s}号")).collect();
        out.push(Waiting {
            message: format!(
                "“{name}”第{}号数据包中的这条记录（表 {}）是在本库没有的版本上修改的，等待“{name}”的{}数据包到达后自动导入；确认不会到达时，县里可用 `baoxue bundle waiting force {} --reason 理由` 强制导入",
                w.seq,
                w.tbl,
                nums.join("、"),
                w.id
            ),
            table: w.tbl,
            record_id: w.id,
            version: w.version,
            base_version: w.base_version,
            from_site: w.from_site,
            from_name: name,
            bundle_id: w.bundle_id,
            seq: w.seq,
            waiting_for,
        });
    }
    Ok(out)
}

/// What forcing a waiting record in did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forced {
    pub record_id: String,
    /// The versions forced in.
    pub versions: Vec<String>,
    pub applied: u64,
    pub conflicts: u64,
    /// Other waiting records applied as a consequence (their base is now known).
    pub released: u64,
}

/// A clerk forces the waiting versions of one record in, with a recorded reason (who, when,
/// why, in `bundle_decisions`, and an audit row). One transaction.
pub fn force(reg: &mut Register, record_id: &str, reason: &str, actor: &Actor) -> Result<Forced> {
    if reason.trim().is_empty() {
        return Err(err(codes::MALFORMED, "请用 --reason 写明强制导入的理由"));
    }
    let record_id = record_id.trim();
    let waiting = store::waiting::list_for(reg.conn(), record_id)?;
    if waiting.is_empty() {
        return Err(err(
            codes::NOT_FOUND,
            format!("没有编号为 {record_id} 的等待记录（请用 `baoxue bundle waiting list` 查看）"),
        ));
    }
    // Foreign keys are off as in a merge: a forced record may name a parent still to come.
    reg.without_foreign_keys(|reg| force_inner(reg, &waiting, reason, actor))
}

fn force_inner(
    reg: &mut Register,
    waiting: &[store::waiting::Row],
    reason: &str,
    actor: &Actor,
) -> Result<Forced> {
    let mut w = reg.writer(actor)?;
    let me = w.site().id.clone();
    let tables = payload::tables(w.conn())?;
    let mut out = Forced {
        record_id: waiting[0].id.clone(),
        versions: Vec::new(),
        applied: 0,
        conflicts: 0,
        released: 0,
    };
    for r in waiting {
        if out.versions.contains(&r.version) {
            continue;
        }
        let (applied, conflict) = apply_one(w.conn(), &me, &tables, r)?;
        out.applied += applied as u64;
        out.conflicts += conflict as u64;
        out.versions.push(r.version.clone());
        decisions::insert_bundle(
            w.conn(),
            &format!("{}@{}", r.id, r.version),
            "force_waiting",
            &actor.now.to_rfc3339(),
            &actor.operator,
            reason,
        )?;
    }
    out.released = release(w.conn(), &me, &tables)?.0;
    w.audit(
        &waiting[0].tbl,
        &waiting[0].id,
        "force_waiting",
        &["version"],
    )?;
    w.commit()?;
    Ok(out)
}

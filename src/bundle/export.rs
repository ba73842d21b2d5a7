//! `baoxue bundle export`: writes one signed, encrypted bundle for one recipient.
//!
//! Incremental (default): this site's own edits after the stamp the recipient last acknowledged;
//! to a site that is not the county also every other record of the recipient's area that the
//! recipient did not make itself (the county's view of it). `--full`: every record in scope.
//! Records travel only inside the sender's own scope and the recipient's.

use super::file;
use super::keys;
use super::manifest::{Ack, Chain, Cover, Manifest, PayloadRef, SiteRef};
use super::payload::{self, PayloadWriter};
use super::scope::{BundleIndex, Checker, RecordView, Scope};
use super::trust::{self, TrustedSite};
use super::vv::{stamp_site, Vv};
use super::{codes, err, FORMAT_VERSION};
use crate::domain::SiteKind;
use crate::error::Result;
use crate::hlc::Stamp;
use crate::progress::Control;
use crate::register::{Actor, Register};
use crate::store::{self, bundle_acks, bundles_sent, record_base, record_heads, rows};
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// The recipient's site id; `None` = the one trusted county.
    pub to: Option<String>,
    pub full: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    pub file: String,
    pub bundle_id: String,
    pub to_site: String,
    pub to_name: String,
    pub kind: String,
    pub seq: i64,
    pub records: u64,
    pub counts: BTreeMap<String, u64>,
    pub bytes: u64,
    /// Own records left out because they lie outside this site's scope.
    pub skipped_out_of_scope: u64,
}

/// Finds the recipient: a site id, or the single trusted county.
pub fn resolve_recipient(conn: &Connection, to: Option<&str>) -> Result<TrustedSite> {
    match to {
        Some(id) => trust::get(conn, id.trim())?.ok_or_else(|| {
            err(
                codes::NO_RECIPIENT,
                format!(
                    "收件单位 {id} 尚未信任，请先用 `baoxue site trust 密钥卡` 登记对方的密钥卡"
                ),
            )
        }),
        None => {
            let counties: Vec<TrustedSite> = trust::list(conn)?
                .into_iter()
                .filter(|t| t.kind == SiteKind::County)
                .collect();
            match counties.len() {
                1 => Ok(counties.into_iter().next().ok_or_else(|| err(codes::NO_RECIPIENT, "")) ?),
                0 => Err(err(
                    codes::NO_RECIPIENT,
                    "尚未信任县教育局的密钥卡，请先运行 `baoxue site trust 县密钥卡文件`，或用 --to 指定收件单位",
                )),
                _ => Err(err(codes::NO_RECIPIENT, "信任了多个县级单位，请用 --to 指定收件单位")),
            }
        }
    }
}

/// The version vector a row travels with (`None` = the version alone).
pub fn row_vv(
    conn: &Connection,
    me: &str,
    id: &str,
    version: &str,
    prev: Option<&str>,
) -> Result<Option<Vv>> {
    if stamp_site(version) == me && prev.is_none() {
        return Ok(None);
    }
    let mut vv = match record_base::get(conn, id)? {
        Some((bv, text)) => {
            let mut v = Vv::from_text(&text).unwrap_or_default();
            v.add(&bv);
            v
        }
        None => Vv::default(),
    };
    vv.add(version);
    if let Some(p) = prev {
        vv.add(p);
    }
    Ok(if vv.is_single(version) {
        None
    } else {
        Some(vv)
    })
}

fn text_of(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        _ => None,
    }
}

/// Exports one bundle to `out`. The chain entry is committed before the file is put in place, so
/// a failed write leaves a gap (reported at the recipient), never two bundles with one number.
pub fn export_bundle(
    reg: &mut Register,
    opts: &ExportOptions,
    out: &Path,
    actor: &Actor,
) -> Result<ExportSummary> {
    export_bundle_with(reg, opts, out, actor, &mut Control::default())
}

/// Rows scanned between two progress reports and cancel checks.
const REPORT_EVERY: u64 = 1024;

/// The error of a cancelled export.
fn cancelled() -> crate::Error {
    err(codes::CANCELLED, "导出已取消，未生成数据包，登记库未作改动")
}

/// [`export_bundle`] with progress (rows scanned of the rows held) and a cancel flag checked
/// every [`REPORT_EVERY`] rows and before the file is written. A cancelled export writes no file,
/// takes no sequence number and leaves the register as it was.
pub fn export_bundle_with(
    reg: &mut Register,
    opts: &ExportOptions,
    out: &Path,
    actor: &Actor,
    ctl: &mut Control<'_>,
) -> Result<ExportSummary> {
    let me = reg.require_site()?;
    let recipient = resolve_recipient(reg.conn(), opts.to.as_deref())?;
    let mut w = reg.writer(actor)?;
    let keys = keys::load_or_create(w.conn(), actor.now)?;
    let conn: &Connection = w.conn();
    let recipient_row = store::trusted_sites::get(conn, &recipient.site_id)?
        .ok_or_else(|| err(codes::NO_RECIPIENT, "收件单位未信任"))?;
    let age_recipient: age::x25519::Recipient =
        recipient_row.age_recipient.parse().map_err(|_| {
            err(
                codes::NO_RECIPIENT,
                "收件单位的加密公钥已损坏，请重新信任其密钥卡",
            )
        })?;
    let since = if opts.full {
        None
    } else {
        bundle_acks::get(conn, &recipient.site_id)?
    };
    let clock = store::clock::get(conn, &me.id)?;
    let own_to = Stamp::new(clock.last_ms, clock.counter, &me.id).to_string();
    let my_scope = Scope::of(me.kind, &me.region_code, me.school_code.as_deref());
    let their_scope = recipient.scope();
    let to_county = recipient.kind == SiteKind::County;
    let bundle_id = uuid::Uuid::new_v7(crate::register::uuid_ts(actor.now)).to_string();

    let mut writer = PayloadWriter::new(&age_recipient, &bundle_id)?;
    let mut covers: BTreeMap<String, Cover> = BTreeMap::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut skipped = 0u64;
    let empty = BundleIndex::default();
    let checkers: Vec<Checker<'_>> = [&my_scope, &their_scope]
        .into_iter()
        .filter(|s| **s != Scope::All)
        .map(|scope| Checker {
            scope,
            conn,
            index: &empty,
        })
        .collect();
    let note = |covers: &mut BTreeMap<String, Cover>, version: &str| {
        let c = covers
            .entry(stamp_site(version).to_string())
            .or_insert_with(|| Cover {
                from: version.to_string(),
                to: version.to_string(),
                records: 0,
            });
        if version < c.from.as_str() {
            c.from = version.to_string();
        }
        if version > c.to.as_str() {
            c.to = version.to_string();
        }
        c.records += 1;
    };
    let include = |version: &str| -> bool {
        let site = stamp_site(version);
        opts.full
            || (site == me.id && since.as_deref().is_none_or(|s| version > s))
            || (!to_county && site != recipient.site_id && site != me.id)
    };
    let track_context = my_scope != Scope::All;
    // To the county, an incremental bundle holds only own edits after the acknowledged stamp.
    let scan_after = if to_county && !opts.full {
        since.as_deref()
    } else {
        None
    };
    rows::set_cache_mb(conn, 256)?;
    let mut context = Context::default();
    let tables = payload::tables(conn)?;
    let mut total = 0u64;
    if ctl.progress.is_some() {
        for info in &tables {
            total += rows::count(conn, info.name)?;
        }
    }
    let mut scanned = 0u64;
    for info in tables {
        writer.table(info.name, &info.columns)?;
        let m = info.meta;
        rows::for_each(conn, info.name, scan_after, |r| {
            scanned += 1;
            if scanned.is_multiple_of(REPORT_EVERY) {
                ctl.report(scanned, total);
                if ctl.cancelled() {
                    return Err(cancelled());
                }
            }
            let version = match r.get_ref(m.version)? {
                ValueRef::Text(t) => std::str::from_utf8(t).unwrap_or(""),
                _ => "",
            };
            if !include(version) {
                return Ok(());
            }
            let version = version.to_string();
            if !checkers.is_empty() {
                let values: Vec<Value> = (0..info.columns.len())
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<rusqlite::Result<_>>()?;
                let id = text_of(r.get_ref(m.id)?).unwrap_or_default();
                let get = |c: &str| info.index_of(c).map(|i| &values[i]);
                let view = RecordView {
                    table: info.name,
                    id: &id,
                    get: &get,
                };
                for ch in &checkers {
                    if !ch.admits(&view)? {
                        if stamp_site(&version) == me.id {
                            skipped += 1;
                        }
                        return Ok(());
                    }
                }
            }
            let id = text_of(r.get_ref(m.id)?).unwrap_or_default();
            let prev = text_of(r.get_ref(m.prev_version)?);
            let vv = row_vv(conn, &me.id, &id, &version, prev.as_deref())?;
            writer.row(
                vv.as_ref(),
                (0..info.columns.len()).map(|i| r.get_ref(i).unwrap_or(ValueRef::Null)),
            )?;
            note(&mut covers, &version);
            *counts.entry(info.name.to_string()).or_default() += 1;
            if track_context {
                let values: Vec<Value> = (0..info.columns.len())
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<rusqlite::Result<_>>()?;
                context.add_refs(conn, &info, &id, &values, &my_scope)?;
                context.included.insert(id);
            }
            Ok(())
        })?;
    }
    // Context: the parents a record's scope is decided by (its child, its case, a pupil's
    // enrolment at this school) travel with it, so the recipient can check the scope whatever
    // order the bundles arrive in.
    if track_context {
        let tables = payload::tables(conn)?;
        loop {
            let pending: Vec<(&'static str, String)> = std::mem::take(&mut context.needed)
                .into_iter()
                .filter(|(_, id)| !context.included.contains(id))
                .collect();
            if pending.is_empty() {
                break;
            }
            for (tbl, id) in pending {
                let Some(info) = tables.iter().find(|t| t.name == tbl) else {
                    continue;
                };
                if context.included.contains(&id) {
                    continue;
                }
                let Some(values) = rows::get(conn, tbl, &id)? else {
                    continue;
                };
                let m = info.meta;
                let version = match &values[m.version] {
                    Value::Text(t) => t.clone(),
                    _ => continue,
                };
                let prev = match &values[m.prev_version] {
                    Value::Text(t) => Some(t.clone()),
                    _ => None,
                };
                writer.table(info.name, &info.columns)?;
                let vv = row_vv(conn, &me.id, &id, &version, prev.as_deref())?;
                writer.row(vv.as_ref(), values.iter().map(ValueRef::from))?;
                note(&mut covers, &version);
                *counts.entry(info.name.to_string()).or_default() += 1;
                context.add_refs(conn, info, &id, &values, &my_scope)?;
                context.included.insert(id);
            }
        }
    }
    // Kept sides of open conflicts travel too, so the other registers see the same conflict.
    for (tbl, id) in record_heads::list_ids(conn)? {
        let Some(info) = payload::tables(conn)?.into_iter().find(|t| t.name == tbl) else {
            continue;
        };
        let heads = record_heads::list_for(conn, &id)?;
        let mut started = false;
        for h in heads {
            if !include(&h.version) {
                continue;
            }
            let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&h.row)?;
            if !started {
                writer.table(info.name, &info.columns)?;
                started = true;
            }
            let vals: Vec<Value> = info
                .columns
                .iter()
                .map(|c| json_to_value(obj.get(c).unwrap_or(&serde_json::Value::Null)))
                .collect();
            let vv = Vv::from_text(&h.vv).filter(|v| !v.is_single(&h.version));
            writer.row(vv.as_ref(), vals.iter().map(ValueRef::from))?;
            note(&mut covers, &h.version);
            *counts.entry(info.name.to_string()).or_default() += 1;
        }
    }
    if ctl.cancelled() {
        return Err(cancelled());
    }
    let records = writer.records;
    let payload = writer.finish()?;

    let last = bundles_sent::get_last(conn, &recipient.site_id, keys.epoch())?;
    let ack = match super::chain::last_contiguous(conn, &recipient.site_id)? {
        Some(b) => serde_json::from_str::<Manifest>(&b.manifest)
            .ok()
            .map(|m| Ack {
                bundle_id: m.bundle_id,
                epoch: m.chain.epoch,
                seq: m.chain.seq,
                own_to: m.own_to,
            }),
        None => None,
    };
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        bundle_id: bundle_id.clone(),
        from_site: SiteRef {
            id: me.id.clone(),
            kind: me.kind,
            name: me.name.clone(),
            region_code: me.region_code.clone(),
            school_code: me.school_code.clone(),
        },
        to_site: recipient.site_id.clone(),
        created_at: actor.now.to_rfc3339(),
        kind: if opts.full { "full" } else { "incremental" }.into(),
        chain: Chain {
            epoch: keys.epoch().to_string(),
            seq: last.as_ref().map_or(1, |l| l.seq + 1),
            prev_hash: last.map(|l| l.hash),
            restored: keys.restored().and_then(|r| serde_json::from_str(r).ok()),
        },
        since: since.clone(),
        own_to: own_to.clone(),
        covers,
        counts: counts.clone(),
        ack,
        payload: PayloadRef {
            encoding: "ndjson+deflate+age".into(),
            sha256: file::sha256_hex(&payload),
            bytes: payload.len() as u64,
            records,
        },
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
    let signature = keys.sign(&file::signed_message(&manifest_bytes));
    let bytes = file::assemble(&manifest_bytes, &signature, &payload);
    let hash = file::manifest_hash(&manifest_bytes);
    bundles_sent::insert(
        conn,
        &bundles_sent::Row {
            bundle_id: bundle_id.clone(),
            to_site: recipient.site_id.clone(),
            epoch: manifest.chain.epoch.clone(),
            seq: manifest.chain.seq,
            hash,
            kind: manifest.kind.clone(),
            created_at: manifest.created_at.clone(),
            own_to: Some(own_to),
            records: records as i64,
        },
    )?;
    w.audit(
        "bundles",
        &bundle_id,
        if opts.full { "export_full" } else { "export" },
        &["to_site"],
    )?;
    if ctl.cancelled() {
        return Err(cancelled());
    }
    let tmp = out.with_extension("bxb.part");
    std::fs::write(&tmp, &bytes).map_err(|e| crate::Error::io(&tmp, e))?;
    w.commit()?;
    ctl.report(total.max(scanned), total.max(scanned));
    std::fs::rename(&tmp, out).map_err(|e| crate::Error::io(out, e))?;
    Ok(ExportSummary {
        file: out.display().to_string(),
        bundle_id,
        to_site: recipient.site_id,
        to_name: recipient.name,
        kind: manifest.kind,
        seq: manifest.chain.seq,
        records,
        counts,
        bytes: bytes.len() as u64,
        skipped_out_of_scope: skipped,
    })
}

/// Records included in a bundle and the parents they need.
#[derive(Default)]
struct Context {
    included: HashSet<String>,
    needed: Vec<(&'static str, String)>,
}

impl Context {
    fn add_refs(
        &mut self,
        conn: &Connection,
        info: &payload::TableInfo,
        id: &str,
        values: &[Value],
        scope: &Scope,
    ) -> Result<()> {
        if info.name == "person_links" {
            // A link lies in scope through either of its records: those of them inside this
            // site's scope travel with it, so the recipient can check it in any order.
            let empty = BundleIndex::default();
            let ch = Checker {
                scope,
                conn,
                index: &empty,
            };
            for c in ["child_id", "other_child_id"] {
                let id = info.index_of(c).and_then(|i| match &values[i] {
                    Value::Text(t) => Some(t.clone()),
                    _ => None,
                });
                if let Some(id) = id {
                    if ch.admits_child(&id)? {
                        self.needed.push(("children", id));
                    }
                }
            }
            return Ok(());
        }
        let text = |c: &str| {
            info.index_of(c).and_then(|i| match &values[i] {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            })
        };
        if let Some(child) = text("child_id") {
            self.needed.push(("children", child));
        }
        if let Some(case) = text("case_id") {
            self.needed.push(("cases", case));
        }
        if info.name == "children" {
            if text("village_code").is_none() {
                if let Some(h) = text("household_id") {
                    self.needed.push(("households", h));
                }
            }
            if let Scope::School(code) = scope {
                for e in rows::enrolment_ids_at(conn, id, code)? {
                    self.needed.push(("enrolments", e));
                }
            }
        }
        Ok(())
    }
}

/// A JSON value as an SQLite value (the inverse of `snapshot::dump_table`'s mapping).
pub fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Integer(*b as i64),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(k) => Value::Integer(k),
            None => Value::Real(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    }
}

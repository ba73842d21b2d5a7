//! `baoxue bundle import`: applies a verified bundle in one transaction, all or nothing.
//!
//! Each incoming version is compared with what this register holds for the record (the row and
//! the kept sides of an open conflict, each with its version vector, see `vv`): a version already
//! known changes nothing; one that supersedes every kept version replaces them; one concurrent
//! with a kept version makes (or extends) a conflict: the row holds the winner of the total order
//! and the other sides are kept in full in `record_heads`. The result depends only on the set of
//! versions received, never on their order. Case events only ever union.

use super::aside::{self, Policy};
use super::chain::{self, Verdict};
use super::export::{json_to_value, row_vv};
use super::gather::{Batch, Gatherer, RUN_PART};
use super::keys;
use super::payload::{Record, TableInfo};
use super::verify::{UnverifiedBundle, VerifiedBundle};
use super::vv::{wins_over, Rank, Vv};
use super::waiting;
use super::{codes, err};
use crate::error::Result;
use crate::hlc::Stamp;
use crate::progress::Control;
use crate::register::{Actor, Register};
use crate::settings::Settings;
use crate::store::aside as store_aside;
use crate::store::flush::{self, Flusher};
use crate::store::{
    bulk, bundle_acks, bundles_received, bundles_sent, decisions, record_base, record_heads, rows,
    trusted_sites,
};
use crate::trace;
use rusqlite::types::Value;
use rusqlite::Connection;
use serde::Serialize;

/// The JSON report of one bundle (`schemas/bundle-import-report.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub format_version: u32,
    pub file: String,
    pub bundle_id: Option<String>,
    pub from_site: Option<String>,
    /// `applied`, `already_imported`, `refused` or `held`.
    pub status: String,
    pub applied: u64,
    pub unchanged: u64,
    pub conflicts: u64,
    /// The reason code (`bundle::codes`) when refused or held.
    pub reason: Option<String>,
    /// The reason in Chinese, for people.
    pub message: Option<String>,
    /// Sequence numbers of this site's chain still missing (a gap), after this bundle.
    pub missing_seqs: Vec<i64>,
    /// Records of this bundle received but not applied: edited from a version this register
    /// does not know, behind a gap (`baoxue bundle waiting list`).
    pub waiting: u64,
    /// Records waiting from earlier bundles that this import let apply.
    pub released: u64,
}

impl ImportReport {
    fn new(file: &str) -> ImportReport {
        ImportReport {
            format_version: super::FORMAT_VERSION,
            file: file.to_string(),
            bundle_id: None,
            from_site: None,
            status: "refused".into(),
            applied: 0,
            unchanged: 0,
            conflicts: 0,
            reason: None,
            message: None,
            missing_seqs: Vec::new(),
            waiting: 0,
            released: 0,
        }
    }
    fn refuse(mut self, e: &crate::Error) -> ImportReport {
        self.status = "refused".into();
        self.reason = Some(e.code().to_string());
        self.message = Some(e.to_string());
        self
    }
}

/// An empty refusal report for a file that could not even be read.
pub fn refused_report(file: &str) -> ImportReport {
    ImportReport::new(file)
}

/// What a clerk decided about a held bundle when it is imported again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overrides {
    /// Accept stamps ahead of this register's clock (a recorded decision).
    pub accept_clock_ahead: bool,
}

/// Imports one bundle file's bytes. Never returns `Err` for a bad bundle: the report says why.
pub fn import_bundle(
    reg: &mut Register,
    bytes: Vec<u8>,
    file: &str,
    actor: &Actor,
) -> ImportReport {
    import_with(reg, bytes, file, actor, Overrides::default())
}

pub fn import_with(
    reg: &mut Register,
    bytes: Vec<u8>,
    file: &str,
    actor: &Actor,
    ov: Overrides,
) -> ImportReport {
    import_bundle_with(reg, bytes, file, actor, ov, &mut Control::default())
}

/// [`import_with`] with progress (records merged of the records in the bundle) and a cancel
/// flag checked between chunks. A cancelled import is refused with reason `cancelled`: its
/// transaction is rolled back, the register is as it was, and the same file can be imported
/// later.
pub fn import_bundle_with(
    reg: &mut Register,
    bytes: Vec<u8>,
    file: &str,
    actor: &Actor,
    ov: Overrides,
    ctl: &mut Control<'_>,
) -> ImportReport {
    import_tuned(
        reg,
        bytes,
        file,
        actor,
        ov,
        ctl,
        BULK_ROWS,
        Policy::default(),
    )
    .0
}

/// [`import_bundle`] with another size from which a table arriving into an empty one is loaded
/// in bulk (sorted, indexes rebuilt after; `BULK_ROWS` otherwise). The result is the same
/// either way: tests use a small size to run the bulk path on small bundles.
pub fn import_bundle_bulk_from(
    reg: &mut Register,
    bytes: Vec<u8>,
    file: &str,
    actor: &Actor,
    ctl: &mut Control<'_>,
    bulk_rows: u64,
) -> ImportReport {
    import_bundle_aside(reg, bytes, file, actor, ctl, bulk_rows, Policy::default()).0
}

/// [`import_bundle_bulk_from`] with the choice of which bulk tables the decoding thread builds
/// aside (`bundle::aside`); also returns how many tables were copied in from aside. The result
/// is the same whatever the choice: tests compare them.
pub fn import_bundle_aside(
    reg: &mut Register,
    bytes: Vec<u8>,
    file: &str,
    actor: &Actor,
    ctl: &mut Control<'_>,
    bulk_rows: u64,
    policy: Policy,
) -> (ImportReport, u64) {
    import_tuned(
        reg,
        bytes,
        file,
        actor,
        Overrides::default(),
        ctl,
        bulk_rows,
        policy,
    )
}

#[allow(clippy::too_many_arguments)]
fn import_tuned(
    reg: &mut Register,
    bytes: Vec<u8>,
    file: &str,
    actor: &Actor,
    ov: Overrides,
    ctl: &mut Control<'_>,
    bulk_rows: u64,
    policy: Policy,
) -> (ImportReport, u64) {
    let report = ImportReport::new(file);
    let mut aside = 0;
    let tuning = Tuning {
        bulk_rows,
        policy,
        aside: &mut aside,
    };
    let r = match try_import(reg, bytes, report.clone(), actor, ov, ctl, tuning) {
        Ok(r) => r,
        Err(f) => {
            let (r, e) = *f;
            r.refuse(&e)
        }
    };
    (r, aside)
}

/// How a merge loads large tables into empty ones (tests vary it; the result is the same).
struct Tuning<'a> {
    /// Records from which a table arriving into an empty one is loaded in bulk.
    bulk_rows: u64,
    policy: Policy,
    /// Out: the tables copied in from aside.
    aside: &'a mut u64,
}

type Fail = Box<(ImportReport, crate::Error)>;

fn try_import(
    reg: &mut Register,
    bytes: Vec<u8>,
    mut report: ImportReport,
    actor: &Actor,
    ov: Overrides,
    ctl: &mut Control<'_>,
    tuning: Tuning<'_>,
) -> std::result::Result<ImportReport, Fail> {
    macro_rules! t {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return Err(Box::new((report, e.into()))),
            }
        };
    }
    let mut pre = trace::Clock::new("import", std::time::Instant::now());
    let unverified = t!(UnverifiedBundle::parse(bytes));
    report.bundle_id = Some(unverified.manifest().bundle_id.clone());
    report.from_site = Some(unverified.manifest().from_site.id.clone());
    let me = t!(reg.require_site());
    let sender = t!(unverified.check_envelope(reg.conn(), &me));
    pre.step(|| "read, envelope (signature, payload hash)".into());
    if let Some(prev) = t!(bundles_received::get(reg.conn(), unverified.hash())) {
        match prev.status.as_str() {
            "applied" => {
                report.status = "already_imported".into();
                return Ok(report);
            }
            "held" if !ov.accept_clock_ahead => {
                report.status = "held".into();
                report.reason = prev.reason.clone();
                report.message =
                    Some("此数据包此前已被暂扣，等待人工决定（baoxue bundle held）".into());
                return Ok(report);
            }
            _ => {}
        }
    }
    let keys = t!(keys::load(reg.conn()));
    let verified = t!(unverified.verify_opened(reg.conn(), sender, &keys));
    pre.step(|| "keys, payload opens".into());
    if let Some(why) =
        t!(trusted_sites::get(reg.conn(), &verified.sender.site_id)).and_then(|s| s.frozen)
    {
        let e = err(
            codes::SITE_FROZEN,
            format!(
                "“{}”的数据包链条出现分叉，已停止接收其数据包，待县里处理：{why}",
                verified.sender.name
            ),
        );
        return Err(Box::new((report, e)));
    }
    match t!(chain::check(reg.conn(), &verified.manifest, &verified.hash)) {
        Verdict::Fits => {}
        Verdict::Fork(why) => {
            t!(record_fork(reg, &verified, &why, actor));
            return Err(Box::new((
                report,
                err(
                    codes::FORK,
                    format!(
                        "{why}。已保存两份清单作为证据，并停止接收该单位的数据包，请县里核实后处理"
                    ),
                ),
            )));
        }
    }
    if !ov.accept_clock_ahead {
        if let Some((site, stamp)) = t!(clock_ahead(reg.conn(), &verified, actor)) {
            let msg = format!(
                "数据包中有版本戳 {stamp}（单位 {site}）比本机时间超前过多，可能是对方电脑时钟有误。已暂扣，未导入任何记录；请核实后用 `baoxue bundle held accept` 或 `refuse` 处理"
            );
            t!(store_received(
                reg,
                &verified,
                "held",
                Some(codes::CLOCK_AHEAD),
                (0, 0, 0),
                true,
                actor
            ));
            report.status = "held".into();
            report.reason = Some(codes::CLOCK_AHEAD.into());
            report.message = Some(msg);
            return Ok(report);
        }
    }
    pre.step(|| "checks before the merge".into());
    let counts = t!(apply(reg, &verified, &keys, actor, ctl, &tuning));
    pre.step(|| "merge (apply)".into());
    *tuning.aside = counts.aside;
    report.status = "applied".into();
    report.applied = counts.applied;
    report.unchanged = counts.unchanged;
    report.conflicts = counts.conflicts;
    report.waiting = counts.waiting;
    report.released = counts.released;
    report.missing_seqs = super::trust::get(reg.conn(), &verified.sender.site_id)
        .ok()
        .flatten()
        .map(|s| s.missing_seqs)
        .unwrap_or_default();
    pre.step(|| "report".into());
    Ok(report)
}

/// The first stamp more than the tolerance ahead of this register's wall clock, if any.
fn clock_ahead(
    conn: &Connection,
    b: &VerifiedBundle,
    actor: &Actor,
) -> Result<Option<(String, String)>> {
    let hours = Settings::load(conn)?.clock_tolerance_hours as i64;
    let limit = actor.now.timestamp_millis() + hours * 3_600_000;
    let mut stamps: Vec<&str> = b.manifest.covers.values().map(|c| c.to.as_str()).collect();
    stamps.push(&b.manifest.own_to);
    for s in stamps {
        if let Ok(st) = s.parse::<Stamp>() {
            if st.ms > limit {
                return Ok(Some((st.site.clone(), s.to_string())));
            }
        }
    }
    Ok(None)
}

fn store_received(
    reg: &mut Register,
    b: &VerifiedBundle,
    status: &str,
    reason: Option<&str>,
    counts: (u64, u64, u64),
    keep_file: bool,
    actor: &Actor,
) -> Result<()> {
    let w = reg.writer(actor)?;
    put_received(w.conn(), b, status, reason, counts, keep_file, actor)?;
    w.commit()
}

fn put_received(
    conn: &Connection,
    b: &VerifiedBundle,
    status: &str,
    reason: Option<&str>,
    counts: (u64, u64, u64),
    keep_file: bool,
    actor: &Actor,
) -> Result<()> {
    let m = &b.manifest;
    bundles_received::put(
        conn,
        &bundles_received::Row {
            hash: b.hash.clone(),
            bundle_id: m.bundle_id.clone(),
            from_site: m.from_site.id.clone(),
            epoch: m.chain.epoch.clone(),
            seq: m.chain.seq,
            prev_hash: m.chain.prev_hash.clone(),
            created_at: m.created_at.clone(),
            received_at: actor.now.to_rfc3339(),
            received_by: actor.operator.clone(),
            status: status.into(),
            reason: reason.map(str::to_string),
            manifest: b.manifest_json(),
            applied: counts.0 as i64,
            unchanged: counts.1 as i64,
            conflicts: counts.2 as i64,
        },
        keep_file.then(|| b.bytes()),
    )
}

fn record_fork(reg: &mut Register, b: &VerifiedBundle, why: &str, actor: &Actor) -> Result<()> {
    let mut w = reg.writer(actor)?;
    put_received(
        w.conn(),
        b,
        "refused_fork",
        Some(codes::FORK),
        (0, 0, 0),
        true,
        actor,
    )?;
    trusted_sites::put_frozen(w.conn(), &b.sender.site_id, Some(why))?;
    w.audit(
        "trusted_sites",
        &b.sender.site_id,
        "freeze_fork",
        &["frozen"],
    )?;
    w.commit()
}

/// Tables receiving at least this many records while empty are loaded without their secondary
/// indexes, which are rebuilt once the table's records have all arrived.
const BULK_ROWS: u64 = 20_000;

/// The register's page cache during a merge (MiB).
const CACHE_MB: i64 = 512;

/// Records per chunk handed from the decoding thread to the writing one.
const CHUNK: usize = 2048;

/// Chunks the decoding thread may run ahead of the writer.
const AHEAD: usize = 64;

/// Foreign-key checks are off during a merge: a record may reference a parent that arrives in
/// a later bundle (order independence). They are back on afterwards, whatever happened.
/// A bulk load into empty tables (a full bundle for a new county laptop) runs with a rollback
/// journal instead of the WAL, so the pages are written once rather than twice; the register
/// goes back to WAL afterwards (and every open sets WAL again).
fn apply(
    reg: &mut Register,
    b: &VerifiedBundle,
    keys: &keys::SiteKeys,
    actor: &Actor,
    ctl: &mut Control<'_>,
    tuning: &Tuning<'_>,
) -> Result<Counts> {
    let mut bulk = vec![false; b.tables.len()];
    for (i, info) in b.tables.iter().enumerate() {
        let n = b.manifest.counts.get(info.name).copied().unwrap_or(0);
        bulk[i] = n >= tuning.bulk_rows && rows::is_empty(reg.conn(), info.name)?;
    }
    let journal = if bulk.iter().any(|x| *x) {
        rows::journal_for_bulk(reg.conn())
    } else {
        None
    };
    let early = journal.is_some();
    // Parts of a streamed bulk table: a few per table even when tests lower the bulk size.
    let part = usize::try_from(tuning.bulk_rows / 4)
        .unwrap_or(RUN_PART)
        .clamp(1, RUN_PART);
    let result = reg.without_foreign_keys(|reg| {
        rows::set_cache_mb(reg.conn(), CACHE_MB)?;
        let counts = apply_inner(reg, b, keys, &bulk, early, part, tuning.policy, actor, ctl);
        // The transaction has ended: the aside databases it read can go.
        store_aside::detach_all(reg.conn());
        counts
    });
    if let Some(mode) = journal {
        rows::restore_journal(reg.conn(), &mode);
    }
    result
}

/// The error of a cancelled merge.
fn cancelled() -> crate::Error {
    err(
        codes::CANCELLED,
        "导入已取消，此数据包未写入任何记录，可稍后重新导入",
    )
}

/// What merging one bundle did.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    applied: u64,
    unchanged: u64,
    conflicts: u64,
    waiting: u64,
    released: u64,
    /// Tables copied in from aside.
    aside: u64,
}

/// `early`: the register is in rollback-journal mode for a bulk load, and each bulk table's pages
/// are written to the file as soon as the table is complete (`store::flush`). `part`: records
/// per part of a bulk table handed to the writer while it is still arriving (`gather`).
#[allow(clippy::too_many_arguments)]
fn apply_inner(
    reg: &mut Register,
    b: &VerifiedBundle,
    keys: &keys::SiteKeys,
    bulk: &[bool],
    early: bool,
    part: usize,
    policy: Policy,
    actor: &Actor,
    ctl: &mut Control<'_>,
) -> Result<Counts> {
    let total = b.manifest.payload.records;
    let mut done = 0u64;
    let started = std::time::Instant::now();
    let mut clock = trace::Clock::new("writer", started);
    let mut w = reg.writer(actor)?;
    let me = w.site().id.clone();
    let man = &b.manifest;
    // Behind a gap in its origin's chain, a record edited from an unknown version waits.
    let gap = if man.kind == "full"
        || chain::gap_before(w.conn(), &man.from_site.id, &man.chain.epoch, man.chain.seq)?
            .is_empty()
    {
        None
    } else {
        Some(waiting::Gap {
            hash: b.hash.clone(),
            bundle_id: man.bundle_id.clone(),
            from_site: man.from_site.id.clone(),
            epoch: man.chain.epoch.clone(),
            seq: man.chain.seq,
        })
    };
    let streamed = !b.needs_scope_check();
    let mut dropped: Vec<Vec<(String, String)>> = vec![Vec::new(); b.tables.len()];
    for (i, info) in b.tables.iter().enumerate() {
        if bulk[i] {
            for (name, sql) in rows::secondary_indexes(w.conn(), info.name)? {
                if !rows::index_leads_with_id(w.conn(), &name)? {
                    dropped[i].push((name, sql));
                }
            }
        }
    }
    // Tables built aside by the decoding thread (only while it streams; never behind a gap,
    // where records may have to wait) keep their (empty) indexes here: the copy fills them.
    let plan = if streamed && gap.is_none() {
        let counts: Vec<u64> = b
            .tables
            .iter()
            .map(|t| man.counts.get(t.name).copied().unwrap_or(0))
            .collect();
        let pending: Vec<usize> = dropped.iter().map(Vec::len).collect();
        aside::plan(w.conn(), &b.tables, bulk, &counts, &pending, policy)?
    } else {
        vec![None; b.tables.len()]
    };
    let mut m = Merger::new(w.conn(), &me, &b.tables, gap);
    for (i, d) in dropped.into_iter().enumerate() {
        if plan[i].is_none() {
            for (name, sql) in d {
                rows::drop_index(w.conn(), &name)?;
                m.pending[i].push(sql);
            }
        }
    }
    if early {
        m.flusher = Flusher::start(w.conn());
        // Journal the empty tables' root pages now, so that writing early never waits for a
        // journal sync (`store::flush`); a table with triggers journals them with its first
        // rows, and nothing is written early before that.
        for (i, info) in b.tables.iter().enumerate() {
            if bulk[i] && !flush::journal_roots(w.conn(), info.name)? {
                m.unjournaled[i] = true;
            }
        }
    }
    clock.step(|| "prepare".into());
    let id_cols: Vec<usize> = b.tables.iter().map(|t| t.meta.id).collect();
    let mut gather = Gatherer::new(id_cols, bulk);
    if streamed {
        // A bulk table the writer loads itself may reach it in parts while it is decoded.
        let stream: Vec<bool> = (0..bulk.len())
            .map(|t| bulk[t] && plan[t].is_none())
            .collect();
        gather = gather.streaming(&stream, part);
    }
    if b.needs_scope_check() {
        // The scope of a record may depend on others anywhere in the bundle: check all first.
        let all = b.decode_all(w.conn(), keys)?;
        let mut batches = Vec::new();
        let mut keep = |x: Batch| {
            batches.push(x);
            true
        };
        for c in chunks(all) {
            gather.push(c, &mut keep);
        }
        gather.finish(&mut keep);
        for x in batches {
            done += m.batch(x)?;
            ctl.report(done, total);
            if ctl.cancelled() {
                return Err(cancelled());
            }
        }
    } else {
        // Decrypt, decompress, parse and gather on a second thread while this one writes. The
        // transaction commits only if the decoder checked every record.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(AHEAD);
        std::thread::scope(|s| -> Result<()> {
            let plan = &plan;
            let tables = &b.tables;
            let decoder = s.spawn(move || {
                let mut clock = trace::Clock::new("decoder", started);
                let mut send = |x: Batch| {
                    let x = match x {
                        Batch::Table(t, v) => {
                            clock.step(|| format!("decode, gather {}", tables[t].name));
                            match &plan[t] {
                                // A table that cannot be built aside is merged by the writer.
                                Some(p) => match aside::build(p, &tables[t], &v) {
                                    Ok(Some(built)) => {
                                        clock.step(|| format!("build aside {}", tables[t].name));
                                        Batch::Aside(t, built)
                                    }
                                    Ok(None) | Err(_) => Batch::Table(t, v),
                                },
                                None => Batch::Table(t, v),
                            }
                        }
                        x => {
                            if let Batch::Run {
                                table, end: true, ..
                            } = &x
                            {
                                clock.step(|| format!("decode, stream {}", tables[*table].name));
                            }
                            x
                        }
                    };
                    tx.send(x).is_ok()
                };
                let n = b.stream(keys.identity(), CHUNK, |c| gather.push(c, &mut send))?;
                gather.finish(&mut send);
                clock.step(|| "decode rest".into());
                Ok(n)
            });
            let written = (|| -> Result<()> {
                // The receiver goes when the writer stops, so a decoder blocked on a full
                // channel (the writer failed or was cancelled) wakes up and ends.
                let rx = rx;
                for x in rx.iter() {
                    let what = match &x {
                        Batch::Records(_) | Batch::Run { end: false, .. } => None,
                        Batch::Table(t, _) | Batch::Run { table: t, .. } => Some(("load", *t)),
                        Batch::Aside(t, _) => Some(("copy in", *t)),
                    };
                    done += m.batch(x)?;
                    if let Some((what, t)) = what {
                        clock.step(|| format!("{what} {}", b.tables[t].name));
                    }
                    ctl.report(done, total);
                    if ctl.cancelled() {
                        return Err(cancelled());
                    }
                }
                Ok(())
            })();
            let decoded: Result<u64> = decoder
                .join()
                .unwrap_or_else(|_| Err(err(codes::BAD_RECORD, "数据包解析中断")));
            written?;
            decoded.map(|_| ())
        })?;
    }
    clock.step(|| "records one by one".into());
    let (mut counts, max_stamp) = m.finish()?;
    if let Ok(s) = max_stamp.parse::<Stamp>() {
        w.observe(&s);
    }
    let m = &b.manifest;
    if let Some(ack) = &m.ack {
        let mine = bundles_sent_exists(w.conn(), &ack.bundle_id, &m.from_site.id)?;
        if mine {
            bundle_acks::put_max(w.conn(), &m.from_site.id, &ack.own_to, &ack.bundle_id)?;
        }
    }
    put_received(
        w.conn(),
        b,
        "applied",
        None,
        (counts.applied, counts.unchanged, counts.conflicts),
        false,
        actor,
    )?;
    // This bundle may fill a gap: what waited for it applies now.
    let (released, released_conflicts) = waiting::release(w.conn(), &me, &b.tables)?;
    counts.released = released;
    counts.conflicts += released_conflicts;
    w.audit("bundles", &m.bundle_id, "import", &["from_site", "records"])?;
    if ctl.cancelled() {
        return Err(cancelled());
    }
    clock.step(|| "finish".into());
    w.commit()?;
    clock.step(|| "commit".into());
    ctl.report(total, total);
    Ok(counts)
}

/// Splits records into chunks of `CHUNK` (the path that decodes everything first).
fn chunks(all: Vec<Record>) -> Vec<Vec<Record>> {
    let mut out = Vec::new();
    let mut it = all.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(CHUNK).collect());
    }
    out
}

/// Text of rows inserted in bulk after which the pages made so far go to the file (about twice
/// as many bytes of pages), so that the disk writes them while the merge goes on.
const FLUSH_EVERY: usize = 8 << 20;

/// Records per multi-row insert when a sorted table is loaded into an empty one.
const ROWS_PER_INSERT: usize = 64;

/// Merges records inside the writer's transaction: one by one, or a bulk-loaded table (empty
/// here, secondary indexes dropped) as a whole batch sorted by id, written with multi-row
/// inserts so that the id index only appends, its indexes rebuilt right after.
struct Merger<'c> {
    conn: &'c Connection,
    me: &'c str,
    tables: &'c [TableInfo],
    counts: Counts,
    max_stamp: String,
    /// Set when a gap lies before this bundle in its origin's chain.
    gap: Option<waiting::Gap>,
    /// Per table: the prepared insert-if-new statement.
    insert: Vec<Option<rusqlite::CachedStatement<'c>>>,
    /// Per table: the secondary indexes dropped for a bulk load, rebuilt when its records end.
    pending: Vec<Vec<String>>,
    /// Per table: the prepared multi-row insert of a full run (`ROWS_PER_INSERT` rows).
    many: Vec<Option<bulk::Statement<'c>>>,
    /// Writes completed bulk tables early (`store::flush`); `None` otherwise.
    flusher: Option<Flusher>,
    /// Per table: the text of the parts of a streamed run written so far (`Batch::Run`).
    run_bytes: Vec<usize>,
    /// Per table: a bulk table whose root pages are not in the journal yet (it has triggers, so
    /// `flush::journal_roots` left it): nothing is written early until its first rows are in.
    unjournaled: Vec<bool>,
    /// Text of the rows inserted since the last early write.
    unflushed: usize,
}

impl<'c> Merger<'c> {
    fn new(
        conn: &'c Connection,
        me: &'c str,
        tables: &'c [TableInfo],
        gap: Option<waiting::Gap>,
    ) -> Merger<'c> {
        Merger {
            conn,
            me,
            tables,
            counts: Counts::default(),
            max_stamp: String::new(),
            gap,
            insert: (0..tables.len()).map(|_| None).collect(),
            pending: vec![Vec::new(); tables.len()],
            many: (0..tables.len()).map(|_| None).collect(),
            flusher: None,
            run_bytes: vec![0; tables.len()],
            unjournaled: vec![false; tables.len()],
            unflushed: 0,
        }
    }

    /// Merges one batch; returns how many records it held.
    fn batch(&mut self, b: Batch) -> Result<u64> {
        match b {
            Batch::Records(v) => {
                for r in &v {
                    self.merge(r)?;
                    self.unjournaled[r.table] = false;
                }
                Ok(v.len() as u64)
            }
            Batch::Table(t, v) => {
                self.load_sorted(t, &v)?;
                self.unjournaled[t] = false;
                let bytes: usize = v.iter().map(|r| r.text_bytes() + 64).sum();
                self.build_indexes(t, bytes)?;
                self.flush();
                Ok(v.len() as u64)
            }
            Batch::Run {
                table: t,
                records: v,
                end,
            } => {
                self.load_sorted(t, &v)?;
                self.unjournaled[t] = false;
                self.run_bytes[t] += v.iter().map(|r| r.text_bytes() + 64).sum::<usize>();
                if end {
                    let bytes = std::mem::take(&mut self.run_bytes[t]);
                    self.build_indexes(t, bytes)?;
                    self.flush();
                }
                Ok(v.len() as u64)
            }
            Batch::Aside(t, built) => {
                let n = self.copy_in(t, built)?;
                self.flush();
                Ok(n)
            }
        }
    }

    /// Writes the pages made so far into the register file now and has them written to the
    /// disk in the background (a bulk load; see `store::flush`).
    fn flush(&mut self) {
        self.unflushed = 0;
        // Not before every bulk table's root pages are in the journal: journaling one after
        // pages were written makes the next write wait for a journal sync (`store::flush`).
        if self.unjournaled.contains(&true) {
            return;
        }
        if let Some(f) = &self.flusher {
            f.flush_durable(self.conn);
        }
    }

    /// Copies a table built aside into the register's table (empty, its indexes in place).
    fn copy_in(&mut self, t: usize, built: aside::Built) -> Result<u64> {
        let info = &self.tables[t];
        let schema = store_aside::attach(self.conn, &built.name, &t.to_string())?;
        // Attached, the aside database lives on without its own connection.
        drop(built.conn);
        // The copy writes the whole table in one statement: its pages go to the file as they
        // are made, not all after it (the last table's would all wait for the commit's sync).
        let spill = match &self.flusher {
            Some(f) if !self.unjournaled.contains(&true) => {
                f.spilling(self.conn, true, CACHE_MB)?;
                Some(f)
            }
            _ => None,
        };
        let n = store_aside::transfer(self.conn, &schema, info.name);
        if let Some(f) = spill {
            f.spilling(self.conn, false, CACHE_MB)?;
        }
        let n = n?;
        if n as u64 != built.rows {
            return Err(err(
                codes::BAD_RECORD,
                format!(
                    "合并“{}”时有记录未能写入（本机已有同编号的记录，或记录不符合本机的约束），数据包未导入。请重新导入；仍不成功时请联系发出单位重新导出",
                    info.name
                ),
            ));
        }
        for (id, version, vv) in &built.bases {
            record_base::put(self.conn, id, version, vv)?;
        }
        if built.max_stamp > self.max_stamp {
            self.max_stamp = built.max_stamp;
        }
        self.counts.applied += built.rows;
        self.counts.aside += 1;
        Ok(built.rows)
    }

    /// Rebuilds the indexes dropped for table `t`; `bytes` bounds the text of its rows.
    fn build_indexes(&mut self, t: usize, bytes: usize) -> Result<()> {
        let pending = std::mem::take(&mut self.pending[t]);
        if pending.is_empty() {
            return Ok(());
        }
        // An index key is never longer than its row's text plus a little per row, so a table
        // whose text is a quarter of the spill size can never make the sorter touch the disk.
        let block =
            bytes < rows::SORTER_SPILL_BYTES / 4 && rows::sorter_block_memory(self.conn, true);
        let mut built = Ok(());
        for sql in &pending {
            built = rows::create_index(self.conn, sql);
            if built.is_err() {
                break;
            }
            // Each index is complete: its pages can go to the disk now.
            self.flush();
        }
        if block {
            rows::sorter_block_memory(self.conn, false);
        }
        built
    }

    /// Writes a bulk-loaded table's records (sorted by id, or a part of a streamed run: ids
    /// not written before) into the table (empty before this bundle). Runs of distinct ids go
    /// in multi-row inserts; a repeated id (a bundle may carry two versions of one record) goes
    /// through the full merge after the first.
    fn load_sorted(&mut self, t: usize, recs: &[Record]) -> Result<()> {
        let info = &self.tables[t];
        let k = ROWS_PER_INSERT;
        if info.name == "case_events" || self.gap.is_some() {
            for r in recs {
                self.merge(r)?;
            }
            return Ok(());
        }
        let id = info.meta.id;
        let mut i = 0;
        while i < recs.len() {
            if i > 0 && recs[i].text(id) == recs[i - 1].text(id) {
                self.merge(&recs[i])?;
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < recs.len() && j - i < k && recs[j].text(id) != recs[j - 1].text(id) {
                j += 1;
            }
            self.insert_run(t, &recs[i..j], k)?;
            i = j;
        }
        Ok(())
    }

    /// Inserts records with distinct ids, none of them here yet, in one statement.
    fn insert_run(&mut self, t: usize, run: &[Record], full: usize) -> Result<()> {
        let info = &self.tables[t];
        let conn = self.conn;
        let n = if run.len() == full {
            let st = match &mut self.many[t] {
                Some(st) => st,
                slot => slot.insert(bulk::Statement::prepare(
                    conn,
                    &rows::insert_many_sql(info.name, &info.columns, full),
                )?),
            };
            st.execute(run.iter().flat_map(|r| r.refs()))?
        } else {
            let sql = rows::insert_many_sql(info.name, &info.columns, run.len());
            bulk::Statement::prepare(conn, &sql)?.execute(run.iter().flat_map(|r| r.refs()))?
        };
        if n != run.len() {
            return Err(err(
                codes::BAD_RECORD,
                format!(
                    "合并“{}”时有记录未能写入（本机已有同编号的记录，或记录不符合本机的约束），数据包未导入。请重新导入；仍不成功时请联系发出单位重新导出",
                    info.name
                ),
            ));
        }
        for r in run {
            let v = r.text(info.meta.version);
            if v > self.max_stamp.as_str() {
                self.max_stamp.clear();
                self.max_stamp.push_str(v);
            }
            if let Some(vv) = &r.vv {
                if !vv.is_single(v) {
                    record_base::put(self.conn, r.text(info.meta.id), v, &vv.to_text())?;
                }
            }
        }
        self.counts.applied += run.len() as u64;
        self.unflushed += run.iter().map(|r| r.text_bytes() + 64).sum::<usize>();
        if self.unflushed >= FLUSH_EVERY {
            self.flush();
        }
        Ok(())
    }

    fn merge(&mut self, r: &Record) -> Result<()> {
        let info = &self.tables[r.table];
        let v = r.text(info.meta.version);
        if v > self.max_stamp.as_str() {
            self.max_stamp.clear();
            self.max_stamp.push_str(v);
        }
        let conn = self.conn;
        if let Some(gap) = &self.gap {
            if let Some(base) = waiting::must_wait(conn, self.me, info, r)? {
                waiting::park(conn, info, r, &base, gap)?;
                self.counts.waiting += 1;
                return Ok(());
            }
        }
        let insert = match &mut self.insert[r.table] {
            Some(st) => st,
            slot => slot.insert(rows::prepare_insert_new(conn, &info.insert_new)?),
        };
        match merge_record(conn, insert, self.me, info, r)? {
            Outcome::Applied => self.counts.applied += 1,
            Outcome::Unchanged => self.counts.unchanged += 1,
            Outcome::Conflict => {
                self.counts.applied += 1;
                self.counts.conflicts += 1;
            }
        }
        Ok(())
    }

    /// Rebuilds what is still dropped (a bulk table whose records never came).
    fn finish(mut self) -> Result<(Counts, String)> {
        for t in 0..self.tables.len() {
            self.build_indexes(t, usize::MAX)?;
        }
        if let Some(f) = self.flusher.take() {
            f.finish();
        }
        Ok((self.counts, self.max_stamp))
    }
}

fn bundles_sent_exists(conn: &Connection, bundle_id: &str, to: &str) -> Result<bool> {
    bundles_sent::exists(conn, bundle_id, to)
}

pub(super) enum Outcome {
    Applied,
    Unchanged,
    Conflict,
}

/// One version of a record this register keeps (the row, or a kept side of a conflict).
struct Head {
    version: String,
    vv: Vv,
    deleted: bool,
    edits: i64,
    /// None = the live row (read only if it must be kept as a losing side).
    row: Option<Vec<Value>>,
}

impl Head {
    fn rank(&self) -> Rank<'_> {
        Rank {
            deleted: self.deleted,
            edits: self.edits,
            version: &self.version,
        }
    }
}

pub(super) fn merge_record(
    conn: &Connection,
    insert: &mut rusqlite::Statement<'_>,
    me: &str,
    info: &TableInfo,
    r: &Record,
) -> Result<Outcome> {
    let m = info.meta;
    let id = r.text(m.id);
    let version = r.text(m.version);
    if info.name == "case_events" {
        return Ok(
            if rows::insert_or_ignore(conn, info.name, &info.columns, &r.values())? {
                Outcome::Applied
            } else {
                Outcome::Unchanged
            },
        );
    }
    // A record new here: one insert, and a base only when its vector says more than itself.
    if rows::insert_new(insert, r.refs())? {
        if let Some(vv) = &r.vv {
            if !vv.is_single(version) {
                record_base::put(conn, id, version, &vv.to_text())?;
            }
        }
        return Ok(Outcome::Applied);
    }
    let incoming_vv = r.vv.clone().unwrap_or_else(|| Vv::single(version));
    let Some((lv, lprev, ledits, ldeleted)) = rows::get_meta(conn, info.name, id)? else {
        rows::put_sql(conn, &info.upsert, &r.values())?;
        return Ok(Outcome::Applied);
    };
    if lv == version {
        return Ok(Outcome::Unchanged);
    }
    let local_vv = row_vv(conn, me, id, &lv, lprev.as_deref())?.unwrap_or_else(|| Vv::single(&lv));
    let mut heads = vec![Head {
        version: lv,
        vv: local_vv,
        deleted: ldeleted,
        edits: ledits,
        row: None,
    }];
    if record_heads::any_for(conn, id)? {
        for h in record_heads::list_for(conn, id)? {
            let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&h.row)?;
            let values: Vec<Value> = info
                .columns
                .iter()
                .map(|c| json_to_value(obj.get(c).unwrap_or(&serde_json::Value::Null)))
                .collect();
            heads.push(Head {
                vv: Vv::from_text(&h.vv).unwrap_or_else(|| Vv::single(&h.version)),
                deleted: matches!(values[m.deleted], Value::Integer(1)),
                edits: match values[m.edits] {
                    Value::Integer(n) => n,
                    _ => 1,
                },
                version: h.version,
                row: Some(values),
            });
        }
    }
    if heads
        .iter()
        .any(|h| h.version == version || h.vv.covers(version))
    {
        return Ok(Outcome::Unchanged);
    }
    let had_conflict = heads.len() > 1;
    let mut kept: Vec<Head> = Vec::with_capacity(heads.len() + 1);
    for mut h in heads {
        if incoming_vv.covers(&h.version) {
            continue;
        }
        if h.row.is_none() {
            h.row = rows::get(conn, info.name, id)?;
        }
        kept.push(h);
    }
    kept.push(Head {
        version: version.to_string(),
        vv: incoming_vv,
        deleted: r.int(m.deleted) == 1,
        edits: r.int(m.edits),
        row: Some(r.values()),
    });
    let mut win = 0;
    for i in 1..kept.len() {
        if wins_over(&kept[i].rank(), &kept[win].rank()) {
            win = i;
        }
    }
    let winner = kept.swap_remove(win);
    let live_unchanged = winner.row.is_none();
    if !live_unchanged {
        if let Some(values) = &winner.row {
            rows::put(conn, info.name, &info.columns, values)?;
        }
        record_base::put(conn, id, &winner.version, &winner.vv.to_text())?;
    }
    let losers: Vec<record_heads::Row> = kept
        .iter()
        .map(|h| record_heads::Row {
            id: id.to_string(),
            version: h.version.clone(),
            tbl: info.name.to_string(),
            vv: h.vv.to_text(),
            row: row_json(info, h.row.as_deref().unwrap_or(&[])),
        })
        .collect();
    if had_conflict || !losers.is_empty() {
        record_heads::put_all(conn, id, &losers)?;
    }
    Ok(if losers.is_empty() {
        Outcome::Applied
    } else {
        Outcome::Conflict
    })
}

/// A row as a JSON object (column → value), for keeping a losing side.
pub fn row_json(info: &TableInfo, values: &[Value]) -> String {
    let mut obj = serde_json::Map::new();
    for (c, v) in info.columns.iter().zip(values) {
        obj.insert(c.clone(), value_json(v));
    }
    serde_json::Value::Object(obj).to_string()
}

pub fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Integer(n) => (*n).into(),
        Value::Real(f) => (*f).into(),
        Value::Text(s) => s.clone().into(),
        Value::Blob(b) => hex::encode(b).into(),
    }
}

/// Records a clerk's decision about a held bundle: accept (apply it now) or refuse.
pub fn decide_held(
    reg: &mut Register,
    hash_prefix: &str,
    accept: bool,
    reason: &str,
    actor: &Actor,
) -> Result<ImportReport> {
    if reason.trim().is_empty() {
        return Err(err(codes::MALFORMED, "请用 --reason 写明处理理由"));
    }
    let held = bundles_received::list_by_status(reg.conn(), "held")?;
    let matches: Vec<_> = held
        .iter()
        .filter(|b| b.hash.starts_with(hash_prefix) || b.bundle_id == hash_prefix)
        .collect();
    let b = match matches.as_slice() {
        [one] => (*one).clone(),
        [] => {
            return Err(err(
                codes::NOT_FOUND,
                format!("没有编号为 {hash_prefix} 的暂扣数据包"),
            ))
        }
        _ => return Err(err(codes::NOT_FOUND, "编号前缀对应多个暂扣数据包，请写全")),
    };
    let file = bundles_received::get_file(reg.conn(), &b.hash)?
        .ok_or_else(|| err(codes::NOT_FOUND, "暂扣数据包的文件未保存"))?;
    {
        let w = reg.writer(actor)?;
        decisions::insert_bundle(
            w.conn(),
            &b.hash,
            if accept { "accept_held" } else { "refuse_held" },
            &actor.now.to_rfc3339(),
            &actor.operator,
            reason,
        )?;
        if !accept {
            bundles_received::set_status(w.conn(), &b.hash, "refused", Some("refused_by_clerk"))?;
        }
        w.commit()?;
    }
    if !accept {
        let mut r = ImportReport::new(&b.bundle_id);
        r.bundle_id = Some(b.bundle_id.clone());
        r.from_site = Some(b.from_site.clone());
        r.reason = Some("refused_by_clerk".into());
        r.message = Some(format!("已按人工决定拒收：{reason}"));
        return Ok(r);
    }
    Ok(import_with(
        reg,
        file,
        &b.bundle_id,
        actor,
        Overrides {
            accept_clock_ahead: true,
        },
    ))
}

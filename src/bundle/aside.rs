//! Building bulk tables aside, on the second core (see `store::aside`). A bulk merge (large
//! tables arriving into empty ones, typically a full bundle for a new county laptop) used to
//! write every table on the register's connection, one core, while the decoding thread finished
//! early and waited. Now the decoding thread, once it has gathered a table that `plan` put
//! aside, writes that table into a private in-memory database (sorted rows, then its indexes)
//! and hands the database over; the writer copies it in with SQLite's transfer optimisation,
//! which moves the stored rows and index entries without re-encoding or sorting them.
//!
//! The merge stays one transaction on the register: the aside database is only ever read by it.
//! The result is the same either way (same rows, same rowids in id order, same indexes), so
//! which tables go aside only changes the speed.

use super::payload::{Record, TableInfo};
use crate::error::Result;
use crate::store::{aside, bulk, rows};
use rusqlite::Connection;

/// Which bulk tables to build aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// The tables that make the merge end soonest by a model of the two threads (`fastest`).
    #[default]
    Balanced,
    /// Every table that can be (tests).
    All,
    /// None: everything on the register's connection.
    Off,
}

/// What the decoding thread builds a table aside from: the register's statements for the table
/// and its indexes (the transfer needs the same on both sides).
#[derive(Debug, Clone)]
pub struct Plan {
    pub table: String,
    /// Indexes leading with the id: they grow by appending as the sorted rows arrive.
    pub first: Vec<String>,
    /// The other indexes, built once the rows are in.
    pub later: Vec<String>,
}

/// Per table: `Some` when it is built aside. `bulk[t]` says whether table `t` is loaded in bulk,
/// `counts[t]` how many records it brings, `pending[t]` how many indexes it rebuilds.
pub fn plan(
    conn: &Connection,
    tables: &[TableInfo],
    bulk: &[bool],
    counts: &[u64],
    pending: &[usize],
    policy: Policy,
) -> Result<Vec<Option<Plan>>> {
    let mut out: Vec<Option<Plan>> = vec![None; tables.len()];
    let mut eligible = Vec::new();
    for (t, info) in tables.iter().enumerate() {
        if bulk[t] && info.name != "case_events" && !aside::has_triggers(conn, info.name)? {
            eligible.push(t);
        }
    }
    let chosen: Vec<usize> = match policy {
        Policy::Off => Vec::new(),
        Policy::All => eligible,
        Policy::Balanced => fastest(&eligible, bulk, counts, pending),
    };
    for t in chosen {
        let mut p = Plan {
            table: aside::table_sql(conn, tables[t].name)?,
            first: Vec::new(),
            later: Vec::new(),
        };
        for (name, sql) in rows::secondary_indexes(conn, tables[t].name)? {
            if rows::index_leads_with_id(conn, &name)? {
                p.first.push(sql);
            } else {
                p.later.push(sql);
            }
        }
        out[t] = Some(p);
    }
    Ok(out)
}

/// The set of eligible tables whose building aside ends the merge soonest, by a small model of
/// the two threads (costs in units of about 1.3 µs on this project's 2-core machine, from
/// per-thread CPU times of a 200k-child full bundle):
/// - the decoding thread decodes every record (3.5 units each), in bundle order;
/// - writing a bulk table costs its rows times (2 + its rebuilt indexes) on the writer, or
///   three quarters of that on the decoding thread (an in-memory database, no journal) plus a
///   quarter of it for the writer's copy;
/// - a record merged one by one costs the writer 8 units;
/// - the writer starts on a table once the decoding thread has handed it over.
///
/// A 200k-child bundle sends enrolments (the last large table) aside: the decoding thread
/// builds it while the writer is still busy with children and guardians.
fn fastest(eligible: &[usize], bulk: &[bool], counts: &[u64], pending: &[usize]) -> Vec<usize> {
    // At most 2^8 sets; more eligible tables than that do not exist (11 travelling tables, one
    // of them append-only), the rest stay on the writer.
    let eligible = &eligible[..eligible.len().min(8)];
    let end = |aside: &[usize]| -> u64 {
        let (mut dec, mut writer) = (0u64, 0u64);
        for t in 0..counts.len() {
            let n = counts[t];
            dec += n * 7 / 2;
            let work = n * (2 + pending[t] as u64);
            if !bulk[t] {
                writer = writer.max(dec) + n * 8;
            } else if aside.contains(&t) {
                dec += work * 3 / 4;
                writer = writer.max(dec) + work / 4;
            } else {
                writer = writer.max(dec) + work;
            }
        }
        writer.max(dec)
    };
    let mut best = (end(&[]), Vec::new());
    for mask in 1u32..(1 << eligible.len()) {
        let set: Vec<usize> = (0..eligible.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| eligible[i])
            .collect();
        let e = end(&set);
        if e < best.0 || (e == best.0 && set.len() < best.1.len()) {
            best = (e, set);
        }
    }
    best.1
}

/// A table built aside, ready to be copied in.
pub struct Built {
    /// The aside database's connection: it keeps the database alive until the writer has
    /// attached it.
    pub conn: Connection,
    pub name: String,
    pub rows: u64,
    /// The greatest version among its records.
    pub max_stamp: String,
    /// (id, version, version vector) of records whose vector says more than their version
    /// (`record_base`, written by the writer).
    pub bases: Vec<(String, String, String)>,
}

/// Records per multi-row insert.
const ROWS_PER_INSERT: usize = 64;

/// Builds table `info` from its records (sorted by id, as `gather` hands them). `None` when the
/// records cannot be loaded as plain new rows (an id twice: two versions of one record, which
/// only the full merge can decide between); the writer then merges them itself.
pub fn build(plan: &Plan, info: &TableInfo, recs: &[Record]) -> Result<Option<Built>> {
    let id = info.meta.id;
    if recs.windows(2).any(|w| w[0].text(id) == w[1].text(id)) {
        return Ok(None);
    }
    let (conn, name) = aside::open()?;
    aside::create(&conn, &plan.table)?;
    for sql in &plan.first {
        aside::create(&conn, sql)?;
    }
    let mut max_stamp = String::new();
    let mut bases = Vec::new();
    {
        conn.execute_batch("BEGIN")?;
        let mut many = bulk::Statement::prepare(
            &conn,
            &rows::insert_many_sql(info.name, &info.columns, ROWS_PER_INSERT),
        )?;
        for run in recs.chunks(ROWS_PER_INSERT) {
            let n = if run.len() == ROWS_PER_INSERT {
                many.execute(run.iter().flat_map(|r| r.refs()))?
            } else {
                let sql = rows::insert_many_sql(info.name, &info.columns, run.len());
                bulk::Statement::prepare(&conn, &sql)?.execute(run.iter().flat_map(|r| r.refs()))?
            };
            if n != run.len() {
                return Ok(None);
            }
        }
        drop(many);
        for r in recs {
            let v = r.text(info.meta.version);
            if v > max_stamp.as_str() {
                max_stamp.clear();
                max_stamp.push_str(v);
            }
            if let Some(vv) = &r.vv {
                if !vv.is_single(v) {
                    bases.push((r.text(id).to_string(), v.to_string(), vv.to_text()));
                }
            }
        }
        // The sorter keeps its keys in one block of memory and, with the aside database's
        // 512 MiB cache, spills to a file only past that: tables whose text is a quarter of it
        // never touch the disk (as in the writer's rebuilds).
        let bytes: usize = recs.iter().map(|r| r.text_bytes() + 64).sum();
        let block = bytes < rows::SORTER_SPILL_BYTES / 4 && rows::sorter_block_memory(&conn, true);
        let built = plan
            .later
            .iter()
            .try_for_each(|sql| aside::create(&conn, sql));
        if block {
            rows::sorter_block_memory(&conn, false);
        }
        built?;
        conn.execute_batch("COMMIT")?;
    }
    Ok(Some(Built {
        conn,
        name,
        rows: recs.len() as u64,
        max_stamp,
        bases,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_county_bundle_builds_its_last_large_table_aside() {
        // households, children, guardians, enrolments, case events (not bulk); children have
        // triggers, case events are append-only: neither is eligible.
        let bulk = [true, true, true, true, false];
        let counts = [100_000, 200_000, 200_000, 180_000, 10];
        let pending = [1, 5, 1, 3, 0];
        assert_eq!(fastest(&[0, 2, 3], &bulk, &counts, &pending), vec![3]);
        // A lone large table gains nothing from going aside: its copy only adds to the end.
        assert_eq!(
            fastest(&[0], &[true, false], &[100_000, 10], &[1, 0]),
            Vec::<usize>::new()
        );
    }
}

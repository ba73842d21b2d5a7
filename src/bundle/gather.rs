//! Gathering the records of a table loaded in bulk (a large table arriving into an empty one
//! here, typically a full bundle for a new county laptop), on the decoding thread. A table the
//! writer loads itself is handed on in parts while it is still being decoded, in bundle order
//! (`Batch::Run`), when its first part arrives in ascending id order (the sender's ids count
//! up): the writer starts on it at once instead of waiting for its last record, and no record
//! is sorted or copied. A run whose first part is out of order is gathered whole, sorted by id
//! and laid out again in that order, as before (on such a bundle the writer spent ≈ 0.7 s more
//! CPU on rows in bundle order, measured under load). An id that comes twice (two versions of
//! one record) is kept back and merged after the table. A table built aside (`aside`) is always
//! gathered whole and sorted, and handed over as one batch (`Batch::Table`).

use super::aside::Built;
use super::payload::Record;
use std::collections::HashSet;

/// What the decoding side hands the writing one.
pub enum Batch {
    /// Records in bundle order.
    Records(Vec<Record>),
    /// Every record of a bulk-loaded table's first run in the bundle, sorted by id.
    Table(usize, Vec<Record>),
    /// Part of a bulk-loaded table's first run, handed on while the run is still arriving, in
    /// bundle order, so that the writer starts on the table before its last record is decoded.
    /// No id comes twice in a table's parts (a second version of a record follows the last
    /// part as `Records`, for the full merge). The writer rebuilds the table's indexes after the
    /// last part (`end`).
    Run {
        table: usize,
        records: Vec<Record>,
        end: bool,
    },
    /// The same, built aside by the decoding thread (`aside`), to be copied in.
    Aside(usize, Built),
}

/// Records of a streamed run handed on at a time, at most.
pub const RUN_PART: usize = 4096;

/// Splits the decoded records into batches (see the module comment). `bulk[t]` says whether
/// table `t` is loaded in bulk; only the table's first run is gathered (a table that a bundle
/// splits into several runs gets its later records merged one by one, its indexes back).
pub struct Gatherer {
    /// Per table: the position of its id column.
    id_cols: Vec<usize>,
    bulk: Vec<bool>,
    /// Per table: whether its first run is handed on in parts while it arrives (`Batch::Run`)
    /// instead of gathered and sorted whole.
    stream: Vec<bool>,
    /// Records per part of a streamed run.
    part: usize,
    current: Option<usize>,
    gathered: Vec<Record>,
    /// The id keys of the streamed run so far, and its records whose id came before.
    seen: HashSet<u128>,
    again: Vec<Record>,
    /// Whether a part of the current run was handed on: only a run whose first part came in
    /// ascending id order is streamed.
    sent_any: bool,
}

/// The sort key of an id: a UUID's number (its text order), or the greatest key when the id is
/// not a UUID.
fn key(r: &Record, id: usize) -> u128 {
    uuid::Uuid::try_parse(r.text(id)).map_or(u128::MAX, |u| u.as_u128())
}

impl Gatherer {
    /// `id_cols[t]` is the position of table `t`'s id column.
    pub fn new(id_cols: Vec<usize>, bulk: &[bool]) -> Gatherer {
        let n = bulk.len();
        Gatherer {
            id_cols,
            bulk: bulk.to_vec(),
            stream: vec![false; n],
            part: RUN_PART,
            current: None,
            gathered: Vec::new(),
            seen: HashSet::new(),
            again: Vec::new(),
            sent_any: false,
        }
    }

    /// Lets the bulk tables `stream[t]` be handed on in parts of `part` records while they
    /// arrive.
    pub fn streaming(mut self, stream: &[bool], part: usize) -> Gatherer {
        self.part = part.max(1);
        self.stream = stream.to_vec();
        self.stream.resize(self.bulk.len(), false);
        self
    }

    /// Takes one chunk of decoded records; `out` returns false to stop (then so does this).
    pub fn push(&mut self, chunk: Vec<Record>, out: &mut impl FnMut(Batch) -> bool) -> bool {
        if self.current.is_none() && !chunk.iter().any(|r| self.bulk[r.table]) {
            return chunk.is_empty() || out(Batch::Records(chunk));
        }
        let mut pass = Vec::new();
        for r in chunk {
            if self.current.is_some_and(|t| t != r.table) && !self.flush(out) {
                return false;
            }
            if self.bulk[r.table] {
                if !pass.is_empty() && !out(Batch::Records(std::mem::take(&mut pass))) {
                    return false;
                }
                let t = r.table;
                self.current = Some(t);
                if !self.stream[t] {
                    self.gathered.push(r);
                    continue;
                }
                if !self.seen.insert(key(&r, self.id_cols[t])) {
                    self.again.push(r);
                    continue;
                }
                self.gathered.push(r);
                if self.gathered.len() >= self.part {
                    let id = self.id_cols[t];
                    let ascending = || {
                        self.gathered
                            .windows(2)
                            .all(|w| key(&w[0], id) < key(&w[1], id))
                    };
                    if !self.sent_any && !ascending() {
                        // Ids that do not count up: gathered whole and sorted (see the module
                        // comment).
                        self.stream[t] = false;
                        self.seen = HashSet::new();
                        let again = std::mem::take(&mut self.again);
                        self.gathered.extend(again);
                        continue;
                    }
                    self.sent_any = true;
                    let part = std::mem::take(&mut self.gathered);
                    if !out(Batch::Run {
                        table: t,
                        records: part,
                        end: false,
                    }) {
                        return false;
                    }
                }
            } else {
                pass.push(r);
            }
        }
        pass.is_empty() || out(Batch::Records(pass))
    }

    /// Hands on the table being gathered, if any (call once the records end).
    pub fn finish(&mut self, out: &mut impl FnMut(Batch) -> bool) -> bool {
        self.current.is_none() || self.flush(out)
    }

    fn flush(&mut self, out: &mut impl FnMut(Batch) -> bool) -> bool {
        let Some(t) = self.current.take() else {
            return true;
        };
        self.bulk[t] = false;
        let gathered = std::mem::take(&mut self.gathered);
        if !self.stream[t] {
            return out(Batch::Table(t, sort_by_id(gathered, self.id_cols[t])));
        }
        self.seen = HashSet::new();
        self.sent_any = false;
        let again = std::mem::take(&mut self.again);
        out(Batch::Run {
            table: t,
            records: gathered,
            end: true,
        }) && (again.is_empty() || out(Batch::Records(again)))
    }
}

/// The records sorted by their id column (text order; ties keep bundle order). A table that
/// arrives in id order (a register whose ids count up exports its rows so) is handed on as it
/// is; otherwise each record is copied anew in that order, so that the records lie in memory
/// in the order the writer reads them.
fn sort_by_id(records: Vec<Record>, id: usize) -> Vec<Record> {
    // Sort small keys, not the records: a UUID's text order is its number's order.
    let mut keys: Vec<(u128, u32)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (key(r, id), i as u32))
        .collect();
    if keys.windows(2).all(|w| w[0].0 < w[1].0) {
        return records;
    }
    keys.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let (x, y) = (&records[a.1 as usize], &records[b.1 as usize]);
            x.text(id).cmp(y.text(id)).then(a.1.cmp(&b.1))
        })
    });
    keys.into_iter()
        .map(|(_, i)| records[i as usize].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::types::Value;

    fn rec(table: usize, id: &str) -> Record {
        Record::from_values(table, &[Value::Text(id.into())], None)
    }

    /// A batch as the tests expect it: `r:` records one by one, `tN:` table N gathered whole,
    /// `aN:` built aside, `pN:` a streamed part (`pN!:` its last).
    fn describe(b: Batch) -> String {
        match b {
            Batch::Records(v) => format!("r:{}", ids(&v)),
            Batch::Table(t, v) => format!("t{t}:{}", ids(&v)),
            Batch::Aside(t, b) => format!("a{t}:{}", b.rows),
            Batch::Run {
                table,
                records,
                end,
                ..
            } => format!("p{table}{}:{}", if end { "!" } else { "" }, ids(&records)),
        }
    }

    #[test]
    fn only_the_first_run_of_a_bulk_table_is_gathered_and_sorted_in_bundle_order() {
        let mut g = Gatherer::new(vec![0, 0], &[false, true]);
        let mut got = Vec::new();
        let mut out = |b: Batch| {
            got.push(describe(b));
            true
        };
        let u = |n: u8| format!("01a04d1a-ff10-7000-800e-0000000000{n:02}");
        assert!(g.push(vec![rec(0, "x"), rec(1, &u(3)), rec(1, &u(1))], &mut out));
        assert!(g.push(vec![rec(1, &u(2)), rec(0, "y"), rec(1, &u(9))], &mut out));
        assert!(g.finish(&mut out));
        assert_eq!(
            got,
            vec![
                "r:x".to_string(),
                format!("t1:{},{},{}", u(1), u(2), u(3)),
                format!("r:y,{}", u(9)),
            ]
        );
    }

    #[test]
    fn a_streamed_run_is_handed_on_in_parts_in_bundle_order_and_a_repeated_id_comes_after_it() {
        let u = |n: u8| format!("01a04d1a-ff10-7000-800e-0000000000{n:02}");
        let run = |stream: bool, recs: Vec<Record>| {
            let mut g = Gatherer::new(vec![0, 0], &[false, true]).streaming(&[false, stream], 2);
            let mut got = Vec::new();
            let mut out = |b: Batch| {
                got.push(describe(b));
                true
            };
            for r in recs {
                assert!(g.push(vec![r], &mut out));
            }
            assert!(g.finish(&mut out));
            got
        };
        let recs = vec![
            rec(0, "x"),
            rec(1, &u(5)),
            rec(1, &u(7)),
            rec(1, &u(3)),
            rec(1, &u(7)),
            rec(1, &u(8)),
            rec(1, &u(5)),
            rec(1, &u(9)),
            rec(0, "y"),
            rec(1, &u(1)),
        ];
        // Parts in bundle order, the last one marked; the second versions of 7 and 5 after it,
        // one by one; the table's later run as plain records.
        assert_eq!(
            run(true, recs.clone()),
            vec![
                "r:x".to_string(),
                format!("p1:{},{}", u(5), u(7)),
                format!("p1:{},{}", u(3), u(8)),
                format!("p1!:{}", u(9)),
                format!("r:{},{}", u(7), u(5)),
                "r:y".to_string(),
                format!("r:{}", u(1)),
            ]
        );
        // A first part out of id order: the run is gathered whole and sorted after all.
        assert_eq!(
            run(
                true,
                vec![rec(1, &u(5)), rec(1, &u(4)), rec(1, &u(6)), rec(1, &u(4))]
            ),
            vec![format!("t1:{},{},{},{}", u(4), u(4), u(5), u(6))]
        );
        // Not streamed: one table sorted by id, as before.
        assert_eq!(
            run(false, recs),
            vec![
                "r:x".to_string(),
                format!(
                    "t1:{},{},{},{},{},{},{}",
                    u(3),
                    u(5),
                    u(5),
                    u(7),
                    u(7),
                    u(8),
                    u(9)
                ),
                "r:y".to_string(),
                format!("r:{}", u(1)),
            ]
        );
    }

    fn ids(v: &[Record]) -> String {
        v.iter().map(|r| r.text(0)).collect::<Vec<_>>().join(",")
    }
}

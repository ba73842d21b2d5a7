//! Gathering the records of a table loaded in bulk (a large table arriving into an empty one
//! here, typically a full bundle for a new county laptop), on the decoding thread: the records
//! of the table's run in the bundle are collected, sorted by id (so the id index only ever
//! appends) and laid out again in that order (so the writer reads them front to back instead of
//! chasing scattered allocations). The writer then gets the whole table as one batch and
//! rebuilds the table's secondary indexes right after it.

use super::aside::Built;
use super::payload::Record;

/// What the decoding side hands the writing one.
pub enum Batch {
    /// Records in bundle order.
    Records(Vec<Record>),
    /// Every record of a bulk-loaded table's first run in the bundle, sorted by id.
    Table(usize, Vec<Record>),
    /// The same, built aside by the decoding thread (`aside`), to be copied in.
    Aside(usize, Built),
}

/// Splits the decoded records into batches (see the module comment). `bulk[t]` says whether
/// table `t` is loaded in bulk; only the table's first run is gathered (a table that a bundle
/// splits into several runs gets its later records merged one by one, its indexes back).
pub struct Gatherer {
    /// Per table: the position of its id column.
    id_cols: Vec<usize>,
    bulk: Vec<bool>,
    current: Option<usize>,
    gathered: Vec<Record>,
}

impl Gatherer {
    /// `id_cols[t]` is the position of table `t`'s id column.
    pub fn new(id_cols: Vec<usize>, bulk: &[bool]) -> Gatherer {
        Gatherer {
            id_cols,
            bulk: bulk.to_vec(),
            current: None,
            gathered: Vec::new(),
        }
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
                self.current = Some(r.table);
                self.gathered.push(r);
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
        out(Batch::Table(t, sort_by_id(gathered, self.id_cols[t])))
    }
}

/// The records sorted by their id column (text order; ties keep bundle order), each copied
/// anew in that order so that they lie in memory in the order they are read.
fn sort_by_id(records: Vec<Record>, id: usize) -> Vec<Record> {
    // Sort small keys, not the records: a UUID's text order is its number's order.
    let mut keys: Vec<(u128, u32)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let k = uuid::Uuid::try_parse(r.text(id)).map_or(u128::MAX, |u| u.as_u128());
            (k, i as u32)
        })
        .collect();
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

    #[test]
    fn only_the_first_run_of_a_bulk_table_is_gathered_and_sorted_in_bundle_order() {
        let mut g = Gatherer::new(vec![0, 0], &[false, true]);
        let mut got = Vec::new();
        let mut out = |b: Batch| {
            got.push(match b {
                Batch::Records(v) => format!("r:{}", ids(&v)),
                Batch::Table(t, v) => format!("t{t}:{}", ids(&v)),
                Batch::Aside(t, b) => format!("a{t}:{}", b.rows),
            });
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

    fn ids(v: &[Record]) -> String {
        v.iter().map(|r| r.text(0)).collect::<Vec<_>>().join(",")
    }
}

//! Version vectors and the winner rule.
//!
//! Every version of a record carries a version vector: for each site that edited the record
//! along its history, the latest stamp of that site's edits. Version X is superseded by version Y
//! when `Y.vv[X.site] >= X.version` (X's site had made X before making an edit on Y's line, or Y
//! was made by a site that had received X). Two versions neither of which supersedes the other
//! are concurrent: a conflict. Among concurrent versions every register picks the same winner by
//! one total order over the versions themselves (`wins_over`), never by arrival order.

use std::collections::BTreeMap;

/// Site id → the latest stamp (text form) of that site's edits in a version's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vv(pub BTreeMap<String, String>);

/// The site part of a stamp's text form `{ms:015}-{counter:06}-{site}`.
pub fn stamp_site(version: &str) -> &str {
    let b = version.as_bytes();
    if b.len() > 23 && b[15] == b'-' && b[22] == b'-' {
        // The usual shape: 15 digits, dash, 6 digits, dash.
        return version.get(23..).unwrap_or("");
    }
    version.splitn(3, '-').nth(2).unwrap_or("")
}

impl Vv {
    /// The vector of a version that knows nothing but itself.
    pub fn single(version: &str) -> Vv {
        let mut m = BTreeMap::new();
        m.insert(stamp_site(version).to_string(), version.to_string());
        Vv(m)
    }

    /// Adds a stamp (keeps the larger per site).
    pub fn add(&mut self, version: &str) {
        let site = stamp_site(version).to_string();
        match self.0.get(&site) {
            Some(old) if old.as_str() >= version => {}
            _ => {
                self.0.insert(site, version.to_string());
            }
        }
    }

    pub fn join(&mut self, other: &Vv) {
        for v in other.0.values() {
            self.add(v);
        }
    }

    /// Whether this vector supersedes (or equals) the given version.
    pub fn covers(&self, version: &str) -> bool {
        self.0
            .get(stamp_site(version))
            .is_some_and(|v| v.as_str() >= version)
    }

    /// Whether the vector says no more than `single(version)`.
    pub fn is_single(&self, version: &str) -> bool {
        self.0.len() == 1 && self.covers(version)
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_text(text: &str) -> Option<Vv> {
        serde_json::from_str(text).ok().map(Vv)
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Vv> {
        let obj = v.as_object()?;
        let mut m = BTreeMap::new();
        for (k, v) in obj {
            let s = v.as_str()?;
            if stamp_site(s) != k || s.parse::<crate::hlc::Stamp>().is_err() {
                return None;
            }
            m.insert(k.clone(), s.to_string());
        }
        Some(Vv(m))
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        )
    }
}

/// Called by `Writer::next_meta` before a local edit: when the record's current version came from
/// another site, remembers it as the base the local edits descend from (merges store a base only
/// when a version's vector says more than the version itself). A failure here loses no data (at
/// worst a later conflict is listed that a person closes), so it is not an error.
pub fn note_local_edit(conn: &rusqlite::Connection, me: &str, old: &crate::domain::Meta) {
    if old.version.site == me {
        return;
    }
    let v = old.version.to_string();
    let _ = crate::store::record_base::put_if_other(conn, &old.id, &v, &Vv::single(&v).to_text());
}

/// What the winner rule looks at in a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rank<'a> {
    pub deleted: bool,
    pub edits: i64,
    pub version: &'a str,
}

/// The total order of ARCHITECTURE.md ("Bundles"): live before deleted, then the longer edit
/// chain, then the later stamp (ms, counter, then site id). Two distinct versions never tie: a
/// stamp names its site, and one site never issues one stamp twice (a copied register that does
/// is a fork, caught by the chain check before any merge).
pub fn wins_over(a: &Rank<'_>, b: &Rank<'_>) -> bool {
    (!a.deleted, a.edits, a.version) > (!b.deleted, b.edits, b.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(ms: i64, site: &str) -> String {
        crate::hlc::Stamp::new(ms, 0, site).to_string()
    }

    #[test]
    fn covers_and_join() {
        let mut a = Vv::single(&st(10, "A"));
        assert!(a.covers(&st(10, "A")));
        assert!(a.covers(&st(9, "A")));
        assert!(!a.covers(&st(11, "A")));
        assert!(!a.covers(&st(1, "B")));
        a.join(&Vv::single(&st(5, "B")));
        assert!(a.covers(&st(5, "B")));
        assert_eq!(Vv::from_text(&a.to_text()).unwrap(), a);
    }

    #[test]
    fn live_beats_deleted_then_longer_chain_then_later_stamp() {
        let (s1, s2) = (st(1, "A"), st(2, "B"));
        let live = Rank {
            deleted: false,
            edits: 1,
            version: &s1,
        };
        let dead = Rank {
            deleted: true,
            edits: 5,
            version: &s2,
        };
        assert!(wins_over(&live, &dead) && !wins_over(&dead, &live));
        let long = Rank {
            deleted: false,
            edits: 3,
            version: &s1,
        };
        let late = Rank {
            deleted: false,
            edits: 2,
            version: &s2,
        };
        assert!(wins_over(&long, &late));
    }
}

//! One child, many records: the village enters a child on its roster and the school from its roll
//! sheet, as two records from two sites.
//!
//! - Records sharing a normalised ID number (or a G-form 学籍号), i.e. the same `id_key`, are one
//!   person by that key alone: nothing in the schema makes two records with one key clash, so a
//!   merge never fails on it.
//! - Records with the same name and birth date, at least one without an ID, in the same village
//!   (or one whose village is unknown, as a school pupil's) are *probable duplicates*
//!   (`baoxue person duplicates`), for a person to confirm (`baoxue person confirm A B`) or
//!   reject (`baoxue person reject A B`).
//! - That decision is a travelling record (`person_links`) and goes out in the next bundle like
//!   any edit. Its id is derived from the pair, so two sites deciding about one pair make two
//!   versions of one record: the same decision twice changes nothing, and two different
//!   decisions are an ordinary conflict, listed and decided by the same rule on every register.
//! - The one-child file (`baoxue child show`) shows every record linked by key or by a "same"
//!   decision (`linked_children`).

use crate::domain::{Child, Meta};
use crate::error::{Error, Result};
use crate::register::{Actor, Register, Writer};
use crate::store;
use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, VecDeque};

/// A decision that two child records are (`same`) or are not (`different`) one child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonLink {
    pub meta: Meta,
    /// The smaller of the two record ids.
    pub child_id: String,
    pub other_child_id: String,
    /// `same` or `different`.
    pub decision: String,
    pub reason: String,
    pub decided_by: String,
}

/// The link id of a pair, the same on every register whatever the order of the two ids: a
/// UUID (version 8) made from the SHA-256 of the ordered pair.
pub fn link_id(a: &str, b: &str) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let digest = Sha256::digest(format!("baoxue-person-link\n{lo}\n{hi}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes).to_string()
}

fn live_child(conn: &Connection, id: &str) -> Result<Child> {
    store::children::get(conn, id.trim())?
        .filter(|c| !c.meta.deleted)
        .ok_or_else(|| {
            Error::Other(format!(
                "未找到儿童记录 {id}（请用 `baoxue person duplicates` 查看疑似重复的记录编号）"
            ))
        })
}

/// Records a person's decision about two child records, in one transaction, audited. The same
/// decision already in force changes nothing.
pub fn decide(
    reg: &mut Register,
    a: &str,
    b: &str,
    same: bool,
    reason: &str,
    actor: &Actor,
) -> Result<PersonLink> {
    if reason.trim().is_empty() {
        return Err(Error::Other("请用 --reason 写明核实情况".into()));
    }
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return Err(Error::Other("两个编号是同一条记录，无需确认".into()));
    }
    let mut w = reg.writer(actor)?;
    let ca = live_child(w.conn(), a)?;
    let cb = live_child(w.conn(), b)?;
    if same {
        if let (Some(x), Some(y)) = (&ca.id_key, &cb.id_key) {
            if x != y {
                return Err(Error::Other(
                    "两条记录的身份证号不同，是两个人，不能确认为同一儿童；请核实后修改错误的身份证号"
                        .into(),
                ));
            }
        }
    }
    let action = if same { "confirm_same" } else { "reject_same" };
    let (link, written) = write_decision(&mut w, a, b, same, reason.trim(), action)?;
    if written {
        w.commit()?;
    }
    Ok(link)
}

/// Writes the decision about records `a` and `b` inside an open write, audited as `action`;
/// the same decision already in force writes nothing (`false`). The caller has checked that
/// both records exist. Used by [`decide`] and by the cross-check's rejection of a probable
/// match (`crosscheck::confirm::reject_match`), so that both decisions travel the same way.
pub(crate) fn write_decision(
    w: &mut Writer<'_>,
    a: &str,
    b: &str,
    same: bool,
    reason: &str,
    action: &str,
) -> Result<(PersonLink, bool)> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let decision = if same { "same" } else { "different" };
    let id = link_id(lo, hi);
    let old = store::person_links::get(w.conn(), &id)?;
    if let Some(o) = &old {
        if !o.meta.deleted && o.decision == decision {
            return Ok((o.clone(), false));
        }
    }
    let meta = match &old {
        Some(o) => {
            let mut m = w.next_meta(&o.meta);
            m.deleted = false;
            m
        }
        None => Meta {
            id: id.clone(),
            ..w.new_meta()
        },
    };
    let link = PersonLink {
        meta,
        child_id: lo.to_string(),
        other_child_id: hi.to_string(),
        decision: decision.into(),
        reason: reason.to_string(),
        decided_by: w.actor().operator.clone(),
    };
    store::person_links::put(w.conn(), &link)?;
    w.audit(
        "person_links",
        &id,
        action,
        &["child_id", "other_child_id", "decision", "reason"],
    )?;
    Ok((link, true))
}

/// A probable duplicate for a person to confirm or reject, with the decision if one was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probable {
    pub child_id: String,
    pub other_child_id: String,
    pub name: String,
    pub birth_date: String,
    pub village: Option<String>,
    pub other_village: Option<String>,
    pub origin_site: String,
    pub other_origin_site: String,
    /// `null` (undecided), `same` or `different`.
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
}

/// Every probable duplicate pair, undecided ones first.
pub fn probable(conn: &Connection) -> Result<Vec<Probable>> {
    let mut out = Vec::new();
    for p in store::person_links::list_name_birth_pairs(conn)? {
        if let (Some(x), Some(y)) = (&p.a_village, &p.b_village) {
            if x != y {
                continue;
            }
        }
        if let (Some(x), Some(y)) = (&p.a_key, &p.b_key) {
            if x != y {
                continue;
            }
        }
        let link =
            store::person_links::get(conn, &link_id(&p.a, &p.b))?.filter(|l| !l.meta.deleted);
        out.push(Probable {
            child_id: p.a,
            other_child_id: p.b,
            name: p.name,
            birth_date: p.birth_date,
            village: p.a_village,
            other_village: p.b_village,
            origin_site: p.a_origin,
            other_origin_site: p.b_origin,
            decision: link.as_ref().map(|l| l.decision.clone()),
            decided_by: link.as_ref().map(|l| l.decided_by.clone()),
            reason: link.map(|l| l.reason),
        });
    }
    out.sort_by_key(|p| p.decision.is_some());
    Ok(out)
}

/// Every other live record of the same child: by shared `id_key` and by "same" decisions,
/// followed transitively. Sorted by record id.
pub fn linked_children(conn: &Connection, first: &Child) -> Result<Vec<Child>> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    seen.insert(first.meta.id.clone());
    let mut found: Vec<Child> = Vec::new();
    let mut queue: VecDeque<Child> = VecDeque::new();
    queue.push_back(first.clone());
    while let Some(c) = queue.pop_front() {
        let mut next: Vec<Child> = Vec::new();
        if let Some(k) = &c.id_key {
            next.extend(store::children::list_by_id_key(conn, k)?);
        }
        for l in store::person_links::list_for_child(conn, &c.meta.id)? {
            if l.decision != "same" {
                continue;
            }
            let other = if l.child_id == c.meta.id {
                &l.other_child_id
            } else {
                &l.child_id
            };
            if let Some(o) = store::children::get(conn, other)?.filter(|o| !o.meta.deleted) {
                next.push(o);
            }
        }
        for n in next {
            if seen.insert(n.meta.id.clone()) {
                found.push(n.clone());
                queue.push_back(n);
            }
        }
    }
    found.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::link_id;

    #[test]
    fn a_pair_has_one_id_whatever_the_order() {
        let (a, b) = ("0190-a", "0190-b");
        assert_eq!(link_id(a, b), link_id(b, a));
        assert_ne!(link_id(a, b), link_id(a, "0190-c"));
        let u = uuid::Uuid::parse_str(&link_id(a, b)).unwrap();
        assert_eq!(u.get_version_num(), 8);
    }
}

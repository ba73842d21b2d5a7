//! Confirming a probable match of the cross-check (`to_confirm`): a person has checked that a
//! child without a shared ID (a roster child) and an enrolled pupil found by name + birth date
//! (+ village) are the same child, and links the two records so that the cross-check no longer
//! lists the child. One transaction, audited:
//!
//! - one record carries an ID and the other none: the ID is written onto the other record (both
//!   then link by ID, also in every later import and bundle);
//! - neither carries an ID: the pupil's enrolments move onto the child's record;
//! - both carry different IDs: refused (they are two people).
//!
//! Not confirming keeps the child listed as a probable match. Rejecting ([`reject_match`]) stores
//! that the two are different people (a travelling person link): the pair is never proposed again,
//! here or at any register the decision reaches.

use crate::error::{Error, Result};
use crate::persons;
use crate::register::{Actor, Register};
use crate::store;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::HashSet;

/// What confirming did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Confirmed {
    pub child_id: String,
    pub pupil_id: String,
    /// `id_to_child`, `id_to_pupil` or `enrolments_moved`.
    pub action: String,
    pub enrolments_moved: usize,
}

fn not_found(what: &str, key: &str) -> Error {
    Error::Other(format!(
        "未找到{what}（{key}），请先运行 baoxue crosscheck 查看待确认名单中的编号"
    ))
}

/// Links `child_id` (the child listed) with `pupil_id` (the candidate pupil's record).
pub fn confirm_match(
    reg: &mut Register,
    child_id: &str,
    pupil_id: &str,
    actor: &Actor,
) -> Result<Confirmed> {
    if child_id == pupil_id {
        return Err(Error::Other("儿童和学生是同一条记录，无需确认".into()));
    }
    let mut w = reg.writer(actor)?;
    let child = store::children::get(w.conn(), child_id)?
        .filter(|c| !c.meta.deleted)
        .ok_or_else(|| not_found("儿童", child_id))?;
    let pupil = store::children::get(w.conn(), pupil_id)?
        .filter(|c| !c.meta.deleted)
        .ok_or_else(|| not_found("在读学生", pupil_id))?;
    let studying: Vec<_> = store::enrolments::list_by_child(w.conn(), pupil_id)?
        .into_iter()
        .filter(|e| !e.meta.deleted && e.status == "studying")
        .collect();
    if studying.is_empty() {
        return Err(Error::Other(format!(
            "记录 {pupil_id} 没有在读学籍，不能作为该儿童的在读记录确认"
        )));
    }
    let mut out = Confirmed {
        child_id: child_id.to_string(),
        pupil_id: pupil_id.to_string(),
        action: String::new(),
        enrolments_moved: 0,
    };
    match (&child.id_key, &pupil.id_key) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::Other(
                "两条记录的身份证号不同，是两个人，不能确认为同一人；请核实后修改错误的身份证号"
                    .into(),
            ))
        }
        (Some(_), Some(_)) => {
            return Err(Error::Other("两条记录已按身份证号关联，无需确认".into()))
        }
        (None, Some(_)) | (Some(_), None) => {
            let (from, mut to, action) = if child.id_key.is_none() {
                (pupil, child, "id_to_child")
            } else {
                (child, pupil, "id_to_pupil")
            };
            let old = to.clone();
            to.id_number = from.id_number.clone().or_else(|| from.id_key.clone());
            to.id_key = from.id_key.clone();
            to.meta = w.next_meta(&old.meta);
            store::children::put(w.conn(), &to)?;
            w.audit(
                "children",
                &to.meta.id,
                "confirm_match",
                &["id_number", "id_key"],
            )?;
            out.action = action.into();
        }
        (None, None) => {
            for mut e in studying {
                let old = e.meta.clone();
                e.meta = w.next_meta(&old);
                e.child_id = child_id.to_string();
                store::enrolments::put(w.conn(), &e)?;
                w.audit("enrolments", &e.meta.id, "confirm_match", &["child_id"])?;
                out.enrolments_moved += 1;
            }
            out.action = "enrolments_moved".into();
        }
    }
    w.commit()?;
    Ok(out)
}

/// What rejecting did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rejected {
    pub child_id: String,
    pub pupil_id: String,
    /// False when the pair had already been rejected (nothing new written).
    pub stored: bool,
}

/// Records that `pupil_id` is NOT the child `child_id` (a person checked): the pair is never
/// proposed again as a probable match; if the child has no other candidate it is listed as
/// suspected. The decision is a `different` person link (`persons::write_decision`), the same
/// travelling record as `baoxue person reject`: it goes out in the next bundle, so the county's
/// other laptops, and a register restored from a full bundle, keep it. Stored and audited in one
/// transaction; rejecting the same pair again changes nothing.
pub fn reject_match(
    reg: &mut Register,
    child_id: &str,
    pupil_id: &str,
    reason: &str,
    actor: &Actor,
) -> Result<Rejected> {
    if child_id == pupil_id {
        return Err(Error::Other(
            "儿童和学生是同一条记录，不能判定为“不是同一人”".into(),
        ));
    }
    let mut w = reg.writer(actor)?;
    store::children::get(w.conn(), child_id)?
        .filter(|c| !c.meta.deleted)
        .ok_or_else(|| not_found("儿童", child_id))?;
    store::children::get(w.conn(), pupil_id)?
        .filter(|c| !c.meta.deleted)
        .ok_or_else(|| not_found("在读学生", pupil_id))?;
    let already = store::match_rejections::contains(w.conn(), child_id, pupil_id)?;
    let reason = match reason.trim() {
        "" => "比对核查：核实不是同一人",
        r => r,
    };
    let stored = !already && {
        let (_, written) =
            persons::write_decision(&mut w, child_id, pupil_id, false, reason, "reject_match")?;
        written
    };
    if stored {
        w.commit()?;
    }
    Ok(Rejected {
        child_id: child_id.to_string(),
        pupil_id: pupil_id.to_string(),
        stored,
    })
}

/// Every (child, pupil) pair a person decided are two people, in both orders: the live
/// `different` person links (from `crosscheck reject` or `person reject`, here or at another
/// site) and the local rejections stored before they travelled (`match_rejections`).
pub fn rejected_pairs(conn: &Connection) -> Result<HashSet<(String, String)>> {
    let mut pairs = store::match_rejections::list_pairs(conn)?;
    both_orders(
        &mut pairs,
        store::person_links::list_pairs(conn, "different")?,
    );
    Ok(pairs)
}

/// Every pair of records a person decided are one child (`baoxue person confirm`, a live `same`
/// link), in both orders: the cross-check counts such a child as studying when the other record
/// is a studying pupil.
pub fn confirmed_pairs(conn: &Connection) -> Result<HashSet<(String, String)>> {
    let mut pairs = HashSet::new();
    both_orders(&mut pairs, store::person_links::list_pairs(conn, "same")?);
    Ok(pairs)
}

fn both_orders(set: &mut HashSet<(String, String)>, pairs: Vec<(String, String)>) {
    for (a, b) in pairs {
        set.insert((b.clone(), a.clone()));
        set.insert((a, b));
    }
}

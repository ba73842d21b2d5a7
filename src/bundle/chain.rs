//! Each site's chain of bundles as this register received it: sequence numbers per epoch, the
//! previous bundle's hash, forks (two different bundles signed by one site at one place in its
//! chain), and what a clerk decided about held bundles and frozen sites.

use super::manifest::Manifest;
use super::{codes, err};
use crate::error::Result;
use crate::store::bundles_received;
use rusqlite::Connection;

/// What the chain says about an incoming bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Fits,
    /// A fork, with the evidence in Chinese.
    Fork(String),
}

fn counts(status: &str) -> bool {
    matches!(status, "applied" | "held")
}

/// Checks an incoming bundle against the chain already received from its site.
pub fn check(conn: &Connection, m: &Manifest, hash: &str) -> Result<Verdict> {
    let site = &m.from_site.id;
    let c = &m.chain;
    if c.seq < 1 {
        return Err(err(codes::MALFORMED, "数据包序号无效"));
    }
    let same: Vec<_> = bundles_received::list_at(conn, site, &c.epoch, c.seq)?
        .into_iter()
        .filter(|b| counts(&b.status) && b.hash != hash)
        .collect();
    if let Some(other) = same.first() {
        return Ok(Verdict::Fork(format!(
            "“{}”签发了两个不同的第{}号数据包（{} 与 {}），说明其登记库被从旧备份恢复或被复制过",
            m.from_site.name, c.seq, other.bundle_id, m.bundle_id
        )));
    }
    if c.seq > 1 {
        for prev in bundles_received::list_at(conn, site, &c.epoch, c.seq - 1)? {
            if counts(&prev.status) && c.prev_hash.as_deref() != Some(prev.hash.as_str()) {
                return Ok(Verdict::Fork(format!(
                    "“{}”的第{}号数据包不是接在已收到的第{}号之后（前一包校验值不符）",
                    m.from_site.name,
                    c.seq,
                    c.seq - 1
                )));
            }
        }
    }
    for next in bundles_received::list_at(conn, site, &c.epoch, c.seq + 1)? {
        if counts(&next.status) && next.prev_hash.as_deref() != Some(hash) {
            return Ok(Verdict::Fork(format!(
                "已收到的“{}”第{}号数据包不是接在本包（第{}号）之后",
                m.from_site.name,
                c.seq + 1,
                c.seq
            )));
        }
    }
    if c.restored.is_none() {
        let others = bundles_received::list_by_site(conn, site)?
            .into_iter()
            .any(|b| counts(&b.status) && b.epoch != c.epoch && b.created_at < m.created_at);
        if others {
            return Ok(Verdict::Fork(format!(
                "“{}”开始了新的数据包序列却没有声明从备份恢复",
                m.from_site.name
            )));
        }
    }
    Ok(Verdict::Fits)
}

/// County staff resolve a fork: the site is unfrozen, the evidence bundles are set aside (they
/// no longer count in the chain and may be imported again), and who decided what is recorded.
pub fn resolve_fork(
    reg: &mut crate::register::Register,
    site_id: &str,
    reason: &str,
    actor: &crate::register::Actor,
) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(err(codes::MALFORMED, "请用 --reason 写明处理理由"));
    }
    let Some(site) = crate::store::trusted_sites::get(reg.conn(), site_id)? else {
        return Err(err(codes::NOT_FOUND, format!("单位 {site_id} 未被信任")));
    };
    if site.frozen.is_none() {
        return Err(err(codes::NOT_FOUND, format!("“{}”没有被冻结", site.name)));
    }
    let mut w = reg.writer(actor)?;
    for b in bundles_received::list_by_site(w.conn(), site_id)? {
        if b.status == "refused_fork" {
            bundles_received::set_status(w.conn(), &b.hash, "fork_evidence", Some(codes::FORK))?;
        }
    }
    crate::store::trusted_sites::put_frozen(w.conn(), site_id, None)?;
    crate::store::decisions::insert_bundle(
        w.conn(),
        site_id,
        "resolve_fork",
        &actor.now.to_rfc3339(),
        &actor.operator,
        reason,
    )?;
    w.audit("trusted_sites", site_id, "resolve_fork", &["frozen"])?;
    w.commit()
}

fn is_full(b: &bundles_received::Row) -> bool {
    serde_json::from_str::<serde_json::Value>(&b.manifest)
        .ok()
        .and_then(|m| m.get("kind").and_then(|k| k.as_str()).map(|k| k == "full"))
        .unwrap_or(false)
}

/// The sequence numbers missing before `seq` in a site's chain of one epoch, as this register
/// has applied it: the bundles records of bundle `seq` may depend on. A full bundle holds the
/// whole state of its sender, so nothing before an applied full bundle is needed.
pub fn gap_before(conn: &Connection, site: &str, epoch: &str, seq: i64) -> Result<Vec<i64>> {
    let mut applied = std::collections::BTreeSet::new();
    let mut floor = 0;
    for b in bundles_received::list_by_site(conn, site)? {
        if b.epoch != epoch || b.status != "applied" || b.seq > seq {
            continue;
        }
        applied.insert(b.seq);
        if is_full(&b) {
            floor = floor.max(b.seq);
        }
    }
    Ok((floor + 1..seq).filter(|s| !applied.contains(s)).collect())
}

/// The latest applied bundle of a site with nothing missing before it in its chain: what this
/// register acknowledges to that site. A bundle after a gap is not acknowledged (its waiting
/// records are not known here), so the site keeps sending its edits until the gap is filled.
pub fn last_contiguous(conn: &Connection, site: &str) -> Result<Option<bundles_received::Row>> {
    let Some(last) = bundles_received::get_last_applied(conn, site)? else {
        return Ok(None);
    };
    let mut same: Vec<bundles_received::Row> = bundles_received::list_by_site(conn, site)?
        .into_iter()
        .filter(|b| b.epoch == last.epoch && b.status == "applied")
        .collect();
    same.sort_by_key(|b| b.seq);
    let (mut high, mut best) = (0, None);
    for b in same {
        if b.seq == high + 1 || is_full(&b) {
            high = b.seq;
            best = Some(b);
        }
    }
    Ok(best)
}

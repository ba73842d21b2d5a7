//! Trusting another site from its card (`baoxue site trust CARD [--fingerprint FP]`) and listing
//! the trusted sites with their scope and bundle chain (`baoxue site list`).

use super::card::{self, SiteCard};
use super::scope::Scope;
use super::{codes, err};
use crate::domain::SiteKind;
use crate::error::Result;
use crate::register::{Actor, Register};
use crate::store::{bundles_received, trusted_sites};
use rusqlite::Connection;
use serde::Serialize;

/// A trusted site as this register knows it.
#[derive(Debug, Clone, Serialize)]
pub struct TrustedSite {
    pub site_id: String,
    pub kind: SiteKind,
    pub name: String,
    pub region_code: String,
    pub school_code: Option<String>,
    pub fingerprint: String,
    pub scope: String,
    pub trusted_at: String,
    pub trusted_by: String,
    /// Why the site is frozen (a fork), if it is.
    pub frozen: Option<String>,
    /// The last applied bundle: epoch, sequence and its creation date.
    pub last_seq: Option<i64>,
    pub last_epoch: Option<String>,
    pub last_bundle_at: Option<String>,
    /// Sequence numbers missing in the current epoch's chain (gaps).
    pub missing_seqs: Vec<i64>,
    /// Records received from this site's bundles but waiting for a missing one
    /// (`baoxue bundle waiting list`).
    pub waiting: i64,
}

impl TrustedSite {
    pub fn scope(&self) -> Scope {
        Scope::of(self.kind, &self.region_code, self.school_code.as_deref())
    }
}

fn from_row(conn: &Connection, r: trusted_sites::Row) -> Result<TrustedSite> {
    let kind = SiteKind::parse(&r.kind).unwrap_or(SiteKind::Village);
    let scope = Scope::of(kind, &r.region_code, r.school_code.as_deref());
    let last = bundles_received::get_last_applied(conn, &r.site_id)?;
    let mut missing = Vec::new();
    if let Some(l) = &last {
        let seqs: std::collections::BTreeSet<i64> =
            bundles_received::list_by_site(conn, &r.site_id)?
                .into_iter()
                .filter(|b| b.epoch == l.epoch && b.status == "applied")
                .map(|b| b.seq)
                .collect();
        if let Some(max) = seqs.iter().max() {
            missing = (1..*max).filter(|s| !seqs.contains(s)).collect();
        }
    }
    let waiting = crate::store::waiting::count_by_site(conn, &r.site_id)?;
    Ok(TrustedSite {
        site_id: r.site_id,
        kind,
        name: r.name,
        region_code: r.region_code,
        school_code: r.school_code,
        fingerprint: r.fingerprint,
        scope: scope.describe(),
        trusted_at: r.trusted_at,
        trusted_by: r.trusted_by,
        frozen: r.frozen,
        last_seq: last.as_ref().map(|l| l.seq),
        last_epoch: last.as_ref().map(|l| l.epoch.clone()),
        last_bundle_at: last.map(|l| l.created_at),
        waiting,
        missing_seqs: missing,
    })
}

/// Every trusted site.
pub fn list(conn: &Connection) -> Result<Vec<TrustedSite>> {
    trusted_sites::list(conn)?
        .into_iter()
        .map(|r| from_row(conn, r))
        .collect()
}

/// One trusted site, if trusted.
pub fn get(conn: &Connection, site_id: &str) -> Result<Option<TrustedSite>> {
    trusted_sites::get(conn, site_id)?
        .map(|r| from_row(conn, r))
        .transpose()
}

/// Trusts the site of a card. With `fingerprint`, refuses unless it matches the card's.
pub fn trust(
    reg: &mut Register,
    card_bytes: &[u8],
    fingerprint: Option<&str>,
    actor: &Actor,
) -> Result<(TrustedSite, SiteCard)> {
    let me = reg.require_site()?;
    let card = card::parse_and_check(card_bytes)?;
    if let Some(fp) = fingerprint {
        if card::normalise_fingerprint(fp) != card::normalise_fingerprint(&card.fingerprint) {
            return Err(err(
                codes::FINGERPRINT,
                format!(
                    "指纹不符：密钥卡上的指纹是 {}，您输入的是 {fp}。请勿信任此密钥卡，并电话联系{}核实",
                    card.fingerprint, card.name
                ),
            ));
        }
    }
    if card.site_id == me.id {
        return Err(err(codes::BAD_CARD, "这是本单位自己的密钥卡，无需信任"));
    }
    let mut w = reg.writer(actor)?;
    let row = trusted_sites::Row {
        site_id: card.site_id.clone(),
        kind: card.kind.as_str().to_string(),
        name: card.name.clone(),
        region_code: card.region_code.clone(),
        school_code: card.school_code.clone(),
        sign_public: card.sign_public.clone(),
        age_recipient: card.age_recipient.clone(),
        fingerprint: card.fingerprint.clone(),
        card: String::from_utf8_lossy(card_bytes).into_owned(),
        trusted_at: actor.now.to_rfc3339(),
        trusted_by: actor.operator.clone(),
        frozen: None,
    };
    let frozen = trusted_sites::get(w.conn(), &card.site_id)?.and_then(|t| t.frozen);
    trusted_sites::put(w.conn(), &trusted_sites::Row { frozen, ..row })?;
    w.audit(
        "trusted_sites",
        &card.site_id,
        "trust",
        &[
            "kind",
            "name",
            "region_code",
            "school_code",
            "sign_public",
            "age_recipient",
        ],
    )?;
    w.commit()?;
    let t = get(reg.conn(), &card.site_id)?
        .ok_or_else(|| err(codes::NOT_FOUND, "信任记录写入后未找到"))?;
    Ok((t, card))
}

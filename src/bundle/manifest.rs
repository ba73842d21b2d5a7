//! The signed manifest of a bundle (`schemas/bundle-manifest.schema.json`): who sent it to whom,
//! its place in the sender's chain, what it covers, and the hash of the encrypted payload. The
//! manifest is readable without the recipient's key (`baoxue bundle inspect`); the records are not.

use crate::domain::SiteKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub bundle_id: String,
    pub from_site: SiteRef,
    /// The recipient's site id.
    pub to_site: String,
    pub created_at: String,
    /// `full` or `incremental`.
    pub kind: String,
    pub chain: Chain,
    /// Incremental: the sender's own edits after this stamp (what the recipient acknowledged).
    pub since: Option<String>,
    /// The sender's clock when the bundle was made: every own edit up to it is covered.
    pub own_to: String,
    /// Per stamp site (the site that made the version): lowest and highest version, record count.
    pub covers: BTreeMap<String, Cover>,
    /// Record count per table.
    pub counts: BTreeMap<String, u64>,
    /// The latest bundle from the recipient that the sender has applied (an acknowledgement).
    pub ack: Option<Ack>,
    pub payload: PayloadRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRef {
    pub id: String,
    pub kind: SiteKind,
    pub name: String,
    pub region_code: String,
    pub school_code: Option<String>,
}

/// The sender's chain: one epoch per register life (a restore starts a new one), a sequence
/// number per recipient, and the manifest hash of the previous bundle to the same recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    pub epoch: String,
    pub seq: i64,
    pub prev_hash: Option<String>,
    /// Set when the register was restored from a backup: the previous epoch and when.
    pub restored: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cover {
    pub from: String,
    pub to: String,
    pub records: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub bundle_id: String,
    pub epoch: String,
    pub seq: i64,
    /// The acknowledged bundle's `own_to`: the recipient's own edits up to it are applied here.
    pub own_to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadRef {
    /// `ndjson+deflate+age`.
    pub encoding: String,
    pub sha256: String,
    pub bytes: u64,
    pub records: u64,
}

//! Signed sync bundles: how a site's work travels to the county on a USB stick and back.
//!
//! - `keys`: this site's Ed25519 signing key and age (X25519) identity, made at `init`.
//! - `card`: the public key card a site hands over; `trust`: the sites this register accepts and
//!   the scope each may write (`scope`).
//! - `manifest` + `payload` + `file`: the bundle format (see `schemas/bundle-*.schema.json`).
//! - `export`: writes a bundle; `verify`: turns bytes into a `VerifiedBundle` or a refusal;
//!   `merge`: applies a verified bundle in one transaction; `chain`: per-site sequence, forks,
//!   held bundles and acknowledgements; `conflicts`: listing and resolving conflicts.
//! - `vv`: version vectors and the deterministic winner rule.
//! - `waiting`: records received behind a gap in their origin's chain and not applied until the
//!   gap fills (or a clerk forces them in).
//!
//! Every refusal is an `Error::Bundle { code, message }` with a stable code (see `codes`).

pub mod aside;
pub mod bench;
pub mod card;
pub mod chain;
pub mod conflicts;
pub mod export;
pub mod file;
pub mod gather;
pub mod keys;
pub mod line;
pub mod manifest;
pub mod merge;
pub mod payload;
pub mod scope;
pub mod trust;
pub mod verify;
pub mod vv;
pub mod waiting;

pub use export::{export_bundle, export_bundle_with, ExportOptions, ExportSummary};
pub use merge::{
    import_bundle, import_bundle_aside, import_bundle_bulk_from, import_bundle_with, ImportReport,
};
pub use verify::{UnverifiedBundle, VerifiedBundle};

/// The bundle format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Stable refusal codes (the `reason` code of an import report).
pub mod codes {
    pub const MALFORMED: &str = "malformed";
    pub const TRUNCATED: &str = "truncated";
    pub const BAD_SIGNATURE: &str = "bad_signature";
    pub const UNTRUSTED: &str = "untrusted_site";
    pub const WRONG_RECIPIENT: &str = "wrong_recipient";
    pub const PAYLOAD_HASH: &str = "payload_hash";
    pub const DECRYPT: &str = "decrypt_failed";
    pub const BAD_RECORD: &str = "bad_record";
    pub const OUT_OF_SCOPE: &str = "out_of_scope";
    pub const NEWER_FORMAT: &str = "newer_format";
    pub const CLOCK_AHEAD: &str = "clock_ahead";
    pub const FORK: &str = "fork";
    pub const SITE_FROZEN: &str = "site_frozen";
    pub const NO_KEYS: &str = "no_keys";
    pub const BAD_CARD: &str = "bad_card";
    pub const FINGERPRINT: &str = "fingerprint_mismatch";
    pub const NO_RECIPIENT: &str = "no_recipient";
    pub const NOT_FOUND: &str = "not_found";
    /// The clerk cancelled an export or import: nothing was written.
    pub const CANCELLED: &str = "cancelled";
}

/// A bundle error with a stable code and a Chinese message.
pub fn err(code: &'static str, message: impl Into<String>) -> crate::Error {
    crate::Error::Bundle {
        code,
        message: message.into(),
    }
}

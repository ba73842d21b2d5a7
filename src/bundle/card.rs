//! The public key card of a site (`baoxue site card --out F`): who the site is, its two public
//! keys and a fingerprint to read out over the phone. The card is signed by its own key, so a
//! damaged or edited card is refused; the fingerprint comparison is what makes it trusted.

use super::keys::{self, SiteKeys};
use super::{codes, err, FORMAT_VERSION};
use crate::domain::{Site, SiteKind};
use crate::error::Result;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A key card as written to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteCard {
    pub format_version: u32,
    pub site_id: String,
    pub kind: SiteKind,
    pub name: String,
    pub region_code: String,
    pub school_code: Option<String>,
    /// Ed25519 public key, base64.
    pub sign_public: String,
    /// age X25519 recipient, `age1…`.
    pub age_recipient: String,
    /// Five groups of four digits, derived from both public keys.
    pub fingerprint: String,
    pub created_at: String,
    /// Ed25519 signature (base64) over the canonical JSON of every other field.
    pub signature: String,
}

/// The phone-friendly fingerprint of a pair of public keys: `1234 5678 9012 3456 7890`.
pub fn fingerprint(sign_public: &str, age_recipient: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"baoxue-card-v1\0");
    h.update(sign_public.as_bytes());
    h.update(b"\0");
    h.update(age_recipient.as_bytes());
    let d = h.finalize();
    (0..5)
        .map(|i| {
            let n = u32::from_be_bytes([d[4 * i], d[4 * i + 1], d[4 * i + 2], d[4 * i + 3]]);
            format!("{:04}", n % 10_000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Digits only, for comparing a fingerprint typed by a person.
pub fn normalise_fingerprint(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

fn canonical_without_signature(v: &Value) -> Result<Vec<u8>> {
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("signature");
    }
    Ok(serde_json::to_vec(&v)?)
}

/// Makes and signs this site's card.
pub fn make(site: &Site, keys: &SiteKeys, now: &str) -> Result<SiteCard> {
    let sign_public = keys.sign_public();
    let age_recipient = keys.age_recipient();
    let mut card = SiteCard {
        format_version: FORMAT_VERSION,
        site_id: site.id.clone(),
        kind: site.kind,
        name: site.name.clone(),
        region_code: site.region_code.clone(),
        school_code: site.school_code.clone(),
        fingerprint: fingerprint(&sign_public, &age_recipient),
        sign_public,
        age_recipient,
        created_at: now.to_string(),
        signature: String::new(),
    };
    let msg = canonical_without_signature(&serde_json::to_value(&card)?)?;
    card.signature = B64.encode(keys.sign(&msg));
    Ok(card)
}

/// Reads a card file and checks its self-signature, keys and fingerprint.
pub fn parse_and_check(bytes: &[u8]) -> Result<SiteCard> {
    let bad = |why: &str| {
        err(
            codes::BAD_CARD,
            format!("密钥卡无效：{why}。请向对方重新索取密钥卡文件"),
        )
    };
    let value: Value =
        serde_json::from_slice(bytes).map_err(|_| bad("不是有效的 JSON 密钥卡文件"))?;
    let version = value
        .get("format_version")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("缺少 format_version"))?;
    if version > FORMAT_VERSION as u64 {
        return Err(err(
            codes::NEWER_FORMAT,
            format!("密钥卡格式版本 {version} 较新，本程序只支持到 {FORMAT_VERSION}，请升级保学"),
        ));
    }
    let card: SiteCard =
        serde_json::from_value(value.clone()).map_err(|e| bad(&format!("字段不完整（{e}）")))?;
    let vk = keys::parse_sign_public(&card.sign_public).ok_or_else(|| bad("签名公钥格式错误"))?;
    card.age_recipient
        .parse::<age::x25519::Recipient>()
        .map_err(|_| bad("加密公钥格式错误"))?;
    let sig = B64
        .decode(card.signature.as_bytes())
        .map_err(|_| bad("签名格式错误"))?;
    let msg = canonical_without_signature(&value)?;
    if !keys::verify_signature(&vk, &msg, &sig) {
        return Err(bad("签名不符，文件可能被改动过"));
    }
    if card.fingerprint != fingerprint(&card.sign_public, &card.age_recipient) {
        return Err(bad("指纹与公钥不符"));
    }
    crate::register::check_region_code(&card.region_code, card.kind)
        .map_err(|e| bad(&e.to_string()))?;
    Ok(card)
}

//! This site's key pair: Ed25519 to sign bundles and cards, an age X25519 identity to receive
//! encrypted bundles. Made at `init` (or at first use for an older register) and stored in the
//! register. The secret types are neither `Clone` nor `Serialize`, and their `Debug` is redacted;
//! nothing here prints or logs a secret.

use super::{codes, err};
use crate::error::Result;
use crate::store::site_keys;
use age::secrecy::ExposeSecret;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rusqlite::Connection;
use zeroize::Zeroize;

/// The site's secret keys. Not `Clone`, not `Serialize`; `Debug` shows only public parts.
pub struct SiteKeys {
    sign: SigningKey,
    age: age::x25519::Identity,
    epoch: String,
    restored: Option<String>,
}

impl std::fmt::Debug for SiteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteKeys")
            .field("sign_public", &self.sign_public())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl SiteKeys {
    /// Fresh keys from the operating system's random source.
    pub fn generate() -> SiteKeys {
        let mut rng = rand::rngs::OsRng;
        SiteKeys {
            sign: SigningKey::generate(&mut rng),
            age: age::x25519::Identity::generate(),
            epoch: uuid::Uuid::new_v4().to_string(),
            restored: None,
        }
    }

    /// The Ed25519 public key, base64.
    pub fn sign_public(&self) -> String {
        B64.encode(self.sign.verifying_key().as_bytes())
    }

    /// The age recipient (`age1…`).
    pub fn age_recipient(&self) -> String {
        self.age.to_public().to_string()
    }

    pub fn recipient(&self) -> age::x25519::Recipient {
        self.age.to_public()
    }

    pub fn identity(&self) -> &age::x25519::Identity {
        &self.age
    }

    /// Signs bytes with the site's Ed25519 key.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.sign.sign(msg).to_bytes()
    }

    /// The current bundle epoch (changes when the register is marked restored).
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The pending restore announcement, if the register was restored from a backup.
    pub fn restored(&self) -> Option<&str> {
        self.restored.as_deref()
    }
}

/// Creates and stores keys for a register that has none. Call inside the init transaction.
pub fn create_in(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    if site_keys::get(conn)?.is_some() {
        return Ok(());
    }
    let keys = SiteKeys::generate();
    let mut secret = hex::encode(keys.sign.to_bytes());
    let mut identity = keys.age.to_string().expose_secret().to_string();
    let row = site_keys::Row {
        sign_secret: secret.clone(),
        age_identity: identity.clone(),
        sign_public: keys.sign_public(),
        age_recipient: keys.age_recipient(),
        epoch: keys.epoch.clone(),
        restored: None,
        created_at: now.to_rfc3339(),
    };
    secret.zeroize();
    identity.zeroize();
    let result = site_keys::insert(conn, &row);
    let mut row = row;
    row.sign_secret.zeroize();
    row.age_identity.zeroize();
    result
}

/// Loads this site's keys, creating them first if the register predates keys.
pub fn load_or_create(conn: &Connection, now: DateTime<Utc>) -> Result<SiteKeys> {
    if site_keys::get(conn)?.is_none() {
        create_in(conn, now)?;
    }
    load(conn)
}

/// Loads this site's keys.
pub fn load(conn: &Connection) -> Result<SiteKeys> {
    let Some(mut row) = site_keys::get(conn)? else {
        return Err(err(
            codes::NO_KEYS,
            "本单位尚无密钥，请先运行 `baoxue init` 完成单位设置",
        ));
    };
    let damaged = || err(codes::NO_KEYS, "登记库中的本单位密钥已损坏，无法签名或解密");
    let mut bytes = hex::decode(&row.sign_secret).map_err(|_| damaged())?;
    row.sign_secret.zeroize();
    let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| damaged())?;
    bytes.zeroize();
    let sign = SigningKey::from_bytes(&arr);
    let age = row
        .age_identity
        .parse::<age::x25519::Identity>()
        .map_err(|_| damaged())?;
    row.age_identity.zeroize();
    Ok(SiteKeys {
        sign,
        age,
        epoch: row.epoch.clone(),
        restored: row.restored.clone(),
    })
}

/// Marks the register as restored from a backup: its next bundles start a new epoch and announce
/// the restore, instead of re-issuing sequence numbers unannounced. Call from `restore`.
pub fn mark_restored(conn: &Connection, now: DateTime<Utc>, note: &str) -> Result<()> {
    let keys = load(conn)?;
    let announcement = serde_json::json!({
        "previous_epoch": keys.epoch,
        "restored_at": now.to_rfc3339(),
        "note": note,
    });
    site_keys::put_epoch(
        conn,
        &uuid::Uuid::new_v4().to_string(),
        Some(&announcement.to_string()),
    )
}

/// Parses a base64 Ed25519 public key.
pub fn parse_sign_public(text: &str) -> Option<VerifyingKey> {
    let bytes = B64.decode(text.trim()).ok()?;
    let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
    VerifyingKey::from_bytes(&arr).ok()
}

/// Checks an Ed25519 signature.
pub fn verify_signature(key: &VerifyingKey, msg: &[u8], sig: &[u8]) -> bool {
    let Ok(arr) = <[u8; 64]>::try_from(sig) else {
        return false;
    };
    key.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&arr))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_debug_is_redacted() {
        let conn = crate::store::open_in_memory().unwrap();
        create_in(&conn, Utc::now()).unwrap();
        let k = load(&conn).unwrap();
        let dbg = format!("{k:?}");
        assert!(dbg.contains("redacted"));
        let row = site_keys::get(&conn).unwrap().unwrap();
        assert!(!dbg.contains(&row.sign_secret));
        assert!(!dbg.contains(&row.age_identity));
        let sig = k.sign(b"hello");
        let vk = parse_sign_public(&k.sign_public()).unwrap();
        assert!(verify_signature(&vk, b"hello", &sig));
        assert!(!verify_signature(&vk, b"hellO", &sig));
    }
}

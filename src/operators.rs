//! Operators: the people who work on this register, each with an optional PIN. Every change is
//! attributed to an operator through `Actor` and the hash-chained audit log; once at least one
//! operator is registered, only registered operators (with their PIN, if they set one) may open
//! the register from the CLI or the app ([`check`]).
//!
//! PINs are stored as salted scrypt hashes (`scrypt$LOG_N$SALT$HASH`), never in clear, and are
//! never printed; operator changes themselves are audited.

use crate::error::Result;
use crate::register::Register;
use crate::store;
use rand::RngCore;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

pub use store::operators::Operator;

/// scrypt cost for PIN hashes: 2^14 × 8 × 128 B = 16 MiB, a few tens of milliseconds.
const PIN_LOG_N: u8 = 14;

/// Why an operator was refused.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("操作员“{0}”未登记或已停用：请用已登记的操作员姓名（--operator 或 BAOXUE_OPERATOR），或请管理员用 `baoxue operator add` 登记")]
    Unknown(String),
    #[error("操作员“{0}”设置了PIN：请输入PIN（环境变量 BAOXUE_PIN）")]
    PinRequired(String),
    #[error("操作员“{0}”的PIN不正确")]
    WrongPin(String),
    #[error("PIN须为4至12位数字或字母")]
    BadPin,
    #[error("操作员姓名不能为空，且不超过20个字")]
    BadName,
    #[error("不能停用最后一名操作员“{0}”：请先登记另一名操作员")]
    LastOperator(String),
}

impl OperatorError {
    pub fn code(&self) -> &'static str {
        match self {
            OperatorError::Unknown(_) => "unknown_operator",
            OperatorError::PinRequired(_) => "pin_required",
            OperatorError::WrongPin(_) => "wrong_pin",
            OperatorError::BadPin => "bad_pin",
            OperatorError::BadName => "bad_operator_name",
            OperatorError::LastOperator(_) => "last_operator",
        }
    }
}

fn check_name(name: &str) -> std::result::Result<String, OperatorError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 20 || name.chars().any(char::is_control) {
        return Err(OperatorError::BadName);
    }
    Ok(name.to_string())
}

fn derive(pin: &str, salt: &[u8], log_n: u8) -> Option<String> {
    let params = scrypt::Params::new(log_n, 8, 1, 32).ok()?;
    let mut out = [0u8; 32];
    scrypt::scrypt(pin.as_bytes(), salt, &params, &mut out).ok()?;
    Some(hex::encode(out))
}

/// Hashes a PIN with a fresh random salt.
pub fn hash_pin(pin: &str) -> std::result::Result<String, OperatorError> {
    let pin = pin.trim();
    if !(4..=12).contains(&pin.chars().count()) || !pin.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(OperatorError::BadPin);
    }
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let hash = derive(pin, &salt, PIN_LOG_N).ok_or(OperatorError::BadPin)?;
    Ok(format!("scrypt${PIN_LOG_N}${}${hash}", hex::encode(salt)))
}

/// True if `pin` matches a stored hash.
pub fn verify_pin(pin: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [kind, log_n, salt, hash] = parts[..] else {
        return false;
    };
    let (Ok(log_n), Ok(salt)) = (log_n.parse::<u8>(), hex::decode(salt)) else {
        return false;
    };
    if kind != "scrypt" || !(10..=20).contains(&log_n) {
        return false;
    }
    match derive(pin.trim(), &salt, log_n) {
        // Compare digests of both, so timing reveals nothing about the stored hash.
        Some(h) => Sha256::digest(h.as_bytes()) == Sha256::digest(hash.as_bytes()),
        None => false,
    }
}

/// Checks that `name` may work on this register: always true while no operator is registered;
/// else `name` must be an active operator and give its PIN if it has one.
pub fn check(conn: &Connection, name: &str, pin: Option<&str>) -> Result<()> {
    if store::operators::count_active(conn)? == 0 {
        return Ok(());
    }
    let name = name.trim();
    match store::operators::get_pin_hash(conn, name)? {
        None => Err(OperatorError::Unknown(name.to_string()).into()),
        Some(None) => Ok(()),
        Some(Some(hash)) => match pin {
            None => Err(OperatorError::PinRequired(name.to_string()).into()),
            Some(p) if verify_pin(p, &hash) => Ok(()),
            Some(_) => Err(OperatorError::WrongPin(name.to_string()).into()),
        },
    }
}

/// Does `name` need a PIN to open this register? (The app asks for one only then.) `false` while
/// no operator is registered or when the operator has none; an unknown operator is refused by
/// [`check`].
pub fn requires_pin(conn: &Connection, name: &str) -> Result<bool> {
    if store::operators::count_active(conn)? == 0 {
        return Ok(false);
    }
    Ok(matches!(
        store::operators::get_pin_hash(conn, name.trim())?,
        Some(Some(_))
    ))
}

/// Registers an operator (or re-enables one, replacing its PIN). Audited as the acting operator.
pub fn add(reg: &mut Register, name: &str, pin: Option<&str>, actor: &crate::Actor) -> Result<()> {
    let name = check_name(name)?;
    let hash = pin.map(hash_pin).transpose()?;
    let mut w = reg.writer(actor)?;
    let existed = store::operators::exists(w.conn(), &name)?;
    store::operators::put(w.conn(), &name, hash.as_deref(), &w.now_text())?;
    let fields: &[&str] = if hash.is_some() {
        &["name", "pin"]
    } else {
        &["name"]
    };
    w.audit(
        "operators",
        &name,
        if existed { "update" } else { "insert" },
        fields,
    )?;
    w.commit()
}

/// Disables an operator (kept for the record). The last active operator cannot be disabled.
pub fn disable(reg: &mut Register, name: &str, actor: &crate::Actor) -> Result<bool> {
    let name = name.trim();
    let mut w = reg.writer(actor)?;
    if store::operators::count_active(w.conn())? == 1
        && store::operators::get_pin_hash(w.conn(), name)?.is_some()
    {
        return Err(OperatorError::LastOperator(name.to_string()).into());
    }
    let at = w.now_text();
    if !store::operators::disable(w.conn(), name, &at)? {
        return Ok(false);
    }
    w.audit("operators", name, "disable", &["disabled_at"])?;
    w.commit()?;
    Ok(true)
}

/// Every operator ever registered (PIN hashes are not returned).
pub fn list(conn: &Connection) -> Result<Vec<Operator>> {
    store::operators::list(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_hash_round_trip_and_salted() {
        let a = hash_pin("1234").unwrap();
        let b = hash_pin("1234").unwrap();
        assert_ne!(a, b, "salted");
        assert!(
            a.split('$').all(|part| part != "1234"),
            "the PIN is not stored as such"
        );
        assert!(verify_pin("1234", &a));
        assert!(!verify_pin("1235", &a));
        assert!(!verify_pin("1234", "garbage"));
        assert!(matches!(hash_pin("12"), Err(OperatorError::BadPin)));
        assert!(matches!(hash_pin("12 34"), Err(OperatorError::BadPin)));
    }
}

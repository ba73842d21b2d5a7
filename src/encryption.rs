//! Encryption at rest: the register file is an SQLCipher database (AES-256, a key derived from
//! the passphrase with PBKDF2-HMAC-SHA512, 256,000 rounds; every page authenticated). A
//! passphrase is set at site setup and given at every start (the CLI reads `BAOXUE_PASSPHRASE`
//! or asks on a terminal; the app asks in its unlock screen). A wrong passphrase opens nothing
//! and writes nothing. See docs/security.md.
//!
//! This module holds the policy and the messages; the SQL is in `store::cipher`.

use crate::store::cipher::{self, FileState};
use std::path::Path;

/// The shortest passphrase accepted for a register (characters, not bytes).
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// How a register file is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// There is no register file yet (site setup creates it).
    Missing,
    /// A plain SQLite file, readable by anyone who copies it.
    Plain,
    /// Encrypted: it opens only with its passphrase.
    Encrypted,
}

/// Why a register could not be opened or its passphrase set.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    #[error(
        "登记库已加密，需要口令才能打开：请输入设置单位时设定的口令（命令行：设置环境变量 BAOXUE_PASSPHRASE，或在提示时输入）"
    )]
    Required,
    #[error(
        "口令不正确，登记库没有打开，也没有任何改动：请确认输入的是设置单位时设定的口令（注意大小写、全角/半角）。忘记口令只能从备份恢复"
    )]
    Wrong,
    #[error(
        "口令太短：至少 {MIN_PASSPHRASE_CHARS} 个字符（字母、数字或汉字），请换一个更长的口令"
    )]
    TooShort,
    #[error("两次输入的口令不一致，请重新输入")]
    Mismatch,
    #[error(
        "设置单位时必须设定登记库口令（环境变量 BAOXUE_PASSPHRASE，或在提示时输入）；仅用于培训演示的登记库可加 --no-encryption 不加密"
    )]
    NotGiven,
}

impl PassphraseError {
    pub fn code(&self) -> &'static str {
        match self {
            PassphraseError::Required => "passphrase_required",
            PassphraseError::Wrong => "wrong_passphrase",
            PassphraseError::TooShort => "passphrase_too_short",
            PassphraseError::Mismatch => "passphrase_mismatch",
            PassphraseError::NotGiven => "passphrase_not_given",
        }
    }
}

/// Is the register at `path` missing, plain or encrypted? Reads 16 bytes, opens nothing.
pub fn protection(path: &Path) -> crate::Result<Protection> {
    Ok(
        match cipher::file_state(path).map_err(|e| crate::Error::io(path, e))? {
            FileState::Missing => Protection::Missing,
            FileState::Plain => Protection::Plain,
            FileState::Encrypted => Protection::Encrypted,
        },
    )
}

/// True when the register at `path` cannot be opened without its passphrase (the app shows its
/// unlock screen).
pub fn needs_passphrase(path: &Path) -> crate::Result<bool> {
    Ok(protection(path)? == Protection::Encrypted)
}

/// Checks a NEW passphrase (site setup, change): at least [`MIN_PASSPHRASE_CHARS`] characters,
/// not only spaces. (Offline guessing costs one PBKDF2 run of ~0.1 s per guess; eight characters
/// keep a lost laptop's register out of reach.)
pub fn check_new_passphrase(passphrase: &str) -> Result<(), PassphraseError> {
    if passphrase.trim().is_empty() || passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(PassphraseError::TooShort);
    }
    Ok(())
}

/// Encrypts a plain register file in place of itself: the whole database is exported into a new
/// SQLCipher file beside it (`sqlcipher_export`), which is checked (`integrity_check`, same
/// tables and row counts) and then renamed over the plain file. A failure at any step leaves the
/// plain register as it was. Run it with no other program using the register (the app closed).
///
/// The old plain pages may survive on the disk until overwritten (no file system promises
/// otherwise): set the passphrase at site setup so that no plain copy is ever written.
pub fn encrypt_file(path: &Path, passphrase: &str, actor: &crate::Actor) -> crate::Result<()> {
    check_new_passphrase(passphrase)?;
    if protection(path)? != Protection::Plain {
        return Err(crate::Error::Other(format!(
            "“{}”不是未加密的登记库，无需加密",
            path.display()
        )));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".encrypting-{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let cleanup = |p: &Path| {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut f = p.as_os_str().to_owned();
            f.push(suffix);
            let _ = std::fs::remove_file(std::path::PathBuf::from(f));
        }
    };
    cleanup(&tmp);
    let result = (|| -> crate::Result<()> {
        let plain = crate::store::open(path)?;
        cipher::checkpoint(&plain)?;
        cipher::export_encrypted(&plain, &tmp, passphrase)?;
        let counts = cipher::list_table_counts;
        let before = counts(&plain)?;
        {
            let enc = crate::store::open_with(&tmp, Some(passphrase))?;
            if let Err(problem) = crate::backup::integrity_check(&enc)? {
                return Err(crate::Error::Other(format!(
                    "加密后的登记库完整性检查未通过（{problem}），原登记库未改动"
                )));
            }
            if counts(&enc)? != before {
                return Err(crate::Error::Other(
                    "加密后的登记库与原登记库的记录数不一致，原登记库未改动".into(),
                ));
            }
            // Back to a single file before it takes the register's place.
            cipher::checkpoint(&enc)?;
        }
        drop(plain);
        std::fs::rename(&tmp, path).map_err(|e| crate::Error::io(path, e))?;
        Ok(())
    })();
    if result.is_err() {
        cleanup(&tmp);
    }
    result?;
    let mut reg = crate::Register::open_with(path, Some(passphrase))?;
    if let Some(site) = reg.site()? {
        let mut w = reg.writer(actor)?;
        w.audit("site", &site.id, "encrypt", &[])?;
        w.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passphrases_are_checked() {
        assert_eq!(
            check_new_passphrase("").unwrap_err().code(),
            "passphrase_too_short"
        );
        assert!(check_new_passphrase("        ").is_err());
        assert_eq!(
            check_new_passphrase("1234567").unwrap_err().code(),
            "passphrase_too_short"
        );
        assert!(check_new_passphrase("12345678").is_ok());
        // Characters, not bytes: four Chinese characters are 12 bytes but too short.
        assert!(check_new_passphrase("控辍保学").is_err());
        assert!(check_new_passphrase("控辍保学控辍保学").is_ok());
    }
}

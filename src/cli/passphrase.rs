//! The register passphrase on the command line: `BAOXUE_PASSPHRASE` (scripts, tests), else asked
//! on the terminal without echo; `baoxue passphrase change|status`. Passphrases are never printed.

use super::Ctx;
use anyhow::Result;
use baoxue::encryption::{self, PassphraseError, Protection};
use clap::Subcommand;
use std::io::IsTerminal;
use std::path::Path;
use zeroize::Zeroizing;

#[derive(Subcommand)]
pub enum PassphraseCmd {
    /// 更换登记库口令（未加密的登记库则为其设定口令并加密）。
    /// 现口令：BAOXUE_PASSPHRASE 或提示输入；新口令：BAOXUE_NEW_PASSPHRASE 或提示输入两次
    Change,
    /// 登记库是否已加密
    Status,
}

fn from_env(var: &str) -> Option<Zeroizing<String>> {
    std::env::var(var)
        .ok()
        .filter(|p| !p.is_empty())
        .map(Zeroizing::new)
}

/// Asks on the terminal without echo; `None` when not run from a terminal.
fn ask_hidden(prompt: &str) -> Result<Option<Zeroizing<String>>> {
    let term = console::Term::stderr();
    if !term.is_term() || !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    eprint!("{prompt}");
    Ok(Some(Zeroizing::new(term.read_secure_line()?)))
}

/// The passphrase that opens the register at `db`: none for a plain register; for an encrypted
/// one `BAOXUE_PASSPHRASE`, else asked on the terminal, else refused; for a new register
/// `BAOXUE_PASSPHRASE` if set (the new register is then encrypted).
pub fn to_open(db: &Path) -> Result<Option<Zeroizing<String>>> {
    Ok(match encryption::protection(db)? {
        Protection::Plain => None,
        Protection::Missing => match from_env("BAOXUE_PASSPHRASE") {
            Some(p) => {
                encryption::check_new_passphrase(&p).map_err(baoxue::Error::from)?;
                Some(p)
            }
            None => None,
        },
        Protection::Encrypted => match from_env("BAOXUE_PASSPHRASE") {
            Some(p) => Some(p),
            None => match ask_hidden("请输入登记库口令：")? {
                Some(p) => Some(p),
                None => return Err(baoxue::Error::from(PassphraseError::Required).into()),
            },
        },
    })
}

/// A new passphrase: from `var`, else asked twice on the terminal; `None` if neither. Checked
/// against the rules (length).
pub fn new_one(var: &str) -> Result<Option<Zeroizing<String>>> {
    let pass = match from_env(var) {
        Some(p) => p,
        None => {
            let Some(first) = ask_hidden(&format!(
                "请设定登记库口令（至少 {} 个字符）：",
                encryption::MIN_PASSPHRASE_CHARS
            ))?
            else {
                return Ok(None);
            };
            let again = ask_hidden("请再输入一次：")?.unwrap_or_default();
            if *first != *again {
                return Err(baoxue::Error::from(PassphraseError::Mismatch).into());
            }
            first
        }
    };
    encryption::check_new_passphrase(&pass).map_err(baoxue::Error::from)?;
    Ok(Some(pass))
}

pub fn run(c: PassphraseCmd, ctx: &Ctx) -> Result<i32> {
    match c {
        PassphraseCmd::Status => {
            let p = encryption::protection(&ctx.db)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({"protection": p}))?;
            } else {
                println!(
                    "{}",
                    match p {
                        Protection::Missing => "登记库尚未建立",
                        Protection::Plain =>
                            "登记库未加密：请运行 baoxue passphrase change 设定口令（加密）",
                        Protection::Encrypted => "登记库已加密（SQLCipher，AES-256）",
                    }
                );
            }
            Ok(0)
        }
        PassphraseCmd::Change => {
            let protection = encryption::protection(&ctx.db)?;
            if protection == Protection::Missing {
                return Err(baoxue::Error::NotInitialised.into());
            }
            // Open (and check the operator) with the current passphrase first.
            let mut reg = ctx.open()?;
            let Some(new) = new_one("BAOXUE_NEW_PASSPHRASE")? else {
                return Err(baoxue::Error::Other(
                    "请给出新口令：环境变量 BAOXUE_NEW_PASSPHRASE，或在终端中按提示输入".into(),
                )
                .into());
            };
            if protection == Protection::Plain {
                drop(reg);
                encryption::encrypt_file(&ctx.db, &new, &ctx.actor())?;
                println!("已为登记库设定口令并加密：以后打开登记库需输入此口令");
            } else {
                reg.change_passphrase(&new, &ctx.actor())?;
                println!("登记库口令已更换：以后请用新口令打开（旧的备份仍用做备份时的口令恢复）");
            }
            Ok(0)
        }
    }
}

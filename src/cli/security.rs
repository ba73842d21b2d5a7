//! `baoxue backup`, `restore`, `audit verify`, `operator …`: protecting the register.
//! Passphrases and PINs come from the environment (`BAOXUE_PASSPHRASE`, `BAOXUE_PIN`) or from
//! standard input; they are never printed.

use super::Ctx;
use anyhow::{bail, Result};
use baoxue::{backup, operators, store, Register};
use clap::{Args, Subcommand};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use zeroize::Zeroizing;

#[derive(Args)]
pub struct BackupArgs {
    /// 备份文件（不能已存在）
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// 备份文件；恢复到 --db 指定的新登记库文件（该文件不能已存在）
    file: PathBuf,
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// 校验审计日志的哈希链（有记录被改动或删除时返回非零）
    Verify,
    /// 列出最近的审计记录：何时、操作员、哪张表的哪条记录、什么操作、哪些字段（从不含字段的值）；
    /// 例如 `baoxue audit list --action reveal` 列出谁查看过完整的身份证号或电话
    List {
        /// 只列这一种操作（reveal、reveal_full、export_full、insert、update …）
        #[arg(long)]
        action: Option<String>,
        /// 最多列出最近的多少条
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

#[derive(Subcommand)]
pub enum OperatorCmd {
    /// 登记操作员（已登记则重新启用并更换PIN）
    Add {
        /// 操作员姓名
        name: String,
        /// 从标准输入读取新PIN（一行，4至12位数字或字母）
        #[arg(long)]
        pin_stdin: bool,
    },
    /// 列出操作员（不显示PIN）
    List,
    /// 停用操作员（保留记录）
    Disable {
        /// 操作员姓名
        name: String,
    },
}

/// Reads one secret line from standard input (prompting on a terminal).
fn read_secret_line(prompt: &str) -> Result<Zeroizing<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
    }
    let mut line = Zeroizing::new(String::new());
    stdin.lock().read_line(&mut line)?;
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string());
    Ok(trimmed)
}

/// The register passphrase: `BAOXUE_PASSPHRASE`, else one line from standard input.
pub fn passphrase() -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("BAOXUE_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    read_secret_line("请输入口令：")
}

/// Refuses an operator who is not registered (once any operator is), or whose PIN is wrong.
pub fn check_operator(reg: &Register, ctx: &Ctx) -> Result<()> {
    let pin = std::env::var("BAOXUE_PIN").ok().map(Zeroizing::new);
    operators::check(
        reg.conn(),
        &ctx.operator,
        pin.as_deref().map(String::as_str),
    )?;
    Ok(())
}

pub fn backup(a: BackupArgs, ctx: &Ctx) -> Result<i32> {
    // An encrypted register's passphrase also encrypts its backup (asked once).
    let reg_pass = super::passphrase::to_open(&ctx.db)?;
    let reg = ctx.open_with(reg_pass.as_deref().map(String::as_str))?;
    let pass = match reg_pass {
        Some(p) => p,
        None => passphrase()?,
    };
    let info = backup::backup(reg.conn(), &a.out, &pass, chrono::Utc::now())?;
    if ctx.json {
        ctx.print_json(&info)?;
    } else {
        println!(
            "已备份到 {}（数据库 {} 字节，备份文件 {} 字节，已加密）",
            info.file, info.db_bytes, info.file_bytes
        );
    }
    Ok(0)
}

pub fn restore(a: RestoreArgs, ctx: &Ctx) -> Result<i32> {
    let pass = passphrase()?;
    let r = backup::restore(&a.file, &ctx.db, &pass, &ctx.actor())?;
    if ctx.json {
        ctx.print_json(&r)?;
    } else {
        println!(
            "已恢复到新登记库 {}：{}，备份时间 {}，{} 户，{} 名儿童；完整性检查通过",
            r.db, r.site_name, r.backup_created_at, r.households, r.children
        );
        println!("此登记库已标记为“由备份恢复”，下次导出数据包时会向县里说明");
    }
    if let Some(seq) = r.audit_first_broken_row {
        eprintln!("警告：备份中的审计日志在第 {seq} 条处断开（记录可能被改动过），请报告县教育局");
    }
    Ok(0)
}

pub fn audit(c: AuditCmd, ctx: &Ctx) -> Result<i32> {
    match c {
        AuditCmd::List { action, limit } => {
            let reg = ctx.open()?;
            let rows = store::audit::list_recent(reg.conn(), action.as_deref(), limit.max(0))?;
            if ctx.json {
                ctx.print_json(&rows)?;
            } else if rows.is_empty() {
                println!("没有符合条件的审计记录");
            } else {
                for r in &rows {
                    println!(
                        "第 {} 条  {}  操作员 {}  {} {}  {}  {}",
                        r.seq, r.at, r.operator, r.table_name, r.record_id, r.action, r.fields
                    );
                }
            }
            Ok(0)
        }
        AuditCmd::Verify => {
            let reg = ctx.open()?;
            let rows = store::audit::count(reg.conn())?;
            let broken = store::audit::verify(reg.conn())?;
            // The chain holds: then every import run's record list must match its digest.
            let broken_run = match broken {
                None => baoxue::import::runs::verify_runs(reg.conn())?,
                Some(_) => None,
            };
            let first = broken.or(broken_run.as_ref().map(|b| b.seq));
            let row = match first {
                Some(seq) => store::audit::get(reg.conn(), seq)?,
                None => None,
            };
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "ok": first.is_none(),
                    "rows": rows,
                    "first_broken_row": first,
                    "broken_run": broken_run.as_ref().map(|b| serde_json::json!({
                        "table": b.table, "run_id": b.run_id, "audit_row": b.seq,
                    })),
                    "row": row,
                }))?;
            }
            if let Some(b) = &broken_run {
                let what = if b.table == "roll_import_runs" {
                    "花名册导入"
                } else {
                    "学户册导入"
                };
                eprintln!(
                    "错误：第 {} 条审计记录（{what}第 {} 次）所记的导入记录清单与其摘要不符：清单被改动、增加或删除过。请勿继续修改，保留此登记库文件并报告县教育局",
                    b.seq, b.run_id
                );
                return Ok(3);
            }
            match broken {
                None => {
                    if !ctx.json {
                        println!("审计日志完整：共 {rows} 条，哈希链及各次导入的记录清单校验通过");
                    }
                    Ok(0)
                }
                Some(seq) => {
                    let what = row
                        .map(|r| {
                            format!(
                                "（{}，操作员 {}，{} {}）",
                                r.at, r.operator, r.table_name, r.action
                            )
                        })
                        .unwrap_or_default();
                    eprintln!(
                        "错误：审计日志在第 {seq} 条{what}处断开：这一条或它之前的记录被改动或删除过。请勿继续修改，保留此登记库文件并报告县教育局"
                    );
                    Ok(3)
                }
            }
        }
    }
}

pub fn operator(c: OperatorCmd, ctx: &Ctx) -> Result<i32> {
    match c {
        OperatorCmd::Add { name, pin_stdin } => {
            let mut reg = ctx.open()?;
            let pin = if pin_stdin {
                Some(read_secret_line("请输入新PIN：")?)
            } else {
                None
            };
            operators::add(
                &mut reg,
                &name,
                pin.as_deref().map(String::as_str),
                &ctx.actor(),
            )?;
            if !ctx.json {
                println!(
                    "已登记操作员 {}{}",
                    name.trim(),
                    if pin.is_some() { "（已设PIN）" } else { "" }
                );
            } else {
                ctx.print_json(
                    &serde_json::json!({"name": name.trim(), "has_pin": pin.is_some()}),
                )?;
            }
            Ok(0)
        }
        OperatorCmd::List => {
            let reg = ctx.open()?;
            let list = operators::list(reg.conn())?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else if list.is_empty() {
                println!("尚未登记操作员（此时任何署名都可操作）");
            } else {
                for o in list {
                    println!(
                        "{}\t{}\t登记于 {}{}",
                        o.name,
                        if o.has_pin { "有PIN" } else { "无PIN" },
                        o.created_at,
                        o.disabled_at
                            .map(|d| format!("\t已停用 {d}"))
                            .unwrap_or_default()
                    );
                }
            }
            Ok(0)
        }
        OperatorCmd::Disable { name } => {
            let mut reg = ctx.open()?;
            if !operators::disable(&mut reg, &name, &ctx.actor())? {
                bail!("没有在用的操作员“{}”", name.trim());
            }
            println!("已停用操作员 {}", name.trim());
            Ok(0)
        }
    }
}

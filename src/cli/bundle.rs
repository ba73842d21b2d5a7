//! `baoxue site card|trust|list|…`, `baoxue bundle export|inspect|import|held|waiting|bench`,
//! `baoxue conflicts list|show|resolve`: the command side of `baoxue::bundle`.

use super::Ctx;
use anyhow::{bail, Context, Result};
use baoxue::bundle::{self, card, chain, conflicts, keys, trust, ExportOptions};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum SiteCmd {
    /// 输出本单位的公开密钥卡（交给县教育局或下级单位）
    Card {
        /// 写出密钥卡的文件
        #[arg(long)]
        out: PathBuf,
    },
    /// 信任另一单位的密钥卡（请先电话核对指纹）
    Trust {
        /// 对方单位的密钥卡文件
        card: PathBuf,
        /// 电话核对过的指纹（20位数字，可带空格）
        #[arg(long)]
        fingerprint: Option<String>,
    },
    /// 列出已信任的单位、管理范围和数据包链条
    List,
    /// 本登记库已从备份恢复：此后的数据包开始新序列并声明恢复
    MarkRestored {
        /// 原因（记入审计日志）
        #[arg(long)]
        reason: String,
    },
    /// 处理链条分叉：解除冻结（数据包可重新导入），记录决定人和理由
    ResolveFork {
        /// 链条分叉的单位编号（见 site list）
        site: String,
        /// 原因（记入审计日志）
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum BundleCmd {
    /// 导出数据包（默认增量、发给已信任的县教育局）
    Export(ExportArgs),
    /// 查看数据包清单和签名，不导入
    Inspect {
        /// 数据包文件
        file: PathBuf,
    },
    /// 导入一个或多个数据包
    Import {
        /// 数据包文件，可一次多个，顺序不限
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// 暂扣的数据包（时钟超前等）：列出、接收或拒收
    #[command(subcommand)]
    Held(HeldCmd),
    /// 等待中的记录（所依据的版本在缺号的数据包中）：列出或强制导入
    #[command(subcommand)]
    Waiting(WaitingCmd),
    /// 性能测试：全县完整数据包与100处修改的增量包
    Bench(BenchArgs),
}

#[derive(Args)]
pub struct ExportArgs {
    /// 写出的数据包文件（如 U 盘上的 .bxb 文件）
    #[arg(long)]
    out: PathBuf,
    /// 收件单位：密钥卡文件或单位编号（默认：县教育局）
    #[arg(long)]
    to: Option<String>,
    /// 完整数据包（换新电脑、U盘丢失时）
    #[arg(long)]
    full: bool,
}

#[derive(Subcommand)]
pub enum HeldCmd {
    List,
    Accept {
        /// 暂扣数据包的编号（见 bundle held list）
        id: String,
        /// 原因（记入审计日志）
        #[arg(long)]
        reason: String,
    },
    Refuse {
        /// 暂扣数据包的编号（见 bundle held list）
        id: String,
        /// 原因（记入审计日志）
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum WaitingCmd {
    /// 列出已收到但尚未导入的记录及其等待的数据包
    List,
    /// 强制导入一条等待中的记录（记录处理人和理由）
    Force {
        /// 等待中记录的编号（见 bundle waiting list）
        record_id: String,
        /// 原因（记入审计日志）
        #[arg(long)]
        reason: String,
    },
}

#[derive(Args)]
pub struct BenchArgs {
    /// 模拟全县的儿童人数
    #[arg(long, default_value_t = 200_000)]
    children: usize,
    /// 工作目录（默认：临时目录）
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum ConflictsCmd {
    /// 列出未处理的冲突
    List,
    /// 显示一条冲突的各方（身份证号、电话默认打码）
    Show {
        /// 冲突记录的编号（见 conflicts list）
        record_id: String,
        /// 显示完整身份证号和电话（记入审计日志）
        #[arg(long)]
        reveal: bool,
    },
    /// 处理冲突：保留一方（版本号或 winner），处理结果随下一个数据包传出
    Resolve {
        /// 冲突记录的编号（见 conflicts list）
        record_id: String,
        /// 保留的一方：其版本号，或 winner（按规则胜出的一方）
        #[arg(long)]
        keep: String,
        /// 原因（记入审计日志）
        #[arg(long)]
        reason: String,
    },
}

pub fn site(c: SiteCmd, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    let actor = ctx.actor();
    match c {
        SiteCmd::Card { out } => {
            let me = reg.require_site()?;
            let keys = {
                let w = reg.writer(&actor)?;
                let k = keys::load_or_create(w.conn(), actor.now)?;
                w.commit()?;
                k
            };
            let card = card::make(&me, &keys, &actor.now.to_rfc3339())?;
            let text = serde_json::to_string_pretty(&card)?;
            std::fs::write(&out, text.as_bytes())
                .with_context(|| format!("无法写入 {}", out.display()))?;
            if ctx.json {
                ctx.print_json(&card)?;
            } else {
                println!("已写出密钥卡：{}", out.display());
                println!("单位：{}（{}）", card.name, card.kind.label());
                println!("指纹：{}", card.fingerprint);
                println!("请将密钥卡交给对方，并电话核对以上指纹。");
            }
        }
        SiteCmd::Trust { card, fingerprint } => {
            let bytes = std::fs::read(&card)
                .with_context(|| format!("无法读取密钥卡 {}", card.display()))?;
            let (t, c) = trust::trust(&mut reg, &bytes, fingerprint.as_deref(), &actor)?;
            if ctx.json {
                ctx.print_json(&t)?;
            } else {
                println!(
                    "已信任：{}（{}），管理范围：{}",
                    t.name,
                    t.kind.label(),
                    t.scope
                );
                println!("指纹：{}", c.fingerprint);
                if fingerprint.is_none() {
                    println!("注意：未用 --fingerprint 核对指纹。请立即电话向对方核对以上指纹，不符时不要导入其数据包。");
                }
            }
        }
        SiteCmd::List => {
            let list = trust::list(reg.conn())?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                for t in &list {
                    println!(
                        "{}\t{}\t{}\t范围：{}\t末包：{}\t{}{}{}",
                        t.site_id,
                        t.name,
                        t.kind.label(),
                        t.scope,
                        t.last_seq
                            .map(|s| format!("第{s}号"))
                            .unwrap_or_else(|| "无".into()),
                        t.last_bundle_at.as_deref().unwrap_or(""),
                        if t.missing_seqs.is_empty() {
                            String::new()
                        } else {
                            format!("\t缺号：{:?}", t.missing_seqs)
                        },
                        t.frozen
                            .as_deref()
                            .map(|f| format!("\t已冻结：{f}"))
                            .unwrap_or_default()
                    );
                    if t.waiting > 0 {
                        println!("\t{} 条记录等待缺号的数据包", t.waiting);
                    }
                }
                println!("共信任 {} 个单位", list.len());
            }
        }
        SiteCmd::MarkRestored { reason } => {
            let w = reg.writer(&actor)?;
            keys::mark_restored(w.conn(), actor.now, &reason)?;
            w.commit()?;
            println!("已标记为从备份恢复：此后导出的数据包将开始新序列并声明恢复。");
        }
        SiteCmd::ResolveFork { site, reason } => {
            chain::resolve_fork(&mut reg, &site, &reason, &actor)?;
            println!("已解除 {site} 的冻结（处理人：{}）。", actor.operator);
        }
    }
    Ok(0)
}

fn recipient_arg(to: Option<String>) -> Result<Option<String>> {
    let Some(to) = to else { return Ok(None) };
    let p = Path::new(&to);
    if p.is_file() {
        let bytes = std::fs::read(p).with_context(|| format!("无法读取密钥卡 {to}"))?;
        let c = card::parse_and_check(&bytes)?;
        return Ok(Some(c.site_id));
    }
    Ok(Some(to))
}

pub fn bundle(c: BundleCmd, ctx: &Ctx) -> Result<i32> {
    match c {
        BundleCmd::Export(a) => {
            let mut reg = ctx.open()?;
            let opts = ExportOptions {
                to: recipient_arg(a.to)?,
                full: a.full,
            };
            let s = bundle::export_bundle(&mut reg, &opts, &a.out, &ctx.actor())?;
            if ctx.json {
                ctx.print_json(&s)?;
            } else {
                println!(
                    "已导出{}数据包（第{}号）给 {}：{} 条记录，{} 字节 → {}",
                    if s.kind == "full" { "完整" } else { "增量" },
                    s.seq,
                    s.to_name,
                    s.records,
                    s.bytes,
                    s.file
                );
                if s.skipped_out_of_scope > 0 {
                    println!(
                        "注意：本单位有 {} 条记录不在本单位管理范围内，未导出",
                        s.skipped_out_of_scope
                    );
                }
            }
            Ok(0)
        }
        BundleCmd::Inspect { file } => {
            let reg = ctx.open()?;
            let bytes = baoxue::limits::read_bounded(&file, baoxue::limits::MAX_BUNDLE_BYTES)
                .with_context(|| format!("无法读取 {}", file.display()))?;
            let b = bundle::UnverifiedBundle::parse(bytes)?;
            let sig = b.signature_status(reg.conn())?;
            let v = serde_json::json!({
                "file": file.display().to_string(),
                "hash": b.hash(),
                "signature": sig,
                "manifest": b.manifest(),
            });
            if ctx.json {
                ctx.print_json(&v)?;
            } else {
                let m = b.manifest();
                println!("数据包：{}（{}）", m.bundle_id, m.kind);
                println!(
                    "发出：{}（{}），第{}号，{}",
                    m.from_site.name, m.from_site.id, m.chain.seq, m.created_at
                );
                println!("收件：{}", m.to_site);
                println!(
                    "签名：{}",
                    match sig {
                        bundle::verify::SignatureStatus::Valid => "有效",
                        bundle::verify::SignatureStatus::Invalid =>
                            "无效（文件被改动或不是该单位签发）",
                        bundle::verify::SignatureStatus::UnknownSender =>
                            "无法核验（发出单位未被信任）",
                    }
                );
                println!("记录：{} 条 {:?}", m.payload.records, m.counts);
                if m.chain.restored.is_some() {
                    println!("声明：发出单位的登记库曾从备份恢复");
                }
            }
            Ok(if sig == bundle::verify::SignatureStatus::Invalid {
                1
            } else {
                0
            })
        }
        BundleCmd::Import { files } => {
            let mut reg = ctx.open()?;
            let bar = (files.len() > 1 && !ctx.json).then(|| {
                let b = indicatif::ProgressBar::new(files.len() as u64);
                b.set_style(
                    indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            });
            let mut reports = Vec::new();
            for f in &files {
                let name = f.display().to_string();
                let r = match baoxue::limits::read_bounded(f, baoxue::limits::MAX_BUNDLE_BYTES) {
                    Ok(bytes) => bundle::import_bundle(&mut reg, bytes, &name, &ctx.actor()),
                    Err(e) => {
                        let mut r = bundle::merge::refused_report(&name);
                        r.reason = Some("io".into());
                        r.message = Some(format!("无法读取文件：{e}"));
                        r
                    }
                };
                if let Some(b) = &bar {
                    b.set_message(name.clone());
                    b.inc(1);
                }
                reports.push(r);
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            if ctx.json {
                if reports.len() == 1 {
                    ctx.print_json(&reports[0])?;
                } else {
                    ctx.print_json(&reports)?;
                }
            } else {
                for r in &reports {
                    match r.status.as_str() {
                        "applied" => println!(
                            "{}：已导入，更新 {} 条，未变 {} 条，冲突 {} 条{}{}",
                            r.file,
                            r.applied,
                            r.unchanged,
                            r.conflicts,
                            if r.waiting > 0 {
                                format!(
                                    "；{} 条等待缺号的数据包（baoxue bundle waiting list）",
                                    r.waiting
                                )
                            } else {
                                String::new()
                            },
                            if r.missing_seqs.is_empty() {
                                String::new()
                            } else {
                                format!("；该单位尚缺第 {:?} 号数据包", r.missing_seqs)
                            }
                        ),
                        "already_imported" => println!("{}：此前已导入，未作改动", r.file),
                        "held" => {
                            println!("{}：已暂扣：{}", r.file, r.message.as_deref().unwrap_or(""))
                        }
                        _ => println!("{}：拒收：{}", r.file, r.message.as_deref().unwrap_or("")),
                    }
                }
            }
            Ok(if reports.iter().any(|r| r.status == "refused") {
                1
            } else {
                0
            })
        }
        BundleCmd::Held(h) => {
            let mut reg = ctx.open()?;
            let actor = ctx.actor();
            match h {
                HeldCmd::List => {
                    let list = baoxue::store::bundles_received::list_by_status(reg.conn(), "held")?;
                    if ctx.json {
                        ctx.print_json(&list)?;
                    } else {
                        for b in &list {
                            println!(
                                "{}\t{}\t第{}号\t{}\t{}",
                                &b.hash[..16.min(b.hash.len())],
                                b.from_site,
                                b.seq,
                                b.created_at,
                                b.reason.as_deref().unwrap_or("")
                            );
                        }
                        println!("共 {} 个暂扣数据包", list.len());
                    }
                    Ok(0)
                }
                HeldCmd::Accept { id, reason } => {
                    let r = bundle::merge::decide_held(&mut reg, &id, true, &reason, &actor)?;
                    ctx.print_json(&r)?;
                    Ok(if r.status == "refused" { 1 } else { 0 })
                }
                HeldCmd::Refuse { id, reason } => {
                    let r = bundle::merge::decide_held(&mut reg, &id, false, &reason, &actor)?;
                    ctx.print_json(&r)?;
                    Ok(0)
                }
            }
        }
        BundleCmd::Waiting(wc) => {
            let mut reg = ctx.open()?;
            match wc {
                WaitingCmd::List => {
                    let list = bundle::waiting::list(reg.conn())?;
                    if ctx.json {
                        ctx.print_json(&list)?;
                    } else {
                        for w in &list {
                            println!("{}\t{}\t{}", w.table, w.record_id, w.message);
                        }
                        println!("共 {} 条记录等待缺号的数据包", list.len());
                    }
                }
                WaitingCmd::Force { record_id, reason } => {
                    let r = bundle::waiting::force(&mut reg, &record_id, &reason, &ctx.actor())?;
                    if ctx.json {
                        ctx.print_json(&r)?;
                    } else {
                        println!(
                            "已强制导入记录 {}（{} 个版本，处理人：{}）",
                            r.record_id,
                            r.versions.len(),
                            ctx.operator
                        );
                    }
                }
            }
            Ok(0)
        }
        BundleCmd::Bench(a) => {
            let dir = match a.dir {
                Some(d) => d,
                None => std::env::temp_dir().join(format!("baoxue-bench-{}", std::process::id())),
            };
            let r = bundle::bench::run(&dir, a.children, &ctx.operator)?;
            ctx.print_json(&r)?;
            Ok(0)
        }
    }
}

pub fn conflicts(c: ConflictsCmd, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    match c {
        ConflictsCmd::List => {
            let list = conflicts::list(reg.conn())?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                for c in &list {
                    println!(
                        "{}\t{}\t{}\t当前：{}\t各方：{}",
                        c.table,
                        c.record_id,
                        if c.kind == "edit_delete" {
                            "修改与删除冲突"
                        } else {
                            "两处修改冲突"
                        },
                        c.winner,
                        c.sides.join("、")
                    );
                }
                println!("共 {} 条未处理冲突", list.len());
            }
        }
        ConflictsCmd::Show { record_id, reveal } => {
            let (c, sides) = conflicts::show(reg.conn(), &record_id, reveal)?;
            let v = serde_json::json!({"conflict": c, "sides": sides});
            ctx.print_json(&v)?;
        }
        ConflictsCmd::Resolve {
            record_id,
            keep,
            reason,
        } => {
            if reason.trim().is_empty() {
                bail!("请用 --reason 写明处理理由");
            }
            let v = conflicts::resolve(&mut reg, &record_id, &keep, &reason, &ctx.actor())?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({"record_id": record_id, "version": v}))?;
            } else {
                println!("已处理冲突：记录 {record_id} 的新版本 {v}，将随下一个数据包传出");
            }
        }
    }
    Ok(0)
}

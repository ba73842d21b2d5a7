//! `baoxue stats`, `baoxue ledger`, `baoxue division …`.

use super::Ctx;
use anyhow::{bail, Result};
use baoxue::ledger::{LedgerKind, LedgerOptions};
use baoxue::stats::{self, Figure, Metric};
use baoxue::store::divisions::{self, Division};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Parses `--as-of`, defaulting to today (the CLI is the layer that reads the clock).
#[derive(Args)]
pub struct StatsArgs {
    /// 统计日期（默认今天）
    #[arg(long)]
    as_of: Option<String>,
    /// 打开某个数字背后的儿童名单：retention|net_enrolment|dropout
    #[arg(long, requires_all = ["by", "key"])]
    drill: Option<String>,
    /// 分组：county|township|school|grade|group
    #[arg(long)]
    by: Option<String>,
    /// 分组代码（乡镇代码、学校代码、年级、重点群体代码；全县为 county）
    #[arg(long)]
    key: Option<String>,
}

fn print_figures(title: &str, list: &[Figure]) {
    println!("【{title}】");
    for f in list {
        let rate = f
            .rate
            .map(|r| format!("{r:.2}%"))
            .unwrap_or_else(|| "—".into());
        let by = match f.by.as_str() {
            "county" => "",
            "township" => "乡镇",
            "school" => "学校",
            "grade" => "年级",
            _ => "群体",
        };
        println!(
            "  {by}{:<16} {:>8}  ({}/{})",
            f.label, rate, f.numerator, f.denominator
        );
    }
}

pub fn stats(a: StatsArgs, ctx: &Ctx) -> Result<i32> {
    let reg = ctx.open()?;
    let as_of = ctx.day(&a.as_of)?;
    let s = stats::compute(reg.conn(), as_of)?;
    if let Some(metric) = &a.drill {
        let Some(metric) = Metric::parse(metric) else {
            bail!("--drill 应为 retention、net_enrolment 或 dropout")
        };
        let (by, key) = (a.by.unwrap_or_default(), a.key.unwrap_or_default());
        let Some(list) = stats::children_behind(&s, metric, &by, &key) else {
            bail!("没有 {by}={key} 这一组的统计数字");
        };
        let rows: Vec<_> = list.iter().map(|(id, counted)| serde_json::json!({"person": baoxue::idnum::mask_id(id), "counted": counted})).collect();
        if ctx.json {
            ctx.print_json(&rows)?;
        } else {
            for (id, counted) in &list {
                println!(
                    "{}\t{}",
                    baoxue::idnum::mask_id(id),
                    if *counted {
                        "计入分子"
                    } else {
                        "仅计入分母"
                    }
                );
            }
            println!("共 {} 人", list.len());
        }
        return Ok(0);
    }
    if ctx.json {
        ctx.print_json(&s)?;
    } else {
        println!("统计日期 {}（{}学年）", s.as_of, s.school_year);
        print_figures("巩固率", &s.retention);
        print_figures("净入学率", &s.net_enrolment);
        print_figures("辍学率", &s.dropout);
        println!("【个案】共 {} 个", s.cases.total);
        for (k, v) in &s.cases.by_state {
            println!("  {k}：{v}");
        }
        let p = &s.cases.persuasion_success;
        println!(
            "  劝返成功率：{}（{}/{}）",
            p.rate
                .map(|r| format!("{r:.2}%"))
                .unwrap_or_else(|| "—".into()),
            p.numerator,
            p.denominator
        );
    }
    Ok(0)
}

#[derive(Args)]
pub struct LedgerArgs {
    /// children|suspected|dropouts|returns|disabled（或中文台账名）
    kind: String,
    /// 输出文件（.xlsx，或 .csv 为 UTF-8 带 BOM）
    #[arg(long)]
    out: PathBuf,
    /// 区划代码（乡镇9位或村12位）
    #[arg(long)]
    area: Option<String>,
    /// 写出完整身份证号和电话（记入审计日志）
    #[arg(long)]
    full: bool,
    /// 统计日期（默认今天）
    #[arg(long)]
    as_of: Option<String>,
}

pub fn ledger(a: LedgerArgs, ctx: &Ctx) -> Result<i32> {
    let Some(kind) = LedgerKind::parse(&a.kind) else {
        bail!(
            "台账类型“{}”无法识别，应为 children、suspected、dropouts、returns 或 disabled",
            a.kind
        );
    };
    let mut reg = ctx.open()?;
    let opts = LedgerOptions {
        kind,
        area: a.area,
        full: a.full,
        as_of: ctx.day(&a.as_of)?,
    };
    let n = baoxue::ledger::write(&mut reg, &opts, &a.out, &ctx.actor())?;
    if ctx.json {
        ctx.print_json(
            &serde_json::json!({"kind": kind.title(), "rows": n, "out": a.out, "full": a.full}),
        )?;
    } else {
        println!("已导出{}：{} 行 → {}", kind.title(), n, a.out.display());
    }
    Ok(0)
}

#[derive(Subcommand)]
pub enum DivisionCmd {
    /// 登记区划名称（县6位、乡镇9位、村12位）
    Add {
        /// 区划代码：县6位、乡镇9位、村12位
        #[arg(long)]
        code: String,
        /// 名称，如“张庄村”
        #[arg(long)]
        name: String,
    },
    /// 列出区划
    List,
}

pub fn division(c: DivisionCmd, ctx: &Ctx) -> Result<i32> {
    let reg = ctx.open()?;
    match c {
        DivisionCmd::Add { code, name } => {
            let code = code.trim().to_string();
            let level = match code.len() {
                6 => "county",
                9 => "township",
                12 => "village",
                _ => bail!("区划代码“{code}”应为6、9或12位数字"),
            };
            if !code.bytes().all(|b| b.is_ascii_digit()) || name.trim().is_empty() {
                bail!("区划代码应为数字，名称不能为空");
            }
            divisions::put(
                reg.conn(),
                &Division {
                    code,
                    name: name.trim().into(),
                    level: level.into(),
                },
            )?;
        }
        DivisionCmd::List => {
            let list = divisions::list(reg.conn())?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                for d in &list {
                    println!("{}\t{}", d.code, d.name);
                }
            }
        }
    }
    Ok(0)
}

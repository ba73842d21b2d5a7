//! `baoxue person duplicates|confirm|reject`: probable duplicate child records (same name and
//! birth date, no shared ID) and a person's decision about them, which travels in bundles.

use super::Ctx;
use anyhow::Result;
use baoxue::persons;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum PersonCmd {
    /// 疑似同一儿童的记录（姓名、出生日期相同，至少一条无身份证号，村相同或未知）
    Duplicates,
    /// 确认两条记录是同一儿童（决定随下一个数据包传出）
    Confirm {
        /// 一条儿童记录的编号
        child_id: String,
        /// 另一条儿童记录的编号
        other_child_id: String,
        /// 依据（如“入户核实”），记入审计日志
        #[arg(long)]
        reason: String,
    },
    /// 确认两条记录不是同一儿童（决定随下一个数据包传出）
    Reject {
        /// 一条儿童记录的编号
        child_id: String,
        /// 另一条儿童记录的编号
        other_child_id: String,
        /// 依据（如“入户核实”），记入审计日志
        #[arg(long)]
        reason: String,
    },
}

pub fn run(c: PersonCmd, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    match c {
        PersonCmd::Duplicates => {
            let list = persons::probable(reg.conn())?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                for p in &list {
                    println!(
                        "{}\t{}\t{} {}\t{}\t{}",
                        p.child_id,
                        p.other_child_id,
                        p.name,
                        p.birth_date,
                        p.village
                            .as_deref()
                            .or(p.other_village.as_deref())
                            .unwrap_or("村未知"),
                        match p.decision.as_deref() {
                            Some("same") => "已确认为同一儿童",
                            Some(_) => "已确认不是同一儿童",
                            None => "待核实",
                        }
                    );
                }
                let open = list.iter().filter(|p| p.decision.is_none()).count();
                println!(
                    "共 {} 对疑似重复，{open} 对待核实（baoxue person confirm|reject 编号 编号 --reason 理由）",
                    list.len()
                );
            }
        }
        PersonCmd::Confirm {
            child_id,
            other_child_id,
            reason,
        } => decide(&mut reg, ctx, &child_id, &other_child_id, true, &reason)?,
        PersonCmd::Reject {
            child_id,
            other_child_id,
            reason,
        } => decide(&mut reg, ctx, &child_id, &other_child_id, false, &reason)?,
    }
    Ok(0)
}

fn decide(
    reg: &mut baoxue::register::Register,
    ctx: &Ctx,
    a: &str,
    b: &str,
    same: bool,
    reason: &str,
) -> Result<()> {
    let link = persons::decide(reg, a, b, same, reason, &ctx.actor())?;
    if ctx.json {
        ctx.print_json(&link)?;
    } else {
        println!(
            "已记录：{} 与 {} {}（处理人：{}）。此决定将随下一个数据包传出。",
            link.child_id,
            link.other_child_id,
            if same {
                "是同一儿童"
            } else {
                "不是同一儿童"
            },
            link.decided_by
        );
    }
    Ok(())
}

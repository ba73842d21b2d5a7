//! `baoxue child show`: the one-child file (一人一档), as text, JSON or a printable HTML page.

use super::Ctx;
use anyhow::Result;
use baoxue::childfile;
use baoxue::idnum::mask_id;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ChildCmd {
    /// 一人一档：按记录编号、身份证号或学籍号查看
    Show {
        /// 记录编号、身份证号或学籍号
        key: String,
        /// 另存为可打印的 HTML（A4）
        #[arg(long)]
        html: Option<PathBuf>,
        /// 显示完整身份证号和电话（记入审计日志）
        #[arg(long)]
        full: bool,
    },
}

pub fn run(c: ChildCmd, ctx: &Ctx) -> Result<i32> {
    let ChildCmd::Show { key, html, full } = c;
    let mut reg = ctx.open()?;
    let file = childfile::load(reg.conn(), &key)?;
    if full {
        let mut w = reg.writer(&ctx.actor())?;
        let id = file
            .records
            .first()
            .map(|r| r.child.meta.id.clone())
            .unwrap_or_default();
        w.audit("children", &id, "reveal_full", &["id_number", "phone"])?;
        w.commit()?;
    }
    if let Some(path) = html {
        let page = childfile::to_html(reg.conn(), &file, full)?;
        std::fs::write(&path, page).map_err(|e| baoxue::Error::io(&path, e))?;
        if !ctx.json {
            println!("已生成一人一档：{}", path.display());
        }
    }
    if ctx.json {
        let mut v = serde_json::to_value(&file)?;
        if !full {
            mask_json(&mut v);
        }
        ctx.print_json(&v)?;
    } else {
        for r in &file.records {
            let c = &r.child;
            let id = c
                .id_number
                .as_deref()
                .map(|s| if full { s.to_string() } else { mask_id(s) })
                .unwrap_or_else(|| "无".into());
            println!(
                "{} {} {} {}（记录 {}）",
                c.name,
                c.sex.as_deref().unwrap_or(""),
                c.birth_date.as_deref().unwrap_or(""),
                id,
                c.meta.id
            );
            for e in &r.enrolments {
                println!(
                    "    学籍：{} {}年级 {} {}",
                    e.school_code,
                    e.grade.unwrap_or(0),
                    e.term.as_deref().unwrap_or(""),
                    e.status
                );
            }
        }
        for cf in &file.cases {
            println!("个案 {}：{}", cf.case.meta.id, cf.case.state);
            for ev in &cf.events {
                println!("    {} {}", ev.on_date, childfile::describe_event(ev));
            }
        }
    }
    Ok(0)
}

/// Masks every ID- and phone-bearing field of a JSON value in place.
fn mask_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match (k.as_str(), val.as_str()) {
                    ("id_number" | "id_key" | "head_id_number" | "student_no", Some(s)) => {
                        *val = mask_id(s).into()
                    }
                    ("phone", Some(s)) => *val = baoxue::idnum::mask_phone(s).into(),
                    _ => mask_json(val),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(mask_json),
        _ => {}
    }
}

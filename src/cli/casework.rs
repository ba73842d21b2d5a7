//! Case-work commands: `crosscheck`, `attendance`, `warnings`, `monthly-check`, `verify`, `case`,
//! `placement`, `notice`, `entitlement`, `bench crosscheck`.

use super::Ctx;
use anyhow::{anyhow, Result};
use baoxue::attendance::{self, ClassDay};
use baoxue::households::parse_date;
use baoxue::settings::Settings;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `--as-of` or today.
fn as_of(ctx: &Ctx, raw: &Option<String>) -> Result<NaiveDate> {
    match raw {
        Some(s) => parse_date(s).ok_or_else(|| anyhow!("日期“{s}”无效，请写成 2026-10-12")),
        None => Ok(ctx.actor().now.date_naive()),
    }
}

#[derive(Args)]
pub struct CrosscheckArgs {
    /// 比对日期（默认今天）
    #[arg(long)]
    as_of: Option<String>,
    /// 显示完整身份证号（记入审计日志）
    #[arg(long)]
    full: bool,
}

pub fn crosscheck(a: CrosscheckArgs, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    let day = as_of(ctx, &a.as_of)?;
    let settings = Settings::load(reg.conn())?;
    let mut r = baoxue::crosscheck::run(reg.conn(), &settings, day)?;
    if a.full {
        let mut w = reg.writer(&ctx.actor())?;
        w.audit("children", "*", "reveal_full", &["id_number"])?;
        w.commit()?;
    } else {
        r = r.masked();
    }
    if ctx.json {
        ctx.print_json(&r)?;
        return Ok(0);
    }
    println!(
        "四查三比对（{}，{}学年，入学截止日 {}）：核对适龄儿童 {} 名",
        r.as_of, r.window.school_year, r.window.cutoff, r.children_checked
    );
    println!("疑似失学辍学 {} 名：", r.suspected.len());
    for s in &r.suspected {
        println!(
            "  {}{} {} {} 村{}：{}{}",
            if s.priority { "【重点】" } else { "" },
            s.name,
            s.id_number.as_deref().unwrap_or("无身份证号"),
            s.birth_date,
            s.village.as_deref().unwrap_or("未知"),
            s.reason,
            if s.priority_group_names.is_empty() {
                String::new()
            } else {
                format!("（{}）", s.priority_group_names.join("、"))
            }
        );
    }
    if !r.to_confirm.is_empty() {
        println!("需人工确认的可能匹配 {} 名：", r.to_confirm.len());
        for s in &r.to_confirm {
            println!(
                "  {} {} 村{}：{}",
                s.name,
                s.birth_date,
                s.village.as_deref().unwrap_or("未知"),
                s.reason
            );
        }
    }
    Ok(0)
}

#[derive(Args)]
pub struct WarningsArgs {
    /// 学校代码
    #[arg(long)]
    school: Option<String>,
    /// 乡镇9位区划代码
    #[arg(long)]
    township: Option<String>,
    #[arg(long)]
    as_of: Option<String>,
}

pub fn warnings(a: WarningsArgs, ctx: &Ctx) -> Result<i32> {
    let reg = ctx.open()?;
    let day = as_of(ctx, &a.as_of)?;
    let settings = Settings::load(reg.conn())?;
    let list: Vec<_> = attendance::warnings(reg.conn(), &settings, day, a.school.as_deref())?
        .into_iter()
        .filter(|x| a.township.is_none() || x.township_code.as_deref() == a.township.as_deref())
        .map(|mut x| {
            x.id_key = x.id_key.as_deref().map(baoxue::idnum::mask_id);
            x
        })
        .collect();
    if ctx.json {
        ctx.print_json(&serde_json::json!({"as_of": day.to_string(), "warnings": list}))?;
        return Ok(0);
    }
    println!(
        "缺课预警（截至 {day}；疑似辍学 ≥{} 个上课日，辍学 ≥{} 个上课日）：",
        settings.suspected_absence_days, settings.dropout_absence_days
    );
    for x in &list {
        println!(
            "  [{}] 学校{} {}年级{} {}：自 {} 起连续 {} 个上课日缺课未请假（至 {}）",
            x.level_name,
            x.school_code,
            x.grade.map(|g| g.to_string()).unwrap_or_default(),
            x.class_name.as_deref().unwrap_or(""),
            x.name,
            x.since,
            x.days,
            x.through
        );
    }
    println!("共 {} 名", list.len());
    Ok(0)
}

#[derive(Subcommand)]
pub enum AttendanceCmd {
    /// 登记一个班某天的考勤：列出缺勤、请假的学生，其余记为出勤
    Record {
        #[arg(long)]
        school: String,
        /// 日期（默认今天）
        #[arg(long)]
        date: Option<String>,
        /// 年级（1-9，或“初一”）
        #[arg(long)]
        grade: Option<String>,
        /// 班级，如“1班”
        #[arg(long)]
        class: Option<String>,
        /// 缺勤（未请假）学生：学籍号、身份证号或姓名，可多次或用逗号分隔
        #[arg(long, value_delimiter = ',')]
        absent: Vec<String>,
        /// 请假学生
        #[arg(long, value_delimiter = ',')]
        leave: Vec<String>,
    },
}

pub fn attendance_cmd(c: AttendanceCmd, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    match c {
        AttendanceCmd::Record {
            school,
            date,
            grade,
            class,
            absent,
            leave,
        } => {
            let grade = match grade {
                Some(g) => Some(
                    baoxue::codes::lookup(&baoxue::codes::codes().grades, &g)
                        .and_then(|c| c.code.parse::<i64>().ok())
                        .ok_or_else(|| anyhow!("年级“{g}”无法识别，请填 1-9 或 一年级、初一"))?,
                ),
                None => None,
            };
            let day = ClassDay {
                school_code: school,
                grade,
                class_name: class,
                date: as_of(ctx, &date)?.to_string(),
                absent: absent
                    .into_iter()
                    .filter(|s| !s.trim().is_empty())
                    .collect(),
                leave: leave.into_iter().filter(|s| !s.trim().is_empty()).collect(),
            };
            let r = attendance::record_day(&mut reg, &day, &ctx.actor())?;
            if ctx.json {
                ctx.print_json(&r)?;
            } else {
                println!(
                    "已登记 {} 学校{} 考勤：应到 {}，出勤 {}，缺勤 {}，请假 {}（更新 {} 条）",
                    r.date, r.school_code, r.pupils, r.present, r.absent, r.leave, r.changed
                );
            }
        }
    }
    Ok(0)
}

#[derive(Args)]
pub struct MonthlyArgs {
    /// 月份，如 2026-10
    #[arg(long)]
    month: String,
    #[arg(long)]
    school: Option<String>,
}

pub fn monthly(a: MonthlyArgs, ctx: &Ctx) -> Result<i32> {
    let reg = ctx.open()?;
    let settings = Settings::load(reg.conn())?;
    let list = attendance::monthly_check(reg.conn(), &settings, &a.month, a.school.as_deref())?;
    if ctx.json {
        ctx.print_json(&list)?;
        return Ok(0);
    }
    for c in &list {
        println!(
            "{} {}（{}）：在籍 {}，本月到校 {}，上课日 {}，有考勤 {} 天，不符 {} 名",
            c.school_code,
            c.school_name,
            c.month,
            c.on_roll,
            c.present,
            c.school_days,
            c.days_recorded,
            c.mismatches.len()
        );
        for m in &c.mismatches {
            println!(
                "    {}年级{} {}：{}",
                m.grade.map(|g| g.to_string()).unwrap_or_default(),
                m.class_name.as_deref().unwrap_or(""),
                m.name,
                m.note
            );
        }
    }
    Ok(0)
}

/// `baoxue bench crosscheck`.
#[derive(Args)]
pub struct BenchCrosscheckArgs {
    #[arg(long, default_value_t = 250_000)]
    children: usize,
    #[arg(long, default_value_t = 200_000)]
    enrolments: usize,
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// 基准登记库文件（默认临时目录，须为新文件；已存在则直接在其上计时）
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn bench_crosscheck(a: BenchCrosscheckArgs, ctx: &Ctx) -> Result<i32> {
    {
        let BenchCrosscheckArgs {
            children,
            enrolments,
            runs,
            out,
        } = a;
        {
            let path = out.unwrap_or_else(|| {
                std::env::temp_dir().join(format!("baoxue-bench-{}.db", std::process::id()))
            });
            let r =
                baoxue::crosscheck::bench::run(&path, children, enrolments, runs, &ctx.actor())?;
            if ctx.json {
                ctx.print_json(&r)?;
            } else {
                println!(
                    "四查三比对基准：学户册儿童 {}，学籍 {}；造数 {:.1} 秒",
                    r.roster_children, r.enrolments, r.build_seconds
                );
                println!(
                    "比对 {} 次：最快 {:.3} 秒，中位 {:.3} 秒（各次：{}）",
                    r.runs.len(),
                    r.best_seconds,
                    r.median_seconds,
                    r.runs
                        .iter()
                        .map(|t| format!("{t:.3}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                println!(
                    "结果：核对 {} 名，疑似 {} 名，待确认 {} 名；基准库 {}",
                    r.children_checked,
                    r.suspected,
                    r.to_confirm,
                    path.display()
                );
            }
            Ok(0)
        }
    }
}

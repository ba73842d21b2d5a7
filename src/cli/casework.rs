//! Case-work commands: `crosscheck`, `attendance`, `warnings`, `monthly-check`, `verify`, `case`,
//! `placement`, `notice`, `bench crosscheck` (应享尽享 is `baoxue list check`).

use super::Ctx;
use anyhow::{anyhow, Result};
use baoxue::attendance::{self, ClassDay};
use baoxue::settings::Settings;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// `--as-of` or today.
#[derive(Args)]
pub struct CrosscheckArgs {
    /// 比对日期（默认今天）
    #[arg(long)]
    as_of: Option<String>,
    /// 显示完整身份证号（记入审计日志）
    #[arg(long)]
    full: bool,
    #[command(subcommand)]
    cmd: Option<CrosscheckCmd>,
}

#[derive(Subcommand)]
pub enum CrosscheckCmd {
    /// 确认“可能匹配”：该儿童就是这名在读学生（关联两条记录，此后不再列出）
    Confirm {
        /// 待确认名单中的儿童编号（child_id）
        child_id: String,
        /// 可能是同一人的在读学生记录编号（candidates 中的 child_id）
        #[arg(long)]
        pupil: String,
    },
    /// 否定“可能匹配”：该儿童不是这名在读学生（记录并审计，此后不再作为可能匹配列出）
    Reject {
        /// 待确认名单中的儿童编号（child_id）
        child_id: String,
        /// 核实后不是同一人的在读学生记录编号（candidates 中的 child_id）
        #[arg(long)]
        pupil: String,
        /// 核实情况说明（可选）
        #[arg(long, default_value = "")]
        reason: String,
    },
}

pub fn crosscheck(a: CrosscheckArgs, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    if let Some(CrosscheckCmd::Confirm { child_id, pupil }) = a.cmd {
        let r =
            baoxue::crosscheck::confirm::confirm_match(&mut reg, &child_id, &pupil, &ctx.actor())?;
        if ctx.json {
            ctx.print_json(&r)?;
        } else {
            let what = match r.action.as_str() {
                "id_to_child" => "已把学籍记录的身份证号写入该儿童记录".to_string(),
                "id_to_pupil" => "已把该儿童的身份证号写入学籍记录".to_string(),
                _ => format!("已把 {} 条在读学籍移到该儿童记录", r.enrolments_moved),
            };
            println!("已确认为同一人：{what}。再次比对时不再列出。");
        }
        return Ok(0);
    }
    if let Some(CrosscheckCmd::Reject {
        child_id,
        pupil,
        reason,
    }) = a.cmd
    {
        let r = baoxue::crosscheck::confirm::reject_match(
            &mut reg,
            &child_id,
            &pupil,
            &reason,
            &ctx.actor(),
        )?;
        if ctx.json {
            ctx.print_json(&r)?;
        } else if r.stored {
            println!("已记录：两条记录不是同一人。再次比对时不再把这名学生列为可能匹配。");
        } else {
            println!("这对记录此前已判定为不是同一人，未作改动。");
        }
        return Ok(0);
    }
    let day = ctx.day(&a.as_of)?;
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
        // The same text as `print_json`, its long list written on two threads.
        let text = baoxue::crosscheck::json::to_json_pretty(&r)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&text)?;
        out.write_all(b"\n")?;
        out.flush()?;
        // The process ends here: freeing a county's tens of thousands of entries one string at
        // a time (≈ 0.1 G instructions at 250k children) would only delay its exit.
        std::mem::forget(r);
        return Ok(0);
    }
    println!(
        "四查三比对（{}，{}学年，入学截止日 {}）：未见在读学籍的适龄儿童 {} 名",
        r.as_of, r.window.school_year, r.window.cutoff, r.children_checked
    );
    println!("比对来源：");
    for b in &r.by_source {
        println!(
            "  {}{}{}：疑似 {} 名，待确认 {} 名",
            b.kind_label,
            if b.source.is_empty() {
                String::new()
            } else {
                format!("（{}）", b.source)
            },
            match (&b.as_of, b.rows) {
                (Some(d), Some(n)) => format!(" {d} 版本，{n} 人"),
                _ => String::new(),
            },
            b.suspected,
            b.to_confirm
        );
    }
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
            let Some(child) = &s.child_id else { continue };
            for c in &s.candidates {
                println!(
                    "    学校{}的在读学生 {}：是同一人 → baoxue crosscheck confirm {child} --pupil {}；不是 → baoxue crosscheck reject {child} --pupil {}",
                    c.school_code, c.child_id, c.child_id, c.child_id
                );
            }
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
    /// 计算到哪一天（默认今天）
    #[arg(long)]
    as_of: Option<String>,
}

pub fn warnings(a: WarningsArgs, ctx: &Ctx) -> Result<i32> {
    let reg = ctx.open()?;
    let day = ctx.day(&a.as_of)?;
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
        /// 学校代码
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
    /// 导入考勤表（Excel/CSV）：每行一名学生一天（日期、姓名/身份证号/学籍号、出勤情况），或每天一列的月考勤表
    Import {
        /// 考勤表文件（.xlsx/.xls/.ods/.csv）
        file: PathBuf,
        /// 学校代码
        #[arg(long)]
        school: String,
        /// 工作表名称（默认第一个有内容的工作表）
        #[arg(long)]
        sheet: Option<String>,
        /// 月考勤表（每天一列）的年月，如 2026-10（标题已写明时可省略）
        #[arg(long)]
        month: Option<String>,
        /// 只检查、不写入
        #[arg(long)]
        dry_run: bool,
        /// 把拒收的行写到这个 .xlsx 文件（改正后可再导入）
        #[arg(long)]
        errors_out: Option<PathBuf>,
    },
}

pub fn attendance_cmd(c: AttendanceCmd, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    match c {
        AttendanceCmd::Import {
            file,
            school,
            sheet,
            month,
            dry_run,
            errors_out,
        } => {
            let opts = baoxue::attendance::import::AttendanceImport {
                school_code: school,
                sheet,
                month,
                dry_run,
            };
            let out = baoxue::attendance::import::import_attendance(
                &mut reg,
                &file,
                &opts,
                &ctx.actor(),
            )?;
            if let Some(p) = &errors_out {
                if !out.refused_rows.is_empty() {
                    baoxue::import::errors_out::write(p, &out.header_labels, &out.refused_rows)?;
                }
            }
            let r = &out.report;
            if ctx.json {
                ctx.print_json(r)?;
                return Ok(0);
            }
            println!("{}", r.report.summary());
            println!(
                "考勤表格式：{}{}；考勤记录{}条（出勤{}，缺勤{}，请假{}），日期 {} 至 {}",
                if r.layout == "wide" {
                    "每天一列的月考勤表"
                } else {
                    "每行一名学生一天"
                },
                r.month
                    .as_deref()
                    .map(|m| format!("（{m}）"))
                    .unwrap_or_default(),
                r.marks,
                r.present,
                r.absent,
                r.leave,
                r.first_day.as_deref().unwrap_or("-"),
                r.last_day.as_deref().unwrap_or("-")
            );
            if !r.report.unknown_columns.is_empty() {
                println!(
                    "未识别、已忽略的列：{}",
                    r.report.unknown_columns.join("，")
                );
            }
            for i in &r.report.refused {
                println!(
                    "  拒收 第{}行 [{}] {}：{}",
                    i.row, i.code, i.column, i.message
                );
            }
            for i in &r.report.warnings {
                println!("  提示 第{}行 {}：{}", i.row, i.column, i.message);
            }
            if !r.report.refused.is_empty() && errors_out.is_none() {
                println!("（可用 --errors-out 拒收行.xlsx 导出拒收的行，改正后再导入）");
            }
        }
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
                date: ctx.day(&date)?.to_string(),
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
    /// 只统计这所学校（学校代码）
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
    /// 学户册儿童人数
    #[arg(long, default_value_t = 250_000)]
    children: usize,
    /// 在籍学生人数
    #[arg(long, default_value_t = 200_000)]
    enrolments: usize,
    /// 计时次数（取中位数）
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
            let pass = super::passphrase::to_open(&path)?;
            let r = baoxue::crosscheck::bench::run(
                &path,
                pass.as_deref().map(String::as_str),
                children,
                enrolments,
                runs,
                &ctx.actor(),
            )?;
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
                if let Some(c) = r.median_cpu_seconds {
                    println!(
                        "CPU 时间：中位 {c:.3} 秒（各次：{}）",
                        r.cpu_runs
                            .iter()
                            .map(|t| format!("{t:.3}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                }
                println!(
                    "结果：未见在读学籍 {} 名，疑似 {} 名，待确认 {} 名；基准库 {}",
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

#[derive(Subcommand)]
pub enum CaseCmd {
    /// 新建个案（一人一案）
    Open {
        /// 儿童记录编号或身份证号
        #[arg(long)]
        child: String,
        /// 初始状态：suspected（疑似辍学，默认）或 confirmed（已确认辍学）
        #[arg(long)]
        state: Option<String>,
        /// 辍学原因（代码或名称，如 厌学）
        #[arg(long)]
        reason: Option<String>,
        /// 重点群体（可多次；不填则按户和儿童信息自动带出）
        #[arg(long = "group")]
        groups: Vec<String>,
        /// 包保责任人：学校
        #[arg(long)]
        school_person: Option<String>,
        /// 包保责任人：乡镇
        #[arg(long)]
        township_person: Option<String>,
        /// 包保责任人：村
        #[arg(long)]
        village_person: Option<String>,
        /// 劝返方案
        #[arg(long)]
        plan: Option<String>,
        /// 建档日期（默认今天）
        #[arg(long)]
        date: Option<String>,
        /// 备注
        #[arg(long)]
        note: Option<String>,
    },
    /// 登记一次劝返
    Attempt {
        /// 个案编号（可只写后8位）
        case: String,
        /// 劝返日期（默认今天）
        #[arg(long)]
        date: Option<String>,
        /// 参与人，逗号分隔，如 "李老师（学校）,王干部（乡镇）"
        #[arg(long, value_delimiter = ',')]
        participants: Vec<String>,
        /// 联合劝返（学校、乡镇、村共同参加）
        #[arg(long)]
        joint: bool,
        /// 方式：感情、经济、行政、法律
        #[arg(long)]
        method: String,
        /// 劝返内容
        #[arg(long)]
        said: String,
        /// 结果
        #[arg(long)]
        result: String,
    },
    /// 变更个案状态
    Transition {
        /// 个案编号（可只写后8位）
        case: String,
        /// 目标状态（代码或名称）：confirmed 已确认辍学、persuading 劝返中、returned 已复学、placed 已安置、deferred 延缓入学、suspended 休学、closed 销号
        #[arg(long)]
        to: String,
        /// 变更日期（默认今天）
        #[arg(long)]
        date: Option<String>,
        /// 备注
        #[arg(long)]
        note: Option<String>,
        /// 审批人（延缓入学、休学、销号）
        #[arg(long)]
        approver: Option<String>,
        /// 批准文号（延缓入学、休学）
        #[arg(long)]
        doc_no: Option<String>,
        /// 残疾评估结论文号（代替联合劝返次数）
        #[arg(long)]
        assessment: Option<String>,
        /// 复学学校代码
        #[arg(long)]
        school: Option<String>,
        /// 安置方式：插班、单独编班、普职融合、个别辅导、随班就读、送教上门、特殊教育学校
        #[arg(long)]
        placement: Option<String>,
        /// 销号原因
        #[arg(long)]
        reason: Option<String>,
    },
    /// 查看个案及全部记录
    Show {
        /// 个案编号（可只写后8位）
        case: String,
    },
    /// 列出个案
    List {
        /// 只列某一状态
        #[arg(long)]
        state: Option<String>,
    },
    /// 复学观察名单（防反弹）
    Watch {
        /// 按哪一天计算（默认今天）
        #[arg(long)]
        as_of: Option<String>,
    },
}

fn short(id: &str) -> &str {
    baoxue::cases::short_id(id)
}

pub fn case_cmd(c: CaseCmd, ctx: &Ctx) -> Result<i32> {
    use baoxue::cases;
    let mut reg = ctx.open()?;
    let actor = ctx.actor();
    let today = actor.now.date_naive().to_string();
    match c {
        CaseCmd::Open {
            child,
            state,
            reason,
            groups,
            school_person,
            township_person,
            village_person,
            plan,
            date,
            note,
        } => {
            let child_id = cases::resolve_child(reg.conn(), &child)?;
            let case = cases::open(
                &mut reg,
                cases::NewCase {
                    child_id,
                    state,
                    reason,
                    priority_groups: groups,
                    resp_school: school_person,
                    resp_township: township_person,
                    resp_village: village_person,
                    plan,
                    opened_on: date,
                    note,
                },
                &actor,
            )?;
            if ctx.json {
                ctx.print_json(&case)?;
            } else {
                println!("已建个案 {}（{}）", case.meta.id, short(&case.meta.id));
            }
        }
        CaseCmd::Attempt {
            case,
            date,
            participants,
            joint,
            method,
            said,
            result,
        } => {
            let ev = cases::record_attempt(
                &mut reg,
                &case,
                cases::Attempt {
                    on_date: date.unwrap_or(today),
                    participants,
                    joint,
                    method,
                    said,
                    result,
                },
                &actor,
            )?;
            let n = cases::joint_attempts(reg.conn(), &ev.case_id)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({"event": ev, "joint_attempts": n}))?;
            } else {
                println!("已登记劝返（{}），本个案联合劝返累计 {n} 次", ev.on_date);
            }
        }
        CaseCmd::Transition {
            case,
            to,
            date,
            note,
            approver,
            doc_no,
            assessment,
            school,
            placement,
            reason,
        } => {
            let c = cases::transition(
                &mut reg,
                &case,
                cases::Transition {
                    to,
                    on_date: date.unwrap_or(today),
                    note,
                    approver,
                    doc_no,
                    assessment,
                    school,
                    placement,
                    reason,
                },
                &actor,
            )?;
            if ctx.json {
                ctx.print_json(&c)?;
            } else {
                println!(
                    "个案 {} 已变为“{}”",
                    short(&c.meta.id),
                    baoxue::codes::name_of(&baoxue::codes::codes().case_states, &c.state)
                );
            }
        }
        CaseCmd::Show { case } => {
            let f = cases::case_file(reg.conn(), &case)?;
            if ctx.json {
                ctx.print_json(&f)?;
            } else {
                let c = &f.case;
                let codes = baoxue::codes::codes();
                println!(
                    "个案 {}  {}  状态：{}",
                    c.meta.id, f.child_name, f.state_name
                );
                println!(
                    "建档 {}  原因：{}  重点群体：{}",
                    c.opened_on,
                    c.reason_code
                        .as_deref()
                        .map(|r| baoxue::codes::name_of(&codes.dropout_reasons, r))
                        .unwrap_or_default(),
                    c.priority_groups
                        .iter()
                        .map(|g| baoxue::codes::name_of(&codes.priority_groups, g))
                        .collect::<Vec<_>>()
                        .join("、")
                );
                println!(
                    "包保：学校 {}，乡镇 {}，村 {}",
                    c.resp_school.as_deref().unwrap_or("未定"),
                    c.resp_township.as_deref().unwrap_or("未定"),
                    c.resp_village.as_deref().unwrap_or("未定")
                );
                if let Some(p) = &c.plan {
                    println!("方案：{p}");
                }
                for e in &f.events {
                    println!("  {}  {}", e.on_date, baoxue::childfile::describe_event(e));
                }
                println!(
                    "联合劝返 {} 次（延缓入学/休学须 {} 次）；下一步可变为：{}",
                    f.joint_attempts,
                    f.joint_attempts_required,
                    f.next_states
                        .iter()
                        .map(|s| baoxue::codes::name_of(&codes.case_states, s))
                        .collect::<Vec<_>>()
                        .join("、")
                );
                if let Some(w) = &f.watch_until {
                    println!("复学观察至 {w}");
                }
            }
        }
        CaseCmd::List { state } => {
            let state = match state {
                Some(s) => Some(
                    baoxue::codes::lookup(&baoxue::codes::codes().case_states, &s)
                        .map(|c| c.code.clone())
                        .ok_or_else(|| anyhow!("“{s}”不是个案状态"))?,
                ),
                None => None,
            };
            let list = baoxue::store::cases::list(reg.conn(), state.as_deref())?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                for c in &list {
                    let name = baoxue::store::children::get(reg.conn(), &c.child_id)?
                        .map(|c| c.name)
                        .unwrap_or_default();
                    println!(
                        "{}  {}  {}  建档 {}",
                        short(&c.meta.id),
                        name,
                        baoxue::codes::name_of(&baoxue::codes::codes().case_states, &c.state),
                        c.opened_on
                    );
                }
                println!("共 {} 个个案", list.len());
            }
        }
        CaseCmd::Watch { as_of: a } => {
            let day = ctx.day(&a)?;
            let list = cases::watch_list(reg.conn(), day)?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                for w in &list {
                    println!(
                        "{}  {}  {} 复学，观察至 {}（学校 {}）",
                        short(&w.case_id),
                        w.name,
                        w.returned_on,
                        w.watch_until,
                        w.school_code.as_deref().unwrap_or("")
                    );
                }
                println!("观察名单共 {} 名", list.len());
            }
        }
    }
    Ok(0)
}

#[derive(Subcommand)]
pub enum PlacementCmd {
    /// 登记安置（如残疾儿童送教上门）
    Add {
        /// 儿童记录编号或身份证号
        #[arg(long)]
        child: String,
        /// 安置方式：插班、单独编班、普职融合、个别辅导、随班就读、送教上门、特殊教育学校
        #[arg(long)]
        placement: String,
        /// 安置学校代码
        #[arg(long)]
        school: Option<String>,
        /// 起始日期（默认今天）
        #[arg(long)]
        since: Option<String>,
        /// 备注
        #[arg(long)]
        note: Option<String>,
    },
}

pub fn placement_cmd(c: PlacementCmd, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    let actor = ctx.actor();
    match c {
        PlacementCmd::Add {
            child,
            placement,
            school,
            since,
            note,
        } => {
            let child_id = baoxue::cases::resolve_child(reg.conn(), &child)?;
            let since = since.unwrap_or_else(|| actor.now.date_naive().to_string());
            let p = baoxue::cases::add_placement(
                &mut reg,
                &child_id,
                &placement,
                school.as_deref(),
                &since,
                note.as_deref(),
                &actor,
            )?;
            if ctx.json {
                ctx.print_json(&p)?;
            } else {
                println!(
                    "已登记安置：{}，自 {}",
                    baoxue::codes::name_of(&baoxue::codes::codes().placements, &p.placement),
                    p.since
                );
            }
        }
    }
    Ok(0)
}

#[derive(Subcommand)]
pub enum VerifyCmd {
    /// 按四查三比对结果生成核查任务（每名儿童一个未完成任务）
    Create {
        /// 按哪一天比对（默认今天）
        #[arg(long)]
        as_of: Option<String>,
    },
    /// 列出核查任务
    List {
        /// 区划代码前缀（村、乡镇）
        #[arg(long)]
        area: Option<String>,
        /// open（待核查）或 done（已核查）
        #[arg(long)]
        state: Option<String>,
    },
    /// 登记入户核查结论
    Record {
        /// 任务编号（可只写后8位）
        task: String,
        /// 在校就读、外地就读、确认失学辍学、身体原因、死亡、户籍迁出、信息有误
        #[arg(long)]
        finding: String,
        /// 学校/地点/去向/说明
        #[arg(long)]
        detail: Option<String>,
        /// 核查日期（默认今天）
        #[arg(long)]
        date: Option<String>,
        /// 核查人
        #[arg(long)]
        by: String,
    },
}

pub fn verify_cmd(c: VerifyCmd, ctx: &Ctx) -> Result<i32> {
    use baoxue::verification;
    let mut reg = ctx.open()?;
    let actor = ctx.actor();
    match c {
        VerifyCmd::Create { as_of: a } => {
            let day = ctx.day(&a)?;
            let r = verification::create_from_crosscheck(&mut reg, day, &actor)?;
            if ctx.json {
                ctx.print_json(&r)?;
            } else {
                println!(
                    "新建核查任务 {} 个；已有未完成任务 {} 名；已在个案中 {} 名；登记库中无记录（仅部门名单）{} 名",
                    r.created, r.already_open, r.in_case, r.without_record
                );
            }
        }
        VerifyCmd::List { area, state } => {
            let list = baoxue::store::verification_tasks::list(
                reg.conn(),
                area.as_deref(),
                state.as_deref(),
            )?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                let codes = baoxue::codes::codes();
                for t in &list {
                    let name = baoxue::store::children::get(reg.conn(), &t.child_id)?
                        .map(|c| c.name)
                        .unwrap_or_default();
                    println!(
                        "{}  {}  {}  {}  {}",
                        short(&t.meta.id),
                        t.area_code,
                        name,
                        if t.state == "done" {
                            format!(
                                "已核查：{}{}",
                                baoxue::codes::name_of(
                                    &codes.verification_findings,
                                    t.finding.as_deref().unwrap_or("")
                                ),
                                t.finding_detail
                                    .as_deref()
                                    .map(|d| format!("（{d}）"))
                                    .unwrap_or_default()
                            )
                        } else {
                            "待核查".to_string()
                        },
                        t.reason
                    );
                }
                println!("共 {} 个任务", list.len());
            }
        }
        VerifyCmd::Record {
            task,
            finding,
            detail,
            date,
            by,
        } => {
            let r = verification::record(
                &mut reg,
                &task,
                verification::Finding {
                    finding,
                    detail,
                    found_on: date.unwrap_or_else(|| actor.now.date_naive().to_string()),
                    found_by: by,
                },
                &actor,
            )?;
            if ctx.json {
                ctx.print_json(&r)?;
            } else {
                println!("已登记核查结论");
                if r.case_opened {
                    println!(
                        "已建个案 {}（已确认辍学）",
                        r.case_id.as_deref().map(short).unwrap_or("")
                    );
                }
                if r.child_updated {
                    println!("已更新儿童状态");
                }
            }
        }
    }
    Ok(0)
}

#[derive(Subcommand)]
pub enum NoticeCmd {
    /// 入学通知书：秋季入一年级、初一的学户册儿童，每人一页
    Enrol {
        /// 写出的通知书文件（HTML，可打印）
        #[arg(long)]
        out: PathBuf,
        /// 入学年份（默认今年）
        #[arg(long)]
        year: Option<i32>,
        /// 区划代码前缀（乡镇、村）
        #[arg(long)]
        area: Option<String>,
        /// 发文单位（默认本单位名称）
        #[arg(long)]
        issuer: Option<String>,
    },
    /// 限期返校通知书（记入个案）
    Return {
        /// 个案编号（可只写后8位）
        case: String,
        /// 返校期限
        #[arg(long)]
        deadline: String,
        /// 写出的通知书文件（HTML，可打印）
        #[arg(long)]
        out: PathBuf,
        /// 发文单位（默认本单位名称）
        #[arg(long)]
        issuer: Option<String>,
    },
}

fn write_html(path: &std::path::Path, html: &str) -> Result<()> {
    std::fs::write(path, html).map_err(|e| anyhow!("无法写入 {}：{e}", path.display()))
}

pub fn notice_cmd(c: NoticeCmd, ctx: &Ctx) -> Result<i32> {
    use chrono::Datelike;
    let mut reg = ctx.open()?;
    let actor = ctx.actor();
    let site = reg.require_site()?;
    match c {
        NoticeCmd::Enrol {
            out,
            year,
            area,
            issuer,
        } => {
            let year = year.unwrap_or(actor.now.date_naive().year());
            let list = baoxue::notices::enrol_notices(reg.conn(), year, area.as_deref())?;
            let html = baoxue::notices::enrol_html(
                reg.conn(),
                &list,
                year,
                issuer.as_deref().unwrap_or(&site.name),
                actor.now.date_naive(),
            )?;
            write_html(&out, &html)?;
            let g1 = list.iter().filter(|n| n.grade == 1).count();
            if ctx.json {
                ctx.print_json(&serde_json::json!({"file": out, "grade1": g1, "grade7": list.len() - g1, "notices": list}))?;
            } else {
                println!(
                    "已生成入学通知书 {} 份（一年级 {}，初一 {}）：{}",
                    list.len(),
                    g1,
                    list.len() - g1,
                    out.display()
                );
            }
        }
        NoticeCmd::Return {
            case,
            deadline,
            out,
            issuer,
        } => {
            let html = baoxue::notices::issue_return_notice(
                &mut reg,
                &case,
                &deadline,
                issuer.as_deref().unwrap_or(&site.name),
                &actor,
            )?;
            write_html(&out, &html)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({"file": out}))?;
            } else {
                println!("已生成限期返校通知书并记入个案：{}", out.display());
            }
        }
    }
    Ok(0)
}

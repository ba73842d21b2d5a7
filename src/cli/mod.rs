//! Command-line parsing and dispatch. Each command group has its own file; this one holds the
//! global options (`--db`, `--json`, `--operator`) and turns errors into Chinese messages and a
//! non-zero exit code. Only this layer reads the clock and the environment.

mod bundle;
mod casework;
mod child;
mod household;
mod import;
mod lists;
mod passphrase;
mod person;
#[cfg(test)]
mod reference;
mod report;
mod security;
mod site;

use anyhow::Result;
use baoxue::{Actor, Register};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "baoxue",
    version,
    about = "保学：控辍保学登记工具（县、乡镇、村、学校）"
)]
pub struct Cli {
    /// 登记库文件路径（默认：系统数据目录下的 register.db）
    #[arg(long, global = true, env = "BAOXUE_DB")]
    pub db: Option<PathBuf>,
    /// 以 JSON 输出结果
    #[arg(long, global = true)]
    pub json: bool,
    /// 操作员姓名（记入审计日志）
    #[arg(long, global = true, env = "BAOXUE_OPERATOR")]
    pub operator: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// 初始化本单位登记库
    Init(site::InitArgs),
    /// 学户册：户与儿童
    #[command(subcommand)]
    Household(household::HouseholdCmd),
    /// 学校
    #[command(subcommand)]
    School(site::SchoolCmd),
    /// 装入示例县数据（3个乡镇、12个村、8所学校、约2000户）
    Demo,
    /// 输出全部记录的规范快照
    Snapshot,
    /// 县级设置
    #[command(subcommand)]
    Settings(site::SettingsCmd),
    /// 代码表
    Codes,
    /// 导入花名册、学户册
    #[command(subcommand)]
    Import(import::ImportCmd),
    /// 导入模板
    #[command(subcommand)]
    Template(import::TemplateCmd),
    /// 性能基准（导入与 calamine 读取对比）
    #[command(subcommand)]
    Bench(import::BenchCmd),
    /// 巩固率、净入学率、辍学率与个案统计
    Stats(report::StatsArgs),
    /// 导出台账（Excel）
    Ledger(report::LedgerArgs),
    /// 区划名称
    #[command(subcommand)]
    Division(report::DivisionCmd),
    /// 一人一档
    #[command(subcommand)]
    Child(child::ChildCmd),
    /// 疑似重复的儿童记录：列出、确认或否认是同一儿童
    #[command(subcommand)]
    Person(person::PersonCmd),
    /// 本单位密钥卡与已信任的单位
    #[command(subcommand)]
    Site(bundle::SiteCmd),
    /// 数据包：导出、查看、导入
    #[command(subcommand)]
    Bundle(bundle::BundleCmd),
    /// 数据包合并产生的冲突
    #[command(subcommand)]
    Conflicts(bundle::ConflictsCmd),
    /// 备份登记库（加密）
    Backup(security::BackupArgs),
    /// 从备份恢复到新的登记库文件（--db）
    Restore(security::RestoreArgs),
    /// 审计日志
    #[command(subcommand)]
    Audit(security::AuditCmd),
    /// 操作员（姓名与可选PIN）
    #[command(subcommand)]
    Operator(security::OperatorCmd),
    /// 登记库口令（加密）：更换、查看是否加密
    #[command(subcommand)]
    Passphrase(passphrase::PassphraseCmd),
    /// 部门名单（公安户籍、残联、乡村振兴、民政、资助）：已导入的来源与比对信息
    #[command(subcommand)]
    List(lists::ListCmd),
    /// 四查三比对：列出疑似失学辍学的适龄儿童
    Crosscheck(casework::CrosscheckArgs),
    /// 考勤登记
    #[command(subcommand)]
    Attendance(casework::AttendanceCmd),
    /// 缺课预警（疑似辍学、辍学）
    Warnings(casework::WarningsArgs),
    /// 月度人籍核对：在籍学生与到校学生
    MonthlyCheck(casework::MonthlyArgs),
    /// 一人一案：个案、劝返、状态变更、观察名单
    #[command(subcommand)]
    Case(casework::CaseCmd),
    /// 核查任务：生成、列出、登记结论
    #[command(subcommand)]
    Verify(casework::VerifyCmd),
    /// 通知书：入学通知书、限期返校通知书（可打印的 HTML）
    #[command(subcommand)]
    Notice(casework::NoticeCmd),
    /// 安置登记（送教上门、随班就读等）
    #[command(subcommand)]
    Placement(casework::PlacementCmd),
}

/// Everything a command needs from the outside world.
pub struct Ctx {
    pub db: PathBuf,
    pub json: bool,
    pub operator: String,
}

impl Ctx {
    /// Opens the register, with its passphrase if it is encrypted (`BAOXUE_PASSPHRASE`, else
    /// asked on the terminal), and checks the operator.
    pub fn open(&self) -> Result<Register> {
        let pass = passphrase::to_open(&self.db)?;
        self.open_with(pass.as_deref().map(String::as_str))
    }
    /// Opens the register with a passphrase already obtained (`None`: plain) and checks the
    /// operator.
    pub fn open_with(&self, pass: Option<&str>) -> Result<Register> {
        let reg = Register::open_with(&self.db, pass)?;
        security::check_operator(&reg, self)?;
        Ok(reg)
    }
    /// The operator and the current time: the only place the clock is read.
    pub fn actor(&self) -> Actor {
        Actor::new(&self.operator, chrono::Utc::now())
    }
    /// The day a command works on: `--as-of`/`--date` as typed (any form `parse_date` reads), or
    /// today on the clerk's own calendar (local date, not UTC: at 07:00 in Beijing it is already
    /// today there).
    pub fn day(&self, raw: &Option<String>) -> Result<chrono::NaiveDate> {
        match raw {
            Some(s) => baoxue::households::parse_date(s)
                .ok_or_else(|| anyhow::anyhow!("日期“{s}”无效，请写成 2026-11-23 这样的格式")),
            None => Ok(chrono::Local::now().date_naive()),
        }
    }
    /// Prints a value as pretty JSON.
    pub fn print_json<T: serde::Serialize>(&self, v: &T) -> Result<()> {
        println!("{}", serde_json::to_string_pretty(v)?);
        Ok(())
    }
}

/// Runs the CLI and returns the process exit code.
/// The whole story of an error, outer context first ("读取 F 失败：…"), down to the core's error,
/// whose own text already names its causes.
fn full_message(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        parts.push(cause.to_string());
        if cause.downcast_ref::<baoxue::Error>().is_some() {
            break;
        }
    }
    parts.join("：")
}

pub fn run() -> i32 {
    let cli = Cli::parse();
    let ctx = Ctx {
        db: cli
            .db
            .clone()
            .unwrap_or_else(baoxue::paths::default_db_path),
        json: cli.json,
        operator: cli
            .operator
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "未署名".into()),
    };
    match dispatch(cli.command, &ctx) {
        Ok(code) => code,
        Err(e) => {
            let code = e
                .chain()
                .find_map(|c| c.downcast_ref::<baoxue::Error>())
                .map_or("error", |be| be.code());
            let message = full_message(&e);
            if ctx.json {
                let v = serde_json::json!({"error": {"code": code, "message": message}});
                eprintln!("{v}");
            }
            eprintln!("错误：{message}");
            1
        }
    }
}

fn dispatch(cmd: Command, ctx: &Ctx) -> Result<i32> {
    match cmd {
        Command::Init(a) => site::init(a, ctx),
        Command::Household(c) => household::run(c, ctx),
        Command::School(c) => site::school(c, ctx),
        Command::Demo => site::demo(ctx),
        Command::Snapshot => {
            let reg = ctx.open()?;
            print!("{}", baoxue::snapshot::snapshot_text(reg.conn())?);
            Ok(0)
        }
        Command::Settings(c) => site::settings(c, ctx),
        Command::Import(c) => import::run(c, ctx),
        Command::Bench(c) => import::bench(c, ctx),
        Command::Stats(a) => report::stats(a, ctx),
        Command::Ledger(a) => report::ledger(a, ctx),
        Command::Division(c) => report::division(c, ctx),
        Command::Child(c) => child::run(c, ctx),
        Command::Person(c) => person::run(c, ctx),
        Command::Site(c) => bundle::site(c, ctx),
        Command::Bundle(c) => bundle::bundle(c, ctx),
        Command::Conflicts(c) => bundle::conflicts(c, ctx),
        Command::Backup(a) => security::backup(a, ctx),
        Command::Restore(a) => security::restore(a, ctx),
        Command::Audit(c) => security::audit(c, ctx),
        Command::Operator(c) => security::operator(c, ctx),
        Command::Passphrase(c) => passphrase::run(c, ctx),
        Command::List(c) => lists::run(c, ctx),
        Command::Template(c) => import::template(c, ctx),
        Command::Crosscheck(a) => casework::crosscheck(a, ctx),
        Command::Attendance(c) => casework::attendance_cmd(c, ctx),
        Command::Warnings(a) => casework::warnings(a, ctx),
        Command::MonthlyCheck(a) => casework::monthly(a, ctx),
        Command::Case(c) => casework::case_cmd(c, ctx),
        Command::Placement(c) => casework::placement_cmd(c, ctx),
        Command::Verify(c) => casework::verify_cmd(c, ctx),
        Command::Notice(c) => casework::notice_cmd(c, ctx),
        Command::Codes => {
            ctx.print_json(baoxue::codes::codes())?;
            Ok(0)
        }
    }
}

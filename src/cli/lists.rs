//! `baoxue import list KIND FILE --source NAME --as-of DATE`, `baoxue list sources|check`, and
//! `baoxue bench lists` (a hukou extract's import against calamine's read; the cross-check over a
//! large county).

use super::import::{calamine_read, finish, with_progress};
use super::Ctx;
use anyhow::{bail, Result};
use baoxue::households::parse_date;
use baoxue::import::{errors_out, Control, Outcome};
use baoxue::lists::{self, checks, query, Kind, ListImport};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
pub struct ImportListArgs {
    /// 名单种类：hukou（公安户籍）| disabled（残联）| poverty（乡村振兴）| welfare（民政）| aid（资助）
    kind: String,
    /// 名单文件（.xlsx/.xls/.ods/.csv）
    file: PathBuf,
    /// 来源部门，如 鲁山县公安局
    #[arg(long)]
    source: String,
    /// 名单日期（部门导出数据的日期），如 2026-10-31
    #[arg(long)]
    as_of: String,
    /// 工作表名（默认：第一个非空工作表）
    #[arg(long)]
    sheet: Option<String>,
    /// 只预览，不写入
    #[arg(long)]
    dry_run: bool,
    /// 把拒收的行写到这个 .xlsx 文件（带“错误原因”列）
    #[arg(long)]
    errors_out: Option<PathBuf>,
}

fn parse_kind(raw: &str) -> Result<Kind> {
    match Kind::parse(raw) {
        Some(k) => Ok(k),
        None => bail!(
            "名单种类“{raw}”无法识别，应为 hukou（公安户籍）、disabled（残联）、poverty（乡村振兴）、welfare（民政）或 aid（资助）"
        ),
    }
}

fn parse_as_of(raw: &str) -> Result<chrono::NaiveDate> {
    match parse_date(raw) {
        Some(d) => Ok(d),
        None => bail!("名单日期“{raw}”无效，请写成 2026-10-31 这样的格式"),
    }
}

pub fn import(a: ImportListArgs, ctx: &Ctx) -> Result<i32> {
    let opts = ListImport {
        kind: parse_kind(&a.kind)?,
        source: a.source,
        as_of: parse_as_of(&a.as_of)?,
        sheet: a.sheet,
        dry_run: a.dry_run,
    };
    let mut reg = ctx.open()?;
    let actor = ctx.actor();
    let out = with_progress(ctx, |ctl| {
        lists::import_list(&mut reg, &a.file, &opts, &actor, ctl)
    })?;
    let lr = &out.report;
    if ctx.json {
        if let Some(p) = &a.errors_out {
            if !out.refused_rows.is_empty() {
                errors_out::write(p, &out.header_labels, &out.refused_rows)?;
            }
        }
        ctx.print_json(lr)?;
        return Ok(0);
    }
    let what = match lr.version.as_str() {
        "new" => "新版本",
        "replaced" => "已替换同日期版本",
        _ => "与已导入的同日期版本相同，未作改动",
    };
    println!(
        "{}：{what}{}",
        lists::source_label(&lr.kind, &lr.source, &lr.as_of),
        if lr.report.dry_run {
            "（预览）"
        } else {
            ""
        }
    );
    println!(
        "成年或超出0-17周岁跳过{}行，重复跳过{}行{}",
        lr.out_of_age,
        lr.duplicates,
        match &lr.compared_with {
            Some(d) => format!("；与 {d} 版本相比：减少{}人", lr.removed),
            None => String::new(),
        }
    );
    finish(
        ctx,
        &Outcome {
            report: lr.report.clone(),
            header_labels: out.header_labels,
            refused_rows: out.refused_rows,
        },
        None,
        a.errors_out.as_deref(),
    )
}

#[derive(Subcommand)]
pub enum ListCmd {
    /// 已导入的部门名单：来源、日期、行数（每个来源以最新日期的版本参与比对）
    Sources,
    /// 比对信息（非疑似失学）：不在户籍名单上的在读学生、在读的残疾儿童、应享未享资助的学生
    Check {
        /// 显示完整身份证号（默认打码）
        #[arg(long)]
        full: bool,
    },
}

pub fn run(c: ListCmd, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    match c {
        ListCmd::Sources => {
            let sources = query::sources(reg.conn())?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "sources": sources }))?;
                return Ok(0);
            }
            if sources.is_empty() {
                println!("尚未导入任何部门名单（用 `baoxue import list KIND FILE --source 部门 --as-of 日期` 导入）");
            }
            for s in &sources {
                println!(
                    "{}（{}）：使用 {} 版本，{} 人",
                    s.kind_label, s.source, s.as_of, s.rows
                );
                for v in &s.versions {
                    println!(
                        "  {} {}：读取{}行，保留{}人，超龄跳过{}行，拒收{}行；文件 {}，{} 导入（{}）",
                        v.as_of,
                        if v.current { "[使用中]" } else { "[备查]" },
                        v.rows_read,
                        v.rows_kept,
                        v.rows_out_of_age,
                        v.rows_refused,
                        v.file_name,
                        v.imported_at,
                        v.operator
                    );
                }
            }
        }
        ListCmd::Check { full } => {
            let county = reg
                .site()?
                .map(|s| s.region_code.chars().take(6).collect::<String>())
                .unwrap_or_default();
            let c = checks::run(reg.conn(), &county)?;
            let c = if full {
                // Showing full ID numbers is audited.
                let mut w = reg.writer(&ctx.actor())?;
                w.audit("list_versions", "check", "reveal_full", &["id_number"])?;
                w.commit()?;
                c
            } else {
                c.masked()
            };
            if ctx.json {
                ctx.print_json(&c)?;
                return Ok(0);
            }
            println!(
                "在读学生{}人（无身份证号{}人，无法比对）",
                c.pupils_checked, c.pupils_without_id
            );
            if c.hukou_loaded {
                println!("不在户籍名单上的在读学生：{}人", c.not_on_hukou.len());
            } else {
                println!("未导入户籍名单：跳过“学籍有、户籍无”比对");
            }
            for p in c.not_on_hukou.iter().take(50) {
                println!(
                    "  {} {} 学校{}：{}",
                    p.name,
                    p.id_number.as_deref().unwrap_or(""),
                    p.school_code,
                    p.note
                );
            }
            println!("残联名册上在读的儿童：{}人", c.disabled_enrolled.len());
            for p in c.disabled_enrolled.iter().take(50) {
                println!(
                    "  {} {}：{}",
                    p.name,
                    p.id_number.as_deref().unwrap_or(""),
                    p.note
                );
            }
            if c.aid_loaded {
                println!(
                    "应享未享（重点群体在读学生不在资助名单上）：{}人",
                    c.aid_missing.len()
                );
            } else {
                println!("未导入资助名单：跳过应享尽享比对");
            }
            for p in c.aid_missing.iter().take(50) {
                println!(
                    "  {} {} 学校{}：{}",
                    p.name,
                    p.id_number.as_deref().unwrap_or(""),
                    p.school_code,
                    p.note
                );
            }
        }
    }
    Ok(0)
}

#[derive(Args)]
pub struct BenchListsArgs {
    /// 户籍名单行数
    #[arg(long, default_value_t = 250_000)]
    rows: u64,
    /// 户籍名单文件（默认：临时目录下的 baoxue-bench-hukou-N.xlsx，不存在则生成）
    #[arg(long)]
    file: Option<PathBuf>,
    /// 在读学生数（为户籍名单上的前N人建学籍）
    #[arg(long, default_value_t = 200_000)]
    pupils: u64,
    /// 其他部门名单的总行数（脱贫、民政、残联、资助）
    #[arg(long, default_value_t = 50_000)]
    list_rows: u64,
}

pub fn bench(a: BenchListsArgs, ctx: &Ctx) -> Result<i32> {
    let path = a.file.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("baoxue-bench-hukou-{}.xlsx", a.rows))
    });
    if !path.exists() {
        let t = std::time::Instant::now();
        lists::bench::write_hukou_xlsx(&path, a.rows)?;
        eprintln!(
            "已生成 {}（{} 行，{:.1} 秒）",
            path.display(),
            a.rows,
            t.elapsed().as_secs_f64()
        );
    }
    let t = std::time::Instant::now();
    let (read_rows, cells) = calamine_read(&path)?;
    let read_secs = t.elapsed().as_secs_f64();

    let dir = std::env::temp_dir().join(format!("baoxue-bench-lists-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let actor = ctx.actor();
    let result = (|| -> Result<serde_json::Value> {
        let mut reg = baoxue::Register::open(&dir.join("bench.db"))?;
        reg.init_site(
            baoxue::register::NewSite {
                kind: baoxue::domain::SiteKind::County,
                name: "基准测试县".into(),
                region_code: "410423".into(),
                school_code: None,
            },
            &actor,
        )?;
        lists::bench::add_divisions(&reg)?;
        baoxue::schools::add_school(
            &mut reg,
            "4141000001",
            "城关第一小学",
            "nine-year",
            None,
            &actor,
        )?;
        let opts = ListImport {
            kind: Kind::Hukou,
            source: "鲁山县公安局".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
            sheet: None,
            dry_run: false,
        };
        let t = std::time::Instant::now();
        let out = lists::import_list(&mut reg, &path, &opts, &actor, &mut Control::default())?;
        let import_secs = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let again = lists::import_list(&mut reg, &path, &opts, &actor, &mut Control::default())?;
        let reimport_secs = t.elapsed().as_secs_f64();

        let t = std::time::Instant::now();
        lists::bench::enrol_pupils(&mut reg, "4141000001", a.pupils, &actor)?;
        lists::bench::load_lists(&mut reg, a.list_rows, a.rows, "2026-10-31", &actor)?;
        let setup_secs = t.elapsed().as_secs_f64();

        let settings = baoxue::settings::Settings::load(reg.conn())?;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default();
        baoxue::crosscheck::run(reg.conn(), &settings, day)?; // warm the page cache
                                                              // The whole report, as `baoxue --json crosscheck` makes it (run, masking, JSON text).
        let cpu = baoxue::crosscheck::bench::process_cpu_seconds();
        let t = std::time::Instant::now();
        let xc = baoxue::crosscheck::run(reg.conn(), &settings, day)?.masked();
        let json = baoxue::crosscheck::json::to_json_pretty(&xc)?;
        let crosscheck_secs = t.elapsed().as_secs_f64();
        let crosscheck_cpu = cpu
            .zip(baoxue::crosscheck::bench::process_cpu_seconds())
            .map(|(a, b)| b - a);
        std::hint::black_box(json);
        let t = std::time::Instant::now();
        let people = query::by_person(reg.conn(), &[])?;
        let by_person_secs = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let c = checks::run(reg.conn(), "410423")?;
        let checks_secs = t.elapsed().as_secs_f64();
        Ok(serde_json::json!({
            "hukou_rows": a.rows,
            "calamine_read": {"rows": read_rows, "cells": cells, "seconds": read_secs},
            "import": {"seconds": import_secs, "ratio_to_calamine": import_secs / read_secs.max(1e-9),
                       "rows_read": out.report.report.rows_read, "inserted": out.report.report.inserted,
                       "refused": out.report.report.refused.len(), "warnings": out.report.report.warnings.len()},
            "reimport": {"seconds": reimport_secs, "version": again.report.version, "unchanged": again.report.report.unchanged},
            "county": {"pupils": a.pupils, "list_rows": a.list_rows, "setup_seconds": setup_secs},
            "crosscheck": {"seconds": crosscheck_secs, "cpu_seconds": crosscheck_cpu, "suspected": xc.suspected.len(), "children_checked": xc.children_checked},
            "by_person": {"people": people.len(), "seconds": by_person_secs},
            "checks": {"seconds": checks_secs, "not_on_hukou": c.not_on_hukou.len(),
                       "disabled_enrolled": c.disabled_enrolled.len(), "aid_missing": c.aid_missing.len()},
        }))
    })();
    if std::env::var_os("XC_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let v = result?;
    if ctx.json {
        ctx.print_json(&v)?;
    } else {
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(0)
}

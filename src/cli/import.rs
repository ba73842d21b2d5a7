//! `baoxue import roll|households`, `baoxue template households`, and `baoxue bench import|read`
//! (the import benchmark against calamine merely reading the same file).

use super::Ctx;
use anyhow::{bail, Result};
use baoxue::import::{self, errors_out, roll, Control, Outcome, Progress};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum ImportCmd {
    /// 导入学校学籍花名册（.xlsx/.xls/.ods/.csv）
    Roll {
        /// 花名册文件
        file: PathBuf,
        /// 学校标识码（须已用 `baoxue school add` 登记）
        #[arg(long)]
        school: String,
        /// 学期，如 2026秋（默认：当前学期）
        #[arg(long)]
        term: Option<String>,
        /// 工作表名（默认：第一个非空工作表）
        #[arg(long)]
        sheet: Option<String>,
        /// 只预览，不写入
        #[arg(long)]
        dry_run: bool,
        /// 把拒收的行写到这个 .xlsx 文件（带“错误原因”列），改正后可直接再导入
        #[arg(long)]
        errors_out: Option<PathBuf>,
    },
    /// 导入部门名单：hukou 公安户籍 | disabled 残联 | poverty 乡村振兴 | welfare 民政 | aid 资助
    List(super::lists::ImportListArgs),
    /// 导入村学户册（一行一名儿童，户信息每行重复；模板见 `baoxue template households`）
    Households {
        /// 学户册文件
        file: PathBuf,
        /// 工作表名（默认：第一个非空工作表）
        #[arg(long)]
        sheet: Option<String>,
        /// 只预览，不写入
        #[arg(long)]
        dry_run: bool,
        /// 把拒收的行写到这个 .xlsx 文件（带“错误原因”列）
        #[arg(long)]
        errors_out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum TemplateCmd {
    /// 学户册导入模板（.xlsx）
    Households {
        /// 写出的模板文件（.xlsx）
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn template(c: TemplateCmd, ctx: &Ctx) -> Result<i32> {
    match c {
        TemplateCmd::Households { out } => {
            import::households::write_template(&out)?;
            if !ctx.json {
                println!("已生成学户册模板：{}", out.display());
            }
            Ok(0)
        }
    }
}

pub fn run(c: ImportCmd, ctx: &Ctx) -> Result<i32> {
    match c {
        ImportCmd::Roll {
            file,
            school,
            term,
            sheet,
            dry_run,
            errors_out,
        } => {
            let mut reg = ctx.open()?;
            let opts = roll::RollImport {
                school,
                term,
                sheet,
                dry_run,
            };
            let actor = ctx.actor();
            let out = with_progress(ctx, |ctl| {
                roll::import_roll(&mut reg, &file, &opts, &actor, ctl)
            })?;
            finish(ctx, &out, None, errors_out.as_deref())
        }
        ImportCmd::Households {
            file,
            sheet,
            dry_run,
            errors_out,
        } => {
            let mut reg = ctx.open()?;
            let actor = ctx.actor();
            let (out, counts) = with_progress(ctx, |ctl| {
                import::households::import_households(
                    &mut reg,
                    &file,
                    sheet.as_deref(),
                    dry_run,
                    &actor,
                    ctl,
                )
            })?;
            finish(ctx, &out, Some(counts), errors_out.as_deref())
        }
        ImportCmd::List(a) => super::lists::import(a, ctx),
    }
}

/// Runs an import with an indicatif bar on a terminal (never with `--json`).
pub(super) fn with_progress<T>(
    ctx: &Ctx,
    f: impl FnOnce(&mut Control<'_>) -> baoxue::Result<T>,
) -> Result<T> {
    let show = !ctx.json && std::io::stderr().is_terminal();
    let bar = show.then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} 行 {elapsed_precise}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let mut cb = |p: Progress| {
        if let Some(b) = &bar {
            b.set_length(p.total_estimate);
            b.set_position(p.done);
        }
    };
    let mut ctl = Control {
        progress: Some(&mut cb),
        cancel: None,
    };
    let r = f(&mut ctl);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok(r?)
}

pub(super) fn finish(
    ctx: &Ctx,
    out: &Outcome,
    households: Option<import::households::HouseholdCounts>,
    errors_out_path: Option<&Path>,
) -> Result<i32> {
    if let Some(p) = errors_out_path {
        if !out.refused_rows.is_empty() {
            errors_out::write(p, &out.header_labels, &out.refused_rows)?;
        }
    }
    let r = &out.report;
    if ctx.json {
        let mut v = serde_json::to_value(r)?;
        if let (Some(h), Some(obj)) = (households, v.as_object_mut()) {
            obj.insert("households".into(), serde_json::to_value(h)?);
        }
        ctx.print_json(&v)?;
        return Ok(0);
    }
    println!("{}", r.summary());
    if let Some(h) = households {
        println!(
            "户：新增{}，更新{}，未变{}",
            h.inserted, h.updated, h.unchanged
        );
    }
    if !r.mapping.is_empty() {
        let cols: Vec<String> = r.mapping.iter().map(|(k, v)| format!("{k}←{v}")).collect();
        println!("识别的列：{}", cols.join("，"));
    }
    if !r.unknown_columns.is_empty() {
        println!("未识别、已忽略的列：{}", r.unknown_columns.join("，"));
    }
    for issue in r.refused.iter().take(50) {
        println!(
            "  拒收 第{}行 [{}] {}：{}",
            issue.row, issue.code, issue.column, issue.message
        );
    }
    if r.refused.len() > 50 {
        println!(
            "  ……另有{}行被拒收（用 --errors-out 导出全部）",
            r.refused.len() - 50
        );
    }
    for w in r.warnings.iter().take(20) {
        println!("  提示 第{}行 {}：{}", w.row, w.column, w.message);
    }
    if r.warnings.len() > 20 {
        println!(
            "  ……另有{}条提示（用 --json 查看全部）",
            r.warnings.len() - 20
        );
    }
    if !r.missing_since_last.is_empty() {
        println!(
            "上次花名册有、本次没有的学生（{}人，未删除，请核实离校/转出/疑似流失）：",
            r.missing_since_last.len()
        );
        for m in r.missing_since_last.iter().take(50) {
            println!(
                "  {} {} {}年级 {}",
                m.name,
                m.id_number.as_deref().unwrap_or("（无身份证号）"),
                m.grade.map(|g| g.to_string()).unwrap_or_default(),
                m.class_name.as_deref().unwrap_or("")
            );
        }
    }
    if let (Some(p), false) = (errors_out_path, out.refused_rows.is_empty()) {
        println!("拒收的行已写入：{}（改正后可直接再导入）", p.display());
    }
    Ok(0)
}

#[derive(Subcommand)]
pub enum BenchCmd {
    /// 生成N行花名册（如不存在），在新的临时登记库中计时导入
    Import {
        /// 花名册行数
        #[arg(long, default_value_t = 200_000)]
        rows: u64,
        /// 花名册文件（默认：临时目录下的 baoxue-bench-roll-N.xlsx）
        #[arg(long)]
        file: Option<PathBuf>,
        /// 使用（并保留）这个登记库：已存在时即为“再次导入同一文件”的计时
        #[arg(long)]
        register: Option<PathBuf>,
    },
    /// 只用 calamine 流式读取同一文件的全部单元格（导入速度的比较基准）
    Read {
        /// 花名册文件（.xlsx/.xls/.ods/.csv）
        file: PathBuf,
    },
    /// 只生成N行花名册
    Gen {
        /// 花名册行数
        #[arg(long, default_value_t = 200_000)]
        rows: u64,
        /// 写出的花名册文件（.xlsx）
        #[arg(long)]
        out: PathBuf,
        /// 加入常见错误（校验位错、身份证号被存成数字、重复的学生），供演示和测试
        #[arg(long)]
        faults: bool,
    },
    /// 部门名单：N行户籍名单导入（对比 calamine 读取），以及大县规模的比对计时
    Lists(super::lists::BenchListsArgs),
    /// 四查三比对：25万学户册儿童对20万学籍的比对计时（请用 release 构建）
    Crosscheck(super::casework::BenchCrosscheckArgs),
}

fn bench_file(rows: u64, file: Option<PathBuf>) -> Result<PathBuf> {
    let path =
        file.unwrap_or_else(|| std::env::temp_dir().join(format!("baoxue-bench-roll-{rows}.xlsx")));
    if !path.exists() {
        let t = std::time::Instant::now();
        import::sample::write_roll_xlsx(&path, rows, "城关第一小学")?;
        eprintln!(
            "已生成 {}（{} 行，{:.1} 秒）",
            path.display(),
            rows,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(path)
}

pub fn bench(c: BenchCmd, ctx: &Ctx) -> Result<i32> {
    match c {
        BenchCmd::Lists(a) => super::lists::bench(a, ctx),
        BenchCmd::Crosscheck(a) => super::casework::bench_crosscheck(a, ctx),
        BenchCmd::Gen { rows, out, faults } => {
            import::sample::write_roll_sample(&out, rows, "城关第一小学", faults)?;
            Ok(0)
        }
        BenchCmd::Read { file } => {
            let t = std::time::Instant::now();
            let (rows, cells) = calamine_read(&file)?;
            let secs = t.elapsed().as_secs_f64();
            if ctx.json {
                ctx.print_json(
                    &serde_json::json!({"rows": rows, "cells": cells, "seconds": secs}),
                )?;
            } else {
                println!("calamine 读取：{rows} 行，{cells} 个单元格，{secs:.3} 秒");
            }
            Ok(0)
        }
        BenchCmd::Import {
            rows,
            file,
            register,
        } => {
            let path = bench_file(rows, file)?;
            let dir = tempfile_dir()?;
            let db = register.clone().unwrap_or_else(|| dir.join("bench.db"));
            let fresh = !db.exists();
            let actor = ctx.actor();
            // BAOXUE_PASSPHRASE set: an encrypted bench register (docs/security.md, the cost).
            let pass = super::passphrase::to_open(&db)?;
            let mut reg = baoxue::Register::open_with(&db, pass.as_deref().map(String::as_str))?;
            if fresh {
                reg.init_site(
                    baoxue::register::NewSite {
                        kind: baoxue::domain::SiteKind::County,
                        name: "基准测试县".into(),
                        region_code: "410423".into(),
                        school_code: None,
                    },
                    &actor,
                )?;
                baoxue::schools::add_school(
                    &mut reg,
                    "4141000001",
                    "城关第一小学",
                    "primary",
                    None,
                    &actor,
                )?;
            }
            let t = std::time::Instant::now();
            let out = roll::import_roll(
                &mut reg,
                &path,
                &roll::RollImport {
                    school: "4141000001".into(),
                    term: Some("2026秋".into()),
                    sheet: None,
                    dry_run: false,
                },
                &actor,
                &mut Control::default(),
            )?;
            let secs = t.elapsed().as_secs_f64();
            drop(reg);
            let _ = std::fs::remove_dir_all(&dir);
            let r = &out.report;
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "rows_read": r.rows_read, "inserted": r.inserted, "unchanged": r.unchanged,
                    "refused": r.refused.len(), "seconds": secs
                }))?;
            } else {
                println!(
                    "导入 {} 行：新增{}，更新{}，未变{}，拒收{}，{:.3} 秒",
                    r.rows_read,
                    r.inserted,
                    r.updated,
                    r.unchanged,
                    r.refused.len(),
                    secs
                );
            }
            Ok(0)
        }
    }
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("baoxue-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Reads every cell of the first sheet with calamine's streaming cell reader, doing nothing else.
pub(super) fn calamine_read(path: &Path) -> Result<(u64, u64)> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = calamine::open_workbook(path)?;
    let Some(name) = wb.sheet_names().first().cloned() else {
        bail!("文件中没有工作表");
    };
    let mut reader = wb.worksheet_cells_reader(&name)?;
    let (mut rows, mut cells, mut last) = (0u64, 0u64, u32::MAX);
    while let Some(c) = reader.next_cell()? {
        let (r, _) = c.get_position();
        if r != last {
            rows += 1;
            last = r;
        }
        if !matches!(c.get_value(), calamine::DataRef::Empty) {
            cells += 1;
        }
    }
    Ok((rows, cells))
}

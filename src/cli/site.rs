//! `baoxue init`, `demo`, `school …`, `settings …`.

use super::Ctx;
use anyhow::{bail, Result};
use baoxue::domain::SiteKind;
use baoxue::register::NewSite;
use baoxue::settings::Settings;
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct InitArgs {
    /// 单位类型：county|township|village|school
    #[arg(long)]
    kind: String,
    /// 单位名称
    #[arg(long)]
    name: String,
    /// 区划代码（县6位、乡镇9位、村12位）
    #[arg(long)]
    region: String,
    /// 学校标识码（学校必填）
    #[arg(long)]
    school_code: Option<String>,
    /// 不加密登记库（仅用于培训、演示；正式登记库须设定口令：BAOXUE_PASSPHRASE 或提示输入）
    #[arg(
        long,
        env = "BAOXUE_NO_ENCRYPTION",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    no_encryption: bool,
}

pub fn init(a: InitArgs, ctx: &Ctx) -> Result<i32> {
    let Some(kind) = SiteKind::parse(&a.kind) else {
        bail!(
            "单位类型“{}”无法识别，应为 county、township、village 或 school",
            a.kind
        );
    };
    let mut reg = if a.no_encryption {
        ctx.open()?
    } else {
        open_encrypted_for_setup(ctx)?
    };
    let site = reg.init_site(
        NewSite {
            kind,
            name: a.name,
            region_code: a.region,
            school_code: a.school_code,
        },
        &ctx.actor(),
    )?;
    if ctx.json {
        ctx.print_json(&site)?;
    } else {
        println!(
            "已初始化：{}（{}，区划代码 {}）",
            site.name,
            kind.label(),
            site.region_code
        );
        println!("登记库：{}", ctx.db.display());
    }
    Ok(0)
}

/// Site setup of a protected register: the passphrase from `BAOXUE_PASSPHRASE` or asked twice on
/// the terminal; a new register file is created encrypted, an empty plain one (left by an
/// earlier command) is encrypted first.
fn open_encrypted_for_setup(ctx: &Ctx) -> Result<baoxue::Register> {
    use baoxue::encryption::{self, PassphraseError, Protection};
    let protection = encryption::protection(&ctx.db)?;
    if protection == Protection::Encrypted {
        return ctx.open();
    }
    let Some(pass) = super::passphrase::new_one("BAOXUE_PASSPHRASE")? else {
        return Err(baoxue::Error::from(PassphraseError::NotGiven).into());
    };
    if protection == Protection::Plain {
        let reg = ctx.open()?;
        if let Some(site) = reg.site()? {
            return Err(baoxue::Error::AlreadyInitialised(site.name).into());
        }
        drop(reg);
        encryption::encrypt_file(&ctx.db, &pass, &ctx.actor())?;
    }
    ctx.open_with(Some(&pass))
}

pub fn demo(ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    let s = baoxue::demo::load_demo(&mut reg, &ctx.actor())?;
    if ctx.json {
        ctx.print_json(&s)?;
    } else {
        println!(
            "已装入示例县：{} 个乡镇，{} 个村，{} 所学校，{} 户，{} 名儿童，{} 条学籍，{} 个辍学个案",
            s.townships, s.villages, s.schools, s.households, s.children, s.enrolments, s.cases
        );
    }
    Ok(0)
}

#[derive(Subcommand)]
pub enum SchoolCmd {
    /// 登记学校（同一代码再次登记即更新）
    Add {
        /// 学校代码（10位）
        #[arg(long)]
        code: String,
        /// 学校名称
        #[arg(long)]
        name: String,
        /// primary|junior|nine-year|special
        #[arg(long)]
        kind: String,
        /// 所属乡镇9位区划代码
        #[arg(long)]
        township: Option<String>,
    },
    /// 列出学校
    List,
}

pub fn school(c: SchoolCmd, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    match c {
        SchoolCmd::Add {
            code,
            name,
            kind,
            township,
        } => {
            let s = baoxue::schools::add_school(
                &mut reg,
                &code,
                &name,
                &kind,
                township.as_deref(),
                &ctx.actor(),
            )?;
            if ctx.json {
                ctx.print_json(&s)?;
            } else {
                println!(
                    "已登记学校：{} {}（{}）",
                    s.code,
                    s.name,
                    baoxue::schools::kind_label(&s.kind)
                );
            }
        }
        SchoolCmd::List => {
            let list = baoxue::store::schools::list(reg.conn())?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                for s in &list {
                    println!(
                        "{}\t{}\t{}\t{}",
                        s.code,
                        s.name,
                        baoxue::schools::kind_label(&s.kind),
                        s.township_code.as_deref().unwrap_or("")
                    );
                }
                println!("共 {} 所学校", list.len());
            }
        }
    }
    Ok(0)
}

#[derive(Subcommand)]
pub enum SettingsCmd {
    /// 显示全部设置
    Show,
    /// 修改一项设置，例如 `baoxue settings set entry_age 7`
    Set {
        /// 设置项名称（见 settings show）
        key: String,
        /// 新的值
        value: String,
    },
}

pub fn settings(c: SettingsCmd, ctx: &Ctx) -> Result<i32> {
    let reg = ctx.open()?;
    let s = match c {
        SettingsCmd::Show => Settings::load(reg.conn())?,
        SettingsCmd::Set { key, value } => Settings::set(reg.conn(), &key, &value)?,
    };
    ctx.print_json(&s)?;
    Ok(0)
}

//! `baoxue household add|list`.

use super::Ctx;
use anyhow::{bail, Result};
use baoxue::households::{self, HouseholdQuery, NewChild, NewGuardian, NewHousehold};
use baoxue::idnum::{mask_id, mask_phone};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum HouseholdCmd {
    /// 新增一户及其儿童
    Add {
        /// 户主姓名
        #[arg(long)]
        head: String,
        /// 12位村代码
        #[arg(long)]
        village: String,
        /// 户主身份证号
        #[arg(long)]
        head_id: Option<String>,
        /// 联系电话
        #[arg(long)]
        phone: Option<String>,
        /// 住址
        #[arg(long)]
        address: Option<String>,
        /// 重点户类别（可多次）：脱贫不稳定户、边缘易致贫户、突发严重困难户、建档立卡(脱贫户)、低保户
        #[arg(long = "group")]
        groups: Vec<String>,
        /// 儿童（可多次）："姓名,身份证号[,出生日期,性别]"；无身份证号写 "姓名,,2015-03-08,男"
        #[arg(long = "child")]
        children: Vec<String>,
    },
    /// 列出户及其儿童
    List {
        /// 按姓名、身份证号或学籍号查找
        #[arg(long)]
        search: Option<String>,
        /// 区划代码前缀（村、乡镇或县）
        #[arg(long)]
        area: Option<String>,
        /// 最多列出多少户
        #[arg(long, default_value_t = 200)]
        limit: i64,
        /// 显示完整身份证号和电话（记入审计日志）
        #[arg(long)]
        full: bool,
    },
}

fn parse_child(spec: &str, guardian: &str, phone: Option<&str>) -> Result<NewChild> {
    let parts: Vec<&str> = spec.split([',', '，']).map(str::trim).collect();
    if parts.is_empty() || parts[0].is_empty() {
        bail!("--child 的写法是 \"姓名,身份证号[,出生日期,性别]\"，现为“{spec}”");
    }
    let field = |i: usize| {
        parts
            .get(i)
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string())
    };
    Ok(NewChild {
        name: parts[0].to_string(),
        id_number: field(1),
        birth_date: field(2),
        sex: field(3),
        guardians: vec![NewGuardian {
            name: guardian.to_string(),
            relation: None,
            phone: phone.map(str::to_string),
        }],
        ..Default::default()
    })
}

pub fn run(c: HouseholdCmd, ctx: &Ctx) -> Result<i32> {
    let mut reg = ctx.open()?;
    match c {
        HouseholdCmd::Add {
            head,
            village,
            head_id,
            phone,
            address,
            groups,
            children,
        } => {
            let children = children
                .iter()
                .map(|s| parse_child(s, &head, phone.as_deref()))
                .collect::<Result<Vec<_>>>()?;
            let new = NewHousehold {
                head_name: head,
                head_id_number: head_id,
                phone,
                address,
                village_code: village,
                priority_groups: groups,
                note: None,
                children,
            };
            let v = households::add_household(&mut reg, new, &ctx.actor())?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({"household_id": v.household.meta.id, "children": v.children.len()}))?;
            } else {
                println!(
                    "已新增：户主 {}，儿童 {} 名",
                    v.household.head_name,
                    v.children.len()
                );
            }
        }
        HouseholdCmd::List {
            search,
            area,
            limit,
            full,
        } => {
            let q = HouseholdQuery {
                search,
                area,
                limit: Some(limit),
                offset: None,
            };
            let list = households::list_households(&reg, &q)?;
            if full {
                let mut w = reg.writer(&ctx.actor())?;
                w.audit(
                    "households",
                    "*",
                    "reveal_full",
                    &["head_id_number", "phone", "id_number"],
                )?;
                w.commit()?;
            }
            let id = |s: &Option<String>| match s {
                Some(v) if full => v.clone(),
                Some(v) => mask_id(v),
                None => "无".into(),
            };
            let ph = |s: &Option<String>| match s {
                Some(v) if full => v.clone(),
                Some(v) => mask_phone(v),
                None => String::new(),
            };
            if ctx.json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|v| {
                        serde_json::json!({
                            "household_id": v.household.meta.id,
                            "head_name": v.household.head_name,
                            "village_code": v.household.village_code,
                            "phone": ph(&v.household.phone),
                            "address": v.household.address,
                            "priority_groups": v.household.priority_groups,
                            "children": v.children.iter().map(|c| serde_json::json!({
                                "child_id": c.child.meta.id,
                                "name": c.child.name,
                                "sex": c.child.sex,
                                "birth_date": c.child.birth_date,
                                "id_number": id(&c.child.id_number),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                ctx.print_json(&rows)?;
            } else {
                for v in &list {
                    println!(
                        "{}  户主：{}  村：{}  电话：{}",
                        v.household.address.as_deref().unwrap_or(""),
                        v.household.head_name,
                        v.household.village_code,
                        ph(&v.household.phone)
                    );
                    for c in &v.children {
                        println!(
                            "    {} {} {} {}",
                            c.child.name,
                            c.child.sex.as_deref().unwrap_or(""),
                            c.child.birth_date.as_deref().unwrap_or(""),
                            id(&c.child.id_number)
                        );
                    }
                }
                println!("共 {} 户", list.len());
            }
        }
    }
    Ok(0)
}

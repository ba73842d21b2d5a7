//! 学户册 as the desktop app shows it: the site with its counts, households with their children
//! where ID and phone numbers are masked (the screen never receives a full number), and the check
//! of an ID number while the clerk is still typing it. The app's commands are thin calls to these.

use crate::codes::{self, Code};
use crate::domain::Site;
use crate::error::Result;
use crate::households::{self, HouseholdQuery, HouseholdView};
use crate::idnum::{mask_id, mask_phone, IdNumber};
use crate::register::Register;
use crate::search::SearchIndex;
use crate::store;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::HashSet;

/// The site and how much the register holds (the app's first look at a register).
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// None while the register has no site yet (first start).
    pub site: Option<Site>,
    /// The site kind in Chinese (县教育局, 乡镇 …), empty without a site.
    pub kind_label: String,
    pub households: i64,
    pub children: i64,
}

/// The register's site and its counts.
pub fn overview(reg: &Register) -> Result<Overview> {
    let site = reg.site()?;
    Ok(Overview {
        kind_label: site
            .as_ref()
            .map(|s| s.kind.label().to_string())
            .unwrap_or_default(),
        site,
        households: store::households::count(reg.conn())?,
        children: store::children::count(reg.conn())?,
    })
}

/// One household on screen, numbers masked.
#[derive(Debug, Clone, Serialize)]
pub struct RosterRow {
    pub household_id: String,
    pub head_name: String,
    pub head_id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub village_code: String,
    /// The village's name from the county's division list (`None` when the list lacks the code).
    pub village_name: Option<String>,
    /// Chinese names of the household's priority groups.
    pub priority_groups: Vec<String>,
    pub children: Vec<RosterChild>,
}

/// One child on screen, numbers masked.
#[derive(Debug, Clone, Serialize)]
pub struct RosterChild {
    pub child_id: String,
    pub name: String,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub student_no: Option<String>,
    /// Chinese names of the child's flags (留守儿童 …).
    pub flags: Vec<String>,
    /// Guardians as `姓名（关系）`.
    pub guardians: Vec<String>,
}

fn names(list: &[Code], codes: &[String]) -> Vec<String> {
    codes.iter().map(|c| codes::name_of(list, c)).collect()
}

/// A stored household as the screen shows it: ID and phone numbers masked, the village named.
pub fn masked_row(conn: &Connection, v: &HouseholdView) -> Result<RosterRow> {
    let lists = codes::codes();
    let h = &v.household;
    let village_name = store::divisions::get(conn, &h.village_code)?.map(|d| d.name);
    Ok(RosterRow {
        household_id: h.meta.id.clone(),
        head_name: h.head_name.clone(),
        head_id_number: h.head_id_number.as_deref().map(mask_id),
        phone: h.phone.as_deref().map(mask_phone),
        address: h.address.clone(),
        village_code: h.village_code.clone(),
        village_name,
        priority_groups: names(&lists.priority_groups, &h.priority_groups),
        children: v
            .children
            .iter()
            .map(|c| RosterChild {
                child_id: c.child.meta.id.clone(),
                name: c.child.name.clone(),
                sex: c.child.sex.clone(),
                birth_date: c.child.birth_date.clone(),
                id_number: c.child.id_number.as_deref().map(mask_id),
                student_no: c
                    .child
                    .student_no
                    .as_deref()
                    .map(crate::idnum::mask_student_no),
                flags: names(&lists.child_flags, &c.child.flags),
                guardians: c
                    .guardians
                    .iter()
                    .map(|g| match &g.relation {
                        Some(r) => format!("{}（{}）", g.name, r),
                        None => g.name.clone(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// Households with their children for the 学户册 screen, numbers masked.
pub fn roster(reg: &Register, q: &HouseholdQuery) -> Result<Vec<RosterRow>> {
    households::list_households(reg, q)?
        .iter()
        .map(|v| masked_row(reg.conn(), v))
        .collect()
}

/// Whether the search box holds letters only (`zs`), which `roster_search` also reads as pinyin
/// initials: only then does the app need its search index (building it after an edit takes a
/// while on a large county, so other searches and the plain list go without it).
pub fn searches_initials(q: &HouseholdQuery) -> bool {
    let typed = q.search.as_deref().map(str::trim).unwrap_or_default();
    !typed.is_empty() && typed.chars().all(|c| c.is_ascii_alphabetic())
}

/// The 学户册 search box: what `roster` finds (name, ID number, 学籍号, address), then, when the
/// clerk typed letters only (`zs`), the households of the children whose names have those pinyin
/// initials, from the app's search index: the same initials the top bar's 查找儿童 matches.
pub fn roster_search(
    reg: &Register,
    index: &SearchIndex,
    q: &HouseholdQuery,
) -> Result<Vec<RosterRow>> {
    let mut rows = roster(reg, q)?;
    if !searches_initials(q) {
        return Ok(rows);
    }
    let typed = q.search.as_deref().map(str::trim).unwrap_or_default();
    let limit = q.limit.unwrap_or(200).clamp(1, 10_000) as usize;
    let mut seen: HashSet<String> = rows.iter().map(|r| r.household_id.clone()).collect();
    for hit in index.query(typed, limit.saturating_mul(4)) {
        if rows.len() >= limit {
            break;
        }
        let Some(hid) = hit.household_id.filter(|_| hit.matched == "initials") else {
            continue;
        };
        if !seen.insert(hid.clone()) {
            continue;
        }
        if let Some(v) = households::get_household(reg, &hid)? {
            rows.push(masked_row(reg.conn(), &v)?);
        }
    }
    Ok(rows)
}

/// One stretch of the whole 学户册 for the app's virtualised list: `rows` are the households at
/// positions `offset..` of `total`, in roster order (village, head, id).
#[derive(Debug, Clone, Serialize)]
pub struct RosterPage {
    pub total: usize,
    pub offset: usize,
    pub rows: Vec<RosterRow>,
}

/// The roster order of every household, sorted once per register state: a page anywhere in a
/// county's roster is then a few lookups by id, not a sort of every household (`OFFSET`).
/// The state is `total_changes` (this connection's writes) and `data_version` (another
/// connection's, e.g. a background merge), as `search::CachedIndex` keys it.
#[derive(Debug, Default)]
pub struct CachedOrder {
    seen: Option<(u64, i64)>,
    ids: Vec<String>,
    sorts: u64,
}

impl CachedOrder {
    /// Households `offset..offset + limit` (at most 500) of the whole roster, numbers masked.
    pub fn page(&mut self, reg: &Register, offset: usize, limit: usize) -> Result<RosterPage> {
        let conn = reg.conn();
        let seen = (
            conn.total_changes(),
            conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0))?,
        );
        if self.seen != Some(seen) {
            self.ids = store::households::list_ids(conn)?;
            self.seen = Some(seen);
            self.sorts += 1;
        }
        let start = offset.min(self.ids.len());
        let end = start.saturating_add(limit.min(500)).min(self.ids.len());
        let mut rows = Vec::with_capacity(end - start);
        for id in &self.ids[start..end] {
            if let Some(v) = households::get_household(reg, id)? {
                rows.push(masked_row(conn, &v)?);
            }
        }
        Ok(RosterPage {
            total: self.ids.len(),
            offset: start,
            rows,
        })
    }

    /// How many times the roster was sorted (tests: paging must not re-sort).
    pub fn sorts(&self) -> u64 {
        self.sorts
    }
}

/// What a valid ID number tells, for the form to fill in as the clerk types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdFacts {
    /// The normalised 18-character number (a 15-digit one upgraded).
    pub normalized: String,
    pub birth_date: String,
    pub sex: String,
}

/// Checks an ID number as typed; the error says in Chinese what is wrong.
pub fn check_id(raw: &str) -> Result<IdFacts> {
    let id = IdNumber::parse(raw)?;
    Ok(IdFacts {
        normalized: id.as_str().to_string(),
        birth_date: id.birth_date().to_string(),
        sex: id.sex().as_str().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::households::{NewChild, NewGuardian, NewHousehold};

    #[test]
    fn overview_of_an_empty_register_has_no_site() {
        let r = Register::open_in_memory().unwrap();
        let o = overview(&r).unwrap();
        assert!(o.site.is_none());
        assert_eq!((o.households, o.children), (0, 0));
    }

    #[test]
    fn roster_masks_numbers_and_names_codes() {
        let (mut r, actor) = crate::households::tests::village();
        let id = format!(
            "41042320150308001{}",
            crate::idnum::check_char("41042320150308001")
        );
        households::add_household(
            &mut r,
            NewHousehold {
                head_name: "王大山".into(),
                phone: Some("13812345678".into()),
                village_code: "410423100201".into(),
                priority_groups: vec!["dibao".into()],
                children: vec![NewChild {
                    name: "王小明".into(),
                    id_number: Some(id.clone()),
                    flags: vec!["left_behind".into()],
                    guardians: vec![NewGuardian {
                        name: "王大山".into(),
                        relation: Some("父亲".into()),
                        phone: None,
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            },
            &actor,
        )
        .unwrap();
        let rows = roster(&r, &HouseholdQuery::default()).unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.phone.as_deref(), Some("138****5678"));
        assert_eq!(row.priority_groups, vec!["低保户".to_string()]);
        // No division list yet: the code alone; once the county's list names it, its name.
        assert_eq!(row.village_name, None);
        store::divisions::put(
            r.conn(),
            &store::divisions::Division {
                code: "410423100201".into(),
                name: "前进村".into(),
                level: "village".into(),
            },
        )
        .unwrap();
        let named = roster(&r, &HouseholdQuery::default()).unwrap();
        assert_eq!(named[0].village_name.as_deref(), Some("前进村"));
        let child = &row.children[0];
        let shown = format!("410423********{}", &id[14..]);
        assert_eq!(child.id_number.as_deref(), Some(shown.as_str()));
        assert_ne!(child.id_number.as_deref(), Some(id.as_str()));
        assert_eq!(child.flags, vec!["留守儿童".to_string()]);
        assert_eq!(child.guardians, vec!["王大山（父亲）".to_string()]);
        let o = overview(&r).unwrap();
        assert_eq!((o.households, o.children), (1, 1));
        assert_eq!(o.kind_label, "村");
    }

    #[test]
    fn roster_search_finds_households_by_a_childs_pinyin_initials() {
        let (mut r, actor) = crate::households::tests::village();
        for (head, child) in [("张大山", "张三"), ("李四海", "李小四"), ("赵钱", "周松")]
        {
            households::add_household(
                &mut r,
                NewHousehold {
                    head_name: head.into(),
                    village_code: "410423100201".into(),
                    children: vec![NewChild {
                        name: child.into(),
                        birth_date: Some("2016-05-01".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                &actor,
            )
            .unwrap();
        }
        let index = SearchIndex::build(r.conn()).unwrap();
        let heads = |typed: &str| -> Vec<String> {
            let q = HouseholdQuery {
                search: Some(typed.into()),
                ..Default::default()
            };
            let mut found: Vec<String> = roster_search(&r, &index, &q)
                .unwrap()
                .into_iter()
                .map(|row| row.head_name)
                .collect();
            found.sort();
            found
        };
        // 张三 and 周松 both have the initials zs; 李小四 (lxs) does not.
        assert_eq!(heads("zs"), vec!["张大山", "赵钱"]);
        assert_eq!(heads("ZS"), vec!["张大山", "赵钱"]);
        assert_eq!(heads("lxs"), vec!["李四海"]);
        // Chinese text is searched as before, not by initials.
        assert_eq!(heads("小四"), vec!["李四海"]);
        assert!(heads("qq").is_empty());
        // Only letters need the index (the app builds it for them alone).
        let q = |s: &str| HouseholdQuery {
            search: Some(s.into()),
            ..Default::default()
        };
        assert!(searches_initials(&q(" zs ")));
        assert!(!searches_initials(&q("张三")));
        assert!(!searches_initials(&q("zs1")));
        assert!(!searches_initials(&q("  ")));
    }

    #[test]
    fn cached_order_pages_the_roster_as_list_does_and_sorts_once_per_change() {
        let (mut r, actor) = crate::households::tests::village();
        for (i, head) in ["赵六", "王五", "李四", "张三", "孙七"].iter().enumerate() {
            let code = if i % 2 == 0 {
                "410423100201"
            } else {
                "410423100202"
            };
            households::add_household(
                &mut r,
                NewHousehold {
                    head_name: head.to_string(),
                    village_code: code.into(),
                    ..Default::default()
                },
                &actor,
            )
            .unwrap();
        }
        let listed = |r: &Register, offset: i64, limit: i64| -> Vec<String> {
            let q = HouseholdQuery {
                limit: Some(limit),
                offset: Some(offset),
                ..Default::default()
            };
            roster(r, &q)
                .unwrap()
                .into_iter()
                .map(|x| x.head_name)
                .collect()
        };
        let heads =
            |p: RosterPage| -> Vec<String> { p.rows.into_iter().map(|x| x.head_name).collect() };
        let mut order = CachedOrder::default();
        let first = order.page(&r, 0, 2).unwrap();
        assert_eq!((first.total, first.offset), (5, 0));
        assert_eq!(heads(first), listed(&r, 0, 2));
        assert_eq!(heads(order.page(&r, 2, 10).unwrap()), listed(&r, 2, 10));
        let past = order.page(&r, 9, 10).unwrap();
        assert_eq!((past.total, past.offset, past.rows.len()), (5, 5, 0));
        assert_eq!(order.sorts(), 1, "paging must not sort again");

        households::add_household(
            &mut r,
            NewHousehold {
                head_name: "陈八".into(),
                village_code: "410423100201".into(),
                ..Default::default()
            },
            &actor,
        )
        .unwrap();
        let all = order.page(&r, 0, 100).unwrap();
        assert_eq!(all.total, 6);
        assert_eq!(heads(all), listed(&r, 0, 100));
        assert_eq!(order.sorts(), 2);
    }

    #[test]
    fn check_id_fills_birth_and_sex_or_says_why_not() {
        let f = check_id("11010519491231002X").unwrap();
        assert_eq!(f.birth_date, "1949-12-31");
        assert_eq!(f.sex, "女");
        let e = check_id("110105194912310021").unwrap_err();
        assert_eq!(e.code(), "id_check_digit");
        assert!(e.to_string().contains("校验位"));
        assert_eq!(check_id("4104231").unwrap_err().code(), "id_length");
    }
}

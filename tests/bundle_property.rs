//! The merge property: sites make random edits (the same child at a village and its township,
//! deletions racing edits, case events from two sites); their bundles reach two county registers
//! in different random orders, some twice. Both counties end byte-identical, with the same
//! conflicts listed.

use crate::bundle_support::*;
use baoxue::bundle::conflicts;
use baoxue::domain::SiteKind;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

const SCHOOL: &str = "2141049901";

fn children_of(s: &Site) -> Vec<String> {
    let mut st = s
        .reg
        .conn()
        .prepare("SELECT id FROM children ORDER BY id")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn cases_of(s: &Site) -> Vec<String> {
    let mut st = s
        .reg
        .conn()
        .prepare("SELECT id FROM cases ORDER BY id")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn random_work(s: &mut Site, rng: &mut StdRng, village: Option<&str>, seq: &mut u32, when: i64) {
    for _ in 0..rng.gen_range(1..4) {
        let kids = children_of(s);
        match rng.gen_range(0..10) {
            0..=2 => {
                *seq += 1;
                match village {
                    Some(v) => add_child(s, v, &format!("孩子{seq}"), *seq % 900, when),
                    None => add_pupil(s, SCHOOL, &format!("学生{seq}"), *seq % 900, when),
                };
            }
            3..=5 if !kids.is_empty() => {
                let k = kids.choose(rng).unwrap().clone();
                edit_child(s, &k, &format!("{}改{when}", s.name), false, when);
            }
            6 if !kids.is_empty() => {
                let k = kids.choose(rng).unwrap().clone();
                edit_child(s, &k, &format!("{}删{when}", s.name), true, when);
            }
            7 if !kids.is_empty() => {
                let k = kids.choose(rng).unwrap().clone();
                let c = open_case(s, &k, when);
                add_event(s, &c, "立案", when);
            }
            _ => {
                if let Some(c) = cases_of(s).choose(rng).cloned() {
                    add_event(s, &c, &format!("{}劝返{when}", s.name), when);
                }
            }
        }
    }
}

fn run_scenario(seed: u64) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut c1 = site(d, "c1.db", SiteKind::County, "青山县教育局", COUNTY, None);
    let mut c2 = site(
        d,
        "c2.db",
        SiteKind::County,
        "青山县教育局（二）",
        COUNTY,
        None,
    );
    let mut sites = vec![
        site(d, "v1.db", SiteKind::Village, "柳树湾村", V1, None),
        site(d, "v2.db", SiteKind::Village, "杨庄村", V2, None),
        site(d, "t1.db", SiteKind::Township, "城关镇", T1, None),
        site(d, "s1.db", SiteKind::School, "城关小学", T1, Some(SCHOOL)),
    ];
    for s in sites.iter_mut() {
        trusts(&mut c1, s);
        trusts(&mut c2, s);
        trusts(s, &c1);
        trusts(s, &c2);
    }
    {
        let (villages, rest) = sites.split_at_mut(2);
        for v in villages.iter_mut() {
            trusts(&mut rest[0], v);
            trusts(v, &rest[0]);
        }
    }
    let mut to_c1: Vec<PathBuf> = vec![];
    let mut to_c2: Vec<PathBuf> = vec![];
    let mut seq = 0u32;
    let mut n = 0;
    for round in 1..=4i64 {
        let when = round * 100;
        for (i, village) in [Some(V1), Some(V2), None, None].into_iter().enumerate() {
            if i == 2 {
                // The township edits what it received from its villages.
                let t = &mut sites[2];
                for _ in 0..rng.gen_range(0..3) {
                    let kids = children_of(t);
                    if let Some(k) = kids.choose(&mut rng).cloned() {
                        let delete = rng.gen_range(0..6) == 0;
                        edit_child(t, &k, &format!("乡镇改{when}"), delete, when + 1);
                    }
                    if let Some(c) = cases_of(t).choose(&mut rng).cloned() {
                        add_event(t, &c, &format!("乡镇劝返{when}"), when + 1);
                    }
                }
                continue;
            }
            random_work(&mut sites[i], &mut rng, village, &mut seq, when + i as i64);
        }
        // Villages hand their work to the township now and then.
        for v in 0..2 {
            if rng.gen_bool(0.6) {
                n += 1;
                let p = d.join(format!("up{n}.bxb"));
                let (a, b) = sites.split_at_mut(2);
                export(&mut a[v], &b[0], false, &p, when + 10);
                assert_eq!(import(&mut b[0], &p, when + 11).status, "applied");
            }
        }
        for s in sites.iter_mut() {
            for (county, list) in [(&c1, &mut to_c1), (&c2, &mut to_c2)] {
                n += 1;
                let p = d.join(format!("b{n}.bxb"));
                let full = rng.gen_range(0..8) == 0;
                export(s, county, full, &p, when + 20);
                list.push(p);
            }
        }
    }
    for (county, list) in [(&mut c1, &mut to_c1), (&mut c2, &mut to_c2)] {
        list.shuffle(&mut rng);
        let again: Vec<PathBuf> = list.iter().filter(|_| rng.gen_bool(0.3)).cloned().collect();
        list.extend(again);
        list.shuffle(&mut rng);
        for p in list.iter() {
            let r = import(county, p, 10_000);
            assert!(
                r.status == "applied" || r.status == "already_imported",
                "seed {seed}: {} {r:?}",
                p.display()
            );
        }
    }
    assert_eq!(
        snapshot(&c1),
        snapshot(&c2),
        "seed {seed}: snapshots differ"
    );
    assert_eq!(
        conflicts::list(c1.reg.conn()).unwrap(),
        conflicts::list(c2.reg.conn()).unwrap(),
        "seed {seed}: conflict lists differ"
    );
    let conflicts = conflicts::list(c1.reg.conn()).unwrap().len();
    // Every site's own records are at the county.
    let snap: serde_json::Value = serde_json::from_str(&snapshot(&c1)).unwrap();
    for s in &sites {
        for k in children_of(s) {
            assert!(
                snap["tables"]["children"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["id"] == k),
                "seed {seed}: child of {} missing",
                s.name
            );
        }
    }
    conflicts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn any_delivery_order_gives_identical_county_registers(seed in any::<u64>()) {
        run_scenario(seed);
    }
}

#[test]
fn fixed_seeds_give_identical_county_registers() {
    let conflicts: usize = [1, 2, 3].into_iter().map(run_scenario).sum();
    assert!(conflicts > 0, "the scenarios must exercise conflicts");
}

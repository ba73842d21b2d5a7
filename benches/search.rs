//! Keystroke search over 250k children: builds an index of generated names, ID numbers and
//! 学籍号, then times each keystroke of typical searches. Target: ≤ 50 ms per keystroke.
//! Run: `cargo bench --bench search` (prints median and max per query).
//!
//! With `BAOXUE_BENCH_DB=<a scratch copy of a register>` it also times what the app's 查找儿童 pays
//! on the first keystroke after a write (新增一户 adds a child, which the app's `CachedIndex`
//! adds in place since session 5; it rebuilt the whole index before), and the keystroke after that. The file is WRITTEN to: use a copy.

use baoxue::search::{CachedIndex, SearchIndex};
use std::time::Instant;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: &[&str] = &[
    "子涵", "浩然", "一诺", "梓萱", "宇轩", "欣怡", "俊杰", "雨桐", "博文", "思琪", "明", "强",
    "燕", "军",
];

fn main() {
    let n: usize = std::env::var("BAOXUE_BENCH_CHILDREN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(250_000);
    let t = Instant::now();
    let mut ix = SearchIndex::default();
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    for i in 0..n {
        let name = format!(
            "{}{}",
            SURNAMES[next() % SURNAMES.len()],
            GIVEN[next() % GIVEN.len()]
        );
        let first = format!(
            "410499{:04}{:02}{:02}{:03}",
            2008 + next() % 12,
            1 + next() % 12,
            1 + next() % 28,
            next() % 1000
        );
        let id = format!("{first}{}", baoxue::idnum::check_char(&first));
        let sn = format!("G{id}");
        ix.push(&i.to_string(), &name, Some(&id), Some(&sn));
    }
    println!(
        "index of {} children built in {:.0} ms",
        ix.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let typed = [
        "张",
        "张子",
        "张子涵",
        "z",
        "zz",
        "zzh",
        "4",
        "41",
        "4104",
        "410499",
        "41049920",
        "G4104",
        "王一诺",
        "wyn",
    ];
    let mut all = Vec::new();
    for q in typed {
        let mut times = Vec::new();
        for _ in 0..15 {
            let t = Instant::now();
            let hits = ix.query(q, 50);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(hits);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "  {q:<10} median {:>6.2} ms   max {:>6.2} ms",
            times[times.len() / 2],
            times[times.len() - 1]
        );
        all.extend(times);
    }
    all.sort_by(|a, b| a.total_cmp(b));
    println!(
        "all keystrokes: median {:.2} ms, p95 {:.2} ms, max {:.2} ms (target ≤ 50 ms)",
        all[all.len() / 2],
        all[all.len() * 95 / 100],
        all[all.len() - 1]
    );
    if let Ok(db) = std::env::var("BAOXUE_BENCH_DB") {
        after_a_write(std::path::Path::new(&db));
    }
}

/// The first keystroke after a write that invalidated the index, on a real register: 5 rounds of
/// 新增一户 (one child) through the core, then `CachedIndex::current` + a query, as the app's
/// `search_children` command does.
fn after_a_write(db: &std::path::Path) {
    let mut reg = baoxue::Register::open(db).expect("open the register");
    let village = baoxue::store::households::list(reg.conn(), None, 1, 0)
        .expect("list a household")
        .first()
        .map(|h| h.village_code.clone())
        .expect("the register has a household (its village is used)");
    let mut cache = CachedIndex::default();
    let t = Instant::now();
    let n = cache.current(reg.conn()).expect("build").len();
    println!(
        "index of {n} children built from the register in {:.0} ms (the app's first search)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let (mut first, mut next) = (Vec::new(), Vec::new());
    for round in 0..5 {
        let actor = baoxue::Actor::new("基准测试", chrono::Utc::now());
        baoxue::households::add_household(
            &mut reg,
            baoxue::households::NewHousehold {
                head_name: format!("基准户{round}"),
                village_code: village.clone(),
                children: vec![baoxue::households::NewChild {
                    name: format!("张基准{round}"),
                    sex: Some("男".into()),
                    birth_date: Some("2016-05-01".into()),
                    ..Default::default()
                }],
                ..Default::default()
            },
            &actor,
        )
        .expect("add a household");
        for (q, times) in [("张", &mut first), ("张基", &mut next)] {
            let t = Instant::now();
            let hits = cache.current(reg.conn()).expect("index").query(q, 50);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(hits);
        }
    }
    for times in [&mut first, &mut next] {
        times.sort_by(|a, b| a.total_cmp(b));
    }
    println!(
        "first keystroke after a write (new child added to the index): median {:.1} ms, max {:.1} ms; the next keystroke: median {:.2} ms (target ≤ 50 ms; {} rebuilds, {} additions in place)",
        first[first.len() / 2],
        first[first.len() - 1],
        next[next.len() / 2],
        cache.rebuilds(),
        cache.additions()
    );
}

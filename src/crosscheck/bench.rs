//! The cross-check benchmark (`baoxue bench crosscheck`): builds a register file with a large
//! fictional county (roster children in households, and roll records made at schools, linked by
//! ID number as in real life), then times the cross-check over it.

use crate::domain::{Child, Enrolment, Household, School, SiteKind};
use crate::error::Result;
use crate::idnum::check_char;
use crate::register::{Actor, NewSite, Register};
use crate::settings::Settings;
use crate::store;
use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// What the benchmark measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub roster_children: usize,
    pub enrolments: usize,
    pub build_seconds: f64,
    /// Wall time of each cross-check run, in seconds.
    pub runs: Vec<f64>,
    pub best_seconds: f64,
    pub median_seconds: f64,
    /// CPU time of each run (the whole process, every thread, user + system), when the system
    /// reports it.
    pub cpu_runs: Vec<f64>,
    pub median_cpu_seconds: Option<f64>,
    pub suspected: usize,
    pub to_confirm: usize,
    pub children_checked: usize,
}

/// CPU time this process has used, every thread counted, in seconds (the cross-check runs on
/// two threads on a plain register file).
#[cfg(unix)]
pub fn process_cpu_seconds() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the system knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9)
}

#[cfg(not(unix))]
pub fn process_cpu_seconds() -> Option<f64> {
    None
}

fn id_for(region: &str, birth: NaiveDate, seq: u32) -> String {
    let first = format!("{region}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    format!("{first}{}", check_char(&first))
}

/// Builds the fixture at `path` (a new file, encrypted when a passphrase is given) and runs the
/// cross-check `runs` times.
pub fn run(
    path: &Path,
    passphrase: Option<&str>,
    roster_children: usize,
    enrolments: usize,
    runs: usize,
    actor: &Actor,
) -> Result<BenchReport> {
    let started = Instant::now();
    let mut reg = Register::open_with(path, passphrase)?;
    if reg.site()?.is_none() {
        reg.init_site(
            NewSite {
                kind: SiteKind::County,
                name: "基准测试县".into(),
                region_code: "410498".into(),
                school_code: None,
            },
            actor,
        )?;
    }
    let as_of = actor.now.date_naive();
    if store::children::count(reg.conn())? == 0 {
        build(&mut reg, roster_children, enrolments, actor)?;
    }
    let build_seconds = started.elapsed().as_secs_f64();
    let settings = Settings::load(reg.conn())?;
    let mut times = Vec::new();
    let mut last = None;
    let mut cpu = Vec::new();
    for _ in 0..runs.max(1) {
        let c = process_cpu_seconds();
        let t = Instant::now();
        // The whole report, as `baoxue --json crosscheck` makes it: the run, the masking and the
        // JSON text (not its printing).
        let r = super::run(reg.conn(), &settings, as_of)?.masked();
        let json = super::json::to_json_pretty(&r)?;
        times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(json);
        if let (Some(a), Some(b)) = (c, process_cpu_seconds()) {
            cpu.push(b - a);
        }
        last = Some(r);
    }
    let mut cpu_sorted = cpu.clone();
    cpu_sorted.sort_by(|a, b| a.total_cmp(b));
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let r = last.ok_or_else(|| crate::error::Error::Other("没有运行".into()))?;
    Ok(BenchReport {
        roster_children: store::crosscheck::count_roster(reg.conn())?,
        enrolments: store::enrolments::count(reg.conn())? as usize,
        build_seconds,
        best_seconds: sorted[0],
        median_seconds: sorted[sorted.len() / 2],
        runs: times,
        median_cpu_seconds: cpu_sorted.get(cpu_sorted.len() / 2).copied(),
        cpu_runs: cpu,
        suspected: r.suspected.len(),
        to_confirm: r.to_confirm.len(),
        children_checked: r.children_checked,
    })
}

/// Writes the fictional county: `roster_children` children in households (two per household),
/// the first `enrolments` of them also on a school's roll as a separate record linked by ID.
fn build(
    reg: &mut Register,
    roster_children: usize,
    enrolments: usize,
    actor: &Actor,
) -> Result<()> {
    let as_of = actor.now.date_naive();
    let mut rng = StdRng::seed_from_u64(7);
    let mut w = reg.writer(actor)?;
    let mut schools = Vec::new();
    for i in 0..40 {
        let s = School {
            meta: w.new_meta(),
            code: format!("2141049800{i:02}"),
            name: format!("基准学校{i}"),
            kind: "nine-year".into(),
            township_code: Some(format!("410498{:03}", 100 + i % 20)),
        };
        store::schools::put(w.conn(), &s)?;
        schools.push(s.code);
    }
    let mut household: Option<Household> = None;
    for i in 0..roster_children {
        if i % 2 == 0 || household.is_none() {
            let village = format!("410498{:03}{:03}", 100 + (i / 2) % 20, 200 + (i / 40) % 30);
            let h = Household {
                meta: w.new_meta(),
                head_name: "基准户主".into(),
                head_id_number: None,
                phone: None,
                address: None,
                village_code: village,
                priority_groups: if rng.gen_range(0..10) == 0 {
                    vec!["dibao".into()]
                } else {
                    vec![]
                },
                note: None,
            };
            store::households::put(w.conn(), &h)?;
            household = Some(h);
        }
        let Some(h) = &household else { continue };
        // School age: 6 to 15 on the benchmark day.
        let birth = as_of - Duration::days(rng.gen_range(6 * 365 + 20..15 * 365));
        let seq = (i % 1000) as u32;
        let has_id = rng.gen_range(0..100) < 97;
        let region = format!("4104{:02}", 10 + (i / 1000) % 90);
        let id = has_id.then(|| id_for(&region, birth, seq));
        let child = Child {
            meta: w.new_meta(),
            household_id: Some(h.meta.id.clone()),
            name: format!("基准儿童{i}"),
            sex: None,
            birth_date: Some(birth.to_string()),
            id_number: id.clone(),
            id_key: id.clone(),
            student_no: None,
            village_code: Some(h.village_code.clone()),
            hukou_place: None,
            residence: None,
            flags: vec![],
            disability_type: None,
            disability_grade: None,
            life_status: "normal".into(),
            life_status_detail: None,
            note: None,
        };
        store::children::put(w.conn(), &child)?;
        if i < enrolments {
            // The school's own record of the pupil, linked by ID (or by name + birth date).
            let roll_child = Child {
                meta: w.new_meta(),
                household_id: None,
                student_no: id.as_ref().map(|x| format!("G{x}")),
                village_code: None,
                ..child.clone()
            };
            store::children::put(w.conn(), &roll_child)?;
            let e = Enrolment {
                meta: w.new_meta(),
                child_id: roll_child.meta.id.clone(),
                school_code: schools[i % schools.len()].clone(),
                student_no: roll_child.student_no.clone(),
                grade: Some(1 + (i % 9) as i64),
                class_name: Some("1班".into()),
                entry_date: None,
                status: if i % 997 == 0 {
                    "dropped_out"
                } else {
                    "studying"
                }
                .into(),
                status_date: None,
                term: None,
                note: None,
            };
            store::enrolments::put(w.conn(), &e)?;
        }
    }
    w.commit()?;
    reg.conn().execute_batch("ANALYZE")?;
    // The pages into the file and the log emptied, as closing the register would do: the
    // timed runs read the file as they would in any later process.
    reg.conn()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

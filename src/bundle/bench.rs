//! `baoxue bundle bench`: builds a county register of N children (households, guardians,
//! enrolments), exports a full bundle to a second county register, verifies and merges it, then
//! measures an incremental bundle of 100 edits. Real files in a work directory, wall-clock times.

use super::{card, export_bundle, import_bundle, keys, trust, ExportOptions};
use crate::domain::{Child, Enrolment, Guardian, Household, SiteKind};
use crate::error::Result;
use crate::idnum::check_char;
use crate::register::{Actor, NewSite, Register};
use crate::store;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// CPU time (user + system) of this process in milliseconds, from `/proc/self/stat` (Linux);
/// 0 elsewhere. Reported beside wall time because the machine is shared.
fn cpu_ms() -> u128 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u128>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * 10
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub children: usize,
    pub load_average: String,
    pub full_export_cpu_ms: u128,
    pub full_import_cpu_ms: u128,
    /// CPU of parse + verify alone (signature, hash, decrypt, decompress, parse, scope).
    pub full_verify_only_cpu_ms: u128,
    /// CPU of writing the same rows directly through the store (what SQLite alone costs);
    /// absent when the registers were reused from an earlier run in the same directory.
    pub generate_cpu_ms: Option<u128>,
    pub incremental_import_cpu_ms: u128,
    pub records: u64,
    pub full_export_ms: u128,
    pub full_bytes: u64,
    pub full_bytes_per_record: f64,
    pub full_import_ms: u128,
    pub full_import_status: String,
    pub snapshots_identical: bool,
    pub incremental_edits: usize,
    pub incremental_records: u64,
    pub incremental_bytes: u64,
    pub incremental_export_ms: u128,
    pub incremental_import_ms: u128,
    pub incremental_applied: u64,
}

fn actor(op: &str, secs: i64) -> Actor {
    Actor::new(
        op,
        chrono::DateTime::from_timestamp(1_788_000_000 + secs, 0).unwrap_or_default(),
    )
}

/// Fills a county register with `n` children and their households, guardians and enrolments.
pub fn generate(reg: &mut Register, n: usize, actor: &Actor) -> Result<()> {
    let county = reg.require_site()?.region_code;
    let mut w = reg.writer(actor)?;
    let mut hh: Option<Household> = None;
    for i in 0..n {
        let village = format!(
            "{county}{:03}{:03}",
            100 + (i / 20_000) % 20,
            201 + (i / 1000) % 20
        );
        if i % 2 == 0 {
            let h = Household {
                meta: w.new_meta(),
                head_name: format!("户主{}", i / 2),
                head_id_number: None,
                phone: Some(format!("138{:08}", i)),
                address: Some(format!("第{}组{}号", i % 9, i / 2)),
                village_code: village.clone(),
                priority_groups: vec![],
                note: None,
            };
            store::households::put(w.conn(), &h)?;
            hh = Some(h);
        }
        let birth = chrono::NaiveDate::from_ymd_opt(
            2010 + (i % 12) as i32,
            1 + (i % 12) as u32,
            1 + (i % 28) as u32,
        )
        .unwrap_or_default();
        let first = format!("{county}{}{:03}", birth.format("%Y%m%d"), i % 1000);
        let id_number = format!("{first}{}", check_char(&first));
        let child = Child {
            meta: w.new_meta(),
            household_id: hh.as_ref().map(|h| h.meta.id.clone()),
            name: format!("学生{i}"),
            sex: Some(if i % 2 == 0 { "男" } else { "女" }.into()),
            birth_date: Some(birth.to_string()),
            id_key: Some(id_number.clone()),
            student_no: Some(format!("G{id_number}")),
            id_number: Some(id_number.clone()),
            village_code: Some(village.clone()),
            hukou_place: Some("青山县".into()),
            residence: hh.as_ref().and_then(|h| h.address.clone()),
            flags: if i % 7 == 0 {
                vec!["left_behind".into()]
            } else {
                vec![]
            },
            disability_type: None,
            disability_grade: None,
            life_status: "normal".into(),
            life_status_detail: None,
            note: None,
        };
        store::children::put(w.conn(), &child)?;
        let g = Guardian {
            meta: w.new_meta(),
            child_id: child.meta.id.clone(),
            name: format!("监护人{i}"),
            relation: Some("父亲".into()),
            phone: Some(format!("139{:08}", i)),
        };
        store::guardians::put(w.conn(), &g)?;
        if i % 10 != 0 {
            let e = Enrolment {
                meta: w.new_meta(),
                child_id: child.meta.id.clone(),
                school_code: format!("21{county}{:02}", 1 + i % 40),
                student_no: child.student_no.clone(),
                grade: Some(1 + (i % 9) as i64),
                class_name: Some(format!("{}班", 1 + i % 4)),
                entry_date: Some("2025-09-01".into()),
                status: "studying".into(),
                status_date: None,
                term: Some("2026秋".into()),
                note: None,
            };
            store::enrolments::put(w.conn(), &e)?;
        }
    }
    w.commit()
}

/// Edits `k` children (a note), as a clerk would.
pub fn edit_children(reg: &mut Register, k: usize, actor: &Actor) -> Result<()> {
    let ids: Vec<String> = {
        let mut st = reg
            .conn()
            .prepare("SELECT id FROM children ORDER BY id LIMIT ?1")?;
        let rows = st.query_map([k as i64], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut w = reg.writer(actor)?;
    for id in ids {
        if let Some(mut c) = store::children::get(w.conn(), &id)? {
            c.meta = w.next_meta(&c.meta);
            c.note = Some("已家访核实".into());
            store::children::put(w.conn(), &c)?;
            w.audit("children", &id, "update", &["note"])?;
        }
    }
    w.commit()
}

fn county(path: &Path, name: &str, op: &str) -> Result<Register> {
    let _ = std::fs::remove_file(path);
    let mut reg = Register::open(path)?;
    reg.init_site(
        NewSite {
            kind: SiteKind::County,
            name: name.into(),
            region_code: "410499".into(),
            school_code: None,
        },
        &actor(op, 0),
    )?;
    Ok(reg)
}

fn card_of(reg: &Register) -> Result<Vec<u8>> {
    let me = reg.require_site()?;
    let k = keys::load(reg.conn())?;
    Ok(serde_json::to_vec(&card::make(
        &me,
        &k,
        "2026-09-01T00:00:00Z",
    )?)?)
}

/// Builds the two county registers (A with `n` children, B empty, each trusting the other) once
/// per `dir` and `n`, as seed files; later runs copy the seeds, so a run measures only the bundle.
fn seeds(dir: &Path, n: usize, op: &str) -> Result<(Register, Register, Option<u128>)> {
    let seed_a = dir.join(format!("seed-a-{n}.db"));
    let seed_b = dir.join(format!("seed-b-{n}.db"));
    let mut generate_cpu_ms = None;
    if !(seed_a.exists() && seed_b.exists()) {
        let mut a = county(&seed_a, "青山县教育局", op)?;
        let mut b = county(&seed_b, "青山县教育局（新电脑）", op)?;
        let (ca, cb) = (card_of(&a)?, card_of(&b)?);
        trust::trust(&mut a, &cb, None, &actor(op, 1))?;
        trust::trust(&mut b, &ca, None, &actor(op, 1))?;
        let c0 = cpu_ms();
        generate(&mut a, n, &actor(op, 10))?;
        generate_cpu_ms = Some(cpu_ms() - c0);
    }
    let copy = |from: &Path, to: &Path| -> Result<Register> {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", to.display()));
        }
        std::fs::copy(from, to).map_err(|e| crate::Error::io(to, e))?;
        Register::open(to)
    };
    Ok((
        copy(&seed_a, &dir.join("county-a.db"))?,
        copy(&seed_b, &dir.join("county-b.db"))?,
        generate_cpu_ms,
    ))
}

/// Runs the whole benchmark in `dir` (the generated registers are kept there and reused).
pub fn run(dir: &Path, n: usize, op: &str) -> Result<BenchReport> {
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let (mut a, mut b, generate_cpu_ms) = seeds(dir, n, op)?;
    let b_id = b.require_site()?.id;
    let a_id = a.require_site()?.id;

    let full = dir.join("full.bxb");
    let c0 = cpu_ms();
    let t = Instant::now();
    let s = export_bundle(
        &mut a,
        &ExportOptions {
            to: Some(b_id.clone()),
            full: true,
        },
        &full,
        &actor(op, 100),
    )?;
    let full_export_ms = t.elapsed().as_millis();
    let full_export_cpu_ms = cpu_ms() - c0;
    let bytes = std::fs::read(&full).map_err(|e| crate::Error::io(&full, e))?;
    let c0 = cpu_ms();
    {
        let me = b.require_site()?;
        let k = keys::load(b.conn())?;
        let v = super::UnverifiedBundle::parse(bytes.clone())?.verify(b.conn(), &me, &k)?;
        v.decode_all(b.conn(), &k)?;
    }
    let full_verify_only_cpu_ms = cpu_ms() - c0;
    let c0 = cpu_ms();
    let t = Instant::now();
    let r = import_bundle(&mut b, bytes, "full.bxb", &actor(op, 200));
    let full_import_ms = t.elapsed().as_millis();
    let full_import_cpu_ms = cpu_ms() - c0;
    let identical =
        crate::snapshot::snapshot_text(a.conn())? == crate::snapshot::snapshot_text(b.conn())?;

    // B acknowledges A's bundle, so A's next bundle is incremental from there.
    let ack = dir.join("ack.bxb");
    export_bundle(
        &mut b,
        &ExportOptions {
            to: Some(a_id),
            full: false,
        },
        &ack,
        &actor(op, 300),
    )?;
    let ack_bytes = std::fs::read(&ack).map_err(|e| crate::Error::io(&ack, e))?;
    import_bundle(&mut a, ack_bytes, "ack.bxb", &actor(op, 310));
    edit_children(&mut a, 100, &actor(op, 400))?;
    let inc = dir.join("incremental.bxb");
    let t = Instant::now();
    let si = export_bundle(
        &mut a,
        &ExportOptions {
            to: Some(b_id),
            full: false,
        },
        &inc,
        &actor(op, 500),
    )?;
    let incremental_export_ms = t.elapsed().as_millis();
    let inc_bytes = std::fs::read(&inc).map_err(|e| crate::Error::io(&inc, e))?;
    let c0 = cpu_ms();
    let t = Instant::now();
    let ri = import_bundle(&mut b, inc_bytes, "incremental.bxb", &actor(op, 600));
    let incremental_import_ms = t.elapsed().as_millis();
    let incremental_import_cpu_ms = cpu_ms() - c0;
    Ok(BenchReport {
        children: n,
        load_average: std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
            .to_string(),
        full_export_cpu_ms,
        full_import_cpu_ms,
        full_verify_only_cpu_ms,
        generate_cpu_ms,
        incremental_import_cpu_ms,
        records: s.records,
        full_export_ms,
        full_bytes: s.bytes,
        full_bytes_per_record: s.bytes as f64 / s.records.max(1) as f64,
        full_import_ms,
        full_import_status: format!(
            "{} ({} applied) {}",
            r.status,
            r.applied,
            r.message.unwrap_or_default()
        ),
        snapshots_identical: identical,
        incremental_edits: 100,
        incremental_records: si.records,
        incremental_bytes: si.bytes,
        incremental_export_ms,
        incremental_import_ms,
        incremental_applied: ri.applied,
    })
}

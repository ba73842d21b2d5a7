//! Long jobs can be followed and cancelled without leaving anything half-written: a roll-sheet
//! import and a bundle export and merge, each cancelled in the middle (after several batches were
//! written inside the transaction), leave every table of the register row for row as before, and
//! the same job run again afterwards succeeds.

use crate::bundle_support::{at, county_and_new_laptop};
use crate::import_util::county_with_school;
use baoxue::bundle::{self, merge::Overrides, ExportOptions};
use baoxue::import::roll::{import_roll, RollImport};
use baoxue::import::{Control, Progress};
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};

/// A control that cancels once `after` units are done, recording what it saw.
fn cancel_after<'a>(
    flag: &'a AtomicBool,
    seen: &'a mut Vec<Progress>,
    after: u64,
) -> impl FnMut(Progress) + 'a {
    move |p: Progress| {
        seen.push(p);
        if p.done >= after {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

#[test]
fn a_roll_import_cancelled_midway_leaves_the_register_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, actor) = county_with_school(dir.path());
    let opts = RollImport {
        school: "4141000001".into(),
        term: Some("2026秋".into()),
        sheet: None,
        dry_run: false,
    };
    // Last term's sheet is in the register already.
    let first = dir.path().join("roll-1200.xlsx");
    baoxue::import::sample::write_roll_xlsx(&first, 1200, "城关第一小学").unwrap();
    let out = import_roll(&mut reg, &first, &opts, &actor, &mut Control::default()).unwrap();
    assert_eq!(out.report.inserted, 1200);

    // This term's sheet: the same 1200 pupils and 2800 new ones.
    let second = dir.path().join("roll-4000.xlsx");
    baoxue::import::sample::write_roll_xlsx(&second, 4000, "城关第一小学").unwrap();
    let before = crate::util::every_row(reg.conn());
    let cancel = AtomicBool::new(false);
    let mut seen = Vec::new();
    let err = {
        let mut cb = cancel_after(&cancel, &mut seen, 2000);
        let mut ctl = Control {
            progress: Some(&mut cb),
            cancel: Some(&cancel),
        };
        import_roll(&mut reg, &second, &opts, &actor, &mut ctl).unwrap_err()
    };
    assert_eq!(err.code(), "cancelled");
    assert!(err.to_string().contains("未写入"), "{err}");
    let last = seen.last().unwrap();
    assert!(
        last.done >= 2000 && last.done < 4000,
        "cancelled in the middle: {last:?}"
    );
    assert!(seen.iter().all(|p| p.total_estimate >= 4000));
    assert_eq!(
        crate::util::every_row(reg.conn()),
        before,
        "nothing half-written"
    );

    // Run again to the end: it goes through.
    let out = import_roll(&mut reg, &second, &opts, &actor, &mut Control::default()).unwrap();
    assert_eq!((out.report.inserted, out.report.unchanged), (2800, 1200));
}

#[test]
fn a_bundle_export_and_merge_cancelled_midway_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut b) = county_and_new_laptop(dir.path());
    bundle::bench::generate(&mut a.reg, 3000, &at(5)).unwrap();
    let opts = ExportOptions {
        to: Some(b.id.clone()),
        full: true,
    };
    let out = dir.path().join("full.bxb");

    // Export, cancelled after a few thousand rows were scanned into the payload.
    let a_before = crate::util::every_row(a.reg.conn());
    let cancel = AtomicBool::new(false);
    let mut seen = Vec::new();
    let err = {
        let mut cb = cancel_after(&cancel, &mut seen, 3000);
        let mut ctl = Control {
            progress: Some(&mut cb),
            cancel: Some(&cancel),
        };
        bundle::export_bundle_with(&mut a.reg, &opts, &out, &at(10), &mut ctl).unwrap_err()
    };
    assert_eq!(err.code(), "cancelled");
    let last = seen.last().unwrap();
    assert!(
        last.done >= 3000 && last.done < last.total_estimate,
        "{last:?}"
    );
    assert!(!out.exists() && !out.with_extension("bxb.part").exists());
    assert_eq!(
        crate::util::every_row(a.reg.conn()),
        a_before,
        "no sequence number taken"
    );

    // The export again, to the end; its sequence number is the first.
    let mut seen = Vec::new();
    let s = {
        let mut cb = |p: Progress| seen.push(p);
        let mut ctl = Control {
            progress: Some(&mut cb),
            cancel: None,
        };
        bundle::export_bundle_with(&mut a.reg, &opts, &out, &at(11), &mut ctl).unwrap()
    };
    assert_eq!(s.seq, 1);
    let last = seen.last().unwrap();
    assert_eq!(last.done, last.total_estimate);

    // Merge at the other county, cancelled after some chunks were written.
    let bytes = std::fs::read(&out).unwrap();
    let b_before = crate::util::every_row(b.reg.conn());
    let cancel = AtomicBool::new(false);
    let mut seen = Vec::new();
    let r = {
        let mut cb = cancel_after(&cancel, &mut seen, 4000);
        let mut ctl = Control {
            progress: Some(&mut cb),
            cancel: Some(&cancel),
        };
        bundle::import_bundle_with(
            &mut b.reg,
            bytes.clone(),
            "full.bxb",
            &at(20),
            Overrides::default(),
            &mut ctl,
        )
    };
    assert_eq!(r.status, "refused");
    assert_eq!(r.reason.as_deref(), Some("cancelled"));
    assert!(r.message.as_deref().unwrap().contains("取消"));
    let last = seen.last().unwrap();
    assert!(
        last.done >= 4000 && last.done < s.records,
        "cancelled in the middle: {last:?} of {}",
        s.records
    );
    assert_eq!(
        crate::util::every_row(b.reg.conn()),
        b_before,
        "nothing half-merged"
    );

    // Imported again, the bundle applies in full.
    let r = bundle::import_bundle(&mut b.reg, bytes, "full.bxb", &at(21));
    assert_eq!(r.status, "applied", "{r:?}");
    assert_eq!(
        baoxue::snapshot::snapshot_text(a.reg.conn()).unwrap(),
        baoxue::snapshot::snapshot_text(b.reg.conn()).unwrap()
    );
}

/// The number of children a connection sees.
fn children(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM children", [], |r| r.get(0))
        .unwrap()
}

/// The app runs each long job on its own connection to the register file while its own
/// connection stays open for the screens: readers are never blocked and see the register as it
/// was until the job commits; a cancelled job still leaves nothing behind, and the bulk path of a
/// merge (a rollback journal instead of the WAL) is not taken while another connection is open.
#[test]
fn a_job_on_its_own_connection_leaves_the_screens_reading_and_stays_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, actor) = county_with_school(dir.path());
    let db = dir.path().join("register.db");
    let opts = RollImport {
        school: "4141000001".into(),
        term: Some("2026秋".into()),
        sheet: None,
        dry_run: false,
    };
    let sheet = dir.path().join("roll-3000.xlsx");
    baoxue::import::sample::write_roll_xlsx(&sheet, 3000, "城关第一小学").unwrap();
    let before = crate::util::every_row(app.conn());

    // The job's connection, as the app opens it (plain register: no passphrase).
    let mut job = baoxue::Register::open(&db).unwrap();
    // While the job writes, the app's connection reads (inside the progress callback, i.e. in
    // the middle of the job's transaction): not blocked, and it sees no half-imported rows.
    let cancel = AtomicBool::new(false);
    let mut reads = Vec::new();
    let err = {
        let mut cb = |p: Progress| {
            reads.push(children(app.conn()));
            if p.done >= 1500 {
                cancel.store(true, Ordering::Relaxed);
            }
        };
        let mut ctl = Control {
            progress: Some(&mut cb),
            cancel: Some(&cancel),
        };
        import_roll(&mut job, &sheet, &opts, &actor, &mut ctl).unwrap_err()
    };
    assert_eq!(err.code(), "cancelled");
    assert!(
        reads.len() > 1 && reads.iter().all(|n| *n == 0),
        "{reads:?}"
    );
    assert_eq!(
        crate::util::every_row(app.conn()),
        before,
        "nothing half-written"
    );

    // To the end: the app's connection sees every row once the job commits.
    let mut reads = Vec::new();
    let out = {
        let mut cb = |_: Progress| reads.push(children(app.conn()));
        let mut ctl = Control {
            progress: Some(&mut cb),
            cancel: None,
        };
        import_roll(&mut job, &sheet, &opts, &actor, &mut ctl).unwrap()
    };
    assert_eq!(out.report.inserted, 3000);
    assert!(reads.iter().all(|n| *n == 0), "{reads:?}");
    assert_eq!(children(app.conn()), 3000);
    assert_eq!(
        crate::util::every_row(app.conn()),
        crate::util::every_row(job.conn())
    );
    // A screen's own write after the job (an ordinary transaction) goes through.
    baoxue::schools::add_school(
        &mut app,
        "4141000002",
        "城关第二小学",
        "primary",
        None,
        &actor,
    )
    .unwrap();

    // The bulk path is refused while the app's connection is open, and taken when it is not.
    assert_eq!(baoxue::store::rows::journal_for_bulk(job.conn()), None);
    drop(app);
    let mode = baoxue::store::rows::journal_for_bulk(job.conn());
    assert_eq!(mode.as_deref(), Some("wal"));
    baoxue::store::rows::restore_journal(job.conn(), "wal");
}

#[test]
fn a_merge_on_its_own_connection_is_all_or_nothing_with_the_app_reading() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, b) = county_and_new_laptop(dir.path());
    bundle::bench::generate(&mut a.reg, 2000, &at(5)).unwrap();
    let out = dir.path().join("full.bxb");
    let opts = ExportOptions {
        to: Some(b.id.clone()),
        full: true,
    };
    // The export on its own connection too, with a's app connection open.
    let mut a_job = baoxue::Register::open(&a.db).unwrap();
    let s = bundle::export_bundle_with(&mut a_job, &opts, &out, &at(10), &mut Control::default())
        .unwrap();
    let bytes = std::fs::read(&out).unwrap();

    let b_before = crate::util::every_row(b.reg.conn());
    let mut b_job = baoxue::Register::open(&b.db).unwrap();
    let cancel = AtomicBool::new(false);
    let mut reads = Vec::new();
    let r = {
        let mut cb = |p: Progress| {
            reads.push(children(b.reg.conn()));
            if p.done >= 3000 {
                cancel.store(true, Ordering::Relaxed);
            }
        };
        let mut ctl = Control {
            progress: Some(&mut cb),
            cancel: Some(&cancel),
        };
        bundle::import_bundle_with(
            &mut b_job,
            bytes.clone(),
            "full.bxb",
            &at(20),
            Overrides::default(),
            &mut ctl,
        )
    };
    assert_eq!(r.reason.as_deref(), Some("cancelled"), "{r:?}");
    assert!(
        reads.len() > 1 && reads.iter().all(|n| *n == 0),
        "{reads:?}"
    );
    assert_eq!(
        crate::util::every_row(b.reg.conn()),
        b_before,
        "nothing half-merged"
    );

    let r = bundle::import_bundle(&mut b_job, bytes, "full.bxb", &at(21));
    assert_eq!(r.status, "applied", "{r:?}");
    assert!(s.records > 0);
    // The app's connection sees the merged register, the same as the job's and as a's.
    assert_eq!(
        crate::util::every_row(b.reg.conn()),
        crate::util::every_row(b_job.conn())
    );
    assert_eq!(
        baoxue::snapshot::snapshot_text(a.reg.conn()).unwrap(),
        baoxue::snapshot::snapshot_text(b.reg.conn()).unwrap()
    );
}

//! The bulk path of a merge (a large table arriving into an empty one: gathered and sorted by id
//! on the decoding thread, written with multi-row inserts, its secondary indexes dropped and
//! rebuilt): run here on small bundles by lowering the size from which it applies. It must give
//! the very register the record-by-record merge gives, and stay all or nothing.

use crate::bundle_support::*;
use baoxue::bundle::aside::Policy;
use baoxue::bundle::{self, import_bundle_aside, import_bundle_bulk_from};
use baoxue::domain::SiteKind;
use baoxue::progress::{Control, Progress};
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};

/// Every row of every table (bookkeeping included), and the schema with its indexes.
fn every_row(conn: &Connection) -> Vec<String> {
    let mut out: Vec<String> = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "schema: {:?}",
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?
                )
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    out.extend(crate::util::every_row(conn));
    out
}

/// The rows of the tables a merge writes (not the import's own bookkeeping of when and by
/// whom), and the schema.
fn merged_rows(conn: &Connection) -> Vec<String> {
    every_row(conn)
        .into_iter()
        .filter(|r| {
            ![
                "bundles_received:",
                "audit_log:",
                "site:",
                "site_keys:",
                "clock:",
            ]
            .iter()
            .any(|p| r.starts_with(p))
        })
        .collect()
}

fn county(dir: &std::path::Path, file: &str, name: &str) -> Site {
    site(dir, file, SiteKind::County, name, COUNTY, None)
}

fn integrity_ok(s: &Site) {
    let r: String = s
        .reg
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(r, "ok");
}

#[test]
fn a_full_bundle_loaded_in_bulk_gives_the_register_the_record_by_record_merge_gives() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = county(dir.path(), "a.db", "青山县教育局");
    let mut bulk = county(dir.path(), "bulk.db", "青山县教育局（新电脑）");
    let mut one = county(dir.path(), "one.db", "青山县教育局（备用电脑）");
    for s in [&mut bulk, &mut one] {
        trusts(&mut a, s);
        trusts(s, &a);
    }
    // 150 households, 300 children, 300 guardians, 270 enrolments; a case with events too.
    bundle::bench::generate(&mut a.reg, 300, &at(5)).unwrap();
    let child = child_names(&a).len();
    assert_eq!(child, 300);
    let some_child: String = a
        .reg
        .conn()
        .query_row("SELECT id FROM children ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let case = open_case(&mut a, &some_child, 6);
    add_event(&mut a, &case, "电话联系家长", 7);

    let f_bulk = dir.path().join("to-bulk.bxb");
    let f_one = dir.path().join("to-one.bxb");
    let s = export(&mut a, &bulk, true, &f_bulk, 10);
    export(&mut a, &one, true, &f_one, 10);
    assert!(s.records > 1000);

    let before = every_row(bulk.reg.conn());
    let r = import_bundle_bulk_from(
        &mut bulk.reg,
        std::fs::read(&f_bulk).unwrap(),
        "to-bulk.bxb",
        &at(20),
        &mut Control::default(),
        50,
    );
    assert_eq!(r.status, "applied", "{r:?}");
    assert_eq!((r.applied, r.unchanged, r.conflicts), (s.records, 0, 0));
    assert_ne!(every_row(bulk.reg.conn()), before);
    let r = import(&mut one, &f_one, 20);
    assert_eq!(r.status, "applied", "{r:?}");
    assert_eq!(r.applied, s.records);

    // Same snapshot as the sender, same rows and indexes as the record-by-record merge.
    assert_eq!(snapshot(&bulk), snapshot(&a));
    assert_eq!(snapshot(&one), snapshot(&a));
    assert_eq!(merged_rows(bulk.reg.conn()), merged_rows(one.reg.conn()));
    integrity_ok(&bulk);

    // Idempotent: the same bundle again changes nothing.
    let again = every_row(bulk.reg.conn());
    let r = import_bundle_bulk_from(
        &mut bulk.reg,
        std::fs::read(&f_bulk).unwrap(),
        "to-bulk.bxb",
        &at(30),
        &mut Control::default(),
        50,
    );
    assert_eq!(r.status, "already_imported");
    assert_eq!(every_row(bulk.reg.conn()), again);

    // Later edits arrive record by record into the now full tables, on both.
    edit_child(&mut a, &some_child, "已家访核实", false, 40);
    let inc_bulk = dir.path().join("inc-bulk.bxb");
    let inc_one = dir.path().join("inc-one.bxb");
    export(&mut a, &bulk, false, &inc_bulk, 41);
    export(&mut a, &one, false, &inc_one, 41);
    let r = import_bundle_bulk_from(
        &mut bulk.reg,
        std::fs::read(&inc_bulk).unwrap(),
        "inc-bulk.bxb",
        &at(50),
        &mut Control::default(),
        1,
    );
    assert_eq!(r.status, "applied", "{r:?}");
    assert_eq!(import(&mut one, &inc_one, 50).status, "applied");
    assert_eq!(snapshot(&bulk), snapshot(&a));
    assert_eq!(merged_rows(bulk.reg.conn()), merged_rows(one.reg.conn()));
    integrity_ok(&bulk);
}

#[test]
fn a_bulk_merge_stopped_after_its_first_table_leaves_the_register_and_its_indexes_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = county(dir.path(), "a.db", "青山县教育局");
    let mut b = county(dir.path(), "b.db", "青山县教育局（新电脑）");
    trusts(&mut a, &b);
    trusts(&mut b, &a);
    bundle::bench::generate(&mut a.reg, 200, &at(5)).unwrap();
    let f = dir.path().join("full.bxb");
    let s = export(&mut a, &b, true, &f, 10);
    let bytes = std::fs::read(&f).unwrap();

    let before = every_row(b.reg.conn());
    let cancel = AtomicBool::new(false);
    let mut seen: Vec<Progress> = Vec::new();
    let r = {
        let mut cb = |p: Progress| {
            if p.done > 0 {
                cancel.store(true, Ordering::SeqCst);
            }
            seen.push(p);
        };
        let mut ctl = Control {
            progress: Some(&mut cb),
            cancel: Some(&cancel),
        };
        import_bundle_bulk_from(&mut b.reg, bytes.clone(), "full.bxb", &at(20), &mut ctl, 50)
    };
    assert_eq!(r.status, "refused");
    assert_eq!(r.reason.as_deref(), Some("cancelled"));
    let last = seen.last().unwrap();
    assert!(last.done > 0 && last.done < s.records, "{last:?}");
    assert_eq!(
        every_row(b.reg.conn()),
        before,
        "nothing half-merged, no index lost"
    );
    integrity_ok(&b);

    // The same file later goes in whole.
    let r = import_bundle_bulk_from(
        &mut b.reg,
        bytes,
        "full.bxb",
        &at(30),
        &mut Control::default(),
        50,
    );
    assert_eq!(r.status, "applied", "{r:?}");
    assert_eq!(snapshot(&b), snapshot(&a));
    integrity_ok(&b);
}

/// A county register encrypted with a passphrase, in its own folder.
fn encrypted_county(dir: &std::path::Path, file: &str, name: &str) -> Site {
    let db = dir.join(file);
    let mut reg =
        baoxue::register::Register::open_with(&db, Some("aside-test-passphrase")).unwrap();
    let s = reg
        .init_site(
            baoxue::register::NewSite {
                kind: SiteKind::County,
                name: name.into(),
                region_code: COUNTY.into(),
                school_code: None,
            },
            &at(0),
        )
        .unwrap();
    assert!(reg.is_encrypted());
    Site {
        reg,
        db,
        id: s.id,
        name: name.into(),
    }
}

#[test]
fn tables_built_aside_give_the_register_the_writer_alone_gives_plain_or_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let enc_dir = tempfile::tempdir().unwrap();
    let mut a = county(dir.path(), "a.db", "青山县教育局");
    let mut off = county(dir.path(), "off.db", "青山县教育局（新电脑）");
    let mut all = county(dir.path(), "all.db", "青山县教育局（备用电脑）");
    let mut enc = encrypted_county(enc_dir.path(), "enc.db", "青山县教育局（加密）");
    for s in [&mut off, &mut all, &mut enc] {
        trusts(&mut a, s);
        trusts(s, &a);
    }
    bundle::bench::generate(&mut a.reg, 300, &at(5)).unwrap();
    let some_child: String = a
        .reg
        .conn()
        .query_row("SELECT id FROM children ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let case = open_case(&mut a, &some_child, 6);
    add_event(&mut a, &case, "电话联系家长", 7);

    let mut run = |s: &mut Site, policy: Policy| {
        let f = dir.path().join(format!("to-{}.bxb", s.name));
        let e = export(&mut a, s, true, &f, 10);
        let (r, aside) = import_bundle_aside(
            &mut s.reg,
            std::fs::read(&f).unwrap(),
            "full.bxb",
            &at(20),
            &mut Control::default(),
            50,
            policy,
        );
        assert_eq!(r.status, "applied", "{r:?}");
        assert_eq!(r.applied, e.records);
        aside
    };
    assert_eq!(run(&mut off, Policy::Off), 0);
    // Households, guardians and enrolments (children have triggers: never aside).
    assert_eq!(run(&mut all, Policy::All), 3);
    assert_eq!(run(&mut enc, Policy::All), 3);

    assert_eq!(snapshot(&all), snapshot(&a));
    assert_eq!(snapshot(&enc), snapshot(&a));
    assert_eq!(merged_rows(all.reg.conn()), merged_rows(off.reg.conn()));
    assert_eq!(merged_rows(enc.reg.conn()), merged_rows(off.reg.conn()));
    for s in [&all, &enc] {
        integrity_ok(s);
        let attached: i64 = s
            .reg
            .conn()
            .query_row(
                "SELECT count(*) FROM pragma_database_list WHERE name LIKE 'bx_aside_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(attached, 0, "aside databases detached after the merge");
    }
    // Nothing but the encrypted register's own files beside it.
    for e in std::fs::read_dir(enc_dir.path()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(name.starts_with("enc.db"), "{name}");
    }
    // Later edits merge record by record into the tables copied in.
    edit_child(&mut a, &some_child, "已家访核实", false, 40);
    for s in [&mut all, &mut enc] {
        let f = dir.path().join(format!("inc-{}.bxb", s.name));
        export(&mut a, s, false, &f, 41);
        assert_eq!(import(s, &f, 50).status, "applied");
        assert_eq!(snapshot(s), snapshot(&a));
    }
}
